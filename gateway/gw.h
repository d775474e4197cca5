/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-gateway internals shared by its files: the configuration (one
 * table of options, conf.c), the state every handler may use (struct
 * gw_state, state.c: configuration, registry handles, operators, the token
 * replay table, the Mender keys), and the request and response a handler
 * sees. Layers, top to bottom (docs/design.md): http.c -> routes.c ->
 * api_*.c, dashboard.c -> respond.c, state.c, parse/ddi/mender/release, db.
 * Nothing here includes libmicrohttpd or names struct gw_server.
 */
#ifndef BULWARK_GATEWAY_GW_H
#define BULWARK_GATEWAY_GW_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>

#include "bulwark/bulwark.h"
#include "bulwark/token.h"
#include "db.h"

#define GW_PATH_MAX 4096

struct gw_conf {
    char listen[256];        /* ADDRESS:PORT */
    char crypto_mode[16];    /* default | approved (bwh/cryptomode.h) */
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
    uint64_t idle_timeout;        /* kept-alive connection between requests; 0: from poll_interval */
    uint64_t threads;
    uint64_t max_connections;
    uint64_t token_replay_slots;
    uint64_t token_device_quota;  /* live tokens one device may hold in the replay table */
    uint64_t header_timeout;      /* seconds for the TLS handshake and each request's headers */
    uint64_t max_anonymous;       /* connections not yet authenticated; 0: 3/4 of the limit */
    uint64_t max_per_address;     /* unauthenticated connections from one address */
    uint64_t max_upload_inflight; /* bytes of release uploads being received at once */
    uint64_t tls_ticket_rotate;   /* seconds per TLS ticket key (registry-shared); 0: none */
    uint64_t mender_jwt_ttl;      /* seconds a Mender device JWT lives */
    uint64_t pending_max;         /* pending (not yet accepted) Mender identities */
    uint64_t pending_ttl;         /* seconds a pending identity is kept */
    char public_url[512];         /* https://HOST[:PORT] used in links; "" = from listen */
    char client_crl[GW_PATH_MAX]; /* CRL of client_ca, PEM; "" = none */
    char crl_cert[GW_PATH_MAX];   /* signer of the published CRL; "" = none published */
    char crl_key[GW_PATH_MAX];
    uint64_t crl_period;          /* seconds from thisUpdate to nextUpdate */
    char tuf_dir[GW_PATH_MAX];    /* the fleet's TUF repository; "" = TUF off */
    char tuf_snapshot_key[GW_PATH_MAX];
    char tuf_timestamp_key[GW_PATH_MAX];
    uint64_t tuf_snapshot_expiry, tuf_timestamp_expiry; /* seconds */
    char est_ca_cert[GW_PATH_MAX]; /* EST (api_est.c): the operational CA; "" = no EST */
    char est_ca_key[GW_PATH_MAX];  /* its key: PEM file, pkcs11: or tpm: URI */
    uint64_t est_lifetime;         /* seconds an operational certificate is valid */
    int require_operational_cert;  /* the device API refuses birth certificates */
    int sqlite_exclusive;          /* the gateway is the SQLite registry's only user */
    int tls_prefer_aes128;         /* server's order: AES-128-GCM (SHA-256) first */
    char security_contact[512];
    char security_policy[512];
    char security_expires[64];
    char security_languages[64];
    char csaf_publisher[256];     /* CSAF provider metadata; "" = no CSAF provider */
    char csaf_namespace[512];
    /* deltas the gateway builds itself (delta_build.c, docs/delta.md) */
    uint64_t delta_sources;   /* most common source releases per campaign; 0: none by itself */
    uint64_t delta_level;     /* zstd level of the frames */
    uint64_t delta_max_image; /* bytes of a source or target image a build accepts */
};

/* Loads the file (key = value lines). On error prints "PATH:LINE: reason"
 * on stderr and returns BW_E_FORMAT or BW_E_IO. */
BW_NODISCARD bw_err gw_conf_load(struct gw_conf *c, const char *path);
/* Seconds an idle connection is kept between requests: idle_timeout, or
 * with 0 one that outlasts the poll interval the devices are told (plus
 * their jitter), so that a device keeping its connection finds it open. */
