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
#include "bwh/host.h"

enum ptype { P_STR, P_BOOL, P_DAYS, P_DATE, P_LIST, P_SERVICES, P_POLICY, P_TRI, P_STD, P_HEX };

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
    {"fips_certificate", P_STR, S(fips_certificate), "",
     "certificate of the validated cryptographic module the device runs in crypto_mode = "
     "approved, e.g. \"CMVP #NNNN (OpenSSL FIPS Provider 3.0.x)\"; empty: none claimed "
     "(27402 5.2.5, docs/fips.md)"},
    {"agent_config", P_STR, S(agent_config), "",
     "bulwark-agent's configuration, read for its update policy and transport (5.3-4, 5.5-1); empty: declared only"},
    {"standard", P_STD, S(standard), "EN 303 645 V2.1.1",
     "target version the rows are answered against: EN 303 645 V2.1.1 or EN 303 645 V3.1.x"},
    {"updates", P_TRI, S(updatable), "yes",
     "the device software can be updated (yes/no; default yes unless constrained with no network)"},
    {"release_key_sha256", P_HEX, S(release_key_sha256), "",
     "SHA-256 of the release public key (DER SubjectPublicKeyInfo), pinned (5.3-10)"},
    {"provisioning_registry", P_STR, S(provisioning_registry), "registry.jsonl",
     "bulwark provision's registry of the batch, read for shared passwords and keys (5.1-1, 5.4-4)"},
    {"releases", P_STR, S(releases), "",
     "the gateway's release list (GET /api/v1/releases saved as JSON); empty: not compared"},
    {"setup_guide", P_STR, S(setup_guide), "",
     "the user's guide to setting up and checking the device (file or https URL, 5.12-2, 5.12-3)"},
    {"owner", P_STR, S(owner), "Jane Doe, Product Security",
     "who answers for the maker's claims below (req.ID.owner overrides)"},
    {"review", P_DATE, S(review), "2026-01-15", "when the claims were last reviewed, YYYY-MM-DD"},
    {"expires", P_DATE, S(expires), "2027-01-15", "claims are void after this date, YYYY-MM-DD"},
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
#define REQ_PREFIX "req."

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
        if (bwh_parse_u64(v, &n) || n == 0 || n > 365)
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
    case P_TRI:
        if (strcmp(v, "yes") && strcmp(v, "no"))
            return BW_E_FORMAT;
        *(int *)(void *)f = !strcmp(v, "yes") ? 1 : -1;
        return BW_OK;
    case P_STD:
        if (!*v)
            break; /* not declared: --strict asks for it */
        if (!strcmp(v, "EN 303 645 V2.1.1"))
            p->target = AUDIT_V2_1_1;
        else if (!strncmp(v, "EN 303 645 V3.1.", 16) && v[16] >= '0' && v[16] <= '9')
            p->target = AUDIT_V3_1;
        else
            return BW_E_FORMAT;
        break;
    case P_HEX:
        if (*v && (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64))
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

/* The answer for id, created (at line) when absent. NULL when full. */
static struct audit_answer *answer_for(struct audit_profile *p, const char *id, int line)
{
    size_t i;

    for (i = 0; i < p->nans; i++)
        if (!strcmp(p->ans[i].id, id))
            return &p->ans[i];
    if (p->nans == AUDIT_ANSWER_MAX)
        return NULL;
    snprintf(p->ans[p->nans].id, sizeof(p->ans[0].id), "%s", id);
    p->ans[p->nans].line = line;
    return &p->ans[p->nans++];
}

static const char *const state_names[] = {"", "implemented", "not-implemented", "not-applicable"};

