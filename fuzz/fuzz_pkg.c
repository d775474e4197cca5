/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the package reader (envelope framing, chunk list, payload
 * stream) over a memory file, unauthenticated so the stream is refused at
 * the right place and everything before it is exercised. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include "bwh/host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bwh_pkg p;
    char path[64];
    int fd = memfd_create("pkg", 0);

    if (fd < 0)
        return 0;
    if (bwh_write_full(fd, data, size) == BW_OK) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (bwh_pkg_open(&p, path, NULL, 1u << 16) == BW_OK &&
            bwh_pkg_verify(&p, NULL) == BW_OK && p.suit.authenticated)
            __builtin_trap();
        bwh_pkg_close(&p);
    }
    close(fd);
    return 0;
}
