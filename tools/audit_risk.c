/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device risk register (ISO/IEC 27402 5.1.1; the shape of ISO 31000 and
 * ISO/IEC 27005): a JSON file of risks, each an asset, a threat, the
 * vulnerability it exploits, likelihood and impact on a 1..5 scale, the
 * treatment option and treatment, the controls and catalogue requirements
 * it relies on, the residual risk a person evaluated, the owner, who
 * accepted it and when, and a review date. Seeded risks carry no residual
 * risk and no acceptance: they stay unreviewed until a person accepts them
 * (bulwark risk accept). A risk reopens when a check of a requirement it
 * relies on fails. Parsing takes untrusted input (fuzz/fuzz_audit_risk.c).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "bwh/host.h"

#define RISKS_MAX 512

static int copy_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));

    if (!s || !*s || strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* An optional string: absent or null leaves out empty. */
static int opt_str(json_t *o, const char *k, char *out, size_t cap)
{
    json_t *v = json_object_get(o, k);

    *out = 0;
    return !v || json_is_null(v) ? 0 : copy_str(o, k, out, cap);
}

static int score(json_t *o, const char *k, int *out)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

static int absent(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    return !v || json_is_null(v);
}

/* ISO/IEC 27005 treatment options (modification, retention, avoidance, sharing). */
static const char *const options[] = {"reduce", "retain", "avoid", "share"};

static int known_option(const char *s)
{
    size_t i;

    for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (!strcmp(s, options[i]))
            return 1;
    return 0;
}

/* Words that say no treatment was decided. */
static int no_treatment(const char *s)
{
    static const char *const none[] = {"none", "n/a", "na", "-", "tbd", "todo", "nothing"};
    size_t i;

    for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        if (!strcasecmp(s, none[i]))
            return 1;
    return 0;
}

static const char *parse_risk(struct audit_risk *r, json_t *o)
{
    long days;
    size_t i;
    json_t *q;

    if (!json_is_object(o))
        return "a risk is not an object";
    if (copy_str(o, "id", r->id, sizeof(r->id)) || copy_str(o, "asset", r->asset, sizeof(r->asset)) ||
        copy_str(o, "threat", r->threat, sizeof(r->threat)) ||
        copy_str(o, "vulnerability", r->vulnerability, sizeof(r->vulnerability)) ||
        copy_str(o, "treatment", r->treatment, sizeof(r->treatment)) ||
        copy_str(o, "controls", r->controls, sizeof(r->controls)) ||
        copy_str(o, "owner", r->owner, sizeof(r->owner)) ||
        copy_str(o, "review", r->review, sizeof(r->review)))
        return "id, asset, threat, vulnerability, treatment, controls, owner and review are "
               "required strings";
    if (copy_str(o, "option", r->option, sizeof(r->option)) || !known_option(r->option))
        return "option (the treatment option) must be reduce, retain, avoid or share";
    if (no_treatment(r->treatment))
        return "treatment says none: say what is done, or choose option retain and say why";
    if (score(o, "likelihood", &r->likelihood) || score(o, "impact", &r->impact))
        return "likelihood and impact are integers 1..5";
    if (absent(o, "residual_likelihood") != absent(o, "residual_impact"))
        return "residual_likelihood and residual_impact come together";
    if (!absent(o, "residual_likelihood")) {
        if (score(o, "residual_likelihood", &r->res_likelihood) ||
            score(o, "residual_impact", &r->res_impact))
            return "residual_likelihood and residual_impact are integers 1..5";
        r->has_residual = 1;
        if (r->res_likelihood * r->res_impact > r->likelihood * r->impact)
            return "residual risk above the inherent risk";
        if (!strcmp(r->option, "retain") &&
            (r->res_likelihood != r->likelihood || r->res_impact != r->impact))
            return "a retained risk keeps its inherent likelihood and impact as residual";
    }
    if (audit_days_until(r->review, &days))
        return "review is not a YYYY-MM-DD date";
    if (opt_str(o, "accepted_by", r->accepted_by, sizeof(r->accepted_by)) ||
        opt_str(o, "accepted_on", r->accepted_on, sizeof(r->accepted_on)))
        return "accepted_by and accepted_on are strings";
    if (!*r->accepted_by != !*r->accepted_on)
        return "accepted_by and accepted_on come together";
    if (*r->accepted_on && (audit_days_until(r->accepted_on, &days) || days > 0))
        return "accepted_on is not a YYYY-MM-DD date up to today";
    if (*r->accepted_by && !r->has_residual)
        return "an accepted risk needs its residual likelihood and impact";
    if (!json_is_array(json_object_get(o, "requirements")))
        return "requirements must be an array of catalogue ids";
    json_array_foreach(json_object_get(o, "requirements"), i, q) {
        const char *s = json_string_value(q);

        if (!s || strlen(s) >= sizeof(r->reqs[0]) || r->nreqs == 8)
            return "requirements: at most 8 catalogue ids";
        memcpy(r->reqs[r->nreqs++], s, strlen(s) + 1);
    }
    return NULL;
}

bw_err audit_register_parse(struct audit_register *r, const char *text, size_t len, char *err,
                            size_t errcap)
{
    json_error_t je;
    json_t *root, *risks, *o;
    const char *why = NULL;
    size_t i, j;
    bw_err rc = BW_E_FORMAT;

    memset(r, 0, sizeof(*r));
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errcap, "line %d: %s", je.line, je.text);
        return BW_E_FORMAT;
    }
    risks = json_object_get(root, "risks");
    if (copy_str(root, "device", r->device, sizeof(r->device)) || !json_is_array(risks) ||
        json_array_size(risks) > RISKS_MAX) {
        snprintf(err, errcap, "a register needs \"device\" and \"risks\" (at most %d)", RISKS_MAX);
        goto out;
    }
    r->risk = bwh_calloc(json_array_size(risks) + 1, sizeof(*r->risk));
    if (!r->risk) {
        rc = BW_E_NOMEM;
        goto out;
    }
    json_array_foreach(risks, i, o) {
        why = parse_risk(&r->risk[i], o);
        for (j = 0; !why && j < i; j++)
            if (!strcmp(r->risk[j].id, r->risk[i].id))
                why = "two risks share this id";
        if (why) {
            snprintf(err, errcap, "risk %zu: %s", i + 1, why);
            goto out;
        }
        r->n++;
    }
    rc = BW_OK;
