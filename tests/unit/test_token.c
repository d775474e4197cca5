/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device tokens: the RFC 7515 A.3 ES256 example as an outside known answer,
 * issue -> verify round trips (in-memory and file-backend device keys,
 * payload cross-checked with jansson), and every refusal with its code.
 * Extra modes: --corpus DIR writes the fuzz seed tokens (fuzz/corpus/token);
 * --mkkey URI PUB.pem PRIV.pem makes a device key for integ/token.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <unistd.h>

#include "bulwark/bulwark.h"
#include "bwh/identity.h"
#include "bulwark/token.h"
#include "t.h"

#define NOW 1700000000LL
#define AUD "https://gw.example"

/* RFC 7515 Appendix A.3: JWK of the example key and the compact JWS. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char a3_jws[] =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* ---- test-side base64url, written independently of the library's ---- */
static const char enc_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64u(char *out, const void *in, size_t n)
{
    const unsigned char *b = in;
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = enc_tab[b[i] >> 2];
        out[o++] = enc_tab[((b[i] & 3) << 4) | (b[i + 1] >> 4)];
        out[o++] = enc_tab[((b[i + 1] & 15) << 2) | (b[i + 2] >> 6)];
        out[o++] = enc_tab[b[i + 2] & 63];
    }
    if (n - i == 1) {
        out[o++] = enc_tab[b[i] >> 2];
        out[o++] = enc_tab[(b[i] & 3) << 4];
    } else if (n - i == 2) {
        out[o++] = enc_tab[b[i] >> 2];
        out[o++] = enc_tab[((b[i] & 3) << 4) | (b[i + 1] >> 4)];
        out[o++] = enc_tab[(b[i + 1] & 15) << 2];
    }
    out[o] = 0;
    return o;
}

static size_t unb64u(unsigned char *out, const char *in, size_t n)
{
    unsigned acc = 0, bits = 0;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        const char *p = strchr(enc_tab, in[i]);

        if (!p || !in[i])
            return (size_t)-1;
        acc = (acc << 6) | (unsigned)(p - enc_tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

static struct bw_ec_key key, other;
static char tok[8192];

enum sigmode { SIG_RAW, SIG_DER, SIG_NONE, SIG_HMAC, SIG_FLIP };

/* header.payload signed by k (or not, per mode) into tok. */
static size_t mk(const char *hdr, const char *pay, const struct bw_ec_key *k, enum sigmode m)
{
    uint8_t h[32], sig[80];
    size_t n, slen = 0;

    n = b64u(tok, hdr, strlen(hdr));
    tok[n++] = '.';
    n += b64u(tok + n, pay, strlen(pay));
    if (bw_sha256(tok, n, h) != BW_OK)
        exit(2);
    switch (m) {
    case SIG_RAW:
    case SIG_FLIP:
        if (bw_ec_sign(k, h, sig) != BW_OK)
            exit(2);
        slen = 64;
        if (m == SIG_FLIP)
            sig[17] ^= 0x01;
        break;
    case SIG_DER:
        if (bw_ec_sign_der(k, h, sig, sizeof(sig), &slen) != BW_OK)
            exit(2);
        break;
    case SIG_HMAC: {
        /* key confusion: HMAC keyed with the verifier's public key (PEM) */
        uint8_t pem[512];
        size_t pl;
        unsigned ml = 0;

        if (bw_ec_export(k, 0, 1, pem, sizeof(pem), &pl) != BW_OK ||
            !HMAC(EVP_sha256(), pem, (int)pl, (const unsigned char *)tok, n, sig, &ml))
            exit(2);
        slen = ml;
        break;
    }
    case SIG_NONE:
        break;
    }
    tok[n++] = '.';
    n += b64u(tok + n, sig, slen);
    return n;
}

static struct bw_token_seen slots[64];
static struct bw_token_replay cache;
static struct bw_token_policy pol;

/* Verify tok with a fresh cache and the default policy at NOW. */
static bw_err ver(size_t n)
{
    struct bw_token_claims c;

    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, AUD, NOW);
    return bw_token_verify(tok, n, &key, &pol, &cache, &c);
}

/* A payload with the standard claims; extra is appended inside the object. */
static const char *payload(long long iat, long long exp, const char *extra)
{
    static char p[4096];

    snprintf(p, sizeof(p),
             "{\"iss\":\"dev-1\",\"sub\":\"dev-1\",\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld,"
             "\"jti\":\"j-%lld\"%s}",
             iat, exp, iat, extra);
    return p;
}

#define TYP "\"typ\":\"bulwark-device+jwt\""
#define HDR "{\"alg\":\"ES256\"," TYP "}"
#define KID64 "0123456789012345678901234567890123456789012345678901234567890123"

static void rfc7515_a3(void)
{
    unsigned char pt[65], d[32];
    struct bw_token_claims c;
    struct bw_ec_key a3, a3priv;
    char bad[sizeof(a3_jws)];
    size_t n = strlen(a3_jws);

    pt[0] = 4;
    CHECK(unb64u(pt + 1, a3_x, strlen(a3_x)) == 32);
    CHECK(unb64u(pt + 33, a3_y, strlen(a3_y)) == 32);
    bw_ec_key_init(&a3);
    CHECK_RC(bw_ec_set_pub(&a3, pt, 65), BW_OK);
    /* the published private scalar belongs to the published point */
    CHECK(unb64u(d, a3_d, strlen(a3_d)) == 32);
    bw_ec_key_init(&a3priv);
    CHECK_RC(bw_ec_set_priv(&a3priv, d, 32), BW_OK);
    CHECK(!memcmp(a3priv.pub, pt, 65));
    bw_ec_key_clear(&a3priv);

    CHECK_RC(bw_token_verify_signature(a3_jws, n, &a3, &c), BW_OK);
    CHECK(!strcmp(c.iss, "joe"));
    CHECK(c.has_exp && c.exp == 1300819380);
    CHECK(!c.has_iat && !c.aud[0] && !c.jti[0]);
    /* the full policy refuses it: it has no typ (not a device token), and
     * it lacks what bulwark requires (iat, aud, jti) */
    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, "joe", 1300819380 + 61);
    CHECK_RC(bw_token_verify(a3_jws, n, &a3, &pol, &cache, &c), BW_E_CLAIM);
    pol.now = 1300819380 - 10;
    CHECK_RC(bw_token_verify(a3_jws, n, &a3, &pol, &cache, &c), BW_E_CLAIM);
    CHECK(!c.iss[0]); /* nothing handed out on failure */
    /* one bit of r changed */
    memcpy(bad, a3_jws, sizeof(bad));
    bad[n - 40] = bad[n - 40] == 'A' ? 'B' : 'A';
    CHECK_RC(bw_token_verify_signature(bad, n, &a3, &c), BW_E_BADSIG);
    /* right signature, wrong key */
    CHECK_RC(bw_token_verify_signature(a3_jws, n, &key, &c), BW_E_BADSIG);
    bw_ec_key_clear(&a3);
}

