/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core helpers used by every component: a bounds-checked reader and writer,
 * wiping and constant-time comparison. No allocation, no I/O.
 */
#ifndef BULWARK_CORE_H
#define BULWARK_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* Bounded reader over caller-owned bytes. Never reads outside [p, p+len). */
struct bw_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
};

/* Bounded writer into caller-owned memory. The first failure sticks in err,
 * later writes are ignored, and len keeps counting what would have been
 * written so a caller can size a buffer with a dry run (p may be NULL). */
struct bw_wr {
    uint8_t *p;
    size_t cap;
    size_t len;
    bw_err err;
};

void bw_cur_init(struct bw_cur *c, const uint8_t *p, size_t len);
static inline size_t bw_cur_left(const struct bw_cur *c) { return c->len - c->off; }
/* Each returns BW_E_TRUNCATED (and consumes nothing) if too few bytes remain. */
BW_NODISCARD bw_err bw_cur_u8(struct bw_cur *c, uint8_t *v);
BW_NODISCARD bw_err bw_cur_be16(struct bw_cur *c, uint16_t *v);
BW_NODISCARD bw_err bw_cur_be32(struct bw_cur *c, uint32_t *v);
BW_NODISCARD bw_err bw_cur_be64(struct bw_cur *c, uint64_t *v);
/* Points *out at the next n bytes inside the buffer and consumes them. */
BW_NODISCARD bw_err bw_cur_take(struct bw_cur *c, size_t n, const uint8_t **out);

void bw_wr_init(struct bw_wr *w, uint8_t *p, size_t cap);
void bw_wr_u8(struct bw_wr *w, uint8_t v);
void bw_wr_be16(struct bw_wr *w, uint16_t v);
void bw_wr_be32(struct bw_wr *w, uint32_t v);
void bw_wr_be64(struct bw_wr *w, uint64_t v);
void bw_wr_bytes(struct bw_wr *w, const void *b, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler cannot drop. */
void bw_wipe(void *p, size_t n);

/* 1 if the n bytes are equal, 0 otherwise; time depends only on n. */
int bw_ct_equal(const void *a, const void *b, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes incl. NUL). */
void bw_hex(char *out, const uint8_t *b, size_t n);
/* Parses exactly out_len bytes of hex (case-insensitive); BW_E_FORMAT otherwise. */
BW_NODISCARD bw_err bw_unhex(uint8_t *out, size_t out_len, const char *hex);

/* An ECDSA P-256 signature r||s (64 bytes, COSE's form) as a DER
 * ECDSA-Sig-Value (X9.62: SEQUENCE of two minimal positive INTEGERs) into
 * der (at least 72 bytes, BW_P256_DER_MAX); returns its length. Pure: every
 * crypto backend and the host's certificate and TUF signers share it. */
size_t bw_ecdsa_sig_der(uint8_t der[72], const uint8_t sig[64]);

#endif
