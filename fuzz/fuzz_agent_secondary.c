/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the agent's parser of a secondary's state line (what a
 * microcontroller says over its serial link, agent/secondary.c). Any input
 * either is refused or yields a state the cycle can act on: a slot to run,
 * slots that are A, B or none, a floor not below the counter. */
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bw_bootstate st;
    uint64_t counter;
    char line[512];

    if (size >= sizeof(line))
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    if (agent_secondary_parse_state(line, &st, &counter) != BW_OK)
        return 0;
    if (st.active > BW_SLOT_B || st.booted > BW_SLOT_B ||
        (st.trial != BW_SLOT_NONE && st.trial > BW_SLOT_B) || st.confirmed > 1 ||
        st.highest_sequence < counter)
        __builtin_trap();
    return 0;
}
