/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One model, many reports: the rows of the Statement of Applicability are
 * built once from catalogue, profile and check results, then written as
 * JSON, HTML, Markdown, the EN 303 645 ICS table and OSCAL (SSP and
 * assessment results). Text from the profile is the maker's, so every
 * HTML writer escapes it.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "audit.h"
#include "bulwark/crypto.h"
#include "bwh/host.h"

void audit_uuid(char out[37], const char *a, const char *b)
{
    struct bw_sha256 h;
    uint8_t d[BW_SHA256_LEN];

    memset(d, 0, sizeof(d));
    if (bw_sha256_init(&h) || bw_sha256_update(&h, a, strlen(a) + 1) ||
        bw_sha256_update(&h, b, strlen(b)) || bw_sha256_final(&h, d))
        bw_sha256_abort(&h);
    d[6] = (uint8_t)((d[6] & 0x0f) | 0x50); /* version 5 layout */
    d[8] = (uint8_t)((d[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    bwh_uuid_format(out, d);
}

/* ---- JSON (--json) ---- */

void audit_write_json(FILE *f, const struct audit_model *m)
{
    json_t *o = json_object(), *chk = json_array(), *rows = json_array();
    size_t i, j;

    for (i = 0; i < m->nchk; i++)
        json_array_append_new(chk, json_pack("{s:s,s:s,s:s}", "check", m->chk[i].name, "result",
                                             audit_result_name(m->chk[i].res), "evidence",
                                             m->chk[i].evidence));
    for (i = 0; i < m->nrow; i++) {
        const struct audit_row *r = &m->row[i];
        json_t *x = json_array();

        for (j = 0; j < r->req->nxref; j++)
            json_array_append_new(x, json_string(r->req->xref[j]));
        json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:o}", "id", r->req->id,
                                              "standard", r->req->std, "ref", r->req->ref,
                                              "result", audit_result_name(r->res), "check",
                                              r->check, "justification", r->why, "evidence",
                                              r->evidence, "xref", x));
        audit_json_row(json_array_get(rows, i), r);
    }
    json_object_set_new(o, "time", json_string(m->when));
    json_object_set_new(o, "product", json_string(m->prof->product));
    json_object_set_new(o, "model", json_string(m->prof->model));
    json_object_set_new(o, "summary", json_pack("{s:I,s:I,s:I,s:I}", "pass", (json_int_t)m->count[0],
                                                "fail", (json_int_t)m->count[1], "not-applicable",
                                                (json_int_t)m->count[2], "manual",
                                                (json_int_t)m->count[3]));
    json_object_set_new(o, "checks", chk);
    json_object_set_new(o, "requirements", rows);
    audit_json_model(o, m);
    json_dumpf(o, f, JSON_INDENT(1));
    fputc('\n', f);
    json_decref(o);
}

/* ---- HTML ---- */

void audit_html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void html_head(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    audit_html_escape(f, title);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;"
          "vertical-align:top;text-align:left}th{background:#eee}\n"
          ".pass{background:#d8f5d0}.fail{background:#f8d0d0}.not-applicable{background:#eee}"
          ".manual{background:#fff3c4}.error{background:#f6c9a8}.prov{color:#a60;font-size:12px}\n"
          ".sum span{display:inline-block;padding:6px 12px;margin-right:8px;border-radius:4px}\n"
          ".verdict{font-size:18px;padding:10px 14px;border-radius:4px}\n"
          "thead{display:table-header-group}tr{break-inside:avoid}h2{break-after:avoid}\n"
          "@page{size:A4 landscape;margin:12mm}@media print{body{margin:0;font-size:11px}}\n"
          "</style></head><body>\n", f);
}

static void html_row(FILE *f, const struct audit_row *r)
{
    size_t j;

    fprintf(f, "<tr class=\"%s\"><td>", audit_result_name(r->res));
    audit_html_escape(f, r->req->id);
    fputs("</td><td>", f);
    audit_html_escape(f, r->req->std);
    fputs(" ", f);
    audit_html_escape(f, r->req->ref);
    if (r->req->provisional)
        fputs(" <span class=\"prov\">(provisional numbering)</span>", f);
    fputs("<br>", f);
    audit_html_escape(f, r->req->text);
    if (*r->req->cond) {
        fputs("<br><i>Condition: ", f);
        audit_html_escape(f, r->req->cond);
        fputs("</i>", f);
    }
    fputs("</td><td>", f);
    audit_html_escape(f, *r->req->v3 ? r->req->v3 : r->req->status);
    fprintf(f, "</td><td>%s</td><td>", audit_result_name(r->res));
    audit_html_escape(f, r->why);
    fputs("</td><td>", f);
    audit_html_escape(f, r->req->control);
    fputs("</td><td>", f);
    if (r->check) {
        fputs("<code>", f);
        audit_html_escape(f, r->check);
        fputs("</code>: ", f);
    }
    audit_html_escape(f, r->evidence);
    fputs("</td><td>", f);
    for (j = 0; j < r->req->nxref; j++) {
        audit_html_escape(f, r->req->xref[j]);
        fputs(j + 1 < r->req->nxref ? ", " : "", f);
    }
    fputs("</td></tr>\n", f);
}

