/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway registry contract, run unchanged on every backend (SQLite,
 * PostgreSQL): devices, releases, campaigns with batches, thresholds, pause,
 * resume, cancel and maintenance windows, the per-device action protocol,
 * the audit log, migrate and reopen, and 8 processes racing for the same
 * actions (each must be offered exactly once). Needs an empty database.
 * Usage: test_registry URL   ("sqlite:" alone: a fresh file in a temp dir)
 */
#define _DEFAULT_SOURCE /* fork, mkdtemp */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/err.h"
#include "db.h"

/* the registry's own name for rollback campaigns (registry.h) */
#define GW_ROLLBACK_TEST_NAME "rollback of #"

static int fails;
static const struct gw_db_ops *ops;
static const char *conninfo;
static void *db;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                  \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            fails++;                                                                              \
        }                                                                                         \
    } while (0)

/* expect the error code want from expr; on a mismatch say what the backend said */
#define EXPECT(expr, want)                                                                        \
    do {                                                                                          \
        bw_err got_ = (expr);                                                                     \
        CHECK(got_ == (want), "%s: %s, want %s (%s)", #expr, bw_errname(got_),                   \
              bw_errname(want), ops->error(db));                                                  \
    } while (0)

#define DAY ((int64_t)20000 * 86400) /* a midnight UTC in 2024 */

static void open_db(void)
{
    bw_err rc = ops->open(conninfo, &db);

    if (rc) {
        fprintf(stderr, "FAIL: open %s: %s\n", conninfo, bw_errname(rc));
        exit(1);
    }
}

static void reopen(void)
{
    ops->close(db);
    db = NULL;
    open_db();
}

static void mkdev(struct gw_device *d, const char *id, int n, enum gw_device_status st,
                  const char *attrs)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->fingerprint, sizeof(d->fingerprint), "%064x", n);
    snprintf(d->serial, sizeof(d->serial), "%032x", n + 7);
    snprintf(d->pubkey, sizeof(d->pubkey), "04%0128x", n);
    d->status = st;
    snprintf(d->attrs, sizeof(d->attrs), "%s", attrs);
    d->sequence = -1;
    d->created = DAY + n;
}

static void mkrel(struct gw_release *r, const char *name, int n)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->digest, sizeof(r->digest), "%064x", 0xd16e57 + n);
    r->size = 1000 + n;
    r->sequence = n;
    snprintf(r->vendor_id, sizeof(r->vendor_id), "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
    snprintf(r->class_id, sizeof(r->class_id), "1492af14-2569-5e48-bf42-9b2d51f2ab45");
    snprintf(r->uploaded_by, sizeof(r->uploaded_by), "alice");
    r->created = DAY;
    snprintf(r->kind, sizeof(r->kind), "bulwark");
}

static void mkcamp(struct gw_campaign *c, const char *name, int64_t rel, const char *filter,
                   int batch, int spct, int epct)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->release_id = rel;
    snprintf(c->filter, sizeof(c->filter), "%s", filter);
    c->type = GW_ACT_FORCED;
    c->batch_size = batch;
    c->success_threshold_pct = spct;
    c->error_threshold_pct = epct;
    c->window_start = c->window_end = -1;
}

/* ---- gw_db_pick --------------------------------------------------------- */

static void t_pick(void)
{
    const struct gw_db_ops *o;
    const char *ci;

    CHECK(gw_db_pick("sqlite:/tmp/x.db", &o, &ci) == BW_OK && o == &gw_db_sqlite &&
              !strcmp(ci, "/tmp/x.db"),
          "sqlite: URL");
    CHECK(gw_db_pick("postgresql://u@h/db", &o, &ci) == BW_OK && o == &gw_db_pg &&
              !strcmp(ci, "postgresql://u@h/db"),
          "postgresql:// URL");
    CHECK(gw_db_pick("postgres:///db?host=/tmp", &o, &ci) == BW_OK && o == &gw_db_pg &&
              !strcmp(ci, "postgres:///db?host=/tmp"),
          "postgres:// URL");
    CHECK(gw_db_pick("pg:host=/tmp dbname=x", &o, &ci) == BW_OK && o == &gw_db_pg &&
              !strcmp(ci, "host=/tmp dbname=x"),
          "pg: conninfo");
    CHECK(gw_db_pick("sqlite:", &o, &ci) == BW_E_INVAL, "empty sqlite path");
    CHECK(gw_db_pick("pg:", &o, &ci) == BW_E_INVAL, "empty pg conninfo");
    CHECK(gw_db_pick("mysql://x", &o, &ci) == BW_E_INVAL && !o, "unknown scheme");
    CHECK(gw_db_pick("/tmp/x.db", &o, &ci) == BW_E_INVAL, "bare path");
    CHECK(strcmp(gw_db_sqlite.name, gw_db_pg.name) != 0, "backend names");
}

/* ---- devices ------------------------------------------------------------ */

/* device_revoked's rows: how many, and the time of the one whose serial
 * is want */
struct revoked_rows {
    const char *want;
    int n, found;
    int64_t at;
};

static void revoked_row(void *arg, const char *serial, int64_t at)
{
    struct revoked_rows *r = arg;

    r->n++;
    if (!strcmp(serial, r->want)) {
        r->found++;
        r->at = at;
    }
}

struct idlist {
    char s[2048];
    int n;
};

static void collect(void *arg, const struct gw_device *d)
{
    struct idlist *l = arg;
    size_t n = strlen(l->s);

    snprintf(l->s + n, sizeof(l->s) - n, "%s%s", n ? "," : "", d->id);
    l->n++;
}

static const char *list_st(const char *filter, int status, int64_t off, int64_t lim, bw_err *rc)
{
    static struct idlist l;

    memset(&l, 0, sizeof(l));
    *rc = ops->device_list(db, filter, status, off, lim, collect, &l);
    return l.s;
}

static const char *list(const char *filter, int64_t off, int64_t lim, bw_err *rc)
{
    return list_st(filter, -1, off, lim, rc);
}

#define EXPECT_LIST(filter, off, lim, want)                                                       \
    do {                                                                                          \
        bw_err lrc_;                                                                              \
        const char *got_ = list(filter, off, lim, &lrc_);                                         \
        CHECK(lrc_ == BW_OK && !strcmp(got_, want), "list %s [%d,%d]: %s \"%s\", want \"%s\"",   \
              filter ? filter : "NULL", (int)(off), (int)(lim), bw_errname(lrc_), got_, want);   \
    } while (0)

