/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release packages on the gateway: ingest (verify completely, then store
 * under the SHA-256 of the file in blob_dir/sha256/<hex>), the blob path of
 * a digest, and the HTTP helpers for serving blobs (Range, ETag). Not the
 * registry (db.h) and not the HTTP server (http.c).
 */
#ifndef BULWARK_GATEWAY_RELEASE_H
#define BULWARK_GATEWAY_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "bulwark/bulwark.h"
#include "db.h"

#define GW_DIGEST_HEX_LEN 64                       /* a SHA-256 in lowercase hex */
#define GW_ETAG_LEN (1 + 7 + GW_DIGEST_HEX_LEN + 1) /* "sha256-<hex>" with quotes */

/*
 * Verifies a release package completely and stores it by content address.
 *
 * upload_path: the uploaded package, a regular file the caller created and
 *   no one else writes (the gateway's blob_dir/tmp). It is consumed: on
 *   every return, success or not, the name upload_path no longer exists
 *   (moved into the store, or removed), so a refused upload leaves nothing
 *   behind. On the same filesystem as blob_dir it is hard-linked into place
 *   (no copy); elsewhere it is copied and the copy checked against the
 *   verified digest.
 * keys, nkeys: the release keys; the envelope must carry a signature that
 *   verifies with at least one of them.
 * vendor, class_: 16 bytes each; the manifest must assert both (required).
 * blob_dir: the blob store; blob_dir/sha256 is created on first use.
 * name, uploaded_by: copied into out; 1..GW_ID_MAX bytes, no control
 *   characters.
 * out: on BW_OK: digest (hex SHA-256 of the whole file), size, sequence,
 *   vendor_id and class_id (UUID text), name, uploaded_by; id and created
 *   are 0 (the registry sets them). Zeroed on error.
 *
 * Checks, in order: envelope framing and signature (any key), exactly one
 * component, vendor and class, sequence representable as int64, chunk list
 * against the signed digest, every chunk before the next is read, whole
 * image digest and size, nothing after the payload. The file is read once:
 * a thread reads it, hashes every byte and passes the bytes to the package
 * reader through a socket pair, so the digest and the verification cover the
 * same bytes. The file must not change meanwhile (size, mtime, ctime and
 * inode are compared before it is linked).
 *
 * Then the blob is stored: mode 0644, file fsynced before it gets its name,
 * directory fsynced after. If a blob with that digest exists it is kept
 * (the upload is removed) provided it is a regular file of the same size;
 * otherwise BW_E_TAMPER and nothing is changed.
 *
 * Errors: BW_E_INVAL (NULL argument, nkeys 0, bad name or uploaded_by),
 * BW_E_TOOBIG (name or uploaded_by longer than GW_ID_MAX, envelope over
 * BW_SUIT_ENVELOPE_MAX), any error of the package reader and SUIT parser:
 * BW_E_BADSIG, BW_E_DIGEST, BW_E_FORMAT, BW_E_TRUNCATED, BW_E_TRAILING,
 * BW_E_NONMINIMAL, BW_E_ALG, BW_E_CRITICAL, BW_E_UNSUPPORTED (also: more
 * than one component, sequence above INT64_MAX), BW_E_VENDOR, BW_E_CLASS,
 * BW_E_CHUNK, BW_E_SIZE, BW_E_NOMEM; BW_E_STATE if the file changed while
 * it was read; BW_E_TAMPER as above; BW_E_IO (reading, storing, fsync).
 * Thread-safe: concurrent ingests, of the same package too, are fine.
 */
BW_NODISCARD bw_err gw_release_ingest(const char *upload_path, const struct bw_ec_key *const *keys,
                                      size_t nkeys, const uint8_t vendor[16],
                                      const uint8_t class_[16], const char *blob_dir,
                                      const char *name, const char *uploaded_by,
                                      struct gw_release *out);

/*
 * Stores a maker's own artifact (kind "swu": an SWUpdate image, or
 * "mender": a Mender artifact; "delta": a delta package, checked by
 * gw_delta_check; the device verifies each itself) by
 * content address, without looking inside: the same
 * consumption of upload_path and the same blob store as
 * gw_release_ingest. out gets digest, md5, sha1, size, kind, name
 * and uploaded_by; sequence 0, vendor and class empty. Errors: BW_E_INVAL,
 * BW_E_TOOBIG (names), BW_E_STATE (the file changed while read),
 * BW_E_TAMPER, BW_E_IO, BW_E_NOMEM, BW_E_CRYPTO.
 */
BW_NODISCARD bw_err gw_release_store_artifact(const char *upload_path, const char *blob_dir,
                                              const char *kind, const char *name,
                                              const char *uploaded_by, struct gw_release *out);

