/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streaming package reader (include/bwh/host.h): envelope, chunk list, payload.
 * Method: the envelope is read until it is one complete CBOR item (at most
 * env_cap bytes) and authenticated; the chunk list is read and checked
 * against the signed digest; then each payload chunk is read, checked
 * against its list entry and only then handed to the sink, while a second
 * thread hashes the whole image for the final image-match check.
 * A compressed package (BW_SUIT_PARAM_COMPRESSION) has a table of
 * compressed lengths after the list, checked against its signed digest
 * before any chunk is read; each chunk is one zstd frame, decompressed here
 * into a buffer of exactly the chunk's size and then checked like an
 * uncompressed one, so the core only ever sees uncompressed bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "bwh/host.h"

#define PIPE_SLOTS 4

struct bwh_hash_pipe {
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *slot[PIPE_SLOTS];
    size_t len[PIPE_SLOTS];
    uint64_t off[PIPE_SLOTS];
    uint64_t pushed, hashed, next_off;
    int eof;
    bw_err err;
    struct bw_sha256 h;
    bwh_pkg_sink sink; /* run by the thread after hashing a slot */
    void *sink_ctx;
    int no_hash;      /* the sink hashes (the core's install stream) */
};

static void *pipe_main(void *arg)
{
    struct bwh_hash_pipe *hp = arg;
    bw_err failed = BW_OK; /* this thread's own copy of hp->err */

    for (;;) {
        uint64_t i;
        bw_err rc = BW_OK;

        pthread_mutex_lock(&hp->mu);
        while (hp->hashed == hp->pushed && !hp->eof)
            pthread_cond_wait(&hp->cv, &hp->mu);
        if (hp->hashed == hp->pushed) {
            pthread_mutex_unlock(&hp->mu);
            return NULL;
        }
        i = hp->hashed % PIPE_SLOTS;
        pthread_mutex_unlock(&hp->mu);
        if (failed == BW_OK) {
            if (!hp->no_hash)
                rc = bw_sha256_update(&hp->h, hp->slot[i], hp->len[i]);
            if (rc == BW_OK && hp->sink)
                rc = hp->sink(hp->sink_ctx, hp->off[i], hp->slot[i], hp->len[i]);
            failed = rc;
        }
        pthread_mutex_lock(&hp->mu);
        if (hp->err == BW_OK)
            hp->err = rc;
        hp->hashed++;
        pthread_cond_broadcast(&hp->cv);
        pthread_mutex_unlock(&hp->mu);
    }
}

bw_err bwh_hash_pipe_new(struct bwh_hash_pipe **out, size_t slot_size)
{
    struct bwh_hash_pipe *hp = bwh_calloc(1, sizeof(*hp));
    int i;

    *out = NULL;
    if (!hp)
        return BW_E_NOMEM;
    for (i = 0; i < PIPE_SLOTS; i++) {
        hp->slot[i] = bwh_malloc(slot_size);
        if (!hp->slot[i])
            goto fail;
    }
    if (bw_sha256_init(&hp->h) != BW_OK)
        goto fail;
    pthread_mutex_init(&hp->mu, NULL);
    pthread_cond_init(&hp->cv, NULL);
    if (pthread_create(&hp->thr, NULL, pipe_main, hp) != 0) {
        bw_sha256_abort(&hp->h);
        goto fail;
    }
    *out = hp;
    return BW_OK;
fail:
    for (i = 0; i < PIPE_SLOTS; i++)
        bwh_free(hp->slot[i]);
    bwh_free(hp);
    return BW_E_NOMEM;
}

uint8_t *bwh_hash_pipe_slot(struct bwh_hash_pipe *hp)
{
    uint8_t *s;

    pthread_mutex_lock(&hp->mu);
    while (hp->pushed - hp->hashed == PIPE_SLOTS)
        pthread_cond_wait(&hp->cv, &hp->mu);
    s = hp->slot[hp->pushed % PIPE_SLOTS];
    pthread_mutex_unlock(&hp->mu);
    return s;
}

void bwh_hash_pipe_set_sink(struct bwh_hash_pipe *hp, bwh_pkg_sink sink, void *ctx)
{
    hp->sink = sink;
    hp->sink_ctx = ctx;
}

