/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install stream (include/bulwark/update.h): where the rule "no
 * unverified byte is written" lives, for every caller on every platform.
 *
 * Method: the stream moves through list -> payload -> done. List bytes are
 * collected in the caller's buffer and, once complete, checked against the
 * chunk-list digest the manifest signs; until then no payload byte is
 * accepted. Each complete chunk is checked against its list entry (stage
 * 1, which then publishes the count of checked chunks), and only a chunk
 * below that count is hashed into the image digest and written to the
 * slot (stage 2). The count is an atomic with release/acquire order, the
 * only state the stages share, so a host may run them on two threads and
 * a commit still cannot overtake its check. The image digest is the
 * stream's own, over exactly the bytes written; finish compares it and the
 * byte count with the manifest before the slot is recorded and marked for
 * a trial. Errors stick: an abandoned install cannot be resumed into a
 * slot that holds part of it. Without a device (u NULL) the same stream
 * verifies a package and writes nothing: a gateway checking an upload and
 * `bulwark verify` run exactly the checks a device runs.
 */
#include <stdatomic.h>
#include <string.h>
#include "update_priv.h"

/* Length of chunk i: the chunk size, or what is left for the last one. */
static size_t chunk_len(const struct bw_install *in, uint32_t i)
{
    const struct bw_suit_component *c = &in->s->comp[0];
    uint64_t left = c->image_size - (uint64_t)i * c->chunk_size;

    return left < c->chunk_size ? (size_t)left : (size_t)c->chunk_size;
}

/* begin, feed, finish (no stage running): abandon the install. */
static bw_err fail(struct bw_install *in, bw_err rc)
{
    if (!in->err) {
        in->err = rc;
        if (in->phase == BW_INS_LIST || in->phase == BW_INS_PAYLOAD || in->phase == BW_INS_DONE)
            bw_sha256_abort(&in->image);
        if (in->u)
            bw_update_abort(in->u);
        in->phase = BW_INS_FAILED;
    }
    return in->err;
}

static bw_err begin_integrated(struct bw_install *in)
{
    struct bw_suit_bytes pl;
    uint8_t d[BW_SHA256_LEN];
    bw_err rc;

    rc = bw_suit_integrated(in->s, 0, &pl);
    if (rc)
        return rc;
    rc = bw_sha256(pl.p, pl.len, d);
    if (rc)
        return rc;
    /* checked before the flash sees a byte of it */
    rc = bw_suit_image_match(in->s, 0, d, pl.len);
    if (rc)
        return rc;
    rc = bw_sha256_update(&in->image, pl.p, pl.len);
    if (rc)
        return rc;
    rc = in->u ? bw__update_write(in->u, 0, pl.p, pl.len) : BW_OK;
    if (rc)
        return rc;
    in->off = pl.len;
    in->phase = BW_INS_DONE;
    return BW_OK;
}

bw_err bw_install_begin(struct bw_install *in, struct bw_update *u, const struct bw_suit *s,
                        const struct bw_suit_expect *e, uint8_t *list, size_t list_cap,
                        uint8_t *chunk, size_t chunk_cap)
{
    const struct bw_suit_component *c = &s->comp[0];
    uint64_t n_chunks = 0, list_len = 0;
    int integrated;
    bw_err rc;

    memset(in, 0, sizeof(*in));
    atomic_init(&in->checked, 0);
    in->s = s;
    integrated = c->has_uri && c->uri.len && c->uri.p[0] == '#';
    if (!integrated) {
        rc = bw_suit_chunk_layout(s, 0, &n_chunks, &list_len);
        if (rc)
            return fail(in, rc == BW_E_NOTFOUND ? BW_E_UNSUPPORTED : rc);
        if (!list || list_len > list_cap || n_chunks > UINT32_MAX ||
            (chunk && chunk_cap < c->chunk_size))
            return fail(in, BW_E_TOOBIG);
        /* A/B package: this slot's list and payload lie inside the signed
         * section, which lies inside the signed total (all below 2^42). */
        if (c->has_section) {
            if (c->section_total - c->section_off < list_len + c->image_size)
                return fail(in, BW_E_FORMAT);
            in->skip = c->section_off;
            in->tail = c->section_total - c->section_off - list_len - c->image_size;
        }
    } else if (c->has_section) {
        return fail(in, BW_E_FORMAT); /* an integrated payload has no section */
    }
    /* no device: verify only, with the package's own identity checks, of
     * the alternative s was selected for if its image depends on the slot */
    if (!u && (s->try_each || s->slot_cond) && s->slot == BW_SUIT_SLOT_ANY)
        return fail(in, BW_E_STATE);
    rc = u ? bw_update_begin(u, s, e) : e ? bw_suit_check(s, e) : BW_OK;
    if (rc)
        return fail(in, rc);
    in->u = u;
    rc = bw_sha256_init(&in->image);
    if (rc)
        return fail(in, rc);
    in->phase = BW_INS_LIST;
    in->list = list;
    in->list_len = (size_t)list_len;
    in->chunk = chunk;
    in->chunk_cap = chunk_cap;
    in->n_chunks = (uint32_t)n_chunks;
    if (integrated)
        rc = begin_integrated(in);
    else if (n_chunks == 0)
        in->phase = BW_INS_DONE; /* an empty image: nothing to write */
    return rc ? fail(in, rc) : BW_OK;
}

