/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTPS server: libmicrohttpd (HTTP/1.1, keep-alive, a thread pool on
 * epoll) with GnuTLS, TLS 1.2/1.3 only, client certificates requested and
 * verified against the device CA. Bodies are capped before they are read
 * (413), release uploads are streamed to a temporary file, every request
 * is written to a JSON-lines access log. Handlers never see a socket.
 * Why libmicrohttpd: docs/gateway.md.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "api.h"
#include "bulwark/core.h"
#include "bwh/cryptomode.h"
#include "bwh/host.h"
#include "certcache.h"
#include "delta_build.h"
#include "guard.h"
#include "http.h"
#include "respond.h"
#include "routes.h"

#define GW_TICKET_KEY_LEN 64 /* GnuTLS's session ticket master key */
/* libmicrohttpd's memory pool per connection: the request line and
 * headers are read into it, and the answer's headers are built in it
 * (bodies are not: they pass through the handler in pieces). It is
 * touched as it is used and stays resident while the connection idles,
 * so it is most of an idle keep-alive connection's memory: 64 KiB made
 * 70 KiB per connection, 16 KiB makes 28 KiB (bench/README.md). The
 * largest request header block of the device API is well under 2 KiB (a
 * Mender JWT or a device token with a certificate's CN); a block that does
 * not fit, about 8 KiB and more, is answered 431 by libmicrohttpd
 * (docs/gateway.md, tests/integ/gateway_limits.sh). */
#define GW_CONN_POOL (16 * 1024)
/* verified client chains remembered (certcache.h): entries, and the
 * longest one serves, seconds */
#define GW_CERTCACHE_SLOTS 4096
#define GW_CERTCACHE_TTL 3600

struct gw_server {
    struct gw_state st;  /* what the handlers share: conf, registry, operators, ... */
    int st_on;
    struct MHD_Daemon *mhd;
    char *ca;            /* client_ca as read at start: the CA names sent to clients */
    size_t max_conns;
    pthread_mutex_t lock; /* guards the access log */
    FILE *log;
    /* the access log is written through a 64 KiB buffer and flushed by
     * this thread every LOG_FLUSH_MS and at shutdown: a line costs no
     * system call of its own */
    pthread_t flusher;
    pthread_cond_t flush_cv;
    int flusher_on, stopping;
    uint16_t port;
    /* connection deadlines and caps (guard.c), enforced by the sweeper
     * thread, which shuts down what the guard names */
    struct gw_guard *guard;
    pthread_t sweeper;
    int sweeper_on;
    volatile int sweeper_stop;
    /* TLS material that SIGHUP replaces (gw_server_reload) */
    pthread_rwlock_t tls_lock;
    struct tls_creds *creds;  /* current; older ones are kept until stop */
    gnutls_x509_trust_list_t trust; /* client_ca + client_crl, or NULL: none verifies */
    struct gw_certcache *certs;     /* chains that verified against trust (certcache.h) */
    /* libmicrohttpd's own messages this second (mhd_log) */
    pthread_mutex_t mhd_log_lock;
    time_t mhd_log_window;
    unsigned int mhd_log_lines, mhd_log_dropped;
    /* TLS session tickets (ticket_refresh): the master key of the current
     * rotation period, the registry's, under tls_lock */
    uint8_t ticket[GW_TICKET_KEY_LEN];
    int ticket_on;
    int64_t ticket_period;
    int ticket_warned;
    /* the answer to a device with nothing to do, shared (idle_start) */
    struct MHD_Response *idle;
    char idle_body[GW_IDLE_ANSWER_MAX];
    size_t idle_len;
};

#define LOG_FLUSH_MS 500

/* One request in flight. cn and op are copies of struct gw_req's
 * client_cn and operator_name, of the same size. */
struct reqctx {
    uint8_t *body;
    size_t len, cap;
    int too_big;
    int upload_fd;
    char upload_path[GW_PATH_MAX];
    uint64_t upload_len;
    double start;
    int status;
    uint64_t sent;
    uint64_t reserved; /* upload bytes held in the guard */
    int answered;
    char cn[GW_ID_MAX + 1];
    char op[GW_ID_MAX + 1];
};
_Static_assert(sizeof(((struct reqctx *)0)->cn) == sizeof(((struct gw_req *)0)->client_cn) &&
                   sizeof(((struct reqctx *)0)->op) == sizeof(((struct gw_req *)0)->operator_name),
               "reqctx copies gw_req's names whole");

bw_err gw_server_background(struct gw_server *s)
{
    return gw_dbuild_start(&s->st);
}

uint16_t gw_server_port(const struct gw_server *s)
{
    return s->port;
}

/* The server certificate and key in use. The certificate callback hands
 * GnuTLS pointers into it during a handshake, so a reload never frees the
 * set it replaces: sets are chained and freed when the server stops (a
 * few KiB per SIGHUP). */
struct tls_creds {
    struct tls_creds *older;
    gnutls_pcert_st pcert[8];
    unsigned int n;
    gnutls_privkey_t key;
};

/* GnuTLS's certificate callback (through libmicrohttpd) has no user
 * pointer: the one server of the process publishes its current set here.
 * The gateway's only mutable file-scope state, and why. */
static pthread_rwlock_t creds_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct tls_creds *creds_now;

static int cert_cb(gnutls_session_t ss, const gnutls_datum_t *req_ca, int nreq,
                   const gnutls_pk_algorithm_t *pk, int npk, gnutls_pcert_st **pcert,
                   unsigned int *n, gnutls_privkey_t *key)
{
    int ret = -1;

    (void)ss, (void)req_ca, (void)nreq, (void)pk, (void)npk;
    pthread_rwlock_rdlock(&creds_lock);
    if (creds_now) {
        *pcert = creds_now->pcert;
        *n = creds_now->n;
        *key = creds_now->key;
        ret = 0;
    }
    pthread_rwlock_unlock(&creds_lock);
    return ret;
}

static void creds_free(struct tls_creds *c)
{
    unsigned int i;

    while (c) {
        struct tls_creds *o = c->older;

        for (i = 0; i < c->n; i++)
            gnutls_pcert_deinit(&c->pcert[i]);
        if (c->key)
            gnutls_privkey_deinit(c->key);
        bwh_free(c);
        c = o;
    }
}