static void roundtrip(void)
{
    struct bw_token_claims c, v;
    struct bw_signer s;
    char out[BW_TOKEN_MAX + 1], part[BW_TOKEN_MAX];
    unsigned char raw[BW_TOKEN_MAX];
    size_t len, i, rl;
    json_error_t je;
    json_t *j;
    const char *d1, *d2;

    CHECK_RC(bwh_signer_from_ec(&s, &key), BW_OK);
    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "dev-\xc3\xa9\"1\\"); /* UTF-8, a quote and a backslash */
    strcpy(c.aud, AUD);
    strcpy(c.kid, "k1");
    c.iat = NOW;
    c.exp = NOW + 300;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_OK);
    CHECK(len == strlen(out));
    CHECK(strlen(c.jti) == 22); /* 16 random bytes */
    CHECK(!strcmp(c.iss, c.sub));

    /* an outside JSON parser reads what we wrote */
    d1 = strchr(out, '.');
    d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    CHECK(d1 && d2 && !strchr(d2 + 1, '.') && strlen(d2 + 1) == 86);
    if (d1 && d2) {
        rl = unb64u(raw, out, (size_t)(d1 - out));
        raw[rl] = 0;
        CHECK(!strcmp((char *)raw, "{\"alg\":\"ES256\"," TYP ",\"kid\":\"k1\"}"));
        memcpy(part, d1 + 1, (size_t)(d2 - d1 - 1));
        rl = unb64u(raw, part, (size_t)(d2 - d1 - 1));
        j = json_loadb((const char *)raw, rl, JSON_REJECT_DUPLICATES, &je);
        CHECK(j != NULL);
        if (j) {
            CHECK(!strcmp(json_string_value(json_object_get(j, "sub")), c.sub));
            CHECK(!strcmp(json_string_value(json_object_get(j, "aud")), AUD));
            CHECK(!strcmp(json_string_value(json_object_get(j, "jti")), c.jti));
            CHECK(json_integer_value(json_object_get(j, "exp")) == NOW + 300);
            CHECK(json_integer_value(json_object_get(j, "iat")) == NOW);
            CHECK(json_object_get(j, "nbf") == NULL);
            json_decref(j);
        }
    }

    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, AUD, NOW + 10);
    CHECK_RC(bw_token_verify(out, len, &key, &pol, &cache, &v), BW_OK);
    CHECK(!strcmp(v.sub, c.sub) && !strcmp(v.iss, c.sub) && !strcmp(v.aud, AUD));
    CHECK(!strcmp(v.jti, c.jti) && !strcmp(v.kid, "k1"));
    CHECK(v.iat == NOW && v.exp == NOW + 300 && !v.has_nbf);
    /* the same token again */
    CHECK_RC(bw_token_verify(out, len, &key, &pol, &cache, &v), BW_E_REPLAY);
    CHECK(!v.sub[0]);
    /* a different key */
    bw_token_replay_init(&cache, slots, 64);
    CHECK_RC(bw_token_verify(out, len, &other, &pol, &cache, &v), BW_E_BADSIG);

    /* every single-character change is refused */
    for (i = 0; i < len; i++) {
        char keep = out[i];
        bw_err rc;

        out[i] = keep == 'A' ? 'B' : (keep == '.' ? 'x' : 'A');
        bw_token_replay_init(&cache, slots, 64);
        rc = bw_token_verify(out, len, &key, &pol, &cache, &v);
        if (rc == BW_OK)
            fprintf(stderr, "changed byte %zu accepted\n", i);
        CHECK(rc != BW_OK);
        out[i] = keep;
    }
    /* every truncation is refused */
    for (i = 0; i < len; i++) {
        bw_token_replay_init(&cache, slots, 64);
        if (bw_token_verify(out, i, &key, &pol, &cache, &v) == BW_OK) {
            fprintf(stderr, "truncated to %zu accepted\n", i);
            CHECK(0);
        }
    }
    bw_token_replay_init(&cache, slots, 64);
    CHECK_RC(bw_token_verify(out, len - 1, &key, &pol, &cache, &v), BW_E_FORMAT);
    CHECK_RC(bw_token_verify(out, len - 2, &key, &pol, &cache, &v), BW_E_BADSIG);
    CHECK_RC(bw_token_verify(out, (size_t)(d2 - out), &key, &pol, &cache, &v), BW_E_FORMAT);
    CHECK_RC(bw_token_verify(out, (size_t)(d2 - out) + 1, &key, &pol, &cache, &v),
             BW_E_BADSIG);

    /* nbf and a caller-chosen jti come back */
    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "dev-2");
    strcpy(c.iss, "factory");
    strcpy(c.aud, AUD);
    strcpy(c.jti, "fixed-jti");
    c.iat = NOW;
    c.has_nbf = 1;
    c.nbf = NOW + 5;
    c.exp = NOW + 3600;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_OK);
    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, AUD, NOW + 100);
    pol.iss = "factory";
    CHECK_RC(bw_token_verify(out, len, &key, &pol, &cache, &v), BW_OK);
    CHECK(v.has_nbf && v.nbf == NOW + 5 && !strcmp(v.jti, "fixed-jti") && !v.kid[0]);
    CHECK(!strcmp(v.iss, "factory") && !strcmp(v.sub, "dev-2"));
    bw_token_replay_init(&cache, slots, 64);
    pol.iss = "someone-else";
    CHECK_RC(bw_token_verify(out, len, &key, &pol, &cache, &v), BW_E_CLAIM);
}

