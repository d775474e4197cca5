/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unauthenticated resources: /.well-known/security.txt (RFC 9116, from the
 * configuration), the CSAF 2.0 provider (/.well-known/csaf/: its metadata
 * and the TLP:WHITE documents operators published) and /healthz for load
 * balancers. Nothing else answers without a client certificate or an
 * operator token.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

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
    char csaf[GW_PATH_MAX + 80] = "";
    size_t at;

    if (*c->csaf_publisher && *c->csaf_namespace) {
        char base[GW_PATH_MAX];

        if (gw_link_base(q, base, sizeof(base)) == 0)
            snprintf(csaf, sizeof(csaf), "CSAF: %s/.well-known/csaf/provider-metadata.json\n",
                     base);
    }
    n = strlen(c->security_contact) + strlen(c->security_expires) + strlen(c->security_policy) +
        strlen(c->security_languages) + strlen(csaf) + 128;
    b = bwh_malloc(n);
    if (!b) {
        gw_error(r, 500, "nomem", "out of memory");
        return;
    }
    snprintf(b, n, "Contact: %s\nExpires: %s\n%s%s%s%s%s%s", c->security_contact,
             c->security_expires, *c->security_policy ? "Policy: " : "", c->security_policy,
             *c->security_policy ? "\n" : "", *c->security_languages ? "Preferred-Languages: " : "",
             c->security_languages, *c->security_languages ? "\n" : "");
    at = strlen(b);
    snprintf(b + at, n - at, "%s", csaf);
    gw_text(r, 200, "text/plain; charset=utf-8", b, strlen(b));
}

/* CSAF 2.0 section 7.1.7: the provider metadata, from the configuration. */
void gw_h_csaf_provider(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    char base[GW_PATH_MAX], canon[GW_PATH_MAX + 64], dir[GW_PATH_MAX + 64], when[32];
    time_t now = time(NULL);
    struct tm tm;
    json_t *o;

    if (!*c->csaf_publisher || !*c->csaf_namespace || gw_link_base(q, base, sizeof(base))) {
        gw_error(r, 404, "not_configured", "csaf_publisher and csaf_namespace are not set");
        return;
    }
    snprintf(canon, sizeof(canon), "%s/.well-known/csaf/provider-metadata.json", base);
    snprintf(dir, sizeof(dir), "%s/.well-known/csaf/white/", base);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    o = json_pack("{s:s,s:[{s:s}],s:s,s:b,s:s,s:b,s:{s:s,s:s,s:s},s:s}", "canonical_url", canon,
                  "distributions", "directory_url", dir, "last_updated", when,
                  "list_on_CSAF_aggregators", 0, "metadata_version", "2.0",
                  "mirror_on_CSAF_aggregators", 0, "publisher", "category", "vendor", "name",
                  c->csaf_publisher, "namespace", c->csaf_namespace, "role", "csaf_publisher");
    gw_json(r, 200, o ? json_dumps(o, JSON_INDENT(2)) : NULL);
    json_decref(o);
}

/* A file of the TLP:WHITE directory: index.txt, changes.csv or
 * YEAR/NAME.json with NAME of [a-z0-9+_-] (no other path is served). */
void gw_h_csaf_file(struct gw_req *q, struct gw_resp *r)
{
    const char *p = q->cap[0];
    size_t n = q->cap_len[0], i;
    char path[GW_PATH_MAX + 400];
    uint8_t *buf = NULL;
    size_t len = 0;
    int ok = 0, json = 0;

    if (n == 9 && !strncmp(p, "index.txt", 9))
        ok = 1;
    else if (n == 11 && !strncmp(p, "changes.csv", 11))
        ok = 1;
    else if (n > 10 && n < 300 && p[4] == '/' && !strncmp(p + n - 5, ".json", 5)) {
        ok = json = 1;
        for (i = 0; i < 4; i++)
            ok &= p[i] >= '0' && p[i] <= '9';
        for (i = 5; i < n - 5; i++)
            ok &= (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '+' ||
                  p[i] == '-' || p[i] == '_';
    }
    if (!ok || !*q->st->conf.csaf_publisher) {
        gw_error(r, 404, "not_found", "no such CSAF document");
        return;
    }
    snprintf(path, sizeof(path), "%s/csaf/white/%.*s", q->st->conf.blob_dir, (int)n, p);
    if (bwh_read_file(path, 4u << 20, &buf, &len)) {
        gw_error(r, 404, "not_found", "no such CSAF document");
        return;
    }
    gw_text(r, 200, json ? "application/json" : "text/plain; charset=utf-8", (char *)buf, len);
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
