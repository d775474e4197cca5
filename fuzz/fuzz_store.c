/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the secure store's image parser. The input is an image
 * without its MAC; the target appends a valid HMAC under the fixed key (so
 * the fuzzer reaches the record parser, as someone holding the key could),
 * opens it from copy 0 of an 8 KiB RAM flash, reads every record, and
 * changes the store once. Seeds: tests/unit/test_store.c --corpus DIR.
 */
#include <openssl/hmac.h>
#include <string.h>

#include "bulwark/bulwark.h"
#include "bulwark/store.h"

#define AREA 8192u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ram {
    struct bw_flash f;
    uint8_t b[AREA];
};

static bw_err ram_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct ram *r = ctx;

    if (off > AREA || len > AREA - off)
        return BW_E_INVAL;
    memcpy(buf, r->b + off, len);
    return BW_OK;
}

static bw_err ram_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct ram *r = ctx;

    if (off > AREA || len > AREA - off)
        return BW_E_INVAL;
    memcpy(r->b + off, buf, len);
    return BW_OK;
}

static bw_err ram_sync(void *ctx)
{
    (void)ctx;
    return BW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ram r;
    static uint8_t work[AREA], v[BW_STORE_VALUE_MAX];
    uint8_t key[32], okm[64];
    unsigned mac_len = 0;
    struct bw_store s;
    struct bw_store_iter it;
    char name[BW_STORE_NAME_MAX + 1];
    size_t vl, n = 0;
    int i;

    if (size > AREA / 2 - 32)
        return 0;
    for (i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    memset(&r, 0, sizeof(r));
    r.f = (struct bw_flash){&r, AREA, 1, ram_read, ram_write, ram_sync};
    memcpy(r.b, data, size);
    if (bw_hkdf_sha256(NULL, 0, key, 32, (const uint8_t *)"bulwark store v1", 16, okm, 64) ||
        !HMAC(EVP_sha256(), okm + 32, 32, data, size, r.b + size, &mac_len))
        return 0;
    if (bw_store_open(&s, &r.f, key, work, sizeof(work)) != BW_OK)
        return 0;
    memset(&it, 0, sizeof(it));
    while (bw_store_next(&s, &it, name, &vl) == BW_OK) {
        if (vl > sizeof(v) || bw_store_get(&s, name, v, sizeof(v), &vl) > BW_E_AUTH)
            __builtin_trap();
        n++;
    }
    if (n != s.count)
        __builtin_trap();
    if (bw_store_set(&s, "fuzz", (const uint8_t *)"z", 1) == BW_OK &&
        (bw_store_get(&s, "fuzz", v, sizeof(v), &vl) != BW_OK || vl != 1 || v[0] != 'z'))
        __builtin_trap();
    bw_store_close(&s);
    return 0;
}
