/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CBOR decoder/encoder: RFC 8949 Appendix A examples (the subset bulwark
 * decodes), and each class of input the decoder must refuse.
 */
#include "bulwark/bulwark.h"
#include "t.h"

struct kat {
    const char *hex;
    enum bw_cbor_type type;
    uint64_t val;
};

/* RFC 8949 Appendix A: encodings whose first head we decode. */
static const struct kat kats[] = {
    {"00", BW_CBOR_UINT, 0},
    {"01", BW_CBOR_UINT, 1},
    {"0a", BW_CBOR_UINT, 10},
    {"17", BW_CBOR_UINT, 23},
    {"1818", BW_CBOR_UINT, 24},
    {"1819", BW_CBOR_UINT, 25},
    {"1864", BW_CBOR_UINT, 100},
    {"1903e8", BW_CBOR_UINT, 1000},
    {"1a000f4240", BW_CBOR_UINT, 1000000},
    {"1b000000e8d4a51000", BW_CBOR_UINT, 1000000000000ull},
    {"1bffffffffffffffff", BW_CBOR_UINT, 18446744073709551615ull},
    {"3bffffffffffffffff", BW_CBOR_NINT, 18446744073709551615ull},
    {"20", BW_CBOR_NINT, 0},
    {"29", BW_CBOR_NINT, 9},
    {"3863", BW_CBOR_NINT, 99},
    {"3903e7", BW_CBOR_NINT, 999},
    {"f4", BW_CBOR_SIMPLE, 20},
    {"f5", BW_CBOR_SIMPLE, 21},
    {"f6", BW_CBOR_SIMPLE, 22},
    {"f7", BW_CBOR_SIMPLE, 23},
    {"f0", BW_CBOR_SIMPLE, 16},
    {"f8ff", BW_CBOR_SIMPLE, 255},
    {"c074323031332d30332d32315432303a30343a30305a", BW_CBOR_TAG, 0},
    {"c11a514b67b0", BW_CBOR_TAG, 1},
    {"d74401020304", BW_CBOR_TAG, 23},
    {"d818456449455446", BW_CBOR_TAG, 24},
    {"40", BW_CBOR_BYTES, 0},
    {"4401020304", BW_CBOR_BYTES, 4},
    {"60", BW_CBOR_TEXT, 0},
    {"6161", BW_CBOR_TEXT, 1},
    {"6449455446", BW_CBOR_TEXT, 4},
    {"62225c", BW_CBOR_TEXT, 2},
    {"62c3bc", BW_CBOR_TEXT, 2},
    {"63e6b0b4", BW_CBOR_TEXT, 3},
    {"64f0908591", BW_CBOR_TEXT, 4},
    {"80", BW_CBOR_ARRAY, 0},
    {"83010203", BW_CBOR_ARRAY, 3},
    {"8301820203820405", BW_CBOR_ARRAY, 3},
    {"98190102030405060708090a0b0c0d0e0f101112131415161718181819", BW_CBOR_ARRAY, 25},
    {"a0", BW_CBOR_MAP, 0},
    {"a201020304", BW_CBOR_MAP, 2},
    {"a26161016162820203", BW_CBOR_MAP, 2},
    {"826161a161626163", BW_CBOR_ARRAY, 2},
    {"a56161614161626142616361436164614461656145", BW_CBOR_MAP, 5},
};

struct bad {
    const char *hex;
    bw_err want;
    const char *why;
};