static const char table_head[] =
    "<table>\n<thead><tr><th>Id</th><th>Requirement</th><th>Status</th><th>Result</th>"
    "<th>Justification</th><th>Control</th><th>Evidence</th><th>Cross-references</th></tr>"
    "</thead>\n<tbody>\n";

/* The findings sections: which rows each lists. A recommendation the
 * maker answers not-implemented with a real reason is an answer, listed
 * apart from the failures (as audit_build_rows counts it). */
enum finding { F_FAIL, F_DECLINED, F_ERROR, F_UNANSWERED };

static int declined(const struct audit_row *r)
{
    return r->res == AUDIT_FAIL && !r->mandatory && r->ans &&
           r->ans->state == AUDIT_ANS_NOT_IMPLEMENTED && !audit_weak_reason(r->ans->why);
}

static int is_finding(const struct audit_row *r, enum finding k)
{
    switch (k) {
    case F_FAIL:
        return r->res == AUDIT_FAIL && !declined(r);
    case F_DECLINED:
        return declined(r);
    case F_ERROR:
        return r->res == AUDIT_ERROR;
    case F_UNANSWERED:
        return r->unanswered;
    }
    return 0;
}

/* The rows of one finding, under a heading; nothing when there are none. */
static void html_findings(FILE *f, const struct audit_model *m, enum finding k,
                          const char *heading)
{
    size_t i, n = 0;

    for (i = 0; i < m->nrow; i++)
        n += is_finding(&m->row[i], k) != 0;
    if (!n)
        return;
    fprintf(f, "<h2>%s (%zu)</h2>\n%s", heading, n, table_head);
    for (i = 0; i < m->nrow; i++)
        if (is_finding(&m->row[i], k))
            html_row(f, &m->row[i]);
    fputs("</tbody></table>\n", f);
}

