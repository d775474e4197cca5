/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator API: JSON over HTTPS with bearer tokens. The tokens file
 * holds only SHA-256 digests of the tokens with a role each (viewer <
 * release-manager < admin); every change is written to the audit log with
 * the operator's name before it is answered.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "delta.h"
#include "delta_build.h"
#include "bulwark/core.h"
#include "bwh/host.h"
#include "mender.h"
#include "parse.h"
#include "release.h"
#include "respond.h"

/* One "ROLE NAME SHA256HEX" line (blanks between, none inside a field):
 * 0, or -1 when it is anything else. The line is cut in place. */
static int operator_line(char *ln, struct gw_operator *o)
{
    char *f[3], *p = ln;
    size_t i;

    for (i = 0; i < 3; i++) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            return -1;
        f[i] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        if (*p)
            *p++ = 0;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (*p || strlen(f[1]) > GW_ID_MAX)
        return -1;
    o->role = !strcmp(f[0], "admin")             ? GW_ROLE_ADMIN
              : !strcmp(f[0], "release-manager") ? GW_ROLE_RELEASE
              : !strcmp(f[0], "viewer")          ? GW_ROLE_VIEWER
                                                 : GW_ROLE_NONE;
    if (o->role == GW_ROLE_NONE || bw_unhex(o->digest, sizeof(o->digest), f[2]))
        return -1;
    snprintf(o->name, sizeof(o->name), "%s", f[1]);
    return 0;
}

/* Reads operator_tokens once (op_lock held). A malformed file loads no
 * operator at all: fail closed. */
static void load_operators(struct gw_state *st, const char *path)
{
    uint8_t *buf = NULL;
    size_t len;
    char *ln, *next;

    if (st->op_loaded)
        return;
    st->op_loaded = 1;
    if (bwh_read_file(path, 1 << 20, &buf, &len)) {
        fprintf(stderr, "bulwark-gateway: cannot read operator tokens %s\n", path);
        return;
    }
    for (ln = (char *)buf; ln && *ln; ln = next) {
        next = strchr(ln, '\n');
        if (next)
            *next++ = 0;
        if (*ln == '#' || !*ln)
            continue;
        if (st->n_operators == GW_OPERATORS_MAX ||
            operator_line(ln, &st->operators[st->n_operators]))
            goto bad;
        st->n_operators++;
    }
    bwh_free(buf);
    return;
bad:
    fprintf(stderr, "bulwark-gateway: %s: malformed line; no operator can log in\n", path);
    st->n_operators = 0;
    bwh_free(buf);
}

bw_err gw_operators_reload(struct gw_state *st, const char *path)
{
    bw_err rc;

    pthread_mutex_lock(&st->op_lock);
    st->op_loaded = 0;
    st->n_operators = 0;
    load_operators(st, path);
    rc = st->n_operators ? BW_OK : BW_E_FORMAT;
    pthread_mutex_unlock(&st->op_lock);
    return rc;
}

/* The operator whose token digest matches, compared in constant time
 * against every entry. */
static int operator_authenticate(struct gw_req *q)
{
    struct gw_state *st = q->st;
    uint8_t d[BW_SHA256_LEN];
    const char *tok;
    size_t i;
    int found = -1;

    if (!q->authorization || strncmp(q->authorization, "Bearer ", 7))
        return 0;
    tok = q->authorization + 7;
    if (!*tok || strlen(tok) > 512 || bw_sha256(tok, strlen(tok), d))
        return 0;
    pthread_mutex_lock(&st->op_lock);
    load_operators(st, st->conf.operator_tokens);
    for (i = 0; i < st->n_operators; i++)
        if (bw_ct_equal(d, st->operators[i].digest, sizeof(d)))
            found = (int)i;
    if (found >= 0) {
        q->role = st->operators[found].role;
        snprintf(q->operator_name, sizeof(q->operator_name), "%s", st->operators[found].name);
        q->authenticated = 1;
    }
    pthread_mutex_unlock(&st->op_lock);
    return found >= 0;
}

static void audit(struct gw_req *q, const struct gw_db_ops *ops, void *h, const char *action,
                  const char *object, const char *detail)
{
    if (ops->audit_add(h, (int64_t)time(NULL), q->operator_name, action, object, detail))
        fprintf(stderr, "bulwark-gateway: audit log write failed: %s\n", ops->error(h));
}

/* Refused requests in the audit log, at most REFUSED_PER_SECOND a second
 * for the whole process: anyone can be refused, and the log is
 * append-only, so a flood must not fill the disk. The next entry written
 * says how many were left out. */
#define REFUSED_PER_SECOND 10

/* "METHOD PATH" with anything but printable ASCII as '?', for the log */
static void attempt(const struct gw_req *q, char *out, size_t cap)
{
    size_t i;

    snprintf(out, cap, "%.8s %.200s", q->method, q->path);
    for (i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
}

static void audit_refused(struct gw_req *q, const struct gw_db_ops *ops, void *h, int status,
                          const char *why)
{
    int64_t now = (int64_t)time(NULL);
    char what[256], detail[160];
    struct gw_state *st = q->st;
    uint64_t dropped = 0;
    int write = 0;

    pthread_mutex_lock(&st->refused_lock);
    if (now != st->refused_second) {
        st->refused_second = now;
        st->refused_n = 0;
    }
    if (st->refused_n < REFUSED_PER_SECOND) {
        st->refused_n++;
        write = 1;
        dropped = st->refused_dropped;
        st->refused_dropped = 0;
    } else {
        st->refused_dropped++;
    }
    pthread_mutex_unlock(&st->refused_lock);
    if (!write)
        return;
    attempt(q, what, sizeof(what));
    if (dropped)
        snprintf(detail, sizeof(detail), "%d %s (%" PRIu64 " earlier refusals not logged)", status,
                 why, dropped);
    else
        snprintf(detail, sizeof(detail), "%d %s", status, why);
    if (ops->audit_add(h, now, q->operator_name[0] ? q->operator_name : "-", "refused", what,
                       detail))
        fprintf(stderr, "bulwark-gateway: audit log write failed: %s\n", ops->error(h));
}

/* 403, audited, unless the operator's role is at least role */
static int need(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                enum gw_role role)
{
    const char *why = role == GW_ROLE_ADMIN ? "admin role required"
                                            : "release-manager role required";

    if (q->role >= role)
        return 1;
    audit_refused(q, ops, h, 403, why);
    gw_error(r, 403, "forbidden", why);
    return 0;
}

static const char *status_name(enum gw_device_status s)
{
    static const char *const n[] = {"pending", "accepted", "rejected", "revoked"};

    return (unsigned)s < 4 ? n[s] : "unknown";
}

/* the status of a name, -1 for none */
static int status_from_name(const char *s)
{
    int i;

    for (i = 0; i <= GW_DEV_REVOKED; i++)
        if (!strcmp(s, status_name((enum gw_device_status)i)))
            return i;
    return -1;
}

static json_t *device_obj(const struct gw_device *d)
{
    json_t *o = json_object(), *attrs;
    json_error_t je;

    json_object_set_new(o, "id", json_string(d->id));
    json_object_set_new(o, "status", json_string(status_name(d->status)));
    json_object_set_new(o, "fingerprint_sha256", json_string(d->fingerprint));
    json_object_set_new(o, "serial", json_string(d->serial));
    json_object_set_new(o, "version", json_string(d->version));
    json_object_set_new(o, "sequence", d->sequence >= 0 ? json_integer(d->sequence) : json_null());
    json_object_set_new(o, "last_seen", json_integer(d->last_seen));
    json_object_set_new(o, "created", json_integer(d->created));
    attrs = json_loads(d->attrs, 0, &je);
    json_object_set_new(o, "attributes", attrs ? attrs : json_object());
    return o;
}

static void list_cb(void *arg, const struct gw_device *d)
{
    json_array_append_new(arg, device_obj(d));
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);

    json_decref(o);
    return s;
}

/* Query parameter NAME (raw, not decoded) from the connection. */
static const char *arg(struct gw_req *q, const char *name)
{
    return gw_query_arg(q, name);
}

/* ?offset=N&limit=M of a list: offset >= 0 (default 0), limit 1..10000
 * (default 1000). 0, or -1 after a 400 answer. */
static int paging(struct gw_req *q, struct gw_resp *r, int64_t *offset, int64_t *limit)
{
    const char *o = arg(q, "offset"), *l = arg(q, "limit");
    char *e;

    *offset = 0;
    *limit = 1000;
    if (o) {
        *offset = strtoll(o, &e, 10);
        if (!*o || *e || *offset < 0)
            goto bad;
    }
    if (l) {
        *limit = strtoll(l, &e, 10);
        if (!*l || *e || *limit < 1 || *limit > 10000)
            goto bad;
    }
    return 0;
bad:
    gw_error(r, 400, "paging", "offset must be >= 0 and limit 1..10000");
    return -1;
}