static const struct bad bads[] = {
    {"", BW_E_TRUNCATED, "empty"},
    {"18", BW_E_TRUNCATED, "head cut"},
    {"1903", BW_E_TRUNCATED, "head cut"},
    {"1b0000", BW_E_TRUNCATED, "head cut"},
    {"4401", BW_E_TRUNCATED, "string cut"},
    {"5a00010000", BW_E_TRUNCATED, "long string, no bytes"},
    {"83 0102", BW_E_TRUNCATED, "array cut"},
    {"9bffffffffffffffff00", BW_E_TRUNCATED, "oversized array length"},
    {"bbffffffffffffffff", BW_E_TRUNCATED, "oversized map length"},
    {"5bffffffffffffffff00", BW_E_TRUNCATED, "oversized string length"},
    {"1800", BW_E_NONMINIMAL, "24 encoding of 0"},
    {"1817", BW_E_NONMINIMAL, "24 encoding of 23"},
    {"190018", BW_E_NONMINIMAL, "25 encoding of 24"},
    {"1a0000ffff", BW_E_NONMINIMAL, "26 encoding of 65535"},
    {"1b00000000ffffffff", BW_E_NONMINIMAL, "27 encoding of 2^32-1"},
    {"5800", BW_E_NONMINIMAL, "non-minimal string length"},
    {"980100", BW_E_NONMINIMAL, "non-minimal array length"},
    {"5f42010243030405ff", BW_E_UNSUPPORTED, "indefinite bytes"},
    {"7f657374726561646d696e67ff", BW_E_UNSUPPORTED, "indefinite text"},
    {"9fff", BW_E_UNSUPPORTED, "indefinite array"},
    {"bf6346756ef563416d7421ff", BW_E_UNSUPPORTED, "indefinite map"},
    {"f90000", BW_E_UNSUPPORTED, "half float"},
    {"fa47c35000", BW_E_UNSUPPORTED, "single float"},
    {"fb3ff199999999999a", BW_E_UNSUPPORTED, "double float"},
    {"ff", BW_E_FORMAT, "stray break"},
    {"1c", BW_E_FORMAT, "reserved 28"},
    {"5d", BW_E_FORMAT, "reserved 29"},
    {"fe", BW_E_FORMAT, "reserved 30"},
    {"f800", BW_E_FORMAT, "two-byte simple < 32"},
    {"f81f", BW_E_FORMAT, "two-byte simple < 32"},
    {"62c328", BW_E_FORMAT, "invalid UTF-8"},
    {"62c0af", BW_E_FORMAT, "overlong UTF-8"},
    {"63eda080", BW_E_FORMAT, "UTF-8 surrogate"},
    {"0000", BW_E_TRAILING, "trailing byte"},
};

static void decode_kats(void)
{
    size_t i, n;

    for (i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        unsigned char *b = t_unhex(kats[i].hex, &n);
        struct bw_cbor_dec d;
        struct bw_cbor_item it;
        size_t len;

        bw_cbor_dec_init(&d, b, n);
        CHECK_RC(bw_cbor_next(&d, &it), BW_OK);
        if (it.type != kats[i].type || it.val != kats[i].val)
            fprintf(stderr, "kat %s: got type %d val %llu\n", kats[i].hex, it.type,
                    (unsigned long long)it.val);
        CHECK(it.type == kats[i].type && it.val == kats[i].val);
        CHECK_RC(bw_cbor_wellformed(b, n, 0, &len), BW_OK);
        CHECK(len == n);
        free(b);
    }
}

static void decode_bad(void)
{
    size_t i, n, j, k;

    for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        char clean[64];
        unsigned char *b;
        bw_err rc;

        for (j = k = 0; bads[i].hex[j]; j++)
            if (bads[i].hex[j] != ' ')
                clean[k++] = bads[i].hex[j];
        clean[k] = 0;
        b = t_unhex(clean, &n);
        rc = bw_cbor_wellformed(b, n, 0, NULL);
        if (rc != bads[i].want)
            fprintf(stderr, "bad %s (%s): got %s want %s\n", bads[i].hex, bads[i].why,
                    bw_errname(rc), bw_errname(bads[i].want));
        CHECK(rc == bads[i].want);
        free(b);
    }
}

