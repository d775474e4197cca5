/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry's PostgreSQL driver (libpq): several stateless gateway
 * instances on one database. Prepares each statement of registry_sql.c
 * once per connection, on its first use (parameters as text, types
 * inferred by the server), then runs it with PQexecPrepared, so the
 * server parses and plans a check-in's statements once, not on every
 * poll; reads the rows of its result, and marks a deadlock or serialization failure so
 * that registry.c runs the transaction again. The locking (READ COMMITTED
 * with advisory and row locks) is in the statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bwh/host.h"
#include "registry.h"

struct pg { /* db->conn */
    PGconn *c;
    unsigned char prepared[GW__Q_COUNT]; /* statement "bwN" exists on c */
};

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs (e.g. "relation exists, skipping") are not errors */
}

static bw_err fail(struct gw__db *db, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(((struct pg *)db->conn)->c);
    size_t n;

    snprintf(db->err, sizeof(db->err), "%s", msg && *msg ? msg : "postgresql: no result");
    n = strlen(db->err);
    while (n && db->err[n - 1] == '\n')
        db->err[--n] = '\0';
    db->retry = 0;
    if (!state)
        return BW_E_IO;
    if (!strcmp(state, "23505"))
        return BW_E_EXISTS;
    if (!strcmp(state, "23503"))
        return BW_E_NOTFOUND;
    if (!strcmp(state, "40P01") || !strcmp(state, "40001"))
        db->retry = 1;
    return BW_E_IO;
}

/* r, unless it failed: then the error, r cleared */
static bw_err result(struct gw__db *db, PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    bw_err e;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return BW_OK;
    e = fail(db, r);
    PQclear(r);
    return e;
}

static bw_err pg_query(struct gw__db *db, enum gw__q q, const char *sql, const struct gw__val *v,
                       int n, struct gw__cur *cur)
{
    char nums[GW__MAX_PARAMS][24], name[16];
    const char *vals[GW__MAX_PARAMS];
    struct pg *pg = db->conn;
    PGresult *r;
    bw_err e;
    int i;

    if (n > GW__MAX_PARAMS || (unsigned)q >= GW__Q_COUNT)
        return BW_E_INVAL;
    snprintf(name, sizeof(name), "bw%d", (int)q);
    if (!pg->prepared[q]) { /* a statement outlives the transaction it was made in */
        r = PQprepare(pg->c, name, sql, n, NULL);
        e = result(db, r);
        if (e)
            return e;
        PQclear(r);
        pg->prepared[q] = 1;
    }
    for (i = 0; i < n; i++) {
        vals[i] = v[i].text;
        if (v[i].is_num) {
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)v[i].num);
            vals[i] = nums[i];
        }
    }
    r = PQexecPrepared(pg->c, name, n, vals, NULL, NULL, 0);
    e = result(db, r);
    if (e)
        return e;
    cur->p = r;
    cur->aux = -1;
    return BW_OK;
}

static bw_err pg_next(struct gw__db *db, struct gw__cur *cur, int *row)
{
    (void)db;
    cur->aux++;
    *row = cur->aux < PQntuples(cur->p);
    return BW_OK;
}

static int64_t pg_col_int(struct gw__cur *cur, int col)
{
    return strtoll(PQgetvalue(cur->p, (int)cur->aux, col), NULL, 10);
}

static const char *pg_col_text(struct gw__cur *cur, int col)
{
    return PQgetvalue(cur->p, (int)cur->aux, col);
}

static int64_t pg_changes(struct gw__db *db, struct gw__cur *cur)
{
    (void)db;
    return strtoll(PQcmdTuples(cur->p), NULL, 10);
}

static void pg_done(struct gw__db *db, struct gw__cur *cur)
{
    (void)db;
    PQclear(cur->p);
    cur->p = NULL;
}

static bw_err pg_script(struct gw__db *db, const char *sql)
{
    PGresult *r = PQexec(((struct pg *)db->conn)->c, sql); /* several statements: no parameters */
    bw_err e = result(db, r);

    if (!e)
        PQclear(r);
    return e;
}

static int pg_in_transaction(struct gw__db *db)
{
    return PQtransactionStatus(((struct pg *)db->conn)->c) != PQTRANS_IDLE;
}

static bw_err pg_open(struct gw__db *db, const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    struct pg *pg;

    if (!c || PQstatus(c) != CONNECTION_OK || PQsetClientEncoding(c, "UTF8") != 0) {
        PQfinish(c); /* the handle, and so its message, is gone: BW_E_IO */
        return BW_E_IO;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    pg = bwh_calloc(1, sizeof(*pg));
    if (!pg) {
        PQfinish(c);
        return BW_E_NOMEM;
    }
    pg->c = c;
    db->conn = pg;
    return BW_OK;
}

static void pg_close(struct gw__db *db)
{
    struct pg *pg = db->conn;

    if (pg)
        PQfinish(pg->c);
    bwh_free(pg);
    db->conn = NULL;
}

const struct gw__db_driver gw__db_driver_pg = {
    .dialect = GW__PG,
    .open = pg_open,
    .close = pg_close,
    .query = pg_query,
    .next = pg_next,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .changes = pg_changes,
    .done = pg_done,
    .script = pg_script,
    .in_transaction = pg_in_transaction,
};
