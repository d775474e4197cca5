/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark install: a package into the inactive slot. The envelope is
 * authenticated and checked against the device (vendor, class, the
 * persisted anti-rollback floor) before the first write; each chunk is
 * verified before it is written; the slot is marked for a trial boot only
 * after the whole image matched and the slot was synced. From a URL, the
 * download runs within limits (connect, low speed, total, header, size,
 * redirects) and SIGINT/SIGTERM end it through the same path as any
 * refusal: the install is abandoned and the device lock released.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>

#include "cli.h"
#include "bwh/delta.h"
#include "bwh/device.h"
#include "bwh/seclog.h"

static volatile sig_atomic_t install_stop;

static void on_stop(int sig)
{
    (void)sig;
    install_stop = 1;
}

/* --timeout, --connect-timeout and --low-speed over the defaults; the body
 * cap from the slot: no package is longer than its envelope cap, a chunk
 * list of the smallest chunks and a slot. */
static int download_limits(struct cli_args *a, const struct bwh_device_conf *dc,
                           struct bwh_net_limits *l)
{
    const char *v;
    uint64_t n;

    bwh_net_limits_default(l);
    if ((v = cli_get(a, "timeout"))) {
        if (bwh_parse_u64(v, &n) || n < 1 || n > 7 * 86400)
            return cli_usage(a, "--timeout: 1 to 604800 seconds");
        l->total_s = (unsigned)n;
    }
    if ((v = cli_get(a, "connect-timeout"))) {
        if (bwh_parse_u64(v, &n) || n < 1 || n > 3600)
            return cli_usage(a, "--connect-timeout: 1 to 3600 seconds");
        l->connect_s = (unsigned)n;
    }
    if ((v = cli_get(a, "low-speed")) &&
        bwh_net_low_speed_parse(v, &l->low_speed_bytes, &l->low_speed_s))
        return cli_usage(a, "--low-speed: BYTES/SECONDS (for example 100/60), or 0 for none");
    l->body_max = BW_SUIT_ENVELOPE_MAX + dc->slot_size + dc->slot_size / BW_SUIT_CHUNK_MIN * 32 +
                  32;
    return 0;
}

/* bulwark install --delta: the package a delta carries, assembled from the
 * running slot and the frames fetched from src (a file or a URL). */
static bw_err install_delta(struct cli_args *a, struct bwh_device *d, const char *src_name,
                            const struct bwh_net_limits *lim, const struct bw_suit_expect *e,
                            const char **stage, uint64_t *sequence)
{
    struct bwh_delta_src src;
    struct bwh_delta dd;
    struct bwh_delta_stats st;
    struct bwh_progress prog;
    struct bw_suit suit;
    uint8_t *env = NULL, *list = NULL, target;
    const struct bw_flash *old, *tgt;
    int json = cli_flag(a, "json");
    bw_err rc;

    *stage = "delta";
    memset(&dd, 0, sizeof(dd));
    if (!strncmp(src_name, "http://", 7) || !strncmp(src_name, "https://", 8))
        rc = bwh_delta_src_url(&src, src_name, cli_get(a, "cacert"), lim, &install_stop);
    else
        rc = bwh_delta_src_file(&src, src_name);
    if (rc)
        return rc;
    rc = bwh_delta_open(&src, &d->key, &dd, &suit, &env, &list);
    if (!rc) {
        *sequence = suit.sequence;
        rc = bw_update_target(&d->u, &target);
    }
    if (!rc) {
        old = target == BW_SLOT_A ? &d->b.f : &d->a.f;
        tgt = target == BW_SLOT_A ? &d->a.f : &d->b.f;
        if (json)
            bwh_progress_start_json(&prog, "install", suit.comp[0].image_size);
        else
            bwh_progress_start(&prog, "installing (delta)", suit.comp[0].image_size);
        rc = bwh_delta_install(&src, &dd, &suit, list, &d->u, e, old, tgt, &prog, &st, stage);
        bwh_progress_end(&prog);
        if (json)
            printf("{\"event\":\"delta\",\"ok\":%s,\"fetched\":%" PRIu64 ",\"requests\":%u,"
                   "\"reused\":%" PRIu64 ",\"resumed\":%" PRIu64 ",\"delta\":%" PRIu64
                   ",\"whole\":%" PRIu64 ",\"refetched\":%" PRIu64 ",\"source_match\":%s"
                   ",\"rebuilt\":%s}\n",
                   rc ? "false" : "true", src.bytes, src.requests, st.n_copy, st.n_target,
                   st.n_frame, st.n_whole, st.n_refetch, st.source_match ? "true" : "false",
                   st.rebuilt ? "true" : "false");
        else
            fprintf(stderr,
                    "bulwark install: delta: fetched %" PRIu64 " bytes in %u requests; chunks: "
                    "%" PRIu64 " reused, %" PRIu64 " already in the slot, %" PRIu64
                    " from delta frames, %" PRIu64 " whole, %" PRIu64 " fetched whole after "
                    "not verifying\n",
                    src.bytes, src.requests, st.n_copy, st.n_target, st.n_frame, st.n_whole,
                    st.n_refetch);
    }
    if (rc && bwh_delta_src_error(&src)[0])
        fprintf(stderr, "bulwark install: delta: %s\n", bwh_delta_src_error(&src));
    bwh_delta_free(&dd);
    bwh_free(env);
    bwh_free(list);
    bwh_delta_src_close(&src);
    return rc;
}

