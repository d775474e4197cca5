/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-cut simulation of the secure store. Each scenario (a first write,
 * overwrite, insert, delete, a value that grows, a write that repairs a
 * damaged copy, wipes from several states) is counted once, then rerun
 * with the power cut at every flash operation N, with a volatile write
 * cache and with write-through media whose cut write is torn after 0, 1,
 * 8 or 100 bytes, half of it, or all but its last byte. After each cut the
 * store must open, and its whole content must be exactly the state before
 * or the state after the operation (never a mix, never garbage); the
 * operation run again must then succeed and give the new state.
 */
#include "bulwark/bulwark.h"
#include "bulwark/store.h"
#include "../unit/t.h"
#include "simflash.h"

#define AREA 4096u

static uint8_t key[32];
static uint8_t work[AREA];
static uint8_t big[1000];
static unsigned long cuts_covered;

/* The media models: a volatile cache (nothing unsynced survives), then
 * write-through media where the cut write lands this many bytes (clamped
 * to the write; TEAR_HALF and TEAR_ALL_BUT_ONE depend on its length). */
#define TEAR_HALF (-1)
#define TEAR_ALL_BUT_ONE (-2)
static const struct {
    enum sim_mode mode;
    long tear;
    const char *name;
} models[] = {
    {SIM_VOLATILE, 0, "volatile"},
    {SIM_WRITE_THROUGH, 0, "write lost"},
    {SIM_WRITE_THROUGH, 1, "torn after 1 byte"},
    {SIM_WRITE_THROUGH, 8, "torn after 8 bytes"},
    {SIM_WRITE_THROUGH, 100, "torn after 100 bytes"},
    {SIM_WRITE_THROUGH, TEAR_HALF, "torn in half"},
    {SIM_WRITE_THROUGH, TEAR_ALL_BUT_ONE, "torn before its last byte"},
};
#define N_MODELS (sizeof(models) / sizeof(models[0]))

struct machine {
    struct sim_power pw;
    struct simflash sf;
    struct bw_flash f; /* sf.f with the cut write torn as the model says */
    long tear;
    struct bw_store s;
};

/* sf's write, except that the cut write is torn here, tear bytes of it
 * landing on write-through media (simflash itself always lands half). */
static bw_err torn_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct machine *m = ctx;
    size_t land;

    if (m->pw.dead || !m->pw.cut_at || m->pw.ops + 1 != m->pw.cut_at ||
        off > m->sf.size || len > m->sf.size - off)
        return m->sf.f.write(&m->sf, off, buf, len);
    m->pw.ops++;
    m->pw.dead = 1;
    land = m->tear == TEAR_HALF          ? len / 2
           : m->tear == TEAR_ALL_BUT_ONE ? (len ? len - 1 : 0)
           : (size_t)m->tear < len       ? (size_t)m->tear
                                         : len;
    if (m->pw.mode == SIM_WRITE_THROUGH)
        memcpy(m->sf.durable + off, buf, land);
    return BW_E_IO;
}

static bw_err fwd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct machine *m = ctx;

    return m->sf.f.read(&m->sf, off, buf, len);
}

static bw_err fwd_sync(void *ctx)
{
    struct machine *m = ctx;

    return m->sf.f.sync(&m->sf);
}

typedef bw_err (*op_fn)(struct bw_store *s);

static bw_err op_three(struct bw_store *s)
{
    bw_err rc;

    if ((rc = bw_store_set(s, "k1", (const uint8_t *)"v1", 2)) ||
        (rc = bw_store_set(s, "k2", (const uint8_t *)"w1-longer", 9)))
        return rc;
    return bw_store_set(s, "k3", (const uint8_t *)"x", 1);
}

static bw_err op_set_k1(struct bw_store *s) { return bw_store_set(s, "k1", (const uint8_t *)"v2", 2); }
static bw_err op_insert(struct bw_store *s) { return bw_store_set(s, "a0", (const uint8_t *)"new", 3); }
static bw_err op_delete(struct bw_store *s) { return bw_store_delete(s, "k2"); }
static bw_err op_grow(struct bw_store *s) { return bw_store_set(s, "k2", big, sizeof(big)); }
static bw_err op_shrink(struct bw_store *s) { return bw_store_set(s, "k2", (const uint8_t *)"s", 1); }
static bw_err op_wipe(struct bw_store *s) { return bw_store_wipe(s); }

/* Damages copy 1 (as a torn write or tampering would), on the medium. */
static bw_err op_damage(struct bw_store *s)
{
    struct simflash *sf = &((struct machine *)s->flash->ctx)->sf;

    sf->current[AREA / 2 + 70] ^= 0x04;
    sf->durable[AREA / 2 + 70] ^= 0x04;
    return BW_OK;
}

/* A change that reaches copy 0 only: copy 1 keeps the image before it, as
 * after a commit cut between its two copies. */
static bw_err op_stale1(struct bw_store *s)
{
    static uint8_t old[AREA / 2];
    struct simflash *sf = &((struct machine *)s->flash->ctx)->sf;
    bw_err rc;

    memcpy(old, sf->durable + AREA / 2, AREA / 2);
    if ((rc = bw_store_set(s, "k1", (const uint8_t *)"v3", 2)))
        return rc;
    memcpy(sf->current + AREA / 2, old, AREA / 2);
    memcpy(sf->durable + AREA / 2, old, AREA / 2);
    return BW_OK;
}

/* Copy 0 lost (zeroed), copy 1 intact: the store opens from copy 1. */
static bw_err op_lose0(struct bw_store *s)
{
    struct simflash *sf = &((struct machine *)s->flash->ctx)->sf;

    memset(sf->current, 0, AREA / 2);
    memset(sf->durable, 0, AREA / 2);
    return BW_OK;
}

