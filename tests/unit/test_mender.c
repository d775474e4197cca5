/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Mender device API wire format (gateway/mender.c). Bodies as recorded
 * from Debian's mender-client 3.4.0 (the project's interop notes); auth
 * requests signed here by OpenSSL with the two key kinds the client uses
 * (RSA-3072 PKCS#1 v1.5 and ECDSA P-256, both SHA-256), then tampered,
 * re-signed with another key, truncated, and sent with weak keys.
 */
#define _DEFAULT_SOURCE
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>

#include "mender.h"
#include "t.h"

static char body[16384], sig[2048];

static EVP_PKEY *gen(const char *kind, size_t bits)
{
    return !strcmp(kind, "RSA") ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits)
                                : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* RSA-2048 with the public exponent e (decimal) */
static EVP_PKEY *gen_rsa_e(const char *e)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *bn = NULL;
    EVP_PKEY *k = NULL;

    if (c && BN_dec2bn(&bn, e) && EVP_PKEY_keygen_init(c) == 1 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) == 1 &&
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, bn) == 1)
        (void)EVP_PKEY_keygen(c, &k);
    BN_free(bn);
    EVP_PKEY_CTX_free(c);
    return k;
}

static void pem_of(EVP_PKEY *k, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    PEM_write_bio_PUBKEY(b, k);
    n = BIO_get_mem_data(b, &p);
    snprintf(out, cap, "%.*s", (int)n, p);
    BIO_free(b);
}

/* body with this identity and k's public key, signed by signer */
static void make(const char *id_json, EVP_PKEY *k, EVP_PKEY *signer)
{
    char pem[4096], esc_pem[8192], esc_id[1024];
    unsigned char s[1024];
    size_t sl = sizeof(s), i, o = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    pem_of(k, pem, sizeof(pem));
    for (i = 0; pem[i]; i++) { /* JSON string escapes: newlines */
        if (pem[i] == '\n') {
            esc_pem[o++] = '\\';
            esc_pem[o++] = 'n';
        } else {
            esc_pem[o++] = pem[i];
        }
    }
    esc_pem[o] = 0;
    for (i = 0, o = 0; id_json[i]; i++) {
        if (id_json[i] == '"')
            esc_id[o++] = '\\';
        esc_id[o++] = id_json[i];
    }
    esc_id[o] = 0;
    snprintf(body, sizeof(body), "{\"id_data\":\"%s\",\"tenant_token\":\"\",\"pubkey\":\"%s\"}",
             esc_id, esc_pem);
    if (EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, signer) != 1 ||
        EVP_DigestSign(c, s, &sl, (const unsigned char *)body, strlen(body)) != 1)
        exit(2);
    EVP_MD_CTX_free(c);
    EVP_EncodeBlock((unsigned char *)sig, s, (int)sl);
}

static bw_err auth(struct gw_mender_auth *a)
{
    const char *why = "";

    return gw_mender_parse_auth((const uint8_t *)body, strlen(body), sig, a, &why);
}

