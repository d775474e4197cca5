/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MPS2 AN386 board (Cortex-M4, QEMU's mps2-an386): memory map, the NOR
 * flash emulation, the anti-rollback counter and the semihosting calls the
 * bootloader and the application share. nor.c, counter.c and layout.c are
 * portable C (the host factory tool builds them too); semihost.c,
 * startup.c, boot.c and app.c are the target's. Not a HAL: only what a
 * bootloader and an updater need.
 */
#ifndef BW_MPS2_BOARD_H
#define BW_MPS2_BOARD_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/update.h"

/*
 * Memory map (SSRAM1 at 0x0 is the "flash"; QEMU's memory is plain RAM,
 * so NOR rules are enforced by nor.c). Offsets below are from FLASH_BASE,
 * the start of the persistent region mirrored to the host file.
 *   0x00000000  bootloader (64 KiB, loaded by QEMU from boot.elf)
 *   0x00010000  boot state: two records, one per 4 KiB sector
 *   0x00012000  anti-rollback counter: two 4 KiB sectors
 *   0x00014000  the envelope each bank was installed from: one 4 KiB
 *               sector per bank (read by a bootloader built with
 *               MPS2_VERIFY_SIGNATURE=1)
 *   0x00020000  bank A (256 KiB)
 *   0x00060000  bank B (256 KiB)
 *   0x20000000  SRAM: the running program's data and stack
 */
#define MPS2_FLASH_BASE 0x00010000u
#define MPS2_FLASH_SIZE 0x00090000u
#define MPS2_SECTOR 4096u          /* erase unit */
#define MPS2_PROGRAM_UNIT 16u      /* program unit: offsets and lengths align to it */
#define MPS2_STATE_OFF 0x00000u
#define MPS2_STATE_SIZE (2 * MPS2_SECTOR)
#define MPS2_COUNTER_OFF 0x02000u
#define MPS2_COUNTER_SIZE (2 * MPS2_SECTOR)
#define MPS2_ENV_OFF 0x04000u       /* each bank's signed envelope: one sector per bank */
#define MPS2_BANK_A_OFF 0x10000u
#define MPS2_BANK_B_OFF 0x50000u
#define MPS2_BANK_SIZE 0x40000u
#define MPS2_FLASH_FILE "mps2-flash.img"
/* The identifiers packages for this board assert (bulwark sign --vendor-id
 * 6b8a1c3e-0d7f-4e6a-9a51-0b3f2c7d8e90 --class-id
 * 3f0e9a2b-5c61-4d7e-8f03-2a1b4c5d6e7f). */
#define MPS2_VENDOR_ID {0x6b, 0x8a, 0x1c, 0x3e, 0x0d, 0x7f, 0x4e, 0x6a, \
                        0x9a, 0x51, 0x0b, 0x3f, 0x2c, 0x7d, 0x8e, 0x90}
#define MPS2_CLASS_ID {0x3f, 0x0e, 0x9a, 0x2b, 0x5c, 0x61, 0x4d, 0x7e, \
                       0x8f, 0x03, 0x2a, 0x1b, 0x4c, 0x5d, 0x6e, 0x7f}

/*
 * A NOR flash: a memory-mapped array plus a write-through backing store
 * (the host file, through semihosting on the target, stdio on the host).
 * erase sets a sector to 0xff; program writes only into erased bytes at
 * program-unit-aligned offsets and lengths, and refuses anything else with
 * BW_E_IO, as a NOR controller would fault. Counts operations for tests.
 */
struct mps2_nor {
    uint8_t *mem;
    uint32_t size;
    bw_err (*persist)(void *ctx, uint32_t off, const void *buf, size_t len);
    void *persist_ctx;
    uint32_t erases, programs;
};
BW_NODISCARD bw_err mps2_nor_erase(struct mps2_nor *n, uint32_t off);
BW_NODISCARD bw_err mps2_nor_program(struct mps2_nor *n, uint32_t off, const void *buf,
                                     size_t len);

/*
 * A region of a NOR flash as a struct bw_flash (a bank, the boot-state
 * area). Method: bw_flash has no erase operation, so a write that starts at
 * or crosses the start of a sector erases that sector first; a write that
 * starts inside a sector must land on bytes still erased. Installs write
 * chunks in order from offset 0 and the boot-state store writes a record
 * at the start of its sector, so every write meets erased flash and
 * nothing is ever programmed twice. Offsets are multiples of align (at
 * least the program unit); a final write that is not a whole unit is
 * padded with 0xff.
 */
