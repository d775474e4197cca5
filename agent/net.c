/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of the device API: a small HTTP/1.1 client over
 * OpenSSL's libssl (host/tlsclient.c), mutual TLS with the device
 * certificate, and one device token per TLS connection. Method: a cycle
 * starts with a fresh token on a fresh connection; later requests of the
 * cycle reuse both (keep-alive). If a new connection had to be opened
 * meanwhile (the gateway closed an idle one, or a transfer broke off), the
 * token already bound to the old connection is refused there as a replay:
 * the request is then sent once more with a new token on a new connection.
 * Only what the device API needs: https, GET and POST, Content-Length,
 * chunked or close-delimited answers, Range, a receive rate limit; no
 * redirects (a 3xx is an answer like any other: the agent builds every
 * URL itself). Limits (host/netlimit.c): connect timeout, a stall
 * timeout, a low-speed window, a total deadline per request
 * (request_timeout, download_timeout), the header block (bytes and
 * fields), the body (BODY_MAX for JSON, the announced size for a package).
 * The client key reaches OpenSSL as an in-memory PEM (file key backend
 * only; keys inside PKCS#11 tokens or TPMs need an OpenSSL provider, not
 * yet wired). Everything is freed with the handle at the end of a cycle:
 * nothing of TLS stays in memory while the agent waits for the next poll.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "agent.h"
#include "bwh/identity.h"
#include "bulwark/token.h"
#include "bwh/host.h"
#include "net.h"
#include "bwh/tlsclient.h"

#define BODY_MAX 65536 /* no answer of the device API is this long */

struct agent_net {
    const struct agent_conf *c;
    char device_id[AGENT_STR_MAX];
    char cert[AGENT_PATH_MAX];
    struct bwh_devkey *key;
    struct bw_signer signer;
    uint8_t pem[1024];
    size_t pem_len;
    char token[BW_TOKEN_MAX + 1];
    int token_used; /* the token went out on a connection already */
    char *body;
    size_t len, cap;
    /* the gateway URL, split: host (no brackets), port, Host header, path prefix */
    char host[256], port[8], hosthdr[300], base[AGENT_STR_MAX];
    /* the connection, kept between the requests of a cycle */
    SSL_CTX *ctx;
    SSL *ssl;
    int sock;
    unsigned char in[16384]; /* received, not yet consumed: in[ioff..ilen) */
    size_t ioff, ilen;
    char err[320];
    /* the request under way */
    struct bwh_net_limits lim;
    struct bwh_net_meter meter; /* total deadline, low speed, header block */
    uint64_t total;    /* bytes received by this request (all attempts) */
    uint64_t received; /* bytes of this answer so far (headers and body) */
    int64_t rate_t0;
    /* an answer held in memory instead of a connection (the fuzz target) */
    const unsigned char *mem;
    size_t mem_len, mem_off;
    int mem_mode;
    /* download */
    int fd;
    uint64_t have, limit, got;
    int first_write;
};

/* gateway = https://HOST[:PORT][/PREFIX], checked for the scheme by conf.c */
static bw_err split_url(struct agent_net *a, const char *url)
{
    const char *h = url + 8, *e, *p, *colon = NULL;
    size_t hl;

    if (strncmp(url, "https://", 8))
        return BW_E_INVAL;
    if (*h == '[') { /* IPv6 literal */
        if (!(e = strchr(h, ']')))
            return BW_E_INVAL;
        hl = (size_t)(e - h - 1);
        h++;
        p = e + 1;
        if (*p == ':')
            colon = p;
        else if (*p && *p != '/')
            return BW_E_INVAL;
    } else {
        p = h + strcspn(h, ":/");
        hl = (size_t)(p - h);
        if (*p == ':')
            colon = p;
    }
    if (!hl || hl >= sizeof(a->host))
        return BW_E_INVAL;
    memcpy(a->host, h, hl);
    a->host[hl] = 0;
    snprintf(a->port, sizeof(a->port), "443");
    if (colon) {
        size_t pl = strspn(colon + 1, "0123456789");

        if (!pl || pl >= sizeof(a->port) || (colon[1 + pl] && colon[1 + pl] != '/'))
            return BW_E_INVAL;
        memcpy(a->port, colon + 1, pl);
        a->port[pl] = 0;
        p = colon + 1 + pl;
    }
    /* Host: as the URL names it, the port only when it is not 443 */
    snprintf(a->hosthdr, sizeof(a->hosthdr), strchr(a->host, ':') ? "[%s]" : "%s", a->host);
    if (strcmp(a->port, "443"))
        snprintf(a->hosthdr + strlen(a->hosthdr), sizeof(a->hosthdr) - strlen(a->hosthdr),
                 ":%s", a->port);
    snprintf(a->base, sizeof(a->base), "%s", p);
    hl = strlen(a->base);
    if (hl && a->base[hl - 1] == '/')
        a->base[hl - 1] = 0; /* the paths asked for start with '/' */
    return BW_OK;
}

