// SPDX-License-Identifier: Apache-2.0
/*
 * bulwark repo: the TUF repository tooling of host/tuf_repo.c on the
 * command line (docs/trust.md): init with k-of-n offline root keys, sign
 * and merge offline signatures, key changes at every role, SUIT packages
 * as targets, the online snapshot and timestamp roles, status. The
 * repository's metadata/ and targets/ are served by any static web server
 * and read by `bulwark tuf`.
 */
#include <string.h>

#include "bwh/tuf.h"
#include "cli.h"

static const struct cli_opt opts[] = {
    {"dir", "DIR", "the repository (staged/, metadata/, targets/)"},
    {"key", "KEY", "signing key: P-256 key file, or pkcs11:/tpm:/file: URI"},
    {"pub", "PUB[,PUB...]", "public key files (revoke-key: or keyids); add-target: release key"},
    {"root-pub", "PUB,PUB,...", "init: the root key holders' public keys (default 3 of them sign)"},
    {"targets-pub", "PUB", "init: the release managers' targets key"},
    {"snapshot-pub", "PUB", "init: the online snapshot key"},
    {"timestamp-pub", "PUB", "init: the online timestamp key"},
    {"threshold", "K", "init: root threshold (default 3); key changes: the role's new one"},
    {"role", "ROLE", "key changes: root, targets, snapshot or timestamp; renew: root or targets"},
    {"expires", "DAYS", "expiry (defaults: root 365, targets 90, snapshot 7, timestamp 1)"},
    {"hardware", "STRING", "add-target: hardware compatibility, recorded as custom metadata"},
    {"name", "NAME", "add-target: target name (default: the package's file name)"},
    {"out", "FILE", "sign: write the signature here (default: stdout)"},
    {"json", NULL, "status: one JSON object"},
    {NULL, NULL, NULL}};

/* Splits a comma list in place into at most cap parts: the count, or 0. */
static size_t split(char *s, const char **parts, size_t cap)
{
    size_t n = 0;
    char *p = s, *c;

    for (;;) {
        if (n == cap)
            return 0;
        c = strchr(p, ',');
        if (c)
            *c = 0;
        if (!*p)
            return 0;
        parts[n++] = p;
        if (!c)
            return n;
        p = c + 1;
    }
}

static int number(const struct cli_args *a, const char *name, unsigned max, unsigned *v)
{
    const char *s = cli_get(a, name);
    uint64_t x = 0;

    *v = 0;
    if (!s)
        return 1;
    if (bwh_parse_u64(s, &x) != BW_OK || x < 1 || x > max)
        return 0;
    *v = (unsigned)x;
    return 1;
}

static int done(struct cli_args *a, bw_err rc, const char *err)
{
    if (rc) {
        fprintf(stderr, "bulwark repo: %s [%s]\n", err[0] ? err : bw_strerror(rc),
                bw_errname(rc));
        return cli_exit_code(rc);
    }
    (void)a;
    return 0;
}

/* Options each sub-command takes besides --dir, and its positional count. */
struct sub {
    const char *name;
    const char *opts; /* ",a,b," */
    int npos;
};

static const struct sub subs[] = {
    {"init", ",dir,root-pub,targets-pub,snapshot-pub,timestamp-pub,threshold,expires,", 0},
    {"sign", ",key,out,", 1},
    {"merge", ",dir,", -1},
    {"add-key", ",dir,pub,role,threshold,expires,", 0},
    {"revoke-key", ",dir,pub,role,threshold,expires,", 0},
    {"rotate", ",dir,pub,role,threshold,expires,", 0},
    {"renew", ",dir,role,expires,", 0},
    {"add-target", ",dir,pub,hardware,name,expires,", 1},
    {"snapshot", ",dir,key,expires,", 0},
    {"timestamp", ",dir,key,expires,", 0},
    {"status", ",dir,json,", 0},
};

