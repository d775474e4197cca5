/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Short-lived device tokens: compact JWS JWTs (RFC 7519, RFC 7515) signed
 * with ES256 only. A device issues them with its identity key; the gateway
 * verifies them (signature first, then exp/nbf/iat/aud/jti and a replay
 * cache). No allocation and no I/O: every buffer is the caller's.
 * Not a general JOSE library: no JWE, no JWK, no other algorithm.
 */
#ifndef BULWARK_TOKEN_H
#define BULWARK_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/crypto.h"
#include "bulwark/err.h"

#define BW_TOKEN_MAX 4096           /* longest token issued or accepted (bytes) */
#define BW_TOKEN_LIFETIME_MAX 3600  /* exp - iat ceiling for issue and verify (s) */
#define BW_TOKEN_LEEWAY_DEFAULT 60  /* clock skew tolerated by default (s) */
#define BW_TOKEN_STR_MAX 128        /* longest iss, sub, aud (bytes, UTF-8) */
#define BW_TOKEN_JTI_MAX 64         /* longest jti and kid (bytes) */
#define BW_TOKEN_JTI_RANDOM 16      /* random bytes in a generated jti (22 chars) */
#define BW_TOKEN_TYP_MAX 64         /* longest header "typ" kept (bytes) */
/* The explicit type of a device token (RFC 8725 section 3.11): the media
 * type application/bulwark-device+jwt, written without "application/" as
 * RFC 7515 section 4.1.9 recommends. A verifier of device tokens requires
 * it, so no other JWT (a Mender token, an ID token, a token of another
 * system signed by a key the device also uses) passes as one. */
#define BW_TOKEN_TYP_DEVICE "bulwark-device+jwt"

/* The claims bulwark issues and checks. Strings are NUL-terminated UTF-8;
 * an empty string means "absent". */
struct bw_token_claims {
    char iss[BW_TOKEN_STR_MAX + 1];
    char sub[BW_TOKEN_STR_MAX + 1];
    /* issue: the audience. verify: the policy's audience when it matched
     * (bw_token_verify), else the first audience of the token. */
    char aud[BW_TOKEN_STR_MAX + 1];
    char jti[BW_TOKEN_JTI_MAX + 1];
    char kid[BW_TOKEN_JTI_MAX + 1]; /* protected header "kid", optional */
    /* protected header "typ". issue: "" means BW_TOKEN_TYP_DEVICE (another
     * value is written as given, e.g. "JWT" for Mender's API tokens).
     * verify: as the token has it, "" when it has none. */
    char typ[BW_TOKEN_TYP_MAX + 1];
    int64_t iat, nbf, exp;          /* NumericDate: seconds since the epoch */
    uint8_t has_iat, has_nbf, has_exp;
};

/* What the verifier requires. Fill with bw_token_policy_init, then adjust. */
struct bw_token_policy {
    const char *aud;        /* required: the token's aud must be (or contain) it */
    const char *iss;        /* optional: if non-NULL, iss must equal it */
    const char *sub;        /* optional: if non-NULL, sub must equal it (checked
                             * before the token is recorded, so a key holder
                             * cannot spend table space on other subjects) */
    int64_t now;            /* the verifier's clock, seconds since the epoch */
    uint32_t leeway;        /* clock skew allowed on exp, nbf and iat (s) */
    uint32_t max_lifetime;  /* exp - iat ceiling (s); at most BW_TOKEN_LIFETIME_MAX */
    const char *typ;        /* the header "typ" required (compared as a media type:
                             * case-insensitively, "application/" optional);
                             * NULL means BW_TOKEN_TYP_DEVICE */
};

/* One remembered token: SHA-256 over (iss, sub, jti) and the time after
 * which the token could not be accepted anyway (exp + leeway). */
struct bw_token_seen {
    uint8_t id[BW_SHA256_LEN];
    int64_t until;
    uint8_t owner[8]; /* the subject's tag (quota), zero without a quota */
};

/* One subject's share of a replay cache with a quota: the entries it holds
 * (live, or expired and not yet swept). n == 0 marks a free slot. */
struct bw_token_owner {
    uint8_t id[8];
    uint32_t n;
};

/* Replay cache over a caller-allocated array: an open-addressing hash
 * table keyed by the token id, so a check costs the same with 10 or
 * 100,000 tokens remembered. Expired entries are swept out when the table
 * is three quarters full. Verifiers on several threads that share one
 * cache set a lock (bw_token_replay_set_lock): it is held only while the
 * table is read and written, not during the signature check. */
