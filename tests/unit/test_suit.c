/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SUIT: envelopes written by other implementations (tests/vectors/suit:
 * the draft's examples as carried by dress-up and libcsuit), bulwark's own
 * build/parse round trip, and every refusal: bit flips, truncation, wrong
 * key, wrong vendor/class, rollback, unknown critical elements, oversized
 * values, deep nesting. argv[1]: the vectors directory.
 */
#include "bulwark/bulwark.h"
#include "t.h"

static const char *vdir;
static const char *draft_pub =
    "048496811aae0baaabd26157189eecda26beaa8bf11b6f3fe6e2b5659c85dbc0ad"
    "3b1f2a4b6c098131c0a36dacd1d78bd381dcdfb09c052db33991db7338b4a896";
static const uint8_t vendor[16] = {0xfa, 0x6b, 0x4a, 0x53, 0xd5, 0xad, 0x5f, 0xdf,
                                   0xbe, 0x9d, 0xe6, 0x63, 0xe4, 0xd4, 0x1f, 0xfe};
static const uint8_t klass[16] = {0x14, 0x92, 0xaf, 0x14, 0x25, 0x69, 0x5e, 0x48,
                                  0xbf, 0x42, 0x9b, 0x2d, 0x51, 0xf2, 0xab, 0x45};
static const char *d0 = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";

static unsigned char *load_vec(const char *name, size_t *n)
{
    char path[1024];
    size_t len;
    unsigned char *txt, *b;

    snprintf(path, sizeof(path), "%s/%s.hex", vdir, name);
    txt = t_slurp(path, &len);
    b = t_unhex((char *)txt, n);
    free(txt);
    return b;
}

static void draft_key(struct bw_ec_key *k)
{
    size_t n;
    unsigned char *pt = t_unhex(draft_pub, &n);

    bw_ec_key_init(k);
    CHECK_RC(bw_ec_set_pub(k, pt, n), BW_OK);
    free(pt);
}

static void external(void)
{
    static const struct {
        const char *name;
        bw_err want;
        uint64_t seq;
        unsigned comps;
    } v[] = {
        {"draft-suit-ex0", BW_OK, 0, 1},
        {"draft-suit-ex1", BW_OK, 1, 1},
        {"draft-suit-ex2", BW_OK, 2, 1},
        {"draft-suit-ex2-severed", BW_OK, 2, 1},
        {"libcsuit-ex0-es256", BW_OK, 0, 1},
        {"libcsuit-ex1-es256", BW_OK, 1, 1},
        {"libcsuit-ex4-es256", BW_OK, 4, 3},
        {"libcsuit-ex5-es256", BW_OK, 5, 2},
        {"libcsuit-ex0-esp256", BW_E_ALG, 0, 1},        /* alg -9, not ES256 */
        {"libcsuit-ex1-esp256", BW_E_ALG, 0, 1},
        {"libcsuit-ex3-esp256", BW_E_ALG, 0, 1},
        {"libcsuit-ex4-esp256", BW_E_ALG, 0, 1},
        {"libcsuit-expI-integrated", BW_E_CRITICAL, 0, 1}, /* pre-25 layout, key 5 */
    };
    struct bw_ec_key k, other;
    size_t i, n;

    draft_key(&k);
    bw_ec_key_init(&other);
    CHECK_RC(bw_ec_generate(&other), BW_OK);
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unsigned char *b = load_vec(v[i].name, &n);
        struct bw_suit s;
        bw_err rc = bw_suit_parse(b, n, &k, &s);

        if (rc != v[i].want)
            fprintf(stderr, "%s: got %s want %s\n", v[i].name, bw_errname(rc),
                    bw_errname(v[i].want));
        CHECK(rc == v[i].want);
        if (rc == BW_OK) {
            uint8_t want_d[32];
            struct bw_suit_expect e = {vendor, klass, v[i].seq};

            CHECK(s.authenticated && s.tagged && s.version == 1);
            CHECK(s.sequence == v[i].seq && s.n_components == v[i].comps);
            CHECK(s.comp[0].has_vendor && !memcmp(s.comp[0].vendor_id, vendor, 16));
            CHECK(s.comp[0].has_class && !memcmp(s.comp[0].class_id, klass, 16));
            CHECK(s.comp[0].cond_vendor && s.comp[0].cond_class);
            CHECK_RC(bw_unhex(want_d, 32, d0), BW_OK);
            CHECK(s.comp[0].has_digest && !memcmp(s.comp[0].image_digest, want_d, 32));
            CHECK(s.comp[0].has_size && s.comp[0].image_size == 34768);
            CHECK_RC(bw_suit_image_match(&s, 0, want_d, 34768), BW_OK);
            CHECK_RC(bw_suit_image_match(&s, 0, want_d, 34767), BW_E_SIZE);
            want_d[31] ^= 1;
            CHECK_RC(bw_suit_image_match(&s, 0, want_d, 34768), BW_E_DIGEST);
            CHECK_RC(bw_suit_check(&s, &e), BW_OK);
            e.min_sequence = v[i].seq + 1;
            CHECK_RC(bw_suit_check(&s, &e), BW_E_ROLLBACK);
            /* The same envelope with another key, and unauthenticated. */
            CHECK_RC(bw_suit_parse(b, n, &other, &s), BW_E_BADSIG);
            CHECK_RC(bw_suit_parse(b, n, NULL, &s), BW_OK);
            CHECK(!s.authenticated);
            CHECK_RC(bw_suit_check(&s, &e), BW_E_STATE);
        }
        free(b);
    }
    /* Details only some examples carry. */
    {
        struct bw_suit s;
        unsigned char *b = load_vec("draft-suit-ex1", &n);

        CHECK_RC(bw_suit_parse(b, n, &k, &s), BW_OK);
        CHECK(s.comp[0].has_uri && s.comp[0].uri.len == 27 &&
              !memcmp(s.comp[0].uri.p, "http://example.com/file.bin", 27));
        CHECK(s.seqs_present & BW_SUIT_SEQ_INSTALL);
        CHECK(s.comp[0].dir_fetch & BW_SUIT_SEQ_INSTALL);
        free(b);
        b = load_vec("draft-suit-ex2", &n);
        CHECK_RC(bw_suit_parse(b, n, &k, &s), BW_OK);
        CHECK(s.reference_uri.len == 20 && !memcmp(s.reference_uri.p, "https://git.io/JJYoj", 20));
        CHECK((s.seqs_present & BW_SUIT_SEQ_INSTALL) && !s.seqs_severed);
        /* A severable member that does not match its digest. */
        b[n - 5] ^= 0x01;
        CHECK(bw_suit_parse(b, n, &k, &s) != BW_OK);
        free(b);
        b = load_vec("draft-suit-ex2-severed", &n);
        CHECK_RC(bw_suit_parse(b, n, &k, &s), BW_OK);
        CHECK((s.seqs_severed & BW_SUIT_SEQ_INSTALL) && !(s.seqs_present & BW_SUIT_SEQ_INSTALL));
        free(b);
        b = load_vec("libcsuit-ex5-es256", &n);
        CHECK_RC(bw_suit_parse(b, n, &k, &s), BW_OK);
        CHECK(s.comp[1].has_size && s.comp[1].image_size == 76834);
        free(b);
    }
    bw_ec_key_clear(&k);
    bw_ec_key_clear(&other);
}