/* Reads a PEM chain and its key into a new set. */
static bw_err creds_load(const char *cert_path, const char *key_path, struct tls_creds **out)
{
    uint8_t *cb = NULL, *kb = NULL;
    size_t cn = 0, kn = 0;
    struct tls_creds *c = NULL;
    gnutls_datum_t d;
    bw_err rc;

    *out = NULL;
    rc = bwh_read_file(cert_path, 1 << 20, &cb, &cn);
    if (!rc)
        rc = bwh_read_file(key_path, 1 << 20, &kb, &kn);
    if (rc)
        goto out;
    rc = BW_E_NOMEM;
    c = bwh_calloc(1, sizeof(*c));
    if (!c)
        goto out;
    rc = BW_E_FORMAT;
    c->n = sizeof(c->pcert) / sizeof(c->pcert[0]);
    d.data = cb;
    d.size = (unsigned int)cn;
    if (gnutls_pcert_list_import_x509_raw(c->pcert, &c->n, &d, GNUTLS_X509_FMT_PEM, 0) < 0) {
        c->n = 0;
        goto out;
    }
    d.data = kb;
    d.size = (unsigned int)kn;
    if (gnutls_privkey_init(&c->key) < 0)
        goto out;
    if (gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
        goto out;
    *out = c;
    c = NULL;
    rc = BW_OK;
out:
    creds_free(c);
    if (kb)
        bw_wipe(kb, kn);
    bwh_free(kb);
    bwh_free(cb);
    return rc;
}

/* client_ca and, when configured, client_crl as a trust list, with the
 * EST operational CA (est_ca_cert) beside them: what it issues
 * authenticates devices too. */
static bw_err trust_load(const struct gw_conf *conf, gnutls_x509_trust_list_t *out)
{
    uint8_t *ca = NULL, *crl = NULL, *op = NULL;
    size_t can = 0, crln = 0, opn = 0;
    gnutls_datum_t dca, dcrl, dop;
    gnutls_x509_trust_list_t t = NULL;
    bw_err rc;

    *out = NULL;
    rc = bwh_read_file(conf->client_ca, 1 << 20, &ca, &can);
    if (!rc && conf->client_crl[0])
        rc = bwh_read_file(conf->client_crl, 16 << 20, &crl, &crln);
    if (!rc && conf->est_ca_cert[0])
        rc = bwh_read_file(conf->est_ca_cert, 1 << 20, &op, &opn);
    if (rc)
        goto out;
    rc = BW_E_FORMAT;
    if (gnutls_x509_trust_list_init(&t, 0) < 0) {
        t = NULL;
        goto out;
    }
    dca.data = ca;
    dca.size = (unsigned int)can;
    dcrl.data = crl;
    dcrl.size = (unsigned int)crln;
    if (gnutls_x509_trust_list_add_trust_mem(t, &dca, crl ? &dcrl : NULL, GNUTLS_X509_FMT_PEM,
                                             0, 0) <= 0)
        goto out;
    dop.data = op;
    dop.size = (unsigned int)opn;
    if (op && gnutls_x509_trust_list_add_trust_mem(t, &dop, NULL, GNUTLS_X509_FMT_PEM, 0, 0) <= 0)
        goto out;
    *out = t;
    t = NULL;
    rc = BW_OK;
out:
    if (t)
        gnutls_x509_trust_list_deinit(t, 1);
    bwh_free(ca);
    bwh_free(crl);
    bwh_free(op);
    return rc;
}

/* The SHA-256 fingerprint of the leaf, with the CN already in q: q now
 * names a verified client. */
static void client_verified(struct gw_req *q, const gnutls_datum_t *leaf)
{
    uint8_t fpr[BW_SHA256_LEN];

    if (q->client_cn[0] && bw_sha256(leaf->data, leaf->size, fpr) == BW_OK) {
        bw_hex(q->client_fpr, fpr, sizeof(fpr));
        q->client_verified = 1;
    } else {
        q->client_cn[0] = 0;
    }
}

/* Checks the client certificate: a chain to client_ca that verifies now,
 * is not on client_crl, and whose leaf may be used for TLS client
 * authentication (extended key usage clientAuth, or no EKU at all); then
 * CN and SHA-256 fingerprint. Anything else leaves q unverified. A chain
 * that verified before under the same trust list, and whose certificates
 * are all still valid, is taken from s->certs without the verification
 * (certcache.h): what a resumed session presents is the chain it began
 * with. */
static void client_identity(struct gw_server *s, struct MHD_Connection *c, struct gw_req *q)
{
    const union MHD_ConnectionInfo *ci;
    const gnutls_datum_t *peers;
    gnutls_x509_crt_t chain[8];
    gnutls_typed_vdata_st purpose;
    unsigned int status = 1, n = 0, i, nc = 0;
    size_t cnlen = sizeof(q->client_cn);
    const uint8_t *der[8];
    size_t der_len[8];
    uint8_t key[GW_CERTCACHE_KEY_LEN];
    int keyed = 0;
    uint64_t gen = 0;
    int64_t now = (int64_t)time(NULL), until;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    peers = gnutls_certificate_get_peers(ci->tls_session, &n);
    if (!peers || n == 0)
        return;
    if (n <= 8) {
        for (i = 0; i < n; i++) {
            der[i] = peers[i].data;
            der_len[i] = peers[i].size;
        }
        keyed = gw_certcache_key(der, der_len, n, key) == BW_OK;
        if (keyed && gw_certcache_get(s->certs, key, now, q->client_cn)) {
            client_verified(q, &peers[0]);
            return;
        }
    }
    for (nc = 0; nc < n && nc < 8; nc++) {
        if (gnutls_x509_crt_init(&chain[nc]) != GNUTLS_E_SUCCESS)
            goto out;
        if (gnutls_x509_crt_import(chain[nc], &peers[nc], GNUTLS_X509_FMT_DER) !=
            GNUTLS_E_SUCCESS) {
            nc++;
            goto out;
        }
    }
    memset(&purpose, 0, sizeof(purpose));
    purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
    purpose.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT;
    pthread_rwlock_rdlock(&s->tls_lock);
    gen = gw_certcache_generation(s->certs);
    if (!s->trust ||
        gnutls_x509_trust_list_verify_crt2(s->trust, chain, nc, &purpose, 1, 0, &status, NULL) !=
            GNUTLS_E_SUCCESS)
        status = 1;
    pthread_rwlock_unlock(&s->tls_lock);
    if (status != 0)
        goto out;
    if (gnutls_x509_crt_get_dn_by_oid(chain[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, q->client_cn,
                                      &cnlen) != GNUTLS_E_SUCCESS)
        q->client_cn[0] = 0;
    client_verified(q, &peers[0]);
    if (q->client_verified && keyed && nc == n) {
        until = INT64_MAX;
        for (i = 0; i < nc; i++) {
            time_t t = gnutls_x509_crt_get_expiration_time(chain[i]);

            if (t == (time_t)-1)
                until = 0;
            else if ((int64_t)t < until)
                until = (int64_t)t;
        }
        gw_certcache_put(s->certs, key, gen, now, until, q->client_cn);
    }
out:
    for (i = 0; i < nc; i++)
        gnutls_x509_crt_deinit(chain[i]);
}

/* ,"remote":"ADDRESS","port":N,"tls":"resumed" with an IPv6 address */
#define LOG_PEER_MAX 112

/* What one TLS connection proved about its client, worked out at its
 * first request: the chain check costs more than the rest of a poll, and
 * a TLS 1.3 connection cannot change its client certificate (GnuTLS
 * refuses renegotiation here). Revocation is still checked per request,
 * in the registry. */
struct connctx {
    struct gw_guard_conn guard; /* this connection's phase and deadline */
    int checked;
    int verified;
    char cn[GW_ID_MAX + 1];
    char fpr[65];
    struct gw_session session;
    int authenticated; /* told the guard already (only this connection's thread reads it) */
    int corked;        /* the answer being sent is held in one TLS record (answer_cork) */
    int tcp_open;      /* TCP_CORK taken off the socket once (answer_uncork) */
    /* the access log's fields that stay the same for every request of
     * the connection (remote, port, tls), formatted at its first line */
    char log_peer[LOG_PEER_MAX];
    /* TLS record reads (readahead_start): bytes received, not yet taken */
    int fd;
    int ra_on;
    uint8_t *ra;
    size_t ra_off, ra_len;
};

/*
 * TLS session resumption. Method: GnuTLS issues session tickets (TLS 1.3
 * PSK with (EC)DHE, still forward secret) encrypted with keys it derives
 * from one master key and rotates by itself within a period; the master
 * key is random per tls_ticket_rotate period and kept in the registry, the
 * first instance to need it storing it, so every gateway instance of one
 * registry decrypts the others' tickets. A ticket of an earlier period
 * fails to decrypt and that connection gets a full handshake. A resumed
 * session keeps the client's certificate chain, which is verified again
 * on every connection (connection_identity), and revocation applies to
 * each request as before.
 */
static void ticket_refresh(struct gw_server *s)
{
    const struct gw_db_ops *ops;
    uint8_t cand[GW_TICKET_KEY_LEN], key[GW_TICKET_KEY_LEN];
    char hex[2 * GW_TICKET_KEY_LEN + 1], got[2 * GW_TICKET_KEY_LEN + 1];
    uint64_t rot = s->st.conf.tls_ticket_rotate;
    int64_t period = rot ? (int64_t)time(NULL) / (int64_t)rot : 0;
    void *h;
    bw_err rc;

    if (!rot || (s->ticket_on && period == s->ticket_period))
        return;
    rc = bw_random(cand, sizeof(cand));
    if (!rc) {
        bw_hex(hex, cand, sizeof(cand));
        rc = gw_db(&s->st, &ops, &h);
    }
    if (!rc)
        rc = ops->ticket_key(h, period, hex, got);
    if (!rc)
        rc = bw_unhex(key, sizeof(key), got) ? BW_E_FORMAT : BW_OK;
    if (!rc) {
        pthread_rwlock_wrlock(&s->tls_lock);
        memcpy(s->ticket, key, sizeof(key));
        s->ticket_period = period;
        s->ticket_on = 1;
        pthread_rwlock_unlock(&s->tls_lock);
        s->ticket_warned = 0;
    } else if (!s->ticket_warned) { /* the old key serves until the registry answers */
        fprintf(stderr, "bulwark-gateway: TLS ticket key of period %lld: %s%s\n",
                (long long)period, bw_strerror(rc), s->ticket_on ? "; the former key serves" : "");
        s->ticket_warned = 1;
    }
    bw_wipe(cand, sizeof(cand));
    bw_wipe(key, sizeof(key));
    bw_wipe(hex, sizeof(hex));
    bw_wipe(got, sizeof(got));
}

/* A new connection's TLS session issues and takes tickets under the
 * current key (GnuTLS copies it). */
static void ticket_enable(struct gw_server *s, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ts;
    gnutls_datum_t k;

    if (!s->st.conf.tls_ticket_rotate)
        return;
    ts = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ts || !ts->tls_session)
        return;
    pthread_rwlock_rdlock(&s->tls_lock);
    if (s->ticket_on) {
        k.data = s->ticket;
        k.size = sizeof(s->ticket);
        (void)gnutls_session_ticket_enable_server(ts->tls_session, &k);
    }
    pthread_rwlock_unlock(&s->tls_lock);
}

/*
 * One receive per TLS record. GnuTLS reads a record in two recv(2): its
 * 5-byte header, then the rest, which is what a device poll is (one
 * record of a few hundred bytes); with libmicrohttpd's read that finds
 * nothing after each answer, three calls per poll. From a connection's
 * first request on (the handshake is over), its TLS session reads through
 * readahead_pull: a read GnuTLS asks for that is shorter than RA_CAP
 * receives up to RA_CAP bytes into the connection's buffer and serves
 * the rest of the record from there; longer ones go to the socket as
 * before. Nothing waits in the buffer unseen: libmicrohttpd (edge-
 * triggered epoll) goes on reading a connection until a read says
 * EAGAIN, and this one says so only when the buffer is empty and the
 * socket has nothing. The buffer is allocated at the first request (a
 * connection that never completes one costs nothing more) and freed with
 * the connection.
 */
#define RA_CAP 2048

static ssize_t readahead_pull(gnutls_transport_ptr_t p, void *data, size_t n)
{
    struct connctx *cc = p;
    size_t k;
    ssize_t r;

    if (cc->ra_off == cc->ra_len) {
        if (n >= RA_CAP)
            return recv(cc->fd, data, n, 0);
        r = recv(cc->fd, cc->ra, RA_CAP, 0);
        if (r <= 0)
            return r; /* errno as recv left it: GnuTLS reads it */
        cc->ra_off = 0;
        cc->ra_len = (size_t)r;
    }
    k = cc->ra_len - cc->ra_off;
    if (k > n)
        k = n;
    memcpy(data, cc->ra + cc->ra_off, k);
    cc->ra_off += k;
    return (ssize_t)k;
}

/* GnuTLS's wait for data (only with a receive timeout, which the gateway
 * does not set): what is buffered counts */
static int readahead_wait(gnutls_transport_ptr_t p, unsigned int ms)
{
    struct connctx *cc = p;
    struct pollfd pf = {.fd = cc->fd, .events = POLLIN};

    if (cc->ra_off < cc->ra_len)
        return 1;
    return poll(&pf, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

static void readahead_start(struct MHD_Connection *c, struct connctx *cc)
{
    const union MHD_ConnectionInfo *ts;
    gnutls_transport_ptr_t rp = NULL, sp = NULL;

    if (!cc || cc->ra_on)
        return;
    cc->ra_on = 1; /* tried once; without memory the session reads as before */
    ts = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ts || !ts->tls_session || cc->fd < 0)
        return;
    cc->ra = bwh_malloc(RA_CAP);
    if (!cc->ra)
        return;
    cc->ra_off = cc->ra_len = 0;
    /* the sends keep GnuTLS's own function and libmicrohttpd's descriptor */
    gnutls_transport_get_ptr2(ts->tls_session, &rp, &sp);
    gnutls_transport_set_ptr2(ts->tls_session, cc, sp);
    gnutls_transport_set_pull_function(ts->tls_session, readahead_pull);
    gnutls_transport_set_pull_timeout_function(ts->tls_session, readahead_wait);
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct gw_server *s = cls;
    struct connctx *cc = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        uint8_t addr[16];

        cc = bwh_calloc(1, sizeof(*cc));
        *socket_context = cc;
        if (cc)
            cc->fd = -1;
        if (!cc || !fd) {
            /* no memory to track it: refuse the connection at once */
            if (fd)
                shutdown(fd->connect_fd, SHUT_RDWR);
            return;
        }
        cc->fd = fd->connect_fd;
        gw_guard_addr(ad ? ad->client_addr : NULL, sizeof(struct sockaddr_in6), addr);
        gw_guard_open(s->guard, &cc->guard, fd->connect_fd, addr, bwh_now());
        ticket_enable(s, c);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (cc) {
            gw_guard_close(s->guard, &cc->guard);
            gw_session_clear(&cc->session);
            bwh_free(cc->ra);
        }
        bwh_free(cc);
        *socket_context = NULL;
    }
}

static struct connctx *conn_ctx(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* The client's identity, from the connection's cache or checked now. */
static void connection_identity(struct gw_server *s, struct MHD_Connection *c, struct gw_req *q)
{
    struct connctx *cc = conn_ctx(c);

    q->session = cc ? &cc->session : NULL;
    if (cc && cc->checked) {
        q->client_verified = cc->verified;
        memcpy(q->client_cn, cc->cn, sizeof(q->client_cn));
        memcpy(q->client_fpr, cc->fpr, sizeof(q->client_fpr));
        return;
    }
    client_identity(s, c, q);
    if (cc) {
        cc->verified = q->client_verified;
        memcpy(cc->cn, q->client_cn, sizeof(cc->cn));
        memcpy(cc->fpr, q->client_fpr, sizeof(cc->fpr));
        cc->checked = 1;
    }
}

/*
 * The access log: one JSON line per request, formatted into a buffer on
 * the stack (a line that does not fit, a long path, on the heap) and
 * copied into the log's 64 KiB stdio buffer under s->lock; the flusher
 * thread writes that buffer out every LOG_FLUSH_MS and at shutdown, so a
 * line costs no system call of its own and a crash loses at most the
 * lines of the last LOG_FLUSH_MS (docs/gateway.md). A poll's line used to
 * be printf'd field by field under the lock, with the client's address
 * converted again on every request; the fields that stay the same over a
 * connection are now formatted once per connection (log_peer).
 */
struct logline {
    char *p;
    size_t n, cap;
    int oom;
    char stack[1024];
};

/* room for k more bytes (and a NUL) */
static int ll_room(struct logline *l, size_t k)
{
    size_t cap;
    char *np;

    if (l->oom)
        return 0;
    if (l->n + k < l->cap)
        return 1;
    cap = l->cap * 2;
    while (cap <= l->n + k)
        cap *= 2;
    np = bwh_malloc(cap);
    if (!np) {
        l->oom = 1;
        return 0;
    }
    memcpy(np, l->p, l->n);
    if (l->p != l->stack)
        bwh_free(l->p);
    l->p = np;
    l->cap = cap;
    return 1;
}

static void ll_put(struct logline *l, const char *b, size_t k)
{
    if (ll_room(l, k)) {
        memcpy(l->p + l->n, b, k);
        l->n += k;
    }
}

static void ll_lit(struct logline *l, const char *b)
{
    ll_put(l, b, strlen(b));
}

/* v in decimal, at least width digits (zeros in front) */
static void ll_dec(struct logline *l, uint64_t v, size_t width)
{
    char d[20];
    size_t k = sizeof(d);

    do
        d[--k] = (char)('0' + v % 10);
    while ((v /= 10) && k);
    while (k && sizeof(d) - k < width)
        d[--k] = '0';
    ll_put(l, d + k, sizeof(d) - k);
}

/* s as a JSON string ("" for NULL) */
static void ll_str(struct logline *l, const char *s)
{
    size_t n = s ? strlen(s) : 0, k;

    if (!ll_room(l, n + 2))
        return;
    l->p[l->n++] = '"';
    k = bwh_json_esc(l->p + l->n, l->cap - l->n, s ? s : "", n);
    if (l->n + k + 1 >= l->cap) { /* escapes made it longer: again with room */
        if (!ll_room(l, k + 1))
            return;
        k = bwh_json_esc(l->p + l->n, l->cap - l->n, s ? s : "", n);
    }
    l->n += k;
    l->p[l->n++] = '"';
}

/* the connection's fields of the line: ,"remote":..,"port":..,"tls":.. */
static void log_peer(struct MHD_Connection *c, char out[LOG_PEER_MAX])
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *ti;
    char addr[INET6_ADDRSTRLEN] = "-";
    unsigned port = 0;

    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;

        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
        port = ntohs(a->sin_port);
    } else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ci->client_addr;

        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
        port = ntohs(a->sin6_port);
    }
    /* the client's port names the connection (requests on a kept one share
     * it) and tls how it began: a full or a resumed handshake */
    ti = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    snprintf(out, LOG_PEER_MAX, ",\"remote\":\"%s\",\"port\":%u,\"tls\":\"%s\"", addr, port,
             !ti || !ti->tls_session                      ? "-"
             : gnutls_session_is_resumed(ti->tls_session) ? "resumed"
                                                          : "full");
}

