/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry on SQLite: the embedded default for one gateway process (or
 * a few on one host). WAL mode, a busy timeout, foreign keys on; every
 * change of more than one statement runs in BEGIN IMMEDIATE, so writers are
 * serialized by SQLite's write lock and an action is offered exactly once.
 * Not for several hosts: that is db_pg.c.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"

#define BUSY_TIMEOUT_MS 30000
#define STMT_CACHE 48

/* A prepared statement kept for reuse: parsing the SQL cost more than
 * running it on every poll. */
struct cached {
    const char *sql; /* the caller's text (a literal), compared by content */
    sqlite3_stmt *st;
    int busy;        /* handed out and not yet done() */
};

struct sq {
    sqlite3 *db;
    char err[256];
    struct cached cache[STMT_CACHE];
    size_t ncache;
};

/* Schema versions, applied in order by migrate; only ever appended. */
static const char *const migrations[] = {
    /* 1: the registry */
    "CREATE TABLE devices ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " serial TEXT NOT NULL, pubkey TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " attrs TEXT NOT NULL DEFAULT '{}',"
    " version TEXT NOT NULL DEFAULT '',"
    " sequence INTEGER NOT NULL DEFAULT -1,"
    " last_seen INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE releases ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE, digest TEXT NOT NULL UNIQUE,"
    " size INTEGER NOT NULL, sequence INTEGER NOT NULL,"
    " vendor_id TEXT NOT NULL, class_id TEXT NOT NULL, uploaded_by TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE campaigns ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " release_id INTEGER NOT NULL REFERENCES releases(id),"
    " filter TEXT NOT NULL, type INTEGER NOT NULL, state INTEGER NOT NULL,"
    " batch_size INTEGER NOT NULL, success_pct INTEGER NOT NULL, error_pct INTEGER NOT NULL,"
    " current_batch INTEGER NOT NULL, batches INTEGER NOT NULL,"
    " window_start INTEGER NOT NULL, window_end INTEGER NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE actions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    " device_id TEXT NOT NULL REFERENCES devices(id),"
    " batch INTEGER NOT NULL, state INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " feedback TEXT NOT NULL DEFAULT '',"
    " UNIQUE (campaign_id, device_id));"
    "CREATE INDEX actions_device ON actions(device_id, state);"
    "CREATE INDEX actions_campaign ON actions(campaign_id, batch, state);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
    " object TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
    /* 2: hawkBit DDI: release kinds and hashes, DDI state per device */
    "ALTER TABLE releases ADD COLUMN kind TEXT NOT NULL DEFAULT 'bulwark';"
    "ALTER TABLE releases ADD COLUMN md5 TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE releases ADD COLUMN sha1 TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE ddi_targets ("
    " device_id TEXT PRIMARY KEY NOT NULL REFERENCES devices(id),"
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

/* A device's attrs contain every pair of the filter ?F (NULL: all), with
 * string values only; the same rule as db_pg.c's. */
#define MATCH(F)                                                                                   \
    "(" F " IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(" F ") f WHERE NOT EXISTS"            \
    " (SELECT 1 FROM json_each(d.attrs) x WHERE x.key = f.key AND x.type = 'text'"                \
    " AND x.value = f.value)))"

/* The window [start, end) in seconds of day contains ?T; start > end wraps. */
#define IN_WINDOW(T)                                                                               \
    "(c.window_start < 0"                                                                          \
    " OR (c.window_start < c.window_end AND " T " >= c.window_start AND " T " < c.window_end)"    \
    " OR (c.window_start > c.window_end AND (" T " >= c.window_start OR " T " < c.window_end)))"

static bw_err fail(struct sq *s, int rc)
{
    snprintf(s->err, sizeof(s->err), "%s", sqlite3_errmsg(s->db));
    switch (sqlite3_extended_errcode(s->db)) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return BW_E_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return BW_E_NOTFOUND;
    default:
        break;
    }
    (void)rc;
    return BW_E_IO;
}

/* Ends the use of a statement from prepare(): a cached one is reset for
 * its next use, any other finalized. */
static void done(struct sq *s, sqlite3_stmt *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < s->ncache; i++)
        if (s->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->cache[i].busy = 0;
            return;
        }
    sqlite3_finalize(st);
}

/* Finalizes the cached statements, closes the database, frees s. */
static void sq_free(struct sq *s)
{
    size_t i;

    for (i = 0; i < s->ncache; i++)
        sqlite3_finalize(s->cache[i].st);
    sqlite3_close(s->db);
    free(s);
}

/* Method: the cached statement for this text if it is idle; else a new
 * one, cached while there is room (a statement in use, say by an outer
 * loop over its rows, is never handed out twice). */
static int prepare(struct sq *s, const char *sql, sqlite3_stmt **st)
{
    size_t i;
    int rc;

    for (i = 0; i < s->ncache; i++) {
        struct cached *c = &s->cache[i];

        if (!c->busy && (c->sql == sql || !strcmp(c->sql, sql)) &&
            !strcmp(sqlite3_sql(c->st), sql)) {
            c->busy = 1;
            *st = c->st;
            return SQLITE_OK;
        }
    }
    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK && s->ncache < STMT_CACHE) {
        s->cache[s->ncache].sql = sqlite3_sql(*st);
        s->cache[s->ncache].st = *st;
        s->cache[s->ncache++].busy = 1;
    }
    return rc;
}

