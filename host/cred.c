/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-device passwords, Argon2id hashes (PBKDF2-HMAC-SHA256 in crypto_mode =
 * approved) and attempt throttling (cred.h).
 * The credentials file holds one line per user:
 *   name:factory(0|1):failures:next_allowed:locked_until:$argon2id$...
 *   name:factory(0|1):failures:next_allowed:locked_until:$pbkdf2-sha256$...
 * and is only ever replaced whole, atomically, with mode 0600.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "bulwark/core.h"
#include "bulwark/crypto.h"
#include "bwh/cred.h"
#include "bwh/cryptomode.h"
#include "bwh/host.h"

/* 32 letters: a-z without i, l and o, and the digits 1-9 (no 0), so a
 * password read off a label cannot be mistyped between look-alikes. */
static const char letters[32] = "abcdefghjkmnpqrstuvwxyz123456789";

bw_err bwh_cred_params_parse(const char *s, struct bwh_cred_params *p)
{
    uint32_t v[3];

    if (bwh_parse_u32_list(s, ',', v, 3) || v[0] < 1 || v[2] < 1 || v[2] > 16 ||
        v[1] / 8 < v[2])
        return BW_E_INVAL;
    p->t_cost = v[0];
    p->m_kib = v[1];
    p->lanes = v[2];
    return BW_OK;
}

bw_err bwh_cred_digest(const char *hash, char out[65])
{
    uint8_t d[BW_SHA256_LEN];
    bw_err rc = bw_sha256(hash, strlen(hash), d);

    if (!rc)
        bw_hex(out, d, sizeof(d));
    return rc;
}

bw_err bwh_cred_generate(char *out, size_t cap)
{
    uint8_t rnd[32];
    size_t i, o = 0;
    bw_err rc;

    if (!out || cap <= BWH_CRED_GEN_LEN)
        return BW_E_NOMEM;
    /* Method: one random byte per letter, its low 5 bits index a table of
     * exactly 32 letters, so every letter has probability 1/32 and the 20
     * letters carry 100 bits; no rejection is needed for a power of two. */
    rc = bw_random(rnd, sizeof(rnd));
    if (rc)
        return rc;
    for (i = 0; i < 20; i++) {
        if (i && i % 5 == 0)
            out[o++] = '-';
        out[o++] = letters[rnd[i] & 31];
    }
    out[o] = 0;
    bw_wipe(rnd, sizeof(rnd));
    return BW_OK;
}

static void params_or_default(const struct bwh_cred_params *p, struct bwh_cred_params *q)
{
    q->t_cost = p && p->t_cost ? p->t_cost : BWH_CRED_T_DEFAULT;
    q->m_kib = p && p->m_kib ? p->m_kib : BWH_CRED_M_DEFAULT;
    q->lanes = p && p->lanes ? p->lanes : BWH_CRED_LANES_DEFAULT;
}

/* PBKDF2-HMAC-SHA256 of pw (SP 800-132) through OpenSSL's default library
 * context, so the FIPS provider's implementation in approved mode. */
static bw_err pbkdf2(const char *pw, size_t len, const uint8_t *salt, size_t salt_len,
                     uint32_t iter, uint8_t dk[BWH_CRED_PBKDF2_DK_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM prm[5];
    bw_err rc = BW_E_CRYPTO;

    if (!c)
        goto out;
    prm[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, len);
    prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    prm[2] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_ITER, &iter);
    prm[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    prm[4] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(c, dk, BWH_CRED_PBKDF2_DK_LEN, prm) == 1)
        rc = BW_OK;
out:
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return rc;
}

#define PBKDF2_PREFIX "$pbkdf2-sha256$i="

/* "$pbkdf2-sha256$i=ITER$SALTHEX$DKHEX" of pw with a fresh salt. */
static bw_err pbkdf2_hash(const char *pw, size_t len, char *out, size_t cap)
{
    uint8_t salt[BWH_CRED_PBKDF2_SALT_LEN], dk[BWH_CRED_PBKDF2_DK_LEN];
    char sh[2 * sizeof(salt) + 1], dh[2 * sizeof(dk) + 1];
    bw_err rc;

    rc = bwh_crypto_allow("PBKDF2-HMAC-SHA256");
    if (rc)
        return rc;
    rc = bw_random(salt, sizeof(salt));
    if (rc)
        goto out;
    rc = pbkdf2(pw, len, salt, sizeof(salt), BWH_CRED_PBKDF2_ITER, dk);
    if (rc)
        goto out;
    bw_hex(sh, salt, sizeof(salt));
    bw_hex(dh, dk, sizeof(dk));
    rc = BW_E_NOMEM;
    if ((size_t)snprintf(out, cap, PBKDF2_PREFIX "%u$%s$%s", (unsigned)BWH_CRED_PBKDF2_ITER, sh,
                         dh) >= cap)
        goto out;
    rc = BW_OK;
out:
    bw_wipe(dk, sizeof(dk));
    bw_wipe(dh, sizeof(dh));
    return rc;
}

