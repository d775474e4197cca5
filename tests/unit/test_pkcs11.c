/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PKCS#11 key backend beyond the shared contract: URI parsing (RFC 7512
 * forms, percent-decoding, refusals), PIN handling, errors with their CKR_
 * detail, two keys open on one module, and a look at the private object
 * through the raw PKCS#11 API. Run by contract/softhsm.sh against softhsm2.
 *   test_pkcs11 check MODULE TOKEN PIN TMPDIR
 *   test_pkcs11 sign URI OUTDIR          (interop: pub.der, msg, sig.der)
 *   test_pkcs11 verify URI HASHFILE SIGFILE   (raw r||s from another tool)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "bwh/identity.h"
#include "t.h"

static char uri[8192];

/* "pkcs11:" + tmpl with {M} module, {T} token, {P} PIN, {X} extra. */
static const char *mkuri(const char *tmpl, const char *m, const char *t, const char *p,
                         const char *x)
{
    size_t o = 0, n;
    const char *v;

    memcpy(uri, "pkcs11:", 7);
    o = 7;
    while (*tmpl) {
        v = NULL;
        if (!strncmp(tmpl, "{M}", 3))
            v = m;
        else if (!strncmp(tmpl, "{T}", 3))
            v = t;
        else if (!strncmp(tmpl, "{P}", 3))
            v = p;
        else if (!strncmp(tmpl, "{X}", 3))
            v = x;
        if (v) {
            n = strlen(v);
            tmpl += 3;
        } else {
            v = tmpl++;
            n = 1;
        }
        if (o + n >= sizeof(uri))
            exit(2);
        memcpy(uri + o, v, n);
        o += n;
    }
    uri[o] = '\0';
    return uri;
}

static void expect_open(const char *u, bw_err want)
{
    struct bwh_devkey *k = NULL;
    bw_err rc = bwh_devkey_open(u, &k);

    if (rc != want)
        fprintf(stderr, "open %s: %s, want %s\n", u, bw_errname(rc), bw_errname(want));
    CHECK(rc == want);
    CHECK(rc != BW_OK || k != NULL);
    bwh_devkey_close(k);
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(s, f) < 0 || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Looks at the private key object with the raw API, as an attacker holding
 * the PIN would: it must be sensitive and never extractable. */
static void check_private_object(const char *module, const char *token, const char *pin,
                                 const char *label)
{
    CK_C_GetFunctionList getfl;
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16, i, found = 0;
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY, pcls = CKO_PUBLIC_KEY;
    CK_OBJECT_HANDLE h[2], ph;
    CK_BBOOL sens = 0, ext = 1, asens = 0, nextr = 0, tok = 0, priv = 0, sign = 0;
    CK_BBOOL dec = 1, unwrap = 1, derive = 1;
    uint8_t value[64], id[64], pid[64];
    CK_ATTRIBUTE find[2] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)}};
    CK_ATTRIBUTE a[] = {{CKA_SENSITIVE, &sens, 1},       {CKA_EXTRACTABLE, &ext, 1},
                        {CKA_ALWAYS_SENSITIVE, &asens, 1}, {CKA_NEVER_EXTRACTABLE, &nextr, 1},
                        {CKA_TOKEN, &tok, 1},             {CKA_PRIVATE, &priv, 1},
                        {CKA_SIGN, &sign, 1},             {CKA_ID, id, sizeof(id)},
                        {CKA_DECRYPT, &dec, 1},           {CKA_UNWRAP, &unwrap, 1},
                        {CKA_DERIVE, &derive, 1}};
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    CK_ATTRIBUTE pa = {CKA_ID, pid, sizeof(pid)};
    void *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    CK_RV rv;

    CHECK(dl != NULL);
    if (!dl)
        return;
    getfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CHECK(getfl && getfl(&f) == CKR_OK);
    CHECK(f->C_Initialize(NULL) == CKR_OK);
    CHECK(f->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK);
    for (i = 0; i < n; i++)
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
            !memcmp(ti.label, token, strlen(token)) && ti.label[strlen(token)] == ' ')
            found = slots[i] + 1;
    CHECK(found);
    CHECK(f->C_OpenSession(found - 1, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK);
    CHECK(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)pin, strlen(pin)) == CKR_OK);
    CHECK(f->C_FindObjectsInit(s, find, 2) == CKR_OK);
    n = 0;
    CHECK(f->C_FindObjects(s, h, 2, &n) == CKR_OK && n == 1);
    CHECK(f->C_FindObjectsFinal(s) == CKR_OK);
    if (n == 1) {
        CHECK(f->C_GetAttributeValue(s, h[0], a, sizeof(a) / sizeof(a[0])) == CKR_OK);
        CHECK(sens == CK_TRUE && ext == CK_FALSE && asens == CK_TRUE && nextr == CK_TRUE);
        CHECK(tok == CK_TRUE && priv == CK_TRUE && sign == CK_TRUE);
        CHECK(dec == CK_FALSE && unwrap == CK_FALSE && derive == CK_FALSE);
        CHECK(a[7].ulValueLen > 0 && a[7].ulValueLen <= sizeof(id));
        /* the scalar is not readable, even logged in */
        rv = f->C_GetAttributeValue(s, h[0], &v, 1);
        CHECK(rv == CKR_ATTRIBUTE_SENSITIVE);
        CHECK(v.ulValueLen == CK_UNAVAILABLE_INFORMATION);
        /* the public half carries the same CKA_ID */
        find[0].pValue = &pcls;
        CHECK(f->C_FindObjectsInit(s, find, 2) == CKR_OK);
        CHECK(f->C_FindObjects(s, &ph, 1, &n) == CKR_OK && n == 1);
        CHECK(f->C_FindObjectsFinal(s) == CKR_OK);
        CHECK(n == 1 && f->C_GetAttributeValue(s, ph, &pa, 1) == CKR_OK &&
              pa.ulValueLen == a[7].ulValueLen && !memcmp(pid, id, pa.ulValueLen));
    }
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    dlclose(dl);
}

