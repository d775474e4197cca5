/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta packages (docs/delta.md): a signed package's envelope and chunk
 * list, a content index of the new image (a short hash per 4 KiB block),
 * and per 64 KiB chunk a zstd frame coded against regions of the image a
 * device runs (a prefix dictionary) plus a whole frame for devices that
 * cannot use it. A device assembles each chunk from its running slot and
 * the frames it fetches; the core's install stream checks every chunk
 * against its signed SHA-256 before it is written. Nothing in this file
 * is trusted for security: the index, the frames and every length are
 * hints that can only cost bytes, never put an unverified byte in a slot.
 */
#ifndef BULWARK_BWH_DELTA_H
#define BULWARK_BWH_DELTA_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "bwh/host.h"

#define BWH_DELTA_MAGIC "BWDELTA2"
#define BWH_DELTA_HDR_LEN 128u
#define BWH_DELTA_BLOCK 4096u        /* index granularity */
#define BWH_DELTA_HASH_LEN 6u        /* bytes of SHA-256 per index entry */
#define BWH_DELTA_EXT_LEN 12u        /* per extent: offset (8), length (4) */
#define BWH_DELTA_RUN_LEN 8u         /* per copy run: first block (4), blocks (4) */
#define BWH_DELTA_TAG_LEN 8u         /* bytes of SHA-256 of a chunk's prefix */
#define BWH_DELTA_MAX_EXT 8u         /* extents of the running slot per chunk */
#define BWH_DELTA_PREFIX_MAX (1u << 20) /* bytes of prefix a device holds */
#define BWH_DELTA_WINDOW_LOG 21      /* covers the prefix and the chunk */
#define BWH_DELTA_BATCH (1u << 20)   /* frame bytes fetched per round */
#define BWH_DELTA_GAP (16u << 10)    /* unneeded bytes fetched to join two ranges */
#define BWH_DELTA_META_MAX ((uint64_t)64 << 20)
/* the plan's operations (docs/delta.md) */
#define BWH_DELTA_OP_SAME 0u  /* u32 n: n chunks the source holds at their offset */
#define BWH_DELTA_OP_COPY 1u  /* u32 runs, runs x (u32 block, u32 n): blocks of the source */
#define BWH_DELTA_OP_FRAME 2u /* u32 frame length, u8 extents, extents, tag, SHA-256 */

/* The fixed header at offset 0 (big-endian). The file is: header,
 * envelope, chunk list (list_len), plan (meta_zlen), delta frames, index
 * section (idx_zlen), whole frames. */
struct bwh_delta_hdr {
    uint32_t chunk_size, block_size, hash_len, prefix_max;
    uint64_t image_size, n_chunks, env_len, list_len, meta_zlen, meta_len, source_size;
    uint8_t source_digest[BW_SHA256_LEN]; /* SHA-256 of the image it was made against */
    uint64_t idx_zlen, idx_len;           /* the index section: whole lengths, content index */
};

enum bwh_delta_kind { BWH_DELTA_K_SAME = 1, BWH_DELTA_K_COPY, BWH_DELTA_K_FRAME };

struct bwh_delta_rec {
    uint8_t kind;       /* enum bwh_delta_kind, from the plan */
    int same;           /* kind SAME: the source holds it at the same offset */
    uint32_t delta_len; /* kind FRAME: its delta frame (0 otherwise) */
    uint32_t whole_len; /* from the index section (0 until it is parsed) */
    uint32_t n_ext;     /* FRAME: extents of the prefix (0: none); COPY: its runs
                         * of source blocks, as extents */
    uint64_t ext0;      /* index of the first in bwh_delta.ext */
    uint64_t idx0;      /* its first entry in bwh_delta.index */
    uint64_t prefix_len;
    uint64_t delta_off, whole_off; /* in the file (whole_off: index section parsed) */
    uint8_t tag[BWH_DELTA_TAG_LEN];
    const uint8_t *digest; /* kind FRAME: the chunk's SHA-256 as the plan gives it */
};

struct bwh_delta_ext {
    uint64_t off;
    uint32_t len;
};

