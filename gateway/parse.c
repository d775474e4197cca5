/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request-body parsers (parse.h) on jansson with duplicate keys refused.
 * Strings are copied with their length checked against the registry's
 * caps; text that is stored (feedback, attributes) is kept as untrusted
 * text: the dashboard and the API escape it on the way out.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bwh/host.h"
#include "parse.h"

static int copy_str(json_t *v, char *out, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    if (!s || n >= cap || memchr(s, 0, n))
        return -1;
    memcpy(out, s, n + 1);
    return 0;
}

static json_t *load_object(const uint8_t *b, size_t n, const char **why)
{
    json_error_t je;
    json_t *o = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);

    if (!o || !json_is_object(o)) {
        json_decref(o);
        *why = "body must be one JSON object";
        return NULL;
    }
    return o;
}

bw_err gw_attrs_text(json_t *obj, char out[GW_ATTRS_MAX + 1], const char **why)
{
    const char *k;
    json_t *val;
    char *s;

    json_object_foreach(obj, k, val) {
        if (!json_is_string(val) || !*k || strlen(k) > GW_ID_MAX) {
            *why = "attributes: names of 1-64 bytes with string values";
            return BW_E_FORMAT;
        }
    }
    s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s || strlen(s) > GW_ATTRS_MAX) {
        bwh_free(s);
        *why = "attributes exceed 4096 bytes";
        return BW_E_TOOBIG;
    }
    strcpy(out, s);
    bwh_free(s);
    return BW_OK;
}