/*
 * Stores upload_path in the blob store if its SHA-256 is expect: an
 * SBOM whose digest the release's manifest signs. upload_path is consumed
 * as by gw_release_ingest. Errors: BW_E_DIGEST (another file: nothing is
 * stored), BW_E_TRUNCATED (empty), BW_E_STATE, BW_E_TAMPER, BW_E_IO,
 * BW_E_NOMEM, BW_E_CRYPTO, BW_E_INVAL. Thread-safe.
 */
BW_NODISCARD bw_err gw_blob_store_expect(const char *upload_path, const char *blob_dir,
                                         const uint8_t expect[BW_SHA256_LEN]);

/* What the text member of a release's signed manifest says. */
struct gw_release_text {
    int has_sbom;                  /* BW_SUIT_TEXT_SBOM_DIGEST present */
    uint8_t sbom[BW_SHA256_LEN];   /* the SBOM's SHA-256 */
    int security_only;             /* BW_SUIT_TEXT_SECURITY_ONLY */
};

/* The envelope at the start of stored package pkg_digest (bwh_malloc'd
 * into *env, its length *env_len; trusted as stored). Errors: BW_E_INVAL,
 * BW_E_IO, bw_cbor_wellformed's, BW_E_NOMEM. Thread-safe. */
BW_NODISCARD bw_err gw_release_envelope(const char *blob_dir, const char *pkg_digest,
                                        uint8_t **env, size_t *env_len);

/*
 * Reads the text member of release package pkg_digest's manifest (the
 * envelope at the start of the stored blob, which was verified when it was
 * stored). Errors: BW_E_INVAL (not a digest), BW_E_IO (no such blob), the
 * SUIT parser's errors, BW_E_NOMEM. Thread-safe.
 */
BW_NODISCARD bw_err gw_release_text(const char *blob_dir, const char *pkg_digest,
                                    struct gw_release_text *out);

/*
 * blob_dir/sha256/<hex_digest> into out (cap bytes, NUL terminated).
 * hex_digest must be exactly 64 lowercase hex digits, so no request can
 * name any other file. Errors: BW_E_INVAL (not such a digest, NULL or empty
 * blob_dir), BW_E_NOMEM (cap too small; out is then ""). Thread-safe.
 */
BW_NODISCARD bw_err gw_blob_path(const char *blob_dir, const char *hex_digest, char *out,
                                 size_t cap);

/*
 * The ETag of a blob, "sha256-<hex>" with its quotes, into out (NUL
 * terminated). A strong validator: the digest names the bytes. BW_E_INVAL
 * if hex_digest is not 64 lowercase hex digits (out is then "").
 */
BW_NODISCARD bw_err gw_etag_format(const char *hex_digest, char out[GW_ETAG_LEN + 1]);

/*
 * Parses a Range header value (RFC 9110 section 14.2) for a representation
 * of size bytes; one byte range is served, anything else gets the full body.
 * header: the field value, or NULL when the request has none.
 * On BW_OK, *first and *last hold the inclusive range, clamped to the size:
 * first <= last < size. Otherwise they are 0.
 * Results (the HTTP layer's answer in brackets):
 *   BW_OK          a satisfiable single range [206 with Content-Range]
 *   BW_E_NOTFOUND  no header, a unit other than "bytes", or several ranges
 *                  [ignore the header: 200 with the full body; multipart
 *                  responses are not implemented, and RFC 9110 lets a
 *                  server ignore Range]
 *   BW_E_SIZE      well formed but unsatisfiable: first-pos >= size, a
 *                  suffix of 0, or size 0 [416, Content-Range: bytes, an
 *                  asterisk, a slash and the size]
 *   BW_E_FORMAT    not the grammar: empty, no "=", whitespace inside a
 *                  range, signs, last-pos < first-pos, a number above
 *                  2^64-1, anything else [ignore the header: 200 full body,
 *                  as RFC 9110 says for an invalid Range; never 400]
 * Whitespace: optional SP/HTAB around the whole value and around the commas
 * of the list (and empty list elements) are accepted; none inside a range
 * and none around "=". The unit is case-insensitive. Never overflows, reads
 * only up to the NUL. Thread-safe; no allocation, no dependencies.
 */
BW_NODISCARD bw_err gw_range_parse(const char *header, uint64_t size, uint64_t *first,
                                   uint64_t *last);

/*
 * If-None-Match (RFC 9110 13.1.2): 1 if the header ("*" or a list of entity
 * tags) matches etag with the weak comparison (W/ ignored on either side),
 * i.e. the client's copy is current [304]; 0 otherwise, also for NULL or a
 * malformed header [send the body]. Thread-safe.
 */
int gw_etag_if_none_match(const char *header, const char *etag);

/*
 * If-Range (RFC 9110 13.1.5): 1 if the header is one strong entity tag equal
 * to etag (strong comparison: a W/ tag never matches, neither does "*", a
 * list or an HTTP-date), i.e. the Range may be honoured; 0 otherwise [ignore
 * Range, send the full body]. NULL header: 1 (no condition). Thread-safe.
 */
int gw_etag_if_range(const char *header, const char *etag);

#endif