static const char *action_state_name(enum gw_action_state s)
{
    static const char *const n[] = {"scheduled", "offered", "running", "success", "failure",
                                    "cancelled"};

    return (unsigned)s < 6 ? n[s] : "unknown";
}

/* A list answer: the array a registry call filled, or that call's error. */
static void list_answer(struct gw_resp *r, const struct gw_db_ops *ops, void *h, json_t *arr,
                        bw_err rc)
{
    if (rc) {
        json_decref(arr);
        gw_error(r, 503, "registry", ops->error(h));
    } else {
        gw_json(r, 200, dump(arr));
    }
}

static void action_cb(void *arg, const struct gw_action *a, const char *feedback)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "campaign_id", json_integer(a->campaign_id));
    json_object_set_new(o, "release_id", json_integer(a->release_id));
    json_object_set_new(o, "batch", json_integer(a->batch));
    json_object_set_new(o, "state", json_string(action_state_name(a->state)));
    json_object_set_new(o, "updated", json_integer(a->updated));
    if (a->hold != GW_HOLD_NONE && (a->state == GW_ACTION_OFFERED || a->state == GW_ACTION_RUNNING))
        json_object_set_new(o, "waiting_for", json_string(gw_hold_names[a->hold]));
    if (a->install_later)
        json_object_set_new(o, "install", json_string(gw_action_may_install(a, (int64_t)time(NULL))
                                                          ? "now"
                                                          : "later"));
    if (a->go & GW_GO_OVERRIDE)
        json_object_set_new(o, "lock_override", json_true());
    if (a->consent)
        json_object_set_new(o, "consent", json_string(a->go & GW_GO_CONSENT ? "given" : "asked"));
    /* stored as UTF-8 (the registry refuses anything else); untrusted */
    json_object_set_new(o, "feedback", json_string(feedback));
    json_array_append_new(arg, o);
}

/* The operator's word on open actions (POST .../devices/ID/WORD or
 * .../campaigns/ID/WORD): the GW_GO_* bit it adds, its audit name. */
static const struct {
    const char *path;
    unsigned go;
    const char *audit;
} go_words[] = {
    {"/install", GW_GO_INSTALL, "action.install"},
    {"/override-lock", GW_GO_OVERRIDE, "action.override-lock"},
    {"/consent", GW_GO_CONSENT, "action.consent"},
};

/* Handles POST PATH/WORD for device dev (non-NULL) or campaign cid: 1 when
 * path is one of go_words (answered), 0 otherwise. */
static int go_word(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                   const char *path, const char *dev, int64_t cid, const char *object)
{
    char detail[64];
    int64_t n = 0;
    size_t i;
    bw_err rc;

    for (i = 0; i < sizeof(go_words) / sizeof(go_words[0]); i++)
        if (!strcmp(path, go_words[i].path))
            break;
    if (i == sizeof(go_words) / sizeof(go_words[0]) || strcmp(q->method, "POST"))
        return 0;
    if (!need(q, r, ops, h, GW_ROLE_RELEASE))
        return 1;
    rc = ops->action_go(h, dev, cid, go_words[i].go, &n);
    if (rc == BW_E_NOTFOUND) {
        gw_error(r, 409, "state", "no open action");
        return 1;
    }
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return 1;
    }
    snprintf(detail, sizeof(detail), "%lld open actions", (long long)n);
    audit(q, ops, h, go_words[i].audit, object, detail);
    gw_json(r, 200, dump(json_pack("{s:I}", "actions", (json_int_t)n)));
    return 1;
}

/* BW_E_EXISTS (and why, in msg) when the record d would give an id a
 * second certificate or a certificate a second id; BW_OK when it is new or
 * the very record registered before; another code when the registry fails. */
static bw_err import_conflict(const struct gw_db_ops *ops, void *h, const struct gw_device *d,
                              char *msg, size_t cap)
{
    struct gw_device old;
    bw_err rc;

    rc = ops->device_get(h, d->id, &old);
    if (rc == BW_OK && strcmp(old.fingerprint, d->fingerprint)) {
        snprintf(msg, cap, "device %s is registered with another certificate (%.16s...); a "
                 "re-keyed device is deleted and imported again", d->id, old.fingerprint);
        return BW_E_EXISTS;
    }
    if (rc != BW_OK && rc != BW_E_NOTFOUND)
        return rc;
    rc = ops->device_by_fingerprint(h, d->fingerprint, &old);
    if (rc == BW_OK && strcmp(old.id, d->id)) {
        snprintf(msg, cap, "the certificate of %s is registered to device %s", d->id, old.id);
        return BW_E_EXISTS;
    }
    return rc == BW_E_NOTFOUND ? BW_OK : rc;
}

/* POST /api/v1/devices/import: JSON lines written by bulwark provision.
 * One identity, one key: a line for an id that is registered with another
 * certificate, or a certificate or public key registered to another id,
 * is refused (409) and names the line; the same line imported again is
 * "already known". Pass 0 checks every line (format, and conflicts with
 * what is registered) and adds nothing; pass 1 adds. A conflict only pass
 * 1 can see (two lines of the file, or a key behind another certificate,
 * caught by the registry's unique indexes) stops there: the lines before
 * it stay added, the answer says how many, and a corrected file can be
 * imported again. */
static void import(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h)
{
    const char *p, *end = (const char *)q->body + q->body_len;
    int added = 0, existing = 0, line = 0, pass;
    char detail[64], msg[320];

    /* pass 0 checks every line, pass 1 adds: a bad file adds nothing */
    for (pass = 0; pass < 2; pass++)
    for (p = (const char *)q->body, line = 0; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct gw_device d, old;
        const char *why = "";
        bw_err rc;

        line++;
        if (n == 0) {
            p += 1;
            continue;
        }
        rc = gw_parse_provision_record(p, n, &d, &why);
        p += n + (nl ? 1 : 0);
        if (rc) {
            snprintf(msg, sizeof(msg), "line %d: %s", line, why);
            gw_error(r, 400, "json", msg);
            return;
        }
        if (pass == 0) {
            rc = import_conflict(ops, h, &d, msg, sizeof(msg));
            if (rc == BW_E_EXISTS) {
                char m2[400];

                snprintf(m2, sizeof(m2), "line %d: %s; nothing imported", line, msg);
                gw_error(r, 409, "identity", m2);
                return;
            }
            if (rc) {
                gw_error(r, 503, "registry", ops->error(h));
                return;
            }
            continue;
        }
        d.created = (int64_t)time(NULL);
        rc = ops->device_add(h, &d);
        if (rc == BW_E_EXISTS && ops->device_get(h, d.id, &old) == BW_OK &&
            !strcmp(old.fingerprint, d.fingerprint)) {
            existing++; /* this very certificate, imported before */
            continue;
        }
        if (rc == BW_E_EXISTS) {
            snprintf(msg, sizeof(msg),
                     "line %d: device %s: its id, certificate or public key is registered to "
                     "another identity (lines before it: %d added, %d already known)",
                     line, d.id, added, existing);
            gw_error(r, 409, "identity", msg);
            return;
        }
        if (rc) {
            gw_error(r, 503, "registry", ops->error(h));
            return;
        }
        added++;
    }
    snprintf(detail, sizeof(detail), "added %d, already known %d", added, existing);
    audit(q, ops, h, "devices.import", "-", detail);
    {
        json_t *o = json_object();

        json_object_set_new(o, "added", json_integer(added));
        json_object_set_new(o, "existing", json_integer(existing));
        gw_json(r, 200, dump(o));
    }
}

/* POST /api/v1/devices/ID/target-token: a new hawkBit TargetToken for an
 * SWUpdate device (32 letters and digits from the CSPRNG), answered once;
 * the registry keeps only its SHA-256. The previous token stops working. */
