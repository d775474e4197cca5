/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 client of the host library (include/bwh/http.h): the agent's
 * device API (agent/net.c) and `bulwark install URL` (host/fetch.c) both go
 * through it. Plain TCP or verifying TLS (host/tlsclient.c), one kept
 * connection, strict status-line and framing parsing, every wait bounded by
 * the meter of host/netlimit.c (connect, stall, low speed, total deadline)
 * and every answer by its header and body limits. Method: bytes arrive
 * into in[] from the socket, the TLS connection or (bwh_http_parse, the
 * fuzz target) a buffer; lines and bodies are taken from there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bwh/http.h"
#include "bwh/tlsclient.h"

#define URL_MAX 4096
#define LINE_CAP (BWH_NET_HEADER_MAX + 1)

/* An http(s) URL, split. */
struct url {
    int https;
    char host[256];   /* without brackets */
    char port[8];
    char hosthdr[300]; /* the Host field: [v6]:port, the port only when not the default */
    const char *path; /* into the URL: "/...", "?..." or "" */
    size_t path_len;  /* without a #fragment */
};

/* The buffers of a request, about 40 KiB: allocated for a request and
 * given back while a kept connection waits (bwh_http_idle). */
struct http_work {
    unsigned char in[16384];
    char url[URL_MAX];
    char loc[URL_MAX]; /* the Location of the last answer */
    char line[LINE_CAP];
};

struct bwh_http {
    struct bwh_http_opts o;
    char *cacert;
    SSL_CTX *own_ctx;
    struct bwh_net_limits lim;
    struct bwh_net_meter meter;
    uint64_t total;    /* bytes received since the limits were set */
    /* the kept connection and what it goes to */
    int sock;
    SSL *ssl;
    int https;
    char host[256], port[8];
    /* the TLS session to offer on the next connection (opts.resume) and
     * the server it came from */
    SSL_SESSION *sess, *sess_from; /* the copy kept; the connection's, copied */
    char sess_host[256], sess_port[8];
    /* an answer held in memory instead of a connection (bwh_http_parse) */
    const uint8_t *mem;
    size_t mem_len, mem_off;
    int mem_mode;
    struct http_work *w; /* while a request is under way (bwh_http_idle frees it) */
    size_t ioff, ilen;   /* received, not yet consumed: w->in[ioff..ilen) */
    /* the answer under way */
    uint64_t rate;
    int64_t rate_t0;
    uint64_t received; /* bytes of this answer (header and body) */
    uint64_t off;      /* resource offset of the next body byte */
    uint64_t given;    /* body bytes handed to the sink */
    int sink_failed;
    int fatal;
    char err[320];
};

static void set_err(struct bwh_http *h, const char *msg)
{
    snprintf(h->err, sizeof(h->err), "%s", msg);
}

/* http[s]://HOST[:PORT][/PATH]: printable ASCII only (nothing that could
 * end a request line), no user:password@, a port 1..65535. */
