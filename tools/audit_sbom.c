/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Component lists for SBOMs (sbom.h): the dpkg status database, a maker's
 * list in the same paragraph format, DEP-5 copyright files, and the
 * CycloneDX 1.6 document with the BSI TR-03183-2 fields. The inputs come
 * from an image the maker builds, but a root file system tree may hold
 * anything: every parser is bounded and fuzzed (fuzz/fuzz_audit_sbom_*.c).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bulwark/bulwark.h"
#include "sbom.h"

#define FIELD_MAX (64u << 10)

/* ---- paragraphs --------------------------------------------------------- */

struct field {
    const char *name;
    size_t name_len;
    char *value; /* continuation lines joined with spaces, trimmed */
};

typedef bw_err (*field_fn)(void *ctx, const struct field *f);
typedef bw_err (*end_fn)(void *ctx);

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Joins [p, e) with newlines folded into spaces, ends trimmed. */
static char *fold(const char *p, const char *e)
{
    char *v, *o;

    while (p < e && (is_space(*p) || *p == '\n'))
        p++;
    while (e > p && (is_space(e[-1]) || e[-1] == '\n'))
        e--;
    v = bwh_malloc((size_t)(e - p) + 1);
    if (!v)
        return NULL;
    for (o = v; p < e; p++)
        *o++ = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    *o = 0;
    return v;
}

/*
 * Method: a paragraph is a run of non-blank lines; a line starting with a
 * space or tab continues the field above; other lines are "Name: value".
 * A NUL byte anywhere is a format error (the values become C strings).
 */
static bw_err paragraphs(const char *buf, size_t len, field_fn on_field, end_fn on_end, void *ctx)
{
    const char *p = buf, *end = buf + len;
    int in_para = 0;
    bw_err rc = BW_E_FORMAT;

    if (memchr(buf, 0, len))
        goto out;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end, *colon, *ve;
        struct field f;
        const char *q;

        for (q = p; q < le && is_space(*q); q++)
            ;
        if (q == le) { /* blank line: the paragraph ends */
            if (in_para && (rc = on_end(ctx)))
                goto out;
            in_para = 0;
            p = nl ? nl + 1 : end;
            continue;
        }
        rc = BW_E_FORMAT;
        if (is_space(*p) || *p == '#')
            goto out; /* continuation without a field, or a comment inside */
        colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p)
            goto out;
        /* The value runs on over continuation lines. */
        ve = le;
        while (ve < end && ve + 1 < end && (ve[1] == ' ' || ve[1] == '\t')) {
            const char *n2 = memchr(ve + 1, '\n', (size_t)(end - ve - 1));

            ve = n2 ? n2 : end;
        }
        if ((size_t)(ve - colon) > FIELD_MAX)
            goto out;
        f.name = p;
        f.name_len = (size_t)(colon - p);
        rc = BW_E_NOMEM;
        f.value = fold(colon + 1, ve);
        if (!f.value)
            goto out;
        rc = on_field(ctx, &f);
        bwh_free(f.value);
        if (rc)
            goto out;
        in_para = 1;
        p = ve < end ? ve + 1 : end;
    }
    rc = in_para ? on_end(ctx) : BW_OK;
out:
    return rc;
}

static int field_is(const struct field *f, const char *name)
{
    return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

/* ---- components --------------------------------------------------------- */

static void comp_free(struct sbom_comp *c)
{
    size_t i;

    bwh_free(c->name);
    bwh_free(c->version);
    bwh_free(c->arch);
    bwh_free(c->creator);
    bwh_free(c->filename);
    bwh_free(c->sha512);
    bwh_free(c->dist_uri);
    bwh_free(c->source_uri);
    bwh_free(c->purl);
    bwh_free(c->cpe);
    bwh_free(c->licenses);
    bwh_free(c->executable);
    bwh_free(c->archive);
    bwh_free(c->structured);
    for (i = 0; i < c->n_deps; i++)
        bwh_free(c->deps[i]);
    bwh_free(c->deps);
    memset(c, 0, sizeof(*c));
}

void sbom_free(struct sbom *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->n; i++)
        comp_free(&s->c[i]);
    bwh_free(s->c);
    memset(s, 0, sizeof(*s));
}

