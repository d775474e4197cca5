/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the signature files key holders send back to `bulwark repo
 * merge` (host/tuf_repo.c via bwh_tuf_repo_check_sigfile): strict JSON,
 * exactly role, version, signed_sha256, keyid and sig, hex of bounded
 * length. The signature itself is checked later, against staged metadata. */
#include "bwh/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    bw_err rc;

    rc = bwh_tuf_repo_check_sigfile(data, size, err, sizeof(err));
    if (rc != BW_OK && rc != BW_E_FORMAT && rc != BW_E_TOOBIG && rc != BW_E_NOMEM)
        __builtin_trap(); /* only these errors are documented */
    return 0;
}
