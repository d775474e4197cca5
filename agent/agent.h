/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-agent: the device daemon. It polls bulwark-gateway's device API
 * (docs/protocol.md) over mTLS with one device token per connection,
 * follows the update policy, downloads with resume, installs through the
 * install engine, reboots, health-checks, confirms or rolls back, and
 * reports every state. Not a library: the pieces below are split only so
 * the tests and the fuzz target can reach the parser.
 */
#ifndef BULWARK_AGENT_H
#define BULWARK_AGENT_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bulwark/bulwark.h"

#define AGENT_PATH_MAX 4096
#define AGENT_STR_MAX 256

enum agent_policy { POLICY_AUTOMATIC = 0, POLICY_NOTIFY, POLICY_MANUAL };

/* agent.conf: one table (agent/conf.c) parses it and prints the sample. */
struct agent_conf {
    char device_config[AGENT_PATH_MAX];
    char crypto_mode[16]; /* default | approved (bwh/cryptomode.h) */
    char gateway[AGENT_STR_MAX];
    char ca_cert[AGENT_PATH_MAX];
    char audience[AGENT_STR_MAX];
    char device_id[AGENT_STR_MAX];
    char state_dir[AGENT_PATH_MAX];
    char policy_name[16];
    char window[16];
    char reboot_command[AGENT_PATH_MAX];
    char health_command[AGENT_PATH_MAX];
    char attributes[AGENT_PATH_MAX];
    char version[AGENT_STR_MAX];
    uint64_t health_timeout;
    uint64_t poll_min, poll_max;
    uint64_t jitter;
    uint64_t retry_min, retry_max;
    uint64_t download_rate;
    uint64_t timeout;
    uint64_t low_speed_limit, low_speed_time;
    uint64_t request_timeout, download_timeout;
    uint64_t token_ttl;
    char tuf_metadata[AGENT_PATH_MAX]; /* "": DATA_DIR/tuf when it holds root.json; "off" */
    char tuf_url[AGENT_STR_MAX];       /* "": GATEWAY/tuf/metadata/ */
    char tuf_hardware[AGENT_STR_MAX];  /* this device's hardware, as targets name it */
    char secondaries[AGENT_PATH_MAX]; /* secondary.conf files, comma-separated */
    char consent_name[8];
    char update_lock[AGENT_PATH_MAX];
    uint64_t lock_max_hold;
    int enroll;                  /* EST: enroll and renew an operational certificate */
    int keep_connection;         /* the TLS connection stays open between polls */
    int tls_resume;              /* the TLS session is kept and resumed */
    char op_key[AGENT_PATH_MAX]; /* its key URI; "": the device key */
    /* derived */
    int consent;        /* every update waits for the user's consent */
    enum agent_policy policy;
    int window_start, window_end; /* minutes of the day; -1: no window */
};

/* Parses agent.conf; on error prints "PATH:LINE: reason" on stderr.
 * BW_E_FORMAT for a bad line or value, BW_E_IO for an unreadable file. */
BW_NODISCARD bw_err agent_conf_load(struct agent_conf *c, const char *path);
/* Prints every option with its help and default (the sample config). */
void agent_conf_sample(FILE *f);
/* "HH:MM-HH:MM" -> minutes of the day. BW_E_FORMAT. "" gives -1, -1. */
BW_NODISCARD bw_err agent_window_parse(const char *s, int *start, int *end);
/* Whether local minute-of-day m lies in [start, end) (wrapping midnight). */
int agent_window_open(int start, int end, int m);

