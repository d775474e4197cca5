/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway/release.c: ingest of packages made by the real `bulwark sign`
 * (argv[1] is the CLI), refusal of every kind of damage with nothing left
 * in the blob store, dedup, blob paths, Range and ETag parsing.
 * Usage: test_release PATH-TO-bulwark
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bwh/host.h"
#include "release.h"
#include "t.h"

#define V_ID "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"
#define C_ID "1492af14-2569-5e48-bf42-9b2d51f2ab45"
#define IMG_SIZE 200000u /* 4 chunks of 64 KiB, the last one partial */
#define LIST_LEN (4u * 32u)

static char tdir[256];
static const char *cli;

/* Runs argv without a shell; returns the exit status (-1 if it died). */
static int run(char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void put(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");

    /* 0600 like the gateway's uploads: ingest must make the blob 0644 */
    if (!f || fchmod(fileno(f), 0600) != 0 || (n && fwrite(b, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static int n_files; /* nftw has no context pointer */

static int count_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p;
    (void)st;
    (void)ftw;
    if (flag != FTW_D && flag != FTW_DP)
        n_files++;
    return 0;
}

/* Files (anything but directories) below dir. */
static int count_files(const char *dir)
{
    n_files = 0;
    if (nftw(dir, count_cb, 16, FTW_PHYS) != 0 && errno != ENOENT)
        return -1;
    return n_files;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *dir)
{
    if (nftw(dir, rm_cb, 16, FTW_PHYS | FTW_DEPTH) != 0 && errno != ENOENT)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void sha_hex(const uint8_t *b, size_t n, char hex[65])
{
    uint8_t d[BW_SHA256_LEN];

    if (bw_sha256(b, n, d) != BW_OK)
        exit(2);
    bw_hex(hex, d, sizeof(d));
}

/* A fresh blob store with a tmp/ for uploads, as the gateway keeps it. */
static void fresh_store(const char *blobs, char *upload, size_t cap)
{
    char tmp[512];

    rm_rf(blobs);
    snprintf(tmp, sizeof(tmp), "%s/tmp", blobs);
    if (mkdir(blobs, 0750) != 0 || mkdir(tmp, 0700) != 0) {
        fprintf(stderr, "mkdir %s failed\n", tmp);
        exit(2);
    }
    if ((size_t)snprintf(upload, cap, "%.400s/upload", tmp) >= cap)
        exit(2);
}

struct ctx {
    struct bw_ec_key k1, k2;
    const struct bw_ec_key *good[2]; /* the wrong key first: any one verifies */
    const struct bw_ec_key *wrong[1];
    uint8_t vendor[16], klass[16], other[16];
    uint8_t *pkg;
    size_t pkg_len;
    char blobs[300];
};

/* Writes bytes as the upload into a fresh store, ingests, and checks the
 * result; for a refusal also that nothing is left in the store. */
static void refused(struct ctx *c, const char *what, const uint8_t *b, size_t n,
                    const struct bw_ec_key *const *keys, size_t nkeys, const uint8_t *vendor,
                    const uint8_t *klass, bw_err want)
{
    char upload[400];
    struct gw_release r;
    bw_err rc;

    fresh_store(c->blobs, upload, sizeof(upload));
    put(upload, b, n);
    rc = gw_release_ingest(upload, keys, nkeys, vendor, klass, c->blobs, "rel-1", "alice", &r);
    if (rc != want)
        fprintf(stderr, "%s: got %s, want %s\n", what, bw_errname(rc), bw_errname(want));
    CHECK(rc == want);
    CHECK(count_files(c->blobs) == 0);
    CHECK(access(upload, F_OK) != 0);
    CHECK(r.digest[0] == '\0' && r.size == 0);
}

static void test_refusals(struct ctx *c)
{
    size_t L = c->pkg_len, pay = L - IMG_SIZE, list = pay - LIST_LEN;
    uint8_t *m = malloc(L + 1);

    if (!m)
        exit(2);
#define MUT(what, len, want)                                                                     \
    refused(c, what, m, len, c->good, 2, c->vendor, c->klass, want);                             \
    memcpy(m, c->pkg, L)

    memcpy(m, c->pkg, L);
    refused(c, "wrong key", m, L, c->wrong, 1, c->vendor, c->klass, BW_E_BADSIG);
    refused(c, "wrong vendor", m, L, c->good, 2, c->other, c->klass, BW_E_VENDOR);
    refused(c, "wrong class", m, L, c->good, 2, c->vendor, c->other, BW_E_CLASS);

    m[pay + 70000] ^= 0x01;
    MUT("flipped payload byte, chunk 1", L, BW_E_CHUNK);
    m[L - 1] ^= 0x80;
    MUT("flipped last payload byte", L, BW_E_CHUNK);
    m[pay] ^= 0x01;
    MUT("flipped first payload byte", L, BW_E_CHUNK);
    m[list + 40] ^= 0x04;
    MUT("flipped chunk-list byte", L, BW_E_CHUNK);
    m[list + LIST_LEN - 1] ^= 0x01;
    MUT("flipped last chunk-list byte", L, BW_E_CHUNK);
    m[list - 1] ^= 0x01;
    MUT("flipped last envelope byte", L, BW_E_DIGEST);
    MUT("truncated by one byte", L - 1, BW_E_TRUNCATED);
    MUT("payload cut off", pay, BW_E_TRUNCATED);
    MUT("payload cut mid-chunk", pay + 100000, BW_E_TRUNCATED);
    MUT("chunk list cut", list + 10, BW_E_TRUNCATED);
    MUT("envelope cut", list / 2, BW_E_TRUNCATED);
    MUT("empty file", 0, BW_E_TRUNCATED);
    m[L] = 0;
    MUT("trailing byte", L + 1, BW_E_TRAILING);
#undef MUT
    refused(c, "nkeys 0", m, L, c->good, 0, c->vendor, c->klass, BW_E_INVAL);
    refused(c, "no vendor", m, L, c->good, 2, NULL, c->klass, BW_E_INVAL);
    free(m);
}

static void test_accept(struct ctx *c)
{
    char upload[400], path[512], hex[65], blob2[400];
    struct gw_release r, r2;
    struct stat st;
    size_t n;
    uint8_t *b;

    sha_hex(c->pkg, c->pkg_len, hex);
    fresh_store(c->blobs, upload, sizeof(upload));
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs, "fw-1.2.0",
                               "alice", &r),
             BW_OK);
    CHECK(strcmp(r.digest, hex) == 0);
    CHECK(r.size == (int64_t)c->pkg_len);
    CHECK(r.sequence == 7);
    CHECK(strcmp(r.vendor_id, V_ID) == 0);
    CHECK(strcmp(r.class_id, C_ID) == 0);
    CHECK(strcmp(r.name, "fw-1.2.0") == 0);
    CHECK(strcmp(r.uploaded_by, "alice") == 0);
    CHECK(r.id == 0 && r.created == 0);
    CHECK(access(upload, F_OK) != 0);
    CHECK_RC(gw_blob_path(c->blobs, r.digest, path, sizeof(path)), BW_OK);
    CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
    b = t_slurp(path, &n);
    CHECK(n == c->pkg_len && memcmp(b, c->pkg, n) == 0);
    free(b);
    CHECK(count_files(c->blobs) == 1);

    /* The same package again: same digest, still one blob. */
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs, "fw-1.2.0b",
                               "bob", &r2),
             BW_OK);
    CHECK(strcmp(r2.digest, r.digest) == 0 && r2.size == r.size);
    CHECK(strcmp(r2.uploaded_by, "bob") == 0);
    CHECK(count_files(c->blobs) == 1);
    CHECK(access(upload, F_OK) != 0);

    /* Only the right key given: also fine. */
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, &c->good[1], 1, c->vendor, c->klass, c->blobs, "x",
                               "alice", &r2),
             BW_OK);

    /* A blob under that name that cannot be the package: refused, kept. */
    put(path, (const uint8_t *)"x", 1);
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs, "x", "alice",
                               &r2),
             BW_E_TAMPER);
    CHECK(stat(path, &st) == 0 && st.st_size == 1);
    CHECK(access(upload, F_OK) != 0);

    /* Names: length and control characters. */
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs,
                               "0123456789012345678901234567890123456789012345678901234567890123"
                               "4",
                               "alice", &r2),
             BW_E_TOOBIG);
    CHECK(access(upload, F_OK) != 0);
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs, "a\nb", "alice",
                               &r2),
             BW_E_INVAL);
    put(upload, c->pkg, c->pkg_len);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs, "", "alice",
                               &r2),
             BW_E_INVAL);
    CHECK(access(upload, F_OK) != 0);

    /* An upload on another filesystem is copied, and the copy checked. */
    snprintf(blob2, sizeof(blob2), "/dev/shm/bw-release-%ld", (long)getpid());
    if (mkdir(blob2, 0700) == 0) {
        struct stat a, s2;
        char up2[460];

        snprintf(up2, sizeof(up2), "%s/upload", blob2);
        put(up2, c->pkg, c->pkg_len);
        rm_rf(c->blobs);
        if (stat(blob2, &s2) == 0 && stat(tdir, &a) == 0 && a.st_dev != s2.st_dev) {
            CHECK_RC(gw_release_ingest(up2, c->good, 2, c->vendor, c->klass, c->blobs,
                                       "fw-1.2.0", "alice", &r2),
                     BW_OK);
            CHECK(strcmp(r2.digest, hex) == 0);
            CHECK(access(up2, F_OK) != 0);
            CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
            b = t_slurp(path, &n);
            CHECK(n == c->pkg_len && memcmp(b, c->pkg, n) == 0);
            free(b);
            CHECK(count_files(c->blobs) == 1);
        } else {
            printf("note: /dev/shm is on the same filesystem; copy path not tested\n");
        }
        rm_rf(blob2);
    }
}

