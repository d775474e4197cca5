/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_gwpoll: the load generator of bench/gateway.sh. Threads drive
 * keep-alive TLS 1.3 connections with a device certificate (mTLS) through
 * epoll, one request in flight per connection, and time every request.
 * Requests carry device tokens signed before the timed phase, so the
 * client's signing is not measured: one per connection (--token-per conn,
 * the default: what a device does, docs/protocol.md) or one per request
 * (--token-per request: the gateway verifies a signature on every poll). The same client runs
 * against bulwark-gateway and against nginx: the ratio compares servers.
 * With --pids it also measures the servers' memory per idle connection.
 * Not a fleet simulation (tests/tools/gwload.c is) and not a test.
 *
 * Usage: bench_gwpoll --port P --cacert FILE --devices DIR --aud AUD
 *        [--host 127.0.0.1] [--threads T (2)] [--conns C per thread (32)]
 *        [--requests K per connection (100)] [--method POST|GET]
 *        [--path PATH] [--body JSON] [--first I] [--ttl S (150)]
 *        [--pids PID,PID,...] [--settle S (0)] [--show] [--label TEXT]
 *        [--token-per conn|request (conn)] [--ddi-prefix /TENANT/controller/v1/]
 * --ddi-prefix polls hawkBit DDI base resources (GET PREFIX<device id>)
 * with the client certificate alone, no device token.
 * Connection i is device number (first + i) of DIR's dev-* directories,
 * sorted by name, wrapping around. Prints one line "result label=..."
 * of key=value pairs. Exit status 0 if every answer was 200. --pids names
 * the server's processes: their CPU time during the timed phase is
 * reported, and with --settle S also their RSS before the connections
 * were opened and S seconds after the last answer, with every connection
 * still open.
 *
 * The TLS context and each connection's handshake come from
 * host/tlsclient.c, the agent's own TLS client setup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bulwark/core.h"
#include "bwh/identity.h"
#include "bulwark/token.h"
#include "bwh/host.h"
#include "bwh/tlsclient.h"

#define MAX_THREADS 16
#define HDR_CAP 8192
#define BODY_CHUNK 65536

enum { ST_SEND, ST_RECV, ST_DONE };

struct conn {
    int fd, state;
    SSL *ssl;
    char dev[64];
    char **req;      /* requests[0..nreq), each a complete HTTP request */
    size_t *req_len;
    size_t nreq, cur, off;
    uint32_t events; /* epoll interest */
    char hdr[HDR_CAP];
    size_t hlen, hend, body_left; /* hend: length of the header block */
    int hdr_done, status;
    uint64_t t0;
};

struct thr {
    pthread_t tid;
    struct conn *c;
    size_t nc;
    uint64_t *lat; /* ns, one per answered request */
    size_t nlat;
    uint64_t bytes, ok, bad, failed; /* body bytes, 200s, other statuses, broken connections */
    size_t hdr_bytes;                /* size of the last answer's header block */
    int setup_rc;
};

static struct {
    const char *host, *cacert, *dir, *aud, *method, *path, *body, *label;
    unsigned port, threads, conns, requests, first, ttl, settle, show, tok_per_req, ddi;
    char pids[512];
    char (*devs)[64];
    size_t ndev;
    SSL_CTX *ctx;
    pthread_barrier_t ready;
    int quiet_errors;
} g = {.host = "127.0.0.1", .method = "POST", .path = "/api/v1/device/checkin",
       .body = "{\"version\":\"1.0.0\",\"sequence\":1}", .label = "run", .threads = 2,
       .conns = 32, .requests = 100, .ttl = 150};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Every request of connection c, with one token of c's device for the
 * connection or a fresh one for each request. */
