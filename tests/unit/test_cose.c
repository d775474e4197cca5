/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COSE_Sign1 against the cose-wg/Examples vectors (tests/vectors/cose) and
 * bulwark's own sign/verify round trip with every refusal it promises.
 * argv[1]: cose-examples.tsv.
 */
#define _POSIX_C_SOURCE 200809L
#include "bulwark/bulwark.h"
#include "t.h"

/* Expected outcome per vector: pass rows verify; the others fail with the
 * named error. sign-pass-01 carries its algorithm only in the unprotected
 * header, which bulwark refuses by policy (docs/package-format.md). */
static bw_err expected(const char *name, const char *expect)
{
    if (!strcmp(name, "sign-pass-01"))
        return BW_E_ALG;
    if (!strcmp(name, "sign-fail-01"))
        return BW_E_FORMAT; /* wrong tag */
    if (!strcmp(name, "sign-fail-03") || !strcmp(name, "sign-fail-04"))
        return BW_E_ALG; /* alg -999, alg as text */
    if (!strcmp(name, "ecdsa-sig-04"))
        return BW_E_ALG; /* ES512 */
    return !strcmp(expect, "pass") ? BW_OK : BW_E_BADSIG;
}

static void vectors(const char *path)
{
    size_t len, rows = 0;
    char *text = (char *)t_slurp(path, &len), *line, *save = NULL;

    line = strtok_r(text, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *f[8], *s2 = NULL, *p = line;
        int i;
        size_t xl, yl, pl, al, cl;
        unsigned char *x, *y, *pay, *aad, *cose, pt[65];
        struct bw_cose_sign1 s;
        struct bw_ec_key k;
        bw_err rc, want;

        for (i = 0; i < 8; i++) {
            f[i] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = 0;
            else
                p = (char *)"";
        }
        (void)s2;
        x = t_unhex(f[2], &xl);
        y = t_unhex(f[3], &yl);
        pay = t_unhex(f[4], &pl);
        aad = t_unhex(f[5], &al);
        cose = t_unhex(f[6], &cl);
        pt[0] = 4;
        memcpy(pt + 1, x, 32);
        memcpy(pt + 33, y, 32);
        bw_ec_key_init(&k);
        CHECK_RC(bw_ec_set_pub(&k, pt, 65), BW_OK);
        rc = bw_cose_sign1_parse(cose, cl, &s);
        if (rc == BW_OK) {
            CHECK(s.payload_len == pl && memcmp(s.payload, pay, pl) == 0);
            rc = bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, aad, al, NULL, 0);
        }
        want = expected(f[0], f[1]);
        if (rc != want)
            fprintf(stderr, "%s: got %s want %s\n", f[0], bw_errname(rc), bw_errname(want));
        CHECK(rc == want);
        /* sign-pass-02 needs its external AAD: without it, it must fail. */
        if (!strcmp(f[0], "sign-pass-02"))
            CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, NULL, 0),
                     BW_E_BADSIG);
        rows++;
        bw_ec_key_clear(&k);
        free(x), free(y), free(pay), free(aad), free(cose);
    }
    CHECK(rows >= 10);
    free(text);
}

