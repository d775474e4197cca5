/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one password check costs with the default Argon2id parameters
 * (bwh_cred_check_hash), against the same work done by a direct call into
 * libargon2 (argon2id_hash_raw) in the same process: the reference.
 * Prints one Markdown table row. Usage: bench_cred [RUNS] [T M_KIB LANES]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <argon2.h>

#include "bwh/cred.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct bwh_cred_params p = {BWH_CRED_T_DEFAULT, BWH_CRED_M_DEFAULT, BWH_CRED_LANES_DEFAULT};
    int runs = argc > 1 ? atoi(argv[1]) : 9, i;
    double ours[64], ref[64], t0;
    char enc[BWH_CRED_HASH_MAX];
    uint8_t salt[16] = {0}, out[32];
    const char *pw = "k7qzm-9bx3d-hw2tr-pa6ne";

    if (argc == 5) {
        p.t_cost = (uint32_t)atoi(argv[2]);
        p.m_kib = (uint32_t)atoi(argv[3]);
        p.lanes = (uint32_t)atoi(argv[4]);
    }
    if (runs < 1 || runs > 64)
        runs = 9;
    if (bwh_cred_hash(pw, &p, enc, sizeof(enc)) != BW_OK) {
        fprintf(stderr, "bench_cred: hash failed\n");
        return 1;
    }
    for (i = 0; i < runs; i++) {
        t0 = now();
        if (bwh_cred_check_hash(enc, pw) != BW_OK)
            return 1;
        ours[i] = now() - t0;
        t0 = now();
        if (argon2id_hash_raw(p.t_cost, p.m_kib, p.lanes, pw, strlen(pw), salt, sizeof(salt), out,
                              sizeof(out)) != ARGON2_OK)
            return 1;
        ref[i] = now() - t0;
    }
    qsort(ours, (size_t)runs, sizeof(double), cmpd);
    qsort(ref, (size_t)runs, sizeof(double), cmpd);
    printf("| Argon2id check t=%u m=%u KiB p=%u | %.1f ms | %.1f ms | %.2fx |\n", p.t_cost, p.m_kib,
           p.lanes, ours[runs / 2] * 1e3, ref[runs / 2] * 1e3, ours[runs / 2] / ref[runs / 2]);
    return 0;
}
