/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MPS2 bootloader: the core's boot rule over two banks (trial boots,
 * confirm, fallback: src/update/update.c), with each bank's bytes checked
 * against the SHA-256 its verified install recorded (bw_update_boot_verified)
 * and the flash counter as the anti-rollback floor, then a jump to the
 * chosen bank. It parses no package and holds no key: signatures are
 * checked by the install stream in the updater (app.c) before a byte is
 * written. MPS2_VERIFY_EVERY_BOOT=0 checks only a bank on trial.
 */
#include <string.h>
#include "board.h"

#ifndef MPS2_VERIFY_EVERY_BOOT
#define MPS2_VERIFY_EVERY_BOOT 1
#endif

static struct mps2_dev dev;
static struct bw_update u;
static uint8_t buf[512]; /* verification scratch */

static void fail(const char *what, bw_err rc)
{
    mps2_puts("boot: ");
    mps2_puts(what);
    mps2_puts(": ");
    mps2_puts(bw_errname(rc));
    mps2_puts("\n");
    mps2_exit(0);
}

/* Sanity of the image's vector table: stack in SRAM, entry in the bank. */
static int vectors_ok(uint32_t base)
{
    const uint32_t *v = (const uint32_t *)base;

    return v[0] > 0x20000000u && v[0] <= 0x20400000u && (v[1] & 1u) && v[1] > base &&
           v[1] < base + MPS2_BANK_SIZE;
}

#ifdef MPS2_BENCH
#include "mbedtls/sha256.h"
/* Instructions, from SysTick on the 25 MHz CPU clock under QEMU -icount
 * shift=0 (one instruction per virtual nanosecond: 40 per tick). */
#define SYST ((volatile uint32_t *)0xe000e010u)
static uint32_t ticks(void)
{
    return 0xffffffu - SYST[2];
}

/* The chosen bank verified by the core, and the same bytes hashed by
 * mbedtls alone: what the core adds on top of the hash. */
static void bench(uint8_t slot)
{
    const uint8_t *bank = (const uint8_t *)MPS2_FLASH_BASE +
                          (slot == BW_SLOT_A ? MPS2_BANK_A_OFF : MPS2_BANK_B_OFF);
    uint8_t d[32];
    uint32_t t0, t1, t2;
    bw_err rc;

    SYST[1] = 0xffffffu;
    SYST[2] = 0;
    SYST[0] = 5; /* enable, CPU clock */
    t0 = ticks();
    rc = bw_update_verify_slot(&u, slot, buf, sizeof(buf));
    t1 = ticks();
    if (mbedtls_sha256_ret(bank, (size_t)u.st.slot_size[slot], d, 0) != 0)
        rc = BW_E_CRYPTO;
    t2 = ticks();
    mps2_puts("bench: bytes=");
    mps2_put_u64(u.st.slot_size[slot]);
    mps2_puts(" verify_slot_instructions=");
    mps2_put_u64((uint64_t)((t1 - t0) & 0xffffffu) * 40);
    mps2_puts(" mbedtls_sha256_instructions=");
    mps2_put_u64((uint64_t)((t2 - t1) & 0xffffffu) * 40);
    mps2_puts(" ");
    mps2_puts(bw_errname(rc));
    mps2_puts("\n");
}
#endif

static void jump(uint32_t base) __attribute__((noreturn));
static void jump(uint32_t base)
{
    const uint32_t *v = (const uint32_t *)base;

    *(volatile uint32_t *)0xe000ed08u = base; /* VTOR */
    __asm__ volatile("msr msp, %0\n\tbx %1" : : "r"(v[0]), "r"(v[1]) : "memory");
    for (;;)
        ;
}

/* Method: the flash counter outranks the boot state (which a power cut or
 * a rewrite of its sectors can take back to "never saved"): a bank whose
 * sequence is below the counter is recorded as empty before the boot rule
 * runs, and the boot state's floor is raised to it so that no install
 * below it starts. The counter itself moves up only to the sequence of a
 * confirmed bank being booted, so a trial that falls back never raises it. */
static void apply_counter(uint64_t counter)
{
    int s, dirty = 0;
    bw_err rc;

    for (s = 0; s < 2; s++)
        if (u.st.slot_sequence[s] != BW_SEQ_EMPTY && u.st.slot_sequence[s] < counter) {
            mps2_puts(s ? "boot: bank B below the counter: refused\n"
                        : "boot: bank A below the counter: refused\n");
            u.st.slot_sequence[s] = BW_SEQ_EMPTY;
            u.st.slot_size[s] = 0;
            memset(u.st.slot_digest[s], 0, BW_SHA256_LEN);
            dirty = 1;
        }
    if (u.st.highest_sequence < counter) {
        u.st.highest_sequence = counter;
        dirty = 1;
    }
    if (dirty && (rc = dev.store.save(dev.store.ctx, &u.st)))
        fail("saving the boot state", rc);
}

int main(void)
{
    uint64_t counter = 0;
    uint8_t slot = BW_SLOT_NONE, rejected = 0;
    uint32_t base;
    bw_err rc;

    if ((rc = mps2_flash_open(&dev, 1)))
        fail("flash", rc);
    if ((rc = mps2_counter_read(&dev.counter, &counter)))
        fail("counter", rc);
    if ((rc = bw_update_open(&u, &dev.bank[0].flash, &dev.bank[1].flash, &dev.store)))
        fail("boot state", rc);
    apply_counter(counter);
#if MPS2_VERIFY_EVERY_BOOT
    rc = bw_update_boot_verified(&u, buf, sizeof(buf), &slot, &rejected);
#else
    rc = bw_update_boot(&u, &slot);
    if (!rc && slot == u.st.trial && bw_update_verify_slot(&u, slot, buf, sizeof(buf)) != BW_OK) {
        rejected = (uint8_t)(1u << slot);
        rc = bw_update_rollback(&u);
        if (!rc)
            rc = bw_update_boot(&u, &slot);
    }
#endif
    if (rejected & 1)
        mps2_puts("boot: bank A does not match its install record: refused\n");
    if (rejected & 2)
        mps2_puts("boot: bank B does not match its install record: refused\n");
    if (rc)
        fail("no bootable bank", rc);
    if (slot == u.st.active && u.st.trial == BW_SLOT_NONE && u.st.confirmed &&
        u.st.slot_sequence[slot] > counter) {
        if ((rc = mps2_counter_advance(&dev.counter, u.st.slot_sequence[slot])))
            fail("counter", rc);
        counter = u.st.slot_sequence[slot];
    }
    mps2_print_state("boot:", &u.st, counter);
#ifdef MPS2_BENCH
    bench(slot);
#endif
    base = MPS2_FLASH_BASE + (slot == BW_SLOT_A ? MPS2_BANK_A_OFF : MPS2_BANK_B_OFF);
    if (!vectors_ok(base))
        fail("bank has no vector table", BW_E_FORMAT);
    mps2_puts("boot: stack_peak=");
    mps2_put_u64(mps2_stack_peak());
    mps2_puts(slot == BW_SLOT_A ? " jump=A\n" : " jump=B\n");
    mps2_flash_close();
    jump(base);
}