/* What --strict refuses (audit_strict ran before the reports). */
static void html_issues(FILE *f, const struct audit_model *m)
{
    size_t i;

    if (!m->nissue)
        return;
    fprintf(f, "<h2>Why --strict refuses this report (%zu)</h2>\n<table>\n<thead><tr>"
               "<th>Requirement, check or key</th><th>Reason --strict gives</th></tr></thead>"
               "\n<tbody>\n", m->nissue);
    for (i = 0; i < m->nissue; i++) {
        fputs("<tr><td>", f);
        audit_html_escape(f, m->issue[i].id);
        fputs("</td><td>", f);
        audit_html_escape(f, m->issue[i].why);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

/* NOT MET while a requirement fails or could not be checked (a
 * recommendation the maker answers not-implemented with a reason is an
 * answer); INCOMPLETE while a row is unanswered or --strict has reasons;
 * MET otherwise. */
static void html_verdict(FILE *f, const struct audit_model *m)
{
    size_t bad = m->fail_mandatory + m->fail_recommended;

    if (bad)
        fprintf(f, "<p class=\"verdict fail\">NOT MET: %zu mandatory and %zu recommended "
                   "requirement%s failed or could not be checked (%zu fail, %zu error); %zu "
                   "unanswered.</p>\n",
                m->fail_mandatory, m->fail_recommended, bad == 1 ? "" : "s",
                m->count[AUDIT_FAIL], m->count[AUDIT_ERROR], m->unanswered);
    else if (m->unanswered || m->nissue)
        fprintf(f, "<p class=\"verdict manual\">INCOMPLETE: no requirement failed, but %zu "
                   "%s no answer and --strict names %zu reason%s to refuse the report.</p>\n",
                m->unanswered, m->unanswered == 1 ? "has" : "have", m->nissue,
                m->nissue == 1 ? "" : "s");
    else
        fputs("<p class=\"verdict pass\">MET: every requirement passed its check, is the "
              "maker's claim with its evidence, or is justified as not applicable.</p>\n", f);
}

static void html_ident(FILE *f, const char *label, const char *v)
{
    fprintf(f, "<tr><th>%s</th><td>", label);
    audit_html_escape(f, *v ? v : "(not declared)");
    fputs("</td></tr>\n", f);
}

/* Findings first: the verdict, what failed, what nobody answered, and which
 * product, batch and software the audit is about; the full table last. */
void audit_write_html(FILE *f, const struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    char period[2 * AUDIT_STR + 8];
    size_t i;

    html_head(f, "Statement of Applicability");
    fputs("<h1>Statement of Applicability: ", f);
    audit_html_escape(f, p->product);
    fputs(" ", f);
    audit_html_escape(f, p->model);
    fputs("</h1>\n<h2>Verdict</h2>\n", f);
    html_verdict(f, m);
    fprintf(f, "<p class=\"sum\"><span class=\"pass\">%zu pass</span><span class=\"fail\">%zu "
               "fail</span><span class=\"error\">%zu error</span><span class=\"not-applicable\">"
               "%zu not applicable</span><span class=\"manual\">%zu manual (%zu unanswered)"
               "</span></p>\n",
            m->count[AUDIT_PASS], m->count[AUDIT_FAIL], m->count[AUDIT_ERROR], m->count[AUDIT_NA],
            m->count[AUDIT_MANUAL], m->unanswered);
    fputs("<h2>What was assessed</h2>\n<table class=\"ident\">\n", f);
    html_ident(f, "Product", p->product);
    html_ident(f, "Model", p->model);
    html_ident(f, "Batch", p->batch);
    html_ident(f, "Unit audited", *m->unit ? m->unit : "(no device checked)");
    html_ident(f, "Hardware", p->hw_version);
    html_ident(f, "Software", p->sw_version);
    html_ident(f, "Manufacturer", p->manufacturer);
    snprintf(period, sizeof(period), "%s%s%s", p->support_start, *p->support_start ? " to " : "",
             p->support_end);
    html_ident(f, "Support period", period);
    html_ident(f, "Assessment", m->when);
    fputs("</table>\n<p>Generated by bulwark audit from the device's configuration and the "
          "results of its checks; device checks are of the unit given with --config, a sample "
          "of the batch.</p>\n", f);
    html_findings(f, m, F_FAIL, "Failed requirements");
    html_findings(f, m, F_ERROR, "Requirements that could not be checked");
    html_findings(f, m, F_UNANSWERED, "Unanswered requirements");
    html_findings(f, m, F_DECLINED,
                  "Recommendations the maker does not implement, with its reason");
    html_issues(f, m);
    fputs("<h2>All requirements</h2>\n<p>ISO/IEC 27402 clause numbers come from one unverified "
          "source and are marked provisional. Requirement texts are paraphrases, not the "
          "standards' wording.</p>\n", f);
    fputs(table_head, f);
    for (i = 0; i < m->nrow; i++)
        html_row(f, &m->row[i]);
    fputs("</tbody></table>\n</body></html>\n", f);
}

/* ---- Markdown and the ICS table ---- */

static void md_cell(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`' || *s == '<')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

void audit_write_markdown(FILE *f, const struct audit_model *m)
{
    size_t i;

    fputs("# Statement of Applicability: ", f);
    md_cell(f, m->prof->product);
    fputs(" ", f);
    md_cell(f, m->prof->model);
    fprintf(f, "\n\nGenerated by bulwark audit at %s. %zu pass, %zu fail, %zu not applicable, "
               "%zu manual.\n\n| Id | Requirement | Result | Justification | Evidence |\n"
               "|---|---|---|---|---|\n",
            m->when, m->count[0], m->count[1], m->count[2], m->count[3]);
    for (i = 0; i < m->nrow; i++) {
        const struct audit_row *r = &m->row[i];

        fputs("| ", f);
        md_cell(f, r->req->id);
        fputs(" | ", f);
        md_cell(f, r->req->text);
        fprintf(f, " | %s | ", audit_result_name(r->res));
        md_cell(f, r->why);
        fputs(" | ", f);
        md_cell(f, r->evidence);
        fputs(" |\n", f);
    }
}

void audit_write_ics(FILE *f, const struct audit_model *m)
{
    static const char *const support[AUDIT_NRESULTS] = {"Y", "N", "N/A", "?", "?"};
    size_t i;

    fputs("# EN 303 645 implementation conformance statement (Table B.1)\n\n"
          "| Reference | Status (V2.1.1) | Status (V3.1.3) | Support | Detail |\n"
          "|---|---|---|---|---|\n", f);
    for (i = 0; i < m->nrow; i++) {
        const struct audit_row *r = &m->row[i];

        if (strcmp(r->req->std, "EN 303 645"))
            continue;
        fputs("| ", f);
        md_cell(f, r->req->ref);
        fputs(" | ", f);
        md_cell(f, r->req->v2);
        fputs(" | ", f);
        md_cell(f, r->req->v3);
        /* the maker's claim of an implemented provision is a Y (with its
         * evidence); unanswered rows and checks that could not look are ? */
        fprintf(f, " | %s | ", r->res == AUDIT_MANUAL && r->ans &&
                                       r->ans->state == AUDIT_ANS_IMPLEMENTED ? "Y"
                                                                              : support[r->res]);
        if (*r->req->cond && r->res != AUDIT_NA) {
            fputs("Condition: ", f);
            md_cell(f, r->req->cond);
            fputs(". ", f);
        }
        md_cell(f, r->res == AUDIT_NA ? r->why : r->req->control);
        if (r->res != AUDIT_NA) {
            fputs(". ", f);
            md_cell(f, r->evidence);
        }
        fputs(" |\n", f);
    }
    fputs("\nSupport: Y implemented and checked, N not met, N/A not applicable (justified), "
          "? to be assessed by a person.\n", f);
}