static bw_err keep_body(struct agent_net *a, const unsigned char *p, size_t add)
{
    if (a->len + add + 1 > BODY_MAX) {
        snprintf(a->err, sizeof(a->err), "answer longer than %d bytes", BODY_MAX);
        return BW_E_TOOBIG;
    }
    if (a->len + add + 1 > a->cap) {
        size_t cap = (a->len + add + 1) * 2;
        char *b = bwh_realloc(a->body, cap);

        if (!b)
            return BW_E_NOMEM;
        a->body = b;
        a->cap = cap;
    }
    memcpy(a->body + a->len, p, add);
    a->len += add;
    a->body[a->len] = 0;
    return BW_OK;
}

/* Where body bytes of an answer go: the package file for a 200 or 206 to
 * a download, the body buffer otherwise (error texts). */
static bw_err sink(struct agent_net *a, int download, long status, const unsigned char *p,
                   size_t add)
{
    if (!download || (status != 200 && status != 206))
        return keep_body(a, p, add);
    if (a->first_write) {
        a->first_write = 0;
        if (status == 200 && a->have) { /* the whole package came: start over */
            if (ftruncate(a->fd, 0) != 0 || lseek(a->fd, 0, SEEK_SET) != 0) {
                snprintf(a->err, sizeof(a->err), "cannot truncate the package file");
                return BW_E_IO;
            }
            a->have = 0;
        }
    }
    if (a->have + a->got + add > a->limit) { /* longer than announced: refuse */
        snprintf(a->err, sizeof(a->err), "answer longer than the announced %llu bytes",
                 (unsigned long long)a->limit);
        return BW_E_SIZE;
    }
    if (bwh_write_full(a->fd, p, add) != BW_OK) {
        snprintf(a->err, sizeof(a->err), "cannot write the package file: %s", strerror(errno));
        return BW_E_IO;
    }
    a->got += add;
    return BW_OK;
}

static void drop_conn(struct agent_net *a)
{
    if (a->ssl) {
        /* no close_notify: the gateway does not need one, and a peer that
         * is gone would make it wait */
        SSL_free(a->ssl);
        a->ssl = NULL;
    }
    if (a->sock >= 0)
        close(a->sock);
    a->sock = -1;
    a->ioff = a->ilen = 0;
}

/* Waits for the socket as SSL asked (want), in slices of a second so that
 * SIGTERM (agent_stopping), the request's deadline and its low-speed
 * window end a transfer in time. A stall longer than timeout fails too. */
static bw_err ssl_wait(struct agent_net *a, int want)
{
    int64_t until = bwh_now_ms() + (int64_t)a->c->timeout * 1000;

    for (;;) {
        int64_t left = until - bwh_now_ms();
        int r;

        if (agent_stopping) {
            snprintf(a->err, sizeof(a->err), "stopped");
            return BW_E_IO;
        }
        if (bwh_net_meter_check(&a->meter, bwh_now_ms(), a->total, a->err, sizeof(a->err)))
            return BW_E_IO;
        if (left <= 0) {
            snprintf(a->err, sizeof(a->err), "timed out (no data for %llu s, stall limit)",
                     (unsigned long long)a->c->timeout);
            return BW_E_IO;
        }
        left = bwh_net_meter_wait_ms(&a->meter, bwh_now_ms(), left > 1000 ? 1000 : (int)left);
        r = bwh_tls_wait(a->sock, want, (int)left);
        if (r > 0)
            return BW_OK;
        if (r < 0 && errno != EINTR) {
            snprintf(a->err, sizeof(a->err), "poll: %s", strerror(errno));
            return BW_E_IO;
        }
    }
}