static void issue_refusals(void)
{
    struct bw_token_claims c;
    struct bw_signer s;
    char out[BW_TOKEN_MAX + 1];
    size_t len;

    CHECK_RC(bwh_signer_from_ec(&s, &key), BW_OK);
    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "dev-1");
    strcpy(c.aud, AUD);
    c.iat = NOW;
    c.exp = NOW + 3601;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    c.exp = NOW + 3600;
    CHECK_RC(bw_token_issue(&s, &c, out, 100, &len), BW_E_NOMEM);
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_OK);
    memset(c.jti, 0, sizeof(c.jti));
    c.exp = NOW;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    c.exp = NOW + 10;
    c.iat = -1;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    c.iat = NOW;
    c.aud[0] = 0;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    strcpy(c.aud, "a\nb");
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    strcpy(c.aud, AUD);
    strcpy(c.sub, "bad\xc3(utf8");
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    c.sub[0] = 0;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_E_INVAL);
    strcpy(c.sub, "dev-1");
    CHECK_RC(bw_token_issue(NULL, &c, out, sizeof(out), &len), BW_E_INVAL);
    /* longest strings still make a token verify accepts */
    memset(c.sub, 'S', BW_TOKEN_STR_MAX);
    memset(c.iss, '"', BW_TOKEN_STR_MAX); /* each needs an escape */
    memset(c.aud, 'A', BW_TOKEN_STR_MAX);
    memset(c.jti, 'J', BW_TOKEN_JTI_MAX);
    memset(c.kid, 'K', BW_TOKEN_JTI_MAX);
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_OK);
    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, c.aud, NOW);
    CHECK_RC(bw_token_verify(out, len, &key, &pol, &cache, NULL), BW_OK);
}

static void claim_refusals(void)
{
    char x[4200];
    size_t n;

    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 300, ""), &key, SIG_RAW)), BW_OK);
    /* exp: boundary of the leeway */
    CHECK_RC(ver(mk(HDR, payload(NOW - 360, NOW - 60, ""), &key, SIG_RAW)), BW_OK);
    CHECK_RC(ver(mk(HDR, payload(NOW - 361, NOW - 61, ""), &key, SIG_RAW)), BW_E_EXPIRED);
    CHECK_RC(ver(mk(HDR, payload(NOW - 3600, NOW - 1000, ""), &key, SIG_RAW)), BW_E_EXPIRED);
    /* nbf in the future */
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 300, ",\"nbf\":1700000060"), &key, SIG_RAW)), BW_OK);
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 300, ",\"nbf\":1700000061"), &key, SIG_RAW)),
             BW_E_EXPIRED);
    /* iat in the future */
    CHECK_RC(ver(mk(HDR, payload(NOW + 60, NOW + 300, ""), &key, SIG_RAW)), BW_OK);
    CHECK_RC(ver(mk(HDR, payload(NOW + 61, NOW + 300, ""), &key, SIG_RAW)), BW_E_EXPIRED);
    /* lifetime */
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 3600, ""), &key, SIG_RAW)), BW_OK);
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 3601, ""), &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW - 1, ""), &key, SIG_RAW)), BW_E_CLAIM);
    /* a policy may be stricter, never looser */
    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, AUD, NOW);
    pol.max_lifetime = 600;
    n = mk(HDR, payload(NOW, NOW + 601, ""), &key, SIG_RAW);
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, &cache, NULL), BW_E_CLAIM);
    pol.max_lifetime = 3601;
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, &cache, NULL), BW_E_INVAL);
    pol.max_lifetime = 3600;
    pol.aud = NULL;
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, &cache, NULL), BW_E_INVAL);
    pol.aud = "";
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, &cache, NULL), BW_E_INVAL);
    memset(x, 'a', BW_TOKEN_STR_MAX + 1);
    x[BW_TOKEN_STR_MAX + 1] = 0;
    pol.aud = x;
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, &cache, NULL), BW_E_INVAL);
    pol.aud = AUD;
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, NULL, NULL), BW_E_INVAL);
    CHECK_RC(bw_token_verify(tok, n, NULL, &pol, &cache, NULL), BW_E_INVAL);
    CHECK_RC(bw_token_verify(NULL, n, &key, &pol, &cache, NULL), BW_E_INVAL);
    CHECK_RC(bw_token_verify(tok, n, &key, NULL, &cache, NULL), BW_E_INVAL);
    pol.leeway = 0;
    n = mk(HDR, payload(NOW - 300, NOW - 1, ""), &key, SIG_RAW);
    CHECK_RC(bw_token_verify(tok, n, &key, &pol, &cache, NULL), BW_E_EXPIRED);

    /* audience */
#define BASE "{\"sub\":\"d\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\""
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":\"https://other\"}", &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":\"https://GW.example\"}", &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":[\"x\",\"" AUD "\"]}", &key, SIG_RAW)), BW_OK);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":[\"x\",\"y\"]}", &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":[]}", &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":[\"" AUD "\",7]}", &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":7}", &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, BASE ",\"aud\":\"" AUD "\\u0000\"}", &key, SIG_RAW)), BW_E_FORMAT);
    CHECK_RC(ver(mk(HDR, BASE "}", &key, SIG_RAW)), BW_E_CLAIM); /* missing aud */
#undef BASE
    /* missing exp, iat, jti */
    CHECK_RC(ver(mk(HDR, "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"jti\":\"q\"}", &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, "{\"aud\":\"" AUD "\",\"exp\":1700000300,\"jti\":\"q\"}", &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300}", &key,
                    SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR,
                    "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"\"}",
                    &key, SIG_RAW)),
             BW_E_CLAIM);
    /* jti: 64 bytes fit, 65 do not */
    snprintf(x, sizeof(x),
             "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"%064d\"}", 7);
    CHECK_RC(ver(mk(HDR, x, &key, SIG_RAW)), BW_OK);
    snprintf(x, sizeof(x),
             "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"%065d\"}", 7);
    CHECK_RC(ver(mk(HDR, x, &key, SIG_RAW)), BW_E_CLAIM);
    /* claim types */
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 300, ",\"x\":1e5,\"y\":-0.5,\"z\":[null,true]"), &key,
                    SIG_RAW)),
             BW_OK);
    CHECK_RC(ver(mk(HDR,
                    "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":\"1700000300\",\"jti\":\"q\"}",
                    &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1.7000003e9,\"jti\":\"q\"}",
                    &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, "{\"aud\":\"" AUD "\",\"iat\":-1,\"exp\":1700000300,\"jti\":\"q\"}", &key,
                    SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR,
                    "{\"aud\":\"" AUD "\",\"iat\":1700000000.9,\"exp\":1700000300.5,\"jti\":\"q\"}",
                    &key, SIG_RAW)),
             BW_OK);
    CHECK_RC(ver(mk(HDR,
                    "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":17000003000000000,\"jti\":\"q\"}",
                    &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk(HDR, payload(NOW, NOW + 300, ",\"sub\":7"), &key, SIG_RAW)), BW_E_FORMAT);
    CHECK_RC(ver(mk(HDR, "{\"sub\":7,\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,"
                         "\"jti\":\"q\"}",
                    &key, SIG_RAW)),
             BW_E_CLAIM);
}