struct racer {
    struct ctx *c;
    char upload[400];
    struct gw_release r;
    bw_err rc;
};

static void *race_main(void *arg)
{
    struct racer *r = arg;

    r->rc = gw_release_ingest(r->upload, r->c->good, 2, r->c->vendor, r->c->klass, r->c->blobs,
                              "race", "alice", &r->r);
    return NULL;
}

/* Two workers ingest the same package at once: both succeed, one blob. */
static void test_race(struct ctx *c)
{
    struct racer r[4];
    pthread_t t[4];
    char upload[380];
    int i;

    fresh_store(c->blobs, upload, sizeof(upload));
    for (i = 0; i < 4; i++) {
        r[i].c = c;
        snprintf(r[i].upload, sizeof(r[i].upload), "%s.%d", upload, i);
        put(r[i].upload, c->pkg, c->pkg_len);
    }
    for (i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, race_main, &r[i]) == 0);
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_RC(r[i].rc, BW_OK);
        CHECK(strcmp(r[i].r.digest, r[0].r.digest) == 0);
    }
    CHECK(count_files(c->blobs) == 1);
}

static void test_integrated(struct ctx *c, const char *pkgpath)
{
    char upload[400], hex[65];
    struct gw_release r;
    size_t n;
    uint8_t *b = t_slurp(pkgpath, &n);

    sha_hex(b, n, hex);
    fresh_store(c->blobs, upload, sizeof(upload));
    put(upload, b, n);
    CHECK_RC(gw_release_ingest(upload, c->good, 2, c->vendor, c->klass, c->blobs, "small",
                               "alice", &r),
             BW_OK);
    CHECK(strcmp(r.digest, hex) == 0 && r.sequence == 9 && r.size == (int64_t)n);
    b[n - 1] ^= 1; /* inside the integrated payload, which the manifest digests */
    refused(c, "integrated payload flipped", b, n, c->good, 2, c->vendor, c->klass, BW_E_DIGEST);
    free(b);
}

