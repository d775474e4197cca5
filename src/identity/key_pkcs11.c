/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: the pkcs11 key backend is being written. */
#include "bulwark/identity.h"

static bw_err ph_open(const char *params, void **ctx)
{
    (void)params;
    (void)ctx;
    return BW_E_UNSUPPORTED;
}

const struct bw_keystore_ops bw_keystore_pkcs11 = {"pkcs11", ph_open, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
