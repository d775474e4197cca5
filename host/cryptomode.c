/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto_mode (include/bwh/cryptomode.h): loads OpenSSL's FIPS provider as
 * the only provider of algorithms, and answers which algorithms the mode
 * allows. The mode lives in OpenSSL's default library context, the one the
 * crypto backend (src/crypto/crypto_openssl.c) and the TLS client use, so
 * one call at start-up switches every operation of the process.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/self_test.h>

#include "bulwark/core.h"
#include "bwh/cryptomode.h"

static enum bwh_crypto_mode mode = BWH_CRYPTO_DEFAULT;
static OSSL_PROVIDER *fips_prov;
static char fips_conf[4096];
static int selftest_ok = -1; /* -1 not run, 0 failed, 1 passed */
static unsigned selftest_passes;
static char selftest_failed[160]; /* the first test that failed: "TYPE (DESC)" */

/* The provider reports each self-test it runs here (OSSL_SELF_TEST_set_callback):
 * OpenSSL's error queue does not say which one failed, this does. */
static int selftest_cb(const OSSL_PARAM params[], void *arg)
{
    const OSSL_PARAM *ph = OSSL_PARAM_locate_const(params, OSSL_PROV_PARAM_SELF_TEST_PHASE);
    const OSSL_PARAM *ty = OSSL_PARAM_locate_const(params, OSSL_PROV_PARAM_SELF_TEST_TYPE);
    const OSSL_PARAM *de = OSSL_PARAM_locate_const(params, OSSL_PROV_PARAM_SELF_TEST_DESC);
    const char *phase = NULL, *type = NULL, *desc = NULL;

    (void)arg;
    if (!ph || OSSL_PARAM_get_utf8_string_ptr(ph, &phase) != 1)
        return 1;
    if (ty)
        (void)OSSL_PARAM_get_utf8_string_ptr(ty, &type);
    if (de)
        (void)OSSL_PARAM_get_utf8_string_ptr(de, &desc);
    if (!strcmp(phase, OSSL_SELF_TEST_PHASE_PASS))
        selftest_passes++;
    else if (!strcmp(phase, OSSL_SELF_TEST_PHASE_FAIL) && !selftest_failed[0])
        snprintf(selftest_failed, sizeof(selftest_failed), "%s (%s)", type ? type : "?",
                 desc ? desc : "?");
    return 1;
}

const char *const bwh_crypto_approved_algs[] = {
    "ECDSA-P256-SHA256", "SHA-256", "SHA-384", "SHA-512", "AES-256-GCM", "HKDF-SHA256",
    "PBKDF2-HMAC-SHA256", "CTR-DRBG", NULL};

bw_err bwh_crypto_mode_parse(const char *s, enum bwh_crypto_mode *m)
{
    if (s && !strcmp(s, "default"))
        *m = BWH_CRYPTO_DEFAULT;
    else if (s && !strcmp(s, "approved"))
        *m = BWH_CRYPTO_APPROVED;
    else
        return BW_E_FORMAT;
    return BW_OK;
}

bw_err bwh_crypto_mode_check(const char *v)
{
    enum bwh_crypto_mode m;

    return bwh_crypto_mode_parse(v, &m);
}

enum bwh_crypto_mode bwh_crypto_mode(void)
{
    return mode;
}

const char *bwh_crypto_mode_name(enum bwh_crypto_mode m)
{
    return m == BWH_CRYPTO_APPROVED ? "approved" : "default";
}

/* OpenSSL's queued errors as one line (the last one is usually the
 * reason a provider did not activate), then cleared. */
static void ossl_reason(char *out, size_t cap)
{
    unsigned long e;
    size_t n = 0;

    out[0] = 0;
    while ((e = ERR_get_error()) != 0 && n + 3 < cap) {
        char buf[256];

        ERR_error_string_n(e, buf, sizeof(buf));
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "; " : "", buf);
    }
    if (!out[0])
        snprintf(out, cap, "no reason given by OpenSSL");
}

struct others {
    char names[256];
    size_t n;
};

/* Collects loaded providers other than "fips" and "base" (base has key
 * encoders and decoders only, no algorithm). */
