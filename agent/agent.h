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
    /* derived */
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
 * builds the URL itself and never follows another). BW_E_FORMAT
 * otherwise, with *why naming the field. */
BW_NODISCARD bw_err agent_parse_checkin(const char *buf, size_t len, struct agent_checkin *out,
                                        const char **why);

/* --- the cycle (agent/agent.c) --- */
struct agent_opts {
    int once;
    int verbose;
};
/* Set from a signal handler when the daemon is asked to stop: a transfer
 * in progress ends at once (a partial download is kept). */
extern volatile sig_atomic_t agent_stopping;

/* One cycle: finish a boot in progress, send pending reports, check in,
 * act on the action. BW_OK; BW_E_IO when the gateway could not be reached
 * or answered 5xx (the caller backs off; all state is kept); other codes
 * for local failures. *poll receives the server's poll interval (clamped). */
/* The install steps the agent and the fleet simulator share: the opened
 * package p checked against vendor_id and class_id by the engine u,
 * streamed into it (every chunk verified before it is written) and
 * finished; *target: the slot written. *stage names the step that failed.
 * On an error the install is abandoned. */
struct bwh_pkg;
struct bw_update;
BW_NODISCARD bw_err agent_install_pkg(struct bwh_pkg *p, struct bw_update *u,
                                      const uint8_t vendor_id[16], const uint8_t class_id[16],
                                      uint8_t *target, const char **stage);
BW_NODISCARD bw_err agent_cycle(const struct agent_conf *c, uint64_t *poll);
/* The policy clock: BULWARK_AGENT_CLOCK (seconds since the epoch, for
 * tests) or the real time. Never used for tokens. */
int64_t agent_clock(void);
/* Writes the --install-now / --postpone request files. */
BW_NODISCARD bw_err agent_request_install(const struct agent_conf *c);
BW_NODISCARD bw_err agent_request_postpone(const struct agent_conf *c, uint64_t seconds);
/* Prints the agent's state (JSON) on stdout. */
BW_NODISCARD bw_err agent_print_state(const struct agent_conf *c);

/* --- the in-memory fleet simulator (agent/sim.c) --- */
struct agent_sim_opts {
    uint64_t n;               /* devices */
    unsigned threads;
    double time_scale;        /* every wait divided by this */
    double spread;            /* first cycles spread over these seconds */
    double duration;          /* stop after these seconds (0: until a signal) */
    uint64_t factory_sequence; /* sequence of the image each device starts with */
    int once, prepare, json, verbose;
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

#endif
