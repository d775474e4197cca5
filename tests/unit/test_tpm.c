/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM key backend checks beyond the shared contract, driven by
 * contract/swtpm.sh: URI errors (no TPM needed), open failures, a foreign
 * object at the handle, and small commands (gen, pub, sign, destroy) that
 * let the script compare bulwark with tpm2-tools and openssl; and the
 * TPM-sealed storage key (bwh_storage_key_load with a "tpm:" URI).
 * Usage: test_tpm uri-errors
 *        test_tpm expect-open URI BW_E_NAME
 *        test_tpm wrong-key URI
 *        test_tpm gen|destroy URI
 *        test_tpm pub URI OUT.pem
 *        test_tpm sign URI MSGFILE OUT.der   (DER ECDSA-Sig-Value over SHA-256)
 *        test_tpm skey SKEY-URI 0|1          (storage key, create?, as hex on stdout)
 *        test_tpm expect-skey SKEY-URI 0|1 BW_E_NAME
 *        test_tpm seal-roundtrip SKEY-URI    (handle must be empty at the start)
 * SKEY-URI is a storage_key value: tpm:[tcti=TCTI;]handle=0x81xxxxxx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/identity.h"
#include "bwh/host.h"
#include "t.h"

static void uri_errors(void)
{
    static const char *const bad[] = {
        "tpm:",
        "tpm:handle=0x81000010;",
        "tpm:handle=",
        "tpm:tcti=",
        "tpm:tcti=device:/dev/tpmrm0",                 /* no handle */
        "tpm:handle=0x80000001",                       /* transient range */
        "tpm:handle=0x80FFFFFF",                       /* just below the owner range */
        "tpm:handle=0x81800000",                       /* platform range */
        "tpm:handle=0x01C00002",                       /* an NV index */
        "tpm:handle=0x40000001",                       /* a hierarchy */
        "tpm:handle=81000010",                         /* no 0x */
        "tpm:handle=0x",                               /* no digits */
        "tpm:handle=0x8100001g",                       /* not hex */
        "tpm:handle=0x081000010",                      /* more than 8 digits */
        "tpm:handle=0x81000010 ",                      /* trailing junk */
        "tpm:handle=0x81000010;handle=0x81000011",     /* repeated */
        "tpm:tcti=a;tcti=b;handle=0x81000010",         /* repeated */
        "tpm:handle=0x81000010;pin=1234",              /* unknown attribute */
        "tpm:handle=0x81000010;;tcti=device:/dev/tpm0", /* empty attribute */
        "tpm:handle",                                  /* no '=' */
        "tpm:tcti=swtpm:host=127.0.0.1,port=2321,handle=0x81000010", /* ',' is not a separator */
    };
    /* storage keys: refused before any TPM is reached */
    static const char *const bad_skey[] = {
        "tpm:",
        "tpm:handle=0x80000001",
        "tpm:handle=0x81800000",
        "tpm:handle=0x81000030;",
        "tpm:handle=0x81000030;pin=1",
        "tpm:tcti=device:/dev/tpmrm0",
    };
    uint8_t key[BWH_STORAGE_KEY_LEN], sentinel[BWH_STORAGE_KEY_LEN];
    char longuri[400];
    struct bwh_devkey *k;
    size_t i;
    bw_err rc;

    memset(sentinel, 0xA5, sizeof(sentinel));
    for (i = 0; i < sizeof(bad_skey) / sizeof(bad_skey[0]); i++) {
        memcpy(key, sentinel, sizeof(key));
        rc = bwh_storage_key_load(bad_skey[i], 1, key);
        if (rc != BW_E_INVAL)
            fprintf(stderr, "storage key \"%s\": %s, want BW_E_INVAL\n", bad_skey[i],
                    bw_errname(rc));
        CHECK(rc == BW_E_INVAL && !memcmp(key, sentinel, sizeof(key)));
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        k = NULL;
        rc = bwh_devkey_open(bad[i], &k);

        if (rc != BW_E_INVAL)
            fprintf(stderr, "URI \"%s\": %s, want BW_E_INVAL\n", bad[i], bw_errname(rc));
        CHECK(rc == BW_E_INVAL && k == NULL);
        bwh_devkey_close(k);
    }
    /* a TCTI string past the 255-byte cap is refused, not truncated */
    memset(longuri, 0, sizeof(longuri));
    strcpy(longuri, "tpm:handle=0x81000010;tcti=device:/");
    memset(longuri + strlen(longuri), 'a', 300);
    k = NULL;
    CHECK_RC(bwh_devkey_open(longuri, &k), BW_E_INVAL);
    bwh_devkey_close(k);
}

