/* SPDX-License-Identifier: Apache-2.0 */
/* The host library's HTTP client (host/http.c) over answers in memory
 * (bwh_http_parse): strict status lines and framing, the 206 start check,
 * the body cap applied to an announced length before the first byte, the
 * header limits; the URLs it accepts (bwh_http_url_check); and, against
 * two scripted servers on loopback, redirects: a relative Location, one to
 * another origin (which gets none of the caller's header fields), the
 * redirect limit. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bwh/host.h"
#include "bwh/http.h"
#include "t.h"

/* A server on 127.0.0.1 that answers its connections in turn, one scripted
 * answer each (PORT in it becomes the other server's port), and keeps the
 * requests it read. */
struct srv {
    int fd, port, other;
    const char *answers[4];
    char seen[4][1024];
    pthread_t thr;
};

static void *serve(void *arg)
{
    struct srv *s = arg;

    for (int i = 0; i < 4 && s->answers[i]; i++) {
        const char *port = strstr(s->answers[i], "PORT");
        char out[512];
        size_t n = 0;
        int c = accept(s->fd, NULL, NULL);

        if (c < 0)
            break;
        while (n < sizeof(s->seen[i]) - 1 && !strstr(s->seen[i], "\r\n\r\n")) {
            ssize_t r = read(c, s->seen[i] + n, sizeof(s->seen[i]) - 1 - n);

            if (r <= 0)
                break;
            n += (size_t)r;
            s->seen[i][n] = 0;
        }
        if (port)
            snprintf(out, sizeof(out), "%.*s%d%s", (int)(port - s->answers[i]), s->answers[i],
                     s->other, port + 4);
        else
            snprintf(out, sizeof(out), "%s", s->answers[i]);
        if (write(c, out, strlen(out)) < 0)
            break;
        close(c);
    }
    return NULL;
}

static int srv_listen(struct srv *s)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 4) ||
        getsockname(s->fd, (struct sockaddr *)&a, &al))
        return -1;
    s->port = ntohs(a.sin_port);
    return 0;
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static bw_err drop_body(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    (void)ctx, (void)status, (void)off, (void)p, (void)n;
    return BW_OK;
}

/* GET url with an Authorization field through a client that follows up to
 * max redirects. */
static bw_err get(const char *url, unsigned max, struct bwh_http_res *res)
{
    struct bwh_http *h = NULL;
    struct bwh_net_limits l;
    struct bwh_http_req rq;
    bw_err rc;

    if (bwh_http_new(&h, NULL))
        return BW_E_NOMEM;
    bwh_net_limits_default(&l);
    l.total_s = 10;
    l.redirects_max = max;
    bwh_http_limits(h, &l);
    memset(&rq, 0, sizeof(rq));
    rq.url = url;
    rq.headers = "Authorization: Bearer secret\r\n";
    rq.sink = drop_body;
    rc = bwh_http_request(h, &rq, res);
    bwh_http_free(h);
    return rc;
}

struct got {
    char buf[256];
    size_t len;
    uint64_t off0;
    int calls;
};

static bw_err keep(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct got *g = ctx;

    (void)status;
    if (!g->calls++)
        g->off0 = off;
    if (n > sizeof(g->buf) - 1 - g->len)
        return BW_E_TOOBIG;
    memcpy(g->buf + g->len, p, n);
    g->len += n;
    g->buf[g->len] = 0;
    return BW_OK;
}

static bw_err parse(const char *ans, uint64_t from, uint64_t body_max, struct got *g,
                    long *status, char *err)
{
    struct bwh_net_limits l;

    bwh_net_limits_default(&l);
    l.body_max = body_max;
    memset(g, 0, sizeof(*g));
    return bwh_http_parse(&l, (const uint8_t *)ans, strlen(ans), from, keep, g, status, err, 320);
}