static bw_err take(char **dst, char **src)
{
    if (*dst)
        return BW_E_FORMAT; /* a field given twice */
    *dst = *src;
    *src = NULL;
    return BW_OK;
}

/*
 * A Depends-style list: "a (>= 1), b | c, d:any". Each entry's first
 * alternative is taken, without version or architecture; an entry with
 * alternatives leaves the dependency open (the one installed may be
 * another), so the component's dependencies are incomplete.
 */
static bw_err add_deps(struct sbom_comp *c, const char *v)
{
    const char *p = v;

    while (*p) {
        const char *e = strchr(p, ','), *n, *ne;
        size_t l;
        char **nd, *d;

        if (!e)
            e = p + strlen(p);
        for (n = p; n < e && *n == ' '; n++)
            ;
        for (ne = n; ne < e && *ne != ' ' && *ne != '(' && *ne != ':' && *ne != '|' &&
                     *ne != '[' && *ne != '<';
             ne++)
            ;
        if (memchr(n, '|', (size_t)(e - n)))
            c->deps_unknown = 1;
        l = (size_t)(ne - n);
        if (l) {
            if (c->n_deps >= SBOM_MAX_DEPS)
                return BW_E_TOOBIG;
            nd = bwh_realloc(c->deps, (c->n_deps + 1) * sizeof(*nd));
            if (!nd)
                return BW_E_NOMEM;
            c->deps = nd;
            d = bwh_malloc(l + 1);
            if (!d)
                return BW_E_NOMEM;
            memcpy(d, n, l);
            d[l] = 0;
            c->deps[c->n_deps++] = d;
        }
        p = *e ? e + 1 : e;
    }
    return BW_OK;
}

struct reader {
    struct sbom *s;
    struct sbom_comp cur;
    int dpkg;
    int installed;
};

static bw_err dpkg_field(void *ctx, const struct field *f)
{
    struct reader *r = ctx;
    char *v = f->value;
    char **dst = NULL;

    if (field_is(f, "Package"))
        dst = &r->cur.name;
    else if (field_is(f, "Version"))
        dst = &r->cur.version;
    else if (field_is(f, "Architecture"))
        dst = &r->cur.arch;
    else if (field_is(f, "Maintainer"))
        dst = &r->cur.creator;
    else if (field_is(f, "Homepage"))
        dst = &r->cur.source_uri;
    else if (field_is(f, "Depends") || field_is(f, "Pre-Depends"))
        return add_deps(&r->cur, v);
    else if (field_is(f, "Status"))
        r->installed = strcmp(v, "install ok installed") == 0;
    if (!dst)
        return BW_OK;
    return take(dst, (char **)&((struct field *)f)->value);
}

/* yes/no -> the BSI property's two values */
static bw_err flag(char **dst, const char *v, const char *yes, const char *no)
{
    const char *w = strcmp(v, "yes") == 0 ? yes : strcmp(v, "no") == 0 ? no : NULL;

    if (!w || *dst)
        return BW_E_FORMAT;
    *dst = bwh_strdup(w);
    return *dst ? BW_OK : BW_E_NOMEM;
}

static int is_hex(const char *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
            return 0;
    return v[n] == 0;
}