static struct bwh_devkey *must_open(const char *uri)
{
    struct bwh_devkey *k = NULL;
    bw_err rc = bwh_devkey_open(uri, &k);

    if (rc) {
        fprintf(stderr, "open %s: %s\n", uri, bw_errname(rc));
        exit(1);
    }
    return k;
}

/* Minimal DER of one non-negative INTEGER from 32 big-endian bytes. */
static size_t der_int(uint8_t *out, const uint8_t *v)
{
    size_t i = 0, n;

    while (i < 31 && v[i] == 0)
        i++;
    n = 32 - i;
    out[0] = 0x02;
    if (v[i] & 0x80) {
        out[1] = (uint8_t)(n + 1);
        out[2] = 0;
        memcpy(out + 3, v + i, n);
        return n + 3;
    }
    out[1] = (uint8_t)n;
    memcpy(out + 2, v + i, n);
    return n + 2;
}

static int cmd_sign(const char *uri, const char *msg_path, const char *out_path)
{
    uint8_t *msg = NULL, hash[BW_SHA256_LEN], sig[BW_P256_SIG_LEN], der[BW_P256_DER_MAX];
    struct bwh_devkey *k;
    size_t len = 0, n;
    bw_err rc;

    if (bwh_read_file(msg_path, 1 << 20, &msg, &len) || bw_sha256(msg, len, hash)) {
        fprintf(stderr, "cannot hash %s\n", msg_path);
        return 1;
    }
    bwh_free(msg);
    k = must_open(uri);
    rc = bwh_devkey_sign(k, hash, sig);
    if (rc) {
        fprintf(stderr, "sign: %s (%s)\n", bw_errname(rc), bwh_devkey_detail(k));
        bwh_devkey_close(k);
        return 1;
    }
    bwh_devkey_close(k);
    n = der_int(der + 2, sig);
    n += der_int(der + 2 + n, sig + 32);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    return bwh_write_file_atomic(out_path, der, n + 2, 0644) ? 1 : 0;
}

static int cmd_pub(const char *uri, const char *out_path)
{
    uint8_t pub[BW_P256_PUB_LEN], pem[512];
    struct bw_ec_key ek;
    struct bwh_devkey *k;
    size_t n = 0;
    bw_err rc;

    k = must_open(uri);
    rc = bwh_devkey_public(k, pub);
    if (rc) {
        fprintf(stderr, "public key: %s (%s)\n", bw_errname(rc), bwh_devkey_detail(k));
        bwh_devkey_close(k);
        return 1;
    }
    bwh_devkey_close(k);
    bw_ec_key_init(&ek);
    rc = bw_ec_set_pub(&ek, pub, sizeof(pub));
    if (!rc)
        rc = bw_ec_export(&ek, 0, 1, pem, sizeof(pem), &n);
    if (!rc)
        rc = bwh_write_file_atomic(out_path, pem, n, 0644);
    bw_ec_key_clear(&ek);
    return rc ? 1 : 0;
}

/* The handle holds an object that is not an ECDSA P-256 signing key. */
static void wrong_key(const char *uri)
{
    uint8_t pub[BW_P256_PUB_LEN], hash[BW_SHA256_LEN] = {1}, sig[BW_P256_SIG_LEN];
    struct bwh_devkey *k = must_open(uri);

    CHECK_RC(bwh_devkey_public(k, pub), BW_E_KEY);
    CHECK(strstr(bwh_devkey_detail(k), "not an ECDSA P-256 signing key") != NULL);
    CHECK_RC(bwh_devkey_sign(k, hash, sig), BW_E_KEY);
    CHECK_RC(bwh_devkey_generate(k, 0), BW_E_EXISTS);
    fprintf(stderr, "detail: %s\n", bwh_devkey_detail(k));
    bwh_devkey_close(k);
}

