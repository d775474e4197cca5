/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark status, confirm, rollback and boot: the boot state's life. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "bwh/device.h"
#include "bwh/seclog.h"

typedef bw_err (*step_fn)(struct bwh_device *d, char *msg, size_t cap);

static int cli_json; /* --json given: with_device prints the state */
static int cli_no_verify; /* boot --no-verify */

static bw_err do_status(struct bwh_device *d, char *msg, size_t cap);

static int with_device(struct cli_args *a, step_fn step)
{
    const char *conf = cli_get(a, "config"), *what = NULL;
    struct bwh_device d;
    char msg[256] = "";
    int status = 0;
    bw_err rc;

    if (!conf)
        return cli_usage(a, "--config is required");
    cli_json = cli_flag(a, "json");
    cli_no_verify = cli_flag(a, "no-verify");
    errno = 0;
    rc = bwh_device_open(&d, conf, 0, step != do_status, &what);
    if (rc) {
        status = cli_fail(a, what, rc);
        bwh_device_close(&d);
        return status;
    }
    rc = step(&d, msg, sizeof(msg));
    if (rc)
        status = cli_fail(a, msg[0] ? msg : conf, rc);
    else if (msg[0])
        printf("%s\n", msg);
    if (!rc && cli_flag(a, "json"))
        bwh_device_print_status(&d, 1);
    bwh_device_close(&d);
    return status;
}

static bw_err do_status(struct bwh_device *d, char *msg, size_t cap)
{
    (void)msg, (void)cap;
    if (!cli_json) /* with --json, with_device prints the object */
        bwh_device_print_status(d, 0);
    return BW_OK;
}

static bw_err do_confirm(struct bwh_device *d, char *msg, size_t cap)
{
    bw_err rc = bw_update_confirm(&d->u);

    if (rc == BW_E_STATE)
        snprintf(msg, cap, "nothing to confirm: no trial slot is running");
    else if (!rc)
        snprintf(msg, cap, "slot %c confirmed: it is now the active slot", 'a' + d->u.st.active);
    (void)bwh_seclog_event(&d->conf, "confirm", rc ? "" : d->u.st.active ? "slot b" : "slot a",
                       rc ? bw_errname(rc) : "ok");
    return rc;
}

static bw_err do_rollback(struct bwh_device *d, char *msg, size_t cap)
{
    uint8_t trial = d->u.st.trial;
    bw_err rc = bw_update_rollback(&d->u);

    if (rc == BW_E_NOTFOUND)
        snprintf(msg, cap, "no other slot holds an image to roll back to");
    else if (!rc && trial != BW_SLOT_NONE)
        snprintf(msg, cap, "trial of slot %c cancelled: slot %c boots next", 'a' + trial,
                 'a' + d->u.st.active);
    else if (!rc)
        snprintf(msg, cap, "rolled back: slot %c is active and boots next", 'a' + d->u.st.active);
    (void)bwh_seclog_event(&d->conf, "rollback", rc ? "" : d->u.st.active ? "slot b" : "slot a",
                       rc ? bw_errname(rc) : "ok: active and boots next");
    return rc;
}

/* Checks each slot's image against the digest recorded at install before
 * choosing (a slot modified since is forgotten and never booted), unless
 * --no-verify. */
static bw_err do_boot(struct bwh_device *d, char *msg, size_t cap)
{
    uint8_t slot, trial = d->u.st.trial, rejected = 0, s;
    uint8_t *buf = NULL;
    bw_err rc;

    if (cli_no_verify) {
        rc = bw_update_boot(&d->u, &slot);
    } else {
        buf = bwh_malloc(256 * 1024);
        rc = buf ? bw_update_boot_verified(&d->u, buf, 256 * 1024, &slot, &rejected) : BW_E_NOMEM;
        bwh_free(buf);
    }
    for (s = 0; s < 2; s++) {
        if (rejected & (1u << s)) {
            char what[96];

            snprintf(what, sizeof(what), "slot %c modified since its install: not booted, forgotten",
                     'a' + s);
            fprintf(stderr, "bulwark boot: %s\n", what);
            (void)bwh_seclog_event(&d->conf, "boot", "tamper", what);
        }
    }
    if (rc == BW_E_NOTFOUND)
        snprintf(msg, cap, "no slot holds an image%s: nothing to boot",
                 rejected ? " that verifies" : "");
    else if (!rc)
        snprintf(msg, cap, "boot slot %c%s", 'a' + slot,
                 slot == d->u.st.trial ? " (trial)" : "");
    if (!rc && trial != BW_SLOT_NONE && d->u.st.trial == BW_SLOT_NONE) {
        char what[64];

        snprintf(what, sizeof(what), "fallback: trial of slot %c not confirmed", 'a' + trial);
        (void)bwh_seclog_event(&d->conf, "boot", msg, what);
    }
    return rc;
}

int cmd_status(struct cli_args *a)
{
    return with_device(a, do_status);
}

int cmd_confirm(struct cli_args *a) { return with_device(a, do_confirm); }
int cmd_rollback(struct cli_args *a) { return with_device(a, do_rollback); }
int cmd_boot(struct cli_args *a) { return with_device(a, do_boot); }
