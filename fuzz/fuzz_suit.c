/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: SUIT envelope parsing without a key (every check past the
 * signature is reached), the queries a caller makes afterwards, and
 * try-each selection for each slot. */
#include "bulwark/bulwark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bw_suit s;
    struct bw_suit_bytes pl;
    uint64_t n, l;
    unsigned c;

    if (bw_suit_parse(data, size, NULL, &s) != BW_OK)
        return 0;
    if (s.authenticated || s.n_components == 0 || s.n_components > BW_SUIT_MAX_COMPONENTS)
        __builtin_trap();
    for (c = 0; c < s.n_components; c++) {
        if (bw_suit_integrated(&s, c, &pl) == BW_OK &&
            (pl.p < data || pl.p + pl.len > data + size))
            __builtin_trap();
        if (bw_suit_chunk_layout(&s, c, &n, &l) == BW_OK && l != n * 32)
            __builtin_trap();
    }
    for (c = 0; c < 2; c++) {
        struct bw_suit t = s;

        if (bw_suit_select(&t, (uint8_t)c) != BW_OK) {
            if (t.n_components || t.manifest.p)
                __builtin_trap(); /* a refused selection leaves nothing */
            continue;
        }
        if (t.slot != c || t.n_components != s.n_components || t.authenticated)
            __builtin_trap();
        if (!s.try_each && !s.slot_cond &&
            (t.comp[0].has_digest != s.comp[0].has_digest ||
             t.comp[0].image_size != s.comp[0].image_size))
            __builtin_trap(); /* no try-each: the slot changes nothing */
        if (bw_suit_chunk_layout(&t, 0, &n, &l) == BW_OK && l != n * 32)
            __builtin_trap();
    }
    return 0;
}
