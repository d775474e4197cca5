/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta packages a release is served with (docs/delta.md, docs/gateway.md):
 * built offline against a named source release and uploaded; stored in
 * the blob store by content address, with a small record per release and
 * source sequence (blob_dir/delta/<release digest>-<source sequence>).
 */
#ifndef BULWARK_GW_DELTA_H
#define BULWARK_GW_DELTA_H

#include <stdint.h>

#include "bulwark/bulwark.h"
#include "db.h"

struct gw_delta_info {
    char digest[65];    /* SHA-256 of the delta file: its blob */
    uint64_t size;      /* bytes of the delta file */
    uint64_t predicted; /* bytes a device running the source fetches */
    uint64_t source_sequence;
    int64_t source_release;
};

/*
 * Checks a delta file (path) made for release rel against source src: its
 * header and metadata parse, its envelope is byte for byte rel's stored
 * envelope, and the image it was made against is src's (the SHA-256 and
 * size src's manifest signs for its image). Fills out's size, predicted,
 * source fields (not digest). Errors: BW_E_INVAL (another release's
 * envelope), BW_E_DIGEST (another source), the parsers', BW_E_IO,
 * BW_E_NOMEM.
 */
BW_NODISCARD bw_err gw_delta_check(const char *blob_dir, const char *path,
                                   const struct gw_release *rel, const struct gw_release *src,
                                   struct gw_delta_info *out);
/* Records info (digest set: the stored blob) for rel. BW_E_IO. */
BW_NODISCARD bw_err gw_delta_record(const char *blob_dir, const struct gw_release *rel,
                                    const struct gw_delta_info *info);
/* The delta rel is served with to a device running source_sequence.
 * BW_E_NOTFOUND when there is none. */
BW_NODISCARD bw_err gw_delta_find(const char *blob_dir, const struct gw_release *rel,
                                  uint64_t source_sequence, struct gw_delta_info *out);
/* Calls fn for each delta of rel (any order). */
void gw_delta_each(const char *blob_dir, const struct gw_release *rel,
                   void (*fn)(void *arg, const struct gw_delta_info *info), void *arg);

#endif
