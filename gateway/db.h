/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway registry behind one table of operations, on SQLite (the
 * embedded default, WAL) or PostgreSQL (several gateway instances on one
 * database): one implementation (registry.c, its statements written once
 * in registry_sql.c) over a small driver per library (db_sqlite.c,
 * db_pg.c). One contract suite (tests/contract/test_registry.c) runs on
 * both. Every function returns a bw_err:
 * BW_E_NOTFOUND for a missing row, BW_E_EXISTS for a duplicate key,
 * BW_E_STATE for a transition the state machine forbids, BW_E_TOOBIG for a
 * field over its cap, BW_E_IO when the database fails (the message is kept
 * for gw_db_error). A handle is used by one thread at a time; the server
 * opens one per worker thread.
 */
#ifndef BULWARK_GATEWAY_DB_H
#define BULWARK_GATEWAY_DB_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/err.h"

#define GW_ID_MAX 64          /* device ids, release names, campaign names */
#define GW_ATTRS_MAX 4096     /* device attributes: a JSON object, as text */
#define GW_FEEDBACK_MAX 16384 /* one feedback text (untrusted, stored as is) */
#define GW_DETAIL_MAX 1024    /* audit detail */

enum gw_device_status { GW_DEV_PENDING = 0, GW_DEV_ACCEPTED, GW_DEV_REJECTED, GW_DEV_REVOKED };

struct gw_device {
    char id[GW_ID_MAX + 1];
    char fingerprint[65]; /* SHA-256 of the DER certificate, hex */
    char serial[33];      /* certificate serial, hex */
    char pubkey[131];     /* uncompressed P-256 point, hex */
    enum gw_device_status status;
    char attrs[GW_ATTRS_MAX + 1]; /* JSON object text, "{}" when none */
    char version[GW_ID_MAX + 1];  /* installed version as reported */
    int64_t sequence;             /* installed sequence, -1 unknown */
    int64_t last_seen;            /* unix time, 0 never */
    int64_t created;
    /* 0: as of this read the device has no action to be handed out (none
     * OFFERED or RUNNING, none SCHEDULED in a released batch of a running
     * campaign, no running dynamic campaign it would join), so action_next would answer BW_E_NOTFOUND; 1: it may have
     * one (maintenance windows are not considered). Set by
     * device_by_fingerprint, read in the same statement as the device, so
     * a poll with nothing to do costs one registry read; 1 from the other
     * calls. */
    int has_work;
    /* device_by_fingerprint: 1 when the fingerprint was one of the
     * device's operational certificates (EST, migration 9): fingerprint,
     * serial and pubkey are then that certificate's; 0 for the birth
     * certificate (IDevID) and from the other calls */
    int op_cert;
};

struct gw_release {
    int64_t id;
    char name[GW_ID_MAX + 1];
    char digest[65];   /* SHA-256 of the package file: its content address */
    int64_t size;
    int64_t sequence;  /* manifest sequence number */
    char vendor_id[37], class_id[37];
    char uploaded_by[GW_ID_MAX + 1];
    int64_t created;
    /* "bulwark": a signed package the gateway verified; "swu": a maker's
     * own signed artifact for SWUpdate devices, stored as uploaded (the
     * device checks its signature) with its md5 and sha1 for hawkBit DDI */
    char kind[16];
    char md5[33], sha1[41];
};

/* What the hawkBit DDI side keeps about a device (docs/ddi.md). */
struct gw_ddi_target {
    char token[65];     /* SHA-256 (hex) of its TargetToken, "" for none */
    int attrs_received; /* configData arrived: stop asking for it */
    int64_t cancel_pending; /* newest CANCELLED action of the device that
                             * it has not acknowledged, 0 if none */
};

/* RUNNING and PAUSED are live; the others are final. ABORTED: its abort
 * criterion was met; ROLLED_BACK: aborted, and a rollback campaign to its
 * rollback_release was created; CANNOT_COMPLETE: its current batch is
 * finished below the success threshold, so no later batch can start. */
