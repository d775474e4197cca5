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

static int plan(struct cli_args *a, const char *old, const char *path)
{
    struct bwh_delta_src src, osrc;
    struct bwh_delta d;
    struct bwh_delta_slot idx;
    struct bwh_delta_plan p;
    struct bw_flash of;
    uint8_t hdr[BWH_DELTA_HDR_LEN], *z = NULL;
    const char *what = path;
    bw_err rc;

    memset(&osrc, 0, sizeof(osrc));
    memset(&d, 0, sizeof(d));
    memset(&idx, 0, sizeof(idx));
    memset(&p, 0, sizeof(p));
    if ((rc = bwh_delta_src_file(&src, path)))
        return cli_fail(a, path, rc);
    rc = src.read(src.ctx, 0, hdr, sizeof(hdr));
    if (!rc)
        rc = bwh_delta_hdr_parse(hdr, sizeof(hdr), &d.h);
    if (!rc) {
        z = bwh_malloc((size_t)d.h.meta_zlen);
        rc = z ? BW_OK : BW_E_NOMEM;
    }
    d.meta_off = BWH_DELTA_HDR_LEN + d.h.env_len + d.h.list_len;
    if (!rc)
        rc = src.read(src.ctx, d.meta_off, z, (size_t)d.h.meta_zlen);
    if (!rc)
        rc = bwh_delta_meta_parse(&d, z, (size_t)d.h.meta_zlen);
    if (!rc) {
        what = old;
        rc = bwh_delta_src_file(&osrc, old);
    }
    if (!rc)
        rc = bwh_delta_src_flash(&osrc, &of);
    if (!rc)
        rc = bwh_delta_slot_index(&idx, &of, d.h.source_size);
    if (!rc)
        rc = bwh_delta_plan_make(&d, &idx, NULL, NULL, NULL, &p);
    if (!rc) {
        uint64_t total = p.head_bytes + p.frame_bytes;

        if (cli_flag(a, "json"))
            printf("{\"bytes\":%" PRIu64 ",\"head_bytes\":%" PRIu64 ",\"frame_bytes\":%" PRIu64
                   ",\"requests\":%u,\"source_match\":%s,\"chunks\":%" PRIu64
                   ",\"reused\":%" PRIu64 ",\"delta\":%" PRIu64 ",\"whole\":%" PRIu64 "}\n",
                   total, p.head_bytes, p.frame_bytes, p.requests,
                   p.source_match ? "true" : "false", d.h.n_chunks, p.n_copy, p.n_frame,
                   p.n_whole);
        else
            printf("a device running %s fetches %" PRIu64 " bytes in %u range requests\n"
                   "  head (header, envelope, chunk list, index): %" PRIu64 " bytes\n"
                   "  frames: %" PRIu64 " bytes\n"
                   "  chunks: %" PRIu64 " reused from the running slot, %" PRIu64
                   " coded against it, %" PRIu64 " whole\n"
                   "  the running image is %sthe one the delta was made for\n",
                   old, total, p.requests, p.head_bytes, p.frame_bytes, p.n_copy, p.n_frame,
                   p.n_whole, p.source_match ? "" : "NOT ");
    }
    bwh_delta_plan_free(&p);
    bwh_delta_slot_free(&idx);
    bwh_delta_src_close(&osrc);
    bwh_delta_free(&d);
    bwh_free(z);
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
    "'make' writes a delta package: PKG's signed envelope and chunk list, a\n"
    "content index of the new image (a 6-byte hash per 4 KiB block), and per\n"
    "64 KiB chunk a zstd frame coded against regions of OLD_IMAGE plus a whole\n"
    "frame. PKG's chunks are verified while it is read. A device installs it with\n"
    "'bulwark install --delta DELTA PKG|URL': it copies the blocks it has by\n"
    "content, fetches only the frames it needs (HTTP Range), and every chunk is\n"
    "checked against the signed list before it is written. 'plan' prints the bytes\n"
    "and range requests a device running OLD_IMAGE will fetch. See docs/delta.md.",
    opts, 3, 3, run};

const struct cli_cmd cli_cmd_delta_plan = {
    "delta-plan", "bytes a device running OLD_IMAGE fetches to install DELTA",
    "[--json] OLD_IMAGE DELTA",
    "The same as 'bulwark delta plan': the device's own plan (content index,\n"
    "source check, range rounds), run against OLD_IMAGE.",
    opts, 2, 2, run};