static void target_token(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops,
                         void *h, const char *id)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[64], dig[BW_SHA256_LEN];
    char tok[33], hex[65];
    size_t i, n = 0;
    json_t *o;
    bw_err rc;

    if (!need(q, r, ops, h, GW_ROLE_ADMIN))
        return;
    /* rejection sampling: 62 letters, no bias */
    while (n < 32) {
        if (bw_random(rnd, sizeof(rnd))) {
            gw_error(r, 503, "random", "no randomness");
            return;
        }
        for (i = 0; i < sizeof(rnd) && n < 32; i++)
            if (rnd[i] < 248)
                tok[n++] = al[rnd[i] % 62];
    }
    tok[32] = 0;
    if (bw_sha256(tok, 32, dig)) {
        gw_error(r, 503, "crypto", "hash failed");
        return;
    }
    bw_hex(hex, dig, sizeof(dig));
    rc = ops->ddi_set_token(h, id, hex);
    if (rc) {
        gw_error_rc(r, rc, "registry", ops->error(h));
        return;
    }
    audit(q, ops, h, "device.target_token", id, "set");
    o = json_pack("{s:s,s:s}", "device", id, "token", tok);
    bw_wipe(tok, sizeof(tok));
    gw_json(r, 200, dump(o));
}

/* POST /api/v1/devices/preauthorize {"id_data":{...},"pubkey":PEM}: a
 * Mender device accepted before it first asks (docs/mender.md). */
static void preauthorize(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops,
                         void *h)
{
    json_error_t je;
    json_t *b = json_loadb((const char *)q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    json_t *idv = json_object_get(b, "id_data");
    const char *pem = json_string_value(json_object_get(b, "pubkey")), *why = "";
    struct gw_device *d = bwh_calloc(1, sizeof(*d));
    char *id_text = NULL;
    bw_err rc;

    if (!need(q, r, ops, h, GW_ROLE_ADMIN) || !d)
        goto out;
    id_text = json_is_object(idv) ? json_dumps(idv, JSON_COMPACT)
              : json_is_string(idv) ? bwh_strdup(json_string_value(idv))
                                    : NULL;
    if (!id_text || !pem ||
        gw_mender_identity(id_text, strlen(id_text), d->attrs, d->id, &why) ||
        gw_mender_key_fingerprint(pem, d->fingerprint)) {
        gw_error(r, 400, "json", "{\"id_data\":{...strings...},\"pubkey\":\"PEM public key\"}");
        goto out;
    }
    d->status = GW_DEV_ACCEPTED;
    d->sequence = -1;
    d->created = (int64_t)time(NULL);
    rc = ops->device_add(h, d);
    if (rc == BW_E_EXISTS) {
        /* the identity may be held by whoever asked first with another
         * key (pending or rejected): the operator's key wins, and that
         * key's requests are refused from now on */
        struct gw_device old;

        if (ops->device_get(h, d->id, &old) == BW_OK &&
            (old.status == GW_DEV_PENDING || old.status == GW_DEV_REJECTED)) {
            rc = ops->device_rekey(h, d->id, d->fingerprint, GW_DEV_ACCEPTED);
            if (!rc) {
                char detail[160];

                snprintf(detail, sizeof(detail), "%s replaces %s key %s", d->fingerprint,
                         old.status == GW_DEV_PENDING ? "pending" : "rejected", old.fingerprint);
                audit(q, ops, h, "device.preauthorize", d->id, detail);
                gw_json(r, 201, dump(json_pack("{s:s,s:s,s:s}", "id", d->id, "fingerprint",
                                               d->fingerprint, "replaced", old.fingerprint)));
                goto out;
            }
            rc = rc == BW_E_STATE ? BW_E_EXISTS : rc;
        }
    }
    if (rc) {
        gw_error_rc(r, rc, "registry",
                    rc == BW_E_EXISTS ? "that identity or key is registered" : ops->error(h));
        goto out;
    }
    audit(q, ops, h, "device.preauthorize", d->id, d->fingerprint);
    gw_json(r, 201, dump(json_pack("{s:s,s:s}", "id", d->id, "fingerprint", d->fingerprint)));
out:
    bwh_free(id_text);
    bwh_free(d);
    json_decref(b);
}

/* POST /api/v1/devices/ID/rekey {"pubkey":PEM[,"status":"pending|accepted"]}:
 * a pending or rejected Mender identity gets the key the operator names
 * (its former holder is refused from then on); pending unless told. */
static void rekey(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                  const struct gw_device *d)
{
    json_error_t je;
    json_t *b = json_loadb((const char *)q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    const char *pem = json_string_value(json_object_get(b, "pubkey"));
    const char *sn = json_string_value(json_object_get(b, "status"));
    enum gw_device_status st = GW_DEV_PENDING;
    char fpr[65], detail[160];
    bw_err rc;

    if (!need(q, r, ops, h, GW_ROLE_ADMIN))
        goto out;
    if (sn && !strcmp(sn, "accepted"))
        st = GW_DEV_ACCEPTED;
    if (!pem || (sn && strcmp(sn, "pending") && strcmp(sn, "accepted")) ||
        gw_mender_key_fingerprint(pem, fpr)) {
        gw_error(r, 400, "json", "{\"pubkey\":\"PEM public key\",\"status\":\"pending|accepted\"}");
        goto out;
    }
    rc = ops->device_rekey(h, d->id, fpr, st);
    if (rc) {
        gw_error_rc(r, rc, "registry",
                    rc == BW_E_STATE    ? "only a pending or rejected identity can be re-keyed"
                    : rc == BW_E_EXISTS ? "that key is registered to another device"
                                     : ops->error(h));
        goto out;
    }
    snprintf(detail, sizeof(detail), "%s replaces %s (%s)", fpr, d->fingerprint, status_name(st));
    audit(q, ops, h, "device.rekey", d->id, detail);
    gw_json(r, 200, dump(json_pack("{s:s,s:s,s:s}", "id", d->id, "fingerprint", fpr, "status",
                                   status_name(st))));
out:
    json_decref(b);
}

#define SERIAL_HEX_MAX 40 /* an X.509 serial is at most 20 bytes (RFC 5280 4.1.2.2) */

/* POST /api/v1/devices/ID/certs/SERIAL/revoke (admin): one operational
 * certificate of the device revoked on its own, the device and its other
 * certificates untouched. The device API looks certificates up per
 * request, so it is refused at once on every instance of the registry;
 * the CRL is signed again. SERIAL in hex, either case (openssl prints it
 * in upper case). */
static void cert_revoke(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                        const char *id, const char *rest)
{
    char serial[SERIAL_HEX_MAX + 1];
    const char *end = strchr(rest, '/');
    size_t n = end ? (size_t)(end - rest) : 0, i;
    bw_err rc;

    if (!end || strcmp(end, "/revoke") || n == 0 || n > SERIAL_HEX_MAX) {
        gw_error(r, 404, "not_found", "no such resource");
        return;
    }
    for (i = 0; i < n; i++) {
        char c = rest[i];

        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            gw_error(r, 404, "not_found", "no such certificate");
            return;
        }
        serial[i] = c;
    }
    serial[n] = 0;
    if (!need(q, r, ops, h, GW_ROLE_ADMIN))
        return;
    rc = ops->cert_revoke(h, id, serial, (int64_t)time(NULL));
    if (rc) {
        gw_error_rc(r, rc, "not_found", rc == BW_E_NOTFOUND ? "no such certificate" : ops->error(h));
        return;
    }
    gw_crl_stale(q->st);
    audit(q, ops, h, "cert.revoke", id, serial);
    gw_json_lit(r, 200, "{\"revoked\":true}");
}

/* /api/v1/devices[/...] */
void gw_h_op_devices(struct gw_req *q, struct gw_resp *r)
{
    const char *rest = q->path + strlen("/api/v1/devices");
    const struct gw_db_ops *ops;
    void *h;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (!strcmp(rest, "/preauthorize")) {
        if (strcmp(q->method, "POST"))
            gw_error(r, 405, "method", "POST only");
        else
            preauthorize(q, r, ops, h);
        return;
    }
    if (!*rest) {
        json_t *arr;
        const char *filter = arg(q, "filter"), *sn = arg(q, "status");
        int64_t off, lim;
        int st = -1;
        bw_err rc;

        if (strcmp(q->method, "GET")) {
            gw_error(r, 405, "method", "GET only");
            return;
        }
        if (paging(q, r, &off, &lim))
            return;
        if (sn && (st = status_from_name(sn)) < 0) {
            gw_error(r, 400, "status", "status=pending|accepted|rejected|revoked");
            return;
        }
        arr = json_array();
        rc = ops->device_list(h, filter, st, off, lim, list_cb, arr);
        if (rc) {
            json_decref(arr);
            gw_error_rc(r, rc, "registry",
                        rc == BW_E_FORMAT ? "filter must be a JSON object of strings"
                                          : ops->error(h));
            return;
        }
        gw_json(r, 200, dump(arr));
        return;
    }
    if (!strcmp(rest, "/import")) {
        if (strcmp(q->method, "POST"))
            gw_error(r, 405, "method", "POST only");
        else if (need(q, r, ops, h, GW_ROLE_ADMIN))
            import(q, r, ops, h);
        return;
    }
    {
        char id[GW_ID_MAX + 1];
        const char *slash = strchr(rest + 1, '/');
        size_t n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
        struct gw_device d;
        bw_err rc;

        if (rest[0] != '/' || n == 0 || n > GW_ID_MAX) {
            gw_error(r, 404, "not_found", "no such device");
            return;
        }
        memcpy(id, rest + 1, n);
        id[n] = 0;
        rc = ops->device_get(h, id, &d);
        if (rc) {
            gw_error_rc(r, rc, "not_found", "no such device");
            return;
        }
        if (!slash && !strcmp(q->method, "DELETE")) {
            if (!need(q, r, ops, h, GW_ROLE_ADMIN))
                return;
            rc = ops->device_delete(h, id);
            if (rc) {
                gw_error_rc(r, rc, "registry",
                            rc == BW_E_NOTFOUND ? "no such device" : ops->error(h));
                return;
            }
            audit(q, ops, h, "device.delete", id, d.fingerprint);
            gw_json_lit(r, 200, "{\"deleted\":true}");
            return;
        }
        if (!slash) {
            if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD"))
                gw_error(r, 405, "method", "GET or DELETE");
            else
                gw_json(r, 200, dump(device_obj(&d)));
            return;
        }
        if (!strncmp(slash, "/certs/", 7) && !strcmp(q->method, "POST")) {
            cert_revoke(q, r, ops, h, id, slash + 7);
            return;
        }
        if (!strcmp(slash, "/rekey") && !strcmp(q->method, "POST")) {
            rekey(q, r, ops, h, &d);
            return;
        }
        if (!strcmp(slash, "/status") && !strcmp(q->method, "POST")) {
            json_error_t je;
            json_t *b = json_loadb((const char *)q->body, q->body_len, 0, &je);
            const char *s = json_string_value(json_object_get(b, "status"));
            int st;

            if (!need(q, r, ops, h, GW_ROLE_ADMIN)) {
                json_decref(b);
                return;
            }
            if (!s || (st = status_from_name(s)) < 0) {
                json_decref(b);
                gw_error(r, 400, "json", "{\"status\":\"accepted|rejected|revoked|pending\"}");
                return;
            }
            rc = ops->device_set_status(h, id, (enum gw_device_status)st);
            if (!rc) {
                gw_crl_stale(q->st);
                audit(q, ops, h, "device.status", id, s);
            }
            json_decref(b);
            if (rc)
                gw_error(r, 503, "registry", ops->error(h));
            else
                gw_json_lit(r, 200, "{\"ok\":true}");
            return;
        }
        if (!strcmp(slash, "/actions") && !strcmp(q->method, "GET")) {
            int64_t off, lim;
            json_t *arr;

            if (paging(q, r, &off, &lim))
                return;
            arr = json_array();
            list_answer(r, ops, h, arr, ops->action_list(h, id, off, lim, action_cb, arr));
            return;
        }
        if (!strcmp(slash, "/target-token") && !strcmp(q->method, "POST")) {
            target_token(q, r, ops, h, id);
            return;
        }
        if (go_word(q, r, ops, h, slash, id, 0, id))
            return;
        gw_error(r, 404, "not_found", "no such resource");
    }
}

static json_t *release_obj(const struct gw_release *rel)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(rel->id));
    json_object_set_new(o, "name", json_string(rel->name));
    json_object_set_new(o, "sha256", json_string(rel->digest));
    json_object_set_new(o, "size", json_integer(rel->size));
    json_object_set_new(o, "sequence", json_integer(rel->sequence));
    json_object_set_new(o, "vendor_id", json_string(rel->vendor_id));
    json_object_set_new(o, "class_id", json_string(rel->class_id));
    json_object_set_new(o, "uploaded_by", json_string(rel->uploaded_by));
    json_object_set_new(o, "kind", json_string(rel->kind));
    json_object_set_new(o, "created", json_integer(rel->created));
    if (rel->md5[0]) {
        json_object_set_new(o, "md5", json_string(rel->md5));
        json_object_set_new(o, "sha1", json_string(rel->sha1));
    }
    return o;
}

