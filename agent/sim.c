/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory fleet simulator (bulwark-agent --simulate N): N devices in
 * one process for tests and load runs against a real gateway. Each device
 * has its own P-256 key and certificate (minted here from a manufacturing
 * CA, with registry lines the gateway imports), its transport kept
 * between cycles with its TLS session and connection and one device token
 * per connection (agent/net.c, as the daemon), and in-memory slots: a boot
 * state per device driven by the real install engine over slots that keep
 * no bytes. Each device runs the agent's own cycle (agent/cycle.c) in the
 * environment below; this file has no rules of its own. Not the daemon:
 * one policy (automatic), a health check that passes, no security log, no
 * partial downloads kept across a broken transfer.
 * Method: a download goes into the worker thread's memfd (one package in
 * memory per thread, never one per device) and is read once by the
 * cycle's pass (announced SHA-256 and the core's install stream) into a
 * slot that only counts the bytes. What a device keeps is its boot state
 * (sequence, size and digest per slot, trial, confirm) and its agent
 * state (action, phase, report owed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "bwh/identity.h"
#include "bwh/device.h"
#include "bwh/host.h"
#include "bwh/tlsclient.h"
#include "net.h"

/* One simulated device: about 1.7 KiB, and its kept transport (net). */
struct fdev {
    struct agent_slot at;   /* its place in the schedule */
    struct bw_bootstate st; /* its boot state: slots, trial, confirm, floor */
    struct agent_state s;   /* what its agent remembers */
    /* enroll = true: its operational certificate (FLEET_DIR/ID/op.crt) */
    struct agent_est est;
    int64_t op_until;  /* notAfter of the one it holds, 0: none yet */
    unsigned renewals; /* times a certificate was replaced by a newer one */
    unsigned lapses;   /* ... after the one it replaced had expired */
    struct agent_net *net; /* its transport, kept between its cycles (agent_net_keep) */
};

static struct {
    const struct agent_conf *c;
    const struct agent_sim_opts *o;
    struct bwh_device_conf dc;
    struct fdev *dev;
    size_t n;
    unsigned threads;
    pthread_mutex_t lock;
    struct bwh_ca *ca;
    int reg_fd;
    SSL_CTX *tls; /* the gateway's CA, shared by every device's connections */
    /* counters, under lock */
    unsigned long errors, installed, confirmed, failed, reports, minted;
    unsigned long enrolled, renewed, lapsed; /* operational certificates */
    uint64_t bytes;
} F = {.lock = PTHREAD_MUTEX_INITIALIZER, .reg_fd = -1};

static void count(unsigned long *what, unsigned long k)
{
    pthread_mutex_lock(&F.lock);
    *what += k;
    pthread_mutex_unlock(&F.lock);
}

static void dev_id(size_t i, char *out, size_t cap)
{
    snprintf(out, cap, "%.40s%06zu", F.o->id_prefix, i + 1);
}

/* DIR/ID/ as `bulwark provision --count` lays a device out (bench_gwpoll
 * reads the same layout): device.key, storage.key, device.crt. */
static void dev_paths(size_t i, char *key_uri, size_t kcap, char *cert, size_t ccap)
{
    char id[64];

    dev_id(i, id, sizeof(id));
    if (key_uri)
        snprintf(key_uri, kcap, "file:%.1900s/%s/device.key?storage-key=%.1900s/%s/storage.key",
                 F.o->fleet_dir, id, F.o->fleet_dir, id);
    if (cert)
        snprintf(cert, ccap, "%.3900s/%s/device.crt", F.o->fleet_dir, id);
}

/* --- identities --------------------------------------------------------------------- */

/* A key, a certificate from the CA and a registry line for device i, unless
 * its certificate exists already (a device keeps its identity across runs). */
static bw_err mint(size_t i)
{
    char id[64], uri[4096], cert_path[4096], fpr[65], serial[33], pubhex[2 * BW_P256_PUB_LEN + 1];
    char *csr = NULL, *cert = NULL, *line = NULL;
    struct bwh_devkey *k = NULL;
    struct bwh_cert_info info;
    struct stat stt;
    json_t *o = NULL;
    bw_err rc;

    dev_id(i, id, sizeof(id));
    dev_paths(i, uri, sizeof(uri), cert_path, sizeof(cert_path));
    if (stat(cert_path, &stt) == 0)
        return BW_OK;
    {
        char dir[4096];

        snprintf(dir, sizeof(dir), "%.4000s/%s", F.o->fleet_dir, id);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            rc = BW_E_IO;
            goto out;
        }
    }
    rc = bwh_devkey_open(uri, &k);
    if (!rc)
        rc = bwh_devkey_generate(k, 1);
    if (!rc)
        rc = bwh_csr_make(k, id, "bulwark fleet simulator", &csr);
    if (!rc) {
        pthread_mutex_lock(&F.lock); /* one CA key: issue one at a time */
        rc = bwh_ca_issue(F.ca, csr, id, 3650, &cert, &info);
        pthread_mutex_unlock(&F.lock);
    }
    if (rc)
        goto out;
    bw_hex(fpr, info.fingerprint, sizeof(info.fingerprint));
    bw_hex(serial, info.serial, sizeof(info.serial));
    bw_hex(pubhex, info.pub, sizeof(info.pub));
    o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "device_id", id, "serial", serial,
                  "fingerprint_sha256", fpr, "public_key", pubhex, "key_backend", "file",
                  "not_before", (json_int_t)info.not_before, "not_after",
                  (json_int_t)info.not_after, "provisioned_at", (json_int_t)time(NULL),
                  "certificate", cert);
    rc = BW_E_NOMEM;
    if (!o || !(line = json_dumps(o, JSON_COMPACT)))
        goto out;
    pthread_mutex_lock(&F.lock);
    rc = bwh_write_full(F.reg_fd, line, strlen(line));
    if (!rc)
        rc = bwh_write_full(F.reg_fd, "\n", 1);
    pthread_mutex_unlock(&F.lock);
    /* the certificate last: its presence means the device is done */
    if (!rc)
        rc = bwh_write_file_atomic(cert_path, cert, strlen(cert), 0644);
    if (!rc)
        count(&F.minted, 1);