struct mps2_area {
    struct mps2_nor *nor;
    uint32_t off;
    struct bw_flash flash;
};
void mps2_area_init(struct mps2_area *a, struct mps2_nor *n, uint32_t off, uint32_t size,
                    uint32_t align);

/*
 * The anti-rollback counter: a value that only goes up, kept apart from the
 * boot state (which a power cut or an attacker can reset to "never
 * saved"). Records { magic, value, crc } are appended into erased slots of
 * one sector; when it is full the next sector is erased, gets the value,
 * and only then is the full one erased, so every power cut leaves the
 * highest value readable. read: the highest valid record, 0 when none.
 * advance: no-op when v is not above it.
 */
struct mps2_counter {
    struct mps2_nor *nor;
    uint32_t off; /* two sectors */
};
BW_NODISCARD bw_err mps2_counter_read(const struct mps2_counter *c, uint64_t *v);
BW_NODISCARD bw_err mps2_counter_advance(struct mps2_counter *c, uint64_t v);

/* Everything the bootloader and the updater open over one NOR flash. */
struct mps2_dev {
    struct mps2_nor nor;
    struct mps2_area state, bank[2], env[2];
    struct bw_bootstore_flash store_ctx;
    struct bw_bootstore store;
    struct mps2_counter counter;
};
/* The envelope bank was installed from, kept beside it: a 4-byte
 * little-endian length, then (at the next program unit) the envelope, at
 * most MPS2_SECTOR - MPS2_PROGRAM_UNIT bytes. store: BW_E_TOOBIG, the flash's errors. load: BW_E_NOTFOUND
 * when the sector holds no envelope (erased or a bad length); *env points
 * into the memory-mapped flash. */
BW_NODISCARD bw_err mps2_env_store(struct mps2_dev *d, uint8_t bank, const uint8_t *env,
                                   size_t len);
BW_NODISCARD bw_err mps2_env_load(const struct mps2_dev *d, uint8_t bank, const uint8_t **env,
                                  size_t *len);
/* mem: the persistent region (MPS2_FLASH_SIZE bytes, loaded already). */
void mps2_dev_init(struct mps2_dev *d, uint8_t *mem,
                   bw_err (*persist)(void *ctx, uint32_t off, const void *buf, size_t len),
                   void *persist_ctx);

/* The N of the agent's "install N" request (proto.c): decimal digits, no
 * leading zero, 1 to max. 0 for anything else. */
uint64_t mps2_install_len(const char *s, uint64_t max);

/* ---- target only: semihosting (ARM semihosting v2 through BKPT 0xab) -- */
int mps2_sh_open(const char *path, int mode); /* mode: 1 "rb", 3 "r+b", 7 "w+b"; -1 on error */
int mps2_sh_close(int fd);
/* read: bytes NOT read (0 = all); write: bytes not written (0 = all) */
int mps2_sh_read(int fd, void *buf, size_t len);
int mps2_sh_write(int fd, const void *buf, size_t len);
int mps2_sh_seek(int fd, uint32_t pos);
long mps2_sh_flen(int fd);
void mps2_puts(const char *s);
/* UART0, polled (uart.c): read blocks until len bytes arrived. */
void mps2_uart_init(void);
size_t mps2_uart_read(uint8_t *buf, size_t len);
/* Sends s on UART0 (blocks while the transmit buffer is full). */
void mps2_uart_puts(const char *s);
void mps2_put_u64(uint64_t v);
void mps2_exit(int ok) __attribute__((noreturn));
void mps2_reset(void) __attribute__((noreturn));

/* Opens the flash file for write-through. load (the bootloader, at power
 * on): first fills the persistent region from it, 0xff where the file is
 * short or absent, as a flash part keeps its content across power cycles.
 * The application finds the region as the bootloader left it. */
BW_NODISCARD bw_err mps2_flash_open(struct mps2_dev *d, int load);
void mps2_flash_close(void);
/* Prints "name=value" pairs of the boot state on one line after prefix
 * (booted active trial left seqA seqB floor counter confirmed), through
 * put (mps2_state_line) or on the semihosting console (mps2_print_state). */
void mps2_state_line(void (*put)(const char *), const char *prefix, const struct bw_bootstate *st,
                     uint64_t counter);
void mps2_print_state(const char *prefix, const struct bw_bootstate *st, uint64_t counter);
/* Bytes of the stack never touched since reset (startup.c paints it). */
uint32_t mps2_stack_peak(void);

#endif
