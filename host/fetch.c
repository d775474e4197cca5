/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Downloads for the CLI (include/bwh/host.h) over the host library's HTTP
 * client (host/http.c): `bulwark install URL` reads a package from a pipe
 * that a thread fills with bwh_http_download (resumed with Range, within
 * the limits of host/netlimit.c), and `bulwark audit --gateway` reads a
 * small answer into memory the same way. Only threads and buffers here;
 * the HTTP is the client's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bwh/host.h"
#include "bwh/http.h"

struct bwh_fetch {
    pthread_t thr;
    struct bwh_http *http;
    char *url;
    char *auth; /* an "Authorization: ..." field with its CRLF, or NULL */
    unsigned attempts;
    int wfd;
    struct bwh_http_dl st;
    bw_err rc;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = bwh_malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

static void fetch_free(struct bwh_fetch *f)
{
    bwh_http_free(f->http);
    bwh_free(f->url);
    if (f->auth)
        bw_wipe(f->auth, strlen(f->auth));
    bwh_free(f->auth);
    bwh_free(f);
}

/* A new download of url (not started): the client, its limits, the
 * Authorization field. */
static bw_err fetch_new(struct bwh_fetch **out, const char *url, const char *cacert,
                        const char *bearer, unsigned attempts, const struct bwh_net_limits *lim,
                        volatile const sig_atomic_t *stop)
{
    struct bwh_http_opts o = {.cacert = cacert, .stop = stop};
    struct bwh_net_limits l;
    struct bwh_fetch *f;
    bw_err rc = BW_E_NOMEM;

    *out = NULL;
    /* a refused package closes the pipe early; a server may close a TLS
     * connection while we write: both are errors here, not signals */
    signal(SIGPIPE, SIG_IGN);
    if (!(f = bwh_calloc(1, sizeof(*f))))
        return BW_E_NOMEM;
    f->wfd = -1;
    f->attempts = attempts;
    if (!(f->url = dup_str(url)))
        goto out;
    if (bearer) {
        size_t al = strlen(bearer) + sizeof("Authorization: Bearer \r\n");

        if (!(f->auth = bwh_malloc(al)))
            goto out;
        snprintf(f->auth, al, "Authorization: Bearer %s\r\n", bearer);
    }
    if ((rc = bwh_http_new(&f->http, &o)))
        goto out;
    if (lim)
        l = *lim;
    else
        bwh_net_limits_default(&l);
    bwh_http_limits(f->http, &l);
    rc = BW_OK;
out:
    if (rc)
        fetch_free(f);
    else
        *out = f;
    return rc;
}

/* Body bytes into the pipe; a reader that went away ends the download. */
static bw_err to_pipe(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct bwh_fetch *f = ctx;

    (void)status, (void)off;
    return bwh_write_full(f->wfd, p, n) == BW_OK ? BW_OK : BW_E_STATE;
}

static void *fetch_main(void *arg)
{
    struct bwh_fetch *f = arg;

    f->rc = bwh_http_download(f->http, f->url, f->auth, f->attempts, to_pipe, f, &f->st);
    if (f->rc == BW_E_STATE)
        snprintf(f->st.error, sizeof(f->st.error), "the package reader stopped reading");
    close(f->wfd);
    f->wfd = -1;
    return NULL;
}

bw_err bwh_fetch_start(struct bwh_fetch **out, const char *url, const char *cacert,
                       const struct bwh_net_limits *lim, volatile const sig_atomic_t *stop,
                       int *read_fd)
{
    struct bwh_fetch *f;
    int p[2];
    bw_err rc;

    *out = NULL;
    if ((rc = fetch_new(&f, url, cacert, NULL, 6, lim, stop)))
        return rc;
    if (pipe2(p, O_CLOEXEC) != 0) {
        fetch_free(f);
        return BW_E_NOMEM;
    }
    f->wfd = p[1];
    if (pthread_create(&f->thr, NULL, fetch_main, f) != 0) {
        close(p[0]);
        close(p[1]);
        fetch_free(f);
        return BW_E_NOMEM;
    }
    *read_fd = p[0];
    *out = f;
    return BW_OK;
}

bw_err bwh_fetch_finish(struct bwh_fetch *f, struct bwh_fetch_stats *st)
{
    bw_err rc;

    if (!f)
        return BW_E_INVAL;
    pthread_join(f->thr, NULL);
    rc = f->rc;
    if (st) {
        st->bytes = f->st.bytes;
        st->attempts = f->st.attempts;
        snprintf(st->error, sizeof(st->error), "%s", rc ? f->st.error : "");
    }
    fetch_free(f);
    return rc;
}

/* bwh_fetch_get's sink: the body into a buffer of body_max + 1 bytes (the
 * client refuses anything longer before it gets here). */
struct membuf {
    char *p;
    size_t len, cap;
};

static bw_err to_mem(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct membuf *m = ctx;

    (void)status, (void)off;
    if (n > m->cap - m->len)
        return BW_E_TOOBIG;
    memcpy(m->p + m->len, p, n);
    m->len += n;
    return BW_OK;
}

bw_err bwh_fetch_get(const char *url, const char *cacert, const char *bearer,
                     const struct bwh_net_limits *lim, char **body, size_t *len, char *err,
                     size_t cap)
{
    struct bwh_fetch *f = NULL;
    struct bwh_net_limits l;
    struct membuf m = {NULL, 0, 0};
    bw_err rc;

    *body = NULL;
    *len = 0;
    err[0] = 0;
    if (lim)
        l = *lim;
    else
        bwh_net_limits_default(&l);
    if (!l.body_max)
        l.body_max = (uint64_t)1 << 20;
    m.cap = (size_t)l.body_max;
    rc = BW_E_NOMEM;
    if (!(m.p = bwh_malloc(m.cap + 1)))
        goto out;
    if ((rc = fetch_new(&f, url, cacert, bearer, 2, &l, NULL)))
        goto out;
    rc = bwh_http_download(f->http, f->url, f->auth, f->attempts, to_mem, &m, &f->st);
    if (rc) {
        snprintf(err, cap, "%s", f->st.error[0] ? f->st.error : bw_strerror(rc));
        rc = BW_E_IO;
        goto out;
    }
    m.p[m.len] = 0;
    *body = m.p;
    *len = m.len;
    m.p = NULL;
out:
    if (f)
        fetch_free(f);
    bwh_free(m.p);
    if (rc && !err[0])
        snprintf(err, cap, "%s", bw_strerror(rc));
    return rc;
}
