/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's route table and response layer without a server: which
 * row a method and path reach (404, 405 with Allow), the {id} and '*'
 * patterns, bw_err -> HTTP status, a dispatch end to end for rows that
 * need no registry, the operator-token file's strict parsing, and
 * bwh_strndup.
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bwh/host.h"
#include "respond.h"
#include "routes.h"
#include "t.h"

/* the pattern of the row method + path reaches, "" for none, "405" for a
 * path that matches with another method */
static const char *reach(const char *method, const char *path, struct gw_req *q)
{
    const struct gw_route *rt, *wm;

    memset(q, 0, sizeof(*q));
    rt = gw_route_match(method, path, q, &wm);
    if (!rt)
        return "";
    return wm ? wm->pattern : "405";
}

static void test_match(void)
{
    struct gw_req q;

    CHECK(!strcmp(reach("POST", "/api/v1/device/checkin", &q), "/api/v1/device/checkin"));
    CHECK(!strcmp(reach("GET", "/api/v1/device/checkin", &q), "405"));
    CHECK(!strcmp(reach("POST", "/api/v1/device/actions/42/report", &q),
                  "/api/v1/device/actions/{id}/report"));
    CHECK(q.id == 42);
    /* ids: no zero, no leading zero, no sign, nothing past INT64_MAX */
    CHECK(!strcmp(reach("POST", "/api/v1/device/actions/0/report", &q), "/api/v1/device/**"));
    CHECK(!strcmp(reach("POST", "/api/v1/device/actions/07/report", &q), "/api/v1/device/**"));
    CHECK(!strcmp(reach("POST", "/api/v1/device/actions/+7/report", &q), "/api/v1/device/**"));
    CHECK(!strcmp(reach("PUT", "/api/devices/v1/deployments/device/deployments/"
                                "9223372036854775807/status", &q),
                  "/api/devices/v1/deployments/device/deployments/{id}/status"));
    CHECK(q.id == INT64_MAX);
    CHECK(!strcmp(reach("PUT", "/api/devices/v1/deployments/device/deployments/"
                                "9223372036854775808/status", &q),
                  "/api/devices/**"));
    /* "**" takes the rest, slashes too */
    CHECK(!strcmp(reach("GET", "/api/v1/device/download/ab/cd", &q),
                  "/api/v1/device/download/**"));
    CHECK(q.cap_len[0] == 5 && !strncmp(q.cap[0], "ab/cd", 5));
    /* the operator API behind the device API; "devices" is not "device/" */
    CHECK(!strcmp(reach("GET", "/api/v1/devices", &q), "/api/v1/devices"));
    CHECK(!strcmp(reach("GET", "/api/v1/devicesx", &q), "/api/v1/**"));
    CHECK(!strcmp(reach("PUT", "/api/v1/releases", &q), "405"));
    CHECK(!strcmp(reach("POST", "/api/v1/releases", &q), "/api/v1/releases"));
    /* DDI: '*' is one non-empty segment */
    CHECK(!strcmp(reach("GET", "/default/controller/v1/dev-1", &q), "/*/controller/v1**"));
    CHECK(q.cap_len[0] == 7 && !strncmp(q.cap[0], "default", 7));
    CHECK(!strcmp(reach("GET", "//controller/v1/dev-1", &q), ""));
    CHECK(!strcmp(reach("GET", "/a/b/controller/v1/dev-1", &q), ""));
    /* nothing else */
    CHECK(!strcmp(reach("GET", "/", &q), ""));
    CHECK(!strcmp(reach("GET", "/dashboard/x", &q), ""));
    CHECK(!strcmp(reach("BREW", "/dashboard/", &q), "405"));
    CHECK(!strcmp(reach("BREW", "/healthz", &q), "/healthz"));
}

static void test_status(void)
{
    CHECK(gw_http_status(BW_OK) == 200);
    CHECK(gw_http_status(BW_E_FORMAT) == 400);
    CHECK(gw_http_status(BW_E_BADSIG) == 401);
    CHECK(gw_http_status(BW_E_NOTFOUND) == 404);
    CHECK(gw_http_status(BW_E_EXISTS) == 409);
    CHECK(gw_http_status(BW_E_STATE) == 409);
    CHECK(gw_http_status(BW_E_TOOBIG) == 413);
    CHECK(gw_http_status(BW_E_QUOTA) == 429);
    CHECK(gw_http_status(BW_E_NOMEM) == 503);
    CHECK(gw_http_status(BW_E_IO) == 503);
}