static void jws_refusals(void)
{
    char p[4096], big[5000];
    size_t n, i;
    int hit_max = 0, hit_over = 0;

    snprintf(p, sizeof(p), "%s", payload(NOW, NOW + 300, ""));
    /* algorithms */
    CHECK_RC(ver(mk("{\"alg\":\"none\"}", p, &key, SIG_NONE)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, &key, SIG_RAW)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p, &key, SIG_HMAC)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":\"RS256\"}", p, &key, SIG_RAW)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":\"ES384\"}", p, &key, SIG_RAW)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":\"es256\"}", p, &key, SIG_RAW)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":\"ES256 \"}", p, &key, SIG_RAW)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"alg\":[\"ES256\"]}", p, &key, SIG_RAW)), BW_E_ALG);
    CHECK_RC(ver(mk("{\"typ\":\"JWT\"}", p, &key, SIG_RAW)), BW_E_ALG);
    /* the explicit type (RFC 8725 3.11): required, compared as a media
     * type; a generic JWT, another type or a malformed one is refused */
    CHECK_RC(ver(mk("{\"alg\":\"ES256\"}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"jwt\"}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"JWS\"}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"bulwark-device+jw\"}", p, &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"bulwark-device+jwtx\"}", p, &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"\"}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":7}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"bulwark-device+jwt \"}", p, &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"Bulwark-Device+JWT\"}", p, &key, SIG_RAW)),
             BW_OK);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"application/bulwark-device+jwt\"}", p,
                    &key, SIG_RAW)),
             BW_OK);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"typ\":\"application/application/bulwark-device+jwt\"}",
                    p, &key, SIG_RAW)),
             BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", p, &key, SIG_RAW)),
             BW_E_CRITICAL);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\"," TYP ",\"kid\":\"" KID64 "\"}", p, &key, SIG_RAW)), BW_OK);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"kid\":\"" KID64 "x\"}", p, &key, SIG_RAW)), BW_E_CLAIM);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"kid\":7}", p, &key, SIG_RAW)), BW_E_CLAIM);
    /* unknown header parameters are ignored, never followed */
    CHECK_RC(ver(mk("{\"alg\":\"ES256\"," TYP ",\"jku\":\"https://evil\",\"x5u\":\"https://evil\"}", p,
                    &key, SIG_RAW)),
             BW_OK);

    /* signatures */
    CHECK_RC(ver(mk(HDR, p, &key, SIG_DER)), BW_E_BADSIG);
    CHECK_RC(ver(mk(HDR, p, &key, SIG_FLIP)), BW_E_BADSIG);
    CHECK_RC(ver(mk(HDR, p, &other, SIG_RAW)), BW_E_BADSIG);
    CHECK_RC(ver(mk(HDR, p, &key, SIG_NONE)), BW_E_BADSIG);
    {
        /* header or payload changed under a kept signature */
        char sig[100], b[8192];
        const char *d;

        n = mk("{\"alg\":\"ES256\"," TYP ",\"kid\":\"a\"}", p, &key, SIG_RAW);
        d = strrchr(tok, '.');
        snprintf(sig, sizeof(sig), "%s", d);
        n = mk("{\"alg\":\"ES256\"," TYP ",\"kid\":\"b\"}", p, &key, SIG_NONE);
        snprintf(b, sizeof(b), "%.*s%s", (int)n - 1, tok, sig);
        memcpy(tok, b, strlen(b) + 1);
        CHECK_RC(ver(strlen(tok)), BW_E_BADSIG);
        n = mk(HDR, p, &key, SIG_RAW);
        d = strrchr(tok, '.');
        snprintf(sig, sizeof(sig), "%s", d);
        n = mk(HDR, payload(NOW, NOW + 301, ""), &key, SIG_NONE);
        snprintf(b, sizeof(b), "%.*s%s", (int)n - 1, tok, sig);
        memcpy(tok, b, strlen(b) + 1);
        CHECK_RC(ver(strlen(tok)), BW_E_BADSIG);
    }

    /* size cap: the first token over BW_TOKEN_MAX bytes is refused */
    for (i = 2800; i < 3000; i++) {
        char extra[3100];

        snprintf(extra, sizeof(extra), ",\"pad\":\"%0*d\"", (int)i + 1, 0);
        n = mk(HDR, payload(NOW, NOW + 300, extra), &key, SIG_RAW);
        if (n > BW_TOKEN_MAX + 2)
            break;
        if (n == BW_TOKEN_MAX) {
            hit_max = 1;
            CHECK_RC(ver(n), BW_OK);
        } else if (n > BW_TOKEN_MAX) {
            hit_over = 1;
            CHECK_RC(ver(n), BW_E_TOOBIG);
        }
    }
    CHECK(hit_over && hit_max);
    memset(big, 'A', sizeof(big));
    CHECK_RC(ver(0), BW_E_FORMAT);
    memcpy(tok, big, sizeof(big));
    CHECK_RC(ver(sizeof(big)), BW_E_TOOBIG);

    /* base64url strictness */
    n = mk(HDR, p, &key, SIG_RAW);
    strcpy(tok + n, "==");
    CHECK_RC(ver(n + 2), BW_E_FORMAT);
    {
        char *dot = strchr(tok, '.'), save;

        save = dot[1];
        dot[1] = '+';
        CHECK_RC(ver(n), BW_E_FORMAT);
        dot[1] = '/';
        CHECK_RC(ver(n), BW_E_FORMAT);
        dot[1] = ' ';
        CHECK_RC(ver(n), BW_E_FORMAT);
        dot[1] = save;
        CHECK_RC(ver(n), BW_OK);
        /* the 86th character of a 64-byte signature has 4 unused bits */
        save = tok[n - 1];
        tok[n - 1] = enc_tab[(strchr(enc_tab, save) - enc_tab) | 1];
        CHECK_RC(ver(n), BW_E_FORMAT);
        tok[n - 1] = save;
        tok[n] = '\n';
        CHECK_RC(ver(n + 1), BW_E_FORMAT);
        tok[n] = '.';
        CHECK_RC(ver(n + 1), BW_E_FORMAT); /* four parts */
    }
    {
        /* header with "=" padding: {"alg":"ES256"} is 15 bytes, 20 chars */
        char b[8192];
        size_t hn = b64u(b, "{\"alg\":\"ES256\"}", 15);

        CHECK(hn == 20);
        n = mk("{\"alg\":\"ES256\", }", p, &key, SIG_RAW); /* 16 bytes: 22 chars */
        memcpy(b, tok, n + 1);
        memmove(b + 24, b + 22, n - 22 + 1);
        b[22] = b[23] = '=';
        memcpy(tok, b, n + 3);
        CHECK_RC(ver(n + 2), BW_E_FORMAT);
    }
    n = mk(HDR, p, &key, SIG_RAW);
    *strrchr(tok, '.') = 0;
    CHECK_RC(ver(strlen(tok)), BW_E_FORMAT); /* two parts */
    strcpy(tok, "..");
    CHECK_RC(ver(2), BW_E_FORMAT);
}

