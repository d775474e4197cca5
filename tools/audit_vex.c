/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Vulnerability status (vex.h): Debian version comparison, OSV and CSAF
 * import, matching release SBOMs, and the OpenVEX, CSAF and Art. 14
 * documents. The imported files come from the maker but hold third-party
 * data: every reader checks types and is fuzzed (fuzz/fuzz_audit_vex_*.c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bulwark/bulwark.h"
#include "vex.h"

/* ---- Debian versions ------------------------------------------------------ */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* dpkg's character order: '~' first, then the end and digits, letters,
 * then everything else. */
static int order(char c)
{
    if (is_digit(c))
        return 0;
    if (is_alpha(c))
        return (unsigned char)c;
    if (c == '~')
        return -1;
    if (c)
        return (unsigned char)c + 256;
    return 0;
}

/*
 * Method (deb-version(7)): alternately compare the longest leading run of
 * non-digits (character by character in the order above) and the longest
 * run of digits (as numbers: leading zeros skipped, then the longer run,
 * then the first differing digit).
 */
static int verrevcmp(const char *a, const char *b)
{
    while (*a || *b) {
        int first_diff = 0;

        while ((*a && !is_digit(*a)) || (*b && !is_digit(*b))) {
            int ac = order(*a), bc = order(*b);

            if (ac != bc)
                return ac - bc;
            a++;
            b++;
        }
        while (*a == '0')
            a++;
        while (*b == '0')
            b++;
        while (is_digit(*a) && is_digit(*b)) {
            if (!first_diff)
                first_diff = *a - *b;
            a++;
            b++;
        }
        if (is_digit(*a))
            return 1;
        if (is_digit(*b))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
}

struct dver {
    unsigned long long epoch;
    char buf[VEX_VERSION_MAX + 1];
    const char *upstream, *revision;
};

static bw_err parse_ver(const char *v, struct dver *d)
{
    size_t n = strlen(v), i;
    char *colon, *dash;

    if (!n || n > VEX_VERSION_MAX)
        return BW_E_FORMAT;
    for (i = 0; i < n; i++)
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
            return BW_E_FORMAT;
    memcpy(d->buf, v, n + 1);
    d->epoch = 0;
    colon = strchr(d->buf, ':');
    if (colon) {
        char *end;

        *colon = 0;
        if (!d->buf[0] || !is_digit(d->buf[0]))
            return BW_E_FORMAT;
        d->epoch = strtoull(d->buf, &end, 10);
        if (*end || d->epoch > 0xffffffffull)
            return BW_E_FORMAT;
        d->upstream = colon + 1;
    } else {
        d->upstream = d->buf;
    }
    dash = strrchr((char *)d->upstream, '-');
    if (dash) {
        *dash = 0;
        d->revision = dash + 1;
    } else {
        d->revision = "";
    }
    return *d->upstream ? BW_OK : BW_E_FORMAT;
}

bw_err vex_deb_vercmp(const char *a, const char *b, int *cmp)
{
    struct dver x, y;
    bw_err rc;
    int c;

    *cmp = 0;
    if ((rc = parse_ver(a, &x)) || (rc = parse_ver(b, &y)))
        return rc;
    if (x.epoch != y.epoch) {
        *cmp = x.epoch < y.epoch ? -1 : 1;
        return BW_OK;
    }
    c = verrevcmp(x.upstream, y.upstream);
    if (!c)
        c = verrevcmp(x.revision, y.revision);
    *cmp = c < 0 ? -1 : c > 0;
    return BW_OK;
}

/* ---- helpers -------------------------------------------------------------- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *obj_at(json_t *parent, const char *k)
{
    json_t *o = json_object_get(parent, k);

    if (!json_is_object(o)) {
        o = json_object();
        if (!o || json_object_set_new(parent, k, o))
            return NULL;
    }
    return o;
}

static int is_cve(const char *s)
{
    return s && !strncmp(s, "CVE-", 4);
}

/* "msg: arg" (or msg alone) into err */
static void errf(char *err, size_t cap, const char *msg, const char *arg)
{
    if (err && cap)
        snprintf(err, cap, "%s%s%s", msg, arg ? ": " : "", arg ? arg : "");
}

/* Keeps the maker's fields of an older record (awareness, exploitation). */
static bw_err put_vuln(json_t *db, const char *key, json_t *rec)
{
    json_t *vulns = obj_at(db, "vulnerabilities"), *old;
    static const char *const keep[] = {"aware", "exploited", "severity_note"};
    size_t i;

    if (!vulns) {
        json_decref(rec);
        return BW_E_NOMEM;
    }
    old = json_object_get(vulns, key);
    for (i = 0; old && i < sizeof(keep) / sizeof(keep[0]); i++)
        if (json_object_get(old, keep[i]))
            json_object_set(rec, keep[i], json_object_get(old, keep[i]));
    return json_object_set_new(vulns, key, rec) ? BW_E_NOMEM : BW_OK;
}

/* ---- OSV ------------------------------------------------------------------ */

static bw_err osv_one(json_t *db, const json_t *v, char *err, size_t cap)
{
    const char *id = sget(v, "id"), *key = id;
    json_t *aff = json_object_get(v, "affected"), *al = json_object_get(v, "aliases"), *a;
    json_t *rec, *pkgs;
    size_t i, j, k;

    if (!id || !*id || !json_is_array(aff) || !json_array_size(aff)) {
        errf(err, cap, "OSV record without id or affected packages", id);
        return BW_E_FORMAT;
    }
    json_array_foreach(al, i, a)
        if (!is_cve(key) && is_cve(json_string_value(a)))
            key = json_string_value(a);
    pkgs = json_array();
    rec = json_pack("{s:s,s:s,s:o}", "id", key, "source", "osv", "packages", pkgs);
    if (!rec)
        return BW_E_NOMEM;
    if (sget(v, "summary"))
        json_object_set(rec, "summary", json_object_get(v, "summary"));
    else if (sget(v, "details"))
        json_object_set(rec, "summary", json_object_get(v, "details"));
    {
        json_t *names = json_array();

        if (strcmp(key, id))
            json_array_append_new(names, json_string(id));
        json_array_foreach(al, i, a)
            if (json_is_string(a) && strcmp(json_string_value(a), key))
                json_array_append(names, a);
        json_object_set_new(rec, "aliases", names);
    }
    json_array_foreach(aff, i, a) {
        const json_t *pk = json_object_get(a, "package");
        json_t *rs = json_object_get(a, "ranges"), *vs = json_object_get(a, "versions"), *r, *x;
        const char *name = sget(pk, "name");
        json_t *p, *ranges = json_array(), *vers = json_array();

        if (!name || !*name) {
            json_decref(ranges);
            json_decref(vers);
            json_decref(rec);
            errf(err, cap, "an affected entry without a package name in OSV record", id);
            return BW_E_FORMAT;
        }
        json_array_foreach(vs, j, x)
            if (json_is_string(x))
                json_array_append(vers, x);
        json_array_foreach(rs, j, r) {
            json_t *ev = json_object_get(r, "events");
            const char *intro = NULL;

            if (!sget(r, "type") || strcmp(sget(r, "type"), "ECOSYSTEM"))
                continue; /* SEMVER and GIT ranges say nothing about packages */
            json_array_foreach(ev, k, x) {
                if (sget(x, "introduced")) {
                    intro = sget(x, "introduced");
                } else if (sget(x, "fixed") || sget(x, "last_affected")) {
                    int fixed = sget(x, "fixed") != NULL;

                    json_array_append_new(ranges,
                                          json_pack("{s:s,s:s}", "introduced", intro ? intro : "0",
                                                    fixed ? "fixed" : "last_affected",
                                                    fixed ? sget(x, "fixed")
                                                          : sget(x, "last_affected")));
                    intro = NULL;
                }
            }
            if (intro) /* introduced and never fixed */
                json_array_append_new(ranges, json_pack("{s:s}", "introduced", intro));
        }
        p = json_pack("{s:s,s:o,s:o}", "name", name, "ranges", ranges, "versions", vers);
        if (!p || json_array_append_new(pkgs, p)) {
            json_decref(rec);
            return BW_E_NOMEM;
        }
    }
    return put_vuln(db, key, rec);
}

/* ---- CSAF ----------------------------------------------------------------- */

/* "pkg:deb/debian/name@version?..." -> name, version (percent-decoded) */
static int purl_split(const char *purl, char *name, size_t ncap, char *ver, size_t vcap)
{
    const char *p, *at, *end, *slash;
    size_t o = 0;

    if (!purl || strncmp(purl, "pkg:", 4))
        return 0;
    at = strchr(purl, '@');
    end = purl + strcspn(purl, "?#");
    if (!at || at > end)
        return 0;
    for (slash = at; slash > purl && slash[-1] != '/'; slash--)
        ;
    if ((size_t)(at - slash) >= ncap || at == slash)
        return 0;
    memcpy(name, slash, (size_t)(at - slash));
    name[at - slash] = 0;
    for (p = at + 1; p < end && o + 1 < vcap; p++) {
        if (*p == '%' && p + 2 < end) {
            char h[3] = {p[1], p[2], 0};
            char *e;
            unsigned long c = strtoul(h, &e, 16);

            if (*e || !c)
                return 0;
            ver[o++] = (char)c;
            p += 2;
        } else {
            ver[o++] = *p;
        }
    }
    ver[o] = 0;
    return o > 0;
}

/* product_id -> (name, version) from the product tree's purls */
static void csaf_walk(const json_t *branches, json_t *map)
{
    const json_t *b;
    size_t i;

    json_array_foreach(branches, i, b) {
        const json_t *prod = json_object_get(b, "product");
        const char *pid = sget(prod, "product_id");
        const char *purl = sget(json_object_get(prod, "product_identification_helper"), "purl");
        char name[256], ver[VEX_VERSION_MAX + 1];

        if (pid && purl_split(purl, name, sizeof(name), ver, sizeof(ver)))
            json_object_set_new(map, pid, json_pack("[s,s]", name, ver));
        csaf_walk(json_object_get(b, "branches"), map);
    }
}

static bw_err csaf_import(json_t *db, const json_t *doc, size_t *added, char *err, size_t cap)
{
    const json_t *tree = json_object_get(doc, "product_tree"), *v, *fp;
    json_t *map = json_object();
    size_t i;
    bw_err rc = BW_OK;

    if (!map)
        return BW_E_NOMEM;
    csaf_walk(json_object_get(tree, "branches"), map);
    json_array_foreach(json_object_get(tree, "full_product_names"), i, fp) {
        const char *pid = sget(fp, "product_id");
        const char *purl = sget(json_object_get(fp, "product_identification_helper"), "purl");
        char name[256], ver[VEX_VERSION_MAX + 1];

        if (pid && purl_split(purl, name, sizeof(name), ver, sizeof(ver)))
            json_object_set_new(map, pid, json_pack("[s,s]", name, ver));
    }
    json_array_foreach(json_object_get(doc, "vulnerabilities"), i, v) {
        const char *cve = sget(v, "cve"), *key = cve;
        const json_t *st = json_object_get(v, "product_status"), *x;
        json_t *rec, *pkgs = json_object(), *arr;
        static const char *const aff[] = {"known_affected", "first_affected", "last_affected"};
        static const char *const fix[] = {"fixed", "first_fixed"};
        size_t j, k;
        const char *nm;
        json_t *pv;

        if (!key)
            key = sget(json_array_get(json_object_get(v, "ids"), 0), "text");
        if (!key || !*key) {
            errf(err, cap, "a CSAF vulnerability without cve or ids", NULL);
            rc = BW_E_FORMAT;
            json_decref(pkgs);
            break;
        }
        for (k = 0; k < 5; k++) {
            const char *status = k < 3 ? aff[k] : fix[k - 3];

            json_array_foreach(json_object_get(st, status), j, x) {
                json_t *nv = json_object_get(map, json_string_value(x)), *p;
                const char *name = json_string_value(json_array_get(nv, 0));
                const char *ver = json_string_value(json_array_get(nv, 1));

                if (!name)
                    continue; /* a product we cannot name: not matched */
                p = json_object_get(pkgs, name);
                if (!p) {
                    p = json_pack("{s:s,s:[],s:[]}", "name", name, "ranges", "versions");
                    json_object_set_new(pkgs, name, p);
                }
                if (k < 3) {
                    json_array_append_new(json_object_get(p, "versions"), json_string(ver));
                } else {
                    /* a fixed version: everything before it was affected */
                    json_array_append_new(json_object_get(p, "ranges"),
                                          json_pack("{s:s,s:s}", "introduced", "0", "fixed", ver));
                }
            }
        }
        arr = json_array();
        json_object_foreach(pkgs, nm, pv)
            json_array_append(arr, pv);
        json_decref(pkgs);
        rec = json_pack("{s:s,s:s,s:o,s:[]}", "id", key, "source", "csaf", "packages", arr,
                        "aliases");
        if (!rec) {
            rc = BW_E_NOMEM;
            break;
        }
        json_array_foreach(json_object_get(v, "notes"), j, x)
            if (sget(x, "text") && !json_object_get(rec, "summary"))
                json_object_set(rec, "summary", json_object_get(x, "text"));
        if ((rc = put_vuln(db, key, rec)))
            break;
        (*added)++;
    }
    json_decref(map);
    return rc;
}

bw_err vex_import(json_t *db, const char *buf, size_t len, size_t *added, char *err, size_t cap)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je), *list = NULL, *v;
    size_t i;
    bw_err rc = BW_E_FORMAT;

    *added = 0;
    if (!root) {
        errf(err, cap, "not JSON", je.text);
        goto out;
    }
    if (json_is_object(json_object_get(root, "document")) &&
        sget(json_object_get(root, "document"), "csaf_version")) {
        rc = csaf_import(db, root, added, err, cap);
        goto out;
    }
    if (json_is_array(root))
        list = root;
    else if (json_is_array(json_object_get(root, "vulns")))
        list = json_object_get(root, "vulns");
    if (list) {
        json_array_foreach(list, i, v) {
            if ((rc = osv_one(db, v, err, cap)))
                goto out;
            (*added)++;
        }
        rc = *added ? BW_OK : BW_E_FORMAT;
        if (rc)
            errf(err, cap, "no OSV records", NULL);
    } else if (json_is_object(root) && sget(root, "id")) {
        rc = osv_one(db, root, err, cap);
        *added = rc ? 0 : 1;
    } else {
        errf(err, cap, "neither OSV nor CSAF", NULL);
    }
out:
    json_decref(root);
    return rc;
}

