/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Picks the registry's database from a URL, and holds the checks both
 * databases share (names, JSON attributes and filters, state machines), so
 * SQLite and PostgreSQL refuse the same input with the same error. No SQL
 * here: that is registry_sql.c, run by registry.c.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <string.h>

#include <jansson.h>

#include "bulwark/cbor.h"

#include "parse.h"
#include "registry.h"

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

bw_err gw_db_pick(const char *url, const struct gw_db_ops **ops, const char **conninfo)
{
    if (!url || !ops || !conninfo)
        return BW_E_INVAL;
    *ops = NULL;
    *conninfo = NULL;
    if (has_prefix(url, "sqlite:")) {
        if (!url[7])
            return BW_E_INVAL;
        *ops = &gw_db_sqlite;
        *conninfo = url + 7;
    } else if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        *ops = &gw_db_pg;
        *conninfo = url; /* libpq parses the URI itself */
    } else if (has_prefix(url, "pg:")) {
        if (!url[3])
            return BW_E_INVAL;
        *ops = &gw_db_pg;
        *conninfo = url + 3;
    } else {
        return BW_E_INVAL;
    }
    return BW_OK;
}

bw_err gw__db_check_json(const char *text, int is_filter)
{
    json_error_t jerr;
    json_t *root;
    const char *key;
    json_t *val;
    bw_err rc;

    if (!text)
        return BW_E_INVAL;
    if (strnlen(text, GW_ATTRS_MAX + 1) > GW_ATTRS_MAX)
        return BW_E_TOOBIG;
    /* duplicate keys would mean different things to SQLite's json_each
     * (both) and PostgreSQL's jsonb (the last one): refuse them */
    root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    rc = BW_E_FORMAT;
    if (!root || !json_is_object(root))
        goto out;
    if (is_filter) {
        json_object_foreach(root, key, val) {
            if (!json_is_string(val))
                goto out;
        }
    }
    rc = BW_OK;
out:
    json_decref(root);
    return rc;
}

int gw__db_utf8_ok(const char *s)
{
    return bw_utf8_valid((const uint8_t *)s, strlen(s));
}

bw_err gw__db_check_text(const char *s, size_t max)
{
    if (!s)
        return BW_E_INVAL;
    if (strnlen(s, max + 1) > max)
        return BW_E_TOOBIG;
    return gw__db_utf8_ok(s) ? BW_OK : BW_E_FORMAT;
}

bw_err gw__db_check_name(const char *s, size_t max)
{
    size_t n;

    if (!s)
        return BW_E_INVAL;
    n = strnlen(s, max + 1);
    if (n == 0 || n > max || !gw__db_utf8_ok(s))
        return BW_E_INVAL;
    return BW_OK;
}

bw_err gw__db_check_hex(const char *s, size_t len)
{
    return s && gw_is_hex(s, len) ? BW_OK : BW_E_INVAL;
}

