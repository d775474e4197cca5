/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared between the identity backends, never included outside
 * host/identity/: the TPM and PKCS#11 halves of bwh_storage_key_load, which
 * live in key_tpm.c and key_pkcs11.c so that only those files talk to tss2
 * and to PKCS#11 modules.
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

/* The device storage key wrapped by an AES-256 key inside a PKCS#11 token.
 * params is a pkcs11: URI after "pkcs11:" (as for bwh_keystore_pkcs11) with
 * one more attribute, wrapped=PATH: the file holding the wrapped key
 * ("BWSKWv1\n" | IV 12 | ciphertext 32 | tag 16, AES-256-GCM inside the
 * token, AAD the magic). When PATH is absent and create != 0, the token's
 * AES key (label object=) is generated unless present, 32 bytes from
 * bw_random are encrypted and PATH is published with bwh__publish_once.
 * Errors: BW_E_INVAL (malformed params), BW_E_NOTFOUND (no PATH and
 * !create), BW_E_FORMAT (PATH is not a wrapped key), BW_E_KEY (no AES key
 * of that label, or the token does not open the wrapped key),
 * BW_E_BACKEND / BW_E_DENIED (module, token or PIN refused). The backend's
 * detail goes to stderr on failure (there is no context to carry it).
 * Nothing is written when the token refuses. */
BW_NODISCARD bw_err bwh__pkcs11_storage_key(const char *params, int create,
                                           uint8_t key[BWH_STORAGE_KEY_LEN]);

/* Creates path (mode 0600) holding buf, never replacing an existing file:
 * BW_E_EXISTS if another writer got there first (theirs wins), BW_E_IO. */
BW_NODISCARD bw_err bwh__publish_once(const char *path, const void *buf, size_t len);

#endif
