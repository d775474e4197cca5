/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the registry, not for callers (they see db.h): the one table of SQL
 * statements (registry_sql.c), the registry's logic on top of it
 * (registry.c), and the small driver each database library gets
 * (db_sqlite.c, db_pg.c), which only prepares, binds, steps, reads columns
 * and reports errors; transactions and locks are statements of the table.
 */
#ifndef BULWARK_GATEWAY_REGISTRY_H
#define BULWARK_GATEWAY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum gw__dialect { GW__SQLITE = 0, GW__PG, GW__DIALECTS };

/* Every statement of the registry, by name. The drivers cache what they
 * prepare by this index. */
enum gw__q {
    GW__Q_BEGIN_READ,     /* a read transaction */
    GW__Q_BEGIN_WRITE,    /* a transaction that will write (SQLite: takes the write lock) */
    GW__Q_BEGIN_SNAPSHOT, /* several reads that must agree */
    GW__Q_COMMIT,
    GW__Q_ROLLBACK,
    GW__Q_SCHEMA_TABLE,
    GW__Q_SCHEMA_VERSION,
    GW__Q_SCHEMA_SET,
    GW__Q_LOCK_SCHEMA,   /* the dialect's locks: a step SQLite's write lock makes needless */
    GW__Q_LOCK_DEVICE,
    GW__Q_LOCK_PENDING,
    GW__Q_LOCK_CAMPAIGN,
    GW__Q_DEVICE_ADD,
    GW__Q_DEVICE_GET,
    GW__Q_DEVICE_BY_FPR,
    GW__Q_DEVICE_STATUS,
    GW__Q_DEVICE_REVOKED, /* the birth certificate serials of revoked devices, for the CRL */
    GW__Q_CERT_REVOKED,   /* the revoked operational certificate serials, for theirs */
    GW__Q_DEVICE_CHECKIN,
    GW__Q_DEVICE_LIST,
    GW__Q_DEVICE_DEL_ACTIONS,
    GW__Q_DEVICE_DEL_DDI,
    GW__Q_DEVICE_DEL,
    GW__Q_DEVICE_REKEY,
    GW__Q_DEVICE_DEL_CERTS,
    GW__Q_CERT_ADD,
    GW__Q_CERT_REVOKE,
    GW__Q_PENDING_COUNT,
    GW__Q_PENDING_OLD,
    GW__Q_PENDING_EXPIRE,
    GW__Q_RELEASE_ADD,
    GW__Q_RELEASE_GET,
    GW__Q_RELEASE_BY_DIGEST,
    GW__Q_RELEASE_LIST,
    GW__Q_RELEASE_EXISTS,
    GW__Q_DDI_GET,
    GW__Q_DDI_TOKEN,
    GW__Q_DDI_ATTRS,
    GW__Q_DDI_ATTRS_RECEIVED,
    GW__Q_DDI_CANCEL_ACK,
    GW__Q_CAMPAIGN_ADD,
    GW__Q_CAMPAIGN_ACTIONS,
    GW__Q_CAMPAIGN_RAILS,     /* the guard rails of a new campaign */
    GW__Q_CAMPAIGN_RAMP,
    GW__Q_CAMPAIGN_ROLLBACK_ACTIONS,
    GW__Q_CAMPAIGN_END,       /* a final state with its reason */
    GW__Q_CAMPAIGN_BATCHES,
    GW__Q_CAMPAIGN_GET,
    GW__Q_CAMPAIGN_COUNTS,
    GW__Q_TALLY_CHECK, /* rows of the action tally that differ from a count of the actions */
    GW__Q_DATA_VERSION, /* SQLite: changes when another connection committed */
    GW__Q_CAMPAIGN_LIST,
    GW__Q_CAMPAIGN_STATE,     /* the campaign's state, its row locked for the change */
    GW__Q_CAMPAIGN_SET_STATE,
    GW__Q_CAMPAIGN_CANCEL_ACTIONS,
    GW__Q_SETTLE_READ,
    GW__Q_SETTLE_BATCH_NOTIFIED,
    GW__Q_SETTLE_BATCH_OPEN,
    GW__Q_SETTLE_EXECUTED,
    GW__Q_SETTLE_FAILED_KIND,
    GW__Q_SETTLE_RAMP_ON,
    GW__Q_SETTLE_BATCH,
    GW__Q_SETTLE_BATCH_GOOD,
    GW__Q_SETTLE_PENDING,
    GW__Q_SETTLE_RELEASED_BAD,
    GW__Q_SETTLE_RELEASED,
    GW__Q_SETTLE_WRITE,
    GW__Q_ACTION_OPEN,    /* the device's OFFERED or RUNNING action */
    GW__Q_ACTION_NEXT,    /* its oldest eligible SCHEDULED one (PostgreSQL: locked) */
    GW__Q_ACTION_OFFER,
    GW__Q_ACTION_GET,
    GW__Q_ACTION_LOCK,    /* the action again, its row locked */
    GW__Q_ACTION_SET,
    GW__Q_DYN_COUNT,      /* running dynamic campaigns the device would join */
    GW__Q_DYN_JOIN,
    GW__Q_ACTION_INSTALLED,
    GW__Q_ACTION_GO_DEVICE,
    GW__Q_ACTION_GO_CAMPAIGN,
    GW__Q_CAMPAIGN_HOLDS,
    GW__Q_CAMPAIGN_SAY,   /* install_later, consent of a new campaign */
    GW__Q_TICKET_ADD,     /* a period's TLS ticket key, unless one is there */
    GW__Q_TICKET_GET,
    GW__Q_TICKET_OLD,
    GW__Q_ACTION_LIST,
    GW__Q_AUDIT_ADD,
    GW__Q_AUDIT_LIST,
    GW__Q_AUDIT_RECENT,
    GW__Q_COUNT
};