uint64_t gw_idle_timeout(const struct gw_conf *c);
/* The commented sample configuration, written from the option table. */
void gw_conf_sample(FILE *f);

/* Operator roles, least to most. */
enum gw_role { GW_ROLE_NONE = 0, GW_ROLE_VIEWER, GW_ROLE_RELEASE, GW_ROLE_ADMIN };

/* What the device API remembers about one TLS connection: the device
 * token last verified on it. The same token repeated on the same
 * connection, by the same device, before it expires, is not verified
 * again; any other token is (docs/protocol.md, "Tokens"). The token is
 * kept as sent and compared byte for byte (a hash of it on every poll
 * cost more than the comparison); gw_session_clear (api_device.c) wipes
 * and frees it when the connection ends. */
struct gw_checkin_memo; /* api_device.c */
struct gw_device_memo;  /* api_device.c */
struct gw_session {
    char *token;            /* the compact token verified last (bwh_malloc'd), or NULL */
    size_t token_len;
    int64_t until;          /* the token's exp */
    char device[GW_ID_MAX + 1];
    int valid;
    struct gw_checkin_memo *memo; /* the last check-in body, parsed, or NULL */
    struct gw_device_memo *dev;   /* the device row read last, or NULL (api_device.c) */
};
/* Wipes and frees what s holds; s is empty afterwards. */
void gw_session_clear(struct gw_session *s);

struct bwh_ca; /* bwh/identity.h */
struct gw_dbuild; /* delta_build.h */

/* ---- the state handlers share (state.c) ---------------------------------- */

#define GW_DB_HANDLES_MAX 512
#define GW_OPERATORS_MAX 64

/* One line of operator_tokens (api_operator.c). */
struct gw_operator {
    enum gw_role role;
    char name[GW_ID_MAX + 1];
    uint8_t digest[BW_SHA256_LEN];
};

/* Everything the handlers keep between requests. Owned by the server
 * (http.c holds one in struct gw_server); set up by gw_state_init before
 * the first request, torn down by gw_state_fini after the last. Each
 * member says what guards it. */
struct gw_state {
    struct gw_conf conf; /* read-only after gw_state_init */
    /* the registry: one handle per thread, closed at gw_state_fini */
    const struct gw_db_ops *db_ops;
    const char *db_conninfo;
    char db_uri[3 * GW_PATH_MAX + 32]; /* sqlite_exclusive: the registry's SQLite URI */
    pthread_key_t db_key;
    pthread_mutex_t db_lock; /* guards handles[] */
    void *handles[GW_DB_HANDLES_MAX];
    size_t n_handles;
    int db_key_on;     /* db_key created */
    unsigned int init; /* mutexes set up so far (state.c), undone by gw_state_fini */
    /* operator_tokens (api_operator.c), read at the first operator
     * request and again on SIGHUP; guarded by op_lock */
    pthread_mutex_t op_lock;
    struct gw_operator operators[GW_OPERATORS_MAX];
    size_t n_operators;
    int op_loaded;
    /* refused operator requests written to the audit log this second
     * (api_operator.c); guarded by refused_lock */
    pthread_mutex_t refused_lock;
    int64_t refused_second;
    unsigned int refused_n;
    uint64_t refused_dropped;
    /* the device-token replay table (api_device.c): token_replay_slots
     * entries, token_device_quota per device; its own lock */
    pthread_mutex_t replay_lock;
    struct bw_token_replay replay;
    struct bw_token_seen *replay_slots;
    struct bw_token_owner *replay_owners;
    /* the Mender JWT key and artifact-link secret (gw_mender_keys, before
     * the server serves; read-only afterwards) */
    struct bw_ec_key mender_key;
    struct bw_signer mender_signer;
    uint8_t mender_link_secret[32];
    int mender_ok;
    /* the published CRLs (crl.c), [0] the device CA's, [1] the operational
     * CA's, each signed again when its revoked rows change or half of
     * crl_period has passed; guarded by crl_lock */
    pthread_mutex_t crl_lock;
    struct gw_crl {
        uint8_t *der;
        size_t der_len;
        uint8_t rows[BW_SHA256_LEN]; /* SHA-256 of the revoked rows it lists */
        int64_t made;                /* its thisUpdate, 0: none yet */
        double read;                 /* when the revoked rows were last read, 0: now */
    } crl[2];
    /* the TUF repository's online roles (tuf.c): checked at most once a
     * second, signed again when due; guarded by tuf_lock */
    pthread_mutex_t tuf_lock;
    double tuf_checked;              /* bwh_now() of the last check, 0: never */
    /* EST (api_est.c): the operational CA, loaded by gw_state_init when
     * est_ca_cert is set, and its /cacerts answer; est_lock serializes
     * issuing (a PKCS#11 or TPM key is one session) */
    pthread_mutex_t est_lock;
    struct bwh_ca *est_ca;
    char *est_cacerts;
    /* the delta builder (delta_build.c): its queue and thread, started
     * by gw_dbuild_start after the registry's schema; its own lock */
    struct gw_dbuild *dbuild;
};

