/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: security-log records and segments (decode, chain walk, torn-tail rule). */
#include <string.h>

#include "bulwark/bulwark.h"
#include "bwh/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
    const uint8_t *p;
    size_t n;
};

static bw_err m_list(void *c, uint64_t *ids, size_t cap, size_t *n)
{
    (void)c, (void)cap;
    ids[0] = 1;
    *n = 1;
    return BW_OK;
}
static bw_err m_size(void *c, uint64_t id, uint64_t *s)
{
    (void)id;
    *s = ((struct mem *)c)->n;
    return BW_OK;
}
static bw_err m_read(void *c, uint64_t id, uint64_t off, void *b, size_t len)
{
    struct mem *m = c;

    (void)id;
    if (off > m->n || len > m->n - off)
        return BW_E_TRUNCATED;
    memcpy(b, m->p + off, len);
    return BW_OK;
}
static bw_err m_head(void *c, uint8_t *b, size_t cap, size_t *n)
{
    (void)c, (void)b, (void)cap, (void)n;
    return BW_E_NOTFOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mem m = {data, size};
    struct bwh_log_vfs v = {&m, m_list, m_size, m_read, NULL, NULL, NULL, NULL, m_head, NULL, NULL};
    struct bwh_log_record r;
    struct bwh_log_report rep;
    size_t off = 0;

    while (off < size && bwh_log_decode(data + off, size - off, &r) == BW_OK && r.len)
        off += r.len;
    if (bwh_log_verify(&v, NULL, BWH_LOG_NO_SIGS, NULL, NULL, &rep) == BW_OK && rep.records &&
        rep.last_seq < rep.first_seq)
        __builtin_trap(); /* a report that contradicts itself */
    return 0;
}
