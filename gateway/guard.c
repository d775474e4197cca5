/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection guard (guard.h): deadlines per connection phase, the
 * anonymous and per-address caps, and the upload byte reservation. No
 * sockets here; the server reports events and shuts what the guard names.
 *
 * Method: each connection is in at most one phase list, and a list's
 * deadline is the same span after each member's `since`. Members are
 * appended with since = now, and now never goes backwards (a monotonic
 * clock), so every list is ordered by deadline and a sweep only looks at
 * list heads: O(expired), not O(connections). Per-address counts live in an open-addressing
 * table sized for twice the connection limit (linear probing, backward-
 * shift deletion), so accept costs O(1) whatever the attacker does.
 * Eviction looks at the oldest EVICT_WINDOW waiting anonymous connections
 * and takes the oldest of the address that holds the most: when a flood
 * starts, the oldest anonymous connections are devices in the middle of
 * their handshakes, and it is the flood's addresses that must pay.
 */
#define _DEFAULT_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bwh/host.h"
#include "guard.h"

enum { L_NONE = 0, L_ANON_WAIT, L_AUTH_WAIT, L_BODY, L_COUNT };

struct addr_slot {
    uint8_t addr[16];
    uint32_t count; /* 0: empty */
};

struct plist {
    struct gw_guard_conn *head, *tail;
};

struct gw_guard {
    struct gw_guard_conf c;
    gw_guard_shut_fn shut;
    void *arg;
    pthread_mutex_t lock;
    struct plist l[L_COUNT];
    size_t conns, anonymous, waiting_anonymous;
    struct addr_slot *slot;
    size_t nslot, used;
    uint64_t upload;
    uint64_t evicted, expired, refused;
};

static void unlink_conn(struct gw_guard *g, struct gw_guard_conn *k)
{
    struct plist *l;

    if (!k->list)
        return;
    l = &g->l[k->list];
    if (k->prev)
        k->prev->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        l->tail = k->prev;
    if (k->list == L_ANON_WAIT)
        g->waiting_anonymous--;
    k->prev = k->next = NULL;
    k->list = L_NONE;
}

static void append(struct gw_guard *g, struct gw_guard_conn *k, int list, double now)
{
    struct plist *l = &g->l[list];

    unlink_conn(g, k);
    if (k->shut)
        return;
    k->since = now;
    k->list = list;
    k->prev = l->tail;
    k->next = NULL;
    if (l->tail)
        l->tail->next = k;
    else
        l->head = k;
    l->tail = k;
    if (list == L_ANON_WAIT)
        g->waiting_anonymous++;
}

static uint32_t addr_hash(const uint8_t a[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;

    for (i = 0; i < 16; i++)
        h = (h ^ a[i]) * 16777619u;
    return h;
}

/* The slot holding addr, or the empty slot where it would go. */
static size_t addr_find(const struct gw_guard *g, const uint8_t a[16])
{
    size_t i = addr_hash(a) & (g->nslot - 1);

    while (g->slot[i].count && memcmp(g->slot[i].addr, a, 16))
        i = (i + 1) & (g->nslot - 1);
    return i;
}

static void addr_add(struct gw_guard *g, const uint8_t a[16])
{
    size_t i = addr_find(g, a);

    if (!g->slot[i].count) {
        if (g->used + 1 >= g->nslot)
            return; /* cannot happen: the table is twice the connection limit */
        memcpy(g->slot[i].addr, a, 16);
        g->used++;
    }
    g->slot[i].count++;
}

static void addr_sub(struct gw_guard *g, const uint8_t a[16])
{
    size_t i = addr_find(g, a), j, home;

    if (!g->slot[i].count || --g->slot[i].count)
        return;
    g->used--;
    /* backward shift: pull later members of the probe run into the hole */
    for (j = (i + 1) & (g->nslot - 1); g->slot[j].count; j = (j + 1) & (g->nslot - 1)) {
        home = addr_hash(g->slot[j].addr) & (g->nslot - 1);
        if (((j - home) & (g->nslot - 1)) >= ((j - i) & (g->nslot - 1))) {
            g->slot[i] = g->slot[j];
            g->slot[j].count = 0;
            i = j;
        }
    }
}

static void shut_conn(struct gw_guard *g, struct gw_guard_conn *k)
{
    unlink_conn(g, k);
    if (k->shut)
        return;
    k->shut = 1;
    if (!k->authenticated)
        g->anonymous--;
    g->shut(g->arg, k->fd);
}

bw_err gw_guard_new(struct gw_guard **out, const struct gw_guard_conf *c, gw_guard_shut_fn shut,
                    void *arg)
{
    struct gw_guard *g;
    size_t n = 64;

    *out = NULL;
    if (!c->max_conns || !c->max_anonymous || !c->max_per_address || !shut ||
        c->header_timeout <= 0 || c->idle_timeout <= 0 || c->body_timeout <= 0)
        return BW_E_INVAL;
    while (n < 2 * c->max_conns + 2)
        n *= 2;
    g = bwh_calloc(1, sizeof(*g));
    if (!g)
        return BW_E_NOMEM;
    g->slot = bwh_calloc(n, sizeof(*g->slot));
    if (!g->slot) {
        bwh_free(g);
        return BW_E_NOMEM;
    }
    g->nslot = n;
    g->c = *c;
    g->shut = shut;
    g->arg = arg;
    pthread_mutex_init(&g->lock, NULL);
    *out = g;
    return BW_OK;
}

void gw_guard_free(struct gw_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    bwh_free(g->slot);
    bwh_free(g);
}

int gw_guard_addr(const void *sa, size_t len, uint8_t out[16])
{
    const struct sockaddr *s = sa;

    memset(out, 0, 16);
    if (!sa)
        return 0;
    if (s->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = sa;

        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4->sin_addr, 4);
        return 1;
    }
    if (s->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = sa;

        memcpy(out, &v6->sin6_addr, 16);
        return 1;
    }
    return 0;
}

