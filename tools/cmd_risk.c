/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark risk init | check | report | accept: the device risk register.
 * init seeds a register from the catalogue's threats (unreviewed, no
 * residual risk); check validates one and lists what keeps it from being an
 * assessment; report writes the HTML risk assessment with its heat map;
 * accept records the person who accepts a risk's residual risk, and when.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"

static int load_register(struct cli_args *a, const struct audit_catalogue *c,
                         struct audit_register *r)
{
    const char *path = cli_get(a, "register");
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[400];
    bw_err rc;

    if (!path)
        return cli_usage(a, "--register is required");
    errno = 0;
    rc = bwh_read_file(path, 4 << 20, &buf, &len);
    if (rc)
        return cli_fail(a, path, rc);
    rc = audit_register_parse(r, (const char *)buf, len, err, sizeof(err));
    bwh_free(buf);
    if (!rc)
        rc = audit_register_validate(r, c, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "bulwark risk: %s: %s [%s]\n", path, err, bw_errname(rc));
        return cli_exit_code(rc);
    }
    return 0;
}

/* risk init --profile: the maker's profile decides which threats apply. */
static int load_profile(struct cli_args *a, const struct audit_catalogue *c,
                        struct audit_profile **out)
{
    const char *path = cli_get(a, "profile");
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[400];
    bw_err rc;

    *out = bwh_calloc(1, sizeof(**out));
    if (!*out)
        return cli_fail(a, "profile", BW_E_NOMEM);
    rc = bwh_read_file(path, 1 << 20, &buf, &len);
    if (rc)
        return cli_fail(a, path, rc);
    rc = audit_profile_parse(*out, (const char *)buf, len, err, sizeof(err));
    bwh_free(buf);
    if (!rc)
        rc = audit_profile_validate(*out, c, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "bulwark risk: %s: %s [%s]\n", path, err, bw_errname(rc));
        return cli_exit_code(rc);
    }
    return 0;
}

static FILE *out_file(struct cli_args *a, int excl, int *status)
{
    const char *path = cli_get(a, "out");
    int fd;
    FILE *f;

    *status = 0;
    if (!path)
        return stdout;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), 0644);
    f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        *status = cli_fail(a, path, errno == EEXIST ? BW_E_EXISTS : BW_E_IO);
        if (fd >= 0)
            close(fd);
    }
    return f;
}

static int close_file(struct cli_args *a, FILE *f)
{
    int bad = ferror(f);

    bad |= f == stdout ? fflush(f) : fclose(f);
    return bad ? cli_fail(a, cli_get(a, "out") ? cli_get(a, "out") : "stdout", BW_E_IO) : 0;
}

/* bulwark risk accept ID|all --by NAME [--residual L,I] [--review DATE] */
static int do_accept(struct cli_args *a)
{
    const char *path = cli_get(a, "register");
    uint8_t *buf = NULL;
    char *out = NULL, err[400];
    size_t len = 0;
    bw_err rc;

    if (!path)
        return cli_usage(a, "--register is required");
    if (a->npos != 2 || !cli_get(a, "by"))
        return cli_usage(a, "accept wants a risk id (or 'all') and --by NAME");
    rc = bwh_read_file(path, 4 << 20, &buf, &len);
    if (rc)
        return cli_fail(a, path, rc);
    rc = audit_register_accept((const char *)buf, len, a->pos[1], cli_get(a, "by"),
                               cli_get(a, "residual"), cli_get(a, "review"), &out, err,
                               sizeof(err));
    bwh_free(buf);
    if (rc) {
        fprintf(stderr, "bulwark risk: %s: %s [%s]\n", path, err, bw_errname(rc));
        return cli_exit_code(rc);
    }
    rc = bwh_write_file_atomic(path, out, strlen(out), 0644);
    bwh_free(out);
    if (rc)
        return cli_fail(a, path, rc);
    printf("%s: risk %s accepted by %s\n", path, a->pos[1], cli_get(a, "by"));
    return 0;
}