/* The whole content as text: "name=hexvalue;" in name order. */
static void snapshot(struct bw_store *s, char *out, size_t cap)
{
    struct bw_store_iter it;
    char name[BW_STORE_NAME_MAX + 1];
    uint8_t v[sizeof(big)];
    size_t vl, n = 0, i;

    memset(&it, 0, sizeof(it));
    out[0] = 0;
    while (bw_store_next(s, &it, name, &vl) == BW_OK) {
        if (bw_store_get(s, name, v, sizeof(v), &vl) != BW_OK) {
            snprintf(out, cap, "<%s does not decrypt>", name);
            return;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s=", name);
        for (i = 0; i < vl && n + 3 < cap; i++)
            n += (size_t)snprintf(out + n, cap - n, "%02x", v[i]);
        n += (size_t)snprintf(out + n, cap - n, ";");
    }
}

static void machine_new(struct machine *m, size_t model)
{
    memset(m, 0, sizeof(*m));
    m->pw.mode = models[model].mode;
    m->tear = models[model].tear;
    sim_init(&m->sf, &m->pw, AREA, 1);
    m->f = m->sf.f;
    m->f.ctx = m;
    m->f.read = fwd_read;
    m->f.write = torn_write;
    m->f.sync = fwd_sync;
    CHECK_RC(bw_store_open(&m->s, &m->f, key, work, sizeof(work)), BW_OK);
}

static bw_err machine_reboot(struct machine *m)
{
    bw_store_close(&m->s);
    m->pw.dead = 0;
    m->pw.cut_at = 0;
    sim_reboot(&m->sf);
    return bw_store_open(&m->s, &m->f, key, work, sizeof(work));
}

struct scenario {
    const char *name;
    op_fn pre[4];
    op_fn op;
};

static bw_err prepare(struct machine *m, const struct scenario *sc)
{
    bw_err rc;
    int i;

    for (i = 0; sc->pre[i]; i++)
        if ((rc = sc->pre[i](&m->s)))
            return rc;
    /* start from what a reboot sees, as a device would */
    return machine_reboot(m);
}

static void run(const struct scenario *sc)
{
    static char before[8192], after[8192], got[8192];
    unsigned long total, n, base;
    struct machine m;
    size_t model;

    machine_new(&m, 0);
    CHECK_RC(prepare(&m, sc), BW_OK);
    snapshot(&m.s, before, sizeof(before));
    base = m.pw.ops;
    CHECK_RC(sc->op(&m.s), BW_OK);
    total = m.pw.ops - base;
    CHECK_RC(machine_reboot(&m), BW_OK);
    snapshot(&m.s, after, sizeof(after));
    bw_store_close(&m.s);
    sim_free(&m.sf);
    CHECK(total > 0 && strcmp(before, after) != 0);

    for (model = 0; model < N_MODELS; model++) {
        for (n = 1; n <= total; n++) {
            bw_err rc;

            machine_new(&m, model);
            CHECK_RC(prepare(&m, sc), BW_OK);
            m.pw.cut_at = m.pw.ops + n;
            rc = sc->op(&m.s);
            CHECK(rc != BW_OK || n == total);
            rc = machine_reboot(&m);
            if (rc) {
                fprintf(stderr, "%s: cut %lu (%s): store does not open: %s\n", sc->name, n,
                        models[model].name, bw_errname(rc));
                CHECK(0);
            } else {
                snapshot(&m.s, got, sizeof(got));
                if (strcmp(got, before) && strcmp(got, after)) {
                    fprintf(stderr, "%s: cut %lu (%s): neither old nor new:\n  %s\n", sc->name,
                            n, models[model].name, got);
                    CHECK(0);
                }
                /* the operation again (a delete that already landed is
                 * refused as such), and the store is as it should be */
                rc = sc->op(&m.s);
                CHECK(rc == BW_OK || (rc == BW_E_NOTFOUND && !strcmp(got, after)));
                CHECK_RC(machine_reboot(&m), BW_OK);
                snapshot(&m.s, got, sizeof(got));
                CHECK(strcmp(got, after) == 0);
                CHECK(rc || m.s.bad_copies == 0); /* a write repairs a torn copy */
                cuts_covered++;
            }
            bw_store_close(&m.s);
            sim_free(&m.sf);
        }
    }
    printf("%-34s %3lu operations, %4lu cut points (%zu media models)\n", sc->name, total,
           N_MODELS * total, N_MODELS);
}

int main(void)
{
    static const struct scenario scs[] = {
        {"first set on a blank area", {NULL}, op_set_k1},
        {"overwrite", {op_three, NULL}, op_set_k1},
        {"insert", {op_three, NULL}, op_insert},
        {"delete", {op_three, NULL}, op_delete},
        {"value grows to 1000 bytes", {op_three, NULL}, op_grow},
        {"value shrinks again", {op_three, op_grow, NULL}, op_shrink},
        {"set with copy 1 damaged", {op_three, op_damage, NULL}, op_set_k1},
        {"wipe", {op_three, NULL}, op_wipe},
        {"wipe with copy 1 damaged", {op_three, op_damage, NULL}, op_wipe},
        {"wipe with copy 1 a change behind", {op_three, op_stale1, NULL}, op_wipe},
        {"wipe with copy 0 lost", {op_three, op_lose0, NULL}, op_wipe},
        {"first set after a wipe", {op_three, op_wipe, NULL}, op_insert},
    };
    size_t i;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 3 + 7);
    for (i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 11);
    for (i = 0; i < sizeof(scs) / sizeof(scs[0]); i++)
        run(&scs[i]);
    printf("store power-cut simulation: %lu cut points covered\n", cuts_covered);
    CHECK(cuts_covered > 1000);
    T_DONE();
}
