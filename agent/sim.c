/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory fleet simulator (bulwark-agent --simulate N): N devices in
 * one process for tests and load runs against a real gateway. Each device
 * has its own P-256 key and certificate (minted here from a manufacturing
 * CA, with registry lines the gateway imports), a fresh device token per
 * connection (agent/net.c, as the daemon), and in-memory slots: a boot
 * state per device driven by the real install engine over slots that keep
 * no bytes. Not the daemon: one policy (automatic), no health command, no
 * security log, no partial downloads kept across a broken transfer.
 * Method: a download goes into the worker thread's memfd (one package in
 * memory per thread, never one per device), its SHA-256 is compared with
 * the announced one, then the package is installed through bwh_pkg_install,
 * the core's install stream (envelope signature, vendor and class,
 * anti-rollback floor, chunk list, every chunk, whole-image digest), into a
 * slot that only counts the bytes. What a device keeps is its boot state (sequence,
 * size and digest per slot, trial, confirm), its action and its report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "bwh/identity.h"
#include "bwh/device.h"
#include "bwh/host.h"
#include "net.h"

enum sphase { SP_NONE = 0, SP_OFFERED, SP_INSTALLED, SP_DONE };

/* One simulated device: about 700 bytes. */
struct fdev {
    double next;
    unsigned fails;
    int done;
    struct bw_bootstate st; /* its boot state: slots, trial, confirm, floor */
    struct agent_action act; /* act.id == 0: none */
    enum sphase phase;
    int target;
    char version[130]; /* release running, after a confirm */
    int64_t rep_action;      /* a report owed */
    char rep_state[16];
    char rep_feedback[200];
};

static struct {
    const struct agent_conf *c;
    const struct agent_sim_opts *o;
    struct bwh_device_conf dc;
    struct fdev *dev;
    size_t n;
    unsigned threads;
    double stop_at;
    pthread_mutex_t lock;
    struct bwh_ca *ca;
    int reg_fd;
    /* counters, under lock */
    unsigned long cycles, unreachable, errors, installed, confirmed, failed, reports, minted;
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
    free(line);
    free(csr);
    free(cert);
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
    d->target = -1;
}

static void owe(struct fdev *d, const char *state, const char *feedback)
{
    d->rep_action = d->act.id;
    snprintf(d->rep_state, sizeof(d->rep_state), "%s", state);
    snprintf(d->rep_feedback, sizeof(d->rep_feedback), "%s", feedback);
}

static bw_err send_report(struct agent_net *n, struct fdev *d)
{
    long status = 0;
    bw_err rc;

    if (!d->rep_action)
        return BW_OK;
    rc = agent_net_report(n, d->rep_action, d->rep_state, d->rep_feedback, &status);
    if (rc)
        return rc;
    if (F.o->verbose)
        printf("report action %" PRId64 " %s: %s (HTTP %ld)\n", d->rep_action, d->rep_state,
               d->rep_feedback, status);
    if (!strcmp(d->rep_state, "failure"))
        count(&F.failed, 1);
    count(&F.reports, 1);
    d->rep_action = 0;
    d->rep_state[0] = d->rep_feedback[0] = 0;
    return BW_OK;
}

/* The boot after an install: the trial slot booted, the (simulated)
 * health check passes, the slot is confirmed. As agent.c's after_boot. */
static void after_boot(struct fdev *d)
{
    struct engine e;
    char msg[200];

    if (d->phase != SP_INSTALLED || d->target < 0 || engine_open(&e, d))
        return;
    if (e.u.st.trial == d->target && e.u.st.booted == d->target) {
        if (!bw_update_confirm(&e.u)) {
            snprintf(msg, sizeof(msg), "confirmed: %.128s (sequence %" PRIu64 ") runs from slot %c",
                     d->act.release, d->act.sequence, 'a' + d->target);
            owe(d, "success", msg);
            snprintf(d->version, sizeof(d->version), "%s", d->act.release);
            count(&F.confirmed, 1);
        } else {
            owe(d, "failure", "confirm failed");
        }
    } else if (e.u.st.trial == d->target) {
        return; /* not rebooted yet */
    } else {
        snprintf(msg, sizeof(msg),
                 "rolled back: the trial of slot %c ended without a confirm; slot %c runs",
                 'a' + d->target, 'a' + e.u.st.active);
        owe(d, "failure", msg);
    }
    d->phase = SP_DONE;
}

/* What a worker thread owns: the memfd downloads go into, its copy of
 * the release key. */
struct worker {
    int fd;
    struct bw_ec_key rel;
};

