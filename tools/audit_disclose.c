/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disclosure and transparency documents from the profile: security.txt
 * (RFC 9116), the vulnerability disclosure policy (the ISO/IEC 29147
 * elements EN 303 645 5.2-1 and PSTI ask for: contact, acknowledgement and
 * status-update times), the support-period statement and the PSTI
 * statement of compliance. They are refused, not guessed, when the profile
 * lacks what they must state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "audit.h"

/* security.txt expires within a year (RFC 9116 2.5.5 advises less). */
#define EXPIRES_DAYS 180

static FILE *open_out(const char *dir, const char *name, char *err, size_t cap)
{
    char path[4200];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f)
        snprintf(err, cap, "%s: %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f)
{
    int bad = ferror(f);

    return fclose(f) || bad;
}

static void security_txt(FILE *f, const struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    time_t t = time(NULL) + (time_t)EXPIRES_DAYS * 86400;
    struct tm tm;
    char exp[32];

    gmtime_r(&t, &tm);
    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "# Security contact for %s %s (%s), per RFC 9116.\n", p->product, p->model,
            p->manufacturer);
    fprintf(f, "Contact: %s\nExpires: %s\nPolicy: %s\nPreferred-Languages: %s\n", p->vuln_contact,
            exp, p->policy_url, *p->languages ? p->languages : "en");
    if (*p->canonical_url)
        fprintf(f, "Canonical: %s\n", p->canonical_url);
}

static void policy(FILE *f, const struct audit_model *m)
{
    const struct audit_profile *p = m->prof;

    fprintf(f, "# Vulnerability disclosure policy: %s %s\n\n", p->product, p->model);
    fprintf(f, "%s wants to hear about security weaknesses in %s (model %s, all software "
               "versions still supported).\n\n", p->manufacturer, p->product, p->model);
    fprintf(f, "## How to report\n\nSend the report to %s. Say which model and software version "
               "you used, what you did and what happened. Reports in these languages are read: "
               "%s. Reporting is free and needs no account or prior agreement.\n\n",
            p->vuln_contact, *p->languages ? p->languages : "en");
    fprintf(f, "## What happens next\n\n- We acknowledge every report within %u working days.\n"
               "- Until the issue is resolved we tell you its status at least every %u days.\n"
               "- We agree a publication date with you and credit you if you wish.\n"
               "- We do not take legal action against good-faith research that follows this "
               "policy.\n\n", p->ack_days, p->status_days);
    fprintf(f, "## Support period\n\nSecurity updates for this product are provided until %s.\n\n"
               "This policy is published at %s.\n",
            p->support_end, p->policy_url);
}

static void support(FILE *f, const struct audit_model *m)
{
    const struct audit_profile *p = m->prof;

    fprintf(f, "# Support period: %s %s\n\n%s provides security updates for %s, model %s "
               "(hardware %s), until %s. The period will not be shortened; if it is extended, "
               "the new end date is published here and in the product information.\n",
            p->product, p->model, p->manufacturer, p->product, p->model, p->hw_version,
            p->support_end);
}

static const char *met(const struct audit_model *m, const char *check)
{
    size_t i;

    for (i = 0; i < m->nchk; i++)
        if (!strcmp(m->chk[i].name, check))
            return m->chk[i].res == AUDIT_PASS   ? "met"
                   : m->chk[i].res == AUDIT_FAIL ? "NOT MET"
                                                 : "not checked (needs --config or a person)";
    return "not checked";
}

static void psti(FILE *f, const struct audit_model *m)
{
    const struct audit_profile *p = m->prof;

    fprintf(f, "# Statement of compliance (UK PSTI Act 2022, S.I. 2023/1007)\n\n"
               "Product: %s, model %s, hardware %s, software %s\nManufacturer: %s\nDate: %s\n\n",
            p->product, p->model, p->hw_version, p->sw_version, p->manufacturer, m->when);
    fprintf(f, "| Schedule 1 requirement | How it is met | Result of bulwark audit |\n"
               "|---|---|---|\n");
    fprintf(f, "| 1. Passwords | %s | %s |\n",
            p->user_accounts ? "each unit gets its own random password at provisioning and the "
                               "user is asked to change it (EN 303 645 5.1-1)"
                             : "the product has no passwords",
            p->user_accounts ? met(m, "cred.factory") : "not applicable");
    fprintf(f, "| 2. Reporting security issues | contact %s, acknowledgement within %u working "
               "days, status every %u days (EN 303 645 5.2-1) | %s |\n",
            p->vuln_contact, p->ack_days, p->status_days, met(m, "docs.contact"));
    fprintf(f, "| 3. Security update period | until %s | %s |\n", p->support_end,
            met(m, "docs.support"));
    fprintf(f, "\nThis statement was generated from the device profile and the device checks; "
               "it is valid only if every result above reads 'met'.\n");
}

bw_err audit_write_disclosure(const struct audit_model *m, const char *dir, char *err,
                              size_t errcap)
{
    static const char *const names[] = {"security.txt", "disclosure-policy.md",
                                        "support-period.md", "psti-statement.md"};
    void (*const writers[])(FILE *, const struct audit_model *) = {security_txt, policy, support,
                                                                  psti};
    const struct audit_profile *p = m->prof;
    size_t i;

    if (strncmp(p->vuln_contact, "mailto:", 7) && strncmp(p->vuln_contact, "https://", 8) &&
        strncmp(p->vuln_contact, "tel:", 4)) {
        snprintf(err, errcap, "vuln_contact must be a mailto:, https: or tel: URI");
        return BW_E_FORMAT;
    }
    if (strncmp(p->policy_url, "https://", 8) ||
        (*p->canonical_url && strncmp(p->canonical_url, "https://", 8))) {
        snprintf(err, errcap, "policy_url and canonical_url must be https URLs");
        return BW_E_FORMAT;
    }
    if (!*p->support_end || !p->ack_days || !p->status_days || !*p->product) {
        snprintf(err, errcap, "product, support_end, ack_days and status_days are required");
        return BW_E_FORMAT;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        FILE *f = open_out(dir, names[i], err, errcap);

        if (!f)
            return BW_E_IO;
        writers[i](f, m);
        if (close_out(f)) {
            snprintf(err, errcap, "%s/%s: write failed", dir, names[i]);
            return BW_E_IO;
        }
    }
    return BW_OK;
}
