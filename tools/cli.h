/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bulwark CLI's command table and option parser. Each subcommand is
 * one row (tools/bulwark.c) with its options as rows of its own; the same
 * rows print --help, so help and behaviour cannot drift apart.
 */
#ifndef BULWARK_CLI_H
#define BULWARK_CLI_H

#include <stdio.h>
#include "bwh/host.h"

/* options per command; a row past it is never matched (opt_index) */
#define CLI_MAX_OPTS 32
#define CLI_MAX_POS 4

struct cli_opt {
    const char *name; /* long name without "--" */
    const char *arg;  /* metavariable, or NULL for a flag */
    const char *help;
};

struct cli_args;

struct cli_cmd {
    const char *name;
    const char *summary;
    const char *usage;   /* after "bulwark NAME " */
    const char *details; /* paragraph printed by --help */
    const struct cli_opt *opts;
    int min_pos, max_pos;
    int (*run)(struct cli_args *a);
};

struct cli_args {
    const struct cli_cmd *cmd;
    const char *val[CLI_MAX_OPTS];
    int set[CLI_MAX_OPTS];
    const char *pos[CLI_MAX_POS];
    int npos;
};

/* The option's value (NULL if absent) / whether a flag was given. */
const char *cli_get(const struct cli_args *a, const char *name);
int cli_flag(const struct cli_args *a, const char *name);

/* Reports "bulwark CMD: what: reason [BW_E_X]" on stderr and returns the
 * documented exit status for rc (10 + code). */
int cli_fail(const struct cli_args *a, const char *what, bw_err rc);
/* Usage error: message, a hint to --help, exit status 2. */
int cli_usage(const struct cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit status for a library error. */
int cli_exit_code(bw_err rc);

int cmd_device(struct cli_args *a);
int cmd_install(struct cli_args *a);
int cmd_status(struct cli_args *a);
int cmd_confirm(struct cli_args *a);
int cmd_rollback(struct cli_args *a);
int cmd_boot(struct cli_args *a);

/* Rows defined beside their code (cmd_<name>.c). */
extern const struct cli_cmd cli_cmd_provision;
extern const struct cli_cmd cli_cmd_passwd;
extern const struct cli_cmd cli_cmd_store;
extern const struct cli_cmd cli_cmd_log;
extern const struct cli_cmd cli_cmd_token;
extern const struct cli_cmd cli_cmd_audit;
extern const struct cli_cmd cli_cmd_risk;
extern const struct cli_cmd cli_cmd_tuf;
extern const struct cli_cmd cli_cmd_repo;
extern const struct cli_cmd cli_cmd_sbom;
extern const struct cli_cmd cli_cmd_vex;
extern const struct cli_cmd cli_cmd_delta;
extern const struct cli_cmd cli_cmd_delta_plan;
/* bulwark tuf reads its own argv (repeated options, exit status 0 or 1
 * only); its row above drives --help. argv: the words after "tuf". */
int cmd_tuf_argv(int argc, char **argv);

int cmd_keygen(struct cli_args *a);
int cmd_sign(struct cli_args *a);
int cmd_verify(struct cli_args *a);
int cmd_inspect(struct cli_args *a);

#endif
