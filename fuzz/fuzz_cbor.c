/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the CBOR decoder (well-formedness walk, then a typed walk). */
#include "bulwark/bulwark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bw_cbor_dec d;
    struct bw_cbor_item it;
    size_t len;

    if (bw_cbor_wellformed(data, size, 1, &len) == BW_OK && len > size)
        __builtin_trap();
    bw_cbor_dec_init(&d, data, size);
    while (bw_cbor_next(&d, &it) == BW_OK)
        if ((it.type == BW_CBOR_BYTES || it.type == BW_CBOR_TEXT) && it.ptr + it.val > data + size)
            __builtin_trap();
    return 0;
}