static void io_error(struct agent_net *a, int e, const char *what)
{
    unsigned long oe = ERR_peek_last_error();

    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !oe && !errno))
        snprintf(a->err, sizeof(a->err), "%s: connection closed by the gateway", what);
    else if (ERR_GET_REASON(oe) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        snprintf(a->err, sizeof(a->err), "%s: connection closed by the gateway mid-answer",
                 what);
    else if (e == SSL_ERROR_SYSCALL && !oe)
        snprintf(a->err, sizeof(a->err), "%s: %s", what, strerror(errno));
    else {
        char buf[200];

        ERR_error_string_n(oe, buf, sizeof(buf));
        snprintf(a->err, sizeof(a->err), "%s: %s", what, buf);
    }
    ERR_clear_error();
}

static bw_err send_all(struct agent_net *a, const char *p, size_t n)
{
    while (n) {
        int w, e;
        bw_err rc;

        ERR_clear_error();
        errno = 0;
        w = SSL_write(a->ssl, p, n > 65536 ? 65536 : (int)n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        e = SSL_get_error(a->ssl, w);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if ((rc = ssl_wait(a, e)))
                return rc;
            continue;
        }
        io_error(a, e, "send");
        return BW_E_IO;
    }
    return BW_OK;
}

/* Keeps the receive rate at download_rate bytes/s on average since the
 * answer began (as curl's CURLOPT_MAX_RECV_SPEED_LARGE): sleeps while
 * ahead, in slices that let SIGTERM through. */
static void pace(struct agent_net *a)
{
    uint64_t rate = a->c->download_rate;

    while (rate && !agent_stopping) {
        int64_t due = a->rate_t0 + (int64_t)(a->received * 1000 / rate);
        int64_t ahead = due - bwh_now_ms();
        struct timespec ts;

        if (ahead <= 0)
            return;
        if (ahead > 200)
            ahead = 200;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)ahead * 1000000;
        nanosleep(&ts, NULL);
    }
}

/* More bytes into in[]: BW_OK with at least one new byte; BW_E_IO with
 * err set at end of stream, on errors and timeouts; *eof when the peer
 * closed cleanly (or at least without an error OpenSSL could name). */
static bw_err fill(struct agent_net *a, int limited, int *eof)
{
    *eof = 0;
    if (a->ioff == a->ilen)
        a->ioff = a->ilen = 0;
    if (a->ioff && a->ilen == sizeof(a->in)) { /* compact */
        memmove(a->in, a->in + a->ioff, a->ilen - a->ioff);
        a->ilen -= a->ioff;
        a->ioff = 0;
    }
    if (a->mem_mode) { /* as SSL_read would, up to the end of the buffer */
        size_t k = a->mem_len - a->mem_off, room = sizeof(a->in) - a->ilen;

        if (!k) {
            *eof = 1;
            snprintf(a->err, sizeof(a->err), "receive: connection closed by the gateway");
            return BW_E_IO;
        }
        k = k < room ? k : room;
        memcpy(a->in + a->ilen, a->mem + a->mem_off, k);
        a->mem_off += k;
        a->ilen += k;
        a->received += k;
        a->total += k;
        return BW_OK;
    }
    for (;;) {
        size_t room = sizeof(a->in) - a->ilen;
        int r, e;
        bw_err rc;

        if (agent_stopping) {
            snprintf(a->err, sizeof(a->err), "stopped");
            return BW_E_IO;
        }
        if (bwh_net_meter_check(&a->meter, bwh_now_ms(), a->total, a->err, sizeof(a->err)))
            return BW_E_IO;
        if (limited && a->c->download_rate && room > a->c->download_rate / 8 + 1)
            room = (size_t)(a->c->download_rate / 8 + 1); /* smoother pacing when slow */
        ERR_clear_error();
        errno = 0;
        r = SSL_read(a->ssl, a->in + a->ilen, (int)room);
        if (r > 0) {
            a->ilen += (size_t)r;
            a->received += (uint64_t)r;
            a->total += (uint64_t)r;
            if (limited)
                pace(a);
            return BW_OK;
        }
        e = SSL_get_error(a->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if ((rc = ssl_wait(a, e)))
                return rc;
            continue;
        }
        /* an end without close_notify counts as an end too: it only
         * matters for a close-delimited answer, where a cut check-in answer
         * fails its JSON parse and a cut package its digest */
        *eof = e == SSL_ERROR_ZERO_RETURN ||
               (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error() && !errno) ||
               ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
        io_error(a, e, "receive");
        return BW_E_IO;
    }
}