static int other_provider(OSSL_PROVIDER *p, void *arg)
{
    struct others *o = arg;
    const char *name = OSSL_PROVIDER_get0_name(p);

    if (strcmp(name, "fips") && strcmp(name, "base") && o->n + strlen(name) + 2 < sizeof(o->names))
        o->n += (size_t)snprintf(o->names + o->n, sizeof(o->names) - o->n, "%s%s",
                                 o->n ? ", " : "", name);
    return 1;
}

static bw_err enter_approved(const char *prog)
{
    const char *conf = getenv("BULWARK_FIPS_CONF");
    struct others o = {{0}, 0};
    char why[1024];
    bw_err rc = BW_E_CRYPTO;

    if (!conf || !*conf)
        conf = BWH_FIPS_CONF_DEFAULT;
    if (strlen(conf) >= sizeof(fips_conf)) {
        fprintf(stderr, "%s: crypto_mode = approved: config path too long\n", prog);
        return rc;
    }
    ERR_clear_error();
    OSSL_SELF_TEST_set_callback(NULL, selftest_cb, NULL);
    selftest_ok = 0;
    /* loading activates the provider, which checks its integrity MAC and
     * runs its known-answer tests first: a failure leaves it inactive.
     * OpenSSL 3.0 may return success from a config whose provider did not
     * activate: whether "fips" is available afterwards is the test. */
    if (OSSL_LIB_CTX_load_config(NULL, conf) != 1 || OSSL_PROVIDER_available(NULL, "fips") != 1) {
        ossl_reason(why, sizeof(why));
        if (selftest_failed[0])
            fprintf(stderr, "%s: crypto_mode = approved: the FIPS provider's self-test %s failed "
                    "(%s): the provider is not usable, stopping\n", prog, selftest_failed, conf);
        else
            fprintf(stderr, "%s: crypto_mode = approved: the FIPS provider did not load from %s "
                    "(its self-test failed, or the module is missing): %s\n", prog, conf, why);
        goto out;
    }
    fips_prov = OSSL_PROVIDER_load(NULL, "fips"); /* a reference to the active provider */
    if (!fips_prov) {
        ossl_reason(why, sizeof(why));
        fprintf(stderr, "%s: crypto_mode = approved: no reference to the FIPS provider: %s\n",
                prog, why);
        goto out;
    }
    if (OSSL_PROVIDER_self_test(fips_prov) != 1) {
        ossl_reason(why, sizeof(why));
        fprintf(stderr, "%s: crypto_mode = approved: the FIPS provider's self-test %s failed: %s\n",
                prog, selftest_failed[0] ? selftest_failed : "", why);
        goto out;
    }
    selftest_ok = 1;
    if (EVP_default_properties_is_fips_enabled(NULL) != 1 &&
        EVP_default_properties_enable_fips(NULL, 1) != 1) {
        fprintf(stderr, "%s: crypto_mode = approved: cannot make fips=yes the default\n", prog);
        goto out;
    }
    /* after the config, not before: listing providers in a context with
     * none activated loads the fallback ("default") provider. One listed
     * now was loaded by an operation before this call, or by the config:
     * it would stay reachable, so refuse instead of mixing. */
    OSSL_PROVIDER_do_all(NULL, other_provider, &o);
    if (o.n) {
        fprintf(stderr, "%s: crypto_mode = approved: provider %s is loaded besides the FIPS "
                "provider (by %s, or by an operation before the mode was set)\n", prog, o.names,
                conf);
        goto out;
    }
    strcpy(fips_conf, conf);
    rc = BW_OK;
out:
    /* later conditional self-tests (a key pair's consistency test) are
     * the provider's own business: stop collecting */
    OSSL_SELF_TEST_set_callback(NULL, NULL, NULL);
    if (rc && fips_prov) {
        (void)OSSL_PROVIDER_unload(fips_prov);
        fips_prov = NULL;
    }
    return rc;
}

