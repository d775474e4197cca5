/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security-log appends per second: N events through bwh_log_append on the
 * POSIX backend, a checkpoint signed by a file-backend device key every
 * 1000 records (with its fdatasync and head replacement), segments rotating
 * within the default 4 MiB. Reference in the same process: write(2) of
 * records of the same lengths, one call each, fdatasync every 1000.
 * Usage: bench_log [N] [DIR]   (prints one Markdown table row)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bwh/log.h"
#include "bwh/host.h"

#define EVERY 1000

static void text(int i, char *subj, size_t scap, char *out, size_t ocap)
{
    snprintf(subj, scap, "fw-%d.bwp", i);
    snprintf(out, ocap, "ok sequence %d into slot %c", i, 'a' + (i & 1));
}

/* Seconds for n appends with the given write buffer; 0 on failure. */
static double run_log(const char *dir, const struct bw_signer *s, long n, size_t buffer,
                      struct bwh_log_report *rep)
{
    struct bwh_log_opts o = {s, EVERY, 0, 0, buffer};
    struct bwh_log_vfs v;
    struct bwh_log *l = NULL;
    char subj[64], out[64];
    double t0, t;
    long i;

    if (bwh_log_posix_open(&v, dir, 1, 1) || bwh_log_open(&v, &o, &l))
        return 0;
    t0 = bwh_now();
    for (i = 0; i < n; i++) {
        text((int)i, subj, sizeof(subj), out, sizeof(out));
        if (bwh_log_append(l, 1700000000 + (uint64_t)i, "install", subj, out, NULL) != BW_OK) {
            fprintf(stderr, "bench_log: append %ld failed\n", i);
            return 0;
        }
    }
    if (bwh_log_close(l) != BW_OK)
        return 0;
    t = bwh_now() - t0;
    if (bwh_log_verify(&v, s->pub, 0, NULL, NULL, rep) != BW_OK) {
        fprintf(stderr, "bench_log: the log does not verify: %s\n", rep->detail);
        t = 0;
    }
    bwh_log_posix_close(&v);
    return t;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000, i;
    char tmpl[4096], path[4200], subj[64], out[64];
    const char *base = argc > 2 ? argv[2] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    struct bwh_devkey *k = NULL;
    struct bw_signer s;
    struct bwh_log_report rep;
    uint8_t rec[BWH_LOG_RECORD_MAX];
    double t0, t_log, t_buf, t_ref;
    int fd;

    snprintf(tmpl, sizeof(tmpl), "%s/bwbenchlog.XXXXXX", base);
    if (n <= 0 || !mkdtemp(tmpl)) {
        fprintf(stderr, "usage: bench_log [N] [DIR]\n");
        return 2;
    }
    snprintf(path, sizeof(path), "file:%s/device.key", tmpl);
    if (bwh_devkey_open(path, &k) || bwh_devkey_generate(k, 0) || bwh_devkey_signer(k, &s)) {
        fprintf(stderr, "bench_log: device key: %s\n", bwh_devkey_detail(k));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/seclog", tmpl);
    t_log = run_log(path, &s, n, 0, &rep);
    snprintf(path, sizeof(path), "%s/seclog-buffered", tmpl);
    t_buf = run_log(path, &s, n, 4096, &rep);
    if (t_log <= 0 || t_buf <= 0)
        return 1;

    /* reference: the same number of bytes, one write(2) per record */
    snprintf(path, sizeof(path), "%s/plain", tmpl);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 1;
    memset(rec, 'x', sizeof(rec));
    t0 = bwh_now();
    for (i = 0; i < n; i++) {
        size_t len;

        text((int)i, subj, sizeof(subj), out, sizeof(out));
        len = 20 + 3 + strlen("install") + strlen(subj) + strlen(out) + 32;
        if (write(fd, rec, len) != (ssize_t)len)
            return 1;
        if ((i + 1) % EVERY == 0 && fdatasync(fd) != 0)
            return 1;
    }
    if (fdatasync(fd) != 0)
        return 1;
    t_ref = bwh_now() - t0;
    close(fd);
    bwh_devkey_close(k);
    snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
    if (system(path) != 0)
        fprintf(stderr, "bench_log: could not remove %s\n", tmpl);
    printf("| log appends/s, one write(2) per record (%ld events, checkpoint every %d, file "
           "key, 4 MiB rotation) | %.0f | write(2) of the same bytes + fdatasync/%d: %.0f/s | "
           "%.2fx |\n",
           n, EVERY, (double)n / t_log, EVERY, (double)n / t_ref, t_ref / t_log);
    printf("| log appends/s, 4 KiB write buffer (same) | %.0f | same reference | %.2fx |\n",
           (double)n / t_buf, t_ref / t_buf);
    return 0;
}
