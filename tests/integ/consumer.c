/* SPDX-License-Identifier: Apache-2.0 */
/* A program outside the tree that uses an installed libbulwark through
 * pkg-config: parse and authenticate an envelope given as hex. */
#include <bulwark/bulwark.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static uint8_t env[4096], pub[65];
    struct bw_ec_key k;
    struct bw_suit s;
    size_t n;
    bw_err rc;

    if (argc != 3 || strlen(argv[1]) != 130 || strlen(argv[2]) % 2 ||
        (n = strlen(argv[2]) / 2) > sizeof(env) || bw_unhex(pub, 65, argv[1]) ||
        bw_unhex(env, n, argv[2]))
        return 2;
    bw_ec_key_init(&k);
    if ((rc = bw_ec_set_pub(&k, pub, 65)) == BW_OK)
        rc = bw_suit_parse(env, n, &k, &s);
    printf("libbulwark %s: %s, sequence %llu\n", BULWARK_VERSION, bw_strerror(rc),
           (unsigned long long)s.sequence);
    bw_ec_key_clear(&k);
    return rc == BW_OK && s.authenticated ? 0 : 1;
}
