/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device certificates with OpenSSL: the manufacturing CA, CSRs signed
 * through any device-key backend, and issuing (identity.h). The CA key is
 * a PEM file on the factory station or a key in a PKCS#11 token or TPM;
 * keys in a backend never leave it, which is why CSRs (and certificates
 * from such a CA) are signed by hand rather than with X509_*_sign.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bulwark/core.h"
#include "bwh/identity.h"
#include "bwh/host.h"

struct bwh_ca {
    X509 *cert;
    EVP_PKEY *key;          /* a PEM key file, or */
    struct bwh_devkey *dk;  /* a key in a backend (pkcs11:, tpm:) */
};

/* A CA key named by a backend URI rather than a PEM file. */
static int is_key_uri(const char *s)
{
    return !strncmp(s, "pkcs11:", 7) || !strncmp(s, "tpm:", 4);
}

/* An EVP_PKEY holding only the public point. */
static EVP_PKEY *pkey_from_pub(const uint8_t pub[BW_P256_PUB_LEN])
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;

    if (!b)
        return NULL;
    if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, BW_P256_PUB_LEN))
        goto out;
    params = OSSL_PARAM_BLD_to_param(b);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    return pk;
}

/* The uncompressed point of a P-256 key; BW_E_KEY for anything else. */
static bw_err pub_of(EVP_PKEY *pk, uint8_t pub[BW_P256_PUB_LEN])
{
    char group[32];
    size_t len = 0;

    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        strcmp(group, "prime256v1"))
        return BW_E_KEY;
    if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, BW_P256_PUB_LEN,
                                         &len) ||
        len != BW_P256_PUB_LEN || pub[0] != 0x04)
        return BW_E_KEY;
    return BW_OK;
}

static char *bio_string(BIO *bio)
{
    char *data, *s;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0)
        return NULL;
    s = bwh_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    memcpy(s, data, (size_t)n);
    s[n] = 0;
    return s;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return 0;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Method: 128 bits from the CSPRNG, read as an unsigned number, so the
 * DER INTEGER is positive: when the top random bit is set, DER puts a 0x00
 * byte in front (17 content bytes, within RFC 5280 4.1.2.2's 20). Zero is
 * not a serial (positive means > 0): drawn again. */
static int random_serial(X509 *cert, uint8_t out[16])
{
    ASN1_INTEGER *ai = NULL;
    BIGNUM *bn = NULL;
    int ok = 0, tries;

    for (tries = 0; tries < 4 && (!bn || BN_is_zero(bn)); tries++) {
        BN_free(bn);
        bn = NULL;
        if (bw_random(out, 16))
            return 0;
        bn = BN_bin2bn(out, 16, NULL);
        if (!bn)
            return 0;
    }
    if (!BN_is_zero(bn))
        ai = BN_to_ASN1_INTEGER(bn, NULL);
    if (ai)
        ok = X509_set_serialNumber(cert, ai);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok;
}


/* Signs cert with a key in a backend. Method: both AlgorithmIdentifiers
 * (the one inside the signed part and the outer one) are set to
 * ecdsa-with-SHA256, the to-be-signed part is encoded and hashed, the
 * backend signs the hash, and its signature, as DER, becomes the outer BIT
 * STRING. OpenSSL 3.0 has no setters for these fields of a certificate,
 * so they are written through the pointers its getters return (the
 * certificate's own fields). The result is verified under the backend's
 * public key before it is used. */
static int sign_with_devkey(X509 *cert, struct bwh_devkey *dk, EVP_PKEY *pub)
{
    const ASN1_BIT_STRING *csig;
    const X509_ALGOR *calg;
    X509_ALGOR *tbs_alg = (X509_ALGOR *)(uintptr_t)X509_get0_tbs_sigalg(cert);
    ASN1_BIT_STRING *bits;
    unsigned char *tbs = NULL;
    uint8_t hash[BW_SHA256_LEN], sig[BW_P256_SIG_LEN], der[BW_P256_DER_MAX];
    int tbs_len, ok = 0;

    X509_get0_signature(&csig, &calg, cert);
    bits = (ASN1_BIT_STRING *)(uintptr_t)csig;
    if (!tbs_alg || !calg || !bits ||
        !X509_ALGOR_set0(tbs_alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL) ||
        !X509_ALGOR_set0((X509_ALGOR *)(uintptr_t)calg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
                         V_ASN1_UNDEF, NULL))
        goto out;
    tbs_len = i2d_re_X509_tbs(cert, &tbs);
    if (tbs_len <= 0 || bw_sha256(tbs, (size_t)tbs_len, hash) || bwh_devkey_sign(dk, hash, sig) ||
        !ASN1_BIT_STRING_set(bits, der, (int)bw_ecdsa_sig_der(der, sig)))
        goto out;
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    ok = X509_verify(cert, pub) == 1;
out:
    OPENSSL_free(tbs);
    bw_wipe(hash, sizeof(hash));
    return ok;
}

/* Signs cert with the CA's key, wherever it lives. */
static int ca_sign(struct bwh_ca *ca, X509 *cert)
{
    if (ca->key)
        return X509_sign(cert, ca->key, EVP_sha256()) > 0;
    return sign_with_devkey(cert, ca->dk, X509_get0_pubkey(ca->cert));
}

static bw_err write_pem_file(const char *path, BIO *bio, mode_t mode)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0)
        return BW_E_CRYPTO;
    return bwh_write_file_atomic(path, data, (size_t)n, mode);
}

