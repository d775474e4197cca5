/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device credentials without universal defaults (EN 303 645 5.1-1, PSTI
 * Schedule 1): per-device passwords drawn from the CSPRNG, stored only as
 * Argon2id hashes, checked with a growing delay and a lockout that are
 * written to disk before the password is even looked at, so restarting
 * the device (or killing the checker) buys an attacker nothing.
 * Host code: the credentials file is read and replaced atomically.
 */
#ifndef BULWARK_CRED_H
#define BULWARK_CRED_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/err.h"

/* Generated passwords: 4 groups of 5 characters from a 32-letter alphabet
 * without look-alikes (a-z without i, l, o; digits 1-9), joined by '-':
 * 100 bits of entropy, e.g. "k7qzm-9bx3d-hw2tr-pa6ne". */
#define BWH_CRED_GEN_LEN 23
#define BWH_CRED_PW_MIN 12  /* shortest password passwd accepts */
#define BWH_CRED_PW_MAX 128 /* longest password anything accepts */
#define BWH_CRED_NAME_MAX 32
#define BWH_CRED_HASH_MAX 192 /* an encoded Argon2id hash */
#define BWH_CRED_USERS_MAX 16

/* Argon2id cost. The defaults (t=2, 19 MiB, one lane) are the OWASP
 * password-storage baseline: RFC 9106's 64 MiB option costs a small
 * device too much RAM and most of a second per login (bench/README.md has
 * both). A device with more RAM raises m_kib; with less, lowers it and
 * raises t to keep the work. */
struct bwh_cred_params {
    uint32_t t_cost;
    uint32_t m_kib;
    uint32_t lanes;
};
#define BWH_CRED_T_DEFAULT 2
#define BWH_CRED_M_DEFAULT 19456
#define BWH_CRED_LANES_DEFAULT 1
/* crypto_mode = approved (bwh/cryptomode.h, docs/fips.md) hashes with
 * PBKDF2-HMAC-SHA256 (SP 800-132) instead, stored as
 *   $pbkdf2-sha256$i=ITERATIONS$SALT(32 hex)$KEY(64 hex)
 * with a 128-bit salt from the DRBG and a 256-bit derived key; the count
 * is OWASP's 2023 figure for PBKDF2-HMAC-SHA256. A stored count outside
 * ITER_MIN..ITER_MAX is refused as malformed. Argon2id hashes already on file are
 * checked once more and replaced by PBKDF2 on that successful check. */
#define BWH_CRED_PBKDF2_ITER 600000
#define BWH_CRED_PBKDF2_ITER_MIN 1000 /* SP 800-132 5.2's minimum */
#define BWH_CRED_PBKDF2_ITER_MAX 10000000 /* above: refused, not minutes of hashing per login */
#define BWH_CRED_PBKDF2_SALT_LEN 16
#define BWH_CRED_PBKDF2_DK_LEN 32
/* "T,M_KIB,LANES" (bulwark passwd/provision --argon2) into p: decimal
 * numbers only, T >= 1, 1 <= LANES <= 16, M_KIB >= 8 * LANES (Argon2's
 * floor). BW_E_INVAL otherwise; p is untouched then. */
BW_NODISCARD bw_err bwh_cred_params_parse(const char *s, struct bwh_cred_params *p);
/* The lowercase hex SHA-256 of an encoded hash (out: 65 bytes with NUL):
 * what provisioning records per unit and bulwark audit compares, to find
 * units that share one credential file without revealing anything a guess
 * could be tested against. BW_E_CRYPTO if hashing fails. */
BW_NODISCARD bw_err bwh_cred_digest(const char *hash, char out[65]);

/* Throttling: after the n-th consecutive failure the next attempt must
 * wait 2^(n-1) seconds (capped at BWH_CRED_DELAY_MAX); after
 * BWH_CRED_LOCK_AFTER consecutive failures the account is locked for
 * BWH_CRED_LOCK_SECONDS. A success resets both. */
