/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure store (include/bulwark/store.h): two authenticated copies of
 * one image of AES-256-GCM sealed records on a flash area. Parsing, sealing
 * and the write order live here; files, locks and key loading are the
 * caller's. No allocation; the image buffers are the caller's work buffer.
 */
#include <string.h>

#include "bulwark/core.h"
#include "bulwark/crypto.h"
#include "bulwark/store.h"

/*
 * Image (big-endian), one per copy, the copy's remaining bytes zero:
 *   0  "BWKV"         4   version = 1 (2)   6  reserved = 0 (2)
 *   8  key check (8): HMAC(mac key, "bulwark store key check")[0..8]
 *  16  store id (16): random, new whenever a blank area is first written
 *  32  generation (8)   40 copy size (8)   48 record count (4)   52 body length (4)
 *  56  records, sorted by name, no duplicates:
 *        name length (1) | name | value length (4) | IV (12) | ciphertext | GCM tag (16)
 *      AES-256-GCM under the value key, AAD = "BWKV" | store id | name length | name
 *  end HMAC-SHA256 (32) under the image key over every byte before it
 */
static const uint8_t magic[4] = {'B', 'W', 'K', 'V'};
#define VERSION 1
#define IV_LEN 12
#define OFF_COUNT 48
#define CHUNK_MIN 256u
#define ZERO_MAX 4096u
static const uint8_t zeros[ZERO_MAX];

enum copy_state { C_VALID, C_BLANK, C_BAD };

/* ---- primitives -------------------------------------------------------- */

/* HMAC-SHA256 (RFC 2104) of m under a 32-byte key. */
static bw_err hmac(const uint8_t key[32], const uint8_t *m, size_t n, uint8_t out[32])
{
    uint8_t pad[64], inner[32];
    struct bw_sha256 h;
    bw_err rc = BW_E_CRYPTO;
    int i, pass;

    for (pass = 0; pass < 2; pass++) {
        memset(pad, 0, sizeof(pad));
        memcpy(pad, key, 32);
        for (i = 0; i < 64; i++)
            pad[i] ^= pass ? 0x5c : 0x36;
        if ((rc = bw_sha256_init(&h)))
            goto out;
        if ((rc = bw_sha256_update(&h, pad, sizeof(pad))) ||
            (rc = bw_sha256_update(&h, pass ? inner : m, pass ? sizeof(inner) : n)) ||
            (rc = bw_sha256_final(&h, pass ? out : inner))) {
            bw_sha256_abort(&h);
            goto out;
        }
    }
out:
    bw_wipe(pad, sizeof(pad));
    bw_wipe(inner, sizeof(inner));
    return rc;
}

static bw_err key_check(const struct bw_store *s, uint8_t out[8])
{
    static const char label[] = "bulwark store key check";
    uint8_t full[32];
    bw_err rc = hmac(s->mac_key, (const uint8_t *)label, sizeof(label) - 1, full);

    memcpy(out, full, 8);
    bw_wipe(full, sizeof(full));
    return rc;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    while (n--) {
        p[n] = (uint8_t)v;
        v >>= 8;
    }
}

static size_t name_len_of(const char *name)
{
    size_t n = 0;

    if (!name)
        return 0;
    while (n <= BW_STORE_NAME_MAX && name[n])
        n++;
    return n;
}

static int name_ok(const uint8_t *p, size_t n)
{
    size_t i;

    if (n == 0 || n > BW_STORE_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return 0;
    return 1;
}

static int name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    return c ? c : (an > bn) - (an < bn);
}

/* Flash write size: the write alignment, at least CHUNK_MIN bytes. */
static size_t chunk_of(const struct bw_flash *f)
{
    size_t a = f->write_align ? f->write_align : 1;

    return a >= CHUNK_MIN ? a : CHUNK_MIN / a * a;
}

uint64_t bw_store_copy_size(const struct bw_flash *f)
{
    uint64_t a = f && f->write_align ? f->write_align : 1;

    return f ? f->size / 2 / a * a : 0;
}

uint64_t bw_store_work_size(const struct bw_flash *f)
{
    return 2 * bw_store_copy_size(f);
}

/* ---- one record inside a body ----------------------------------------- */