static void auth_requests(void)
{
    static struct gw_mender_auth a, b;
    EVP_PKEY *rsa = gen("RSA", 3072), *ec = gen("EC", 0), *ec2 = gen("EC", 0),
             *weak = gen("RSA", 1024);
    const char *id = "{\"mac\":\"02:00:00:00:00:01\",\"serial\":\"SN-0001\"}";
    char fp[65], fp2[65];

    CHECK(rsa && ec && ec2 && weak);
    make(id, rsa, rsa);
    CHECK_RC(auth(&a), BW_OK);
    CHECK(a.key_type == GW_MENDER_RSA && !strcmp(a.id_data, id) && !strncmp(a.device_id, "mender-", 7) &&
          strlen(a.device_id) == 7 + 16);
    make(id, ec, ec);
    CHECK_RC(auth(&b), BW_OK);
    CHECK(b.key_type == GW_MENDER_EC_P256 && !strcmp(a.device_id, b.device_id));
    /* the identity is canonical: key order does not make another device */
    make("{\"serial\":\"SN-0001\",\"mac\":\"02:00:00:00:00:01\"}", ec, ec);
    CHECK_RC(auth(&b), BW_OK);
    CHECK(!strcmp(a.device_id, b.device_id));
    make("{\"mac\":\"02:00:00:00:00:02\",\"serial\":\"SN-0001\"}", ec, ec);
    CHECK_RC(auth(&b), BW_OK);
    CHECK(strcmp(a.device_id, b.device_id) != 0);
    /* fingerprints: per key */
    CHECK_RC(gw_mender_key_fingerprint(a.pubkey, fp), BW_OK);
    CHECK_RC(gw_mender_key_fingerprint(b.pubkey, fp2), BW_OK);
    CHECK(strlen(fp) == 64 && strcmp(fp, fp2) != 0);
    CHECK_RC(gw_mender_key_fingerprint("not a key", fp), BW_E_FORMAT);

    /* refusals, with nothing filled in */
    make(id, ec, ec);
    body[20] ^= 1; /* tampered identity */
    CHECK_RC(auth(&b), BW_E_BADSIG);
    CHECK(!b.device_id[0]);
    make(id, ec, ec2); /* signed by another key than the one it carries */
    CHECK_RC(auth(&b), BW_E_BADSIG);
    make(id, ec, ec);
    strcat(body, " "); /* the signature covers the exact bytes */
    CHECK_RC(auth(&b), BW_E_BADSIG);
    make(id, ec, ec);
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    CHECK_RC(auth(&b), BW_E_BADSIG);
    make(id, ec, ec);
    sig[5] = '*'; /* not base64 */
    CHECK_RC(auth(&b), BW_E_BADSIG);
    make(id, ec, ec);
    {
        const char *why = "";

        CHECK_RC(gw_mender_parse_auth((const uint8_t *)body, strlen(body), NULL, &b, &why),
                 BW_E_BADSIG);
        CHECK_RC(gw_mender_parse_auth((const uint8_t *)body, strlen(body) - 3, sig, &b, &why),
                 BW_E_FORMAT); /* truncated */
    }
    make(id, weak, weak);
    CHECK_RC(auth(&b), BW_E_KEY);
    /* public exponents: 3 and 65537 are fine; 2^64 + 1 costs too much to
     * check (refused before the signature, and for preauthorization) */
    {
        EVP_PKEY *e3 = gen_rsa_e("3"), *huge = gen_rsa_e("18446744073709551617");

        CHECK(e3 && huge);
        make(id, e3, e3);
        CHECK_RC(auth(&b), BW_OK);
        make(id, huge, huge);
        CHECK_RC(auth(&b), BW_E_KEY);
        make(id, huge, ec); /* whatever signs it */
        CHECK_RC(auth(&b), BW_E_KEY);
        pem_of(huge, b.pubkey, sizeof(b.pubkey));
        CHECK_RC(gw_mender_key_fingerprint(b.pubkey, fp), BW_E_KEY);
        EVP_PKEY_free(e3);
        EVP_PKEY_free(huge);
    }
    make("[1,2]", ec, ec);
    CHECK_RC(auth(&b), BW_E_FORMAT);
    make("{}", ec, ec);
    CHECK_RC(auth(&b), BW_E_FORMAT);
    make("{\"n\":1}", ec, ec);
    CHECK_RC(auth(&b), BW_E_FORMAT);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec2);
    EVP_PKEY_free(weak);
}

