/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the crypto backend's own parsers of outside bytes: a DER
 * ECDSA signature (bw_ec_verify_der, first byte even) and a key file
 * (bw_ec_import: PEM or DER, PKCS#8, SEC1, SPKI; first byte odd). Built
 * against each backend (tests/mcu.cmake adds the mbedtls variant). */
#include <string.h>
#include "bulwark/bulwark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The draft-ietf-suit-manifest example key (public; no one holds the
     * private key here, so no input may verify). */
    static const uint8_t pub[65] = {
        0x04, 0x84, 0x96, 0x81, 0x1a, 0xae, 0x0b, 0xaa, 0xab, 0xd2, 0x61, 0x57, 0x18,
        0x9e, 0xec, 0xda, 0x26, 0xbe, 0xaa, 0x8b, 0xf1, 0x1b, 0x6f, 0x3f, 0xe6, 0xe2,
        0xb5, 0x65, 0x9c, 0x85, 0xdb, 0xc0, 0xad, 0x3b, 0x1f, 0x2a, 0x4b, 0x6c, 0x09,
        0x81, 0x31, 0xc0, 0xa3, 0x6d, 0xac, 0xd1, 0xd7, 0x8b, 0xd3, 0x81, 0xdc, 0xdf,
        0xb0, 0x9c, 0x05, 0x2d, 0xb3, 0x39, 0x91, 0xdb, 0x73, 0x38, 0xb4, 0xa8, 0x96};
    static const uint8_t hash[32] = {1, 2, 3, 4};
    uint8_t der[256];
    struct bw_ec_key k, q;
    size_t n = 0;

    if (size < 1)
        return 0;
    bw_ec_key_init(&k);
    bw_ec_key_init(&q);
    if (!(data[0] & 1)) {
        if (bw_ec_set_pub(&k, pub, sizeof(pub)) == BW_OK &&
            bw_ec_verify_der(&k, hash, data + 1, size - 1) == BW_OK)
            __builtin_trap(); /* a forgery */
    } else if (bw_ec_import(&k, data + 1, size - 1) == BW_OK) {
        /* what was adopted exports and imports back to the same point */
        if (!k.has_pub || bw_ec_export(&k, 0, 0, der, sizeof(der), &n) != BW_OK ||
            bw_ec_import(&q, der, n) != BW_OK || memcmp(q.pub, k.pub, sizeof(k.pub)) != 0)
            __builtin_trap();
    }
    bw_ec_key_clear(&k);
    bw_ec_key_clear(&q);
    return 0;
}
