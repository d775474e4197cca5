/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OSCAL JSON from the audit model, as one set whose references resolve:
 * the catalogue as an OSCAL catalog, a profile importing all of it, a
 * system security plan importing the profile (its implemented
 * requirements carry the SoA decision), an assessment plan importing the
 * SSP and naming the tool, and assessment results importing the plan
 * (observations are the check evidence, findings say satisfied / not
 * satisfied, risks come from the register). EN 303 645 status and the
 * bulwark result travel as props in bulwark's namespace (OSCAL has no
 * M/R/C/F notion). Every UUID is derived from a stable id with its kind
 * ("by-component:ID", "observation:CHECK"), never from text, so reruns
 * are stable and no two objects share one. Valid against the OSCAL 1.0.6
 * and 1.1.2 JSON schemas (tests/integ/oscal_validate.py).
 */
#define _GNU_SOURCE
#include <string.h>

#include "audit.h"

#define NS "https://github.com/bulwark-iot/bulwark/ns/oscal"

/* The file names the documents use for each other (cmd_audit.c writes them). */
#define F_CATALOG "bulwark-catalog.json"
#define F_PROFILE "bulwark-profile.json"
#define F_SSP "oscal-ssp.json"
#define F_AP "oscal-ap.json"

static json_t *uuid_of(const struct audit_model *m, const char *kind, const char *id)
{
    char u[37], key[300];

    snprintf(key, sizeof(key), "%s:%s", kind, id);
    audit_uuid(u, m->device, key);
    return json_string(u);
}

static json_t *prop(const char *name, const char *value)
{
    return json_pack("{s:s,s:s,s:s}", "name", name, "ns", NS, "value", *value ? value : "-");
}

static json_t *metadata(const struct audit_model *m, const char *title)
{
    char t[600];

    snprintf(t, sizeof(t), "%.40s: %.250s %.250s", title, m->prof->product, m->prof->model);
    return json_pack("{s:s,s:s,s:s,s:s}", "title", t, "last-modified", m->when, "version",
                     *m->prof->sw_version ? m->prof->sw_version : "unversioned", "oscal-version",
                     "1.0.6");
}

static const char *impl_state(enum audit_result r)
{
    return r == AUDIT_PASS ? "implemented" : r == AUDIT_FAIL ? "planned"
                         : r == AUDIT_NA ? "not-applicable" : "partial";
}

static json_t *implemented(const struct audit_model *m, const struct audit_row *r)
{
    json_t *props = json_array(), *bc;
    char remarks[1800];

    json_array_append_new(props, prop("standard", r->req->std));
    if (*r->req->v2)
        json_array_append_new(props, prop("en303645-v2-status", r->req->v2));
    if (*r->req->v3)
        json_array_append_new(props, prop("en303645-v3-status", r->req->v3));
    if (*r->req->cond)
        json_array_append_new(props, prop("en303645-condition", r->req->cond));
    if (r->req->provisional)
        json_array_append_new(props, prop("numbering", "provisional"));
    json_array_append_new(props, prop("audit-result", audit_result_name(r->res)));
    snprintf(remarks, sizeof(remarks), "%s%s%s", r->res == AUDIT_NA ? "Not applicable: " : "",
             r->res == AUDIT_NA ? r->why : "Evidence: ", r->res == AUDIT_NA ? "" : r->evidence);
    bc = json_pack("{s:o,s:o,s:s,s:{s:s,s:s}}", "component-uuid", uuid_of(m, "component", "device"),
                   "uuid", uuid_of(m, "by-component", r->req->id), "description", r->req->control,
                   "implementation-status", "state", impl_state(r->res), "remarks", remarks);
    return json_pack("{s:o,s:s,s:o,s:[o],s:s}", "uuid",
                     uuid_of(m, "implemented-requirement", r->req->id), "control-id", r->req->id,
                     "props", props, "by-components", bc, "remarks", r->req->text);
}