/* The CA's self-signed certificate for key pk (unsigned): subject
 * "O=org, CN=org Manufacturing CA", CA:TRUE pathlen 0. */
static X509 *ca_cert_new(EVP_PKEY *pk, const char *org, unsigned days)
{
    uint8_t serial[16];
    char cn[256];
    X509 *cert = X509_new();
    X509_NAME *name;

    if (!cert)
        return NULL;
    snprintf(cn, sizeof(cn), "%s Manufacturing CA", org);
    name = X509_get_subject_name(cert);
    if (!X509_set_version(cert, 2) || !random_serial(cert, serial) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(cert, name) || !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ||
        !X509_set_pubkey(cert, pk) ||
        !add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(cert, cert, NID_subject_key_identifier, "hash")) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

bw_err bwh_ca_create(const char *dir, const char *org, unsigned days)
{
    char kpath[4200], cpath[4200];
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    BIO *kb = NULL, *cb = NULL;
    struct stat st;
    bw_err rc = BW_E_CRYPTO;

    if (!dir || !org || !*org || strlen(org) > 128 || days == 0)
        return BW_E_INVAL;
    snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
    snprintf(cpath, sizeof(cpath), "%s/ca.crt", dir);
    if (stat(kpath, &st) == 0)
        return BW_E_EXISTS;
    if (mkdir(dir, 0700) && errno != EEXIST)
        return BW_E_IO;
    key = EVP_EC_gen("prime256v1");
    cert = key ? ca_cert_new(key, org, days) : NULL;
    if (!cert || !X509_sign(cert, key, EVP_sha256()))
        goto out;
    kb = BIO_new(BIO_s_mem());
    cb = BIO_new(BIO_s_mem());
    if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cb, cert))
        goto out;
    rc = write_pem_file(kpath, kb, 0600);
    if (!rc)
        rc = write_pem_file(cpath, cb, 0644);
out:
    BIO_free(kb);
    BIO_free(cb);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