static int print_skey(const char *uri, int create)
{
    uint8_t key[BWH_STORAGE_KEY_LEN];
    size_t i;
    bw_err rc;

    rc = bwh_storage_key_load(uri, create, key);
    if (rc) {
        fprintf(stderr, "storage key %s: %s\n", uri, bw_errname(rc));
        return 1;
    }
    for (i = 0; i < sizeof(key); i++)
        printf("%02x", key[i]);
    printf("\n");
    bw_wipe(key, sizeof(key));
    return 0;
}

/* Seal-create on an empty handle, then load the same 32 bytes again (each
 * call opens its own TPM connection); create on an occupied handle must not
 * reseal; a failed load leaves the caller's buffer alone. */
static void seal_roundtrip(const char *uri)
{
    uint8_t k1[BWH_STORAGE_KEY_LEN], k2[BWH_STORAGE_KEY_LEN], zero[BWH_STORAGE_KEY_LEN] = {0};

    memset(k1, 0xA5, sizeof(k1));
    memcpy(k2, k1, sizeof(k2));
    CHECK_RC(bwh_storage_key_load(uri, 0, k1), BW_E_NOTFOUND);
    CHECK(!memcmp(k1, k2, sizeof(k1)));
    CHECK_RC(bwh_storage_key_load(uri, 1, k1), BW_OK);
    CHECK(memcmp(k1, zero, sizeof(k1)) && memcmp(k1, k2, sizeof(k1)));
    memset(k2, 0, sizeof(k2));
    CHECK_RC(bwh_storage_key_load(uri, 0, k2), BW_OK);
    CHECK(bw_ct_equal(k1, k2, sizeof(k1)));
    memset(k2, 0, sizeof(k2));
    CHECK_RC(bwh_storage_key_load(uri, 1, k2), BW_OK);
    CHECK(bw_ct_equal(k1, k2, sizeof(k1)));
    bw_wipe(k1, sizeof(k1));
    bw_wipe(k2, sizeof(k2));
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    struct bwh_devkey *k;
    bw_err rc;

    if (!strcmp(cmd, "uri-errors") && argc == 2) {
        uri_errors();
        T_DONE();
    }
    if (!strcmp(cmd, "expect-open") && argc == 4) {
        k = NULL;
        rc = bwh_devkey_open(argv[2], &k);
        bwh_devkey_close(k);
        if (strcmp(bw_errname(rc), argv[3])) {
            fprintf(stderr, "open %s: %s, want %s\n", argv[2], bw_errname(rc), argv[3]);
            return 1;
        }
        printf("open %s: %s (%s), as expected\n", argv[2], bw_errname(rc), bw_strerror(rc));
        return 0;
    }
    if (!strcmp(cmd, "wrong-key") && argc == 3) {
        wrong_key(argv[2]);
        T_DONE();
    }
    if ((!strcmp(cmd, "gen") || !strcmp(cmd, "destroy")) && argc == 3) {
        k = must_open(argv[2]);
        rc = cmd[0] == 'g' ? bwh_devkey_generate(k, 0) : bwh_devkey_destroy(k);
        if (rc)
            fprintf(stderr, "%s: %s (%s)\n", cmd, bw_errname(rc), bwh_devkey_detail(k));
        bwh_devkey_close(k);
        return rc ? 1 : 0;
    }
    if (!strcmp(cmd, "pub") && argc == 4)
        return cmd_pub(argv[2], argv[3]);
    if (!strcmp(cmd, "sign") && argc == 5)
        return cmd_sign(argv[2], argv[3], argv[4]);
    if (!strcmp(cmd, "skey") && argc == 4)
        return print_skey(argv[2], atoi(argv[3]));
    if (!strcmp(cmd, "expect-skey") && argc == 5) {
        uint8_t key[BWH_STORAGE_KEY_LEN];

        rc = bwh_storage_key_load(argv[2], atoi(argv[3]), key);
        if (!rc)
            bw_wipe(key, sizeof(key));
        if (strcmp(bw_errname(rc), argv[4])) {
            fprintf(stderr, "storage key %s: %s, want %s\n", argv[2], bw_errname(rc), argv[4]);
            return 1;
        }
        printf("storage key %s: %s, as expected\n", argv[2], bw_errname(rc));
        return 0;
    }
    if (!strcmp(cmd, "seal-roundtrip") && argc == 3) {
        seal_roundtrip(argv[2]);
        T_DONE();
    }
    fprintf(stderr, "usage: see the comment at the top of tests/unit/test_tpm.c\n");
    return 2;
}