struct rec {
    const uint8_t *name;
    size_t name_len;
    size_t value_len;
    const uint8_t *iv, *ct, *tag;
    size_t size; /* bytes of the whole record */
};

/* Reads the record at body[off]; BW_E_FORMAT if it does not fit or is bad. */
static bw_err rec_at(const uint8_t *body, size_t body_len, size_t off, struct rec *r)
{
    struct bw_cur c;
    uint8_t nl;
    uint32_t vl;

    if (off > body_len)
        return BW_E_FORMAT;
    bw_cur_init(&c, body, body_len);
    c.off = off;
    if (bw_cur_u8(&c, &nl) || !nl || nl > BW_STORE_NAME_MAX || bw_cur_take(&c, nl, &r->name) ||
        bw_cur_be32(&c, &vl) || vl > BW_STORE_VALUE_MAX || bw_cur_take(&c, IV_LEN, &r->iv) ||
        bw_cur_take(&c, vl, &r->ct) || bw_cur_take(&c, BW_GCM_TAG_LEN, &r->tag))
        return BW_E_FORMAT;
    if (!name_ok(r->name, nl))
        return BW_E_FORMAT;
    r->name_len = nl;
    r->value_len = vl;
    r->size = c.off - off;
    return BW_OK;
}

static size_t aad_of(const struct bw_store *s, const uint8_t *name, size_t n, uint8_t *aad)
{
    memcpy(aad, magic, 4);
    memcpy(aad + 4, s->id, BW_STORE_ID_LEN);
    aad[4 + BW_STORE_ID_LEN] = (uint8_t)n;
    memcpy(aad + 5 + BW_STORE_ID_LEN, name, n);
    return 5 + BW_STORE_ID_LEN + n;
}

/* ---- reading a copy ---------------------------------------------------- */

/*
 * Reads copy i into b (copy_size bytes) and checks it: C_BLANK when every
 * byte of its header is 0x00 or 0xff (never written, wiped, or zeros torn
 * over an erased 0xff area; an image header starts "BWKV"), C_VALID with
 * len, gen and count set, or C_BAD with *err: BW_E_AUTH when a header of
 * this layout (magic, version, copy size) has another key check value
 * (another key made it), BW_E_TAMPER when the MAC does not verify,
 * BW_E_FORMAT for anything malformed, BW_E_IO.
 */
static enum copy_state read_copy(const struct bw_store *s, int i, uint8_t *b, size_t *len,
                                 uint64_t *gen, uint32_t *count, bw_err *err)
{
    const struct bw_flash *f = s->flash;
    uint64_t off = (uint64_t)i * s->copy_size;
    uint8_t kc[8], mac[32];
    size_t k, body, pos;
    uint32_t n, j;
    int blank = 1;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    bw_err rc;

    *err = BW_E_FORMAT;
    if ((rc = f->read(f->ctx, off, b, BW_STORE_HDR_LEN))) {
        *err = rc;
        return C_BAD;
    }
    for (k = 0; k < BW_STORE_HDR_LEN; k++)
        blank &= b[k] == 0x00 || b[k] == 0xff;
    if (blank)
        return C_BLANK;
    if (memcmp(b, magic, 4) != 0 || be(b + 4, 2) != VERSION || be(b + 6, 2) != 0)
        return C_BAD;
    /* the layout before the key check: a header torn within its first 40
     * bytes (the rest still blank) is damaged, not another key's */
    body = (size_t)be(b + 52, 4);
    if (be(b + 40, 8) != s->copy_size ||
        body > s->copy_size - BW_STORE_HDR_LEN - BW_STORE_MAC_LEN)
        return C_BAD;
    if ((rc = key_check(s, kc))) {
        *err = rc;
        return C_BAD;
    }
    if (!bw_ct_equal(kc, b + 8, 8)) {
        *err = BW_E_AUTH;
        return C_BAD;
    }
    if ((rc = f->read(f->ctx, off + BW_STORE_HDR_LEN, b + BW_STORE_HDR_LEN,
                      body + BW_STORE_MAC_LEN))) {
        *err = rc;
        return C_BAD;
    }
    if ((rc = hmac(s->mac_key, b, BW_STORE_HDR_LEN + body, mac))) {
        *err = rc;
        return C_BAD;
    }
    if (!bw_ct_equal(mac, b + BW_STORE_HDR_LEN + body, BW_STORE_MAC_LEN)) {
        *err = BW_E_TAMPER;
        return C_BAD;
    }
    /* authentic from here; still parsed with bounds checks */
    n = (uint32_t)be(b + OFF_COUNT, 4);
    for (j = 0, pos = 0; j < n; j++) {
        struct rec r;

        if (rec_at(b + BW_STORE_HDR_LEN, body, pos, &r) ||
            (prev && name_cmp(prev, prev_len, r.name, r.name_len) >= 0))
            return C_BAD;
        prev = r.name;
        prev_len = r.name_len;
        pos += r.size;
    }
    if (pos != body)
        return C_BAD;
    *len = BW_STORE_HDR_LEN + body + BW_STORE_MAC_LEN;
    *gen = be(b + 32, 8);
    *count = n;
    *err = BW_OK;
    return C_VALID;
}

