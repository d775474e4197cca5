/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot-state record (128 bytes, big-endian, CRC-32 last) and a store
 * that keeps two copies of it in a flash area. Method: save writes the copy
 * that is not the newest valid one, with a generation one above it, then
 * syncs; load takes the valid copy with the highest generation. A power cut
 * tears at most the copy being written, and the other still holds the state
 * before the save.
 */
#include <string.h>
#include "bulwark/update.h"

static const uint8_t magic[4] = {'B', 'W', 'B', 'S'};
#define RECORD_VERSION 1

uint32_t bw_crc32(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t i;
    int k;

    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

void bw_bootstate_init(struct bw_bootstate *st)
{
    memset(st, 0, sizeof(*st));
    st->active = BW_SLOT_A;
    st->trial = BW_SLOT_NONE;
    st->booted = BW_SLOT_NONE;
    st->slot_sequence[0] = st->slot_sequence[1] = BW_SEQ_EMPTY;
}

void bw_bootstate_encode(const struct bw_bootstate *st, uint8_t out[BW_BOOTSTATE_RECORD_LEN])
{
    struct bw_wr w;
    int i;

    memset(out, 0, BW_BOOTSTATE_RECORD_LEN);
    bw_wr_init(&w, out, BW_BOOTSTATE_RECORD_LEN);
    bw_wr_bytes(&w, magic, sizeof(magic));
    bw_wr_u8(&w, RECORD_VERSION);
    bw_wr_u8(&w, st->active);
    bw_wr_u8(&w, st->trial);
    bw_wr_u8(&w, st->trial_boots_left);
    bw_wr_u8(&w, st->booted);
    bw_wr_u8(&w, st->confirmed);
    bw_wr_be16(&w, 0);
    bw_wr_be64(&w, st->generation);
    bw_wr_be64(&w, st->highest_sequence);
    for (i = 0; i < 2; i++) {
        bw_wr_be64(&w, st->slot_sequence[i]);
        bw_wr_be64(&w, st->slot_size[i]);
        bw_wr_bytes(&w, st->slot_digest[i], BW_SHA256_LEN);
    }
    w.len = BW_BOOTSTATE_RECORD_LEN - 4;
    bw_wr_be32(&w, bw_crc32(0, out, BW_BOOTSTATE_RECORD_LEN - 4));
}

static int slot_ok(uint8_t v, int none_ok)
{
    return v == BW_SLOT_A || v == BW_SLOT_B || (none_ok && v == BW_SLOT_NONE);
}

bw_err bw_bootstate_decode(struct bw_bootstate *st, const uint8_t in[BW_BOOTSTATE_RECORD_LEN])
{
    struct bw_bootstate t;
    struct bw_cur c;
    const uint8_t *m;
    uint8_t ver;
    uint16_t pad;
    uint32_t crc;
    int i;

    bw_cur_init(&c, in, BW_BOOTSTATE_RECORD_LEN);
    if (bw_cur_take(&c, 4, &m) || memcmp(m, magic, 4) != 0 || bw_cur_u8(&c, &ver) ||
        ver != RECORD_VERSION)
        return BW_E_FORMAT;
    if (bw_cur_u8(&c, &t.active) || bw_cur_u8(&c, &t.trial) ||
        bw_cur_u8(&c, &t.trial_boots_left) || bw_cur_u8(&c, &t.booted) ||
        bw_cur_u8(&c, &t.confirmed) || bw_cur_be16(&c, &pad) ||
        bw_cur_be64(&c, &t.generation) || bw_cur_be64(&c, &t.highest_sequence))
        return BW_E_FORMAT;
    for (i = 0; i < 2; i++) {
        if (bw_cur_be64(&c, &t.slot_sequence[i]) || bw_cur_be64(&c, &t.slot_size[i]) ||
            bw_cur_take(&c, BW_SHA256_LEN, &m))
            return BW_E_FORMAT;
        memcpy(t.slot_digest[i], m, BW_SHA256_LEN);
    }
    c.off = BW_BOOTSTATE_RECORD_LEN - 4;
    if (bw_cur_be32(&c, &crc) || crc != bw_crc32(0, in, BW_BOOTSTATE_RECORD_LEN - 4))
        return BW_E_FORMAT;
    if (!slot_ok(t.active, 0) || !slot_ok(t.trial, 1) || !slot_ok(t.booted, 1) ||
        t.confirmed > 1 || pad != 0 || t.trial == t.active)
        return BW_E_FORMAT;
    *st = t;
    return BW_OK;
}

/* ---- two copies ------------------------------------------------------- */

/* Index of the newest valid copy (-1 if none); *st gets it. */
static int newest(const struct bw_twocopy *t, struct bw_bootstate *st, int *exists)
{
    uint8_t rec[BW_BOOTSTATE_RECORD_LEN];
    struct bw_bootstate c[2];
    int ok[2], i, pick = -1;

    *exists = 0;
    for (i = 0; i < 2; i++)
        ok[i] = t->read(t->ctx, i, rec, exists) == BW_OK && bw_bootstate_decode(&c[i], rec) == BW_OK;
    if (ok[0] && (!ok[1] || c[0].generation >= c[1].generation))
        pick = 0;
    else if (ok[1])
        pick = 1;
    if (pick >= 0)
        *st = c[pick];
    return pick;
}

bw_err bw_twocopy_load(const struct bw_twocopy *t, struct bw_bootstate *st)
{
    int exists;

    if (newest(t, st, &exists) >= 0)
        return BW_OK;
    return exists ? BW_E_FORMAT : BW_E_NOTFOUND;
}

bw_err bw_twocopy_save(const struct bw_twocopy *t, const struct bw_bootstate *st)
{
    struct bw_bootstate cur, next = *st;
    uint8_t rec[BW_BOOTSTATE_RECORD_LEN];
    int exists, n = newest(t, &cur, &exists);

    next.generation = n >= 0 ? cur.generation + 1 : 1;
    bw_bootstate_encode(&next, rec);
    return t->write(t->ctx, n == 0 ? 1 : 0, rec);
}

/* ---- two copies in a flash area --------------------------------------- */

static bw_err flash_read(void *ctx, int i, uint8_t rec[BW_BOOTSTATE_RECORD_LEN], int *exists)
{
    const struct bw_bootstore_flash *f = ctx;
    bw_err rc = f->flash->read(f->flash->ctx, (uint64_t)i * f->copy_size, rec,
                               BW_BOOTSTATE_RECORD_LEN);
    size_t k;

    if (rc)
        return rc;
    for (k = 0; k < BW_BOOTSTATE_RECORD_LEN; k++)
        if (rec[k] != 0xff && rec[k] != 0x00) {
            *exists = 1; /* not an erased (or zeroed) region */
            break;
        }
    return BW_OK;
}

static bw_err flash_write(void *ctx, int i, const uint8_t rec[BW_BOOTSTATE_RECORD_LEN])
{
    const struct bw_bootstore_flash *f = ctx;
    bw_err rc = f->flash->write(f->flash->ctx, (uint64_t)i * f->copy_size, rec,
                                BW_BOOTSTATE_RECORD_LEN);

    return rc ? rc : f->flash->sync(f->flash->ctx);
}

static bw_err flash_load(void *ctx, struct bw_bootstate *st)
{
    return bw_twocopy_load(&((struct bw_bootstore_flash *)ctx)->copies, st);
}

static bw_err flash_save(void *ctx, const struct bw_bootstate *st)
{
    return bw_twocopy_save(&((struct bw_bootstore_flash *)ctx)->copies, st);
}

void bw_bootstore_flash_init(struct bw_bootstore *bs, struct bw_bootstore_flash *ctx,
                             const struct bw_flash *flash)
{
    uint32_t a = flash->write_align ? flash->write_align : 1;

    ctx->flash = flash;
    ctx->copy_size = (BW_BOOTSTATE_RECORD_LEN + a - 1) / a * a;
    ctx->copies.ctx = ctx;
    ctx->copies.read = flash_read;
    ctx->copies.write = flash_write;
    bs->ctx = ctx;
    bs->load = flash_load;
    bs->save = flash_save;
}