/* A parsed header, plan and (when fetched) index section. */
struct bwh_delta {
    struct bwh_delta_hdr h;
    uint8_t *meta;          /* the plan, decompressed */
    uint8_t *idx;           /* the index section, decompressed (NULL: not fetched) */
    const uint8_t *index;   /* n_blocks * BWH_DELTA_HASH_LEN, in idx */
    uint64_t n_blocks;      /* index entries: the blocks of chunks not `same` */
    struct bwh_delta_rec *rec;
    struct bwh_delta_ext *ext;
    uint64_t n_ext;
    uint64_t whole_total;   /* bytes of the whole frames section */
    uint64_t meta_off;      /* file offset of the compressed plan */
    uint64_t idx_off;       /* file offset of the compressed index section */
    uint64_t file_len;      /* the length the header and plan imply */
};

/* Parses the fixed header (len >= BWH_DELTA_HDR_LEN). BW_E_FORMAT (magic,
 * block or hash size, a length out of bounds), BW_E_TOOBIG (a chunk, a
 * prefix or metadata past what a device holds). */
BW_NODISCARD bw_err bwh_delta_hdr_parse(const uint8_t *b, size_t len, struct bwh_delta_hdr *h);
void bwh_delta_hdr_write(uint8_t out[BWH_DELTA_HDR_LEN], const struct bwh_delta_hdr *h);
/* Decompresses (one zstd frame of exactly h.meta_len bytes) and parses the
 * plan of d->h (already parsed; d->meta_off set, the plan's offset): every
 * chunk's operation, frame lengths within the chunk's compress bound,
 * extents and runs inside the source, prefixes within the limit. Sets the
 * delta frames' offsets, d->idx_off and d->file_len. d->meta etc. are owned
 * by d: bwh_delta_free (NULL-safe). BW_E_FORMAT, BW_E_SIZE, BW_E_TRUNCATED,
 * BW_E_TRAILING, BW_E_TOOBIG, BW_E_NOMEM. */
BW_NODISCARD bw_err bwh_delta_meta_parse(struct bwh_delta *d, const uint8_t *z, size_t zlen);
/* The same for the index section (after the plan): every chunk's whole
 * frame length (within its bound, summing to the plan's whole_total) and
 * the content index; sets the whole frames' offsets. */
BW_NODISCARD bw_err bwh_delta_index_parse(struct bwh_delta *d, const uint8_t *z, size_t zlen);
void bwh_delta_free(struct bwh_delta *d);
/* What a device running exactly the source fetches: header, envelope,
 * plan and every delta frame (the list and the index section are skipped
 * when the list rebuilds; frames in ranges). For the gateway's view. */
uint64_t bwh_delta_predicted(const struct bwh_delta *d);

/* The chunk list as the running slot f gives it: SAME and COPY chunks
 * hashed from the slot, FRAME chunks' digests from the plan, into list
 * (h.list_len bytes). *ok: every SAME and COPY chunk was readable (the
 * caller then checks the list against the signed digest). */
BW_NODISCARD bw_err bwh_delta_list_rebuild(const struct bwh_delta *d, const struct bw_flash *f,
                                           uint8_t *list, int *ok);

/* The index entry of a block (its first BWH_DELTA_HASH_LEN bytes of
 * SHA-256, over len bytes: BWH_DELTA_BLOCK but for an image's last). */
BW_NODISCARD bw_err bwh_delta_block_hash(const uint8_t *p, size_t len,
                                         uint8_t out[BWH_DELTA_HASH_LEN]);

/* The running slot's blocks by content: read once, each block hashed; the
 * slot's SHA-256 over size bytes too (compared with the header's source
 * digest). bwh_delta_slot_find: the block holding hash, or -1. */
struct bwh_delta_slot {
    const struct bw_flash *f;
    uint64_t size, n_blocks;
    uint8_t *hashes;
    uint32_t *tab;   /* open addressing: block + 1, 0 empty */
    uint64_t mask;
    uint8_t digest[BW_SHA256_LEN];
};
BW_NODISCARD bw_err bwh_delta_slot_index(struct bwh_delta_slot *s, const struct bw_flash *f,
                                         uint64_t size);
