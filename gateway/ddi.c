/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hawkBit DDI wire format (ddi.h): paths, bodies and answers, on jansson.
 * Parsers refuse duplicate keys and keep text as untrusted UTF-8; answers
 * are built as JSON objects, so nothing from a device is ever spliced into
 * JSON text by hand.
 */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bwh/host.h"
#include "ddi.h"
#include "parse.h"

/* ---- paths ----------------------------------------------------------------------- */

static int seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Takes the segment at *p (after its '/') into out (cap bytes with NUL);
 * *p moves to the next '/' or the end. 0 on success. */
static int take_seg(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;

    while (s[n] && s[n] != '/') {
        if (!seg_char(s[n]))
            return -1;
        n++;
    }
    if (n == 0 || n >= cap || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return -1;
    memcpy(out, s, n);
    out[n] = 0;
    *p = s + n;
    return 0;
}

static int take_id(const char **p, int64_t *id)
{
    char buf[24];
    uint64_t v = 0;
    size_t i;

    if (take_seg(p, buf, sizeof(buf)) || buf[0] < '1' || buf[0] > '9')
        return -1;
    for (i = 0; buf[i]; i++) {
        if (buf[i] < '0' || buf[i] > '9' || v > (uint64_t)(INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(buf[i] - '0');
    }
    *id = (int64_t)v;
    return 0;
}

/* *p at "/name" (or "/name" followed by '/' or the end): consumes it */
static int take_word(const char **p, const char *name)
{
    size_t n = strlen(name);

    if ((*p)[0] != '/' || strncmp(*p + 1, name, n) || ((*p)[1 + n] && (*p)[1 + n] != '/'))
        return -1;
    *p += 1 + n;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && !strcmp(s + n - m, suffix);
}

bw_err gw_ddi_route(const char *path, struct gw_ddi_path *out)
{
    /* the resources named by a word and an action id, and their feedback
     * (GW_DDI_BASE: none) */
    static const struct {
        const char *word;
        enum gw_ddi_res res, feedback;
    } actions[] = {
        {"deploymentBase", GW_DDI_DEPLOYMENT, GW_DDI_DEPLOYMENT_FEEDBACK},
        {"cancelAction", GW_DDI_CANCEL, GW_DDI_CANCEL_FEEDBACK},
        {"installedBase", GW_DDI_INSTALLED, GW_DDI_BASE},
        {"confirmationBase", GW_DDI_CONFIRM, GW_DDI_CONFIRM_FEEDBACK},
    };
    const char *p = path;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (!p || *p != '/')
        return BW_E_NOTFOUND;
    p++;
    if (take_seg(&p, out->tenant, sizeof(out->tenant)) || take_word(&p, "controller") ||
        take_word(&p, "v1"))
        return BW_E_NOTFOUND;
    if (*p++ != '/' || take_seg(&p, out->controller, sizeof(out->controller)))
        return BW_E_FORMAT;
    if (!*p) {
        out->res = GW_DDI_BASE;
        return BW_OK;
    }
    if (!take_word(&p, "configData")) {
        out->res = GW_DDI_CONFIG;
        return *p ? BW_E_FORMAT : BW_OK;
    }
    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (take_word(&p, actions[i].word))
            continue;
        out->res = actions[i].res;
        if (out->res == GW_DDI_CONFIRM && !*p) {
            out->res = GW_DDI_CONFIRM_BASE;
            return BW_OK;
        }
        if (*p++ != '/' || take_id(&p, &out->id))
            return BW_E_FORMAT;
        if (!*p)
            return BW_OK;
        if (actions[i].feedback == GW_DDI_BASE || take_word(&p, "feedback") || *p)
            return BW_E_FORMAT;
        out->res = actions[i].feedback;
        return BW_OK;
    }
    if (!take_word(&p, "softwaremodules")) {
        if (*p++ != '/' || take_id(&p, &out->id) || take_word(&p, "artifacts"))
            return BW_E_FORMAT;
        if (!*p) {
            out->res = GW_DDI_ARTIFACTS;
            return BW_OK;
        }
        if (*p++ != '/' || take_seg(&p, out->file, sizeof(out->file)) || *p)
            return BW_E_FORMAT;
        out->res = GW_DDI_ARTIFACT;
        if (ends_with(out->file, ".MD5SUM")) {
            out->file[strlen(out->file) - 7] = 0;
            out->res = GW_DDI_ARTIFACT_MD5;
        }
        return BW_OK;
    }
    return BW_E_FORMAT;
}

/* ---- bodies ---------------------------------------------------------------------- */

static json_t *load_object(const uint8_t *b, size_t n, const char **why)
{
    json_error_t je;
    json_t *o = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);

    if (!o || !json_is_object(o)) {
        json_decref(o);
        *why = "body must be one JSON object (UTF-8, no duplicate keys)";
        return NULL;
    }
    return o;
}

static int pick(const char *s, const char *const *names, size_t n)
{
    size_t i;

    for (i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return (int)i;
    return -1;
}

/* A progress count: a non-negative integer, or -1 when absent. */
static int count(json_t *v, int64_t *out)
{
    *out = -1;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

#define CUT_MARK "\n[cut: feedback over its cap]"

/* Appends s (n bytes) to f->details, cutting on a UTF-8 boundary with a
 * marker when the cap is reached. */
static void add_detail(struct gw_ddi_feedback *f, size_t *len, const char *s, size_t n)
{
    size_t room, cap = GW_FEEDBACK_MAX - (sizeof(CUT_MARK) - 1);

    if (f->truncated)
        return;
    if (*len && *len < cap)
        f->details[(*len)++] = '\n';
    room = cap - *len;
    if (n > room) {
        while (room > 0 && ((unsigned char)s[room] & 0xc0) == 0x80)
            room--; /* s[room] continues a character: cut before it */
        memcpy(f->details + *len, s, room);
        *len += room;
        memcpy(f->details + *len, CUT_MARK, sizeof(CUT_MARK));
        *len += sizeof(CUT_MARK) - 1;
        f->truncated = 1;
        return;
    }
    memcpy(f->details + *len, s, n);
    *len += n;
    f->details[*len] = 0;
}

bw_err gw_ddi_parse_feedback(const uint8_t *b, size_t n, struct gw_ddi_feedback *out,
                             const char **why)
{
    static const char *const execs[] = {"closed",  "proceeding", "canceled",   "scheduled",
                                        "rejected", "resumed",   "downloaded", "download"};
    static const char *const fins[] = {"none", "success", "failure"};
    json_t *o, *st, *res, *prog, *det, *id;
    size_t len = 0, i;
    bw_err rc = BW_E_FORMAT;
    int e, f;

    memset(out, 0, sizeof(*out));
    out->cnt = out->of = out->id = -1;
    o = load_object(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    st = json_object_get(o, "status");
    res = st ? json_object_get(st, "result") : NULL;
    if (!json_is_object(st) || (res && !json_is_object(res))) {
        *why = "status: an object with execution and result";
        goto out;
    }
    e = pick(json_string_value(json_object_get(st, "execution")), execs, 8);
    f = res ? pick(json_string_value(json_object_get(res, "finished")), fins, 3) : 0;
    if (e < 0 || f < 0) {
        *why = "status.execution or status.result.finished: not a hawkBit value";
        goto out;
    }
    out->execution = (enum gw_ddi_exec)e;
    out->finished = (enum gw_ddi_finished)f;
    prog = res ? json_object_get(res, "progress") : NULL;
    if (prog && (!json_is_object(prog) || count(json_object_get(prog, "cnt"), &out->cnt) ||
                 count(json_object_get(prog, "of"), &out->of))) {
        *why = "status.result.progress: {cnt, of} counts";
        goto out;
    }
    id = json_object_get(o, "id");
    if (json_is_integer(id) && json_integer_value(id) > 0) {
        out->id = (int64_t)json_integer_value(id);
    } else if (json_is_string(id) && json_string_length(id) > 0) {
        const char *s = json_string_value(id);
        char *end;
        long long v = strtoll(s, &end, 10);

        if (*end || v <= 0 || s[0] < '1' || s[0] > '9') {
            *why = "id: an action id";
            goto out;
        }
        out->id = v;
    } else if (id && !json_is_string(id)) {
        *why = "id: an action id";
        goto out;
    }
    det = json_object_get(st, "details");
    if (det && !json_is_array(det)) {
        *why = "status.details: an array of strings";
        goto out;
    }
    for (i = 0; det && i < json_array_size(det); i++) {
        json_t *d = json_array_get(det, i);

        if (!json_is_string(d)) {
            *why = "status.details: an array of strings";
            goto out;
        }
        add_detail(out, &len, json_string_value(d), json_string_length(d));
    }
    rc = BW_OK;
out:
    json_decref(o);
    if (rc)
        out->details[0] = 0;
    return rc;
}

bw_err gw_ddi_parse_confirmation(const uint8_t *b, size_t n, struct gw_ddi_confirmation *out,
                                 const char **why)
{
    static const char *const words[] = {"denied", "confirmed"};
    json_t *o, *det, *d;
    size_t i, len = 0;
    int c;
    struct gw_ddi_feedback *f;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    f = bwh_calloc(1, sizeof(*f)); /* add_detail's buffer */
    if (!f)
        return BW_E_NOMEM;
    o = load_object(b, n, why);
    if (!o)
        goto out;
    c = pick(json_string_value(json_object_get(o, "confirmation")), words, 2);
    if (c < 0) {
        *why = "confirmation: confirmed or denied";
        goto out;
    }
    if (json_object_get(o, "code") && !json_is_integer(json_object_get(o, "code"))) {
        *why = "code: an integer";
        goto out;
    }
    det = json_object_get(o, "details");
    if (det && !json_is_array(det)) {
        *why = "details: an array of strings";
        goto out;
    }
    json_array_foreach(det, i, d) {
        if (!json_is_string(d)) {
            *why = "details: an array of strings";
            goto out;
        }
        add_detail(f, &len, json_string_value(d), json_string_length(d));
    }
    out->confirmed = c;
    memcpy(out->details, f->details, sizeof(out->details));
    rc = BW_OK;
out:
    json_decref(o);
    bwh_free(f);
    return rc;
}

enum gw_action_state gw_ddi_state(const struct gw_ddi_feedback *f)
{
    if (f->execution == GW_DDI_CLOSED)
        return f->finished == GW_DDI_FAILURE ? GW_ACTION_FAILURE : GW_ACTION_SUCCESS;
    if (f->execution == GW_DDI_CANCELED)
        return GW_ACTION_FAILURE;
    return GW_ACTION_RUNNING;
}

bw_err gw_ddi_parse_config(const uint8_t *b, size_t n, struct gw_ddi_config *out,
                           const char **why)
{
    static const char *const modes[] = {"merge", "replace", "remove"};
    json_t *o, *mode, *data;
    bw_err rc = BW_E_FORMAT;
    int m = 0;

    memset(out, 0, sizeof(*out));
    o = load_object(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    mode = json_object_get(o, "mode");
    data = json_object_get(o, "data");
    if (mode && (m = pick(json_string_value(mode), modes, 3)) < 0) {
        *why = "mode: merge, replace or remove";
        goto out;
    }
    if (!json_is_object(data)) {
        *why = "data: an object";
        goto out;
    }
    out->mode = (enum gw_ddi_mode)m;
    rc = gw_attrs_text(data, out->data, why);
out:
    json_decref(o);
    return rc;
}

bw_err gw_ddi_apply_config(const char *attrs, const struct gw_ddi_config *c,
                           char out[GW_ATTRS_MAX + 1])
{
    json_error_t je;
    json_t *cur, *add;
    const char *k, *why = "";
    json_t *v;
    bw_err rc = BW_E_FORMAT;

    out[0] = 0;
    cur = json_loads(attrs, JSON_REJECT_DUPLICATES, &je);
    add = json_loads(c->data, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(cur) || !json_is_object(add))
        goto out;
    switch (c->mode) {
    case GW_DDI_MERGE:
        if (json_object_update(cur, add))
            goto out;
        break;
    case GW_DDI_REPLACE:
        json_decref(cur);
        cur = json_incref(add);
        break;
    case GW_DDI_REMOVE:
        json_object_foreach(add, k, v) {
            (void)v;
            json_object_del(cur, k);
        }
        break;
    }
    rc = gw_attrs_text(cur, out, &why);
out:
    json_decref(cur);
    json_decref(add);
    return rc;
}

/* ---- answers --------------------------------------------------------------------- */

void gw_ddi_sleep(uint64_t seconds, char out[9])
{
    if (seconds > 99 * 3600 + 59 * 60 + 59)
        seconds = 99 * 3600 + 59 * 60 + 59;
    snprintf(out, 9, "%02u:%02u:%02u", (unsigned)(seconds / 3600), (unsigned)(seconds / 60 % 60),
             (unsigned)(seconds % 60));
}

/* {"href": base + rest} */
static json_t *href(const char *base, const char *rest)
{
    char url[1024];

    snprintf(url, sizeof(url), "%s%s", base, rest);
    return json_pack("{s:s}", "href", url);
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return s;
}

char *gw_ddi_base_json(const char *base, uint64_t sleep_s, const struct gw_ddi_links *l)
{
    json_t *links = json_object();
    char sl[9], rest[96];

    gw_ddi_sleep(sleep_s, sl);
    if (!links)
        return NULL;
    if (l->cancel > 0) {
        snprintf(rest, sizeof(rest), "/cancelAction/%" PRId64, l->cancel);
        json_object_set_new(links, "cancelAction", href(base, rest));
    } else if (l->confirmation > 0) {
        snprintf(rest, sizeof(rest), "/confirmationBase/%" PRId64 "?c=%" PRId64, l->confirmation,
                 l->deployment_etag);
        json_object_set_new(links, "confirmationBase", href(base, rest));
    } else if (l->deployment > 0) {
        snprintf(rest, sizeof(rest), "/deploymentBase/%" PRId64 "?c=%" PRId64, l->deployment,
                 l->deployment_etag);
        json_object_set_new(links, "deploymentBase", href(base, rest));
    }
    if (l->config_data)
        json_object_set_new(links, "configData", href(base, "/configData"));
    if (l->installed > 0) {
        snprintf(rest, sizeof(rest), "/installedBase/%" PRId64, l->installed);
        json_object_set_new(links, "installedBase", href(base, rest));
    }
    return dump(json_pack("{s:{s:{s:s}},s:o}", "config", "polling", "sleep", sl, "_links", links));
}

static json_t *artifact(const char *base, const struct gw_ddi_deployment *d)
{
    char dl[GW_DDI_FILE_MAX + 64], md5[GW_DDI_FILE_MAX + 72];

    snprintf(dl, sizeof(dl), "/softwaremodules/%" PRId64 "/artifacts/%s", d->module_id, d->file);
    snprintf(md5, sizeof(md5), "%s.MD5SUM", dl);
    return json_pack("{s:s,s:{s:s,s:s,s:s},s:I,s:{s:o,s:o}}", "filename", d->file, "hashes",
                     "sha1", d->sha1, "md5", d->md5, "sha256", d->sha256, "size",
                     (json_int_t)d->size, "_links", "download", href(base, dl), "md5sum",
                     href(base, md5));
}

/* {"id":"N", KEY:{download, update, maintenanceWindow, chunks}, "actionHistory":{...}} */
static char *deployment_doc(const char *base, const struct gw_ddi_deployment *d, const char *key)
{
    static const char *const how[] = {"forced", "attempt", "skip"};
    const char *dl = d->type == GW_ACT_DOWNLOAD_ONLY ? "forced" : how[d->type == GW_ACT_SOFT];
    const char *up = d->type == GW_ACT_DOWNLOAD_ONLY || !d->window_open
                         ? "skip" /* hawkBit: outside the window, download only */
                         : how[d->type == GW_ACT_SOFT];
    char id[24];

    snprintf(id, sizeof(id), "%" PRId64, d->action_id);
    return dump(json_pack(
        "{s:s,s:{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:b,s:[o]}]},s:{s:s,s:[]}}", "id", id, key,
        "download", dl, "update", up, "maintenanceWindow",
        d->window_open ? "available" : "unavailable", "chunks", "part", "os", "version",
        d->version, "name", d->name, "encrypted", 0, "artifacts", artifact(base, d),
        "actionHistory", "status", d->history ? d->history : "RUNNING", "messages"));
}

char *gw_ddi_deployment_json(const char *base, const struct gw_ddi_deployment *d)
{
    return deployment_doc(base, d, "deployment");
}

char *gw_ddi_confirmation_json(const char *base, const struct gw_ddi_deployment *d)
{
    return deployment_doc(base, d, "confirmation");
}

char *gw_ddi_confirm_base_json(const char *base, int64_t action_id)
{
    json_t *links = json_object();
    char rest[64];

    if (links && action_id > 0) {
        snprintf(rest, sizeof(rest), "/confirmationBase/%" PRId64, action_id);
        json_object_set_new(links, "confirmationBase", href(base, rest));
    }
    return dump(json_pack("{s:{s:b},s:o}", "autoConfirm", "active", 0, "_links",
                          links ? links : json_object()));
}

char *gw_ddi_artifacts_json(const char *base, const struct gw_ddi_deployment *d)
{
    return dump(json_pack("[o]", artifact(base, d)));
}

char *gw_ddi_cancel_json(int64_t action_id)
{
    char id[24];

    snprintf(id, sizeof(id), "%" PRId64, action_id);
    return dump(json_pack("{s:s,s:{s:s}}", "id", id, "cancelAction", "stopId", id));
}
