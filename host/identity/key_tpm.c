/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM 2.0 key backend over tss2-esys: an ECDSA P-256 signing key at a
 * persistent owner handle that never leaves the TPM, reached through any
 * tctildr TCTI (kernel resource manager, tpm2-abrmd, swtpm). Also the
 * TPM-sealed device storage key (bwh__tpm_storage_key, identity_priv.h).
 * Not here: owner/key passwords, policies, PCR binding, HMAC or encrypted
 * sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "bulwark/core.h"
#include "bwh/host.h"
#include "bwh/identity.h"
#include "identity_priv.h"

#define TCTI_CAP 256
#define DEFAULT_TCTI "device:/dev/tpmrm0"
#define OWNER_PERSISTENT_FIRST 0x81000000u
#define OWNER_PERSISTENT_LAST 0x817FFFFFu
#define COORD_LEN 32 /* P-256 coordinate, scalar r and s */

/* URI after "tpm:": attributes separated by ';' (the TCTI string itself may
 * contain ':', ',' and '=', so ';' is the only separator):
 *   handle=0x81xxxxxx   persistent owner handle, 0x81000000-0x817FFFFF
 *   tcti=TCTI           tctildr string; default "device:/dev/tpmrm0"
 * The owner hierarchy and the key are used with empty auth values. A
 * context is not thread-safe (one per thread); Tss2_RC_Decode, used for
 * detail(), keeps its text in a buffer shared by the process. */

struct tpm_ctx {
    char tcti_conf[TCTI_CAP];
    TPM2_HANDLE handle;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    char detail[320];
};

/* ---- URI ---------------------------------------------------------------- */

