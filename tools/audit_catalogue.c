/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The requirement catalogue: compliance/catalogue.json, compiled into the
 * binary (a generated catalogue_data.c) or read from a file. Cross-
 * references are derived from the catalogue's topics: two requirements
 * that share a topic refer to each other.
 */
#include <string.h>

#include "audit.h"
#include "bwh/host.h"

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

static bw_err load_reqs(struct audit_catalogue *c, json_t *arr)
{
    size_t i, j;
    json_t *o, *q;

    c->req = bwh_calloc(json_array_size(arr) + 1, sizeof(*c->req));
    if (!c->req)
        return BW_E_NOMEM;
    json_array_foreach(arr, i, o) {
        struct audit_req *r = &c->req[c->nreq];

        if (!json_is_object(o) || !*str(o, "id") || !*str(o, "text"))
            return BW_E_FORMAT;
        r->id = str(o, "id");
        r->std = str(o, "std");
        r->ref = str(o, "ref");
        r->v2 = str(o, "v2");
        r->v3 = str(o, "v3");
        r->status = str(o, "status");
        r->cond = str(o, "cond");
        r->text = str(o, "text");
        r->control = str(o, "control");
        r->check = json_object_get(o, "check") ? str(o, "check") : NULL;
        r->feature = json_object_get(o, "feature") ? str(o, "feature") : NULL;
        r->provisional = json_is_true(json_object_get(o, "provisional"));
        if (r->check)
            r->checks[r->nchecks++] = r->check;
        json_array_foreach(json_object_get(o, "checks"), j, q) {
            if (!json_is_string(q) || !r->check ||
                r->nchecks == sizeof(r->checks) / sizeof(r->checks[0]))
                return BW_E_FORMAT; /* "checks" adds to "check" */
            r->checks[r->nchecks++] = json_string_value(q);
        }
        c->nreq++;
    }
    return BW_OK;
}

static void add_xref(struct audit_req *r, const char *id)
{
    size_t i;

    if (!strcmp(r->id, id))
        return;
    for (i = 0; i < r->nxref; i++)
        if (!strcmp(r->xref[i], id))
            return;
    if (r->nxref < sizeof(r->xref) / sizeof(r->xref[0]))
        r->xref[r->nxref++] = id;
}

static bw_err load_topics(struct audit_catalogue *c, json_t *arr)
{
    size_t i, j, k;
    json_t *t, *a, *b;

    json_array_foreach(arr, i, t) {
        json_t *ids = json_object_get(t, "ids");

        json_array_foreach(ids, j, a) {
            struct audit_req *r = (struct audit_req *)audit_catalogue_find(c, json_string_value(a));

            if (!r)
                return BW_E_FORMAT;
            json_array_foreach(ids, k, b)
                if (audit_catalogue_find(c, json_string_value(b)))
                    add_xref(r, json_string_value(b));
        }
    }
    return BW_OK;
}

static bw_err load_threats(struct audit_catalogue *c, json_t *arr)
{
    size_t i, j;
    json_t *o, *q;

    c->thr = bwh_calloc(json_array_size(arr) + 1, sizeof(*c->thr));
    if (!c->thr)
        return BW_E_NOMEM;
    json_array_foreach(arr, i, o) {
        struct audit_threat *t = &c->thr[c->nthr++];

        t->id = str(o, "id");
        t->asset = str(o, "asset");
        t->threat = str(o, "threat");
        t->likelihood = (int)json_integer_value(json_object_get(o, "likelihood"));
        t->impact = (int)json_integer_value(json_object_get(o, "impact"));
        json_array_foreach(json_object_get(o, "reqs"), j, q) {
            if (!audit_catalogue_find(c, json_string_value(q)))
                return BW_E_FORMAT;
            if (t->nreqs < sizeof(t->reqs) / sizeof(t->reqs[0]))
                t->reqs[t->nreqs++] = json_string_value(q);
        }
    }
    return BW_OK;
}

bw_err audit_catalogue_load(struct audit_catalogue *c, const char *path)
{
    json_error_t je;
    bw_err rc;

    memset(c, 0, sizeof(*c));
    if (path)
        c->root = json_load_file(path, 0, &je);
    else
        c->root = json_loadb((const char *)audit_catalogue_json, audit_catalogue_json_len, 0, &je);
    if (!c->root) {
        fprintf(stderr, "%s:%d: %s\n", path ? path : "built-in catalogue", je.line, je.text);
        return BW_E_FORMAT;
    }
    rc = BW_E_FORMAT;
    if (!json_is_array(json_object_get(c->root, "requirements")))
        goto out;
    rc = load_reqs(c, json_object_get(c->root, "requirements"));
    if (!rc)
        rc = load_topics(c, json_object_get(c->root, "topics"));
    if (!rc)
        rc = load_threats(c, json_object_get(c->root, "threats"));
out:
    if (rc == BW_E_FORMAT)
        fprintf(stderr, "%s: not a requirement catalogue\n", path ? path : "built-in catalogue");
    return rc;
}

void audit_catalogue_free(struct audit_catalogue *c)
{
    if (!c)
        return;
    bwh_free(c->req);
    bwh_free(c->thr);
    json_decref(c->root);
    memset(c, 0, sizeof(*c));
}

const struct audit_req *audit_catalogue_find(const struct audit_catalogue *c, const char *id)
{
    size_t i;

    for (i = 0; id && i < c->nreq; i++)
        if (!strcmp(c->req[i].id, id))
            return &c->req[i];
    return NULL;
}

const char *audit_feature_help(const struct audit_catalogue *c, const char *name)
{
    return json_string_value(json_object_get(json_object_get(c->root, "features"), name));
}
