/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's HTTPS server (http.c): start, stop, the bound port. */
#ifndef BULWARK_GATEWAY_HTTP_H
#define BULWARK_GATEWAY_HTTP_H

#include <stdio.h>
#include "gw.h"

/* Opens the registry (migrating its schema), reads the TLS files and
 * starts listening. Errors are explained on stderr. */
BW_NODISCARD bw_err gw_server_start(struct gw_server **out, const struct gw_conf *conf);
/* Stops accepting, finishes or closes open connections, closes the
 * registry handles. NULL-safe. */
void gw_server_stop(struct gw_server *s);
uint16_t gw_server_port(const struct gw_server *s);
/* A JSON string literal of s on f. */
void gw_json_string(FILE *f, const char *s);

#endif