bw_err bwh_ca_create_in(const char *cert_path, const char *key_uri, const char *org, unsigned days)
{
    uint8_t pub[BW_P256_PUB_LEN];
    struct bwh_devkey *k = NULL;
    EVP_PKEY *pk = NULL;
    X509 *cert = NULL;
    BIO *cb = NULL;
    struct stat st;
    bw_err rc;

    if (!cert_path || !key_uri || !is_key_uri(key_uri) || !org || !*org || strlen(org) > 128 ||
        days == 0)
        return BW_E_INVAL;
    if (stat(cert_path, &st) == 0)
        return BW_E_EXISTS;
    rc = bwh_devkey_open(key_uri, &k);
    if (!rc)
        rc = bwh_devkey_generate(k, 0); /* never over a key that is there */
    if (!rc)
        rc = bwh_devkey_public(k, pub);
    if (rc)
        goto out;
    rc = BW_E_CRYPTO;
    pk = pkey_from_pub(pub);
    cert = pk ? ca_cert_new(pk, org, days) : NULL;
    if (!cert || !sign_with_devkey(cert, k, pk))
        goto out;
    cb = BIO_new(BIO_s_mem());
    if (!cb || !PEM_write_bio_X509(cb, cert))
        goto out;
    rc = write_pem_file(cert_path, cb, 0644);
out:
    BIO_free(cb);
    X509_free(cert);
    EVP_PKEY_free(pk);
    bwh_devkey_close(k);
    return rc;
}

bw_err bwh_ca_open(const char *cert_pem_path, const char *key_pem_path, struct bwh_ca **out)
{
    uint8_t pub[BW_P256_PUB_LEN], cpub[BW_P256_PUB_LEN];
    struct bwh_ca *ca;
    FILE *f;
    bw_err rc = BW_E_KEY;

    if (!cert_pem_path || !key_pem_path || !out)
        return BW_E_INVAL;
    ca = bwh_calloc(1, sizeof(*ca));
    if (!ca)
        return BW_E_NOMEM;
    f = fopen(cert_pem_path, "r");
    if (!f) {
        rc = errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
        goto fail;
    }
    ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (is_key_uri(key_pem_path)) {
        rc = BW_E_FORMAT;
        if (!ca->cert)
            goto fail;
        rc = bwh_devkey_open(key_pem_path, &ca->dk);
        if (!rc)
            rc = bwh_devkey_public(ca->dk, pub);
        if (rc)
            goto fail;
        rc = BW_E_KEY;
        if (pub_of(X509_get0_pubkey(ca->cert), cpub) || memcmp(pub, cpub, sizeof(pub)) ||
            X509_check_ca(ca->cert) == 0)
            goto fail;
        *out = ca;
        return BW_OK;
    }
    f = fopen(key_pem_path, "r");
    if (!f) {
        rc = errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
        goto fail;
    }
    ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca->cert || !ca->key) {
        rc = BW_E_FORMAT;
        goto fail;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1 || X509_check_ca(ca->cert) == 0)
        goto fail;
    *out = ca;
    return BW_OK;
fail:
    bwh_ca_free(ca);
    return rc;
}

void bwh_ca_free(struct bwh_ca *ca)
{
    if (!ca)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    bwh_devkey_close(ca->dk);
    bwh_free(ca);
}

bw_err bwh_csr_make(struct bwh_devkey *k, const char *device_id, const char *org, char **pem)
{
    uint8_t pub[BW_P256_PUB_LEN], hash[BW_SHA256_LEN], sig[BW_P256_SIG_LEN], der[BW_P256_DER_MAX];
    unsigned char *tbs = NULL;
    X509_REQ *req = NULL;
    X509_ALGOR *alg = NULL;
    ASN1_BIT_STRING *bits = NULL;
    EVP_PKEY *pk = NULL;
    X509_NAME *name;
    BIO *bio = NULL;
    int tbs_len;
    bw_err rc;

    if (!k || !device_id || !*device_id || strlen(device_id) > 64 || !pem)
        return BW_E_INVAL;
    *pem = NULL;
    rc = bwh_devkey_public(k, pub);
    if (rc)
        return rc;
    rc = BW_E_CRYPTO;
    pk = pkey_from_pub(pub);
    req = X509_REQ_new();
    if (!pk || !req || !X509_REQ_set_version(req, 0) || !X509_REQ_set_pubkey(req, pk))
        goto out;
    name = X509_REQ_get_subject_name(req);
    if ((org && *org &&
         !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1,
                                     0)) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)device_id,
                                    -1, -1, 0))
        goto out;
    /* Method: encode the to-be-signed part, hash it, let the backend sign
     * the hash, then attach algorithm and DER signature to the request. */
    tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
    if (tbs_len <= 0 || bw_sha256(tbs, (size_t)tbs_len, hash))
        goto out;
    rc = bwh_devkey_sign(k, hash, sig);
    if (rc)
        goto out;
    rc = BW_E_CRYPTO;
    alg = X509_ALGOR_new();
    bits = ASN1_BIT_STRING_new();
    if (!alg || !bits ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL) ||
        !ASN1_BIT_STRING_set(bits, der, (int)bw_ecdsa_sig_der(der, sig)))
        goto out;
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    if (!X509_REQ_set1_signature_algo(req, alg))
        goto out;
    X509_REQ_set0_signature(req, bits);
    bits = NULL;
    rc = BW_E_BADSIG; /* the backend's signature must verify under its own key */
    if (X509_REQ_verify(req, pk) != 1)
        goto out;
    rc = BW_E_CRYPTO;
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509_REQ(bio, req))
        goto out;
    *pem = bio_string(bio);
    rc = *pem ? BW_OK : BW_E_NOMEM;
