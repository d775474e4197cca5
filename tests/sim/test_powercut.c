/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-cut simulation of the A/B engine. For each scenario (install, boot
 * with a trial pending, boot when the trial is used up, confirm, rollback
 * of a trial, rollback of a confirmed update) the operations are first
 * counted, then the scenario is rerun with the power cut at every
 * operation N, in two models of the medium (volatile write cache; write-
 * through with the cut write torn). After each cut the machine "reboots":
 * the boot state must load, the boot step must choose exactly one slot
 * whose content hashes to the digest recorded for it (one of the two real
 * images), and the anti-rollback floor must not have gone down.
 */
#include "bulwark/bulwark.h"
#include "../unit/t.h"
#include "simflash.h"

#define SLOT_SIZE (128u << 10)
#define CHUNK 4096u
#define NCHUNK 17 /* 16 full chunks and a short one */
#define IMG2_SIZE ((NCHUNK - 1) * CHUNK + 100)

static const uint8_t vendor[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t klass[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

struct machine {
    struct sim_power pw;
    struct simflash a, b, state;
    struct bw_bootstore bs;
    struct bw_bootstore_flash bsf;
};

static uint8_t img1[8000], img2[IMG2_SIZE], dig1[32], dig2[32];
static uint8_t env[2048], list[NCHUNK * 32];
static size_t env_len;
static struct bw_suit suit;
static struct bw_ec_key key;
static unsigned long cuts_covered;

static void machine_new(struct machine *m)
{
    struct bw_bootstate st;

    memset(m, 0, sizeof(*m));
    sim_init(&m->a, &m->pw, SLOT_SIZE, 1);
    sim_init(&m->b, &m->pw, SLOT_SIZE, 1);
    sim_init(&m->state, &m->pw, 8192, 1);
    bw_bootstore_flash_init(&m->bs, &m->bsf, &m->state.f);
    /* factory state: image 1 in slot A, confirmed */
    memcpy(m->a.durable, img1, sizeof(img1));
    memcpy(m->a.current, img1, sizeof(img1));
    bw_bootstate_init(&st);
    st.slot_sequence[0] = 1;
    st.slot_size[0] = sizeof(img1);
    memcpy(st.slot_digest[0], dig1, 32);
    st.highest_sequence = 1;
    st.confirmed = 1;
    CHECK_RC(m->bs.save(m->bs.ctx, &st), BW_OK);
}

static void machine_free(struct machine *m)
{
    sim_free(&m->a);
    sim_free(&m->b);
    sim_free(&m->state);
}

static void machine_reboot(struct machine *m)
{
    m->pw.dead = 0;
    m->pw.cut_at = 0;
    sim_reboot(&m->a);
    sim_reboot(&m->b);
    sim_reboot(&m->state);
}

/* The package's bytes after the envelope: chunk list, then payload. */
static uint8_t stream[NCHUNK * 32 + IMG2_SIZE];

/* Feeds stream[from, to) in pieces of varying sizes (1 byte to more than
 * a chunk), so that list/payload and chunk boundaries fall inside pieces. */
static bw_err feed_split(struct bw_install *in, size_t from, size_t to)
{
    static const size_t sizes[] = {1, 7, 4096, 333, 9000, 31, 4095, 64};
    size_t k = 0;
    bw_err rc;

    while (from < to) {
        size_t n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];

        if (n > to - from)
            n = to - from;
        if ((rc = bw_install_feed(in, stream + from, n)))
            return rc;
        from += n;
    }
    return BW_OK;
}

/* The install, through the core's install stream. */
static bw_err op_install(struct machine *m)
{
    static uint8_t lbuf[NCHUNK * 32], cbuf[CHUNK];
    struct bw_suit_expect e = {vendor, klass, 0};
    struct bw_update u;
    struct bw_install in;
    bw_err rc;

    if ((rc = bw_update_open(&u, &m->a.f, &m->b.f, &m->bs)) ||
        (rc = bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf))))
        return rc;
    if ((rc = feed_split(&in, 0, sizeof(stream)))) {
        bw_install_abort(&in);
        return rc;
    }
    return bw_install_finish(&in);
}

