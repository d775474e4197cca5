/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the MPS2 board's parser of the length in a gateway agent's
 * "install N" request (port/mps2/proto.c). Any input is refused (0) or is
 * a plain decimal number from 1 to the cap, which it returns. */
#include <string.h>

#include "board.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint64_t max = 4096 + 2048 + 2 * MPS2_BANK_SIZE;
    char line[64];
    uint64_t v, back = 0;
    size_t i;

    if (size >= sizeof(line))
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    v = mps2_install_len(line, max);
    if (v == 0)
        return 0;
    if (v > max || line[0] == '0')
        __builtin_trap();
    for (i = 0; line[i]; i++) {
        if (line[i] < '0' || line[i] > '9')
            __builtin_trap();
        back = back * 10 + (uint64_t)(line[i] - '0');
    }
    if (back != v)
        __builtin_trap();
    return 0;
}