/* The gateway's answer to a check-in (untrusted: agent/parse.c). */
struct agent_action {
    int64_t id, campaign;
    char type[16];    /* forced, soft, download-only */
    char state[32];
    char release[129];
    uint64_t sequence, size;
    char sha256[65];  /* lowercase hex */
    /* a delta made against the running release (docs/delta.md): its
     * digest and size, 0 when none is offered or it was refused */
    char delta_sha256[65];
    uint64_t delta_size;
    /* the gateway's word at the last check-in (kept in the state, so a
     * device that keeps waiting does not rewrite it at every poll) */
    int later;        /* "install":"later": download now, install on a trigger */
    int override;     /* "lock":"override": install although the update lock is held */
    int consent;      /* "consent":"required": wait for the user's consent */
};
struct agent_checkin {
    uint64_t poll_interval;
    int has_action;
    struct agent_action action;
};
#define AGENT_PKG_MAX ((uint64_t)1 << 40)
/* Parses {"poll_interval":N,"action":{...}|null}. Every field is checked:
 * poll_interval 1..604800, id > 0, type one of the three, release 1..128
 * printable bytes, size 1..2^40, sha256 64 lowercase hex digits, and the
 * download path must be exactly /api/v1/device/download/SHA256 (the agent
 * builds the URL itself and never follows another); an optional delta
 * likewise (its path exactly /api/v1/device/delta/SHA256). BW_E_FORMAT
 * otherwise, with *why naming the field. */
BW_NODISCARD bw_err agent_parse_checkin(const char *buf, size_t len, struct agent_checkin *out,
                                        const char **why);

/* --- the cycle (agent/cycle.c), run by the agent and the simulator --- */
struct agent_opts {
    int once;
    int verbose;
};
/* Set from a signal handler when the daemon is asked to stop: a transfer
 * in progress ends at once (a partial download is kept). */
extern volatile sig_atomic_t agent_stopping;

enum agent_phase { AGENT_PH_NONE = 0, AGENT_PH_OFFERED, AGENT_PH_INSTALLED, AGENT_PH_DONE };
extern const char *const agent_phase_names[4];

/* What a device's agent remembers across cycles, crashes and reboots (the
 * agent: STATE_DIR/state; a simulated device: its memory). */
struct agent_state {
    struct agent_action act; /* act.id == 0: none */
    enum agent_phase phase;
    int target;         /* slot installed into (AGENT_PH_INSTALLED), -1: none */
    uint64_t fetched;   /* bytes received for this action, all attempts */
    uint64_t resumed;   /* downloads resumed from a partial file */
    int said;           /* the "waiting" report for this action was sent */
    /* the device's say on this action (docs/agent.md) */
    int waiting;        /* what the last wait report said it waits for (enum agent_wait) */
    int consented;      /* the user consented to it */
    int staged;         /* downloaded and its digest verified: waits to be installed */
    int delta_refused;  /* the offered delta failed once: the full package from now on */
    int64_t locked_since; /* policy clock when its install first found the update lock held */
    char version[AGENT_STR_MAX]; /* release running, after a confirm */
    /* a report owed to the gateway */
    int64_t rep_action;
    char rep_state[16];
    char rep_feedback[512];
    /* the TUF client's word after the last refresh, sent at check-in as
     * the attribute "tuf" ("ok root N", "freeze: ...", "rollback: ...");
     * a security-log event is written when it changes */
    char tuf[160];
};
/* An empty state: no action, no report owed, target -1. */
void agent_state_init(struct agent_state *s);

/* The device as the cycle sees it while it is open (agent_env.dev_open):
 * its update engine over its slots and boot state, and, when asked for,
 * the release key and the vendor and class packages must name. */
struct bwh_tuf_target;
struct agent_dev {
    struct bw_update *u;
    const struct bw_ec_key *key;
    const uint8_t *vendor_id, *class_id;
    /* the TUF target the package must be (agent_pkg_pass checks its
     * manifest's vendor, class and sequence against it), or NULL */
    const struct bwh_tuf_target *tuf;
    /* A secondary (agent/secondary.c): the device installs and confirms
     * itself. u holds its reported boot state and, with with_key, the
     * target its install will write (u->target); it has no slots: the
     * package is verified here without being written, then handed to
     * agent_env.forward. */
    int remote;
};

