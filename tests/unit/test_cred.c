/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials: generated passwords (unique over 10,000 devices, uniform
 * letters, independent of the serial number), Argon2id against the
 * reference implementation's published encoded hash, and the throttle:
 * delay, lockout, persistence across a "restart" (reload), fail-closed
 * when the attempt cannot be recorded.
 * Usage: test_cred TMPDIR
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bwh/cred.h"

static int fails;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                  \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            fails++;                                                                              \
        }                                                                                         \
    } while (0)

#define N_DEV 10000
static char pw[N_DEV][BWH_CRED_GEN_LEN + 1];

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static const char letters[] = "abcdefghjkmnpqrstuvwxyz123456789";

static int letter_index(char c)
{
    const char *p = strchr(letters, c);

    return p && c ? (int)(p - letters) : -1;
}

/* Chi-square statistic of observed counts against a uniform expectation. */
static double chi2(const unsigned *obs, int k, double expect)
{
    double s = 0;
    int i;

    for (i = 0; i < k; i++)
        s += ((double)obs[i] - expect) * ((double)obs[i] - expect) / expect;
    return s;
}

static void test_generate(void)
{
    static char sorted[N_DEV][BWH_CRED_GEN_LEN + 1];
    unsigned pos[20][32], cont[16][32];
    double same = 0;
    int i, j, dups = 0, bad = 0, contains_serial = 0;

    memset(pos, 0, sizeof(pos));
    memset(cont, 0, sizeof(cont));
    CHECK(bwh_cred_generate(pw[0], BWH_CRED_GEN_LEN) == BW_E_NOMEM, "short buffer accepted");
    for (i = 0; i < N_DEV; i++) {
        char serial[16];
        int k = 0;

        CHECK(bwh_cred_generate(pw[i], sizeof(pw[i])) == BW_OK, "generate");
        if (strlen(pw[i]) != BWH_CRED_GEN_LEN)
            bad++;
        for (j = 0; j < BWH_CRED_GEN_LEN; j++) {
            if (j % 6 == 5) {
                bad += pw[i][j] != '-';
                continue;
            }
            if (letter_index(pw[i][j]) < 0) {
                bad++;
                continue;
            }
            pos[k++][letter_index(pw[i][j])]++;
        }
        /* device i has serial i: the password must not show it */
        snprintf(serial, sizeof(serial), "%d", 100000 + i);
        if (strstr(pw[i], serial))
            contains_serial++;
        cont[i % 16][letter_index(pw[i][0])]++;
        if (i) {
            int eq = 0;

            for (j = 0; j < BWH_CRED_GEN_LEN; j++)
                eq += pw[i][j] != '-' && pw[i][j] == pw[i - 1][j];
            same += eq;
        }
    }
    CHECK(bad == 0, "%d malformed passwords", bad);
    memcpy(sorted, pw, sizeof(sorted));
    qsort(sorted, N_DEV, sizeof(sorted[0]), cmp);
    for (i = 1; i < N_DEV; i++)
        dups += !strcmp(sorted[i], sorted[i - 1]);
    CHECK(dups == 0, "%d duplicate passwords among %d devices", dups, N_DEV);
    CHECK(contains_serial == 0, "%d passwords contain their serial", contains_serial);
    /* Each of the 20 positions uniform over 32 letters: chi-square with 31
     * degrees of freedom stays below 92 except with probability < 1e-7, so
     * that the 21 tests here fail a correct generator about twice in a
     * million runs (at 1e-4 each it was one run in 500); a letter never or
     * twice as often drawn adds hundreds. */
    for (j = 0; j < 20; j++) {
        double c = chi2(pos[j], 32, N_DEV / 32.0);

        CHECK(c < 92, "position %d not uniform: chi2 = %.1f", j, c);
    }
    /* Independence of serial and password: the 16x32 contingency table of
     * (serial mod 16, first letter) has chi-square near its 465 degrees of
     * freedom; a password derived from the serial would blow far past the
     * 1e-7 bound of about 642. */
    {
        unsigned row[16] = {0}, col[32] = {0};
        double s = 0;

        for (i = 0; i < 16; i++)
            for (j = 0; j < 32; j++) {
                row[i] += cont[i][j];
                col[j] += cont[i][j];
            }
        for (i = 0; i < 16; i++)
            for (j = 0; j < 32; j++) {
                double e = (double)row[i] * col[j] / N_DEV;

                s += (cont[i][j] - e) * (cont[i][j] - e) / e;
            }
        CHECK(s < 642, "first letter depends on the serial: chi2 = %.1f", s);
    }
    /* consecutive serials share about 20/32 positions by chance, no more */
    same /= (N_DEV - 1);
    CHECK(fabs(same - 20.0 / 32.0) < 0.1, "consecutive passwords share %.3f positions", same);
    printf("generate: %d passwords, no duplicates, uniform, independent of the serial\n", N_DEV);
}

