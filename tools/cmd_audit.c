/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark audit: the compliance kit from the command line. 'init' writes a
 * commented device profile, 'list' the requirement catalogue; without a
 * subcommand it runs the device checks and writes the Statement of
 * Applicability (HTML, Markdown, ICS table, OSCAL); 'disclose' writes
 * security.txt and the disclosure, support-period and PSTI statements.
 * Exit 0 when nothing failed, 1 when a mandatory provision fails or a check
 * could not look, 3 when only recommendations fail, 4 when --strict
 * refuses the report (unanswered rows, expired claims, template values).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit.h"
#include "cli.h"
#include "bwh/device.h"

static int load_catalogue(struct cli_args *a, struct audit_catalogue *c)
{
    bw_err rc = audit_catalogue_load(c, cli_get(a, "catalogue"));

    return rc ? cli_exit_code(rc) : 0;
}

/* A relative path in the profile names a file beside the profile. */
static void relative_to_profile(char *field, size_t cap, const char *profile)
{
    const char *slash = strrchr(profile, '/');
    char buf[AUDIT_STR];
    int n;

    if (!*field || *field == '/' || !slash)
        return;
    n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - profile), profile, field);
    if (n > 0 && (size_t)n < cap)
        memcpy(field, buf, (size_t)n + 1);
}

/* Reads, parses and validates --profile; prints "PATH: line N: reason". */
static int load_profile(struct cli_args *a, const struct audit_catalogue *c,
                        struct audit_profile *p)
{
    const char *path = cli_get(a, "profile");
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[400];
    bw_err rc;

    if (!path)
        return cli_usage(a, "--profile is required");
    errno = 0;
    rc = bwh_read_file(path, 1 << 20, &buf, &len);
    if (rc)
        return cli_fail(a, path, rc);
    rc = audit_profile_parse(p, (const char *)buf, len, err, sizeof(err));
    bwh_free(buf);
    if (!rc)
        rc = audit_profile_validate(p, c, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "bulwark audit: %s: %s [%s]\n", path, err, bw_errname(rc));
        return cli_exit_code(rc);
    }
    relative_to_profile(p->risk_register, sizeof(p->risk_register), path);
    relative_to_profile(p->provisioning_registry, sizeof(p->provisioning_registry), path);
    relative_to_profile(p->releases, sizeof(p->releases), path);
    if (strncmp(p->setup_guide, "https://", 8))
        relative_to_profile(p->setup_guide, sizeof(p->setup_guide), path);
    if (*p->agent_config)
        relative_to_profile(p->agent_config, sizeof(p->agent_config), path);
    return 0;
}

/* A new file (never over an existing one), or stdout without --out. */
static FILE *create_out(struct cli_args *a, const char *path, int *status)
{
    int fd;
    FILE *f;

    *status = 0;
    if (!path)
        return stdout;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        *status = cli_fail(a, path, errno == EEXIST ? BW_E_EXISTS : BW_E_IO);
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        *status = cli_fail(a, path, BW_E_IO);
    }
    return f;
}

static int finish_out(struct cli_args *a, FILE *f, const char *path)
{
    int bad = ferror(f);

    if (f == stdout)
        return fflush(f) || bad ? cli_fail(a, "stdout", BW_E_IO) : 0;
    if (fclose(f) || bad)
        return cli_fail(a, path, BW_E_IO);
    return 0;
}

static int do_init(struct cli_args *a, const struct audit_catalogue *c)
{
    int status;
    FILE *f = create_out(a, cli_get(a, "out"), &status);

    if (!f)
        return status;
    audit_profile_template(f, c);
    return finish_out(a, f, cli_get(a, "out"));
}

static int do_list(struct cli_args *a, const struct audit_catalogue *c)
{
    size_t i;

    for (i = 0; i < c->nreq; i++) {
        const struct audit_req *r = &c->req[i];

        printf("%-20s %-14s %-10s %-14s %s%s\n", r->id, r->std, r->ref,
               *r->v3 ? r->v3 : r->status, r->provisional ? "[provisional] " : "", r->text);
    }
    (void)a;
    return 0;
}