/* ---- releases and matching -------------------------------------------------- */

bw_err vex_add_release(json_t *db, const char *name, const char *pkg_sha256, uint64_t sequence,
                       const json_t *sbom, const char *sbom_sha256, int security_only,
                       const char *date)
{
    const json_t *mc = json_object_get(json_object_get(sbom, "metadata"), "component"), *c;
    const json_t *man = json_object_get(json_object_get(sbom, "metadata"), "manufacturer");
    json_t *rels = obj_at(db, "releases"), *comps, *rel;
    size_t i;

    if (!rels)
        return BW_E_NOMEM;
    if (!sget(mc, "name") || !json_is_array(json_object_get(sbom, "components")))
        return BW_E_FORMAT;
    comps = json_array();
    json_array_foreach(json_object_get(sbom, "components"), i, c) {
        if (!sget(c, "name") || !sget(c, "version"))
            continue;
        json_array_append_new(comps, json_pack("{s:s,s:s,s:s?}", "name", sget(c, "name"),
                                               "version", sget(c, "version"), "purl",
                                               sget(c, "purl")));
    }
    rel = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s?,s:b,s:s,s:o}", "name", name, "package_sha256",
                    pkg_sha256, "sequence", (json_int_t)sequence, "sbom_sha256", sbom_sha256,
                    "product", sget(mc, "name"), "vendor", sget(man, "name"), "security_only",
                    security_only, "date", date, "components", comps);
    if (!rel)
        return BW_E_NOMEM;
    return json_object_set_new(rels, name, rel) ? BW_E_NOMEM : BW_OK;
}