out:
    BIO_free(bio);
    ASN1_BIT_STRING_free(bits);
    X509_ALGOR_free(alg);
    OPENSSL_free(tbs);
    X509_REQ_free(req);
    EVP_PKEY_free(pk);
    return rc;
}

static uint64_t asn1_time_unix(const ASN1_TIME *t)
{
    struct tm tm;

    if (!ASN1_TIME_to_tm(t, &tm))
        return 0;
    return (uint64_t)timegm(&tm);
}

static bw_err fill_info(X509 *cert, struct bwh_cert_info *info)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
    unsigned char *der = NULL;
    BIGNUM *bn;
    int len, n;
    bw_err rc;

    memset(info, 0, sizeof(*info));
    rc = pub_of(X509_get0_pubkey(cert), info->pub);
    if (rc)
        return rc;
    bn = ASN1_INTEGER_to_BN(sn, NULL);
    if (!bn || BN_num_bytes(bn) > 16) {
        BN_free(bn);
        return BW_E_FORMAT;
    }
    BN_bn2binpad(bn, info->serial, 16);
    BN_free(bn);
    len = i2d_X509(cert, &der);
    if (len <= 0)
        return BW_E_CRYPTO;
    rc = bw_sha256(der, (size_t)len, info->fingerprint);
    OPENSSL_free(der);
    if (rc)
        return rc;
    n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, info->device_id,
                                  sizeof(info->device_id));
    if (n <= 0)
        return BW_E_FORMAT;
    info->not_before = asn1_time_unix(X509_get0_notBefore(cert));
    info->not_after = asn1_time_unix(X509_get0_notAfter(cert));
    return BW_OK;
}

/* The request's single CN as text: 0 if there is none, more than one, or
 * one with an embedded NUL (which C string compares would cut short). */
static int one_cn(X509_NAME *n, char *out, size_t cap)
{
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    X509_NAME_ENTRY *e;
    ASN1_STRING *v;
    int len;

    if (i < 0 || X509_NAME_get_index_by_NID(n, NID_commonName, i) >= 0)
        return 0;
    e = X509_NAME_get_entry(n, i);
    v = e ? X509_NAME_ENTRY_get_data(e) : NULL;
    if (!v || ASN1_STRING_type(v) == V_ASN1_BMPSTRING || ASN1_STRING_type(v) == V_ASN1_UNIVERSALSTRING)
        return 0;
    len = ASN1_STRING_length(v);
    if (len <= 0 || (size_t)len >= cap || memchr(ASN1_STRING_get0_data(v), 0, (size_t)len))
        return 0;
    memcpy(out, ASN1_STRING_get0_data(v), (size_t)len);
    out[len] = 0;
    return 1;
}

/* Copies the O entries of the CA's subject into n (none is fine). */
static int copy_org(X509_NAME *ca, X509_NAME *n)
{
    int i = -1;

    while ((i = X509_NAME_get_index_by_NID(ca, NID_organizationName, i)) >= 0)
        if (!X509_NAME_add_entry(n, X509_NAME_get_entry(ca, i), -1, 0))
            return 0;
    return 1;
}

