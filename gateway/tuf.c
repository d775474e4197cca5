/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet's TUF repository on the gateway (docs/trust.md): the
 * directory `bulwark repo` keeps (tuf_dir) is served without credentials
 * at /tuf/metadata/NAME, as a static TUF mirror; the gateway holds only
 * the online snapshot and timestamp keys and signs a new snapshot when the
 * published targets changed, and a new timestamp when the snapshot
 * changed or half of tuf_timestamp_expiry has passed. The check runs every
 * 5 s from the server's sweeper thread (http.c) and on each request for
 * timestamp.json, at most once a second.
 * Root and targets metadata arrive signed by their offline holders; the
 * gateway cannot change them, and a release is offered only when the
 * signed targets metadata lists it with the same name, length and hash.
 * Packages themselves are served by the device API as before: the
 * targets' lengths and hashes are what bind them to the metadata.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bwh/host.h"
#include "bwh/tuf.h"
#include "respond.h"

bw_err gw_tuf_freshen(struct gw_state *st, int force)
{
    const struct gw_conf *c = &st->conf;
    char err[512];
    unsigned made = 0;
    double now = bwh_now();
    bw_err rc = BW_OK;

    if (!c->tuf_dir[0] || !c->tuf_snapshot_key[0])
        return BW_OK; /* off, or another instance signs */
    pthread_mutex_lock(&st->tuf_lock);
    if (force || st->tuf_checked == 0 || now - st->tuf_checked >= 1.0) {
        st->tuf_checked = now;
        rc = bwh_tuf_repo_freshen(c->tuf_dir, c->tuf_snapshot_key, c->tuf_timestamp_key,
                                  (int64_t)c->tuf_snapshot_expiry,
                                  (int64_t)c->tuf_timestamp_expiry, &made, err, sizeof(err));
        if (rc)
            fprintf(stderr, "bulwark-gateway: TUF repository %s: %s\n", c->tuf_dir, err);
        else if (made)
            fprintf(stderr, "bulwark-gateway: TUF: signed a new%s%s\n",
                    made & 1 ? " snapshot" : "", made & 2 ? " timestamp" : "");
    }
    pthread_mutex_unlock(&st->tuf_lock);
    return rc;
}

bw_err gw_tuf_release_ok(const struct gw_state *st, const struct gw_release *rel, char *why,
                         size_t cap)
{
    /* SWUpdate and Mender artifacts are not TUF targets (their clients
     * check their own signatures; docs/trust.md): TUF governs the SUIT
     * packages bulwark-agent installs */
    if (!st->conf.tuf_dir[0] || strcmp(rel->kind, "bulwark") != 0)
        return BW_OK;
    return bwh_tuf_repo_target_ok(st->conf.tuf_dir, rel->name, rel->digest, (uint64_t)rel->size,
                                  why, cap);
}

/* A metadata file name as a repository publishes them: a repository
 * name (bwh_tuf_repo_name_ok) ending in .json. */
static int name_ok(const char *s, size_t n)
{
    return n > 5 && bwh_tuf_repo_name_ok(s) && strcmp(s + n - 5, ".json") == 0;
}

void gw_h_tuf(struct gw_req *q, struct gw_resp *r)
{
    const struct gw_conf *c = &q->st->conf;
    const char *name = q->path + strlen("/tuf/metadata/");
    char path[GW_PATH_MAX + 256];
    uint8_t *b = NULL;
    size_t n = 0;
    bw_err rc;

    if (!c->tuf_dir[0]) {
        gw_error(r, 404, "not_configured", "tuf_dir is not set");
        return;
    }
    if (!name_ok(name, strlen(name))) {
        gw_error(r, 404, "not_found", "no such metadata");
        return;
    }
    /* on a failure an old timestamp is still served: the device judges it */
    if (!strcmp(name, "timestamp.json") && gw_tuf_freshen(q->st, 0) != BW_OK)
        fprintf(stderr, "bulwark-gateway: TUF: serving the timestamp as it is\n");
    snprintf(path, sizeof(path), "%s/metadata/%s", c->tuf_dir, name);
    rc = bwh_read_file(path, BWH_TUF_TARGETS_MAX, &b, &n);
    if (rc) {
        /* no body: every poll asks for the next root version, which is
         * usually not there */
        gw_text(r, 404, "text/plain", NULL, 0);
        return;
    }
    gw_text(r, 200, "application/json", (char *)b, n);
}
