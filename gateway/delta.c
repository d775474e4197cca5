/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deltas a release is served with (delta.h): the checks an uploaded delta
 * passes and the record that maps a device's running sequence to it. The
 * delta itself is never trusted by a device (the core checks every chunk
 * against the signed list); these checks keep the gateway from offering a
 * delta that cannot help, and give the campaign view its prediction.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwh/delta.h"
#include "bwh/host.h"
#include "delta.h"
#include "release.h"

static bw_err read_at(int fd, uint64_t off, uint8_t *buf, size_t len)
{
    ssize_t n;
    size_t got = 0;

    while (got < len) {
        n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? BW_E_IO : BW_E_TRUNCATED;
        got += (size_t)n;
    }
    return BW_OK;
}

bw_err gw_delta_check(const char *blob_dir, const char *path, const struct gw_release *rel,
                      const struct gw_release *src, struct gw_delta_info *out)
{
    uint8_t hdr[BWH_DELTA_HDR_LEN], *env = NULL, *denv = NULL, *z = NULL, *senv = NULL;
    size_t env_len = 0, senv_len = 0;
    struct bwh_delta d;
    struct bw_suit s;
    struct stat st;
    int fd;
    bw_err rc;

    memset(&d, 0, sizeof(d));
    memset(out, 0, sizeof(*out));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return BW_E_IO;
    rc = BW_E_IO;
    if (fstat(fd, &st))
        goto out;
    if ((rc = read_at(fd, 0, hdr, sizeof(hdr))) || (rc = bwh_delta_hdr_parse(hdr, sizeof(hdr), &d.h)))
        goto out;
    /* the release's own signed envelope, byte for byte */
    if ((rc = gw_release_envelope(blob_dir, rel->digest, &env, &env_len)))
        goto out;
    rc = BW_E_INVAL;
    if (d.h.env_len != env_len)
        goto out;
    rc = BW_E_NOMEM;
    if (!(denv = bwh_malloc(env_len)))
        goto out;
    if ((rc = read_at(fd, BWH_DELTA_HDR_LEN, denv, env_len)))
        goto out;
    rc = BW_E_INVAL;
    if (memcmp(denv, env, env_len))
        goto out;
    /* the image it was made against: the source release's signed image */
    if ((rc = gw_release_envelope(blob_dir, src->digest, &senv, &senv_len)) ||
        (rc = bw_suit_parse(senv, senv_len, NULL, &s)))
        goto out;
    rc = BW_E_DIGEST;
    if (s.n_components < 1 || s.comp[0].image_size != d.h.source_size ||
        memcmp(s.comp[0].image_digest, d.h.source_digest, BW_SHA256_LEN))
        goto out;
    /* the metadata, for the prediction */
    d.meta_off = BWH_DELTA_HDR_LEN + d.h.env_len + d.h.list_len;
    rc = BW_E_NOMEM;
    if (!(z = bwh_malloc((size_t)d.h.meta_zlen ? (size_t)d.h.meta_zlen : 1)))
        goto out;
    if ((rc = read_at(fd, d.meta_off, z, (size_t)d.h.meta_zlen)) ||
        (rc = bwh_delta_meta_parse(&d, z, (size_t)d.h.meta_zlen)))
        goto out;
    rc = BW_E_TRUNCATED;
    if ((uint64_t)st.st_size < d.file_len)
        goto out;
    out->size = (uint64_t)st.st_size;
    out->predicted = bwh_delta_predicted(&d); /* what a device on the source fetches */
    out->source_sequence = (uint64_t)src->sequence;
    out->source_release = src->id;
    rc = BW_OK;
out:
    close(fd);
    bwh_delta_free(&d);
    bwh_free(env);
    bwh_free(denv);
    bwh_free(senv);
    bwh_free(z);
    return rc;
}

static bw_err record_path(const char *blob_dir, const struct gw_release *rel, uint64_t seq,
                          char *out, size_t cap)
{
    int n = seq == UINT64_MAX ? snprintf(out, cap, "%s/delta", blob_dir)
                              : snprintf(out, cap, "%s/delta/%s-%" PRIu64, blob_dir, rel->digest, seq);

    return n < 0 || (size_t)n >= cap ? BW_E_NOMEM : BW_OK;
}

bw_err gw_delta_record(const char *blob_dir, const struct gw_release *rel,
                       const struct gw_delta_info *info)
{
    char path[4096], line[256];
    int n;
    bw_err rc;

    if ((rc = record_path(blob_dir, rel, UINT64_MAX, path, sizeof(path))))
        return rc;
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return BW_E_IO;
    if ((rc = record_path(blob_dir, rel, info->source_sequence, path, sizeof(path))))
        return rc;
    n = snprintf(line, sizeof(line), "%s %" PRIu64 " %" PRIu64 " %" PRId64 "\n", info->digest,
                 info->size, info->predicted, info->source_release);
    return bwh_write_file_atomic(path, line, (size_t)n, 0640);
}

/* "digest size predicted source_release\n" */
static bw_err parse_record(char *s, uint64_t seq, struct gw_delta_info *out)
{
    char *f[4], *save = NULL;
    uint64_t v;
    int i;

    for (i = 0; i < 4; i++)
        if (!(f[i] = strtok_r(i ? NULL : s, " \n", &save)))
            return BW_E_FORMAT;
    if (strlen(f[0]) != 64 || strspn(f[0], "0123456789abcdef") != 64)
        return BW_E_FORMAT;
    memset(out, 0, sizeof(*out));
    memcpy(out->digest, f[0], 65);
    if (bwh_parse_u64(f[1], &out->size) || bwh_parse_u64(f[2], &out->predicted) ||
        bwh_parse_u64(f[3], &v) || v > INT64_MAX)
        return BW_E_FORMAT;
    out->source_release = (int64_t)v;
    out->source_sequence = seq;
    return BW_OK;
}

bw_err gw_delta_find(const char *blob_dir, const struct gw_release *rel, uint64_t source_sequence,
                     struct gw_delta_info *out)
{
    char path[4096];
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    if (source_sequence == UINT64_MAX ||
        (rc = record_path(blob_dir, rel, source_sequence, path, sizeof(path))))
        return BW_E_NOTFOUND;
    rc = bwh_read_file(path, 255, &buf, &len);
    if (rc) {
        bwh_free(buf);
        return errno == ENOENT ? BW_E_NOTFOUND : rc;
    }
    buf[len] = 0;
    rc = parse_record((char *)buf, source_sequence, out);
    bwh_free(buf);
    return rc;
}

void gw_delta_each(const char *blob_dir, const struct gw_release *rel,
                   void (*fn)(void *arg, const struct gw_delta_info *info), void *arg)
{
    char path[4096];
    struct gw_delta_info info;
    struct dirent *e;
    uint64_t seq;
    size_t n = strlen(rel->digest);
    DIR *dir;

    if (record_path(blob_dir, rel, UINT64_MAX, path, sizeof(path)) || !(dir = opendir(path)))
        return;
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, rel->digest, n) && e->d_name[n] == '-' &&
            !bwh_parse_u64(e->d_name + n + 1, &seq) && !gw_delta_find(blob_dir, rel, seq, &info))
            fn(arg, &info);
    closedir(dir);
}
