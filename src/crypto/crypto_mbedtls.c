/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbed TLS 2.28 backend of include/bulwark/crypto.h, for microcontrollers
 * (port/mps2/ cross-builds it with a small mbedtls config) and as a second
 * host variant that runs the same crypto tests as OpenSSL. Keys keep no
 * backend state (impl stays NULL): the group and point are loaded from
 * k->pub per call, so this file itself never allocates on the verify path.
 *
 * What a build can serve follows its mbedtls config; a function whose
 * module is compiled out returns BW_E_UNSUPPORTED:
 *   bw_random, bw_ec_generate, bw_ec_sign*  need MBEDTLS_CTR_DRBG_C + ENTROPY_C
 *   bw_ec_import                            needs MBEDTLS_PK_PARSE_C
 *   bw_ec_export with pem                   needs MBEDTLS_PEM_WRITE_C
 *   bw_aes256gcm_*                          needs MBEDTLS_GCM_C + AES_C
 *   bw_hkdf_sha256                          needs MBEDTLS_HKDF_C
 * SHA-256, bw_ec_set_pub/set_priv, bw_ec_verify and bw_ec_verify_der are
 * always there (SHA256_C, ECDSA_C, ECP_C with secp256r1, BIGNUM_C).
 */
#include <string.h>

#if !defined(MBEDTLS_CONFIG_FILE)
#include <mbedtls/config.h>
#else
#include MBEDTLS_CONFIG_FILE
#endif
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>
#if defined(MBEDTLS_CTR_DRBG_C) && defined(MBEDTLS_ENTROPY_C)
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#define HAVE_RNG 1
#endif
#if defined(MBEDTLS_PK_PARSE_C)
#include <mbedtls/pk.h>
#endif
#if defined(MBEDTLS_PEM_WRITE_C)
#include <mbedtls/pem.h>
#endif
#if defined(MBEDTLS_GCM_C) && defined(MBEDTLS_AES_C)
#include <mbedtls/gcm.h>
#define HAVE_GCM 1
#endif
#if defined(MBEDTLS_HKDF_C)
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#endif
#if defined(HAVE_RNG) && defined(MBEDTLS_THREADING_PTHREAD)
#include <pthread.h>
#endif

#include "bulwark/core.h"
#include "bulwark/crypto.h"

/* ---- SHA-256 ---------------------------------------------------------- */

/* The mbedtls context lives in the caller's storage; the last word says
 * whether it is live, so update after final is BW_E_STATE as with OpenSSL. */
#define SHA_LIVE 0x62775348u /* "bwSH" */
_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((struct bw_sha256 *)0)->u.words) - 8,
               "mbedtls_sha256_context does not fit struct bw_sha256");

static mbedtls_sha256_context *sha_ctx(struct bw_sha256 *h)
{
    return (mbedtls_sha256_context *)(void *)h->u.words;
}

static int sha_live(const struct bw_sha256 *h)
{
    return h->u.words[27] == SHA_LIVE;
}

bw_err bw_sha256_init(struct bw_sha256 *h)
{
    memset(h, 0, sizeof(*h));
    mbedtls_sha256_init(sha_ctx(h));
    if (mbedtls_sha256_starts_ret(sha_ctx(h), 0) != 0) {
        bw_sha256_abort(h);
        return BW_E_CRYPTO;
    }
    h->u.words[27] = SHA_LIVE;
    return BW_OK;
}

bw_err bw_sha256_update(struct bw_sha256 *h, const void *b, size_t n)
{
    if (!sha_live(h))
        return BW_E_STATE;
    if (n && mbedtls_sha256_update_ret(sha_ctx(h), b, n) != 0)
        return BW_E_CRYPTO;
    return BW_OK;
}

bw_err bw_sha256_final(struct bw_sha256 *h, uint8_t out[BW_SHA256_LEN])
{
    bw_err rc = BW_E_STATE;

    if (!sha_live(h))
        return rc;
    rc = BW_E_CRYPTO;
    if (mbedtls_sha256_finish_ret(sha_ctx(h), out) == 0)
        rc = BW_OK;
    bw_sha256_abort(h);
    return rc;
}

void bw_sha256_abort(struct bw_sha256 *h)
{
    if (h)
        bw_wipe(h, sizeof(*h));
}

