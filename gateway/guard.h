/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection guard: what keeps one hostile client from taking the
 * gateway's connection slots, descriptors or disk. It knows every
 * connection's phase and deadline, counts unauthenticated connections per
 * address and in all, and reserves release-upload bytes. It holds no
 * socket and no libmicrohttpd type: http.c tells it what happens and it
 * answers with the descriptors to shut down (through the shut callback),
 * so the rules are tested on their own (tests/unit/test_guard.c) with an
 * injected clock. docs/gateway.md, "Deployment and limits", lists them.
 */
#ifndef BULWARK_GATEWAY_GUARD_H
#define BULWARK_GATEWAY_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "bulwark/err.h"

struct gw_guard_conf {
    double header_timeout; /* anonymous: connect or last answer -> complete headers */
    double idle_timeout;   /* authenticated: last answer -> complete headers */
    double body_timeout;   /* headers -> answer, for a request that is not an upload */
    size_t max_conns;      /* connections the server admits in all */
    size_t max_anonymous;  /* unauthenticated connections; past it the oldest waiting goes */
    size_t max_per_address; /* unauthenticated connections from one address */
    uint64_t max_upload_inflight; /* bytes of uploads reserved at once */
};

/* One connection as the guard sees it; embedded in the caller's
 * per-connection context. Its fields belong to the guard. */
struct gw_guard_conn {
    struct gw_guard_conn *prev, *next; /* in one of the guard's phase lists */
    int list;                           /* which list, or 0 for none */
    int fd;
    uint8_t addr[16];                   /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
    double since;                       /* start of the current deadline */
    int authenticated;
    int shut;                           /* shutdown asked; the server will close it */
};

struct gw_guard;

/* Called with the guard's lock held for each connection whose deadline
 * passed or that was evicted: shut the descriptor down (shutdown(2), not
 * close: the server still owns it and closes it when it notices). */
typedef void (*gw_guard_shut_fn)(void *arg, int fd);

/* A guard for c. BW_E_NOMEM, BW_E_INVAL (a zero limit). Free with
 * gw_guard_free (NULL-safe). Every function below is thread-safe. */
BW_NODISCARD bw_err gw_guard_new(struct gw_guard **out, const struct gw_guard_conf *c,
                                 gw_guard_shut_fn shut, void *arg);
void gw_guard_free(struct gw_guard *g);

/* The address as the guard keys it: 16 bytes from a sockaddr_in or
 * sockaddr_in6; 0 when the family is neither. */
int gw_guard_addr(const void *sockaddr, size_t len, uint8_t out[16]);

/* At accept: 1 when one more unauthenticated connection from addr is
 * allowed (max_per_address), 0 to refuse it. */
int gw_guard_admit(struct gw_guard *g, const uint8_t addr[16]);

/* A connection started (anonymous, waiting for its first headers). When
 * that puts the anonymous count over max_anonymous, a waiting anonymous
 * connection is shut: among the 64 that have waited longest, the oldest of
 * the address that holds the most unauthenticated connections. */
void gw_guard_open(struct gw_guard *g, struct gw_guard_conn *k, int fd, const uint8_t addr[16],
                   double now);
/* The connection is gone (after its last use by the server). */
void gw_guard_close(struct gw_guard *g, struct gw_guard_conn *k);
/* Its headers are complete. upload: the body may run longer than
 * body_timeout (an authorised upload; the server's idle timeout still
 * applies). */
void gw_guard_request(struct gw_guard *g, struct gw_guard_conn *k, int upload, double now);
/* The answer is queued: no guard deadline while it is sent. */
void gw_guard_answered(struct gw_guard *g, struct gw_guard_conn *k);
/* The request is over; the connection waits for the next headers. */
void gw_guard_done(struct gw_guard *g, struct gw_guard_conn *k, double now);
/* The connection proved who it is: no longer counted as anonymous. */
void gw_guard_authenticated(struct gw_guard *g, struct gw_guard_conn *k);

/* Shuts every connection whose deadline passed at now; returns the
 * seconds until the next deadline (at most 1). */
double gw_guard_sweep(struct gw_guard *g, double now);

/* Reserves n upload bytes: 1 when they fit under max_upload_inflight
 * (then gw_guard_upload_release(n) must follow), 0 when not. */
int gw_guard_upload_reserve(struct gw_guard *g, uint64_t n);
void gw_guard_upload_release(struct gw_guard *g, uint64_t n);

struct gw_guard_stats {
    size_t conns, anonymous, waiting_anonymous, addresses;
    uint64_t upload_bytes;
    uint64_t evicted, expired, refused;
};
void gw_guard_stats(struct gw_guard *g, struct gw_guard_stats *st);

#endif
