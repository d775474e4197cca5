/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared inside the TUF client (host/tuf*.c), never included elsewhere:
 * one parsed metadata file, the strict JSON reader and canonical writer,
 * signature checks.
 */
#ifndef BULWARK_HOST_TUF_PRIV_H
#define BULWARK_HOST_TUF_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "bwh/tuf.h"

/* One metadata file as received: its exact bytes, the parsed tree and the
 * canonical form of its "signed" object (what the signatures cover). */
struct bwh__tuf_md {
    uint8_t *raw;
    size_t raw_len;
    json_t *doc;
    json_t *sg;       /* doc["signed"], borrowed */
    json_t *sigs;     /* doc["signatures"], borrowed */
    uint8_t *canon;
    size_t canon_len;
    char type[10];    /* root, timestamp, snapshot, targets */
    int64_t version;
    int64_t expires;  /* seconds since the epoch, UTC */
};

/* Strict parse: BW_E_FORMAT with err (cap bytes) saying why. */
BW_NODISCARD bw_err bwh__tuf_json_parse(const uint8_t *buf, size_t len, json_t **out, char *err,
                                       size_t cap);
/* The canonical form of v into *out (bwh_malloc'd): BW_E_FORMAT (a float),
 * BW_E_NOMEM. */
BW_NODISCARD bw_err bwh__tuf_json_canon(const json_t *v, uint8_t **out, size_t *out_len);

/* Whether sig_hex is a valid signature by key (a TUF key object) over
 * msg: BW_OK, BW_E_BADSIG, BW_E_KEY (key unusable), BW_E_UNSUPPORTED
 * (keytype/scheme). */
BW_NODISCARD bw_err bwh__tuf_sig_verify(const json_t *key, const char *sig_hex,
                                       const uint8_t *msg, size_t msg_len);

/* Parses raw as metadata and checks its structure for its _type. want: the
 * _type required, or NULL. BW_E_FORMAT (err says why), BW_E_NOMEM. */
BW_NODISCARD bw_err bwh__tuf_md_parse(const uint8_t *raw, size_t len, const char *want,
                                     struct bwh__tuf_md **out, char *err, size_t cap);
void bwh__tuf_md_free(struct bwh__tuf_md *m);
/* Checks that m is signed by threshold distinct keys of role (an object
 * with keyids and threshold) found in keys (keyid -> key object).
 * *verifies counts the signatures checked. BW_OK or BW_E_BADSIG with err. */
BW_NODISCARD bw_err bwh__tuf_md_verify(const struct bwh__tuf_md *m, const json_t *keys,
                                      const json_t *role, unsigned *verifies, char *err,
                                      size_t cap);
/* The role object name (root, timestamp, snapshot, targets) of a root. */
const json_t *bwh__tuf_root_role(const struct bwh__tuf_md *root, const char *name);
/* Checks a file's bytes against a meta or target entry (length, hashes):
 * BW_OK, BW_E_DIGEST, BW_E_UNSUPPORTED (unknown hash algorithm). */
BW_NODISCARD bw_err bwh__tuf_check_file(const json_t *info, const uint8_t *b, size_t n, char *err,
                                       size_t cap);

#endif
