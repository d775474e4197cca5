/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MPS2 application and its updater. It reads one command from the
 * semihosting file mps2.cmd and acts on the boot state the bootloader
 * left: "confirm" keeps a trial bank, "stay" declines to (a trial that
 * never confirms is then rebooted until the bootloader falls back),
 * "install FILE" (or "install uart": the package arrives on UART0)
 * installs a package into the other bank with the core's
 * install stream (bw_install_begin/feed/finish: the chunk list and every
 * chunk are checked before a byte reaches the flash) and resets into the
 * trial. "serve ..." answers a gateway's agent on UART0 (serve()). The
 * trust anchor is compiled in (trust_key.h, generated); the
 * anti-rollback floor is the flash counter.
 */
#include <string.h>
#include "board.h"
#include "bulwark/bulwark.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "trust_key.h"

#ifndef MPS2_BANK
#error "MPS2_BANK (0 or 1) names the bank this image is linked for"
#endif

static const uint8_t vendor_id[16] = MPS2_VENDOR_ID;
static const uint8_t class_id[16] = MPS2_CLASS_ID;
static const uint8_t trust_pub[BW_P256_PUB_LEN] = MPS2_TRUST_KEY;

static struct mps2_dev dev;
static struct bw_update u;
static struct bw_suit suit;
static struct bw_install ins;
static struct bw_ec_key key;
static uint8_t env[4096];                          /* the envelope, read first */
static uint8_t list[(MPS2_BANK_SIZE / BW_SUIT_CHUNK_MIN) * BW_SHA256_LEN];
/* one chunk: the largest chunk size this updater takes (bulwark sign
 * --chunk-size; 64 KiB by default). A package with larger chunks is
 * refused before a byte is written (BW_E_TOOBIG). */
#ifndef MPS2_CHUNK_MAX
#define MPS2_CHUNK_MAX BW_SUIT_CHUNK_SIZE
#endif
static uint8_t chunk[MPS2_CHUNK_MAX];
static uint8_t io[2048];
static uint8_t heap[6144];                         /* mbedtls bignums during a verify */

static void say(const char *a, const char *b)
{
    mps2_puts(a);
    mps2_puts(b);
    mps2_puts("\n");
}

static void peaks(void)
{
    size_t cur_used, cur_blocks, max_used, max_blocks;

    mbedtls_memory_buffer_alloc_cur_get(&cur_used, &cur_blocks);
    mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
    mps2_puts("app: stack_peak=");
    mps2_put_u64(mps2_stack_peak());
    mps2_puts(" heap_peak=");
    mps2_put_u64(max_used);
    mps2_puts("\n");
}

/* Where package bytes come from: a semihosting file (read to its end, so
 * bytes after the package reach the stream and are refused), or the UART
 * (read exactly what the manifest says follows the envelope). */
struct source {
    int fd;        /* -1: the UART */
    uint64_t left; /* the UART: bytes the sender announced (UINT64_MAX: not said) */
};

/* Reads up to len bytes (the UART: exactly len); *got gets how many. */
static bw_err rd(struct source *src, uint8_t *b, size_t len, size_t *got)
{
    int left;

    if (src->fd < 0) {
        if (len > src->left)
            len = (size_t)src->left;
        *got = mps2_uart_read(b, len);
        if (src->left != UINT64_MAX)
            src->left -= *got;
        return BW_OK;
    }
    left = mps2_sh_read(src->fd, b, len);
    if (left < 0 || (size_t)left > len)
        return BW_E_IO;
    *got = len - (size_t)left;
    return BW_OK;
}

/* Method: the envelope is one CBOR item at the start of the package, read
 * 64 bytes at a time until it is complete; it is parsed and authenticated
 * in env[], then everything after it (chunk list, payload, including what
 * the last read took past the envelope) goes through bw_install_feed in
 * whatever pieces arrive, and bw_install_finish compares the whole image
 * before the trial is set. */