static void dispatch(struct gw_state *st, const char *method, const char *path, struct gw_resp *r)
{
    struct gw_req q;

    memset(&q, 0, sizeof(q));
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    q.method = method;
    q.path = path;
    q.st = st;
    gw_dispatch(&q, r);
}

static void test_dispatch(struct gw_state *st)
{
    struct gw_resp r;

    dispatch(st, "GET", "/dashboard/app.css", &r);
    CHECK(r.status == 200 && r.body_len > 0 && r.csp);
    bwh_free(r.body);
    dispatch(st, "POST", "/dashboard/", &r);
    CHECK(r.status == 405 && !strcmp(r.extra_header, "Allow: GET, HEAD"));
    CHECK(r.body && strstr(r.body, "\"GET only\""));
    bwh_free(r.body);
    dispatch(st, "POST", "/nowhere", &r);
    CHECK(r.status == 404 && r.body && strstr(r.body, "\"not_found\""));
    bwh_free(r.body);
    /* security.txt is not served without Contact and Expires */
    dispatch(st, "GET", "/.well-known/security.txt", &r);
    CHECK(r.status == 404);
    bwh_free(r.body);
    /* an error body escapes what it quotes */
    memset(&r, 0, sizeof(r));
    gw_error(&r, 400, "x", "a \"b\"\n");
    CHECK(r.body && !strcmp(r.body, "{\"error\":\"x\",\"message\":\"a \\\"b\\\"\\n\"}"));
    bwh_free(r.body);
}

/* operator_tokens: "ROLE NAME HEX" with exactly 64 hex digits; what sscanf
 * once let through ("+a" as a hex pair, a 65th digit) loads no operator */
static void test_operators(struct gw_state *st)
{
    static const char good[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char path[] = "/tmp/test_gw_routes.XXXXXX", bad[80];
    FILE *f;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    f = fopen(path, "w");
    fprintf(f, "# comment\nadmin alice %s\n\nviewer\tbob  %s \n", good, good);
    fclose(f);
    CHECK_RC(gw_operators_reload(st, path), BW_OK);
    CHECK(st->n_operators == 2 && st->operators[1].role == GW_ROLE_VIEWER);
    snprintf(bad, sizeof(bad), "+a%s", good + 2);
    f = fopen(path, "w");
    fprintf(f, "admin alice %s\n", bad);
    fclose(f);
    CHECK_RC(gw_operators_reload(st, path), BW_E_FORMAT);
    f = fopen(path, "w");
    fprintf(f, "admin alice %s0\n", good);
    fclose(f);
    CHECK_RC(gw_operators_reload(st, path), BW_E_FORMAT);
    f = fopen(path, "w");
    fprintf(f, "admin alice %s extra\n", good);
    fclose(f);
    CHECK_RC(gw_operators_reload(st, path), BW_E_FORMAT);
    CHECK(st->n_operators == 0);
    unlink(path);
}

static void test_strdup(void)
{
    char *s = bwh_strndup("abcdef", 3), *t = bwh_strdup("xy");

    CHECK(s && !strcmp(s, "abc"));
    CHECK(t && !strcmp(t, "xy"));
    CHECK(!bwh_strdup(NULL));
    bwh_free(s);
    bwh_free(t);
}

int main(void)
{
    static struct gw_state st;
    struct gw_conf conf;

    memset(&conf, 0, sizeof(conf));
    snprintf(conf.database, sizeof(conf.database), "nosuchkind:x");
    CHECK(gw_state_init(&st, &conf) != BW_OK);
    gw_state_fini(&st);
    snprintf(conf.database, sizeof(conf.database), "sqlite:/nonexistent/x.db");
    conf.token_replay_slots = 16;
    CHECK_RC(gw_state_init(&st, &conf), BW_OK);
    test_match();
    test_status();
    test_dispatch(&st);
    test_operators(&st);
    test_strdup();
    gw_state_fini(&st);
    T_DONE();
}