bw_err audit_write_oscal_ssp(FILE *f, const struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    json_t *reqs = json_array(), *ssp;
    char desc[900];
    size_t i;
    int rc;

    for (i = 0; i < m->nrow; i++)
        json_array_append_new(reqs, implemented(m, &m->row[i]));
    snprintf(desc, sizeof(desc), "%.120s %.120s by %.120s (hardware %.60s, software %.60s), assessed by bulwark "
             "audit against EN 303 645, ISO/IEC 27402 (provisional numbering), UK PSTI, "
             "NISTIR 8259A and the EU CRA Annex I.", p->product, p->model, p->manufacturer,
             p->hw_version, p->sw_version);
    ssp = json_pack(
        "{s:{s:o,s:o,s:{s:s,s:s},s:{s:[{s:s,s:s}],s:s,s:s,s:s,s:{s:[{s:o,s:s,s:s,s:[{s:s,"
        "s:[s]}],s:{s:s},s:{s:s},s:{s:s}}]},s:{s:s,s:s,s:s},s:{s:s},s:{s:s}},s:{s:[{s:o,s:s}],s:[{s:o,s:s,s:s,s:s,"
        "s:{s:s}}]},s:{s:s,s:o}}}",
        "system-security-plan", "uuid", uuid_of(m, "document", "ssp"), "metadata",
        metadata(m, "System security plan"), "import-profile", "href", F_PROFILE, "remarks",
        "The profile selecting every requirement of the catalogue compiled into bulwark "
        "(compliance/catalogue.json, written as " F_CATALOG ").",
        "system-characteristics", "system-ids", "identifier-type", NS, "id", m->device,
        "system-name", *p->product ? p->product : "unnamed device", "description", desc,
        "security-sensitivity-level", "moderate", "system-information", "information-types",
        "uuid", uuid_of(m, "information-type", "device-secrets"), "title", "Device secrets and configuration",
        "description", "Keys, credentials, settings and the security log held on the device.",
        "categorizations", "system", "http://doi.org/10.6028/NIST.SP.800-60v2r1",
        "information-type-ids", "C.3.5.8", "confidentiality-impact", "base", "fips-199-moderate",
        "integrity-impact", "base", "fips-199-high", "availability-impact", "base",
        "fips-199-moderate", "security-impact-level",
        "security-objective-confidentiality", "moderate", "security-objective-integrity",
        "high", "security-objective-availability", "moderate", "status", "state",
        "operational", "authorization-boundary", "description",
        "One device: its software, its files and the services it exposes.",
        "system-implementation", "users", "uuid", uuid_of(m, "user", "admin"), "title",
        "Device administrator", "components", "uuid", uuid_of(m, "component", "device"), "type",
        "this-system", "title", *p->model ? p->model : "device", "description", desc, "status",
        "state", "operational", "control-implementation", "description",
        "One implemented requirement per catalogue entry; the by-component status is the "
        "Statement of Applicability decision.", "implemented-requirements", reqs);
    if (!ssp)
        return BW_E_NOMEM;
    rc = json_dumpf(ssp, f, JSON_INDENT(1));
    fputc('\n', f);
    json_decref(ssp);
    return rc ? BW_E_IO : BW_OK;
}

static json_t *observation(const struct audit_model *m, const struct audit_check *c)
{
    const char *method = !strncmp(c->name, "docs.", 5) || !strncmp(c->name, "profile.", 8) ||
                                 !strncmp(c->name, "risk.", 5) || !strncmp(c->name, "debug.", 6)
                             ? "EXAMINE"
                             : "TEST";

    return json_pack("{s:o,s:s,s:s,s:[s],s:[o],s:s}", "uuid", uuid_of(m, "observation", c->name),
                     "title",
                     c->name, "description", *c->evidence ? c->evidence : "-", "methods", method,
                     "props", prop("result", audit_result_name(c->res)), "collected", m->when);
}

static json_t *finding(const struct audit_model *m, const struct audit_row *r)
{
    char stmt[80];
    json_t *fd;

    snprintf(stmt, sizeof(stmt), "%.60s_smt", r->req->id);
    fd = json_pack("{s:o,s:s,s:s,s:{s:s,s:s,s:{s:s}}}", "uuid", uuid_of(m, "finding", r->req->id),
                   "title", r->req->id, "description", r->evidence, "target", "type",
                   "statement-id", "target-id", stmt, "status", "state",
                   r->res == AUDIT_PASS ? "satisfied" : "not-satisfied");
    if (fd && r->check)
        json_object_set_new(fd, "related-observations",
                            json_pack("[{s:o}]", "observation-uuid",
                                      uuid_of(m, "observation", r->check)));
    return fd;
}

