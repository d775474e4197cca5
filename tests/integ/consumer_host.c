/* SPDX-License-Identifier: Apache-2.0 */
/* A program outside the tree that uses an installed libbulwark-host through
 * pkg-config: the capped allocator and a package check. */
#include <bwh/host.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    struct bwh_pkg p;
    struct bw_ec_key k;
    bw_err rc;

    if (argc != 3)
        return 2;
    /* over the allocator's cap: refused, not attempted */
    if (bwh_malloc((size_t)1 << 40) != NULL)
        return 3;
    bw_ec_key_init(&k);
    rc = bwh_load_key(argv[1], 0, &k);
    if (!rc)
        rc = bwh_pkg_open(&p, argv[2], &k, BW_SUIT_ENVELOPE_MAX);
    if (!rc) {
        rc = bwh_pkg_verify(&p, NULL);
        bwh_pkg_close(&p);
    }
    printf("libbulwark-host: %s\n", bw_strerror(rc));
    bw_ec_key_clear(&k);
    return rc == BW_OK ? 0 : 1;
}
