/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's delta builder (docs/delta.md, "Through the gateway"): a
 * bounded queue and one background thread that builds, one at a time,
 * the deltas a release is served with, for the source releases its
 * running campaigns' devices run (delta_sources) or that an operator
 * asks for. Each build runs in a child process (this binary, a hidden
 * --build-delta mode); the result is checked and stored exactly as an
 * upload (delta.c). Never on a request thread: the handlers only queue
 * and read status.
 */
#ifndef BULWARK_GW_DELTA_BUILD_H
#define BULWARK_GW_DELTA_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "gw.h"

#define GW_DBUILD_JOBS 64      /* queued, building and failed builds remembered */
#define GW_DBUILD_RESCAN_S 60  /* seconds between looks at the dynamic campaigns */
#define GW_DBUILD_MAX_S 3600   /* a build still running then is killed and failed */

enum gw_dbuild_state {
    GW_DBUILD_NONE = 0, /* not queued, not built (ready is the delta record: delta.h) */
    GW_DBUILD_QUEUED,
    GW_DBUILD_BUILDING,
    GW_DBUILD_FAILED
};
/* "none", "queued", "building", "failed" */
const char *gw_dbuild_state_name(enum gw_dbuild_state s);

/* Starts the builder of st (st->dbuild): removes what builds of dead
 * gateway processes left in blob_dir/tmp, starts the thread, which looks
 * at the running campaigns at once (a build a restart interrupted is
 * queued again), after gw_dbuild_kick, and at the dynamic ones every
 * GW_DBUILD_RESCAN_S seconds. BW_E_NOMEM. */
BW_NODISCARD bw_err gw_dbuild_start(struct gw_state *st);
/* Stops the thread (a build in progress: its child is killed and its
 * files removed, no record is written) and frees st->dbuild. NULL-safe. */
void gw_dbuild_stop(struct gw_state *st);
/* Asks the thread to look at the campaigns now (a campaign was created).
 * Never blocks on a build. Thread-safe. */
void gw_dbuild_kick(struct gw_state *st);
/* Queues the delta of release rel_id for devices running src_id (source
 * sequence src_seq), an operator's request: a failed one is queued
 * again, a queued or building one stays. BW_E_QUOTA when the queue is
 * full. Thread-safe. */
BW_NODISCARD bw_err gw_dbuild_request(struct gw_state *st, int64_t rel_id, int64_t src_id,
                                      int64_t src_seq);
/* The builder's state of that delta, and for a failed one why (err, cap
 * bytes). Thread-safe. */
enum gw_dbuild_state gw_dbuild_status(struct gw_state *st, int64_t rel_id, int64_t src_id,
                                      char *err, size_t cap);
/* Calls fn for each queued, building or failed delta of rel_id (under the
 * builder's lock: fn must not call the builder). Thread-safe. */
void gw_dbuild_each(struct gw_state *st, int64_t rel_id,
                    void (*fn)(void *arg, int64_t src_id, int64_t src_seq,
                               enum gw_dbuild_state s, const char *err),
                    void *arg);

/* The child: `bulwark-gateway --build-delta PPID KEYS SOURCE_PKG TARGET_PKG
 * DIR LEVEL MAX_IMAGE` (argv after the flag). Authenticates the source
 * package with one of the release keys, writes its image into
 * DIR/source.img with every chunk checked against the signed chunk list
 * (and the whole image against its signed digest), then makes
 * DIR/delta.bwd with bwh_delta_make. Exit 0, or 1 with the reason on
 * stderr. */
int gw_dbuild_child(int argc, char **argv);

#endif