static bw_err op_boot(struct machine *m)
{
    struct bw_update u;
    uint8_t slot;
    bw_err rc = bw_update_open(&u, &m->a.f, &m->b.f, &m->bs);

    return rc ? rc : bw_update_boot(&u, &slot);
}

static bw_err op_confirm(struct machine *m)
{
    struct bw_update u;
    bw_err rc = bw_update_open(&u, &m->a.f, &m->b.f, &m->bs);

    return rc ? rc : bw_update_confirm(&u);
}

static bw_err op_rollback(struct machine *m)
{
    struct bw_update u;
    bw_err rc = bw_update_open(&u, &m->a.f, &m->b.f, &m->bs);

    return rc ? rc : bw_update_rollback(&u);
}

typedef bw_err (*op_fn)(struct machine *m);

struct scenario {
    const char *name;
    op_fn pre[6];
    op_fn op;
};

static uint64_t floor_of(struct machine *m)
{
    struct bw_bootstate st;

    return m->bs.load(m->bs.ctx, &st) == BW_OK ? st.highest_sequence : 0;
}

/* After a reboot: state loads, one verified slot boots, floor kept. */
static void check_after_cut(struct machine *m, const char *name, unsigned long n, uint64_t floor0)
{
    struct bw_update u;
    uint8_t slot = BW_SLOT_NONE, d[32];
    const struct simflash *sf;
    bw_err rc;
    int ok;

    rc = bw_update_open(&u, &m->a.f, &m->b.f, &m->bs);
    if (rc) {
        fprintf(stderr, "%s cut %lu: state does not load: %s\n", name, n, bw_errname(rc));
        CHECK(0);
        return;
    }
    CHECK(u.st.highest_sequence >= floor0);
    /* every slot the state says holds an image really holds it */
    for (slot = 0; slot < 2; slot++) {
        if (u.st.slot_sequence[slot] == BW_SEQ_EMPTY)
            continue;
        sf = slot == 0 ? &m->a : &m->b;
        CHECK_RC(bw_sha256(sf->current, (size_t)u.st.slot_size[slot], d), BW_OK);
        if (memcmp(d, u.st.slot_digest[slot], 32) != 0) {
            fprintf(stderr, "%s cut %lu: slot %c recorded as installed but damaged\n", name, n,
                    'a' + slot);
            CHECK(0);
        }
    }
    slot = BW_SLOT_NONE;
    rc = bw_update_boot(&u, &slot);
    if (rc || slot > 1) {
        fprintf(stderr, "%s cut %lu: boot step: %s\n", name, n, bw_errname(rc));
        CHECK(0);
        return;
    }
    sf = slot == 0 ? &m->a : &m->b;
    CHECK_RC(bw_sha256(sf->current, (size_t)u.st.slot_size[slot], d), BW_OK);
    ok = !memcmp(d, u.st.slot_digest[slot], 32) && (!memcmp(d, dig1, 32) || !memcmp(d, dig2, 32));
    if (!ok)
        fprintf(stderr, "%s cut %lu: slot %c boots but does not hold a verified image\n", name, n,
                'a' + slot);
    CHECK(ok);
    CHECK(floor_of(m) >= floor0);
    cuts_covered++;
}

/* An install cut short can be run again: it succeeds, or is refused only
 * because the first one finished and its trial is pending. */
static void check_rerun_install(struct machine *m, unsigned long n)
{
    struct bw_bootstate st;
    bw_err rc;

    CHECK_RC(m->bs.load(m->bs.ctx, &st), BW_OK);
    rc = op_install(m);
    if (!(rc == BW_OK || (rc == BW_E_STATE && st.trial != BW_SLOT_NONE)))
        fprintf(stderr, "install cut %lu: rerun gave %s\n", n, bw_errname(rc));
    CHECK(rc == BW_OK || (rc == BW_E_STATE && st.trial != BW_SLOT_NONE));
}

