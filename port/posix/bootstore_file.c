/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bulwark boot-state file adapter (include/bwh/posix.h). Method: two
 * files, each replaced atomically (temporary file, fsync, rename, fsync of
 * the directory); a save always replaces the copy that is not the newest
 * valid one, so the newest survives whatever happens to the save.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bwh/host.h"
#include "bwh/posix.h"

static bw_err file_read(void *ctx, int i, uint8_t rec[BW_BOOTSTATE_RECORD_LEN], int *exists)
{
    const struct bwh_bootstore_file *f = ctx;
    uint8_t buf[BW_BOOTSTATE_RECORD_LEN + 1];
    char path[4200];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/bootstate.%d", f->dir, i);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    *exists = 1;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != BW_BOOTSTATE_RECORD_LEN)
        return BW_E_FORMAT; /* torn, or not ours */
    memcpy(rec, buf, BW_BOOTSTATE_RECORD_LEN);
    return BW_OK;
}

static bw_err file_write(void *ctx, int i, const uint8_t rec[BW_BOOTSTATE_RECORD_LEN])
{
    const struct bwh_bootstore_file *f = ctx;
    char path[4200];

    snprintf(path, sizeof(path), "%s/bootstate.%d", f->dir, i);
    /* temporary file, fsync, rename, fsync of the directory */
    return bwh_write_file_atomic(path, rec, BW_BOOTSTATE_RECORD_LEN, 0600);
}

static bw_err file_load(void *ctx, struct bw_bootstate *st)
{
    return bw_twocopy_load(&((struct bwh_bootstore_file *)ctx)->copies, st);
}

static bw_err file_save(void *ctx, const struct bw_bootstate *st)
{
    return bw_twocopy_save(&((struct bwh_bootstore_file *)ctx)->copies, st);
}

bw_err bwh_bootstore_file_init(struct bw_bootstore *bs, struct bwh_bootstore_file *ctx, const char *dir)
{
    if (strlen(dir) >= sizeof(ctx->dir))
        return BW_E_INVAL;
    snprintf(ctx->dir, sizeof(ctx->dir), "%s", dir);
    ctx->copies.ctx = ctx;
    ctx->copies.read = file_read;
    ctx->copies.write = file_write;
    bs->ctx = ctx;
    bs->load = file_load;
    bs->save = file_save;
    return BW_OK;
}