static int run(struct cli_args *a)
{
    const char *sub = a->pos[0];
    struct audit_catalogue cat;
    struct audit_register reg = {0};
    struct audit_profile *prof = NULL;
    char probs[4000];
    size_t n;
    FILE *f;
    int status;
    bw_err rc;

    if (strcmp(sub, "init") && strcmp(sub, "check") && strcmp(sub, "report") &&
        strcmp(sub, "accept"))
        return cli_usage(a, "unknown subcommand '%s'", sub);
    if (a->npos > 1 && strcmp(sub, "accept"))
        return cli_usage(a, "only accept takes a risk id");
    if (!strcmp(sub, "accept"))
        return do_accept(a);
    rc = audit_catalogue_load(&cat, NULL);
    if (rc)
        return cli_exit_code(rc);
    if (!strcmp(sub, "init")) {
        status = cli_get(a, "profile") ? load_profile(a, &cat, &prof) : 0;
        f = status ? NULL : out_file(a, 1, &status);
        if (f) {
            audit_register_template(f, &cat,
                                    cli_get(a, "device")       ? cli_get(a, "device")
                                    : prof && *prof->model     ? prof->model
                                                               : "device",
                                    prof);
            status = close_file(a, f);
        }
        goto out;
    }
    status = load_register(a, &cat, &reg);
    if (status)
        goto out;
    if (!strcmp(sub, "check")) {
        struct audit_model m;

        memset(&m, 0, sizeof(m));
        m.cat = &cat;
        m.reg = &reg;
        n = audit_risk_strict_problems(&m, probs, sizeof(probs));
        printf("%zu risks, register valid%s%s\n", reg.n, n ? "; not an assessment yet: " : "",
               n ? probs : "");
        status = n && cli_flag(a, "strict") ? 1 : 0;
        goto out;
    }
    f = out_file(a, 0, &status);
    if (f) {
        audit_register_html(f, &reg, NULL);
        status = close_file(a, f);
    }
out:
    bwh_free(prof);
    audit_register_free(&reg);
    audit_catalogue_free(&cat);
    return status;
}

static const struct cli_opt opts[] = {
    {"register", "RISK.json", "check, report, accept: the risk register"},
    {"out", "FILE", "init: the new register; report: the HTML file (default stdout)"},
    {"device", "NAME", "init: the device the register is about (default: the profile's model)"},
    {"profile", "PROFILE", "init: leave out threats the device profile makes not applicable"},
    {"by", "NAME", "accept: the person who accepts the residual risk"},
    {"residual", "L,I", "accept: the residual likelihood and impact the person evaluated"},
    {"review", "YYYY-MM-DD", "accept: the next review date"},
    {"strict", NULL, "check: exit 1 while a risk is unreviewed, overdue or without residual"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_risk = {
    "risk", "keep the device risk register and write the risk assessment",
    "init|check|report|accept [ID|all] [--register RISK.json] [--out FILE] [--device NAME]\n"
    "       [--profile PROFILE] [--by NAME] [--residual L,I] [--review DATE] [--strict]",
    "The register (JSON) lists risks in the ISO 31000 / ISO/IEC 27005 shape: asset,\n"
    "threat, vulnerability, likelihood and impact 1..5, the treatment option\n"
    "(reduce, retain, avoid, share) and treatment, the controls and catalogue\n"
    "requirements it relies on, the residual likelihood and impact, an owner, who\n"
    "accepted it and when, and a review date. 'init' seeds one from the catalogue's\n"
    "threats with no residual risk and no acceptance: every risk is unreviewed;\n"
    "with --profile, threats the profile makes not applicable are left out.\n"
    "'accept' records a person's acceptance (BW_E_STATE without a residual risk or\n"
    "with a past review date). 'check' validates (BW_E_FORMAT, or BW_E_NOTFOUND for\n"
    "an unknown requirement id) and lists unreviewed and overdue risks; with\n"
    "--strict they exit 1. 'report' writes HTML with a 5x5 heat map and the\n"
    "ISO 31000 steps. See docs/compliance.md.",
    opts, 1, 2, run};
