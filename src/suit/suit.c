/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SUIT envelope parser, authenticator and checker (include/bulwark/suit.h).
 * It interprets command sequences only far enough to learn each
 * component's parameters and which conditions the manifest asserts; it
 * does not fetch or write anything (that is the install engine's job).
 */
#include <string.h>
#include "bulwark/suit.h"

#define BIT(n) (1ull << (n))

static bw_err parse_digest(const uint8_t *p, size_t n, uint8_t out[BW_SHA256_LEN])
{
    struct bw_cbor_dec d;
    const uint8_t *b;
    size_t bl;
    uint64_t cnt;
    int64_t alg;
    bw_err rc;

    bw_cbor_dec_init(&d, p, n);
    if ((rc = bw_cbor_get_array(&d, &cnt)))
        return rc;
    if (cnt != 2)
        return BW_E_FORMAT;
    if ((rc = bw_cbor_get_int(&d, &alg)))
        return rc;
    if (alg != BW_SUIT_ALG_SHA256)
        return BW_E_ALG;
    if ((rc = bw_cbor_get_bytes(&d, &b, &bl)))
        return rc;
    if (bl != BW_SHA256_LEN)
        return BW_E_FORMAT;
    if (!bw_cbor_at_end(&d))
        return BW_E_TRAILING;
    memcpy(out, b, BW_SHA256_LEN);
    return BW_OK;
}

/* A SUIT_Digest that appears inline (not bstr-wrapped): consume it from d. */
static bw_err take_inline_digest(struct bw_cbor_dec *d, uint8_t out[BW_SHA256_LEN])
{
    size_t start = d->cur.off;
    bw_err rc = bw_cbor_skip(d);

    if (rc)
        return rc;
    return parse_digest(d->cur.p + start, d->cur.off - start, out);
}

static int seen_once(uint64_t *seen, int64_t key)
{
    uint64_t bit;

    if (key < 0 || key > 63)
        return 1; /* outside the tracked range: callers handle these keys */
    bit = BIT(key);
    if (*seen & bit)
        return 0;
    *seen |= bit;
    return 1;
}

/* ---- parameters and commands ------------------------------------------ */

/* bulwark's [uint, SUIT_Digest] parameter values (chunk digests,
 * compression): the whole bstr content, nothing after the digest. */
static bw_err parse_uint_digest(const uint8_t *p, size_t n, uint64_t *v,
                                uint8_t digest[BW_SHA256_LEN])
{
    struct bw_cbor_dec d;
    uint64_t cnt;
    bw_err rc;

    bw_cbor_dec_init(&d, p, n);
    if ((rc = bw_cbor_get_array(&d, &cnt)))
        return rc;
    if (cnt != 2)
        return BW_E_FORMAT;
    if ((rc = bw_cbor_get_uint(&d, v)) || (rc = take_inline_digest(&d, digest)))
        return rc;
    return bw_cbor_at_end(&d) ? BW_OK : BW_E_TRAILING;
}

static bw_err parse_chunks(const uint8_t *p, size_t n, struct bw_suit_component *c)
{
    uint8_t digest[BW_SHA256_LEN];
    uint64_t size;
    bw_err rc;

    if ((rc = parse_uint_digest(p, n, &size, digest)))
        return rc;
    if (size < BW_SUIT_CHUNK_MIN || size > BW_SUIT_CHUNK_MAX || (size & (size - 1)))
        return BW_E_FORMAT;
    memcpy(c->chunk_list_digest, digest, BW_SHA256_LEN);
    c->chunk_size = (uint32_t)size;
    c->has_chunks = 1;
    return BW_OK;
}

/* bulwark's A/B section: [offset, total], the section inside the total. */
static bw_err parse_section(struct bw_cbor_dec *d, struct bw_suit_component *c)
{
    uint64_t cnt, off, total;
    bw_err rc;

    if ((rc = bw_cbor_get_array(d, &cnt)))
        return rc;
    if (cnt != 2)
        return BW_E_FORMAT;
    if ((rc = bw_cbor_get_uint(d, &off)) || (rc = bw_cbor_get_uint(d, &total)))
        return rc;
    if (total > 2 * BW_SUIT_IMAGE_MAX || off > total)
        return BW_E_FORMAT;
    c->section_off = off;
    c->section_total = total;
    c->has_section = 1;
    return BW_OK;
}

/* bulwark's chunk compression: [algorithm, length-table digest]. */
static bw_err parse_compression(const uint8_t *p, size_t n, struct bw_suit_component *c)
{
    uint8_t digest[BW_SHA256_LEN];
    uint64_t alg;
    bw_err rc;

    if ((rc = parse_uint_digest(p, n, &alg, digest)))
        return rc;
    if (alg != BW_SUIT_COMPRESS_ZSTD && alg != BW_SUIT_COMPRESS_ZSTD_STREAM)
        return BW_E_UNSUPPORTED; /* fail closed: the payload could not be read */
    memcpy(c->clen_digest, digest, BW_SHA256_LEN);
    c->compress_alg = (uint8_t)alg;
    c->has_compress = 1;
    return BW_OK;
}

/* Whether component c already holds parameter key (for set-parameters,
 * which, unlike override-parameters, leaves values that are set alone). */
static int param_is_set(const struct bw_suit_component *c, int64_t key)
{
    switch (key) {
    case BW_SUIT_PARAM_VENDOR_ID:
        return c->has_vendor;
    case BW_SUIT_PARAM_CLASS_ID:
        return c->has_class;
    case BW_SUIT_PARAM_IMAGE_DIGEST:
        return c->has_digest;
    case BW_SUIT_PARAM_IMAGE_SIZE:
        return c->has_size;
    case BW_SUIT_PARAM_URI:
        return c->has_uri;
    case BW_SUIT_PARAM_CHUNK_DIGESTS:
        return c->has_chunks;
    case BW_SUIT_PARAM_COMPONENT_SLOT:
        return c->has_slot;
    case BW_SUIT_PARAM_SECTION:
        return c->has_section;
    case BW_SUIT_PARAM_COMPRESSION:
        return c->has_compress;
    default:
        return 0;
    }
}

static bw_err set_param(struct bw_cbor_dec *d, int64_t key, struct bw_suit_component *c)
{
    const uint8_t *p;
    size_t n;
    uint64_t v;
    bw_err rc;

    switch (key) {
    case BW_SUIT_PARAM_VENDOR_ID:
    case BW_SUIT_PARAM_CLASS_ID:
        if ((rc = bw_cbor_get_bytes(d, &p, &n)))
            return rc;
        if (n != BW_SUIT_UUID_LEN)
            return BW_E_FORMAT;
        if (key == BW_SUIT_PARAM_VENDOR_ID) {
            memcpy(c->vendor_id, p, n);
            c->has_vendor = 1;
        } else {
            memcpy(c->class_id, p, n);
            c->has_class = 1;
        }
        return BW_OK;
    case BW_SUIT_PARAM_IMAGE_DIGEST:
        if ((rc = bw_cbor_get_bytes(d, &p, &n)) || (rc = parse_digest(p, n, c->image_digest)))
            return rc;
        c->has_digest = 1;
        return BW_OK;
    case BW_SUIT_PARAM_IMAGE_SIZE:
        if ((rc = bw_cbor_get_uint(d, &v)))
            return rc;
        if (v > BW_SUIT_IMAGE_MAX)
            return BW_E_TOOBIG;
        c->image_size = v;
        c->has_size = 1;
        return BW_OK;
    case BW_SUIT_PARAM_URI:
        if ((rc = bw_cbor_get_text(d, &c->uri.p, &c->uri.len)))
            return rc;
        c->has_uri = 1;
        return BW_OK;
    case BW_SUIT_PARAM_CHUNK_DIGESTS:
        if ((rc = bw_cbor_get_bytes(d, &p, &n)))
            return rc;
        return parse_chunks(p, n, c);
    case BW_SUIT_PARAM_COMPONENT_SLOT:
        if ((rc = bw_cbor_get_uint(d, &c->slot)))
            return rc;
        c->has_slot = 1;
        return BW_OK;
    case BW_SUIT_PARAM_SECTION:
        return parse_section(d, c);
    case BW_SUIT_PARAM_COMPRESSION:
        if ((rc = bw_cbor_get_bytes(d, &p, &n)))
            return rc;
        return parse_compression(p, n, c);
    case BW_SUIT_PARAM_STRICT_ORDER:
    case BW_SUIT_PARAM_SOFT_FAILURE:
    case BW_SUIT_PARAM_CONTENT:
    case BW_SUIT_PARAM_SOURCE_COMPONENT:
    case BW_SUIT_PARAM_INVOKE_ARGS:
    case BW_SUIT_PARAM_DEVICE_ID:
        return bw_cbor_skip(d); /* standard, not used by bulwark */
    default:
        /* Other vendors' custom (negative) parameters only matter to
         * commands bulwark does not run; unknown standard ones do. */
        return key < 0 ? bw_cbor_skip(d) : BW_E_CRITICAL;
    }
}

static bw_err parse_params(struct bw_cbor_dec *d, struct bw_suit *s, uint32_t sel, int only_unset)
{
    uint64_t n, i, seen = 0;
    int seen_chunks = 0, seen_section = 0, seen_compress = 0;
    bw_err rc;

    if ((rc = bw_cbor_get_map(d, &n)))
        return rc;
    for (i = 0; i < n; i++) {
        struct bw_cbor_dec save;
        int64_t key;
        unsigned c;

        if ((rc = bw_cbor_get_int(d, &key)))
            return rc;
        if (!seen_once(&seen, key) || (key == BW_SUIT_PARAM_CHUNK_DIGESTS && seen_chunks++) ||
            (key == BW_SUIT_PARAM_SECTION && seen_section++) ||
            (key == BW_SUIT_PARAM_COMPRESSION && seen_compress++))
            return BW_E_FORMAT; /* duplicate key */
        save = *d;
        for (c = 0; c < s->n_components; c++) {
            struct bw_cbor_dec v = save;
            struct bw_suit_component scratch;

            if (!(sel & (1u << c)))
                continue;
            if (only_unset && param_is_set(&s->comp[c], key)) {
                /* set-parameters keeps the value: still validate the new one */
                scratch = s->comp[c];
                rc = set_param(&v, key, &scratch);
            } else {
                rc = set_param(&v, key, &s->comp[c]);
            }
            if (rc)
                return rc;
        }
        *d = save;
        if ((rc = bw_cbor_skip(d)))
            return rc;
    }
    return BW_OK;
}

static void mark(struct bw_suit *s, uint32_t sel, size_t field, uint8_t seqbit)
{
    unsigned c;

    for (c = 0; c < s->n_components; c++)
        if (sel & (1u << c))
            ((uint8_t *)&s->comp[c])[field] |= seqbit;
}

#define MARK(s, sel, member, bit) mark(s, sel, offsetof(struct bw_suit_component, member), bit)

/*
 * A vendor or class condition compares the parameter as it stands when the
 * condition runs: record that value (a later override must not change what
 * was checked), refuse a condition with no parameter to compare, and note a
 * manifest whose conditions compare different values.
 */
static bw_err record_condition(struct bw_suit *s, uint32_t sel, int vendor, uint8_t seqbit)
{
    unsigned c;

    for (c = 0; c < s->n_components; c++) {
        struct bw_suit_component *k = &s->comp[c];
        const uint8_t *val = vendor ? k->vendor_id : k->class_id;
        uint8_t *checked = vendor ? k->checked_vendor : k->checked_class;
        uint8_t *where = vendor ? &k->cond_vendor : &k->cond_class;

        if (!(sel & (1u << c)))
            continue;
        if (!(vendor ? k->has_vendor : k->has_class))
            return BW_E_FORMAT;
        if (*where && memcmp(checked, val, BW_SUIT_UUID_LEN) != 0) {
            if (vendor)
                k->vendor_conflict = 1;
            else
                k->class_conflict = 1;
        }
        memcpy(checked, val, BW_SUIT_UUID_LEN);
        *where |= seqbit;
    }
    return BW_OK;
}

static bw_err set_index(struct bw_cbor_dec *d, const struct bw_suit *s, uint32_t *sel)
{
    struct bw_cbor_item it;
    uint64_t n, i, v;
    bw_err rc;

    if ((rc = bw_cbor_peek(d, &it)))
        return rc;
    if (it.type == BW_CBOR_SIMPLE && it.val == BW_CBOR_TRUE) {
        *sel = (1u << s->n_components) - 1;
        return bw_cbor_next(d, &it);
    }
    if (it.type == BW_CBOR_UINT) {
        if ((rc = bw_cbor_get_uint(d, &v)))
            return rc;
        if (v >= s->n_components)
            return BW_E_FORMAT;
        *sel = 1u << v;
        return BW_OK;
    }
    if ((rc = bw_cbor_get_array(d, &n)))
        return rc;
    *sel = 0;
    for (i = 0; i < n; i++) {
        if ((rc = bw_cbor_get_uint(d, &v)))
            return rc;
        if (v >= s->n_components)
            return BW_E_FORMAT;
        *sel |= 1u << v;
    }
    return BW_OK;
}

/* One run of a command sequence. `failed` is set when a condition the
 * parser evaluates (component-slot, for a known slot) does not hold: the
 * rest of the sequence is skipped and the enclosing try-each moves on. */
struct run {
    struct bw_suit *s;
    uint8_t seqbit;
    unsigned depth; /* try-each nesting */
    int failed;
};

static bw_err run_seq(struct run *r, const uint8_t *p, size_t len);

/*
 * suit-condition-component-slot: with no slot known (bw_suit_parse) it
 * holds; otherwise each selected component's component-slot parameter must
 * be the slot being installed. A condition without the parameter is
 * malformed.
 */
static bw_err slot_condition(struct run *r, uint32_t sel)
{
    const struct bw_suit *s = r->s;
    unsigned c;

    r->s->slot_cond = 1;
    for (c = 0; c < s->n_components; c++) {
        if (!(sel & (1u << c)))
            continue;
        if (!s->comp[c].has_slot)
            return BW_E_FORMAT;
        if (s->slot != BW_SUIT_SLOT_ANY && s->comp[c].slot != s->slot)
            r->failed = 1;
    }
    return BW_OK;
}

/*
 * Method: suit-directive-try-each ([+ bstr .cbor sequence, nil / bstr]).
 * Each alternative runs on the live components after a copy of them is
 * kept; an alternative whose condition fails is undone from the copy and
 * the next one runs. With a known slot the first alternative that holds
 * stays applied and the rest are not run (the draft's semantics); with no
 * slot (bw_suit_parse) every alternative runs to be checked and is undone,
 * so no parameter depends on an alternative nobody chose. A final nil lets
 * the try-each pass with no alternative applied; otherwise no match is
 * BW_E_NOTFOUND. Errors other than a failed condition refuse the manifest.
 */
static bw_err try_each(struct run *r, struct bw_cbor_dec *d)
{
    struct bw_suit_component keep[BW_SUIT_MAX_COMPONENTS];
    struct bw_suit *s = r->s;
    uint64_t n, i;
    int matched = 0, optional = 0;
    bw_err rc;

    if (r->depth >= BW_SUIT_MAX_TRY_DEPTH)
        return BW_E_DEPTH;
    if ((rc = bw_cbor_get_array(d, &n)))
        return rc;
    if (n < 2)
        return BW_E_FORMAT;
    if (n > BW_SUIT_MAX_ALTERNATIVES + 1)
        return BW_E_TOOBIG;
    s->try_each = 1;
    memcpy(keep, s->comp, sizeof(keep));
    for (i = 0; i < n; i++) {
        struct bw_cbor_item it;
        const uint8_t *p;
        size_t len;

        if ((rc = bw_cbor_peek(d, &it)))
            return rc;
        if (it.type == BW_CBOR_SIMPLE && it.val == BW_CBOR_NULL && i == n - 1) {
            optional = 1;
            rc = bw_cbor_next(d, &it);
            if (rc)
                return rc;
            break;
        }
        if ((rc = bw_cbor_get_bytes(d, &p, &len)))
            return rc;
        if (i + 1 > BW_SUIT_MAX_ALTERNATIVES)
            return BW_E_TOOBIG;
        if (matched)
            continue; /* a known slot chose already: skipped, as the draft runs it */
        r->depth++;
        r->failed = 0;
        rc = run_seq(r, p, len);
        r->depth--;
        if (rc)
            return rc;
        if (!r->failed && s->slot != BW_SUIT_SLOT_ANY) {
            matched = 1;
            continue;
        }
        r->failed = 0;
        memcpy(s->comp, keep, sizeof(keep)); /* undo the alternative */
    }
    if (s->slot != BW_SUIT_SLOT_ANY && !matched && !optional)
        return BW_E_NOTFOUND;
    return BW_OK;
}

static bw_err run_seq(struct run *r, const uint8_t *p, size_t len)
{
    struct bw_suit *s = r->s;
    uint8_t seqbit = r->seqbit;
    struct bw_cbor_dec d;
    uint64_t n, i, cmd, policy;
    uint32_t sel = 1;
    bw_err rc;

    bw_cbor_dec_init(&d, p, len);
    if ((rc = bw_cbor_get_array(&d, &n)))
        return rc;
    if (n % 2)
        return BW_E_FORMAT;
    for (i = 0; i < n; i += 2) {
        if ((rc = bw_cbor_get_uint(&d, &cmd)))
            return rc == BW_E_FORMAT ? BW_E_CRITICAL : rc; /* custom commands */
        switch (cmd) {
        case BW_SUIT_DIR_SET_COMPONENT_INDEX:
            rc = set_index(&d, s, &sel);
            break;
        case BW_SUIT_DIR_OVERRIDE_PARAMETERS:
        case BW_SUIT_DIR_SET_PARAMETERS:
            rc = parse_params(&d, s, sel, cmd == BW_SUIT_DIR_SET_PARAMETERS);
            break;
        case BW_SUIT_DIR_TRY_EACH:
            rc = try_each(r, &d);
            break;
        case BW_SUIT_COND_VENDOR:
        case BW_SUIT_COND_CLASS:
        case BW_SUIT_COND_IMAGE_MATCH:
        case BW_SUIT_COND_COMPONENT_SLOT:
        case BW_SUIT_COND_CHECK_CONTENT:
        case BW_SUIT_COND_DEVICE:
        case BW_SUIT_DIR_WRITE:
        case BW_SUIT_DIR_FETCH:
        case BW_SUIT_DIR_COPY:
        case BW_SUIT_DIR_INVOKE:
        case BW_SUIT_DIR_SWAP:
            rc = bw_cbor_get_uint(&d, &policy); /* reporting policy */
            if (rc)
                break;
            if (cmd == BW_SUIT_COND_VENDOR || cmd == BW_SUIT_COND_CLASS)
                rc = record_condition(s, sel, cmd == BW_SUIT_COND_VENDOR, seqbit);
            else if (cmd == BW_SUIT_COND_COMPONENT_SLOT)
                rc = slot_condition(r, sel);
            else if (cmd == BW_SUIT_COND_IMAGE_MATCH)
                MARK(s, sel, cond_image_match, seqbit);
            else if (cmd == BW_SUIT_DIR_WRITE)
                MARK(s, sel, dir_write, seqbit);
            else if (cmd == BW_SUIT_DIR_FETCH)
                MARK(s, sel, dir_fetch, seqbit);
            else if (cmd == BW_SUIT_DIR_COPY)
                MARK(s, sel, dir_copy, seqbit);
            else if (cmd == BW_SUIT_DIR_INVOKE)
                MARK(s, sel, dir_invoke, seqbit);
            else if (cmd == BW_SUIT_DIR_SWAP)
                MARK(s, sel, dir_swap, seqbit);
            break;
        case BW_SUIT_COND_ABORT:
        case BW_SUIT_DIR_RUN_SEQUENCE:
        case 11: /* process-dependency */
            return BW_E_UNSUPPORTED;
        default:
            return BW_E_CRITICAL;
        }
        if (rc)
            return rc;
        if (r->failed) {
            /* a condition failed: outside try-each the manifest has
             * nothing for this slot; inside, the alternative ends here */
            return r->depth ? BW_OK : BW_E_NOTFOUND;
        }
    }
    if (!bw_cbor_at_end(&d))
        return BW_E_TRAILING;
    s->seqs_present |= seqbit;
    return BW_OK;
}

/* ---- common, manifest, envelope --------------------------------------- */

static bw_err parse_components(struct bw_cbor_dec *d, struct bw_suit *s)
{
    uint64_t n, parts, i, j;
    bw_err rc;

    if ((rc = bw_cbor_get_array(d, &n)))
        return rc;
    if (n == 0)
        return BW_E_FORMAT;
    if (n > BW_SUIT_MAX_COMPONENTS)
        return BW_E_TOOBIG;
    for (i = 0; i < n; i++) {
        struct bw_suit_component *c = &s->comp[i];

        if ((rc = bw_cbor_get_array(d, &parts)))
            return rc;
        if (parts > BW_SUIT_MAX_ID_PARTS)
            return BW_E_TOOBIG;
        for (j = 0; j < parts; j++)
            if ((rc = bw_cbor_get_bytes(d, &c->id[j].p, &c->id[j].len)))
                return rc;
        c->id_parts = (unsigned)parts;
    }
    s->n_components = (unsigned)n;
    return BW_OK;
}

static bw_err parse_common(const uint8_t *p, size_t len, struct bw_suit *s,
                           struct bw_suit_bytes *shared)
{
    struct bw_cbor_dec d;
    uint64_t n, i, key, seen = 0;
    bw_err rc;

    bw_cbor_dec_init(&d, p, len);
    if ((rc = bw_cbor_get_map(&d, &n)))
        return rc;
    for (i = 0; i < n; i++) {
        if ((rc = bw_cbor_get_uint(&d, &key)))
            return rc == BW_E_FORMAT ? BW_E_CRITICAL : rc;
        if (key <= 63 && !seen_once(&seen, (int64_t)key))
            return BW_E_FORMAT;
        switch (key) {
        case BW_SUIT_COMMON_COMPONENTS:
            rc = parse_components(&d, s);
            break;
        case BW_SUIT_COMMON_SHARED_SEQUENCE:
            rc = bw_cbor_get_bytes(&d, &shared->p, &shared->len);
            break;
        case BW_SUIT_COMMON_DEPENDENCIES:
            return BW_E_UNSUPPORTED;
        default:
            return BW_E_CRITICAL;
        }
        if (rc)
            return rc;
    }
    if (!bw_cbor_at_end(&d))
        return BW_E_TRAILING;
    return s->n_components ? BW_OK : BW_E_FORMAT;
}

/* Severable members: index in the tables below. */
static const uint64_t sev_keys[] = {BW_SUIT_DEPENDENCY_RESOLUTION, BW_SUIT_PAYLOAD_FETCH,
                                    BW_SUIT_INSTALL, BW_SUIT_TEXT};
#define N_SEV 4

static int sev_index(uint64_t key)
{
    int i;

    for (i = 0; i < N_SEV; i++)
        if (sev_keys[i] == key)
            return i;
    return -1;
}

struct sev {
    struct bw_suit_bytes env[N_SEV];   /* member as found in the envelope */
    size_t env_head[N_SEV];            /* its bstr head length */
    struct bw_suit_bytes inl[N_SEV];   /* embedded in the manifest */
    uint8_t digest[N_SEV][BW_SHA256_LEN];
    uint8_t has_digest[N_SEV];
};

/*
 * The text member (a map; informational, so unknown keys are skipped):
 * bulwark's SBOM digest and security-only extensions are taken, each at
 * most once. A text
 * member that is not a well-formed map is refused like any other
 * malformed member.
 */
static bw_err parse_text(const uint8_t *p, size_t len, struct bw_suit *s)
{
    struct bw_cbor_dec d;
    uint64_t n, i;
    unsigned seen_sec = 0;
    bw_err rc;

    bw_cbor_dec_init(&d, p, len);
    if ((rc = bw_cbor_get_map(&d, &n)))
        return rc;
    for (i = 0; i < n; i++) {
        struct bw_cbor_item k;

        if ((rc = bw_cbor_peek(&d, &k)))
            return rc;
        if (k.type == BW_CBOR_NINT && k.val == (uint64_t)(-1 - BW_SUIT_TEXT_SBOM_DIGEST)) {
            if ((rc = bw_cbor_skip(&d)))
                return rc;
            if (s->has_sbom)
                return BW_E_FORMAT; /* duplicate key */
            if ((rc = take_inline_digest(&d, s->sbom_digest)))
                return rc;
            s->has_sbom = 1;
            continue;
        }
        if (k.type == BW_CBOR_NINT && k.val == (uint64_t)(-1 - BW_SUIT_TEXT_SECURITY_ONLY)) {
            struct bw_cbor_item v;

            if ((rc = bw_cbor_skip(&d)) || (rc = bw_cbor_next(&d, &v)))
                return rc;
            if (seen_sec++ || v.type != BW_CBOR_SIMPLE || (v.val != 20 && v.val != 21))
                return BW_E_FORMAT; /* duplicate, or not a boolean */
            s->security_only = v.val == 21;
            continue;
        }
        if ((rc = bw_cbor_skip(&d)) || (rc = bw_cbor_skip(&d)))
            return rc;
    }
    return bw_cbor_at_end(&d) ? BW_OK : BW_E_TRAILING;
}

/* The digest of a severed member covers its bstr-wrapped encoding. */
static bw_err check_severed(const struct sev *v, int i)
{
    uint8_t got[BW_SHA256_LEN];
    const uint8_t *start = v->env[i].p - v->env_head[i];
    bw_err rc;

    rc = bw_sha256(start, v->env_head[i] + v->env[i].len, got);
    if (rc)
        return rc;
    return bw_ct_equal(got, v->digest[i], sizeof(got)) ? BW_OK : BW_E_DIGEST;
}

/*
 * Runs the command sequences in the draft's order (shared first) for
 * s->slot, from components that hold nothing but their identifiers, and
 * checks integrated payloads against the digests that result.
 */
static bw_err interpret(struct bw_suit *s)
{
    static const uint8_t bits[6] = {BW_SUIT_SEQ_SHARED, BW_SUIT_SEQ_VALIDATE, BW_SUIT_SEQ_LOAD,
                                    BW_SUIT_SEQ_FETCH,  BW_SUIT_SEQ_INSTALL,  BW_SUIT_SEQ_INVOKE};
    unsigned i;
    bw_err rc;

    for (i = 0; i < s->n_components; i++) {
        struct bw_suit_component *c = &s->comp[i];
        struct bw_suit_component fresh;

        memset(&fresh, 0, sizeof(fresh));
        memcpy(fresh.id, c->id, sizeof(fresh.id));
        fresh.id_parts = c->id_parts;
        *c = fresh;
    }
    s->seqs_present = 0;
    s->try_each = 0;
    s->slot_cond = 0;
    for (i = 0; i < 6; i++) {
        struct run r = {s, bits[i], 0, 0};

        if (s->seq[i].p && (rc = run_seq(&r, s->seq[i].p, s->seq[i].len)))
            return rc;
    }
    /* An integrated payload a component names must match its digest. */
    for (i = 0; i < s->n_components; i++) {
        struct bw_suit_bytes pl;
        uint8_t got[BW_SHA256_LEN];

        if (bw_suit_integrated(s, i, &pl) != BW_OK)
            continue;
        if ((rc = bw_sha256(pl.p, pl.len, got)) || (rc = bw_suit_image_match(s, i, got, pl.len)))
            return rc;
    }
    return BW_OK;
}

bw_err bw_suit_select(struct bw_suit *s, uint8_t slot)
{
    bw_err rc = BW_E_INVAL;

    if (slot > 1 || !s->manifest.p || !s->n_components)
        goto out;
    s->slot = slot;
    rc = interpret(s);
out:
    if (rc)
        memset(s, 0, sizeof(*s)); /* nothing of a refused selection survives */
    return rc;
}

static bw_err parse_manifest(struct bw_suit *s, struct sev *v)
{
    static const uint8_t seq_bit[N_SEV] = {0, BW_SUIT_SEQ_FETCH, BW_SUIT_SEQ_INSTALL, 0};
    struct bw_suit_bytes common = {0}, shared = {0}, validate = {0}, load = {0}, invoke = {0};
    struct bw_cbor_dec d;
    uint64_t n, i, key, seen = 0;
    int have_version = 0, have_seq = 0;
    bw_err rc;

    bw_cbor_dec_init(&d, s->manifest.p, s->manifest.len);
    if ((rc = bw_cbor_get_map(&d, &n)))
        return rc;
    for (i = 0; i < n; i++) {
        int si;

        if ((rc = bw_cbor_get_uint(&d, &key)))
            return rc == BW_E_FORMAT ? BW_E_CRITICAL : rc;
        if (key <= 63 && !seen_once(&seen, (int64_t)key))
            return BW_E_FORMAT;
        si = sev_index(key);
        switch (key) {
        case BW_SUIT_MANIFEST_VERSION:
            rc = bw_cbor_get_uint(&d, &s->version);
            if (!rc && s->version != 1)
                return BW_E_UNSUPPORTED;
            have_version = 1;
            break;
        case BW_SUIT_MANIFEST_SEQUENCE:
            rc = bw_cbor_get_uint(&d, &s->sequence);
            have_seq = 1;
            break;
        case BW_SUIT_COMMON:
            rc = bw_cbor_get_bytes(&d, &common.p, &common.len);
            break;
        case BW_SUIT_REFERENCE_URI:
            rc = bw_cbor_get_text(&d, &s->reference_uri.p, &s->reference_uri.len);
            break;
        case BW_SUIT_VALIDATE:
            rc = bw_cbor_get_bytes(&d, &validate.p, &validate.len);
            break;
        case BW_SUIT_LOAD:
            rc = bw_cbor_get_bytes(&d, &load.p, &load.len);
            break;
        case BW_SUIT_INVOKE:
            rc = bw_cbor_get_bytes(&d, &invoke.p, &invoke.len);
            break;
        default:
            if (si < 0)
                return BW_E_CRITICAL;
            {
                struct bw_cbor_item it;

                if ((rc = bw_cbor_peek(&d, &it)))
                    return rc;
                if (it.type == BW_CBOR_BYTES) {
                    rc = bw_cbor_get_bytes(&d, &v->inl[si].p, &v->inl[si].len);
                    if (!rc && v->env[si].p)
                        return BW_E_FORMAT; /* both embedded and severed */
                } else {
                    rc = take_inline_digest(&d, v->digest[si]);
                    v->has_digest[si] = 1;
                }
            }
            break;
        }
        if (rc)
            return rc;
    }
    if (!bw_cbor_at_end(&d))
        return BW_E_TRAILING;
    if (!have_version || !have_seq || !common.p)
        return BW_E_FORMAT;

    /* Severable members present in the envelope must match their digests;
     * a member with no digest in the manifest is unauthenticated. */
    for (i = 0; i < N_SEV; i++) {
        if (v->env[i].p) {
            if (!v->has_digest[i])
                return BW_E_DIGEST;
            if ((rc = check_severed(v, (int)i)))
                return rc;
        } else if (v->has_digest[i] && seq_bit[i]) {
            s->seqs_severed |= seq_bit[i];
        }
    }

    if ((rc = parse_common(common.p, common.len, s, &shared)))
        return rc;
    s->seq[0] = shared;
    s->seq[1] = validate;
    s->seq[2] = load;
    for (i = 0; i < N_SEV; i++) {
        const struct bw_suit_bytes *b = v->env[i].p ? &v->env[i] : &v->inl[i];

        if (sev_keys[i] == BW_SUIT_PAYLOAD_FETCH)
            s->seq[3] = *b;
        else if (sev_keys[i] == BW_SUIT_INSTALL)
            s->seq[4] = *b;
        else if (sev_keys[i] == BW_SUIT_TEXT && b->p && (rc = parse_text(b->p, b->len, s)))
            return rc;
    }
    s->seq[5] = invoke;
    s->slot = BW_SUIT_SLOT_ANY;
    return interpret(s);
}

static bw_err parse_auth(const uint8_t *p, size_t len, struct bw_suit *s)
{
    struct bw_cbor_dec d;
    uint64_t n, i;
    bw_err rc;

    bw_cbor_dec_init(&d, p, len);
    if ((rc = bw_cbor_get_array(&d, &n)))
        return rc;
    if (n < 1)
        return BW_E_FORMAT;
    if (n - 1 > BW_SUIT_MAX_SIGNATURES)
        return BW_E_TOOBIG;
    if ((rc = bw_cbor_get_bytes(&d, &s->auth_digest.p, &s->auth_digest.len)))
        return rc;
    for (i = 1; i < n; i++)
        if ((rc = bw_cbor_get_bytes(&d, &s->sigs[i - 1].p, &s->sigs[i - 1].len)))
            return rc;
    s->n_sigs = (unsigned)(n - 1);
    return bw_cbor_at_end(&d) ? BW_OK : BW_E_TRAILING;
}

static bw_err authenticate(struct bw_suit *s, const struct bw_ec_key *key)
{
    struct bw_cose_sign1 cs;
    uint8_t want[BW_SHA256_LEN];
    unsigned i;
    bw_err rc;

    rc = parse_digest(s->auth_digest.p, s->auth_digest.len, want);
    if (rc)
        goto out;
    /* The digest covers the bstr-wrapped manifest, head included. */
    rc = bw_sha256(s->manifest_bstr.p, s->manifest_bstr.len, s->manifest_digest);
    if (rc)
        goto out;
    rc = BW_E_DIGEST;
    if (!bw_ct_equal(want, s->manifest_digest, sizeof(want)))
        goto out;
    if (!key) {
        rc = BW_OK;
        goto out;
    }
    rc = BW_E_BADSIG; /* no signature at all */
    for (i = 0; i < s->n_sigs; i++) {
        rc = bw_cose_sign1_parse(s->sigs[i].p, s->sigs[i].len, &cs);
        if (rc == BW_OK && !cs.tagged)
            rc = BW_E_FORMAT; /* SUIT requires COSE_Sign1_Tagged */
        if (rc)
            continue;
        rc = bw_cose_sign1_verify(&cs, key, BW_COSE_ALG_ES256, NULL, 0, s->auth_digest.p,
                                  s->auth_digest.len);
        if (rc == BW_OK)
            break;
    }
    if (rc)
        goto out;
    s->authenticated = 1;
    rc = BW_OK;
out:
    return rc;
}

static bw_err parse_envelope(const uint8_t *buf, size_t len, const struct bw_ec_key *key,
                             struct bw_suit *s)
{
    struct sev v;
    struct bw_suit_bytes auth = {0};
    struct bw_cbor_dec d;
    uint64_t n, i, seen = 0;
    int tagged;
    bw_err rc;

    memset(s, 0, sizeof(*s));
    memset(&v, 0, sizeof(v));
    rc = bw_cbor_wellformed(buf, len, 0, NULL);
    if (rc)
        return rc;
    s->envelope.p = buf;
    s->envelope.len = len;
    bw_cbor_dec_init(&d, buf, len);
    if ((rc = bw_cbor_opt_tag(&d, BW_SUIT_TAG_ENVELOPE, &tagged)))
        return rc;
    s->tagged = (unsigned)tagged;
    if ((rc = bw_cbor_get_map(&d, &n)))
        return rc;
    for (i = 0; i < n; i++) {
        struct bw_cbor_item k;
        int si;

        if ((rc = bw_cbor_next(&d, &k)))
            return rc;
        if (k.type == BW_CBOR_TEXT) {
            unsigned j;

            if (s->n_payloads == BW_SUIT_MAX_PAYLOADS)
                return BW_E_TOOBIG;
            for (j = 0; j < s->n_payloads; j++)
                if (s->payload_key[j].len == k.val &&
                    memcmp(s->payload_key[j].p, k.ptr, (size_t)k.val) == 0)
                    return BW_E_FORMAT;
            s->payload_key[s->n_payloads].p = k.ptr;
            s->payload_key[s->n_payloads].len = (size_t)k.val;
            rc = bw_cbor_get_bytes(&d, &s->payload[s->n_payloads].p,
                                   &s->payload[s->n_payloads].len);
            if (rc)
                return rc;
            s->n_payloads++;
            continue;
        }
        if (k.type != BW_CBOR_UINT)
            return k.type == BW_CBOR_NINT ? BW_E_CRITICAL : BW_E_FORMAT;
        if (k.val <= 63 && !seen_once(&seen, (int64_t)k.val))
            return BW_E_FORMAT;
        si = sev_index(k.val);
        if (k.val == BW_SUIT_AUTH) {
            rc = bw_cbor_get_bytes(&d, &auth.p, &auth.len);
        } else if (k.val == BW_SUIT_MANIFEST) {
            s->manifest_bstr.p = buf + d.cur.off;
            rc = bw_cbor_get_bytes(&d, &s->manifest.p, &s->manifest.len);
            s->manifest_bstr.len = buf + d.cur.off - s->manifest_bstr.p;
        } else if (si >= 0) {
            size_t at = d.cur.off;

            rc = bw_cbor_get_bytes(&d, &v.env[si].p, &v.env[si].len);
            v.env_head[si] = d.cur.off - at - v.env[si].len;
            if (!v.env[si].p)
                v.env[si].p = buf + d.cur.off; /* empty member: keep position */
        } else {
            return BW_E_CRITICAL;
        }
        if (rc)
            return rc;
    }
    if (!auth.p || !s->manifest.p)
        return BW_E_FORMAT;
    if ((rc = parse_auth(auth.p, auth.len, s)))
        return rc;
    if ((rc = authenticate(s, key)))
        return rc;
    return parse_manifest(s, &v);
}

bw_err bw_suit_parse(const uint8_t *buf, size_t len, const struct bw_ec_key *key, struct bw_suit *s)
{
    bw_err rc = parse_envelope(buf, len, key, s);

    if (rc)
        memset(s, 0, sizeof(*s)); /* nothing of a refused envelope survives */
    return rc;
}

/* ---- checks on a parsed manifest -------------------------------------- */

/*
 * A manifest fits the device when it asserts the device's vendor and class
 * in at least one condition each, and no such condition, for any component,
 * names another vendor or class (multi-component manifests often check the
 * identifiers once, on the first component).
 */
bw_err bw_suit_check(const struct bw_suit *s, const struct bw_suit_expect *e)
{
    unsigned c, vendor_checked = 0, class_checked = 0;
    bw_err rc = BW_E_STATE;

    if (!s->authenticated)
        goto out;
    rc = BW_E_ROLLBACK;
    if (s->sequence < e->min_sequence)
        goto out;
    for (c = 0; c < s->n_components; c++) {
        const struct bw_suit_component *k = &s->comp[c];

        rc = BW_E_VENDOR;
        if (e->vendor_id && k->cond_vendor) {
            if (k->vendor_conflict ||
                !bw_ct_equal(k->checked_vendor, e->vendor_id, BW_SUIT_UUID_LEN))
                goto out;
            vendor_checked++;
        }
        rc = BW_E_CLASS;
        if (e->class_id && k->cond_class) {
            if (k->class_conflict ||
                !bw_ct_equal(k->checked_class, e->class_id, BW_SUIT_UUID_LEN))
                goto out;
            class_checked++;
        }
    }
    rc = BW_E_VENDOR;
    if (e->vendor_id && !vendor_checked)
        goto out;
    rc = BW_E_CLASS;
    if (e->class_id && !class_checked)
        goto out;
    rc = BW_OK;
out:
    return rc;
}

bw_err bw_suit_image_match(const struct bw_suit *s, unsigned c,
                           const uint8_t digest[BW_SHA256_LEN], uint64_t size)
{
    const struct bw_suit_component *k;

    if (c >= s->n_components)
        return BW_E_INVAL;
    k = &s->comp[c];
    if (!k->has_digest)
        return BW_E_NOTFOUND;
    if (k->has_size && k->image_size != size)
        return BW_E_SIZE;
    return bw_ct_equal(k->image_digest, digest, BW_SHA256_LEN) ? BW_OK : BW_E_DIGEST;
}

bw_err bw_suit_integrated(const struct bw_suit *s, unsigned c, struct bw_suit_bytes *out)
{
    const struct bw_suit_component *k;
    unsigned i;

    if (c >= s->n_components)
        return BW_E_INVAL;
    k = &s->comp[c];
    if (!k->has_uri || k->uri.len < 1 || k->uri.p[0] != '#')
        return BW_E_NOTFOUND;
    for (i = 0; i < s->n_payloads; i++) {
        if (s->payload_key[i].len == k->uri.len - 1 &&
            memcmp(s->payload_key[i].p, k->uri.p + 1, k->uri.len - 1) == 0) {
            *out = s->payload[i];
            return BW_OK;
        }
    }
    return BW_E_NOTFOUND;
}

bw_err bw_suit_chunk_layout(const struct bw_suit *s, unsigned c, uint64_t *n_chunks,
                            uint64_t *list_len)
{
    const struct bw_suit_component *k;

    if (c >= s->n_components)
        return BW_E_INVAL;
    k = &s->comp[c];
    if (!k->has_chunks || !k->has_size)
        return BW_E_NOTFOUND;
    *n_chunks = (k->image_size + k->chunk_size - 1) / k->chunk_size;
    *list_len = *n_chunks * BW_SHA256_LEN;
    return BW_OK;
}

bw_err bw_suit_chunk_list_check(const struct bw_suit *s, unsigned c, const uint8_t *list,
                                size_t list_len)
{
    uint8_t got[BW_SHA256_LEN];
    uint64_t n, want_len;
    bw_err rc;

    rc = bw_suit_chunk_layout(s, c, &n, &want_len);
    if (rc)
        return rc;
    if (want_len != list_len)
        return BW_E_SIZE;
    rc = bw_sha256(list, list_len, got);
    if (rc)
        return rc;
    return bw_ct_equal(got, s->comp[c].chunk_list_digest, sizeof(got)) ? BW_OK : BW_E_CHUNK;
}

bw_err bw_suit_chunk_check(const struct bw_suit *s, unsigned c, const uint8_t *list, uint64_t idx,
                           const uint8_t *data, size_t len)
{
    uint8_t got[BW_SHA256_LEN];
    uint64_t n, list_len, want;
    bw_err rc;

    rc = bw_suit_chunk_layout(s, c, &n, &list_len);
    if (rc)
        return rc;
    if (idx >= n)
        return BW_E_SIZE;
    want = idx + 1 < n ? s->comp[c].chunk_size
                       : s->comp[c].image_size - idx * s->comp[c].chunk_size;
    if (len != want)
        return BW_E_SIZE;
    rc = bw_sha256(data, len, got);
    if (rc)
        return rc;
    return bw_ct_equal(got, list + idx * BW_SHA256_LEN, sizeof(got)) ? BW_OK : BW_E_CHUNK;
}