/* Prepares sql and binds arguments by fmt: 't' text (NULL binds NULL),
 * 'i' int64_t. */
static bw_err prep(struct sq *s, sqlite3_stmt **st, const char *sql, const char *fmt, ...)
{
    va_list ap;
    const char *t;
    int rc, i;

    *st = NULL;
    rc = prepare(s, sql, st);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    va_start(ap, fmt);
    for (i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 't') {
            t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(*st, i + 1, t, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(*st, i + 1);
        } else {
            rc = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        bw_err e = fail(s, rc);
        done(s, *st);
        *st = NULL;
        return e;
    }
    return BW_OK;
}

/* Steps st once: BW_OK with *row set, or an error. */
static bw_err step(struct sq *s, sqlite3_stmt *st, int *row)
{
    int rc = sqlite3_step(st);

    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return BW_OK;
    return fail(s, rc);
}

/* Runs a statement that returns no rows; *changes (may be NULL) gets the
 * number of rows it changed. */
static bw_err run(struct sq *s, int64_t *changes, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    const char *t;
    bw_err e;
    int rc, i, row;

    rc = prepare(s, sql, &st);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    va_start(ap, fmt);
    for (i = 0; fmt[i] && rc == SQLITE_OK; i++) {
        if (fmt[i] == 't') {
            t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i + 1);
        } else {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        e = fail(s, rc);
        goto out;
    }
    do
        e = step(s, st, &row);
    while (!e && row);
    if (!e && changes)
        *changes = sqlite3_changes64(s->db);
out:
    done(s, st);
    return e;
}

/* One integer from a query of one row and one column (0 when no row). */
static bw_err count(struct sq *s, int64_t *n, const char *sql, const char *fmt, int64_t a,
                    int64_t b)
{
    sqlite3_stmt *st;
    bw_err e;
    int row;

    *n = 0;
    e = prep(s, &st, sql, fmt, a, b);
    if (e)
        return e;
    e = step(s, st, &row);
    if (!e && row)
        *n = sqlite3_column_int64(st, 0);
    done(s, st);
    return e;
}

static bw_err begin(struct sq *s)
{
    return run(s, NULL, "BEGIN IMMEDIATE", "");
}

static bw_err commit(struct sq *s)
{
    return run(s, NULL, "COMMIT", "");
}

/* Keeps the message of the error that led here. */
static void rollback(struct sq *s)
{
    char err[sizeof(s->err)];

    if (sqlite3_get_autocommit(s->db))
        return;
    memcpy(err, s->err, sizeof(err));
    (void)run(s, NULL, "ROLLBACK", "");
    memcpy(s->err, err, sizeof(err));
}

/* Ends a transaction begun by begin(): commit on success, else rollback. */
static bw_err finish(struct sq *s, bw_err e)
{
    if (!e)
        e = commit(s);
    if (e)
        rollback(s);
    return e;
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Before SQLite's first use in the process: no memory statistics. They
 * put one process-wide mutex around every allocation, which threads
 * with their own connections then queue on. */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void sq_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static bw_err sq_open(const char *conninfo, void **ctx)
{
    struct sq *s;
    sqlite3_stmt *st = NULL;
    bw_err e = BW_E_IO;
    int rc, row;

    if (!conninfo || !*conninfo || !ctx)
        return BW_E_INVAL;
    pthread_once(&config_once, sq_config);
    *ctx = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return BW_E_NOMEM;
    rc = sqlite3_open_v2(conninfo, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (s->db)
            sqlite3_close(s->db);
        free(s);
        return rc == SQLITE_NOMEM ? BW_E_NOMEM : BW_E_IO;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* journal_mode answers with the mode now in effect: insist on WAL */
    e = prep(s, &st, "PRAGMA journal_mode=WAL", "");
    if (e)
        goto out;
    e = step(s, st, &row);
    if (e)
        goto out;
    e = BW_E_IO;
    if (!row || sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
        snprintf(s->err, sizeof(s->err), "cannot switch %s to WAL mode", conninfo);
        goto out;
    }
    e = run(s, NULL, "PRAGMA foreign_keys=ON", "");
    if (!e)
        e = run(s, NULL, "PRAGMA synchronous=FULL", "");
out:
    done(s, st);
    if (e) {
        sq_free(s);
        return e;
    }
    *ctx = s;
    return BW_OK;
}

static void sq_close(void *ctx)
{
    struct sq *s = ctx;

    if (s)
        sq_free(s);
}

static const char *sq_error(void *ctx)
{
    struct sq *s = ctx;

    return s ? s->err : "no handle";
}

static bw_err sq_migrate_to(void *ctx, int64_t want)
{
    struct sq *s = ctx;
    int64_t v;
    char *msg = NULL;
    bw_err e;

    e = begin(s);
    if (e)
        return e;
    e = run(s, NULL, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "");
    if (!e)
        e = count(s, &v, "SELECT coalesce(max(version), 0) FROM schema_version", "", 0, 0);
    if (e)
        goto out;
    if (want < 1 || want > SCHEMA_VERSION) {
        e = BW_E_INVAL;
        goto out;
    }
    if (v > SCHEMA_VERSION) {
        snprintf(s->err, sizeof(s->err), "schema version %lld is newer than this gateway (%lld)",
                 (long long)v, (long long)SCHEMA_VERSION);
        e = BW_E_UNSUPPORTED;
        goto out;
    }
    for (; v < want; v++) {
        if (sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(s->err, sizeof(s->err), "migration %lld: %s", (long long)v + 1,
                     msg ? msg : "?");
            sqlite3_free(msg);
            e = BW_E_IO;
            goto out;
        }
        e = run(s, NULL, "INSERT INTO schema_version (version) VALUES (?)", "i", v + 1);
        if (e)
            goto out;
    }
out:
    return finish(s, e);
}

static bw_err sq_migrate(void *ctx)
{
    return sq_migrate_to(ctx, SCHEMA_VERSION);
}

/* ---- devices ------------------------------------------------------------ */

static void read_device(sqlite3_stmt *st, struct gw_device *d)
{
    memset(d, 0, sizeof(*d));
    col_text(st, 0, d->id, sizeof(d->id));
    col_text(st, 1, d->fingerprint, sizeof(d->fingerprint));
    col_text(st, 2, d->serial, sizeof(d->serial));
    col_text(st, 3, d->pubkey, sizeof(d->pubkey));
    d->status = (enum gw_device_status)sqlite3_column_int(st, 4);
    col_text(st, 5, d->attrs, sizeof(d->attrs));
    col_text(st, 6, d->version, sizeof(d->version));
    d->sequence = sqlite3_column_int64(st, 7);
    d->last_seen = sqlite3_column_int64(st, 8);
    d->created = sqlite3_column_int64(st, 9);
    d->has_work = sqlite3_column_count(st) > 10 ? sqlite3_column_int(st, 10) != 0 : 1;
}

static bw_err sq_device_add(void *ctx, const struct gw_device *d)
{
    struct sq *s = ctx;
    bw_err e;

    e = gw__db_check_device(d);
    if (e)
        return e;
    return run(s, NULL,
               "INSERT INTO devices (" DEV_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               "ttttittiii", d->id, d->fingerprint, d->serial, d->pubkey, (int64_t)d->status,
               d->attrs[0] ? d->attrs : "{}", d->version, d->sequence, d->last_seen, d->created);
}

static bw_err device_one(struct sq *s, const char *sql, const char *key, struct gw_device *out)
{
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!key || !out)
        return BW_E_INVAL;
    e = prep(s, &st, sql, "t", key);
    if (e)
        return e;
    e = step(s, st, &row);
    if (!e && !row)
        e = BW_E_NOTFOUND;
    if (!e)
        read_device(st, out);
    done(s, st);
    return e;
}

static bw_err sq_device_get(void *ctx, const char *id, struct gw_device *out)
{
    return device_one(ctx, "SELECT " DEV_COLS " FROM devices WHERE id = ?", id, out);
}

static bw_err sq_device_by_fingerprint(void *ctx, const char *fpr, struct gw_device *out)
{
    return device_one(ctx,
                      "SELECT " DEV_COLS ", " GW_SQL_HAS_WORK("devices.id")
                      " FROM devices WHERE fingerprint = ?",
                      fpr, out);
}

static bw_err sq_device_set_status(void *ctx, const char *id, enum gw_device_status st)
{
    struct sq *s = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id || (unsigned)st > GW_DEV_REVOKED)
        return BW_E_INVAL;
    e = run(s, &n, "UPDATE devices SET status = ? WHERE id = ?", "it", (int64_t)st, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err sq_device_checkin(void *ctx, const char *id, const char *version, int64_t sequence,
                                const char *attrs, int64_t now)
{
    struct sq *s = ctx;
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
    e = run(s, &n,
            "UPDATE devices SET version = coalesce(?, version), sequence = ?,"
            " attrs = coalesce(?, attrs), last_seen = ? WHERE id = ?",
            "titit", version, sequence, attrs, now, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err sq_device_list(void *ctx, const char *filter, int status, int64_t offset,
                             int64_t limit, void (*fn)(void *arg, const struct gw_device *d),
                             void *arg)
{
    struct sq *s = ctx;
    struct gw_device *d;
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!fn || offset < 0 || status > GW_DEV_REVOKED)
        return BW_E_INVAL;
    if (filter) {
        e = gw__db_check_json(filter, 1);
        if (e)
            return e;
    }
    d = malloc(sizeof(*d));
    if (!d)
        return BW_E_NOMEM;
    e = prep(s, &st,
             "SELECT " DEV_COLS " FROM devices d WHERE " MATCH("?1")
             " AND (?4 < 0 OR status = ?4) ORDER BY id LIMIT ?2 OFFSET ?3",
             "tiii", filter, limit < 0 ? (int64_t)-1 : limit, offset,
             (int64_t)(status < 0 ? -1 : status));
    if (e)
        goto out;
    while (!(e = step(s, st, &row)) && row) {
        read_device(st, d);
        fn(arg, d);
    }
    done(s, st);
out:
    free(d);
    return e;
}

static bw_err sq_device_delete(void *ctx, const char *id)
{
    struct sq *s = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    e = begin(s);
    if (e)
        return e;
    e = run(s, NULL, "DELETE FROM actions WHERE device_id = ?", "t", id);
    if (!e)
        e = run(s, NULL, "DELETE FROM ddi_targets WHERE device_id = ?", "t", id);
    if (!e)
        e = run(s, &n, "DELETE FROM devices WHERE id = ?", "t", id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return finish(s, e);
}

static bw_err sq_device_rekey(void *ctx, const char *id, const char *fpr,
                              enum gw_device_status st)
{
    struct sq *s = ctx;
    struct gw_device d;
    int64_t n = 0;
    bw_err e;

    if (!id || !fpr || gw__db_check_hex(fpr, 64) || (unsigned)st > GW_DEV_REVOKED)
        return BW_E_INVAL;
    e = run(s, &n,
            "UPDATE devices SET fingerprint = ?, serial = '', pubkey = '', status = ?"
            " WHERE id = ? AND status IN (0, 2)",
            "tit", fpr, (int64_t)st, id);
    if (!e && n == 0)
        e = sq_device_get(s, id, &d) == BW_OK ? BW_E_STATE : BW_E_NOTFOUND;
    return e;
}

static bw_err sq_pending_add(void *ctx, const struct gw_device *d, int64_t expire_before,
                             int64_t max)
{
    struct sq *s = ctx;
    int64_t n = 0;
    bw_err e;

    e = gw__db_check_pending(d);
    if (e)
        return e;
    /* a full cap with nothing to expire is refused on a read, without the
     * write lock (an unauthenticated flood ends here) */
    e = count(s, &n, GW_SQL_PENDING_COUNT, "", 0, 0);
    if (!e && n >= max) {
        e = count(s, &n, GW_SQL_PENDING_OLD("?"), "i", expire_before, 0);
        if (!e && n == 0)
            e = BW_E_QUOTA;
    }
    if (e)
        return e;
    e = begin(s);
    if (e)
        return e;
    e = run(s, NULL, GW_SQL_PENDING_EXPIRE("?"), "i", expire_before);
    if (!e)
        e = count(s, &n, GW_SQL_PENDING_COUNT, "", 0, 0);
    if (!e && n >= max)
        e = BW_E_QUOTA;
    if (!e)
        e = sq_device_add(s, d);
    return finish(s, e);
}

/* ---- releases ----------------------------------------------------------- */

static bw_err sq_release_add(void *ctx, struct gw_release *r)
{
    struct sq *s = ctx;
    bw_err e;

    e = gw__db_check_release(r);
    if (e)
        return e;
    e = run(s, NULL,
            "INSERT INTO releases (name, digest, size, sequence, vendor_id, class_id,"
            " uploaded_by, created, kind, md5, sha1) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "ttiitttittt", r->name, r->digest, r->size, r->sequence, r->vendor_id, r->class_id,
            r->uploaded_by, r->created, r->kind, r->md5, r->sha1);
    if (!e)
        r->id = sqlite3_last_insert_rowid(s->db);
    return e;
}

/* a row of REL_COLS */
static void read_release(sqlite3_stmt *st, struct gw_release *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, out->name, sizeof(out->name));
    col_text(st, 2, out->digest, sizeof(out->digest));
    out->size = sqlite3_column_int64(st, 3);
    out->sequence = sqlite3_column_int64(st, 4);
    col_text(st, 5, out->vendor_id, sizeof(out->vendor_id));
    col_text(st, 6, out->class_id, sizeof(out->class_id));
    col_text(st, 7, out->uploaded_by, sizeof(out->uploaded_by));
    out->created = sqlite3_column_int64(st, 8);
    col_text(st, 9, out->kind, sizeof(out->kind));
    col_text(st, 10, out->md5, sizeof(out->md5));
    col_text(st, 11, out->sha1, sizeof(out->sha1));
}

static bw_err release_one(struct sq *s, const char *sql, const char *fmt, const char *key,
                          int64_t id, struct gw_release *out)
{
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!out)
        return BW_E_INVAL;
    e = fmt[0] == 't' ? prep(s, &st, sql, fmt, key) : prep(s, &st, sql, fmt, id);
    if (e)
        return e;
    e = step(s, st, &row);
    if (!e && !row)
        e = BW_E_NOTFOUND;
    if (!e)
        read_release(st, out);
    done(s, st);
    return e;
}

static bw_err sq_release_get(void *ctx, int64_t id, struct gw_release *out)
{
    return release_one(ctx, "SELECT " REL_COLS " FROM releases WHERE id = ?", "i", NULL, id, out);
}

static bw_err sq_release_by_digest(void *ctx, const char *digest, struct gw_release *out)
{
    if (!digest)
        return BW_E_INVAL;
    return release_one(ctx, "SELECT " REL_COLS " FROM releases WHERE digest = ?", "t", digest, 0,
                       out);
}

static bw_err sq_release_list(void *ctx, int64_t offset, int64_t limit,
                              void (*fn)(void *arg, const struct gw_release *r), void *arg)
{
    struct sq *s = ctx;
    struct gw_release rel;
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!fn || offset < 0)
        return BW_E_INVAL;
    e = prep(s, &st, "SELECT " REL_COLS " FROM releases ORDER BY id DESC LIMIT ? OFFSET ?", "ii",
             limit < 0 ? (int64_t)-1 : limit, offset);
    if (e)
        return e;
    while (!(e = step(s, st, &row)) && row) {
        read_release(st, &rel);
        fn(arg, &rel);
    }
    done(s, st);
    return e;
}

/* ---- hawkBit DDI ----------------------------------------------------------- */

static bw_err sq_ddi_get(void *ctx, const char *id, struct gw_ddi_target *out)
{
    struct sq *s = ctx;
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!id || !out)
        return BW_E_INVAL;
    memset(out, 0, sizeof(*out));
    e = prep(s, &st,
             "SELECT t.token, t.attrs_received,"
             " (SELECT coalesce(max(a.id), 0) FROM actions a WHERE a.device_id = d.id"
             " AND a.state = 5 AND a.id > coalesce(t.cancel_ack, 0))"
             " FROM devices d LEFT JOIN ddi_targets t ON t.device_id = d.id WHERE d.id = ?",
             "t", id);
    if (e)
        return e;
    e = step(s, st, &row);
    if (!e && !row)
        e = BW_E_NOTFOUND;
    if (!e) {
        col_text(st, 0, out->token, sizeof(out->token));
        out->attrs_received = sqlite3_column_int(st, 1) != 0;
        out->cancel_pending = sqlite3_column_int64(st, 2);
    }
    done(s, st);
    return e;
}

static bw_err sq_ddi_set_token(void *ctx, const char *id, const char *hash)
{
    struct sq *s = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id || !hash || (hash[0] && gw__db_check_hex(hash, 64)))
        return BW_E_INVAL;
    e = run(s, &n,
            "INSERT INTO ddi_targets (device_id, token) SELECT id, ? FROM devices WHERE id = ?"
            " ON CONFLICT (device_id) DO UPDATE SET token = excluded.token",
            "tt", hash, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err sq_ddi_set_attrs(void *ctx, const char *id, const char *attrs)
{
    struct sq *s = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    e = gw__db_check_json(attrs, 0);
    if (e)
        return e;
    e = begin(s);
    if (e)
        return e;
    e = run(s, &n, "UPDATE devices SET attrs = ? WHERE id = ?", "tt", attrs, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    if (!e)
        e = run(s, NULL,
                "INSERT INTO ddi_targets (device_id, attrs_received) VALUES (?, 1)"
                " ON CONFLICT (device_id) DO UPDATE SET attrs_received = 1",
                "t", id);
    return finish(s, e);
}

static bw_err sq_ddi_cancel_ack(void *ctx, const char *id, int64_t action_id)
{
    struct sq *s = ctx;
    int64_t n = 0;
    bw_err e;

    if (!id)
        return BW_E_INVAL;
    e = run(s, &n,
            "INSERT INTO ddi_targets (device_id, cancel_ack)"
            " SELECT device_id, id FROM actions WHERE id = ? AND device_id = ? AND state = 5"
            " ON CONFLICT (device_id) DO UPDATE SET"
            " cancel_ack = max(ddi_targets.cancel_ack, excluded.cancel_ack)",
            "it", action_id, id);
    if (!e && n == 0)
        e = BW_E_NOTFOUND;
    return e;
}

/* ---- campaigns ---------------------------------------------------------- */

/*
 * Method: after a final report (or a resume) inside the caller's
 * transaction. Release batches while the current one has reached its
 * success threshold; a running campaign with every batch released and
 * nothing pending is DONE; otherwise, if allowed, a running campaign whose
 * failures exceed the error threshold of the released actions is PAUSED.
 */
static bw_err settle(struct sq *s, int64_t cid, int allow_pause)
{
    sqlite3_stmt *st;
    int64_t state = 0, spct = 0, epct = 0, cb = 0, batches = 0, total, good, pending, bad, released;
    bw_err e;
    int row;

    e = prep(s, &st,
             "SELECT state, success_pct, error_pct, current_batch, batches FROM campaigns"
             " WHERE id = ?",
             "i", cid);
    if (e)
        return e;
    e = step(s, st, &row);
    if (!e && !row)
        e = BW_E_NOTFOUND;
    if (!e) {
        state = sqlite3_column_int64(st, 0);
        spct = sqlite3_column_int64(st, 1);
        epct = sqlite3_column_int64(st, 2);
        cb = sqlite3_column_int64(st, 3);
        batches = sqlite3_column_int64(st, 4);
    }
    done(s, st);
    if (e)
        return e;
    if (state != GW_CAMP_RUNNING && state != GW_CAMP_PAUSED)
        return BW_OK;
    while (cb < batches) {
        e = count(s, &total, "SELECT count(*) FROM actions WHERE campaign_id = ? AND batch = ?",
                  "ii", cid, cb);
        if (!e)
            e = count(s, &good,
                      "SELECT count(*) FROM actions WHERE campaign_id = ? AND batch = ?"
                      " AND state = 3",
                      "ii", cid, cb);
        if (e)
            return e;
        if (good * 100 < spct * total)
            break;
        cb++;
    }
    e = count(s, &pending,
              "SELECT count(*) FROM actions WHERE campaign_id = ? AND state IN (0, 1, 2)", "i",
              cid, 0);
    if (e)
        return e;
    if (state == GW_CAMP_RUNNING && cb >= batches && pending == 0) {
        state = GW_CAMP_DONE;
    } else if (state == GW_CAMP_RUNNING && allow_pause) {
        e = count(s, &bad,
                  "SELECT count(*) FROM actions WHERE campaign_id = ? AND batch <= ? AND state = 4",
                  "ii", cid, cb);
        if (!e)
            e = count(s, &released,
                      "SELECT count(*) FROM actions WHERE campaign_id = ? AND batch <= ?", "ii",
                      cid, cb);
        if (e)
            return e;
        if (bad * 100 > epct * released)
            state = GW_CAMP_PAUSED;
    }
    return run(s, NULL, "UPDATE campaigns SET current_batch = ?, state = ? WHERE id = ?", "iii",
               cb, state, cid);
}

static bw_err sq_campaign_create(void *ctx, struct gw_campaign *c, int64_t now)
{
    struct sq *s = ctx;
    int64_t n = 0, have;
    bw_err e;

    e = gw__db_check_campaign(c);
    if (e)
        return e;
    e = begin(s);
    if (e)
        return e;
    e = count(s, &have, "SELECT count(*) FROM releases WHERE id = ?", "i", c->release_id, 0);
    if (!e && !have)
        e = BW_E_NOTFOUND;
    if (e)
        goto out;
    e = run(s, NULL,
            "INSERT INTO campaigns (name, release_id, filter, type, state, batch_size,"
            " success_pct, error_pct, current_batch, batches, window_start, window_end, created)"
            " VALUES (?, ?, ?, ?, 0, ?, ?, ?, 0, 0, ?, ?, ?)",
            "titiiiiiii", c->name, c->release_id, c->filter[0] ? c->filter : "{}",
            (int64_t)c->type, (int64_t)c->batch_size, (int64_t)c->success_threshold_pct,
            (int64_t)c->error_threshold_pct, c->window_start, c->window_end, now);
    if (e)
        goto out;
    c->id = sqlite3_last_insert_rowid(s->db);
    e = run(s, &n,
            "INSERT INTO actions (campaign_id, device_id, batch, state, updated)"
            " SELECT ?1, d.id, (row_number() OVER (ORDER BY d.id) - 1) / ?2, 0, ?3"
            " FROM devices d WHERE d.status = 1 AND " MATCH("?4") " ORDER BY d.id",
            "iiit", c->id, (int64_t)c->batch_size, now, c->filter[0] ? c->filter : "{}");
    if (e)
        goto out;
    c->state = n ? GW_CAMP_RUNNING : GW_CAMP_DONE;
    c->current_batch = 0;
    c->created = now;
    e = run(s, NULL, "UPDATE campaigns SET batches = ?, state = ? WHERE id = ?", "iii",
            (n + c->batch_size - 1) / c->batch_size, (int64_t)c->state, c->id);
out:
    return finish(s, e);
}

/* a row of CAMP_COLS */
static void read_campaign(sqlite3_stmt *st, struct gw_campaign *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, out->name, sizeof(out->name));
    out->release_id = sqlite3_column_int64(st, 2);
    col_text(st, 3, out->filter, sizeof(out->filter));
    out->type = (enum gw_action_type)sqlite3_column_int(st, 4);
    out->state = (enum gw_campaign_state)sqlite3_column_int(st, 5);
    out->batch_size = sqlite3_column_int(st, 6);
    out->success_threshold_pct = sqlite3_column_int(st, 7);
    out->error_threshold_pct = sqlite3_column_int(st, 8);
    out->current_batch = sqlite3_column_int(st, 9);
    out->window_start = sqlite3_column_int64(st, 10);
    out->window_end = sqlite3_column_int64(st, 11);
    out->created = sqlite3_column_int64(st, 12);
}

static bw_err sq_campaign_list(void *ctx, int64_t offset, int64_t limit,
                               void (*fn)(void *arg, const struct gw_campaign *c,
                                          const struct gw_counts *k),
                               void *arg)
{
    struct sq *s = ctx;
    struct gw_campaign *c;
    struct gw_counts k;
    sqlite3_stmt *st;
    bw_err e;
    int row, i;

    if (!fn || offset < 0)
        return BW_E_INVAL;
    c = malloc(sizeof(*c));
    if (!c)
        return BW_E_NOMEM;
    e = prep(s, &st,
             "SELECT " CAMP_COLS ", " GW_SQL_COUNT_COLS " FROM campaigns LEFT JOIN "
             GW_SQL_CAMPAIGN_COUNTS " ON k.campaign_id = campaigns.id"
             " ORDER BY id DESC LIMIT ? OFFSET ?",
             "ii", limit < 0 ? (int64_t)-1 : limit, offset);
    if (e)
        goto out;
    while (!(e = step(s, st, &row)) && row) {
        read_campaign(st, c);
        for (i = 0; i < 6; i++)
            k.n[i] = sqlite3_column_int64(st, 13 + i);
        fn(arg, c, &k);
    }
    done(s, st);
out:
    free(c);
    return e;
}

static bw_err sq_campaign_get(void *ctx, int64_t id, struct gw_campaign *out,
                              struct gw_counts *counts)
{
    struct sq *s = ctx;
    sqlite3_stmt *st;
    int64_t k;
    bw_err e;
    int row;

    if (!out)
        return BW_E_INVAL;
    /* one read transaction: the campaign and its counts agree */
    e = run(s, NULL, "BEGIN", "");
    if (e)
        return e;
    e = prep(s, &st, "SELECT " CAMP_COLS " FROM campaigns WHERE id = ?", "i", id);
    if (e)
        goto out;
    e = step(s, st, &row);
    if (!e && !row)
        e = BW_E_NOTFOUND;
    if (!e)
        read_campaign(st, out);
    done(s, st);
    if (e || !counts)
        goto out;
    memset(counts, 0, sizeof(*counts));
    e = prep(s, &st, "SELECT state, count(*) FROM actions WHERE campaign_id = ? GROUP BY state",
             "i", id);
    if (e)
        goto out;
    while (!(e = step(s, st, &row)) && row) {
        k = sqlite3_column_int64(st, 0);
        if (k >= 0 && k < 6)
            counts->n[k] = sqlite3_column_int64(st, 1);
    }
    done(s, st);
out:
    return finish(s, e);
}

static bw_err sq_campaign_set_state(void *ctx, int64_t id, enum gw_campaign_state to)
{
    struct sq *s = ctx;
    int64_t from, have;
    bw_err e;

    e = gw__db_campaign_transition(GW_CAMP_RUNNING, to);
    if (e)
        return e;
    e = begin(s);
    if (e)
        return e;
    e = count(s, &have, "SELECT count(*) FROM campaigns WHERE id = ?", "i", id, 0);
    if (!e && !have)
        e = BW_E_NOTFOUND;
    if (!e)
        e = count(s, &from, "SELECT state FROM campaigns WHERE id = ?", "i", id, 0);
    if (!e)
        e = gw__db_campaign_transition((enum gw_campaign_state)from, to);
    if (e || from == (int64_t)to)
        goto out;
    e = run(s, NULL, "UPDATE campaigns SET state = ? WHERE id = ?", "ii", (int64_t)to, id);
    if (e)
        goto out;
    if (to == GW_CAMP_CANCELLED)
        e = run(s, NULL,
                "UPDATE actions SET state = 5 WHERE campaign_id = ? AND state IN (0, 1)", "i",
                id);
    else if (to == GW_CAMP_RUNNING)
        e = settle(s, id, 0);
out:
    return finish(s, e);
}

/* ---- actions ------------------------------------------------------------ */

static void read_action(sqlite3_stmt *st, struct gw_action *a)
{
    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    a->campaign_id = sqlite3_column_int64(st, 1);
    a->release_id = sqlite3_column_int64(st, 2);
    col_text(st, 3, a->device_id, sizeof(a->device_id));
    a->batch = sqlite3_column_int(st, 4);
    a->type = (enum gw_action_type)sqlite3_column_int(st, 5);
    a->state = (enum gw_action_state)sqlite3_column_int(st, 6);
    a->updated = sqlite3_column_int64(st, 7);
}

static bw_err action_query(struct sq *s, const char *sql, const char *dev, int64_t arg,
                           struct gw_action *out, int *found)
{
    sqlite3_stmt *st;
    bw_err e;
    int row;

    *found = 0;
    e = prep(s, &st, sql, strstr(sql, "?2") ? "ti" : "t", dev, arg);
    if (e)
        return e;
    e = step(s, st, &row);
    if (!e && row) {
        read_action(st, out);
        *found = 1;
    }
    done(s, st);
    return e;
}

static const char sql_has[] = "SELECT " ACT_COLS " FROM actions a JOIN campaigns c"
                              " ON c.id = a.campaign_id WHERE a.device_id = ?1"
                              " AND a.state IN (1, 2) ORDER BY a.id LIMIT 1";
static const char sql_next[] = "SELECT " ACT_COLS " FROM actions a JOIN campaigns c"
                               " ON c.id = a.campaign_id WHERE a.device_id = ?1"
                               " AND a.state = 0 AND c.state = 0 AND a.batch <= c.current_batch"
                               " AND " IN_WINDOW("?2") " ORDER BY a.id LIMIT 1";

/* Method: a read transaction first, so a poll with nothing to hand out
 * never takes the write lock; then, under BEGIN IMMEDIATE, look again and
 * mark the oldest eligible action OFFERED. */
static bw_err sq_action_next(void *ctx, const char *device_id, int64_t now, struct gw_action *out)
{
    struct sq *s = ctx;
    int64_t tod = gw__db_time_of_day(now), n = 0;
    int found = 0, pass;
    bw_err e;

    if (!device_id || !out)
        return BW_E_INVAL;
    for (pass = 0; pass < 2; pass++) {
        e = pass ? begin(s) : run(s, NULL, "BEGIN", "");
        if (e)
            return e;
        e = action_query(s, sql_has, device_id, 0, out, &found);
        if (e || found)
            return finish(s, e);
        e = action_query(s, sql_next, device_id, tod, out, &found);
        if (e || !found)
            return finish(s, e ? e : BW_E_NOTFOUND);
        if (pass == 0) {
            e = finish(s, BW_OK);
            if (e)
                return e;
        }
    }
    e = run(s, &n, "UPDATE actions SET state = 1, updated = ? WHERE id = ? AND state = 0", "ii",
            now, out->id);
    if (!e && n != 1) {
        snprintf(s->err, sizeof(s->err), "action %lld changed under the write lock",
                 (long long)out->id);
        e = BW_E_IO;
    }
    if (!e) {
        out->state = GW_ACTION_OFFERED;
        out->updated = now;
    }
    return finish(s, e);
}

static bw_err sq_action_report(void *ctx, const char *device_id, int64_t action_id,
                               enum gw_action_state to, const char *feedback, int64_t now)
{
    struct sq *s = ctx;
    struct gw_action a;
    int found;
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
    e = begin(s);
    if (e)
        return e;
    e = action_query(s,
                     "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
                     " WHERE a.device_id = ?1 AND a.id = ?2",
                     device_id, action_id, &a, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
    if (!e)
        e = gw__db_report_transition(a.state, to);
    if (!e)
        e = run(s, NULL, "UPDATE actions SET state = ?, feedback = ?, updated = ? WHERE id = ?",
                "itii", (int64_t)to, feedback ? feedback : "", now, action_id);
    if (!e && to != GW_ACTION_RUNNING)
        e = settle(s, a.campaign_id, to == GW_ACTION_FAILURE);
    return finish(s, e);
}

/* One action of device dev picked by sql (?1 the device, ?2 id when the SQL
 * names it): BW_E_NOTFOUND if none. */
static bw_err action_one(struct sq *s, const char *sql, const char *dev, int64_t id,
                         struct gw_action *out)
{
    int found;
    bw_err e;

    if (!dev || !out)
        return BW_E_INVAL;
    e = action_query(s, sql, dev, id, out, &found);
    if (!e && !found)
        e = BW_E_NOTFOUND;
    return e;
}

static bw_err sq_action_get(void *ctx, const char *device_id, int64_t action_id,
                            struct gw_action *out)
{
    return action_one(ctx,
                      "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
                      " WHERE a.device_id = ?1 AND a.id = ?2",
                      device_id, action_id, out);
}

static bw_err sq_action_list(void *ctx, const char *device_id, int64_t offset, int64_t limit,
                             void (*fn)(void *arg, const struct gw_action *a,
                                        const char *feedback),
                             void *arg)
{
    struct sq *s = ctx;
    struct gw_action a;
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!device_id || !fn || offset < 0)
        return BW_E_INVAL;
    e = prep(s, &st,
             "SELECT " ACT_COLS ", a.feedback FROM actions a JOIN campaigns c"
             " ON c.id = a.campaign_id WHERE a.device_id = ? ORDER BY a.id DESC LIMIT ? OFFSET ?",
             "tii", device_id, limit < 0 ? (int64_t)-1 : limit, offset);
    if (e)
        return e;
    while (!(e = step(s, st, &row)) && row) {
        read_action(st, &a);
        fn(arg, &a, (const char *)sqlite3_column_text(st, 8));
    }
    done(s, st);
    return e;
}

static bw_err sq_action_installed(void *ctx, const char *device_id, struct gw_action *out)
{
    return action_one(ctx,
                      "SELECT " ACT_COLS " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"
                      " WHERE a.device_id = ?1 AND a.state = 3 ORDER BY a.id DESC LIMIT 1",
                      device_id, 0, out);
}

/* ---- audit -------------------------------------------------------------- */

static bw_err sq_audit_add(void *ctx, int64_t now, const char *actor, const char *action,
                           const char *object, const char *detail)
{
    struct sq *s = ctx;
    bw_err e;

    e = gw__db_check_audit(actor, action, object, detail);
    if (e)
        return e;
    return run(s, NULL,
               "INSERT INTO audit (time, actor, action, object, detail) VALUES (?, ?, ?, ?, ?)",
               "itttt", now, actor, action, object, detail ? detail : "");
}

/* audit rows by sql to fn: ?1 is a, ?2 (if the SQL names it) b */
static bw_err audit_rows(struct sq *s, const char *sql, int64_t a, int64_t b,
                         void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                    const char *action, const char *object, const char *detail),
                         void *arg)
{
    sqlite3_stmt *st;
    bw_err e;
    int row;

    if (!fn)
        return BW_E_INVAL;
    e = prep(s, &st, sql, strstr(sql, "?2") ? "ii" : "i", a, b);
    if (e)
        return e;
    while (!(e = step(s, st, &row)) && row)
        fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
           (const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 5));
    done(s, st);
    return e;
}