bw_err bw_sha256(const void *b, size_t n, uint8_t out[BW_SHA256_LEN])
{
    return mbedtls_sha256_ret(b, n, out, 0) == 0 ? BW_OK : BW_E_CRYPTO;
}

/* ---- random ----------------------------------------------------------- */

#if defined(HAVE_RNG)
/* One CTR_DRBG seeded from the platform entropy source, set up on first
 * use. With MBEDTLS_THREADING_PTHREAD the DRBG locks itself; the once
 * guard makes the seeding race-free. */
static mbedtls_entropy_context rng_entropy;
static mbedtls_ctr_drbg_context rng_drbg;
static int rng_ok;

static void rng_seed(void)
{
    static const char pers[] = "bulwark";

    mbedtls_entropy_init(&rng_entropy);
    mbedtls_ctr_drbg_init(&rng_drbg);
    rng_ok = mbedtls_ctr_drbg_seed(&rng_drbg, mbedtls_entropy_func, &rng_entropy,
                                   (const unsigned char *)pers, sizeof(pers) - 1) == 0;
}

#if defined(MBEDTLS_THREADING_PTHREAD)
static pthread_once_t rng_once = PTHREAD_ONCE_INIT;
#else
static int rng_tried; /* single-threaded builds (an RTOS task) */
#endif

/* 1 once the DRBG is seeded. */
static int rng_ready(void)
{
#if defined(MBEDTLS_THREADING_PTHREAD)
    return pthread_once(&rng_once, rng_seed) == 0 && rng_ok;
#else
    if (!rng_tried) {
        rng_tried = 1;
        rng_seed();
    }
    return rng_ok;
#endif
}

static int rng(void *ctx, unsigned char *out, size_t n)
{
    (void)ctx;
    return mbedtls_ctr_drbg_random(&rng_drbg, out, n);
}

bw_err bw_random(void *out, size_t n)
{
    uint8_t *p = out;

    if (!rng_ready())
        return BW_E_CRYPTO;
    while (n) {
        size_t step = n > MBEDTLS_CTR_DRBG_MAX_REQUEST ? MBEDTLS_CTR_DRBG_MAX_REQUEST : n;

        if (mbedtls_ctr_drbg_random(&rng_drbg, p, step) != 0)
            return BW_E_CRYPTO;
        p += step;
        n -= step;
    }
    return BW_OK;
}
#else
bw_err bw_random(void *out, size_t n)
{
    (void)out;
    (void)n;
    return BW_E_UNSUPPORTED;
}
#endif

/* ---- ECDSA P-256 ------------------------------------------------------ */

void bw_ec_key_init(struct bw_ec_key *k)
{
    memset(k, 0, sizeof(*k));
}

void bw_ec_key_clear(struct bw_ec_key *k)
{
    if (k)
        bw_wipe(k, sizeof(*k));
}

