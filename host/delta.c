/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta packages on the device side (include/bwh/delta.h, docs/delta.md):
 * the format's parser, the chunk list rebuilt from the running slot, the
 * slot's content index, the plan, and the install that assembles each
 * chunk and hands it to the core's stream.
 * Method: every field of a delta is untrusted. The parser bounds each
 * length by what a device holds (a chunk's compress bound, the prefix
 * limit, the section caps) so a forged one fails early; the envelope in
 * the delta is authenticated like any package's; the chunk list, rebuilt
 * from the slot and the plan's digests or else fetched, is checked against
 * the signed digest before anything is planned. Chunks decoded from frames
 * are pre-checked against that list (bw_suit_chunk_check) to choose
 * between them and a whole frame; every chunk then goes through
 * bw_install_check, the gate that alone lets bw_install_commit write it.
 * The plan and the frames are what a forged delta can change; all it buys
 * is bytes or a refused install.
 * Not here: making deltas (host/delta_make.c), the sources (delta_src.c).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "bwh/delta.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

bw_err bwh_delta_src_read(struct bwh_delta_src *src, uint64_t off, uint8_t *buf, size_t len)
{
    unsigned tries = src->resumes ? 1 : BWH_DELTA_READ_TRIES;
    bw_err rc;

    do {
        src->requests++;
        src->bytes += len;
        rc = src->read(src->ctx, off, buf, len);
    } while ((rc == BW_E_TRUNCATED || rc == BW_E_IO) && --tries);
    return rc;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

void bwh_delta_hdr_write(uint8_t out[BWH_DELTA_HDR_LEN], const struct bwh_delta_hdr *h)
{
    memcpy(out, BWH_DELTA_MAGIC, 8);
    put32(out + 8, h->chunk_size);
    put32(out + 12, h->block_size);
    put32(out + 16, h->hash_len);
    put32(out + 20, h->prefix_max);
    put64(out + 24, h->image_size);
    put64(out + 32, h->n_chunks);
    put64(out + 40, h->env_len);
    put64(out + 48, h->list_len);
    put64(out + 56, h->meta_zlen);
    put64(out + 64, h->meta_len);
    put64(out + 72, h->source_size);
    memcpy(out + 80, h->source_digest, BW_SHA256_LEN);
    put64(out + 112, h->idx_zlen);
    put64(out + 120, h->idx_len);
}

/* The largest plan a header allows: per chunk a FRAME with every extent,
 * or a COPY with a run per block, plus the whole frames' total. */
static uint64_t plan_max(const struct bwh_delta_hdr *h)
{
    uint64_t frame = 1 + 4 + 1 + (uint64_t)BWH_DELTA_MAX_EXT * BWH_DELTA_EXT_LEN +
                     BWH_DELTA_TAG_LEN + BW_SHA256_LEN;
    uint64_t copy = 1 + 4 + (uint64_t)(h->chunk_size / BWH_DELTA_BLOCK) * BWH_DELTA_RUN_LEN;

    return 8 + h->n_chunks * (frame > copy ? frame : copy);
}

bw_err bwh_delta_hdr_parse(const uint8_t *b, size_t len, struct bwh_delta_hdr *h)
{
    uint64_t n_blocks, max_idx;

    memset(h, 0, sizeof(*h));
    if (len < BWH_DELTA_HDR_LEN)
        return BW_E_TRUNCATED;
    if (memcmp(b, BWH_DELTA_MAGIC, 8))
        return BW_E_FORMAT;
    h->chunk_size = be32(b + 8);
    h->block_size = be32(b + 12);
    h->hash_len = be32(b + 16);
    h->prefix_max = be32(b + 20);
    h->image_size = be64(b + 24);
    h->n_chunks = be64(b + 32);
    h->env_len = be64(b + 40);
    h->list_len = be64(b + 48);
    h->meta_zlen = be64(b + 56);
    h->meta_len = be64(b + 64);
    h->source_size = be64(b + 72);
    memcpy(h->source_digest, b + 80, BW_SHA256_LEN);
    h->idx_zlen = be64(b + 112);
    h->idx_len = be64(b + 120);
    if (h->block_size != BWH_DELTA_BLOCK || h->hash_len != BWH_DELTA_HASH_LEN)
        return BW_E_FORMAT;
    if (h->chunk_size < BW_SUIT_CHUNK_MIN || h->chunk_size % BWH_DELTA_BLOCK)
        return BW_E_FORMAT;
    if (h->chunk_size > BW_SUIT_CHUNK_MAX || h->prefix_max > BWH_DELTA_PREFIX_MAX)
        return BW_E_TOOBIG;
    if (h->image_size > ((uint64_t)1 << 42) || h->source_size > ((uint64_t)1 << 42))
        return BW_E_TOOBIG;
    if (h->n_chunks != div_up(h->image_size, h->chunk_size))
        return BW_E_FORMAT;
    if (h->env_len == 0 || h->env_len > BW_SUIT_ENVELOPE_MAX || h->list_len > BWH_PKG_LIST_MAX)
        return BW_E_TOOBIG;
    if (h->list_len != h->n_chunks * BW_SHA256_LEN)
        return BW_E_FORMAT;
    if (h->meta_len > plan_max(h) || h->meta_len > BWH_DELTA_META_MAX)
        return BW_E_TOOBIG;
    if (h->meta_zlen == 0 || h->meta_zlen > ZSTD_compressBound((size_t)h->meta_len))
        return BW_E_FORMAT;
    n_blocks = div_up(h->image_size, BWH_DELTA_BLOCK);
    max_idx = n_blocks * BWH_DELTA_HASH_LEN + h->n_chunks * 4;
    if (h->idx_len > max_idx || h->idx_len > BWH_DELTA_META_MAX)
        return BW_E_TOOBIG;
    if (h->idx_zlen == 0 || h->idx_zlen > ZSTD_compressBound((size_t)h->idx_len))
        return BW_E_FORMAT;
    return BW_OK;
}

void bwh_delta_free(struct bwh_delta *d)
{
    if (!d)
        return;
    bwh_free(d->meta);
    bwh_free(d->idx);
    bwh_free(d->rec);
    bwh_free(d->ext);
    d->meta = d->idx = NULL;
    d->index = NULL;
    d->rec = NULL;
    d->ext = NULL;
}

/* A reader over the decompressed plan that fails once past its end. */
struct rd {
    const uint8_t *p;
    size_t left;
    int bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
    const uint8_t *q = r->p;

    if (r->bad || n > r->left) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return q;
}

static uint32_t take32(struct rd *r)
{
    const uint8_t *q = take(r, 4);

    return q ? be32(q) : 0;
}

static uint64_t take64(struct rd *r)
{
    const uint8_t *q = take(r, 8);

    return q ? be64(q) : 0;
}

static size_t chunk_len(const struct bwh_delta *d, uint64_t i)
{
    uint64_t left = d->h.image_size - i * d->h.chunk_size;

    return left < d->h.chunk_size ? (size_t)left : d->h.chunk_size;
}

/* One zstd frame z of exactly want bytes into a new buffer *out. */
static bw_err unzstd(const uint8_t *z, size_t zlen, uint64_t want, uint8_t **out)
{
    unsigned long long declared;
    size_t flen, r;

    *out = NULL;
    flen = ZSTD_findFrameCompressedSize(z, zlen);
    if (ZSTD_isError(flen))
        return BW_E_FORMAT;
    if (flen != zlen)
        return BW_E_TRAILING;
    declared = ZSTD_getFrameContentSize(z, zlen);
    if (declared != want)
        return BW_E_SIZE; /* refused before decoding: never more than want */
    *out = bwh_malloc(want ? (size_t)want : 1);
    if (!*out)
        return BW_E_NOMEM;
    r = ZSTD_decompress(*out, (size_t)want, z, zlen);
    if (ZSTD_isError(r) || r != want)
        return BW_E_FORMAT;
    return BW_OK;
}

/* The plan's operations into records, extents and runs (counted first,
 * then filled: pass 0 counts, pass 1 fills). */
static bw_err plan_ops(struct bwh_delta *d, int pass)
{
    const struct bwh_delta_hdr *h = &d->h;
    uint64_t i = 0, n_ext = 0, n_idx = 0, at;
    uint64_t bound = ZSTD_compressBound(h->chunk_size), nbc = h->chunk_size / BWH_DELTA_BLOCK;
    struct rd r = {d->meta, (size_t)h->meta_len, 0};

    d->whole_total = take64(&r);
    at = d->meta_off + h->meta_zlen; /* the delta frames */
    while (i < h->n_chunks) {
        const uint8_t *q = take(&r, 1);
        uint32_t k, n;

        if (!q)
            return BW_E_FORMAT;
        if (*q == BWH_DELTA_OP_SAME) {
            n = take32(&r);
            if (r.bad || n == 0 || n > h->n_chunks - i)
                return BW_E_FORMAT;
            for (; n; n--, i++)
                if (pass) {
                    d->rec[i].kind = BWH_DELTA_K_SAME;
                    d->rec[i].same = 1;
                    d->rec[i].delta_off = at;
                }
            continue;
        }
        n_idx += div_up(chunk_len(d, i), BWH_DELTA_BLOCK);
        if (*q == BWH_DELTA_OP_COPY) {
            uint64_t blocks = 0;

            n = take32(&r);
            if (r.bad || n == 0 || n > nbc || chunk_len(d, i) % BWH_DELTA_BLOCK)
                return BW_E_FORMAT;
            for (k = 0; k < n; k++) { /* runs of blocks, kept as extents */
                uint32_t b0 = take32(&r), nb = take32(&r);

                if (r.bad || nb == 0 || nb > nbc ||
                    ((uint64_t)b0 + nb) * BWH_DELTA_BLOCK > h->source_size)
                    return BW_E_FORMAT;
                blocks += nb;
                if (pass) {
                    d->ext[n_ext + k].off = (uint64_t)b0 * BWH_DELTA_BLOCK;
                    d->ext[n_ext + k].len = nb * BWH_DELTA_BLOCK;
                }
            }
            if (blocks * BWH_DELTA_BLOCK != chunk_len(d, i))
                return BW_E_FORMAT;
            if (pass) {
                d->rec[i].kind = BWH_DELTA_K_COPY;
                d->rec[i].ext0 = n_ext;
                d->rec[i].n_ext = n;
                d->rec[i].delta_off = at;
            }
            n_ext += n;
        } else if (*q == BWH_DELTA_OP_FRAME) {
            uint32_t flen = take32(&r);
            const uint8_t *ne = take(&r, 1);
            uint64_t sum = 0;

            if (r.bad || flen == 0 || flen > bound || *ne > BWH_DELTA_MAX_EXT)
                return BW_E_FORMAT;
            for (k = 0; k < *ne; k++) {
                uint64_t off = take64(&r);
                uint32_t len = take32(&r);

                if (r.bad || len == 0 || off > h->source_size || len > h->source_size - off)
                    return BW_E_FORMAT;
                sum += len;
                if (pass) {
                    d->ext[n_ext + k].off = off;
                    d->ext[n_ext + k].len = len;
                }
            }
            if (sum > h->prefix_max)
                return BW_E_TOOBIG;
            q = take(&r, BWH_DELTA_TAG_LEN + BW_SHA256_LEN);
            if (!q)
                return BW_E_FORMAT;
            if (pass) {
                struct bwh_delta_rec *c = &d->rec[i];

                c->kind = BWH_DELTA_K_FRAME;
                c->delta_len = flen;
                c->ext0 = n_ext;
                c->n_ext = *ne;
                c->prefix_len = sum;
                memcpy(c->tag, q, BWH_DELTA_TAG_LEN);
                c->digest = q + BWH_DELTA_TAG_LEN;
                c->delta_off = at;
            }
            at += flen;
            n_ext += *ne;
        } else {
            return BW_E_FORMAT;
        }
        i++;
    }
    if (r.left)
        return BW_E_TRAILING;
    if (d->whole_total > h->n_chunks * bound)
        return BW_E_FORMAT;
    d->n_ext = n_ext;
    d->n_blocks = n_idx;
    d->idx_off = at; /* after the delta frames, before the whole frames */
    d->file_len = at + h->idx_zlen + d->whole_total;
    return BW_OK;
}

bw_err bwh_delta_meta_parse(struct bwh_delta *d, const uint8_t *z, size_t zlen)
{
    bw_err rc;

    d->meta = d->idx = NULL;
    d->index = NULL;
    d->rec = NULL;
    d->ext = NULL;
    if (zlen != d->h.meta_zlen)
        return BW_E_TRUNCATED;
    if ((rc = unzstd(z, zlen, d->h.meta_len, &d->meta)))
        return rc;
    if ((rc = plan_ops(d, 0)))
        return rc;
    d->rec = bwh_calloc(d->h.n_chunks ? (size_t)d->h.n_chunks : 1, sizeof(*d->rec));
    d->ext = bwh_calloc(d->n_ext ? (size_t)d->n_ext : 1, sizeof(*d->ext));
    if (!d->rec || !d->ext)
        return BW_E_NOMEM;
    return plan_ops(d, 1);
}

bw_err bwh_delta_index_parse(struct bwh_delta *d, const uint8_t *z, size_t zlen)
{
    const struct bwh_delta_hdr *h = &d->h;
    uint64_t i, at, bound = ZSTD_compressBound(h->chunk_size);
    uint8_t *m = NULL;
    bw_err rc;

    if (d->idx)
        return BW_OK;
    if (zlen != h->idx_zlen)
        return BW_E_TRUNCATED;
    if (h->idx_len != h->n_chunks * 4 + d->n_blocks * BWH_DELTA_HASH_LEN)
        return BW_E_FORMAT;
    if ((rc = unzstd(z, zlen, h->idx_len, &m)))
        goto out;
    at = d->file_len - d->whole_total;
    for (i = 0; i < h->n_chunks; i++) {
        uint32_t w = be32(m + i * 4);

        rc = BW_E_FORMAT;
        if (w == 0 || w > bound)
            goto out;
        d->rec[i].whole_len = w;
        d->rec[i].whole_off = at;
        at += w;
    }
    if (at != d->file_len)
        goto out;
    at = 0;
    for (i = 0; i < h->n_chunks; i++) {
        d->rec[i].idx0 = at;
        if (!d->rec[i].same)
            at += div_up(chunk_len(d, i), BWH_DELTA_BLOCK);
    }
    d->index = m + h->n_chunks * 4;
    d->idx = m;
    m = NULL;
    rc = BW_OK;
out:
    bwh_free(m);
    return rc;
}

uint64_t bwh_delta_predicted(const struct bwh_delta *d)
{
    uint64_t i, sum = BWH_DELTA_HDR_LEN + d->h.env_len + d->h.meta_zlen;

    for (i = 0; i < d->h.n_chunks; i++)
        sum += d->rec[i].delta_len;
    return sum;
}

bw_err bwh_delta_block_hash(const uint8_t *p, size_t len, uint8_t out[BWH_DELTA_HASH_LEN])
{
    uint8_t d[BW_SHA256_LEN];
    bw_err rc = bw_sha256(p, len, d);

    if (!rc)
        memcpy(out, d, BWH_DELTA_HASH_LEN);
    return rc;
}

static uint64_t hash_key(const uint8_t *h)
{
    uint64_t k = 0;
    unsigned i;

    for (i = 0; i < BWH_DELTA_HASH_LEN; i++)
        k = k << 8 | h[i];
    return k * 0x9E3779B97F4A7C15ull;
}

int64_t bwh_delta_slot_find(const struct bwh_delta_slot *s, const uint8_t *hash)
{
    uint64_t i;

    if (!s->tab)
        return -1;
    for (i = hash_key(hash) & s->mask; s->tab[i]; i = (i + 1) & s->mask) {
        uint64_t b = s->tab[i] - 1;

        if (!memcmp(s->hashes + b * BWH_DELTA_HASH_LEN, hash, BWH_DELTA_HASH_LEN))
            return (int64_t)b;
    }
    return -1;
}

void bwh_delta_slot_free(struct bwh_delta_slot *s)
{
    if (!s)
        return;
    bwh_free(s->hashes);
    bwh_free(s->tab);
    memset(s, 0, sizeof(*s));
}

bw_err bwh_delta_slot_index(struct bwh_delta_slot *s, const struct bw_flash *f, uint64_t size)
{
    const size_t step = 1u << 20;
    struct bw_sha256 whole;
    uint8_t *buf = NULL;
    uint64_t off, cap = 1;
    bw_err rc;

    memset(s, 0, sizeof(*s));
    s->f = f;
    if (size > f->size)
        size = f->size;
    s->size = size;
    s->n_blocks = size / BWH_DELTA_BLOCK; /* whole blocks: what a copy reads */
    if (s->n_blocks > UINT32_MAX - 1)
        return BW_E_TOOBIG;
    while (cap < s->n_blocks * 2)
        cap <<= 1;
    s->mask = cap - 1;
    s->hashes = bwh_malloc(s->n_blocks ? (size_t)s->n_blocks * BWH_DELTA_HASH_LEN : 1);
    s->tab = bwh_calloc((size_t)cap, sizeof(*s->tab));
    buf = bwh_malloc(step);
    if (!s->hashes || !s->tab || !buf) {
        bwh_free(buf);
        bwh_delta_slot_free(s);
        return BW_E_NOMEM;
    }
    if ((rc = bw_sha256_init(&whole)))
        goto out;
    for (off = 0; off < size && !rc; off += step) {
        size_t n = size - off < step ? (size_t)(size - off) : step, k;

        rc = f->read(f->ctx, off, buf, n);
        if (!rc)
            rc = bw_sha256_update(&whole, buf, n);
        for (k = 0; !rc && k + BWH_DELTA_BLOCK <= n; k += BWH_DELTA_BLOCK) {
            uint64_t b = (off + k) / BWH_DELTA_BLOCK, i;
            uint8_t *hb = s->hashes + b * BWH_DELTA_HASH_LEN;

            rc = bwh_delta_block_hash(buf + k, BWH_DELTA_BLOCK, hb);
            if (rc || bwh_delta_slot_find(s, hb) >= 0)
                continue; /* the first of equal blocks is enough */
            for (i = hash_key(hb) & s->mask; s->tab[i]; i = (i + 1) & s->mask)
                ;
            s->tab[i] = (uint32_t)(b + 1);
        }
    }
    if (rc)
        bw_sha256_abort(&whole);
    else
        rc = bw_sha256_final(&whole, s->digest);
out:
    bwh_free(buf);
    if (rc)
        bwh_delta_slot_free(s);
    return rc;
}

/* Whether every block of chunk i is in the running slot (a chunk the
 * source holds at the same offset has no index entries: it is read there). */
static int chunk_copyable(const struct bwh_delta *d, const struct bwh_delta_slot *old, uint64_t i)
{
    uint64_t b0 = i * (d->h.chunk_size / BWH_DELTA_BLOCK), e0 = d->rec[i].idx0;
    uint64_t nb = div_up(chunk_len(d, i), BWH_DELTA_BLOCK), k;

    if (d->rec[i].same)
        return i * d->h.chunk_size + chunk_len(d, i) <= old->f->size;
    for (k = 0; k < nb; k++) {
        /* the image's last, partial block is never a whole block of the slot */
        if ((b0 + k + 1) * BWH_DELTA_BLOCK > d->h.image_size)
            return 0;
        if (bwh_delta_slot_find(old, d->index + (e0 + k) * BWH_DELTA_HASH_LEN) < 0)
            return 0;
    }
    return 1;
}

/* Reads chunk i's extents of the running slot into buf, back to back: a
 * FRAME chunk's prefix, or a COPY chunk itself (its runs of blocks). */
static bw_err read_extents(const struct bwh_delta *d, const struct bw_flash *f, uint64_t i,
                          uint8_t *buf)
{
    const struct bwh_delta_rec *c = &d->rec[i];
    size_t at = 0;
    uint32_t k;
    bw_err rc = BW_OK;

    for (k = 0; k < c->n_ext && !rc; k++) {
        const struct bwh_delta_ext *x = &d->ext[c->ext0 + k];

        rc = x->off + x->len <= f->size ? f->read(f->ctx, x->off, buf + at, x->len) : BW_E_IO;
        at += x->len;
    }
    return rc;
}

/* Whether chunk i's prefix in the running slot is the one it was coded
 * against (its tag). */
static bw_err prefix_ok(const struct bwh_delta *d, const struct bw_flash *f, uint64_t i,
                        uint8_t *buf, int *ok)
{
    uint8_t dg[BW_SHA256_LEN];
    bw_err rc;

    *ok = 0;
    rc = read_extents(d, f, i, buf);
    if (rc == BW_E_IO)
        return BW_OK; /* unreadable: not usable, not fatal */
    if (!rc)
        rc = bw_sha256(buf, (size_t)d->rec[i].prefix_len, dg);
    if (!rc)
        *ok = !memcmp(dg, d->rec[i].tag, BWH_DELTA_TAG_LEN);
    return rc;
}

/* Adds frame [off, off+len) to the round's ranges (one open range per
 * section, joined across gaps up to BWH_DELTA_GAP): the bytes it costs. */
struct ranges {
    uint64_t end[2];
    unsigned n;
};

static uint64_t range_add(struct ranges *r, int sec, uint64_t off, uint64_t len)
{
    uint64_t cost = len;

    if (r->end[sec] && off >= r->end[sec] && off - r->end[sec] <= BWH_DELTA_GAP) {
        cost += off - r->end[sec];
    } else {
        r->n++;
    }
    r->end[sec] = off + len;
    return cost;
}

/* SHA-256 of n chunks of a run of SAME chunks read into buf, from chunk
 * first: the list entries (the second half on a thread of its own). */
struct rb_hash {
    const struct bwh_delta *d;
    const uint8_t *buf;
    uint64_t first, n;
    uint8_t *list;
    bw_err rc;
};

static void *rb_hash_run(void *arg)
{
    struct rb_hash *h = arg;
    uint64_t k, cs = h->d->h.chunk_size;

    for (k = 0; k < h->n && !h->rc; k++)
        h->rc = bw_sha256(h->buf + k * cs, chunk_len(h->d, h->first + k),
                          h->list + (h->first + k) * BW_SHA256_LEN);
    return NULL;
}

/* Hashes n SAME chunks in buf: half here, half on a second thread when
 * there are enough to share (the rebuild is the one pass over the slot
 * that a full install does not make). */
static bw_err rb_hash_chunks(const struct bwh_delta *d, const uint8_t *buf, uint64_t first,
                             uint64_t n, uint8_t *list)
{
    struct rb_hash a = {d, buf, first, n, list, BW_OK}, b = a;
    pthread_t t;
    int two = n >= 4;

    if (two) {
        a.n = n / 2;
        b.first = first + a.n;
        b.buf = buf + a.n * d->h.chunk_size;
        b.n = n - a.n;
        two = pthread_create(&t, NULL, rb_hash_run, &b) == 0;
        if (!two) /* no thread: all of it here */
            a.n = n;
    }
    rb_hash_run(&a);
    if (two)
        pthread_join(t, NULL);
    return a.rc ? a.rc : two ? b.rc : BW_OK;
}

/* Bytes of SAME chunks the rebuild reads at once. */
#define RB_READ (4u << 20)

bw_err bwh_delta_list_rebuild(const struct bwh_delta *d, const struct bw_flash *f, uint8_t *list,
                              int *ok)
{
    const uint64_t cs = d->h.chunk_size;
    size_t cap = cs > RB_READ ? (size_t)cs : RB_READ;
    uint8_t *buf = bwh_malloc(cap);
    uint64_t i = 0;
    bw_err rc = BW_OK;

    *ok = 0;
    if (!buf)
        return BW_E_NOMEM;
    while (i < d->h.n_chunks && !rc) {
        const struct bwh_delta_rec *c = &d->rec[i];
        uint64_t n = 1, off = i * cs, len;

        if (c->kind == BWH_DELTA_K_FRAME) {
            memcpy(list + i * BW_SHA256_LEN, c->digest, BW_SHA256_LEN);
            i++;
            continue;
        }
        if (c->kind == BWH_DELTA_K_COPY) {
            rc = read_extents(d, f, i, buf);
            if (!rc)
                rc = bw_sha256(buf, chunk_len(d, i), list + i * BW_SHA256_LEN);
            i++;
            continue;
        }
        /* a run of SAME chunks in one read */
        while (i + n < d->h.n_chunks && d->rec[i + n].kind == BWH_DELTA_K_SAME &&
               (n + 1) * cs <= cap)
            n++;
        len = (n - 1) * cs + chunk_len(d, i + n - 1);
        rc = off + len <= f->size ? f->read(f->ctx, off, buf, (size_t)len) : BW_E_IO;
        if (!rc)
            rc = rb_hash_chunks(d, buf, i, n, list);
        i += n;
    }
    bwh_free(buf);
    if (rc == BW_E_IO)
        return BW_OK; /* an unreadable slot is not the source: *ok stays 0 */
    if (!rc)
        *ok = 1;
    return rc;
}

bw_err bwh_delta_index_fetch(struct bwh_delta_src *src, struct bwh_delta *d)
{
    uint8_t *z;
    bw_err rc;

    if (d->idx)
        return BW_OK;
    z = bwh_malloc((size_t)d->h.idx_zlen);
    if (!z)
        return BW_E_NOMEM;
    rc = bwh_delta_src_read(src, d->idx_off, z, (size_t)d->h.idx_zlen);
    if (!rc)
        rc = bwh_delta_index_parse(d, z, (size_t)d->h.idx_zlen);
    bwh_free(z);
    return rc;
}

/* An interrupted install wrote chunks in order: after this many chunks in
 * a row that the free slot does not hold, the rest is not looked at. */
#define RESUME_MISSES 16u

/* Whether the free slot already holds chunk i (checked with the list). */
static bw_err in_target(const struct bwh_delta *d, const struct bw_flash *target,
                        const struct bw_suit *s, const uint8_t *list, uint64_t i, uint8_t *buf,
                        int *yes)
{
    size_t len = chunk_len(d, i);
    bw_err rc;

    *yes = 0;
    if (i * d->h.chunk_size + len > target->size)
        return BW_OK;
    rc = target->read(target->ctx, i * d->h.chunk_size, buf, len);
    if (!rc)
        *yes = bw_suit_chunk_check(s, 0, list, i, buf, len) == BW_OK;
    return rc;
}

bw_err bwh_delta_plan_make(struct bwh_delta_src *src, struct bwh_delta *d,
                           const struct bw_suit *s, uint8_t *list, const struct bw_flash *old,
                           const struct bw_flash *target, struct bwh_delta_plan *p)
{
    uint8_t *buf = NULL;
    uint64_t i, round = 0;
    unsigned misses = 0;
    struct ranges r;
    int ok = 0;
    bw_err rc = BW_OK;

    memset(p, 0, sizeof(*p));
    memset(&r, 0, sizeof(r));
    p->how = bwh_malloc(d->h.n_chunks ? (size_t)d->h.n_chunks : 1);
    buf = bwh_malloc(BWH_DELTA_PREFIX_MAX > d->h.chunk_size ? BWH_DELTA_PREFIX_MAX
                                                            : d->h.chunk_size);
    if (!p->how || !buf) {
        rc = BW_E_NOMEM;
        goto out;
    }
    /* the list as the running slot gives it: when it checks, the slot holds
     * every chunk the plan copies from it, and nothing else is fetched */
    if ((rc = bwh_delta_list_rebuild(d, old, list, &ok)))
        goto out;
    p->rebuilt = ok && bw_suit_chunk_list_check(s, 0, list, (size_t)d->h.list_len) == BW_OK;
    if (!p->rebuilt) {
        /* another image, or a damaged one: the delta's list (signed), the
         * index section, and the slot's blocks by content */
        rc = bwh_delta_src_read(src, BWH_DELTA_HDR_LEN + d->h.env_len, list, (size_t)d->h.list_len);
        if (!rc)
            rc = bw_suit_chunk_list_check(s, 0, list, (size_t)d->h.list_len);
        if (!rc)
            rc = bwh_delta_index_fetch(src, d);
        if (!rc)
            rc = bwh_delta_slot_index(&p->idx, old, d->h.source_size);
        if (rc)
            goto out;
    }
    p->source_match = p->rebuilt || (p->idx.size == d->h.source_size &&
                                     !memcmp(p->idx.digest, d->h.source_digest, BW_SHA256_LEN));
    p->head_bytes = src->bytes;
    p->requests = src->requests;
    for (i = 0; i < d->h.n_chunks; i++) {
        const struct bwh_delta_rec *c = &d->rec[i];
        uint64_t cost = 0;
        int yes = 0;

        if (p->rebuilt ? c->kind != BWH_DELTA_K_FRAME : chunk_copyable(d, &p->idx, i)) {
            p->how[i] = BWH_DELTA_COPY;
            p->n_copy++;
            continue;
        }
        /* a chunk an interrupted install already wrote: not fetched again */
        if (target && misses < RESUME_MISSES) {
            if ((rc = in_target(d, target, s, list, i, buf, &yes)))
                goto out;
            misses = yes ? 0 : misses + 1;
            if (yes) {
                p->how[i] = BWH_DELTA_TARGET;
                p->n_target++;
                continue;
            }
        }
        if (c->kind == BWH_DELTA_K_FRAME) {
            yes = p->source_match;
            if (!yes && (rc = prefix_ok(d, old, i, buf, &yes)))
                goto out;
        }
        if (yes) {
            p->how[i] = BWH_DELTA_FRAME;
            p->n_frame++;
            cost = range_add(&r, 0, c->delta_off, c->delta_len);
        } else {
            p->how[i] = BWH_DELTA_WHOLE;
            p->n_whole++;
            cost = range_add(&r, 1, c->whole_off, c->whole_len);
        }
        p->frame_bytes += cost;
        round += cost;
        if (round >= BWH_DELTA_BATCH) { /* the device fetches this round now */
            p->requests += r.n;
            memset(&r, 0, sizeof(r));
            round = 0;
        }
    }
    p->requests += r.n;
out:
    bwh_free(buf);
    if (rc)
        bwh_delta_plan_free(p);
    return rc;
}

void bwh_delta_plan_free(struct bwh_delta_plan *p)
{
    if (p) {
        bwh_free(p->how);
        p->how = NULL;
        bwh_delta_slot_free(&p->idx);
    }
}
bw_err bwh_delta_decode(void *dctx, uint8_t *dst, size_t want, const uint8_t *src, size_t len,
                        const uint8_t *prefix, size_t prefix_len)
{
    /* a prefix (or none) for this frame only: a failed decode cannot leave
     * one behind for the next, which sets its own */
    if (ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)) ||
        ZSTD_isError(ZSTD_DCtx_refPrefix(dctx, prefix, prefix_len)))
        return BW_E_STATE;
    return bwh_zchunk_decode(dctx, dst, want, src, len);
}

