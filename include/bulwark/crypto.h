/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crypto interface. Exactly one backend file implements it per build
 * (src/crypto/crypto_openssl.c today; an mbedTLS backend is one more file
 * that defines the same functions). The device core calls only SHA-256 and
 * ECDSA verify; everything else is for hosts and provisioning.
 *
 * Contexts are caller-allocated. A backend may attach its own state through
 * the `impl` pointer (OpenSSL does) or keep it inside the `words` storage
 * (a microcontroller backend would); bw_*_clear/abort releases it.
 * Functions are thread-safe on distinct contexts.
 */
#ifndef BULWARK_CRYPTO_H
#define BULWARK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define BW_SHA256_LEN 32
#define BW_P256_PUB_LEN 65  /* uncompressed point 04 || x || y */
#define BW_P256_PRIV_LEN 32 /* big-endian scalar */
#define BW_P256_SIG_LEN 64  /* raw r || s, the COSE form (RFC 9053 2.1) */
#define BW_P256_DER_MAX 72  /* longest DER ECDSA-Sig-Value for P-256 */
#define BW_AES256_KEY_LEN 32
#define BW_GCM_TAG_LEN 16
#define BW_GCM_IV_MAX 128 /* longer IVs are refused (OpenSSL's limit; 12 is usual) */
#define BW_GCM_IV_APPROVED 12 /* the only IV length in crypto_mode = approved (SP 800-38D 8.2) */

struct bw_sha256 {
    union {
        void *impl;
        uint64_t words[28];
    } u;
};

/* Streaming SHA-256. init: BW_E_CRYPTO/BW_E_NOMEM on backend failure.
 * final writes 32 bytes and releases the context; abort releases it
 * without output (safe on a context that failed init or was finalised). */
BW_NODISCARD bw_err bw_sha256_init(struct bw_sha256 *h);
BW_NODISCARD bw_err bw_sha256_update(struct bw_sha256 *h, const void *b, size_t n);
BW_NODISCARD bw_err bw_sha256_final(struct bw_sha256 *h, uint8_t out[BW_SHA256_LEN]);
void bw_sha256_abort(struct bw_sha256 *h);
/* One-shot convenience. */
BW_NODISCARD bw_err bw_sha256(const void *b, size_t n, uint8_t out[BW_SHA256_LEN]);

/* An ECDSA P-256 key: public part always, private part when has_priv. */
struct bw_ec_key {
    uint8_t pub[BW_P256_PUB_LEN];
    uint8_t priv[BW_P256_PRIV_LEN];
    uint8_t has_pub;
    uint8_t has_priv;
    void *impl; /* backend cache, owned by the key */
};

/* Zeroes k; call before any setter. */
void bw_ec_key_init(struct bw_ec_key *k);
/* Releases backend state and wipes the private scalar. NULL-safe. */
void bw_ec_key_clear(struct bw_ec_key *k);
/* Fresh key pair from the backend's CSPRNG. BW_E_CRYPTO on failure. */
BW_NODISCARD bw_err bw_ec_generate(struct bw_ec_key *k);
/* Public key from an uncompressed point; BW_E_KEY if not on the curve. */
BW_NODISCARD bw_err bw_ec_set_pub(struct bw_ec_key *k, const uint8_t *pt, size_t len);
/* Private key from a 32-byte scalar; derives the public key. BW_E_KEY if
 * the scalar is zero or not below the group order. */
BW_NODISCARD bw_err bw_ec_set_priv(struct bw_ec_key *k, const uint8_t *d, size_t len);

/* ECDSA over a SHA-256 hash. Raw form: sig is r||s, 64 bytes. verify
 * returns BW_OK or BW_E_BADSIG (also for a signature of the wrong length,
 * r or s out of range); BW_E_KEY if k has no public key. */
BW_NODISCARD bw_err bw_ec_sign(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                               uint8_t sig[BW_P256_SIG_LEN]);
BW_NODISCARD bw_err bw_ec_verify(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                                 const uint8_t *sig, size_t sig_len);
/* DER form (X9.62 ECDSA-Sig-Value, strict DER only). */
BW_NODISCARD bw_err bw_ec_sign_der(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                                   uint8_t *der, size_t cap, size_t *der_len);
BW_NODISCARD bw_err bw_ec_verify_der(const struct bw_ec_key *k, const uint8_t hash[BW_SHA256_LEN],
                                     const uint8_t *der, size_t der_len);

/* Host only: PEM or DER import (PKCS#8, SEC1 or SubjectPublicKeyInfo) of a
 * P-256 key; BW_E_KEY for anything else. Export writes PEM (text, NUL
 * terminated, *out_len excludes the NUL) or DER; priv selects PKCS#8
 * private key or SubjectPublicKeyInfo. BW_E_NOMEM if cap is too small. */
BW_NODISCARD bw_err bw_ec_import(struct bw_ec_key *k, const uint8_t *buf, size_t len);
BW_NODISCARD bw_err bw_ec_export(const struct bw_ec_key *k, int priv, int pem, uint8_t *out,
                                 size_t cap, size_t *out_len);

/* AES-256-GCM with a 16-byte tag; 1 <= iv_len <= BW_GCM_IV_MAX (12 is
 * recommended; other lengths go through GHASH). BW_E_INVAL otherwise; BW_E_ALG
 * for an IV other than 12 bytes when the OpenSSL backend runs in approved
 * mode (crypto_mode = approved, set by the host library). open
 * returns BW_E_AUTH on a tag mismatch and then wipes pt. In-place allowed. */
BW_NODISCARD bw_err bw_aes256gcm_seal(const uint8_t key[BW_AES256_KEY_LEN], const uint8_t *iv,
                                      size_t iv_len, const uint8_t *aad, size_t aad_len,
                                      const uint8_t *pt, size_t len, uint8_t *ct,
                                      uint8_t tag[BW_GCM_TAG_LEN]);
BW_NODISCARD bw_err bw_aes256gcm_open(const uint8_t key[BW_AES256_KEY_LEN], const uint8_t *iv,
                                      size_t iv_len, const uint8_t *aad, size_t aad_len,
                                      const uint8_t *ct, size_t len,
                                      const uint8_t tag[BW_GCM_TAG_LEN], uint8_t *pt);

/* HKDF-SHA256 (RFC 5869). BW_E_INVAL if out_len > 255*32 or is 0. */
BW_NODISCARD bw_err bw_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                                   size_t ikm_len, const uint8_t *info, size_t info_len,
                                   uint8_t *out, size_t out_len);

/* n bytes from the backend's CSPRNG; BW_E_CRYPTO if it is not seeded. */
BW_NODISCARD bw_err bw_random(void *out, size_t n);

/* Anything that can make an ECDSA P-256 signature over a SHA-256 hash:
 * sig is r||s (64 bytes). Implemented by a device key, or by a bw_ec_key in
 * tests (bwh_signer_from_ec). */
struct bw_signer {
    void *ctx;
    bw_err (*sign)(void *ctx, const uint8_t hash[BW_SHA256_LEN], uint8_t sig[BW_P256_SIG_LEN]);
    uint8_t pub[BW_P256_PUB_LEN]; /* the matching public key, uncompressed point */
};

#endif
