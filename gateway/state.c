/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's state (struct gw_state, gw.h): what the handlers keep
 * between requests, in one place owned by the server instead of file
 * statics. The registry's per-thread handles, the locks, the token replay
 * table. The APIs fill in their own parts (operators, Mender keys); the
 * HTTP machinery is not here (http.c).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>

#include "bwh/host.h"
#include "bwh/identity.h"
#include "gw.h"

/* st's mutexes, in the order they are set up (st->init counts them) */
static pthread_mutex_t *lock_n(struct gw_state *st, unsigned int i)
{
    pthread_mutex_t *const locks[] = {&st->db_lock, &st->op_lock, &st->refused_lock,
                                      &st->replay_lock, &st->crl_lock, &st->tuf_lock,
                                      &st->est_lock};

    return i < sizeof(locks) / sizeof(locks[0]) ? locks[i] : NULL;
}

static void replay_lock(void *ctx, int acquire)
{
    if (acquire)
        pthread_mutex_lock(ctx);
    else
        pthread_mutex_unlock(ctx);
}

/* The table, and each device's share of it (token_device_quota), so that
 * one device presenting fresh tokens fills its share and not the table.
 * Without memory the table is empty: every token is refused (BW_E_NOMEM
 * from bw_token_verify, fail closed). */
static void replay_setup(struct gw_state *st)
{
    size_t cap = (size_t)st->conf.token_replay_slots;

    st->replay_slots = bwh_calloc(cap, sizeof(*st->replay_slots));
    st->replay_owners = bwh_calloc(cap, sizeof(*st->replay_owners));
    if (!st->replay_slots || !st->replay_owners) {
        bwh_free(st->replay_slots);
        bwh_free(st->replay_owners);
        st->replay_slots = NULL;
        st->replay_owners = NULL;
    }
    bw_token_replay_init(&st->replay, st->replay_slots, st->replay_slots ? cap : 0);
    if (bw_token_replay_set_quota(&st->replay, st->replay_owners,
                                  (uint32_t)st->conf.token_device_quota))
        bw_token_replay_init(&st->replay, NULL, 0); /* cannot happen on an empty table */
    bw_token_replay_set_lock(&st->replay, replay_lock, &st->replay_lock);
}

static void close_handle(void *h)
{
    (void)h; /* closed at gw_state_fini from the list, so one thread closes all */
}

bw_err gw_state_init(struct gw_state *st, const struct gw_conf *conf)
{
    pthread_mutex_t *m;
    bw_err rc;

    memset(st, 0, sizeof(*st));
    st->conf = *conf;
    if (pthread_key_create(&st->db_key, close_handle))
        return BW_E_NOMEM;
    st->db_key_on = 1;
    for (; (m = lock_n(st, st->init)); st->init++)
        if (pthread_mutex_init(m, NULL))
            return BW_E_NOMEM;
    rc = gw_db_pick(st->conf.database, &st->db_ops, &st->db_conninfo);
    if (rc) {
        fprintf(stderr, "bulwark-gateway: database: unknown kind '%s'\n", st->conf.database);
        return rc;
    }
    if (st->db_ops == &gw_db_sqlite && st->conf.sqlite_exclusive) {
        rc = gw_db_sqlite_exclusive_uri(st->db_conninfo, st->db_uri, sizeof(st->db_uri));
        if (rc) {
            fprintf(stderr, "bulwark-gateway: database: path too long for sqlite_exclusive\n");
            return rc;
        }
        st->db_conninfo = st->db_uri;
    }
    replay_setup(st);
    if (st->conf.est_ca_cert[0]) {
        rc = bwh_ca_open(st->conf.est_ca_cert, st->conf.est_ca_key, &st->est_ca);
        if (!rc)
            rc = bwh_est_cacerts(st->est_ca, &st->est_cacerts);
        if (rc) {
            fprintf(stderr, "bulwark-gateway: est_ca_cert/est_ca_key: %s\n", bw_strerror(rc));
            return rc;
        }
    }
    return BW_OK;
}

void gw_state_fini(struct gw_state *st)
{
    size_t i;

    for (i = 0; i < st->n_handles; i++)
        st->db_ops->close(st->handles[i]);
    st->n_handles = 0;
    bwh_free(st->replay_slots);
    bwh_free(st->replay_owners);
    st->replay_slots = NULL;
    st->replay_owners = NULL;
    for (i = 0; i < 2; i++) {
        bwh_free(st->crl[i].der);
        st->crl[i].der = NULL;
    }
    bwh_ca_free(st->est_ca);
    st->est_ca = NULL;
    bwh_free(st->est_cacerts);
    st->est_cacerts = NULL;
    bw_ec_key_clear(&st->mender_key);
    bw_wipe(st->mender_link_secret, sizeof(st->mender_link_secret));
    st->mender_ok = 0;
    while (st->init)
        pthread_mutex_destroy(lock_n(st, --st->init));
    if (st->db_key_on)
        pthread_key_delete(st->db_key);
    st->db_key_on = 0;
}

bw_err gw_db(struct gw_state *st, const struct gw_db_ops **ops, void **ctx)
{
    void *h = pthread_getspecific(st->db_key);
    bw_err rc;

    *ops = st->db_ops;
    if (!h) {
        rc = st->db_ops->open(st->db_conninfo, &h);
        if (rc)
            return rc;
        pthread_mutex_lock(&st->db_lock);
        if (st->n_handles == GW_DB_HANDLES_MAX) {
            pthread_mutex_unlock(&st->db_lock);
            st->db_ops->close(h);
            return BW_E_NOMEM;
        }
        st->handles[st->n_handles++] = h;
        pthread_mutex_unlock(&st->db_lock);
        pthread_setspecific(st->db_key, h);
    }
    *ctx = h;
    return BW_OK;
}