#define BWH_CRED_DELAY_MAX 60
#define BWH_CRED_LOCK_AFTER 10
#define BWH_CRED_LOCK_SECONDS 900

struct bwh_cred_user {
    char name[BWH_CRED_NAME_MAX + 1];
    char hash[BWH_CRED_HASH_MAX];
    int factory;            /* still the credential set at provisioning */
    uint32_t failures;      /* consecutive failed checks */
    uint64_t next_allowed;  /* unix time before which checks are refused */
    uint64_t locked_until;  /* unix time; 0 = not locked */
};

struct bwh_cred_db {
    char path[4096];
    struct bwh_cred_user user[BWH_CRED_USERS_MAX];
    size_t n;
};

/* A fresh password (BWH_CRED_GEN_LEN characters + NUL) from bw_random:
 * 5 bits per letter of a 32-letter table, so every letter is equally likely. Depends on
 * nothing but the CSPRNG: never on serial numbers, MACs or counters.
 * BW_E_NOMEM if cap <= BWH_CRED_GEN_LEN; BW_E_CRYPTO if the CSPRNG fails. */
BW_NODISCARD bw_err bwh_cred_generate(char *out, size_t cap);

/* Argon2id hash of pw with a fresh 16-byte random salt, in the PHC string
 * encoding ("$argon2id$v=19$m=..,t=..,p=..$salt$hash"). p NULL: defaults.
 * BW_E_INVAL for an empty or oversized password, BW_E_NOMEM if cap is too
 * small or Argon2 cannot get its memory. */
BW_NODISCARD bw_err bwh_cred_hash(const char *pw, const struct bwh_cred_params *p, char *out,
                                 size_t cap);

/* BW_OK if pw matches the encoded hash (constant-time compare inside
 * libargon2), BW_E_AUTH if not, BW_E_FORMAT for a malformed hash. */
BW_NODISCARD bw_err bwh_cred_check_hash(const char *encoded, const char *pw);

/* Loads the credentials file (mode 0600, one user per line). An absent
 * file gives an empty database and BW_OK; BW_E_FORMAT names the line on
 * stderr; BW_E_TOOBIG past BWH_CRED_USERS_MAX users. */
BW_NODISCARD bw_err bwh_cred_load(struct bwh_cred_db *db, const char *path);
/* Replaces the file atomically (temp, fsync, rename, fsync dir). */
BW_NODISCARD bw_err bwh_cred_save(const struct bwh_cred_db *db);
/* The named user, or NULL. */
struct bwh_cred_user *bwh_cred_find(struct bwh_cred_db *db, const char *name);

/* Sets (or adds) user's password: hashes it and saves. factory marks a
 * credential set at provisioning. BW_E_INVAL for a bad name or a password
 * outside BWH_CRED_PW_MIN..BWH_CRED_PW_MAX, BW_E_TOOBIG if the table is full. */
BW_NODISCARD bw_err bwh_cred_set(struct bwh_cred_db *db, const char *name, const char *pw,
                                const struct bwh_cred_params *p, int factory);

/* Checks a login attempt at time now, persisting the attempt first.
 * Returns BW_OK; BW_E_AUTH (wrong password or unknown user: the same
 * answer and about the same time); BW_E_LOCKED when the attempt comes
 * before the delay ends or during a lockout, without looking at pw;
 * *retry_after (may be NULL) receives the earliest time to try again.
 * BW_E_IO if the attempt could not be recorded: fail closed.
 * Holds an exclusive flock on PATH.lock from re-reading the file to the
 * last write, so parallel checkers (several logins at once) are counted
 * one after another; *db is refreshed from the file first. */
BW_NODISCARD bw_err bwh_cred_verify(struct bwh_cred_db *db, const char *name, const char *pw,
                                   uint64_t now, uint64_t *retry_after);

#endif
