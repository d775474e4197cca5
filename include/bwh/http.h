/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host library's one HTTP/1.1 client (host/http.c), over plain TCP or
 * verifying TLS (host/tlsclient.c): the agent speaks the device API with
 * it (agent/net.c), `bulwark install URL` and `bulwark audit --gateway`
 * download with it (host/fetch.c). Keep-alive, Content-Length, chunked and
 * close-delimited answers, Range with a checked Content-Range, redirects
 * (opt-in, never from https to another scheme), a receive rate cap, and
 * every wait and every answer bounded by struct bwh_net_limits (host.h).
 * Not a general client: no proxies, no cookies, no compression, no HTTP/2,
 * no credentials inside URLs.
 */
#ifndef BULWARK_BWH_HTTP_H
#define BULWARK_BWH_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "bwh/host.h"

struct bwh_http;

struct bwh_http_opts {
    SSL_CTX *tls;       /* https: this context (the caller's, not freed here; it
                         * may carry a client certificate), or NULL: a verifying
                         * one is made from cacert at the first https request */
    const char *cacert; /* with tls NULL: PEM CA bundle (NULL: the system's store) */
    unsigned stall_s;   /* no byte for this long ends a request (0: off) */
    volatile const sig_atomic_t *stop; /* non-zero ends a request (polled >= 1/s) */
    int resume;         /* https: keep the TLS session (ticket) of the last
                         * connection and offer it when a new connection to
                         * the same host and port is opened (resumption: no
                         * full handshake); kept until bwh_http_free */
    X509 *crt;          /* https: this client certificate and key on every */
    EVP_PKEY *key;      /* connection instead of the context's (the caller's,
                         * not freed here; NULL: the context's) */
};

/* A new client (no connection yet): BW_E_NOMEM. Free with bwh_http_free
 * (NULL-safe), which closes a kept connection. One handle per thread. The
 * caller ignores SIGPIPE before an https request (OpenSSL writes to the
 * socket itself; plain http sends with MSG_NOSIGNAL). */
BW_NODISCARD bw_err bwh_http_new(struct bwh_http **h, const struct bwh_http_opts *o);
void bwh_http_free(struct bwh_http *h);
/* Copies the limits l and starts their clocks now: the total deadline and
 * the low-speed window run across every request until the next call, so a
 * caller that retries keeps one deadline for all its attempts. Before the
 * first call the defaults of bwh_net_limits_default hold, started at new. */
void bwh_http_limits(struct bwh_http *h, const struct bwh_net_limits *l);
/* Gives back the request buffers (about 40 KiB) while the client waits,
 * keeping the connection and the session; the next request allocates
 * them again. For a client that keeps a connection over a long pause. */
void bwh_http_idle(struct bwh_http *h);
/* Closes the kept connection: the next request opens a new one. */
void bwh_http_drop(struct bwh_http *h);
/* 1 when a request to url would go out on the kept connection: one is
 * open to url's scheme, host and port, and the server has neither closed
 * it nor sent anything unasked meanwhile (a TLS session ticket aside);
 * 0 when it would open a new one. No blocking: one poll of the socket. */
int bwh_http_kept(struct bwh_http *h, const char *url);
/* Whether url is one the client speaks (http[s]://HOST[:PORT][/PATH],
 * printable ASCII, no user:password@, port 1..65535): BW_OK with *https
 * set (may be NULL), or BW_E_INVAL. */
BW_NODISCARD bw_err bwh_http_url_check(const char *url, int *https);
/* Why the last request failed (one line; "" after success). */
const char *bwh_http_error(const struct bwh_http *h);

/* Receives the body bytes of an answer in order: status is the answer's
 * status, off the offset of p in the resource (the Range start for a 206,
 * 0 for anything else, then counting up). An error ends the request and is
 * returned by it as is. */
typedef bw_err (*bwh_http_sink)(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n);

