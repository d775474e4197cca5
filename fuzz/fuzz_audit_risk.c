/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the risk register (bulwark risk --register), JSON from a maker. */
#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_register r;
    char err[200];
    size_t i;

    if (audit_register_parse(&r, (const char *)data, size, err, sizeof(err)) == BW_OK)
        for (i = 0; i < r.n; i++)
            if (r.risk[i].likelihood < 1 || r.risk[i].likelihood > 5 ||
                (r.risk[i].has_residual && r.risk[i].res_likelihood * r.risk[i].res_impact >
                                               r.risk[i].likelihood * r.risk[i].impact) ||
                (*r.risk[i].accepted_by && !r.risk[i].has_residual))
                __builtin_trap(); /* a score the parser should have refused */
    audit_register_free(&r);
    return 0;
}
