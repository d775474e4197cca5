/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared between the identity backends, never included outside
 * host/identity/: the TPM half of bwh_storage_key_load, which lives in
 * key_tpm.c so that only that file talks to tss2.
 */
#ifndef BULWARK_IDENTITY_PRIV_H
#define BULWARK_IDENTITY_PRIV_H

#include <stdint.h>
#include "bwh/identity.h"

/* The device storage key sealed in a TPM. params is a TPM URI after "tpm:"
 * ([tcti=TCTI;]handle=0x81xxxxxx, parsed as for bwh_keystore_tpm). If the
 * persistent handle holds a sealed data object, unseals it into key; if it
 * is empty and create != 0, seals 32 bytes from bw_random under the SRK and
 * persists them there first. key is written only on BW_OK.
 * Errors: BW_E_INVAL (malformed params), BW_E_NOTFOUND (empty handle and
 * !create), BW_E_FORMAT (the handle holds another kind of object, or sealed
 * data that is not 32 bytes), BW_E_BACKEND (TCTI or TPM failure), and
 * bw_random's error. Opens and closes its own TPM connection: thread-safe
 * as far as the TCTI is. */
BW_NODISCARD bw_err bwh__tpm_storage_key(const char *params, int create,
                                        uint8_t key[BWH_STORAGE_KEY_LEN]);

#endif