struct bwh_http_req {
    const char *method;       /* "GET" (NULL) or "POST" */
    const char *url;          /* http://HOST[:PORT][/PATH] or https://... */
    const char *headers;      /* extra fields, each ending in CRLF, or NULL; never
                               * sent to another origin after a redirect */
    const char *body;         /* POST body (body_len bytes) and its type */
    size_t body_len;
    const char *content_type;
    uint64_t from;            /* > 0: "Range: bytes=FROM-"; a 206 must start there */
    uint64_t range_len;       /* > 0: "Range: bytes=FROM-(FROM+range_len-1)" instead
                               * (from may be 0); a 206 must start at from */
    uint64_t rate;            /* receive at most this many bytes/s (0: no cap) */
    bwh_http_sink sink;       /* body bytes of the final answer (NULL: dropped) */
    void *ctx;
};

struct bwh_http_res {
    long status;         /* of the final answer, 0 when none came */
    unsigned connects;   /* connections this request opened */
    unsigned resumed;    /* ... of them with a resumed TLS session (opts.resume) */
    unsigned redirects;  /* redirects followed */
    int any;             /* a byte of an answer arrived */
    int fatal;           /* a limit, a stop, a refused certificate or answer,
                          * a sink error: asking again cannot help */
    uint64_t body;       /* body bytes handed to the sink */
};

/* One request and its answer, on the kept connection when it goes to the
 * same scheme, host and port and is still open (a kept connection found
 * closed before any answer byte is replaced once), else on a new one. With
 * limits' redirects_max > 0 a GET follows 301/302/303/307/308 (a redirect
 * from https to another scheme is refused); otherwise a 3xx is an answer.
 * BW_OK once a whole answer was read, whatever its status (res->status);
 * BW_E_INVAL (not an http(s) URL we speak), BW_E_IO (network, TLS, timeouts,
 * stop, the answer broke off), BW_E_AUTH (the server's certificate was
 * refused), BW_E_FORMAT (not an HTTP/1.x answer, bad framing, a 206 that
 * does not start at from), BW_E_TOOBIG (header limits, redirect limit,
 * body over body_max), BW_E_NOMEM, or the sink's error; bwh_http_error
 * says which. */
BW_NODISCARD bw_err bwh_http_request(struct bwh_http *h, const struct bwh_http_req *rq,
                                     struct bwh_http_res *res);

/* Download statistics of bwh_http_download. */
struct bwh_http_dl {
    uint64_t bytes;     /* bytes handed to the sink (all attempts) */
    unsigned attempts;
    long status;        /* the last answer's status */
    char error[320];    /* why it failed, in words naming the limit hit */
};
/* GETs url from byte 0 into sink, each byte once and in order (off counts
 * from 0), resuming a broken transfer with Range from the first byte not
 * yet delivered, up to attempts times with growing pauses (200 ms to
 * 3.2 s), all within the limits of the last bwh_http_limits (one total
 * deadline); a low-speed window is restarted with each attempt. A server
 * that ignores Range (200) has the delivered bytes skipped. Only 2xx bodies
 * reach the sink. No further attempt after a 4xx other than 429, a fatal
 * error, or the total deadline. BW_OK, BW_E_IO (every failure but the
 * sink's: st->error says which), or the sink's own error. headers as in
 * struct bwh_http_req (an Authorization field, say). */
BW_NODISCARD bw_err bwh_http_download(struct bwh_http *h, const char *url, const char *headers,
                                      unsigned attempts, bwh_http_sink sink, void *ctx,
                                      struct bwh_http_dl *st);

/* Reads one answer held in buf (len bytes) as bwh_http_request reads one
 * from a connection: status line, 1xx answers, header fields within l's
 * header limits, then a Content-Length, chunked or close-delimited body
 * into sink within l->body_max; from as in struct bwh_http_req. For fuzz
 * targets and tests. *status: the final status. The errors of
 * bwh_http_request (BW_E_IO: the buffer ended mid-answer); err (cap
 * bytes) says why. */
BW_NODISCARD bw_err bwh_http_parse(const struct bwh_net_limits *l, const uint8_t *buf, size_t len,
                                   uint64_t from, bwh_http_sink sink, void *ctx, long *status,
                                   char *err, size_t cap);

#endif
