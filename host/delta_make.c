/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Making a delta package (bulwark delta make, docs/delta.md): the new
 * image is taken from a signed package (verified chunk by chunk on the
 * way, as a device would), the old image is the one devices run.
 * Method: per 4 KiB block of the new image, its index entry; a chunk whose
 * blocks are all in the old image by content needs no frame. For any
 * other chunk, the regions of the old image it most likely came from are
 * found by content-defined anchors (a gear rolling hash over the last 64
 * bytes; a position is an anchor when the hash's top 6 bits are zero, so
 * the same content gives the same anchors wherever it moved), voted by
 * diagonal (old position - new position), clustered, and the best
 * clusters' regions, at most BWH_DELTA_PREFIX_MAX bytes in all, are the
 * chunk's prefix dictionary for a zstd frame. Every chunk also gets a
 * whole frame, for devices that run something else. Not the device side
 * (host/delta.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "bwh/delta.h"

#define ANCHOR_SHIFT 58         /* anchor: top 6 bits of the gear hash zero */
#define MARGIN (16u << 10)      /* old bytes kept around a cluster */
#define CLUSTER_GAP (8u << 10)  /* diagonals this close are one move */
#define CLUSTER_MAX (256u << 10)

static uint64_t gear[256];

static void gear_init(void)
{
    uint64_t x = 0x62756c7761726b31ull; /* "bulwark1" */
    int i;

    for (i = 0; i < 256; i++) { /* splitmix64 */
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);

        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        gear[i] = z ^ (z >> 31);
    }
}

/* The old image's anchors: key (32 bits, never 0) -> position. */
struct anchors {
    uint32_t *key, *pos;
    uint64_t mask;
};

static uint32_t akey(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32)) | 1u;
}

static bw_err anchors_build(struct anchors *a, const uint8_t *p, uint64_t n)
{
    uint64_t cap = 1 << 16, i, h = 0;

    while (cap < (n >> 5))
        cap <<= 1;
    a->mask = cap - 1;
    a->key = bwh_calloc((size_t)cap, sizeof(*a->key));
    a->pos = bwh_calloc((size_t)cap, sizeof(*a->pos));
    if (!a->key || !a->pos)
        return BW_E_NOMEM;
    for (i = 0; i < n; i++) {
        h = (h << 1) + gear[p[i]];
        if (i >= 64 && (h >> ANCHOR_SHIFT) == 0) {
            uint32_t k = akey(h);
            uint64_t j;

            for (j = (k * 0x9E3779B1u) & a->mask; a->key[j] && a->key[j] != k; j = (j + 1) & a->mask)
                ;
            if (!a->key[j]) { /* the first place of equal content is kept */
                a->key[j] = k;
                a->pos[j] = (uint32_t)i;
            }
        }
    }
    return BW_OK;
}

static int64_t anchors_find(const struct anchors *a, uint32_t k)
{
    uint64_t j;

    for (j = (k * 0x9E3779B1u) & a->mask; a->key[j]; j = (j + 1) & a->mask)
        if (a->key[j] == k)
            return a->pos[j];
    return -1;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

    return a < b ? -1 : a > b;
}

struct cluster {
    int64_t lo, hi;
    unsigned votes;
};

static int cmp_votes(const void *x, const void *y)
{
    const struct cluster *a = x, *b = y;

    return a->votes < b->votes ? 1 : a->votes > b->votes ? -1 : 0;
}

static int cmp_ext(const void *x, const void *y)
{
    const struct bwh_delta_ext *a = x, *b = y;

    return a->off < b->off ? -1 : a->off > b->off;
}

/* The extents of the old image for the chunk at [cs, cs+len): *n of them. */
static unsigned choose_extents(const struct anchors *a, const uint8_t *img, uint64_t cs,
                               size_t len, uint64_t old_size, int64_t *diag,
                               struct bwh_delta_ext *ext)
{
    struct cluster cl[64];
    unsigned nd = 0, nc = 0, k, n = 0;
    uint64_t h = 0, i, start = cs >= 64 ? cs - 64 : 0, budget = BWH_DELTA_PREFIX_MAX;

