/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hawkBit DDI wire format (gateway/ddi.c). The bodies are the ones
 * recorded from Debian's swupdate 2022.12 (suricatta) and the hawkBit DDI
 * model classes, as written down in the project's interop notes: the
 * feedback forms of both, configData with SWUpdate's extra members, the
 * cancel acknowledgement; then paths, caps and the answers' shape.
 */
#define _DEFAULT_SOURCE
#include <jansson.h>

#include "ddi.h"
#include "t.h"

static bw_err fb(const char *body, struct gw_ddi_feedback *f)
{
    const char *why = "";
    bw_err rc = gw_ddi_parse_feedback((const uint8_t *)body, strlen(body), f, &why);

    CHECK(why != NULL);
    return rc;
}

static void feedback(void)
{
    static struct gw_ddi_feedback f;
    static char big[3 * GW_FEEDBACK_MAX];
    size_t n;

    /* SWUpdate, installing: id and time at the top, no timestamp */
    CHECK_RC(fb("{\"id\":7,\"time\":\"20261129T062001\",\"status\":{\"result\":{\"progress\":"
                "{\"cnt\":0,\"of\":1},\"finished\":\"none\"},\"execution\":\"proceeding\","
                "\"details\":[\"Installing Update Chunk Artifacts.\"]}}",
                &f),
             BW_OK);
    CHECK(f.id == 7 && f.execution == GW_DDI_PROCEEDING && f.finished == GW_DDI_NONE &&
          f.cnt == 0 && f.of == 1 && !strcmp(f.details, "Installing Update Chunk Artifacts.") &&
          gw_ddi_state(&f) == GW_ACTION_RUNNING);
    /* SWUpdate after the reboot: closed + success */
    CHECK_RC(fb("{\"id\":7,\"time\":\"20261129T062301\",\"status\":{\"result\":{\"finished\":"
                "\"success\"},\"execution\":\"closed\",\"details\":[\"Update Installed.\"]}}",
                &f),
             BW_OK);
    CHECK(gw_ddi_state(&f) == GW_ACTION_SUCCESS);
    /* a rogue-signed .swu */
    CHECK_RC(fb("{\"id\":\"7\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":"
                "\"failure\"},\"details\":[\"No suitable .swu image found\"]}}",
                &f),
             BW_OK);
    CHECK(f.id == 7 && gw_ddi_state(&f) == GW_ACTION_FAILURE);
    /* the current hawkBit form: timestamp, code, several details */
    CHECK_RC(fb("{\"timestamp\":1627997501890,\"status\":{\"execution\":\"closed\",\"result\":"
                "{\"finished\":\"success\",\"progress\":{\"cnt\":2,\"of\":5}},\"code\":200,"
                "\"details\":[\"a\",\"b\"]}}",
                &f),
             BW_OK);
    CHECK(f.id == -1 && f.cnt == 2 && f.of == 5 && !strcmp(f.details, "a\nb"));
    /* the cancel acknowledgement (no id, result without progress) */
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"},"
                "\"details\":[\"cancellation acknowledged.\"]}}",
                &f),
             BW_OK);
    /* canceled and rejected */
    CHECK_RC(fb("{\"status\":{\"execution\":\"canceled\"}}", &f), BW_OK);
    CHECK(gw_ddi_state(&f) == GW_ACTION_FAILURE);
    CHECK_RC(fb("{\"status\":{\"execution\":\"rejected\",\"result\":{\"finished\":\"none\"}}}",
                &f),
             BW_OK);
    CHECK(gw_ddi_state(&f) == GW_ACTION_RUNNING);

    /* refusals */
    CHECK_RC(fb("", &f), BW_E_FORMAT);
    CHECK_RC(fb("[]", &f), BW_E_FORMAT);
    CHECK_RC(fb("{}", &f), BW_E_FORMAT);
    CHECK_RC(fb("{\"status\":{\"execution\":\"exploded\"}}", &f), BW_E_FORMAT);
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"maybe\"}}}", &f),
             BW_E_FORMAT);
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"details\":\"not an array\"}}", &f),
             BW_E_FORMAT);
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"details\":[1]}}", &f), BW_E_FORMAT);
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"result\":{\"progress\":{\"cnt\":-1}}}}",
                &f),
             BW_E_FORMAT);
    CHECK_RC(fb("{\"id\":\"7x\",\"status\":{\"execution\":\"closed\"}}", &f), BW_E_FORMAT);
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\"},\"status\":{\"execution\":\"closed\"}}",
                &f),
             BW_E_FORMAT); /* duplicate key */
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"details\":[\"\\u0000\"]}}", &f),
             BW_E_FORMAT); /* NUL in text */
    CHECK_RC(fb("{\"status\":{\"execution\":\"closed\",\"details\":[\"\xc3(\"]}}", &f),
             BW_E_FORMAT); /* not UTF-8 */

    /* a whole install log: kept up to the cap, cut on a character, marked */
    n = (size_t)snprintf(big, sizeof(big), "{\"id\":7,\"status\":{\"execution\":\"proceeding\","
                                           "\"details\":[\"");
    while (n < 2 * GW_FEEDBACK_MAX) {
        memcpy(big + n, "\xc3\xa9", 2); /* U+00E9, two bytes */
        n += 2;
    }
    strcpy(big + n, "\"]}}");
    CHECK_RC(fb(big, &f), BW_OK);
    n = strlen(f.details);
    CHECK(f.truncated && n <= GW_FEEDBACK_MAX && strstr(f.details, "[cut: feedback over its cap]"));
    /* what is kept is still valid UTF-8: jansson takes it back */
    {
        json_t *s = json_string(f.details);

        CHECK(s != NULL);
        json_decref(s);
    }
}

