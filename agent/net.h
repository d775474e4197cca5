/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's side of the device API (agent/net.c) over the host
 * library's HTTP client (include/bwh/http.h): tokens, check-in, report,
 * the package download; one handle per cycle, or one kept across cycles
 * (agent_net_keep) with its TLS session and connection. */
#ifndef BULWARK_AGENT_NET_H
#define BULWARK_AGENT_NET_H

#include <openssl/ssl.h>

#include "agent.h"

struct agent_net;

/* Fault injection for the fleet simulator (--drop): this percentage of
 * requests is lost, half before it is sent, half with its answer (the
 * gateway did the work; the device never hears of it), the connection
 * dropped either way and BW_E_IO returned as for a network failure. 0 in
 * the daemon. Set before any request. */
extern unsigned agent_net_drop_pct;

/* Opens the device key (file backend), signs the first token, makes the
 * TLS context (no connection yet: the first request opens it).
 * BW_E_UNSUPPORTED for a key that cannot leave its backend; the key
 * backend's errors otherwise; BW_E_INVAL for a gateway URL that is not
 * https://HOST[:PORT][/PREFIX]; BW_E_IO when ca_cert cannot be read,
 * BW_E_KEY when OpenSSL refuses the certificate or key. Thread-safe for
 * distinct handles (the fleet simulator runs one per thread). The caller
 * ignores SIGPIPE (writes to a connection the gateway closed must fail,
 * not kill the process), as the agent's main does. */
BW_NODISCARD bw_err agent_net_open(struct agent_net **a, const struct agent_conf *c,
                                   const char *device_key, const char *device_cert,
                                   const char *device_id);
void agent_net_close(struct agent_net *a); /* NULL-safe */
/* The handle of the next cycle: *kept (NULL or a handle of an earlier
 * cycle) when it was made for the same key, certificate (its file's
 * bytes), device id, gateway URL, CA bundle (its bytes), audience and
 * crypto mode, now with c's limits; else *kept is closed (its TLS session
 * and connection with it) and a new one opened into *kept as
 * agent_net_open does. shared: NULL (the handle makes its own TLS
 * context), or a context with c's CA bundle that many devices share (the
 * fleet simulator): a file key and a certificate without a chain then go
 * on each connection instead. The caller keeps *kept between cycles,
 * calls agent_net_idle after each, and closes it in the end. */
BW_NODISCARD bw_err agent_net_keep(struct agent_net **kept, const struct agent_conf *c,
                                   SSL_CTX *shared, const char *device_key,
                                   const char *device_cert, const char *device_id);
/* The end of a cycle on a kept handle: the connection is closed unless
 * keep_connection (the TLS session stays either way, with tls_resume),
 * and the last answer's buffer is freed. NULL-safe. */
void agent_net_idle(struct agent_net *a);
/* Adds the TLS connections a's requests opened, and those of them that
 * resumed a session, to *connects and *resumed (a may be NULL). */
void agent_net_counts(const struct agent_net *a, uint64_t *connects, uint64_t *resumed);
/* POSTs json to path; *status gets the HTTP status and the body is kept
 * (agent_net_body). BW_E_IO when the gateway gave no answer. */
BW_NODISCARD bw_err agent_net_post(struct agent_net *a, const char *path, const char *json,
                                   long *status);
/* GETs path (the device API, with the token); as agent_net_post. */
BW_NODISCARD bw_err agent_net_get(struct agent_net *a, const char *path, long *status);
/* POSTs a base64 PKCS#10 request (application/pkcs10) to an EST path
 * (/.well-known/est/simpleenroll or simplereenroll), authenticated by the
 * handle's certificate; as agent_net_post. */
BW_NODISCARD bw_err agent_net_est(struct agent_net *a, const char *path, const char *b64,
                                  long *status);
/* Reports state (running, success, failure) with feedback on an action.
 * BW_E_IO: no answer or a 5xx, so the report stays owed; BW_OK otherwise
 * (a 409, already final, or a 404, action gone, leaves nothing more to
 * say; another refusal is printed on stderr). *status: the HTTP status. */
BW_NODISCARD bw_err agent_net_report(struct agent_net *a, int64_t action, const char *state,
                                     const char *feedback, long *status);
const char *agent_net_body(const struct agent_net *a);
/* The HTTP client of a (its TLS context with the device's certificate and
 * the gateway's CA), for other requests to the gateway on the same kept
 * connection (the TUF metadata). Owned by a. */
struct bwh_http *agent_net_http(struct agent_net *a);
size_t agent_net_body_len(const struct agent_net *a);
/* GETs /api/v1/device/KIND/SHA256 (kind "download": the package; "delta":
 * a delta) from byte have on into fd (positioned at have),
 * never past size bytes in all. A 200 answer to a Range request truncates
 * fd first. *got: bytes written into fd by this call. BW_E_IO when the
 * transfer broke off (what came stays in fd). */
BW_NODISCARD bw_err agent_net_download(struct agent_net *a, const char *kind,
                                       const char *sha256, int fd, uint64_t have, uint64_t size,
                                       uint64_t *got, long *status);

/* GETs len bytes at off of /api/v1/device/KIND/SHA256 into buf with a
 * Range request (a delta's parts). *got: bytes that came (all of len on
 * BW_OK with status 206). BW_E_IO when the transfer broke off; a 200
 * answer (Range ignored) or bytes not asked for end the transfer. */
BW_NODISCARD bw_err agent_net_range(struct agent_net *a, const char *kind, const char *sha256,
                                    uint64_t off, uint8_t *buf, size_t len, uint64_t *got,
                                    long *status);

/* One answer held in buf (len bytes), read as the client reads one from
 * the gateway (bwh_http_parse, host/http.c): status line, 1xx answers,
 * header fields within the default header limits, then a Content-Length,
 * chunked or close-delimited body into the body buffer (at most 65536
 * bytes), or, with download and a 200 or 206, into fd (at most size
 * bytes). For the fuzz target and tests; c is not read for now (no pacing
 * in memory). *status: the final status. BW_OK, or the client's error:
 * BW_E_FORMAT, BW_E_TOOBIG, BW_E_SIZE, BW_E_IO (the buffer ended
 * mid-answer), BW_E_NOMEM. */
BW_NODISCARD bw_err agent_net_parse_answer(const struct agent_conf *c, const uint8_t *buf,
                                           size_t len, int download, int fd, uint64_t size,
                                           long *status);

#endif
