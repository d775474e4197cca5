/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compliance kit's parsers and model without a device: profile syntax
 * and its errors, dates, feature flags, the built-in catalogue (ids unique,
 * every mapping and threat pointing at a known requirement), rows built
 * from a profile, the risk register's rules, HTML escaping and stable UUIDs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "bulwark/err.h"
#include "t.h"
#include "vex.h"

static struct audit_profile prof;

static bw_err parse(const char *text, char *err, size_t cap)
{
    return audit_profile_parse(&prof, text, strlen(text), err, cap);
}

static void test_profile(void)
{
    char err[200];
    long d;

    CHECK_RC(parse("# c\n\nproduct = A\nuser_accounts = yes\nservices = tcp:22, udp:53\n"
                   "sensors = none\nna.en303645-5.6-4 = no debug header on the board\n",
                   err, sizeof(err)),
             BW_OK);
    CHECK(!strcmp(prof.product, "A") && prof.user_accounts && prof.nna == 1);
    CHECK(!strcmp(prof.na[0].why, "no debug header on the board") && prof.na[0].line == 7);
    CHECK(audit_profile_feature(&prof, "user_accounts") && !audit_profile_feature(&prof, "sensors"));
    CHECK(audit_profile_feature(&prof, "!network") && !audit_profile_feature(&prof, "personal_data"));
    CHECK(audit_profile_na(&prof, "en303645-5.6-4") && !audit_profile_na(&prof, "en303645-5.6-1"));

    CHECK_RC(parse("na.en303645-5.6-4 =\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "line 1: not-applicable without a justification: en303645-5.6-4") != NULL);
    CHECK_RC(parse("na.x = a\nna.x = b\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("colour = blue\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "unknown key: colour") != NULL);
    CHECK_RC(parse("product = a\nproduct = b\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("no equals\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("user_accounts = maybe\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("services = tcp:0\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("services = tcp:65536\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("services = sctp:80\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("services = tcp:80x\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("ack_days = 0\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("update_policy = sometimes\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(audit_profile_parse(&prof, "product = a\0b\n", 14, err, sizeof(err)), BW_E_FORMAT);

    CHECK_RC(audit_days_until("2020-02-29", &d), BW_OK);
    CHECK(d < 0);
    CHECK_RC(audit_days_until("9999-12-31", &d), BW_OK);
    CHECK(d > 0);
    CHECK_RC(audit_days_until("2021-02-29", &d), BW_E_FORMAT);
    CHECK_RC(audit_days_until("2021-13-01", &d), BW_E_FORMAT);
    CHECK_RC(audit_days_until("2021-1-01", &d), BW_E_FORMAT);
    CHECK_RC(audit_days_until("2021-01-01x", &d), BW_E_FORMAT);
    CHECK_RC(audit_days_until("2021-+1-01", &d), BW_E_FORMAT);
    CHECK_RC(audit_days_until(" 2021-01-1", &d), BW_E_FORMAT);
}

static void test_catalogue(struct audit_catalogue *c)
{
    size_t i, j, en = 0, iso = 0, psti = 0, nist = 0, cra = 0;
    char err[200];

    for (i = 0; i < c->nreq; i++) {
        const struct audit_req *r = &c->req[i];

        en += !strcmp(r->std, "EN 303 645");
        iso += !strcmp(r->std, "ISO/IEC 27402");
        psti += !strcmp(r->std, "PSTI");
        nist += !strcmp(r->std, "NISTIR 8259A");
        cra += !strcmp(r->std, "CRA");
        if (!strcmp(r->std, "ISO/IEC 27402"))
            CHECK(r->provisional);
        for (j = i + 1; j < c->nreq; j++)
            if (!strcmp(r->id, c->req[j].id))
                CHECK(!"duplicate requirement id");
        if (r->feature) { /* "a,!b": every flag is known */
            char f[128], *one, *save = NULL;

            snprintf(f, sizeof(f), "%s", r->feature);
            for (one = strtok_r(f, ",", &save); one; one = strtok_r(NULL, ",", &save))
                CHECK(audit_feature_help(c, one + (*one == '!')) != NULL);
        }
        for (j = 0; j < r->nchecks; j++) /* every check a row names is one audit runs */
            CHECK(strchr(r->checks[j], '.') != NULL);
    }
    CHECK(en >= 70 && iso >= 8 && psti == 3 && nist == 6 && cra >= 14);
    CHECK(c->nthr >= 5);
    CHECK(audit_catalogue_find(c, "en303645-5.6-1")->nxref > 0);
    CHECK(*audit_catalogue_find(c, "en303645-5.3-2")->cond); /* M C: its condition */

    CHECK_RC(parse("na.en303645-9.9-9 = no such clause\n", err, sizeof(err)), BW_OK);
    CHECK_RC(audit_profile_validate(&prof, c, err, sizeof(err)), BW_E_NOTFOUND);
    CHECK(strstr(err, "unknown requirement id: en303645-9.9-9") != NULL);
}

/* The rows of prof with one check run, as the audit would build them. */
static void one_check(struct audit_model *m, struct audit_catalogue *c, const char *name,
                      enum audit_result res, const char *evidence)
{
    memset(m, 0, sizeof(*m));
    m->cat = c;
    m->prof = &prof;
    m->nchk = 1;
    m->chk[0].name = name;
    m->chk[0].res = res;
    snprintf(m->chk[0].evidence, sizeof(m->chk[0].evidence), "%s", evidence);
    CHECK_RC(audit_build_rows(m), BW_OK);
}

static void test_rows(struct audit_catalogue *c)
{
    struct audit_model m;
    char err[200];
    size_t i;

    CHECK_RC(parse("model = M\npersonal_data = no\nna.en303645-5.3-16 = engraved on the case\n",
                   err, sizeof(err)),
             BW_OK);
    one_check(&m, c, "net.listeners", AUDIT_FAIL, "tcp:23 open");
    CHECK(m.nrow == c->nreq);
    for (i = 0; i < m.nrow; i++) {
        const struct audit_row *r = &m.row[i];

        if (!strcmp(r->req->id, "en303645-5.3-16"))
            CHECK(r->res == AUDIT_NA && !strcmp(r->why, "engraved on the case"));
        if (!strcmp(r->req->id, "en303645-6-1"))
            CHECK(r->res == AUDIT_NA && strstr(r->why, "personal data") != NULL);
        if (!strcmp(r->req->id, "en303645-5.6-5"))
            CHECK(r->res == AUDIT_FAIL && !strcmp(r->evidence, "[net.listeners] tcp:23 open"));
        if (!strcmp(r->req->id, "en303645-5.1-2")) /* user_accounts not declared */
            CHECK(r->res == AUDIT_NA && strstr(r->why, "accounts") != NULL);
        if (!strcmp(r->req->id, "en303645-5.6-9"))
            CHECK(r->res == AUDIT_MANUAL);
        if (r->res == AUDIT_NA)
            CHECK(r->why[0] != 0); /* never not-applicable without a reason */
    }
    CHECK(m.count[0] + m.count[1] + m.count[2] + m.count[3] + m.count[4] == m.nrow);
    audit_model_free(&m);
}

static void test_register(struct audit_catalogue *c)
{
    static const char good[] =
        "{\"device\":\"d\",\"risks\":[{\"id\":\"R1\",\"asset\":\"a\",\"threat\":\"t\","
        "\"vulnerability\":\"v\",\"option\":\"reduce\","
        "\"likelihood\":4,\"impact\":5,\"treatment\":\"x\",\"controls\":\"c\",\"requirements\":"
        "[\"%s\"],\"residual_likelihood\":%d,\"residual_impact\":5,\"owner\":\"o\",\"review\":"
        "\"%s\"}]}";
    struct audit_register r;
    char buf[600], err[200];

    snprintf(buf, sizeof(buf), good, "en303645-5.1-1", 2, "2030-01-01");
    CHECK_RC(audit_register_parse(&r, buf, strlen(buf), err, sizeof(err)), BW_OK);
    CHECK(r.n == 1 && r.risk[0].likelihood == 4 && r.risk[0].nreqs == 1);
    CHECK_RC(audit_register_validate(&r, c, err, sizeof(err)), BW_OK);
    audit_register_free(&r);
    snprintf(buf, sizeof(buf), good, "nope-1", 2, "2030-01-01");
    CHECK_RC(audit_register_parse(&r, buf, strlen(buf), err, sizeof(err)), BW_OK);
    CHECK_RC(audit_register_validate(&r, c, err, sizeof(err)), BW_E_NOTFOUND);
    audit_register_free(&r);
    snprintf(buf, sizeof(buf), good, "en303645-5.1-1", 5, "2030-01-01"); /* 25 > 20 */
    CHECK_RC(audit_register_parse(&r, buf, strlen(buf), err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "residual risk above the inherent risk") != NULL);
    audit_register_free(&r);
    snprintf(buf, sizeof(buf), good, "en303645-5.1-1", 2, "soon");
    CHECK_RC(audit_register_parse(&r, buf, strlen(buf), err, sizeof(err)), BW_E_FORMAT);
    audit_register_free(&r);
    CHECK_RC(audit_register_parse(&r, "{\"device\":\"d\"}", 14, err, sizeof(err)), BW_E_FORMAT);
    audit_register_free(&r);
    /* no treatment is not a treatment; acceptance needs a residual risk */
    snprintf(buf, sizeof(buf), good, "en303645-5.1-1", 2, "2030-01-01");
    memcpy(strstr(buf, "\"x\""), "\"-\"", 3);
    CHECK_RC(audit_register_parse(&r, buf, strlen(buf), err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "treatment says none") != NULL);
    audit_register_free(&r);
}

static void test_escape_uuid(void)
{
    char buf[200] = "", u1[37], u2[37], u3[37];
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

    audit_html_escape(f, "<a href=\"x\">'&'</a>");
    fclose(f);
    CHECK(!strcmp(buf, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"));
    audit_uuid(u1, "dev", "ssp");
    audit_uuid(u2, "dev", "ssp");
    audit_uuid(u3, "dev", "ar");
    CHECK(!strcmp(u1, u2) && strcmp(u1, u3));
    CHECK(strlen(u1) == 36 && u1[14] == '5' && strchr("89ab", u1[19]) != NULL);
}

/* issue 14: the maker's answer for each row, its fields and its errors. */
static void test_answers(void)
{
    const struct audit_answer *a;
    char err[200];

    CHECK_RC(parse("req.en303645-5.2-2 = implemented\n"
                   "req.en303645-5.2-2.evidence = docs/psirt.md, https://x.invalid/psirt\n"
                   "req.en303645-5.2-2.owner = R. Lindqvist, PSIRT lead\n"
                   "req.en303645-5.2-2.expires = 2099-01-01\n"
                   "req.en303645-5.11-2 = not-applicable\n"
                   "req.en303645-5.11-2.why = the device keeps no data in any associated service\n",
                   err, sizeof(err)),
             BW_OK);
    a = audit_profile_answer(&prof, "en303645-5.2-2");
    CHECK(a && a->state == AUDIT_ANS_IMPLEMENTED && !strcmp(a->expires, "2099-01-01"));
    CHECK(a && !strcmp(a->owner, "R. Lindqvist, PSIRT lead"));
    CHECK(audit_profile_na(&prof, "en303645-5.11-2") != NULL); /* the long form lists it too */
    CHECK_RC(parse("req.en303645-5.2-2 = implemented\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "implemented without evidence") != NULL);
    CHECK_RC(parse("req.en303645-5.2-2 = not-implemented\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "not-implemented without a justification") != NULL);
    CHECK_RC(parse("req.en303645-5.2-2 = maybe\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("req.en303645-5.2-2.owner = me\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK(strstr(err, "fields without an answer") != NULL);
    CHECK_RC(parse("req.en303645-5.2-2.expires = soon\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("na.en303645-5.2-2 = a good enough reason for it\n"
                   "req.en303645-5.2-2 = implemented\n", err, sizeof(err)),
             BW_E_FORMAT);
    CHECK_RC(parse("standard = EN 303 645 V3.1.3\n", err, sizeof(err)), BW_OK);
    CHECK(prof.target == AUDIT_V3_1);
    CHECK_RC(parse("standard = EN 303 645 V2.0.0\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK_RC(parse("release_key_sha256 = ABC\n", err, sizeof(err)), BW_E_FORMAT);
    CHECK(audit_weak_reason("n/a") != NULL && audit_weak_reason("not applicable") != NULL);
    CHECK(audit_weak_reason("the board has no header for JTAG or a UART console") == NULL);
}

static const struct audit_row *row_of(const struct audit_model *m, const char *id)
{
    size_t i;

    for (i = 0; i < m->nrow; i++)
        if (!strcmp(m->row[i].req->id, id))
            return &m->row[i];
    return NULL;
}

/* issue 14: applicability (telemetry for 5.10-1, constrained for 5.1-5,
 * no updates for 5.3-4, V3-only rows), reasons that name the declaration,
 * unanswered rows, --strict and the exit statuses. */
static void test_rows14(struct audit_catalogue *c)
{
    struct audit_model m;
    const struct audit_row *r;
    char err[200];

    CHECK_RC(parse("user_accounts = yes\ntelemetry = no\nconstrained = yes\nnetwork_interfaces = none\n"
                   "standard = EN 303 645 V2.1.1\nvuln_contact = mailto:security@example.com\n"
                   "owner = R. Lindqvist\nreview = 2024-01-01\nexpires = 2024-06-30\n"
                   "req.en303645-5.6-9 = implemented\nreq.en303645-5.6-9.evidence = docs/sdl.md\n"
                   "req.en303645-5.2-3 = not-implemented\nreq.en303645-5.2-3.why = n/a\n",
                   err, sizeof(err)),
             BW_OK);
    one_check(&m, c, "log.chain", AUDIT_PASS, "");
    r = row_of(&m, "en303645-5.10-1"); /* no telemetry: not the local log's row */
    CHECK(r && r->res == AUDIT_NA && strstr(r->why, "telemetry = no") != NULL);
    r = row_of(&m, "en303645-5.1-5"); /* a constrained device */
    CHECK(r && r->res == AUDIT_NA && strstr(r->why, "constrained = yes") != NULL);
    r = row_of(&m, "en303645-5.3-4"); /* cannot be updated: no automatic updates to pass */
    CHECK(r && r->res == AUDIT_NA && strstr(r->why, "cannot be updated") != NULL);
    r = row_of(&m, "en303645-5.1-2a"); /* V3.1 only */
    CHECK(r && r->res == AUDIT_NA && strstr(r->why, "V2.1.1") != NULL);
    r = row_of(&m, "en303645-5.6-9");
    CHECK(r && r->res == AUDIT_MANUAL && !r->unanswered && strstr(r->evidence, "docs/sdl.md"));
    r = row_of(&m, "en303645-5.2-3"); /* recommendation not implemented */
    CHECK(r && r->res == AUDIT_FAIL && !r->mandatory);
    r = row_of(&m, "en303645-5.2-1"); /* mandatory, no check ran, no answer */
    CHECK(r && r->res == AUDIT_MANUAL && r->unanswered && r->mandatory);
    CHECK(m.fail_mandatory == 0 && m.fail_recommended == 1 && m.unanswered > 0);
    CHECK(audit_exit_status(&m, 0) == AUDIT_EXIT_RECOMMENDED);
    CHECK(audit_strict(&m) > 0);
    CHECK(audit_exit_status(&m, 1) == AUDIT_EXIT_STRICT);
    {
        size_t i, expired = 0, sample = 0, weak = 0, unans = 0;

        for (i = 0; i < m.nissue; i++) {
            expired += strstr(m.issue[i].why, "expired on 2024-06-30") != NULL;
            sample += strstr(m.issue[i].why, "example.com") != NULL;
            weak += strstr(m.issue[i].why, "justification says nothing") != NULL;
            unans += !strcmp(m.issue[i].id, "en303645-5.2-1") &&
                     strstr(m.issue[i].why, "unanswered") != NULL;
        }
        CHECK(expired >= 2 && sample == 1 && weak == 1 && unans == 1);
    }
    audit_model_free(&m);
}

/* --strict's placeholders: reserved names that can never be reached and
 * the documents' template samples; a test rig's .test domain and a real
 * function that happens to be the sample's are answers. */
static void test_placeholders(void)
{
    CHECK(audit_profile_placeholder("vuln_contact", "mailto:psirt@maker.invalid") != NULL);
    CHECK(audit_profile_placeholder("policy_url", "https://psirt.localhost/p") != NULL);
    CHECK(audit_profile_placeholder("advisories_url", "https://example.com/advisories") != NULL);
    CHECK(audit_profile_placeholder("signatory_name", "Jane Example") != NULL);
    CHECK(audit_profile_placeholder("manufacturer_address", "1 Example Street, Exampletown") !=
          NULL);
    CHECK(audit_profile_placeholder("vuln_contact", "mailto:security@brs.test") == NULL);
    CHECK(audit_profile_placeholder("signatory_function", "Head of Product Security") == NULL);
    CHECK(audit_profile_placeholder("signatory_name", "Robin Keller") == NULL);
}

/* Debian version order, cases from deb-version(7)'s rules (the "~" sorts
 * before everything, even the end; letters before other characters;
 * digit runs numerically; an absent revision equals "0"; epochs first). */
static void test_deb_vercmp(void)
{
    static const struct {
        const char *a, *b;
        int want;
    } v[] = {
        {"1.0", "1.1", -1},          {"1.0~rc1", "1.0", -1},      {"1.0", "1.0+b1", -1},
        {"1:0.9", "2.0", 1},         {"1.0-1", "1.0-2", -1},      {"1.0a", "1.0", 1},
        {"1.0", "1.0-0", 0},         {"0:1.0", "1.0", 0},         {"1.002", "1.2", 0},
        {"1.2.3", "1.10", -1},       {"1.0~~", "1.0~~a", -1},     {"1.0~~a", "1.0~", -1},
        {"1.0~", "1.0", -1},         {"2.30", "2.3", 1},          {"1.0-1", "1.0.1-1", -1},
        {"1.0+", "1.0a", 1},         {"1.0Z", "1.0a", -1},        {"1.2-3-4", "1.2-3-5", -1},
        {"2:1", "10:0", -1},         {"1.2.13.dfsg-1", "1.2.13.dfsg-1", 0},
        {"1:1.2.13.dfsg-1", "1.2.14", 1}, {"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
    };
    static const char *const bad[] = {"", "a:1", "1:", "1.0 1", "99999999999:1", "-1"};
    size_t i;
    int c;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CHECK_RC(vex_deb_vercmp(v[i].a, v[i].b, &c), BW_OK);
        if (c != v[i].want)
            fprintf(stderr, "%s vs %s: %d, want %d\n", v[i].a, v[i].b, c, v[i].want);
        CHECK(c == v[i].want);
        CHECK_RC(vex_deb_vercmp(v[i].b, v[i].a, &c), BW_OK);
        CHECK(c == -v[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_RC(vex_deb_vercmp(bad[i], "1", &c), BW_E_FORMAT);
}

int main(void)
{
    struct audit_catalogue c;

    test_profile();
    CHECK_RC(audit_catalogue_load(&c, NULL), BW_OK);
    test_catalogue(&c);
    test_rows(&c);
    test_answers();
    test_placeholders();
    test_rows14(&c);
    test_register(&c);
    test_escape_uuid();
    test_deb_vercmp();
    audit_catalogue_free(&c);
    T_DONE();
}