enum gw_campaign_state {
    GW_CAMP_RUNNING = 0,
    GW_CAMP_PAUSED,
    GW_CAMP_CANCELLED,
    GW_CAMP_DONE,
    GW_CAMP_ABORTED,
    GW_CAMP_ROLLED_BACK,
    GW_CAMP_CANNOT_COMPLETE
};
/* What a failure report says went wrong, read from the start of its
 * feedback (gw__db_failure_kind): a bit each, for abort_on. */
#define GW_FAIL_INSTALL 1u  /* "install refused ..." */
#define GW_FAIL_DOWNLOAD 2u /* "download refused ..." */
#define GW_FAIL_HEALTH 4u   /* "health check failed ...", "rolled back ..." */
#define GW_FAIL_OTHER 8u    /* anything else */
#define GW_FAIL_ALL 15u
/* The failure kinds: the operator API's name, the start of a feedback that
 * is of the kind (NULL: the rest), its bit. One row per prefix (a kind may
 * have several); gw_fail_kinds_n rows. */
struct gw_fail_kind {
    const char *name, *prefix;
    unsigned bit;
};
extern const struct gw_fail_kind gw_fail_kinds[];
extern const size_t gw_fail_kinds_n;
/* ramp_on: what releases the next batch of a campaign */
enum gw_ramp_on { GW_RAMP_SUCCEEDED = 0, GW_RAMP_NOTIFIED };
#define GW_PRIORITY_MAX 1000
#define GW_REASON_MAX 200
enum gw_action_type { GW_ACT_FORCED = 0, GW_ACT_SOFT, GW_ACT_DOWNLOAD_ONLY };
enum gw_action_state {
    GW_ACTION_SCHEDULED = 0, /* waiting for its batch */
    GW_ACTION_OFFERED,       /* handed to the device (exactly once) */
    GW_ACTION_RUNNING,       /* device reported progress */
    GW_ACTION_SUCCESS,
    GW_ACTION_FAILURE,
    GW_ACTION_CANCELLED
};

struct gw_campaign {
    int64_t id;
    char name[GW_ID_MAX + 1];
    int64_t release_id;
    char filter[GW_ATTRS_MAX + 1]; /* JSON object: attribute equality, e.g. {"group":"lab"} */
    enum gw_action_type type;
    enum gw_campaign_state state;
    int batch_size;             /* devices per batch */
    int success_threshold_pct;  /* batch must reach this to advance */
    int error_threshold_pct;    /* pause when failures exceed this */
    int current_batch;
    int64_t window_start, window_end; /* seconds of day UTC, -1 = always */
    int64_t created;
    /* guard rails (0 = off unless said otherwise) */
    int abort_pct;           /* abort when failures of abort_on reach this % (1..100) ... */
    int64_t abort_min;       /* ... of the executed (SUCCESS + FAILURE) actions, once at least
                              * this many were executed */
    unsigned abort_on;       /* GW_FAIL_* bits counted; 0 = GW_FAIL_ALL */
    int ramp_base;           /* batch sizes ramp_base, then each the one before times ... */
    int ramp_factor10;       /* ... ramp_factor10 / 10 (11..50), at least one more */
    enum gw_ramp_on ramp_on; /* the next batch after success_threshold % of this one
                              * succeeded, or was notified (offered or later) */
    int64_t rollback_release; /* on abort: a campaign offering this release to the devices
                               * this one updated or failed */
    int dynamic;             /* devices that match later (registered, accepted, attributes
                              * changed) join at their next poll; never DONE by itself */
    int priority;            /* 0..GW_PRIORITY_MAX: a device is offered the action of its
                              * highest-priority campaign first */
    int install_later;       /* download now, install later: offered at any time, installed
                              * on a trigger (action_go) or while the window is open */
    int consent;             /* every device waits for consent before it downloads */
    /* set by the registry: */
    int64_t rollback_of;     /* this is the rollback campaign of that one (0: not) */
    int64_t rollback_id;     /* the rollback campaign created when this one aborted */
    char reason[GW_REASON_MAX + 1]; /* why it ended when it was not by the operator */
};