/* Strict JSON, in the payload and the header. */
static void json_refusals(void)
{
    static const struct {
        const char *pay;
        bw_err want;
    } cases[] = {
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}", BW_OK},
        {" \r\n\t{ \"aud\" : [ \"" AUD "\" ] , \"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\" }"
         " \n",
         BW_OK},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"\\ud83d\\ude00"
         "\\u00e9\\n\\/\"}",
         BW_OK},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"\xf0\x9f\x98\x80\"}",
         BW_OK},
        /* duplicates, also when spelled differently */
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\",\"jti\":\"r\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\",\"j\\u0074i\":1}",
         BW_E_FORMAT},
        {"{\"aud\":\"x\",\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"} x",
         BW_E_TRAILING},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}{}",
         BW_E_TRAILING},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\",\"o\":{}}",
         BW_E_DEPTH},
        {"{\"aud\":[[\"" AUD "\"]],\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}",
         BW_E_DEPTH},
        {"{\"aud\":[{}],\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}", BW_E_DEPTH},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\",}", BW_E_FORMAT},
        {"{\"aud\":[\"" AUD "\",],\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":01700000000,\"exp\":1700000300,\"jti\":\"q\"}", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000.,\"exp\":1700000300,\"jti\":\"q\"}", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":+1700000000,\"exp\":1700000300,\"jti\":\"q\"}", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\\x\"}", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\\ud800\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\\udc00\\ud800\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\\u12\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\xc0\x80\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\xed\xa0\x80\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\xf5\x80\x80\x80\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\xe2\x82\"}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\tq\"}", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"", BW_E_FORMAT},
        {"{'aud':'" AUD "'}", BW_E_FORMAT},
        {"\xef\xbb\xbf{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}",
         BW_E_FORMAT},
        {"[\"aud\"]", BW_E_FORMAT},
        {"", BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\",\"t\":tru}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\",\"t\":NaN}",
         BW_E_FORMAT},
        {"{\"aud\":\"" AUD "\" \"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}", BW_E_FORMAT},
        {"{\"aud\"=\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,\"jti\":\"q\"}", BW_E_FORMAT},
    };
    char many[2048];
    size_t i, n;
    int k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bw_err rc = ver(mk(HDR, cases[i].pay, &key, SIG_RAW));

        if (rc != cases[i].want)
            fprintf(stderr, "json case %zu: %s, want %s\n", i, bw_errname(rc),
                    bw_errname(cases[i].want));
        CHECK(rc == cases[i].want);
    }
    /* 32 members fit, 33 do not */
    for (k = 28; k <= 29; k++) {
        int m;

        n = (size_t)snprintf(many, sizeof(many),
                             "{\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,"
                             "\"jti\":\"q\"");
        for (m = 0; m < k; m++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, ",\"m%d\":%d", m, m);
        snprintf(many + n, sizeof(many) - n, "}");
        CHECK_RC(ver(mk(HDR, many, &key, SIG_RAW)), k == 28 ? BW_OK : BW_E_TOOBIG);
    }
    /* the header gets the same reader */
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"alg\":\"none\"}", payload(NOW, NOW + 300, ""), &key,
                    SIG_RAW)),
             BW_E_FORMAT);
    CHECK_RC(ver(mk("{\"alg\":\"none\",\"alg\":\"ES256\"}", payload(NOW, NOW + 300, ""), &key,
                    SIG_RAW)),
             BW_E_FORMAT);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\"}x", payload(NOW, NOW + 300, ""), &key, SIG_RAW)),
             BW_E_TRAILING);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}", payload(NOW, NOW + 300, ""),
                    &key, SIG_RAW)),
             BW_E_DEPTH);
    CHECK_RC(ver(mk("{\"alg\":\"ES256\"", payload(NOW, NOW + 300, ""), &key, SIG_RAW)),
             BW_E_FORMAT);
}

