/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host/tlskey.c: a device key as an OpenSSL key. Signatures made through
 * it (EVP_DigestSign, as libssl makes them) verify under the device key's
 * public key alone, for SHA-256 and for SHA-384 (cut to 32 bytes as ECDSA
 * does); a digest shorter than 32 bytes and a key that does not exist
 * yet are refused; a changed message does not verify.
 * Usage: test_tlskey KEY-URI   (a key that does not exist yet: it is
 *        generated, and destroyed at the end)
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bulwark/bulwark.h"
#include "bwh/identity.h"
#include "bwh/tlsclient.h"
#include "t.h"

/* sig (*len bytes, DER) by key over msg with md; 1 signed */
static int sign(EVP_PKEY *key, const EVP_MD *md, const char *msg, unsigned char *sig, size_t *len)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestSignInit(c, NULL, md, NULL, key) == 1 &&
             EVP_DigestSign(c, sig, len, (const unsigned char *)msg, strlen(msg)) == 1;

    EVP_MD_CTX_free(c);
    return ok;
}

static int verify(EVP_PKEY *pub, const EVP_MD *md, const char *msg, const unsigned char *sig,
                  size_t len)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestVerifyInit(c, NULL, md, NULL, pub) == 1 &&
             EVP_DigestVerify(c, sig, len, (const unsigned char *)msg, strlen(msg)) == 1;

    EVP_MD_CTX_free(c);
    return ok;
}

int main(int argc, char **argv)
{
    struct bwh_devkey *k = NULL;
    EVP_PKEY *key = NULL, *pub = NULL;
    unsigned char sig[128], der[128], *p = der;
    const unsigned char *q = der;
    size_t len;
    int n;

    if (argc != 2) {
        fprintf(stderr, "usage: test_tlskey KEY-URI\n");
        return 2;
    }
    CHECK_RC(bwh_tls_init(), BW_OK);
    CHECK_RC(bwh_devkey_open(argv[1], &k), BW_OK);
    if (!k)
        T_DONE();
    CHECK_RC(bwh_tls_devkey(k, &key), BW_E_NOTFOUND);
    CHECK(key == NULL);
    CHECK_RC(bwh_devkey_generate(k, 0), BW_OK);
    CHECK_RC(bwh_tls_devkey(k, &key), BW_OK);
    if (!key) {
        bwh_devkey_close(k);
        T_DONE();
    }
    /* the public key alone, through DER: no path back to the device key */
    n = i2d_PUBKEY(key, &p);
    CHECK(n > 0);
    pub = n > 0 ? d2i_PUBKEY(NULL, &q, n) : NULL;
    CHECK(pub != NULL);

    len = sizeof(sig);
    CHECK(sign(key, EVP_sha256(), "client handshake", sig, &len));
    CHECK(verify(pub, EVP_sha256(), "client handshake", sig, len));
    CHECK(!verify(pub, EVP_sha256(), "client handshakE", sig, len));
    len = sizeof(sig);
    CHECK(sign(key, EVP_sha384(), "tls 1.2 peer", sig, &len));
    CHECK(verify(pub, EVP_sha384(), "tls 1.2 peer", sig, len));
    len = sizeof(sig);
    CHECK(!sign(key, EVP_sha1(), "too short", sig, &len));

    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    CHECK_RC(bwh_devkey_destroy(k), BW_OK);
    bwh_devkey_close(k);
    T_DONE();
}
