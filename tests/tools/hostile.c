/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostile: the attackers of the hostile-load suite (tests/hostile/), one
 * subcommand per attack on bulwark-gateway, each bounded in count and
 * time, loopback only, printing one JSON object of what it saw. Not a
 * load generator for anything else, and it judges nothing: the suite's
 * driver (tests/hostile/hostile.py) holds the assertions.
 *
 * Usage: hostile ATTACK --port P [--host 127.0.0.1] [--src A[,B...]] [options]
 *   silent    --count N --hold S          TCP connections that send nothing
 *   hello     --count N --hold S          half a TLS ClientHello, then nothing
 *   slowloris --count N --hold S          TLS, then header bytes at 1 per second
 *   upload    --count N --size B --auth none|bad|TOKEN --max-s S
 *                                         release uploads streamed without a valid token
 *   mender    --count N --max-s S         Mender auth requests, each a new key and identity
 *                                         (one without an answer is tried again)
 *   framing                               ambiguous HTTP framing, one request each
 * --src: the client addresses, used in turn (127.0.0.2,127.0.0.3 or
 * 127.0.0.2-127.0.0.9). Times in the output are seconds from each
 * connection's connect.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define MAX_SRC 16
#define MAX_CONNS 4096

static struct {
    const char *host, *auth;
    unsigned port, count, hold, max_s, tmo_ms;
    uint64_t size;
    struct in_addr src[MAX_SRC];
    unsigned nsrc;
    SSL_CTX *ctx;
} o = {.host = "127.0.0.1", .count = 100, .hold = 8, .max_s = 10, .size = 200ull << 20,
     .tmo_ms = 5000};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP connection from source address number i (in turn), non-blocking
 * when nb. The fd, or -1. A non-blocking connect may still be in progress. */