/* One line (CRLF or LF) of at most cap-1 bytes into line. */
static bw_err read_line(struct agent_net *a, char *line, size_t cap, int *eof)
{
    size_t n = 0;
    bw_err rc;

    for (;;) {
        while (a->ioff < a->ilen) {
            char ch = (char)a->in[a->ioff++];

            if (ch == '\n') {
                if (n && line[n - 1] == '\r')
                    n--;
                line[n] = 0;
                return BW_OK;
            }
            if (n + 1 >= cap) {
                snprintf(a->err, sizeof(a->err), "line over %zu bytes (header limit)", cap - 1);
                return BW_E_TOOBIG;
            }
            line[n++] = ch;
        }
        if ((rc = fill(a, 0, eof)))
            return rc;
    }
}

/* n body bytes (or, with n == UINT64_MAX, everything up to the end of
 * the stream) from the connection into the sink. */
static bw_err read_body(struct agent_net *a, int download, long status, uint64_t n)
{
    int eof;
    bw_err rc;

    while (n) {
        size_t k = a->ilen - a->ioff;

        if (!k) {
            rc = fill(a, download, &eof);
            if (rc && eof && n == UINT64_MAX)
                return BW_OK; /* close-delimited answer: complete */
            if (rc)
                return rc;
            continue;
        }
        if ((uint64_t)k > n)
            k = (size_t)n;
        if ((rc = sink(a, download, status, a->in + a->ioff, k)))
            return rc;
        a->ioff += k;
        if (n != UINT64_MAX)
            n -= k;
    }
    return BW_OK;
}

static bw_err read_chunked(struct agent_net *a, int download, long status)
{
    char line[256];
    int eof;
    bw_err rc;

    for (;;) {
        char *end;
        unsigned long long n;

        if ((rc = read_line(a, line, sizeof(line), &eof)))
            return rc;
        errno = 0;
        n = strtoull(line, &end, 16);
        if (end == line || errno || (*end && *end != ';' && *end != ' ' && *end != '\t')) {
            snprintf(a->err, sizeof(a->err), "bad chunk size line");
            return BW_E_FORMAT;
        }
        if (!n)
            break;
        if ((rc = read_body(a, download, status, n)))
            return rc;
        if ((rc = read_line(a, line, sizeof(line), &eof)))
            return rc;
        if (*line) {
            snprintf(a->err, sizeof(a->err), "chunk not followed by CRLF");
            return BW_E_FORMAT;
        }
    }
    do { /* trailer fields, up to the empty line */
        if ((rc = read_line(a, line, sizeof(line), &eof)))
            return rc;
    } while (*line);
    return BW_OK;
}

/* Reads one answer: *status, then the body into the sink. *any is set
 * once a byte of it arrived; *keep tells whether the connection can carry
 * another request. */