int64_t bwh_delta_slot_find(const struct bwh_delta_slot *s, const uint8_t *hash);
void bwh_delta_slot_free(struct bwh_delta_slot *s);


/* Where a delta is read from: len bytes at off into buf, all or an error
 * (BW_E_TRUNCATED: fewer came; BW_E_UNSUPPORTED: a server that ignores
 * Range; BW_E_IO; BW_E_FORMAT). requests/bytes count what was fetched. */
struct bwh_delta_src {
    bw_err (*read)(void *ctx, uint64_t off, uint8_t *buf, size_t len);
    void *ctx;
    unsigned requests;
    uint64_t bytes;
    int resumes; /* read itself asks a broken range again from where it
                  * stopped (the URL source); 0: bwh_delta_src_read does */
};
#define BWH_DELTA_READ_TRIES 4
/* Reads len bytes at off through src, counted. A read that breaks off
 * (BW_E_TRUNCATED, BW_E_IO: a connection reset, a short 206) is asked
 * again, up to BWH_DELTA_READ_TRIES times in all, unless src->resumes;
 * other errors (a server that ignores Range, wrong bytes) are final. */
BW_NODISCARD bw_err bwh_delta_src_read(struct bwh_delta_src *src, uint64_t off, uint8_t *buf,
                                       size_t len);
/* A local file (fd kept open until bwh_delta_src_close), or an http(s)
 * URL through host/http.c (Range requests within lim, cacert as in
 * bwh_fetch_start, stop polled). */
BW_NODISCARD bw_err bwh_delta_src_file(struct bwh_delta_src *src, const char *path);
/* The same over an open file (fd is the source's from then on, closed by
 * bwh_delta_src_close, or here on an error). */
BW_NODISCARD bw_err bwh_delta_src_fd(struct bwh_delta_src *src, int fd);
BW_NODISCARD bw_err bwh_delta_src_url(struct bwh_delta_src *src, const char *url,
                                      const char *cacert, const struct bwh_net_limits *lim,
                                      volatile const sig_atomic_t *stop);
void bwh_delta_src_close(struct bwh_delta_src *src);
/* A file source as a read-only flash of the file's size (an image on a
 * release manager's machine): BW_E_INVAL for a URL source, BW_E_IO. */
BW_NODISCARD bw_err bwh_delta_src_flash(const struct bwh_delta_src *src, struct bw_flash *f);
/* Why the last read failed (a server's words), or "". */
const char *bwh_delta_src_error(const struct bwh_delta_src *src);

/* Where each chunk of the new image comes from. */
enum bwh_delta_how { BWH_DELTA_TARGET = 1, BWH_DELTA_COPY, BWH_DELTA_FRAME, BWH_DELTA_WHOLE };

struct bwh_delta_plan {
    uint8_t *how; /* per chunk */
    uint64_t n_target, n_copy, n_frame, n_whole;
    uint64_t head_bytes;  /* header, envelope, plan; list and index section if fetched */
    uint64_t frame_bytes; /* frames fetched, gaps included */
    unsigned requests;    /* ranges, the head's included */
    int rebuilt;          /* the list rebuilt from the running slot checked */
    int source_match;     /* rebuilt, or the running slot is the source image */
    struct bwh_delta_slot idx; /* the slot's blocks, when not rebuilt */
};

/*
 * The device's plan (docs/delta.md): rebuilds the chunk list from the
 * running slot old into list (h.list_len bytes) and checks it against
 * s's signed digest; when that fails, fetches the list from src (checked
 * the same way: BW_E_CHUNK if it does not), the index section, and
 * indexes the slot's blocks. Then per chunk: already in the free slot
 * target (NULL: not looked at; an interrupted install), copied from the
 * slot, its delta frame, or its whole frame. Counts the ranges a device
 * fetches in rounds of BWH_DELTA_BATCH. d gains its index section.
 * Errors: the source's, the slots' read errors, BW_E_CHUNK, BW_E_NOMEM.
 */
BW_NODISCARD bw_err bwh_delta_plan_make(struct bwh_delta_src *src, struct bwh_delta *d,
                                        const struct bw_suit *s, uint8_t *list,
                                        const struct bw_flash *old, const struct bw_flash *target,
                                        struct bwh_delta_plan *p);