static void replay(void)
{
    char a[1024], b[1024], c[1024], d[1024], e[1024];
    struct bw_token_seen two[2], big[8];
    struct bw_token_replay r;
    struct bw_token_policy p;

    mk(HDR, payload(NOW, NOW + 100, ""), &key, SIG_RAW);
    strcpy(a, tok);
    mk(HDR, payload(NOW - 1, NOW + 3000, ""), &key, SIG_RAW);
    strcpy(b, tok);
    mk(HDR, payload(NOW - 2, NOW + 3000, ""), &key, SIG_RAW);
    strcpy(c, tok);
    mk(HDR, payload(NOW - 3, NOW + 3000, ""), &key, SIG_RAW);
    strcpy(d, tok);

    bw_token_replay_init(&r, two, 2);
    bw_token_policy_init(&p, AUD, NOW);
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_OK);
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_E_REPLAY);
    CHECK_RC(bw_token_verify(b, strlen(b), &key, &p, &r, NULL), BW_OK);
    /* full of live entries: refuse rather than forget one */
    CHECK_RC(bw_token_verify(c, strlen(c), &key, &p, &r, NULL), BW_E_NOMEM);
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_E_REPLAY);
    CHECK_RC(bw_token_verify(b, strlen(b), &key, &p, &r, NULL), BW_E_REPLAY);
    /* once a's time (exp + leeway) is over, its slot is free */
    p.now = NOW + 100 + 60;
    CHECK_RC(bw_token_verify(c, strlen(c), &key, &p, &r, NULL), BW_E_NOMEM);
    p.now = NOW + 100 + 61;
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_E_EXPIRED);
    CHECK_RC(bw_token_verify(c, strlen(c), &key, &p, &r, NULL), BW_OK);
    CHECK_RC(bw_token_verify(b, strlen(b), &key, &p, &r, NULL), BW_E_REPLAY);
    CHECK_RC(bw_token_verify(c, strlen(c), &key, &p, &r, NULL), BW_E_REPLAY);
    CHECK_RC(bw_token_verify(d, strlen(d), &key, &p, &r, NULL), BW_E_NOMEM);
    CHECK(r.n == 2);
    /* no cache room at all */
    bw_token_replay_init(&r, two, 0);
    p.now = NOW;
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_E_NOMEM);

    /* a refused token is not remembered; the same jti from another sub is
     * another token */
    bw_token_replay_init(&r, big, 8);
    p.aud = "https://other";
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_E_CLAIM);
    CHECK(r.n == 0);
    p.aud = AUD;
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_OK);
    mk(HDR,
       "{\"iss\":\"dev-2\",\"sub\":\"dev-2\",\"aud\":\"" AUD "\",\"iat\":1700000000,"
       "\"exp\":1700000100,\"jti\":\"j-1700000000\"}",
       &key, SIG_RAW);
    strcpy(e, tok);
    CHECK_RC(bw_token_verify(e, strlen(e), &key, &p, &r, NULL), BW_OK);
    CHECK_RC(bw_token_verify(e, strlen(e), &key, &p, &r, NULL), BW_E_REPLAY);
    /* re-signing (a new ECDSA signature) does not make a new token */
    mk(HDR, payload(NOW, NOW + 100, ""), &key, SIG_RAW);
    CHECK(strcmp(tok, a) != 0);
    CHECK_RC(bw_token_verify(tok, strlen(tok), &key, &p, &r, NULL), BW_E_REPLAY);
}

/* A subject at its quota: its next new token is refused, others still
 * get in, and a policy sub keeps a key holder from spending room on
 * other subjects; once the subject's tokens expire it gets in again. */
static void replay_quota(void)
{
    struct bw_token_seen seen[16];
    struct bw_token_owner owners[16];
    struct bw_token_replay r;
    struct bw_token_policy p;
    char pay[256];
    int i;

    bw_token_replay_init(&r, seen, 16);
    CHECK_RC(bw_token_replay_set_quota(&r, NULL, 3), BW_E_INVAL);
    CHECK_RC(bw_token_replay_set_quota(&r, owners, 3), BW_OK);
    bw_token_policy_init(&p, AUD, NOW);
    for (i = 0; i < 5; i++) {
        snprintf(pay, sizeof(pay),
                 "{\"sub\":\"dev-1\",\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld,"
                 "\"jti\":\"q-%d\"}",
                 NOW, NOW + 100, i);
        mk(HDR, pay, &key, SIG_RAW);
        CHECK_RC(bw_token_verify(tok, strlen(tok), &key, &p, &r, NULL),
                 i < 3 ? BW_OK : BW_E_QUOTA);
    }
    CHECK(r.n == 3);
    /* another subject is not affected */
    mk(HDR,
       "{\"sub\":\"dev-2\",\"aud\":\"" AUD "\",\"iat\":1700000000,"
       "\"exp\":1700000100,\"jti\":\"q-0\"}",
       &key, SIG_RAW);
    CHECK_RC(bw_token_verify(tok, strlen(tok), &key, &p, &r, NULL), BW_OK);
    /* a policy sub: a token for another subject is refused unrecorded */
    p.sub = "dev-1";
    mk(HDR,
       "{\"sub\":\"dev-3\",\"aud\":\"" AUD "\",\"iat\":1700000000,"
       "\"exp\":1700000100,\"jti\":\"q-0\"}",
       &key, SIG_RAW);
    CHECK_RC(bw_token_verify(tok, strlen(tok), &key, &p, &r, NULL), BW_E_CLAIM);
    CHECK(r.n == 4);
    /* dev-1's tokens expired (exp + leeway): room again, without a 3/4 sweep */
    p.now = NOW + 161;
    snprintf(pay, sizeof(pay),
             "{\"sub\":\"dev-1\",\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld,"
             "\"jti\":\"q-9\"}",
             NOW + 161, NOW + 300);
    mk(HDR, pay, &key, SIG_RAW);
    CHECK_RC(bw_token_verify(tok, strlen(tok), &key, &p, &r, NULL), BW_OK);
    CHECK(r.n == 1);
    CHECK_RC(bw_token_replay_set_quota(&r, owners, 3), BW_E_INVAL); /* not empty */
}

/* The hash table against a model: 24 tokens with different lifetimes
 * issued across an hour, presented in a pseudo-random order to a 3-slot
 * table (collisions, wrap-around, sweeps and backward shifts all
 * happen). Every answer must be the model's: replay while remembered and
 * unexpired, refusal when the table is full of live entries, else OK. */
