/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gwload: a simulated fleet for the gateway integration tests. Every device
 * of a `bulwark provision --count N --out DIR` batch checks in over mutual
 * TLS with a fresh device token per request, reports its action, and checks
 * in again until it has none. Connection errors and 5xx answers are retried
 * until --until, so a run survives a gateway restart. Not a device agent
 * (nothing is downloaded or installed) and not a benchmark of record.
 *
 * Usage: gwload cycle --devices DIR --url URL[,URL...] --cacert FILE --aud AUD
 *        [--threads T] [--out FILE] [--fail-every K] [--until S]
 *        [--install-ms MS] [--race]
 * --out gets one line "DEVICE ACTION_ID STATE" per report the gateway
 * answered with 2xx, flushed at once: these are the reports the gateway
 * acknowledged, which must survive anything that happens to it afterwards.
 *
 *        gwload poll --devices DIR --url URL --cacert FILE --aud AUD
 *        --duration S [--interval-ms MS] [--report-every K] [--fresh-every K]
 *        [--out FILE]
 * A fleet that keeps polling for S seconds (tests/hostile): one thread per
 * device, each checking in every MS milliseconds (+-10 %, first at a
 * random offset) on its own keep-alive connection. After every K-th
 * check-in of --report-every it sends a report (a check-in with changed
 * attributes, which the gateway writes to the registry); every K-th
 * check-in of --fresh-every opens a new connection, as a device that
 * slept would. Both start at a random one of the first K check-ins, so
 * that the fleet's reports and new connections are spread out. A device
 * presents one token per connection (the gateway accepts it again on that
 * connection only). No retries: each request counts once. --out gets one
 * line per request: "T KIND STATUS MS CONNECTS CURLCODE DEVICE", T the
 * start on CLOCK_MONOTONIC (s), STATUS 0 when no answer came.
 *
 *        gwload tokens --devices DIR --url URL --cacert FILE --aud AUD
 *        --count N [--src ADDR]
 * One device (the first under DIR) checks in N times on one connection,
 * each time with a new valid token, as a device exhausting the token
 * replay table would; prints the count of each answer status and stops
 * early after 50 answers of 429 in a row.
 * --src binds the client side of every connection to ADDR (both modes).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bulwark/core.h"
#include "bwh/identity.h"
#include "bulwark/token.h"
#include "bwh/host.h"

#define MAX_URLS 8
#define MAX_THREADS 256
#define TOKEN_TTL 300
#define MAX_ACTIONS 8 /* actions one device works through before it gives up */

struct dev {
    char name[64];
    int64_t action; /* the first action id offered to it, 0 none yet */
    unsigned req;   /* requests made: picks the next URL */
};

/* One curl handle per URL per thread; the thread's multi handle keeps
 * their connections alive between requests. */
struct conn {
    CURL *h;
    struct curl_slist *hdr;
    char *buf;
    size_t len, cap;
    char post[256];
};

struct thr {
    pthread_t tid;
    struct conn c[MAX_URLS];
    CURLM *multi;
};

static struct {
    const char *dir, *cacert, *aud, *out_path;
    char *urls[MAX_URLS];
    size_t nurls;
    unsigned threads, fail_every, install_ms;
    int race;
    double start, deadline;
    struct dev *dev;
    size_t ndev;
    FILE *out;
    pthread_mutex_t out_lock;
    atomic_size_t next;
    atomic_ulong requests, errors, acked, failed_reports, conflicts, dups, done, lost;
    /* poll and tokens */
    const char *src;
    unsigned interval_ms, report_every, fresh_every, count;
    atomic_ulong polls, polls_ok, reports, reports_ok, refreshes, connects;
} g = {.threads = 8, .out_lock = PTHREAD_MUTEX_INITIALIZER, .interval_ms = 2000,
       .report_every = 5};

