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
                 "report_action = %" PRId64 "\nreport_state = %s\nreport_feedback = %s\n",
                 s->act.id, s->act.type, s->act.release, s->act.sequence, s->act.size,
                 s->act.sha256, (int)s->phase, agent_phase_names[s->phase],
                 s->target < 0 ? 9 : s->target, s->fetched, s->resumed, s->said, s->version,
                 s->rep_action, s->rep_state, s->rep_feedback);
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
};

static bw_err real_load(void *ctx, struct agent_state *s)
{
    return state_load(((struct real *)ctx)->c, s);
}

static bw_err real_save(void *ctx, const struct agent_state *s)
{
    return state_save(((struct real *)ctx)->c, s);
}

static bw_err real_dev_open(void *ctx, int with_key, int exclusive, struct agent_dev *d,
                            const char **what)
{
    struct real *r = ctx;
    bw_err rc;

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

    if (r->d_open)
        bwh_device_close(&r->d);
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
    return agent_net_open(n, r->c, who.key, who.cert, id);
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

bw_err agent_cycle(const struct agent_conf *c, uint64_t *poll)
{
    struct real *r;
    struct agent_env env;
    bw_err rc;

    *poll = c->poll_max;
    r = bwh_calloc(1, sizeof(*r)); /* a struct bwh_device is large for a stack */
    if (!r)
        return BW_E_NOMEM;
    r->c = c;
    rc = bwh_device_conf_load(&r->dc, c->device_config);
    if (!rc)
        rc = mkdir_state(c);
    if (!rc) {
        memset(&env, 0, sizeof(env));
        env.c = c;
        env.ctx = r;
        env.tag = "";
        env.out = stdout;
        env.load = real_load;
        env.save = real_save;
        env.dev_open = real_dev_open;
        env.dev_close = real_dev_close;
        env.part_open = real_part_open;
        env.part_drop = real_part_drop;
        env.net_open = real_net_open;
        env.health = real_health;
        env.reboot = real_reboot;
        env.clock = real_clock;
        env.request = real_request;
        env.event = real_event;
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
    bwh_free(r);
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
        json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:b,s:b,s:I}", "action",
                              (json_int_t)s.act.id, "release", s.act.release, "phase",
                              agent_phase_names[s.phase], "fetched", (json_int_t)s.fetched, "resumed",
                              (json_int_t)s.resumed, "size", (json_int_t)s.act.size, "version",
                              s.version, "report_owed", s.rep_action != 0, "install_now",
                              request_file(c, "install-now", NULL, 0), "postponed_until",
                              (json_int_t)(request_file(c, "postpone", &until, 0) ? until : 0));
        char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        if (!txt)
            return BW_E_NOMEM;
        printf("%s\n", txt);
        bwh_free(txt);
    }
    return BW_OK;
}