/* The device's say on an open action (OFFERED or RUNNING): what it waits
 * for before it installs, read from the start of its last RUNNING report's
 * feedback (gw__db_hold_kind; DDI: its execution state), 0 when it waits
 * for nothing. */
enum gw_hold {
    GW_HOLD_NONE = 0,
    GW_HOLD_LATER,   /* downloaded and verified; installs on a trigger or in the window */
    GW_HOLD_LOCKED,  /* an application holds the device's update lock */
    GW_HOLD_CONSENT, /* waits for the user's consent */
    GW_HOLD_COUNT
};
extern const char *const gw_hold_names[GW_HOLD_COUNT]; /* "", "install-later", "locked", "consent" */
/* The operator's (or, for consent, the device's) word on an action: bits of
 * gw_action.go, only ever added while the action is open. */
#define GW_GO_INSTALL 1u  /* install now (an install-later campaign's trigger) */
#define GW_GO_OVERRIDE 2u /* install even while the device's update lock is held */
#define GW_GO_CONSENT 4u  /* consent given (DDI confirmationBase, or the operator for the user) */
#define GW_GO_ALL 7u

struct gw_action {
    int64_t id;
    int64_t campaign_id;
    int64_t release_id;
    char device_id[GW_ID_MAX + 1];
    int batch;
    enum gw_action_type type;
    enum gw_action_state state;
    int64_t updated;
    unsigned fail_kind; /* a FAILURE's GW_FAIL_* bit, else 0 */
    enum gw_hold hold;  /* the device's say (open actions) */
    unsigned go;        /* GW_GO_* bits */
    /* its campaign's, read with it: */
    int install_later, consent;
    int64_t window_start, window_end;
};
/* Whether the device may install action a at unix time now: not an
 * install-later campaign's, or triggered (GW_GO_INSTALL), or its campaign's
 * window is open (an install-later campaign without a window installs on
 * the trigger only). */
int gw_action_may_install(const struct gw_action *a, int64_t now);
/* Whether the action still waits for consent (a consent campaign's, not
 * yet GW_GO_CONSENT). */
int gw_action_needs_consent(const struct gw_action *a);

struct gw_counts { /* actions of a campaign per state */
    int64_t n[6];
    int64_t held[GW_HOLD_COUNT]; /* open actions per gw_hold (held[0]: waiting for nothing) */
};

struct gw_db_gen { /* db_ops.generation; compare every field */
    int64_t theirs, ours, handle;
};

struct gw_db_ops {
    const char *name; /* "sqlite", "postgresql" */
    bw_err (*open)(const char *conninfo, void **ctx);
    void (*close)(void *ctx);
    /* Creates or upgrades the schema to the current version (idempotent;
     * concurrent callers are serialized). */
    bw_err (*migrate)(void *ctx);
    /* The schema up to version only (1..current): for the upgrade test,
     * which builds an old registry and then lets migrate upgrade it. */
    bw_err (*migrate_to)(void *ctx, int64_t version);
    const char *(*error)(void *ctx);