/* Streams the package in w->fd through the engine: everything verified
 * before the (byte-less) slot sees it. */
static bw_err install(struct worker *w, struct fdev *d, const char **stage)
{
    struct engine e;
    struct bwh_pkg p;
    uint8_t slot = 0;
    int fd;
    bw_err rc;

    memset(&p, 0, sizeof(p));
    p.fd = -1;
    *stage = "device";
    if ((rc = engine_open(&e, d)))
        return rc;
    *stage = "envelope";
    if (lseek(w->fd, 0, SEEK_SET) != 0 || (fd = dup(w->fd)) < 0)
        return BW_E_IO;
    rc = bwh_pkg_open_fd(&p, fd, &w->rel, BW_SUIT_ENVELOPE_MAX);
    if (!rc) {
        rc = agent_install_pkg(&p, &e.u, F.dc.vendor_id, F.dc.class_id, &slot, stage);
        if (!rc)
            d->target = slot;
    }
    bwh_pkg_close(&p);
    return rc;
}

/* Downloads the package into w->fd (from byte 0) and checks its size and
 * the announced SHA-256. As agent.c's download, without the part file. */
static bw_err download(struct worker *w, struct agent_net *n, struct fdev *d)
{
    struct bw_sha256 h;
    uint8_t buf[65536], dig[BW_SHA256_LEN];
    char hex[65];
    uint64_t got = 0;
    long status = 0;
    size_t r;
    struct stat stt;
    bw_err rc;

    if (ftruncate(w->fd, 0) != 0 || lseek(w->fd, 0, SEEK_SET) != 0)
        return BW_E_IO;
    rc = agent_net_download(n, d->act.sha256, w->fd, 0, d->act.size, &got, &status);
    pthread_mutex_lock(&F.lock);
    F.bytes += got;
    pthread_mutex_unlock(&F.lock);
    if (rc)
        return rc;
    if (status != 200 && status != 206) {
        fprintf(stderr, "bulwark-agent: download: HTTP %ld %s\n", status, agent_net_body(n));
        return status >= 500 || status == 416 ? BW_E_IO : BW_E_NOTFOUND;
    }
    if (fstat(w->fd, &stt) != 0)
        return BW_E_IO;
    if ((uint64_t)stt.st_size != d->act.size)
        return (uint64_t)stt.st_size < d->act.size ? BW_E_IO : BW_E_SIZE;
    if (lseek(w->fd, 0, SEEK_SET) != 0 || bw_sha256_init(&h))
        return BW_E_IO;
    for (;;) {
        rc = bwh_read_full(w->fd, buf, sizeof(buf), &r);
        if (!rc)
            rc = bw_sha256_update(&h, buf, r);
        if (rc) {
            bw_sha256_abort(&h);
            return BW_E_IO;
        }
        if (r < sizeof(buf))
            break;
    }
    if (bw_sha256_final(&h, dig))
        return BW_E_IO;
    bw_hex(hex, dig, BW_SHA256_LEN);
    return strcmp(hex, d->act.sha256) ? BW_E_DIGEST : BW_OK;
}

static bw_err act(struct worker *w, struct agent_net *n, struct fdev *d)
{
    char msg[200];
    const char *stage = "";
    int dl_only = !strcmp(d->act.type, "download-only");
    struct engine e;
    uint8_t slot;
    bw_err rc;

    if (d->phase == SP_INSTALLED || d->phase == SP_DONE)
        return BW_OK;
    owe(d, "running", "downloading");
    if ((rc = send_report(n, d)))
        return rc;
    rc = download(w, n, d);
    if (rc == BW_E_IO)
        return rc; /* again at the next cycle, from byte 0 */
    if (rc) {
        snprintf(msg, sizeof(msg), "download refused: %s (%s)",
                 rc == BW_E_DIGEST ? "SHA-256 differs from the announced digest" : bw_strerror(rc),
                 bw_errname(rc));
        owe(d, "failure", msg);
        d->phase = SP_DONE;
        return send_report(n, d);
    }
    if (dl_only) {
        owe(d, "success", "downloaded (download-only action)");
        d->phase = SP_DONE;
        return send_report(n, d);
    }
    rc = install(w, d, &stage);
    if (rc) {
        snprintf(msg, sizeof(msg), "install refused at %s: %s (%s)", stage, bw_strerror(rc),
                 bw_errname(rc));
        owe(d, "failure", msg);
        d->phase = SP_DONE;
        return send_report(n, d);
    }
    count(&F.installed, 1);
    snprintf(msg, sizeof(msg), "installed into slot %c; rebooting into it on trial",
             'a' + d->target);
    d->phase = SP_INSTALLED;
    owe(d, "running", msg);
    (void)send_report(n, d); /* kept and sent later if the gateway is away */
    /* the reboot: the bootloader's boot step picks the trial slot */
    if (engine_open(&e, d) || bw_update_boot(&e.u, &slot))
        fprintf(stderr, "bulwark-agent: simulated reboot: no slot to boot\n");
    return BW_OK;
}