static void access_log(struct gw_server *s, struct MHD_Connection *c, const char *method,
                       const char *url, struct reqctx *rc)
{
    struct connctx *cc = conn_ctx(c);
    struct logline l;
    struct timespec ts;
    char peer[LOG_PEER_MAX];
    double ms;
    uint64_t tenths;

    if (!s->log)
        return;
    l.p = l.stack;
    l.n = 0;
    l.cap = sizeof(l.stack);
    l.oom = 0;
    if (cc && !cc->log_peer[0])
        log_peer(c, cc->log_peer);
    else if (!cc)
        log_peer(c, peer);
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (bwh_now() - rc->start) * 1e3;
    tenths = ms > 0 ? (uint64_t)(ms * 10 + 0.5) : 0;
    ll_lit(&l, "{\"time\":");
    ll_dec(&l, (uint64_t)ts.tv_sec, 1);
    ll_lit(&l, ".");
    ll_dec(&l, (uint64_t)ts.tv_nsec / 1000000, 3);
    ll_lit(&l, cc ? cc->log_peer : peer);
    ll_lit(&l, ",\"method\":");
    ll_str(&l, method);
    ll_lit(&l, ",\"path\":");
    ll_str(&l, url);
    ll_lit(&l, ",\"status\":");
    ll_dec(&l, (uint64_t)(rc->status > 0 ? rc->status : 0), 1);
    ll_lit(&l, ",\"bytes_in\":");
    ll_dec(&l, (uint64_t)rc->len + rc->upload_len, 1);
    ll_lit(&l, ",\"ms\":");
    ll_dec(&l, tenths / 10, 1);
    ll_lit(&l, ".");
    ll_dec(&l, tenths % 10, 1);
    ll_lit(&l, ",\"client\":");
    ll_str(&l, rc->cn);
    if (rc->op[0]) {
        ll_lit(&l, ",\"operator\":");
        ll_str(&l, rc->op);
    }
    ll_lit(&l, "}\n");
    if (!l.oom) {
        pthread_mutex_lock(&s->lock);
        fwrite_unlocked(l.p, 1, l.n, s->log);
        pthread_mutex_unlock(&s->lock);
    }
    if (l.p != l.stack)
        bwh_free(l.p);
}