static bw_err list_field(void *ctx, const struct field *f)
{
    struct reader *r = ctx;
    struct field *w = (struct field *)f;
    const char *v = f->value;

    if (field_is(f, "Name"))
        return take(&r->cur.name, &w->value);
    if (field_is(f, "Version"))
        return take(&r->cur.version, &w->value);
    if (field_is(f, "Creator"))
        return take(&r->cur.creator, &w->value);
    if (field_is(f, "Filename"))
        return take(&r->cur.filename, &w->value);
    if (field_is(f, "SHA512"))
        return is_hex(v, 128) ? take(&r->cur.sha512, &w->value) : BW_E_FORMAT;
    if (field_is(f, "URI"))
        return take(&r->cur.dist_uri, &w->value);
    if (field_is(f, "Source-URI"))
        return take(&r->cur.source_uri, &w->value);
    if (field_is(f, "PURL"))
        return strncmp(v, "pkg:", 4) == 0 ? take(&r->cur.purl, &w->value) : BW_E_FORMAT;
    if (field_is(f, "CPE"))
        return strncmp(v, "cpe:", 4) == 0 ? take(&r->cur.cpe, &w->value) : BW_E_FORMAT;
    if (field_is(f, "License"))
        return take(&r->cur.licenses, &w->value);
    if (field_is(f, "Depends"))
        return add_deps(&r->cur, v);
    if (field_is(f, "Dependencies")) {
        if (strcmp(v, "incomplete") == 0)
            r->cur.deps_unknown = 1;
        else if (strcmp(v, "complete") != 0)
            return BW_E_FORMAT;
        return BW_OK;
    }
    if (field_is(f, "Executable"))
        return flag(&r->cur.executable, v, "executable", "non-executable");
    if (field_is(f, "Archive"))
        return flag(&r->cur.archive, v, "archive", "no archive");
    if (field_is(f, "Structured"))
        return flag(&r->cur.structured, v, "structured", "unstructured");
    return BW_E_FORMAT; /* a typo must not silently drop a field */
}

static int bad_text(const char *v)
{
    for (; v && *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 1;
    return 0;
}

static bw_err para_end(void *ctx)
{
    struct reader *r = ctx;
    struct sbom_comp *c = &r->cur;
    bw_err rc = BW_OK;

    if (r->dpkg && !r->installed)
        goto drop;
    rc = BW_E_FORMAT;
    if (!c->name || !c->version || !c->name[0] || !c->version[0] ||
        (!r->dpkg && (!c->creator || !c->creator[0])) || bad_text(c->name) ||
        bad_text(c->version) || bad_text(c->arch) || strchr(c->name, ' ') ||
        strchr(c->version, ' ') || (c->arch && strchr(c->arch, ' ')))
        goto drop;
    rc = BW_E_TOOBIG;
    if (r->s->n >= SBOM_MAX_COMPONENTS)
        goto drop;
    if (r->s->n == r->s->cap) {
        size_t cap = r->s->cap ? r->s->cap * 2 : 64;
        struct sbom_comp *n = bwh_realloc(r->s->c, cap * sizeof(*n));

        rc = BW_E_NOMEM;
        if (!n)
            goto drop;
        r->s->c = n;
        r->s->cap = cap;
    }
    r->s->c[r->s->n++] = *c;
    memset(c, 0, sizeof(*c));
    r->installed = 0;
    return BW_OK;
drop:
    comp_free(c);
    r->installed = 0;
    return rc;
}

static bw_err read_with(const char *buf, size_t len, struct sbom *s, int dpkg)
{
    struct reader r;
    bw_err rc;

    memset(&r, 0, sizeof(r));
    r.s = s;
    r.dpkg = dpkg;
    rc = paragraphs(buf, len, dpkg ? dpkg_field : list_field, para_end, &r);
    comp_free(&r.cur);
    return rc;
}

bw_err sbom_read_dpkg(const char *buf, size_t len, struct sbom *s)
{
    return read_with(buf, len, s, 1);
}

bw_err sbom_read_list(const char *buf, size_t len, struct sbom *s)
{
    return read_with(buf, len, s, 0);
}

bw_err sbom_time(const char *given, char out[32])
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    uint64_t t = (uint64_t)time(NULL);
    time_t tt;
    struct tm tm;

    if (given) {
        if (strlen(given) >= 32)
            return BW_E_FORMAT;
        snprintf(out, 32, "%s", given);
        return BW_OK;
    }
    if (sde && bwh_parse_u64(sde, &t))
        return BW_E_FORMAT;
    tt = (time_t)t;
    if (!gmtime_r(&tt, &tm))
        return BW_E_FORMAT;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return BW_OK;
}

/* ---- DEP-5 copyright files ---------------------------------------------- */

struct dep5 {
    int format_seen, first;
    char *out;
    size_t len;
};

