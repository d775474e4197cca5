/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every SQL statement of the registry, written once. Most text is accepted
 * by SQLite and PostgreSQL alike: $N parameters, CAST(x AS BIGINT), CASE
 * for greatest() and booleans, RETURNING, ON CONFLICT. Where the dialects
 * really differ the difference is a named fragment: the JSON filter
 * (json_each / jsonb_each), row locks (FOR UPDATE, which SQLite's write
 * lock makes needless), advisory locks, how a transaction begins, and the
 * schema's types (rowid vs identity keys, COLLATE "C" for bytewise order).
 */
#include <stddef.h>

#include "registry.h"

/* ---- dialect fragments -------------------------------------------------- */

/* A device d's attrs contain every pair of the filter F (NULL: all), with
 * string values only. */
#define SQ_MATCH(F)                                                                                \
    "(" F " IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(" F ") f WHERE NOT EXISTS"            \
    " (SELECT 1 FROM json_each(d.attrs) x WHERE x.key = f.key AND x.type = 'text'"                \
    " AND x.value = f.value)))"
#define PG_MATCH(F)                                                                                \
    "(" F "::text IS NULL OR NOT EXISTS (SELECT 1 FROM jsonb_each(" F "::jsonb) f"               \
    " WHERE NOT EXISTS (SELECT 1 FROM jsonb_each(d.attrs::jsonb) x WHERE x.key = f.key"          \
    " AND jsonb_typeof(x.value) = 'string' AND x.value = f.value)))"

/* the same text in both dialects */
#define BOTH(S) { { S, S } }
/* a statement whose text differs: MACRO(fragment) per dialect */
#define EACH(MACRO) { { MACRO(SQ_MATCH), MACRO(PG_MATCH) } }
/* a step only PostgreSQL needs (SQLite's BEGIN IMMEDIATE already holds the
 * one write lock) */
#define PG_ONLY(S) { { NULL, S } }
/* S, and on PostgreSQL the row lock CLAUSE after it */
#define LOCKED(S, CLAUSE) { { S, S " " CLAUSE } }

/* ---- the schema, versions 1.. (only ever appended) ---------------------- */

/* TEXT_KEY: a text primary key; CTEXT: text compared bytewise; SERIAL: a
 * generated integer primary key; I64: a 64-bit integer; AUDIT_GUARD: what
 * keeps the audit table append-only. */
#define SCHEMA_V1(TEXT_KEY, CTEXT, SERIAL, I64, AUDIT_GUARD)                                       \
    "CREATE TABLE devices ("                                                                       \
    " id " TEXT_KEY ","                                                                            \
    " fingerprint " CTEXT " NOT NULL UNIQUE,"                                                      \
    " serial TEXT NOT NULL, pubkey TEXT NOT NULL,"                                                 \
    " status INTEGER NOT NULL,"                                                                    \
    " attrs TEXT NOT NULL DEFAULT '{}',"                                                           \
    " version TEXT NOT NULL DEFAULT '',"                                                           \
    " sequence " I64 " NOT NULL DEFAULT -1,"                                                       \
    " last_seen " I64 " NOT NULL DEFAULT 0,"                                                       \
    " created " I64 " NOT NULL);"                                                                  \
    "CREATE TABLE releases ("                                                                      \
    " id " SERIAL ","                                                                              \
    " name " CTEXT " NOT NULL UNIQUE, digest " CTEXT " NOT NULL UNIQUE,"                           \
    " size " I64 " NOT NULL, sequence " I64 " NOT NULL,"                                           \
    " vendor_id TEXT NOT NULL, class_id TEXT NOT NULL, uploaded_by TEXT NOT NULL,"                 \
    " created " I64 " NOT NULL);"                                                                  \
    "CREATE TABLE campaigns ("                                                                     \
    " id " SERIAL ","                                                                              \
    " name " CTEXT " NOT NULL UNIQUE,"                                                             \
    " release_id " I64 " NOT NULL REFERENCES releases(id),"                                        \
    " filter TEXT NOT NULL, type INTEGER NOT NULL, state INTEGER NOT NULL,"                        \
    " batch_size INTEGER NOT NULL, success_pct INTEGER NOT NULL, error_pct INTEGER NOT NULL,"      \
    " current_batch INTEGER NOT NULL, batches INTEGER NOT NULL,"                                   \
    " window_start " I64 " NOT NULL, window_end " I64 " NOT NULL,"                                 \
    " created " I64 " NOT NULL);"                                                                  \
    "CREATE TABLE actions ("                                                                       \
    " id " SERIAL ","                                                                              \
    " campaign_id " I64 " NOT NULL REFERENCES campaigns(id),"                                      \
    " device_id " CTEXT " NOT NULL REFERENCES devices(id),"                                        \
    " batch INTEGER NOT NULL, state INTEGER NOT NULL, updated " I64 " NOT NULL,"                   \
    " feedback TEXT NOT NULL DEFAULT '',"                                                          \
    " UNIQUE (campaign_id, device_id));"                                                           \
    "CREATE INDEX actions_device ON actions(device_id, state);"                                    \
    "CREATE INDEX actions_campaign ON actions(campaign_id, batch, state);"                         \
    "CREATE TABLE audit ("                                                                         \
    " id " SERIAL ","                                                                              \
    " time " I64 " NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"                           \
    " object TEXT NOT NULL, detail TEXT NOT NULL);" AUDIT_GUARD

