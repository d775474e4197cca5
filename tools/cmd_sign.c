/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark sign: image -> package (envelope, chunk list, payload).
 * Method: the envelope's length depends only on the image size and options
 * (digests and the signature have fixed sizes), so the output layout is
 * known before any hashing. One thread copies the image into its place in
 * the output with copy_file_range (in the kernel, page cache to page cache)
 * while this thread computes the chunk digests and the hash pipe thread the
 * whole-image digest; then the envelope and the list are written in front.
 * The image's size and mtime are checked again at the end, so an image that
 * changed while signing is refused rather than packaged inconsistently.
 * The output is renamed into place; --sync also fsyncs it first.
 * --compress: each chunk is digested (uncompressed) and compressed into
 * the image's one zstd stream, flushed at the chunk's end; the compressed
 * bytes follow the chunk list and the table of each chunk's compressed
 * length, whose digest the manifest signs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <zstd.h>

#include "cli.h"

#define INTEGRATED_MAX (512u << 10)

struct copy_job {
    int in, out;
    uint64_t len;
    uint64_t out_off;
    bw_err rc;
};

static void *copy_payload(void *arg)
{
    struct copy_job *j = arg;
    loff_t ioff = 0, ooff = (loff_t)j->out_off;
    uint64_t len = j->len;
    uint8_t *buf;

    j->rc = BW_OK;
    while (len) {
        ssize_t r = copy_file_range(j->in, &ioff, j->out, &ooff,
                                    len > (1u << 30) ? (1u << 30) : (size_t)len, 0);

        if (r < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
            break;
        if (r <= 0) {
            j->rc = r == 0 ? BW_E_TRUNCATED : BW_E_IO;
            return NULL;
        }
        len -= (uint64_t)r;
    }
    if (!len)
        return NULL;
    /* Fallback for filesystems that refuse copy_file_range. */
    buf = bwh_malloc(1u << 20);
    if (!buf) {
        j->rc = BW_E_NOMEM;
        return NULL;
    }
    while (len && j->rc == BW_OK) {
        size_t want = len > (1u << 20) ? (1u << 20) : (size_t)len;
        ssize_t r = pread(j->in, buf, want, ioff);

        if (r != (ssize_t)want)
            j->rc = r < 0 ? BW_E_IO : BW_E_TRUNCATED;
        else if (pwrite(j->out, buf, want, ooff) != (ssize_t)want)
            j->rc = BW_E_IO;
        ioff += (loff_t)want;
        ooff += (loff_t)want;
        len -= want;
    }
    bwh_free(buf);
    return NULL;
}

/* Hashes the image: chunk list here, whole digest in the pipe thread. */
static bw_err hash_image(int fd, uint64_t size, uint32_t chunk, uint8_t *list,
                         uint8_t digest[BW_SHA256_LEN])
{
    struct bwh_hash_pipe *hp;
    struct bwh_progress prog;
    uint64_t off = 0, i = 0;
    size_t got;
    bw_err rc;

    rc = bwh_hash_pipe_new(&hp, chunk);
    if (rc)
        return rc;
    bwh_progress_start(&prog, "signing", size);
    while (off < size) {
        uint8_t *slot = bwh_hash_pipe_slot(hp);
        size_t want = size - off < chunk ? (size_t)(size - off) : chunk;

        rc = bwh_read_full(fd, slot, want, &got);
        if (!rc && got < want)
            rc = BW_E_TRUNCATED;
        if (!rc)
            rc = bw_sha256(slot, want, list + i * BW_SHA256_LEN);
        if (rc)
            break;
        bwh_hash_pipe_push(hp, want);
        off += want;
        i++;
        bwh_progress_add(&prog, want);
    }
    bwh_progress_end(&prog);
    if (rc) {
        bw_err ignored = bwh_hash_pipe_finish(hp, digest);

        (void)ignored;
        return rc;
    }
    return bwh_hash_pipe_finish(hp, digest);
}

/*
 * One chunk into z (BW_SUIT_COMPRESS_ZSTD_STREAM): continues the image's
 * one frame and flushes it at the chunk's end (ends it at the last chunk),
 * so the bytes written decode to exactly this chunk given the ones before.
 * The pledged image size goes into the frame header (readers require it).
 */
static bw_err compress_chunk(ZSTD_CCtx *cc, const uint8_t *raw, size_t len, int last, uint8_t *z,
                             size_t bound, size_t *zl)
{
    ZSTD_inBuffer in = {raw, len, 0};
    ZSTD_outBuffer out = {z, bound, 0};
    size_t r;

    do {
        r = ZSTD_compressStream2(cc, &out, &in, last ? ZSTD_e_end : ZSTD_e_flush);
        if (ZSTD_isError(r))
            return BW_E_NOMEM; /* the compressor's only failure for a bounded output */
    } while (r != 0 && out.pos < out.size);
    if (r != 0 || out.pos == 0)
        return BW_E_TOOBIG; /* above ZSTD_compressBound: cannot happen */
    *zl = out.pos;
    return BW_OK;
}

/*
 * The compressed payload: reads the image chunk by chunk, fills the chunk
 * list (digests of the uncompressed chunks) and the whole-image digest,
 * writes the compressed stream from offset `at` and each chunk's
 * compressed length into table (big-endian). *zbytes gets the total.
 */
static bw_err compress_image(int in, int out, struct bw_suit_build *b, uint8_t *list,
                             uint8_t *table, uint64_t at, int level, uint64_t *zbytes)
{
    size_t bound = bwh_zchunk_bound(b->chunk_size), got;
    uint8_t *raw = bwh_malloc(b->chunk_size), *z = bwh_malloc(bound);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    struct bwh_progress prog;
    struct bw_sha256 h;
    uint64_t off = 0, i = 0;
    int hashing = 0;
    bw_err rc = BW_E_NOMEM;

    *zbytes = 0;
    if (!raw || !z || !cc)
        goto out;
    rc = BW_E_INVAL;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, BWH_ZSTD_WINDOW_LOG)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, b->image_size)))
        goto out;
    if ((rc = bw_sha256_init(&h)))
        goto out;
    hashing = 1;
    bwh_progress_start(&prog, "compressing", b->image_size);
    while (off < b->image_size && !rc) {
        size_t want = b->image_size - off < b->chunk_size ? (size_t)(b->image_size - off)
                                                          : b->chunk_size;
        size_t zl;

        rc = bwh_read_full(in, raw, want, &got);
        if (!rc && got < want)
            rc = BW_E_TRUNCATED;
        if (!rc)
            rc = bw_sha256(raw, want, list + i * BW_SHA256_LEN);
        if (!rc)
            rc = bw_sha256_update(&h, raw, want);
        if (rc)
            break;
        if ((rc = compress_chunk(cc, raw, want, off + want == b->image_size, z, bound, &zl)))
            break;
        if (pwrite(out, z, zl, (off_t)(at + *zbytes)) != (ssize_t)zl) {
            rc = BW_E_IO;
            break;
        }
        table[i * BW_SUIT_CLEN_LEN] = (uint8_t)(zl >> 24);
        table[i * BW_SUIT_CLEN_LEN + 1] = (uint8_t)(zl >> 16);
        table[i * BW_SUIT_CLEN_LEN + 2] = (uint8_t)(zl >> 8);
        table[i * BW_SUIT_CLEN_LEN + 3] = (uint8_t)zl;
        *zbytes += zl;
        off += want;
        i++;
        bwh_progress_add(&prog, want);
    }
    bwh_progress_end(&prog);