out:
    if (rc)
        fprintf(stderr, "bulwark-agent: simulated device %s: identity: %s\n", id, bw_strerror(rc));
    json_decref(o);
    bwh_free(line);
    bwh_free(csr);
    bwh_free(cert);
    bwh_devkey_close(k);
    return rc;
}

static void *mint_thread(void *arg)
{
    size_t i;

    for (i = (size_t)(uintptr_t)arg; i < F.n && !agent_stopping; i += F.threads)
        if (mint(i))
            count(&F.errors, 1);
    return NULL;
}

static bw_err identities(void)
{
    char ca_crt[4096], ca_key[4096], reg[4096];
    pthread_t tid[256];
    struct stat stt;
    unsigned t, started;
    bw_err rc;

    if (mkdir(F.o->fleet_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bulwark-agent: %s: %s\n", F.o->fleet_dir, strerror(errno));
        return BW_E_IO;
    }
    snprintf(ca_crt, sizeof(ca_crt), "%.4000s/ca.crt", F.o->ca_dir);
    snprintf(ca_key, sizeof(ca_key), "%.4000s/ca.key", F.o->ca_dir);
    snprintf(reg, sizeof(reg), "%.4000s/registry.jsonl", F.o->fleet_dir);
    if (stat(ca_key, &stt) != 0 && (rc = bwh_ca_create(F.o->ca_dir, "bulwark fleet simulator", 3650))) {
        fprintf(stderr, "bulwark-agent: --ca-dir %s: cannot create a CA: %s\n", F.o->ca_dir,
                bw_strerror(rc));
        return rc;
    }
    if ((rc = bwh_ca_open(ca_crt, ca_key, &F.ca))) {
        fprintf(stderr, "bulwark-agent: --ca-dir %s: %s\n", F.o->ca_dir, bw_strerror(rc));
        return rc;
    }
    F.reg_fd = open(reg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (F.reg_fd < 0) {
        fprintf(stderr, "bulwark-agent: %s: %s\n", reg, strerror(errno));
        return BW_E_IO;
    }
    for (started = 0; started < F.threads; started++)
        if (pthread_create(&tid[started], NULL, mint_thread, (void *)(uintptr_t)started) != 0)
            break;
    for (t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    (void)fdatasync(F.reg_fd);
    close(F.reg_fd);
    F.reg_fd = -1;
    bwh_ca_free(F.ca);
    F.ca = NULL;
    return F.errors || started == 0 ? BW_E_IO : BW_OK;
}

/* --- the device: in-memory slots and boot state -------------------------------------- */

/* A slot that keeps no bytes: it receives only verified payload and
 * counts it; the boot state records what was installed. */
static bw_err slot_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    (void)ctx, (void)off, (void)buf, (void)len;
    return BW_E_IO; /* the engine never reads a slot */
}

static bw_err slot_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    (void)off, (void)buf;
    *(uint64_t *)ctx += len;
    return BW_OK;
}

static bw_err slot_sync(void *ctx)
{
    (void)ctx;
    return BW_OK;
}

static bw_err store_load(void *ctx, struct bw_bootstate *st)
{
    *st = *(const struct bw_bootstate *)ctx;
    return BW_OK;
}

static bw_err store_save(void *ctx, const struct bw_bootstate *st)
{
    *(struct bw_bootstate *)ctx = *st;
    return BW_OK;
}

/* The engine over device d's in-memory state. */
struct engine {
    uint64_t written;
    struct bw_flash a, b;
    struct bw_bootstore store;
    struct bw_update u;
};

static bw_err engine_open(struct engine *e, struct fdev *d)
{
    memset(e, 0, sizeof(*e));
    e->a.ctx = e->b.ctx = &e->written;
    e->a.size = e->b.size = F.dc.slot_size;
    e->a.write_align = e->b.write_align = 1;
    e->a.read = e->b.read = slot_read;
    e->a.write = e->b.write = slot_write;
    e->a.sync = e->b.sync = slot_sync;
    e->store.ctx = &d->st;
    e->store.load = store_load;
    e->store.save = store_save;
    if (bw_update_open(&e->u, &e->a, &e->b, &e->store))
        return BW_E_STATE;
    e->u.trial_boots = (uint8_t)(F.dc.trial_boots ? F.dc.trial_boots : BW_TRIAL_BOOTS_DEFAULT);
    return BW_OK;
}

/* The factory image: sequence F.o->factory_sequence, installed and
 * confirmed in slot a. */
static void dev_init(struct fdev *d)
{
    memset(d, 0, sizeof(*d));
    bw_bootstate_init(&d->st);
    d->st.active = d->st.booted = BW_SLOT_A;
    d->st.confirmed = 1;
    d->st.slot_sequence[BW_SLOT_A] = F.o->factory_sequence;
    d->st.slot_size[BW_SLOT_A] = 1;
    d->st.highest_sequence = F.o->factory_sequence;
    agent_state_init(&d->s);
}

/* --- the device's environment for the agent cycle ------------------------------------ */

/* What a worker thread owns: the memfd downloads go into, its copy of
 * the release key, and the device it runs now with its engine. */
struct worker {
    int fd;
    struct bw_ec_key rel;
    size_t i;
    struct engine e;
    char tag[72];
};

static bw_err sim_load(void *ctx, struct agent_state *s)
{
    *s = F.dev[((struct worker *)ctx)->i].s;
    return BW_OK;
}

static bw_err sim_save(void *ctx, const struct agent_state *s)
{
    F.dev[((struct worker *)ctx)->i].s = *s;
    return BW_OK;
}

static bw_err sim_dev_open(void *ctx, int with_key, int exclusive, struct agent_dev *d,
                           const char **what)
{
    struct worker *w = ctx;

    (void)with_key, (void)exclusive; /* one thread runs a device: no lock */
    *what = "boot state";
    if (engine_open(&w->e, &F.dev[w->i]))
        return BW_E_STATE;
    d->u = &w->e.u;
    d->key = &w->rel;
    d->vendor_id = F.dc.vendor_id;
    d->class_id = F.dc.class_id;
    return BW_OK;
}

static void sim_dev_close(void *ctx)
{
    (void)ctx; /* the engine's state is saved by the engine */
}

/* The thread's memfd, from byte 0: a broken download starts over. */
static bw_err sim_part_open(void *ctx, const char *sha256, int *fd)
{
    struct worker *w = ctx;

    (void)sha256;
    if (ftruncate(w->fd, 0) != 0 || (*fd = dup(w->fd)) < 0)
        return BW_E_IO;
    return BW_OK;
}

static void sim_part_drop(void *ctx, const char *sha256)
{
    (void)sha256;
    if (ftruncate(((struct worker *)ctx)->fd, 0) != 0) /* give the memory back */
        fprintf(stderr, "bulwark-agent: simulator: memfd: %s\n", strerror(errno));
}

/* FLEET_DIR/ID: where the device keeps its operational certificate */
static void dev_dir(size_t i, char *out, size_t cap)
{
    char id[64];

    dev_id(i, id, sizeof(id));
    snprintf(out, cap, "%.4000s/%s", F.o->fleet_dir, id);
}

static bw_err sim_net_open(void *ctx, struct agent_net **n)
{
    struct worker *w = ctx;
    struct agent_ident who;
    char id[64], uri[4096], cert[4096], dir[4096];
    bw_err rc;

    dev_id(w->i, id, sizeof(id));
    dev_paths(w->i, uri, sizeof(uri), cert, sizeof(cert));
    dev_dir(w->i, dir, sizeof(dir));
    agent_est_ident(F.c, dir, uri, cert, (int64_t)time(NULL), &who);
    rc = agent_net_keep(&F.dev[w->i].net, F.c, F.tls, who.key, who.cert, id);
    *n = F.dev[w->i].net;
    return rc;
}

/* as the daemon: the session, and the connection with keep_connection,
 * stay with the device until its next cycle */
static void sim_net_done(void *ctx, struct agent_net *n)
{
    (void)ctx;
    agent_net_idle(n);
}

/* enroll = true: the device's certificate step before its cycle, and
 * what came of it: a first certificate, a renewal, or a renewal after
 * the old one had expired (a lapse: the device was locked out of the
 * device API meanwhile, unless its birth certificate was still taken). */
static void est_step(struct worker *w, size_t i)
{
    struct fdev *d = &F.dev[i];
    struct agent_ident who;
    struct bwh_cert_info info;
    char id[64], uri[4096], cert[4096], dir[4096];
    uint8_t *pem = NULL;
    size_t len = 0;
    int64_t now;

    dev_id(i, id, sizeof(id));
    dev_paths(i, uri, sizeof(uri), cert, sizeof(cert));
    dev_dir(i, dir, sizeof(dir));
    if (agent_est_step(F.c, &d->est, dir, uri, cert, id, (int64_t)time(NULL),
                       F.o->verbose ? stdout : NULL, w->tag) == BW_E_NOMEM)
        count(&F.errors, 1);
    now = (int64_t)time(NULL);
    agent_est_ident(F.c, dir, uri, cert, now, &who);
    if (!who.operational || bwh_read_file(who.cert, 65536, &pem, &len) ||
        bwh_cert_info((const char *)pem, len, &info)) {
        bwh_free(pem);
        return;
    }
    bwh_free(pem);
    if ((int64_t)info.not_after == d->op_until)
        return;
    pthread_mutex_lock(&F.lock);
    if (!d->op_until) {
        F.enrolled++;
    } else {
        d->renewals++;
        F.renewed += d->renewals == 1;
        if (F.o->until_renewed && F.renewed == F.n)
            agent_stopping = 1; /* every device renewed: the run has shown what it is for */
        if (d->op_until <= now) {
            d->lapses++;
            F.lapsed += d->lapses == 1;
        }
    }
    pthread_mutex_unlock(&F.lock);
    d->op_until = (int64_t)info.not_after;
}

static int sim_health(void *ctx, int slot)
{
    (void)ctx, (void)slot;
    return 0; /* the simulated image is healthy */
}

/* The reboot: the bootloader's boot step picks the trial slot, and the
 * device's agent runs again at once. */
static int sim_reboot(void *ctx)
{
    struct worker *w = ctx;
    uint8_t slot;

    if (engine_open(&w->e, &F.dev[w->i]) || bw_update_boot(&w->e.u, &slot))
        fprintf(stderr, "bulwark-agent: %ssimulated reboot: no slot to boot\n", w->tag);
    return 1;
}

static int64_t sim_clock(void *ctx)
{
    (void)ctx;
    return agent_clock();
}

static void sim_count(void *ctx, enum agent_count what, uint64_t n)
{
    (void)ctx;
    pthread_mutex_lock(&F.lock);
    switch (what) {
    case AGENT_N_INSTALLED: F.installed += n; break;
    case AGENT_N_CONFIRMED: F.confirmed += n; break;
    case AGENT_N_REPORTS: F.reports += n; break;
    case AGENT_N_FAILURES: F.failed += n; break;
    case AGENT_N_BYTES: F.bytes += n; break;
    }
    pthread_mutex_unlock(&F.lock);
}

/* One cycle of device i: the agent's cycle in the device's environment.
 * *poll: the next wait, 0 right after a simulated reboot. */
static bw_err cycle(struct worker *w, size_t i, uint64_t *poll)
{
    struct agent_env env;
    char id[64];

    w->i = i;
    dev_id(i, id, sizeof(id));
    snprintf(w->tag, sizeof(w->tag), "%.60s: ", id);
    memset(&env, 0, sizeof(env));
    env.c = F.c;
    env.ctx = w;
    env.tag = w->tag;
    env.out = F.o->verbose ? stdout : NULL;
    env.load = sim_load;
    env.save = sim_save;
    env.dev_open = sim_dev_open;
    env.dev_close = sim_dev_close;
    env.part_open = sim_part_open;
    env.part_drop = sim_part_drop;
    env.net_open = sim_net_open;
    env.net_done = sim_net_done;
    env.health = sim_health;
    env.reboot = sim_reboot;
    env.clock = sim_clock;
    env.count = sim_count;
    if (F.c->enroll) {
        char dir[4096];
        bw_err rc;

        est_step(w, i);
        rc = agent_run_cycle(&env, poll);
        /* wake up for the renewal or the retry if the next poll would
         * come later */
        dev_dir(i, dir, sizeof(dir));
        *poll = agent_est_clamp(F.c, &F.dev[i].est, dir, (int64_t)time(NULL), *poll);
        return rc;
    }
    return agent_run_cycle(&env, poll);
}

static struct agent_slot *sim_slot(void *ctx, size_t i)
{
    (void)ctx;
    return &F.dev[i].at;
}

static const struct agent_conf *sim_conf(void *ctx, size_t i)
{
    (void)ctx, (void)i;
    return F.c;
}

/* A worker thread's own: a memfd for downloads, the release key. */
static bw_err sim_thread_init(void *ctx, void **tctx)
{
    struct worker *w = bwh_calloc(1, sizeof(*w));

    (void)ctx;
    *tctx = w;
    if (!w)
        return BW_E_NOMEM;
    bw_ec_key_init(&w->rel);
    w->fd = memfd_create("bulwark-sim", MFD_CLOEXEC);
    if (w->fd < 0 || bwh_load_key(F.dc.release_pub, 0, &w->rel)) {
        fprintf(stderr, "bulwark-agent: simulator thread: no memfd or release key %s\n",
                F.dc.release_pub);
        if (w->fd >= 0)
            close(w->fd);
        bw_ec_key_clear(&w->rel);
        bwh_free(w);
        *tctx = NULL;
        return BW_E_IO;
    }
    return BW_OK;
}

static void sim_thread_fini(void *tctx)
{
    struct worker *w = tctx;

    close(w->fd);
    bw_ec_key_clear(&w->rel);
    bwh_free(w);
}

static bw_err sim_cycle(void *ctx, void *tctx, size_t i, uint64_t *poll)
{
    (void)ctx;
    return cycle(tctx, i, poll);
}

int agent_simulate_n(const struct agent_conf *c, const struct agent_sim_opts *o)
{
    struct agent_sched sc;
    unsigned started;
    uint64_t conns = 0, resumed = 0; /* TLS connections the devices opened, resumed */
    double t0, secs;
    size_t i;
    int st;

    F.c = c;
    F.o = o;
    F.n = (size_t)o->n;
    F.threads = o->threads < 1 ? 1 : o->threads > 256 ? 256 : o->threads;
    if (F.threads > F.n)
        F.threads = (unsigned)F.n;
    if (c->policy != POLICY_AUTOMATIC || c->window_start >= 0 || *c->health_command) {
        fprintf(stderr, "bulwark-agent: --simulate N runs the automatic policy only, with no "
                        "window and no health command\n");
        return 2;
    }
    if (bwh_device_conf_load(&F.dc, c->device_config))
        return 1;
    t0 = bwh_now();
    if (identities())
        return 1;
    if (o->prepare) {
        printf("simulated fleet: %zu devices in %s (%lu new identities, %.1f s); registry lines "
               "in %s/registry.jsonl, client CA %s/ca.crt\n",
               F.n, o->fleet_dir, F.minted, bwh_now() - t0, o->fleet_dir, o->ca_dir);
        return 0;
    }
    {
        /* a kept connection per device is a descriptor per device: the
         * soft limit goes up to the hard one (root raises that first) */
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    F.dev = bwh_calloc(F.n, sizeof(*F.dev));
    if (!F.dev) {
        fprintf(stderr, "bulwark-agent: --simulate %zu: out of memory\n", F.n);
        return 1;
    }
    {
        char err[320];

        if (bwh_tls_ctx_new(&F.tls, c->ca_cert, NULL, NULL, 0, err, sizeof(err))) {
            fprintf(stderr, "bulwark-agent: simulator: %s\n", err);
            bwh_free(F.dev);
            F.dev = NULL;
            return 1;
        }
    }
    t0 = bwh_now();
    for (i = 0; i < F.n; i++) {
        dev_init(&F.dev[i]);
        /* first cycles spread evenly over --spread seconds */
        F.dev[i].at.next = t0 + o->spread * (double)i / (double)F.n;
    }
    memset(&sc, 0, sizeof(sc));
    sc.n = F.n;
    sc.threads = F.threads;
    sc.once = o->once;
    sc.time_scale = o->time_scale;
    sc.stop_at = o->duration > 0 ? t0 + o->duration : 0;
    sc.slot = sim_slot;
    sc.conf = sim_conf;
    sc.thread_init = sim_thread_init;
    sc.thread_fini = sim_thread_fini;
    sc.cycle = sim_cycle;
    started = agent_sched_run(&sc);
    secs = bwh_now() - t0;
    F.errors += sc.errors;
    for (i = 0; i < F.n; i++)
        agent_net_counts(F.dev[i].net, &conns, &resumed);
    if (c->enroll) { /* locked out: no operational certificate valid at the end */
        int64_t now = (int64_t)time(NULL);
        unsigned long out = 0, renewed_all = 0;

        for (i = 0; i < F.n; i++) {
            out += F.dev[i].op_until <= now;
            renewed_all += F.dev[i].renewals > 0 && F.dev[i].lapses == 0;
        }
        printf("{\"operational_certificates\":{\"devices\":%zu,\"enrolled\":%lu,\"renewed\":%lu,"
               "\"renewed_in_time\":%lu,\"lapsed\":%lu,\"locked_out\":%lu,\"drop_pct\":%u}}\n",
               F.n, F.enrolled, F.renewed, renewed_all, F.lapsed, out, agent_net_drop_pct);
    }
    if (o->json)
        printf("{\"devices\":%zu,\"threads\":%u,\"seconds\":%.1f,\"time_scale\":%g,\"cycles\":%lu,"
               "\"unreachable\":%lu,\"errors\":%lu,\"installed\":%lu,\"confirmed\":%lu,"
               "\"failure_reports\":%lu,\"reports\":%lu,\"bytes\":%" PRIu64
               ",\"connections\":%" PRIu64 ",\"resumed\":%" PRIu64 ",\"keep_connection\":%s,"
               "\"tls_resume\":%s}\n",
               F.n, started, secs, o->time_scale, sc.cycles, sc.unreachable, F.errors, F.installed,
               F.confirmed, F.failed, F.reports, F.bytes, conns, resumed,
               c->keep_connection ? "true" : "false", c->tls_resume ? "true" : "false");
    else
        printf("simulated %zu devices in %u threads for %.1f s (time x%g): %lu cycles, %lu "
               "unreachable, %lu errors, %lu updates installed, %lu confirmed, %lu failures "
               "reported\n",
               F.n, started, secs, o->time_scale, sc.cycles, sc.unreachable, F.errors, F.installed,
               F.confirmed, F.failed);
    st = F.errors ? 1 : sc.unreachable && o->once ? 75 : 0;
    for (i = 0; i < F.n; i++)
        agent_net_close(F.dev[i].net);
    SSL_CTX_free(F.tls);
    F.tls = NULL;
    bwh_free(F.dev);
    F.dev = NULL;
    return st;
}
