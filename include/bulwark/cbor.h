/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded, allocation-free CBOR (RFC 8949) decoder and encoder for the
 * subset SUIT and COSE use: integers, byte/text strings, arrays, maps, tags
 * and simple values. The decoder accepts only deterministically encoded,
 * definite-length input (what signatures are computed over): non-minimal
 * heads, indefinite lengths, floats, reserved codes and invalid UTF-8 are
 * refused. It is a pull decoder over caller memory; strings point into it.
 */
#ifndef BULWARK_CBOR_H
#define BULWARK_CBOR_H

#include <stddef.h>
#include <stdint.h>
#include "core.h"

#define BW_CBOR_MAX_DEPTH 16 /* nesting limit for skip/wellformed checks */

enum bw_cbor_type {
    BW_CBOR_UINT = 0,
    BW_CBOR_NINT = 1, /* value is -1 - val */
    BW_CBOR_BYTES = 2,
    BW_CBOR_TEXT = 3,
    BW_CBOR_ARRAY = 4,
    BW_CBOR_MAP = 5,
    BW_CBOR_TAG = 6,
    BW_CBOR_SIMPLE = 7
};

#define BW_CBOR_FALSE 20
#define BW_CBOR_TRUE 21
#define BW_CBOR_NULL 22
#define BW_CBOR_UNDEF 23

/* One decoded head. For strings, ptr/val give the content. For arrays and
 * maps val counts elements (pairs for maps); for tags val is the tag. */
struct bw_cbor_item {
    enum bw_cbor_type type;
    uint64_t val;
    const uint8_t *ptr;
    size_t start; /* offset of the head in the decoder's buffer */
};

struct bw_cbor_dec {
    struct bw_cur cur;
};

void bw_cbor_dec_init(struct bw_cbor_dec *d, const uint8_t *buf, size_t len);
static inline int bw_cbor_at_end(const struct bw_cbor_dec *d) { return bw_cur_left(&d->cur) == 0; }

/* Decodes the next head (and a string's content). Errors: BW_E_TRUNCATED,
 * BW_E_NONMINIMAL, BW_E_UNSUPPORTED (indefinite length, float),
 * BW_E_FORMAT (reserved codes, bad simple value, invalid UTF-8). A declared
 * array/map length larger than the bytes left is BW_E_TRUNCATED. */
BW_NODISCARD bw_err bw_cbor_next(struct bw_cbor_dec *d, struct bw_cbor_item *it);
/* Like next, but does not consume. */
BW_NODISCARD bw_err bw_cbor_peek(const struct bw_cbor_dec *d, struct bw_cbor_item *it);
/* Skips one complete data item; BW_E_DEPTH past BW_CBOR_MAX_DEPTH. */
BW_NODISCARD bw_err bw_cbor_skip(struct bw_cbor_dec *d);
/* Checks that buf holds exactly one well-formed item within the depth
 * limit (BW_E_TRAILING if bytes follow). *item_len gets its length; with
 * allow_trailing the item may be followed by other bytes. */
BW_NODISCARD bw_err bw_cbor_wellformed(const uint8_t *buf, size_t len, int allow_trailing,
                                       size_t *item_len);

/* Typed getters: BW_E_FORMAT when the next item has another type. */
BW_NODISCARD bw_err bw_cbor_get_uint(struct bw_cbor_dec *d, uint64_t *v);
/* Any integer in int64 range; BW_E_TOOBIG outside it. */
BW_NODISCARD bw_err bw_cbor_get_int(struct bw_cbor_dec *d, int64_t *v);
BW_NODISCARD bw_err bw_cbor_get_bytes(struct bw_cbor_dec *d, const uint8_t **p, size_t *n);
BW_NODISCARD bw_err bw_cbor_get_text(struct bw_cbor_dec *d, const uint8_t **p, size_t *n);
BW_NODISCARD bw_err bw_cbor_get_array(struct bw_cbor_dec *d, uint64_t *n);
BW_NODISCARD bw_err bw_cbor_get_map(struct bw_cbor_dec *d, uint64_t *n);
BW_NODISCARD bw_err bw_cbor_get_simple(struct bw_cbor_dec *d, uint64_t *v);
/* Consumes a tag if the next item is tag `tag`; *found says whether. */
BW_NODISCARD bw_err bw_cbor_opt_tag(struct bw_cbor_dec *d, uint64_t tag, int *found);

/* Encoder: minimal heads into a bw_wr (sticky error, dry-run sizing). */
void bw_cbor_put_head(struct bw_wr *w, enum bw_cbor_type t, uint64_t v);
void bw_cbor_put_uint(struct bw_wr *w, uint64_t v);
void bw_cbor_put_int(struct bw_wr *w, int64_t v);
void bw_cbor_put_bytes(struct bw_wr *w, const void *p, size_t n);
void bw_cbor_put_text(struct bw_wr *w, const char *p, size_t n);
void bw_cbor_put_array(struct bw_wr *w, uint64_t n);
void bw_cbor_put_map(struct bw_wr *w, uint64_t n);
void bw_cbor_put_tag(struct bw_wr *w, uint64_t tag);
void bw_cbor_put_simple(struct bw_wr *w, uint8_t v);
/* 1 if s[0..n) is valid UTF-8 (RFC 3629), else 0. */
int bw_utf8_valid(const uint8_t *s, size_t n);
/* Length (1-4) of the one well-formed UTF-8 sequence at p with left bytes
 * available, or 0 (the same RFC 3629 rule; for readers that walk text). */
size_t bw_utf8_seq(const uint8_t *p, size_t left);
/* Length of the head that encodes v. */
size_t bw_cbor_head_len(uint64_t v);

#endif
