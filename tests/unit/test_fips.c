/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto_mode = approved (issue 21): with the FIPS provider built into the
 * build tree, what approved mode allows works and each non-approved
 * operation is refused, by name where bulwark picks the algorithm:
 * Argon2id, an unapproved curve (secp256k1, Ed25519 TUF keys), unapproved
 * hashes (MD5 unreachable, SHA-1 refused), a GCM IV other than 96 bits,
 * TLS suites outside the list in the agent's client. Also the migration of
 * an Argon2id credential to PBKDF2 on its next successful check.
 * Usage: test_fips TMPDIR   (env: BULWARK_CRYPTO_MODE, BULWARK_FIPS_CONF)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <argon2.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>

#include "bulwark/bulwark.h"
#include "bwh/cred.h"
#include "bwh/cryptomode.h"
#include "bwh/host.h"
#include "bwh/tlsclient.h"
#include "t.h"

/* host/tuf_key.c's scheme check (host/tuf_priv.h, library-internal) */
bw_err bwh__tuf_sig_verify(const json_t *key, const char *sig_hex, const uint8_t *msg,
                           size_t msg_len);

static const char k1_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQgDYjIAX1rBBUAaOpkN34h\n"
                             "kljJv+ZjyYDXDBB3xydggdqhRANCAAQDb+9ry9EDWvJAufnmmEOLDRGP/xNtpeSq\n"
                             "oYl4cQLi5ytO3Uo/Al8U+H+jItDTetG8jgZlEIkyq+DFgEr3sRg0\n"
                             "-----END PRIVATE KEY-----\n";

static void module(void)
{
    struct bwh_crypto_module m;
    EVP_MD *md;

    bwh_crypto_module_info(&m);
    printf("module: %s %s (%s), self-test %s, mode %s, config %s\n", m.name, m.version, m.status,
           m.selftest, m.mode, m.conf);
    CHECK(strstr(m.name, "FIPS") != NULL);
    CHECK(!strcmp(m.status, "active") && !strcmp(m.selftest, "passed"));
    CHECK(!strcmp(m.mode, "approved"));
    /* the default provider is not reachable: MD5 has no implementation */
    md = EVP_MD_fetch(NULL, "MD5", NULL);
    CHECK(md == NULL);
    EVP_MD_free(md);
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    CHECK(md && !strcmp(OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(md)), "fips"));
    EVP_MD_free(md);
    CHECK(!OSSL_PROVIDER_available(NULL, "default"));
    /* leaving the mode is refused */
    CHECK_RC(bwh_crypto_mode_enter(BWH_CRYPTO_DEFAULT, "test_fips"), BW_E_STATE);
}

static void names(void)
{
    static const char *refused[] = {"Argon2id", "MD5", "SHA-1", "secp256k1", "Ed25519",
                                    "ChaCha20-Poly1305", "AES-128-CBC", NULL};
    size_t i;

    for (i = 0; bwh_crypto_approved_algs[i]; i++)
        CHECK_RC(bwh_crypto_allow(bwh_crypto_approved_algs[i]), BW_OK);
    for (i = 0; refused[i]; i++)
        CHECK_RC(bwh_crypto_allow(refused[i]), BW_E_ALG);
}

static void primitives(void)
{
    static const uint8_t key[32] = {1}, iv12[12] = {2}, iv16[16] = {3};
    uint8_t pt[40] = {4}, ct[40], out[40], tag[16], h[32], sig[64], okm[42];
    struct bw_ec_key k;

    CHECK_RC(bw_aes256gcm_seal(key, iv12, 12, NULL, 0, pt, sizeof(pt), ct, tag), BW_OK);
    CHECK_RC(bw_aes256gcm_open(key, iv12, 12, NULL, 0, ct, sizeof(ct), tag, out), BW_OK);
    CHECK(!memcmp(out, pt, sizeof(pt)));
    /* a short (64-bit) and a long IV: not SP 800-38D's 96-bit construction */
    CHECK_RC(bw_aes256gcm_seal(key, iv12, 8, NULL, 0, pt, sizeof(pt), ct, tag), BW_E_ALG);
    CHECK_RC(bw_aes256gcm_open(key, iv16, 16, NULL, 0, ct, sizeof(ct), tag, out), BW_E_ALG);
    CHECK_RC(bw_sha256("abc", 3, h), BW_OK);
    CHECK_RC(bw_hkdf_sha256(key, 32, pt, 40, NULL, 0, okm, sizeof(okm)), BW_OK);
    CHECK_RC(bw_random(okm, sizeof(okm)), BW_OK);
    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    CHECK_RC(bw_ec_sign(&k, h, sig), BW_OK);
    CHECK_RC(bw_ec_verify(&k, h, sig, sizeof(sig)), BW_OK);
    bw_ec_key_clear(&k);
    /* a secp256k1 key: not P-256, and no implementation in the provider */
    bw_ec_key_init(&k);
    CHECK(bw_ec_import(&k, (const uint8_t *)k1_pem, sizeof(k1_pem) - 1) != BW_OK);
    bw_ec_key_clear(&k);
}