bw_err bwh_delta_open(struct bwh_delta_src *src, const struct bw_ec_key *key,
                      struct bwh_delta *d, struct bw_suit *suit, uint8_t **env, uint8_t **list)
{
    uint8_t hdr[BWH_DELTA_HDR_LEN], *head = NULL, *z = NULL;
    uint64_t n_chunks = 0, list_len = 0;
    size_t env_len = 0;
    bw_err rc;

    memset(d, 0, sizeof(*d));
    *env = *list = NULL;
    if ((rc = bwh_delta_src_read(src, 0, hdr, sizeof(hdr))))
        return rc;
    if ((rc = bwh_delta_hdr_parse(hdr, sizeof(hdr), &d->h)))
        return rc;
    head = bwh_malloc((size_t)d->h.env_len);
    z = bwh_malloc((size_t)d->h.meta_zlen);
    rc = BW_E_NOMEM;
    if (!head || !z)
        goto out;
    if ((rc = bwh_delta_src_read(src, BWH_DELTA_HDR_LEN, head, (size_t)d->h.env_len)))
        goto out;
    rc = bw_cbor_wellformed(head, (size_t)d->h.env_len, 0, &env_len);
    if (!rc && env_len != d->h.env_len)
        rc = BW_E_FORMAT;
    if (!rc)
        rc = bw_suit_parse(head, env_len, key, suit);
    if (rc)
        goto out;
    rc = BW_E_STATE;
    if (key && !suit->authenticated)
        goto out;
    /* a single chunked image, as bwh_pkg_install installs it */
    rc = BW_E_UNSUPPORTED;
    if (suit->n_components < 1 || suit->try_each || suit->slot_cond ||
        !suit->comp[0].has_chunks ||
        (suit->comp[0].has_uri && suit->comp[0].uri.len && suit->comp[0].uri.p[0] == '#'))
        goto out;
    if ((rc = bw_suit_chunk_layout(suit, 0, &n_chunks, &list_len)))
        goto out;
    rc = BW_E_FORMAT;
    if (list_len != d->h.list_len || n_chunks != d->h.n_chunks ||
        suit->comp[0].chunk_size != d->h.chunk_size || suit->comp[0].image_size != d->h.image_size)
        goto out;
    /* the plan; the chunk list before it is fetched only when the running
     * slot does not rebuild it (bwh_delta_plan_make) */
    d->meta_off = BWH_DELTA_HDR_LEN + d->h.env_len + d->h.list_len;
    if ((rc = bwh_delta_src_read(src, d->meta_off, z, (size_t)d->h.meta_zlen)) ||
        (rc = bwh_delta_meta_parse(d, z, (size_t)d->h.meta_zlen)))
        goto out;
    rc = BW_E_NOMEM;
    *list = bwh_calloc(1, list_len ? (size_t)list_len : 1);
    if (!*list)
        goto out;
    *env = head; /* suit points into it */
    head = NULL;
    rc = BW_OK;
out:
    bwh_free(head);
    bwh_free(z);
    if (rc) {
        bwh_free(*list);
        *list = NULL;
        bwh_delta_free(d);
    }
    return rc;
}

