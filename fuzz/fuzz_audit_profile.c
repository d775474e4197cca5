/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the device profile (bulwark audit --profile), a maker's text file,
 * with its per-requirement answers (req.ID = ..., na.ID = ...). */
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct audit_profile p;
    char err[200], samples[512];
    size_t i, j;

    if (audit_profile_parse(&p, (const char *)data, size, err, sizeof(err)) != BW_OK)
        return 0;
    for (i = 0; i < p.nna; i++)
        if (!p.na[i].why[0])
            __builtin_trap(); /* not-applicable accepted without a reason */
    for (i = 0; i < p.nans; i++) {
        const struct audit_answer *a = &p.ans[i];

        if (a->state == AUDIT_ANS_NONE || (a->state != AUDIT_ANS_IMPLEMENTED && !a->why[0]) ||
            (a->state == AUDIT_ANS_IMPLEMENTED && !a->evidence[0]))
            __builtin_trap(); /* an answer accepted without what its state needs */
        for (j = i + 1; j < p.nans; j++)
            if (!strcmp(a->id, p.ans[j].id))
                __builtin_trap(); /* one requirement answered twice */
        (void)audit_weak_reason(a->why);
    }
    (void)audit_profile_feature(&p, "!network");
    (void)audit_profile_feature(&p, "user_accounts,!constrained,updatable");
    (void)audit_profile_samples(&p, samples, sizeof(samples));
    return 0;
}
