/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Mender device API subset (docs/mender.md) for Debian's mender-client
 * 3.4, on the same registry, campaigns and blobs as the other device APIs.
 *
 * A Mender device is a registry device: its id is derived from its
 * identity (id_data), its fingerprint is that of its authentication key.
 * An auth request with a valid signature from an unknown identity adds the
 * device as pending; an operator accepts it (or preauthorizes it). An
 * accepted device gets a JWT signed by this gateway, which the gateway
 * alone checks (the client does not): signature, audience, expiry, and the
 * device's status in the registry on every request, so a rejection or a
 * revocation takes effect at once. The artifact link it is given carries
 * its own expiring HMAC, as the client sends no token with the download.
 */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api.h"
#include "bulwark/token.h"
#include "bwh/host.h"
#include "bwh/identity.h"
#include "ddi.h"
#include "mender.h"
#include "respond.h"

#define JWT_AUDIENCE "bulwark-gateway/mender"
#define LINK_TTL 3600 /* seconds an artifact link is good for */

/* The key that signs the device JWTs and the secret of the artifact links
 * (struct gw_state): from mender_key, so that every gateway instance given
 * the same file accepts the others' tokens and links; without it, made for
 * this process (a restart then sends the clients to authenticate again,
 * as on an expired token). Set before the server serves. */
bw_err gw_mender_keys(struct gw_state *st, const char *path)
{
    static const char info[] = "bulwark-gateway mender artifact links";
    uint8_t *pem = NULL;
    size_t n;
    bw_err rc;

    st->mender_ok = 0;
    bw_ec_key_clear(&st->mender_key);
    bw_ec_key_init(&st->mender_key);
    if (!path || !*path) {
        rc = bw_ec_generate(&st->mender_key);
        if (!rc)
            rc = bw_random(st->mender_link_secret, sizeof(st->mender_link_secret));
    } else {
        rc = bwh_load_key(path, 1, &st->mender_key);
        if (!rc)
            rc = bwh_read_file(path, 1 << 16, &pem, &n);
        if (!rc)
            rc = bw_hkdf_sha256(NULL, 0, pem, n, (const uint8_t *)info, sizeof(info) - 1,
                                st->mender_link_secret, sizeof(st->mender_link_secret));
        if (pem) {
            bw_wipe(pem, n);
            bwh_free(pem);
        }
    }
    if (!rc)
        rc = bwh_signer_from_ec(&st->mender_signer, &st->mender_key);
    st->mender_ok = !rc;
    return rc;
}

/* ---- authentication ------------------------------------------------------------- */