/* The statements: sql[dialect] is the text for that dialect, written once
 * in registry_sql.c (the same text for both where the dialects agree). NULL:
 * the dialect needs no such step, and running it does nothing. Parameters
 * are $1..$n, numbered in order of first appearance (SQLite numbers named
 * parameters that way; its driver checks). */
struct gw__sql {
    const char *sql[GW__DIALECTS];
};
extern const struct gw__sql gw__db_sql[GW__Q_COUNT];

/* What differs beyond statements: the schema, applied in order by migrate
 * (only ever appended; versions 1..count), and how an offer is made. */
struct gw__dialect_info {
    const char *const *migrations;
    int64_t migration_count;
    /* action_next looks in a read transaction before it takes the write
     * lock (SQLite: one writer at a time, a poll should not queue there) */
    int offer_reads_first;
};
extern const struct gw__dialect_info gw__db_dialect[GW__DIALECTS];

/* A registry handle: what open hands the caller as its ctx. */
struct gw__db {
    const struct gw__db_driver *drv;
    void *conn;    /* the driver's */
    int retry;     /* the last error was a deadlock or serialization failure */
    char err[256]; /* the last error's message */
    int64_t serial; /* this handle among every one the process opened, from 1 */
};

/* One bound parameter. */
struct gw__val {
    const char *text; /* a text parameter, or NULL for SQL NULL ... */
    int64_t num;      /* ... unless is_num */
    int is_num;
};

/* A running statement, on the caller's stack. */
struct gw__cur {
    void *p;     /* the driver's: a prepared statement, a result */
    int64_t aux; /* the driver's: a row position, a cache slot */
    int live;    /* registry.c's: a statement runs (not one the dialect skips) */
};

#define GW__MAX_PARAMS 12 /* parameters of one statement */

/*
 * A database library. Every function that fails puts a message in db->err
 * and returns BW_E_EXISTS (unique key), BW_E_NOTFOUND (foreign key),
 * BW_E_NOMEM or BW_E_IO (db->retry set when trying again may work).
 */
