/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The minimal JSON writer (include/bwh/host.h) of the host programs: one
 * string escaper into a buffer, which the FILE writer also uses. Not a
 * parser (jansson reads JSON on the host, src/token/token.c in the core).
 */
#include <stdio.h>
#include <string.h>

#include "bulwark/core.h"
#include "bwh/host.h"

size_t bwh_json_esc(char *out, size_t cap, const char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[7];
        size_t k = 2;

        e[0] = '\\';
        if (c == '"' || c == '\\') {
            e[1] = (char)c;
        } else if (c == '\n') {
            e[1] = 'n';
        } else if (c == '\r') {
            e[1] = 'r';
        } else if (c == '\t') {
            e[1] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            e[1] = 'u';
            e[2] = e[3] = '0';
            bw_hex(e + 4, &c, 1);
            k = 6;
        } else {
            e[0] = (char)c;
            k = 1;
        }
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
    char buf[6 * 64 + 1];
    size_t i, k;

    fputc('"', f);
    for (i = 0; i < n; i += k) {
        k = n - i < 64 ? n - i : 64;
        fwrite(buf, 1, bwh_json_esc(buf, sizeof(buf), s + i, k), f);
    }
    fputc('"', f);
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
