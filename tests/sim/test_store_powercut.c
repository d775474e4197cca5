/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-cut simulation of the secure store. Each scenario (a first write,
 * overwrite, insert, delete, a value that grows, a write that repairs a
 * damaged copy, wipe) is counted once, then rerun with the power cut at
 * every flash operation N, with a volatile write cache and with write-
 * through media whose cut write is torn. After each cut the store must
 * open, and its whole content must be exactly the state before or the
 * state after the operation (never a mix, never garbage); the operation
 * run again must then succeed and give the new state.
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

struct machine {
    struct sim_power pw;
    struct simflash sf;
    struct bw_store s;
};

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
    struct simflash *sf = s->flash->ctx;

    sf->current[AREA / 2 + 70] ^= 0x04;
    sf->durable[AREA / 2 + 70] ^= 0x04;
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

static void machine_new(struct machine *m, enum sim_mode mode)
{
    memset(m, 0, sizeof(*m));
    m->pw.mode = mode;
    sim_init(&m->sf, &m->pw, AREA, 1);
    CHECK_RC(bw_store_open(&m->s, &m->sf.f, key, work, sizeof(work)), BW_OK);
}

static bw_err machine_reboot(struct machine *m)
{
    bw_store_close(&m->s);
    m->pw.dead = 0;
    m->pw.cut_at = 0;
    sim_reboot(&m->sf);
    return bw_store_open(&m->s, &m->sf.f, key, work, sizeof(work));
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
    int mode;

    machine_new(&m, SIM_VOLATILE);
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

    for (mode = SIM_VOLATILE; mode <= SIM_WRITE_THROUGH; mode++) {
        for (n = 1; n <= total; n++) {
            bw_err rc;

            machine_new(&m, (enum sim_mode)mode);
            CHECK_RC(prepare(&m, sc), BW_OK);
            m.pw.cut_at = m.pw.ops + n;
            rc = sc->op(&m.s);
            CHECK(rc != BW_OK || n == total);
            rc = machine_reboot(&m);
            if (rc) {
                fprintf(stderr, "%s: cut %lu (%s): store does not open: %s\n", sc->name, n,
                        mode ? "write-through" : "volatile", bw_errname(rc));
                CHECK(0);
            } else {
                snapshot(&m.s, got, sizeof(got));
                if (strcmp(got, before) && strcmp(got, after)) {
                    fprintf(stderr, "%s: cut %lu (%s): neither old nor new:\n  %s\n", sc->name,
                            n, mode ? "write-through" : "volatile", got);
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
    printf("%-30s %3lu operations, %3lu cut points (2 media models)\n", sc->name, total, 2 * total);
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
    CHECK(cuts_covered > 100);
    T_DONE();
}
