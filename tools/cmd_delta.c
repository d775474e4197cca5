/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark delta make / delta plan (also 'bulwark delta-plan'): a delta
 * package for devices running a given image, and what such a device will
 * fetch (docs/delta.md). Installing one is 'bulwark install --delta'.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include <zstd.h>

#include "cli.h"
#include "bwh/delta.h"

static const struct cli_opt opts[] = {
    {"out", "DELTA", "make: the delta package to write (replaced atomically)"},
    {"level", "N", "make: zstd level of the frames, 1 to 22 (default 19)"},
    {"json", NULL, "print one JSON object"},
    {NULL, NULL, NULL}};

static int make(struct cli_args *a, const char *old, const char *pkg)
{
    struct bwh_delta_make_stats st;
    const char *out = cli_get(a, "out"), *lv = cli_get(a, "level"), *what = NULL;
    uint64_t level = 19;
    bw_err rc;

    if (!out)
        return cli_usage(a, "--out is required");
    if (lv && (bwh_parse_u64(lv, &level) || level < 1 || level > (uint64_t)ZSTD_maxCLevel()))
        return cli_usage(a, "--level: a whole number from 1 to %d", ZSTD_maxCLevel());
    rc = bwh_delta_make(old, pkg, out, (int)level, &st, &what);
    if (rc)
        return cli_fail(a, what, rc);
    if (cli_flag(a, "json"))
        printf("{\"image_size\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"reused\":%" PRIu64
               ",\"delta\":%" PRIu64 ",\"whole\":%" PRIu64 ",\"head_bytes\":%" PRIu64
               ",\"delta_bytes\":%" PRIu64 ",\"whole_bytes\":%" PRIu64 "}\n",
               st.image_size, st.n_chunks, st.n_copy, st.n_frame, st.n_whole, st.meta_bytes,
               st.frame_bytes, st.whole_bytes);
    else
        printf("%s: %" PRIu64 " chunks: %" PRIu64 " reused from the old image by the index, "
               "%" PRIu64 " coded against it, %" PRIu64 " whole\n"
               "a device running %s fetches %" PRIu64 " bytes (head %" PRIu64
               ", frames %" PRIu64 "); whole frames for others: %" PRIu64 " bytes\n",
               out, st.n_chunks, st.n_copy, st.n_frame, st.n_whole, old,
               st.meta_bytes + st.frame_bytes, st.meta_bytes, st.frame_bytes, st.whole_bytes);
    return 0;
}

/* Whether the image f is, byte for byte, the one d was made for. */
static bw_err is_source(const struct bwh_delta *d, const struct bw_flash *f, int *yes)
{
    const size_t step = 1u << 20;
    uint8_t *buf = bwh_malloc(step), dg[BW_SHA256_LEN];
    struct bw_sha256 h;
    uint64_t off;
    bw_err rc = buf ? bw_sha256_init(&h) : BW_E_NOMEM;

    *yes = 0;
    if (rc) {
        bwh_free(buf);
        return rc;
    }
    for (off = 0; off < f->size && !rc; off += step) {
        size_t n = f->size - off < step ? (size_t)(f->size - off) : step;

        rc = f->read(f->ctx, off, buf, n);
        if (!rc)
            rc = bw_sha256_update(&h, buf, n);
    }
    if (rc)
        bw_sha256_abort(&h);
    else if (!(rc = bw_sha256_final(&h, dg)))
        *yes = f->size == d->h.source_size && !memcmp(dg, d->h.source_digest, BW_SHA256_LEN);
    bwh_free(buf);
    return rc;
}

