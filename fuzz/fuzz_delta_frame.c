/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: one delta frame decoded against its prefix dictionary
 * (bwh_delta_decode, host/delta.c) into a buffer of exactly the chunk's
 * size (ASan sees a byte written past it). Input: 2 bytes of chunk size
 * (1 to 65536), 3 bytes of prefix length (cut to what is there), the
 * prefix, then the frame. */
#include <string.h>
#include "bwh/delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t want, plen;
    uint8_t *dst;
    void *dctx;
    bw_err rc;

    if (size < 5)
        return 0;
    want = ((size_t)data[0] << 8 | data[1]) + 1;
    plen = (size_t)data[2] << 16 | (size_t)data[3] << 8 | data[4];
    data += 5;
    size -= 5;
    if (plen > size)
        plen = size;
    dst = bwh_malloc(want);
    dctx = bwh_zchunk_dctx();
    if (dst && dctx) {
        rc = bwh_delta_decode(dctx, dst, want, data + plen, size - plen, plen ? data : NULL, plen);
        (void)rc;
        /* the context is reused: a frame without prefix must not see the last one */
        rc = bwh_delta_decode(dctx, dst, want, data + plen, size - plen, NULL, 0);
        (void)rc;
    }
    bwh_zchunk_dctx_free(dctx);
    bwh_free(dst);
    return 0;
}