static int in_ranges(const json_t *pkg, const char *ver, int *fixed_here)
{
    const json_t *r, *x;
    size_t i;
    int c;

    *fixed_here = 0;
    json_array_foreach(json_object_get(pkg, "versions"), i, x)
        if (json_is_string(x) && !strcmp(json_string_value(x), ver))
            return 1;
    json_array_foreach(json_object_get(pkg, "ranges"), i, r) {
        const char *in = sget(r, "introduced"), *fx = sget(r, "fixed");
        const char *la = sget(r, "last_affected");

        if (in && strcmp(in, "0") && (vex_deb_vercmp(ver, in, &c) || c < 0))
            continue; /* before it was introduced (or not comparable) */
        if (fx) {
            if (vex_deb_vercmp(ver, fx, &c))
                continue;
            if (c < 0)
                return 1;
            *fixed_here = 1;
        } else if (la) {
            if (!vex_deb_vercmp(ver, la, &c) && c <= 0)
                return 1;
            *fixed_here = 1;
        } else {
            return 1;
        }
    }
    return 0;
}

bw_err vex_status_valid(const char *status, const char *just)
{
    static const char *const st[] = {"not_affected", "affected", "fixed", "under_investigation"};
    static const char *const js[] = {"component_not_present", "vulnerable_code_not_present",
                                     "vulnerable_code_not_in_execute_path",
                                     "vulnerable_code_cannot_be_controlled_by_adversary",
                                     "inline_mitigations_already_exist"};
    size_t i;
    int ok = 0;

    for (i = 0; status && i < 4; i++)
        ok |= !strcmp(status, st[i]);
    if (!ok)
        return BW_E_INVAL;
    if (strcmp(status, "not_affected"))
        return just ? BW_E_INVAL : BW_OK;
    for (i = 0; just && i < 5; i++)
        if (!strcmp(just, js[i]))
            return BW_OK;
    return BW_E_INVAL;
}

