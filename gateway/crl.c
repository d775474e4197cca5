/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet's certificate revocation lists for verifiers outside the
 * gateway (docs/identity.md, "Revocation"): X.509 v2 CRLs (RFC 5280
 * section 5), one per issuer, served without credentials: the birth
 * certificate serials of every revoked device in the registry, signed by
 * crl_cert/crl_key (the device CA), at /crl/devices.crl (DER) and
 * /crl/devices.pem; with EST configured, the operational certificate
 * serials of revoked devices and revoked on their own, signed by
 * est_ca_cert/est_ca_key, at /crl/operational.crl and .pem. Every
 * instance of one registry builds them from the same rows, so each serves
 * a current list: a request reads the revoked rows (one query, at most
 * once a second, so a flood of anonymous requests costs the registry
 * little; at once after a status change through this instance) and the
 * list is signed again when they changed or half of crl_period passed.
 * The gateway's own decisions never depend on it: they read the device's
 * status in the registry on every request.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "api.h"
#include "bwh/host.h"
#include "bwh/identity.h"
#include "respond.h"

#define SERIAL_MAX 20 /* RFC 5280 4.1.2.2: at most 20 octets */

struct revoked {
    uint8_t serial[SERIAL_MAX + 1]; /* with a leading 0 when the top bit is set */
    size_t len;
    int64_t at;
};

struct rows {
    struct revoked *v;
    size_t n, cap;
    struct bw_sha256 h; /* over every row as read: what the list is made from */
    bw_err err;
};

static void add_row(void *arg, const char *serial, int64_t at)
{
    struct rows *r = arg;
    char hex[2 * SERIAL_MAX + 1];
    size_t n = strlen(serial);

    if (r->err)
        return;
    if (bw_sha256_update(&r->h, serial, n + 1) || bw_sha256_update(&r->h, &at, sizeof(at))) {
        r->err = BW_E_CRYPTO;
        return;
    }
    if (!n || n > 2 * SERIAL_MAX)
        return; /* not a certificate serial: nothing to list */
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct revoked *nv = bwh_realloc(r->v, cap * sizeof(*nv));

        if (!nv) {
            r->err = BW_E_NOMEM;
            return;
        }
        r->v = nv;
        r->cap = cap;
    }
    /* an odd number of digits gets its leading zero back */
    snprintf(hex, sizeof(hex), "%s%s", n % 2 ? "0" : "", serial);
    r->v[r->n].len = (n + 1) / 2;
    if (bw_unhex(r->v[r->n].serial + 1, r->v[r->n].len, hex))
        return;
    /* the registry keeps the serial's magnitude; DER's INTEGER is signed,
     * so a top bit set needs a 0 before it to stay positive, as it is in
     * the certificate */
    r->v[r->n].serial[0] = 0;
    if (r->v[r->n].serial[1] & 0x80)
        r->v[r->n].len++;
    r->v[r->n].at = at;
    r->n++;
}

/*
 * Method: a crl_key that is a pkcs11: or tpm: URI is opened with
 * bwh_devkey_open (the loader the CLI uses for every key URI) and handed to
 * GnuTLS as an external key whose one operation, an ECDSA P-256/SHA-256
 * signature, goes through the token or TPM; the key never leaves it.
 * GnuTLS wants the signature DER-encoded, the backends give r||s.
 */
static int ext_sign(struct bwh_devkey *k, const uint8_t *hash, size_t len, gnutls_datum_t *sig)
{
    uint8_t raw[BW_P256_SIG_LEN];
    gnutls_datum_t r, s;
    int ret;

    if (len != BW_SHA256_LEN || bwh_devkey_sign(k, hash, raw) != BW_OK)
        return GNUTLS_E_PK_SIGN_FAILED;
    r.data = raw;
    r.size = BW_P256_SIG_LEN / 2;
    s.data = raw + BW_P256_SIG_LEN / 2;
    s.size = BW_P256_SIG_LEN / 2;
    ret = gnutls_encode_rs_value(sig, &r, &s);
    bw_wipe(raw, sizeof(raw));
    return ret;
}

