/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) download into a pipe, with resume (common/host.h). Method: a
 * thread runs libcurl and writes what arrives into the pipe the package
 * reader reads; when a transfer breaks off, it asks again from the first
 * byte not yet delivered (Range), a few times with growing pauses. A server
 * that ignores Range and answers 200 has the already delivered bytes
 * skipped, so the reader sees one uninterrupted stream either way.
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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

struct bw_fetch {
    pthread_t thr;
    char *url;
    char *cacert;
    int wfd;
    uint64_t delivered; /* bytes written into the pipe */
    uint64_t skip;      /* bytes of this response to drop (server ignored Range) */
    int no_range;       /* the server does not do Range: restart, skip what we have */
    unsigned attempts;
    unsigned max_attempts;
    bw_err rc;
    char err[CURL_ERROR_SIZE];
};

static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
    void (*easy_reset)(CURL *c);
    void (*easy_cleanup)(CURL *c);
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
    cu.ok = cu.global_init && cu.easy_init && cu.easy_setopt && cu.easy_perform &&
            cu.easy_getinfo && cu.easy_reset && cu.easy_cleanup &&
            cu.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
    struct bw_fetch *f = ctx;
    size_t len = sz * n, off = 0;

    if (f->skip) {
        size_t s = f->skip < len ? (size_t)f->skip : len;

        f->skip -= s;
        off = s;
    }
    if (off < len && bw_write_full(f->wfd, p + off, len - off) != BW_OK)
        return 0; /* the reader stopped (refused the package): abort */
    f->delivered += len - off;
    return len;
}

static void *fetch_main(void *arg)
{
    struct bw_fetch *f = arg;
    CURL *c = cu.easy_init();
    unsigned delay_ms = 200;

    f->rc = BW_E_NOMEM;
    if (!c)
        goto out;
    for (f->attempts = 1;; f->attempts++) {
        CURLcode r;
        long status = 0;

        cu.easy_reset(c);
        cu.easy_setopt(c, CURLOPT_URL, f->url);
        cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        cu.easy_setopt(c, CURLOPT_WRITEDATA, f);
        cu.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        cu.easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
        cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
        cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cu.easy_setopt(c, CURLOPT_ERRORBUFFER, f->err);
        if (f->cacert)
            cu.easy_setopt(c, CURLOPT_CAINFO, f->cacert);
        f->skip = f->no_range ? f->delivered : 0;
        if (f->delivered && !f->no_range)
            cu.easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)f->delivered);
        f->err[0] = 0;
        r = cu.easy_perform(c);
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (r == CURLE_OK) {
            f->rc = BW_OK;
            break;
        }
        if (r == CURLE_RANGE_ERROR) {
            /* Range ignored: from now on restart at byte 0 and drop what
             * was already delivered */
            f->no_range = 1;
        } else if (r == CURLE_WRITE_ERROR) {
            f->rc = BW_E_STATE; /* the reader went away */
            break;
        }
        if ((r == CURLE_HTTP_RETURNED_ERROR && status < 500 && status != 429) ||
            r == CURLE_UNSUPPORTED_PROTOCOL ||
            r == CURLE_URL_MALFORMAT || r == CURLE_PEER_FAILED_VERIFICATION ||
            f->attempts >= f->max_attempts) {
            f->rc = BW_E_IO;
            break;
        }
        {
            struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};

            nanosleep(&ts, NULL);
            delay_ms = delay_ms < 3200 ? delay_ms * 2 : delay_ms;
        }
    }
out:
    if (c)
        cu.easy_cleanup(c);
    close(f->wfd);
    f->wfd = -1;
    return NULL;
}

bw_err bw_fetch_start(struct bw_fetch **out, const char *url, const char *cacert, int *read_fd)
{
    struct bw_fetch *f;
    int p[2];

    *out = NULL;
    pthread_once(&cu_once, cu_load);
    if (!cu.ok)
        return BW_E_UNSUPPORTED; /* libcurl (libcurl4) is not installed */
    signal(SIGPIPE, SIG_IGN); /* a refused package closes the pipe early */
    f = bw_calloc(1, sizeof(*f));
    if (!f)
        return BW_E_NOMEM;
    f->url = strdup(url);
    f->cacert = cacert ? strdup(cacert) : NULL;
    f->max_attempts = 6;
    if (!f->url || (cacert && !f->cacert) || pipe2(p, O_CLOEXEC) != 0) {
        free(f->url);
        free(f->cacert);
        bw_free(f);
        return BW_E_NOMEM;
    }
    f->wfd = p[1];
    if (pthread_create(&f->thr, NULL, fetch_main, f) != 0) {
        close(p[0]);
        close(p[1]);
        free(f->url);
        free(f->cacert);
        bw_free(f);
        return BW_E_NOMEM;
    }
    *read_fd = p[0];
    *out = f;
    return BW_OK;
}

bw_err bw_fetch_finish(struct bw_fetch *f, struct bw_fetch_stats *st)
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
    free(f->url);
    free(f->cacert);
    bw_free(f);
    return rc;
}
