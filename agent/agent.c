/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real device's environment for the agent cycle (agent/cycle.c): the
 * state in STATE_DIR/state (rewritten atomically at each step), the
 * partial download STATE_DIR/SHA256.part, the device of device.conf
 * (slots, boot state, release key, the device lock), the reboot and health
 * commands, the policy clock, the user's request files and the security
 * log. Also the commands that only touch the state (--install-now,
 * --postpone, --state). The cycle's rules are not here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "bwh/identity.h"
#include "bwh/device.h"
#include "bwh/host.h"
#include "net.h"
#include "bwh/seclog.h"

volatile sig_atomic_t agent_stopping;

int64_t agent_clock(void)
{
    const char *e = getenv("BULWARK_AGENT_CLOCK");
    uint64_t v;

    if (e && !bwh_parse_u64(e, &v))
        return (int64_t)v;
    return (int64_t)time(NULL);
}

static void path_in(const struct agent_conf *c, char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%.4000s/%s", c->state_dir, name);
}

static bw_err mkdir_state(const struct agent_conf *c)
{
    if (mkdir(c->state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bulwark-agent: %s: %s\n", c->state_dir, strerror(errno));
        return BW_E_IO;
    }
    return BW_OK;
}

static bw_err state_load(const struct agent_conf *c, struct agent_state *s)
{
    char path[AGENT_PATH_MAX + 16], *ln, *save = NULL;
    uint8_t *buf = NULL;
    size_t len;
    bw_err rc;

    agent_state_init(s);
    path_in(c, path, sizeof(path), "state");
    rc = bwh_read_file(path, 1 << 16, &buf, &len);
    if (rc == BW_E_IO && errno == ENOENT)
        return BW_OK;
    if (rc)
        return rc;
    for (ln = (char *)buf; ln; ln = save) {
        char *k, *v;
        uint64_t n = 0;
        int num;

        save = strchr(ln, '\n');
        if (save)
            *save++ = 0;
        if (bwh_conf_split(ln, &k, &v) != 1)
            continue;
        num = !bwh_parse_u64(v, &n);
#define STR(name, field)                                                                          \
    if (!strcmp(k, name))                                                                          \
        snprintf(field, sizeof(field), "%s", v);
        STR("type", s->act.type)
        STR("release", s->act.release)
        STR("sha256", s->act.sha256)
        STR("version", s->version)
        STR("report_state", s->rep_state)
        STR("report_feedback", s->rep_feedback)
        STR("tuf", s->tuf)
#undef STR
        if (!num)
            continue;
        if (!strcmp(k, "action"))
            s->act.id = (int64_t)n;
        else if (!strcmp(k, "sequence"))
            s->act.sequence = n;
        else if (!strcmp(k, "size"))
            s->act.size = n;
        else if (!strcmp(k, "phase") && n <= AGENT_PH_DONE)
            s->phase = (enum agent_phase)n;
        else if (!strcmp(k, "target") && n <= 1)
            s->target = (int)n;
        else if (!strcmp(k, "fetched"))
            s->fetched = n;
        else if (!strcmp(k, "resumed"))
            s->resumed = n;
        else if (!strcmp(k, "said"))
            s->said = n != 0;
        else if (!strcmp(k, "report_action"))
            s->rep_action = (int64_t)n;
        else if (!strcmp(k, "waiting") && n <= AGENT_WAIT_CONSENT)
            s->waiting = (int)n;
        else if (!strcmp(k, "consented"))
            s->consented = n != 0;
        else if (!strcmp(k, "staged"))
            s->staged = n != 0;
        else if (!strcmp(k, "delta_refused"))
            s->delta_refused = n != 0;
        else if (!strcmp(k, "locked_since") && n <= INT64_MAX)
            s->locked_since = (int64_t)n;
        else if (!strcmp(k, "install_later"))
            s->act.later = n != 0;
        else if (!strcmp(k, "lock_override"))
            s->act.override = n != 0;
        else if (!strcmp(k, "consent_asked"))
            s->act.consent = n != 0;
    }
    bwh_free(buf);
    return BW_OK;
}

static bw_err state_save(const struct agent_conf *c, const struct agent_state *s)
{
    char path[AGENT_PATH_MAX + 16], out[4096];
    int n;

    path_in(c, path, sizeof(path), "state");
    n = snprintf(out, sizeof(out),
                 "# bulwark-agent state: rewritten by the agent, do not edit\n"
                 "action = %" PRId64 "\ntype = %s\nrelease = %s\nsequence = %" PRIu64
                 "\nsize = %" PRIu64 "\nsha256 = %s\nphase = %d\nphase_name = %s\ntarget = %d\n"
                 "fetched = %" PRIu64 "\nresumed = %" PRIu64 "\nsaid = %d\nversion = %s\n"
                 "report_action = %" PRId64 "\nreport_state = %s\nreport_feedback = %s\ntuf = %s\n"
                 "waiting = %d\nconsented = %d\nstaged = %d\nlocked_since = %" PRId64 "\n"
                 "install_later = %d\nlock_override = %d\nconsent_asked = %d\ndelta_refused = %d\n",
                 s->act.id, s->act.type, s->act.release, s->act.sequence, s->act.size,
                 s->act.sha256, (int)s->phase, agent_phase_names[s->phase],
                 s->target < 0 ? 9 : s->target, s->fetched, s->resumed, s->said, s->version,
                 s->rep_action, s->rep_state, s->rep_feedback, s->tuf, s->waiting, s->consented,
                 s->staged, s->locked_since, s->act.later, s->act.override, s->act.consent,
                 s->delta_refused);
    if (n < 0 || (size_t)n >= sizeof(out))
        return BW_E_NOMEM;
    return bwh_write_file_atomic(path, out, (size_t)n, 0600);
}

/* Runs cmd with /bin/sh, at most timeout seconds (then SIGKILL). Returns
 * the exit status, 124 on timeout, 127 when it could not run. */
static int run_command(const char *cmd, uint64_t timeout, const char *slot)
{
    char line[AGENT_PATH_MAX + 64];
    pid_t pid;
    int st = 0, n;
    double end = bwh_now() + (double)timeout;

    /* the slot goes in through the shell: between fork and exec only
     * async-signal-safe calls (the simulator runs agents in threads) */
    n = snprintf(line, sizeof(line), "BULWARK_SLOT=%s; export BULWARK_SLOT; %s", slot ? slot : "",
                 cmd);
    if (n < 0 || (size_t)n >= sizeof(line))
        return 127;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return 127;
        if (bwh_now() > end) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &st, 0);
            return 124;
        }
        {
            struct timespec ts = {0, 20 * 1000 * 1000};

            nanosleep(&ts, NULL);
        }
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void reboot_now(const struct agent_conf *c)
{
    int st;

    if (!*c->reboot_command)
        return;
    printf("reboot: %s\n", c->reboot_command);
    st = run_command(c->reboot_command, 600, NULL);
    if (st)
        fprintf(stderr, "bulwark-agent: reboot command exited with %d\n", st);
}

