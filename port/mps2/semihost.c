/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Target I/O for the MPS2 port: ARM semihosting (BKPT 0xab, QEMU's
 * -semihosting-config enable=on,target=native) for the console, the package
 * file and the flash file that makes the emulated NOR persist across
 * QEMU runs; system reset through the SCB. A board with a real flash
 * controller and UART replaces this file, not the core.
 */
#include <string.h>
#include "board.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0a
#define SYS_FLEN 0x0c
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u

static int sh(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;

    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int mps2_sh_open(const char *path, int mode)
{
    uint32_t a[3] = {(uint32_t)path, (uint32_t)mode, (uint32_t)strlen(path)};

    return sh(SYS_OPEN, a);
}

int mps2_sh_close(int fd)
{
    uint32_t a[1] = {(uint32_t)fd};

    return sh(SYS_CLOSE, a);
}

int mps2_sh_read(int fd, void *buf, size_t len)
{
    uint32_t a[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};

    return sh(SYS_READ, a);
}

int mps2_sh_write(int fd, const void *buf, size_t len)
{
    uint32_t a[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};

    return sh(SYS_WRITE, a);
}

int mps2_sh_seek(int fd, uint32_t pos)
{
    uint32_t a[2] = {(uint32_t)fd, pos};

    return sh(SYS_SEEK, a);
}

long mps2_sh_flen(int fd)
{
    uint32_t a[1] = {(uint32_t)fd};

    return sh(SYS_FLEN, a);
}

void mps2_puts(const char *s)
{
    sh(SYS_WRITE0, s);
}

static void put_u64(void (*put)(const char *), uint64_t v);

void mps2_put_u64(uint64_t v)
{
    put_u64(mps2_puts, v);
}

void mps2_exit(int ok)
{
    sh(SYS_EXIT, (const void *)(ok ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR));
    for (;;)
        ;
}

void mps2_reset(void)
{
    volatile uint32_t *aircr = (volatile uint32_t *)0xe000ed0cu;

    __asm__ volatile("dsb" ::: "memory");
    *aircr = 0x05fa0004u; /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    for (;;)
        ;
}

/* ---- the flash file ------------------------------------------------------ */

static int flash_fd = -1;

static bw_err persist(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    if (mps2_sh_seek(flash_fd, off) != 0 || mps2_sh_write(flash_fd, buf, len) != 0)
        return BW_E_IO;
    return BW_OK;
}

bw_err mps2_flash_open(struct mps2_dev *d, int load)
{
    uint8_t *mem = (uint8_t *)MPS2_FLASH_BASE;
    long n;

    flash_fd = mps2_sh_open(MPS2_FLASH_FILE, 3); /* r+b */
    if (flash_fd < 0 && load)
        flash_fd = mps2_sh_open(MPS2_FLASH_FILE, 7); /* w+b: a new, erased part */
    if (flash_fd < 0)
        return BW_E_IO;
    if (load) {
        n = mps2_sh_flen(flash_fd);
        if (n < 0)
            return BW_E_IO;
        if (n > (long)MPS2_FLASH_SIZE)
            n = MPS2_FLASH_SIZE;
        memset(mem + n, 0xff, MPS2_FLASH_SIZE - (size_t)n);
        if (n > 0 && (mps2_sh_seek(flash_fd, 0) != 0 || mps2_sh_read(flash_fd, mem, (size_t)n) != 0))
            return BW_E_IO;
        /* a new or short file: its missing tail is erased flash, on disk too */
        if (n < (long)MPS2_FLASH_SIZE &&
            (mps2_sh_seek(flash_fd, (uint32_t)n) != 0 ||
             mps2_sh_write(flash_fd, mem + n, MPS2_FLASH_SIZE - (size_t)n) != 0))
            return BW_E_IO;
    }
    mps2_dev_init(d, mem, persist, NULL);
    return BW_OK;
}

void mps2_flash_close(void)
{
    if (flash_fd >= 0)
        (void)mps2_sh_close(flash_fd);
    flash_fd = -1;
}

/* v / 10, the remainder in *r, by shift and subtract: a 64-bit '/' or
 * '%' would link libgcc's 64-bit divide (0.7 KB) into the bootloader. */
static uint64_t div10(uint64_t v, unsigned *r)
{
    uint64_t q = 0;
    unsigned rem = 0;
    int i;

    for (i = 63; i >= 0; i--) {
        rem = (rem << 1) | (unsigned)((v >> i) & 1u);
        q <<= 1;
        if (rem >= 10) {
            rem -= 10;
            q |= 1;
        }
    }
    *r = rem;
    return q;
}

static void put_u64(void (*put)(const char *), uint64_t v)
{
    char b[21];
    int i = 20;
    unsigned d;

    b[i] = 0;
    do {
        v = div10(v, &d);
        b[--i] = (char)('0' + d);
    } while (v);
    put(b + i);
}

static void put_slot(void (*put)(const char *), uint8_t s)
{
    put(s == BW_SLOT_A ? "A" : s == BW_SLOT_B ? "B" : "-");
}

static void put_seq(void (*put)(const char *), uint64_t v)
{
    if (v == BW_SEQ_EMPTY)
        put("-");
    else
        put_u64(put, v);
}

void mps2_state_line(void (*put)(const char *), const char *prefix, const struct bw_bootstate *st,
                     uint64_t counter)
{
    put(prefix);
    put(" booted=");
    put_slot(put, st->booted);
    put(" active=");
    put_slot(put, st->active);
    put(" trial=");
    put_slot(put, st->trial);
    put(" left=");
    put_u64(put, st->trial_boots_left);
    put(" seqA=");
    put_seq(put, st->slot_sequence[0]);
    put(" seqB=");
    put_seq(put, st->slot_sequence[1]);
    put(" floor=");
    put_u64(put, st->highest_sequence);
    put(" counter=");
    put_u64(put, counter);
    put(st->confirmed ? " confirmed=1\n" : " confirmed=0\n");
}

void mps2_print_state(const char *prefix, const struct bw_bootstate *st, uint64_t counter)
{
    mps2_state_line(mps2_puts, prefix, st, counter);
}