static bw_err sq_audit_list(void *ctx, int64_t after_id, int64_t limit,
                            void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                       const char *action, const char *object,
                                       const char *detail),
                            void *arg)
{
    return audit_rows(ctx,
                      "SELECT id, time, actor, action, object, detail FROM audit WHERE id > ?1"
                      " ORDER BY id LIMIT ?2",
                      after_id, limit < 0 ? (int64_t)-1 : limit, fn, arg);
}

static bw_err sq_audit_recent(void *ctx, int64_t limit,
                              void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                         const char *action, const char *object,
                                         const char *detail),
                              void *arg)
{
    return audit_rows(ctx,
                      "SELECT id, time, actor, action, object, detail FROM audit"
                      " ORDER BY id DESC LIMIT ?1",
                      limit < 0 ? (int64_t)-1 : limit, 0, fn, arg);
}

const struct gw_db_ops gw_db_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .migrate_to = sq_migrate_to,
    .error = sq_error,
    .device_add = sq_device_add,
    .device_get = sq_device_get,
    .device_by_fingerprint = sq_device_by_fingerprint,
    .device_set_status = sq_device_set_status,
    .device_checkin = sq_device_checkin,
    .device_list = sq_device_list,
    .device_delete = sq_device_delete,
    .device_rekey = sq_device_rekey,
    .pending_add = sq_pending_add,
    .release_add = sq_release_add,
    .release_get = sq_release_get,
    .release_by_digest = sq_release_by_digest,
    .release_list = sq_release_list,
    .campaign_list = sq_campaign_list,
    .action_list = sq_action_list,
    .campaign_create = sq_campaign_create,
    .campaign_get = sq_campaign_get,
    .campaign_set_state = sq_campaign_set_state,
    .action_next = sq_action_next,
    .action_report = sq_action_report,
    .action_get = sq_action_get,
    .action_installed = sq_action_installed,
    .ddi_get = sq_ddi_get,
    .ddi_set_token = sq_ddi_set_token,
    .ddi_set_attrs = sq_ddi_set_attrs,
    .ddi_cancel_ack = sq_ddi_cancel_ack,
    .audit_add = sq_audit_add,
    .audit_list = sq_audit_list,
    .audit_recent = sq_audit_recent,
};