/* ---- hand-made manifests, signed: for refusals past the signature ---- */

static size_t sign_manifest(const uint8_t *m, size_t mlen, const struct bw_ec_key *k,
                            uint8_t *out, size_t cap)
{
    uint8_t wrapped[3072], dig[64], sig[160], md[32];
    struct bw_wr w, dw, sw, ow;

    bw_wr_init(&w, wrapped, sizeof(wrapped));
    bw_cbor_put_bytes(&w, m, mlen);
    CHECK_RC(bw_sha256(wrapped, w.len, md), BW_OK);
    bw_wr_init(&dw, dig, sizeof(dig));
    bw_cbor_put_array(&dw, 2);
    bw_cbor_put_int(&dw, -16);
    bw_cbor_put_bytes(&dw, md, 32);
    bw_wr_init(&sw, sig, sizeof(sig));
    CHECK_RC(bw_cose_sign1_write(&sw, k, dig, dw.len, 1, NULL, 0, NULL, 0), BW_OK);
    bw_wr_init(&ow, out, cap);
    bw_cbor_put_tag(&ow, 107);
    bw_cbor_put_map(&ow, 2);
    bw_cbor_put_uint(&ow, 2);
    bw_cbor_put_head(&ow, BW_CBOR_BYTES,
                     1 + bw_cbor_head_len(dw.len) + dw.len + bw_cbor_head_len(sw.len) + sw.len);
    bw_cbor_put_array(&ow, 2);
    bw_cbor_put_bytes(&ow, dig, dw.len);
    bw_cbor_put_bytes(&ow, sig, sw.len);
    bw_cbor_put_uint(&ow, 3);
    bw_wr_bytes(&ow, wrapped, w.len);
    CHECK(ow.err == BW_OK);
    return ow.len;
}

/* A manifest: {1: version, 2: seq, 3: << {2: [[h'00']], 4: << shared >>} >>, extra...}
 * where shared = [20, params, 1, 15, 2, 15] + extra commands. */
struct mf {
    uint64_t version;
    int params_extra; /* 0 none, else a parameter key to add with uint 1 */
    int64_t digest_alg;
    uint64_t image_size;
    int extra_manifest_key; /* 0 none */
    int extra_command;      /* 0 none */
    int components;
    int dup_param;
    void (*shared)(struct bw_wr *w); /* replaces the shared sequence */
};

static void enc_shared(struct bw_wr *w, const struct mf *f)
{
    uint8_t d[48];
    struct bw_wr dw;

    bw_wr_init(&dw, d, sizeof(d));
    bw_cbor_put_array(&dw, 2);
    bw_cbor_put_int(&dw, f->digest_alg);
    bw_cbor_put_bytes(&dw, "0123456789abcdef0123456789abcdef", 32);
    bw_cbor_put_array(w, 6 + (f->extra_command ? 2 : 0));
    bw_cbor_put_uint(w, 20);
    bw_cbor_put_map(w, 4 + (f->params_extra ? 1 : 0) + (f->dup_param ? 1 : 0));
    bw_cbor_put_uint(w, 1);
    bw_cbor_put_bytes(w, vendor, 16);
    if (f->dup_param) {
        bw_cbor_put_uint(w, 1);
        bw_cbor_put_bytes(w, vendor, 16);
    }
    bw_cbor_put_uint(w, 2);
    bw_cbor_put_bytes(w, klass, 16);
    bw_cbor_put_uint(w, 3);
    bw_cbor_put_bytes(w, d, dw.len);
    bw_cbor_put_uint(w, 14);
    bw_cbor_put_uint(w, f->image_size);
    if (f->params_extra) {
        bw_cbor_put_int(w, f->params_extra);
        bw_cbor_put_uint(w, 1);
    }
    bw_cbor_put_uint(w, 1);
    bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, 2);
    bw_cbor_put_uint(w, 15);
    if (f->extra_command) {
        bw_cbor_put_int(w, f->extra_command);
        bw_cbor_put_uint(w, 15);
    }
}

static size_t make_manifest(const struct mf *f, uint8_t *out, size_t cap)
{
    uint8_t shared[2048], common[2100];
    struct bw_wr w, sw, cw;
    int i;

    bw_wr_init(&sw, shared, sizeof(shared));
    if (f->shared)
        f->shared(&sw);
    else
        enc_shared(&sw, f);
    bw_wr_init(&cw, common, sizeof(common));
    bw_cbor_put_map(&cw, 2);
    bw_cbor_put_uint(&cw, 2);
    bw_cbor_put_array(&cw, (uint64_t)f->components);
    for (i = 0; i < f->components; i++) {
        bw_cbor_put_array(&cw, 1);
        bw_cbor_put_bytes(&cw, &i, 1);
    }
    bw_cbor_put_uint(&cw, 4);
    bw_cbor_put_bytes(&cw, shared, sw.len);
    bw_wr_init(&w, out, cap);
    bw_cbor_put_map(&w, 3 + (f->extra_manifest_key ? 1 : 0));
    bw_cbor_put_uint(&w, 1);
    bw_cbor_put_uint(&w, f->version);
    bw_cbor_put_uint(&w, 2);
    bw_cbor_put_uint(&w, 7);
    bw_cbor_put_uint(&w, 3);
    bw_cbor_put_bytes(&w, common, cw.len);
    if (f->extra_manifest_key) {
        bw_cbor_put_uint(&w, (uint64_t)f->extra_manifest_key);
        bw_cbor_put_uint(&w, 0);
    }
    CHECK(w.err == BW_OK);
    return w.len;
}

static const uint8_t vendor_b[16] = {0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
                                     0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb};

static void put_params(struct bw_wr *w, const uint8_t *v, int with_class)
{
    bw_cbor_put_uint(w, 20);
    bw_cbor_put_map(w, with_class ? 2 : 1);
    bw_cbor_put_uint(w, 1);
    bw_cbor_put_bytes(w, v, 16);
    if (with_class) {
        bw_cbor_put_uint(w, 2);
        bw_cbor_put_bytes(w, klass, 16);
    }
}

/* [20,{1:B,2:C}, 1,15, 2,15, 20,{1:A}]: the condition checked B. */
static void sh_override_after(struct bw_wr *w)
{
    bw_cbor_put_array(w, 8);
    put_params(w, vendor_b, 1);
    bw_cbor_put_uint(w, 1), bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, 2), bw_cbor_put_uint(w, 15);
    put_params(w, vendor, 0);
}