static int request_file(const struct agent_conf *c, const char *name, uint64_t *val, int take)
{
    char path[AGENT_PATH_MAX + 16];
    uint8_t *buf = NULL;
    size_t len;
    int found = 0;

    path_in(c, path, sizeof(path), name);
    if (!bwh_read_file(path, 64, &buf, &len)) {
        char s[65];

        found = 1;
        memcpy(s, buf, len);
        s[len] = 0;
        s[strcspn(s, "\n")] = 0;
        if (val && bwh_parse_u64(s, val))
            *val = 0;
        bwh_free(buf);
        if (take)
            (void)unlink(path);
    }
    return found;
}

bw_err agent_request_install(const struct agent_conf *c)
{
    char path[AGENT_PATH_MAX + 16];
    bw_err rc = mkdir_state(c);

    path_in(c, path, sizeof(path), "install-now");
    return rc ? rc : bwh_write_file_atomic(path, "1\n", 2, 0600);
}

/* The consent names the action offered now: a consent given while
 * nothing was offered, or for another update, consents to nothing. */
bw_err agent_request_consent(const struct agent_conf *c)
{
    char path[AGENT_PATH_MAX + 16], v[32];
    struct agent_state s;
    bw_err rc = state_load(c, &s);
    int n;

    if (rc)
        return rc;
    if (!s.act.id || s.phase != AGENT_PH_OFFERED) {
        fprintf(stderr, "bulwark-agent: no update waits for consent\n");
        return BW_E_STATE;
    }
    n = snprintf(v, sizeof(v), "%" PRId64 "\n", s.act.id);
    rc = mkdir_state(c);
    path_in(c, path, sizeof(path), "consent");
    return rc ? rc : bwh_write_file_atomic(path, v, (size_t)n, 0600);
}

/* Method: flock(2) on one file. Applications take it shared (any number
 * at once), the agent exclusive and without waiting, so an install never
 * starts while an application holds it and no application starts its
 * critical work (it waits) while the agent installs. */
