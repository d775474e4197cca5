/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NOR flash rules over a memory array (port/mps2/board.h): erase by sector,
 * program only erased bytes at program-unit alignment, write-through to the
 * backing store; and a flash area as a struct bw_flash on top of it.
 * Portable C: the host factory tool links it too.
 */
#include <string.h>
#include "board.h"

bw_err mps2_nor_erase(struct mps2_nor *n, uint32_t off)
{
    bw_err rc = BW_E_INVAL;

    if (off % MPS2_SECTOR || off >= n->size)
        goto out;
    memset(n->mem + off, 0xff, MPS2_SECTOR);
    rc = n->persist ? n->persist(n->persist_ctx, off, n->mem + off, MPS2_SECTOR) : BW_OK;
    n->erases++;
out:
    return rc;
}

bw_err mps2_nor_program(struct mps2_nor *n, uint32_t off, const void *buf, size_t len)
{
    size_t i;
    bw_err rc = BW_E_INVAL;

    if (off % MPS2_PROGRAM_UNIT || len % MPS2_PROGRAM_UNIT || off > n->size ||
        len > n->size - off)
        goto out;
    rc = BW_E_IO; /* programming over unerased bytes: a NOR controller faults */
    for (i = 0; i < len; i++)
        if (n->mem[off + i] != 0xff)
            goto out;
    memcpy(n->mem + off, buf, len);
    rc = n->persist ? n->persist(n->persist_ctx, off, buf, len) : BW_OK;
    n->programs++;
out:
    return rc;
}

static bw_err area_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct mps2_area *a = ctx;

    if (off > a->flash.size || len > a->flash.size - off)
        return BW_E_INVAL;
    memcpy(buf, a->nor->mem + a->off + off, len);
    return BW_OK;
}

static bw_err area_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct mps2_area *a = ctx;
    uint8_t last[MPS2_PROGRAM_UNIT];
    uint32_t o, s, whole;
    bw_err rc = BW_E_INVAL;

    /* off is below the area's (32-bit) size before it is narrowed: no
     * 64-bit '%' (libgcc's divide) in the bootloader */
    if (off > a->flash.size || len > a->flash.size - off || (uint32_t)off % a->flash.write_align)
        goto out;
    o = a->off + (uint32_t)off;
    /* erase every sector whose start this write reaches */
    for (s = (o + MPS2_SECTOR - 1) / MPS2_SECTOR * MPS2_SECTOR; s < o + len; s += MPS2_SECTOR) {
        rc = mps2_nor_erase(a->nor, s);
        if (rc)
            goto out;
    }
    whole = (uint32_t)(len / MPS2_PROGRAM_UNIT * MPS2_PROGRAM_UNIT);
    rc = whole ? mps2_nor_program(a->nor, o, buf, whole) : BW_OK;
    if (rc || whole == len)
        goto out;
    /* the final partial unit, padded as an erased tail */
    memset(last, 0xff, sizeof(last));
    memcpy(last, (const uint8_t *)buf + whole, len - whole);
    rc = mps2_nor_program(a->nor, o + whole, last, sizeof(last));
out:
    return rc;
}

static bw_err area_sync(void *ctx)
{
    (void)ctx; /* the backing store is written through */
    return BW_OK;
}

void mps2_area_init(struct mps2_area *a, struct mps2_nor *n, uint32_t off, uint32_t size,
                    uint32_t align)
{
    a->nor = n;
    a->off = off;
    a->flash.ctx = a;
    a->flash.size = size;
    a->flash.write_align = align;
    a->flash.read = area_read;
    a->flash.write = area_write;
    a->flash.sync = area_sync;
}

void mps2_dev_init(struct mps2_dev *d, uint8_t *mem,
                   bw_err (*persist)(void *ctx, uint32_t off, const void *buf, size_t len),
                   void *persist_ctx)
{
    memset(d, 0, sizeof(*d));
    d->nor.mem = mem;
    d->nor.size = MPS2_FLASH_SIZE;
    d->nor.persist = persist;
    d->nor.persist_ctx = persist_ctx;
    /* one record per sector: a save erases and programs only its own copy */
    mps2_area_init(&d->state, &d->nor, MPS2_STATE_OFF, MPS2_STATE_SIZE, MPS2_SECTOR);
    mps2_area_init(&d->bank[0], &d->nor, MPS2_BANK_A_OFF, MPS2_BANK_SIZE, MPS2_PROGRAM_UNIT);
    mps2_area_init(&d->bank[1], &d->nor, MPS2_BANK_B_OFF, MPS2_BANK_SIZE, MPS2_PROGRAM_UNIT);
    mps2_area_init(&d->env[0], &d->nor, MPS2_ENV_OFF, MPS2_SECTOR, MPS2_PROGRAM_UNIT);
    mps2_area_init(&d->env[1], &d->nor, MPS2_ENV_OFF + MPS2_SECTOR, MPS2_SECTOR, MPS2_PROGRAM_UNIT);
    bw_bootstore_flash_init(&d->store, &d->store_ctx, &d->state.flash);
    d->counter.nor = &d->nor;
    d->counter.off = MPS2_COUNTER_OFF;
}

/* Method: two writes into the bank's envelope sector: the length at 0
 * (the first write erases the sector, mps2_area_init's rule; the area pads
 * it to a program unit with 0xff), then the envelope at the next unit,
 * onto erased bytes. Nothing is buffered. */
bw_err mps2_env_store(struct mps2_dev *d, uint8_t bank, const uint8_t *env, size_t len)
{
    const struct bw_flash *f;
    uint8_t n[4];
    bw_err rc;

    if (bank > 1 || len == 0 || len > MPS2_SECTOR - MPS2_PROGRAM_UNIT)
        return BW_E_TOOBIG;
    f = &d->env[bank].flash;
    n[0] = (uint8_t)len;
    n[1] = (uint8_t)(len >> 8);
    n[2] = n[3] = 0;
    if ((rc = f->write(f->ctx, 0, n, sizeof(n))))
        return rc;
    return f->write(f->ctx, MPS2_PROGRAM_UNIT, env, len);
}

bw_err mps2_env_load(const struct mps2_dev *d, uint8_t bank, const uint8_t **env, size_t *len)
{
    const uint8_t *p;
    size_t n;

    if (bank > 1)
        return BW_E_NOTFOUND;
    p = d->nor.mem + d->env[bank].off;
    n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    if (n == 0 || n > MPS2_SECTOR - MPS2_PROGRAM_UNIT)
        return BW_E_NOTFOUND;
    *env = p + MPS2_PROGRAM_UNIT;
    *len = n;
    return BW_OK;
}
