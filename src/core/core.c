/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded reader/writer, wipe, constant-time compare, hex. Portable C11,
 * no allocation and no I/O, so it builds for microcontrollers unchanged.
 */
#include <string.h>
#include "bulwark/core.h"

void bw_cur_init(struct bw_cur *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->len = p ? len : 0;
    c->off = 0;
}

bw_err bw_cur_take(struct bw_cur *c, size_t n, const uint8_t **out)
{
    if (n > bw_cur_left(c))
        return BW_E_TRUNCATED;
    *out = c->p + c->off;
    c->off += n;
    return BW_OK;
}

bw_err bw_cur_u8(struct bw_cur *c, uint8_t *v)
{
    if (bw_cur_left(c) < 1)
        return BW_E_TRUNCATED;
    *v = c->p[c->off++];
    return BW_OK;
}

static bw_err be_n(struct bw_cur *c, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;

    if (bw_cur_left(c) < n)
        return BW_E_TRUNCATED;
    for (i = 0; i < n; i++)
        x = (x << 8) | c->p[c->off + i];
    c->off += n;
    *v = x;
    return BW_OK;
}

bw_err bw_cur_be16(struct bw_cur *c, uint16_t *v)
{
    uint64_t x;
    bw_err rc = be_n(c, 2, &x);

    if (rc == BW_OK)
        *v = (uint16_t)x;
    return rc;
}

bw_err bw_cur_be32(struct bw_cur *c, uint32_t *v)
{
    uint64_t x;
    bw_err rc = be_n(c, 4, &x);

    if (rc == BW_OK)
        *v = (uint32_t)x;
    return rc;
}

bw_err bw_cur_be64(struct bw_cur *c, uint64_t *v)
{
    return be_n(c, 8, v);
}

void bw_wr_init(struct bw_wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = p ? cap : 0;
    w->len = 0;
    w->err = BW_OK;
}

void bw_wr_bytes(struct bw_wr *w, const void *b, size_t n)
{
    if (w->err == BW_OK && w->p) {
        if (n > w->cap - w->len)
            w->err = BW_E_NOMEM;
        else if (n)
            memcpy(w->p + w->len, b, n);
    }
    w->len += n;
}

static void wr_be(struct bw_wr *w, uint64_t v, size_t n)
{
    uint8_t b[8];
    size_t i;

    for (i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    bw_wr_bytes(w, b, n);
}

void bw_wr_u8(struct bw_wr *w, uint8_t v) { wr_be(w, v, 1); }
void bw_wr_be16(struct bw_wr *w, uint16_t v) { wr_be(w, v, 2); }
void bw_wr_be32(struct bw_wr *w, uint32_t v) { wr_be(w, v, 4); }
void bw_wr_be64(struct bw_wr *w, uint64_t v) { wr_be(w, v, 8); }

void bw_wipe(void *p, size_t n)
{
    /* A volatile function pointer keeps the compiler from proving the
     * stores dead (the approach of OpenSSL's OPENSSL_cleanse). */
    static void *(*const volatile set)(void *, int, size_t) = memset;

    if (p && n)
        set(p, 0, n);
}

int bw_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    size_t i;

    for (i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return (int)(1 & ((uint32_t)(d - 1) >> 8));
}

void bw_hex(char *out, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bw_err bw_unhex(uint8_t *out, size_t out_len, const char *hex)
{
    size_t i;

    for (i = 0; i < out_len; i++) {
        int hi, lo;

        if (!hex[2 * i] || !hex[2 * i + 1])
            return BW_E_FORMAT;
        hi = nibble(hex[2 * i]);
        lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return BW_E_FORMAT;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * out_len] ? BW_E_FORMAT : BW_OK;
}

/* One INTEGER of 32 big-endian bytes at o: leading zeros dropped, a zero
 * byte added when the top bit is set (DER integers are signed). */
static size_t der_int32(uint8_t *o, const uint8_t v[32])
{
    size_t i = 0, len, pad;

    while (i < 31 && v[i] == 0)
        i++;
    len = 32 - i;
    pad = (v[i] & 0x80) ? 1 : 0;
    o[0] = 0x02;
    o[1] = (uint8_t)(len + pad);
    o[2] = 0;
    memcpy(o + 2 + pad, v + i, len);
    return 2 + pad + len;
}

size_t bw_ecdsa_sig_der(uint8_t der[72], const uint8_t sig[64])
{
    size_t n = der_int32(der + 2, sig);

    n += der_int32(der + 2 + n, sig + 32);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    return n + 2;
}