static void t_devices(void)
{
    static struct gw_device d, g;
    static char big[GW_ATTRS_MAX + 64];
    bw_err rc;
    size_t n;

    /* added out of order; lists are ordered by id, bytewise ("Z" < "a") */
    mkdev(&d, "dev-c", 3, GW_DEV_ACCEPTED, "{\"group\":\"field\",\"hw\":\"r2\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "dev-a", 1, GW_DEV_ACCEPTED, "{\"group\":\"lab\",\"hw\":\"r2\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "dev-b", 2, GW_DEV_PENDING, "{\"hw\":\"r1\",\"group\":\"lab\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "Dev-Z", 4, GW_DEV_ACCEPTED, "{\"group\":\"lab\",\"n\":5,\"list\":[\"lab\"]}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "dev-e", 5, GW_DEV_ACCEPTED, "{\"group\":[\"lab\"],\"k\\u00e9y\":\"v\\u00e9\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "dev-f", 6, GW_DEV_ACCEPTED, "");
    EXPECT(ops->device_add(db, &d), BW_OK);

    /* duplicates: id, fingerprint; the first stays as it was */
    mkdev(&d, "dev-a", 99, GW_DEV_REVOKED, "{}");
    EXPECT(ops->device_add(db, &d), BW_E_EXISTS);
    mkdev(&d, "dev-new", 3, GW_DEV_ACCEPTED, "{}");
    EXPECT(ops->device_add(db, &d), BW_E_EXISTS);
    EXPECT(ops->device_get(db, "dev-new", &g), BW_E_NOTFOUND);
    /* and the public key: another id with another certificate for a key
     * that is registered already (one key, one identity) */
    mkdev(&d, "dev-new", 90, GW_DEV_ACCEPTED, "{}");
    snprintf(d.pubkey, sizeof(d.pubkey), "04%0128x", 1);
    EXPECT(ops->device_add(db, &d), BW_E_EXISTS);
    EXPECT(ops->device_get(db, "dev-new", &g), BW_E_NOTFOUND);
    EXPECT(ops->device_get(db, "dev-a", &g), BW_OK);
    CHECK(g.status == GW_DEV_ACCEPTED && g.fingerprint[63] == '1' && g.created == DAY + 1,
          "dev-a changed by a refused duplicate");

    /* refused input */
    mkdev(&d, "", 20, GW_DEV_ACCEPTED, "{}");
    EXPECT(ops->device_add(db, &d), BW_E_INVAL);
    mkdev(&d, "dev-x", 21, GW_DEV_ACCEPTED, "{}");
    d.fingerprint[0] = 'A';
    EXPECT(ops->device_add(db, &d), BW_E_INVAL);
    mkdev(&d, "dev-x", 22, GW_DEV_ACCEPTED, "[\"a\"]");
    EXPECT(ops->device_add(db, &d), BW_E_FORMAT);
    mkdev(&d, "dev-x", 23, GW_DEV_ACCEPTED, "{\"a\":\"1\",\"a\":\"2\"}");
    EXPECT(ops->device_add(db, &d), BW_E_FORMAT);
    mkdev(&d, "dev-x", 24, GW_DEV_ACCEPTED, "{\"a\":");
    EXPECT(ops->device_add(db, &d), BW_E_FORMAT);
    mkdev(&d, "dev-\xff", 25, GW_DEV_ACCEPTED, "{}");
    EXPECT(ops->device_add(db, &d), BW_E_INVAL);

    /* get, by fingerprint, round trip of every field */
    EXPECT(ops->device_get(db, "dev-c", &g), BW_OK);
    mkdev(&d, "dev-c", 3, GW_DEV_ACCEPTED, "{\"group\":\"field\",\"hw\":\"r2\"}");
    CHECK(!strcmp(d.id, g.id) && !strcmp(d.fingerprint, g.fingerprint) &&
              !strcmp(d.attrs, g.attrs) && !strcmp(d.pubkey, g.pubkey) &&
              !strcmp(d.serial, g.serial) && g.status == GW_DEV_ACCEPTED && !g.version[0] &&
              g.sequence == -1 && g.last_seen == 0 && g.created == d.created,
          "dev-c read back differs");
    EXPECT(ops->device_get(db, "dev-f", &g), BW_OK);
    CHECK(!strcmp(g.attrs, "{}"), "empty attrs read back as \"%s\"", g.attrs);
    EXPECT(ops->device_get(db, "dev-C", &g), BW_E_NOTFOUND);
    EXPECT(ops->device_get(db, "nope", &g), BW_E_NOTFOUND);
    snprintf(d.fingerprint, sizeof(d.fingerprint), "%064x", 2);
    EXPECT(ops->device_by_fingerprint(db, d.fingerprint, &g), BW_OK);
    CHECK(!strcmp(g.id, "dev-b") && g.status == GW_DEV_PENDING, "by fingerprint: %s", g.id);
    snprintf(d.fingerprint, sizeof(d.fingerprint), "%064x", 77);
    EXPECT(ops->device_by_fingerprint(db, d.fingerprint, &g), BW_E_NOTFOUND);

    /* status */
    EXPECT(ops->device_set_status(db, "dev-b", GW_DEV_ACCEPTED), BW_OK);
    EXPECT(ops->device_get(db, "dev-b", &g), BW_OK);
    CHECK(g.status == GW_DEV_ACCEPTED, "status not set");
    EXPECT(ops->device_set_status(db, "nope", GW_DEV_REJECTED), BW_E_NOTFOUND);
    EXPECT(ops->device_set_status(db, "dev-b", (enum gw_device_status)9), BW_E_INVAL);

    /* revoked devices for the CRL (crl.c): each with the time it was
     * revoked; revoking again keeps it; accepted again, it leaves the list */
    {
        char serial[sizeof(g.serial)], fpr[sizeof(g.fingerprint)];
        struct revoked_rows rv = {serial, 0, 0, 0};
        int64_t t0 = (int64_t)time(NULL), first_at;

        memcpy(serial, g.serial, sizeof(serial));
        memcpy(fpr, g.fingerprint, sizeof(fpr));

        EXPECT(ops->device_revoked(db, 0, revoked_row, &rv), BW_OK);
        CHECK(rv.found == 0, "dev-b listed as revoked while accepted");
        EXPECT(ops->device_set_status(db, "dev-b", GW_DEV_REVOKED), BW_OK);
        EXPECT(ops->device_revoked(db, 0, revoked_row, &rv), BW_OK);
        CHECK(rv.found == 1 && rv.at >= t0 && rv.at <= (int64_t)time(NULL),
              "revoked dev-b: found %d, at %" PRId64, rv.found, rv.at);
        first_at = rv.at;
        EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_OK);
        CHECK(g.status == GW_DEV_REVOKED, "revocation not read by fingerprint");
        EXPECT(ops->device_set_status(db, "dev-b", GW_DEV_REVOKED), BW_OK);
        rv.found = 0;
        EXPECT(ops->device_revoked(db, 0, revoked_row, &rv), BW_OK);
        CHECK(rv.found == 1 && rv.at == first_at, "a second revocation moved the time");
        EXPECT(ops->device_set_status(db, "dev-b", GW_DEV_ACCEPTED), BW_OK);
        rv.found = 0;
        EXPECT(ops->device_revoked(db, 0, revoked_row, &rv), BW_OK);
        CHECK(rv.found == 0, "dev-b still listed after it was accepted again");
        EXPECT(ops->device_revoked(db, 0, NULL, NULL), BW_E_INVAL);
    }

    /* check-in */
    EXPECT(ops->device_checkin(db, "dev-f", "1.2.3", 7, "{\"group\":\"lab\",\"site\":\"b\"}",
                               DAY + 100),
           BW_OK);
    EXPECT(ops->device_get(db, "dev-f", &g), BW_OK);
    CHECK(!strcmp(g.version, "1.2.3") && g.sequence == 7 && g.last_seen == DAY + 100 &&
              !strcmp(g.attrs, "{\"group\":\"lab\",\"site\":\"b\"}"),
          "check-in not stored: %s %" PRId64 " %" PRId64 " %s", g.version, g.sequence,
          g.last_seen, g.attrs);
    EXPECT(ops->device_checkin(db, "dev-f", NULL, 8, NULL, DAY + 200), BW_OK);
    EXPECT(ops->device_get(db, "dev-f", &g), BW_OK);
    CHECK(!strcmp(g.version, "1.2.3") && g.sequence == 8 && g.last_seen == DAY + 200 &&
              !strcmp(g.attrs, "{\"group\":\"lab\",\"site\":\"b\"}"),
          "check-in without attrs/version lost them");
    EXPECT(ops->device_checkin(db, "nope", "1", 1, "{}", DAY), BW_E_NOTFOUND);
    EXPECT(ops->device_checkin(db, "dev-f", "1", 1, "{\"a\"}", DAY), BW_E_FORMAT);
    n = (size_t)snprintf(big, sizeof(big), "{\"pad\":\"");
    memset(big + n, 'x', GW_ATTRS_MAX - n - 2);
    memcpy(big + GW_ATTRS_MAX - 2, "\"}", 3); /* exactly GW_ATTRS_MAX bytes */
    EXPECT(ops->device_checkin(db, "dev-a", NULL, 1, big, DAY), BW_OK);
    memmove(big + 1, big, GW_ATTRS_MAX + 1);
    big[0] = ' '; /* one byte more */
    EXPECT(ops->device_checkin(db, "dev-a", NULL, 1, big, DAY), BW_E_TOOBIG);
    EXPECT(ops->device_get(db, "dev-a", &g), BW_OK);
    CHECK(strlen(g.attrs) == GW_ATTRS_MAX, "attrs of GW_ATTRS_MAX bytes: %zu", strlen(g.attrs));
    EXPECT(ops->device_checkin(db, "dev-a", NULL, 1, "{\"group\":\"lab\",\"hw\":\"r2\"}", DAY),
           BW_OK);
    memset(big, 'v', GW_ID_MAX + 1);
    big[GW_ID_MAX + 1] = '\0';
    EXPECT(ops->device_checkin(db, "dev-a", big, 1, NULL, DAY), BW_E_TOOBIG);

    /* lists and filters */
    EXPECT_LIST(NULL, 0, -1, "Dev-Z,dev-a,dev-b,dev-c,dev-e,dev-f");
    EXPECT_LIST("{}", 0, -1, "Dev-Z,dev-a,dev-b,dev-c,dev-e,dev-f");
    EXPECT_LIST("{\"group\":\"lab\"}", 0, -1, "Dev-Z,dev-a,dev-b,dev-f");
    EXPECT_LIST("{\"group\":\"lab\",\"hw\":\"r2\"}", 0, -1, "dev-a");
    EXPECT_LIST("{\"hw\":\"r2\",\"group\":\"lab\"}", 0, -1, "dev-a");
    EXPECT_LIST("{\"hw\":\"r2\"}", 0, -1, "dev-a,dev-c");
    EXPECT_LIST("{\"group\":\"LAB\"}", 0, -1, "");
    EXPECT_LIST("{\"nope\":\"x\"}", 0, -1, "");
    EXPECT_LIST("{\"n\":\"5\"}", 0, -1, "");  /* a number is not the string "5" */
    EXPECT_LIST("{\"list\":\"lab\"}", 0, -1, ""); /* nor is an array */
    EXPECT_LIST("{\"k\xc3\xa9y\":\"v\xc3\xa9\"}", 0, -1, "dev-e"); /* escapes decoded */
    EXPECT_LIST("{\"group\":\"lab\"}", 1, 2, "dev-a,dev-b");
    EXPECT_LIST("{\"group\":\"lab\"}", 3, 10, "dev-f");
    EXPECT_LIST("{\"group\":\"lab\"}", 4, 10, "");
    EXPECT_LIST(NULL, 0, 0, "");
    list("{\"group\":1}", 0, -1, &rc);
    CHECK(rc == BW_E_FORMAT, "filter with a number: %s", bw_errname(rc));
    list("[\"group\"]", 0, -1, &rc);
    CHECK(rc == BW_E_FORMAT, "filter as an array: %s", bw_errname(rc));
    list("{\"g\":{\"a\":\"b\"}}", 0, -1, &rc);
    CHECK(rc == BW_E_FORMAT, "nested filter: %s", bw_errname(rc));
    list(NULL, -1, 1, &rc);
    CHECK(rc == BW_E_INVAL, "negative offset: %s", bw_errname(rc));
}

/* ---- releases ----------------------------------------------------------- */

static int64_t rel1, rel2, rel3;

/* ---- identities: pending cap and expiry, status lists, re-key, delete ---- */

#define EXPECT_STATUS_LIST(status, off, lim, want)                                                \
    do {                                                                                          \
        bw_err lrc_;                                                                              \
        const char *got_ = list_st("{\"t\":\"ident\"}", status, off, lim, &lrc_);              \
        CHECK(lrc_ == BW_OK && !strcmp(got_, want), "status %d list [%d,%d]: %s \"%s\", want \"%s\"", \
              (int)(status), (int)(off), (int)(lim), bw_errname(lrc_), got_, want);               \
    } while (0)

static void t_identities(void)
{
    static struct gw_device d, g;
    struct gw_ddi_target t;
    struct gw_campaign c;
    struct gw_action a;
    struct idlist l;
    char fpr[65];
    int64_t pending0;
    bw_err rc;

    /* the pending devices there already count against the cap */
    memset(&l, 0, sizeof(l));
    EXPECT(ops->device_list(db, NULL, GW_DEV_PENDING, 0, -1, collect, &l), BW_OK);
    pending0 = l.n;
    mkdev(&d, "id-1", 5001, GW_DEV_PENDING, "{\"t\":\"ident\"}");
    d.created = 1000; /* long ago */
    EXPECT(ops->pending_add(db, &d, 0, pending0 + 3), BW_OK);
    mkdev(&d, "id-2", 5002, GW_DEV_PENDING, "{\"t\":\"ident\"}");
    EXPECT(ops->pending_add(db, &d, 0, pending0 + 3), BW_OK);
    mkdev(&d, "id-3", 5003, GW_DEV_PENDING, "{\"t\":\"ident\"}");
    EXPECT(ops->pending_add(db, &d, 0, pending0 + 3), BW_OK);
    mkdev(&d, "id-4", 5004, GW_DEV_PENDING, "{\"t\":\"ident\"}");
    EXPECT(ops->pending_add(db, &d, 0, pending0 + 3), BW_E_QUOTA);
    EXPECT(ops->device_get(db, "id-4", &g), BW_E_NOTFOUND);
    /* an accepted device does not count; a duplicate is refused as such */
    mkdev(&d, "id-2", 5005, GW_DEV_PENDING, "{}");
    EXPECT(ops->pending_add(db, &d, 0, pending0 + 10), BW_E_EXISTS);
    mkdev(&d, "id-4", 5004, GW_DEV_ACCEPTED, "{\"t\":\"ident\"}");
    EXPECT(ops->pending_add(db, &d, 0, pending0 + 10), BW_E_INVAL);
    /* id-1 is older than the expiry: it goes, id-4 takes its place */
    mkdev(&d, "id-4", 5004, GW_DEV_PENDING, "{\"t\":\"ident\"}");
    d.created = 1500;
    EXPECT(ops->pending_add(db, &d, 2000, pending0 + 3), BW_OK);
    EXPECT(ops->device_get(db, "id-1", &g), BW_E_NOTFOUND);
    /* a pending device that checked in (an operator put it back) stays */
    EXPECT(ops->device_checkin(db, "id-4", "1", 1, NULL, DAY), BW_OK);
    mkdev(&d, "id-5", 5006, GW_DEV_PENDING, "{\"t\":\"ident\"}");
    EXPECT(ops->pending_add(db, &d, 2000, pending0 + 3), BW_E_QUOTA);
    EXPECT(ops->device_get(db, "id-4", &g), BW_OK);

    /* lists by status, paged */
    EXPECT(ops->device_set_status(db, "id-3", GW_DEV_REJECTED), BW_OK);
    EXPECT_STATUS_LIST(-1, 0, -1, "id-2,id-3,id-4");
    EXPECT_STATUS_LIST(GW_DEV_PENDING, 0, -1, "id-2,id-4");
    EXPECT_STATUS_LIST(GW_DEV_PENDING, 1, 1, "id-4");
    EXPECT_STATUS_LIST(GW_DEV_REJECTED, 0, -1, "id-3");
    EXPECT_STATUS_LIST(GW_DEV_ACCEPTED, 0, -1, "");
    list_st(NULL, 9, 0, -1, &rc);
    CHECK(rc == BW_E_INVAL, "status 9 listed: %s", bw_errname(rc));

    /* re-key: pending or rejected only; the old key no longer finds it */
    snprintf(fpr, sizeof(fpr), "%064x", 5100);
    EXPECT(ops->device_rekey(db, "id-2", fpr, GW_DEV_ACCEPTED), BW_OK);
    EXPECT(ops->device_get(db, "id-2", &g), BW_OK);
    CHECK(g.status == GW_DEV_ACCEPTED && !strcmp(g.fingerprint, fpr) && !g.serial[0] &&
              !g.pubkey[0] && !strcmp(g.attrs, "{\"t\":\"ident\"}"),
          "re-keyed id-2: %d %s", (int)g.status, g.fingerprint);
    snprintf(fpr, sizeof(fpr), "%064x", 5002);
    EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_E_NOTFOUND);
    snprintf(fpr, sizeof(fpr), "%064x", 5101);
    EXPECT(ops->device_rekey(db, "id-2", fpr, GW_DEV_PENDING), BW_E_STATE);
    EXPECT(ops->device_rekey(db, "nope", fpr, GW_DEV_PENDING), BW_E_NOTFOUND);
    snprintf(fpr, sizeof(fpr), "%064x", 5004); /* id-4's key */
    EXPECT(ops->device_rekey(db, "id-3", fpr, GW_DEV_PENDING), BW_E_EXISTS);
    EXPECT(ops->device_rekey(db, "id-3", "ABC", GW_DEV_PENDING), BW_E_INVAL);
    snprintf(fpr, sizeof(fpr), "%064x", 5102);
    EXPECT(ops->device_rekey(db, "id-3", fpr, GW_DEV_PENDING), BW_OK);
    EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_OK);
    CHECK(!strcmp(g.id, "id-3") && g.status == GW_DEV_PENDING, "re-keyed id-3: %s", g.id);

    /* delete: the device, its actions and its DDI state, in one go */
    EXPECT(ops->ddi_set_token(db, "id-2", fpr), BW_OK);
    mkcamp(&c, "ident-camp", rel1, "{\"t\":\"ident\"}", 10, 100, 100);
    EXPECT(ops->campaign_create(db, &c, DAY), BW_OK);
    EXPECT(ops->action_next(db, "id-2", DAY, &a), BW_OK);
    EXPECT(ops->device_delete(db, "id-2"), BW_OK);
    EXPECT(ops->device_get(db, "id-2", &g), BW_E_NOTFOUND);
    EXPECT(ops->ddi_get(db, "id-2", &t), BW_E_NOTFOUND);
    EXPECT(ops->action_get(db, "id-2", a.id, &a), BW_E_NOTFOUND);
    EXPECT(ops->device_delete(db, "id-2"), BW_E_NOTFOUND);
    EXPECT(ops->campaign_get(db, c.id, &c, NULL), BW_OK);
    /* the id is free again */
    mkdev(&d, "id-2", 5002, GW_DEV_PENDING, "{}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    EXPECT(ops->device_delete(db, "id-2"), BW_OK);
}

/* Operational certificates (EST, migration 9): recorded for a device,
 * found by their fingerprint with their own key and serial (op_cert set),
 * listed for the CRL once the device is revoked, gone with the device. */
static void t_opcerts(void)
{
    struct gw_device d, g;
    char fpr[65], serial[33], pub[131], fpr2[65], serial2[33];
    struct revoked_rows rv = {serial, 0, 0, 0};
    int64_t now = (int64_t)time(NULL);

    mkdev(&d, "op-1", 900, GW_DEV_ACCEPTED, "{}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    snprintf(fpr, sizeof(fpr), "%064x", 901);
    snprintf(serial, sizeof(serial), "%032x", 902);
    snprintf(pub, sizeof(pub), "04%0128x", 903);
    EXPECT(ops->cert_add(db, "op-1", fpr, serial, pub, now + 1000, now, "est.enroll"), BW_OK);
    EXPECT(ops->cert_add(db, "op-1", fpr, serial, pub, now + 1000, now, "est.enroll"), BW_E_EXISTS);
    EXPECT(ops->cert_add(db, "nope", d.fingerprint, serial, pub, now + 1000, now, "est.enroll"), BW_E_NOTFOUND);
    EXPECT(ops->cert_add(db, "op-1", "A", serial, pub, now + 1000, now, "est.enroll"), BW_E_INVAL);
    EXPECT(ops->cert_add(db, "op-1", fpr, "", pub, now + 1000, now, "est.enroll"), BW_E_INVAL);

    EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_OK);
    CHECK(!strcmp(g.id, "op-1") && g.op_cert == 1 && !strcmp(g.pubkey, pub) &&
              !strcmp(g.serial, serial) && !strcmp(g.fingerprint, fpr) &&
              g.status == GW_DEV_ACCEPTED,
          "operational certificate read back: %s op_cert %d", g.id, g.op_cert);
    EXPECT(ops->device_by_fingerprint(db, d.fingerprint, &g), BW_OK);
    CHECK(!strcmp(g.id, "op-1") && g.op_cert == 0 && !strcmp(g.pubkey, d.pubkey),
          "birth certificate read as operational");

    EXPECT(ops->device_revoked(db, 1, revoked_row, &rv), BW_OK);
    CHECK(rv.found == 0, "operational certificate listed before its device was revoked");

    /* one certificate revoked on its own: not found by it any more,
     * listed with its own time (kept when revoked again), the device and
     * its birth certificate untouched; another device's or an unknown
     * serial is not found */
    snprintf(fpr2, sizeof(fpr2), "%064x", 904);
    snprintf(serial2, sizeof(serial2), "%032x", 905);
    EXPECT(ops->cert_add(db, "op-1", fpr2, serial2, pub, now + 1000, now, "est.enroll"), BW_OK);
    EXPECT(ops->cert_revoke(db, "op-1", serial2, now - 5), BW_OK);
    EXPECT(ops->cert_revoke(db, "op-1", serial2, now), BW_OK);
    EXPECT(ops->cert_revoke(db, "op-2", serial2, now), BW_E_NOTFOUND);
    EXPECT(ops->cert_revoke(db, "op-1", "ab", now), BW_E_NOTFOUND);
    EXPECT(ops->cert_revoke(db, NULL, serial2, now), BW_E_INVAL);
    EXPECT(ops->device_by_fingerprint(db, fpr2, &g), BW_E_NOTFOUND);
    EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_OK);
    EXPECT(ops->device_by_fingerprint(db, d.fingerprint, &g), BW_OK);
    CHECK(g.status == GW_DEV_ACCEPTED, "device revoked with one operational certificate");
    rv.want = serial2;
    rv.found = 0;
    EXPECT(ops->device_revoked(db, 1, revoked_row, &rv), BW_OK);
    CHECK(rv.found == 1 && rv.at == now - 5, "revoked operational certificate listed %d at %lld",
          rv.found, (long long)rv.at);
    rv.want = serial;
    rv.found = 0;

    EXPECT(ops->device_set_status(db, "op-1", GW_DEV_REVOKED), BW_OK);
    EXPECT(ops->device_revoked(db, 1, revoked_row, &rv), BW_OK);
    CHECK(rv.found == 1 && rv.at >= now, "revoked device's operational certificate not listed");
    rv.found = 0;
    EXPECT(ops->device_revoked(db, 0, revoked_row, &rv), BW_OK);
    CHECK(rv.found == 0, "operational certificate listed with the birth certificates");
    EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_OK);
    CHECK(g.status == GW_DEV_REVOKED, "revocation not read by the operational certificate");

    EXPECT(ops->device_delete(db, "op-1"), BW_OK);
    EXPECT(ops->device_by_fingerprint(db, fpr, &g), BW_E_NOTFOUND);
}

static void t_releases(void)
{
    struct gw_release r, g;

    mkrel(&r, "fw-1.0", 1);
    EXPECT(ops->release_add(db, &r), BW_OK);
    rel1 = r.id;
    mkrel(&r, "fw-1.1", 2);
    EXPECT(ops->release_add(db, &r), BW_OK);
    rel2 = r.id;
    CHECK(rel1 > 0 && rel2 > 0 && rel1 != rel2, "release ids %" PRId64 " %" PRId64, rel1, rel2);
    mkrel(&r, "fw-1.2", 3);
    EXPECT(ops->release_add(db, &r), BW_OK);
    rel3 = r.id;

    mkrel(&r, "fw-1.0", 9); /* name taken */
    EXPECT(ops->release_add(db, &r), BW_E_EXISTS);
    mkrel(&r, "fw-9.9", 2); /* digest taken */
    EXPECT(ops->release_add(db, &r), BW_E_EXISTS);
    mkrel(&r, "fw-9.9", 9);
    r.digest[3] = 'G';
    EXPECT(ops->release_add(db, &r), BW_E_INVAL);

    EXPECT(ops->release_get(db, rel2, &g), BW_OK);
    mkrel(&r, "fw-1.1", 2);
    CHECK(g.id == rel2 && !strcmp(g.name, r.name) && !strcmp(g.digest, r.digest) &&
              g.size == r.size && g.sequence == r.sequence && !strcmp(g.vendor_id, r.vendor_id) &&
              !strcmp(g.class_id, r.class_id) && !strcmp(g.uploaded_by, "alice") &&
              g.created == DAY,
          "release read back differs");
    EXPECT(ops->release_get(db, rel3 + 100, &g), BW_E_NOTFOUND);
    EXPECT(ops->release_by_digest(db, r.digest, &g), BW_OK);
    CHECK(g.id == rel2, "by digest: %" PRId64, g.id);
    mkrel(&r, "x", 50);
    EXPECT(ops->release_by_digest(db, r.digest, &g), BW_E_NOTFOUND);

    /* an SWUpdate artifact: its kind and hashes come back; bad ones refused */
    mkrel(&r, "swu-1", 60);
    snprintf(r.kind, sizeof(r.kind), "swu");
    snprintf(r.md5, sizeof(r.md5), "d41d8cd98f00b204e9800998ecf8427e");
    snprintf(r.sha1, sizeof(r.sha1), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT(ops->release_add(db, &r), BW_OK);
    EXPECT(ops->release_get(db, r.id, &g), BW_OK);
    CHECK(!strcmp(g.kind, "swu") && !strcmp(g.md5, r.md5) && !strcmp(g.sha1, r.sha1),
          "swu release read back: %s %s %s", g.kind, g.md5, g.sha1);
    EXPECT(ops->release_get(db, rel1, &g), BW_OK);
    CHECK(!strcmp(g.kind, "bulwark") && !g.md5[0], "bulwark release kind %s", g.kind);
    mkrel(&r, "swu-2", 61);
    snprintf(r.kind, sizeof(r.kind), "rpm");
    EXPECT(ops->release_add(db, &r), BW_E_INVAL);
    snprintf(r.kind, sizeof(r.kind), "swu");
    snprintf(r.md5, sizeof(r.md5), "D41D8CD98F00B204E9800998ECF8427E");
    EXPECT(ops->release_add(db, &r), BW_E_INVAL);
}

/* ---- hawkBit DDI state --------------------------------------------------- */

static void t_ddi(void)
{
    struct gw_ddi_target t;
    struct gw_device d, g;
    const char *h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    mkdev(&d, "ddi-1", 300, GW_DEV_ACCEPTED, "{\"group\":\"lab\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    /* a device without DDI state: no token, attributes wanted */
    memset(&t, 0x55, sizeof(t));
    EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
    CHECK(!t.token[0] && !t.attrs_received, "fresh DDI state: '%s' %d", t.token, t.attrs_received);
    EXPECT(ops->ddi_get(db, "nope", &t), BW_E_NOTFOUND);
    /* token: set, read, replaced, removed; refused for unknown devices and bad hashes */
    EXPECT(ops->ddi_set_token(db, "ddi-1", h), BW_OK);
    EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
    CHECK(!strcmp(t.token, h) && !t.attrs_received, "token read back: %s", t.token);
    EXPECT(ops->ddi_set_token(db, "nope", h), BW_E_NOTFOUND);
    EXPECT(ops->ddi_set_token(db, "ddi-1", "abc"), BW_E_INVAL);
    EXPECT(ops->ddi_set_token(db, "ddi-1", ""), BW_OK);
    EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
    CHECK(!t.token[0], "token not removed: %s", t.token);
    /* attributes: stored on the device, and no longer wanted */
    EXPECT(ops->ddi_set_attrs(db, "ddi-1", "{\"hwRevision\":\"revA\"}"), BW_OK);
    EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
    EXPECT(ops->device_get(db, "ddi-1", &g), BW_OK);
    CHECK(t.attrs_received && !strcmp(g.attrs, "{\"hwRevision\":\"revA\"}"),
          "attrs: %d %s", t.attrs_received, g.attrs);
    EXPECT(ops->ddi_set_attrs(db, "ddi-1", "[1]"), BW_E_FORMAT);
    EXPECT(ops->ddi_set_attrs(db, "nope", "{}"), BW_E_NOTFOUND);
    EXPECT(ops->device_get(db, "ddi-1", &g), BW_OK);
    CHECK(!strcmp(g.attrs, "{\"hwRevision\":\"revA\"}"), "refused attrs changed them: %s", g.attrs);
    /* setting the token keeps attrs_received */
    EXPECT(ops->ddi_set_token(db, "ddi-1", h), BW_OK);
    EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
    CHECK(t.attrs_received && !strcmp(t.token, h), "token after attrs: %d", t.attrs_received);

    /* a cancelled action is pending until this device acknowledges it */
    {
        struct gw_campaign c;
        struct gw_action a;

        CHECK(t.cancel_pending == 0, "cancel pending with no action: %" PRId64, t.cancel_pending);
        mkcamp(&c, "ddi-cancel", rel1, "{\"hwRevision\":\"revA\"}", 10, 100, 100);
        EXPECT(ops->campaign_create(db, &c, DAY), BW_OK);
        EXPECT(ops->action_next(db, "ddi-1", DAY + 1, &a), BW_OK);
        EXPECT(ops->ddi_cancel_ack(db, "ddi-1", a.id), BW_E_NOTFOUND); /* not cancelled yet */
        EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
        CHECK(t.cancel_pending == 0, "offered action pending a cancel: %" PRId64, t.cancel_pending);
        EXPECT(ops->campaign_set_state(db, c.id, GW_CAMP_CANCELLED), BW_OK);
        EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
        CHECK(t.cancel_pending == a.id, "cancel pending %" PRId64 ", want %" PRId64,
              t.cancel_pending, a.id);
        mkdev(&d, "ddi-2", 301, GW_DEV_ACCEPTED, "{}");
        EXPECT(ops->device_add(db, &d), BW_OK);
        EXPECT(ops->ddi_cancel_ack(db, "ddi-2", a.id), BW_E_NOTFOUND); /* not its action */
        EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
        CHECK(t.cancel_pending == a.id, "another device acknowledged the cancel");
        EXPECT(ops->ddi_cancel_ack(db, "ddi-1", a.id), BW_OK);
        EXPECT(ops->ddi_cancel_ack(db, "ddi-1", a.id), BW_OK); /* again: fine */
        EXPECT(ops->ddi_get(db, "ddi-1", &t), BW_OK);
        CHECK(t.cancel_pending == 0 && t.attrs_received && !strcmp(t.token, h),
              "after the acknowledgement: %" PRId64, t.cancel_pending);
    }
}

/* ---- campaigns and actions ---------------------------------------------- */

static struct gw_counts cnt;

static struct gw_campaign camp(int64_t id)
{
    struct gw_campaign c;
    bw_err rc;

    memset(&c, 0, sizeof(c));
    rc = ops->campaign_get(db, id, &c, &cnt);
    CHECK(rc == BW_OK, "campaign_get %" PRId64 ": %s (%s)", id, bw_errname(rc), ops->error(db));
    return c;
}

/* has_work of dev as device_by_fingerprint reads it (-1: no such device) */
static int has_work(const char *dev)
{
    struct gw_device d, f;

    if (ops->device_get(db, dev, &d) != BW_OK ||
        ops->device_by_fingerprint(db, d.fingerprint, &f) != BW_OK)
        return -1;
    CHECK(d.has_work == 1, "device_get must say has_work 1, not %d", d.has_work);
    return f.has_work;
}

/* the device's action, which must be a new offer of the given batch; the
 * device read before it must have said it had work */
static int64_t offer(const char *dev, int64_t now, int batch)
{
    struct gw_action a;
    bw_err rc;

    CHECK(has_work(dev) == 1, "%s: has_work 0 before an offer", dev);
    memset(&a, 0, sizeof(a));
    rc = ops->action_next(db, dev, now, &a);
    CHECK(rc == BW_OK && a.state == GW_ACTION_OFFERED && a.updated == now && a.batch == batch &&
              !strcmp(a.device_id, dev),
          "offer to %s: %s state %d batch %d (want %d) updated %" PRId64, dev, bw_errname(rc),
          a.state, a.batch, batch, a.updated);
    return a.id;
}

/* no action for dev; and has_work 0 unless a maintenance window is what
 * holds the action back (windowed: 1 allowed) */
static void none_w(const char *dev, int64_t now, int windowed, int line)
{
    struct gw_action a;
    bw_err rc = ops->action_next(db, dev, now, &a);
    int w = has_work(dev);

    CHECK(rc == BW_E_NOTFOUND, "line %d: %s was offered action %" PRId64 " (%s)", line, dev,
          a.id, bw_errname(rc));
    CHECK(w <= 0 || windowed, "line %d: %s has_work %d with nothing to offer", line, dev, w);
}
#define none(dev, now, line) none_w(dev, now, 0, line)
#define NONE(dev, now) none(dev, now, __LINE__)
#define NONE_W(dev, now) none_w(dev, now, 1, __LINE__)

static void t_campaigns(void)
{
    static char fb[GW_FEEDBACK_MAX + 2];
    static const char *order[] = {"c07", "c02", "c09", "c00", "c05", "c01",
                                  "c08", "c03", "c06", "c04"};
    struct gw_campaign c, c2;
    struct gw_device d;
    struct gw_action a;
    int64_t id[10], t = DAY + 3600, cid, cid2, x;
    char dev[8];
    int i;

    for (i = 0; i < 10; i++) { /* added out of order: batches follow the id */
        mkdev(&d, order[i], 100 + i, GW_DEV_ACCEPTED, "{\"fleet\":\"roll\"}");
        EXPECT(ops->device_add(db, &d), BW_OK);
    }
    mkdev(&d, "c10", 120, GW_DEV_PENDING, "{\"fleet\":\"roll\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "c11", 121, GW_DEV_REJECTED, "{\"fleet\":\"roll\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "c12", 122, GW_DEV_ACCEPTED, "{\"fleet\":\"other\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);

    /* refused campaigns */
    mkcamp(&c, "roll-1", rel3 + 100, "{\"fleet\":\"roll\"}", 4, 50, 30);
    EXPECT(ops->campaign_create(db, &c, t), BW_E_NOTFOUND);
    mkcamp(&c, "roll-1", rel1, "{\"fleet\":\"roll\"}", 0, 50, 30);
    EXPECT(ops->campaign_create(db, &c, t), BW_E_INVAL);
    mkcamp(&c, "roll-1", rel1, "{\"fleet\":\"roll\"}", 4, 101, 30);
    EXPECT(ops->campaign_create(db, &c, t), BW_E_INVAL);
    mkcamp(&c, "roll-1", rel1, "{\"fleet\":\"roll\"}", 4, 50, 30);
    c.window_start = 3600;
    EXPECT(ops->campaign_create(db, &c, t), BW_E_INVAL);
    c.window_end = 86400;
    EXPECT(ops->campaign_create(db, &c, t), BW_E_INVAL);
    c.window_end = 3600;
    EXPECT(ops->campaign_create(db, &c, t), BW_E_INVAL);
    mkcamp(&c, "roll-1", rel1, "{\"fleet\":7}", 4, 50, 30);
    EXPECT(ops->campaign_create(db, &c, t), BW_E_FORMAT);

    /* batch size 4, 50 % to advance, pause above 30 % failures:
     * batches c00-c03, c04-c07, c08-c09 */
    mkcamp(&c, "roll-1", rel1, "{\"fleet\":\"roll\"}", 4, 50, 30);
    c.type = GW_ACT_SOFT;
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    cid = c.id;
    CHECK(cid > 0 && c.state == GW_CAMP_RUNNING && c.current_batch == 0 && c.created == t,
          "created campaign: id %" PRId64 " state %d", cid, c.state);
    mkcamp(&c2, "roll-1", rel2, "{}", 4, 50, 30);
    EXPECT(ops->campaign_create(db, &c2, t), BW_E_EXISTS);
    c2 = camp(cid);
    CHECK(!strcmp(c2.name, "roll-1") && c2.release_id == rel1 &&
              !strcmp(c2.filter, "{\"fleet\":\"roll\"}") && c2.type == GW_ACT_SOFT &&
              c2.state == GW_CAMP_RUNNING && c2.batch_size == 4 &&
              c2.success_threshold_pct == 50 && c2.error_threshold_pct == 30 &&
              c2.current_batch == 0 && c2.window_start == -1 && c2.window_end == -1 &&
              c2.created == t,
          "campaign read back differs");
    CHECK(cnt.n[GW_ACTION_SCHEDULED] == 10 && cnt.n[GW_ACTION_OFFERED] == 0,
          "scheduled %" PRId64 ", want 10 (pending, rejected, other fleet excluded)",
          cnt.n[GW_ACTION_SCHEDULED]);
    {
        struct gw_counts k;
        EXPECT(ops->campaign_get(db, cid + 1000, &c2, &k), BW_E_NOTFOUND);
        EXPECT(ops->campaign_get(db, cid, &c2, NULL), BW_OK);
    }
    NONE("c10", t); /* pending: not in the campaign */
    NONE("c12", t); /* not matched */
    NONE("nope", t);

    /* batch 1 waits for batch 0 */
    NONE("c04", t);
    NONE("c09", t);
    id[0] = offer("c00", t + 1, 0);
    CHECK(ops->action_next(db, "c00", t + 2, &a) == BW_OK && a.id == id[0] &&
              a.state == GW_ACTION_OFFERED && a.updated == t + 1 && a.campaign_id == cid &&
              a.release_id == rel1 && a.type == GW_ACT_SOFT,
          "second poll does not return the same offer unchanged");
    /* another device can neither read nor report it */
    EXPECT(ops->action_get(db, "c01", id[0], &a), BW_E_NOTFOUND);
    EXPECT(ops->action_report(db, "c01", id[0], GW_ACTION_SUCCESS, "", t), BW_E_NOTFOUND);
    EXPECT(ops->action_report(db, "c00", id[0] + 100000, GW_ACTION_SUCCESS, "", t),
           BW_E_NOTFOUND);
    EXPECT(ops->action_get(db, "c00", id[0], &a), BW_OK);
    CHECK(a.state == GW_ACTION_OFFERED, "c01's report changed c00's action");
    /* report states */
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_SCHEDULED, "", t), BW_E_INVAL);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_CANCELLED, "", t), BW_E_INVAL);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_OFFERED, "", t), BW_E_INVAL);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_RUNNING, "downloading", t + 3), BW_OK);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_RUNNING, "installing", t + 4), BW_OK);
    CHECK(ops->action_next(db, "c00", t + 5, &a) == BW_OK && a.id == id[0] &&
              a.state == GW_ACTION_RUNNING && a.updated == t + 4,
          "running action not returned by action_next");
    /* feedback cap: exactly GW_FEEDBACK_MAX is fine, one more is not */
    memset(fb, 'f', GW_FEEDBACK_MAX + 1);
    fb[GW_FEEDBACK_MAX + 1] = '\0';
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_SUCCESS, fb, t + 6), BW_E_TOOBIG);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_SUCCESS, "\xc3(", t + 6), BW_E_FORMAT);
    fb[GW_FEEDBACK_MAX] = '\0';
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_SUCCESS, fb, t + 6), BW_OK);
    /* final states refuse */
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_RUNNING, "", t + 7), BW_E_STATE);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_FAILURE, "", t + 7), BW_E_STATE);
    EXPECT(ops->action_get(db, "c00", id[0], &a), BW_OK);
    CHECK(a.state == GW_ACTION_SUCCESS && a.updated == t + 6, "final state changed");
    NONE("c00", t + 8);
    /* 1 of 4 < 50 %: batch 1 still closed; 2 of 4 opens it */
    NONE("c04", t + 8);
    c2 = camp(cid);
    CHECK(c2.current_batch == 0, "advanced at 25 %%");
    id[1] = offer("c01", t + 9, 0);
    EXPECT(ops->action_report(db, "c01", id[1], GW_ACTION_SUCCESS, NULL, t + 10), BW_OK);
    c2 = camp(cid);
    CHECK(c2.current_batch == 1 && c2.state == GW_CAMP_RUNNING, "batch %d state %d at 50 %%",
          c2.current_batch, c2.state);
    NONE("c08", t + 11);

    /* failures: released = 8 actions, pause when failures * 100 > 30 * 8 */
    id[6] = offer("c06", t + 11, 1); /* held across the pause */
    id[2] = offer("c02", t + 12, 0);
    EXPECT(ops->action_report(db, "c02", id[2], GW_ACTION_FAILURE, "flash error", t + 13), BW_OK);
    id[3] = offer("c03", t + 14, 0);
    EXPECT(ops->action_report(db, "c03", id[3], GW_ACTION_FAILURE, "no space", t + 15), BW_OK);
    c2 = camp(cid);
    CHECK(c2.state == GW_CAMP_RUNNING, "paused at 2 failures of 8");
    id[4] = offer("c04", t + 16, 1);
    EXPECT(ops->action_report(db, "c04", id[4], GW_ACTION_FAILURE, "bad", t + 17), BW_OK);
    c2 = camp(cid);
    CHECK(c2.state == GW_CAMP_PAUSED, "not paused at 3 failures of 8: state %d", c2.state);
    CHECK(cnt.n[GW_ACTION_FAILURE] == 3 && cnt.n[GW_ACTION_SUCCESS] == 2 &&
              cnt.n[GW_ACTION_OFFERED] == 1 && cnt.n[GW_ACTION_SCHEDULED] == 4,
          "counts while paused: %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64,
          cnt.n[GW_ACTION_FAILURE], cnt.n[GW_ACTION_SUCCESS], cnt.n[GW_ACTION_OFFERED],
          cnt.n[GW_ACTION_SCHEDULED]);
    NONE("c05", t + 18); /* paused: nothing new */
    /* an action already handed out goes on */
    CHECK(ops->action_next(db, "c06", t + 19, &a) == BW_OK && a.id == id[6],
          "offered action hidden by the pause");
    EXPECT(ops->action_report(db, "c06", id[6], GW_ACTION_RUNNING, "", t + 20), BW_OK);
    /* operator transitions */
    EXPECT(ops->campaign_set_state(db, cid, GW_CAMP_PAUSED), BW_OK);
    EXPECT(ops->campaign_set_state(db, cid, GW_CAMP_DONE), BW_E_INVAL);
    EXPECT(ops->campaign_set_state(db, cid + 1000, GW_CAMP_RUNNING), BW_E_NOTFOUND);
    EXPECT(ops->campaign_set_state(db, cid, GW_CAMP_RUNNING), BW_OK);
    c2 = camp(cid);
    CHECK(c2.state == GW_CAMP_RUNNING, "resume: state %d", c2.state);
    /* a success after resume does not pause again */
    EXPECT(ops->action_report(db, "c06", id[6], GW_ACTION_SUCCESS, "", t + 21), BW_OK);
    c2 = camp(cid);
    CHECK(c2.state == GW_CAMP_RUNNING && c2.current_batch == 1, "state %d batch %d", c2.state,
          c2.current_batch);
    NONE("c08", t + 22);
    id[5] = offer("c05", t + 22, 1);
    EXPECT(ops->action_report(db, "c05", id[5], GW_ACTION_SUCCESS, "", t + 23), BW_OK);
    c2 = camp(cid); /* 2 of 4 in batch 1 */
    CHECK(c2.current_batch == 2 && c2.state == GW_CAMP_RUNNING, "batch 2: %d, state %d",
          c2.current_batch, c2.state);
    id[7] = offer("c07", t + 24, 1);
    id[8] = offer("c08", t + 26, 2);
    id[9] = offer("c09", t + 27, 2);
    EXPECT(ops->action_report(db, "c08", id[8], GW_ACTION_SUCCESS, "", t + 28), BW_OK);
    c2 = camp(cid);
    CHECK(c2.current_batch == 3 && c2.state == GW_CAMP_RUNNING, "all released, two pending");
    EXPECT(ops->action_report(db, "c07", id[7], GW_ACTION_SUCCESS, "", t + 29), BW_OK);
    c2 = camp(cid);
    CHECK(c2.state == GW_CAMP_RUNNING, "done with c09 pending");
    EXPECT(ops->action_report(db, "c09", id[9], GW_ACTION_SUCCESS, "", t + 29), BW_OK);
    c2 = camp(cid);
    CHECK(c2.state == GW_CAMP_DONE && cnt.n[GW_ACTION_SUCCESS] == 7 &&
              cnt.n[GW_ACTION_FAILURE] == 3,
          "done: state %d, %" PRId64 " successes", c2.state, cnt.n[GW_ACTION_SUCCESS]);
    EXPECT(ops->campaign_set_state(db, cid, GW_CAMP_RUNNING), BW_E_STATE);
    EXPECT(ops->campaign_set_state(db, cid, GW_CAMP_CANCELLED), BW_E_STATE);
    for (i = 0; i < 10; i++) {
        snprintf(dev, sizeof(dev), "c%02d", i);
        NONE(dev, t + 30);
    }

    /* cancel: SCHEDULED and OFFERED end, a RUNNING one may still report */
    mkcamp(&c, "roll-2", rel2, "{\"fleet\":\"roll\"}", 2, 100, 100);
    EXPECT(ops->campaign_create(db, &c, t + 40), BW_OK);
    cid2 = c.id;
    id[0] = offer("c00", t + 41, 0);
    id[1] = offer("c01", t + 42, 0);
    EXPECT(ops->action_report(db, "c01", id[1], GW_ACTION_RUNNING, "", t + 43), BW_OK);
    EXPECT(ops->campaign_set_state(db, cid2, GW_CAMP_CANCELLED), BW_OK);
    c2 = camp(cid2);
    CHECK(c2.state == GW_CAMP_CANCELLED && cnt.n[GW_ACTION_CANCELLED] == 9 &&
              cnt.n[GW_ACTION_RUNNING] == 1,
          "cancel: state %d, %" PRId64 " cancelled", c2.state, cnt.n[GW_ACTION_CANCELLED]);
    NONE("c00", t + 44);
    NONE("c02", t + 44);
    EXPECT(ops->action_report(db, "c00", id[0], GW_ACTION_SUCCESS, "", t + 45), BW_E_STATE);
    CHECK(ops->action_next(db, "c01", t + 46, &a) == BW_OK && a.id == id[1], "running action");
    EXPECT(ops->action_report(db, "c01", id[1], GW_ACTION_SUCCESS, "", t + 47), BW_OK);
    c2 = camp(cid2);
    CHECK(c2.state == GW_CAMP_CANCELLED && cnt.n[GW_ACTION_SUCCESS] == 1,
          "report after cancel: state %d", c2.state);
    EXPECT(ops->campaign_set_state(db, cid2, GW_CAMP_RUNNING), BW_E_STATE);
    EXPECT(ops->campaign_set_state(db, cid2, GW_CAMP_PAUSED), BW_E_STATE);

    /* nothing matches: nothing to do */
    mkcamp(&c, "empty", rel2, "{\"fleet\":\"none\"}", 2, 100, 100);
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    CHECK(c.state == GW_CAMP_DONE, "empty campaign state %d", c.state);
    c2 = camp(c.id);
    CHECK(c2.state == GW_CAMP_DONE, "empty campaign stored as %d", c2.state);

    /* two campaigns for one device: the older action first, one at a time */
    mkcamp(&c, "two-a", rel1, "{\"fleet\":\"other\"}", 1, 100, 100);
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    mkcamp(&c2, "two-b", rel2, "{\"fleet\":\"other\"}", 1, 100, 100);
    EXPECT(ops->campaign_create(db, &c2, t), BW_OK);
    x = offer("c12", t + 50, 0);
    CHECK(ops->action_get(db, "c12", x, &a) == BW_OK && a.campaign_id == c.id,
          "older campaign's action not first");
    CHECK(ops->action_next(db, "c12", t + 51, &a) == BW_OK && a.id == x, "second offer while open");
    EXPECT(ops->action_report(db, "c12", x, GW_ACTION_FAILURE, "", t + 52), BW_OK);
    /* its one batch finished below 100 %: it ends (before, it stayed running) */
    CHECK(camp(c.id).state == GW_CAMP_CANNOT_COMPLETE, "two-a: still running");
    x = offer("c12", t + 53, 0);
    CHECK(ops->action_get(db, "c12", x, &a) == BW_OK && a.campaign_id == c2.id &&
              a.release_id == rel2,
          "newer campaign's action not next");
    EXPECT(ops->action_report(db, "c12", x, GW_ACTION_SUCCESS, "", t + 54), BW_OK);
    c2 = camp(c2.id);
    CHECK(c2.state == GW_CAMP_DONE, "two-b: state %d", c2.state);
}