/* A later release where the vulnerability is fixed or not affected. */
static const char *fixing_release(const json_t *db, const char *vid, const json_t *rel)
{
    const json_t *rels = json_object_get(db, "releases"), *r;
    const json_t *st = json_object_get(json_object_get(db, "status"), vid);
    const char *name, *best = NULL;
    json_int_t seq = json_integer_value(json_object_get(rel, "sequence")), bs = 0;

    json_object_foreach((json_t *)rels, name, r) {
        const char *s = sget(json_object_get(st, name), "status");
        json_int_t q = json_integer_value(json_object_get(r, "sequence"));

        if (s && (!strcmp(s, "fixed") || !strcmp(s, "not_affected")) && q > seq &&
            (!best || q < bs)) {
            best = name;
            bs = q;
        }
    }
    return best;
}

bw_err vex_match(json_t *db, const char *now)
{
    json_t *vulns = json_object_get(db, "vulnerabilities"), *rels = json_object_get(db, "releases");
    json_t *status = obj_at(db, "status"), *v, *r, *per;
    const char *vid, *rname;

    if (!status)
        return BW_E_NOMEM;
    json_object_foreach(vulns, vid, v) {
        per = obj_at(status, vid);
        if (!per)
            return BW_E_NOMEM;
        json_object_foreach(rels, rname, r) {
            const json_t *old = json_object_get(per, rname), *pkg, *c;
            const char *st = "not_affected", *just = "component_not_present";
            const char *cname = NULL, *cver = NULL, *cpurl = NULL;
            size_t i, j;
            json_t *rec;

            if (old && sget(old, "by") && !strcmp(sget(old, "by"), "maker"))
                continue; /* the maker's assessment stands */
            json_array_foreach(json_object_get(v, "packages"), i, pkg) {
                json_array_foreach(json_object_get(r, "components"), j, c) {
                    int fixed_here = 0;

                    if (!sget(c, "name") || strcmp(sget(c, "name"), sget(pkg, "name")))
                        continue;
                    cname = sget(c, "name");
                    cver = sget(c, "version");
                    cpurl = sget(c, "purl");
                    if (in_ranges(pkg, cver, &fixed_here)) {
                        st = "affected";
                        just = NULL;
                        goto decided;
                    }
                    if (fixed_here) {
                        st = "fixed";
                        just = NULL;
                    } else if (strcmp(st, "fixed")) {
                        just = "vulnerable_code_not_present";
                    }
                }
            }
        decided:
            rec = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s,s:s}", "status", st, "justification",
                            just, "component", cname, "version", cver, "purl", cpurl, "by",
                            "match", "timestamp", now);
            if (!rec || json_object_set_new(per, rname, rec))
                return BW_E_NOMEM;
        }
    }
    return BW_OK;
}

/* ---- OpenVEX ------------------------------------------------------------------ */