static bw_err read_answer(struct agent_net *a, int download, long *status, int *any, int *keep)
{
    char line[2048];
    int eof, chunked = 0, close_after = 0, code = 0;
    uint64_t clen = UINT64_MAX;
    bw_err rc;

    *any = 0;
    *keep = 0;
    *status = 0;
    bwh_net_meter_head(&a->meter); /* 1xx answers count into the same block */
    do { /* 1xx answers come before the final one */
        int maj, min, hl;

        a->received = 0;
        a->rate_t0 = bwh_now_ms();
        if ((rc = read_line(a, line, sizeof(line), &eof)))
            return rc;
        *any = 1;
        if ((rc = bwh_net_meter_line(&a->meter, strlen(line), a->err, sizeof(a->err))))
            return rc;
        if (sscanf(line, "HTTP/%d.%d %3d%n", &maj, &min, &code, &hl) != 3 || maj != 1 ||
            code < 100 || (line[hl] && line[hl] != ' ')) {
            snprintf(a->err, sizeof(a->err), "not an HTTP/1 answer");
            return BW_E_FORMAT;
        }
        chunked = 0;
        close_after = min < 1; /* HTTP/1.0 closes unless it says keep-alive */
        clen = UINT64_MAX;
        for (;;) {
            char *v;

            if ((rc = read_line(a, line, sizeof(line), &eof)))
                return rc;
            if ((rc = bwh_net_meter_line(&a->meter, strlen(line), a->err, sizeof(a->err))))
                return rc;
            if (!*line)
                break;
            if (!(v = strchr(line, ':')))
                continue;
            *v++ = 0;
            v += strspn(v, " \t");
            if (!strcasecmp(line, "Content-Length")) {
                uint64_t x;

                v[strcspn(v, " \t")] = 0;
                if (bwh_parse_u64(v, &x) || (clen != UINT64_MAX && clen != x)) {
                    snprintf(a->err, sizeof(a->err), "bad Content-Length");
                    return BW_E_FORMAT;
                }
                clen = x;
            } else if (!strcasecmp(line, "Transfer-Encoding")) {
                chunked = strcasestr(v, "chunked") != NULL;
            } else if (!strcasecmp(line, "Connection")) {
                if (strcasestr(v, "close"))
                    close_after = 1;
                else if (strcasestr(v, "keep-alive"))
                    close_after = 0;
            }
        }
    } while (code < 200);
    *status = code;
    if (code == 204 || code == 304)
        rc = BW_OK; /* no body, whatever the fields say */
    else if (chunked)
        rc = read_chunked(a, download, *status);
    else if (clen != UINT64_MAX)
        rc = read_body(a, download, *status, clen);
    else { /* delimited by the end of the connection */
        rc = read_body(a, download, *status, UINT64_MAX);
        close_after = 1;
    }
    *keep = !rc && !close_after;
    return rc;
}

bw_err agent_net_parse_answer(const struct agent_conf *c, const uint8_t *buf, size_t len,
                              int download, int fd, uint64_t size, long *status)
{
    struct agent_net *a = bwh_calloc(1, sizeof(*a));
    int any, keep;
    bw_err rc;

    *status = 0;
    if (!a)
        return BW_E_NOMEM;
    a->c = c;
    a->sock = -1;
    a->fd = fd;
    a->limit = size;
    a->first_write = 1;
    a->mem = buf;
    a->mem_len = len;
    a->mem_mode = 1;
    bwh_net_limits_default(&a->lim);
    bwh_net_meter_start(&a->meter, &a->lim, bwh_now_ms());
    rc = read_answer(a, download, status, &any, &keep);
    if (!rc && a->len >= BODY_MAX)
        rc = BW_E_INVAL; /* cannot happen: keep_body refuses first */
    bwh_free(a->body);
    bwh_free(a);
    return rc;
}

static bw_err new_token(struct agent_net *a)
{
    struct bw_token_claims cl;
    size_t n;

    memset(&cl, 0, sizeof(cl));
    snprintf(cl.sub, sizeof(cl.sub), "%.128s", a->device_id);
    snprintf(cl.aud, sizeof(cl.aud), "%.128s", a->c->audience);
    cl.iat = (int64_t)time(NULL);
    cl.exp = cl.iat + (int64_t)a->c->token_ttl;
    a->token_used = 0;
    return bw_token_issue(&a->signer, &cl, a->token, sizeof(a->token), &n);
}

