/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native device API (docs/protocol.md). Every call needs both proofs:
 * a client certificate that chains to the device CA and is registered to
 * an accepted device, and a device token (JWT ES256) signed by that
 * device's key for this gateway. A token is good for one TLS connection:
 * its jti is remembered until it expires, so it is refused on any other
 * connection, and repeating it on its own connection skips the signature
 * check. A device only ever sees its own actions.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "bulwark/token.h"
#include "gw.h"
#include "parse.h"
#include "release.h"

/* The process's replay table, sized by token_replay_slots at the first
 * device request. */
static pthread_mutex_t replay_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t replay_once = PTHREAD_ONCE_INIT;
static size_t replay_cap;
static uint32_t replay_quota;
static struct bw_token_replay replay;

static void replay_lock(void *ctx, int acquire)
{
    if (acquire)
        pthread_mutex_lock(ctx);
    else
        pthread_mutex_unlock(ctx);
}

/* The table, and each device's share of it (token_device_quota), so that
 * one device presenting fresh tokens fills its share and not the table. */
static void replay_setup(void)
{
    struct bw_token_seen *slots = calloc(replay_cap, sizeof(*slots));
    struct bw_token_owner *owners = calloc(replay_cap, sizeof(*owners));

    /* no table: every token is refused (BW_E_NOMEM, fail closed) */
    if (!slots || !owners) {
        free(slots);
        free(owners);
        slots = NULL;
        owners = NULL;
    }
    bw_token_replay_init(&replay, slots, slots ? replay_cap : 0);
    if (bw_token_replay_set_quota(&replay, owners, replay_quota))
        bw_token_replay_init(&replay, NULL, 0); /* cannot happen on an empty table */
    bw_token_replay_set_lock(&replay, replay_lock, &replay_mutex);
}

static const char *action_state_name(enum gw_action_state s)
{
    static const char *const n[] = {"scheduled", "offered", "running", "success", "failure",
                                    "cancelled"};

    return (unsigned)s < 6 ? n[s] : "unknown";
}

static const char *action_type_name(enum gw_action_type t)
{
    return t == GW_ACT_FORCED ? "forced" : t == GW_ACT_SOFT ? "soft" : "download-only";
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bw_err pub_from_hex(const char *hex, struct bw_ec_key *k)
{
    uint8_t pt[BW_P256_PUB_LEN];
    size_t i;

    if (strlen(hex) != 2 * BW_P256_PUB_LEN)
        return BW_E_KEY;
    for (i = 0; i < BW_P256_PUB_LEN; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);

        if (a < 0 || b < 0)
            return BW_E_KEY;
        pt[i] = (uint8_t)(a << 4 | b);
    }
    bw_ec_key_init(k);
    return bw_ec_set_pub(k, pt, sizeof(pt));
}

/* Method: certificate first (who is on the other end of the TLS
 * connection), then the registry (is that certificate a device we accept,
 * still: revocation takes effect on the next request), then the token:
 * either the one this connection already proved, or one signed now by
 * that device's key, for us, not seen before. Any failure ends the
 * request. */
