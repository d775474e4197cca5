/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the device profile (bulwark audit --profile), a maker's text file. */
#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct audit_profile p;
    char err[200];
    size_t i;

    if (audit_profile_parse(&p, (const char *)data, size, err, sizeof(err)) != BW_OK)
        return 0;
    for (i = 0; i < p.nna; i++)
        if (!p.na[i].why[0])
            __builtin_trap(); /* not-applicable accepted without a reason */
    (void)audit_profile_feature(&p, "!network");
    return 0;
}