static json_t *release_purl(const json_t *rel, const char *name)
{
    char buf[600];
    const char *vendor = sget(rel, "vendor"), *prod = sget(rel, "product");
    size_t i, o = 0;
    char safe_v[200], safe_p[200];

    for (i = 0; vendor && vendor[i] && o + 1 < sizeof(safe_v); i++)
        safe_v[o++] = (is_alpha(vendor[i]) || is_digit(vendor[i]) || vendor[i] == '-' ||
                       vendor[i] == '.') ? (char)(vendor[i] | (is_alpha(vendor[i]) ? 0x20 : 0))
                                         : '-';
    safe_v[o] = 0;
    for (i = 0, o = 0; prod && prod[i] && o + 1 < sizeof(safe_p); i++)
        safe_p[o++] = (is_alpha(prod[i]) || is_digit(prod[i]) || prod[i] == '-' || prod[i] == '.')
                          ? (char)(prod[i] | (is_alpha(prod[i]) ? 0x20 : 0))
                          : '-';
    safe_p[o] = 0;
    o = (size_t)snprintf(buf, sizeof(buf), "pkg:generic/%s%s%s@", safe_v, *safe_v ? "/" : "",
                         safe_p);
    /* the version percent-encoded: what is not unreserved (RFC 3986) */
    for (i = 0; name[i] && o + 4 < sizeof(buf); i++) {
        unsigned char ch = (unsigned char)name[i];

        if (is_alpha((char)ch) || is_digit((char)ch) || ch == '.' || ch == '-' || ch == '_' ||
            ch == '~')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%%%02X", ch);
    }
    buf[o] = 0;
    return json_string(buf);
}

/* Whether a release name reads as a version range to CSAF 6.1.31: one of
 * < > or a whitespace-separated word after, all, before, earlier, later,
 * prior, versions (any case). */
static int range_like(const char *name)
{
    static const char *const words[] = {"after", "all",   "before",  "earlier",
                                        "later", "prior", "versions"};
    const char *p = name;

    if (strchr(name, '<') || strchr(name, '>'))
        return 1;
    while (*p) {
        size_t n = 0, k;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        while (p[n] && !(p[n] == ' ' || p[n] == '\t' || p[n] == '\n' || p[n] == '\r' ||
                         p[n] == '\f' || p[n] == '\v'))
            n++;
        for (k = 0; n && k < sizeof(words) / sizeof(words[0]); k++)
            if (strlen(words[k]) == n && !strncasecmp(p, words[k], n))
                return 1;
        p += n;
    }
    return 0;
}

json_t *vex_openvex(const json_t *db, const struct vex_pub *p)
{
    const json_t *status = json_object_get(db, "status"), *per, *s;
    const json_t *vulns = json_object_get(db, "vulnerabilities");
    const json_t *rels = json_object_get(db, "releases");
    const char *vid, *rname;
    json_t *doc, *stm = json_array();
    char id[160];
    uint8_t d[BW_SHA256_LEN];
    char hex[65];

    if (!stm)
        return NULL;
    json_object_foreach((json_t *)status, vid, per) {
        const json_t *v = json_object_get(vulns, vid);

        json_object_foreach((json_t *)per, rname, s) {
            const json_t *rel = json_object_get(rels, rname);
            const char *st = sget(s, "status");
            json_t *prod, *one;

            if (!rel || !st)
                continue;
            prod = json_pack("{s:o,s:{s:s}}", "@id", release_purl(rel, rname), "hashes",
                             "sha-256", sget(rel, "package_sha256"));
            if (prod && sget(s, "purl")) /* the component, by its purl */
                json_object_set_new(prod, "subcomponents",
                                    json_pack("[{s:s,s:{s:s}}]", "@id", sget(s, "purl"),
                                              "identifiers", "purl", sget(s, "purl")));
            one = json_pack("{s:{s:s},s:[o],s:s,s:s}", "vulnerability", "name", vid, "products",
                            prod, "status", st, "timestamp", sget(s, "timestamp"));
            if (!one) {
                json_decref(stm);
                return NULL;
            }
            if (json_array_size(json_object_get(v, "aliases")))
                json_object_set(json_object_get(one, "vulnerability"), "aliases",
                                json_object_get(v, "aliases"));
            if (!strcmp(st, "not_affected")) {
                if (sget(s, "justification"))
                    json_object_set(one, "justification", json_object_get(s, "justification"));
                else
                    json_object_set_new(one, "impact_statement", json_string("not affected"));
            }
            if (!strcmp(st, "affected")) {
                const char *fx = fixing_release(db, vid, rel);
                char act[300];

                snprintf(act, sizeof(act), fx ? "Install release %s, which fixes it."
                                              : "No fix released yet; see the advisory.%s",
                         fx ? fx : "");
                json_object_set_new(one, "action_statement", json_string(act));
            }
            if (sget(s, "note"))
                json_object_set(one, "status_notes", json_object_get(s, "note"));
            json_array_append_new(stm, one);
        }
    }
    if (!json_array_size(stm)) {
        json_decref(stm);
        return NULL;
    }
    {
        size_t n = json_dumpb(stm, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
        char *t = n ? bwh_malloc(n) : NULL;

        if (!t || json_dumpb(stm, t, n, JSON_COMPACT | JSON_SORT_KEYS) != n ||
            bw_sha256((const uint8_t *)t, n, d)) {
            bwh_free(t);
            json_decref(stm);
            return NULL;
        }
        bwh_free(t);
        bw_hex(hex, d, sizeof(d));
    }
    snprintf(id, sizeof(id), "%s/vex/openvex-%.16s", p->namespace_url, hex);
    doc = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o}", "@context",
                    "https://openvex.dev/ns/v0.2.0", "@id", id, "author", p->name, "timestamp",
                    p->now, "version", 1, "tooling", "bulwark " BULWARK_VERSION, "statements",
                    stm);
    return doc;
}