    /* devices */
    bw_err (*device_add)(void *ctx, const struct gw_device *d); /* BW_E_EXISTS */
    bw_err (*device_get)(void *ctx, const char *id, struct gw_device *out);
    bw_err (*device_by_fingerprint)(void *ctx, const char *fpr, struct gw_device *out);
    /* REVOKED records when (revoked_at, read by device_revoked); revoking
     * a revoked device again keeps the first time */
    bw_err (*device_set_status)(void *ctx, const char *id, enum gw_device_status st);
    /* records an operational certificate the gateway issued to device id
     * (fingerprint and serial in hex, the key as an uncompressed point in
     * hex, its notAfter): from now on device_by_fingerprint finds the
     * device by it, and device_revoked lists it once the device is
     * revoked; an audit row (actor id, action, object the fingerprint,
     * detail the serial) in the same transaction. BW_E_NOTFOUND: no such
     * device; BW_E_EXISTS: recorded. */
    bw_err (*cert_add)(void *ctx, const char *id, const char *fingerprint, const char *serial,
                       const char *pubkey, int64_t not_after, int64_t now, const char *action);
    /* revokes the operational certificate of device id with serial (hex,
     * lower case) at now: device_by_fingerprint no longer finds the device
     * by it and device_revoked lists it; revoking it again keeps the first
     * time. BW_E_NOTFOUND: no such certificate of this device. */
    bw_err (*cert_revoke)(void *ctx, const char *id, const char *serial, int64_t now);
    /* operational 0: calls fn for each revoked device that has a birth
     * certificate serial (hex), ordered by serial, with the time it was
     * revoked (0: revoked before the registry recorded times, migration
     * 6); operational 1: for each operational certificate of a revoked
     * device or revoked on its own, with the time it or its device was
     * revoked. fn must not use the same handle. */
    bw_err (*device_revoked)(void *ctx, int operational,
                             void (*fn)(void *arg, const char *serial, int64_t revoked_at),
                             void *arg);
    /* check-in: version, sequence, attributes (JSON text), last_seen = now */
    bw_err (*device_checkin)(void *ctx, const char *id, const char *version, int64_t sequence,
                             const char *attrs, int64_t now);
    /* calls fn for each device whose attrs contain every pair of filter
     * (NULL = all) and whose status is status (< 0: any), ordered by id
     * (bytewise), at most limit rows (< 0: no limit) after offset. A pair
     * matches when attrs has the key with an equal string value.
     * BW_E_FORMAT: filter is not a flat JSON object of strings; BW_E_INVAL:
     * a NULL fn, a negative offset, a status above GW_DEV_REVOKED. fn must
     * not use the same handle. */
    bw_err (*device_list)(void *ctx, const char *filter, int status, int64_t offset,
                          int64_t limit, void (*fn)(void *arg, const struct gw_device *d),
                          void *arg);
    /* Deletes the device and what hangs off it (its actions, its DDI
     * state) in one transaction; its campaigns keep their other actions.
     * BW_E_NOTFOUND for an unknown id. */
    bw_err (*device_delete)(void *ctx, const char *id);
    /* Gives a PENDING or REJECTED device another key (fingerprint: 64 hex
     * digits; serial and pubkey become "") and the status st, in one
     * statement: an identity someone else claimed first is handed to the
     * key the operator names. BW_E_NOTFOUND (no such device), BW_E_STATE
     * (it is accepted or revoked), BW_E_EXISTS (another device has that
     * key), BW_E_INVAL (bad fingerprint or st). */
    bw_err (*device_rekey)(void *ctx, const char *id, const char *fingerprint,
                           enum gw_device_status st);
    /* Adds d (status PENDING) unless max pending devices exist already
     * (BW_E_QUOTA). First drops the pending devices that never checked in
     * (last_seen 0), have no action and were created before
     * expire_before. Serialized across gateway instances, so the cap
     * holds. Errors as device_add. */
    bw_err (*pending_add)(void *ctx, const struct gw_device *d, int64_t expire_before,
                          int64_t max);

    /* releases */
    /* sets r->id; BW_E_EXISTS for a name or a digest already present */
    bw_err (*release_add)(void *ctx, struct gw_release *r);
    bw_err (*release_get)(void *ctx, int64_t id, struct gw_release *out);
    bw_err (*release_by_digest)(void *ctx, const char *digest, struct gw_release *out);

