// SPDX-License-Identifier: Apache-2.0
/*
 * TUF metadata files: the structure each role must have (spec 4.2 to
 * 4.6, as strict as python-tuf's model), the threshold of distinct keys
 * over the canonical bytes, and length/hash checks of a file against the
 * entry that describes it. The workflow that decides which file is
 * trusted is host/tuf.c.
 */
#define _GNU_SOURCE /* timegm */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bulwark/core.h"
#include "bwh/host.h"
#include "tuf_priv.h"

static const char *const top_roles[] = {"root", "timestamp", "snapshot", "targets"};

static int is_top_role(const char *name)
{
    size_t i;

    for (i = 0; i < 4; i++)
        if (!strcmp(name, top_roles[i]))
            return 1;
    return 0;
}

/* An integer field >= min (or absent when optional). */
static int int_field(const json_t *o, const char *k, json_int_t min, int optional)
{
    const json_t *v = json_object_get(o, k);

    if (!v)
        return optional;
    return json_is_integer(v) && json_integer_value(v) >= min;
}

static int str_field(const json_t *o, const char *k)
{
    return json_is_string(json_object_get(o, k));
}

/* An array of distinct strings. */
static int str_set(const json_t *a)
{
    size_t i, j;

    if (!json_is_array(a))
        return 0;
    for (i = 0; i < json_array_size(a); i++) {
        if (!json_is_string(json_array_get(a, i)))
            return 0;
        for (j = 0; j < i; j++)
            if (json_equal(json_array_get(a, i), json_array_get(a, j)))
                return 0;
    }
    return 1;
}