/* ---- CSAF ----------------------------------------------------------------------- */

void vex_csaf_filename(const char *tid, char *out, size_t cap)
{
    size_t o = 0;

    for (; *tid && o + 6 < cap; tid++) {
        char c = *tid;

        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        out[o++] = (is_alpha(c) || is_digit(c) || c == '+' || c == '-') ? c : '_';
    }
    snprintf(out + o, cap - o, ".json");
}

static json_t *csaf_tree(const json_t *db)
{
    const json_t *rels = json_object_get(db, "releases"), *r;
    const char *name, *vendor = "unknown", *prod = "unknown";
    json_t *vers = json_array();

    json_object_foreach((json_t *)rels, name, r) {
        char pid[200], full[400], fname[200], vname[200];

        if (sget(r, "vendor"))
            vendor = sget(r, "vendor");
        prod = sget(r, "product") ? sget(r, "product") : prod;
        snprintf(pid, sizeof(pid), "REL-%s", name);
        snprintf(full, sizeof(full), "%s %s", prod, name);
        snprintf(fname, sizeof(fname), "%s.bwp", name);
        /* the version branch: the release name, or where that reads as a
         * range (6.1.31) its sequence number; the product name keeps it */
        if (range_like(name))
            snprintf(vname, sizeof(vname), "sequence %" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(r, "sequence")));
        else
            snprintf(vname, sizeof(vname), "%s", name);
        json_array_append_new(
            vers, json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:o,s:[{s:[{s:s,s:s}],s:s}]}}}", "category",
                            "product_version", "name", vname, "product", "product_id", pid, "name",
                            full, "product_identification_helper", "purl",
                            release_purl(r, name), "hashes", "file_hashes", "algorithm", "sha256",
                            "value", sget(r, "package_sha256"), "filename", fname));
    }
    return json_pack("{s:[{s:s,s:s,s:[{s:s,s:s,s:o}]}]}", "branches", "category", "vendor",
                     "name", vendor, "branches", "category", "product_name", "name", prod,
                     "branches", vers);
}

