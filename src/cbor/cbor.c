/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CBOR decoder/encoder (see include/bulwark/cbor.h). Strict by design: the
 * bytes a signature covers have exactly one accepted encoding, so an
 * attacker cannot make two parsers see different values.
 */
#include <string.h>
#include "bulwark/cbor.h"

void bw_cbor_dec_init(struct bw_cbor_dec *d, const uint8_t *buf, size_t len)
{
    bw_cur_init(&d->cur, buf, len);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 table: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0. */
size_t bw_utf8_seq(const uint8_t *p, size_t left)
{
    uint8_t lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (left == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        if (p[0] == 0xe0)
            lo = 0xa0;
        else if (p[0] == 0xed)
            hi = 0x9f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        if (p[0] == 0xf0)
            lo = 0x90;
        else if (p[0] == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

int bw_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        k = bw_utf8_seq(s + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

static bw_err decode(struct bw_cur *c, struct bw_cbor_item *it)
{
    uint8_t ib, ai;
    uint64_t v = 0;
    bw_err rc;

    it->start = c->off;
    it->ptr = NULL;
    rc = bw_cur_u8(c, &ib);
    if (rc)
        return rc;
    it->type = (enum bw_cbor_type)(ib >> 5);
    ai = ib & 0x1f;
    if (ai < 24) {
        v = ai;
    } else if (ai <= 27) {
        if (it->type == BW_CBOR_SIMPLE && ai > 24)
            return BW_E_UNSUPPORTED; /* half/single/double floats */
        switch (ai) {
        case 24: {
            uint8_t b;
            rc = bw_cur_u8(c, &b);
            v = b;
            if (!rc && it->type == BW_CBOR_SIMPLE && v < 32)
                rc = BW_E_FORMAT; /* RFC 8949 3.3: two-byte simple < 32 */
            else if (!rc && v < 24)
                rc = BW_E_NONMINIMAL;
            break;
        }
        case 25: {
            uint16_t b;
            rc = bw_cur_be16(c, &b);
            v = b;
            if (!rc && v <= 0xff)
                rc = BW_E_NONMINIMAL;
            break;
        }
        case 26: {
            uint32_t b;
            rc = bw_cur_be32(c, &b);
            v = b;
            if (!rc && v <= 0xffff)
                rc = BW_E_NONMINIMAL;
            break;
        }
        default:
            rc = bw_cur_be64(c, &v);
            if (!rc && v <= 0xffffffffu)
                rc = BW_E_NONMINIMAL;
            break;
        }
        if (rc)
            return rc;
    } else if (ai == 31) {
        /* Indefinite length (or a stray break): never deterministic. */
        return (it->type >= BW_CBOR_BYTES && it->type <= BW_CBOR_MAP) ? BW_E_UNSUPPORTED
                                                                      : BW_E_FORMAT;
    } else {
        return BW_E_FORMAT; /* 28..30 are reserved */
    }
    it->val = v;
    switch (it->type) {
    case BW_CBOR_BYTES:
    case BW_CBOR_TEXT:
        if (v > bw_cur_left(c))
            return BW_E_TRUNCATED;
        rc = bw_cur_take(c, (size_t)v, &it->ptr);
        if (rc)
            return rc;
        if (it->type == BW_CBOR_TEXT && !bw_utf8_valid(it->ptr, (size_t)v))
            return BW_E_FORMAT;
        break;
    case BW_CBOR_ARRAY:
        if (v > bw_cur_left(c))
            return BW_E_TRUNCATED;
        break;
    case BW_CBOR_MAP:
        if (v > bw_cur_left(c) / 2)
            return BW_E_TRUNCATED;
        break;
    default:
        break;
    }
    return BW_OK;
}

bw_err bw_cbor_next(struct bw_cbor_dec *d, struct bw_cbor_item *it)
{
    struct bw_cur c = d->cur;
    bw_err rc = decode(&c, it);

    if (rc == BW_OK)
        d->cur = c;
    return rc;
}

bw_err bw_cbor_peek(const struct bw_cbor_dec *d, struct bw_cbor_item *it)
{
    struct bw_cur c = d->cur;

    return decode(&c, it);
}

/*
 * Method: iterative skip with an explicit stack of "items still owed" per
 * open container, so depth is bounded by BW_CBOR_MAX_DEPTH without
 * recursion. A tag owes one item at the same cost as a one-element array.
 */
bw_err bw_cbor_skip(struct bw_cbor_dec *d)
{
    uint64_t owed[BW_CBOR_MAX_DEPTH + 1];
    struct bw_cur c = d->cur;
    struct bw_cbor_item it;
    int depth = 0;
    bw_err rc;

    owed[0] = 1;
    while (depth >= 0) {
        if (owed[depth] == 0) {
            depth--;
            continue;
        }
        owed[depth]--;
        rc = decode(&c, &it);
        if (rc)
            return rc;
        if (it.type == BW_CBOR_ARRAY || it.type == BW_CBOR_MAP || it.type == BW_CBOR_TAG) {
            uint64_t n = it.type == BW_CBOR_MAP ? it.val * 2 : it.type == BW_CBOR_TAG ? 1 : it.val;

            /* An empty container still opens a level. */
            if (depth + 1 > BW_CBOR_MAX_DEPTH)
                return BW_E_DEPTH;
            if (n == 0)
                continue;
            owed[++depth] = n;
        }
    }
    d->cur = c;
    return BW_OK;
}

bw_err bw_cbor_wellformed(const uint8_t *buf, size_t len, int allow_trailing, size_t *item_len)
{
    struct bw_cbor_dec d;
    bw_err rc;

    bw_cbor_dec_init(&d, buf, len);
    rc = bw_cbor_skip(&d);
    if (rc)
        return rc;
    if (!allow_trailing && !bw_cbor_at_end(&d))
        return BW_E_TRAILING;
    if (item_len)
        *item_len = d.cur.off;
    return BW_OK;
}

static bw_err get_typed(struct bw_cbor_dec *d, enum bw_cbor_type t, struct bw_cbor_item *it)
{
    bw_err rc = bw_cbor_peek(d, it);

    if (rc)
        return rc;
    if (it->type != t)
        return BW_E_FORMAT;
    return bw_cbor_next(d, it);
}

bw_err bw_cbor_get_uint(struct bw_cbor_dec *d, uint64_t *v)
{
    struct bw_cbor_item it;
    bw_err rc = get_typed(d, BW_CBOR_UINT, &it);

    if (rc == BW_OK)
        *v = it.val;
    return rc;
}

bw_err bw_cbor_get_int(struct bw_cbor_dec *d, int64_t *v)
{
    struct bw_cbor_item it;
    bw_err rc = bw_cbor_peek(d, &it);

    if (rc)
        return rc;
    if (it.type != BW_CBOR_UINT && it.type != BW_CBOR_NINT)
        return BW_E_FORMAT;
    if (it.val > (uint64_t)INT64_MAX)
        return BW_E_TOOBIG;
    *v = it.type == BW_CBOR_UINT ? (int64_t)it.val : -1 - (int64_t)it.val;
    return bw_cbor_next(d, &it);
}

static bw_err get_str(struct bw_cbor_dec *d, enum bw_cbor_type t, const uint8_t **p, size_t *n)
{
    struct bw_cbor_item it;
    bw_err rc = get_typed(d, t, &it);

    if (rc == BW_OK) {
        *p = it.ptr;
        *n = (size_t)it.val;
    }
    return rc;
}

bw_err bw_cbor_get_bytes(struct bw_cbor_dec *d, const uint8_t **p, size_t *n)
{
    return get_str(d, BW_CBOR_BYTES, p, n);
}

bw_err bw_cbor_get_text(struct bw_cbor_dec *d, const uint8_t **p, size_t *n)
{
    return get_str(d, BW_CBOR_TEXT, p, n);
}

static bw_err get_count(struct bw_cbor_dec *d, enum bw_cbor_type t, uint64_t *n)
{
    struct bw_cbor_item it;
    bw_err rc = get_typed(d, t, &it);

    if (rc == BW_OK)
        *n = it.val;
    return rc;
}

bw_err bw_cbor_get_array(struct bw_cbor_dec *d, uint64_t *n)
{
    return get_count(d, BW_CBOR_ARRAY, n);
}

bw_err bw_cbor_get_map(struct bw_cbor_dec *d, uint64_t *n)
{
    return get_count(d, BW_CBOR_MAP, n);
}

bw_err bw_cbor_get_simple(struct bw_cbor_dec *d, uint64_t *v)
{
    return get_count(d, BW_CBOR_SIMPLE, v);
}

bw_err bw_cbor_opt_tag(struct bw_cbor_dec *d, uint64_t tag, int *found)
{
    struct bw_cbor_item it;
    bw_err rc = bw_cbor_peek(d, &it);

    *found = 0;
    if (rc)
        return rc;
    if (it.type != BW_CBOR_TAG)
        return BW_OK;
    if (it.val != tag)
        return BW_E_FORMAT;
    *found = 1;
    return bw_cbor_next(d, &it);
}

size_t bw_cbor_head_len(uint64_t v)
{
    return v < 24 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

void bw_cbor_put_head(struct bw_wr *w, enum bw_cbor_type t, uint64_t v)
{
    uint8_t mt = (uint8_t)(t << 5);

    if (v < 24) {
        bw_wr_u8(w, (uint8_t)(mt | v));
    } else if (v <= 0xff) {
        bw_wr_u8(w, mt | 24);
        bw_wr_u8(w, (uint8_t)v);
    } else if (v <= 0xffff) {
        bw_wr_u8(w, mt | 25);
        bw_wr_be16(w, (uint16_t)v);
    } else if (v <= 0xffffffffu) {
        bw_wr_u8(w, mt | 26);
        bw_wr_be32(w, (uint32_t)v);
    } else {
        bw_wr_u8(w, mt | 27);
        bw_wr_be64(w, v);
    }
}

void bw_cbor_put_uint(struct bw_wr *w, uint64_t v) { bw_cbor_put_head(w, BW_CBOR_UINT, v); }

void bw_cbor_put_int(struct bw_wr *w, int64_t v)
{
    if (v >= 0)
        bw_cbor_put_head(w, BW_CBOR_UINT, (uint64_t)v);
    else
        bw_cbor_put_head(w, BW_CBOR_NINT, (uint64_t)(-1 - v));
}

void bw_cbor_put_bytes(struct bw_wr *w, const void *p, size_t n)
{
    bw_cbor_put_head(w, BW_CBOR_BYTES, n);
    bw_wr_bytes(w, p, n);
}

void bw_cbor_put_text(struct bw_wr *w, const char *p, size_t n)
{
    bw_cbor_put_head(w, BW_CBOR_TEXT, n);
    bw_wr_bytes(w, p, n);
}

void bw_cbor_put_array(struct bw_wr *w, uint64_t n) { bw_cbor_put_head(w, BW_CBOR_ARRAY, n); }
void bw_cbor_put_map(struct bw_wr *w, uint64_t n) { bw_cbor_put_head(w, BW_CBOR_MAP, n); }
void bw_cbor_put_tag(struct bw_wr *w, uint64_t tag) { bw_cbor_put_head(w, BW_CBOR_TAG, tag); }

void bw_cbor_put_simple(struct bw_wr *w, uint8_t v)
{
    if (v < 24) {
        bw_wr_u8(w, (uint8_t)(0xe0 | v));
    } else {
        bw_wr_u8(w, 0xf8);
        bw_wr_u8(w, v);
    }
}