bw_err agent_net_open(struct agent_net **out, const struct agent_conf *c, const char *device_key,
                      const char *device_cert, const char *device_id)
{
    struct agent_net *a;
    struct bw_ec_key ec;
    bw_err rc;

    *out = NULL;
    bw_ec_key_init(&ec);
    a = bwh_calloc(1, sizeof(*a));
    if (!a)
        return BW_E_NOMEM;
    a->c = c;
    a->fd = -1;
    bwh_net_limits_default(&a->lim);
    a->lim.connect_s = (unsigned)c->timeout;
    a->lim.low_speed_bytes = c->low_speed_limit;
    a->lim.low_speed_s = (unsigned)c->low_speed_time;
    a->lim.redirects_max = 0; /* none followed: a 3xx is an answer */
    a->sock = -1;
    snprintf(a->device_id, sizeof(a->device_id), "%s", device_id);
    snprintf(a->cert, sizeof(a->cert), "%s", device_cert);
    rc = split_url(a, c->gateway);
    if (rc)
        fprintf(stderr, "bulwark-agent: gateway %s: not an https://HOST[:PORT] URL\n", c->gateway);
    if (!rc)
        rc = bwh_devkey_open(device_key, &a->key);
    if (!rc)
        rc = bwh_devkey_signer(a->key, &a->signer);
    if (!rc && strcmp(bwh_devkey_scheme(a->key), "file")) {
        fprintf(stderr, "bulwark-agent: mTLS needs a file: device key for now (%s)\n",
                bwh_devkey_scheme(a->key));
        rc = BW_E_UNSUPPORTED;
    }
    if (!rc)
        rc = bwh_devkey_export_private(a->key, &ec);
    if (!rc)
        rc = bw_ec_export(&ec, 1, 1, a->pem, sizeof(a->pem), &a->pem_len);
    bw_ec_key_clear(&ec);
    if (!rc)
        rc = new_token(a);
    if (!rc && (rc = bwh_tls_ctx_new(&a->ctx, c->ca_cert, a->cert, a->pem, a->pem_len, a->err,
                                    sizeof(a->err))))
        fprintf(stderr, "bulwark-agent: %s\n", a->err);
    if (rc) {
        agent_net_close(a);
        return rc;
    }
    *out = a;
    return BW_OK;
}

void agent_net_close(struct agent_net *a)
{
    if (!a)
        return;
    drop_conn(a);
    SSL_CTX_free(a->ctx);
    bwh_devkey_close(a->key);
    bw_wipe(a->pem, sizeof(a->pem));
    bw_wipe(a->token, sizeof(a->token));
    bwh_free(a->body);
    bwh_free(a);
}

const char *agent_net_body(const struct agent_net *a)
{
    return a->body ? a->body : "";
}

size_t agent_net_body_len(const struct agent_net *a)
{
    return a->len;
}

/* Whether a kept connection can still be used: the gateway has sent
 * nothing since the last answer but TLS session tickets, and not closed. */
static int conn_alive(struct agent_net *a)
{
    struct pollfd p = {.fd = a->sock, .events = POLLIN};
    unsigned char b;
    int r;

    if (poll(&p, 1, 0) == 0)
        return 1;
    ERR_clear_error();
    r = SSL_read(a->ssl, &b, 1); /* the socket is non-blocking */
    if (r > 0)
        return 0; /* bytes nobody asked for: do not trust the stream */
    r = SSL_get_error(a->ssl, r);
    ERR_clear_error();
    return r == SSL_ERROR_WANT_READ;
}

/* One request and its answer on the kept connection, or on a new one.
 * *connects: new connections this took (a kept connection found dead, or
 * one that breaks before any answer, is replaced once, as curl does). */
static bw_err exchange(struct agent_net *a, const char *req, size_t req_len, const char *post,
                       int download, long *status, long *connects)
{
    unsigned tries;
    bw_err rc = BW_E_IO;

    *connects = 0;
    for (tries = 0; tries < 2; tries++) {
        int reused = 0, any = 0, keep = 0;

        if (a->ssl && conn_alive(a))
            reused = 1;
        else {
            drop_conn(a);
            rc = bwh_tls_connect(a->ctx, a->host, a->port,
                                (unsigned)bwh_net_meter_wait_ms(&a->meter, bwh_now_ms(),
                                                               (int)a->lim.connect_s * 1000),
                                NULL,
                                NULL, &agent_stopping, &a->sock, &a->ssl, a->err,
                                sizeof(a->err));
            if (rc)
                return rc;
            (*connects)++;
        }
        a->len = 0;
        a->got = 0;
        a->first_write = 1;
        if (a->body)
            a->body[0] = 0;
        rc = send_all(a, req, req_len);
        if (!rc && post)
            rc = send_all(a, post, strlen(post));
        if (!rc)
            rc = read_answer(a, download, status, &any, &keep);
        if (!keep)
            drop_conn(a);
        if (rc && reused && !any && !agent_stopping)
            continue; /* the gateway closed the kept connection meanwhile */
        return rc;
    }
    return rc;
}