static bw_err parse_url(const char *s, struct url *u, char *err, size_t cap)
{
    const char *h, *e, *p, *colon = NULL;
    size_t hl, i;

    memset(u, 0, sizeof(*u));
    for (i = 0; s[i]; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            goto bad;
    if (!strncasecmp(s, "https://", 8)) {
        u->https = 1;
        h = s + 8;
    } else if (!strncasecmp(s, "http://", 7)) {
        h = s + 7;
    } else {
        snprintf(err, cap, "not an http:// or https:// URL");
        return BW_E_INVAL;
    }
    e = h + strcspn(h, "/?#");
    if (memchr(h, '@', (size_t)(e - h))) {
        snprintf(err, cap, "user names or passwords inside URLs are not supported");
        return BW_E_INVAL;
    }
    if (*h == '[') { /* IPv6 literal */
        const char *rb = memchr(h, ']', (size_t)(e - h));

        if (!rb)
            goto bad;
        hl = (size_t)(rb - h - 1);
        h++;
        p = rb + 1;
        if (p < e && *p != ':')
            goto bad;
    } else {
        p = h + strcspn(h, ":/?#");
        hl = (size_t)(p - h);
    }
    if (p < e && *p == ':')
        colon = p;
    if (!hl || hl >= sizeof(u->host))
        goto bad;
    memcpy(u->host, h, hl);
    u->host[hl] = 0;
    snprintf(u->port, sizeof(u->port), u->https ? "443" : "80");
    if (colon) {
        size_t pl = (size_t)(e - colon - 1);
        uint64_t n;

        if (!pl || pl >= sizeof(u->port) || strspn(colon + 1, "0123456789") < pl)
            goto bad;
        memcpy(u->port, colon + 1, pl);
        u->port[pl] = 0;
        if (bwh_parse_u64(u->port, &n) || n < 1 || n > 65535)
            goto bad;
        snprintf(u->port, sizeof(u->port), "%u", (unsigned)n);
    }
    snprintf(u->hosthdr, sizeof(u->hosthdr), strchr(u->host, ':') ? "[%s]" : "%s", u->host);
    if (strcmp(u->port, u->https ? "443" : "80"))
        snprintf(u->hosthdr + strlen(u->hosthdr), sizeof(u->hosthdr) - strlen(u->hosthdr),
                 ":%s", u->port);
    u->path = e;
    u->path_len = strcspn(e, "#");
    return BW_OK;
bad:
    snprintf(err, cap, "not a valid URL (http[s]://HOST[:PORT][/PATH])");
    return BW_E_INVAL;
}

bw_err bwh_http_url_check(const char *url, int *https)
{
    struct url u;
    char err[96];
    bw_err rc = parse_url(url, &u, err, sizeof(err));

    if (!rc && https)
        *https = u.https;
    return rc;
}

bw_err bwh_http_new(struct bwh_http **out, const struct bwh_http_opts *o)
{
    struct bwh_http *h;

    *out = NULL;
    h = bwh_calloc(1, sizeof(*h));
    if (!h)
        return BW_E_NOMEM;
    if (o)
        h->o = *o;
    h->sock = -1;
    if (h->o.cacert) {
        size_t n = strlen(h->o.cacert) + 1;

        if (!(h->cacert = bwh_malloc(n))) {
            bwh_free(h);
            return BW_E_NOMEM;
        }
        memcpy(h->cacert, h->o.cacert, n);
    }
    h->o.cacert = h->cacert;
    bwh_net_limits_default(&h->lim);
    bwh_net_meter_start(&h->meter, &h->lim, bwh_now_ms());
    *out = h;
    return BW_OK;
}

void bwh_http_drop(struct bwh_http *h)
{
    if (h->ssl) {
        /* no close_notify: nothing here needs one, and a peer that is gone
         * would make it wait */
        SSL_free(h->ssl);
        h->ssl = NULL;
    }
    SSL_SESSION_free(h->sess_from);
    h->sess_from = NULL;
    if (h->sock >= 0)
        close(h->sock);
    h->sock = -1;
    h->ioff = h->ilen = 0;
}

void bwh_http_free(struct bwh_http *h)
{
    if (!h)
        return;
    bwh_http_drop(h);
    bwh_free(h->w);
    SSL_SESSION_free(h->sess);
    SSL_CTX_free(h->own_ctx);
    bwh_free(h->cacert);
    bwh_free(h);
}

/* The request buffers, allocated when a request needs them. */
static bw_err work(struct bwh_http *h)
{
    if (!h->w && !(h->w = bwh_malloc(sizeof(*h->w))))
        return BW_E_NOMEM;
    return BW_OK;
}

void bwh_http_idle(struct bwh_http *h)
{
    if (!h || !h->w || h->ioff < h->ilen)
        return; /* bytes received and not yet read stay */
    bwh_free(h->w);
    h->w = NULL;
    h->ioff = h->ilen = 0;
}

void bwh_http_limits(struct bwh_http *h, const struct bwh_net_limits *l)
{
    h->lim = *l;
    bwh_net_meter_start(&h->meter, &h->lim, bwh_now_ms());
    h->total = 0;
}

const char *bwh_http_error(const struct bwh_http *h)
{
    return h->err;
}

static int stopping(const struct bwh_http *h)
{
    return h->o.stop && *h->o.stop;
}

/* The checks of every wait: stop, total deadline, low speed. */
static bw_err check_limits(struct bwh_http *h)
{
    if (stopping(h)) {
        set_err(h, "stopped by a signal");
        h->fatal = 1;
        return BW_E_IO;
    }
    if (bwh_net_meter_check(&h->meter, bwh_now_ms(), h->total, h->err, sizeof(h->err))) {
        h->fatal = bwh_net_meter_wait_ms(&h->meter, bwh_now_ms(), 1) == 0;
        return BW_E_IO;
    }
    return BW_OK;
}

/* Waits for the socket as the last call asked (want: SSL_ERROR_WANT_READ or
 * _WRITE), in slices of a second so that a stop, the deadline and the
 * low-speed window end a transfer in time; no byte for stall_s fails too. */
static bw_err wait_io(struct bwh_http *h, int want)
{
    int64_t until = bwh_now_ms() + (int64_t)h->o.stall_s * 1000;

    for (;;) {
        int64_t left = until - bwh_now_ms();
        int r;
        bw_err rc;

        if ((rc = check_limits(h)))
            return rc;
        if (!h->o.stall_s)
            left = 1000;
        else if (left <= 0) {
            snprintf(h->err, sizeof(h->err), "timed out (no data for %u s, stall limit)",
                     h->o.stall_s);
            return BW_E_IO;
        }
        left = bwh_net_meter_wait_ms(&h->meter, bwh_now_ms(), left > 1000 ? 1000 : (int)left);
        r = bwh_tls_wait(h->sock, want, (int)left);
        if (r > 0)
            return BW_OK;
        if (r < 0 && errno != EINTR) {
            snprintf(h->err, sizeof(h->err), "poll: %s", strerror(errno));
            return BW_E_IO;
        }
    }
}

/* An OpenSSL I/O error in words. */
static void tls_error(struct bwh_http *h, int e, const char *what)
{
    unsigned long oe = ERR_peek_last_error();

    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !oe && !errno))
        snprintf(h->err, sizeof(h->err), "%s: connection closed by the server", what);
    else if (ERR_GET_REASON(oe) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        snprintf(h->err, sizeof(h->err), "%s: connection closed by the server mid-answer", what);
    else if (e == SSL_ERROR_SYSCALL && !oe)
        snprintf(h->err, sizeof(h->err), "%s: %s", what, strerror(errno));
    else {
        char buf[200];

        ERR_error_string_n(oe, buf, sizeof(buf));
        snprintf(h->err, sizeof(h->err), "%s: %s", what, buf);
    }
    ERR_clear_error();
}