bw_err bw_install_check(struct bw_install *in, const uint8_t *buf, size_t len)
{
    bw_err rc;

    if (in->check_err)
        return in->check_err;
    rc = BW_E_STATE;
    if (in->phase != BW_INS_PAYLOAD || in->n_checked >= in->n_chunks)
        goto out;
    rc = bw_suit_chunk_check(in->s, 0, in->list, in->n_checked, buf, len);
    if (rc)
        goto out;
    in->n_checked++;
    atomic_store_explicit(&in->checked, in->n_checked, memory_order_release);
out:
    if (rc)
        in->check_err = rc;
    return rc;
}

bw_err bw_install_commit(struct bw_install *in, const uint8_t *buf, size_t len)
{
    bw_err rc;

    if (in->commit_err)
        return in->commit_err;
    /* only a chunk that passed its check, in order, at its full length */
    rc = BW_E_STATE;
    if (in->committed >= atomic_load_explicit(&in->checked, memory_order_acquire) ||
        len != chunk_len(in, in->committed))
        goto out;
    rc = bw_sha256_update(&in->image, buf, len);
    if (rc)
        goto out;
    rc = in->u ? bw__update_write(in->u, in->off, buf, len) : BW_OK;
    if (rc)
        goto out;
    in->off += len;
    in->committed++;
out:
    if (rc)
        in->commit_err = rc;
    return rc;
}

bw_err bw_install_feed(struct bw_install *in, const uint8_t *data, size_t len)
{
    bw_err rc;

    if (in->err)
        return in->err;
    while (len) {
        size_t take, want;

        if (in->skip ||
            (in->phase != BW_INS_LIST && in->n_checked == in->n_chunks && in->tail)) {
            /* the other slot's section: passed over, never looked at */
            uint64_t *left = in->skip ? &in->skip : &in->tail;

            take = len < *left ? len : (size_t)*left;
            *left -= take;
            data += take;
            len -= take;
        } else if (in->phase == BW_INS_LIST) {
            want = in->list_len - in->have;
            take = len < want ? len : want;
            memcpy(in->list + in->have, data, take);
            in->have += take;
            data += take;
            len -= take;
            if (in->have < in->list_len)
                break;
            rc = bw_suit_chunk_list_check(in->s, 0, in->list, in->list_len);
            if (rc)
                return fail(in, rc);
            in->have = 0;
            in->phase = in->n_chunks ? BW_INS_PAYLOAD : BW_INS_DONE;
        } else if (in->phase == BW_INS_PAYLOAD && in->n_checked < in->n_chunks) {
            if (!in->chunk)
                return fail(in, BW_E_STATE);
            want = chunk_len(in, in->n_checked) - in->have;
            take = len < want ? len : want;
            memcpy(in->chunk + in->have, data, take);
            in->have += take;
            data += take;
            len -= take;
            if (take < want)
                break;
            rc = bw_install_check(in, in->chunk, in->have);
            if (!rc)
                rc = bw_install_commit(in, in->chunk, in->have);
            if (rc)
                return fail(in, rc);
            in->have = 0;
        } else {
            /* every chunk arrived: anything more is not the package */
            return fail(in, in->phase == BW_INS_FAILED ? BW_E_STATE : BW_E_TRAILING);
        }
    }
    return BW_OK;
}

bw_err bw_install_finish(struct bw_install *in)
{
    uint8_t d[BW_SHA256_LEN];
    bw_err rc;

    if (in->err)
        return in->err;
    if (in->check_err || in->commit_err)
        return fail(in, in->check_err ? in->check_err : in->commit_err);
    if (in->phase == BW_INS_IDLE)
        return fail(in, BW_E_STATE);
    if (in->phase == BW_INS_LIST || in->committed < in->n_chunks || in->skip || in->tail)
        return fail(in, BW_E_TRUNCATED);
    rc = bw_sha256_final(&in->image, d);
    in->phase = BW_INS_IDLE; /* the digest context is spent: fail() must not abort it */
    if (rc)
        return fail(in, rc);
    rc = bw_suit_image_match(in->s, 0, d, in->off);
    if (!rc && in->u)
        rc = bw__update_finish(in->u, d, in->off);
    if (rc)
        return fail(in, rc);
    in->err = BW_E_STATE; /* finished: nothing more may be fed */
    in->phase = BW_INS_DONE;
    return BW_OK;
}

void bw_install_abort(struct bw_install *in)
{
    if (in && !in->err) {
        in->check_err = in->commit_err = BW_E_STATE;
        (void)fail(in, BW_E_STATE);
    }
}
