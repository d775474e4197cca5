/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The minimal JSON writer (include/bwh/host.h) shared by the bulwark CLI,
 * bulwark-agent and bulwark-gateway (access log, error bodies): one
 * escaping rule for every JSON string written by hand. Not a parser.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bwh/host.h"

/* c as it appears inside a JSON string; returns its length (1, 2 or 6) */
static size_t esc(unsigned char c, char out[7])
{
    static const char hexd[] = "0123456789abcdef";

    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = hexd[c >> 4];
        out[5] = hexd[c & 15];
        return 6;
    }
    out[0] = (char)c;
    return 1;
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

size_t bwh_json_escape(char *out, size_t cap, const char *s, size_t n)
{
    char e[7];
    size_t i, o = 0, m;

    if (!cap)
        return 0;
    for (i = 0; i < n; i++) {
        m = esc((unsigned char)s[i], e);
        if (o + m >= cap)
            break;
        memcpy(out + o, e, m);
        o += m;
    }
    out[o] = 0;
    return o;
}

void bwh_json_hex(FILE *f, const uint8_t *b, size_t n)
{
    size_t i;

    fputc('"', f);
    for (i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
    fputc('"', f);
}
