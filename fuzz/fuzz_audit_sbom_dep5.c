/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a Debian copyright file (DEP-5) inside a root file system. */
#include "sbom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *l = NULL;

    if (sbom_dep5_licenses((const char *)data, size, &l) == BW_OK && (!l || !*l))
        __builtin_trap(); /* found means at least one name */
    bwh_free(l);
    return 0;
}