void bwh_hash_pipe_commit_only(struct bwh_hash_pipe *hp, bwh_pkg_sink sink, void *ctx)
{
    hp->no_hash = 1;
    bwh_hash_pipe_set_sink(hp, sink, ctx);
}

bw_err bwh_hash_pipe_error(struct bwh_hash_pipe *hp)
{
    bw_err rc;

    pthread_mutex_lock(&hp->mu);
    rc = hp->err;
    pthread_mutex_unlock(&hp->mu);
    return rc;
}

void bwh_hash_pipe_push(struct bwh_hash_pipe *hp, size_t n)
{
    pthread_mutex_lock(&hp->mu);
    hp->off[hp->pushed % PIPE_SLOTS] = hp->next_off;
    hp->next_off += n;
    hp->len[hp->pushed % PIPE_SLOTS] = n;
    hp->pushed++;
    pthread_cond_broadcast(&hp->cv);
    pthread_mutex_unlock(&hp->mu);
}

bw_err bwh_hash_pipe_finish(struct bwh_hash_pipe *hp, uint8_t out[BW_SHA256_LEN])
{
    bw_err rc;
    int i;

    pthread_mutex_lock(&hp->mu);
    hp->eof = 1;
    pthread_cond_broadcast(&hp->cv);
    pthread_mutex_unlock(&hp->mu);
    pthread_join(hp->thr, NULL);
    rc = hp->err;
    if (rc == BW_OK)
        rc = bw_sha256_final(&hp->h, out);
    else
        bw_sha256_abort(&hp->h);
    pthread_mutex_destroy(&hp->mu);
    pthread_cond_destroy(&hp->cv);
    for (i = 0; i < PIPE_SLOTS; i++)
        bwh_free(hp->slot[i]);
    bwh_free(hp);
    return rc;
}

/* Reads n bytes of the stream past the envelope: leftovers first. */
static bw_err pkg_read(struct bwh_pkg *p, uint8_t *dst, size_t n, size_t *got)
{
    size_t have = p->buf_len - p->buf_pos, take = have < n ? have : n, more = 0;
    bw_err rc = BW_OK;

    if (take) {
        memcpy(dst, p->buf + p->buf_pos, take);
        p->buf_pos += take;
    }
    if (take < n)
        rc = bwh_read_full(p->fd, dst + take, n - take, &more);
    if (!rc && more && p->tap)
        rc = bw_sha256_update(p->tap, dst + take, more);
    p->nread += more;
    *got = take + more;
    return rc;
}

static bw_err read_envelope(struct bwh_pkg *p, const struct bw_ec_key *key, size_t env_cap);

size_t bwh_zchunk_bound(uint32_t chunk_size)
{
    return ZSTD_compressBound(chunk_size);
}

bw_err bwh_zchunk_table(const uint8_t *table, size_t n, uint32_t chunk_size, uint32_t *lens)
{
    size_t i, bound = bwh_zchunk_bound(chunk_size);

    for (i = 0; i < n; i++) {
        const uint8_t *e = table + i * BW_SUIT_CLEN_LEN;
        uint32_t v = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];

        if (v == 0 || v > bound)
            return BW_E_FORMAT;
        lens[i] = v;
    }
    return BW_OK;
}

/* A zstd error as a bulwark one. */
static bw_err zerr(size_t r)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_srcSize_wrong:
        return BW_E_TRUNCATED;
    case ZSTD_error_dstSize_tooSmall:
        return BW_E_SIZE;
    case ZSTD_error_frameParameter_windowTooLarge:
        return BW_E_TOOBIG;
    case ZSTD_error_memory_allocation:
        return BW_E_NOMEM;
    default:
        return BW_E_FORMAT;
    }
}

void *bwh_zchunk_dctx(void)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();

    if (d && ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, BWH_ZSTD_WINDOW_LOG))) {
        ZSTD_freeDCtx(d);
        d = NULL;
    }
    return d;
}

void bwh_zchunk_dctx_free(void *dctx)
{
    ZSTD_freeDCtx(dctx);
}

