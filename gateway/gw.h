/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-gateway internals shared by its files: the configuration (one
 * table of options, conf.c), the HTTP server (http.c, libmicrohttpd with
 * GnuTLS), the request context handed to each API handler, and the APIs.
 */
#ifndef BULWARK_GATEWAY_GW_H
#define BULWARK_GATEWAY_GW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bulwark/bulwark.h"
#include "db.h"

#define GW_PATH_MAX 4096

struct gw_conf {
    char listen[256];        /* ADDRESS:PORT */
    char tls_cert[GW_PATH_MAX];
    char tls_key[GW_PATH_MAX];
    char client_ca[GW_PATH_MAX]; /* the manufacturing CA: device certificates */
    char database[GW_PATH_MAX];
    char blob_dir[GW_PATH_MAX];
    char release_keys[GW_PATH_MAX]; /* PEM file with one or more public keys */
    char operator_tokens[GW_PATH_MAX];
    char token_audience[256];
    char ddi_tenant[GW_ID_MAX + 1];
    char mender_key[GW_PATH_MAX];
    char access_log[GW_PATH_MAX];
    uint8_t vendor_id[16], class_id[16];
    uint64_t poll_interval;
    uint64_t max_body;
    uint64_t max_upload;
    uint64_t timeout;
    uint64_t threads;
    uint64_t max_connections;
    uint64_t token_replay_slots;
    uint64_t token_device_quota;  /* live tokens one device may hold in the replay table */
    uint64_t header_timeout;      /* seconds for the TLS handshake and each request's headers */
    uint64_t max_anonymous;       /* connections not yet authenticated; 0: 3/4 of the limit */
    uint64_t max_per_address;     /* unauthenticated connections from one address */
    uint64_t max_upload_inflight; /* bytes of release uploads being received at once */
    uint64_t mender_jwt_ttl;      /* seconds a Mender device JWT lives */
    uint64_t pending_max;         /* pending (not yet accepted) Mender identities */
    uint64_t pending_ttl;         /* seconds a pending identity is kept */
    char public_url[512];         /* https://HOST[:PORT] used in links; "" = from listen */
    char client_crl[GW_PATH_MAX]; /* CRL of client_ca, PEM; "" = none */
    char security_contact[512];
    char security_policy[512];
    char security_expires[64];
    char security_languages[64];
};

/* Loads the file (key = value lines). On error prints "PATH:LINE: reason"
 * on stderr and returns BW_E_FORMAT or BW_E_IO. */
BW_NODISCARD bw_err gw_conf_load(struct gw_conf *c, const char *path);
/* The commented sample configuration, written from the option table. */
void gw_conf_sample(FILE *f);

/* Operator roles, least to most. */
enum gw_role { GW_ROLE_NONE = 0, GW_ROLE_VIEWER, GW_ROLE_RELEASE, GW_ROLE_ADMIN };

/* What the device API remembers about one TLS connection: the device
 * token last verified on it. The same token repeated on the same
 * connection, by the same device, before it expires, is not verified
 * again; any other token is (docs/protocol.md, "Tokens"). */
struct gw_session {
    uint8_t token_hash[32]; /* SHA-256 of the compact token */
    int64_t until;          /* the token's exp */
    char device[GW_ID_MAX + 1];
    int valid;
};

/* One request as a handler sees it. */
struct gw_req {
    const char *method;
    const char *path;        /* without the query */
    const char *query_raw;   /* may be NULL */
    const uint8_t *body;
    size_t body_len;
    const char *upload_path; /* streamed upload saved to a temp file, or NULL */
    uint64_t upload_len;
    /* identity */
    char client_cn[GW_ID_MAX + 1];   /* from a verified client certificate */
    char client_fpr[65];             /* its SHA-256 fingerprint */
    int client_verified;
    struct gw_session *session;      /* this connection's, or NULL */
    char operator_name[GW_ID_MAX + 1];
    enum gw_role role;
    /* set by a handler once the request's credentials verified (device
     * token, operator token, DDI/Mender credentials): the connection then
     * counts as authenticated and is no longer subject to the anonymous
     * caps (http.c) */
    int authenticated;
    const char *authorization;       /* the Authorization header */
    const char *range;               /* the Range header */
    const char *if_none_match;
    const char *if_range;
    const char *host;                /* the Host header */
    void *conn;                      /* struct MHD_Connection */
    struct gw_server *srv;
};

