/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL 3 backend of include/bulwark/crypto.h. Uses only non-deprecated
 * EVP, ECDSA_SIG and OSSL_PARAM APIs. Keys keep their parsed EVP_PKEY in
 * bw_ec_key.impl, so repeated verification with one key does not re-parse
 * it. Not for microcontrollers: that is mbedTLS's file.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bulwark/core.h"
#include "bulwark/crypto.h"

/* ---- SHA-256 ---------------------------------------------------------- */

/* The SHA-256 implementation, fetched from the default provider once: an
 * implicit fetch on every EVP_DigestInit costs as much as hashing a
 * manifest. Falls back to the implicit fetch if the explicit one fails. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? sha256_md : EVP_sha256();
}

bw_err bw_sha256_init(struct bw_sha256 *h)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    h->u.impl = NULL;
    if (!c)
        return BW_E_NOMEM;
    if (EVP_DigestInit_ex(c, md_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return BW_E_CRYPTO;
    }
    h->u.impl = c;
    return BW_OK;
}

bw_err bw_sha256_update(struct bw_sha256 *h, const void *b, size_t n)
{
    if (!h->u.impl)
        return BW_E_STATE;
    if (n && EVP_DigestUpdate(h->u.impl, b, n) != 1)
        return BW_E_CRYPTO;
    return BW_OK;
}

bw_err bw_sha256_final(struct bw_sha256 *h, uint8_t out[BW_SHA256_LEN])
{
    unsigned int n = 0;
    bw_err rc = BW_E_STATE;

    if (!h->u.impl)
        return rc;
    rc = BW_E_CRYPTO;
    if (EVP_DigestFinal_ex(h->u.impl, out, &n) == 1 && n == BW_SHA256_LEN)
        rc = BW_OK;
    bw_sha256_abort(h);
    return rc;
}

void bw_sha256_abort(struct bw_sha256 *h)
{
    if (h && h->u.impl) {
        EVP_MD_CTX_free(h->u.impl);
        h->u.impl = NULL;
    }
}

bw_err bw_sha256(const void *b, size_t n, uint8_t out[BW_SHA256_LEN])
{
    unsigned int olen = 0;

    if (EVP_Digest(b, n, out, &olen, md_sha256(), NULL) != 1 || olen != BW_SHA256_LEN)
        return BW_E_CRYPTO;
    return BW_OK;
}

/* ---- ECDSA P-256 ------------------------------------------------------ */

struct ossl_key {
    EVP_PKEY *pk; /* immutable once adopted: safe to share between threads */
};

/* DER prefix of a SEC1 ECPrivateKey with the P-256 OID and no public key:
 * SEQ { INT 1, OCTET STRING(32) d, [0] OID prime256v1 }; d follows at +7. */
static const uint8_t sec1_head[] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
static const uint8_t sec1_tail[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x03, 0x01, 0x07};

static void impl_free(struct bw_ec_key *k)
{
    struct ossl_key *o = k->impl;

    if (o) {
        EVP_PKEY_free(o->pk);
        OPENSSL_free(o);
        k->impl = NULL;
    }
}

void bw_ec_key_init(struct bw_ec_key *k)
{
    memset(k, 0, sizeof(*k));
}

void bw_ec_key_clear(struct bw_ec_key *k)
{
    if (!k)
        return;
    impl_free(k);
    bw_wipe(k, sizeof(*k));
}

static int is_p256(EVP_PKEY *pk)
{
    char name[32];
    size_t n = 0;

    if (!EVP_PKEY_is_a(pk, "EC"))
        return 0;
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &n) != 1)
        return 0;
    return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

/* Takes ownership of pk; on success replaces k's key with it (public part,
 * and the private scalar when want_priv), on failure leaves k unchanged. */
