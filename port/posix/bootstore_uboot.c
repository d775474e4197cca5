/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot state in the U-Boot environment through libubootenv (the library
 * behind fw_printenv/fw_setenv), as bw_* variables (docs/update.md). The
 * environment's own CRC and its redundant copy (two lines in
 * fw_env.config) make a save atomic: libubootenv writes the inactive copy
 * and then flips the active flag. The U-Boot script that applies the boot
 * rule at power-on is in docs/update.md.
 */
#define _GNU_SOURCE
#include <stddef.h> /* libuboot.h uses size_t without including it */
#include <libuboot.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/posix.h"

struct session {
    struct uboot_ctx *ctx;
};

static bw_err open_env(const struct bwh_bootstore_uboot *u, struct session *s)
{
    int r;

    s->ctx = NULL;
    if (libuboot_initialize(&s->ctx, NULL) < 0)
        return BW_E_NOMEM;
    r = libuboot_read_config(s->ctx, u->config);
    if (r == 0) {
        r = libuboot_open(s->ctx);
        /* No valid copy: an erased environment and one whose copies are
         * both damaged look the same here. Neither is trusted: reading it
         * as "never saved" would reset the anti-rollback floor, and saving
         * bw_* variables alone would replace U-Boot's own (bootcmd). The
         * environment must be initialised first (U-Boot's saveenv, or
         * fw_setenv -f with the board's default environment). */
        if (r == -ENODATA) {
            libuboot_close(s->ctx); /* releases libubootenv's lock file */
            libuboot_exit(s->ctx);
            s->ctx = NULL;
            return BW_E_FORMAT;
        }
    }
    if (r < 0) {
        libuboot_exit(s->ctx);
        s->ctx = NULL;
        return BW_E_IO;
    }
    return BW_OK;
}

static void close_env(struct session *s)
{
    if (s->ctx) {
        libuboot_close(s->ctx);
        libuboot_exit(s->ctx);
    }
}

static bw_err kv_get(void *ctx, const char *key, char *val, size_t cap)
{
    struct session *s = ctx;
    char *v = libuboot_get_env(s->ctx, key);
    bw_err rc = BW_E_NOTFOUND;

    if (v) {
        rc = strlen(v) < cap ? BW_OK : BW_E_FORMAT;
        if (!rc)
            strcpy(val, v);
        free(v);
    }
    return rc;
}

static bw_err kv_set(void *ctx, const char *key, const char *val)
{
    struct session *s = ctx;

    return libuboot_set_env(s->ctx, key, val) == 0 ? BW_OK : BW_E_IO;
}

static bw_err uboot_load(void *ctx, struct bw_bootstate *st)
{
    struct session s;
    bw_err rc = open_env(ctx, &s);

    if (rc)
        return rc;
    rc = bw_bootstate_from_kv(st, kv_get, &s);
    close_env(&s);
    return rc;
}

static bw_err uboot_save(void *ctx, const struct bw_bootstate *st)
{
    struct session s;
    bw_err rc = open_env(ctx, &s);

    if (rc)
        return rc;
    rc = bw_bootstate_to_kv(st, kv_set, &s);
    if (!rc && libuboot_env_store(s.ctx) != 0)
        rc = BW_E_IO;
    close_env(&s);
    return rc;
}

bw_err bwh_bootstore_uboot_init(struct bw_bootstore *bs, struct bwh_bootstore_uboot *ctx,
                               const char *fw_env_config)
{
    if (strlen(fw_env_config) >= sizeof(ctx->config))
        return BW_E_INVAL;
    strcpy(ctx->config, fw_env_config);
    bs->ctx = ctx;
    bs->load = uboot_load;
    bs->save = uboot_save;
    return BW_OK;
}