int agent_lock_run(const struct agent_conf *c, const char *cmd)
{
    int fd, st = 0;
    pid_t pid;

    if (mkdir_state(c))
        return 1;
    fd = open(c->update_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_SH) != 0) {
        fprintf(stderr, "bulwark-agent: update lock %s: %s\n", c->update_lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    close(fd); /* releases the lock */
    if (pid < 0)
        return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

bw_err agent_request_postpone(const struct agent_conf *c, uint64_t seconds)
{
    char path[AGENT_PATH_MAX + 16], v[32];
    int n = snprintf(v, sizeof(v), "%" PRIu64 "\n", (uint64_t)agent_clock() + seconds);
    bw_err rc = mkdir_state(c);

    path_in(c, path, sizeof(path), "postpone");
    return rc ? rc : bwh_write_file_atomic(path, v, (size_t)n, 0600);
}

static bw_err device_identity(const struct agent_conf *c, const struct bwh_device_conf *dc, char *id,
                              size_t cap)
{
    struct bwh_cert_info info;
    uint8_t *pem = NULL;
    size_t len;
    bw_err rc;

    if (*c->device_id) {
        snprintf(id, cap, "%s", c->device_id);
        return BW_OK;
    }
    rc = bwh_read_file(dc->device_cert, 65536, &pem, &len);
    if (!rc)
        rc = bwh_cert_info((const char *)pem, len, &info);
    bwh_free(pem);
    if (rc) {
        fprintf(stderr, "bulwark-agent: device certificate %s: %s\n", dc->device_cert,
                bw_strerror(rc));
        return rc;
    }
    snprintf(id, cap, "%s", info.device_id);
    return BW_OK;
}

/* --- the environment ------------------------------------------------------------ */

/* The agent's side of struct agent_env. */
struct real {
    const struct agent_conf *c;
    struct bwh_device_conf dc;
    struct bwh_device d; /* while open */
    int d_open;
    char tuf[AGENT_PATH_MAX + 8]; /* the TUF metadata directory, when TUF is on */
    /* a secondary (agent/secondary.c): its link, its reported state as an
     * engine with no slots, and the release key its packages need */
    const struct agent_secondary *sec;
    struct bw_update mu;
    struct bw_ec_key skey;
    int lock_fd; /* the update lock, held exclusive for an install; -1 */
    struct agent_net **kept; /* the transport kept between cycles, or NULL */
};

static int real_update_lock(void *ctx, int take)
{
    struct real *r = ctx;

    if (!take) {
        if (r->lock_fd >= 0)
            close(r->lock_fd); /* releases it */
        r->lock_fd = -1;
        return 0;
    }
    if (r->lock_fd >= 0)
        return 0;
    r->lock_fd = open(r->c->update_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) /* no lock file can be made: nobody can hold it either */
        return 0;
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    close(r->lock_fd);
    r->lock_fd = -1;
    return 1;
}

static bw_err real_load(void *ctx, struct agent_state *s)
{
    return state_load(((struct real *)ctx)->c, s);
}

static bw_err real_save(void *ctx, const struct agent_state *s)
{
    return state_save(((struct real *)ctx)->c, s);
}

/* A secondary's "open": its state as it reports it over the link; with
 * with_key the release key of its device.conf and the bank its install
 * will write (none while a trial is pending: BW_E_STATE). Not locked: one
 * agent serves a link. */
static bw_err sec_dev_open(struct real *r, int with_key, struct agent_dev *d, const char **what)
{
    uint64_t counter;
    uint8_t target;
    bw_err rc;

    memset(&r->mu, 0, sizeof(r->mu));
    *what = r->sec->serial;
    if ((rc = agent_secondary_status(r->sec, &r->mu.st, &counter)))
        return rc;
    d->u = &r->mu;
    d->remote = 1;
    d->vendor_id = r->dc.vendor_id;
    d->class_id = r->dc.class_id;
    if (!with_key)
        return BW_OK;
    *what = "device: a trial is pending";
    if ((rc = bw_update_target(&r->mu, &target)))
        return rc;
    r->mu.target = target;
    *what = r->dc.release_pub;
    if ((rc = bwh_load_key(r->dc.release_pub, 0, &r->skey)))
        return rc;
    d->key = &r->skey;
    return BW_OK;
}

static bw_err real_dev_open(void *ctx, int with_key, int exclusive, struct agent_dev *d,
                            const char **what)
{
    struct real *r = ctx;
    bw_err rc;

    if (r->sec) {
        r->d_open = 1;
        bw_ec_key_init(&r->skey);
        return sec_dev_open(r, with_key, d, what);
    }
    rc = bwh_device_open(&r->d, r->c->device_config, with_key, exclusive, what);
    r->d_open = 1;
    if (rc)
        return rc;
    d->u = &r->d.u;
    d->key = &r->d.key;
    d->vendor_id = r->d.conf.vendor_id;
    d->class_id = r->d.conf.class_id;
    return BW_OK;
}

static void real_dev_close(void *ctx)
{
    struct real *r = ctx;

    if (r->d_open && !r->sec)
        bwh_device_close(&r->d);
    if (r->d_open && r->sec)
        bw_ec_key_clear(&r->skey);
    r->d_open = 0;
}

static void part_path(const struct agent_conf *c, const char *sha256, char *out, size_t cap)
{
    snprintf(out, cap, "%.4000s/%.64s.part", c->state_dir, sha256);
}

static bw_err real_part_open(void *ctx, const char *sha256, int *fd)
{
    char part[AGENT_PATH_MAX + 80];

    part_path(((struct real *)ctx)->c, sha256, part, sizeof(part));
    *fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    return *fd < 0 ? BW_E_IO : BW_OK;
}

static void real_part_drop(void *ctx, const char *sha256)
{
    char part[AGENT_PATH_MAX + 80];

    part_path(((struct real *)ctx)->c, sha256, part, sizeof(part));
    (void)unlink(part);
}

/* The device API gets the operational certificate when there is one
 * (agent/est.c), the birth certificate otherwise. */
static bw_err real_net_open(void *ctx, struct agent_net **n)
{
    struct real *r = ctx;
    struct agent_ident who;
    char id[AGENT_STR_MAX];
    bw_err rc = device_identity(r->c, &r->dc, id, sizeof(id));

    if (rc)
        return rc;
    agent_est_ident(r->c, r->c->state_dir, r->dc.device_key, r->dc.device_cert, agent_clock(),
                    &who);
    if (!r->kept)
        return agent_net_open(n, r->c, who.key, who.cert, id);
    rc = agent_net_keep(r->kept, r->c, NULL, who.key, who.cert, id);
    *n = *r->kept;
    return rc;
}

/* The transport after the cycle: kept (session, and the connection with
 * keep_connection) or closed. */
static void real_net_done(void *ctx, struct agent_net *n)
{
    struct real *r = ctx;

    if (r->kept)
        agent_net_idle(n);
    else
        agent_net_close(n);
}

static int real_health(void *ctx, int slot)
{
    const struct agent_conf *c = ((struct real *)ctx)->c;
    char name[2] = {(char)('a' + slot), 0};

    return *c->health_command ? run_command(c->health_command, c->health_timeout, name) : 0;
}

static int real_reboot(void *ctx)
{
    reboot_now(((struct real *)ctx)->c);
    return 0; /* the system goes down: the agent starts with it */
}

/* A secondary reboots itself after its install: its next cycle is due. */
static int sec_reboot(void *ctx)
{
    (void)ctx;
    return 1;
}

static bw_err sec_forward(void *ctx, int fd, uint64_t size, char *what, size_t cap)
{
    return agent_secondary_install(((struct real *)ctx)->sec, fd, size, what, cap);
}

static int64_t real_clock(void *ctx)
{
    (void)ctx;
    return agent_clock();
}

static int real_request(void *ctx, const char *name, uint64_t *val, int take)
{
    return request_file(((struct real *)ctx)->c, name, val, take);
}

static void real_event(void *ctx, const char *ev, const char *subject, const char *outcome)
{
    /* it reports its own failure */
    (void)bwh_seclog_event(&((struct real *)ctx)->dc, ev, subject, outcome);
}

/* The trusted TUF metadata directory (agent.conf's tuf_metadata, else
 * DATA_DIR/tuf when provisioning put a root.json there) into out, or NULL
 * when TUF is off. */
static const char *tuf_dir(const struct agent_conf *c, const struct bwh_device_conf *dc, char *out,
                           size_t cap)
{
    char root[AGENT_PATH_MAX + 16];
    struct stat st;

    if (!strcmp(c->tuf_metadata, "off"))
        return NULL;
    if (c->tuf_metadata[0]) {
        snprintf(out, cap, "%s", c->tuf_metadata);
        return out;
    }
    snprintf(out, cap, "%.4000s/tuf", dc->data_dir);
    snprintf(root, sizeof(root), "%s/root.json", out);
    return stat(root, &st) == 0 ? out : NULL;
}

/* One cycle of the device c describes: this host's own (sec NULL), or a
 * secondary's over its serial link. */
static bw_err cycle_one(const struct agent_conf *c, const struct agent_secondary *sec,
                        struct agent_net **kept, uint64_t *poll)
{
    struct real *r;
    struct agent_env env;
    bw_err rc;

    *poll = c->poll_max;
    r = bwh_calloc(1, sizeof(*r)); /* a struct bwh_device is large for a stack */
    if (!r)
        return BW_E_NOMEM;
    r->c = c;
    r->sec = sec;
    r->kept = kept;
    r->lock_fd = -1;
    rc = bwh_device_conf_load(&r->dc, c->device_config);
    if (!rc)
        rc = mkdir_state(c);
    if (!rc) {
        memset(&env, 0, sizeof(env));
        env.c = c;
        env.ctx = r;
        env.tag = sec ? sec->tag : "";
        env.out = stdout;
        env.load = real_load;
        env.save = real_save;
        env.dev_open = real_dev_open;
        env.dev_close = real_dev_close;
        env.part_open = real_part_open;
        env.part_drop = real_part_drop;
        env.net_open = real_net_open;
        env.net_done = real_net_done;
        env.health = real_health;
        env.reboot = real_reboot;
        env.clock = real_clock;
        env.request = real_request;
        env.event = real_event;
        /* secondaries are not under TUF yet (docs/trust.md): their
         * packages are checked against the release key as before */
        env.tuf_dir = sec ? NULL : tuf_dir(c, &r->dc, r->tuf, sizeof(r->tuf));
        if (sec) {
            env.reboot = sec_reboot;
            env.forward = sec_forward;
        }
        env.update_lock = real_update_lock;
        if (c->enroll) { /* its failure leaves the certificates as they were: the cycle goes on */
            char id[AGENT_STR_MAX];

            if (device_identity(c, &r->dc, id, sizeof(id)) == BW_OK &&
                agent_est_step(c, NULL, c->state_dir, r->dc.device_key, r->dc.device_cert, id,
                               agent_clock(), stdout, "") != BW_OK)
                fflush(stdout); /* said why; the next cycle tries again after its back-off */
        }
        rc = agent_run_cycle(&env, poll);
        /* wake up for the certificate's renewal or retry if the next poll
         * would come later */
        *poll = agent_est_clamp(c, NULL, c->state_dir, (int64_t)time(NULL), *poll);
    }
    real_dev_close(r);
    (void)real_update_lock(r, 0);
    bwh_free(r);
    return rc;
}

bw_err agent_secondary_cycle(const struct agent_conf *c, const char *path, uint64_t *poll)
{
    struct agent_secondary *sec = bwh_malloc(sizeof(*sec));
    bw_err rc = BW_E_NOMEM;

    *poll = c->poll_max;
    if (sec && !(rc = agent_secondary_load(sec, c, path)))
        rc = cycle_one(&sec->c, sec, NULL, poll);
    bwh_free(sec);
    return rc;
}

/* This host's cycle, then each secondary's in turn: a secondary that
 * fails is said on stderr and does not hold the others back; the next
 * cycle comes when the earliest of them is due. */
bw_err agent_cycle(const struct agent_conf *c, struct agent_net **kept, uint64_t *poll)
{
    char list[AGENT_PATH_MAX], *p, *save = NULL;
    uint64_t sp;
    bw_err rc, src;

    rc = cycle_one(c, NULL, kept, poll);
    snprintf(list, sizeof(list), "%s", c->secondaries);
    for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        src = agent_secondary_cycle(c, p, &sp);
        if (src)
            fprintf(stderr, "bulwark-agent: secondary %s: %s [%s]\n", p, bw_strerror(src),
                    bw_errname(src));
        if (!src && sp < *poll)
            *poll = sp;
    }
    return rc;
}

bw_err agent_print_state(const struct agent_conf *c)
{
    struct agent_state s;
    bw_err rc = state_load(c, &s);
    uint64_t until = 0;

    if (rc)
        return rc;
    {
        static const char *const waits[] = {"", "install-later", "locked", "consent"};
        json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:b,s:b,s:I,s:s,s:b,s:b}", "action",
                              (json_int_t)s.act.id, "release", s.act.release, "phase",
                              agent_phase_names[s.phase], "fetched", (json_int_t)s.fetched, "resumed",
                              (json_int_t)s.resumed, "size", (json_int_t)s.act.size, "version",
                              s.version, "report_owed", s.rep_action != 0, "install_now",
                              request_file(c, "install-now", NULL, 0), "postponed_until",
                              (json_int_t)(request_file(c, "postpone", &until, 0) ? until : 0),
                              "waiting_for", waits[s.waiting & 3], "consented",
                              s.consented || request_file(c, "consent", NULL, 0), "staged",
                              s.staged);
        char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        if (!txt)
            return BW_E_NOMEM;
        printf("%s\n", txt);
        bwh_free(txt);
    }
    return BW_OK;
}
