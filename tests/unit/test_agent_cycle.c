/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent cycle's pure parts (agent/cycle.c), which the real agent and
 * the fleet simulator share: the check-in body's version precedence, and
 * the one pass over a downloaded package (agent_pkg_pass): the announced
 * SHA-256 and the core's install stream from one read of the file, the
 * bytes read measured by the kernel (/proc/self/io rchar) against the old
 * flow (a digest pass, then bwh_pkg_install reading the file again).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "bwh/host.h"
#include "bwh/tuf.h"
#include "t.h"

#define IMG (1u << 20)
#define CHUNK 4096u
#define NCHUNK (IMG / CHUNK)
#define SLOT (2u << 20)

static const uint8_t vendor[16] = {1, 2, 3}, klass[16] = {4, 5, 6};
static uint8_t img[IMG], slot[2][SLOT];
static struct bw_bootstate bs;

static bw_err f_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    memcpy(buf, (uint8_t *)ctx + off, len);
    return BW_OK;
}

static bw_err f_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    memcpy((uint8_t *)ctx + off, buf, len);
    return BW_OK;
}

static bw_err f_sync(void *ctx)
{
    (void)ctx;
    return BW_OK;
}

static bw_err s_load(void *ctx, struct bw_bootstate *st)
{
    (void)ctx;
    *st = bs;
    return BW_OK;
}

static bw_err s_save(void *ctx, const struct bw_bootstate *st)
{
    (void)ctx;
    bs = *st;
    return BW_OK;
}

/* A device with factory image 1 confirmed in slot a; empty slots. */
struct dev {
    struct bw_flash a, b;
    struct bw_bootstore store;
    struct bw_update u;
};

static void dev_new(struct dev *d)
{
    memset(d, 0, sizeof(*d));
    memset(slot, 0, sizeof(slot));
    bw_bootstate_init(&bs);
    bs.active = bs.booted = BW_SLOT_A;
    bs.confirmed = 1;
    bs.slot_sequence[BW_SLOT_A] = 1;
    bs.slot_size[BW_SLOT_A] = 1;
    bs.highest_sequence = 1;
    d->a.ctx = slot[0];
    d->b.ctx = slot[1];
    d->a.size = d->b.size = SLOT;
    d->a.write_align = d->b.write_align = 1;
    d->a.read = d->b.read = f_read;
    d->a.write = d->b.write = f_write;
    d->a.sync = d->b.sync = f_sync;
    d->store.load = s_load;
    d->store.save = s_save;
    CHECK_RC(bw_update_open(&d->u, &d->a, &d->b, &d->store), BW_OK);
}

/* Writes envelope || chunk list || image to path, signed with key; hex
 * gets the file's SHA-256; *size its length. */
static void make_pkg(const char *path, const struct bw_ec_key *key, char hex[65], uint64_t *size)
{
    static uint8_t env[8192], list[NCHUNK * 32];
    struct bw_suit_build b;
    struct bw_sha256 h;
    struct bw_wr w;
    uint8_t dig[BW_SHA256_LEN];
    uint32_t i;
    int fd;

    for (i = 0; i < NCHUNK; i++)
        CHECK_RC(bw_sha256(img + i * CHUNK, CHUNK, list + 32 * i), BW_OK);
    memset(&b, 0, sizeof(b));
    b.sequence = 2;
    b.vendor_id = vendor;
    b.class_id = klass;
    b.image_size = IMG;
    CHECK_RC(bw_sha256(img, IMG, b.image_digest), BW_OK);
    b.with_chunks = 1;
    b.chunk_size = CHUNK;
    CHECK_RC(bw_sha256(list, sizeof(list), b.chunk_list_digest), BW_OK);
    bw_wr_init(&w, env, sizeof(env));
    CHECK_RC(bw_suit_build(&w, &b, key), BW_OK);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK_RC(bwh_write_full(fd, env, w.len), BW_OK);
    CHECK_RC(bwh_write_full(fd, list, sizeof(list)), BW_OK);
    CHECK_RC(bwh_write_full(fd, img, IMG), BW_OK);
    close(fd);
    CHECK_RC(bw_sha256_init(&h), BW_OK);
    CHECK_RC(bw_sha256_update(&h, env, w.len), BW_OK);
    CHECK_RC(bw_sha256_update(&h, list, sizeof(list)), BW_OK);
    CHECK_RC(bw_sha256_update(&h, img, IMG), BW_OK);
    CHECK_RC(bw_sha256_final(&h, dig), BW_OK);
    bw_hex(hex, dig, BW_SHA256_LEN);
    *size = w.len + sizeof(list) + IMG;
}