bw_err bwh_crypto_mode_enter(enum bwh_crypto_mode m, const char *prog)
{
    bw_err rc;

    if (m == mode)
        return BW_OK;
    if (mode == BWH_CRYPTO_APPROVED) {
        fprintf(stderr, "%s: crypto_mode: approved mode cannot be left\n", prog);
        return BW_E_STATE;
    }
    rc = enter_approved(prog);
    if (rc == BW_OK)
        mode = BWH_CRYPTO_APPROVED;
    return rc;
}

bw_err bwh_crypto_mode_from_env(const char *prog)
{
    const char *v = getenv("BULWARK_CRYPTO_MODE");
    enum bwh_crypto_mode m;

    if (!v || !*v)
        return BW_OK;
    if (bwh_crypto_mode_parse(v, &m)) {
        fprintf(stderr, "%s: BULWARK_CRYPTO_MODE: '%s' is neither default nor approved\n", prog, v);
        return BW_E_FORMAT;
    }
    return bwh_crypto_mode_enter(m, prog);
}

bw_err bwh_crypto_mode_conf(const char *value, const char *path)
{
    enum bwh_crypto_mode m;

    if (bwh_crypto_mode_parse(value, &m)) {
        fprintf(stderr, "%s: crypto_mode: '%s' is neither default nor approved\n", path, value);
        return BW_E_FORMAT;
    }
    return m == BWH_CRYPTO_APPROVED ? bwh_crypto_mode_enter(m, path) : BW_OK;
}

bw_err bwh_crypto_allow(const char *alg)
{
    size_t i;

    if (mode != BWH_CRYPTO_APPROVED)
        return BW_OK;
    for (i = 0; alg && bwh_crypto_approved_algs[i]; i++)
        if (!strcmp(alg, bwh_crypto_approved_algs[i]))
            return BW_OK;
    fprintf(stderr, "bulwark: %s is not an approved algorithm (crypto_mode = approved)\n",
            alg ? alg : "(unnamed)");
    return BW_E_ALG;
}

void bwh_crypto_module_info(struct bwh_crypto_module *m)
{
    OSSL_PARAM p[3];
    char *name = NULL, *version = NULL;

    memset(m, 0, sizeof(*m));
    snprintf(m->mode, sizeof(m->mode), "%s", bwh_crypto_mode_name(mode));
    snprintf(m->selftest, sizeof(m->selftest), "%s",
             selftest_ok == 1 ? "passed" : selftest_ok == 0 ? "failed" : "not run");
    if (!fips_prov) {
        snprintf(m->name, sizeof(m->name), "OpenSSL default provider");
        snprintf(m->version, sizeof(m->version), "%s", OpenSSL_version(OPENSSL_VERSION_STRING));
        snprintf(m->status, sizeof(m->status), "%s", "not loaded");
        return;
    }
    p[0] = OSSL_PARAM_construct_utf8_ptr(OSSL_PROV_PARAM_NAME, &name, 0);
    p[1] = OSSL_PARAM_construct_utf8_ptr(OSSL_PROV_PARAM_VERSION, &version, 0);
    p[2] = OSSL_PARAM_construct_end();
    if (OSSL_PROVIDER_get_params(fips_prov, p) == 1) {
        snprintf(m->name, sizeof(m->name), "%s", name ? name : "?");
        snprintf(m->version, sizeof(m->version), "%s", version ? version : "?");
    }
    snprintf(m->status, sizeof(m->status), "%s",
             OSSL_PROVIDER_available(NULL, "fips") ? "active" : "inactive");
    snprintf(m->conf, sizeof(m->conf), "%s", fips_conf);
}

const char *bwh_crypto_gnutls_priority(void)
{
    if (mode != BWH_CRYPTO_APPROVED)
        return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
    return "NONE:+VERS-TLS1.3:+VERS-TLS1.2:+AES-256-GCM:+AES-128-GCM:+AEAD:+SHA384:+SHA256:"
           "+ECDHE-ECDSA:+ECDHE-RSA:+GROUP-SECP256R1:+GROUP-SECP384R1:+SIGN-ECDSA-SECP256R1-SHA256:"
           "+SIGN-ECDSA-SECP384R1-SHA384:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-RSA-PSS-RSAE-SHA256:"
           "+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+COMP-NULL:%SAFE_RENEGOTIATION";
}
