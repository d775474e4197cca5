/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host helpers (include/bwh/host.h): whole-file reads, atomic writes, key
 * loading, UUIDs, progress bar. The allocator is host/alloc.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bwh/host.h"

bw_err bwh_read_full(int fd, void *buf, size_t n, size_t *got)
{
    uint8_t *p = buf;
    size_t have = 0;

    while (have < n) {
        ssize_t r = read(fd, p + have, n - have);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            *got = have;
            return BW_E_IO;
        }
        if (r == 0)
            break;
        have += (size_t)r;
    }
    *got = have;
    return BW_OK;
}

bw_err bwh_write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;

    while (n) {
        ssize_t r = write(fd, p, n);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return BW_E_IO;
        }
        p += r;
        n -= (size_t)r;
    }
    return BW_OK;
}

int bwh_conf_split(char *ln, char **key, char **value)
{
    char *eq, *end, *v;

    while (*ln == ' ' || *ln == '\t')
        ln++;
    if (*ln == '#' || *ln == '\0' || *ln == '\r')
        return 0;
    eq = strchr(ln, '=');
    if (!eq)
        return -1;
    end = eq;
    while (end > ln && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = 0;
    v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = 0;
    *key = ln;
    *value = v;
    return 1;
}

bw_err bwh_read_file(const char *path, size_t cap, uint8_t **buf, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    size_t size = 0, alloc = 4096, got;
    uint8_t *b = NULL, *nb;
    bw_err rc = BW_E_IO;

    if (fd < 0)
        return BW_E_IO;
    for (;;) {
        rc = BW_E_NOMEM;
        nb = bwh_realloc(b, alloc + 1);
        if (!nb)
            goto out;
        b = nb;
        rc = bwh_read_full(fd, b + size, alloc - size, &got);
        if (rc)
            goto out;
        size += got;
        if (size < alloc)
            break;
        rc = BW_E_TOOBIG;
        if (alloc > cap)
            goto out;
        alloc *= 2;
    }
    rc = BW_E_TOOBIG;
    if (size > cap)
        goto out;
    b[size] = 0; /* convenient for text */
    *buf = b;
    *len = size;
    b = NULL;
    rc = BW_OK;
out:
    bwh_free(b);
    if (fd > 0)
        close(fd);
    return rc;
}

int bwh_tmpfile_beside(const char *path, mode_t mode, char *tmp, size_t cap)
{
    int fd;

    if (snprintf(tmp, cap, "%s.tmp.XXXXXX", path) >= (int)cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fchmod(fd, mode) != 0) {
        int e = errno;

        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    return fd;
}

/* Decimal digits at *s (at least one) into *v; *s moves past them. */
static bw_err take_u64(const char **s, uint64_t *v)
{
    const char *p = *s;
    uint64_t x = 0;

    if (*p < '0' || *p > '9')
        return BW_E_FORMAT;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return BW_E_TOOBIG;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    *s = p;
    return BW_OK;
}

bw_err bwh_parse_u64(const char *s, uint64_t *v)
{
    uint64_t x;
    bw_err rc;

    if (!s)
        return BW_E_FORMAT;
    rc = take_u64(&s, &x);
    if (rc)
        return rc;
    if (*s)
        return BW_E_FORMAT;
    *v = x;
    return BW_OK;
}

bw_err bwh_parse_u32_list(const char *s, char sep, uint32_t *v, size_t n)
{
    uint64_t x;
    size_t i;
    bw_err rc;

    if (!s || !n)
        return BW_E_FORMAT;
    for (i = 0; i < n; i++) {
        if (i > 0 && *s++ != sep)
            return BW_E_FORMAT;
        rc = take_u64(&s, &x);
        if (rc)
            return rc;
        if (x > UINT32_MAX)
            return BW_E_TOOBIG;
        v[i] = (uint32_t)x;
    }
    return *s ? BW_E_FORMAT : BW_OK;
}

bw_err bwh_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bw_err rc = BW_E_IO;

    if (fd < 0)
        return rc;
    if (fsync(fd) == 0)
        rc = BW_OK;
    close(fd);
    return rc;
}

bw_err bwh_fsync_parent(const char *path)
{
    char dir[4096];

    if (strlen(path) >= sizeof(dir))
        return BW_E_INVAL;
    memcpy(dir, path, strlen(path) + 1);
    return bwh_fsync_dir(dirname(dir));
}

bw_err bwh_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
    char tmp[4096];
    int fd;

    if (strlen(path) >= sizeof(tmp))
        return BW_E_INVAL;
    fd = bwh_tmpfile_beside(path, mode, tmp, sizeof(tmp));
    if (fd < 0)
        return BW_E_IO;
    if (bwh_write_full(fd, buf, len) != BW_OK || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return BW_E_IO;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return BW_E_IO;
    }
    /* The rename is durable only once the directory is. */
    return bwh_fsync_parent(path);
}

