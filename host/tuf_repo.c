// SPDX-License-Identifier: Apache-2.0
/*
 * TUF repository tooling (include/bwh/tuf.h, `bulwark repo`): stages root
 * and targets metadata for offline signing by separate key holders,
 * merges their signatures, publishes what meets its threshold, signs the
 * online snapshot and timestamp roles, and reports expiry. It reuses the
 * client's strict parser, canonical writer and signature check (tuf_priv.h),
 * so what it writes is what the client reads. Not a server: DIR/metadata
 * and DIR/targets are served by any static web server.
 */
#define _GNU_SOURCE /* timegm */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "bulwark/core.h"
#include "bwh/host.h"
#include "bwh/identity.h"
#include "tuf_priv.h"

#define PATH_CAP 4096
#define SPEC "1.0.31"

static bw_err fail(char *err, size_t cap, bw_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bw_err fail(char *err, size_t cap, bw_err rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

static int path_of(char *out, const char *dir, const char *a, const char *b)
{
    int n = snprintf(out, PATH_CAP, "%s/%s%s%s", dir, a, b ? "/" : "", b ? b : "");

    return n > 0 && n < PATH_CAP;
}

static void expiry_s(int64_t seconds, char out[21])
{
    time_t t = time(NULL) + (time_t)seconds;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void expiry(unsigned days, char out[21])
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- keys ---- */

/* A signing key: a P-256 key file, or a device key through its backend. */
struct rkey {
    struct bw_ec_key ec;
    struct bwh_devkey *dk;
    struct bw_signer s;
};

static int is_uri(const char *s)
{
    return !strncmp(s, "pkcs11:", 7) || !strncmp(s, "tpm:", 4) || !strncmp(s, "file:", 5);
}

static bw_err rkey_open(struct rkey *k, const char *spec, char *err, size_t cap)
{
    bw_err rc;

    memset(k, 0, sizeof(*k));
    bw_ec_key_init(&k->ec);
    if (is_uri(spec)) {
        rc = bwh_devkey_open(spec, &k->dk);
        if (!rc)
            rc = bwh_devkey_signer(k->dk, &k->s);
        if (rc)
            return fail(err, cap, rc, "key %s: %s", spec,
                        k->dk && bwh_devkey_detail(k->dk)[0] ? bwh_devkey_detail(k->dk)
                                                             : bw_strerror(rc));
        return BW_OK;
    }
    rc = bwh_load_key(spec, 1, &k->ec);
    if (!rc)
        rc = bwh_signer_from_ec(&k->s, &k->ec);
    if (rc)
        return fail(err, cap, rc, "key %s: not a P-256 private key (%s)", spec, bw_strerror(rc));
    return BW_OK;
}

static void rkey_close(struct rkey *k)
{
    bw_ec_key_clear(&k->ec);
    bwh_devkey_close(k->dk);
    k->dk = NULL;
}

/* The TUF key object of a P-256 point and its keyid (64 hex + NUL). */
static bw_err key_object(const uint8_t pub[BW_P256_PUB_LEN], json_t **obj, char keyid[65])
{
    struct bw_ec_key k;
    uint8_t pem[512], d[BW_SHA256_LEN], *canon = NULL;
    size_t pl = 0, cl = 0;
    json_t *o = NULL;
    bw_err rc;

    *obj = NULL;
    bw_ec_key_init(&k);
    rc = bw_ec_set_pub(&k, pub, BW_P256_PUB_LEN);
    if (!rc)
        rc = bw_ec_export(&k, 0, 1, pem, sizeof(pem), &pl);
    bw_ec_key_clear(&k);
    if (rc)
        return rc;
    o = json_pack("{s:s, s:s, s:{s:s#}}", "keytype", "ecdsa", "scheme", "ecdsa-sha2-nistp256",
                  "keyval", "public", (const char *)pem, (int)pl);
    if (!o)
        return BW_E_NOMEM;
    rc = bwh__tuf_json_canon(o, &canon, &cl);
    if (!rc)
        rc = bw_sha256(canon, cl, d);
    bwh_free(canon);
    if (rc) {
        json_decref(o);
        return rc;
    }
    bw_hex(keyid, d, sizeof(d));
    *obj = o;
    return BW_OK;
}

/* A public key file as a key object; a private key file works too. */
static bw_err pub_object(const char *path, json_t **obj, char keyid[65], char *err, size_t cap)
{
    struct bw_ec_key k;
    bw_err rc;

    bw_ec_key_init(&k);
    rc = bwh_load_key(path, 0, &k);
    if (!rc)
        rc = key_object(k.pub, obj, keyid);
    bw_ec_key_clear(&k);
    if (rc)
        return fail(err, cap, rc == BW_E_IO ? BW_E_NOTFOUND : BW_E_KEY,
                    "%s: not a P-256 public key (%s)", path, bw_strerror(rc));
    return BW_OK;
}

/* ECDSA over SHA-256 of msg with k, as the DER hex securesystemslib writes. */
static bw_err sign_hex(struct rkey *k, const uint8_t *msg, size_t len, char **hex)
{
    uint8_t d[BW_SHA256_LEN], raw[BW_P256_SIG_LEN], der[BW_P256_DER_MAX];
    size_t dl;
    bw_err rc;

    *hex = NULL;
    rc = bw_sha256(msg, len, d);
    if (!rc)
        rc = k->s.sign(k->s.ctx, d, raw);
    if (rc)
        return rc;
    dl = bw_ecdsa_sig_der(der, raw);
    *hex = bwh_malloc(2 * dl + 1);
    if (!*hex)
        return BW_E_NOMEM;
    bw_hex(*hex, der, dl);
    return BW_OK;
}

/* ---- metadata files ---- */

/* o as indented JSON with sorted keys, NUL-ended, through bwh_malloc. */
/* o as JSON text ending in a newline: indented for people to read, or
 * compact (what every device fetches on every poll). */
static char *dump_as(const json_t *o, int compact)
{
    size_t f = (compact ? JSON_COMPACT : JSON_INDENT(1)) | JSON_SORT_KEYS;
    size_t n = json_dumpb(o, NULL, 0, f);
    char *s = n ? bwh_malloc(n + 2) : NULL;

    if (!s || json_dumpb(o, s, n, f) != n) {
        bwh_free(s);
        return NULL;
    }
    s[n] = '\n';
    s[n + 1] = 0;
    return s;
}

static char *dump(const json_t *o)
{
    return dump_as(o, 0);
}

static bw_err md_load(const char *path, const char *want, struct bwh__tuf_md **m, char *err,
                      size_t cap)
{
    uint8_t *b = NULL;
    size_t n = 0;
    char why[200];
    bw_err rc;

    *m = NULL;
    rc = bwh_read_file(path, BWH_TUF_TARGETS_MAX, &b, &n);
    if (rc)
        return fail(err, cap, rc == BW_E_IO && errno == ENOENT ? BW_E_NOTFOUND : rc, "%s: %s",
                    path, rc == BW_E_IO ? strerror(errno) : bw_strerror(rc));
    rc = bwh__tuf_md_parse(b, n, want, m, why, sizeof(why));
    bwh_free(b);
    if (rc)
        return fail(err, cap, rc, "%s: %s", path, why);
    return BW_OK;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* {"signed": sg, "signatures": sigs} written atomically (indented: clients
 * compute the canonical form themselves). Parsed back first, so nothing
 * the client would refuse is ever written. */
static bw_err md_write_as(const char *path, json_t *sg, json_t *sigs, int compact, char *err,
                         size_t cap)
{
    json_t *doc = json_pack("{s:O, s:O}", "signed", sg, "signatures", sigs);
    struct bwh__tuf_md *m = NULL;
    char *s = NULL, why[200];
    bw_err rc;

    rc = BW_E_NOMEM;
    if (!doc)
        goto out;
    s = dump_as(doc, compact);
    if (!s)
        goto out;
    rc = bwh__tuf_md_parse((const uint8_t *)s, strlen(s), NULL, &m, why, sizeof(why));
    if (rc) {
        rc = fail(err, cap, BW_E_FORMAT, "internal: would write bad metadata: %s", why);
        goto out;
    }
    rc = bwh_write_file_atomic(path, s, strlen(s), 0644);
    if (rc)
        rc = fail(err, cap, rc, "%s: %s", path, strerror(errno));
out:
    bwh__tuf_md_free(m);
    bwh_free(s);
    json_decref(doc);
    return rc;
}

static bw_err md_write(const char *path, json_t *sg, json_t *sigs, char *err, size_t cap)
{
    return md_write_as(path, sg, sigs, 0, err, cap);
}

/* The published root: DIR/metadata/root.json. */
static bw_err root_load(const char *dir, struct bwh__tuf_md **m, char *err, size_t cap)
{
    char p[PATH_CAP];

    if (!path_of(p, dir, "metadata", "root.json"))
        return fail(err, cap, BW_E_INVAL, "path too long");
    return md_load(p, "root", m, err, cap);
}

/* Signatures of m by distinct keys of role (keys: keyid -> key). */
static unsigned good_sigs(const struct bwh__tuf_md *m, const json_t *keys, const json_t *role)
{
    const json_t *ids = json_object_get(role, "keyids");
    unsigned good = 0;
    size_t i, j;

    for (i = 0; i < json_array_size(m->sigs); i++) {
        const json_t *s = json_array_get(m->sigs, i);
        const char *id = json_string_value(json_object_get(s, "keyid"));

        for (j = 0; j < json_array_size(ids); j++)
            if (!strcmp(json_string_value(json_array_get(ids, j)), id))
                break;
        if (j < json_array_size(ids) && json_object_get(keys, id) &&
            bwh__tuf_sig_verify(json_object_get(keys, id),
                               json_string_value(json_object_get(s, "sig")), m->canon,
                               m->canon_len) == BW_OK)
            good++;
    }
    return good;
}

static unsigned threshold_of(const json_t *role)
{
    return (unsigned)json_integer_value(json_object_get(role, "threshold"));
}

/* ---- init ---- */

static bw_err role_pack(json_t *roles, json_t *keys, const char *name, const char *const *pubs,
                        size_t n, unsigned threshold, char *err, size_t cap)
{
    json_t *ids = json_array(), *r;
    char id[65];
    size_t i;
    bw_err rc = BW_OK;

    if (!ids)
        return BW_E_NOMEM;
    for (i = 0; i < n && !rc; i++) {
        json_t *o = NULL;

        rc = pub_object(pubs[i], &o, id, err, cap);
        if (rc)
            break;
        for (size_t j = 0; j < json_array_size(ids); j++)
            if (!strcmp(json_string_value(json_array_get(ids, j)), id))
                rc = fail(err, cap, BW_E_INVAL, "%s role: key %s given twice", name, pubs[i]);
        if (!rc && (json_array_append_new(ids, json_string(id)) ||
                    json_object_set_new(keys, id, o)))
            rc = BW_E_NOMEM;
        else if (rc)
            json_decref(o);
    }
    if (rc) {
        json_decref(ids);
        return rc;
    }
    r = json_pack("{s:o, s:I}", "keyids", ids, "threshold", (json_int_t)threshold);
    if (!r || json_object_set_new(roles, name, r))
        return BW_E_NOMEM;
    return BW_OK;
}

static json_t *targets_new(unsigned days)
{
    char exp[21];

    expiry(days, exp);
    return json_pack("{s:s, s:s, s:i, s:s, s:{}}", "_type", "targets", "spec_version", SPEC,
                     "version", 1, "expires", exp, "targets");
}

bw_err bwh_tuf_repo_create(const char *dir, const struct bwh_tuf_repo_init *in, char *err,
                           size_t cap)
{
    json_t *keys = json_object(), *roles = json_object(), *root = NULL, *tg = NULL,
           *none = json_array();
    char p[PATH_CAP], exp[21];
    static const char *const sub[] = {"staged", "metadata", "targets"};
    size_t i;
    bw_err rc;

    rc = BW_E_NOMEM;
    if (!keys || !roles || !none)
        goto out;
    rc = fail(err, cap, BW_E_INVAL, "root needs 1 to %d keys and a threshold of 1 to their number",
              BWH_TUF_REPO_KEYS);
    if (!in->n_root || in->n_root > BWH_TUF_REPO_KEYS || !in->root_threshold ||
        in->root_threshold > in->n_root)
        goto out;
    rc = fail(err, cap, BW_E_INVAL, "the targets, snapshot and timestamp keys are required");
    if (!in->targets_pub || !in->snapshot_pub || !in->timestamp_pub)
        goto out;
    for (i = 0; i < 3; i++) {
        rc = fail(err, cap, BW_E_INVAL, "path too long");
        if (!path_of(p, dir, sub[i], NULL))
            goto out;
        rc = fail(err, cap, BW_E_EXISTS, "%s exists: %s is a repository already", p, dir);
        if (exists(p))
            goto out;
    }
    rc = role_pack(roles, keys, "root", in->root_pubs, in->n_root, in->root_threshold, err, cap);
    if (!rc)
        rc = role_pack(roles, keys, "targets", &in->targets_pub, 1, 1, err, cap);
    if (!rc)
        rc = role_pack(roles, keys, "snapshot", &in->snapshot_pub, 1, 1, err, cap);
    if (!rc)
        rc = role_pack(roles, keys, "timestamp", &in->timestamp_pub, 1, 1, err, cap);
    if (rc)
        goto out;
    expiry(in->root_days ? in->root_days : BWH_TUF_DAYS_ROOT, exp);
    rc = BW_E_NOMEM;
    root = json_pack("{s:s, s:s, s:i, s:s, s:b, s:O, s:O}", "_type", "root", "spec_version", SPEC,
                     "version", 1, "expires", exp, "consistent_snapshot", 1, "keys", keys,
                     "roles", roles);
    tg = targets_new(in->targets_days ? in->targets_days : BWH_TUF_DAYS_TARGETS);
    if (!root || !tg)
        goto out;
    rc = fail(err, cap, BW_E_IO, "%s: %s", dir, strerror(errno));
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        goto out;
    for (i = 0; i < 3; i++) {
        (void)path_of(p, dir, sub[i], NULL);
        if (mkdir(p, 0755) != 0) {
            rc = fail(err, cap, BW_E_IO, "%s: %s", p, strerror(errno));
            goto out;
        }
    }
    (void)path_of(p, dir, "staged", "root.json");
    rc = md_write(p, root, none, err, cap);
    (void)path_of(p, dir, "staged", "targets.json");
    if (!rc)
        rc = md_write(p, tg, none, err, cap);
out:
    json_decref(keys);
    json_decref(roles);
    json_decref(root);
    json_decref(tg);
    json_decref(none);
    return rc;
}

/* ---- sign ---- */

/* What a holder is about to sign, so that they sign what they reviewed. */
static void summary(FILE *log, const struct bwh__tuf_md *m)
{
    const json_t *roles = json_object_get(m->sg, "roles"), *t, *v;
    const char *name;
    size_t i;

    fprintf(log, "%s version %lld, expires %s\n", m->type, (long long)m->version,
            json_string_value(json_object_get(m->sg, "expires")));
    json_object_foreach((json_t *)roles, name, t) {
        fprintf(log, "  role %-9s threshold %u of", name, threshold_of(t));
        json_array_foreach(json_object_get(t, "keyids"), i, v)
            fprintf(log, " %.16s", json_string_value(v));
        fputc('\n', log);
    }
    json_object_foreach(json_object_get(m->sg, "targets"), name, t) {
        fprintf(log, "  target %s: %lld bytes, sha256 %.16s..., custom ", name,
                (long long)json_integer_value(json_object_get(t, "length")),
                json_string_value(json_object_get(json_object_get(t, "hashes"), "sha256")));
        if (json_dumpf(json_object_get(t, "custom"), log, JSON_COMPACT | JSON_SORT_KEYS) != 0)
            fputs("none", log);
        fputc('\n', log);
    }
}

bw_err bwh_tuf_repo_sign(const char *rolefile, const char *key, char **out, FILE *log,
                         char *err, size_t cap)
{
    struct bwh__tuf_md *m = NULL;
    struct rkey k;
    json_t *o = NULL, *kobj = NULL;
    uint8_t d[BW_SHA256_LEN];
    char id[65], dh[65], *sig = NULL;
    bw_err rc;

    *out = NULL;
    memset(&k, 0, sizeof(k));
    rc = md_load(rolefile, NULL, &m, err, cap);
    if (rc)
        goto out;
    rc = rkey_open(&k, key, err, cap);
    if (rc)
        goto out;
    if (log)
        summary(log, m);
    rc = key_object(k.s.pub, &kobj, id);
    if (!rc)
        rc = bw_sha256(m->canon, m->canon_len, d);
    if (!rc)
        rc = sign_hex(&k, m->canon, m->canon_len, &sig);
    if (rc) {
        rc = fail(err, cap, rc, "signing failed: %s", bw_strerror(rc));
        goto out;
    }
    /* check our own work before anyone relies on it */
    rc = fail(err, cap, BW_E_BADSIG, "the key made a signature that does not verify");
    if (bwh__tuf_sig_verify(kobj, sig, m->canon, m->canon_len) != BW_OK)
        goto out;
    bw_hex(dh, d, sizeof(d));
    rc = BW_E_NOMEM;
    o = json_pack("{s:s, s:I, s:s, s:s, s:s}", "role", m->type, "version",
                  (json_int_t)m->version, "signed_sha256", dh, "keyid", id, "sig", sig);
    if (!o)
        goto out;
    *out = dump(o);
    if (!*out)
        goto out;
    rc = BW_OK;
out:
    rkey_close(&k);
    json_decref(o);
    json_decref(kobj);
    bwh_free(sig);
    bwh__tuf_md_free(m);
    return rc;
}

/* ---- merge ---- */

/* Who may sign staged metadata m: the keys and role(s). For a root: its
 * own root role and, past version 1, the published previous root's. */
struct signers {
    const json_t *keys[2], *role[2];
    unsigned n;
};

static bw_err signers_of(const char *dir, const struct bwh__tuf_md *m, struct bwh__tuf_md **pub,
                         struct signers *s, char *err, size_t cap)
{
    bw_err rc;

    memset(s, 0, sizeof(*s));
    *pub = NULL;
    if (!strcmp(m->type, "root")) {
        s->keys[0] = json_object_get(m->sg, "keys");
        s->role[0] = bwh__tuf_root_role(m, "root");
        s->n = 1;
        if (m->version == 1)
            return BW_OK;
    }
    rc = root_load(dir, pub, err, cap);
    if (rc)
        return rc;
    if (!strcmp(m->type, "root")) {
        if ((*pub)->version != m->version - 1)
            return fail(err, cap, BW_E_STATE, "staged root is version %lld but the published one "
                        "is %lld", (long long)m->version, (long long)(*pub)->version);
    }
    s->keys[s->n] = json_object_get((*pub)->sg, "keys");
    s->role[s->n] = bwh__tuf_root_role(*pub, m->type);
    s->n++;
    return BW_OK;
}

static int met(const struct bwh__tuf_md *m, const struct signers *s, char *state, size_t cap)
{
    unsigned i, ok = 1;
    size_t n = 0;

    state[0] = 0;
    for (i = 0; i < s->n; i++) {
        unsigned g = good_sigs(m, s->keys[i], s->role[i]), t = threshold_of(s->role[i]);

        n += (size_t)snprintf(state + n, n < cap ? cap - n : 0,
                              "%s%u signatures of %s (threshold %u)", i ? ", " : "", g,
                              s->n == 2 && i == 0 ? "new root keys"
                              : s->n == 2         ? "previous root keys"
                                                  : "keys",
                              t);
        ok &= g >= t;
    }
    return (int)ok;
}

/* Whether keyid is one of s's signing keys: the key object, or NULL. */
static const json_t *signer_key(const struct signers *s, const char *id)
{
    unsigned i;
    size_t j;

    for (i = 0; i < s->n; i++) {
        const json_t *ids = json_object_get(s->role[i], "keyids");

        for (j = 0; j < json_array_size(ids); j++)
            if (!strcmp(json_string_value(json_array_get(ids, j)), id))
                return json_object_get(s->keys[i], id);
    }
    return NULL;
}

/* Publishes m as metadata/V.ROLE.json and metadata/ROLE.json, then
 * removes the staged file. */
static bw_err publish(const char *dir, const struct bwh__tuf_md *m, const char *staged, char *err,
                      size_t cap)
{
    char name[64], p[PATH_CAP];
    bw_err rc;

    snprintf(name, sizeof(name), "%lld.%s.json", (long long)m->version, m->type);
    if (!path_of(p, dir, "metadata", name))
        return fail(err, cap, BW_E_INVAL, "path too long");
    rc = fail(err, cap, BW_E_EXISTS, "%s exists: version %lld was published already", p,
              (long long)m->version);
    if (exists(p))
        return rc;
    rc = bwh_write_file_atomic(p, m->raw, m->raw_len, 0644);
    snprintf(name, sizeof(name), "%s.json", m->type);
    (void)path_of(p, dir, "metadata", name);
    if (!rc)
        rc = bwh_write_file_atomic(p, m->raw, m->raw_len, 0644);
    if (rc)
        return fail(err, cap, rc, "%s: %s", p, strerror(errno));
    if (unlink(staged) != 0)
        return fail(err, cap, BW_E_IO, "%s: %s", staged, strerror(errno));
    return BW_OK;
}

#define SIGFILE_MAX 65536

/* A signature file of bwh_tuf_repo_sign, from a key holder: strict JSON
 * with role (root or targets), version >= 1, signed_sha256 and keyid (64
 * lowercase hex each) and sig (hex DER, at most 72 bytes). */
static bw_err sigfile_parse(const uint8_t *b, size_t n, json_t **out, char *why, size_t cap)
{
    static const char *const hexes[] = {"signed_sha256", "keyid", "sig"};
    const char *r;
    json_t *o = NULL;
    size_t i, j;
    bw_err rc;

    *out = NULL;
    rc = bwh__tuf_json_parse(b, n, &o, why, cap);
    if (rc)
        return rc;
    rc = fail(why, cap, BW_E_FORMAT, "not a signature file of 'bulwark repo sign'");
    r = json_string_value(json_object_get(o, "role"));
    if (!json_is_object(o) || json_object_size(o) != 5 || !r ||
        (strcmp(r, "root") != 0 && strcmp(r, "targets") != 0) ||
        !json_is_integer(json_object_get(o, "version")) ||
        json_integer_value(json_object_get(o, "version")) < 1)
        goto out;
    for (i = 0; i < 3; i++) {
        const char *h = json_string_value(json_object_get(o, hexes[i]));
        size_t len = h ? strlen(h) : 0;

        if (!h || !len || len % 2 || len > (i == 2 ? 2 * BW_P256_DER_MAX : 64) ||
            (i < 2 && len != 64))
            goto out;
        for (j = 0; j < len; j++)
            if (!((h[j] >= '0' && h[j] <= '9') || (h[j] >= 'a' && h[j] <= 'f')))
                goto out;
    }
    rc = BW_OK;
out:
    if (rc)
        json_decref(o);
    else
        *out = o;
    return rc;
}

bw_err bwh_tuf_repo_check_sigfile(const uint8_t *buf, size_t len, char *err, size_t cap)
{
    json_t *o = NULL;
    bw_err rc;

    if (len > SIGFILE_MAX)
        return fail(err, cap, BW_E_TOOBIG, "over %d bytes", SIGFILE_MAX);
    rc = sigfile_parse(buf, len, &o, err, cap);
    json_decref(o);
    return rc;
}

bw_err bwh_tuf_repo_merge(const char *dir, const char *const *sigs, size_t n, int *published,
                          FILE *log, char *err, size_t cap)
{
    struct bwh__tuf_md *m = NULL, *pub = NULL, *out_md = NULL;
    struct signers who;
    json_t *add = json_array(), *all = NULL, *sf = NULL;
    char staged[PATH_CAP], role[16] = "", state[200], dh[65], why[200];
    uint8_t d[BW_SHA256_LEN];
    size_t i, j;
    bw_err rc;

    if (published)
        *published = 0;
    rc = BW_E_NOMEM;
    if (!add)
        goto out;
    rc = fail(err, cap, BW_E_INVAL, "no signature files");
    if (!n)
        goto out;
    for (i = 0; i < n; i++) {
        uint8_t *b = NULL;
        size_t bl = 0;
        const char *r;

        rc = bwh_read_file(sigs[i], SIGFILE_MAX, &b, &bl);
        if (rc) {
            rc = fail(err, cap, rc, "%s: %s", sigs[i], strerror(errno));
            goto out;
        }
        rc = sigfile_parse(b, bl, &sf, why, sizeof(why));
        bwh_free(b);
        if (rc) {
            rc = fail(err, cap, rc, "%s: %s", sigs[i], why);
            goto out;
        }
        r = json_string_value(json_object_get(sf, "role"));
        rc = fail(err, cap, BW_E_INVAL, "%s signs %s, %s signs %s: merge one role at a time",
                  sigs[0], role, sigs[i], r);
        if (role[0] && strcmp(role, r) != 0)
            goto out;
        snprintf(role, sizeof(role), "%s", r);
        rc = json_array_append_new(add, sf) ? BW_E_NOMEM : BW_OK; /* takes sf either way */
        sf = NULL;
        if (rc)
            goto out;
    }
    snprintf(state, sizeof(state), "%s.json", role);
    rc = fail(err, cap, BW_E_INVAL, "path too long");
    if (!path_of(staged, dir, "staged", state))
        goto out;
    rc = md_load(staged, role, &m, err, cap);
    if (rc) {
        if (rc == BW_E_NOTFOUND)
            rc = fail(err, cap, BW_E_STATE, "no %s metadata is staged in %s (published already?)",
                      role, dir);
        goto out;
    }
    rc = signers_of(dir, m, &pub, &who, err, cap);
    if (rc)
        goto out;
    rc = bw_sha256(m->canon, m->canon_len, d);
    if (rc)
        goto out;
    bw_hex(dh, d, sizeof(d));
    rc = BW_E_NOMEM;
    all = json_deep_copy(m->sigs);
    if (!all)
        goto out;
    for (i = 0; i < json_array_size(add); i++) {
        const json_t *s = json_array_get(add, i), *key;
        const char *id = json_string_value(json_object_get(s, "keyid"));
        const char *sig = json_string_value(json_object_get(s, "sig"));

        rc = fail(err, cap, BW_E_STATE, "%s is for %s version %lld, the staged one is %lld",
                  sigs[i], role, (long long)json_integer_value(json_object_get(s, "version")),
                  (long long)m->version);
        if (json_integer_value(json_object_get(s, "version")) != m->version)
            goto out;
        rc = fail(err, cap, BW_E_STATE, "%s signs other content than the staged %s version %lld "
                  "(it changed after signing: sign it again)", sigs[i], role,
                  (long long)m->version);
        if (strcmp(json_string_value(json_object_get(s, "signed_sha256")), dh) != 0)
            goto out;
        key = signer_key(&who, id);
        rc = fail(err, cap, BW_E_KEY, "%s: key %.16s... may not sign %s", sigs[i], id, role);
        if (!key)
            goto out;
        rc = fail(err, cap, BW_E_BADSIG, "%s: the signature by key %.16s... does not verify",
                  sigs[i], id);
        if (bwh__tuf_sig_verify(key, sig, m->canon, m->canon_len) != BW_OK)
            goto out;
        for (j = 0; j < json_array_size(all); j++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(all, j), "keyid")),
                        id)) {
                rc = fail(err, cap, BW_E_STATE, "%s: key %.16s... has signed %s version %lld "
                          "already", sigs[i], id, role, (long long)m->version);
                goto out;
            }
        rc = BW_E_NOMEM;
        if (json_array_append_new(all, json_pack("{s:s, s:s}", "keyid", id, "sig", sig)))
            goto out;
        if (log)
            fprintf(log, "bulwark repo: %s: signature by %.16s... verified\n", sigs[i], id);
    }
    rc = md_write(staged, m->sg, all, err, cap);
    if (rc)
        goto out;
    rc = md_load(staged, role, &out_md, err, cap);
    if (rc)
        goto out;
    if (met(out_md, &who, state, sizeof(state))) {
        rc = publish(dir, out_md, staged, err, cap);
        if (rc)
            goto out;
        if (published)
            *published = 1;
        if (log)
            fprintf(log, "bulwark repo: %s version %lld: %s: published\n", role,
                    (long long)out_md->version, state);
    } else if (log) {
        fprintf(log, "bulwark repo: %s version %lld: %s: staged, not published yet\n", role,
                (long long)out_md->version, state);
    }
    rc = BW_OK;
out:
    json_decref(sf);
    json_decref(add);
    json_decref(all);
    bwh__tuf_md_free(m);
    bwh__tuf_md_free(out_md);
    bwh__tuf_md_free(pub);
    return rc;
}

/* ---- staging ---- */

/* The signed part to change for role: the staged one, or a copy of the
 * published one with version + 1. Fresh expiry. */
static bw_err stage_start(const char *dir, const char *role, unsigned days, json_t **sg,
                          char *staged, char *err, size_t cap)
{
    struct bwh__tuf_md *m = NULL;
    char name[32], p[PATH_CAP], exp[21];
    bw_err rc;

    *sg = NULL;
    snprintf(name, sizeof(name), "%s.json", role);
    if (!path_of(staged, dir, "staged", name) || !path_of(p, dir, "metadata", name))
        return fail(err, cap, BW_E_INVAL, "path too long");
    if (exists(staged)) {
        rc = md_load(staged, role, &m, err, cap);
    } else {
        rc = md_load(p, role, &m, err, cap);
        if (rc == BW_E_NOTFOUND)
            rc = fail(err, cap, BW_E_STATE, "nothing published or staged for %s in %s", role,
                      dir);
        if (!rc)
            m->version++;
    }
    if (rc)
        return rc;
    *sg = json_deep_copy(m->sg);
    expiry(days, exp);
    if (!*sg || json_object_set_new(*sg, "version", json_integer((json_int_t)m->version)) ||
        json_object_set_new(*sg, "expires", json_string(exp))) {
        json_decref(*sg);
        *sg = NULL;
        rc = BW_E_NOMEM;
    }
    bwh__tuf_md_free(m);
    return rc;
}

static int role_name_ok(const char *r)
{
    return r && (!strcmp(r, "root") || !strcmp(r, "targets") || !strcmp(r, "snapshot") ||
                 !strcmp(r, "timestamp"));
}

/* Whether any role of roles still lists keyid. */
static int key_in_use(const json_t *roles, const char *id)
{
    const char *name;
    json_t *r, *v;
    size_t i;

    json_object_foreach((json_t *)roles, name, r)
        json_array_foreach(json_object_get(r, "keyids"), i, v)
            if (!strcmp(json_string_value(v), id))
                return 1;
    return 0;
}

/* The keyid a REVOKE argument names: a 64-hex keyid, or a key file. */
static bw_err keyid_of(const char *arg, char id[65], char *err, size_t cap)
{
    json_t *o = NULL;
    size_t i;
    bw_err rc;

    for (i = 0; arg[i] && i < 64; i++)
        if (!((arg[i] >= '0' && arg[i] <= '9') || (arg[i] >= 'a' && arg[i] <= 'f')))
            break;
    if (i == 64 && !arg[64] && !exists(arg)) {
        memcpy(id, arg, 65);
        return BW_OK;
    }
    rc = pub_object(arg, &o, id, err, cap);
    json_decref(o);
    return rc;
}

bw_err bwh_tuf_repo_keys(const char *dir, enum bwh_tuf_key_op op, const char *role,
                         const char *const *pubs, size_t n, unsigned threshold, unsigned days,
                         char *err, size_t cap)
{
    json_t *sg = NULL, *none = json_array(), *keys, *roles, *r, *ids, *v;
    char staged[PATH_CAP], id[65];
    const char *k;
    size_t i, j;
    bw_err rc;

    rc = fail(err, cap, BW_E_INVAL, "--role must be root, targets, snapshot or timestamp");
    if (!role_name_ok(role))
        goto out;
    rc = fail(err, cap, BW_E_INVAL, "give 1 to %d keys", BWH_TUF_REPO_KEYS);
    if (!n || n > BWH_TUF_REPO_KEYS)
        goto out;
    rc = BW_E_NOMEM;
    if (!none)
        goto out;
    rc = stage_start(dir, "root", days ? days : BWH_TUF_DAYS_ROOT, &sg, staged, err, cap);
    if (rc)
        goto out;
    keys = json_object_get(sg, "keys");
    roles = json_object_get(sg, "roles");
    r = json_object_get(roles, role);
    ids = json_object_get(r, "keyids");
    if (op == BWH_TUF_KEY_ROTATE)
        json_array_clear(ids);
    for (i = 0; i < n; i++) {
        json_t *o = NULL;

        if (op == BWH_TUF_KEY_REVOKE) {
            rc = keyid_of(pubs[i], id, err, cap);
            if (rc)
                goto out;
            for (j = 0; j < json_array_size(ids); j++)
                if (!strcmp(json_string_value(json_array_get(ids, j)), id))
                    break;
            rc = fail(err, cap, BW_E_NOTFOUND, "%s: key %.16s... is not a %s key", pubs[i], id,
                      role);
            if (j == json_array_size(ids))
                goto out;
            json_array_remove(ids, j);
            continue;
        }
        rc = pub_object(pubs[i], &o, id, err, cap);
        if (rc)
            goto out;
        json_array_foreach(ids, j, v)
            if (!strcmp(json_string_value(v), id)) {
                json_decref(o);
                rc = fail(err, cap, BW_E_EXISTS, "%s: key %.16s... is a %s key already",
                          pubs[i], id, role);
                goto out;
            }
        rc = BW_E_NOMEM;
        if (json_array_append_new(ids, json_string(id)) || json_object_set_new(keys, id, o))
            goto out;
    }
    if (threshold)
        json_object_set_new(r, "threshold", json_integer(threshold));
    rc = fail(err, cap, BW_E_INVAL, "%s would have %zu keys and threshold %lld: a threshold "
              "must be 1 to the number of keys", role, json_array_size(ids),
              (long long)json_integer_value(json_object_get(r, "threshold")));
    if (!json_array_size(ids) ||
        json_integer_value(json_object_get(r, "threshold")) > (json_int_t)json_array_size(ids))
        goto out;
    /* drop key objects no role lists any more */
    for (;;) {
        const char *gone = NULL;

        json_object_foreach(keys, k, v)
            if (!key_in_use(roles, k)) {
                gone = k;
                break;
            }
        if (!gone)
            break;
        json_object_del(keys, gone);
    }
    rc = md_write(staged, sg, none, err, cap);
out:
    json_decref(sg);
    json_decref(none);
    return rc;
}

bw_err bwh_tuf_repo_renew(const char *dir, const char *role, unsigned days, char *err,
                          size_t cap)
{
    json_t *sg = NULL, *none = json_array();
    char staged[PATH_CAP];
    bw_err rc;

    rc = fail(err, cap, BW_E_INVAL, "renew stages root or targets (the online roles are signed "
              "with 'snapshot' and 'timestamp')");
    if (!role || (strcmp(role, "root") != 0 && strcmp(role, "targets") != 0))
        goto out;
    rc = BW_E_NOMEM;
    if (!none)
        goto out;
    rc = stage_start(dir, role, days ? days : !strcmp(role, "root") ? BWH_TUF_DAYS_ROOT
                                                                    : BWH_TUF_DAYS_TARGETS,
                     &sg, staged, err, cap);
    if (!rc)
        rc = md_write(staged, sg, none, err, cap);
out:
    json_decref(sg);
    json_decref(none);
    return rc;
}

/* ---- targets ---- */

int bwh_tuf_repo_name_ok(const char *s)
{
    size_t i;

    if (!s || !s[0] || s[0] == '.' || strlen(s) > 200)
        return 0;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* Copies src to dst (atomically) while hashing it. */
static bw_err copy_hash(const char *src, const char *dst, uint8_t d[BW_SHA256_LEN],
                        uint64_t *len, char *err, size_t cap)
{
    struct bw_sha256 h;
    uint8_t buf[65536];
    char tmp[PATH_CAP];
    int in, out = -1, hashing = 0;
    size_t got = 0;
    bw_err rc;

    *len = 0;
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return fail(err, cap, BW_E_IO, "%s: %s", src, strerror(errno));
    rc = fail(err, cap, BW_E_IO, "%s: %s", dst, strerror(errno));
    out = bwh_tmpfile_beside(dst, 0644, tmp, sizeof(tmp));
    if (out < 0)
        goto out;
    rc = bw_sha256_init(&h);
    if (rc)
        goto out;
    hashing = 1;
    do {
        rc = bwh_read_full(in, buf, sizeof(buf), &got);
        if (!rc)
            rc = bw_sha256_update(&h, buf, got);
        if (!rc)
            rc = bwh_write_full(out, buf, got);
        *len += got;
    } while (!rc && got == sizeof(buf));
    if (!rc)
        rc = fsync(out) == 0 ? BW_OK : BW_E_IO;
    if (!rc) {
        hashing = 0;
        rc = bw_sha256_final(&h, d);
    }
    if (!rc)
        rc = rename(tmp, dst) == 0 ? BW_OK : BW_E_IO;
    if (rc)
        rc = fail(err, cap, rc, "copying %s to %s: %s", src, dst, strerror(errno));
out:
    if (hashing)
        bw_sha256_abort(&h);
    if (out >= 0) {
        close(out);
        if (rc)
            unlink(tmp);
    }
    close(in);
    return rc;
}

bw_err bwh_tuf_repo_add_target(const char *dir, const char *pkg, const char *release_pub,
                               const char *name, const char *hw, unsigned days, char *err,
                               size_t cap)
{
    struct bw_ec_key key;
    struct bwh_pkg p;
    json_t *sg = NULL, *none = json_array(), *entry = NULL;
    char staged[PATH_CAP], dst[PATH_CAP], fname[300], vid[37], cid[37], hex[65];
    uint8_t d[BW_SHA256_LEN];
    uint64_t len = 0, seq;
    int opened = 0;
    bw_err rc;

    bw_ec_key_init(&key);
    memset(&p, 0, sizeof(p));
    if (!name) {
        name = strrchr(pkg, '/') ? strrchr(pkg, '/') + 1 : pkg;
    }
    rc = fail(err, cap, BW_E_INVAL, "target name '%s': use A-Z a-z 0-9 . _ - (no leading dot, "
              "at most 200)", name);
    if (!bwh_tuf_repo_name_ok(name))
        goto out;
    rc = fail(err, cap, BW_E_INVAL, "--hardware is required (a compatibility string, 1 to 200 "
              "printable characters)");
    if (!hw || !hw[0] || strlen(hw) > 200)
        goto out;
    for (seq = 0; hw[seq]; seq++)
        if ((unsigned char)hw[seq] < 0x20 || hw[seq] == 0x7f)
            goto out;
    rc = BW_E_NOMEM;
    if (!none)
        goto out;
    rc = bwh_load_key(release_pub, 0, &key);
    if (rc) {
        rc = fail(err, cap, rc, "%s: not a P-256 public key (%s)", release_pub, bw_strerror(rc));
        goto out;
    }
    rc = bwh_pkg_open(&p, pkg, &key, BW_SUIT_ENVELOPE_MAX);
    opened = 1; /* closed on every path, a failed open too */
    if (rc) {
        rc = fail(err, cap, rc, "%s: the package does not authenticate with %s: %s", pkg,
                  release_pub, bw_strerror(rc));
        goto out;
    }
    rc = bwh_pkg_verify(&p, NULL);
    if (rc) {
        rc = fail(err, cap, rc, "%s: the payload does not verify: %s", pkg, bw_strerror(rc));
        goto out;
    }
    rc = fail(err, cap, BW_E_FORMAT, "%s: the manifest names no vendor and class id", pkg);
    if (!p.suit.n_components || !p.suit.comp[0].has_vendor || !p.suit.comp[0].has_class)
        goto out;
    bwh_uuid_format(vid, p.suit.comp[0].vendor_id);
    bwh_uuid_format(cid, p.suit.comp[0].class_id);
    seq = p.suit.sequence;
    rc = stage_start(dir, "targets", days ? days : BWH_TUF_DAYS_TARGETS, &sg, staged, err, cap);
    if (rc)
        goto out;
    /* the copy goes in before the metadata that names it */
    snprintf(fname, sizeof(fname), ".incoming.%s", name);
    rc = fail(err, cap, BW_E_INVAL, "path too long");
    if (!path_of(dst, dir, "targets", fname))
        goto out;
    rc = copy_hash(pkg, dst, d, &len, err, cap);
    if (rc)
        goto out;
    bw_hex(hex, d, sizeof(d));
    {
        char final[PATH_CAP];

        snprintf(fname, sizeof(fname), "%s.%s", hex, name);
        if (!path_of(final, dir, "targets", fname) || rename(dst, final) != 0) {
            rc = fail(err, cap, BW_E_IO, "%s: %s", final, strerror(errno));
            unlink(dst);
            goto out;
        }
    }
    rc = BW_E_NOMEM;
    entry = json_pack("{s:I, s:{s:s}, s:{s:{s:s, s:s, s:I, s:s}}}", "length", (json_int_t)len,
                      "hashes", "sha256", hex, "custom", "bulwark", "vendor_id", vid, "class_id",
                      cid, "sequence", (json_int_t)seq, "hardware", hw);
    if (!entry || json_object_set_new(json_object_get(sg, "targets"), name, entry))
        goto out;
    entry = NULL;
    rc = md_write(staged, sg, none, err, cap);
out:
    if (opened)
        bwh_pkg_close(&p);
    bw_ec_key_clear(&key);
    json_decref(sg);
    json_decref(none);
    json_decref(entry);
    return rc;
}

/* ---- online roles ---- */

bw_err bwh_tuf_repo_online(const char *dir, const char *role, const char *key, unsigned days,
                           char *err, size_t cap)
{
    int snap = role && !strcmp(role, "snapshot");

    return bwh_tuf_repo_online_s(dir, role, key,
                                 (int64_t)(days ? days
                                           : snap ? BWH_TUF_DAYS_SNAPSHOT
                                                  : BWH_TUF_DAYS_TIMESTAMP) * 86400,
                                 err, cap);
}

bw_err bwh_tuf_repo_online_s(const char *dir, const char *role, const char *key, int64_t seconds,
                             char *err, size_t cap)
{
    struct bwh__tuf_md *root = NULL, *over = NULL, *cur = NULL;
    const int snap = role && !strcmp(role, "snapshot");
    const char *over_role = snap ? "targets" : "snapshot";
    const json_t *r;
    json_t *kobj = NULL, *sg = NULL, *sigs = NULL;
    struct rkey k;
    uint8_t d[BW_SHA256_LEN];
    char p[PATH_CAP], name[64], id[65], hex[65], exp[21], *sig = NULL;
    uint8_t *canon = NULL;
    size_t cl = 0, i;
    int64_t version = 1;
    bw_err rc;

    memset(&k, 0, sizeof(k));
    bw_ec_key_init(&k.ec);
    rc = fail(err, cap, BW_E_INVAL, "an online role is snapshot or timestamp");
    if (!role || (!snap && strcmp(role, "timestamp") != 0))
        goto out;
    rc = root_load(dir, &root, err, cap);
    if (rc)
        goto out;
    snprintf(name, sizeof(name), "%s.json", over_role);
    (void)path_of(p, dir, "metadata", name);
    rc = md_load(p, over_role, &over, err, cap);
    if (rc) {
        if (rc == BW_E_NOTFOUND)
            rc = fail(err, cap, BW_E_STATE, "no %s metadata is published yet", over_role);
        goto out;
    }
    r = bwh__tuf_root_role(root, role);
    rc = fail(err, cap, BW_E_STATE, "the root gives %s a threshold of %u: an online role signs "
              "with one key", role, threshold_of(r));
    if (threshold_of(r) != 1)
        goto out;
    rc = rkey_open(&k, key, err, cap);
    if (rc)
        goto out;
    rc = key_object(k.s.pub, &kobj, id);
    if (rc)
        goto out;
    rc = fail(err, cap, BW_E_KEY, "%s is not a %s key of the published root", key, role);
    for (i = 0; i < json_array_size(json_object_get(r, "keyids")); i++)
        if (!strcmp(json_string_value(json_array_get(json_object_get(r, "keyids"), i)), id))
            rc = BW_OK;
    if (rc)
        goto out;
    snprintf(name, sizeof(name), "%s.json", role);
    (void)path_of(p, dir, "metadata", name);
    if (exists(p)) {
        rc = md_load(p, role, &cur, err, cap);
        if (rc)
            goto out;
        version = cur->version + 1;
    }
    rc = bw_sha256(over->raw, over->raw_len, d);
    if (rc)
        goto out;
    bw_hex(hex, d, sizeof(d));
    rc = fail(err, cap, BW_E_INVAL, "an expiry of %lld s", (long long)seconds);
    if (seconds < 1 || seconds > (int64_t)BWH_TUF_DAYS_ROOT * 86400 * 10)
        goto out;
    expiry_s(seconds, exp);
    rc = BW_E_NOMEM;
    sg = json_pack("{s:s, s:s, s:I, s:s, s:{s:{s:I, s:I, s:{s:s}}}}", "_type", role,
                   "spec_version", SPEC, "version", (json_int_t)version, "expires", exp, "meta",
                   snap ? "targets.json" : "snapshot.json", "version", (json_int_t)over->version,
                   "length", (json_int_t)over->raw_len, "hashes", "sha256", hex);
    if (!sg)
        goto out;
    rc = bwh__tuf_json_canon(sg, &canon, &cl);
    if (!rc)
        rc = sign_hex(&k, canon, cl, &sig);
    if (rc)
        goto out;
    rc = fail(err, cap, BW_E_BADSIG, "the key made a signature that does not verify");
    if (bwh__tuf_sig_verify(kobj, sig, canon, cl) != BW_OK)
        goto out;
    rc = BW_E_NOMEM;
    sigs = json_pack("[{s:s, s:s}]", "keyid", id, "sig", sig);
    if (!sigs)
        goto out;
    if (snap) {
        snprintf(name, sizeof(name), "%lld.snapshot.json", (long long)version);
        (void)path_of(p, dir, "metadata", name);
        rc = md_write_as(p, sg, sigs, 1, err, cap);
        if (rc)
            goto out;
    }
    snprintf(name, sizeof(name), "%s.json", role);
    (void)path_of(p, dir, "metadata", name);
    rc = md_write_as(p, sg, sigs, 1, err, cap); /* fetched by every device on every poll */
out:
    rkey_close(&k);
    json_decref(kobj);
    json_decref(sg);
    json_decref(sigs);
    bwh_free(sig);
    bwh_free(canon);
    bwh__tuf_md_free(root);
    bwh__tuf_md_free(over);
    bwh__tuf_md_free(cur);
    return rc;
}

/* ---- the gateway's side: online roles kept fresh, releases checked ---- */

/* The version m's meta lists for file, or -1. */
static int64_t meta_ver(const struct bwh__tuf_md *m, const char *file)
{
    const json_t *v = json_object_get(json_object_get(json_object_get(m->sg, "meta"), file),
                                      "version");

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* The published DIR/metadata/ROLE.json, NULL when absent (BW_OK). */
static bw_err published(const char *dir, const char *role, struct bwh__tuf_md **m, char *err,
                        size_t cap)
{
    char p[PATH_CAP], name[32];
    bw_err rc;

    snprintf(name, sizeof(name), "%s.json", role);
    if (!path_of(p, dir, "metadata", name))
        return fail(err, cap, BW_E_INVAL, "path too long");
    rc = md_load(p, role, m, err, cap);
    if (rc == BW_E_NOTFOUND) {
        *m = NULL;
        rc = BW_OK;
    }
    return rc;
}

bw_err bwh_tuf_repo_freshen(const char *dir, const char *snapshot_key, const char *timestamp_key,
                            int64_t snapshot_s, int64_t timestamp_s, unsigned *made, char *err,
                            size_t cap)
{
    struct bwh__tuf_md *tg = NULL, *sn = NULL, *ts = NULL;
    int64_t now = (int64_t)time(NULL);
    bw_err rc;

    *made = 0;
    rc = published(dir, "targets", &tg, err, cap);
    if (!rc && !tg)
        rc = fail(err, cap, BW_E_STATE, "no targets metadata is published yet");
    if (!rc)
        rc = published(dir, "snapshot", &sn, err, cap);
    if (rc)
        goto out;
    if (!sn || meta_ver(sn, "targets.json") != tg->version || sn->expires - now <= snapshot_s / 2) {
        rc = bwh_tuf_repo_online_s(dir, "snapshot", snapshot_key, snapshot_s, err, cap);
        if (rc)
            goto out;
        *made |= 1;
        bwh__tuf_md_free(sn);
        sn = NULL;
        rc = published(dir, "snapshot", &sn, err, cap);
        if (rc)
            goto out;
    }
    rc = published(dir, "timestamp", &ts, err, cap);
    if (rc)
        goto out;
    if (!ts || meta_ver(ts, "snapshot.json") != sn->version ||
        ts->expires - now <= timestamp_s / 2) {
        rc = bwh_tuf_repo_online_s(dir, "timestamp", timestamp_key, timestamp_s, err, cap);
        if (rc)
            goto out;
        *made |= 2;
    }
out:
    bwh__tuf_md_free(tg);
    bwh__tuf_md_free(sn);
    bwh__tuf_md_free(ts);
    return rc;
}

bw_err bwh_tuf_repo_target_ok(const char *dir, const char *name, const char *sha256,
                              uint64_t length, char *err, size_t cap)
{
    struct bwh__tuf_md *root = NULL, *tg = NULL;
    const json_t *role, *e, *h;
    unsigned good;
    bw_err rc;

    rc = root_load(dir, &root, err, cap);
    if (!rc)
        rc = published(dir, "targets", &tg, err, cap);
    if (!rc && !tg)
        rc = fail(err, cap, BW_E_NOTFOUND, "no targets metadata is published");
    if (rc)
        goto out;
    role = bwh__tuf_root_role(root, "targets");
    good = good_sigs(tg, json_object_get(root->sg, "keys"), role);
    rc = fail(err, cap, BW_E_BADSIG, "targets v%lld has %u good signatures of %u needed",
              (long long)tg->version, good, threshold_of(role));
    if (!threshold_of(role) || good < threshold_of(role))
        goto out;
    rc = fail(err, cap, BW_E_EXPIRED, "targets v%lld has expired", (long long)tg->version);
    if (tg->expires <= (int64_t)time(NULL))
        goto out;
    e = json_object_get(json_object_get(tg->sg, "targets"), name);
    rc = fail(err, cap, BW_E_NOTFOUND, "%s is not a target of targets v%lld", name,
              (long long)tg->version);
    if (!e)
        goto out;
    h = json_object_get(json_object_get(e, "hashes"), "sha256");
    rc = fail(err, cap, BW_E_DIGEST, "%s: length or SHA-256 differ from targets v%lld", name,
              (long long)tg->version);
    if ((uint64_t)json_integer_value(json_object_get(e, "length")) != length || !h ||
        strcmp(json_string_value(h), sha256) != 0)
        goto out;
    err[0] = 0;
    rc = BW_OK;
out:
    bwh__tuf_md_free(root);
    bwh__tuf_md_free(tg);
    return rc;
}

/* ---- status ---- */

static const unsigned default_days[] = {BWH_TUF_DAYS_ROOT, BWH_TUF_DAYS_TIMESTAMP,
                                        BWH_TUF_DAYS_SNAPSHOT, BWH_TUF_DAYS_TARGETS};

bw_err bwh_tuf_repo_status(const char *dir, FILE *out, int json, unsigned *problems, char *err,
                           size_t cap)
{
    static const char *const roles[] = {"root", "timestamp", "snapshot", "targets"};
    struct bwh__tuf_md *root = NULL;
    time_t now = time(NULL);
    char p[PATH_CAP], name[32];
    unsigned i, bad = 0, shown = 0;
    bw_err rc;

    *problems = 0;
    if (!path_of(p, dir, "staged", NULL) || !exists(p))
        return fail(err, cap, BW_E_NOTFOUND, "%s is not a repository (no staged/)", dir);
    rc = root_load(dir, &root, err, cap);
    if (rc == BW_E_NOTFOUND) {
        root = NULL; /* nothing published yet: staged files only */
    } else if (rc) {
        return rc;
    }
    if (json)
        fprintf(out, "{\"roles\":[");
    for (i = 0; i < 8; i++) {
        const char *r = roles[i % 4];
        const int staged = i >= 4;
        struct bwh__tuf_md *m = NULL;
        struct bwh__tuf_md *pub = NULL;
        struct signers who;
        char state[200] = "", why[200];
        int ok = 1;
        long long left;

        if (staged && (i % 4 == 1 || i % 4 == 2))
            continue; /* online roles are never staged */
        snprintf(name, sizeof(name), "%s.json", r);
        if (!path_of(p, dir, staged ? "staged" : "metadata", name))
            continue;
        if (!exists(p))
            continue;
        if (md_load(p, r, &m, why, sizeof(why))) {
            fprintf(stderr, "bulwark repo: %s\n", why);
            bad++;
            continue;
        }
        left = (long long)(m->expires - now);
        if (staged) {
            if (signers_of(dir, m, &pub, &who, why, sizeof(why)) == BW_OK)
                ok = met(m, &who, state, sizeof(state));
            else
                snprintf(state, sizeof(state), "%s", why), ok = 0;
            bwh__tuf_md_free(pub);
        } else if (root) {
            const json_t *role = bwh__tuf_root_role(root, r);
            unsigned g = good_sigs(m, json_object_get(root->sg, "keys"), role);

            snprintf(state, sizeof(state), "%u signatures (threshold %u)", g, threshold_of(role));
            ok = g >= threshold_of(role);
            if (!ok)
                bad++;
        }
        if (!staged && left < (long long)default_days[i % 4] * 86400 / 4)
            bad++;
        if (json) {
            fprintf(out, "%s{\"role\":\"%s\",\"state\":\"%s\",\"version\":%lld,"
                    "\"expires\":\"%s\",\"seconds_left\":%lld,\"signatures\":",
                    shown++ ? "," : "", r, staged ? "staged" : "published",
                    (long long)m->version,
                    json_string_value(json_object_get(m->sg, "expires")), left);
            bwh_json_str(out, state, strlen(state));
            fprintf(out, ",\"threshold_met\":%s}", ok ? "true" : "false");
        } else {
            fprintf(out, "%-9s %-9s v%-4lld expires %s (%s%lld days)  %s%s\n", r,
                    staged ? "staged" : "published", (long long)m->version,
                    json_string_value(json_object_get(m->sg, "expires")), left < 0 ? "expired " : "",
                    (left < 0 ? -left : left) / 86400, state,
                    ok ? "" : staged ? "  (waiting for signatures)" : "  BELOW THRESHOLD");
        }
        bwh__tuf_md_free(m);
    }
    if (json)
        fprintf(out, "],\"problems\":%u}\n", bad);
    *problems = bad;
    bwh__tuf_md_free(root);
    return BW_OK;
}