/*
 * Method (open): read both copies. The valid copy with the higher
 * generation wins (copy 0 on a tie). With none valid: two blank copies are
 * an empty store; blank copy 0 with a damaged copy 1 is the state an
 * interrupted first write leaves (every write goes to copy 1 first when
 * nothing is valid) and an interrupted wipe (copy 1 is zeroed last), so it
 * is an empty store too, unless copy 1 carries another key's check value.
 * Everything else is refused.
 */
bw_err bw_store_open(struct bw_store *s, const struct bw_flash *f,
                     const uint8_t key[BW_STORE_KEY_LEN], void *work, size_t work_len)
{
    static const char info[] = "bulwark store v1";
    uint8_t okm[64];
    enum copy_state st[2];
    bw_err err[2], rc;
    size_t len[2] = {0, 0};
    uint64_t gen[2] = {0, 0};
    uint32_t count[2] = {0, 0};
    int i, pick;

    if (!s)
        return BW_E_INVAL;
    memset(s, 0, sizeof(*s));
    s->newest = -1;
    s->broken = 1;
    if (!f || !key || !work || !f->read || !f->write || !f->sync)
        return BW_E_INVAL;
    s->flash = f;
    s->copy_size = bw_store_copy_size(f);
    if (f->size < BW_STORE_MIN_SIZE || s->copy_size < CHUNK_MIN || chunk_of(f) > ZERO_MAX ||
        s->copy_size > SIZE_MAX / 2)
        return BW_E_INVAL;
    if (work_len < 2 * s->copy_size)
        return BW_E_NOMEM;
    s->img[0] = work;
    s->img[1] = (uint8_t *)work + s->copy_size;
    rc = bw_hkdf_sha256(NULL, 0, key, BW_STORE_KEY_LEN, (const uint8_t *)info, sizeof(info) - 1,
                        okm, sizeof(okm));
    if (rc)
        goto out;
    memcpy(s->enc_key, okm, 32);
    memcpy(s->mac_key, okm + 32, 32);
    for (i = 0; i < 2; i++) {
        st[i] = read_copy(s, i, s->img[i], &len[i], &gen[i], &count[i], &err[i]);
        s->used[i] = st[i] == C_VALID ? len[i] : s->copy_size;
        if (st[i] == C_BAD && err[i] == BW_E_IO) {
            rc = BW_E_IO;
            goto out;
        }
    }
    pick = -1;
    if (st[0] == C_VALID && (st[1] != C_VALID || gen[0] >= gen[1]))
        pick = 0;
    else if (st[1] == C_VALID)
        pick = 1;
    s->bad_copies = (st[0] == C_BAD) + (st[1] == C_BAD);
    if (pick >= 0) {
        s->cur = pick;
        s->newest = pick;
        s->len = len[pick];
        s->generation = gen[pick];
        s->count = count[pick];
        memcpy(s->id, s->img[pick] + 16, BW_STORE_ID_LEN);
    } else if (!(st[0] == C_BLANK && (st[1] == C_BLANK || err[1] != BW_E_AUTH))) {
        rc = err[0] == BW_E_AUTH || err[1] == BW_E_AUTH ? BW_E_AUTH
             : err[0] == BW_E_TAMPER || err[1] == BW_E_TAMPER ? BW_E_TAMPER
                                                              : BW_E_FORMAT;
        goto out;
    }
    s->broken = 0;
    rc = BW_OK;
out:
    bw_wipe(okm, sizeof(okm));
    if (rc) {
        bw_wipe(s->enc_key, sizeof(s->enc_key));
        bw_wipe(s->mac_key, sizeof(s->mac_key));
    }
    return rc;
}