/* [1,15, 20,{1:A,2:C}]: a condition with nothing to compare. */
static void sh_cond_first(struct bw_wr *w)
{
    bw_cbor_put_array(w, 4);
    bw_cbor_put_uint(w, 1), bw_cbor_put_uint(w, 15);
    put_params(w, vendor, 1);
}

/* [20,{1:A,2:C}, 1,15, 2,15, 20,{1:B}, 1,15]: two vendors checked. */
static void sh_two_vendors(struct bw_wr *w)
{
    bw_cbor_put_array(w, 10);
    put_params(w, vendor, 1);
    bw_cbor_put_uint(w, 1), bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, 2), bw_cbor_put_uint(w, 15);
    put_params(w, vendor_b, 0);
    bw_cbor_put_uint(w, 1), bw_cbor_put_uint(w, 15);
}

/* [20,{1:A,2:C}, 19,{1:B}, 1,15, 2,15]: set-parameters keeps A. */
static void sh_set_keeps(struct bw_wr *w)
{
    bw_cbor_put_array(w, 8);
    put_params(w, vendor, 1);
    bw_cbor_put_uint(w, 19);
    bw_cbor_put_map(w, 1);
    bw_cbor_put_uint(w, 1);
    bw_cbor_put_bytes(w, vendor_b, 16);
    bw_cbor_put_uint(w, 1), bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, 2), bw_cbor_put_uint(w, 15);
}

/* Conditions compare the value that stood when they ran. */
static void condition_semantics(void)
{
    static const struct {
        const char *what;
        void (*shared)(struct bw_wr *w);
        bw_err parse, as_a, as_b;
    } cases[] = {
        {"override after the condition", sh_override_after, BW_OK, BW_E_VENDOR, BW_OK},
        {"condition before the parameter", sh_cond_first, BW_E_FORMAT, BW_OK, BW_OK},
        {"two vendors checked", sh_two_vendors, BW_OK, BW_E_VENDOR, BW_E_VENDOR},
        {"set-parameters does not override", sh_set_keeps, BW_OK, BW_OK, BW_E_VENDOR},
    };
    struct bw_ec_key k;
    uint8_t m[1024], env[2048];
    size_t i;

    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mf f = {1, 0, -16, 100, 0, 0, 1, 0, cases[i].shared};
        size_t ml = make_manifest(&f, m, sizeof(m));
        size_t el = sign_manifest(m, ml, &k, env, sizeof(env));
        struct bw_suit_expect ea = {vendor, NULL, 0}, eb = {vendor_b, NULL, 0};
        struct bw_suit s;
        bw_err rc = bw_suit_parse(env, el, &k, &s);

        if (rc != cases[i].parse)
            fprintf(stderr, "%s: parse %s\n", cases[i].what, bw_errname(rc));
        CHECK(rc == cases[i].parse);
        if (rc)
            continue;
        rc = bw_suit_check(&s, &ea);
        if (rc != cases[i].as_a)
            fprintf(stderr, "%s: as A %s\n", cases[i].what, bw_errname(rc));
        CHECK(rc == cases[i].as_a);
        rc = bw_suit_check(&s, &eb);
        if (rc != cases[i].as_b)
            fprintf(stderr, "%s: as B %s\n", cases[i].what, bw_errname(rc));
        CHECK(rc == cases[i].as_b);
    }
    bw_ec_key_clear(&k);
}

static void handmade(void)
{
    static const struct {
        const char *what;
        struct mf f;
        bw_err want;
    } cases[] = {
        {"baseline", {1, 0, -16, 100, 0, 0, 1, 0, NULL}, BW_OK},
        {"version 2", {2, 0, -16, 100, 0, 0, 1, 0, NULL}, BW_E_UNSUPPORTED},
        {"SHA-384 digest", {1, 0, -43, 100, 0, 0, 1, 0, NULL}, BW_E_ALG},
        {"image over 1 TiB", {1, 0, -16, (1ull << 40) + 1, 0, 0, 1, 0, NULL}, BW_E_TOOBIG},
        {"unknown manifest key 99", {1, 0, -16, 100, 99, 0, 1, 0, NULL}, BW_E_CRITICAL},
        {"unknown parameter 99", {1, 99, -16, 100, 0, 0, 1, 0, NULL}, BW_E_CRITICAL},
        {"vendor custom parameter", {1, -99, -16, 100, 0, 0, 1, 0, NULL}, BW_OK},
        {"unknown command 99", {1, 0, -16, 100, 0, 99, 1, 0, NULL}, BW_E_CRITICAL},
        {"custom command -5", {1, 0, -16, 100, 0, -5, 1, 0, NULL}, BW_E_CRITICAL},
        {"try-each without alternatives", {1, 0, -16, 100, 0, 15, 1, 0, NULL}, BW_E_FORMAT},
        {"abort", {1, 0, -16, 100, 0, 14, 1, 0, NULL}, BW_E_UNSUPPORTED},
        {"five components", {1, 0, -16, 100, 0, 0, 5, 0, NULL}, BW_E_TOOBIG},
        {"duplicate parameter", {1, 0, -16, 100, 0, 0, 1, 1, NULL}, BW_E_FORMAT},
    };
    struct bw_ec_key k;
    uint8_t m[1024], env[2048];
    size_t i;

    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t ml = make_manifest(&cases[i].f, m, sizeof(m));
        size_t el = sign_manifest(m, ml, &k, env, sizeof(env));
        struct bw_suit s;
        bw_err rc = bw_suit_parse(env, el, &k, &s);

        if (rc != cases[i].want)
            fprintf(stderr, "%s: got %s want %s\n", cases[i].what, bw_errname(rc),
                    bw_errname(cases[i].want));
        CHECK(rc == cases[i].want);
    }
    bw_ec_key_clear(&k);
}

/* ---- bulwark's own envelopes ----------------------------------------- */

static size_t build(const struct bw_suit_build *b, const struct bw_ec_key *k, uint8_t *out,
                    size_t cap)
{
    struct bw_wr w;
    size_t want;

    bw_wr_init(&w, NULL, 0);
    CHECK_RC(bw_suit_build(&w, b, k), BW_OK);
    want = w.len;
    bw_wr_init(&w, out, cap);
    CHECK_RC(bw_suit_build(&w, b, k), BW_OK);
    CHECK(w.len == want); /* the counting pass predicts the size */
    return w.len;
}

/* The compression parameter (-259): built and parsed back, an unknown
 * algorithm refused (fail closed), only with one chunked image. */
