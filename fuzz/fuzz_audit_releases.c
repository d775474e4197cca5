/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the gateway's release list as bulwark audit --gateway reads
 * it (GET /api/v1/releases, or a file saved with bulwark-gatewayctl). */
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    char name[65];
    uint64_t newest = 1;

    if (audit_releases_newest(root, "6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b",
                              "0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c", &newest, name,
                              sizeof(name)) == BW_OK &&
        newest && (!name[0] || strlen(name) >= sizeof(name)))
        __builtin_trap(); /* a newest release without a name shown */
    json_decref(root);
    return 0;
}