static void run(const struct scenario *sc)
{
    unsigned long total, n;
    int mode, i;
    struct machine m;

    /* count the operations of the scenario's step */
    machine_new(&m);
    for (i = 0; sc->pre[i]; i++)
        CHECK_RC(sc->pre[i](&m), BW_OK);
    n = m.pw.ops;
    CHECK_RC(sc->op(&m), BW_OK);
    total = m.pw.ops - n;
    machine_free(&m);
    CHECK(total > 0);

    for (mode = SIM_VOLATILE; mode <= SIM_WRITE_THROUGH; mode++) {
        for (n = 1; n <= total; n++) {
            uint64_t floor0;

            machine_new(&m);
            m.pw.mode = (enum sim_mode)mode;
            for (i = 0; sc->pre[i]; i++)
                CHECK_RC(sc->pre[i](&m), BW_OK);
            floor0 = floor_of(&m);
            m.pw.cut_at = m.pw.ops + n;
            CHECK(sc->op(&m) != BW_OK || n == total); /* the cut stops it */
            machine_reboot(&m);
            check_after_cut(&m, sc->name, n, floor0);
            if (sc->op == op_install)
                check_rerun_install(&m, n);
            machine_free(&m);
        }
    }
    printf("%-28s %3lu operations, %3lu cut points (2 media models)\n", sc->name, total, 2 * total);
}

static void setup(void)
{
    struct bw_suit_build b;
    struct bw_wr w;
    size_t i;

    for (i = 0; i < sizeof(img1); i++)
        img1[i] = (uint8_t)(i * 7 + 1);
    for (i = 0; i < sizeof(img2); i++)
        img2[i] = (uint8_t)(i * 13 + 5);
    CHECK_RC(bw_sha256(img1, sizeof(img1), dig1), BW_OK);
    CHECK_RC(bw_sha256(img2, sizeof(img2), dig2), BW_OK);
    for (i = 0; i < NCHUNK; i++)
        CHECK_RC(bw_sha256(img2 + i * CHUNK, i < NCHUNK - 1 ? CHUNK : 100, list + 32 * i), BW_OK);
    memcpy(stream, list, sizeof(list));
    memcpy(stream + sizeof(list), img2, sizeof(img2));
    bw_ec_key_init(&key);
    CHECK_RC(bw_ec_generate(&key), BW_OK);
    memset(&b, 0, sizeof(b));
    b.sequence = 2;
    b.vendor_id = vendor;
    b.class_id = klass;
    b.image_size = sizeof(img2);
    memcpy(b.image_digest, dig2, 32);
    b.with_chunks = 1;
    b.chunk_size = CHUNK;
    CHECK_RC(bw_sha256(list, sizeof(list), b.chunk_list_digest), BW_OK);
    bw_wr_init(&w, env, sizeof(env));
    CHECK_RC(bw_suit_build(&w, &b, &key), BW_OK);
    env_len = w.len;
    CHECK_RC(bw_suit_parse(env, env_len, &key, &suit), BW_OK);
}

