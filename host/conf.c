/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table-driven "key = value" configuration loader (include/bwh/host.h)
 * behind device.conf, gateway.conf and agent.conf: one set of rules and
 * messages for every file the toolkit reads.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/host.h"

bw_err bwh_conf_set(void *conf, const struct bwh_conf_row *r, const char *v)
{
    char *base = (char *)conf + r->off;
    uint64_t n;
    bw_err rc = BW_OK;

    switch (r->type) {
    case BWH_CONF_STR:
    case BWH_CONF_PATH:
        if (strlen(v) >= r->cap)
            return BW_E_TOOBIG;
        if (r->type == BWH_CONF_PATH && !*v && !(r->def && !*r->def))
            return BW_E_FORMAT;
        strcpy(base, v);
        break;
    case BWH_CONF_U64:
        if (bwh_parse_u64(v, &n))
            return BW_E_FORMAT;
        memcpy(base, &n, sizeof(n));
        break;
    case BWH_CONF_UUID:
        rc = bwh_uuid_parse(v, (uint8_t *)base);
        break;
    case BWH_CONF_BOOL:
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
            *(int *)(void *)base = 1;
        else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
            *(int *)(void *)base = 0;
        else
            return BW_E_FORMAT;
        break;
    default:
        return BW_E_FORMAT;
    }
    if (!rc && r->check)
        rc = r->check(v);
    return rc;
}

void bwh_conf_get(const void *conf, const struct bwh_conf_row *r, char *out, size_t cap)
{
    const char *base = (const char *)conf + r->off;
    uint64_t v;

    switch (r->type) {
    case BWH_CONF_STR:
    case BWH_CONF_PATH:
        snprintf(out, cap, "%s", base);
        break;
    case BWH_CONF_U64:
        memcpy(&v, base, sizeof(v));
        snprintf(out, cap, "%" PRIu64, v);
        break;
    case BWH_CONF_UUID:
        if (cap >= 37)
            bwh_uuid_format(out, (const uint8_t *)base);
        else if (cap)
            *out = 0;
        break;
    case BWH_CONF_BOOL:
        snprintf(out, cap, "%s", *(const int *)(const void *)base ? "yes" : "no");
        break;
    default:
        if (cap)
            *out = 0;
    }
}

bw_err bwh_conf_load(void *conf, const struct bwh_conf_row *rows, size_t n, const char *path)
{
    uint8_t *buf = NULL;
    unsigned char *seen;
    size_t len, i;
    int line = 0;
    char *ln, *next;
    bw_err rc;

    seen = bwh_calloc(n ? n : 1, 1);
    if (!seen)
        return BW_E_NOMEM;
    rc = bwh_read_file(path, 1 << 20, &buf, &len);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, rc == BW_E_IO ? strerror(errno) : bw_strerror(rc));
        bwh_free(seen);
        return rc;
    }
    rc = BW_E_FORMAT;
    for (ln = (char *)buf; ln; ln = next) {
        char *k, *v;
        int kind;
        bw_err e;

        next = strchr(ln, '\n');
        if (next)
            *next++ = 0;
        line++;
        kind = bwh_conf_split(ln, &k, &v);
        if (kind == 0)
            continue;
        if (kind < 0) {
            fprintf(stderr, "%s:%d: expected 'key = value'\n", path, line);
            goto out;
        }
        for (i = 0; i < n && strcmp(rows[i].key, k); i++)
            ;
        if (i == n) {
            fprintf(stderr, "%s:%d: unknown option '%s' (--sample-config lists them)\n", path,
                    line, k);
            goto out;
        }
        if (seen[i]++) {
            fprintf(stderr, "%s:%d: '%s' given twice\n", path, line, k);
            goto out;
        }
        e = bwh_conf_set(conf, &rows[i], v);
        if (e) {
            fprintf(stderr, "%s:%d: %s: %s '%s' (%s)\n", path, line, k,
                    e == BW_E_UNSUPPORTED ? "unsupported value"
                    : e == BW_E_TOOBIG    ? "value too long"
                                          : "bad value",
                    v, rows[i].help);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        if (seen[i])
            continue;
        if (!rows[i].def) {
            fprintf(stderr, "%s: required option '%s' missing (%s)\n", path, rows[i].key,
                    rows[i].help);
            goto out;
        }
        if (bwh_conf_set(conf, &rows[i], rows[i].def)) {
            fprintf(stderr, "%s: the default of '%s' is not valid\n", path, rows[i].key);
            goto out;
        }
    }
    rc = BW_OK;
out:
    bwh_free(buf);
    bwh_free(seen);
    return rc;
}

void bwh_conf_sample(FILE *f, const struct bwh_conf_row *rows, size_t n, const char *header)
{
    size_t i;

    fputs(header, f);
    for (i = 0; i < n; i++) {
        const struct bwh_conf_row *r = &rows[i];

        if (r->def)
            fprintf(f, "\n# %s (default: %s)\n# %s = %s\n", r->help, *r->def ? r->def : "none",
                    r->key, r->def);
        else
            fprintf(f, "\n# %s (required)\n%s = %s\n", r->help, r->key,
                    r->example ? r->example : "");
    }
}
