/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark passwd: change a device password, check a login attempt (with
 * the persisted delay and lockout), and report which accounts still hold
 * the factory credential. Passwords are read from stdin (echo off on a
 * TTY), never from the command line where ps(1) would show them.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/core.h"
#include "bwh/cred.h"
#include "cli.h"
#include "bwh/device.h"
#include "bwh/seclog.h"

/* One line from stdin into buf (newline removed); -1 at EOF. */
static int read_secret(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    int tty = isatty(0), r = 0;
    size_t n;

    if (tty) {
        fprintf(stderr, "%s", prompt);
        if (tcgetattr(0, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(0, TCSAFLUSH, &quiet);
        } else {
            tty = 0;
        }
    }
    if (!fgets(buf, (int)cap, stdin))
        r = -1;
    if (tty) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (r)
        return r;
    n = strcspn(buf, "\r\n");
    buf[n] = 0;
    return 0;
}

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

static int status(struct cli_args *a, struct bwh_cred_db *db)
{
    uint64_t now = now_s();
    size_t i;

    if (cli_flag(a, "json")) {
        printf("{\"users\":[");
        for (i = 0; i < db->n; i++) {
            const struct bwh_cred_user *u = &db->user[i];

            printf("%s{\"name\":\"%s\",\"factory_credential\":%s,\"failures\":%" PRIu32
                   ",\"locked\":%s,\"retry_after\":%" PRIu64 "}",
                   i ? "," : "", u->name, u->factory ? "true" : "false", u->failures,
                   u->locked_until > now ? "true" : "false",
                   u->locked_until > u->next_allowed ? u->locked_until : u->next_allowed);
        }
        for (i = 0; i < db->n && !db->user[i].factory; i++)
            ;
        printf("],\"factory_credential_in_use\":%s}\n", i < db->n ? "true" : "false");
        return 0;
    }
    if (db->n == 0)
        printf("no accounts (the device was not provisioned)\n");
    for (i = 0; i < db->n; i++) {
        const struct bwh_cred_user *u = &db->user[i];

        printf("%-16s %s%s", u->name,
               u->factory ? "FACTORY CREDENTIAL still in use: change it with 'bulwark passwd'"
                          : "password set by the user",
               u->locked_until > now ? ", locked" : "");
        if (u->failures)
            printf(", %" PRIu32 " failed attempts", u->failures);
        printf("\n");
    }
    return 0;
}

static int run(struct cli_args *a)
{
    const char *conf_path = cli_get(a, "config");
    const char *user = cli_get(a, "user");
    char cur[BWH_CRED_PW_MAX + 2], nw[BWH_CRED_PW_MAX + 2], again[BWH_CRED_PW_MAX + 2];
    struct bwh_device_conf conf;
    struct bwh_cred_db db;
    struct bwh_cred_params p = {0, 0, 0};
    uint64_t retry = 0;
    int ret = 0;
    bw_err rc;

    if (!conf_path)
        return cli_usage(a, "--config is required");
    if (!user)
        user = "admin";
    if (cli_flag(a, "check") && cli_flag(a, "status"))
        return cli_usage(a, "--check and --status exclude each other");
    rc = bwh_device_conf_load(&conf, conf_path);
    if (rc)
        return cli_exit_code(rc);
    rc = bwh_cred_load(&db, conf.credentials);
    if (rc)
        return cli_fail(a, conf.credentials, rc);
    if (cli_flag(a, "status"))
        return status(a, &db);
    if (cli_get(a, "argon2") && bwh_cred_params_parse(cli_get(a, "argon2"), &p))
        return cli_usage(a, "--argon2 wants T,M_KIB,LANES");
    memset(cur, 0, sizeof(cur));
    memset(nw, 0, sizeof(nw));
    memset(again, 0, sizeof(again));
    if (read_secret("current password: ", cur, sizeof(cur))) {
        ret = cli_usage(a, "no password on stdin");
        goto out;
    }
    /* every path below starts with a throttled check of the current one */
    rc = bwh_cred_verify(&db, user, cur, now_s(), &retry);
    if (rc) {
        /* refusals during a delay or lockout are not logged: they cost the
         * attacker nothing, and logging each would let them rotate older
         * records out of the log; the failures that led to the lock are */
        if (rc != BW_E_LOCKED &&
            bwh_seclog_event(&conf, cli_flag(a, "check") ? "login" : "passwd", user, bw_errname(rc)))
            fprintf(stderr, "bulwark passwd: security log not written\n");
        if (rc == BW_E_LOCKED || rc == BW_E_AUTH)
            fprintf(stderr, "bulwark passwd: %s: %s; next attempt in %" PRIu64 " s\n", user,
                    rc == BW_E_LOCKED ? "too many failed attempts" : "wrong password",
                    retry > now_s() ? retry - now_s() : 0);
        ret = rc == BW_E_LOCKED || rc == BW_E_AUTH ? cli_exit_code(rc)
                                                   : cli_fail(a, conf.credentials, rc);
        goto out;
    }
    if (cli_flag(a, "check")) {
        if (bwh_seclog_event(&conf, "login", user, "ok"))
            fprintf(stderr, "bulwark passwd: security log not written\n");
        printf("ok\n");
        goto out;
    }
    if (read_secret("new password: ", nw, sizeof(nw)) ||
        read_secret("new password again: ", again, sizeof(again))) {
        ret = cli_usage(a, "the new password must be given twice");
        goto out;
    }
    if (strlen(nw) != strlen(again) || !bw_ct_equal(nw, again, strlen(nw))) {
        fprintf(stderr, "bulwark passwd: the two new passwords differ; nothing changed\n");
        ret = cli_exit_code(BW_E_INVAL);
        goto out;
    }
    if (strlen(nw) < BWH_CRED_PW_MIN || strlen(nw) > BWH_CRED_PW_MAX) {
        fprintf(stderr, "bulwark passwd: a password needs %d to %d characters; nothing changed\n",
                BWH_CRED_PW_MIN, BWH_CRED_PW_MAX);
        ret = cli_exit_code(BW_E_INVAL);
        goto out;
    }
    if (strlen(nw) == strlen(cur) && bw_ct_equal(nw, cur, strlen(nw))) {
        fprintf(stderr, "bulwark passwd: the new password equals the current one; nothing changed\n");
        ret = cli_exit_code(BW_E_INVAL);
        goto out;
    }
    rc = bwh_cred_set(&db, user, nw, &p, 0);
    if (bwh_seclog_event(&conf, "passwd", user, rc ? bw_errname(rc) : "ok"))
        fprintf(stderr, "bulwark passwd: security log not written\n");
    if (rc) {
        ret = cli_fail(a, conf.credentials, rc);
        goto out;
    }
    printf("password of %s changed\n", user);
out:
    bw_wipe(cur, sizeof(cur));
    bw_wipe(nw, sizeof(nw));
    bw_wipe(again, sizeof(again));
    bw_wipe(&db, sizeof(db));
    return ret;
}

static const struct cli_opt opts[] = {
    {"config", "DEVICE.conf", "the device (its credentials file)"},
    {"user", "NAME", "account (default admin)"},
    {"check", NULL, "only check the password read from stdin (a login)"},
    {"status", NULL, "list accounts and whether the factory credential is still in use"},
    {"argon2", "T,M,P", "Argon2id cost for the new hash (default 2,19456,1)"},
    {"json", NULL, "with --status: one JSON object"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_passwd = {
    "passwd", "change a device password; check a login; show factory credentials",
    "--config DEVICE.conf [--user NAME] [--check | --status [--json]]",
    "Reads the current password, then the new one twice, from stdin (echo off on a\n"
    "terminal). Every check is counted on disk before the password is compared:\n"
    "after the n-th failure in a row the next attempt must wait 2^(n-1) s (at most\n"
    "60 s), after 10 the account locks for 15 minutes, and restarting the device\n"
    "does not reset either. New passwords need 12 to 128 characters.",
    opts, 0, 0, run};