static void config(void)
{
    struct gw_ddi_config c;
    char out[GW_ATTRS_MAX + 1];
    const char *why = "";
    static char big[2 * GW_ATTRS_MAX];
    size_t n, i;

#define CFG(s) gw_ddi_parse_config((const uint8_t *)(s), strlen(s), &c, &why)
    /* SWUpdate's configData PUT, with its id, time and status */
    CHECK_RC(CFG("{ \"id\": \"\", \"time\": \"20261129T061949\", \"status\": { \"result\": "
                 "{ \"finished\": \"success\" }, \"execution\": \"closed\", \"details\": "
                 "[ \"\" ] }, \"data\": { \"hwRevision\": \"revA\",\"serialNo\": \"SN-0001\" } }"),
             BW_OK);
    CHECK(c.mode == GW_DDI_MERGE && !strcmp(c.data, "{\"hwRevision\":\"revA\",\"serialNo\":\"SN-0001\"}"));
    CHECK_RC(gw_ddi_apply_config("{\"group\":\"lab\",\"hwRevision\":\"old\"}", &c, out), BW_OK);
    CHECK(!strcmp(out, "{\"group\":\"lab\",\"hwRevision\":\"revA\",\"serialNo\":\"SN-0001\"}"));
    CHECK_RC(CFG("{\"mode\":\"replace\",\"data\":{\"a\":\"1\"}}"), BW_OK);
    CHECK_RC(gw_ddi_apply_config("{\"group\":\"lab\"}", &c, out), BW_OK);
    CHECK(!strcmp(out, "{\"a\":\"1\"}"));
    CHECK_RC(CFG("{\"mode\":\"remove\",\"data\":{\"group\":\"\"}}"), BW_OK);
    CHECK_RC(gw_ddi_apply_config("{\"group\":\"lab\",\"b\":\"2\"}", &c, out), BW_OK);
    CHECK(!strcmp(out, "{\"b\":\"2\"}"));
    /* refusals */
    CHECK_RC(CFG("{\"mode\":\"append\",\"data\":{}}"), BW_E_FORMAT);
    CHECK_RC(CFG("{\"data\":[]}"), BW_E_FORMAT);
    CHECK_RC(CFG("{\"data\":{\"n\":1}}"), BW_E_FORMAT);
    CHECK_RC(CFG("{\"data\":{\"\":\"x\"}}"), BW_E_FORMAT);
    n = (size_t)snprintf(big, sizeof(big), "{\"data\":{");
    for (i = 0; n < GW_ATTRS_MAX + 100; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%zu\":\"vvvvvvvvvvvvvvvv\"",
                              i ? "," : "", i);
    strcpy(big + n, "}}");
    CHECK_RC(CFG(big), BW_E_TOOBIG);
    /* a merge that grows past the cap */
    CHECK_RC(CFG("{\"data\":{\"x\":\"1\"}}"), BW_OK);
    memset(big, 'a', GW_ATTRS_MAX);
    memcpy(big, "{\"y\":\"", 6);
    strcpy(big + GW_ATTRS_MAX - 2, "\"}");
    CHECK_RC(gw_ddi_apply_config(big, &c, out), BW_E_TOOBIG);
    CHECK_RC(gw_ddi_apply_config("[]", &c, out), BW_E_FORMAT);
#undef CFG
}

