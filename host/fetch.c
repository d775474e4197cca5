/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) download into a pipe, with resume (include/bwh/host.h). Method: a
 * thread runs libcurl and writes what arrives into the pipe the package
 * reader reads; when a transfer breaks off, it asks again from the first
 * byte not yet delivered (Range), a few times with growing pauses. A server
 * that ignores Range and answers 200 has the already delivered bytes
 * skipped, so the reader sees one uninterrupted stream either way.
 * Limits (host/netlimit.c): a total deadline across every attempt, a
 * low-speed window (a stall or a trickle ends an attempt; the next one
 * resumes), caps on the header block, the body and the redirects (never
 * from https to http): those and a stop request end the download at once.
 * libcurl is loaded with dlopen on the first download: it brings some thirty
 * shared libraries, which would otherwise cost every bulwark command about
 * 9 ms at start-up.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bwh/host.h"

struct bwh_fetch {
    pthread_t thr;
    char *url;
    char *cacert;
    char *auth;         /* an "Authorization: ..." header line, or NULL */
    int wfd;
    uint64_t delivered; /* bytes written into the pipe */
    uint64_t skip;      /* bytes of this response to drop (server ignored Range) */
    int no_range;       /* the server does not do Range: restart, skip what we have */
    uint64_t received;  /* body bytes received in all attempts (skipped ones too) */
    unsigned attempts;
    unsigned max_attempts;
    int https;          /* the URL is https: redirects stay on https */
    struct bwh_net_limits lim;
    struct bwh_net_meter meter;
    volatile const sig_atomic_t *stop;
    int fatal;          /* a limit or a stop ended it: no further attempt */
    int after_1xx;      /* the last status line was a 1xx */
    bw_err rc;
    char err[320]; /* at least CURL_ERROR_SIZE */
    char limit[256];    /* which limit ended an attempt, when one did */
};

static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
    void (*easy_reset)(CURL *c);
    void (*easy_cleanup)(CURL *c);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    int ok;
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void cu_load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

    if (!h)
        return;
    *(void **)&cu.global_init = dlsym(h, "curl_global_init");
    *(void **)&cu.easy_init = dlsym(h, "curl_easy_init");
    *(void **)&cu.easy_setopt = dlsym(h, "curl_easy_setopt");
    *(void **)&cu.easy_perform = dlsym(h, "curl_easy_perform");
    *(void **)&cu.easy_getinfo = dlsym(h, "curl_easy_getinfo");
    *(void **)&cu.easy_reset = dlsym(h, "curl_easy_reset");
    *(void **)&cu.easy_cleanup = dlsym(h, "curl_easy_cleanup");
    *(void **)&cu.slist_append = dlsym(h, "curl_slist_append");
    *(void **)&cu.slist_free_all = dlsym(h, "curl_slist_free_all");
    cu.ok = cu.global_init && cu.easy_init && cu.easy_setopt && cu.easy_perform &&
            cu.easy_getinfo && cu.easy_reset && cu.easy_cleanup &&
            cu.slist_append && cu.slist_free_all &&
            cu.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Header lines of every answer (redirects and 1xx included): counted
 * against the header limits. The status line of a redirect's target
 * starts a new block; 1xx answers and the answer after them count as one,
 * so "100 Continue" without end meets the limit too. */
static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
    struct bwh_fetch *f = ctx;
    size_t len = sz * n, l = len;

    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        const char *sp = memchr(p, ' ', len);

        if (!f->after_1xx)
            bwh_net_meter_head(&f->meter);
        f->after_1xx = sp && sp + 1 < p + len && sp[1] == '1';
    }
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        l--;
    if (bwh_net_meter_line(&f->meter, l, f->limit, sizeof(f->limit))) {
        f->fatal = 1;
        return 0; /* aborts the transfer */
    }
    return len;
}

/* Called by libcurl about once a second even when nothing arrives: the
 * total deadline, the low-speed window and a stop request. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct bwh_fetch *f = ctx;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (f->stop && *f->stop) {
        snprintf(f->limit, sizeof(f->limit), "stopped by a signal");
        f->fatal = 1;
        return 1;
    }
    if (bwh_net_meter_check(&f->meter, bwh_now_ms(), f->received, f->limit, sizeof(f->limit))) {
        f->fatal = f->meter.deadline_ms <= bwh_now_ms(); /* a slow attempt may be resumed */
        return 1;
    }
    return 0;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
    struct bwh_fetch *f = ctx;
    size_t len = sz * n, off = 0;

    f->received += len;
    if (f->skip) {
        size_t s = f->skip < len ? (size_t)f->skip : len;

        f->skip -= s;
        off = s;
    }
    if (f->lim.body_max && f->delivered + (len - off) > f->lim.body_max) {
        snprintf(f->limit, sizeof(f->limit), "answer longer than %llu bytes (size limit)",
                 (unsigned long long)f->lim.body_max);
        f->fatal = 1;
        return 0;
    }
    if (off < len && bwh_write_full(f->wfd, p + off, len - off) != BW_OK)
        return 0; /* the reader stopped (refused the package): abort */
    f->delivered += len - off;
    return len;
}