static void msleep(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    struct conn *c = arg;
    size_t add = sz * n;

    if (c->len + add + 1 > c->cap) {
        size_t cap = (c->len + add + 1) * 2;
        char *b = realloc(c->buf, cap);

        if (!b)
            return 0;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, add);
    c->len += add;
    c->buf[c->len] = 0;
    return add;
}

/* A device token of d for aud, valid ttl seconds from now, into tok
 * (BW_TOKEN_MAX + 1 bytes). 0 or -1. */
static int mint(const struct dev *d, const struct bw_signer *s, unsigned ttl, char *tok)
{
    struct bw_token_claims cl;
    size_t n;

    memset(&cl, 0, sizeof(cl));
    snprintf(cl.sub, sizeof(cl.sub), "%s", d->name);
    snprintf(cl.aud, sizeof(cl.aud), "%s", g.aud);
    cl.iat = (int64_t)time(NULL);
    cl.exp = cl.iat + ttl;
    return bw_token_issue(s, &cl, tok, BW_TOKEN_MAX + 1, &n) ? -1 : 0;
}

/* Sets up c for one request to base + path with token tok and the body
 * (NULL for GET). -1 if the headers could not be made. */
static int setup(struct conn *c, const char *base, const char *tok, const char *path,
                 const char *body)
{
    char hdr[BW_TOKEN_MAX + 64], url[1024];

    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
    curl_slist_free_all(c->hdr);
    c->hdr = curl_slist_append(NULL, hdr);
    c->hdr = c->hdr ? curl_slist_append(c->hdr, "Content-Type: application/json") : NULL;
    if (!c->hdr)
        return -1;
    snprintf(url, sizeof(url), "%s%s", base, path);
    snprintf(c->post, sizeof(c->post), "%s", body ? body : "");
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdr);
    if (body) {
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->post);
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->post));
    } else {
        curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    }
    c->len = 0;
    if (c->buf)
        c->buf[0] = 0;
    return 0;
}

/* Sets up c for one request of device d: the next URL, a fresh token,
 * the body (NULL for GET). -1 if no token could be made. */
static int prepare(struct conn *c, struct dev *d, const struct bw_signer *s, const char *path,
                   const char *body)
{
    char tok[BW_TOKEN_MAX + 1];

    if (mint(d, s, TOKEN_TTL, tok))
        return -1;
    return setup(c, g.urls[d->req++ % g.nurls], tok, path, body);
}

/* Runs the transfers of c[0..n) at once on the thread's multi handle: all
 * requests of a thread share its connection cache, so a device's requests
 * reuse the connections of its first check-in. cc[i] gets each result. */