static bw_err dep5_field(void *ctx, const struct field *f)
{
    struct dep5 *d = ctx;
    const char *v = f->value, *sp;
    size_t l;
    char *n;

    if (d->first && field_is(f, "Format"))
        d->format_seen = 1;
    d->first = 0;
    if (!d->format_seen || !field_is(f, "License"))
        return BW_OK;
    /* "License: GPL-2+\n full text...": the name is the first line's
     * first word-run; folded text follows after a space. */
    sp = strchr(v, ' ');
    l = sp ? (size_t)(sp - v) : strlen(v);
    if (!l || l > 128)
        return BW_OK;
    for (sp = d->out; sp && *sp;) { /* already listed? */
        const char *e = strstr(sp, ", ");
        size_t el = e ? (size_t)(e - sp) : strlen(sp);

        if (el == l && strncmp(sp, v, l) == 0)
            return BW_OK;
        sp = e ? e + 2 : NULL;
    }
    n = bwh_realloc(d->out, d->len + l + 3);
    if (!n)
        return BW_E_NOMEM;
    if (d->len) {
        memcpy(n + d->len, ", ", 2);
        d->len += 2;
    }
    memcpy(n + d->len, v, l);
    d->len += l;
    n[d->len] = 0;
    d->out = n;
    return BW_OK;
}

static bw_err dep5_end(void *ctx)
{
    (void)ctx;
    return BW_OK;
}

bw_err sbom_dep5_licenses(const char *buf, size_t len, char **out)
{
    struct dep5 d = {0, 1, NULL, 0};
    bw_err rc;

    *out = NULL;
    rc = paragraphs(buf, len, dep5_field, dep5_end, &d);
    if (rc == BW_E_FORMAT && d.out)
        rc = BW_OK; /* free text after the last paragraph: keep what was found */
    if (!rc && !d.out)
        rc = BW_E_NOTFOUND;
    if (rc)
        bwh_free(d.out);
    else
        *out = d.out;
    return rc == BW_E_FORMAT ? BW_E_NOTFOUND : rc;
}

void sbom_resolve(struct sbom *s)
{
    size_t i, j, k;

    for (i = 0; i < s->n; i++) {
        struct sbom_comp *c = &s->c[i];

        for (j = 0; j < c->n_deps; j++) {
            for (k = 0; k < s->n; k++)
                if (strcmp(s->c[k].name, c->deps[j]) == 0)
                    break;
            if (k == s->n)
                c->deps_unknown = 1;
        }
    }
}

/* ---- CycloneDX ---------------------------------------------------------- */

/* Debian's short licence names that have an SPDX identifier. */
static const struct {
    const char *debian, *spdx;
} licence_map[] = {
    {"GPL-2", "GPL-2.0-only"},         {"GPL-2+", "GPL-2.0-or-later"},
    {"GPL-3", "GPL-3.0-only"},         {"GPL-3+", "GPL-3.0-or-later"},
    {"LGPL-2", "LGPL-2.0-only"},       {"LGPL-2+", "LGPL-2.0-or-later"},
    {"LGPL-2.1", "LGPL-2.1-only"},     {"LGPL-2.1+", "LGPL-2.1-or-later"},
    {"LGPL-3", "LGPL-3.0-only"},       {"LGPL-3+", "LGPL-3.0-or-later"},
    {"Expat", "MIT"},                  {"MIT", "MIT"},
    {"Apache-2.0", "Apache-2.0"},      {"BSD-2-clause", "BSD-2-Clause"},
    {"BSD-3-clause", "BSD-3-Clause"},  {"BSD-4-clause", "BSD-4-Clause"},
    {"ISC", "ISC"},                    {"Zlib", "Zlib"},
    {"MPL-2.0", "MPL-2.0"},            {"Artistic", "Artistic-1.0-Perl"},
    {"CC0-1.0", "CC0-1.0"},            {"OpenSSL", "OpenSSL"},
    {"GFDL-1.3+", "GFDL-1.3-or-later"}, {"curl", "curl"},
};

static const char *spdx_id(const char *name, size_t l)
{
    size_t i;

    for (i = 0; i < sizeof(licence_map) / sizeof(licence_map[0]); i++)
        if (strlen(licence_map[i].debian) == l && strncasecmp(licence_map[i].debian, name, l) == 0)
            return licence_map[i].spdx;
    return NULL;
}

/*
 * Each licence twice: as declared (what the copyright file says) and as
 * concluded (what the component is distributed under in this image; for a
 * Debian package, every file's licence applies to the package).
 */