out:
    json_decref(root);
    return rc;
}

bw_err audit_register_validate(const struct audit_register *r, const struct audit_catalogue *c,
                               char *err, size_t errcap)
{
    size_t i, j;

    for (i = 0; i < r->n; i++)
        for (j = 0; j < r->risk[i].nreqs; j++)
            if (!audit_catalogue_find(c, r->risk[i].reqs[j])) {
                snprintf(err, errcap, "risk %s: unknown requirement id %s", r->risk[i].id,
                         r->risk[i].reqs[j]);
                return BW_E_NOTFOUND;
            }
    return BW_OK;
}

void audit_register_free(struct audit_register *r)
{
    bwh_free(r->risk);
    r->risk = NULL;
    r->n = 0;
}

/* ---- review: what keeps the register from being an assessment ---- */

int audit_risk_reopened(const struct audit_risk *k, const struct audit_model *m, char *why,
                        size_t cap)
{
    size_t i, j;

    if (!m)
        return 0;
    for (i = 0; i < k->nreqs; i++) {
        const struct audit_req *q = audit_catalogue_find(m->cat, k->reqs[i]);

        for (j = 0; q && j < q->nchecks; j++) { /* every check that decides the row */
            const struct audit_check *c = audit_find_check(m, q->checks[j]);

            if (!c || c->res == AUDIT_PASS || c->res == AUDIT_NA || c->res == AUDIT_MANUAL)
                continue;
            if (why)
                snprintf(why, cap, "check %s (%s) is %s", c->name, q->id,
                         audit_result_name(c->res));
            return 1;
        }
    }
    return 0;
}

