/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a certificate request as the manufacturing CA receives it
 * (PEM), and the same bytes as EST bodies (RFC 7030, base64 with line
 * breaks): a PKCS#10 request as the gateway's simpleenroll receives it,
 * and a certs-only PKCS#7 answer as the agent receives it; issued against
 * a CA made once in a temporary dir. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bwh/host.h"
#include "bwh/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/bw-fuzz-csr-XXXXXX", cadir[40], crt[64], key[64];

static void cleanup(void)
{
    remove(crt);
    remove(key);
    rmdir(cadir);
    rmdir(dir);
}

/* EST: what is issued is for dev-1 and reads back as one certificate;
 * a PKCS#7 that parses has a certificate. */
static void est(struct bwh_ca *ca, const uint8_t *data, size_t size)
{
    struct bwh_cert_info info;
    char *p7 = NULL, *pem = NULL;

    if (bwh_est_issue(ca, (const char *)data, size, "dev-1", 3600, &p7, &info) == BW_OK) {
        if (strcmp(info.device_id, "dev-1"))
            __builtin_trap(); /* issued under another name */
        if (bwh_est_certs_pem(p7, strlen(p7), &pem) || !strstr(pem, "BEGIN CERTIFICATE"))
            __builtin_trap();
        bwh_free(pem);
        pem = NULL;
    }
    bwh_free(p7);
    if (bwh_est_certs_pem((const char *)data, size, &pem) == BW_OK &&
        !strstr(pem, "BEGIN CERTIFICATE"))
        __builtin_trap();
    bwh_free(pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bwh_ca *ca;
    struct bwh_cert_info info;
    char *pem, *cert = NULL;

    if (!ca) {
        if (!mkdtemp(dir))
            abort();
        snprintf(cadir, sizeof(cadir), "%s/ca", dir);
        snprintf(crt, sizeof(crt), "%s/ca.crt", cadir);
        snprintf(key, sizeof(key), "%s/ca.key", cadir);
        atexit(cleanup);
        if (bwh_ca_create(cadir, "fuzz", 1) || bwh_ca_open(crt, key, &ca))
            abort();
    }
    pem = malloc(size + 1);
    if (!pem)
        return 0;
    memcpy(pem, data, size);
    pem[size] = 0;
    if (bwh_ca_issue(ca, pem, "dev-1", 1, &cert, &info) == BW_OK &&
        strcmp(info.device_id, "dev-1"))
        __builtin_trap(); /* issued under another name */
    free(cert);
    free(pem);
    est(ca, data, size);
    return 0;
}
