/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hawkBit DDI wire format, the subset SWUpdate's suricatta speaks
 * (docs/ddi.md): request paths, the feedback and configData bodies (the
 * current hawkBit form and SWUpdate 2022.12's older one) and the JSON
 * answers. No registry and no HTTP here, so that every parser has a fuzz
 * target (fuzz/fuzz_gw_ddi.c) and a unit test with the bodies recorded
 * from the real client.
 */
#ifndef BULWARK_GATEWAY_DDI_H
#define BULWARK_GATEWAY_DDI_H

#include <stddef.h>
#include <stdint.h>
#include "db.h"

/* What a DDI path names, below /{tenant}/controller/v1/{controllerId} */
enum gw_ddi_res {
    GW_DDI_BASE = 0,            /* GET  ""                                  */
    GW_DDI_DEPLOYMENT,          /* GET  /deploymentBase/{id}                */
    GW_DDI_DEPLOYMENT_FEEDBACK, /* POST /deploymentBase/{id}/feedback       */
    GW_DDI_CONFIG,              /* PUT  /configData                         */
    GW_DDI_CANCEL,              /* GET  /cancelAction/{id}                  */
    GW_DDI_CANCEL_FEEDBACK,     /* POST /cancelAction/{id}/feedback         */
    GW_DDI_INSTALLED,           /* GET  /installedBase/{id}                 */
    GW_DDI_ARTIFACTS,           /* GET  /softwaremodules/{id}/artifacts     */
    GW_DDI_ARTIFACT,            /* GET  /softwaremodules/{id}/artifacts/{f} */
    GW_DDI_ARTIFACT_MD5,        /* GET  .../artifacts/{f}.MD5SUM            */
    GW_DDI_CONFIRM_BASE,        /* GET  /confirmationBase                   */
    GW_DDI_CONFIRM,             /* GET  /confirmationBase/{id}              */
    GW_DDI_CONFIRM_FEEDBACK     /* POST /confirmationBase/{id}/feedback     */
};

#define GW_DDI_FILE_MAX (GW_ID_MAX + 8)

struct gw_ddi_path {
    char tenant[GW_ID_MAX + 1];
    char controller[GW_ID_MAX + 1];
    enum gw_ddi_res res;
    int64_t id;                      /* action or software module id, 0 if none */
    char file[GW_DDI_FILE_MAX + 1];  /* artifact file name (without .MD5SUM) */
};

/*
 * Splits a request path (without the query). Segments are 1..64 bytes of
 * [A-Za-z0-9._-], never "." or ".."; ids are decimal, 1..2^63-1, without
 * leading zeros. BW_E_NOTFOUND: not a DDI path (no "/controller/v1/"
 * as second and third segments); BW_E_FORMAT: a DDI path this gateway does
 * not serve, or a bad segment.
 */
BW_NODISCARD bw_err gw_ddi_route(const char *path, struct gw_ddi_path *out);

enum gw_ddi_exec {
    GW_DDI_CLOSED = 0,
    GW_DDI_PROCEEDING,
    GW_DDI_CANCELED,
    GW_DDI_SCHEDULED,
    GW_DDI_REJECTED,
    GW_DDI_RESUMED,
    GW_DDI_DOWNLOADED,
    GW_DDI_DOWNLOAD
};

enum gw_ddi_finished { GW_DDI_NONE = 0, GW_DDI_SUCCESS, GW_DDI_FAILURE };

/* A feedback body, either form:
 *   {"timestamp":N,"status":{"execution":E,"result":{"finished":F,
 *    "progress":{"cnt":N,"of":N}},"code":N,"details":[S...]}}
 *   {"id":"7"|7,"time":"...","status":{...same...}}
 * Unknown members are ignored, as hawkBit does. details are joined with
 * newlines and cut at GW_FEEDBACK_MAX bytes (on a UTF-8 boundary, ending
 * with a marker) instead of refused: SWUpdate sends its whole install log
 * there. Text is kept as untrusted text; it must be valid UTF-8. */
struct gw_ddi_feedback {
    enum gw_ddi_exec execution;
    enum gw_ddi_finished finished;
    int64_t cnt, of;      /* progress, -1 when absent */
    int64_t id;           /* the SWUpdate form's "id", -1 when absent or "" */
    int truncated;        /* details were cut */
    char details[GW_FEEDBACK_MAX + 1];
};
BW_NODISCARD bw_err gw_ddi_parse_feedback(const uint8_t *b, size_t n, struct gw_ddi_feedback *out,
                                          const char **why);

/* The registry state a deployment feedback means (hawkBit's mapping):
 * closed + failure: FAILURE; closed + success or none: SUCCESS; canceled:
 * FAILURE; anything else (proceeding, scheduled, resumed, download,
 * downloaded, rejected): RUNNING. */
enum gw_action_state gw_ddi_state(const struct gw_ddi_feedback *f);

/* POST confirmationBase/{id}/feedback (the user's consent):
 *   {"confirmation":"confirmed|denied","code":N,"details":[S...]}
 * code and details optional; details joined and cut as a feedback's. */
struct gw_ddi_confirmation {
    int confirmed; /* 1 confirmed, 0 denied */
    char details[GW_FEEDBACK_MAX + 1];
};
BW_NODISCARD bw_err gw_ddi_parse_confirmation(const uint8_t *b, size_t n,
                                              struct gw_ddi_confirmation *out, const char **why);

enum gw_ddi_mode { GW_DDI_MERGE = 0, GW_DDI_REPLACE, GW_DDI_REMOVE };

/* PUT configData: {"mode":"merge|replace|remove","data":{S:S}} (mode
 * defaults to merge; SWUpdate also sends id, time and status, ignored).
 * data as canonical JSON (sorted keys), names 1..64 bytes, string values. */
struct gw_ddi_config {
    enum gw_ddi_mode mode;
    char data[GW_ATTRS_MAX + 1];
};
BW_NODISCARD bw_err gw_ddi_parse_config(const uint8_t *b, size_t n, struct gw_ddi_config *out,
                                        const char **why);

/* The device's attributes after c: merge adds and overwrites, replace sets,
 * remove deletes the names given. attrs and out: JSON object text; out is
 * canonical. BW_E_TOOBIG if the result exceeds GW_ATTRS_MAX, BW_E_FORMAT if
 * attrs is not an object. */
BW_NODISCARD bw_err gw_ddi_apply_config(const char *attrs, const struct gw_ddi_config *c,
                                        char out[GW_ATTRS_MAX + 1]);

/* "HH:MM:SS" for a poll interval in seconds (capped at 99:59:59). */
void gw_ddi_sleep(uint64_t seconds, char out[9]);

/* The links of a base poll answer; 0 ids leave a link out. */
struct gw_ddi_links {
    int config_data;        /* attributes wanted */
    int64_t deployment;     /* action to fetch */
    int64_t deployment_etag;
    int64_t confirmation;   /* action waiting for consent (instead of deployment) */
    int64_t cancel;         /* action being cancelled */
    int64_t installed;      /* last finished action */
};

/* The base poll answer; base is the absolute URL of the controller
 * (https://HOST/TENANT/controller/v1/ID). malloc'd, NULL without memory. */
char *gw_ddi_base_json(const char *base, uint64_t sleep_s, const struct gw_ddi_links *l);

/* One deployment. */
struct gw_ddi_deployment {
    int64_t action_id;
    enum gw_action_type type;   /* forced: update forced; soft: attempt; download-only: skip */
    int window_open;            /* maintenanceWindow available, else unavailable and update
                                 * skip: download now, install later */
    int64_t module_id;          /* the software module: the release id */
    const char *name, *version; /* release name, its version text */
    const char *file;           /* artifact file name */
    int64_t size;
    const char *sha1, *md5, *sha256; /* hex */
    const char *history;        /* actionHistory status text, e.g. "RUNNING" */
};
char *gw_ddi_deployment_json(const char *base, const struct gw_ddi_deployment *d);
/* confirmationBase/{id}: the same deployment under "confirmation" */
char *gw_ddi_confirmation_json(const char *base, const struct gw_ddi_deployment *d);
/* confirmationBase: auto-confirm off, and the action waiting (0: none) */
char *gw_ddi_confirm_base_json(const char *base, int64_t action_id);

/* The artifacts list of a software module (one artifact). */
char *gw_ddi_artifacts_json(const char *base, const struct gw_ddi_deployment *d);

/* cancelAction answer: {"id":"N","cancelAction":{"stopId":"N"}} */
char *gw_ddi_cancel_json(int64_t action_id);

#endif
