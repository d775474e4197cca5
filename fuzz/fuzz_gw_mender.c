/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the Mender device API parsers (gateway/mender.c). The first
 * byte picks: auth request (with a fixed, wrong signature: the parser must
 * refuse it, whatever the body), inventory, deployments/next, status.
 * Checks the caps of what is accepted. */
#include <string.h>

#include "mender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_mender_auth a;
    static struct gw_mender_status_body st;
    static char attrs[GW_ATTRS_MAX + 1];
    struct gw_mender_provides p;
    const char *why = "";

    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        /* no body can verify under a signature made of zero bytes */
        if (gw_mender_parse_auth(data + 1, size - 1, "AAAAAAAAAAAAAAAAAAAAAAAA", &a, &why) ==
            BW_OK)
            __builtin_trap();
        break;
    case 1:
        if (gw_mender_parse_inventory(data + 1, size - 1, attrs, &why) == BW_OK &&
            strlen(attrs) > GW_ATTRS_MAX)
            __builtin_trap();
        break;
    case 2:
        if (gw_mender_parse_next(data + 1, size - 1, &p, &why) == BW_OK &&
            (!p.device_type[0] || strlen(p.artifact_name) > GW_ID_MAX))
            __builtin_trap();
        break;
    default:
        if (gw_mender_parse_status(data + 1, size - 1, &st, &why) == BW_OK &&
            (strlen(st.substate) > GW_FEEDBACK_MAX || st.status > GW_MENDER_ALREADY_INSTALLED))
            __builtin_trap();
        break;
    }
    if (!why)
        __builtin_trap();
    return 0;
}