/* A working keypair context for k's public point (and scalar if want_d). */
static bw_err load(const struct bw_ec_key *k, mbedtls_ecp_keypair *kp, int want_d)
{
    if (mbedtls_ecp_group_load(&kp->grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
        return BW_E_CRYPTO;
    if (mbedtls_ecp_point_read_binary(&kp->grp, &kp->Q, k->pub, BW_P256_PUB_LEN) != 0)
        return BW_E_KEY;
    if (want_d && mbedtls_mpi_read_binary(&kp->d, k->priv, BW_P256_PRIV_LEN) != 0)
        return BW_E_CRYPTO;
    return BW_OK;
}

/* Writes kp's point (and scalar) into k; k is changed only on success. */
static bw_err adopt(struct bw_ec_key *k, const mbedtls_ecp_keypair *kp, int with_d)
{
    uint8_t pub[BW_P256_PUB_LEN], priv[BW_P256_PRIV_LEN];
    size_t n = 0;
    bw_err rc = BW_E_KEY;

    if (mbedtls_ecp_point_write_binary(&kp->grp, &kp->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, pub,
                                       sizeof(pub)) != 0 ||
        n != BW_P256_PUB_LEN)
        goto out;
    if (with_d && mbedtls_mpi_write_binary(&kp->d, priv, sizeof(priv)) != 0)
        goto out;
    memcpy(k->pub, pub, sizeof(pub));
    if (with_d)
        memcpy(k->priv, priv, sizeof(priv));
    else
        bw_wipe(k->priv, sizeof(k->priv));
    k->has_pub = 1;
    k->has_priv = (uint8_t)(with_d != 0);
    k->impl = NULL;
    rc = BW_OK;
out:
    bw_wipe(priv, sizeof(priv));
    return rc;
}

bw_err bw_ec_set_pub(struct bw_ec_key *k, const uint8_t *pt, size_t len)
{
    mbedtls_ecp_keypair kp;
    bw_err rc = BW_E_KEY;

    if (!pt || len != BW_P256_PUB_LEN || pt[0] != 0x04)
        return rc;
    mbedtls_ecp_keypair_init(&kp);
    if (mbedtls_ecp_group_load(&kp.grp, MBEDTLS_ECP_DP_SECP256R1) != 0) {
        rc = BW_E_CRYPTO;
        goto out;
    }
    if (mbedtls_ecp_point_read_binary(&kp.grp, &kp.Q, pt, len) != 0 ||
        mbedtls_ecp_check_pubkey(&kp.grp, &kp.Q) != 0)
        goto out;
    rc = adopt(k, &kp, 0);
out:
    mbedtls_ecp_keypair_free(&kp);
    return rc;
}

bw_err bw_ec_set_priv(struct bw_ec_key *k, const uint8_t *d, size_t len)
{
    mbedtls_ecp_keypair kp;
    bw_err rc = BW_E_KEY;

    if (!d || len != BW_P256_PRIV_LEN)
        return rc;
    mbedtls_ecp_keypair_init(&kp);
    if (mbedtls_ecp_group_load(&kp.grp, MBEDTLS_ECP_DP_SECP256R1) != 0) {
        rc = BW_E_CRYPTO;
        goto out;
    }
    /* check_privkey refuses 0 and anything not below the group order */
    if (mbedtls_mpi_read_binary(&kp.d, d, len) != 0 ||
        mbedtls_ecp_check_privkey(&kp.grp, &kp.d) != 0)
        goto out;
    rc = BW_E_CRYPTO;
#if defined(HAVE_RNG)
    if (!rng_ready() || mbedtls_ecp_mul(&kp.grp, &kp.Q, &kp.d, &kp.grp.G, rng, NULL) != 0)
        goto out;
#else
    if (mbedtls_ecp_mul(&kp.grp, &kp.Q, &kp.d, &kp.grp.G, NULL, NULL) != 0)
        goto out;
#endif
    rc = adopt(k, &kp, 1);
out:
    mbedtls_ecp_keypair_free(&kp);
    return rc;
}

/* Raw r||s verify: mbedtls_ecdsa_verify refuses r or s outside [1, n-1]. */
bw_err bw_ec_verify(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                    const uint8_t *sig, size_t sig_len)
{
    mbedtls_ecp_keypair kp;
    mbedtls_mpi r, s;
    bw_err rc = BW_E_KEY;

    if (!k->has_pub)
        return rc;
    rc = BW_E_BADSIG;
    if (!sig || sig_len != BW_P256_SIG_LEN)
        return rc;
    mbedtls_ecp_keypair_init(&kp);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc = load(k, &kp, 0);
    if (rc)
        goto out;
    rc = BW_E_CRYPTO;
    if (mbedtls_mpi_read_binary(&r, sig, 32) != 0 || mbedtls_mpi_read_binary(&s, sig + 32, 32) != 0)
        goto out;
    rc = BW_E_BADSIG;
    if (mbedtls_ecdsa_verify(&kp.grp, hash, BW_SHA256_LEN, &kp.Q, &r, &s) != 0)
        goto out;
    rc = BW_OK;
out:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_keypair_free(&kp);
    return rc;
}

/* One strict-DER INTEGER of at most 32 value bytes, positive and minimal,
 * right-aligned into out[32]. Returns the bytes consumed, 0 if not strict. */
static size_t der_int(const uint8_t *p, size_t n, uint8_t out[32])
{
    const uint8_t *v;
    size_t len, vlen;

    if (n < 3 || p[0] != 0x02)
        return 0;
    len = p[1];
    if (len == 0 || len > 33 || len + 2 > n)
        return 0;
    v = p + 2;
    vlen = len;
    if (v[0] & 0x80)
        return 0; /* negative */
    if (len > 1 && v[0] == 0 && !(v[1] & 0x80))
        return 0; /* a leading zero that is not needed */
    if (len == 33) {
        if (v[0] != 0)
            return 0;
        v++;
        vlen--;
    }
    memset(out, 0, 32);
    memcpy(out + 32 - vlen, v, vlen);
    return len + 2;
}

/* Method: an ECDSA-Sig-Value for P-256 is at most 72 bytes, so its
 * SEQUENCE length is one short-form byte; DER allows exactly one encoding.
 * The two INTEGERs are read strictly into r||s and verified raw, so BER
 * variants, trailing bytes and padded integers are all refused here rather
 * than by whatever the library's ASN.1 reader tolerates. */
bw_err bw_ec_verify_der(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                        const uint8_t *der, size_t der_len)
{
    uint8_t raw[BW_P256_SIG_LEN];
    size_t a, b;
    bw_err rc = BW_E_KEY;

    if (!k->has_pub)
        goto out;
    rc = BW_E_BADSIG;
    if (!der || der_len < 8 || der_len > BW_P256_DER_MAX || der[0] != 0x30 ||
        der[1] != der_len - 2)
        goto out;
    a = der_int(der + 2, der_len - 2, raw);
    if (!a)
        goto out;
    b = der_int(der + 2 + a, der_len - 2 - a, raw + 32);
    if (!b || 2 + a + b != der_len)
        goto out;
    rc = bw_ec_verify(k, hash, raw, sizeof(raw));
out:
    return rc;
}

#if defined(HAVE_RNG)
bw_err bw_ec_generate(struct bw_ec_key *k)
{
    mbedtls_ecp_keypair kp;
    bw_err rc = BW_E_CRYPTO;

    mbedtls_ecp_keypair_init(&kp);
    if (!rng_ready() || mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &kp, rng, NULL) != 0)
        goto out;
    rc = adopt(k, &kp, 1);
out:
    mbedtls_ecp_keypair_free(&kp);
    return rc;
}

bw_err bw_ec_sign(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                  uint8_t sig[BW_P256_SIG_LEN])
{
    mbedtls_ecp_keypair kp;
    mbedtls_mpi r, s;
    bw_err rc = BW_E_KEY;

    if (!k->has_priv)
        return rc;
    mbedtls_ecp_keypair_init(&kp);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc = load(k, &kp, 1);
    if (rc)
        goto out;
    rc = BW_E_CRYPTO;
    if (!rng_ready() ||
        mbedtls_ecdsa_sign(&kp.grp, &r, &s, &kp.d, hash, BW_SHA256_LEN, rng, NULL) != 0)
        goto out;
    if (mbedtls_mpi_write_binary(&r, sig, 32) != 0 ||
        mbedtls_mpi_write_binary(&s, sig + 32, 32) != 0)
        goto out;
    rc = BW_OK;
out:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_keypair_free(&kp);
    return rc;
}
#else
bw_err bw_ec_generate(struct bw_ec_key *k)
{
    (void)k;
    return BW_E_UNSUPPORTED;
}

bw_err bw_ec_sign(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                  uint8_t sig[BW_P256_SIG_LEN])
{
    (void)hash;
    (void)sig;
    return k->has_priv ? BW_E_UNSUPPORTED : BW_E_KEY;
}
#endif

bw_err bw_ec_sign_der(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN], uint8_t *der,
                      size_t cap, size_t *der_len)
{
    uint8_t raw[BW_P256_SIG_LEN];
    bw_err rc = BW_E_KEY;

    if (!k->has_priv)
        goto out;
    rc = BW_E_NOMEM;
    if (cap < BW_P256_DER_MAX)
        goto out;
    rc = bw_ec_sign(k, hash, raw);
    if (rc)
        goto out;
    *der_len = bw_ecdsa_sig_der(der, raw);
    rc = BW_OK;
out:
    return rc;
}

