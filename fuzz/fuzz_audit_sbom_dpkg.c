/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the dpkg status database inside a root file system (bulwark sbom --root, --image). */
#include "sbom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbom_meta m = {"p", "1", "c", "https://c.example", NULL, "2026-01-01T00:00:00Z",
                          "debian"};
    struct sbom s = {NULL, 0, 0};

    if (sbom_read_dpkg((const char *)data, size, &s) == BW_OK) {
        sbom_resolve(&s);
        json_decref(sbom_cyclonedx(&s, &m));
    }
    sbom_free(&s);
    return 0;
}
