/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet dashboard's three files, compiled into the gateway from
 * gateway/dashboard/ (CMake's bw_embed), served without credentials: they
 * hold no data. The page asks for an operator token and reads and steers
 * the fleet through the operator API with it, so the roles and the audit
 * log apply as they do to any other client. The policy allows scripts,
 * styles and requests of this origin only: no inline script, no other
 * site, no framing.
 */
#include <string.h>

#include "api.h"
#include "bwh/host.h"
#include "respond.h"

extern const unsigned char gw_dash_index_html[], gw_dash_app_js[], gw_dash_app_css[];
extern const size_t gw_dash_index_html_len, gw_dash_app_js_len, gw_dash_app_css_len;

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self';"
                          " connect-src 'self'; img-src 'self'; base-uri 'none';"
                          " form-action 'none'; frame-ancestors 'none'";

void gw_h_dashboard(struct gw_req *q, struct gw_resp *r)
{
    const unsigned char *data;
    const char *type;
    size_t len;
    char *b;

    if (!strcmp(q->path, "/dashboard/app.js")) {
        data = gw_dash_app_js;
        len = gw_dash_app_js_len;
        type = "text/javascript; charset=utf-8";
    } else if (!strcmp(q->path, "/dashboard/app.css")) {
        data = gw_dash_app_css;
        len = gw_dash_app_css_len;
        type = "text/css; charset=utf-8";
    } else { /* /dashboard, /dashboard/, /dashboard/index.html (routes.c) */
        data = gw_dash_index_html;
        len = gw_dash_index_html_len;
        type = "text/html; charset=utf-8";
    }
    b = bwh_malloc(len ? len : 1);
    if (!b) {
        gw_error(r, 500, "nomem", "out of memory");
        return;
    }
    memcpy(b, data, len);
    gw_text(r, 200, type, b, len);
    r->csp = csp;
}
