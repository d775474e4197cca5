/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Envelope verifications per second: bw_suit_parse with a key (CBOR walk,
 * manifest digest, COSE Sig_structure hash, ECDSA P-256 verify, manifest
 * interpretation) in a loop for a fixed time, on one core.
 * Usage: bench_envelope PUB.pem ENVELOPE [SECONDS]
 */
#include <stdlib.h>
#include "bwh/host.h"

int main(int argc, char **argv)
{
    struct bw_ec_key k;
    struct bw_suit s;
    uint8_t *env;
    size_t len;
    double secs = argc > 3 ? atof(argv[3]) : 3.0, t0, t;
    unsigned long n = 0;

    if (argc < 3 || bwh_load_key(argv[1], 0, &k) != BW_OK ||
        bwh_read_file(argv[2], BW_SUIT_ENVELOPE_MAX, &env, &len) != BW_OK) {
        fprintf(stderr, "usage: bench_envelope PUB.pem ENVELOPE [SECONDS]\n");
        return 2;
    }
    t0 = bwh_now();
    do {
        int i;

        for (i = 0; i < 100; i++, n++)
            if (bw_suit_parse(env, len, &k, &s) != BW_OK || !s.authenticated) {
                fprintf(stderr, "verification failed\n");
                return 1;
            }
        t = bwh_now() - t0;
    } while (t < secs);
    printf("%.1f\n", (double)n / t);
    bwh_free(env);
    bw_ec_key_clear(&k);
    return 0;
}
