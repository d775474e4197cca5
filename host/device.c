/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device.conf: the options are the rows of one table, which parses the file
 * and writes the commented sample, so the two cannot drift apart.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bwh/cred.h"
#include "bwh/cryptomode.h"
#include "bwh/device.h"

static bw_err bootstate_kind(const char *v)
{
    return strcmp(v, "file") && strcmp(v, "uboot") && strcmp(v, "grub") ? BW_E_UNSUPPORTED
                                                                         : BW_OK;
}

/* designated, so that the rows may leave check and example out */
#define T_PATH .type = BWH_CONF_PATH
#define T_U64 .type = BWH_CONF_U64
#define T_UUID .type = BWH_CONF_UUID
#define T_BOOL .type = BWH_CONF_BOOL
#define OFF(f) .off = offsetof(struct bwh_device_conf, f), .cap = sizeof(((struct bwh_device_conf *)0)->f)
static const struct bwh_conf_row rows[] = {
    {"slot_a", T_PATH, OFF(slot_a), NULL, "slot A: a regular file or a block device"},
    {"slot_b", T_PATH, OFF(slot_b), NULL, "slot B: a regular file or a block device"},
    {"slot_size", T_U64, OFF(slot_size), NULL, "bytes per slot; an image must fit"},
    {"bootstate", T_PATH, OFF(bootstate), "file", "boot-state adapter: file, uboot or grub",
     bootstate_kind},
    {"state_dir", T_PATH, OFF(state_dir), "", "file adapter: directory of its two copies"},
    {"uboot_config", T_PATH, OFF(uboot_config), "", "uboot adapter: fw_env.config of the environment"},
    {"grubenv", T_PATH, OFF(grubenv), "", "grub adapter: the GRUB environment block file"},
    {"lock_file", T_PATH, OFF(lock_file), "",
     "lock held by commands that change the device (default: state_dir/lock, else /run/bulwark.lock)"},
    {"release_pub", T_PATH, OFF(release_pub), NULL, "public key that signs releases (PEM)"},
    {"vendor_id", T_UUID, OFF(vendor_id), NULL, "this device's vendor id: packages must assert it"},
    {"class_id", T_UUID, OFF(class_id), NULL, "this device's class id: packages must assert it"},
    {"trial_boots", T_U64, OFF(trial_boots), "3", "boots a new image may take before it is confirmed"},
    {"direct_io", T_BOOL, OFF(direct_io), "no", "write slots with O_DIRECT (block devices)"},
    {"data_dir", T_PATH, OFF(data_dir), "",
     "identity, credentials, store and log live here (default: state_dir, else /var/lib/bulwark)"},
    {"device_key", T_PATH, OFF(device_key), "",
     "device key URI: file:PATH, pkcs11:module=..;token=..;object=.., tpm:tcti=..;handle=.. "
     "(default: file:data_dir/device.key)"},
    {"storage_key", T_PATH, OFF(storage_key), "",
     "32-byte device storage key that encrypts file keys and the store: a file, or "
     "tpm:[tcti=..;]handle=0x81.. for one sealed in the TPM, or "
     "pkcs11:module=..;token=..;object=..;pin-source=..;wrapped=FILE for one wrapped by a "
     "token's AES key (default: data_dir/storage.key)"},
    {"device_cert", T_PATH, OFF(device_cert), "", "device certificate, PEM (default: data_dir/device.crt)"},
    {"credentials", T_PATH, OFF(credentials), "",
     "password hashes and failed-attempt counters (default: data_dir/credentials)"},
    {"store", T_PATH, OFF(store), "", "encrypted key-value store (default: data_dir/store)"},
    {"store_max", T_U64, OFF(store_max), "1048576", "largest size of the secure store in bytes"},
    {"seclog", T_PATH, OFF(seclog), "", "security log directory (default: data_dir/seclog)"},
    {"seclog_max", T_U64, OFF(seclog_max), "4194304",
     "bytes of security log kept before the oldest segment rotates out"},
    {"crypto_mode", .type = BWH_CONF_STR, OFF(crypto_mode), "default",
     "default, or approved: OpenSSL's FIPS provider only, approved algorithms only "
     "(docs/fips.md)", bwh_crypto_mode_check},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* Paths left empty default to data_dir/NAME; data_dir to state_dir. */
static void conf_defaults(struct bwh_device_conf *c)
{
    struct {
        char *field;
        const char *prefix, *name;
    } d[] = {{c->device_key, "file:", "device.key"}, {c->storage_key, "", "storage.key"},
             {c->device_cert, "", "device.crt"},     {c->credentials, "", "credentials"},
             {c->store, "", "store"},                {c->seclog, "", "seclog"}};
    size_t i;

    if (!*c->data_dir)
        snprintf(c->data_dir, sizeof(c->data_dir), "%s",
                 *c->state_dir ? c->state_dir : "/var/lib/bulwark");
    for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        if (!*d[i].field)
            snprintf(d[i].field, 4096, "%s%.4000s/%s", d[i].prefix, c->data_dir, d[i].name);
    /* a file key is sealed under the storage key this file names, so every
     * command that opens the device key uses the same one */
    if (!strncmp(c->device_key, "file:", 5) && !strchr(c->device_key, '?') &&
        strlen(c->device_key) + strlen(c->storage_key) + 14 < sizeof(c->device_key)) {
        size_t n = strlen(c->device_key);

        snprintf(c->device_key + n, sizeof(c->device_key) - n, "?storage-key=%s", c->storage_key);
    }
}

/* Whether two stat results are one object for writing: the same inode
 * (a symlink, a "./" or "../" spelling, a hard link), the same block or
 * character device (two device nodes with one number), or, with lives_on,
 * a file that lives on the block device the other one is. (State files on
 * a slot's block device are normal: the active slot is the running root
 * file system.) */
static int same_object(const struct stat *x, const struct stat *y, int lives_on)
{
    int xb = S_ISBLK(x->st_mode) || S_ISCHR(x->st_mode);
    int yb = S_ISBLK(y->st_mode) || S_ISCHR(y->st_mode);

    if (x->st_dev == y->st_dev && x->st_ino == y->st_ino)
        return 1;
    if (xb && yb)
        return x->st_rdev == y->st_rdev && S_ISBLK(x->st_mode) == S_ISBLK(y->st_mode);
    if (!lives_on)
        return 0;
    if (S_ISBLK(x->st_mode) && !yb)
        return y->st_dev == x->st_rdev;
    if (S_ISBLK(y->st_mode) && !xb)
        return x->st_dev == y->st_rdev;
    return 0;
}

bw_err bwh_device_conf_check_slots(const struct bwh_device_conf *c, const char *path)
{
    char boot0[4200], boot1[4200];
    const struct {
        const char *key, *file;
    } other[] = {{"slot_a", c->slot_a},           {"slot_b", c->slot_b},
                 {"state_dir", c->state_dir},     {"state_dir/bootstate.0", boot0},
                 {"state_dir/bootstate.1", boot1}, {"lock_file", c->lock_file},
                 {"grubenv", c->grubenv},         {"uboot_config", c->uboot_config},
                 {"release_pub", c->release_pub}, {"data_dir", c->data_dir},
                 {"storage_key", c->storage_key}, {"device_cert", c->device_cert},
                 {"credentials", c->credentials}, {"store", c->store},
                 {"seclog", c->seclog},           {"the configuration", path}};
    size_t s, i;

    snprintf(boot0, sizeof(boot0), "%s/bootstate.0", c->state_dir);
    snprintf(boot1, sizeof(boot1), "%s/bootstate.1", c->state_dir);
    for (s = 0; s < 2; s++) {
        struct stat st, ot;

        /* a slot not there yet is bwh_device_open's to report */
        if (stat(other[s].file, &st) != 0)
            continue;
        for (i = s + 1; i < sizeof(other) / sizeof(other[0]); i++) {
            if (!other[i].file || !*other[i].file || stat(other[i].file, &ot) != 0 ||
                !same_object(&st, &ot, i < 2))
                continue;
            if (S_ISBLK(st.st_mode) || S_ISBLK(ot.st_mode))
                fprintf(stderr,
                        "%s: %s (%s) and %s (%s) are the same storage (block device %u:%u): "
                        "a write to the slot would destroy the other\n",
                        path, other[s].key, other[s].file, other[i].key, other[i].file,
                        major(S_ISBLK(st.st_mode) ? st.st_rdev : ot.st_rdev),
                        minor(S_ISBLK(st.st_mode) ? st.st_rdev : ot.st_rdev));
            else
                fprintf(stderr,
                        "%s: %s (%s) and %s (%s) are the same file (device %u:%u, inode "
                        "%llu): a write to the slot would destroy the other\n",
                        path, other[s].key, other[s].file, other[i].key, other[i].file,
                        major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino);
            return BW_E_FORMAT;
        }
    }
    return BW_OK;
}

bw_err bwh_device_conf_load(struct bwh_device_conf *c, const char *path)
{
    bw_err rc;

    memset(c, 0, sizeof(*c));
    rc = bwh_conf_load(c, rows, N_ROWS, path);
    if (rc)
        return rc;
    {
        const char *need = !strcmp(c->bootstate, "file")    ? c->state_dir
                           : !strcmp(c->bootstate, "uboot") ? c->uboot_config
                                                            : c->grubenv;
        const char *key = !strcmp(c->bootstate, "file")    ? "state_dir"
                          : !strcmp(c->bootstate, "uboot") ? "uboot_config"
                                                           : "grubenv";

        if (!*need) {
            fprintf(stderr, "%s: bootstate = %s needs '%s'\n", path, c->bootstate, key);
            return BW_E_FORMAT;
        }
    }
    {
        /* The documented boot scripts count down in one decimal digit
         * (U-Boot's setexpr prints hex) or spell out 3, 2, 1 (GRUB). */
        uint64_t max = !strcmp(c->bootstate, "uboot") ? 9 : !strcmp(c->bootstate, "grub") ? 3 : 255;

        if (c->trial_boots < 1 || c->trial_boots > max) {
            fprintf(stderr, "%s: trial_boots must be 1 to %llu with bootstate = %s\n", path,
                    (unsigned long long)max, c->bootstate);
            rc = BW_E_FORMAT;
        }
    }
    if (!rc && !strcmp(c->slot_a, c->slot_b)) {
        fprintf(stderr, "%s: slot_a and slot_b name the same file\n", path);
        rc = BW_E_FORMAT;
    }
    if (!rc && c->direct_io && c->slot_size % 4096) {
        fprintf(stderr, "%s: direct_io needs slot_size to be a multiple of 4096\n", path);
        rc = BW_E_FORMAT;
    }
    if (!rc && !*c->lock_file) {
        if (!strcmp(c->bootstate, "file"))
            snprintf(c->lock_file, sizeof(c->lock_file), "%.4000s/lock", c->state_dir);
        else
            snprintf(c->lock_file, sizeof(c->lock_file), "/run/bulwark.lock");
    }
    if (!rc)
        conf_defaults(c);
    if (!rc)
        rc = bwh_device_conf_check_slots(c, path);
    if (!rc) /* before the caller's first key, hash or store operation */
        rc = bwh_crypto_mode_conf(c->crypto_mode, path);
    return rc;
}

bw_err bwh_device_conf_save(const struct bwh_device_conf *c, const char *path)
{
    char out[32768];
    size_t n = 0, i;

    n += (size_t)snprintf(out + n, sizeof(out) - n,
                          "# bulwark device configuration (bulwark device init)\n"
                          "# key = value; lines starting with # are comments.\n");
    for (i = 0; i < N_ROWS; i++) {
        char val[4200];

        bwh_conf_get(c, &rows[i], val, sizeof(val));
        /* an optional path left empty is written as a comment */
        n += (size_t)snprintf(out + n, sizeof(out) - n, "\n# %s%s%s%s\n%s%s = %s\n",
                              rows[i].help, rows[i].def ? " (default " : " (required)",
                              rows[i].def ? rows[i].def : "", rows[i].def ? ")" : "",
                              !val[0] ? "# " : "", rows[i].key, val);
        if (n >= sizeof(out))
            return BW_E_NOMEM;
    }
    return bwh_write_file_atomic(path, out, n, 0644);
}

bw_err bwh_device_open(struct bwh_device *d, const char *conf_path, int with_key, int exclusive,
                   const char **what)
{
    bw_err rc;

    memset(d, 0, sizeof(*d));
    d->a.fd = d->b.fd = d->lock_fd = -1;
    bw_ec_key_init(&d->key);
    *what = conf_path;
    if ((rc = bwh_device_conf_load(&d->conf, conf_path)))
        return rc;
    if (exclusive) {
        *what = d->conf.lock_file;
        d->lock_fd = open(d->conf.lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (d->lock_fd < 0)
            return BW_E_IO;
        if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK)
                return BW_E_IO;
            fprintf(stderr, "bulwark: another bulwark command is changing this device "
                            "(lock %s held); try again when it has finished\n",
                    d->conf.lock_file);
            errno = 0;
            return BW_E_STATE;
        }
    }
    *what = d->conf.slot_a;
    if ((rc = bwh_posix_flash_open(&d->a, d->conf.slot_a, d->conf.slot_size, 0, d->conf.direct_io)))
        return rc;
    *what = d->conf.slot_b;
    if ((rc = bwh_posix_flash_open(&d->b, d->conf.slot_b, d->conf.slot_size, 0, d->conf.direct_io)))
        return rc;
    if (!strcmp(d->conf.bootstate, "uboot")) {
        *what = d->conf.uboot_config;
        rc = bwh_bootstore_uboot_init(&d->store, &d->uboot, d->conf.uboot_config);
    } else if (!strcmp(d->conf.bootstate, "grub")) {
        *what = d->conf.grubenv;
        rc = bwh_bootstore_grub_init(&d->store, &d->grub, d->conf.grubenv);
    } else {
        *what = d->conf.state_dir;
        rc = bwh_bootstore_file_init(&d->store, &d->file, d->conf.state_dir);
    }
    if (rc)
        return rc;
    if ((rc = bw_update_open(&d->u, &d->a.f, &d->b.f, &d->store)))
        return rc;
    d->u.trial_boots = (uint8_t)d->conf.trial_boots;
    if (with_key) {
        *what = d->conf.release_pub;
        if ((rc = bwh_load_key(d->conf.release_pub, 0, &d->key)))
            return rc;
    }
    return BW_OK;
}