static void compression(void)
{
    uint8_t env[4096], env2[4096], m[2048];
    struct bw_suit_build b;
    struct bw_ec_key k;
    struct bw_suit s;
    struct bw_wr w;
    size_t n, i;
    int patched = 0;

    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    memset(&b, 0, sizeof(b));
    b.sequence = 1;
    b.vendor_id = vendor;
    b.class_id = klass;
    b.image_size = 100000;
    b.with_chunks = 1;
    b.chunk_size = BW_SUIT_CHUNK_SIZE;
    b.compress = BW_SUIT_COMPRESS_ZSTD_STREAM;
    memset(b.clen_digest, 0xc1, sizeof(b.clen_digest));
    n = build(&b, &k, env, sizeof(env));
    CHECK_RC(bw_suit_parse(env, n, &k, &s), BW_OK);
    CHECK(s.comp[0].has_compress && s.comp[0].compress_alg == BW_SUIT_COMPRESS_ZSTD_STREAM);
    CHECK(s.comp[0].clen_digest[0] == 0xc1 && s.comp[0].clen_digest[31] == 0xc1);
    /* [2, [-16, h'c1…']] with the algorithm made 3, signed again:
     * authenticated, and refused by the manifest parser */
    CHECK(s.manifest.len < sizeof(m));
    memcpy(m, s.manifest.p, s.manifest.len);
    for (i = 0; i + 7 < s.manifest.len && !patched; i++) {
        if (m[i] == 0x82 && m[i + 1] == 0x02 && m[i + 2] == 0x82 && m[i + 3] == 0x2f &&
            m[i + 6] == 0xc1) {
            m[i + 1] = 0x03;
            patched = 1;
        }
    }
    CHECK(patched);
    n = sign_manifest(m, s.manifest.len, &k, env2, sizeof(env2));
    CHECK_RC(bw_suit_parse(env2, n, &k, &s), BW_E_UNSUPPORTED);
    b.compress = 3;
    bw_wr_init(&w, NULL, 0);
    CHECK_RC(bw_suit_build(&w, &b, &k), BW_E_INVAL);
    b.compress = BW_SUIT_COMPRESS_ZSTD;
    b.with_chunks = 0;
    CHECK_RC(bw_suit_build(&w, &b, &k), BW_E_INVAL);
    bw_ec_key_clear(&k);
}