bw_err gw_parse_checkin(const uint8_t *b, size_t n, struct gw_checkin *out, const char **why)
{
    json_t *o, *v, *seq, *attrs;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    out->sequence = -1;
    o = load_object(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    v = json_object_get(o, "version");
    seq = json_object_get(o, "sequence");
    attrs = json_object_get(o, "attributes");
    if ((v && !json_is_string(v)) || (seq && !json_is_integer(seq)) ||
        (attrs && !json_is_object(attrs))) {
        *why = "version: string, sequence: integer, attributes: object";
        goto out;
    }
    if (v && copy_str(v, out->version, sizeof(out->version))) {
        *why = "version: at most 64 bytes, no NUL";
        rc = BW_E_TOOBIG;
        goto out;
    }
    if (seq) {
        if (json_integer_value(seq) < 0) {
            *why = "sequence must not be negative";
            rc = BW_E_INVAL;
            goto out;
        }
        out->sequence = (int64_t)json_integer_value(seq);
    }
    if (attrs) {
        rc = gw_attrs_text(attrs, out->attrs, why);
        if (rc)
            goto out;
        out->has_attrs = 1;
    }
    rc = BW_OK;
out:
    json_decref(o);
    return rc;
}

bw_err gw_parse_report(const uint8_t *b, size_t n, struct gw_report *out, const char **why)
{
    json_t *o, *st, *fb;
    const char *s;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    o = load_object(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    st = json_object_get(o, "state");
    fb = json_object_get(o, "feedback");
    if (!json_is_string(st) || (fb && !json_is_string(fb))) {
        *why = "{\"state\":\"running|success|failure\",\"feedback\":\"...\"}";
        goto out;
    }
    s = json_string_value(st);
    if (!strcmp(s, "running"))
        out->state = GW_ACTION_RUNNING;
    else if (!strcmp(s, "success"))
        out->state = GW_ACTION_SUCCESS;
    else if (!strcmp(s, "failure"))
        out->state = GW_ACTION_FAILURE;
    else {
        *why = "state must be running, success or failure";
        rc = BW_E_INVAL;
        goto out;
    }
    if (fb && copy_str(fb, out->feedback, sizeof(out->feedback))) {
        *why = "feedback exceeds 16384 bytes";
        rc = BW_E_TOOBIG;
        goto out;
    }
    rc = BW_OK;
out:
    json_decref(o);
    return rc;
}

int gw_is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == 0;
}

bw_err gw_parse_provision_record(const char *line, size_t n, struct gw_device *out,
                                 const char **why)
{
    json_t *o;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    o = load_object((const uint8_t *)line, n, why);
    if (!o)
        return BW_E_FORMAT;
    *why = "not a provisioning record (device_id, fingerprint_sha256, serial, public_key)";
    if (copy_str(json_object_get(o, "device_id"), out->id, sizeof(out->id)) || !out->id[0] ||
        copy_str(json_object_get(o, "fingerprint_sha256"), out->fingerprint,
                 sizeof(out->fingerprint)) ||
        !gw_is_hex(out->fingerprint, 64) ||
        copy_str(json_object_get(o, "serial"), out->serial, sizeof(out->serial)) ||
        !gw_is_hex(out->serial, strlen(out->serial)) || !out->serial[0] ||
        copy_str(json_object_get(o, "public_key"), out->pubkey, sizeof(out->pubkey)) ||
        !gw_is_hex(out->pubkey, 130) || strncmp(out->pubkey, "04", 2))
        goto out;
    strcpy(out->attrs, "{}");
    out->status = GW_DEV_ACCEPTED; /* records from our own factory */
    out->sequence = -1;
    rc = BW_OK;
out:
    json_decref(o);
    return rc;
}

static int int_field(json_t *o, const char *name, int def, int lo, int hi, int *out)
{
    json_t *v = json_object_get(o, name);

    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

/* the create body's members: anything else is refused */
static const char *const campaign_keys[] = {
    "name", "release_id", "filter", "type", "batch_size", "success_threshold",
    "error_threshold", "window", "abort_failure_pct", "abort_min_executed", "abort_on",
    "ramp_base", "ramp_factor", "ramp_on", "rollback_release", "dynamic", "priority",
    "install_later", "consent",
};

/* abort_on: a non-empty array of distinct failure kind names */
static int fail_kinds(json_t *v, unsigned *out)
{
    size_t i, j;
    json_t *e;

    *out = 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return -1;
    json_array_foreach(v, i, e) {
        for (j = 0; j < gw_fail_kinds_n; j++)
            if (json_is_string(e) && !strcmp(json_string_value(e), gw_fail_kinds[j].name))
                break;
        if (j == gw_fail_kinds_n || (*out & gw_fail_kinds[j].bit))
            return -1;
        *out |= gw_fail_kinds[j].bit;
    }
    return 0;
}

/* The guard rails of a create body (db.h, struct gw_campaign), each
 * refused on its own when out of range or without what it needs. */
static bw_err campaign_rails(json_t *o, struct gw_campaign *out, const char **why)
{
    json_t *v;
    double f;
    int min = 0;

    if (int_field(o, "abort_failure_pct", 0, 1, 100, &out->abort_pct) ||
        int_field(o, "abort_min_executed", 0, 0, 100000000, &min) ||
        int_field(o, "ramp_base", 0, 1, 100000000, &out->ramp_base) ||
        int_field(o, "priority", 0, 0, GW_PRIORITY_MAX, &out->priority)) {
        *why = "abort_failure_pct 1-100, abort_min_executed >= 0, ramp_base >= 1, priority 0-1000";
        return BW_E_INVAL;
    }
    out->abort_min = min;
    v = json_object_get(o, "abort_on");
    if (v && fail_kinds(v, &out->abort_on)) {
        *why = "abort_on: a list of install-refused, download-refused, health-check, other";
        return BW_E_INVAL;
    }
    if ((min || v) && !out->abort_pct) {
        *why = "abort_min_executed and abort_on need abort_failure_pct";
        return BW_E_INVAL;
    }
    v = json_object_get(o, "ramp_factor");
    if (v) {
        f = json_is_number(v) ? json_number_value(v) * 10 : 0;
        if (f < 11 - 1e-9 || f > 50 + 1e-9 || f - (double)(int)(f + 0.5) > 1e-6 ||
            (double)(int)(f + 0.5) - f > 1e-6) {
            *why = "ramp_factor: 1.1 to 5.0, in tenths";
            return BW_E_INVAL;
        }
        out->ramp_factor10 = (int)(f + 0.5);
    } else if (out->ramp_base) {
        out->ramp_factor10 = 20;
    }
    v = json_object_get(o, "ramp_on");
    if (v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), "notified"))
            out->ramp_on = GW_RAMP_NOTIFIED;
        else if (!json_is_string(v) || strcmp(json_string_value(v), "succeeded")) {
            *why = "ramp_on: notified or succeeded";
            return BW_E_INVAL;
        }
    }
    if ((v || json_object_get(o, "ramp_factor")) && !out->ramp_base) {
        *why = "ramp_factor and ramp_on need ramp_base";
        return BW_E_INVAL;
    }
    v = json_object_get(o, "rollback_release");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0 || !out->abort_pct ||
            json_integer_value(v) == out->release_id) {
            *why = "rollback_release: another release's id, with abort_failure_pct";
            return BW_E_INVAL;
        }
        out->rollback_release = (int64_t)json_integer_value(v);
    }
    v = json_object_get(o, "dynamic");
    if (v && !json_is_boolean(v)) {
        *why = "dynamic: true or false";
        return BW_E_INVAL;
    }
    out->dynamic = json_is_true(v);
    v = json_object_get(o, "install_later");
    if (v && !json_is_boolean(v)) {
        *why = "install_later: true or false";
        return BW_E_INVAL;
    }
    out->install_later = json_is_true(v);
    v = json_object_get(o, "consent");
    if (v && !json_is_boolean(v)) {
        *why = "consent: true or false";
        return BW_E_INVAL;
    }
    out->consent = json_is_true(v);
    return BW_OK;
}