static int make_requests(struct conn *c)
{
    char uri[2 * 4096 + 300], tok[BW_TOKEN_MAX + 1];
    struct bwh_devkey *k = NULL;
    struct bw_signer s;
    size_t i, blen = strlen(g.body), n;
    int rc = -1;

    snprintf(uri, sizeof(uri), "file:%s/%s/device.key?storage-key=%s/%s/storage.key", g.dir,
             c->dev, g.dir, c->dev);
    if (bwh_devkey_open(uri, &k) || bwh_devkey_signer(k, &s))
        goto out;
    c->req = calloc(c->nreq, sizeof(*c->req));
    c->req_len = calloc(c->nreq, sizeof(*c->req_len));
    if (!c->req || !c->req_len)
        goto out;
    for (i = 0; i < c->nreq; i++) {
        struct bw_token_claims cl;
        int post = !strcmp(g.method, "POST"), len;

        memset(&cl, 0, sizeof(cl));
        snprintf(cl.sub, sizeof(cl.sub), "%s", c->dev);
        snprintf(cl.aud, sizeof(cl.aud), "%s", g.aud);
        cl.iat = (int64_t)time(NULL);
        cl.exp = cl.iat + g.ttl;
        if ((i == 0 || g.tok_per_req) && bw_token_issue(&s, &cl, tok, sizeof(tok), &n))
            goto out;
        c->req[i] = malloc(n + blen + 512);
        if (!c->req[i])
            goto out;
        if (g.ddi) /* hawkBit DDI: the device's own controller path, mTLS only */
            len = sprintf(c->req[i], "%s %s%s HTTP/1.1\r\nHost: %s:%u\r\n", g.method, g.path,
                          c->dev, g.host, g.port);
        else
            len = sprintf(c->req[i],
                          "%s %s HTTP/1.1\r\nHost: %s:%u\r\nAuthorization: Bearer %s\r\n",
                          g.method, g.path, g.host, g.port, tok);
        if (post)
            len += sprintf(c->req[i] + len,
                           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                           blen, g.body);
        else
            len += sprintf(c->req[i] + len, "\r\n");
        c->req_len[i] = (size_t)len;
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_gwpoll: %s: cannot make its tokens\n", c->dev);
    bwh_devkey_close(k);
    return rc;
}

/* TCP connect and TLS handshake with c's certificate, blocking; then the
 * socket becomes non-blocking. */
static int connect_tls(struct conn *c)
{
    char path[4096 + 128], uri[2 * 4096 + 300];
    char port[16], err[320];
    struct bwh_devkey *k = NULL;
    struct bw_ec_key ec;
    uint8_t pem[1024];
    size_t n = 0;
    X509 *crt = NULL;
    EVP_PKEY *key = NULL;
    FILE *f = NULL;
    int rc = -1;

    bw_ec_key_init(&ec);
    snprintf(uri, sizeof(uri), "file:%s/%s/device.key?storage-key=%s/%s/storage.key", g.dir,
             c->dev, g.dir, c->dev);
    snprintf(path, sizeof(path), "%s/%s/device.crt", g.dir, c->dev);
    if (bwh_devkey_open(uri, &k) || bwh_devkey_export_private(k, &ec) ||
        bw_ec_export(&ec, 1, 1, pem, sizeof(pem), &n))
        goto out;
    if (bwh_tls_key_pem(pem, n, &key))
        goto out;
    if (!(f = fopen(path, "r")) || !(crt = PEM_read_X509(f, NULL, NULL, NULL)))
        goto out;
    snprintf(port, sizeof(port), "%u", g.port);
    if (bwh_tls_connect(g.ctx, g.host, port, 30000, crt, key, NULL, NULL, &c->fd, &c->ssl, err,
                       sizeof(err))) {
        fprintf(stderr, "bench_gwpoll: %s: %s\n", c->dev, err);
        goto out;
    }
    rc = 0;
out:
    if (rc) {
        fprintf(stderr, "bench_gwpoll: %s: cannot connect\n", c->dev);
    }
    if (f)
        fclose(f);
    X509_free(crt);
    EVP_PKEY_free(key);
    bw_wipe(pem, sizeof(pem));
    bw_ec_key_clear(&ec);
    bwh_devkey_close(k);
    return rc;
}

/* The status and Content-Length of a complete header block; -1 if the
 * answer has no length (this client reads only Content-Length bodies). */
static int parse_head(struct conn *c, size_t end)
{
    const char *p = c->hdr, *e = c->hdr + end;
    long long clen = -1;

    if (end < 12 || strncmp(p, "HTTP/1.1 ", 9))
        return -1;
    c->status = atoi(p + 9);
    while ((p = memchr(p, '\n', (size_t)(e - p))) && ++p < e)
        if (!strncasecmp(p, "Content-Length:", 15))
            clen = atoll(p + 15);
    if (clen < 0)
        return -1;
    c->body_left = (size_t)clen;
    return 0;
}

static void want(int ep, struct conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};

    if (c->events != ev && !epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e))
        c->events = ev;
}

