/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's logic, once for every database: each operation of struct
 * gw_db_ops as statements of registry_sql.c run through a driver
 * (db_sqlite.c, db_pg.c), the rollout rule (settle), the offer of an
 * action, paging, the pending-identity quota, the retry of a transaction
 * PostgreSQL aborted as a deadlock or serialization failure. Input checks
 * are db.c's. No database library here: that is the drivers'.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bwh/host.h"
#include "registry.h"

#define MAX_TRIES 8 /* deadlock / serialization failure retries */
#define NO_LIMIT INT64_MAX /* "LIMIT" for limit < 0: both dialects take it */

/* ---- running statements ------------------------------------------------- */

/* Starts statement q with parameters by fmt: 't' text (NULL binds NULL),
 * 'i' int64_t. A statement the dialect does not have starts as one that
 * returns no rows and changes none. */
static bw_err vstart(struct gw__db *h, struct gw__cur *cur, enum gw__q q, const char *fmt,
                     va_list ap)
{
    struct gw__val v[GW__MAX_PARAMS];
    const char *sql = gw__db_sql[q].sql[h->drv->dialect];
    int n;
    bw_err e;

    memset(cur, 0, sizeof(*cur));
    memset(v, 0, sizeof(v));
    for (n = 0; fmt[n]; n++) {
        if (n >= GW__MAX_PARAMS)
            return BW_E_INVAL;
        if (fmt[n] == 't') {
            v[n].text = va_arg(ap, const char *);
        } else {
            v[n].num = va_arg(ap, int64_t);
            v[n].is_num = 1;
        }
    }
    if (!sql)
        return BW_OK;
    e = h->drv->query(h, q, sql, v, n, cur);
    cur->live = e == BW_OK;
    return e;
}

static bw_err start(struct gw__db *h, struct gw__cur *cur, enum gw__q q, const char *fmt, ...)
{
    va_list ap;
    bw_err e;

    va_start(ap, fmt);
    e = vstart(h, cur, q, fmt, ap);
    va_end(ap);
    return e;
}

/* whether the dialect has statement q */
static int has(const struct gw__db *h, enum gw__q q)
{
    return gw__db_sql[q].sql[h->drv->dialect] != NULL;
}

/* BW_OK with *row 1 when a row is there to read, 0 at the end */
static bw_err next(struct gw__db *h, struct gw__cur *cur, int *row)
{
    *row = 0;
    return cur->live ? h->drv->next(h, cur, row) : BW_OK;
}

static void done(struct gw__db *h, struct gw__cur *cur)
{
    if (cur->live)
        h->drv->done(h, cur);
    cur->live = 0;
}

static int64_t col_int(struct gw__db *h, struct gw__cur *cur, int i)
{
    return h->drv->col_int(cur, i);
}

static void col_text(struct gw__db *h, struct gw__cur *cur, int i, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", h->drv->col_text(cur, i));
}

/* Runs a statement whose rows are not needed; *changes (may be NULL) gets
 * the number of rows it changed. */
static bw_err run(struct gw__db *h, int64_t *changes, enum gw__q q, const char *fmt, ...)
{
    struct gw__cur cur;
    va_list ap;
    bw_err e;
    int row;

    va_start(ap, fmt);
    e = vstart(h, &cur, q, fmt, ap);
    va_end(ap);
    if (e)
        return e;
    do
        e = next(h, &cur, &row);
    while (!e && row);
    if (!e && changes)
        *changes = cur.live ? h->drv->changes(h, &cur) : 0;
    done(h, &cur);
    return e;
}

/* Starts q and steps to its first row: BW_OK with the row to read (the
 * caller ends it with done), BW_E_NOTFOUND when there is none, or the
 * error (both ended). */
static bw_err vfirst(struct gw__db *h, struct gw__cur *cur, enum gw__q q, const char *fmt,
                     va_list ap)
{
    bw_err e = vstart(h, cur, q, fmt, ap);
    int row = 0;

    if (!e)
        e = next(h, cur, &row);
    if (!e && row)
        return BW_OK;
    done(h, cur);
    return e ? e : BW_E_NOTFOUND;
}

static bw_err first(struct gw__db *h, struct gw__cur *cur, enum gw__q q, const char *fmt, ...)
{
    va_list ap;
    bw_err e;

    va_start(ap, fmt);
    e = vfirst(h, cur, q, fmt, ap);
    va_end(ap);
    return e;
}

/* One integer: the first column of the first row (0 when no row). */
static bw_err one_int(struct gw__db *h, int64_t *n, enum gw__q q, const char *fmt, ...)
{
    struct gw__cur cur;
    va_list ap;
    bw_err e;

    *n = 0;
    va_start(ap, fmt);
    e = vfirst(h, &cur, q, fmt, ap);
    va_end(ap);
    if (e)
        return e == BW_E_NOTFOUND ? BW_OK : e;
    *n = col_int(h, &cur, 0);
    done(h, &cur);
    return BW_OK;
}

static bw_err begin(struct gw__db *h, enum gw__q kind)
{
    return run(h, NULL, kind, "");
}

/* Ends a transaction: commit on success, else roll back, keeping the
 * message (and the retry verdict) of the error that led here. */
static bw_err finish(struct gw__db *h, bw_err e)
{
    char err[sizeof(h->err)];
    int retry;

    if (!e) {
        e = run(h, NULL, GW__Q_COMMIT, "");
        if (!e)
            return BW_OK;
    }
    if (h->drv->in_transaction(h)) {
        memcpy(err, h->err, sizeof(err));
        retry = h->retry;
        (void)run(h, NULL, GW__Q_ROLLBACK, "");
        memcpy(h->err, err, sizeof(err));
        h->retry = retry;
    }
    return e;
}

/* What one of the transactions run by retried works on. */
struct tx {
    struct gw_campaign *camp;
    struct gw_action *out;
    const char *dev, *feedback;
    int64_t id, now;
    int to; /* the campaign's or action's new state */
    char *text; /* a text answer (ticket_key: 129 bytes) */
};

/* Runs the transaction once(h, t), and again while it fails as a deadlock
 * or serialization failure (PostgreSQL), at most MAX_TRIES times more. */
static bw_err retried(struct gw__db *h, bw_err (*once)(struct gw__db *h, const struct tx *t),
                      const struct tx *t)
{
    int tries = 0;
    bw_err e;

    for (;;) {
        h->retry = 0;
        e = once(h, t);
        if (e != BW_E_IO || !h->retry || tries++ >= MAX_TRIES)
            return e;
    }
}

/* ---- handles and schema ------------------------------------------------- */

/* handles opened so far: a handle's serial tells it from a later one at
 * the same address (db.h, generation) */
static uint64_t handles_opened;

static bw_err reg_open(const struct gw__db_driver *drv, const char *conninfo, void **ctx)
{
    struct gw__db *h;
    bw_err e;

    if (!conninfo || !*conninfo || !ctx)
        return BW_E_INVAL;
    *ctx = NULL;
    h = bwh_calloc(1, sizeof(*h));
    if (!h)
        return BW_E_NOMEM;
    h->drv = drv;
    h->serial = (int64_t)__atomic_add_fetch(&handles_opened, 1, __ATOMIC_RELAXED);
    e = drv->open(h, conninfo);
    if (e) {
        bwh_free(h);
        return e;
    }
    *ctx = h;
    return BW_OK;
}