static void *log_flusher(void *arg)
{
    struct gw_server *s = arg;
    struct timespec ts;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += LOG_FLUSH_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->flush_cv, &s->lock, &ts);
        fflush(s->log);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/*
 * A small answer in one TLS record and one send. libmicrohttpd 0.9.75
 * hands GnuTLS an answer's headers and its body in two calls, which made
 * two TLS records and two sendmsg(2) per device poll. So the gateway
 * corks the session (gnutls_record_cork) before it queues an answer held
 * in memory of at most ANSWER_CORK_MAX bytes, and uncorks it when
 * libmicrohttpd reports the answer complete (completed(), which it calls
 * before any TLS close or the next request's read on the connection):
 * GnuTLS then sends what it buffered as one record. The uncork does not
 * wait: if the socket cannot take a few hundred bytes, the client has
 * left earlier answers unread, and the connection is shut down rather
 * than the thread blocked.
 *
 * libmicrohttpd sets TCP_CORK on the socket before its first answer's
 * headers and never clears it: it pushes each answer out by setting
 * TCP_NODELAY after the body, which flushes a corked socket. That push
 * now comes before GnuTLS's send, so the gateway clears TCP_CORK itself
 * after the first uncork; libmicrohttpd still counts the socket as corked
 * and does not set it again, and every later answer leaves at its send
 * (TCP_NODELAY is on). A poll that waited 200 ms (the kernel's cork
 * timeout) is what this prevents: tests/integ/gateway_limits.sh times
 * polls on one connection.
 */
#define ANSWER_CORK_MAX 8192

static gnutls_session_t tls_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ts =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

    return ts ? ts->tls_session : NULL;
}

static void answer_cork(struct MHD_Connection *c, struct connctx *cc)
{
    gnutls_session_t ts = tls_of(c);

    if (!cc || !ts || cc->corked)
        return;
    gnutls_record_cork(ts);
    cc->corked = 1;
}

static void answer_uncork(struct MHD_Connection *c, struct connctx *cc)
{
    const union MHD_ConnectionInfo *fd;
    gnutls_session_t ts;
    int r;

    if (!cc || !cc->corked)
        return;
    cc->corked = 0;
    ts = tls_of(c);
    if (!ts)
        return;
    r = gnutls_record_uncork(ts, 0);
    fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!fd)
        return;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
        shutdown(fd->connect_fd, SHUT_RDWR);
    } else if (!cc->tcp_open) {
        int off = 0;

        (void)setsockopt(fd->connect_fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
        cc->tcp_open = 1;
    }
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct gw_server *s = cls;
    struct reqctx *rc = *con_cls;
    struct connctx *cc = conn_ctx(c);

    (void)toe;
    answer_uncork(c, cc);
    if (cc)
        gw_guard_done(s->guard, &cc->guard, bwh_now());
    if (!rc)
        return;
    if (rc->reserved)
        gw_guard_upload_release(s->guard, rc->reserved);
    if (rc->upload_fd >= 0)
        close(rc->upload_fd);
    if (rc->upload_path[0])
        unlink(rc->upload_path);
    bwh_free(rc->body);
    bwh_free(rc);
    *con_cls = NULL;
}

