/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One agent cycle, the same for the real agent and every simulated device:
 * finish a boot that is under way (health check, then confirm or roll
 * back), send the report still owed, check in, and act on the action the
 * gateway offers as the policy allows: download with resume, one pass over
 * the package (announced digest and the core's install stream), reboot.
 * Everything device- or process-specific comes in through struct agent_env
 * (agent.h): state, device, part file, transport, health, reboot, clock,
 * requests, events. Not here: where state lives, how a slot is written.
 * Method: the state is saved at each step, so a crash, a reboot or an
 * unreachable gateway resumes where it stopped; a final report that could
 * not be delivered stays in the state until the gateway takes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "bwh/host.h"
#include "net.h"

const char *const agent_phase_names[4] = {"none", "offered", "installed", "done"};

void agent_state_init(struct agent_state *s)
{
    memset(s, 0, sizeof(*s));
    s->target = -1;
}

/* One line on f: pre, the device's tag, then the message. */
__attribute__((format(printf, 4, 0))) static void vline(FILE *f, const char *pre, const char *tag,
                                                        const char *fmt, va_list ap)
{
    char line[1024];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(f, "%s%s%s\n", pre, tag, line);
}

/* Progress and reports, on env->out (none when it is NULL). */
__attribute__((format(printf, 2, 3))) static void say(const struct agent_env *env,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (!env->out)
        return;
    va_start(ap, fmt);
    vline(env->out, "", env->tag, fmt, ap);
    va_end(ap);
}

/* Failures, on stderr. */
__attribute__((format(printf, 2, 3))) static void warn(const struct agent_env *env,
                                                       const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vline(stderr, "bulwark-agent: ", env->tag, fmt, ap);
    va_end(ap);
}

static void event(const struct agent_env *env, const char *ev, const char *subject,
                  const char *outcome)
{
    if (env->event)
        env->event(env->ctx, ev, subject, outcome);
}

static void count(const struct agent_env *env, enum agent_count what, uint64_t n)
{
    if (env->count)
        env->count(env->ctx, what, n);
}

static int request(const struct agent_env *env, const char *name, uint64_t *val, int take)
{
    return env->request ? env->request(env->ctx, name, val, take) : 0;
}

static bw_err save(const struct agent_env *env, const struct agent_state *s)
{
    return env->save(env->ctx, s);
}

/* A report owed: kept in the state until the gateway takes it. Feedback is
 * one line (the agent's state file is line-based). */
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
static bw_err send_report(const struct agent_env *env, struct agent_net *n, struct agent_state *s)
{
    long status = 0;
    bw_err rc;

    if (!s->rep_action)
        return BW_OK;
    rc = agent_net_report(n, s->rep_action, s->rep_state, s->rep_feedback, &status);
    if (rc)
        return rc;
    say(env, "report action %" PRId64 " %s: %s (HTTP %ld)", s->rep_action, s->rep_state,
        s->rep_feedback, status);
    count(env, AGENT_N_REPORTS, 1);
    if (!strcmp(s->rep_state, "failure"))
        count(env, AGENT_N_FAILURES, 1);
    s->rep_action = 0;
    s->rep_state[0] = s->rep_feedback[0] = 0;
    return BW_OK;
}

/* Reports a state once per action (the "waiting" kinds). */
static void say_once(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                     const char *what)
{
    if (s->said)
        return;
    owe_report(s, "running", what);
    if (!send_report(env, n, s))
        s->said = 1;
    say(env, "%s", what);
}

/*
 * After an install the device reboots into the trial slot. Here the boot
 * state says how it went: booted into the trial -> health check, then
 * confirm or roll back; the trial gone without a confirm -> it fell back.
 */
static bw_err after_boot(const struct agent_env *env, struct agent_state *s)
{
    struct agent_dev d;
    const char *what = "device";
    char msg[400], subj[160];
    int do_reboot = 0, hs;
    bw_err rc;

    if (s->phase != AGENT_PH_INSTALLED || s->target < 0)
        return BW_OK;
    memset(&d, 0, sizeof(d));
    rc = env->dev_open(env->ctx, 0, 1, &d, &what);
    if (rc) {
        warn(env, "%s: %s", what, bw_strerror(rc));
        env->dev_close(env->ctx);
        return rc;
    }
    snprintf(subj, sizeof(subj), "action %" PRId64 " %s slot %c", s->act.id, s->act.release,
             'a' + s->target);
    if (d.u->st.trial == s->target && d.u->st.booted == s->target) {
        hs = env->health(env->ctx, s->target);
        if (hs == 0) {
            rc = bw_update_confirm(d.u);
            if (!rc) {
                snprintf(msg, sizeof(msg), "confirmed: %s (sequence %" PRIu64 ") runs from slot %c",
                         s->act.release, s->act.sequence, 'a' + s->target);
                owe_report(s, "success", msg);
                snprintf(s->version, sizeof(s->version), "%s", s->act.release);
                event(env, "confirm", subj, "ok: health check passed");
                count(env, AGENT_N_CONFIRMED, 1);
            } else {
                snprintf(msg, sizeof(msg), "confirm failed: %s", bw_errname(rc));
                owe_report(s, "failure", msg);
                event(env, "confirm", subj, bw_errname(rc));
            }
        } else {
            rc = bw_update_rollback(d.u);
            snprintf(msg, sizeof(msg),
                     "health check failed (exit %d): trial of slot %c cancelled, %s; slot %c "
                     "boots next",
                     hs, 'a' + s->target, rc ? bw_errname(rc) : "rolled back",
                     'a' + d.u->st.active);
            owe_report(s, "failure", msg);
            event(env, "rollback", subj, msg);
            do_reboot = 1;
        }
        s->phase = AGENT_PH_DONE;
    } else if (d.u->st.trial == s->target) {
        env->dev_close(env->ctx);
        return BW_OK; /* not rebooted yet */
    } else if (d.u->st.active == s->target && d.u->st.confirmed) {
        snprintf(msg, sizeof(msg), "confirmed (outside the agent): slot %c", 'a' + s->target);
        owe_report(s, "success", msg);
        s->phase = AGENT_PH_DONE;
    } else {
        snprintf(msg, sizeof(msg),
                 "rolled back: the trial of slot %c ended without a confirm; slot %c runs",
                 'a' + s->target, 'a' + d.u->st.active);
        owe_report(s, "failure", msg);
        event(env, "rollback", subj, msg);
        s->phase = AGENT_PH_DONE;
    }
    env->dev_close(env->ctx);
    rc = save(env, s);
    say(env, "%s", msg);
    if (do_reboot)
        (void)env->reboot(env->ctx);
    return rc;
}

/* The running image's sequence, for check-in (0 when unknown). */
static uint64_t running_sequence(const struct agent_env *env)
{
    struct agent_dev d;
    const char *what;
    uint64_t seq = 0;

    memset(&d, 0, sizeof(d));
    if (!env->dev_open(env->ctx, 0, 0, &d, &what) &&
        d.u->st.slot_sequence[d.u->st.active] != BW_SEQ_EMPTY)
        seq = d.u->st.slot_sequence[d.u->st.active];
    env->dev_close(env->ctx);
    return seq;
}

char *agent_checkin_body(const struct agent_conf *c, const struct agent_state *s, uint64_t seq)
{
    char attrs[AGENT_PATH_MAX], ver[AGENT_STR_MAX], *p, *save_p = NULL, *body;
    json_t *o, *a;

    /* agent.conf's version wins: an operator who pins it means it */
    if (*c->version)
        snprintf(ver, sizeof(ver), "%s", c->version);
    else if (*s->version)
        snprintf(ver, sizeof(ver), "%s", s->version);
    else
        snprintf(ver, sizeof(ver), "sequence %" PRIu64, seq);
    a = json_object();
    snprintf(attrs, sizeof(attrs), "%s", c->attributes);
    for (p = strtok_r(attrs, ",", &save_p); p && a; p = strtok_r(NULL, ",", &save_p)) {
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

/* Downloads into env's part file, resuming from what is there. BW_OK when
 * it holds as many bytes as announced (their digest is checked by the one
 * pass that reads them); BW_E_SIZE when it holds more; BW_E_IO when the
 * transfer broke off (kept); BW_E_NOTFOUND for a 4xx. *fd: the part file,
 * open, on BW_OK. */
static bw_err download(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                       int *fdp)
{
    struct stat stt;
    uint64_t have, got = 0;
    long status = 0;
    int fd = -1;
    bw_err rc;

    *fdp = -1;
    rc = env->part_open(env->ctx, s->act.sha256, &fd);
    if (rc)
        return rc;
    rc = BW_E_IO;
    if (fstat(fd, &stt) != 0)
        goto out;
    have = (uint64_t)stt.st_size;
    if (have > s->act.size) {
        have = 0;
        if (ftruncate(fd, 0) != 0)
            goto out;
    }
    if (lseek(fd, (off_t)have, SEEK_SET) != (off_t)have)
        goto out;
    if (have < s->act.size) {
        if (have) {
            s->resumed++;
            say(env, "download resumes at byte %" PRIu64 " of %" PRIu64, have, s->act.size);
        }
        rc = agent_net_download(n, s->act.sha256, fd, have, s->act.size, &got, &status);
        s->fetched += got;
        count(env, AGENT_N_BYTES, got);
        (void)fdatasync(fd); /* what came is kept for the next attempt */
        if (rc)
            goto out;
        rc = BW_E_IO;
        if (fstat(fd, &stt) != 0)
            goto out;
        have = (uint64_t)stt.st_size;
        if (status != 200 && status != 206) {
            warn(env, "download: HTTP %ld %s", status, agent_net_body(n));
            rc = status >= 500 || status == 416 ? BW_E_IO : BW_E_NOTFOUND;
            goto out;
        }
    }
    rc = have < s->act.size ? BW_E_IO : have > s->act.size ? BW_E_SIZE : BW_OK;
out:
    if (rc)
        close(fd);
    else
        *fdp = fd;
    return rc;
}

/* The install stream's buffers, lent by this host. */
struct pass {
    struct bwh_pkg p;
    struct bw_install in;
    uint8_t *list, *chunk;
    int installing;
    bw_err rc;          /* the first failure of the install side */
    const char *stage;  /* where it failed */
};

/* Envelope, then the install stream's begin and the bytes read past the
 * envelope. pfd: a dup of the package's fd (bwh_pkg closes it). */
static void pass_begin(struct pass *ps, int pfd, const struct agent_dev *d)
{
    const struct bw_suit_component *c;
    struct bw_suit_expect e;
    uint64_t n_chunks = 0, list_len = 0;
    int integrated;

    ps->stage = "envelope";
    ps->rc = bwh_pkg_open_fd(&ps->p, pfd, d->key, BW_SUIT_ENVELOPE_MAX);
    if (ps->rc)
        return;
    c = &ps->p.suit.comp[0];
    integrated = c->has_uri && c->uri.len && c->uri.p[0] == '#';
    ps->stage = "device check";
    if (!integrated) {
        ps->rc = bw_suit_chunk_layout(&ps->p.suit, 0, &n_chunks, &list_len);
        if (ps->rc == BW_E_NOTFOUND)
            ps->rc = BW_E_UNSUPPORTED;
        if (!ps->rc && list_len > BWH_PKG_LIST_MAX)
            ps->rc = BW_E_TOOBIG;
        if (ps->rc)
            return;
        ps->list = bwh_malloc(list_len ? (size_t)list_len : 1);
        ps->chunk = bwh_malloc(c->chunk_size ? c->chunk_size : 1);
        ps->rc = ps->list && ps->chunk ? BW_OK : BW_E_NOMEM;
        if (ps->rc)
            return;
    }
    memset(&e, 0, sizeof(e));
    e.vendor_id = d->vendor_id;
    e.class_id = d->class_id;
    ps->rc = bw_install_begin(&ps->in, d->u, &ps->p.suit, &e, ps->list, (size_t)list_len,
                              ps->chunk, c->chunk_size);
    if (ps->rc)
        return;
    ps->installing = 1;
    ps->stage = "payload";
    ps->rc = bw_install_feed(&ps->in, ps->p.buf + ps->p.buf_pos, ps->p.buf_len - ps->p.buf_pos);
}

/*
 * Method: the file is read front to back once. The envelope reader
 * (bwh_pkg_open_fd) reads through a dup of fd, so its buffer holds exactly
 * the bytes it took and fd's offset stands after them; those bytes and
 * every later block are hashed for the announced digest, and the bytes
 * past the envelope are fed to the install stream (chunk list, then
 * chunks: the core checks each before the slot sees it). An install that
 * fails stops being fed, but the file is still read to its end for the
 * digest, so a package changed in transit is named as such, not by the
 * check that tripped over it. The stream finishes (slot marked for trial)
 * only after the digest matched.
 */
bw_err agent_pkg_pass(int fd, uint64_t size, const char *sha256, const struct agent_dev *d,
                      const char **stage, uint64_t *nread)
{
    struct pass ps;
    struct bw_sha256 h;
    uint8_t *buf = NULL, dig[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    size_t r;
    int pfd, hashing = 0;
    bw_err rc;

    memset(&ps, 0, sizeof(ps));
    ps.p.fd = -1;
    *nread = 0;
    *stage = "download";
    rc = BW_E_IO;
    if (lseek(fd, 0, SEEK_SET) != 0)
        goto out;
    if ((rc = bw_sha256_init(&h)))
        goto out;
    hashing = 1;
    rc = BW_E_NOMEM;
    if (!(buf = bwh_malloc(65536)))
        goto out;
    if (d) {
        rc = BW_E_IO;
        if ((pfd = dup(fd)) < 0)
            goto out;
        pass_begin(&ps, pfd, d);
        *nread += ps.p.buf_len;
        if (ps.p.buf_len && (rc = bw_sha256_update(&h, ps.p.buf, ps.p.buf_len)))
            goto out;
    }
    for (;;) {
        if ((rc = bwh_read_full(fd, buf, 65536, &r)))
            goto out;
        *nread += r;
        if ((rc = bw_sha256_update(&h, buf, r)))
            goto out;
        if (ps.installing && !ps.rc)
            ps.rc = bw_install_feed(&ps.in, buf, r);
        if (r < 65536)
            break;
    }
    hashing = 0;
    if ((rc = bw_sha256_final(&h, dig)))
        goto out;
    bw_hex(hex, dig, BW_SHA256_LEN);
    /* the announced digest first: a package changed in transit or at rest
     * is refused as a download, whatever else is wrong with it */
    rc = BW_E_SIZE;
    if (*nread != size)
        goto out;
    rc = BW_E_DIGEST;
    if (strcmp(hex, sha256))
        goto out;
    rc = ps.rc;
    *stage = ps.stage;
    if (rc || !d)
        goto out;
    *stage = "finish";
    rc = bw_install_finish(&ps.in);
    ps.installing = 0;
out:
    if (hashing)
        bw_sha256_abort(&h);
    if (ps.installing && rc)
        bw_install_abort(&ps.in);
    bwh_pkg_close(&ps.p);
    bwh_free(ps.list);
    bwh_free(ps.chunk);
    bwh_free(buf);
    return rc;
}

/* Ends the action with a failure report. */
static bw_err refuse(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                     const char *ev, const char *subj, const char *msg)
{
    event(env, ev, subj, msg);
    owe_report(s, "failure", msg);
    s->phase = AGENT_PH_DONE;
    say(env, "%s", msg);
    (void)save(env, s);
    return send_report(env, n, s);
}

/* The policy's word on installing now: BW_OK to go on; BW_E_STATE to wait
 * (said and saved). */
static bw_err may_install(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                          int install_now, const char *subj)
{
    const struct agent_conf *c = env->c;
    char msg[512];
    uint64_t until = 0;
    int64_t now = env->clock(env->ctx);
    int forced = !strcmp(s->act.type, "forced");

    if (c->policy == POLICY_NOTIFY) {
        if (!s->said)
            event(env, "update", subj, "available; policy notify: not installed");
        snprintf(msg, sizeof(msg), "update available: %s; policy notify, not installing",
                 s->act.release);
        say_once(env, n, s, msg);
        return BW_E_STATE;
    }
    if (c->policy == POLICY_MANUAL && !install_now) {
        snprintf(msg, sizeof(msg),
                 "update available: %s; policy manual, waiting for bulwark-agent --install-now",
                 s->act.release);
        say_once(env, n, s, msg);
        return BW_E_STATE;
    }
    if (!install_now && request(env, "postpone", &until, 0) && (int64_t)until > now) {
        say(env, "postponed by the user for %" PRId64 " s more", (int64_t)until - now);
        return BW_E_STATE;
    }
    if (!install_now && !forced && c->window_start >= 0) {
        time_t t = (time_t)now;
        struct tm tm;

        localtime_r(&t, &tm);
        if (!agent_window_open(c->window_start, c->window_end, tm.tm_hour * 60 + tm.tm_min)) {
            snprintf(msg, sizeof(msg), "update available: %s; waiting for the maintenance window %s",
                     s->act.release, c->window);
            say_once(env, n, s, msg);
            return BW_E_STATE;
        }
    }
    return BW_OK;
}

/* *rebooted: the environment's reboot brought the device up again. */
static bw_err act(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                  int *rebooted)
{
    char msg[512], subj[200];
    const char *stage = "", *what = "device";
    struct agent_dev d;
    uint64_t nread = 0;
    int dl_only = !strcmp(s->act.type, "download-only");
    int install_now = request(env, "install-now", NULL, 0), fd = -1;
    bw_err rc;

    snprintf(subj, sizeof(subj), "action %" PRId64 " %s sequence %" PRIu64, s->act.id,
             s->act.release, s->act.sequence);
    if (s->phase == AGENT_PH_INSTALLED || s->phase == AGENT_PH_DONE)
        return BW_OK; /* waiting for the reboot, or the final report went out */
    if (!dl_only && may_install(env, n, s, install_now, subj))
        return save(env, s);
    if (s->fetched == 0) {
        owe_report(s, "running", "downloading");
        if ((rc = send_report(env, n, s)))
            return rc;
    }
    rc = download(env, n, s, &fd);
    if (save(env, s))
        warn(env, "state not saved");
    if (rc == BW_E_IO)
        return rc; /* keep the partial file, try again later */
    if (rc) {
        snprintf(msg, sizeof(msg), "download refused: %s (%s)", bw_strerror(rc), bw_errname(rc));
        env->part_drop(env->ctx, s->act.sha256);
        return refuse(env, n, s, "download", subj, msg);
    }
    /* the one read of the package: its digest and, unless the action only
     * downloads, the install stream (every chunk verified before it is
     * written); the device is locked only now */
    memset(&d, 0, sizeof(d));
    if (install_now && !dl_only)
        (void)request(env, "install-now", NULL, 1);
    rc = dl_only ? BW_OK : env->dev_open(env->ctx, 1, 1, &d, &what);
    if (!rc) {
        rc = agent_pkg_pass(fd, s->act.size, s->act.sha256, dl_only ? NULL : &d, &stage, &nread);
        if (!rc && !dl_only)
            s->target = d.u->target; /* read while the device is open */
    } else {
        stage = "device"; /* what names the part of it, on stderr */
    }
    if (rc && !strcmp(stage, "device"))
        warn(env, "%s: %s", what, bw_strerror(rc));
    if (!dl_only)
        env->dev_close(env->ctx);
    close(fd);
    if (rc == BW_E_IO && !strcmp(stage, "download"))
        return rc; /* the part file could not be read: again later */
    env->part_drop(env->ctx, s->act.sha256);
    if (nread)
        say(env, "downloaded %" PRIu64 " bytes (%" PRIu64 " received, %" PRIu64 " resumes; %" PRIu64
            " read once)", s->act.size, s->fetched, s->resumed, nread);
    if (rc && !strcmp(stage, "download")) {
        snprintf(msg, sizeof(msg), "download refused: %s (%s)",
                 rc == BW_E_DIGEST ? "SHA-256 differs from the announced digest" : bw_strerror(rc),
                 bw_errname(rc));
        return refuse(env, n, s, "download", subj, msg);
    }
    if (dl_only) {
        owe_report(s, "success", "downloaded (download-only action)");
        s->phase = AGENT_PH_DONE;
        (void)save(env, s);
        return send_report(env, n, s);
    }
    if (rc) {
        snprintf(msg, sizeof(msg), "install refused at %s: %s (%s)", stage, bw_strerror(rc),
                 bw_errname(rc));
        return refuse(env, n, s, "install", subj, msg);
    }
    count(env, AGENT_N_INSTALLED, 1);
    snprintf(msg, sizeof(msg), "installed into slot %c; rebooting into it on trial",
             'a' + s->target);
    event(env, "install", subj, msg);
    s->phase = AGENT_PH_INSTALLED;
    owe_report(s, "running", msg);
    say(env, "%s", msg);
    rc = save(env, s);
    if (rc)
        return rc;
    (void)send_report(env, n, s); /* kept and sent later if the gateway is away */
    (void)save(env, s);
    *rebooted = env->reboot(env->ctx);
    return BW_OK;
}

/* A wait of base seconds spread by +-jitter percent. */
static double spread(double base, uint64_t jitter)
{
    uint32_t r = 0;

    if (!jitter || bw_random(&r, sizeof(r)))
        return base;
    return base * (1.0 + (double)jitter / 100.0 * ((double)r / 4294967295.0 * 2.0 - 1.0));
}

double agent_next_wait(const struct agent_conf *c, bw_err rc, uint64_t poll, unsigned *fails)
{
    if (rc == BW_E_IO) {
        /* exponential backoff: retry_min doubling to retry_max */
        double b = (double)c->retry_min * (double)(1u << (*fails < 20 ? *fails : 20));

        (*fails)++;
        return spread(b < (double)c->retry_max ? b : (double)c->retry_max, 50);
    }
    *fails = 0;
    return poll ? spread((double)poll, c->jitter) : 0;
}

/* Forgets the action (finished, withdrawn or replaced). */
static void forget(const struct agent_env *env, struct agent_state *s)
{
    if (s->act.sha256[0])
        env->part_drop(env->ctx, s->act.sha256);
    memset(&s->act, 0, sizeof(s->act));
    s->phase = AGENT_PH_NONE;
    s->fetched = s->resumed = 0;
    s->said = 0;
    s->target = -1;
}

bw_err agent_run_cycle(const struct agent_env *env, uint64_t *poll)
{
    const struct agent_conf *c = env->c;
    struct agent_state s, was;
    struct agent_checkin ci;
    struct agent_net *n = NULL;
    char *body = NULL;
    const char *why = NULL;
    long status = 0;
    int rebooted = 0;
    bw_err rc;

    *poll = c->poll_max;
    if ((rc = env->load(env->ctx, &s)))
        return rc;
    memcpy(&was, &s, sizeof(s));
    /* local first: a boot under way is finished even with no network */
    if ((rc = after_boot(env, &s)))
        return rc;
    if ((rc = env->net_open(env->ctx, &n)))
        goto out;
    if ((rc = send_report(env, n, &s)))
        goto out;
    if (memcmp(&s, &was, sizeof(s)))
        (void)save(env, &s); /* the report was taken */
    rc = BW_E_NOMEM;
    if (!(body = agent_checkin_body(c, &s, running_sequence(env))))
        goto out;
    if ((rc = agent_net_post(n, "/api/v1/device/checkin", body, &status)))
        goto out;
    if (status != 200) {
        char what[64];

        warn(env, "check-in: HTTP %ld %s", status, agent_net_body(n));
        rc = status >= 500 ? BW_E_IO : BW_E_DENIED;
        if (status == 401 || status == 403) { /* revoked, unknown, or a token problem */
            snprintf(what, sizeof(what), "refused: HTTP %ld", status);
            event(env, "checkin", c->gateway, what);
        }
        goto out;
    }
    rc = agent_parse_checkin(agent_net_body(n), agent_net_body_len(n), &ci, &why);
    if (rc) {
        char what[96];

        warn(env, "check-in answer refused: %s", why);
        snprintf(what, sizeof(what), "malformed answer refused: %s", why);
        event(env, "checkin", c->gateway, what);
        goto out;
    }
    *poll = ci.poll_interval < c->poll_min   ? c->poll_min
            : ci.poll_interval > c->poll_max ? c->poll_max
                                             : ci.poll_interval;
    if (!ci.has_action) {
        if (s.act.id && s.phase != AGENT_PH_INSTALLED) { /* finished, or withdrawn */
            forget(env, &s);
            rc = save(env, &s);
        }
        say(env, "no update (next poll in %" PRIu64 " s)", *poll);
        goto out;
    }
    if (ci.action.id != s.act.id) {
        if (s.phase == AGENT_PH_INSTALLED) /* an install still on trial: finish it first */
            goto out;
        if (strcmp(s.act.sha256, ci.action.sha256))
            forget(env, &s); /* another package: its part file goes */
        s.act = ci.action;
        s.phase = AGENT_PH_OFFERED;
        s.fetched = s.resumed = 0;
        s.said = 0;
        s.target = -1;
        say(env, "action %" PRId64 ": %s %s (sequence %" PRIu64 ", %" PRIu64 " bytes)", s.act.id,
            s.act.type, s.act.release, s.act.sequence, s.act.size);
    }
    rc = act(env, n, &s, &rebooted);
    if (!rc && rebooted)
        *poll = 0; /* the device is up again: its agent's first cycle comes at once */
out:
    free(body);
    agent_net_close(n);
    /* what changed since the last save (a report taken by the gateway,
     * bytes fetched) is kept; an unchanged state is not written again */
    if (memcmp(&s, &was, sizeof(s)))
        (void)save(env, &s);
    return rc;
}