static void release_cb(void *arg, const struct gw_release *rel)
{
    json_array_append_new(arg, release_obj(rel));
}

/* An id: 1..INT64_MAX in decimal digits, no sign, no leading zero. 0, or
 * -1 for anything else. */
static int strict_id(const char *s, size_t n, int64_t *id)
{
    uint64_t v = 0;
    size_t i;

    if (!s || !n || n > 19 || s[0] < '1' || s[0] > '9')
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *id = (int64_t)v;
    return 0;
}

/* POST /api/v1/releases?name=N[&kind=K]: the body, streamed to a file by
 * http.c once the route's role (release manager) was checked */
void gw_h_op_release_upload(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    const char *name = arg(q, "name"), *kind;
    const struct gw_db_ops *ops;
    struct gw_release rel;
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (!need(q, r, ops, h, GW_ROLE_RELEASE))
        return;
    if (!name || !*name || strlen(name) > GW_ID_MAX) {
        gw_error(r, 400, "name", "?name=RELEASE-NAME is required (1-64 characters)");
        return;
    }
    if (!q->upload_path) {
        gw_error(r, 400, "upload", "the package is the request body");
        return;
    }
    kind = arg(q, "kind");
    if (kind && strcmp(kind, "bulwark") && strcmp(kind, "swu") && strcmp(kind, "mender")) {
        gw_error(r, 400, "kind", "kind=bulwark (a signed package, the default), swu or mender");
        return;
    }
    if (kind && strcmp(kind, "bulwark"))
        rc = gw_release_store_artifact(q->upload_path, c->blob_dir, kind, name, q->operator_name,
                                       &rel);
    else
        rc = gw_release_ingest_conf(c, q->upload_path, name, q->operator_name, &rel);
    if (rc) {
        char msg[128];

        snprintf(msg, sizeof(msg), "package refused: %s (%s)", bw_strerror(rc), bw_errname(rc));
        audit(q, ops, h, "release.refused", name, bw_errname(rc));
        gw_error(r, 422, "package", msg);
        return;
    }
    rc = ops->release_add(h, &rel);
    if (rc == BW_E_EXISTS) {
        gw_error(r, 409, "exists", "a release with that name or content exists");
        return;
    }
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    audit(q, ops, h, "release.add", name, rel.digest);
    gw_json(r, 201, dump(release_obj(&rel)));
}

/* GET /api/v1/releases?offset=&limit= */
void gw_h_op_release_list(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    int64_t off, lim;
    json_t *arr;
    void *h;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (paging(q, r, &off, &lim))
        return;
    arr = json_array();
    list_answer(r, ops, h, arr, ops->release_list(h, off, lim, release_cb, arr));
}

/* GET /api/v1/releases/ID */
void gw_h_op_release_get(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    struct gw_release rel;
    int64_t id;
    void *h;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (strict_id(q->cap[0], q->cap_len[0], &id) || ops->release_get(h, id, &rel)) {
        gw_error(r, 404, "not_found", "no such release");
        return;
    }
    {
        json_t *o = release_obj(&rel);
        struct gw_release_text t;
        char hex[GW_DIGEST_HEX_LEN + 1], path[4096];

        /* the SBOM the manifest signs, whether the gateway holds it, and
         * whether the release is security-only (signed, so not settable) */
        memset(&t, 0, sizeof(t));
        if (o && !strcmp(rel.kind, "bulwark") &&
            gw_release_text(q->st->conf.blob_dir, rel.digest, &t) == BW_OK)
            json_object_set_new(o, "security_only", json_boolean(t.security_only));
        if (o && !strcmp(rel.kind, "bulwark") && t.has_sbom) {
            bw_hex(hex, t.sbom, sizeof(t.sbom));
            json_object_set_new(o, "sbom_sha256", json_string(hex));
            json_object_set_new(o, "sbom_stored",
                                json_boolean(!gw_blob_path(q->st->conf.blob_dir, hex, path,
                                                           sizeof(path)) &&
                                             access(path, F_OK) == 0));
        }
        gw_json(r, 200, dump(o));
    }
}

/*
 * /api/v1/releases/{id}/sbom. PUT (release role; the body is the SBOM):
 * stored only if its SHA-256 is the digest the release's signed manifest
 * names, so the gateway serves no SBOM the maker did not sign for. GET:
 * the stored SBOM (404 if the manifest names none or none was uploaded).
 */
