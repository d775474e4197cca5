/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The limits of an HTTP client transfer (include/bwh/host.h): the defaults, the
 * --low-speed syntax, and the meter that checks a transfer against its
 * total deadline, its low-speed window and its header block. Shared by
 * `bulwark install URL` (host/fetch.c) and the agent (agent/net.c); no
 * I/O here, the clients call it as bytes arrive and while they wait.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bwh/host.h"

void bwh_net_limits_default(struct bwh_net_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->connect_s = BWH_NET_CONNECT_S;
    l->low_speed_bytes = BWH_NET_LOW_SPEED_BYTES;
    l->low_speed_s = BWH_NET_LOW_SPEED_S;
    l->total_s = BWH_NET_TOTAL_S;
    l->header_max = BWH_NET_HEADER_MAX;
    l->header_fields_max = BWH_NET_HEADER_FIELDS_MAX;
    l->redirects_max = BWH_NET_REDIRECTS_MAX;
}

bw_err bwh_net_low_speed_parse(const char *s, uint64_t *bytes, unsigned *secs)
{
    char num[32];
    const char *slash = strchr(s, '/');
    uint64_t b, t;

    if (!strcmp(s, "0")) {
        *bytes = 0;
        *secs = 0;
        return BW_OK;
    }
    if (!slash || (size_t)(slash - s) >= sizeof(num))
        return BW_E_FORMAT;
    memcpy(num, s, (size_t)(slash - s));
    num[slash - s] = 0;
    if (bwh_parse_u64(num, &b) || bwh_parse_u64(slash + 1, &t) || t < 1 || t > 86400)
        return BW_E_FORMAT;
    *bytes = b;
    *secs = (unsigned)t;
    return BW_OK;
}

int64_t bwh_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bwh_net_meter_start(struct bwh_net_meter *m, const struct bwh_net_limits *l, int64_t now_ms)
{
    memset(m, 0, sizeof(*m));
    m->l = l;
    m->deadline_ms = now_ms + (int64_t)l->total_s * 1000;
    m->win_t0_ms = now_ms;
}

bw_err bwh_net_meter_check(struct bwh_net_meter *m, int64_t now_ms, uint64_t bytes, char *err,
                          size_t cap)
{
    const struct bwh_net_limits *l = m->l;

    if (now_ms >= m->deadline_ms) {
        snprintf(err, cap, "timed out: the transfer took over %u s (total limit)", l->total_s);
        return BW_E_IO;
    }
    if (l->low_speed_s && l->low_speed_bytes &&
        now_ms - m->win_t0_ms >= (int64_t)l->low_speed_s * 1000) {
        uint64_t got = bytes - m->win_bytes0;

        if (got < l->low_speed_bytes * l->low_speed_s) {
            snprintf(err, cap,
                     "too slow: %llu bytes in the last %u s, under the low-speed limit of "
                     "%llu bytes/s",
                     (unsigned long long)got, l->low_speed_s,
                     (unsigned long long)l->low_speed_bytes);
            return BW_E_IO;
        }
        m->win_t0_ms = now_ms;
        m->win_bytes0 = bytes;
    }
    return BW_OK;
}

int bwh_net_meter_wait_ms(const struct bwh_net_meter *m, int64_t now_ms, int max_ms)
{
    int64_t left = m->deadline_ms - now_ms;

    return left <= 0 ? 0 : left < max_ms ? (int)left : max_ms;
}

void bwh_net_meter_head(struct bwh_net_meter *m)
{
    m->head = 0;
    m->fields = 0;
}

bw_err bwh_net_meter_line(struct bwh_net_meter *m, size_t len, char *err, size_t cap)
{
    m->head += len + 2;
    if (m->head > m->l->header_max) {
        snprintf(err, cap, "header block over %zu bytes (header limit)", m->l->header_max);
        return BW_E_TOOBIG;
    }
    if (len && ++m->fields > m->l->header_fields_max + 1) { /* + the status line */
        snprintf(err, cap, "more than %u header fields (header limit)",
                 m->l->header_fields_max);
        return BW_E_TOOBIG;
    }
    return BW_OK;
}