void bwh_device_close(struct bwh_device *d)
{
    if (d->lock_fd >= 0)
        close(d->lock_fd); /* releases the lock */
    d->lock_fd = -1;
    bwh_posix_flash_close(&d->a);
    bwh_posix_flash_close(&d->b);
    bw_ec_key_clear(&d->key);
}

static const char *slot_name(uint8_t s)
{
    return s == BW_SLOT_A ? "a" : s == BW_SLOT_B ? "b" : NULL;
}

/* "true" if an account still holds its factory credential, "false" if
 * none does, "null" when the device has no credentials file. */
static const char *factory_credential(const struct bwh_device_conf *c)
{
    struct bwh_cred_db db;
    size_t i;

    if (bwh_cred_load(&db, c->credentials) || db.n == 0)
        return "null";
    for (i = 0; i < db.n; i++)
        if (db.user[i].factory)
            return "true";
    return "false";
}

void bwh_device_print_status(const struct bwh_device *d, int json)
{
    const struct bw_bootstate *st = &d->u.st;
    const char *paths[2] = {d->conf.slot_a, d->conf.slot_b};
    int i;

    if (json) {
        printf("{\"active_slot\":\"%s\",\"trial_slot\":", slot_name(st->active));
        if (slot_name(st->trial))
            printf("\"%s\"", slot_name(st->trial));
        else
            printf("null");
        printf(",\"trial_boots_left\":%u,\"booted_slot\":", st->trial_boots_left);
        if (slot_name(st->booted))
            printf("\"%s\"", slot_name(st->booted));
        else
            printf("null");
        printf(",\"confirmed\":%s,\"highest_sequence\":%" PRIu64 ",\"slots\":{",
               st->confirmed ? "true" : "false", st->highest_sequence);
        for (i = 0; i < 2; i++) {
            printf("%s\"%s\":{\"path\":", i ? "," : "", slot_name((uint8_t)i));
            bwh_json_str(stdout, paths[i], strlen(paths[i]));
            if (st->slot_sequence[i] == BW_SEQ_EMPTY) {
                printf(",\"sequence\":null,\"size\":null,\"digest\":null}");
            } else {
                printf(",\"sequence\":%" PRIu64 ",\"size\":%" PRIu64 ",\"digest\":",
                       st->slot_sequence[i], st->slot_size[i]);
                bwh_json_hex(stdout, st->slot_digest[i], BW_SHA256_LEN);
                printf("}");
            }
        }
        printf("},\"factory_credential\":%s}\n", factory_credential(&d->conf));
        return;
    }
    printf("active slot        %s%s\n", slot_name(st->active),
           st->booted == st->active && st->confirmed ? " (booted, confirmed)" : "");
    if (slot_name(st->trial))
        printf("trial slot         %s (%u boot%s left%s)\n", slot_name(st->trial),
               st->trial_boots_left, st->trial_boots_left == 1 ? "" : "s",
               st->booted == st->trial ? ", booted, not yet confirmed" : ", not yet booted");
    else
        printf("trial slot         none\n");
    printf("highest sequence   %" PRIu64 " (packages below it are refused)\n",
           st->highest_sequence);
    for (i = 0; i < 2; i++) {
        char hex[65];

        if (st->slot_sequence[i] == BW_SEQ_EMPTY) {
            printf("slot %s             empty                 %s\n", slot_name((uint8_t)i), paths[i]);
            continue;
        }
        bw_hex(hex, st->slot_digest[i], 8);
        printf("slot %s             sequence %-6" PRIu64 " %s  sha256:%s...\n",
               slot_name((uint8_t)i), st->slot_sequence[i], paths[i], hex);
    }
    if (!strcmp(factory_credential(&d->conf), "true"))
        printf("credentials        FACTORY PASSWORD still in use (change it: bulwark passwd)\n");
}
