/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The A/B rules (include/bulwark/update.h). Method, for install: the target
 * slot is marked empty and the state saved before its first byte is
 * written; payload goes to the slot; the slot is synced; only then is the
 * new state saved with the image recorded and a trial pending. Every save
 * is atomic (the store's promise), so after a power cut at any point the
 * state names either the old slots (target empty) or the new trial, and
 * the boot step never picks a slot whose image was not completely written.
 */
#include <string.h>
#include "update_priv.h"

static uint8_t other(uint8_t s)
{
    return s == BW_SLOT_A ? BW_SLOT_B : BW_SLOT_A;
}

static int has_image(const struct bw_bootstate *st, uint8_t s)
{
    return s <= BW_SLOT_B && st->slot_sequence[s] != BW_SEQ_EMPTY;
}

bw_err bw_update_open(struct bw_update *u, const struct bw_flash *a, const struct bw_flash *b,
                      const struct bw_bootstore *store)
{
    bw_err rc;

    memset(u, 0, sizeof(*u));
    if (!a || !b || !store)
        return BW_E_INVAL;
    u->slot[0] = a;
    u->slot[1] = b;
    u->store = store;
    u->trial_boots = BW_TRIAL_BOOTS_DEFAULT;
    rc = store->load(store->ctx, &u->st);
    if (rc == BW_E_NOTFOUND) {
        bw_bootstate_init(&u->st);
        rc = BW_OK;
    }
    return rc;
}

/* The slot the device runs now (the one an install must not touch). */
static uint8_t running(const struct bw_bootstate *st)
{
    return st->booted <= BW_SLOT_B ? st->booted : st->active;
}

bw_err bw_update_target(const struct bw_update *u, uint8_t *slot)
{
    uint8_t target = other(u->st.active);

    if (u->phase == BW_UPD_WRITING || u->st.trial != BW_SLOT_NONE || target == running(&u->st))
        return BW_E_STATE;
    *slot = target;
    return BW_OK;
}

bw_err bw_update_begin(struct bw_update *u, const struct bw_suit *s, const struct bw_suit_expect *e)
{
    struct bw_suit_expect want = {0};
    struct bw_bootstate next;
    uint8_t target;
    bw_err rc;

    rc = BW_E_STATE;
    if (!s->authenticated || u->phase == BW_UPD_WRITING || u->st.trial != BW_SLOT_NONE)
        goto out;
    if (e)
        want = *e;
    if (want.min_sequence < u->st.highest_sequence)
        want.min_sequence = u->st.highest_sequence;
    if ((rc = bw_suit_check(s, &want)))
        goto out;
    rc = BW_E_NOTFOUND;
    if (!s->comp[0].has_digest || !s->comp[0].has_size)
        goto out;
    rc = BW_E_UNSUPPORTED;
    if (s->n_components != 1)
        goto out; /* one image per package: the slot's */
    /* The target is the slot that is not active. If the device still runs
     * it (a rollback switched the active slot without a reboot), writing
     * it would overwrite the running system: reboot first. */
    target = other(u->st.active);
    rc = BW_E_STATE;
    if (target == running(&u->st))
        goto out;
    /* A manifest whose image depends on the slot (try-each, component-slot
     * conditions) must have been selected for this target: the parameters
     * below are then the target's alternative. */
    if ((s->try_each || s->slot_cond || s->slot != BW_SUIT_SLOT_ANY) && s->slot != target)
        goto out;
    rc = BW_E_TOOBIG;
    if (s->comp[0].image_size > u->slot[target]->size)
        goto out;
    /* Forget the target's old image before touching it. */
    next = u->st;
    next.slot_sequence[target] = BW_SEQ_EMPTY;
    next.slot_size[target] = 0;
    memset(next.slot_digest[target], 0, BW_SHA256_LEN);
    /* (a slot the state already calls empty needs no save) */
    if (u->st.slot_sequence[target] != BW_SEQ_EMPTY &&
        (rc = u->store->save(u->store->ctx, &next)))
        goto out;
    u->st = next;
    u->target = target;
    u->sequence = s->sequence;
    u->size = s->comp[0].image_size;
    u->written = 0;
    memcpy(u->digest, s->comp[0].image_digest, BW_SHA256_LEN);
    u->phase = BW_UPD_WRITING;
    rc = BW_OK;
out:
    return rc;
}

bw_err bw__update_write(struct bw_update *u, uint64_t off, const uint8_t *data, size_t len)
{
    const struct bw_flash *f;
    bw_err rc;

    if (u->phase != BW_UPD_WRITING)
        return BW_E_STATE;
    if (off != u->written || len > u->size - u->written)
        return BW_E_SIZE;
    f = u->slot[u->target];
    rc = f->write(f->ctx, off, data, len);
    if (rc)
        return rc;
    u->written += len;
    return BW_OK;
}

bw_err bw__update_finish(struct bw_update *u, const uint8_t digest[BW_SHA256_LEN], uint64_t size)
{
    const struct bw_flash *f;
    struct bw_bootstate next;
    bw_err rc;

    rc = BW_E_STATE;
    if (u->phase != BW_UPD_WRITING)
        goto out;
    rc = BW_E_SIZE;
    if (size != u->size || u->written != u->size)
        goto out;
    rc = BW_E_DIGEST;
    if (!bw_ct_equal(digest, u->digest, BW_SHA256_LEN))
        goto out;
    f = u->slot[u->target];
    if ((rc = f->sync(f->ctx)))
        goto out;
    rc = BW_E_STATE;
    if (u->target == u->st.active)
        goto out; /* never: begin chose the inactive slot */
    next = u->st;
    next.slot_sequence[u->target] = u->sequence;
    next.slot_size[u->target] = u->size;
    memcpy(next.slot_digest[u->target], u->digest, BW_SHA256_LEN);
    next.trial = u->target;
    next.trial_boots_left = u->trial_boots;
    if (u->sequence > next.highest_sequence)
        next.highest_sequence = u->sequence;
    if ((rc = u->store->save(u->store->ctx, &next)))
        goto out;
    u->st = next;
    u->phase = BW_UPD_DONE;
    rc = BW_OK;
out:
    if (rc && rc != BW_E_STATE)
        u->phase = BW_UPD_IDLE;
    return rc;
}

void bw_update_abort(struct bw_update *u)
{
    u->phase = BW_UPD_IDLE;
}

bw_err bw_update_boot(struct bw_update *u, uint8_t *slot)
{
    struct bw_bootstate next = u->st;
    uint8_t pick;
    bw_err rc;

    if (next.trial != BW_SLOT_NONE && (!has_image(&next, next.trial) || next.trial_boots_left == 0))
        next.trial = BW_SLOT_NONE; /* trial used up (or its image is gone): fall back */
    if (!has_image(&next, next.active) && has_image(&next, other(next.active)) &&
        next.trial != other(next.active))
        next.active = other(next.active);
    if (next.trial != BW_SLOT_NONE) {
        next.trial_boots_left--;
        pick = next.trial;
        next.confirmed = 0;
    } else {
        pick = next.active;
        next.confirmed = has_image(&next, pick);
    }
    if (!has_image(&next, pick))
        return BW_E_NOTFOUND;
    next.booted = pick;
    if ((rc = u->store->save(u->store->ctx, &next)))
        return rc;
    u->st = next;
    *slot = pick;
    return BW_OK;
}

bw_err bw_update_confirm(struct bw_update *u)
{
    struct bw_bootstate next = u->st;
    bw_err rc;

    if (next.trial == BW_SLOT_NONE || next.booted != next.trial)
        return BW_E_STATE;
    next.active = next.trial;
    next.trial = BW_SLOT_NONE;
    next.trial_boots_left = 0;
    next.confirmed = 1;
    if ((rc = u->store->save(u->store->ctx, &next)))
        return rc;
    u->st = next;
    return BW_OK;
}

bw_err bw_update_rollback(struct bw_update *u)
{
    struct bw_bootstate next = u->st;
    bw_err rc;

    if (next.trial != BW_SLOT_NONE) {
        next.trial = BW_SLOT_NONE;
        next.trial_boots_left = 0;
    } else {
        if (!has_image(&next, other(next.active)))
            return BW_E_NOTFOUND;
        next.active = other(next.active);
    }
    if ((rc = u->store->save(u->store->ctx, &next)))
        return rc;
    u->st = next;
    return BW_OK;
}

bw_err bw_update_verify_slot(const struct bw_update *u, uint8_t slot, uint8_t *buf, size_t buf_len)
{
    const struct bw_flash *f;
    struct bw_sha256 h;
    uint8_t d[BW_SHA256_LEN];
    uint64_t off = 0, size;
    bw_err rc;

    if (slot > BW_SLOT_B || !buf || buf_len < 64)
        return BW_E_INVAL;
    if (!has_image(&u->st, slot))
        return BW_E_NOTFOUND;
    f = u->slot[slot];
    size = u->st.slot_size[slot];
    if (size > f->size)
        return BW_E_DIGEST;
    rc = bw_sha256_init(&h);
    if (rc)
        return rc;
    while (off < size) {
        size_t n = size - off < buf_len ? (size_t)(size - off) : buf_len;

        rc = f->read(f->ctx, off, buf, n);
        if (!rc)
            rc = bw_sha256_update(&h, buf, n);
        if (rc) {
            bw_sha256_abort(&h);
            return rc;
        }
        off += n;
    }
    rc = bw_sha256_final(&h, d);
    if (rc)
        return rc;
    rc = BW_E_DIGEST;
    if (bw_ct_equal(d, u->st.slot_digest[slot], BW_SHA256_LEN))
        rc = BW_OK;
    return rc;
}

bw_err bw_update_boot_verified(struct bw_update *u, uint8_t *buf, size_t buf_len, uint8_t *slot,
                               uint8_t *rejected)
{
    struct bw_bootstate next = u->st;
    uint8_t s, bad = 0;
    bw_err rc;

    *rejected = 0;
    for (s = BW_SLOT_A; s <= BW_SLOT_B; s++) {
        rc = bw_update_verify_slot(u, s, buf, buf_len);
        if (rc == BW_E_NOTFOUND)
            continue;
        if (rc == BW_E_DIGEST) {
            /* forget the image: the boot rule then never picks the slot */
            next.slot_sequence[s] = BW_SEQ_EMPTY;
            next.slot_size[s] = 0;
            memset(next.slot_digest[s], 0, BW_SHA256_LEN);
            if (next.trial == s) {
                next.trial = BW_SLOT_NONE;
                next.trial_boots_left = 0;
            }
            bad |= (uint8_t)(1u << s);
        } else if (rc) {
            return rc;
        }
    }
    if (bad) {
        if ((rc = u->store->save(u->store->ctx, &next)))
            return rc;
        u->st = next;
        *rejected = bad;
    }
    return bw_update_boot(u, slot);
}