static bw_err pbkdf2_check(const char *encoded, const char *pw, size_t len)
{
    uint8_t salt[BWH_CRED_PBKDF2_SALT_LEN], want[BWH_CRED_PBKDF2_DK_LEN],
        dk[BWH_CRED_PBKDF2_DK_LEN];
    const char *p = encoded + strlen(PBKDF2_PREFIX), *d1, *d2;
    char num[16], sh[2 * sizeof(salt) + 1];
    uint64_t iter;
    bw_err rc = BW_E_FORMAT;

    d1 = strchr(p, '$');
    d2 = d1 ? strchr(d1 + 1, '$') : NULL;
    if (!d1 || !d2 || (size_t)(d1 - p) >= sizeof(num) || d2 - d1 - 1 != 2 * (long)sizeof(salt) ||
        strlen(d2 + 1) != 2 * sizeof(want))
        goto out;
    memcpy(num, p, (size_t)(d1 - p));
    num[d1 - p] = 0;
    memcpy(sh, d1 + 1, 2 * sizeof(salt)); /* bw_unhex wants the hex to end there */
    sh[2 * sizeof(salt)] = 0;
    if (bwh_parse_u64(num, &iter) || iter < BWH_CRED_PBKDF2_ITER_MIN ||
        iter > BWH_CRED_PBKDF2_ITER_MAX || bw_unhex(salt, sizeof(salt), sh) ||
        bw_unhex(want, sizeof(want), d2 + 1))
        goto out;
    rc = pbkdf2(pw, len, salt, sizeof(salt), (uint32_t)iter, dk);
    if (rc)
        goto out;
    rc = bw_ct_equal(dk, want, sizeof(dk)) ? BW_OK : BW_E_AUTH;
out:
    bw_wipe(dk, sizeof(dk));
    bw_wipe(want, sizeof(want));
    return rc;
}

bw_err bwh_cred_hash(const char *pw, const struct bwh_cred_params *p, char *out, size_t cap)
{
    struct bwh_cred_params q;
    uint8_t salt[16];
    size_t len;
    int r;
    bw_err rc;

    if (!pw || !out)
        return BW_E_INVAL;
    len = strlen(pw);
    if (len == 0 || len > BWH_CRED_PW_MAX)
        return BW_E_INVAL;
    if (bwh_crypto_mode() == BWH_CRYPTO_APPROVED) {
        /* Argon2id parameters asked for explicitly are refused by name */
        if (p && (p->t_cost || p->m_kib || p->lanes))
            return bwh_crypto_allow("Argon2id");
        return pbkdf2_hash(pw, len, out, cap);
    }
    params_or_default(p, &q);
    if (argon2_encodedlen(q.t_cost, q.m_kib, q.lanes, sizeof(salt), 32, Argon2_id) > cap)
        return BW_E_NOMEM;
    rc = bw_random(salt, sizeof(salt));
    if (rc)
        return rc;
    r = argon2id_hash_encoded(q.t_cost, q.m_kib, q.lanes, pw, len, salt, sizeof(salt), 32, out,
                              cap);
    bw_wipe(salt, sizeof(salt));
    if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
        return BW_E_NOMEM;
    return r == ARGON2_OK ? BW_OK : BW_E_INVAL;
}

bw_err bwh_cred_check_hash(const char *encoded, const char *pw)
{
    size_t len;
    int r;

    if (!encoded || !pw)
        return BW_E_INVAL;
    len = strlen(pw);
    if (!strncmp(encoded, PBKDF2_PREFIX, strlen(PBKDF2_PREFIX)))
        return len > BWH_CRED_PW_MAX ? BW_E_AUTH : pbkdf2_check(encoded, pw, len);
    if (strncmp(encoded, "$argon2id$", 10))
        return BW_E_FORMAT;
    if (len > BWH_CRED_PW_MAX)
        return BW_E_AUTH;
    /* in approved mode an Argon2id hash is checked only to migrate it: a
     * success re-hashes the password with PBKDF2 (verify_locked) */
    r = argon2id_verify(encoded, pw, len);
    if (r == ARGON2_OK)
        return BW_OK;
    if (r == ARGON2_VERIFY_MISMATCH)
        return BW_E_AUTH;
    if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
        return BW_E_NOMEM;
    return BW_E_FORMAT;
}

