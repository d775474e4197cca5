/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A device as the CLI sees it: device.conf (one table of options, which
 * also writes the commented sample), its two slots and its boot state.
 */
#ifndef BULWARK_DEVICE_H
#define BULWARK_DEVICE_H

#include "bwh/host.h"
#include "bwh/posix.h"

struct bwh_device_conf {
    char slot_a[4096];
    char slot_b[4096];
    uint64_t slot_size;
    char bootstate[16]; /* "file", "uboot" or "grub" */
    char state_dir[4096];
    char uboot_config[4096];
    char grubenv[4096];
    char lock_file[4096];
    char release_pub[4096];
    uint8_t vendor_id[16];
    uint8_t class_id[16];
    uint64_t trial_boots;
    int direct_io;
    /* identity, credentials, secure store, security log (issue 4) */
    char data_dir[4096];
    char device_key[4096]; /* key URI: file:..., pkcs11:..., tpm:... */
    char storage_key[4096];
    char device_cert[4096];
    char credentials[4096];
    char store[4096];
    char seclog[4096];
    uint64_t store_max;
    uint64_t seclog_max;
    char crypto_mode[16]; /* default | approved (bwh/cryptomode.h) */
};

struct bwh_device {
    struct bwh_device_conf conf;
    struct bwh_posix_flash a, b;
    struct bw_bootstore store;
    struct bwh_bootstore_file file;
    struct bwh_bootstore_uboot uboot;
    struct bwh_bootstore_grub grub;
    struct bw_update u;
    struct bw_ec_key key;
    int lock_fd;
};

/* Parses a device.conf; on error prints "PATH:LINE: reason" and returns
 * BW_E_FORMAT (or BW_E_IO). */
BW_NODISCARD bw_err bwh_device_conf_load(struct bwh_device_conf *c, const char *path);
/* Refuses (BW_E_FORMAT, saying which two on stderr as "PATH: ...") slots
 * that are one object with the other slot or with a file of the device's
 * state (boot state, lock, environment, keys, store, log, the
 * configuration path itself): compared by device and inode after stat, so
 * symlinks, "./" spellings and hard links are seen, and block devices by
 * device number (a file on a slot's block device counts too). Paths that
 * do not exist are skipped. bwh_device_conf_load calls it on every load. */
BW_NODISCARD bw_err bwh_device_conf_check_slots(const struct bwh_device_conf *c, const char *path);
/* Writes conf as a commented device.conf, atomically. */
BW_NODISCARD bw_err bwh_device_conf_save(const struct bwh_device_conf *c, const char *path);
/* Opens slots, boot state and key. with_key: load the release key too.
 * exclusive: take the device lock first (every command that changes the
 * boot state or a slot), so two bulwark processes never interleave; a
 * device already locked gives BW_E_STATE at once. */
BW_NODISCARD bw_err bwh_device_open(struct bwh_device *d, const char *conf_path, int with_key,
                                int exclusive, const char **what);
void bwh_device_close(struct bwh_device *d);
/* Prints the state as text or one JSON object. */
void bwh_device_print_status(const struct bwh_device *d, int json);


#endif