/* One answer is complete: record it and start the next request. */
static void answered(struct thr *t, struct conn *c)
{
    t->lat[t->nlat++] = now_ns() - c->t0;
    if (c->status == 200) {
        t->ok++;
    } else {
        t->bad++;
        if (!g.quiet_errors++)
            fprintf(stderr, "bench_gwpoll: %s: answer %d: %.300s\n", c->dev, c->status, c->hdr);
    }
    if (g.show) /* the body, as far as it fits */
        printf("%.*s\n", (int)(c->hlen - c->hend), c->hdr + c->hend);
    c->cur++;
    c->off = 0;
    c->hlen = 0;
    c->hdr_done = 0;
    c->state = c->cur < c->nreq ? ST_SEND : ST_DONE;
    c->t0 = now_ns();
}

/* Drives c as far as it goes without blocking. 1 when c is finished (all
 * requests answered, or broken), 0 when it waits for the socket. */
static int step(int ep, struct thr *t, struct conn *c, uint8_t *scratch)
{
    for (;;) {
        int n, err;

        if (c->state == ST_DONE)
            return 1;
        if (c->state == ST_SEND) {
            n = SSL_write(c->ssl, c->req[c->cur] + c->off, (int)(c->req_len[c->cur] - c->off));
            if (n > 0) {
                c->off += (size_t)n;
                if (c->off == c->req_len[c->cur])
                    c->state = ST_RECV;
                continue;
            }
        } else if (!c->hdr_done) {
            n = SSL_read(c->ssl, c->hdr + c->hlen, (int)(HDR_CAP - 1 - c->hlen));
            if (n > 0) {
                char *end;

                c->hlen += (size_t)n;
                c->hdr[c->hlen] = 0;
                end = strstr(c->hdr, "\r\n\r\n");
                if (!end) {
                    if (c->hlen == HDR_CAP - 1)
                        goto broken;
                    continue;
                }
                if (parse_head(c, (size_t)(end + 4 - c->hdr)))
                    goto broken;
                c->hdr_done = 1;
                c->hend = (size_t)(end + 4 - c->hdr);
                t->hdr_bytes = c->hend;
                n = (int)(c->hlen - c->hend); /* body bytes already here */
                if ((size_t)n > c->body_left)
                    goto broken; /* more than one answer: nothing was pipelined */
                c->body_left -= (size_t)n;
                t->bytes += (uint64_t)n;
                if (!c->body_left)
                    answered(t, c);
                continue;
            }
        } else {
            n = SSL_read(c->ssl, scratch, BODY_CHUNK);
            if (n > 0) {
                if ((size_t)n > c->body_left)
                    goto broken;
                if (g.show && c->hlen + (size_t)n < HDR_CAP) {
                    memcpy(c->hdr + c->hlen, scratch, (size_t)n);
                    c->hlen += (size_t)n;
                }
                c->body_left -= (size_t)n;
                t->bytes += (uint64_t)n;
                if (!c->body_left)
                    answered(t, c);
                continue;
            }
        }
        err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_READ) {
            want(ep, c, EPOLLIN);
            return 0;
        }
        if (err == SSL_ERROR_WANT_WRITE) {
            want(ep, c, EPOLLOUT);
            return 0;
        }
        goto broken;
    }
broken:
    fprintf(stderr, "bench_gwpoll: %s: connection broken after %zu answers (state %d, %zu header bytes)\n",
            c->dev, c->cur, c->state, c->hlen);
    t->failed++;
    c->state = ST_DONE;
    return 1;
}