/* "0x" followed by 1-8 hex digits and nothing else. */
static int parse_handle(const char *s, size_t n, TPM2_HANDLE *out)
{
    uint32_t v = 0;
    size_t i;

    if (n < 3 || n > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -1;
    for (i = 2; i < n; i++) {
        char ch = s[i];
        uint32_t d;

        if (ch >= '0' && ch <= '9')
            d = (uint32_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (uint32_t)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            d = (uint32_t)(ch - 'A' + 10);
        else
            return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

/* Fills c->tcti_conf and c->handle from the URI params. BW_E_INVAL for an
 * unknown, repeated, empty or missing attribute, a handle that is not hex
 * or outside the persistent owner range, or a TCTI string that is too long. */
static bw_err parse_params(struct tpm_ctx *c, const char *params)
{
    const char *p = params;
    int have_tcti = 0, have_handle = 0;

    while (*p) {
        const char *end = strchr(p, ';');
        const char *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t klen, vlen;

        eq = memchr(p, '=', n);
        if (!eq)
            return BW_E_INVAL;
        klen = (size_t)(eq - p);
        vlen = n - klen - 1;
        if (vlen == 0)
            return BW_E_INVAL;
        if (klen == 4 && !memcmp(p, "tcti", 4)) {
            if (have_tcti++ || vlen >= TCTI_CAP)
                return BW_E_INVAL;
            memcpy(c->tcti_conf, eq + 1, vlen);
            c->tcti_conf[vlen] = '\0';
        } else if (klen == 6 && !memcmp(p, "handle", 6)) {
            if (have_handle++ || parse_handle(eq + 1, vlen, &c->handle))
                return BW_E_INVAL;
        } else {
            return BW_E_INVAL;
        }
        if (!end)
            break;
        p = end + 1;
        if (!*p) /* a trailing ';' is a malformed URI, not an empty attribute */
            return BW_E_INVAL;
    }
    if (!have_handle)
        return BW_E_INVAL;
    if (c->handle < OWNER_PERSISTENT_FIRST || c->handle > OWNER_PERSISTENT_LAST)
        return BW_E_INVAL;
    if (!have_tcti)
        strcpy(c->tcti_conf, DEFAULT_TCTI);
    return BW_OK;
}

/* ---- errors ------------------------------------------------------------- */

static bw_err fail(struct tpm_ctx *c, const char *call, TSS2_RC rc)
{
    snprintf(c->detail, sizeof(c->detail), "%s (handle 0x%08x): 0x%x %s", call,
             (unsigned)c->handle, (unsigned)rc, Tss2_RC_Decode(rc));
    return BW_E_BACKEND;
}

static void note(struct tpm_ctx *c, const char *what)
{
    snprintf(c->detail, sizeof(c->detail), "%s (handle 0x%08x)", what, (unsigned)c->handle);
}

/* TPM_RC_HANDLE from the TPM itself or relayed by a resource manager: the
 * persistent handle names no object. */
static int rc_no_object(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    TSS2_RC r = rc & ~TSS2_RC_LAYER_MASK;

    if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
        return 0;
    return (r & TPM2_RC_FMT1) && (r & 0x3f) == (TPM2_RC_HANDLE & 0x3f);
}

/* ---- TPM helpers -------------------------------------------------------- */

/* Whether an object sits at c->handle. Asked through GetCapability rather
 * than by provoking a handle error, so the normal "no key yet" case leaves
 * no error lines in the tss2 log. */
static bw_err handle_present(struct tpm_ctx *c, int *present)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC rc;

    *present = 0;
    rc = Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                            c->handle, 1, &more, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return fail(c, "Esys_GetCapability", rc);
    *present = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == c->handle;
    Esys_Free(cap);
    return BW_OK;
}

/* Accepts only what sign() can use: an unrestricted ECC P-256 signing key
 * whose scheme is ECDSA/SHA-256 or left open. A key that may also decrypt
 * (tpm2_create's default attributes) is accepted: it still signs. */
static bw_err check_public(struct tpm_ctx *c, const TPMT_PUBLIC *pa)
{
    const TPMS_ECC_PARMS *e = &pa->parameters.eccDetail;

    if (pa->type != TPM2_ALG_ECC || e->curveID != TPM2_ECC_NIST_P256 ||
        !(pa->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
        (pa->objectAttributes & TPMA_OBJECT_RESTRICTED) ||
        !(e->scheme.scheme == TPM2_ALG_NULL ||
          (e->scheme.scheme == TPM2_ALG_ECDSA &&
           e->scheme.details.ecdsa.hashAlg == TPM2_ALG_SHA256)) ||
        pa->unique.ecc.x.size == 0 || pa->unique.ecc.x.size > COORD_LEN ||
        pa->unique.ecc.y.size == 0 || pa->unique.ecc.y.size > COORD_LEN) {
        note(c, "the object at the handle is not an ECDSA P-256 signing key");
        return BW_E_KEY;
    }
    return BW_OK;
}

/* Big-endian integer of n <= len bytes, left-padded with zeros to len. */
static void put_padded(uint8_t *out, size_t len, const uint8_t *in, size_t n)
{
    memset(out, 0, len - n);
    memcpy(out + len - n, in, n);
}

/* Resolves the key at c->handle and checks its public area. *key is closed
 * with Esys_TR_Close (a persistent object is never flushed). pub (nullable)
 * receives 04||X||Y, validated as a P-256 point. BW_E_NOTFOUND if the
 * handle is empty, BW_E_KEY if it holds another kind of object. */
static bw_err open_key(struct tpm_ctx *c, ESYS_TR *key, uint8_t pub[BW_P256_PUB_LEN])
{
    TPM2B_PUBLIC *out = NULL;
    uint8_t pt[BW_P256_PUB_LEN];
    struct bw_ec_key ek;
    int present;
    TSS2_RC trc;
    bw_err rc;

    *key = ESYS_TR_NONE;
    rc = handle_present(c, &present);
    if (rc)
        return rc;
    if (!present) {
        note(c, "no key at the persistent handle");
        return BW_E_NOTFOUND;
    }
    trc = Esys_TR_FromTPMPublic(c->esys, c->handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, key);
    if (trc != TSS2_RC_SUCCESS) {
        *key = ESYS_TR_NONE;
        rc = fail(c, "Esys_TR_FromTPMPublic", trc);
        return rc_no_object(trc) ? BW_E_NOTFOUND : rc;
    }
    trc = Esys_ReadPublic(c->esys, *key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &out, NULL,
                          NULL);
    if (trc != TSS2_RC_SUCCESS) {
        rc = fail(c, "Esys_ReadPublic", trc);
        if (rc_no_object(trc))
            rc = BW_E_NOTFOUND;
        goto out;
    }
    rc = check_public(c, &out->publicArea);
    if (rc)
        goto out;
    pt[0] = 0x04;
    put_padded(pt + 1, COORD_LEN, out->publicArea.unique.ecc.x.buffer,
               out->publicArea.unique.ecc.x.size);
    put_padded(pt + 1 + COORD_LEN, COORD_LEN, out->publicArea.unique.ecc.y.buffer,
               out->publicArea.unique.ecc.y.size);
    bw_ec_key_init(&ek);
    rc = bw_ec_set_pub(&ek, pt, sizeof(pt));
    bw_ec_key_clear(&ek);
    if (rc) {
        note(c, "the TPM returned a public key that is not a P-256 point");
        rc = BW_E_KEY;
        goto out;
    }
    if (pub)
        memcpy(pub, pt, sizeof(pt));
    rc = BW_OK;
out:
    Esys_Free(out);
    if (rc)
        (void)Esys_TR_Close(c->esys, key);
    return rc;
}

/* The SRK: CreatePrimary under the owner hierarchy with the ECC P-256
 * storage template (restricted decrypt, AES-128-CFB). It is derived from the
 * owner seed, so it is the same SRK every time and need not be kept; the
 * caller flushes *srk. */
static bw_err create_srk(struct tpm_ctx *c, ESYS_TR *srk)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tpl;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    TSS2_RC trc;

    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    memset(&tpl, 0, sizeof(tpl));
    tpl.publicArea.type = TPM2_ALG_ECC;
    tpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    tpl.publicArea.objectAttributes =
        TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
        TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
        TPMA_OBJECT_NODA;
    tpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
    tpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
    tpl.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
    tpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    tpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    tpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;

    trc = Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &sens, &tpl, &outside, &pcrs, srk, NULL, NULL, NULL,
                             NULL);
    if (trc != TSS2_RC_SUCCESS) {
        *srk = ESYS_TR_NONE;
        return fail(c, "Esys_CreatePrimary", trc);
    }
    return BW_OK;
}

/* ---- operations --------------------------------------------------------- */

static void tpm_close(void *ctx)
{
    struct tpm_ctx *c = ctx;

    if (!c)
        return;
    if (c->esys)
        Esys_Finalize(&c->esys);
    if (c->tcti)
        Tss2_TctiLdr_Finalize(&c->tcti);
    bwh_free(c);
}

static bw_err tpm_open(const char *params, void **out)
{
    struct tpm_ctx *c;
    TSS2_RC trc;
    bw_err rc;

    if (!params || !out)
        return BW_E_INVAL;
    c = bwh_calloc(1, sizeof(*c));
    if (!c)
        return BW_E_NOMEM;
    rc = parse_params(c, params);
    if (rc)
        goto bad;
    /* Pass the string explicitly: tctildr with NULL walks its own default
     * list and ignores TCTI_NAME_CONF / TPM2TOOLS_TCTI. */
    rc = BW_E_BACKEND;
    trc = Tss2_TctiLdr_Initialize(c->tcti_conf, &c->tcti);
    if (trc != TSS2_RC_SUCCESS) {
        c->tcti = NULL;
        goto bad;
    }
    trc = Esys_Initialize(&c->esys, c->tcti, NULL);
    if (trc != TSS2_RC_SUCCESS) {
        c->esys = NULL;
        goto bad;
    }
    *out = c;
    return BW_OK;
bad:
    tpm_close(c);
    return rc;
}

/* Method: the TPM makes the key.
 * 1. CreatePrimary: the SRK (create_srk).
 * 2. Create under it: the TPM draws a fresh P-256 signing key from its RNG
 *    (a primary key would be re-derived identically from an unchanged
 *    template, so "generate again" would give the old key back), then Load.
 * 3. Only now, with the new key loaded, evict an old key at the handle
 *    (force): a failure before this point leaves the old key in place.
 * 4. EvictControl copies the loaded key to the persistent handle.
 * Both transient objects are flushed on every path, so this also works
 * straight on a TPM without a resource manager. */
static bw_err tpm_generate(void *ctx, int force)
{
    struct tpm_ctx *c = ctx;
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC key_tpl;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE, old = ESYS_TR_NONE;
    ESYS_TR persisted = ESYS_TR_NONE, none = ESYS_TR_NONE;
    int present;
    TSS2_RC trc;
    bw_err rc;

    rc = handle_present(c, &present);
    if (rc)
        return rc;
    if (present && !force) {
        note(c, "a key exists already at the persistent handle");
        return BW_E_EXISTS;
    }

    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    memset(&key_tpl, 0, sizeof(key_tpl));
    key_tpl.publicArea.type = TPM2_ALG_ECC;
    key_tpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    key_tpl.publicArea.objectAttributes =
        TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;
    key_tpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    key_tpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    key_tpl.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    key_tpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    key_tpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;

    rc = create_srk(c, &srk);
    if (rc)
        goto out;
    trc = Esys_Create(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &key_tpl,
                      &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
    if (trc != TSS2_RC_SUCCESS) {
        rc = fail(c, "Esys_Create", trc);
        goto out;
    }
    trc = Esys_Load(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &obj);
    if (trc != TSS2_RC_SUCCESS) {
        obj = ESYS_TR_NONE;
        rc = fail(c, "Esys_Load", trc);
        goto out;
    }
    if (present) {
        trc = Esys_TR_FromTPMPublic(c->esys, c->handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &old);
        if (trc != TSS2_RC_SUCCESS) {
            old = ESYS_TR_NONE;
            rc = fail(c, "Esys_TR_FromTPMPublic", trc);
            goto out;
        }
        trc = Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, old, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                ESYS_TR_NONE, c->handle, &none);
        if (trc != TSS2_RC_SUCCESS) {
            rc = fail(c, "Esys_EvictControl (evict old key)", trc);
            goto out;
        }
    }
    trc = Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, c->handle, &persisted);
    if (trc != TSS2_RC_SUCCESS) {
        persisted = ESYS_TR_NONE;
        rc = fail(c, "Esys_EvictControl (persist)", trc);
        goto out;
    }
    rc = BW_OK;
out:
    if (persisted != ESYS_TR_NONE)
        (void)Esys_TR_Close(c->esys, &persisted);
    if (old != ESYS_TR_NONE)
        (void)Esys_TR_Close(c->esys, &old);
    if (obj != ESYS_TR_NONE)
        (void)Esys_FlushContext(c->esys, obj);
    if (srk != ESYS_TR_NONE)
        (void)Esys_FlushContext(c->esys, srk);
    Esys_Free(priv);
    Esys_Free(pub);
    return rc;
}

static bw_err tpm_public(void *ctx, uint8_t pub[BW_P256_PUB_LEN])
{
    struct tpm_ctx *c = ctx;
    ESYS_TR key;
    bw_err rc;

    rc = open_key(c, &key, pub);
    if (rc)
        return rc;
    (void)Esys_TR_Close(c->esys, &key);
    return BW_OK;
}

static bw_err tpm_sign(void *ctx, const uint8_t hash[BW_SHA256_LEN], uint8_t sig[BW_P256_SIG_LEN])
{
    struct tpm_ctx *c = ctx;
    TPMT_SIGNATURE *s = NULL;
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME scheme;
    TPMT_TK_HASHCHECK ticket;
    const TPMS_SIGNATURE_ECC *e;
    ESYS_TR key;
    TSS2_RC trc;
    bw_err rc;

    rc = open_key(c, &key, NULL);
    if (rc)
        return rc;
    memset(&digest, 0, sizeof(digest));
    digest.size = BW_SHA256_LEN;
    memcpy(digest.buffer, hash, BW_SHA256_LEN);
    memset(&scheme, 0, sizeof(scheme));
    scheme.scheme = TPM2_ALG_ECDSA;
    scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    /* A null ticket: allowed because the key is not restricted. */
    memset(&ticket, 0, sizeof(ticket));
    ticket.tag = TPM2_ST_HASHCHECK;
    ticket.hierarchy = TPM2_RH_NULL;

    trc = Esys_Sign(c->esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                    &ticket, &s);
    if (trc != TSS2_RC_SUCCESS) {
        rc = fail(c, "Esys_Sign", trc);
        goto out;
    }
    rc = BW_E_BACKEND;
    e = &s->signature.ecdsa;
    if (s->sigAlg != TPM2_ALG_ECDSA || e->hash != TPM2_ALG_SHA256 ||
        e->signatureR.size == 0 || e->signatureR.size > COORD_LEN ||
        e->signatureS.size == 0 || e->signatureS.size > COORD_LEN) {
        note(c, "Esys_Sign returned something other than an ECDSA P-256 signature");
        goto out;
    }
    put_padded(sig, COORD_LEN, e->signatureR.buffer, e->signatureR.size);
    put_padded(sig + COORD_LEN, COORD_LEN, e->signatureS.buffer, e->signatureS.size);
    rc = BW_OK;
out:
    Esys_Free(s);
    (void)Esys_TR_Close(c->esys, &key);
    return rc;
}

static bw_err tpm_export(void *ctx, struct bw_ec_key *out)
{
    struct tpm_ctx *c = ctx;

    (void)out;
    note(c, "the private key cannot leave the TPM");
    return BW_E_DENIED;
}

static bw_err tpm_destroy(void *ctx)
{
    struct tpm_ctx *c = ctx;
    ESYS_TR key = ESYS_TR_NONE, none = ESYS_TR_NONE;
    int present;
    TSS2_RC trc;
    bw_err rc;

    rc = handle_present(c, &present);
    if (rc)
        return rc;
    if (!present) {
        note(c, "no key at the persistent handle");
        return BW_E_NOTFOUND;
    }
    trc = Esys_TR_FromTPMPublic(c->esys, c->handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &key);
    if (trc != TSS2_RC_SUCCESS) {
        rc = fail(c, "Esys_TR_FromTPMPublic", trc);
        return rc_no_object(trc) ? BW_E_NOTFOUND : rc;
    }
    trc = Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, c->handle, &none);
    if (trc != TSS2_RC_SUCCESS)
        rc = fail(c, "Esys_EvictControl", trc);
    else
        rc = BW_OK;
    (void)Esys_TR_Close(c->esys, &key);
    return rc;
}

