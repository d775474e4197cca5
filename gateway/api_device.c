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
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "delta.h"
#include "bulwark/token.h"
#include "bwh/host.h"
#include "parse.h"
#include "release.h"
#include "respond.h"

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

/* the registered key: 65 bytes of an uncompressed P-256 point, in hex */
static bw_err pub_from_hex(const char *hex, struct bw_ec_key *k)
{
    uint8_t pt[BW_P256_PUB_LEN];

    if (bw_unhex(pt, sizeof(pt), hex))
        return BW_E_KEY;
    bw_ec_key_init(k);
    return bw_ec_set_pub(k, pt, sizeof(pt));
}

/*
 * The device row a kept connection read last. Method: the registry's
 * generation (db.h, which names the handle) is taken before the row is
 * read; while a later request on the connection finds the same generation,
 * nothing was committed to the registry since the read, by any thread,
 * instance or process, so the row (its status, work and certificates
 * included) is still what a read would return, and the read is skipped.
 * Any commit (a revocation, a campaign, this device's own last_seen)
 * moves the generation and the next request reads again. Where the
 * registry cannot tell (PostgreSQL) every request reads.
 */
struct gw_device_memo {
    struct gw_db_gen gen; /* names the registry handle too */
    char fpr[sizeof(((struct gw_req *)0)->client_fpr)];
    size_t cap; /* bytes of row[] */
    /* the row without the unused rest of its attrs, which is most of a
     * struct gw_device (4 KiB): what precedes attrs, what follows it, then
     * attrs as long as it is; a kept connection holds this for its life */
    unsigned char row[];
};
#define MEMO_HEAD offsetof(struct gw_device, attrs)
#define MEMO_TAIL_AT (offsetof(struct gw_device, attrs) + sizeof(((struct gw_device *)0)->attrs))
#define MEMO_TAIL (sizeof(struct gw_device) - MEMO_TAIL_AT)

static bw_err device_read(struct gw_req *q, const struct gw_db_ops *ops, void *h,
                          struct gw_device *d)
{
    struct gw_session *s = q->session;
    struct gw_device_memo *m = s ? s->dev : NULL;
    struct gw_db_gen g;
    size_t alen, need;
    int gen_ok;
    bw_err rc;

    gen_ok = s && ops->generation && ops->generation(h, &g) == BW_OK;
    if (gen_ok && m && m->gen.theirs == g.theirs && m->gen.ours == g.ours &&
        m->gen.handle == g.handle && !strcmp(m->fpr, q->client_fpr)) {
        memcpy(d, m->row, MEMO_HEAD);
        memcpy((unsigned char *)d + MEMO_TAIL_AT, m->row + MEMO_HEAD, MEMO_TAIL);
        memcpy(d->attrs, m->row + MEMO_HEAD + MEMO_TAIL, m->cap - MEMO_HEAD - MEMO_TAIL);
        return BW_OK;
    }
    rc = ops->device_by_fingerprint(h, q->client_fpr, d);
    alen = rc ? 0 : strnlen(d->attrs, sizeof(d->attrs) - 1) + 1;
    need = MEMO_HEAD + MEMO_TAIL + alen;
    if (s && (rc || !gen_ok || (m && m->cap != need))) {
        bwh_free(s->dev); /* gone or stale: read again next time */
        s->dev = m = NULL;
    }
    if (rc || !gen_ok)
        return rc;
    if (!m) {
        m = bwh_malloc(sizeof(*m) + need);
        s->dev = m;
        if (!m)
            return BW_OK; /* no room to keep it: read again next time */
    }
    m->gen = g;
    memcpy(m->fpr, q->client_fpr, sizeof(m->fpr));
    m->cap = need;
    memcpy(m->row, d, MEMO_HEAD);
    memcpy(m->row + MEMO_HEAD, (unsigned char *)d + MEMO_TAIL_AT, MEMO_TAIL);
    memcpy(m->row + MEMO_HEAD + MEMO_TAIL, d->attrs, alen);
    return BW_OK;
}

int gw_client_device(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h)
{
    struct gw_device *d = q->device;
    bw_err rc;

    rc = device_read(q, ops, h, d);
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
    return 1;
}

/* The connection's remembered token, wiped and freed. */
static void token_drop(struct gw_session *s)
{
    if (s->token) {
        bw_wipe(s->token, s->token_len);
        bwh_free(s->token);
    }
    s->token = NULL;
    s->token_len = 0;
    s->valid = 0;
}

