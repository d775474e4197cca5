/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta sources (host/delta.c, bwh_delta_src_read): a range read that
 * breaks off is asked again a few times before a delta install gives up
 * and falls back to the full package; a source that resumes by itself is
 * not asked twice; wrong bytes and a server ignoring Range are final.
 */
#include "bwh/delta.h"
#include "t.h"

struct flaky {
    unsigned calls, fail_first;
    bw_err fail;
};

static bw_err flaky_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
    struct flaky *f = ctx;
    size_t i;

    if (f->calls++ < f->fail_first) {
        if (len)
            buf[0] = 0xee; /* what came before the cut: not to be trusted */
        return f->fail;
    }
    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)(off + i);
    return BW_OK;
}

static bw_err read_with(unsigned fail_first, bw_err fail, int resumes, unsigned *calls)
{
    struct flaky f = {0, fail_first, fail};
    struct bwh_delta_src src;
    uint8_t buf[64];
    bw_err rc;

    memset(&src, 0, sizeof(src));
    src.read = flaky_read;
    src.ctx = &f;
    src.resumes = resumes;
    rc = bwh_delta_src_read(&src, 1000, buf, sizeof(buf));
    *calls = f.calls;
    if (!rc && (buf[0] != (uint8_t)1000 || buf[63] != (uint8_t)1063 || src.requests != f.calls))
        return BW_E_STATE;
    return rc;
}

int main(void)
{
    unsigned calls = 0;

    /* a connection reset, then a short answer, then the range */
    CHECK_RC(read_with(2, BW_E_IO, 0, &calls), BW_OK);
    CHECK(calls == 3);
    CHECK_RC(read_with(BWH_DELTA_READ_TRIES - 1, BW_E_TRUNCATED, 0, &calls), BW_OK);
    CHECK(calls == BWH_DELTA_READ_TRIES);
    /* broken every time: given up after the tries */
    CHECK_RC(read_with(100, BW_E_TRUNCATED, 0, &calls), BW_E_TRUNCATED);
    CHECK(calls == BWH_DELTA_READ_TRIES);
    /* wrong bytes, no Range: final at once */
    CHECK_RC(read_with(1, BW_E_FORMAT, 0, &calls), BW_E_FORMAT);
    CHECK(calls == 1);
    CHECK_RC(read_with(1, BW_E_UNSUPPORTED, 0, &calls), BW_E_UNSUPPORTED);
    CHECK(calls == 1);
    /* a source that resumes by itself (the URL source) is asked once */
    CHECK_RC(read_with(1, BW_E_TRUNCATED, 1, &calls), BW_E_TRUNCATED);
    CHECK(calls == 1);
    T_DONE();
}