static void paths(void)
{
    struct gw_ddi_path p;

    CHECK_RC(gw_ddi_route("/DEFAULT/controller/v1/dev-0001", &p), BW_OK);
    CHECK(p.res == GW_DDI_BASE && !strcmp(p.tenant, "DEFAULT") && !strcmp(p.controller, "dev-0001"));
    CHECK_RC(gw_ddi_route("/DEFAULT/controller/v1/dev-0001/deploymentBase/7", &p), BW_OK);
    CHECK(p.res == GW_DDI_DEPLOYMENT && p.id == 7);
    CHECK_RC(gw_ddi_route("/DEFAULT/controller/v1/dev-0001/deploymentBase/7/feedback", &p), BW_OK);
    CHECK(p.res == GW_DDI_DEPLOYMENT_FEEDBACK && p.id == 7);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/cancelAction/9", &p), BW_OK);
    CHECK(p.res == GW_DDI_CANCEL && p.id == 9);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/cancelAction/9/feedback", &p), BW_OK);
    CHECK(p.res == GW_DDI_CANCEL_FEEDBACK && p.id == 9);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/installedBase/6", &p), BW_OK);
    CHECK(p.res == GW_DDI_INSTALLED && p.id == 6);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/configData", &p), BW_OK);
    CHECK(p.res == GW_DDI_CONFIG);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/softwaremodules/3/artifacts", &p), BW_OK);
    CHECK(p.res == GW_DDI_ARTIFACTS && p.id == 3);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/softwaremodules/3/artifacts/update.swu", &p), BW_OK);
    CHECK(p.res == GW_DDI_ARTIFACT && p.id == 3 && !strcmp(p.file, "update.swu"));
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/softwaremodules/3/artifacts/update.swu.MD5SUM", &p),
             BW_OK);
    CHECK(p.res == GW_DDI_ARTIFACT_MD5 && !strcmp(p.file, "update.swu"));

    /* not DDI at all */
    CHECK_RC(gw_ddi_route("/api/v1/device/checkin", &p), BW_E_NOTFOUND);
    CHECK_RC(gw_ddi_route("/t/controller/v2/d", &p), BW_E_NOTFOUND);
    CHECK_RC(gw_ddi_route("", &p), BW_E_NOTFOUND);
    /* DDI, but not served or malformed */
    CHECK_RC(gw_ddi_route("/t/controller/v1/", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/..", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/deploymentBase", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/deploymentBase/07", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/deploymentBase/0", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/deploymentBase/99999999999999999999", &p),
             BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/deploymentBase/7/other", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/installedBase/6/feedback", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/configData/x", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/softwaremodules/3/artifacts/../../etc", &p),
             BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/softwaremodules/3/artifacts/a%2fb", &p), BW_E_FORMAT);
    /* the user's consent (hawkBit's WAITING_FOR_CONFIRMATION) */
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/confirmationBase", &p), BW_OK);
    CHECK(p.res == GW_DDI_CONFIRM_BASE && p.id == 0);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/confirmationBase/7", &p), BW_OK);
    CHECK(p.res == GW_DDI_CONFIRM && p.id == 7);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/confirmationBase/7/feedback", &p), BW_OK);
    CHECK(p.res == GW_DDI_CONFIRM_FEEDBACK && p.id == 7);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/confirmationBase/7/other", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d/confirmationBase/x", &p), BW_E_FORMAT);
    CHECK_RC(gw_ddi_route("/t/controller/v1/d e v", &p), BW_E_FORMAT);
}