static int device_auth(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                       struct gw_device *d)
{
    const struct gw_conf *c = gw_server_conf(q->srv);
    struct bw_token_policy pol;
    struct bw_token_claims cl;
    struct bw_ec_key pub;
    struct gw_session *s;
    uint8_t th[BW_SHA256_LEN];
    const char *tok;
    int64_t now;
    bw_err rc;

    if (!q->client_verified) {
        gw_error(r, 401, "client_certificate", "a device certificate from the device CA is required");
        return 0;
    }
    rc = ops->device_by_fingerprint(h, q->client_fpr, d);
    if (rc) {
        gw_error(r, rc == BW_E_NOTFOUND ? 403 : 503, "unknown_device",
                 rc == BW_E_NOTFOUND ? "certificate not registered" : "registry unavailable");
        return 0;
    }
    if (strcmp(d->id, q->client_cn)) {
        gw_error(r, 403, "identity", "certificate name does not match its registration");
        return 0;
    }
    if (d->status != GW_DEV_ACCEPTED) {
        gw_error(r, 403, d->status == GW_DEV_PENDING ? "pending" : "not_accepted",
                 d->status == GW_DEV_PENDING ? "device awaits acceptance"
                                              : "device rejected or revoked");
        return 0;
    }
    tok = q->authorization;
    if (!tok || strncmp(tok, "Bearer ", 7)) {
        gw_error(r, 401, "token", "a device token (Authorization: Bearer JWT) is required");
        return 0;
    }
    tok += 7;
    now = (int64_t)time(NULL);
    if (bw_sha256(tok, strlen(tok), th)) {
        gw_error(r, 503, "crypto", "hash failed");
        return 0;
    }
    s = q->session;
    if (s && s->valid && !memcmp(s->token_hash, th, sizeof(th)) && !strcmp(s->device, d->id) &&
        now <= s->until) {
        q->authenticated = 1;
        return 1;
    }
    if (pub_from_hex(d->pubkey, &pub)) {
        gw_error(r, 500, "registry", "registered public key is unusable");
        return 0;
    }
    bw_token_policy_init(&pol, c->token_audience, now);
    pol.sub = d->id; /* refused before it is recorded: no room spent on other names */
    pthread_mutex_lock(&replay_mutex);
    if (!replay_cap) {
        replay_cap = (size_t)c->token_replay_slots;
        replay_quota = (uint32_t)c->token_device_quota;
    }
    pthread_mutex_unlock(&replay_mutex);
    pthread_once(&replay_once, replay_setup);
    rc = bw_token_verify(tok, strlen(tok), &pub, &pol, &replay, &cl);
    bw_ec_key_clear(&pub);
    if (rc == BW_E_NOMEM) { /* the table is full of live tokens: ours, not the device's fault */
        gw_error(r, 503, "busy", "too many live device tokens; retry later");
        snprintf(r->extra_header, sizeof(r->extra_header), "Retry-After: 60");
        return 0;
    }
    if (rc == BW_E_QUOTA) { /* this device holds its share of live tokens: its own doing */
        gw_error(r, 429, "token_quota",
                 "this device has too many live tokens; reuse one per connection or wait");
        snprintf(r->extra_header, sizeof(r->extra_header), "Retry-After: 60");
        return 0;
    }
    if (rc) {
        gw_error(r, 401, "token", bw_errname(rc));
        return 0;
    }
    if (strcmp(cl.sub, d->id)) {
        gw_error(r, 401, "token", "token subject is another device");
        return 0;
    }
    if (s) {
        memcpy(s->token_hash, th, sizeof(th));
        s->until = cl.exp;
        snprintf(s->device, sizeof(s->device), "%s", d->id);
        s->valid = 1;
    }
    q->authenticated = 1;
    return 1;
}

