/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the gateway's request-body parsers (gateway/parse.c). The
 * first byte picks the parser: check-in, report, provisioning record,
 * campaign. Checks that whatever is accepted is within the registry caps. */
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_checkin ci;
    static struct gw_report rp;
    static struct gw_device d;
    static struct gw_campaign cp;
    const char *why = "";

    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        if (gw_parse_checkin(data + 1, size - 1, &ci, &why) == BW_OK &&
            (strlen(ci.version) > GW_ID_MAX || strlen(ci.attrs) > GW_ATTRS_MAX))
            __builtin_trap();
        break;
    case 1:
        if (gw_parse_report(data + 1, size - 1, &rp, &why) == BW_OK &&
            (strlen(rp.feedback) > GW_FEEDBACK_MAX || rp.state < GW_ACTION_RUNNING ||
             rp.state > GW_ACTION_FAILURE))
            __builtin_trap();
        break;
    case 2:
        if (gw_parse_provision_record((const char *)data + 1, size - 1, &d, &why) == BW_OK &&
            (strlen(d.fingerprint) != 64 || strlen(d.pubkey) != 130 || !d.id[0]))
            __builtin_trap();
        break;
    default:
        if (gw_parse_campaign(data + 1, size - 1, &cp, &why) == BW_OK &&
            (cp.batch_size < 1 || cp.release_id <= 0 || cp.success_threshold_pct > 100 ||
             cp.abort_pct > 100 || cp.abort_on > GW_FAIL_ALL || cp.priority > GW_PRIORITY_MAX ||
             (cp.ramp_base && (cp.ramp_factor10 < 11 || cp.ramp_factor10 > 50)) ||
             (cp.rollback_release && !cp.abort_pct)))
            __builtin_trap();
        break;
    }
    if (!why)
        __builtin_trap();
    return 0;
}