static int valid_name(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > BWH_CRED_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int parse_u64_field(char **p, uint64_t *v)
{
    char *colon = strchr(*p, ':');

    if (!colon)
        return -1;
    *colon = 0;
    if (bwh_parse_u64(*p, v))
        return -1;
    *p = colon + 1;
    return 0;
}

bw_err bwh_cred_load(struct bwh_cred_db *db, const char *path)
{
    uint8_t *buf = NULL;
    char *ln, *next;
    size_t len;
    int line = 0;
    bw_err rc;

    if (!db || !path || strlen(path) >= sizeof(db->path))
        return BW_E_INVAL;
    memset(db, 0, sizeof(*db));
    strcpy(db->path, path);
    rc = bwh_read_file(path, 64 * 1024, &buf, &len);
    if (rc == BW_E_IO && errno == ENOENT)
        return BW_OK;
    if (rc)
        return rc;
    rc = BW_OK;
    for (ln = (char *)buf; ln && *ln; ln = next) {
        struct bwh_cred_user *u;
        uint64_t factory, failures;
        char *colon;

        next = strchr(ln, '\n');
        if (next)
            *next++ = 0;
        line++;
        if (!*ln || *ln == '#')
            continue;
        if (db->n == BWH_CRED_USERS_MAX) {
            rc = BW_E_TOOBIG;
            break;
        }
        u = &db->user[db->n];
        colon = strchr(ln, ':');
        rc = BW_E_FORMAT;
        if (!colon)
            break;
        *colon = 0;
        if (!valid_name(ln))
            break;
        strcpy(u->name, ln);
        ln = colon + 1;
        if (parse_u64_field(&ln, &factory) || factory > 1 || parse_u64_field(&ln, &failures) ||
            failures > UINT32_MAX || parse_u64_field(&ln, &u->next_allowed) ||
            parse_u64_field(&ln, &u->locked_until))
            break;
        if ((strncmp(ln, "$argon2id$", 10) && strncmp(ln, PBKDF2_PREFIX, strlen(PBKDF2_PREFIX))) ||
            strlen(ln) >= sizeof(u->hash) || strchr(ln, ':'))
            break;
        strcpy(u->hash, ln);
        u->factory = (int)factory;
        u->failures = (uint32_t)failures;
        if (bwh_cred_find(db, u->name) != u) /* a second line for one user */
            break;
        db->n++;
        rc = BW_OK;
    }
    if (rc == BW_E_FORMAT)
        fprintf(stderr, "%s:%d: not a credentials line\n", path, line);
    bwh_free(buf);
    if (rc)
        memset(db->user, 0, sizeof(db->user)), db->n = 0;
    return rc;
}

bw_err bwh_cred_save(const struct bwh_cred_db *db)
{
    char out[BWH_CRED_USERS_MAX * (BWH_CRED_NAME_MAX + BWH_CRED_HASH_MAX + 80) + 128];
    size_t n = 0, i;
    bw_err rc;

    if (!db || !*db->path)
        return BW_E_INVAL;
    n += (size_t)snprintf(out, sizeof(out),
                          "# bulwark credentials: name:factory:failures:next_allowed:"
                          "locked_until:password-hash\n");
    for (i = 0; i < db->n; i++) {
        const struct bwh_cred_user *u = &db->user[i];

        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s:%d:%" PRIu32 ":%" PRIu64 ":%" PRIu64
                              ":%s\n", u->name, u->factory ? 1 : 0, u->failures, u->next_allowed,
                              u->locked_until, u->hash);
    }
    rc = bwh_write_file_atomic(db->path, out, n, 0600);
    bw_wipe(out, sizeof(out));
    return rc;
}

struct bwh_cred_user *bwh_cred_find(struct bwh_cred_db *db, const char *name)
{
    size_t i;

    for (i = 0; db && name && i <= db->n && i < BWH_CRED_USERS_MAX; i++)
        if (db->user[i].name[0] && !strcmp(db->user[i].name, name))
            return &db->user[i];
    return NULL;
}

bw_err bwh_cred_set(struct bwh_cred_db *db, const char *name, const char *pw,
                   const struct bwh_cred_params *p, int factory)
{
    struct bwh_cred_user *u, nu;
    size_t len;
    bw_err rc;

    if (!db || !name || !pw || !valid_name(name))
        return BW_E_INVAL;
    len = strlen(pw);
    if (len < BWH_CRED_PW_MIN || len > BWH_CRED_PW_MAX)
        return BW_E_INVAL;
    memset(&nu, 0, sizeof(nu));
    strcpy(nu.name, name);
    nu.factory = factory ? 1 : 0;
    rc = bwh_cred_hash(pw, p, nu.hash, sizeof(nu.hash));
    if (rc)
        return rc;
    u = bwh_cred_find(db, name);
    if (!u) {
        if (db->n == BWH_CRED_USERS_MAX)
            return BW_E_TOOBIG;
        u = &db->user[db->n++];
    }
    *u = nu;
    return bwh_cred_save(db);
}