/* ---- the operator's lists ------------------------------------------------- */

struct listed {
    char text[512];
    int n;
};

static void add_text(struct listed *l, const char *s)
{
    size_t len = strlen(l->text);

    snprintf(l->text + len, sizeof(l->text) - len, "%s%s", l->n++ ? "," : "", s);
}

static void rel_cb(void *arg, const struct gw_release *r)
{
    add_text(arg, r->name);
}

/* name:scheduled/offered/running/success/failure/cancelled; the counts are
 * kept to compare with campaign_get's afterwards (fn may not use the handle) */
static struct gw_counts listed_counts[16];
static int64_t listed_ids[16];

static void camp_cb(void *arg, const struct gw_campaign *c, const struct gw_counts *k)
{
    struct listed *l = arg;
    char b[160];

    if (l->n < 16) {
        listed_counts[l->n] = *k;
        listed_ids[l->n] = c->id;
    }
    snprintf(b, sizeof(b), "%s:%" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64
             "/%" PRId64, c->name, k->n[0], k->n[1], k->n[2], k->n[3], k->n[4], k->n[5]);
    add_text(l, b);
}

static void act_cb(void *arg, const struct gw_action *a, const char *feedback)
{
    static const char *const st[] = {"scheduled", "offered", "running", "success", "failure",
                                     "cancelled"};
    char b[160];

    snprintf(b, sizeof(b), "%s@%" PRId64 ":%s:%.12s%s", (unsigned)a->state < 6 ? st[a->state] : "?",
             a->release_id, a->device_id, feedback, strlen(feedback) > 12 ? "+" : "");
    add_text(arg, b);
}