/* "2030-01-01T00:00:00Z" (spec 4.2): UTC, seconds, no fraction. */
static int parse_expires(const char *s, int64_t *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    struct tm tm;
    int y, mo, d, h, mi, se;
    size_t i;

    if (strlen(s) != sizeof(shape) - 1)
        return 0;
    for (i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
#define DIG(k) (s[k] - '0')
    y = DIG(0) * 1000 + DIG(1) * 100 + DIG(2) * 10 + DIG(3);
    mo = DIG(5) * 10 + DIG(6);
    d = DIG(8) * 10 + DIG(9);
    h = DIG(11) * 10 + DIG(12);
    mi = DIG(14) * 10 + DIG(15);
    se = DIG(17) * 10 + DIG(18);
#undef DIG
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
        return 0;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *t = (int64_t)timegm(&tm);
    return 1;
}

static int role_ok(const json_t *r)
{
    return json_is_object(r) && str_set(json_object_get(r, "keyids")) &&
           int_field(r, "threshold", 1, 0);
}

static int keys_ok(const json_t *keys)
{
    const char *id;
    json_t *k;

    if (!json_is_object(keys))
        return 0;
    json_object_foreach((json_t *)keys, id, k)
        if (!json_is_object(k) || !str_field(k, "keytype") || !str_field(k, "scheme") ||
            !json_is_object(json_object_get(k, "keyval")))
            return 0;
    return 1;
}

static int hashes_ok(const json_t *h, int optional)
{
    const char *alg;
    json_t *v;

    if (!h)
        return optional;
    if (!json_is_object(h) || !json_object_size(h))
        return 0;
    json_object_foreach((json_t *)h, alg, v)
        if (!json_is_string(v))
            return 0;
    return 1;
}

/* A METAFILES entry (spec 4.4): version, optional length and hashes. */
static int metafile_ok(const json_t *m)
{
    return json_is_object(m) && int_field(m, "version", 1, 0) && int_field(m, "length", 0, 1) &&
           hashes_ok(json_object_get(m, "hashes"), 1);
}

static int meta_ok(const json_t *meta)
{
    const char *name;
    json_t *m;

    if (!json_is_object(meta))
        return 0;
    json_object_foreach((json_t *)meta, name, m)
        if (!metafile_ok(m))
            return 0;
    return 1;
}

static const char *root_bad(const json_t *sg)
{
    const json_t *cs = json_object_get(sg, "consistent_snapshot"), *roles;
    size_t i;

    if (cs && !json_is_boolean(cs))
        return "consistent_snapshot is not a boolean";
    if (!keys_ok(json_object_get(sg, "keys")))
        return "bad keys";
    roles = json_object_get(sg, "roles");
    if (!json_is_object(roles) || json_object_size(roles) != 4)
        return "roles must be exactly root, timestamp, snapshot, targets";
    for (i = 0; i < 4; i++)
        if (!role_ok(json_object_get(roles, top_roles[i])))
            return "a top-level role is missing or malformed";
    return NULL;
}

static const char *delegations_bad(const json_t *d)
{
    const json_t *roles = json_object_get(d, "roles"), *succ = json_object_get(d, "succinct_roles");
    size_t i, j;

    if (!json_is_object(d) || !keys_ok(json_object_get(d, "keys")))
        return "bad delegations keys";
    if (!!roles == !!succ)
        return "delegations need exactly one of roles and succinct_roles";
    if (succ) {
        if (!role_ok(succ) || !int_field(succ, "bit_length", 1, 0) ||
            json_integer_value(json_object_get(succ, "bit_length")) > 32 ||
            !str_field(succ, "name_prefix"))
            return "bad succinct_roles";
        return NULL;
    }
    if (!json_is_array(roles))
        return "delegations roles is not a list";
    for (i = 0; i < json_array_size(roles); i++) {
        const json_t *r = json_array_get(roles, i), *paths, *prefixes;
        const char *name = json_string_value(json_object_get(r, "name"));

        if (!role_ok(r) || !name || !json_is_boolean(json_object_get(r, "terminating")))
            return "bad delegated role";
        if (is_top_role(name))
            return "a delegated role has a top-level role's name";
        paths = json_object_get(r, "paths");
        prefixes = json_object_get(r, "path_hash_prefixes");
        if (!!paths == !!prefixes)
            return "a delegated role needs exactly one of paths and path_hash_prefixes";
        if (!json_is_array(paths ? paths : prefixes))
            return "bad paths";
        for (j = 0; j < json_array_size(paths ? paths : prefixes); j++)
            if (!json_is_string(json_array_get(paths ? paths : prefixes, j)))
                return "bad paths";
        for (j = 0; j < i; j++)
            if (json_equal(json_object_get(json_array_get(roles, j), "name"),
                           json_object_get(r, "name")))
                return "a delegated role name appears twice";
    }
    return NULL;
}

static const char *targets_bad(const json_t *sg)
{
    const json_t *t = json_object_get(sg, "targets"), *d = json_object_get(sg, "delegations");
    const char *path;
    json_t *f;

    if (!json_is_object(t))
        return "targets is not an object";
    json_object_foreach((json_t *)t, path, f)
        if (!json_is_object(f) || !int_field(f, "length", 0, 0) ||
            !hashes_ok(json_object_get(f, "hashes"), 0))
            return "bad target entry";
    return d ? delegations_bad(d) : NULL;
}

static const char *signed_bad(struct bwh__tuf_md *m)
{
    const json_t *sg = m->sg, *meta;
    const char *s;
    size_t dots = 0;

    s = json_string_value(json_object_get(sg, "spec_version"));
    if (!s)
        return "spec_version missing";
    if (strncmp(s, "1.", 2) != 0)
        return "unsupported spec_version (major version 1 only)";
    for (; *s; s++)
        dots += *s == '.';
    if (dots < 1 || dots > 2)
        return "spec_version is not MAJOR.MINOR[.PATCH]";
    if (!int_field(sg, "version", 1, 0))
        return "version missing or below 1";
    m->version = (int64_t)json_integer_value(json_object_get(sg, "version"));
    s = json_string_value(json_object_get(sg, "expires"));
    if (!s || !parse_expires(s, &m->expires))
        return "expires missing or not YYYY-MM-DDTHH:MM:SSZ";
    if (!strcmp(m->type, "root"))
        return root_bad(sg);
    if (!strcmp(m->type, "targets"))
        return targets_bad(sg);
    meta = json_object_get(sg, "meta");
    if (!meta_ok(meta))
        return "bad meta";
    if (!strcmp(m->type, "timestamp") && !json_object_get(meta, "snapshot.json"))
        return "timestamp meta has no snapshot.json";
    return NULL;
}

void bwh__tuf_md_free(struct bwh__tuf_md *m)
{
    if (!m)
        return;
    bwh_free(m->raw);
    bwh_free(m->canon);
    json_decref(m->doc);
    bwh_free(m);
}

bw_err bwh__tuf_md_parse(const uint8_t *raw, size_t len, const char *want, struct bwh__tuf_md **out,
                        char *err, size_t cap)
{
    struct bwh__tuf_md *m;
    const char *type, *why;
    size_t i, j;
    bw_err rc;

    *out = NULL;
    m = bwh_calloc(1, sizeof(*m));
    if (!m)
        return BW_E_NOMEM;
    rc = BW_E_NOMEM;
    m->raw = bwh_malloc(len ? len : 1);
    if (!m->raw)
        goto out;
    memcpy(m->raw, raw, len);
    m->raw_len = len;
    rc = bwh__tuf_json_parse(raw, len, &m->doc, err, cap);
    if (rc)
        goto out;
    rc = BW_E_FORMAT;
    m->sg = json_object_get(m->doc, "signed");
    m->sigs = json_object_get(m->doc, "signatures");
    if (!json_is_object(m->sg) || !json_is_array(m->sigs)) {
        snprintf(err, cap, "no signed object or no signatures list");
        goto out;
    }
    for (i = 0; i < json_array_size(m->sigs); i++) {
        const json_t *s = json_array_get(m->sigs, i);

        if (!json_is_object(s) || !str_field(s, "keyid") || !str_field(s, "sig")) {
            snprintf(err, cap, "a signature is not {keyid, sig}");
            goto out;
        }
        for (j = 0; j < i; j++)
            if (json_equal(json_object_get(s, "keyid"),
                           json_object_get(json_array_get(m->sigs, j), "keyid"))) {
                snprintf(err, cap, "two signatures by keyid %s",
                         json_string_value(json_object_get(s, "keyid")));
                goto out;
            }
    }
    type = json_string_value(json_object_get(m->sg, "_type"));
    if (!type || !is_top_role(type)) {
        snprintf(err, cap, "_type missing or unknown");
        goto out;
    }
    if (want && strcmp(type, want) != 0) {
        snprintf(err, cap, "_type is %.20s, expected %s", type, want);
        goto out;
    }
    snprintf(m->type, sizeof(m->type), "%s", type);
    why = signed_bad(m);
    if (why) {
        snprintf(err, cap, "%s metadata: %s", m->type, why);
        goto out;
    }
    rc = bwh__tuf_json_canon(m->sg, &m->canon, &m->canon_len);
    if (rc) {
        snprintf(err, cap, "no canonical form");
        goto out;
    }
    rc = BW_OK;
out:
    if (rc)
        bwh__tuf_md_free(m);
    else
        *out = m;
    return rc;
}

const json_t *bwh__tuf_root_role(const struct bwh__tuf_md *root, const char *name)
{
    return json_object_get(json_object_get(root->sg, "roles"), name);
}

bw_err bwh__tuf_md_verify(const struct bwh__tuf_md *m, const json_t *keys, const json_t *role,
                         unsigned *verifies, char *err, size_t cap)
{
    const json_t *keyids = json_object_get(role, "keyids");
    json_int_t threshold = json_integer_value(json_object_get(role, "threshold"));
    json_int_t good = 0;
    size_t i, j;
    bw_err rc;

    /* signature keyids are distinct (md_parse) and so are role keyids */
    for (i = 0; i < json_array_size(m->sigs); i++) {
        const json_t *s = json_array_get(m->sigs, i), *key;
        const char *id = json_string_value(json_object_get(s, "keyid"));

        for (j = 0; j < json_array_size(keyids); j++)
            if (!strcmp(json_string_value(json_array_get(keyids, j)), id))
                break;
        key = json_object_get(keys, id);
        if (j == json_array_size(keyids) || !key)
            continue; /* not a key of this role */
        if (verifies)
            (*verifies)++;
        if (bwh__tuf_sig_verify(key, json_string_value(json_object_get(s, "sig")), m->canon,
                               m->canon_len) == BW_OK)
            good++;
    }
    rc = BW_E_BADSIG;
    if (threshold < 1 || good < threshold) {
        snprintf(err, cap, "%s v%lld: %lld of %lld required signatures", m->type,
                 (long long)m->version, (long long)good, (long long)threshold);
        goto out;
    }
    rc = BW_OK;
out:
    return rc;
}

bw_err bwh__tuf_check_file(const json_t *info, const uint8_t *b, size_t n, char *err, size_t cap)
{
    const json_t *len = json_object_get(info, "length"), *hashes = json_object_get(info, "hashes");
    const char *alg;
    json_t *want;

    if (len && (!json_is_integer(len) || json_integer_value(len) < 0 ||
                (uint64_t)json_integer_value(len) != (uint64_t)n)) {
        snprintf(err, cap, "length %zu, expected %lld", n, (long long)json_integer_value(len));
        return BW_E_DIGEST;
    }
    json_object_foreach((json_t *)hashes, alg, want) {
        const EVP_MD *md = !strcmp(alg, "sha256")   ? EVP_sha256()
                           : !strcmp(alg, "sha512") ? EVP_sha512()
                                                    : NULL;
        unsigned char d[EVP_MAX_MD_SIZE];
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        unsigned dl = 0;

        if (!md) {
            snprintf(err, cap, "unsupported hash algorithm %.40s", alg);
            return BW_E_UNSUPPORTED;
        }
        if (EVP_Digest(b, n, d, &dl, md, NULL) != 1)
            return BW_E_CRYPTO;
        bw_hex(hex, d, dl);
        if (!json_is_string(want) || strcmp(hex, json_string_value(want)) != 0) {
            snprintf(err, cap, "%s mismatch", alg);
            return BW_E_DIGEST;
        }
    }
    return BW_OK;
}
