/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File key backend: the P-256 private scalar in a file, encrypted with
 * AES-256-GCM under a key derived from the device storage key. For devices
 * without a secure element; a TPM or PKCS#11 token is better where present.
 *
 * File layout (68 bytes, written atomically with mode 0600):
 *   "BWKEYv1\n" (8) | IV (12, random per write) | tag (16) | scalar (32, encrypted)
 * Key: HKDF-SHA256(storage key, salt = none, info = "bulwark file key v1").
 * AAD: the 8-byte magic, so the file cannot be passed off as another kind
 * of sealed record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/core.h"
#include "bwh/identity.h"
#include "bwh/host.h"
#include "identity_priv.h"

#define MAGIC "BWKEYv1\n"
#define MAGIC_LEN 8
#define IV_LEN 12
#define FILE_LEN (MAGIC_LEN + IV_LEN + BW_GCM_TAG_LEN + BW_P256_PRIV_LEN)
#define PATH_CAP 4096

struct file_ctx {
    char path[PATH_CAP];
    char skey_path[PATH_CAP];
    char detail[256];
};

/*
 * Method: write a temporary file beside path, fsync, then link(2) it to the
 * name, which fails if another process created the file first; that file
 * is then the one, and ours is dropped (BW_E_EXISTS). rename(2) would
 * replace it, and whatever was sealed under it would be lost.
 */
bw_err bwh__publish_once(const char *path, const void *buf, size_t len)
{
    char tmp[4200];
    int fd, linked;
    bw_err rc;

    fd = bwh_tmpfile_beside(path, 0600, tmp, sizeof(tmp));
    if (fd < 0)
        return BW_E_IO;
    if (write(fd, buf, len) != (ssize_t)len || fsync(fd)) {
        close(fd);
        unlink(tmp);
        return BW_E_IO;
    }
    close(fd);
    linked = link(tmp, path) == 0;
    rc = linked ? BW_OK : errno == EEXIST ? BW_E_EXISTS : BW_E_IO;
    unlink(tmp);
    if (linked) {
        /* best effort: the file is usable either way */
        bw_err ignored = bwh_fsync_parent(path);

        (void)ignored;
    }
    return rc;
}

bw_err bwh_storage_key_load(const char *path, int create, uint8_t key[BWH_STORAGE_KEY_LEN])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    if (!path || !key)
        return BW_E_INVAL;
    /* a key sealed in a TPM (key_tpm.c), wrapped by a PKCS#11 token
     * (key_pkcs11.c); anything else is a file name */
    if (!strncmp(path, "tpm:", 4))
        return bwh__tpm_storage_key(path + 4, create, key);
    if (!strncmp(path, "pkcs11:", 7))
        return bwh__pkcs11_storage_key(path + 7, create, key);
    rc = bwh_read_file(path, 1024, &buf, &len);
    if (rc == BW_E_IO && errno == ENOENT) {
        if (!create)
            return BW_E_NOTFOUND;
        rc = bw_random(key, BWH_STORAGE_KEY_LEN);
        if (!rc)
            rc = bwh__publish_once(path, key, BWH_STORAGE_KEY_LEN);
        bw_wipe(key, BWH_STORAGE_KEY_LEN);
        if (rc && rc != BW_E_EXISTS)
            return rc;
        return bwh_storage_key_load(path, 0, key);
    }
    if (rc)
        return rc == BW_E_TOOBIG ? BW_E_FORMAT : rc;
    rc = BW_E_FORMAT;
    if (len == BWH_STORAGE_KEY_LEN) {
        memcpy(key, buf, BWH_STORAGE_KEY_LEN);
        rc = BW_OK;
    }
    bw_wipe(buf, len);
    bwh_free(buf);
    return rc;
}

static void set_detail(struct file_ctx *c, const char *what, const char *path)
{
    snprintf(c->detail, sizeof(c->detail), "%s: %.200s", what, path);
}

static bw_err file_open(const char *params, void **out)
{
    struct file_ctx *c;
    const char *q;
    size_t n;

    if (!*params)
        return BW_E_INVAL;
    c = bwh_calloc(1, sizeof(*c));
    if (!c)
        return BW_E_NOMEM;
    q = strchr(params, '?');
    n = q ? (size_t)(q - params) : strlen(params);
    if (n == 0 || n >= PATH_CAP)
        goto bad;
    memcpy(c->path, params, n);
    if (q) {
        if (strncmp(q + 1, "storage-key=", 12) || !q[13] || strlen(q + 13) >= PATH_CAP)
            goto bad;
        strcpy(c->skey_path, q + 13);
    } else {
        /* default: storage.key beside the key file */
        const char *slash = strrchr(c->path, '/');
        int dl = slash ? (int)(slash - c->path) : 1;

        if ((size_t)snprintf(c->skey_path, PATH_CAP, "%.*s/storage.key", dl,
                             slash ? c->path : ".") >= PATH_CAP)
            goto bad;
    }
    *out = c;
    return BW_OK;
bad:
    bwh_free(c);
    return BW_E_INVAL;
}

