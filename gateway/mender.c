/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mender device API wire format (mender.h) on jansson and OpenSSL.
 * Duplicate keys are refused; the auth request's signature is checked over
 * the exact bytes received, before anything in the body is believed.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bulwark/bulwark.h"
#include "bwh/host.h"
#include "mender.h"
#include "parse.h"

static json_t *load(const uint8_t *b, size_t n, const char **why)
{
    json_error_t je;
    json_t *o = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);

    if (!o)
        *why = "body must be JSON (UTF-8, no duplicate keys)";
    return o;
}

static int copy_str(json_t *v, char *out, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    if (!s || n >= cap)
        return -1;
    memcpy(out, s, n + 1);
    return 0;
}

/* ---- keys and signatures ------------------------------------------------------- */

static EVP_PKEY *read_pubkey(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return k;
}

/* An RSA key whose signature check costs what a device's key should:
 * modulus of GW_MENDER_RSA_MIN_BITS..GW_MENDER_RSA_MAX_BITS, public
 * exponent odd and 3..2^32 (65537 in practice). A huge exponent makes
 * each check 10-30 times dearer; an even one is no RSA key. Decided on
 * the parsed numbers, before any signature operation. */
static int rsa_ok(EVP_PKEY *k)
{
    BIGNUM *e = NULL;
    int bits = EVP_PKEY_get_bits(k), ok;

    if (bits < GW_MENDER_RSA_MIN_BITS || bits > GW_MENDER_RSA_MAX_BITS ||
        EVP_PKEY_get_bn_param(k, "e", &e) != 1)
        return 0;
    ok = BN_is_odd(e) && !BN_is_one(e) && BN_num_bits(e) <= 32; /* 2^32 is even */
    BN_free(e);
    return ok;
}

/* RSA within rsa_ok's bounds, or EC on P-256; 0 for anything else */
static enum gw_mender_key key_kind(EVP_PKEY *k)
{
    char group[32];
    size_t glen = 0;

    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
        return rsa_ok(k) ? GW_MENDER_RSA : 0;
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
        EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) == 1 &&
        !strcmp(group, "prime256v1"))
        return GW_MENDER_EC_P256;
    return 0;
}

/* Standard base64 (padding required), at most cap bytes out. */
static int b64_decode(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t len = strlen(s), pad = 0;
    int r;

    if (len == 0 || len % 4 || len / 4 * 3 > cap)
        return -1;
    pad = (s[len - 1] == '=') + (s[len - 2] == '=');
    r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    if (r < 0 || (size_t)r < pad)
        return -1;
    *n = (size_t)r - pad;
    return 0;
}