static int plan(struct cli_args *a, const char *old, const char *path)
{
    struct bwh_delta_src src, osrc;
    struct bwh_delta d;
    struct bwh_delta_plan p;
    struct bw_suit suit;
    struct bw_flash of;
    uint8_t *env = NULL, *list = NULL;
    const char *what = path;
    int source = 0;
    bw_err rc;

    memset(&osrc, 0, sizeof(osrc));
    memset(&d, 0, sizeof(d));
    memset(&p, 0, sizeof(p));
    if ((rc = bwh_delta_src_file(&src, path)))
        return cli_fail(a, path, rc);
    /* the device's own reads, counted: the envelope is parsed, not
     * authenticated (no key here; a device refuses a forged one) */
    rc = bwh_delta_open(&src, NULL, &d, &suit, &env, &list);
    if (!rc) {
        what = old;
        rc = bwh_delta_src_file(&osrc, old);
    }
    if (!rc)
        rc = bwh_delta_src_flash(&osrc, &of);
    if (!rc)
        rc = is_source(&d, &of, &source);
    if (!rc) {
        what = path;
        rc = bwh_delta_plan_make(&src, &d, &suit, list, &of, NULL, &p);
    }
    if (!rc) {
        uint64_t total = p.head_bytes + p.frame_bytes;

        if (cli_flag(a, "json"))
            printf("{\"bytes\":%" PRIu64 ",\"head_bytes\":%" PRIu64 ",\"frame_bytes\":%" PRIu64
                   ",\"requests\":%u,\"source_match\":%s,\"rebuilt\":%s,\"chunks\":%" PRIu64
                   ",\"reused\":%" PRIu64 ",\"delta\":%" PRIu64 ",\"whole\":%" PRIu64 "}\n",
                   total, p.head_bytes, p.frame_bytes, p.requests,
                   source ? "true" : "false", p.rebuilt ? "true" : "false",
                   d.h.n_chunks, p.n_copy, p.n_frame, p.n_whole);
        else
            printf("a device running %s fetches %" PRIu64 " bytes in %u range requests\n"
                   "  head (header, envelope, plan%s): %" PRIu64 " bytes\n"
                   "  frames: %" PRIu64 " bytes\n"
                   "  chunks: %" PRIu64 " reused from the running slot, %" PRIu64
                   " coded against it, %" PRIu64 " whole\n"
                   "  the running image is %sthe one the delta was made for\n",
                   old, total, p.requests,
                   p.rebuilt ? "; the chunk list rebuilt from the image"
                             : ", chunk list, index section",
                   p.head_bytes, p.frame_bytes, p.n_copy, p.n_frame, p.n_whole,
                   source ? "" : "NOT ");
    }
    bwh_delta_plan_free(&p);
    bwh_delta_src_close(&osrc);
    bwh_delta_free(&d);
    bwh_free(env);
    bwh_free(list);
    bwh_delta_src_close(&src);
    return rc ? cli_fail(a, what, rc) : 0;
}

static int run(struct cli_args *a)
{
    if (a->cmd == &cli_cmd_delta_plan)
        return a->npos == 2 ? plan(a, a->pos[0], a->pos[1]) : cli_usage(a, "OLD_IMAGE DELTA");
    if (a->npos == 3 && !strcmp(a->pos[0], "make"))
        return make(a, a->pos[1], a->pos[2]);
    if (a->npos == 3 && !strcmp(a->pos[0], "plan"))
        return plan(a, a->pos[1], a->pos[2]);
    return cli_usage(a, "make OLD_IMAGE PKG --out DELTA, or plan OLD_IMAGE DELTA");
}

const struct cli_cmd cli_cmd_delta = {
    "delta", "make a delta package for devices running a given image, or plan its cost",
    "make [--level N] [--json] OLD_IMAGE PKG --out DELTA\n"
    "       bulwark delta plan [--json] OLD_IMAGE DELTA",
    "'make' writes a delta package: PKG's signed envelope and chunk list, a plan\n"
    "(chunks OLD_IMAGE holds at their place or in other blocks, and per other\n"
    "64 KiB chunk its digest and a zstd frame coded against regions of\n"
    "OLD_IMAGE), a content index (a 6-byte hash per 4 KiB block) and a whole\n"
    "frame per chunk. PKG's chunks are verified while it is read. A device\n"
    "installs it with 'bulwark install --delta DELTA PKG|URL': running OLD_IMAGE,\n"
    "it rebuilds the chunk list from its slot and fetches the plan and its frames\n"
    "only (HTTP Range); running anything else, the list and the index too. Every\n"
    "chunk is checked against the signed list before it is written. 'plan' prints\n"
    "the bytes and range requests a device running OLD_IMAGE will fetch. See\n"
    "docs/delta.md.",
    opts, 3, 3, run};

const struct cli_cmd cli_cmd_delta_plan = {
    "delta-plan", "bytes a device running OLD_IMAGE fetches to install DELTA",
    "[--json] OLD_IMAGE DELTA",
    "The same as 'bulwark delta plan': the device's own plan (the chunk list\n"
    "rebuilt from OLD_IMAGE, else the content index; range rounds), run against\n"
    "OLD_IMAGE.",
    opts, 2, 2, run};