/* What the environment counts for its own summary (agent_env.count). */
enum agent_count { AGENT_N_INSTALLED, AGENT_N_CONFIRMED, AGENT_N_REPORTS, AGENT_N_FAILURES,
                   AGENT_N_BYTES };

struct agent_net;
/*
 * The environment one agent cycle runs in: everything the cycle needs from
 * the device and the process, as a table of functions over ctx. The real
 * agent (agent/agent.c) fills it with files, device.conf, the device lock,
 * commands and the security log; the fleet simulator (agent/sim.c) with
 * memory. The cycle itself (agent/cycle.c) is the same for both. Members
 * marked "may be NULL" are optional; the others are required.
 */
struct agent_env {
    const struct agent_conf *c; /* policy, window, version, attributes, poll bounds */
    void *ctx;
    const char *tag;            /* put before every line printed ("" or "ID: ") */
    FILE *out;                  /* progress and reports; NULL: quiet */
    /* the state: load gives agent_state_init's state when there is none */
    bw_err (*load)(void *ctx, struct agent_state *s);
    bw_err (*save)(void *ctx, const struct agent_state *s);
    /* Opens the device: exclusive takes the device lock (an install or a
     * confirm follows), with_key loads the release key. One device open at
     * a time; dev_close is called after every dev_open, even a failed one. */
    bw_err (*dev_open)(void *ctx, int with_key, int exclusive, struct agent_dev *d,
                       const char **what);
    void (*dev_close)(void *ctx);
    /* Where the package of action sha256 is downloaded: an fd open for
     * reading and writing; its size is what a former attempt left (the
     * download resumes there). The cycle closes it. part_drop removes it. */
    bw_err (*part_open)(void *ctx, const char *sha256, int *fd);
    void (*part_drop)(void *ctx, const char *sha256);
    /* The transport to the gateway with this device's identity, and its
     * end: net_done gets it back after the cycle (NULL: it is closed),
     * to keep it for the next one (agent_net_keep, agent_net_idle). */
    bw_err (*net_open)(void *ctx, struct agent_net **n);
    void (*net_done)(void *ctx, struct agent_net *n);
    /* The health check of a trial boot: its exit status (0: healthy). */
    int (*health)(void *ctx, int slot);
    /* Reboots. Returns 1 when the device came up again at once and its
     * agent's next cycle is due now (the simulator), 0 otherwise. */
    int (*reboot)(void *ctx);
    /* The policy clock (seconds since the epoch). */
    int64_t (*clock)(void *ctx);
    /* The user's request files: install-now, postpone (its value in *val);
     * take removes it. 0: no such request. May be NULL (none). */
    int (*request)(void *ctx, const char *name, uint64_t *val, int take);
    /* The update lock (docs/agent.md): take 1 tries to take it for an
     * install without waiting: 0 taken (kept until take 0 releases it, at
     * the end of the cycle) or there is no lock; 1 an application holds it.
     * May be NULL (no lock). */
    int (*update_lock)(void *ctx, int take);
    /* A security-log event. May be NULL (no log). */
    void (*event)(void *ctx, const char *ev, const char *subject, const char *outcome);
    /* Hands a package that verified (fd, size bytes) to a remote device
     * (agent_dev.remote), which installs it itself. BW_OK: installed,
     * the device reboots into its trial; BW_E_IO: the device could not
     * be reached (kept, tried again); else the device's refusal. *what:
     * a line saying what happened. Required for remote devices. */
    bw_err (*forward)(void *ctx, int fd, uint64_t size, char *what, size_t cap);
    /* Counts for a summary. May be NULL. */
    void (*count)(void *ctx, enum agent_count what, uint64_t n);
    /* The directory of trusted TUF metadata (root.json ...), or NULL: no
     * TUF, the release key alone decides. With it, every cycle refreshes
     * the metadata from the gateway after the check-in, and an offered
     * package is installed only when it is a signed target of the same
     * name, length, SHA-256, vendor, class, sequence and hardware. */
    const char *tuf_dir;
};

