/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MPS2 port's NOR rules and anti-rollback counter on the host
 * (port/mps2/nor.c, counter.c): programming only erased bytes at the
 * program unit, a bank erasing the sectors a write enters, and the counter
 * under a power cut at every operation (torn: half of the cut operation
 * reaches the medium) across two sector switches. The QEMU tests cut at
 * random times and never fill a counter sector; this covers that path.
 */
#include <stdlib.h>
#include <string.h>
#include "board.h"
#include "bulwark/bulwark.h"
#include "t.h"

static uint8_t mem[MPS2_FLASH_SIZE], durable[MPS2_FLASH_SIZE];
static unsigned long ops, cut_at;
static int dead;

/* What reaches the medium: everything before the cut, half of the cut
 * operation, nothing after. */
static bw_err persist(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    if (dead)
        return BW_E_IO;
    ops++;
    if (cut_at && ops == cut_at) {
        memcpy(durable + off, buf, len / 2);
        dead = 1;
        return BW_E_IO;
    }
    memcpy(durable + off, buf, len);
    return BW_OK;
}

static void power_on(struct mps2_dev *d)
{
    memcpy(mem, durable, sizeof(mem));
    dead = 0;
    mps2_dev_init(d, mem, persist, NULL);
}

static void nor_rules(void)
{
    static struct mps2_dev d;
    uint8_t b[64], r[64];

    memset(durable, 0xff, sizeof(durable));
    cut_at = 0;
    power_on(&d);
    memset(b, 0x11, sizeof(b));
    CHECK_RC(mps2_nor_program(&d.nor, MPS2_BANK_A_OFF, b, 32), BW_OK);
    CHECK_RC(mps2_nor_program(&d.nor, MPS2_BANK_A_OFF, b, 16), BW_E_IO); /* not erased */
    CHECK_RC(mps2_nor_program(&d.nor, MPS2_BANK_A_OFF + 40, b, 16), BW_E_INVAL); /* unaligned */
    CHECK_RC(mps2_nor_program(&d.nor, MPS2_BANK_A_OFF + 32, b, 8), BW_E_INVAL);  /* short */
    CHECK_RC(mps2_nor_erase(&d.nor, MPS2_BANK_A_OFF + 16), BW_E_INVAL);
    CHECK_RC(mps2_nor_erase(&d.nor, MPS2_BANK_A_OFF), BW_OK);
    CHECK_RC(mps2_nor_program(&d.nor, MPS2_BANK_A_OFF, b, 16), BW_OK);
    /* a bank write at a sector start erases it first; inside a sector it
     * needs erased bytes; a short final write is padded with 0xff */
    memset(b, 0x22, sizeof(b));
    CHECK_RC(d.bank[0].flash.write(d.bank[0].flash.ctx, 0, b, 64), BW_OK);
    CHECK_RC(d.bank[0].flash.write(d.bank[0].flash.ctx, 64, b, 5), BW_OK);
    CHECK_RC(d.bank[0].flash.write(d.bank[0].flash.ctx, 64, b, 16), BW_E_IO);
    CHECK_RC(d.bank[0].flash.write(d.bank[0].flash.ctx, 8, b, 16), BW_E_INVAL);
    CHECK_RC(d.bank[0].flash.read(d.bank[0].flash.ctx, 64, r, 16), BW_OK);
    CHECK(memcmp(r, b, 5) == 0 && r[5] == 0xff && r[15] == 0xff);
    CHECK_RC(d.bank[0].flash.write(d.bank[0].flash.ctx, 0, b, 16), BW_OK); /* erased again */
    CHECK_RC(d.bank[0].flash.read(d.bank[0].flash.ctx, 64, r, 1), BW_OK);
    CHECK(r[0] == 0xff);
    CHECK_RC(d.bank[0].flash.write(d.bank[0].flash.ctx, MPS2_BANK_SIZE - 16, b, 32), BW_E_INVAL);
}

/* Advances the counter to 1..n, one step a call; returns the last value
 * whose advance returned BW_OK. */
static uint64_t run(struct mps2_dev *d, uint64_t n)
{
    uint64_t v, ok = 0;

    for (v = 1; v <= n; v++) {
        if (mps2_counter_advance(&d->counter, v) != BW_OK)
            break;
        ok = v;
    }
    return ok;
}

static void counter_cuts(void)
{
    static struct mps2_dev d;
    /* 256 records fit a sector: 600 steps cross two sector switches */
    const uint64_t n = 600;
    unsigned long total, c, bad = 0;
    uint64_t got, v;

    memset(durable, 0xff, sizeof(durable));
    cut_at = 0;
    ops = 0;
    power_on(&d);
    CHECK_RC(mps2_counter_read(&d.counter, &v), BW_OK);
    CHECK(v == 0);
    CHECK(run(&d, n) == n);
    total = ops;
    power_on(&d);
    CHECK_RC(mps2_counter_read(&d.counter, &v), BW_OK);
    CHECK(v == n);
    CHECK_RC(mps2_counter_advance(&d.counter, 5), BW_OK); /* lower: no-op */
    CHECK_RC(mps2_counter_read(&d.counter, &v), BW_OK);
    CHECK(v == n);
    printf("counter: %llu advances, %lu operations; a cut at each\n", (unsigned long long)n, total);
    for (c = 1; c <= total; c++) {
        memset(durable, 0xff, sizeof(durable));
        ops = 0;
        cut_at = c;
        power_on(&d);
        got = run(&d, n);
        power_on(&d);
        cut_at = 0;
        /* the value is what the last completed advance wrote, or the
         * one the cut advance was writing; never lower */
        if (mps2_counter_read(&d.counter, &v) != BW_OK || v < got || v > got + 1) {
            if (bad++ < 5)
                fprintf(stderr, "cut at %lu: read %llu after advancing to %llu\n", c,
                        (unsigned long long)v, (unsigned long long)got);
        }
        /* and it keeps counting after the cut */
        if (mps2_counter_advance(&d.counter, n + 1) != BW_OK ||
            mps2_counter_read(&d.counter, &v) != BW_OK || v != n + 1)
            bad++;
    }
    CHECK(bad == 0);
}

int main(void)
{
    nor_rules();
    counter_cuts();
    T_DONE();
}
