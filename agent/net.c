/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of the device API over the host library's HTTP client
 * (include/bwh/http.h): mutual TLS with the device certificate, one device
 * token per TLS connection, the package download into a file that survives
 * the cycle. Method: a handle lives across cycles (agent_net_keep) as long
 * as what it was made for stays the same (agent_net_keep's digest: key,
 * certificate file, device id, gateway URL, CA bundle, audience, crypto
 * mode); a renewed or re-enrolled certificate, a new key or another gateway
 * makes a new handle, and the old one's session and connection go with it.
 * Between cycles it keeps the TLS session (keep_connection = no: the next
 * cycle's new connection resumes it, no full handshake) or the connection
 * itself (keep_connection = yes: the next check-in goes out on it, no
 * handshake at all). The token rule (docs/protocol.md): a token the
 * gateway bound to a connection goes only on that connection; it is used
 * there until a quarter of its lifetime is left, then a fresh one is sent
 * on the same connection (the gateway verifies it in full and binds it in
 * place of the old one). A new connection (the first, or one opened after
 * the gateway closed the kept one: seen before the request is sent) gets a
 * fresh token. If the gateway closed the connection in the instant between
 * that look and the request, the token already bound is refused on the
 * new connection as a replay: the request is then sent once more with a
 * fresh token. No redirects (a 3xx is an answer: the agent builds every
 * URL itself). Limits (host/netlimit.c, held by the client): connect and
 * stall timeout (timeout), a low-speed window, a total deadline per
 * request (request_timeout, download_timeout), the header block, the body
 * (BODY_MAX for JSON, the announced size for a package), the receive rate
 * (download_rate). The client key reaches OpenSSL as an in-memory PEM
 * (file key backend only; keys inside PKCS#11 tokens or TPMs need an
 * OpenSSL provider, not yet wired). Kept while the agent waits for the
 * next poll: the TLS context (certificate, key, CA), the session (about
 * 2 KiB with the gateway's certificate) and, with keep_connection, the
 * socket and its TLS state (buffers released while idle).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "agent.h"
#include "bulwark/token.h"
#include "bwh/host.h"
#include "bwh/http.h"
#include "bwh/identity.h"
#include "bwh/tlsclient.h"
#include "net.h"

#define BODY_MAX 65536 /* no answer of the device API is this long */

unsigned agent_net_drop_pct;

/* --drop: 0 send, 1 lose the request, 2 lose the answer */
static int drop_draw(void)
{
    uint32_t r;

    if (!agent_net_drop_pct || bw_random(&r, sizeof(r)))
        return 0;
    if (r % 1000 >= agent_net_drop_pct * 10u)
        return 0;
    return (r >> 16) & 1 ? 2 : 1;
}

struct agent_net {
    const struct agent_conf *c;
    char device_id[AGENT_STR_MAX];
    struct bwh_devkey *key;
    struct bw_signer signer;
    uint8_t pem[1024];
    size_t pem_len;
    char token[BW_TOKEN_MAX + 1];
    int64_t token_exp;
    int token_used; /* the token went out on a connection already */
    uint8_t ident[BW_SHA256_LEN]; /* what the handle was made for (agent_net_keep) */
    uint64_t connects, resumed;   /* connections opened, of them resumed */
    char *body;     /* the last answer's body (JSON, or an error text) */
    size_t len, cap;
    char gateway[AGENT_STR_MAX]; /* https://HOST[:PORT][/PREFIX], without a final '/' */
    SSL_CTX *ctx;
    X509 *crt;      /* with a shared context: this device's certificate ... */
    EVP_PKEY *pkey; /* ... and key, presented on each of its connections */
    struct bwh_http *http;
    struct bwh_net_limits lim;
    char err[320];
    /* download */
    int download;
    int fd;
    uint64_t have, limit, got;
    int first_write;
    /* a range read (agent_net_range): into mem, from byte have on */
    uint8_t *mem;
    uint64_t range_len;
};

static bw_err keep_body(struct agent_net *a, const uint8_t *p, size_t add)
{
    if (a->len + add > BODY_MAX) {
        snprintf(a->err, sizeof(a->err), "answer longer than %d bytes", BODY_MAX);
        return BW_E_TOOBIG;
    }
    if (a->len + add + 1 > a->cap) {
        size_t cap = a->len + add + 1 < BODY_MAX / 2 ? (a->len + add + 1) * 2 : BODY_MAX + 1;
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
 * a download, the body buffer otherwise (JSON, error texts). */
static bw_err sink(void *ctx, long status, uint64_t off, const uint8_t *p, size_t add)
{
    struct agent_net *a = ctx;

    if (!a->download || (status != 200 && status != 206))
        return keep_body(a, p, add);
    if (a->mem) { /* exactly the bytes asked for, or nothing */
        if (status != 206) {
            snprintf(a->err, sizeof(a->err), "the gateway ignores Range");
            return BW_E_UNSUPPORTED;
        }
        if (off != a->have + a->got || add > a->range_len - a->got) {
            snprintf(a->err, sizeof(a->err), "not the range asked for");
            return BW_E_FORMAT;
        }
        memcpy(a->mem + a->got, p, add);
        a->got += add;
        return BW_OK;
    }
    if (a->first_write) {
        a->first_write = 0;
        if (off == 0 && a->have) { /* the whole package came: start over */
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

/* The body cap of a request: the announced size for a package (the client
 * refuses a longer Content-Length before the first byte), BODY_MAX else. */
static void body_cap(struct agent_net *a, struct bwh_net_limits *l)
{
    *l = a->lim;
    l->body_max = a->download && a->limit > BODY_MAX ? a->limit : BODY_MAX;
}

bw_err agent_net_parse_answer(const struct agent_conf *c, const uint8_t *buf, size_t len,
                              int download, int fd, uint64_t size, long *status)
{
    struct agent_net *a = bwh_calloc(1, sizeof(*a));
    struct bwh_net_limits l;
    bw_err rc;

    *status = 0;
    if (!a)
        return BW_E_NOMEM;
    a->c = c;
    a->download = download;
    a->fd = fd;
    a->limit = size;
    a->first_write = 1;
    bwh_net_limits_default(&a->lim);
    a->lim.redirects_max = 0;
    body_cap(a, &l);
    rc = bwh_http_parse(&l, buf, len, 0, sink, a, status, NULL, 0);
    if (!rc && a->len > BODY_MAX)
        rc = BW_E_INVAL; /* cannot happen: keep_body refuses first */
    bwh_free(a->body);
    bwh_free(a);
    return rc;
}

/* gateway = https://HOST[:PORT][/PREFIX], as the HTTP client reads URLs,
 * with no query or fragment: kept without a final '/', since the paths
 * asked for start with one. Never plain http: the token and the device API
 * need TLS. */
static bw_err check_gateway(struct agent_net *a, const char *url)
{
    int https = 0;
    size_t n;

    if (bwh_http_url_check(url, &https) || !https || strpbrk(url, "?#"))
        return BW_E_INVAL;
    if ((size_t)snprintf(a->gateway, sizeof(a->gateway), "%s", url) >= sizeof(a->gateway))
        return BW_E_INVAL;
    n = strlen(a->gateway);
    if (a->gateway[n - 1] == '/')
        a->gateway[n - 1] = 0;
    return BW_OK;
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
    a->token_exp = cl.exp;
    return bw_token_issue(&a->signer, &cl, a->token, sizeof(a->token), &n);
}

/* The configuration of the cycle (a kept handle outlives a reload). */
static void set_conf(struct agent_net *a, const struct agent_conf *c)
{
    a->c = c;
    bwh_net_limits_default(&a->lim);
    a->lim.connect_s = (unsigned)c->timeout;
    a->lim.low_speed_bytes = c->low_speed_limit;
    a->lim.low_speed_s = (unsigned)c->low_speed_time;
    a->lim.redirects_max = 0; /* none followed: a 3xx is an answer */
}

/* With a context shared by many devices (the fleet simulator's: the
 * gateway's CA only), the device's own certificate and key go on each of
 * its connections instead of into a context of its own (about 25 KiB per
 * device less). A certificate file with a chain keeps a context of its
 * own. BW_E_STATE: not possible here, use a context of its own. */
static bw_err use_shared(struct agent_net *a, SSL_CTX *shared, const char *cert)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    BIO *b = NULL;
    X509 *more = NULL;
    bw_err rc = bwh_read_file(cert, 65536, &pem, &len);

    if (rc)
        goto out;
    rc = BW_E_KEY;
    if (!(b = BIO_new_mem_buf(pem, (int)len)) || !(a->crt = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        goto out;
    rc = BW_E_STATE;
    if ((more = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        goto out;
    ERR_clear_error(); /* the end of the file */
    rc = bwh_tls_key_pem(a->pem, a->pem_len, &a->pkey);
    if (rc || SSL_CTX_up_ref(shared) != 1) {
        rc = rc ? rc : BW_E_CRYPTO;
        goto out;
    }
    a->ctx = shared;
    rc = BW_OK;
out:
    X509_free(more);
    BIO_free(b);
    bwh_free(pem);
    if (rc) {
        X509_free(a->crt);
        EVP_PKEY_free(a->pkey);
        a->crt = NULL;
        a->pkey = NULL;
    }
    return rc;
}

static bw_err net_open(struct agent_net **out, const struct agent_conf *c, SSL_CTX *shared,
                       const char *device_key, const char *device_cert, const char *device_id)
{
    struct agent_net *a;
    struct bw_ec_key ec;
    EVP_PKEY *tk = NULL;
    int file;
    bw_err rc;

    *out = NULL;
    bw_ec_key_init(&ec);
    a = bwh_calloc(1, sizeof(*a));
    if (!a)
        return BW_E_NOMEM;
    a->fd = -1;
    set_conf(a, c);
    snprintf(a->device_id, sizeof(a->device_id), "%s", device_id);
    rc = check_gateway(a, c->gateway);
    if (rc)
        fprintf(stderr, "bulwark-agent: gateway %s: not an https://HOST[:PORT] URL\n", c->gateway);
    if (!rc)
        rc = bwh_devkey_open(device_key, &a->key);
    if (!rc)
        rc = bwh_devkey_signer(a->key, &a->signer);
    /* a file key is handed to OpenSSL in memory (its fast path); a key
     * in a token or TPM signs the handshake where it lives */
    file = !rc && !strcmp(bwh_devkey_scheme(a->key), "file");
    if (file)
        rc = bwh_devkey_export_private(a->key, &ec);
    if (file && !rc)
        rc = bw_ec_export(&ec, 1, 1, a->pem, sizeof(a->pem), &a->pem_len);
    bw_ec_key_clear(&ec);
    if (!rc && !file && (rc = bwh_tls_devkey(a->key, &tk)))
        fprintf(stderr, "bulwark-agent: %s key for TLS: %s\n", bwh_devkey_scheme(a->key),
                bw_strerror(rc));
    if (!rc)
        rc = new_token(a);
    if (!rc && shared && file && (rc = use_shared(a, shared, device_cert)) == BW_E_STATE)
        rc = BW_OK; /* a chain: a context of its own below */
    if (!rc && !a->ctx &&
        (rc = bwh_tls_ctx_new(&a->ctx, c->ca_cert, device_cert, file ? a->pem : NULL, a->pem_len,
                              a->err, sizeof(a->err))))
        fprintf(stderr, "bulwark-agent: %s\n", a->err);
    bw_wipe(a->pem, sizeof(a->pem)); /* OpenSSL holds the key now */
    if (!rc && tk && (rc = bwh_tls_ctx_key(a->ctx, tk, a->err, sizeof(a->err))))
        fprintf(stderr, "bulwark-agent: %s\n", a->err);
    EVP_PKEY_free(tk); /* the context holds its own reference */
    if (!rc) {
        struct bwh_http_opts o = {.tls = a->ctx, .stall_s = (unsigned)c->timeout,
                                  .stop = &agent_stopping, .resume = c->tls_resume,
                                  .crt = a->crt, .key = a->pkey};

        rc = bwh_http_new(&a->http, &o);
    }
    if (rc) {
        agent_net_close(a);
        return rc;
    }
    *out = a;
    return BW_OK;
}

bw_err agent_net_open(struct agent_net **out, const struct agent_conf *c, const char *device_key,
                      const char *device_cert, const char *device_id)
{
    return net_open(out, c, NULL, device_key, device_cert, device_id);
}

void agent_net_close(struct agent_net *a)
{
    if (!a)
        return;
    bwh_http_free(a->http);
    SSL_CTX_free(a->ctx);
    X509_free(a->crt);
    EVP_PKEY_free(a->pkey);
    bwh_devkey_close(a->key);
    bw_wipe(a->pem, sizeof(a->pem));
    bw_wipe(a->token, sizeof(a->token));
    bwh_free(a->body);
    bwh_free(a);
}

/* A digest of what a handle is made for: the strings that choose the key,
 * the certificate, the device, the gateway and its trust, and the bytes of
 * the certificate and CA files (a renewal rewrites the file in place). */
static bw_err ident_digest(const struct agent_conf *c, const char *key, const char *cert,
                           const char *id, uint8_t out[BW_SHA256_LEN])
{
    const char *str[] = {key, cert, id, c->gateway, c->ca_cert, c->audience, c->crypto_mode};
    const char *files[] = {cert, c->ca_cert};
    struct bw_sha256 h;
    bw_err rc = bw_sha256_init(&h);

    for (size_t i = 0; !rc && i < sizeof(str) / sizeof(str[0]); i++)
        rc = bw_sha256_update(&h, str[i], strlen(str[i]) + 1);
    for (size_t i = 0; !rc && i < sizeof(files) / sizeof(files[0]); i++) {
        uint8_t *b = NULL;
        size_t n = 0;

        if (!*files[i])
            continue;
        rc = bwh_read_file(files[i], 4u << 20, &b, &n);
        if (!rc)
            rc = bw_sha256_update(&h, b, n);
        bwh_free(b);
    }
    if (rc) {
        bw_sha256_abort(&h);
        return rc;
    }
    return bw_sha256_final(&h, out);
}

bw_err agent_net_keep(struct agent_net **kept, const struct agent_conf *c, SSL_CTX *shared,
                      const char *device_key, const char *device_cert, const char *device_id)
{
    uint8_t d[BW_SHA256_LEN];
    bw_err rc = ident_digest(c, device_key, device_cert, device_id, d);

    if (!rc && *kept && bw_ct_equal((*kept)->ident, d, sizeof(d))) {
        set_conf(*kept, c);
        return BW_OK;
    }
    agent_net_close(*kept); /* another identity or gateway: nothing of it is offered again */
    *kept = NULL;
    if (rc)
        return rc; /* the certificate cannot be read: agent_net_open would say no too */
    rc = net_open(kept, c, shared, device_key, device_cert, device_id);
    if (!rc)
        memcpy((*kept)->ident, d, sizeof(d));
    return rc;
}

void agent_net_idle(struct agent_net *a)
{
    if (!a)
        return;
    if (!a->c->keep_connection)
        bwh_http_drop(a->http); /* the session stays: the next connection resumes it */
    bwh_http_idle(a->http);
    bwh_free(a->body);
    a->body = NULL;
    a->len = a->cap = 0;
}

void agent_net_counts(const struct agent_net *a, uint64_t *connects, uint64_t *resumed)
{
    *connects += a ? a->connects : 0;
    *resumed += a ? a->resumed : 0;
}

struct bwh_http *agent_net_http(struct agent_net *a)
{
    return a->http;
}

const char *agent_net_body(const struct agent_net *a)
{
    return a->body ? a->body : "";
}

size_t agent_net_body_len(const struct agent_net *a)
{
    return a->len;
}

/* One request; *status gets the HTTP status. BW_E_IO when no answer came. */
static bw_err perform(struct agent_net *a, const char *path, const char *post, const char *ctype,
                      int download, uint64_t from, long *status)
{
    char url[2 * AGENT_STR_MAX], auth[BW_TOKEN_MAX + 32];
    struct bwh_http_req rq;
    struct bwh_net_limits l;
    unsigned attempt;
    bw_err rc = BW_E_IO;

    if ((size_t)snprintf(url, sizeof(url), "%s%s", a->gateway, path) >= sizeof(url))
        return BW_E_TOOBIG;
    memset(&rq, 0, sizeof(rq));
    rq.method = post ? "POST" : "GET";
    rq.url = url;
    rq.headers = auth;
    rq.body = post;
    rq.body_len = post ? strlen(post) : 0;
    rq.content_type = ctype ? ctype : "application/json";
    rq.from = from;
    rq.range_len = a->mem ? a->range_len : 0;
    rq.rate = download ? a->c->download_rate : 0;
    rq.sink = sink;
    rq.ctx = a;
    a->download = download;
    for (attempt = 0; attempt < 2; attempt++) {
        struct bwh_http_res res;

        /* a token the gateway bound to a connection goes on that one only,
         * until a quarter of its lifetime is left: a new connection, or an
         * ending token, gets a fresh one */
        if (attempt == 0 && a->token_used) {
            int kept = bwh_http_kept(a->http, url);

            if (!kept)
                bwh_http_drop(a->http);
            if ((!kept || (int64_t)time(NULL) + (int64_t)a->c->token_ttl / 4 >= a->token_exp) &&
                new_token(a)) {
                rc = BW_E_CRYPTO;
                break;
            }
        }
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", a->token);
        /* the deadline covers both attempts: a replay refused and sent again */
        if (attempt == 0) {
            a->lim.total_s = (unsigned)(download ? a->c->download_timeout : a->c->request_timeout);
            body_cap(a, &l);
            bwh_http_limits(a->http, &l);
        }
        int drop = drop_draw();

        a->len = 0;
        a->got = 0;
        a->first_write = 1;
        a->err[0] = 0;
        if (a->body)
            a->body[0] = 0;
        if (drop == 1) { /* lost on the way there */
            bwh_http_drop(a->http);
            *status = 0;
            rc = BW_E_IO;
            break;
        }
        rc = bwh_http_request(a->http, &rq, &res);
        *status = res.status;
        a->connects += res.connects;
        a->resumed += res.resumed;
        if (drop == 2) { /* lost on the way back */
            a->token_used = 1;
            bwh_http_drop(a->http);
            *status = 0;
            rc = BW_E_IO;
            break;
        }
        if (rc && !a->err[0])
            snprintf(a->err, sizeof(a->err), "%s", bwh_http_error(a->http));
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
        if (*status == 401 && res.connects > 0 && a->token_used && attempt == 0) {
            if (new_token(a)) {
                rc = BW_E_CRYPTO;
                break;
            }
            continue;
        }
        a->token_used = 1;
        break;
    }
    a->download = 0;
    bw_wipe(auth, sizeof(auth));
    return rc;
}

bw_err agent_net_post(struct agent_net *a, const char *path, const char *json, long *status)
{
    return perform(a, path, json, NULL, 0, 0, status);
}

bw_err agent_net_get(struct agent_net *a, const char *path, long *status)
{
    return perform(a, path, NULL, NULL, 0, 0, status);
}

bw_err agent_net_est(struct agent_net *a, const char *path, const char *b64, long *status)
{
    return perform(a, path, b64, "application/pkcs10", 0, 0, status);
}

bw_err agent_net_download(struct agent_net *a, const char *kind, const char *sha256, int fd,
                          uint64_t have, uint64_t size, uint64_t *got, long *status)
{
    char path[128];
    bw_err rc;

    snprintf(path, sizeof(path), "/api/v1/device/%s/%s", kind, sha256);
    a->fd = fd;
    a->have = have;
    a->limit = size;
    /* If-Range would be the stricter choice, but the URL names the content
     * by its digest already: it cannot change under the same path */
    rc = perform(a, path, NULL, NULL, 1, have, status);
    *got = a->got;
    a->fd = -1;
    return rc;
}

bw_err agent_net_range(struct agent_net *a, const char *kind, const char *sha256, uint64_t off,
                       uint8_t *buf, size_t len, uint64_t *got, long *status)
{
    char path[128];
    bw_err rc;

    snprintf(path, sizeof(path), "/api/v1/device/%s/%s", kind, sha256);
    a->mem = buf;
    a->have = off;
    a->range_len = len;
    a->limit = off + len; /* the client's body cap counts from the resource's start */
    rc = perform(a, path, NULL, NULL, 1, off, status);
    *got = a->got;
    a->mem = NULL;
    a->range_len = 0;
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
    bwh_free(body);
    if (rc)
        return rc;
    if (*status >= 500)
        return BW_E_IO;
    if (*status != 200 && *status != 409 && *status != 404)
        fprintf(stderr, "bulwark-agent: report %s on action %" PRId64 ": HTTP %ld %s\n", state,
                action, *status, agent_net_body(a));
    return BW_OK;
}