void bw_store_close(struct bw_store *s)
{
    if (!s)
        return;
    if (s->img[0] && s->copy_size)
        bw_wipe(s->img[0], (size_t)(2 * s->copy_size));
    bw_wipe(s, sizeof(*s));
    s->newest = -1;
    s->broken = 1;
}

/* ---- lookups ----------------------------------------------------------- */

static const uint8_t *body_of(const struct bw_store *s, size_t *n)
{
    *n = s->len ? s->len - BW_STORE_HDR_LEN - BW_STORE_MAC_LEN : 0;
    return s->img[s->cur] + BW_STORE_HDR_LEN;
}

/* Offset of the first record whose name is >= name (body length if none);
 * *found when it is name itself, r then describes it. */
static size_t find(const struct bw_store *s, const uint8_t *name, size_t n, struct rec *r,
                   int *found)
{
    size_t body_len, off = 0;
    const uint8_t *body = body_of(s, &body_len);
    uint32_t i;

    *found = 0;
    for (i = 0; i < s->count && rec_at(body, body_len, off, r) == BW_OK; i++) {
        int c = name_cmp(r->name, r->name_len, name, n);

        if (c >= 0) {
            *found = c == 0;
            return off;
        }
        off += r->size;
    }
    return body_len;
}

bw_err bw_store_get(struct bw_store *s, const char *name, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t aad[5 + BW_STORE_ID_LEN + BW_STORE_NAME_MAX], one[1];
    size_t n = name_len_of(name), aad_len;
    struct rec r;
    int found;

    if (!s || !len || !name_ok((const uint8_t *)name, n) || (cap && !out))
        return BW_E_INVAL;
    if (s->broken)
        return BW_E_STATE;
    (void)find(s, (const uint8_t *)name, n, &r, &found);
    if (!found)
        return BW_E_NOTFOUND;
    *len = r.value_len;
    if (cap < r.value_len)
        return BW_E_NOMEM;
    aad_len = aad_of(s, r.name, r.name_len, aad);
    return bw_aes256gcm_open(s->enc_key, r.iv, IV_LEN, aad, aad_len, r.ct, r.value_len, r.tag,
                             r.value_len ? out : one);
}

bw_err bw_store_next(const struct bw_store *s, struct bw_store_iter *it,
                     char name[BW_STORE_NAME_MAX + 1], size_t *value_len)
{
    size_t body_len;
    const uint8_t *body;
    struct rec r;

    if (!s || !it || !name || !value_len)
        return BW_E_INVAL;
    if (s->broken)
        return BW_E_STATE;
    body = body_of(s, &body_len);
    if (it->i == 0 && it->off == 0) {
        /* a fresh iterator: bound to this image (a generation of a store) */
        it->generation = s->generation;
        memcpy(it->id, s->id, BW_STORE_ID_LEN);
    } else if (it->generation != s->generation || memcmp(it->id, s->id, BW_STORE_ID_LEN) != 0 ||
               it->i > s->count || it->off > body_len) {
        return BW_E_STATE; /* the store changed since: its offset means nothing now */
    }
    if (it->i >= s->count || rec_at(body, body_len, it->off, &r) != BW_OK)
        return BW_E_NOTFOUND;
    memcpy(name, r.name, r.name_len);
    name[r.name_len] = 0;
    *value_len = r.value_len;
    it->off += r.size;
    it->i++;
    return BW_OK;
}

/* ---- writing ----------------------------------------------------------- */

/* Writes len bytes of b to the flash at off in chunks, then syncs. b NULL:
 * zeros. */