static bw_err put_licenses(json_t *comp, const char *list)
{
    json_t *arr = json_array();
    const char *p = list;
    static const char *const ack[2] = {"declared", "concluded"};
    bw_err rc = BW_E_NOMEM;

    if (!arr)
        goto out;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l;
        const char *id;
        int i;

        if (!e)
            e = p + strlen(p);
        while (p < e && *p == ' ')
            p++;
        l = (size_t)(e - p);
        while (l && p[l - 1] == ' ')
            l--;
        id = l ? spdx_id(p, l) : NULL;
        for (i = 0; l && i < 2; i++) {
            json_t *lic = id ? json_pack("{s:s}", "id", id) : json_pack("{s:s%}", "name", p, l);

            if (!lic || json_object_set_new(lic, "acknowledgement", json_string(ack[i])) ||
                json_array_append_new(arr, json_pack("{s:o}", "license", lic)))
                goto out;
        }
        p = *e ? e + 1 : e;
    }
    rc = json_array_size(arr) && json_object_set(comp, "licenses", arr) ? BW_E_NOMEM : BW_OK;
out:
    json_decref(arr);
    return rc;
}

static json_t *prop(const char *name, const char *value)
{
    return json_pack("{s:s,s:s}", "name", name, "value", value);
}

/* An address the CycloneDX schema takes as idn-email: local@domain, one
 * '@', no space or angle bracket, dot-separated domain labels. */
