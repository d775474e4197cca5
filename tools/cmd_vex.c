/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark vex: the maker's vulnerability records and their status per
 * release (tools/vex.h). import reads OSV or CSAF files; release records a
 * signed package with its SBOM; match computes the status; set records the
 * maker's own assessment; list shows it; openvex, csaf and advisory write
 * the documents; report drafts the CRA Art. 14 notifications.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sbom.h"
#include "vex.h"

static const struct cli_opt vex_opts[] = {
    {"db", "VEX.json", "the vulnerability database (created by the first import or release)"},
    {"name", "RELEASE", "release: its name (as on the gateway)"},
    {"package", "PKG", "release: the signed package (its SBOM digest is checked)"},
    {"sbom", "SBOM.json", "release: the SBOM the package's manifest signs"},
    {"date", "TIME", "release: when it was made available (RFC 3339; default now)"},
    {"vuln", "ID", "set, csaf, advisory, report: the vulnerability (CVE or OSV id)"},
    {"release", "RELEASE", "set: the release"},
    {"status", "S", "set: not_affected, affected, fixed or under_investigation"},
    {"justification", "J", "set: why not_affected (component_not_present, vulnerable_code_not_present, ...)"},
    {"note", "TEXT", "set: a note kept with the status"},
    {"aware", "TIME", "set: when the maker became aware of it (Art. 14 deadlines run from here)"},
    {"exploited", NULL, "set: it is actively exploited"},
    {"stage", "STAGE", "report: early-warning, notification or final"},
    {"exposure", "FILE", "report: the gateway's answer to GET /api/v1/exposure?vuln=ID"},
    {"events", "FILE", "report: security-log records, as 'bulwark log show --json' prints them"},
    {"publisher", "NAME", "csaf, advisory, openvex: who publishes (default: the releases' vendor)"},
    {"namespace", "URL", "csaf, advisory, openvex: the publisher's URL (required)"},
    {"prefix", "TEXT", "csaf, advisory: tracking id prefix (default BULWARK)"},
    {"csaf-base", "URL", "csaf, advisory: the CSAF directory URL the document will be under"},
    {"now", "TIME", "the time to write (default: SOURCE_DATE_EPOCH, else now)"},
    {"out", "FILE", "write the document here (atomically) instead of standard output"},
    {"json", NULL, "list, match, import: print JSON"},
    {NULL, NULL, NULL}};

static json_t *load_db(struct cli_args *a, const char *path, int create, int *status)
{
    json_error_t je;
    json_t *db;
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    errno = 0;
    rc = bwh_read_file(path, 256u << 20, &buf, &len);
    if (rc == BW_E_IO && errno == ENOENT && create) {
        *status = 0;
        return json_pack("{s:i,s:{},s:{},s:{}}", "bulwark_vex_db", 1, "vulnerabilities",
                         "releases", "status");
    }
    if (rc) {
        *status = cli_fail(a, path, rc);
        return NULL;
    }
    db = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    bwh_free(buf);
    if (!json_is_object(db) || json_integer_value(json_object_get(db, "bulwark_vex_db")) != 1) {
        fprintf(stderr, "bulwark vex: %s: not a bulwark VEX database%s%s\n", path,
                db ? "" : ": ", db ? "" : je.text);
        json_decref(db);
        *status = cli_exit_code(BW_E_FORMAT);
        return NULL;
    }
    *status = 0;
    return db;
}