static bw_err write_range(const struct bw_flash *f, uint64_t off, const uint8_t *b, uint64_t len)
{
    size_t chunk = chunk_of(f);
    bw_err rc;

    while (len) {
        size_t n = len < chunk ? (size_t)len : chunk;

        if ((rc = f->write(f->ctx, off, b ? b : zeros, n)))
            return rc;
        off += n;
        len -= n;
        if (b)
            b += n;
    }
    return f->sync(f->ctx);
}

/* Writes image b (len bytes, in a copy_size buffer) into copy c, then
 * zeros over whatever the copy held beyond it, and syncs. */
static bw_err write_copy(struct bw_store *s, int c, uint8_t *b, size_t len)
{
    uint64_t end = s->used[c] > len ? s->used[c] : len;
    bw_err rc;

    memset(b + len, 0, (size_t)(end - len));
    s->used[c] = s->copy_size; /* unknown until this write completes */
    rc = write_range(s->flash, (uint64_t)c * s->copy_size, b, end);
    if (rc)
        return rc;
    s->used[c] = len;
    return BW_OK;
}

/*
 * Method (commit): the new image goes first into the copy that does not
 * hold the current image (copy 1 when both do or neither does), followed
 * by zeros over whatever that copy held before, and is synced; then the
 * same into the other copy. Until the first sync the other copy still
 * holds the old image; after it the new image is durable in one copy
 * while the other is rewritten. Writing both copies means that at rest
 * they are equal, so a damaged copy is noticed and its twin still gives
 * the current data. Zeroing the old tail keeps deleted records' bytes off
 * the medium.
 */
static bw_err commit(struct bw_store *s, size_t len)
{
    int next = 1 - s->cur, first = s->newest == 1 ? 0 : 1, k;
    uint8_t *b = s->img[next];
    bw_err rc;

    for (k = 0; k < 2; k++) {
        rc = write_copy(s, k ? 1 - first : first, b, len);
        if (rc) {
            s->broken = 1;
            return rc;
        }
    }
    s->cur = next;
    s->newest = 0;
    s->len = len;
    s->generation = be(b + 32, 8);
    s->count = (uint32_t)be(b + OFF_COUNT, 4);
    return BW_OK;
}

/* Builds the next image with name set to value (value NULL: removed) and
 * commits it. */
static bw_err change(struct bw_store *s, const char *name, const uint8_t *value, size_t vlen)
{
    uint8_t aad[5 + BW_STORE_ID_LEN + BW_STORE_NAME_MAX];
    size_t n = name_len_of(name), body_len, pos, old = 0, add = 0, nb, total, w, aad_len;
    const uint8_t *body;
    uint8_t *b, *rp;
    uint32_t count;
    struct rec r;
    int found;
    bw_err rc;

    if (!s || !name_ok((const uint8_t *)name, n) || (vlen && !value))
        return BW_E_INVAL;
    if (s->broken)
        return BW_E_STATE;
    if (value && vlen > BW_STORE_VALUE_MAX)
        return BW_E_TOOBIG;
    body = body_of(s, &body_len);
    pos = find(s, (const uint8_t *)name, n, &r, &found);
    if (found)
        old = r.size;
    else if (!value)
        return BW_E_NOTFOUND;
    if (value)
        add = BW_STORE_REC_OVERHEAD + n + vlen;
    nb = body_len - old + add;
    total = BW_STORE_HDR_LEN + nb + BW_STORE_MAC_LEN;
    if (total > s->copy_size || nb > UINT32_MAX)
        return BW_E_TOOBIG;
    if (s->newest < 0 && (rc = bw_random(s->id, sizeof(s->id))))
        return rc;
    count = s->count - (found ? 1 : 0) + (value ? 1 : 0);

    b = s->img[1 - s->cur];
    memcpy(b, magic, 4);
    put_be(b + 4, VERSION, 2);
    put_be(b + 6, 0, 2);
    if ((rc = key_check(s, b + 8)))
        return rc;
    memcpy(b + 16, s->id, BW_STORE_ID_LEN);
    put_be(b + 32, s->generation + 1, 8);
    put_be(b + 40, s->copy_size, 8);
    put_be(b + OFF_COUNT, count, 4);
    put_be(b + 52, nb, 4);
    w = BW_STORE_HDR_LEN;
    memcpy(b + w, body, pos);
    w += pos;
    if (value) {
        rp = b + w;
        rp[0] = (uint8_t)n;
        memcpy(rp + 1, name, n);
        put_be(rp + 1 + n, vlen, 4);
        if ((rc = bw_random(rp + 5 + n, IV_LEN)))
            return rc;
        aad_len = aad_of(s, (const uint8_t *)name, n, aad);
        rc = bw_aes256gcm_seal(s->enc_key, rp + 5 + n, IV_LEN, aad, aad_len, value, vlen,
                               rp + 5 + n + IV_LEN, rp + 5 + n + IV_LEN + vlen);
        if (rc)
            return rc;
        w += add;
    }
    memcpy(b + w, body + pos + old, body_len - pos - old);
    w += body_len - pos - old;
    if ((rc = hmac(s->mac_key, b, w, b + w)))
        return rc;
    return commit(s, total);
}

