/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the compressed-chunk reader of a compressed package
 * (host/pkg.c): the length table's parse and bounds, then the entries
 * decoded into buffers of exactly the chunk's size (ASan sees a byte
 * written past one). Input: 1 byte of mode (bit 0: one stream flushed at
 * each chunk, else one frame per chunk), 2 bytes of chunk size (1 to
 * 65536), 8 bytes of length table (two entries), then the compressed bytes,
 * cut into the two entries by the table where it fits. */
#include <string.h>
#include "bwh/host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t lens[2];
    size_t want, rest, l0;
    const uint8_t *z;
    uint8_t *dst;
    void *dctx;
    bw_err rc;

    if (size < 11)
        return 0;
    want = ((size_t)data[1] << 8 | data[2]) + 1;
    z = data + 11;
    rest = size - 11;
    rc = bwh_zchunk_table(data + 3, 2, BW_SUIT_CHUNK_SIZE, lens);
    if (rc == BW_OK && (lens[0] == 0 || lens[0] > bwh_zchunk_bound(BW_SUIT_CHUNK_SIZE)))
        __builtin_trap(); /* a length outside the bound was accepted */
    dst = bwh_malloc(want);
    if (!dst)
        return 0;
    if (!(data[0] & 1)) {
        rc = bwh_zchunk_decode(NULL, dst, want, z, rest);
    } else if ((dctx = bwh_zchunk_dctx()) != NULL) {
        /* two chunks of `want` bytes: the first entry is lens[0] bytes
         * when the table parsed and fits, else half of the input */
        l0 = rc == BW_OK && lens[0] <= rest ? lens[0] : rest / 2;
        rc = bwh_zchunk_stream(dctx, dst, want, z, l0, 2 * (uint64_t)want, 1, 0);
        if (rc == BW_OK)
            rc = bwh_zchunk_stream(dctx, dst, want, z + l0, rest - l0, 2 * (uint64_t)want, 0, 1);
        bwh_zchunk_dctx_free(dctx);
    }
    (void)rc;
    bwh_free(dst);
    return 0;
}