static bw_err install(struct source *src, uint64_t floor)
{
    struct bw_suit_expect e = {vendor_id, class_id, floor};
    uint64_t rest = 0;
    size_t n = 0, env_len = 0, got, want;
    bw_err rc;

    do {
        rc = BW_E_TOOBIG;
        if (n == sizeof(env))
            goto out;
        want = sizeof(env) - n < 64 ? sizeof(env) - n : 64;
        if ((rc = rd(src, env + n, want, &got)))
            goto out;
        rc = BW_E_TRUNCATED;
        if (got == 0)
            goto out;
        n += got;
        rc = bw_cbor_wellformed(env, n, 1, &env_len);
    } while (rc == BW_E_TRUNCATED);
    if (rc)
        goto out;
    bw_ec_key_init(&key);
    if ((rc = bw_ec_set_pub(&key, trust_pub, sizeof(trust_pub))))
        goto out;
    if ((rc = bw_suit_parse(env, env_len, &key, &suit)))
        goto out;
    /* an A/B package: the image linked for the bank this install writes */
    if (suit.try_each || suit.slot_cond) {
        uint8_t bank;

        if ((rc = bw_update_target(&u, &bank)) || (rc = bw_suit_select(&suit, bank)))
            goto out;
    }
    if ((rc = bw_install_begin(&ins, &u, &suit, &e, list, sizeof(list), chunk, sizeof(chunk))))
        goto out;
    /* the envelope beside the bank (the bank is recorded empty until the
     * install finishes), for a bootloader that checks signatures at boot */
    if ((rc = mps2_env_store(&dev, u.target, env, env_len))) {
        bw_install_abort(&ins);
        goto out;
    }
    if (suit.comp[0].has_chunks) /* with the other bank's section of an A/B package */
        rest = ins.skip + ins.list_len + suit.comp[0].image_size + ins.tail;
    rest = rest > n - env_len ? rest - (n - env_len) : 0;
    rc = bw_install_feed(&ins, env + env_len, n - env_len);
    while (!rc) {
        want = sizeof(io);
        if (src->fd < 0) { /* the UART: no end of file, the manifest says */
            if (rest == 0)
                break;
            want = rest < want ? (size_t)rest : want;
        }
        if ((rc = rd(src, io, want, &got)) || got == 0)
            break;
        rest -= got < rest ? got : rest;
        rc = bw_install_feed(&ins, io, got);
    }
    if (!rc)
        rc = bw_install_finish(&ins);
    else
        bw_install_abort(&ins);
out:
    bw_ec_key_clear(&key);
    return rc;
}

static bw_err install_file(const char *path, uint64_t floor)
{
    struct source src = {mps2_sh_open(path, 1), 0};
    bw_err rc;

    if (src.fd < 0)
        return BW_E_IO;
    rc = install(&src, floor);
    (void)mps2_sh_close(src.fd);
    return rc;
}

/* The command: one line of mps2.cmd, "stay" when the file is absent. */
static void command(char *cmd, size_t cap)
{
    size_t n = 0, i;
    int fd = mps2_sh_open("mps2.cmd", 1);

    strcpy(cmd, "stay");
    if (fd < 0)
        return;
    n = (size_t)mps2_sh_read(fd, cmd, cap - 1);
    n = n <= cap - 1 ? cap - 1 - n : 0;
    (void)mps2_sh_close(fd);
    cmd[n] = 0;
    for (i = 0; i < n; i++)
        if (cmd[i] == '\n' || cmd[i] == '\r')
            cmd[i] = 0;
}

/* A line from UART0 without its end ("\r" dropped); the tail of a line
 * longer than cap - 1 is dropped. */
static void uart_line(char *line, size_t cap)
{
    size_t n = 0;
    uint8_t c;

    for (;;) {
        (void)mps2_uart_read(&c, 1);
        if (c == '\n')
            break;
        if (c != '\r' && n < cap - 1)
            line[n++] = (char)c;
    }
    line[n] = 0;
}

/* The largest package a bank can take: envelope, chunk list at the
 * smallest chunk size, and (an A/B package) both images. */
#define INSTALL_MAX (sizeof(env) + sizeof(list) + MPS2_BANK_SIZE * 2u)

