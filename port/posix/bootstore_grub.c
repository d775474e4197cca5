/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot state in a GRUB environment block (the 1024-byte grubenv file that
 * load_env/save_env and grub-editenv use), as bw_* variables. Variables of
 * others (saved_entry, ...) are kept. A save writes a new block to a
 * temporary file, fsyncs, renames it over the old one and fsyncs the
 * directory; GRUB's own save_env rewrites the block in place at the same
 * size. The GRUB script that applies the boot rule is in docs/update.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bwh/host.h"
#include "bwh/posix.h"

#define BLOCK_SIZE 1024
#define HEADER "# GRUB Environment Block\n"
#define MAX_VARS 64

struct block {
    char *name[MAX_VARS];
    char *value[MAX_VARS];
    int n;
    char text[BLOCK_SIZE + 1];
};

/* Parses a block (1024 bytes, header, name=value lines, '#' padding). */
static bw_err parse_block(struct block *b, const char *path)
{
    char *p, *end;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    b->n = 0;
    if (fd < 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    got = read(fd, b->text, BLOCK_SIZE + 1);
    close(fd);
    if (got != BLOCK_SIZE || memcmp(b->text, HEADER, strlen(HEADER)) != 0)
        return BW_E_FORMAT;
    b->text[BLOCK_SIZE] = 0;
    p = b->text + strlen(HEADER);
    while (*p) {
        char *eq;

        end = strchr(p, '\n');
        if (*p == '#') { /* a comment line, or the padding (no newline) */
            if (!end)
                break;
            p = end + 1;
            continue;
        }
        if (!end)
            return BW_E_FORMAT;
        *end = 0;
        eq = strchr(p, '=');
        if (!eq || b->n == MAX_VARS)
            return BW_E_FORMAT;
        *eq = 0;
        b->name[b->n] = p;
        b->value[b->n] = eq + 1;
        b->n++;
        p = end + 1;
    }
    return BW_OK;
}

static bw_err kv_get(void *ctx, const char *key, char *val, size_t cap)
{
    struct block *b = ctx;
    int i;

    for (i = 0; i < b->n; i++)
        if (!strcmp(b->name[i], key)) {
            if (strlen(b->value[i]) >= cap)
                return BW_E_FORMAT;
            strcpy(val, b->value[i]);
            return BW_OK;
        }
    return BW_E_NOTFOUND;
}

/* New values live in a side buffer: the block's own text is fixed-size. */
struct edit {
    struct block *b;
    char store[BLOCK_SIZE];
    size_t used;
};

static bw_err kv_set(void *ctx, const char *key, const char *val)
{
    struct edit *e = ctx;
    struct block *b = e->b;
    size_t kl = strlen(key) + 1, vl = strlen(val) + 1;
    int i;

    if (strpbrk(val, "\n\\") || e->used + kl + vl > sizeof(e->store))
        return BW_E_TOOBIG;
    memcpy(e->store + e->used, val, vl);
    for (i = 0; i < b->n; i++)
        if (!strcmp(b->name[i], key)) {
            b->value[i] = e->store + e->used;
            e->used += vl;
            return BW_OK;
        }
    if (b->n == MAX_VARS)
        return BW_E_TOOBIG;
    b->value[b->n] = e->store + e->used;
    e->used += vl;
    memcpy(e->store + e->used, key, kl);
    b->name[b->n++] = e->store + e->used;
    e->used += kl;
    return BW_OK;
}

static bw_err grub_load(void *ctx, struct bw_bootstate *st)
{
    const struct bwh_bootstore_grub *g = ctx;
    struct block b;
    bw_err rc = parse_block(&b, g->path);

    if (rc)
        return rc;
    return bw_bootstate_from_kv(st, kv_get, &b);
}

static bw_err grub_save(void *ctx, const struct bw_bootstate *st)
{
    const struct bwh_bootstore_grub *g = ctx;
    static const char *hdr = HEADER;
    struct block b;
    struct edit e;
    char out[BLOCK_SIZE], tmp[4200];
    size_t n;
    int i, fd;
    bw_err rc;

    rc = parse_block(&b, g->path);
    if (rc == BW_E_NOTFOUND)
        b.n = 0;
    else if (rc)
        return rc;
    memset(&e, 0, sizeof(e));
    e.b = &b;
    if ((rc = bw_bootstate_to_kv(st, kv_set, &e)))
        return rc;
    n = strlen(hdr);
    memcpy(out, hdr, n);
    for (i = 0; i < b.n; i++) {
        size_t kl = strlen(b.name[i]), vl = strlen(b.value[i]);

        if (n + kl + vl + 2 > BLOCK_SIZE)
            return BW_E_TOOBIG;
        memcpy(out + n, b.name[i], kl);
        out[n + kl] = '=';
        memcpy(out + n + kl + 1, b.value[i], vl);
        out[n + kl + 1 + vl] = '\n';
        n += kl + vl + 2;
    }
    memset(out + n, '#', BLOCK_SIZE - n);
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", g->path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return BW_E_IO;
    if (write(fd, out, BLOCK_SIZE) != BLOCK_SIZE || fsync(fd) != 0 || rename(tmp, g->path) != 0) {
        close(fd);
        unlink(tmp);
        return BW_E_IO;
    }
    close(fd);
    return bwh_fsync_parent(g->path);
}

bw_err bwh_bootstore_grub_init(struct bw_bootstore *bs, struct bwh_bootstore_grub *ctx,
                              const char *grubenv)
{
    if (strlen(grubenv) >= sizeof(ctx->path))
        return BW_E_INVAL;
    strcpy(ctx->path, grubenv);
    bs->ctx = ctx;
    bs->load = grub_load;
    bs->save = grub_save;
    return BW_OK;
}