/* A PrintableString value (X.520 serialNumber): letters, digits, space
 * and '()+,-./:=? only, 1..64 characters. */
static int printable(const char *s)
{
    static const char extra[] = " '()+,-./:=?";
    size_t i, n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])))
            return 0;
    return 1;
}

/* subjectAltName with one otherName, id-on-hardwareModuleName (RFC 4108
 * section 5): SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET
 * STRING }, DER built here, non-critical (the subject is not empty). */
static int add_hw_module_name(X509 *cert, const char *hw_type, const uint8_t *sn, size_t sn_len)
{
    ASN1_OBJECT *type = OBJ_txt2obj(hw_type, 1), *on = OBJ_txt2obj("1.3.6.1.5.5.7.8.4", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_STRING *seq = ASN1_STRING_new();
    ASN1_TYPE *val = ASN1_TYPE_new();
    unsigned char *der = NULL, *p;
    int lt, ls, inner, total, ok = 0;

    if (!type || !on || !os || !gens || !gen || !seq || !val || sn_len == 0 || sn_len > 64 ||
        !ASN1_OCTET_STRING_set(os, sn, (int)sn_len))
        goto out;
    lt = i2d_ASN1_OBJECT(type, NULL);
    ls = i2d_ASN1_OCTET_STRING(os, NULL);
    if (lt <= 0 || ls <= 0)
        goto out;
    inner = lt + ls;
    total = ASN1_object_size(1, inner, V_ASN1_SEQUENCE);
    der = OPENSSL_malloc((size_t)total);
    if (total <= 0 || !der)
        goto out;
    p = der;
    ASN1_put_object(&p, 1, inner, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    i2d_ASN1_OBJECT(type, &p);
    i2d_ASN1_OCTET_STRING(os, &p);
    if (p - der != total || !ASN1_STRING_set(seq, der, total))
        goto out;
    ASN1_TYPE_set(val, V_ASN1_SEQUENCE, seq);
    seq = NULL;
    if (!GENERAL_NAME_set0_othername(gen, on, val))
        goto out;
    on = NULL;
    val = NULL;
    if (!sk_GENERAL_NAME_push(gens, gen))
        goto out;
    gen = NULL;
    ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
out:
    OPENSSL_free(der);
    ASN1_TYPE_free(val);
    ASN1_STRING_free(seq);
    GENERAL_NAME_free(gen);
    sk_GENERAL_NAME_pop_free(gens, GENERAL_NAME_free);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(on);
    ASN1_OBJECT_free(type);
    return ok;
}

/* notAfter: the profile's GeneralizedTime text, or now + seconds. */
static int set_not_after(X509 *cert, const struct bwh_cert_profile *pr, long seconds)
{
    size_t i;

    if (!pr || !pr->not_after)
        return X509_gmtime_adj(X509_getm_notAfter(cert), seconds) != NULL;
    /* YYYYMMDDHHMMSSZ exactly: ASN1_TIME_set_string_X509 also takes
     * forms (fractions, offsets) RFC 5280 forbids */
    if (strlen(pr->not_after) != 15 || pr->not_after[14] != 'Z')
        return 0;
    for (i = 0; i < 14; i++)
        if (pr->not_after[i] < '0' || pr->not_after[i] > '9')
            return 0;
    return ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), pr->not_after) == 1;
}

bw_err bwh_ca_issue(struct bwh_ca *ca, const char *csr_pem, const char *device_id, unsigned days,
                   char **cert_pem, struct bwh_cert_info *info)
{
    return bwh_ca_issue_profile(ca, csr_pem, device_id, days, NULL, cert_pem, info);
}

/* Checks the profile's arguments: BW_E_INVAL, or BW_OK with *sn the
 * subject serialNumber to write (NULL: none). */