static int check(const char *module, const char *token, const char *pin, const char *tmp)
{
    static const char *bad[] = {
        "",                                          /* nothing */
        "token={T};object=device;pin-value={P}",  /* no module */
        "module={M};object=device;pin-value={P}", /* no token */
        "module={M};token={T};pin-value={P}",    /* no object */
        "module={M};token={T};object=device;pin-value={P};colour=blue",
        "module={M};token={T};object=device;pin-value",
        "module={M};token={T};object=device;=x",
        "module={M};token={T};object=a;object=b",
        "module={M};module={M};token={T};object=device",
        "module={M};token={T};object=dev%zz",
        "module={M};token={T};object=dev%4",
        "module={M};token={T};object=dev%00ice",
        "module={M};token={T};object=",
        "module={M};token={T};object=device;",
        "module=libsofthsm2.so;token={T};object=device",
        "module={M};token={T};object=device;pin-value={P};pin-source=/dev/null",
        "module={M};token=0123456789abcdef0123456789abcdefX;object=device",
        "module={M};token={T};object=device;type=cert",
        "module={M};token={T};object=device?pin-value={P}&colour=blue",
        "module={M};token={T}?object=device&token={T}",
    };
    char fmt[512], pinfile[4096], bad_pinfile[4096], crlf_pinfile[4096];
    uint8_t pub[BW_P256_PUB_LEN], pub2[BW_P256_PUB_LEN], hash[32], sig[64];
    struct bwh_devkey *k = NULL, *k2 = NULL;
    struct bw_ec_key vk, ex;
    size_t i;

    /* malformed URIs are refused before anything is loaded */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_open(mkuri(bad[i], module, token, pin, ""), BW_E_INVAL);
    }
    /* a module that is not there, or not PKCS#11 */
    expect_open(mkuri("module={X}/no-such-module.so;token={T};object=device", module, token, pin, tmp),
                BW_E_BACKEND);
    snprintf(bad_pinfile, sizeof(bad_pinfile), "%s/not-a-module.so", tmp);
    write_text(bad_pinfile, "not an ELF file\n");
    expect_open(mkuri("module={X};token={T};object=device", module, token, pin, bad_pinfile),
                BW_E_BACKEND);
    /* no such token */
    expect_open(mkuri("module={M};token=no-such-token;object=device;pin-value={P}", module, token,
                      pin, ""),
                BW_E_NOTFOUND);
    /* a prefix of the label is not the label */
    expect_open(mkuri("module={M};token=bulwark;object=device;pin-value={P}", module, token, pin, ""),
                BW_E_NOTFOUND);
    /* pin-source that cannot be read */
    expect_open(mkuri("module={M};token={T};object=device;pin-source={X}/no-such-pin", module,
                      token, pin, tmp),
                BW_E_IO);

    /* wrong PIN: open connects, the first operation needing the login
     * fails and says why; the refused PIN is not sent again */
    CHECK_RC(bwh_devkey_open(mkuri("module={M};token={T};object=device;pin-value={P}0", module,
                                  token, pin, ""),
                            &k),
             BW_OK);
    if (k) {
        CHECK_RC(bwh_devkey_generate(k, 0), BW_E_BACKEND);
        CHECK(contains(bwh_devkey_detail(k), "C_Login: CKR_PIN_INCORRECT"));
        fprintf(stderr, "wrong PIN detail: %s\n", bwh_devkey_detail(k));
        CHECK_RC(bwh_devkey_public(k, pub), BW_E_NOTFOUND); /* overwrites detail */
        memset(hash, 1, sizeof(hash));
        CHECK_RC(bwh_devkey_sign(k, hash, sig), BW_E_BACKEND);
        CHECK(contains(bwh_devkey_detail(k), "CKR_PIN_INCORRECT"));
        CHECK_RC(bwh_devkey_destroy(k), BW_E_BACKEND);
        bwh_devkey_close(k);
        k = NULL;
    }
    /* no PIN at all: softhsm tokens need a login for private objects */
    CHECK_RC(bwh_devkey_open(mkuri("module={M};token={T};object=device", module, token, pin, ""),
                            &k),
             BW_OK);
    if (k) {
        CHECK_RC(bwh_devkey_generate(k, 0), BW_E_DENIED);
        CHECK(contains(bwh_devkey_detail(k), "needs a PIN"));
        CHECK_RC(bwh_devkey_public(k, pub), BW_E_NOTFOUND);
        bwh_devkey_close(k);
        k = NULL;
    }

    /* pin-source with a trailing newline; RFC 7512 query form */
    snprintf(pinfile, sizeof(pinfile), "%s/pin", tmp);
    snprintf(fmt, sizeof(fmt), "%s\n", pin);
    write_text(pinfile, fmt);
    CHECK_RC(bwh_devkey_open(mkuri("token={T};object=device?module-path={M}&pin-source={X}",
                                  module, token, pin, pinfile),
                            &k),
             BW_OK);
    if (!k)
        return 1;
    CHECK_RC(bwh_devkey_generate(k, 0), BW_OK);
    CHECK_RC(bwh_devkey_public(k, pub), BW_OK);
    bw_ec_key_init(&vk);
    CHECK_RC(bw_ec_set_pub(&vk, pub, sizeof(pub)), BW_OK);
    memset(hash, 0x42, sizeof(hash));
    CHECK_RC(bwh_devkey_sign(k, hash, sig), BW_OK);
    CHECK_RC(bw_ec_verify(&vk, hash, sig, sizeof(sig)), BW_OK);
    bw_ec_key_init(&ex);
    CHECK_RC(bwh_devkey_export_private(k, &ex), BW_E_DENIED);
    CHECK(!ex.has_priv);
    CHECK(contains(bwh_devkey_detail(k), "never leaves"));

    /* a second key open on the same module at once, percent-encoded
     * labels, "file:" pin-source and CRLF; closing one leaves the other
     * working (the module is finalized by the last one only) */
    snprintf(crlf_pinfile, sizeof(crlf_pinfile), "%s/pin-crlf", tmp);
    snprintf(fmt, sizeof(fmt), "%s\r\n", pin);
    write_text(crlf_pinfile, fmt);
    CHECK_RC(bwh_devkey_open(mkuri("module={M};token=bulwark%2dtest;object=dev%69ce;"
                                  "type=private;pin-source=file:{X}",
                                  module, token, pin, crlf_pinfile),
                            &k2),
             BW_OK);
    if (k2) {
        CHECK_RC(bwh_devkey_public(k2, pub2), BW_OK);
        CHECK(!memcmp(pub, pub2, sizeof(pub)));
        CHECK_RC(bwh_devkey_generate(k2, 0), BW_E_EXISTS);
        bwh_devkey_close(k);
        k = NULL;
        hash[0] ^= 0xff;
        CHECK_RC(bwh_devkey_sign(k2, hash, sig), BW_OK);
        CHECK_RC(bw_ec_verify(&vk, hash, sig, sizeof(sig)), BW_OK);
        bwh_devkey_close(k2);
        k2 = NULL;
    }
    bwh_devkey_close(k);
    k = NULL;

    /* a PIN file holding the wrong PIN */
    write_text(bad_pinfile, "0000\n");
    CHECK_RC(bwh_devkey_open(mkuri("module={M};token={T};object=device;pin-source={X}", module,
                                  token, pin, bad_pinfile),
                            &k),
             BW_OK);
    if (k) {
        CHECK_RC(bwh_devkey_sign(k, hash, sig), BW_E_BACKEND);
        CHECK(contains(bwh_devkey_detail(k), "C_Login: CKR_PIN_INCORRECT"));
        bwh_devkey_close(k);
        k = NULL;
    }
    /* an empty PIN file is a mistake, not an empty PIN */
    write_text(bad_pinfile, "\n");
    expect_open(mkuri("module={M};token={T};object=device;pin-source={X}", module, token,
                      pin, bad_pinfile),
                BW_E_FORMAT);

    /* the private object as the token holds it */
    check_private_object(module, token, pin, "device");

    /* another object label on the same token is another key */
    CHECK_RC(bwh_devkey_open(mkuri("module={M};token={T};object=other;pin-value={P}", module,
                                  token, pin, ""),
                            &k),
             BW_OK);
    if (k) {
        CHECK_RC(bwh_devkey_public(k, pub2), BW_E_NOTFOUND);
        CHECK(contains(bwh_devkey_detail(k), "no public key labelled 'other'"));
        CHECK_RC(bwh_devkey_destroy(k), BW_E_NOTFOUND);
        bwh_devkey_close(k);
        k = NULL;
    }

    /* clean up for the interop step */
    CHECK_RC(bwh_devkey_open(mkuri("module={M};token={T};object=device;pin-value={P}", module,
                                  token, pin, ""),
                            &k),
             BW_OK);
    if (k) {
        CHECK_RC(bwh_devkey_destroy(k), BW_OK);
        CHECK_RC(bwh_devkey_public(k, pub2), BW_E_NOTFOUND);
        bwh_devkey_close(k);
    }
    bw_ec_key_clear(&vk);
    T_DONE();
}