void gw_h_mender_auth_request(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    struct gw_mender_auth *a = bwh_malloc(sizeof(*a));
    struct gw_device *d = bwh_malloc(sizeof(*d));
    const struct gw_db_ops *ops;
    struct bw_token_claims cl;
    void *h;
    char fpr[65], tok[BW_TOKEN_MAX + 1];
    const char *why = "";
    size_t n;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        goto out;
    if (!a || !d || !q->st->mender_ok) {
        gw_error(r, 503, "nomem", "out of memory");
        goto out;
    }
    rc = gw_mender_parse_auth(q->body, q->body_len, gw_header(q, "X-MEN-Signature"), a, &why);
    if (rc) {
        gw_error_rc(r, rc, "auth_request", why);
        goto out;
    }
    if (gw_mender_key_fingerprint(a->pubkey, fpr)) {
        gw_error(r, 400, "auth_request", "pubkey");
        goto out;
    }
    rc = ops->device_by_fingerprint(h, fpr, d);
    if (rc == BW_E_NOTFOUND) {
        /* a new identity waits for an operator, while there are fewer than
         * pending_max waiting (expired ones are dropped first); a known
         * identity with another key is refused (a key change needs the
         * operator: re-key, or preauthorize the right key) */
        int64_t now = (int64_t)time(NULL);

        memset(d, 0, sizeof(*d));
        snprintf(d->id, sizeof(d->id), "%s", a->device_id);
        memcpy(d->fingerprint, fpr, sizeof(d->fingerprint));
        snprintf(d->attrs, sizeof(d->attrs), "%s", a->id_data);
        d->status = GW_DEV_PENDING;
        d->sequence = -1;
        d->created = now;
        rc = ops->pending_add(h, d, now - (int64_t)c->pending_ttl, (int64_t)c->pending_max);
        if (rc == BW_E_QUOTA) {
            gw_error(r, 429, "pending_full", "too many devices await acceptance; retry later");
            snprintf(r->extra_header, sizeof(r->extra_header), "Retry-After: 300");
            goto out;
        }
        if (rc == BW_E_EXISTS) {
            gw_error(r, 401, "unauthorized", "identity known with another key");
            goto out;
        }
        if (rc) {
            gw_error(r, 503, "registry", ops->error(h));
            goto out;
        }
        gw_error(r, 401, "pending", "device awaits acceptance");
        goto out;
    }
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        goto out;
    }
    if (strcmp(d->id, a->device_id)) {
        gw_error(r, 401, "unauthorized", "key registered to another identity");
        goto out;
    }
    if (d->status != GW_DEV_ACCEPTED) {
        gw_error(r, 401, d->status == GW_DEV_PENDING ? "pending" : "unauthorized",
                 d->status == GW_DEV_PENDING ? "device awaits acceptance"
                                              : "device rejected or revoked");
        goto out;
    }
    memset(&cl, 0, sizeof(cl));
    snprintf(cl.sub, sizeof(cl.sub), "%s", d->id);
    snprintf(cl.aud, sizeof(cl.aud), JWT_AUDIENCE);
    /* Mender's own API token: the generic type Mender clients expect,
     * never bulwark's device type (a device token is not one of these) */
    snprintf(cl.typ, sizeof(cl.typ), "JWT");
    cl.iat = (int64_t)time(NULL);
    cl.exp = cl.iat + (int64_t)c->mender_jwt_ttl;
    if (bw_token_issue(&q->st->mender_signer, &cl, tok, sizeof(tok), &n)) {
        gw_error(r, 503, "token", "cannot issue a token");
        goto out;
    }
    q->authenticated = 1;
    gw_text(r, 200, "application/jwt", bwh_strndup(tok, n), n);
out:
    bwh_free(a);
    bwh_free(d);
}

/* Method: the JWT is ours (signature), for this API (audience), still
 * valid (expiry), and its device is accepted in the registry now. */
int gw_auth_mender(struct gw_req *q, struct gw_resp *r)
{
    const char *a = q->authorization;
    struct gw_device *d = q->device;
    const struct gw_db_ops *ops;
    struct bw_token_claims cl;
    int64_t now = (int64_t)time(NULL);
    void *h;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return 0;
    if (!a || strncmp(a, "Bearer ", 7) || !a[7] || !q->st->mender_ok) {
        gw_error(r, 401, "unauthorized", "Authorization: Bearer JWT required");
        return 0;
    }
    rc = bw_token_verify_signature(a + 7, strlen(a + 7), &q->st->mender_key, &cl);
    /* a lifetime longer than mender_jwt_ttl now (it was lowered) ends */
    if (rc || strcasecmp(cl.typ, "JWT") || strcmp(cl.aud, JWT_AUDIENCE) || !cl.has_exp || cl.exp < now || !cl.has_iat ||
        cl.iat > now + 60 || cl.exp - cl.iat > (int64_t)q->st->conf.mender_jwt_ttl) {
        gw_error(r, 401, "unauthorized", "token not valid here, or expired");
        return 0;
    }
    rc = ops->device_get(h, cl.sub, d);
    if (rc || d->status != GW_DEV_ACCEPTED) {
        gw_error(r, rc && rc != BW_E_NOTFOUND ? 503 : 401, "unauthorized",
                 "device not accepted");
        return 0;
    }
    q->authenticated = 1;
    return 1;
}

