/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes bulwark's SUIT envelope: one component, vendor/class conditions in
 * the shared sequence, image-match in validate, fetch + image-match in
 * install, invoke; deterministic CBOR (sorted keys, shortest heads).
 * Method: a bstr-wrapped member is encoded twice, once into a counting
 * writer (p == NULL) for its length and once for real, so no scratch buffer
 * is needed except for the manifest, whose bytes must be hashed before the
 * authentication wrapper that precedes it.
 */
#include <string.h>
#include "bulwark/suit.h"

#define MANIFEST_MAX 1024
#define URI_MAX 256

typedef void (*enc_fn)(struct bw_wr *w, const struct bw_suit_build *b);

static void wrap(struct bw_wr *w, enc_fn f, const struct bw_suit_build *b)
{
    struct bw_wr count;

    bw_wr_init(&count, NULL, 0);
    f(&count, b);
    bw_cbor_put_head(w, BW_CBOR_BYTES, count.len);
    f(w, b);
}

static void put_digest(struct bw_wr *w, const uint8_t d[BW_SHA256_LEN])
{
    bw_cbor_put_array(w, 2);
    bw_cbor_put_int(w, BW_SUIT_ALG_SHA256);
    bw_cbor_put_bytes(w, d, BW_SHA256_LEN);
}

static void enc_image_digest(struct bw_wr *w, const struct bw_suit_build *b)
{
    put_digest(w, b->image_digest);
}

static void enc_chunks(struct bw_wr *w, const struct bw_suit_build *b)
{
    bw_cbor_put_array(w, 2);
    bw_cbor_put_uint(w, b->chunk_size);
    put_digest(w, b->chunk_list_digest);
}

static void enc_compression(struct bw_wr *w, const struct bw_suit_build *b)
{
    bw_cbor_put_array(w, 2);
    bw_cbor_put_uint(w, (uint64_t)b->compress);
    put_digest(w, b->clen_digest);
}

/* One A/B alternative: [20,{5:slot}, 5,15, 20,{3:digest,14:size,-257:chunks,-258:section}] */
static void enc_alt(struct bw_wr *w, const struct bw_suit_build *b, unsigned i)
{
    struct bw_suit_build one = *b; /* the alternative's image, for the wrapped encoders */

    memcpy(one.image_digest, b->alt[i].image_digest, BW_SHA256_LEN);
    memcpy(one.chunk_list_digest, b->alt[i].chunk_list_digest, BW_SHA256_LEN);
    bw_cbor_put_array(w, 6);
    bw_cbor_put_uint(w, BW_SUIT_DIR_OVERRIDE_PARAMETERS);
    bw_cbor_put_map(w, 1);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_COMPONENT_SLOT);
    bw_cbor_put_uint(w, i);
    bw_cbor_put_uint(w, BW_SUIT_COND_COMPONENT_SLOT);
    bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, BW_SUIT_DIR_OVERRIDE_PARAMETERS);
    bw_cbor_put_map(w, 4);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_IMAGE_DIGEST);
    wrap(w, enc_image_digest, &one);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_IMAGE_SIZE);
    bw_cbor_put_uint(w, b->alt[i].image_size);
    bw_cbor_put_int(w, BW_SUIT_PARAM_CHUNK_DIGESTS);
    wrap(w, enc_chunks, &one);
    bw_cbor_put_int(w, BW_SUIT_PARAM_SECTION);
    bw_cbor_put_array(w, 2);
    bw_cbor_put_uint(w, b->alt[i].section_off);
    bw_cbor_put_uint(w, b->section_total);
}

/* The A/B shared sequence: identifiers, try-each over the two slots, then
 * the vendor and class conditions (the draft's A/B Image Template). */
static void enc_shared_ab(struct bw_wr *w, const struct bw_suit_build *b)
{
    unsigned i;

    bw_cbor_put_array(w, 8);
    bw_cbor_put_uint(w, BW_SUIT_DIR_OVERRIDE_PARAMETERS);
    bw_cbor_put_map(w, 2);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_VENDOR_ID);
    bw_cbor_put_bytes(w, b->vendor_id, BW_SUIT_UUID_LEN);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_CLASS_ID);
    bw_cbor_put_bytes(w, b->class_id, BW_SUIT_UUID_LEN);
    bw_cbor_put_uint(w, BW_SUIT_DIR_TRY_EACH);
    bw_cbor_put_array(w, 2);
    for (i = 0; i < 2; i++) {
        struct bw_wr count;

        bw_wr_init(&count, NULL, 0);
        enc_alt(&count, b, i);
        bw_cbor_put_head(w, BW_CBOR_BYTES, count.len);
        enc_alt(w, b, i);
    }
    bw_cbor_put_uint(w, BW_SUIT_COND_VENDOR);
    bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, BW_SUIT_COND_CLASS);
    bw_cbor_put_uint(w, 15);
}