bw_err bw_store_set(struct bw_store *s, const char *name, const uint8_t *value, size_t len)
{
    static const uint8_t none[1];

    if (!value && len)
        return BW_E_INVAL;
    return change(s, name, value ? value : none, len);
}

bw_err bw_store_delete(struct bw_store *s, const char *name)
{
    return change(s, name, NULL, 0);
}

/* ---- erasing ----------------------------------------------------------- */

/*
 * Method (wipe): zero copy 0, sync, zero copy 1, sync, then any bytes past
 * the two copies. A power cut tears at most one write, and the states it
 * can leave are these:
 *   - while copy 0 is zeroed: a damaged (or blank) copy 0 next to copy 1,
 *     which therefore must hold the current image: the store opens as it
 *     was. When copy 1 does not hold it (damaged, blank, or a change behind
 *     after an interrupted commit), the current image is written there
 *     first; a cut during that write leaves copy 0 with the current image.
 *   - while copy 1 is zeroed: a blank copy 0 next to a damaged copy 1, the
 *     state open already reads as an empty store (an interrupted first write
 *     looks the same).
 * The other order (copy 1 first) leaves a damaged copy 0 next to a blank
 * copy 1 when the second write tears, which open refuses: it cannot tell
 * that from a store whose copy 0 was damaged after its copy 1 was lost, and
 * opening such a store empty would hide the damage.
 */
static bw_err zero_all(const struct bw_flash *f, uint64_t copy)
{
    bw_err rc;
    int c;

    for (c = 0; c < 2; c++)
        if ((rc = write_range(f, (uint64_t)c * copy, NULL, copy)))
            return rc;
    return f->size > 2 * copy ? write_range(f, 2 * copy, NULL, f->size - 2 * copy) : BW_OK;
}

/* Makes copy 1 hold the current image, if there is one: reads it back and
 * writes the image there when it differs. */
static bw_err copy1_current(struct bw_store *s)
{
    const struct bw_flash *f = s->flash;
    uint8_t *scratch = s->img[1 - s->cur];

    if (s->newest < 0 || !s->len)
        return BW_OK; /* an empty store: nothing to keep */
    if (f->read(f->ctx, s->copy_size, scratch, s->len) == BW_OK &&
        memcmp(scratch, s->img[s->cur], s->len) == 0)
        return BW_OK;
    return write_copy(s, 1, s->img[s->cur], s->len);
}

bw_err bw_store_wipe(struct bw_store *s)
{
    bw_err rc;

    if (!s || !s->flash || !s->img[0])
        return BW_E_INVAL; /* never opened: bw_store_wipe_area */
    rc = copy1_current(s);
    if (!rc)
        rc = zero_all(s->flash, s->copy_size);
    if (rc) {
        s->broken = 1;
        return rc;
    }
    bw_wipe(s->img[0], (size_t)(2 * s->copy_size));
    s->used[0] = s->used[1] = 0;
    s->newest = -1;
    s->len = 0;
    s->count = 0;
    s->generation = 0;
    s->cur = 0;
    s->bad_copies = 0;
    s->broken = 0;
    return BW_OK;
}

bw_err bw_store_wipe_area(const struct bw_flash *f)
{
    if (!f || !f->write || !f->sync || chunk_of(f) > ZERO_MAX)
        return BW_E_INVAL;
    return zero_all(f, bw_store_copy_size(f));
}
