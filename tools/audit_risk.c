/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device risk register (ISO/IEC 27402 5.1.1, method after ISO 31000):
 * a JSON file of risks, each an asset, a threat, likelihood and impact on a
 * 1..5 scale before and after treatment, the treatment and the controls
 * and requirements it relies on, an owner and a review date. Parsing takes
 * untrusted input (fuzz/fuzz_audit_risk.c); the report draws a 5x5 heat map.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "audit.h"
#include "host.h"

#define RISKS_MAX 512

static int copy_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));

    if (!s || !*s || strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int score(json_t *o, const char *k, int *out)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
        return -1;
    *out = (int)json_integer_value(v);
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
        copy_str(o, "treatment", r->treatment, sizeof(r->treatment)) ||
        copy_str(o, "controls", r->controls, sizeof(r->controls)) ||
        copy_str(o, "owner", r->owner, sizeof(r->owner)) ||
        copy_str(o, "review", r->review, sizeof(r->review)))
        return "id, asset, threat, treatment, controls, owner and review are required strings";
    if (score(o, "likelihood", &r->likelihood) || score(o, "impact", &r->impact) ||
        score(o, "residual_likelihood", &r->res_likelihood) ||
        score(o, "residual_impact", &r->res_impact))
        return "likelihood, impact and their residual values are integers 1..5";
    if (r->res_likelihood * r->res_impact > r->likelihood * r->impact)
        return "residual risk above the inherent risk";
    if (audit_days_until(r->review, &days))
        return "review is not a YYYY-MM-DD date";
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
    size_t i;
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
    r->risk = bw_calloc(json_array_size(risks) + 1, sizeof(*r->risk));
    if (!r->risk) {
        rc = BW_E_NOMEM;
        goto out;
    }
    json_array_foreach(risks, i, o) {
        why = parse_risk(&r->risk[i], o);
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
    bw_free(r->risk);
    r->risk = NULL;
    r->n = 0;
}

void audit_register_template(FILE *f, const struct audit_catalogue *c, const char *device)
{
    json_t *root = json_object(), *risks = json_array();
    time_t t = time(NULL) + 365 * 86400;
    struct tm tm;
    char review[16];
    size_t i, j;

    gmtime_r(&t, &tm);
    strftime(review, sizeof(review), "%Y-%m-%d", &tm);
    for (i = 0; i < c->nthr; i++) {
        const struct audit_threat *th = &c->thr[i];
        json_t *reqs = json_array();
        char controls[AUDIT_STR] = "";

        for (j = 0; j < th->nreqs; j++) {
            const struct audit_req *q = audit_catalogue_find(c, th->reqs[j]);

            json_array_append_new(reqs, json_string(th->reqs[j]));
            if (q && !strstr(controls, q->control) &&
                strlen(controls) + strlen(q->control) + 3 < sizeof(controls))
                strcat(strcat(controls, *controls ? "; " : ""), q->control);
        }
        json_array_append_new(
            risks, json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:o,s:i,s:i,s:s,s:s}", "id", th->id,
                             "asset", th->asset, "threat", th->threat, "likelihood",
                             th->likelihood, "impact", th->impact, "treatment",
                             "reduce: apply the controls below and check them with bulwark audit",
                             "controls", controls, "requirements", reqs, "residual_likelihood",
                             th->likelihood > 2 ? th->likelihood - 2 : 1, "residual_impact",
                             th->impact, "owner", "product security lead", "review", review));
    }
    json_object_set_new(root, "device", json_string(device));
    json_object_set_new(root, "method", json_string("ISO 31000: context, identification, "
                                                    "analysis, evaluation, treatment, review"));
    json_object_set_new(root, "risks", risks);
    json_dumpf(root, f, JSON_INDENT(2));
    fputc('\n', f);
    json_decref(root);
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
                nr += r->risk[k].res_likelihood == l && r->risk[k].res_impact == i;
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

void audit_register_html(FILE *f, const struct audit_register *r)
{
    size_t i, j;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Risk "
          "assessment</title>\n<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;"
          "text-align:left;vertical-align:top}th{background:#eee}</style></head><body>\n"
          "<h1>Device risk assessment: ", f);
    audit_html_escape(f, r->device);
    fputs("</h1>\n<h2>Method (ISO 31000)</h2>\n<ol>"
          "<li>Scope, context and criteria: the device, its interfaces and its data; "
          "likelihood and impact scored 1 (rare, negligible) to 5 (almost certain, severe).</li>"
          "<li>Risk identification: assets and the threats to them.</li>"
          "<li>Risk analysis: inherent risk = likelihood x impact.</li>"
          "<li>Risk evaluation: 15 and above is high, 8 to 14 medium, 4 to 7 low, below 4 "
          "minimal.</li>"
          "<li>Risk treatment: controls linked to the requirements they meet; residual risk "
          "after them.</li>"
          "<li>Monitoring and review: every risk has an owner and a review date.</li>"
          "<li>Communication, consultation, recording and reporting: this report.</li></ol>\n"
          "<h2>Heat map</h2>\n", f);
    heat_map(f, r);
    fputs("<h2>Register</h2>\n<table><tr><th>Id</th><th>Asset</th><th>Threat</th><th>L</th>"
          "<th>I</th><th>Inherent</th><th>Treatment</th><th>Controls</th><th>Requirements</th>"
          "<th>Residual</th><th>Owner</th><th>Review</th></tr>\n", f);
    for (i = 0; i < r->n; i++) {
        const struct audit_risk *k = &r->risk[i];

        fputs("<tr>", f);
        esc_cell(f, k->id);
        esc_cell(f, k->asset);
        esc_cell(f, k->threat);
        fprintf(f, "<td>%d</td><td>%d</td><td style=\"background:%s\">%d</td>", k->likelihood,
                k->impact, cell_colour(k->likelihood * k->impact), k->likelihood * k->impact);
        esc_cell(f, k->treatment);
        esc_cell(f, k->controls);
        fputs("<td>", f);
        for (j = 0; j < k->nreqs; j++) {
            audit_html_escape(f, k->reqs[j]);
            fputs(j + 1 < k->nreqs ? ", " : "", f);
        }
        fprintf(f, "</td><td style=\"background:%s\">%d (L%d x I%d)</td>",
                cell_colour(k->res_likelihood * k->res_impact), k->res_likelihood * k->res_impact,
                k->res_likelihood, k->res_impact);
        esc_cell(f, k->owner);
        esc_cell(f, k->review);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n</body></html>\n", f);
}