static bw_err adopt(struct bw_ec_key *k, EVP_PKEY *pk, int want_priv)
{
    uint8_t pub[BW_P256_PUB_LEN], priv[BW_P256_PRIV_LEN];
    struct ossl_key *o = NULL;
    BIGNUM *d = NULL;
    size_t n = 0;
    bw_err rc = BW_E_KEY;

    if (!pk || !is_p256(pk))
        goto out;
    if (EVP_PKEY_set_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       "uncompressed") != 1)
        goto out;
    if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n) != 1 ||
        n != BW_P256_PUB_LEN || pub[0] != 0x04)
        goto out;
    if (want_priv) {
        if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
            BN_bn2binpad(d, priv, BW_P256_PRIV_LEN) != BW_P256_PRIV_LEN)
            goto out;
    }
    rc = BW_E_NOMEM;
    o = OPENSSL_zalloc(sizeof(*o)); /* the backend allocates as the library it wraps */
    if (!o)
        goto out;
    impl_free(k);
    o->pk = pk;
    pk = NULL;
    k->impl = o;
    memcpy(k->pub, pub, sizeof(pub));
    if (want_priv)
        memcpy(k->priv, priv, sizeof(priv));
    else
        bw_wipe(k->priv, sizeof(k->priv));
    k->has_pub = 1;
    k->has_priv = (uint8_t)(want_priv != 0);
    rc = BW_OK;
out:
    bw_wipe(priv, sizeof(priv));
    BN_clear_free(d);
    EVP_PKEY_free(pk);
    return rc;
}

bw_err bw_ec_generate(struct bw_ec_key *k)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");

    if (!pk)
        return BW_E_CRYPTO;
    return adopt(k, pk, 1);
}

/* The point is imported by the EC key manager of the default provider
 * (the approved one in approved mode), which decodes it and refuses a
 * point off the curve. Not d2i_PUBKEY: OpenSSL 3's decoder chain costs
 * about ten times as much (165 against 17 us here), and a gateway imports
 * a device's key for every new device token it checks. */
bw_err bw_ec_set_pub(struct bw_ec_key *k, const uint8_t *pt, size_t len)
{
    OSSL_PARAM ps[3];
    EVP_PKEY_CTX *c;
    EVP_PKEY *pk = NULL;

    if (!pt || len != BW_P256_PUB_LEN || pt[0] != 0x04)
        return BW_E_KEY;
    c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!c)
        return BW_E_NOMEM;
    ps[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    ps[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
    ps[2] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, ps) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(c);
    return adopt(k, pk, 0);
}

/* 1 if 0 < d < n, the P-256 group order (big-endian compare). */
static int scalar_in_range(const uint8_t *d)
{
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                  0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    uint8_t nz = 0;
    int i, lt = 0, decided = 0;

    for (i = 0; i < 32; i++) {
        nz |= d[i];
        if (!decided && d[i] != n[i]) {
            lt = d[i] < n[i];
            decided = 1;
        }
    }
    return nz && lt;
}

bw_err bw_ec_set_priv(struct bw_ec_key *k, const uint8_t *d, size_t len)
{
    uint8_t der[sizeof(sec1_head) + BW_P256_PRIV_LEN + sizeof(sec1_tail)];
    const unsigned char *p = der;
    bw_err rc;

    if (!d || len != BW_P256_PRIV_LEN || !scalar_in_range(d))
        return BW_E_KEY;
    memcpy(der, sec1_head, sizeof(sec1_head));
    memcpy(der + sizeof(sec1_head), d, len);
    memcpy(der + sizeof(sec1_head) + len, sec1_tail, sizeof(sec1_tail));
    /* The SEC1 decoder range-checks d and computes the public point. */
    rc = adopt(k, d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)sizeof(der)), 1);
    bw_wipe(der, sizeof(der));
    return rc;
}

static EVP_PKEY *key_of(const struct bw_ec_key *k)
{
    const struct ossl_key *o = k->impl;

    return o ? o->pk : NULL;
}

bw_err bw_ec_sign_der(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN], uint8_t *der,
                      size_t cap, size_t *der_len)
{
    EVP_PKEY_CTX *c = NULL;
    size_t n = cap;
    bw_err rc = BW_E_KEY;

    if (!k->has_priv || !key_of(k))
        goto out;
    rc = BW_E_CRYPTO;
    c = EVP_PKEY_CTX_new_from_pkey(NULL, key_of(k), NULL);
    if (!c || EVP_PKEY_sign_init(c) != 1)
        goto out;
    rc = BW_E_NOMEM;
    if (cap < BW_P256_DER_MAX)
        goto out;
    rc = BW_E_CRYPTO;
    if (EVP_PKEY_sign(c, der, &n, hash, BW_SHA256_LEN) != 1)
        goto out;
    *der_len = n;
    rc = BW_OK;
out:
    EVP_PKEY_CTX_free(c);
    return rc;
}

