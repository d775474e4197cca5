/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host allocator's test hook (host/alloc.c): BW_FAIL_ALLOC=N fails the
 * N-th allocation of the process and every later one, counted across
 * threads, and a value that is not a count fails closed.
 *   test_alloc race             4 threads x 1,000,000 allocations
 *   test_alloc env VALUE FIRST  the first of 10 allocations that fails (0: none)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "bwh/host.h"
#include "t.h"

#define THREADS 4
#define PER_THREAD 1000000

static void *churn(void *arg)
{
    long *failed = arg;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        void *p = bwh_malloc(16);

        if (!p)
            (*failed)++;
        bwh_free(p);
    }
    return NULL;
}

/* Every one of THREADS * PER_THREAD allocations succeeds and the very next
 * one fails: a lost increment would let it through. */
static void race(void)
{
    pthread_t th[THREADS];
    long failed[THREADS] = {0};
    char at[32];
    void *p;
    int i;

    snprintf(at, sizeof(at), "%d", THREADS * PER_THREAD + 1);
    setenv("BW_FAIL_ALLOC", at, 1);
    for (i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, churn, &failed[i]) == 0);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(failed[i] == 0);
    }
    p = bwh_malloc(16);
    CHECK(p == NULL);
    bwh_free(p);
}

static void env(const char *value, int first)
{
    int i, got = 0;

    setenv("BW_FAIL_ALLOC", value, 1);
    for (i = 1; i <= 10; i++) {
        void *p = bwh_malloc(8);

        if (!p && !got)
            got = i;
        CHECK(got == 0 || !p); /* once failing, always failing */
        bwh_free(p);
    }
    if (got != first)
        fprintf(stderr, "BW_FAIL_ALLOC='%s': first failure %d, want %d\n", value, got, first);
    CHECK(got == first);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "race"))
        race();
    else if (argc == 4 && !strcmp(argv[1], "env"))
        env(argv[2], (int)strtol(argv[3], NULL, 10));
    else
        return 2;
    T_DONE();
}