static void depth(void)
{
    uint8_t b[64];
    int n;

    /* [[[...[0]...]]]: BW_CBOR_MAX_DEPTH arrays nest fine, one more does not. */
    for (n = BW_CBOR_MAX_DEPTH - 1; n <= BW_CBOR_MAX_DEPTH + 1; n++) {
        memset(b, 0x81, (size_t)n);
        b[n] = 0x00;
        CHECK_RC(bw_cbor_wellformed(b, (size_t)n + 1, 0, NULL),
                 n <= BW_CBOR_MAX_DEPTH ? BW_OK : BW_E_DEPTH);
    }
    /* an empty container opens a level too */
    memset(b, 0x81, BW_CBOR_MAX_DEPTH);
    b[BW_CBOR_MAX_DEPTH] = 0x80;
    CHECK_RC(bw_cbor_wellformed(b, BW_CBOR_MAX_DEPTH + 1, 0, NULL), BW_E_DEPTH);
    CHECK_RC(bw_cbor_wellformed(b + 1, BW_CBOR_MAX_DEPTH, 0, NULL), BW_OK);
    memset(b, 0xc1, 40); /* tags nest too */
    b[40] = 0;
    CHECK_RC(bw_cbor_wellformed(b, 41, 0, NULL), BW_E_DEPTH);
}

static void encode(void)
{
    static const struct {
        int64_t v;
        const char *hex;
    } ints[] = {{0, "00"},          {23, "17"},         {24, "1818"},
                {255, "18ff"},      {256, "190100"},    {65535, "19ffff"},
                {65536, "1a00010000"}, {4294967296LL, "1b0000000100000000"},
                {-1, "20"},         {-24, "37"},        {-25, "3818"},
                {-1000, "3903e7"},  {INT64_MIN, "3b7fffffffffffffff"}};
    uint8_t buf[32];
    char hex[65];
    struct bw_wr w;
    struct bw_cbor_dec d;
    int64_t v;
    size_t i;

    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        bw_wr_init(&w, buf, sizeof(buf));
        bw_cbor_put_int(&w, ints[i].v);
        bw_hex(hex, buf, w.len);
        CHECK(!strcmp(hex, ints[i].hex));
        bw_cbor_dec_init(&d, buf, w.len);
        CHECK_RC(bw_cbor_get_int(&d, &v), BW_OK);
        CHECK(v == ints[i].v);
    }
    bw_wr_init(&w, buf, sizeof(buf));
    bw_cbor_put_map(&w, 1);
    bw_cbor_put_text(&w, "a", 1);
    bw_cbor_put_array(&w, 2);
    bw_cbor_put_bytes(&w, "\x01\x02", 2);
    bw_cbor_put_simple(&w, BW_CBOR_NULL);
    bw_cbor_put_tag(&w, 107);
    bw_cbor_put_simple(&w, 255);
    bw_hex(hex, buf, w.len);
    CHECK(!strcmp(hex, "a1616182420102f6d86bf8ff"));
    /* get_int refuses what int64 cannot hold; typed getters check types. */
    {
        static const uint8_t big[] = {0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0};
        const uint8_t *p;
        size_t n;
        uint64_t u;

        bw_cbor_dec_init(&d, big, sizeof(big));
        CHECK_RC(bw_cbor_get_int(&d, &v), BW_E_TOOBIG);
        CHECK_RC(bw_cbor_get_uint(&d, &u), BW_OK);
        CHECK(u == 0x8000000000000000ull);
        bw_cbor_dec_init(&d, big, sizeof(big));
        CHECK_RC(bw_cbor_get_bytes(&d, &p, &n), BW_E_FORMAT);
        CHECK(d.cur.off == 0);
    }
    bw_wr_init(&w, buf, 3);
    bw_cbor_put_bytes(&w, "abcdef", 6);
    CHECK(w.err == BW_E_NOMEM);
}

int main(void)
{
    decode_kats();
    decode_bad();
    depth();
    encode();
    T_DONE();
}
