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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "bulwark/core.h"
#include "gw.h"
#include "host.h"
#include "http.h"

#define MAX_DB_HANDLES 512

struct gw_server {
    struct gw_conf conf;
    struct MHD_Daemon *mhd;
    char *cert, *key, *ca;
    const struct gw_db_ops *db_ops;
    const char *db_conninfo;
    pthread_key_t db_key;
    pthread_mutex_t lock; /* guards handles[] and the access log */
    void *handles[MAX_DB_HANDLES];
    size_t n_handles;
    FILE *log;
    /* the access log is written through a 64 KiB buffer and flushed by
     * this thread every LOG_FLUSH_MS and at shutdown: a line costs no
     * system call of its own */
    pthread_t flusher;
    pthread_cond_t flush_cv;
    int flusher_on, stopping;
    uint16_t port;
};

#define LOG_FLUSH_MS 500

/* One request in flight. */
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
    char cn[GW_ID_MAX + 1];
};

const struct gw_conf *gw_server_conf(const struct gw_server *s)
{
    return &s->conf;
}

uint16_t gw_server_port(const struct gw_server *s)
{
    return s->port;
}

bw_err gw_db(struct gw_server *s, const struct gw_db_ops **ops, void **ctx)
{
    void *h = pthread_getspecific(s->db_key);
    bw_err rc;

    *ops = s->db_ops;
    if (!h) {
        rc = s->db_ops->open(s->db_conninfo, &h);
        if (rc)
            return rc;
        pthread_mutex_lock(&s->lock);
        if (s->n_handles == MAX_DB_HANDLES) {
            pthread_mutex_unlock(&s->lock);
            s->db_ops->close(h);
            return BW_E_NOMEM;
        }
        s->handles[s->n_handles++] = h;
        pthread_mutex_unlock(&s->lock);
        pthread_setspecific(s->db_key, h);
    }
    *ctx = h;
    return BW_OK;
}

int gw_host_ok(const char *h)
{
    size_t i;

    if (!h || !*h || strlen(h) > 255)
        return 0;
    for (i = 0; h[i]; i++) {
        char c = h[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
            return 0;
    }
    return 1;
}

const char *gw_header(const struct gw_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

const char *gw_query_arg(const struct gw_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

void gw_json(struct gw_resp *r, int status, char *json)
{
    r->status = status;
    r->body = json;
    r->body_len = json ? strlen(json) : 0;
    r->content_type = "application/json";
}

void gw_error(struct gw_resp *r, int status, const char *code, const char *msg)
{
    char *b = NULL;
    size_t n = strlen(msg) * 6 + strlen(code) + 64, o;
    const char *p;

    b = malloc(n);
    if (!b) {
        r->status = status;
        return;
    }
    o = (size_t)snprintf(b, n, "{\"error\":\"%s\",\"message\":\"", code);
    for (p = msg; *p && o + 8 < n; p++) {
        unsigned char ch = (unsigned char)*p;

        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(b + o, n - o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(b + o, n - o, "\\u%04x", ch);
        else
            b[o++] = (char)ch;
    }
    snprintf(b + o, n - o, "\"}");
    gw_json(r, status, b);
}

/* Checks the client certificate against the device CA: CN and SHA-256
 * fingerprint of a chain that verifies now, or nothing. */
static void client_identity(struct MHD_Connection *c, struct gw_req *q)
{
    const union MHD_ConnectionInfo *ci;
    const gnutls_datum_t *peers;
    gnutls_x509_crt_t crt;
    unsigned int status = 1, n = 0;
    size_t cnlen = sizeof(q->client_cn);
    uint8_t fpr[BW_SHA256_LEN];

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    peers = gnutls_certificate_get_peers(ci->tls_session, &n);
    if (!peers || n == 0)
        return;
    if (gnutls_certificate_verify_peers2(ci->tls_session, &status) != GNUTLS_E_SUCCESS ||
        status != 0)
        return;
    if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
        return;
    if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
        gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, q->client_cn,
                                      &cnlen) == GNUTLS_E_SUCCESS &&
        bw_sha256(peers[0].data, peers[0].size, fpr) == BW_OK) {
        bw_hex(q->client_fpr, fpr, sizeof(fpr));
        q->client_verified = 1;
    } else {
        q->client_cn[0] = 0;
    }
    gnutls_x509_crt_deinit(crt);
}

/* What one TLS connection proved about its client, worked out at its
 * first request: the chain check costs more than the rest of a poll, and
 * a TLS 1.3 connection cannot change its client certificate (GnuTLS
 * refuses renegotiation here). Revocation is still checked per request,
 * in the registry. */
struct connctx {
    int checked;
    int verified;
    char cn[GW_ID_MAX + 1];
    char fpr[65];
    struct gw_session session;
};

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(struct connctx));
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
}