static void perform(struct thr *t, struct conn *const *c, size_t n, CURLcode *cc)
{
    int running = 1, left;
    CURLMsg *m;
    size_t i, added;

    for (i = 0; i < n; i++)
        cc[i] = CURLE_FAILED_INIT;
    for (added = 0; added < n; added++)
        if (curl_multi_add_handle(t->multi, c[added]->h) != CURLM_OK)
            break;
    while (running && added == n) {
        if (curl_multi_perform(t->multi, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
    }
    while ((m = curl_multi_info_read(t->multi, &left)))
        for (i = 0; i < n; i++)
            if (m->msg == CURLMSG_DONE && m->easy_handle == c[i]->h)
                cc[i] = m->data.result;
    for (i = 0; i < added; i++)
        curl_multi_remove_handle(t->multi, c[i]->h);
}

/* Backoff before retry number a (0-based): 50 ms doubling to 400 ms. */
static unsigned backoff(unsigned a)
{
    return 50u << (a < 3 ? a : 3);
}

/* One request with retries: connection errors and 5xx answers are tried
 * again (on the next URL) until the deadline. Returns the HTTP status, 0
 * when the deadline passed, -1 when no token could be made. The answer's
 * body is in c->buf of the returned *used. */
static long request(struct thr *t, struct dev *d, const struct bw_signer *s, const char *path,
                    const char *body, struct conn **used)
{
    unsigned a;

    for (a = 0;; a++) {
        struct conn *c = &t->c[d->req % g.nurls];
        long code = 0;
        CURLcode cc;

        if (prepare(c, d, s, path, body))
            return -1;
        perform(t, &c, 1, &cc);
        atomic_fetch_add(&g.requests, 1);
        if (cc == CURLE_OK)
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
        if (cc == CURLE_OK && code < 500) {
            *used = c;
            return code;
        }
        atomic_fetch_add(&g.errors, 1);
        if (bwh_now() > g.deadline)
            return 0;
        msleep(backoff(a));
    }
}

/* The action id in a check-in answer: >0, 0 for none, -1 unparseable. */
static int64_t action_id(const char *body)
{
    json_error_t je;
    json_t *o = json_loads(body ? body : "", 0, &je), *a;
    int64_t id = -1;

    a = json_object_get(o, "action");
    if (o && json_is_null(a))
        id = 0;
    else if (json_is_object(a) && json_is_integer(json_object_get(a, "id")))
        id = (int64_t)json_integer_value(json_object_get(a, "id"));
    json_decref(o);
    return id;
}

static const char checkin_body[] = "{\"version\":\"1.0.0\",\"sequence\":1,\"attributes\":{}}";

/* A check-in: the action id (>= 0), or -1 after an error (counted). */
static int64_t checkin(struct thr *t, struct dev *d, const struct bw_signer *s)
{
    struct conn *c = NULL;
    long code = request(t, d, s, "/api/v1/device/checkin", checkin_body, &c);
    int64_t id = code == 200 ? action_id(c->buf) : -1;

    if (id < 0)
        fprintf(stderr, "gwload: %s: check-in answered %ld: %.200s\n", d->name, code,
                c && c->buf ? c->buf : "");
    return id;
}

/* The first check-in sent to every URL at once (--race): the instances
 * must agree on the device's action. -1 if a request failed (the caller
 * then checks in the ordinary way). */
static int64_t checkin_race(struct thr *t, struct dev *d, const struct bw_signer *s)
{
    int64_t id[MAX_URLS] = {0}, first;
    struct conn *c[MAX_URLS];
    CURLcode cc[MAX_URLS];
    unsigned r0 = d->req;
    size_t u;
    int ok = 1;

    for (u = 0; u < g.nurls; u++) {
        c[u] = &t->c[u];
        d->req = (unsigned)u; /* connection u to URL u */
        if (prepare(c[u], d, s, "/api/v1/device/checkin", checkin_body))
            return -1;
    }
    d->req = r0 + 1;
    perform(t, c, g.nurls, cc);
    for (u = 0; u < g.nurls; u++) {
        long code = 0;

        if (cc[u] == CURLE_OK)
            curl_easy_getinfo(c[u]->h, CURLINFO_RESPONSE_CODE, &code);
        id[u] = code == 200 ? action_id(c[u]->buf) : -1;
        ok &= id[u] >= 0;
        atomic_fetch_add(&g.requests, 1);
    }
    if (!ok) {
        atomic_fetch_add(&g.errors, 1);
        return -1;
    }
    first = id[0];
    for (u = 1; u < g.nurls; u++)
        if (id[u] != first) {
            fprintf(stderr, "gwload: %s: instances offered actions %lld and %lld at once\n",
                    d->name, (long long)first, (long long)id[u]);
            atomic_fetch_add(&g.dups, 1);
        }
    return first;
}

static void record(const struct dev *d, int64_t id, const char *state)
{
    if (!g.out)
        return;
    pthread_mutex_lock(&g.out_lock);
    fprintf(g.out, "%s %lld %s\n", d->name, (long long)id, state);
    fflush(g.out);
    pthread_mutex_unlock(&g.out_lock);
}

/* Loads the device's key and certificate into every connection of t and
 * makes a signer. 0 or -1. */
static int load(struct thr *t, struct dev *d, struct bwh_devkey **k, struct bw_signer *s)
{
    char path[4096 + 128], uri[2 * 4096 + 300];
    struct bw_ec_key ec;
    uint8_t pem[1024], *crt = NULL;
    size_t n = 0, crt_len = 0, u;
    int rc = -1;

    bw_ec_key_init(&ec);
    snprintf(uri, sizeof(uri), "file:%s/%s/device.key?storage-key=%s/%s/storage.key", g.dir,
             d->name, g.dir, d->name);
    snprintf(path, sizeof(path), "%s/%s/device.crt", g.dir, d->name);
    if (bwh_devkey_open(uri, k) || bwh_devkey_signer(*k, s) || bwh_devkey_export_private(*k, &ec) ||
        bw_ec_export(&ec, 1, 1, pem, sizeof(pem), &n) ||
        bwh_read_file(path, 65536, &crt, &crt_len))
        goto out;
    for (u = 0; u < g.nurls; u++) {
        struct curl_blob kb = {pem, n, CURL_BLOB_COPY}, cb = {crt, crt_len, CURL_BLOB_COPY};

        curl_easy_setopt(t->c[u].h, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(t->c[u].h, CURLOPT_SSLCERT_BLOB, &cb);
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "gwload: %s: cannot load its key or certificate\n", d->name);
    bw_wipe(pem, sizeof(pem));
    bw_ec_key_clear(&ec);
    bwh_free(crt);
    return rc;
}

/* Method: check in; while an action is offered, (pause --install-ms,)
 * report its final state and check in again. An action id that differs
 * from the first one offered to this device is a duplicate offer: the
 * test has one campaign, so each device must only ever see one. A 409 on
 * a report means an earlier attempt whose answer was lost (the gateway
 * died after its commit) already finished it: not acknowledged to us, so
 * not recorded, but the device is done with it. */
static void run_device(struct thr *t, struct dev *d, size_t idx)
{
    struct bwh_devkey *k = NULL;
    struct bw_signer s;
    int64_t id;
    int i, finished = 0;

    d->req = (unsigned)idx;
    if (load(t, d, &k, &s))
        goto out;
    id = g.race && g.nurls > 1 ? checkin_race(t, d, &s) : -1;
    if (id < 0)
        id = checkin(t, d, &s);
    for (i = 0; i < MAX_ACTIONS && id > 0; i++) {
        const char *st = g.fail_every && (idx + 1) % g.fail_every == 0 ? "failure" : "success";
        char body[128];
        struct conn *c = NULL;
        long code;

        if (d->action && d->action != id) {
            fprintf(stderr, "gwload: %s: offered action %lld after %lld\n", d->name,
                    (long long)id, (long long)d->action);
            atomic_fetch_add(&g.dups, 1);
        }
        if (!d->action)
            d->action = id;
        if (g.install_ms)
            msleep(g.install_ms);
        snprintf(body, sizeof(body), "{\"state\":\"%s\",\"feedback\":\"gwload\"}", st);
        {
            char path[96];

            snprintf(path, sizeof(path), "/api/v1/device/actions/%lld/report", (long long)id);
            code = request(t, d, &s, path, body, &c);
        }
        if (code >= 200 && code < 300) {
            record(d, id, st);
            atomic_fetch_add(&g.acked, 1);
            if (*st == 'f')
                atomic_fetch_add(&g.failed_reports, 1);
        } else if (code == 409) {
            atomic_fetch_add(&g.conflicts, 1);
        } else {
            fprintf(stderr, "gwload: %s: report on %lld answered %ld: %.200s\n", d->name,
                    (long long)id, code, c && c->buf ? c->buf : "");
            goto out;
        }
        id = checkin(t, d, &s);
    }
    finished = id == 0;
out:
    atomic_fetch_add(finished ? &g.done : &g.lost, 1);
    bwh_devkey_close(k);
}

static void *worker(void *arg)
{
    struct thr *t = arg;

    for (;;) {
        size_t i = atomic_fetch_add(&g.next, 1);

        if (i >= g.ndev)
            break;
        run_device(t, &g.dev[i], i);
    }
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct dev *)a)->name, ((const struct dev *)b)->name);
}