static char *action_json(const struct gw_action *a, const struct gw_release *rel, uint64_t poll)
{
    char *s = NULL;
    json_t *o;

    if (!a) { /* the usual answer: nothing to do (no text from anyone in it) */
        s = malloc(64);
        if (s)
            snprintf(s, 64, "{\"poll_interval\":%" PRIu64 ",\"action\":null}", poll);
        return s;
    }
    o = json_object();

    json_object_set_new(o, "poll_interval", json_integer((json_int_t)poll));
    if (a) {
        json_t *act = json_object();

        json_object_set_new(act, "id", json_integer(a->id));
        json_object_set_new(act, "campaign", json_integer(a->campaign_id));
        json_object_set_new(act, "type", json_string(action_type_name(a->type)));
        json_object_set_new(act, "state", json_string(action_state_name(a->state)));
        json_object_set_new(act, "release", json_string(rel->name));
        json_object_set_new(act, "sequence", json_integer(rel->sequence));
        json_object_set_new(act, "size", json_integer(rel->size));
        json_object_set_new(act, "sha256", json_string(rel->digest));
        {
            char url[128];

            snprintf(url, sizeof(url), "/api/v1/device/download/%s", rel->digest);
            json_object_set_new(act, "download", json_string(url));
        }
        json_object_set_new(o, "action", act);
    } else {
        json_object_set_new(o, "action", json_null());
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* POST /api/v1/device/checkin {"version","sequence","attributes":{}} ->
 * {"poll_interval":N,"action":{...}|null} */
static void checkin(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                    struct gw_device *d)
{
    const struct gw_conf *c = gw_server_conf(q->srv);
    struct gw_checkin *ci;
    const char *why = "";
    struct gw_action a;
    struct gw_release rel;
    bw_err rc;

    ci = malloc(sizeof(*ci));
    if (!ci) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_parse_checkin(q->body, q->body_len, ci, &why);
    if (rc) {
        free(ci);
        gw_error(r, rc == BW_E_TOOBIG ? 413 : 400, "json", why);
        return;
    }
    /* A poll that reports nothing new within half a poll interval of the
     * last one is not written: last_seen stays that fresh, and the
     * registry is spared a write per poll (most polls change nothing). */
    rc = BW_OK;
    if (strcmp(ci->version, d->version) || ci->sequence != d->sequence ||
        (ci->has_attrs && strcmp(ci->attrs, d->attrs)) ||
        (int64_t)time(NULL) - d->last_seen >= (int64_t)(c->poll_interval / 2))
        rc = ops->device_checkin(h, d->id, ci->version, ci->sequence,
                                 ci->has_attrs ? ci->attrs : d->attrs, (int64_t)time(NULL));
    free(ci);
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    /* the registry said, in the read that found the device, that it has
     * nothing to be handed out: no second read for the usual poll */
    rc = d->has_work ? ops->action_next(h, d->id, (int64_t)time(NULL), &a) : BW_E_NOTFOUND;
    if (rc == BW_E_NOTFOUND) {
        gw_json(r, 200, action_json(NULL, NULL, c->poll_interval));
        return;
    }
    if (rc || (rc = ops->release_get(h, a.release_id, &rel))) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    gw_json(r, 200, action_json(&a, &rel, c->poll_interval));
}

/* POST /api/v1/device/actions/ID/report {"state":"running|success|failure","feedback":""} */
static void report(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                   struct gw_device *d, int64_t id)
{
    struct gw_report *rp;
    const char *why = "";
    bw_err rc;

    rp = malloc(sizeof(*rp));
    if (!rp) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_parse_report(q->body, q->body_len, rp, &why);
    if (rc) {
        free(rp);
        gw_error(r, rc == BW_E_TOOBIG ? 413 : 400, rc == BW_E_INVAL ? "state" : "json", why);
        return;
    }
    rc = ops->action_report(h, d->id, id, rp->state, rp->feedback, (int64_t)time(NULL));
    free(rp);
    if (rc == BW_E_NOTFOUND)
        gw_error(r, 404, "not_found", "no such action for this device");
    else if (rc == BW_E_STATE)
        gw_error(r, 409, "state", "the action is finished");
    else if (rc == BW_E_TOOBIG)
        gw_error(r, 413, "too_big", "feedback exceeds the limit");
    else if (rc == BW_E_FORMAT)
        gw_error(r, 400, "json", "feedback is not valid UTF-8");
    else if (rc)
        gw_error(r, 503, "registry", ops->error(h));
    else
        gw_json(r, 200, strdup("{\"ok\":true}"));
}

int gw_link_base(const struct gw_req *q, char *out, size_t cap)
{
    const struct gw_conf *c = gw_server_conf(q->srv);
    const char *colon = strrchr(c->listen, ':');
    int n;

    if (c->public_url[0]) {
        n = snprintf(out, cap, "%s", c->public_url);
    } else if (colon && !strcmp(colon, ":0")) { /* any port (tests): the one bound */
        const union MHD_ConnectionInfo *ci =
            q->conn ? MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_DAEMON) : NULL;
        const union MHD_DaemonInfo *di =
            ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;

        if (!di)
            return -1;
        n = snprintf(out, cap, "https://%.*s:%u", (int)(colon - c->listen), c->listen,
                     (unsigned)di->port);
    } else {
        n = snprintf(out, cap, "https://%s", c->listen);
    }
    if (n < 0 || (size_t)n >= cap)
        return -1;
    while (n > 8 && out[n - 1] == '/')
        out[--n] = 0;
    return 0;
}

/* GET /api/v1/device/download/SHA256: only the release of the device's
 * current action; Range and If-None-Match honoured. */
void gw_send_blob(struct gw_req *q, struct gw_resp *r, const char *digest)
{
    const struct gw_conf *c = gw_server_conf(q->srv);
    char path[GW_PATH_MAX + 128], etag[80];
    uint64_t first, last;
    struct stat st;
    int fd;
    bw_err rc;

    if (gw_blob_path(c->blob_dir, digest, path, sizeof(path))) {
        gw_error(r, 400, "bad_path", "not a SHA-256 digest");
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        gw_error(r, 404, "not_found", "release blob missing");
        return;
    }
    snprintf(etag, sizeof(etag), "\"sha256-%s\"", digest);
    snprintf(r->etag, sizeof(r->etag), "%s", etag);
    if (q->if_none_match && gw_etag_if_none_match(q->if_none_match, etag)) {
        close(fd);
        r->status = 304;
        return;
    }
    r->fd = fd;
    r->fd_total = (uint64_t)st.st_size;
    r->fd_off = 0;
    r->fd_len = (uint64_t)st.st_size;
    r->status = 200;
    r->content_type = "application/octet-stream";
    snprintf(r->extra_header, sizeof(r->extra_header), "Accept-Ranges: bytes");
    if (q->range && (!q->if_range || gw_etag_if_range(q->if_range, etag))) {
        rc = gw_range_parse(q->range, (uint64_t)st.st_size, &first, &last);
        if (rc == BW_OK) {
            r->fd_off = first;
            r->fd_len = last - first + 1;
            r->status = 206;
            snprintf(r->extra_header, sizeof(r->extra_header),
                     "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
                     (uint64_t)st.st_size);
        } else if (rc == BW_E_SIZE) {
            close(fd);
            r->fd = -1;
            gw_error(r, 416, "range", "range not satisfiable");
            snprintf(r->extra_header, sizeof(r->extra_header), "Content-Range: bytes */%" PRIu64,
                     (uint64_t)st.st_size);
        } /* anything else: the Range header is ignored, full body */
    }
}

/* GET /api/v1/device/download/SHA256: only the release the device's
 * current action offers */
static void download(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                     struct gw_device *d, const char *digest)
{
    struct gw_release rel;
    struct gw_action a;
    bw_err rc;

    rc = ops->action_next(h, d->id, (int64_t)time(NULL), &a);
    if (rc == BW_OK)
        rc = ops->release_get(h, a.release_id, &rel);
    if (rc || strcmp(rel.digest, digest)) {
        gw_error(r, 404, "not_found", "no action of this device offers that release");
        return;
    }
    gw_send_blob(q, r, digest);
}

int gw_api_device(struct gw_req *q, struct gw_resp *r)
{
    static const char pre[] = "/api/v1/device/";
    const struct gw_db_ops *ops;
    struct gw_device d;
    const char *rest;
    void *h;

    if (strncmp(q->path, pre, sizeof(pre) - 1))
        return 0;
    rest = q->path + sizeof(pre) - 1;
    if (gw_db(q->srv, &ops, &h)) {
        gw_error(r, 503, "registry", "registry unavailable");
        return 1;
    }
    if (!device_auth(q, r, ops, h, &d))
        return 1;
    if (!strcmp(rest, "checkin")) {
        if (strcmp(q->method, "POST"))
            gw_error(r, 405, "method", "POST only");
        else
            checkin(q, r, ops, h, &d);
        return 1;
    }
    if (!strncmp(rest, "actions/", 8)) {
        char *end;
        long long id = strtoll(rest + 8, &end, 10);

        if (id <= 0 || strcmp(end, "/report") || rest[8] < '1' || rest[8] > '9') {
            gw_error(r, 404, "not_found", "no such resource");
        } else if (strcmp(q->method, "POST")) {
            gw_error(r, 405, "method", "POST only");
        } else {
            report(q, r, ops, h, &d, (int64_t)id);
        }
        return 1;
    }
    if (!strncmp(rest, "download/", 9)) {
        if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD"))
            gw_error(r, 405, "method", "GET only");
        else
            download(q, r, ops, h, &d, rest + 9);
        return 1;
    }
    gw_error(r, 404, "not_found", "no such resource");
    return 1;
}