struct bw_token_replay {
    struct bw_token_seen *slot;
    size_t cap;
    size_t n;                                  /* entries in use */
    void (*lock)(void *ctx, int acquire);      /* optional */
    void *lock_ctx;
    struct bw_token_owner *owner;              /* cap entries, with a quota */
    uint32_t quota;                            /* entries per subject, 0: none */
    int64_t swept;                             /* the time of the last sweep */
};

/* Finds the public key of the device a token claims to come from, so one
 * verifier serves a fleet. kid (header, may be ""), iss and sub (payload,
 * may be "") are NOT yet authenticated when this runs: use them only to
 * choose a key. Fill key with bw_ec_set_pub (key was bw_ec_key_init'ed and
 * is cleared by the caller). Return BW_OK, or BW_E_NOTFOUND for an unknown
 * device (any other code is passed through).
 * Verify binds the claims to the key returned here and to nothing else: pick
 * it by sub (and iss, if the caller acts on iss), the identity the caller
 * will trust, never by kid alone. A key found by kid lets device A sign
 * {"kid":"A","sub":"B"} with its own key and be admitted as B; if kid is
 * used at all, look the key up by sub and refuse a kid it does not match. */
typedef bw_err (*bw_token_key_fn)(void *ctx, const char *kid, const char *iss,
                                  const char *sub, struct bw_ec_key *key);

/* Sets aud and now, leeway = BW_TOKEN_LEEWAY_DEFAULT, max_lifetime =
 * BW_TOKEN_LIFETIME_MAX, iss = NULL, typ = BW_TOKEN_TYP_DEVICE. */
void bw_token_policy_init(struct bw_token_policy *p, const char *aud, int64_t now);

/* Starts an empty replay cache over slots[0..cap). The cache must hold at
 * least as many tokens as the fleet may present within max_lifetime +
 * leeway; when it is full of unexpired entries, verify refuses new tokens
 * with BW_E_NOMEM (fail closed) until some expire. */
void bw_token_replay_init(struct bw_token_replay *r, struct bw_token_seen *slots, size_t cap);

/* Sets the lock that serialises access to a shared cache: lock(ctx, 1)
 * acquires, lock(ctx, 0) releases. NULL removes it. */
void bw_token_replay_set_lock(struct bw_token_replay *r, void (*lock)(void *ctx, int acquire),
                              void *ctx);

/* Gives every subject (the token's sub) at most quota entries of the
 * cache, so one device presenting many fresh tokens fills its own share
 * and not the table: its next new token is refused with BW_E_QUOTA while
 * others are recorded. owners: caller-allocated, exactly as many as the
 * cache's slots (every subject with an entry needs one). Call on an empty
 * cache, after bw_token_replay_init. A subject at its quota forces a sweep
 * of expired entries at most once per second of the verifier's clock.
 * Errors: BW_E_INVAL (NULL owners with a quota, a non-empty cache). */
BW_NODISCARD bw_err bw_token_replay_set_quota(struct bw_token_replay *r,
                                              struct bw_token_owner *owners, uint32_t quota);

/* Issues a token: header {"alg":"ES256","typ":TYP[,"kid":..]} (TYP: c->typ,
 * or BW_TOKEN_TYP_DEVICE when it is empty), payload
 * {"iss","sub","aud","iat"[,"nbf"],"exp","jti"} signed with s (raw r||s).
 * c: sub, aud, iat and exp required (has_iat/has_exp need not be set);
 *    iss empty means iss = sub; has_nbf adds nbf; kid non-empty adds kid;
 *    jti empty means 16 random bytes, base64url, written back into c->jti.
 * out: receives the token and a NUL; *out_len excludes the NUL.
 * Errors: BW_E_INVAL (NULL argument, empty sub/aud, exp <= iat,
 *   exp - iat > BW_TOKEN_LIFETIME_MAX, a string that is not UTF-8 or
 *   contains a control character, negative times), BW_E_NOMEM (cap too
 *   small), BW_E_TOOBIG (token longer than BW_TOKEN_MAX), BW_E_CRYPTO (no
 *   randomness), or what the signer returns. Thread-safe if s is. */
