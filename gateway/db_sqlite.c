/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's SQLite driver: the embedded default for one gateway
 * process (or a few on one host). Opens the file in WAL mode with a busy
 * timeout and foreign keys on, prepares each statement of registry_sql.c
 * once per handle and keeps it, binds, steps and reads columns. Writers are
 * serialized by SQLite's write lock (BEGIN IMMEDIATE); what runs in those
 * transactions is registry.c's. Not for several hosts: that is db_pg.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "bwh/host.h"
#include "registry.h"

#define BUSY_TIMEOUT_MS 30000

struct sq {
    sqlite3 *db;
    /* prepared statements kept for reuse (parsing the SQL cost more than
     * running it on every poll), by statement; busy: handed out, not done */
    sqlite3_stmt *cache[GW__Q_COUNT];
    unsigned char busy[GW__Q_COUNT];
};

static bw_err fail(struct gw__db *db, sqlite3 *h)
{
    snprintf(db->err, sizeof(db->err), "%s", sqlite3_errmsg(h));
    db->retry = 0;
    switch (sqlite3_extended_errcode(h)) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return BW_E_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return BW_E_NOTFOUND;
    default:
        return BW_E_IO;
    }
}

/* The parameters of a freshly prepared statement are exactly $1..$n in
 * this order, so that SQLite's numbering (by first appearance) is the
 * statement's. */
static bw_err check_params(struct gw__db *db, sqlite3_stmt *st, enum gw__q q, int n)
{
    char want[16];
    const char *name;
    int i;

    if (sqlite3_bind_parameter_count(st) != n)
        goto bad;
    for (i = 1; i <= n; i++) {
        snprintf(want, sizeof(want), "$%d", i);
        name = sqlite3_bind_parameter_name(st, i);
        if (!name || strcmp(name, want) != 0)
            goto bad;
    }
    return BW_OK;
bad:
    snprintf(db->err, sizeof(db->err), "statement %d: parameters are not $1..$%d in order",
             (int)q, n);
    db->retry = 0;
    return BW_E_INVAL;
}

static void sq_done(struct gw__db *db, struct gw__cur *cur)
{
    struct sq *s = db->conn;
    sqlite3_stmt *st = cur->p;

    if (cur->aux) { /* cached: slot aux - 1 */
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        s->busy[cur->aux - 1] = 0;
    } else {
        sqlite3_finalize(st);
    }
    cur->p = NULL;
}

/* Method: the cached statement for q if it is idle; else a new one,
 * cached when the slot is empty (a statement in use, say by an outer loop
 * over its rows, is never handed out twice). */
static bw_err sq_query(struct gw__db *db, enum gw__q q, const char *sql, const struct gw__val *v,
                       int n, struct gw__cur *cur)
{
    struct sq *s = db->conn;
    sqlite3_stmt *st = s->cache[q];
    bw_err e;
    int rc, i;

    cur->aux = 0;
    if (st && !s->busy[q]) {
        cur->aux = (int64_t)q + 1;
    } else {
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK)
            return fail(db, s->db);
        e = check_params(db, st, q, n);
        if (e) {
            sqlite3_finalize(st);
            return e;
        }
        if (!s->cache[q]) {
            s->cache[q] = st;
            cur->aux = (int64_t)q + 1;
        }
    }
    if (cur->aux)
        s->busy[q] = 1;
    cur->p = st;
    for (i = 0, rc = SQLITE_OK; i < n && rc == SQLITE_OK; i++) {
        if (v[i].is_num)
            rc = sqlite3_bind_int64(st, i + 1, v[i].num);
        else if (v[i].text)
            rc = sqlite3_bind_text(st, i + 1, v[i].text, -1, SQLITE_TRANSIENT);
        else
            rc = sqlite3_bind_null(st, i + 1);
    }
    if (rc != SQLITE_OK) {
        e = fail(db, s->db);
        sq_done(db, cur);
        return e;
    }
    return BW_OK;
}

static int64_t sq_written(struct gw__db *db)
{
    struct sq *s = db->conn;

    return (int64_t)sqlite3_total_changes64(s->db);
}