static void append(char *out, size_t cap, size_t *n, const char *msg)
{
    size_t len;

    (*n)++;
    if (!out || !cap)
        return;
    len = strlen(out);
    if (len + 3 >= cap)
        return;
    if (len) {
        memcpy(out + len, "; ", 3);
        len += 2;
    }
    snprintf(out + len, cap - len, "%s", msg);
}

static size_t register_problems(const struct audit_register *r, const struct audit_model *m,
                                char *out, size_t cap)
{
    size_t i, n = 0;
    char why[200], msg[400];
    long days;

    if (out && cap)
        *out = 0;
    if (!r) {
        append(out, cap, &n, "no risk register that loads");
        return n;
    }
    if (!r->n)
        append(out, cap, &n, "the risk register holds no risk");
    for (i = 0; i < r->n; i++) {
        const struct audit_risk *k = &r->risk[i];

        if (!*k->accepted_by) {
            snprintf(msg, sizeof(msg), "risk %s unreviewed: %s", k->id,
                     k->has_residual ? "no one has accepted it"
                                     : "no residual risk evaluated and no one has accepted it");
            append(out, cap, &n, msg);
        }
        if (!audit_days_until(k->review, &days) && days < 0) {
            snprintf(msg, sizeof(msg), "risk %s overdue: review was due %s", k->id, k->review);
            append(out, cap, &n, msg);
        }
        if (audit_risk_reopened(k, m, why, sizeof(why))) {
            snprintf(msg, sizeof(msg), "risk %s reopened: %s", k->id, why);
            append(out, cap, &n, msg);
        }
    }
    return n;
}

size_t audit_risk_strict_problems(const struct audit_model *m, char *out, size_t cap)
{
    return register_problems(m->reg, m, out, cap);
}

void audit_risk_review_check(struct audit_model *m)
{
    char probs[900];
    size_t i, n, len;

    for (i = 0; i < m->nchk; i++) {
        struct audit_check *c = &m->chk[i];

        if (strcmp(c->name, "risk.register") || c->res != AUDIT_PASS)
            continue;
        n = register_problems(m->reg, m, probs, sizeof(probs));
        if (!n)
            continue;
        c->res = AUDIT_FAIL;
        len = strlen(c->evidence);
        snprintf(c->evidence + len, sizeof(c->evidence) - len, " Not an assessment yet, %zu "
                 "problem%s: %s.", n, n == 1 ? "" : "s", probs);
    }
}

/* ---- seeding and acceptance ---- */

/* Whether the profile makes requirement id not applicable (declared, or
 * its feature flag off). */
static int not_applicable(const struct audit_catalogue *c, const struct audit_profile *p,
                          const char *id)
{
    const struct audit_req *q = audit_catalogue_find(c, id);

    return p && q && (audit_profile_na(p, id) || (q->feature && !audit_profile_feature(p, q->feature)));
}

