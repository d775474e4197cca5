/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One contract for every boot-state adapter: the flash-region store, the
 * bulwark state file, the U-Boot environment (libubootenv on a file-backed
 * fw_env.config with a redundant copy) and the GRUB environment block.
 * Then interop with the bootloaders' own tools: fw_printenv / fw_setenv
 * and grub-editenv read what bulwark wrote, and bulwark reads their edits.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/bulwark.h"
#include "bwh/posix.h"
#include "../unit/t.h"
#include "../sim/simflash.h"

static char dir[] = "/tmp/bw-bootstore-XXXXXX";

static void sample(struct bw_bootstate *st, int variant)
{
    bw_bootstate_init(st);
    st->active = variant ? BW_SLOT_B : BW_SLOT_A;
    st->trial = variant ? BW_SLOT_A : BW_SLOT_NONE;
    st->trial_boots_left = (uint8_t)(variant ? 3 : 0);
    st->booted = BW_SLOT_B;
    st->confirmed = (uint8_t)!variant;
    st->highest_sequence = variant ? 18446744073709551614ull : 7;
    st->slot_sequence[0] = variant ? 9 : BW_SEQ_EMPTY;
    st->slot_sequence[1] = 7;
    st->slot_size[0] = variant ? 123456789 : 0;
    st->slot_size[1] = 42;
    memset(st->slot_digest[0], variant ? 0xa5 : 0, 32);
    memset(st->slot_digest[1], 0x3c, 32);
}

static int same(const struct bw_bootstate *a, const struct bw_bootstate *b)
{
    return a->active == b->active && a->trial == b->trial &&
           a->trial_boots_left == b->trial_boots_left && a->booted == b->booted &&
           a->confirmed == b->confirmed && a->highest_sequence == b->highest_sequence &&
           !memcmp(a->slot_sequence, b->slot_sequence, sizeof(a->slot_sequence)) &&
           !memcmp(a->slot_size, b->slot_size, sizeof(a->slot_size)) &&
           !memcmp(a->slot_digest, b->slot_digest, sizeof(a->slot_digest));
}

static void contract(const char *name, const struct bw_bootstore *bs)
{
    struct bw_bootstate s0, s1, got;
    int before = t_fail;

    sample(&s0, 0);
    sample(&s1, 1);
    CHECK_RC(bs->load(bs->ctx, &got), BW_E_NOTFOUND); /* never saved */
    CHECK_RC(bs->save(bs->ctx, &s0), BW_OK);
    CHECK_RC(bs->load(bs->ctx, &got), BW_OK);
    CHECK(same(&got, &s0));
    CHECK_RC(bs->save(bs->ctx, &s1), BW_OK);
    CHECK_RC(bs->load(bs->ctx, &got), BW_OK);
    CHECK(same(&got, &s1));
    CHECK_RC(bs->save(bs->ctx, &s0), BW_OK);
    CHECK_RC(bs->save(bs->ctx, &s0), BW_OK);
    CHECK_RC(bs->load(bs->ctx, &got), BW_OK);
    CHECK(same(&got, &s0));
    printf("contract %-8s %s\n", name, t_fail == before ? "passed" : "FAILED");
}

static char cmdbuf[8192];
/* Runs a formatted shell command; its exit status. */
#define sh(...) (snprintf(cmdbuf, sizeof(cmdbuf), __VA_ARGS__), system(cmdbuf))