/* The client's identity, from the connection's cache or checked now. */
static void connection_identity(struct MHD_Connection *c, struct gw_req *q)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct connctx *cc = ci ? ci->socket_context : NULL;

    q->session = cc ? &cc->session : NULL;
    if (cc && cc->checked) {
        q->client_verified = cc->verified;
        memcpy(q->client_cn, cc->cn, sizeof(q->client_cn));
        memcpy(q->client_fpr, cc->fpr, sizeof(q->client_fpr));
        return;
    }
    client_identity(c, q);
    if (cc) {
        cc->verified = q->client_verified;
        memcpy(cc->cn, q->client_cn, sizeof(cc->cn));
        memcpy(cc->fpr, q->client_fpr, sizeof(cc->fpr));
        cc->checked = 1;
    }
}

static void access_log(struct gw_server *s, struct MHD_Connection *c, const char *method,
                       const char *url, struct reqctx *rc)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[64] = "-";
    struct timespec ts;

    if (!s->log)
        return;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  addr, sizeof(addr));
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&s->lock);
    fprintf(s->log, "{\"time\":%lld.%03ld,\"remote\":\"%s\",\"method\":", (long long)ts.tv_sec,
            ts.tv_nsec / 1000000, addr);
    gw_json_string(s->log, method);
    fputs(",\"path\":", s->log);
    gw_json_string(s->log, url);
    fprintf(s->log, ",\"status\":%d,\"bytes_in\":%zu,\"ms\":%.1f,\"client\":", rc->status,
            rc->len + (size_t)rc->upload_len, (bw_now() - rc->start) * 1e3);
    gw_json_string(s->log, rc->cn);
    fputs("}\n", s->log);
    pthread_mutex_unlock(&s->lock);
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

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct reqctx *rc = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (!rc)
        return;
    if (rc->upload_fd >= 0)
        close(rc->upload_fd);
    if (rc->upload_path[0])
        unlink(rc->upload_path);
    free(rc->body);
    free(rc);
    *con_cls = NULL;
}

/* A file answer read in FILE_BLOCK pieces. libmicrohttpd's own file
 * answers read 4 KiB at a time over TLS (no sendfile there), so each
 * piece became its own small TLS record and system call; a larger block
 * lets GnuTLS send full 16 KiB records. */
#define FILE_BLOCK (256 * 1024)

struct file_body {
    int fd;
    uint64_t off;
};

