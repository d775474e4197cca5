/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the package reader (envelope framing, chunk list, payload
 * stream) over a memory file, unauthenticated so the stream is refused at
 * the right place and everything before it is exercised. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bw_pkg p;
    char path[64];
    int fd = memfd_create("pkg", 0);

    if (fd < 0)
        return 0;
    if (bw_write_full(fd, data, size) == BW_OK) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (bw_pkg_open(&p, path, NULL, 1u << 16) == BW_OK &&
            bw_pkg_stream(&p, NULL, NULL, NULL, NULL) == BW_OK && p.suit.authenticated)
            __builtin_trap();
        bw_pkg_close(&p);
    }
    close(fd);
    return 0;
}
