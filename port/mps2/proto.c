/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The board's side of the gateway agent's UART protocol that is parsing:
 * the length of an "install N" request. Portable C, so the host fuzzes it
 * (fuzz/fuzz_mps2_request.c); the request loop is app.c's serve().
 */
#include "board.h"

uint64_t mps2_install_len(const char *s, uint64_t max)
{
    uint64_t v = 0;

    if (!*s || *s == '0')
        return 0; /* empty, or not the shortest form */
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > max / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v <= max ? v : 0;
}
