/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's door to the device's security log: one call per security event
 * (install, confirm, rollback, provisioning, credentials, store).
 */
#ifndef BULWARK_SECLOG_H
#define BULWARK_SECLOG_H

#include "bwh/device.h"

/* Appends {time, event, subject, outcome} to the log at c->seclog, signing
 * a checkpoint with the device key when one is due. A failure to log is
 * reported on stderr and returned; callers decide whether it is fatal. */
bw_err bwh_seclog_event(const struct bwh_device_conf *c, const char *event, const char *subject,
                    const char *outcome);

#endif