static bw_err send_all(struct bwh_http *h, const char *p, size_t n)
{
    while (n) {
        int e = SSL_ERROR_WANT_WRITE;
        bw_err rc;

        if (h->ssl) {
            int w;

            ERR_clear_error();
            errno = 0;
            w = SSL_write(h->ssl, p, n > 65536 ? 65536 : (int)n);
            if (w > 0) {
                p += w;
                n -= (size_t)w;
                continue;
            }
            e = SSL_get_error(h->ssl, w);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                tls_error(h, e, "send");
                return BW_E_IO;
            }
        } else {
            ssize_t w = send(h->sock, p, n, MSG_NOSIGNAL);

            if (w > 0) {
                p += w;
                n -= (size_t)w;
                continue;
            }
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                snprintf(h->err, sizeof(h->err), "send: %s", strerror(errno));
                return BW_E_IO;
            }
        }
        if ((rc = wait_io(h, e)))
            return rc;
    }
    return BW_OK;
}

/* Keeps the receive rate at h->rate bytes/s on average since the answer
 * began: sleeps while ahead, in slices that let a stop through. */
static void pace(struct bwh_http *h)
{
    while (h->rate && !stopping(h)) {
        int64_t due = h->rate_t0 + (int64_t)(h->received * 1000 / h->rate);
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

/* More bytes into in[]: BW_OK with at least one new byte; BW_E_IO with err
 * set at the end of the stream, on errors and on limits; *eof when the
 * peer closed (cleanly, or without an error OpenSSL could name: that only
 * matters for a close-delimited answer, whose content its reader checks). */
static bw_err fill(struct bwh_http *h, int paced, int *eof)
{
    size_t room;
    bw_err rc;

    *eof = 0;
    if (h->ioff == h->ilen)
        h->ioff = h->ilen = 0;
    if (h->ioff && h->ilen == sizeof(h->w->in)) { /* compact */
        memmove(h->w->in, h->w->in + h->ioff, h->ilen - h->ioff);
        h->ilen -= h->ioff;
        h->ioff = 0;
    }
    room = sizeof(h->w->in) - h->ilen;
    if (h->mem_mode) { /* as a read would, up to the end of the buffer */
        size_t k = h->mem_len - h->mem_off;

        if (!k) {
            *eof = 1;
            set_err(h, "receive: connection closed by the server");
            return BW_E_IO;
        }
        k = k < room ? k : room;
        memcpy(h->w->in + h->ilen, h->mem + h->mem_off, k);
        h->mem_off += k;
        h->ilen += k;
        h->received += k;
        h->total += k;
        return BW_OK;
    }
    if (paced && h->rate && room > h->rate / 8 + 1)
        room = (size_t)(h->rate / 8 + 1); /* smoother pacing when slow */
    for (;;) {
        int e = SSL_ERROR_WANT_READ;
        ssize_t r;

        if ((rc = check_limits(h)))
            return rc;
        errno = 0;
        if (h->ssl) {
            ERR_clear_error();
            r = SSL_read(h->ssl, h->w->in + h->ilen, (int)room);
            if (r <= 0) {
                e = SSL_get_error(h->ssl, (int)r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    *eof = e == SSL_ERROR_ZERO_RETURN ||
                           (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error() && !errno) ||
                           ERR_GET_REASON(ERR_peek_last_error()) ==
                               SSL_R_UNEXPECTED_EOF_WHILE_READING;
                    tls_error(h, e, "receive");
                    return BW_E_IO;
                }
            }
        } else {
            r = recv(h->sock, h->w->in + h->ilen, room, 0);
            if (r == 0) {
                *eof = 1;
                set_err(h, "receive: connection closed by the server");
                return BW_E_IO;
            }
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                snprintf(h->err, sizeof(h->err), "receive: %s", strerror(errno));
                return BW_E_IO;
            }
        }
        if (r > 0) {
            h->ilen += (size_t)r;
            h->received += (uint64_t)r;
            h->total += (uint64_t)r;
            if (paced)
                pace(h);
            return BW_OK;
        }
        if ((rc = wait_io(h, e)))
            return rc;
    }
}

/* One line (CRLF or LF) of at most cap-1 bytes into h->w->line; a longer one
 * is too_long (the header block's limit, or a chunk line's). */
static bw_err read_line(struct bwh_http *h, size_t cap, const char *too_long)
{
    size_t n = 0;
    int eof;
    bw_err rc;

    if (cap > sizeof(h->w->line))
        cap = sizeof(h->w->line);
    for (;;) {
        while (h->ioff < h->ilen) {
            char ch = (char)h->w->in[h->ioff++];

            if (ch == '\n') {
                if (n && h->w->line[n - 1] == '\r')
                    n--;
                h->w->line[n] = 0;
                return BW_OK;
            }
            if (n + 1 >= cap) {
                set_err(h, too_long);
                h->fatal = 1;
                return BW_E_TOOBIG;
            }
            h->w->line[n++] = ch;
        }
        if ((rc = fill(h, 0, &eof)))
            return rc;
    }
}

/* A header line within the header block's limits (bytes left, fields). */
static bw_err read_head_line(struct bwh_http *h)
{
    char msg[96];
    size_t left = h->lim.header_max > h->meter.head ? h->lim.header_max - h->meter.head : 0;
    bw_err rc;

    /* a line of left - 1 bytes plus its CRLF would pass the block */
    snprintf(msg, sizeof(msg), "header block over %zu bytes (header limit)", h->lim.header_max);
    if ((rc = read_line(h, left ? left : 1, msg)))
        return rc;
    if ((rc = bwh_net_meter_line(&h->meter, strlen(h->w->line), h->err, sizeof(h->err)))) {
        h->fatal = 1;
        return rc;
    }
    return BW_OK;
}

/* Body bytes to the sink, within body_max of the resource. */
static bw_err deliver(struct bwh_http *h, const struct bwh_http_req *rq, long status,
                      const uint8_t *p, size_t n)
{
    bw_err rc;

    if (h->lim.body_max && h->off + n > h->lim.body_max) {
        snprintf(h->err, sizeof(h->err), "answer longer than %llu bytes (size limit)",
                 (unsigned long long)h->lim.body_max);
        h->fatal = 1;
        return BW_E_TOOBIG;
    }
    if (rq && rq->sink && (rc = rq->sink(rq->ctx, status, h->off, p, n))) {
        snprintf(h->err, sizeof(h->err), "the answer's body was refused: %s", bw_strerror(rc));
        h->sink_failed = 1;
        h->fatal = 1;
        return rc;
    }
    h->off += n;
    if (rq && rq->sink)
        h->given += n;
    return BW_OK;
}

/* n body bytes (or, with n == UINT64_MAX, everything up to the end of the
 * stream) into the sink. */
static bw_err read_body(struct bwh_http *h, const struct bwh_http_req *rq, long status,
                        uint64_t n)
{
    int eof;
    bw_err rc;

    while (n) {
        size_t k = h->ilen - h->ioff;

        if (!k) {
            rc = fill(h, 1, &eof);
            if (rc && eof && n == UINT64_MAX) {
                h->err[0] = 0;
                return BW_OK; /* close-delimited answer: complete */
            }
            if (rc)
                return rc;
            continue;
        }
        if ((uint64_t)k > n)
            k = (size_t)n;
        if ((rc = deliver(h, rq, status, h->w->in + h->ioff, k)))
            return rc;
        h->ioff += k;
        if (n != UINT64_MAX)
            n -= k;
    }
    return BW_OK;
}

/* The hex digits a chunk line starts with (no sign, no 0x, no space
 * before them, at most 16 digits' worth): *n, and *end past them. */
static bw_err chunk_size(const char *s, uint64_t *n, const char **end)
{
    uint64_t v = 0;
    const char *p = s;

    for (;; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;

        if (d < 0)
            break;
        if (v > UINT64_MAX >> 4)
            return BW_E_FORMAT;
        v = v << 4 | (uint64_t)d;
    }
    if (p == s)
        return BW_E_FORMAT;
    *n = v;
    *end = p;
    return BW_OK;
}

static bw_err read_chunked(struct bwh_http *h, const struct bwh_http_req *rq, long status)
{
    unsigned fields = 0;
    bw_err rc;

    for (;;) {
        const char *end;
        uint64_t n;

        if ((rc = read_line(h, 256, "chunk size line over 255 bytes")))
            return rc;
        if (chunk_size(h->w->line, &n, &end) ||
            (*end && *end != ';' && *end != ' ' && *end != '\t')) {
            set_err(h, "bad chunk size line");
            h->fatal = 1;
            return BW_E_FORMAT;
        }
        if (!n)
            break;
        if ((rc = read_body(h, rq, status, n)))
            return rc;
        if ((rc = read_line(h, 256, "chunk not followed by CRLF")))
            return rc;
        if (*h->w->line) {
            set_err(h, "chunk not followed by CRLF");
            h->fatal = 1;
            return BW_E_FORMAT;
        }
    }
    do { /* trailer fields, up to the empty line, as many as header fields */
        if ((rc = read_line(h, 256, "trailer line over 255 bytes")))
            return rc;
        if (*h->w->line && ++fields > h->lim.header_fields_max) {
            set_err(h, "too many trailer fields (header limit)");
            h->fatal = 1;
            return BW_E_TOOBIG;
        }
    } while (*h->w->line);
    return BW_OK;
}

static int is_redirect(long code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* "HTTP/1.D SP DDD [SP reason]": *code, *minor. */
static bw_err status_line(const char *s, int *code, int *minor)
{
    if (strncmp(s, "HTTP/1.", 7) || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return BW_E_FORMAT;
    if (s[9] < '1' || s[9] > '9' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
        return BW_E_FORMAT;
    if (s[12] && s[12] != ' ')
        return BW_E_FORMAT;
    *minor = s[7] - '0';
    *code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return BW_OK;
}

/* The start of "bytes START-END/TOTAL" (TOTAL may be a star). */
static bw_err content_range(const char *v, uint64_t *start)
{
    char num[24];
    size_t n;

    if (strncasecmp(v, "bytes ", 6))
        return BW_E_FORMAT;
    v += 6;
    n = strspn(v, "0123456789");
    if (!n || n >= sizeof(num) || v[n] != '-')
        return BW_E_FORMAT;
    memcpy(num, v, n);
    num[n] = 0;
    return bwh_parse_u64(num, start);
}

/* Whether the comma-separated list v holds token (any case). */
static int has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);

    while (*v) {
        size_t n;

        v += strspn(v, " \t,");
        n = strcspn(v, ",");
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n == tl && !strncasecmp(v, token, tl))
            return 1;
        v += strcspn(v, ",");
    }
    return 0;
}

/* Reads one answer: 1xx answers, then the final one's fields and body into
 * the sink (with follow, a redirect with a Location is one the caller
 * follows: its body is dropped). *any is set once a byte of it arrived;
 * *keep tells whether the connection can carry another request. */
static bw_err read_answer(struct bwh_http *h, const struct bwh_http_req *rq, int follow,
                          long *status, int *any, int *keep)
{
    int chunked = 0, close_after = 0, code = 0;
    uint64_t clen = UINT64_MAX, start = 0;
    int have_range = 0, eof;
    bw_err rc;

    *any = 0;
    *keep = 0;
    *status = 0;
    h->w->loc[0] = 0;
    bwh_net_meter_head(&h->meter); /* 1xx answers count into the same block */
    do {
        int minor;

        h->received = 0;
        h->rate_t0 = bwh_now_ms();
        if (h->ioff == h->ilen && (rc = fill(h, 0, &eof)))
            return rc;
        *any = 1;
        if ((rc = read_head_line(h)))
            return rc;
        if (status_line(h->w->line, &code, &minor)) {
            set_err(h, "not an HTTP/1 answer");
            h->fatal = 1;
            return BW_E_FORMAT;
        }
        chunked = 0;
        close_after = minor < 1; /* HTTP/1.0 closes unless it says keep-alive */
        clen = UINT64_MAX;
        have_range = 0;
        h->w->loc[0] = 0;
        for (;;) {
            char *v;

            if ((rc = read_head_line(h)))
                return rc;
            if (!*h->w->line)
                break;
            if (!(v = strchr(h->w->line, ':')))
                continue;
            *v++ = 0;
            v += strspn(v, " \t");
            v[strcspn(v, "\r")] = 0;
            for (char *t = v + strlen(v); t > v && (t[-1] == ' ' || t[-1] == '\t');)
                *--t = 0;
            if (!strcasecmp(h->w->line, "Content-Length")) {
                uint64_t x;

                if (bwh_parse_u64(v, &x) || (clen != UINT64_MAX && clen != x)) {
                    set_err(h, "bad Content-Length");
                    h->fatal = 1;
                    return BW_E_FORMAT;
                }
                clen = x;
            } else if (!strcasecmp(h->w->line, "Transfer-Encoding")) {
                chunked = has_token(v, "chunked");
            } else if (!strcasecmp(h->w->line, "Connection")) {
                if (has_token(v, "close"))
                    close_after = 1;
                else if (has_token(v, "keep-alive"))
                    close_after = 0;
            } else if (!strcasecmp(h->w->line, "Location")) {
                snprintf(h->w->loc, sizeof(h->w->loc), "%s", v);
            } else if (!strcasecmp(h->w->line, "Content-Range")) {
                if (content_range(v, &start)) {
                    set_err(h, "bad Content-Range");
                    h->fatal = 1;
                    return BW_E_FORMAT;
                }
                have_range = 1;
            }
        }
    } while (code < 200);
    *status = code;
    h->off = 0;
    if (code == 206) {
        /* a range we did not ask for would put bytes in the wrong place */
        if (!rq || !(rq->from || rq->range_len) || !have_range || start != rq->from) {
            snprintf(h->err, sizeof(h->err),
                     "a 206 answer that does not start at byte %llu (Content-Range)",
                     (unsigned long long)(rq ? rq->from : 0));
            h->fatal = 1;
            return BW_E_FORMAT;
        }
        h->off = start;
    }
    if (!chunked && clen != UINT64_MAX && h->lim.body_max && code != 204 && code != 304 &&
        (clen > h->lim.body_max || h->off > h->lim.body_max - clen)) {
        snprintf(h->err, sizeof(h->err), "answer longer than %llu bytes (size limit)",
                 (unsigned long long)h->lim.body_max);
        h->fatal = 1;
        return BW_E_TOOBIG;
    }
    if (follow && is_redirect(code) && h->w->loc[0])
        rq = NULL; /* a redirect's body is dropped */
    h->rate = rq ? rq->rate : 0;
    if (code == 204 || code == 304 || (rq && rq->method && !strcmp(rq->method, "HEAD")))
        rc = BW_OK; /* no body, whatever the fields say */
    else if (chunked)
        rc = read_chunked(h, rq, *status);
    else if (clen != UINT64_MAX)
        rc = read_body(h, rq, *status, clen);
    else { /* delimited by the end of the connection */
        rc = read_body(h, rq, *status, UINT64_MAX);
        close_after = 1;
    }
    h->rate = 0;
    *keep = !rc && !close_after;
    return rc;
}

bw_err bwh_http_parse(const struct bwh_net_limits *l, const uint8_t *buf, size_t len,
                      uint64_t from, bwh_http_sink sink, void *ctx, long *status, char *err,
                      size_t cap)
{
    struct bwh_http *h = NULL;
    struct bwh_http_req rq;
    int any, keep;
    bw_err rc;

    *status = 0;
    if ((rc = bwh_http_new(&h, NULL)))
        return rc;
    if ((rc = work(h))) {
        bwh_http_free(h);
        return rc;
    }
    bwh_http_limits(h, l);
    memset(&rq, 0, sizeof(rq));
    rq.from = from;
    rq.sink = sink;
    rq.ctx = ctx;
    h->mem = buf;
    h->mem_len = len;
    h->mem_mode = 1;
    rc = read_answer(h, &rq, 0, status, &any, &keep);
    if (err && cap)
        snprintf(err, cap, "%s", h->err);
    bwh_http_free(h);
    return rc;
}

/* Whether the kept connection can still carry a request: the server has
 * sent nothing since the last answer (but TLS session tickets) and has not
 * closed it. */
static int conn_alive(struct bwh_http *h)
{
    struct pollfd p = {.fd = h->sock, .events = POLLIN};
    unsigned char b;
    int r;

    if (poll(&p, 1, 0) == 0)
        return 1;
    if (!h->ssl)
        return 0; /* bytes nobody asked for, or the end: do not trust it */
    ERR_clear_error();
    r = SSL_read(h->ssl, &b, 1); /* the socket is non-blocking */
    if (r > 0)
        return 0;
    r = SSL_get_error(h->ssl, r);
    ERR_clear_error();
    return r == SSL_ERROR_WANT_READ;
}

static bw_err connect_to(struct bwh_http *h, const struct url *u)
{
    int ms = bwh_net_meter_wait_ms(&h->meter, bwh_now_ms(), (int)h->lim.connect_s * 1000);
    bw_err rc;

    if (!ms) {
        snprintf(h->err, sizeof(h->err), "timed out: the transfer took over %u s (total limit)",
                 h->lim.total_s);
        h->fatal = 1;
        return BW_E_IO;
    }
    if (!u->https)
        rc = bwh_tcp_connect(u->host, u->port, (unsigned)ms, h->o.stop, &h->sock, h->err,
                             sizeof(h->err));
    else {
        SSL_CTX *ctx = h->o.tls;

        if (!ctx && !h->own_ctx &&
            (rc = bwh_tls_ctx_new(&h->own_ctx, h->cacert, NULL, NULL, 0, h->err,
                                  sizeof(h->err)))) {
            h->fatal = 1;
            return rc;
        }
        if (!ctx)
            ctx = h->own_ctx;
        SSL_SESSION *resume = h->o.resume && h->sess && !strcmp(h->sess_host, u->host) &&
                                      !strcmp(h->sess_port, u->port)
                                  ? h->sess
                                  : NULL;

        rc = bwh_tls_connect(ctx, u->host, u->port, (unsigned)ms, h->o.crt, h->o.key, resume, h->o.stop,
                             &h->sock, &h->ssl, h->err, sizeof(h->err));
        if (rc == BW_E_AUTH)
            h->fatal = 1; /* the certificate will not change on a second try */
    }
    if (rc && stopping(h))
        return check_limits(h);
    if (!rc) {
        h->https = u->https;
        snprintf(h->host, sizeof(h->host), "%s", u->host);
        snprintf(h->port, sizeof(h->port), "%s", u->port);
    }
    return rc;
}

/* opts.resume: the session of the kept connection, once it can be
 * resumed (TLS 1.3 tickets arrive after the handshake, and are read with
 * the answer), replaces the one kept. A copy is kept: OpenSSL marks the
 * connection's own session object not resumable when the connection
 * ends without a close_notify or with an error (the gateway closing an
 * idle connection), which TLS 1.3 does not ask for (RFC 8446, 6.1).
 * sess_from holds the object copied, so each one is copied once. */
static void keep_session(struct bwh_http *h)
{
    SSL_SESSION *s, *copy;

    if (!h->o.resume || !h->ssl || !(s = SSL_get0_session(h->ssl)) || s == h->sess_from ||
        !SSL_SESSION_is_resumable(s))
        return;
    if (!(copy = SSL_SESSION_dup(s)) || SSL_SESSION_up_ref(s) != 1) {
        SSL_SESSION_free(copy);
        return; /* the one kept stays */
    }
    SSL_SESSION_free(h->sess_from);
    h->sess_from = s;
    SSL_SESSION_free(h->sess);
    h->sess = copy;
    snprintf(h->sess_host, sizeof(h->sess_host), "%s", h->host);
    snprintf(h->sess_port, sizeof(h->sess_port), "%s", h->port);
}

int bwh_http_kept(struct bwh_http *h, const char *url)
{
    struct url u;
    char err[96];

    return h->sock >= 0 && !parse_url(url, &u, err, sizeof(err)) && h->https == u.https &&
           !strcmp(h->host, u.host) && !strcmp(h->port, u.port) && conn_alive(h);
}

/* The request head, into a buffer of its own (it may carry a token: the
 * caller wipes and frees it). */
static bw_err request_head(const struct bwh_http_req *rq, const struct url *u, char **out,
                           size_t *len)
{
    const char *m = rq->method ? rq->method : "GET";
    char range[64] = "", clen[80] = "";
    int n;

    if (rq->range_len)
        snprintf(range, sizeof(range), "Range: bytes=%llu-%llu\r\n", (unsigned long long)rq->from,
                 (unsigned long long)(rq->from + rq->range_len - 1));
    else if (rq->from)
        snprintf(range, sizeof(range), "Range: bytes=%llu-\r\n", (unsigned long long)rq->from);
    if (rq->body)
        snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", rq->body_len);
    for (int pass = 0; pass < 2; pass++) {
        n = snprintf(pass ? *out : NULL, pass ? *len + 1 : 0,
                     "%s %s%.*s HTTP/1.1\r\nHost: %s\r\n%sAccept: */*\r\n%s%s%s%s%s\r\n", m,
                     u->path[0] == '/' ? "" : "/", (int)u->path_len, u->path, u->hosthdr,
                     rq->headers ? rq->headers : "", range,
                     rq->body && rq->content_type ? "Content-Type: " : "",
                     rq->body && rq->content_type ? rq->content_type : "",
                     rq->body && rq->content_type ? "\r\n" : "", clen);
        if (n <= 0)
            return BW_E_INVAL;
        if (!pass) {
            *len = (size_t)n;
            if (!(*out = bwh_malloc(*len + 1)))
                return BW_E_NOMEM;
        }
    }
    return BW_OK;
}

/* One request and its answer at h->w->url, on the kept connection or a new
 * one (a kept one found dead, or one that breaks before any answer, is
 * replaced once). */
static bw_err exchange(struct bwh_http *h, const struct bwh_http_req *rq, int follow,
                       struct bwh_http_res *res)
{
    struct url u;
    char *req = NULL;
    size_t req_len = 0;
    bw_err rc;

    if ((rc = parse_url(h->w->url, &u, h->err, sizeof(h->err)))) {
        h->fatal = 1;
        return rc;
    }
    if ((rc = request_head(rq, &u, &req, &req_len)))
        goto out;
    for (unsigned tries = 0; tries < 2; tries++) {
        int reused = 0, keep = 0;

        if (h->sock >= 0 && h->https == u.https && !strcmp(h->host, u.host) &&
            !strcmp(h->port, u.port) && conn_alive(h))
            reused = 1;
        else {
            bwh_http_drop(h);
            if ((rc = connect_to(h, &u)))
                goto out;
            res->connects++;
            if (h->ssl && SSL_session_reused(h->ssl))
                res->resumed++;
        }
        h->err[0] = 0;
        rc = send_all(h, req, req_len);
        if (!rc && rq->body)
            rc = send_all(h, rq->body, rq->body_len);
        if (!rc)
            rc = read_answer(h, rq, follow, &res->status, &res->any, &keep);
        if (!rc)
            keep_session(h);
        if (!keep)
            bwh_http_drop(h);
        if (rc && reused && !res->any && !stopping(h) && !h->fatal)
            continue; /* the server closed the kept connection meanwhile */
        break;
    }
out:
    if (req) {
        bw_wipe(req, req_len);
        bwh_free(req);
    }
    return rc;
}

/* The URL a redirect's Location names, resolved against h->w->url: absolute
 * (http or https), an absolute path, or a path relative to the current
 * one's directory. */
static bw_err resolve(struct bwh_http *h, const char *loc, char *out, size_t cap)
{
    struct url u;
    size_t origin, dir;

    if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8))
        return (size_t)snprintf(out, cap, "%s", loc) < cap ? BW_OK : BW_E_TOOBIG;
    if (strstr(loc, "://") || !strncmp(loc, "//", 2) || !*loc)
        return BW_E_INVAL; /* another scheme, or a network-path reference */
    if (parse_url(h->w->url, &u, h->err, sizeof(h->err)))
        return BW_E_INVAL;
    origin = (size_t)(u.path - h->w->url);
    dir = origin;
    if (*loc != '/') { /* up to the last '/' of the path, query excluded */
        size_t pl = strcspn(u.path, "?#");

        while (pl && u.path[pl - 1] != '/')
            pl--;
        dir = origin + pl;
    }
    if ((size_t)snprintf(out, cap, "%.*s%s%s", (int)dir, h->w->url,
                         *loc != '/' && dir == origin ? "/" : "", loc) >= cap)
        return BW_E_TOOBIG;
    return BW_OK;
}