/* The rules themselves, without power cuts. */
static void rules(void)
{
    struct machine m;
    struct bw_update u;
    struct bw_suit_expect e = {vendor, klass, 0};
    uint8_t slot;

    machine_new(&m);
    CHECK_RC(op_install(&m), BW_OK);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK(u.st.trial == BW_SLOT_B && u.st.highest_sequence == 2 && u.st.slot_sequence[1] == 2);
    CHECK_RC(bw_update_begin(&u, &suit, &e), BW_E_STATE); /* trial pending */
    CHECK_RC(bw_update_confirm(&u), BW_E_STATE);          /* not booted yet */
    CHECK_RC(bw_update_boot(&u, &slot), BW_OK);
    CHECK(slot == BW_SLOT_B && u.st.trial_boots_left == BW_TRIAL_BOOTS_DEFAULT - 1);
    CHECK_RC(bw_update_boot(&u, &slot), BW_OK);
    CHECK_RC(bw_update_boot(&u, &slot), BW_OK);
    CHECK(slot == BW_SLOT_B && u.st.trial_boots_left == 0);
    CHECK_RC(bw_update_boot(&u, &slot), BW_OK); /* trial used up: back to A */
    CHECK(slot == BW_SLOT_A && u.st.trial == BW_SLOT_NONE && u.st.active == BW_SLOT_A);
    CHECK(u.st.highest_sequence == 2);                     /* floor kept across fallback */
    CHECK_RC(bw_update_begin(&u, &suit, &e), BW_OK);       /* same sequence: allowed */
    bw_update_abort(&u);
    machine_free(&m);

    machine_new(&m);
    CHECK_RC(op_install(&m), BW_OK);
    CHECK_RC(op_boot(&m), BW_OK);
    CHECK_RC(op_confirm(&m), BW_OK);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK(u.st.active == BW_SLOT_B && u.st.trial == BW_SLOT_NONE && u.st.confirmed);
    CHECK_RC(bw_update_rollback(&u), BW_OK);
    CHECK(u.st.active == BW_SLOT_A && u.st.highest_sequence == 2);
    /* still running b, which is now the inactive slot: no install into it
     * until the device rebooted into a */
    CHECK_RC(bw_update_begin(&u, &suit, &e), BW_E_STATE);
    CHECK_RC(bw_update_boot(&u, &slot), BW_OK);
    CHECK(slot == BW_SLOT_A);
    CHECK_RC(bw_update_begin(&u, &suit, &e), BW_OK);
    CHECK(u.target == BW_SLOT_B);
    bw_update_abort(&u);
    e.min_sequence = 3;
    CHECK_RC(bw_update_begin(&u, &suit, &e), BW_E_ROLLBACK);
    e.min_sequence = 0;
    e.vendor_id = klass;
    CHECK_RC(bw_update_begin(&u, &suit, &e), BW_E_VENDOR);
    machine_free(&m);
}


/* Slot B unchanged from `before` from byte `from` on, and the boot state
 * still without a trial or an image in B (an abandoned install). */
static int untouched(struct machine *m, const uint8_t *before, size_t from)
{
    struct bw_bootstate st;

    if (m->bs.load(m->bs.ctx, &st) != BW_OK)
        return 0;
    return memcmp(m->b.current + from, before + from, SLOT_SIZE - from) == 0 &&
           st.trial == BW_SLOT_NONE && st.slot_sequence[1] == BW_SEQ_EMPTY &&
           st.highest_sequence == 1;
}

/* The install stream refuses what is not the signed package, before the
 * flash sees it: a tampered chunk (the chunks before it were written, it
 * and everything after were not), a tampered list (nothing written), a
 * truncated or over-long stream, a commit of an unchecked chunk, a rolled-
 * back or foreign package, buffers too small; the first error sticks. */
