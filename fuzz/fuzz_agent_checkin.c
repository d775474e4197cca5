/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the agent's parser of the gateway's check-in answer
 * (agent/parse.c). Any input either is refused or yields an action whose
 * fields hold what the protocol allows. */
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent_checkin ci;
    const char *why = NULL;
    size_t i;

    if (agent_parse_checkin((const char *)data, size, &ci, &why) != BW_OK) {
        if (!why || ci.has_action || ci.poll_interval)
            __builtin_trap();
        return 0;
    }
    if (ci.poll_interval < 1 || ci.poll_interval > 604800)
        __builtin_trap();
    if (!ci.has_action)
        return 0;
    if (ci.action.id < 1 || ci.action.size < 1 || ci.action.size > AGENT_PKG_MAX ||
        strlen(ci.action.sha256) != 64 || !ci.action.release[0])
        __builtin_trap();
    for (i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", ci.action.sha256[i]))
            __builtin_trap();
    return 0;
}
