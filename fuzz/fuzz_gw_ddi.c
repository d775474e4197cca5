/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the hawkBit DDI parsers (gateway/ddi.c). The first byte
 * picks: feedback, configData (then applied to fixed attributes), a
 * request path, or a confirmation feedback. Checks that whatever is accepted is within the caps. */
#include <string.h>

#include "ddi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a segment that could leave its directory: empty (unless allowed), ".",
 * "..", or with a '/' */
static int bad_seg(const char *s, int may_be_empty)
{
    return (!s[0] && !may_be_empty) || !strcmp(s, ".") || !strcmp(s, "..") || strchr(s, '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_ddi_feedback f;
    static struct gw_ddi_config c;
    static struct gw_ddi_confirmation cf;
    static struct gw_ddi_path p;
    static char out[GW_ATTRS_MAX + 1], path[4096];
    const char *why = "";

    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        if (gw_ddi_parse_feedback(data + 1, size - 1, &f, &why) == BW_OK &&
            (strlen(f.details) > GW_FEEDBACK_MAX || gw_ddi_state(&f) < GW_ACTION_RUNNING ||
             gw_ddi_state(&f) > GW_ACTION_FAILURE))
            __builtin_trap();
        break;
    case 1:
        if (gw_ddi_parse_config(data + 1, size - 1, &c, &why) == BW_OK) {
            if (strlen(c.data) > GW_ATTRS_MAX)
                __builtin_trap();
            if (gw_ddi_apply_config("{\"group\":\"lab\"}", &c, out) == BW_OK &&
                strlen(out) > GW_ATTRS_MAX)
                __builtin_trap();
        }
        break;
    case 3:
        if (gw_ddi_parse_confirmation(data + 1, size - 1, &cf, &why) == BW_OK &&
            (strlen(cf.details) > GW_FEEDBACK_MAX || (cf.confirmed != 0 && cf.confirmed != 1)))
            __builtin_trap();
        break;
    default:
        if (size - 1 >= sizeof(path))
            return 0;
        memcpy(path, data + 1, size - 1);
        path[size - 1] = 0;
        if (gw_ddi_route(path, &p) == BW_OK &&
            (bad_seg(p.tenant, 0) || bad_seg(p.controller, 0) || bad_seg(p.file, 1)))
            __builtin_trap();
        break;
    }
    if (!why)
        __builtin_trap();
    return 0;
}