/* Method: certificate first (who is on the other end of the TLS
 * connection), then the registry (is that certificate a device we accept,
 * still: revocation takes effect on the next request), then the token:
 * either the one this connection already proved, or one signed now by
 * that device's key, for us, not seen before. Any failure ends the
 * request. */
int gw_auth_device(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    struct gw_device *d = q->device;
    const struct gw_db_ops *ops;
    void *h;
    struct bw_token_policy pol;
    struct bw_token_claims cl;
    struct bw_ec_key pub;
    struct gw_session *s;
    const char *tok;
    size_t tlen;
    int64_t now;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return 0;
    if (!q->client_verified) {
        gw_error(r, 401, "client_certificate", "a device certificate from the device CA is required");
        return 0;
    }
    if (!gw_client_device(q, r, ops, h))
        return 0;
    if (c->require_operational_cert && !d->op_cert) {
        gw_error(r, 403, "operational_certificate",
                 "this gateway takes operational certificates only; enroll over EST first");
        return 0;
    }
    tok = q->authorization;
    if (!tok || strncmp(tok, "Bearer ", 7)) {
        gw_error(r, 401, "token", "a device token (Authorization: Bearer JWT) is required");
        return 0;
    }
    tok += 7;
    tlen = strlen(tok);
    now = (int64_t)time(NULL);
    s = q->session;
    if (s && s->valid && s->token && s->token_len == tlen && bw_ct_equal(s->token, tok, tlen) &&
        !strcmp(s->device, d->id) && now <= s->until) {
        q->authenticated = 1;
        return 1;
    }
    if (pub_from_hex(d->pubkey, &pub)) {
        gw_error(r, 500, "registry", "registered public key is unusable");
        return 0;
    }
    bw_token_policy_init(&pol, c->token_audience, now);
    pol.sub = d->id; /* refused before it is recorded: no room spent on other names */
    rc = bw_token_verify(tok, tlen, &pub, &pol, &q->st->replay, &cl);
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
    if (s) { /* remembered when there is memory for it; verified again otherwise */
        token_drop(s);
        s->token = bwh_malloc(tlen ? tlen : 1);
        if (s->token) {
            memcpy(s->token, tok, tlen);
            s->token_len = tlen;
            s->until = cl.exp;
            snprintf(s->device, sizeof(s->device), "%s", d->id);
            s->valid = 1;
        }
    }
    q->authenticated = 1;
    return 1;
}

void gw_session_clear(struct gw_session *s)
{
    if (!s)
        return;
    token_drop(s);
    bwh_free(s->memo);
    s->memo = NULL;
    bwh_free(s->dev);
    s->dev = NULL;
}

size_t gw_idle_answer(char buf[GW_IDLE_ANSWER_MAX], uint64_t poll)
{
    int n = snprintf(buf, GW_IDLE_ANSWER_MAX, "{\"poll_interval\":%" PRIu64 ",\"action\":null}",
                     poll);

    return n > 0 && n < GW_IDLE_ANSWER_MAX ? (size_t)n : 0;
}