int main(void)
{
    struct got g;
    char err[320];
    long st;
    int https = -1;

    /* framing */
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloXX", 0, 0, &g, &st, err),
             BW_OK);
    CHECK(st == 200 && !strcmp(g.buf, "hello"));
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                   "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n", 0, 0, &g, &st, err),
             BW_OK);
    CHECK(!strcmp(g.buf, "abcde"));
    CHECK_RC(parse("HTTP/1.0 200 OK\r\n\r\nuntil the end", 0, 0, &g, &st, err), BW_OK);
    CHECK(!strcmp(g.buf, "until the end"));
    CHECK_RC(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n"
                   "Content-Length: 9\r\n\r\n", 0, 0, &g, &st, err),
             BW_OK);
    CHECK(st == 204 && g.len == 0);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 0, 0, &g, &st, err),
             BW_E_IO);
    /* strict status lines and fields */
    CHECK_RC(parse("HTTP/1.1 20 OK\r\n\r\n", 0, 0, &g, &st, err), BW_E_FORMAT);
    CHECK_RC(parse("HTTP/2 200 OK\r\n\r\n", 0, 0, &g, &st, err), BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 2000 OK\r\n\r\n", 0, 0, &g, &st, err), BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1  200 OK\r\n\r\n", 0, 0, &g, &st, err), BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, 0, &g, &st, err), BW_OK);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 0,
                   0, &g, &st, err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0, &g, &st, err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0, &g, &st,
                   err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
                   0, 0, &g, &st, err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n",
                   0, 0, &g, &st, err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "10000000000000000\r\n", 0, 0, &g, &st, err),
             BW_E_FORMAT);
    /* Range: a 206 must start at the byte asked for; a 200 starts at 0 */
    CHECK_RC(parse("HTTP/1.1 206 Partial\r\nContent-Range: bytes 100-104/105\r\n"
                   "Content-Length: 5\r\n\r\nhello", 100, 0, &g, &st, err),
             BW_OK);
    CHECK(st == 206 && g.off0 == 100 && !strcmp(g.buf, "hello"));
    CHECK_RC(parse("HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-4/105\r\n"
                   "Content-Length: 5\r\n\r\nhello", 100, 0, &g, &st, err),
             BW_E_FORMAT);
    CHECK(strstr(err, "does not start at byte 100") != NULL);
    CHECK_RC(parse("HTTP/1.1 206 Partial\r\nContent-Length: 5\r\n\r\nhello", 100, 0, &g, &st,
                   err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-4/5\r\n"
                   "Content-Length: 5\r\n\r\nhello", 0, 0, &g, &st, err),
             BW_E_FORMAT);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 100, 0, &g, &st, err),
             BW_OK);
    CHECK(g.off0 == 0);
    /* the body cap: an announced length over it is refused before any byte */
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\nxx", 0, 1000, &g,
                   &st, err),
             BW_E_TOOBIG);
    CHECK(g.calls == 0 && strstr(err, "answer longer than 1000 bytes (size limit)") != NULL);
    CHECK_RC(parse("HTTP/1.1 206 P\r\nContent-Range: bytes 998-1002/1003\r\n"
                   "Content-Length: 5\r\n\r\nhello", 998, 1000, &g, &st, err),
             BW_E_TOOBIG);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n0\r\n\r\n", 0, 4, &g, &st, err),
             BW_E_TOOBIG);
    CHECK_RC(parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", 0, 4, &g, &st, err),
             BW_OK);
    /* header limits: one field as long as the block */
    {
        static char big[20000];
        int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: ");

        memset(big + n, 'b', 17000);
        memcpy(big + n + 17000, "\r\n\r\n", 5);
        CHECK_RC(parse(big, 0, 0, &g, &st, err), BW_E_TOOBIG);
        CHECK(strstr(err, "header block over 16384 bytes (header limit)") != NULL);
    }
    /* URLs */
    CHECK_RC(bwh_http_url_check("http://127.0.0.1:8080/a/b?c", &https), BW_OK);
    CHECK(https == 0);
    CHECK_RC(bwh_http_url_check("https://[::1]:8443", &https), BW_OK);
    CHECK(https == 1);
    CHECK_RC(bwh_http_url_check("HTTPS://example.org", NULL), BW_OK);
    CHECK_RC(bwh_http_url_check("ftp://example.org/x", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://user:pw@example.org/", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://example.org:0/", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://example.org:65536/", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://example.org:/", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://exa mple.org/", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://example.org/a\r\nX: y", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http://[::1/", NULL), BW_E_INVAL);
    CHECK_RC(bwh_http_url_check("http:///path", NULL), BW_E_INVAL);
    /* redirects on loopback: A sends a relative one on its own origin, then
     * one to B; B must not see the token */
    {
        static struct srv a, b;
        struct bwh_http_res res;
        char url[64];

        a.answers[0] = "HTTP/1.1 302 Found\r\nLocation: y/z?q\r\nContent-Length: 3\r\n\r\nabc";
        a.answers[1] = "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:PORT/b\r\n"
                       "Connection: close\r\n\r\n";
        b.answers[0] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        CHECK(srv_listen(&a) == 0 && srv_listen(&b) == 0);
        a.other = b.port;
        CHECK(pthread_create(&a.thr, NULL, serve, &a) == 0);
        CHECK(pthread_create(&b.thr, NULL, serve, &b) == 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/a/b", a.port);
        CHECK_RC(get(url, 3, &res), BW_OK);
        CHECK(res.status == 200 && res.redirects == 2 && res.body == 2);
        pthread_join(a.thr, NULL);
        pthread_join(b.thr, NULL);
        CHECK(starts(a.seen[0], "GET /a/b HTTP/1.1\r\n") && strstr(a.seen[0], "Bearer secret"));
        CHECK(starts(a.seen[1], "GET /a/y/z?q HTTP/1.1\r\n") && strstr(a.seen[1], "Bearer secret"));
        CHECK(starts(b.seen[0], "GET /b HTTP/1.1\r\n") && !strstr(b.seen[0], "Authorization"));
        close(a.fd);
        close(b.fd);
        /* the limit: the second redirect is one too many */
        memset(&a, 0, sizeof(a));
        a.answers[0] = "HTTP/1.1 302 Found\r\nLocation: /again\r\nConnection: close\r\n\r\n";
        a.answers[1] = a.answers[0];
        CHECK(srv_listen(&a) == 0);
        CHECK(pthread_create(&a.thr, NULL, serve, &a) == 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", a.port);
        CHECK_RC(get(url, 1, &res), BW_E_TOOBIG);
        CHECK(res.fatal && res.redirects == 1);
        pthread_join(a.thr, NULL);
        close(a.fd);
    }
    T_DONE();
}
