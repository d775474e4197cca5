/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One agent cycle: finish a boot that is under way (health check, then
 * confirm or roll back), send the reports still owed, check in, and act on
 * the action the gateway offers as the policy allows: download with
 * resume, check the digest, install through the install engine, reboot.
 * Method: everything the agent must remember across a crash, a reboot or
 * an unreachable gateway is in STATE_DIR/state (rewritten atomically at
 * each step) and in the partial download STATE_DIR/SHA256.part. A final
 * report that could not be delivered stays in the state until the gateway
 * acknowledges it, so no outcome is lost while the network is down.
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

enum phase { PH_NONE = 0, PH_OFFERED, PH_INSTALLED, PH_DONE };
static const char *const phase_names[] = {"none", "offered", "installed", "done"};

/* What the agent remembers (STATE_DIR/state). */
struct agent_state {
    struct agent_action act; /* act.id == 0: none */
    enum phase phase;
    int target;         /* slot installed into (PH_INSTALLED) */
    uint64_t fetched;   /* bytes received for this action, all attempts */
    uint64_t resumed;   /* downloads resumed from a partial file */
    int said;           /* the "waiting" report for this action was sent */
    char version[AGENT_STR_MAX]; /* release running, after a confirm */
    /* a report owed to the gateway */
    int64_t rep_action;
    char rep_state[16];
    char rep_feedback[512];
};

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

    memset(s, 0, sizeof(*s));
    s->target = -1;
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
        else if (!strcmp(k, "phase") && n <= PH_DONE)
            s->phase = (enum phase)n;
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
                 s->act.sha256, (int)s->phase, phase_names[s->phase],
                 s->target < 0 ? 9 : s->target, s->fetched, s->resumed, s->said, s->version,
                 s->rep_action, s->rep_state, s->rep_feedback);
    if (n < 0 || (size_t)n >= sizeof(out))
        return BW_E_NOMEM;
    return bwh_write_file_atomic(path, out, (size_t)n, 0600);
}

/* A report owed: kept in the state until the gateway takes it. Feedback is
 * one line (the state file is line-based). */