bw_err vex_csaf(const json_t *db, const char *id, int advisory, const struct vex_pub *p,
                json_t **out, char *filename, size_t cap)
{
    const json_t *v = json_object_get(json_object_get(db, "vulnerabilities"), id);
    const json_t *per = json_object_get(json_object_get(db, "status"), id), *s;
    const json_t *rels = json_object_get(db, "releases");
    json_t *doc = NULL, *ps, *flags, *rem, *vul, *threats;
    const char *rname, *fixed_in = NULL;
    char tid[200], title[400], lbl[64];
    json_int_t fixseq = 0;

    *out = NULL;
    if (!v)
        return BW_E_NOTFOUND;
    json_object_foreach((json_t *)per, rname, s) {
        json_int_t q = json_integer_value(json_object_get(json_object_get(rels, rname), "sequence"));

        if (sget(s, "status") && !strcmp(sget(s, "status"), "fixed") && (!fixed_in || q < fixseq)) {
            fixed_in = rname;
            fixseq = q;
        }
    }
    if (advisory && !fixed_in)
        return BW_E_STATE;
    if (!json_object_size(per) || !json_object_size(rels))
        return BW_E_STATE; /* no release has a status: nothing to state (CSAF 6.1.27.7) */
    snprintf(tid, sizeof(tid), "%s-%s-%s", p->prefix, advisory ? "SA" : "VEX", id);
    vex_csaf_filename(tid, filename, cap);
    snprintf(title, sizeof(title), "%s: %s", advisory ? "Security advisory" : "VEX statement", id);
    ps = json_object();
    flags = json_array();
    rem = json_array();
    threats = json_array();
    json_object_foreach((json_t *)per, rname, s) {
        const char *st = sget(s, "status");
        static const char *const key[][2] = {{"affected", "known_affected"},
                                             {"not_affected", "known_not_affected"},
                                             {"fixed", "fixed"},
                                             {"under_investigation", "under_investigation"}};
        char pid[200];
        size_t k;

        snprintf(pid, sizeof(pid), "REL-%s", rname);
        for (k = 0; st && k < 4; k++)
            if (!strcmp(st, key[k][0]))
                break;
        if (!st || k == 4 || !json_object_get(rels, rname))
            continue;
        if (!json_object_get(ps, key[k][1]))
            json_object_set_new(ps, key[k][1], json_array());
        json_array_append_new(json_object_get(ps, key[k][1]), json_string(pid));
        if (k == 1) {
            if (sget(s, "justification")) {
                snprintf(lbl, sizeof(lbl), "%s", sget(s, "justification"));
                json_array_append_new(flags, json_pack("{s:s,s:[s]}", "label", lbl,
                                                       "product_ids", pid));
            } else {
                json_array_append_new(threats,
                                      json_pack("{s:s,s:s,s:[s]}", "category", "impact", "details",
                                                "The maker assessed the release as not affected.",
                                                "product_ids", pid));
            }
        }
        if (k == 0) {
            const char *fx = fixing_release(db, id, json_object_get(rels, rname));
            char det[300];

            snprintf(det, sizeof(det), fx ? "Install release %s." : "No fix is available yet.%s",
                     fx ? fx : "");
            json_array_append_new(rem, json_pack("{s:s,s:s,s:[s]}", "category",
                                                 fx ? "vendor_fix" : "none_available", "details",
                                                 det, "product_ids", pid));
        }
    }
    vul = json_pack("{s:o,s:[{s:s,s:s,s:s}]}", "product_status", ps, "notes", "category",
                    "description", "title", "Vulnerability description", "text",
                    sget(v, "summary") && *sget(v, "summary") ? sget(v, "summary") : id);
    if (!vul)
        goto fail;
    if (is_cve(id))
        json_object_set_new(vul, "cve", json_string(id));
    else
        json_object_set_new(vul, "ids", json_pack("[{s:s,s:s}]", "system_name",
                                                  sget(v, "source") ? sget(v, "source") : "maker",
                                                  "text", id));
    if (json_array_size(flags))
        json_object_set(vul, "flags", flags);
    if (json_array_size(rem))
        json_object_set(vul, "remediations", rem);
    if (json_array_size(threats))
        json_object_set(vul, "threats", threats);
    doc = json_pack(
        "{s:{s:s,s:s,s:{s:{s:s}},s:s,s:[{s:s,s:s,s:s}],s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s}],s:s,"
        "s:{s:s,s:s,s:{s:{s:s,s:s}},s:s,s:[{s:s,s:s,s:s}],s:s,s:s}},s:o,s:[o]}",
        "document", "category", advisory ? "csaf_security_advisory" : "csaf_vex", "csaf_version",
        "2.0", "distribution", "tlp", "label", "WHITE", "lang", "en", "notes", "category",
        "summary", "title", "Summary", "text",
        advisory ? "A vulnerability is fixed in a release; update devices to it."
                 : "The status of a vulnerability in each release of the product.",
        "publisher", "category", "vendor", "name", p->name, "namespace", p->namespace_url,
        "references", "category", "self", "summary", "This document", "url", "", "title", title,
        "tracking", "current_release_date", p->now, "id", tid, "generator", "engine", "name",
        "bulwark", "version", BULWARK_VERSION, "initial_release_date", p->now,
        "revision_history", "date", p->now, "number", "1", "summary", "Initial version.",
        "status", "final", "version", "1", "product_tree", csaf_tree(db), "vulnerabilities", vul);
    vul = NULL;
    if (!doc)
        goto fail;
    {
        char url[700];
        json_t *ref = json_array_get(json_object_get(json_object_get(doc, "document"),
                                                     "references"), 0);
        const char *year = p->now;

        snprintf(url, sizeof(url), "%s/%.4s/%s",
                 p->advisory_base ? p->advisory_base : p->namespace_url, year, filename);
        json_object_set_new(ref, "url", json_string(url));
    }
    json_decref(flags);
    json_decref(rem);
    json_decref(threats);
    *out = doc;
    return BW_OK;
fail:
    json_decref(vul);
    json_decref(flags);
    json_decref(rem);
    json_decref(threats);
    return BW_E_NOMEM;
}

/* ---- Art. 14 ------------------------------------------------------------------- */

bw_err vex_time_add(const char *t, long long secs, char out[32])
{
    struct tm tm;
    const char *e;
    time_t x;

    memset(&tm, 0, sizeof(tm));
    e = t ? strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!e || *e)
        return BW_E_FORMAT;
    x = timegm(&tm) + (time_t)secs;
    if (!gmtime_r(&x, &tm))
        return BW_E_FORMAT;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return BW_OK;
}

/* The security-log events (bulwark log show --json lines) from 14 days
 * before awareness on, as a table. */
static void report_events(FILE *f, const char *ev, size_t len, const char *aware)
{
    const char *p = ev, *end = ev + len;
    struct tm tm;
    long long from;
    size_t shown = 0, skipped = 0;

    memset(&tm, 0, sizeof(tm));
    if (!strptime(aware, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return;
    from = (long long)timegm(&tm) - 14LL * 86400;
    fprintf(f, "## Security-log events\n\nFrom the devices' security logs (bulwark log show "
               "--json), from 14 days before awareness on:\n\n| time | event | subject | outcome |"
               "\n|---|---|---|---|\n");
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        json_t *o = json_loadb(p, (size_t)(le - p), 0, NULL);
        const char *t = json_string_value(json_object_get(o, "type"));
        json_int_t when = json_integer_value(json_object_get(o, "time"));

        p = nl ? nl + 1 : end;
        if (t && !strcmp(t, "event") && when >= from) {
            char ts[32];
            time_t tt = (time_t)when;
            struct tm w;

            if (shown == 100) {
                skipped++;
            } else if (gmtime_r(&tt, &w)) {
                strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &w);
                fprintf(f, "| %s | %s | %s | %s |\n", ts,
                        sget(o, "event") ? sget(o, "event") : "",
                        sget(o, "subject") ? sget(o, "subject") : "",
                        sget(o, "outcome") ? sget(o, "outcome") : "");
                shown++;
            }
        }
        json_decref(o);
    }
    if (!shown)
        fprintf(f, "| (none in this period) | | | |\n");
    if (skipped)
        fprintf(f, "\n%zu later event(s) not listed.\n", skipped);
    fprintf(f, "\n");
}

