/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COSE_Sign1 (RFC 9052 4.2) with ES256 (RFC 9053 2.1): parse, verify, sign.
 * The Sig_structure is hashed in a stream, never built in memory, so a
 * detached payload of any size costs no extra buffer. Only the configured
 * algorithm is accepted; a "crit" header is refused (none is understood).
 */
#ifndef BULWARK_COSE_H
#define BULWARK_COSE_H

#include <stddef.h>
#include <stdint.h>
#include "cbor.h"
#include "crypto.h"

#define BW_COSE_TAG_SIGN1 18
#define BW_COSE_ALG_ES256 (-7)
#define BW_COSE_HDR_ALG 1
#define BW_COSE_HDR_CRIT 2
#define BW_COSE_HDR_CTYPE 3
#define BW_COSE_HDR_KID 4

/* A parsed COSE_Sign1; pointers point into the parsed buffer. */
struct bw_cose_sign1 {
    const uint8_t *prot; /* serialized protected header (bstr content) */
    size_t prot_len;
    const uint8_t *payload; /* NULL when detached (nil) */
    size_t payload_len;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *kid;
    size_t kid_len;
    int64_t alg; /* from the protected header; 0 if absent */
    int tagged;
};

/* Parses one COSE_Sign1 (tag 18 optional) that fills buf exactly.
 * Header labels are integers or text, unique within each bucket, and no
 * label is in both the protected and the unprotected bucket (RFC 9052
 * section 3); at most 32 labels per bucket.
 * Errors: CBOR errors, BW_E_FORMAT (shape, a repeated label, a label that
 * is neither integer nor text), BW_E_TOOBIG (more than 32 labels in a
 * bucket), BW_E_CRITICAL (crit header), BW_E_ALG (alg missing from the
 * protected header, or present unprotected), BW_E_TRAILING. */
BW_NODISCARD bw_err bw_cose_sign1_parse(const uint8_t *buf, size_t len, struct bw_cose_sign1 *out);

/* SHA-256 of Sig_structure ["Signature1", prot, aad, payload]. */
BW_NODISCARD bw_err bw_cose_sign1_tbs_hash(const uint8_t *prot, size_t prot_len,
                                           const uint8_t *aad, size_t aad_len,
                                           const uint8_t *payload, size_t payload_len,
                                           uint8_t hash[BW_SHA256_LEN]);

/* Verifies s with key k. alg is the only algorithm accepted (BW_E_ALG
 * otherwise). detached supplies the payload when s carries nil (and must
 * be NULL when s carries one: BW_E_INVAL). BW_E_BADSIG on a bad signature. */
BW_NODISCARD bw_err bw_cose_sign1_verify(const struct bw_cose_sign1 *s, const struct bw_ec_key *k,
                                         int64_t alg, const uint8_t *aad, size_t aad_len,
                                         const uint8_t *detached, size_t detached_len);

/* Writes a tagged ES256 COSE_Sign1 over payload (carried, or nil when
 * detached), protected header {1: -7}, kid in the unprotected header when
 * kid_len > 0. Errors: the writer's error, BW_E_KEY, BW_E_CRYPTO. */
BW_NODISCARD bw_err bw_cose_sign1_write(struct bw_wr *w, const struct bw_ec_key *k,
                                        const uint8_t *payload, size_t payload_len, int detached,
                                        const uint8_t *aad, size_t aad_len, const uint8_t *kid,
                                        size_t kid_len);

#endif
