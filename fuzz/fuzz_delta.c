/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a delta package's header and metadata (host/delta.c): the
 * header's bounds, the metadata's decompression (never past its declared
 * length) and the records' and extents' checks, then the device's plan
 * against a running slot made of the input itself (extent reads must stay
 * inside it). Input: the 112-byte header, then the compressed metadata
 * (its length taken from what is left). */
#include <string.h>
#include "bwh/delta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bw_err mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    const struct bw_flash *f = ctx;

    if (off > f->size || len > f->size - off)
        __builtin_trap(); /* a read outside the slot */
    memset(buf, 0x5a, len);
    return BW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bwh_delta d;
    struct bwh_delta_slot idx;
    struct bwh_delta_plan p;
    struct bw_flash f;
    uint64_t i;

    memset(&d, 0, sizeof(d));
    if (bwh_delta_hdr_parse(data, size, &d.h) != BW_OK)
        return 0;
    d.h.meta_zlen = size - BWH_DELTA_HDR_LEN;
    d.meta_off = BWH_DELTA_HDR_LEN;
    if (bwh_delta_meta_parse(&d, data + BWH_DELTA_HDR_LEN, size - BWH_DELTA_HDR_LEN) == BW_OK) {
        for (i = 0; i < d.h.n_chunks; i++)
            if (d.rec[i].prefix_len > d.h.prefix_max || d.rec[i].whole_off < d.rec[i].delta_off)
                __builtin_trap();
        memset(&f, 0, sizeof(f));
        f.ctx = &f;
        f.size = d.h.source_size < (1u << 20) ? d.h.source_size : (1u << 20);
        f.read = mem_read;
        if (bwh_delta_slot_index(&idx, &f, d.h.source_size) == BW_OK) {
            if (bwh_delta_plan_make(&d, &idx, NULL, NULL, NULL, &p) == BW_OK)
                bwh_delta_plan_free(&p);
            bwh_delta_slot_free(&idx);
        }
    }
    bwh_delta_free(&d);
    return 0;
}