static void *worker(void *arg)
{
    struct thr *t = arg;
    uint8_t *scratch = malloc(BODY_CHUNK);
    struct epoll_event ev[64];
    size_t i, active = 0;
    int ep = epoll_create1(EPOLL_CLOEXEC);

    t->setup_rc = -1;
    t->lat = calloc(t->nc * g.requests + 1, sizeof(*t->lat));
    if (scratch && ep >= 0 && t->lat) {
        t->setup_rc = 0;
        for (i = 0; i < t->nc && !t->setup_rc; i++) {
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = &t->c[i]};

            t->c[i].nreq = g.requests;
            t->c[i].events = EPOLLIN;
            if (make_requests(&t->c[i]) || connect_tls(&t->c[i]) ||
                epoll_ctl(ep, EPOLL_CTL_ADD, t->c[i].fd, &e))
                t->setup_rc = -1;
        }
    }
    pthread_barrier_wait(&g.ready); /* every thread is connected */
    pthread_barrier_wait(&g.ready); /* main took the start time */
    if (t->setup_rc)
        goto out;
    for (i = 0; i < t->nc; i++) {
        t->c[i].t0 = now_ns();
        if (!step(ep, t, &t->c[i], scratch))
            active++;
    }
    while (active) {
        int n = epoll_wait(ep, ev, 64, 5000), k;

        if (n == 0) {
            fprintf(stderr, "bench_gwpoll: no answer for 5 s, %zu connections waiting\n", active);
            break;
        }
        for (k = 0; k < n; k++)
            if (step(ep, t, ev[k].data.ptr, scratch))
                active--;
    }
out:
    free(scratch);
    if (ep >= 0)
        close(ep);
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int list_devices(void)
{
    DIR *dh = opendir(g.dir);
    struct dirent *e;
    size_t cap = 0;

    if (!dh)
        return -1;
    while ((e = readdir(dh))) {
        if (strncmp(e->d_name, "dev-", 4) || strlen(e->d_name) >= sizeof(*g.devs))
            continue;
        if (g.ndev == cap) {
            void *nd = realloc(g.devs, (cap = cap ? 2 * cap : 1024) * sizeof(*g.devs));

            if (!nd)
                break;
            g.devs = nd;
        }
        snprintf(g.devs[g.ndev++], sizeof(*g.devs), "%s", e->d_name);
    }
    closedir(dh);
    if (g.ndev)
        qsort(g.devs, g.ndev, sizeof(*g.devs), by_name);
    return g.ndev ? 0 : -1;
}

/* Sum of the CPU time (user + system, ms) of the processes in g.pids
 * and their threads; -1 if one cannot be read. */
static long cpu_ms(void)
{
    char list[sizeof(g.pids)], *save = NULL, *p;
    long sum = 0, hz = sysconf(_SC_CLK_TCK);

    snprintf(list, sizeof(list), "%s", g.pids);
    for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char path[64], line[1024], *q;
        unsigned long ut, st;
        FILE *f;
        int ok;

        snprintf(path, sizeof(path), "/proc/%s/stat", p);
        if (!(f = fopen(path, "r")))
            return -1;
        ok = fgets(line, sizeof(line), f) && (q = strrchr(line, ')')) &&
             sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2;
        fclose(f);
        if (!ok)
            return -1;
        sum += (long)((ut + st) * 1000 / (unsigned long)hz);
    }
    return sum;
}

