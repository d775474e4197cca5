/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The handlers and credential checks the route table (routes.c) names,
 * one group per API file, and the set-up calls http.c makes. A handler
 * reads struct gw_req, fills struct gw_resp through respond.h and reaches
 * the registry through gw_db; it never calls back into http.c.
 */
#ifndef BULWARK_GATEWAY_API_H
#define BULWARK_GATEWAY_API_H

#include "gw.h"

/* Credential checks: 1, or 0 with the refusal in r. */
int gw_auth_device(struct gw_req *q, struct gw_resp *r);   /* api_device.c */
/* The device of q's verified client certificate, into q->device: 1, or 0
 * with the refusal in r (not registered 403, another name 403, not
 * accepted 403, registry 503). api_device.c; the EST handlers use it too. */
int gw_client_device(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops *ops, void *h);
int gw_auth_operator(struct gw_req *q, struct gw_resp *r); /* api_operator.c */
int gw_auth_ddi(struct gw_req *q, struct gw_resp *r);      /* api_ddi.c */
int gw_auth_mender(struct gw_req *q, struct gw_resp *r);   /* api_mender.c */

/* api_public.c: /.well-known/security.txt (RFC 9116), /healthz */
void gw_h_security_txt(struct gw_req *q, struct gw_resp *r);
void gw_h_healthz(struct gw_req *q, struct gw_resp *r);
/* crl.c: the fleet's CRLs, /crl/devices.crl (DER) and /crl/devices.pem,
 * /crl/operational.crl and /crl/operational.pem */
void gw_h_crl(struct gw_req *q, struct gw_resp *r);
/* GET /tuf/metadata/NAME: the fleet's TUF repository (tuf.c) */
void gw_h_tuf(struct gw_req *q, struct gw_resp *r);
/* Keeps the TUF repository's snapshot and timestamp fresh (at most one
 * check a second unless force). BW_OK when TUF is off. */
BW_NODISCARD bw_err gw_tuf_freshen(struct gw_state *st, int force);
/* Whether rel may be offered: BW_OK when TUF is off, rel is not a SUIT
 * package (kind swu or mender), or rel is a target of the repository's
 * signed targets metadata (name, length, SHA-256); otherwise the refusal,
 * why says it. */
BW_NODISCARD bw_err gw_tuf_release_ok(const struct gw_state *st, const struct gw_release *rel,
                                      char *why, size_t cap);
/* api_est.c: EST enrollment (RFC 7030) */
void gw_h_est_cacerts(struct gw_req *q, struct gw_resp *r);
void gw_h_est_simpleenroll(struct gw_req *q, struct gw_resp *r);
void gw_h_est_simplereenroll(struct gw_req *q, struct gw_resp *r);
/* A device's status changed through this instance: the next CRL request
 * reads the registry (crl.c). Thread-safe. */
void gw_crl_stale(struct gw_state *st);
/* api_device.c: the native device API (docs/protocol.md) */
#define GW_IDLE_ANSWER_MAX 64
/* The check-in answer of a device with nothing to do, for poll interval
 * poll, into buf (GW_IDLE_ANSWER_MAX bytes, NUL-terminated): its length.
 * The one place that writes it; http.c keeps it ready as a shared answer. */
size_t gw_idle_answer(char buf[GW_IDLE_ANSWER_MAX], uint64_t poll);
void gw_h_device_checkin(struct gw_req *q, struct gw_resp *r);
void gw_h_device_report(struct gw_req *q, struct gw_resp *r);
void gw_h_device_download(struct gw_req *q, struct gw_resp *r);
void gw_h_device_whoami(struct gw_req *q, struct gw_resp *r);
/* api_operator.c: the operator API */
void gw_h_op_whoami(struct gw_req *q, struct gw_resp *r);
void gw_h_op_audit(struct gw_req *q, struct gw_resp *r);
void gw_h_op_devices(struct gw_req *q, struct gw_resp *r);
void gw_h_op_release_upload(struct gw_req *q, struct gw_resp *r);
void gw_h_op_release_list(struct gw_req *q, struct gw_resp *r);
void gw_h_op_release_get(struct gw_req *q, struct gw_resp *r);
void gw_h_op_release_sbom(struct gw_req *q, struct gw_resp *r);
void gw_h_op_release_delta(struct gw_req *q, struct gw_resp *r);
void gw_h_op_release_delta_build(struct gw_req *q, struct gw_resp *r);
void gw_h_device_delta(struct gw_req *q, struct gw_resp *r);
void gw_h_op_vex_put(struct gw_req *q, struct gw_resp *r);
void gw_h_op_exposure(struct gw_req *q, struct gw_resp *r);
void gw_h_op_advisory_put(struct gw_req *q, struct gw_resp *r);
void gw_h_csaf_provider(struct gw_req *q, struct gw_resp *r);
void gw_h_csaf_file(struct gw_req *q, struct gw_resp *r);
void gw_h_op_campaigns(struct gw_req *q, struct gw_resp *r);
/* api_ddi.c: the hawkBit DDI subset (docs/ddi.md) */
void gw_h_ddi(struct gw_req *q, struct gw_resp *r);
/* api_mender.c: the Mender device API subset (docs/mender.md) */
void gw_h_mender_auth_request(struct gw_req *q, struct gw_resp *r);
void gw_h_mender_artifact(struct gw_req *q, struct gw_resp *r);
void gw_h_mender_inventory(struct gw_req *q, struct gw_resp *r);
void gw_h_mender_next_v1(struct gw_req *q, struct gw_resp *r);
void gw_h_mender_next_v2(struct gw_req *q, struct gw_resp *r);
void gw_h_mender_status(struct gw_req *q, struct gw_resp *r);
/* dashboard.c: the fleet dashboard's page and assets */
void gw_h_dashboard(struct gw_req *q, struct gw_resp *r);

/* Set-up (http.c, before serving and on SIGHUP). */
/* The Mender JWT key and link secret into st: loaded from path
 * (mender_key), or made for this process when path is empty. */
BW_NODISCARD bw_err gw_mender_keys(struct gw_state *st, const char *path);
/* Reads operator_tokens again (SIGHUP). A file that cannot be read or has
 * a malformed line leaves no operator able to log in (fail closed) and
 * returns BW_E_FORMAT; BW_OK otherwise. Thread-safe. */
BW_NODISCARD bw_err gw_operators_reload(struct gw_state *st, const char *path);

#endif