static void replay_table(void)
{
    enum { NT = 64, CAP = 3 };
    static char toks[NT][1024];
    int64_t iat[NT], exp[NT], until[NT];
    struct bw_token_seen tab[CAP];
    struct bw_token_replay r;
    struct bw_token_policy p;
    uint32_t x = 12345;
    int i, step, errors = 0, seen_replay = 0, seen_full = 0, seen_ok = 0;

    for (i = 0; i < NT; i++) {
        char pay[256];

        iat[i] = NOW + 55 * i;
        exp[i] = iat[i] + 60 + (i % 4) * 60;
        until[i] = 0;
        snprintf(pay, sizeof(pay),
                 "{\"sub\":\"dev-1\",\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld,"
                 "\"jti\":\"t-%d\"}",
                 (long long)iat[i], (long long)exp[i], i);
        mk(HDR, pay, &key, SIG_RAW);
        strcpy(toks[i], tok);
    }
    bw_token_replay_init(&r, tab, CAP);
    bw_token_policy_init(&p, AUD, NOW);
    for (step = 0; step < 20000; step++) {
        int live = 0, want;
        bw_err got;

        x = x * 1103515245u + 12345u;
        i = (int)((x >> 16) % NT);
        p.now = NOW + step * 3600 / 20000;
        for (int k = 0; k < NT; k++)
            live += until[k] && until[k] >= p.now;
        if (p.now > exp[i] + 60 || iat[i] > p.now + 60)
            want = BW_E_EXPIRED;
        else if (until[i] && until[i] >= p.now)
            want = BW_E_REPLAY;
        else if (live == CAP)
            want = BW_E_NOMEM;
        else
            want = BW_OK;
        got = bw_token_verify(toks[i], strlen(toks[i]), &key, &p, &r, NULL);
        if ((int)got != want && errors++ < 5)
            fprintf(stderr, "step %d token %d: got %s want %s\n", step, i, bw_errname(got),
                    bw_errname((bw_err)want));
        if (got == BW_OK)
            until[i] = exp[i] + 60;
        seen_replay += want == BW_E_REPLAY;
        seen_full += want == BW_E_NOMEM;
        seen_ok += want == BW_OK;
    }
    CHECK(errors == 0);
    fprintf(stderr, "replay walk: %d replays, %d full, %d accepted\n", seen_replay, seen_full, seen_ok);
    /* the walk reached every branch */
    CHECK(seen_replay > 100 && seen_full > 10 && seen_ok > 40);
    CHECK(r.n <= CAP);
}

static int lock_depth, lock_calls;

static void count_lock(void *ctx, int acquire)
{
    CHECK(ctx == &lock_depth);
    lock_depth += acquire ? 1 : -1;
    lock_calls++;
    CHECK(lock_depth == 0 || lock_depth == 1);
}

/* The lock is taken around the table work and released on every path. */
static void replay_lock(void)
{
    struct bw_token_seen s4[4];
    struct bw_token_replay r;
    struct bw_token_policy p;
    char a[1024];

    mk(HDR, payload(NOW, NOW + 100, ""), &key, SIG_RAW);
    strcpy(a, tok);
    bw_token_replay_init(&r, s4, 4);
    bw_token_replay_set_lock(&r, count_lock, &lock_depth);
    bw_token_policy_init(&p, AUD, NOW);
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_OK);
    CHECK_RC(bw_token_verify(a, strlen(a), &key, &p, &r, NULL), BW_E_REPLAY);
    CHECK(lock_calls == 4 && lock_depth == 0);
    /* a bad signature never reaches the table */
    mk(HDR, payload(NOW, NOW + 100, ""), &key, SIG_FLIP);
    CHECK_RC(bw_token_verify(tok, strlen(tok), &key, &p, &r, NULL), BW_E_BADSIG);
    CHECK(lock_calls == 4);
}

struct bwh_device {
    const char *sub;
    const struct bw_ec_key *k;
};

static bw_err lookup(void *ctx, const char *kid, const char *iss, const char *sub,
                     struct bw_ec_key *out)
{
    const struct bwh_device *d = ctx;

    (void)kid;
    (void)iss;
    for (; d->sub; d++)
        if (!strcmp(d->sub, sub))
            return bw_ec_set_pub(out, d->k->pub, BW_P256_PUB_LEN);
    return BW_E_NOTFOUND;
}

static void key_lookup(void)
{
    const struct bwh_device fleet[] = {{"dev-1", &key}, {"dev-2", &other}, {NULL, NULL}};
    struct bw_token_claims c;
    size_t n;

    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, AUD, NOW);
    n = mk(HDR, payload(NOW, NOW + 300, ""), &key, SIG_RAW); /* sub dev-1 */
    CHECK_RC(bw_token_verify_lookup(tok, n, lookup, (void *)fleet, &pol, &cache, &c), BW_OK);
    CHECK(!strcmp(c.sub, "dev-1"));
    CHECK_RC(bw_token_verify_lookup(tok, n, lookup, (void *)fleet, &pol, &cache, &c),
             BW_E_REPLAY);
    /* dev-1's key, claiming to be dev-2 */
    n = mk(HDR, "{\"sub\":\"dev-2\",\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,"
                "\"jti\":\"x\"}",
           &key, SIG_RAW);
    CHECK_RC(bw_token_verify_lookup(tok, n, lookup, (void *)fleet, &pol, &cache, &c),
             BW_E_BADSIG);
    n = mk(HDR, "{\"sub\":\"dev-3\",\"aud\":\"" AUD "\",\"iat\":1700000000,\"exp\":1700000300,"
                "\"jti\":\"x\"}",
           &key, SIG_RAW);
    CHECK_RC(bw_token_verify_lookup(tok, n, lookup, (void *)fleet, &pol, &cache, &c),
             BW_E_NOTFOUND);
    n = mk("{\"alg\":\"none\"}", payload(NOW, NOW + 300, ""), &key, SIG_NONE);
    CHECK_RC(bw_token_verify_lookup(tok, n, lookup, (void *)fleet, &pol, &cache, &c), BW_E_ALG);
    CHECK_RC(bw_token_verify_lookup(tok, n, NULL, NULL, &pol, &cache, &c), BW_E_INVAL);
}