/* Sum of VmRSS (KiB) of the processes in g.pids. */
static long rss_kib(void)
{
    char list[sizeof(g.pids)], *save = NULL, *p;
    long sum = 0;

    snprintf(list, sizeof(list), "%s", g.pids);
    for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char path[64], line[256];
        FILE *f;
        long v = -1;

        snprintf(path, sizeof(path), "/proc/%s/status", p);
        if (!(f = fopen(path, "r")))
            return -1;
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "VmRSS:", 6))
                v = atol(line + 6);
        fclose(f);
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_gwpoll --port P --cacert FILE --devices DIR --aud AUD [--host H]\n"
            "       [--threads T] [--conns C] [--requests K] [--method POST|GET] [--path P]\n"
            "       [--body JSON] [--first I] [--ttl S] [--pids PID,...] [--settle S]\n"
            "       [--show] [--label TEXT] [--token-per conn|request] [--ddi-prefix P]\n");
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
    uint64_t *all, t0, t1, bytes = 0, ok = 0, bad = 0, failed = 0;
    size_t nall = 0, i, j;
    long rss0 = -1, rss1 = -1, cpu0 = -1, cpu1 = -1;
    struct rusage ru0, ru1;
    double secs;
    const char *ver = "-", *cipher = "-";
    char errbuf[320] = "cannot require TLS 1.3";
    int bad_arg = 0, setup_rc = 0;

    /* a server that closed a connection is a broken connection in the
     * result line, not a silent death by SIGPIPE on the next write (which
     * is how the idle step failed when the gateway's header deadline
     * passed while the other connections were still being opened) */
    signal(SIGPIPE, SIG_IGN);
    for (i = 1; i < (size_t)argc; i++) {
        const char *o = argv[i], *v = i + 1 < (size_t)argc ? argv[i + 1] : NULL;

        if (!strcmp(o, "--show")) {
            g.show = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(o, "--host"))
            g.host = v;
        else if (!strcmp(o, "--port"))
            bad_arg |= num(v, 65535, &g.port);
        else if (!strcmp(o, "--cacert"))
            g.cacert = v;
        else if (!strcmp(o, "--devices"))
            g.dir = v;
        else if (!strcmp(o, "--aud"))
            g.aud = v;
        else if (!strcmp(o, "--threads"))
            bad_arg |= num(v, MAX_THREADS, &g.threads) || !g.threads;
        else if (!strcmp(o, "--conns"))
            bad_arg |= num(v, 100000, &g.conns) || !g.conns;
        else if (!strcmp(o, "--requests"))
            bad_arg |= num(v, 10000000, &g.requests) || !g.requests;
        else if (!strcmp(o, "--method"))
            g.method = v;
        else if (!strcmp(o, "--path"))
            g.path = v;
        else if (!strcmp(o, "--body"))
            g.body = v;
        else if (!strcmp(o, "--first"))
            bad_arg |= num(v, 10000000, &g.first);
        else if (!strcmp(o, "--ttl"))
            bad_arg |= num(v, BW_TOKEN_LIFETIME_MAX, &g.ttl) || !g.ttl;
        else if (!strcmp(o, "--settle"))
            bad_arg |= num(v, 600, &g.settle);
        else if (!strcmp(o, "--pids"))
            snprintf(g.pids, sizeof(g.pids), "%s", v);
        else if (!strcmp(o, "--label"))
            g.label = v;
        else if (!strcmp(o, "--ddi-prefix")) { /* e.g. /DEFAULT/controller/v1/ */
            g.path = v;
            g.method = "GET";
            g.ddi = 1;
        } else if (!strcmp(o, "--token-per"))
            bad_arg |= strcmp(v, "conn") && !(g.tok_per_req = !strcmp(v, "request"));
        else
            return usage();
    }
    if (bad_arg || !g.port || !g.cacert || !g.dir || !g.aud ||
        (strcmp(g.method, "POST") && strcmp(g.method, "GET")))
        return usage();
    if (list_devices()) {
        fprintf(stderr, "bench_gwpoll: no dev-* devices under %s\n", g.dir);
        return 1;
    }
    if (bwh_tls_ctx_new(&g.ctx, g.cacert, NULL, NULL, 0, errbuf, sizeof(errbuf)) ||
        SSL_CTX_set_min_proto_version(g.ctx, TLS1_3_VERSION) != 1) {
        fprintf(stderr, "bench_gwpoll: %s\n", errbuf);
        return 1;
    }
    /* a connection's buffers stay allocated: the client's allocator should
     * not be part of what the benchmark times */
    SSL_CTX_clear_mode(g.ctx, SSL_MODE_RELEASE_BUFFERS);
    if (g.pids[0] && (rss0 = rss_kib()) < 0) {
        fprintf(stderr, "bench_gwpoll: cannot read the RSS of %s\n", g.pids);
        return 1;
    }
    pthread_barrier_init(&g.ready, NULL, g.threads + 1);
    for (i = 0; i < g.threads; i++) {
        thr[i].nc = g.conns;
        thr[i].c = calloc(g.conns, sizeof(*thr[i].c));
        if (!thr[i].c)
            return 1;
        for (j = 0; j < g.conns; j++) {
            size_t d = (g.first + i * g.conns + j) % g.ndev;

            thr[i].c[j].fd = -1;
            snprintf(thr[i].c[j].dev, sizeof(thr[i].c[j].dev), "%s", g.devs[d]);
        }
        if (pthread_create(&thr[i].tid, NULL, worker, &thr[i]))
            return 1;
    }
    pthread_barrier_wait(&g.ready);
    for (i = 0; i < g.threads; i++)
        setup_rc |= thr[i].setup_rc;
    if (g.pids[0])
        cpu0 = cpu_ms();
    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_ns();
    pthread_barrier_wait(&g.ready);
    for (i = 0; i < g.threads; i++)
        pthread_join(thr[i].tid, NULL);
    t1 = now_ns();
    getrusage(RUSAGE_SELF, &ru1);
    if (g.pids[0])
        cpu1 = cpu_ms();
    if (setup_rc) {
        fprintf(stderr, "bench_gwpoll: setup failed\n");
        return 1;
    }
    if (g.pids[0]) {
        sleep(g.settle); /* every connection is idle now, still open */
        rss1 = rss_kib();
    }
