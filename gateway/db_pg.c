/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry on PostgreSQL (libpq): several stateless gateway instances
 * on one database. READ COMMITTED with explicit locks: a per-device advisory
 * lock for action_next, the campaign row for reports and state changes,
 * SKIP LOCKED for the offer, an advisory lock around migrate. Text keys use
 * COLLATE "C" so ordering is bytewise, as in SQLite.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

#define MAX_PARAMS 12
#define MAX_TRIES 8              /* deadlock / serialization failure retries */
#define MIGRATE_LOCK "7161405519" /* pg_advisory_xact_lock key: "bulwark schema" */
#define DEVICE_LOCK_CLASS "25207" /* first key of the per-device lock */
#define PENDING_LOCK "7161405520" /* pg_advisory_xact_lock key: pending_add */

struct pg {
    PGconn *c;
    int retry; /* the last error was a deadlock or serialization failure */
    char err[256];
};

static const char *const migrations[] = {
    /* 1: the registry */
    "CREATE TABLE devices ("
    " id TEXT COLLATE \"C\" PRIMARY KEY,"
    " fingerprint TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    " serial TEXT NOT NULL, pubkey TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " attrs TEXT NOT NULL DEFAULT '{}',"
    " version TEXT NOT NULL DEFAULT '',"
    " sequence BIGINT NOT NULL DEFAULT -1,"
    " last_seen BIGINT NOT NULL DEFAULT 0,"
    " created BIGINT NOT NULL);"
    "CREATE TABLE releases ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT COLLATE \"C\" NOT NULL UNIQUE, digest TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    " size BIGINT NOT NULL, sequence BIGINT NOT NULL,"
    " vendor_id TEXT NOT NULL, class_id TEXT NOT NULL, uploaded_by TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE TABLE campaigns ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    " release_id BIGINT NOT NULL REFERENCES releases(id),"
    " filter TEXT NOT NULL, type INTEGER NOT NULL, state INTEGER NOT NULL,"
    " batch_size INTEGER NOT NULL, success_pct INTEGER NOT NULL, error_pct INTEGER NOT NULL,"
    " current_batch INTEGER NOT NULL, batches INTEGER NOT NULL,"
    " window_start BIGINT NOT NULL, window_end BIGINT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE TABLE actions ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " campaign_id BIGINT NOT NULL REFERENCES campaigns(id),"
    " device_id TEXT COLLATE \"C\" NOT NULL REFERENCES devices(id),"
    " batch INTEGER NOT NULL, state INTEGER NOT NULL, updated BIGINT NOT NULL,"
    " feedback TEXT NOT NULL DEFAULT '',"
    " UNIQUE (campaign_id, device_id));"
    "CREATE INDEX actions_device ON actions(device_id, state);"
    "CREATE INDEX actions_campaign ON actions(campaign_id, batch, state);"
    "CREATE TABLE audit ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " time BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
    " object TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION 'audit log is append-only'; END$$;"
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
    /* 2: hawkBit DDI: release kinds and hashes, DDI state per device */
    "ALTER TABLE releases ADD COLUMN kind TEXT NOT NULL DEFAULT 'bulwark';"
    "ALTER TABLE releases ADD COLUMN md5 TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE releases ADD COLUMN sha1 TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE ddi_targets ("
    " device_id TEXT COLLATE \"C\" PRIMARY KEY REFERENCES devices(id),"
    " token TEXT NOT NULL DEFAULT '', attrs_received INTEGER NOT NULL DEFAULT 0,"
    " cancel_ack BIGINT NOT NULL DEFAULT 0);",
    /* 3: pending identities counted and expired by status and age */
    "CREATE INDEX devices_status ON devices(status, created);",
};
#define SCHEMA_VERSION ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

#define DEV_COLS                                                                                   \
    "id, fingerprint, serial, pubkey, status, attrs, version, sequence, last_seen, created"
#define REL_COLS                                                                                   \
    "id, name, digest, size, sequence, vendor_id, class_id, uploaded_by, created, kind, md5, sha1"
#define CAMP_COLS                                                                                  \
    "id, name, release_id, filter, type, state, batch_size, success_pct, error_pct,"               \
    " current_batch, window_start, window_end, created"
#define ACT_COLS                                                                                   \
    "a.id, a.campaign_id, c.release_id, a.device_id, a.batch, c.type, a.state, a.updated"

/* A device's attrs contain every pair of the filter F (NULL: all), string
 * values only; the same rule as db_sqlite.c's. */
#define MATCH(F)                                                                                   \
    "(" F "::text IS NULL OR NOT EXISTS (SELECT 1 FROM jsonb_each(" F "::jsonb) f"               \
    " WHERE NOT EXISTS (SELECT 1 FROM jsonb_each(d.attrs::jsonb) x WHERE x.key = f.key"          \
    " AND jsonb_typeof(x.value) = 'string' AND x.value = f.value)))"

#define IN_WINDOW(T)                                                                               \
    "(c.window_start < 0"                                                                          \
    " OR (c.window_start < c.window_end AND " T " >= c.window_start AND " T " < c.window_end)"    \
    " OR (c.window_start > c.window_end AND (" T " >= c.window_start OR " T " < c.window_end)))"

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs (e.g. "relation exists, skipping") are not errors */
}

static bw_err fail_res(struct pg *p, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(p->c);
    size_t n;

    snprintf(p->err, sizeof(p->err), "%s", msg && *msg ? msg : "postgresql: no result");
    n = strlen(p->err);
    while (n && p->err[n - 1] == '\n')
        p->err[--n] = '\0';
    p->retry = 0;
    if (!state)
        return BW_E_IO;
    if (!strcmp(state, "23505"))
        return BW_E_EXISTS;
    if (!strcmp(state, "23503"))
        return BW_E_NOTFOUND;
    if (!strcmp(state, "40P01") || !strcmp(state, "40001"))
        p->retry = 1;
    return BW_E_IO;
}

