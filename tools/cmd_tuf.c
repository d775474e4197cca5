// SPDX-License-Identifier: Apache-2.0
/*
 * bulwark tuf: the TUF client (host/tuf*.c) as the command line the TUF
 * conformance suite drives (docs/tuf.md): init with a trusted root,
 * refresh, download of targets. It reads its own argv, because the suite's
 * protocol repeats --target-name and knows only the exit statuses 0 and 1:
 * every failure, a usage error included, is 1. Messages go to stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/tuf.h"
#include "cli.h"

#define TARGETS_MAX 64

static const struct cli_opt tuf_opts[] = {
    {"metadata-dir", "DIR", "trusted metadata (root.json, timestamp.json, ...); exists"},
    {"metadata-url", "URL", "the repository's metadata, e.g. http://host/metadata/"},
    {"target-dir", "DIR", "download: where targets are stored, as pct(path); exists"},
    {"target-base-url", "URL", "download: the repository's targets"},
    {"target-name", "PATH", "download: a target path; repeat for more (in order)"},
    {"timeout", "SECONDS", "each request ends after this, or below 100 bytes/s (default 60)"},
    {"connect-timeout", "SECONDS", "each connection attempt (default 10)"},
    {NULL, NULL, NULL}};

struct tuf_args {
    const char *val[8];
    const char *names[TARGETS_MAX];
    int nnames;
    const char *words[3];
    int nwords;
};

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bulwark tuf: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: bulwark tuf %s\n(see 'bulwark tuf --help')\n", cli_cmd_tuf.usage);
    return 1;
}

static int opt_of(const char *name, size_t len)
{
    int i;

    for (i = 0; tuf_opts[i].name; i++)
        if (strlen(tuf_opts[i].name) == len && !strncmp(tuf_opts[i].name, name, len))
            return i;
    return -1;
}

/* Options in any order, each "--NAME VALUE" or "--NAME=VALUE"; the words
 * left are the sub-command and its argument. 0, or 1 after a message. */
static int parse(int argc, char **argv, struct tuf_args *ta)
{
    int k;

    memset(ta, 0, sizeof(*ta));
    for (k = 0; k < argc; k++) {
        const char *s = argv[k], *eq, *v;
        int o;

        if (strncmp(s, "--", 2) != 0 || !s[2]) {
            if (ta->nwords == 3)
                return usage("unexpected argument '%s'", s);
            ta->words[ta->nwords++] = s;
            continue;
        }
        eq = strchr(s + 2, '=');
        o = opt_of(s + 2, eq ? (size_t)(eq - s - 2) : strlen(s + 2));
        if (o < 0)
            return usage("unknown option %s", s);
        if (eq) {
            v = eq + 1;
        } else {
            if (k + 1 >= argc)
                return usage("%s needs a value", s);
            v = argv[++k];
        }
        if (!strcmp(tuf_opts[o].name, "target-name")) {
            if (ta->nnames == TARGETS_MAX)
                return usage("more than %d targets", TARGETS_MAX);
            ta->names[ta->nnames++] = v;
        } else {
            if (ta->val[o])
                return usage("%s given twice", s);
            ta->val[o] = v;
        }
    }
    return 0;
}

static int seconds(const char *s, unsigned *out)
{
    uint64_t v = 0;

    if (!s)
        return 1;
    if (bwh_parse_u64(s, &v) != BW_OK || v < 1 || v > 86400)
        return 0;
    *out = (unsigned)v;
    return 1;
}

static int init(const struct tuf_args *ta, const char *md)
{
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    if (ta->nwords != 2)
        return usage("init needs the root file: init ROOTFILE");
    rc = bwh_read_file(ta->words[1], BWH_TUF_ROOT_MAX, &b, &n);
    if (rc) {
        fprintf(stderr, "bulwark tuf: %s: %s [%s]\n", ta->words[1], bw_strerror(rc),
                bw_errname(rc));
        return 1;
    }
    rc = bwh_tuf_init(md, b, n, stderr);
    bwh_free(b);
    if (rc) {
        fprintf(stderr, "bulwark tuf: init refused: %s [%s]\n", bw_strerror(rc), bw_errname(rc));
        return 1;
    }
    fprintf(stderr, "bulwark tuf: %s/root.json is the trusted root\n", md);
    return 0;
}