void audit_register_template(FILE *f, const struct audit_catalogue *c, const char *device,
                             const struct audit_profile *p)
{
    json_t *root = json_object(), *risks = json_array();
    time_t t = time(NULL) + 90 * 86400;
    struct tm tm;
    char review[16];
    size_t i, j;

    gmtime_r(&t, &tm);
    strftime(review, sizeof(review), "%Y-%m-%d", &tm);
    for (i = 0; i < c->nthr; i++) {
        const struct audit_threat *th = &c->thr[i];
        const struct audit_req *first = th->nreqs ? audit_catalogue_find(c, th->reqs[0]) : NULL;
        json_t *reqs;
        char controls[AUDIT_STR] = "", vuln[AUDIT_STR];
        size_t applicable = 0;

        for (j = 0; j < th->nreqs; j++)
            applicable += !not_applicable(c, p, th->reqs[j]);
        if (th->nreqs && !applicable)
            continue; /* the product has nothing this threat attacks */
        reqs = json_array();

        for (j = 0; j < th->nreqs; j++) {
            const struct audit_req *q = audit_catalogue_find(c, th->reqs[j]);

            json_array_append_new(reqs, json_string(th->reqs[j]));
            if (q && !strstr(controls, q->control) &&
                strlen(controls) + strlen(q->control) + 3 < sizeof(controls))
                strcat(strcat(controls, *controls ? "; " : ""), q->control);
        }
        /* a starting point a person confirms: the weakness if the first
         * requirement treating the threat is not met */
        snprintf(vuln, sizeof(vuln), "To confirm: the device fails to meet %.60s (%.160s)",
                 first ? first->id : "its requirements", first ? first->text : "");
        json_array_append_new(
            risks, json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:o,s:n,s:n,s:s,s:s,s:n,s:n}",
                             "id", th->id, "asset", th->asset, "threat", th->threat,
                             "vulnerability", vuln, "likelihood", th->likelihood, "impact",
                             th->impact, "option", "reduce", "treatment",
                             "apply the controls below and check them with bulwark audit",
                             "controls", controls, "requirements", reqs, "residual_likelihood",
                             "residual_impact", "owner", "product security lead", "review",
                             review, "accepted_by", "accepted_on"));
    }
    json_object_set_new(root, "device", json_string(device));
    json_object_set_new(root, "method",
                        json_string("ISO 31000 / ISO/IEC 27005: context, identification, "
                                    "analysis, evaluation, treatment, acceptance, review. Seeded "
                                    "by bulwark risk init: every risk is unreviewed until a "
                                    "person evaluates its residual risk and accepts it."));
    json_object_set_new(root, "risks", risks);
    json_dumpf(root, f, JSON_INDENT(2));
    fputc('\n', f);
    json_decref(root);
}

static bw_err accept_one(json_t *o, const char *who, const char *date, const char *residual,
                         const char *review, char *err, size_t errcap)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    uint32_t li[2];
    long days;

    if (residual) {
        if (bwh_parse_u32_list(residual, ',', li, 2) || li[0] < 1 || li[0] > 5 || li[1] < 1 ||
            li[1] > 5) {
            snprintf(err, errcap, "--residual wants L,I with each 1..5");
            return BW_E_FORMAT;
        }
        json_object_set_new(o, "residual_likelihood", json_integer(li[0]));
        json_object_set_new(o, "residual_impact", json_integer(li[1]));
    }
    if (review) {
        if (audit_days_until(review, &days) || days < 0) {
            snprintf(err, errcap, "--review wants a YYYY-MM-DD date from today on");
            return BW_E_FORMAT;
        }
        json_object_set_new(o, "review", json_string(review));
    }
    if (absent(o, "residual_likelihood")) {
        snprintf(err, errcap, "risk %s: evaluate its residual risk first (--residual L,I)",
                 id ? id : "?");
        return BW_E_STATE;
    }
    if (!json_is_string(json_object_get(o, "review")) ||
        audit_days_until(json_string_value(json_object_get(o, "review")), &days) || days < 0) {
        snprintf(err, errcap, "risk %s: its review date has passed: set the next one (--review)",
                 id ? id : "?");
        return BW_E_STATE;
    }
    json_object_set_new(o, "accepted_by", json_string(who));
    json_object_set_new(o, "accepted_on", json_string(date));
    return BW_OK;
}