/* A round: the frames of chunks [first, end) held in buf, fetched as
 * ranges. */
struct round {
    uint64_t first, end;
    uint64_t roff[BWH_DELTA_BATCH / 64 + 8]; /* file offset of each range */
    uint64_t rlen[BWH_DELTA_BATCH / 64 + 8];
    size_t rpos[BWH_DELTA_BATCH / 64 + 8];
    unsigned n;
    size_t used;
};

/* Where file bytes [off, off+len) sit in the round's buffer, or NULL. */
static const uint8_t *round_at(const struct round *r, const uint8_t *buf, uint64_t off,
                               uint64_t len)
{
    unsigned k;

    for (k = 0; k < r->n; k++)
        if (off >= r->roff[k] && off + len <= r->roff[k] + r->rlen[k])
            return buf + r->rpos[k] + (off - r->roff[k]);
    return NULL;
}

/* Plans the next round from chunk `first` (the same rule as the plan's
 * count: stop once BWH_DELTA_BATCH bytes are due) and fetches it. */
static bw_err round_fetch(struct bwh_delta_src *src, const struct bwh_delta *d,
                          const struct bwh_delta_plan *p, uint64_t first, struct round *r,
                          uint8_t *buf)
{
    uint64_t i, end[2] = {0, 0};
    unsigned open[2] = {0, 0};
    size_t used = 0;
    bw_err rc = BW_OK;
    unsigned k;

    r->first = first;
    r->n = 0;
    for (i = first; i < d->h.n_chunks && used < BWH_DELTA_BATCH; i++) {
        const struct bwh_delta_rec *c = &d->rec[i];
        int sec;
        uint64_t off, len;

        if (p->how[i] == BWH_DELTA_FRAME) {
            sec = 0, off = c->delta_off, len = c->delta_len;
        } else if (p->how[i] == BWH_DELTA_WHOLE) {
            sec = 1, off = c->whole_off, len = c->whole_len;
        } else {
            continue;
        }
        if (end[sec] && off >= end[sec] && off - end[sec] <= BWH_DELTA_GAP) {
            r->rlen[open[sec]] += off + len - end[sec];
            used += (size_t)(off + len - end[sec]);
        } else {
            if (r->n == sizeof(r->roff) / sizeof(r->roff[0]))
                break;
            open[sec] = r->n++;
            r->roff[open[sec]] = off;
            r->rlen[open[sec]] = len;
            used += (size_t)len;
        }
        end[sec] = off + len;
    }
    r->end = i;
    /* ranges in file order, back to back in buf */
    used = 0;
    for (k = 0; k < r->n; k++) {
        unsigned j, best = k;

        for (j = k + 1; j < r->n; j++)
            if (r->roff[j] < r->roff[best])
                best = j;
        if (best != k) {
            uint64_t o = r->roff[k], l = r->rlen[k];

            r->roff[k] = r->roff[best], r->rlen[k] = r->rlen[best];
            r->roff[best] = o, r->rlen[best] = l;
        }
        r->rpos[k] = used;
        used += (size_t)r->rlen[k];
    }
    r->used = used;
    for (k = 0; k < r->n && !rc; k++)
        rc = bwh_delta_src_read(src, r->roff[k], buf + r->rpos[k], (size_t)r->rlen[k]);
    return rc;
}