static int write_report(struct cli_args *a, const struct audit_model *m, const char *dir,
                        const char *name)
{
    char path[4200];
    FILE *f;
    bw_err rc = BW_OK;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f)
        return cli_fail(a, path, BW_E_IO);
    if (!strcmp(name, "soa.html"))
        audit_write_html(f, m);
    else if (!strcmp(name, "soa.md"))
        audit_write_markdown(f, m);
    else if (!strcmp(name, "ics.md"))
        audit_write_ics(f, m);
    else if (!strcmp(name, "oscal-ssp.json"))
        rc = audit_write_oscal_ssp(f, m);
    else if (!strcmp(name, "oscal-ar.json"))
        rc = audit_write_oscal_ar(f, m);
    else if (!strcmp(name, "oscal-component.json"))
        rc = audit_write_oscal_component(f, m);
    else if (!strcmp(name, "oscal-ap.json"))
        rc = audit_write_oscal_ap(f, m);
    else if (!strcmp(name, "bulwark-catalog.json"))
        rc = audit_write_oscal_catalog(f, m);
    else if (!strcmp(name, "bulwark-profile.json"))
        rc = audit_write_oscal_profile(f, m);
    else
        audit_write_json(f, m);
    if (ferror(f))
        rc = BW_E_IO;
    if (fclose(f) && !rc)
        rc = BW_E_IO;
    return rc ? cli_fail(a, path, rc) : 0;
}

static int write_reports(struct cli_args *a, const struct audit_model *m, const char *dir)
{
    static const char *const names[] = {"soa.html", "soa.md", "ics.md", "oscal-ssp.json",
                                        "oscal-ar.json", "oscal-component.json", "audit.json",
                                        "oscal-ap.json", "bulwark-catalog.json",
                                        "bulwark-profile.json"};
    size_t i;
    int status;

    if (mkdir(dir, 0755) && errno != EEXIST)
        return cli_fail(a, dir, BW_E_IO);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        status = write_report(a, m, dir, names[i]);
        if (status)
            return status;
    }
    return 0;
}

static void print_summary(const struct audit_model *m)
{
    size_t i;

    for (i = 0; i < m->nchk; i++)
        printf("%-19s %-15s %s\n", m->chk[i].name, audit_result_name(m->chk[i].res),
               m->chk[i].evidence);
    printf("requirements: %zu pass, %zu fail, %zu not applicable, %zu manual, %zu error; "
           "%zu unanswered\n",
           m->count[AUDIT_PASS], m->count[AUDIT_FAIL], m->count[AUDIT_NA], m->count[AUDIT_MANUAL],
           m->count[AUDIT_ERROR], m->unanswered);
    printf("failing: %zu mandatory, %zu recommended (a recommendation the maker does not "
           "implement, with a reason, is an answer)\n",
           m->fail_mandatory, m->fail_recommended);
}

/* --strict: every reason on stderr, one per line. */
static void print_issues(const struct audit_model *m)
{
    size_t i;

    for (i = 0; i < m->nissue; i++)
        fprintf(stderr, "bulwark audit: strict: %s: %s\n", m->issue[i].id, m->issue[i].why);
    if (m->nissue)
        fprintf(stderr, "bulwark audit: --strict refused the report: %zu reason%s\n", m->nissue,
                m->nissue == 1 ? "" : "s");
}

/* --ixit PREFIX: PREFIX.md and PREFIX.json. */
static int write_ixit(struct cli_args *a, const struct audit_model *m, const char *prefix)
{
    char path[4200];
    int k;

    for (k = 0; k < 2; k++) {
        FILE *f;
        int bad;

        snprintf(path, sizeof(path), "%s.%s", prefix, k ? "json" : "md");
        f = fopen(path, "w");
        if (!f)
            return cli_fail(a, path, BW_E_IO);
        if (k)
            audit_write_ixit_json(f, m);
        else
            audit_write_ixit_md(f, m);
        bad = ferror(f);
        if (fclose(f) || bad)
            return cli_fail(a, path, BW_E_IO);
    }
    return 0;
}

