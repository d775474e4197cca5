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
    const char *cacert;       /* https: PEM CA bundle the server must chain to
                               * (NULL: the system's store) */
    struct bwh_http *http;    /* an HTTP client to borrow (not freed; cacert is
                               * then its business), e.g. one whose connection
                               * to the same server stays open for other
                               * requests; NULL: the handle makes its own */
};

/* What one client did, for benches and tests. */
struct bwh_tuf_stats {
    unsigned requests;  /* HTTP requests made */
    uint64_t bytes;     /* body bytes received */
    unsigned verifies;  /* signatures checked */
};

struct bwh_tuf;
struct bwh_http;

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

/* bwh_tuf_init of the file root_path (at most BWH_TUF_ROOT_MAX bytes),
 * creating metadata_dir (mode 0700) when it does not exist: how
 * provisioning installs a device's first root. */
BW_NODISCARD bw_err bwh_tuf_init_file(const char *metadata_dir, const char *root_path, FILE *log);

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

/* What a target's entry says (bwh_tuf_target): its length, SHA-256 and
 * bulwark's custom metadata (bwh_tuf_repo_add_target). has_custom is 0
 * when the entry carries no "bulwark" object; a field it lacks is empty
 * (sequence: has_sequence 0). */
struct bwh_tuf_target {
    uint64_t length;
    char sha256[65];      /* lowercase hex; "" when not listed */
    int has_custom, has_sequence;
    char vendor_id[37], class_id[37]; /* UUID strings as listed */
    uint64_t sequence;
    char hardware[201];
};

/* Finds target path as bwh_tuf_download does (refreshing first when this
 * handle has not) and fills *out from its entry; nothing is downloaded.
 * BW_E_NOTFOUND (no role lists path), BW_E_FORMAT (an entry whose custom
 * fields have the wrong types or sizes), the errors of bwh_tuf_refresh. */
BW_NODISCARD bw_err bwh_tuf_target(struct bwh_tuf *t, const char *path,
                                   struct bwh_tuf_target *out);

/* What the last refresh trusted (0: nothing yet, or it failed before). */
struct bwh_tuf_versions {
    int64_t root_was;   /* the trusted root's version when the refresh began */
    int64_t root;       /* ... when it ended: more than root_was after a rotation */
    int64_t timestamp, snapshot, targets;
    int64_t ts_expires; /* the timestamp's expiry, seconds since the epoch */
};
void bwh_tuf_get_versions(const struct bwh_tuf *t, struct bwh_tuf_versions *v);

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

/*
 * Repository tooling (host/tuf_repo.c, `bulwark repo`): a directory
 *   DIR/staged/ROLE.json   root or targets metadata waiting for signatures
 *   DIR/metadata/          what a static web server publishes: N.root.json,
 *                          N.targets.json, N.snapshot.json, timestamp.json,
 *                          and ROLE.json copies of the newest of each
 *   DIR/targets/           targets by hash prefix: SHA256HEX.NAME
 * Consistent snapshots are always on. Root and targets are offline roles:
 * a change is staged unsigned, each key holder signs it on their own
 * machine (bwh_tuf_repo_sign) and the signatures are merged; the file is
 * published when it meets its threshold (a new root: that of the previous
 * root's root role too). Snapshot and timestamp are online roles, signed
 * in one step. Keys: a P-256 private key file (PEM/DER) or a device-key
 * URI (pkcs11:..., tpm:..., file:...?storage-key=; include/bwh/identity.h);
 * public keys are P-256 PEM/DER files; key type ecdsa, scheme
 * ecdsa-sha2-nistp256, keyid the SHA-256 of the key object's canonical form.
 * Every function checks all its input before it writes; on an error
 * nothing on disk has changed and err (cap bytes) says why. Errors:
 * BW_E_INVAL (bad argument), BW_E_EXISTS (init over a repository),
 * BW_E_NOTFOUND (a file or key the step needs), BW_E_FORMAT, BW_E_KEY,
 * BW_E_BADSIG, BW_E_STATE (the step does not fit the repository's state,
 * e.g. a duplicate signature), BW_E_IO, BW_E_NOMEM.
 */
#define BWH_TUF_REPO_KEYS 32 /* keys given to one call */

/* Default expiry of each role, days. */
#define BWH_TUF_DAYS_ROOT 365
#define BWH_TUF_DAYS_TARGETS 90
#define BWH_TUF_DAYS_SNAPSHOT 7
#define BWH_TUF_DAYS_TIMESTAMP 1

struct bwh_tuf_repo_init {
    const char *root_pubs[BWH_TUF_REPO_KEYS];
    unsigned n_root, root_threshold; /* k of n */
    const char *targets_pub, *snapshot_pub, *timestamp_pub;
    unsigned root_days, targets_days; /* 0: the defaults */
};

/* Creates DIR (or uses an existing DIR without staged/, metadata/ and
 * targets/) with staged/root.json (version 1, unsigned, the given keys,
 * targets, snapshot and timestamp threshold 1) and staged/targets.json
 * (version 1, no targets, unsigned). */
BW_NODISCARD bw_err bwh_tuf_repo_create(const char *dir, const struct bwh_tuf_repo_init *in,
                                        char *err, size_t cap);

/* Signs the metadata file rolefile with key (see above) and returns a
 * signature file in *out (bwh_malloc'd JSON, NUL-ended): role, version,
 * the SHA-256 of the canonical signed part, keyid, sig. No repository is
 * needed: a key holder runs it on their own machine. log: what is being
 * signed (version, expiry, each role's keys and threshold, each target),
 * for the holder to review, or NULL. */