#define EXPECT_LISTED(call, want)                                                                  \
    do {                                                                                           \
        memset(&l, 0, sizeof(l));                                                                  \
        EXPECT(call, BW_OK);                                                                       \
        CHECK(!strcmp(l.text, want), "%s: got '%s', want '%s'", #call, l.text, want);          \
    } while (0)

static void t_lists(void)
{
    struct gw_campaign c;
    struct gw_counts k;
    struct listed l;
    char want[256];
    int i, n;

    /* releases, newest first */
    EXPECT_LISTED(ops->release_list(db, 0, -1, rel_cb, &l), "swu-1,fw-1.2,fw-1.1,fw-1.0");
    EXPECT_LISTED(ops->release_list(db, 1, 2, rel_cb, &l), "fw-1.2,fw-1.1");
    EXPECT_LISTED(ops->release_list(db, 9, -1, rel_cb, &l), "");
    EXPECT(ops->release_list(db, -1, 1, rel_cb, &l), BW_E_INVAL);
    EXPECT(ops->release_list(db, 0, 1, NULL, &l), BW_E_INVAL);

    /* campaigns of t_campaigns, newest first, with their counts */
    EXPECT_LISTED(ops->campaign_list(db, 0, -1, camp_cb, &l),
                  "two-b:0/0/0/1/0/0,two-a:0/0/0/0/1/0,empty:0/0/0/0/0/0,"
                  "roll-2:0/0/0/1/0/9,roll-1:0/0/0/7/3/0,ddi-cancel:0/0/0/0/0/1");
    n = l.n;
    for (i = 0; i < n && i < 16; i++) {
        EXPECT(ops->campaign_get(db, listed_ids[i], &c, &k), BW_OK);
        CHECK(!memcmp(&k, &listed_counts[i], sizeof(k)), "campaign %" PRId64
              ": the list's counts differ from campaign_get's", listed_ids[i]);
    }
    EXPECT_LISTED(ops->campaign_list(db, 3, 2, camp_cb, &l),
                  "roll-2:0/0/0/1/0/9,roll-1:0/0/0/7/3/0");
    EXPECT(ops->campaign_list(db, -2, 5, camp_cb, &l), BW_E_INVAL);

    /* a device's history, newest first, with its feedback */
    snprintf(want, sizeof(want), "cancelled@%" PRId64 ":c00:,success@%" PRId64
             ":c00:ffffffffffff+", rel2, rel1);
    EXPECT_LISTED(ops->action_list(db, "c00", 0, -1, act_cb, &l), want);
    snprintf(want, sizeof(want), "cancelled@%" PRId64 ":c02:,failure@%" PRId64 ":c02:flash error",
             rel2, rel1);
    EXPECT_LISTED(ops->action_list(db, "c02", 0, -1, act_cb, &l), want);
    snprintf(want, sizeof(want), "success@%" PRId64 ":c12:", rel2);
    EXPECT_LISTED(ops->action_list(db, "c12", 0, 1, act_cb, &l), want);
    snprintf(want, sizeof(want), "failure@%" PRId64 ":c12:", rel1);
    EXPECT_LISTED(ops->action_list(db, "c12", 1, 5, act_cb, &l), want);
    EXPECT_LISTED(ops->action_list(db, "nope", 0, -1, act_cb, &l), "");
    EXPECT_LISTED(ops->action_list(db, "\xc3(", 0, -1, act_cb, &l), "");
    EXPECT(ops->action_list(db, NULL, 0, -1, act_cb, &l), BW_E_INVAL);

    /* installed: the newest success, not a newer failure or cancellation */
    {
        struct gw_action a;

        EXPECT(ops->action_installed(db, "c12", &a), BW_OK);
        CHECK(a.release_id == rel2 && a.state == GW_ACTION_SUCCESS, "c12 installed %" PRId64,
              a.release_id);
        EXPECT(ops->action_installed(db, "c00", &a), BW_OK);
        CHECK(a.release_id == rel1, "c00 installed %" PRId64 " under a cancelled one",
              a.release_id);
        EXPECT(ops->action_installed(db, "c02", &a), BW_E_NOTFOUND); /* failed only */
        EXPECT(ops->action_installed(db, "nope", &a), BW_E_NOTFOUND);
        EXPECT(ops->action_installed(db, NULL, &a), BW_E_INVAL);
    }
}

/* maintenance windows, in seconds of day UTC, [start, end), wrapping midnight */
static void t_windows(void)
{
    struct gw_campaign c;
    struct gw_device d;
    int i;

    for (i = 0; i < 6; i++) {
        char id[8];
        snprintf(id, sizeof(id), "w%d", i);
        mkdev(&d, id, 200 + i, GW_DEV_ACCEPTED,
              i < 3 ? "{\"win\":\"night\"}" : "{\"win\":\"day\"}");
        EXPECT(ops->device_add(db, &d), BW_OK);
    }
    mkcamp(&c, "night", rel3, "{\"win\":\"night\"}", 10, 100, 100);
    c.window_start = 22 * 3600; /* 22:00 - 02:00 */
    c.window_end = 2 * 3600;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_OK);
    NONE_W("w0", DAY + 12 * 3600);
    NONE_W("w0", DAY + 22 * 3600 - 1);
    NONE_W("w0", DAY + 2 * 3600);
    NONE_W("w0", DAY + 5 * 86400 + 2 * 3600 + 59);
    offer("w0", DAY + 22 * 3600, 0);
    offer("w1", DAY + 86400 + 23 * 3600 + 59 * 60, 0);
    offer("w2", DAY + 3 * 86400 + 2 * 3600 - 1, 0); /* after midnight, another day */

    mkcamp(&c, "day", rel3, "{\"win\":\"day\"}", 10, 100, 100);
    c.window_start = 9 * 3600; /* 09:00 - 17:00 */
    c.window_end = 17 * 3600;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_OK);
    NONE_W("w3", DAY + 9 * 3600 - 1);
    NONE_W("w3", DAY + 17 * 3600);
    NONE_W("w3", DAY + 23 * 3600);
    NONE_W("w3", DAY + 3600);
    offer("w3", DAY + 9 * 3600, 0);
    offer("w4", DAY + 10 * 86400 + 17 * 3600 - 1, 0);
    NONE_W("w5", DAY - 86400 + 8 * 3600); /* a day before, too early */
    offer("w5", DAY - 86400 + 12 * 3600, 0);
}