/* One cycle in env: finish a boot in progress, send pending reports,
 * check in, act on the action. BW_OK; BW_E_IO when the gateway could not
 * be reached or answered 5xx (the caller backs off; all state is kept);
 * other codes for local failures. *poll receives the server's poll
 * interval (clamped), 0 when env->reboot said the device is up again. */
BW_NODISCARD bw_err agent_run_cycle(const struct agent_env *env, uint64_t *poll);
/* The wait (seconds) before the next cycle of a device whose cycle
 * returned rc and poll: the poll interval spread by +-jitter percent (0
 * for a poll of 0: the device just rebooted); after BW_E_IO (the gateway
 * unreachable) retry_min doubling with each failure counted in *fails, up
 * to retry_max, spread by +-50 % so a fleet does not come back in one
 * wave. Any other rc resets *fails. */
double agent_next_wait(const struct agent_conf *c, bw_err rc, uint64_t poll, unsigned *fails);
/* The check-in body for state s on a device running sequence seq: the
 * version is agent.conf's `version`, else the release the agent
 * confirmed, else "sequence N"; then seq and the attributes. NULL when
 * out of memory; free() the result (jansson's). */
char *agent_checkin_body(const struct agent_conf *c, const struct agent_state *s, uint64_t seq);
/*
 * The one read of a downloaded package (fd, size bytes), from byte 0 to
 * its end: every byte is hashed for the announced SHA-256 (sha256, 64
 * lowercase hex digits) and, with d, handed on to the core's install
 * stream (bulwark/update.h) after the envelope is authenticated with
 * d->key: the stream checks each chunk before d->u's slot sees it and
 * marks the slot for trial only after the whole file matched the announced
 * digest. BW_OK; BW_E_DIGEST/BW_E_SIZE with *stage "download" when the
 * file is not the announced one (any install is abandoned); the envelope
 * parser's and the install stream's errors with *stage naming the step
 * ("envelope", "device check", "payload", "finish"); BW_E_IO when the
 * file could not be read; BW_E_NOMEM. *nread: bytes read from fd.
 */
BW_NODISCARD bw_err agent_pkg_pass(int fd, uint64_t size, const char *sha256,
                                   const struct agent_dev *d, const char **stage,
                                   uint64_t *nread);

/* The real device's cycle: agent_run_cycle in the environment c
 * describes (agent/agent.c). */
struct agent_net;
/* kept: the transport kept between this device's cycles (NULL at first;
 * the caller closes it with agent_net_close in the end), or NULL: none
 * kept (a new one per cycle). */
BW_NODISCARD bw_err agent_cycle(const struct agent_conf *c, struct agent_net **kept,
                                uint64_t *poll);
/* The policy clock: BULWARK_AGENT_CLOCK (seconds since the epoch, for
 * tests) or the real time. Never used for tokens. */
int64_t agent_clock(void);
/* What a device waits for before it installs, as its wait reports say. */
enum agent_wait { AGENT_WAIT_NONE = 0, AGENT_WAIT_LATER, AGENT_WAIT_LOCK, AGENT_WAIT_CONSENT };
/* Writes the --install-now / --postpone / --consent request files; the
 * consent names the action offered (BW_E_STATE when none is). */
BW_NODISCARD bw_err agent_request_install(const struct agent_conf *c);
BW_NODISCARD bw_err agent_request_consent(const struct agent_conf *c);
/* --lock CMD: runs /bin/sh -c CMD holding a shared lock on the update
 * lock file (waiting while the agent installs); its exit status, or 1. */
int agent_lock_run(const struct agent_conf *c, const char *cmd);
BW_NODISCARD bw_err agent_request_postpone(const struct agent_conf *c, uint64_t seconds);
/* Prints the agent's state (JSON) on stdout. */
BW_NODISCARD bw_err agent_print_state(const struct agent_conf *c);