static void own(void)
{
    uint8_t env[4096], bad[4096], list[3 * 32], chunk[5000];
    struct bw_suit_build b;
    struct bw_suit_expect e;
    struct bw_ec_key k, other;
    struct bw_suit s;
    uint64_t nc, ll;
    size_t n, i, accepted = 0;
    uint8_t wrong[16];

    bw_ec_key_init(&k);
    bw_ec_key_init(&other);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    CHECK_RC(bw_ec_generate(&other), BW_OK);
    memset(&b, 0, sizeof(b));
    memset(chunk, 0x5a, sizeof(chunk));
    b.sequence = 42;
    b.vendor_id = vendor;
    b.class_id = klass;
    b.image_size = 4096 * 2 + 100;
    b.with_chunks = 1;
    b.chunk_size = 4096;
    for (i = 0; i < 3; i++)
        CHECK_RC(bw_sha256(chunk, i < 2 ? 4096 : 100, list + 32 * i), BW_OK);
    CHECK_RC(bw_sha256(list, sizeof(list), b.chunk_list_digest), BW_OK);
    memset(b.image_digest, 7, 32);
    n = build(&b, &k, env, sizeof(env));
    CHECK_RC(bw_cbor_wellformed(env, n, 0, NULL), BW_OK);

    CHECK_RC(bw_suit_parse(env, n, &k, &s), BW_OK);
    CHECK(s.authenticated && s.sequence == 42 && s.n_components == 1 && s.tagged);
    CHECK(s.comp[0].has_chunks && s.comp[0].chunk_size == 4096);
    CHECK(s.comp[0].cond_vendor == BW_SUIT_SEQ_SHARED && s.comp[0].cond_class == BW_SUIT_SEQ_SHARED);
    CHECK(s.comp[0].cond_image_match & BW_SUIT_SEQ_VALIDATE);
    CHECK(s.comp[0].cond_image_match & BW_SUIT_SEQ_INSTALL);
    CHECK(s.comp[0].id_parts == 1 && s.comp[0].id[0].len == 1 && s.comp[0].id[0].p[0] == 0);
    CHECK_RC(bw_suit_chunk_layout(&s, 0, &nc, &ll), BW_OK);
    CHECK(nc == 3 && ll == 96);
    CHECK_RC(bw_suit_chunk_list_check(&s, 0, list, sizeof(list)), BW_OK);
    CHECK_RC(bw_suit_chunk_list_check(&s, 0, list, 64), BW_E_SIZE);
    CHECK_RC(bw_suit_chunk_check(&s, 0, list, 0, chunk, 4096), BW_OK);
    CHECK_RC(bw_suit_chunk_check(&s, 0, list, 2, chunk, 100), BW_OK);
    CHECK_RC(bw_suit_chunk_check(&s, 0, list, 2, chunk, 101), BW_E_SIZE);
    CHECK_RC(bw_suit_chunk_check(&s, 0, list, 3, chunk, 100), BW_E_SIZE);
    chunk[17] ^= 1;
    CHECK_RC(bw_suit_chunk_check(&s, 0, list, 1, chunk, 4096), BW_E_CHUNK);
    chunk[17] ^= 1;
    list[40] ^= 1;
    CHECK_RC(bw_suit_chunk_list_check(&s, 0, list, sizeof(list)), BW_E_CHUNK);
    list[40] ^= 1;

    memset(&e, 0, sizeof(e));
    e.vendor_id = vendor;
    e.class_id = klass;
    e.min_sequence = 42;
    CHECK_RC(bw_suit_check(&s, &e), BW_OK);
    e.min_sequence = 43;
    CHECK_RC(bw_suit_check(&s, &e), BW_E_ROLLBACK);
    e.min_sequence = 0;
    memcpy(wrong, vendor, 16);
    wrong[15] ^= 1;
    e.vendor_id = wrong;
    CHECK_RC(bw_suit_check(&s, &e), BW_E_VENDOR);
    e.vendor_id = vendor;
    e.class_id = wrong;
    CHECK_RC(bw_suit_check(&s, &e), BW_E_CLASS);

    CHECK_RC(bw_suit_parse(env, n, &other, &s), BW_E_BADSIG);

    /* Every bit flip anywhere in the envelope is refused. */
    for (i = 0; i < n * 8; i++) {
        memcpy(bad, env, n);
        bad[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (bw_suit_parse(bad, n, &k, &s) == BW_OK) {
            fprintf(stderr, "bit %zu flipped: accepted\n", i);
            accepted++;
        }
    }
    CHECK(accepted == 0);
    /* Truncation at every length, and a trailing byte. */
    for (i = 0; i < n; i++)
        CHECK(bw_suit_parse(env, i, &k, &s) != BW_OK);
    memcpy(bad, env, n);
    bad[n] = 0;
    CHECK_RC(bw_suit_parse(bad, n + 1, &k, &s), BW_E_TRAILING);

    /* Integrated payload: carried in the envelope, checked by parse. */
    {
        static const char hello[] = "integrated payload bytes";
        uint8_t pl_env[1024];
        struct bw_suit_bytes pl;

        memset(&b, 0, sizeof(b));
        b.sequence = 1;
        b.vendor_id = vendor;
        b.class_id = klass;
        b.uri = "#fw";
        b.integrated = (const uint8_t *)hello;
        b.integrated_len = sizeof(hello);
        b.image_size = sizeof(hello);
        CHECK_RC(bw_sha256(hello, sizeof(hello), b.image_digest), BW_OK);
        n = build(&b, &k, pl_env, sizeof(pl_env));
        CHECK_RC(bw_suit_parse(pl_env, n, &k, &s), BW_OK);
        CHECK(s.n_payloads == 1);
        CHECK_RC(bw_suit_integrated(&s, 0, &pl), BW_OK);
        CHECK(pl.len == sizeof(hello) && !memcmp(pl.p, hello, pl.len));
        pl_env[n - 3] ^= 1; /* inside the payload */
        CHECK_RC(bw_suit_parse(pl_env, n, &k, &s), BW_E_DIGEST);
        /* a refused envelope leaves nothing usable behind */
        CHECK(!s.authenticated && s.n_components == 0 && s.n_payloads == 0);
        CHECK_RC(bw_suit_check(&s, &e), BW_E_STATE);
    }
    /* Builder input checks. */
    {
        struct bw_wr w;

        memset(&b, 0, sizeof(b));
        b.vendor_id = vendor;
        b.class_id = klass;
        b.with_chunks = 1;
        b.chunk_size = 1000; /* not a power of two */
        bw_wr_init(&w, env, sizeof(env));
        CHECK_RC(bw_suit_build(&w, &b, &k), BW_E_INVAL);
        b.chunk_size = 4096;
        bw_wr_init(&w, env, 10);
        CHECK_RC(bw_suit_build(&w, &b, &k), BW_E_NOMEM);
        {
            struct bw_ec_key pubonly;

            bw_ec_key_init(&pubonly);
            CHECK_RC(bw_ec_set_pub(&pubonly, k.pub, 65), BW_OK);
            bw_wr_init(&w, env, sizeof(env));
            CHECK_RC(bw_suit_build(&w, &b, &pubonly), BW_E_KEY);
            bw_ec_key_clear(&pubonly);
        }
    }
    bw_ec_key_clear(&k);
    bw_ec_key_clear(&other);
}

/* ---- try-each: the draft's A/B template ------------------------------ */

/* Example 3 (libcsuit's copy of the draft's "A/B images", signed with the
 * draft's key): try-each in the shared sequence picks digest and size, a
 * second one in install picks the URI, both by suit-condition-component-slot. */
static void example3(void)
{
    static const char *d1 = "0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff";
    struct bw_suit_expect e = {vendor, klass, 3};
    struct bw_ec_key k;
    struct bw_suit s;
    uint8_t want0[32], want1[32];
    unsigned char *b;
    size_t n;

    draft_key(&k);
    CHECK_RC(bw_unhex(want0, 32, d0), BW_OK);
    CHECK_RC(bw_unhex(want1, 32, d1), BW_OK);
    b = load_vec("libcsuit-ex3-es256", &n);
    CHECK_RC(bw_suit_parse(b, n, &k, &s), BW_OK);
    CHECK(s.authenticated && s.sequence == 3 && s.try_each && s.slot == BW_SUIT_SLOT_ANY);
    /* no slot chosen: no image parameters from either alternative */
    CHECK(!s.comp[0].has_digest && !s.comp[0].has_size && !s.comp[0].has_uri);
    CHECK_RC(bw_suit_check(&s, &e), BW_OK);
    CHECK_RC(bw_suit_select(&s, 0), BW_OK);
    CHECK(s.slot == 0 && s.authenticated);
    CHECK(s.comp[0].has_digest && !memcmp(s.comp[0].image_digest, want0, 32));
    CHECK(s.comp[0].has_size && s.comp[0].image_size == 34768);
    CHECK(s.comp[0].has_uri && s.comp[0].uri.len == 28 &&
          !memcmp(s.comp[0].uri.p, "http://example.com/file1.bin", 28));
    CHECK(s.comp[0].has_slot && s.comp[0].slot == 0);
    CHECK((s.comp[0].cond_image_match & BW_SUIT_SEQ_VALIDATE) &&
          (s.comp[0].cond_image_match & BW_SUIT_SEQ_INSTALL));
    CHECK_RC(bw_suit_check(&s, &e), BW_OK);
    CHECK_RC(bw_suit_select(&s, 1), BW_OK);
    CHECK(s.slot == 1);
    CHECK(s.comp[0].has_digest && !memcmp(s.comp[0].image_digest, want1, 32));
    CHECK(s.comp[0].has_size && s.comp[0].image_size == 76834);
    CHECK(s.comp[0].has_uri && s.comp[0].uri.len == 28 &&
          !memcmp(s.comp[0].uri.p, "http://example.com/file2.bin", 28));
    CHECK_RC(bw_suit_image_match(&s, 0, want1, 76834), BW_OK);
    CHECK_RC(bw_suit_image_match(&s, 0, want0, 34768), BW_E_SIZE);
    CHECK_RC(bw_suit_select(&s, 2), BW_E_INVAL);
    CHECK(!s.authenticated && !s.n_components); /* a refused selection clears s */
    /* authenticated before interpreted: a byte of the second alternative */
    b[n - 40] ^= 0x01;
    CHECK_RC(bw_suit_parse(b, n, &k, &s), BW_E_DIGEST);
    free(b);
    bw_ec_key_clear(&k);
}

static void put_digest_param(struct bw_wr *w, uint8_t fill)
{
    uint8_t d[48], img[32];
    struct bw_wr dw;

    memset(img, fill, sizeof(img));
    bw_wr_init(&dw, d, sizeof(d));
    bw_cbor_put_array(&dw, 2);
    bw_cbor_put_int(&dw, -16);
    bw_cbor_put_bytes(&dw, img, 32);
    bw_cbor_put_uint(w, 3);
    bw_cbor_put_bytes(w, d, dw.len);
}

/* One alternative: << [20,{5:slot}, 5,15, 20,{3:digest(fill), 14:size}] >>,
 * with_slot 0 leaves out the component-slot parameter. */
static void put_alt(struct bw_wr *w, uint64_t slot, uint8_t fill, int with_slot)
{
    uint8_t a[200];
    struct bw_wr aw;

    bw_wr_init(&aw, a, sizeof(a));
    bw_cbor_put_array(&aw, with_slot ? 6 : 4);
    if (with_slot) {
        bw_cbor_put_uint(&aw, 20);
        bw_cbor_put_map(&aw, 1);
        bw_cbor_put_uint(&aw, 5);
        bw_cbor_put_uint(&aw, slot);
    }
    bw_cbor_put_uint(&aw, 5), bw_cbor_put_uint(&aw, 15);
    bw_cbor_put_uint(&aw, 20);
    bw_cbor_put_map(&aw, 2);
    put_digest_param(&aw, fill);
    bw_cbor_put_uint(&aw, 14);
    bw_cbor_put_uint(&aw, 1000 + fill);
    CHECK(aw.err == BW_OK);
    bw_cbor_put_bytes(w, a, aw.len);
}

static int te_kind;

/* [20,{1:A,2:C}, 1,15, 2,15, 15, <try-each argument by te_kind>] */
static void sh_try_each(struct bw_wr *w)
{
    int i;

    bw_cbor_put_array(w, 8);
    put_params(w, vendor, 1);
    bw_cbor_put_uint(w, 1), bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, 2), bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, 15);
    switch (te_kind) {
    case 0: /* A/B */
        bw_cbor_put_array(w, 2);
        put_alt(w, 0, 0xaa, 1);
        put_alt(w, 1, 0xbb, 1);
        break;
    case 1: /* both for slot 0: nothing for B */
        bw_cbor_put_array(w, 2);
        put_alt(w, 0, 0xaa, 1);
        put_alt(w, 0, 0xbb, 1);
        break;
    case 2: /* slot 0, then nil: B passes with no image */
        bw_cbor_put_array(w, 2);
        put_alt(w, 0, 0xaa, 1);
        bw_cbor_put_simple(w, BW_CBOR_NULL);
        break;
    case 3: /* one alternative only */
        bw_cbor_put_array(w, 1);
        put_alt(w, 0, 0xaa, 1);
        break;
    case 4: /* an alternative that is not a byte string */
        bw_cbor_put_array(w, 2);
        put_alt(w, 0, 0xaa, 1);
        bw_cbor_put_uint(w, 7);
        break;
    case 5: /* nil not last */
        bw_cbor_put_array(w, 3);
        bw_cbor_put_simple(w, BW_CBOR_NULL);
        put_alt(w, 0, 0xaa, 1);
        put_alt(w, 1, 0xbb, 1);
        break;
    case 6: /* more alternatives than BW_SUIT_MAX_ALTERNATIVES */
        bw_cbor_put_array(w, BW_SUIT_MAX_ALTERNATIVES + 1);
        for (i = 0; i < BW_SUIT_MAX_ALTERNATIVES + 1; i++)
            put_alt(w, (uint64_t)i, (uint8_t)i, 1);
        break;
    case 7: /* a slot condition with no slot parameter */
        bw_cbor_put_array(w, 2);
        put_alt(w, 0, 0xaa, 0);
        put_alt(w, 1, 0xbb, 1);
        break;
    default: { /* try-each nested three deep */
        uint8_t in1[300], in2[400];
        struct bw_wr w1, w2;

        bw_wr_init(&w1, in1, sizeof(in1));
        bw_cbor_put_array(&w1, 2);
        bw_cbor_put_uint(&w1, 15);
        bw_cbor_put_array(&w1, 2);
        put_alt(&w1, 0, 0xaa, 1);
        put_alt(&w1, 1, 0xbb, 1);
        bw_wr_init(&w2, in2, sizeof(in2));
        bw_cbor_put_array(&w2, 2);
        bw_cbor_put_uint(&w2, 15);
        bw_cbor_put_array(&w2, 2);
        bw_cbor_put_bytes(&w2, in1, w1.len);
        bw_cbor_put_bytes(&w2, in1, w1.len);
        bw_cbor_put_array(w, 2);
        bw_cbor_put_bytes(w, in2, w2.len);
        bw_cbor_put_bytes(w, in2, w2.len);
        break;
    }
    }
}

