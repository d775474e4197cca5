/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_registry: what one device's report costs the registry as a
 * campaign grows. N accepted devices, one campaign to all of them (one
 * batch, abort criterion and error threshold set, so the rollout rule runs
 * its counts on every report), then M devices in turn get their action
 * (action_next: the offer) and report SUCCESS (action_report: the rule).
 * Prints one line: the wall time per offer+report, with this process as
 * the only client (on PostgreSQL the server's CPU is in that time too).
 * Usage: bench_registry N M URL   (URL: sqlite:PATH or postgresql://...;
 * URL last, as tests/contract/registry_pg.sh appends its own)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "bwh/host.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int num(const char *s, uint64_t *out)
{
    return bwh_parse_u64(s, out) == BW_OK && *out > 0 && *out <= 10000000 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const struct gw_db_ops *ops;
    struct gw_campaign c;
    struct gw_release r;
    struct gw_device d;
    struct gw_action a;
    const char *ci;
    uint64_t n, m, i;
    double t0, t1, t2;
    void *db;
    bw_err e;

    if (argc != 4 || num(argv[1], &n) || num(argv[2], &m) || m > n) {
        fprintf(stderr, "usage: bench_registry N M URL   (M <= N devices report)\n");
        return 2;
    }
    if (gw_db_pick(argv[3], &ops, &ci) || ops->open(ci, &db) || ops->migrate(db)) {
        fprintf(stderr, "bench_registry: cannot open %s\n", argv[3]);
        return 1;
    }
    t0 = now_s();
    for (i = 0; i < n; i++) {
        memset(&d, 0, sizeof(d));
        snprintf(d.id, sizeof(d.id), "dev-%07llu", (unsigned long long)i);
        snprintf(d.fingerprint, sizeof(d.fingerprint), "%064llx", (unsigned long long)i + 1);
        snprintf(d.serial, sizeof(d.serial), "%032llx", (unsigned long long)i + 1);
        snprintf(d.pubkey, sizeof(d.pubkey), "04%0128llx", (unsigned long long)i + 1);
        d.status = GW_DEV_ACCEPTED;
        snprintf(d.attrs, sizeof(d.attrs), "{\"fleet\":\"bench\"}");
        d.sequence = 1;
        d.created = 1;
        e = ops->device_add(db, &d);
        if (e) {
            fprintf(stderr, "bench_registry: device_add: %s (%s)\n", bw_errname(e), ops->error(db));
            return 1;
        }
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "bench-2");
    snprintf(r.digest, sizeof(r.digest), "%064x", 2);
    r.size = 1000;
    r.sequence = 2;
    snprintf(r.vendor_id, sizeof(r.vendor_id), "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
    snprintf(r.class_id, sizeof(r.class_id), "1492af14-2569-5e48-bf42-9b2d51f2ab45");
    snprintf(r.uploaded_by, sizeof(r.uploaded_by), "bench");
    snprintf(r.kind, sizeof(r.kind), "bulwark");
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "bench-all");
    snprintf(c.filter, sizeof(c.filter), "{\"fleet\":\"bench\"}");
    c.type = GW_ACT_FORCED;
    c.batch_size = (int)n;
    c.success_threshold_pct = 100;
    c.error_threshold_pct = 50;
    c.abort_pct = 50;
    c.abort_min = 10;
    c.window_start = c.window_end = -1;
    if ((e = ops->release_add(db, &r)) || (c.release_id = r.id, e = ops->campaign_create(db, &c, 2))) {
        fprintf(stderr, "bench_registry: campaign: %s (%s)\n", bw_errname(e), ops->error(db));
        return 1;
    }
    t1 = now_s();
    for (i = 0; i < m; i++) {
        snprintf(d.id, sizeof(d.id), "dev-%07llu", (unsigned long long)i);
        e = ops->action_next(db, d.id, 3, &a);
        if (!e)
            e = ops->action_report(db, d.id, a.id, GW_ACTION_SUCCESS, NULL, 3);
        if (e) {
            fprintf(stderr, "bench_registry: device %s: %s (%s)\n", d.id, bw_errname(e),
                    ops->error(db));
            return 1;
        }
    }
    t2 = now_s();
    printf("registry=%s actions=%llu reports=%llu setup_s=%.1f us_per_offer_and_report=%.0f\n",
           ops->name, (unsigned long long)n, (unsigned long long)m, t1 - t0,
           (t2 - t1) * 1e6 / (double)m);
    ops->close(db);
    return 0;
}
