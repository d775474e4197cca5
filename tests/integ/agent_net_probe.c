/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: drives the agent's HTTP client (agent/net.c over host/http.c) through one
 * handle, as a cycle does, so tests/integ/agent_http.sh can check it
 * against a scripted server. Usage:
 *   agent_net_probe AGENT.CONF DEVICE-ID (post PATH | get SHA256 HAVE SIZE FILE)...
 * Prints one line per request: "post PATH STATUS BODY" or
 * "get STATUS GOT rc=ERR" (the body of a download is in FILE). */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "bwh/device.h"
#include "bwh/host.h"
#include "net.h"

int main(int argc, char **argv)
{
    static struct agent_conf c;
    static struct bwh_device_conf dc;
    struct agent_net *n = NULL;
    int i, st = 0;

    signal(SIGPIPE, SIG_IGN); /* as the agent's main: a dropped connection is an error, not a signal */
    if (argc < 3 || agent_conf_load(&c, argv[1]) || bwh_device_conf_load(&dc, c.device_config) ||
        agent_net_open(&n, &c, dc.device_key, dc.device_cert, argv[2]))
        return 2;
    for (i = 3; i < argc; i++) {
        long status = 0;
        bw_err rc;

        if (!strcmp(argv[i], "post") && i + 1 < argc) {
            rc = agent_net_post(n, argv[i + 1], "{}", &status);
            printf("post %s %ld %s rc=%s\n", argv[i + 1], status, agent_net_body(n),
                   bw_errname(rc));
            i += 1;
        } else if (!strcmp(argv[i], "get") && i + 4 < argc) {
            uint64_t have, size, got = 0;
            int fd;

            if (bwh_parse_u64(argv[i + 2], &have) || bwh_parse_u64(argv[i + 3], &size))
                return 2;
            fd = open(argv[i + 4], O_RDWR | O_CREAT, 0600);
            if (fd < 0 || lseek(fd, (off_t)have, SEEK_SET) != (off_t)have)
                return 2;
            rc = agent_net_download(n, "download", argv[i + 1], fd, have, size, &got, &status);
            close(fd);
            printf("get %ld %" PRIu64 " rc=%s\n", status, got, bw_errname(rc));
            i += 4;
        } else {
            return 2;
        }
        st |= rc != BW_OK;
    }
    agent_net_close(n);
    return st;
}