/* ---- audit -------------------------------------------------------------- */

/* the rows an audit query hands over; those of the actor "gateway" (the
 * registry's own entries: a campaign that ended by itself) only when
 * with_gateway, so the operator rows below are counted alone */
struct audit_rows {
    int with_gateway;
    int n;
    int64_t id[8], time[8];
    char text[8][160];
};

static void audit_row(void *arg, int64_t id, int64_t time, const char *actor, const char *action,
                      const char *object, const char *detail)
{
    struct audit_rows *r = arg;

    if (!r->with_gateway && !strcmp(actor, "gateway"))
        return;
    if (r->n < 8) {
        r->id[r->n] = id;
        r->time[r->n] = time;
        snprintf(r->text[r->n], sizeof(r->text[0]), "%s|%s|%s|%s", actor, action, object, detail);
    }
    r->n++;
}

static void t_audit(void)
{
    static char big[GW_DETAIL_MAX + 2];
    struct audit_rows r;

    memset(&r, 0, sizeof(r));
    EXPECT(ops->audit_list(db, 0, -1, audit_row, &r), BW_OK);
    CHECK(r.n == 0, "audit not empty: %d", r.n);
    EXPECT(ops->audit_add(db, DAY + 1, "alice", "release.add", "fw-1.0", "size 1001"), BW_OK);
    EXPECT(ops->audit_add(db, DAY + 2, "bob", "campaign.pause", "roll-1", NULL), BW_OK);
    EXPECT(ops->audit_add(db, DAY + 3, "alice", "device.accept", "dev-b", "{\"why\":\"ok\"}"),
           BW_OK);
    EXPECT(ops->audit_add(db, DAY, "", "x", "y", ""), BW_E_INVAL);
    EXPECT(ops->audit_add(db, DAY, "a", "x", NULL, ""), BW_E_INVAL);
    memset(big, 'd', GW_DETAIL_MAX + 1);
    EXPECT(ops->audit_add(db, DAY, "a", "x", "y", big), BW_E_TOOBIG);
    big[GW_DETAIL_MAX] = '\0';
    EXPECT(ops->audit_add(db, DAY + 4, "carol", "x", "y", big), BW_OK);

    memset(&r, 0, sizeof(r));
    EXPECT(ops->audit_list(db, 0, -1, audit_row, &r), BW_OK);
    CHECK(r.n == 4 && r.id[0] < r.id[1] && r.id[1] < r.id[2] && r.id[2] < r.id[3] &&
              r.time[0] == DAY + 1 && r.time[2] == DAY + 3 &&
              !strcmp(r.text[0], "alice|release.add|fw-1.0|size 1001") &&
              !strcmp(r.text[1], "bob|campaign.pause|roll-1|") &&
              !strcmp(r.text[2], "alice|device.accept|dev-b|{\"why\":\"ok\"}"),
          "audit rows: %d [%s] [%s] [%s]", r.n, r.text[0], r.text[1], r.text[2]);
    {
        int64_t first = r.id[0], third = r.id[2];
        memset(&r, 0, sizeof(r));
        EXPECT(ops->audit_list(db, first, 1, audit_row, &r), BW_OK);
        CHECK(r.n == 1 && !strncmp(r.text[0], "bob|", 4), "after the first, limit 1: %d", r.n);
        memset(&r, 0, sizeof(r));
        EXPECT(ops->audit_list(db, third, 10, audit_row, &r), BW_OK);
        CHECK(r.n == 1 && !strncmp(r.text[0], "carol|", 6), "after the third: %d", r.n);
        /* the newest first */
        memset(&r, 0, sizeof(r));
        EXPECT(ops->audit_recent(db, 2, audit_row, &r), BW_OK);
        CHECK(r.n == 2 && !strncmp(r.text[0], "carol|", 6) &&
                  !strcmp(r.text[1], "alice|device.accept|dev-b|{\"why\":\"ok\"}") &&
                  r.id[0] > r.id[1] && r.id[1] == third,
              "newest two: %d [%s] [%s]", r.n, r.text[0], r.text[1]);
        memset(&r, 0, sizeof(r));
        EXPECT(ops->audit_recent(db, -1, audit_row, &r), BW_OK);
        CHECK(r.n == 4 && r.id[3] == first, "all, newest first: %d", r.n);
        EXPECT(ops->audit_recent(db, 1, NULL, &r), BW_E_INVAL);
    }
}

