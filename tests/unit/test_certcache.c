/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's cache of verified client chains (gateway/certcache.c): a
 * chain is found until its earliest notAfter or the lifetime, whichever
 * comes first; a new generation (a CRL reload) makes every entry miss,
 * and a chain verified under the old trust list is not stored after it;
 * another chain, or a chain with one byte changed, misses.
 */
#include "certcache.h"
#include "t.h"

static void key_of(const char *leaf, const char *ca, uint8_t key[GW_CERTCACHE_KEY_LEN])
{
    const uint8_t *der[2] = {(const uint8_t *)leaf, (const uint8_t *)ca};
    size_t len[2] = {strlen(leaf), strlen(ca)};

    CHECK_RC(gw_certcache_key(der, len, 2, key), BW_OK);
}

int main(void)
{
    struct gw_certcache *cc = NULL;
    uint8_t k1[GW_CERTCACHE_KEY_LEN], k2[GW_CERTCACHE_KEY_LEN], k3[GW_CERTCACHE_KEY_LEN];
    char cn[GW_ID_MAX + 1];
    uint64_t gen;

    CHECK_RC(gw_certcache_new(16, 0, &cc), BW_E_INVAL);
    CHECK(cc == NULL);
    CHECK_RC(gw_certcache_new(16, 100, &cc), BW_OK);
    key_of("leaf-1", "ca", k1);
    key_of("leaf-2", "ca", k2);
    key_of("leaf-1", "cb", k3); /* same leaf, another issuer: another chain */
    CHECK(memcmp(k1, k3, sizeof(k1)) != 0);

    /* miss, then found until the earliest notAfter */
    CHECK(!gw_certcache_get(cc, k1, 1000, cn));
    gen = gw_certcache_generation(cc);
    gw_certcache_put(cc, k1, gen, 1000, 1050, "dev-1");
    CHECK(gw_certcache_get(cc, k1, 1049, cn) && !strcmp(cn, "dev-1"));
    CHECK(!gw_certcache_get(cc, k1, 1050, cn));
    CHECK(!gw_certcache_get(cc, k2, 1000, cn));
    CHECK(!gw_certcache_get(cc, k3, 1000, cn));

    /* or until the lifetime */
    gw_certcache_put(cc, k2, gen, 1000, 1000000, "dev-2");
    CHECK(gw_certcache_get(cc, k2, 1099, cn) && !strcmp(cn, "dev-2"));
    CHECK(!gw_certcache_get(cc, k2, 1100, cn));

    /* an expired certificate is not stored */
    gw_certcache_put(cc, k3, gen, 1000, 999, "dev-3");
    CHECK(!gw_certcache_get(cc, k3, 998, cn));

    /* a new generation: every entry misses; a chain verified under the
     * old one is not stored */
    gw_certcache_put(cc, k1, gen, 2000, 9000, "dev-1");
    CHECK(gw_certcache_get(cc, k1, 2001, cn));
    gw_certcache_new_generation(cc);
    CHECK(!gw_certcache_get(cc, k1, 2001, cn));
    gw_certcache_put(cc, k1, gen, 2000, 9000, "dev-1");
    CHECK(!gw_certcache_get(cc, k1, 2001, cn));
    gen = gw_certcache_generation(cc);
    gw_certcache_put(cc, k1, gen, 2000, 9000, "dev-1");
    CHECK(gw_certcache_get(cc, k1, 2001, cn));

    /* a CN that does not fit is not stored */
    {
        char big[GW_ID_MAX + 2];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        gw_certcache_put(cc, k2, gen, 3000, 9000, big);
        CHECK(!gw_certcache_get(cc, k2, 3001, cn));
    }
    gw_certcache_free(cc);
    gw_certcache_free(NULL);
    T_DONE();
}