void gw_h_op_release_sbom(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    const struct gw_db_ops *ops;
    struct gw_release rel;
    struct gw_release_text t;
    const uint8_t *want = t.sbom;
    char hex[GW_DIGEST_HEX_LEN + 1];
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (ops->release_get(h, q->id, &rel)) {
        gw_error(r, 404, "not_found", "no such release");
        return;
    }
    rc = strcmp(rel.kind, "bulwark") ? BW_E_NOTFOUND : gw_release_text(c->blob_dir, rel.digest, &t);
    if (!rc && !t.has_sbom)
        rc = BW_E_NOTFOUND;
    if (rc) {
        gw_error(r, rc == BW_E_NOTFOUND ? 404 : 503, "no_sbom",
                 rc == BW_E_NOTFOUND ? "the release's manifest names no SBOM"
                                     : "the release package cannot be read");
        return;
    }
    bw_hex(hex, want, BW_SHA256_LEN);
    if (strcmp(q->method, "PUT") != 0) {
        char path[4096];

        if (gw_blob_path(c->blob_dir, hex, path, sizeof(path)) || access(path, F_OK) != 0) {
            gw_error(r, 404, "no_sbom", "the release's SBOM was not uploaded");
            return;
        }
        gw_send_blob(q, r, hex);
        return;
    }
    if (!need(q, r, ops, h, GW_ROLE_RELEASE))
        return;
    if (!q->upload_path) {
        gw_error(r, 400, "upload", "the SBOM is the request body");
        return;
    }
    rc = gw_blob_store_expect(q->upload_path, c->blob_dir, want);
    if (rc) {
        char msg[160];

        snprintf(msg, sizeof(msg), "SBOM refused: %s (%s)",
                 rc == BW_E_DIGEST ? "its SHA-256 is not the one the release's manifest signs"
                                   : bw_strerror(rc),
                 bw_errname(rc));
        audit(q, ops, h, "release.sbom_refused", rel.name, bw_errname(rc));
        gw_error(r, 422, "sbom", msg);
        return;
    }
    audit(q, ops, h, "release.sbom", rel.name, hex);
    {
        json_t *o = json_pack("{s:I,s:s}", "release", (json_int_t)rel.id, "sbom_sha256", hex);

        gw_json(r, 201, dump(o));
    }
}

/*
 * PUT /api/v1/releases/{id}/deltas/{source} (release role; the body is a
 * delta made offline with `bulwark delta make`): stored only if its
 * envelope is the release's own signed envelope and it was made against
 * the image source's manifest signs. Devices reporting source's sequence
 * are then offered it beside the full package (docs/gateway.md).
 */
/* The release {id} and the source release the path's '*' names, both
 * bulwark packages; 0 after a 404. */
static int delta_pair(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                      struct gw_release *rel, struct gw_release *src)
{
    char sid[24];
    uint64_t v;

    snprintf(sid, sizeof(sid), "%.*s", (int)(q->cap_len[0] < 23 ? q->cap_len[0] : 23),
             q->cap[0] ? q->cap[0] : "");
    if (ops->release_get(h, q->id, rel) || bwh_parse_u64(sid, &v) || v > INT64_MAX ||
        ops->release_get(h, (int64_t)v, src) || strcmp(rel->kind, "bulwark") ||
        strcmp(src->kind, "bulwark")) {
        gw_error(r, 404, "not_found", "no such bulwark release or source release");
        return 0;
    }
    return 1;
}

void gw_h_op_release_delta(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    const struct gw_db_ops *ops;
    struct gw_release rel, src, blob;
    struct gw_delta_info info;
    char msg[200];
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h) || !need(q, r, ops, h, GW_ROLE_RELEASE) ||
        !delta_pair(q, r, ops, h, &rel, &src))
        return;
    if (!q->upload_path) {
        gw_error(r, 400, "upload", "the delta is the request body");
        return;
    }
    rc = gw_delta_check(c->blob_dir, q->upload_path, &rel, &src, &info);
    if (!rc)
        rc = gw_release_store_artifact(q->upload_path, c->blob_dir, "delta", rel.name,
                                       q->operator_name, &blob);
    if (!rc) {
        memcpy(info.digest, blob.digest, sizeof(info.digest));
        rc = gw_delta_record(c->blob_dir, &rel, &info);
    }
    if (rc) {
        snprintf(msg, sizeof(msg), "delta refused: %s (%s)",
                 rc == BW_E_INVAL    ? "its envelope is not the release's signed envelope"
                 : rc == BW_E_DIGEST ? "it was not made against the source release's image"
                                     : bw_strerror(rc),
                 bw_errname(rc));
        audit(q, ops, h, "release.delta_refused", rel.name, bw_errname(rc));
        gw_error(r, 422, "delta", msg);
        return;
    }
    audit(q, ops, h, "release.delta", rel.name, info.digest);
    {
        json_t *o = json_pack("{s:I,s:I,s:I,s:s,s:I,s:I}", "release", (json_int_t)rel.id,
                              "source_release", (json_int_t)src.id, "source_sequence",
                              (json_int_t)src.sequence, "sha256", info.digest, "size",
                              (json_int_t)info.size, "predicted", (json_int_t)info.predicted);

        gw_json(r, 201, dump(o));
    }
}

/*
 * POST /api/v1/releases/{id}/deltas/{source}/build (release role): the
 * gateway builds the delta itself, in the background (delta_build.h):
 * 202 and the status; 200 when it is ready already. GET (viewer): the
 * status: "ready" (with the delta's digest, size and predicted bytes),
 * "queued", "building", "failed" (with why) or "none".
 */
void gw_h_op_release_delta_build(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    struct gw_release rel, src;
    struct gw_delta_info info;
    enum gw_dbuild_state bs;
    char err[256];
    int post = !strcmp(q->method, "POST"), ready;
    json_t *o;
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h) || (post && !need(q, r, ops, h, GW_ROLE_RELEASE)) ||
        !delta_pair(q, r, ops, h, &rel, &src))
        return;
    if (src.id == rel.id || src.sequence >= rel.sequence) {
        gw_error(r, 409, "source",
                 src.id == rel.id ? "a delta's source is another release"
                                  : "a delta's source must be older (a lower sequence) than the release");
        return;
    }
    ready = !gw_delta_find(q->st->conf.blob_dir, &rel, (uint64_t)src.sequence, &info);
    if (post && !ready) {
        rc = gw_dbuild_request(q->st, rel.id, src.id, src.sequence);
        if (rc) {
            gw_error(r, 503, "busy", "the delta build queue is full: try again later");
            return;
        }
        snprintf(err, sizeof(err), "source %s (sequence %" PRId64 ")", src.name, src.sequence);
        audit(q, ops, h, "release.delta_build", rel.name, err);
    }
    bs = gw_dbuild_status(q->st, rel.id, src.id, err, sizeof(err));
    o = json_pack("{s:I,s:I,s:I,s:s}", "release", (json_int_t)rel.id, "source_release",
                  (json_int_t)src.id, "source_sequence", (json_int_t)src.sequence, "status",
                  ready ? "ready" : gw_dbuild_state_name(bs));
    if (o && ready) {
        json_object_set_new(o, "sha256", json_string(info.digest));
        json_object_set_new(o, "size", json_integer((json_int_t)info.size));
        json_object_set_new(o, "predicted", json_integer((json_int_t)info.predicted));
    } else if (o && bs == GW_DBUILD_FAILED) {
        json_object_set_new(o, "error", json_string(err));
    }
    if (post && !ready)
        snprintf(r->extra_header, sizeof(r->extra_header),
                 "Location: /api/v1/releases/%" PRId64 "/deltas/%" PRId64 "/build", rel.id, src.id);
    gw_json(r, post && !ready ? 202 : 200, dump(o));
}

static const char *camp_state_name(enum gw_campaign_state s)
{
    static const char *const n[] = {"running", "paused",      "cancelled",      "done",
                                    "aborted", "rolled_back", "cannot_complete"};

    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "unknown";
}

/* the guard rails that are set, as the create body names them, and what
 * the registry set: the rollback links and why the campaign ended */