const char *audit_answer_name(enum audit_answer_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

/* The fields of one answer: req.ID.FIELD = VALUE. */
struct afield {
    const char *name;
    size_t off, cap;
    int date;
};
#define A(f) offsetof(struct audit_answer, f), sizeof(((struct audit_answer *)0)->f)
static const struct afield afields[] = {
    {"why", A(why), 0},         {"detail", A(detail), 0}, {"evidence", A(evidence), 0},
    {"owner", A(owner), 0},     {"review", A(review), 1}, {"expires", A(expires), 1},
};
#define N_AFIELDS (sizeof(afields) / sizeof(afields[0]))

static bw_err set_state(struct audit_answer *a, const char *v, int line, char *err, size_t errcap)
{
    size_t i;

    if (a->state) {
        set_err(err, errcap, line, "requirement answered twice", a->id);
        return BW_E_FORMAT;
    }
    for (i = 1; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (!strcmp(v, state_names[i])) {
            a->state = (enum audit_answer_state)i;
            return BW_OK;
        }
    set_err(err, errcap, line, "answer is implemented, not-implemented or not-applicable", a->id);
    return BW_E_FORMAT;
}

/* req.ID = STATE or req.ID.FIELD = VALUE; ids hold dots, so the field is
 * the part after the last dot when it names one. */
static bw_err add_answer(struct audit_profile *p, const char *key, const char *v, int line,
                         char *err, size_t errcap)
{
    const char *dot = strrchr(key, '.');
    const struct afield *fl = NULL;
    struct audit_answer *a;
    char id[64];
    size_t i, n = strlen(key);

    for (i = 0; dot && i < N_AFIELDS; i++)
        if (!strcmp(dot + 1, afields[i].name)) {
            fl = &afields[i];
            n = (size_t)(dot - key);
        }
    if (!n || n >= sizeof(id) || strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789.-_") < n) {
        set_err(err, errcap, line, "bad requirement id", NULL);
        return BW_E_FORMAT;
    }
    memcpy(id, key, n);
    id[n] = 0;
    a = answer_for(p, id, line);
    if (!a) {
        set_err(err, errcap, line, "too many answers", NULL);
        return BW_E_TOOBIG;
    }
    if (!fl)
        return set_state(a, v, line, err, errcap);
    if (*((char *)a + fl->off)) {
        set_err(err, errcap, line, "field given twice", key);
        return BW_E_FORMAT;
    }
    if (strlen(v) >= fl->cap) {
        set_err(err, errcap, line, "value too long", key);
        return BW_E_TOOBIG;
    }
    if (!*v || (fl->date && !valid_date(v))) {
        set_err(err, errcap, line, "bad value for", key);
        return BW_E_FORMAT;
    }
    memcpy((char *)a + fl->off, v, strlen(v) + 1);
    return BW_OK;
}

/* na.ID = REASON: not-applicable with its reason in one line. */
static bw_err add_na(struct audit_profile *p, const char *id, const char *why, int line,
                     char *err, size_t errcap)
{
    char key[80];
    bw_err rc;

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
    rc = add_answer(p, id, "not-applicable", line, err, errcap);
    if (rc == BW_E_FORMAT && strstr(err, "answered twice"))
        set_err(err, errcap, line, "requirement declared twice", id);
    if (rc)
        return rc;
    snprintf(key, sizeof(key), "%s.why", id);
    return add_answer(p, key, why, line, err, errcap);
}

/* Every answer has a state, the reason its state needs, and claims have
 * evidence; not-applicable answers are also listed in p->na. */
static bw_err finish_answers(struct audit_profile *p, char *err, size_t errcap)
{
    size_t i;

    for (i = 0; i < p->nans; i++) {
        struct audit_answer *a = &p->ans[i];

        if (!a->state) {
            set_err(err, errcap, a->line, "fields without an answer (req.ID = implemented, "
                                          "not-implemented or not-applicable)", a->id);
            return BW_E_FORMAT;
        }
        if (a->state != AUDIT_ANS_IMPLEMENTED && !*a->why) {
            set_err(err, errcap, a->line,
                    a->state == AUDIT_ANS_NOT_APPLICABLE ? "not-applicable without a justification"
                                                         : "not-implemented without a justification",
                    a->id);
            return BW_E_FORMAT;
        }
        if (a->state == AUDIT_ANS_IMPLEMENTED && !*a->evidence) {
            set_err(err, errcap, a->line, "implemented without evidence (req.ID.evidence)", a->id);
            return BW_E_FORMAT;
        }
        if (a->state == AUDIT_ANS_NOT_APPLICABLE) {
            struct audit_na *n;

            if (p->nna == AUDIT_NA_MAX) {
                set_err(err, errcap, a->line, "too many not-applicable entries", NULL);
                return BW_E_TOOBIG;
            }
            n = &p->na[p->nna++];
            snprintf(n->id, sizeof(n->id), "%s", a->id);
            snprintf(n->why, sizeof(n->why), "%s", a->why);
            n->line = a->line;
        }
    }
    return BW_OK;
}

static bw_err parse_line(struct audit_profile *p, char *ln, int line, int *seen, char *err,
                         size_t errcap)
{
    char *k, *v;
    size_t i;
    bw_err rc;
    int s = bwh_conf_split(ln, &k, &v);

    if (s == 0)
        return BW_OK;
    if (s < 0) {
        set_err(err, errcap, line, "expected key = value", NULL);
        return BW_E_FORMAT;
    }
    if (!strncmp(k, NA_PREFIX, strlen(NA_PREFIX)))
        return add_na(p, k + strlen(NA_PREFIX), v, line, err, errcap);
    if (!strncmp(k, REQ_PREFIX, strlen(REQ_PREFIX)))
        return add_answer(p, k + strlen(REQ_PREFIX), v, line, err, errcap);
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
    if (!rc)
        rc = finish_answers(p, err, errcap);
    return rc;
}

bw_err audit_profile_validate(const struct audit_profile *p, const struct audit_catalogue *c,
                              char *err, size_t errcap)
{
    size_t i;

    for (i = 0; i < p->nans; i++)
        if (!audit_catalogue_find(c, p->ans[i].id)) {
            set_err(err, errcap, p->ans[i].line, "unknown requirement id", p->ans[i].id);
            return BW_E_NOTFOUND;
        }
    return BW_OK;
}

static int list_set(const char *v)
{
    return *v && strcmp(v, "none");
}

static int one_feature(const struct audit_profile *p, const char *f, size_t n)
{
    int neg = *f == '!', on;

    f += neg, n -= (size_t)neg;
#define IS(name) (n == strlen(name) && !strncmp(f, name, n))
    if (IS("user_accounts"))
        on = p->user_accounts;
    else if (IS("personal_data"))
        on = p->personal_data;
    else if (IS("telemetry"))
        on = p->telemetry;
    else if (IS("constrained"))
        on = p->constrained;
    else if (IS("sensors"))
        on = list_set(p->sensors);
    else if (IS("network"))
        on = list_set(p->network_interfaces);
    else if (IS("debug"))
        on = list_set(p->debug_interfaces);
    else if (IS("updatable"))
        on = p->updatable ? p->updatable > 0
                          : !(p->constrained && !list_set(p->network_interfaces));
    else
        on = 1; /* an unknown flag never hides a requirement */
#undef IS
    return neg ? !on : on;
}

/* "a,!b": every flag of the list must hold. */
int audit_profile_feature(const struct audit_profile *p, const char *f)
{
    while (*f) {
        size_t n = strcspn(f, ",");

        if (n && !one_feature(p, f, n))
            return 0;
        f += n + (f[n] == ',');
    }
    return 1;
}

const struct audit_answer *audit_profile_answer(const struct audit_profile *p, const char *id)
{
    size_t i;

    for (i = 0; i < p->nans; i++)
        if (!strcmp(p->ans[i].id, id))
            return &p->ans[i];
    return NULL;
}

/* Text that marks a value as copied from a template or left to fill. The
 * reserved names (RFC 2606, RFC 6761) that can never be reached are here:
 * example.*, .example, .invalid, .localhost. ".test" is not: a test rig
 * such as the reference device (scripts/reference-device.sh) has its own
 * domain under .test, which no template suggests. */
static const char *const placeholders[] = {
    "example.com", "example.org", "example.net", ".example", "@example", ".invalid",
    ".localhost", "Acme ", "AT-200", "Jane Doe", "John Doe", "Jane Example", "Exampletown",
    "Example Street", "TODO", "TBD", "FIXME", "XXX", "<fill", "lorem ipsum", "changeme",
};

static const char *placeholder_in(const char *v)
{
    size_t i;

    for (i = 0; *v && i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
        if (strcasestr(v, placeholders[i]))
            return placeholders[i];
    return NULL;
}

/* Keys whose template sample is a made-up identity, never a real answer. */
#define SAMPLE_KEYS                                                                          \
    " product model manufacturer hw_version vuln_contact policy_url canonical_url owner "    \
    "manufacturer_address batch signatory_name issue_place "             \
    "encryption_url advisories_url doc_author "

static void note_sample(char *out, size_t cap, size_t *n, const char *key, const char *v,
                        const char *why)
{
    size_t len = strlen(out);

    if (len + 2 < cap)
        snprintf(out + len, cap - len, "%s = %.80s: %s\n", key, v, why);
    (*n)++;
}

const char *audit_weak_reason(const char *why)
{
    size_t words = 0, run = 0;
    const char *c;

    for (c = why;; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) {
            run++;
            continue;
        }
        words += run >= 2;
        run = 0;
        if (!*c)
            break;
    }
    if (words < 5)
        return "fewer than five words: say what the device lacks or does instead";
    if (placeholder_in(why))
        return "placeholder text";
    return NULL;
}

const char *audit_profile_placeholder(const char *key, const char *v)
{
    const char *hit = placeholder_in(v);
    char pad[48];
    size_t i;

    if (hit)
        return hit;
    snprintf(pad, sizeof(pad), " %.40s ", key);
    for (i = 0; *v && i < N_ROWS; i++)
        if (!strcmp(rows[i].key, key))
            return !strcmp(v, rows[i].sample) && strstr(SAMPLE_KEYS, pad)
                       ? "the template's sample value"
                       : NULL;
    return NULL;
}

size_t audit_profile_samples(const struct audit_profile *p, char *out, size_t cap)
{
    size_t i, j, n = 0;
    const char *hit;

    *out = 0;
    for (i = 0; i < N_ROWS; i++) {
        const char *v = (const char *)p + rows[i].off;

        if ((rows[i].type != P_STR && rows[i].type != P_LIST) || *v == '/')
            continue; /* an absolute path is the auditor's file */
        if ((hit = audit_profile_placeholder(rows[i].key, v)) != NULL)
            note_sample(out, cap, &n, rows[i].key, v, hit);
    }
    for (i = 0; i < p->nans; i++)
        for (j = 0; j < N_AFIELDS; j++) {
            const char *v = (const char *)&p->ans[i] + afields[j].off;
            char key[96];

            if (!afields[j].date && (hit = placeholder_in(v)) != NULL) {
                snprintf(key, sizeof(key), "req.%s.%s", p->ans[i].id, afields[j].name);
                note_sample(out, cap, &n, key, v, hit);
            }
        }
    return n;
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
               "# Lines are key = value; # starts a comment. The sample values below are\n"
               "# placeholders: 'bulwark audit --strict' refuses every one left in place.\n\n");
    for (i = 0; i < N_ROWS; i++)
        fprintf(f, "# %s\n%s = %s\n\n", rows[i].help, rows[i].key, rows[i].sample);
    fprintf(f, "# The maker's answer for each requirement no automated check decides:\n"
               "#   req.ID = implemented | not-implemented | not-applicable\n"
               "#   req.ID.detail = how it is done        req.ID.evidence = files, URLs, check:NAME\n"
               "#   req.ID.why = the reason (required for not-implemented and not-applicable)\n"
               "#   req.ID.owner / .review / .expires override owner, review and expires above.\n"
               "# na.ID = REASON is short for not-applicable with its reason. Requirements\n"
               "# whose feature is absent (see the flags above) need no entry.\n"
               "# Ids are those of 'bulwark audit list'; %zu are known. Unanswered ones:\n",
            c->nreq);
    for (i = 0; i < c->nreq; i++)
        if (!c->req[i].nchecks)
            fprintf(f, "#req.%s = \n", c->req[i].id);
}

bw_err audit_days_until(const char *date, long *days)
{
    struct tm tm;
    uint32_t ymd[3], y, mo, d;
    time_t t;

    size_t i;

    for (i = 0; date[i]; i++)
        if (i == 4 || i == 7 ? date[i] != '-' : date[i] < '0' || date[i] > '9')
            return BW_E_FORMAT; /* YYYY-MM-DD, digits where digits go */
    if (i != 10 || bwh_parse_u32_list(date, '-', ymd, 3))
        return BW_E_FORMAT;
    y = ymd[0];
    mo = ymd[1];
    d = ymd[2];
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
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