/* Copies conf and sets up st: the registry kind (BW_E_INVAL, explained on
 * stderr), the locks, the replay table (no memory: an empty table, every
 * device token refused, fail closed). gw_state_fini undoes a partial
 * init too. Not thread-safe; once per state. */
BW_NODISCARD bw_err gw_state_init(struct gw_state *st, const struct gw_conf *conf);
void gw_state_fini(struct gw_state *st);
/* This thread's registry handle, opened on first use. BW_E_NOMEM when
 * GW_DB_HANDLES_MAX threads hold one, or the backend's open error.
 * Thread-safe. */
BW_NODISCARD bw_err gw_db(struct gw_state *st, const struct gw_db_ops **ops, void **ctx);

/* ---- one request and its answer ------------------------------------------ */

struct gw_route;

/* One request as a handler sees it. */
struct gw_req {
    const char *method;
    const char *path;        /* without the query */
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
    void *conn;                      /* the server's connection (respond.c reads it) */
    struct gw_state *st;
    /* set by the dispatcher (routes.c) */
    const struct gw_route *route;    /* the row that matched */
    enum gw_role min_role;           /* its least operator role */
    const char *cap[2];              /* what the pattern's '*' and '**' matched, in order */
    size_t cap_len[2];
    int64_t id;                      /* what its {id} matched */
    struct gw_device *device;        /* the authenticated device (device, DDI, Mender) */
};

/* What a handler answers; http.c sends it. */
struct gw_resp {
    int status;
    char *body;          /* bwh_malloc'd (json_dumps too: main.c routes jansson there), or NULL */
    size_t body_len;
    const char *content_type;
    int fd;              /* file body when >= 0 (served with sendfile) */
    uint64_t fd_off, fd_len, fd_total;
    char etag[80];
    char extra_header[128]; /* one more "Name: value", or "" */
    /* the device a file answer goes to (set by the dispatcher): while the
     * file is sent, http.c reads the device's status again every few
     * seconds and ends the answer and the connection once it is not
     * accepted (revoked, rejected, deleted) */
    char device[GW_ID_MAX + 1];
    /* a page for browsers (the dashboard): sent with this
     * Content-Security-Policy and the framing and referrer headers */
    const char *csp;
};

/* The release keys: every PEM public key in the file path, at most
 * GW_RELEASE_KEYS_MAX, into keys (kp[i] == &keys[i]; the caller clears
 * the *n_out loaded with bw_ec_key_clear). BW_E_KEY when there is none,
 * bwh_read_file's errors, BW_E_NOMEM (release_conf.c). */
#define GW_RELEASE_KEYS_MAX 8
BW_NODISCARD bw_err gw_release_keys_load(const char *path, struct bw_ec_key keys[GW_RELEASE_KEYS_MAX],
                                         const struct bw_ec_key *kp[GW_RELEASE_KEYS_MAX],
                                         size_t *n_out);

/* Verifies an uploaded package against the configured release keys,
 * vendor and class, and stores it under blob_dir (release_conf.c). */
BW_NODISCARD bw_err gw_release_ingest_conf(const struct gw_conf *c, const char *upload_path,
                                           const char *name, const char *uploaded_by,
                                           struct gw_release *out);

#endif