static void campaign_rails(json_t *o, const struct gw_campaign *cp)
{
    unsigned on = cp->abort_on ? cp->abort_on : GW_FAIL_ALL, named = 0;
    json_t *a;
    size_t i;

    if (cp->abort_pct) {
        json_object_set_new(o, "abort_failure_pct", json_integer(cp->abort_pct));
        json_object_set_new(o, "abort_min_executed", json_integer(cp->abort_min));
        a = json_array();
        for (i = 0; i < gw_fail_kinds_n; i++) /* each kind once */
            if (on & gw_fail_kinds[i].bit & ~named) {
                named |= gw_fail_kinds[i].bit;
                json_array_append_new(a, json_string(gw_fail_kinds[i].name));
            }
        json_object_set_new(o, "abort_on", a);
    }
    if (cp->ramp_base) {
        json_object_set_new(o, "ramp_base", json_integer(cp->ramp_base));
        json_object_set_new(o, "ramp_factor", json_real(cp->ramp_factor10 / 10.0));
        json_object_set_new(o, "ramp_on",
                            json_string(cp->ramp_on == GW_RAMP_NOTIFIED ? "notified" : "succeeded"));
    }
    if (cp->rollback_release)
        json_object_set_new(o, "rollback_release", json_integer(cp->rollback_release));
    json_object_set_new(o, "dynamic", json_boolean(cp->dynamic));
    json_object_set_new(o, "priority", json_integer(cp->priority));
    if (cp->rollback_of)
        json_object_set_new(o, "rollback_of", json_integer(cp->rollback_of));
    if (cp->rollback_id)
        json_object_set_new(o, "rollback_campaign", json_integer(cp->rollback_id));
    if (cp->reason[0])
        json_object_set_new(o, "reason", json_string(cp->reason));
}

static json_t *campaign_obj(const struct gw_campaign *cp, const struct gw_counts *k)
{
    static const char *const names[] = {"scheduled", "offered", "running", "success", "failure",
                                        "cancelled"};
    json_t *o = json_object(), *cnt = json_object();
    int i;

    json_object_set_new(o, "id", json_integer(cp->id));
    json_object_set_new(o, "name", json_string(cp->name));
    json_object_set_new(o, "release_id", json_integer(cp->release_id));
    json_object_set_new(o, "state", json_string(camp_state_name(cp->state)));
    json_object_set_new(o, "type", json_string(cp->type == GW_ACT_FORCED ? "forced"
                                               : cp->type == GW_ACT_SOFT ? "soft"
                                                                          : "download-only"));
    json_object_set_new(o, "batch_size", json_integer(cp->batch_size));
    json_object_set_new(o, "current_batch", json_integer(cp->current_batch));
    json_object_set_new(o, "success_threshold", json_integer(cp->success_threshold_pct));
    json_object_set_new(o, "error_threshold", json_integer(cp->error_threshold_pct));
    if (cp->window_start >= 0) {
        json_object_set_new(o, "window_start", json_integer(cp->window_start));
        json_object_set_new(o, "window_end", json_integer(cp->window_end));
    }
    json_object_set_new(o, "created", json_integer(cp->created));
    campaign_rails(o, cp);
    {
        json_error_t je;
        json_t *f = json_loads(cp->filter, 0, &je);

        json_object_set_new(o, "filter", f ? f : json_object());
    }
    for (i = 0; i < 6; i++)
        json_object_set_new(cnt, names[i], json_integer(k ? k->n[i] : 0));
    json_object_set_new(o, "actions", cnt);
    if (cp->install_later)
        json_object_set_new(o, "install_later", json_true());
    if (cp->consent)
        json_object_set_new(o, "consent", json_true());
    cnt = json_object(); /* the open actions by what their device waits for */
    for (i = 1; i < GW_HOLD_COUNT; i++)
        json_object_set_new(cnt, gw_hold_names[i], json_integer(k ? k->held[i] : 0));
    json_object_set_new(o, "waiting", cnt);
    return o;
}

static void delta_cb(void *arg, const struct gw_delta_info *info)
{
    json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:I,s:I}", "source_release",
                          (json_int_t)info->source_release, "source_sequence",
                          (json_int_t)info->source_sequence, "status", "ready", "delta_sha256",
                          info->digest, "delta_size", (json_int_t)info->size, "predicted",
                          (json_int_t)info->predicted);

    if (o)
        json_array_append_new(arg, o);
}

/* a source the builder has queued, is building or failed, unless a
 * delta for its sequence is ready (listed already) */
static void build_cb(void *arg, int64_t src_id, int64_t src_seq, enum gw_dbuild_state s,
                     const char *err)
{
    json_t *by = arg, *e, *o;
    size_t i;

    json_array_foreach(by, i, e)
        if (json_integer_value(json_object_get(e, "source_sequence")) == src_seq)
            return;
    o = json_pack("{s:I,s:I,s:s}", "source_release", (json_int_t)src_id, "source_sequence",
                  (json_int_t)src_seq, "status", gw_dbuild_state_name(s));
    if (o && s == GW_DBUILD_FAILED)
        json_object_set_new(o, "error", json_string(err));
    if (o)
        json_array_append_new(by, o);
}

/* What the campaign costs on the wire (docs/delta.md): the full package,
 * fetched by every device that runs a release no delta was made against,
 * and per source release with a delta the bytes a device running it is
 * predicted to fetch. */
static void campaign_transfer(json_t *o, struct gw_state *st, const struct gw_db_ops *ops,
                              void *h, int64_t release_id)
{
    const struct gw_conf *c = &st->conf;
    struct gw_release rel;
    json_t *t, *by;

    if (ops->release_get(h, release_id, &rel))
        return;
    t = json_object();
    by = json_array();
    json_object_set_new(t, "full", json_integer(rel.size));
    if (!strcmp(rel.kind, "bulwark")) {
        gw_delta_each(c->blob_dir, &rel, delta_cb, by);
        gw_dbuild_each(st, rel.id, build_cb, by);
    }
    json_object_set_new(t, "by_source", by);
    json_object_set_new(o, "transfer", t);
}

static void campaign_cb(void *arg, const struct gw_campaign *cp, const struct gw_counts *k)
{
    json_array_append_new(arg, campaign_obj(cp, k));
}

/* /api/v1/campaigns[/...] */
void gw_h_op_campaigns(struct gw_req *q, struct gw_resp *r)
{
    const char *rest = q->path + strlen("/api/v1/campaigns");
    const struct gw_db_ops *ops;
    struct gw_campaign cp;
    struct gw_counts k;
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;

    if (!*rest && !strcmp(q->method, "POST")) {
        const char *why = "";

        if (!need(q, r, ops, h, GW_ROLE_RELEASE))
            return;
        rc = gw_parse_campaign(q->body, q->body_len, &cp, &why);
        if (rc) {
            gw_error_rc(r, rc, "json", why);
            return;
        }
        if (q->st->conf.tuf_dir[0]) { /* only a signed target becomes a campaign */
            struct gw_release rel;
            char tw[512];

            if (ops->release_get(h, cp.release_id, &rel)) {
                gw_error(r, 404, "not_found", "no such release");
                return;
            }
            if (gw_tuf_release_ok(q->st, &rel, tw, sizeof(tw)) != BW_OK) {
                gw_error(r, 409, "not_a_signed_target", tw);
                return;
            }
        }
        rc = ops->campaign_create(h, &cp, (int64_t)time(NULL));
        if (rc == BW_E_NOTFOUND) {
            gw_error(r, 404, "not_found", "no such release");
            return;
        }
        if (rc) {
            gw_error_rc(r, rc, "registry", ops->error(h));
            return;
        }
        audit(q, ops, h, "campaign.create", cp.name, cp.filter);
        gw_dbuild_kick(q->st); /* the deltas its devices need, in the background */
        rc = ops->campaign_get(h, cp.id, &cp, &k);
        gw_json(r, 201, dump(campaign_obj(&cp, rc ? NULL : &k)));
        return;
    }
    if (!*rest && !strcmp(q->method, "GET")) {
        int64_t off, lim;
        json_t *arr;

        if (paging(q, r, &off, &lim))
            return;
        arr = json_array();
        rc = ops->campaign_list(h, off, lim, campaign_cb, arr);
        if (!rc) { /* after the listing: no registry read inside its callback */
            size_t i;
            json_t *o;

            json_array_foreach(arr, i, o)
                campaign_transfer(o, q->st, ops, h,
                                  (int64_t)json_integer_value(json_object_get(o, "release_id")));
        }
        list_answer(r, ops, h, arr, rc);
        return;
    }
    if (rest[0] == '/') {
        char *e;
        long long id = strtoll(rest + 1, &e, 10);

        if (id <= 0 || (rc = ops->campaign_get(h, id, &cp, &k))) {
            gw_error(r, 404, "not_found", "no such campaign");
            return;
        }
        if (!*e && !strcmp(q->method, "GET")) {
            json_t *o = campaign_obj(&cp, &k);

            campaign_transfer(o, q->st, ops, h, cp.release_id);
            gw_json(r, 200, dump(o));
            return;
        }
        if (!strcmp(q->method, "POST") &&
            (!strcmp(e, "/pause") || !strcmp(e, "/resume") || !strcmp(e, "/cancel"))) {
            enum gw_campaign_state st = !strcmp(e, "/pause")    ? GW_CAMP_PAUSED
                                        : !strcmp(e, "/resume") ? GW_CAMP_RUNNING
                                                                : GW_CAMP_CANCELLED;

            if (!need(q, r, ops, h, GW_ROLE_RELEASE))
                return;
            rc = ops->campaign_set_state(h, id, st);
            if (rc == BW_E_STATE) {
                gw_error(r, 409, "state", "the campaign is finished");
                return;
            }
            if (rc) {
                gw_error(r, 503, "registry", ops->error(h));
                return;
            }
            audit(q, ops, h, e[1] == 'p' ? "campaign.pause" : e[1] == 'r' ? "campaign.resume"
                                                                           : "campaign.cancel",
                  cp.name, "");
            rc = ops->campaign_get(h, id, &cp, &k);
            gw_json(r, 200, dump(campaign_obj(&cp, rc ? NULL : &k)));
            return;
        }
        if (go_word(q, r, ops, h, e, NULL, id, cp.name))
            return;
    }
    gw_error(r, 404, "not_found", "no such resource");
}