static bw_err sq_next(struct gw__db *db, struct gw__cur *cur, int *row)
{
    struct sq *s = db->conn;
    int rc = sqlite3_step(cur->p);

    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return BW_OK;
    return fail(db, s->db);
}

static int64_t sq_col_int(struct gw__cur *cur, int col)
{
    return sqlite3_column_int64(cur->p, col);
}

static const char *sq_col_text(struct gw__cur *cur, int col)
{
    const unsigned char *t = sqlite3_column_text(cur->p, col);

    return t ? (const char *)t : "";
}

static int64_t sq_changes(struct gw__db *db, struct gw__cur *cur)
{
    struct sq *s = db->conn;

    (void)cur;
    return sqlite3_changes64(s->db);
}

static bw_err sq_script(struct gw__db *db, const char *sql)
{
    struct sq *s = db->conn;
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return BW_OK;
    snprintf(db->err, sizeof(db->err), "%s", msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    db->retry = 0;
    return BW_E_IO;
}

static int sq_in_transaction(struct gw__db *db)
{
    struct sq *s = db->conn;

    return !sqlite3_get_autocommit(s->db);
}

static void sq_close(struct gw__db *db)
{
    struct sq *s = db->conn;
    size_t i;

    if (!s)
        return;
    for (i = 0; i < GW__Q_COUNT; i++)
        sqlite3_finalize(s->cache[i]);
    sqlite3_close(s->db);
    bwh_free(s);
    db->conn = NULL;
}

/* Before SQLite's first use in the process: no memory statistics. They
 * put one process-wide mutex around every allocation, which threads
 * with their own connections then queue on. */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void sq_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* journal_mode answers with the mode now in effect: insist on WAL */
static bw_err wal(struct gw__db *db, sqlite3 *h, const char *path)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    bw_err e = BW_E_IO;

    if (sqlite3_prepare_v2(h, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        e = fail(db, h);
        goto out;
    }
    mode = sqlite3_column_text(st, 0);
    if (!mode || sqlite3_stricmp((const char *)mode, "wal") != 0) {
        snprintf(db->err, sizeof(db->err), "cannot switch %s to WAL mode", path);
        goto out;
    }
    e = BW_OK;
out:
    sqlite3_finalize(st);
    return e;
}

bw_err gw_db_sqlite_exclusive_uri(const char *path, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char tail[] = "?vfs=unix-excl";
    size_t o = 0;
    const unsigned char *p;

    if (cap < sizeof("file:") + sizeof(tail))
        return BW_E_TOOBIG;
    memcpy(out, "file:", 5);
    o = 5;
    for (p = (const unsigned char *)path; *p; p++) {
        if (o + 3 + sizeof(tail) > cap)
            return BW_E_TOOBIG;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p)) {
            out[o++] = (char)*p;
        } else { /* ?, #, % and the rest: percent-escaped */
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    memcpy(out + o, tail, sizeof(tail));
    return BW_OK;
}

static bw_err sq_open(struct gw__db *db, const char *path)
{
    struct sq *s;
    bw_err e;
    int rc;

    pthread_once(&config_once, sq_config);
    s = bwh_calloc(1, sizeof(*s));
    if (!s)
        return BW_E_NOMEM;
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_URI,
                         NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(s->db);
        bwh_free(s);
        return rc == SQLITE_NOMEM ? BW_E_NOMEM : BW_E_IO;
    }
    db->conn = s;
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    e = wal(db, s->db, path);
    if (!e && (sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK ||
               sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK))
        e = fail(db, s->db);
    if (e)
        sq_close(db);
    return e;
}

const struct gw__db_driver gw__db_driver_sqlite = {
    .dialect = GW__SQLITE,
    .open = sq_open,
    .close = sq_close,
    .query = sq_query,
    .next = sq_next,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .changes = sq_changes,
    .done = sq_done,
    .script = sq_script,
    .in_transaction = sq_in_transaction,
    .written = sq_written,
};