int main(void)
{
    struct bw_bootstore bs;
    char path[256], cfg[512], env1[512], env2[512], grubenv[512];
    struct bw_bootstate got;

    if (!mkdtemp(dir))
        return 2;

    { /* flash region */
        struct sim_power pw = {0};
        struct simflash f;
        struct bw_bootstore_flash ctx;

        sim_init(&f, &pw, 8192, 1);
        bw_bootstore_flash_init(&bs, &ctx, &f.f);
        contract("flash", &bs);
        /* a damaged newest copy: the older one is still there */
        CHECK_RC(bs.load(bs.ctx, &got), BW_OK);
        f.current[10] ^= 1;
        f.current[10 + (size_t)ctx.copy_size] ^= 0;
        {
            struct bw_bootstate a;

            CHECK(bs.load(bs.ctx, &a) == BW_OK);
        }
        memset(f.current, 0xff, 8192);
        CHECK_RC(bs.load(bs.ctx, &got), BW_E_NOTFOUND); /* erased flash */
        memset(f.current, 0, 8192);
        memcpy(f.current, "BWBS", 4);
        CHECK_RC(bs.load(bs.ctx, &got), BW_E_FORMAT); /* damaged, not empty */
        sim_free(&f);
    }
    { /* bulwark state file */
        struct bwh_bootstore_file ctx;

        snprintf(path, sizeof(path), "%s/file", dir);
        mkdir(path, 0700);
        CHECK_RC(bwh_bootstore_file_init(&bs, &ctx, path), BW_OK);
        contract("file", &bs);
        /* tear the newest copy: the other one answers */
        snprintf(cfg, sizeof(cfg), "%s/bootstate.0", path);
        CHECK(truncate(cfg, 50) == 0);
        CHECK_RC(bs.load(bs.ctx, &got), BW_OK);
        snprintf(cfg, sizeof(cfg), "%s/bootstate.1", path);
        CHECK(truncate(cfg, 50) == 0);
        CHECK_RC(bs.load(bs.ctx, &got), BW_E_FORMAT);
    }
    { /* U-Boot environment, redundant, file-backed */
        struct bwh_bootstore_uboot ctx;
        FILE *f;

        snprintf(env1, sizeof(env1), "%s/uboot.env", dir);
        snprintf(env2, sizeof(env2), "%s/uboot-redund.env", dir);
        snprintf(cfg, sizeof(cfg), "%s/fw_env.config", dir);
        CHECK(sh("head -c 16384 /dev/zero > %s && head -c 16384 /dev/zero > %s", env1, env2) == 0);
        f = fopen(cfg, "w");
        fprintf(f, "%s 0x0 0x4000\n%s 0x0 0x4000\n", env1, env2);
        fclose(f);
        CHECK_RC(bwh_bootstore_uboot_init(&bs, &ctx, cfg), BW_OK);
        /* an environment with no valid copy is not trusted, nor written */
        CHECK_RC(bs.load(bs.ctx, &got), BW_E_FORMAT);
        sample(&got, 0);
        CHECK_RC(bs.save(bs.ctx, &got), BW_E_FORMAT);
        /* the factory initialises it with the board's default environment */
        CHECK(sh("printf 'bootcmd=run bw_boot\\n' > %s/defenv && fw_setenv -c %s -f %s/defenv "
                 "bootdelay 0 2>/dev/null", dir, cfg, dir) == 0);
        contract("uboot", &bs);
        CHECK(sh("fw_printenv -c %s bootcmd 2>/dev/null | grep -qx 'bootcmd=run bw_boot'", cfg) == 0);
        /* fw_printenv sees what bulwark saved; bulwark sees fw_setenv */
        CHECK(sh("fw_printenv -c %s bw_active 2>/dev/null | grep -qx 'bw_active=a'%s", cfg, "") == 0);
        CHECK(sh("fw_setenv -c %s bw_trial_left 2 %s", cfg, "2>/dev/null") == 0);
        CHECK_RC(bs.load(bs.ctx, &got), BW_OK);
        CHECK(got.trial_boots_left == 2);
        CHECK(sh("fw_setenv -c %s bw_active x %s", cfg, "2>/dev/null") == 0);
        CHECK_RC(bs.load(bs.ctx, &got), BW_E_FORMAT);
    }
    { /* GRUB environment block */
        struct bwh_bootstore_grub ctx;

        snprintf(grubenv, sizeof(grubenv), "%s/grubenv", dir);
        CHECK_RC(bwh_bootstore_grub_init(&bs, &ctx, grubenv), BW_OK);
        contract("grub", &bs);
        CHECK(sh("grub-editenv %s list | grep -qx 'bw_active=a'%s", grubenv, "") == 0);
        CHECK(sh("grub-editenv %s set saved_entry=linux bw_trial_left=1%s", grubenv, "") == 0);
        /* a comment line before variables does not hide them */
        CHECK(sh("sed -i '2s/^/#c\\n/;$s/###$//' %s && test $(stat -c %%s %s) = 1024", grubenv,
                 grubenv) == 0);
        CHECK_RC(bs.load(bs.ctx, &got), BW_OK);
        CHECK(got.trial_boots_left == 1);
        got.trial_boots_left = 0;
        CHECK_RC(bs.save(bs.ctx, &got), BW_OK);
        /* another program's variable survives bulwark's save */
        CHECK(sh("grub-editenv %s list | grep -qx 'saved_entry=linux'%s", grubenv, "") == 0);
        CHECK(sh("test $(stat -c %%s %s) = 1024%s", grubenv, "") == 0);
    }
    (void)sh("rm -rf %s", dir);
    T_DONE();
}
