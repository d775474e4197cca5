// SPDX-License-Identifier: Apache-2.0
/*
 * The TUF client workflow (specification 1.0.x, section 5): which
 * metadata becomes trusted, in which order, what is fetched and what is
 * written to the metadata directory, and the target search through
 * delegations. Parsing and signatures are host/tuf_meta.c and
 * host/tuf_key.c; the network is one adapter (fetch) over the host
 * library's HTTP client. Not thread-safe: one handle per thread.
 *
 * Method: each role file is trusted only after every check of its step
 * passed, then written at once (exact bytes, temp file + rename), so the
 * directory only ever holds metadata that verified when it was written; a
 * crash between two steps leaves older but verified files, which the next
 * run re-verifies against the current root before using them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "bulwark/core.h"
#include "bwh/host.h"
#include "bwh/http.h"
#include "tuf_priv.h"

#define ROLES_MAX 64 /* delegated roles trusted by one handle */
#define NAME_MAX_ 1024

struct role {
    char *name;
    const struct bwh__tuf_md *parent; /* the delegator it was verified against */
    struct bwh__tuf_md *md;
};

struct bwh_tuf {
    char *md_dir, *md_url, *tg_dir, *tg_url, *cacert;
    unsigned connect_s, timeout_s;
    FILE *log;
    struct bwh_http *http;
    int own_http;                 /* http is the handle's (freed with it) */
    struct bwh__tuf_md *root, *ts, *snap, *targets;
    struct role roles[ROLES_MAX];
    size_t nroles;
    int refreshed;
    int64_t root_was; /* the trusted root's version when the last refresh began */
    int64_t now;
    struct bwh_tuf_stats st;
    char err[512];
};

static void say(struct bwh_tuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct bwh_tuf *t, const char *fmt, ...)
{
    va_list ap;

    if (!t->log)
        return;
    va_start(ap, fmt);
    fputs("tuf: ", t->log);
    vfprintf(t->log, fmt, ap);
    fputc('\n', t->log);
    va_end(ap);
}