static void enc_shared(struct bw_wr *w, const struct bw_suit_build *b)
{
    if (b->n_alt) {
        enc_shared_ab(w, b);
        return;
    }
    bw_cbor_put_array(w, 6);
    bw_cbor_put_uint(w, BW_SUIT_DIR_OVERRIDE_PARAMETERS);
    bw_cbor_put_map(w, 4 + (b->uri ? 1 : 0) + (b->with_chunks ? 1 : 0) + (b->compress ? 1 : 0));
    bw_cbor_put_uint(w, BW_SUIT_PARAM_VENDOR_ID);
    bw_cbor_put_bytes(w, b->vendor_id, BW_SUIT_UUID_LEN);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_CLASS_ID);
    bw_cbor_put_bytes(w, b->class_id, BW_SUIT_UUID_LEN);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_IMAGE_DIGEST);
    wrap(w, enc_image_digest, b);
    bw_cbor_put_uint(w, BW_SUIT_PARAM_IMAGE_SIZE);
    bw_cbor_put_uint(w, b->image_size);
    if (b->uri) {
        bw_cbor_put_uint(w, BW_SUIT_PARAM_URI);
        bw_cbor_put_text(w, b->uri, strlen(b->uri));
    }
    if (b->with_chunks) {
        bw_cbor_put_int(w, BW_SUIT_PARAM_CHUNK_DIGESTS);
        wrap(w, enc_chunks, b);
    }
    if (b->compress) {
        bw_cbor_put_int(w, BW_SUIT_PARAM_COMPRESSION);
        wrap(w, enc_compression, b);
    }
    bw_cbor_put_uint(w, BW_SUIT_COND_VENDOR);
    bw_cbor_put_uint(w, 15);
    bw_cbor_put_uint(w, BW_SUIT_COND_CLASS);
    bw_cbor_put_uint(w, 15);
}

static void enc_common(struct bw_wr *w, const struct bw_suit_build *b)
{
    static const uint8_t zero = 0;

    bw_cbor_put_map(w, 2);
    bw_cbor_put_uint(w, BW_SUIT_COMMON_COMPONENTS);
    bw_cbor_put_array(w, 1);
    bw_cbor_put_array(w, 1);
    if (b->component_id)
        bw_cbor_put_bytes(w, b->component_id, b->component_id_len);
    else
        bw_cbor_put_bytes(w, &zero, 1);
    bw_cbor_put_uint(w, BW_SUIT_COMMON_SHARED_SEQUENCE);
    wrap(w, enc_shared, b);
}

static void enc_validate(struct bw_wr *w, const struct bw_suit_build *b)
{
    (void)b;
    bw_cbor_put_array(w, 2);
    bw_cbor_put_uint(w, BW_SUIT_COND_IMAGE_MATCH);
    bw_cbor_put_uint(w, 15);
}

static void enc_invoke(struct bw_wr *w, const struct bw_suit_build *b)
{
    (void)b;
    bw_cbor_put_array(w, 2);
    bw_cbor_put_uint(w, BW_SUIT_DIR_INVOKE);
    bw_cbor_put_uint(w, 15);
}

static void enc_install(struct bw_wr *w, const struct bw_suit_build *b)
{
    (void)b;
    bw_cbor_put_array(w, 4);
    bw_cbor_put_uint(w, BW_SUIT_DIR_FETCH);
    bw_cbor_put_uint(w, 2);
    bw_cbor_put_uint(w, BW_SUIT_COND_IMAGE_MATCH);
    bw_cbor_put_uint(w, 15);
}

/* The text member: {-257: SUIT_Digest of the SBOM, -258: true}, either
 * or both (deterministic order: -257 sorts first). */
static void enc_text(struct bw_wr *w, const struct bw_suit_build *b)
{
    bw_cbor_put_map(w, (b->sbom_digest ? 1u : 0u) + (b->security_only ? 1u : 0u));
    if (b->sbom_digest) {
        bw_cbor_put_int(w, BW_SUIT_TEXT_SBOM_DIGEST);
        put_digest(w, b->sbom_digest);
    }
    if (b->security_only) {
        bw_cbor_put_int(w, BW_SUIT_TEXT_SECURITY_ONLY);
        bw_cbor_put_head(w, BW_CBOR_SIMPLE, 21);
    }
}

static void enc_manifest(struct bw_wr *w, const struct bw_suit_build *b)
{
    bw_cbor_put_map(w, b->sbom_digest || b->security_only ? 7 : 6);
    bw_cbor_put_uint(w, BW_SUIT_MANIFEST_VERSION);
    bw_cbor_put_uint(w, 1);
    bw_cbor_put_uint(w, BW_SUIT_MANIFEST_SEQUENCE);
    bw_cbor_put_uint(w, b->sequence);
    bw_cbor_put_uint(w, BW_SUIT_COMMON);
    wrap(w, enc_common, b);
    bw_cbor_put_uint(w, BW_SUIT_VALIDATE);
    wrap(w, enc_validate, b);
    bw_cbor_put_uint(w, BW_SUIT_INVOKE);
    wrap(w, enc_invoke, b);
    bw_cbor_put_uint(w, BW_SUIT_INSTALL);
    wrap(w, enc_install, b);
    if (b->sbom_digest || b->security_only) {
        bw_cbor_put_uint(w, BW_SUIT_TEXT);
        wrap(w, enc_text, b);
    }
}

