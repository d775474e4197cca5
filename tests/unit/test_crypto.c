/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crypto backend against outside known answers: Wycheproof ECDSA P-256
 * (P1363 and DER), AES-GCM (256-bit keys) and HKDF-SHA256; FIPS 180-2
 * SHA-256 examples; key import/export and sign/verify round trips.
 * argv[1]: directory holding the Wycheproof JSON files.
 * With BULWARK_CRYPTO_MODE=approved (fips.crypto, through approved_main.c)
 * the same vectors run in OpenSSL's FIPS provider, where AES-GCM takes
 * 96-bit IVs only: the others must be refused with BW_E_ALG.
 */
#include <jansson.h>
#include "bulwark/bulwark.h"
#include "t.h"

static const char *vdir;

static json_t *load(const char *name)
{
    char path[1024];
    json_error_t e;
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s", vdir, name);
    j = json_load_file(path, 0, &e);
    if (!j) {
        fprintf(stderr, "%s: %s\n", path, e.text);
        exit(2);
    }
    return j;
}

static unsigned char *hexfield(json_t *o, const char *k, size_t *n)
{
    return t_unhex(json_string_value(json_object_get(o, k)), n);
}

static void ecdsa_file(const char *name, int der)
{
    json_t *root = load(name), *groups = json_object_get(root, "testGroups"), *g;
    size_t gi, ti, valid = 0, invalid = 0;

    json_array_foreach(groups, gi, g) {
        json_t *pk = json_object_get(g, "publicKey"), *tests = json_object_get(g, "tests"), *t;
        struct bw_ec_key k;
        size_t plen;
        unsigned char *pub = hexfield(pk, "uncompressed", &plen);

        bw_ec_key_init(&k);
        CHECK_RC(bw_ec_set_pub(&k, pub, plen), BW_OK);
        json_array_foreach(tests, ti, t) {
            size_t mlen, slen;
            unsigned char *msg = hexfield(t, "msg", &mlen), *sig = hexfield(t, "sig", &slen);
            const char *res = json_string_value(json_object_get(t, "result"));
            uint8_t h[32];
            bw_err rc;

            CHECK_RC(bw_sha256(msg, mlen, h), BW_OK);
            rc = der ? bw_ec_verify_der(&k, h, sig, slen) : bw_ec_verify(&k, h, sig, slen);
            if (!strcmp(res, "valid")) {
                valid++;
                if (rc != BW_OK)
                    fprintf(stderr, "%s tcId %lld: valid signature rejected\n", name,
                            json_integer_value(json_object_get(t, "tcId")));
                CHECK(rc == BW_OK);
            } else {
                invalid++;
                if (rc != BW_E_BADSIG)
                    fprintf(stderr, "%s tcId %lld: invalid signature accepted (%s)\n", name,
                            json_integer_value(json_object_get(t, "tcId")), bw_errname(rc));
                CHECK(rc == BW_E_BADSIG);
            }
            free(msg);
            free(sig);
        }
        bw_ec_key_clear(&k);
        free(pub);
    }
    printf("%s: %zu valid accepted, %zu invalid rejected (checked)\n", name, valid, invalid);
    CHECK(valid > 50 && invalid > 50);
    json_decref(root);
}