/* A file answer read in FILE_BLOCK pieces. libmicrohttpd's own file
 * answers read 4 KiB at a time over TLS (no sendfile there), so each
 * piece became its own small TLS record and system call; a larger block
 * lets GnuTLS send full 16 KiB records. */
#define FILE_BLOCK (256 * 1024)

/* how often a file answer to a device reads the device's status again */
#define FILE_RECHECK_S 2.0

struct file_body {
    int fd;
    uint64_t off;
    struct gw_state *st;
    char device[GW_ID_MAX + 1]; /* "" when not for a device */
    double checked;
};

/* 1 while f's device is still accepted, as of a read at most
 * FILE_RECHECK_S old. A revocation on any instance of the registry thus
 * ends a download in progress too (a device that may not download
 * anything more should not finish this one); a registry that cannot be
 * read ends it as well (fail closed: the device resumes with Range). */
static int file_still_allowed(struct file_body *f)
{
    const struct gw_db_ops *ops;
    struct gw_device *d;
    double now;
    void *h;
    int ok = 0;

    if (!f->device[0])
        return 1;
    now = bwh_now();
    if (now - f->checked < FILE_RECHECK_S)
        return 1;
    d = bwh_malloc(sizeof(*d));
    if (d && !gw_db(f->st, &ops, &h) && !ops->device_get(h, f->device, d) &&
        d->status == GW_DEV_ACCEPTED)
        ok = 1;
    bwh_free(d);
    f->checked = now;
    return ok;
}

static ssize_t file_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct file_body *f = cls;
    ssize_t n;

    if (!file_still_allowed(f))
        return MHD_CONTENT_READER_END_WITH_ERROR;

    do
        n = pread(f->fd, buf, max, (off_t)(f->off + pos));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void file_free(void *cls)
{
    struct file_body *f = cls;

    close(f->fd);
    bwh_free(f);
}

static void add_headers(struct MHD_Response *mr, const struct gw_resp *r, int close_after);

/* 1 when r is the answer to a device with nothing to do, which the
 * server keeps ready as one shared libmicrohttpd response (idle_start). */
static int is_idle_answer(const struct gw_server *s, const struct gw_resp *r, int close_after)
{
    return s->idle && !close_after && r->status == 200 && r->fd < 0 && r->body &&
           r->body_len == s->idle_len && !memcmp(r->body, s->idle_body, s->idle_len) &&
           r->content_type && !strcmp(r->content_type, "application/json") && !r->etag[0] &&
           !r->extra_header[0] && !r->csp;
}

/* The most frequent answer by far, a check-in with nothing to do, built
 * once: its body and headers would otherwise be allocated, copied and
 * freed for every poll. libmicrohttpd counts the references to a response
 * under its own lock, so one response serves every connection and
 * thread; the server drops its reference at stop. Without it (no memory)
 * each answer is built as any other. */
static void idle_start(struct gw_server *s)
{
    struct gw_resp r;

    memset(&r, 0, sizeof(r));
    r.fd = -1;
    r.status = 200;
    r.content_type = "application/json";
    s->idle_len = gw_idle_answer(s->idle_body, s->st.conf.poll_interval);
    if (!s->idle_len)
        return;
    s->idle = MHD_create_response_from_buffer(s->idle_len, s->idle_body, MHD_RESPMEM_PERSISTENT);
    if (s->idle)
        add_headers(s->idle, &r, 0);
}

static enum MHD_Result send_resp(struct gw_server *s, struct MHD_Connection *c,
                                  struct gw_resp *r, int close_after)
{
    struct MHD_Response *mr;
    struct connctx *cc = NULL;
    enum MHD_Result ret;

    if (r->fd < 0 && r->body_len <= ANSWER_CORK_MAX)
        cc = conn_ctx(c);
    if (is_idle_answer(s, r, close_after)) {
        answer_cork(c, cc);
        ret = MHD_queue_response(c, (unsigned)r->status, s->idle);
        if (ret != MHD_YES)
            answer_uncork(c, cc);
        return ret;
    }
    if (r->fd >= 0) {
        struct file_body *f = bwh_malloc(sizeof(*f));

        if (!f)
            return MHD_NO;
        f->fd = r->fd;
        f->off = r->fd_off;
        f->st = &s->st;
        memcpy(f->device, r->device, sizeof(f->device));
        f->checked = bwh_now();
        r->fd = -1; /* file_free closes it */
        mr = MHD_create_response_from_callback(r->fd_len, FILE_BLOCK, file_read, f, file_free);
        if (!mr) {
            file_free(f);
            return MHD_NO;
        }
    } else {
        if (r->body)
            mr = MHD_create_response_from_buffer_with_free_callback(r->body_len, r->body,
                                                                    bwh_free);
        else
            mr = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
        if (mr)
            r->body = NULL; /* the response frees it */
    }
    if (!mr)
        return MHD_NO;
    add_headers(mr, r, close_after);
    answer_cork(c, cc);
    ret = MHD_queue_response(c, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    if (ret != MHD_YES)
        answer_uncork(c, cc);
    return ret;
}

/* The headers of the answer r: its own, and those every answer carries. */
static void add_headers(struct MHD_Response *mr, const struct gw_resp *r, int close_after)
{
    if (r->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->etag[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->extra_header[0]) {
        char name[64];
        const char *colon = strchr(r->extra_header, ':');

        if (colon && (size_t)(colon - r->extra_header) < sizeof(name)) {
            memcpy(name, r->extra_header, (size_t)(colon - r->extra_header));
            name[colon - r->extra_header] = 0;
            MHD_add_response_header(mr, name, colon + 1 + (colon[1] == ' '));
        }
    }
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "Cache-Control", "no-store");
    MHD_add_response_header(mr, "Strict-Transport-Security", "max-age=31536000");
    if (close_after)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->csp) {
        MHD_add_response_header(mr, "Content-Security-Policy", r->csp);
        MHD_add_response_header(mr, "X-Frame-Options", "DENY");
        MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(mr, "Cross-Origin-Opener-Policy", "same-origin");
    }
}

/* The framing headers of a request, counted. */
struct framing {
    unsigned int n_cl, n_te, n_host;
    int cl_differ;
    const char *cl;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (!key)
        return MHD_YES;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (f->n_cl++ && (!value || !f->cl || strcmp(value, f->cl)))
            f->cl_differ = 1;
        f->cl = value;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->n_te++;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_HOST)) {
        f->n_host++;
    }
    return MHD_YES;
}

/* Why the request's framing is ambiguous, or NULL when it is not. Two
 * parsers that disagree on where a request ends (a proxy in front and
 * this server) let one request hide inside another (request smuggling),
 * so anything but one clear length is refused. */
static const char *framing_problem(struct MHD_Connection *c, const char *version,
                                   struct framing *f)
{
    uint64_t n;

    memset(f, 0, sizeof(*f));
    MHD_get_connection_values(c, MHD_HEADER_KIND, framing_header, f);
    if (f->n_te && f->n_cl)
        return "Content-Length together with Transfer-Encoding";
    if (f->cl_differ)
        return "Content-Length given twice with different values";
    if (f->n_cl && (!f->cl || bwh_parse_u64(f->cl, &n)))
        return "Content-Length is not a decimal number";
    if (f->n_te > 1)
        return "Transfer-Encoding given more than once";
    if (f->n_te && strcasecmp(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_TRANSFER_ENCODING),
                              "chunked"))
        return "Transfer-Encoding other than chunked";
    if (f->n_host > 1)
        return "Host given more than once";
    if (!f->n_host && version && !strcmp(version, MHD_HTTP_VERSION_1_1))
        return "HTTP/1.1 request without Host";
    return NULL;
}

