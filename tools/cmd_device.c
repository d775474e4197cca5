/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark device init: a simulated device in a directory: two file-backed
 * slots, the file boot-state adapter, the release key and DIR/device.conf.
 * --slot-a/--slot-b name other slots (files, created if absent, or block
 * devices); slots that are one object (device and inode) are refused.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "bwh/device.h"
#include "bwh/tuf.h"

/* The slots of c against each other and the state files, with the lock
 * file and data directory as device.conf will default them. */
static int check_slots(const struct bwh_device_conf *c)
{
    static struct bwh_device_conf full;

    full = *c;
    snprintf(full.lock_file, sizeof(full.lock_file), "%.4000s/lock", c->state_dir);
    snprintf(full.data_dir, sizeof(full.data_dir), "%s", c->state_dir);
    return bwh_device_conf_check_slots(&full, "bulwark device init") != BW_OK;
}

int cmd_device(struct cli_args *a)
{
    const char *dir = cli_get(a, "dir"), *pub = cli_get(a, "pub");
    struct bwh_device_conf c;
    struct bwh_posix_flash f;
    struct bw_ec_key k;
    char abs[PATH_MAX], conf[PATH_MAX + 32];
    uint8_t *pem = NULL;
    size_t pem_len;
    bw_err rc;
    int i;

    if (strcmp(a->pos[0], "init") != 0)
        return cli_usage(a, "unknown device command '%s' (only 'init')", a->pos[0]);
    if (!dir || !pub || !cli_get(a, "slot-size") || !cli_get(a, "vendor-id") ||
        !cli_get(a, "class-id"))
        return cli_usage(a, "--dir, --slot-size, --pub, --vendor-id and --class-id are required");
    memset(&c, 0, sizeof(c));
    if (bwh_parse_u64(cli_get(a, "slot-size"), &c.slot_size) || c.slot_size == 0)
        return cli_usage(a, "--slot-size: a positive number of bytes");
    if (bwh_uuid_parse(cli_get(a, "vendor-id"), c.vendor_id))
        return cli_usage(a, "--vendor-id: not a UUID");
    if (bwh_uuid_parse(cli_get(a, "class-id"), c.class_id))
        return cli_usage(a, "--class-id: not a UUID");
    errno = 0;
    if ((rc = bwh_load_key(pub, 0, &k)))
        return cli_fail(a, pub, rc);
    bw_ec_key_clear(&k);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return cli_fail(a, dir, BW_E_IO);
    if (!realpath(dir, abs))
        return cli_fail(a, dir, BW_E_IO);
    if (strlen(abs) > sizeof(c.slot_a) - 32)
        return cli_usage(a, "--dir: path too long");
    snprintf(conf, sizeof(conf), "%s/device.conf", abs);
    if (cli_get(a, "tuf-root")) { /* checked before anything is written */
        if ((rc = bwh_read_file(cli_get(a, "tuf-root"), BWH_TUF_ROOT_MAX, &pem, &pem_len)))
            return cli_fail(a, cli_get(a, "tuf-root"), rc);
        rc = bwh_tuf_check(pem, pem_len, conf, sizeof(conf));
        if (rc) {
            bwh_free(pem);
            return cli_usage(a, "--tuf-root: %s", conf);
        }
        bwh_free(pem);
        pem = NULL;
        snprintf(conf, sizeof(conf), "%s/device.conf", abs);
    }
    if (access(conf, F_OK) == 0 && !cli_flag(a, "force"))
        return cli_usage(a, "%s exists: the device is initialised (use --force to start over)", conf);
    for (i = 0; i < 2; i++) {
        const char *given = cli_get(a, i ? "slot-b" : "slot-a");
        char *slot = i ? c.slot_b : c.slot_a;

        if (given && (!*given || strlen(given) >= sizeof(c.slot_a)))
            return cli_usage(a, "--slot-%c: a path of 1 to 4095 bytes", 'a' + i);
        if (given)
            snprintf(slot, sizeof(c.slot_a), "%s", given);
        else
            snprintf(slot, sizeof(c.slot_a), "%.4000s/slot-%c.img", abs, 'a' + i);
    }
    snprintf(c.state_dir, sizeof(c.state_dir), "%.4000s/state", abs);
    snprintf(c.release_pub, sizeof(c.release_pub), "%.4000s/release.pub", abs);
    /* slots named on the command line that exist already (a link to the
     * other, a block device) are checked before anything is written */
    if ((cli_get(a, "slot-a") || cli_get(a, "slot-b")) &&
        (!strcmp(c.slot_a, c.slot_b) || check_slots(&c)))
        return cli_usage(a, "--slot-a and --slot-b must be two different objects");
    strcpy(c.bootstate, "file");
    c.trial_boots = BW_TRIAL_BOOTS_DEFAULT;
    c.store_max = 1u << 20;    /* the documented defaults of host/device.c */
    c.seclog_max = 4u << 20;
    errno = 0;
    if (mkdir(c.state_dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(a, c.state_dir, BW_E_IO);
    for (i = 0; i < 2; i++) {
        const char *name = i ? "bootstate.1" : "bootstate.0";
        char p[PATH_MAX + 64];

        snprintf(p, sizeof(p), "%s/%s", c.state_dir, name);
        unlink(p); /* --force: a new device starts with no state */
    }
    for (i = 0; i < 2; i++) {
        const char *path = i ? c.slot_b : c.slot_a;

        if (!cli_get(a, i ? "slot-b" : "slot-a"))
            unlink(path); /* --force: our own slot file starts empty */
        if ((rc = bwh_posix_flash_open(&f, path, c.slot_size, 1, 0)))
            return cli_fail(a, path, rc);
        bwh_posix_flash_close(&f);
    }
    /* and once both exist: two spellings of one new file */
    if (check_slots(&c))
        return cli_usage(a, "--slot-a and --slot-b must be two different objects");
    if ((rc = bwh_read_file(pub, 64 << 10, &pem, &pem_len)) ||
        (rc = bwh_write_file_atomic(c.release_pub, pem, pem_len, 0644))) {
        bwh_free(pem);
        return cli_fail(a, c.release_pub, rc);
    }
    bwh_free(pem);
    pem = NULL;
    if (cli_get(a, "tuf-root")) {
        char tuf[PATH_MAX + 32];

        snprintf(tuf, sizeof(tuf), "%.4000s/tuf", c.state_dir);
        if ((rc = bwh_tuf_init_file(tuf, cli_get(a, "tuf-root"), NULL)))
            return cli_fail(a, tuf, rc);
    }
    if ((rc = bwh_device_conf_save(&c, conf)))
        return cli_fail(a, conf, rc);
    printf("device initialised: %s (two %llu-byte slots, file boot state)\n", conf,
           (unsigned long long)c.slot_size);
    return 0;
}