#define TV_MS(a, b) ((double)((b).tv_sec - (a).tv_sec) * 1e3 + (double)((b).tv_usec - (a).tv_usec) / 1e3)
    secs = (double)(t1 - t0) / 1e9;
    all = calloc((size_t)g.threads * g.conns * g.requests + 1, sizeof(*all));
    if (!all)
        return 1;
    for (i = 0; i < g.threads; i++) {
        memcpy(all + nall, thr[i].lat, thr[i].nlat * sizeof(*all));
        nall += thr[i].nlat;
        bytes += thr[i].bytes;
        ok += thr[i].ok;
        bad += thr[i].bad;
        failed += thr[i].failed;
    }
    qsort(all, nall, sizeof(*all), cmp_u64);
    if (thr[0].c[0].ssl) {
        ver = SSL_get_version(thr[0].c[0].ssl);
        cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(thr[0].c[0].ssl));
    }
#define PCT(p) (nall ? (double)all[(size_t)((double)(nall - 1) * (p))] / 1e6 : 0.0)
    printf("result label=%s conns=%u requests=%zu ok=%llu bad=%llu broken=%llu seconds=%.3f "
           "rps=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f bytes=%llu MBps=%.1f "
           "hdr_bytes=%zu tls=%s cipher=%s",
           g.label, g.threads * g.conns, nall, (unsigned long long)ok, (unsigned long long)bad,
           (unsigned long long)failed, secs, secs > 0 ? (double)nall / secs : 0.0, PCT(0.50),
           PCT(0.99), PCT(0.999), PCT(1.0), (unsigned long long)bytes,
           secs > 0 ? (double)bytes / secs / 1e6 : 0.0, thr[0].hdr_bytes, ver, cipher);
    printf(" client_cpu_ms=%.0f", TV_MS(ru0.ru_utime, ru1.ru_utime) + TV_MS(ru0.ru_stime, ru1.ru_stime));
    if (g.pids[0])
        printf(" server_cpu_ms=%ld server_cpu_us_per_req=%.1f", cpu1 - cpu0,
               nall ? (double)(cpu1 - cpu0) * 1e3 / (double)nall : 0.0);
    if (g.pids[0] && g.settle)
        printf(" rss_before_kib=%ld rss_after_kib=%ld kib_per_conn=%.2f", rss0, rss1,
               rss1 >= 0 ? (double)(rss1 - rss0) / (g.threads * g.conns) : -1.0);
    printf("\n");
    fflush(stdout);
    for (i = 0; i < g.threads; i++) {
        for (j = 0; j < thr[i].nc; j++) {
            struct conn *c = &thr[i].c[j];
            size_t r;

            if (c->ssl)
                SSL_free(c->ssl);
            if (c->fd >= 0)
                close(c->fd);
            for (r = 0; c->req && r < c->nreq; r++)
                free(c->req[r]);
            free(c->req);
            free(c->req_len);
        }
        free(thr[i].c);
        free(thr[i].lat);
    }
    SSL_CTX_free(g.ctx);
    free(all);
    free(g.devs);
    return ok == nall && nall == (size_t)g.threads * g.conns * g.requests ? 0 : 1;
}