bw_err audit_register_accept(const char *text, size_t len, const char *id, const char *who,
                             const char *residual, const char *review, char **out, char *err,
                             size_t errcap)
{
    struct audit_register check;
    json_error_t je;
    json_t *root, *o;
    char date[16];
    size_t i, n, hits = 0;
    time_t t = time(NULL);
    struct tm tm;
    bw_err rc;

    *out = NULL;
    if (!who || !*who || strlen(who) >= sizeof(check.risk->accepted_by)) {
        snprintf(err, errcap, "--by names the person who accepts the risk");
        return BW_E_FORMAT;
    }
    rc = audit_register_parse(&check, text, len, err, errcap); /* valid before */
    audit_register_free(&check);
    if (rc)
        return rc;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return BW_E_FORMAT;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    rc = BW_OK;
    json_array_foreach(json_object_get(root, "risks"), i, o) {
        if (strcmp(id, "all") && strcmp(id, json_string_value(json_object_get(o, "id"))))
            continue;
        hits++;
        rc = accept_one(o, who, date, residual, review, err, errcap);
        if (rc)
            goto out;
    }
    if (!hits) {
        snprintf(err, errcap, "no risk with id %s", id);
        rc = BW_E_NOTFOUND;
        goto out;
    }
    /* json_dumpb into our own allocation: json_dumps would hand back libc memory */
    n = json_dumpb(root, NULL, 0, JSON_INDENT(2));
    *out = n ? bwh_malloc(n + 2) : NULL;
    if (!*out || json_dumpb(root, *out, n, JSON_INDENT(2)) != n) {
        bwh_free(*out);
        *out = NULL;
        rc = BW_E_NOMEM;
        goto out;
    }
    memcpy(*out + n, "\n", 2);
    rc = audit_register_parse(&check, *out, strlen(*out), err, errcap); /* and after */
    audit_register_free(&check);
    if (rc) {
        bwh_free(*out);
        *out = NULL;
    }
out:
    json_decref(root);
    return rc;
}

static const char *cell_colour(int s)
{
    return s >= 15 ? "#d9534f" : s >= 8 ? "#f0ad4e" : s >= 4 ? "#f7e08a" : "#8fd18f";
}

/* 5x5 grid: likelihood across, impact up; each cell counts inherent (I)
 * and residual (R) risks that fall in it. */
static void heat_map(FILE *f, const struct audit_register *r)
{
    int l, i, ni, nr;
    size_t k;

    fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"420\" height=\"400\" "
          "role=\"img\" aria-label=\"risk heat map\">\n", f);
    for (i = 5; i >= 1; i--)
        for (l = 1; l <= 5; l++) {
            int x = 60 + (l - 1) * 70, y = 10 + (5 - i) * 70;

            ni = nr = 0;
            for (k = 0; k < r->n; k++) {
                ni += r->risk[k].likelihood == l && r->risk[k].impact == i;
                nr += r->risk[k].has_residual && r->risk[k].res_likelihood == l &&
                      r->risk[k].res_impact == i;
            }
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"68\" height=\"68\" fill=\"%s\"/>", x, y,
                    cell_colour(l * i));
            if (ni || nr)
                fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"14\" text-anchor=\"middle\">"
                           "I:%d R:%d</text>", x + 34, y + 40, ni, nr);
            fputc('\n', f);
        }
    for (k = 1; k <= 5; k++)
        fprintf(f, "<text x=\"%zu\" y=\"375\" font-size=\"13\" text-anchor=\"middle\">%zu</text>"
                   "<text x=\"45\" y=\"%zu\" font-size=\"13\">%zu</text>\n",
                60 + (k - 1) * 70 + 34, k, 10 + (5 - k) * 70 + 40, k);
    fputs("<text x=\"235\" y=\"395\" font-size=\"13\" text-anchor=\"middle\">likelihood</text>"
          "<text x=\"15\" y=\"190\" font-size=\"13\" transform=\"rotate(-90 15 190)\" "
          "text-anchor=\"middle\">impact</text></svg>\n", f);
}

static void esc_cell(FILE *f, const char *s)
{
    fputs("<td>", f);
    audit_html_escape(f, s);
    fputs("</td>", f);
}