bw_err bwh_zchunk_stream(void *dctx, uint8_t *dst, size_t want, const uint8_t *src, size_t len,
                         uint64_t image_size, int first, int last)
{
    ZSTD_inBuffer ib = {src, len, 0};
    ZSTD_outBuffer ob = {dst, want, 0};
    size_t r;

    if (first) {
        unsigned long long declared = ZSTD_getFrameContentSize(src, len);

        if (declared == ZSTD_CONTENTSIZE_ERROR)
            return BW_E_FORMAT;
        if (declared != image_size)
            return BW_E_SIZE; /* unknown, or not the signed image size */
        if (ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)))
            return BW_E_STATE;
    }
    for (;;) {
        size_t in0 = ib.pos, out0 = ob.pos;

        r = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(r))
            return zerr(r);
        if (r == 0 || ob.pos == ob.size || (ib.pos == in0 && ob.pos == out0))
            break; /* frame done, chunk full, or nothing more from this input */
    }
    if (ib.pos < ib.size)
        return r == 0 ? BW_E_TRAILING : BW_E_SIZE; /* bytes past the frame, or past the chunk */
    if (ob.pos < want)
        return BW_E_TRUNCATED;
    if (r != 0) {
        /* The chunk is full: the decoder must hold nothing more for it. */
        uint8_t probe;
        ZSTD_outBuffer pb = {&probe, 1, 0};
        ZSTD_inBuffer eb = {src + len, 0, 0};

        r = ZSTD_decompressStream(dctx, &pb, &eb);
        if (ZSTD_isError(r))
            return zerr(r);
        if (pb.pos)
            return BW_E_SIZE;
    }
    if (last != (r == 0))
        return last ? BW_E_TRUNCATED : BW_E_SIZE; /* the frame must end with the last chunk */
    return BW_OK;
}

bw_err bwh_zchunk_decode(void *dctx, uint8_t *dst, size_t want, const uint8_t *src, size_t len)
{
    ZSTD_DCtx *own = NULL;
    unsigned long long declared;
    size_t flen, r;

    flen = ZSTD_findFrameCompressedSize(src, len);
    if (ZSTD_isError(flen))
        return zerr(flen) == BW_E_TRUNCATED ? BW_E_TRUNCATED : BW_E_FORMAT;
    if (flen != len)
        return BW_E_TRAILING; /* one frame per chunk, nothing after it */
    declared = ZSTD_getFrameContentSize(src, len);
    if (declared == ZSTD_CONTENTSIZE_ERROR)
        return BW_E_FORMAT;
    if (declared != (unsigned long long)want)
        return BW_E_SIZE; /* unknown, or not the chunk's size: refused before decoding */
    if (!dctx) {
        dctx = own = bwh_zchunk_dctx();
        if (!own)
            return BW_E_NOMEM;
    }
    /* dst's capacity is the chunk's size: zstd stops with dstSize_tooSmall
     * rather than write past it. */
    r = ZSTD_decompressDCtx(dctx, dst, want, src, len);
    ZSTD_freeDCtx(own);
    if (ZSTD_isError(r))
        return zerr(r);
    return r == want ? BW_OK : BW_E_SIZE;
}

bw_err bwh_pkg_open(struct bwh_pkg *p, const char *path, const struct bw_ec_key *key, size_t env_cap)
{
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    if (strcmp(path, "-") == 0) {
        p->fd = 0;
    } else {
        p->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (p->fd < 0)
            return BW_E_IO;
        p->own_fd = 1;
    }
    return read_envelope(p, key, env_cap);
}

bw_err bwh_pkg_open_fd(struct bwh_pkg *p, int fd, const struct bw_ec_key *key, size_t env_cap)
{
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->own_fd = 1;
    return read_envelope(p, key, env_cap);
}

static bw_err read_envelope(struct bwh_pkg *p, const struct bw_ec_key *key, size_t env_cap)
{
    size_t alloc = 0, got;
    uint8_t *nb;
    bw_err rc;

    for (;;) {
        size_t want = alloc ? alloc * 2 : 4096;

        if (want > env_cap + 1)
            want = env_cap + 1;
        rc = BW_E_NOMEM;
        nb = want > alloc ? bwh_realloc(p->buf, want) : NULL;
        if (!nb)
            return alloc >= env_cap + 1 ? BW_E_TOOBIG : BW_E_NOMEM;
        p->buf = nb;
        alloc = want;
        rc = bwh_read_full(p->fd, p->buf + p->buf_len, alloc - p->buf_len, &got);
        if (rc)
            return rc;
        p->buf_len += got;
        rc = bw_cbor_wellformed(p->buf, p->buf_len < env_cap ? p->buf_len : env_cap, 1,
                                &p->env_len);
        if (rc != BW_E_TRUNCATED)
            break;
        if (p->buf_len < alloc) /* end of input */
            return BW_E_TRUNCATED;
        if (p->buf_len >= env_cap)
            return BW_E_TOOBIG;
    }
    if (rc)
        return rc;
    p->buf_pos = p->env_len;
    return bw_suit_parse(p->buf, p->env_len, key, &p->suit);
}