/* Logs and sends r for the request in rc. */
static enum MHD_Result answer(struct gw_server *s, struct MHD_Connection *c, const char *method,
                              const char *url, struct reqctx *rc, struct gw_resp *r, int close_after)
{
    struct connctx *cc = conn_ctx(c);
    enum MHD_Result ret;

    if (!r->status)
        gw_error(r, 500, "internal", "handler gave no answer");
    rc->status = r->status;
    rc->answered = 1;
    if (cc)
        gw_guard_answered(s->guard, &cc->guard);
    access_log(s, c, method, url, rc);
    ret = send_resp(s, c, r, close_after);
    bwh_free(r->body);
    r->body = NULL;
    if (r->fd >= 0)
        close(r->fd);
    return ret;
}

static void req_init(struct gw_server *s, struct MHD_Connection *c, const char *method,
                     const char *url, struct gw_req *q, struct gw_resp *r)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    memset(q, 0, sizeof(*q));
    q->method = method;
    q->path = url;
    q->conn = c;
    q->st = &s->st;
}

/* The request headers the handlers read, into q. */
static void req_headers(struct MHD_Connection *c, struct gw_req *q)
{
    q->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    q->range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    q->if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    q->if_range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
    q->host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
}

/* A connection that showed credentials which verified is no longer held
 * to the anonymous caps. */
static void note_identity(struct gw_server *s, struct MHD_Connection *c, struct gw_req *q,
                          struct reqctx *rc)
{
    struct connctx *cc = conn_ctx(c);

    memcpy(rc->op, q->operator_name, sizeof(rc->op)); /* same size, NUL-ended */
    /* once per connection: the guard's lock stays off later polls */
    if (cc && !cc->authenticated &&
        (q->client_verified || q->authenticated || q->role != GW_ROLE_NONE)) {
        gw_guard_authenticated(s->guard, &cc->guard);
        cc->authenticated = 1;
    }
}

/* The first call for a request: its headers are complete, no body byte
 * has been read. Everything that can be refused on the headers is
 * refused here, before the body is accepted: ambiguous framing, a body
 * over its limit, and a release upload without a release manager's
 * token (its body would otherwise reach blob_dir/tmp first). */
static enum MHD_Result request_start(struct gw_server *s, struct MHD_Connection *c,
                                     const char *url, const char *method, const char *version,
                                     void **con_cls)
{
    struct connctx *cc = conn_ctx(c);
    const struct gw_route *rt, *wm = NULL;
    struct reqctx *rc;
    struct framing f;
    struct gw_resp r;
    struct gw_req q;
    const char *bad;
    uint64_t want = 0;
    int upload;

    readahead_start(c, cc);
    rc = bwh_calloc(1, sizeof(*rc));
    if (!rc)
        return MHD_NO;
    rc->upload_fd = -1;
    rc->start = bwh_now();
    *con_cls = rc;
    req_init(s, c, method, url, &q, &r); /* the headers only for an upload, below */
    /* a release upload is streamed to a temporary file under blob_dir/tmp */
    rt = gw_route_match(method, url, &q, &wm);
    upload = rt && wm && (wm->flags & GW_ROUTE_UPLOAD);
    bad = framing_problem(c, version, &f);
    if (!bad && f.cl && bwh_parse_u64(f.cl, &want))
        bad = "Content-Length is not a decimal number";
    if (cc)
        gw_guard_request(s->guard, &cc->guard, 0, rc->start);
    if (bad) {
        gw_error(&r, 400, "bad_framing", bad);
        return answer(s, c, method, url, rc, &r, 1);
    }
    if (!upload) {
        if (want > s->st.conf.max_body) {
            gw_error(&r, 413, "too_big", "request body exceeds the configured limit");
            return answer(s, c, method, url, rc, &r, 1);
        }
        return MHD_YES;
    }
    req_headers(c, &q);
    connection_identity(s, c, &q);
    memcpy(rc->cn, q.client_cn, sizeof(rc->cn)); /* same size, NUL-ended */
    /* the route's credentials, with its refusal (401 or 403, audited) as
     * the whole request would get it */
    if (!gw_route_authorize(wm, &q, &r)) {
        if (r.status < 400)
            gw_error(&r, 403, "forbidden", "release-manager role required");
        gw_route_done(&q);
        note_identity(s, c, &q, rc);
        return answer(s, c, method, url, rc, &r, 1);
    }
    gw_route_done(&q);
    note_identity(s, c, &q, rc);
    if (!f.n_cl) {
        gw_error(&r, 411, "length_required", "a release upload needs Content-Length");
        return answer(s, c, method, url, rc, &r, 1);
    }
    if (want > s->st.conf.max_upload) {
        gw_error(&r, 413, "too_big", "release exceeds max_upload");
        return answer(s, c, method, url, rc, &r, 1);
    }
    if (!gw_guard_upload_reserve(s->guard, want)) {
        gw_error(&r, 503, "busy", "too many release uploads in progress; retry later");
        snprintf(r.extra_header, sizeof(r.extra_header), "Retry-After: 30");
        return answer(s, c, method, url, rc, &r, 1);
    }
    rc->reserved = want;
    if (cc)
        gw_guard_request(s->guard, &cc->guard, 1, rc->start);
    snprintf(rc->upload_path, sizeof(rc->upload_path), "%.4000s/tmp/upload-XXXXXX",
             s->st.conf.blob_dir);
    rc->upload_fd = mkstemp(rc->upload_path);
    if (rc->upload_fd < 0) {
        rc->upload_path[0] = 0;
        gw_error(&r, 500, "io", "cannot create the upload file");
        return answer(s, c, method, url, rc, &r, 1);
    }
    return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_len, void **con_cls)
{
    struct gw_server *s = cls;
    struct reqctx *rc = *con_cls;
    struct gw_resp r;
    struct gw_req q;

    if (!rc)
        return request_start(s, c, url, method, version, con_cls);
    if (rc->answered) {
        *data_len = 0; /* answered on the headers: the body is not read */
        return MHD_YES;
    }
    if (*data_len) {
        size_t n = *data_len;

        *data_len = 0;
        if (rc->too_big)
            return MHD_YES; /* drain, answer 413 at the end */
        if (rc->upload_fd >= 0) {
            /* never more than the declared length the guard reserved */
            if (rc->upload_len + n > rc->reserved) {
                rc->too_big = 1;
                return MHD_YES;
            }
            while (n) {
                ssize_t w = write(rc->upload_fd, data, n);

                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    return MHD_NO;
                data += w;
                n -= (size_t)w;
                rc->upload_len += (uint64_t)w;
            }
            return MHD_YES;
        }
        if (rc->len + n > s->st.conf.max_body) {
            rc->too_big = 1;
            return MHD_YES;
        }
        if (rc->len + n > rc->cap) {
            size_t cap = rc->cap ? rc->cap : 4096;
            uint8_t *nb;

            while (cap < rc->len + n)
                cap *= 2;
            nb = bwh_realloc(rc->body, cap);
            if (!nb)
                return MHD_NO;
            rc->body = nb;
            rc->cap = cap;
        }
        memcpy(rc->body + rc->len, data, n);
        rc->len += n;
        return MHD_YES;
    }

    req_init(s, c, method, url, &q, &r);
    req_headers(c, &q);
    q.body = rc->body;
    q.body_len = rc->len;
    if (rc->upload_fd >= 0) {
        if (fsync(rc->upload_fd) == 0) {
            q.upload_path = rc->upload_path;
            q.upload_len = rc->upload_len;
        }
    }
    connection_identity(s, c, &q);
    memcpy(rc->cn, q.client_cn, sizeof(rc->cn)); /* same size, NUL-ended */

    if (rc->too_big)
        gw_error(&r, 413, "too_big", "request body exceeds the configured limit");
    else if (strlen(url) > 1024 || strstr(url, "/../") || strstr(url, "//"))
        gw_error(&r, 400, "bad_path", "malformed path");
    else
        gw_dispatch(&q, &r);
    note_identity(s, c, &q, rc);
    return answer(s, c, method, url, rc, &r, 0);
}