/* 2: hawkBit DDI: release kinds and hashes, DDI state per device */
#define SCHEMA_V2(TEXT_KEY)                                                                        \
    "ALTER TABLE releases ADD COLUMN kind TEXT NOT NULL DEFAULT 'bulwark';"                        \
    "ALTER TABLE releases ADD COLUMN md5 TEXT NOT NULL DEFAULT '';"                                \
    "ALTER TABLE releases ADD COLUMN sha1 TEXT NOT NULL DEFAULT '';"                               \
    "CREATE TABLE ddi_targets ("                                                                   \
    " device_id " TEXT_KEY " REFERENCES devices(id),"                                              \
    " token TEXT NOT NULL DEFAULT '', attrs_received INTEGER NOT NULL DEFAULT 0,"                  \
    " cancel_ack BIGINT NOT NULL DEFAULT 0);"

/* 3: pending identities counted and expired by status and age */
#define SCHEMA_V3 "CREATE INDEX devices_status ON devices(status, created);"

/* 4: guard rails (db.h, struct gw_campaign): abort criteria, the ramp,
 * rollback, dynamic campaigns, priorities; the kind of each failure */
#define SCHEMA_V4(I64)                                                                             \
    "ALTER TABLE campaigns ADD COLUMN abort_pct INTEGER NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE campaigns ADD COLUMN abort_min " I64 " NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE campaigns ADD COLUMN abort_on INTEGER NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE campaigns ADD COLUMN ramp_base INTEGER NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE campaigns ADD COLUMN ramp_factor INTEGER NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE campaigns ADD COLUMN ramp_on INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE campaigns ADD COLUMN rollback_release " I64 " NOT NULL DEFAULT 0;"                \
    "ALTER TABLE campaigns ADD COLUMN dynamic INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE campaigns ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"                        \
    "ALTER TABLE campaigns ADD COLUMN rollback_of " I64 " NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE campaigns ADD COLUMN rollback_id " I64 " NOT NULL DEFAULT 0;"                     \
    "ALTER TABLE campaigns ADD COLUMN reason TEXT NOT NULL DEFAULT '';"                            \
    "ALTER TABLE actions ADD COLUMN fail_kind INTEGER NOT NULL DEFAULT 0;"                         \
    "CREATE INDEX campaigns_dynamic ON campaigns(dynamic, state);"
/* 5: one key, one identity: a public key is registered to one device at
 * most (the id and the certificate fingerprint were unique from v1).
 * Identities without a certificate key (Mender devices, re-keyed pending
 * ones) keep pubkey '' and are left out. A registry that already holds
 * two devices with one key fails this step, naming the index: the
 * operator deletes the impostor and restarts (docs/identity.md). */
#define SCHEMA_V5 "CREATE UNIQUE INDEX devices_pubkey ON devices(pubkey) WHERE pubkey <> '';"
/* 6: revocation reaches outside verifiers: when a device was revoked,
 * for its entry in the published CRL (crl.c); 0 when it is not revoked */
#define SCHEMA_V6(I64) "ALTER TABLE devices ADD COLUMN revoked_at " I64 " NOT NULL DEFAULT 0;"
/* 9: operational certificates issued over EST (api_est.c): each one the
 * gateway issued, to which device, for which key, until when. A device
 * authenticates with any of them that is not revoked (the TLS check
 * refuses expired ones); the CRL lists them with their device's
 * revocation, or on their own (revoked_at > 0). */
#define SCHEMA_V9(TEXT_KEY, CTEXT, I64)                                                            \
    "CREATE TABLE device_certs ("                                                                  \
    " fingerprint " TEXT_KEY ","                                                                   \
    " device_id " CTEXT " NOT NULL REFERENCES devices(id),"                                        \
    " serial TEXT NOT NULL, pubkey TEXT NOT NULL,"                                                 \
    " not_after " I64 " NOT NULL, issued " I64 " NOT NULL,"                                        \
    " revoked_at " I64 " NOT NULL DEFAULT 0);"                                                     \
    "CREATE INDEX device_certs_device ON device_certs(device_id, not_after);"

/* 7: the device's say (db.h): download now and install later, consent;
 * per action what the device waits for (hold) and the operator's or
 * user's word on it (go) */
#define SCHEMA_V7                                                                                  \
    "ALTER TABLE campaigns ADD COLUMN install_later INTEGER NOT NULL DEFAULT 0;"                   \
    "ALTER TABLE campaigns ADD COLUMN consent INTEGER NOT NULL DEFAULT 0;"                         \
    "ALTER TABLE actions ADD COLUMN hold INTEGER NOT NULL DEFAULT 0;"                              \
    "ALTER TABLE actions ADD COLUMN go INTEGER NOT NULL DEFAULT 0;"

/* 8: TLS session ticket keys shared by the gateway instances of one
 * registry: one random master key per rotation period (gateway/http.c) */