static bw_err derive(struct file_ctx *c, int create, uint8_t k[BW_AES256_KEY_LEN])
{
    static const char info[] = "bulwark file key v1";
    uint8_t sk[BWH_STORAGE_KEY_LEN];
    bw_err rc;

    rc = bwh_storage_key_load(c->skey_path, create, sk);
    if (rc) {
        set_detail(c, "storage key", c->skey_path);
        return rc;
    }
    rc = bw_hkdf_sha256(NULL, 0, sk, sizeof(sk), (const uint8_t *)info, sizeof(info) - 1, k,
                        BW_AES256_KEY_LEN);
    bw_wipe(sk, sizeof(sk));
    return rc;
}

/* Loads and decrypts the key. BW_E_NOTFOUND, BW_E_FORMAT, BW_E_AUTH. */
static bw_err load(struct file_ctx *c, struct bw_ec_key *key)
{
    uint8_t k[BW_AES256_KEY_LEN], d[BW_P256_PRIV_LEN];
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    rc = bwh_read_file(c->path, 4096, &buf, &len);
    if (rc == BW_E_IO && errno == ENOENT)
        return BW_E_NOTFOUND;
    if (rc) {
        set_detail(c, "cannot read", c->path);
        return rc == BW_E_TOOBIG ? BW_E_FORMAT : rc;
    }
    rc = BW_E_FORMAT;
    if (len != FILE_LEN || memcmp(buf, MAGIC, MAGIC_LEN)) {
        set_detail(c, "not a bulwark key file", c->path);
        goto out;
    }
    rc = derive(c, 0, k);
    if (rc)
        goto out;
    rc = bw_aes256gcm_open(k, buf + MAGIC_LEN, IV_LEN, buf, MAGIC_LEN,
                           buf + MAGIC_LEN + IV_LEN + BW_GCM_TAG_LEN, BW_P256_PRIV_LEN,
                           buf + MAGIC_LEN + IV_LEN, d);
    if (rc) {
        set_detail(c, "key file does not decrypt under this storage key", c->path);
        goto out;
    }
    bw_ec_key_init(key);
    rc = bw_ec_set_priv(key, d, sizeof(d));
out:
    bw_wipe(k, sizeof(k));
    bw_wipe(d, sizeof(d));
    bw_wipe(buf, len);
    bwh_free(buf);
    return rc;
}

static bw_err file_generate(void *ctx, int force)
{
    struct file_ctx *c = ctx;
    uint8_t k[BW_AES256_KEY_LEN], out[FILE_LEN];
    struct bw_ec_key key;
    struct stat st;
    bw_err rc;

    if (!force && stat(c->path, &st) == 0) {
        set_detail(c, "a key exists already", c->path);
        return BW_E_EXISTS;
    }
    bw_ec_key_init(&key);
    rc = derive(c, 1, k);
    if (rc)
        goto out;
    rc = bw_ec_generate(&key);
    if (rc)
        goto out;
    memcpy(out, MAGIC, MAGIC_LEN);
    rc = bw_random(out + MAGIC_LEN, IV_LEN);
    if (rc)
        goto out;
    rc = bw_aes256gcm_seal(k, out + MAGIC_LEN, IV_LEN, out, MAGIC_LEN, key.priv,
                           BW_P256_PRIV_LEN, out + MAGIC_LEN + IV_LEN + BW_GCM_TAG_LEN,
                           out + MAGIC_LEN + IV_LEN);
    if (rc)
        goto out;
    rc = bwh_write_file_atomic(c->path, out, sizeof(out), 0600);
    if (rc)
        set_detail(c, "cannot write", c->path);
out:
    bw_wipe(k, sizeof(k));
    bw_wipe(out, sizeof(out));
    bw_ec_key_clear(&key);
    return rc;
}

static bw_err file_public(void *ctx, uint8_t pub[BW_P256_PUB_LEN])
{
    struct bw_ec_key key;
    bw_err rc;

    bw_ec_key_init(&key);
    rc = load(ctx, &key);
    if (!rc)
        memcpy(pub, key.pub, BW_P256_PUB_LEN);
    bw_ec_key_clear(&key);
    return rc;
}

static bw_err file_sign(void *ctx, const uint8_t hash[BW_SHA256_LEN], uint8_t sig[BW_P256_SIG_LEN])
{
    struct bw_ec_key key;
    bw_err rc;

    bw_ec_key_init(&key);
    rc = load(ctx, &key);
    if (!rc)
        rc = bw_ec_sign(&key, hash, sig);
    bw_ec_key_clear(&key);
    return rc;
}

static bw_err file_export(void *ctx, struct bw_ec_key *out)
{
    return load(ctx, out);
}

static bw_err file_destroy(void *ctx)
{
    struct file_ctx *c = ctx;
    uint8_t zero[FILE_LEN] = {0};
    int fd;

    /* Overwrite before unlinking: on a plain file system this removes the
     * ciphertext; flash translation layers may keep old copies of it,
     * still sealed under the storage key. */
    fd = open(c->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    if (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero) || fsync(fd)) {
        close(fd);
        return BW_E_IO;
    }
    close(fd);
    return unlink(c->path) ? BW_E_IO : BW_OK;
}

static const char *file_detail(void *ctx)
{
    return ((struct file_ctx *)ctx)->detail;
}

static void file_close(void *ctx)
{
    bwh_free(ctx);
}

const struct bwh_keystore_ops bwh_keystore_file = {
    "file", file_open, file_generate, file_public, file_sign, file_export, file_destroy,
    file_detail, file_close,
};