static int is_mail(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t i;

    if (!at || at == s || at + 1 == s + n || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == '<' || s[i] == '>' || s[i] == '"' ||
            s[i] == '(' || s[i] == ')' || s[i] == ',' || s[i] == ';' || s[i] == '[' ||
            s[i] == ']' || s[i] == '\\' || s[i] == 0x7f)
            return 0;
    if (at[1] == '.' || s[n - 1] == '.' || s[0] == '.' || at[-1] == '.')
        return 0;
    for (i = (size_t)(at - s) + 1; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.')
            return 0;
    return 1;
}

/* "Name <mail>" -> manufacturer {name, contact:[{email}]}; a URL, alone or
 * in the brackets (Debian Maintainer fields have both) -> {url:[..]};
 * brackets holding neither are dropped. */
static json_t *entity(const char *who, const char *url, const char *email)
{
    const char *lt = who ? strchr(who, '<') : NULL, *gt = lt ? strchr(lt, '>') : NULL;
    json_t *o = json_object();
    size_t nl;

    if (!o)
        return NULL;
    if (who && (strncmp(who, "https://", 8) == 0 || strncmp(who, "http://", 7) == 0)) {
        url = who;
        who = NULL;
        lt = gt = NULL;
    }
    if (lt && gt && gt > lt + 1 && !email && !is_mail(lt + 1, (size_t)(gt - lt - 1))) {
        if (!url && (strncmp(lt + 1, "https://", 8) == 0 || strncmp(lt + 1, "http://", 7) == 0) &&
            json_object_set_new(o, "url", json_pack("[s%]", lt + 1, (size_t)(gt - lt - 1))))
            goto fail;
        gt = NULL;
    }
    if (who) {
        nl = lt ? (size_t)(lt - who) : strlen(who);
        while (nl && who[nl - 1] == ' ')
            nl--;
        if (nl && json_object_set_new(o, "name", json_stringn(who, nl)))
            goto fail;
    }
    if (lt && gt && gt > lt + 1 && !email &&
        json_object_set_new(o, "contact",
                            json_pack("[{s:s%}]", "email", lt + 1, (size_t)(gt - lt - 1))))
        goto fail;
    if (email && json_object_set_new(o, "contact", json_pack("[{s:s}]", "email", email)))
        goto fail;
    if (url && json_object_set_new(o, "url", json_pack("[s]", url)))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* purl version: percent-encode what is not unreserved (RFC 3986). */
static char *purl_for(const struct sbom_comp *c, const char *distro)
{
    char ver[512], *out;
    size_t o = 0, n;
    const char *v;
    int w;

    for (v = c->version; *v && o + 4 < sizeof(ver); v++) {
        unsigned char ch = (unsigned char)*v;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '-' || ch == '_' || ch == '~')
            ver[o++] = (char)ch;
        else
            o += (size_t)snprintf(ver + o, sizeof(ver) - o, "%%%02X", ch);
    }
    ver[o] = 0;
    n = strlen(c->name) + strlen(ver) + strlen(distro) + (c->arch ? strlen(c->arch) : 0) + 32;
    out = bwh_malloc(n);
    if (!out)
        return NULL;
    w = snprintf(out, n, "pkg:deb/%s/%s@%s%s%s", distro, c->name, ver, c->arch ? "?arch=" : "",
                 c->arch ? c->arch : "");
    if (w < 0 || (size_t)w >= n) {
        bwh_free(out);
        return NULL;
    }
    return out;
}

/* The bom-ref: the purl if there is one, else name@version. */
static char *ref_of(const struct sbom_comp *c, const char *distro)
{
    char *r;
    size_t n;

    if (c->purl)
        return bwh_strdup(c->purl);
    if (distro && c->arch)
        return purl_for(c, distro);
    n = strlen(c->name) + strlen(c->version) + 2;
    r = bwh_malloc(n);
    if (r)
        snprintf(r, n, "%s@%s", c->name, c->version);
    return r;
}

static json_t *component(const struct sbom_comp *c, const char *ref, const char *distro)
{
    json_t *o, *props, *refs;
    const char *fname = c->filename;

    o = json_pack("{s:s,s:s,s:s,s:s}", "type", "library", "bom-ref", ref, "name", c->name,
                  "version", c->version);
    if (!o)
        return NULL;
    if (c->creator && json_object_set_new(o, "manufacturer", entity(c->creator, NULL, NULL)))
        goto fail;
    if ((c->purl || (distro && c->arch)) && json_object_set_new(o, "purl", json_string(ref)))
        goto fail;
    if (c->cpe && json_object_set_new(o, "cpe", json_string(c->cpe)))
        goto fail;
    if (c->licenses && put_licenses(o, c->licenses))
        goto fail;
    refs = json_array();
    if (!refs || json_object_set_new(o, "externalReferences", refs))
        goto fail;
    if (fname || c->dist_uri) {
        json_t *d = json_pack("{s:s,s:s}", "type", "distribution", "url",
                              c->dist_uri ? c->dist_uri : fname);

        if (!d || json_array_append_new(refs, d))
            goto fail;
        if (c->sha512 && json_object_set_new(d, "hashes",
                                             json_pack("[{s:s,s:s}]", "alg", "SHA-512",
                                                       "content", c->sha512)))
            goto fail;
    }
    if (c->source_uri &&
        json_array_append_new(refs, json_pack("{s:s,s:s}", "type", "source-distribution", "url",
                                              c->source_uri)))
        goto fail;
    if (!json_array_size(refs))
        json_object_del(o, "externalReferences");
    props = json_array();
    if (!props || json_object_set_new(o, "properties", props))
        goto fail;
    if ((fname && json_array_append_new(props, prop("bsi:component:filename", fname))) ||
        json_array_append_new(props, prop("bsi:component:executable",
                                          c->executable ? c->executable : "non-executable")) ||
        json_array_append_new(props, prop("bsi:component:archive",
                                          c->archive ? c->archive : "archive")) ||
        json_array_append_new(props, prop("bsi:component:structured",
                                          c->structured ? c->structured : "structured")))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* The serial number: a UUID (version 4 layout) from the SHA-256 of the
 * components, so the same image gives the same SBOM. */
static int serial(json_t *comps, char out[46])
{
    size_t n = json_dumpb(comps, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    char *txt = n ? bwh_malloc(n) : NULL;
    uint8_t d[BW_SHA256_LEN];
    char u[37];
    int ok;

    if (!txt)
        return 0;
    ok = json_dumpb(comps, txt, n, JSON_COMPACT | JSON_SORT_KEYS) == n &&
         bw_sha256((const uint8_t *)txt, n, d) == BW_OK;
    bwh_free(txt);
    d[6] = (uint8_t)((d[6] & 0x0f) | 0x40);
    d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
    bwh_uuid_format(u, d);
    snprintf(out, 46, "urn:uuid:%s", u);
    return ok;
}

json_t *sbom_cyclonedx(const struct sbom *s, const struct sbom_meta *m)
{
    json_t *bom = NULL, *comps = NULL, *deps = NULL, *complete = NULL, *incomplete = NULL;
    json_t *top = NULL, *meta, *prod;
    char **refs = NULL, sn[46];
    const char *prod_ref = "product";
    size_t i, j, jj, k;
    int ok = 0;

    refs = bwh_calloc(s->n ? s->n : 1, sizeof(*refs));
    comps = json_array();
    deps = json_array();
    complete = json_array();
    incomplete = json_array();
    top = json_array();
    if (!refs || !comps || !deps || !complete || !incomplete || !top)
        goto out;
    for (i = 0; i < s->n; i++)
        if (!(refs[i] = ref_of(&s->c[i], m->distro)))
            goto out;
    for (i = 0; i < s->n; i++) {
        const struct sbom_comp *c = &s->c[i];
        json_t *on = json_array(), *d;

        if (!on || json_array_append_new(comps, component(c, refs[i], m->distro)) ||
            json_array_append_new(top, json_string(refs[i]))) {
            json_decref(on);
            goto out;
        }
        for (j = 0; j < c->n_deps; j++) {
            for (k = 0; k < s->n; k++)
                if (strcmp(s->c[k].name, c->deps[j]) == 0)
                    break;
            for (jj = 0; jj < j; jj++) /* "a (>= 1), a (<< 2)": one dependency */
                if (strcmp(c->deps[jj], c->deps[j]) == 0)
                    break;
            if (k < s->n && k != i && jj == j &&
                json_array_append_new(on, json_string(refs[k]))) {
                json_decref(on);
                goto out;
            }
        }
        d = json_pack("{s:s,s:o}", "ref", refs[i], "dependsOn", on);
        if (!d || json_array_append_new(deps, d) ||
            json_array_append_new(c->deps_unknown ? incomplete : complete,
                                  json_string(refs[i])))
            goto out;
    }
    if (json_array_append_new(deps, json_pack("{s:s,s:O}", "ref", prod_ref, "dependsOn", top)) ||
        json_array_append_new(complete, json_string(prod_ref)))
        goto out;
    prod = json_pack("{s:s,s:s,s:s,s:s}", "type", "firmware", "bom-ref", prod_ref, "name",
                     m->product, "version", m->product_version);
    meta = json_pack("{s:s,s:[{s:s}],s:{s:[{s:s,s:s,s:s}]},s:o}", "timestamp", m->timestamp,
                     "lifecycles", "phase", "build", "tools", "components", "type", "application",
                     "name", "bulwark", "version", BULWARK_VERSION, "component", prod);
    if (!meta || json_object_set_new(meta, "manufacturer",
                                     entity(m->creator_name, m->creator_url, m->creator_email)))
        goto fail_meta;
    if (!serial(comps, sn))
        goto fail_meta;
    bom = json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:O,s:O}", "$schema",
                    "http://cyclonedx.org/schema/bom-1.6.schema.json", "bomFormat", "CycloneDX",
                    "specVersion", "1.6", "serialNumber", sn, "version", 1, "metadata", meta,
                    "components", comps, "dependencies", deps);
    if (!bom)
        goto out;
    {
        json_t *comp = json_array();

        if (!comp || json_object_set_new(bom, "compositions", comp))
            goto out;
        if (json_array_size(complete) &&
            json_array_append_new(comp, json_pack("{s:s,s:O}", "aggregate", "complete",
                                                  "dependencies", complete)))
            goto out;
        if (json_array_size(incomplete) &&
            json_array_append_new(comp, json_pack("{s:s,s:O}", "aggregate", "incomplete",
                                                  "dependencies", incomplete)))
            goto out;
    }
    ok = 1;
    goto out;
fail_meta:
    json_decref(meta);
out:
    if (refs)
        for (i = 0; i < s->n; i++)
            bwh_free(refs[i]);
    bwh_free(refs);
    json_decref(comps);
    json_decref(deps);
    json_decref(complete);
    json_decref(incomplete);
    json_decref(top);
    if (!ok) {
        json_decref(bom);
        bom = NULL;
    }
    return bom;
}