#define SCHEMA_V8(I64)                                                                             \
    "CREATE TABLE tls_ticket_keys (period " I64 " PRIMARY KEY, key TEXT NOT NULL);"

/* 10: each campaign's actions counted by (batch, state, fail_kind, hold),
 * kept by triggers in the statement that changes an action, so the
 * rollout rule (registry.c, settle) and the campaign views read a few
 * tally rows instead of counting the campaign's actions on every report:
 * a campaign to N devices cost O(N) per report, O(N^2) in all. Rows whose
 * count falls to 0 are removed. SQLite: row triggers; PostgreSQL:
 * statement triggers over the transition tables (one upsert per tally row
 * and statement, in key order, also for a campaign's bulk insert). */
#define TALLY_KEY "campaign_id, batch, state, fail_kind, hold"
#define TALLY_TABLE(I64)                                                                           \
    "CREATE TABLE action_tally (campaign_id " I64 " NOT NULL, batch INTEGER NOT NULL,"            \
    " state INTEGER NOT NULL, fail_kind INTEGER NOT NULL, hold INTEGER NOT NULL,"                 \
    " n " I64 " NOT NULL, PRIMARY KEY (" TALLY_KEY "));"                                           \
    "INSERT INTO action_tally (" TALLY_KEY ", n) SELECT " TALLY_KEY ", count(*) FROM actions"      \
    " GROUP BY " TALLY_KEY ";"
#define TALLY_IS(R)                                                                                \
    "campaign_id = " R ".campaign_id AND batch = " R ".batch AND state = " R ".state"             \
    " AND fail_kind = " R ".fail_kind AND hold = " R ".hold"
#define SQ_TALLY_ADD                                                                               \
    " INSERT INTO action_tally (" TALLY_KEY ", n) VALUES (NEW.campaign_id, NEW.batch, NEW.state," \
    " NEW.fail_kind, NEW.hold, 1) ON CONFLICT (" TALLY_KEY ") DO UPDATE SET n = n + 1;"
#define SQ_TALLY_SUB                                                                               \
    " UPDATE action_tally SET n = n - 1 WHERE " TALLY_IS("OLD") ";"                                \
    " DELETE FROM action_tally WHERE " TALLY_IS("OLD") " AND n = 0;"
#define SCHEMA_V10_SQLITE                                                                          \
    TALLY_TABLE("INTEGER")                                                                         \
    "CREATE TRIGGER action_tally_insert AFTER INSERT ON actions BEGIN" SQ_TALLY_ADD " END;"       \
    "CREATE TRIGGER action_tally_delete AFTER DELETE ON actions BEGIN" SQ_TALLY_SUB " END;"       \
    "CREATE TRIGGER action_tally_update AFTER UPDATE OF " TALLY_KEY " ON actions"                  \
    " WHEN OLD.campaign_id <> NEW.campaign_id OR OLD.batch <> NEW.batch"                          \
    " OR OLD.state <> NEW.state OR OLD.fail_kind <> NEW.fail_kind OR OLD.hold <> NEW.hold"        \
    " BEGIN" SQ_TALLY_SUB SQ_TALLY_ADD " END;"
/* the net change per key of the rows in transition tables o (-1 each) and
 * w (+1 each), applied in key order; then the rows at 0 go */
#define PG_TALLY_APPLY(ROWS)                                                                       \
    " INSERT INTO action_tally AS t (" TALLY_KEY ", n) SELECT " TALLY_KEY ", sum(k) FROM (" ROWS  \
    ") x GROUP BY " TALLY_KEY " HAVING sum(k) <> 0 ORDER BY " TALLY_KEY                            \
    " ON CONFLICT (" TALLY_KEY ") DO UPDATE SET n = t.n + excluded.n;"                            \
    " DELETE FROM action_tally t WHERE t.n = 0;"
#define PG_TALLY_FN(NAME, ROWS)                                                                    \
    "CREATE FUNCTION " NAME "() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"                      \
    PG_TALLY_APPLY(ROWS) " RETURN NULL; END$$;"
#define PG_OLD_ROWS "SELECT " TALLY_KEY ", -1 AS k FROM o"
#define PG_NEW_ROWS "SELECT " TALLY_KEY ", 1 AS k FROM w"
#define SCHEMA_V10_PG                                                                              \
    TALLY_TABLE("BIGINT")                                                                          \
    "CREATE INDEX action_tally_zero ON action_tally(n) WHERE n = 0;"                               \
    PG_TALLY_FN("action_tally_insert", PG_NEW_ROWS)                                                \
    PG_TALLY_FN("action_tally_delete", PG_OLD_ROWS)                                                \
    PG_TALLY_FN("action_tally_update", PG_OLD_ROWS " UNION ALL " PG_NEW_ROWS)                      \
    "CREATE TRIGGER action_tally_insert AFTER INSERT ON actions REFERENCING NEW TABLE AS w"        \
    " FOR EACH STATEMENT EXECUTE FUNCTION action_tally_insert();"                                  \
    "CREATE TRIGGER action_tally_delete AFTER DELETE ON actions REFERENCING OLD TABLE AS o"        \
    " FOR EACH STATEMENT EXECUTE FUNCTION action_tally_delete();"                                  \
    "CREATE TRIGGER action_tally_update AFTER UPDATE ON actions"                                   \
    " REFERENCING OLD TABLE AS o NEW TABLE AS w"                                                   \
    " FOR EACH STATEMENT EXECUTE FUNCTION action_tally_update();"

