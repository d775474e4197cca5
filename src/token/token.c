/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device tokens: compact JWS (RFC 7515) JWTs (RFC 7519) with ES256 only.
 * Holds its own strict base64url codec and a small bounded JSON reader for
 * flat objects; both work on caller memory (no malloc, no statics, no I/O).
 * It is not a JOSE library: one algorithm, one serialization, no JWK.
 */
#include <string.h>

#include "bulwark/cbor.h"
#include "bulwark/core.h"
#include "bulwark/token.h"

/* The longest decoded header or payload: 3/4 of the token cap. */
#define JSON_MAX ((BW_TOKEN_MAX / 4) * 3)
#define JSON_MEMBERS 32
/* NumericDate ceiling: 15 decimal digits (year ~31 million) keeps every sum
 * with a leeway far inside int64_t. */
#define DATE_DIGITS 15
#define SIG_B64_LEN 86 /* 64 bytes, unpadded */

/* ------------------------------------------------------------------ */
/* base64url (RFC 4648 section 5, no padding: RFC 7515 section 2)     */

static const char b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64u_val(uint8_t ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

static void b64u_encode(struct bw_wr *w, const uint8_t *b, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            bw_wr_u8(w, (uint8_t)b64u_chars[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0)
        bw_wr_u8(w, (uint8_t)b64u_chars[(acc << (6 - bits)) & 0x3f]);
}

/* Strict decode: only the 64 URL-safe characters, no padding, no length
 * that no byte string encodes to, and zero bits in the unused tail of the
 * last character (so each byte string has exactly one encoding).
 * BW_E_FORMAT for all of that (checked first), then BW_E_NOMEM if the
 * result exceeds cap. */
static bw_err b64u_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    uint32_t acc = 0;
    size_t i, o = 0, need;
    int bits = 0, v;

    if (n % 4 == 1)
        return BW_E_FORMAT;
    for (i = 0; i < n; i++)
        if (b64u_val(in[i]) < 0)
            return BW_E_FORMAT;
    if (n % 4 == 2 && (b64u_val(in[n - 1]) & 0x0f))
        return BW_E_FORMAT;
    if (n % 4 == 3 && (b64u_val(in[n - 1]) & 0x03))
        return BW_E_FORMAT;
    need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > cap)
        return BW_E_NOMEM;
    for (i = 0; i < n; i++) {
        v = b64u_val(in[i]);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = o;
    return BW_OK;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */

/* A claim string for issue: NUL-terminated inside cap, UTF-8, no control
 * characters (they would need escapes no verifier of ours ever sees). */
static int text_ok(const char *s, size_t cap, size_t *len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = 0, k;

    while (n < cap && p[n]) {
        if (p[n] < 0x20 || p[n] == 0x7f)
            return 0;
        k = bw_utf8_seq(p + n, cap - n);
        if (k == 0)
            return 0;
        n += k;
    }
    if (n >= cap)
        return 0;
    *len = n;
    return 1;
}

/* ------------------------------------------------------------------ */
/* JSON reader: one flat object (RFC 8259 grammar), strictly.          */

enum jtype { J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL, J_ARR };

struct jval {
    enum jtype t;
    const uint8_t *s; /* decoded string, or the number's text */
    size_t n;
};

/* Called for every member. idx: -1 for a scalar value, -2 when an array
 * starts (v->t == J_ARR), 0.. for each element of that array. */
typedef void (*member_fn)(void *ctx, const uint8_t *key, size_t klen, const struct jval *v,
                          int idx);

struct json {
    struct bw_cur c;
    uint8_t arena[JSON_MAX]; /* decoded strings; never more than the input */
    size_t used;
    struct {
        const uint8_t *k;
        size_t n;
    } keys[JSON_MEMBERS];
    size_t nkeys;
};

static int peek(const struct bw_cur *c)
{
    return bw_cur_left(c) ? c->p[c->off] : -1;
}

static void skip_ws(struct bw_cur *c)
{
    int ch = peek(c);
    uint8_t b;

    while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
        if (bw_cur_u8(c, &b))
            return;
        ch = peek(c);
    }
}

static bw_err expect(struct bw_cur *c, uint8_t want)
{
    uint8_t b;

    if (bw_cur_u8(c, &b) || b != want)
        return BW_E_FORMAT;
    return BW_OK;
}

static bw_err put(struct json *j, const uint8_t *b, size_t n)
{
    if (n > sizeof(j->arena) - j->used)
        return BW_E_TOOBIG;
    memcpy(j->arena + j->used, b, n);
    j->used += n;
    return BW_OK;
}

static bw_err hex4(struct bw_cur *c, uint32_t *v)
{
    uint8_t b;
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        if (bw_cur_u8(c, &b))
            return BW_E_FORMAT;
        if (b >= '0' && b <= '9')
            *v = *v << 4 | (uint32_t)(b - '0');
        else if (b >= 'a' && b <= 'f')
            *v = *v << 4 | (uint32_t)(b - 'a' + 10);
        else if (b >= 'A' && b <= 'F')
            *v = *v << 4 | (uint32_t)(b - 'A' + 10);
        else
            return BW_E_FORMAT;
    }
    return BW_OK;
}