/* ---- persistence -------------------------------------------------------- */

static void t_reopen(void)
{
    struct gw_device g;
    struct gw_release r;
    struct audit_rows a;

    reopen();
    EXPECT(ops->migrate(db), BW_OK);
    EXPECT(ops->migrate(db), BW_OK);
    EXPECT(ops->device_get(db, "dev-f", &g), BW_OK);
    CHECK(!strcmp(g.version, "1.2.3") && g.sequence == 8, "device lost across reopen");
    EXPECT(ops->release_get(db, rel2, &r), BW_OK);
    CHECK(!strcmp(r.name, "fw-1.1"), "release lost across reopen");
    memset(&a, 0, sizeof(a));
    EXPECT(ops->audit_list(db, 0, -1, audit_row, &a), BW_OK);
    CHECK(a.n == 4, "audit rows across reopen: %d", a.n);
}

/* ---- concurrency -------------------------------------------------------- */

#define RACERS 8
#define RACE_DEVICES 200

/*
 * Method: two campaigns over the same 200 devices (one in 4 batches of 50
 * that open as each completes, one in a single batch), so 400 actions. 8
 * processes, each with its own handle, poll every device in the same order
 * and over again until a whole pass finds nothing. Every caller passes a
 * `now` no other call uses, so an action whose `updated` equals the
 * caller's `now` was newly offered by that very call; the racer writes its
 * id to a pipe and reports SUCCESS. The parent asserts that no id comes
 * twice, that all 400 came, and that both campaigns ended DONE.
 */
static int racer(int k, int fd)
{
    int64_t now = (int64_t)2000000000 + (int64_t)k * 100000000, ok = 0;
    struct gw_action a;
    void *h = NULL;
    int i, pass, busy, rcode = 0;
    bw_err rc;

    alarm(300);
    rc = ops->open(conninfo, &h);
    if (rc) {
        fprintf(stderr, "FAIL racer %d: open: %s\n", k, bw_errname(rc));
        return 1;
    }
    rc = ops->migrate(h); /* concurrent migrate is serialized and idempotent */
    if (rc) {
        fprintf(stderr, "FAIL racer %d: migrate: %s (%s)\n", k, bw_errname(rc), ops->error(h));
        rcode = 1;
        goto out;
    }
    for (pass = 0; pass < 2000; pass++) {
        busy = 0;
        for (i = 0; i < RACE_DEVICES; i++) {
            char dev[16];
            snprintf(dev, sizeof(dev), "race%03d", i);
            now++;
            rc = ops->action_next(h, dev, now, &a);
            if (rc == BW_E_NOTFOUND)
                continue;
            if (rc) {
                fprintf(stderr, "FAIL racer %d: action_next %s: %s (%s)\n", k, dev,
                        bw_errname(rc), ops->error(h));
                rcode = 1;
                goto out;
            }
            busy = 1;
            if (a.updated != now)
                continue; /* someone else's offer */
            if (write(fd, &a.id, sizeof(a.id)) != (ssize_t)sizeof(a.id)) {
                rcode = 1;
                goto out;
            }
            ok++;
            rc = ops->action_report(h, dev, a.id, GW_ACTION_SUCCESS, "ok", ++now);
            if (rc) {
                fprintf(stderr, "FAIL racer %d: report %s #%" PRId64 ": %s (%s)\n", k, dev, a.id,
                        bw_errname(rc), ops->error(h));
                rcode = 1;
                goto out;
            }
        }
        if (!busy)
            break;
    }
out:
    ops->close(h);
    return rcode;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void t_race(void)
{
    static int64_t got[4 * RACE_DEVICES];
    struct gw_campaign c1, c2;
    struct gw_device d;
    struct timeval t0, t1;
    int64_t id;
    pid_t pid[RACERS];
    int fds[2], i, st, n = 0, dup = 0;
    ssize_t r;

    for (i = 0; i < RACE_DEVICES; i++) {
        char dev[16];
        snprintf(dev, sizeof(dev), "race%03d", i);
        mkdev(&d, dev, 1000 + i, GW_DEV_ACCEPTED, "{\"fleet\":\"race\"}");
        EXPECT(ops->device_add(db, &d), BW_OK);
    }
    mkcamp(&c1, "race-batched", rel1, "{\"fleet\":\"race\"}", 50, 100, 100);
    EXPECT(ops->campaign_create(db, &c1, DAY), BW_OK);
    mkcamp(&c2, "race-all", rel2, "{\"fleet\":\"race\"}", RACE_DEVICES, 100, 100);
    EXPECT(ops->campaign_create(db, &c2, DAY), BW_OK);
    /* no handle crosses fork */
    ops->close(db);
    db = NULL;
    fflush(NULL);
    if (pipe(fds)) {
        CHECK(0, "pipe");
        open_db();
        return;
    }
    gettimeofday(&t0, NULL);
    for (i = 0; i < RACERS; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            close(fds[0]);
            _exit(racer(i, fds[1]));
        }
        CHECK(pid[i] > 0, "fork");
    }
    close(fds[1]);
    while ((r = read(fds[0], &id, sizeof(id))) == (ssize_t)sizeof(id)) {
        if (n < (int)(sizeof(got) / sizeof(got[0])))
            got[n] = id;
        n++;
    }
    close(fds[0]);
    for (i = 0; i < RACERS; i++) {
        if (pid[i] <= 0)
            continue;
        CHECK(waitpid(pid[i], &st, 0) == pid[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "racer %d failed (status %d)", i, st);
    }
    gettimeofday(&t1, NULL);
    CHECK(n == 2 * RACE_DEVICES, "%d new offers, want %d", n, 2 * RACE_DEVICES);
    if (n > (int)(sizeof(got) / sizeof(got[0])))
        n = (int)(sizeof(got) / sizeof(got[0]));
    qsort(got, (size_t)n, sizeof(got[0]), cmp64);
    for (i = 1; i < n; i++)
        if (got[i] == got[i - 1])
            dup++;
    CHECK(dup == 0, "%d actions offered as new more than once", dup);
    open_db();
    c1 = camp(c1.id);
    CHECK(c1.state == GW_CAMP_DONE && cnt.n[GW_ACTION_SUCCESS] == RACE_DEVICES &&
              c1.current_batch == 4,
          "batched race campaign: state %d batch %d, %" PRId64 " successes", c1.state,
          c1.current_batch, cnt.n[GW_ACTION_SUCCESS]);
    c2 = camp(c2.id);
    CHECK(c2.state == GW_CAMP_DONE && cnt.n[GW_ACTION_SUCCESS] == RACE_DEVICES,
          "single-batch race campaign: state %d, %" PRId64 " successes", c2.state,
          cnt.n[GW_ACTION_SUCCESS]);
    printf("race: %d processes, %d offers, %d duplicates, %.2f s\n", RACERS, n, dup,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6);
}

/* ---- guard rails: abort, rollback, ramp, dynamic, priority, cannot complete */

/* the batch of dev's newest action (-1: none) */
static void batch_cb(void *arg, const struct gw_action *a, const char *feedback)
{
    (void)feedback;
    *(int *)arg = a->batch;
}

static int batch_of(const char *dev)
{
    int b = -1;

    EXPECT(ops->action_list(db, dev, 0, 1, batch_cb, &b), BW_OK);
    return b;
}

/* devices PREFIX00.. accepted with attrs {"fleet":FLEET}, numbers from n */
static void fleet(const char *prefix, const char *fleet_name, int count, int n)
{
    struct gw_device d;
    char id[32], attrs[64];
    int i;

    for (i = 0; i < count; i++) {
        snprintf(id, sizeof(id), "%s%02d", prefix, i);
        snprintf(attrs, sizeof(attrs), "{\"fleet\":\"%s\"}", fleet_name);
        mkdev(&d, id, n + i, GW_DEV_ACCEPTED, attrs);
        EXPECT(ops->device_add(db, &d), BW_OK);
    }
}

static void t_guard_checks(void)
{
    struct gw_campaign c;

    mkcamp(&c, "guard-bad", rel1, "{}", 1, 100, 100);
    c.abort_min = 3; /* a minimum without a percentage */
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    mkcamp(&c, "guard-bad", rel1, "{}", 1, 100, 100);
    c.abort_pct = 101;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    mkcamp(&c, "guard-bad", rel1, "{}", 1, 100, 100);
    c.abort_pct = 10;
    c.abort_on = GW_FAIL_ALL + 1;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    mkcamp(&c, "guard-bad", rel1, "{}", 1, 100, 100);
    c.ramp_base = 2;
    c.ramp_factor10 = 10; /* a factor of 1 is no ramp */
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    c.ramp_factor10 = 51;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    mkcamp(&c, "guard-bad", rel1, "{}", 1, 100, 100);
    c.rollback_release = rel2; /* a rollback without an abort criterion */
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    c.abort_pct = 10;
    c.rollback_release = rel1; /* back to the release it installs */
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    c.rollback_release = rel3 + 1000;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_NOTFOUND);
    mkcamp(&c, "guard-bad", rel1, "{}", 1, 100, 100);
    c.priority = GW_PRIORITY_MAX + 1;
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
    mkcamp(&c, GW_ROLLBACK_TEST_NAME, rel1, "{}", 1, 100, 100);
    EXPECT(ops->campaign_create(db, &c, DAY), BW_E_INVAL);
}

/* abort at the threshold only once the minimum was executed, counting only
 * the failure kinds named; then the rollback campaign */
