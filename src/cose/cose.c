/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COSE_Sign1 parse/verify/sign (see include/bulwark/cose.h). The protected
 * header is verified over the bytes as received; it is decoded only to
 * find the algorithm, never re-encoded.
 */
#include <string.h>
#include "bulwark/cose.h"

static const char context[] = "Signature1";

/* At most this many labels in one header map: the duplicate check below
 * compares each label with those before it, so the work stays small. */
#define HDR_LABELS_MAX 32

/* A header label: an integer or a text string (RFC 9052 section 3). */
struct label {
    int text;
    int64_t v;
    const uint8_t *p;
    size_t n;
};

static bw_err get_label(struct bw_cbor_dec *d, struct label *l)
{
    bw_err rc;

    memset(l, 0, sizeof(*l));
    rc = bw_cbor_get_int(d, &l->v);
    if (rc != BW_E_FORMAT)
        return rc;
    l->text = 1;
    return bw_cbor_get_text(d, &l->p, &l->n); /* anything else: BW_E_FORMAT */
}

static int label_eq(const struct label *a, const struct label *b)
{
    if (a->text != b->text)
        return 0;
    if (!a->text)
        return a->v == b->v;
    return a->n == b->n && (a->n == 0 || !memcmp(a->p, b->p, a->n));
}

/* BW_E_FORMAT if l is one of the first n labels of the map whose entries
 * start at m (a copy is walked; m itself is not moved). */
static bw_err label_unique(const struct bw_cbor_dec *m, uint64_t n, const struct label *l)
{
    struct bw_cbor_dec d = *m;
    struct label x;
    uint64_t i;
    bw_err rc;

    for (i = 0; i < n; i++) {
        if ((rc = get_label(&d, &x)))
            return rc;
        if (label_eq(&x, l))
            return BW_E_FORMAT;
        if ((rc = bw_cbor_skip(&d)))
            return rc;
    }
    return BW_OK;
}

/* Reads a header map. In the protected map alg is required and crit is
 * refused; in the unprotected map alg and crit must not appear. Labels are
 * unique within the map and, for the unprotected map, disjoint from the
 * protected map's (RFC 9052 section 3: a message that repeats a label is
 * malformed, so kid cannot come from one bucket while the other says
 * something else). prot/prot_n: the protected map's entries (prot_n 0 when
 * there are none); start and count (each may be NULL) receive this map's. */
static bw_err parse_headers(struct bw_cbor_dec *d, int protected_map, struct bw_cose_sign1 *s,
                            const struct bw_cbor_dec *prot, uint64_t prot_n,
                            struct bw_cbor_dec *start, uint64_t *count)
{
    struct bw_cbor_dec first;
    uint64_t n, i;
    bw_err rc;

    rc = bw_cbor_get_map(d, &n);
    if (rc)
        return rc;
    if (n > HDR_LABELS_MAX)
        return BW_E_TOOBIG;
    first = *d;
    if (start)
        *start = first;
    if (count)
        *count = n;
    for (i = 0; i < n; i++) {
        struct label l;

        rc = get_label(d, &l);
        if (rc)
            return rc;
        if (!l.text && l.v == BW_COSE_HDR_ALG && !protected_map)
            return BW_E_ALG;
        if (!l.text && l.v == BW_COSE_HDR_CRIT)
            return BW_E_CRITICAL;
        rc = label_unique(&first, i, &l);
        if (!rc && prot)
            rc = label_unique(prot, prot_n, &l);
        if (rc)
            return rc;
        if (l.text) { /* text labels: allowed, never understood */
            rc = bw_cbor_skip(d);
        } else if (l.v == BW_COSE_HDR_ALG) {
            rc = bw_cbor_get_int(d, &s->alg);
            if (rc == BW_E_FORMAT)
                return BW_E_ALG; /* text algorithm names are not ours */
        } else if (l.v == BW_COSE_HDR_KID) {
            rc = bw_cbor_get_bytes(d, &s->kid, &s->kid_len);
        } else {
            rc = bw_cbor_skip(d);
        }
        if (rc)
            return rc;
    }
    return BW_OK;
}

bw_err bw_cose_sign1_parse(const uint8_t *buf, size_t len, struct bw_cose_sign1 *s)
{
    struct bw_cbor_dec d, ph, pmap;
    struct bw_cbor_item it;
    uint64_t n, pn = 0;
    bw_err rc;

    memset(s, 0, sizeof(*s));
    rc = bw_cbor_wellformed(buf, len, 0, NULL);
    if (rc)
        return rc;
    bw_cbor_dec_init(&d, buf, len);
    rc = bw_cbor_opt_tag(&d, BW_COSE_TAG_SIGN1, &s->tagged);
    if (rc)
        return rc;
    rc = bw_cbor_get_array(&d, &n);
    if (rc)
        return rc;
    if (n != 4)
        return BW_E_FORMAT;
    rc = bw_cbor_get_bytes(&d, &s->prot, &s->prot_len);
    if (rc)
        return rc;
    if (s->prot_len) {
        bw_cbor_dec_init(&ph, s->prot, s->prot_len);
        rc = parse_headers(&ph, 1, s, NULL, 0, &pmap, &pn);
        if (rc)
            return rc;
        if (!bw_cbor_at_end(&ph))
            return BW_E_TRAILING;
    }
    rc = parse_headers(&d, 0, s, pn ? &pmap : NULL, pn, NULL, NULL);
    if (rc)
        return rc;
    rc = bw_cbor_next(&d, &it);
    if (rc)
        return rc;
    if (it.type == BW_CBOR_BYTES) {
        s->payload = it.ptr ? it.ptr : buf; /* empty payload: non-NULL */
        s->payload_len = (size_t)it.val;
    } else if (!(it.type == BW_CBOR_SIMPLE && it.val == BW_CBOR_NULL)) {
        return BW_E_FORMAT;
    }
    rc = bw_cbor_get_bytes(&d, &s->sig, &s->sig_len);
    if (rc)
        return rc;
    if (s->alg == 0)
        return BW_E_ALG;
    return BW_OK;
}

