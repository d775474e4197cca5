/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated flash (tests/sim/simflash.h). */
#include <stdlib.h>
#include <string.h>
#include "simflash.h"

/* Counts one operation; 1 if the power goes during it. */
static int tick(struct sim_power *pw)
{
    if (pw->dead)
        return -1;
    pw->ops++;
    if (pw->cut_at && pw->ops == pw->cut_at) {
        pw->dead = 1;
        return 1;
    }
    return 0;
}

static bw_err sim_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct simflash *s = ctx;

    if (s->pw->dead)
        return BW_E_IO;
    if (off > s->size || len > s->size - off)
        return BW_E_INVAL;
    memcpy(buf, s->current + off, len);
    return BW_OK;
}

static bw_err sim_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct simflash *s = ctx;
    int t;

    if (off > s->size || len > s->size - off)
        return BW_E_INVAL;
    t = tick(s->pw);
    if (t < 0)
        return BW_E_IO;
    if (t > 0) {
        /* torn: the first half of the write reaches the medium */
        if (s->pw->mode == SIM_WRITE_THROUGH)
            memcpy(s->durable + off, buf, len / 2);
        return BW_E_IO;
    }
    memcpy(s->current + off, buf, len);
    if (s->pw->mode == SIM_WRITE_THROUGH)
        memcpy(s->durable + off, buf, len);
    return BW_OK;
}

static bw_err sim_sync(void *ctx)
{
    struct simflash *s = ctx;
    int t = tick(s->pw);

    if (t != 0)
        return BW_E_IO; /* a cut during sync: nothing more is durable */
    memcpy(s->durable, s->current, s->size);
    return BW_OK;
}

void sim_init(struct simflash *s, struct sim_power *pw, uint64_t size, uint32_t align)
{
    memset(s, 0, sizeof(*s));
    s->pw = pw;
    s->size = size;
    s->durable = calloc(1, size);
    s->current = calloc(1, size);
    s->f.ctx = s;
    s->f.size = size;
    s->f.write_align = align;
    s->f.read = sim_read;
    s->f.write = sim_write;
    s->f.sync = sim_sync;
}

void sim_reboot(struct simflash *s)
{
    memcpy(s->current, s->durable, s->size);
}

void sim_free(struct simflash *s)
{
    free(s->durable);
    free(s->current);
}
