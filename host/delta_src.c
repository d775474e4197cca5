/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a delta is read from (include/bwh/delta.h): a local file, or a URL
 * read with bounded Range requests through the one HTTP client
 * (host/http.c). A range answer must be a 206 that starts where asked and
 * carries exactly the bytes asked for: a 200 (a server that ignores Range)
 * is reported as BW_E_UNSUPPORTED so the caller falls back to a full
 * download, a short answer is resumed a few times and then BW_E_TRUNCATED.
 * Nothing read here is trusted: the install checks every chunk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwh/delta.h"
#include "bwh/http.h"

#define URL_ATTEMPTS 4

struct file_src {
    int fd;
};

static bw_err file_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
    struct file_src *f = ctx;
    size_t got = 0;
    bw_err rc;

    if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        return BW_E_IO;
    rc = bwh_read_full(f->fd, buf, len, &got);
    return rc ? rc : got < len ? BW_E_TRUNCATED : BW_OK;
}

static bw_err flash_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    return file_read(ctx, off, buf, len);
}

bw_err bwh_delta_src_flash(const struct bwh_delta_src *src, struct bw_flash *f)
{
    const struct file_src *fs = src->ctx;
    struct stat st;

    memset(f, 0, sizeof(*f));
    if (src->read != file_read)
        return BW_E_INVAL;
    if (fstat(fs->fd, &st) || !S_ISREG(st.st_mode))
        return BW_E_IO;
    f->ctx = src->ctx;
    f->size = (uint64_t)st.st_size;
    f->write_align = 1;
    f->read = flash_read;
    return BW_OK;
}

struct url_src {
    struct bwh_http *h;
    char *url;
    char err[400];
    /* the range being read */
    uint8_t *buf;
    uint64_t from, len, got;
};

static bw_err url_sink(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct url_src *u = ctx;

    if (status == 200)
        return BW_E_UNSUPPORTED; /* the whole file: stop reading it */
    if (status != 206)
        return BW_OK; /* an error page: dropped, the status says it */
    if (off != u->from + u->got || n > u->len - u->got)
        return BW_E_FORMAT; /* not the bytes asked for */
    memcpy(u->buf + u->got, p, n);
    u->got += n;
    return BW_OK;
}

static bw_err url_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
    struct url_src *u = ctx;
    unsigned attempt;
    bw_err rc = BW_E_IO;

    u->buf = buf;
    u->from = off;
    u->len = len;
    u->got = 0;
    u->err[0] = 0;
    for (attempt = 0; attempt < URL_ATTEMPTS && u->got < len; attempt++) {
        struct bwh_http_req rq;
        struct bwh_http_res res;
        uint64_t before = u->got;

        memset(&rq, 0, sizeof(rq));
        memset(&res, 0, sizeof(res));
        rq.url = u->url;
        rq.from = off + u->got;
        rq.range_len = len - u->got;
        rq.sink = url_sink;
        rq.ctx = u;
        u->from = off + u->got; /* the sink counts from the range it asked */
        u->len = len - u->got;
        u->buf = buf + u->got;
        u->got = 0;
        rc = bwh_http_request(u->h, &rq, &res);
        u->from = off, u->len = len, u->buf = buf;
        u->got += before;
        if (rc == BW_E_UNSUPPORTED || (!rc && res.status == 200)) {
            snprintf(u->err, sizeof(u->err), "the server ignores Range (200)");
            return BW_E_UNSUPPORTED;
        }
        if (!rc && res.status != 206) {
            snprintf(u->err, sizeof(u->err), "HTTP status %ld for a range", res.status);
            return res.status == 416 ? BW_E_TRUNCATED : BW_E_IO;
        }
        if (rc) {
            snprintf(u->err, sizeof(u->err), "%s", bwh_http_error(u->h));
            if (res.fatal)
                return rc;
        }
        if (u->got == before)
            break; /* nothing more came: a truncated resource */
    }
    if (u->got < len) {
        if (!u->err[0])
            snprintf(u->err, sizeof(u->err), "range answer %llu of %zu bytes",
                     (unsigned long long)u->got, len);
        return BW_E_TRUNCATED;
    }
    return BW_OK;
}

bw_err bwh_delta_src_fd(struct bwh_delta_src *src, int fd)
{
    struct file_src *f = bwh_calloc(1, sizeof(*f));

    memset(src, 0, sizeof(*src));
    if (!f) {
        close(fd);
        return BW_E_NOMEM;
    }
    f->fd = fd;
    src->read = file_read;
    src->ctx = f;
    src->resumes = 1; /* a short file stays short */
    return BW_OK;
}

bw_err bwh_delta_src_file(struct bwh_delta_src *src, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        memset(src, 0, sizeof(*src));
        return BW_E_IO;
    }
    return bwh_delta_src_fd(src, fd);
}

bw_err bwh_delta_src_url(struct bwh_delta_src *src, const char *url, const char *cacert,
                         const struct bwh_net_limits *lim, volatile const sig_atomic_t *stop)
{
    struct bwh_http_opts o;
    struct url_src *u = bwh_calloc(1, sizeof(*u));
    struct bwh_net_limits l = *lim;
    bw_err rc;

    memset(src, 0, sizeof(*src));
    if (!u)
        return BW_E_NOMEM;
    if ((rc = bwh_http_url_check(url, NULL)))
        goto fail;
    memset(&o, 0, sizeof(o));
    o.cacert = cacert;
    o.stop = stop;
    rc = BW_E_NOMEM;
    u->url = bwh_strdup(url);
    if (!u->url || (rc = bwh_http_new(&u->h, &o)))
        goto fail;
    l.body_max = 0; /* each answer is bounded by the sink to the range asked */
    bwh_http_limits(u->h, &l);
    signal(SIGPIPE, SIG_IGN);
    src->read = url_read;
    src->ctx = u;
    src->requests = 0;
    src->resumes = 1; /* url_read asks again from where a range broke off */
    return BW_OK;
fail:
    bwh_free(u->url);
    bwh_free(u);
    return rc;
}

const char *bwh_delta_src_error(const struct bwh_delta_src *src)
{
    if (src && src->read == url_read)
        return ((const struct url_src *)src->ctx)->err;
    return "";
}

void bwh_delta_src_close(struct bwh_delta_src *src)
{
    if (!src || !src->ctx)
        return;
    if (src->read == file_read) {
        struct file_src *f = src->ctx;

        close(f->fd);
        bwh_free(f);
    } else {
        struct url_src *u = src->ctx;

        bwh_http_free(u->h);
        bwh_free(u->url);
        bwh_free(u);
    }
    src->ctx = NULL;
}
