/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes compressed packages (docs/package-format.md, BW_SUIT_PARAM_COMPRESSION)
 * that are signed but wrong in one way each, which `bulwark sign` never
 * writes, for tests/integ/zstd_package.sh:
 *   good.bwp    honest (the same layout bulwark sign --compress writes)
 *   digest.bwp  chunk 0's frame holds other bytes of the same size
 *   expand.bwp  chunk 0's frame declares and holds one byte more than the chunk
 *   trunc.bwp   chunk 0's frame cut short (its signed length says so)
 *   table.bwp   honest, then a length-table entry changed after signing
 * Usage: zpkg_craft KEY.pem IMAGE OUTDIR
 */
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "bwh/host.h"

static const uint8_t vendor[16] = {0xfa, 0x6b, 0x4a, 0x53, 0xd5, 0xad, 0x5f, 0xdf,
                                   0xbe, 0x9d, 0xe6, 0x63, 0xe4, 0xd4, 0x1f, 0xfe};
static const uint8_t klass[16] = {0x14, 0x92, 0xaf, 0x14, 0x25, 0x69, 0x5e, 0x48,
                                  0xbf, 0x42, 0x9b, 0x2d, 0x51, 0xf2, 0xab, 0x45};

enum flaw { GOOD, DIGEST, EXPAND, TRUNC, TABLE };

static bw_err craft(const struct bw_ec_key *key, const uint8_t *img, size_t size, enum flaw f,
                    const char *path)
{
    uint32_t cs = BW_SUIT_CHUNK_SIZE;
    size_t n = (size + cs - 1) / cs, bound = bwh_zchunk_bound(cs), zlen = 0, i, env_len;
    uint8_t *list = bwh_malloc(n * BW_SHA256_LEN), *table = bwh_malloc(n * BW_SUIT_CLEN_LEN);
    uint8_t *frames = bwh_malloc(n * bound + 16), *alt = bwh_malloc(cs + 1), *out = NULL;
    struct bw_suit_build b;
    struct bw_wr w;
    bw_err rc = BW_E_NOMEM;

    memset(&b, 0, sizeof(b));
    if (!list || !table || !frames || !alt || !n)
        goto done;
    for (i = 0; i < n; i++) {
        size_t len = i + 1 < n ? cs : size - i * cs, zl;
        const uint8_t *src = img + i * cs;

        if ((rc = bw_sha256(src, len, list + i * BW_SHA256_LEN)))
            goto done;
        if (i == 0 && (f == DIGEST || f == EXPAND)) {
            memcpy(alt, src, len);
            alt[0] ^= 1;    /* other bytes, same size */
            alt[len] = 'x'; /* EXPAND: one more */
            len += f == EXPAND;
            src = alt;
        }
        zl = ZSTD_compress(frames + zlen, bound, src, len, 19);
        rc = BW_E_INVAL;
        if (ZSTD_isError(zl))
            goto done;
        if (i == 0 && f == TRUNC)
            zl -= 3;
        table[i * 4] = (uint8_t)(zl >> 24);
        table[i * 4 + 1] = (uint8_t)(zl >> 16);
        table[i * 4 + 2] = (uint8_t)(zl >> 8);
        table[i * 4 + 3] = (uint8_t)zl;
        zlen += zl;
    }
    b.sequence = 1;
    b.vendor_id = vendor;
    b.class_id = klass;
    b.image_size = size;
    b.with_chunks = 1;
    b.chunk_size = cs;
    b.compress = 1;
    if ((rc = bw_sha256(img, size, b.image_digest)) ||
        (rc = bw_sha256(list, n * BW_SHA256_LEN, b.chunk_list_digest)) ||
        (rc = bw_sha256(table, n * BW_SUIT_CLEN_LEN, b.clen_digest)))
        goto done;
    if (f == TABLE)
        table[3] ^= 1; /* after signing */
    bw_wr_init(&w, NULL, 0);
    if ((rc = bw_suit_build(&w, &b, key)))
        goto done;
    env_len = w.len;
    rc = BW_E_NOMEM;
    out = bwh_malloc(env_len + n * (BW_SHA256_LEN + BW_SUIT_CLEN_LEN) + zlen);
    if (!out)
        goto done;
    bw_wr_init(&w, out, env_len);
    if ((rc = bw_suit_build(&w, &b, key)))
        goto done;
    memcpy(out + env_len, list, n * BW_SHA256_LEN);
    memcpy(out + env_len + n * BW_SHA256_LEN, table, n * BW_SUIT_CLEN_LEN);
    memcpy(out + env_len + n * (BW_SHA256_LEN + BW_SUIT_CLEN_LEN), frames, zlen);
    rc = bwh_write_file_atomic(path, out, env_len + n * (BW_SHA256_LEN + BW_SUIT_CLEN_LEN) + zlen,
                               0644);
done:
    bwh_free(list);
    bwh_free(table);
    bwh_free(frames);
    bwh_free(alt);
    bwh_free(out);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"good", "digest", "expand", "trunc", "table"};
    struct bw_ec_key key;
    uint8_t *img = NULL;
    size_t size = 0;
    char path[4096];
    int f, status = 1;
    bw_err rc;

    if (argc != 4) {
        fprintf(stderr, "usage: zpkg_craft KEY.pem IMAGE OUTDIR\n");
        return 2;
    }
    bw_ec_key_init(&key);
    rc = bwh_load_key(argv[1], 1, &key);
    if (!rc)
        rc = bwh_read_file(argv[2], 1u << 26, &img, &size);
    for (f = GOOD; f <= TABLE && !rc; f++) {
        snprintf(path, sizeof(path), "%s/%s.bwp", argv[3], names[f]);
        rc = craft(&key, img, size, (enum flaw)f, path);
    }
    if (rc)
        fprintf(stderr, "zpkg_craft: %s\n", bw_strerror(rc));
    else
        status = 0;
    bwh_free(img);
    bw_ec_key_clear(&key);
    return status;
}
