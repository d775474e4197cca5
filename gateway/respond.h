/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer below the handlers (respond.c): building an answer (JSON, an
 * error body, a file), the one mapping of bw_err to an HTTP status, and
 * what a handler reads of the request beyond struct gw_req (a header, a
 * query argument, the link base). Handlers and http.c both use it; it
 * calls neither.
 */
#ifndef BULWARK_GATEWAY_RESPOND_H
#define BULWARK_GATEWAY_RESPOND_H

#include "gw.h"

/* The HTTP status for a failure rc: BW_OK 200; malformed input 400 (FORMAT,
 * INVAL, TRUNCATED, DEPTH, NONMINIMAL, TRAILING, UNSUPPORTED); BADSIG, KEY,
 * AUTH, CLAIM, EXPIRED, REPLAY 401; DENIED 403; NOTFOUND 404; EXISTS and
 * STATE 409; TOOBIG 413; QUOTA and LOCKED 429; anything else (NOMEM, IO,
 * the registry, crypto) 503: the gateway's trouble, retry later. */
int gw_http_status(bw_err rc);

/* r answers status with json (bwh_malloc'd, owned by r from now on; NULL
 * leaves an empty body: out of memory). */
void gw_json(struct gw_resp *r, int status, char *json);
/* r answers status with a copy of the JSON literal lit. */
void gw_json_lit(struct gw_resp *r, int status, const char *lit);
/* r answers status with {"error":CODE,"message":MSG}, MSG escaped. Any
 * body r held is released first. */
void gw_error(struct gw_resp *r, int status, const char *code, const char *msg);
/* gw_error with the status gw_http_status(rc). */
void gw_error_rc(struct gw_resp *r, bw_err rc, const char *code, const char *msg);
/* r answers status with body (bwh_malloc'd, owned by r) as content_type. */
void gw_text(struct gw_resp *r, int status, const char *content_type, char *body, size_t len);

/* This thread's registry handle for q (gw_db): 1, or 0 with 503 in r. */
int gw_registry(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops **ops, void **h);

/* A request header, or NULL. */
const char *gw_header(const struct gw_req *q, const char *name);
/* A query-string argument of the request (decoded), or NULL. */
const char *gw_query_arg(const struct gw_req *q, const char *name);
/* The base of every absolute link the gateway hands out (DDI, Mender):
 * public_url without a trailing '/', or "https://" and the listen address
 * when it is empty (port 0 there: the port the server bound); never the
 * request's Host header, which anyone can set. 0, or -1 when it does not
 * fit in cap. */
int gw_link_base(const struct gw_req *q, char *out, size_t cap);
/* A stored blob as the answer: ETag, If-None-Match, Range and If-Range. */
void gw_send_blob(struct gw_req *q, struct gw_resp *r, const char *digest);

#endif