static const char *tpm_detail(void *ctx)
{
    return ((struct tpm_ctx *)ctx)->detail;
}

/* The table (contract in identity.h). Errors by operation:
 *   open        BW_E_INVAL (malformed URI, handle outside 0x81000000-0x817FFFFF),
 *               BW_E_NOMEM, BW_E_BACKEND (TCTI cannot be loaded or reached;
 *               tss2 logs why on stderr, as no context exists to hold it)
 *   generate    BW_E_EXISTS (handle occupied, !force), BW_E_BACKEND
 *   public_key, sign
 *               BW_E_NOTFOUND (empty handle), BW_E_KEY (the handle holds
 *               something other than an ECDSA P-256 signing key), BW_E_BACKEND
 *   destroy     BW_E_NOTFOUND, BW_E_BACKEND (evicts whatever is at the handle)
 *   export_private  always BW_E_DENIED
 * detail() names the last failing ESAPI call with Tss2_RC_Decode's text.
 * The context owns its ESYS and TCTI contexts; close releases both. */
const struct bwh_keystore_ops bwh_keystore_tpm = {
    "tpm", tpm_open, tpm_generate, tpm_public, tpm_sign, tpm_export, tpm_destroy,
    tpm_detail, tpm_close,
};

/* ---- the sealed device storage key -------------------------------------- */