/* The device key in the file backend, as 'bulwark token' uses it. */
static void file_backend(void)
{
    char dir[] = "/tmp/bw-token-XXXXXX", uri[256], path[256], out[BW_TOKEN_MAX + 1];
    struct bwh_devkey *dk = NULL;
    struct bw_token_claims c, v;
    struct bw_signer s;
    struct bw_ec_key pub;
    size_t len;

    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    snprintf(uri, sizeof(uri), "file:%s/device.key", dir);
    CHECK_RC(bwh_devkey_open(uri, &dk), BW_OK);
    CHECK_RC(bwh_devkey_signer(dk, &s), BW_E_NOTFOUND); /* no key yet */
    CHECK_RC(bwh_devkey_generate(dk, 0), BW_OK);
    CHECK_RC(bwh_devkey_signer(dk, &s), BW_OK);
    memset(&c, 0, sizeof(c));
    strcpy(c.sub, "dev-file");
    strcpy(c.aud, AUD);
    c.iat = NOW;
    c.exp = NOW + 300;
    CHECK_RC(bw_token_issue(&s, &c, out, sizeof(out), &len), BW_OK);
    bw_ec_key_init(&pub);
    CHECK_RC(bw_ec_set_pub(&pub, s.pub, sizeof(s.pub)), BW_OK);
    bw_token_replay_init(&cache, slots, 64);
    bw_token_policy_init(&pol, AUD, NOW + 299);
    CHECK_RC(bw_token_verify(out, len, &pub, &pol, &cache, &v), BW_OK);
    CHECK(!strcmp(v.sub, "dev-file") && !strcmp(v.jti, c.jti));
    bw_token_replay_init(&cache, slots, 64);
    CHECK_RC(bw_token_verify(out, len, &key, &pol, &cache, &v), BW_E_BADSIG);
    bw_ec_key_clear(&pub);
    CHECK_RC(bwh_devkey_destroy(dk), BW_OK);
    bwh_devkey_close(dk);
    snprintf(path, sizeof(path), "%s/device.key", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/storage.key", dir);
    unlink(path);
    CHECK(rmdir(dir) == 0);
}

/* Seeds for fuzz/corpus/token, signed with the RFC 7515 A.3 key, which is
 * also the key fuzz_token.c verifies with (aud "fuzz", now NOW). */
static int write_corpus(const char *dir)
{
    static const char *const hdrs[] = {HDR, "{\"alg\":\"ES256\",\"kid\":\"d1\"}",
                                       "{\"alg\":\"none\"}", "{\"alg\":\"HS256\"}",
                                       "{\"alg\":\"ES256\",\"crit\":[\"x\"]}"};
    static const char *const pays[] = {
        "{\"iss\":\"d\",\"sub\":\"d\",\"aud\":\"fuzz\",\"iat\":1700000000,\"exp\":1700000300,"
        "\"jti\":\"a\"}",
        "{\"sub\":\"d\",\"aud\":[\"x\",\"fuzz\"],\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000300.5,\"jti\":\"\\u00e9\\ud83d\\ude00\",\"n\":null,\"t\":true}",
        "{\"sub\":\"d\",\"sub\":\"e\",\"aud\":\"fuzz\",\"iat\":1700000000,\"exp\":1700000300,"
        "\"jti\":\"a\"}",
        "{\"aud\":\"fuzz\",\"o\":{\"x\":[1]},\"iat\":1700000000}",
        "{\"aud\":\"fuzz\",\"iat\":1700000000,\"exp\":1700009999,\"jti\":\"a\"} ",
    };
    unsigned char d[32];
    struct bw_ec_key k;
    size_t hi, pi, n;
    int files = 0;

    bw_ec_key_init(&k);
    if (unb64u(d, a3_d, strlen(a3_d)) != 32 || bw_ec_set_priv(&k, d, 32) != BW_OK)
        return 2;
    for (hi = 0; hi < sizeof(hdrs) / sizeof(hdrs[0]); hi++)
        for (pi = 0; pi < sizeof(pays) / sizeof(pays[0]); pi++) {
            enum sigmode m = hi == 2 ? SIG_NONE : hi == 3 ? SIG_HMAC : SIG_RAW;
            char path[4096];
            FILE *f;

            if (hi >= 2 && pi > 0)
                continue;
            n = mk(hdrs[hi], pays[pi], &k, m);
            snprintf(path, sizeof(path), "%s/seed-%zu-%zu", dir, hi, pi);
            f = fopen(path, "wb");
            if (!f || fwrite(tok, 1, n, f) != n || fclose(f))
                return 2;
            files++;
        }
    {
        char path[4096];
        FILE *f;

        n = mk(HDR, pays[0], &k, SIG_DER);
        snprintf(path, sizeof(path), "%s/seed-der", dir);
        f = fopen(path, "wb");
        if (!f || fwrite(tok, 1, n, f) != n || fclose(f))
            return 2;
        snprintf(path, sizeof(path), "%s/seed-rfc7515-a3", dir);
        f = fopen(path, "wb");
        if (!f || fwrite(a3_jws, 1, strlen(a3_jws), f) != strlen(a3_jws) || fclose(f))
            return 2;
        files += 2;
    }
    bw_ec_key_clear(&k);
    printf("wrote %d seeds\n", files);
    return 0;
}

/* A device key in URI's backend, its public and (file backend) private PEM. */
static int mkkey(const char *uri, const char *pubf, const char *privf)
{
    uint8_t pem[1024];
    struct bwh_devkey *dk = NULL;
    struct bw_ec_key k;
    size_t n;
    FILE *f;
    int i;

    bw_ec_key_init(&k);
    if (bwh_devkey_open(uri, &dk) || bwh_devkey_generate(dk, 0) ||
        bwh_devkey_export_private(dk, &k))
        return 2;
    bwh_devkey_close(dk);
    for (i = 0; i < 2; i++) {
        if (bw_ec_export(&k, i, 1, pem, sizeof(pem), &n))
            return 2;
        f = fopen(i ? privf : pubf, "wb");
        if (!f || fwrite(pem, 1, n, f) != n || fclose(f))
            return 2;
    }
    bw_ec_key_clear(&k);
    return 0;
}

int main(int argc, char **argv)
{
    bw_ec_key_init(&key);
    bw_ec_key_init(&other);
    if (bw_ec_generate(&key) != BW_OK || bw_ec_generate(&other) != BW_OK)
        return 2;
    if (argc == 3 && !strcmp(argv[1], "--corpus"))
        return write_corpus(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "--mkkey"))
        return mkkey(argv[2], argv[3], argv[4]);

    rfc7515_a3();
    roundtrip();
    issue_refusals();
    claim_refusals();
    jws_refusals();
    json_refusals();
    replay();
    replay_table();
    replay_quota();
    replay_lock();
    key_lookup();
    file_backend();
    bw_ec_key_clear(&key);
    bw_ec_key_clear(&other);
    T_DONE();
}