static bw_err profile_check(const struct bwh_cert_profile *pr, const char *device_id,
                            const char **sn)
{
    ASN1_OBJECT *o;
    int oid_ok;

    *sn = NULL;
    if (!pr)
        return BW_OK;
    *sn = pr->serial_number ? pr->serial_number : pr->idevid ? device_id : NULL;
    o = pr->hw_type ? OBJ_txt2obj(pr->hw_type, 1) : NULL;
    oid_ok = o != NULL;
    ASN1_OBJECT_free(o);
    if ((*sn && !printable(*sn)) ||
        (pr->hw_type &&
         (!oid_ok || !pr->hw_serial || !pr->hw_serial_len || pr->hw_serial_len > 64)))
        return BW_E_INVAL;
    return BW_OK;
}

/* Issues a certificate for a parsed request (see bwh_ca_issue_profile):
 * *cert is the new certificate, the caller's to free. */
static bw_err issue_req(struct bwh_ca *ca, X509_REQ *req, const char *device_id, long seconds,
                        const struct bwh_cert_profile *pr, const char *sn, X509 **out,
                        struct bwh_cert_info *info)
{
    char cn[128];
    X509_NAME *subject = NULL;
    X509 *cert = NULL;
    EVP_PKEY *pk;
    uint8_t pub[BW_P256_PUB_LEN], serial[16];
    bw_err rc;

    *out = NULL;
    pk = X509_REQ_get0_pubkey(req);
    rc = pub_of(pk, pub);
    if (rc)
        goto out;
    rc = BW_E_BADSIG;
    if (X509_REQ_verify(req, pk) != 1)
        goto out;
    rc = BW_E_CLAIM;
    if (!one_cn(X509_REQ_get_subject_name(req), cn, sizeof(cn)) || strcmp(cn, device_id))
        goto out;
    rc = BW_E_CRYPTO;
    /* The subject is ours, not the requester's: O of the CA, CN = the id
     * the factory assigned (and the IDevID's serialNumber). Nothing else a
     * CSR says reaches the cert. */
    subject = X509_NAME_new();
    cert = X509_new();
    if (!subject || !cert || !copy_org(X509_get_subject_name(ca->cert), subject) ||
        !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)device_id, -1, -1, 0) ||
        (sn && !X509_NAME_add_entry_by_NID(subject, NID_serialNumber, V_ASN1_PRINTABLESTRING,
                                           (const unsigned char *)sn, -1, -1, 0)) ||
        !X509_set_version(cert, 2) || !random_serial(cert, serial) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
        !X509_set_subject_name(cert, subject) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600))
        goto out;
    rc = BW_E_INVAL; /* a notAfter that is not YYYYMMDDHHMMSSZ */
    if (!set_not_after(cert, pr, seconds))
        goto out;
    rc = BW_E_CRYPTO;
    if (!X509_set_pubkey(cert, pk) ||
        !add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") ||
        !add_ext(cert, ca->cert, NID_ext_key_usage, "clientAuth") ||
        !add_ext(cert, ca->cert, NID_subject_key_identifier, "hash") ||
        !add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") ||
        (pr && pr->hw_type &&
         !add_hw_module_name(cert, pr->hw_type, pr->hw_serial, pr->hw_serial_len)) ||
        !ca_sign(ca, cert))
        goto out;
    rc = fill_info(cert, info);
    if (rc)
        goto out;
    *out = cert;
    cert = NULL;
out:
    X509_NAME_free(subject);
    X509_free(cert);
    return rc;
}

bw_err bwh_ca_issue_profile(struct bwh_ca *ca, const char *csr_pem, const char *device_id,
                           unsigned days, const struct bwh_cert_profile *pr, char **cert_pem,
                           struct bwh_cert_info *info)
{
    X509_REQ *req = NULL;
    X509 *cert = NULL;
    BIO *in = NULL, *bio = NULL;
    const char *sn;
    bw_err rc;