static void confirmations(void)
{
    static struct gw_ddi_confirmation c;
    const char *why = "";

#define CONF(body) gw_ddi_parse_confirmation((const uint8_t *)(body), strlen(body), &c, &why)
    CHECK_RC(CONF("{\"confirmation\":\"confirmed\",\"code\":200,\"details\":[\"ok\",\"go\"]}"),
             BW_OK);
    CHECK(c.confirmed == 1 && !strcmp(c.details, "ok\ngo"));
    CHECK_RC(CONF("{\"confirmation\":\"denied\"}"), BW_OK);
    CHECK(c.confirmed == 0 && !c.details[0]);
    CHECK_RC(CONF("{\"confirmation\":\"maybe\"}"), BW_E_FORMAT);
    CHECK_RC(CONF("{\"details\":[\"x\"]}"), BW_E_FORMAT);
    CHECK_RC(CONF("{\"confirmation\":\"denied\",\"code\":\"200\"}"), BW_E_FORMAT);
    CHECK_RC(CONF("{\"confirmation\":\"denied\",\"details\":[1]}"), BW_E_FORMAT);
    CHECK_RC(CONF("[]"), BW_E_FORMAT);
#undef CONF
}

static void answers(void)
{
    const char *base = "https://gw.example:8443/DEFAULT/controller/v1/dev-0001";
    struct gw_ddi_links l = {0};
    struct gw_ddi_deployment d = {0};
    json_error_t je;
    json_t *j;
    char sl[9], *s;

    gw_ddi_sleep(300, sl);
    CHECK(!strcmp(sl, "00:05:00"));
    gw_ddi_sleep(3 * 3600 + 61, sl);
    CHECK(!strcmp(sl, "03:01:01"));
    gw_ddi_sleep(1000000, sl);
    CHECK(!strcmp(sl, "99:59:59"));

    /* attributes wanted, a deployment: both links, deployment with ?c= */
    l.config_data = 1;
    l.deployment = 7;
    l.deployment_etag = -2122565939;
    s = gw_ddi_base_json(base, 300, &l);
    j = s ? json_loads(s, 0, &je) : NULL;
    CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(json_object_get(j, "config"), "polling"), "sleep")), "00:05:00"));
    CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(json_object_get(j, "_links"), "deploymentBase"), "href")),
                       "https://gw.example:8443/DEFAULT/controller/v1/dev-0001/deploymentBase/7?c=-2122565939"));
    CHECK(j && json_object_get(json_object_get(j, "_links"), "configData"));
    json_decref(j);
    free(s);
    /* cancel wins over the deployment; no configData once attributes came */
    l.config_data = 0;
    l.cancel = 9;
    l.installed = 6;
    s = gw_ddi_base_json(base, 60, &l);
    j = s ? json_loads(s, 0, &je) : NULL;
    CHECK(j && json_object_get(json_object_get(j, "_links"), "cancelAction") &&
          !json_object_get(json_object_get(j, "_links"), "deploymentBase") &&
          !json_object_get(json_object_get(j, "_links"), "configData") &&
          json_object_get(json_object_get(j, "_links"), "installedBase"));
    json_decref(j);
    free(s);

    d.action_id = 7;
    d.type = GW_ACT_FORCED;
    d.window_open = 1;
    d.module_id = 3;
    d.name = "fw";
    d.version = "1.0.1";
    d.file = "update.swu";
    d.size = 2048;
    d.sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    d.md5 = "d41d8cd98f00b204e9800998ecf8427e";
    d.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    s = gw_ddi_deployment_json(base, &d);
    j = s ? json_loads(s, 0, &je) : NULL;
    {
        json_t *dep = json_object_get(j, "deployment");
        json_t *art = json_array_get(
            json_object_get(json_array_get(json_object_get(dep, "chunks"), 0), "artifacts"), 0);

        CHECK(j && !strcmp(json_string_value(json_object_get(j, "id")), "7"));
        CHECK(dep && !strcmp(json_string_value(json_object_get(dep, "download")), "forced") &&
              !strcmp(json_string_value(json_object_get(dep, "update")), "forced") &&
              !strcmp(json_string_value(json_object_get(dep, "maintenanceWindow")), "available"));
        CHECK(art && !strcmp(json_string_value(json_object_get(art, "filename")), "update.swu") &&
              json_integer_value(json_object_get(art, "size")) == 2048 &&
              !strcmp(json_string_value(json_object_get(json_object_get(art, "hashes"), "md5")), d.md5));
        CHECK(art && !strcmp(json_string_value(json_object_get(json_object_get(json_object_get(art, "_links"), "download"), "href")),
                             "https://gw.example:8443/DEFAULT/controller/v1/dev-0001/softwaremodules/3/artifacts/update.swu"));
        CHECK(art && !strcmp(json_string_value(json_object_get(json_object_get(json_object_get(art, "_links"), "md5sum"), "href")),
                             "https://gw.example:8443/DEFAULT/controller/v1/dev-0001/softwaremodules/3/artifacts/update.swu.MD5SUM"));
    }
    json_decref(j);
    free(s);
    /* soft: attempt; download-only: download forced, update skipped */
    d.type = GW_ACT_DOWNLOAD_ONLY;
    d.window_open = 0;
    s = gw_ddi_deployment_json(base, &d);
    CHECK(s && strstr(s, "\"download\":\"forced\"") && strstr(s, "\"update\":\"skip\"") &&
          strstr(s, "\"maintenanceWindow\":\"unavailable\""));
    free(s);
    /* soft: attempt, while the window is open; outside it (an install-later
     * campaign before its trigger) the update is skipped: download only */
    d.type = GW_ACT_SOFT;
    d.window_open = 1;
    s = gw_ddi_deployment_json(base, &d);
    CHECK(s && strstr(s, "\"download\":\"attempt\"") && strstr(s, "\"update\":\"attempt\"") &&
          strstr(s, "\"maintenanceWindow\":\"available\""));
    free(s);
    d.window_open = 0;
    s = gw_ddi_deployment_json(base, &d);
    CHECK(s && strstr(s, "\"download\":\"attempt\"") && strstr(s, "\"update\":\"skip\"") &&
          strstr(s, "\"maintenanceWindow\":\"unavailable\""));
    free(s);
    d.type = GW_ACT_FORCED;
    s = gw_ddi_confirmation_json(base, &d);
    CHECK(s && !strncmp(s, "{\"id\":\"7\",\"confirmation\":{", 26) &&
          strstr(s, "\"download\":\"forced\""));
    free(s);
    s = gw_ddi_confirm_base_json(base, 7);
    CHECK(s && strstr(s, "\"autoConfirm\":{\"active\":false}") &&
          strstr(s, "\"confirmationBase\":{\"href\":\"https://gw.example:8443/DEFAULT/controller/v1/"
                    "dev-0001/confirmationBase/7\"}"));
    free(s);
    l.deployment = 0;
    l.confirmation = 7;
    l.deployment_etag = 5;
    l.cancel = 0;
    s = gw_ddi_base_json(base, 60, &l);
    CHECK(s && strstr(s, "\"confirmationBase\":{\"href\":\"https://gw.example:8443/DEFAULT/controller/"
                         "v1/dev-0001/confirmationBase/7?c=5\"}") &&
          !strstr(s, "deploymentBase"));
    free(s);
    s = gw_ddi_cancel_json(9);
    CHECK(s && !strcmp(s, "{\"id\":\"9\",\"cancelAction\":{\"stopId\":\"9\"}}"));
    free(s);
}

int main(void)
{
    feedback();
    config();
    paths();
    answers();
    confirmations();
    T_DONE();
}