static const char *const sqlite_schema[] = {
    SCHEMA_V1("TEXT PRIMARY KEY NOT NULL", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER",
              "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
              " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
              "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
              " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"),
    SCHEMA_V2("TEXT PRIMARY KEY NOT NULL"),
    SCHEMA_V3,
    SCHEMA_V4("INTEGER"),
    SCHEMA_V5,
    SCHEMA_V6("INTEGER"),
    SCHEMA_V7,
    SCHEMA_V8("INTEGER"),
    SCHEMA_V9("TEXT PRIMARY KEY NOT NULL", "TEXT", "INTEGER"),
    SCHEMA_V10_SQLITE,
};

static const char *const pg_schema[] = {
    SCHEMA_V1("TEXT COLLATE \"C\" PRIMARY KEY", "TEXT COLLATE \"C\"",
              "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BIGINT",
              "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
              " $$BEGIN RAISE EXCEPTION 'audit log is append-only'; END$$;"
              "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
              " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
              "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
              " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();"),
    SCHEMA_V2("TEXT COLLATE \"C\" PRIMARY KEY"),
    SCHEMA_V3,
    SCHEMA_V4("BIGINT"),
    SCHEMA_V5,
    SCHEMA_V6("BIGINT"),
    SCHEMA_V7,
    SCHEMA_V8("BIGINT"),
    SCHEMA_V9("TEXT COLLATE \"C\" PRIMARY KEY", "TEXT COLLATE \"C\"", "BIGINT"),
    SCHEMA_V10_PG,
};

#define COUNT_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

const struct gw__dialect_info gw__db_dialect[GW__DIALECTS] = {
    [GW__SQLITE] = { sqlite_schema, COUNT_OF(sqlite_schema), 1 },
    [GW__PG] = { pg_schema, COUNT_OF(pg_schema), 0 },
};

/* ---- statements --------------------------------------------------------- */

#define DEV_COLS                                                                                   \
    "id, fingerprint, serial, pubkey, status, attrs, version, sequence, last_seen, created"
#define REL_COLS                                                                                   \
    "id, name, digest, size, sequence, vendor_id, class_id, uploaded_by, created, kind, md5, sha1"
#define CAMP_COLS                                                                                  \
    "id, name, release_id, filter, type, state, batch_size, success_pct, error_pct,"               \
    " current_batch, window_start, window_end, created, abort_pct, abort_min, abort_on,"          \
    " ramp_base, ramp_factor, ramp_on, rollback_release, dynamic, priority, rollback_of,"       \
    " rollback_id, reason, install_later, consent"
#define ACT_COLS                                                                                   \
    "a.id, a.campaign_id, c.release_id, a.device_id, a.batch, c.type, a.state, a.updated,"       \
    " a.fail_kind, a.hold, a.go, c.install_later, c.consent, c.window_start, c.window_end"
#define ACT_FROM " FROM actions a JOIN campaigns c ON c.id = a.campaign_id"

/* the running dynamic campaigns c that the accepted device d matches and
 * has no action in */
#define DYN_WANTED(MATCH)                                                                          \
    " d.status = 1 AND c.dynamic = 1 AND c.state = 0 AND " MATCH("c.filter")                       \
    " AND NOT EXISTS (SELECT 1 FROM actions x WHERE x.campaign_id = c.id AND x.device_id = d.id)"

/* 1 when the device d may have an action to be handed out: one OFFERED or
 * RUNNING, one SCHEDULED in a released batch of a running campaign, or a
 * running dynamic campaign it would join */
#define HAS_WORK(MATCH)                                                                            \
    "CASE WHEN EXISTS (SELECT 1 FROM actions a JOIN campaigns c ON c.id = a.campaign_id"           \
    " WHERE a.device_id = d.id AND (a.state IN (1, 2)"                                             \
    " OR (a.state = 0 AND c.state = 0 AND a.batch <= c.current_batch)))"                           \
    " OR EXISTS (SELECT 1 FROM campaigns c WHERE" DYN_WANTED(MATCH) ") THEN 1 ELSE 0 END"
/* the device whose birth certificate (column 11: 0) or operational
 * certificate that is not revoked (1: fingerprint, serial and key are the
 * operational certificate's) has fingerprint $1 */
#define DEVICE_BY_FPR(MATCH)                                                                       \
    "SELECT " DEV_COLS ", " HAS_WORK(MATCH) ", 0 FROM devices d WHERE fingerprint = $1"            \
    " UNION ALL SELECT d.id, k.fingerprint, k.serial, k.pubkey, d.status, d.attrs, d.version,"    \
    " d.sequence, d.last_seen, d.created, " HAS_WORK(MATCH) ", 1"                                 \
    " FROM device_certs k JOIN devices d ON d.id = k.device_id"                                    \
    " WHERE k.fingerprint = $1 AND k.revoked_at = 0"
