/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verified client chains, remembered. A device that reconnects, above all
 * one that resumes its TLS session from a ticket, presents the same
 * certificate chain again; verifying it against client_ca and client_crl
 * (an ECDSA verification and the parsing of every certificate) was most of
 * what a resumed check-in cost beyond the handshake. The cache keys a
 * chain by the SHA-256 of its certificates and keeps, for a chain that
 * verified, the leaf's common name until the earliest notAfter in the
 * chain or a fixed lifetime, whichever comes first. A new trust list (a
 * CRL reload) starts a new generation: every entry of the old one misses.
 * Revocation in the registry is checked on every request as before and
 * does not go through here. Chains that failed are not remembered.
 * Fixed size, direct-mapped (a colliding chain replaces the entry), one
 * mutex; tests/unit/test_certcache.c.
 */
#ifndef BULWARK_GATEWAY_CERTCACHE_H
#define BULWARK_GATEWAY_CERTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bulwark/err.h"
#include "db.h"

#define GW_CERTCACHE_KEY_LEN 32 /* SHA-256 of the chain */

struct gw_certcache;

/* slots: entries (rounded up to a power of two, at least 16); ttl: the
 * longest an entry serves, seconds */
BW_NODISCARD bw_err gw_certcache_new(size_t slots, int64_t ttl, struct gw_certcache **out);
void gw_certcache_free(struct gw_certcache *cc);

/* The key of a chain: SHA-256 over each certificate's length (4 bytes,
 * big-endian) and DER. */
BW_NODISCARD bw_err gw_certcache_key(const uint8_t *const *der, const size_t *der_len, size_t n,
                                     uint8_t key[GW_CERTCACHE_KEY_LEN]);

/* 1 and the leaf's common name in cn (GW_ID_MAX + 1 bytes) when the chain
 * verified in this generation and its entry is still good at now; else 0. */
int gw_certcache_get(struct gw_certcache *cc, const uint8_t key[GW_CERTCACHE_KEY_LEN], int64_t now,
                     char *cn);

/* The generation now: read it under the same lock as the trust list a
 * chain is verified with, and hand it to gw_certcache_put. */
uint64_t gw_certcache_generation(struct gw_certcache *cc);

/* Remembers a chain that verified now in generation gen, good until
 * min(not_after, now + ttl); nothing when a new generation began since
 * (the chain was verified with a trust list that is gone). */
void gw_certcache_put(struct gw_certcache *cc, const uint8_t key[GW_CERTCACHE_KEY_LEN], uint64_t gen,
                      int64_t now, int64_t not_after, const char *cn);

/* A new trust list: every entry remembered so far misses from now on. */
void gw_certcache_new_generation(struct gw_certcache *cc);

#endif