static void tuf_ed25519(void)
{
    json_t *key = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
                            "keyval", "public",
                            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

    CHECK(key != NULL);
    CHECK_RC(bwh__tuf_sig_verify(key, "00", (const uint8_t *)"m", 1), BW_E_ALG);
    json_decref(key);
}

static void tls(void)
{
    SSL_CTX *ctx = NULL;
    STACK_OF(SSL_CIPHER) *sk;
    char err[256];
    int i, n;

    CHECK_RC(bwh_tls_ctx_new(&ctx, NULL, NULL, NULL, 0, err, sizeof(err)), BW_OK);
    if (!ctx)
        return;
    sk = SSL_CTX_get_ciphers(ctx);
    n = sk ? sk_SSL_CIPHER_num(sk) : 0;
    CHECK(n >= 4);
    for (i = 0; i < n; i++) {
        const char *name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i));

        if (!strstr(name, "GCM") || strstr(name, "CHACHA"))
            fprintf(stderr, "offered outside the approved list: %s\n", name);
        CHECK(strstr(name, "GCM") && !strstr(name, "CHACHA"));
    }
    SSL_CTX_free(ctx);
}

static void creds(const char *dir)
{
    struct bwh_cred_params argon = {2, 19456, 1};
    struct bwh_cred_db db;
    char h[BWH_CRED_HASH_MAX], path[512], line[512];
    uint8_t salt[16] = {9};
    FILE *f;

    /* explicit Argon2id parameters: refused; none: PBKDF2 */
    CHECK_RC(bwh_cred_hash("correct horse", &argon, h, sizeof(h)), BW_E_ALG);
    CHECK_RC(bwh_cred_hash("correct horse", NULL, h, sizeof(h)), BW_OK);
    CHECK(!strncmp(h, "$pbkdf2-sha256$i=600000$", 24) && strlen(h) == 24 + 32 + 1 + 64);
    CHECK_RC(bwh_cred_check_hash(h, "correct horse"), BW_OK);
    CHECK_RC(bwh_cred_check_hash(h, "correct horsf"), BW_E_AUTH);
    memcpy(h + 17, "000999", 6); /* an iteration count below the floor */
    CHECK_RC(bwh_cred_check_hash(h, "correct horse"), BW_E_FORMAT);
    {
        char big[BWH_CRED_HASH_MAX];

        /* and one above the ceiling: refused, not hashed for minutes */
        snprintf(big, sizeof(big), "$pbkdf2-sha256$i=4000000000%s", strchr(h + 17, '$'));
        CHECK_RC(bwh_cred_check_hash(big, "correct horse"), BW_E_FORMAT);
    }

    /* an Argon2id credential from before: checked once, then PBKDF2 */
    CHECK(argon2id_hash_encoded(2, 64, 1, "old-password-1", 14, salt, sizeof(salt), 32, h,
                                sizeof(h)) == ARGON2_OK);
    snprintf(path, sizeof(path), "%s/credentials", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "admin:1:0:0:0:%s\n", h);
    fclose(f);
    CHECK(chmod(path, 0600) == 0);
    CHECK_RC(bwh_cred_load(&db, path), BW_OK);
    CHECK_RC(bwh_cred_verify(&db, "admin", "old-password-1", 1000, NULL), BW_OK);
    f = fopen(path, "r");
    line[0] = 0;
    while (f && fgets(line, sizeof(line), f) && line[0] == '#')
        ;
    if (f)
        fclose(f);
    CHECK(!strncmp(line, "admin:1:0:0:0:$pbkdf2-sha256$", 29));
    CHECK_RC(bwh_cred_load(&db, path), BW_OK);
    CHECK_RC(bwh_cred_verify(&db, "admin", "old-password-1", 1001, NULL), BW_OK);
    CHECK_RC(bwh_cred_verify(&db, "admin", "old-password-2", 1002, NULL), BW_E_AUTH);
}

int main(int argc, char **argv)
{
    const char *conf = getenv("BULWARK_FIPS_CONF");

    if (!conf || access(conf, R_OK)) {
        printf("skipped: no FIPS provider configuration at %s (scripts/fips-provider.sh could "
               "not build the provider)\n", conf ? conf : "(BULWARK_FIPS_CONF unset)");
        return 77;
    }
    if (argc < 2 || bwh_crypto_mode_from_env("test_fips") ||
        bwh_crypto_mode() != BWH_CRYPTO_APPROVED) {
        fprintf(stderr, "usage: BULWARK_CRYPTO_MODE=approved test_fips TMPDIR\n");
        return 2;
    }
    module();
    names();
    primitives();
    tuf_ed25519();
    tls();
    creds(argv[1]);
    T_DONE();
}