static bw_err open_sqlite(const char *conninfo, void **ctx)
{
    return reg_open(&gw__db_driver_sqlite, conninfo, ctx);
}

static bw_err open_pg(const char *conninfo, void **ctx)
{
    return reg_open(&gw__db_driver_pg, conninfo, ctx);
}

static void reg_close(void *ctx)
{
    struct gw__db *h = ctx;

    if (!h)
        return;
    h->drv->close(h);
    bwh_free(h);
}

static const char *reg_error(void *ctx)
{
    struct gw__db *h = ctx;

    return h ? h->err : "no handle";
}

static bw_err reg_migrate_to(void *ctx, int64_t want)
{
    struct gw__db *h = ctx;
    const struct gw__dialect_info *d = &gw__db_dialect[h->drv->dialect];
    int64_t v = 0;
    bw_err e;

    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    /* concurrent migrations wait here, then find the work done */
    e = run(h, NULL, GW__Q_LOCK_SCHEMA, "");
    if (!e)
        e = run(h, NULL, GW__Q_SCHEMA_TABLE, "");
    if (!e)
        e = one_int(h, &v, GW__Q_SCHEMA_VERSION, "");
    if (e)
        goto out;
    if (want < 1 || want > d->migration_count) {
        e = BW_E_INVAL;
        goto out;
    }
    if (v > d->migration_count) {
        snprintf(h->err, sizeof(h->err), "schema version %lld is newer than this gateway (%lld)",
                 (long long)v, (long long)d->migration_count);
        e = BW_E_UNSUPPORTED;
        goto out;
    }
    for (; v < want; v++) {
        e = h->drv->script(h, d->migrations[v]);
        if (e) {
            char msg[sizeof(h->err)];

            memcpy(msg, h->err, sizeof(msg));
            snprintf(h->err, sizeof(h->err), "migration %lld: %.200s", (long long)v + 1, msg);
            goto out;
        }
        e = run(h, NULL, GW__Q_SCHEMA_SET, "i", v + 1);
        if (e)
            goto out;
    }
out:
    return finish(h, e);
}

static bw_err reg_migrate(void *ctx)
{
    struct gw__db *h = ctx;

    return reg_migrate_to(ctx, gw__db_dialect[h->drv->dialect].migration_count);
}

/* ---- devices ------------------------------------------------------------ */

/* a row of the device columns; has_work from column 10 and op_cert from
 * 11 when with_work */
static void read_device(struct gw__db *h, struct gw__cur *c, struct gw_device *d, int with_work)
{
    memset(d, 0, sizeof(*d));
    col_text(h, c, 0, d->id, sizeof(d->id));
    col_text(h, c, 1, d->fingerprint, sizeof(d->fingerprint));
    col_text(h, c, 2, d->serial, sizeof(d->serial));
    col_text(h, c, 3, d->pubkey, sizeof(d->pubkey));
    d->status = (enum gw_device_status)col_int(h, c, 4);
    col_text(h, c, 5, d->attrs, sizeof(d->attrs));
    col_text(h, c, 6, d->version, sizeof(d->version));
    d->sequence = col_int(h, c, 7);
    d->last_seen = col_int(h, c, 8);
    d->created = col_int(h, c, 9);
    d->has_work = with_work ? col_int(h, c, 10) != 0 : 1;
    d->op_cert = with_work ? col_int(h, c, 11) != 0 : 0;
}

static bw_err reg_device_add(void *ctx, const struct gw_device *d)
{
    bw_err e;

    e = gw__db_check_device(d);
    if (e)
        return e;
    return run(ctx, NULL, GW__Q_DEVICE_ADD, "ttttittiii", d->id, d->fingerprint, d->serial,
               d->pubkey, (int64_t)d->status, d->attrs[0] ? d->attrs : "{}", d->version,
               d->sequence, d->last_seen, d->created);
}

static bw_err device_one(struct gw__db *h, enum gw__q q, const char *key, struct gw_device *out)
{
    struct gw__cur c;
    bw_err e;

    if (!key || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(key))
        return BW_E_NOTFOUND; /* could not have been stored */
    e = first(h, &c, q, "t", key);
    if (!e) {
        read_device(h, &c, out, q == GW__Q_DEVICE_BY_FPR);
        done(h, &c);
    }
    return e;
}

static bw_err reg_device_get(void *ctx, const char *id, struct gw_device *out)
{
    return device_one(ctx, GW__Q_DEVICE_GET, id, out);
}

static bw_err reg_device_by_fingerprint(void *ctx, const char *fpr, struct gw_device *out)
{
    return device_one(ctx, GW__Q_DEVICE_BY_FPR, fpr, out);
}

/* e of a statement that had to change a row and changed n: BW_E_NOTFOUND
 * when it changed none */
static bw_err changed(int64_t n, bw_err e)
{
    return !e && n == 0 ? BW_E_NOTFOUND : e;
}

static bw_err reg_device_set_status(void *ctx, const char *id, enum gw_device_status st)
{
    int64_t n = 0;
    bw_err e;

    if (!id || (unsigned)st > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(ctx, &n, GW__Q_DEVICE_STATUS, "iit", (int64_t)st, (int64_t)time(NULL), id);
    return changed(n, e);
}

static bw_err reg_cert_revoke(void *ctx, const char *id, const char *serial, int64_t now)
{
    int64_t n = 0;
    bw_err e;

    if (!id || !serial)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id) || !gw__db_utf8_ok(serial))
        return BW_E_NOTFOUND;
    e = run(ctx, &n, GW__Q_CERT_REVOKE, "itt", now, id, serial);
    return changed(n, e);
}

/* The certificate and its audit row in one transaction: one commit (one
 * fsync on SQLite) per enrollment. */
static bw_err reg_cert_add(void *ctx, const char *id, const char *fpr, const char *serial,
                           const char *pubkey, int64_t not_after, int64_t now,
                           const char *action)
{
    struct gw__db *h = ctx;
    struct gw_device *d;
    bw_err e;

    if (!id || !fpr || !serial || !pubkey || gw__db_check_hex(fpr, 64) ||
        gw__db_check_hex(pubkey, 130) || !serial[0] || strlen(serial) > 40 ||
        gw__db_check_hex(serial, strlen(serial)))
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = gw__db_check_audit(id, action, fpr, serial);
    if (e)
        return e;
    d = bwh_malloc(sizeof(*d));
    if (!d)
        return BW_E_NOMEM;
    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        goto out;
    /* a missing device is a foreign key error on PostgreSQL but not on
     * SQLite without its pragma: ask first, the same answer on both */
    e = device_one(h, GW__Q_DEVICE_GET, id, d);
    if (!e)
        e = run(h, NULL, GW__Q_CERT_ADD, "ttttii", fpr, id, serial, pubkey, not_after, now);
    if (!e)
        e = run(h, NULL, GW__Q_AUDIT_ADD, "itttt", now, id, action, fpr, serial);
    e = finish(h, e);
out:
    bwh_free(d);
    return e;
}

