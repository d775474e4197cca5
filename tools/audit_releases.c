/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's release list (GET /api/v1/releases, answered by the gateway
 * or saved with bulwark-gatewayctl): the newest sequence it offers for one
 * vendor and class. Input from the network: every field is checked for
 * its type, releases of other products and non-positive sequences are
 * skipped.
 */
#include <string.h>
#include <strings.h>

#include "audit.h"

bw_err audit_releases_newest(const json_t *root, const char *vendor_id, const char *class_id,
                             uint64_t *newest, char *name, size_t cap)
{
    const json_t *arr = json_is_array(root) ? root : json_object_get(root, "releases");
    const json_t *o;
    size_t i;

    *newest = 0;
    if (cap)
        name[0] = 0;
    if (!json_is_array(arr))
        return BW_E_FORMAT;
    json_array_foreach(arr, i, o) {
        const char *v = json_string_value(json_object_get(o, "vendor_id"));
        const char *k = json_string_value(json_object_get(o, "class_id"));
        const char *n = json_string_value(json_object_get(o, "name"));
        json_int_t seq = json_integer_value(json_object_get(o, "sequence"));

        if ((v && strcasecmp(v, vendor_id)) || (k && strcasecmp(k, class_id)) || seq <= 0)
            continue; /* another product's release, or not a release */
        if ((uint64_t)seq > *newest) {
            *newest = (uint64_t)seq;
            if (cap)
                snprintf(name, cap, "%s", n ? n : "?");
        }
    }
    return BW_OK;
}
