/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unauthenticated resources: /.well-known/security.txt (RFC 9116, from the
 * configuration) and /healthz for load balancers. Nothing else answers
 * without a client certificate or an operator token.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

int gw_api_public(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = gw_server_conf(q->srv);

    if (!strcmp(q->path, "/.well-known/security.txt") || !strcmp(q->path, "/security.txt")) {
        char *b;
        size_t n;

        if (strcmp(q->method, "GET") && strcmp(q->method, "HEAD")) {
            gw_error(r, 405, "method", "GET only");
            return 1;
        }
        /* RFC 9116 makes Contact and Expires mandatory: without them the
         * file would mislead, so it is not served at all. */
        if (!*c->security_contact || !*c->security_expires) {
            gw_error(r, 404, "not_configured", "security_contact and security_expires are not set");
            return 1;
        }
        n = strlen(c->security_contact) + strlen(c->security_expires) + strlen(c->security_policy) +
            strlen(c->security_languages) + 128;
        b = malloc(n);
        if (!b) {
            gw_error(r, 500, "nomem", "out of memory");
            return 1;
        }
        snprintf(b, n, "Contact: %s\nExpires: %s\n%s%s%s%s%s%s", c->security_contact,
                 c->security_expires, *c->security_policy ? "Policy: " : "", c->security_policy,
                 *c->security_policy ? "\n" : "",
                 *c->security_languages ? "Preferred-Languages: " : "", c->security_languages,
                 *c->security_languages ? "\n" : "");
        r->status = 200;
        r->body = b;
        r->body_len = strlen(b);
        r->content_type = "text/plain; charset=utf-8";
        return 1;
    }
    if (!strcmp(q->path, "/healthz")) {
        const struct gw_db_ops *ops;
        void *h;

        if (gw_db(q->srv, &ops, &h) != BW_OK) {
            gw_error(r, 503, "db", "registry unavailable");
            return 1;
        }
        gw_json(r, 200, strdup("{\"ok\":true}"));
        return 1;
    }
    return 0;
}