/* Whether two URLs name the same scheme, host and port. */
static int same_origin(const char *a, const char *b)
{
    struct url ua, ub;
    char err[96];

    return !parse_url(a, &ua, err, sizeof(err)) && !parse_url(b, &ub, err, sizeof(err)) &&
           ua.https == ub.https && !strcasecmp(ua.host, ub.host) && !strcmp(ua.port, ub.port);
}

bw_err bwh_http_request(struct bwh_http *h, const struct bwh_http_req *rq_in,
                        struct bwh_http_res *res)
{
    struct bwh_http_req r = *rq_in, *rq = &r;
    int https, follow;
    bw_err rc;

    memset(res, 0, sizeof(*res));
    if (work(h)) {
        set_err(h, "out of memory");
        return BW_E_NOMEM;
    }
    h->err[0] = 0;
    h->fatal = 0;
    h->sink_failed = 0;
    h->given = 0;
    if (strlen(rq->url) >= sizeof(h->w->url)) {
        set_err(h, "URL too long");
        res->fatal = 1;
        return BW_E_INVAL;
    }
    snprintf(h->w->url, sizeof(h->w->url), "%s", rq->url);
    https = !strncasecmp(h->w->url, "https://", 8);
    follow = h->lim.redirects_max && (!rq->method || !strcmp(rq->method, "GET"));
    for (;;) {
        char next[URL_MAX];

        rc = exchange(h, rq, follow, res);
        if (rc || !follow || !is_redirect(res->status) || !h->w->loc[0])
            break;
        rc = BW_E_TOOBIG;
        h->fatal = 1;
        if (res->redirects >= h->lim.redirects_max) {
            snprintf(h->err, sizeof(h->err), "more than %u redirects (redirect limit)",
                     h->lim.redirects_max);
            break;
        }
        if (resolve(h, h->w->loc, next, sizeof(next))) {
            set_err(h, "a redirect to a URL that is not http(s) or too long");
            rc = BW_E_FORMAT;
            break;
        }
        if (https && strncasecmp(next, "https://", 8)) {
            set_err(h, "refused a redirect from https to another scheme");
            rc = BW_E_AUTH;
            break;
        }
        h->fatal = 0;
        res->redirects++;
        /* the caller's fields (a token, say) go to the origin it named only */
        if (!same_origin(rq_in->url, next))
            r.headers = NULL;
        memcpy(h->w->url, next, sizeof(h->w->url));
    }
    res->body = h->given;
    res->fatal = h->fatal;
    return rc;
}