    for (i = start; i < cs + len; i++) {
        h = (h << 1) + gear[img[i]];
        if (i >= cs && i - start >= 64 && (h >> ANCHOR_SHIFT) == 0) {
            int64_t q = anchors_find(a, akey(h));

            if (q >= 0)
                diag[nd++] = q - (int64_t)i;
        }
    }
    if (!nd)
        return 0;
    qsort(diag, nd, sizeof(*diag), cmp_i64);
    for (k = 0; k < nd; k++) {
        if (nc && diag[k] - cl[nc - 1].hi <= CLUSTER_GAP &&
            diag[k] - cl[nc - 1].lo <= (int64_t)CLUSTER_MAX) {
            cl[nc - 1].hi = diag[k];
            cl[nc - 1].votes++;
        } else if (nc < sizeof(cl) / sizeof(cl[0])) {
            cl[nc].lo = cl[nc].hi = diag[k];
            cl[nc++].votes = 1;
        }
    }
    qsort(cl, nc, sizeof(*cl), cmp_votes);
    for (k = 0; k < nc && n < BWH_DELTA_MAX_EXT; k++) {
        int64_t lo = (int64_t)cs + cl[k].lo - MARGIN, hi = (int64_t)(cs + len) + cl[k].hi + MARGIN;

        if (cl[k].votes < 2 && k > 0)
            break; /* one stray anchor is noise */
        if (lo < 0)
            lo = 0;
        if (hi > (int64_t)old_size)
            hi = (int64_t)old_size;
        if (hi <= lo)
            continue;
        if ((uint64_t)(hi - lo) > budget)
            hi = lo + (int64_t)budget;
        ext[n].off = (uint64_t)lo;
        ext[n++].len = (uint32_t)(hi - lo);
        budget -= (uint64_t)(hi - lo);
        if (!budget)
            break;
    }
    /* in file order, overlaps joined (the budget only shrinks) */
    qsort(ext, n, sizeof(*ext), cmp_ext);
    for (k = 1, i = 0; k < n; k++) {
        if (ext[k].off <= ext[i].off + ext[i].len) {
            uint64_t end = ext[k].off + ext[k].len;

            if (end > ext[i].off + ext[i].len)
                ext[i].len = (uint32_t)(end - ext[i].off);
        } else {
            ext[++i] = ext[k];
        }
    }
    return n ? (unsigned)i + 1 : 0;
}

/* A growing output buffer. */
struct obuf {
    uint8_t *p;
    size_t len, cap;
};

static bw_err obuf_room(struct obuf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 1u << 16;
    uint8_t *np;

    if (n <= b->cap - b->len)
        return BW_OK;
    while (cap - b->len < n)
        cap *= 2;
    np = bwh_realloc(b->p, cap);
    if (!np)
        return BW_E_NOMEM;
    b->p = np;
    b->cap = cap;
    return BW_OK;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One frame of src into b (prefix NULL: none). *len: its length. */
static bw_err frame(ZSTD_CCtx *cc, struct obuf *b, const uint8_t *src, size_t n,
                    const uint8_t *prefix, size_t plen, uint32_t *len)
{
    size_t r;
    bw_err rc = obuf_room(b, ZSTD_compressBound(n));

    if (rc)
        return rc;
    if (ZSTD_isError(ZSTD_CCtx_reset(cc, ZSTD_reset_session_only)) ||
        ZSTD_isError(ZSTD_CCtx_refPrefix(cc, prefix, plen)))
        return BW_E_STATE;
    r = ZSTD_compress2(cc, b->p + b->len, b->cap - b->len, src, n);
    if (ZSTD_isError(r))
        return BW_E_NOMEM;
    b->len += r;
    *len = (uint32_t)r;
    return BW_OK;
}

/* The package's verified chunks, in order, into the temporary file. */
static bw_err to_fd(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    (void)off; /* they come in order */
    return bwh_write_full(*(int *)ctx, data, len);
}

static bw_err mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    memcpy(buf, (const uint8_t *)ctx + off, len);
    return BW_OK;
}