/* libmicrohttpd's own messages (a client that broke off its handshake, a
 * descriptor limit hit) are one line per event: a hostile client could
 * fill the log disk with them. At most LOG_BURST lines per second reach
 * stderr; the rest are counted and the count is reported. */
#define LOG_BURST 10

/* the format comes from libmicrohttpd, which passes its own literals */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct gw_server *s = cls;
    time_t now = time(NULL);
    int show;

    pthread_mutex_lock(&s->mhd_log_lock);
    if (now != s->mhd_log_window) {
        if (s->mhd_log_dropped)
            fprintf(stderr, "bulwark-gateway: %u more server messages suppressed\n",
                    s->mhd_log_dropped);
        s->mhd_log_window = now;
        s->mhd_log_lines = s->mhd_log_dropped = 0;
    }
    show = s->mhd_log_lines < LOG_BURST;
    if (show)
        s->mhd_log_lines++;
    else
        s->mhd_log_dropped++;
    pthread_mutex_unlock(&s->mhd_log_lock);
    if (show) {
        fputs("bulwark-gateway: ", stderr);
        vfprintf(stderr, fmt, ap);
    }
}
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *sa, socklen_t len)
{
    struct gw_server *s = cls;
    uint8_t addr[16];

    gw_guard_addr(sa, len, addr);
    return gw_guard_admit(s->guard, addr) ? MHD_YES : MHD_NO;
}

/* The guard names a connection past its deadline: shutdown(2) wakes the
 * server's thread on it, which then closes it as for any dead peer. The
 * guard's lock is held, and the server closes the descriptor only after
 * telling the guard (conn_notify), so the number still names it. */
static void shut_fd(void *arg, int fd)
{
    (void)arg;
    shutdown(fd, SHUT_RDWR);
}

static void *sweeper(void *arg)
{
    struct gw_server *s = arg;
    double tuf_at = 0;

    while (!__atomic_load_n(&s->sweeper_stop, __ATOMIC_ACQUIRE)) {
        double now = bwh_now(), next = gw_guard_sweep(s->guard, now);
        struct timespec ts;

        /* the TUF repository's schedule (tuf.c): every 5 s whether the
         * timestamp or snapshot is due, so they are fresh even when no
         * device asks; signing is rare (half a lifetime), checking cheap */
        if (now - tuf_at >= 5.0) {
            tuf_at = now;
            if (gw_tuf_freshen(&s->st, 0) != BW_OK)
                tuf_at = now + 55.0; /* said on stderr: again in a minute */
        }

        ticket_refresh(s); /* a new period's key, when one begins */
        if (next < 0.05)
            next = 0.05;
        if (next > 0.25)
            next = 0.25;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(next * 1e9);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* The connection limit the descriptors allow: each connection is one
 * descriptor, and the registry handles, blobs being sent, the access log
 * and libraries need some of their own. A configured limit above it
 * would let connections exhaust descriptors and stop accept() for
 * everyone, so it is lowered, with a message. */
static size_t connection_limit(const struct gw_conf *conf)
{
    struct rlimit rl;
    uint64_t want = conf->max_connections, reserve = 64 + 3 * conf->threads, room;

    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return (size_t)want;
    room = rl.rlim_cur > reserve + 16 ? (uint64_t)rl.rlim_cur - reserve : 16;
    if (want > room) {
        fprintf(stderr,
                "bulwark-gateway: max_connections %" PRIu64 " lowered to %" PRIu64
                " (open-file limit %" PRIu64 "; raise it with ulimit -n or LimitNOFILE)\n",
                want, room, (uint64_t)rl.rlim_cur);
        want = room;
    }
    return (size_t)want;
}

bw_err gw_server_reload(struct gw_server *s)
{
    const struct gw_conf *conf = &s->st.conf;
    struct tls_creds *nc = NULL;
    gnutls_x509_trust_list_t nt = NULL, old = NULL;
    bw_err rc, ret = BW_OK;

    rc = creds_load(conf->tls_cert, conf->tls_key, &nc);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: reload: %s / %s: %s; the server keeps its old "
                        "certificate\n", conf->tls_cert, conf->tls_key, bw_strerror(rc));
        ret = rc;
    } else {
        pthread_rwlock_wrlock(&creds_lock);
        nc->older = creds_now;
        creds_now = nc;
        s->creds = nc;
        pthread_rwlock_unlock(&creds_lock);
    }
    rc = trust_load(conf, &nt);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: reload: %s%s%s: %s; no client certificate is "
                        "accepted until a reload succeeds\n", conf->client_ca,
                conf->client_crl[0] ? " / " : "", conf->client_crl, bw_strerror(rc));
        ret = ret ? ret : rc;
    }
    pthread_rwlock_wrlock(&s->tls_lock);
    old = s->trust;
    s->trust = nt; /* NULL when the load failed: fail closed */
    gw_certcache_new_generation(s->certs); /* chains verified under old miss */
    pthread_rwlock_unlock(&s->tls_lock);
    if (old)
        gnutls_x509_trust_list_deinit(old, 1);
    rc = gw_operators_reload(&s->st, conf->operator_tokens);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: reload: %s: no operator can log in until a reload "
                        "succeeds\n", conf->operator_tokens);
        ret = ret ? ret : rc;
    }
    return ret;
}

static char *slurp(const char *path)
{
    uint8_t *b = NULL;
    size_t n;
    char *s;

    if (bwh_read_file(path, 1 << 20, &b, &n))
        return NULL;
    s = bwh_malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = 0;
    }
    bw_wipe(b, n);
    bwh_free(b);
    return s;
}

/*
 * The server's TLS priorities: the crypto mode's (bwh_crypto_gnutls_priority)
 * with, under tls_prefer_aes128, AES-128-GCM moved ahead of AES-256-GCM
 * (and, in the default mode, of ChaCha20-Poly1305) and the server's order
 * deciding. A resumed TLS 1.3 check-in with TLS_AES_256_GCM_SHA384, what
 * OpenSSL clients ask for first, spent about a quarter of the gateway's CPU
 * in nettle's SHA-512 compression (the key schedule and transcript hashes
 * over a ClientHello that carries the ticket, which holds the client's
 * chain); SHA-256 runs on the CPU's SHA extensions. AES-128-GCM is the
 * suite TLS 1.3 requires of everyone and is approved in crypto_mode =
 * approved; a client that offers only AES-256 still gets it. GnuTLS's "+"
 * appends, so the suites ahead are removed and appended again. The
 * server's order also decides the key-share group then, and GnuTLS's
 * NORMAL lists P-256 first: a client that sent an X25519 share (OpenSSL's
 * default) was asked again for P-256 (a HelloRetryRequest, and P-256 in
 * nettle), which made a resumed check-in eight times dearer; so X25519
 * comes first, then the NIST curves. In the approved mode the groups stay
 * P-256 and P-384.
 */
static void tls_priorities(const struct gw_conf *conf, char *buf, size_t cap)
{
    const char *base = bwh_crypto_gnutls_priority();

    if (!conf->tls_prefer_aes128)
        snprintf(buf, cap, "%s", base);
    else if (bwh_crypto_mode() == BWH_CRYPTO_APPROVED)
        snprintf(buf, cap, "%s:-AES-256-GCM:+AES-256-GCM:%%SERVER_PRECEDENCE", base);
    else
        snprintf(buf, cap,
                 "%s:-AES-256-GCM:-CHACHA20-POLY1305:+AES-256-GCM:+CHACHA20-POLY1305:"
                 "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:"
                 "+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:"
                 "+GROUP-FFDHE6144:+GROUP-FFDHE8192:%%SERVER_PRECEDENCE",
                 base);
}

