// SPDX-License-Identifier: Apache-2.0
/*
 * Signature checks of the TUF client, one scheme per row: the key object
 * of the metadata (keytype, scheme, keyval.public) becomes an OpenSSL key
 * and the hex signature is checked over the canonical bytes. Verification
 * only; no key is ever generated or held here.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bulwark/core.h"
#include "bwh/cryptomode.h"
#include "bwh/host.h"
#include "tuf_priv.h"

#define SIG_MAX 1024 /* bytes: RSA 8192 */

enum pad { PAD_NONE, PAD_PSS, PAD_PKCS1 };

struct scheme {
    const char *keytype; /* one of the spellings in use */
    const char *scheme;
    int pem;             /* public key: PEM SubjectPublicKeyInfo, else raw hex */
    int base_id;         /* EVP_PKEY_EC, EVP_PKEY_RSA, EVP_PKEY_ED25519 */
    int sha256;          /* digest SHA-256 (else the message itself, Ed25519) */
    enum pad pad;
    const char *alg;     /* its name for crypto_mode (bwh_crypto_allow) */
};

static const struct scheme schemes[] = {
    {"ecdsa", "ecdsa-sha2-nistp256", 1, EVP_PKEY_EC, 1, PAD_NONE, "ECDSA-P256-SHA256"},
    {"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", 1, EVP_PKEY_EC, 1, PAD_NONE,
     "ECDSA-P256-SHA256"},
    {"ed25519", "ed25519", 0, EVP_PKEY_ED25519, 0, PAD_NONE, "Ed25519"},
    {"rsa", "rsassa-pss-sha256", 1, EVP_PKEY_RSA, 1, PAD_PSS, "RSASSA-PSS-SHA256"},
    {"rsa", "rsa-pkcs1v15-sha256", 1, EVP_PKEY_RSA, 1, PAD_PKCS1, "RSA-PKCS1v15-SHA256"},
};

/* Hex of any even length up to cap bytes: 1 with *n, or 0. */
static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t len = strlen(s);

    if (len % 2 || len / 2 > cap || bw_unhex(out, len / 2, s) != BW_OK)
        return 0;
    *n = len / 2;
    return 1;
}

/* SubjectPublicKeyInfo of a P-256 key with an uncompressed point: this
 * prefix, then the 65-byte point (RFC 5480). */
static const uint8_t p256_spki[26] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

/* The DER inside a "-----BEGIN PUBLIC KEY-----" PEM block: 1, or 0. */
static int pem_der(const char *pem, uint8_t *der, size_t cap, size_t *len)
{
    static const char begin[] = "-----BEGIN PUBLIC KEY-----", end[] = "-----END PUBLIC KEY-----";
    const char *p = strstr(pem, begin), *e;
    char b64[1024];
    size_t n = 0, pad = 0;
    int got;

    if (!p)
        return 0;
    p += sizeof(begin) - 1;
    e = strstr(p, end);
    if (!e)
        return 0;
    for (; p < e; p++) {
        if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
            continue;
        if (n == sizeof(b64) - 1)
            return 0;
        b64[n++] = *p;
    }
    if (n % 4 || (n / 4) * 3 > cap)
        return 0;
    pad = n && b64[n - 1] == '=' ? (n > 1 && b64[n - 2] == '=' ? 2 : 1) : 0;
    got = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
    if (got < 0 || (size_t)got < pad)
        return 0;
    *len = (size_t)got - pad;
    return 1;
}

/* A P-256 key straight from its SubjectPublicKeyInfo point, built from
 * parameters: OpenSSL's generic key decoder (PEM_read_bio_PUBKEY,
 * d2i_PUBKEY) costs more than everything else in a refresh. The point is
 * checked to lie on the curve while the key is made. NULL when the PEM is
 * not the plain P-256 form: the caller takes the generic path. */
static EVP_PKEY *p256_key(const char *pub)
{
    uint8_t der[128];
    size_t dl = 0;
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *k = NULL;

    if (!pem_der(pub, der, sizeof(der), &dl) || dl != sizeof(p256_spki) + 65 ||
        memcmp(der, p256_spki, sizeof(p256_spki)) != 0)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, der + sizeof(p256_spki), 65);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static EVP_PKEY *load_key(const struct scheme *s, const char *pub)
{
    EVP_PKEY *k = NULL;

    if (s->base_id == EVP_PKEY_EC)
        k = p256_key(pub);
    if (!k && s->pem) {
        BIO *bio = BIO_new_mem_buf(pub, (int)strlen(pub));

        if (!bio)
            return NULL;
        k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        uint8_t raw[32];
        size_t n = 0;

        if (unhex(pub, raw, sizeof(raw), &n) && n == sizeof(raw))
            k = EVP_PKEY_new_raw_public_key(s->base_id, NULL, raw, n);
    }
    if (k && EVP_PKEY_get_base_id(k) != s->base_id) {
        EVP_PKEY_free(k);
        return NULL;
    }
    if (k && s->base_id == EVP_PKEY_EC) {
        char group[32];
        size_t gl = 0;

        if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            &gl) ||
            strcmp(group, "prime256v1") != 0) {
            EVP_PKEY_free(k);
            return NULL;
        }
    }
    if (k && s->base_id == EVP_PKEY_RSA && EVP_PKEY_get_bits(k) < 2048) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

bw_err bwh__tuf_sig_verify(const json_t *key, const char *sig_hex, const uint8_t *msg,
                          size_t msg_len)
{
    const char *kt = json_string_value(json_object_get(key, "keytype"));
    const char *sc = json_string_value(json_object_get(key, "scheme"));
    const char *pub = json_string_value(json_object_get(json_object_get(key, "keyval"), "public"));
    const struct scheme *s = NULL;
    uint8_t sig[SIG_MAX];
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *k = NULL;
    size_t i, sig_len = 0;
    bw_err rc;

    rc = BW_E_UNSUPPORTED;
    if (!kt || !sc || !pub)
        goto out;
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (!strcmp(schemes[i].keytype, kt) && !strcmp(schemes[i].scheme, sc))
            s = &schemes[i];
    if (!s)
        goto out;
    rc = bwh_crypto_allow(s->alg); /* BW_E_ALG in approved mode but for ECDSA P-256 */
    if (rc)
        goto out;
    rc = BW_E_KEY;
    k = load_key(s, pub);
    if (!k)
        goto out;
    rc = BW_E_BADSIG;
    if (!unhex(sig_hex, sig, sizeof(sig), &sig_len) || !sig_len)
        goto out;
    rc = BW_E_CRYPTO;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        goto out;
    if (EVP_DigestVerifyInit(ctx, &pctx, s->sha256 ? EVP_sha256() : NULL, NULL, k) != 1)
        goto out;
    if (s->pad == PAD_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
        goto out;
    if (s->pad == PAD_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
        goto out;
    rc = BW_E_BADSIG;
    if (EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) != 1)
        goto out;
    rc = BW_OK;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return rc;
}