/* Maps path read-only (an empty file maps to NULL with *n 0). */
static bw_err map_file(const char *path, const uint8_t **p, uint64_t *n)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *m;

    *p = NULL;
    *n = 0;
    if (fd < 0)
        return BW_E_IO;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return BW_E_INVAL;
    }
    *n = (uint64_t)st.st_size;
    if (*n) {
        m = mmap(NULL, (size_t)*n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            return BW_E_NOMEM;
        }
        *p = m;
    }
    close(fd);
    return BW_OK;
}

/* The verified new image of pkg into a temporary file beside out, mapped. */
static bw_err extract(const char *pkg, const char *out, struct bwh_pkg *p, uint8_t **env,
                      const uint8_t **img, const char **what)
{
    struct bwh_pkg_opts o;
    char tmp[4200];
    const char *stage;
    int fd;
    bw_err rc;

    *what = pkg;
    if ((rc = bwh_pkg_open(p, pkg, NULL, BW_SUIT_ENVELOPE_MAX)))
        return rc;
    *env = bwh_malloc(p->env_len);
    if (!*env)
        return BW_E_NOMEM;
    memcpy(*env, p->buf, p->env_len);
    fd = bwh_tmpfile_beside(out, 0600, tmp, sizeof(tmp));
    if (fd < 0)
        return BW_E_IO;
    unlink(tmp); /* kept only while open */
    memset(&o, 0, sizeof(o));
    o.out = to_fd;
    o.out_ctx = &fd;
    rc = bwh_pkg_install(p, NULL, NULL, &o, &stage);
    if (!rc && p->suit.comp[0].image_size) {
        void *m = mmap(NULL, (size_t)p->suit.comp[0].image_size, PROT_READ, MAP_PRIVATE, fd, 0);

        if (m == MAP_FAILED)
            rc = BW_E_NOMEM;
        else
            *img = m;
    }
    close(fd);
    return rc;
}

/* Appends n bytes to b. */
static bw_err obuf_put(struct obuf *b, const void *p, size_t n)
{
    bw_err rc = obuf_room(b, n);

    if (!rc && n) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
    return rc;
}

static bw_err obuf_put32(struct obuf *b, uint32_t v)
{
    uint8_t x[4];

    put32(x, v);
    return obuf_put(b, x, 4);
}

/* One zstd frame of b's bytes (level 19) into a new buffer. */
static bw_err squeeze(const struct obuf *b, uint8_t **z, size_t *zl)
{
    size_t cap = ZSTD_compressBound(b->len);

    *z = bwh_malloc(cap);
    if (!*z)
        return BW_E_NOMEM;
    *zl = ZSTD_compress(*z, cap, b->p ? b->p : (const uint8_t *)"", b->len, 19);
    return ZSTD_isError(*zl) ? BW_E_NOMEM : BW_OK;
}

/* A pending run of SAME chunks into the plan. */
static bw_err flush_same(struct obuf *plan, uint32_t *n_same)
{
    uint8_t op = BWH_DELTA_OP_SAME;
    bw_err rc = BW_OK;

    if (*n_same && !(rc = obuf_put(plan, &op, 1)))
        rc = obuf_put32(plan, *n_same);
    *n_same = 0;
    return rc;
}

/* The runs of old blocks that make up the chunk [cs, cs+len) byte for byte
 * (content found by the index, then compared), or 0 when there are none. */
static unsigned copy_runs(const struct bwh_delta_slot *idx, const uint8_t *old,
                          const uint8_t *img, uint64_t cs, size_t len, const uint8_t *hashes,
                          struct bwh_delta_ext *run)
{
    unsigned n = 0;
    uint64_t b, nb = len / BWH_DELTA_BLOCK;