bw_err bw_ec_sign(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                  uint8_t sig[BW_P256_SIG_LEN])
{
    uint8_t der[BW_P256_DER_MAX];
    const unsigned char *p = der;
    const BIGNUM *r, *s;
    ECDSA_SIG *es = NULL;
    size_t n = 0;
    bw_err rc;

    rc = bw_ec_sign_der(k, hash, der, sizeof(der), &n);
    if (rc)
        goto out;
    rc = BW_E_CRYPTO;
    es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!es)
        goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
        goto out;
    rc = BW_OK;
out:
    ECDSA_SIG_free(es);
    return rc;
}

/* Verifies a strict-DER signature. A verify context per call keeps a key
 * usable from several threads at once; it costs about 1% of a verify. */
static bw_err verify_der(const struct bw_ec_key *k, const uint8_t *hash, const uint8_t *der,
                         size_t der_len)
{
    const struct ossl_key *o = k->impl;
    EVP_PKEY_CTX *c;
    int r;

    if (!k->has_pub || !o)
        return BW_E_KEY;
    c = EVP_PKEY_CTX_new_from_pkey(NULL, o->pk, NULL);
    if (!c || EVP_PKEY_verify_init(c) != 1) {
        EVP_PKEY_CTX_free(c);
        return BW_E_CRYPTO;
    }
    /* OpenSSL re-encodes the parsed signature and compares it with the
     * input, so BER variants and trailing bytes are refused here. */
    r = EVP_PKEY_verify(c, der, der_len, hash, BW_SHA256_LEN);
    EVP_PKEY_CTX_free(c);
    return r == 1 ? BW_OK : BW_E_BADSIG;
}

bw_err bw_ec_verify_der(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                        const uint8_t *der, size_t der_len)
{
    if (!der || der_len == 0 || der_len > BW_P256_DER_MAX)
        return k->has_pub ? BW_E_BADSIG : BW_E_KEY;
    return verify_der(k, hash, der, der_len);
}

bw_err bw_ec_verify(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                    const uint8_t *sig, size_t sig_len)
{
    uint8_t der[BW_P256_DER_MAX];

    if (!k->has_pub)
        return BW_E_KEY;
    if (!sig || sig_len != BW_P256_SIG_LEN)
        return BW_E_BADSIG;
    return verify_der(k, hash, der, bw_ecdsa_sig_der(der, sig));
}

bw_err bw_ec_import(struct bw_ec_key *k, const uint8_t *buf, size_t len)
{
    EVP_PKEY *pk = NULL;
    BIO *b = NULL;
    const unsigned char *p;
    int priv = 1;

    if (!buf || len == 0 || len > INT_MAX)
        return BW_E_KEY;
    if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
        b = BIO_new_mem_buf(buf, (int)len);
        if (!b)
            return BW_E_NOMEM;
        pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        if (!pk) {
            priv = 0;
            (void)BIO_reset(b);
            pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        }
        BIO_free(b);
    } else {
        p = buf;
        pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (!pk) {
            priv = 0;
            p = buf;
            pk = d2i_PUBKEY(NULL, &p, (long)len);
        }
        if (pk && p != buf + len) {
            EVP_PKEY_free(pk);
            return BW_E_TRAILING;
        }
    }
    return adopt(k, pk, priv);
}

bw_err bw_ec_export(const struct bw_ec_key *k, int priv, int pem, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    EVP_PKEY *pk = key_of(k);
    BIO *b = NULL;
    char *data = NULL;
    long n;
    int ok;
    bw_err rc = BW_E_KEY;

    if (!pk || (priv && !k->has_priv) || !k->has_pub)
        goto out;
    rc = BW_E_NOMEM;
    b = BIO_new(BIO_s_mem());
    if (!b)
        goto out;
    if (pem)
        ok = priv ? PEM_write_bio_PKCS8PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL)
                  : PEM_write_bio_PUBKEY(b, pk);
    else
        ok = priv ? i2d_PKCS8PrivateKey_bio(b, pk, NULL, NULL, 0, NULL, NULL)
                  : i2d_PUBKEY_bio(b, pk);
    rc = BW_E_CRYPTO;
    if (ok != 1)
        goto out;
    n = BIO_get_mem_data(b, &data);
    rc = BW_E_NOMEM;
    if (n <= 0 || (size_t)n + (pem ? 1 : 0) > cap)
        goto out;
    memcpy(out, data, (size_t)n);
    if (pem)
        out[n] = 0;
    *out_len = (size_t)n;
    rc = BW_OK;