bw_err gw_server_start(struct gw_server **out, const struct gw_conf *conf)
{
    struct gw_server *s;
    struct sockaddr_in sa;
    char host[256], *colon, tmpdir[GW_PATH_MAX + 8], prio[1024];
    const union MHD_DaemonInfo *di;
    uint64_t port;
    bw_err rc;

    s = bwh_calloc(1, sizeof(*s));
    if (!s)
        return BW_E_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->mhd_log_lock, NULL);
    pthread_cond_init(&s->flush_cv, NULL);
    pthread_rwlock_init(&s->tls_lock, NULL);
    rc = gw_state_init(&s->st, conf);
    s->st_on = 1;
    if (rc)
        goto fail;
    {
        /* the schema, once, before the first request */
        const struct gw_db_ops *ops;
        void *h;

        h = NULL;
        rc = gw_db(&s->st, &ops, &h);
        if (!rc)
            rc = ops->migrate(h);
        if (rc) {
            fprintf(stderr, "bulwark-gateway: database %s: %s\n", conf->database,
                    h ? ops->error(h) : bw_strerror(rc));
            goto fail;
        }
    }
    rc = gw_mender_keys(&s->st, conf->mender_key);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: mender_key %s: %s (a P-256 private key, PEM)\n",
                conf->mender_key, bw_strerror(rc));
        goto fail;
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", conf->blob_dir);
    if ((mkdir(conf->blob_dir, 0750) && errno != EEXIST) || (mkdir(tmpdir, 0700) && errno != EEXIST)) {
        fprintf(stderr, "bulwark-gateway: %s: %s\n", tmpdir, strerror(errno));
        rc = BW_E_IO;
        goto fail;
    }
    s->ca = slurp(conf->client_ca);
    rc = s->ca ? creds_load(conf->tls_cert, conf->tls_key, &s->creds) : BW_E_IO;
    if (rc) {
        fprintf(stderr, "bulwark-gateway: cannot load %s\n",
                !s->ca ? conf->client_ca : "tls_cert/tls_key (a PEM chain and its key)");
        goto fail;
    }
    rc = trust_load(conf, &s->trust);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: %s%s%s: %s\n", conf->client_ca,
                conf->client_crl[0] ? " / " : "", conf->client_crl, bw_strerror(rc));
        goto fail;
    }
    rc = gw_certcache_new(GW_CERTCACHE_SLOTS, GW_CERTCACHE_TTL, &s->certs);
    if (rc)
        goto fail;
    pthread_rwlock_wrlock(&creds_lock);
    creds_now = s->creds;
    pthread_rwlock_unlock(&creds_lock);
    {
        struct gw_guard_conf gc;

        memset(&gc, 0, sizeof(gc));
        gc.max_conns = connection_limit(conf);
        gc.max_anonymous = conf->max_anonymous ? (size_t)conf->max_anonymous : gc.max_conns * 3 / 4;
        if (gc.max_anonymous > gc.max_conns)
            gc.max_anonymous = gc.max_conns;
        if (!gc.max_anonymous)
            gc.max_anonymous = 1;
        gc.max_per_address = (size_t)conf->max_per_address;
        gc.header_timeout = (double)conf->header_timeout;
        gc.idle_timeout = (double)gw_idle_timeout(conf);
        gc.body_timeout = (double)conf->timeout;
        gc.max_upload_inflight = conf->max_upload_inflight;
        rc = gw_guard_new(&s->guard, &gc, shut_fd, s);
        if (rc)
            goto fail;
        s->max_conns = gc.max_conns;
    }
    if (!strcmp(conf->access_log, "-")) {
        int fd = dup(STDERR_FILENO); /* its own buffer, not stderr's none */

        s->log = fd < 0 ? NULL : fdopen(fd, "a");
        if (!s->log && fd >= 0)
            close(fd);
    } else {
        int fd = open(conf->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

        s->log = fd < 0 ? NULL : fdopen(fd, "a");
        if (!s->log && fd >= 0)
            close(fd);
    }
    if (!s->log) {
        fprintf(stderr, "bulwark-gateway: %s: %s\n", conf->access_log, strerror(errno));
        rc = BW_E_IO;
        goto fail;
    }
    setvbuf(s->log, NULL, _IOFBF, 64 * 1024);
    if (pthread_create(&s->flusher, NULL, log_flusher, s)) {
        rc = BW_E_NOMEM;
        goto fail;
    }
    s->flusher_on = 1;
    snprintf(host, sizeof(host), "%s", conf->listen);
    colon = strrchr(host, ':');
    *colon = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || bwh_parse_u64(colon + 1, &port) ||
        port > 65535) {
        fprintf(stderr, "bulwark-gateway: listen: not an IPv4 ADDRESS:PORT: %s\n", conf->listen);
        rc = BW_E_INVAL;
        goto fail;
    }
    sa.sin_port = htons((uint16_t)port);
    /* Not MHD_USE_TURBO: with it, libmicrohttpd 0.9.75 never timed out a
     * connection whose TLS handshake had not finished, and kept it in
     * CLOSE-WAIT after the client left, until restart (1,100 silent
     * connections took all descriptors). bench/gateway.sh showed no
     * difference in polls/s or CPU per poll between the two, run
     * alternately in one session. The guard's deadlines would also catch
     * such connections now. */
    idle_start(s);
    ticket_refresh(s); /* the first connection resumes a session another instance began */
    tls_priorities(conf, prio, sizeof(prio));
    s->mhd = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        0, accept_policy, s, handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_HTTPS_CERT_CALLBACK, cert_cb, MHD_OPTION_HTTPS_MEM_TRUST, s->ca, MHD_OPTION_HTTPS_PRIORITIES,
        prio, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)conf->threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)gw_idle_timeout(conf),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->max_conns, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GW_CONN_POOL, MHD_OPTION_NOTIFY_COMPLETED,
        completed, s, MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s, MHD_OPTION_END);
    if (!s->mhd) {
        fprintf(stderr, "bulwark-gateway: cannot listen on %s (in use, or bad TLS files)\n",
                conf->listen);
        rc = BW_E_IO;
        goto fail;
    }
    if (pthread_create(&s->sweeper, NULL, sweeper, s)) {
        rc = BW_E_NOMEM;
        goto fail;
    }
    s->sweeper_on = 1;
    di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : (uint16_t)port;
    *out = s;
    return BW_OK;
fail:
    gw_server_stop(s);
    return rc;
}

void gw_server_stop(struct gw_server *s)
{
    if (!s)
        return;
    if (s->sweeper_on) {
        __atomic_store_n(&s->sweeper_stop, 1, __ATOMIC_RELEASE);
        pthread_join(s->sweeper, NULL);
    }
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->idle)
        MHD_destroy_response(s->idle);
    gw_dbuild_stop(&s->st); /* after the last request: none queues any more */
    if (s->flusher_on) {
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        pthread_cond_signal(&s->flush_cv);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->flusher, NULL);
    }
    if (s->st_on)
        gw_state_fini(&s->st);
    if (s->log)
        fclose(s->log);
    pthread_rwlock_wrlock(&creds_lock);
    if (creds_now == s->creds)
        creds_now = NULL;
    pthread_rwlock_unlock(&creds_lock);
    creds_free(s->creds);
    if (s->trust)
        gnutls_x509_trust_list_deinit(s->trust, 1);
    gw_certcache_free(s->certs);
    gw_guard_free(s->guard);
    pthread_rwlock_destroy(&s->tls_lock);
    bwh_free(s->ca);
    pthread_cond_destroy(&s->flush_cv);
    pthread_mutex_destroy(&s->mhd_log_lock);
    pthread_mutex_destroy(&s->lock);
    bwh_free(s);
}
