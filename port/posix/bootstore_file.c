/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bulwark boot-state file adapter (port/posix/posix.h). Method: two
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

#include "posix.h"

static bw_err read_copy(const struct bw_bootstore_file *f, int i, struct bw_bootstate *st,
                        int *exists)
{
    uint8_t rec[BW_BOOTSTATE_RECORD_LEN + 1];
    char path[4200];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/bootstate.%d", f->dir, i);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    *exists = 1;
    n = read(fd, rec, sizeof(rec));
    close(fd);
    if (n != BW_BOOTSTATE_RECORD_LEN)
        return BW_E_FORMAT;
    return bw_bootstate_decode(st, rec);
}

static int newest(const struct bw_bootstore_file *f, struct bw_bootstate *st, int *exists)
{
    struct bw_bootstate c[2];
    int ok0 = read_copy(f, 0, &c[0], exists) == BW_OK, ok1 = read_copy(f, 1, &c[1], exists) == BW_OK;
    int pick = -1;

    if (ok0 && (!ok1 || c[0].generation >= c[1].generation))
        pick = 0;
    else if (ok1)
        pick = 1;
    if (pick >= 0)
        *st = c[pick];
    return pick;
}

static bw_err file_load(void *ctx, struct bw_bootstate *st)
{
    int exists = 0;

    if (newest(ctx, st, &exists) >= 0)
        return BW_OK;
    return exists ? BW_E_FORMAT : BW_E_NOTFOUND;
}

static bw_err file_save(void *ctx, const struct bw_bootstate *st)
{
    const struct bw_bootstore_file *f = ctx;
    struct bw_bootstate cur, next = *st;
    uint8_t rec[BW_BOOTSTATE_RECORD_LEN];
    char path[4200], tmp[4300];
    int exists = 0, n = newest(f, &cur, &exists), fd, dfd;
    bw_err rc = BW_E_IO;

    next.generation = n >= 0 ? cur.generation + 1 : 1;
    bw_bootstate_encode(&next, rec);
    snprintf(path, sizeof(path), "%s/bootstate.%d", f->dir, n == 0 ? 1 : 0);
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return BW_E_IO;
    if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return rc;
    }
    dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return rc;
    if (fsync(dfd) == 0)
        rc = BW_OK;
    close(dfd);
    return rc;
}

bw_err bw_bootstore_file_init(struct bw_bootstore *bs, struct bw_bootstore_file *ctx, const char *dir)
{
    if (strlen(dir) >= sizeof(ctx->dir))
        return BW_E_INVAL;
    snprintf(ctx->dir, sizeof(ctx->dir), "%s", dir);
    bs->ctx = ctx;
    bs->load = file_load;
    bs->save = file_save;
    return BW_OK;
}