bw_err vex_report(FILE *f, const json_t *db, const char *id, enum vex_stage stage,
                  const json_t *exposure, const char *events, size_t events_len, const char *now)
{
    const json_t *v = json_object_get(json_object_get(db, "vulnerabilities"), id);
    const json_t *per = json_object_get(json_object_get(db, "status"), id), *s, *rels;
    const char *aware = sget(v, "aware"), *rname, *fixed_in = NULL, *fix_date = NULL;
    static const char *const title[] = {"Early warning (Art. 14(2)(a), within 24 hours)",
                                        "Vulnerability notification (Art. 14(2)(b), within 72 hours)",
                                        "Final report (Art. 14(2)(c), within 14 days of a fix)"};
    char due[32];
    size_t naff = 0;
    json_int_t fs = 0;
    bw_err rc;

    if (!v)
        return BW_E_NOTFOUND;
    if (!aware)
        return BW_E_STATE;
    rels = json_object_get(db, "releases");
    json_object_foreach((json_t *)per, rname, s) {
        const json_t *r = json_object_get(rels, rname);
        json_int_t q = json_integer_value(json_object_get(r, "sequence"));

        if (sget(s, "status") && !strcmp(sget(s, "status"), "affected"))
            naff++;
        if (sget(s, "status") && !strcmp(sget(s, "status"), "fixed") && (!fixed_in || q < fs)) {
            fixed_in = rname;
            fs = q;
            fix_date = sget(r, "date");
        }
    }
    if (stage == VEX_FINAL)
        rc = vex_time_add(fix_date ? fix_date : aware, 14LL * 86400, due);
    else
        rc = vex_time_add(aware, stage == VEX_EARLY_WARNING ? 24 * 3600 : 72 * 3600, due);
    if (rc)
        return rc;
    fprintf(f, "# DRAFT: %s\n\n", title[stage]);
    fprintf(f, "Regulation (EU) 2024/2847, Article 14: notification of an actively exploited "
               "vulnerability to the CSIRT designated as coordinator and to ENISA, through the "
               "single reporting platform. This is a draft from bulwark's vulnerability "
               "record; review every statement before submitting it.\n\n");
    fprintf(f, "| | |\n|---|---|\n| Vulnerability | %s |\n| Became aware | %s |\n", id, aware);
    fprintf(f, "| Deadline for this report | %s%s |\n", due,
            stage == VEX_FINAL && !fix_date ? " (from awareness: no fixing release recorded yet)"
                                            : "");
    fprintf(f, "| Drafted | %s |\n| Actively exploited | %s |\n\n", now,
            json_is_true(json_object_get(v, "exploited")) ? "yes (maker's record)"
                                                          : "not recorded as exploited");
    fprintf(f, "## Product and vulnerability\n\n%s\n\n",
            sget(v, "summary") ? sget(v, "summary") : "(no description in the record)");
    fprintf(f, "Releases and their status:\n\n| release | status | component | version |\n"
               "|---|---|---|---|\n");
    json_object_foreach((json_t *)per, rname, s)
        fprintf(f, "| %s | %s | %s | %s |\n", rname, sget(s, "status") ? sget(s, "status") : "?",
                sget(s, "component") ? sget(s, "component") : "-",
                sget(s, "version") ? sget(s, "version") : "-");
    fprintf(f, "\n## Exposure of the fleet\n\n");
    if (exposure) {
        const json_t *devs = json_object_get(exposure, "devices");

        fprintf(f, "The gateway counts %zu device(s) running an affected release", json_array_size(devs));
        if (json_object_get(exposure, "checked"))
            fprintf(f, " (asked %s)", sget(exposure, "checked"));
        fprintf(f, ".\n\n");
    } else {
        fprintf(f, "No answer of the gateway's exposure query was given (bulwark vex report "
                   "--exposure); %zu release(s) are affected.\n\n", naff);
    }
    if (events)
        report_events(f, events, events_len, aware);
    if (stage != VEX_EARLY_WARNING) {
        fprintf(f, "## Corrective and mitigating measures\n\n");
        if (fixed_in)
            fprintf(f, "Release %s fixes the vulnerability%s%s. Users should let their devices "
                       "install it; the update is free of charge.\n\n",
                    fixed_in, fix_date ? ", available since " : "", fix_date ? fix_date : "");
        else
            fprintf(f, "No fixing release yet. State the mitigations users can apply.\n\n");
    }
    if (stage == VEX_FINAL)
        fprintf(f, "## Severity, impact and root cause\n\n(State the severity, the impact, what "
                   "is known of the malicious actor, and the details of the security update.)\n");
    else
        fprintf(f, "## Member States\n\n(State the Member States where the product is made "
                   "available, as far as known.)\n");
    return BW_OK;
}
