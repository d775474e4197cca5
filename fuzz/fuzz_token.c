/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: JWT verification (all three entry points) with the RFC 7515
 * A.3 public key; seeds are signed with its published private key. */
#include "bulwark/bulwark.h"
#include "bulwark/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bw_err one_key(void *ctx, const char *kid, const char *iss, const char *sub,
                      struct bw_ec_key *key)
{
    (void)kid, (void)iss, (void)sub;
    return bw_ec_set_pub(key, ctx, BW_P256_PUB_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t pub[65] = {
        0x04, 0x7f, 0xcd, 0xce, 0x27, 0x70, 0xf6, 0xc4, 0x5d, 0x41, 0x83, 0xcb, 0xee,
        0x6f, 0xdb, 0x4b, 0x7b, 0x58, 0x07, 0x33, 0x35, 0x7b, 0xe9, 0xef, 0x13, 0xba,
        0xcf, 0x6e, 0x3c, 0x7b, 0xd1, 0x54, 0x45, 0xc7, 0xf1, 0x44, 0xcd, 0x1b, 0xbd,
        0x9b, 0x7e, 0x87, 0x2c, 0xdf, 0xed, 0xb9, 0xee, 0xb9, 0xf4, 0xb3, 0x69, 0x5d,
        0x6e, 0xa9, 0x0b, 0x24, 0xad, 0x8a, 0x46, 0x23, 0x28, 0x85, 0x88, 0xe5, 0xad};
    struct bw_token_seen seen[2];
    struct bw_token_replay r;
    struct bw_token_policy p;
    struct bw_token_claims c;
    struct bw_ec_key k;
    bw_err full, sig;

    bw_ec_key_init(&k);
    if (bw_ec_set_pub(&k, pub, sizeof(pub)) != BW_OK)
        __builtin_trap();
    bw_token_policy_init(&p, "fuzz", 1700000000);
    bw_token_replay_init(&r, seen, 2);
    full = bw_token_verify((const char *)data, size, &k, &p, &r, &c);
    sig = bw_token_verify_signature((const char *)data, size, &k, &c);
    if (full == BW_OK && sig != BW_OK)
        __builtin_trap(); /* the policy can only add checks */
    if (bw_token_verify((const char *)data, size, &k, &p, &r, &c) != BW_E_REPLAY && full == BW_OK)
        __builtin_trap(); /* an accepted token must not pass twice */
    bw_token_replay_init(&r, seen, 2);
    if ((bw_token_verify_lookup((const char *)data, size, one_key, (void *)pub, &p, &r, &c) ==
         BW_OK) != (full == BW_OK))
        __builtin_trap(); /* both ways to name the key accept the same tokens */
    bw_ec_key_clear(&k);
    return 0;
}