/* Chunk i from the running slot by the index, runs of adjacent blocks in
 * one read. */
static bw_err assemble_copy(const struct bwh_delta *d, const struct bwh_delta_slot *old,
                            uint64_t i, uint8_t *dst, size_t len)
{
    uint64_t b0 = d->rec[i].idx0, nb = len / BWH_DELTA_BLOCK, k = 0;

    if (d->rec[i].same)
        return old->f->read(old->f->ctx, i * d->h.chunk_size, dst, len);
    while (k < nb) {
        int64_t at = bwh_delta_slot_find(old, d->index + (b0 + k) * BWH_DELTA_HASH_LEN), nx;
        uint64_t run = 1;
        bw_err rc;

        if (at < 0)
            return BW_E_CHUNK; /* the plan said copyable: the index changed under us */
        while (k + run < nb &&
               (nx = bwh_delta_slot_find(old, d->index + (b0 + k + run) * BWH_DELTA_HASH_LEN)) ==
                   at + (int64_t)run)
            run++;
        rc = old->f->read(old->f->ctx, (uint64_t)at * BWH_DELTA_BLOCK, dst + k * BWH_DELTA_BLOCK,
                          (size_t)run * BWH_DELTA_BLOCK);
        if (rc)
            return rc;
        k += run;
    }
    return nb * BWH_DELTA_BLOCK == len ? BW_OK : BW_E_CHUNK;
}