void bwh_delta_plan_free(struct bwh_delta_plan *p);
/* Fetches and parses d's index section from src, once. */
BW_NODISCARD bw_err bwh_delta_index_fetch(struct bwh_delta_src *src, struct bwh_delta *d);

/* Reads a delta's header, envelope (authenticated with key; key NULL:
 * parsed only, for delta-plan) and plan from src into d and suit (env: the
 * envelope bytes suit points into, bwh_malloc'd, the caller frees). *list:
 * h.list_len zeroed bytes (same), which bwh_delta_plan_make fills and
 * checks against the signed digest: the chunk list is not fetched here. */
BW_NODISCARD bw_err bwh_delta_open(struct bwh_delta_src *src, const struct bw_ec_key *key,
                                   struct bwh_delta *d, struct bw_suit *suit, uint8_t **env,
                                   uint8_t **list);

struct bwh_delta_stats {
    uint64_t n_target, n_copy, n_frame, n_whole, n_refetch; /* chunks by source */
    int source_match;
    int rebuilt; /* the chunk list came from the running slot, not the delta */
};

/*
 * Installs the package a delta carries into u's free slot: plans against
 * the running slot old and the free slot target (bwh_delta_plan_make,
 * which fills list), then, in rounds, fetches the frames of the next
 * chunks, assembles each chunk, and hands it to the core's install stream,
 * which checks it against the signed list before writing. A chunk decoded
 * from a delta frame, or any chunk when the list did not rebuild from the
 * slot, is pre-checked: one that does not check (a damaged slot, a wrong
 * frame) is fetched whole once. A chunk the core refuses refuses the
 * install (BW_E_CHUNK). On any error the install is abandoned (the slot
 * stays marked empty).
 * Errors: the core's, the source's, BW_E_FORMAT (the delta), BW_E_NOMEM.
 */
BW_NODISCARD bw_err bwh_delta_install(struct bwh_delta_src *src, struct bwh_delta *d,
                                      const struct bw_suit *suit, uint8_t *list,
                                      struct bw_update *u, const struct bw_suit_expect *e,
                                      const struct bw_flash *old, const struct bw_flash *target,
                                      struct bwh_progress *prog, struct bwh_delta_stats *st,
                                      const char **stage);

/* Whether an install whose delta failed at stage with rc may go on with
 * the full package: not when the device refused the package itself
 * (identity, rollback, state), its slot failed, or memory ran out. */
int bwh_delta_may_fall_back(const char *stage, bw_err rc);

/* Decodes one frame into dst (want bytes) with prefix (NULL, 0: none) as
 * its dictionary; dctx from bwh_zchunk_dctx. bwh_zchunk_decode's errors. */
BW_NODISCARD bw_err bwh_delta_decode(void *dctx, uint8_t *dst, size_t want, const uint8_t *src,
                                     size_t len, const uint8_t *prefix, size_t prefix_len);

/* Making a delta (host/delta_make.c): for bulwark delta make and for the
 * gateway, which builds one per source release it serves. */
struct bwh_delta_make_stats {
    uint64_t image_size, n_chunks;
    uint64_t n_copy, n_frame, n_whole; /* chunks: reused by index, delta frame, whole only */
    uint64_t meta_bytes;  /* header, envelope, list, compressed metadata */
    uint64_t frame_bytes; /* delta frames */
    uint64_t whole_bytes; /* whole frames */
};

/* Writes out_path (atomically) for devices running old_path: the package
 * pkg_path's envelope and list, the index and the frames (zstd level).
 * The package's chunks are verified against its list on the way (not its
 * signature: devices check that). *what names the file an error is about.
 * Errors: the package reader's, BW_E_IO, BW_E_NOMEM, BW_E_UNSUPPORTED
 * (a chunk size that is not a multiple of 4 KiB, an old image of 4 GiB). */
BW_NODISCARD bw_err bwh_delta_make(const char *old_path, const char *pkg_path,
                                   const char *out_path, int level,
                                   struct bwh_delta_make_stats *st, const char **what);

#endif