void audit_register_html(FILE *f, const struct audit_register *r, const struct audit_model *m)
{
    char probs[2000], why[200];
    size_t i, j, n;
    long days;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Risk "
          "assessment</title>\n<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;"
          "text-align:left;vertical-align:top}th{background:#eee}thead{display:table-header-group}"
          "tr{break-inside:avoid}.bad{background:#f8d0d0}</style></head><body>\n"
          "<h1>Device risk assessment: ", f);
    audit_html_escape(f, r->device);
    n = register_problems(r, m, probs, sizeof(probs));
    fprintf(f, "</h1>\n<h2>Status</h2>\n<p class=\"%s\">", n ? "bad" : "");
    if (n) {
        fprintf(f, "Not an assessment yet: %zu problem%s. ", n, n == 1 ? "" : "s");
        audit_html_escape(f, probs);
    } else {
        fputs("Every risk has been evaluated and accepted by a person, none is past its review "
              "date and none relies on a control whose check failed.", f);
    }
    fputs("</p>\n<h2>Method (ISO 31000, ISO/IEC 27005)</h2>\n<ol>"
          "<li>Scope, context and criteria: the device, its interfaces and its data; "
          "likelihood and impact scored 1 (rare, negligible) to 5 (almost certain, severe).</li>"
          "<li>Risk identification: assets, the threats to them and the vulnerabilities the "
          "threats exploit.</li>"
          "<li>Risk analysis: inherent risk = likelihood x impact.</li>"
          "<li>Risk evaluation: 15 and above is high, 8 to 14 medium, 4 to 7 low, below 4 "
          "minimal.</li>"
          "<li>Risk treatment: an option (reduce, retain, avoid, share), controls linked to the "
          "requirements they meet; the residual risk is evaluated by a person after them.</li>"
          "<li>Risk acceptance: the owner or a named person accepts the residual risk, with the "
          "date.</li>"
          "<li>Monitoring and review: every risk has a review date; a risk reopens when a check "
          "of a control it relies on fails.</li>"
          "<li>Communication, consultation, recording and reporting: this report.</li></ol>\n"
          "<h2>Heat map</h2>\n", f);
    heat_map(f, r);
    fputs("<h2>Register</h2>\n<table><thead><tr><th>Id</th><th>Asset</th><th>Threat</th>"
          "<th>Vulnerability</th><th>L</th><th>I</th><th>Inherent</th><th>Treatment</th>"
          "<th>Controls</th><th>Requirements</th><th>Residual</th><th>Owner</th>"
          "<th>Accepted</th><th>Review</th><th>Status</th></tr></thead>\n", f);
    for (i = 0; i < r->n; i++) {
        const struct audit_risk *k = &r->risk[i];
        int reopened = audit_risk_reopened(k, m, why, sizeof(why));
        int overdue = !audit_days_until(k->review, &days) && days < 0;

        fputs("<tr>", f);
        esc_cell(f, k->id);
        esc_cell(f, k->asset);
        esc_cell(f, k->threat);
        esc_cell(f, k->vulnerability);
        fprintf(f, "<td>%d</td><td>%d</td><td style=\"background:%s\">%d</td><td>%s: ",
                k->likelihood, k->impact, cell_colour(k->likelihood * k->impact),
                k->likelihood * k->impact, k->option);
        audit_html_escape(f, k->treatment);
        fputs("</td>", f);
        esc_cell(f, k->controls);
        fputs("<td>", f);
        for (j = 0; j < k->nreqs; j++) {
            audit_html_escape(f, k->reqs[j]);
            fputs(j + 1 < k->nreqs ? ", " : "", f);
        }
        if (k->has_residual)
            fprintf(f, "</td><td style=\"background:%s\">%d (L%d x I%d)</td>",
                    cell_colour(k->res_likelihood * k->res_impact),
                    k->res_likelihood * k->res_impact, k->res_likelihood, k->res_impact);
        else
            fputs("</td><td class=\"bad\">not evaluated</td>", f);
        esc_cell(f, k->owner);
        if (*k->accepted_by) {
            fputs("<td>", f);
            audit_html_escape(f, k->accepted_by);
            fputs(", ", f);
            audit_html_escape(f, k->accepted_on);
            fputs("</td>", f);
        } else {
            fputs("<td class=\"bad\">unreviewed</td>", f);
        }
        fprintf(f, "<td%s>", overdue ? " class=\"bad\"" : "");
        audit_html_escape(f, k->review);
        fprintf(f, "%s</td><td%s>", overdue ? " (overdue)" : "",
                reopened || !*k->accepted_by ? " class=\"bad\"" : "");
        if (reopened) {
            fputs("reopened: ", f);
            audit_html_escape(f, why);
        } else {
            fputs(*k->accepted_by ? "accepted" : "open", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</body></html>\n", f);
}