bw_err gw_parse_campaign(const uint8_t *b, size_t n, struct gw_campaign *out, const char **why)
{
    json_t *o, *f, *w, *rel, *type;
    const char *t;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    o = load_object(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    *why = "{\"name\",\"release_id\",\"filter\":{},\"type\":\"forced|soft|download-only\","
           "\"batch_size\",\"success_threshold\",\"error_threshold\",\"window\":[start,end],"
           "guard rails: docs/gateway.md}";
    rel = json_object_get(o, "release_id");
    f = json_object_get(o, "filter");
    w = json_object_get(o, "window");
    type = json_object_get(o, "type");
    if (copy_str(json_object_get(o, "name"), out->name, sizeof(out->name)) || !out->name[0] ||
        !json_is_integer(rel) || json_integer_value(rel) <= 0 || (f && !json_is_object(f)) ||
        (type && !json_is_string(type)))
        goto out;
    out->release_id = (int64_t)json_integer_value(rel);
    {
        const char *k;
        json_t *val;
        size_t i;

        json_object_foreach(o, k, val) {
            for (i = 0; i < sizeof(campaign_keys) / sizeof(campaign_keys[0]); i++)
                if (!strcmp(k, campaign_keys[i]))
                    break;
            if (i == sizeof(campaign_keys) / sizeof(campaign_keys[0])) {
                *why = "unknown member (see docs/gateway.md, campaigns)";
                rc = BW_E_INVAL;
                goto out;
            }
        }
    }
    t = type ? json_string_value(type) : "forced";
    if (!strcmp(t, "forced"))
        out->type = GW_ACT_FORCED;
    else if (!strcmp(t, "soft"))
        out->type = GW_ACT_SOFT;
    else if (!strcmp(t, "download-only"))
        out->type = GW_ACT_DOWNLOAD_ONLY;
    else
        goto out;
    rc = BW_E_INVAL;
    if (int_field(o, "batch_size", 1000000, 1, 100000000, &out->batch_size) ||
        int_field(o, "success_threshold", 100, 0, 100, &out->success_threshold_pct) ||
        int_field(o, "error_threshold", 100, 0, 100, &out->error_threshold_pct)) {
        *why = "batch_size >= 1, thresholds 0-100";
        goto out;
    }
    rc = campaign_rails(o, out, why);
    if (rc)
        goto out;
    rc = BW_E_INVAL;
    out->window_start = out->window_end = -1;
    if (w) {
        json_t *a = json_array_get(w, 0), *z = json_array_get(w, 1);

        if (!json_is_array(w) || json_array_size(w) != 2 || !json_is_integer(a) ||
            !json_is_integer(z) || json_integer_value(a) < 0 || json_integer_value(a) >= 86400 ||
            json_integer_value(z) < 0 || json_integer_value(z) >= 86400 ||
            json_integer_value(a) == json_integer_value(z)) {
            *why = "window: [start, end] seconds of the day (UTC), start != end";
            goto out;
        }
        out->window_start = (int64_t)json_integer_value(a);
        out->window_end = (int64_t)json_integer_value(z);
    }
    if (f) {
        const char *k;
        json_t *val;
        char *s;

        json_object_foreach(f, k, val) {
            if (!json_is_string(val)) {
                *why = "filter: an object of string values";
                goto out;
            }
        }
        s = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s || strlen(s) > GW_ATTRS_MAX) {
            bwh_free(s);
            *why = "filter too long";
            rc = BW_E_TOOBIG;
            goto out;
        }
        strcpy(out->filter, s);
        bwh_free(s);
    } else {
        strcpy(out->filter, "{}");
    }
    out->state = GW_CAMP_RUNNING;
    rc = BW_OK;
out:
    json_decref(o);
    return rc;
}