/* Runs sql with parameters by fmt ('t' text or NULL, 'i' int64_t). */
static PGresult *vexec(struct pg *p, bw_err *e, const char *sql, const char *fmt, va_list ap)
{
    char nums[MAX_PARAMS][24];
    const char *vals[MAX_PARAMS];
    ExecStatusType st;
    PGresult *r;
    int i;

    for (i = 0; fmt[i]; i++) {
        if (i >= MAX_PARAMS) {
            *e = BW_E_INVAL;
            return NULL;
        }
        if (fmt[i] == 't') {
            vals[i] = va_arg(ap, const char *);
        } else {
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)va_arg(ap, int64_t));
            vals[i] = nums[i];
        }
    }
    r = PQexecParams(p->c, sql, i, NULL, vals, NULL, NULL, 0);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *e = fail_res(p, r);
        PQclear(r);
        return NULL;
    }
    *e = BW_OK;
    return r;
}

static PGresult *ex(struct pg *p, bw_err *e, const char *sql, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;

    va_start(ap, fmt);
    r = vexec(p, e, sql, fmt, ap);
    va_end(ap);
    return r;
}

/* A statement whose rows are not needed; *changes (may be NULL) gets the
 * number of rows it touched. */
static bw_err run(struct pg *p, int64_t *changes, const char *sql, const char *fmt, ...)
{
    PGresult *r;
    va_list ap;
    bw_err e;

    va_start(ap, fmt);
    r = vexec(p, &e, sql, fmt, ap);
    va_end(ap);
    if (!r)
        return e;
    if (changes)
        *changes = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return BW_OK;
}