static void *fetch_main(void *arg)
{
    struct bwh_fetch *f = arg;
    CURL *c = cu.easy_init();
    struct curl_slist *hdr = NULL;
    unsigned delay_ms = 200;

    f->rc = BW_E_NOMEM;
    if (!c || (f->auth && !(hdr = cu.slist_append(NULL, f->auth))))
        goto out;
    bwh_net_meter_start(&f->meter, &f->lim, bwh_now_ms());
    for (f->attempts = 1;; f->attempts++) {
        CURLcode r;
        long status = 0, left = bwh_net_meter_wait_ms(&f->meter, bwh_now_ms(), INT32_MAX);

        cu.easy_reset(c);
        cu.easy_setopt(c, CURLOPT_URL, f->url);
        cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        cu.easy_setopt(c, CURLOPT_WRITEDATA, f);
        cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        cu.easy_setopt(c, CURLOPT_HEADERDATA, f);
        cu.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        cu.easy_setopt(c, CURLOPT_XFERINFODATA, f);
        cu.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        cu.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, f->lim.redirects_max ? 1L : 0L);
        cu.easy_setopt(c, CURLOPT_MAXREDIRS, (long)f->lim.redirects_max);
        cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        /* a download asked for over https never continues in the clear */
        cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, f->https ? "https" : "http,https");
        cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)f->lim.connect_s);
        /* libcurl's own clock as a backstop of the deadline on_progress keeps */
        cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, left > 0 ? left : 1L);
        if (f->lim.body_max)
            cu.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->lim.body_max);
        cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cu.easy_setopt(c, CURLOPT_ERRORBUFFER, f->err);
        if (f->cacert)
            cu.easy_setopt(c, CURLOPT_CAINFO, f->cacert);
        if (hdr)
            cu.easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        f->skip = f->no_range ? f->delivered : 0;
        if (f->delivered && !f->no_range)
            cu.easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)f->delivered);
        f->err[0] = 0;
        f->limit[0] = 0;
        f->after_1xx = 0;
        r = cu.easy_perform(c);
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (r == CURLE_OK) {
            f->rc = BW_OK;
            break;
        }
        /* say which limit ended it, in our words */
        if (f->limit[0])
            snprintf(f->err, sizeof(f->err), "%s", f->limit);
        else if (r == CURLE_TOO_MANY_REDIRECTS)
            snprintf(f->err, sizeof(f->err), "more than %u redirects (redirect limit)",
                     f->lim.redirects_max);
        else if (r == CURLE_UNSUPPORTED_PROTOCOL && f->https)
            snprintf(f->err, sizeof(f->err), "refused a redirect from https to another scheme");
        else if (r == CURLE_FILESIZE_EXCEEDED)
            snprintf(f->err, sizeof(f->err), "answer longer than %llu bytes (size limit)",
                     (unsigned long long)f->lim.body_max);
        else if (r == CURLE_OPERATION_TIMEDOUT &&
                 bwh_net_meter_wait_ms(&f->meter, bwh_now_ms(), 1) == 0)
            snprintf(f->err, sizeof(f->err),
                     "timed out: the transfer took over %u s (total limit)", f->lim.total_s);
        else if (r == CURLE_OPERATION_TIMEDOUT && !f->received)
            snprintf(f->err + strlen(f->err), sizeof(f->err) - strlen(f->err),
                     " (connect limit %u s)", f->lim.connect_s);
        if (r == CURLE_RANGE_ERROR) {
            /* Range ignored: from now on restart at byte 0 and drop what
             * was already delivered */
            f->no_range = 1;
        } else if (r == CURLE_WRITE_ERROR && !f->fatal) {
            f->rc = BW_E_STATE; /* the reader went away */
            break;
        }
        if (f->fatal || bwh_net_meter_wait_ms(&f->meter, bwh_now_ms(), 1) == 0 ||
            (r == CURLE_HTTP_RETURNED_ERROR && status < 500 && status != 429) ||
            r == CURLE_UNSUPPORTED_PROTOCOL || r == CURLE_TOO_MANY_REDIRECTS ||
            r == CURLE_FILESIZE_EXCEEDED ||
            r == CURLE_URL_MALFORMAT || r == CURLE_PEER_FAILED_VERIFICATION ||
            f->attempts >= f->max_attempts) {
            f->rc = BW_E_IO;
            break;
        }
        {
            /* the pause before the next attempt, within the deadline and
             * cut short by a stop request */
            int64_t until = bwh_now_ms() + bwh_net_meter_wait_ms(&f->meter, bwh_now_ms(),
                                                                (int)delay_ms);

            while (bwh_now_ms() < until && !(f->stop && *f->stop)) {
                struct timespec ts = {0, 50 * 1000000L};

                nanosleep(&ts, NULL);
            }
            if (f->stop && *f->stop) {
                snprintf(f->err, sizeof(f->err), "stopped by a signal");
                f->rc = BW_E_IO;
                break;
            }
            delay_ms = delay_ms < 3200 ? delay_ms * 2 : delay_ms;
        }
    }