/* ---- inventory ------------------------------------------------------------------- */

void gw_h_mender_inventory(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_device *d = q->device;
    struct gw_ddi_config *c = bwh_malloc(sizeof(*c));
    char *attrs = bwh_malloc(GW_ATTRS_MAX + 1);
    const struct gw_db_ops *ops;
    const char *why = "";
    bw_err rc = BW_E_NOMEM;
    void *h;

    if (c && attrs && !(rc = gw_db(q->st, &ops, &h))) {
        c->mode = GW_DDI_MERGE;
        rc = gw_mender_parse_inventory(q->body, q->body_len, c->data, &why);
        if (!rc) {
            why = "attributes exceed 4096 bytes";
            rc = gw_ddi_apply_config(d->attrs, c, attrs);
        }
        if (!rc)
            rc = ops->ddi_set_attrs(h, d->id, attrs);
    }
    bwh_free(c);
    bwh_free(attrs);
    if (rc) {
        gw_error_rc(r, rc, "inventory", why);
        return;
    }
    r->status = 200;
}

/* ---- deployments ----------------------------------------------------------------- */

static void link_mac(const struct gw_state *st, const char *digest, const char *dev, int64_t exp,
                     char out[65])
{
    char msg[256];
    unsigned char mac[32];
    unsigned int mlen = 0;

    snprintf(msg, sizeof(msg), "%s|%s|%" PRId64, digest, dev, exp);
    HMAC(EVP_sha256(), st->mender_link_secret, sizeof(st->mender_link_secret),
         (const unsigned char *)msg, strlen(msg), mac, &mlen);
    bw_hex(out, mac, 32);
}

static void next(struct gw_req *q, struct gw_resp *r, const struct gw_mender_provides *p)
{
    const struct gw_device *d = q->device;
    const struct gw_db_ops *ops;
    void *h;
    struct gw_action a;
    struct gw_release rel;
    char url[1024], base[520], mac[65], expires[32];
    int64_t exp = (int64_t)time(NULL) + LINK_TTL;
    time_t te = (time_t)exp;
    struct tm tm;
    bw_err rc;

    if (!gw_registry(q, r, &ops, &h))
        return;
    rc = ops->action_next(h, d->id, (int64_t)time(NULL), &a);
    if (rc == BW_E_NOTFOUND) {
        r->status = 204;
        return;
    }
    if (!rc)
        rc = ops->release_get(h, a.release_id, &rel);
    if (rc) {
        gw_error(r, 503, "registry", ops->error(h));
        return;
    }
    if (strcmp(rel.kind, "mender")) { /* not an artifact this client can install */
        r->status = 204;
        return;
    }
    if (gw_link_base(q, base, sizeof(base))) {
        gw_error(r, 500, "public_url", "public_url too long for a link");
        return;
    }
    link_mac(q->st, rel.digest, d->id, exp, mac);
    snprintf(url, sizeof(url),
             "%s/api/devices/v1/deployments/artifacts/%s?d=%s&e=%" PRId64 "&s=%s", base,
             rel.digest, d->id, exp, mac);
    gmtime_r(&te, &tm);
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
    {
        char id[24];
        json_t *o;

        snprintf(id, sizeof(id), "%" PRId64, a.id);
        o = json_pack("{s:s,s:{s:s,s:{s:s,s:s},s:[s]}}", "id", id, "artifact", "artifact_name",
                      rel.name, "source", "uri", url, "expire", expires,
                      "device_types_compatible", p->device_type);
        gw_json(r, 200, o ? json_dumps(o, JSON_COMPACT) : NULL);
        json_decref(o);
    }
}

