// SPDX-License-Identifier: Apache-2.0
/*
 * The device's TUF refresh, in one process (bench/tuf.sh): RUNS times what
 * the agent does each cycle (a client over the trusted metadata directory,
 * bwh_tuf_refresh, freed), timed with the process CPU clock, so that exec,
 * dynamic linking and the interpreter of a test harness are not counted.
 * The first refresh is reported on its own (an update, when the repository
 * changed since the directory was last refreshed); the rest are the polls
 * that find nothing new. Also the heap a client holds after a refresh
 * (glibc mallinfo2: the trusted metadata, parsed, plus the HTTP client).
 * With "keep" every client borrows one HTTP client, so its connection
 * stays open from one refresh to the next, as the agent's refresh rides
 * on the check-in's connection.
 * Usage: bench_tuf METADATA_DIR METADATA_URL RUNS [CACERT|- [keep]]
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bwh/host.h"
#include "bwh/http.h"
#include "bwh/tuf.h"

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One refresh; *cpu its CPU seconds, *heap the bytes the client holds
 * after it, *st its counts. */
static bw_err one(const struct bwh_tuf_opts *o, double *cpu, size_t *heap, struct bwh_tuf_stats *st)
{
    struct bwh_tuf *t = NULL;
    struct mallinfo2 m0, m1;
    double t0;
    bw_err rc;

    m0 = mallinfo2();
    t0 = cpu_now();
    rc = bwh_tuf_new(&t, o);
    if (!rc)
        rc = bwh_tuf_refresh(t);
    *cpu = cpu_now() - t0;
    m1 = mallinfo2();
    *heap = m1.uordblks > m0.uordblks ? m1.uordblks - m0.uordblks : 0;
    if (t)
        bwh_tuf_get_stats(t, st);
    if (rc)
        fprintf(stderr, "bench_tuf: refresh: %s\n", t ? bwh_tuf_error(t) : bw_strerror(rc));
    bwh_tuf_free(t);
    return rc;
}

int main(int argc, char **argv)
{
    struct bwh_tuf_opts o;
    struct bwh_tuf_stats st, sum;
    double cpu, total = 0, best = 1e9;
    size_t heap = 0, heap_max = 0, heap_min = SIZE_MAX;
    uint64_t runs;
    unsigned i;

    struct bwh_http *http = NULL;
    int rc = 1;

    if (argc < 4 || bwh_parse_u64(argv[3], &runs) || runs < 2 || runs > 100000) {
        fprintf(stderr, "usage: bench_tuf METADATA_DIR METADATA_URL RUNS(2..) [CACERT|- [keep]]\n");
        return 2;
    }
    memset(&o, 0, sizeof(o));
    o.metadata_dir = argv[1];
    o.metadata_url = argv[2];
    o.cacert = argc > 4 && strcmp(argv[4], "-") ? argv[4] : NULL;
    if (argc > 5 && !strcmp(argv[5], "keep")) {
        struct bwh_http_opts ho;

        memset(&ho, 0, sizeof(ho));
        ho.cacert = o.cacert;
        ho.stall_s = BWH_TUF_TIMEOUT_S;
        if (bwh_http_new(&http, &ho))
            return 1;
        o.http = http;
    }
    memset(&st, 0, sizeof(st));
    if (one(&o, &cpu, &heap, &st))
        goto out;
    printf("first refresh: %.3f ms CPU, %u requests, %" PRIu64 " body bytes, %u signatures, "
           "%zu bytes of heap held\n",
           cpu * 1e3, st.requests, st.bytes, st.verifies, heap);
    memset(&sum, 0, sizeof(sum));
    for (i = 1; i < runs; i++) {
        if (one(&o, &cpu, &heap, &st))
            goto out;
        total += cpu;
        best = cpu < best ? cpu : best;
        heap_max = heap > heap_max ? heap : heap_max;
        heap_min = heap < heap_min ? heap : heap_min;
        sum.requests += st.requests;
        sum.bytes += st.bytes;
        sum.verifies += st.verifies;
    }
    runs--;
    printf("no-change refresh: %.3f ms CPU mean, %.3f ms best (of %" PRIu64 "), %.1f requests, "
           "%.0f body bytes, %.1f signatures, %zu bytes of heap held (least %zu)\n",
           total / (double)runs * 1e3, best * 1e3, runs, (double)sum.requests / (double)runs,
           (double)sum.bytes / (double)runs, (double)sum.verifies / (double)runs, heap_max,
           heap_min);
    rc = 0;
out:
    bwh_http_free(http);
    return rc;
}
