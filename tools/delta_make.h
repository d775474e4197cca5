/* SPDX-License-Identifier: Apache-2.0 */
/* Making a delta package (tools/delta_make.c), for bulwark delta make. */
#ifndef BULWARK_DELTA_MAKE_H
#define BULWARK_DELTA_MAKE_H

#include "bwh/host.h"

struct delta_make_stats {
    uint64_t image_size, n_chunks;
    uint64_t n_copy, n_frame, n_whole; /* chunks: reused by index, delta frame, whole only */
    uint64_t meta_bytes;  /* header, envelope, list, compressed metadata */
    uint64_t frame_bytes; /* delta frames */
    uint64_t whole_bytes; /* whole frames */
};

/* Writes out_path (atomically) for devices running old_path: the package
 * pkg_path's envelope and list, the index and the frames (zstd level).
 * The package's chunks are verified against its list on the way (not its
 * signature: devices check that). *what names the file an error is about.
 * Errors: the package reader's, BW_E_IO, BW_E_NOMEM, BW_E_UNSUPPORTED
 * (a chunk size that is not a multiple of 4 KiB, an old image of 4 GiB). */
BW_NODISCARD bw_err delta_make(const char *old_path, const char *pkg_path, const char *out_path,
                               int level, struct delta_make_stats *st, const char **what);

#endif
