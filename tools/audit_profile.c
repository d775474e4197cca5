/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device profile: what a maker declares about the product (identity,
 * support period, disclosure contact, features, expected services) and the
 * reason for every requirement it does not apply. One table of keys parses
 * the file and writes the commented template. The parser takes untrusted
 * text and neither allocates nor does I/O (fuzz/fuzz_audit_profile.c).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "host.h"

enum ptype { P_STR, P_BOOL, P_DAYS, P_DATE, P_LIST, P_SERVICES, P_POLICY };

struct prow {
    const char *key;
    enum ptype type;
    size_t off, cap;
    const char *sample;
    const char *help;
};

#define S(f) offsetof(struct audit_profile, f), sizeof(((struct audit_profile *)0)->f)
static const struct prow rows[] = {
    {"product", P_STR, S(product), "Acme Thermostat", "product name as sold"},
    {"model", P_STR, S(model), "AT-200", "model designation shown on the label (EN 303 645 5.3-16)"},
    {"hw_version", P_STR, S(hw_version), "rev C", "hardware version"},
    {"sw_version", P_STR, S(sw_version), "1.4.2", "software version assessed"},
    {"manufacturer", P_STR, S(manufacturer), "Acme Devices Ltd", "manufacturer"},
    {"support_end", P_DATE, S(support_end), "2031-12-31",
     "last day of security updates, YYYY-MM-DD (5.3-13, PSTI)"},
    {"vuln_contact", P_STR, S(vuln_contact), "mailto:security@example.com",
     "where to report vulnerabilities: mailto:, https: or tel: URI (5.2-1, PSTI)"},
    {"policy_url", P_STR, S(policy_url), "https://example.com/security/policy",
     "https URL of the published disclosure policy"},
    {"canonical_url", P_STR, S(canonical_url), "https://example.com/.well-known/security.txt",
     "https URL where security.txt is published"},
    {"languages", P_STR, S(languages), "en", "languages reports are read in (RFC 5646 tags, comma separated)"},
    {"ack_days", P_DAYS, S(ack_days), "5", "working days within which a report is acknowledged"},
    {"status_days", P_DAYS, S(status_days), "30", "days between status updates until a report is resolved"},
    {"user_accounts", P_BOOL, S(user_accounts), "yes", "accounts log in with a password (yes/no)"},
    {"personal_data", P_BOOL, S(personal_data), "no", "personal data is processed (yes/no)"},
    {"telemetry", P_BOOL, S(telemetry), "no", "usage or diagnostic telemetry is sent (yes/no)"},
    {"constrained", P_BOOL, S(constrained), "no", "constrained device in the EN 303 645 sense (yes/no)"},
    {"sensors", P_LIST, S(sensors), "temperature, humidity", "sensing capabilities, or none"},
    {"network_interfaces", P_LIST, S(network_interfaces), "eth0, wlan0", "network interfaces, or none"},
    {"services", P_SERVICES, S(services), "tcp:443",
     "services expected to listen, proto:port (tcp or udp), or none (5.6-1)"},
    {"debug_interfaces", P_LIST, S(debug_interfaces), "none", "physically reachable debug interfaces, or none"},
    {"debug_disabled", P_BOOL, S(debug_disabled), "yes", "those interfaces are disabled in software (yes/no)"},
    {"update_policy", P_POLICY, S(update_policy), "automatic", "agent update policy: automatic, notify or manual"},
    {"risk_register", P_STR, S(risk_register), "risk.json", "the device risk register (bulwark risk init)"},
    {"agent_config", P_STR, S(agent_config), "",
     "bulwark-agent's configuration, read for its update policy and transport (5.3-4, 5.5-1); empty: declared only"},
    /* ---- the regulatory documents (bulwark audit disclose; audit_disclose.c) ---- */
    {"manufacturer_address", P_STR, S(manufacturer_address), "1 Example Street, Exampletown EX1 1AA, United Kingdom",
     "manufacturer's postal address (PSTI statement of compliance, S.I. 2023/1007 Schedule 4)"},
    {"batch", P_STR, S(batch), "AT-200 production batch 2026-01 (serials AT2-000001 to AT2-050000)",
     "the product batch the statement of compliance covers"},
    {"support_start", P_DATE, S(support_start), "2026-01-01",
     "first day of the defined support period, YYYY-MM-DD (with support_end)"},
    {"signatory_name", P_STR, S(signatory_name), "Jane Example",
     "the person who signs the statement of compliance for the manufacturer"},
    {"signatory_function", P_STR, S(signatory_function), "Head of Product Security",
     "the signatory's function"},
    {"issue_place", P_STR, S(issue_place), "Exampletown", "place of issue of the statement"},
    {"encryption_url", P_STR, S(encryption_url), "https://example.com/.well-known/openpgp-key.asc",
     "the key reporters encrypt with: https URL of an OpenPGP key, openpgp4fpr: or dns: (RFC 9116 Encryption)"},
    {"advisories_url", P_STR, S(advisories_url), "https://example.com/security/advisories",
     "https URL where security advisories are published (ISO/IEC 29147)"},
    {"doc_author", P_STR, S(doc_author), "Jane Example, Product Security",
     "author named in the document control of every generated document"},
    {"doc_version", P_STR, S(doc_version), "1.0", "version of the generated documents"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
#define NA_PREFIX "na."

static int set_err(char *err, size_t cap, int line, const char *msg, const char *arg)
{
    snprintf(err, cap, "line %d: %s%s%s", line, msg, arg ? ": " : "", arg ? arg : "");
    return 0;
}

/* "tcp:443, udp:5683" or "none". */
static int valid_services(const char *v)
{
    const char *p = v;

    if (!strcmp(v, "none"))
        return 1;
    while (*p) {
        unsigned long port;
        char *end;

        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (strncmp(p, "tcp:", 4) && strncmp(p, "udp:", 4))
            return 0;
        p += 4;
        if (*p < '0' || *p > '9')
            return 0;
        port = strtoul(p, &end, 10);
        if (port == 0 || port > 65535 || (*end && *end != ',' && *end != ' '))
            return 0;
        p = end;
    }
    return 1;
}

static int valid_date(const char *v)
{
    long d;

    return audit_days_until(v, &d) == BW_OK;
}

static bw_err set_row(struct audit_profile *p, const struct prow *r, const char *v)
{
    char *f = (char *)p + r->off;
    uint64_t n;

    switch (r->type) {
    case P_BOOL:
        if (!strcmp(v, "yes") || !strcmp(v, "no")) {
            *(int *)(void *)f = !strcmp(v, "yes");
            return BW_OK;
        }
        return BW_E_FORMAT;
    case P_DAYS:
        if (bw_parse_u64(v, &n) || n == 0 || n > 365)
            return BW_E_FORMAT;
        *(unsigned *)(void *)f = (unsigned)n;
        return BW_OK;
    case P_DATE:
        if (!valid_date(v))
            return BW_E_FORMAT;
        break;
    case P_SERVICES:
        if (!valid_services(v))
            return BW_E_FORMAT;
        break;
    case P_POLICY:
        if (strcmp(v, "automatic") && strcmp(v, "notify") && strcmp(v, "manual"))
            return BW_E_FORMAT;
        break;
    case P_STR:
    case P_LIST:
        break;
    }
    if (strlen(v) >= r->cap)
        return BW_E_TOOBIG;
    memcpy(f, v, strlen(v) + 1);
    return BW_OK;
}

static bw_err add_na(struct audit_profile *p, const char *id, const char *why, int line,
                     char *err, size_t errcap)
{
    size_t i;

    if (!*id || strlen(id) >= sizeof(p->na[0].id)) {
        set_err(err, errcap, line, "bad requirement id", NULL);
        return BW_E_FORMAT;
    }
    if (!*why) {
        set_err(err, errcap, line, "not-applicable without a justification", id);
        return BW_E_FORMAT;
    }
    if (strlen(why) >= sizeof(p->na[0].why)) {
        set_err(err, errcap, line, "justification too long", id);
        return BW_E_TOOBIG;
    }
    for (i = 0; i < p->nna; i++)
        if (!strcmp(p->na[i].id, id)) {
            set_err(err, errcap, line, "requirement declared twice", id);
            return BW_E_FORMAT;
        }
    if (p->nna == AUDIT_NA_MAX) {
        set_err(err, errcap, line, "too many not-applicable entries", NULL);
        return BW_E_TOOBIG;
    }
    snprintf(p->na[p->nna].id, sizeof(p->na[0].id), "%s", id);
    snprintf(p->na[p->nna].why, sizeof(p->na[0].why), "%s", why);
    p->na[p->nna++].line = line;
    return BW_OK;
}

static bw_err parse_line(struct audit_profile *p, char *ln, int line, int *seen, char *err,
                         size_t errcap)
{
    char *k, *v;
    size_t i;
    bw_err rc;
    int s = bw_conf_split(ln, &k, &v);

    if (s == 0)
        return BW_OK;
    if (s < 0) {
        set_err(err, errcap, line, "expected key = value", NULL);
        return BW_E_FORMAT;
    }
    if (!strncmp(k, NA_PREFIX, strlen(NA_PREFIX)))
        return add_na(p, k + strlen(NA_PREFIX), v, line, err, errcap);
    for (i = 0; i < N_ROWS && strcmp(rows[i].key, k); i++)
        ;
    if (i == N_ROWS) {
        set_err(err, errcap, line, "unknown key", k);
        return BW_E_FORMAT;
    }
    if (seen[i]) {
        set_err(err, errcap, line, "key given twice", k);
        return BW_E_FORMAT;
    }
    seen[i] = 1;
    rc = set_row(p, &rows[i], v);
    if (rc)
        set_err(err, errcap, line, rc == BW_E_TOOBIG ? "value too long" : "bad value for", k);
    return rc;
}

bw_err audit_profile_parse(struct audit_profile *p, const char *text, size_t len, char *err,
                           size_t errcap)
{
    char ln[2048];
    int seen[N_ROWS] = {0}, line = 0;
    size_t off = 0;
    bw_err rc = BW_OK;

    memset(p, 0, sizeof(*p));
    snprintf(err, errcap, "%s", "");
    while (off < len && !rc) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;

        line++;
        if (n >= sizeof(ln) || memchr(text + off, 0, n)) {
            set_err(err, errcap, line, n >= sizeof(ln) ? "line too long" : "NUL byte", NULL);
            return BW_E_FORMAT;
        }
        memcpy(ln, text + off, n);
        ln[n] = 0;
        rc = parse_line(p, ln, line, seen, err, errcap);
        off += n + 1;
    }
    return rc;
}

bw_err audit_profile_validate(const struct audit_profile *p, const struct audit_catalogue *c,
                              char *err, size_t errcap)
{
    size_t i;

    for (i = 0; i < p->nna; i++)
        if (!audit_catalogue_find(c, p->na[i].id)) {
            set_err(err, errcap, p->na[i].line, "unknown requirement id", p->na[i].id);
            return BW_E_NOTFOUND;
        }
    return BW_OK;
}

static int list_set(const char *v)
{
    return *v && strcmp(v, "none");
}

int audit_profile_feature(const struct audit_profile *p, const char *f)
{
    int neg = *f == '!', on = 0;

    f += neg;
    if (!strcmp(f, "user_accounts"))
        on = p->user_accounts;
    else if (!strcmp(f, "personal_data"))
        on = p->personal_data;
    else if (!strcmp(f, "telemetry"))
        on = p->telemetry;
    else if (!strcmp(f, "constrained"))
        on = p->constrained;
    else if (!strcmp(f, "sensors"))
        on = list_set(p->sensors);
    else if (!strcmp(f, "network"))
        on = list_set(p->network_interfaces);
    else if (!strcmp(f, "debug"))
        on = list_set(p->debug_interfaces);
    else
        on = 1; /* an unknown flag never hides a requirement */
    return neg ? !on : on;
}

const struct audit_na *audit_profile_na(const struct audit_profile *p, const char *id)
{
    size_t i;

    for (i = 0; i < p->nna; i++)
        if (!strcmp(p->na[i].id, id))
            return &p->na[i];
    return NULL;
}

void audit_profile_template(FILE *f, const struct audit_catalogue *c)
{
    size_t i;

    fprintf(f, "# bulwark device profile: what the maker declares about the product.\n"
               "# 'bulwark audit --profile FILE' reads it; docs/compliance.md explains each key.\n"
               "# Lines are key = value; # starts a comment.\n\n");
    for (i = 0; i < N_ROWS; i++)
        fprintf(f, "# %s\n%s = %s\n\n", rows[i].help, rows[i].key, rows[i].sample);
    fprintf(f, "# A requirement that does not apply: na.ID = the reason (required).\n"
               "# Requirements whose feature is absent (see the flags above) need no entry.\n"
               "# Ids are those of 'bulwark audit list'; %zu are known, for example:\n"
               "#na.%s = the device has no such function because ...\n",
            c->nreq, c->nreq ? c->req[0].id : "en303645-5.6-4");
}

bw_err audit_days_until(const char *date, long *days)
{
    struct tm tm;
    unsigned y, mo, d;
    char tail;
    time_t t;

    size_t i;

    for (i = 0; date[i]; i++)
        if (i == 4 || i == 7 ? date[i] != '-' : date[i] < '0' || date[i] > '9')
            return BW_E_FORMAT; /* sscanf alone would take signs and blanks */
    if (i != 10 || sscanf(date, "%4u-%2u-%2u%c", &y, &mo, &d, &tail) != 3 || y < 1970 ||
        mo < 1 || mo > 12 || d < 1 || d > 31)
        return BW_E_FORMAT;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)y - 1900;
    tm.tm_mon = (int)mo - 1;
    tm.tm_mday = (int)d;
    tm.tm_hour = 12;
    t = timegm(&tm);
    if (tm.tm_mday != (int)d) /* 31 February */
        return BW_E_FORMAT;
    *days = (long)((t - time(NULL)) / 86400);
    return BW_OK;
}
