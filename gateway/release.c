/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release ingest into the content-addressed blob store, and the HTTP Range
 * and ETag helpers used to serve the blobs (release.h). Verification is the
 * host package reader's (host/pkg.c); nothing here does crypto of its own.
 * The Range/ETag parsers depend on nothing but libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bwh/host.h"
#include "parse.h"
#include "release.h"

#define FEED_BUF (256u << 10)
#define BLOB_PATH_MAX 4096

/* ---- paths ------------------------------------------------------------ */

bw_err gw_blob_path(const char *blob_dir, const char *hex_digest, char *out, size_t cap)
{
    int n;

    if (!out || !cap)
        return BW_E_INVAL;
    out[0] = '\0';
    if (!blob_dir || !blob_dir[0] || !hex_digest || !gw_is_hex(hex_digest, GW_DIGEST_HEX_LEN))
        return BW_E_INVAL;
    n = snprintf(out, cap, "%s/sha256/%s", blob_dir, hex_digest);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return BW_E_NOMEM;
    }
    return BW_OK;
}

bw_err gw_etag_format(const char *hex_digest, char out[GW_ETAG_LEN + 1])
{
    out[0] = '\0';
    if (!hex_digest || !gw_is_hex(hex_digest, GW_DIGEST_HEX_LEN))
        return BW_E_INVAL;
    snprintf(out, GW_ETAG_LEN + 1, "\"sha256-%s\"", hex_digest);
    return BW_OK;
}

/* ---- ingest ----------------------------------------------------------- */

/* The reading thread: file -> SHA-256 -> socket -> package reader. */
struct feeder {
    int in;  /* the upload, read with pread from offset 0 */
    int out; /* our end of the socket pair; closed at the end (EOF) */
    uint64_t bytes;
    uint8_t digest[BW_SHA256_LEN];
    bw_err rc;
};

static bw_err send_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        /* MSG_NOSIGNAL: a reader that stopped early (refused package)
         * gives EPIPE here, not a SIGPIPE for the whole daemon. */
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return BW_E_STATE; /* the reader went away */
        b += w;
        n -= (size_t)w;
    }
    return BW_OK;
}

static void *feed_main(void *arg)
{
    struct feeder *f = arg;
    struct bw_sha256 h;
    uint8_t *buf = bwh_malloc(FEED_BUF);
    bw_err rc = BW_E_NOMEM;

    if (!buf)
        goto out;
    rc = bw_sha256_init(&h);
    if (rc)
        goto out;
    for (;;) {
        ssize_t r = pread(f->in, buf, FEED_BUF, (off_t)f->bytes);

        if (r < 0 && errno == EINTR)
            continue;
        rc = BW_E_IO;
        if (r < 0)
            break;
        rc = BW_OK;
        if (r == 0)
            break;
        rc = bw_sha256_update(&h, buf, (size_t)r);
        if (rc)
            break;
        f->bytes += (uint64_t)r;
        rc = send_all(f->out, buf, (size_t)r);
        if (rc)
            break;
    }
    if (rc == BW_OK)
        rc = bw_sha256_final(&h, f->digest);
    else
        bw_sha256_abort(&h);
out:
    close(f->out); /* end of stream for the package reader */
    f->out = -1;
    bwh_free(buf);
    f->rc = rc;
    return NULL;
}

/* Authenticates with any key, checks the manifest, streams every chunk.
 * fd is owned by p from here on (closed by bwh_pkg_close). */
static bw_err verify(struct bwh_pkg *p, int fd, const struct bw_ec_key *const *keys, size_t nkeys,
                     const uint8_t vendor[16], const uint8_t class_[16], uint64_t *seq)
{
    struct bw_suit_expect e;
    size_t i;
    bw_err rc;

    rc = bwh_pkg_open_fd(p, fd, keys[0], BW_SUIT_ENVELOPE_MAX);
    /* BW_E_BADSIG comes only from the signature check, which runs once the
     * envelope has been read whole (p->buf, p->env_len): the other keys are
     * tried on the same bytes. Any other error does not depend on the key
     * (framing, wrapper digest) or means a key verified and the manifest
     * itself is refused. */
    for (i = 1; rc == BW_E_BADSIG && i < nkeys; i++)
        rc = bw_suit_parse(p->buf, p->env_len, keys[i], &p->suit);
    if (rc)
        return rc;
    rc = BW_E_STATE;
    if (!p->suit.authenticated)
        return rc;
    /* A package file carries the payload of component 0 only. */
    rc = BW_E_UNSUPPORTED;
    if (p->suit.n_components != 1 || p->suit.sequence > (uint64_t)INT64_MAX)
        return rc;
    memset(&e, 0, sizeof(e));
    e.vendor_id = vendor;
    e.class_id = class_;
    rc = bw_suit_check(&p->suit, &e);
    if (rc)
        return rc;
    *seq = p->suit.sequence;
    return bwh_pkg_verify(p, NULL);
}