static void test_hash(void)
{
    /* The Argon2 reference implementation's (phc-winner-argon2) encoded
     * Argon2id hash of "password" with salt "somesalt", t=2, m=64 MiB. */
    static const char ref[] =
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    struct bwh_cred_params cheap = {1, 1024, 1};
    char h[BWH_CRED_HASH_MAX], h2[BWH_CRED_HASH_MAX], bad[sizeof(ref)];

    CHECK(bwh_cred_check_hash(ref, "password") == BW_OK, "reference hash does not verify");
    CHECK(bwh_cred_check_hash(ref, "passwore") == BW_E_AUTH, "wrong password verifies");
    CHECK(bwh_cred_check_hash(ref, "") == BW_E_AUTH, "empty password verifies");
    memcpy(bad, ref, sizeof(ref));
    bad[sizeof(ref) - 3] ^= 1;
    CHECK(bwh_cred_check_hash(bad, "password") != BW_OK, "altered hash verifies");
    /* the reference Argon2i hash of "password" (salt "diffsalt"): a valid
     * hash of the wrong variant is refused, not verified */
    CHECK(bwh_cred_check_hash("$argon2i$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$"
                             "sDV8zPvvkfOGCw26RHsjSMvv7K2vmQq/6cxAcmxSEnE",
                             "password") == BW_E_FORMAT,
          "an Argon2i hash is accepted");
    CHECK(bwh_cred_check_hash("plain", "plain") == BW_E_FORMAT, "non-hash accepted");

    CHECK(bwh_cred_hash("correct horse", &cheap, h, sizeof(h)) == BW_OK, "hash");
    CHECK(bwh_cred_hash("correct horse", &cheap, h2, sizeof(h2)) == BW_OK && strcmp(h, h2),
          "two hashes of one password are equal: salt not random");
    CHECK(bwh_cred_check_hash(h, "correct horse") == BW_OK, "own hash");
    CHECK(bwh_cred_check_hash(h, "correct horsf") == BW_E_AUTH, "own hash, wrong password");
    CHECK(bwh_cred_hash("", &cheap, h, sizeof(h)) == BW_E_INVAL, "empty password hashed");
    CHECK(bwh_cred_hash("x", &cheap, h, 20) == BW_E_NOMEM, "short output buffer");
    CHECK(!strncmp(h2, "$argon2id$v=19$m=1024,t=1,p=1$", 30), "encoding: %s", h2);
}