#define DYN_COUNT(MATCH)                                                                           \
    "SELECT count(*) FROM devices d, campaigns c WHERE d.id = $1 AND" DYN_WANTED(MATCH)
/* the device $2 joins them in their current batch, at time $1 */
#define DYN_JOIN(MATCH)                                                                            \
    "INSERT INTO actions (campaign_id, device_id, batch, state, updated)"                         \
    " SELECT c.id, d.id, c.current_batch, 0, CAST($1 AS BIGINT) FROM devices d, campaigns c"     \
    " WHERE d.id = $2 AND" DYN_WANTED(MATCH)

/* The window [start, end) in seconds of day contains T; start > end wraps. */
#define IN_WINDOW(T)                                                                               \
    "(c.window_start < 0"                                                                          \
    " OR (c.window_start < c.window_end AND " T " >= c.window_start AND " T " < c.window_end)"    \
    " OR (c.window_start > c.window_end AND (" T " >= c.window_start OR " T " < c.window_end)))"

/* each campaign's action counts per state, joined as k (from the tally) */
#define COUNT_STATE(N) "sum(CASE WHEN state = " #N " THEN n ELSE 0 END) AS n" #N
/* open actions (OFFERED, RUNNING) per hold */
#define COUNT_HOLD(N) "sum(CASE WHEN state IN (1, 2) AND hold = " #N " THEN n ELSE 0 END) AS h" #N
#define CAMPAIGN_COUNTS                                                                            \
    "(SELECT campaign_id, " COUNT_STATE(0) ", " COUNT_STATE(1) ", " COUNT_STATE(2) ", "           \
    COUNT_STATE(3) ", " COUNT_STATE(4) ", " COUNT_STATE(5) ", " COUNT_HOLD(0) ", "                \
    COUNT_HOLD(1) ", " COUNT_HOLD(2) ", " COUNT_HOLD(3) " FROM action_tally GROUP BY campaign_id) k"
#define COUNT_COLS                                                                                 \
    "coalesce(k.n0, 0), coalesce(k.n1, 0), coalesce(k.n2, 0), coalesce(k.n3, 0),"                 \
    " coalesce(k.n4, 0), coalesce(k.n5, 0), coalesce(k.h0, 0), coalesce(k.h1, 0),"                \
    " coalesce(k.h2, 0), coalesce(k.h3, 0)"

#define DEVICE_LIST(MATCH)                                                                         \
    "SELECT " DEV_COLS " FROM devices d WHERE " MATCH("$1")                                        \
    " AND ($2 < 0 OR status = $2) ORDER BY id LIMIT $3 OFFSET $4"
/* batch = index / batch_size among the matching accepted devices, by id */
#define CAMPAIGN_ACTIONS(MATCH)                                                                    \
    "INSERT INTO actions (campaign_id, device_id, batch, state, updated)"                         \
    " SELECT CAST($1 AS BIGINT), d.id,"                                                            \
    " (row_number() OVER (ORDER BY d.id) - 1) / CAST($2 AS BIGINT), 0, CAST($3 AS BIGINT)"       \
    " FROM devices d WHERE d.status = 1 AND " MATCH("$4") " ORDER BY d.id"

/* how many of campaign $1's actions: a sum over its tally rows */
#define SETTLE_COUNT "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM action_tally WHERE campaign_id = $1"
/* the tally rows against a count of the actions: one per row that differs */
#define TALLY_COUNTED "SELECT " TALLY_KEY ", count(*) FROM actions GROUP BY " TALLY_KEY
#define TALLY_KEPT "SELECT " TALLY_KEY ", n FROM action_tally"