/* The unit audited, for the reports' identification: the subject CN of
 * its device certificate (the id it was provisioned with). Left empty when
 * there is no device or no certificate; the checks judge those. */
static void unit_of(struct audit_model *m, const char *conf_path)
{
    struct bwh_device_conf dc;
    X509 *x;
    FILE *f;

    if (!conf_path || bwh_device_conf_load(&dc, conf_path) || !(f = fopen(dc.device_cert, "r")))
        return;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, m->unit,
                                       (int)sizeof(m->unit)) < 0)
        m->unit[0] = 0;
    X509_free(x);
}

static int do_audit(struct cli_args *a, struct audit_model *m, int disclose)
{
    const char *out = cli_get(a, "out");
    char err[1500];
    int status = 0;
    bw_err rc;

    if (disclose && !out)
        return cli_usage(a, "disclose needs --out DIR");
    m->releases_path = cli_get(a, "releases");
    m->gateway_url = cli_get(a, "gateway");
    m->gateway_token = cli_get(a, "gateway-token-file");
    m->vex_path = cli_get(a, "vex");
    m->gateway_cacert = cli_get(a, "cacert");
    if (m->gateway_url && m->releases_path)
        return cli_usage(a, "--gateway and --releases both name the release list: give one");
    if (!m->gateway_url && (m->gateway_token || m->gateway_cacert))
        return cli_usage(a, "--gateway-token-file and --cacert go with --gateway URL");
    if (m->gateway_url && !m->gateway_token)
        return cli_usage(a, "--gateway needs --gateway-token-file FILE (an operator token)");
    if (m->gateway_url && strncmp(m->gateway_url, "https://", 8))
        return cli_usage(a, "--gateway takes an https:// URL (the operator token never goes "
                            "in the clear)");
    audit_run_checks(m, cli_get(a, "config"), cli_get(a, "proc-net"));
    unit_of(m, cli_get(a, "config"));
    rc = audit_build_rows(m);
    if (rc)
        return cli_fail(a, "audit", rc);
    (void)audit_strict(m); /* the reports show the findings even without --strict */
    if (disclose) {
        m->sign_key = cli_get(a, "sign-key");
        if (mkdir(out, 0755) && errno != EEXIST)
            return cli_fail(a, out, BW_E_IO);
        rc = audit_write_disclosure(m, out, err, sizeof(err));
        if (rc) {
            fprintf(stderr, "bulwark audit: disclose: %s [%s]\n", err, bw_errname(rc));
            return cli_exit_code(rc);
        }
        printf("wrote %s/security.txt, disclosure-policy.md, support-period.md, "
               "psti-statement.md\n", out);
        return 0;
    }
    if (out)
        status = write_reports(a, m, out);
    if (!status && cli_get(a, "ixit"))
        status = write_ixit(a, m, cli_get(a, "ixit"));
    if (status)
        return status;
    if (cli_flag(a, "json"))
        audit_write_json(stdout, m);
    else
        print_summary(m);
    if (cli_flag(a, "strict"))
        print_issues(m);
    return audit_exit_status(m, cli_flag(a, "strict"));
}

static int run(struct cli_args *a)
{
    const char *sub = a->npos ? a->pos[0] : NULL;
    struct audit_catalogue cat;
    struct audit_profile *prof = NULL;
    struct audit_model m;
    int status;

    if (sub && strcmp(sub, "init") && strcmp(sub, "list") && strcmp(sub, "disclose"))
        return cli_usage(a, "unknown subcommand '%s'", sub);
    status = load_catalogue(a, &cat);
    if (status)
        return status;
    if (sub && !strcmp(sub, "init")) {
        status = do_init(a, &cat);
        goto out;
    }
    if (sub && !strcmp(sub, "list")) {
        status = do_list(a, &cat);
        goto out;
    }
    prof = bwh_calloc(1, sizeof(*prof));
    if (!prof) {
        status = cli_fail(a, "profile", BW_E_NOMEM);
        goto out;
    }
    status = load_profile(a, &cat, prof);
    if (status)
        goto out;
    memset(&m, 0, sizeof(m));
    m.cat = &cat;
    m.prof = prof;
    status = do_audit(a, &m, sub != NULL);
    audit_model_free(&m);
out:
    bwh_free(prof);
    audit_catalogue_free(&cat);
    return status;
}