out:
    if (hashing) {
        if (rc)
            bw_sha256_abort(&h);
        else
            rc = bw_sha256_final(&h, b->image_digest);
    }
    ZSTD_freeCCtx(cc);
    bwh_free(raw);
    bwh_free(z);
    return rc;
}

/* One A/B image: its chunk list and digests, written at its section. */
static bw_err ab_image(const char *path, uint32_t chunk, struct bw_suit_build_alt *alt,
                       int *fd, struct stat *st, uint8_t **list, uint64_t *n_chunks)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, st) != 0)
        return BW_E_IO;
    if (!S_ISREG(st->st_mode))
        return BW_E_INVAL;
    alt->image_size = (uint64_t)st->st_size;
    *n_chunks = (alt->image_size + chunk - 1) / chunk;
    if (alt->image_size > BW_SUIT_IMAGE_MAX || *n_chunks * BW_SHA256_LEN > BWH_PKG_LIST_MAX)
        return BW_E_TOOBIG;
    *list = bwh_malloc(*n_chunks ? (size_t)(*n_chunks * BW_SHA256_LEN) : 1);
    if (!*list)
        return BW_E_NOMEM;
    return BW_OK;
}

/*
 * The A/B package: envelope, then slot A's section (chunk list, image),
 * then slot B's. Each alternative of the manifest's try-each signs its
 * image's digest, size, chunk-list digest and section offset.
 */