/* What a handler answers; http.c sends it. */
struct gw_resp {
    int status;
    char *body;          /* malloc'd, or NULL */
    size_t body_len;
    const char *content_type;
    int fd;              /* file body when >= 0 (served with sendfile) */
    uint64_t fd_off, fd_len, fd_total;
    char etag[80];
    char extra_header[128]; /* one more "Name: value", or "" */
    /* a page for browsers (the dashboard): sent with this
     * Content-Security-Policy and the framing and referrer headers */
    const char *csp;
};

struct gw_server;
/* Per-thread registry handle (opened on first use in each thread). */
BW_NODISCARD bw_err gw_db(struct gw_server *s, const struct gw_db_ops **ops, void **ctx);
const struct gw_conf *gw_server_conf(const struct gw_server *s);

/* Response helpers: JSON body (takes ownership of a malloc'd string),
 * a {"error":CODE,"message":TEXT} body. */
void gw_json(struct gw_resp *r, int status, char *json);
void gw_error(struct gw_resp *r, int status, const char *code, const char *msg);

/* Verifies an uploaded package against the configured release keys,
 * vendor and class, and stores it under blob_dir (release_conf.c). */
BW_NODISCARD bw_err gw_release_ingest_conf(const struct gw_conf *c, const char *upload_path,
                                           const char *name, const char *uploaded_by,
                                           struct gw_release *out);

/* The APIs. Each returns 1 if it handled the path, 0 to let another try. */
int gw_api_device(struct gw_req *q, struct gw_resp *r);
int gw_api_ddi(struct gw_req *q, struct gw_resp *r);
int gw_api_mender(struct gw_req *q, struct gw_resp *r);
/* The Mender JWT key and link secret: loaded from path (mender_key), or
 * made for this process when path is empty. Before the server serves. */
BW_NODISCARD bw_err gw_mender_keys(const char *path);
/* The base of every absolute link the gateway hands out (DDI, Mender):
 * public_url without a trailing '/', or "https://" and the listen address
 * when it is empty (port 0 there: the port the server bound); never the
 * request's Host header, which anyone can set. 0, or -1 when it does not
 * fit in cap. */
int gw_link_base(const struct gw_req *q, char *out, size_t cap);
/* A request header, or NULL. */
const char *gw_header(const struct gw_req *q, const char *name);
/* A query-string argument of the request (decoded), or NULL. */
const char *gw_query_arg(const struct gw_req *q, const char *name);
/* A stored blob as the answer: ETag, If-None-Match, Range and If-Range. */
void gw_send_blob(struct gw_req *q, struct gw_resp *r, const char *digest);
int gw_api_operator(struct gw_req *q, struct gw_resp *r);
/* Sets q->role and q->operator_name when q->authorization carries a
 * known operator token; 1 if it does. Usable on the headers alone (http.c
 * checks an upload's credentials before the first body byte). */
int gw_operator_authenticate(struct gw_req *q);
/* Reads operator_tokens again (SIGHUP). A file that cannot be read or has
 * a malformed line leaves no operator able to log in (fail closed) and
 * returns BW_E_FORMAT; BW_OK otherwise. Thread-safe. */
BW_NODISCARD bw_err gw_operators_reload(const char *path);
int gw_api_public(struct gw_req *q, struct gw_resp *r);
/* GET /dashboard/ and its two assets (dashboard.c), no credentials: the
 * page asks for an operator token and uses the operator API */
int gw_api_dashboard(struct gw_req *q, struct gw_resp *r);

#endif