static void t_abort(void)
{
    struct audit_rows l;
    struct gw_campaign c, c2, rb;
    struct gw_action a;
    int64_t t = DAY + 7200, id[6], cid;
    char want[32];

    fleet("ab", "abort", 6, 2000);
    mkcamp(&c, "guard-abort", rel1, "{\"fleet\":\"abort\"}", 100, 100, 100);
    c.abort_pct = 50;
    c.abort_min = 4;
    c.abort_on = GW_FAIL_HEALTH;
    c.rollback_release = rel2;
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    cid = c.id;
    id[0] = offer("ab00", t + 1, 0);
    id[1] = offer("ab01", t + 1, 0);
    id[2] = offer("ab02", t + 1, 0);
    id[3] = offer("ab03", t + 1, 0);
    id[4] = offer("ab04", t + 1, 0);
    EXPECT(ops->action_report(db, "ab00", id[0], GW_ACTION_FAILURE,
                              "health check failed (exit 1): trial of slot b cancelled", t + 2),
           BW_OK);
    c2 = camp(cid); /* 1 of 1 executed failed: 100 %, but fewer than 4 executed */
    CHECK(c2.state == GW_CAMP_RUNNING, "aborted before the minimum: state %d", c2.state);
    EXPECT(ops->action_report(db, "ab01", id[1], GW_ACTION_FAILURE,
                              "download refused: bad digest (BW_E_BADSIG)", t + 3), BW_OK);
    EXPECT(ops->action_report(db, "ab02", id[2], GW_ACTION_SUCCESS, "confirmed", t + 4), BW_OK);
    c2 = camp(cid); /* 3 executed; the download failure is not a kind it counts */
    CHECK(c2.state == GW_CAMP_RUNNING, "aborted below the minimum: state %d", c2.state);
    CHECK(ops->action_get(db, "ab01", id[1], &a) == BW_OK && a.fail_kind == GW_FAIL_DOWNLOAD &&
              ops->action_get(db, "ab00", id[0], &a) == BW_OK && a.fail_kind == GW_FAIL_HEALTH,
          "failure kinds: %u", a.fail_kind);
    EXPECT(ops->action_report(db, "ab03", id[3], GW_ACTION_FAILURE,
                              "rolled back: the trial of slot b ended without a confirm", t + 5),
           BW_OK);
    c2 = camp(cid); /* 2 health failures of 4 executed: 50 % reached */
    CHECK(c2.state == GW_CAMP_ROLLED_BACK && c2.rollback_id > 0 && c2.reason[0] &&
              cnt.n[GW_ACTION_CANCELLED] == 2 && cnt.n[GW_ACTION_FAILURE] == 3,
          "abort at 50 %% of 4: state %d rollback %" PRId64 " cancelled %" PRId64 " reason '%s'",
          c2.state, c2.rollback_id, cnt.n[GW_ACTION_CANCELLED], c2.reason);
    memset(&l, 0, sizeof(l));
    l.with_gateway = 1;
    EXPECT(ops->audit_recent(db, 1, audit_row, &l), BW_OK);
    CHECK(l.n == 1 && l.time[0] == t + 5 &&
              !strncmp(l.text[0], "gateway|campaign.rolled_back|guard-abort|aborted: 2 of 4", 56),
          "abort not audited: '%s'", l.text[0]);
    rb = camp(c2.rollback_id);
    snprintf(want, sizeof(want), GW_ROLLBACK_TEST_NAME "%" PRId64, cid);
    CHECK(rb.state == GW_CAMP_RUNNING && rb.release_id == rel2 && rb.rollback_of == cid &&
              rb.priority == GW_PRIORITY_MAX && !strcmp(rb.name, want) &&
              cnt.n[GW_ACTION_SCHEDULED] == 5,
          "rollback campaign: state %d release %" PRId64 " of %" PRId64 " name '%s' %" PRId64
          " scheduled",
          rb.state, rb.release_id, rb.rollback_of, rb.name, cnt.n[GW_ACTION_SCHEDULED]);
    /* the devices it reached (updated, failed, or offered: that one may be
     * installing already) are offered the last good release; one it never
     * reached is not */
    CHECK(has_work("ab00") == 1 && ops->action_next(db, "ab00", t + 6, &a) == BW_OK &&
              a.campaign_id == rb.id && a.release_id == rel2,
          "ab00 not offered the rollback");
    EXPECT(ops->action_report(db, "ab00", a.id, GW_ACTION_SUCCESS, "", t + 7), BW_OK);
    CHECK(ops->action_next(db, "ab02", t + 6, &a) == BW_OK && a.campaign_id == rb.id,
          "ab02 (updated) not offered the rollback");
    EXPECT(ops->action_report(db, "ab04", id[4], GW_ACTION_FAILURE, "health check failed", t + 9),
           BW_E_STATE);
    CHECK(ops->action_next(db, "ab04", t + 9, &a) == BW_OK && a.campaign_id == rb.id,
          "ab04 (offered) not offered the rollback");
    NONE("ab05", t + 9);
    EXPECT(ops->campaign_set_state(db, cid, GW_CAMP_RUNNING), BW_E_STATE);
}

/* batch sizes 2, 4, 8, then the 1 left; ramp on notified devices */
static void t_ramp(void)
{
    static const int want[15] = {0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3};
    struct gw_campaign c, c2;
    int64_t t = DAY + 9000, x;
    char dev[8];
    int i, b;

    fleet("rp", "ramp", 15, 2100);
    mkcamp(&c, "guard-ramp", rel1, "{\"fleet\":\"ramp\"}", 1, 100, 100);
    c.ramp_base = 2;
    c.ramp_factor10 = 20;
    c.ramp_on = GW_RAMP_NOTIFIED;
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    for (i = 0; i < 15; i++) {
        snprintf(dev, sizeof(dev), "rp%02d", i);
        b = batch_of(dev);
        CHECK(b == want[i], "ramp: %s in batch %d, want %d", dev, b, want[i]);
    }
    NONE("rp02", t + 1);
    (void)offer("rp00", t + 1, 0);
    c2 = camp(c.id);
    CHECK(c2.current_batch == 0, "ramp: batch 1 released with half of batch 0 notified");
    (void)offer("rp01", t + 2, 0);
    c2 = camp(c.id); /* every device of batch 0 notified, none reported */
    CHECK(c2.current_batch == 1 && c2.state == GW_CAMP_RUNNING && c2.ramp_base == 2 &&
              c2.ramp_factor10 == 20 && c2.ramp_on == GW_RAMP_NOTIFIED,
          "ramp: batch %d after batch 0 was notified", c2.current_batch);
    x = offer("rp05", t + 3, 1);
    CHECK(x > 0, "ramp: batch 1 not offered");
    NONE("rp06", t + 3);
}