const struct gw__sql gw__db_sql[GW__Q_COUNT] = {
    [GW__Q_BEGIN_READ] = BOTH("BEGIN"),
    [GW__Q_BEGIN_WRITE] = { { "BEGIN IMMEDIATE", "BEGIN" } },
    [GW__Q_BEGIN_SNAPSHOT] = { { "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" } },
    [GW__Q_COMMIT] = BOTH("COMMIT"),
    [GW__Q_ROLLBACK] = BOTH("ROLLBACK"),

    [GW__Q_SCHEMA_TABLE] =
        BOTH("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"),
    [GW__Q_SCHEMA_VERSION] = BOTH("SELECT coalesce(max(version), 0) FROM schema_version"),
    [GW__Q_SCHEMA_SET] = BOTH("INSERT INTO schema_version (version) VALUES ($1)"),
    /* advisory lock keys: 7161405519 "bulwark schema", 7161405520 pending
     * identities, (25207, hash of the id) one device */
    [GW__Q_LOCK_SCHEMA] = PG_ONLY("SELECT pg_advisory_xact_lock(7161405519)"),
    [GW__Q_LOCK_DEVICE] = PG_ONLY("SELECT pg_advisory_xact_lock(25207, hashtext($1))"),
    [GW__Q_LOCK_PENDING] = PG_ONLY("SELECT pg_advisory_xact_lock(7161405520)"),
    [GW__Q_LOCK_CAMPAIGN] = PG_ONLY("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE"),

    [GW__Q_DEVICE_ADD] = BOTH("INSERT INTO devices (" DEV_COLS ")"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
    [GW__Q_DEVICE_GET] = BOTH("SELECT " DEV_COLS " FROM devices WHERE id = $1"),
    [GW__Q_DEVICE_BY_FPR] = EACH(DEVICE_BY_FPR),
    /* revoked_at: kept when a revoked device is revoked again, set when it
     * becomes revoked, 0 otherwise */
    [GW__Q_DEVICE_STATUS] = BOTH("UPDATE devices SET revoked_at = CASE WHEN $1 <> 3 THEN 0"
                                 " WHEN status = 3 THEN revoked_at ELSE $2 END,"
                                 " status = $1 WHERE id = $3"),
    /* the birth certificates of revoked devices (the device CA's CRL) */
    [GW__Q_DEVICE_REVOKED] = BOTH("SELECT serial, revoked_at FROM devices"
                                  " WHERE status = 3 AND serial <> '' ORDER BY 1"),
    /* every operational certificate of a revoked device or revoked on its
     * own (the operational CA's CRL) */
    [GW__Q_CERT_REVOKED] = BOTH("SELECT k.serial, CASE WHEN k.revoked_at > 0"
                                " THEN k.revoked_at ELSE d.revoked_at END"
                                " FROM device_certs k JOIN devices d ON d.id = k.device_id"
                                " WHERE d.status = 3 OR k.revoked_at > 0 ORDER BY 1"),
    [GW__Q_CERT_ADD] = BOTH("INSERT INTO device_certs (fingerprint, device_id, serial, pubkey,"
                            " not_after, issued) VALUES ($1, $2, $3, $4, $5, $6)"),
    /* one operational certificate of device $2, serial $3: revoked at $1,
     * or kept at the first time when it was revoked before */
    [GW__Q_CERT_REVOKE] = BOTH("UPDATE device_certs SET revoked_at = CASE WHEN revoked_at > 0"
                               " THEN revoked_at ELSE $1 END WHERE device_id = $2 AND serial = $3"),
    [GW__Q_DEVICE_DEL_CERTS] = BOTH("DELETE FROM device_certs WHERE device_id = $1"),
    [GW__Q_DEVICE_CHECKIN] = BOTH("UPDATE devices SET version = coalesce($1, version),"
                                  " sequence = $2, attrs = coalesce($3, attrs), last_seen = $4"
                                  " WHERE id = $5"),
    [GW__Q_DEVICE_LIST] = EACH(DEVICE_LIST),
    [GW__Q_DEVICE_DEL_ACTIONS] = BOTH("DELETE FROM actions WHERE device_id = $1"),
    [GW__Q_DEVICE_DEL_DDI] = BOTH("DELETE FROM ddi_targets WHERE device_id = $1"),
    [GW__Q_DEVICE_DEL] = BOTH("DELETE FROM devices WHERE id = $1"),
    [GW__Q_DEVICE_REKEY] = BOTH("UPDATE devices SET fingerprint = $1, serial = '', pubkey = '',"
                                " status = $2 WHERE id = $3 AND status IN (0, 2)"),
    [GW__Q_PENDING_COUNT] = BOTH("SELECT count(*) FROM devices WHERE status = 0"),
    /* 1 if some pending device could expire: the cheap look before a full
     * cap takes the write lock */
    [GW__Q_PENDING_OLD] = BOTH("SELECT count(*) FROM (SELECT 1 FROM devices WHERE status = 0"
                               " AND created < $1 AND last_seen = 0 LIMIT 1) o"),
    /* pending devices that never checked in, have no action or DDI state
     * and were created before $1 */
    [GW__Q_PENDING_EXPIRE] =
        BOTH("DELETE FROM devices WHERE status = 0 AND created < $1 AND last_seen = 0"
             " AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.device_id = devices.id)"
             " AND NOT EXISTS (SELECT 1 FROM ddi_targets t WHERE t.device_id = devices.id)"),

    [GW__Q_RELEASE_ADD] =
        BOTH("INSERT INTO releases (name, digest, size, sequence, vendor_id, class_id,"
             " uploaded_by, created, kind, md5, sha1)"
             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"),
    [GW__Q_RELEASE_GET] = BOTH("SELECT " REL_COLS " FROM releases WHERE id = $1"),
    [GW__Q_RELEASE_BY_DIGEST] = BOTH("SELECT " REL_COLS " FROM releases WHERE digest = $1"),
    [GW__Q_RELEASE_LIST] =
        BOTH("SELECT " REL_COLS " FROM releases ORDER BY id DESC LIMIT $1 OFFSET $2"),
    [GW__Q_RELEASE_EXISTS] = BOTH("SELECT count(*) FROM releases WHERE id = $1"),

    [GW__Q_DDI_GET] =
        BOTH("SELECT coalesce(t.token, ''), coalesce(t.attrs_received, 0),"
             " (SELECT coalesce(max(a.id), 0) FROM actions a WHERE a.device_id = d.id"
             " AND a.state = 5 AND a.id > coalesce(t.cancel_ack, 0))"
             " FROM devices d LEFT JOIN ddi_targets t ON t.device_id = d.id WHERE d.id = $1"),
    [GW__Q_DDI_TOKEN] =
        BOTH("INSERT INTO ddi_targets (device_id, token) SELECT id, $1 FROM devices WHERE id = $2"
             " ON CONFLICT (device_id) DO UPDATE SET token = excluded.token"),
    [GW__Q_DDI_ATTRS] = BOTH("UPDATE devices SET attrs = $1 WHERE id = $2"),
    [GW__Q_DDI_ATTRS_RECEIVED] =
        BOTH("INSERT INTO ddi_targets (device_id, attrs_received) VALUES ($1, 1)"
             " ON CONFLICT (device_id) DO UPDATE SET attrs_received = 1"),
    [GW__Q_DDI_CANCEL_ACK] =
        BOTH("INSERT INTO ddi_targets (device_id, cancel_ack)"
             " SELECT device_id, id FROM actions WHERE id = $1 AND device_id = $2 AND state = 5"
             " ON CONFLICT (device_id) DO UPDATE SET cancel_ack ="
             " CASE WHEN excluded.cancel_ack > ddi_targets.cancel_ack"
             " THEN excluded.cancel_ack ELSE ddi_targets.cancel_ack END"),

    [GW__Q_CAMPAIGN_ADD] =
        BOTH("INSERT INTO campaigns (name, release_id, filter, type, state, batch_size,"
             " success_pct, error_pct, current_batch, batches, window_start, window_end, created)"
             " VALUES ($1, $2, $3, $4, 0, $5, $6, $7, 0, 0, $8, $9, $10) RETURNING id"),
    [GW__Q_CAMPAIGN_ACTIONS] = EACH(CAMPAIGN_ACTIONS),
    [GW__Q_CAMPAIGN_RAILS] =
        BOTH("UPDATE campaigns SET abort_pct = $1, abort_min = $2, abort_on = $3, ramp_base = $4,"
             " ramp_factor = $5, ramp_on = $6, rollback_release = $7, dynamic = $8,"
             " priority = $9, rollback_of = $10 WHERE id = $11"),
    /* ramp: actions were numbered 0.. by batch; batch $1 takes [$3, $4) */
    [GW__Q_CAMPAIGN_RAMP] = BOTH("UPDATE actions SET batch = $1 WHERE campaign_id = $2"
                                 " AND batch >= $3 AND batch < $4"),
    [GW__Q_CAMPAIGN_ROLLBACK_ACTIONS] =
        BOTH("INSERT INTO actions (campaign_id, device_id, batch, state, updated)"
             " SELECT CAST($1 AS BIGINT), device_id, 0, 0, CAST($2 AS BIGINT) FROM actions"
             " WHERE campaign_id = $3 AND state IN (1, 2, 3, 4) ORDER BY device_id"),
    [GW__Q_CAMPAIGN_END] =
        BOTH("UPDATE campaigns SET state = $1, reason = $2, rollback_id = $3 WHERE id = $4"),
    [GW__Q_CAMPAIGN_BATCHES] = BOTH("UPDATE campaigns SET batches = $1, state = $2 WHERE id = $3"),
    [GW__Q_CAMPAIGN_GET] = BOTH("SELECT " CAMP_COLS " FROM campaigns WHERE id = $1"),
    [GW__Q_CAMPAIGN_COUNTS] =
        BOTH("SELECT state, CAST(sum(n) AS BIGINT) FROM action_tally WHERE campaign_id = $1"
             " GROUP BY state"),
    [GW__Q_CAMPAIGN_LIST] = BOTH("SELECT " CAMP_COLS ", " COUNT_COLS " FROM campaigns LEFT JOIN "
                                 CAMPAIGN_COUNTS " ON k.campaign_id = campaigns.id"
                                 " ORDER BY id DESC LIMIT $1 OFFSET $2"),
    [GW__Q_CAMPAIGN_STATE] = LOCKED("SELECT state FROM campaigns WHERE id = $1", "FOR UPDATE"),
    [GW__Q_CAMPAIGN_SET_STATE] = BOTH("UPDATE campaigns SET state = $1 WHERE id = $2"),
    [GW__Q_CAMPAIGN_CANCEL_ACTIONS] =
        BOTH("UPDATE actions SET state = 5 WHERE campaign_id = $1 AND state IN (0, 1)"),

    [GW__Q_SETTLE_READ] = BOTH("SELECT state, success_pct, error_pct, current_batch, batches,"
                               " abort_pct, abort_min, abort_on, ramp_on, rollback_release,"
                               " dynamic, priority, name FROM campaigns WHERE id = $1"),
    [GW__Q_SETTLE_BATCH_NOTIFIED] = BOTH(SETTLE_COUNT " AND batch = $2 AND state IN (1, 2, 3, 4)"),
    [GW__Q_SETTLE_BATCH_OPEN] = BOTH(SETTLE_COUNT " AND batch = $2 AND state IN (0, 1, 2)"),
    [GW__Q_SETTLE_EXECUTED] = BOTH(SETTLE_COUNT " AND state IN (3, 4)"),
    [GW__Q_SETTLE_FAILED_KIND] = BOTH(SETTLE_COUNT " AND state = 4 AND (fail_kind & $2) <> 0"),
    [GW__Q_SETTLE_RAMP_ON] = BOTH("SELECT ramp_on FROM campaigns WHERE id = $1"),
    [GW__Q_SETTLE_BATCH] = BOTH(SETTLE_COUNT " AND batch = $2"),
    [GW__Q_SETTLE_BATCH_GOOD] = BOTH(SETTLE_COUNT " AND batch = $2 AND state = 3"),
    [GW__Q_SETTLE_PENDING] = BOTH(SETTLE_COUNT " AND state IN (0, 1, 2)"),
    [GW__Q_SETTLE_RELEASED_BAD] = BOTH(SETTLE_COUNT " AND batch <= $2 AND state = 4"),
    [GW__Q_SETTLE_RELEASED] = BOTH(SETTLE_COUNT " AND batch <= $2"),
    [GW__Q_SETTLE_WRITE] =
        BOTH("UPDATE campaigns SET current_batch = $1, state = $2 WHERE id = $3"),

    [GW__Q_ACTION_OPEN] = BOTH("SELECT " ACT_COLS ACT_FROM " WHERE a.device_id = $1"
                               " AND a.state IN (1, 2) ORDER BY a.id LIMIT 1"),
    [GW__Q_ACTION_NEXT] = LOCKED("SELECT " ACT_COLS ACT_FROM " WHERE a.device_id = $1"
                                 " AND a.state = 0 AND c.state = 0"
                                 " AND a.batch <= c.current_batch"
                                 " AND (c.install_later = 1 OR " IN_WINDOW("CAST($2 AS BIGINT)") ")"
                                 " ORDER BY c.priority DESC, a.id LIMIT 1",
                                 "FOR UPDATE OF a SKIP LOCKED"),
    [GW__Q_ACTION_OFFER] =
        BOTH("UPDATE actions SET state = 1, updated = $1 WHERE id = $2 AND state = 0"),
    [GW__Q_ACTION_GET] =
        BOTH("SELECT " ACT_COLS ACT_FROM " WHERE a.device_id = $1 AND a.id = $2"),
    [GW__Q_ACTION_LOCK] = PG_ONLY("SELECT " ACT_COLS ACT_FROM " WHERE a.id = $1 FOR UPDATE OF a"),
    [GW__Q_ACTION_SET] = BOTH("UPDATE actions SET state = $1, feedback = $2, updated = $3,"
                              " fail_kind = $4, hold = $5 WHERE id = $6"),
    [GW__Q_ACTION_GO_DEVICE] = BOTH("UPDATE actions SET go = go | $1 WHERE device_id = $2"
                                    " AND (CAST($3 AS BIGINT) = 0 OR id = $3)"
                                    " AND state IN (0, 1, 2)"),
    [GW__Q_ACTION_GO_CAMPAIGN] = BOTH("UPDATE actions SET go = go | $1 WHERE campaign_id = $2"
                                      " AND state IN (0, 1, 2)"),
    [GW__Q_CAMPAIGN_HOLDS] = BOTH("SELECT hold, CAST(sum(n) AS BIGINT) FROM action_tally"
                                  " WHERE campaign_id = $1 AND state IN (1, 2) GROUP BY hold"),
    [GW__Q_DATA_VERSION] = { { "PRAGMA data_version", NULL } },
    [GW__Q_TALLY_CHECK] = BOTH("SELECT (SELECT count(*) FROM (" TALLY_COUNTED " EXCEPT " TALLY_KEPT
                               ") x) + (SELECT count(*) FROM (" TALLY_KEPT " EXCEPT " TALLY_COUNTED
                               ") y)"),
    [GW__Q_TICKET_ADD] = BOTH("INSERT INTO tls_ticket_keys (period, key) VALUES ($1, $2)"
                              " ON CONFLICT (period) DO NOTHING"),
    [GW__Q_TICKET_GET] = BOTH("SELECT key FROM tls_ticket_keys WHERE period = $1"),
    [GW__Q_TICKET_OLD] = BOTH("DELETE FROM tls_ticket_keys WHERE period < $1"),
    [GW__Q_CAMPAIGN_SAY] =
        BOTH("UPDATE campaigns SET install_later = $1, consent = $2 WHERE id = $3"),
    [GW__Q_DYN_COUNT] = EACH(DYN_COUNT),
    [GW__Q_DYN_JOIN] = EACH(DYN_JOIN),
    [GW__Q_ACTION_INSTALLED] = BOTH("SELECT " ACT_COLS ACT_FROM " WHERE a.device_id = $1"
                                    " AND a.state = 3 ORDER BY a.id DESC LIMIT 1"),
    [GW__Q_ACTION_LIST] = BOTH("SELECT " ACT_COLS ", a.feedback" ACT_FROM
                               " WHERE a.device_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3"),

    [GW__Q_AUDIT_ADD] = BOTH("INSERT INTO audit (time, actor, action, object, detail)"
                             " VALUES ($1, $2, $3, $4, $5)"),
    [GW__Q_AUDIT_LIST] = BOTH("SELECT id, time, actor, action, object, detail FROM audit"
                              " WHERE id > $1 ORDER BY id LIMIT $2"),
    [GW__Q_AUDIT_RECENT] = BOTH("SELECT id, time, actor, action, object, detail FROM audit"
                                " ORDER BY id DESC LIMIT $1"),
};
