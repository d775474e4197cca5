/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's connection guard (gateway/guard.c) on an injected clock:
 * header and idle deadlines, the anonymous cap evicting the longest
 * waiting anonymous connection, the per-address cap counting only
 * unauthenticated connections, upload byte reservations, and the
 * per-address table surviving many addresses coming and going.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "guard.h"
#include "t.h"

static int shut_log[4096];
static size_t n_shut;

static void shut(void *arg, int fd)
{
    (void)arg;
    if (n_shut < sizeof(shut_log) / sizeof(shut_log[0]))
        shut_log[n_shut] = fd;
    n_shut++;
}

static int was_shut(int fd)
{
    size_t i;

    for (i = 0; i < n_shut && i < 4096; i++)
        if (shut_log[i] == fd)
            return 1;
    return 0;
}

static void v4(const char *ip, uint8_t out[16])
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    CHECK(gw_guard_addr(&sa, sizeof(sa), out) == 1);
}

static struct gw_guard *mk(size_t conns, size_t anon, size_t per_addr)
{
    struct gw_guard_conf c;
    struct gw_guard *g = NULL;

    memset(&c, 0, sizeof(c));
    c.header_timeout = 10;
    c.idle_timeout = 30;
    c.body_timeout = 30;
    c.max_conns = conns;
    c.max_anonymous = anon;
    c.max_per_address = per_addr;
    c.max_upload_inflight = 1000;
    CHECK_RC(gw_guard_new(&g, &c, shut, NULL), BW_OK);
    n_shut = 0;
    return g;
}

static void deadlines(void)
{
    struct gw_guard *g = mk(100, 75, 10);
    struct gw_guard_conn a, b, d;
    uint8_t ip[16];

    v4("10.0.0.1", ip);
    gw_guard_open(g, &a, 3, ip, 0);
    gw_guard_open(g, &b, 4, ip, 5);
    /* no deadline passed yet: the next one is a's, 10 s after it came */
    CHECK(gw_guard_sweep(g, 9.5) > 0.4);
    CHECK(n_shut == 0);
    /* a never sent complete headers (silent client, unfinished handshake,
     * slowloris): shut at its header deadline, b not yet */
    gw_guard_sweep(g, 10.0);
    CHECK(n_shut == 1 && was_shut(3) && !was_shut(4));
    /* b sends a request, authenticates, is answered: the idle deadline
     * (30 s from the answer) applies, not the header deadline */
    gw_guard_request(g, &b, 0, 6);
    gw_guard_authenticated(g, &b);
    gw_guard_answered(g, &b);
    gw_guard_done(g, &b, 7);
    gw_guard_sweep(g, 36.9);
    CHECK(!was_shut(4));
    gw_guard_sweep(g, 37.0);
    CHECK(was_shut(4));
    /* a request that never finishes its body: the body deadline */
    gw_guard_open(g, &d, 5, ip, 40);
    gw_guard_request(g, &d, 0, 41);
    gw_guard_sweep(g, 70.9);
    CHECK(!was_shut(5));
    gw_guard_sweep(g, 71.0);
    CHECK(was_shut(5));
    /* an authorised upload has no guard deadline while it streams */
    n_shut = 0;
    gw_guard_close(g, &a);
    gw_guard_open(g, &a, 6, ip, 100);
    gw_guard_request(g, &a, 1, 100);
    gw_guard_sweep(g, 1000);
    CHECK(n_shut == 0);
    gw_guard_close(g, &a);
    gw_guard_close(g, &b);
    gw_guard_close(g, &d);
    gw_guard_free(g);
}

static void anonymous_cap(void)
{
    struct gw_guard *g = mk(100, 4, 100);
    struct gw_guard_conn c[8], dev;
    struct gw_guard_stats st;
    uint8_t ip[16], dip[16];
    int i;

    v4("10.0.0.2", ip);
    v4("10.0.0.9", dip);
    /* a device connects and authenticates, then 8 anonymous ones come:
     * past 4 the longest waiting anonymous one goes, never the device */
    gw_guard_open(g, &dev, 100, dip, 0);
    gw_guard_request(g, &dev, 0, 0);
    gw_guard_authenticated(g, &dev);
    for (i = 0; i < 8; i++)
        gw_guard_open(g, &c[i], 10 + i, ip, 1 + i);
    CHECK(n_shut == 4);
    CHECK(was_shut(10) && was_shut(13) && !was_shut(14) && !was_shut(17));
    CHECK(!was_shut(100));
    gw_guard_stats(g, &st);
    CHECK(st.anonymous == 4 && st.evicted == 4 && st.conns == 9);
    /* a request in progress is not evicted (only waiting ones are) */
    gw_guard_request(g, &c[4], 0, 9);
    gw_guard_close(g, &c[0]); /* the server closes what was shut */
    gw_guard_open(g, &c[0], 20, ip, 10);
    CHECK(!was_shut(14) && was_shut(15));
    for (i = 0; i < 8; i++)
        gw_guard_close(g, &c[i]);
    gw_guard_close(g, &dev);
    gw_guard_stats(g, &st);
    CHECK(st.conns == 0 && st.anonymous == 0 && st.addresses == 0);
    gw_guard_free(g);
}

/* At the start of a flood the oldest anonymous connections are devices in
 * the middle of their handshakes: the flood's own address, which holds
 * the most, pays instead. */