/* Whether a zstd frame carries a content checksum, which decoding checks:
 * the frame header descriptor's bit 2, after the magic (RFC 8878, 3.1.1). */
static int frame_checksummed(const uint8_t *f, size_t len)
{
    return len > 4 && f[0] == 0x28 && f[1] == 0xb5 && f[2] == 0x2f && f[3] == 0xfd &&
           (f[4] & 0x04);
}

struct dstate {
    struct bwh_delta_src *src;
    struct bwh_delta *d;
    const struct bw_suit *suit;
    const uint8_t *list;
    const struct bwh_delta_plan *plan;
    const struct bw_flash *old, *target;
    void *dctx;
    uint8_t *prefix, *frame, *chunk;
    struct bwh_delta_stats *st;
};

/* Chunk i whole: its whole frame (from the round, or fetched alone, the
 * index section first when a device running the source needs one). */
static bw_err assemble_whole(struct dstate *ds, const struct round *r, const uint8_t *rbuf,
                             uint64_t i, size_t len)
{
    const struct bwh_delta_rec *c = &ds->d->rec[i];
    const uint8_t *f = NULL;
    bw_err rc;

    if ((rc = bwh_delta_index_fetch(ds->src, ds->d)))
        return rc;
    if (r)
        f = round_at(r, rbuf, c->whole_off, c->whole_len);
    if (!f) {
        rc = bwh_delta_src_read(ds->src, c->whole_off, ds->frame, c->whole_len);
        if (rc)
            return rc;
        f = ds->frame;
    }
    return bwh_delta_decode(ds->dctx, ds->chunk, len, f, c->whole_len, NULL, 0);
}