static int sign_ab(struct cli_args *a, struct bw_suit_build *b, const struct bw_ec_key *key,
                   const char *out)
{
    const char *img[2] = {cli_get(a, "image-a"), cli_get(a, "image-b")};
    uint8_t *list[2] = {NULL, NULL}, *env = NULL;
    uint64_t n_chunks[2] = {0, 0}, off = 0;
    struct stat st0[2], st1;
    int in[2] = {-1, -1}, fd = -1, status = 1, i;
    const char *what = out;
    size_t env_len = 0;
    char tmp[4096];
    struct bw_wr w;
    bw_err rc = BW_OK;

    b->n_alt = 2;
    b->with_chunks = 1;
    for (i = 0; i < 2 && !rc; i++) {
        what = img[i];
        rc = ab_image(img[i], b->chunk_size, &b->alt[i], &in[i], &st0[i], &list[i], &n_chunks[i]);
        b->alt[i].section_off = off;
        off += n_chunks[i] * BW_SHA256_LEN + b->alt[i].image_size;
    }
    b->section_total = off;
    if (!rc) {
        what = "building the envelope";
        bw_wr_init(&w, NULL, 0);
        rc = bw_suit_build(&w, b, key);
        env_len = w.len;
        env = rc ? NULL : bwh_malloc(env_len);
        if (!rc && !env)
            rc = BW_E_NOMEM;
    }
    if (!rc) {
        what = tmp;
        fd = bwh_tmpfile_beside(out, 0644, tmp, sizeof(tmp));
        rc = fd < 0 ? BW_E_IO : BW_OK;
    }
    for (i = 0; i < 2 && !rc; i++) {
        uint64_t list_len = n_chunks[i] * BW_SHA256_LEN, at = env_len + b->alt[i].section_off;
        struct copy_job job = {in[i], fd, b->alt[i].image_size, at + list_len, BW_OK};

        what = img[i];
        copy_payload(&job);
        rc = job.rc;
        if (!rc && lseek(in[i], 0, SEEK_SET) != 0)
            rc = BW_E_IO;
        if (!rc)
            rc = hash_image(in[i], b->alt[i].image_size, b->chunk_size, list[i],
                            b->alt[i].image_digest);
        if (!rc)
            rc = bw_sha256(list[i], (size_t)list_len, b->alt[i].chunk_list_digest);
        if (!rc && pwrite(fd, list[i], (size_t)list_len, (off_t)at) != (ssize_t)list_len)
            rc = BW_E_IO;
        if (!rc && (fstat(in[i], &st1) != 0 || st1.st_size != st0[i].st_size ||
                    st1.st_mtim.tv_sec != st0[i].st_mtim.tv_sec ||
                    st1.st_mtim.tv_nsec != st0[i].st_mtim.tv_nsec))
            rc = BW_E_STATE; /* the image changed while it was being signed */
    }
    if (!rc) {
        what = out;
        bw_wr_init(&w, env, env_len);
        rc = bw_suit_build(&w, b, key);
    }
    if (!rc && pwrite(fd, env, env_len, 0) != (ssize_t)env_len)
        rc = BW_E_IO;
    if (!rc && cli_flag(a, "sync") && fsync(fd) != 0)
        rc = BW_E_IO;
    if (!rc && rename(tmp, out) != 0)
        rc = BW_E_IO;
    if (rc) {
        if (fd >= 0)
            unlink(tmp);
        status = rc == BW_E_INVAL ? cli_usage(a, "%s: images must be regular files", what)
                                  : cli_fail(a, what, rc);
        goto out;
    }
    if (cli_flag(a, "json")) {
        printf("{\"package\":");
        bwh_json_str(stdout, out, strlen(out));
        printf(",\"sequence\":%" PRIu64 ",\"envelope_size\":%zu,\"slots\":[", b->sequence,
               env_len);
        for (i = 0; i < 2; i++) {
            printf("%s{\"image_size\":%" PRIu64 ",\"image_digest\":", i ? "," : "",
                   b->alt[i].image_size);
            bwh_json_hex(stdout, b->alt[i].image_digest, BW_SHA256_LEN);
            printf(",\"chunks\":%" PRIu64 "}", n_chunks[i]);
        }
        printf("]}\n");
    } else {
        for (i = 0; i < 2; i++) {
            char hex[65];

            bw_hex(hex, b->alt[i].image_digest, BW_SHA256_LEN);
            printf("signed %s for slot %c -> %s: sequence %" PRIu64 ", %" PRIu64
                   " bytes, sha256 %s\n",
                   img[i], 'A' + i, out, b->sequence, b->alt[i].image_size, hex);
        }
    }
    status = 0;
out:
    if (fd >= 0)
        close(fd);
    for (i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        bwh_free(list[i]);
    }
    bwh_free(env);
    return status;
}