/* --- secondaries (agent/secondary.c, docs/mcu.md "Through a gateway") --- */
/* One microcontroller the agent acts for: its own agent.conf view (the
 * primary's with its device.conf, device id, state dir, attributes and
 * version) and its serial link. */
#define AGENT_SECONDARY_MAX 16
struct agent_secondary {
    struct agent_conf c;
    char serial[AGENT_PATH_MAX];
    uint64_t serial_timeout;
    char tag[160]; /* "ID: " before its lines */
};
/* Loads a secondary.conf for the agent configured by primary. BW_E_FORMAT
 * (said on stderr as "PATH: reason"), BW_E_IO. */
BW_NODISCARD bw_err agent_secondary_load(struct agent_secondary *s, const struct agent_conf *primary,
                                         const char *path);
void agent_secondary_sample(FILE *f);
/* Parses the device's state line (after "bw state "): booted, active,
 * trial (A, B or -), left, seqA, seqB (a number or -), floor, counter,
 * confirmed (0 or 1), each exactly once, nothing else. The floor
 * (highest_sequence) is the larger of floor and counter. BW_E_FORMAT. */
BW_NODISCARD bw_err agent_secondary_parse_state(const char *line, struct bw_bootstate *st,
                                                uint64_t *counter);
/* Asks the device for its state ("status"). BW_E_IO: no answer within
 * serial_timeout; BW_E_FORMAT: an answer that does not parse. */
BW_NODISCARD bw_err agent_secondary_status(const struct agent_secondary *s, struct bw_bootstate *st,
                                           uint64_t *counter);
/* Sends package pkg (size bytes, from byte 0) with "install N" and returns
 * the device's verdict as its code (BW_OK: installed, it resets into the
 * trial), BW_E_FORMAT for a verdict the protocol does not know, BW_E_IO
 * when the link failed or timed out. *verdict: the device's answer or
 * what went wrong. */
BW_NODISCARD bw_err agent_secondary_install(const struct agent_secondary *s, int pkg, uint64_t size,
                                            char *verdict, size_t cap);
/* One cycle for the secondary of path (agent/agent.c). */
BW_NODISCARD bw_err agent_secondary_cycle(const struct agent_conf *c, const char *path,
                                          uint64_t *poll);

/* --- the fleet simulators' scheduler (agent/sched.c) --- */
/* One device's place in the schedule (zero: due now). */
struct agent_slot {
    double next;      /* bwh_now() time its next cycle is due */
    unsigned fails;   /* unreachable cycles in a row (the backoff) */
    int done;         /* --once: nothing more to run */
};
/* Runs n devices' cycles in threads until agent_stopping, stop_at, or
 * (once) every device ran its cycle and, after a simulated reboot, the
 * next. Filled by the caller; the counts are the scheduler's. */
struct agent_sched {
    size_t n;
    unsigned threads;   /* 1..256, at most n */
    int once;
    double time_scale;  /* every wait divided by it (0: 1) */
    double stop_at;     /* bwh_now() time to stop at (0: none) */
    void *ctx;
    struct agent_slot *(*slot)(void *ctx, size_t i);
    const struct agent_conf *(*conf)(void *ctx, size_t i);
    /* per thread, may be NULL: init's failure counts as an error */
    bw_err (*thread_init)(void *ctx, void **tctx);
    void (*thread_fini)(void *tctx);
    /* one cycle of device i; *poll as agent_run_cycle's */
    bw_err (*cycle)(void *ctx, void *tctx, size_t i, uint64_t *poll);
    pthread_mutex_t lock;
    unsigned long cycles, unreachable, errors;
};
/* Returns the threads started. */
unsigned agent_sched_run(struct agent_sched *s);

