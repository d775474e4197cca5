/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route table and its walk (routes.h). Every path the gateway answers
 * is a row here, in the order the rows are tried; a path no row matches
 * is 404, a matching path with another method 405 (with Allow). The
 * row's credentials are checked before the method, so an unauthenticated
 * client learns nothing from 404 and 405 below a prefix that needs them.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bwh/host.h"
#include "respond.h"
#include "routes.h"

static void not_found(struct gw_req *q, struct gw_resp *r)
{
    (void)q;
    gw_error(r, 404, "not_found", "no such resource");
}

static void not_served(struct gw_req *q, struct gw_resp *r)
{
    (void)q;
    gw_error(r, 404, "not_found", "not served by this gateway");
}

#define GH (GW_GET | GW_HEAD)
#define ANY 0u

static const struct gw_route routes[] = {
    /* public: no credentials */
    {GH, "/.well-known/security.txt", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_security_txt},
    {GH, "/security.txt", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_security_txt},
    {ANY, "/healthz", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_healthz},
    /* CSAF 2.0 provider (TLP:WHITE advisories are public) */
    {GH, "/.well-known/csaf/provider-metadata.json", GW_AUTH_NONE, GW_ROLE_NONE, 0,
     gw_h_csaf_provider},
    {GH, "/.well-known/csaf/white/**", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_csaf_file},
    {GH, "/crl/devices.crl", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_crl},
    {GH, "/crl/devices.pem", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_crl},
    {GH, "/crl/operational.crl", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_crl},
    {GH, "/crl/operational.pem", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_crl},
    {GH, "/tuf/metadata/*", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_tuf},
    /* EST enrollment (RFC 7030): the client certificate is checked by the
     * handler, which knows which kind the path takes */
    {GH, "/.well-known/est/cacerts", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_est_cacerts},
    {GW_POST, "/.well-known/est/simpleenroll", GW_AUTH_EST, GW_ROLE_NONE, 0,
     gw_h_est_simpleenroll},
    {GW_POST, "/.well-known/est/simplereenroll", GW_AUTH_EST, GW_ROLE_NONE, 0,
     gw_h_est_simplereenroll},
    {ANY, "/.well-known/est/**", GW_AUTH_NONE, GW_ROLE_NONE, 0, not_found},
    /* the native device API */
    {GW_POST, "/api/v1/device/checkin", GW_AUTH_DEVICE, GW_ROLE_NONE, 0, gw_h_device_checkin},
    {GW_POST, "/api/v1/device/actions/{id}/report", GW_AUTH_DEVICE, GW_ROLE_NONE, 0,
     gw_h_device_report},
    {GH, "/api/v1/device/download/**", GW_AUTH_DEVICE, GW_ROLE_NONE, 0, gw_h_device_download},
    {GW_GET, "/api/v1/device/whoami", GW_AUTH_DEVICE, GW_ROLE_NONE, 0, gw_h_device_whoami},
    {GH, "/api/v1/device/delta/**", GW_AUTH_DEVICE, GW_ROLE_NONE, 0, gw_h_device_delta},
    {ANY, "/api/v1/device/**", GW_AUTH_DEVICE, GW_ROLE_NONE, 0, not_found},
    /* the operator API (roles finer than viewer are checked in the handlers
     * where they depend on the object) */
    {GW_GET, "/api/v1/whoami", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_whoami},
    {GW_GET, "/api/v1/audit", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_audit},
    {ANY, "/api/v1/devices", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_devices},
    {ANY, "/api/v1/devices/**", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_devices},
    /* GET first: its row's credentials are the ones a 405 is given after */
    {GW_GET, "/api/v1/releases", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_release_list},
    {GW_POST, "/api/v1/releases", GW_AUTH_OPERATOR, GW_ROLE_RELEASE, GW_ROUTE_UPLOAD,
     gw_h_op_release_upload},
    {GW_GET, "/api/v1/releases/{id}/sbom", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_release_sbom},
    {GW_PUT, "/api/v1/releases/{id}/sbom", GW_AUTH_OPERATOR, GW_ROLE_RELEASE, GW_ROUTE_UPLOAD,
     gw_h_op_release_sbom},
    {GW_PUT, "/api/v1/releases/{id}/deltas/*", GW_AUTH_OPERATOR, GW_ROLE_RELEASE, GW_ROUTE_UPLOAD,
     gw_h_op_release_delta},
    {GW_POST, "/api/v1/releases/{id}/deltas/*/build", GW_AUTH_OPERATOR, GW_ROLE_RELEASE, 0,
     gw_h_op_release_delta_build},
    {GW_GET, "/api/v1/releases/{id}/deltas/*/build", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0,
     gw_h_op_release_delta_build},
    {GW_GET, "/api/v1/releases/**", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_release_get},
    {GW_PUT, "/api/v1/vex", GW_AUTH_OPERATOR, GW_ROLE_RELEASE, GW_ROUTE_UPLOAD, gw_h_op_vex_put},
    {GW_GET, "/api/v1/exposure", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_exposure},
    {GW_PUT, "/api/v1/advisories", GW_AUTH_OPERATOR, GW_ROLE_RELEASE, GW_ROUTE_UPLOAD,
     gw_h_op_advisory_put},
    {ANY, "/api/v1/campaigns", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_campaigns},
    {ANY, "/api/v1/campaigns/**", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, gw_h_op_campaigns},
    {ANY, "/api/v1/**", GW_AUTH_OPERATOR, GW_ROLE_VIEWER, 0, not_found},
    /* hawkBit DDI: /TENANT/controller/v1/CONTROLLER/... (ddi.c parses the rest) */
    {ANY, "/*/controller/v1**", GW_AUTH_DDI, GW_ROLE_NONE, 0, gw_h_ddi},
    /* Mender: the auth request and the artifact link carry their own proof */
    {GW_POST, "/api/devices/v1/authentication/auth_requests", GW_AUTH_NONE, GW_ROLE_NONE, 0,
     gw_h_mender_auth_request},
    {GH, "/api/devices/v1/deployments/artifacts/**", GW_AUTH_NONE, GW_ROLE_NONE, 0,
     gw_h_mender_artifact},
    {GW_PUT | GW_PATCH, "/api/devices/v1/inventory/device/attributes", GW_AUTH_MENDER,
     GW_ROLE_NONE, 0, gw_h_mender_inventory},
    {GW_POST, "/api/devices/v2/deployments/device/deployments/next", GW_AUTH_MENDER,
     GW_ROLE_NONE, 0, gw_h_mender_next_v2},
    {GW_GET, "/api/devices/v1/deployments/device/deployments/next", GW_AUTH_MENDER,
     GW_ROLE_NONE, 0, gw_h_mender_next_v1},
    {GW_PUT, "/api/devices/v1/deployments/device/deployments/{id}/status", GW_AUTH_MENDER,
     GW_ROLE_NONE, 0, gw_h_mender_status},
    {ANY, "/api/devices/**", GW_AUTH_MENDER, GW_ROLE_NONE, 0, not_served},
    /* the dashboard: files without data, no credentials */
    {GH, "/dashboard", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_dashboard},
    {GH, "/dashboard/", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_dashboard},
    {GH, "/dashboard/index.html", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_dashboard},
    {GH, "/dashboard/app.js", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_dashboard},
    {GH, "/dashboard/app.css", GW_AUTH_NONE, GW_ROLE_NONE, 0, gw_h_dashboard},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
#define N_METHODS (sizeof(method_names) / sizeof(method_names[0]))

static unsigned int method_bit(const char *m)
{
    size_t i;

    for (i = 0; i < N_METHODS; i++)
        if (!strcmp(m, method_names[i]))
            return 1u << i;
    return 0;
}

/* "{id}" at path: its value, and how many characters it took (0: none) */
static size_t match_id(const char *p, int64_t *id)
{
    uint64_t v = 0;
    size_t n = 0;

    if (p[0] < '1' || p[0] > '9')
        return 0;
    for (; p[n] >= '0' && p[n] <= '9'; n++) {
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(p[n] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(p[n] - '0');
    }
    *id = (int64_t)v;
    return n;
}

/* 1 if path matches pattern (see routes.h); the captures go to q */
static int match(const char *pat, const char *path, struct gw_req *q)
{
    const char *cap[2] = {NULL, NULL};
    size_t cap_len[2] = {0, 0}, nc = 0, n;
    int64_t id = 0;

    while (*pat) {
        if (pat[0] == '*' && pat[1] == '*') {
            if (pat[2])
                return 0; /* only at the end */
            if (nc < 2) {
                cap[nc] = path;
                cap_len[nc++] = strlen(path);
            }
            path += strlen(path);
            pat += 2;
            break;
        }
        if (pat[0] == '*') {
            n = strcspn(path, "/");
            if (!n)
                return 0;
            if (nc < 2) {
                cap[nc] = path;
                cap_len[nc++] = n;
            }
            path += n;
            pat++;
            continue;
        }
        if (!strncmp(pat, "{id}", 4)) {
            n = match_id(path, &id);
            if (!n)
                return 0;
            path += n;
            pat += 4;
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++;
        path++;
    }
    if (*path)
        return 0;
    memcpy(q->cap, cap, sizeof(cap));
    memcpy(q->cap_len, cap_len, sizeof(cap_len));
    q->id = id;
    return 1;
}

const struct gw_route *gw_route_match(const char *method, const char *path, struct gw_req *q,
                                      const struct gw_route **with_method)
{
    unsigned int m = method_bit(method);
    size_t i, j;

    *with_method = NULL;
    for (i = 0; i < N_ROUTES; i++) {
        if (!match(routes[i].pattern, path, q))
            continue;
        for (j = i; j < N_ROUTES && !strcmp(routes[j].pattern, routes[i].pattern); j++) {
            if (!routes[j].methods || (routes[j].methods & m)) {
                *with_method = &routes[j];
                break;
            }
        }
        return &routes[i];
    }
    return NULL;
}

int gw_route_authorize(const struct gw_route *rt, struct gw_req *q, struct gw_resp *r)
{
    q->route = rt;
    q->min_role = rt->role;
    if ((rt->auth == GW_AUTH_DEVICE || rt->auth == GW_AUTH_DDI || rt->auth == GW_AUTH_MENDER ||
         rt->auth == GW_AUTH_EST) &&
        !q->device) {
        q->device = bwh_malloc(sizeof(*q->device));
        if (!q->device) {
            gw_error(r, 503, "nomem", "out of memory");
            return 0;
        }
    }
    switch (rt->auth) {
    case GW_AUTH_NONE:
    case GW_AUTH_EST:
        return 1;
    case GW_AUTH_DEVICE:
        return gw_auth_device(q, r);
    case GW_AUTH_OPERATOR:
        return gw_auth_operator(q, r);
    case GW_AUTH_DDI:
        return gw_auth_ddi(q, r);
    case GW_AUTH_MENDER:
        return gw_auth_mender(q, r);
    }
    gw_error(r, 500, "internal", "route without a credential kind");
    return 0;
}

void gw_route_done(struct gw_req *q)
{
    bwh_free(q->device);
    q->device = NULL;
}

/* 405 with the methods the path takes: Allow, and "GET only" or "PUT or PATCH" */
static void not_allowed(const struct gw_route *rt, struct gw_resp *r)
{
    char allow[64] = "", msg[64] = "";
    unsigned int mask = 0, said = 0;
    size_t i, k;

    for (k = (size_t)(rt - routes); k < N_ROUTES && !strcmp(routes[k].pattern, rt->pattern); k++)
        mask |= routes[k].methods;
    for (i = 0; i < N_METHODS; i++) {
        if (!(mask & (1u << i)))
            continue;
        snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
                 allow[0] ? ", " : "", method_names[i]);
        if ((1u << i) == GW_HEAD && (mask & GW_GET))
            continue; /* HEAD goes with GET without saying */
        snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s%s", said ? " or " : "",
                 method_names[i]);
        said++;
    }
    if (said == 1)
        snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " only");
    gw_error(r, 405, "method", msg);
    snprintf(r->extra_header, sizeof(r->extra_header), "Allow: %s", allow);
}

void gw_dispatch(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_route *rt, *wm;

    rt = gw_route_match(q->method, q->path, q, &wm);
    if (!rt) {
        gw_error(r, 404, "not_found", "no such resource");
        return;
    }
    if (gw_route_authorize(wm ? wm : rt, q, r)) {
        if (wm)
            wm->handle(q, r);
        else
            not_allowed(rt, r);
        if (q->device && r->fd >= 0)
            snprintf(r->device, sizeof(r->device), "%s", q->device->id);
    }
    gw_route_done(q);
}