/* Records why a step failed (the first reason wins) and returns rc. */
static bw_err fail(struct bwh_tuf *t, bw_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bw_err fail(struct bwh_tuf *t, bw_err rc, const char *fmt, ...)
{
    va_list ap;

    if (!t->err[0]) {
        va_start(ap, fmt);
        vsnprintf(t->err, sizeof(t->err), fmt, ap);
        va_end(ap);
        say(t, "refused: %s [%s]", t->err, bw_errname(rc));
    }
    return rc;
}

bw_err bwh_tuf_pct(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            if (cap - o < 2)
                return BW_E_NOMEM;
            out[o++] = (char)c;
        } else {
            if (cap - o < 4)
                return BW_E_NOMEM;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (cap - o < 1)
        return BW_E_NOMEM;
    out[o] = 0;
    return BW_OK;
}

static char *dup_str(const char *s)
{
    size_t n;
    char *d;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = bwh_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bw_err bwh_tuf_new(struct bwh_tuf **tp, const struct bwh_tuf_opts *o)
{
    struct bwh_tuf *t;

    *tp = NULL;
    if (!o || !o->metadata_dir || !o->metadata_url)
        return BW_E_INVAL;
    t = bwh_calloc(1, sizeof(*t));
    if (!t)
        return BW_E_NOMEM;
    t->md_dir = dup_str(o->metadata_dir);
    t->md_url = dup_str(o->metadata_url);
    t->tg_dir = dup_str(o->target_dir);
    t->tg_url = dup_str(o->target_url);
    t->cacert = dup_str(o->cacert);
    t->http = o->http;
    t->connect_s = o->connect_s ? o->connect_s : BWH_TUF_CONNECT_S;
    t->timeout_s = o->timeout_s ? o->timeout_s : BWH_TUF_TIMEOUT_S;
    t->log = o->log;
    if (!t->md_dir || !t->md_url || (o->target_dir && !t->tg_dir) ||
        (o->target_url && !t->tg_url) || (o->cacert && !t->cacert)) {
        bwh_tuf_free(t);
        return BW_E_NOMEM;
    }
    *tp = t;
    return BW_OK;
}

void bwh_tuf_free(struct bwh_tuf *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->nroles; i++) {
        bwh_free(t->roles[i].name);
        bwh__tuf_md_free(t->roles[i].md);
    }
    bwh__tuf_md_free(t->root);
    bwh__tuf_md_free(t->ts);
    bwh__tuf_md_free(t->snap);
    bwh__tuf_md_free(t->targets);
    if (t->own_http)
        bwh_http_free(t->http);
    bwh_free(t->md_dir);
    bwh_free(t->md_url);
    bwh_free(t->tg_dir);
    bwh_free(t->tg_url);
    bwh_free(t->cacert);
    bwh_free(t);
}

const char *bwh_tuf_error(const struct bwh_tuf *t)
{
    return t ? t->err : "";
}

void bwh_tuf_get_stats(const struct bwh_tuf *t, struct bwh_tuf_stats *s)
{
    *s = t->st;
}

/* ---- the network: the one adapter over the host's HTTP client ---- */

struct body {
    uint8_t *p;
    size_t len, cap; /* cap: the most bytes accepted */
};

static bw_err body_sink(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct body *b = ctx;
    uint8_t *np;

    if (status != 200)
        return BW_OK; /* an error page: dropped */
    if (off != b->len || n > b->cap - b->len)
        return BW_E_TOOBIG;
    np = bwh_realloc(b->p, b->len + n + 1);
    if (!np)
        return BW_E_NOMEM;
    b->p = np;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return BW_OK;
}

/* GETs url, once (the repository counts requests: no retries), reading at
 * most cap body bytes within the handle's timeouts. BW_OK with *status
 * and, for a 200, the body in *buf (bwh_malloc'd, *len bytes); BW_E_IO,
 * BW_E_TOOBIG (more than cap bytes), BW_E_NOMEM. */
static bw_err fetch(struct bwh_tuf *t, const char *url, size_t cap, uint8_t **buf, size_t *len,
                    long *status)
{
    struct bwh_http_opts ho;
    struct bwh_net_limits l;
    struct bwh_http_req rq;
    struct bwh_http_res res;
    struct body b = {NULL, 0, cap};
    bw_err rc;

    *buf = NULL;
    *len = 0;
    *status = 0;
    if (!t->http) {
        memset(&ho, 0, sizeof(ho));
        ho.stall_s = t->timeout_s;
        ho.cacert = t->cacert;
        rc = bwh_http_new(&t->http, &ho);
        if (rc)
            return rc;
        t->own_http = 1;
    }
    bwh_net_limits_default(&l);
    l.connect_s = t->connect_s;
    l.total_s = t->timeout_s;
    l.low_speed_s = t->timeout_s < BWH_NET_LOW_SPEED_S ? t->timeout_s : BWH_NET_LOW_SPEED_S;
    l.redirects_max = 0;
    l.body_max = cap;
    bwh_http_limits(t->http, &l);
    memset(&rq, 0, sizeof(rq));
    memset(&res, 0, sizeof(res));
    rq.url = url;
    rq.sink = body_sink;
    rq.ctx = &b;
    t->st.requests++;
    say(t, "GET %s", url);
    rc = bwh_http_request(t->http, &rq, &res);
    t->st.bytes += res.body;
    if (rc) {
        bwh_free(b.p);
        return fail(t, rc, "%s: %s", url, bwh_http_error(t->http));
    }
    *status = res.status;
    if (res.status == 200) {
        *buf = b.p ? b.p : bwh_malloc(1);
        if (!*buf)
            return BW_E_NOMEM;
        *len = b.len;
    } else {
        bwh_free(b.p);
    }
    return BW_OK;
}

/* base + name, with one '/' between them. */
static bw_err join(const char *base, const char *name, char *out, size_t cap)
{
    size_t n = strlen(base);
    int w = snprintf(out, cap, "%s%s%s", base, n && base[n - 1] == '/' ? "" : "/", name);

    return w < 0 || (size_t)w >= cap ? BW_E_TOOBIG : BW_OK;
}

/* A metadata file that must exist: anything but 200 is a failure. */
static bw_err fetch_md(struct bwh_tuf *t, const char *file, size_t cap, uint8_t **buf, size_t *len)
{
    char url[4096];
    long status = 0;
    bw_err rc;

    rc = join(t->md_url, file, url, sizeof(url));
    if (rc)
        return fail(t, rc, "URL too long for %s", file);
    rc = fetch(t, url, cap, buf, len, &status);
    if (rc)
        return rc;
    if (status != 200)
        return fail(t, status == 404 || status == 403 ? BW_E_NOTFOUND : BW_E_IO,
                    "%s: HTTP status %ld", url, status);
    return BW_OK;
}

/* ---- the metadata directory ---- */

/* MD/pct(role).json */
static bw_err role_path(const struct bwh_tuf *t, const char *role, char *out, size_t cap)
{
    char name[NAME_MAX_ * 3 + 8];

    if (bwh_tuf_pct(role, name, sizeof(name) - 5) != BW_OK)
        return BW_E_TOOBIG;
    strcat(name, ".json");
    return join(t->md_dir, name, out, cap);
}

/* The local copy of a role, or BW_E_NOTFOUND. */
static bw_err read_local(struct bwh_tuf *t, const char *role, size_t cap, uint8_t **buf,
                         size_t *len)
{
    char path[4096];

    *buf = NULL;
    if (role_path(t, role, path, sizeof(path)) != BW_OK)
        return BW_E_NOTFOUND;
    if (bwh_read_file(path, cap, buf, len) != BW_OK) {
        *buf = NULL;
        return BW_E_NOTFOUND;
    }
    return BW_OK;
}

static bw_err persist(struct bwh_tuf *t, const char *role, const struct bwh__tuf_md *m)
{
    char path[4096];
    bw_err rc;

    rc = role_path(t, role, path, sizeof(path));
    if (!rc)
        rc = bwh_write_file_atomic(path, m->raw, m->raw_len, 0644);
    if (rc)
        return fail(t, rc, "cannot write %s: %s", path, strerror(errno));
    say(t, "trusted %s v%lld (%zu bytes written)", role, (long long)m->version, m->raw_len);
    return BW_OK;
}

/* ---- verification steps ---- */

static bw_err parse(struct bwh_tuf *t, const char *what, const uint8_t *b, size_t n,
                    const char *type, struct bwh__tuf_md **m)
{
    char err[300];
    bw_err rc;

    err[0] = 0;
    rc = bwh__tuf_md_parse(b, n, type, m, err, sizeof(err));
    if (rc)
        return fail(t, rc, "%s: %s", what, err[0] ? err : bw_strerror(rc));
    return BW_OK;
}

static bw_err verify(struct bwh_tuf *t, const struct bwh__tuf_md *m, const json_t *keys,
                     const json_t *role, const char *what)
{
    char err[300];
    bw_err rc;

    rc = bwh__tuf_md_verify(m, keys, role, &t->st.verifies, err, sizeof(err));
    if (rc)
        return fail(t, rc, "%s: %s", what, err);
    return BW_OK;
}

static bw_err verify_top(struct bwh_tuf *t, const struct bwh__tuf_md *m, const char *role)
{
    return verify(t, m, json_object_get(t->root->sg, "keys"), bwh__tuf_root_role(t->root, role),
                  role);
}

static int expired(const struct bwh_tuf *t, const struct bwh__tuf_md *m)
{
    return t->now >= m->expires;
}

/* Ends a step: on success m becomes the trusted *slot, else m is dropped. */
static bw_err settle(struct bwh__tuf_md **slot, struct bwh__tuf_md *m, bw_err rc)
{
    if (rc) {
        bwh__tuf_md_free(m);
        return rc;
    }
    bwh__tuf_md_free(*slot);
    *slot = m;
    return BW_OK;
}

static bw_err load_trusted_root(struct bwh_tuf *t)
{
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    if (read_local(t, "root", BWH_TUF_ROOT_MAX, &b, &n) != BW_OK)
        return fail(t, BW_E_NOTFOUND, "no trusted root in %s (run init)", t->md_dir);
    rc = parse(t, "trusted root.json", b, n, "root", &t->root);
    bwh_free(b);
    if (rc)
        return rc;
    rc = verify_top(t, t->root, "root");
    if (rc) {
        bwh__tuf_md_free(t->root);
        t->root = NULL;
        return rc;
    }
    say(t, "trusted root v%lld loaded", (long long)t->root->version);
    return BW_OK;
}

/* 5.3: each newer root, signed by the old and by its own threshold. */
static bw_err update_root(struct bwh_tuf *t)
{
    unsigned i;

    for (i = 0; i < BWH_TUF_ROOT_ROTATIONS; i++) {
        int64_t next = t->root->version + 1;
        struct bwh__tuf_md *m = NULL;
        char file[64], url[4096];
        uint8_t *b = NULL;
        size_t n = 0;
        long status = 0;
        bw_err rc;

        snprintf(file, sizeof(file), "%lld.root.json", (long long)next);
        rc = join(t->md_url, file, url, sizeof(url));
        if (!rc)
            rc = fetch(t, url, BWH_TUF_ROOT_MAX, &b, &n, &status);
        if (rc)
            return rc;
        if (status == 404 || status == 403)
            return BW_OK; /* the trusted root is the newest */
        if (status != 200)
            return fail(t, BW_E_IO, "%s: HTTP status %ld", url, status);
        rc = parse(t, file, b, n, "root", &m);
        bwh_free(b);
        if (!rc)
            rc = verify_top(t, m, "root");
        if (!rc && m->version != next)
            rc = fail(t, BW_E_ROLLBACK, "%s holds version %lld", file, (long long)m->version);
        if (!rc)
            rc = verify(t, m, json_object_get(m->sg, "keys"), bwh__tuf_root_role(m, "root"),
                        "new root by its own keys");
        if (!rc)
            rc = persist(t, "root", m);
        rc = settle(&t->root, m, rc);
        if (rc)
            return rc;
    }
    return BW_OK;
}

static const json_t *meta_of(const struct bwh__tuf_md *m, const char *file)
{
    return json_object_get(json_object_get(m->sg, "meta"), file);
}

static int64_t meta_version(const json_t *mf)
{
    return (int64_t)json_integer_value(json_object_get(mf, "version"));
}

static int consistent(const struct bwh_tuf *t)
{
    return json_is_true(json_object_get(t->root->sg, "consistent_snapshot"));
}

/* A local file of a top-level role that verifies under the current root
 * (a file signed by rotated-out keys is ignored: fast-forward recovery). */
static struct bwh__tuf_md *local_top(struct bwh_tuf *t, const char *role, size_t cap)
{
    struct bwh__tuf_md *m = NULL;
    char err[300];
    uint8_t *b = NULL;
    size_t n = 0;

    if (read_local(t, role, cap, &b, &n) != BW_OK)
        return NULL;
    if (bwh__tuf_md_parse(b, n, role, &m, err, sizeof(err)) != BW_OK ||
        bwh__tuf_md_verify(m, json_object_get(t->root->sg, "keys"),
                          bwh__tuf_root_role(t->root, role), &t->st.verifies, err,
                          sizeof(err)) != BW_OK) {
        say(t, "local %s.json not used: %s", role, err);
        bwh__tuf_md_free(m);
        m = NULL;
    }
    bwh_free(b);
    return m;
}

/* 5.4 */
static bw_err update_timestamp(struct bwh_tuf *t)
{
    struct bwh__tuf_md *m = NULL;
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    bwh__tuf_md_free(t->ts);
    t->ts = local_top(t, "timestamp", BWH_TUF_TIMESTAMP_MAX);
    rc = fetch_md(t, "timestamp.json", BWH_TUF_TIMESTAMP_MAX, &b, &n);
    if (rc)
        return rc;
    if (t->ts && n == t->ts->raw_len && !memcmp(b, t->ts->raw, n)) {
        /* the bytes verified just now under this root: nothing new */
        bwh_free(b);
        say(t, "timestamp unchanged (v%lld, same bytes)", (long long)t->ts->version);
        if (expired(t, t->ts))
            return fail(t, BW_E_EXPIRED, "timestamp v%lld has expired",
                        (long long)t->ts->version);
        return BW_OK;
    }
    rc = parse(t, "timestamp.json", b, n, "timestamp", &m);
    bwh_free(b);
    if (!rc)
        rc = verify_top(t, m, "timestamp");
    if (!rc && t->ts && m->version < t->ts->version)
        rc = fail(t, BW_E_ROLLBACK, "timestamp v%lld is older than the trusted v%lld",
                  (long long)m->version, (long long)t->ts->version);
    if (!rc && t->ts && m->version == t->ts->version) {
        say(t, "timestamp unchanged (v%lld)", (long long)m->version);
        bwh__tuf_md_free(m);
        m = NULL;
    } else if (!rc && t->ts &&
               meta_version(meta_of(m, "snapshot.json")) <
                   meta_version(meta_of(t->ts, "snapshot.json"))) {
        rc = fail(t, BW_E_ROLLBACK, "timestamp names snapshot v%lld, older than the trusted v%lld",
                  (long long)meta_version(meta_of(m, "snapshot.json")),
                  (long long)meta_version(meta_of(t->ts, "snapshot.json")));
    }
    if (!rc && expired(t, m ? m : t->ts))
        rc = fail(t, BW_E_EXPIRED, "timestamp v%lld has expired",
                  (long long)(m ? m : t->ts)->version);
    if (!rc && m)
        rc = persist(t, "timestamp", m);
    return m || rc ? settle(&t->ts, m, rc) : BW_OK; /* no m: the trusted one stays */
}

/* Length and hashes of a downloaded file against the entry naming it. */
static bw_err check_file(struct bwh_tuf *t, const char *what, const json_t *info, const uint8_t *b,
                         size_t n)
{
    char err[300];
    bw_err rc;

    rc = bwh__tuf_check_file(info, b, n, err, sizeof(err));
    if (rc)
        return fail(t, rc, "%s: %s", what, err);
    return BW_OK;
}

static size_t cap_of(const json_t *info, size_t dflt)
{
    const json_t *l = json_object_get(info, "length");

    return l ? (size_t)json_integer_value(l) : dflt;
}

/* Fetches the role whose percent-encoded name is pct at version want
 * (V.NAME.json, or NAME.json without consistent snapshots; file receives
 * the name), within the length info gives (else dflt), checks its length
 * and hashes against info and parses it as type. */
static bw_err fetch_role(struct bwh_tuf *t, const char *pct, int64_t want, const json_t *info,
                         size_t dflt, const char *type, char *file, size_t fcap,
                         struct bwh__tuf_md **m)
{
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    if (consistent(t))
        snprintf(file, fcap, "%lld.%s.json", (long long)want, pct);
    else
        snprintf(file, fcap, "%s.json", pct);
    rc = fetch_md(t, file, cap_of(info, dflt), &b, &n);
    if (rc)
        return rc;
    rc = check_file(t, file, info, b, n);
    if (!rc)
        rc = parse(t, file, b, n, type, m);
    bwh_free(b);
    return rc;
}

/* 5.5 */
static bw_err update_snapshot(struct bwh_tuf *t)
{
    const json_t *sm = meta_of(t->ts, "snapshot.json"), *old_meta;
    int64_t want = meta_version(sm);
    struct bwh__tuf_md *m = NULL;
    char file[64];
    const char *k;
    json_t *v;
    bw_err rc;

    bwh__tuf_md_free(t->snap);
    t->snap = local_top(t, "snapshot", BWH_TUF_SNAPSHOT_MAX);
    if (t->snap && !expired(t, t->snap) && t->snap->version == want) {
        say(t, "local snapshot v%lld is current", (long long)want);
        return BW_OK;
    }
    rc = fetch_role(t, "snapshot", want, sm, BWH_TUF_SNAPSHOT_MAX, "snapshot", file,
                    sizeof(file), &m);
    if (!rc)
        rc = verify_top(t, m, "snapshot");
    if (!rc && t->snap) {
        old_meta = json_object_get(t->snap->sg, "meta");
        json_object_foreach((json_t *)old_meta, k, v) {
            const json_t *nv = meta_of(m, k);

            if (!nv) {
                rc = fail(t, BW_E_ROLLBACK, "snapshot v%lld no longer lists %s",
                          (long long)m->version, k);
                break;
            }
            if (meta_version(nv) < meta_version(v)) {
                rc = fail(t, BW_E_ROLLBACK, "snapshot v%lld rolls %s back from v%lld to v%lld",
                          (long long)m->version, k, (long long)meta_version(v),
                          (long long)meta_version(nv));
                break;
            }
        }
    }
    if (!rc && expired(t, m))
        rc = fail(t, BW_E_EXPIRED, "snapshot v%lld has expired", (long long)m->version);
    if (!rc && m->version != want)
        rc = fail(t, BW_E_ROLLBACK, "%s holds version %lld", file, (long long)m->version);
    if (!rc)
        rc = persist(t, "snapshot", m);
    return settle(&t->snap, m, rc);
}

/* A targets role (top-level or delegated) named role, checked with keys
 * and spec (keyids, threshold) of its delegator: the local copy when it
 * matches the snapshot and verifies, else the repository's. */
static bw_err load_targets(struct bwh_tuf *t, const char *role, const json_t *keys,
                           const json_t *spec, struct bwh__tuf_md **out)
{
    char file[NAME_MAX_ * 3 + 40], pct[NAME_MAX_ * 3 + 1], err[300];
    const json_t *info;
    struct bwh__tuf_md *m = NULL;
    uint8_t *b = NULL;
    size_t n = 0;
    int64_t want;
    bw_err rc;

    *out = NULL;
    if (strlen(role) > NAME_MAX_ || bwh_tuf_pct(role, pct, sizeof(pct)) != BW_OK)
        return fail(t, BW_E_TOOBIG, "role name too long");
    snprintf(file, sizeof(file), "%s.json", role);
    info = meta_of(t->snap, file);
    if (!info)
        return fail(t, BW_E_NOTFOUND, "role %s is not in snapshot v%lld", role,
                    (long long)t->snap->version);
    want = meta_version(info);
    if (read_local(t, role, cap_of(info, BWH_TUF_TARGETS_MAX), &b, &n) == BW_OK) {
        if (bwh__tuf_check_file(info, b, n, err, sizeof(err)) == BW_OK &&
            bwh__tuf_md_parse(b, n, "targets", &m, err, sizeof(err)) == BW_OK &&
            bwh__tuf_md_verify(m, keys, spec, &t->st.verifies, err, sizeof(err)) == BW_OK &&
            m->version == want && !expired(t, m)) {
            bwh_free(b);
            say(t, "local %s v%lld is current", role, (long long)want);
            *out = m;
            return BW_OK;
        }
        bwh__tuf_md_free(m);
        m = NULL;
        bwh_free(b);
        b = NULL;
    }
    rc = fetch_role(t, pct, want, info, BWH_TUF_TARGETS_MAX, "targets", file, sizeof(file), &m);
    if (!rc)
        rc = verify(t, m, keys, spec, role);
    if (!rc && m->version != want)
        rc = fail(t, BW_E_ROLLBACK, "%s holds version %lld", file, (long long)m->version);
    if (!rc && expired(t, m))
        rc = fail(t, BW_E_EXPIRED, "%s v%lld has expired", role, (long long)m->version);
    if (!rc)
        rc = persist(t, role, m);
    if (rc) {
        bwh__tuf_md_free(m);
        return rc;
    }
    *out = m;
    return BW_OK;
}

bw_err bwh_tuf_refresh(struct bwh_tuf *t)
{
    size_t i;
    bw_err rc;

    t->err[0] = 0;
    t->now = (int64_t)time(NULL); /* libc time: faketime moves it */
    for (i = 0; i < t->nroles; i++) {
        bwh_free(t->roles[i].name);
        bwh__tuf_md_free(t->roles[i].md);
    }
    t->nroles = 0;
    bwh__tuf_md_free(t->targets);
    t->targets = NULL;
    bwh__tuf_md_free(t->root);
    t->root = NULL;
    t->root_was = 0;
    rc = load_trusted_root(t);
    if (!rc) {
        t->root_was = t->root->version;
        rc = update_root(t);
    }
    if (!rc && expired(t, t->root))
        rc = fail(t, BW_E_EXPIRED, "root v%lld has expired", (long long)t->root->version);
    if (!rc)
        rc = update_timestamp(t);
    if (!rc)
        rc = update_snapshot(t);
    if (!rc)
        rc = load_targets(t, "targets", json_object_get(t->root->sg, "keys"),
                          bwh__tuf_root_role(t->root, "targets"), &t->targets);
    ERR_clear_error();
    t->refreshed = rc == BW_OK;
    if (!rc)
        say(t, "refreshed: root v%lld, timestamp v%lld, snapshot v%lld, targets v%lld",
            (long long)t->root->version, (long long)t->ts->version, (long long)t->snap->version,
            (long long)t->targets->version);
    return rc;
}

/* ---- target search (5.6) ---- */

/* pattern and path split on '/' into as many parts, each part an fnmatch glob. */
static int path_matches(const char *pattern, const char *path)
{
    char pp[1024], tp[1024], *ps, *ts, *pe, *te;

    if (strlen(pattern) >= sizeof(pp) || strlen(path) >= sizeof(tp))
        return 0;
    strcpy(pp, pattern);
    strcpy(tp, path);
    ps = pp;
    ts = tp;
    for (;;) {
        pe = strchr(ps, '/');
        te = strchr(ts, '/');
        if (!!pe != !!te)
            return 0;
        if (pe)
            *pe = 0;
        if (te)
            *te = 0;
        if (fnmatch(ps, ts, FNM_NOESCAPE) != 0)
            return 0;
        if (!pe)
            return 1;
        ps = pe + 1;
        ts = te + 1;
    }
}

static void sha256_hex(const char *s, char hex[65])
{
    unsigned char d[32];
    unsigned dl = 0;

    memset(hex, 0, 65);
    if (EVP_Digest(s, strlen(s), d, &dl, EVP_sha256(), NULL) == 1 && dl == 32)
        bw_hex(hex, d, dl);
}

static int role_matches(const json_t *r, const char *path)
{
    const json_t *paths = json_object_get(r, "paths"), *pre = json_object_get(r, "path_hash_prefixes");
    char hex[65];
    size_t i;

    for (i = 0; i < json_array_size(paths); i++)
        if (path_matches(json_string_value(json_array_get(paths, i)), path))
            return 1;
    if (json_array_size(pre))
        sha256_hex(path, hex);
    for (i = 0; i < json_array_size(pre); i++) {
        const char *p = json_string_value(json_array_get(pre, i));

        if (!strncmp(hex, p, strlen(p)))
            return 1;
    }
    return 0;
}

/* The hash bin of path among succinct roles (TAP 15): the first
 * bit_length bits of SHA-256(path), as prefix-%0Nx. */
static void succinct_bin(const json_t *s, const char *path, char *out, size_t cap)
{
    unsigned bits = (unsigned)json_integer_value(json_object_get(s, "bit_length"));
    unsigned char d[32];
    unsigned dl = 0, width = 0;
    uint32_t v = 0, top;

    if (EVP_Digest(path, strlen(path), d, &dl, EVP_sha256(), NULL) == 1)
        v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    v = bits >= 32 ? v : v >> (32 - bits);
    top = bits >= 32 ? UINT32_MAX : ((uint32_t)1 << bits) - 1;
    for (; top; top >>= 4)
        width++;
    snprintf(out, cap, "%s-%0*x", json_string_value(json_object_get(s, "name_prefix")),
             (int)width, (unsigned)v);
}

struct visit {
    char name[NAME_MAX_ + 1];
    const struct bwh__tuf_md *parent; /* NULL for top-level targets */
    const json_t *spec;              /* keyids + threshold in the parent */
};

/* A delegated role verified against this parent: cached per (role,
 * delegator), so a role reached through another delegator (a diamond) is
 * verified again with that delegator's keys before it is trusted. */
static bw_err load_delegated(struct bwh_tuf *t, const struct visit *v, struct bwh__tuf_md **out)
{
    const json_t *keys = json_object_get(json_object_get(v->parent->sg, "delegations"), "keys");
    struct bwh__tuf_md *m = NULL;
    size_t i;
    bw_err rc;

    *out = NULL;
    for (i = 0; i < t->nroles; i++)
        if (t->roles[i].parent == v->parent && !strcmp(t->roles[i].name, v->name)) {
            *out = t->roles[i].md;
            return BW_OK;
        }
    if (t->nroles == ROLES_MAX)
        return fail(t, BW_E_TOOBIG, "more than %d delegated roles", ROLES_MAX);
    for (i = 0; i < t->nroles; i++)
        if (!strcmp(t->roles[i].name, v->name)) {
            /* the same bytes, trusted through another delegator */
            const struct bwh__tuf_md *o = t->roles[i].md;

            rc = parse(t, v->name, o->raw, o->raw_len, "targets", &m);
            if (!rc)
                rc = verify(t, m, keys, v->spec, v->name);
            if (rc) {
                bwh__tuf_md_free(m);
                return rc;
            }
            break;
        }
    if (!m) {
        rc = load_targets(t, v->name, keys, v->spec, &m);
        if (rc)
            return rc;
    }
    t->roles[t->nroles].name = dup_str(v->name);
    if (!t->roles[t->nroles].name) {
        bwh__tuf_md_free(m);
        return BW_E_NOMEM;
    }
    t->roles[t->nroles].parent = v->parent;
    t->roles[t->nroles].md = m;
    t->nroles++;
    *out = m;
    return BW_OK;
}

/* Pre-order depth-first search from top-level targets: *info is the
 * target entry of the first role that lists path (borrowed), or NULL. */
static bw_err find_target(struct bwh_tuf *t, const char *path, const json_t **info)
{
    static const size_t stack_max = 256;
    struct visit *stack = NULL, *v;
    char(*visited)[NAME_MAX_ + 1] = NULL;
    size_t top = 0, nvisited = 0, i, j;
    bw_err rc;

    *info = NULL;
    rc = BW_E_NOMEM;
    stack = bwh_calloc(stack_max, sizeof(*stack));
    visited = bwh_calloc(BWH_TUF_DELEGATIONS + 1, sizeof(*visited));
    if (!stack || !visited)
        goto out;
    strcpy(stack[top++].name, "targets");
    while (top && nvisited <= BWH_TUF_DELEGATIONS) {
        const struct bwh__tuf_md *m;
        struct bwh__tuf_md *dm = NULL;
        const json_t *d, *roles, *succ;
        size_t first;

        v = &stack[--top];
        for (i = 0; i < nvisited; i++)
            if (!strcmp(visited[i], v->name))
                break;
        if (i < nvisited)
            continue;
        if (!v->parent) {
            m = t->targets;
        } else {
            rc = load_delegated(t, v, &dm);
            if (rc)
                goto out;
            m = dm;
        }
        *info = json_object_get(json_object_get(m->sg, "targets"), path);
        if (*info) {
            say(t, "%s: listed by %s", path, v->name);
            break;
        }
        if (nvisited == BWH_TUF_DELEGATIONS)
            break;
        strcpy(visited[nvisited++], v->name);
        d = json_object_get(m->sg, "delegations");
        roles = json_object_get(d, "roles");
        succ = json_object_get(d, "succinct_roles");
        first = top;
        if (succ) {
            if (top == stack_max)
                continue;
            succinct_bin(succ, path, stack[top].name, sizeof(stack[top].name));
            stack[top].parent = m;
            stack[top].spec = succ;
            top++;
            continue;
        }
        for (i = 0; i < json_array_size(roles); i++) {
            const json_t *r = json_array_get(roles, i);
            const char *name = json_string_value(json_object_get(r, "name"));

            if (!role_matches(r, path))
                continue;
            if (json_is_true(json_object_get(r, "terminating"))) {
                /* this child's subtree, then nothing else */
                memmove(&stack[0], &stack[first], (top - first) * sizeof(*stack));
                top -= first;
                first = 0;
            }
            if (top == stack_max || strlen(name) > NAME_MAX_) {
                rc = fail(t, BW_E_TOOBIG, "delegations too wide or names too long");
                goto out;
            }
            strcpy(stack[top].name, name);
            stack[top].parent = m;
            stack[top].spec = r;
            top++;
            if (json_is_true(json_object_get(r, "terminating")))
                break;
        }
        /* pushed in listed order: reverse so the first listed pops first */
        for (i = first, j = top; i + 1 < j; i++, j--) {
            struct visit tmp = stack[i];

            stack[i] = stack[j - 1];
            stack[j - 1] = tmp;
        }
    }
    rc = BW_OK;
out:
    bwh_free(stack);
    bwh_free(visited);
    return rc;
}

/* path's entry (refreshing first when this handle has not): BW_OK with
 * *info, BW_E_NOTFOUND when no role lists it, the refresh's errors. */
static bw_err lookup(struct bwh_tuf *t, const char *path, const json_t **info)
{
    bw_err rc;

    *info = NULL;
    if (!t->refreshed) {
        rc = bwh_tuf_refresh(t);
        if (rc)
            return rc;
    }
    t->err[0] = 0;
    rc = find_target(t, path, info);
    if (!rc && !*info)
        rc = fail(t, BW_E_NOTFOUND, "no role lists target %s", path);
    return rc;
}

/* The local name of a target: TD/pct(path), flat, never outside TD. */
static bw_err target_file(const struct bwh_tuf *t, const char *path, char *out, size_t cap)
{
    char pct[NAME_MAX_ * 3 + 1];

    if (strlen(path) > NAME_MAX_ || bwh_tuf_pct(path, pct, sizeof(pct)) != BW_OK)
        return BW_E_TOOBIG;
    return join(t->tg_dir, pct, out, cap);
}

bw_err bwh_tuf_download(struct bwh_tuf *t, const char *path, int *cached)
{
    char local[4096], url[8192], name[NAME_MAX_ + 200], err[300];
    const json_t *info = NULL, *hashes;
    const char *slash, *alg;
    json_t *h = NULL;
    uint8_t *b = NULL;
    size_t n = 0, cap;
    long status = 0;
    bw_err rc;

    if (cached)
        *cached = 0;
    if (!t->tg_dir || !t->tg_url)
        return BW_E_INVAL;
    rc = lookup(t, path, &info);
    if (rc)
        goto out;
    rc = target_file(t, path, local, sizeof(local));
    if (rc) {
        rc = fail(t, rc, "target name too long");
        goto out;
    }
    cap = (size_t)json_integer_value(json_object_get(info, "length"));
    if (bwh_read_file(local, cap + 1, &b, &n) == BW_OK &&
        bwh__tuf_check_file(info, b, n, err, sizeof(err)) == BW_OK) {
        say(t, "%s: the local copy matches, not downloaded", path);
        if (cached)
            *cached = 1;
        rc = BW_OK;
        goto out;
    }
    bwh_free(b);
    b = NULL;
    slash = strrchr(path, '/');
    hashes = json_object_get(info, "hashes");
    if (consistent(t)) {
        /* d1/d2/HEX.name with the first listed hash */
        json_object_foreach((json_t *)hashes, alg, h)
            break;
        snprintf(name, sizeof(name), "%.*s%s.%s", slash ? (int)(slash - path + 1) : 0, path,
                 h ? json_string_value(h) : "", slash ? slash + 1 : path);
    } else {
        snprintf(name, sizeof(name), "%s", path);
    }
    rc = join(t->tg_url, name, url, sizeof(url));
    if (rc) {
        rc = fail(t, rc, "target URL too long");
        goto out;
    }
    rc = fetch(t, url, cap, &b, &n, &status);
    if (rc)
        goto out;
    if (status != 200) {
        rc = fail(t, BW_E_NOTFOUND, "%s: HTTP status %ld", url, status);
        goto out;
    }
    rc = check_file(t, path, info, b, n);
    if (rc)
        goto out;
    rc = bwh_write_file_atomic(local, b, n, 0644);
    if (rc) {
        rc = fail(t, rc, "cannot write %s: %s", local, strerror(errno));
        goto out;
    }
    say(t, "%s: %zu bytes verified and stored as %s", path, n, local);
    rc = BW_OK;
out:
    bwh_free(b);
    ERR_clear_error();
    return rc;
}

/* A string field of the custom object into out (cap bytes, at least 1
 * byte long when present): BW_E_FORMAT when it is not a string that fits. */
static bw_err custom_str(const json_t *cu, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(cu, key);
    size_t n;

    out[0] = 0;
    if (!v)
        return BW_OK;
    if (!json_is_string(v) || (n = json_string_length(v)) == 0 || n >= cap ||
        strlen(json_string_value(v)) != n)
        return BW_E_FORMAT;
    memcpy(out, json_string_value(v), n + 1);
    return BW_OK;
}

bw_err bwh_tuf_target(struct bwh_tuf *t, const char *path, struct bwh_tuf_target *out)
{
    const json_t *info = NULL, *h, *cu, *seq;
    bw_err rc;

    memset(out, 0, sizeof(*out));
    rc = lookup(t, path, &info);
    if (rc)
        return rc;
    out->length = (uint64_t)json_integer_value(json_object_get(info, "length"));
    h = json_object_get(json_object_get(info, "hashes"), "sha256");
    if (h && json_string_length(h) == 64)
        memcpy(out->sha256, json_string_value(h), 65);
    cu = json_object_get(json_object_get(info, "custom"), "bulwark");
    if (!cu)
        return BW_OK;
    seq = json_object_get(cu, "sequence");
    if (!json_is_object(cu) || (seq && (!json_is_integer(seq) || json_integer_value(seq) < 0)) ||
        custom_str(cu, "vendor_id", out->vendor_id, sizeof(out->vendor_id)) ||
        custom_str(cu, "class_id", out->class_id, sizeof(out->class_id)) ||
        custom_str(cu, "hardware", out->hardware, sizeof(out->hardware)))
        return fail(t, BW_E_FORMAT, "target %s: malformed custom metadata", path);
    out->has_custom = 1;
    out->has_sequence = seq != NULL;
    out->sequence = seq ? (uint64_t)json_integer_value(seq) : 0;
    return BW_OK;
}

void bwh_tuf_get_versions(const struct bwh_tuf *t, struct bwh_tuf_versions *v)
{
    int ok = t->refreshed;

    memset(v, 0, sizeof(*v));
    v->root_was = t->root_was;
    v->root = t->root ? t->root->version : 0;
    v->timestamp = ok && t->ts ? t->ts->version : 0;
    v->snapshot = ok && t->snap ? t->snap->version : 0;
    v->targets = ok && t->targets ? t->targets->version : 0;
    v->ts_expires = ok && t->ts ? t->ts->expires : 0;
}

bw_err bwh_tuf_init(const char *metadata_dir, const uint8_t *root, size_t len, FILE *log)
{
    struct bwh_tuf t;
    bw_err rc;

    memset(&t, 0, sizeof(t));
    t.md_dir = (char *)metadata_dir;
    t.log = log;
    rc = parse(&t, "initial root", root, len, "root", &t.root);
    if (!rc)
        rc = verify_top(&t, t.root, "root");
    if (!rc)
        rc = persist(&t, "root", t.root);
    bwh__tuf_md_free(t.root);
    ERR_clear_error();
    return rc;
}

bw_err bwh_tuf_init_file(const char *metadata_dir, const char *root_path, FILE *log)
{
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    rc = bwh_read_file(root_path, BWH_TUF_ROOT_MAX, &b, &n);
    if (rc)
        return rc;
    errno = 0;
    rc = mkdir(metadata_dir, 0700) != 0 && errno != EEXIST ? BW_E_IO : BW_OK;
    if (!rc)
        rc = bwh_tuf_init(metadata_dir, b, n, log);
    bwh_free(b);
    return rc;
}

bw_err bwh_tuf_check(const uint8_t *buf, size_t len, char *err, size_t cap)
{
    struct bwh__tuf_md *m = NULL;
    bw_err rc;

    if (cap)
        err[0] = 0;
    rc = bwh__tuf_md_parse(buf, len, NULL, &m, err, cap);
    if (!rc && !strcmp(m->type, "root"))
        rc = bwh__tuf_md_verify(m, json_object_get(m->sg, "keys"), bwh__tuf_root_role(m, "root"),
                               NULL, err, cap);
    bwh__tuf_md_free(m);
    ERR_clear_error();
    return rc;
}