static void roundtrip(void)
{
    static const uint8_t payload[] = "firmware digest stand-in";
    uint8_t buf[256], bad[256];
    struct bw_ec_key k, other;
    struct bw_cose_sign1 s;
    struct bw_wr w;
    size_t i;

    bw_ec_key_init(&k);
    bw_ec_key_init(&other);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    CHECK_RC(bw_ec_generate(&other), BW_OK);

    /* Attached payload. */
    bw_wr_init(&w, buf, sizeof(buf));
    CHECK_RC(bw_cose_sign1_write(&w, &k, payload, sizeof(payload), 0, NULL, 0,
                                 (const uint8_t *)"kid1", 4), BW_OK);
    CHECK_RC(bw_cose_sign1_parse(buf, w.len, &s), BW_OK);
    CHECK(s.tagged && s.alg == BW_COSE_ALG_ES256 && s.kid_len == 4);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, NULL, 0), BW_OK);
    /* The unprotected header (kid) is not signed: write without it for the
     * bit-flip sweep, where every bit must matter. */
    bw_wr_init(&w, buf, sizeof(buf));
    CHECK_RC(bw_cose_sign1_write(&w, &k, payload, sizeof(payload), 0, NULL, 0, NULL, 0), BW_OK);
    CHECK_RC(bw_cose_sign1_parse(buf, w.len, &s), BW_OK);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, NULL, 0), BW_OK);
    CHECK_RC(bw_cose_sign1_verify(&s, &other, BW_COSE_ALG_ES256, NULL, 0, NULL, 0), BW_E_BADSIG);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, -35, NULL, 0, NULL, 0), BW_E_ALG);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, (const uint8_t *)"x", 1, NULL, 0),
             BW_E_BADSIG);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, payload, 3), BW_E_INVAL);
    /* Every single-bit flip is refused. */
    for (i = 0; i < w.len * 8; i++) {
        bw_err rc;

        memcpy(bad, buf, w.len);
        bad[i / 8] ^= (uint8_t)(1u << (i % 8));
        rc = bw_cose_sign1_parse(bad, w.len, &s);
        if (rc == BW_OK)
            rc = bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, NULL, 0);
        if (rc == BW_OK)
            fprintf(stderr, "bit flip %zu accepted\n", i);
        CHECK(rc != BW_OK);
    }
    /* Truncation at every length. */
    for (i = 0; i < w.len; i++)
        CHECK(bw_cose_sign1_parse(buf, i, &s) != BW_OK);

    /* Detached payload. */
    bw_wr_init(&w, buf, sizeof(buf));
    CHECK_RC(bw_cose_sign1_write(&w, &k, payload, sizeof(payload), 1, NULL, 0, NULL, 0), BW_OK);
    CHECK_RC(bw_cose_sign1_parse(buf, w.len, &s), BW_OK);
    CHECK(s.payload == NULL);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, NULL, 0), BW_E_INVAL);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, payload, sizeof(payload)),
             BW_OK);
    CHECK_RC(bw_cose_sign1_verify(&s, &k, BW_COSE_ALG_ES256, NULL, 0, payload, 3), BW_E_BADSIG);

    /* Header policy: crit refused, alg must be protected, no duplicates. */
    {
        /* 18([h'a20126 0281 01', {}, h'', h'']) : crit in protected */
        static const uint8_t crit[] = {0xd2, 0x84, 0x46, 0xa2, 0x01, 0x26, 0x02, 0x81, 0x01,
                                       0xa0, 0x40, 0x40};
        /* alg only unprotected */
        static const uint8_t unprot[] = {0xd2, 0x84, 0x40, 0xa1, 0x01, 0x26, 0x40, 0x40};
        /* alg in both */
        static const uint8_t both[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x01, 0x26,
                                       0x40, 0x40};
        /* duplicate alg in protected */
        static const uint8_t dup[] = {0xd2, 0x84, 0x45, 0xa2, 0x01, 0x26, 0x01, 0x26,
                                      0xa0, 0x40, 0x40};
        /* text alg name */
        static const uint8_t textalg[] = {0xd2, 0x84, 0x45, 0xa1, 0x01, 0x62, 0x45, 0x53,
                                          0xa0, 0x40, 0x40};
        /* five elements */
        static const uint8_t five[] = {0xd2, 0x85, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0x40, 0x40, 0x40};

        CHECK_RC(bw_cose_sign1_parse(crit, sizeof(crit), &s), BW_E_CRITICAL);
        CHECK_RC(bw_cose_sign1_parse(unprot, sizeof(unprot), &s), BW_E_ALG);
        CHECK_RC(bw_cose_sign1_parse(both, sizeof(both), &s), BW_E_ALG);
        CHECK_RC(bw_cose_sign1_parse(dup, sizeof(dup), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(textalg, sizeof(textalg), &s), BW_E_ALG);
        CHECK_RC(bw_cose_sign1_parse(five, sizeof(five), &s), BW_E_FORMAT);
    }
    /* Labels are unique within a bucket and across the two (RFC 9052
     * section 3): a repeated label is malformed, whatever its kind. */
    {
        /* kid protected h'61' and unprotected h'62' */
        static const uint8_t kid_both[] = {0xd2, 0x84, 0x46, 0xa2, 0x01, 0x26, 0x04, 0x41, 0x61,
                                           0xa1, 0x04, 0x41, 0x62, 0x40, 0x40};
        /* kid twice in the unprotected map */
        static const uint8_t kid_twice[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa2, 0x04,
                                            0x41, 0x61, 0x04, 0x41, 0x62, 0x40, 0x40};
        /* label -1 twice in the protected map */
        static const uint8_t neg_twice[] = {0xd2, 0x84, 0x47, 0xa3, 0x01, 0x26, 0x20, 0x00,
                                            0x20, 0x00, 0xa0, 0x40, 0x40};
        /* text label "x" twice in the unprotected map */
        static const uint8_t text_twice[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa2, 0x61,
                                             0x78, 0x00, 0x61, 0x78, 0x01, 0x40, 0x40};
        /* label 100 in both buckets */
        static const uint8_t big_both[] = {0xd2, 0x84, 0x46, 0xa2, 0x01, 0x26, 0x18, 0x64, 0x00,
                                           0xa1, 0x18, 0x64, 0x01, 0x40, 0x40};
        /* a byte-string label (labels are int / tstr) */
        static const uint8_t bstr_label[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x41,
                                             0x01, 0x00, 0x40, 0x40};
        /* distinct labels in both buckets: fine, kid from the unprotected */
        static const uint8_t distinct[] = {0xd2, 0x84, 0x46, 0xa2, 0x01, 0x26, 0x18, 0x64, 0x00,
                                           0xa2, 0x04, 0x41, 0x62, 0x61, 0x78, 0x00, 0x40, 0x40};

        CHECK_RC(bw_cose_sign1_parse(kid_both, sizeof(kid_both), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(kid_twice, sizeof(kid_twice), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(neg_twice, sizeof(neg_twice), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(text_twice, sizeof(text_twice), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(big_both, sizeof(big_both), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(bstr_label, sizeof(bstr_label), &s), BW_E_FORMAT);
        CHECK_RC(bw_cose_sign1_parse(distinct, sizeof(distinct), &s), BW_OK);
        CHECK(s.kid_len == 1 && s.kid[0] == 0x62 && s.alg == BW_COSE_ALG_ES256);
    }
    bw_ec_key_clear(&k);
    bw_ec_key_clear(&other);
}

int main(int argc, char **argv)
{
    vectors(argc > 1 ? argv[1] : "tests/vectors/cose/cose-examples.tsv");
    roundtrip();
    T_DONE();
}