    if (!ca || !csr_pem || !device_id || !cert_pem || !info || (days == 0 && !(pr && pr->not_after)))
        return BW_E_INVAL;
    *cert_pem = NULL;
    rc = profile_check(pr, device_id, &sn);
    if (rc)
        return rc;
    rc = BW_E_FORMAT;
    in = BIO_new_mem_buf(csr_pem, -1);
    req = in ? PEM_read_bio_X509_REQ(in, NULL, NULL, NULL) : NULL;
    if (!req)
        goto out;
    rc = issue_req(ca, req, device_id, (long)days * 86400, pr, sn, &cert, info);
    if (rc)
        goto out;
    rc = BW_E_CRYPTO;
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, cert))
        goto out;
    *cert_pem = bio_string(bio);
    rc = *cert_pem ? BW_OK : BW_E_NOMEM;
out:
    BIO_free(bio);
    BIO_free(in);
    X509_free(cert);
    X509_REQ_free(req);
    return rc;
}

/* ---- EST (RFC 7030) ------------------------------------------------------ */

/* Strict base64 (RFC 4648 alphabet, '=' padding) with CR, LF, space and
 * tab ignored, as RFC 7030 bodies come (RFC 2045 lines), of at most max
 * characters (BW_E_TOOBIG). *out is bwh_malloc'd. BW_E_FORMAT for
 * anything else. */
static bw_err b64_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
    char *clean = NULL;
    uint8_t *buf = NULL;
    size_t i, n = 0, pad = 0;
    int got;
    bw_err rc = BW_E_NOMEM;

    *out = NULL;
    *out_len = 0;
    if (len > max)
        return BW_E_TOOBIG;
    clean = bwh_malloc(len + 1);
    buf = bwh_malloc(len / 4 * 3 + 3);
    if (!clean || !buf)
        goto out;
    rc = BW_E_FORMAT;
    for (i = 0; i < len; i++) {
        char ch = in[i];

        if (ch == '\r' || ch == '\n' || ch == ' ' || ch == '\t')
            continue;
        if (pad && ch != '=')
            goto out; /* data after padding */
        if (ch == '=')
            pad++;
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
            goto out;
        clean[n++] = ch;
    }
    if (n == 0 || n % 4 || pad > 2 || n > INT32_MAX)
        goto out;
    got = EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)n);
    if (got < 0 || (size_t)got < pad)
        goto out;
    *out = buf;
    *out_len = (size_t)got - pad;
    buf = NULL;
    rc = BW_OK;
out:
    bwh_free(clean);
    bwh_free(buf);
    return rc;
}

/* der as base64 in lines of 64 characters, NUL-terminated, bwh_malloc'd. */
static char *b64_encode(const uint8_t *der, size_t len)
{
    size_t full = 4 * ((len + 2) / 3), lines = full / 64 + 1, i, o = 0;
    char *flat, *s;

    if (len > INT32_MAX / 2)
        return NULL;
    flat = bwh_malloc(full + 1);
    s = bwh_malloc(full + lines + 1);
    if (!flat || !s) {
        bwh_free(flat);
        bwh_free(s);
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)flat, der, (int)len);
    for (i = 0; i < full; i += 64) {
        size_t k = full - i < 64 ? full - i : 64;

        memcpy(s + o, flat + i, k);
        o += k;
        s[o++] = '\n';
    }
    s[o] = 0;
    bwh_free(flat);
    return s;
}

/* A certs-only PKCS#7 SignedData (RFC 5652, "degenerate": no signers, no
 * content) of certs, DER in base64: what EST answers. */
static bw_err certs_only(STACK_OF(X509) *certs, char **b64)
{
    PKCS7 *p7 = PKCS7_new();
    unsigned char *der = NULL;
    int i, len;
    bw_err rc = BW_E_CRYPTO;

    *b64 = NULL;
    if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
        !PKCS7_content_new(p7, NID_pkcs7_data))
        goto out;
    for (i = 0; i < sk_X509_num(certs); i++)
        if (!PKCS7_add_certificate(p7, sk_X509_value(certs, i)))
            goto out;
    len = i2d_PKCS7(p7, &der);
    if (len <= 0)
        goto out;
    *b64 = b64_encode(der, (size_t)len);
    rc = *b64 ? BW_OK : BW_E_NOMEM;
