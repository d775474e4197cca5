/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs a unit suite (BW_APPROVED_TEST, e.g. "test_crypto.c") in crypto_mode
 * = approved: the process enters the mode from BULWARK_CRYPTO_MODE and
 * BULWARK_FIPS_CONF (tests/fips.cmake points them at the FIPS provider
 * built into the build tree) before the suite's first operation, and
 * refuses to run in any other mode, so a passing run is a run in the
 * provider. Exit 77 (skipped) when the provider was not built.
 */
/* the suite first: it may set feature macros before any system header */
int bw_suite_main(int argc, char **argv);
#define main bw_suite_main
#include BW_APPROVED_TEST
#undef main

#include <unistd.h>

#include "bwh/cryptomode.h"

int main(int argc, char **argv)
{
    const char *conf = getenv("BULWARK_FIPS_CONF");
    struct bwh_crypto_module m;

    if (!conf || access(conf, R_OK)) {
        printf("skipped: no FIPS provider configuration at %s (scripts/fips-provider.sh could "
               "not build the provider)\n", conf ? conf : "(BULWARK_FIPS_CONF unset)");
        return 77;
    }
    if (bwh_crypto_mode_from_env("approved-test") || bwh_crypto_mode() != BWH_CRYPTO_APPROVED) {
        fprintf(stderr, "not in crypto_mode = approved (BULWARK_CRYPTO_MODE=approved?)\n");
        return 1;
    }
    bwh_crypto_module_info(&m);
    printf("module: %s %s, %s, self-test %s\n", m.name, m.version, m.status, m.selftest);
    if (strcmp(m.status, "active") || strcmp(m.selftest, "passed"))
        return 1;
    return bw_suite_main(argc, argv);
}
