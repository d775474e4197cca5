/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto_mode (issue 21): the one place that decides whether this process
 * runs bulwark's cryptography in OpenSSL's default provider or in approved
 * mode, where OpenSSL's FIPS provider is the only provider of algorithms
 * and only approved algorithms and modes are reachable. Everything that
 * picks an algorithm (passwords, TLS priorities, key schemes) asks here;
 * the crypto backend reads the same decision from OpenSSL itself (the
 * default properties carry fips=yes), so the two cannot disagree.
 * docs/fips.md is the user's side of it.
 */
#ifndef BWH_CRYPTOMODE_H
#define BWH_CRYPTOMODE_H

#include <stddef.h>

#include "bulwark/err.h"

enum bwh_crypto_mode {
    BWH_CRYPTO_DEFAULT = 0, /* OpenSSL's default provider, every algorithm bulwark has */
    BWH_CRYPTO_APPROVED = 1 /* the FIPS provider only; approved algorithms only */
};

/* The OpenSSL configuration that declares the FIPS provider (written by
 * scripts/fips-provider.sh or the maker's installation; docs/fips.md);
 * BULWARK_FIPS_CONF overrides it. */
#define BWH_FIPS_CONF_DEFAULT "/etc/bulwark/openssl-fips.cnf"

/* "default" or "approved" into *m; BW_E_FORMAT otherwise. */
BW_NODISCARD bw_err bwh_crypto_mode_parse(const char *s, enum bwh_crypto_mode *m);
/* Conf-row check for crypto_mode (device.conf, gateway.conf, agent.conf). */
bw_err bwh_crypto_mode_check(const char *v);

/* Puts the process in mode m, once, before any other cryptographic
 * operation. Approved: loads the FIPS provider from the OpenSSL config
 * (BULWARK_FIPS_CONF, else BWH_FIPS_CONF_DEFAULT) into OpenSSL's default
 * library context with default properties fips=yes, which runs the
 * provider's self-tests; runs them once more on demand and checks that
 * no provider of algorithms other than "fips" is loaded. Any failure is
 * printed on stderr as "PROG: crypto_mode = approved: WHY" and returned
 * (BW_E_CRYPTO): callers stop. Entering the mode the process is already
 * in is BW_OK; leaving approved mode is BW_E_STATE. */
BW_NODISCARD bw_err bwh_crypto_mode_enter(enum bwh_crypto_mode m, const char *prog);
/* bwh_crypto_mode_enter with the mode named by BULWARK_CRYPTO_MODE (unset
 * or empty: nothing is done). BW_E_FORMAT for another value. */
BW_NODISCARD bw_err bwh_crypto_mode_from_env(const char *prog);
/* The crypto_mode value of a configuration file at path: "approved"
 * enters approved mode (errors as bwh_crypto_mode_enter, prefixed with
 * path); "default" changes nothing, so either the file or
 * BULWARK_CRYPTO_MODE can turn approved mode on and neither turns it off. */
BW_NODISCARD bw_err bwh_crypto_mode_conf(const char *value, const char *path);
/* The mode the process is in. */
enum bwh_crypto_mode bwh_crypto_mode(void);
const char *bwh_crypto_mode_name(enum bwh_crypto_mode m);

/* BW_OK when alg may be used in the current mode: always in default mode;
 * in approved mode only the names of bwh_crypto_approved_algs. Otherwise
 * prints "bulwark: ALG is not an approved algorithm (crypto_mode =
 * approved)" and returns BW_E_ALG. */
BW_NODISCARD bw_err bwh_crypto_allow(const char *alg);
/* NULL-terminated: the algorithms approved mode allows, by the names
 * bwh_crypto_allow takes. */
extern const char *const bwh_crypto_approved_algs[];

/* What bulwark audit reports about the module that does the cryptography. */
struct bwh_crypto_module {
    char mode[16];     /* "default" or "approved" */
    char name[64];     /* the provider's name, e.g. "OpenSSL FIPS Provider" */
    char version[32];  /* the provider's version */
    char status[16];   /* "active", "not loaded" */
    char selftest[16]; /* "passed", "failed", "not run" */
    char conf[4096];   /* the OpenSSL config it came from (approved mode) */
};
void bwh_crypto_module_info(struct bwh_crypto_module *m);

/* TLS restrictions of approved mode: a GnuTLS priority string for the
 * gateway (TLS 1.2/1.3, AES-256/128-GCM, ECDHE on P-256/P-384, ECDSA and
 * RSA-PSS/PKCS#1 signatures with SHA-256/384), and the OpenSSL cipher
 * list, TLS 1.3 suites and groups for the agent's client. In default mode
 * the gateway's priority string is the one it always used. */
const char *bwh_crypto_gnutls_priority(void);
#define BWH_FIPS_OSSL_CIPHERS "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:" \
                              "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"
#define BWH_FIPS_OSSL_SUITES "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
#define BWH_FIPS_OSSL_GROUPS "P-256:P-384"

#endif
