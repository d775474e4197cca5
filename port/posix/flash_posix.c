/* SPDX-License-Identifier: Apache-2.0 */
/* Slots in files or block devices (include/bwh/posix.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwh/posix.h"

#define BLOCK 4096u
#define BOUNCE (256u << 10)

static bw_err full_pwrite(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return BW_E_IO;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return BW_OK;
}

static bw_err full_pread(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return BW_E_IO;
        if (r == 0) { /* past the end of a file: reads as zeros */
            memset(p, 0, n);
            return BW_OK;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return BW_OK;
}

static bw_err px_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct bwh_posix_flash *pf = ctx;
    uint8_t *out = buf;

    if (off > pf->f.size || len > pf->f.size - off)
        return BW_E_INVAL;
    if (!pf->direct)
        return full_pread(pf->fd, out, len, off);
    while (len) {
        uint64_t base = off / BLOCK * BLOCK;
        size_t skip = (size_t)(off - base), span = skip + len;
        size_t win = span > BOUNCE ? BOUNCE : (span + BLOCK - 1) / BLOCK * BLOCK;
        size_t take = win - skip < len ? win - skip : len;
        bw_err rc = full_pread(pf->fd, pf->bounce, win, base);

        if (rc)
            return rc;
        memcpy(out, pf->bounce + skip, take);
        out += take;
        off += take;
        len -= take;
    }
    return BW_OK;
}

#define KICK (4u << 20)

/* Starts writeback of what was written since the last kick, without
 * waiting for it; harmless where unsupported. */
static void kick(struct bwh_posix_flash *pf, uint64_t end)
{
    if (end < pf->kicked + KICK)
        return;
    (void)sync_file_range(pf->fd, (off64_t)pf->kicked, (off64_t)(end - pf->kicked),
                          SYNC_FILE_RANGE_WRITE);
    pf->kicked = end;
}

static bw_err px_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct bwh_posix_flash *pf = ctx;
    const uint8_t *in = buf;

    if (off > pf->f.size || len > pf->f.size - off)
        return BW_E_INVAL;
    if (off < pf->kicked)
        pf->kicked = off / KICK * KICK; /* rewriting: start counting again */
    if (!pf->direct) {
        bw_err rc = full_pwrite(pf->fd, in, len, off);

        if (!rc)
            kick(pf, off + len);
        return rc;
    }
    while (len) {
        uint64_t base = off / BLOCK * BLOCK;
        size_t skip = (size_t)(off - base), span = skip + len;
        size_t win = span > BOUNCE ? BOUNCE : (span + BLOCK - 1) / BLOCK * BLOCK;
        size_t take = win - skip < len ? win - skip : len;
        bw_err rc;

        /* a block only partly covered keeps its other bytes */
        if (skip || take < win - skip) {
            if (base + win > pf->f.size)
                win = (size_t)((pf->f.size - base + BLOCK - 1) / BLOCK * BLOCK);
            if ((rc = full_pread(pf->fd, pf->bounce, win, base)))
                return rc;
        }
        memcpy(pf->bounce + skip, in, take);
        if ((rc = full_pwrite(pf->fd, pf->bounce, win, base)))
            return rc;
        in += take;
        off += take;
        len -= take;
    }
    return BW_OK;
}

static bw_err px_sync(void *ctx)
{
    struct bwh_posix_flash *pf = ctx;

    return fdatasync(pf->fd) == 0 ? BW_OK : BW_E_IO;
}

bw_err bwh_posix_flash_open(struct bwh_posix_flash *pf, const char *path, uint64_t size, int create,
                           int direct)
{
    struct stat st;
    uint64_t have;
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0) | (direct ? O_DIRECT : 0);

    memset(pf, 0, sizeof(*pf));
    pf->fd = open(path, flags, 0600);
    if (pf->fd < 0 || fstat(pf->fd, &st) != 0)
        goto io;
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(pf->fd, BLKGETSIZE64, &have) != 0)
            goto io;
        if (have < size) {
            close(pf->fd);
            pf->fd = -1;
            return BW_E_TOOBIG;
        }
    } else if (S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size < size && ftruncate(pf->fd, (off_t)size) != 0)
            goto io;
    } else {
        errno = EINVAL;
        goto io;
    }
    if (direct && posix_memalign((void **)&pf->bounce, BLOCK, BOUNCE) != 0) {
        close(pf->fd);
        pf->fd = -1;
        return BW_E_NOMEM;
    }
    pf->direct = direct;
    pf->f.ctx = pf;
    pf->f.size = size;
    pf->f.write_align = BLOCK;
    pf->f.read = px_read;
    pf->f.write = px_write;
    pf->f.sync = px_sync;
    return BW_OK;
io:
    if (pf->fd >= 0)
        close(pf->fd);
    pf->fd = -1;
    return BW_E_IO;
}

void bwh_posix_flash_close(struct bwh_posix_flash *pf)
{
    if (!pf)
        return;
    if (pf->fd >= 0)
        close(pf->fd);
    free(pf->bounce);
    pf->fd = -1;
    pf->bounce = NULL;
}
