/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A device key of any backend (host/identity: file, pkcs11:, tpm:) as the
 * private key of an OpenSSL TLS client (include/bwh/tlsclient.h).
 *
 * OpenSSL 3 signs with a legacy EC_KEY whose EC_KEY_METHOD is not its own
 * ("foreign") through that method, without exporting it to a provider.
 * The EC_KEY here holds only the group and the public point; its method's
 * sign_sig callback hands the digest to bwh_devkey_sign, so the key never
 * leaves its token or TPM and there is no second signing path. The
 * EC_KEY_METHOD API is deprecated in OpenSSL 3 but supported; this file
 * alone opts into it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "bwh/identity.h"
#include "bwh/tlsclient.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EC_KEY_METHOD *method;
static int slot = -1; /* ex_data index of the struct bwh_devkey */

/* ECDSA over the digest by the device key. A digest longer than the
 * order's 32 bytes is cut to its leftmost 32 bytes, as ECDSA itself does
 * (FIPS 186-5 6.4.1), so a TLS 1.2 peer asking for SHA-384 still gets a
 * valid signature; a shorter one is refused. */
static ECDSA_SIG *devkey_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                                  const BIGNUM *r, EC_KEY *eckey)
{
    struct bwh_devkey *k = EC_KEY_get_ex_data(eckey, slot);
    uint8_t sig[BW_P256_SIG_LEN];
    ECDSA_SIG *out = NULL;
    BIGNUM *br = NULL, *bs = NULL;

    (void)kinv;
    (void)r;
    if (!k || dlen < BW_SHA256_LEN || bwh_devkey_sign(k, dgst, sig))
        return NULL;
    br = BN_bin2bn(sig, BW_P256_SIG_LEN / 2, NULL);
    bs = BN_bin2bn(sig + BW_P256_SIG_LEN / 2, BW_P256_SIG_LEN / 2, NULL);
    out = ECDSA_SIG_new();
    if (!br || !bs || !out || ECDSA_SIG_set0(out, br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        ECDSA_SIG_free(out);
        return NULL;
    }
    return out;
}

static void setup(void)
{
    int (*sign)(int, const unsigned char *, int, unsigned char *, unsigned int *,
                const BIGNUM *, const BIGNUM *, EC_KEY *) = NULL;
    int (*sign_setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;

    slot = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    method = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (!method || slot < 0)
        return;
    /* OpenSSL's own ECDSA_sign (DER around sign_sig), our sign_sig */
    EC_KEY_METHOD_get_sign(EC_KEY_OpenSSL(), &sign, &sign_setup, NULL);
    EC_KEY_METHOD_set_sign(method, sign, sign_setup, devkey_sign_sig);
}

bw_err bwh_tls_devkey(struct bwh_devkey *k, EVP_PKEY **out)
{
    uint8_t pub[BW_P256_PUB_LEN];
    EC_KEY *ec = NULL;
    EVP_PKEY *pk = NULL;
    bw_err rc;

    *out = NULL;
    rc = bwh_devkey_public(k, pub); /* 04 || X || Y */
    if (rc)
        return rc;
    rc = BW_E_CRYPTO;
    if (pthread_once(&once, setup) != 0 || !method || slot < 0)
        goto out;
    ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (!ec || EC_KEY_set_method(ec, method) != 1 || EC_KEY_set_ex_data(ec, slot, k) != 1 ||
        !EC_KEY_oct2key(ec, pub, sizeof(pub), NULL))
        goto out;
    pk = EVP_PKEY_new();
    if (!pk || EVP_PKEY_assign_EC_KEY(pk, ec) != 1)
        goto out;
    ec = NULL; /* owned by pk */
    *out = pk;
    pk = NULL;
    rc = BW_OK;
out:
    EC_KEY_free(ec);
    EVP_PKEY_free(pk);
    return rc;
}