static void flood_spares_devices(void)
{
    struct gw_guard *g = mk(100, 5, 100);
    struct gw_guard_conn dev[2], att[6];
    uint8_t d[16], a[16];
    int i;

    v4("10.0.0.20", d);
    v4("10.0.0.21", a);
    for (i = 0; i < 2; i++)
        gw_guard_open(g, &dev[i], 50 + i, d, 100.0 + 0.01 * i);
    for (i = 0; i < 6; i++)
        gw_guard_open(g, &att[i], 60 + i, a, 100.1 + 0.01 * i);
    /* 8 anonymous, cap 5: three go, all the flood's oldest */
    CHECK(n_shut == 3 && !was_shut(50) && !was_shut(51));
    CHECK(was_shut(60) && was_shut(61) && was_shut(62) && !was_shut(63));
    for (i = 0; i < 2; i++)
        gw_guard_close(g, &dev[i]);
    for (i = 0; i < 6; i++)
        gw_guard_close(g, &att[i]);
    gw_guard_free(g);
}

static void per_address(void)
{
    struct gw_guard *g = mk(1000, 1000, 3);
    struct gw_guard_conn c[4];
    uint8_t a[16], b[16];
    int i;

    v4("10.0.0.3", a);
    v4("10.0.0.4", b);
    for (i = 0; i < 3; i++) {
        CHECK(gw_guard_admit(g, a));
        gw_guard_open(g, &c[i], i, a, 0);
    }
    CHECK(!gw_guard_admit(g, a)); /* the fourth from a is refused */
    CHECK(gw_guard_admit(g, b));  /* another address is not affected */
    /* once one of them authenticates, it no longer counts */
    gw_guard_request(g, &c[0], 0, 1);
    gw_guard_authenticated(g, &c[0]);
    CHECK(gw_guard_admit(g, a));
    gw_guard_open(g, &c[3], 3, a, 2);
    CHECK(!gw_guard_admit(g, a));
    gw_guard_close(g, &c[1]);
    CHECK(gw_guard_admit(g, a));
    gw_guard_close(g, &c[0]);
    gw_guard_close(g, &c[2]);
    gw_guard_close(g, &c[3]);
    gw_guard_free(g);

    /* two accepting threads both admit the last place before either
     * connection is counted: the second to be opened is shut at once */
    g = mk(1000, 1000, 3);
    for (i = 0; i < 2; i++) {
        CHECK(gw_guard_admit(g, a));
        gw_guard_open(g, &c[i], i, a, 0);
    }
    CHECK(gw_guard_admit(g, a));
    CHECK(gw_guard_admit(g, a));
    gw_guard_open(g, &c[2], 2, a, 0);
    CHECK(n_shut == 0);
    gw_guard_open(g, &c[3], 3, a, 0);
    CHECK(n_shut == 1 && shut_log[0] == 3);
    CHECK(!gw_guard_admit(g, a));
    for (i = 0; i < 4; i++)
        gw_guard_close(g, &c[i]);
    CHECK(gw_guard_admit(g, a)); /* every place given back */
    gw_guard_free(g);
}

/* Many addresses in and out of a small table: counts stay exact
 * (backward-shift deletion keeps probe runs whole). */
static void address_churn(void)
{
    enum { N = 64 };
    struct gw_guard *g = mk(N + 1, N, 2);
    struct gw_guard_conn c[N];
    struct gw_guard_stats st;
    uint8_t ip[N][16];
    char s[32];
    int i, round;

    for (i = 0; i < N; i++) {
        snprintf(s, sizeof(s), "10.1.%d.%d", i / 7, i * 37 % 251);
        v4(s, ip[i]);
    }
    for (round = 0; round < 50; round++) {
        for (i = 0; i < N; i++)
            gw_guard_open(g, &c[i], i, ip[(i + round) % N], round);
        for (i = 0; i < N; i++)
            CHECK(gw_guard_admit(g, ip[i])); /* one each, under the cap of 2 */
        for (i = round % 2; i < N; i += 2)
            gw_guard_close(g, &c[i]);
        for (i = 1 - round % 2; i < N; i += 2)
            gw_guard_close(g, &c[i]);
    }
    gw_guard_stats(g, &st);
    CHECK(st.addresses == 0 && st.conns == 0);
    gw_guard_free(g);
}

static void uploads(void)
{
    struct gw_guard *g = mk(10, 10, 10);
    struct gw_guard_stats st;

    CHECK(gw_guard_upload_reserve(g, 600));
    CHECK(!gw_guard_upload_reserve(g, 401));
    CHECK(gw_guard_upload_reserve(g, 400));
    CHECK(!gw_guard_upload_reserve(g, 1));
    CHECK(!gw_guard_upload_reserve(g, UINT64_MAX)); /* no wrap-around */
    gw_guard_upload_release(g, 600);
    gw_guard_stats(g, &st);
    CHECK(st.upload_bytes == 400);
    CHECK(gw_guard_upload_reserve(g, 600));
    gw_guard_upload_release(g, 1000);
    gw_guard_free(g);
}

int main(void)
{
    struct gw_guard *g = NULL;
    struct gw_guard_conf c;

    memset(&c, 0, sizeof(c));
    CHECK_RC(gw_guard_new(&g, &c, shut, NULL), BW_E_INVAL);
    CHECK(g == NULL);
    deadlines();
    anonymous_cap();
    flood_spares_devices();
    per_address();
    address_churn();
    uploads();
    T_DONE();
}