static void aes_gcm(void)
{
    json_t *root = load("aes_gcm_test.json"), *g;
    size_t gi, ti, n = 0, long_iv = 0, unapproved_iv = 0;
    const char *mode = getenv("BULWARK_CRYPTO_MODE");
    int approved = mode && !strcmp(mode, "approved");

    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        json_t *t;

        if (json_integer_value(json_object_get(g, "keySize")) != 256 ||
            json_integer_value(json_object_get(g, "tagSize")) != 128)
            continue;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t kl, il, al, ml, cl, tl;
            unsigned char *key = hexfield(t, "key", &kl), *iv = hexfield(t, "iv", &il),
                          *aad = hexfield(t, "aad", &al), *msg = hexfield(t, "msg", &ml),
                          *ct = hexfield(t, "ct", &cl), *tag = hexfield(t, "tag", &tl);
            int valid = !strcmp(json_string_value(json_object_get(t, "result")), "valid");
            unsigned char *out = malloc(ml + 1), otag[16];
            bw_err rc;

            rc = bw_aes256gcm_open(key, iv, il, aad, al, ct, cl, tag, out);
            if (approved && il != BW_GCM_IV_APPROVED && il >= 1 && il <= BW_GCM_IV_MAX) {
                /* approved mode: refused by name, both ways, not computed */
                CHECK_RC(rc, BW_E_ALG);
                CHECK_RC(bw_aes256gcm_seal(key, iv, il, aad, al, msg, ml, out, otag), BW_E_ALG);
                unapproved_iv++;
                n++;
                free(key), free(iv), free(aad), free(msg), free(ct), free(tag), free(out);
                continue;
            }
            if (valid && rc && il <= BW_GCM_IV_MAX)
                fprintf(stderr, "aes-gcm tcId %lld: %s\n",
                        json_integer_value(json_object_get(t, "tcId")), bw_errname(rc));
            if (il > BW_GCM_IV_MAX) {
                /* Outside the interface's IV range: refused, not mis-computed. */
                CHECK_RC(rc, BW_E_INVAL);
                long_iv++;
            } else if (valid) {
                CHECK_RC(rc, BW_OK);
                CHECK(ml == 0 || memcmp(out, msg, ml) == 0);
                CHECK_RC(bw_aes256gcm_seal(key, iv, il, aad, al, msg, ml, out, otag), BW_OK);
                CHECK(cl == 0 || memcmp(out, ct, cl) == 0);
                CHECK(memcmp(otag, tag, 16) == 0);
            } else {
                CHECK(rc == BW_E_AUTH || rc == BW_E_INVAL);
            }
            n++;
            free(key), free(iv), free(aad), free(msg), free(ct), free(tag), free(out);
        }
    }
    printf("aes_gcm_test.json: %zu AES-256 vectors checked (%zu with IVs over %d bytes refused, "
           "%zu with IVs other than 96 bits refused as unapproved)\n",
           n, long_iv, BW_GCM_IV_MAX, unapproved_iv);
    CHECK(n > 60);
    CHECK(!approved || (unapproved_iv > 5 && n - unapproved_iv - long_iv > 40));
    json_decref(root);
}

static void hkdf(void)
{
    json_t *root = load("hkdf_sha256_test.json"), *g;
    size_t gi, ti, n = 0;

    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        json_t *t;

        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t il, sl, fl, ol, size = (size_t)json_integer_value(json_object_get(t, "size"));
            unsigned char *ikm = hexfield(t, "ikm", &il), *salt = hexfield(t, "salt", &sl),
                          *info = hexfield(t, "info", &fl), *okm = hexfield(t, "okm", &ol);
            unsigned char *out = malloc(size + 1);
            int valid = !strcmp(json_string_value(json_object_get(t, "result")), "valid");
            bw_err rc = bw_hkdf_sha256(salt, sl, ikm, il, info, fl, out, size);

            if (valid) {
                CHECK_RC(rc, BW_OK);
                CHECK(memcmp(out, okm, size) == 0);
            } else {
                CHECK_RC(rc, BW_E_INVAL);
            }
            n++;
            free(ikm), free(salt), free(info), free(okm), free(out);
        }
    }
    printf("hkdf_sha256_test.json: %zu vectors checked\n", n);
    CHECK(n > 80);
    json_decref(root);
}

static void sha256_kat(void)
{
    /* FIPS 180-2 appendix B examples. */
    static const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char *two =
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    static const char *million =
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    struct bw_sha256 h;
    uint8_t d[32], a[1000];
    char hex[65];
    int i;

    CHECK_RC(bw_sha256("abc", 3, d), BW_OK);
    bw_hex(hex, d, 32);
    CHECK(!strcmp(hex, abc));
    CHECK_RC(bw_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d), BW_OK);
    bw_hex(hex, d, 32);
    CHECK(!strcmp(hex, two));
    memset(a, 'a', sizeof(a));
    CHECK_RC(bw_sha256_init(&h), BW_OK);
    for (i = 0; i < 1000; i++)
        CHECK_RC(bw_sha256_update(&h, a, sizeof(a)), BW_OK);
    CHECK_RC(bw_sha256_final(&h, d), BW_OK);
    bw_hex(hex, d, 32);
    CHECK(!strcmp(hex, million));
    CHECK_RC(bw_sha256_update(&h, a, 1), BW_E_STATE); /* finalised */
    bw_sha256_abort(&h);
}