static bw_err check_id(const char *s)
{
    size_t i;

    if (!s || !s[0])
        return BW_E_INVAL;
    for (i = 0; s[i]; i++) {
        if (i >= GW_ID_MAX)
            return BW_E_TOOBIG;
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return BW_E_INVAL;
    }
    return BW_OK;
}

/* An existing blob is kept if it can be the same content. */
static bw_err check_existing(const char *final, uint64_t size)
{
    struct stat st;

    if (lstat(final, &st) != 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
        return BW_E_TAMPER;
    return BW_OK;
}

/* For an upload on another filesystem: copy it beside the final name and
 * check the copy's digest against the verified one, then rename. */
static bw_err copy_blob(int in, const char *final, uint64_t size,
                        const uint8_t digest[BW_SHA256_LEN])
{
    char tmp[BLOB_PATH_MAX + 32];
    uint8_t got[BW_SHA256_LEN], *buf = NULL;
    struct bw_sha256 h;
    uint64_t off = 0;
    int fd, hashing = 0;
    bw_err rc = BW_E_IO;

    fd = bwh_tmpfile_beside(final, 0644, tmp, sizeof(tmp));
    if (fd < 0)
        return BW_E_IO;
    rc = BW_E_NOMEM;
    buf = bwh_malloc(FEED_BUF);
    if (!buf)
        goto out;
    rc = bw_sha256_init(&h);
    if (rc)
        goto out;
    hashing = 1;
    while (off < size) {
        size_t want = size - off < FEED_BUF ? (size_t)(size - off) : FEED_BUF;
        ssize_t r = pread(in, buf, want, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        rc = r < 0 ? BW_E_IO : BW_E_STATE; /* shorter than verified: changed */
        if (r <= 0)
            goto out;
        if ((rc = bw_sha256_update(&h, buf, (size_t)r)) ||
            (rc = bwh_write_full(fd, buf, (size_t)r)))
            goto out;
        off += (uint64_t)r;
    }
    hashing = 0;
    rc = bw_sha256_final(&h, got);
    if (rc)
        goto out;
    rc = BW_E_STATE;
    if (memcmp(got, digest, BW_SHA256_LEN) != 0)
        goto out;
    rc = BW_E_IO;
    if (fsync(fd) != 0)
        goto out;
    /* Replacing a blob a concurrent ingest just stored is harmless: the
     * name is the digest of both. */
    if (rename(tmp, final) != 0)
        goto out;
    tmp[0] = '\0';
    rc = BW_OK;
out:
    if (hashing)
        bw_sha256_abort(&h);
    bwh_free(buf);
    close(fd);
    if (tmp[0])
        unlink(tmp);
    return rc;
}

/* Gives the verified upload (open as in) its content-addressed name. */
static bw_err store_blob(int in, const char *upload_path, uint64_t size, const char *blob_dir,
                         const char *hex, const uint8_t digest[BW_SHA256_LEN])
{
    char dir[BLOB_PATH_MAX], final[BLOB_PATH_MAX];
    int created = 0, n;
    bw_err rc;

    rc = gw_blob_path(blob_dir, hex, final, sizeof(final));
    if (rc)
        return rc == BW_E_NOMEM ? BW_E_INVAL : rc;
    n = snprintf(dir, sizeof(dir), "%s/sha256", blob_dir);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return BW_E_INVAL;
    if (mkdir(blob_dir, 0750) != 0 && errno != EEXIST)
        return BW_E_IO;
    if (mkdir(dir, 0755) == 0)
        created = 1;
    else if (errno != EEXIST)
        return BW_E_IO;
    /* Content first, then the name: a blob name never shows a partial file. */
    if (fchmod(in, 0644) != 0 || fsync(in) != 0)
        return BW_E_IO;
    if (link(upload_path, final) == 0) {
        rc = BW_OK;
    } else if (errno == EEXIST) {
        rc = check_existing(final, size);
        if (rc == BW_E_NOTFOUND) /* removed meanwhile */
            rc = BW_E_IO;
    } else if (errno == EXDEV || errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK ||
               errno == ENOSYS) {
        rc = check_existing(final, size);
        if (rc == BW_E_NOTFOUND)
            rc = copy_blob(in, final, size, digest);
    } else {
        rc = BW_E_IO;
    }
    if (rc)
        return rc;
    rc = bwh_fsync_dir(dir);
    if (rc == BW_OK && created)
        rc = bwh_fsync_dir(blob_dir);
    return rc;
}

bw_err gw_release_ingest(const char *upload_path, const struct bw_ec_key *const *keys,
                         size_t nkeys, const uint8_t vendor[16], const uint8_t class_[16],
                         const char *blob_dir, const char *name, const char *uploaded_by,
                         struct gw_release *out)
{
    struct feeder f;
    struct bwh_pkg p;
    struct stat st0, st1, st2;
    pthread_t thr;
    char hex[GW_DIGEST_HEX_LEN + 1];
    uint64_t seq = 0;
    int in = -1, sv[2] = {-1, -1}, p_open = 0;
    size_t i;
    bw_err rc;

    memset(&p, 0, sizeof(p));
    p.fd = -1;
    if (!upload_path)
        return BW_E_INVAL;
    rc = BW_E_INVAL;
    if (!out)
        goto out;
    memset(out, 0, sizeof(*out));
    if (!keys || !nkeys || !vendor || !class_ || !blob_dir || !blob_dir[0])
        goto out;
    for (i = 0; i < nkeys; i++)
        if (!keys[i])
            goto out;
    if ((rc = check_id(name)) || (rc = check_id(uploaded_by)))
        goto out;

    rc = BW_E_IO;
    in = open(upload_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0 || fstat(in, &st0) != 0 || !S_ISREG(st0.st_mode))
        goto out;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        goto out;
    memset(&f, 0, sizeof(f));
    f.in = in;
    f.out = sv[1];
    if (pthread_create(&thr, NULL, feed_main, &f) != 0) {
        close(sv[0]);
        close(sv[1]);
        goto out;
    }
    sv[1] = -1; /* the thread's now */
    p_open = 1;
    rc = verify(&p, sv[0], keys, nkeys, vendor, class_, &seq);
    /* Closing the reader's end stops a thread still sending (EPIPE). */
    bwh_pkg_close(&p);
    p_open = 0;
    pthread_join(thr, NULL);
    if (rc)
        goto out;
    /* The reader saw EOF, but only a clean end of file is the end. */
    rc = f.rc;
    if (rc)
        goto out;

    /* The bytes verified are the file's bytes only if it did not change
     * and the name still refers to it. */
    rc = BW_E_STATE;
    if (fstat(in, &st1) != 0 || stat(upload_path, &st2) != 0)
        goto out;
    if (st1.st_size != st0.st_size || (uint64_t)st1.st_size != f.bytes ||
        st1.st_mtim.tv_sec != st0.st_mtim.tv_sec || st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec ||
        st1.st_ctim.tv_sec != st0.st_ctim.tv_sec || st1.st_ctim.tv_nsec != st0.st_ctim.tv_nsec ||
        st2.st_dev != st1.st_dev || st2.st_ino != st1.st_ino)
        goto out;
    bw_hex(hex, f.digest, BW_SHA256_LEN);
    rc = store_blob(in, upload_path, f.bytes, blob_dir, hex, f.digest);
    if (rc)
        goto out;

    memcpy(out->digest, hex, sizeof(out->digest));
    out->size = (int64_t)f.bytes;
    out->sequence = (int64_t)seq;
    bwh_uuid_format(out->vendor_id, vendor);
    bwh_uuid_format(out->class_id, class_);
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->uploaded_by, sizeof(out->uploaded_by), "%s", uploaded_by);
    snprintf(out->kind, sizeof(out->kind), "bulwark");
    rc = BW_OK;
out:
    if (p_open)
        bwh_pkg_close(&p);
    if (in >= 0)
        close(in);
    /* Consumed on every path: stored under its digest, or refused. */
    unlink(upload_path);
    if (rc && out)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* Method: one pass over the file computes SHA-256 (its content address),
 * MD5 and SHA-1 (what hawkBit clients are told); the file must not change
 * meanwhile; then it is stored like a package, unless expect (a SHA-256)
 * is given and differs (BW_E_DIGEST). upload_path is consumed. */
static bw_err hash_and_store(const char *upload_path, const char *blob_dir, const uint8_t *expect,
                             char hex[GW_DIGEST_HEX_LEN + 1], uint8_t md5[16], uint8_t sha1[20],
                             uint64_t *size)
{
    static const size_t chunk = 64 * 1024;
    EVP_MD_CTX *m5 = NULL, *s1 = NULL;
    struct bw_sha256 h;
    struct stat st0, st1;
    uint8_t *buf = NULL, dig[BW_SHA256_LEN];
    uint64_t total = 0;
    int in = -1, h_open = 0;
    ssize_t n;
    bw_err rc = BW_E_NOMEM;

    buf = bwh_malloc(chunk);
    m5 = EVP_MD_CTX_new();
    s1 = EVP_MD_CTX_new();
    if (!buf || !m5 || !s1)
        goto out;
    rc = BW_E_CRYPTO;
    if (!EVP_DigestInit_ex(m5, EVP_md5(), NULL) || !EVP_DigestInit_ex(s1, EVP_sha1(), NULL) ||
        bw_sha256_init(&h))
        goto out;
    h_open = 1;
    rc = BW_E_IO;
    in = open(upload_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0 || fstat(in, &st0) != 0 || !S_ISREG(st0.st_mode))
        goto out;
    while ((n = read(in, buf, chunk)) > 0) {
        rc = BW_E_CRYPTO;
        if (bw_sha256_update(&h, buf, (size_t)n) || !EVP_DigestUpdate(m5, buf, (size_t)n) ||
            !EVP_DigestUpdate(s1, buf, (size_t)n))
            goto out;
        total += (uint64_t)n;
    }
    rc = BW_E_IO;
    if (n < 0)
        goto out;
    h_open = 0;
    rc = BW_E_CRYPTO;
    if (bw_sha256_final(&h, dig) || !EVP_DigestFinal_ex(m5, md5, NULL) ||
        !EVP_DigestFinal_ex(s1, sha1, NULL))
        goto out;
    rc = BW_E_TRUNCATED; /* nothing uploaded is not an artifact */
    if (total == 0)
        goto out;
    rc = BW_E_STATE;
    if (fstat(in, &st1) != 0 || st1.st_size != st0.st_size || (uint64_t)st1.st_size != total ||
        st1.st_mtim.tv_sec != st0.st_mtim.tv_sec || st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec)
        goto out;
    rc = BW_E_DIGEST;
    if (expect && !bw_ct_equal(expect, dig, BW_SHA256_LEN))
        goto out;
    bw_hex(hex, dig, BW_SHA256_LEN);
    rc = store_blob(in, upload_path, total, blob_dir, hex, dig);
    if (rc)
        goto out;
    *size = total;
    rc = BW_OK;
out:
    if (h_open)
        bw_sha256_abort(&h);
    EVP_MD_CTX_free(m5);
    EVP_MD_CTX_free(s1);
    bwh_free(buf);
    if (in >= 0)
        close(in);
    unlink(upload_path);
    return rc;
}

bw_err gw_release_store_artifact(const char *upload_path, const char *blob_dir, const char *kind,
                                 const char *name, const char *uploaded_by, struct gw_release *out)
{
    uint8_t md5[16], sha1[20];
    char hex[GW_DIGEST_HEX_LEN + 1];
    uint64_t total = 0;
    bw_err rc = BW_E_INVAL;

    if (!upload_path)
        return BW_E_INVAL;
    if (!out)
        goto fail;
    memset(out, 0, sizeof(*out));
    if (!blob_dir || !blob_dir[0] || !kind || (strcmp(kind, "swu") && strcmp(kind, "mender") && strcmp(kind, "delta")) ||
        (rc = check_id(name)) || (rc = check_id(uploaded_by)))
        goto fail;
    rc = hash_and_store(upload_path, blob_dir, NULL, hex, md5, sha1, &total);
    if (rc)
        goto out;
    memcpy(out->digest, hex, sizeof(out->digest));
    bw_hex(out->md5, md5, sizeof(md5));
    bw_hex(out->sha1, sha1, sizeof(sha1));
    out->size = (int64_t)total;
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->uploaded_by, sizeof(out->uploaded_by), "%s", uploaded_by);
    goto out;
fail:
    unlink(upload_path);
out:
    if (rc && out)
        memset(out, 0, sizeof(*out));
    return rc;
}

bw_err gw_blob_store_expect(const char *upload_path, const char *blob_dir,
                            const uint8_t expect[BW_SHA256_LEN])
{
    uint8_t md5[16], sha1[20];
    char hex[GW_DIGEST_HEX_LEN + 1];
    uint64_t total;

    if (!upload_path)
        return BW_E_INVAL;
    if (!blob_dir || !blob_dir[0] || !expect) {
        unlink(upload_path);
        return BW_E_INVAL;
    }
    return hash_and_store(upload_path, blob_dir, expect, hex, md5, sha1, &total);
}

/* The release package's envelope: the first CBOR item of the blob (the
 * blob was verified when it was stored). */
bw_err gw_release_envelope(const char *blob_dir, const char *pkg_digest, uint8_t **env,
                           size_t *env_len)
{
    char path[4096];
    uint8_t *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd = -1;
    bw_err rc;

    *env = NULL;
    *env_len = 0;
    rc = gw_blob_path(blob_dir, pkg_digest, path, sizeof(path));
    if (rc)
        goto out;
    rc = BW_E_NOMEM;
    buf = bwh_malloc(BW_SUIT_ENVELOPE_MAX);
    if (!buf)
        goto out;
    rc = BW_E_IO;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        goto out;
    while (len < BW_SUIT_ENVELOPE_MAX &&
           (n = read(fd, buf + len, BW_SUIT_ENVELOPE_MAX - len)) > 0)
        len += (size_t)n;
    rc = bw_cbor_wellformed(buf, len, 1, env_len);
    if (!rc) {
        *env = buf;
        buf = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    bwh_free(buf);
    return rc;
}

/* The text member, read without a key (the manifest digest still covers
 * it). */
bw_err gw_release_text(const char *blob_dir, const char *pkg_digest, struct gw_release_text *out)
{
    uint8_t *env;
    size_t env_len;
    struct bw_suit s;
    bw_err rc;

    rc = gw_release_envelope(blob_dir, pkg_digest, &env, &env_len);
    if (!rc)
        rc = bw_suit_parse(env, env_len, NULL, &s);
    if (!rc) {
        memset(out, 0, sizeof(*out));
        out->has_sbom = s.has_sbom;
        memcpy(out->sbom, s.sbom_digest, BW_SHA256_LEN);
        out->security_only = s.security_only;
    }
    bwh_free(env);
    return rc;
}

/* ---- HTTP Range (RFC 9110 14.1, 14.2) --------------------------------- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* 1*DIGIT at *pp, below end. BW_E_FORMAT if none, or above 2^64-1. */
static bw_err parse_pos(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;

    if (p >= end || *p < '0' || *p > '9')
        return BW_E_FORMAT;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');

        if (x > (UINT64_MAX - d) / 10)
            return BW_E_FORMAT;
        x = x * 10 + d;
        p++;
    }
    *pp = p;
    *v = x;
    return BW_OK;
}

/*
 * Method: trim the field's OWS, read the unit token and "=", then walk the
 * list (element *( OWS "," OWS element ), empty elements allowed), parsing
 * every range-spec strictly so that a malformed one anywhere makes the
 * whole header invalid; keep the first, count them (saturating at 2). Only
 * a single range is then checked against the size.
 */
bw_err gw_range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *p, *end, *unit;
    uint64_t a = 0, b = 0, fa = 0, fb = 0;
    int has_b = 0, suffix = 0, f_has_b = 0, f_suffix = 0;
    unsigned n = 0;
    bw_err rc;

    *first = *last = 0;
    if (!header)
        return BW_E_NOTFOUND;
    p = header;
    while (is_ows(*p))
        p++;
    end = p + strlen(p);
    while (end > p && is_ows(end[-1]))
        end--;
    unit = p;
    while (p < end && is_tchar(*p))
        p++;
    if (p == unit || p == end || *p != '=')
        return BW_E_FORMAT;
    if (p - unit != 5 || strncasecmp(unit, "bytes", 5) != 0)
        return BW_E_NOTFOUND; /* a unit we do not serve: ignore (RFC 9110 14.2) */
    p++;
    for (;;) {
        if (p < end && *p != ',') {
            has_b = suffix = 0;
            if (*p == '-') {
                p++;
                suffix = 1;
                if ((rc = parse_pos(&p, end, &a)))
                    return rc;
            } else {
                if ((rc = parse_pos(&p, end, &a)))
                    return rc;
                if (p >= end || *p != '-')
                    return BW_E_FORMAT;
                p++;
                if (p < end && *p >= '0' && *p <= '9') {
                    if ((rc = parse_pos(&p, end, &b)))
                        return rc;
                    has_b = 1;
                    if (b < a)
                        return BW_E_FORMAT; /* invalid range-spec */
                }
            }
            if (n == 0) {
                fa = a;
                fb = b;
                f_has_b = has_b;
                f_suffix = suffix;
            }
            if (n < 2)
                n++;
        }
        while (p < end && is_ows(*p))
            p++;
        if (p == end)
            break;
        if (*p != ',')
            return BW_E_FORMAT;
        p++;
        while (p < end && is_ows(*p))
            p++;
    }
    if (n == 0)
        return BW_E_FORMAT;
    if (n > 1)
        return BW_E_NOTFOUND; /* multipart/byteranges is not implemented */
    if (size == 0)
        return BW_E_SIZE;
    if (f_suffix) {
        if (fa == 0)
            return BW_E_SIZE;
        *first = fa >= size ? 0 : size - fa;
        *last = size - 1;
        return BW_OK;
    }
    if (fa >= size)
        return BW_E_SIZE;
    *first = fa;
    *last = !f_has_b || fb >= size ? size - 1 : fb;
    return BW_OK;
}

