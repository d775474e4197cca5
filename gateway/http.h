/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's HTTPS server (http.c): start, stop, reload, the bound
 * port. The top of the gateway: main.c alone calls it. */
#ifndef BULWARK_GATEWAY_HTTP_H
#define BULWARK_GATEWAY_HTTP_H

#include "gw.h"

struct gw_server;

/* Opens the registry (migrating its schema), reads the TLS files and
 * starts listening. Errors are explained on stderr. */
BW_NODISCARD bw_err gw_server_start(struct gw_server **out, const struct gw_conf *conf);
/* Stops accepting, finishes or closes open connections, closes the
 * registry handles. NULL-safe. */
void gw_server_stop(struct gw_server *s);
/* SIGHUP: reads tls_cert/tls_key, client_ca/client_crl and
 * operator_tokens again. Fail closed: a certificate or key that does not
 * load keeps the old pair (the server stays reachable and still proves
 * who it is); a CA or CRL that does not load leaves no client certificate
 * accepted, and a bad operator file no operator, until a reload succeeds.
 * Returns the first error (its message is on stderr) or BW_OK. */
BW_NODISCARD bw_err gw_server_reload(struct gw_server *s);
uint16_t gw_server_port(const struct gw_server *s);
/* Starts the background work that is not needed to answer requests (the
 * delta builder, delta_build.h); stopped by gw_server_stop. BW_E_NOMEM. */
BW_NODISCARD bw_err gw_server_background(struct gw_server *s);

#endif