static json_t *facet(const char *name, int v)
{
    char s[4];

    snprintf(s, sizeof(s), "%d", v);
    return json_pack("{s:s,s:s,s:s}", "name", name, "system", NS, "value", s);
}

/* A register entry as an OSCAL risk: the scores are facets in bulwark's
 * namespace. Open while no person accepted it or a check of a control it
 * relies on fails (reopened); accepted with a residual risk of 8 or more
 * it is a deviation approved, below that closed. The origin actor is the
 * tool component the assessment plan defines. */
static json_t *risk(const struct audit_model *m, const struct audit_risk *k)
{
    char title[600], stmt[1400];
    const char *status;
    json_t *facets, *o;

    snprintf(title, sizeof(title), "%.30s: %.500s", k->id, k->threat);
    snprintf(stmt, sizeof(stmt), "Vulnerability: %.300s Treatment (%s): %.400s Controls: %.400s",
             k->vulnerability, k->option, k->treatment, k->controls);
    status = !*k->accepted_by || audit_risk_reopened(k, m, NULL, 0) ? "open"
             : k->res_likelihood * k->res_impact >= 8 ? "deviation-approved"
                                                      : "closed";
    facets = json_pack("[o,o]", facet("likelihood", k->likelihood), facet("impact", k->impact));
    if (k->has_residual) {
        json_array_append_new(facets, facet("residual-likelihood", k->res_likelihood));
        json_array_append_new(facets, facet("residual-impact", k->res_impact));
    }
    o = json_pack("{s:o,s:s,s:s,s:s,s:s,s:[{s:{s:[{s:s,s:o}]},s:o}]}", "uuid",
                  uuid_of(m, "risk", k->id), "title", title, "description", k->asset, "statement",
                  stmt, "status", status, "characterizations", "origin", "actors", "type", "tool",
                  "actor-uuid", uuid_of(m, "component", "bulwark-audit"), "facets", facets);
    if (o && *k->accepted_by)
        json_object_set_new(o, "props",
                            json_pack("[o,o,o]", prop("accepted-by", k->accepted_by),
                                      prop("accepted-on", k->accepted_on),
                                      prop("review-date", k->review)));
    return o;
}

bw_err audit_write_oscal_ar(FILE *f, const struct audit_model *m)
{
    json_t *obs = json_array(), *fnd = json_array(), *ar;
    size_t i;
    int rc;

    for (i = 0; i < m->nchk; i++)
        json_array_append_new(obs, observation(m, &m->chk[i]));
    for (i = 0; i < m->nrow; i++)
        if (m->row[i].res == AUDIT_PASS || m->row[i].res == AUDIT_FAIL)
            json_array_append_new(fnd, finding(m, &m->row[i]));
    ar = json_pack("{s:{s:o,s:o,s:{s:s,s:s},s:[{s:o,s:s,s:s,s:s,s:s,s:{s:[{s:{}}]},s:o,s:o}]}}",
                   "assessment-results", "uuid", uuid_of(m, "document", "ar"), "metadata",
                   metadata(m, "Assessment results"), "import-ap", "href", F_AP, "remarks",
                   "The plan names the tool and the checks bulwark audit runs.",
                   "results", "uuid", uuid_of(m, "result", m->when), "title", "bulwark audit",
                   "description",
                   "Automated device checks and profile declarations.", "start", m->when, "end",
                   m->when, "reviewed-controls", "control-selections", "include-all",
                   "observations", obs, "findings", fnd);
    if (!ar)
        return BW_E_NOMEM;
    if (m->reg && m->reg->n) {
        json_t *risks = json_array();

        for (i = 0; i < m->reg->n; i++)
            json_array_append_new(risks, risk(m, &m->reg->risk[i]));
        json_object_set_new(json_array_get(json_object_get(json_object_get(ar, "assessment-results"),
                                                           "results"), 0),
                            "risks", risks);
    }
    rc = json_dumpf(ar, f, JSON_INDENT(1));
    fputc('\n', f);
    json_decref(ar);
    return rc ? BW_E_IO : BW_OK;
}