static bw_err expect_eof(struct bwh_pkg *p)
{
    uint8_t b;
    size_t got;
    bw_err rc = pkg_read(p, &b, 1, &got);

    if (rc)
        return rc;
    return got ? BW_E_TRAILING : BW_OK;
}

/* Reads the payload's chunks into the pipe's slots, has the core's stream
 * check each on this thread (stage 1) and only then pushes it to the
 * pipe's thread (stage 2), so reading and checking overlap with hashing
 * and writing. *off gets the bytes pushed. Stops at the first error (the
 * pipe's included). */
/* A compressed payload's reader state: the checked length table, one
 * compressed chunk and the decoder. */
struct zread {
    uint32_t *lens;
    uint8_t *frame;
    ZSTD_DCtx *dctx;
    int stream; /* BW_SUIT_COMPRESS_ZSTD_STREAM */
};

static void zread_free(struct zread *z)
{
    bwh_free(z->lens);
    bwh_free(z->frame);
    ZSTD_freeDCtx(z->dctx);
    memset(z, 0, sizeof(*z));
}

/* Reads the length table after the chunk list and checks it against its
 * signed digest (BW_E_CHUNK) before trusting any length in it. */
static bw_err zread_begin(struct bwh_pkg *p, struct zread *z, uint64_t n_chunks)
{
    const struct bw_suit_component *c = &p->suit.comp[0];
    size_t tlen = (size_t)n_chunks * BW_SUIT_CLEN_LEN, got;
    uint8_t *table = bwh_malloc(tlen ? tlen : 1), digest[BW_SHA256_LEN];
    bw_err rc = BW_E_NOMEM;

    z->lens = bwh_malloc(n_chunks ? (size_t)n_chunks * sizeof(*z->lens) : 1);
    z->frame = bwh_malloc(bwh_zchunk_bound(c->chunk_size));
    z->dctx = bwh_zchunk_dctx();
    z->stream = c->compress_alg == BW_SUIT_COMPRESS_ZSTD_STREAM;
    if (!table || !z->lens || !z->frame || !z->dctx)
        goto out;
    if ((rc = pkg_read(p, table, tlen, &got)))
        goto out;
    rc = BW_E_TRUNCATED;
    if (got < tlen)
        goto out;
    if ((rc = bw_sha256(table, tlen, digest)))
        goto out;
    rc = BW_E_CHUNK;
    if (!bw_ct_equal(digest, c->clen_digest, BW_SHA256_LEN))
        goto out;
    rc = bwh_zchunk_table(table, (size_t)n_chunks, c->chunk_size, z->lens);
out:
    bwh_free(table);
    return rc;
}

static bw_err pipe_chunks(struct bwh_pkg *p, struct bwh_hash_pipe *hp, uint64_t n_chunks,
                          struct bw_install *in, struct bwh_progress *prog, const struct zread *z,
                          uint64_t *off)
{
    const struct bw_suit_component *c = &p->suit.comp[0];
    uint64_t i;
    size_t got;
    bw_err rc = BW_OK;

    *off = 0;
    for (i = 0; i < n_chunks; i++) {
        uint8_t *slot = bwh_hash_pipe_slot(hp);
        size_t want = i + 1 < n_chunks ? c->chunk_size : (size_t)(c->image_size - *off);

        if ((rc = bwh_hash_pipe_error(hp)))
            break; /* the pipe's thread failed */
        if (z) {
            if ((rc = pkg_read(p, z->frame, z->lens[i], &got)))
                break;
            rc = BW_E_TRUNCATED;
            if (got < z->lens[i])
                break;
            rc = z->stream ? bwh_zchunk_stream(z->dctx, slot, want, z->frame, z->lens[i],
                                               c->image_size, i == 0, i + 1 == n_chunks)
                           : bwh_zchunk_decode(z->dctx, slot, want, z->frame, z->lens[i]);
            if (rc)
                break;
        } else {
            if ((rc = pkg_read(p, slot, want, &got)))
                break;
            rc = BW_E_TRUNCATED;
            if (got < want)
                break;
        }
        if ((rc = bw_install_check(in, slot, want)))
            break;
        bwh_hash_pipe_push(hp, want);
        *off += want;
        if (prog)
            bwh_progress_add(prog, z ? z->lens[i] : want);
    }
    return rc;
}