static int ext_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *k,
                         unsigned int flags, const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
    (void)key;
    (void)flags;
    if (algo != GNUTLS_SIGN_ECDSA_SHA256 && algo != GNUTLS_SIGN_UNKNOWN)
        return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    return ext_sign(k, hash->data, hash->size, sig);
}

static int ext_sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *k,
                         unsigned int flags, const gnutls_datum_t *data, gnutls_datum_t *sig)
{
    uint8_t h[BW_SHA256_LEN];

    (void)key;
    (void)flags;
    if (algo != GNUTLS_SIGN_ECDSA_SHA256 || bw_sha256(data->data, data->size, h) != BW_OK)
        return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    return ext_sign(k, h, sizeof(h), sig);
}

static int ext_info(gnutls_privkey_t key, unsigned int flags, void *k)
{
    (void)key;
    (void)k;
    if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
        return GNUTLS_FLAGS_TO_SIGN_ALGO(flags) == GNUTLS_SIGN_ECDSA_SHA256;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
        return GNUTLS_PK_ECDSA;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
        return 256;
    if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
        return GNUTLS_SIGN_ECDSA_SHA256;
    return -1;
}

/* An unsigned big-endian integer of GnuTLS right-aligned into 32 bytes. */
static int coord32(const gnutls_datum_t *d, uint8_t out[32])
{
    const uint8_t *p = d->data;
    size_t n = d->size;

    while (n > 32 && *p == 0) {
        p++;
        n--;
    }
    if (n > 32)
        return -1;
    memset(out, 0, 32 - n);
    memcpy(out + 32 - n, p, n);
    return 0;
}

/* The CRL key in a token or TPM as a GnuTLS key (*dk must outlive *key);
 * its public key must be crt's (BW_E_KEY otherwise). */
static bw_err ext_key(const char *uri, gnutls_x509_crt_t crt, struct bwh_devkey **dk,
                      gnutls_privkey_t *key)
{
    uint8_t pub[BW_P256_PUB_LEN], xy[64]; /* pub: 0x04 | x | y */
    gnutls_datum_t x = {NULL, 0}, y = {NULL, 0};
    gnutls_ecc_curve_t curve;
    bw_err rc;

    rc = bwh_devkey_open(uri, dk);
    if (!rc)
        rc = bwh_devkey_public(*dk, pub);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: CRL key %s: %s%s%s\n", uri, bw_strerror(rc),
                *dk && *bwh_devkey_detail(*dk) ? ": " : "", *dk ? bwh_devkey_detail(*dk) : "");
        return rc;
    }
    rc = BW_E_KEY;
    if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y) < 0 ||
        curve != GNUTLS_ECC_CURVE_SECP256R1 || coord32(&x, xy) || coord32(&y, xy + 32) ||
        pub[0] != 0x04 || memcmp(pub + 1, xy, sizeof(xy))) {
        fprintf(stderr, "bulwark-gateway: CRL key %s is not the key of its certificate\n", uri);
        goto out;
    }
    if (gnutls_privkey_init(key) < 0) {
        *key = NULL;
        goto out;
    }
    if (gnutls_privkey_import_ext4(*key, *dk, ext_sign_data, ext_sign_hash, NULL, NULL, ext_info,
                                   0) < 0)
        goto out;
    rc = BW_OK;
out:
    gnutls_free(x.data);
    gnutls_free(y.data);
    return rc;
}

/* The CRL of rows, thisUpdate now, signed by the CA cert_path with key
 * key_path (a PEM file, pkcs11: or tpm: URI), as DER in *der (bwh_malloc'd). */