static const char *component_of(const struct audit_req *q)
{
    if (!strcmp(q->control, "(manual)") || strstr(q->control, "(organisational)") ||
        strstr(q->control, "(platform)"))
        return NULL; /* not something bulwark implements */
    if (q->check && (!strncmp(q->check, "docs.", 5) || !strncmp(q->check, "risk.", 5) ||
                     !strncmp(q->check, "profile.", 8)))
        return "documents";
    return "library";
}

static json_t *component(const struct audit_model *m, const char *part)
{
    json_t *reqs = json_array(), *impl;
    char u[37], key[120];
    size_t i;

    for (i = 0; i < m->cat->nreq; i++) {
        const struct audit_req *q = &m->cat->req[i];
        const char *c = component_of(q);

        if (!c || strcmp(c, part))
            continue;
        snprintf(key, sizeof(key), "%s:%s", part, q->id);
        audit_uuid(u, "bulwark", key);
        json_array_append_new(reqs, json_pack("{s:s,s:s,s:s,s:[o]}", "uuid", u, "control-id", q->id,
                                              "description", q->control, "props",
                                              prop("check", q->check ? q->check : "manual")));
    }
    audit_uuid(u, "bulwark-implementation", part);
    impl = json_string(u);
    audit_uuid(u, "bulwark", part);
    return json_pack("{s:s,s:s,s:s,s:s,s:[{s:o,s:s,s:s,s:o}]}", "uuid", u, "type",
                     !strcmp(part, "library") ? "software" : "policy", "title",
                     !strcmp(part, "library") ? "bulwark device library, CLI and agent"
                                              : "bulwark compliance documents",
                     "description",
                     !strcmp(part, "library")
                         ? "Signed A/B updates, device identity, credentials, encrypted store, "
                           "security log, tokens."
                         : "Statement of Applicability, risk register, disclosure policy, "
                           "security.txt, support-period and PSTI statements.",
                     "control-implementations", "uuid", impl, "source", F_CATALOG,
                     "description",
                     "Requirements of the bulwark catalogue this part implements.",
                     "implemented-requirements", reqs);
}

bw_err audit_write_oscal_component(FILE *f, const struct audit_model *m)
{
    json_t *cd, *meta = json_pack("{s:s,s:s,s:s,s:s}", "title", "bulwark", "last-modified",
                                  m->when, "version", "0.1.0", "oscal-version", "1.0.6");
    char u[37];
    int rc;

    audit_uuid(u, "bulwark", "component-definition");
    cd = json_pack("{s:{s:s,s:o,s:[o,o]}}", "component-definition", "uuid", u, "metadata", meta,
                   "components", component(m, "library"), component(m, "documents"));
    if (!cd)
        return BW_E_NOMEM;
    rc = json_dumpf(cd, f, JSON_INDENT(1));
    fputc('\n', f);
    json_decref(cd);
    return rc ? BW_E_IO : BW_OK;
}

/* ---- the documents the others import ---- */

static int dump(FILE *f, json_t *doc)
{
    int rc;

    if (!doc)
        return BW_E_NOMEM;
    rc = json_dumpf(doc, f, JSON_INDENT(1));
    fputc('\n', f);
    json_decref(doc);
    return rc ? BW_E_IO : BW_OK;
}

static json_t *plain_metadata(const struct audit_model *m, const char *title)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "title", title, "last-modified", m->when, "version",
                     "1", "oscal-version", "1.0.6");
}

/* The group of the catalog for a requirement's standard: its id is the
 * requirement id's prefix ("en303645" of "en303645-5.1-1"), its title the
 * standard's name; groups keep the catalogue's order. */