/* A TPM error code, whether from the TPM or relayed by a resource manager. */
static int rc_is(TSS2_RC rc, TSS2_RC want)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

    return (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) &&
           (rc & ~TSS2_RC_LAYER_MASK) == want;
}

/* A sealed data object, as seal() makes it and `tpm2_create -i` does: a
 * keyedhash with scheme NULL that can neither sign nor decrypt (so it holds
 * data, not an HMAC or derivation key), bound to this TPM and its parent,
 * and unsealed with its (empty) auth value rather than a policy. */
static bw_err check_sealed(struct tpm_ctx *c, const TPMT_PUBLIC *pa)
{
    const TPMA_OBJECT need =
        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH;
    const TPMA_OBJECT refuse =
        TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_RESTRICTED;

    if (pa->type != TPM2_ALG_KEYEDHASH ||
        pa->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL ||
        (pa->objectAttributes & refuse) || (pa->objectAttributes & need) != need) {
        note(c, "the object at the handle is not a sealed storage key");
        return BW_E_FORMAT;
    }
    return BW_OK;
}

/* Unseals the object at c->handle into key (written only on BW_OK).
 * BW_E_NOTFOUND if the handle is empty, BW_E_FORMAT for another kind of
 * object or sealed data that is not 32 bytes, BW_E_BACKEND. */