static bw_err reg_device_revoked(void *ctx, int operational,
                                 void (*fn)(void *arg, const char *serial, int64_t revoked_at),
                                 void *arg)
{
    struct gw__db *h = ctx;
    struct gw__cur c;
    bw_err e;
    int row;

    if (!fn)
        return BW_E_INVAL;
    e = start(h, &c, operational ? GW__Q_CERT_REVOKED : GW__Q_DEVICE_REVOKED, "");
    if (e)
        return e;
    while (!(e = next(h, &c, &row)) && row)
        fn(arg, h->drv->col_text(&c, 0), col_int(h, &c, 1));
    done(h, &c);
    return e;
}

static bw_err reg_device_checkin(void *ctx, const char *id, const char *version,
                                 int64_t sequence, const char *attrs, int64_t now)
{
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    if (version) {
        e = gw__db_check_text(version, GW_ID_MAX);
        if (e)
            return e;
    }
    if (attrs) {
        e = gw__db_check_json(attrs, 0);
        if (e)
            return e;
    }
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(ctx, &n, GW__Q_DEVICE_CHECKIN, "titit", version, sequence, attrs, now, id);
    return changed(n, e);
}

static bw_err reg_device_list(void *ctx, const char *filter, int status, int64_t offset,
                              int64_t limit, void (*fn)(void *arg, const struct gw_device *d),
                              void *arg)
{
    struct gw__db *h = ctx;
    struct gw_device *d;
    struct gw__cur c;
    bw_err e;
    int row;

    if (!fn || offset < 0 || status > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (filter) {
        e = gw__db_check_json(filter, 1);
        if (e)
            return e;
    }
    d = bwh_malloc(sizeof(*d));
    if (!d)
        return BW_E_NOMEM;
    e = start(h, &c, GW__Q_DEVICE_LIST, "tiii", filter, (int64_t)(status < 0 ? -1 : status),
              limit < 0 ? NO_LIMIT : limit, offset);
    if (e)
        goto out;
    while (!(e = next(h, &c, &row)) && row) {
        read_device(h, &c, d, 0);
        fn(arg, d);
    }
    done(h, &c);
out:
    bwh_free(d);
    return e;
}

/* The device's lock (the one action_next takes) first, so a delete and an
 * offer to the same device do not interleave. */
static bw_err reg_device_delete(void *ctx, const char *id)
{
    struct gw__db *h = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    e = run(h, NULL, GW__Q_LOCK_DEVICE, "t", id);
    if (!e)
        e = run(h, NULL, GW__Q_DEVICE_DEL_ACTIONS, "t", id);
    if (!e)
        e = run(h, NULL, GW__Q_DEVICE_DEL_DDI, "t", id);
    if (!e)
        e = run(h, NULL, GW__Q_DEVICE_DEL_CERTS, "t", id);
    if (!e)
        e = run(h, &n, GW__Q_DEVICE_DEL, "t", id);
    return finish(h, changed(n, e));
}

static bw_err reg_device_rekey(void *ctx, const char *id, const char *fpr,
                               enum gw_device_status st)
{
    struct gw_device d;
    int64_t n = 0;
    bw_err e;

    if (!id || !fpr || gw__db_check_hex(fpr, 64) || (unsigned)st > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(ctx, &n, GW__Q_DEVICE_REKEY, "tit", fpr, (int64_t)st, id);
    if (!e && n == 0)
        e = reg_device_get(ctx, id, &d) == BW_OK ? BW_E_STATE : BW_E_NOTFOUND;
    return e;
}

/* The count and the insert run under one lock for every gateway instance
 * (SQLite's write lock, a PostgreSQL advisory lock), so the cap holds. */
static bw_err reg_pending_add(void *ctx, const struct gw_device *d, int64_t expire_before,
                              int64_t max)
{
    struct gw__db *h = ctx;
    int64_t n = 0;
    bw_err e;

    e = gw__db_check_pending(d);
    if (e)
        return e;
    /* a full cap with nothing to expire is refused on a read, without the
     * write lock (an unauthenticated flood ends here) */
    e = one_int(h, &n, GW__Q_PENDING_COUNT, "");
    if (!e && n >= max) {
        e = one_int(h, &n, GW__Q_PENDING_OLD, "i", expire_before);
        if (!e && n == 0)
            e = BW_E_QUOTA;
    }
    if (e)
        return e;
    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    e = run(h, NULL, GW__Q_LOCK_PENDING, "");
    if (!e)
        e = run(h, NULL, GW__Q_PENDING_EXPIRE, "i", expire_before);
    if (!e)
        e = one_int(h, &n, GW__Q_PENDING_COUNT, "");
    if (!e && n >= max)
        e = BW_E_QUOTA;
    if (!e)
        e = reg_device_add(h, d);
    return finish(h, e);
}

/* ---- releases ----------------------------------------------------------- */

static bw_err reg_release_add(void *ctx, struct gw_release *r)
{
    bw_err e;

    e = gw__db_check_release(r);
    if (e)
        return e;
    return one_int(ctx, &r->id, GW__Q_RELEASE_ADD, "ttiitttittt", r->name, r->digest, r->size,
                   r->sequence, r->vendor_id, r->class_id, r->uploaded_by, r->created, r->kind,
                   r->md5, r->sha1);
}

/* a row of the release columns */
static void read_release(struct gw__db *h, struct gw__cur *c, struct gw_release *out)
{
    memset(out, 0, sizeof(*out));
    out->id = col_int(h, c, 0);
    col_text(h, c, 1, out->name, sizeof(out->name));
    col_text(h, c, 2, out->digest, sizeof(out->digest));
    out->size = col_int(h, c, 3);
    out->sequence = col_int(h, c, 4);
    col_text(h, c, 5, out->vendor_id, sizeof(out->vendor_id));
    col_text(h, c, 6, out->class_id, sizeof(out->class_id));
    col_text(h, c, 7, out->uploaded_by, sizeof(out->uploaded_by));
    out->created = col_int(h, c, 8);
    col_text(h, c, 9, out->kind, sizeof(out->kind));
    col_text(h, c, 10, out->md5, sizeof(out->md5));
    col_text(h, c, 11, out->sha1, sizeof(out->sha1));
}

/* the release at c, when first found one (e) */
static bw_err release_one(struct gw__db *h, struct gw__cur *c, bw_err e, struct gw_release *out)
{
    if (!e) {
        read_release(h, c, out);
        done(h, c);
    }
    return e;
}

static bw_err reg_release_get(void *ctx, int64_t id, struct gw_release *out)
{
    struct gw__cur c;

    if (!out)
        return BW_E_INVAL;
    return release_one(ctx, &c, first(ctx, &c, GW__Q_RELEASE_GET, "i", id), out);
}

static bw_err reg_release_by_digest(void *ctx, const char *digest, struct gw_release *out)
{
    struct gw__cur c;

    if (!digest || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(digest))
        return BW_E_NOTFOUND;
    return release_one(ctx, &c, first(ctx, &c, GW__Q_RELEASE_BY_DIGEST, "t", digest), out);
}

static bw_err reg_release_list(void *ctx, int64_t offset, int64_t limit,
                               void (*fn)(void *arg, const struct gw_release *r), void *arg)
{
    struct gw__db *h = ctx;
    struct gw_release rel;
    struct gw__cur c;
    bw_err e;
    int row;

    if (!fn || offset < 0)
        return BW_E_INVAL;
    e = start(h, &c, GW__Q_RELEASE_LIST, "ii", limit < 0 ? NO_LIMIT : limit, offset);
    if (e)
        return e;
    while (!(e = next(h, &c, &row)) && row) {
        read_release(h, &c, &rel);
        fn(arg, &rel);
    }
    done(h, &c);
    return e;
}

/* ---- hawkBit DDI -------------------------------------------------------- */

static bw_err reg_ddi_get(void *ctx, const char *id, struct gw_ddi_target *out)
{
    struct gw__db *h = ctx;
    struct gw__cur c;
    bw_err e;

    if (!id || !out)
        return BW_E_INVAL;
    memset(out, 0, sizeof(*out));
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = first(h, &c, GW__Q_DDI_GET, "t", id);
    if (!e) {
        col_text(h, &c, 0, out->token, sizeof(out->token));
        out->attrs_received = col_int(h, &c, 1) != 0;
        out->cancel_pending = col_int(h, &c, 2);
        done(h, &c);
    }
    return e;
}

static bw_err reg_ddi_set_token(void *ctx, const char *id, const char *hash)
{
    int64_t n = 0;
    bw_err e;

    if (!id || !hash || (hash[0] && gw__db_check_hex(hash, 64)))
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(ctx, &n, GW__Q_DDI_TOKEN, "tt", hash, id);
    return changed(n, e);
}

/* the device's attributes and its DDI row in one transaction */
static bw_err reg_ddi_set_attrs(void *ctx, const char *id, const char *attrs)
{
    struct gw__db *h = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    e = gw__db_check_json(attrs, 0);
    if (e)
        return e;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    e = run(h, &n, GW__Q_DDI_ATTRS, "tt", attrs, id);
    e = changed(n, e);
    if (!e)
        e = run(h, NULL, GW__Q_DDI_ATTRS_RECEIVED, "t", id);
    return finish(h, e);
}

static bw_err reg_ddi_cancel_ack(void *ctx, const char *id, int64_t action_id)
{
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(ctx, &n, GW__Q_DDI_CANCEL_ACK, "it", action_id, id);
    return changed(n, e);
}

/* ---- campaigns ---------------------------------------------------------- */

/* what settle read of a campaign */
struct rule {
    int64_t state, spct, epct, cb, batches, abort_pct, abort_min, abort_on, ramp_on;
    int64_t rollback_release, dynamic, priority;
};

/* Creates campaign cid's rollback campaign (name GW_ROLLBACK_NAME "cid",
 * priority GW_PRIORITY_MAX, one batch, forced, success threshold 0: it is
 * DONE once every device reported, never paused): rule->rollback_release to
 * every device cid reached (its action OFFERED, RUNNING, SUCCESS or
 * FAILURE: an offered device may be installing already). *rid: its id.
 * Inside settle's transaction, before cid's actions are cancelled. */
static bw_err rollback_create(struct gw__db *h, int64_t cid, const struct rule *r, int64_t now,
                              int64_t *rid)
{
    char name[GW_ID_MAX + 1];
    int64_t n = 0;
    bw_err e;

    snprintf(name, sizeof(name), GW_ROLLBACK_NAME "%lld", (long long)cid);
    e = one_int(h, rid, GW__Q_CAMPAIGN_ADD, "titiiiiiii", name, r->rollback_release, "{}",
                (int64_t)GW_ACT_FORCED, (int64_t)1000000, (int64_t)0, (int64_t)100,
                (int64_t)-1, (int64_t)-1, now);
    if (!e)
        e = run(h, NULL, GW__Q_CAMPAIGN_RAILS, "iiiiiiiiiii", (int64_t)0, (int64_t)0, (int64_t)0,
                (int64_t)0, (int64_t)0, (int64_t)0, (int64_t)0, (int64_t)0,
                (int64_t)GW_PRIORITY_MAX, cid, *rid);
    if (!e)
        e = run(h, &n, GW__Q_CAMPAIGN_ROLLBACK_ACTIONS, "iii", *rid, now, cid);
    if (!e)
        e = run(h, NULL, GW__Q_CAMPAIGN_BATCHES, "iii", (int64_t)(n ? 1 : 0),
                (int64_t)(n ? GW_CAMP_RUNNING : GW_CAMP_DONE), *rid);
    return e;
}

/* Ends campaign cid (named name) in state st with its reason: an aborted
 * campaign with a rollback release gets its rollback campaign and becomes
 * ROLLED_BACK; then its SCHEDULED and OFFERED actions are cancelled (a
 * RUNNING one may still report). The audit log says so, with the actor
 * "gateway": no operator decided it. */
static bw_err campaign_end(struct gw__db *h, int64_t cid, const char *name, const struct rule *r,
                           enum gw_campaign_state st, const char *reason, int64_t now)
{
    int64_t rid = 0;
    bw_err e;

    if (st == GW_CAMP_ABORTED && r->rollback_release) {
        e = rollback_create(h, cid, r, now, &rid);
        st = GW_CAMP_ROLLED_BACK;
        if (e)
            return e;
    }
    e = run(h, NULL, GW__Q_CAMPAIGN_CANCEL_ACTIONS, "i", cid);
    if (!e)
        e = run(h, NULL, GW__Q_CAMPAIGN_END, "itii", (int64_t)st, reason, rid, cid);
    if (!e)
        e = run(h, NULL, GW__Q_AUDIT_ADD, "itttt", now, "gateway",
                st == GW_CAMP_ROLLED_BACK ? "campaign.rolled_back"
                : st == GW_CAMP_ABORTED   ? "campaign.aborted"
                                          : "campaign.cannot_complete",
                name, reason);
    return e;
}

/*
 * Method: the rollout rule, after a report (or a resume, or an offer of a
 * campaign that ramps on notified devices) inside the caller's
 * transaction, which holds the campaign (SQLite's write lock, the campaign
 * row locked FOR UPDATE on PostgreSQL), so two reports on one campaign
 * count in turn and neither misses the other's result. In order:
 *  1. abort, after a final report: when failures of the abort_on kinds reach abort_pct percent of
 *     the executed actions (SUCCESS + FAILURE), once at least abort_min
 *     were executed, the campaign is ABORTED (ROLLED_BACK with a rollback
 *     campaign when it names a rollback release);
 *  2. release batches while the current one has reached its success
 *     threshold (ramp_on notified: that share of it was offered);
 *  3. a running campaign with every batch released and nothing pending is
 *     DONE (a dynamic one stays running for late devices);
 *  4. a current batch with nothing pending below its threshold can never
 *     let the next one start: CANNOT_COMPLETE;
 *  5. otherwise, after a failure report, a running campaign whose failures exceed the
 *     error threshold of the released actions is PAUSED.
 */
#define SETTLE_ABORT 1 /* a final report: check the abort criterion */
#define SETTLE_PAUSE 2 /* a failure report: check the error threshold */
static bw_err settle(struct gw__db *h, int64_t cid, int how, int64_t now)
{
    char reason[GW_REASON_MAX + 1], name[GW_ID_MAX + 1];
    int64_t total, good, pending, bad, released, open, executed, failed;
    struct gw__cur c;
    struct rule r;
    bw_err e;

    e = first(h, &c, GW__Q_SETTLE_READ, "i", cid);
    if (e)
        return e;
    r.state = col_int(h, &c, 0);
    r.spct = col_int(h, &c, 1);
    r.epct = col_int(h, &c, 2);
    r.cb = col_int(h, &c, 3);
    r.batches = col_int(h, &c, 4);
    r.abort_pct = col_int(h, &c, 5);
    r.abort_min = col_int(h, &c, 6);
    r.abort_on = col_int(h, &c, 7);
    r.ramp_on = col_int(h, &c, 8);
    r.rollback_release = col_int(h, &c, 9);
    r.dynamic = col_int(h, &c, 10);
    r.priority = col_int(h, &c, 11);
    col_text(h, &c, 12, name, sizeof(name));
    done(h, &c);
    if (r.state != GW_CAMP_RUNNING && r.state != GW_CAMP_PAUSED)
        return BW_OK;
    if (r.abort_pct && (how & SETTLE_ABORT)) {
        e = one_int(h, &executed, GW__Q_SETTLE_EXECUTED, "i", cid);
        if (!e)
            e = one_int(h, &failed, GW__Q_SETTLE_FAILED_KIND, "ii", cid,
                        r.abort_on ? r.abort_on : (int64_t)GW_FAIL_ALL);
        if (e)
            return e;
        if (executed > 0 && executed >= r.abort_min && failed * 100 >= r.abort_pct * executed) {
            snprintf(reason, sizeof(reason),
                     "aborted: %lld of %lld executed actions failed (abort at %lld %%)",
                     (long long)failed, (long long)executed, (long long)r.abort_pct);
            return campaign_end(h, cid, name, &r, GW_CAMP_ABORTED, reason, now);
        }
    }
    while (r.cb < r.batches) {
        e = one_int(h, &total, GW__Q_SETTLE_BATCH, "ii", cid, r.cb);
        if (!e)
            e = one_int(h, &good, r.ramp_on == GW_RAMP_NOTIFIED ? GW__Q_SETTLE_BATCH_NOTIFIED
                                                                : GW__Q_SETTLE_BATCH_GOOD,
                        "ii", cid, r.cb);
        if (e)
            return e;
        if (good * 100 < r.spct * total)
            break;
        r.cb++;
    }
    e = one_int(h, &pending, GW__Q_SETTLE_PENDING, "i", cid);
    if (e)
        return e;
    if (r.state == GW_CAMP_RUNNING && r.cb >= r.batches && pending == 0 && !r.dynamic) {
        r.state = GW_CAMP_DONE;
    } else if (r.cb < r.batches) {
        e = one_int(h, &open, GW__Q_SETTLE_BATCH_OPEN, "ii", cid, r.cb);
        if (e)
            return e;
        if (open == 0) { /* the loop above stopped here: below the threshold for good */
            e = run(h, NULL, GW__Q_SETTLE_WRITE, "iii", r.cb, r.state, cid);
            if (e)
                return e;
            snprintf(reason, sizeof(reason),
                     "cannot complete: batch %lld finished below its %lld %% threshold",
                     (long long)r.cb, (long long)r.spct);
            return campaign_end(h, cid, name, &r, GW_CAMP_CANNOT_COMPLETE, reason, now);
        }
    }
    if (r.state == GW_CAMP_RUNNING && (how & SETTLE_PAUSE)) {
        e = one_int(h, &bad, GW__Q_SETTLE_RELEASED_BAD, "ii", cid, r.cb);
        if (!e)
            e = one_int(h, &released, GW__Q_SETTLE_RELEASED, "ii", cid, r.cb);
        if (e)
            return e;
        if (bad * 100 > r.epct * released)
            r.state = GW_CAMP_PAUSED;
    }
    return run(h, NULL, GW__Q_SETTLE_WRITE, "iii", r.cb, r.state, cid);
}

/* The batches of a ramp: actions numbered 0..n-1 (batch_size 1) get
 * batches of base, then each the one before times factor10 / 10, at least
 * one more. *batches: how many. */
static bw_err ramp(struct gw__db *h, const struct gw_campaign *c, int64_t n, int64_t *batches)
{
    int64_t lo = 0, size = c->ramp_base, k = 0, grown;
    bw_err e = BW_OK;

    while (!e && lo < n) {
        e = run(h, NULL, GW__Q_CAMPAIGN_RAMP, "iiii", k, c->id, lo, lo + size);
        lo += size;
        k++;
        grown = size * c->ramp_factor10 / 10;
        size = grown > size ? grown : size + 1;
        if (size > n)
            size = n;
    }
    *batches = k;
    return e;
}

static bw_err campaign_create_once(struct gw__db *h, const struct tx *t)
{
    struct gw_campaign *c = t->camp;
    int64_t now = t->now;
    const char *filter = c->filter[0] ? c->filter : "{}";
    int64_t n = 0, have = 0, batches = 0;
    bw_err e;

    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    e = one_int(h, &have, GW__Q_RELEASE_EXISTS, "i", c->release_id);
    if (!e && have && c->rollback_release)
        e = one_int(h, &have, GW__Q_RELEASE_EXISTS, "i", c->rollback_release);
    if (!e && !have)
        e = BW_E_NOTFOUND;
    if (!e)
        e = one_int(h, &c->id, GW__Q_CAMPAIGN_ADD, "titiiiiiii", c->name, c->release_id, filter,
                    (int64_t)c->type, (int64_t)c->batch_size, (int64_t)c->success_threshold_pct,
                    (int64_t)c->error_threshold_pct, c->window_start, c->window_end, now);
    if (!e)
        e = run(h, NULL, GW__Q_CAMPAIGN_RAILS, "iiiiiiiiiii", (int64_t)c->abort_pct, c->abort_min,
                (int64_t)c->abort_on, (int64_t)c->ramp_base, (int64_t)c->ramp_factor10,
                (int64_t)c->ramp_on, c->rollback_release, (int64_t)c->dynamic,
                (int64_t)c->priority, (int64_t)0, c->id);
    if (!e && (c->install_later || c->consent))
        e = run(h, NULL, GW__Q_CAMPAIGN_SAY, "iii", (int64_t)c->install_later,
                (int64_t)c->consent, c->id);
    if (!e)
        e = run(h, &n, GW__Q_CAMPAIGN_ACTIONS, "iiit", c->id,
                (int64_t)(c->ramp_base ? 1 : c->batch_size), now, filter);
    if (e)
        goto out;
    if (c->ramp_base)
        e = ramp(h, c, n, &batches);
    else
        batches = (n + c->batch_size - 1) / c->batch_size;
    if (e)
        goto out;
    c->state = n || c->dynamic ? GW_CAMP_RUNNING : GW_CAMP_DONE;
    c->current_batch = 0;
    c->created = now;
    c->rollback_of = c->rollback_id = 0;
    c->reason[0] = 0;
    e = run(h, NULL, GW__Q_CAMPAIGN_BATCHES, "iii", batches, (int64_t)c->state, c->id);
out:
    return finish(h, e);
}

static bw_err reg_campaign_create(void *ctx, struct gw_campaign *c, int64_t now)
{
    struct tx t = { .camp = c, .now = now };
    bw_err e;

    e = gw__db_check_campaign(c);
    if (e)
        return e;
    return retried(ctx, campaign_create_once, &t);
}

/* a row of the campaign columns */
static void read_campaign(struct gw__db *h, struct gw__cur *c, struct gw_campaign *out)
{
    memset(out, 0, sizeof(*out));
    out->id = col_int(h, c, 0);
    col_text(h, c, 1, out->name, sizeof(out->name));
    out->release_id = col_int(h, c, 2);
    col_text(h, c, 3, out->filter, sizeof(out->filter));
    out->type = (enum gw_action_type)col_int(h, c, 4);
    out->state = (enum gw_campaign_state)col_int(h, c, 5);
    out->batch_size = (int)col_int(h, c, 6);
    out->success_threshold_pct = (int)col_int(h, c, 7);
    out->error_threshold_pct = (int)col_int(h, c, 8);
    out->current_batch = (int)col_int(h, c, 9);
    out->window_start = col_int(h, c, 10);
    out->window_end = col_int(h, c, 11);
    out->created = col_int(h, c, 12);
    out->abort_pct = (int)col_int(h, c, 13);
    out->abort_min = col_int(h, c, 14);
    out->abort_on = (unsigned)col_int(h, c, 15);
    out->ramp_base = (int)col_int(h, c, 16);
    out->ramp_factor10 = (int)col_int(h, c, 17);
    out->ramp_on = (enum gw_ramp_on)col_int(h, c, 18);
    out->rollback_release = col_int(h, c, 19);
    out->dynamic = (int)col_int(h, c, 20);
    out->priority = (int)col_int(h, c, 21);
    out->rollback_of = col_int(h, c, 22);
    out->rollback_id = col_int(h, c, 23);
    col_text(h, c, 24, out->reason, sizeof(out->reason));
    out->install_later = (int)col_int(h, c, 25);
    out->consent = (int)col_int(h, c, 26);
}

#define CAMP_NCOLS 27 /* the campaign columns; counts follow in a list */

static bw_err reg_campaign_list(void *ctx, int64_t offset, int64_t limit,
                                void (*fn)(void *arg, const struct gw_campaign *c,
                                           const struct gw_counts *k),
                                void *arg)
{
    struct gw__db *h = ctx;
    struct gw_campaign *camp;
    struct gw_counts k;
    struct gw__cur c;
    bw_err e;
    int row, i;

    if (!fn || offset < 0)
        return BW_E_INVAL;
    camp = bwh_malloc(sizeof(*camp));
    if (!camp)
        return BW_E_NOMEM;
    e = start(h, &c, GW__Q_CAMPAIGN_LIST, "ii", limit < 0 ? NO_LIMIT : limit, offset);
    if (e)
        goto out;
    while (!(e = next(h, &c, &row)) && row) {
        read_campaign(h, &c, camp);
        for (i = 0; i < 6; i++)
            k.n[i] = col_int(h, &c, CAMP_NCOLS + i);
        for (i = 0; i < GW_HOLD_COUNT; i++)
            k.held[i] = col_int(h, &c, CAMP_NCOLS + 6 + i);
        fn(arg, camp, &k);
    }
    done(h, &c);
out:
    bwh_free(camp);
    return e;
}

static bw_err reg_campaign_get(void *ctx, int64_t id, struct gw_campaign *out,
                               struct gw_counts *counts)
{
    struct gw__db *h = ctx;
    struct gw__cur c;
    int64_t k;
    bw_err e;
    int row;

    if (!out)
        return BW_E_INVAL;
    /* one snapshot: the campaign and its counts agree */
    e = begin(h, GW__Q_BEGIN_SNAPSHOT);
    if (e)
        return e;
    e = first(h, &c, GW__Q_CAMPAIGN_GET, "i", id);
    if (e)
        goto out;
    read_campaign(h, &c, out);
    done(h, &c);
    if (!counts)
        goto out;
    memset(counts, 0, sizeof(*counts));
    e = start(h, &c, GW__Q_CAMPAIGN_COUNTS, "i", id);
    if (e)
        goto out;
    while (!(e = next(h, &c, &row)) && row) {
        k = col_int(h, &c, 0);
        if (k >= 0 && k < 6)
            counts->n[k] = col_int(h, &c, 1);
    }
    done(h, &c);
    if (e)
        goto out;
    e = start(h, &c, GW__Q_CAMPAIGN_HOLDS, "i", id);
    if (e)
        goto out;
    while (!(e = next(h, &c, &row)) && row) {
        k = col_int(h, &c, 0);
        if (k >= 0 && k < GW_HOLD_COUNT)
            counts->held[k] = col_int(h, &c, 1);
    }
    done(h, &c);
out:
    return finish(h, e);
}

static bw_err reg_generation(void *ctx, struct gw_db_gen *gen)
{
    struct gw__db *h = ctx;

    if (!gen)
        return BW_E_INVAL;
    if (!h->drv->written || !gw__db_sql[GW__Q_DATA_VERSION].sql[h->drv->dialect])
        return BW_E_UNSUPPORTED;
    gen->ours = h->drv->written(h);
    gen->handle = h->serial;
    return one_int(h, &gen->theirs, GW__Q_DATA_VERSION, "");
}

static bw_err reg_tally_check(void *ctx, int64_t *differ)
{
    struct gw__db *h = ctx;
    bw_err e;

    if (!differ)
        return BW_E_INVAL;
    e = begin(h, GW__Q_BEGIN_SNAPSHOT);
    if (e)
        return e;
    e = one_int(h, differ, GW__Q_TALLY_CHECK, "");
    return finish(h, e);
}

static bw_err set_state_once(struct gw__db *h, const struct tx *t)
{
    enum gw_campaign_state to = (enum gw_campaign_state)t->to;
    int64_t id = t->id;
    struct gw__cur c;
    int64_t from = -1;
    bw_err e;

    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    e = first(h, &c, GW__Q_CAMPAIGN_STATE, "i", id);
    if (e)
        goto out;
    from = col_int(h, &c, 0);
    done(h, &c);
    e = gw__db_campaign_transition((enum gw_campaign_state)from, to);
    if (e || from == (int64_t)to)
        goto out;
    e = run(h, NULL, GW__Q_CAMPAIGN_SET_STATE, "ii", (int64_t)to, id);
    if (e)
        goto out;
    if (to == GW_CAMP_CANCELLED)
        e = run(h, NULL, GW__Q_CAMPAIGN_CANCEL_ACTIONS, "i", id);
    else if (to == GW_CAMP_RUNNING)
        e = settle(h, id, 0, (int64_t)time(NULL)); /* the time of an end it may audit */
out:
    return finish(h, e);
}

static bw_err reg_campaign_set_state(void *ctx, int64_t id, enum gw_campaign_state to)
{
    struct tx t = { .id = id, .to = (int)to };
    bw_err e;

    e = gw__db_campaign_transition(GW_CAMP_RUNNING, to);
    if (e)
        return e;
    return retried(ctx, set_state_once, &t);
}

/* ---- actions ------------------------------------------------------------ */

/* a row of the action columns */
static void read_action(struct gw__db *h, struct gw__cur *c, struct gw_action *a)
{
    memset(a, 0, sizeof(*a));
    a->id = col_int(h, c, 0);
    a->campaign_id = col_int(h, c, 1);
    a->release_id = col_int(h, c, 2);
    col_text(h, c, 3, a->device_id, sizeof(a->device_id));
    a->batch = (int)col_int(h, c, 4);
    a->type = (enum gw_action_type)col_int(h, c, 5);
    a->state = (enum gw_action_state)col_int(h, c, 6);
    a->updated = col_int(h, c, 7);
    a->fail_kind = (unsigned)col_int(h, c, 8);
    a->hold = (enum gw_hold)col_int(h, c, 9);
    if ((unsigned)a->hold >= GW_HOLD_COUNT)
        a->hold = GW_HOLD_NONE;
    a->go = (unsigned)col_int(h, c, 10);
    a->install_later = (int)col_int(h, c, 11);
    a->consent = (int)col_int(h, c, 12);
    a->window_start = col_int(h, c, 13);
    a->window_end = col_int(h, c, 14);
}
#define ACT_NCOLS 15 /* the action columns; the feedback follows in a list */

/* The first action statement q picks (parameters by fmt: the device, the
 * number): BW_OK, with *found and *out when a row came. */
static bw_err action_query(struct gw__db *h, enum gw__q q, const char *fmt, const char *dev,
                           int64_t num, struct gw_action *out, int *found)
{
    struct gw__cur c;
    bw_err e;

    *found = 0;
    e = fmt[0] == 'i' ? first(h, &c, q, fmt, num) : first(h, &c, q, fmt, dev, num);
    if (e)
        return e == BW_E_NOTFOUND ? BW_OK : e;
    read_action(h, &c, out);
    *found = 1;
    done(h, &c);
    return BW_OK;
}

/*
 * Method: under the device's lock (PostgreSQL: an advisory lock per device
 * across all gateway processes; SQLite: the one write lock), look for an
 * action the device already has, then for the oldest eligible SCHEDULED
 * one, picked FOR UPDATE SKIP LOCKED on PostgreSQL, and mark it OFFERED, so
 * it is handed out once. On SQLite a read transaction looks first, so a
 * poll with nothing to hand out never takes the write lock.
 */
static bw_err next_once(struct gw__db *h, const struct tx *t)
{
    const char *dev = t->dev;
    struct gw_action *out = t->out;
    int64_t now = t->now;
    int64_t tod = gw__db_time_of_day(now), n = 0;
    int pass = gw__db_dialect[h->drv->dialect].offer_reads_first ? 0 : 1;
    int found = 0;
    bw_err e;

    for (; pass < 2; pass++) {
        e = begin(h, pass ? GW__Q_BEGIN_WRITE : GW__Q_BEGIN_READ);
        if (e)
            return e;
        e = run(h, NULL, GW__Q_LOCK_DEVICE, "t", dev);
        if (!e)
            e = action_query(h, GW__Q_ACTION_OPEN, "t", dev, 0, out, &found);
        if (e || found)
            return finish(h, e);
        if (pass == 0) { /* a dynamic campaign to join: that is a write */
            e = one_int(h, &n, GW__Q_DYN_COUNT, "t", dev);
            if (e || n) {
                e = finish(h, e);
                if (e)
                    return e;
                continue;
            }
        } else {
            e = run(h, NULL, GW__Q_DYN_JOIN, "it", now, dev);
            if (e)
                return finish(h, e);
        }
        e = action_query(h, GW__Q_ACTION_NEXT, "ti", dev, tod, out, &found);
        if (e)
            return finish(h, e);
        if (!found) { /* nothing changed: end the transaction normally */
            e = finish(h, BW_OK);
            return e ? e : BW_E_NOTFOUND;
        }
        if (pass == 0) {
            e = finish(h, BW_OK);
            if (e)
                return e;
        }
    }
    e = run(h, &n, GW__Q_ACTION_OFFER, "ii", now, out->id);
    if (!e && n != 1) {
        snprintf(h->err, sizeof(h->err), "action %lld changed under the write lock",
                 (long long)out->id);
        e = BW_E_IO;
    }
    if (!e) {
        out->state = GW_ACTION_OFFERED;
        out->updated = now;
        e = one_int(h, &n, GW__Q_SETTLE_RAMP_ON, "i", out->campaign_id);
    }
    /* a campaign that ramps on notified devices may release a batch now
     * (its row locked after the action's, as a report locks its own) */
    if (!e && n == GW_RAMP_NOTIFIED) {
        e = run(h, NULL, GW__Q_LOCK_CAMPAIGN, "i", out->campaign_id);
        if (!e)
            e = settle(h, out->campaign_id, 0, now);
    }
    return finish(h, e);
}

static bw_err reg_action_next(void *ctx, const char *device_id, int64_t now,
                              struct gw_action *out)
{
    struct tx t = { .dev = device_id, .now = now, .out = out };

    if (!device_id || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(device_id))
        return BW_E_NOTFOUND;
    return retried(ctx, next_once, &t);
}

/* lock order everywhere: the campaign, then its actions */
static bw_err report_once(struct gw__db *h, const struct tx *t)
{
    enum gw_action_state to = (enum gw_action_state)t->to;
    int64_t id = t->id;
    struct gw_action a;
    int found;
    bw_err e;

    e = begin(h, GW__Q_BEGIN_WRITE);
    if (e)
        return e;
    e = action_query(h, GW__Q_ACTION_GET, "ti", t->dev, id, &a, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
    if (!e)
        e = run(h, NULL, GW__Q_LOCK_CAMPAIGN, "i", a.campaign_id);
    if (!e && has(h, GW__Q_ACTION_LOCK)) {
        e = action_query(h, GW__Q_ACTION_LOCK, "i", t->dev, id, &a, &found);
        if (!e && !found)
            e = BW_E_NOTFOUND;
    }
    if (!e)
        e = gw__db_report_transition(a.state, to);
    if (!e)
        e = run(h, NULL, GW__Q_ACTION_SET, "itiiii", (int64_t)to, t->feedback, t->now,
                (int64_t)(to == GW_ACTION_FAILURE ? gw__db_failure_kind(t->feedback) : 0),
                (int64_t)(to == GW_ACTION_RUNNING ? gw__db_hold_kind(t->feedback) : 0), id);
    if (!e && to != GW_ACTION_RUNNING)
        e = settle(h, a.campaign_id,
                   SETTLE_ABORT | (to == GW_ACTION_FAILURE ? SETTLE_PAUSE : 0), t->now);
    return finish(h, e);
}

static bw_err reg_action_report(void *ctx, const char *device_id, int64_t action_id,
                                enum gw_action_state to, const char *feedback, int64_t now)
{
    struct tx t = { .dev = device_id, .id = action_id, .to = (int)to,
                    .feedback = feedback ? feedback : "", .now = now };
    bw_err e;

    if (!device_id)
        return BW_E_INVAL;
    e = gw__db_report_transition(GW_ACTION_OFFERED, to);
    if (e)
        return e;
    if (feedback) {
        e = gw__db_check_text(feedback, GW_FEEDBACK_MAX);
        if (e)
            return e;
    }
    if (!gw__db_utf8_ok(device_id))
        return BW_E_NOTFOUND;
    return retried(ctx, report_once, &t);
}

/* One action of device dev picked by q (fmt: "t" the device, "ti" and the
 * id): BW_E_NOTFOUND if none. */
static bw_err action_one(struct gw__db *h, enum gw__q q, const char *fmt, const char *dev,
                         int64_t id, struct gw_action *out)
{
    int found;
    bw_err e;

    if (!dev || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(dev))
        return BW_E_NOTFOUND;
    e = action_query(h, q, fmt, dev, id, out, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err reg_action_get(void *ctx, const char *device_id, int64_t action_id,
                             struct gw_action *out)
{
    return action_one(ctx, GW__Q_ACTION_GET, "ti", device_id, action_id, out);
}

static bw_err reg_action_go(void *ctx, const char *device_id, int64_t id, unsigned go, int64_t *n)
{
    struct gw__db *h = ctx;
    int64_t k = 0;
    bw_err e;

    if (!go || go > GW_GO_ALL)
        return BW_E_INVAL;
    if (device_id && !gw__db_utf8_ok(device_id))
        return BW_E_NOTFOUND;
    e = device_id ? run(h, &k, GW__Q_ACTION_GO_DEVICE, "iti", (int64_t)go, device_id, id)
                  : run(h, &k, GW__Q_ACTION_GO_CAMPAIGN, "ii", (int64_t)go, id);
    if (n)
        *n = k;
    return changed(k, e);
}

static bw_err ticket_once(struct gw__db *h, const struct tx *t)
{
    struct gw__cur c;
    bw_err e;

    e = begin(h, GW__Q_BEGIN_WRITE);
    if (!e)
        e = run(h, NULL, GW__Q_TICKET_ADD, "it", t->id, t->feedback);
    if (!e)
        e = run(h, NULL, GW__Q_TICKET_OLD, "i", t->id - 1);
    if (!e)
        e = first(h, &c, GW__Q_TICKET_GET, "i", t->id);
    if (!e) {
        col_text(h, &c, 0, t->text, 129);
        done(h, &c);
    }
    return finish(h, e);
}

static bw_err reg_ticket_key(void *ctx, int64_t period, const char *candidate, char *out)
{
    struct tx t = { .id = period, .feedback = candidate, .text = out };
    bw_err e;

    if (period < 0 || !candidate || !out || gw__db_check_hex(candidate, 128))
        return BW_E_INVAL;
    e = retried(ctx, ticket_once, &t);
    if (!e && gw__db_check_hex(out, 128)) {
        snprintf(((struct gw__db *)ctx)->err, sizeof(((struct gw__db *)ctx)->err),
                 "ticket key of period %lld is malformed", (long long)period);
        e = BW_E_IO;
    }
    return e;
}

static bw_err reg_action_installed(void *ctx, const char *device_id, struct gw_action *out)
{
    return action_one(ctx, GW__Q_ACTION_INSTALLED, "t", device_id, 0, out);
}

static bw_err reg_action_list(void *ctx, const char *device_id, int64_t offset, int64_t limit,
                              void (*fn)(void *arg, const struct gw_action *a,
                                         const char *feedback),
                              void *arg)
{
    struct gw__db *h = ctx;
    struct gw_action a;
    struct gw__cur c;
    bw_err e;
    int row;

    if (!device_id || !fn || offset < 0)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(device_id))
        return BW_OK; /* no such device: no actions */
    e = start(h, &c, GW__Q_ACTION_LIST, "tii", device_id, limit < 0 ? NO_LIMIT : limit, offset);
    if (e)
        return e;
    while (!(e = next(h, &c, &row)) && row) {
        read_action(h, &c, &a);
        fn(arg, &a, h->drv->col_text(&c, ACT_NCOLS));
    }
    done(h, &c);
    return e;
}

/* ---- audit -------------------------------------------------------------- */

static bw_err reg_audit_add(void *ctx, int64_t now, const char *actor, const char *action,
                            const char *object, const char *detail)
{
    bw_err e;

    e = gw__db_check_audit(actor, action, object, detail);
    if (e)
        return e;
    return run(ctx, NULL, GW__Q_AUDIT_ADD, "itttt", now, actor, action, object,
               detail ? detail : "");
}

typedef void (*audit_fn)(void *arg, int64_t id, int64_t time, const char *actor,
                         const char *action, const char *object, const char *detail);

/* audit rows of q to fn: fmt "ii" after an id and a limit, "i" a limit */
static bw_err audit_rows(struct gw__db *h, enum gw__q q, const char *fmt, int64_t a,
                         int64_t limit, audit_fn fn, void *arg)
{
    const struct gw__db_driver *d = h->drv;
    struct gw__cur c;
    bw_err e;
    int row;

    if (!fn)
        return BW_E_INVAL;
    if (limit < 0)
        limit = NO_LIMIT;
    e = fmt[1] ? start(h, &c, q, fmt, a, limit) : start(h, &c, q, fmt, limit);
    if (e)
        return e;
    while (!(e = next(h, &c, &row)) && row)
        fn(arg, d->col_int(&c, 0), d->col_int(&c, 1), d->col_text(&c, 2), d->col_text(&c, 3),
           d->col_text(&c, 4), d->col_text(&c, 5));
    done(h, &c);
    return e;
}

static bw_err reg_audit_list(void *ctx, int64_t after_id, int64_t limit, audit_fn fn, void *arg)
{
    return audit_rows(ctx, GW__Q_AUDIT_LIST, "ii", after_id, limit, fn, arg);
}

static bw_err reg_audit_recent(void *ctx, int64_t limit, audit_fn fn, void *arg)
{
    return audit_rows(ctx, GW__Q_AUDIT_RECENT, "i", 0, limit, fn, arg);
}

/* One table of operations per backend: they differ in name and driver. */
#define REGISTRY_OPS(NAME, OPEN)                                                                   \
    {                                                                                              \
        .name = NAME, .open = OPEN, .close = reg_close, .migrate = reg_migrate,                   \
        .migrate_to = reg_migrate_to, .error = reg_error, .device_add = reg_device_add,           \
        .device_get = reg_device_get, .device_by_fingerprint = reg_device_by_fingerprint,         \
        .device_set_status = reg_device_set_status, .device_checkin = reg_device_checkin,         \
        .device_revoked = reg_device_revoked, .cert_add = reg_cert_add,                           \
        .cert_revoke = reg_cert_revoke,                                                            \
        .device_list = reg_device_list, .device_delete = reg_device_delete,                       \
        .device_rekey = reg_device_rekey, .pending_add = reg_pending_add,                         \
        .release_add = reg_release_add, .release_get = reg_release_get,                           \
        .release_by_digest = reg_release_by_digest, .release_list = reg_release_list,             \
        .campaign_list = reg_campaign_list, .action_list = reg_action_list,                       \
        .campaign_create = reg_campaign_create, .campaign_get = reg_campaign_get,                 \
        .tally_check = reg_tally_check, .generation = reg_generation,                              \
        .campaign_set_state = reg_campaign_set_state, .action_next = reg_action_next,             \
        .action_report = reg_action_report, .action_get = reg_action_get,                         \
        .action_installed = reg_action_installed, .action_go = reg_action_go, .ticket_key = reg_ticket_key, .ddi_get = reg_ddi_get,                         \
        .ddi_set_token = reg_ddi_set_token, .ddi_set_attrs = reg_ddi_set_attrs,                   \
        .ddi_cancel_ack = reg_ddi_cancel_ack, .audit_add = reg_audit_add,                         \
        .audit_list = reg_audit_list, .audit_recent = reg_audit_recent,                           \
    }

const struct gw_db_ops gw_db_sqlite = REGISTRY_OPS("sqlite", open_sqlite);
const struct gw_db_ops gw_db_pg = REGISTRY_OPS("postgresql", open_pg);