/* One request; *status gets the HTTP status. BW_E_IO when no answer came. */
static bw_err perform(struct agent_net *a, const char *path, const char *post, int download,
                      const char *range, long *status)
{
    char req[2 * AGENT_STR_MAX + BW_TOKEN_MAX + 1024];
    unsigned attempt;
    bw_err rc = BW_E_IO;

    for (attempt = 0; attempt < 2; attempt++) {
        long connects = 0;
        int n;

        n = snprintf(req, sizeof(req),
                     "%s %s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Accept: */*\r\n",
                     post ? "POST" : "GET", a->base, path, a->hosthdr, a->token);
        if (n > 0 && (size_t)n < sizeof(req) && post)
            n += snprintf(req + n, sizeof(req) - (size_t)n,
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                          strlen(post));
        if (n > 0 && (size_t)n < sizeof(req) && range)
            n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", range);
        if (n > 0 && (size_t)n < sizeof(req))
            n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
        if (n <= 0 || (size_t)n >= sizeof(req)) {
            rc = BW_E_TOOBIG;
            break;
        }
        /* a token not yet sent goes out on a connection of its own */
        if (!a->token_used)
            drop_conn(a);
        /* the deadline covers both attempts: a replay refused and sent again */
        if (attempt == 0) {
            a->lim.total_s = (unsigned)(download ? a->c->download_timeout : a->c->request_timeout);
            a->lim.body_max = download ? a->limit : BODY_MAX;
            bwh_net_meter_start(&a->meter, &a->lim, bwh_now_ms());
            a->total = 0;
        }
        *status = 0;
        rc = exchange(a, req, (size_t)n, post, download, status, &connects);
        if (rc && !(download && *status >= 200 && *status < 300 && a->got)) {
            fprintf(stderr, "bulwark-agent: %s: %s\n", path, a->err);
            rc = BW_E_IO;
            break;
        }
        if (rc) { /* a download broke off: what came is kept */
            fprintf(stderr, "bulwark-agent: %s: %s after %llu bytes\n", path, a->err,
                    (unsigned long long)a->got);
            rc = BW_E_IO;
            break;
        }
        /* a new connection with a token that an earlier one carried: the
         * gateway refuses it as a replay; once more with a fresh token */
        if (*status == 401 && connects > 0 && a->token_used && attempt == 0) {
            if (new_token(a)) {
                rc = BW_E_CRYPTO;
                break;
            }
            continue;
        }
        a->token_used = 1;
        break;
    }
    bw_wipe(req, sizeof(req));
    return rc;
}

bw_err agent_net_post(struct agent_net *a, const char *path, const char *json, long *status)
{
    return perform(a, path, json, 0, NULL, status);
}

bw_err agent_net_download(struct agent_net *a, const char *sha256, int fd, uint64_t have,
                          uint64_t size, uint64_t *got, long *status)
{
    char path[128], range[160];
    bw_err rc;

    snprintf(path, sizeof(path), "/api/v1/device/download/%s", sha256);
    snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)have);
    a->fd = fd;
    a->have = have;
    a->limit = size;
    /* If-Range would be the stricter choice, but the URL names the content
     * by its digest already: it cannot change under the same path */
    rc = perform(a, path, NULL, 1, have ? range : NULL, status);
    *got = a->got;
    a->fd = -1;
    return rc;
}

bw_err agent_net_report(struct agent_net *a, int64_t action, const char *state,
                        const char *feedback, long *status)
{
    char path[96], *body;
    json_t *o;
    bw_err rc;

    *status = 0;
    o = json_pack("{s:s,s:s}", "state", state, "feedback", feedback);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return BW_E_NOMEM;
    snprintf(path, sizeof(path), "/api/v1/device/actions/%" PRId64 "/report", action);
    rc = agent_net_post(a, path, body, status);
    free(body);
    if (rc)
        return rc;
    if (*status >= 500)
        return BW_E_IO;
    if (*status != 200 && *status != 409 && *status != 404)
        fprintf(stderr, "bulwark-agent: report %s on action %" PRId64 ": HTTP %ld %s\n", state,
                action, *status, agent_net_body(a));
    return BW_OK;
}
