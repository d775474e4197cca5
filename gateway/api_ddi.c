/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hawkBit DDI subset (docs/ddi.md) for SWUpdate's suricatta, on the
 * same registry, campaigns and blobs as the native device API. A device is
 * the controller id of the path; it proves it by a client certificate
 * registered to it whose CN is that id (mTLS), or by its TargetToken.
 * A device reads only its own actions and downloads only the artifact its
 * current action offers.
 */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bwh/host.h"
#include "ddi.h"
#include "respond.h"

/* Equal strings, in time that does not depend on where they differ. */
static int same_secret(const char *a, const char *b)
{
    size_t n = strlen(a), i;
    unsigned char d = 0;

    if (n != strlen(b))
        return 0;
    for (i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Method: credentials first, then the registry's word on the device, and
 * one answer (status and body) for every way this can fail, so that no one
 * learns from it whether a controller id exists, is revoked, or has a
 * token: a client certificate, when there is one, must be the named
 * device's (no falling back to a token then); otherwise its TargetToken.
 * An unknown id costs the same registry reads, hash and comparison as a
 * known one. */
static int ddi_auth(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                    const char *controller, struct gw_device *d)
{
    static const char none[65] = "----------------------------------------------------------------";
    struct gw_ddi_target t;
    uint8_t dig[BW_SHA256_LEN];
    char hex[65];
    const char *a = q->authorization;
    int found, ok = 0;
    bw_err rc;

    rc = ops->device_get(h, controller, d);
    if (rc && rc != BW_E_NOTFOUND) {
        gw_error(r, 503, "registry", "registry unavailable");
        return 0;
    }
    found = rc == BW_OK;
    if (q->client_verified) {
        ok = found && !strcmp(q->client_fpr, d->fingerprint) && !strcmp(q->client_cn, controller);
    } else if (a && !strncmp(a, "TargetToken ", 12) && a[12]) {
        memset(&t, 0, sizeof(t));
        rc = ops->ddi_get(h, controller, &t); /* for an unknown id too: the same reads */
        if (rc && rc != BW_E_NOTFOUND) {
            gw_error(r, 503, "registry", "registry unavailable");
            return 0;
        }
        if (rc || !found)
            memset(&t, 0, sizeof(t));
        if (bw_sha256(a + 12, strlen(a + 12), dig)) {
            gw_error(r, 503, "crypto", "hash failed");
            return 0;
        }
        bw_hex(hex, dig, sizeof(dig));
        ok = same_secret(hex, t.token[0] ? t.token : none) && t.token[0];
    }
    if (!ok || !found || d->status != GW_DEV_ACCEPTED) {
        gw_error(r, 401, "unauthorized",
                 "a client certificate or TargetToken of an accepted controller is required");
        return 0;
    }
    q->authenticated = 1;
    return 1;
}

/* PUBLIC-URL/TENANT/controller/v1/ID (gw_link_base: never the Host header) */
static int base_url(const struct gw_req *q, const struct gw_ddi_path *p, char *out, size_t cap)
{
    char b[sizeof(((struct gw_conf *)0)->public_url) + 8];

    if (gw_link_base(q, b, sizeof(b)))
        return -1;
    return snprintf(out, cap, "%s/%s/controller/v1/%s", b, p->tenant, p->controller) < (int)cap
               ? 0
               : -1;
}

/* The artifact's file name: the release name if it is a safe path segment */
static void file_name(const struct gw_release *rel, char out[GW_DDI_FILE_MAX + 1])
{
    size_t i;

    for (i = 0; rel->name[i]; i++) {
        char c = rel->name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            break;
    }
    if (!rel->name[i] && strcmp(rel->name, ".") && strcmp(rel->name, ".."))
        snprintf(out, GW_DDI_FILE_MAX + 1, "%s", rel->name);
    else
        snprintf(out, GW_DDI_FILE_MAX + 1, "release-%" PRId64 ".bin", rel->id);
}

/* The device's current action (OFFERED or RUNNING, or a new offer) and its
 * release, if that is an swu release; 0 if none. */
static int current(const struct gw_db_ops *ops, void *h, const char *dev, struct gw_action *a,
                   struct gw_release *rel, bw_err *err)
{
    *err = ops->action_next(h, dev, (int64_t)time(NULL), a);
    if (*err == BW_E_NOTFOUND) {
        *err = BW_OK;
        return 0;
    }
    if (!*err)
        *err = ops->release_get(h, a->release_id, rel);
    /* only what SWUpdate installs: a release of another kind (a bulwark
     * package, a Mender artifact) is not offered here */
    return *err == BW_OK && !strcmp(rel->kind, "swu");
}

static void deployment_of(const struct gw_action *a, const struct gw_release *rel,
                          const char *file, struct gw_ddi_deployment *d)
{
    memset(d, 0, sizeof(*d));
    d->action_id = a->id;
    d->type = a->type;
    /* action_next offers only inside the window, except an install-later
     * campaign's action: offered at any time, installed on the trigger or
     * in the window (update skip until then) */
    d->window_open = gw_action_may_install(a, (int64_t)time(NULL));
    d->module_id = rel->id;
    d->name = rel->name;
    d->version = rel->name;
    d->file = file;
    d->size = rel->size;
    d->sha1 = rel->sha1;
    d->md5 = rel->md5;
    d->sha256 = rel->digest;
    d->history = a->state == GW_ACTION_RUNNING ? "RUNNING" : "SCHEDULED";
}

static void base_poll(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                      const struct gw_device *d, const char *base)
{
    const struct gw_conf *c = &q->st->conf;
    struct gw_ddi_links l;
    struct gw_ddi_target t;
    struct gw_action a;
    struct gw_release rel;
    bw_err rc;

    memset(&l, 0, sizeof(l));
    if ((rc = ops->ddi_get(h, d->id, &t))) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    /* SWUpdate PUTs configData on every poll while the link is there and
     * skips the deployment in that cycle: offer it only until it came */
    l.config_data = !t.attrs_received;
    l.cancel = t.cancel_pending; /* the link wins over a deployment */
    if (current(ops, h, d->id, &a, &rel, &rc)) {
        /* the tag changes when the deployment does: its state, and the
         * trigger of an install-later action (update skip, then not) */
        l.deployment_etag = a.id * 16 + (int64_t)a.state * 2 +
                            gw_action_may_install(&a, (int64_t)time(NULL));
        if (!gw_action_needs_consent(&a))
            l.deployment = a.id;
        else /* hawkBit's WAITING_FOR_CONFIRMATION */
            l.confirmation = a.id;
        /* the registry records that wait once: RUNNING, its hold consent */
        if (l.confirmation && a.hold != GW_HOLD_CONSENT &&
            (rc = ops->action_report(h, d->id, a.id, GW_ACTION_RUNNING,
                                     "waiting for consent: asked through DDI confirmationBase",
                                     (int64_t)time(NULL)))) {
            gw_error(r, 503, "registry", ops->error(h));
            return;
        }
    } else if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    rc = ops->action_installed(h, d->id, &a);
    if (!rc)
        l.installed = a.id;
    else if (rc != BW_E_NOTFOUND) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    gw_json(r, 200, gw_ddi_base_json(base, c->poll_interval, &l));
}

/* GET deploymentBase/{id}: the device's open action; GET installedBase/{id}
 * (installed): its newest successful action, FINISHED. Any other action,
 * older or another device's, is 404. */
static void deployment(struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                       const struct gw_device *d, const char *base, int64_t id, int installed)
{
    struct gw_ddi_deployment dep;
    struct gw_action a;
    struct gw_release rel;
    char file[GW_DDI_FILE_MAX + 1];
    bw_err rc = BW_OK;

    if (installed) {
        rc = ops->action_installed(h, d->id, &a);
        if (!rc && a.id != id)
            rc = BW_E_NOTFOUND;
        if (!rc)
            rc = ops->release_get(h, a.release_id, &rel);
    } else if (!current(ops, h, d->id, &a, &rel, &rc) || a.id != id) {
        if (!rc)
            rc = BW_E_NOTFOUND;
    }
    if (rc) {
        gw_error_rc(r, rc, "not_found",
                    rc != BW_E_NOTFOUND ? ops->error(h)
                    : installed        ? "not the installed action of this device"
                                    : "no such open action");
        return;
    }
    file_name(&rel, file);
    deployment_of(&a, &rel, file, &dep);
    if (installed)
        dep.history = "FINISHED";
    gw_json(r, 200, gw_ddi_deployment_json(base, &dep));
}

/* Puts prefix (the registry's hold word, gateway/db.c) before the text in
 * buf (cap bytes), cutting the text on a UTF-8 boundary to fit. */
static void say_hold(char *buf, size_t cap, const char *prefix)
{
    size_t p = strlen(prefix) + 2, n = strlen(buf);

    if (n + p >= cap) {
        n = cap - p - 1;
        while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
            n--; /* buf[n] continues a character: cut before it */
    }
    memmove(buf + p, buf, n);
    buf[p + n] = 0;
    memcpy(buf, prefix, p - 2);
    memcpy(buf + p - 2, ": ", 2);
}

/* confirmationBase[/{id}[/feedback]]: the user's consent (hawkBit's
 * WAITING_FOR_CONFIRMATION) for the device's open action of a consent
 * campaign. Confirmed: GW_GO_CONSENT, and the deploymentBase link follows;
 * denied: the action keeps waiting (its feedback says so). */
static void confirmation(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                         const struct gw_device *d, const char *base, const struct gw_ddi_path *p)
{
    struct gw_ddi_confirmation *cf = NULL;
    struct gw_ddi_deployment dep;
    struct gw_action a;
    struct gw_release rel;
    char file[GW_DDI_FILE_MAX + 1];
    const char *why = "";
    int waiting;
    bw_err rc;

    waiting = current(ops, h, d->id, &a, &rel, &rc) && gw_action_needs_consent(&a);
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    if (p->res == GW_DDI_CONFIRM_BASE) {
        gw_json(r, 200, gw_ddi_confirm_base_json(base, waiting ? a.id : 0));
        return;
    }
    if (!waiting || a.id != p->id) {
        gw_error(r, 404, "not_found", "no action of this device waits for confirmation");
        return;
    }
    if (p->res == GW_DDI_CONFIRM) {
        file_name(&rel, file);
        deployment_of(&a, &rel, file, &dep);
        dep.history = "WAITING_FOR_CONFIRMATION";
        gw_json(r, 200, gw_ddi_confirmation_json(base, &dep));
        return;
    }
    cf = bwh_malloc(sizeof(*cf));
    if (!cf) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_ddi_parse_confirmation(q->body, q->body_len, cf, &why);
    if (rc) {
        bwh_free(cf);
        gw_error(r, 400, "json", why);
        return;
    }
    if (cf->confirmed) {
        rc = ops->action_go(h, d->id, a.id, GW_GO_CONSENT, NULL);
        if (!rc)
            say_hold(cf->details, sizeof(cf->details), "consent given (DDI)");
    } else {
        say_hold(cf->details, sizeof(cf->details), "waiting for consent: denied (DDI)");
    }
    if (!rc)
        rc = ops->action_report(h, d->id, a.id, GW_ACTION_RUNNING, cf->details,
                                (int64_t)time(NULL));
    bwh_free(cf);
    if (rc) {
        gw_error_rc(r, rc, "report", bw_errname(rc));
        return;
    }
    gw_json_lit(r, 200, "{}");
}

static void feedback(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                     const struct gw_device *d, int64_t id)
{
    struct gw_ddi_feedback *f;
    struct gw_action a;
    const char *why = "";
    enum gw_action_state st;
    bw_err rc;

    f = bwh_malloc(sizeof(*f));
    if (!f) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_ddi_parse_feedback(q->body, q->body_len, f, &why);
    if (rc || (f->id > 0 && f->id != id)) {
        bwh_free(f);
        gw_error(r, 400, "json", rc ? why : "id differs from the path");
        return;
    }
    st = gw_ddi_state(f);
    if (f->execution == GW_DDI_DOWNLOADED) { /* downloaded, the update skipped: install later */
        say_hold(f->details, sizeof(f->details), "waiting to install: downloaded (DDI)");
    } else if (st == GW_ACTION_SUCCESS && !ops->action_get(h, d->id, id, &a) &&
               a.type != GW_ACT_DOWNLOAD_ONLY && !gw_action_may_install(&a, (int64_t)time(NULL))) {
        /* served with update skip, a device closes the action (SWUpdate
         * 2022.12: closed, success, "Skipped Update."): nothing was
         * installed; the action waits for its trigger or window */
        st = GW_ACTION_RUNNING;
        say_hold(f->details, sizeof(f->details), "waiting to install: update skipped (DDI)");
    }
    rc = ops->action_report(h, d->id, id, st, f->details, (int64_t)time(NULL));
    bwh_free(f);
    /* a final state reported again (clients resend) is not an error */
    if (rc == BW_E_STATE && !ops->action_get(h, d->id, id, &a) && a.state == st)
        rc = BW_OK;
    if (rc) {
        gw_error_rc(r, rc, "report",
                    rc == BW_E_NOTFOUND ? "no such action of this device" : bw_errname(rc));
        return;
    }
    gw_json_lit(r, 200, "{}");
}

static void config_data(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                        const struct gw_device *d)
{
    struct gw_ddi_config *c;
    char *attrs;
    const char *why = "";
    bw_err rc;

    c = bwh_malloc(sizeof(*c));
    attrs = bwh_malloc(GW_ATTRS_MAX + 1);
    if (!c || !attrs) {
        bwh_free(c);
        bwh_free(attrs);
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_ddi_parse_config(q->body, q->body_len, c, &why);
    if (!rc) {
        why = "attributes exceed 4096 bytes";
        rc = gw_ddi_apply_config(d->attrs, c, attrs);
    }
    if (!rc)
        rc = ops->ddi_set_attrs(h, d->id, attrs);
    bwh_free(c);
    bwh_free(attrs);
    if (rc) {
        gw_error_rc(r, rc, "json", why);
        return;
    }
    gw_json_lit(r, 200, "{}");
}

/* GET cancelAction/{id}: a cancelled action of this device */
static void cancel_action(struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                          const struct gw_device *d, int64_t id)
{
    struct gw_action a;
    bw_err rc = ops->action_get(h, d->id, id, &a);

    if (rc || a.state != GW_ACTION_CANCELLED) {
        gw_error_rc(r, rc ? rc : BW_E_NOTFOUND, "not_found", "no such cancelled action");
        return;
    }
    gw_json(r, 200, gw_ddi_cancel_json(id));
}

/* POST cancelAction/{id}/feedback: the device stopped (closed) or could
 * not (rejected); either way the cancellation stands here and is no longer
 * offered. */
static void cancel_feedback(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops,
                            void *h, const struct gw_device *d, int64_t id)
{
    struct gw_ddi_feedback *f = bwh_malloc(sizeof(*f));
    const char *why = "";
    bw_err rc;

    if (!f) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_ddi_parse_feedback(q->body, q->body_len, f, &why);
    bwh_free(f);
    if (rc) {
        gw_error(r, 400, "json", why);
        return;
    }
    rc = ops->ddi_cancel_ack(h, d->id, id);
    if (rc) {
        gw_error_rc(r, rc, "not_found", "no such cancelled action");
        return;
    }
    gw_json_lit(r, 200, "{}");
}

/* GET softwaremodules/{release}/artifacts[/{file}[.MD5SUM]]: only of the
 * device's current action */
static void artifact(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h,
                     const struct gw_device *d, const char *base, const struct gw_ddi_path *p)
{
    struct gw_ddi_deployment dep;
    struct gw_action a;
    struct gw_release rel;
    char file[GW_DDI_FILE_MAX + 1];
    bw_err rc;

    if (!current(ops, h, d->id, &a, &rel, &rc) || rel.id != p->id) {
        gw_error_rc(r, rc ? rc : BW_E_NOTFOUND, "not_found",
                    rc ? ops->error(h) : "no action of this device offers that module");
        return;
    }
    file_name(&rel, file);
    if (p->res == GW_DDI_ARTIFACTS) {
        deployment_of(&a, &rel, file, &dep);
        gw_json(r, 200, gw_ddi_artifacts_json(base, &dep));
        return;
    }
    if (strcmp(p->file, file)) {
        gw_error(r, 404, "not_found", "no such artifact");
        return;
    }
    if (p->res == GW_DDI_ARTIFACT_MD5) {
        char *s = bwh_malloc(GW_DDI_FILE_MAX + 40);

        if (!s || !rel.md5[0]) {
            bwh_free(s);
            gw_error(r, 404, "not_found", "no MD5 recorded for this artifact");
            return;
        }
        snprintf(s, GW_DDI_FILE_MAX + 40, "%s  %s\n", rel.md5, file);
        gw_text(r, 200, "text/plain", s, strlen(s));
        return;
    }
    gw_send_blob(q, r, rel.digest);
}

/* Method: the path first (an unknown tenant or a malformed path is 404
 * for everyone), then the link base, the registry, and the controller's
 * credentials (ddi_auth). */
int gw_auth_ddi(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    const struct gw_db_ops *ops;
    struct gw_ddi_path p;
    char base[768];
    void *h;

    if (gw_ddi_route(q->path, &p) || strcmp(p.tenant, c->ddi_tenant)) {
        gw_error(r, 404, "not_found", "no such DDI resource");
        return 0;
    }
    if (base_url(q, &p, base, sizeof(base))) {
        gw_error(r, 500, "public_url", "public_url too long for a link");
        return 0;
    }
    if (!gw_registry(q, r, &ops, &h))
        return 0;
    return ddi_auth(q, r, ops, h, p.controller, q->device);
}

/* Every DDI resource of the controller gw_auth_ddi admitted */
void gw_h_ddi(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    const struct gw_device *d = q->device;
    struct gw_ddi_path p;
    char base[768]; /* public_url (511) + tenant + controller id */
    const char *m = q->method;
    void *h;

    /* gw_auth_ddi checked all three */
    if (gw_ddi_route(q->path, &p) || base_url(q, &p, base, sizeof(base)) ||
        gw_db(q->st, &ops, &h)) {
        gw_error(r, 500, "internal", "DDI request changed under its handler");
        return;
    }
    switch (p.res) {
    case GW_DDI_BASE:
        if (!strcmp(m, "GET"))
            base_poll(q, r, ops, h, d, base);
        else
            gw_error(r, 405, "method", "GET only");
        break;
    case GW_DDI_DEPLOYMENT:
        if (!strcmp(m, "GET"))
            deployment(r, ops, h, d, base, p.id, 0);
        else
            gw_error(r, 405, "method", "GET only");
        break;
    case GW_DDI_DEPLOYMENT_FEEDBACK:
        if (!strcmp(m, "POST"))
            feedback(q, r, ops, h, d, p.id);
        else
            gw_error(r, 405, "method", "POST only");
        break;
    case GW_DDI_CONFIG:
        if (!strcmp(m, "PUT"))
            config_data(q, r, ops, h, d);
        else
            gw_error(r, 405, "method", "PUT only");
        break;
    case GW_DDI_ARTIFACTS:
    case GW_DDI_ARTIFACT:
    case GW_DDI_ARTIFACT_MD5:
        if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
            artifact(q, r, ops, h, d, base, &p);
        else
            gw_error(r, 405, "method", "GET only");
        break;
    case GW_DDI_CANCEL:
        if (!strcmp(m, "GET"))
            cancel_action(r, ops, h, d, p.id);
        else
            gw_error(r, 405, "method", "GET only");
        break;
    case GW_DDI_CANCEL_FEEDBACK:
        if (!strcmp(m, "POST"))
            cancel_feedback(q, r, ops, h, d, p.id);
        else
            gw_error(r, 405, "method", "POST only");
        break;
    case GW_DDI_CONFIRM_BASE:
    case GW_DDI_CONFIRM:
        if (!strcmp(m, "GET"))
            confirmation(q, r, ops, h, d, base, &p);
        else
            gw_error(r, 405, "method", "GET only");
        break;
    case GW_DDI_CONFIRM_FEEDBACK:
        if (!strcmp(m, "POST"))
            confirmation(q, r, ops, h, d, base, &p);
        else
            gw_error(r, 405, "method", "POST only");
        break;
    case GW_DDI_INSTALLED:
        if (!strcmp(m, "GET"))
            deployment(r, ops, h, d, base, p.id, 1);
        else /* PUT installedBase (offline installs): not served, docs/ddi.md */
            gw_error(r, 405, "method", "GET only");
        break;
    default:
        gw_error(r, 404, "not_found", "not served by this gateway");
        break;
    }
}