static int64_t geti(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void gets_(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

/* One integer from the first column of the first row (0 when no row). */
static bw_err count(struct pg *p, int64_t *n, const char *sql, const char *fmt, int64_t a,
                    int64_t b)
{
    PGresult *r;
    bw_err e;

    *n = 0;
    r = ex(p, &e, sql, fmt, a, b);
    if (!r)
        return e;
    if (PQntuples(r) > 0)
        *n = geti(r, 0, 0);
    PQclear(r);
    return BW_OK;
}

static bw_err begin(struct pg *p)
{
    return run(p, NULL, "BEGIN", "");
}

/* Ends a transaction: commit on success, rollback otherwise. */
static bw_err finish(struct pg *p, bw_err e)
{
    PGresult *r;

    if (!e) {
        e = run(p, NULL, "COMMIT", "");
        if (!e)
            return BW_OK;
    }
    if (PQtransactionStatus(p->c) != PQTRANS_IDLE) {
        r = PQexec(p->c, "ROLLBACK");
        PQclear(r);
    }
    return e;
}

static bw_err pg_open(const char *conninfo, void **ctx)
{
    struct pg *p;

    if (!conninfo || !*conninfo || !ctx)
        return BW_E_INVAL;
    *ctx = NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return BW_E_NOMEM;
    p->c = PQconnectdb(conninfo);
    if (!p->c || PQstatus(p->c) != CONNECTION_OK || PQsetClientEncoding(p->c, "UTF8") != 0) {
        PQfinish(p->c); /* the handle, and so its message, is gone: BW_E_IO */
        free(p);
        return BW_E_IO;
    }
    PQsetNoticeProcessor(p->c, quiet, NULL);
    *ctx = p;
    return BW_OK;
}

static void pg_close(void *ctx)
{
    struct pg *p = ctx;

    if (!p)
        return;
    PQfinish(p->c);
    free(p);
}

static const char *pg_error(void *ctx)
{
    struct pg *p = ctx;

    return p ? p->err : "no handle";
}

static bw_err pg_migrate_to(void *ctx, int64_t want)
{
    struct pg *p = ctx;
    PGresult *r;
    int64_t v;
    bw_err e;

    e = begin(p);
    if (e)
        return e;
    /* concurrent migrations wait here, then find the work done */
    e = run(p, NULL, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", "");
    if (!e)
        e = run(p, NULL, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                "");
    if (!e)
        e = count(p, &v, "SELECT coalesce(max(version), 0) FROM schema_version", "", 0, 0);
    if (e)
        goto out;
    if (want < 1 || want > SCHEMA_VERSION) {
        e = BW_E_INVAL;
        goto out;
    }
    if (v > SCHEMA_VERSION) {
        snprintf(p->err, sizeof(p->err), "schema version %lld is newer than this gateway (%lld)",
                 (long long)v, (long long)SCHEMA_VERSION);
        e = BW_E_UNSUPPORTED;
        goto out;
    }
    for (; v < want; v++) {
        r = PQexec(p->c, migrations[v]); /* several statements: no parameters */
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            e = fail_res(p, r);
            PQclear(r);
            goto out;
        }
        PQclear(r);
        e = run(p, NULL, "INSERT INTO schema_version (version) VALUES ($1)", "i", v + 1);
        if (e)
            goto out;
    }
out:
    return finish(p, e);
}

static bw_err pg_migrate(void *ctx)
{
    return pg_migrate_to(ctx, SCHEMA_VERSION);
}

/* ---- devices ------------------------------------------------------------ */

static void read_device(const PGresult *r, int i, struct gw_device *d)
{
    memset(d, 0, sizeof(*d));
    gets_(r, i, 0, d->id, sizeof(d->id));
    gets_(r, i, 1, d->fingerprint, sizeof(d->fingerprint));
    gets_(r, i, 2, d->serial, sizeof(d->serial));
    gets_(r, i, 3, d->pubkey, sizeof(d->pubkey));
    d->status = (enum gw_device_status)geti(r, i, 4);
    gets_(r, i, 5, d->attrs, sizeof(d->attrs));
    gets_(r, i, 6, d->version, sizeof(d->version));
    d->sequence = geti(r, i, 7);
    d->last_seen = geti(r, i, 8);
    d->created = geti(r, i, 9);
    d->has_work = PQnfields(r) > 10 ? geti(r, i, 10) != 0 : 1;
}

static bw_err pg_device_add(void *ctx, const struct gw_device *d)
{
    struct pg *p = ctx;
    bw_err e;

    e = gw__db_check_device(d);
    if (e)
        return e;
    return run(p, NULL,
               "INSERT INTO devices (" DEV_COLS ")"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
               "ttttittiii", d->id, d->fingerprint, d->serial, d->pubkey, (int64_t)d->status,
               d->attrs[0] ? d->attrs : "{}", d->version, d->sequence, d->last_seen, d->created);
}

static bw_err device_one(struct pg *p, const char *sql, const char *key, struct gw_device *out)
{
    PGresult *r;
    bw_err e;

    if (!key || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(key))
        return BW_E_NOTFOUND; /* could not have been stored */
    r = ex(p, &e, sql, "t", key);
    if (!r)
        return e;
    e = BW_E_NOTFOUND;
    if (PQntuples(r) == 1) {
        read_device(r, 0, out);
        e = BW_OK;
    }
    PQclear(r);
    return e;
}

static bw_err pg_device_get(void *ctx, const char *id, struct gw_device *out)
{
    return device_one(ctx, "SELECT " DEV_COLS " FROM devices WHERE id = $1", id, out);
}

static bw_err pg_device_by_fingerprint(void *ctx, const char *fpr, struct gw_device *out)
{
    return device_one(ctx,
                      "SELECT " DEV_COLS ", " GW_SQL_HAS_WORK("devices.id")
                      "::int FROM devices WHERE fingerprint = $1",
                      fpr, out);
}

static bw_err pg_device_set_status(void *ctx, const char *id, enum gw_device_status st)
{
    struct pg *p = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id || (unsigned)st > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(p, &n, "UPDATE devices SET status = $1 WHERE id = $2", "it", (int64_t)st, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err pg_device_checkin(void *ctx, const char *id, const char *version, int64_t sequence,
                                const char *attrs, int64_t now)
{
    struct pg *p = ctx;
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
    e = run(p, &n,
            "UPDATE devices SET version = coalesce($1, version), sequence = $2,"
            " attrs = coalesce($3, attrs), last_seen = $4 WHERE id = $5",
            "titit", version, sequence, attrs, now, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err pg_device_list(void *ctx, const char *filter, int status, int64_t offset,
                             int64_t limit, void (*fn)(void *arg, const struct gw_device *d),
                             void *arg)
{
    struct pg *p = ctx;
    struct gw_device *d;
    char lim[24];
    PGresult *r;
    bw_err e;
    int i;

    if (!fn || offset < 0 || status > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (filter) {
        e = gw__db_check_json(filter, 1);
        if (e)
            return e;
    }
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    r = ex(p, &e,
           "SELECT " DEV_COLS " FROM devices d WHERE " MATCH("$1")
           " AND ($4::bigint < 0 OR status = $4::bigint)"
           " ORDER BY id LIMIT $2::bigint OFFSET $3::bigint",
           "ttii", filter, limit < 0 ? NULL : lim, offset, (int64_t)(status < 0 ? -1 : status));
    if (!r)
        return e;
    d = malloc(sizeof(*d));
    if (!d) {
        PQclear(r);
        return BW_E_NOMEM;
    }
    for (i = 0; i < PQntuples(r); i++) {
        read_device(r, i, d);
        fn(arg, d);
    }
    free(d);
    PQclear(r);
    return BW_OK;
}

/* The device's lock (the one action_next takes) first, so a delete and
 * an offer to the same device do not interleave. */
static bw_err pg_device_delete(void *ctx, const char *id)
{
    struct pg *p = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = begin(p);
    if (e)
        return e;
    e = run(p, NULL, "SELECT pg_advisory_xact_lock(" DEVICE_LOCK_CLASS ", hashtext($1))", "t",
            id);
    if (!e)
        e = run(p, NULL, "DELETE FROM actions WHERE device_id = $1", "t", id);
    if (!e)
        e = run(p, NULL, "DELETE FROM ddi_targets WHERE device_id = $1", "t", id);
    if (!e)
        e = run(p, &n, "DELETE FROM devices WHERE id = $1", "t", id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return finish(p, e);
}

static bw_err pg_device_rekey(void *ctx, const char *id, const char *fpr,
                              enum gw_device_status st)
{
    struct pg *p = ctx;
    struct gw_device d;
    int64_t n = 0;
    bw_err e;

    if (!id || !fpr || gw__db_check_hex(fpr, 64) || (unsigned)st > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(p, &n,
            "UPDATE devices SET fingerprint = $1, serial = '', pubkey = '', status = $2"
            " WHERE id = $3 AND status IN (0, 2)",
            "tit", fpr, (int64_t)st, id);
    if (!e && n == 0)
        e = pg_device_get(p, id, &d) == BW_OK ? BW_E_STATE : BW_E_NOTFOUND;
    return e;
}

/* One lock for every instance: the count and the insert cannot interleave
 * with another instance's, so the cap holds. */
static bw_err pg_pending_add(void *ctx, const struct gw_device *d, int64_t expire_before,
                             int64_t max)
{
    struct pg *p = ctx;
    int64_t n = 0;
    bw_err e;

    e = gw__db_check_pending(d);
    if (e)
        return e;
    /* a full cap with nothing to expire is refused on a read, without the
     * write lock (an unauthenticated flood ends here) */
    e = count(p, &n, GW_SQL_PENDING_COUNT, "", 0, 0);
    if (!e && n >= max) {
        e = count(p, &n, GW_SQL_PENDING_OLD("$1"), "i", expire_before, 0);
        if (!e && n == 0)
            e = BW_E_QUOTA;
    }
    if (e)
        return e;
    e = begin(p);
    if (e)
        return e;
    e = run(p, NULL, "SELECT pg_advisory_xact_lock(" PENDING_LOCK ")", "");
    if (!e)
        e = run(p, NULL, GW_SQL_PENDING_EXPIRE("$1"), "i", expire_before);
    if (!e)
        e = count(p, &n, GW_SQL_PENDING_COUNT, "", 0, 0);
    if (!e && n >= max)
        e = BW_E_QUOTA;
    if (!e)
        e = pg_device_add(p, d);
    return finish(p, e);
}

/* ---- releases ----------------------------------------------------------- */

static bw_err pg_release_add(void *ctx, struct gw_release *rel)
{
    struct pg *p = ctx;
    PGresult *r;
    bw_err e;

    e = gw__db_check_release(rel);
    if (e)
        return e;
    r = ex(p, &e,
           "INSERT INTO releases (name, digest, size, sequence, vendor_id, class_id,"
           " uploaded_by, created, kind, md5, sha1)"
           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
           "ttiitttittt", rel->name, rel->digest, rel->size, rel->sequence, rel->vendor_id,
           rel->class_id, rel->uploaded_by, rel->created, rel->kind, rel->md5, rel->sha1);
    if (!r)
        return e;
    rel->id = geti(r, 0, 0);
    PQclear(r);
    return BW_OK;
}

/* row i of REL_COLS */
static void read_release(const PGresult *r, int i, struct gw_release *out)
{
    memset(out, 0, sizeof(*out));
    out->id = geti(r, i, 0);
    gets_(r, i, 1, out->name, sizeof(out->name));
    gets_(r, i, 2, out->digest, sizeof(out->digest));
    out->size = geti(r, i, 3);
    out->sequence = geti(r, i, 4);
    gets_(r, i, 5, out->vendor_id, sizeof(out->vendor_id));
    gets_(r, i, 6, out->class_id, sizeof(out->class_id));
    gets_(r, i, 7, out->uploaded_by, sizeof(out->uploaded_by));
    out->created = geti(r, i, 8);
    gets_(r, i, 9, out->kind, sizeof(out->kind));
    gets_(r, i, 10, out->md5, sizeof(out->md5));
    gets_(r, i, 11, out->sha1, sizeof(out->sha1));
}

static bw_err release_one(struct pg *p, PGresult *r, bw_err e, struct gw_release *out)
{
    if (!r)
        return e;
    e = BW_E_NOTFOUND;
    if (PQntuples(r) == 1) {
        read_release(r, 0, out);
        e = BW_OK;
    }
    (void)p;
    PQclear(r);
    return e;
}

static bw_err pg_release_get(void *ctx, int64_t id, struct gw_release *out)
{
    struct pg *p = ctx;
    PGresult *r;
    bw_err e;

    if (!out)
        return BW_E_INVAL;
    r = ex(p, &e, "SELECT " REL_COLS " FROM releases WHERE id = $1", "i", id);
    return release_one(p, r, e, out);
}

static bw_err pg_release_by_digest(void *ctx, const char *digest, struct gw_release *out)
{
    struct pg *p = ctx;
    PGresult *r;
    bw_err e;

    if (!digest || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(digest))
        return BW_E_NOTFOUND;
    r = ex(p, &e, "SELECT " REL_COLS " FROM releases WHERE digest = $1", "t", digest);
    return release_one(p, r, e, out);
}

static bw_err pg_release_list(void *ctx, int64_t offset, int64_t limit,
                              void (*fn)(void *arg, const struct gw_release *r), void *arg)
{
    struct pg *p = ctx;
    struct gw_release rel;
    char lim[24];
    PGresult *r;
    bw_err e;
    int i;

    if (!fn || offset < 0)
        return BW_E_INVAL;
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    r = ex(p, &e,
           "SELECT " REL_COLS " FROM releases ORDER BY id DESC LIMIT $1::bigint OFFSET $2::bigint",
           "ti", limit < 0 ? NULL : lim, offset);
    if (!r)
        return e;
    for (i = 0; i < PQntuples(r); i++) {
        read_release(r, i, &rel);
        fn(arg, &rel);
    }
    PQclear(r);
    return BW_OK;
}

/* ---- hawkBit DDI ----------------------------------------------------------- */

static bw_err pg_ddi_get(void *ctx, const char *id, struct gw_ddi_target *out)
{
    struct pg *p = ctx;
    PGresult *r;
    bw_err e;

    if (!id || !out)
        return BW_E_INVAL;
    memset(out, 0, sizeof(*out));
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    r = ex(p, &e,
           "SELECT coalesce(t.token, ''), coalesce(t.attrs_received, 0),"
           " (SELECT coalesce(max(a.id), 0) FROM actions a WHERE a.device_id = d.id"
           " AND a.state = 5 AND a.id > coalesce(t.cancel_ack, 0))"
           " FROM devices d LEFT JOIN ddi_targets t ON t.device_id = d.id WHERE d.id = $1",
           "t", id);
    if (!r)
        return e;
    e = BW_E_NOTFOUND;
    if (PQntuples(r) == 1) {
        gets_(r, 0, 0, out->token, sizeof(out->token));
        out->attrs_received = geti(r, 0, 1) != 0;
        out->cancel_pending = geti(r, 0, 2);
        e = BW_OK;
    }
    PQclear(r);
    return e;
}

static bw_err pg_ddi_set_token(void *ctx, const char *id, const char *hash)
{
    struct pg *p = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id || !hash || (hash[0] && gw__db_check_hex(hash, 64)))
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(p, &n,
            "INSERT INTO ddi_targets (device_id, token) SELECT id, $1 FROM devices WHERE id = $2"
            " ON CONFLICT (device_id) DO UPDATE SET token = excluded.token",
            "tt", hash, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err pg_ddi_set_attrs(void *ctx, const char *id, const char *attrs)
{
    struct pg *p = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    e = gw__db_check_json(attrs, 0);
    if (e)
        return e;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    /* one statement: the device's attributes and its DDI row together */
    e = run(p, &n,
            "WITH d AS (UPDATE devices SET attrs = $1 WHERE id = $2 RETURNING id)"
            " INSERT INTO ddi_targets (device_id, attrs_received) SELECT id, 1 FROM d"
            " ON CONFLICT (device_id) DO UPDATE SET attrs_received = 1",
            "tt", attrs, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err pg_ddi_cancel_ack(void *ctx, const char *id, int64_t action_id)
{
    struct pg *p = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(id))
        return BW_E_NOTFOUND;
    e = run(p, &n,
            "INSERT INTO ddi_targets (device_id, cancel_ack)"
            " SELECT device_id, id FROM actions WHERE id = $1 AND device_id = $2 AND state = 5"
            " ON CONFLICT (device_id) DO UPDATE SET"
            " cancel_ack = greatest(ddi_targets.cancel_ack, excluded.cancel_ack)",
            "it", action_id, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

/* ---- campaigns ---------------------------------------------------------- */

/*
 * Method: called with the campaign row locked (FOR UPDATE), so two reports
 * on one campaign count in turn and neither misses the other's result.
 * Release batches while the current one has reached its success threshold;
 * a running campaign with every batch released and nothing pending is
 * DONE; otherwise, if allowed, a running campaign whose failures exceed the
 * error threshold of the released actions is PAUSED.
 */
static bw_err settle(struct pg *p, int64_t cid, int allow_pause)
{
    int64_t state, spct, epct, cb, batches, total, good, pending, bad, released;
    PGresult *r;
    bw_err e;

    r = ex(p, &e,
           "SELECT state, success_pct, error_pct, current_batch, batches FROM campaigns"
           " WHERE id = $1",
           "i", cid);
    if (!r)
        return e;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return BW_E_NOTFOUND;
    }
    state = geti(r, 0, 0);
    spct = geti(r, 0, 1);
    epct = geti(r, 0, 2);
    cb = geti(r, 0, 3);
    batches = geti(r, 0, 4);
    PQclear(r);
    if (state != GW_CAMP_RUNNING && state != GW_CAMP_PAUSED)
        return BW_OK;
    while (cb < batches) {
        e = count(p, &total,
                  "SELECT count(*) FROM actions WHERE campaign_id = $1 AND batch = $2", "ii", cid,
                  cb);
        if (!e)
            e = count(p, &good,
                      "SELECT count(*) FROM actions WHERE campaign_id = $1 AND batch = $2"
                      " AND state = 3",
                      "ii", cid, cb);
        if (e)
            return e;
        if (good * 100 < spct * total)
            break;
        cb++;
    }
    e = count(p, &pending,
              "SELECT count(*) FROM actions WHERE campaign_id = $1 AND state IN (0, 1, 2)", "i",
              cid, 0);
    if (e)
        return e;
    if (state == GW_CAMP_RUNNING && cb >= batches && pending == 0) {
        state = GW_CAMP_DONE;
    } else if (state == GW_CAMP_RUNNING && allow_pause) {
        e = count(p, &bad,
                  "SELECT count(*) FROM actions WHERE campaign_id = $1 AND batch <= $2"
                  " AND state = 4",
                  "ii", cid, cb);
        if (!e)
            e = count(p, &released,
                      "SELECT count(*) FROM actions WHERE campaign_id = $1 AND batch <= $2", "ii",
                      cid, cb);
        if (e)
            return e;
        if (bad * 100 > epct * released)
            state = GW_CAMP_PAUSED;
    }
    return run(p, NULL, "UPDATE campaigns SET current_batch = $1, state = $2 WHERE id = $3",
               "iii", cb, state, cid);
}

static bw_err campaign_create_once(struct pg *p, struct gw_campaign *c, int64_t now)
{
    const char *filter = c->filter[0] ? c->filter : "{}";
    int64_t n = 0, have;
    PGresult *r;
    bw_err e;

    e = begin(p);
    if (e)
        return e;
    e = count(p, &have, "SELECT count(*) FROM releases WHERE id = $1", "i", c->release_id, 0);
    if (!e && !have)
        e = BW_E_NOTFOUND;
    if (e)
        goto out;
    r = ex(p, &e,
           "INSERT INTO campaigns (name, release_id, filter, type, state, batch_size,"
           " success_pct, error_pct, current_batch, batches, window_start, window_end, created)"
           " VALUES ($1, $2, $3, $4, 0, $5, $6, $7, 0, 0, $8, $9, $10) RETURNING id",
           "titiiiiiii", c->name, c->release_id, filter, (int64_t)c->type,
           (int64_t)c->batch_size, (int64_t)c->success_threshold_pct,
           (int64_t)c->error_threshold_pct, c->window_start, c->window_end, now);
    if (!r)
        goto out;
    c->id = geti(r, 0, 0);
    PQclear(r);
    e = run(p, &n,
            "INSERT INTO actions (campaign_id, device_id, batch, state, updated)"
            " SELECT $1::bigint, d.id, (row_number() OVER (ORDER BY d.id) - 1) / $2::bigint, 0,"
            " $3::bigint FROM devices d WHERE d.status = 1 AND " MATCH("$4") " ORDER BY d.id",
            "iiit", c->id, (int64_t)c->batch_size, now, filter);
    if (e)
        goto out;
    c->state = n ? GW_CAMP_RUNNING : GW_CAMP_DONE;
    c->current_batch = 0;
    c->created = now;
    e = run(p, NULL, "UPDATE campaigns SET batches = $1, state = $2 WHERE id = $3", "iii",
            (n + c->batch_size - 1) / c->batch_size, (int64_t)c->state, c->id);
out:
    return finish(p, e);
}

static bw_err pg_campaign_create(void *ctx, struct gw_campaign *c, int64_t now)
{
    struct pg *p = ctx;
    bw_err e;
    int i;

    e = gw__db_check_campaign(c);
    if (e)
        return e;
    for (i = 0;; i++) {
        e = campaign_create_once(p, c, now);
        if (e != BW_E_IO || !p->retry || i >= MAX_TRIES)
            return e;
    }
}

/* row i of CAMP_COLS */
static void read_campaign(const PGresult *r, int i, struct gw_campaign *out)
{
    memset(out, 0, sizeof(*out));
    out->id = geti(r, i, 0);
    gets_(r, i, 1, out->name, sizeof(out->name));
    out->release_id = geti(r, i, 2);
    gets_(r, i, 3, out->filter, sizeof(out->filter));
    out->type = (enum gw_action_type)geti(r, i, 4);
    out->state = (enum gw_campaign_state)geti(r, i, 5);
    out->batch_size = (int)geti(r, i, 6);
    out->success_threshold_pct = (int)geti(r, i, 7);
    out->error_threshold_pct = (int)geti(r, i, 8);
    out->current_batch = (int)geti(r, i, 9);
    out->window_start = geti(r, i, 10);
    out->window_end = geti(r, i, 11);
    out->created = geti(r, i, 12);
}

static bw_err pg_campaign_list(void *ctx, int64_t offset, int64_t limit,
                               void (*fn)(void *arg, const struct gw_campaign *c,
                                          const struct gw_counts *k),
                               void *arg)
{
    struct pg *p = ctx;
    struct gw_campaign *c;
    struct gw_counts k;
    char lim[24];
    PGresult *r;
    bw_err e;
    int i, j;

    if (!fn || offset < 0)
        return BW_E_INVAL;
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    r = ex(p, &e,
           "SELECT " CAMP_COLS ", " GW_SQL_COUNT_COLS " FROM campaigns LEFT JOIN "
           GW_SQL_CAMPAIGN_COUNTS " ON k.campaign_id = campaigns.id"
           " ORDER BY id DESC LIMIT $1::bigint OFFSET $2::bigint",
           "ti", limit < 0 ? NULL : lim, offset);
    if (!r)
        return e;
    c = malloc(sizeof(*c));
    if (!c) {
        PQclear(r);
        return BW_E_NOMEM;
    }
    for (i = 0; i < PQntuples(r); i++) {
        read_campaign(r, i, c);
        for (j = 0; j < 6; j++)
            k.n[j] = geti(r, i, 13 + j);
        fn(arg, c, &k);
    }
    free(c);
    PQclear(r);
    return BW_OK;
}

static bw_err pg_campaign_get(void *ctx, int64_t id, struct gw_campaign *out,
                              struct gw_counts *counts)
{
    struct pg *p = ctx;
    PGresult *r;
    int64_t k;
    bw_err e;
    int i;

    if (!out)
        return BW_E_INVAL;
    /* one snapshot: the campaign and its counts agree */
    e = run(p, NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "");
    if (e)
        return e;
    r = ex(p, &e, "SELECT " CAMP_COLS " FROM campaigns WHERE id = $1", "i", id);
    if (!r)
        goto out;
    if (PQntuples(r) != 1) {
        e = BW_E_NOTFOUND;
    } else {
        read_campaign(r, 0, out);
    }
    PQclear(r);
    if (e || !counts)
        goto out;
    memset(counts, 0, sizeof(*counts));
    r = ex(p, &e, "SELECT state, count(*) FROM actions WHERE campaign_id = $1 GROUP BY state",
           "i", id);
    if (!r)
        goto out;
    for (i = 0; i < PQntuples(r); i++) {
        k = geti(r, i, 0);
        if (k >= 0 && k < 6)
            counts->n[k] = geti(r, i, 1);
    }
    PQclear(r);
out:
    return finish(p, e);
}

static bw_err set_state_once(struct pg *p, int64_t id, enum gw_campaign_state to)
{
    PGresult *r;
    int64_t from = -1;
    bw_err e;

    e = begin(p);
    if (e)
        return e;
    r = ex(p, &e, "SELECT state FROM campaigns WHERE id = $1 FOR UPDATE", "i", id);
    if (!r)
        goto out;
    if (PQntuples(r) == 1)
        from = geti(r, 0, 0);
    else
        e = BW_E_NOTFOUND;
    PQclear(r);
    if (!e)
        e = gw__db_campaign_transition((enum gw_campaign_state)from, to);
    if (e || from == (int64_t)to)
        goto out;
    e = run(p, NULL, "UPDATE campaigns SET state = $1 WHERE id = $2", "ii", (int64_t)to, id);
    if (e)
        goto out;
    if (to == GW_CAMP_CANCELLED)
        e = run(p, NULL,
                "UPDATE actions SET state = 5 WHERE campaign_id = $1 AND state IN (0, 1)", "i",
                id);
    else if (to == GW_CAMP_RUNNING)
        e = settle(p, id, 0);
out:
    return finish(p, e);
}

static bw_err pg_campaign_set_state(void *ctx, int64_t id, enum gw_campaign_state to)
{
    struct pg *p = ctx;
    bw_err e;
    int i;

    e = gw__db_campaign_transition(GW_CAMP_RUNNING, to);
    if (e)
        return e;
    for (i = 0;; i++) {
        e = set_state_once(p, id, to);
        if (e != BW_E_IO || !p->retry || i >= MAX_TRIES)
            return e;
    }
}

/* ---- actions ------------------------------------------------------------ */

/* row i of ACT_COLS */
static void read_action(const PGresult *r, int i, struct gw_action *a)
{
    memset(a, 0, sizeof(*a));
    a->id = geti(r, i, 0);
    a->campaign_id = geti(r, i, 1);
    a->release_id = geti(r, i, 2);
    gets_(r, i, 3, a->device_id, sizeof(a->device_id));
    a->batch = (int)geti(r, i, 4);
    a->type = (enum gw_action_type)geti(r, i, 5);
    a->state = (enum gw_action_state)geti(r, i, 6);
    a->updated = geti(r, i, 7);
}

/* Runs an action query; BW_OK with *found, *out filled when a row came. */
static bw_err action_row(struct pg *p, PGresult *r, bw_err e, struct gw_action *out, int *found)
{
    *found = 0;
    if (!r)
        return e;
    if (PQntuples(r) > 0) {
        read_action(r, 0, out);
        *found = 1;
    }
    (void)p;
    PQclear(r);
    return BW_OK;
}

/*
 * Method: a transaction-scoped advisory lock per device serializes
 * action_next for one device across all gateway processes, so the check
 * "has it an open action?" and the offer of a new one cannot interleave
 * (READ COMMITTED: each statement after the lock sees what the previous
 * holder committed). The offer itself is a conditional UPDATE of a row
 * picked with FOR UPDATE SKIP LOCKED, so it succeeds at most once.
 */
static bw_err next_once(struct pg *p, const char *dev, int64_t now, struct gw_action *out)
{
    int64_t tod = gw__db_time_of_day(now);
    PGresult *r;
    int found;
    bw_err e;

    e = begin(p);
    if (e)
        return e;
    e = run(p, NULL, "SELECT pg_advisory_xact_lock(" DEVICE_LOCK_CLASS ", hashtext($1))", "t",
            dev);
    if (e)
        goto out;
    r = ex(p, &e,
           "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
           " WHERE a.device_id = $1 AND a.state IN (1, 2) ORDER BY a.id LIMIT 1",
           "t", dev);
    e = action_row(p, r, e, out, &found);
    if (e || found)
        goto out;
    r = ex(p, &e,
           "UPDATE actions a SET state = 1, updated = $2 FROM campaigns c"
           " WHERE c.id = a.campaign_id AND a.state = 0 AND a.id = ("
           "  SELECT a.id FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
           "  WHERE a.device_id = $1 AND a.state = 0 AND c.state = 0"
           "  AND a.batch <= c.current_batch AND " IN_WINDOW("$3::bigint")
           "  ORDER BY a.id LIMIT 1 FOR UPDATE OF a SKIP LOCKED)"
           " RETURNING " ACT_COLS,
           "tii", dev, now, tod);
    e = action_row(p, r, e, out, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
out:
    if (e == BW_E_NOTFOUND) { /* nothing changed: end the transaction normally */
        e = finish(p, BW_OK);
        return e ? e : BW_E_NOTFOUND;
    }
    return finish(p, e);
}

static bw_err pg_action_next(void *ctx, const char *device_id, int64_t now,
                             struct gw_action *out)
{
    struct pg *p = ctx;
    bw_err e;
    int i;

    if (!device_id || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(device_id))
        return BW_E_NOTFOUND;
    for (i = 0;; i++) {
        e = next_once(p, device_id, now, out);
        if (e != BW_E_IO || !p->retry || i >= MAX_TRIES)
            return e;
    }
}

static bw_err report_once(struct pg *p, const char *dev, int64_t id, enum gw_action_state to,
                          const char *feedback, int64_t now)
{
    struct gw_action a;
    PGresult *r;
    int64_t cid = 0;
    int found;
    bw_err e;

    e = begin(p);
    if (e)
        return e;
    r = ex(p, &e, "SELECT campaign_id FROM actions WHERE id = $1 AND device_id = $2", "it", id,
           dev);
    if (!r)
        goto out;
    if (PQntuples(r) == 1)
        cid = geti(r, 0, 0);
    else
        e = BW_E_NOTFOUND;
    PQclear(r);
    if (e)
        goto out;
    /* lock order everywhere: campaign, then its actions */
    e = run(p, NULL, "SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", "i", cid);
    if (e)
        goto out;
    r = ex(p, &e,
           "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
           " WHERE a.id = $1 FOR UPDATE OF a",
           "i", id);
    e = action_row(p, r, e, &a, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
    if (!e)
        e = gw__db_report_transition(a.state, to);
    if (!e)
        e = run(p, NULL, "UPDATE actions SET state = $1, feedback = $2, updated = $3 WHERE id = $4",
                "itii", (int64_t)to, feedback ? feedback : "", now, id);
    if (!e && to != GW_ACTION_RUNNING)
        e = settle(p, cid, to == GW_ACTION_FAILURE);
out:
    return finish(p, e);
}

static bw_err pg_action_report(void *ctx, const char *device_id, int64_t action_id,
                               enum gw_action_state to, const char *feedback, int64_t now)
{
    struct pg *p = ctx;
    bw_err e;
    int i;

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
    for (i = 0;; i++) {
        e = report_once(p, device_id, action_id, to, feedback, now);
        if (e != BW_E_IO || !p->retry || i >= MAX_TRIES)
            return e;
    }
}

/* One action of device dev picked by sql ($1 the device, $2 id when the
 * SQL names it): BW_E_NOTFOUND if none. */
static bw_err action_one(struct pg *p, const char *sql, const char *dev, int64_t id,
                         struct gw_action *out)
{
    PGresult *r;
    int found;
    bw_err e;

    if (!dev || !out)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(dev))
        return BW_E_NOTFOUND;
    r = ex(p, &e, sql, strstr(sql, "$2") ? "ti" : "t", dev, id);
    e = action_row(p, r, e, out, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err pg_action_get(void *ctx, const char *device_id, int64_t action_id,
                            struct gw_action *out)
{
    return action_one(ctx,
                      "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
                      " WHERE a.device_id = $1 AND a.id = $2",
                      device_id, action_id, out);
}

static bw_err pg_action_list(void *ctx, const char *device_id, int64_t offset, int64_t limit,
                             void (*fn)(void *arg, const struct gw_action *a,
                                        const char *feedback),
                             void *arg)
{
    struct pg *p = ctx;
    struct gw_action a;
    char lim[24];
    PGresult *r;
    bw_err e;
    int i;

    if (!device_id || !fn || offset < 0)
        return BW_E_INVAL;
    if (!gw__db_utf8_ok(device_id))
        return BW_OK; /* no such device: no actions */
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    r = ex(p, &e,
           "SELECT " ACT_COLS ", a.feedback FROM actions a JOIN campaigns c"
           " ON c.id = a.campaign_id WHERE a.device_id = $1 ORDER BY a.id DESC"
           " LIMIT $2::bigint OFFSET $3::bigint",
           "tti", device_id, limit < 0 ? NULL : lim, offset);
    if (!r)
        return e;
    for (i = 0; i < PQntuples(r); i++) {
        read_action(r, i, &a);
        fn(arg, &a, PQgetvalue(r, i, 8));
    }
    PQclear(r);
    return BW_OK;
}

static bw_err pg_action_installed(void *ctx, const char *device_id, struct gw_action *out)
{
    return action_one(ctx,
                      "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
                      " WHERE a.device_id = $1 AND a.state = 3 ORDER BY a.id DESC LIMIT 1",
                      device_id, 0, out);
}

/* ---- audit -------------------------------------------------------------- */

static bw_err pg_audit_add(void *ctx, int64_t now, const char *actor, const char *action,
                           const char *object, const char *detail)
{
    struct pg *p = ctx;
    bw_err e;

    e = gw__db_check_audit(actor, action, object, detail);
    if (e)
        return e;
    return run(p, NULL,
               "INSERT INTO audit (time, actor, action, object, detail)"
               " VALUES ($1, $2, $3, $4, $5)",
               "itttt", now, actor, action, object, detail ? detail : "");
}

/* audit rows by sql to fn: the limit (or NULL for none) is $1, or $2 after
 * a when the SQL names $2 */
static bw_err audit_rows(struct pg *p, const char *sql, int64_t a, int64_t limit,
                         void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                    const char *action, const char *object, const char *detail),
                         void *arg)
{
    char lim[24];
    PGresult *r;
    bw_err e;
    int i;

    if (!fn)
        return BW_E_INVAL;
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    if (strstr(sql, "$2"))
        r = ex(p, &e, sql, "it", a, limit < 0 ? NULL : lim);
    else
        r = ex(p, &e, sql, "t", limit < 0 ? NULL : lim);
    if (!r)
        return e;
    for (i = 0; i < PQntuples(r); i++)
        fn(arg, geti(r, i, 0), geti(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
           PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
    PQclear(r);
    return BW_OK;
}

static bw_err pg_audit_list(void *ctx, int64_t after_id, int64_t limit,
                            void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                       const char *action, const char *object,
                                       const char *detail),
                            void *arg)
{
    return audit_rows(ctx,
                      "SELECT id, time, actor, action, object, detail FROM audit WHERE id > $1"
                      " ORDER BY id LIMIT $2::bigint",
                      after_id, limit, fn, arg);
}

static bw_err pg_audit_recent(void *ctx, int64_t limit,
                              void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                         const char *action, const char *object,
                                         const char *detail),
                              void *arg)
{
    return audit_rows(ctx,
                      "SELECT id, time, actor, action, object, detail FROM audit"
                      " ORDER BY id DESC LIMIT $1::bigint",
                      0, limit, fn, arg);
}

const struct gw_db_ops gw_db_pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .migrate_to = pg_migrate_to,
    .error = pg_error,
    .device_add = pg_device_add,
    .device_get = pg_device_get,
    .device_by_fingerprint = pg_device_by_fingerprint,
    .device_set_status = pg_device_set_status,
    .device_checkin = pg_device_checkin,
    .device_list = pg_device_list,
    .device_delete = pg_device_delete,
    .device_rekey = pg_device_rekey,
    .pending_add = pg_pending_add,
    .release_add = pg_release_add,
    .release_get = pg_release_get,
    .release_by_digest = pg_release_by_digest,
    .release_list = pg_release_list,
    .campaign_list = pg_campaign_list,
    .action_list = pg_action_list,
    .campaign_create = pg_campaign_create,
    .campaign_get = pg_campaign_get,
    .campaign_set_state = pg_campaign_set_state,
    .action_next = pg_action_next,
    .action_report = pg_action_report,
    .action_get = pg_action_get,
    .action_installed = pg_action_installed,
    .ddi_get = pg_ddi_get,
    .ddi_set_token = pg_ddi_set_token,
    .ddi_set_attrs = pg_ddi_set_attrs,
    .ddi_cancel_ack = pg_ddi_cancel_ack,
    .audit_add = pg_audit_add,
    .audit_list = pg_audit_list,
    .audit_recent = pg_audit_recent,
};
