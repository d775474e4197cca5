// SPDX-License-Identifier: Apache-2.0
/*
 * The TUF client's JSON: a strict reader over jansson (duplicate keys,
 * floats, deep nesting refused) and the canonical writer whose bytes the
 * signatures cover (OLPC canonical JSON as securesystemslib writes it).
 * Not a general JSON library: no output but the canonical form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/host.h"
#include "tuf_priv.h"

#define DEPTH_MAX 64

/* Floats are not canonical JSON and never appear in TUF metadata. */
static int tree_ok(const json_t *v, unsigned depth)
{
    const char *k;
    json_t *c;
    size_t i;

    if (depth > DEPTH_MAX)
        return 0;
    if (json_is_real(v))
        return 0;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c)
            if (!tree_ok(c, depth + 1))
                return 0;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c)
            if (!tree_ok(c, depth + 1))
                return 0;
    }
    return 1;
}

bw_err bwh__tuf_json_parse(const uint8_t *buf, size_t len, json_t **out, char *err, size_t cap)
{
    json_error_t je;
    json_t *v;

    *out = NULL;
    v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        snprintf(err, cap, "not JSON: %s (line %d)", je.text, je.line);
        return BW_E_FORMAT;
    }
    if (!tree_ok(v, 0)) {
        snprintf(err, cap, "not canonical JSON: a float or nesting deeper than %d", DEPTH_MAX);
        json_decref(v);
        return BW_E_FORMAT;
    }
    *out = v;
    return BW_OK;
}

struct cbuf {
    uint8_t *p;
    size_t len, cap;
    int fail;
};

static void put(struct cbuf *b, const void *s, size_t n)
{
    if (b->fail || !n)
        return;
    if (b->cap - b->len < n) {
        size_t nc = b->cap ? b->cap : 256;
        uint8_t *np;

        while (nc - b->len < n) {
            if (nc > ((size_t)1 << 30)) {
                b->fail = 1;
                return;
            }
            nc *= 2;
        }
        np = bwh_realloc(b->p, nc);
        if (!np) {
            b->fail = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Only backslash and double quote are escaped; every other byte is raw. */
static void put_str(struct cbuf *b, const char *s, size_t n)
{
    size_t i, run = 0;

    put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            put(b, s + run, i - run);
            put(b, "\\", 1);
            run = i;
        }
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

static int key_cmp(const void *a, const void *b)
{
    /* byte order of UTF-8 is code point order */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void canon(struct cbuf *b, const json_t *v)
{
    char num[32];
    const char *k, **keys;
    json_t *c;
    size_t i, n;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        n = json_object_size(v);
        keys = n ? bwh_calloc(n, sizeof(*keys)) : NULL;
        if (n && !keys) {
            b->fail = 1;
            return;
        }
        i = 0;
        json_object_foreach((json_t *)v, k, c)
            keys[i++] = k;
        if (n > 1)
            qsort(keys, n, sizeof(*keys), key_cmp);
        put(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i)
                put(b, ",", 1);
            put_str(b, keys[i], strlen(keys[i]));
            put(b, ":", 1);
            canon(b, json_object_get(v, keys[i]));
        }
        put(b, "}", 1);
        bwh_free(keys);
        break;
    case JSON_ARRAY:
        put(b, "[", 1);
        json_array_foreach(v, i, c) {
            if (i)
                put(b, ",", 1);
            canon(b, c);
        }
        put(b, "]", 1);
        break;
    case JSON_STRING:
        put_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(b, num, n);
        break;
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
        break;
    default: /* JSON_REAL */
        b->fail = 2;
        break;
    }
}

bw_err bwh__tuf_json_canon(const json_t *v, uint8_t **out, size_t *out_len)
{
    struct cbuf b = {NULL, 0, 0, 0};

    *out = NULL;
    *out_len = 0;
    if (!tree_ok(v, 0))
        return BW_E_FORMAT;
    canon(&b, v);
    if (b.fail) {
        bwh_free(b.p);
        return b.fail == 2 ? BW_E_FORMAT : BW_E_NOMEM;
    }
    if (!b.p) /* cannot happen: every value writes a byte */
        return BW_E_NOMEM;
    *out = b.p;
    *out_len = b.len;
    return BW_OK;
}

bw_err bwh_tuf_canonical(const uint8_t *json, size_t len, uint8_t **out, size_t *out_len)
{
    char err[200];
    json_t *v;
    bw_err rc;

    *out = NULL;
    *out_len = 0;
    rc = bwh__tuf_json_parse(json, len, &v, err, sizeof(err));
    if (rc)
        return rc;
    rc = bwh__tuf_json_canon(v, out, out_len);
    json_decref(v);
    return rc;
}