/* \uXXXX (and its low surrogate, if it is a high one) as UTF-8. A lone
 * surrogate and U+0000 are refused: neither can be a real claim value, and
 * a NUL would cut the C string a caller compares. */
static bw_err uescape(struct json *j)
{
    uint8_t u[4];
    uint32_t cp, lo;
    size_t n;
    bw_err rc;

    rc = hex4(&j->c, &cp);
    if (rc)
        return rc;
    if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
        return BW_E_FORMAT;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (expect(&j->c, '\\') || expect(&j->c, 'u'))
            return BW_E_FORMAT;
        rc = hex4(&j->c, &lo);
        if (rc)
            return rc;
        if (lo < 0xdc00 || lo > 0xdfff)
            return BW_E_FORMAT;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return put(j, u, n);
}

/* A string, opening quote included; decoded into the arena. */
static bw_err jstring(struct json *j, const uint8_t **s, size_t *n)
{
    size_t start = j->used, k;
    const uint8_t *seq;
    uint8_t b, e;
    bw_err rc;

    rc = expect(&j->c, '"');
    if (rc)
        return rc;
    for (;;) {
        if (peek(&j->c) >= 0x80) {
            /* a multi-byte character, taken whole once it is well formed */
            k = bw_utf8_seq(j->c.p + j->c.off, bw_cur_left(&j->c));
            if (k == 0 || bw_cur_take(&j->c, k, &seq))
                return BW_E_FORMAT;
            rc = put(j, seq, k);
            if (rc)
                return rc;
            continue;
        }
        if (bw_cur_u8(&j->c, &b))
            return BW_E_FORMAT;
        if (b == '"')
            break;
        if (b < 0x20)
            return BW_E_FORMAT;
        if (b == '\\') {
            static const uint8_t from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const uint8_t *f;

            if (bw_cur_u8(&j->c, &e))
                return BW_E_FORMAT;
            if (e == 'u') {
                rc = uescape(j);
            } else {
                f = memchr(from, e, sizeof(from) - 1);
                if (!f)
                    return BW_E_FORMAT;
                rc = put(j, &to[f - from], 1);
            }
        } else {
            rc = put(j, &b, 1);
        }
        if (rc)
            return rc;
    }
    *s = j->arena + start;
    *n = j->used - start;
    return BW_OK;
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number per RFC 8259 section 6; s and n point at its text in the input. */
static bw_err jnumber(struct json *j, const uint8_t **s, size_t *n)
{
    struct bw_cur *c = &j->c;
    size_t start = c->off;
    uint8_t b;

    if (peek(c) == '-' && bw_cur_u8(c, &b))
        return BW_E_FORMAT;
    if (peek(c) == '0') {
        if (bw_cur_u8(c, &b))
            return BW_E_FORMAT;
    } else if (is_digit(peek(c))) {
        while (is_digit(peek(c)) && !bw_cur_u8(c, &b))
            ;
    } else {
        return BW_E_FORMAT;
    }
    if (peek(c) == '.') {
        if (bw_cur_u8(c, &b) || !is_digit(peek(c)))
            return BW_E_FORMAT;
        while (is_digit(peek(c)) && !bw_cur_u8(c, &b))
            ;
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        if (bw_cur_u8(c, &b))
            return BW_E_FORMAT;
        if ((peek(c) == '+' || peek(c) == '-') && bw_cur_u8(c, &b))
            return BW_E_FORMAT;
        if (!is_digit(peek(c)))
            return BW_E_FORMAT;
        while (is_digit(peek(c)) && !bw_cur_u8(c, &b))
            ;
    }
    *s = c->p + start;
    *n = c->off - start;
    return BW_OK;
}

static bw_err jliteral(struct bw_cur *c, const char *word)
{
    const uint8_t *got;
    size_t n = strlen(word);

    if (bw_cur_take(c, n, &got) || memcmp(got, word, n))
        return BW_E_FORMAT;
    return BW_OK;
}

/* One value. An array is only reported (J_ARR, '[' not consumed) at the
 * top level of a member; inside an array, or any object, it is too deep. */
static bw_err jvalue(struct json *j, struct jval *v, int in_array)
{
    int ch;

    skip_ws(&j->c);
    ch = peek(&j->c);
    v->s = NULL;
    v->n = 0;
    switch (ch) {
    case '"':
        v->t = J_STR;
        return jstring(j, &v->s, &v->n);
    case 't':
        v->t = J_TRUE;
        return jliteral(&j->c, "true");
    case 'f':
        v->t = J_FALSE;
        return jliteral(&j->c, "false");
    case 'n':
        v->t = J_NULL;
        return jliteral(&j->c, "null");
    case '[':
        v->t = J_ARR;
        return in_array ? BW_E_DEPTH : BW_OK;
    case '{':
        return BW_E_DEPTH;
    default:
        v->t = J_NUM;
        if (ch == '-' || is_digit(ch))
            return jnumber(j, &v->s, &v->n);
        return BW_E_FORMAT;
    }
}

static bw_err jarray(struct json *j, const uint8_t *key, size_t klen, member_fn fn, void *ctx)
{
    struct jval v;
    uint8_t b;
    int idx = 0;
    bw_err rc;

    rc = expect(&j->c, '[');
    if (rc)
        return rc;
    skip_ws(&j->c);
    if (peek(&j->c) == ']')
        return expect(&j->c, ']');
    for (;;) {
        rc = jvalue(j, &v, 1);
        if (rc)
            return rc;
        if (idx >= JSON_MAX)
            return BW_E_TOOBIG; /* cannot happen: each element takes a byte */
        fn(ctx, key, klen, &v, idx++);
        skip_ws(&j->c);
        if (bw_cur_u8(&j->c, &b))
            return BW_E_FORMAT;
        if (b == ']')
            return BW_OK;
        if (b != ',')
            return BW_E_FORMAT;
    }
}

/* Method: one pass over in[0..n). Member names are decoded into the arena
 * and compared with every earlier one (at most JSON_MEMBERS, so the
 * quadratic check is bounded); equal after unescaping means duplicate.
 * Only whitespace may follow the closing brace. */
static bw_err jobject(struct json *j, const uint8_t *in, size_t n, member_fn fn, void *ctx)
{
    const uint8_t *key;
    struct jval v;
    size_t klen, i;
    uint8_t b;
    bw_err rc;

    bw_cur_init(&j->c, in, n);
    j->used = 0;
    j->nkeys = 0;
    skip_ws(&j->c);
    rc = expect(&j->c, '{');
    if (rc)
        return rc;
    skip_ws(&j->c);
    if (peek(&j->c) == '}') {
        rc = expect(&j->c, '}');
        if (rc)
            return rc;
        goto end;
    }
    for (;;) {
        skip_ws(&j->c);
        if (peek(&j->c) != '"')
            return BW_E_FORMAT;
        rc = jstring(j, &key, &klen);
        if (rc)
            return rc;
        for (i = 0; i < j->nkeys; i++)
            if (j->keys[i].n == klen && !memcmp(j->keys[i].k, key, klen))
                return BW_E_FORMAT;
        if (j->nkeys == JSON_MEMBERS)
            return BW_E_TOOBIG;
        j->keys[j->nkeys].k = key;
        j->keys[j->nkeys].n = klen;
        j->nkeys++;
        skip_ws(&j->c);
        rc = expect(&j->c, ':');
        if (rc)
            return rc;
        rc = jvalue(j, &v, 0);
        if (rc)
            return rc;
        if (v.t == J_ARR) {
            fn(ctx, key, klen, &v, -2);
            rc = jarray(j, key, klen, fn, ctx);
            if (rc)
                return rc;
        } else {
            fn(ctx, key, klen, &v, -1);
        }
        skip_ws(&j->c);
        if (bw_cur_u8(&j->c, &b))
            return BW_E_FORMAT;
        if (b == '}')
            break;
        if (b != ',')
            return BW_E_FORMAT;
    }
end:
    skip_ws(&j->c);
    return bw_cur_left(&j->c) ? BW_E_TRAILING : BW_OK;
}

static int key_is(const uint8_t *k, size_t n, const char *name)
{
    return n == strlen(name) && !memcmp(k, name, n);
}

/* ------------------------------------------------------------------ */
/* Header and claims                                                   */

struct hdr {
    int alg_ok;   /* "alg" is the string "ES256" */
    int crit;     /* a "crit" member, whatever its value */
    int bad;      /* typ or kid that does not fit */
    char kid[BW_TOKEN_JTI_MAX + 1];
    char typ[BW_TOKEN_TYP_MAX + 1]; /* "" when absent */
};

/* Lower-case ASCII. */
static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

/* 1 if the media types a and b are one: compared case-insensitively,
 * with a leading "application/" left out (RFC 7515 section 4.1.9). */
static int typ_is(const char *a, const char *b)
{
    static const char app[] = "application/";
    const char *s[2] = {a, b};
    size_t i, k;

    for (k = 0; k < 2; k++) {
        for (i = 0; i < sizeof(app) - 1 && lower((uint8_t)s[k][i]) == (uint8_t)app[i]; i++)
            ;
        if (i == sizeof(app) - 1)
            s[k] += i;
    }
    for (i = 0; s[0][i] && s[1][i]; i++)
        if (lower((uint8_t)s[0][i]) != lower((uint8_t)s[1][i]))
            return 0;
    return s[0][i] == s[1][i];
}

static void on_header(void *ctx, const uint8_t *k, size_t kn, const struct jval *v, int idx)
{
    struct hdr *h = ctx;

    if (key_is(k, kn, "crit")) {
        h->crit = 1;
    } else if (key_is(k, kn, "alg")) {
        h->alg_ok = idx == -1 && v->t == J_STR && v->n == 5 && !memcmp(v->s, "ES256", 5);
    } else if (key_is(k, kn, "typ")) {
        /* kept as given; compared as a media type where it matters */
        size_t i;

        if (idx != -1 || v->t != J_STR || v->n == 0 || v->n > BW_TOKEN_TYP_MAX) {
            h->bad = 1;
            return;
        }
        for (i = 0; i < v->n; i++)
            if (v->s[i] <= 0x20 || v->s[i] >= 0x7f)
                h->bad = 1;
        memcpy(h->typ, v->s, v->n);
        h->typ[v->n] = 0;
    } else if (key_is(k, kn, "kid")) {
        if (idx != -1 || v->t != J_STR || v->n > BW_TOKEN_JTI_MAX) {
            h->bad = 1;
            return;
        }
        memcpy(h->kid, v->s, v->n);
        h->kid[v->n] = 0;
    }
}

struct pay {
    struct bw_token_claims *c;
    const char *want_aud; /* NULL: no match wanted */
    size_t aud_n;         /* audiences seen */
    int aud_match;
    bw_err err; /* first claim of the wrong type or length */
};

static void claim_err(struct pay *p)
{
    if (!p->err)
        p->err = BW_E_CLAIM;
}

/* Copies a string claim into a fixed field of cap bytes (NUL included). */
static void claim_str(struct pay *p, char *dst, size_t cap, const struct jval *v, int idx)
{
    if (idx != -1 || v->t != J_STR || v->n >= cap) {
        claim_err(p);
        return;
    }
    memcpy(dst, v->s, v->n);
    dst[v->n] = 0;
}

/* NumericDate (RFC 7519 2): non-negative, fraction dropped, no exponent. */
static void claim_date(struct pay *p, int64_t *dst, uint8_t *has, const struct jval *v, int idx)
{
    int64_t x = 0;
    size_t i = 0;

    if (idx != -1 || v->t != J_NUM) {
        claim_err(p);
        return;
    }
    for (; i < v->n && is_digit(v->s[i]); i++) {
        if (i == DATE_DIGITS) {
            claim_err(p);
            return;
        }
        x = x * 10 + (v->s[i] - '0');
    }
    if (i == 0) {
        claim_err(p);
        return;
    }
    if (i < v->n) {
        if (v->s[i] != '.') {
            claim_err(p);
            return;
        }
        for (i++; i < v->n; i++)
            if (!is_digit(v->s[i])) {
                claim_err(p);
                return;
            }
    }
    *dst = x;
    *has = 1;
}

static void on_claim(void *ctx, const uint8_t *k, size_t kn, const struct jval *v, int idx)
{
    struct pay *p = ctx;
    struct bw_token_claims *c = p->c;

    if (key_is(k, kn, "iss")) {
        claim_str(p, c->iss, sizeof(c->iss), v, idx);
    } else if (key_is(k, kn, "sub")) {
        claim_str(p, c->sub, sizeof(c->sub), v, idx);
    } else if (key_is(k, kn, "jti")) {
        claim_str(p, c->jti, sizeof(c->jti), v, idx);
    } else if (key_is(k, kn, "exp")) {
        claim_date(p, &c->exp, &c->has_exp, v, idx);
    } else if (key_is(k, kn, "nbf")) {
        claim_date(p, &c->nbf, &c->has_nbf, v, idx);
    } else if (key_is(k, kn, "iat")) {
        claim_date(p, &c->iat, &c->has_iat, v, idx);
    } else if (key_is(k, kn, "aud")) {
        /* a string, or an array of strings (RFC 7519 4.1.3) */
        if (idx == -2)
            return;
        if (v->t != J_STR || v->n > BW_TOKEN_STR_MAX) {
            claim_err(p);
            return;
        }
        if (p->aud_n++ == 0) {
            memcpy(c->aud, v->s, v->n);
            c->aud[v->n] = 0;
        }
        if (p->want_aud && strlen(p->want_aud) == v->n && !memcmp(p->want_aud, v->s, v->n))
            p->aud_match = 1;
    }
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

struct work {
    uint8_t hdr[JSON_MAX];
    uint8_t pay[JSON_MAX];
    uint8_t sig[BW_P256_SIG_LEN];
    struct json j;
    struct hdr h;
    struct pay p;
    struct bw_token_claims c;
    struct bw_ec_key key;
};

/* SHA-256 over length-prefixed iss, sub and jti: what "seen before" means. */
static bw_err replay_id(const struct bw_token_claims *c, uint8_t id[BW_SHA256_LEN])
{
    static const char tag[] = "bulwark token jti v1";
    const char *f[3] = {c->iss, c->sub, c->jti};
    struct bw_sha256 h;
    uint8_t len[2];
    size_t i, n;
    bw_err rc;

    rc = bw_sha256_init(&h);
    if (rc)
        return rc;
    rc = bw_sha256_update(&h, tag, sizeof(tag));
    for (i = 0; i < 3 && !rc; i++) {
        n = strlen(f[i]);
        len[0] = (uint8_t)(n >> 8);
        len[1] = (uint8_t)n;
        rc = bw_sha256_update(&h, len, 2);
        if (!rc)
            rc = bw_sha256_update(&h, f[i], n);
    }
    if (rc) {
        bw_sha256_abort(&h);
        return rc;
    }
    return bw_sha256_final(&h, id);
}

/* The replay table. An empty slot has until == 0: a recorded token's
 * until (exp + leeway) is never below the verifier's clock, which is
 * positive. Linear probing from the slot the id's first bytes name. */
static size_t replay_home(const struct bw_token_replay *r, const uint8_t id[BW_SHA256_LEN])
{
    uint64_t h;

    memcpy(&h, id, sizeof(h));
    return (size_t)(h % r->cap);
}

/* Method: empties slot i and shifts back the entries after it in its
 * probe run that could not be found past the gap (Knuth's algorithm R
 * for linear probing), so the table never needs tombstones. */
static void replay_remove(struct bw_token_replay *r, size_t i)
{
    size_t j = i, k;

    for (;;) {
        r->slot[i].until = 0;
        for (;;) {
            j = (j + 1) % r->cap;
            if (r->slot[j].until == 0)
                return;
            k = replay_home(r, r->slot[j].id);
            /* the entry at j stays if its home lies cyclically in (i, j] */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        r->slot[i] = r->slot[j];
        i = j;
    }
}

/* The subject's tag: the first bytes of SHA-256 over a label and sub. */
static bw_err owner_tag(const char *sub, uint8_t tag[8])
{
    static const char label[] = "bulwark token owner v1";
    uint8_t h[BW_SHA256_LEN];
    struct bw_sha256 st;
    bw_err rc;

    rc = bw_sha256_init(&st);
    if (rc)
        return rc;
    rc = bw_sha256_update(&st, label, sizeof(label));
    if (!rc)
        rc = bw_sha256_update(&st, sub, strlen(sub));
    if (rc) {
        bw_sha256_abort(&st);
        return rc;
    }
    rc = bw_sha256_final(&st, h);
    if (!rc)
        memcpy(tag, h, 8);
    return rc;
}

/* The owner slot of tag, taken if it has none. The owner table has as
 * many slots as the cache and only subjects with entries hold one, so a
 * free slot exists whenever the cache has a free entry. */
static struct bw_token_owner *owner_slot(struct bw_token_replay *r, const uint8_t tag[8])
{
    uint64_t h;
    size_t i, steps;

    memcpy(&h, tag, sizeof(h));
    i = (size_t)(h % r->cap);
    for (steps = 0; steps < r->cap; steps++, i = (i + 1) % r->cap) {
        struct bw_token_owner *o = &r->owner[i];

        if (o->n == 0) {
            memcpy(o->id, tag, 8);
            return o;
        }
        if (!memcmp(o->id, tag, 8))
            return o;
    }
    return NULL;
}

/* Drops every entry whose time is over. A removal may shift a later entry
 * into slot i, so slot i is looked at again until it holds a live entry
 * or nothing. With a quota the owner counts are then counted again from
 * the entries left (owners are only ever dropped here). */
static void replay_sweep(struct bw_token_replay *r, int64_t now)
{
    size_t i;

    for (i = 0; i < r->cap; i++)
        while (r->slot[i].until != 0 && r->slot[i].until < now) {
            replay_remove(r, i);
            r->n--;
        }
    if (!r->quota)
        return;
    memset(r->owner, 0, r->cap * sizeof(*r->owner));
    for (i = 0; i < r->cap; i++)
        if (r->slot[i].until != 0) {
            struct bw_token_owner *o = owner_slot(r, r->slot[i].owner);

            if (o) /* always: fewer owners than entries */
                o->n++;
        }
}

/* Method: sweep when three quarters full, at most once a second (expiry
 * is in seconds: a second sweep within one finds nothing more, and a
 * table held three quarters full of live tokens swept all its slots on
 * every insert: 972 tokens/s instead of 10,600 with 262,144 slots), then
 * probe from the id's home:
 * the same id live is a replay, the same id expired is renewed in place
 * (same id, same subject: its owner count stands), an empty slot ends the
 * run and takes the new entry. A table full of live entries refuses the
 * token rather than forget one (fail closed). With a quota, a subject
 * whose count is at the quota is refused (BW_E_QUOTA) after one sweep per
 * second has had the chance to count its expired entries out. */
static bw_err replay_record_locked(struct bw_token_replay *r, const uint8_t id[BW_SHA256_LEN],
                                   const uint8_t tag[8], int64_t now, int64_t until)
{
    struct bw_token_owner *o = NULL;
    size_t i, steps;
    int pass;

    if (r->cap == 0)
        return BW_E_NOMEM;
    if (until <= 0)
        return BW_E_CLAIM;
    if (r->n >= r->cap - r->cap / 4 && r->swept != now) {
        r->swept = now;
        replay_sweep(r, now);
    }
    for (pass = 0;; pass++) {
        i = replay_home(r, id);
        for (steps = 0; steps < r->cap; steps++, i = (i + 1) % r->cap) {
            struct bw_token_seen *s = &r->slot[i];

            if (s->until == 0)
                break;
            if (!memcmp(s->id, id, BW_SHA256_LEN)) {
                if (s->until >= now)
                    return BW_E_REPLAY;
                s->until = until;
                return BW_OK;
            }
        }
        if (steps == r->cap)
            return BW_E_NOMEM;
        if (!r->quota)
            break;
        o = owner_slot(r, tag);
        if (!o)
            return BW_E_NOMEM;
        if (o->n < r->quota)
            break;
        if (pass > 0 || r->swept == now)
            return BW_E_QUOTA;
        r->swept = now;
        replay_sweep(r, now);
    }
    if (o)
        o->n++;
    memcpy(r->slot[i].id, id, BW_SHA256_LEN);
    memcpy(r->slot[i].owner, tag, sizeof(r->slot[i].owner));
    r->slot[i].until = until;
    r->n++;
    return BW_OK;
}

static bw_err replay_record(struct bw_token_replay *r, const uint8_t id[BW_SHA256_LEN],
                            const uint8_t tag[8], int64_t now, int64_t until)
{
    bw_err rc;

    if (r->lock)
        r->lock(r->lock_ctx, 1);
    rc = replay_record_locked(r, id, tag, now, until);
    if (r->lock)
        r->lock(r->lock_ctx, 0);
    return rc;
}

static bw_err check_claims(struct work *w, const struct bw_token_policy *p)
{
    const struct bw_token_claims *c = &w->c;
    int64_t lw = p->leeway;

    if (!c->has_exp)
        return BW_E_CLAIM;
    if (p->now > c->exp + lw)
        return BW_E_EXPIRED;
    if (c->has_nbf && c->nbf > p->now + lw)
        return BW_E_EXPIRED;
    if (!c->has_iat)
        return BW_E_CLAIM;
    if (c->iat > p->now + lw)
        return BW_E_EXPIRED;
    if (c->iat > c->exp || c->exp - c->iat > (int64_t)p->max_lifetime)
        return BW_E_CLAIM;
    if (w->p.aud_n == 0 || !w->p.aud_match)
        return BW_E_CLAIM;
    if (p->iss && strcmp(p->iss, c->iss))
        return BW_E_CLAIM;
    if (p->sub && strcmp(p->sub, c->sub))
        return BW_E_CLAIM;
    if (!c->jti[0])
        return BW_E_CLAIM;
    return BW_OK;
}

static bw_err parse_claims(struct work *w, const uint8_t *pay, size_t pay_len, const char *aud)
{
    bw_err rc;

    memset(&w->c, 0, sizeof(w->c));
    memset(&w->p, 0, sizeof(w->p));
    w->p.c = &w->c;
    w->p.want_aud = aud;
    rc = jobject(&w->j, pay, pay_len, on_claim, &w->p);
    if (rc)
        return rc;
    memcpy(w->c.kid, w->h.kid, sizeof(w->c.kid));
    return w->p.err;
}

/* Method: the steps of bw_token_verify in its documented order. keyfn
 * set: the payload is parsed (not trusted) before the signature to find
 * the key; otherwise only after it. p NULL: stop after the JWS layer. */
static bw_err verify(const char *tok, size_t tok_len, const struct bw_ec_key *pub,
                     bw_token_key_fn keyfn, void *keyctx, const struct bw_token_policy *p,
                     struct bw_token_replay *cache, struct bw_token_claims *out, struct work *w)
{
    const uint8_t *t = (const uint8_t *)tok, *d1, *d2;
    uint8_t hash[BW_SHA256_LEN], id[BW_SHA256_LEN], tag[8] = {0};
    size_t hlen, plen, slen = 0, n1, n2;
    int parsed = 0, sig_long = 0;
    bw_err rc = BW_E_INVAL;

    bw_ec_key_init(&w->key);
    if (out)
        memset(out, 0, sizeof(*out));
    if (!tok || (!pub && !keyfn))
        goto out;
    if (p && (!p->aud || !*p->aud || strlen(p->aud) > BW_TOKEN_STR_MAX || !cache ||
              p->max_lifetime > BW_TOKEN_LIFETIME_MAX))
        goto out;
    rc = BW_E_TOOBIG;
    if (tok_len > BW_TOKEN_MAX)
        goto out;

    /* three parts */
    rc = BW_E_FORMAT;
    d1 = memchr(t, '.', tok_len);
    if (!d1)
        goto out;
    n1 = (size_t)(d1 - t);
    d2 = memchr(d1 + 1, '.', tok_len - n1 - 1);
    if (!d2)
        goto out;
    n2 = (size_t)(d2 - d1 - 1);
    if (memchr(d2 + 1, '.', tok_len - n1 - n2 - 2))
        goto out;
    rc = b64u_decode(t, n1, w->hdr, sizeof(w->hdr), &hlen);
    if (rc)
        goto out;
    rc = b64u_decode(d1 + 1, n2, w->pay, sizeof(w->pay), &plen);
    if (rc)
        goto out;
    rc = b64u_decode(d2 + 1, tok_len - n1 - n2 - 2, w->sig, sizeof(w->sig), &slen);
    if (rc == BW_E_NOMEM)
        sig_long = 1; /* too long for r||s: decided at the signature step */
    else if (rc)
        goto out;

    /* protected header */
    memset(&w->h, 0, sizeof(w->h));
    rc = jobject(&w->j, w->hdr, hlen, on_header, &w->h);
    if (rc)
        goto out;
    rc = BW_E_ALG;
    if (!w->h.alg_ok)
        goto out;
    rc = BW_E_CRITICAL;
    if (w->h.crit)
        goto out;
    rc = BW_E_CLAIM;
    if (w->h.bad)
        goto out;
    /* an explicit type (RFC 8725 3.11): a device token says it is one */
    if (p && !typ_is(w->h.typ, p->typ ? p->typ : BW_TOKEN_TYP_DEVICE))
        goto out;

    /* key */
    if (keyfn) {
        rc = parse_claims(w, w->pay, plen, p ? p->aud : NULL);
        if (rc)
            goto out;
        parsed = 1;
        rc = keyfn(keyctx, w->h.kid, w->c.iss, w->c.sub, &w->key);
        if (rc)
            goto out;
        pub = &w->key;
    }

    /* signature over ASCII(header '.' payload) */
    rc = bw_sha256(t, n1 + 1 + n2, hash);
    if (rc)
        goto out;
    rc = BW_E_BADSIG;
    if (sig_long || slen != BW_P256_SIG_LEN)
        goto out;
    rc = bw_ec_verify(pub, hash, w->sig, slen);
    if (rc == BW_E_KEY || rc == BW_E_CRYPTO)
        goto out;
    if (rc) {
        rc = BW_E_BADSIG;
        goto out;
    }

    /* claims: only now are they the signer's */
    if (!parsed) {
        rc = parse_claims(w, w->pay, plen, p ? p->aud : NULL);
        if (rc)
            goto out;
    }
    if (p) {
        rc = check_claims(w, p);
        if (rc)
            goto out;
        rc = replay_id(&w->c, id);
        if (!rc && cache->quota)
            rc = owner_tag(w->c.sub, tag);
        if (rc)
            goto out;
        rc = replay_record(cache, id, tag, p->now, w->c.exp + (int64_t)p->leeway);
        if (rc)
            goto out;
        memcpy(w->c.aud, p->aud, strlen(p->aud) + 1);
    }
    rc = BW_OK;
out:
    if (rc == BW_OK && out) {
        *out = w->c;
        memcpy(out->typ, w->h.typ, sizeof(out->typ));
    }
    bw_ec_key_clear(&w->key);
    return rc;
}

void bw_token_policy_init(struct bw_token_policy *p, const char *aud, int64_t now)
{
    memset(p, 0, sizeof(*p));
    p->aud = aud;
    p->now = now;
    p->leeway = BW_TOKEN_LEEWAY_DEFAULT;
    p->max_lifetime = BW_TOKEN_LIFETIME_MAX;
    p->typ = BW_TOKEN_TYP_DEVICE;
}

void bw_token_replay_init(struct bw_token_replay *r, struct bw_token_seen *slots, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->slot = slots;
    r->cap = slots ? cap : 0;
    if (r->cap)
        memset(slots, 0, cap * sizeof(*slots));
}

bw_err bw_token_replay_set_quota(struct bw_token_replay *r, struct bw_token_owner *owners,
                                 uint32_t quota)
{
    if (!r || r->n || (quota && !owners))
        return BW_E_INVAL;
    r->quota = r->cap ? quota : 0;
    r->owner = r->quota ? owners : NULL;
    r->swept = 0;
    if (r->owner)
        memset(r->owner, 0, r->cap * sizeof(*r->owner));
    return BW_OK;
}

void bw_token_replay_set_lock(struct bw_token_replay *r, void (*lock)(void *ctx, int acquire),
                              void *ctx)
{
    r->lock = lock;
    r->lock_ctx = lock ? ctx : NULL;
}

bw_err bw_token_verify(const char *tok, size_t tok_len, const struct bw_ec_key *pub,
                       const struct bw_token_policy *p, struct bw_token_replay *cache,
                       struct bw_token_claims *out)
{
    struct work w;
    bw_err rc;

    if (!p) {
        if (out)
            memset(out, 0, sizeof(*out));
        return BW_E_INVAL;
    }
    rc = verify(tok, tok_len, pub, NULL, NULL, p, cache, out, &w);
    bw_wipe(&w, sizeof(w));
    return rc;
}

bw_err bw_token_verify_lookup(const char *tok, size_t tok_len, bw_token_key_fn keyfn,
                              void *keyctx, const struct bw_token_policy *p,
                              struct bw_token_replay *cache, struct bw_token_claims *out)
{
    struct work w;
    bw_err rc;

    if (!p || !keyfn) {
        if (out)
            memset(out, 0, sizeof(*out));
        return BW_E_INVAL;
    }
    rc = verify(tok, tok_len, NULL, keyfn, keyctx, p, cache, out, &w);
    bw_wipe(&w, sizeof(w));
    return rc;
}

bw_err bw_token_verify_signature(const char *tok, size_t tok_len, const struct bw_ec_key *pub,
                                 struct bw_token_claims *out)
{
    struct work w;
    bw_err rc;

    if (!pub) {
        if (out)
            memset(out, 0, sizeof(*out));
        return BW_E_INVAL;
    }
    rc = verify(tok, tok_len, pub, NULL, NULL, NULL, NULL, out, &w);
    bw_wipe(&w, sizeof(w));
    return rc;
}

/* ------------------------------------------------------------------ */
/* Issue                                                               */

static void wr_str(struct bw_wr *w, const char *s)
{
    size_t i, n = strlen(s);

    bw_wr_u8(w, '"');
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            bw_wr_u8(w, '\\');
        bw_wr_u8(w, (uint8_t)s[i]);
    }
    bw_wr_u8(w, '"');
}

static void wr_num(struct bw_wr *w, int64_t v)
{
    char d[24];
    size_t n = 0;
    uint64_t u = (uint64_t)v;

    do {
        d[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        bw_wr_u8(w, (uint8_t)d[--n]);
}

static void wr_member(struct bw_wr *w, const char *name, int first)
{
    if (!first)
        bw_wr_u8(w, ',');
    wr_str(w, name);
    bw_wr_u8(w, ':');
}

/* A typ to write: empty (the device type), or printable ASCII without
 * spaces, NUL-terminated within cap. */
static int typ_ok(const char *t, size_t cap)
{
    size_t i;

    for (i = 0; i < cap && t[i]; i++)
        if (t[i] <= 0x20 || t[i] >= 0x7f)
            return 0;
    return i < cap;
}

static int date_ok(int64_t v)
{
    return v >= 0 && v < 1000000000000000LL; /* DATE_DIGITS */
}

bw_err bw_token_issue(const struct bw_signer *s, struct bw_token_claims *c, char *out, size_t cap,
                      size_t *out_len)
{
    uint8_t json[JSON_MAX], hash[BW_SHA256_LEN], sig[BW_P256_SIG_LEN];
    uint8_t rnd[BW_TOKEN_JTI_RANDOM];
    struct bw_wr jw, w;
    size_t n, signed_len;
    bw_err rc = BW_E_INVAL;

    if (!s || !s->sign || !c || !out || !out_len)
        goto out;
    if (!text_ok(c->iss, sizeof(c->iss), &n) || !text_ok(c->sub, sizeof(c->sub), &n) ||
        n == 0 || !text_ok(c->aud, sizeof(c->aud), &n) || n == 0 ||
        !text_ok(c->kid, sizeof(c->kid), &n) || !text_ok(c->jti, sizeof(c->jti), &n) ||
        !typ_ok(c->typ, sizeof(c->typ)))
        goto out;
    if (!date_ok(c->iat) || !date_ok(c->exp) || (c->has_nbf && !date_ok(c->nbf)))
        goto out;
    if (c->exp <= c->iat || c->exp - c->iat > BW_TOKEN_LIFETIME_MAX)
        goto out;
    if (!c->jti[0]) {
        struct bw_wr jtw;

        rc = bw_random(rnd, sizeof(rnd));
        if (rc)
            goto out;
        bw_wr_init(&jtw, (uint8_t *)c->jti, sizeof(c->jti) - 1);
        b64u_encode(&jtw, rnd, sizeof(rnd));
        c->jti[jtw.len] = 0;
    }
    if (!c->iss[0])
        memcpy(c->iss, c->sub, sizeof(c->iss));
    c->has_iat = c->has_exp = 1;

    bw_wr_init(&w, (uint8_t *)out, cap);
    /* protected header */
    bw_wr_init(&jw, json, sizeof(json));
    bw_wr_bytes(&jw, "{\"alg\":\"ES256\"", 14);
    wr_member(&jw, "typ", 0);
    wr_str(&jw, c->typ[0] ? c->typ : BW_TOKEN_TYP_DEVICE);
    if (c->kid[0]) {
        wr_member(&jw, "kid", 0);
        wr_str(&jw, c->kid);
    }
    bw_wr_u8(&jw, '}');
    rc = BW_E_TOOBIG;
    if (jw.err)
        goto out;
    b64u_encode(&w, json, jw.len);
    bw_wr_u8(&w, '.');
    /* claims */
    bw_wr_init(&jw, json, sizeof(json));
    bw_wr_u8(&jw, '{');
    wr_member(&jw, "iss", 1);
    wr_str(&jw, c->iss);
    wr_member(&jw, "sub", 0);
    wr_str(&jw, c->sub);
    wr_member(&jw, "aud", 0);
    wr_str(&jw, c->aud);
    wr_member(&jw, "iat", 0);
    wr_num(&jw, c->iat);
    if (c->has_nbf) {
        wr_member(&jw, "nbf", 0);
        wr_num(&jw, c->nbf);
    }
    wr_member(&jw, "exp", 0);
    wr_num(&jw, c->exp);
    wr_member(&jw, "jti", 0);
    wr_str(&jw, c->jti);
    bw_wr_u8(&jw, '}');
    if (jw.err)
        goto out;
    b64u_encode(&w, json, jw.len);
    signed_len = w.len;
    if (signed_len + 1 + SIG_B64_LEN > BW_TOKEN_MAX)
        goto out;
    rc = BW_E_NOMEM;
    if (w.err || signed_len + 1 + SIG_B64_LEN + 1 > cap)
        goto out;

    rc = bw_sha256(out, signed_len, hash);
    if (rc)
        goto out;
    rc = s->sign(s->ctx, hash, sig);
    if (rc)
        goto out;
    bw_wr_u8(&w, '.');
    b64u_encode(&w, sig, sizeof(sig));
    bw_wr_u8(&w, 0);
    rc = BW_E_NOMEM;
    if (w.err)
        goto out;
    *out_len = w.len - 1;
    rc = BW_OK;
out:
    bw_wipe(rnd, sizeof(rnd));
    if (rc && out && cap)
        out[0] = 0;
    return rc;
}