/* ---- ETags (RFC 9110 8.8.3, 13.1.2, 13.1.5) --------------------------- */

/* [W/] DQUOTE *etagc DQUOTE at *pp, below end; *tag and *len: the opaque-tag,
 * quotes included. 0 if malformed. */
static int parse_etag(const char **pp, const char *end, int *weak, const char **tag, size_t *len)
{
    const char *p = *pp, *start;

    *weak = 0;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
        *weak = 1;
        p += 2;
    }
    if (p >= end || *p != '"')
        return 0;
    start = p++;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p;

        if (!(c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80))
            return 0;
        p++;
    }
    if (p >= end)
        return 0;
    p++;
    *tag = start;
    *len = (size_t)(p - start);
    *pp = p;
    return 1;
}

static void trim(const char *s, const char **b, const char **e)
{
    while (is_ows(*s))
        s++;
    *b = s;
    *e = s + strlen(s);
    while (*e > *b && is_ows((*e)[-1]))
        (*e)--;
}

/* Our own etag: one entity-tag and nothing else. */
static int own_etag(const char *etag, int *weak, const char **tag, size_t *len)
{
    const char *b, *e;

    if (!etag)
        return 0;
    b = etag;
    e = etag + strlen(etag);
    return parse_etag(&b, e, weak, tag, len) && b == e;
}