static char *action_json(const struct gw_action *a, const struct gw_release *rel,
                         const struct gw_delta_info *dl, uint64_t poll)
{
    char *s = NULL;
    json_t *o;

    if (!a) { /* the usual answer: nothing to do (no text from anyone in it) */
        s = bwh_malloc(GW_IDLE_ANSWER_MAX);
        if (s)
            (void)gw_idle_answer(s, poll);
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
        /* a delta made against the release the device runs: offered
         * beside the full package, which stays its fallback */
        if (dl) {
            char url[128];
            json_t *dj = json_object();

            snprintf(url, sizeof(url), "/api/v1/device/delta/%s", dl->digest);
            json_object_set_new(dj, "download", json_string(url));
            json_object_set_new(dj, "sha256", json_string(dl->digest));
            json_object_set_new(dj, "size", json_integer((json_int_t)dl->size));
            json_object_set_new(dj, "predicted", json_integer((json_int_t)dl->predicted));
            json_object_set_new(act, "delta", dj);
        }
        /* the device's say (docs/protocol.md): present only when it applies */
        if (!gw_action_may_install(a, (int64_t)time(NULL)))
            json_object_set_new(act, "install", json_string("later"));
        if (a->go & GW_GO_OVERRIDE)
            json_object_set_new(act, "lock", json_string("override"));
        if (gw_action_needs_consent(a))
            json_object_set_new(act, "consent", json_string("required"));
        json_object_set_new(o, "action", act);
    } else {
        json_object_set_new(o, "action", json_null());
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/*
 * A check-in body the connection sent before, as parsed then. A device
 * sends the same bytes on every poll until it has something new to say,
 * and parsing them (jansson builds and frees a tree) was a tenth of a
 * poll's work in user space; the same bytes parse to the same result, so
 * they are parsed once per connection. Kept only for bodies of at most
 * CHECKIN_MEMO_MAX bytes without attributes (the poll of an agent that
 * reported its attributes already); anything else is parsed every time.
 */
#define CHECKIN_MEMO_MAX 256
struct gw_checkin_memo {
    size_t len;
    uint8_t body[CHECKIN_MEMO_MAX];
    char version[GW_ID_MAX + 1];
    int64_t sequence;
};

static const struct gw_checkin_memo *memo_find(const struct gw_req *q)
{
    const struct gw_checkin_memo *m = q->session ? q->session->memo : NULL;

    if (m && q->body && m->len == q->body_len && !memcmp(m->body, q->body, m->len))
        return m;
    return NULL;
}

static void memo_keep(struct gw_req *q, const struct gw_checkin *ci)
{
    struct gw_session *s = q->session;

    if (!s || ci->has_attrs || !q->body || q->body_len > CHECKIN_MEMO_MAX)
        return;
    if (!s->memo)
        s->memo = bwh_malloc(sizeof(*s->memo));
    if (!s->memo)
        return;
    s->memo->len = q->body_len;
    memcpy(s->memo->body, q->body, q->body_len);
    memcpy(s->memo->version, ci->version, sizeof(s->memo->version));
    s->memo->sequence = ci->sequence;
}

/* POST /api/v1/device/checkin {"version","sequence","attributes":{}} ->
 * {"poll_interval":N,"action":{...}|null} */
void gw_h_device_checkin(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    const struct gw_device *d = q->device;
    const struct gw_db_ops *ops;
    const struct gw_checkin_memo *m;
    struct gw_checkin *ci = NULL;
    void *h;
    const char *why = "", *version, *attrs = NULL;
    int64_t sequence;
    struct gw_action a;
    struct gw_release rel;
    struct gw_delta_info dl;
    uint64_t running;
    int has_delta;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;
    m = memo_find(q);
    if (m) {
        version = m->version;
        sequence = m->sequence;
    } else {
        ci = bwh_malloc(sizeof(*ci));
        if (!ci) {
            gw_error(r, 503, "nomem", "out of memory");
            return;
        }
        rc = gw_parse_checkin(q->body, q->body_len, ci, &why);
        if (rc) {
            bwh_free(ci);
            gw_error_rc(r, rc, "json", why);
            return;
        }
        memo_keep(q, ci);
        version = ci->version;
        sequence = ci->sequence;
        attrs = ci->has_attrs ? ci->attrs : NULL;
    }
    /* A poll that reports nothing new within half a poll interval of the
     * last one is not written: last_seen stays that fresh, and the
     * registry is spared a write per poll (most polls change nothing). */
    rc = BW_OK;
    if (strcmp(version, d->version) || sequence != d->sequence || (attrs && strcmp(attrs, d->attrs)) ||
        (int64_t)time(NULL) - d->last_seen >= (int64_t)(c->poll_interval / 2))
        rc = ops->device_checkin(h, d->id, version, sequence, attrs ? attrs : d->attrs,
                                 (int64_t)time(NULL));
    running = sequence < 0 ? UINT64_MAX : (uint64_t)sequence;
    bwh_free(ci);
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    /* the registry said, in the read that found the device, that it has
     * nothing to be handed out: no second read for the usual poll */
    rc = d->has_work ? ops->action_next(h, d->id, (int64_t)time(NULL), &a) : BW_E_NOTFOUND;
    if (rc == BW_E_NOTFOUND) {
        gw_json(r, 200, action_json(NULL, NULL, NULL, c->poll_interval));
        return;
    }
    if (rc || (rc = ops->release_get(h, a.release_id, &rel))) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    /* with TUF, only a release the targets role signed is offered: the
     * device would refuse any other, and a registry row alone (what an
     * attacker with the database can write) is not enough */
    {
        char tw[512];

        if (gw_tuf_release_ok(q->st, &rel, tw, sizeof(tw)) != BW_OK) {
            fprintf(stderr, "bulwark-gateway: action %lld for %s not offered: %s\n",
                    (long long)a.id, d->id, tw);
            gw_json(r, 200, action_json(NULL, NULL, NULL, c->poll_interval));
            return;
        }
    }
    has_delta = !strcmp(rel.kind, "bulwark") &&
                !gw_delta_find(c->blob_dir, &rel, running, &dl);
    gw_json(r, 200, action_json(&a, &rel, has_delta ? &dl : NULL, c->poll_interval));
}

/* POST /api/v1/device/actions/ID/report {"state":"running|success|failure","feedback":""} */
void gw_h_device_report(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_device *d = q->device;
    const struct gw_db_ops *ops;
    struct gw_report *rp;
    const char *why = "";
    int64_t id = q->id;
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;
    rp = bwh_malloc(sizeof(*rp));
    if (!rp) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_parse_report(q->body, q->body_len, rp, &why);
    if (rc) {
        bwh_free(rp);
        gw_error_rc(r, rc, rc == BW_E_INVAL ? "state" : "json", why);
        return;
    }
    rc = ops->action_report(h, d->id, id, rp->state, rp->feedback, (int64_t)time(NULL));
    bwh_free(rp);
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
        gw_json_lit(r, 200, "{\"ok\":true}");
}

/* GET /api/v1/device/download/SHA256: only the release the device's
 * current action offers */
/* The release the device's current action offers: 0 when the registry
 * could not be reached (answered), else 1 with *rc BW_OK and *rel, or the
 * lookup's error. */
static int offered_release(struct gw_req *q, struct gw_resp *r, struct gw_release *rel,
                           bw_err *rc)
{
    const struct gw_db_ops *ops;
    struct gw_action a;
    void *h;

    if (!gw_registry(q, r, &ops, &h))
        return 0;
    *rc = ops->action_next(h, q->device->id, (int64_t)time(NULL), &a);
    if (*rc == BW_OK)
        *rc = ops->release_get(h, a.release_id, rel);
    return 1;
}

void gw_h_device_download(struct gw_req *q, struct gw_resp *r)
{
    struct gw_release rel;
    char digest[GW_DIGEST_HEX_LEN + 1];
    bw_err rc;

    if (!offered_release(q, r, &rel, &rc))
        return;
    if (rc || q->cap_len[0] != GW_DIGEST_HEX_LEN ||
        memcmp(rel.digest, q->cap[0], GW_DIGEST_HEX_LEN) || rel.digest[GW_DIGEST_HEX_LEN]) {
        gw_error(r, 404, "not_found", "no action of this device offers that release");
        return;
    }
    memcpy(digest, rel.digest, sizeof(digest));
    gw_send_blob(q, r, digest);
}

/* GET /api/v1/device/delta/SHA256: only the delta the device's current
 * action offers it (made against the sequence it reported last) */
void gw_h_device_delta(struct gw_req *q, struct gw_resp *r)
{
    struct gw_release rel;
    struct gw_delta_info dl;
    char digest[GW_DIGEST_HEX_LEN + 1];
    bw_err rc;

    if (!offered_release(q, r, &rel, &rc))
        return;
    if (rc == BW_OK && q->device->sequence >= 0)
        rc = gw_delta_find(q->st->conf.blob_dir, &rel, (uint64_t)q->device->sequence, &dl);
    else if (rc == BW_OK)
        rc = BW_E_NOTFOUND;
    if (rc || q->cap_len[0] != GW_DIGEST_HEX_LEN || memcmp(dl.digest, q->cap[0], GW_DIGEST_HEX_LEN)) {
        gw_error(r, 404, "not_found", "no action of this device offers that delta");
        return;
    }
    memcpy(digest, dl.digest, sizeof(digest));
    gw_send_blob(q, r, digest);
}

/* Which certificate this connection authenticated with: a device confirms
 * a renewed operational certificate with it before it lets the old one go
 * (agent/est.c), with no effect on the registry. */
void gw_h_device_whoami(struct gw_req *q, struct gw_resp *r)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "id", q->device->id, "certificate",
                          q->device->op_cert ? "operational" : "birth", "fingerprint",
                          q->client_fpr);

    gw_json(r, 200, o ? json_dumps(o, JSON_COMPACT) : NULL);
    json_decref(o);
}