int cmd_install(struct cli_args *a)
{
    const char *conf = cli_get(a, "config"), *src = a->pos[0], *what = NULL;
    struct bw_suit_expect e;
    struct bwh_progress prog;
    struct bwh_device d;
    struct bwh_pkg p;
    int json = cli_flag(a, "json"), status, is_url, fd = -1;
    struct bwh_fetch *fetch = NULL;
    struct bwh_fetch_stats fs;
    struct bwh_net_limits lim;
    struct sigaction sa, old_int, old_term;
    const char *stage = "envelope", *reason = NULL, *delta = cli_get(a, "delta");
    uint64_t sequence = 0;
    int full = 1; /* the package itself is read (no delta, or its fallback) */
    bw_err rc;

    if (!conf)
        return cli_usage(a, "--config is required");
    is_url = !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
    memset(&p, 0, sizeof(p));
    p.fd = -1;
    errno = 0;
    rc = bwh_device_open(&d, conf, 1, 1, &what);
    if (rc) {
        status = cli_fail(a, what, rc);
        bwh_device_close(&d);
        return status;
    }
    if ((is_url || delta) && (status = download_limits(a, &d.conf, &lim))) {
        bwh_device_close(&d);
        return status;
    }
    errno = 0;
    if (delta) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        memset(&e, 0, sizeof(e));
        e.vendor_id = d.conf.vendor_id;
        e.class_id = d.conf.class_id;
        rc = install_delta(a, &d, delta, &lim, &e, &stage, &sequence);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (rc && !install_stop && !cli_flag(a, "delta-only") && bwh_delta_may_fall_back(stage, rc)) {
            fprintf(stderr, "bulwark install: delta refused at %s (%s): installing %s whole\n",
                    stage, bw_errname(rc), src);
            stage = "envelope";
            rc = BW_OK;
        } else {
            full = 0;
        }
    }
    if (full && is_url) {
        /* a signal ends the download; the refusal path below abandons the
         * install and bwh_device_close releases the lock */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        stage = "download";
        rc = bwh_fetch_start(&fetch, src, cli_get(a, "cacert"), &lim, &install_stop, &fd);
        if (!rc)
            rc = bwh_pkg_open_fd(&p, fd, &d.key, BW_SUIT_ENVELOPE_MAX);
        if (!rc)
            stage = "envelope";
    } else if (full) {
        rc = bwh_pkg_open(&p, src, &d.key, BW_SUIT_ENVELOPE_MAX);
    }
    if (!rc && full) {
        /* the device check, the verified stream and the trial mark: the
         * core's install stream, through the package reader */
        memset(&e, 0, sizeof(e));
        e.vendor_id = d.conf.vendor_id;
        e.class_id = d.conf.class_id;
        if (json)
            bwh_progress_start_json(&prog, "install", p.suit.comp[0].image_size);
        else
            bwh_progress_start(&prog, "installing", p.suit.comp[0].image_size);
        struct bwh_pkg_opts o = {.prog = &prog};

        rc = bwh_pkg_install(&p, &d.u, &e, &o, &stage);
        bwh_progress_end(&prog);
    }
    if (full)
        sequence = p.suit.sequence;
    if (fetch) {
        bw_err frc;

        bwh_pkg_close(&p); /* the reader lets go first, so the download ends */
        frc = bwh_fetch_finish(fetch, &fs);
        if (frc && rc) {
            fprintf(stderr, "bulwark install: download: %s (after %u attempt%s, %llu bytes)\n",
                    fs.error[0] ? fs.error : "failed", fs.attempts, fs.attempts == 1 ? "" : "s",
                    (unsigned long long)fs.bytes);
            if (frc == BW_E_IO && (rc == BW_E_TRUNCATED || rc == BW_E_IO)) {
                rc = BW_E_IO; /* the stream ended because the download failed */
                stage = "download";
                reason = fs.error[0] ? fs.error : NULL; /* names the limit hit */
                errno = 0;
            }
        } else if (fs.attempts > 1 && !json) {
            fprintf(stderr, "bulwark install: download resumed %u time%s (%llu bytes)\n",
                    fs.attempts - 1, fs.attempts == 2 ? "" : "s", (unsigned long long)fs.bytes);
        }
    }
    if (full && is_url) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (rc) {
        char msg[4200];

        if (json) {
            printf("{\"event\":\"result\",\"ok\":false,\"stage\":\"%s\",\"error\":\"%s\"", stage,
                   bw_errname(rc));
            if (reason) {
                printf(",\"reason\":");
                bwh_json_str(stdout, reason, strlen(reason));
            }
            printf("}\n");
        }
        snprintf(msg, sizeof(msg), "%s: %s", src, stage);
        status = cli_fail(a, msg, rc);
        snprintf(msg, sizeof(msg), "refused %s at %s%s%s, sequence %" PRIu64, bw_errname(rc),
                 stage, reason ? ": " : "", reason ? reason : "", sequence);
        (void)bwh_seclog_event(&d.conf, "install", src, msg); /* reports its own failure */
    } else {
        char msg[100];

        snprintf(msg, sizeof(msg), "ok sequence %" PRIu64 " into slot %c", sequence,
                 'a' + d.u.target);
        (void)bwh_seclog_event(&d.conf, "install", src, msg);
        if (json)
            printf("{\"event\":\"result\",\"ok\":true,\"slot\":\"%c\",\"sequence\":%" PRIu64 "}\n",
                   'a' + d.u.target, sequence);
        else
            printf("installed sequence %" PRIu64 " into slot %c: it boots on trial next "
                   "(%u boots), then 'bulwark confirm' keeps it\n",
                   sequence, 'a' + d.u.target, d.u.trial_boots);
        status = 0;
    }
    bwh_pkg_close(&p);
    bwh_device_close(&d);
    return status;
}