    /* campaigns: create schedules one action per matching accepted device,
     * batch = index / batch_size; batch 0 is released at once. Reads name,
     * release_id, filter, type, batch_size (>= 1), both thresholds (0..100)
     * and the window (both -1, or both in 0..86399 and different; start >
     * end wraps midnight; the window is [start, end)); sets id, state
     * (RUNNING, or DONE when no device matches), current_batch = 0 and
     * created = now. The guard rails (abort_*, ramp_*, rollback_release,
     * dynamic, priority: struct gw_campaign) are read too; rollback_of,
     * rollback_id and reason are the registry's. With ramp_base the batches
     * are ramp_base, then each the one before times ramp_factor10 / 10
     * (at least one more), and batch_size is ignored. BW_E_INVAL for bad
     * fields, BW_E_FORMAT for a bad filter, BW_E_NOTFOUND for an unknown
     * release (or rollback_release), BW_E_EXISTS by name. */
    bw_err (*campaign_create)(void *ctx, struct gw_campaign *c, int64_t now);
    /* counts may be NULL */
    bw_err (*campaign_get)(void *ctx, int64_t id, struct gw_campaign *out, struct gw_counts *counts);
    /* The campaign counts (campaign_get, campaign_list, the rollout rule)
     * come from a tally the database keeps beside the actions; *differ:
     * how many tally rows disagree with a count of the actions (0: none).
     * A full scan: for tests and repair checks, not for a request. */
    bw_err (*tally_check)(void *ctx, int64_t *differ);
    /* Where the registry can tell cheaply whether it changed: *gen, a
     * value that differs from every earlier one of this handle once
     * anything was committed to the registry since, by this handle or any
     * other connection or process (SQLite: its data_version and this
     * handle's own changes). A caller that read rows after taking gen may
     * keep them while gen comes back the same. BW_E_UNSUPPORTED where it
     * cannot tell (PostgreSQL: read again). */
    bw_err (*generation)(void *ctx, struct gw_db_gen *gen);
    /* RUNNING <-> PAUSED (same state: no-op), RUNNING/PAUSED -> CANCELLED
     * (cancels its SCHEDULED and OFFERED actions; RUNNING ones may still
     * report). BW_E_STATE from a final state, BW_E_INVAL for another st.
     * Resuming settles the campaign (advance, DONE, CANNOT_COMPLETE) but
     * neither re-pauses nor aborts it: the next report does. */
    bw_err (*campaign_set_state)(void *ctx, int64_t id, enum gw_campaign_state st);

    /* The device's next action: an OFFERED/RUNNING one it already has, or
     * the SCHEDULED one of a running campaign's released batch with the
     * highest campaign priority (then the oldest), which becomes OFFERED in the same transaction, so that two gateway
     * instances never hand one action out twice. BW_E_NOTFOUND if none.
     * out->updated is the time of the action's last change: now for a new
     * offer, unchanged when an action the device already has is returned.
     * First, an accepted device that matches a running dynamic campaign it
     * has no action in joins it (in its current batch). */
    bw_err (*action_next)(void *ctx, const char *device_id, int64_t now, struct gw_action *out);
    /* A report from the device that owns the action (BW_E_NOTFOUND for
     * another device's action): state RUNNING, SUCCESS or FAILURE, with
     * feedback text (capped at GW_FEEDBACK_MAX, stored as untrusted text).
     * Then, in the same transaction (the campaign's rule, settle): ABORT it
     * when its abort criterion is met (and create its rollback campaign);
     * advance its batch when the success (or notified) threshold is
     * reached; end it CANNOT_COMPLETE when its current batch is finished
     * below the threshold; pause it when failures pass the error threshold
     * (checked on a FAILURE only, so that a success after a resume does not
     * pause). A FAILURE's kind is read from its feedback; a RUNNING
     * report's feedback gives the action's hold (gw__db_hold_kind).
     * BW_E_INVAL for another st, BW_E_STATE unless the action is OFFERED or
     * RUNNING, BW_E_TOOBIG for longer feedback (NULL = none), BW_E_FORMAT
     * for feedback that is not UTF-8 (PostgreSQL could not store it). */
    bw_err (*action_report)(void *ctx, const char *device_id, int64_t action_id,
                            enum gw_action_state st, const char *feedback, int64_t now);
    bw_err (*action_get)(void *ctx, const char *device_id, int64_t action_id,
                         struct gw_action *out);
    /* the device's newest SUCCESS action (hawkBit's installedBase);
     * BW_E_NOTFOUND if none */
    bw_err (*action_installed)(void *ctx, const char *device_id, struct gw_action *out);
    /* Adds the GW_GO_* bits go to open (SCHEDULED, OFFERED or RUNNING)
     * actions: device_id's (only action id when id > 0), or, device_id
     * NULL, those of campaign id; *n (may be NULL) receives how many.
     * BW_E_NOTFOUND when there is none, BW_E_INVAL for go 0 or beyond
     * GW_GO_ALL. */
    bw_err (*action_go)(void *ctx, const char *device_id, int64_t id, unsigned go, int64_t *n);