/* ---- import / export (host) ------------------------------------------- */

/* DER prefixes of a P-256 SubjectPublicKeyInfo (the point follows) and of a
 * PKCS#8 PrivateKeyInfo holding SEC1 { 1, d, [1] point } (d follows, then
 * pkcs8_mid, then the point): the fixed shape OpenSSL also writes. */
static const uint8_t spki_head[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                    0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t pkcs8_head[] = {0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07,
                                     0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                                     0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30,
                                     0x6b, 0x02, 0x01, 0x01, 0x04, 0x20};
static const uint8_t pkcs8_mid[] = {0xa1, 0x44, 0x03, 0x42, 0x00};
#define PKCS8_LEN (sizeof(pkcs8_head) + BW_P256_PRIV_LEN + sizeof(pkcs8_mid) + BW_P256_PUB_LEN)

#if defined(MBEDTLS_PK_PARSE_C)
/* Length of the DER element at buf (tag, length, value), 0 if unreadable:
 * what the parse consumed, so that bytes after it can be refused. */
static size_t der_elem_len(const uint8_t *buf, size_t len)
{
    size_t n, i, hdr;

    if (len < 2)
        return 0;
    if (!(buf[1] & 0x80))
        return 2 + (size_t)buf[1];
    hdr = (size_t)(buf[1] & 0x7f);
    if (hdr == 0 || hdr > 3 || len < 2 + hdr)
        return 0;
    for (n = 0, i = 0; i < hdr; i++)
        n = n << 8 | buf[2 + i];
    return 2 + hdr + n;
}

/* A PEM P-256 key is a few hundred bytes; longer text is not one. */
#define PEM_MAX 2048

/* Method: mbedtls parses PEM only from a NUL-terminated buffer whose length
 * counts the NUL, so PEM input is copied (into a fixed buffer: this file
 * does not allocate); DER is parsed in place and its outer element must end
 * where the input does. A private key is tried first, then a public one.
 * Only EC keys on secp256r1 are adopted. */
bw_err bw_ec_import(struct bw_ec_key *k, const uint8_t *buf, size_t len)
{
    mbedtls_pk_context pk;
    uint8_t copy[PEM_MAX + 1];
    const uint8_t *in = buf;
    size_t in_len = len;
    int pem = 0, priv = 1;
    bw_err rc = BW_E_KEY;

    mbedtls_pk_init(&pk);
    if (!buf || len == 0)
        goto out;
    pem = len > 10 && memcmp(buf, "-----BEGIN", 10) == 0;
    if (pem) {
        if (len > PEM_MAX)
            goto out;
        memcpy(copy, buf, len);
        copy[len] = 0;
        in = copy;
        in_len = len + 1;
    } else if (der_elem_len(buf, len) != len) {
        /* a DER element followed by more bytes, or not DER at all */
        if (der_elem_len(buf, len) > 0 && der_elem_len(buf, len) < len)
            rc = BW_E_TRAILING;
        goto out;
    }
    if (mbedtls_pk_parse_key(&pk, in, in_len, NULL, 0) != 0) {
        priv = 0;
        mbedtls_pk_free(&pk);
        mbedtls_pk_init(&pk);
        if (mbedtls_pk_parse_public_key(&pk, in, in_len) != 0)
            goto out;
    }
    if (!mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECKEY) ||
        mbedtls_pk_ec(pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
        goto out;
    rc = adopt(k, mbedtls_pk_ec(pk), priv);
out:
    if (pem)
        bw_wipe(copy, sizeof(copy));
    mbedtls_pk_free(&pk);
    return rc;
}
#else
bw_err bw_ec_import(struct bw_ec_key *k, const uint8_t *buf, size_t len)
{
    (void)k;
    (void)buf;
    (void)len;
    return BW_E_UNSUPPORTED;
}
#endif

/* DER is assembled from the fixed templates above; PEM wraps it with
 * mbedtls's base64 writer (64-column lines, as OpenSSL writes them). */
bw_err bw_ec_export(const struct bw_ec_key *k, int priv, int pem, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    uint8_t der[PKCS8_LEN];
    size_t n = 0;
    bw_err rc = BW_E_KEY;

    if (!k->has_pub || (priv && !k->has_priv))
        goto out;
    if (priv) {
        memcpy(der, pkcs8_head, sizeof(pkcs8_head));
        n = sizeof(pkcs8_head);
        memcpy(der + n, k->priv, BW_P256_PRIV_LEN);
        n += BW_P256_PRIV_LEN;
        memcpy(der + n, pkcs8_mid, sizeof(pkcs8_mid));
        n += sizeof(pkcs8_mid);
    } else {
        memcpy(der, spki_head, sizeof(spki_head));
        n = sizeof(spki_head);
    }
    memcpy(der + n, k->pub, BW_P256_PUB_LEN);
    n += BW_P256_PUB_LEN;
    rc = BW_E_NOMEM;
    if (!pem) {
        if (n > cap)
            goto out;
        memcpy(out, der, n);
        *out_len = n;
        rc = BW_OK;
        goto out;
    }
#if defined(MBEDTLS_PEM_WRITE_C)
    {
        size_t olen = 0;
        int r = priv ? mbedtls_pem_write_buffer("-----BEGIN PRIVATE KEY-----\n",
                                                "-----END PRIVATE KEY-----\n", der, n, out, cap,
                                                &olen)
                     : mbedtls_pem_write_buffer("-----BEGIN PUBLIC KEY-----\n",
                                                "-----END PUBLIC KEY-----\n", der, n, out, cap,
                                                &olen);
        if (r != 0 || olen == 0)
            goto out; /* MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL: cap too small */
        *out_len = olen - 1; /* olen counts the NUL */
        rc = BW_OK;
    }
#else
    rc = BW_E_UNSUPPORTED;
#endif
out:
    bw_wipe(der, sizeof(der));
    return rc;
}

/* ---- AES-256-GCM ------------------------------------------------------ */

#if defined(HAVE_GCM)
static bw_err gcm(int enc, const uint8_t *key, const uint8_t *iv, size_t iv_len,
                  const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                  uint8_t *out, uint8_t *tag)
{
    static const uint8_t empty[1];
    mbedtls_gcm_context c;
    int r;
    bw_err rc = BW_E_INVAL;

    mbedtls_gcm_init(&c);
    if (!key || !iv || iv_len == 0 || iv_len > BW_GCM_IV_MAX || (len && (!in || !out)) ||
        (aad_len && !aad))
        goto out;
    rc = BW_E_CRYPTO;
    if (mbedtls_gcm_setkey(&c, MBEDTLS_CIPHER_ID_AES, key, 256) != 0)
        goto out;
    if (enc) {
        r = mbedtls_gcm_crypt_and_tag(&c, MBEDTLS_GCM_ENCRYPT, len, iv, iv_len,
                                      aad_len ? aad : empty, aad_len, len ? in : empty,
                                      len ? out : NULL, BW_GCM_TAG_LEN, tag);
        if (r != 0)
            goto out;
    } else {
        /* compares the tag in constant time and zeroes out on mismatch */
        r = mbedtls_gcm_auth_decrypt(&c, len, iv, iv_len, aad_len ? aad : empty, aad_len, tag,
                                     BW_GCM_TAG_LEN, len ? in : empty, len ? out : NULL);
        if (r != 0) {
            rc = r == MBEDTLS_ERR_GCM_AUTH_FAILED ? BW_E_AUTH : BW_E_CRYPTO;
            goto out;
        }
    }
    rc = BW_OK;
out:
    if (rc && !enc && out)
        bw_wipe(out, len);
    mbedtls_gcm_free(&c);
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
#else
bw_err bw_aes256gcm_seal(const uint8_t key[BW_AES256_KEY_LEN], const uint8_t *iv, size_t iv_len,
                         const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
                         uint8_t *ct, uint8_t tag[BW_GCM_TAG_LEN])
{
    (void)key, (void)iv, (void)iv_len, (void)aad, (void)aad_len, (void)pt, (void)len, (void)ct,
        (void)tag;
    return BW_E_UNSUPPORTED;
}

bw_err bw_aes256gcm_open(const uint8_t key[BW_AES256_KEY_LEN], const uint8_t *iv, size_t iv_len,
                         const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
                         const uint8_t tag[BW_GCM_TAG_LEN], uint8_t *pt)
{
    (void)key, (void)iv, (void)iv_len, (void)aad, (void)aad_len, (void)ct, (void)len, (void)tag,
        (void)pt;
    return BW_E_UNSUPPORTED;
}
#endif

/* ---- HKDF-SHA256 ------------------------------------------------------ */

bw_err bw_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
#if defined(MBEDTLS_HKDF_C)
    static const uint8_t empty[1];
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

    if (!out || out_len == 0 || out_len > 255 * BW_SHA256_LEN)
        return BW_E_INVAL;
    if (!md || mbedtls_hkdf(md, salt_len ? salt : NULL, salt_len, ikm_len ? ikm : empty, ikm_len,
                            info_len ? info : empty, info_len, out, out_len) != 0)
        return BW_E_CRYPTO;
    return BW_OK;
#else
    (void)salt, (void)salt_len, (void)ikm, (void)ikm_len, (void)info, (void)info_len;
    if (!out || out_len == 0 || out_len > 255 * BW_SHA256_LEN)
        return BW_E_INVAL;
    return BW_E_UNSUPPORTED;
#endif
}
