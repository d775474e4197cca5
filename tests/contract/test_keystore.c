/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key-backend contract, run unchanged on every backend (file, PKCS#11
 * in softhsm2, TPM 2.0 in swtpm): generate in place, refuse to overwrite,
 * sign with signatures that verify, export the public key, keep it across
 * reopen, refuse private export where the backend holds the key, destroy.
 * Usage: test_keystore URI exportable(0|1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/identity.h"

static int fails;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                  \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            fails++;                                                                              \
        }                                                                                         \
    } while (0)

static void reopen(struct bwh_devkey **k, const char *uri)
{
    bw_err rc;

    bwh_devkey_close(*k);
    *k = NULL;
    rc = bwh_devkey_open(uri, k);
    if (rc) {
        fprintf(stderr, "FAIL: reopen %s: %s\n", uri, bw_errname(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    uint8_t pub[BW_P256_PUB_LEN], pub2[BW_P256_PUB_LEN], hash[32], sig[64], sig2[64];
    struct bwh_devkey *k = NULL;
    struct bw_ec_key vk, ex;
    struct bw_signer s;
    const char *uri;
    int exportable;
    bw_err rc;
    int i;

    if (argc != 3) {
        fprintf(stderr, "usage: test_keystore URI exportable(0|1)\n");
        return 2;
    }
    uri = argv[1];
    exportable = atoi(argv[2]);
    CHECK(bwh_devkey_open("nosuch:x", &k) == BW_E_INVAL, "unknown scheme accepted");
    rc = bwh_devkey_open(uri, &k);
    if (rc) {
        fprintf(stderr, "FAIL: open %s: %s\n", uri, bw_errname(rc));
        return 1;
    }
    /* a fresh backend has no key */
    rc = bwh_devkey_public(k, pub);
    CHECK(rc == BW_E_NOTFOUND, "public key before generate: %s", bw_errname(rc));
    rc = bwh_devkey_sign(k, hash, sig);
    CHECK(rc == BW_E_NOTFOUND, "sign before generate: %s", bw_errname(rc));

    rc = bwh_devkey_generate(k, 0);
    CHECK(rc == BW_OK, "generate: %s (%s)", bw_errname(rc), bwh_devkey_detail(k));
    rc = bwh_devkey_generate(k, 0);
    CHECK(rc == BW_E_EXISTS, "second generate without force: %s", bw_errname(rc));

    rc = bwh_devkey_public(k, pub);
    CHECK(rc == BW_OK && pub[0] == 0x04, "public key: %s", bw_errname(rc));
    bw_ec_key_init(&vk);
    CHECK(bw_ec_set_pub(&vk, pub, sizeof(pub)) == BW_OK, "public key is not on P-256");

    for (i = 0; i < 8; i++) {
        memset(hash, i * 37 + 1, sizeof(hash));
        rc = bwh_devkey_sign(k, hash, sig);
        CHECK(rc == BW_OK, "sign %d: %s (%s)", i, bw_errname(rc), bwh_devkey_detail(k));
        CHECK(bw_ec_verify(&vk, hash, sig, sizeof(sig)) == BW_OK, "signature %d does not verify", i);
        hash[i] ^= 1;
        CHECK(bw_ec_verify(&vk, hash, sig, sizeof(sig)) == BW_E_BADSIG,
              "signature %d verifies over another hash", i);
    }
    /* ECDSA is randomized (or RFC 6979 with distinct hashes): two
     * signatures over one hash both verify */
    memset(hash, 0x5a, sizeof(hash));
    CHECK(bwh_devkey_sign(k, hash, sig) == BW_OK && bwh_devkey_sign(k, hash, sig2) == BW_OK,
          "repeat sign");
    CHECK(bw_ec_verify(&vk, hash, sig2, sizeof(sig2)) == BW_OK, "second signature");

    /* the signer face that log and token use */
    CHECK(bwh_devkey_signer(k, &s) == BW_OK && !memcmp(s.pub, pub, sizeof(pub)), "signer");
    CHECK(s.sign(s.ctx, hash, sig) == BW_OK && bw_ec_verify(&vk, hash, sig, 64) == BW_OK,
          "signer signature");

    /* private export: only where the backend does not hold the key */
    bw_ec_key_init(&ex);
    rc = bwh_devkey_export_private(k, &ex);
    if (exportable)
        CHECK(rc == BW_OK && ex.has_priv && !memcmp(ex.pub, pub, sizeof(pub)),
              "export from an exporting backend: %s", bw_errname(rc));
    else
        CHECK(rc == BW_E_DENIED && !ex.has_priv, "private export not refused: %s", bw_errname(rc));
    bw_ec_key_clear(&ex);

    /* persistence */
    reopen(&k, uri);
    CHECK(bwh_devkey_public(k, pub2) == BW_OK && !memcmp(pub, pub2, sizeof(pub)),
          "key changed across reopen");
    CHECK(bwh_devkey_sign(k, hash, sig) == BW_OK && bw_ec_verify(&vk, hash, sig, 64) == BW_OK,
          "sign after reopen");

    /* forced regeneration replaces the key */
    rc = bwh_devkey_generate(k, 1);
    CHECK(rc == BW_OK, "forced generate: %s (%s)", bw_errname(rc), bwh_devkey_detail(k));
    CHECK(bwh_devkey_public(k, pub2) == BW_OK && memcmp(pub, pub2, sizeof(pub)),
          "forced generate kept the old key");
    CHECK(bwh_devkey_sign(k, hash, sig) == BW_OK && bw_ec_verify(&vk, hash, sig, 64) == BW_E_BADSIG,
          "old public key verifies a signature of the new key");

    /* destroy (factory reset) */
    rc = bwh_devkey_destroy(k);
    CHECK(rc == BW_OK, "destroy: %s (%s)", bw_errname(rc), bwh_devkey_detail(k));
    reopen(&k, uri);
    CHECK(bwh_devkey_public(k, pub2) == BW_E_NOTFOUND, "key still there after destroy");
    CHECK(bwh_devkey_destroy(k) == BW_E_NOTFOUND, "second destroy");

    bwh_devkey_close(k);
    bw_ec_key_clear(&vk);
    printf("%s: keystore contract on %s\n", fails ? "FAILED" : "ok", uri);
    return fails ? 1 : 0;
}