BW_NODISCARD bw_err bwh_tuf_repo_sign(const char *rolefile, const char *key, char **out,
                                      FILE *log, char *err, size_t cap);

/* Merges the signature files sigs[0..n) into DIR/staged/ROLE.json (the
 * role each names). All or nothing: a signature for another version or
 * other content, by a key the role does not list, that does not verify,
 * or by a key that already signed is refused. Publishes the file when it
 * meets its threshold(s); *published (may be NULL) tells. log: a line
 * per signature and the state, or NULL. */
BW_NODISCARD bw_err bwh_tuf_repo_merge(const char *dir, const char *const *sigs, size_t n,
                                       int *published, FILE *log, char *err, size_t cap);

/* Parses a signature file as merge does (for fuzzing and tests):
 * BW_E_FORMAT, BW_E_TOOBIG (over 64 KiB), BW_E_NOMEM. No signature check. */
BW_NODISCARD bw_err bwh_tuf_repo_check_sigfile(const uint8_t *buf, size_t len, char *err,
                                               size_t cap);

enum bwh_tuf_key_op { BWH_TUF_KEY_ADD, BWH_TUF_KEY_REVOKE, BWH_TUF_KEY_ROTATE };

/* Stages a new root version (from the staged one, or the published one
 * plus one) with role's keys changed: ADD the keys pubs, REVOKE the keys
 * pubs (each a public key file or a keyid), ROTATE: pubs replace all.
 * threshold: the role's new threshold (0: keep; more than the keys left
 * is BW_E_INVAL). days: the root's expiry (0: default).
 * Staged signatures are dropped (the content changed). */
BW_NODISCARD bw_err bwh_tuf_repo_keys(const char *dir, enum bwh_tuf_key_op op, const char *role,
                                      const char *const *pubs, size_t n, unsigned threshold,
                                      unsigned days, char *err, size_t cap);

/* Stages a new version of role (root or targets) with the same content
 * and a fresh expiry (days, 0: default), for the holders to sign: to
 * extend an expiry, or to have targets signed again by the keys of a new
 * root. Staged signatures are dropped. */
BW_NODISCARD bw_err bwh_tuf_repo_renew(const char *dir, const char *role, unsigned days,
                                       char *err, size_t cap);

/* Publishes the SUIT package pkg as target name: authenticates it with
 * release_pub and verifies every chunk (bwh_pkg_open, bwh_pkg_verify),
 * copies it to DIR/targets/SHA256.NAME and stages targets metadata with
 * the entry: length, sha256, custom {"bulwark": {vendor_id, class_id,
 * sequence, hardware}} from the authenticated manifest (hardware: hw, a
 * free string). name: [A-Za-z0-9._-] without a leading dot (NULL: the
 * package's file name). days: targets expiry (0: default). */
BW_NODISCARD bw_err bwh_tuf_repo_add_target(const char *dir, const char *pkg,
                                            const char *release_pub, const char *name,
                                            const char *hw, unsigned days, char *err,
                                            size_t cap);

/* Whether s is a name this tooling gives a target or a metadata file:
 * 1 to 200 bytes of [A-Za-z0-9._-], no leading dot. */
int bwh_tuf_repo_name_ok(const char *s);

/* The online roles: role "snapshot" writes N+1.snapshot.json over the
 * published targets, "timestamp" timestamp.json over the published
 * snapshot, signed with key (which the root must list for the role). */
BW_NODISCARD bw_err bwh_tuf_repo_online(const char *dir, const char *role, const char *key,
                                        unsigned days, char *err, size_t cap);

/* bwh_tuf_repo_online with the expiry in seconds from now (1 s to 10
 * years). */
BW_NODISCARD bw_err bwh_tuf_repo_online_s(const char *dir, const char *role, const char *key,
                                          int64_t seconds, char *err, size_t cap);

/* What a host of the repository (the gateway) runs on a schedule with the
 * online keys: signs a new snapshot when the published targets changed or
 * the snapshot has less than half of snapshot_s left, then a new timestamp
 * when the snapshot changed or the timestamp has less than half of
 * timestamp_s left. *made: bit 0 snapshot, bit 1 timestamp signed.
 * BW_E_STATE when no targets metadata is published yet. */
BW_NODISCARD bw_err bwh_tuf_repo_freshen(const char *dir, const char *snapshot_key,
                                         const char *timestamp_key, int64_t snapshot_s,
                                         int64_t timestamp_s, unsigned *made, char *err,
                                         size_t cap);

/* Whether name is a target of the published targets metadata of DIR,
 * verified under the published root (threshold, expiry), with length
 * bytes and SHA-256 sha256 (64 lowercase hex digits): BW_OK; BW_E_NOTFOUND
 * (not listed, or nothing published), BW_E_DIGEST (length or hash
 * differ), BW_E_BADSIG (below threshold), BW_E_EXPIRED, the loader's
 * errors. Top-level targets only: a release listed only by a delegated
 * role is not offered. */
BW_NODISCARD bw_err bwh_tuf_repo_target_ok(const char *dir, const char *name, const char *sha256,
                                           uint64_t length, char *err, size_t cap);

/* Writes what expires when and which roles lack signatures to out (a
 * line per role, or one JSON object when json). *problems: roles expired,
 * expiring within a quarter of their default lifetime, or below their
 * threshold under the published root. */
BW_NODISCARD bw_err bwh_tuf_repo_status(const char *dir, FILE *out, int json, unsigned *problems,
                                        char *err, size_t cap);

#endif