static int run(struct cli_args *a)
{
    char err[512] = "", list[4096], needle[40];
    const char *dir = cli_get(a, "dir"), *keys[BWH_TUF_REPO_KEYS];
    const struct sub *s = NULL;
    unsigned threshold = 0, days = 0, problems = 0;
    size_t i, n = 0;
    bw_err rc;

    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (!strcmp(subs[i].name, a->pos[0]))
            s = &subs[i];
    if (!s)
        return cli_usage(a, "unknown sub-command '%s'", a->pos[0]);
    for (i = 0; a->cmd->opts[i].name; i++) {
        snprintf(needle, sizeof(needle), ",%s,", a->cmd->opts[i].name);
        if (a->set[i] && !strstr(s->opts, needle))
            return cli_usage(a, "%s takes no --%s", s->name, a->cmd->opts[i].name);
    }
    if (s->npos >= 0 && a->npos - 1 != s->npos)
        return cli_usage(a, "%s takes %d argument%s", s->name, s->npos, s->npos == 1 ? "" : "s");
    if (s->npos < 0 && a->npos < 2)
        return cli_usage(a, "merge needs 1 to 3 signature files: merge --dir DIR SIG [SIG [SIG]]");
    if (strstr(s->opts, ",dir,") && !dir)
        return cli_usage(a, "--dir is required");
    if (!number(a, "threshold", BWH_TUF_REPO_KEYS, &threshold))
        return cli_usage(a, "--threshold is a number from 1 to %d", BWH_TUF_REPO_KEYS);
    if (!number(a, "expires", 3650, &days))
        return cli_usage(a, "--expires is a number of days from 1 to 3650");
    if (cli_get(a, "pub") || cli_get(a, "root-pub")) {
        const char *v = cli_get(a, "root-pub") ? cli_get(a, "root-pub") : cli_get(a, "pub");

        if (strlen(v) >= sizeof(list))
            return cli_usage(a, "key list too long");
        memcpy(list, v, strlen(v) + 1);
        n = split(list, keys, BWH_TUF_REPO_KEYS);
        if (!n)
            return cli_usage(a, "keys are a comma-separated list of 1 to %d files",
                             BWH_TUF_REPO_KEYS);
    }
    if (!strcmp(s->name, "init")) {
        struct bwh_tuf_repo_init in;

        memset(&in, 0, sizeof(in));
        if (!n)
            return cli_usage(a, "--root-pub is required");
        memcpy(in.root_pubs, keys, n * sizeof(keys[0]));
        in.n_root = (unsigned)n;
        in.root_threshold = threshold ? threshold : 3;
        in.targets_pub = cli_get(a, "targets-pub");
        in.snapshot_pub = cli_get(a, "snapshot-pub");
        in.timestamp_pub = cli_get(a, "timestamp-pub");
        in.root_days = days;
        rc = bwh_tuf_repo_create(dir, &in, err, sizeof(err));
        if (!rc)
            printf("%s: root (%u of %u) and targets staged in %s/staged: each root key holder "
                   "signs staged/root.json ('bulwark repo sign'), then 'bulwark repo merge'\n",
                   dir, in.root_threshold, in.n_root, dir);
        return done(a, rc, err);
    }
    if (!strcmp(s->name, "sign")) {
        char *out = NULL;

        if (!cli_get(a, "key"))
            return cli_usage(a, "--key is required");
        rc = bwh_tuf_repo_sign(a->pos[1], cli_get(a, "key"), &out, stderr, err, sizeof(err));
        if (!rc && cli_get(a, "out")) {
            rc = bwh_write_file_atomic(cli_get(a, "out"), out, strlen(out), 0644);
            if (rc)
                snprintf(err, sizeof(err), "%s: cannot write", cli_get(a, "out"));
        } else if (!rc) {
            fputs(out, stdout);
        }
        bwh_free(out);
        return done(a, rc, err);
    }
    if (!strcmp(s->name, "merge")) {
        int published = 0;

        rc = bwh_tuf_repo_merge(dir, a->pos + 1, (size_t)a->npos - 1, &published, stdout, err,
                                sizeof(err));
        return done(a, rc, err);
    }
    if (!strcmp(s->name, "add-key") || !strcmp(s->name, "revoke-key") ||
        !strcmp(s->name, "rotate")) {
        enum bwh_tuf_key_op op = s->name[0] == 'a'   ? BWH_TUF_KEY_ADD
                                 : s->name[0] == 'r' && s->name[1] == 'e' ? BWH_TUF_KEY_REVOKE
                                                                          : BWH_TUF_KEY_ROTATE;

        if (!n || !cli_get(a, "role"))
            return cli_usage(a, "%s needs --role and --pub", s->name);
        rc = bwh_tuf_repo_keys(dir, op, cli_get(a, "role"), keys, n, threshold, days, err,
                               sizeof(err));
        if (!rc)
            printf("%s/staged/root.json: a new root version with the %s keys changed; it needs "
                   "the signatures of a threshold of the previous and of the new root keys\n",
                   dir, cli_get(a, "role"));
        return done(a, rc, err);
    }
    if (!strcmp(s->name, "renew")) {
        rc = bwh_tuf_repo_renew(dir, cli_get(a, "role"), days, err, sizeof(err));
        if (!rc)
            printf("%s/staged/%s.json: a new version to sign ('bulwark repo sign', 'merge')\n",
                   dir, cli_get(a, "role"));
        return done(a, rc, err);
    }
    if (!strcmp(s->name, "add-target")) {
        if (n != 1)
            return cli_usage(a, "add-target needs --pub RELEASE.pub (one key)");
        rc = bwh_tuf_repo_add_target(dir, a->pos[1], keys[0], cli_get(a, "name"),
                                     cli_get(a, "hardware"), days, err, sizeof(err));
        if (!rc)
            printf("%s/staged/targets.json: target added; release managers sign it, then "
                   "'bulwark repo merge', 'snapshot', 'timestamp'\n", dir);
        return done(a, rc, err);
    }
    if (!strcmp(s->name, "snapshot") || !strcmp(s->name, "timestamp")) {
        if (!cli_get(a, "key"))
            return cli_usage(a, "--key is required");
        rc = bwh_tuf_repo_online(dir, s->name, cli_get(a, "key"), days, err, sizeof(err));
        return done(a, rc, err);
    }
    rc = bwh_tuf_repo_status(dir, stdout, cli_flag(a, "json"), &problems, err, sizeof(err));
    if (rc)
        return done(a, rc, err);
    return problems ? 1 : 0;
}