static int write_json(struct cli_args *a, const char *path, const json_t *o)
{
    size_t n = json_dumpb(o, NULL, 0, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *t = n ? bwh_malloc(n + 1) : NULL;
    bw_err rc = BW_E_NOMEM;

    if (t && json_dumpb(o, t, n, JSON_INDENT(2) | JSON_SORT_KEYS) == n) {
        t[n++] = '\n';
        if (path)
            rc = bwh_write_file_atomic(path, t, n, 0644);
        else
            rc = fwrite(t, 1, n, stdout) == n ? BW_OK : BW_E_IO;
    }
    bwh_free(t);
    return rc ? cli_fail(a, path ? path : "stdout", rc) : 0;
}

/* release: the package's envelope names the SBOM's digest; they must agree */
static int add_release(struct cli_args *a, json_t *db, const char *now)
{
    const char *pkg = cli_get(a, "package"), *sb = cli_get(a, "sbom"), *name = cli_get(a, "name");
    uint8_t *pbuf = NULL, *sbuf = NULL, d[BW_SHA256_LEN], pd[BW_SHA256_LEN];
    size_t plen = 0, slen = 0, elen = 0;
    char phex[65], shex[65];
    struct bw_suit s;
    json_t *sbom = NULL;
    int status = 1;
    bw_err rc;

    if (!pkg || !sb || !name)
        return cli_usage(a, "release needs --name, --package and --sbom");
    if (cli_get(a, "date") && vex_time_add(cli_get(a, "date"), 0, phex))
        return cli_usage(a, "--date: YYYY-MM-DDTHH:MM:SSZ expected");
    rc = bwh_read_file(pkg, 1ull << 34, &pbuf, &plen);
    if (!rc)
        rc = bw_sha256(pbuf, plen, pd);
    if (!rc)
        rc = bw_cbor_wellformed(pbuf, plen, 1, &elen);
    if (!rc)
        rc = bw_suit_parse(pbuf, elen, NULL, &s);
    if (rc) {
        status = cli_fail(a, pkg, rc);
        goto out;
    }
    rc = bwh_read_file(sb, 64u << 20, &sbuf, &slen);
    if (!rc)
        rc = bw_sha256(sbuf, slen, d);
    if (rc) {
        status = cli_fail(a, sb, rc);
        goto out;
    }
    if (!s.has_sbom || !bw_ct_equal(d, s.sbom_digest, sizeof(d))) {
        fprintf(stderr, "bulwark vex: %s: %s\n", sb,
                s.has_sbom ? "not the SBOM the package's manifest signs (SHA-256 differs)"
                           : "the package's manifest names no SBOM (sign it with --sbom)");
        status = cli_exit_code(BW_E_DIGEST);
        goto out;
    }
    sbom = json_loadb((const char *)sbuf, slen, JSON_REJECT_DUPLICATES, NULL);
    bw_hex(phex, pd, sizeof(pd));
    bw_hex(shex, d, sizeof(d));
    rc = sbom ? vex_add_release(db, name, phex, s.sequence, sbom, shex, s.security_only,
                                cli_get(a, "date") ? cli_get(a, "date") : now)
              : BW_E_FORMAT;
    if (rc) {
        status = cli_fail(a, sb, rc);
        goto out;
    }
    status = 0;
out:
    json_decref(sbom);
    bwh_free(pbuf);
    bwh_free(sbuf);
    return status;
}

static int set_status(struct cli_args *a, json_t *db, const char *now)
{
    const char *id = cli_get(a, "vuln"), *rel = cli_get(a, "release"), *st = cli_get(a, "status");
    json_t *v = json_object_get(json_object_get(db, "vulnerabilities"), id), *per, *rec;

    if (!id)
        return cli_usage(a, "set needs --vuln");
    if (!v)
        return cli_fail(a, id, BW_E_NOTFOUND);
    if (cli_get(a, "aware")) {
        char chk[32];

        if (vex_time_add(cli_get(a, "aware"), 0, chk))
            return cli_usage(a, "--aware: YYYY-MM-DDTHH:MM:SSZ expected");
        json_object_set_new(v, "aware", json_string(chk));
    }
    if (cli_flag(a, "exploited"))
        json_object_set_new(v, "exploited", json_true());
    if (!st && !rel)
        return 0;
    if (!st || !rel)
        return cli_usage(a, "a status needs --release and --status");
    if (!json_object_get(json_object_get(db, "releases"), rel))
        return cli_fail(a, rel, BW_E_NOTFOUND);
    if (vex_status_valid(st, cli_get(a, "justification")))
        return cli_usage(a, "--status: not_affected (with --justification), affected, fixed or "
                            "under_investigation; --justification only with not_affected");
    per = json_object_get(json_object_get(db, "status"), id);
    if (!per) {
        per = json_object();
        json_object_set_new(json_object_get(db, "status"), id, per);
    }
    rec = json_pack("{s:s,s:s?,s:s?,s:s,s:s}", "status", st, "justification",
                    cli_get(a, "justification"), "note", cli_get(a, "note"), "by", "maker",
                    "timestamp", now);
    if (!rec || json_object_set_new(per, rel, rec))
        return cli_fail(a, "vex", BW_E_NOMEM);
    return 0;
}

static void list_text(const json_t *db)
{
    const json_t *status = json_object_get(db, "status"), *per, *s;
    const char *vid, *rel;

    json_object_foreach((json_t *)status, vid, per)
        json_object_foreach((json_t *)per, rel, s)
            printf("%-20s %-16s %-20s %s%s%s\n", vid, rel, json_string_value(json_object_get(s, "status")),
                   json_string_value(json_object_get(s, "component"))
                       ? json_string_value(json_object_get(s, "component")) : "-",
                   json_string_value(json_object_get(s, "justification")) ? " " : "",
                   json_string_value(json_object_get(s, "justification"))
                       ? json_string_value(json_object_get(s, "justification")) : "");
}

static int cmd_vex(struct cli_args *a)
{
    const char *sub = a->npos ? a->pos[0] : NULL, *dbp = cli_get(a, "db"), *out = cli_get(a, "out");
    int status = 1, save = 0, create;
    char now[32], err[300];
    struct vex_pub pub;
    json_t *db, *doc = NULL;
    int i;

    if (!sub)
        return cli_usage(a, "a subcommand is required");
    if (!dbp)
        return cli_usage(a, "--db is required");
    if (sbom_time(cli_get(a, "now"), now))
        return cli_usage(a, "SOURCE_DATE_EPOCH: not a whole number, or --now too long");
    create = !strcmp(sub, "import") || !strcmp(sub, "release");
    db = load_db(a, dbp, create, &status);
    if (!db)
        return status;
    status = 1;
    memset(&pub, 0, sizeof(pub));
    pub.now = now;
    pub.namespace_url = cli_get(a, "namespace");
    pub.prefix = cli_get(a, "prefix") ? cli_get(a, "prefix") : "BULWARK";
    pub.advisory_base = cli_get(a, "csaf-base");
    pub.name = cli_get(a, "publisher");
    if (!pub.name) {
        const char *k;
        json_t *r;

        json_object_foreach(json_object_get(db, "releases"), k, r)
            if (json_string_value(json_object_get(r, "vendor")))
                pub.name = json_string_value(json_object_get(r, "vendor"));
        if (!pub.name)
            pub.name = "unknown";
    }
    if (!strcmp(sub, "import")) {
        size_t total = 0;

        if (a->npos < 2) {
            status = cli_usage(a, "import needs FILE...");
            goto out;
        }
        for (i = 1; i < a->npos; i++) {
            uint8_t *buf = NULL;
            size_t len = 0, n = 0;
            bw_err rc = bwh_read_file(a->pos[i], 64u << 20, &buf, &len);

            err[0] = 0;
            if (!rc)
                rc = vex_import(db, (const char *)buf, len, &n, err, sizeof(err));
            bwh_free(buf);
            if (rc) {
                if (err[0])
                    fprintf(stderr, "bulwark vex: %s: %s\n", a->pos[i], err);
                status = cli_fail(a, a->pos[i], rc);
                goto out;
            }
            total += n;
        }
        if (vex_match(db, now)) {
            status = cli_fail(a, "match", BW_E_NOMEM);
            goto out;
        }
        if (cli_flag(a, "json"))
            printf("{\"imported\":%zu}\n", total);
        else
            printf("imported %zu vulnerability record(s)\n", total);
        save = 1;
    } else if (!strcmp(sub, "release")) {
        if ((status = add_release(a, db, now)) != 0)
            goto out;
        status = 1;
        if (vex_match(db, now))
            goto out;
        save = 1;
    } else if (!strcmp(sub, "match")) {
        if (vex_match(db, now))
            goto out;
        save = 1;
    } else if (!strcmp(sub, "set")) {
        if ((status = set_status(a, db, now)) != 0)
            goto out;
        status = 1;
        save = 1;
    } else if (!strcmp(sub, "list")) {
        if (cli_flag(a, "json"))
            status = write_json(a, NULL, json_object_get(db, "status"));
        else
            list_text(db);
        if (status == 1)
            status = 0;
        goto out;
    } else if (!strcmp(sub, "openvex") || !strcmp(sub, "csaf") || !strcmp(sub, "advisory")) {
        char fname[300];

        if (!pub.namespace_url) {
            status = cli_usage(a, "--namespace URL is required (the publisher's URL)");
            goto out;
        }
        if (!strcmp(sub, "openvex")) {
            doc = vex_openvex(db, &pub);
            if (!doc) {
                fprintf(stderr, "bulwark vex: no status recorded: import and release first\n");
                status = cli_exit_code(BW_E_STATE);
                goto out;
            }
        } else {
            bw_err rc;

            if (!cli_get(a, "vuln")) {
                status = cli_usage(a, "%s needs --vuln", sub);
                goto out;
            }
            rc = vex_csaf(db, cli_get(a, "vuln"), !strcmp(sub, "advisory"), &pub, &doc, fname,
                          sizeof(fname));
            if (rc == BW_E_STATE && !strcmp(sub, "advisory") &&
                json_object_size(json_object_get(json_object_get(db, "status"), cli_get(a, "vuln"))))
                fprintf(stderr, "bulwark vex: %s: no release fixes it yet: an advisory is for a "
                                "fixed vulnerability (write the VEX document instead)\n",
                        cli_get(a, "vuln"));
            else if (rc == BW_E_STATE)
                fprintf(stderr, "bulwark vex: %s: no release has a status for it: record a "
                                "release first\n", cli_get(a, "vuln"));
            if (rc) {
                status = cli_fail(a, cli_get(a, "vuln"), rc);
                goto out;
            }
        }
        status = write_json(a, out, doc);
        if (!status && out && strcmp(sub, "openvex") && !cli_flag(a, "json"))
            printf("wrote %s (CSAF file name %s)\n", out, fname);
        goto out;
    } else if (!strcmp(sub, "report")) {
        const char *stg = cli_get(a, "stage");
        enum vex_stage st;
        json_t *exp = NULL;
        FILE *f = stdout;
        bw_err rc;

        if (!stg || !cli_get(a, "vuln")) {
            status = cli_usage(a, "report needs --vuln and --stage");
            goto out;
        }
        if (!strcmp(stg, "early-warning"))
            st = VEX_EARLY_WARNING;
        else if (!strcmp(stg, "notification"))
            st = VEX_NOTIFICATION;
        else if (!strcmp(stg, "final"))
            st = VEX_FINAL;
        else {
            status = cli_usage(a, "--stage: early-warning, notification or final");
            goto out;
        }
        if (cli_get(a, "exposure")) {
            exp = json_load_file(cli_get(a, "exposure"), JSON_REJECT_DUPLICATES, NULL);
            if (!json_is_object(exp)) {
                json_decref(exp);
                status = cli_fail(a, cli_get(a, "exposure"), BW_E_FORMAT);
                goto out;
            }
        }
        if (out && !(f = fopen(out, "w"))) {
            json_decref(exp);
            status = cli_fail(a, out, BW_E_IO);
            goto out;
        }
        {
            uint8_t *ev = NULL;
            size_t evlen = 0;

            rc = cli_get(a, "events") ? bwh_read_file(cli_get(a, "events"), 64u << 20, &ev, &evlen)
                                      : BW_OK;
            if (!rc)
                rc = vex_report(f, db, cli_get(a, "vuln"), st, exp, (const char *)ev, evlen, now);
            bwh_free(ev);
        }
        json_decref(exp);
        if (out && fclose(f) != 0 && !rc)
            rc = BW_E_IO;
        if (rc == BW_E_STATE)
            fprintf(stderr, "bulwark vex: %s: no time of awareness recorded (vex set --aware)\n",
                    cli_get(a, "vuln"));
        status = rc ? cli_fail(a, cli_get(a, "vuln"), rc) : 0;
        goto out;
    } else {
        status = cli_usage(a, "unknown subcommand %s", sub);
        goto out;
    }
    status = save ? write_json(a, dbp, db) : 0;
    if (!status && !strcmp(sub, "match") && cli_flag(a, "json"))
        status = write_json(a, NULL, json_object_get(db, "status"));
out:
    json_decref(doc);
    json_decref(db);
    return status;
}

const struct cli_cmd cli_cmd_vex = {
    "vex", "vulnerability status per release: OSV/CSAF import, OpenVEX, CSAF VEX and advisories, Art. 14 drafts",
    "import|release|match|set|list|openvex|csaf|advisory|report [FILE...] --db VEX.json [options]",
    "import FILE...: OSV JSON or CSAF 2.0 files the maker has (no network lookup).\n"
    "release --name R --package PKG --sbom SBOM: a signed release and the SBOM its\n"
    "manifest signs (refused when the SBOM's SHA-256 differs). After both, every\n"
    "vulnerability gets a status per release: affected (a component's version is in\n"
    "an affected range, compared as Debian versions), fixed (at or after a fixed\n"
    "version), not_affected (component_not_present or vulnerable_code_not_present).\n"
    "set --vuln ID --release R --status S [--justification J]: the maker's own\n"
    "assessment, kept over later matches; set --vuln ID --aware TIME [--exploited]\n"
    "records awareness for Art. 14. openvex, csaf --vuln ID, advisory --vuln ID\n"
    "write OpenVEX 0.2.0 and CSAF 2.0 (csaf_vex, csaf_security_advisory) documents;\n"
    "report --vuln ID --stage early-warning|notification|final drafts the Art. 14\n"
    "reports with their deadlines (24 h, 72 h from awareness; 14 days after the fix).",
    vex_opts, 1, CLI_MAX_POS, cmd_vex};