static ssize_t file_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct file_body *f = cls;
    ssize_t n;

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
    free(f);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct gw_resp *r)
{
    struct MHD_Response *mr;
    enum MHD_Result ret;

    if (r->fd >= 0) {
        struct file_body *f = malloc(sizeof(*f));

        if (!f)
            return MHD_NO;
        f->fd = r->fd;
        f->off = r->fd_off;
        r->fd = -1; /* file_free closes it */
        mr = MHD_create_response_from_callback(r->fd_len, FILE_BLOCK, file_read, f, file_free);
        if (!mr) {
            file_free(f);
            return MHD_NO;
        }
    } else {
        mr = MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (char *)"",
                                             r->body ? MHD_RESPMEM_MUST_FREE
                                                     : MHD_RESPMEM_PERSISTENT);
        r->body = NULL;
    }
    if (!mr)
        return MHD_NO;
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
    if (r->csp) {
        MHD_add_response_header(mr, "Content-Security-Policy", r->csp);
        MHD_add_response_header(mr, "X-Frame-Options", "DENY");
        MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(mr, "Cross-Origin-Opener-Policy", "same-origin");
    }
    ret = MHD_queue_response(c, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

/* Streams a release upload into a temporary file under blob_dir/tmp. */
static int is_upload(const char *method, const char *url)
{
    return !strcmp(method, "POST") && !strcmp(url, "/api/v1/releases");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_len, void **con_cls)
{
    struct gw_server *s = cls;
    struct reqctx *rc = *con_cls;
    struct gw_resp r;
    struct gw_req q;
    enum MHD_Result ret;

    (void)version;
    if (!rc) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t want = 0;

        rc = calloc(1, sizeof(*rc));
        if (!rc)
            return MHD_NO;
        rc->upload_fd = -1;
        rc->start = bw_now();
        *con_cls = rc;
        if (cl && bw_parse_u64(cl, &want) == BW_OK &&
            want > (is_upload(method, url) ? s->conf.max_upload : s->conf.max_body))
            rc->too_big = 1;
        if (is_upload(method, url) && !rc->too_big) {
            snprintf(rc->upload_path, sizeof(rc->upload_path), "%.4000s/tmp/upload-XXXXXX",
                     s->conf.blob_dir);
            rc->upload_fd = mkstemp(rc->upload_path);
            if (rc->upload_fd < 0)
                rc->upload_path[0] = 0;
        }
        return MHD_YES;
    }
    if (*data_len) {
        size_t n = *data_len;

        *data_len = 0;
        if (rc->too_big)
            return MHD_YES; /* drain, answer 413 at the end */
        if (rc->upload_fd >= 0) {
            if (rc->upload_len + n > s->conf.max_upload) {
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
        if (rc->len + n > s->conf.max_body) {
            rc->too_big = 1;
            return MHD_YES;
        }
        if (rc->len + n > rc->cap) {
            size_t cap = rc->cap ? rc->cap : 4096;
            uint8_t *nb;

            while (cap < rc->len + n)
                cap *= 2;
            nb = realloc(rc->body, cap);
            if (!nb)
                return MHD_NO;
            rc->body = nb;
            rc->cap = cap;
        }
        memcpy(rc->body + rc->len, data, n);
        rc->len += n;
        return MHD_YES;
    }

    memset(&r, 0, sizeof(r));
    r.fd = -1;
    memset(&q, 0, sizeof(q));
    q.method = method;
    q.path = url;
    q.body = rc->body;
    q.body_len = rc->len;
    q.conn = c;
    q.srv = s;
    q.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    q.range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    q.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    q.if_range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
    q.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (rc->upload_fd >= 0) {
        if (fsync(rc->upload_fd) == 0) {
            q.upload_path = rc->upload_path;
            q.upload_len = rc->upload_len;
        }
    }
    connection_identity(c, &q);
    snprintf(rc->cn, sizeof(rc->cn), "%s", q.client_cn);

    if (rc->too_big)
        gw_error(&r, 413, "too_big", "request body exceeds the configured limit");
    else if (strlen(url) > 1024 || strstr(url, "/../") || strstr(url, "//"))
        gw_error(&r, 400, "bad_path", "malformed path");
    else if (!gw_api_public(&q, &r) && !gw_api_device(&q, &r) && !gw_api_operator(&q, &r) &&
             !gw_api_ddi(&q, &r) && !gw_api_mender(&q, &r) && !gw_api_dashboard(&q, &r))
        gw_error(&r, 404, "not_found", "no such resource");
    if (!r.status)
        gw_error(&r, 500, "internal", "handler gave no answer");
    rc->status = r.status;
    access_log(s, c, method, url, rc);
    ret = send_resp(c, &r);
    free(r.body);
    if (r.fd >= 0)
        close(r.fd);
    return ret;
}

static char *slurp(const char *path)
{
    uint8_t *b = NULL;
    size_t n;
    char *s;

    if (bw_read_file(path, 1 << 20, &b, &n))
        return NULL;
    s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = 0;
    }
    bw_wipe(b, n);
    bw_free(b);
    return s;
}

static void close_handle(void *h)
{
    (void)h; /* closed at shutdown from the list, so one thread closes all */
}

bw_err gw_server_start(struct gw_server **out, const struct gw_conf *conf)
{
    struct gw_server *s;
    struct sockaddr_in sa;
    char host[256], *colon, tmpdir[GW_PATH_MAX + 8];
    const union MHD_DaemonInfo *di;
    uint64_t port;
    bw_err rc;

    s = calloc(1, sizeof(*s));
    if (!s)
        return BW_E_NOMEM;
    s->conf = *conf;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->flush_cv, NULL);
    pthread_key_create(&s->db_key, close_handle);
    rc = gw_db_pick(conf->database, &s->db_ops, &s->db_conninfo);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: database: unknown kind '%s'\n", conf->database);
        goto fail;
    }
    {
        /* the schema, once, before the first request */
        const struct gw_db_ops *ops;
        void *h;

        rc = gw_db(s, &ops, &h);
        if (!rc)
            rc = ops->migrate(h);
        if (rc) {
            fprintf(stderr, "bulwark-gateway: database %s: %s\n", conf->database,
                    h ? ops->error(h) : bw_strerror(rc));
            goto fail;
        }
    }
    rc = gw_mender_keys(conf->mender_key);
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
    s->cert = slurp(conf->tls_cert);
    s->key = slurp(conf->tls_key);
    s->ca = slurp(conf->client_ca);
    if (!s->cert || !s->key || !s->ca) {
        fprintf(stderr, "bulwark-gateway: cannot read %s\n",
                !s->cert ? conf->tls_cert : !s->key ? conf->tls_key : conf->client_ca);
        rc = BW_E_IO;
        goto fail;
    }
    if (!strcmp(conf->access_log, "-")) {
        int fd = dup(STDERR_FILENO); /* its own buffer, not stderr's none */

        s->log = fd < 0 ? NULL : fdopen(fd, "a");
        if (!s->log && fd >= 0)
            close(fd);
    } else {
        s->log = fopen(conf->access_log, "a");
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
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || bw_parse_u64(colon + 1, &port) ||
        port > 65535) {
        fprintf(stderr, "bulwark-gateway: listen: not an IPv4 ADDRESS:PORT: %s\n", conf->listen);
        rc = BW_E_INVAL;
        goto fail;
    }
    sa.sin_port = htons((uint16_t)port);
    s->mhd = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO,
        0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key,
        MHD_OPTION_HTTPS_MEM_TRUST, s->ca, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)conf->threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)conf->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        completed, s, MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s, MHD_OPTION_END);
    if (!s->mhd) {
        fprintf(stderr, "bulwark-gateway: cannot listen on %s (in use, or bad TLS files)\n",
                conf->listen);
        rc = BW_E_IO;
        goto fail;
    }
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
    size_t i;

    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->flusher_on) {
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        pthread_cond_signal(&s->flush_cv);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->flusher, NULL);
    }
    for (i = 0; i < s->n_handles; i++)
        s->db_ops->close(s->handles[i]);
    if (s->log)
        fclose(s->log);
    free(s->cert);
    if (s->key)
        bw_wipe(s->key, strlen(s->key));
    free(s->key);
    free(s->ca);
    pthread_key_delete(s->db_key);
    pthread_cond_destroy(&s->flush_cv);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void gw_json_string(FILE *f, const char *s)
{
    flockfile(f);
    putc_unlocked('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\') {
            putc_unlocked('\\', f);
            putc_unlocked((int)ch, f);
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(f, "\\u%04x", ch);
        } else {
            putc_unlocked((int)ch, f);
        }
    }
    putc_unlocked('"', f);
    funlockfile(f);
}
