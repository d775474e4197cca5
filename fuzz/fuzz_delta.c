/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a delta package's header, plan and index section
 * (host/delta.c): the header's bounds, each section's decompression (never
 * past its declared length), the plan's operations, extents and runs, the
 * whole lengths, then the chunk list rebuilt from a running slot and the
 * slot's content index (every read must stay inside the slot). Input: the
 * 128-byte header, the compressed plan (the header's meta_zlen bytes),
 * then the compressed index section (what is left). */
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
    struct bw_flash f;
    uint8_t *list;
    size_t zl;
    int ok;
    uint64_t i;

    memset(&d, 0, sizeof(d));
    if (bwh_delta_hdr_parse(data, size, &d.h) != BW_OK || d.h.meta_zlen > size - BWH_DELTA_HDR_LEN)
        return 0;
    zl = (size_t)d.h.meta_zlen;
    d.meta_off = BWH_DELTA_HDR_LEN;
    if (bwh_delta_meta_parse(&d, data + BWH_DELTA_HDR_LEN, zl) == BW_OK) {
        d.h.idx_zlen = size - BWH_DELTA_HDR_LEN - zl;
        if (bwh_delta_index_parse(&d, data + BWH_DELTA_HDR_LEN + zl, (size_t)d.h.idx_zlen) ==
            BW_OK)
            for (i = 0; i < d.h.n_chunks; i++)
                if (d.rec[i].whole_off < d.rec[i].delta_off ||
                    d.rec[i].whole_off + d.rec[i].whole_len > d.file_len)
                    __builtin_trap();
        for (i = 0; i < d.h.n_chunks; i++)
            if (d.rec[i].prefix_len > d.h.prefix_max || d.rec[i].delta_off > d.file_len)
                __builtin_trap();
        memset(&f, 0, sizeof(f));
        f.ctx = &f;
        f.size = d.h.source_size < (1u << 20) ? d.h.source_size : (1u << 20);
        f.read = mem_read;
        list = bwh_malloc(d.h.list_len ? (size_t)d.h.list_len : 1);
        if (list && bwh_delta_list_rebuild(&d, &f, list, &ok) == BW_OK)
            (void)ok;
        bwh_free(list);
        if (bwh_delta_slot_index(&idx, &f, d.h.source_size) == BW_OK)
            bwh_delta_slot_free(&idx);
    }
    bwh_delta_free(&d);
    return 0;
}