const struct cli_cmd cli_cmd_repo = {
    "repo", "TUF repository: offline k-of-n root, targets, online snapshot/timestamp",
    "init --dir DIR --root-pub P1,...,P5 [--threshold 3] --targets-pub PUB\n"
    "                  --snapshot-pub PUB --timestamp-pub PUB\n"
    "       bulwark repo sign --key KEY [--out SIG] ROLEFILE\n"
    "       bulwark repo merge --dir DIR SIG [SIG [SIG]]\n"
    "       bulwark repo add-key|revoke-key|rotate --dir DIR --role ROLE --pub PUB[,PUB...]"
    " [--threshold K]\n"
    "       bulwark repo renew --dir DIR --role root|targets [--expires DAYS]\n"
    "       bulwark repo add-target --dir DIR --pub RELEASE.pub --hardware STRING [--name N] PKG\n"
    "       bulwark repo snapshot|timestamp --dir DIR --key KEY\n"
    "       bulwark repo status --dir DIR [--json]",
    "Keeps a TUF repository (specification 1.0, consistent snapshots) whose\n"
    "metadata/ and targets/ any static web server can serve to 'bulwark tuf'.\n"
    "Root and targets are offline roles: 'init' and every key change or target\n"
    "stage an unsigned file in DIR/staged/; each key holder runs 'sign' on their\n"
    "own machine and sends back the signature file; 'merge' adds the signatures\n"
    "(refusing ones that do not verify, come from keys the role does not list, or\n"
    "repeat a key) and publishes the file once it meets its threshold - a new\n"
    "root needs a threshold of the previous root's keys and of its own. The\n"
    "online roles are signed in one step: 'snapshot' over the published targets,\n"
    "then 'timestamp' over the snapshot (run it at least daily). 'renew' stages\n"
    "root or targets again with a fresh expiry (or for new targets keys).\n"
    "'add-target' authenticates a package of 'bulwark sign' with the release key\n"
    "and records its vendor id, class id and sequence with the --hardware string.\n"
    "'status'"
    " exits 1 when a role is expired, near expiry or below threshold.\n"
    "See docs/trust.md for the procedures.",
    opts, 1, 4, run};