static bw_err verify_locked(struct bwh_cred_db *db, const char *name, const char *pw,
                           uint64_t now, uint64_t *retry_after)
{
    struct bwh_cred_user *u;
    uint64_t delay;
    bw_err rc, result;

    if (!db || !name || !pw)
        return BW_E_INVAL;
    if (retry_after)
        *retry_after = 0;
    u = bwh_cred_find(db, name);
    if (!u) {
        /* Same answer and roughly the same cost as a wrong password, so
         * user names cannot be probed; the check is against a hash of a
         * random password made now. */
        char h[BWH_CRED_HASH_MAX], rnd[BWH_CRED_GEN_LEN + 1];

        if (bwh_cred_generate(rnd, sizeof(rnd)) == BW_OK &&
            bwh_cred_hash(rnd, NULL, h, sizeof(h)) == BW_OK) {
            rc = bwh_cred_check_hash(h, pw); /* always BW_E_AUTH: only the time matters */
            (void)rc;
        }
        bw_wipe(rnd, sizeof(rnd));
        return BW_E_AUTH;
    }
    if (u->locked_until && now < u->locked_until) {
        if (retry_after)
            *retry_after = u->locked_until;
        return BW_E_LOCKED;
    }
    if (now < u->next_allowed) {
        if (retry_after)
            *retry_after = u->next_allowed;
        return BW_E_LOCKED;
    }
    /* Method: count the attempt as a failure on disk before checking, so
     * an attacker who cuts power or kills the checker once the answer is
     * known still pays; a success then clears it with a second write. */
    u->failures++;
    delay = (uint64_t)1 << (u->failures - 1 < 6 ? u->failures - 1 : 6);
    if (delay > BWH_CRED_DELAY_MAX)
        delay = BWH_CRED_DELAY_MAX;
    /* + 1: times are whole seconds, so this waits at least delay seconds
     * however late in its second the failure came */
    u->next_allowed = now + delay + 1;
    if (u->failures >= BWH_CRED_LOCK_AFTER)
        u->locked_until = now + BWH_CRED_LOCK_SECONDS;
    rc = bwh_cred_save(db);
    if (rc)
        return rc;
    result = BW_E_AUTH;
    rc = bwh_cred_check_hash(u->hash, pw);
    if (rc == BW_OK) {
        u->failures = 0;
        u->next_allowed = 0;
        u->locked_until = 0;
        /* crypto_mode = approved migrates an Argon2id hash on its first
         * successful check: the same save writes the PBKDF2 hash */
        if (bwh_crypto_mode() == BWH_CRYPTO_APPROVED && strncmp(u->hash, PBKDF2_PREFIX,
                                                                strlen(PBKDF2_PREFIX))) {
            char h[BWH_CRED_HASH_MAX];

            rc = pbkdf2_hash(pw, strlen(pw), h, sizeof(h));
            if (rc)
                return rc;
            memcpy(u->hash, h, sizeof(h));
        }
        rc = bwh_cred_save(db);
        if (rc)
            return rc;
        result = BW_OK;
    } else if (rc != BW_E_AUTH) {
        return rc;
    }
    if (result != BW_OK && retry_after)
        *retry_after = u->locked_until > u->next_allowed ? u->locked_until : u->next_allowed;
    return result;
}

/* An exclusive lock beside the credentials file, held from the reload to
 * the last save of one check: parallel checkers queue instead of all
 * reading the same failure count. -1 with errno on failure. */
static int lock_db(const char *path)
{
    char lp[sizeof(((struct bwh_cred_db *)0)->path) + 8];
    int fd;

    if ((size_t)snprintf(lp, sizeof(lp), "%s.lock", path) >= sizeof(lp))
        return -1;
    fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX)) {
        close(fd);
        return -1;
    }
    return fd;
}

bw_err bwh_cred_verify(struct bwh_cred_db *db, const char *name, const char *pw, uint64_t now,
                      uint64_t *retry_after)
{
    struct bwh_cred_db *fresh;
    bw_err rc;
    int fd;

    if (!db || !name || !pw)
        return BW_E_INVAL;
    if (retry_after)
        *retry_after = 0;
    fd = lock_db(db->path);
    if (fd < 0)
        return BW_E_IO; /* the attempt cannot be recorded: fail closed */
    /* what is on disk now, not what this caller loaded earlier */
    fresh = bwh_malloc(sizeof(*fresh));
    rc = fresh ? bwh_cred_load(fresh, db->path) : BW_E_NOMEM;
    if (!rc) {
        *db = *fresh;
        rc = verify_locked(db, name, pw, now, retry_after);
    }
    if (fresh) {
        bw_wipe(fresh, sizeof(*fresh));
        bwh_free(fresh);
    }
    close(fd); /* releases the lock */
    return rc;
}