out:
    OPENSSL_free(der);
    PKCS7_free(p7);
    return rc;
}

bw_err bwh_est_cacerts(const struct bwh_ca *ca, char **b64)
{
    STACK_OF(X509) *certs;
    bw_err rc = BW_E_NOMEM;

    if (!ca || !b64)
        return BW_E_INVAL;
    *b64 = NULL;
    certs = sk_X509_new_null();
    if (certs && sk_X509_push(certs, ca->cert))
        rc = certs_only(certs, b64);
    sk_X509_free(certs); /* the CA keeps its certificate */
    return rc;
}

bw_err bwh_est_issue(struct bwh_ca *ca, const char *csr_b64, size_t len, const char *device_id,
                     unsigned seconds, char **p7_b64, struct bwh_cert_info *info)
{
    STACK_OF(X509) *certs = NULL;
    X509_REQ *req = NULL;
    X509 *cert = NULL;
    uint8_t *der = NULL;
    const uint8_t *p;
    size_t der_len = 0;
    bw_err rc;

    if (!ca || !csr_b64 || !device_id || !p7_b64 || !info || seconds < 60)
        return BW_E_INVAL;
    *p7_b64 = NULL;
    rc = b64_decode(csr_b64, len, BWH_EST_CSR_MAX, &der, &der_len);
    if (rc)
        goto out;
    rc = BW_E_FORMAT;
    p = der;
    req = d2i_X509_REQ(NULL, &p, (long)der_len);
    if (!req || p != der + der_len) /* one request, nothing after it */
        goto out;
    rc = issue_req(ca, req, device_id, (long)seconds, NULL, NULL, &cert, info);
    if (rc)
        goto out;
    rc = BW_E_NOMEM;
    certs = sk_X509_new_null();
    if (!certs || !sk_X509_push(certs, cert))
        goto out;
    rc = certs_only(certs, p7_b64);
out:
    sk_X509_free(certs);
    X509_free(cert);
    X509_REQ_free(req);
    bwh_free(der);
    return rc;
}

bw_err bwh_est_certs_pem(const char *p7_b64, size_t len, char **pem)
{
    STACK_OF(X509) *certs;
    PKCS7 *p7 = NULL;
    BIO *bio = NULL;
    uint8_t *der = NULL;
    const uint8_t *p;
    size_t der_len = 0;
    int i;
    bw_err rc;

    if (!p7_b64 || !pem)
        return BW_E_INVAL;
    *pem = NULL;
    rc = b64_decode(p7_b64, len, BWH_EST_P7_MAX, &der, &der_len);
    if (rc)
        goto out;
    rc = BW_E_FORMAT;
    p = der;
    p7 = d2i_PKCS7(NULL, &p, (long)der_len);
    if (!p7 || p != der + der_len || !PKCS7_type_is_signed(p7) || !p7->d.sign)
        goto out;
    certs = p7->d.sign->cert;
    if (!certs || sk_X509_num(certs) < 1)
        goto out;
    rc = BW_E_NOMEM;
    bio = BIO_new(BIO_s_mem());
    if (!bio)
        goto out;
    for (i = 0; i < sk_X509_num(certs); i++)
        if (!PEM_write_bio_X509(bio, sk_X509_value(certs, i)))
            goto out;
    *pem = bio_string(bio);
    rc = *pem ? BW_OK : BW_E_NOMEM;
out:
    BIO_free(bio);
    PKCS7_free(p7);
    bwh_free(der);
    return rc;
}

bw_err bwh_cert_info(const char *cert_pem, size_t len, struct bwh_cert_info *info)
{
    BIO *in;
    X509 *cert;
    bw_err rc = BW_E_FORMAT;

    if (!cert_pem || !info || len > INT32_MAX)
        return BW_E_INVAL;
    in = BIO_new_mem_buf(cert_pem, (int)len);
    cert = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    if (cert)
        rc = fill_info(cert, info);
    X509_free(cert);
    BIO_free(in);
    return rc;
}