static void bodies(void)
{
    char out[GW_ATTRS_MAX + 1];
    struct gw_mender_provides p;
    static struct gw_mender_status_body st;
    const char *why = "";
    static char big[3 * GW_ATTRS_MAX];
    size_t n;

#define B(s) (const uint8_t *)(s), strlen(s)
    /* the inventory mender-client sent */
    CHECK_RC(gw_mender_parse_inventory(
                 B("[{\"name\":\"mender_client_version\",\"value\":\"3.4.0+ds1-5+b1\"},"
                   "{\"name\":\"device_type\",\"value\":\"demo-x86\"},"
                   "{\"name\":\"artifact_name\",\"value\":\"demo-1.0\"}]"),
                 out, &why),
             BW_OK);
    CHECK(!strcmp(out, "{\"artifact_name\":\"demo-1.0\",\"device_type\":\"demo-x86\","
                       "\"mender_client_version\":\"3.4.0+ds1-5+b1\"}"));
    CHECK_RC(gw_mender_parse_inventory(B("[{\"name\":\"ipv4\",\"value\":[\"10.0.0.2/8\",\"127.0.0.1/8\"]},"
                                         "{\"name\":\"mem_kb\",\"value\":1024}]"),
                                       out, &why),
             BW_OK);
    CHECK(!strcmp(out, "{\"ipv4\":\"10.0.0.2/8,127.0.0.1/8\",\"mem_kb\":\"1024\"}"));
    CHECK_RC(gw_mender_parse_inventory(B("[{\"name\":\"a\",\"value\":\"1\"},{\"name\":\"a\",\"value\":\"2\"}]"),
                                       out, &why),
             BW_E_FORMAT);
    CHECK_RC(gw_mender_parse_inventory(B("{\"name\":\"a\"}"), out, &why), BW_E_FORMAT);
    CHECK_RC(gw_mender_parse_inventory(B("[{\"name\":\"a\",\"value\":{}}]"), out, &why), BW_E_FORMAT);
    CHECK_RC(gw_mender_parse_inventory(B("[{\"value\":\"x\"}]"), out, &why), BW_E_FORMAT);
    n = (size_t)snprintf(big, sizeof(big), "[{\"name\":\"a\",\"value\":[");
    while (n < 2 * GW_ATTRS_MAX)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvv\",");
    strcpy(big + n, "\"end\"]}]");
    CHECK_RC(gw_mender_parse_inventory(B(big), out, &why), BW_E_TOOBIG);

    /* deployments/next v2, as sent */
    CHECK_RC(gw_mender_parse_next(B("{\"device_provides\":{\"artifact_name\":\"demo-1.0\","
                                    "\"device_type\":\"demo-x86\"},\"update_control_map\":true}"),
                                  &p, &why),
             BW_OK);
    CHECK(!strcmp(p.artifact_name, "demo-1.0") && !strcmp(p.device_type, "demo-x86"));
    CHECK_RC(gw_mender_parse_next(B("{\"device_provides\":{\"artifact_name\":\"x\"}}"), &p, &why),
             BW_E_FORMAT);
    CHECK_RC(gw_mender_parse_next(B("{}"), &p, &why), BW_E_FORMAT);

    /* status reports */
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"downloading\"}"), &st, &why), BW_OK);
    CHECK(st.status == GW_MENDER_DOWNLOADING && gw_mender_state(st.status) == GW_ACTION_RUNNING);
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"success\"}"), &st, &why), BW_OK);
    CHECK(gw_mender_state(st.status) == GW_ACTION_SUCCESS);
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"failure\",\"substate\":\"ArtifactInstall\"}"), &st, &why),
             BW_OK);
    CHECK(gw_mender_state(st.status) == GW_ACTION_FAILURE && !strcmp(st.substate, "ArtifactInstall"));
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"already-installed\"}"), &st, &why), BW_OK);
    CHECK(gw_mender_state(st.status) == GW_ACTION_SUCCESS);
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"done\"}"), &st, &why), BW_E_FORMAT);
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"success\",\"substate\":7}"), &st, &why), BW_E_FORMAT);
    CHECK_RC(gw_mender_parse_status(B("{\"status\":\"success\",\"status\":\"failure\"}"), &st, &why),
             BW_E_FORMAT);
#undef B
}

int main(void)
{
    auth_requests();
    bodies();
    T_DONE();
}