static void stream_refusals(void)
{
    static uint8_t lbuf[NCHUNK * 32], cbuf[CHUNK], bad[sizeof(stream)], before[SLOT_SIZE];
    struct bw_suit_expect e = {vendor, klass, 0}, later = {vendor, klass, 3};
    struct bw_suit_expect foreign = {klass, klass, 0};
    struct machine m;
    struct bw_update u;
    struct bw_install in;
    uint64_t i;

    machine_new(&m);
    memcpy(before, m.b.current, SLOT_SIZE);
    /* chunk 5 tampered */
    memcpy(bad, stream, sizeof(stream));
    bad[sizeof(list) + 5 * CHUNK + 10] ^= 1;
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(bw_install_feed(&in, bad, sizeof(bad)), BW_E_CHUNK);
    CHECK(memcmp(m.b.current, img2, 5 * CHUNK) == 0 && untouched(&m, before, 5 * CHUNK));
    CHECK_RC(bw_install_feed(&in, stream, 1), BW_E_CHUNK); /* sticky */
    CHECK_RC(bw_install_finish(&in), BW_E_CHUNK);
    CHECK(untouched(&m, before, 5 * CHUNK));
    machine_free(&m);

    /* list tampered: not one payload byte is taken */
    machine_new(&m);
    memcpy(bad, stream, sizeof(stream));
    bad[3 * 32 + 1] ^= 0x80;
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(bw_install_feed(&in, bad, sizeof(bad)), BW_E_CHUNK);
    CHECK(untouched(&m, before, 0));
    machine_free(&m);

    /* truncated, then over-long */
    machine_new(&m);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(feed_split(&in, 0, sizeof(stream) - 50), BW_OK);
    CHECK_RC(bw_install_finish(&in), BW_E_TRUNCATED);
    CHECK(untouched(&m, before, sizeof(img2) - 100));
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(feed_split(&in, 0, sizeof(stream)), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, 1), BW_E_TRAILING);
    CHECK_RC(bw_install_finish(&in), BW_E_TRAILING);
    CHECK(untouched(&m, before, SLOT_SIZE));
    machine_free(&m);

    /* two stages: a commit needs its check first; then the whole package */
    machine_new(&m);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), NULL, 0), BW_OK);
    CHECK_RC(bw_install_check(&in, img2, CHUNK), BW_E_STATE); /* list not complete */
    CHECK_RC(bw_install_finish(&in), BW_E_STATE);
    machine_free(&m);
    machine_new(&m);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), NULL, 0), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, sizeof(list)), BW_OK);
    CHECK_RC(bw_install_commit(&in, img2, CHUNK), BW_E_STATE);
    CHECK(untouched(&m, before, 0));
    bw_install_abort(&in);
    machine_free(&m);
    machine_new(&m);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), NULL, 0), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, sizeof(list)), BW_OK);
    for (i = 0; i < NCHUNK; i++) {
        size_t n = i < NCHUNK - 1 ? CHUNK : 100;

        CHECK_RC(bw_install_check(&in, img2 + i * CHUNK, n), BW_OK);
        CHECK_RC(bw_install_commit(&in, img2 + i * CHUNK, n), BW_OK);
    }
    CHECK_RC(bw_install_finish(&in), BW_OK);
    CHECK(memcmp(m.b.current, img2, sizeof(img2)) == 0 && u.st.trial == BW_SLOT_B &&
          u.st.highest_sequence == 2);
    CHECK_RC(bw_install_feed(&in, stream, 1), BW_E_STATE); /* finished */
    machine_free(&m);

    /* rolled back, foreign, buffers too small: refused before any write */
    machine_new(&m);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &later, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)),
             BW_E_ROLLBACK);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &foreign, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)),
             BW_E_VENDOR);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf) - 1, cbuf, sizeof(cbuf)),
             BW_E_TOOBIG);
    CHECK_RC(bw_install_begin(&in, &u, &suit, &e, lbuf, sizeof(lbuf), cbuf, CHUNK - 1),
             BW_E_TOOBIG);
    CHECK(untouched(&m, before, 0));
    machine_free(&m);
}

/* Verify only (no device): the same stream accepts the signed package and
 * refuses a tampered chunk, a truncated or over-long stream and a foreign
 * package, while no slot or boot state is touched. */
static void verify_only(void)
{
    static uint8_t lbuf[NCHUNK * 32], cbuf[CHUNK], bad[sizeof(stream)], before[SLOT_SIZE];
    struct bw_suit_expect e = {vendor, klass, 0}, foreign = {klass, vendor, 0};
    struct bw_install in;
    struct machine m;

    machine_new(&m);
    memcpy(before, m.b.current, SLOT_SIZE);
    CHECK_RC(bw_install_begin(&in, NULL, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, sizeof(stream)), BW_OK);
    CHECK_RC(bw_install_finish(&in), BW_OK);
    CHECK_RC(bw_install_begin(&in, NULL, &suit, NULL, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, sizeof(stream) - 1), BW_OK);
    CHECK_RC(bw_install_finish(&in), BW_E_TRUNCATED);
    CHECK_RC(bw_install_begin(&in, NULL, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, sizeof(stream)), BW_OK);
    CHECK_RC(bw_install_feed(&in, stream, 1), BW_E_TRAILING);
    memcpy(bad, stream, sizeof(stream));
    bad[sizeof(list) + CHUNK + 7] ^= 1; /* second chunk */
    CHECK_RC(bw_install_begin(&in, NULL, &suit, &e, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)), BW_OK);
    CHECK_RC(bw_install_feed(&in, bad, sizeof(bad)), BW_E_CHUNK);
    CHECK_RC(bw_install_finish(&in), BW_E_CHUNK);
    CHECK_RC(bw_install_begin(&in, NULL, &suit, &foreign, lbuf, sizeof(lbuf), cbuf, sizeof(cbuf)),
             BW_E_VENDOR);
    CHECK(memcmp(before, m.b.current, SLOT_SIZE) == 0);
    CHECK(untouched(&m, before, 0));
    machine_free(&m);
}

