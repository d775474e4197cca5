/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The minimal JSON writer (include/bwh/host.h) shared by the bulwark CLI,
 * bulwark-agent and bulwark-gateway (access log, error bodies): one
 * escaping rule for every JSON string written by hand, into a buffer or
 * onto a FILE. Not a parser (jansson reads JSON on the host,
 * src/token/token.c in the core).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bulwark/core.h"
#include "bwh/host.h"

/* c as it appears inside a JSON string; returns its length (1, 2 or 6). */
static size_t esc(unsigned char c, char out[7])
{
    out[0] = '\\';
    if (c == '"' || c == '\\') {
        out[1] = (char)c;
        return 2;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
        out[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(out, "\\u00", 4);
        bw_hex(out + 4, &c, 1);
        return 6;
    }
    out[0] = (char)c;
    return 1;
}

size_t bwh_json_esc(char *out, size_t cap, const char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char e[7];
        size_t k = esc((unsigned char)s[i], e);

        if (o + k < cap)
            memcpy(out + o, e, k);
        else if (o < cap)
            cap = o + 1; /* the rest does not fit: stop writing, keep counting */
        o += k;
    }
    if (cap)
        out[o < cap ? o : cap - 1] = 0;
    return o;
}

void bwh_json_str(FILE *f, const char *s, size_t n)
{
    char e[7];
    size_t i, k, m;

    flockfile(f);
    putc_unlocked('"', f);
    for (i = 0; i < n; i++) {
        m = esc((unsigned char)s[i], e);
        for (k = 0; k < m; k++)
            putc_unlocked(e[k], f);
    }
    putc_unlocked('"', f);
    funlockfile(f);
}

void bwh_json_hex(FILE *f, const uint8_t *b, size_t n)
{
    char h[3];
    size_t i;

    fputc('"', f);
    for (i = 0; i < n; i++) {
        bw_hex(h, b + i, 1);
        fputs(h, f);
    }
    fputc('"', f);
}