out:
    if (data && b)
        OPENSSL_cleanse(data, (size_t)BIO_get_mem_data(b, &data));
    BIO_free(b);
    return rc;
}

/* ---- AES-256-GCM ------------------------------------------------------ */

/* crypto_mode = approved (host/cryptomode.c) is OpenSSL's default library
 * context with fips=yes as default property: the backend reads the mode
 * from there rather than keeping its own copy. In that mode GCM takes
 * exactly 96-bit IVs, the length SP 800-38D 8.2 constructs (callers draw
 * them from the provider's DRBG, 8.2.2); other lengths are refused with
 * BW_E_ALG, not hashed through GHASH. */
static int approved_mode(void)
{
    return EVP_default_properties_is_fips_enabled(NULL) == 1;
}

static bw_err gcm(int enc, const uint8_t *key, const uint8_t *iv, size_t iv_len,
                  const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                  uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c = NULL;
    int n = 0;
    bw_err rc = BW_E_INVAL;

    if (!key || !iv || iv_len == 0 || iv_len > BW_GCM_IV_MAX || len > INT_MAX || aad_len > INT_MAX ||
        (len && (!in || !out)) || (aad_len && !aad))
        goto out;
    rc = BW_E_ALG;
    if (iv_len != BW_GCM_IV_APPROVED && approved_mode())
        goto out;
    rc = BW_E_NOMEM;
    c = EVP_CIPHER_CTX_new();
    if (!c)
        goto out;
    rc = BW_E_CRYPTO;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1)
        goto out;
    if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BW_GCM_TAG_LEN, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c, out ? out + n : NULL, &n) != 1) {
        rc = enc ? BW_E_CRYPTO : BW_E_AUTH;
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BW_GCM_TAG_LEN, tag) != 1)
        goto out;
    rc = BW_OK;
out:
    if (rc && !enc && out)
        bw_wipe(out, len);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

bw_err bw_aes256gcm_seal(const uint8_t key[BW_AES256_KEY_LEN], const uint8_t *iv, size_t iv_len,
                         const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
                         uint8_t *ct, uint8_t tag[BW_GCM_TAG_LEN])
{
    return gcm(1, key, iv, iv_len, aad, aad_len, pt, len, ct, tag);
}

bw_err bw_aes256gcm_open(const uint8_t key[BW_AES256_KEY_LEN], const uint8_t *iv, size_t iv_len,
                         const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
                         const uint8_t tag[BW_GCM_TAG_LEN], uint8_t *pt)
{
    uint8_t t[BW_GCM_TAG_LEN];

    memcpy(t, tag, sizeof(t));
    return gcm(0, key, iv, iv_len, aad, aad_len, ct, len, pt, t);
}

/* ---- HKDF-SHA256 ------------------------------------------------------ */

bw_err bw_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    static const uint8_t empty[1];
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *c = NULL;
    OSSL_PARAM p[5], *q = p;
    bw_err rc = BW_E_INVAL;

    if (!out || out_len == 0 || out_len > 255 * BW_SHA256_LEN)
        goto out;
    rc = BW_E_CRYPTO;
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (!c)
        goto out;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                             (void *)(ikm_len ? ikm : empty), ikm_len);
    if (salt_len)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *q = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(c, out, out_len, p) != 1)
        goto out;
    rc = BW_OK;
out:
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return rc;
}

/* ---- random ----------------------------------------------------------- */

bw_err bw_random(void *out, size_t n)
{
    uint8_t *p = out;

    while (n) {
        int step = n > INT_MAX ? INT_MAX : (int)n;

        if (RAND_bytes(p, step) != 1)
            return BW_E_CRYPTO;
        p += step;
        n -= (size_t)step;
    }
    return BW_OK;
}