/* Stage 2 of the core's install stream, on the pipe's thread, then the
 * caller's copy of the chunk it wrote (bwh_pkg_opts.out). */
struct commit_ctx {
    struct bw_install *in;
    bwh_pkg_sink out;
    void *out_ctx;
};

static bw_err commit_sink(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    struct commit_ctx *cc = ctx;
    bw_err rc = bw_install_commit(cc->in, data, len); /* the stream keeps its own offset */

    if (!rc && cc->out)
        rc = cc->out(cc->out_ctx, off, data, len);
    return rc;
}

/* Reads n bytes of the stream into in (the chunk list, and an A/B
 * package's other section, which the stream passes over) through a small
 * bounce buffer. */
static bw_err feed_list(struct bwh_pkg *p, struct bw_install *in, uint64_t n)
{
    uint8_t tmp[4096];
    size_t got;
    bw_err rc = BW_OK;

    while (n && !rc) {
        size_t want = n < sizeof(tmp) ? (size_t)n : sizeof(tmp);

        rc = pkg_read(p, tmp, want, &got);
        if (!rc && got < want)
            rc = BW_E_TRUNCATED;
        if (!rc)
            rc = bw_install_feed(in, tmp, want);
        n -= want;
    }
    return rc;
}

bw_err bwh_pkg_install(struct bwh_pkg *p, struct bw_update *u, const struct bw_suit_expect *e,
                      const struct bwh_pkg_opts *o, const char **stage)
{
    struct bwh_progress *prog = o ? o->prog : NULL;
    const struct bw_suit_component *c = &p->suit.comp[0];
    struct bwh_hash_pipe *hp = NULL;
    struct bw_install in;
    struct commit_ctx cc = {&in, o ? o->out : NULL, o ? o->out_ctx : NULL};
    struct zread z;
    uint64_t n_chunks = 0, list_len = 0, off = 0;
    int integrated;
    bw_err rc, prc;

    memset(&in, 0, sizeof(in));
    memset(&z, 0, sizeof(z));
    p->tap = o ? o->tap : NULL;
    *stage = "device check";
    if (u && !p->suit.authenticated)
        return BW_E_STATE;
    /* An A/B manifest: the alternative for the slot the device writes
     * (the core refuses any other in bw_install_begin). */
    if (u && (p->suit.try_each || p->suit.slot_cond)) {
        uint8_t target;

        rc = bw_update_target(u, &target);
        if (!rc)
            rc = bw_suit_select(&p->suit, target);
        if (rc)
            return rc;
    }
    integrated = c->has_uri && c->uri.len && c->uri.p[0] == '#';
    /* Compression is defined for a single image with a chunk list. */
    if (c->has_compress && (integrated || !c->has_chunks || p->suit.try_each || p->suit.slot_cond))
        return BW_E_UNSUPPORTED;
    if (!integrated) {
        rc = bw_suit_chunk_layout(&p->suit, 0, &n_chunks, &list_len);
        if (rc)
            return rc == BW_E_NOTFOUND ? BW_E_UNSUPPORTED : rc;
        if (list_len > BWH_PKG_LIST_MAX)
            return BW_E_TOOBIG;
        bwh_free(p->list);
        p->list = bwh_malloc(list_len ? (size_t)list_len : 1);
        if (!p->list)
            return BW_E_NOMEM;
        p->list_len = (size_t)list_len;
    }
    rc = bw_install_begin(&in, u, &p->suit, e, p->list, p->list_len, NULL, 0);
    if (rc)
        return rc;
    *stage = "payload";
    if (!integrated)
        rc = feed_list(p, &in, in.skip + p->list_len);
    if (!rc && c->has_compress)
        rc = zread_begin(p, &z, n_chunks);
    if (!rc && n_chunks)
        rc = bwh_hash_pipe_new(&hp, c->chunk_size);
    if (!rc && hp) {
        /* Stage 1 (the core's chunk check) on this thread, stage 2 (the
         * core's image hash and slot write) on the pipe's: reading,
         * checking and writing overlap, and the stream refuses a commit
         * of a chunk its check has not passed. */
        bwh_hash_pipe_commit_only(hp, commit_sink, &cc);
        rc = pipe_chunks(p, hp, n_chunks, &in, prog, c->has_compress ? &z : NULL, &off);
    }
    if (hp) {
        uint8_t unused[BW_SHA256_LEN];

        prc = bwh_hash_pipe_finish(hp, unused); /* joins stage 2 */
        if (!rc)
            rc = prc;
    }
    if (!rc && in.tail)
        rc = feed_list(p, &in, in.tail);
    if (!rc)
        rc = expect_eof(p);
    if (!rc && o && o->gate) {
        *stage = "gate";
        rc = o->gate(o->gate_ctx, p);
    }
    if (!rc) {
        *stage = "finish";
        rc = bw_install_finish(&in);
    }
    if (rc)
        bw_install_abort(&in);
    zread_free(&z);
    return rc;
}

