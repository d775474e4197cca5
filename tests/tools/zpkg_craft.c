/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes compressed packages (docs/package-format.md, BW_SUIT_PARAM_COMPRESSION)
 * that are signed but wrong in one way each, which `bulwark sign` never
 * writes, for tests/integ/zstd_package.sh. With one frame per chunk
 * (BW_SUIT_COMPRESS_ZSTD), and prefixed s- with one frame flushed at each
 * chunk (BW_SUIT_COMPRESS_ZSTD_STREAM, what bulwark sign --compress writes):
 *   good.bwp    honest
 *   digest.bwp  chunk 0's entry decodes to other bytes of the same size
 *   expand.bwp  chunk 0's entry decodes to one byte more than the chunk
 *               (frame per chunk: declared; stream: the frame declares the
 *               image's size, the entry holds one byte more)
 *   trunc.bwp   chunk 0's entry cut short (its signed length says so; in a
 *               stream the cut bytes start chunk 1's entry)
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

/* The stream form: one frame, flushed after each chunk's input (chunk
 * 0's input is src0/len0), ended after the last; zl[i] gets each entry. */
static bw_err stream(const uint8_t *img, size_t size, const uint8_t *src0, size_t len0,
                     uint8_t *frames, size_t cap, size_t *zl)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    uint32_t cs = BW_SUIT_CHUNK_SIZE;
    size_t n = (size + cs - 1) / cs, i, r, pos = 0;
    bw_err rc = BW_E_INVAL;

    if (!cc || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 19)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, size - cs + len0)))
        goto out;
    for (i = 0; i < n; i++) {
        ZSTD_inBuffer in = {i ? img + i * cs : src0, i ? (i + 1 < n ? cs : size - i * cs) : len0, 0};
        ZSTD_outBuffer o = {frames, cap, pos};

        do
            r = ZSTD_compressStream2(cc, &o, &in, i + 1 < n ? ZSTD_e_flush : ZSTD_e_end);
        while (!ZSTD_isError(r) && r != 0);
        if (ZSTD_isError(r))
            goto out;
        zl[i] = o.pos - pos;
        pos = o.pos;
    }
    rc = BW_OK;
out:
    ZSTD_freeCCtx(cc);
    return rc;
}

static bw_err craft(const struct bw_ec_key *key, const uint8_t *img, size_t size, enum flaw f,
                    int streamed, const char *path)
{
    uint32_t cs = BW_SUIT_CHUNK_SIZE;
    size_t n = (size + cs - 1) / cs, bound = bwh_zchunk_bound(cs), zlen = 0, i, env_len;
    uint8_t *list = bwh_malloc(n * BW_SHA256_LEN), *table = bwh_malloc(n * BW_SUIT_CLEN_LEN);
    uint8_t *frames = bwh_malloc(n * bound + 16), *alt = bwh_malloc(cs + 1), *out = NULL;
    size_t *zls = bwh_calloc(n + 1, sizeof(*zls));
    struct bw_suit_build b;
    struct bw_wr w;
    bw_err rc = BW_E_NOMEM;

    memset(&b, 0, sizeof(b));
    if (!list || !table || !frames || !alt || !zls || n < 2)
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
        if (streamed) {
            if (i == 0 && (rc = stream(img, size, src, len, frames, n * bound + 16, zls)))
                goto done;
            zl = zls[i];
            if (i == 0 && f == TRUNC)
                zls[1] += 3; /* the cut bytes open chunk 1's entry */
        } else {
            zl = ZSTD_compress(frames + zlen, bound, src, len, 19);
            rc = BW_E_INVAL;
            if (ZSTD_isError(zl))
                goto done;
        }
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
    b.compress = streamed ? BW_SUIT_COMPRESS_ZSTD_STREAM : BW_SUIT_COMPRESS_ZSTD;
    if (streamed && f == EXPAND) {
        /* the frame header declares size + 1: make it declare size */
        size_t k;

        for (k = 5; k + 4 <= 18; k++) {
            uint32_t v = (uint32_t)frames[k] | (uint32_t)frames[k + 1] << 8 |
                         (uint32_t)frames[k + 2] << 16 | (uint32_t)frames[k + 3] << 24;

            if (v == size + 1) {
                frames[k] = (uint8_t)size;
                frames[k + 1] = (uint8_t)(size >> 8);
                frames[k + 2] = (uint8_t)(size >> 16);
                frames[k + 3] = (uint8_t)(size >> 24);
                break;
            }
        }
        rc = BW_E_INVAL;
        if (k + 4 > 18)
            goto done;
    }
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
    bwh_free(zls);
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
    for (f = 0; f < 2 * (TABLE + 1) && !rc; f++) {
        int streamed = f > TABLE;

        snprintf(path, sizeof(path), "%s/%s%s.bwp", argv[3], streamed ? "s-" : "",
                 names[f % (TABLE + 1)]);
        rc = craft(&key, img, size, (enum flaw)(f % (TABLE + 1)), streamed, path);
    }
    if (rc)
        fprintf(stderr, "zpkg_craft: %s\n", bw_strerror(rc));
    else
        status = 0;
    bwh_free(img);
    bw_ec_key_clear(&key);
    return status;
}