static void audit_cb(void *arg, int64_t id, int64_t t, const char *actor, const char *action,
                     const char *object, const char *detail)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "time", json_integer(t));
    json_object_set_new(o, "actor", json_string(actor));
    json_object_set_new(o, "action", json_string(action));
    json_object_set_new(o, "object", json_string(object));
    json_object_set_new(o, "detail", json_string(detail));
    json_array_append_new(arg, o);
}

/* Method: the registry first (the refusals are audited there), then the
 * token, then the route's least role; a finer role is the handler's to
 * check where it depends on the object. */
int gw_auth_operator(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    void *h;

    if (!gw_registry(q, r, &ops, &h))
        return 0;
    if (!operator_authenticate(q)) {
        audit_refused(q, ops, h, 401,
                      q->authorization ? "unknown operator token" : "no operator token");
        gw_error(r, 401, "token", "an operator token (Authorization: Bearer) is required");
        return 0;
    }
    return need(q, r, ops, h, q->min_role);
}

void gw_h_op_whoami(struct gw_req *q, struct gw_resp *r)
{
    static const char *const roles[] = {"none", "viewer", "release-manager", "admin"};

    gw_json(r, 200, dump(json_pack("{s:s,s:s}", "name", q->operator_name, "role",
                                   roles[q->role & 3])));
}

/* GET /api/v1/audit?after=ID&limit=N: oldest first from there (to follow
 * the log); without after, the newest, newest first */
void gw_h_op_audit(struct gw_req *q, struct gw_resp *r)
{
    const char *after = arg(q, "after");
    const struct gw_db_ops *ops;
    int64_t off, lim, from = 0;
    json_t *arr;
    void *h;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (paging(q, r, &off, &lim))
        return;
    if (off) { /* the log pages by id: an offset would be ignored */
        gw_error(r, 400, "paging", "the audit log pages with after=ID&limit=N");
        return;
    }
    if (after && strict_id(after, strlen(after), &from) && strcmp(after, "0")) {
        gw_error(r, 400, "paging", "after must be an audit entry id (a decimal number)");
        return;
    }
    arr = json_array();
    list_answer(r, ops, h, arr,
                after ? ops->audit_list(h, from, lim, audit_cb, arr)
                      : ops->audit_recent(h, lim, audit_cb, arr));
}

/* ---- CRA: VEX statements, fleet exposure, CSAF advisories ---------------- */

#define VEX_DOC_MAX (16u << 20)

static pthread_mutex_t csaf_lock = PTHREAD_MUTEX_INITIALIZER; /* documents.json */

static int all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* CSAF 2.0 section 5.1: the file name of a tracking id */
static void csaf_name(const char *tid, char *out, size_t cap)
{
    size_t o = 0;

    for (; *tid && o + 6 < cap; tid++) {
        char c = *tid >= 'A' && *tid <= 'Z' ? (char)(*tid + 32) : *tid;

        out[o++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-')
                       ? c
                       : '_';
    }
    snprintf(out + o, cap - o, ".json");
}

/* blob_dir/csaf/white/YEAR, each level created when missing */
static bw_err csaf_dirs(const char *blob_dir, const char *year)
{
    char p[GW_PATH_MAX + 64];

    snprintf(p, sizeof(p), "%s/csaf", blob_dir);
    if (mkdir(p, 0755) && errno != EEXIST)
        return BW_E_IO;
    snprintf(p, sizeof(p), "%s/csaf/white", blob_dir);
    if (mkdir(p, 0755) && errno != EEXIST)
        return BW_E_IO;
    snprintf(p, sizeof(p), "%s/csaf/white/%.4s", blob_dir, year);
    if (mkdir(p, 0755) && errno != EEXIST)
        return BW_E_IO;
    return BW_OK;
}

/* index.txt (one path a line) and changes.csv ("path","time", newest
 * first) from documents.json {path: current_release_date} */
static bw_err csaf_write_lists(const char *blob_dir, const json_t *idx)
{
    char p[GW_PATH_MAX + 64], *txt = NULL, *csv = NULL;
    size_t tl = 0, cl = 0, n = json_object_size(idx), i, j;
    const char **keys = bwh_calloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *v;
    bw_err rc = BW_E_NOMEM;

    if (!keys)
        return rc;
    i = 0;
    json_object_foreach((json_t *)idx, k, v)
        keys[i++] = k;
    for (i = 1; i < n; i++) /* newest first: insertion sort on the time */
        for (j = i; j > 0 && strcmp(json_string_value(json_object_get(idx, keys[j - 1])),
                                    json_string_value(json_object_get(idx, keys[j]))) < 0;
             j--) {
            const char *t = keys[j];

            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    txt = bwh_malloc(n * 330 + 1);
    csv = bwh_malloc(n * 400 + 1);
    if (!txt || !csv)
        goto out;
    txt[0] = csv[0] = 0;
    for (i = 0; i < n; i++) {
        tl += (size_t)snprintf(txt + tl, 330, "%.320s\n", keys[i]);
        cl += (size_t)snprintf(csv + cl, 400, "\"%.320s\",\"%.40s\"\n", keys[i],
                               json_string_value(json_object_get(idx, keys[i])));
    }
    snprintf(p, sizeof(p), "%s/csaf/white/index.txt", blob_dir);
    rc = bwh_write_file_atomic(p, txt, tl, 0644);
    snprintf(p, sizeof(p), "%s/csaf/white/changes.csv", blob_dir);
    if (!rc)
        rc = bwh_write_file_atomic(p, csv, cl, 0644);
out:
    bwh_free(keys);
    bwh_free(txt);
    bwh_free(csv);
    return rc;
}

/* An uploaded JSON document (upload route) of at most cap bytes. */
static json_t *upload_json(struct gw_req *q, struct gw_resp *r, size_t cap)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    json_error_t je;
    json_t *o;

    if (!q->upload_path) {
        gw_error(r, 400, "upload", "the document is the request body");
        return NULL;
    }
    if (bwh_read_file(q->upload_path, cap, &buf, &len)) {
        gw_error(r, 413, "too_big", "the document is too large or unreadable");
        return NULL;
    }
    o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    bwh_free(buf);
    if (!json_is_object(o)) {
        json_decref(o);
        gw_error(r, 400, "json", "not a JSON object");
        return NULL;
    }
    return o;
}

static bw_err save_json(const char *path, const json_t *o)
{
    char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    bw_err rc = t ? bwh_write_file_atomic(path, t, strlen(t), 0644) : BW_E_NOMEM;

    bwh_free(t);
    return rc;
}

/*
 * PUT /api/v1/vex (release role): the maker's OpenVEX document (bulwark vex
 * openvex), kept as blob_dir/vex.json; statements name releases by the
 * SHA-256 of their package (products[].hashes["sha-256"]).
 */
void gw_h_op_vex_put(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    char path[GW_PATH_MAX + 16];
    json_t *doc, *st;
    size_t i;
    void *h;

    if (!gw_registry(q, r, &ops, &h) || !need(q, r, ops, h, GW_ROLE_RELEASE))
        return;
    doc = upload_json(q, r, VEX_DOC_MAX);
    if (!doc)
        return;
    json_array_foreach(json_object_get(doc, "statements"), i, st)
        if (!json_is_string(json_object_get(json_object_get(st, "vulnerability"), "name")) ||
            !json_is_string(json_object_get(st, "status")) ||
            !json_is_array(json_object_get(st, "products")))
            break;
    if (!json_is_string(json_object_get(doc, "@context")) ||
        !json_array_size(json_object_get(doc, "statements")) ||
        i != json_array_size(json_object_get(doc, "statements"))) {
        json_decref(doc);
        gw_error(r, 422, "openvex", "not an OpenVEX document (@context, statements with "
                                    "vulnerability.name, status and products)");
        return;
    }
    snprintf(path, sizeof(path), "%s/vex.json", q->st->conf.blob_dir);
    if (save_json(path, doc)) {
        json_decref(doc);
        gw_error(r, 503, "store", "the VEX document could not be stored");
        return;
    }
    audit(q, ops, h, "vex.put", "vex", json_string_value(json_object_get(doc, "@id")));
    gw_json(r, 200, dump(json_pack("{s:I}", "statements",
                                   (json_int_t)json_array_size(json_object_get(doc, "statements")))));
    json_decref(doc);
}

struct exposure {
    json_t *seqs;  /* affected sequence -> release name */
    json_t *devs;
    json_t *digests; /* package sha-256 -> status */
    json_t *rels;
};

static void exp_release(void *arg, const struct gw_release *rel)
{
    struct exposure *e = arg;
    const char *st = json_string_value(json_object_get(e->digests, rel->digest));
    char seq[24];

    if (!st)
        return;
    json_array_append_new(e->rels, json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)rel->id,
                                             "name", rel->name, "sequence",
                                             (json_int_t)rel->sequence, "status", st));
    if (!strcmp(st, "affected")) {
        snprintf(seq, sizeof(seq), "%" PRId64, rel->sequence);
        json_object_set_new(e->seqs, seq, json_string(rel->name));
    }
}