/* Bytes this process has read through read() and the like so far
 * (/proc/self/io rchar: page-cache hits count, unlike read_bytes). */
static uint64_t rchar(void)
{
    uint8_t *buf = NULL;
    size_t len;
    uint64_t v = 0;
    char *p;

    if (bwh_read_file("/proc/self/io", 4096, &buf, &len))
        return 0;
    buf[len - 1] = 0;
    p = strstr((char *)buf, "rchar: ");
    if (p) {
        p += 7;
        p[strcspn(p, "\n")] = 0;
        if (bwh_parse_u64(p, &v))
            v = 0;
    }
    bwh_free(buf);
    return v;
}

/* The flow before the one pass: the part file hashed for the announced
 * digest, then opened again and installed by bwh_pkg_install. */
static bw_err old_flow(const char *path, const struct bw_ec_key *key, struct dev *d)
{
    struct bw_suit_expect e = {vendor, klass, 0};
    struct bwh_progress prog;
    struct bwh_pkg_opts o;
    struct bwh_pkg p;
    struct bw_sha256 h;
    uint8_t buf[65536], dig[BW_SHA256_LEN];
    const char *stage;
    size_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bw_err rc;

    CHECK(fd >= 0);
    CHECK_RC(bw_sha256_init(&h), BW_OK);
    do {
        CHECK_RC(bwh_read_full(fd, buf, sizeof(buf), &r), BW_OK);
        CHECK_RC(bw_sha256_update(&h, buf, r), BW_OK);
    } while (r == sizeof(buf));
    CHECK_RC(bw_sha256_final(&h, dig), BW_OK);
    close(fd);
    memset(&prog, 0, sizeof(prog));
    memset(&o, 0, sizeof(o));
    o.prog = &prog;
    rc = bwh_pkg_open(&p, path, key, BW_SUIT_ENVELOPE_MAX);
    if (!rc)
        rc = bwh_pkg_install(&p, &d->u, &e, &o, &stage);
    bwh_pkg_close(&p);
    return rc;
}

static void checkin_version(void)
{
    struct agent_conf c;
    struct agent_state s;
    char *body;

    memset(&c, 0, sizeof(c));
    agent_state_init(&s);
    snprintf(c.attributes, sizeof(c.attributes), "group=lab,hw=x1");
    body = agent_checkin_body(&c, &s, 7);
    CHECK(body && !strcmp(body, "{\"version\":\"sequence 7\",\"sequence\":7,"
                                "\"attributes\":{\"group\":\"lab\",\"hw\":\"x1\"}}"));
    free(body);
    /* a confirmed release names the version */
    snprintf(s.version, sizeof(s.version), "fw-2");
    body = agent_checkin_body(&c, &s, 2);
    CHECK(body && strstr(body, "\"version\":\"fw-2\""));
    free(body);
    /* agent.conf's version wins over the release (the agent's rule; the
     * simulator's own copy had it the other way round) */
    snprintf(c.version, sizeof(c.version), "pinned-1");
    body = agent_checkin_body(&c, &s, 2);
    CHECK(body && strstr(body, "\"version\":\"pinned-1\""));
    free(body);
}