BW_NODISCARD bw_err bw_token_issue(const struct bw_signer *s, struct bw_token_claims *c,
                                   char *out, size_t cap, size_t *out_len);

/* Verifies a token for the gateway. Checks, in this order:
 *   length <= BW_TOKEN_MAX                               else BW_E_TOOBIG
 *   three strict base64url parts (no '=', '+', '/', ws)  else BW_E_FORMAT
 *   header: strict JSON object (see below)               else BW_E_FORMAT/_TRAILING/_DEPTH
 *   header "alg" exactly "ES256"                          else BW_E_ALG
 *   no "crit" header                                     else BW_E_CRITICAL
 *   "typ" present and the policy's (BW_TOKEN_TYP_DEVICE)  else BW_E_CLAIM
 *   kid <= 64 bytes                                      else BW_E_CLAIM
 *   ES256 signature, exactly 64 bytes r||s (DER refused)  else BW_E_BADSIG
 *   payload: strict JSON object                          else BW_E_FORMAT/...
 *   exp present, numeric; now <= exp + leeway            else BW_E_CLAIM / BW_E_EXPIRED
 *   nbf (if present) <= now + leeway                     else BW_E_EXPIRED
 *   iat present; iat <= now + leeway                     else BW_E_CLAIM / BW_E_EXPIRED
 *   iat <= exp, exp - iat <= policy max_lifetime         else BW_E_CLAIM
 *   aud (string or array of strings) contains policy aud else BW_E_CLAIM
 *   iss == policy iss when the policy names one          else BW_E_CLAIM
 *   sub == policy sub when the policy names one          else BW_E_CLAIM
 *   jti present, 1..64 bytes; iss/sub/aud <= 128 bytes   else BW_E_CLAIM
 *   (iss, sub, jti) not in the cache with time left      else BW_E_REPLAY
 *   room in the cache after evicting expired entries     else BW_E_NOMEM
 *   the subject under the cache's quota, if it has one   else BW_E_QUOTA
 * and only then records the token in cache and returns BW_OK.
 * Strict JSON: an object of string, number, true, false, null or array of
 * those; no nested objects or arrays (BW_E_DEPTH), at most 32 members,
 * no duplicate member names, valid UTF-8 and escapes, no "\u0000",
 * nothing but whitespace after the object (BW_E_TRAILING).
 * pub: the expected signer's public key. cache: required (BW_E_INVAL if
 * NULL). out (nullable): the claims, filled only on BW_OK, zeroed
 * otherwise. BW_E_INVAL also for a NULL token/policy/pub, a policy aud
 * that is NULL, empty or longer than BW_TOKEN_STR_MAX, or a policy
 * max_lifetime above BW_TOKEN_LIFETIME_MAX. Thread-safe as long as no two
 * calls share a cache (the key and policy are only read). */
BW_NODISCARD bw_err bw_token_verify(const char *tok, size_t tok_len, const struct bw_ec_key *pub,
                                    const struct bw_token_policy *p,
                                    struct bw_token_replay *cache, struct bw_token_claims *out);

/* Same as bw_token_verify, but the key is chosen by keyfn from the token's
 * kid/iss/sub (the payload is parsed before the signature check to find
 * them; nothing in it is trusted until the signature verified). keyfn's
 * error is returned as is (BW_E_NOTFOUND for an unknown device). The
 * returned sub is only as good as keyfn's choice: it must choose by sub
 * (or iss), never by kid alone (see bw_token_key_fn). */
BW_NODISCARD bw_err bw_token_verify_lookup(const char *tok, size_t tok_len, bw_token_key_fn keyfn,
                                           void *keyctx, const struct bw_token_policy *p,
                                           struct bw_token_replay *cache,
                                           struct bw_token_claims *out);

/* The JWS layer only: length, encoding, header, alg pin, crit, signature,
 * then the payload's syntax and claim types. Checks NO time, audience,
 * presence or replay, and takes any "typ" (a string of at most
 * BW_TOKEN_TYP_MAX bytes, returned in out->typ for the caller to check):
 * for inspection tools, known-answer tests and the gateway's own Mender
 * tokens, never for admitting a device. Errors as bw_token_verify up to
 * the payload. */
BW_NODISCARD bw_err bw_token_verify_signature(const char *tok, size_t tok_len,
                                              const struct bw_ec_key *pub,
                                              struct bw_token_claims *out);

#endif
