/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the update component only: the slot writer and the install
 * record, which the install stream (install.c) alone calls, after its
 * checks. Not installed, not included outside src/update/.
 */
#ifndef BULWARK_UPDATE_PRIV_H
#define BULWARK_UPDATE_PRIV_H

#include "bulwark/update.h"

/* Writes checked payload bytes at off (in order, no gaps). BW_E_STATE
 * outside begin/finish, BW_E_SIZE past the image size, flash errors. */
BW_NODISCARD bw_err bw__update_write(struct bw_update *u, uint64_t off, const uint8_t *data,
                                     size_t len);
/* After the last byte: compares the stream's whole-image digest and size
 * with the manifest's (BW_E_DIGEST, BW_E_SIZE), syncs the slot, then
 * records the image and marks the slot for a trial boot, raising the
 * anti-rollback floor. */
BW_NODISCARD bw_err bw__update_finish(struct bw_update *u, const uint8_t digest[BW_SHA256_LEN],
                                      uint64_t size);

#endif