struct gw__db_driver {
    enum gw__dialect dialect;
    /* connects db->conn to conninfo (BW_E_IO; no message when no handle) */
    bw_err (*open)(struct gw__db *db, const char *conninfo);
    void (*close)(struct gw__db *db);
    /* runs statement q (text sql, for this dialect) with n parameters;
     * after BW_OK the rows are read with next and col_*, and done ends it */
    bw_err (*query)(struct gw__db *db, enum gw__q q, const char *sql, const struct gw__val *v,
                    int n, struct gw__cur *cur);
    bw_err (*next)(struct gw__db *db, struct gw__cur *cur, int *row);
    int64_t (*col_int)(struct gw__cur *cur, int col);
    const char *(*col_text)(struct gw__cur *cur, int col); /* "" for NULL */
    /* rows changed by cur's statement, once next said no more rows */
    int64_t (*changes)(struct gw__db *db, struct gw__cur *cur);
    void (*done)(struct gw__db *db, struct gw__cur *cur);
    /* several statements without parameters (a schema migration) */
    bw_err (*script)(struct gw__db *db, const char *sql);
    int (*in_transaction)(struct gw__db *db);
    /* what this handle's own statements have written, a count that only
     * grows (SQLite: total changes); NULL where the dialect has no such
     * count */
    int64_t (*written)(struct gw__db *db);
};
extern const struct gw__db_driver gw__db_driver_sqlite;
extern const struct gw__db_driver gw__db_driver_pg;

/* The checks (db.c): one definition of what is valid, so that both
 * databases refuse the same input the same way. */
/* attrs: a JSON object of at most GW_ATTRS_MAX bytes, no duplicate keys;
 * is_filter: also every value a string. BW_E_TOOBIG, BW_E_FORMAT. */
BW_NODISCARD bw_err gw__db_check_json(const char *text, int is_filter);
/* a non-empty NUL-terminated UTF-8 name of at most max bytes: BW_E_INVAL */
BW_NODISCARD bw_err gw__db_check_name(const char *s, size_t max);
/* text of at most max bytes (BW_E_TOOBIG) in UTF-8 (BW_E_FORMAT): both
 * databases then store exactly the same strings */
BW_NODISCARD bw_err gw__db_check_text(const char *s, size_t max);
int gw__db_utf8_ok(const char *s);
/* actor and action: names of at most GW_ID_MAX bytes (BW_E_INVAL); object
 * and detail (NULL = none): text of at most GW_DETAIL_MAX bytes */
BW_NODISCARD bw_err gw__db_check_audit(const char *actor, const char *action, const char *object,
                                       const char *detail);
BW_NODISCARD bw_err gw__db_check_device(const struct gw_device *d);
/* a device for pending_add: as gw__db_check_device, and PENDING (BW_E_INVAL) */
BW_NODISCARD bw_err gw__db_check_pending(const struct gw_device *d);
BW_NODISCARD bw_err gw__db_check_release(const struct gw_release *r);
/* exactly len lowercase hex digits */
BW_NODISCARD bw_err gw__db_check_hex(const char *s, size_t len);
BW_NODISCARD bw_err gw__db_check_campaign(const struct gw_campaign *c);
/* may a campaign go from -> to? BW_OK, BW_E_STATE or BW_E_INVAL */
BW_NODISCARD bw_err gw__db_campaign_transition(enum gw_campaign_state from,
                                               enum gw_campaign_state to);
/* the name of campaign N's rollback campaign: GW_ROLLBACK_NAME "N"; refused
 * as the name of any other campaign */
#define GW_ROLLBACK_NAME "rollback of #"
/* the GW_FAIL_* kind of a failure report's feedback (NULL: other) */
unsigned gw__db_failure_kind(const char *feedback);
/* the gw_hold a RUNNING report's feedback names (GW_HOLD_NONE: none) */
enum gw_hold gw__db_hold_kind(const char *feedback);
/* may a device report to on an action in from? BW_OK, BW_E_STATE, BW_E_INVAL */
BW_NODISCARD bw_err gw__db_report_transition(enum gw_action_state from, enum gw_action_state to);
/* seconds of day (UTC) of unix time now, 0..86399 */
int64_t gw__db_time_of_day(int64_t now);

#endif
