/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's routes (routes.c): one table of (methods, path pattern,
 * credentials, handler) that http.c walks for every request. The table is
 * the map of the HTTP surface; docs/gateway.md lists the same rows.
 */
#ifndef BULWARK_GATEWAY_ROUTES_H
#define BULWARK_GATEWAY_ROUTES_H

#include "gw.h"

/* Methods, as a mask; a row with 0 takes any method (its handler answers). */
enum {
    GW_GET = 1u << 0,
    GW_HEAD = 1u << 1,
    GW_POST = 1u << 2,
    GW_PUT = 1u << 3,
    GW_PATCH = 1u << 4,
    GW_DELETE = 1u << 5,
};

/* The credentials a row needs, checked before its handler runs (and,
 * for an upload, before the first body byte is read). */
enum gw_auth {
    GW_AUTH_NONE = 0, /* none, or the handler checks its own (Mender auth request, links) */
    GW_AUTH_DEVICE,   /* client certificate of an accepted device + device token */
    GW_AUTH_EST,      /* client certificate of an accepted device, checked by api_est.c */
    GW_AUTH_OPERATOR, /* operator token with at least the row's role */
    GW_AUTH_DDI,      /* the path's controller: its certificate or its TargetToken */
    GW_AUTH_MENDER,   /* a device JWT this gateway issued */
};

/* the body is a release upload, streamed to a temporary file */
#define GW_ROUTE_UPLOAD 1u

typedef void (*gw_handler)(struct gw_req *q, struct gw_resp *r);

/* Pattern: literal characters; '*' one or more characters other than
 * '/'; "{id}" a decimal id 1..INT64_MAX without leading zero (q->id);
 * "**" at the end, whatever remains, possibly nothing. '*' and '**'
 * captures land in q->cap[] in order. Rows with the same pattern are
 * adjacent and differ only in methods and handler. */
struct gw_route {
    unsigned int methods;
    const char *pattern;
    enum gw_auth auth;
    enum gw_role role; /* GW_AUTH_OPERATOR: the least role */
    unsigned int flags;
    gw_handler handle;
};

/* The first row whose pattern matches path (fills q->cap, q->id), or
 * NULL; *with_method is the row of that pattern that takes method, or
 * NULL (405). */
const struct gw_route *gw_route_match(const char *method, const char *path, struct gw_req *q,
                                      const struct gw_route **with_method);
/* Checks rt's credentials for q: 1, or 0 with the refusal in r. The
 * device record it may fill (q->device) is released by gw_route_done. */
int gw_route_authorize(const struct gw_route *rt, struct gw_req *q, struct gw_resp *r);
void gw_route_done(struct gw_req *q);
/* Finds q's row, checks its credentials and method, runs its handler:
 * r always holds an answer afterwards. */
void gw_dispatch(struct gw_req *q, struct gw_resp *r);

#endif