static void test_blob_path(void)
{
    const char *good = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char out[256], small[20];

    CHECK_RC(gw_blob_path("/b", good, out, sizeof(out)), BW_OK);
    CHECK(strcmp(out, "/b/sha256/"
                      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") == 0);
    CHECK_RC(gw_blob_path("/b", "../etc/passwd", out, sizeof(out)), BW_E_INVAL);
    CHECK(out[0] == '\0');
    CHECK_RC(gw_blob_path("/b", "../../../../../../../../../../../../../../../../../../etc/passwd",
                          out, sizeof(out)),
             BW_E_INVAL);
    CHECK_RC(gw_blob_path("/b", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                          out, sizeof(out)),
             BW_E_INVAL);
    CHECK_RC(gw_blob_path("/b", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
                          out, sizeof(out)),
             BW_E_INVAL); /* 63 */
    CHECK_RC(gw_blob_path("/b", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
                          out, sizeof(out)),
             BW_E_INVAL); /* 65 */
    CHECK_RC(gw_blob_path("/b", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde/",
                          out, sizeof(out)),
             BW_E_INVAL);
    CHECK_RC(gw_blob_path("/b", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                          out, sizeof(out)),
             BW_E_INVAL);
    CHECK_RC(gw_blob_path("/b", "", out, sizeof(out)), BW_E_INVAL);
    CHECK_RC(gw_blob_path("/b", NULL, out, sizeof(out)), BW_E_INVAL);
    CHECK_RC(gw_blob_path("", good, out, sizeof(out)), BW_E_INVAL);
    CHECK_RC(gw_blob_path(NULL, good, out, sizeof(out)), BW_E_INVAL);
    CHECK_RC(gw_blob_path("/b", good, small, sizeof(small)), BW_E_NOMEM);
    CHECK(small[0] == '\0');
}

static void test_etag(void)
{
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char e[GW_ETAG_LEN + 1];

    CHECK_RC(gw_etag_format(hex, e), BW_OK);
    CHECK(strcmp(e, "\"sha256-"
                    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"") == 0);
    CHECK(strlen(e) == GW_ETAG_LEN);
    CHECK_RC(gw_etag_format("abc", e), BW_E_INVAL);
    CHECK(e[0] == '\0');
    CHECK_RC(gw_etag_format(hex, e), BW_OK);

    {
        char w[GW_ETAG_LEN + 8], lst[3 * GW_ETAG_LEN], pad[GW_ETAG_LEN + 8];

        snprintf(w, sizeof(w), "W/%s", e);
        snprintf(lst, sizeof(lst), "\"a\", W/\"b\" ,%s", e);
        snprintf(pad, sizeof(pad), " \t%s ", e);
        /* If-None-Match: weak comparison */
        CHECK(gw_etag_if_none_match(e, e) == 1);
        CHECK(gw_etag_if_none_match(w, e) == 1);
        CHECK(gw_etag_if_none_match(lst, e) == 1);
        CHECK(gw_etag_if_none_match(pad, e) == 1);
        CHECK(gw_etag_if_none_match("*", e) == 1);
        CHECK(gw_etag_if_none_match(" * ", e) == 1);
        CHECK(gw_etag_if_none_match("\"a\", \"b\"", e) == 0);
        CHECK(gw_etag_if_none_match("\"sha256-0123\"", e) == 0);
        CHECK(gw_etag_if_none_match("", e) == 0);
        CHECK(gw_etag_if_none_match(NULL, e) == 0);
        CHECK(gw_etag_if_none_match("*, \"a\"", e) == 0);
        CHECK(gw_etag_if_none_match(e + 1, e) == 0); /* no opening quote */
        snprintf(lst, sizeof(lst), "%.*s", (int)strlen(e) - 1, e);
        CHECK(gw_etag_if_none_match(lst, e) == 0); /* no closing quote */
        snprintf(lst, sizeof(lst), "%s, garbage", e);
        CHECK(gw_etag_if_none_match(lst, e) == 0); /* malformed list: no match at all */
        snprintf(lst, sizeof(lst), ",, %s ,", e);
        CHECK(gw_etag_if_none_match(lst, e) == 1); /* empty list elements are allowed */
        snprintf(lst, sizeof(lst), "w/%s", e);
        CHECK(gw_etag_if_none_match(lst, e) == 0); /* "W/" is case-sensitive */
        /* If-Range: strong comparison, one tag */
        CHECK(gw_etag_if_range(NULL, e) == 1);
        CHECK(gw_etag_if_range(e, e) == 1);
        CHECK(gw_etag_if_range(pad, e) == 1);
        CHECK(gw_etag_if_range(w, e) == 0);
        CHECK(gw_etag_if_range("*", e) == 0);
        CHECK(gw_etag_if_range("", e) == 0);
        snprintf(lst, sizeof(lst), "%s, \"a\"", e);
        CHECK(gw_etag_if_range(lst, e) == 0);
        CHECK(gw_etag_if_range("Wed, 21 Oct 2015 07:28:00 GMT", e) == 0);
        CHECK(gw_etag_if_range("\"a\"", e) == 0);
        CHECK(gw_etag_if_range(e, w) == 0); /* our own tag weak: never */
    }
}

struct rcase {
    const char *h;
    uint64_t size;
    bw_err want;
    uint64_t first, last;
};

static const struct rcase rcases[] = {
    {"bytes=0-0", 100, BW_OK, 0, 0},
    {"bytes=0-99", 100, BW_OK, 0, 99},
    {"bytes=0-", 100, BW_OK, 0, 99},
    {"bytes=10-19", 100, BW_OK, 10, 19},
    {"bytes=99-", 100, BW_OK, 99, 99},
    {"bytes=99-99", 100, BW_OK, 99, 99},
    {"bytes=50-1000", 100, BW_OK, 50, 99},
    {"bytes=0-18446744073709551615", 100, BW_OK, 0, 99},
    {"bytes=-1", 100, BW_OK, 99, 99},
    {"bytes=-10", 100, BW_OK, 90, 99},
    {"bytes=-100", 100, BW_OK, 0, 99},
    {"bytes=-101", 100, BW_OK, 0, 99},
    {"bytes=-18446744073709551615", 100, BW_OK, 0, 99},
    {"BYTES=1-2", 100, BW_OK, 1, 2},
    {"Bytes=1-2", 100, BW_OK, 1, 2},
    {" bytes=1-2 ", 100, BW_OK, 1, 2},
    {"\tbytes=1-2\t", 100, BW_OK, 1, 2},
    {"bytes=1-2,", 100, BW_OK, 1, 2},
    {"bytes=,1-2", 100, BW_OK, 1, 2},
    {"bytes=1-2 , ", 100, BW_OK, 1, 2},
    {"bytes=0001-0002", 100, BW_OK, 1, 2},
    {"bytes=00000000000000000000000000000001-2", 100, BW_OK, 1, 2},
    {"bytes=0-0", 1, BW_OK, 0, 0},
    {"bytes=-5", 1, BW_OK, 0, 0},
    {"bytes=18446744073709551614-", 18446744073709551615u, BW_OK, 18446744073709551614u,
     18446744073709551614u},
    {"bytes=-1", 18446744073709551615u, BW_OK, 18446744073709551614u, 18446744073709551614u},
    /* unsatisfiable: 416 */
    {"bytes=100-", 100, BW_E_SIZE, 0, 0},
    {"bytes=100-200", 100, BW_E_SIZE, 0, 0},
    {"bytes=18446744073709551615-", 100, BW_E_SIZE, 0, 0},
    {"bytes=-0", 100, BW_E_SIZE, 0, 0},
    {"bytes=-000", 100, BW_E_SIZE, 0, 0},
    {"bytes=0-0", 0, BW_E_SIZE, 0, 0},
    {"bytes=0-", 0, BW_E_SIZE, 0, 0},
    {"bytes=-1", 0, BW_E_SIZE, 0, 0},
    /* ignored: other unit, several ranges, no header */
    {NULL, 100, BW_E_NOTFOUND, 0, 0},
    {"items=0-1", 100, BW_E_NOTFOUND, 0, 0},
    {"bytesx=0-1", 100, BW_E_NOTFOUND, 0, 0},
    {"byte=0-1", 100, BW_E_NOTFOUND, 0, 0},
    {"bytes=0-1,2-3", 100, BW_E_NOTFOUND, 0, 0},
    {"bytes=0-1, 2-3", 100, BW_E_NOTFOUND, 0, 0},
    {"bytes=0-1 ,-5", 100, BW_E_NOTFOUND, 0, 0},
    {"bytes=0-1,0-1", 100, BW_E_NOTFOUND, 0, 0},
    {"bytes=0-1,2-3", 0, BW_E_NOTFOUND, 0, 0},
    /* malformed: ignored as well, but told apart */
    {"", 100, BW_E_FORMAT, 0, 0},
    {"   ", 100, BW_E_FORMAT, 0, 0},
    {"bytes", 100, BW_E_FORMAT, 0, 0},
    {"bytes=", 100, BW_E_FORMAT, 0, 0},
    {"bytes=,", 100, BW_E_FORMAT, 0, 0},
    {"bytes= ", 100, BW_E_FORMAT, 0, 0},
    {"=0-1", 100, BW_E_FORMAT, 0, 0},
    {"bytes =0-1", 100, BW_E_FORMAT, 0, 0},
    {"bytes= 0-1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0 -1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0- 1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=- 1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=5-4", 100, BW_E_FORMAT, 0, 0},
    {"bytes=5-4", 0, BW_E_FORMAT, 0, 0},
    {"bytes=-", 100, BW_E_FORMAT, 0, 0},
    {"bytes=--1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=+1-2", 100, BW_E_FORMAT, 0, 0},
    {"bytes=1-+2", 100, BW_E_FORMAT, 0, 0},
    {"bytes=-+1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=1", 100, BW_E_FORMAT, 0, 0},
    {"bytes=1-2-3", 100, BW_E_FORMAT, 0, 0},
    {"bytes=a-b", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0x10-0x20", 100, BW_E_FORMAT, 0, 0},
    {"bytes=1.5-2", 100, BW_E_FORMAT, 0, 0},
    {"bytes=18446744073709551616-", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0-18446744073709551616", 100, BW_E_FORMAT, 0, 0},
    {"bytes=-18446744073709551616", 100, BW_E_FORMAT, 0, 0},
    {"bytes=99999999999999999999999999999999-", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0-1,x", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0-1;2-3", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0-1\r\n", 100, BW_E_FORMAT, 0, 0},
    {"bytes=0-1 2-3", 100, BW_E_FORMAT, 0, 0},
    {"bytes==0-1", 100, BW_E_FORMAT, 0, 0},
    {"by tes=0-1", 100, BW_E_FORMAT, 0, 0},
    {"0-1", 100, BW_E_FORMAT, 0, 0},
};

/* An independent model for small numbers: what RFC 9110 says about one
 * int-range or suffix-range (a < 0: suffix of -a; b < 0: open). */
static bw_err model(int64_t a, int64_t b, uint64_t size, uint64_t *f, uint64_t *l)
{
    if (a >= 0 && b >= 0 && b < a)
        return BW_E_FORMAT;
    if (size == 0)
        return BW_E_SIZE;
    if (a < 0) {
        uint64_t n = (uint64_t)-a;

        if (n == 0)
            return BW_E_SIZE;
        *f = n >= size ? 0 : size - n;
        *l = size - 1;
        return BW_OK;
    }
    if ((uint64_t)a >= size)
        return BW_E_SIZE;
    *f = (uint64_t)a;
    *l = b < 0 || (uint64_t)b >= size ? size - 1 : (uint64_t)b;
    return BW_OK;
}

static void test_range(void)
{
    size_t i;
    int a, b, bad = 0, n = 0;
    uint64_t size, f, l;

    for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
        const struct rcase *r = &rcases[i];
        bw_err rc;

        f = l = 12345;
        rc = gw_range_parse(r->h, r->size, &f, &l);
        if (rc != r->want || f != r->first || l != r->last) {
            fprintf(stderr, "range \"%s\" size %" PRIu64 ": %s %" PRIu64 "-%" PRIu64
                            ", want %s %" PRIu64 "-%" PRIu64 "\n",
                    r->h ? r->h : "(null)", r->size, bw_errname(rc), f, l, bw_errname(r->want),
                    r->first, r->last);
            t_fail++;
        } else {
            t_pass++;
        }
    }
    printf("%zu range cases\n", sizeof(rcases) / sizeof(rcases[0]));
    /* Every small int-range, open range and suffix against the model. */
    for (size = 0; size < 8; size++) {
        for (a = -10; a < 10; a++) {
            for (b = -1; b < 10; b++) {
                char h[64];
                uint64_t mf = 0, ml = 0;
                bw_err want, got;

                if (a < 0 && b >= 0)
                    continue;
                if (a < 0)
                    snprintf(h, sizeof(h), "bytes=-%d", -a);
                else if (b < 0)
                    snprintf(h, sizeof(h), "bytes=%d-", a);
                else
                    snprintf(h, sizeof(h), "bytes=%d-%d", a, b);
                want = model(a, b, size, &mf, &ml);
                f = l = 777;
                got = gw_range_parse(h, size, &f, &l);
                n++;
                if (got != want || (want == BW_OK && (f != mf || l != ml)) ||
                    (want != BW_OK && (f || l))) {
                    if (bad++ < 5)
                        fprintf(stderr, "model: %s size %" PRIu64 ": %s, want %s\n", h, size,
                                bw_errname(got), bw_errname(want));
                }
            }
        }
    }
    printf("%d model cases, %d differ\n", n, bad);
    CHECK(bad == 0 && n > 500);
}

static void keygen(const char *k, const char *p)
{
    char *argv[] = {(char *)cli, "keygen", "--out", (char *)k, "--pub", (char *)p, NULL};

    if (run(argv) != 0) {
        fprintf(stderr, "bulwark keygen failed\n");
        exit(2);
    }
}

static void sign(const char *key, const char *img, const char *out, const char *seq, int integrated)
{
    char *argv[] = {(char *)cli, "sign", "--key", (char *)key, "--vendor-id", V_ID, "--class-id",
                    C_ID, "--sequence", (char *)seq, "--out", (char *)out,
                    integrated ? "--integrated" : (char *)img, integrated ? (char *)img : NULL,
                    NULL};

    if (run(argv) != 0) {
        fprintf(stderr, "bulwark sign %s failed\n", img);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    char k1[300], p1[300], k2[300], p2[300], img[300], pkg[300], small[300], spkg[300];
    static struct ctx c;
    uint8_t *image;
    uint32_t x = 2463534242u;
    size_t i;

    test_blob_path();
    test_etag();
    test_range();
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-bulwark\n", argv[0]);
        return 2;
    }
    cli = argv[1];
    snprintf(tdir, sizeof(tdir), "%s/bw-release-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tdir))
        return 2;
    snprintf(k1, sizeof(k1), "%s/k1.pem", tdir);
    snprintf(p1, sizeof(p1), "%s/p1.pem", tdir);
    snprintf(k2, sizeof(k2), "%s/k2.pem", tdir);
    snprintf(p2, sizeof(p2), "%s/p2.pem", tdir);
    snprintf(img, sizeof(img), "%s/image", tdir);
    snprintf(pkg, sizeof(pkg), "%s/image.pkg", tdir);
    snprintf(small, sizeof(small), "%s/small", tdir);
    snprintf(spkg, sizeof(spkg), "%s/small.cbor", tdir);
    snprintf(c.blobs, sizeof(c.blobs), "%s/blobs", tdir);
    keygen(k1, p1);
    keygen(k2, p2);
    image = malloc(IMG_SIZE);
    if (!image)
        return 2;
    for (i = 0; i < IMG_SIZE; i++) { /* xorshift32: incompressible, reproducible */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image[i] = (uint8_t)x;
    }
    put(img, image, IMG_SIZE);
    put(small, image, 3000);
    free(image);
    sign(k1, img, pkg, "7", 0);
    sign(k1, small, spkg, "9", 1);

    bw_ec_key_init(&c.k1);
    bw_ec_key_init(&c.k2);
    if (bwh_load_key(p1, 0, &c.k1) || bwh_load_key(p2, 0, &c.k2) ||
        bwh_uuid_parse(V_ID, c.vendor) || bwh_uuid_parse(C_ID, c.klass))
        return 2;
    memcpy(c.other, c.klass, 16);
    c.other[15] ^= 1;
    c.good[0] = &c.k2;
    c.good[1] = &c.k1;
    c.wrong[0] = &c.k2;
    c.pkg = t_slurp(pkg, &c.pkg_len);
    CHECK(c.pkg_len > IMG_SIZE + LIST_LEN);

    test_accept(&c);
    test_refusals(&c);
    test_race(&c);
    test_integrated(&c, spkg);

    free(c.pkg);
    bw_ec_key_clear(&c.k1);
    bw_ec_key_clear(&c.k2);
    rm_rf(tdir);
    T_DONE();
}