static int tcp_open(unsigned i, int nb)
{
    struct sockaddr_in to, from;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nb ? SOCK_NONBLOCK : 0), 0), one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o.nsrc) {
        memset(&from, 0, sizeof(from));
        from.sin_family = AF_INET;
        from.sin_addr = o.src[i % o.nsrc];
        if (bind(fd, (struct sockaddr *)&from, sizeof(from))) {
            close(fd);
            return -1;
        }
    }
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)o.port);
    if (inet_pton(AF_INET, o.host, &to.sin_addr) != 1 ||
        (connect(fd, (struct sockaddr *)&to, sizeof(to)) && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A blocking socket with send and receive timeouts of ms. */
static void timeouts(int fd, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A TLS session over a new blocking connection from source i (no
 * certificate check: the attackers do not care who answers). NULL if the
 * connection or the handshake failed; *fd_out its socket. */
static SSL *tls_open(unsigned i, int *fd_out)
{
    int fd = tcp_open(i, 0);
    SSL *s;

    *fd_out = -1;
    if (fd < 0)
        return NULL;
    timeouts(fd, o.tmo_ms);
    s = SSL_new(o.ctx);
    if (!s || !SSL_set_fd(s, fd) || SSL_connect(s) != 1) {
        SSL_free(s);
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return s;
}

static void tls_close(SSL *s, int fd)
{
    if (s)
        SSL_free(s);
    if (fd >= 0)
        close(fd);
}

static int write_all(SSL *s, const void *p, size_t n)
{
    size_t done = 0;

    while (done < n) {
        int w = SSL_write(s, (const char *)p + done, (int)(n - done));

        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

/* Reads one HTTP answer (headers, and a body of its Content-Length) from
 * s. The status, 0 if none came or it did not parse; *close_after when the
 * server will close the connection. */
static int read_answer(SSL *s, int *close_after)
{
    char buf[16384];
    size_t len = 0;
    char *end = NULL, *cl;
    long body = 0;
    int status = 0;

    *close_after = 1;
    while (!end && len < sizeof(buf) - 1) {
        int r = SSL_read(s, buf + len, (int)(sizeof(buf) - 1 - len));

        if (r <= 0)
            return 0;
        len += (size_t)r;
        buf[len] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    *end = 0;
    cl = strcasestr(buf, "\r\ncontent-length:");
    body = cl ? strtol(cl + 17, NULL, 10) : 0;
    *close_after = strcasestr(buf, "\r\nconnection: close") != NULL;
    body -= (long)(len - (size_t)(end + 4 - buf));
    while (body > 0) {
        int r = SSL_read(s, buf, (int)(body < (long)sizeof(buf) ? body : (long)sizeof(buf)));

        if (r <= 0) {
            *close_after = 1;
            break;
        }
        body -= r;
    }
    return status;
}

/* ---- silent and hello: connections that stop before TLS is up ---------------------- */

/* The first half of a real ClientHello, from a handshake that writes to
 * memory. Its length, 0 on failure. */
static size_t half_hello(uint8_t *out, size_t cap)
{
    SSL *s = SSL_new(o.ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    size_t n = 0;
    int r;

    if (!s || !rb || !wb) {
        BIO_free(rb);
        BIO_free(wb);
        SSL_free(s);
        return 0;
    }
    SSL_set_bio(s, rb, wb);
    SSL_set_tlsext_host_name(s, "127.0.0.1");
    (void)SSL_connect(s);
    r = BIO_read(wb, out, (int)cap);
    if (r > 10)
        n = (size_t)r / 2;
    SSL_free(s);
    return n;
}

/* Method: open count connections (non-blocking, all at once), on each
 * send the prefix (nothing for silent), then watch them all until hold
 * seconds have passed: a connection the server closes (EOF or reset) is
 * counted with the time it lived. The rest are closed by us at the end. */
static int run_stall(const uint8_t *prefix, size_t plen, const char *name)
{
    struct pollfd *pf = calloc(o.count, sizeof(*pf));
    double *t0 = calloc(o.count, sizeof(*t0)), start = now(), max_life = 0, max_open = 0,
           sum_life = 0;
    unsigned *state = calloc(o.count, sizeof(*state)); /* 0 connecting, 1 open, 2 done */
    unsigned i, opened = 0, connected = 0, failed = 0, closed = 0, left = 0, sent = 0,
             connecting = 0;

    if (!pf || !t0 || !state)
        return 1;
    for (i = 0; i < o.count; i++) {
        pf[i].fd = tcp_open(i, 1);
        pf[i].events = POLLOUT;
        t0[i] = now();
        if (pf[i].fd < 0) {
            failed++;
            state[i] = 2;
            pf[i].fd = -1;
        } else {
            opened++;
        }
    }
    while (now() - start < o.hold) {
        int n = poll(pf, o.count, 100);

        if (n < 0 && errno != EINTR)
            break;
        for (i = 0; n > 0 && i < o.count; i++) {
            char b[256];
            ssize_t r;
            int err = 0;
            socklen_t el = sizeof(err);

            if (!pf[i].revents || pf[i].fd < 0)
                continue;
            if (state[i] == 0) {
                getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    failed++;
                    state[i] = 2;
                    close(pf[i].fd);
                    pf[i].fd = -1;
                    continue;
                }
                state[i] = 1;
                connected++;
                if (plen && send(pf[i].fd, prefix, plen, MSG_NOSIGNAL) == (ssize_t)plen)
                    sent++;
                pf[i].events = POLLIN | POLLRDHUP;
                continue;
            }
            r = recv(pf[i].fd, b, sizeof(b), MSG_DONTWAIT);
            if (r > 0)
                continue; /* an alert or an answer: the close follows */
            if (r < 0 && errno == EAGAIN && !(pf[i].revents & (POLLHUP | POLLERR | POLLRDHUP)))
                continue;
            {
                double life = now() - t0[i];

                if (life > max_life)
                    max_life = life;
                sum_life += life;
            }
            closed++;
            state[i] = 2;
            close(pf[i].fd);
            pf[i].fd = -1;
        }
    }
    for (i = 0; i < o.count; i++)
        if (pf[i].fd >= 0) {
            left += state[i] == 1;
            connecting += state[i] == 0;
            if (state[i] == 1 && now() - t0[i] > max_open)
                max_open = now() - t0[i];
            close(pf[i].fd);
        }
    if (max_life > max_open)
        max_open = max_life;
    printf("{\"attack\":\"%s\",\"count\":%u,\"opened\":%u,\"connected\":%u,\"connect_failed\":%u,"
           "\"still_connecting\":%u,\"prefix_sent\":%u,\"closed_by_server\":%u,"
           "\"max_life_s\":%.3f,\"max_open_s\":%.3f,\"mean_life_s\":%.3f,\"open_at_end\":%u,"
           "\"hold_s\":%u}\n",
           name, o.count, opened, connected, failed, connecting, sent, closed, max_life, max_open,
           closed ? sum_life / closed : 0.0, left, o.hold);
    free(pf);
    free(t0);
    free(state);
    return 0;
}

/* ---- slowloris: TLS up, then the headers one byte a second ------------------------ */

struct slow {
    SSL *s;
    int fd;
    double t0;
};

/* Opens slot i: TLS, then the start of a request whose headers never end. */
static int slow_open(struct slow *w, unsigned i)
{
    static const char head[] = "GET /api/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

    w->t0 = now();
    w->s = tls_open(i, &w->fd);
    if (!w->s || write_all(w->s, head, sizeof(head) - 1)) {
        tls_close(w->s, w->fd);
        w->s = NULL;
        w->fd = -1;
        return -1;
    }
    fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* Method: keep count connections trickling until hold seconds have
 * passed: every connection the server closes (or answers) is counted with
 * the time it lived and opened again (at most four times a second, so a
 * refusing server is not hammered); one header byte a second on each. */
static int run_slowloris(void)
{
    struct slow *w = calloc(o.count, sizeof(*w));
    struct pollfd *pf = calloc(o.count, sizeof(*pf));
    double start = now(), max_life = 0, max_open = 0, next = start + 1.0, reopen = start;
    unsigned i, up = 0, refused = 0, closed = 0, answered = 0, left = 0, bytes = 0;

    if (!w || !pf)
        return 1;
    for (i = 0; i < o.count; i++)
        w[i].fd = -1;
    o.tmo_ms = 2000;
    while (now() - start < o.hold) {
        int n;

        if (now() >= reopen) { /* at most 50 ms of handshakes between two looks at the rest */
            double until = now() + 0.05;

            for (i = 0; i < o.count && now() < until && now() - start < o.hold - 1; i++)
                if (!w[i].s) {
                    if (slow_open(&w[i], i))
                        refused++;
                    else
                        up++;
                }
            reopen = i < o.count && now() - start < o.hold - 1 ? now() : now() + 0.25;
        }
        for (i = 0; i < o.count; i++) {
            pf[i].fd = w[i].fd;
            pf[i].events = POLLIN | POLLRDHUP;
            pf[i].revents = 0;
        }
        n = poll(pf, o.count, 50);
        for (i = 0; n > 0 && i < o.count; i++) {
            char b[512];
            int r;

            if (!pf[i].revents || !w[i].s)
                continue;
            r = SSL_read(w[i].s, b, sizeof(b) - 1);
            if (r > 0) {
                answered++; /* e.g. a 408: counted as closed, we close it */
            } else {
                int e = SSL_get_error(w[i].s, r);

                if (e == SSL_ERROR_WANT_READ && !(pf[i].revents & (POLLHUP | POLLERR | POLLRDHUP)))
                    continue;
            }
            if (now() - w[i].t0 > max_life)
                max_life = now() - w[i].t0;
            closed++;
            tls_close(w[i].s, w[i].fd);
            w[i].s = NULL;
            w[i].fd = -1;
        }
        if (now() >= next) { /* one more header byte on every open connection */
            next += 1.0;
            for (i = 0; i < o.count; i++)
                if (w[i].s && SSL_write(w[i].s, "a", 1) == 1)
                    bytes++;
        }
    }
    for (i = 0; i < o.count; i++)
        if (w[i].s) {
            left++;
            if (now() - w[i].t0 > max_open)
                max_open = now() - w[i].t0;
            tls_close(w[i].s, w[i].fd);
        }
    if (max_life > max_open)
        max_open = max_life;
    printf("{\"attack\":\"slowloris\",\"count\":%u,\"tls_up\":%u,\"refused\":%u,"
           "\"closed_by_server\":%u,\"answered\":%u,\"max_life_s\":%.3f,\"max_open_s\":%.3f,"
           "\"bytes_trickled\":%u,\"open_at_end\":%u,\"hold_s\":%u}\n",
           o.count, up, refused, closed, answered, max_life, max_open, bytes, left, o.hold);
    free(w);
    free(pf);
    return 0;
}

/* ---- upload: release uploads without a valid operator token ----------------------- */

struct upload {
    pthread_t tid;
    unsigned idx;
    int status, before_body;
    uint64_t sent;
    double answer_s;
};

/* Whether an answer is waiting on s (fd): decrypted bytes, or the socket
 * is readable within ms. */
static int readable(SSL *s, int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return SSL_pending(s) > 0 || poll(&p, 1, ms) > 0;
}

/* Method: send the headers and wait up to 2 s for an answer before the
 * first body byte (a gateway that decides on the headers answers then);
 * without one, stream the body in 64 KiB pieces, looking for an answer
 * before each, until it comes, the connection closes, the body is sent or
 * max_s passes. */
static void *upload_main(void *arg)
{
    struct upload *u = arg;
    char hdr[1024], auth[600] = "";
    static uint8_t chunk[65536];
    double t0 = now();
    int fd, ca;
    SSL *s = tls_open(u->idx, &fd);

    u->status = 0;
    if (!s)
        return NULL;
    timeouts(fd, 1000);
    if (!strcmp(o.auth, "bad")) /* the shape of an operator token, but no operator's */
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
                 "0123456789abcdef0123456789abcdef0123456789abcdef");
    else if (strcmp(o.auth, "none"))
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", o.auth);
    snprintf(hdr, sizeof(hdr),
             "POST /api/v1/releases?name=hostile-%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
             "Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n%s\r\n",
             u->idx, o.port, (unsigned long long)o.size, auth);
    if (write_all(s, hdr, strlen(hdr)))
        goto out;
    u->before_body = readable(s, fd, 2000);
    while (!u->before_body && u->sent < o.size && now() - t0 < o.max_s) {
        size_t n = o.size - u->sent < sizeof(chunk) ? (size_t)(o.size - u->sent) : sizeof(chunk);
        int w;

        if (readable(s, fd, 0))
            break;
        w = SSL_write(s, chunk, (int)n);
        if (w > 0) {
            u->sent += (uint64_t)w;
        } else {
            int e = SSL_get_error(s, w);

            if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
                break; /* closed under us: look for the answer it left */
        }
    }
    timeouts(fd, 5000);
    u->status = read_answer(s, &ca);
    u->answer_s = now() - t0;
out:
    tls_close(s, fd);
    return NULL;
}

static int run_upload(void)
{
    struct upload *u = calloc(o.count, sizeof(*u));
    unsigned i;

    if (!u)
        return 1;
    for (i = 0; i < o.count; i++) {
        u[i].idx = i;
        if (pthread_create(&u[i].tid, NULL, upload_main, &u[i]))
            return 1;
    }
    printf("{\"attack\":\"upload\",\"auth\":\"%s\",\"size\":%llu,\"conns\":[",
           strcmp(o.auth, "none") && strcmp(o.auth, "bad") ? "token" : o.auth,
           (unsigned long long)o.size);
    for (i = 0; i < o.count; i++) {
        pthread_join(u[i].tid, NULL);
        printf("%s{\"status\":%d,\"answered_before_body\":%s,\"body_sent\":%llu,\"answer_s\":%.3f}",
               i ? "," : "", u[i].status, u[i].before_body ? "true" : "false",
               (unsigned long long)u[i].sent, u[i].answer_s);
    }
    printf("]}\n");
    free(u);
    return 0;
}

/* ---- mender: auth requests from new identities ------------------------------------- */

/* body: a Mender auth request for a new P-256 key and a random MAC;
 * sig: its signature, base64. 0 or -1. */
static int mender_request(char *body, size_t bcap, char *sig, size_t scap)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[128], mac[6];
    size_t dlen = sizeof(der), off = 0;
    char pem[512], esc[1024], *p;
    long plen;
    int rc = -1, i;

    if (!k || !b || !md || !PEM_write_bio_PUBKEY(b, k) || RAND_bytes(mac, sizeof(mac)) != 1)
        goto out;
    plen = BIO_read(b, pem, sizeof(pem) - 1);
    if (plen <= 0)
        goto out;
    pem[plen] = 0;
    for (p = pem; *p && off + 3 < sizeof(esc); p++) { /* JSON: newlines escaped */
        if (*p == '\n') {
            esc[off++] = '\\';
            esc[off++] = 'n';
        } else {
            esc[off++] = *p;
        }
    }
    esc[off] = 0;
    i = snprintf(body, bcap,
                 "{\"id_data\":\"{\\\"mac\\\":\\\"%02x:%02x:%02x:%02x:%02x:%02x\\\"}\","
                 "\"pubkey\":\"%s\",\"tenant_token\":\"\"}",
                 mac[0] | 2, mac[1], mac[2], mac[3], mac[4], mac[5], esc);
    if (i < 0 || (size_t)i >= bcap)
        goto out;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(md, der, &dlen, (const uint8_t *)body, strlen(body)) != 1 ||
        scap < 4 * ((dlen + 2) / 3) + 1)
        goto out;
    EVP_EncodeBlock((unsigned char *)sig, der, (int)dlen);
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    BIO_free(b);
    EVP_PKEY_free(k);
    return rc;
}

/* Method: one identity after another on a keep-alive connection. A
 * request that gets no answer (the gateway shed the connection) is sent
 * again with the same identity on a new connection after 50 ms, so that
 * count identities reach the gateway unless max_s passes first. */
static int run_mender(void)
{
    unsigned long by[6] = {0}, n429 = 0, none = 0, conns = 0;
    double start = now();
    unsigned i;
    SSL *s = NULL;
    int fd = -1;

    for (i = 0; i < o.count && now() - start < o.max_s; i++) {
        char body[1400], sig[256], req[2048];
        int st = 0, ca = 1;

        if (mender_request(body, sizeof(body), sig, sizeof(sig)))
            return 1;
        snprintf(req, sizeof(req),
                 "POST /api/devices/v1/authentication/auth_requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nX-MEN-Signature: %s\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 sig, strlen(body), body);
        while (!st && now() - start < o.max_s) {
            if (!s) {
                s = tls_open(i, &fd);
                conns++;
            }
            st = s && !write_all(s, req, strlen(req)) ? read_answer(s, &ca) : 0;
            if (ca || !st) {
                tls_close(s, fd);
                s = NULL;
                fd = -1;
            }
            if (!st) {
                none++;
                usleep(50000);
            }
        }
        if (st >= 100 && st < 600)
            by[st / 100]++;
        n429 += st == 429;
    }
    tls_close(s, fd);
    printf("{\"attack\":\"mender\",\"identities\":%u,\"connections\":%lu,\"s2xx\":%lu,"
           "\"s4xx\":%lu,\"s429\":%lu,\"s5xx\":%lu,\"unanswered_tries\":%lu,\"seconds\":%.2f}\n",
           i, conns, by[2], by[4], n429, by[5], none, now() - start);
    return 0;
}

/* ---- framing: requests whose length two parsers could read differently --------------- */

static int run_framing(void)
{
    static const struct {
        const char *name, *req;
    } t[] = {
        {"content_length_and_chunked",
         "POST /api/v1/device/checkin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"two_content_lengths",
         "POST /api/v1/device/checkin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
         "Content-Length: 4\r\n\r\n{}{}"},
        {"http11_without_host", "GET /api/v1/whoami HTTP/1.1\r\n\r\n"},
    };
    size_t i;

    printf("{\"attack\":\"framing\",\"cases\":{");
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int fd, ca, st = 0;
        SSL *s = tls_open((unsigned)i, &fd);

        if (s && !write_all(s, t[i].req, strlen(t[i].req)))
            st = read_answer(s, &ca);
        tls_close(s, fd);
        printf("%s\"%s\":%d", i ? "," : "", t[i].name, st);
    }
    printf("}}\n");
    return 0;
}

/* ---- options -------------------------------------------------------------------------- */

static int parse_src(const char *v)
{
    char buf[512], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", v);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        struct in_addr a, b;
        uint32_t x;

        if (dash)
            *dash = 0;
        if (inet_pton(AF_INET, tok, &a) != 1 || (dash && inet_pton(AF_INET, dash + 1, &b) != 1))
            return -1;
        if (!dash)
            b = a;
        for (x = ntohl(a.s_addr); x <= ntohl(b.s_addr); x++) {
            if (o.nsrc == MAX_SRC || (x >> 24) != 127)
                return -1; /* loopback only */
            o.src[o.nsrc++].s_addr = htonl(x);
        }
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: hostile silent|hello|slowloris|upload|mender|framing --port P\n"
                    "       [--host 127.0.0.1] [--src A[,B|A-B]] [--count N] [--hold S]\n"
                    "       [--size BYTES] [--auth none|bad|TOKEN] [--max-s S]\n");
    return 2;
}

static int num(const char *s, uint64_t max, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end || !*s || *v > max ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *a = argc > 1 ? argv[1] : "";
    struct rlimit rl;
    uint64_t v;
    int i, bad = 0;

    for (i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *val = argv[i + 1];

        if (!strcmp(k, "--host"))
            o.host = val;
        else if (!strcmp(k, "--src"))
            bad |= parse_src(val);
        else if (!strcmp(k, "--auth"))
            o.auth = val;
        else if (!strcmp(k, "--size"))
            bad |= num(val, 1ull << 40, &o.size);
        else if (!num(val, 1ull << 31, &v) && !strcmp(k, "--port") && v && v < 65536)
            o.port = (unsigned)v;
        else if (!num(val, MAX_CONNS, &v) && !strcmp(k, "--count"))
            o.count = (unsigned)v;
        else if (!num(val, 600, &v) && !strcmp(k, "--hold"))
            o.hold = (unsigned)v;
        else if (!num(val, 600, &v) && !strcmp(k, "--max-s"))
            o.max_s = (unsigned)v;
        else
            bad = 1;
    }
    if (bad || i != argc || !o.port || !o.count)
        return usage();
    if (strcmp(o.host, "127.0.0.1") && strncmp(o.host, "127.", 4))
        return usage(); /* loopback only */
    signal(SIGPIPE, SIG_IGN); /* a write to a connection the gateway closed is an answer */
    /* many sockets: the soft fd limit up to the hard one */
    if (!getrlimit(RLIMIT_NOFILE, &rl)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    o.ctx = SSL_CTX_new(TLS_client_method());
    if (!o.ctx)
        return 1;
    SSL_CTX_set_verify(o.ctx, SSL_VERIFY_NONE, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(a, "silent"))
        return run_stall(NULL, 0, "silent");
    if (!strcmp(a, "hello")) {
        uint8_t h[2048];
        size_t n = half_hello(h, sizeof(h));

        return n ? run_stall(h, n, "hello") : 1;
    }
    if (!strcmp(a, "slowloris"))
        return run_slowloris();
    if (!strcmp(a, "upload"))
        return o.auth ? run_upload() : usage();
    if (!strcmp(a, "mender"))
        return run_mender();
    if (!strcmp(a, "framing"))
        return run_framing();
    return usage();
}