static bw_err verify(EVP_PKEY *k, const uint8_t *body, size_t n, const char *sig_b64)
{
    uint8_t sig[1024];
    size_t slen;
    EVP_MD_CTX *ctx;
    int ok;

    if (!sig_b64 || strlen(sig_b64) > 4 * (sizeof(sig) / 3) ||
        b64_decode(sig_b64, sig, sizeof(sig), &slen))
        return BW_E_BADSIG;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return BW_E_NOMEM;
    /* RSA: PKCS#1 v1.5 is the default padding; EC: a DER signature */
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
         EVP_DigestVerify(ctx, sig, slen, body, n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? BW_OK : BW_E_BADSIG;
}

bw_err gw_mender_key_fingerprint(const char *pem, char out[65])
{
    EVP_PKEY *k = read_pubkey(pem);
    unsigned char *der = NULL;
    uint8_t dig[BW_SHA256_LEN];
    int len;
    bw_err rc = BW_E_FORMAT;

    out[0] = 0;
    if (!k)
        return BW_E_FORMAT;
    if (!key_kind(k)) { /* a key the auth request would refuse */
        EVP_PKEY_free(k);
        return BW_E_KEY;
    }
    len = i2d_PUBKEY(k, &der);
    if (len > 0 && bw_sha256(der, (size_t)len, dig) == BW_OK) {
        bw_hex(out, dig, sizeof(dig));
        rc = BW_OK;
    }
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- the auth request -------------------------------------------------------------- */

bw_err gw_mender_identity(const char *id_json, size_t n, char id_data[GW_ATTRS_MAX + 1],
                          char device_id[GW_ID_MAX + 1], const char **why)
{
    json_error_t je;
    json_t *id;
    uint8_t dig[BW_SHA256_LEN];
    char hex[65];
    bw_err rc;

    id = json_loadb(id_json, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(id) || json_object_size(id) == 0) {
        json_decref(id);
        *why = "id_data: a non-empty JSON object";
        return BW_E_FORMAT;
    }
    rc = gw_attrs_text(id, id_data, why);
    json_decref(id);
    if (rc)
        return rc;
    if (bw_sha256(id_data, strlen(id_data), dig))
        return BW_E_NOMEM;
    bw_hex(hex, dig, sizeof(dig));
    snprintf(device_id, GW_ID_MAX + 1, "mender-%.16s", hex);
    return BW_OK;
}

bw_err gw_mender_parse_auth(const uint8_t *b, size_t n, const char *sig_b64,
                            struct gw_mender_auth *out, const char **why)
{
    json_t *o, *pk;
    EVP_PKEY *k = NULL;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    o = load(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    pk = json_object_get(o, "pubkey");
    if (!json_is_object(o) || !json_is_string(pk)) {
        *why = "an object with id_data and pubkey";
        goto out;
    }
    if (copy_str(pk, out->pubkey, sizeof(out->pubkey))) {
        *why = "pubkey too long";
        rc = BW_E_TOOBIG;
        goto out;
    }
    k = read_pubkey(out->pubkey);
    if (!k) {
        *why = "pubkey: not a PEM public key";
        goto out;
    }
    out->key_type = key_kind(k);
    if (!out->key_type) {
        *why = "pubkey: RSA of 2048 to 4096 bits with an odd exponent below 2^32, or ECDSA P-256";
        rc = BW_E_KEY;
        goto out;
    }
    /* the signature first: nothing else in the body counts before it */
    rc = verify(k, b, n, sig_b64);
    if (rc) {
        *why = "X-MEN-Signature does not verify over the body with its pubkey";
        goto out;
    }
    rc = BW_E_FORMAT;
    if (!json_is_string(json_object_get(o, "id_data")))
        *why = "id_data: a JSON object as a string";
    else
        rc = gw_mender_identity(json_string_value(json_object_get(o, "id_data")),
                                json_string_length(json_object_get(o, "id_data")), out->id_data,
                                out->device_id, why);
out:
    EVP_PKEY_free(k);
    json_decref(o);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- inventory, next, status --------------------------------------------------------- */

/* a scalar as text: a string as is, a number in decimal */
static int scalar(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return snprintf(buf, cap, "%s", json_string_value(v)) < (int)cap ? 0 : -1;
    if (json_is_integer(v))
        return snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < (int)cap ? 0
                                                                                           : -1;
    if (json_is_real(v))
        return snprintf(buf, cap, "%.17g", json_real_value(v)) < (int)cap ? 0 : -1;
    return -1;
}

bw_err gw_mender_parse_inventory(const uint8_t *b, size_t n, char out[GW_ATTRS_MAX + 1],
                                 const char **why)
{
    json_t *arr, *obj = NULL, *e;
    static const size_t cap = GW_ATTRS_MAX + 1;
    char *val = NULL;
    size_t i;
    bw_err rc = BW_E_FORMAT;

    out[0] = 0;
    arr = load(b, n, why);
    if (!arr)
        return BW_E_FORMAT;
    obj = json_object();
    val = bwh_malloc(cap);
    if (!obj || !val) {
        rc = BW_E_NOMEM;
        goto out;
    }
    if (!json_is_array(arr)) {
        *why = "an array of {name, value}";
        goto out;
    }
    json_array_foreach(arr, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        json_t *v = json_object_get(e, "value");
        size_t len = 0, j;
        json_t *x;

        if (!name || !v || json_object_get(obj, name)) {
            *why = "each entry: a name (once) and a value";
            goto out;
        }
        if (json_is_array(v)) {
            val[0] = 0;
            json_array_foreach(v, j, x) {
                if ((j && len + 1 >= cap) || scalar(x, val + len + (j ? 1 : 0), cap - len - 1)) {
                    *why = "values: strings, numbers or arrays of those, within 4096 bytes";
                    rc = BW_E_TOOBIG;
                    goto out;
                }
                if (j)
                    val[len] = ',';
                len = strlen(val);
            }
        } else if (scalar(v, val, cap)) {
            *why = "values: strings, numbers or arrays of those, within 4096 bytes";
            goto out;
        }
        if (json_object_set_new(obj, name, json_string(val))) {
            *why = "names and values must be UTF-8";
            goto out;
        }
    }
    rc = gw_attrs_text(obj, out, why);
out:
    bwh_free(val);
    json_decref(obj);
    json_decref(arr);
    return rc;
}

bw_err gw_mender_parse_next(const uint8_t *b, size_t n, struct gw_mender_provides *out,
                            const char **why)
{
    json_t *o, *p;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    o = load(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    p = json_object_get(o, "device_provides");
    if (!json_is_object(p) ||
        copy_str(json_object_get(p, "artifact_name"), out->artifact_name,
                 sizeof(out->artifact_name)) ||
        copy_str(json_object_get(p, "device_type"), out->device_type, sizeof(out->device_type)) ||
        !out->device_type[0]) {
        *why = "device_provides: artifact_name and device_type, strings of at most 64 bytes";
        memset(out, 0, sizeof(*out));
        goto out;
    }
    rc = BW_OK;
out:
    json_decref(o);
    return rc;
}

bw_err gw_mender_parse_status(const uint8_t *b, size_t n, struct gw_mender_status_body *out,
                              const char **why)
{
    static const char *const names[] = {"downloading", "pause_before_installing", "installing",
                                        "pause_before_rebooting", "rebooting",
                                        "pause_before_committing", "success", "failure",
                                        "already-installed"};
    json_t *o, *sub;
    const char *s;
    size_t i;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    o = load(b, n, why);
    if (!o)
        return BW_E_FORMAT;
    s = json_string_value(json_object_get(o, "status"));
    for (i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i]))
            break;
    if (!s || i == sizeof(names) / sizeof(names[0])) {
        *why = "status: a Mender deployment status";
        goto out;
    }
    out->status = (enum gw_mender_status)i;
    sub = json_object_get(o, "substate");
    if (sub && copy_str(sub, out->substate, sizeof(out->substate))) {
        *why = "substate: a string of at most 16 KiB";
        rc = json_is_string(sub) ? BW_E_TOOBIG : BW_E_FORMAT;
        goto out;
    }
    rc = BW_OK;
out:
    json_decref(o);
    return rc;
}

enum gw_action_state gw_mender_state(enum gw_mender_status s)
{
    if (s == GW_MENDER_SUCCESS || s == GW_MENDER_ALREADY_INSTALLED)
        return GW_ACTION_SUCCESS;
    if (s == GW_MENDER_FAILURE)
        return GW_ACTION_FAILURE;
    return GW_ACTION_RUNNING;
}
