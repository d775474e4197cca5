/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark keygen: a P-256 key pair as PEM files, the private one 0600. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cmd_keygen(struct cli_args *a)
{
    const char *out = cli_get(a, "out"), *pub = cli_get(a, "pub");
    struct bw_ec_key k;
    uint8_t pem[1024];
    size_t n = 0;
    bw_err rc;
    int st;

    if (!out || !pub)
        return cli_usage(a, "--out and --pub are required");
    if (!strcmp(out, pub))
        return cli_usage(a, "--out and --pub must be different files");
    if (!cli_flag(a, "force")) {
        if (access(out, F_OK) == 0)
            return cli_usage(a, "%s exists; refusing to overwrite a key (use --force)", out);
        if (access(pub, F_OK) == 0)
            return cli_usage(a, "%s exists (use --force)", pub);
    }
    bw_ec_key_init(&k);
    rc = bw_ec_generate(&k);
    if (rc) {
        st = cli_fail(a, "key generation", rc);
        goto out;
    }
    errno = 0;
    rc = bw_ec_export(&k, 1, 1, pem, sizeof(pem), &n);
    if (rc == BW_OK)
        rc = bwh_write_file_atomic(out, pem, n, 0600);
    if (rc) {
        st = cli_fail(a, out, rc);
        goto out;
    }
    rc = bw_ec_export(&k, 0, 1, pem, sizeof(pem), &n);
    if (rc == BW_OK)
        rc = bwh_write_file_atomic(pub, pem, n, 0644);
    if (rc) {
        st = cli_fail(a, pub, rc);
        goto out;
    }
    printf("wrote private key %s (mode 0600) and public key %s\n", out, pub);
    st = 0;
out:
    bw_wipe(pem, sizeof(pem));
    bw_ec_key_clear(&k);
    return st;
}