bw_err bwh_load_key(const char *path, int need_priv, struct bw_ec_key *k)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    bw_ec_key_init(k);
    rc = bwh_read_file(path, 64 << 10, &buf, &len);
    if (rc)
        return rc;
    rc = bw_ec_import(k, buf, len);
    bw_wipe(buf, len);
    bwh_free(buf);
    if (rc == BW_OK && need_priv && !k->has_priv) {
        bw_ec_key_clear(k);
        rc = BW_E_KEY;
    }
    return rc;
}

bw_err bwh_uuid_parse(const char *s, uint8_t out[16])
{
    char hex[33];
    size_t i, j = 0;

    for (i = 0; s[i]; i++) {
        if (s[i] == '-') {
            if (i != 8 && i != 13 && i != 18 && i != 23)
                return BW_E_FORMAT;
            continue;
        }
        if (j == 32)
            return BW_E_FORMAT;
        hex[j++] = s[i];
    }
    if (j != 32 || (i != 32 && i != 36))
        return BW_E_FORMAT;
    hex[32] = 0;
    return bw_unhex(out, 16, hex);
}

void bwh_uuid_format(char out[37], const uint8_t in[16])
{
    char hex[33];

    bw_hex(hex, in, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

double bwh_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bwh_progress_start(struct bwh_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof(*p));
    p->label = label;
    p->total = total;
    p->start = p->last = bwh_now();
    p->enabled = isatty(2) && total >= (16u << 20) && !getenv("BW_NO_PROGRESS");
}

void bwh_progress_start_json(struct bwh_progress *p, const char *label, uint64_t total)
{
    bwh_progress_start(p, label, total);
    p->enabled = 1;
    p->json = 1;
}

void bwh_progress_start_items(struct bwh_progress *p, const char *label, const char *unit,
                             uint64_t total)
{
    bwh_progress_start(p, label, total);
    p->unit = unit;
    p->enabled = isatty(2) && total >= 2 && !getenv("BW_NO_PROGRESS");
}

static void draw(struct bwh_progress *p, double now)
{
    double el = now - p->start, rate = el > 0 ? (double)p->done / el : 0;
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    int pct = p->total ? (int)(100.0 * (double)p->done / (double)p->total) : 100;
    char bar[31];
    int i, fill = pct * 30 / 100;

    if (p->json) {
        printf("{\"event\":\"progress\",\"stage\":\"%s\",\"bytes\":%llu,\"total\":%llu,"
               "\"rate\":%.0f}\n",
               p->label, (unsigned long long)p->done, (unsigned long long)p->total, rate);
        fflush(stdout);
        return;
    }
    for (i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    if (p->unit) {
        fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu %s %6.1f/s ETA %4.0fs ", p->label, bar, pct,
                (unsigned long long)p->done, (unsigned long long)p->total, p->unit, rate, eta);
        return;
    }
    fprintf(stderr, "\r%s [%s] %3d%% %7.1f MiB %7.1f MiB/s ETA %4.0fs ", p->label, bar, pct,
            (double)p->done / 1048576.0, rate / 1048576.0, eta);
}

void bwh_progress_add(struct bwh_progress *p, uint64_t n)
{
    double now;

    p->done += n;
    if (!p->enabled)
        return;
    now = bwh_now();
    if (now - p->last >= 0.1) {
        p->last = now;
        draw(p, now);
    }
}

void bwh_progress_end(struct bwh_progress *p)
{
    if (!p->enabled)
        return;
    draw(p, bwh_now());
    if (!p->json)
        fputc('\n', stderr);
}