static void owe_report(struct agent_state *s, const char *state, const char *feedback)
{
    char *p;

    s->rep_action = s->act.id;
    snprintf(s->rep_state, sizeof(s->rep_state), "%s", state);
    snprintf(s->rep_feedback, sizeof(s->rep_feedback), "%s", feedback);
    for (p = s->rep_feedback; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* Sends the owed report. BW_E_IO: gateway not reachable (kept). A 409
 * (already final) or 404 (action gone) drops it: nothing more to say. */
static bw_err send_report(struct agent_net *n, struct agent_state *s)
{
    long status = 0;
    bw_err rc;

    if (!s->rep_action)
        return BW_OK;
    rc = agent_net_report(n, s->rep_action, s->rep_state, s->rep_feedback, &status);
    if (rc)
        return rc;
    printf("report action %" PRId64 " %s: %s (HTTP %ld)\n", s->rep_action, s->rep_state,
           s->rep_feedback, status);
    s->rep_action = 0;
    s->rep_state[0] = s->rep_feedback[0] = 0;
    return BW_OK;
}

/* Runs cmd with /bin/sh, at most timeout seconds (then SIGKILL). Returns
 * the exit status, 124 on timeout, 127 when it could not run. */
static int run_command(const char *cmd, uint64_t timeout, const char *slot)
{
    char *line = NULL;
    pid_t pid;
    int st = 0;
    double end = bwh_now() + (double)timeout;

    /* the slot goes in through the shell: between fork and exec only
     * async-signal-safe calls (the simulator runs agents in threads) */
    if (asprintf(&line, "BULWARK_SLOT=%s; export BULWARK_SLOT; %s", slot ? slot : "", cmd) < 0)
        return 127;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        free(line);
        return 127;
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    free(line);
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

static void event(const struct bwh_device_conf *dc, const char *ev, const char *subject,
                  const char *outcome)
{
    (void)bwh_seclog_event(dc, ev, subject, outcome); /* it reports its own failure */
}

/*
 * After an install the device reboots into the trial slot. Here the boot
 * state says how it went: booted into the trial -> health check, then
 * confirm or roll back; the trial gone without a confirm -> it fell back.
 */
static bw_err after_boot(const struct agent_conf *c, const char *conf_path, struct agent_state *s)
{
    struct bwh_device d;
    const char *what = NULL;
    char msg[400], subj[160];
    int do_reboot = 0, hs;
    bw_err rc;

    if (s->phase != PH_INSTALLED || s->target < 0)
        return BW_OK;
    rc = bwh_device_open(&d, conf_path, 0, 1, &what);
    if (rc) {
        fprintf(stderr, "bulwark-agent: %s: %s\n", what, bw_strerror(rc));
        bwh_device_close(&d);
        return rc;
    }
    snprintf(subj, sizeof(subj), "action %" PRId64 " %s slot %c", s->act.id, s->act.release,
             'a' + s->target);
    if (d.u.st.trial == s->target && d.u.st.booted == s->target) {
        char slot[2] = {(char)('a' + s->target), 0};

        hs = *c->health_command ? run_command(c->health_command, c->health_timeout, slot) : 0;
        if (hs == 0) {
            rc = bw_update_confirm(&d.u);
            if (!rc) {
                snprintf(msg, sizeof(msg), "confirmed: %s (sequence %" PRIu64 ") runs from slot %c",
                         s->act.release, s->act.sequence, 'a' + s->target);
                owe_report(s, "success", msg);
                snprintf(s->version, sizeof(s->version), "%s", s->act.release);
                event(&d.conf, "confirm", subj, "ok: health check passed");
            } else {
                snprintf(msg, sizeof(msg), "confirm failed: %s", bw_errname(rc));
                owe_report(s, "failure", msg);
                event(&d.conf, "confirm", subj, bw_errname(rc));
            }
        } else {
            rc = bw_update_rollback(&d.u);
            snprintf(msg, sizeof(msg),
                     "health check failed (exit %d): trial of slot %c cancelled, %s; slot %c "
                     "boots next",
                     hs, 'a' + s->target, rc ? bw_errname(rc) : "rolled back",
                     'a' + d.u.st.active);
            owe_report(s, "failure", msg);
            event(&d.conf, "rollback", subj, msg);
            do_reboot = 1;
        }
        s->phase = PH_DONE;
    } else if (d.u.st.trial == s->target) {
        bwh_device_close(&d);
        return BW_OK; /* not rebooted yet */
    } else if (d.u.st.active == s->target && d.u.st.confirmed) {
        snprintf(msg, sizeof(msg), "confirmed (outside the agent): slot %c", 'a' + s->target);
        owe_report(s, "success", msg);
        s->phase = PH_DONE;
    } else {
        snprintf(msg, sizeof(msg),
                 "rolled back: the trial of slot %c ended without a confirm; slot %c runs",
                 'a' + s->target, 'a' + d.u.st.active);
        owe_report(s, "failure", msg);
        event(&d.conf, "rollback", subj, msg);
        s->phase = PH_DONE;
    }
    bwh_device_close(&d);
    rc = state_save(c, s);
    printf("%s\n", msg);
    if (do_reboot)
        reboot_now(c);
    return rc;
}

/* The running image's sequence, for check-in. */
static uint64_t running_sequence(const char *conf_path)
{
    struct bwh_device d;
    const char *what;
    uint64_t seq = 0;

    if (!bwh_device_open(&d, conf_path, 0, 0, &what) &&
        d.u.st.slot_sequence[d.u.st.active] != BW_SEQ_EMPTY)
        seq = d.u.st.slot_sequence[d.u.st.active];
    bwh_device_close(&d);
    return seq;
}

static char *checkin_body(const struct agent_conf *c, const struct agent_state *s,
                          uint64_t seq)
{
    char attrs[AGENT_PATH_MAX], ver[AGENT_STR_MAX], *p, *save = NULL, *body;
    json_t *o, *a;

    if (*c->version)
        snprintf(ver, sizeof(ver), "%s", c->version);
    else if (*s->version)
        snprintf(ver, sizeof(ver), "%s", s->version);
    else
        snprintf(ver, sizeof(ver), "sequence %" PRIu64, seq);
    a = json_object();
    snprintf(attrs, sizeof(attrs), "%s", c->attributes);
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

/* Reports a state once per action (the "waiting" kinds). */
static void say_once(struct agent_net *n, struct agent_state *s, const char *what)
{
    if (s->said)
        return;
    owe_report(s, "running", what);
    if (!send_report(n, s))
        s->said = 1;
    printf("%s\n", what);
}

/* Downloads into STATE_DIR/SHA256.part, resuming from what is there.
 * BW_OK when the part file holds the whole package with the announced
 * digest; BW_E_DIGEST/BW_E_SIZE when it does not (the file is removed);
 * BW_E_IO when the transfer broke off (kept). */
static bw_err download(const struct agent_conf *c, struct agent_net *n, struct agent_state *s,
                       char *part, size_t cap)
{
    struct stat stt;
    uint64_t have, got = 0;
    uint8_t dig[BW_SHA256_LEN];
    char hex[65];
    long status = 0;
    int fd;
    bw_err rc;

    snprintf(part, cap, "%.4000s/%s.part", c->state_dir, s->act.sha256);
    fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &stt) != 0) {
        if (fd >= 0)
            close(fd);
        return BW_E_IO;
    }
    have = (uint64_t)stt.st_size;
    if (have > s->act.size) {
        have = 0;
        if (ftruncate(fd, 0) != 0)
            goto io;
    }
    if (lseek(fd, (off_t)have, SEEK_SET) != (off_t)have)
        goto io;
    if (have < s->act.size) {
        if (have) {
            s->resumed++;
            printf("download resumes at byte %" PRIu64 " of %" PRIu64 "\n", have, s->act.size);
        }
        rc = agent_net_download(n, s->act.sha256, fd, have, s->act.size, &got, &status);
        s->fetched += got;
        (void)fdatasync(fd); /* what came is kept for the next attempt */
        if (fstat(fd, &stt) != 0)
            goto io;
        have = (uint64_t)stt.st_size;
        if (rc) {
            close(fd);
            return rc;
        }
        if (status != 200 && status != 206) {
            fprintf(stderr, "bulwark-agent: download: HTTP %ld %s\n", status, agent_net_body(n));
            close(fd);
            return status >= 500 || status == 416 ? BW_E_IO : BW_E_NOTFOUND;
        }
    }
    if (have != s->act.size) {
        close(fd);
        return have < s->act.size ? BW_E_IO : BW_E_SIZE;
    }
    /* the announced digest: a blob changed in transit or at rest is
     * refused here, before the engine sees a byte of it */
    {
        struct bw_sha256 h;
        uint8_t buf[65536];
        size_t r;
        bw_err hrc;

        if (lseek(fd, 0, SEEK_SET) != 0 || bw_sha256_init(&h))
            goto io;
        for (;;) {
            hrc = bwh_read_full(fd, buf, sizeof(buf), &r);
            if (!hrc)
                hrc = bw_sha256_update(&h, buf, r);
            if (hrc) {
                bw_sha256_abort(&h);
                goto io;
            }
            if (r < sizeof(buf))
                break;
        }
        if (bw_sha256_final(&h, dig))
            goto io;
    }
    close(fd);
    bw_hex(hex, dig, BW_SHA256_LEN);
    if (strcmp(hex, s->act.sha256)) {
        (void)unlink(part);
        return BW_E_DIGEST;
    }
    return BW_OK;
io:
    close(fd);
    return BW_E_IO;
}

bw_err agent_install_pkg(struct bwh_pkg *p, struct bw_update *u, const uint8_t vendor_id[16],
                         const uint8_t class_id[16], uint8_t *target, const char **stage)
{
    struct bw_suit_expect e;
    struct bwh_progress prog;
    bw_err rc;

    memset(&e, 0, sizeof(e));
    e.vendor_id = vendor_id;
    e.class_id = class_id;
    memset(&prog, 0, sizeof(prog));
    /* the core's install stream: device check, every chunk checked before
     * the slot sees it, the image digest compared inside, trial marked */
    rc = bwh_pkg_install(p, u, &e, &prog, stage);
    if (!rc)
        *target = u->target;
    return rc;
}

/* The install engine, as `bulwark install` drives it. */
static bw_err install(const char *conf_path, const char *part, int *target, const char **stage)
{
    struct bwh_device d;
    struct bwh_pkg p;
    uint8_t slot = 0;
    const char *what = NULL;
    bw_err rc;

    memset(&p, 0, sizeof(p));
    p.fd = -1;
    *stage = "device";
    rc = bwh_device_open(&d, conf_path, 1, 1, &what);
    if (!rc) {
        *stage = "envelope";
        rc = bwh_pkg_open(&p, part, &d.key, BW_SUIT_ENVELOPE_MAX);
    }
    if (!rc) {
        rc = agent_install_pkg(&p, &d.u, d.conf.vendor_id, d.conf.class_id, &slot, stage);
        if (!rc)
            *target = slot;
    }
    bwh_pkg_close(&p);
    bwh_device_close(&d);
    return rc;
}

static bw_err act(const struct agent_conf *c, const char *conf_path, const struct bwh_device_conf *dc,
                  struct agent_net *n, struct agent_state *s)
{
    char part[AGENT_PATH_MAX + 80], msg[512], subj[200];
    const char *stage = "";
    uint64_t until = 0;
    int64_t now = agent_clock();
    int forced = !strcmp(s->act.type, "forced"), dl_only = !strcmp(s->act.type, "download-only");
    int install_now = request_file(c, "install-now", NULL, 0);
    bw_err rc;

    snprintf(subj, sizeof(subj), "action %" PRId64 " %s sequence %" PRIu64, s->act.id,
             s->act.release, s->act.sequence);
    if (s->phase == PH_INSTALLED || s->phase == PH_DONE)
        return BW_OK; /* waiting for the reboot, or the final report went out */
    if (!dl_only && c->policy == POLICY_NOTIFY) {
        if (!s->said)
            event(dc, "update", subj, "available; policy notify: not installed");
        snprintf(msg, sizeof(msg), "update available: %s; policy notify, not installing",
                 s->act.release);
        say_once(n, s, msg);
        return state_save(c, s);
    }
    if (!dl_only && c->policy == POLICY_MANUAL && !install_now) {
        snprintf(msg, sizeof(msg),
                 "update available: %s; policy manual, waiting for bulwark-agent --install-now",
                 s->act.release);
        say_once(n, s, msg);
        return state_save(c, s);
    }
    if (!install_now && request_file(c, "postpone", &until, 0) && (int64_t)until > now) {
        printf("postponed by the user for %" PRId64 " s more\n", (int64_t)until - now);
        return state_save(c, s);
    }
    if (!install_now && !forced && c->window_start >= 0) {
        time_t t = (time_t)now;
        struct tm tm;

        localtime_r(&t, &tm);
        if (!agent_window_open(c->window_start, c->window_end, tm.tm_hour * 60 + tm.tm_min)) {
            snprintf(msg, sizeof(msg), "update available: %s; waiting for the maintenance window %s",
                     s->act.release, c->window);
            say_once(n, s, msg);
            return state_save(c, s);
        }
    }
    /* download */
    if (s->fetched == 0) {
        owe_report(s, "running", "downloading");
        if ((rc = send_report(n, s)))
            return rc;
    }
    rc = download(c, n, s, part, sizeof(part));
    if (state_save(c, s))
        fprintf(stderr, "bulwark-agent: state not saved\n");
    if (rc == BW_E_IO)
        return rc; /* keep the partial file, try again later */
    if (rc) {
        snprintf(msg, sizeof(msg), "download refused: %s (%s)",
                 rc == BW_E_DIGEST ? "SHA-256 differs from the announced digest" : bw_strerror(rc),
                 bw_errname(rc));
        event(dc, "download", subj, msg);
        owe_report(s, "failure", msg);
        s->phase = PH_DONE;
        printf("%s\n", msg);
        (void)state_save(c, s);
        return send_report(n, s);
    }
    printf("downloaded %" PRIu64 " bytes (%" PRIu64 " received, %" PRIu64 " resumes)\n",
           s->act.size, s->fetched, s->resumed);
    if (dl_only) {
        owe_report(s, "success", "downloaded (download-only action)");
        s->phase = PH_DONE;
        (void)state_save(c, s);
        return send_report(n, s);
    }
    /* install: the engine verifies every chunk before it is written */
    if (install_now)
        (void)request_file(c, "install-now", NULL, 1);
    rc = install(conf_path, part, &s->target, &stage);
    (void)unlink(part);
    if (rc) {
        snprintf(msg, sizeof(msg), "install refused at %s: %s (%s)", stage, bw_strerror(rc),
                 bw_errname(rc));
        event(dc, "install", subj, msg);
        owe_report(s, "failure", msg);
        s->phase = PH_DONE;
        printf("%s\n", msg);
        (void)state_save(c, s);
        return send_report(n, s);
    }
    snprintf(msg, sizeof(msg), "installed into slot %c; rebooting into it on trial",
             'a' + s->target);
    event(dc, "install", subj, msg);
    s->phase = PH_INSTALLED;
    owe_report(s, "running", msg);
    printf("%s\n", msg);
    rc = state_save(c, s);
    if (rc)
        return rc;
    (void)send_report(n, s); /* kept and sent later if the gateway is away */
    (void)state_save(c, s);
    reboot_now(c);
    return BW_OK;
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

bw_err agent_cycle(const struct agent_conf *c, uint64_t *poll)
{
    struct bwh_device_conf dc;
    struct agent_state s;
    struct agent_checkin ci;
    struct agent_net *n = NULL;
    char id[AGENT_STR_MAX], *body = NULL;
    const char *why = NULL;
    long status = 0;
    bw_err rc;

    *poll = c->poll_max;
    if ((rc = bwh_device_conf_load(&dc, c->device_config)))
        return rc;
    if ((rc = mkdir_state(c)) || (rc = state_load(c, &s)))
        return rc;
    /* local first: a boot under way is finished even with no network */
    if ((rc = after_boot(c, c->device_config, &s)))
        return rc;
    if ((rc = device_identity(c, &dc, id, sizeof(id))))
        return rc;
    if ((rc = agent_net_open(&n, c, dc.device_key, dc.device_cert, id)))
        goto out;
    if ((rc = send_report(n, &s)))
        goto out;
    (void)state_save(c, &s);
    rc = BW_E_NOMEM;
    if (!(body = checkin_body(c, &s, running_sequence(c->device_config))))
        goto out;
    if ((rc = agent_net_post(n, "/api/v1/device/checkin", body, &status)))
        goto out;
    if (status != 200) {
        char what[64];

        fprintf(stderr, "bulwark-agent: check-in: HTTP %ld %s\n", status, agent_net_body(n));
        rc = status >= 500 ? BW_E_IO : BW_E_DENIED;
        if (status == 401 || status == 403) { /* revoked, unknown, or a token problem */
            snprintf(what, sizeof(what), "refused: HTTP %ld", status);
            event(&dc, "checkin", c->gateway, what);
        }
        goto out;
    }
    rc = agent_parse_checkin(agent_net_body(n), agent_net_body_len(n), &ci, &why);
    if (rc) {
        char what[96];

        fprintf(stderr, "bulwark-agent: check-in answer refused: %s\n", why);
        snprintf(what, sizeof(what), "malformed answer refused: %s", why);
        event(&dc, "checkin", c->gateway, what);
        goto out;
    }
    *poll = ci.poll_interval < c->poll_min   ? c->poll_min
            : ci.poll_interval > c->poll_max ? c->poll_max
                                             : ci.poll_interval;
    if (!ci.has_action) {
        if (s.act.id && s.phase != PH_INSTALLED) { /* finished, or withdrawn */
            char part[AGENT_PATH_MAX + 80];

            snprintf(part, sizeof(part), "%.4000s/%s.part", c->state_dir, s.act.sha256);
            if (s.act.sha256[0])
                (void)unlink(part);
            memset(&s.act, 0, sizeof(s.act));
            s.phase = PH_NONE;
            s.fetched = s.resumed = 0;
            s.said = 0;
            s.target = -1;
            rc = state_save(c, &s);
        }
        printf("no update (next poll in %" PRIu64 " s)\n", *poll);
        goto out;
    }
    if (ci.action.id != s.act.id) {
        if (s.act.sha256[0] && strcmp(s.act.sha256, ci.action.sha256)) {
            char part[AGENT_PATH_MAX + 80];

            snprintf(part, sizeof(part), "%.4000s/%s.part", c->state_dir, s.act.sha256);
            (void)unlink(part);
        }
        if (s.phase == PH_INSTALLED) { /* an install still on trial: finish it first */
            rc = BW_OK;
            goto out;
        }
        s.act = ci.action;
        s.phase = PH_OFFERED;
        s.fetched = s.resumed = 0;
        s.said = 0;
        s.target = -1;
        printf("action %" PRId64 ": %s %s (sequence %" PRIu64 ", %" PRIu64 " bytes)\n", s.act.id,
               s.act.type, s.act.release, s.act.sequence, s.act.size);
    }
    rc = act(c, c->device_config, &dc, n, &s);
out:
    free(body);
    agent_net_close(n);
    if (rc == BW_E_IO)
        (void)state_save(c, &s);
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
                              phase_names[s.phase], "fetched", (json_int_t)s.fetched, "resumed",
                              (json_int_t)s.resumed, "size", (json_int_t)s.act.size, "version",
                              s.version, "report_owed", s.rep_action != 0, "install_now",
                              request_file(c, "install-now", NULL, 0), "postponed_until",
                              (json_int_t)(request_file(c, "postpone", &until, 0) ? until : 0));
        char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        if (!txt)
            return BW_E_NOMEM;
        printf("%s\n", txt);
        free(txt);
    }
    return BW_OK;
}
