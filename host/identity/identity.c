/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device-key front door: picks the backend by URI scheme and forwards
 * each operation through its table. Holds no key material itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/core.h"
#include "bwh/host.h"
#include "bwh/identity.h"

struct bwh_devkey {
    const struct bwh_keystore_ops *ops;
    void *ctx;
};

static const struct bwh_keystore_ops *const backends[] = {
    &bwh_keystore_file,
    &bwh_keystore_pkcs11,
    &bwh_keystore_tpm,
};

bw_err bwh_devkey_open(const char *uri, struct bwh_devkey **out)
{
    const struct bwh_keystore_ops *ops = NULL;
    struct bwh_devkey *k;
    size_t i, n;
    bw_err rc;

    if (!uri || !out)
        return BW_E_INVAL;
    *out = NULL;
    for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        n = strlen(backends[i]->scheme);
        if (!strncmp(uri, backends[i]->scheme, n) && uri[n] == ':') {
            ops = backends[i];
            break;
        }
    }
    if (!ops)
        return BW_E_INVAL;
    k = bwh_calloc(1, sizeof(*k));
    if (!k)
        return BW_E_NOMEM;
    k->ops = ops;
    rc = ops->open(uri + strlen(ops->scheme) + 1, &k->ctx);
    if (rc) {
        bwh_free(k);
        return rc;
    }
    *out = k;
    return BW_OK;
}

void bwh_devkey_close(struct bwh_devkey *k)
{
    if (!k)
        return;
    if (k->ops->close)
        k->ops->close(k->ctx);
    bwh_free(k);
}

const char *bwh_devkey_scheme(const struct bwh_devkey *k)
{
    return k ? k->ops->scheme : "";
}

const char *bwh_devkey_detail(const struct bwh_devkey *k)
{
    return k && k->ops->detail ? k->ops->detail(k->ctx) : "";
}

bw_err bwh_devkey_generate(struct bwh_devkey *k, int force)
{
    return k ? k->ops->generate(k->ctx, force) : BW_E_INVAL;
}

bw_err bwh_devkey_public(struct bwh_devkey *k, uint8_t pub[BW_P256_PUB_LEN])
{
    return k && pub ? k->ops->public_key(k->ctx, pub) : BW_E_INVAL;
}

bw_err bwh_devkey_sign(struct bwh_devkey *k, const uint8_t hash[BW_SHA256_LEN],
                      uint8_t sig[BW_P256_SIG_LEN])
{
    return k && hash && sig ? k->ops->sign(k->ctx, hash, sig) : BW_E_INVAL;
}

bw_err bwh_devkey_export_private(struct bwh_devkey *k, struct bw_ec_key *out)
{
    if (!k || !out)
        return BW_E_INVAL;
    return k->ops->export_private ? k->ops->export_private(k->ctx, out) : BW_E_DENIED;
}

bw_err bwh_devkey_destroy(struct bwh_devkey *k)
{
    return k ? k->ops->destroy(k->ctx) : BW_E_INVAL;
}

static bw_err devkey_sign_cb(void *ctx, const uint8_t hash[BW_SHA256_LEN],
                             uint8_t sig[BW_P256_SIG_LEN])
{
    return bwh_devkey_sign(ctx, hash, sig);
}

bw_err bwh_devkey_signer(struct bwh_devkey *k, struct bw_signer *s)
{
    if (!k || !s)
        return BW_E_INVAL;
    s->ctx = k;
    s->sign = devkey_sign_cb;
    return bwh_devkey_public(k, s->pub);
}

static bw_err ec_sign_cb(void *ctx, const uint8_t hash[BW_SHA256_LEN],
                         uint8_t sig[BW_P256_SIG_LEN])
{
    return bw_ec_sign(ctx, hash, sig);
}

bw_err bwh_signer_from_ec(struct bw_signer *s, const struct bw_ec_key *k)
{
    if (!s || !k)
        return BW_E_INVAL;
    if (!k->has_priv || !k->has_pub)
        return BW_E_KEY;
    s->ctx = (void *)(uintptr_t)k;
    s->sign = ec_sign_cb;
    memcpy(s->pub, k->pub, BW_P256_PUB_LEN);
    return BW_OK;
}

int bwh_key_module(const char *spec, char *out, size_t cap)
{
    if (!spec || !out || !cap)
        return -1;
    if (!strncmp(spec, "pkcs11:", 7))
        return bwh_pkcs11_describe(spec, out, cap) == BW_OK ? 1 : -1;
    if (!strncmp(spec, "tpm:", 4)) {
        snprintf(out, cap, "TPM 2.0 (%s)", spec + 4);
        return 1;
    }
    if (!strncmp(spec, "file:", 5))
        spec += 5;
    /* a file key names its storage key after '?': the key itself is the file */
    snprintf(out, cap, "file %.*s", (int)strcspn(spec, "?"), spec);
    return 0;
}