/* A secondary's state line (agent/secondary.c): all nine fields, once. */
static void secondary_state(void)
{
    struct bw_bootstate st;
    uint64_t counter;

    CHECK_RC(agent_secondary_parse_state("booted=A active=B trial=A left=2 seqA=2 seqB=1 floor=2 "
                                         "counter=1 confirmed=0", &st, &counter), BW_OK);
    CHECK(st.booted == BW_SLOT_A && st.active == BW_SLOT_B && st.trial == BW_SLOT_A &&
          st.trial_boots_left == 2 && st.slot_sequence[0] == 2 && st.slot_sequence[1] == 1 &&
          st.highest_sequence == 2 && counter == 1 && !st.confirmed);
    CHECK_RC(agent_secondary_parse_state("booted=B active=B trial=- left=0 seqA=- seqB=1 floor=1 "
                                         "counter=4 confirmed=1", &st, &counter), BW_OK);
    CHECK(st.trial == BW_SLOT_NONE && st.slot_sequence[0] == BW_SEQ_EMPTY &&
          st.highest_sequence == 4 && st.confirmed == 1); /* the counter is the floor */
    CHECK_RC(agent_secondary_parse_state("booted=B active=B trial=- left=0 seqA=- seqB=1 floor=1 "
                                         "counter=4", &st, &counter), BW_E_FORMAT);
    CHECK_RC(agent_secondary_parse_state("booted=B active=B trial=- left=0 seqA=- seqB=1 floor=1 "
                                         "counter=4 confirmed=1 left=1", &st, &counter), BW_E_FORMAT);
    CHECK_RC(agent_secondary_parse_state("booted=- active=B trial=- left=0 seqA=- seqB=1 floor=1 "
                                         "counter=4 confirmed=1", &st, &counter), BW_E_FORMAT);
    CHECK_RC(agent_secondary_parse_state("booted=B active=B trial=- left=0 seqA=-1 seqB=1 floor=1 "
                                         "counter=4 confirmed=1", &st, &counter), BW_E_FORMAT);
    CHECK_RC(agent_secondary_parse_state("booted=B active=B trial=- left=0 seqA=- seqB=1 floor=1 "
                                         "counter=4 confirmed=2", &st, &counter), BW_E_FORMAT);
}

