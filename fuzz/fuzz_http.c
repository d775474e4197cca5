/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the host library's HTTP/1.1 answer reader (host/http.c,
 * bwh_http_parse) over an answer in memory, as `bulwark install URL` and
 * the agent meet it: status line, 1xx, header fields within the default
 * limits, Content-Range against the Range asked for, Content-Length,
 * chunked and close-delimited bodies within a body cap. The first byte
 * chooses the byte asked for (0 or 100) and the cap (none or 4096). */
#include "bwh/host.h"
#include "bwh/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    uint64_t next;
    int any;
};

static bw_err sink(void *ctx, long status, uint64_t off, const uint8_t *p, size_t n)
{
    struct seen *s = ctx;

    (void)p;
    if (status < 200 || status > 999 || (s->any && off != s->next))
        __builtin_trap(); /* bytes of a final answer, in order */
    s->any = 1;
    s->next = off + n;
    return BW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bwh_net_limits l;
    struct seen s = {0, 0};
    uint64_t from;
    long status = 0;
    char err[320];
    bw_err rc;

    if (!size)
        return 0;
    bwh_net_limits_default(&l);
    l.body_max = data[0] & 2 ? 4096 : 0;
    from = data[0] & 1 ? 100 : 0;
    rc = bwh_http_parse(&l, data + 1, size - 1, from, sink, &s, &status, err, sizeof(err));
    if (rc == BW_OK && (status < 200 || status > 999))
        __builtin_trap(); /* a final answer, never a 1xx */
    if (l.body_max && s.next > l.body_max)
        __builtin_trap();
    if (rc == BW_E_INVAL || rc == BW_E_NOMEM)
        __builtin_trap();
    return 0;
}