static json_t *group_of(json_t *groups, const struct audit_req *q)
{
    char id[40];
    size_t n = strcspn(q->id, "-"), i;
    json_t *g;

    snprintf(id, sizeof(id), "%.*s", (int)(n < sizeof(id) - 1 ? n : sizeof(id) - 1), q->id);
    json_array_foreach(groups, i, g)
        if (!strcmp(json_string_value(json_object_get(g, "id")), id))
            return json_object_get(g, "controls");
    g = json_pack("{s:s,s:s,s:[]}", "id", id, "title", q->std, "controls");
    if (json_array_append_new(groups, g))
        return NULL;
    return json_object_get(g, "controls");
}

/* The catalog: one group per standard, one control per requirement
 * (checked against NIST's per-model OSCAL 1.1.3 catalog schema; GSA's
 * merged 1.1.2 copy refuses catalog groups, see tests/vectors/oscal). */
bw_err audit_write_oscal_catalog(FILE *f, const struct audit_model *m)
{
    json_t *groups = json_array();
    char u[37], ver[32];
    json_t *v = json_object_get(m->cat->root, "version");
    size_t i;

    for (i = 0; i < m->cat->nreq; i++) {
        const struct audit_req *q = &m->cat->req[i];
        json_t *controls = group_of(groups, q);
        char title[300], part[80];

        if (!controls) {
            json_decref(groups);
            return BW_E_NOMEM;
        }
        snprintf(title, sizeof(title), "%s %s", q->std, q->ref);
        snprintf(part, sizeof(part), "%.60s_smt", q->id);
        json_array_append_new(
            controls, json_pack("{s:s,s:s,s:[{s:s,s:s},o],s:[{s:s,s:s,s:s}]}", "id", q->id,
                                "title", title, "props", "name", "label", "value", q->ref,
                                prop("standard", q->std), "parts", "id", part, "name",
                                "statement", "prose", q->text));
    }
    snprintf(ver, sizeof(ver), "catalog:%lld", (long long)json_integer_value(v));
    audit_uuid(u, "bulwark", ver);
    return dump(f, json_pack("{s:{s:s,s:o,s:o}}", "catalog", "uuid", u, "metadata",
                             plain_metadata(m, "bulwark requirement catalogue (paraphrased)"),
                             "groups", groups));
}

bw_err audit_write_oscal_profile(FILE *f, const struct audit_model *m)
{
    char u[37];

    audit_uuid(u, "bulwark", "profile:all");
    return dump(f, json_pack("{s:{s:s,s:o,s:[{s:s,s:{}}]}}", "profile", "uuid", u, "metadata",
                             plain_metadata(m, "bulwark: every requirement of the catalogue"),
                             "imports", "href", F_CATALOG, "include-all"));
}

bw_err audit_write_oscal_ap(FILE *f, const struct audit_model *m)
{
    json_t *tool = json_pack(
        "{s:o,s:s,s:s,s:s,s:{s:s}}", "uuid", uuid_of(m, "component", "bulwark-audit"), "type",
        "software", "title", "bulwark audit", "description",
        "The bulwark command line tool: device checks, profile checks and the risk register.",
        "status", "state", "operational");

    return dump(f, json_pack(
        "{s:{s:o,s:o,s:{s:s},s:{s:[{s:{}}]},s:[{s:s,s:[{s:o,s:s}]}],s:{s:[o],s:[{s:o,s:s,s:["
        "{s:o}]}]},s:[{s:o,s:s,s:s,s:s}]}}",
        "assessment-plan", "uuid", uuid_of(m, "document", "ap"), "metadata",
        metadata(m, "Assessment plan"), "import-ssp", "href", F_SSP, "reviewed-controls",
        "control-selections", "include-all", "assessment-subjects", "type", "component",
        "include-subjects", "subject-uuid", uuid_of(m, "component", "device"), "type",
        "component", "assessment-assets", "components", tool, "assessment-platforms", "uuid",
        uuid_of(m, "assessment-platform", "bulwark"), "title", "bulwark on the assessor's host",
        "uses-components", "component-uuid", uuid_of(m, "component", "bulwark-audit"), "tasks",
        "uuid", uuid_of(m, "task", "audit"), "type", "action", "title", "Run bulwark audit",
        "description", "Run the device and profile checks and record one observation per "
                       "check; decide each requirement from its check or a person."));
}