static void try_each(void)
{
    static const struct {
        const char *what;
        bw_err parse, slot_a, slot_b;
        uint8_t fill_a, fill_b; /* 0: no image parameters for that slot */
    } cases[] = {
        {"A/B", BW_OK, BW_OK, BW_OK, 0xaa, 0xbb},
        {"no alternative for B", BW_OK, BW_OK, BW_E_NOTFOUND, 0xaa, 0},
        {"nil: B passes without an image", BW_OK, BW_OK, BW_OK, 0xaa, 0},
        {"one alternative", BW_E_FORMAT, 0, 0, 0, 0},
        {"alternative not a bstr", BW_E_FORMAT, 0, 0, 0, 0},
        {"nil not last", BW_E_FORMAT, 0, 0, 0, 0},
        {"too many alternatives", BW_E_TOOBIG, 0, 0, 0, 0},
        {"slot condition without slot", BW_E_FORMAT, 0, 0, 0, 0},
        {"nested three deep", BW_E_DEPTH, 0, 0, 0, 0},
    };
    struct bw_ec_key k;
    uint8_t m[2048], env[3072];
    size_t i;

    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mf f = {1, 0, -16, 100, 0, 0, 1, 0, sh_try_each};
        size_t ml, el;
        struct bw_suit s;
        bw_err rc;
        int slot;

        te_kind = (int)i;
        ml = make_manifest(&f, m, sizeof(m));
        el = sign_manifest(m, ml, &k, env, sizeof(env));
        rc = bw_suit_parse(env, el, &k, &s);
        if (rc != cases[i].parse)
            fprintf(stderr, "%s: parse %s\n", cases[i].what, bw_errname(rc));
        CHECK(rc == cases[i].parse);
        if (rc)
            continue;
        CHECK(s.try_each && !s.comp[0].has_digest);
        for (slot = 0; slot < 2; slot++) {
            bw_err want = slot ? cases[i].slot_b : cases[i].slot_a;
            uint8_t fill = slot ? cases[i].fill_b : cases[i].fill_a;

            CHECK_RC(bw_suit_parse(env, el, &k, &s), BW_OK);
            rc = bw_suit_select(&s, (uint8_t)slot);
            if (rc != want)
                fprintf(stderr, "%s: slot %d %s\n", cases[i].what, slot, bw_errname(rc));
            CHECK(rc == want);
            if (rc)
                continue;
            CHECK(s.comp[0].has_digest == (fill != 0));
            if (fill) {
                CHECK(s.comp[0].image_digest[0] == fill && s.comp[0].image_digest[31] == fill);
                CHECK(s.comp[0].image_size == 1000u + fill);
            }
        }
    }
    bw_ec_key_clear(&k);
}

/* ---- A/B install through the core stream ------------------------------ */

#define AB_SLOT 16384
static uint8_t ab_flash[2][AB_SLOT];
static struct bw_bootstate ab_saved;
static int ab_have_saved;

static bw_err mf_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    memcpy(buf, (uint8_t *)ctx + off, len);
    return BW_OK;
}

static bw_err mf_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    if (off + len > AB_SLOT)
        return BW_E_INVAL;
    memcpy((uint8_t *)ctx + off, buf, len);
    return BW_OK;
}

static bw_err mf_sync(void *ctx)
{
    (void)ctx;
    return BW_OK;
}