static void keys(void)
{
    struct bw_ec_key k, p, q;
    uint8_t buf[1024], h[32] = {1, 2, 3}, sig[64], der[72];
    size_t n, dn;

    bw_ec_key_init(&k);
    bw_ec_key_init(&p);
    bw_ec_key_init(&q);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    CHECK(k.has_priv && k.has_pub && k.pub[0] == 4);
    CHECK_RC(bw_ec_sign(&k, h, sig), BW_OK);
    CHECK_RC(bw_ec_verify(&k, h, sig, 64), BW_OK);
    CHECK_RC(bw_ec_verify(&k, h, sig, 63), BW_E_BADSIG);
    sig[10] ^= 1;
    CHECK_RC(bw_ec_verify(&k, h, sig, 64), BW_E_BADSIG);
    CHECK_RC(bw_ec_sign_der(&k, h, der, sizeof(der), &dn), BW_OK);
    CHECK_RC(bw_ec_verify_der(&k, h, der, dn), BW_OK);
    der[dn - 1] ^= 0x80;
    CHECK_RC(bw_ec_verify_der(&k, h, der, dn), BW_E_BADSIG);

    /* PEM private round trip keeps the scalar; public-only cannot sign. */
    CHECK_RC(bw_ec_export(&k, 1, 1, buf, sizeof(buf), &n), BW_OK);
    CHECK(strstr((char *)buf, "BEGIN PRIVATE KEY") != NULL);
    CHECK_RC(bw_ec_import(&p, buf, n), BW_OK);
    CHECK(p.has_priv && memcmp(p.priv, k.priv, 32) == 0 && memcmp(p.pub, k.pub, 65) == 0);
    CHECK_RC(bw_ec_export(&k, 0, 0, buf, sizeof(buf), &n), BW_OK);
    CHECK_RC(bw_ec_import(&q, buf, n), BW_OK);
    CHECK(!q.has_priv && memcmp(q.pub, k.pub, 65) == 0);
    CHECK_RC(bw_ec_sign(&q, h, sig), BW_E_KEY);
    CHECK_RC(bw_ec_export(&q, 1, 1, buf, sizeof(buf), &n), BW_E_KEY);
    CHECK_RC(bw_ec_export(&k, 1, 1, buf, 10, &n), BW_E_NOMEM);
    /* DER with trailing garbage, junk, and a raw scalar round trip. */
    CHECK_RC(bw_ec_export(&k, 0, 0, buf, sizeof(buf), &n), BW_OK);
    buf[n] = 0;
    CHECK_RC(bw_ec_import(&q, buf, n + 1), BW_E_TRAILING);
    CHECK_RC(bw_ec_import(&q, (const uint8_t *)"-----BEGIN junk", 15), BW_E_KEY);
    /* a failed import leaves the key as it was */
    CHECK_RC(bw_ec_import(&k, (const uint8_t *)"-----BEGIN junk", 15), BW_E_KEY);
    CHECK(k.has_priv && memcmp(k.pub, p.pub, 65) == 0);
    CHECK_RC(bw_ec_sign(&k, h, sig), BW_OK);
    CHECK_RC(bw_ec_verify(&p, h, sig, 64), BW_OK);
    bw_ec_key_clear(&p);
    bw_ec_key_init(&p);
    CHECK_RC(bw_ec_set_priv(&p, k.priv, 32), BW_OK);
    CHECK(memcmp(p.pub, k.pub, 65) == 0);
    memset(buf, 0, 32);
    CHECK_RC(bw_ec_set_priv(&q, buf, 32), BW_E_KEY);
    memset(buf, 0xff, 32); /* above the group order */
    CHECK_RC(bw_ec_set_priv(&q, buf, 32), BW_E_KEY);
    buf[0] = 4;
    CHECK_RC(bw_ec_set_pub(&q, buf, 65), BW_E_KEY); /* not on the curve */
    bw_ec_key_clear(&k);
    bw_ec_key_clear(&p);
    bw_ec_key_clear(&q);
    bw_ec_key_clear(NULL);
}

int main(int argc, char **argv)
{
    vdir = argc > 1 ? argv[1] : "tests/vectors/wycheproof";
    sha256_kat();
    ecdsa_file("ecdsa_secp256r1_sha256_p1363_test.json", 0);
    ecdsa_file("ecdsa_secp256r1_sha256_test.json", 1);
    aes_gcm();
    hkdf();
    keys();
    T_DONE();
}