static void exp_device(void *arg, const struct gw_device *d)
{
    struct exposure *e = arg;
    char seq[24];
    json_t *rel;

    snprintf(seq, sizeof(seq), "%" PRId64, d->sequence);
    rel = json_object_get(e->seqs, seq);
    if (d->sequence >= 0 && rel)
        json_array_append_new(e->devs, json_pack("{s:s,s:I,s:O,s:I}", "id", d->id, "sequence",
                                                 (json_int_t)d->sequence, "release", rel,
                                                 "last_seen", (json_int_t)d->last_seen));
}

/*
 * GET /api/v1/exposure?vuln=ID: the releases the stored VEX statements
 * name for vulnerability ID (or an alias), and every registered device
 * whose installed sequence is that of an affected release.
 */
void gw_h_op_exposure(struct gw_req *q, struct gw_resp *r)
{
    const char *vuln = gw_query_arg(q, "vuln");
    const struct gw_db_ops *ops;
    char path[GW_PATH_MAX + 16], when[32];
    struct exposure e = {NULL, NULL, NULL, NULL};
    json_t *doc, *st, *p, *al;
    size_t i, j, k;
    time_t now = time(NULL);
    struct tm tm;
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;
    if (!vuln || !*vuln || strlen(vuln) > 128) {
        gw_error(r, 400, "vuln", "?vuln=ID is required");
        return;
    }
    snprintf(path, sizeof(path), "%s/vex.json", q->st->conf.blob_dir);
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (!doc) {
        gw_error(r, 404, "no_vex", "no VEX statements uploaded (PUT /api/v1/vex)");
        return;
    }
    e.seqs = json_object();
    e.devs = json_array();
    e.digests = json_object();
    e.rels = json_array();
    json_array_foreach(json_object_get(doc, "statements"), i, st) {
        const json_t *v = json_object_get(st, "vulnerability");
        const char *name = json_string_value(json_object_get(v, "name"));
        int match = name && !strcmp(name, vuln);

        json_array_foreach(json_object_get(v, "aliases"), k, al)
            match |= json_is_string(al) && !strcmp(json_string_value(al), vuln);
        if (!match)
            continue;
        json_array_foreach(json_object_get(st, "products"), j, p) {
            const char *d = json_string_value(json_object_get(json_object_get(p, "hashes"),
                                                              "sha-256"));

            if (d)
                json_object_set(e.digests, d, json_object_get(st, "status"));
        }
    }
    json_decref(doc);
    rc = ops->release_list(h, 0, -1, exp_release, &e);
    if (!rc)
        rc = ops->device_list(h, NULL, -1, 0, -1, exp_device, &e);
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
    } else {
        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        gw_json(r, 200, dump(json_pack("{s:s,s:s,s:O,s:O}", "vulnerability", vuln, "checked",
                                       when, "releases", e.rels, "devices", e.devs)));
    }
    json_decref(e.seqs);
    json_decref(e.devs);
    json_decref(e.digests);
    json_decref(e.rels);
}

/*
 * PUT /api/v1/advisories (release role): a CSAF 2.0 document (bulwark vex
 * advisory or csaf) with TLP:WHITE, published under
 * /.well-known/csaf/white/YEAR/FILE (CSAF 2.0 section 7.1.11 names: the
 * tracking id in lower case, other characters '_'), and the directory's
 * index.txt and changes.csv written again.
 */
void gw_h_op_advisory_put(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    const char *cat, *tid, *date, *tlp;
    const json_t *d;
    char dir[GW_PATH_MAX + 64], path[GW_PATH_MAX + 400], fname[300], rel[320];
    json_t *doc, *idx;
    void *h;

    if (!gw_registry(q, r, &ops, &h) || !need(q, r, ops, h, GW_ROLE_RELEASE))
        return;
    doc = upload_json(q, r, 4u << 20);
    if (!doc)
        return;
    d = json_object_get(doc, "document");
    cat = json_string_value(json_object_get(d, "category"));
    tid = json_string_value(json_object_get(json_object_get(d, "tracking"), "id"));
    date = json_string_value(json_object_get(json_object_get(d, "tracking"),
                                             "initial_release_date"));
    tlp = json_string_value(json_object_get(json_object_get(json_object_get(d, "distribution"),
                                                            "tlp"),
                                            "label"));
    if (!json_is_string(json_object_get(d, "csaf_version")) ||
        strcmp(json_string_value(json_object_get(d, "csaf_version")), "2.0") || !cat ||
        (strcmp(cat, "csaf_security_advisory") && strcmp(cat, "csaf_vex")) || !tid || !*tid ||
        strlen(tid) > 200 || !date || strlen(date) < 4 || !all_digits(date, 4)) {
        json_decref(doc);
        gw_error(r, 422, "csaf", "not a CSAF 2.0 advisory or VEX document (csaf_version, "
                                 "category, tracking.id, tracking.initial_release_date)");
        return;
    }
    if (!tlp || strcmp(tlp, "WHITE")) {
        json_decref(doc);
        gw_error(r, 422, "tlp", "only TLP:WHITE documents are published");
        return;
    }
    csaf_name(tid, fname, sizeof(fname));
    snprintf(dir, sizeof(dir), "%s/csaf/white/%.4s", q->st->conf.blob_dir, date);
    snprintf(path, sizeof(path), "%s/%s", dir, fname);
    snprintf(rel, sizeof(rel), "%.4s/%s", date, fname);
    if (csaf_dirs(q->st->conf.blob_dir, date) || save_json(path, doc)) {
        json_decref(doc);
        gw_error(r, 503, "store", "the advisory could not be stored");
        return;
    }
    /* index.txt and changes.csv list every document, newest change first;
     * one writer at a time in this process (instances sharing a blob_dir
     * should publish through one of them) */
    pthread_mutex_lock(&csaf_lock);
    snprintf(path, sizeof(path), "%s/csaf/white/documents.json", q->st->conf.blob_dir);
    idx = json_load_file(path, 0, NULL);
    if (!json_is_object(idx)) {
        json_decref(idx);
        idx = json_object();
    }
    json_object_set_new(idx, rel, json_string(json_string_value(json_object_get(
                                      json_object_get(d, "tracking"), "current_release_date"))
                                                  ? json_string_value(json_object_get(
                                                        json_object_get(d, "tracking"),
                                                        "current_release_date"))
                                                  : date));
    if (save_json(path, idx) || csaf_write_lists(q->st->conf.blob_dir, idx)) {
        pthread_mutex_unlock(&csaf_lock);
        json_decref(idx);
        json_decref(doc);
        gw_error(r, 503, "store", "the advisory index could not be written");
        return;
    }
    pthread_mutex_unlock(&csaf_lock);
    json_decref(idx);
    audit(q, ops, h, "advisory.put", tid, rel);
    gw_json(r, 201, dump(json_pack("{s:s,s:s}", "tracking_id", tid, "path", rel)));
    json_decref(doc);
}
