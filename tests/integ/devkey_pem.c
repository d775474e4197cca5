/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: writes the private key of a file-backend device key as
 * PKCS#8 PEM, so curl and openssl can present the device's certificate.
 * Usage: devkey_pem "file:PATH?storage-key=FILE" OUT.pem */
#include <stdio.h>

#include "bwh/identity.h"
#include "bwh/host.h"

int main(int argc, char **argv)
{
    struct bwh_devkey *k = NULL;
    struct bw_ec_key ec;
    uint8_t pem[1024];
    size_t n = 0;

    if (argc != 3)
        return 2;
    bw_ec_key_init(&ec);
    if (bwh_devkey_open(argv[1], &k) || bwh_devkey_export_private(k, &ec) ||
        bw_ec_export(&ec, 1, 1, pem, sizeof(pem), &n) ||
        bwh_write_file_atomic(argv[2], pem, n, 0600)) {
        fprintf(stderr, "devkey_pem: cannot export %s\n", argv[1]);
        return 1;
    }
    bw_ec_key_clear(&ec);
    bwh_devkey_close(k);
    return 0;
}
