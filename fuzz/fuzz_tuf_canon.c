/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the TUF client's strict JSON reader and canonical writer
 * (host/tuf_json.c via bwh_tuf_canonical). Whatever is accepted, its
 * canonical form, when it holds no control character (canonical JSON
 * writes them raw, which strict JSON refuses), must itself be accepted and
 * be its own canonical form: the writer is a fixed point, so signatures
 * cannot depend on layout. */
#include <string.h>

#include "bwh/host.h"
#include "bwh/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has_ctl(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] < 0x20)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;

    if (bwh_tuf_canonical(data, size, &a, &al) == BW_OK && !has_ctl(a, al)) {
        if (bwh_tuf_canonical(a, al, &b, &bl) != BW_OK || al != bl || memcmp(a, b, al) != 0)
            __builtin_trap();
    }
    bwh_free(a);
    bwh_free(b);
    return 0;
}
