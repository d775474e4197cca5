/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until the security log lands: events are dropped. */
#include "seclog.h"

bw_err seclog_event(const struct device_conf *c, const char *event, const char *subject,
                    const char *outcome)
{
    (void)c;
    (void)event;
    (void)subject;
    (void)outcome;
    return BW_OK;
}