/* PUT v1/deployments/device/deployments/{id}/status */
void gw_h_mender_status(struct gw_req *q, struct gw_resp *r)
{
    struct gw_mender_status_body *s = bwh_malloc(sizeof(*s));
    const struct gw_device *d = q->device;
    const struct gw_db_ops *ops;
    const char *why = "";
    enum gw_action_state st;
    struct gw_action a;
    int64_t id = q->id;
    void *h;
    bw_err rc;

    if (gw_db(q->st, &ops, &h)) {
        bwh_free(s);
        gw_error(r, 503, "registry", "registry unavailable");
        return;
    }
    if (!s) {
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    rc = gw_mender_parse_status(q->body, q->body_len, s, &why);
    if (rc) {
        bwh_free(s);
        gw_error_rc(r, rc, "status", why);
        return;
    }
    st = gw_mender_state(s->status);
    rc = ops->action_report(h, d->id, id, st, s->substate, (int64_t)time(NULL));
    bwh_free(s);
    if (rc == BW_E_STATE && !ops->action_get(h, d->id, id, &a) && a.state == st)
        rc = BW_OK; /* a final state sent again */
    if (rc) {
        gw_error_rc(r, rc, "status",
                    rc == BW_E_NOTFOUND ? "no such deployment of this device" : bw_errname(rc));
        return;
    }
    r->status = 204;
}

/* GET v1/deployments/artifacts/{digest}?d=&e=&s=: the link from next() */
void gw_h_mender_artifact(struct gw_req *q, struct gw_resp *r)
{
    const char *digest = q->cap[0];
    const struct gw_db_ops *ops;
    void *h;
    const char *dev = gw_query_arg(q, "d"), *e = gw_query_arg(q, "e"), *s = gw_query_arg(q, "s");
    struct gw_device d;
    struct gw_action a;
    struct gw_release rel;
    char mac[65], *end;
    long long exp;

    if (!gw_registry(q, r, &ops, &h))
        return;
    exp = e ? strtoll(e, &end, 10) : 0;
    if (!dev || !e || !s || *end || strlen(dev) > GW_ID_MAX || strlen(digest) != 64 ||
        !q->st->mender_ok) {
        gw_error(r, 403, "link", "not a valid artifact link");
        return;
    }
    link_mac(q->st, digest, dev, exp, mac);
    if (strlen(s) != 64 || CRYPTO_memcmp(mac, s, 64) || exp < (long long)time(NULL)) {
        gw_error(r, 403, "link", "artifact link forged or expired");
        return;
    }
    /* the device must still be accepted and still be offered this release */
    if (ops->device_get(h, dev, &d) || d.status != GW_DEV_ACCEPTED ||
        ops->action_next(h, dev, (int64_t)time(NULL), &a) ||
        ops->release_get(h, a.release_id, &rel) || strcmp(rel.digest, digest)) {
        gw_error(r, 403, "link", "this artifact is no longer offered to this device");
        return;
    }
    q->authenticated = 1; /* the link's HMAC is the credential */
    gw_send_blob(q, r, digest);
}

/* POST v2/deployments/device/deployments/next {"device_provides":{...}} */
void gw_h_mender_next_v2(struct gw_req *q, struct gw_resp *r)
{
    struct gw_mender_provides p;
    const char *why = "";

    if (gw_mender_parse_next(q->body, q->body_len, &p, &why))
        gw_error(r, 400, "next", why);
    else
        next(q, r, &p);
}

/* GET v1/deployments/device/deployments/next?artifact_name=&device_type= */
void gw_h_mender_next_v1(struct gw_req *q, struct gw_resp *r)
{
    const char *an = gw_query_arg(q, "artifact_name"), *dt = gw_query_arg(q, "device_type");
    struct gw_mender_provides p;

    memset(&p, 0, sizeof(p));
    if (!an || !dt || !*dt || strlen(an) > GW_ID_MAX || strlen(dt) > GW_ID_MAX) {
        gw_error(r, 400, "next", "artifact_name and device_type are required");
        return;
    }
    snprintf(p.artifact_name, sizeof(p.artifact_name), "%s", an);
    snprintf(p.device_type, sizeof(p.device_type), "%s", dt);
    next(q, r, &p);
}