/* Every DIR/dev-* directory that holds a device.crt, sorted by name. */
static int list_devices(void)
{
    DIR *dh = opendir(g.dir);
    struct dirent *e;
    size_t cap = 0;

    if (!dh)
        return -1;
    while ((e = readdir(dh))) {
        char p[4096 + 300];
        struct stat st;

        if (strncmp(e->d_name, "dev-", 4) || strlen(e->d_name) >= sizeof(g.dev->name))
            continue;
        snprintf(p, sizeof(p), "%s/%s/device.crt", g.dir, e->d_name);
        if (stat(p, &st))
            continue;
        if (g.ndev == cap) {
            struct dev *nd = realloc(g.dev, (cap = cap ? 2 * cap : 256) * sizeof(*nd));

            if (!nd) {
                closedir(dh);
                return -1;
            }
            g.dev = nd;
        }
        memset(&g.dev[g.ndev], 0, sizeof(*g.dev));
        snprintf(g.dev[g.ndev].name, sizeof(g.dev->name), "%s", e->d_name);
        g.ndev++;
    }
    closedir(dh);
    if (g.ndev)
        qsort(g.dev, g.ndev, sizeof(*g.dev), by_name);
    return 0;
}

static int conn_init(struct conn *c)
{
    c->h = curl_easy_init();
    if (!c->h)
        return -1;
    curl_easy_setopt(c->h, CURLOPT_CAINFO, g.cacert);
    curl_easy_setopt(c->h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c->h, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    if (g.src)
        curl_easy_setopt(c->h, CURLOPT_INTERFACE, g.src);
    return 0;
}

/* ---- poll: a fleet that keeps polling ------------------------------------------- */

#define POLL_TOKEN_TTL 60 /* s: a device's live tokens stay well under the quota */

struct poller {
    pthread_t tid;
    struct thr t; /* c[0] only */
    struct dev *d;
    char tok[BW_TOKEN_MAX + 1];
    int have_tok;
    unsigned seed;
};

static const char poll_body[] = "{\"version\":\"1.0.0\",\"sequence\":1}";

/* Whether the connection curl kept from h's last transfer is still open:
 * nothing to read (EAGAIN) or unread data, not EOF or an error. */
static int conn_alive(CURL *h)
{
    curl_socket_t fd = CURL_SOCKET_BAD;
    char b;
    ssize_t n;

    if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
        return 0;
    n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* One request of device p on its connection (a new one if fresh). The
 * token is kept while the connection it was presented on lives and made
 * anew for a new connection; when curl opened a new connection after all
 * (the gateway closed the old one between the check and the request), the
 * 401 for the replayed token is retried once with a new token on a new
 * connection, and the latency counts both. The HTTP status, 0 without an
 * answer (*cc says why); *ms the time taken, *conns connections opened. */
static long poll_request(struct poller *p, const struct bw_signer *s, const char *body,
                         int fresh, double *ms, long *conns, CURLcode *cc)
{
    struct conn *c = &p->t.c[0];
    double t0 = bwh_now();
    long code = 0, n;
    int a;

    *conns = 0;
    *cc = CURLE_FAILED_INIT;
    for (a = 0; a < 2; a++) {
        int renew = !p->have_tok || fresh || a || !conn_alive(c->h);

        if (renew && mint(p->d, s, POLL_TOKEN_TTL, p->tok))
            break;
        p->have_tok = 1;
        if (setup(c, g.urls[0], p->tok, "/api/v1/device/checkin", body))
            break;
        curl_easy_setopt(c->h, CURLOPT_FRESH_CONNECT, (long)(fresh || a));
        *cc = curl_easy_perform(c->h);
        code = 0;
        if (*cc == CURLE_OK)
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
        else
            p->have_tok = 0; /* it may have been presented: never again */
        n = 0;
        curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &n);
        *conns += n;
        if (a == 0 && code == 401 && c->buf && strstr(c->buf, "REPLAY")) {
            atomic_fetch_add(&g.refreshes, 1);
            continue;
        }
        break;
    }
    *ms = (bwh_now() - t0) * 1000.0;
    return code;
}

static void poll_record(double t, const char *kind, long code, double ms, long conns, CURLcode cc,
                        const struct dev *d)
{
    atomic_fetch_add(&g.connects, (unsigned long)conns);
    if (!g.out)
        return;
    pthread_mutex_lock(&g.out_lock);
    fprintf(g.out, "%.4f %s %ld %.3f %ld %d %s\n", t, kind, code, ms, conns, (int)cc, d->name);
    pthread_mutex_unlock(&g.out_lock);
}

/* Method: sleep to the device's next slot (slots drift by +-10 % of the
 * interval so that the fleet does not poll in step; a late device skips
 * ahead rather than catching up), check in, and after every K-th check-in
 * report. The first report and the first new connection come at a random
 * check-in among the first K, so that the fleet's do not bunch. */
static void *poller_main(void *arg)
{
    struct poller *p = arg;
    struct bwh_devkey *k = NULL;
    struct bw_signer s;
    double next, iv = g.interval_ms / 1000.0;
    unsigned n = 0, phase = g.fresh_every ? rand_r(&p->seed) % g.fresh_every : 0,
             rphase = g.report_every ? rand_r(&p->seed) % g.report_every : 0;

    if (load(&p->t, p->d, &k, &s)) {
        atomic_fetch_add(&g.lost, 1);
        goto out;
    }
    next = g.start + iv * (double)(rand_r(&p->seed) % 1000) / 1000.0;
    while (next < g.deadline) {
        double now = bwh_now(), t, ms;
        long code, conns;
        CURLcode cc;
        int fresh;

        if (next > now)
            msleep((unsigned)((next - now) * 1000.0));
        t = bwh_now();
        fresh = g.fresh_every && n && (n + phase) % g.fresh_every == 0;
        code = poll_request(p, &s, poll_body, fresh, &ms, &conns, &cc);
        atomic_fetch_add(&g.polls, 1);
        if (code == 200)
            atomic_fetch_add(&g.polls_ok, 1);
        poll_record(t, "poll", code, ms, conns, cc, p->d);
        n++;
        if (g.report_every && (n + rphase) % g.report_every == 0) {
            char body[160];

            snprintf(body, sizeof(body),
                     "{\"version\":\"1.0.0\",\"sequence\":1,\"attributes\":{\"polls\":\"%u\"}}", n);
            t = bwh_now();
            code = poll_request(p, &s, body, 0, &ms, &conns, &cc);
            atomic_fetch_add(&g.reports, 1);
            if (code == 200)
                atomic_fetch_add(&g.reports_ok, 1);
            poll_record(t, "report", code, ms, conns, cc, p->d);
        }
        next += iv * (0.9 + 0.2 * (double)(rand_r(&p->seed) % 1000) / 1000.0);
        if (next < bwh_now())
            next = bwh_now();
    }
    atomic_fetch_add(&g.done, 1);
out:
    bwh_devkey_close(k);
    return NULL;
}

static int run_poll(void)
{
    struct poller *p = calloc(g.ndev, sizeof(*p));
    pthread_attr_t at;
    size_t i, started = 0;
    int rc = 1;

    if (!p || pthread_attr_init(&at))
        goto out;
    pthread_attr_setstacksize(&at, 512 * 1024);
    for (i = 0; i < g.ndev; i++) {
        p[i].d = &g.dev[i];
        p[i].seed = (unsigned)(i * 2654435761u) ^ (unsigned)time(NULL);
        if (conn_init(&p[i].t.c[0]))
            goto join;
        curl_easy_setopt(p[i].t.c[0].h, CURLOPT_MAXCONNECTS, 1L);
    }
    for (i = 0; i < g.ndev; i++) {
        if (pthread_create(&p[i].tid, &at, poller_main, &p[i]))
            goto join;
        started++;
    }
    rc = 0;
join:
    for (i = 0; i < started; i++)
        pthread_join(p[i].tid, NULL);
    pthread_attr_destroy(&at);
    for (i = 0; i < g.ndev; i++) {
        curl_easy_cleanup(p[i].t.c[0].h);
        curl_slist_free_all(p[i].t.c[0].hdr);
        free(p[i].t.c[0].buf);
        bw_wipe(p[i].tok, sizeof(p[i].tok));
    }
out:
    free(p);
    printf("gwload poll: %zu devices, %lu/%lu polls and %lu/%lu reports answered 200, "
           "%lu connections, %lu token renewals on a closed connection, %.1f s\n",
           g.ndev, (unsigned long)g.polls_ok, (unsigned long)g.polls,
           (unsigned long)g.reports_ok, (unsigned long)g.reports, (unsigned long)g.connects,
           (unsigned long)g.refreshes, bwh_now() - g.start);
    return rc || g.done != g.ndev;
}

/* ---- tokens: one device minting many valid tokens ------------------------------------ */

static int run_tokens(void)
{
    struct poller p;
    struct bwh_devkey *k = NULL;
    struct bw_signer s;
    unsigned long by[6] = {0}, other = 0;
    unsigned i = 0, run429 = 0;
    int rc = 1;

    memset(&p, 0, sizeof(p));
    p.d = &g.dev[0];
    if (conn_init(&p.t.c[0]) || load(&p.t, p.d, &k, &s))
        goto out;
    for (i = 0; i < g.count && run429 < 50 && bwh_now() < g.deadline; i++) {
        struct conn *c = &p.t.c[0];
        long code = 0;

        if (mint(p.d, &s, POLL_TOKEN_TTL, p.tok) ||
            setup(c, g.urls[0], p.tok, "/api/v1/device/checkin", poll_body))
            goto out;
        if (curl_easy_perform(c->h) == CURLE_OK)
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
        run429 = code == 429 ? run429 + 1 : 0;
        if (code >= 100 && code < 600)
            by[code / 100]++;
        else
            other++;
        if (code == 429)
            by[0]++; /* by[0]: the 429s among the 4xx */
    }
    rc = 0;
out:
    printf("gwload tokens: %s: %u requests with new tokens: 2xx %lu, 429 %lu, other 4xx %lu, "
           "5xx %lu, no answer %lu\n",
           p.d->name, i, by[2], by[0], by[4] - by[0], by[5], other);
    curl_easy_cleanup(p.t.c[0].h);
    curl_slist_free_all(p.t.c[0].hdr);
    free(p.t.c[0].buf);
    bw_wipe(p.tok, sizeof(p.tok));
    bwh_devkey_close(k);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: gwload cycle --devices DIR --url URL[,URL...] --cacert FILE --aud AUD\n"
            "       [--threads T (8)] [--out FILE] [--fail-every K] [--until SECONDS (120)]\n"
            "       [--install-ms MS] [--race] [--src ADDR]\n"
            "       gwload poll --devices DIR --url URL --cacert FILE --aud AUD --duration S\n"
            "       [--interval-ms MS (2000)] [--report-every K (5)] [--fresh-every K]\n"
            "       [--out FILE] [--src ADDR]\n"
            "       gwload tokens --devices DIR --url URL --cacert FILE --aud AUD --count N\n"
            "       [--src ADDR]\n");
    return 2;
}