/* Chunk i as planned into ds->chunk. Chunks the plan proved (the list
 * rebuilt from them, or found in the free slot) and whole frames go
 * straight to the core's check; the others are pre-checked here, and one
 * that does not check is tried whole once. */
static bw_err assemble(struct dstate *ds, const struct round *r, const uint8_t *rbuf,
                       uint8_t how, uint64_t i, size_t len)
{
    const struct bwh_delta *d = ds->d;
    const struct bwh_delta_rec *c = &d->rec[i];
    const uint8_t *f;
    bw_err rc;

    switch (how) {
    case BWH_DELTA_TARGET:
        return ds->target->read(ds->target->ctx, i * d->h.chunk_size, ds->chunk, len);
    case BWH_DELTA_COPY:
        if (c->same)
            rc = ds->old->read(ds->old->ctx, i * d->h.chunk_size, ds->chunk, len);
        else if (ds->plan->rebuilt)
            rc = read_extents(d, ds->old, i, ds->chunk);
        else
            rc = assemble_copy(d, &ds->plan->idx, i, ds->chunk, len);
        if (ds->plan->rebuilt)
            return rc; /* its digest is the list's: the core checks it again */
        break;
    case BWH_DELTA_FRAME:
        rc = read_extents(d, ds->old, i, ds->prefix);
        f = round_at(r, rbuf, c->delta_off, c->delta_len);
        if (!rc && !f)
            rc = BW_E_STATE;
        if (!rc)
            rc = bwh_delta_decode(ds->dctx, ds->chunk, len, f, c->delta_len, ds->prefix,
                                  (size_t)c->prefix_len);
        /* a frame with zstd's content checksum has just been checked
         * against what it decoded to (a wrong prefix or frame fails it):
         * the SHA-256 pre-check is left to the core's check */
        if (!rc && frame_checksummed(f, c->delta_len))
            return rc;
        if (rc == BW_E_NOMEM)
            return rc;
        break;
    default:
        return assemble_whole(ds, r, rbuf, i, len);
    }
    /* a slot that reads wrong or a frame that decodes wrong: whole, once */
    if (!rc)
        rc = bw_suit_chunk_check(ds->suit, 0, ds->list, i, ds->chunk, len);
    if (rc == BW_E_NOMEM || rc == BW_E_CRYPTO)
        return rc;
    if (rc) {
        ds->st->n_refetch++;
        rc = assemble_whole(ds, r, rbuf, i, len);
    }
    return rc;
}

