/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrollment over Secure Transport (RFC 7030) for operational certificates
 * (docs/identity.md, "Enrollment and renewal"), under /.well-known/est/:
 *
 *   GET  cacerts         the operational CA, base64 certs-only PKCS#7
 *   POST simpleenroll    a base64 PKCS#10 request, authenticated over mTLS
 *                        by the device's birth certificate (IDevID)
 *   POST simplereenroll  the same, authenticated by an operational
 *                        certificate this gateway issued (renewal)
 *
 * The client certificate decides everything: it must chain to client_ca
 * (http.c), be registered in the registry to a device that is accepted
 * (not pending, rejected or revoked), name that device, and be of the
 * kind the path takes. The request's CN must be the same device id, and
 * its signature verify (proof of possession of the new key). What is
 * issued is recorded in the registry before it is handed out, so that it
 * can authenticate, and be revoked and listed in the CRL, on every
 * gateway instance of the registry.
 */
#define _DEFAULT_SOURCE
#include <string.h>
#include <time.h>

#include "api.h"
#include "bwh/host.h"
#include "bwh/identity.h"
#include "respond.h"

#define P7_TYPE "application/pkcs7-mime; smime-type=certs-only"

/* r answers 200 with a base64 PKCS#7 body (taken over). */
static void p7_answer(struct gw_resp *r, char *b64)
{
    gw_text(r, 200, P7_TYPE, b64, strlen(b64));
    snprintf(r->extra_header, sizeof(r->extra_header), "Content-Transfer-Encoding: base64");
}

void gw_h_est_cacerts(struct gw_req *q, struct gw_resp *r)
{
    char *b;

    if (!q->st->est_ca) {
        gw_error(r, 404, "not_found", "EST is not configured on this gateway");
        return;
    }
    b = bwh_strdup(q->st->est_cacerts);
    if (!b) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    p7_answer(r, b);
}

/* The media type without parameters, compared case-insensitively. */
static int is_pkcs10(const char *ct)
{
    size_t n = strlen("application/pkcs10");

    return ct && !strncasecmp(ct, "application/pkcs10", n) &&
           (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* Who may enroll: 1 with the device in q->device, or 0 with the refusal
 * in r. reenroll: the client certificate must be an operational one,
 * else the birth certificate. */
static int est_client(struct gw_req *q, struct gw_resp *r, int reenroll, const struct gw_db_ops **ops,
                      void **h)
{
    struct gw_device *d = q->device;

    if (!q->client_verified) {
        gw_error(r, 401, "client_certificate",
                 reenroll ? "an operational certificate is required"
                          : "the device's birth certificate (IDevID) is required");
        return 0;
    }
    if (!gw_registry(q, r, ops, h) || !gw_client_device(q, r, *ops, *h))
        return 0;
    if (reenroll && !d->op_cert) {
        gw_error(r, 403, "operational_certificate",
                 "simplereenroll renews an operational certificate; enroll with simpleenroll");
        return 0;
    }
    if (!reenroll && d->op_cert) {
        gw_error(r, 403, "birth_certificate",
                 "simpleenroll takes the birth certificate (IDevID); renew with simplereenroll");
        return 0;
    }
    return 1;
}

static void enroll(struct gw_req *q, struct gw_resp *r, int reenroll)
{
    struct gw_state *st = q->st;
    const struct gw_db_ops *ops;
    void *h;
    struct bwh_cert_info info;
    char fpr[65], serial[33], pub[131];
    char *p7 = NULL;
    bw_err rc;

    if (!st->est_ca) {
        gw_error(r, 404, "not_found", "EST is not configured on this gateway");
        return;
    }
    if (!est_client(q, r, reenroll, &ops, &h))
        return;
    if (!is_pkcs10(gw_header(q, "Content-Type"))) {
        gw_error(r, 415, "media_type", "the request must be application/pkcs10 (base64)");
        return;
    }
    if (q->body_len > BWH_EST_CSR_MAX) {
        gw_error(r, 413, "too_big", "certificate request too large");
        return;
    }
    pthread_mutex_lock(&st->est_lock);
    rc = bwh_est_issue(st->est_ca, (const char *)q->body, q->body_len, q->device->id,
                       (unsigned)st->conf.est_lifetime, &p7, &info);
    pthread_mutex_unlock(&st->est_lock);
    if (rc == BW_E_CLAIM) {
        gw_error(r, 403, "identity", "the request names another device");
        goto out;
    }
    if (rc == BW_E_NOMEM || rc == BW_E_CRYPTO || rc == BW_E_BACKEND) {
        gw_error_rc(r, rc, "issue", "the CA could not issue");
        goto out;
    }
    if (rc) {
        gw_error(r, rc == BW_E_TOOBIG ? 413 : 400, "request", bw_errname(rc));
        goto out;
    }
    bw_hex(fpr, info.fingerprint, sizeof(info.fingerprint));
    bw_hex(serial, info.serial, sizeof(info.serial));
    bw_hex(pub, info.pub, sizeof(info.pub));
    /* recorded before it is handed out: never a certificate the registry
     * cannot revoke */
    rc = ops->cert_add(h, q->device->id, fpr, serial, pub, (int64_t)info.not_after,
                       (int64_t)time(NULL), reenroll ? "est.reenroll" : "est.enroll");
    if (rc) {
        gw_error(r, 503, "registry", "registry unavailable");
        goto out;
    }
    q->authenticated = 1;
    p7_answer(r, p7);
    p7 = NULL;
out:
    bwh_free(p7);
}

void gw_h_est_simpleenroll(struct gw_req *q, struct gw_resp *r)
{
    enroll(q, r, 0);
}

void gw_h_est_simplereenroll(struct gw_req *q, struct gw_resp *r)
{
    enroll(q, r, 1);
}
