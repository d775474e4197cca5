/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COSE_Sign1 parse/verify/sign (see include/bulwark/cose.h). The protected
 * header is verified over the bytes as received; it is decoded only to
 * find the algorithm, never re-encoded.
 */
#include <string.h>
#include "bulwark/cose.h"

static const char context[] = "Signature1";

/* Reads a header map. In the protected map alg is required and crit is
 * refused; in the unprotected map alg and crit must not appear. */
static bw_err parse_headers(struct bw_cbor_dec *d, int protected_map, struct bw_cose_sign1 *s)
{
    uint64_t n, i;
    uint32_t seen = 0;
    bw_err rc;

    rc = bw_cbor_get_map(d, &n);
    if (rc)
        return rc;
    for (i = 0; i < n; i++) {
        int64_t label;

        rc = bw_cbor_get_int(d, &label);
        if (rc == BW_E_FORMAT) { /* text labels: allowed, never understood */
            if ((rc = bw_cbor_skip(d)) || (rc = bw_cbor_skip(d)))
                return rc;
            continue;
        }
        if (rc)
            return rc;
        if (label >= 0 && label < 32) {
            if (seen & (1u << label))
                return BW_E_FORMAT; /* duplicate label */
            seen |= 1u << label;
        }
        switch (label) {
        case BW_COSE_HDR_ALG:
            if (!protected_map)
                return BW_E_ALG;
            rc = bw_cbor_get_int(d, &s->alg);
            if (rc == BW_E_FORMAT)
                return BW_E_ALG; /* text algorithm names are not ours */
            break;
        case BW_COSE_HDR_CRIT:
            return BW_E_CRITICAL;
        case BW_COSE_HDR_KID:
            rc = bw_cbor_get_bytes(d, &s->kid, &s->kid_len);
            break;
        default:
            rc = bw_cbor_skip(d);
            break;
        }
        if (rc)
            return rc;
    }
    return BW_OK;
}

bw_err bw_cose_sign1_parse(const uint8_t *buf, size_t len, struct bw_cose_sign1 *s)
{
    struct bw_cbor_dec d, ph;
    struct bw_cbor_item it;
    uint64_t n;
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
        rc = parse_headers(&ph, 1, s);
        if (rc)
            return rc;
        if (!bw_cbor_at_end(&ph))
            return BW_E_TRAILING;
    }
    rc = parse_headers(&d, 0, s);
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