static bw_err ms_load(void *ctx, struct bw_bootstate *st)
{
    (void)ctx;
    if (!ab_have_saved)
        return BW_E_NOTFOUND;
    *st = ab_saved;
    return BW_OK;
}

static bw_err ms_save(void *ctx, const struct bw_bootstate *st)
{
    (void)ctx;
    ab_saved = *st;
    ab_have_saved = 1;
    return BW_OK;
}

/* bw_suit_build's A/B template, installed on a fresh device (slot A
 * active, so B is the target): the core refuses the manifest until it is
 * selected for B, then writes B's image and passes over A's section. */
static void ab_install(void)
{
    static uint8_t img[2][6000], pkg[2 * (6000 + 64)], env[1024];
    struct bw_flash fa = {ab_flash[0], AB_SLOT, 1, mf_read, mf_write, mf_sync};
    struct bw_flash fb = {ab_flash[1], AB_SLOT, 1, mf_read, mf_write, mf_sync};
    struct bw_bootstore bs = {NULL, ms_load, ms_save};
    static const uint64_t size[2] = {6000, 5000};
    uint8_t list[64], chunk[4096], target = 9;
    struct bw_suit_build b;
    struct bw_ec_key k;
    struct bw_install in;
    struct bw_update u;
    struct bw_suit s;
    struct bw_wr w;
    size_t el, pl = 0, i;

    memset(&b, 0, sizeof(b));
    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    b.sequence = 1;
    b.vendor_id = vendor;
    b.class_id = klass;
    b.with_chunks = 1;
    b.chunk_size = 4096;
    b.n_alt = 2;
    for (i = 0; i < 2; i++) {
        uint8_t l[64];
        size_t n = (size[i] + 4095) / 4096, j;

        memset(img[i], 'A' + (int)i, sizeof(img[i]));
        img[i][17] = (uint8_t)i;
        for (j = 0; j < n; j++) {
            size_t cl = j + 1 < n ? 4096 : size[i] - j * 4096;

            CHECK_RC(bw_sha256(img[i] + j * 4096, cl, l + 32 * j), BW_OK);
        }
        CHECK_RC(bw_sha256(l, 32 * n, b.alt[i].chunk_list_digest), BW_OK);
        CHECK_RC(bw_sha256(img[i], size[i], b.alt[i].image_digest), BW_OK);
        b.alt[i].image_size = size[i];
        b.alt[i].section_off = pl;
        memcpy(pkg + pl, l, 32 * n);
        memcpy(pkg + pl + 32 * n, img[i], size[i]);
        pl += 32 * n + size[i];
    }
    b.section_total = pl;
    /* the builder refuses a section that does not fit */
    b.alt[1].section_off = pl - 100;
    bw_wr_init(&w, env, sizeof(env));
    CHECK_RC(bw_suit_build(&w, &b, &k), BW_E_INVAL);
    b.alt[1].section_off = b.alt[0].section_off + 64 + 6000;
    bw_wr_init(&w, env, sizeof(env));
    CHECK_RC(bw_suit_build(&w, &b, &k), BW_OK);
    el = w.len;
    CHECK_RC(bw_suit_parse(env, el, &k, &s), BW_OK);
    CHECK(s.try_each && s.slot_cond && !s.comp[0].has_digest);

    memset(ab_flash, 0, sizeof(ab_flash));
    ab_have_saved = 0;
    CHECK_RC(bw_update_open(&u, &fa, &fb, &bs), BW_OK);
    /* not selected: the core refuses (verify-only too) */
    CHECK_RC(bw_install_begin(&in, &u, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_E_UNSUPPORTED); /* no image parameters at all */
    CHECK_RC(bw_install_begin(&in, NULL, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_E_UNSUPPORTED);
    CHECK_RC(bw_update_target(&u, &target), BW_OK);
    CHECK(target == BW_SLOT_B);
    /* selected for the other slot: refused before a byte is written */
    CHECK_RC(bw_suit_select(&s, BW_SLOT_A), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_E_STATE);
    CHECK_RC(bw_suit_select(&s, target), BW_OK);
    CHECK_RC(bw_install_begin(&in, &u, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_OK);
    CHECK(in.skip == 64 + 6000 && in.tail == 0);
    /* A's section damaged: passed over unread */
    pkg[100] ^= 0xff;
    for (i = 0; i < pl; i += 777)
        CHECK_RC(bw_install_feed(&in, pkg + i, pl - i < 777 ? pl - i : 777), BW_OK);
    CHECK_RC(bw_install_finish(&in), BW_OK);
    CHECK(!memcmp(ab_flash[1], img[1], 5000) && ab_flash[0][0] == 0);
    CHECK(u.st.trial == BW_SLOT_B && u.st.slot_size[BW_SLOT_B] == 5000);
    /* the trial pending: no target until it is confirmed or rolled back */
    CHECK_RC(bw_update_target(&u, &target), BW_E_STATE);
    /* for slot A the stream takes A's section and passes over B's: a
     * verify-only run of the damaged A section fails on that chunk */
    CHECK_RC(bw_suit_select(&s, BW_SLOT_A), BW_OK);
    CHECK_RC(bw_install_begin(&in, NULL, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_OK);
    CHECK(in.skip == 0 && in.tail == 64 + 5000);
    CHECK_RC(bw_install_feed(&in, pkg, pl), BW_E_CHUNK);
    pkg[100] ^= 0xff;
    CHECK_RC(bw_install_begin(&in, NULL, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_OK);
    CHECK_RC(bw_install_feed(&in, pkg, pl - 1), BW_OK);
    CHECK_RC(bw_install_finish(&in), BW_E_TRUNCATED); /* B's section cut short */
    CHECK_RC(bw_install_begin(&in, NULL, &s, NULL, list, sizeof(list), chunk, sizeof(chunk)),
             BW_OK);
    CHECK_RC(bw_install_feed(&in, pkg, pl), BW_OK);
    CHECK_RC(bw_install_feed(&in, pkg, 1), BW_E_TRAILING);
    bw_ec_key_clear(&k);
}

static void nesting(void)
{
    /* 107({2: [[[[...]]]]}): too deep for the decoder. */
    uint8_t b[64];
    struct bw_suit s;
    size_t i, n = 0;

    b[n++] = 0xd8;
    b[n++] = 107;
    b[n++] = 0xa1;
    b[n++] = 0x02;
    for (i = 0; i < 40; i++)
        b[n++] = 0x81;
    b[n++] = 0x00;
    CHECK_RC(bw_suit_parse(b, n, NULL, &s), BW_E_DEPTH);
    /* A byte string whose length runs past the input. */
    {
        static const uint8_t big[] = {0xd8, 0x6b, 0xa1, 0x02, 0x5a, 0x7f, 0xff, 0xff, 0xff, 0x00};

        CHECK_RC(bw_suit_parse(big, sizeof(big), NULL, &s), BW_E_TRUNCATED);
    }
    /* Wrong outer tag, wrong type, missing manifest. */
    {
        static const uint8_t tag[] = {0xd8, 0x6c, 0xa0};
        static const uint8_t arr[] = {0x80};
        static const uint8_t empty[] = {0xd8, 0x6b, 0xa0};
        static const uint8_t nkey[] = {0xd8, 0x6b, 0xa1, 0x20, 0x00};

        CHECK_RC(bw_suit_parse(tag, sizeof(tag), NULL, &s), BW_E_FORMAT);
        CHECK_RC(bw_suit_parse(arr, sizeof(arr), NULL, &s), BW_E_FORMAT);
        CHECK_RC(bw_suit_parse(empty, sizeof(empty), NULL, &s), BW_E_FORMAT);
        CHECK_RC(bw_suit_parse(nkey, sizeof(nkey), NULL, &s), BW_E_CRITICAL);
    }
}

/* bulwark's usual one-image build for the text-member tests */
static void text_base(struct bw_suit_build *b, uint64_t size, int chunks)
{
    memset(b, 0, sizeof(*b));
    b->sequence = 1;
    b->vendor_id = vendor;
    b->class_id = klass;
    b->image_size = size;
    b->with_chunks = chunks;
    b->chunk_size = chunks ? BW_SUIT_CHUNK_SIZE : 0;
}

/* A manifest of bulwark's (6 members) with text member `text` appended. */
static bw_err with_text(const uint8_t *text, size_t tlen, const struct bw_ec_key *k,
                        struct bw_suit *s, uint8_t *env, size_t cap)
{
    uint8_t base[4096], m[2048];
    struct bw_suit_build b;
    struct bw_suit p;
    size_t n;

    text_base(&b, 1000, 0);
    n = build(&b, k, base, sizeof(base));
    CHECK_RC(bw_suit_parse(base, n, k, &p), BW_OK);
    CHECK(p.manifest.len + tlen + 4 < sizeof(m) && p.manifest.p[0] == 0xa6);
    memcpy(m, p.manifest.p, p.manifest.len);
    m[0] = 0xa7;
    n = p.manifest.len;
    m[n++] = BW_SUIT_TEXT;
    if (tlen < 24) {
        m[n++] = (uint8_t)(0x40 | tlen);
    } else {
        m[n++] = 0x58; /* bstr, one-byte length */
        m[n++] = (uint8_t)tlen;
    }
    memcpy(m + n, text, tlen);
    n += tlen;
    n = sign_manifest(m, n, k, env, cap);
    return bw_suit_parse(env, n, k, s);
}

/* The SBOM digest in the text member (-257): built, parsed back and
 * exposed; other text keys skipped; a duplicate or a wrong algorithm
 * refused. */
static void sbom_text(void)
{
    uint8_t env[4096], sbom[BW_SHA256_LEN], t[80];
    struct bw_suit_build b;
    struct bw_ec_key k;
    struct bw_suit s;
    size_t n;

    bw_ec_key_init(&k);
    CHECK_RC(bw_ec_generate(&k), BW_OK);
    text_base(&b, 100000, 1);
    n = build(&b, &k, env, sizeof(env));
    CHECK_RC(bw_suit_parse(env, n, &k, &s), BW_OK);
    CHECK(!s.has_sbom);
    memset(sbom, 0x5b, sizeof(sbom));
    sbom[31] = 0x01;
    b.sbom_digest = sbom;
    n = build(&b, &k, env, sizeof(env));
    CHECK_RC(bw_suit_parse(env, n, &k, &s), BW_OK);
    CHECK(s.has_sbom && memcmp(s.sbom_digest, sbom, sizeof(sbom)) == 0);
    CHECK(s.seqs_present == (BW_SUIT_SEQ_SHARED | BW_SUIT_SEQ_VALIDATE | BW_SUIT_SEQ_INSTALL |
                             BW_SUIT_SEQ_INVOKE));

    CHECK(!s.security_only);
    b.security_only = 1;
    n = build(&b, &k, env, sizeof(env));
    CHECK_RC(bw_suit_parse(env, n, &k, &s), BW_OK);
    CHECK(s.has_sbom && s.security_only);
    b.sbom_digest = NULL;
    n = build(&b, &k, env, sizeof(env));
    CHECK_RC(bw_suit_parse(env, n, &k, &s), BW_OK);
    CHECK(!s.has_sbom && s.security_only);
    /* {-258: 1}: not a boolean */
    t[0] = 0xa1;
    t[1] = 0x39;
    t[2] = 0x01;
    t[3] = 0x01;
    t[4] = 0x01;
    CHECK_RC(with_text(t, 5, &k, &s, env, sizeof(env)), BW_E_FORMAT);
    t[4] = 0xf4; /* false */
    CHECK_RC(with_text(t, 5, &k, &s, env, sizeof(env)), BW_OK);
    CHECK(!s.security_only);

    /* {1: "x", -257: [-16, h'5b..'], 2: "y"}: the text keys are skipped */
    n = 0;
    t[n++] = 0xa3;
    t[n++] = 0x01;
    t[n++] = 0x61;
    t[n++] = 'x';
    t[n++] = 0x39;
    t[n++] = 0x01;
    t[n++] = 0x00;
    t[n++] = 0x82;
    t[n++] = 0x2f;
    t[n++] = 0x58;
    t[n++] = 0x20;
    memcpy(t + n, sbom, 32);
    n += 32;
    t[n++] = 0x02;
    t[n++] = 0x61;
    t[n++] = 'y';
    CHECK_RC(with_text(t, n, &k, &s, env, sizeof(env)), BW_OK);
    CHECK(s.has_sbom && memcmp(s.sbom_digest, sbom, sizeof(sbom)) == 0);
    /* the same digest twice */
    t[0] = 0xa2;
    memmove(t + 1, t + 4, 3 + 36);
    memcpy(t + 40, t + 1, 3 + 36);
    CHECK_RC(with_text(t, 1 + 2 * 39, &k, &s, env, sizeof(env)), BW_E_FORMAT);
    CHECK(!s.has_sbom); /* nothing of a refused envelope survives */
    /* SHA-512's algorithm id (-44) */
    t[0] = 0xa1;
    t[5] = 0x38;
    t[6] = 0x2b;
    CHECK_RC(with_text(t, 40, &k, &s, env, sizeof(env)), BW_E_ALG);
    /* a text member that is not a map */
    t[0] = 0x80;
    CHECK_RC(with_text(t, 1, &k, &s, env, sizeof(env)), BW_E_FORMAT);
    bw_ec_key_clear(&k);
}

int main(int argc, char **argv)
{
    vdir = argc > 1 ? argv[1] : "tests/vectors/suit";
    external();
    handmade();
    condition_semantics();
    own();
    compression();
    sbom_text();
    example3();
    try_each();
    ab_install();
    nesting();
    T_DONE();
}