/* --sbom: the SBOM's SHA-256 goes into the manifest's text member. */
static int sbom_digest(struct cli_args *a, struct bw_suit_build *b, uint8_t out[BW_SHA256_LEN])
{
    const char *f = cli_get(a, "sbom");
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    if (!f)
        return 0;
    rc = bwh_read_file(f, (64u << 20), &buf, &len);
    if (!rc)
        rc = bw_sha256(buf, len, out);
    bwh_free(buf);
    if (rc)
        return cli_fail(a, f, rc);
    b->sbom_digest = out;
    return 0;
}

int cmd_sign(struct cli_args *a)
{
    const char *keyf = cli_get(a, "key"), *out = cli_get(a, "out"), *img = a->npos ? a->pos[0] : NULL;
    const char *seqs = cli_get(a, "sequence"), *cid = cli_get(a, "component-id");
    const char *levels = cli_get(a, "compress-level");
    uint8_t vendor[16], klass[16], comp[64], *list = NULL, *env = NULL, *payload = NULL;
    uint8_t *table = NULL, sbom[BW_SHA256_LEN];
    uint64_t level = 19, zbytes = 0;
    struct bw_suit_build b;
    struct bw_ec_key key;
    struct stat st0, st1;
    struct bw_wr w;
    char tmp[4096];
    uint64_t n_chunks = 0;
    int in = -1, fd = -1, status = 1, copying = 0;
    struct copy_job job;
    pthread_t copier;
    size_t env_len = 0;
    size_t got;
    bw_err rc;

    bw_ec_key_init(&key);
    memset(&b, 0, sizeof(b));
    if (!keyf || !out || !seqs || !cli_get(a, "vendor-id") || !cli_get(a, "class-id"))
        return cli_usage(a, "--key, --vendor-id, --class-id, --sequence and --out are required");
    if (bwh_uuid_parse(cli_get(a, "vendor-id"), vendor))
        return cli_usage(a, "--vendor-id: not a UUID: %s", cli_get(a, "vendor-id"));
    if (bwh_uuid_parse(cli_get(a, "class-id"), klass))
        return cli_usage(a, "--class-id: not a UUID: %s", cli_get(a, "class-id"));
    if (bwh_parse_u64(seqs, &b.sequence))
        return cli_usage(a, "--sequence: not a whole number from 0 to 2^64-1: %s", seqs);
    /* a device buffers one chunk: small devices want small ones */
    b.chunk_size = BW_SUIT_CHUNK_SIZE;
    if (cli_get(a, "chunk-size")) {
        uint64_t cs = 0;

        if (bwh_parse_u64(cli_get(a, "chunk-size"), &cs) || cs < BW_SUIT_CHUNK_MIN ||
            cs > BW_SUIT_CHUNK_MAX || (cs & (cs - 1)))
            return cli_usage(a, "--chunk-size: a power of two from %u to %u", BW_SUIT_CHUNK_MIN,
                             BW_SUIT_CHUNK_MAX);
        if (cli_flag(a, "integrated"))
            return cli_usage(a, "--chunk-size applies to a chunked payload, not --integrated");
        b.chunk_size = (uint32_t)cs;
    }
    if (cid) {
        size_t l = strlen(cid);

        if (l == 0 || l % 2 || l / 2 > sizeof(comp) || bw_unhex(comp, l / 2, cid))
            return cli_usage(a, "--component-id: 1 to 64 bytes of hex expected");
        b.component_id = comp;
        b.component_id_len = l / 2;
    }
    b.vendor_id = vendor;
    b.class_id = klass;
    if ((status = sbom_digest(a, &b, sbom)) != 0)
        return status;
    b.security_only = cli_flag(a, "security-only");
    status = 1;
    b.uri = cli_get(a, "uri");
    if (cli_flag(a, "integrated")) {
        if (b.uri)
            return cli_usage(a, "--integrated names the payload itself; drop --uri");
        b.uri = "#bulwark-payload";
    }
    if (b.uri && strlen(b.uri) > 256)
        return cli_usage(a, "--uri: at most 256 bytes");
    if (b.uri && !bw_utf8_valid((const uint8_t *)b.uri, strlen(b.uri)))
        return cli_usage(a, "--uri: not valid UTF-8");
    if (b.uri && b.uri[0] == '#' && !cli_flag(a, "integrated"))
        return cli_usage(a, "--uri: '#name' names an integrated payload; use --integrated");
    if (cli_get(a, "image-a") || cli_get(a, "image-b")) {
        if (!cli_get(a, "image-a") || !cli_get(a, "image-b") || a->npos)
            return cli_usage(a, "an A/B package takes --image-a and --image-b, and no IMAGE");
        if (b.uri)
            return cli_usage(a, "--uri and --integrated do not apply to an A/B package");
        if (cli_flag(a, "compress"))
            return cli_usage(a, "--compress does not apply to an A/B package");
        rc = bwh_load_key(keyf, 1, &key);
        status = rc ? cli_fail(a, keyf, rc) : sign_ab(a, &b, &key, out);
        bw_ec_key_clear(&key);
        return status;
    }
    if (a->npos != 1)
        return cli_usage(a, "IMAGE (or --image-a and --image-b) is required");
    if (levels && !cli_flag(a, "compress"))
        return cli_usage(a, "--compress-level applies with --compress");
    if (levels && (bwh_parse_u64(levels, &level) || level < 1 || level > (uint64_t)ZSTD_maxCLevel()))
        return cli_usage(a, "--compress-level: a whole number from 1 to %d", ZSTD_maxCLevel());
    if (cli_flag(a, "compress") && cli_flag(a, "integrated"))
        return cli_usage(a, "--compress applies to a chunked payload, not --integrated");

    errno = 0;
    rc = bwh_load_key(keyf, 1, &key);
    if (rc) {
        status = cli_fail(a, keyf, rc);
        goto out;
    }
    in = open(img, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, &st0) != 0) {
        status = cli_fail(a, img, BW_E_IO);
        goto out;
    }
    if (!S_ISREG(st0.st_mode)) {
        status = cli_usage(a, "%s: IMAGE must be a regular file", img);
        goto out;
    }
    b.image_size = (uint64_t)st0.st_size;
    if (b.image_size > BW_SUIT_IMAGE_MAX) {
        status = cli_fail(a, img, BW_E_TOOBIG);
        goto out;
    }
    if (cli_flag(a, "integrated")) {
        if (b.image_size > INTEGRATED_MAX) {
            status = cli_usage(a, "--integrated: image larger than 512 KiB");
            goto out;
        }
        payload = bwh_malloc((size_t)b.image_size);
        rc = payload ? bwh_read_full(in, payload, (size_t)b.image_size, &got) : BW_E_NOMEM;
        if (!rc && got != b.image_size)
            rc = BW_E_TRUNCATED;
        if (!rc)
            rc = bw_sha256(payload, (size_t)b.image_size, b.image_digest);
        b.integrated = payload;
        b.integrated_len = (size_t)b.image_size;
    } else {
        b.with_chunks = 1;
        n_chunks = (b.image_size + b.chunk_size - 1) / b.chunk_size;
        if (n_chunks * BW_SHA256_LEN > BWH_PKG_LIST_MAX) {
            status = cli_usage(a, "%s: images above %llu GiB are not supported", img,
                               (unsigned long long)(BWH_PKG_LIST_MAX / BW_SHA256_LEN *
                                                    BW_SUIT_CHUNK_SIZE >> 30));
            goto out;
        }
        list = bwh_malloc(n_chunks ? (size_t)(n_chunks * BW_SHA256_LEN) : 1);
        rc = list ? BW_OK : BW_E_NOMEM;
        if (!rc && cli_flag(a, "compress")) {
            b.compress = BW_SUIT_COMPRESS_ZSTD_STREAM;
            table = bwh_malloc(n_chunks ? (size_t)(n_chunks * BW_SUIT_CLEN_LEN) : 1);
            rc = table ? BW_OK : BW_E_NOMEM;
        }
    }
    if (rc) {
        status = cli_fail(a, img, rc);
        goto out;
    }
    /* The envelope's size does not depend on the digests: size it now. */
    bw_wr_init(&w, NULL, 0);
    rc = bw_suit_build(&w, &b, &key);
    env = rc ? NULL : bwh_malloc(w.len);
    if (!rc && !env)
        rc = BW_E_NOMEM;
    if (rc) {
        status = cli_fail(a, "building the envelope", rc);
        goto out;
    }
    env_len = w.len;

    fd = bwh_tmpfile_beside(out, 0644, tmp, sizeof(tmp));
    if (fd < 0) {
        status = cli_fail(a, tmp, BW_E_IO);
        goto out;
    }
    if (table) {
        uint64_t tat = env_len + n_chunks * BW_SHA256_LEN, tlen = n_chunks * BW_SUIT_CLEN_LEN;

        rc = compress_image(in, fd, &b, list, table, tat + tlen, (int)level, &zbytes);
        if (!rc)
            rc = bw_sha256(list, (size_t)(n_chunks * BW_SHA256_LEN), b.chunk_list_digest);
        if (!rc)
            rc = bw_sha256(table, (size_t)tlen, b.clen_digest);
        if (!rc && pwrite(fd, table, (size_t)tlen, (off_t)tat) != (ssize_t)tlen)
            rc = BW_E_IO;
    } else if (list) {
        job.in = in;
        job.out = fd;
        job.len = b.image_size;
        job.out_off = env_len + n_chunks * BW_SHA256_LEN;
        job.rc = BW_OK;
        copying = pthread_create(&copier, NULL, copy_payload, &job) == 0;
        if (!copying)
            copy_payload(&job); /* no thread: copy first, then hash */
        rc = hash_image(in, b.image_size, b.chunk_size, list, b.image_digest);
        if (copying)
            pthread_join(copier, NULL);
        if (!rc)
            rc = job.rc;
        if (!rc)
            rc = bw_sha256(list, (size_t)(n_chunks * BW_SHA256_LEN), b.chunk_list_digest);
    }
    if (!rc) {
        bw_wr_init(&w, env, env_len);
        rc = bw_suit_build(&w, &b, &key);
    }
    if (!rc && pwrite(fd, env, env_len, 0) != (ssize_t)env_len)
        rc = BW_E_IO;
    if (!rc && list &&
        pwrite(fd, list, (size_t)(n_chunks * BW_SHA256_LEN), (off_t)env_len) !=
            (ssize_t)(n_chunks * BW_SHA256_LEN))
        rc = BW_E_IO;
    if (!rc && (fstat(in, &st1) != 0 || st1.st_size != st0.st_size ||
                st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
                st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec))
        rc = BW_E_STATE; /* the image changed while it was being signed */
    if (!rc && cli_flag(a, "sync") && fsync(fd) != 0)
        rc = BW_E_IO;
    if (!rc && rename(tmp, out) != 0)
        rc = BW_E_IO;
    if (rc) {
        unlink(tmp);
        status = cli_fail(a, out, rc);
        goto out;
    }
    if (cli_flag(a, "json")) {
        printf("{\"package\":");
        bwh_json_str(stdout, out, strlen(out));
        printf(",\"sequence\":%" PRIu64 ",\"image_size\":%" PRIu64 ",\"image_digest\":",
               b.sequence, b.image_size);
        bwh_json_hex(stdout, b.image_digest, BW_SHA256_LEN);
        printf(",\"envelope_size\":%zu,\"chunks\":%" PRIu64, env_len, n_chunks);
        if (b.sbom_digest) {
            printf(",\"sbom_sha256\":");
            bwh_json_hex(stdout, b.sbom_digest, BW_SHA256_LEN);
        }
        printf(",\"security_only\":%s", b.security_only ? "true" : "false");
        if (table)
            printf(",\"compression\":\"zstd\",\"compressed_size\":%" PRIu64, zbytes);
        printf("}\n");
    } else {
        char hex[65];

        bw_hex(hex, b.image_digest, BW_SHA256_LEN);
        printf("signed %s -> %s: sequence %" PRIu64 ", %" PRIu64 " bytes, %" PRIu64
               " chunks, sha256 %s\n",
               img, out, b.sequence, b.image_size, n_chunks, hex);
        if (table)
            printf("compressed with zstd level %" PRIu64 ": %" PRIu64 " bytes of chunks\n", level,
                   zbytes);
    }
    status = 0;
out:
    if (fd >= 0)
        close(fd);
    if (in >= 0)
        close(in);
    bwh_free(list);
    bwh_free(table);
    bwh_free(env);
    bwh_free(payload);
    bw_ec_key_clear(&key);
    return status;
}