static void test_throttle(const char *dir)
{
    struct bwh_cred_params cheap = {1, 1024, 1};
    struct bwh_cred_db db, db2;
    struct bwh_cred_user *u;
    char path[4200];
    uint64_t t = 1000000, retry;
    int i;
    FILE *f;

    snprintf(path, sizeof(path), "%s/credentials", dir);
    CHECK(bwh_cred_load(&db, path) == BW_OK && db.n == 0, "absent file = empty");
    CHECK(bwh_cred_set(&db, "admin", "short", &cheap, 1) == BW_E_INVAL, "short password set");
    CHECK(bwh_cred_set(&db, "bad name", "long enough pw", &cheap, 1) == BW_E_INVAL, "bad name");
    CHECK(bwh_cred_set(&db, "admin", "factory-pw-1234", &cheap, 1) == BW_OK, "set");
    {
        struct stat st;

        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "credentials mode");
    }
    /* wrong, then an immediate retry is refused without looking at pw */
    CHECK(bwh_cred_verify(&db, "admin", "nope", t, &retry) == BW_E_AUTH && retry == t + 2,
          "first failure: retry %llu", (unsigned long long)retry);
    CHECK(bwh_cred_verify(&db, "admin", "factory-pw-1234", t + 1, &retry) == BW_E_LOCKED,
          "correct password accepted during the delay");
    /* a restart does not reset the count */
    CHECK(bwh_cred_load(&db2, path) == BW_OK && bwh_cred_find(&db2, "admin")->failures == 1,
          "failure not persisted");
    CHECK(bwh_cred_verify(&db2, "admin", "nope", t + 2, &retry) == BW_E_AUTH && retry == t + 5,
          "second failure: delay 2 s (retry %llu)", (unsigned long long)retry);
    CHECK(bwh_cred_verify(&db2, "admin", "factory-pw-1234", t + 4, NULL) == BW_E_LOCKED,
          "accepted before the second delay ended");
    CHECK(bwh_cred_verify(&db2, "admin", "factory-pw-1234", t + 5, NULL) == BW_OK, "after delay");
    u = bwh_cred_find(&db2, "admin");
    CHECK(u->failures == 0 && u->next_allowed == 0, "success did not reset");
    CHECK(u->factory == 1, "factory flag lost");

    /* ten failures lock the account for 15 minutes */
    for (i = 0; i < BWH_CRED_LOCK_AFTER; i++) {
        CHECK(bwh_cred_verify(&db2, "admin", "wrong", t, &retry) == BW_E_AUTH, "failure %d", i);
        t = retry;
    }
    CHECK(bwh_cred_load(&db, path) == BW_OK, "reload");
    u = bwh_cred_find(&db, "admin");
    CHECK(u->locked_until >= BWH_CRED_LOCK_SECONDS && u->failures == BWH_CRED_LOCK_AFTER,
          "lock not persisted");
    CHECK(bwh_cred_verify(&db, "admin", "factory-pw-1234", u->locked_until - 100, &retry) ==
              BW_E_LOCKED,
          "correct password accepted while locked");
    CHECK(bwh_cred_verify(&db, "admin", "factory-pw-1234", u->locked_until, NULL) == BW_OK,
          "lock does not end");

    /* unknown user: same answer as a wrong password */
    CHECK(bwh_cred_verify(&db, "root", "factory-pw-1234", t, NULL) == BW_E_AUTH, "unknown user");

    /* a change clears the factory flag */
    CHECK(bwh_cred_set(&db, "admin", "user-chosen-pass", &cheap, 0) == BW_OK, "change");
    CHECK(bwh_cred_load(&db2, path) == BW_OK && bwh_cred_find(&db2, "admin")->factory == 0,
          "factory flag after change");

    /* fail closed when the attempt cannot be recorded */
    snprintf(db2.path, sizeof(db2.path), "%s/no/such/dir/credentials", dir);
    CHECK(bwh_cred_verify(&db2, "admin", "user-chosen-pass", t + 5000, NULL) == BW_E_IO,
          "check succeeded although the attempt was not recorded");

    /* parallel guesses are serialized: of 8 processes guessing at the same
     * moment, one gets its password checked, the others wait for the delay */
    {
        int auth = 0, locked = 0, k;

        CHECK(bwh_cred_set(&db, "admin", "user-chosen-pass", &cheap, 0) == BW_OK, "reset");
        for (k = 0; k < 8; k++) {
            pid_t p = fork();

            if (p == 0) {
                struct bwh_cred_db mine;
                bw_err e;

                if (bwh_cred_load(&mine, path))
                    _exit(99);
                e = bwh_cred_verify(&mine, "admin", "guess", t + 10000, NULL);
                _exit(e == BW_E_AUTH ? 1 : e == BW_E_LOCKED ? 2 : 3);
            }
        }
        for (k = 0; k < 8; k++) {
            int st = 0;

            wait(&st);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
                auth++;
            else if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
                locked++;
        }
        CHECK(auth == 1 && locked == 7, "parallel guesses: %d checked, %d refused", auth, locked);
        CHECK(bwh_cred_load(&db2, path) == BW_OK && bwh_cred_find(&db2, "admin")->failures == 1,
              "parallel failures lost");
    }

    /* malformed files */
    f = fopen(path, "w");
    fprintf(f, "admin:1:0:0:0:plaintext\n");
    fclose(f);
    CHECK(bwh_cred_load(&db, path) == BW_E_FORMAT, "plaintext password line accepted");
    f = fopen(path, "w");
    fprintf(f, "admin:1:0:0:0:%s\nadmin:0:0:0:0:%s\n", "$argon2id$x", "$argon2id$y");
    fclose(f);
    CHECK(bwh_cred_load(&db, path) == BW_E_FORMAT, "duplicate user accepted");
    f = fopen(path, "w");
    fprintf(f, "admin:2:0:0:0:$argon2id$x\n");
    fclose(f);
    CHECK(bwh_cred_load(&db, path) == BW_E_FORMAT, "factory flag 2 accepted");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_cred TMPDIR\n");
        return 2;
    }
    test_generate();
    test_hash();
    test_throttle(argv[1]);
    printf("%s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