    /* The operator's views, newest first (descending id), at most limit
     * rows (< 0: no limit) after offset. campaign_list hands each campaign
     * with its action counts; action_list hands a device's actions with
     * their feedback text (untrusted, as stored). BW_E_INVAL for a NULL fn
     * or a negative offset. fn must not use the same handle. */
    bw_err (*release_list)(void *ctx, int64_t offset, int64_t limit,
                           void (*fn)(void *arg, const struct gw_release *r), void *arg);
    bw_err (*campaign_list)(void *ctx, int64_t offset, int64_t limit,
                            void (*fn)(void *arg, const struct gw_campaign *c,
                                       const struct gw_counts *k),
                            void *arg);
    bw_err (*action_list)(void *ctx, const char *device_id, int64_t offset, int64_t limit,
                          void (*fn)(void *arg, const struct gw_action *a, const char *feedback),
                          void *arg);

    /* hawkBit DDI. get: a device without DDI state reads as no token and
     * no attributes (BW_OK); BW_E_NOTFOUND only for an unknown device.
     * set_token: token_hash "" removes it. set_attrs: the device's attrs
     * become attrs (checked like device attributes), attrs_received 1. */
    bw_err (*ddi_get)(void *ctx, const char *device_id, struct gw_ddi_target *out);
    bw_err (*ddi_set_token)(void *ctx, const char *device_id, const char *token_hash);
    bw_err (*ddi_set_attrs)(void *ctx, const char *device_id, const char *attrs);
    /* the device acknowledged the cancellation of its action (BW_E_NOTFOUND
     * unless that is a CANCELLED action of this device) */
    bw_err (*ddi_cancel_ack)(void *ctx, const char *device_id, int64_t action_id);

    /* TLS session ticket keys, one per rotation period, shared by every
     * gateway instance of the registry: the key of period (>= 0), which is
     * candidate (128 lowercase hex digits, the caller's random key) unless
     * another instance stored one first; keys of periods before period - 1
     * are deleted. out: 129 bytes. BW_E_INVAL for a bad candidate. */
    bw_err (*ticket_key)(void *ctx, int64_t period, const char *candidate, char *out);

    /* operator audit log */
    bw_err (*audit_add)(void *ctx, int64_t now, const char *actor, const char *action,
                        const char *object, const char *detail);
    bw_err (*audit_list)(void *ctx, int64_t after_id, int64_t limit,
                         void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                    const char *action, const char *object, const char *detail),
                         void *arg);
    /* the newest limit entries, newest first */
    bw_err (*audit_recent)(void *ctx, int64_t limit,
                           void (*fn)(void *arg, int64_t id, int64_t time, const char *actor,
                                      const char *action, const char *object, const char *detail),
                           void *arg);
};

extern const struct gw_db_ops gw_db_sqlite;
/* sqlite_exclusive: the conninfo that opens the SQLite registry at path
 * for this process alone, a SQLite URI naming the unix-excl VFS (one file
 * lock held while any handle is open, the WAL index in process memory), so
 * a read transaction makes no fcntl(2). Threads of this process still
 * share the registry; other processes cannot open it. BW_E_TOOBIG when it
 * does not fit in cap bytes. */
BW_NODISCARD bw_err gw_db_sqlite_exclusive_uri(const char *path, char *out, size_t cap);
extern const struct gw_db_ops gw_db_pg;

/* "sqlite:PATH" or "postgresql://..." / "postgres://..." / "pg:CONNINFO".
 * *conninfo points into url (the whole URL for postgres[ql]://). BW_E_INVAL
 * for another scheme or an empty PATH/CONNINFO. Thread-safe. */
BW_NODISCARD bw_err gw_db_pick(const char *url, const struct gw_db_ops **ops, const char **conninfo);

#endif
