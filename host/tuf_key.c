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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

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
};

static const struct scheme schemes[] = {
    {"ecdsa", "ecdsa-sha2-nistp256", 1, EVP_PKEY_EC, 1, PAD_NONE},
    {"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", 1, EVP_PKEY_EC, 1, PAD_NONE},
    {"ed25519", "ed25519", 0, EVP_PKEY_ED25519, 0, PAD_NONE},
    {"rsa", "rsassa-pss-sha256", 1, EVP_PKEY_RSA, 1, PAD_PSS},
    {"rsa", "rsa-pkcs1v15-sha256", 1, EVP_PKEY_RSA, 1, PAD_PKCS1},
};

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t i, len = strlen(s);

    if (len % 2 || len / 2 > cap)
        return 0;
    for (i = 0; i < len; i++) {
        int c = (unsigned char)s[i], v;

        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            return 0;
        if (i % 2)
            out[i / 2] = (uint8_t)(out[i / 2] | v);
        else
            out[i / 2] = (uint8_t)(v << 4);
    }
    *n = len / 2;
    return 1;
}

static EVP_PKEY *load_key(const struct scheme *s, const char *pub)
{
    EVP_PKEY *k = NULL;

    if (s->pem) {
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

bw_err bw__tuf_sig_verify(const json_t *key, const char *sig_hex, const uint8_t *msg,
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
