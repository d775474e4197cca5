/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strict number parsers that replace sscanf/atoi (bwh_parse_u64,
 * bwh_parse_u32_list, bwh_cred_params_parse), the one JSON string escaper
 * (bwh_json_esc, and bwh_json_str through it) and the one UTF-8 rule
 * (bw_utf8_seq, bw_utf8_valid). sscanf's "%u" took " 2", "+2" and "-1"
 * (as 4294967295): each is refused here.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bulwark/cbor.h"
#include "bwh/cred.h"
#include "bwh/host.h"
#include "t.h"

static void numbers(void)
{
    static const char *bad[] = {"", " 2,3", "+2,3", "-1,3", "2,3 ", "2,,3", "2,3,", ",2,3",
                                "2;3", "2,3,4", "2", "0x2,3"};
    uint32_t v[2];
    uint64_t u;
    size_t i;

    CHECK_RC(bwh_parse_u32_list("2,19456", ',', v, 2), BW_OK);
    CHECK(v[0] == 2 && v[1] == 19456);
    CHECK_RC(bwh_parse_u32_list("4294967295-0", '-', v, 2), BW_OK);
    CHECK(v[0] == 4294967295u && v[1] == 0);
    CHECK_RC(bwh_parse_u32_list("4294967296,1", ',', v, 2), BW_E_TOOBIG);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bw_err rc = bwh_parse_u32_list(bad[i], ',', v, 2);

        if (rc != BW_E_FORMAT)
            fprintf(stderr, "'%s' not refused\n", bad[i]);
        CHECK(rc == BW_E_FORMAT);
    }
    CHECK_RC(bwh_parse_u64("18446744073709551615", &u), BW_OK);
    CHECK(u == UINT64_MAX);
    CHECK_RC(bwh_parse_u64("18446744073709551616", &u), BW_E_TOOBIG);
    CHECK_RC(bwh_parse_u64("", &u), BW_E_FORMAT);
    CHECK_RC(bwh_parse_u64("1 ", &u), BW_E_FORMAT);
}

static void kdf(void)
{
    static const char *bad[] = {"-1,19456,1", " 2,19456,1", "+2,19456,1", "0,19456,1",
                                "2,7,1",      "2,127,16",   "2,19456,0",  "2,19456,17",
                                "2,19456,1x", "2,19456"};
    struct bwh_cred_params p = {0, 0, 0};
    size_t i;

    CHECK_RC(bwh_cred_params_parse("2,19456,1", &p), BW_OK);
    CHECK(p.t_cost == 2 && p.m_kib == 19456 && p.lanes == 1);
    CHECK_RC(bwh_cred_params_parse("1,128,16", &p), BW_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bw_err rc = bwh_cred_params_parse(bad[i], &p);

        if (rc != BW_E_INVAL)
            fprintf(stderr, "--argon2 '%s' not refused\n", bad[i]);
        CHECK(rc == BW_E_INVAL);
    }
    CHECK(p.t_cost == 1 && p.m_kib == 128 && p.lanes == 16); /* untouched on refusal */
}

static void json(void)
{
    const char in[] = "a\"b\\c\nd\re\tf\x01g\x7fh\xc3\xa9";
    const char want[] = "a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\xc3\xa9";
    char out[64], *mem = NULL;
    size_t n, len = 0;
    FILE *f;

    n = bwh_json_esc(NULL, 0, in, sizeof(in) - 1);
    CHECK(n == strlen(want));
    CHECK(bwh_json_esc(out, sizeof(out), in, sizeof(in) - 1) == n);
    CHECK(!strcmp(out, want));
    /* cut between escapes, always NUL-terminated */
    CHECK(bwh_json_esc(out, 3, "a\"b", 3) == 4 && !strcmp(out, "a"));
    CHECK(bwh_json_esc(out, 1, "ab", 2) == 2 && out[0] == 0);
    /* the FILE writer is the same escaper, quoted, over any length */
    f = open_memstream(&mem, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    bwh_json_str(f, in, sizeof(in) - 1);
    fclose(f);
    CHECK(len == n + 2 && mem[0] == '"' && !memcmp(mem + 1, want, n) && mem[n + 1] == '"');
    free(mem); /* open_memstream's buffer */
}

static void utf8(void)
{
    static const struct {
        const char *s;
        size_t seq; /* bw_utf8_seq of the first character */
    } v[] = {{"a", 1},           {"\xc3\xa9", 2},     {"\xe2\x82\xac", 3}, {"\xf0\x9f\x98\x80", 4},
             {"\xc0\x80", 0},    {"\xe0\x80\xaf", 0}, {"\xed\xa0\x80", 0}, {"\xf4\x90\x80\x80", 0},
             {"\xc3", 0},        {"\x80", 0},         {"\xf5\x80\x80\x80", 0}};
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].s);

        CHECK(bw_utf8_seq((const uint8_t *)v[i].s, n) == v[i].seq);
        CHECK(bw_utf8_valid((const uint8_t *)v[i].s, n) == (v[i].seq == n));
    }
    CHECK(bw_utf8_seq((const uint8_t *)"\xe2\x82", 2) == 0); /* cut short */
    CHECK(bw_utf8_valid((const uint8_t *)"ok \xc3\xa9 \xf0\x9f\x98\x80", 10));
}

int main(void)
{
    numbers();
    kdf();
    json();
    utf8();
    T_DONE();
}
