/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file key backend under attack (wrong storage key, every byte of the
 * key file flipped, truncation, a planted file) and certificates: CSRs
 * signed through a device key, issuing, and refusals of a tampered CSR,
 * a CSR for another device, a CA whose key does not match.
 * Usage: test_identity TMPDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bwh/identity.h"
#include "bwh/host.h"

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

static void put(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(b, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void test_file_backend(const char *dir)
{
    char uri[4400], kpath[4200], spath[4200], uri2[8500];
    uint8_t pub[65], pub2[65], hash[32] = {1}, sig[64], *orig = NULL, *buf = NULL;
    size_t len = 0, slen = 0, i;
    struct bwh_devkey *k = NULL;
    struct stat st;
    int undetected = 0;
    bw_err rc;

    snprintf(kpath, sizeof(kpath), "%s/device.key", dir);
    snprintf(spath, sizeof(spath), "%s/storage.key", dir);
    snprintf(uri, sizeof(uri), "file:%s", kpath);
    CHECK(bwh_devkey_open(uri, &k) == BW_OK, "open");
    CHECK(bwh_devkey_generate(k, 0) == BW_OK, "generate");
    CHECK(bwh_devkey_public(k, pub) == BW_OK, "public");
    CHECK(stat(kpath, &st) == 0 && (st.st_mode & 0777) == 0600, "key file mode");
    CHECK(stat(spath, &st) == 0 && (st.st_mode & 0777) == 0600, "storage key mode");
    CHECK(bwh_read_file(kpath, 4096, &orig, &len) == BW_OK && len == 68, "key file size");
    /* the scalar is not in the file in the clear */
    {
        struct bw_ec_key ex;

        bw_ec_key_init(&ex);
        CHECK(bwh_devkey_export_private(k, &ex) == BW_OK, "export");
        CHECK(!memmem(orig, len, ex.priv, 32), "private scalar stored in the clear");
        bw_ec_key_clear(&ex);
    }
    bwh_devkey_close(k);
    k = NULL;

    /* every byte flipped: refused, never a different key */
    for (i = 0; i < len; i++) {
        orig[i] ^= 0x20;
        put(kpath, orig, len);
        orig[i] ^= 0x20;
        if (bwh_devkey_open(uri, &k) == BW_OK) {
            rc = bwh_devkey_public(k, pub2);
            if (rc == BW_OK)
                undetected++;
            else if (rc != BW_E_AUTH && rc != BW_E_FORMAT)
                CHECK(0, "byte %zu: unexpected %s", i, bw_errname(rc));
            rc = bwh_devkey_sign(k, hash, sig);
            if (rc == BW_OK)
                undetected++;
            bwh_devkey_close(k);
            k = NULL;
        }
    }
    CHECK(undetected == 0, "%d flipped key-file bytes went undetected", undetected);
    /* truncated and extended */
    put(kpath, orig, len - 1);
    CHECK(bwh_devkey_open(uri, &k) == BW_OK && bwh_devkey_public(k, pub2) == BW_E_FORMAT,
          "truncated key file");
    bwh_devkey_close(k);
    k = NULL;
    {
        uint8_t longer[69];

        memcpy(longer, orig, len);
        longer[68] = 0;
        put(kpath, longer, sizeof(longer));
        CHECK(bwh_devkey_open(uri, &k) == BW_OK && bwh_devkey_public(k, pub2) == BW_E_FORMAT,
              "extended key file");
        bwh_devkey_close(k);
        k = NULL;
    }
    put(kpath, orig, len);
    /* another device's storage key: the file does not open */
    CHECK(bwh_read_file(spath, 64, &buf, &slen) == BW_OK && slen == 32, "storage key");
    buf[0] ^= 1;
    put(spath, buf, slen);
    CHECK(bwh_devkey_open(uri, &k) == BW_OK && bwh_devkey_public(k, pub2) == BW_E_AUTH,
          "wrong storage key");
    CHECK(bwh_devkey_sign(k, hash, sig) == BW_E_AUTH, "sign with wrong storage key");
    bwh_devkey_close(k);
    k = NULL;
    put(spath, buf, 31);
    CHECK(bwh_devkey_open(uri, &k) == BW_OK && bwh_devkey_public(k, pub2) == BW_E_FORMAT,
          "short storage key");
    bwh_devkey_close(k);
    k = NULL;
    buf[0] ^= 1;
    put(spath, buf, slen);
    /* explicit storage-key parameter */
    snprintf(uri2, sizeof(uri2), "file:%s?storage-key=%s", kpath, spath);
    CHECK(bwh_devkey_open(uri2, &k) == BW_OK && bwh_devkey_public(k, pub2) == BW_OK &&
              !memcmp(pub, pub2, 65),
          "storage-key parameter");
    bwh_devkey_close(k);
    k = NULL;
    snprintf(uri2, sizeof(uri2), "file:%s?storage-kee=%s", kpath, spath);
    CHECK(bwh_devkey_open(uri2, &k) == BW_E_INVAL, "unknown parameter accepted");
    CHECK(bwh_devkey_open("file:", &k) == BW_E_INVAL, "empty path accepted");
    CHECK(bwh_devkey_open("tpmx:foo", &k) == BW_E_INVAL, "unknown scheme accepted");
    bwh_free(orig);
    bwh_free(buf);
}

/* The serialNumber INTEGER of a PEM certificate as DER content bytes:
 * walks Certificate > tbsCertificate > [0] version > serialNumber. */
static int der_serial(const char *pem, const unsigned char **val, long *len, int *tag, int *cls)
{
    static unsigned char der[8192];
    const unsigned char *p;
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *q = der;
    int n = x ? i2d_X509(x, NULL) : -1, i;

    if (n > 0 && n <= (int)sizeof(der))
        n = i2d_X509(x, &q);
    X509_free(x);
    BIO_free(b);
    if (n <= 0 || n > (int)sizeof(der))
        return -1;
    p = der;
    for (i = 0; i < 4; i++) {
        if (ASN1_get_object(&p, len, tag, cls, n - (long)(p - der)) & 0x80)
            return -1;
        if (i == 2) /* skip the [0] version: p is at its content */
            p += *len;
    }
    *val = p;
    return 0;
}

static void test_certificates(const char *dir)
{
    char cadir[4200], crt[4300], key[4300], uri[4400], other[4400];
    struct bwh_devkey *k = NULL, *k2 = NULL;
    struct bwh_ca *ca = NULL;
    struct bwh_cert_info info, info2;
    char *csr = NULL, *cert = NULL, *cert2 = NULL, *csr2 = NULL;
    uint8_t pub[65];
    bw_err rc;

    snprintf(cadir, sizeof(cadir), "%s/ca", dir);
    snprintf(crt, sizeof(crt), "%s/ca.crt", cadir);
    snprintf(key, sizeof(key), "%s/ca.key", cadir);
    CHECK(bwh_ca_create(cadir, "Acme", 3650) == BW_OK, "CA");
    CHECK(bwh_ca_create(cadir, "Acme", 3650) == BW_E_EXISTS, "CA overwritten");
    CHECK(bwh_ca_open(crt, key, &ca) == BW_OK, "open CA");

    snprintf(uri, sizeof(uri), "file:%s/d1.key", dir);
    CHECK(bwh_devkey_open(uri, &k) == BW_OK && bwh_devkey_generate(k, 0) == BW_OK, "device key");
    CHECK(bwh_devkey_public(k, pub) == BW_OK, "device public key");
    CHECK(bwh_csr_make(k, "dev-1", "Acme", &csr) == BW_OK, "CSR");
    rc = bwh_ca_issue(ca, csr, "dev-1", 30, &cert, &info);
    CHECK(rc == BW_OK, "issue: %s", bw_errname(rc));
    CHECK(!memcmp(info.pub, pub, 65), "certificate holds another key");
    CHECK(!strcmp(info.device_id, "dev-1"), "CN %s", info.device_id);
    CHECK(info.not_after > info.not_before + 29 * 86400, "validity");
    rc = bwh_ca_issue(ca, csr, "dev-1", 30, &cert2, &info2);
    CHECK(rc == BW_OK && memcmp(info.serial, info2.serial, 16), "serial repeated");
    free(cert2);
    cert2 = NULL;
    {
        /* 128 random bits (RFC 5280 4.1.2.2, CA/B BR 7.1 ask for 64+):
         * over 64 certificates the top two bits take every value (they
         * were fixed to 01 before), and the DER INTEGER is positive, in
         * at most 17 content bytes (a 0x00 before a top bit set) */
        int top = 0, second_clear = 0, i, bad_der = 0;

        for (i = 0; i < 64; i++) {
            const unsigned char *p;
            long len;
            int tag, cls;

            rc = bwh_ca_issue(ca, csr, "dev-1", 30, &cert2, &info2);
            CHECK(rc == BW_OK, "issue %d: %s", i, bw_errname(rc));
            if (rc)
                break;
            top |= (info2.serial[0] & 0x80) != 0;
            second_clear |= (info2.serial[0] & 0x40) == 0;
            if (der_serial(cert2, &p, &len, &tag, &cls) || tag != V_ASN1_INTEGER || len > 17 ||
                len < 1 || (p[0] & 0x80) || (len == 17 && (p[0] != 0 || !(p[1] & 0x80))))
                bad_der = 1;
            free(cert2);
            cert2 = NULL;
        }
        CHECK(top && second_clear, "serial's top bits fixed: not 128 random bits");
        CHECK(!bad_der, "serial not a positive minimal DER INTEGER");
    }
    CHECK(bwh_cert_info(cert, strlen(cert), &info2) == BW_OK &&
              !memcmp(info.fingerprint, info2.fingerprint, 32),
          "cert info");

    /* a CSR for another device id is refused */
    CHECK(bwh_ca_issue(ca, csr, "dev-2", 30, &cert2, &info2) == BW_E_CLAIM && !cert2,
          "CSR issued under another id");
    /* a tampered CSR: swap in another device's public key */
    snprintf(other, sizeof(other), "file:%s/d2.key", dir);
    CHECK(bwh_devkey_open(other, &k2) == BW_OK && bwh_devkey_generate(k2, 0) == BW_OK, "key 2");
    CHECK(bwh_csr_make(k2, "dev-1", "Acme", &csr2) == BW_OK, "CSR 2");
    {
        /* splice CSR 2's body with CSR 1's signature: base64 of the last
         * 40 characters before the footer belongs to the signature */
        char *a = strstr(csr, "-----END"), *b = strstr(csr2, "-----END");
        size_t tail = 60;

        memcpy(b - tail, a - tail, tail);
        rc = bwh_ca_issue(ca, csr2, "dev-1", 30, &cert2, &info2);
        CHECK(rc == BW_E_BADSIG || rc == BW_E_FORMAT, "spliced CSR: %s", bw_errname(rc));
        free(cert2);
        cert2 = NULL;
    }
    CHECK(bwh_ca_issue(ca, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                          "REQUEST-----\n",
                      "dev-1", 30, &cert2, &info2) == BW_E_FORMAT,
          "garbage CSR");
    /* the subject comes from the CA, not from the request: a CSR naming
     * another organization and a second CN */
    {
        EVP_PKEY *pk = EVP_EC_gen("prime256v1");
        X509_REQ *req = X509_REQ_new();
        X509_NAME *nm = X509_REQ_get_subject_name(req);
        BIO *b = BIO_new(BIO_s_mem());
        char *pem, *out = NULL, org[64] = "";
        long n;

        X509_REQ_set_pubkey(req, pk);
        X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"Other Corp", -1, -1, 0);
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"dev-9", -1, -1, 0);
        X509_REQ_sign(req, pk, EVP_sha256());
        PEM_write_bio_X509_REQ(b, req);
        n = BIO_get_mem_data(b, &pem);
        pem[n - 1] = 0; /* the final newline */
        rc = bwh_ca_issue(ca, pem, "dev-9", 30, &out, &info2);
        CHECK(rc == BW_OK, "plain CSR: %s", bw_errname(rc));
        if (out) {
            BIO *cb = BIO_new_mem_buf(out, -1);
            X509 *c = PEM_read_bio_X509(cb, NULL, NULL, NULL);

            X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_organizationName, org,
                                      sizeof(org));
            CHECK(!strcmp(org, "Acme"), "subject O copied from the request: %s", org);
            CHECK(X509_NAME_entry_count(X509_get_subject_name(c)) == 2, "extra subject entries");
            X509_free(c);
            BIO_free(cb);
            free(out);
            out = NULL;
        }
        BIO_free(b);
        b = BIO_new(BIO_s_mem());
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"dev-10", -1, -1, 0);
        X509_REQ_sign(req, pk, EVP_sha256());
        PEM_write_bio_X509_REQ(b, req);
        n = BIO_get_mem_data(b, &pem);
        pem[n - 1] = 0;
        CHECK(bwh_ca_issue(ca, pem, "dev-9", 30, &out, &info2) == BW_E_CLAIM && !out,
              "CSR with two CNs issued");
        BIO_free(b);
        X509_REQ_free(req);
        EVP_PKEY_free(pk);
    }
    bwh_ca_free(ca);
    ca = NULL;
    /* a CA key that does not belong to the certificate */
    {
        char cadir2[4300], key2[4400];

        snprintf(cadir2, sizeof(cadir2), "%s/ca2", dir);
        snprintf(key2, sizeof(key2), "%s/ca.key", cadir2);
        CHECK(bwh_ca_create(cadir2, "Other", 10) == BW_OK, "CA 2");
        CHECK(bwh_ca_open(crt, key2, &ca) == BW_E_KEY, "mismatched CA key accepted");
    }
    free(csr);
    free(csr2);
    free(cert);
    bwh_devkey_close(k);
    bwh_devkey_close(k2);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_identity TMPDIR\n");
        return 2;
    }
    test_file_backend(argv[1]);
    test_certificates(argv[1]);
    printf("%s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