static void write_bin(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* One INTEGER of an ECDSA-Sig-Value from a 32-byte big-endian half. */
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

static int sign_for_openssl(const char *u, const char *dir)
{
    static const char msg[] = "bulwark pkcs11 interop message\n";
    uint8_t pub[BW_P256_PUB_LEN], hash[32], sig[64], der[80], spki[256];
    struct bwh_devkey *k = NULL;
    struct bw_ec_key vk;
    size_t n, spki_len = 0;

    CHECK_RC(bwh_devkey_open(u, &k), BW_OK);
    if (!k)
        T_DONE();
    CHECK_RC(bwh_devkey_generate(k, 0), BW_OK);
    CHECK_RC(bwh_devkey_public(k, pub), BW_OK);
    bw_ec_key_init(&vk);
    CHECK_RC(bw_ec_set_pub(&vk, pub, sizeof(pub)), BW_OK);
    CHECK_RC(bw_ec_export(&vk, 0, 0, spki, sizeof(spki), &spki_len), BW_OK);
    CHECK_RC(bw_sha256(msg, sizeof(msg) - 1, hash), BW_OK);
    CHECK_RC(bwh_devkey_sign(k, hash, sig), BW_OK);
    n = der_int(der + 2, sig);
    n += der_int(der + 2 + n, sig + 32);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    write_bin(dir, "pub.der", spki, spki_len);
    write_bin(dir, "msg", (const uint8_t *)msg, sizeof(msg) - 1);
    write_bin(dir, "hash", hash, sizeof(hash));
    write_bin(dir, "sig.der", der, n + 2);
    bw_ec_key_clear(&vk);
    bwh_devkey_close(k);
    T_DONE();
}

static int verify_foreign(const char *u, const char *hashfile, const char *sigfile)
{
    uint8_t pub[BW_P256_PUB_LEN];
    unsigned char *hash, *sig;
    struct bwh_devkey *k = NULL;
    struct bw_ec_key vk;
    size_t hl, sl;

    hash = t_slurp(hashfile, &hl);
    sig = t_slurp(sigfile, &sl);
    CHECK(hl == 32 && sl == 64);
    CHECK_RC(bwh_devkey_open(u, &k), BW_OK);
    CHECK_RC(bwh_devkey_public(k, pub), BW_OK);
    bw_ec_key_init(&vk);
    CHECK_RC(bw_ec_set_pub(&vk, pub, sizeof(pub)), BW_OK);
    if (hl == 32) {
        CHECK_RC(bw_ec_verify(&vk, hash, sig, sl), BW_OK);
        hash[0] ^= 1;
        CHECK_RC(bw_ec_verify(&vk, hash, sig, sl), BW_E_BADSIG);
    }
    bw_ec_key_clear(&vk);
    bwh_devkey_close(k);
    free(hash);
    free(sig);
    T_DONE();
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[1], "check"))
        return check(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 4 && !strcmp(argv[1], "sign"))
        return sign_for_openssl(argv[2], argv[3]);
    if (argc == 5 && !strcmp(argv[1], "verify"))
        return verify_foreign(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: test_pkcs11 check MODULE TOKEN PIN TMPDIR | sign URI OUTDIR |"
                    " verify URI HASHFILE SIGFILE\n");
    return 2;
}
