/* SPDX-License-Identifier: Apache-2.0 */
/* Core helpers: bounded reader/writer, wipe, constant-time compare, hex, errors. */
#include "bulwark/bulwark.h"
#include "t.h"

int main(void)
{
    static const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    struct bw_cur c;
    struct bw_wr w;
    const uint8_t *p;
    uint8_t u8, out[8], sec[16];
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    char hex[33];
    int e;

    bw_cur_init(&c, in, sizeof(in));
    CHECK_RC(bw_cur_u8(&c, &u8), BW_OK);
    CHECK(u8 == 1);
    CHECK_RC(bw_cur_be16(&c, &u16), BW_OK);
    CHECK(u16 == 0x0203);
    CHECK_RC(bw_cur_be32(&c, &u32), BW_OK);
    CHECK(u32 == 0x04050607);
    CHECK(bw_cur_left(&c) == 8);
    CHECK_RC(bw_cur_take(&c, 9, &p), BW_E_TRUNCATED);
    CHECK(c.off == 7); /* a failed read consumes nothing */
    CHECK_RC(bw_cur_be64(&c, &u64), BW_OK);
    CHECK(u64 == 0x08090a0b0c0d0e0full && bw_cur_left(&c) == 0);
    CHECK_RC(bw_cur_take(&c, 0, &p), BW_OK);
    CHECK(p == in + 15);
    CHECK_RC(bw_cur_u8(&c, &u8), BW_E_TRUNCATED);

    bw_wr_init(&w, out, sizeof(out));
    bw_wr_be32(&w, 0x01020304);
    bw_wr_be16(&w, 0x0506);
    CHECK(w.err == BW_OK && w.len == 6 && out[0] == 1 && out[5] == 6);
    bw_wr_be32(&w, 0xdeadbeef);
    CHECK(w.err == BW_E_NOMEM && w.len == 10);
    CHECK(out[5] == 6); /* nothing written past the failure */
    bw_wr_init(&w, NULL, 0);
    bw_wr_be64(&w, 1);
    CHECK(w.err == BW_OK && w.len == 8); /* counting mode */

    memset(sec, 0xaa, sizeof(sec));
    bw_wipe(sec, sizeof(sec));
    for (e = 0; e < 16; e++)
        CHECK(sec[e] == 0);
    CHECK(bw_ct_equal(in, in, sizeof(in)) == 1);
    memcpy(sec, in, 15);
    sec[14] ^= 0x80;
    CHECK(bw_ct_equal(in, sec, 15) == 0);
    CHECK(bw_ct_equal(in, sec, 14) == 1);
    CHECK(bw_ct_equal(in, sec, 0) == 1);

    bw_hex(hex, in, 4);
    CHECK(!strcmp(hex, "01020304"));
    CHECK_RC(bw_unhex(out, 2, "0aFf"), BW_OK);
    CHECK(out[0] == 0x0a && out[1] == 0xff);
    CHECK_RC(bw_unhex(out, 2, "0aF"), BW_E_FORMAT);
    CHECK_RC(bw_unhex(out, 2, "0aFg"), BW_E_FORMAT);
    CHECK_RC(bw_unhex(out, 1, "0aff"), BW_E_FORMAT);

    /* r||s to DER: minimal positive INTEGERs (X9.62), the three shapes */
    {
        uint8_t sig[64], der[72];
        size_t n;

        memset(sig, 0, sizeof(sig));
        sig[31] = 0x01;           /* r = 1: leading zeros dropped */
        sig[32] = 0x80;           /* s has its top bit set: a zero byte first */
        sig[63] = 0x02;
        n = bw_ecdsa_sig_der(der, sig);
        CHECK(n == 2 + 3 + 35);
        CHECK(der[0] == 0x30 && der[1] == n - 2);
        CHECK(der[2] == 0x02 && der[3] == 1 && der[4] == 0x01);
        CHECK(der[5] == 0x02 && der[6] == 33 && der[7] == 0x00 && der[8] == 0x80 && der[39] == 0x02);
        memset(sig, 0x7f, sizeof(sig)); /* full 32 bytes, no padding */
        CHECK(bw_ecdsa_sig_der(der, sig) == 2 + 34 + 34 && der[3] == 32 && der[4] == 0x7f);
        memset(sig, 0, sizeof(sig)); /* zero is one zero byte */
        CHECK(bw_ecdsa_sig_der(der, sig) == 8 && der[3] == 1 && der[4] == 0);
        memset(sig, 0xff, sizeof(sig)); /* the longest: 72 */
        CHECK(bw_ecdsa_sig_der(der, sig) == 72);
    }

    /* Every code has a distinct name and a description. */
    for (e = 0; e < BW_E__COUNT; e++) {
        CHECK(strncmp(bw_errname((bw_err)e), "BW_", 3) == 0);
        CHECK(strcmp(bw_strerror((bw_err)e), "unknown error") != 0);
        if (e)
            CHECK(strcmp(bw_errname((bw_err)e), bw_errname((bw_err)(e - 1))) != 0);
    }
    CHECK(!strcmp(bw_strerror((bw_err)999), "unknown error"));
    T_DONE();
}