static char *checkin_body(const struct fdev *d)
{
    char attrs[AGENT_PATH_MAX], ver[AGENT_STR_MAX], *p, *save = NULL, *body;
    uint64_t seq = d->st.slot_sequence[d->st.active];
    json_t *o, *a;

    if (seq == BW_SEQ_EMPTY)
        seq = 0;
    if (*d->version)
        snprintf(ver, sizeof(ver), "%s", d->version);
    else if (*F.c->version)
        snprintf(ver, sizeof(ver), "%s", F.c->version);
    else
        snprintf(ver, sizeof(ver), "sequence %" PRIu64, seq);
    a = json_object();
    snprintf(attrs, sizeof(attrs), "%s", F.c->attributes);
    for (p = strtok_r(attrs, ",", &save); p && a; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');

        if (eq) {
            *eq = 0;
            json_object_set_new(a, p, json_string(eq + 1));
        }
    }
    o = json_pack("{s:s,s:I,s:o}", "version", ver, "sequence", (json_int_t)seq, "attributes",
                  a ? a : json_object());
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return body;
}

/* One cycle of device i, as agent_cycle. *poll: the next wait, 0 right
 * after a simulated reboot (the agent starts with the system). */
static bw_err cycle(struct worker *w, size_t i, uint64_t *poll)
{
    struct fdev *d = &F.dev[i];
    struct agent_checkin ci;
    struct agent_net *n = NULL;
    char id[64], uri[4096], cert[4096], *body = NULL;
    const char *why = NULL;
    long status = 0;
    bw_err rc;

    *poll = F.c->poll_max;
    after_boot(d);
    dev_id(i, id, sizeof(id));
    dev_paths(i, uri, sizeof(uri), cert, sizeof(cert));
    if ((rc = agent_net_open(&n, F.c, uri, cert, id)))
        goto out;
    if ((rc = send_report(n, d)))
        goto out;
    rc = BW_E_NOMEM;
    if (!(body = checkin_body(d)))
        goto out;
    if ((rc = agent_net_post(n, "/api/v1/device/checkin", body, &status)))
        goto out;
    if (status != 200) {
        fprintf(stderr, "bulwark-agent: %s: check-in: HTTP %ld %s\n", id, status,
                agent_net_body(n));
        rc = status >= 500 ? BW_E_IO : BW_E_DENIED;
        goto out;
    }
    if ((rc = agent_parse_checkin(agent_net_body(n), agent_net_body_len(n), &ci, &why))) {
        fprintf(stderr, "bulwark-agent: %s: check-in answer refused: %s\n", id, why);
        goto out;
    }
    *poll = ci.poll_interval < F.c->poll_min   ? F.c->poll_min
            : ci.poll_interval > F.c->poll_max ? F.c->poll_max
                                               : ci.poll_interval;
    if (!ci.has_action) {
        if (d->act.id && d->phase != SP_INSTALLED) { /* finished, or withdrawn */
            memset(&d->act, 0, sizeof(d->act));
            d->phase = SP_NONE;
            d->target = -1;
        }
        goto out;
    }
    if (ci.action.id != d->act.id) {
        if (d->phase == SP_INSTALLED) /* an install still on trial: finish it first */
            goto out;
        d->act = ci.action;
        d->phase = SP_OFFERED;
        d->target = -1;
    }
    {
        enum sphase before = d->phase;

        rc = act(w, n, d);
        if (!rc && before != SP_INSTALLED && d->phase == SP_INSTALLED)
            *poll = 0; /* rebooted: the agent's first cycle comes at once */
    }
out:
    free(body);
    agent_net_close(n);
    return rc;
}

static double spread(double base, uint64_t jitter)
{
    uint32_t r = 0;

    if (!jitter || bw_random(&r, sizeof(r)))
        return base;
    return base * (1.0 + (double)jitter / 100.0 * ((double)r / 4294967295.0 * 2.0 - 1.0));
}

