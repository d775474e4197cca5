/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the gateway's route matcher (gateway/routes.c), which reads
 * every request's method and path before anything else. Input: "METHOD
 * PATH". Checks that captures lie inside the path and an {id} is > 0. */
#include <stdint.h>
#include <string.h>

#include "bwh/host.h"
#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct gw_route *rt, *wm;
    struct gw_req q;
    char *buf, *sp;
    size_t i, plen;

    buf = bwh_malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    sp = strchr(buf, ' ');
    if (!sp) {
        bwh_free(buf);
        return 0;
    }
    *sp = 0;
    plen = strlen(sp + 1);
    memset(&q, 0, sizeof(q));
    rt = gw_route_match(buf, sp + 1, &q, &wm);
    if (rt) {
        if (wm && (wm < rt || strcmp(wm->pattern, rt->pattern)))
            __builtin_trap();
        for (i = 0; i < 2; i++)
            if (q.cap[i] && (q.cap[i] < sp + 1 || q.cap[i] + q.cap_len[i] > sp + 1 + plen))
                __builtin_trap();
        if (strstr(rt->pattern, "{id}") && q.id <= 0)
            __builtin_trap();
    } else if (wm) {
        __builtin_trap();
    }
    bwh_free(buf);
    return 0;
}