static bw_err unseal(struct tpm_ctx *c, uint8_t key[BWH_STORAGE_KEY_LEN])
{
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_SENSITIVE_DATA *data = NULL;
    ESYS_TR obj = ESYS_TR_NONE;
    TSS2_RC trc;
    bw_err rc;

    trc = Esys_TR_FromTPMPublic(c->esys, c->handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &obj);
    if (trc != TSS2_RC_SUCCESS) {
        obj = ESYS_TR_NONE;
        rc = fail(c, "Esys_TR_FromTPMPublic", trc);
        return rc_no_object(trc) ? BW_E_NOTFOUND : rc;
    }
    trc = Esys_ReadPublic(c->esys, obj, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
                          NULL);
    if (trc != TSS2_RC_SUCCESS) {
        pub = NULL;
        rc = fail(c, "Esys_ReadPublic", trc);
        if (rc_no_object(trc))
            rc = BW_E_NOTFOUND;
        goto out;
    }
    rc = check_sealed(c, &pub->publicArea);
    if (rc)
        goto out;
    trc = Esys_Unseal(c->esys, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &data);
    if (trc != TSS2_RC_SUCCESS) {
        data = NULL;
        rc = fail(c, "Esys_Unseal", trc);
        goto out;
    }
    rc = BW_E_FORMAT;
    if (data->size != BWH_STORAGE_KEY_LEN) {
        note(c, "the sealed data is not a 32-byte storage key");
        goto out;
    }
    memcpy(key, data->buffer, BWH_STORAGE_KEY_LEN);
    rc = BW_OK;
out:
    if (data) {
        bw_wipe(data, sizeof(*data));
        Esys_Free(data);
    }
    Esys_Free(pub);
    if (obj != ESYS_TR_NONE)
        (void)Esys_TR_Close(c->esys, &obj);
    return rc;
}

