/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The security log's POSIX storage (struct bwh_log_vfs over a directory):
 * one file per segment, the signed head in its own file, appends with
 * fdatasync, the directory synced when a file is created or removed, and
 * an flock so one writer holds the log. The log's rules (host/log.c) see
 * only the interface, so another storage (a flash region) is another file
 * like this one.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/core.h"
#include "bwh/host.h"
#include "bwh/log.h"

struct posix_log {
    char dir[4000];
    int lock_fd;
    int fd;         /* the segment being appended to */
    uint64_t fd_id;
    int fd_new;     /* created since its last sync: the directory needs one too */
    int head_fd;    /* the head, once written */
};

static void seg_path(const struct posix_log *p, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020" PRIu64 ".seg", p->dir, id);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static bw_err px_list(void *ctx, uint64_t *ids, size_t cap, size_t *n)
{
    struct posix_log *p = ctx;
    struct dirent *e;
    DIR *d = opendir(p->dir);
    bw_err rc = BW_OK;

    *n = 0;
    if (!d)
        return BW_E_IO;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        uint64_t v = 0;
        size_t i;

        if (strlen(s) != 24 || strcmp(s + 20, ".seg"))
            continue;
        for (i = 0; i < 20 && s[i] >= '0' && s[i] <= '9'; i++) {
            if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
                break;
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (i != 20)
            continue;
        if (*n == cap) {
            rc = BW_E_TOOBIG;
            break;
        }
        ids[(*n)++] = v;
    }
    closedir(d);
    qsort(ids, *n, sizeof(*ids), cmp_u64);
    return rc;
}

static bw_err px_size(void *ctx, uint64_t id, uint64_t *size)
{
    char path[4096];
    struct stat st;

    seg_path(ctx, id, path, sizeof(path));
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return BW_E_IO;
    *size = (uint64_t)st.st_size;
    return BW_OK;
}

static bw_err px_read(void *ctx, uint64_t id, uint64_t off, void *buf, size_t len)
{
    char path[4096];
    size_t done = 0;
    bw_err rc = BW_E_IO;
    int fd;

    seg_path(ctx, id, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return BW_E_IO;
    while (done < len) {
        ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0) {
            rc = BW_E_TRUNCATED;
            goto out;
        }
        done += (size_t)r;
    }
    rc = BW_OK;
out:
    close(fd);
    return rc;
}

static bw_err px_use(struct posix_log *p, uint64_t id)
{
    char path[4096];

    if (p->fd >= 0 && p->fd_id == id)
        return BW_OK;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    seg_path(p, id, path, sizeof(path));
    p->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    p->fd_new = 0;
    if (p->fd < 0 && errno == ENOENT) {
        p->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        p->fd_new = 1;
    }
    if (p->fd < 0)
        return BW_E_IO;
    p->fd_id = id;
    return BW_OK;
}

static bw_err px_append(void *ctx, uint64_t id, const void *buf, size_t len)
{
    struct posix_log *p = ctx;
    bw_err rc = px_use(p, id);

    return rc ? rc : bwh_write_full(p->fd, buf, len);
}

static bw_err px_truncate(void *ctx, uint64_t id, uint64_t len)
{
    char path[4096];

    seg_path(ctx, id, path, sizeof(path));
    return truncate(path, (off_t)len) == 0 ? BW_OK : BW_E_IO;
}

static bw_err px_sync(void *ctx, uint64_t id)
{
    struct posix_log *p = ctx;
    bw_err rc = px_use(p, id);

    if (rc)
        return rc;
    if (fdatasync(p->fd) != 0)
        return BW_E_IO;
    if (p->fd_new) {
        if ((rc = bwh_fsync_dir(p->dir)))
            return rc;
        p->fd_new = 0;
    }
    return BW_OK;
}

static bw_err px_remove(void *ctx, uint64_t id)
{
    struct posix_log *p = ctx;
    char path[4096];

    if (p->fd >= 0 && p->fd_id == id) {
        close(p->fd);
        p->fd = -1;
    }
    seg_path(p, id, path, sizeof(path));
    return unlink(path) == 0 || errno == ENOENT ? BW_OK : BW_E_IO;
}

static bw_err px_head_get(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
    struct posix_log *p = ctx;
    char path[4096];
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    snprintf(path, sizeof(path), "%s/head", p->dir);
    rc = bwh_read_file(path, cap, &b, &n);
    if (rc == BW_E_IO && errno == ENOENT)
        return BW_E_NOTFOUND;
    if (rc)
        return rc;
    memcpy(buf, b, n);
    *len = n;
    bwh_free(b);
    return BW_OK;
}

static bw_err px_head_put(void *ctx, const uint8_t *buf, size_t len)
{
    struct posix_log *p = ctx;
    char path[4096];
    bw_err rc;

    snprintf(path, sizeof(path), "%s/head", p->dir);
    if (p->head_fd < 0) {
        p->head_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (p->head_fd < 0 && errno == ENOENT) {
            /* the first head: created whole and durable */
            rc = bwh_write_file_atomic(path, buf, len, 0600);
            if (!rc)
                p->head_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
            return rc ? rc : p->head_fd < 0 ? BW_E_IO : BW_OK;
        }
        if (p->head_fd < 0)
            return BW_E_IO;
    }
    return pwrite(p->head_fd, buf, len, 0) == (ssize_t)len ? BW_OK : BW_E_IO;
}

static bw_err px_head_sync(void *ctx)
{
    struct posix_log *p = ctx;

    return p->head_fd < 0 || fdatasync(p->head_fd) == 0 ? BW_OK : BW_E_IO;
}

bw_err bwh_log_posix_open(struct bwh_log_vfs *v, const char *dir, int create, int writer)
{
    struct posix_log *p;
    char path[4096];
    struct stat st;

    if (!v || !dir || !*dir || strlen(dir) >= sizeof(p->dir))
        return BW_E_INVAL;
    memset(v, 0, sizeof(*v));
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return BW_E_IO;
    if (stat(dir, &st) != 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return BW_E_IO;
    }
    p = bwh_calloc(1, sizeof(*p));
    if (!p)
        return BW_E_NOMEM;
    snprintf(p->dir, sizeof(p->dir), "%s", dir);
    p->fd = -1;
    p->lock_fd = -1;
    p->head_fd = -1;
    if (writer) {
        snprintf(path, sizeof(path), "%s/lock", dir);
        p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX) != 0) {
            if (p->lock_fd >= 0)
                close(p->lock_fd);
            bwh_free(p);
            return BW_E_IO;
        }
    }
    v->ctx = p;
    v->list = px_list;
    v->size = px_size;
    v->read = px_read;
    v->append = px_append;
    v->truncate = px_truncate;
    v->sync = px_sync;
    v->remove = px_remove;
    v->head_get = px_head_get;
    v->head_put = px_head_put;
    v->head_sync = px_head_sync;
    return BW_OK;
}

void bwh_log_posix_close(struct bwh_log_vfs *v)
{
    struct posix_log *p;

    if (!v || !v->ctx)
        return;
    p = v->ctx;
    if (p->fd >= 0)
        close(p->fd);
    if (p->head_fd >= 0)
        close(p->head_fd);
    if (p->lock_fd >= 0)
        close(p->lock_fd); /* releases the flock */
    bwh_free(p);
    v->ctx = NULL;
}
