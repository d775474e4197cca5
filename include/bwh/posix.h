/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX port: slots as regular files or block devices behind struct
 * bw_flash, and the bulwark boot-state file adapter. A new platform is a
 * new folder beside this one, not #ifdefs in the engine.
 */
#ifndef BULWARK_PORT_POSIX_H
#define BULWARK_PORT_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/update.h"

/*
 * A slot in a regular file or a block device.
 * Alignment: with direct I/O (O_DIRECT) the backend writes whole 4 KiB
 * blocks from an aligned bounce buffer, reading the block first when a
 * write covers it partly; without it any offset and length are fine.
 * write_align is 4096 either way (what the engine finds efficient).
 * Durability: sync is fdatasync(2); nothing written before it is promised
 * to survive a power cut, everything written before it is. While writing,
 * the backend starts writeback of every 4 MiB it has written
 * (sync_file_range SYNC_FILE_RANGE_WRITE, asynchronous), so the disk works
 * while the CPU verifies the next chunks and the final sync has little left.
 */
struct bwh_posix_flash {
    struct bw_flash f;
    int fd;
    int direct;
    uint8_t *bounce;
    uint64_t kicked; /* writeback started up to here (sync_file_range) */
};

/* Opens path. A regular file is created (create != 0) and extended to
 * size if shorter; a block device reports its own size, which must be at
 * least size. Errors: BW_E_IO (errno kept), BW_E_TOOBIG, BW_E_NOMEM. */
BW_NODISCARD bw_err bwh_posix_flash_open(struct bwh_posix_flash *pf, const char *path, uint64_t size,
                                        int create, int direct);
void bwh_posix_flash_close(struct bwh_posix_flash *pf);

/*
 * The bulwark boot-state file adapter: DIR/bootstate.0 and DIR/bootstate.1,
 * each a 128-byte record (bw_bootstate_encode). save replaces the copy that
 * is not the newest valid one: write a temporary file, fsync, rename,
 * fsync the directory. load takes the valid copy with the higher
 * generation, so a torn or lost write of one copy never loses both.
 */
struct bwh_bootstore_file {
    char dir[4096];
    struct bw_twocopy copies;
};
BW_NODISCARD bw_err bwh_bootstore_file_init(struct bw_bootstore *bs, struct bwh_bootstore_file *ctx,
                                           const char *dir);

/* Boot state in the U-Boot environment (libubootenv; fw_env.config names
 * the environment's device or file, two lines for a redundant copy). */
struct bwh_bootstore_uboot {
    char config[4096];
};
BW_NODISCARD bw_err bwh_bootstore_uboot_init(struct bw_bootstore *bs, struct bwh_bootstore_uboot *ctx,
                                            const char *fw_env_config);

/* Boot state in a GRUB environment block file (grubenv). */
struct bwh_bootstore_grub {
    char path[4096];
};
BW_NODISCARD bw_err bwh_bootstore_grub_init(struct bw_bootstore *bs, struct bwh_bootstore_grub *ctx,
                                           const char *grubenv);

#endif