/* Method: seal a new storage key at the (empty) handle.
 * 1. Draw 32 bytes from bw_random, the CSPRNG the file storage key comes
 *    from; the TPM only keeps them.
 * 2. CreatePrimary the SRK, Create under it a keyedhash data object whose
 *    sensitive data are those bytes (no sensitiveDataOrigin: we supply the
 *    data), and Load it.
 * 3. EvictControl copies it to the persistent handle. If another process
 *    persisted its key there since we looked (TPM_RC_NV_DEFINED), ours is
 *    dropped and BW_E_EXISTS tells the caller to unseal theirs: as with
 *    link(2) for the file key, creation never replaces a key that something
 *    may already be encrypted under.
 * Both transients are flushed on every path (works without a resource
 * manager); our copies of the bytes are wiped. The caller unseals the key
 * from the handle, so what it returns is what the next boot will read. */
static bw_err seal(struct tpm_ctx *c)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tpl;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE, persisted = ESYS_TR_NONE;
    TSS2_RC trc;
    bw_err rc;

    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    memset(&tpl, 0, sizeof(tpl));
    tpl.publicArea.type = TPM2_ALG_KEYEDHASH;
    tpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    tpl.publicArea.objectAttributes =
        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH;
    tpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;

    sens.sensitive.data.size = BWH_STORAGE_KEY_LEN;
    rc = bw_random(sens.sensitive.data.buffer, BWH_STORAGE_KEY_LEN);
    if (rc)
        goto out;
    rc = create_srk(c, &srk);
    if (rc)
        goto out;
    trc = Esys_Create(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tpl,
                      &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
    bw_wipe(&sens, sizeof(sens));
    if (trc != TSS2_RC_SUCCESS) {
        priv = NULL;
        pub = NULL;
        rc = fail(c, "Esys_Create (seal)", trc);
        goto out;
    }
    trc = Esys_Load(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &obj);
    if (trc != TSS2_RC_SUCCESS) {
        obj = ESYS_TR_NONE;
        rc = fail(c, "Esys_Load", trc);
        goto out;
    }
    trc = Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, c->handle, &persisted);
    if (trc != TSS2_RC_SUCCESS) {
        persisted = ESYS_TR_NONE;
        rc = fail(c, "Esys_EvictControl (persist)", trc);
        if (rc_is(trc, TPM2_RC_NV_DEFINED))
            rc = BW_E_EXISTS;
        goto out;
    }
    rc = BW_OK;
out:
    bw_wipe(&sens, sizeof(sens));
    if (persisted != ESYS_TR_NONE)
        (void)Esys_TR_Close(c->esys, &persisted);
    if (obj != ESYS_TR_NONE)
        (void)Esys_FlushContext(c->esys, obj);
    if (srk != ESYS_TR_NONE)
        (void)Esys_FlushContext(c->esys, srk);
    Esys_Free(priv);
    Esys_Free(pub);
    return rc;
}

bw_err bwh__tpm_storage_key(const char *params, int create, uint8_t key[BWH_STORAGE_KEY_LEN])
{
    void *ctx = NULL;
    struct tpm_ctx *c;
    int present;
    bw_err rc;

    if (!params || !key)
        return BW_E_INVAL;
    rc = tpm_open(params, &ctx);
    if (rc)
        return rc;
    c = ctx;
    rc = handle_present(c, &present);
    if (rc)
        goto out;
    if (!present) {
        rc = BW_E_NOTFOUND;
        if (!create)
            goto out;
        rc = seal(c);
        if (rc && rc != BW_E_EXISTS) /* BW_E_EXISTS: another process won, use its key */
            goto out;
    }
    rc = unseal(c, key);
out:
    tpm_close(c);
    return rc;
}
