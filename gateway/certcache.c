/* SPDX-License-Identifier: Apache-2.0 */
/* Verified client chains, remembered (certcache.h). */
#include <pthread.h>
#include <string.h>

#include "bulwark/core.h"
#include "bulwark/crypto.h"
#include "bwh/host.h"
#include "certcache.h"

struct entry {
    uint8_t key[GW_CERTCACHE_KEY_LEN];
    uint64_t gen; /* 0: empty */
    int64_t until;
    char cn[GW_ID_MAX + 1];
};

struct gw_certcache {
    pthread_mutex_t lock;
    struct entry *e;
    size_t mask;
    int64_t ttl;
    uint64_t gen;
};

bw_err gw_certcache_new(size_t slots, int64_t ttl, struct gw_certcache **out)
{
    struct gw_certcache *cc;
    size_t n = 16;

    *out = NULL;
    if (ttl <= 0 || slots > ((size_t)1 << 24))
        return BW_E_INVAL;
    while (n < slots)
        n <<= 1;
    cc = bwh_calloc(1, sizeof(*cc));
    if (!cc)
        return BW_E_NOMEM;
    cc->e = bwh_calloc(n, sizeof(*cc->e));
    if (!cc->e || pthread_mutex_init(&cc->lock, NULL)) {
        bwh_free(cc->e);
        bwh_free(cc);
        return BW_E_NOMEM;
    }
    cc->mask = n - 1;
    cc->ttl = ttl;
    cc->gen = 1;
    *out = cc;
    return BW_OK;
}

void gw_certcache_free(struct gw_certcache *cc)
{
    if (!cc)
        return;
    pthread_mutex_destroy(&cc->lock);
    bwh_free(cc->e);
    bwh_free(cc);
}

bw_err gw_certcache_key(const uint8_t *const *der, const size_t *der_len, size_t n,
                        uint8_t key[GW_CERTCACHE_KEY_LEN])
{
    struct bw_sha256 h;
    uint8_t len[4];
    size_t i;
    bw_err rc;

    rc = bw_sha256_init(&h);
    for (i = 0; !rc && i < n; i++) {
        if (der_len[i] > UINT32_MAX) {
            rc = BW_E_TOOBIG;
            break;
        }
        len[0] = (uint8_t)(der_len[i] >> 24);
        len[1] = (uint8_t)(der_len[i] >> 16);
        len[2] = (uint8_t)(der_len[i] >> 8);
        len[3] = (uint8_t)der_len[i];
        rc = bw_sha256_update(&h, len, sizeof(len));
        if (!rc)
            rc = bw_sha256_update(&h, der[i], der_len[i]);
    }
    if (!rc)
        return bw_sha256_final(&h, key);
    bw_sha256_abort(&h);
    return rc;
}

static struct entry *slot(struct gw_certcache *cc, const uint8_t *key)
{
    size_t i = (size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16 | (size_t)key[3] << 24;

    return &cc->e[i & cc->mask];
}

int gw_certcache_get(struct gw_certcache *cc, const uint8_t key[GW_CERTCACHE_KEY_LEN], int64_t now,
                     char *cn)
{
    struct entry *e;
    int hit = 0;

    if (!cc)
        return 0;
    pthread_mutex_lock(&cc->lock);
    e = slot(cc, key);
    if (e->gen == cc->gen && now < e->until && bw_ct_equal(e->key, key, GW_CERTCACHE_KEY_LEN)) {
        memcpy(cn, e->cn, sizeof(e->cn));
        hit = 1;
    }
    pthread_mutex_unlock(&cc->lock);
    return hit;
}

uint64_t gw_certcache_generation(struct gw_certcache *cc)
{
    uint64_t g;

    if (!cc)
        return 0;
    pthread_mutex_lock(&cc->lock);
    g = cc->gen;
    pthread_mutex_unlock(&cc->lock);
    return g;
}

void gw_certcache_put(struct gw_certcache *cc, const uint8_t key[GW_CERTCACHE_KEY_LEN], uint64_t gen,
                      int64_t now, int64_t not_after, const char *cn)
{
    struct entry *e;
    size_t n = strlen(cn);

    if (!cc || n >= sizeof(e->cn) || not_after <= now)
        return;
    pthread_mutex_lock(&cc->lock);
    if (gen != cc->gen) {
        pthread_mutex_unlock(&cc->lock);
        return;
    }
    e = slot(cc, key);
    memcpy(e->key, key, GW_CERTCACHE_KEY_LEN);
    memcpy(e->cn, cn, n + 1);
    e->until = not_after < now + cc->ttl ? not_after : now + cc->ttl;
    e->gen = cc->gen;
    pthread_mutex_unlock(&cc->lock);
}

void gw_certcache_new_generation(struct gw_certcache *cc)
{
    if (!cc)
        return;
    pthread_mutex_lock(&cc->lock);
    cc->gen++;
    pthread_mutex_unlock(&cc->lock);
}