/*
 * An A/B package: the core's verify-only stream once per slot, both fed
 * from one read of the package, each passing over the other's section.
 * p->suit is left selected for slot A.
 */
static bw_err verify_ab(struct bwh_pkg *p, struct bwh_progress *prog)
{
    struct bw_suit *s[2] = {&p->suit, NULL};
    struct bw_install in[2];
    uint8_t *list[2] = {NULL, NULL}, *chunk[2] = {NULL, NULL}, *buf = NULL;
    int i, started = 0;
    size_t got = 1;
    bw_err rc = BW_E_NOMEM;

    s[1] = bwh_malloc(sizeof(*s[1]));
    buf = bwh_malloc(1u << 16);
    if (!s[1] || !buf)
        goto out;
    *s[1] = p->suit;
    rc = BW_OK;
    for (i = 0; i < 2 && !rc; i++) {
        uint64_t n = 0, list_len = 0;

        rc = bw_suit_select(s[i], (uint8_t)i);
        if (!rc)
            rc = bw_suit_chunk_layout(s[i], 0, &n, &list_len);
        if (!rc && list_len > BWH_PKG_LIST_MAX)
            rc = BW_E_TOOBIG;
        if (rc)
            break;
        list[i] = bwh_malloc(list_len ? (size_t)list_len : 1);
        chunk[i] = bwh_malloc(s[i]->comp[0].chunk_size);
        rc = list[i] && chunk[i] ? BW_OK : BW_E_NOMEM;
        if (!rc)
            rc = bw_install_begin(&in[i], NULL, s[i], NULL, list[i], (size_t)list_len, chunk[i],
                                  s[i]->comp[0].chunk_size);
        if (!rc)
            started = i + 1;
    }
    while (!rc && got) {
        rc = pkg_read(p, buf, 1u << 16, &got);
        for (i = 0; i < 2 && !rc && got; i++)
            rc = bw_install_feed(&in[i], buf, got);
        if (!rc && prog)
            bwh_progress_add(prog, got);
    }
    for (i = 0; i < 2 && !rc; i++)
        rc = bw_install_finish(&in[i]);
out:
    for (i = 0; i < 2; i++) {
        if (rc && i < started)
            bw_install_abort(&in[i]);
        bwh_free(list[i]);
        bwh_free(chunk[i]);
    }
    bwh_free(s[1]);
    bwh_free(buf);
    return rc;
}

bw_err bwh_pkg_verify(struct bwh_pkg *p, struct bwh_progress *prog)
{
    const char *stage;

    struct bwh_pkg_opts o = {.prog = prog};

    if (p->suit.comp[0].has_compress && (p->suit.try_each || p->suit.slot_cond))
        return BW_E_UNSUPPORTED;
    if (p->suit.try_each || p->suit.slot_cond)
        return verify_ab(p, prog);
    return bwh_pkg_install(p, NULL, NULL, &o, &stage);
}

void bwh_pkg_close(struct bwh_pkg *p)
{
    if (!p)
        return;
    if (p->own_fd && p->fd >= 0)
        close(p->fd);
    bwh_free(p->buf);
    bwh_free(p->list);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}
