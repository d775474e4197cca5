/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the device core's install stream (src/update/install.c)
 * with a genuine signed envelope for a small image and the input as the
 * bytes that follow it (chunk list, then payload), fed in pieces whose
 * sizes the input's first byte chooses. The oracle is the rule itself: at
 * every moment the slot holds only a prefix of the signed image, and the
 * install is marked only when the slot holds all of it.
 * A first byte of 0xab selects an A/B package instead (SUIT try-each, the
 * signed image linked for slot B after a one-chunk section for slot A),
 * selected for the device's target B: the stream must pass over A's
 * section and the same oracle holds. The next byte then sets the pieces.
 */
#include <string.h>
#include "bulwark/bulwark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHUNK 4096u
#define NCHUNK 3
#define IMG_SIZE (2 * CHUNK + 100)
#define SLOT (16u << 10)

static uint8_t img[IMG_SIZE], env[2048], slot[2][SLOT], written[2][SLOT];
#define A_SIZE 500 /* slot A's image in the A/B package: one chunk */

static size_t env_len, env_ab_len;
static uint8_t env_ab[2048];
static struct bw_suit suit, suit_ab;
static struct bw_bootstate saved;
static int have_saved;

static bw_err f_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    memcpy(buf, (uint8_t *)ctx + off, len);
    return BW_OK;
}

static bw_err f_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    uint8_t *s = ctx;

    if (off + len > SLOT)
        return BW_E_INVAL;
    memcpy(s + off, buf, len);
    memset(written[s == slot[1]] + off, 1, len);
    return BW_OK;
}

static bw_err f_sync(void *ctx)
{
    (void)ctx;
    return BW_OK;
}

static bw_err s_load(void *ctx, struct bw_bootstate *st)
{
    (void)ctx;
    if (!have_saved)
        return BW_E_NOTFOUND;
    *st = saved;
    return BW_OK;
}

static bw_err s_save(void *ctx, const struct bw_bootstate *st)
{
    (void)ctx;
    saved = *st;
    have_saved = 1;
    return BW_OK;
}

static int setup(void)
{
    static const uint8_t v[16] = {1}, c[16] = {2};
    uint8_t list[NCHUNK * 32];
    struct bw_suit_build b;
    struct bw_ec_key key;
    struct bw_wr w;
    size_t i;
    int ok;

    for (i = 0; i < IMG_SIZE; i++)
        img[i] = (uint8_t)(i * 31 + 7);
    memset(&b, 0, sizeof(b));
    for (i = 0; i < NCHUNK; i++)
        if (bw_sha256(img + i * CHUNK, i + 1 < NCHUNK ? CHUNK : 100, list + 32 * i))
            return 0;
    b.sequence = 5;
    b.vendor_id = v;
    b.class_id = c;
    b.image_size = IMG_SIZE;
    b.with_chunks = 1;
    b.chunk_size = CHUNK;
    bw_ec_key_init(&key);
    ok = bw_sha256(img, IMG_SIZE, b.image_digest) == BW_OK &&
         bw_sha256(list, sizeof(list), b.chunk_list_digest) == BW_OK &&
         bw_ec_generate(&key) == BW_OK;
    bw_wr_init(&w, env, sizeof(env));
    ok = ok && bw_suit_build(&w, &b, &key) == BW_OK;
    env_len = w.len;
    ok = ok && bw_suit_parse(env, env_len, &key, &suit) == BW_OK;
    /* the A/B package: [list A][A: A_SIZE bytes of 0x5a][list B][img] */
    b.n_alt = 2;
    memcpy(b.alt[1].image_digest, b.image_digest, 32);
    memcpy(b.alt[1].chunk_list_digest, b.chunk_list_digest, 32);
    b.alt[1].image_size = IMG_SIZE;
    b.alt[1].section_off = 32 + A_SIZE;
    b.alt[0].image_size = A_SIZE;
    {
        uint8_t a[A_SIZE];

        memset(a, 0x5a, sizeof(a));
        ok = ok && bw_sha256(a, sizeof(a), b.alt[0].image_digest) == BW_OK &&
             bw_sha256(b.alt[0].image_digest, 32, b.alt[0].chunk_list_digest) == BW_OK;
    }
    b.section_total = 32 + A_SIZE + sizeof(list) + IMG_SIZE;
    bw_wr_init(&w, env_ab, sizeof(env_ab));
    ok = ok && bw_suit_build(&w, &b, &key) == BW_OK;
    env_ab_len = w.len;
    ok = ok && bw_suit_parse(env_ab, env_ab_len, &key, &suit_ab) == BW_OK &&
         bw_suit_select(&suit_ab, BW_SLOT_B) == BW_OK;
    bw_ec_key_clear(&key);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint8_t lbuf[NCHUNK * 32], cbuf[CHUNK];
    struct bw_flash fa = {slot[0], SLOT, 1, f_read, f_write, f_sync};
    struct bw_flash fb = {slot[1], SLOT, 1, f_read, f_write, f_sync};
    struct bw_bootstore bs = {NULL, s_load, s_save};
    struct bw_update u;
    struct bw_install in;
    const struct bw_suit *s = &suit;
    size_t step, off = 0, i, done = 0;
    bw_err rc;

    if (!ready) {
        if (!setup())
            __builtin_trap();
        ready = 1;
    }
    if (size > 1 && data[0] == 0xab) {
        s = &suit_ab;
        data++;
        size--;
    }
    if (!size)
        return 0;
    step = (size_t)data[0] * 37 + 1;
    data++;
    size--;
    memset(slot, 0, sizeof(slot));
    memset(written, 0, sizeof(written));
    have_saved = 0;
    if (bw_update_open(&u, &fa, &fb, &bs) ||
        bw_install_begin(&in, &u, s, NULL, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)))
        __builtin_trap();
    rc = BW_OK;
    while (off < size && !rc) {
        size_t n = size - off < step ? size - off : step;

        rc = bw_install_feed(&in, data + off, n);
        off += n;
        /* whatever was written so far is the signed image's, byte for byte */
        if (in.off > done) {
            if (in.off > IMG_SIZE || memcmp(slot[1] + done, img + done, in.off - done))
                __builtin_trap();
            done = (size_t)in.off;
        }
    }
    for (i = 0; i < SLOT; i++)
        if (written[1][i] && (i >= done || slot[1][i] != img[i]))
            __builtin_trap();
    if (!rc)
        rc = bw_install_finish(&in);
    else
        bw_install_abort(&in);
    if (rc == BW_OK && (memcmp(slot[1], img, IMG_SIZE) || saved.trial != BW_SLOT_B))
        __builtin_trap();
    if (rc != BW_OK && have_saved && saved.trial != BW_SLOT_NONE)
        __builtin_trap();
    return 0;
}