int gw_etag_if_none_match(const char *header, const char *etag)
{
    const char *p, *end, *mine, *t;
    size_t mine_len, tl;
    int mine_weak, weak, n = 0, match = 0;

    if (!header || !own_etag(etag, &mine_weak, &mine, &mine_len))
        return 0;
    trim(header, &p, &end);
    if (end - p == 1 && *p == '*')
        return 1;
    /* The whole list must be well formed before any element counts. */
    for (;;) {
        if (p < end && *p != ',') {
            if (!parse_etag(&p, end, &weak, &t, &tl))
                return 0;
            n++;
            if (tl == mine_len && memcmp(t, mine, tl) == 0)
                match = 1; /* weak comparison: W/ does not matter */
        }
        while (p < end && is_ows(*p))
            p++;
        if (p == end)
            break;
        if (*p != ',')
            return 0;
        p++;
        while (p < end && is_ows(*p))
            p++;
    }
    return n > 0 && match;
}

int gw_etag_if_range(const char *header, const char *etag)
{
    const char *p, *end, *mine, *t;
    size_t mine_len, tl;
    int mine_weak, weak;

    if (!header)
        return 1;
    if (!own_etag(etag, &mine_weak, &mine, &mine_len) || mine_weak)
        return 0;
    trim(header, &p, &end);
    if (!parse_etag(&p, end, &weak, &t, &tl) || p != end || weak)
        return 0; /* an HTTP-date, a weak tag or garbage: full body */
    return tl == mine_len && memcmp(t, mine, tl) == 0;
}