int cmd_tuf_argv(int argc, char **argv)
{
    struct bwh_tuf_opts o;
    struct bwh_tuf_stats st;
    struct bwh_tuf *t = NULL;
    struct tuf_args ta;
    const char *cmd;
    int i, cached, status = 1;
    bw_err rc;

    if (parse(argc, argv, &ta))
        return 1;
    memset(&o, 0, sizeof(o));
    o.metadata_dir = ta.val[0];
    o.metadata_url = ta.val[1];
    o.target_dir = ta.val[2];
    o.target_url = ta.val[3];
    o.log = stderr;
    if (!seconds(ta.val[5], &o.timeout_s) || !seconds(ta.val[6], &o.connect_s))
        return usage("timeouts are seconds from 1 to 86400");
    if (!ta.nwords)
        return usage("no sub-command (init, refresh or download)");
    cmd = ta.words[0];
    if (!o.metadata_dir)
        return usage("--metadata-dir is required");
    if (!strcmp(cmd, "init"))
        return init(&ta, o.metadata_dir);
    if (strcmp(cmd, "refresh") != 0 && strcmp(cmd, "download") != 0)
        return usage("unknown sub-command '%s'", cmd);
    if (ta.nwords != 1)
        return usage("%s takes no argument", cmd);
    if (!o.metadata_url)
        return usage("--metadata-url is required");
    if (!strcmp(cmd, "download") && (!o.target_dir || !o.target_url || !ta.nnames))
        return usage("download needs --target-dir, --target-base-url and --target-name");
    rc = bwh_tuf_new(&t, &o);
    if (rc) {
        fprintf(stderr, "bulwark tuf: %s [%s]\n", bw_strerror(rc), bw_errname(rc));
        return 1;
    }
    rc = bwh_tuf_refresh(t);
    for (i = 0; !rc && !strcmp(cmd, "download") && i < ta.nnames; i++)
        rc = bwh_tuf_download(t, ta.names[i], &cached);
    bwh_tuf_get_stats(t, &st);
    if (rc)
        fprintf(stderr, "bulwark tuf: %s failed: %s [%s]\n", cmd,
                bwh_tuf_error(t)[0] ? bwh_tuf_error(t) : bw_strerror(rc), bw_errname(rc));
    else
        status = 0;
    fprintf(stderr, "bulwark tuf: %u requests, %llu bytes, %u signatures checked\n", st.requests,
            (unsigned long long)st.bytes, st.verifies);
    bwh_tuf_free(t);
    return status;
}

/* Never called: main() hands the argv to cmd_tuf_argv. */
static int run(struct cli_args *a)
{
    return cli_usage(a, "internal: use cmd_tuf_argv");
}

const struct cli_cmd cli_cmd_tuf = {
    "tuf", "TUF client: trust a root, refresh metadata, download targets",
    "--metadata-dir DIR [--metadata-url URL] [--target-dir DIR --target-base-url URL\n"
    "             --target-name PATH ...] init ROOTFILE | refresh | download",
    "The TUF client (specification 1.0.x) with the command line of the TUF\n"
    "conformance suite. 'init ROOTFILE' checks that ROOTFILE is a root signed by\n"
    "its own keys and makes it DIR/root.json (no network). 'refresh' brings root,\n"
    "timestamp, snapshot and targets up to date, writing each file to DIR as soon\n"
    "as it verified. 'download' refreshes, then finds each --target-name through\n"
    "the delegations and stores it in --target-dir after its length and hashes\n"
    "verified (a local copy that matches is kept). Options go in any order before\n"
    "the sub-command; messages go to stderr. Exit status 0 on success, 1 on any\n"
    "failure (usage errors too). See docs/tuf.md.",
    tuf_opts, 0, 0, run};