/* Hashes a CBOR head without building it elsewhere. */
static bw_err hash_head(struct bw_sha256 *h, enum bw_cbor_type t, uint64_t v)
{
    uint8_t b[9];
    struct bw_wr w;

    bw_wr_init(&w, b, sizeof(b));
    bw_cbor_put_head(&w, t, v);
    return bw_sha256_update(h, b, w.len);
}

bw_err bw_cose_sign1_tbs_hash(const uint8_t *prot, size_t prot_len, const uint8_t *aad,
                              size_t aad_len, const uint8_t *payload, size_t payload_len,
                              uint8_t hash[BW_SHA256_LEN])
{
    struct bw_sha256 h;
    bw_err rc;

    rc = bw_sha256_init(&h);
    if (rc)
        return rc;
    if ((rc = hash_head(&h, BW_CBOR_ARRAY, 4)) ||
        (rc = hash_head(&h, BW_CBOR_TEXT, sizeof(context) - 1)) ||
        (rc = bw_sha256_update(&h, context, sizeof(context) - 1)) ||
        (rc = hash_head(&h, BW_CBOR_BYTES, prot_len)) ||
        (rc = bw_sha256_update(&h, prot, prot_len)) ||
        (rc = hash_head(&h, BW_CBOR_BYTES, aad_len)) ||
        (rc = bw_sha256_update(&h, aad, aad_len)) ||
        (rc = hash_head(&h, BW_CBOR_BYTES, payload_len)) ||
        (rc = bw_sha256_update(&h, payload, payload_len))) {
        bw_sha256_abort(&h);
        return rc;
    }
    return bw_sha256_final(&h, hash);
}

bw_err bw_cose_sign1_verify(const struct bw_cose_sign1 *s, const struct bw_ec_key *k, int64_t alg,
                            const uint8_t *aad, size_t aad_len, const uint8_t *detached,
                            size_t detached_len)
{
    uint8_t hash[BW_SHA256_LEN];
    const uint8_t *payload = s->payload;
    size_t payload_len = s->payload_len;
    bw_err rc;

    rc = BW_E_ALG;
    if (alg != BW_COSE_ALG_ES256 || s->alg != alg)
        goto out;
    rc = BW_E_INVAL;
    if (payload && detached)
        goto out;
    if (!payload) {
        if (!detached)
            goto out;
        payload = detached;
        payload_len = detached_len;
    }
    rc = bw_cose_sign1_tbs_hash(s->prot, s->prot_len, aad, aad_len, payload, payload_len, hash);
    if (rc)
        goto out;
    rc = BW_E_BADSIG;
    if (bw_ec_verify(k, hash, s->sig, s->sig_len) != BW_OK)
        goto out;
    rc = BW_OK;
out:
    bw_wipe(hash, sizeof(hash));
    return rc;
}

bw_err bw_cose_sign1_write(struct bw_wr *w, const struct bw_ec_key *k, const uint8_t *payload,
                           size_t payload_len, int detached, const uint8_t *aad, size_t aad_len,
                           const uint8_t *kid, size_t kid_len)
{
    static const uint8_t prot[] = {0xa1, 0x01, 0x26}; /* {1: -7} */
    uint8_t hash[BW_SHA256_LEN], sig[BW_P256_SIG_LEN];
    bw_err rc;

    rc = bw_cose_sign1_tbs_hash(prot, sizeof(prot), aad, aad_len, payload, payload_len, hash);
    if (rc)
        return rc;
    rc = bw_ec_sign(k, hash, sig);
    if (rc)
        return rc;
    bw_cbor_put_tag(w, BW_COSE_TAG_SIGN1);
    bw_cbor_put_array(w, 4);
    bw_cbor_put_bytes(w, prot, sizeof(prot));
    bw_cbor_put_map(w, kid_len ? 1 : 0);
    if (kid_len) {
        bw_cbor_put_uint(w, BW_COSE_HDR_KID);
        bw_cbor_put_bytes(w, kid, kid_len);
    }
    if (detached)
        bw_cbor_put_simple(w, BW_CBOR_NULL);
    else
        bw_cbor_put_bytes(w, payload, payload_len);
    bw_cbor_put_bytes(w, sig, sizeof(sig));
    return w->err;
}