int main(void)
{
    char dir[] = "/tmp/bw-agent-cycle-XXXXXX", path[64], hex[65], bad[65];
    struct bw_ec_key key, other;
    struct agent_dev ad;
    struct dev d;
    const char *stage = NULL;
    uint64_t size = 0, nread = 0, before, after, old_read, new_read;
    uint32_t i;
    int fd;

    checkin_version();

    for (i = 0; i < IMG; i++)
        img[i] = (uint8_t)(i * 31 + (i >> 12));
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pkg.part", dir);
    bw_ec_key_init(&key);
    bw_ec_key_init(&other);
    CHECK_RC(bw_ec_generate(&key), BW_OK);
    CHECK_RC(bw_ec_generate(&other), BW_OK);
    make_pkg(path, &key, hex, &size);

    /* before: the digest pass and the install each read the file */
    dev_new(&d);
    before = rchar();
    CHECK_RC(old_flow(path, &key, &d), BW_OK);
    after = rchar();
    old_read = after - before;
    CHECK(d.u.st.trial == BW_SLOT_B);

    /* now: one pass; the file is read at most once */
    dev_new(&d);
    memset(&ad, 0, sizeof(ad));
    ad.u = &d.u;
    ad.key = &key;
    ad.vendor_id = vendor;
    ad.class_id = klass;
    fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    before = rchar();
    CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_OK);
    after = rchar();
    new_read = after - before;
    printf("package %" PRIu64 " bytes: read %" PRIu64 " bytes before (digest pass + install), %"
           PRIu64 " with the one pass\n",
           size, old_read, new_read);
    CHECK(nread == size);
    CHECK(new_read <= size + 4096); /* slack: the read of /proc/self/io itself */
    CHECK(d.u.st.trial == BW_SLOT_B && d.u.st.slot_sequence[BW_SLOT_B] == 2);
    CHECK(!memcmp(slot[1], img, IMG));

    /* download-only: the digest alone, one read */
    CHECK_RC(agent_pkg_pass(fd, size, hex, NULL, &stage, &nread), BW_OK);
    CHECK(nread == size);

    /* with TUF: the authenticated manifest must be the signed target's
     * vendor, class and sequence; another is refused before a byte of the
     * slot is written */
    {
        struct bwh_tuf_target tg;

        memset(&tg, 0, sizeof(tg));
        bwh_uuid_format(tg.vendor_id, vendor);
        bwh_uuid_format(tg.class_id, klass);
        tg.has_custom = tg.has_sequence = 1;
        tg.sequence = 2;
        ad.tuf = &tg;
        dev_new(&d);
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_OK);
        CHECK(d.u.st.trial == BW_SLOT_B);
        tg.sequence = 3;
        dev_new(&d);
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_E_STATE);
        CHECK(!strcmp(stage, "tuf target") && d.u.st.trial == BW_SLOT_NONE);
        tg.sequence = 2;
        tg.vendor_id[0] = tg.vendor_id[0] == '0' ? '1' : '0';
        dev_new(&d);
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_E_VENDOR);
        bwh_uuid_format(tg.vendor_id, vendor);
        tg.class_id[0] = tg.class_id[0] == '0' ? '1' : '0';
        dev_new(&d);
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_E_CLASS);
        CHECK(d.u.st.trial == BW_SLOT_NONE);
        ad.tuf = NULL;
    }

    /* a genuine package that is not the announced one: refused as a
     * download, the slot not marked */
    memcpy(bad, hex, sizeof(bad));
    bad[0] = bad[0] == '0' ? '1' : '0';
    dev_new(&d);
    CHECK_RC(agent_pkg_pass(fd, size, bad, &ad, &stage, &nread), BW_E_DIGEST);
    CHECK(!strcmp(stage, "download") && d.u.st.trial == BW_SLOT_NONE && nread == size);
    CHECK_RC(agent_pkg_pass(fd, size + 1, hex, &ad, &stage, &nread), BW_E_SIZE);

    /* a byte changed in chunk 100: named by the announced digest; the
     * chunk never reached the slot (no unverified byte written) */
    {
        uint8_t x = (uint8_t)(img[100 * CHUNK + 5] ^ 0x5a);
        off_t at = (off_t)(size - IMG + 100 * CHUNK + 5);

        CHECK(pwrite(fd, &x, 1, at) == 1);
        dev_new(&d);
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_E_DIGEST);
        CHECK(!strcmp(stage, "download") && nread == size);
        CHECK(d.u.st.trial == BW_SLOT_NONE && slot[1][100 * CHUNK + 5] != x);
        x ^= 0x5a; /* restored */
        CHECK(pwrite(fd, &x, 1, at) == 1);
    }

    /* a secondary (remote): the package is verified here and nothing is
     * written; its own floor refuses a rollback before a byte is sent */
    {
        struct bw_update mu;

        memset(&mu, 0, sizeof(mu));
        dev_new(&d);
        mu.st = d.u.st;
        mu.target = BW_SLOT_B;
        ad.u = &mu;
        ad.remote = 1;
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_OK);
        CHECK(nread == size && mu.st.trial == BW_SLOT_NONE && d.u.st.trial == BW_SLOT_NONE);
        for (i = 0; i < IMG && !slot[1][i]; i++)
            ;
        CHECK(i == IMG); /* no slot written */
        mu.st.highest_sequence = 3;
        CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_E_ROLLBACK);
        CHECK(!strcmp(stage, "device check"));
        mu.st.highest_sequence = 1;
        bad[0] = hex[0] == '0' ? '1' : '0';
        memcpy(bad + 1, hex + 1, sizeof(bad) - 1);
        CHECK_RC(agent_pkg_pass(fd, size, bad, &ad, &stage, &nread), BW_E_DIGEST);
        CHECK(!strcmp(stage, "download"));
        ad.u = &d.u;
        ad.remote = 0;
    }
    secondary_state();

    /* the announced package, signed by a key the device does not trust */
    close(fd);
    make_pkg(path, &other, hex, &size);
    fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    dev_new(&d);
    CHECK_RC(agent_pkg_pass(fd, size, hex, &ad, &stage, &nread), BW_E_BADSIG);
    CHECK(!strcmp(stage, "envelope") && nread == size && d.u.st.trial == BW_SLOT_NONE);
    close(fd);

    (void)unlink(path);
    (void)rmdir(dir);
    bw_ec_key_clear(&key);
    bw_ec_key_clear(&other);
    T_DONE();
}
