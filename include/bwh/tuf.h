/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TUF client (The Update Framework, specification 1.0.x) in the host
 * library (host/tuf*.c): it keeps a directory of trusted metadata up to
 * date from a repository over HTTP and downloads targets that the
 * metadata vouches for. Root rotation chains, thresholds over distinct
 * keys, expiry, rollback and fast-forward checks and recovery, consistent
 * snapshots, delegations (path patterns, terminating, hash bins), lengths
 * and hashes of every file, bounded sizes and timeouts. Metadata is JSON
 * (jansson) signed over its canonical form; keys ecdsa-sha2-nistp256,
 * ed25519, rsassa-pss-sha256 (and rsa-pkcs1v15-sha256) through OpenSSL.
 * Not a repository tool, no mirrors, no TAP 4, no DSSE envelopes.
 */
#ifndef BULWARK_BWH_TUF_H
#define BULWARK_BWH_TUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bulwark/err.h"

/* Download caps of a role whose length nothing signed gives (python-tuf's). */
#define BWH_TUF_ROOT_MAX 512000
#define BWH_TUF_TIMESTAMP_MAX 16384
#define BWH_TUF_SNAPSHOT_MAX 2000000
#define BWH_TUF_TARGETS_MAX 5000000
#define BWH_TUF_ROOT_ROTATIONS 256 /* new root versions in one refresh */
#define BWH_TUF_DELEGATIONS 32     /* roles visited in one target search */
#define BWH_TUF_CONNECT_S 10
#define BWH_TUF_TIMEOUT_S 60       /* one request, whole */

struct bwh_tuf_opts {
    const char *metadata_dir; /* trusted metadata: root.json, ... (exists) */
    const char *metadata_url; /* the repository's metadata, e.g. http://h/metadata/ */
    const char *target_dir;   /* where targets are stored (exists), or NULL */
    const char *target_url;   /* the repository's targets, or NULL */
    unsigned connect_s;       /* connection timeout (0: BWH_TUF_CONNECT_S) */
    unsigned timeout_s;       /* each request ends after this, and a request that
                               * receives less than 100 bytes/s over a window of
                               * min(timeout_s, 60) s ends then (0: BWH_TUF_TIMEOUT_S) */
    FILE *log;                /* a line per step and per refusal, or NULL */
};

/* What one client did, for benches and tests. */
struct bwh_tuf_stats {
    unsigned requests;  /* HTTP requests made */
    uint64_t bytes;     /* body bytes received */
    unsigned verifies;  /* signatures checked */
};

struct bwh_tuf;

/* A client over o's directories and URLs (the strings are copied). No
 * I/O yet. BW_E_NOMEM, BW_E_INVAL (no metadata_dir or metadata_url). Free
 * with bwh_tuf_free (NULL-safe). One handle per thread. */
BW_NODISCARD bw_err bwh_tuf_new(struct bwh_tuf **t, const struct bwh_tuf_opts *o);
void bwh_tuf_free(struct bwh_tuf *t);

/* Trust on first use: checks that root (len bytes) is root metadata signed
 * by a threshold of its own root keys (its expiry is not checked) and
 * writes it as metadata_dir/root.json (other files there stay; a refresh
 * uses them only if they verify under the roots it trusts). No network.
 * log: a line per step, or NULL. BW_E_FORMAT, BW_E_BADSIG, BW_E_IO. */
BW_NODISCARD bw_err bwh_tuf_init(const char *metadata_dir, const uint8_t *root, size_t len,
                                 FILE *log);

/* The TUF client workflow (spec 5.3 to 5.5): the trusted root, then each
 * newer root version, then timestamp, snapshot and top-level targets,
 * each verified and written to metadata_dir (exact bytes, atomically) as
 * soon as it is trusted. BW_OK, or the first refusal: BW_E_BADSIG,
 * BW_E_ROLLBACK, BW_E_EXPIRED, BW_E_DIGEST (length or hash), BW_E_FORMAT,
 * BW_E_TOOBIG (over a cap), BW_E_NOTFOUND (a file the repository must
 * have is missing), BW_E_IO (network or disk); bwh_tuf_error says why. */
BW_NODISCARD bw_err bwh_tuf_refresh(struct bwh_tuf *t);

/* Finds target path (refreshing first when this handle has not), through
 * the delegations in pre-order, and stores it in target_dir as
 * pct(path) after its length and every listed hash verified; a file
 * there that already matches is kept without a download. *cached (may be
 * NULL) tells which. The errors of bwh_tuf_refresh, BW_E_NOTFOUND (no
 * role vouches for path), BW_E_UNSUPPORTED (an unknown hash algorithm),
 * BW_E_INVAL (no target_dir or target_url). */
BW_NODISCARD bw_err bwh_tuf_download(struct bwh_tuf *t, const char *path, int *cached);

/* Why the last call failed (one line; "" when none did). */
const char *bwh_tuf_error(const struct bwh_tuf *t);
void bwh_tuf_get_stats(const struct bwh_tuf *t, struct bwh_tuf_stats *s);

/* Percent-encodes s as TUF names roles in URLs and file names: every byte
 * but A-Z a-z 0-9 - . _ ~ as %XX. BW_E_NOMEM when out (cap) is too small. */
BW_NODISCARD bw_err bwh_tuf_pct(const char *s, char *out, size_t cap);

/* Parses json strictly (duplicate object keys, floats, invalid UTF-8,
 * NUL in strings, nesting deeper than 64 refused: BW_E_FORMAT) and writes
 * its canonical form (OLPC / securesystemslib: sorted keys, no
 * whitespace, only \ and " escaped) to *out (bwh_malloc'd). */
BW_NODISCARD bw_err bwh_tuf_canonical(const uint8_t *json, size_t len, uint8_t **out,
                                      size_t *out_len);

/* Parses buf as TUF metadata of any role and checks its structure; a root
 * must also be signed by a threshold of its own keys. For fuzzing and
 * tests. BW_E_FORMAT, BW_E_BADSIG, BW_E_NOMEM. */
BW_NODISCARD bw_err bwh_tuf_check(const uint8_t *buf, size_t len, char *err, size_t cap);

#endif
