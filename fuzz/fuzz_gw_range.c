/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the Range and ETag header parsers and the blob path check
 * of gateway/release.c, from the gateway library (a gw_* target). Input:
 * byte 0 < 0x80 is the size, else the size is the next 8 bytes (little
 * endian); the rest is the header value. */
#include <stdint.h>
#include <string.h>

#include "bwh/host.h"
#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char etag[] =
        "\"sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"";
    uint64_t len = 0, first = 1, last = 1;
    char *h, path[128];
    size_t skip = 1, i;
    bw_err rc;

    if (size < 1)
        return 0;
    if (data[0] < 0x80) {
        len = data[0];
    } else {
        if (size < 9)
            return 0;
        for (i = 0; i < 8; i++)
            len |= (uint64_t)data[1 + i] << (8 * i);
        skip = 9;
    }
    h = bwh_malloc(size - skip + 1);
    if (!h)
        return 0;
    memcpy(h, data + skip, size - skip);
    h[size - skip] = '\0';

    rc = gw_range_parse(h, len, &first, &last);
    if (rc == BW_OK && !(first <= last && last < len))
        __builtin_trap();
    if (rc != BW_OK && (first || last))
        __builtin_trap();
    if (rc != BW_OK && rc != BW_E_NOTFOUND && rc != BW_E_SIZE && rc != BW_E_FORMAT)
        __builtin_trap();
    /* a strong match is also a weak one */
    if (gw_etag_if_range(h, etag) && !gw_etag_if_none_match(h, etag))
        __builtin_trap();
    if (gw_blob_path("/b", h, path, sizeof(path)) == BW_OK && strlen(h) != 64)
        __builtin_trap();
    bwh_free(h);
    return 0;
}
