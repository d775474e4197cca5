/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unauthenticated resources: /.well-known/security.txt (RFC 9116, from the
 * configuration) and /healthz for load balancers. Nothing else answers
 * without a client certificate or an operator token.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bwh/host.h"
#include "respond.h"

void gw_h_security_txt(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    char *b;
    size_t n;

    /* RFC 9116 makes Contact and Expires mandatory: without them the
     * file would mislead, so it is not served at all. */
    if (!*c->security_contact || !*c->security_expires) {
        gw_error(r, 404, "not_configured", "security_contact and security_expires are not set");
        return;
    }
    n = strlen(c->security_contact) + strlen(c->security_expires) + strlen(c->security_policy) +
        strlen(c->security_languages) + 128;
    b = bwh_malloc(n);
    if (!b) {
        gw_error(r, 500, "nomem", "out of memory");
        return;
    }
    snprintf(b, n, "Contact: %s\nExpires: %s\n%s%s%s%s%s%s", c->security_contact,
             c->security_expires, *c->security_policy ? "Policy: " : "", c->security_policy,
             *c->security_policy ? "\n" : "", *c->security_languages ? "Preferred-Languages: " : "",
             c->security_languages, *c->security_languages ? "\n" : "");
    gw_text(r, 200, "text/plain; charset=utf-8", b, strlen(b));
}

void gw_h_healthz(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    void *h;

    if (gw_db(q->st, &ops, &h) != BW_OK) {
        gw_error(r, 503, "db", "registry unavailable");
        return;
    }
    gw_json_lit(r, 200, "{\"ok\":true}");
}