/*
 * Serves a gateway's agent on UART0 (the secondary protocol, docs/mcu.md
 * "Through a gateway"): lines in, lines out, one request at a time.
 *   "status"     -> "bw state booted=.. active=.. trial=.. ... confirmed=.."
 *   "install N"  -> N package bytes follow; "bw install BW_OK" (then a
 *                   reset into the trial) or "bw install BW_E_..." (the
 *                   rest of the N bytes is read and dropped first)
 *   other        -> "bw error unknown request"
 * The agent is not trusted: a package it sends goes through the same
 * install stream, trust anchor and counter floor as any other. Whether a
 * trial is kept is the application's own decision: here mps2.cmd stands
 * for its self-check, read at boot and before each answer ("serve
 * confirm": confirm; "serve hold": not yet; "serve crash": the image is
 * broken and resets).
 */
static void self_check(void)
{
    char cmd[128];
    bw_err rc;

    if (u.st.trial == BW_SLOT_NONE || u.st.trial != u.st.booted)
        return;
    command(cmd, sizeof(cmd));
    if (strcmp(cmd, "serve confirm") == 0) {
        rc = bw_update_confirm(&u);
        say("confirm: ", bw_errname(rc));
    } else if (strcmp(cmd, "serve crash") == 0) {
        say("app: ", "trial not confirmed, resetting");
        mps2_flash_close();
        mps2_reset();
    }
}

static void serve(uint64_t counter)
{
    char line[64];
    bw_err rc;

    mps2_uart_init();
    for (;;) {
        self_check(); /* at boot, and before each answer */
        uart_line(line, sizeof(line));
        self_check();
        if (strcmp(line, "status") == 0) {
            mps2_state_line(mps2_uart_puts, "bw state", &u.st, counter);
        } else if (strncmp(line, "install ", 8) == 0 && mps2_install_len(line + 8, INSTALL_MAX)) {
            struct source uart = {-1, mps2_install_len(line + 8, INSTALL_MAX)};

            rc = install(&uart, counter);
            while (uart.left) { /* what the install did not take */
                size_t got;

                (void)rd(&uart, io, sizeof(io), &got);
            }
            say("install: ", bw_errname(rc));
            mps2_uart_puts("bw install ");
            mps2_uart_puts(bw_errname(rc));
            mps2_uart_puts("\n");
            if (rc == BW_OK) {
                mps2_flash_close();
                mps2_reset(); /* into the trial */
            }
        } else {
            mps2_uart_puts("bw error unknown request\n");
        }
    }
}

int main(void)
{
    char cmd[128];
    uint64_t counter = 0;
    bw_err rc;

    mbedtls_memory_buffer_alloc_init(heap, sizeof(heap));
    if ((rc = mps2_flash_open(&dev, 0)) || (rc = mps2_counter_read(&dev.counter, &counter)) ||
        (rc = bw_update_open(&u, &dev.bank[0].flash, &dev.bank[1].flash, &dev.store))) {
        say("app: cannot open the device: ", bw_errname(rc));
        mps2_exit(0);
    }
    mps2_puts(MPS2_BANK ? "app: running image linked for bank B;" : "app: running image linked for bank A;");
    mps2_print_state("", &u.st, counter);
    if (u.st.booted != MPS2_BANK) {
        say("app: ", "booted from the wrong bank");
        mps2_exit(0);
    }
    command(cmd, sizeof(cmd));
    if (strncmp(cmd, "serve", 5) == 0)
        serve(counter);
    if (strcmp(cmd, "confirm") == 0) {
        rc = bw_update_confirm(&u);
        say("confirm: ", bw_errname(rc));
    } else if (strncmp(cmd, "install ", 8) == 0) {
        if (strcmp(cmd + 8, "uart") == 0) {
            struct source uart = {-1, UINT64_MAX};

            mps2_uart_init();
            rc = install(&uart, counter);
        } else {
            rc = install_file(cmd + 8, counter);
        }
        say("install: ", bw_errname(rc));
        peaks();
        if (rc == BW_OK) {
            mps2_flash_close();
            mps2_reset(); /* into the trial */
        }
        mps2_exit(0);
    } else if (u.st.trial == u.st.booted) {
        say("app: ", "trial not confirmed, resetting");
        mps2_flash_close();
        mps2_reset();
    }
    peaks();
    mps2_flash_close();
    mps2_exit(1);
}
