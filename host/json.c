/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The minimal JSON writer (cli.h) shared by the bulwark CLI and
 * bulwark-agent, which both print a device's state through device.c.
 */
#include <stdio.h>

#include "bwh/host.h"

void bwh_json_str(FILE *f, const char *s, size_t n)
{
    size_t i;

    fputc('"', f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void bwh_json_hex(FILE *f, const uint8_t *b, size_t n)
{
    size_t i;

    fputc('"', f);
    for (i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
    fputc('"', f);
}