static const struct cli_opt opts[] = {
    {"config", "DEVICE.conf", "the device to check, on the device (without it, device checks are errors)"},
    {"profile", "PROFILE", "the device profile (bulwark audit init writes a template)"},
    {"out", "PATH", "init: the new profile file; audit: report directory; disclose: directory"},
    {"json", NULL, "print the results as one JSON object"},
    {"catalogue", "FILE", "use this catalogue instead of the built-in one"},
    {"proc-net", "DIR", "read the device's socket tables from DIR instead of /proc/net"},
    {"strict", NULL, "refuse (exit 4) unanswered rows, errors, expired claims, template values"},
    {"releases", "FILE", "the gateway's release list (GET /api/v1/releases): is the newest installed?"},
    {"gateway", "URL", "ask this gateway's operator API for its releases instead of --releases"},
    {"gateway-token-file", "FILE", "--gateway: file holding an operator token (viewer role suffices)"},
    {"vex", "VEX.json", "CRA Annex I: the maker's VEX database (bulwark vex); with --gateway also SBOMs, exposure, advisories"},
    {"cacert", "CA.pem", "--gateway: CA bundle of the gateway's https (default: the system's)"},
    {"ixit", "PREFIX", "also write the IXIT skeleton (ETSI TS 103 701) as PREFIX.md and PREFIX.json"},
    {"sign-key", "KEYID", "disclose: sign security.txt with this OpenPGP key (gpg, GNUPGHOME)"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_audit = {
    "audit", "check the device and write the Statement of Applicability",
    "[init|list|disclose] [--config DEVICE.conf] --profile PROFILE [--out DIR] [--json] "
    "[--strict] [--ixit PREFIX] [--sign-key KEYID] [--releases FILE | --gateway URL "
    "--gateway-token-file FILE [--cacert CA.pem]]",
    "Runs the device checks (listening and cleartext services, credentials against\n"
    "the provisioning registry, key and store protection, the device key signing\n"
    "through its backend, device certificate, pinned release key, installed package,\n"
    "re-hashed boot slot, security log anchored to provisioning, agent settings) and\n"
    "the profile checks, then answers every requirement of the catalogue (EN 303 645,\n"
    "ISO/IEC 27402 provisional, PSTI, NISTIR 8259A, CRA Annex I) from the checks or\n"
    "the maker's answers (req.ID = ...). Results: pass, fail, error (could not look),\n"
    "manual (the maker's claim), not-applicable. --out DIR writes soa.html, soa.md,\n"
    "ics.md, oscal-ssp.json, oscal-ar.json, oscal-component.json, audit.json and the\n"
    "OSCAL documents they import: oscal-ap.json, bulwark-catalog.json and\n"
    "bulwark-profile.json. The installed release is compared with the newest one the\n"
    "gateway offers for the device's class: --gateway URL asks the gateway's operator\n"
    "API (GET /api/v1/releases, paged; unreachable, refused token, TLS failure or an\n"
    "unexpected answer make the check an error), --releases FILE reads a saved list.\n"
    "disclose --out DIR writes the PSTI statement of compliance\n"
    "(a gap report while anything is unmet), support period, security.txt and\n"
    "disclosure policy. Exit 1 when a mandatory provision fails or a check could not\n"
    "look, 3 when only recommendations fail, 4 when --strict refuses (unanswered rows,\n"
    "errors, expired claims, template values, unreviewed, overdue or reopened risks;\n"
    "every reason on stderr). A not-applicable entry without a reason is BW_E_FORMAT,\n"
    "an unknown requirement id BW_E_NOTFOUND. See docs/compliance.md.",
    opts, 0, 1, run};