/* --- the in-memory fleet simulator (agent/sim.c) --- */
struct agent_sim_opts {
    uint64_t n;               /* devices */
    unsigned threads;
    double time_scale;        /* every wait divided by this */
    double spread;            /* first cycles spread over these seconds */
    double duration;          /* stop after these seconds (0: until a signal) */
    uint64_t factory_sequence; /* sequence of the image each device starts with */
    int once, prepare, json, verbose;
    int until_renewed;        /* enroll = true: stop once every device renewed its certificate */
    const char *ca_dir;       /* manufacturing CA: ca.crt, ca.key (created if absent) */
    const char *fleet_dir;    /* keys, certificates, storage.key, registry.jsonl */
    const char *id_prefix;    /* device ids: PREFIX000001 ... */
};
/* Runs o->n simulated devices with c's gateway, poll and retry settings and
 * the release key, vendor, class and slot size of c->device_config, after
 * minting the identities missing in o->fleet_dir. Stops on agent_stopping,
 * after o->duration, or (o->once) when every device has run its cycle.
 * Prints a summary line (or JSON). Returns the exit status: 0, 1 (errors),
 * 2 (usage), 75 (--once and the gateway was unreachable). */
int agent_simulate_n(const struct agent_conf *c, const struct agent_sim_opts *o);

/* --- operational certificates over EST (agent/est.c) --- */

/* What one device's enrollment remembers between cycles (in memory: after
 * a restart the files say the rest). */
struct agent_est {
    int64_t next_try; /* no attempt before this time after a failure; 0: now */
    unsigned fails;   /* failures in a row (back-off) */
};
/* The files of dir (the state directory): op.crt, the operational
 * certificate in use, and op.crt.new, one issued and not yet confirmed. */
#define AGENT_EST_CRT "op.crt"
#define AGENT_EST_NEW "op.crt.new"
/* The identity a device presents: key and certificate. */
struct agent_ident {
    char key[AGENT_PATH_MAX];
    char cert[AGENT_PATH_MAX + 16];
    int operational;
};
/* Which identity the device API gets now: with enroll on and an
 * operational certificate in dir that has not expired, it and op_key (the
 * device key when op_key is ""); the birth certificate otherwise. */
void agent_est_ident(const struct agent_conf *c, const char *dir, const char *dev_key,
                     const char *dev_cert, int64_t now, struct agent_ident *out);
/*
 * One step of the certificate's life, run before each cycle: confirms an
 * op.crt.new left by an earlier step, enrolls (simpleenroll, authenticated
 * by the birth certificate) when there is no operational certificate or
 * it expired, renews (simplereenroll with the current one; simpleenroll
 * with the birth certificate if that is refused) once two thirds of its
 * lifetime, less a spread of up to a tenth taken from its fingerprint,
 * have passed. A new
 * certificate is written to op.crt.new (atomically) and replaces op.crt
 * (rename) only after a request authenticated with it succeeded
 * (GET /api/v1/device/whoami): the old one stays usable until then.
 * After a failure the next try waits retry_min doubling up to retry_max,
 * +-50 % (e: kept in memory by the caller, the simulator; NULL: in
 * dir/op.retry, the daemon). BW_OK: nothing due or done; BW_E_IO: the gateway was not
 * reached or refused (the old certificate stays); other codes for local
 * failures. Lines go to out (NULL: quiet) after tag.
 */
BW_NODISCARD bw_err agent_est_step(const struct agent_conf *c, struct agent_est *e, const char *dir,
                                   const char *dev_key, const char *dev_cert,
                                   const char *device_id, int64_t now, FILE *out,
                                   const char *tag);
/* When agent_est_step next has something to do (unix time; 0: now;
 * INT64_MAX: never, enroll off): the end of a back-off, or the renewal
 * time. A caller whose poll interval is longer wakes up then. */
int64_t agent_est_due(const struct agent_conf *c, const struct agent_est *e, const char *dir);
/* poll, or less when agent_est_due comes sooner (at least 1 s; 0 stays
 * 0). e as for agent_est_step. */
uint64_t agent_est_clamp(const struct agent_conf *c, const struct agent_est *e, const char *dir,
                         int64_t now, uint64_t poll);

#endif
