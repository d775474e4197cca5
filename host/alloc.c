/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host allocator (include/bwh/host.h): one cap per call and one
 * failure-injection point for the host library and its programs. The one
 * file that calls malloc & co. (scripts/checksrc keeps the rest away).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwh/host.h"

#define BW_ALLOC_MAX ((size_t)256 << 20)
#define FAIL_UNREAD UINT64_MAX

/*
 * Method: BW_FAIL_ALLOC is read on the first allocation into fail_at
 * (FAIL_UNREAD until then; threads that meet there parse the same text,
 * one stores it). Each allocation takes a ticket from one atomic counter,
 * so the N-th allocation of the process fails, whichever thread makes it,
 * and every later one; no increment is lost between threads.
 */
static _Atomic uint64_t alloc_count;
static _Atomic uint64_t fail_at = FAIL_UNREAD;

static uint64_t fail_threshold(void)
{
    uint64_t v = atomic_load_explicit(&fail_at, memory_order_acquire);
    uint64_t unread = FAIL_UNREAD;
    const char *e;
    int bad = 0;

    if (v != FAIL_UNREAD)
        return v;
    e = getenv("BW_FAIL_ALLOC");
    v = 0; /* unset or empty: off */
    if (e && *e && (bwh_parse_u64(e, &v) != BW_OK || v == FAIL_UNREAD)) {
        v = 1; /* a test hook that cannot be read fails closed: every allocation */
        bad = 1;
    }
    if (atomic_compare_exchange_strong(&fail_at, &unread, v) && bad)
        fprintf(stderr, "bulwark: BW_FAIL_ALLOC=%s is not a decimal count: every "
                        "allocation fails\n", e);
    return atomic_load_explicit(&fail_at, memory_order_acquire);
}

static int alloc_ok(size_t n)
{
    uint64_t at = fail_threshold();
    uint64_t ticket = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;

    if (at > 0 && ticket >= at)
        return 0;
    return n <= BW_ALLOC_MAX;
}

void *bwh_malloc(size_t n)
{
    return alloc_ok(n) ? malloc(n ? n : 1) : NULL;
}

void *bwh_calloc(size_t n, size_t sz)
{
    if (sz && n > BW_ALLOC_MAX / sz)
        return NULL;
    return alloc_ok(n * sz) ? calloc(n ? n : 1, sz ? sz : 1) : NULL;
}

void *bwh_realloc(void *p, size_t n)
{
    return alloc_ok(n) ? realloc(p, n ? n : 1) : NULL;
}

void bwh_free(void *p)
{
    free(p);
}

char *bwh_strndup(const char *s, size_t n)
{
    size_t len = 0;
    char *d;

    if (!s)
        return NULL;
    while (len < n && s[len])
        len++;
    if (len == (size_t)-1)
        return NULL;
    d = bwh_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

char *bwh_strdup(const char *s)
{
    return bwh_strndup(s, (size_t)-1);
}