int gw_guard_admit(struct gw_guard *g, const uint8_t addr[16])
{
    size_t i;
    int ok;

    pthread_mutex_lock(&g->lock);
    i = addr_find(g, addr);
    ok = g->slot[i].count < g->c.max_per_address && g->conns < g->c.max_conns;
    if (!ok)
        g->refused++;
    pthread_mutex_unlock(&g->lock);
    return ok;
}

/* Which waiting anonymous connection goes when the cap is passed: among
 * the EVICT_WINDOW that have waited longest, the oldest of the address
 * holding the most unauthenticated connections. A flood comes from the
 * addresses that hold many; the devices in the middle of a handshake when
 * it starts are among the oldest, but their address holds few. */
#define EVICT_WINDOW 64

static struct gw_guard_conn *victim(struct gw_guard *g)
{
    struct gw_guard_conn *k = g->l[L_ANON_WAIT].head, *best = k;
    uint32_t most = 0;
    int i;

    for (i = 0; k && i < EVICT_WINDOW; k = k->next, i++) {
        uint32_t n = g->slot[addr_find(g, k->addr)].count;

        if (n > most) {
            most = n;
            best = k;
        }
    }
    return best;
}

void gw_guard_open(struct gw_guard *g, struct gw_guard_conn *k, int fd, const uint8_t addr[16],
                   double now)
{
    memset(k, 0, sizeof(*k));
    k->fd = fd;
    memcpy(k->addr, addr, 16);
    pthread_mutex_lock(&g->lock);
    g->conns++;
    g->anonymous++;
    addr_add(g, addr);
    append(g, k, L_ANON_WAIT, now);
    /* gw_guard_admit ran in the accepting thread before this count: two
     * threads of the pool may both have admitted the last place */
    if (g->slot[addr_find(g, addr)].count > g->c.max_per_address || g->conns > g->c.max_conns) {
        shut_conn(g, k);
        g->refused++;
    }
    while (g->anonymous > g->c.max_anonymous && g->l[L_ANON_WAIT].head) {
        shut_conn(g, victim(g));
        g->evicted++;
    }
    pthread_mutex_unlock(&g->lock);
}

void gw_guard_close(struct gw_guard *g, struct gw_guard_conn *k)
{
    pthread_mutex_lock(&g->lock);
    unlink_conn(g, k);
    if (!k->authenticated) {
        if (!k->shut)
            g->anonymous--;
        addr_sub(g, k->addr);
    }
    g->conns--;
    k->shut = 1;
    pthread_mutex_unlock(&g->lock);
}

void gw_guard_request(struct gw_guard *g, struct gw_guard_conn *k, int upload, double now)
{
    pthread_mutex_lock(&g->lock);
    if (upload)
        unlink_conn(g, k);
    else
        append(g, k, L_BODY, now);
    pthread_mutex_unlock(&g->lock);
}

void gw_guard_answered(struct gw_guard *g, struct gw_guard_conn *k)
{
    pthread_mutex_lock(&g->lock);
    unlink_conn(g, k);
    pthread_mutex_unlock(&g->lock);
}

void gw_guard_done(struct gw_guard *g, struct gw_guard_conn *k, double now)
{
    pthread_mutex_lock(&g->lock);
    append(g, k, k->authenticated ? L_AUTH_WAIT : L_ANON_WAIT, now);
    pthread_mutex_unlock(&g->lock);
}

void gw_guard_authenticated(struct gw_guard *g, struct gw_guard_conn *k)
{
    pthread_mutex_lock(&g->lock);
    if (!k->authenticated && !k->shut) {
        k->authenticated = 1;
        g->anonymous--;
        addr_sub(g, k->addr);
    }
    pthread_mutex_unlock(&g->lock);
}

double gw_guard_sweep(struct gw_guard *g, double now)
{
    static const int lists[] = {L_ANON_WAIT, L_AUTH_WAIT, L_BODY};
    double next = 1.0, span = 0;
    size_t i;

    pthread_mutex_lock(&g->lock);
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct gw_guard_conn *k;

        span = lists[i] == L_ANON_WAIT   ? g->c.header_timeout
               : lists[i] == L_AUTH_WAIT ? g->c.idle_timeout
                                         : g->c.body_timeout;
        while ((k = g->l[lists[i]].head) && k->since + span <= now) {
            shut_conn(g, k);
            g->expired++;
        }
        if (k && k->since + span - now < next)
            next = k->since + span - now;
    }
    pthread_mutex_unlock(&g->lock);
    return next;
}

int gw_guard_upload_reserve(struct gw_guard *g, uint64_t n)
{
    int ok;

    pthread_mutex_lock(&g->lock);
    ok = n <= g->c.max_upload_inflight && g->upload <= g->c.max_upload_inflight - n;
    if (ok)
        g->upload += n;
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void gw_guard_upload_release(struct gw_guard *g, uint64_t n)
{
    pthread_mutex_lock(&g->lock);
    g->upload -= n <= g->upload ? n : g->upload;
    pthread_mutex_unlock(&g->lock);
}

void gw_guard_stats(struct gw_guard *g, struct gw_guard_stats *st)
{
    pthread_mutex_lock(&g->lock);
    st->conns = g->conns;
    st->anonymous = g->anonymous;
    st->waiting_anonymous = g->waiting_anonymous;
    st->addresses = g->used;
    st->upload_bytes = g->upload;
    st->evicted = g->evicted;
    st->expired = g->expired;
    st->refused = g->refused;
    pthread_mutex_unlock(&g->lock);
}