/* bwh_http_download's sink: 2xx bodies only, each byte once. */
struct dl {
    bwh_http_sink sink;
    void *ctx;
    uint64_t delivered;
};

static bw_err dl_sink(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct dl *d = ctx;
    bw_err rc;

    if (status < 200 || status > 299)
        return BW_OK; /* an error page: its status says enough */
    if (off < d->delivered) { /* the server ignored Range: skip what we have */
        uint64_t skip = d->delivered - off;

        if (skip >= n)
            return BW_OK;
        p += skip;
        n -= (size_t)skip;
        off = d->delivered;
    }
    if (off != d->delivered)
        return BW_E_STATE; /* cannot happen: a 206 starts where we asked */
    if ((rc = d->sink(d->ctx, status, off, p, n)))
        return rc;
    d->delivered += n;
    return BW_OK;
}

bw_err bwh_http_download(struct bwh_http *h, const char *url, const char *headers,
                         unsigned attempts, bwh_http_sink sink, void *ctx, struct bwh_http_dl *st)
{
    struct bwh_http_req rq;
    struct dl d = {sink, ctx, 0};
    unsigned delay_ms = 200;
    bw_err rc = BW_E_IO;

    memset(st, 0, sizeof(*st));
    memset(&rq, 0, sizeof(rq));
    rq.url = url;
    rq.headers = headers;
    rq.sink = dl_sink;
    rq.ctx = &d;
    for (st->attempts = 1;; st->attempts++) {
        struct bwh_http_res res;
        int64_t until;

        /* a slow attempt ends; the next one gets a window of its own */
        h->meter.win_t0_ms = bwh_now_ms();
        h->meter.win_bytes0 = h->total;
        rq.from = d.delivered;
        rc = bwh_http_request(h, &rq, &res);
        st->status = res.status;
        st->bytes = d.delivered;
        if (!rc && res.status >= 200 && res.status <= 299)
            return BW_OK;
        if (rc && h->sink_failed) {
            snprintf(st->error, sizeof(st->error), "%s", h->err);
            return rc; /* the sink's own error, as it said it */
        }
        if (!rc)
            snprintf(st->error, sizeof(st->error), "the server answered HTTP %ld", res.status);
        else
            snprintf(st->error, sizeof(st->error), "%s", h->err[0] ? h->err : bw_strerror(rc));
        rc = BW_E_IO;
        if (res.fatal || st->attempts >= attempts ||
            bwh_net_meter_wait_ms(&h->meter, bwh_now_ms(), 1) == 0 ||
            (res.status >= 300 && res.status < 500 && res.status != 429))
            return rc;
        /* the pause before the next attempt, within the deadline and cut
         * short by a stop */
        until = bwh_now_ms() + bwh_net_meter_wait_ms(&h->meter, bwh_now_ms(), (int)delay_ms);
        while (bwh_now_ms() < until && !stopping(h)) {
            struct timespec ts = {0, 50 * 1000000L};

            nanosleep(&ts, NULL);
        }
        if (stopping(h)) {
            snprintf(st->error, sizeof(st->error), "stopped by a signal");
            return rc;
        }
        delay_ms = delay_ms < 3200 ? delay_ms * 2 : delay_ms;
    }
}
