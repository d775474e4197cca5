/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A very small test harness: CHECK counts, reports the failing line, and
 * T_DONE prints the "N passed, N failed" line that CI reads.
 */
#ifndef BW_T_H
#define BW_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (cond) {                                                                       \
            t_pass++;                                                                     \
        } else {                                                                          \
            t_fail++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);      \
        }                                                                                 \
    } while (0)

#define CHECK_RC(expr, want)                                                              \
    do {                                                                                  \
        bw_err t_rc_ = (expr);                                                            \
        if (t_rc_ == (want)) {                                                            \
            t_pass++;                                                                     \
        } else {                                                                          \
            t_fail++;                                                                     \
            fprintf(stderr, "%s:%d: %s returned %s, want %s\n", __FILE__, __LINE__, #expr, \
                    bw_errname(t_rc_), bw_errname(want));                                 \
        }                                                                                 \
    } while (0)

#define T_DONE()                                                                          \
    do {                                                                                  \
        printf("%d passed, %d failed\n", t_pass, t_fail);                                 \
        return t_fail ? 1 : 0;                                                            \
    } while (0)

/* Reads a whole file (test helper); aborts on failure. */
static inline unsigned char *t_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long n;

    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

/* Hex string -> malloc'd bytes; *len gets the byte count. */
static inline unsigned char *t_unhex(const char *hex, size_t *len)
{
    size_t n = 0, i;
    unsigned char *b = malloc(strlen(hex) / 2 + 1);

    for (i = 0; hex[i] && hex[i + 1]; i += 2) {
        unsigned v;

        if (hex[i] == '\n' || hex[i] == ' ')
            break;
        sscanf(hex + i, "%2x", &v);
        b[n++] = (unsigned char)v;
    }
    *len = n;
    return b;
}

#endif