/* The boot step with the images verified: a trial slot modified after its
 * install is forgotten and A boots; a clean one boots as a trial. */
static void verified_boot(void)
{
    static uint8_t buf[1000];
    struct machine m;
    struct bw_update u;
    uint8_t slot = 9, rejected = 9;

    machine_new(&m);
    CHECK_RC(op_install(&m), BW_OK);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_update_verify_slot(&u, BW_SLOT_B, buf, sizeof(buf)), BW_OK);
    CHECK_RC(bw_update_verify_slot(&u, BW_SLOT_A, buf, sizeof(buf)), BW_OK);
    CHECK_RC(bw_update_verify_slot(&u, BW_SLOT_A, buf, 63), BW_E_INVAL);
    m.b.current[4097] ^= 0x10;
    m.b.durable[4097] ^= 0x10;
    CHECK_RC(bw_update_verify_slot(&u, BW_SLOT_B, buf, sizeof(buf)), BW_E_DIGEST);
    CHECK_RC(bw_update_boot_verified(&u, buf, sizeof(buf), &slot, &rejected), BW_OK);
    CHECK(slot == BW_SLOT_A && rejected == 2 && u.st.trial == BW_SLOT_NONE &&
          u.st.slot_sequence[1] == BW_SEQ_EMPTY && u.st.highest_sequence == 2);
    /* the forgotten slot stays forgotten after a reload */
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK(u.st.slot_sequence[1] == BW_SEQ_EMPTY);
    /* A modified too: nothing verifies, nothing boots */
    m.a.current[0] ^= 1;
    CHECK_RC(bw_update_boot_verified(&u, buf, sizeof(buf), &slot, &rejected), BW_E_NOTFOUND);
    CHECK(rejected == 1);
    machine_free(&m);
    machine_new(&m);
    CHECK_RC(op_install(&m), BW_OK);
    CHECK_RC(bw_update_open(&u, &m.a.f, &m.b.f, &m.bs), BW_OK);
    CHECK_RC(bw_update_boot_verified(&u, buf, sizeof(buf), &slot, &rejected), BW_OK);
    CHECK(slot == BW_SLOT_B && rejected == 0 && u.st.trial == BW_SLOT_B);
    machine_free(&m);
}

int main(void)
{
    static const struct scenario scs[] = {
        {"install", {NULL}, op_install},
        {"boot (trial pending)", {op_install, NULL}, op_boot},
        {"boot (trial used up)", {op_install, op_boot, op_boot, op_boot, NULL}, op_boot},
        {"confirm", {op_install, op_boot, NULL}, op_confirm},
        {"rollback (trial)", {op_install, op_boot, NULL}, op_rollback},
        {"rollback (confirmed)", {op_install, op_boot, op_confirm, NULL}, op_rollback},
        {"install over the old image", {op_install, op_boot, op_confirm, NULL}, op_install},
    };
    size_t i;

    setup();
    rules();
    stream_refusals();
    verify_only();
    verified_boot();
    for (i = 0; i < sizeof(scs) / sizeof(scs[0]); i++)
        run(&scs[i]);
    printf("power-cut simulation: %lu cut points covered\n", cuts_covered);
    CHECK(cuts_covered > 50);
    bw_ec_key_clear(&key);
    T_DONE();
}
