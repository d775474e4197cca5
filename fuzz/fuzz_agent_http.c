/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the agent's HTTP/1.1 answer reader (agent/net.c over the
 * host library's client, host/http.c: bwh_http_parse) over an
 * answer in memory: status line, 1xx, header fields within the header
 * limits, Content-Length, chunked and close-delimited bodies. The first
 * byte chooses a check-in answer (body kept, capped) or a download (body
 * to /dev/null, at most 100000 bytes). */
#include <fcntl.h>
#include <unistd.h>

#include "agent.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct agent_conf c;
    static int null_fd = -1;
    long status = 0;
    bw_err rc;

    if (!size)
        return 0;
    if (null_fd < 0)
        null_fd = open("/dev/null", O_WRONLY);
    rc = agent_net_parse_answer(&c, data + 1, size - 1, data[0] & 1, null_fd, 100000, &status);
    if (rc == BW_OK && (status < 200 || status > 999))
        __builtin_trap(); /* a final answer, never a 1xx */
    if (rc == BW_E_INVAL || rc == BW_E_NOMEM)
        __builtin_trap();
    return 0;
}
