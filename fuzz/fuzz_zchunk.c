/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the compressed-chunk reader of a compressed package
 * (host/pkg.c): the length table's parse and bounds, then one chunk's
 * zstd frame decoded into a buffer of exactly the chunk's size (ASan sees
 * a byte written past it). Input: 2 bytes of chunk size (1 to 65536),
 * 8 bytes of length table (two entries), then the frame. */
#include <string.h>
#include "bwh/host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t lens[2];
    size_t want;
    uint8_t *dst;
    bw_err rc;

    if (size < 10)
        return 0;
    want = ((size_t)data[0] << 8 | data[1]) + 1;
    rc = bwh_zchunk_table(data + 2, 2, BW_SUIT_CHUNK_SIZE, lens);
    if (rc == BW_OK && (lens[0] == 0 || lens[0] > bwh_zchunk_bound(BW_SUIT_CHUNK_SIZE)))
        __builtin_trap(); /* a length outside the bound was accepted */
    dst = bwh_malloc(want);
    if (!dst)
        return 0;
    rc = bwh_zchunk_decode(NULL, dst, want, data + 10, size - 10);
    (void)rc;
    bwh_free(dst);
    return 0;
}