static bw_err crl_sign(const struct gw_conf *c, const char *cert_path, const char *key_path,
                       const struct rows *rows, int64_t now, uint8_t **der, size_t *der_len)
{
    uint8_t *cb = NULL, *kb = NULL, number[8], akid[64];
    size_t cn = 0, kn = 0, akid_len = sizeof(akid), i;
    gnutls_x509_crt_t crt = NULL;
    gnutls_privkey_t key = NULL;
    gnutls_x509_crl_t crl = NULL;
    gnutls_datum_t d, out = {NULL, 0};
    unsigned int critical = 0;
    struct bwh_devkey *dk = NULL;
    int ext = !strncmp(key_path, "pkcs11:", 7) || !strncmp(key_path, "tpm:", 4);
    bw_err rc;

    *der = NULL;
    rc = bwh_read_file(cert_path, 1 << 20, &cb, &cn);
    if (!rc && !ext)
        rc = bwh_read_file(key_path, 1 << 20, &kb, &kn);
    if (rc)
        goto out;
    rc = BW_E_KEY;
    d.data = cb;
    d.size = (unsigned int)cn;
    if (gnutls_x509_crt_init(&crt) < 0) {
        crt = NULL;
        goto out;
    }
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0)
        goto out;
    if (ext) {
        rc = ext_key(key_path, crt, &dk, &key);
        if (rc)
            goto out;
        rc = BW_E_KEY;
    } else {
        d.data = kb;
        d.size = (unsigned int)kn;
        if (gnutls_privkey_init(&key) < 0) {
            key = NULL;
            goto out;
        }
        if (gnutls_privkey_import_x509_raw(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
            goto out;
    }
    rc = BW_E_CRYPTO;
    if (gnutls_x509_crl_init(&crl) < 0) {
        crl = NULL;
        goto out;
    }
    /* the CRL number: thisUpdate, so that it grows across instances too */
    for (i = 0; i < sizeof(number); i++)
        number[i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
    if (gnutls_x509_crl_set_version(crl, 2) < 0 ||
        gnutls_x509_crl_set_this_update(crl, (time_t)now) < 0 ||
        gnutls_x509_crl_set_next_update(crl, (time_t)(now + (int64_t)c->crl_period)) < 0 ||
        gnutls_x509_crl_set_number(crl, number, sizeof(number)) < 0)
        goto out;
    if (gnutls_x509_crt_get_subject_key_id(crt, akid, &akid_len, &critical) >= 0 &&
        gnutls_x509_crl_set_authority_key_id(crl, akid, akid_len) < 0)
        goto out;
    for (i = 0; i < rows->n; i++)
        if (gnutls_x509_crl_set_crt_serial(crl,
                                           rows->v[i].serial + (rows->v[i].serial[1] < 0x80),
                                           rows->v[i].len,
                                           (time_t)(rows->v[i].at ? rows->v[i].at : now)) < 0)
            goto out;
    if (gnutls_x509_crl_privkey_sign(crl, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
        gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &out) < 0)
        goto out;
    rc = BW_E_NOMEM;
    *der = bwh_malloc(out.size);
    if (!*der)
        goto out;
    memcpy(*der, out.data, out.size);
    *der_len = out.size;
    rc = BW_OK;
out:
    gnutls_free(out.data);
    if (crl)
        gnutls_x509_crl_deinit(crl);
    if (key)
        gnutls_privkey_deinit(key);
    bwh_devkey_close(dk);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (kb)
        bw_wipe(kb, kn);
    bwh_free(kb);
    bwh_free(cb);
    return rc;
}

/* how often a request may read the revoked rows */
#define CRL_READ_S 1.0

void gw_crl_stale(struct gw_state *st)
{
    pthread_mutex_lock(&st->crl_lock);
    st->crl[0].read = 0;
    st->crl[1].read = 0;
    pthread_mutex_unlock(&st->crl_lock);
}

/* A copy of CRL l made last in *der; BW_E_NOTFOUND when there is none
 * or it is due to be checked against the registry. */
static bw_err crl_cached(struct gw_state *st, const struct gw_crl *l, uint8_t **der,
                         size_t *der_len)
{
    double now = bwh_now();
    bw_err rc = BW_E_NOTFOUND;

    pthread_mutex_lock(&st->crl_lock);
    if (l->der && l->read > 0 && now - l->read < CRL_READ_S && now >= l->read) {
        *der = bwh_malloc(l->der_len);
        rc = *der ? BW_OK : BW_E_NOMEM;
        if (*der) {
            memcpy(*der, l->der, l->der_len);
            *der_len = l->der_len;
        }
    }
    pthread_mutex_unlock(&st->crl_lock);
    return rc;
}

/* A copy of the current CRL as DER in *der, op 0 the device CA's (birth
 * certificates), 1 the operational CA's: the one made before when the
 * revoked rows are the same and it is younger than half its period, else
 * a new one. */
static bw_err crl_current(struct gw_state *st, int op, const struct gw_db_ops *ops, void *h,
                          uint8_t **der, size_t *der_len)
{
    const struct gw_conf *c = &st->conf;
    struct gw_crl *l = &st->crl[op];
    struct rows rows;
    uint8_t digest[BW_SHA256_LEN], *nd = NULL;
    size_t nl = 0;
    int64_t now = (int64_t)time(NULL);
    bw_err rc;

    memset(&rows, 0, sizeof(rows));
    *der = NULL;
    rc = crl_cached(st, l, der, der_len);
    if (rc != BW_E_NOTFOUND)
        return rc;
    rc = bw_sha256_init(&rows.h);
    if (rc)
        return rc;
    rc = ops->device_revoked(h, op, add_row, &rows);
    if (!rc)
        rc = rows.err;
    if (!rc)
        rc = bw_sha256_final(&rows.h, digest);
    else
        bw_sha256_abort(&rows.h);
    if (rc)
        goto out;
    pthread_mutex_lock(&st->crl_lock);
    if (!l->der || memcmp(l->rows, digest, sizeof(digest)) ||
        now - l->made >= (int64_t)c->crl_period / 2 || now < l->made) {
        rc = crl_sign(c, op ? c->est_ca_cert : c->crl_cert, op ? c->est_ca_key : c->crl_key, &rows,
                      now, &nd, &nl);
        if (!rc) {
            bwh_free(l->der);
            l->der = nd;
            l->der_len = nl;
            memcpy(l->rows, digest, sizeof(digest));
            l->made = now;
        }
    }
    if (!rc)
        l->read = bwh_now();
    if (!rc) {
        *der = bwh_malloc(l->der_len);
        if (*der) {
            memcpy(*der, l->der, l->der_len);
            *der_len = l->der_len;
        } else {
            rc = BW_E_NOMEM;
        }
    }
    pthread_mutex_unlock(&st->crl_lock);
out:
    bwh_free(rows.v);
    return rc;
}

void gw_h_crl(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_db_ops *ops;
    uint8_t *der = NULL;
    size_t der_len = 0;
    gnutls_datum_t d, pem = {NULL, 0};
    char *b;
    const struct gw_conf *c = &q->st->conf;
    int op = !strncmp(q->path, "/crl/operational.", 17);
    size_t n = strlen(q->path);
    void *h;
    bw_err rc;

    if (op ? !c->est_ca_cert[0] || !c->est_ca_key[0] : !c->crl_cert[0] || !c->crl_key[0]) {
        gw_error(r, 404, "not_configured",
                 op ? "est_ca_cert and est_ca_key are not set" : "crl_cert and crl_key are not set");
        return;
    }
    if (!gw_registry(q, r, &ops, &h))
        return;
    rc = crl_current(q->st, op, ops, h, &der, &der_len);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: CRL (%s, %s): %s\n", op ? c->est_ca_cert : c->crl_cert,
                op ? c->est_ca_key : c->crl_key, bw_strerror(rc));
        gw_error(r, 503, "crl", "the CRL cannot be made now");
        return;
    }
    if (n > 4 && !strcmp(q->path + n - 4, ".crl")) {
        gw_text(r, 200, "application/pkix-crl", (char *)der, der_len);
        return;
    }
    d.data = der;
    d.size = (unsigned int)der_len;
    rc = gnutls_pem_base64_encode2("X509 CRL", &d, &pem) < 0 ? BW_E_NOMEM : BW_OK;
    bwh_free(der);
    b = rc ? NULL : bwh_malloc(pem.size);
    if (!b) {
        gnutls_free(pem.data);
        gw_error(r, 503, "nomem", "out of memory");
        return;
    }
    memcpy(b, pem.data, pem.size);
    gw_text(r, 200, "application/x-pem-file", b, pem.size);
    gnutls_free(pem.data);
}