static void *run_thread(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg, i, left;
    struct worker w;

    bw_ec_key_init(&w.rel);
    w.fd = memfd_create("bulwark-sim", MFD_CLOEXEC);
    if (w.fd < 0 || bwh_load_key(F.dc.release_pub, 0, &w.rel)) {
        fprintf(stderr, "bulwark-agent: simulator thread: no memfd or release key %s\n",
                F.dc.release_pub);
        count(&F.errors, 1);
        goto out;
    }
    do {
        double now = bwh_now(), soonest = now + 1.0;

        left = 0;
        for (i = t; i < F.n && !agent_stopping; i += F.threads) {
            struct fdev *d = &F.dev[i];
            uint64_t poll;
            double wait;
            bw_err rc;

            if (d->done)
                continue;
            left++;
            if (d->next > now) {
                soonest = d->next < soonest ? d->next : soonest;
                continue;
            }
            /* after an install the simulated device reboots and its
             * agent's first cycle comes at once (poll 0), in this turn:
             * not after a pass over the thread's other devices */
            for (;;) {
                rc = cycle(&w, i, &poll);
                pthread_mutex_lock(&F.lock);
                F.cycles++;
                F.unreachable += rc == BW_E_IO;
                F.errors += rc && rc != BW_E_IO;
                pthread_mutex_unlock(&F.lock);
                if (rc || poll || agent_stopping || F.o->once)
                    break;
            }
            if (rc == BW_E_IO) {
                double b = (double)F.c->retry_min * (double)(1u << (d->fails < 20 ? d->fails : 20));

                d->fails++;
                wait = spread(b < (double)F.c->retry_max ? b : (double)F.c->retry_max, 50);
            } else {
                d->fails = 0;
                wait = poll ? spread((double)poll, F.c->jitter) : 0;
            }
            d->next = bwh_now() + wait / F.o->time_scale;
            /* --once: one cycle, and the one after a simulated reboot
             * (poll is 0 only then: poll_min is at least 1) */
            if (F.o->once && !(rc == BW_OK && poll == 0))
                d->done = 1;
            now = bwh_now();
            if (F.stop_at > 0 && now >= F.stop_at)
                agent_stopping = 1;
        }
        if (F.stop_at > 0 && soonest > F.stop_at)
            soonest = F.stop_at;
        if (left && !agent_stopping && soonest > bwh_now()) {
            double s = soonest - bwh_now();
            struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

            nanosleep(&ts, NULL);
        }
        if (F.stop_at > 0 && bwh_now() >= F.stop_at)
            agent_stopping = 1;
    } while (left && !agent_stopping);
out:
    if (w.fd >= 0)
        close(w.fd);
    bw_ec_key_clear(&w.rel);
    return NULL;
}

int agent_simulate_n(const struct agent_conf *c, const struct agent_sim_opts *o)
{
    pthread_t tid[256];
    unsigned t, started;
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
    F.dev = bwh_calloc(F.n, sizeof(*F.dev));
    if (!F.dev) {
        fprintf(stderr, "bulwark-agent: --simulate %zu: out of memory\n", F.n);
        return 1;
    }
    t0 = bwh_now();
    for (i = 0; i < F.n; i++) {
        dev_init(&F.dev[i]);
        /* first cycles spread evenly over --spread seconds */
        F.dev[i].next = t0 + o->spread * (double)i / (double)F.n;
    }
    F.stop_at = o->duration > 0 ? t0 + o->duration : 0;
    for (started = 0; started < F.threads; started++)
        if (pthread_create(&tid[started], NULL, run_thread, (void *)(uintptr_t)started) != 0)
            break;
    for (t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    secs = bwh_now() - t0;
    if (o->json)
        printf("{\"devices\":%zu,\"threads\":%u,\"seconds\":%.1f,\"time_scale\":%g,\"cycles\":%lu,"
               "\"unreachable\":%lu,\"errors\":%lu,\"installed\":%lu,\"confirmed\":%lu,"
               "\"failure_reports\":%lu,\"reports\":%lu,\"bytes\":%" PRIu64 "}\n",
               F.n, started, secs, o->time_scale, F.cycles, F.unreachable, F.errors, F.installed,
               F.confirmed, F.failed, F.reports, F.bytes);
    else
        printf("simulated %zu devices in %u threads for %.1f s (time x%g): %lu cycles, %lu "
               "unreachable, %lu errors, %lu updates installed, %lu confirmed, %lu failures "
               "reported\n",
               F.n, started, secs, o->time_scale, F.cycles, F.unreachable, F.errors, F.installed,
               F.confirmed, F.failed);
    st = F.errors ? 1 : F.unreachable && o->once ? 75 : 0;
    bwh_free(F.dev);
    F.dev = NULL;
    return st;
}
