/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monotonic anti-rollback counter in two NOR sectors (board.h). A
 * record is 16 bytes, one program unit: "BWCT", the value (64-bit little
 * endian), CRC-32 of the first 12 bytes. A torn record fails its CRC and
 * is skipped, never reused: its slot is not erased.
 */
#include <string.h>
#include "board.h"

#define REC 16u
#define PER_SECTOR (MPS2_SECTOR / REC)
static const uint8_t magic[4] = {'B', 'W', 'C', 'T'};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int erased(const uint8_t *p)
{
    unsigned i;

    for (i = 0; i < REC; i++)
        if (p[i] != 0xff)
            return 0;
    return 1;
}

/* 1 and *v if p holds a valid record */
static int record(const uint8_t *p, uint64_t *v)
{
    if (memcmp(p, magic, 4) != 0 || get32(p + 12) != bw_crc32(0, p, 12))
        return 0;
    *v = (uint64_t)get32(p + 4) | (uint64_t)get32(p + 8) << 32;
    return 1;
}

/* Highest value in sector s (0 or 1), whether it has one, first free slot. */
static void scan(const struct mps2_counter *c, int s, uint64_t *max, int *any, uint32_t *free_slot)
{
    const uint8_t *base = c->nor->mem + c->off + (uint32_t)s * MPS2_SECTOR;
    uint32_t i;
    uint64_t v;

    *max = 0;
    *any = 0;
    for (i = 0; i < PER_SECTOR; i++) {
        if (record(base + i * REC, &v)) {
            *any = 1;
            if (v > *max)
                *max = v;
        }
    }
    /* the first slot of the erased tail, PER_SECTOR if none: a torn or
     * damaged slot before it is never written again */
    for (i = PER_SECTOR; i > 0 && erased(base + (i - 1) * REC); i--)
        ;
    *free_slot = i;
}

bw_err mps2_counter_read(const struct mps2_counter *c, uint64_t *v)
{
    uint64_t m0, m1;
    uint32_t f;
    int a0, a1;

    scan(c, 0, &m0, &a0, &f);
    scan(c, 1, &m1, &a1, &f);
    *v = m0 > m1 ? m0 : m1;
    return BW_OK;
}

/* Method: append into the sector holding the highest value; when it has no
 * erased slot left, erase the other sector, write the value there, then
 * erase the full one. Between any two steps one sector holds a record of
 * at least the old value, so a power cut never lowers the counter. */
bw_err mps2_counter_advance(struct mps2_counter *c, uint64_t v)
{
    uint8_t rec[REC];
    uint64_t m[2], cur;
    uint32_t f[2];
    int any[2], s;
    bw_err rc;

    scan(c, 0, &m[0], &any[0], &f[0]);
    scan(c, 1, &m[1], &any[1], &f[1]);
    cur = m[0] > m[1] ? m[0] : m[1];
    if (v <= cur)
        return BW_OK;
    s = (any[1] && m[1] >= m[0]) ? 1 : 0;
    memcpy(rec, magic, 4);
    put32(rec + 4, (uint32_t)v);
    put32(rec + 8, (uint32_t)(v >> 32));
    put32(rec + 12, bw_crc32(0, rec, 12));
    if (f[s] < PER_SECTOR)
        return mps2_nor_program(c->nor, c->off + (uint32_t)s * MPS2_SECTOR + f[s] * REC, rec, REC);
    rc = mps2_nor_erase(c->nor, c->off + (uint32_t)(1 - s) * MPS2_SECTOR);
    if (!rc)
        rc = mps2_nor_program(c->nor, c->off + (uint32_t)(1 - s) * MPS2_SECTOR, rec, REC);
    if (!rc)
        rc = mps2_nor_erase(c->nor, c->off + (uint32_t)s * MPS2_SECTOR);
    return rc;
}