/* a device imported, or changing its attributes, after the campaign began */
static void t_dynamic(void)
{
    struct gw_campaign c, c2;
    struct gw_device d;
    int64_t t = DAY + 10000, x;

    mkcamp(&c, "guard-dynamic", rel1, "{\"fleet\":\"late\"}", 10, 100, 100);
    c.dynamic = 1;
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    c2 = camp(c.id);
    CHECK(c2.state == GW_CAMP_RUNNING && c2.dynamic == 1, "dynamic, empty: state %d", c2.state);
    mkdev(&d, "late-1", 2200, GW_DEV_ACCEPTED, "{\"fleet\":\"late\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "late-2", 2201, GW_DEV_ACCEPTED, "{\"fleet\":\"early\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    mkdev(&d, "late-3", 2202, GW_DEV_PENDING, "{\"fleet\":\"late\"}");
    EXPECT(ops->device_add(db, &d), BW_OK);
    x = offer("late-1", t + 1, 0);
    NONE("late-2", t + 1);
    NONE("late-3", t + 1); /* not accepted */
    EXPECT(ops->action_report(db, "late-1", x, GW_ACTION_SUCCESS, "", t + 2), BW_OK);
    c2 = camp(c.id);
    CHECK(c2.state == GW_CAMP_RUNNING && cnt.n[GW_ACTION_SUCCESS] == 1,
          "dynamic after its only device: state %d", c2.state);
    NONE("late-1", t + 3); /* joins once */
    EXPECT(ops->device_checkin(db, "late-2", "1.0", 1, "{\"fleet\":\"late\"}", t + 4), BW_OK);
    (void)offer("late-2", t + 5, 0);
    EXPECT(ops->device_set_status(db, "late-3", GW_DEV_ACCEPTED), BW_OK);
    (void)offer("late-3", t + 6, 0);
}

/* overlapping campaigns: the higher priority first, though created later */
static void t_priority(void)
{
    struct gw_campaign lo, hi;
    struct gw_action a;
    int64_t t = DAY + 11000;

    fleet("pr", "prio", 1, 2300);
    mkcamp(&lo, "guard-low", rel1, "{\"fleet\":\"prio\"}", 10, 100, 100);
    lo.priority = 1;
    EXPECT(ops->campaign_create(db, &lo, t), BW_OK);
    mkcamp(&hi, "guard-high", rel2, "{\"fleet\":\"prio\"}", 10, 100, 100);
    hi.priority = 5;
    EXPECT(ops->campaign_create(db, &hi, t), BW_OK);
    CHECK(ops->action_next(db, "pr00", t + 1, &a) == BW_OK && a.campaign_id == hi.id &&
              a.release_id == rel2,
          "priority: offered campaign %" PRId64 ", want %" PRId64, a.campaign_id, hi.id);
    EXPECT(ops->action_report(db, "pr00", a.id, GW_ACTION_SUCCESS, "", t + 2), BW_OK);
    CHECK(ops->action_next(db, "pr00", t + 3, &a) == BW_OK && a.campaign_id == lo.id,
          "priority: the lower one after");
}

/* a batch finished below its threshold ends the campaign, clearly */
static void t_cannot_complete(void)
{
    struct gw_campaign c, c2;
    int64_t t = DAY + 12000, x;

    fleet("cc", "stuck", 2, 2400);
    mkcamp(&c, "guard-stuck", rel1, "{\"fleet\":\"stuck\"}", 1, 100, 100);
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    x = offer("cc00", t + 1, 0);
    EXPECT(ops->action_report(db, "cc00", x, GW_ACTION_FAILURE, "flash error", t + 2), BW_OK);
    c2 = camp(c.id);
    CHECK(c2.state == GW_CAMP_CANNOT_COMPLETE && c2.reason[0] &&
              cnt.n[GW_ACTION_CANCELLED] == 1,
          "batch 0 at 0 %% of 100 %%, finished: state %d, reason '%s'", c2.state, c2.reason);
    NONE("cc01", t + 3);
    EXPECT(ops->campaign_set_state(db, c.id, GW_CAMP_RUNNING), BW_E_STATE);
}

struct held {
    int64_t id;
    struct gw_counts k;
};

static void held_cb(void *arg, const struct gw_campaign *c, const struct gw_counts *k)
{
    struct held *h = arg;

    if (c->id == h->id)
        h->k = *k;
}

/* the device's say: install later (offered outside the window, installed
 * on the trigger or in it), holds read from RUNNING reports, consent */
static void t_say(void)
{
    struct gw_campaign c, k;
    struct held lc;
    struct gw_action a;
    int64_t t = DAY + 13000, x, n = 0;

    fleet("sy", "say", 3, 2500);
    mkcamp(&c, "say-later", rel1, "{\"fleet\":\"say\"}", 10, 100, 100);
    c.install_later = 2;
    EXPECT(ops->campaign_create(db, &c, t), BW_E_INVAL);
    c.install_later = 1;
    c.window_start = 20000; /* closed at t */
    c.window_end = 30000;
    EXPECT(ops->campaign_create(db, &c, t), BW_OK);
    k = camp(c.id);
    CHECK(k.install_later == 1 && k.consent == 0, "install_later read back: %d", k.install_later);
    x = offer("sy00", t + 1, 0); /* outside its window: download now */
    EXPECT(ops->action_get(db, "sy00", x, &a), BW_OK);
    CHECK(a.install_later && !gw_action_may_install(&a, t + 1) &&
              gw_action_may_install(&a, DAY + 25000) && a.hold == GW_HOLD_NONE,
          "install later: may_install %d in the window %d", gw_action_may_install(&a, t + 1),
          gw_action_may_install(&a, DAY + 25000));
    EXPECT(ops->action_report(db, "sy00", x, GW_ACTION_RUNNING,
                              "waiting to install: fw downloaded and verified", t + 2), BW_OK);
    EXPECT(ops->action_get(db, "sy00", x, &a), BW_OK);
    camp(c.id);
    CHECK(a.hold == GW_HOLD_LATER && cnt.held[GW_HOLD_LATER] == 1 && cnt.held[GW_HOLD_LOCKED] == 0,
          "hold %d, held %" PRId64, a.hold, cnt.held[GW_HOLD_LATER]);
    memset(&lc, 0, sizeof(lc));
    lc.id = c.id;
    EXPECT(ops->campaign_list(db, 0, -1, held_cb, &lc), BW_OK);
    CHECK(lc.k.held[GW_HOLD_LATER] == 1, "campaign_list: held %" PRId64, lc.k.held[GW_HOLD_LATER]);
    /* the trigger: on the device, then the rest of the campaign */
    EXPECT(ops->action_go(db, "sy00", 0, 0, NULL), BW_E_INVAL);
    EXPECT(ops->action_go(db, "sy00", 0, GW_GO_ALL + 1, NULL), BW_E_INVAL);
    EXPECT(ops->action_go(db, "sy00", 0, GW_GO_INSTALL, &n), BW_OK);
    EXPECT(ops->action_get(db, "sy00", x, &a), BW_OK);
    CHECK(n == 1 && gw_action_may_install(&a, t + 3), "triggered: %" PRId64 " actions", n);
    EXPECT(ops->action_go(db, NULL, c.id, GW_GO_INSTALL | GW_GO_OVERRIDE, &n), BW_OK);
    CHECK(n == 3, "campaign trigger: %" PRId64 " open actions, want 3", n);
    EXPECT(ops->action_report(db, "sy00", x, GW_ACTION_RUNNING,
                              "waiting for the update lock: held", t + 4), BW_OK);
    camp(c.id);
    CHECK(cnt.held[GW_HOLD_LOCKED] == 1 && cnt.held[GW_HOLD_LATER] == 0, "locked: %" PRId64,
          cnt.held[GW_HOLD_LOCKED]);
    EXPECT(ops->action_report(db, "sy00", x, GW_ACTION_RUNNING, "installed into slot b", t + 5),
           BW_OK);
    EXPECT(ops->action_get(db, "sy00", x, &a), BW_OK);
    CHECK(a.hold == GW_HOLD_NONE && (a.go & GW_GO_OVERRIDE), "hold cleared: %d", a.hold);
    EXPECT(ops->action_report(db, "sy00", x, GW_ACTION_SUCCESS, "ok", t + 6), BW_OK);
    EXPECT(ops->action_go(db, "sy00", x, GW_GO_INSTALL, NULL), BW_E_NOTFOUND); /* finished */
    EXPECT(ops->action_go(db, "nobody", 0, GW_GO_INSTALL, NULL), BW_E_NOTFOUND);
    EXPECT(ops->campaign_set_state(db, c.id, GW_CAMP_CANCELLED), BW_OK);
    /* consent: asked until the device (DDI) or the operator says it is given */
    mkcamp(&c, "say-consent", rel2, "{\"fleet\":\"say\"}", 10, 100, 100);
    c.consent = 1;
    EXPECT(ops->campaign_create(db, &c, t + 10), BW_OK);
    x = offer("sy01", t + 11, 0);
    EXPECT(ops->action_get(db, "sy01", x, &a), BW_OK);
    CHECK(gw_action_needs_consent(&a) && gw_action_may_install(&a, t + 11),
          "consent asked, no install-later");
    EXPECT(ops->action_report(db, "sy01", x, GW_ACTION_RUNNING, "waiting for consent: fw", t + 12),
           BW_OK);
    camp(c.id);
    CHECK(cnt.held[GW_HOLD_CONSENT] == 1, "consent held %" PRId64, cnt.held[GW_HOLD_CONSENT]);
    EXPECT(ops->action_go(db, "sy01", x + 1000, GW_GO_CONSENT, NULL), BW_E_NOTFOUND);
    EXPECT(ops->action_go(db, "sy01", x, GW_GO_CONSENT, &n), BW_OK);
    EXPECT(ops->action_get(db, "sy01", x, &a), BW_OK);
    CHECK(n == 1 && !gw_action_needs_consent(&a), "consent given");
}

/* one TLS ticket key per period, the first stored wins; older ones go */
static void t_tickets(void)
{
    char a[129], b[129], k1[129], k2[129];

    memset(a, 'a', 128);
    a[128] = 0;
    memset(b, 'b', 128);
    b[128] = 0;
    EXPECT(ops->ticket_key(db, 5, a, k1), BW_OK);
    EXPECT(ops->ticket_key(db, 5, b, k2), BW_OK); /* another instance, later */
    CHECK(!strcmp(k1, a) && !strcmp(k2, a), "period 5: the first key stored: %.8s %.8s", k1, k2);
    EXPECT(ops->ticket_key(db, 6, b, k2), BW_OK);
    CHECK(!strcmp(k2, b), "period 6: its own key");
    EXPECT(ops->ticket_key(db, 8, b, k2), BW_OK); /* deletes 5 and 6 */
    EXPECT(ops->ticket_key(db, 5, b, k1), BW_OK);
    CHECK(!strcmp(k1, b), "period 5 deleted, then stored anew");
    EXPECT(ops->ticket_key(db, 9, "xyz", k1), BW_E_INVAL);
    EXPECT(ops->ticket_key(db, -1, a, k1), BW_E_INVAL);
}

static void t_guards(void)
{
    t_guard_checks();
    t_abort();
    t_ramp();
    t_dynamic();
    t_priority();
    t_cannot_complete();
    t_say();
    t_tickets();
}

static char tmpdir[] = "/tmp/bw-registry-XXXXXX";
static pid_t tmpowner;

/* removes the temp database on every exit of the parent, failures included */
static void rm_tmpdir(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    char path[160];
    size_t i;

    if (getpid() != tmpowner)
        return;
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/registry.db%s", tmpdir, sfx[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

/* ---- the action tally ---------------------------------------------------- */

/* The campaign counts come from a tally the database keeps with triggers
 * (migration 10); after each part of the suite it must agree with a count
 * of the actions, row for row. */
static void tally_ok(const char *after)
{
    int64_t differ = -1;
    bw_err rc;

    rc = ops->tally_check(db, &differ);
    CHECK(rc == BW_OK && differ == 0, "action tally after %s: %lld rows differ (%s, %s)", after,
          (long long)differ, bw_errname(rc), ops->error(db));
}

/* ---- the registry's generation -------------------------------------------- */

/* SQLite: the generation stays while nothing is committed, and moves on a
 * commit by another handle (another thread or process) and on this
 * handle's own write; the gateway keeps a connection's device row while
 * it stays (api_device.c). PostgreSQL cannot tell cheaply: unsupported. */
static void t_generation(void)
{
    struct gw_db_gen g1, g2, g3, g4;
    struct gw_device d;
    void *other = NULL;
    bw_err rc;

    rc = ops->generation(db, &g1);
    if (strcmp(ops->name, "sqlite")) {
        CHECK(rc == BW_E_UNSUPPORTED, "generation on %s: %s", ops->name, bw_errname(rc));
        return;
    }
    CHECK(rc == BW_OK, "generation: %s (%s)", bw_errname(rc), ops->error(db));
    EXPECT(ops->device_get(db, "gen-1", &d), BW_E_NOTFOUND);
    EXPECT(ops->generation(db, &g2), BW_OK);
    CHECK(g1.theirs == g2.theirs && g1.ours == g2.ours && g1.handle == g2.handle,
          "generation moved on a read");
    EXPECT(ops->open(conninfo, &other), BW_OK);
    if (!other)
        return;
    EXPECT(ops->generation(other, &g3), BW_OK);
    CHECK(g3.handle != g2.handle, "two handles with one generation serial");
    mkdev(&d, "gen-1", 900, GW_DEV_ACCEPTED, "{}");
    EXPECT(ops->device_add(other, &d), BW_OK);
    EXPECT(ops->generation(db, &g3), BW_OK);
    CHECK(g3.theirs != g2.theirs, "generation kept after another handle's commit");
    EXPECT(ops->device_set_status(db, "gen-1", GW_DEV_REVOKED), BW_OK);
    EXPECT(ops->generation(db, &g4), BW_OK);
    CHECK(g4.ours != g3.ours, "generation kept after this handle's own write");
    EXPECT(ops->device_delete(other, "gen-1"), BW_OK);
    ops->close(other);
}

/* ---- an old registry upgraded --------------------------------------------- */

/* A schema-1 registry (before hawkBit DDI) with a device in it, upgraded
 * by migrate: the device is kept, the new columns and table read as their
 * defaults, and what needed them works. A campaign made at schema 9
 * (before the action tally) is counted by migration 10. url: an empty
 * database. */
static void t_upgrade(const char *url)
{
    const struct gw_db_ops *o;
    struct gw_ddi_target t;
    struct gw_release r, g, r9;
    struct gw_device d, dg, d2;
    struct gw_campaign c;
    struct gw_counts k;
    int64_t differ = -1;
    const char *ci;
    void *h;
    bw_err rc;

    if (gw_db_pick(url, &o, &ci) || o->open(ci, &h)) {
        CHECK(0, "upgrade: cannot open %s", url);
        return;
    }
    CHECK(o->migrate_to(h, 0) == BW_E_INVAL && o->migrate_to(h, 99) == BW_E_INVAL,
          "upgrade: migrate_to out of range accepted");
    rc = o->migrate_to(h, 1);
    CHECK(rc == BW_OK, "upgrade: schema 1: %s (%s)", bw_errname(rc), o->error(h));
    mkdev(&d, "old-1", 500, GW_DEV_ACCEPTED, "{\"fleet\":\"old\"}");
    rc = o->device_add(h, &d);
    CHECK(rc == BW_OK, "upgrade: device in schema 1: %s (%s)", bw_errname(rc), o->error(h));
    mkrel(&r, "old-rel", 500);
    CHECK(o->release_add(h, &r) != BW_OK, "upgrade: a release with a kind stored in schema 1");
    mkdev(&d2, "old-2", 501, GW_DEV_ACCEPTED, "{\"fleet\":\"old\"}");
    rc = o->device_add(h, &d2);
    CHECK(rc == BW_OK, "upgrade: second device in schema 1: %s (%s)", bw_errname(rc), o->error(h));
    rc = o->migrate_to(h, 9);
    CHECK(rc == BW_OK, "upgrade: schema 9: %s (%s)", bw_errname(rc), o->error(h));
    mkrel(&r9, "rel-9", 509);
    rc = o->release_add(h, &r9);
    CHECK(rc == BW_OK, "upgrade: release in schema 9: %s (%s)", bw_errname(rc), o->error(h));
    mkcamp(&c, "camp-9", r9.id, "{\"fleet\":\"old\"}", 1, 100, 100);
    rc = o->campaign_create(h, &c, 1000);
    CHECK(rc == BW_OK, "upgrade: campaign in schema 9: %s (%s)", bw_errname(rc), o->error(h));
    rc = o->migrate(h);
    CHECK(rc == BW_OK, "upgrade: migrate: %s (%s)", bw_errname(rc), o->error(h));
    CHECK(o->migrate(h) == BW_OK, "upgrade: migrate again");
    rc = o->campaign_get(h, c.id, &c, &k);
    CHECK(rc == BW_OK && k.n[GW_ACTION_SCHEDULED] == 2 && c.state == GW_CAMP_RUNNING,
          "upgrade: the schema-9 campaign's actions were not counted: %lld scheduled (%s)",
          (long long)k.n[GW_ACTION_SCHEDULED], bw_errname(rc));
    CHECK(o->tally_check(h, &differ) == BW_OK && differ == 0,
          "upgrade: the tally made by migration 10 differs in %lld rows", (long long)differ);
    CHECK(o->device_get(h, "old-1", &dg) == BW_OK && !strcmp(dg.fingerprint, d.fingerprint) &&
              !strcmp(dg.attrs, d.attrs) && dg.status == GW_DEV_ACCEPTED,
          "upgrade: the schema-1 device changed");
    CHECK(o->ddi_get(h, "old-1", &t) == BW_OK && !t.token[0] && !t.attrs_received &&
              !t.cancel_pending,
          "upgrade: DDI state of an old device");
    CHECK(o->ddi_set_token(h, "old-1", d.fingerprint) == BW_OK &&
              o->ddi_get(h, "old-1", &t) == BW_OK && !strcmp(t.token, d.fingerprint),
          "upgrade: DDI token on an old device");
    mkrel(&r, "old-rel", 500);
    rc = o->release_add(h, &r);
    CHECK(rc == BW_OK && o->release_get(h, r.id, &g) == BW_OK && !strcmp(g.kind, "bulwark"),
          "upgrade: release after the upgrade: %s (%s)", bw_errname(rc), o->error(h));
    o->close(h);
}

int main(int argc, char **argv)
{
    char url[128];
    const char *u;
    struct idlist l;
    bw_err rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: test_registry URL   (sqlite: alone = a temp file)\n");
        return 2;
    }
    u = argv[1];
    if (!strcmp(u, "sqlite:")) {
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return 1;
        }
        tmpowner = getpid();
        atexit(rm_tmpdir);
        snprintf(url, sizeof(url), "sqlite:%s/registry.db", tmpdir);
        u = url;
    }
    t_pick();
    rc = gw_db_pick(u, &ops, &conninfo);
    if (rc) {
        fprintf(stderr, "FAIL: gw_db_pick %s: %s\n", u, bw_errname(rc));
        return 1;
    }
    open_db();
    rc = ops->migrate(db);
    if (rc) {
        fprintf(stderr, "FAIL: migrate: %s (%s)\n", bw_errname(rc), ops->error(db));
        return 1;
    }
    EXPECT(ops->migrate(db), BW_OK); /* twice: nothing to do */
    memset(&l, 0, sizeof(l));
    EXPECT(ops->device_list(db, NULL, -1, 0, -1, collect, &l), BW_OK);
    if (l.n) {
        fprintf(stderr, "FAIL: the database is not empty (%d devices)\n", l.n);
        return 1;
    }
    t_devices();
    t_releases();
    t_ddi();
    tally_ok("t_ddi");
    t_campaigns();
    tally_ok("t_campaigns");
    t_lists();
    tally_ok("t_lists");
    t_windows();
    tally_ok("t_windows");
    t_audit();
    t_reopen();
    t_race();
    tally_ok("t_race");
    t_identities();
    tally_ok("t_identities");
    t_opcerts();
    t_guards();
    tally_ok("t_guards");
    t_generation();
    ops->close(db);
    if (!strcmp(argv[1], "sqlite:")) { /* the temp dir exists */
        snprintf(url, sizeof(url), "sqlite:%s/upgrade.db", tmpdir);
        t_upgrade(url);
    } else if (getenv("BW_REGISTRY_EMPTY_URL")) {
        t_upgrade(getenv("BW_REGISTRY_EMPTY_URL"));
    } else {
        printf("upgrade test skipped: no second empty database (BW_REGISTRY_EMPTY_URL)\n");
    }
    printf("%s: registry contract on %s\n", fails ? "FAILED" : "ok", ops->name);
    return fails ? 1 : 0;
}