static int num(const char *s, unsigned max, unsigned *v)
{
    uint64_t x;

    if (!s || bwh_parse_u64(s, &x) || x > max)
        return -1;
    *v = (unsigned)x;
    return 0;
}

int main(int argc, char **argv)
{
    static struct thr thr[MAX_THREADS];
    unsigned until = 120, i;
    char *urls = NULL, *save = NULL, *u;
    double el;
    int bad = 0;

    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "cycle") && strcmp(mode, "poll") && strcmp(mode, "tokens"))
        return usage();
    for (i = 2; i < (unsigned)argc; i++) {
        const char *o = argv[i], *v = i + 1 < (unsigned)argc ? argv[i + 1] : NULL;

        if (!strcmp(o, "--race")) {
            g.race = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(o, "--devices"))
            g.dir = v;
        else if (!strcmp(o, "--url"))
            urls = strdup(v);
        else if (!strcmp(o, "--cacert"))
            g.cacert = v;
        else if (!strcmp(o, "--aud"))
            g.aud = v;
        else if (!strcmp(o, "--out"))
            g.out_path = v;
        else if (!strcmp(o, "--threads"))
            bad |= num(v, MAX_THREADS, &g.threads) || !g.threads;
        else if (!strcmp(o, "--fail-every"))
            bad |= num(v, 1000000, &g.fail_every);
        else if (!strcmp(o, "--until"))
            bad |= num(v, 86400, &until);
        else if (!strcmp(o, "--install-ms"))
            bad |= num(v, 60000, &g.install_ms);
        else if (!strcmp(o, "--duration"))
            bad |= num(v, 86400, &until);
        else if (!strcmp(o, "--interval-ms"))
            bad |= num(v, 3600000, &g.interval_ms) || !g.interval_ms;
        else if (!strcmp(o, "--report-every"))
            bad |= num(v, 1000000, &g.report_every);
        else if (!strcmp(o, "--fresh-every"))
            bad |= num(v, 1000000, &g.fresh_every);
        else if (!strcmp(o, "--count"))
            bad |= num(v, 10000000, &g.count);
        else if (!strcmp(o, "--src"))
            g.src = v;
        else
            return usage();
    }
    if (bad || !g.dir || !urls || !g.cacert || !g.aud)
        return usage();
    for (u = strtok_r(urls, ",", &save); u && g.nurls < MAX_URLS; u = strtok_r(NULL, ",", &save))
        g.urls[g.nurls++] = u;
    if (!g.nurls)
        return usage();
    if (list_devices() || !g.ndev) {
        fprintf(stderr, "gwload: no devices under %s\n", g.dir);
        return 1;
    }
    if (g.out_path && !(g.out = fopen(g.out_path, "a"))) {
        perror(g.out_path);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g.start = bwh_now();
    g.deadline = g.start + until;
    if (strcmp(mode, "cycle")) {
        int rc = !strcmp(mode, "poll") ? run_poll() : run_tokens();

        if (g.out)
            fclose(g.out);
        curl_global_cleanup();
        free(g.dev);
        free(urls);
        return rc;
    }
    for (i = 0; i < g.threads; i++) {
        size_t k;

        thr[i].multi = curl_multi_init();
        for (k = 0; k < g.nurls; k++)
            if (conn_init(&thr[i].c[k]))
                return 1;
        if (!thr[i].multi || pthread_create(&thr[i].tid, NULL, worker, &thr[i]))
            return 1;
    }
    for (i = 0; i < g.threads; i++) {
        size_t k;

        pthread_join(thr[i].tid, NULL);
        for (k = 0; k < g.nurls; k++) {
            curl_easy_cleanup(thr[i].c[k].h);
            curl_slist_free_all(thr[i].c[k].hdr);
            free(thr[i].c[k].buf);
        }
        curl_multi_cleanup(thr[i].multi);
    }
    el = bwh_now() - g.start;
    if (g.out)
        fclose(g.out);
    printf("gwload: %lu/%zu devices done, %lu reports acked (%lu failure), %lu conflicts, "
           "%lu duplicate offers, %lu errors retried, %lu requests in %.2f s (%.0f req/s)\n",
           (unsigned long)g.done, g.ndev, (unsigned long)g.acked, (unsigned long)g.failed_reports,
           (unsigned long)g.conflicts, (unsigned long)g.dups, (unsigned long)g.errors,
           (unsigned long)g.requests, el, el > 0 ? (double)g.requests / el : 0.0);
    curl_global_cleanup();
    free(g.dev);
    free(urls);
    return g.done == g.ndev && !g.dups ? 0 : 1;
}