/* Each A/B section (chunk list + payload) lies inside the total. */
static int ab_fits(const struct bw_suit_build *b)
{
    unsigned i;

    if (b->section_total > 2 * BW_SUIT_IMAGE_MAX)
        return 0;
    for (i = 0; i < 2; i++) {
        const struct bw_suit_build_alt *a = &b->alt[i];
        uint64_t list = (a->image_size + b->chunk_size - 1) / b->chunk_size * BW_SHA256_LEN;

        if (a->image_size > BW_SUIT_IMAGE_MAX || a->section_off > b->section_total ||
            b->section_total - a->section_off < list + a->image_size)
            return 0;
    }
    return 1;
}

bw_err bw_suit_build(struct bw_wr *w, const struct bw_suit_build *b, const struct bw_ec_key *key)
{
    uint8_t mbuf[MANIFEST_MAX], dbuf[48], auth[256], mdigest[BW_SHA256_LEN];
    struct bw_wr m, dw, aw;
    size_t urilen = b->uri ? strlen(b->uri) : 0;
    bw_err rc;

    rc = BW_E_INVAL;
    if (!b->vendor_id || !b->class_id || urilen > URI_MAX || b->component_id_len > 64 ||
        b->image_size > BW_SUIT_IMAGE_MAX ||
        (b->with_chunks && (b->chunk_size < BW_SUIT_CHUNK_MIN ||
                            b->chunk_size > BW_SUIT_CHUNK_MAX ||
                            (b->chunk_size & (b->chunk_size - 1)))) ||
        (b->uri && !bw_utf8_valid((const uint8_t *)b->uri, urilen)) ||
        (b->uri && b->uri[0] == '#' && !b->integrated) ||
        (b->integrated && (!b->uri || b->uri[0] != '#' || urilen < 2)) ||
        (b->n_alt != 0 && b->n_alt != 2) ||
        (b->n_alt && (!b->with_chunks || b->uri || b->integrated || !ab_fits(b))) ||
        (b->compress && (!b->with_chunks || b->n_alt || b->integrated ||
                         (b->compress != BW_SUIT_COMPRESS_ZSTD &&
                          b->compress != BW_SUIT_COMPRESS_ZSTD_STREAM))))
        goto out;
    rc = BW_E_KEY;
    if (!key || !key->has_priv)
        goto out;

    /* mbuf holds the manifest as a bstr (head + content): the digest
     * covers exactly that, and the envelope copies it verbatim. */
    bw_wr_init(&m, mbuf, sizeof(mbuf));
    wrap(&m, enc_manifest, b);
    if ((rc = m.err))
        goto out;
    if ((rc = bw_sha256(mbuf, m.len, mdigest)))
        goto out;
    bw_wr_init(&dw, dbuf, sizeof(dbuf));
    put_digest(&dw, mdigest);
    /* The signature is the only varying part; a counting writer skips it. */
    bw_wr_init(&aw, auth, sizeof(auth));
    if (w->p) {
        if ((rc = bw_cose_sign1_write(&aw, key, dbuf, dw.len, 1, NULL, 0, NULL, 0)))
            goto out;
    } else {
        aw.len = 1 + 1 + 4 + 1 + 1 + 2 + BW_P256_SIG_LEN; /* tag, array, prot, {}, nil, sig */
    }

    bw_cbor_put_tag(w, BW_SUIT_TAG_ENVELOPE);
    bw_cbor_put_map(w, 2 + (b->integrated ? 1 : 0));
    bw_cbor_put_uint(w, BW_SUIT_AUTH);
    bw_cbor_put_head(w, BW_CBOR_BYTES,
                     1 + bw_cbor_head_len(dw.len) + dw.len + bw_cbor_head_len(aw.len) + aw.len);
    bw_cbor_put_array(w, 2);
    bw_cbor_put_bytes(w, dbuf, dw.len);
    if (w->p)
        bw_cbor_put_bytes(w, auth, aw.len);
    else
        bw_cbor_put_bytes(w, NULL, aw.len);
    bw_cbor_put_uint(w, BW_SUIT_MANIFEST);
    bw_wr_bytes(w, mbuf, m.len);
    if (b->integrated) {
        bw_cbor_put_text(w, b->uri + 1, urilen - 1);
        bw_cbor_put_bytes(w, b->integrated, b->integrated_len);
    }
    rc = w->err;
out:
    return rc;
}
