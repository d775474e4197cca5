/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: SUIT envelope parsing without a key (every check past the
 * signature is reached) and the queries a caller makes afterwards. */
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
    return 0;
}
