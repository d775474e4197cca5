// SPDX-License-Identifier: Apache-2.0
/*
 * Known-answer tests of the TUF client's parts that need no network:
 * canonical JSON against securesystemslib's output (vectors/canon), the
 * tuf-on-ci 0.11 metadata set (vectors/tuf-on-ci-0.11) checked as
 * published and refused when changed, percent-encoding of role names.
 * With --canon FILE it prints FILE's canonical form (for canon_check.py);
 * exit 3 when the strict reader refuses FILE.
 * Usage: test_tuf_kat VECTORS_DIR | test_tuf_kat --canon FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/host.h"
#include "bwh/tuf.h"

static int failures;

#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);       \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

static uint8_t *load(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    uint8_t *b = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (bwh_read_file(path, 1 << 20, &b, len) != BW_OK) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return b;
}

static void canon_vectors(const char *dir)
{
    static const char *const names[] = {"escapes", "order", "values", "keys_unicode"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[64], want[64];
        uint8_t *j, *w, *out = NULL;
        size_t jl, wl, ol = 0;

        snprintf(in, sizeof(in), "canon/%s.json", names[i]);
        snprintf(want, sizeof(want), "canon/%s.canon", names[i]);
        j = load(dir, in, &jl);
        w = load(dir, want, &wl);
        CHECK(bwh_tuf_canonical(j, jl, &out, &ol) == BW_OK);
        CHECK(out && ol == wl && !memcmp(out, w, wl));
        bwh_free(out);
        bwh_free(j);
        bwh_free(w);
    }
}

static bw_err canon_of(const char *s)
{
    uint8_t *out = NULL;
    size_t ol = 0;
    bw_err rc = bwh_tuf_canonical((const uint8_t *)s, strlen(s), &out, &ol);

    bwh_free(out);
    return rc;
}

static void strictness(void)
{
    CHECK(canon_of("{\"a\":1}") == BW_OK);
    CHECK(canon_of("{\"a\":1,\"a\":1}") == BW_E_FORMAT);  /* duplicate key */
    CHECK(canon_of("{\"a\":1.5}") == BW_E_FORMAT);        /* float */
    CHECK(canon_of("{\"a\":1e3}") == BW_E_FORMAT);
    CHECK(canon_of("{\"a\":\"\\u0000\"}") == BW_E_FORMAT); /* NUL */
    CHECK(canon_of("{\"a\":\"\xff\"}") == BW_E_FORMAT);    /* not UTF-8 */
    CHECK(canon_of("{\"a\":1} x") == BW_E_FORMAT);          /* trailing bytes */
    CHECK(canon_of("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                   "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]") ==
          BW_E_FORMAT); /* 68 deep */
}

/* The published tuf-on-ci set verifies as it is; a changed byte does not. */
static void tuf_on_ci(const char *dir)
{
    static const char *const names[] = {
        "tuf-on-ci-0.11/initial_root.json", "tuf-on-ci-0.11/metadata/timestamp.json",
        "tuf-on-ci-0.11/metadata/2.snapshot.json", "tuf-on-ci-0.11/metadata/1.targets.json",
        "tuf-on-ci-0.11/metadata/2.delegatedrole.json"};
    char err[300];
    uint8_t *b, *p;
    size_t i, n;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        b = load(dir, names[i], &n);
        CHECK(bwh_tuf_check(b, n, err, sizeof(err)) == BW_OK);
        bwh_free(b);
    }
    b = load(dir, names[0], &n);
    /* the root's expiry year changed: its own signature no longer holds */
    p = (uint8_t *)strstr((char *)b, "2044-08-10T10:05:04Z");
    CHECK(p != NULL);
    if (p) {
        p[3] = '5';
        CHECK(bwh_tuf_check(b, n, err, sizeof(err)) == BW_E_BADSIG);
        p[3] = '4';
    }
    /* whitespace does not change the canonical form */
    p = (uint8_t *)strstr((char *)b, "\"_type\": \"root\"");
    CHECK(p != NULL);
    if (p) {
        memcpy(p, "\"_type\":\"root\" ", 15);
        CHECK(bwh_tuf_check(b, n, err, sizeof(err)) == BW_OK);
    }
    bwh_free(b);
}

static void pct(void)
{
    char out[64];

    CHECK(bwh_tuf_pct("../delegatedrole", out, sizeof(out)) == BW_OK &&
          !strcmp(out, "..%2Fdelegatedrole"));
    CHECK(bwh_tuf_pct("?#/ a~_-.Z9", out, sizeof(out)) == BW_OK &&
          !strcmp(out, "%3F%23%2F%20a~_-.Z9"));
    CHECK(bwh_tuf_pct("\xc3\xa9", out, sizeof(out)) == BW_OK && !strcmp(out, "%C3%A9"));
    CHECK(bwh_tuf_pct("????", out, 12) == BW_E_NOMEM);
    CHECK(bwh_tuf_pct("???", out, 10) == BW_OK);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--canon")) {
        uint8_t *b = NULL, *out = NULL;
        size_t n = 0, ol = 0;

        if (bwh_read_file(argv[2], 1 << 20, &b, &n) != BW_OK)
            return 2;
        if (bwh_tuf_canonical(b, n, &out, &ol) != BW_OK) {
            bwh_free(b);
            return 3;
        }
        fwrite(out, 1, ol, stdout);
        bwh_free(out);
        bwh_free(b);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_tuf_kat VECTORS_DIR | --canon FILE\n");
        return 2;
    }
    canon_vectors(argv[1]);
    strictness();
    tuf_on_ci(argv[1]);
    pct();
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    else
        printf("test_tuf_kat: all checks passed\n");
    return failures ? 1 : 0;
}