/* Stage 2 of the core's stream on the pipe's thread (host/pkg.c). */
static bw_err commit_chunk(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    (void)off;
    return bw_install_commit(ctx, data, len);
}

bw_err bwh_delta_install(struct bwh_delta_src *src, struct bwh_delta *d,
                         const struct bw_suit *suit, uint8_t *list, struct bw_update *u,
                         const struct bw_suit_expect *e, const struct bw_flash *old,
                         const struct bw_flash *target, struct bwh_progress *prog,
                         struct bwh_delta_stats *st, const char **stage)
{
    struct bwh_delta_plan plan;
    struct bw_install in;
    struct round *r = NULL;
    struct bwh_hash_pipe *hp = NULL;
    struct dstate ds;
    uint8_t *rbuf = NULL, *own_chunk = NULL;
    uint64_t i = 0;
    int begun = 0;
    bw_err rc;

    memset(st, 0, sizeof(*st));
    memset(&ds, 0, sizeof(ds));
    *stage = "plan";
    if ((rc = bwh_delta_plan_make(src, d, suit, list, old, target, &plan)))
        return rc;
    st->n_target = plan.n_target, st->n_copy = plan.n_copy;
    st->n_frame = plan.n_frame, st->n_whole = plan.n_whole;
    st->source_match = plan.source_match;
    st->rebuilt = plan.rebuilt;
    ds.src = src, ds.d = d, ds.suit = suit, ds.list = list, ds.plan = &plan;
    ds.old = old, ds.target = target, ds.st = st;
    ds.dctx = bwh_zchunk_dctx();
    ds.prefix = bwh_malloc(BWH_DELTA_PREFIX_MAX);
    ds.frame = bwh_malloc(bwh_zchunk_bound(d->h.chunk_size));
    ds.chunk = own_chunk = bwh_malloc(d->h.chunk_size);
    r = bwh_malloc(sizeof(*r));
    rbuf = bwh_malloc(BWH_DELTA_BATCH + bwh_zchunk_bound(d->h.chunk_size) + BWH_DELTA_GAP * 2);
    rc = BW_E_NOMEM;
    if (!ds.dctx || !ds.prefix || !ds.frame || !ds.chunk || !r || !rbuf)
        goto out;
    *stage = "device check";
    rc = bw_install_begin(&in, u, suit, e, list, (size_t)d->h.list_len, NULL, 0);
    if (rc)
        goto out;
    begun = 1;
    rc = bw_install_feed(&in, list, (size_t)d->h.list_len);
    /* Stage 2 (the core's image hash and slot write) on a second thread
     * unless chunks are read back from the slot being written (resume). */
    if (!rc && !plan.n_target && d->h.n_chunks) {
        rc = bwh_hash_pipe_new(&hp, d->h.chunk_size);
        if (!rc)
            bwh_hash_pipe_commit_only(hp, commit_chunk, &in);
    }
    *stage = "payload";
    memset(r, 0, sizeof(*r));
    while (!rc && i < d->h.n_chunks) {
        if (i >= r->end && (rc = round_fetch(src, d, &plan, i, r, rbuf)))
            break;
        for (; i < r->end && !rc; i++) {
            size_t len = chunk_len(d, i);

            if (hp) {
                ds.chunk = bwh_hash_pipe_slot(hp);
                if ((rc = bwh_hash_pipe_error(hp)))
                    break;
            }
            rc = assemble(&ds, r, rbuf, plan.how[i], i, len);
            /* the gate: only a chunk the core checked is written */
            if (!rc)
                rc = bw_install_check(&in, ds.chunk, len);
            if (!rc && hp)
                bwh_hash_pipe_push(hp, len);
            else if (!rc)
                rc = bw_install_commit(&in, ds.chunk, len);
            if (!rc && prog)
                bwh_progress_add(prog, len);
        }
    }
    if (hp) {
        uint8_t unused[BW_SHA256_LEN];
        bw_err prc = bwh_hash_pipe_finish(hp, unused); /* joins stage 2 */

        if (!rc)
            rc = prc;
        ds.chunk = own_chunk;
    }
    if (!rc) {
        *stage = "finish";
        rc = bw_install_finish(&in);
    }
out:
    if (rc && begun)
        bw_install_abort(&in);
    bwh_zchunk_dctx_free(ds.dctx);
    bwh_free(ds.prefix);
    bwh_free(ds.frame);
    bwh_free(own_chunk);
    bwh_free(r);
    bwh_free(rbuf);
    bwh_delta_plan_free(&plan);
    return rc;
}

int bwh_delta_may_fall_back(const char *stage, bw_err rc)
{
    return strcmp(stage, "device check") && strcmp(stage, "finish") && rc != BW_E_NOMEM;
}
