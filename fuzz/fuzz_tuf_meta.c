/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the TUF client's metadata reader (host/tuf_meta.c via
 * bwh_tuf_check): strict JSON, the structure of each role, canonical form
 * of "signed", and for a root its threshold of its own keys' signatures
 * (ECDSA, Ed25519, RSA-PSS keys parsed from the input). What `bulwark tuf`
 * meets in every file a repository serves. */
#include "bwh/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    bw_err rc;

    rc = bwh_tuf_check(data, size, err, sizeof(err));
    if (rc != BW_OK && rc != BW_E_FORMAT && rc != BW_E_BADSIG && rc != BW_E_NOMEM)
        __builtin_trap(); /* only these errors are documented */
    return 0;
}