out:
    if (c)
        cu.easy_cleanup(c);
    if (hdr)
        cu.slist_free_all(hdr);
    close(f->wfd);
    f->wfd = -1;
    return NULL;
}

static void fetch_free(struct bwh_fetch *f)
{
    free(f->url);
    free(f->cacert);
    if (f->auth)
        bw_wipe(f->auth, strlen(f->auth));
    free(f->auth);
    bwh_free(f);
}

/* bwh_fetch_start with an optional header line (auth) and a number of
 * attempts. */
static bw_err fetch_begin(struct bwh_fetch **out, const char *url, const char *cacert,
                          const char *auth, unsigned attempts, const struct bwh_net_limits *lim,
                          volatile const sig_atomic_t *stop, int *read_fd)
{
    struct bwh_fetch *f;
    int p[2];

    *out = NULL;
    pthread_once(&cu_once, cu_load);
    if (!cu.ok)
        return BW_E_UNSUPPORTED; /* libcurl (libcurl4) is not installed */
    signal(SIGPIPE, SIG_IGN); /* a refused package closes the pipe early */
    f = bwh_calloc(1, sizeof(*f));
    if (!f)
        return BW_E_NOMEM;
    f->url = strdup(url);
    f->cacert = cacert ? strdup(cacert) : NULL;
    f->auth = auth ? strdup(auth) : NULL;
    f->max_attempts = attempts;
    f->https = !strncmp(url, "https://", 8);
    f->stop = stop;
    if (lim)
        f->lim = *lim;
    else
        bwh_net_limits_default(&f->lim);
    if (!f->url || (cacert && !f->cacert) || (auth && !f->auth) || pipe2(p, O_CLOEXEC) != 0) {
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

bw_err bwh_fetch_start(struct bwh_fetch **out, const char *url, const char *cacert,
                      const struct bwh_net_limits *lim, volatile const sig_atomic_t *stop,
                      int *read_fd)
{
    return fetch_begin(out, url, cacert, NULL, 6, lim, stop, read_fd);
}

bw_err bwh_fetch_finish(struct bwh_fetch *f, struct bwh_fetch_stats *st)
{
    bw_err rc;

    if (!f)
        return BW_E_INVAL;
    pthread_join(f->thr, NULL);
    rc = f->rc;
    if (st) {
        st->bytes = f->delivered;
        st->attempts = f->attempts;
        snprintf(st->error, sizeof(st->error), "%s", f->err);
    }
    fetch_free(f);
    return rc;
}

/* The download thread of bwh_fetch_start, read to its end into memory: the
 * same limits, retries and TLS settings as a package download, so the CLI
 * keeps one HTTP client. */
bw_err bwh_fetch_get(const char *url, const char *cacert, const char *bearer,
                    const struct bwh_net_limits *lim, char **body, size_t *len, char *err,
                    size_t cap)
{
    struct bwh_fetch *f = NULL;
    struct bwh_fetch_stats st;
    struct bwh_net_limits l;
    char *auth = NULL, *buf = NULL;
    size_t n = 0, max;
    int fd = -1;
    bw_err rc;

    if (lim)
        l = *lim;
    else
        bwh_net_limits_default(&l);
    if (!l.body_max)
        l.body_max = (uint64_t)1 << 20;
    max = (size_t)l.body_max; /* the thread stops a longer answer and says so */
    *body = NULL;
    *len = 0;
    err[0] = 0;
    rc = BW_E_NOMEM;
    if (bearer) {
        size_t al = strlen(bearer) + sizeof("Authorization: Bearer ");

        auth = malloc(al);
        if (!auth)
            goto out;
        snprintf(auth, al, "Authorization: Bearer %s", bearer);
    }
    buf = malloc(max + 1);
    if (!buf)
        goto out;
    rc = fetch_begin(&f, url, cacert, auth, 2, &l, NULL, &fd);
    if (rc)
        goto out;
    for (;;) {
        ssize_t r = n < max ? read(fd, buf + n, max - n) : 0;

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    rc = bwh_fetch_finish(f, &st);
    if (rc) {
        snprintf(err, cap, "%s", st.error[0] ? st.error : bw_strerror(rc));
        goto out;
    }
    buf[n] = 0;
    *body = buf;
    *len = n;
    buf = NULL;
out:
    if (auth) {
        bw_wipe(auth, strlen(auth));
        free(auth);
    }
    free(buf);
    if (rc && !err[0])
        snprintf(err, cap, "%s", bw_strerror(rc));
    return rc;
}