    if (len % BWH_DELTA_BLOCK)
        return 0;
    for (b = 0; b < nb; b++) {
        int64_t at = bwh_delta_slot_find(idx, hashes + b * BWH_DELTA_HASH_LEN);

        if (at < 0 || memcmp(old + (uint64_t)at * BWH_DELTA_BLOCK,
                             img + cs + b * BWH_DELTA_BLOCK, BWH_DELTA_BLOCK))
            return 0;
        if (n && run[n - 1].off + run[n - 1].len == (uint64_t)at * BWH_DELTA_BLOCK)
            run[n - 1].len += BWH_DELTA_BLOCK;
        else
            run[n].off = (uint64_t)at * BWH_DELTA_BLOCK, run[n++].len = BWH_DELTA_BLOCK;
    }
    return n;
}

/* Whole frames of chunks a device running the source never fetches are
 * made at most at this level (they serve devices running other images). */
#define WHOLE_LEVEL_MAX 9

bw_err bwh_delta_make(const char *old_path, const char *pkg_path, const char *out_path,
                      int level, struct bwh_delta_make_stats *st, const char **what)
{
    struct bwh_pkg p;
    struct bwh_delta_hdr h;
    struct bwh_delta_slot idx;
    struct bw_flash mf;
    struct anchors a;
    struct obuf plan = {0}, idxb = {0}, wl = {0}, dfr = {0}, wfr = {0};
    struct bwh_delta_ext *run = NULL;
    const uint8_t *old = NULL, *img = NULL;
    uint8_t *env = NULL, *prefix = NULL, *planz = NULL, *idxz = NULL, hb[BWH_DELTA_HDR_LEN];
    int64_t *diag = NULL;
    uint64_t old_size = 0, i;
    uint32_t n_same = 0;
    ZSTD_CCtx *cc = NULL, *cw = NULL;
    char tmp[4200];
    int fd = -1;
    size_t pzl = 0, izl = 0;
    bw_err rc;

    memset(st, 0, sizeof(*st));
    memset(&a, 0, sizeof(a));
    memset(&idx, 0, sizeof(idx));
    memset(&p, 0, sizeof(p));
    p.fd = -1;
    gear_init();
    if ((rc = extract(pkg_path, out_path, &p, &env, &img, what)))
        goto out;
    *what = old_path;
    if ((rc = map_file(old_path, &old, &old_size)))
        goto out;
    *what = out_path;
    memset(&h, 0, sizeof(h));
    h.chunk_size = p.suit.comp[0].chunk_size;
    h.block_size = BWH_DELTA_BLOCK;
    h.hash_len = BWH_DELTA_HASH_LEN;
    h.prefix_max = BWH_DELTA_PREFIX_MAX;
    h.image_size = p.suit.comp[0].image_size;
    h.n_chunks = (h.image_size + h.chunk_size - 1) / h.chunk_size;
    h.env_len = p.env_len;
    h.list_len = p.list_len;
    h.source_size = old_size;
    rc = BW_E_UNSUPPORTED;
    if (h.chunk_size % BWH_DELTA_BLOCK || old_size > UINT32_MAX)
        goto out;
    if ((rc = bw_sha256(old ? old : (const uint8_t *)"", (size_t)old_size, h.source_digest)))
        goto out;
    mf.ctx = (void *)old;
    mf.size = old_size;
    mf.write_align = 1;
    mf.read = mem_read;
    mf.write = NULL;
    mf.sync = NULL;
    if ((rc = bwh_delta_slot_index(&idx, &mf, old_size)) || (rc = anchors_build(&a, old, old_size)))
        goto out;
    rc = BW_E_NOMEM;
    cc = ZSTD_createCCtx();
    cw = ZSTD_createCCtx();
    prefix = bwh_malloc(BWH_DELTA_PREFIX_MAX);
    diag = bwh_malloc(sizeof(*diag) * ((size_t)h.chunk_size + 1)); /* an anchor per byte at most */
    run = bwh_malloc(sizeof(*run) * (h.chunk_size / BWH_DELTA_BLOCK));
    if (!cc || !cw || !prefix || !diag || !run || obuf_put(&plan, "\0\0\0\0\0\0\0\0", 8))
        goto out;
    rc = BW_E_STATE;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, BWH_DELTA_WINDOW_LOG)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cw, ZSTD_c_compressionLevel,
                                            level < WHOLE_LEVEL_MAX ? level : WHOLE_LEVEL_MAX)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cw, ZSTD_c_windowLog, BWH_DELTA_WINDOW_LOG)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cw, ZSTD_c_contentSizeFlag, 1)))
        goto out;
    rc = BW_OK;
    for (i = 0; i < h.n_chunks && !rc; i++) {
        uint64_t cs = i * h.chunk_size, b, nb;
        size_t len = h.image_size - cs < h.chunk_size ? (size_t)(h.image_size - cs) : h.chunk_size;
        struct bwh_delta_ext e[BWH_DELTA_MAX_EXT];
        uint32_t dlen = 0, wlen = 0;
        uint8_t dg[BW_SHA256_LEN], x[BWH_DELTA_EXT_LEN], op;
        unsigned n_ext = 0, n_run, k;
        size_t idx0 = idxb.len;
        int same = cs + len <= old_size && !memcmp(img + cs, old + cs, len);

        if (same) { /* read at its offset: no index entries, no delta frame */
            st->n_copy++;
            if ((rc = frame(cw, &wfr, img + cs, len, NULL, 0, &wlen)) ||
                (rc = obuf_put32(&wl, wlen)))
                break;
            if (++n_same == UINT32_MAX)
                rc = flush_same(&plan, &n_same);
            continue;
        }
        if ((rc = flush_same(&plan, &n_same)))
            break;
        nb = (len + BWH_DELTA_BLOCK - 1) / BWH_DELTA_BLOCK;
        if ((rc = obuf_room(&idxb, (size_t)nb * BWH_DELTA_HASH_LEN)))
            break;
        for (b = 0; b < nb && !rc; b++) {
            size_t bl = len - b * BWH_DELTA_BLOCK < BWH_DELTA_BLOCK ? len - b * BWH_DELTA_BLOCK
                                                                     : BWH_DELTA_BLOCK;

            rc = bwh_delta_block_hash(img + cs + b * BWH_DELTA_BLOCK, bl, idxb.p + idxb.len);
            idxb.len += BWH_DELTA_HASH_LEN;
        }
        if (rc)
            break;
        n_run = copy_runs(&idx, old, img, cs, len, idxb.p + idx0, run);
        if (n_run) { /* every block in the old image: runs of its blocks */
            st->n_copy++;
            op = BWH_DELTA_OP_COPY;
            if ((rc = frame(cw, &wfr, img + cs, len, NULL, 0, &wlen)) ||
                (rc = obuf_put32(&wl, wlen)) || (rc = obuf_put(&plan, &op, 1)) ||
                (rc = obuf_put32(&plan, n_run)))
                break;
            for (k = 0; k < n_run && !rc; k++)
                if (!(rc = obuf_put32(&plan, (uint32_t)(run[k].off / BWH_DELTA_BLOCK))))
                    rc = obuf_put32(&plan, run[k].len / BWH_DELTA_BLOCK);
            continue;
        }
        /* the whole frame at the delta's level: it may be what a device
         * running the source fetches */
        if ((rc = frame(cc, &wfr, img + cs, len, NULL, 0, &wlen)) || (rc = obuf_put32(&wl, wlen)))
            break;
        n_ext = choose_extents(&a, img, cs, len, old_size, diag, e);
        if (n_ext) {
            size_t at = 0, dl0 = dfr.len;

            for (k = 0; k < n_ext; k++) {
                memcpy(prefix + at, old + e[k].off, e[k].len);
                at += e[k].len;
            }
            if ((rc = frame(cc, &dfr, img + cs, len, prefix, at, &dlen)) ||
                (rc = bw_sha256(prefix, at, dg)))
                break;
            if (dlen >= wlen) {
                dfr.len = dl0; /* no better than whole */
                n_ext = 0;
            }
        }
        if (!n_ext) {
            /* the whole frame again, among the source's frames: a device
             * running the source then fetches one run of bytes */
            if ((rc = obuf_put(&dfr, wfr.p + wfr.len - wlen, wlen)) ||
                (rc = bw_sha256("", 0, dg)))
                break;
            dlen = wlen;
            st->n_whole++;
        } else {
            st->n_frame++;
        }
        op = BWH_DELTA_OP_FRAME;
        if ((rc = obuf_put(&plan, &op, 1)) || (rc = obuf_put32(&plan, dlen)))
            break;
        op = (uint8_t)n_ext;
        if ((rc = obuf_put(&plan, &op, 1)))
            break;
        for (k = 0; k < n_ext && !rc; k++) {
            put32(x, (uint32_t)(e[k].off >> 32));
            put32(x + 4, (uint32_t)e[k].off);
            put32(x + 8, e[k].len);
            rc = obuf_put(&plan, x, sizeof(x));
        }
        if (rc || (rc = obuf_put(&plan, dg, BWH_DELTA_TAG_LEN)))
            break;
        /* the chunk's digest: a device running the source rebuilds the
         * chunk list from its slot and these */
        if ((rc = obuf_room(&plan, BW_SHA256_LEN)) ||
            (rc = bw_sha256(img + cs, len, plan.p + plan.len)))
            break;
        plan.len += BW_SHA256_LEN;
    }
    if (!rc)
        rc = flush_same(&plan, &n_same);
    if (rc)
        goto out;
    put32(plan.p, (uint32_t)(wfr.len >> 32)); /* the whole frames' total */
    put32(plan.p + 4, (uint32_t)wfr.len);
    if ((rc = obuf_put(&wl, idxb.p, idxb.len)) || (rc = squeeze(&plan, &planz, &pzl)) ||
        (rc = squeeze(&wl, &idxz, &izl)))
        goto out;
    h.meta_len = plan.len;
    h.meta_zlen = pzl;
    h.idx_len = wl.len;
    h.idx_zlen = izl;
    bwh_delta_hdr_write(hb, &h);
    rc = BW_E_IO;
    fd = bwh_tmpfile_beside(out_path, 0644, tmp, sizeof(tmp));
    if (fd < 0)
        goto out;
    if ((rc = bwh_write_full(fd, hb, sizeof(hb))) || (rc = bwh_write_full(fd, env, p.env_len)) ||
        (rc = bwh_write_full(fd, p.list, p.list_len)) || (rc = bwh_write_full(fd, planz, pzl)) ||
        (rc = bwh_write_full(fd, dfr.p, dfr.len)) || (rc = bwh_write_full(fd, idxz, izl)) ||
        (rc = bwh_write_full(fd, wfr.p, wfr.len)))
        goto out;
    rc = BW_E_IO;
    if (fsync(fd) || close(fd))
        goto out;
    fd = -1;
    if (rename(tmp, out_path))
        goto out;
    rc = bwh_fsync_parent(out_path);
    st->image_size = h.image_size;
    st->n_chunks = h.n_chunks;
    st->meta_bytes = BWH_DELTA_HDR_LEN + p.env_len + pzl;
    st->frame_bytes = dfr.len;
    st->whole_bytes = wfr.len;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    if (img)
        munmap((void *)img, (size_t)p.suit.comp[0].image_size);
    if (old)
        munmap((void *)old, (size_t)old_size);
    bwh_pkg_close(&p);
    bwh_delta_slot_free(&idx);
    bwh_free(a.key);
    bwh_free(a.pos);
    bwh_free(plan.p);
    bwh_free(idxb.p);
    bwh_free(wl.p);
    bwh_free(dfr.p);
    bwh_free(wfr.p);
    bwh_free(env);
    bwh_free(prefix);
    bwh_free(planz);
    bwh_free(idxz);
    bwh_free(diag);
    bwh_free(run);
    ZSTD_freeCCtx(cc);
    ZSTD_freeCCtx(cw);
    return rc;
}
