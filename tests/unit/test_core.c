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
