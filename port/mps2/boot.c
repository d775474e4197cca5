/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MPS2 bootloader: the core's boot rule over two banks (trial boots,
 * confirm, fallback: src/update/update.c), with each bank's bytes checked
 * against the SHA-256 its verified install recorded (bw_update_boot_verified)
 * and the flash counter as the anti-rollback floor, then a jump to the
 * chosen bank. By default it parses no package and holds no key:
 * signatures are checked by the install stream in the updater (app.c)
 * before a byte is written. MPS2_VERIFY_EVERY_BOOT=0 checks only a bank on
 * trial; MPS2_VERIFY_SIGNATURE=1 (boot_sig.elf) also authenticates the
 * envelope kept beside the bank it boots (signed_bank).
 */
#include <string.h>
#include "board.h"

#ifndef MPS2_VERIFY_EVERY_BOOT
#define MPS2_VERIFY_EVERY_BOOT 1
#endif
/* 1: also authenticate the envelope each bank was installed from before
 * booting it (boot_sig.elf): ECDSA in the bootloader, about 12 KB more. */
#ifndef MPS2_VERIFY_SIGNATURE
#define MPS2_VERIFY_SIGNATURE 0
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

/* The bank holds nothing bootable (in memory; the caller saves). */
static void record_empty(uint8_t slot)
{
    u.st.slot_sequence[slot] = BW_SEQ_EMPTY;
    u.st.slot_size[slot] = 0;
    memset(u.st.slot_digest[slot], 0, BW_SHA256_LEN);
}

#if MPS2_VERIFY_SIGNATURE
#include "bulwark/suit.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "trust_key.h"

static const uint8_t trust_pub[BW_P256_PUB_LEN] = MPS2_TRUST_KEY;
static struct bw_suit suit;
static struct bw_ec_key key;
/* mbedtls bignums during the verify: 1.6-1.8 KiB allocated at the peak
 * (make HEAP_STATS=1 prints it); with the allocator's block headers and
 * fragmentation 2.5 KiB was measured too small, 3 KiB passes */
#ifndef MPS2_BOOT_HEAP
#define MPS2_BOOT_HEAP 3072
#endif
static uint8_t heap[MPS2_BOOT_HEAP];

/* Method: the envelope the bank was installed from (kept beside it by the
 * updater) is authenticated with the compiled-in trust anchor, its image
 * for this bank selected (A/B packages), and its digest, size and sequence
 * must be the ones the boot state records for the bank, whose bytes
 * bw_update_boot_verified already compared with that digest. So a boot
 * state rewritten by someone without the signing key does not make a
 * bank bootable. BW_OK or the first failure. */
static bw_err signed_bank(uint8_t slot)
{
    const uint8_t *env;
    size_t len;
    bw_err rc;

    bw_ec_key_init(&key);
    if ((rc = mps2_env_load(&dev, slot, &env, &len)))
        goto out;
    if ((rc = bw_ec_set_pub(&key, trust_pub, sizeof(trust_pub))))
        goto out;
    if ((rc = bw_suit_parse(env, len, &key, &suit)))
        goto out;
    if ((suit.try_each || suit.slot_cond) && (rc = bw_suit_select(&suit, slot)))
        goto out;
    rc = BW_E_DIGEST;
    if (suit.n_components != 1 || suit.sequence != u.st.slot_sequence[slot] ||
        suit.comp[0].image_size != u.st.slot_size[slot] ||
        memcmp(suit.comp[0].image_digest, u.st.slot_digest[slot], BW_SHA256_LEN) != 0)
        goto out;
    rc = BW_OK;
out:
    bw_ec_key_clear(&key);
    return rc;
}

/* The bank is recorded empty (never booted again) and saved. */
static void forget(uint8_t slot)
{
    bw_err rc;

    record_empty(slot);
    if (u.st.trial == slot)
        u.st.trial = BW_SLOT_NONE;
    if ((rc = dev.store.save(dev.store.ctx, &u.st)))
        fail("saving the boot state", rc);
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
            record_empty((uint8_t)s);
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
#if MPS2_VERIFY_SIGNATURE
    mbedtls_memory_buffer_alloc_init(heap, sizeof(heap));
    if (!rc && (rc = signed_bank(slot)) != BW_OK) {
        mps2_puts(slot == BW_SLOT_A ? "boot: bank A signature: " : "boot: bank B signature: ");
        mps2_puts(bw_errname(rc));
        mps2_puts(": refused\n");
        forget(slot);
        /* the boot rule again, over what is left; that bank is checked too */
        rc = bw_update_boot_verified(&u, buf, sizeof(buf), &slot, &rejected);
        if (!rc && (rc = signed_bank(slot)) != BW_OK)
            forget(slot);
    }
#endif
#if MPS2_VERIFY_SIGNATURE && defined(MBEDTLS_MEMORY_DEBUG)
    {
        size_t peak, blocks;

        mbedtls_memory_buffer_alloc_max_get(&peak, &blocks);
        mps2_puts("boot: heap_peak=");
        mps2_put_u64(peak);
        mps2_puts("\n");
    }
#endif
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
