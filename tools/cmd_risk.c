/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark risk init | check | report: the device risk register. init seeds
 * a register from the catalogue's threats; check validates one; report
 * writes the HTML risk assessment with its heat map.
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
    rc = bw_read_file(path, 4 << 20, &buf, &len);
    if (rc)
        return cli_fail(a, path, rc);
    rc = audit_register_parse(r, (const char *)buf, len, err, sizeof(err));
    bw_free(buf);
    if (!rc)
        rc = audit_register_validate(r, c, err, sizeof(err));
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

static int run(struct cli_args *a)
{
    const char *sub = a->pos[0];
    struct audit_catalogue cat;
    struct audit_register reg = {0};
    FILE *f;
    int status;
    bw_err rc;

    if (strcmp(sub, "init") && strcmp(sub, "check") && strcmp(sub, "report"))
        return cli_usage(a, "unknown subcommand '%s'", sub);
    rc = audit_catalogue_load(&cat, NULL);
    if (rc)
        return cli_exit_code(rc);
    if (!strcmp(sub, "init")) {
        f = out_file(a, 1, &status);
        if (f) {
            audit_register_template(f, &cat, cli_get(a, "device") ? cli_get(a, "device")
                                                                  : "device");
            status = close_file(a, f);
        }
        goto out;
    }
    status = load_register(a, &cat, &reg);
    if (status || !strcmp(sub, "check")) {
        if (!status)
            printf("%zu risks, register valid\n", reg.n);
        goto out;
    }
    f = out_file(a, 0, &status);
    if (f) {
        audit_register_html(f, &reg);
        status = close_file(a, f);
    }
out:
    audit_register_free(&reg);
    audit_catalogue_free(&cat);
    return status;
}

static const struct cli_opt opts[] = {
    {"register", "RISK.json", "check, report: the risk register"},
    {"out", "FILE", "init: the new register; report: the HTML file (default stdout)"},
    {"device", "NAME", "init: the device the register is about"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_risk = {
    "risk", "keep the device risk register and write the risk assessment",
    "init|check|report [--register RISK.json] [--out FILE] [--device NAME]",
    "The register (JSON) lists risks: asset, threat, likelihood and impact 1..5,\n"
    "the treatment, the controls and catalogue requirements it relies on, the\n"
    "residual likelihood and impact, an owner and a review date. 'init' seeds one\n"
    "from the catalogue's threats; 'check' validates it (BW_E_FORMAT, or\n"
    "BW_E_NOTFOUND for an unknown requirement id); 'report' writes HTML with a\n"
    "5x5 heat map and the ISO 31000 steps. See docs/compliance.md.",
    opts, 1, 1, run};