bw_err gw__db_check_device(const struct gw_device *d)
{
    if (!d)
        return BW_E_INVAL;
    if (gw__db_check_name(d->id, GW_ID_MAX))
        return BW_E_INVAL;
    if (!gw_is_hex(d->fingerprint, 64))
        return BW_E_INVAL;
    /* serial and public key are informative: bounded, may be empty */
    if (gw__db_check_text(d->serial, sizeof(d->serial) - 1) ||
        gw__db_check_text(d->pubkey, sizeof(d->pubkey) - 1) ||
        gw__db_check_text(d->version, sizeof(d->version) - 1))
        return BW_E_INVAL;
    if ((unsigned)d->status > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (strnlen(d->attrs, sizeof(d->attrs)) == sizeof(d->attrs))
        return BW_E_TOOBIG;
    return gw__db_check_json(d->attrs[0] ? d->attrs : "{}", 0);
}

bw_err gw__db_check_pending(const struct gw_device *d)
{
    bw_err e = gw__db_check_device(d);

    if (!e && d->status != GW_DEV_PENDING)
        e = BW_E_INVAL;
    return e;
}

bw_err gw__db_check_release(const struct gw_release *r)
{
    if (!r)
        return BW_E_INVAL;
    if (gw__db_check_name(r->name, GW_ID_MAX) || !gw_is_hex(r->digest, 64) || r->size < 0)
        return BW_E_INVAL;
    if (gw__db_check_text(r->vendor_id, sizeof(r->vendor_id) - 1) ||
        gw__db_check_text(r->class_id, sizeof(r->class_id) - 1) ||
        gw__db_check_text(r->uploaded_by, sizeof(r->uploaded_by) - 1))
        return BW_E_INVAL;
    if (strcmp(r->kind, "bulwark") && strcmp(r->kind, "swu") && strcmp(r->kind, "mender"))
        return BW_E_INVAL;
    if ((r->md5[0] && !gw_is_hex(r->md5, 32)) || (r->sha1[0] && !gw_is_hex(r->sha1, 40)))
        return BW_E_INVAL;
    return BW_OK;
}

bw_err gw__db_check_campaign(const struct gw_campaign *c)
{
    if (!c)
        return BW_E_INVAL;
    if (gw__db_check_name(c->name, GW_ID_MAX))
        return BW_E_INVAL;
    if ((unsigned)c->type > GW_ACT_DOWNLOAD_ONLY || c->batch_size < 1)
        return BW_E_INVAL;
    if (c->success_threshold_pct < 0 || c->success_threshold_pct > 100 ||
        c->error_threshold_pct < 0 || c->error_threshold_pct > 100)
        return BW_E_INVAL;
    if (c->window_start == -1 || c->window_end == -1) {
        if (c->window_start != c->window_end)
            return BW_E_INVAL;
    } else if (c->window_start < 0 || c->window_start >= 86400 || c->window_end < 0 ||
               c->window_end >= 86400 || c->window_start == c->window_end) {
        return BW_E_INVAL;
    }
    /* guard rails: an abort criterion is a percentage with a minimum; a
     * ramp is a base and a factor; the names "rollback of #..." are the
     * registry's own */
    if (c->abort_pct < 0 || c->abort_pct > 100 || c->abort_min < 0 ||
        c->abort_min > 100000000 || c->abort_on > GW_FAIL_ALL ||
        (!c->abort_pct && (c->abort_min || c->abort_on)))
        return BW_E_INVAL;
    if (c->ramp_base < 0 || c->ramp_base > 100000000 ||
        (c->ramp_base && (c->ramp_factor10 < 11 || c->ramp_factor10 > 50)) ||
        (!c->ramp_base && c->ramp_factor10) ||
        (c->ramp_on != GW_RAMP_SUCCEEDED && c->ramp_on != GW_RAMP_NOTIFIED))
        return BW_E_INVAL;
    if ((c->install_later != 0 && c->install_later != 1) || (c->consent != 0 && c->consent != 1))
        return BW_E_INVAL;
    if (c->rollback_release < 0 || (c->rollback_release && !c->abort_pct) ||
        c->rollback_release == c->release_id || (c->dynamic != 0 && c->dynamic != 1) ||
        c->priority < 0 || c->priority > GW_PRIORITY_MAX)
        return BW_E_INVAL;
    if (!strncmp(c->name, GW_ROLLBACK_NAME, strlen(GW_ROLLBACK_NAME)))
        return BW_E_INVAL;
    if (strnlen(c->filter, sizeof(c->filter)) == sizeof(c->filter))
        return BW_E_TOOBIG;
    return gw__db_check_json(c->filter[0] ? c->filter : "{}", 1);
}

const struct gw_fail_kind gw_fail_kinds[] = {
    {"install-refused", "install refused", GW_FAIL_INSTALL},
    {"download-refused", "download refused", GW_FAIL_DOWNLOAD},
    {"health-check", "health check failed", GW_FAIL_HEALTH},
    {"health-check", "rolled back", GW_FAIL_HEALTH},
    {"other", NULL, GW_FAIL_OTHER},
};
const size_t gw_fail_kinds_n = sizeof(gw_fail_kinds) / sizeof(gw_fail_kinds[0]);

unsigned gw__db_failure_kind(const char *feedback)
{
    const struct gw_fail_kind *k;
    size_t i;

    for (i = 0; feedback && i < gw_fail_kinds_n; i++) {
        k = &gw_fail_kinds[i];
        if (k->prefix && !strncmp(feedback, k->prefix, strlen(k->prefix)))
            return k->bit;
    }
    return GW_FAIL_OTHER;
}

const char *const gw_hold_names[GW_HOLD_COUNT] = {"", "install-later", "locked", "consent"};

/* What the agent's RUNNING reports start with while it waits (agent/cycle.c
 * writes them; DDI's execution states map to them in ddi.c). */
static const struct {
    const char *prefix;
    enum gw_hold hold;
} hold_prefixes[] = {
    {"waiting to install: ", GW_HOLD_LATER},
    {"waiting for the update lock: ", GW_HOLD_LOCKED},
    {"waiting for consent: ", GW_HOLD_CONSENT},
};

enum gw_hold gw__db_hold_kind(const char *feedback)
{
    size_t i;

    for (i = 0; feedback && i < sizeof(hold_prefixes) / sizeof(hold_prefixes[0]); i++)
        if (!strncmp(feedback, hold_prefixes[i].prefix, strlen(hold_prefixes[i].prefix)))
            return hold_prefixes[i].hold;
    return GW_HOLD_NONE;
}

int gw_action_may_install(const struct gw_action *a, int64_t now)
{
    int64_t t = gw__db_time_of_day(now), s = a->window_start, e = a->window_end;

    if (!a->install_later || (a->go & GW_GO_INSTALL))
        return 1;
    if (s < 0)
        return 0;
    return s < e ? t >= s && t < e : t >= s || t < e;
}

int gw_action_needs_consent(const struct gw_action *a)
{
    return a->consent && !(a->go & GW_GO_CONSENT);
}

bw_err gw__db_campaign_transition(enum gw_campaign_state from, enum gw_campaign_state to)
{
    if (to != GW_CAMP_RUNNING && to != GW_CAMP_PAUSED && to != GW_CAMP_CANCELLED)
        return BW_E_INVAL;
    if (from != GW_CAMP_RUNNING && from != GW_CAMP_PAUSED)
        return BW_E_STATE; /* every other state is final */
    return BW_OK;
}

bw_err gw__db_report_transition(enum gw_action_state from, enum gw_action_state to)
{
    if (to != GW_ACTION_RUNNING && to != GW_ACTION_SUCCESS && to != GW_ACTION_FAILURE)
        return BW_E_INVAL;
    if (from != GW_ACTION_OFFERED && from != GW_ACTION_RUNNING)
        return BW_E_STATE;
    return BW_OK;
}

int64_t gw__db_time_of_day(int64_t now)
{
    int64_t t = now % 86400;

    return t < 0 ? t + 86400 : t;
}

bw_err gw__db_check_audit(const char *actor, const char *action, const char *object,
                          const char *detail)
{
    bw_err e;

    if (gw__db_check_name(actor, GW_ID_MAX) || gw__db_check_name(action, GW_ID_MAX))
        return BW_E_INVAL;
    e = gw__db_check_text(object, GW_DETAIL_MAX);
    if (!e && detail)
        e = gw__db_check_text(detail, GW_DETAIL_MAX);
    return e;
}
