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
#include "bwh/delta.h"
#include "bwh/host.h"
#include "bwh/tuf.h"
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

/* The trial of s's action was confirmed (by, e.g. " by the device"): the
 * success report owed, the release it runs, the event. */
static void confirmed(const struct agent_env *env, struct agent_state *s, const char *subj,
                      const char *by, const char *outcome, char *msg, size_t cap)
{
    snprintf(msg, cap, "confirmed%s: %s (sequence %" PRIu64 ") runs from slot %c", by,
             s->act.release, s->act.sequence, 'a' + s->target);
    owe_report(s, "success", msg);
    snprintf(s->version, sizeof(s->version), "%s", s->act.release);
    event(env, "confirm", subj, outcome);
    count(env, AGENT_N_CONFIRMED, 1);
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
    if (d.remote && d.u->st.trial == s->target && d.u->st.booted == s->target) {
        /* a secondary decides its trial itself: said once, then waited for */
        env->dev_close(env->ctx);
        if (s->said)
            return BW_OK;
        snprintf(msg, sizeof(msg),
                 "on trial: slot %c booted (%s, sequence %" PRIu64 "), %u boots left; the device "
                 "confirms it itself", 'a' + s->target, s->act.release, s->act.sequence,
                 (unsigned)d.u->st.trial_boots_left);
        owe_report(s, "running", msg);
        s->said = 1;
        say(env, "%s", msg);
        return save(env, s);
    } else if (d.u->st.trial == s->target && d.u->st.booted == s->target) {
        hs = env->health(env->ctx, s->target);
        if (hs == 0) {
            rc = bw_update_confirm(d.u);
            if (!rc) {
                confirmed(env, s, subj, "", "ok: health check passed", msg, sizeof(msg));
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
    } else if (d.u->st.active == s->target && d.u->st.confirmed && d.remote) {
        confirmed(env, s, subj, " by the device", "ok: confirmed by the device", msg, sizeof(msg));
        s->phase = AGENT_PH_DONE;
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
    if (a && s->tuf[0]) /* the TUF client's state: the gateway sees a freeze or rollback */
        json_object_set_new(a, "tuf", json_string(s->tuf));
    o = json_pack("{s:s,s:I,s:o}", "version", ver, "sequence", (json_int_t)seq, "attributes",
                  a ? a : json_object());
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return body;
}

/* Downloads kind ("download": the package, "delta") sha256 into env's
 * part file of that name, resuming from what is there. BW_OK when
 * it holds as many bytes as announced (their digest is checked by the one
 * pass that reads them); BW_E_SIZE when it holds more; BW_E_IO when the
 * transfer broke off (kept); BW_E_NOTFOUND for a 4xx. *fd: the part file,
 * open, on BW_OK. */
static bw_err download(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                       const char *kind, const char *sha256, uint64_t size, int *fdp)
{
    struct stat stt;
    uint64_t have, got = 0;
    long status = 0;
    int fd = -1;
    bw_err rc;

    *fdp = -1;
    rc = env->part_open(env->ctx, sha256, &fd);
    if (rc)
        return rc;
    rc = BW_E_IO;
    if (fstat(fd, &stt) != 0)
        goto out;
    have = (uint64_t)stt.st_size;
    if (have > size) {
        have = 0;
        if (ftruncate(fd, 0) != 0)
            goto out;
    }
    if (lseek(fd, (off_t)have, SEEK_SET) != (off_t)have)
        goto out;
    if (have < size) {
        if (have) {
            s->resumed++;
            say(env, "download resumes at byte %" PRIu64 " of %" PRIu64, have, size);
        }
        rc = agent_net_download(n, kind, sha256, fd, have, size, &got, &status);
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
    rc = have < size ? BW_E_IO : have > size ? BW_E_SIZE : BW_OK;
out:
    if (rc)
        close(fd);
    else
        *fdp = fd;
    return rc;
}

/* The install stream's buffers, lent by this host. */
/* The announced digest and size of a package, hashed as it is read. */
struct pass {
    struct bw_sha256 h;
    int hashing;        /* h still open */
    uint64_t envelope;  /* bytes the envelope reader took */
    uint64_t size;
    const char *sha256;
};

static bw_err pass_final(struct pass *ps, uint64_t nread)
{
    uint8_t dig[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    bw_err rc;

    ps->hashing = 0;
    if ((rc = bw_sha256_final(&ps->h, dig)))
        return rc;
    bw_hex(hex, dig, BW_SHA256_LEN);
    if (nread != ps->size)
        return BW_E_SIZE;
    return strcmp(hex, ps->sha256) ? BW_E_DIGEST : BW_OK;
}

/* bwh_pkg_install's gate: after the last byte, before the trial mark. */
static bw_err pass_gate(void *ctx, const struct bwh_pkg *p)
{
    struct pass *ps = ctx;

    return pass_final(ps, ps->envelope + p->nread);
}

/* Reads fd to its end into the digest; *n counts the bytes. */
static bw_err pass_drain(struct pass *ps, int fd, uint64_t *n)
{
    uint8_t buf[16384];
    size_t r;
    bw_err rc;

    do {
        if ((rc = bwh_read_full(fd, buf, sizeof(buf), &r)) ||
            (r && (rc = bw_sha256_update(&ps->h, buf, r))))
            return rc;
        *n += r;
    } while (r == sizeof(buf));
    return BW_OK;
}

/* The authenticated manifest s against the custom metadata of the TUF
 * target it must be: BW_E_VENDOR, BW_E_CLASS, BW_E_STATE (sequence). */
static bw_err tuf_manifest(const struct bw_suit *s, const struct bwh_tuf_target *tg)
{
    char id[37];

    if (!s->n_components)
        return BW_E_FORMAT;
    if (tg->vendor_id[0]) {
        bwh_uuid_format(id, s->comp[0].vendor_id);
        if (!s->comp[0].has_vendor || strcmp(id, tg->vendor_id))
            return BW_E_VENDOR;
    }
    if (tg->class_id[0]) {
        bwh_uuid_format(id, s->comp[0].class_id);
        if (!s->comp[0].has_class || strcmp(id, tg->class_id))
            return BW_E_CLASS;
    }
    if (!tg->has_sequence || s->sequence != tg->sequence)
        return BW_E_STATE;
    return BW_OK;
}

/*
 * Method: the file is read front to back once, by the host's package
 * reader and install pipeline (bwh_pkg_install, the same as `bulwark
 * install`): the envelope reader takes the first bytes through a dup of fd,
 * every later byte it reads is added to the announced digest (its tap),
 * and the core's stream checks each chunk before the slot sees it. The
 * announced digest is compared at the gate, after the last byte and before
 * the core marks the trial. An install that stops early leaves the rest
 * of the file to be read here for the digest, so a package changed in
 * transit is named as such, not by the check that tripped over it.
 */
bw_err agent_pkg_pass(int fd, uint64_t size, const char *sha256, const struct agent_dev *d,
                      const char **stage, uint64_t *nread)
{
    struct pass ps;
    struct bwh_pkg p;
    struct bw_suit_expect e;
    struct bwh_pkg_opts o;
    int pfd;
    bw_err rc, drc;

    memset(&ps, 0, sizeof(ps));
    memset(&p, 0, sizeof(p));
    p.fd = -1;
    ps.size = size;
    ps.sha256 = sha256;
    *nread = 0;
    *stage = "download";
    rc = BW_E_IO;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return rc;
    if ((rc = bw_sha256_init(&ps.h)))
        return rc;
    ps.hashing = 1;
    if (!d) { /* download only: the digest is all */
        if (!(rc = pass_drain(&ps, fd, nread)))
            rc = pass_final(&ps, *nread);
        goto out;
    }
    rc = BW_E_IO;
    if ((pfd = dup(fd)) < 0)
        goto out;
    *stage = "envelope";
    rc = bwh_pkg_open_fd(&p, pfd, d->key, BW_SUIT_ENVELOPE_MAX);
    ps.envelope = p.buf_len;
    if (p.buf_len && (drc = bw_sha256_update(&ps.h, p.buf, p.buf_len)) && !rc)
        rc = drc;
    if (!rc && d->tuf) {
        *stage = "tuf target";
        rc = tuf_manifest(&p.suit, d->tuf);
    }
    if (!rc) {
        memset(&e, 0, sizeof(e));
        e.vendor_id = d->vendor_id;
        e.class_id = d->class_id;
        memset(&o, 0, sizeof(o));
        o.tap = &ps.h;
        o.gate = pass_gate;
        o.gate_ctx = &ps;
        if (d->remote) {
            /* verified here, written by the device: the checks its install
             * runs (its floor, the image for the bank it writes), no slot */
            e.min_sequence = d->u->st.highest_sequence;
            if (p.suit.try_each || p.suit.slot_cond)
                rc = bw_suit_select(&p.suit, d->u->target);
            if (!rc)
                rc = bwh_pkg_install(&p, NULL, &e, &o, stage);
        } else {
            rc = bwh_pkg_install(&p, d->u, &e, &o, stage);
        }
    }
    *nread = ps.envelope + p.nread;
    if (rc && ps.hashing) {
        /* stopped before the end: the rest is read for the digest */
        drc = pass_drain(&ps, fd, nread);
        if (!drc)
            drc = pass_final(&ps, *nread);
        if (drc) {
            rc = drc;
            *stage = "download";
        }
    } else if (rc && !strcmp(*stage, "gate")) {
        *stage = "download";
    }
    if (rc == BW_E_IO)
        *stage = "download"; /* the file could not be read */
out:
    if (ps.hashing)
        bw_sha256_abort(&ps.h);
    bwh_pkg_close(&p);
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

/* A wait the gateway records (its hold: the feedback's start, gateway/db.c):
 * reported once each time the device starts waiting for something else. */
static void wait_for(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                     enum agent_wait w, const char *msg)
{
    if (s->waiting == (int)w)
        return;
    owe_report(s, "running", msg);
    if (!send_report(env, n, s))
        s->waiting = (int)w;
    say(env, "%s", msg);
}

/* Consent (agent.conf consent = yes, or the campaign asks): nonzero while
 * the user has not given it with bulwark-agent --consent (said). */
static int needs_consent(const struct agent_env *env, struct agent_net *n, struct agent_state *s)
{
    char msg[512];
    uint64_t id = 0;

    if (s->consented || (!env->c->consent && !s->act.consent))
        return 0;
    if (request(env, "consent", &id, 1) && id == (uint64_t)s->act.id) {
        s->consented = 1;
        event(env, "consent", s->act.release, "given by the user");
        return 0;
    } /* a consent for another action is dropped */
    snprintf(msg, sizeof(msg), "waiting for consent: %s; bulwark-agent --consent installs it",
             s->act.release);
    wait_for(env, n, s, AGENT_WAIT_CONSENT, msg);
    return 1;
}

/* After the download: BW_OK to install now; BW_E_STATE to wait (said),
 * the package kept; another code when the kept package is not the
 * announced one. Install later: the gateway says "later" and no local
 * --install-now came; the package's digest is checked once, now. The
 * update lock: held by an application, and neither the gateway's override
 * nor lock_max_hold since the install first found it held lets it go on. */
static bw_err may_go_on(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                        int fd, int install_now, const char *subj)
{
    const struct agent_conf *c = env->c;
    const char *stage;
    char msg[512];
    uint64_t nread = 0;
    int64_t now;
    bw_err rc;

    if (s->act.later && !install_now) {
        if (!s->staged) {
            if ((rc = agent_pkg_pass(fd, s->act.size, s->act.sha256, NULL, &stage, &nread)))
                return rc;
            s->staged = 1;
            event(env, "download", subj, "staged: digest verified, install later");
        }
        snprintf(msg, sizeof(msg),
                 "waiting to install: %s downloaded and verified (%" PRIu64 " bytes); it "
                 "installs on the gateway's trigger, in its window, or with "
                 "bulwark-agent --install-now",
                 s->act.release, s->act.size);
        wait_for(env, n, s, AGENT_WAIT_LATER, msg);
        return BW_E_STATE;
    }
    if (!env->update_lock || !env->update_lock(env->ctx, 1)) {
        s->locked_since = 0;
        return BW_OK;
    }
    now = env->clock(env->ctx);
    if (!s->locked_since)
        s->locked_since = now;
    if (s->act.override || (c->lock_max_hold && now - s->locked_since >= (int64_t)c->lock_max_hold)) {
        snprintf(msg, sizeof(msg), "update lock held for %" PRId64 " s: installing anyway (%s)",
                 now - s->locked_since,
                 s->act.override ? "the gateway's override" : "lock_max_hold passed");
        event(env, "install", subj, msg);
        say(env, "%s", msg);
        return BW_OK;
    }
    snprintf(msg, sizeof(msg),
             "waiting for the update lock: an application holds %.300s (for %" PRId64 " s; at most "
             "%" PRIu64 " s)",
             c->update_lock, now - s->locked_since, c->lock_max_hold);
    wait_for(env, n, s, AGENT_WAIT_LOCK, msg);
    return BW_E_STATE;
}

/* *rebooted: the environment's reboot brought the device up again. */
static bw_err installed(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                        int remote, int *rebooted);

/* The delta's bytes, read with Range requests over the agent's own
 * authenticated connection to the gateway. */
struct delta_net {
    struct agent_net *n;
    const char *sha256;
    long status;
};

static bw_err delta_net_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
    struct delta_net *dn = ctx;
    uint64_t got = 0;
    bw_err rc = agent_net_range(dn->n, "delta", dn->sha256, off, buf, len, &got, &dn->status);

    if (rc)
        return rc;
    return dn->status == 200 ? BW_E_UNSUPPORTED
           : dn->status != 206 ? BW_E_IO
           : got < len        ? BW_E_TRUNCATED
                              : BW_OK;
}

/*
 * The delta the gateway offers (docs/delta.md): its head and the frames
 * the plan needs, read in ranges from the gateway, assembled chunk by
 * chunk against the running slot by the host's delta installer, whose
 * every chunk the core checks against the signed list before it is
 * written. BW_OK: installed (s->target set). Otherwise *stage says where
 * it stopped; bwh_delta_may_fall_back says whether the full package may
 * follow. The bytes fetched are counted in s->fetched.
 */
static bw_err act_delta(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                        const char **stage)
{
    struct agent_dev d;
    struct delta_net dn;
    struct bwh_delta_src src;
    struct bwh_delta dd;
    struct bwh_delta_stats st;
    struct bw_suit suit;
    struct bw_suit_expect e;
    uint8_t *envb = NULL, *list = NULL, target = 0;
    const char *what = "device";
    bw_err rc;

    memset(&dd, 0, sizeof(dd));
    memset(&src, 0, sizeof(src));
    memset(&st, 0, sizeof(st));
    memset(&d, 0, sizeof(d));
    dn.n = n;
    dn.sha256 = s->act.delta_sha256;
    dn.status = 0;
    src.read = delta_net_read;
    src.ctx = &dn;
    *stage = "device";
    rc = env->dev_open(env->ctx, 1, 1, &d, &what);
    if (!rc && d.remote)
        rc = BW_E_UNSUPPORTED; /* a secondary installs whole packages */
    if (!rc) {
        *stage = "delta";
        rc = bwh_delta_open(&src, d.key, &dd, &suit, &envb, &list);
    }
    if (!rc)
        rc = bw_update_target(d.u, &target);
    if (!rc) {
        memset(&e, 0, sizeof(e));
        e.vendor_id = d.vendor_id;
        e.class_id = d.class_id;
        rc = bwh_delta_install(&src, &dd, &suit, list, d.u, &e, d.u->slot[target ^ 1],
                               d.u->slot[target], NULL, &st, stage);
        if (!rc)
            s->target = d.u->target;
    }
    env->dev_close(env->ctx);
    s->fetched += src.bytes;
    count(env, AGENT_N_BYTES, src.bytes);
    say(env,
        "delta: %" PRIu64 " bytes fetched in %u requests for a %" PRIu64 "-byte package; "
        "chunks: %" PRIu64 " reused, %" PRIu64 " already in the slot, %" PRIu64
        " from delta frames, %" PRIu64 " whole, %" PRIu64 " fetched whole after not verifying "
        "(%s)",
        src.bytes, src.requests, s->act.size, st.n_copy, st.n_target, st.n_frame, st.n_whole,
        st.n_refetch, rc ? bw_errname(rc) : "installed");
    bwh_delta_free(&dd);
    bwh_free(envb);
    bwh_free(list);
    return rc;
}

static bw_err act(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                  const struct bwh_tuf_target *tg, int *rebooted)
{
    char msg[512], subj[200], fwd[300] = "";
    const char *stage = "", *what = "device";
    struct agent_dev d;
    uint64_t nread = 0;
    int dl_only = !strcmp(s->act.type, "download-only");
    int install_now = request(env, "install-now", NULL, 0), fd = -1;
    uint64_t fetched;
    bw_err rc;

    snprintf(subj, sizeof(subj), "action %" PRId64 " %s sequence %" PRIu64, s->act.id,
             s->act.release, s->act.sequence);
    if (s->phase == AGENT_PH_INSTALLED || s->phase == AGENT_PH_DONE)
        return BW_OK; /* waiting for the reboot, or the final report went out */
    if (!dl_only && may_install(env, n, s, install_now, subj))
        return save(env, s);
    /* the waits of the device's say change nothing while they last: the
     * cycle saves what did change, so a waiting device writes nothing */
    if (!dl_only && needs_consent(env, n, s))
        return BW_OK;
    if (s->fetched == 0) {
        owe_report(s, "running", "downloading");
        if ((rc = send_report(env, n, s)))
            return rc;
    }
    /* a delta against the running slot, when the gateway offers one and
     * the device installs now; the full package on any problem with it.
     * Not with TUF: its target names the package file's digest, which only
     * the whole file can be checked against. */
    if (!dl_only && !tg && s->act.delta_size && (!s->act.later || install_now)) {
        if ((rc = may_go_on(env, n, s, -1, install_now, subj)) != BW_OK)
            return rc == BW_E_STATE ? BW_OK : rc;
        if (install_now)
            (void)request(env, "install-now", NULL, 1);
        rc = act_delta(env, n, s, &stage);
        if (!rc)
            return installed(env, n, s, 0, rebooted);
        if (!bwh_delta_may_fall_back(stage, rc)) {
            snprintf(msg, sizeof(msg), "install refused at %s: %s (%s)", stage, bw_strerror(rc),
                     bw_errname(rc));
            return refuse(env, n, s, "install", subj, msg);
        }
        warn(env, "delta refused at %s (%s): fetching the full package", stage, bw_errname(rc));
        s->act.delta_size = 0;
        s->delta_refused = 1;
        (void)save(env, s);
    }
    fetched = s->fetched;
    rc = download(env, n, s, "download", s->act.sha256, s->act.size, &fd);
    if (s->fetched != fetched && save(env, s))
        warn(env, "state not saved");
    if (rc == BW_E_IO)
        return rc; /* keep the partial file, try again later */
    if (rc) {
        snprintf(msg, sizeof(msg), "download refused: %s (%s)", bw_strerror(rc), bw_errname(rc));
        env->part_drop(env->ctx, s->act.sha256);
        return refuse(env, n, s, "download", subj, msg);
    }
    /* download now, install later: the package is kept, its digest
     * checked once, until the trigger; then the update lock */
    if (!dl_only && (rc = may_go_on(env, n, s, fd, install_now, subj)) != BW_OK) {
        close(fd);
        if (rc == BW_E_STATE)
            return BW_OK;
        env->part_drop(env->ctx, s->act.sha256);
        snprintf(msg, sizeof(msg), "download refused: %s (%s)",
                 rc == BW_E_DIGEST ? "SHA-256 differs from the announced digest" : bw_strerror(rc),
                 bw_errname(rc));
        return refuse(env, n, s, "download", subj, msg);
    }
    /* the one read of the package: its digest and, unless the action only
     * downloads, the install stream (every chunk verified before it is
     * written); the device is locked only now */
    memset(&d, 0, sizeof(d));
    if (install_now && !dl_only)
        (void)request(env, "install-now", NULL, 1);
    rc = dl_only ? BW_OK : env->dev_open(env->ctx, 1, 1, &d, &what);
    d.tuf = tg;
    if (!rc) {
        rc = agent_pkg_pass(fd, s->act.size, s->act.sha256, dl_only ? NULL : &d, &stage, &nread);
        if (!rc && !dl_only)
            s->target = d.u->target; /* read while the device is open */
        if (!rc && !dl_only && d.remote) {
            /* verified: now, and only now, the device gets it */
            stage = "forward";
            rc = env->forward(env->ctx, fd, s->act.size, fwd, sizeof(fwd));
        }
    } else {
        stage = "device"; /* what names the part of it, on stderr */
    }
    if (rc && !strcmp(stage, "device"))
        warn(env, "%s: %s", what, bw_strerror(rc));
    if (!dl_only)
        env->dev_close(env->ctx);
    close(fd);
    if (rc == BW_E_IO && (!strcmp(stage, "download") || !strcmp(stage, "forward"))) {
        if (!strcmp(stage, "forward"))
            warn(env, "%s", fwd);
        return rc; /* the part file could not be read, or the device not reached: again later */
    }
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
    if (rc && !strcmp(stage, "forward")) {
        snprintf(msg, sizeof(msg), "verified here, refused by the device: %s", fwd);
        return refuse(env, n, s, "install", subj, msg);
    }
    if (rc) {
        snprintf(msg, sizeof(msg), "install refused at %s: %s (%s)", stage, bw_strerror(rc),
                 bw_errname(rc));
        return refuse(env, n, s, "install", subj, msg);
    }
    return installed(env, n, s, d.remote, rebooted);
}

/* The slot is written and marked for its trial: said, reported, and the
 * device reboots into it. */
static bw_err installed(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                        int remote, int *rebooted)
{
    char msg[512], subj[200];
    bw_err rc;

    snprintf(subj, sizeof(subj), "action %" PRId64 " %s sequence %" PRIu64, s->act.id,
             s->act.release, s->act.sequence);
    count(env, AGENT_N_INSTALLED, 1);
    snprintf(msg, sizeof(msg),
             remote ? "verified, forwarded and installed by the device into slot %c; it reboots "
                        "into it on trial"
                      : "installed into slot %c; rebooting into it on trial",
             'a' + s->target);
    s->said = 0; /* the trial is said once (after_boot) */
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

/* ---- TUF (docs/trust.md) ---- */

/* What a refusal of the TUF client means, for the device's state, its
 * report and its security log. */
static const char *tuf_kind(bw_err rc)
{
    switch (rc) {
    case BW_E_EXPIRED:
        return "freeze";
    case BW_E_ROLLBACK:
        return "rollback";
    case BW_E_BADSIG:
        return "bad signature";
    case BW_E_TOOBIG:
        return "oversized";
    case BW_E_IO:
    case BW_E_NOTFOUND:
        return "unavailable";
    default:
        return "refused";
    }
}

/* Refreshes the trusted metadata from the repository (the gateway's
 * /tuf/metadata/, on n's connection): s->tuf says how it went (sent with
 * the next check-in), and a change of it, or a root rotation, is written to
 * the security log. *tp: the client (freed by the
 * caller), NULL when it could not be made. */
static bw_err tuf_refresh(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                          struct bwh_tuf **tp)
{
    const struct agent_conf *c = env->c;
    struct bwh_tuf_opts o;
    struct bwh_tuf_versions v;
    char url[AGENT_STR_MAX + 32], was[sizeof(s->tuf)], msg[128], *p;
    size_t gl = strlen(c->gateway);
    bw_err rc;

    memcpy(was, s->tuf, sizeof(was));
    if (c->tuf_url[0])
        snprintf(url, sizeof(url), "%s", c->tuf_url);
    else
        snprintf(url, sizeof(url), "%.*s/tuf/metadata/",
                 (int)(gl && c->gateway[gl - 1] == '/' ? gl - 1 : gl), c->gateway);
    memset(&o, 0, sizeof(o));
    o.metadata_dir = env->tuf_dir;
    o.metadata_url = url;
    o.cacert = c->ca_cert[0] ? c->ca_cert : NULL;
    /* the gateway's own repository: on the check-in's connection */
    if (!c->tuf_url[0])
        o.http = agent_net_http(n);
    o.connect_s = (unsigned)c->timeout;
    o.timeout_s = (unsigned)c->request_timeout;
    rc = bwh_tuf_new(tp, &o);
    if (rc) {
        snprintf(s->tuf, sizeof(s->tuf), "refused: %s", bw_strerror(rc));
        return rc;
    }
    rc = bwh_tuf_refresh(*tp);
    bwh_tuf_get_versions(*tp, &v);
    if (v.root_was && v.root > v.root_was) {
        snprintf(msg, sizeof(msg), "root rotated from v%lld to v%lld", (long long)v.root_was,
                 (long long)v.root);
        event(env, "tuf", "root", msg);
        say(env, "TUF: %s", msg);
    }
    if (rc)
        snprintf(s->tuf, sizeof(s->tuf), "%s: %s", tuf_kind(rc), bwh_tuf_error(*tp));
    else
        snprintf(s->tuf, sizeof(s->tuf), "ok root %lld", (long long)v.root);
    for (p = s->tuf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (rc)
        warn(env, "TUF refresh: %s (%s)", s->tuf, bw_errname(rc));
    if (strcmp(was, s->tuf))
        event(env, "tuf", "metadata", s->tuf);
    return rc;
}

/* The offered action against the refreshed metadata (trc: how the refresh
 * went): BW_OK with *tg filled when the package may be fetched; BW_E_STATE
 * when the metadata is unavailable for now (nothing is done, the offer is
 * looked at again next cycle); after a refusal (reported, s->phase done)
 * what sending the report gave. */
static bw_err tuf_vet(const struct agent_env *env, struct agent_net *n, struct agent_state *s,
                      struct bwh_tuf *t, bw_err trc, struct bwh_tuf_target *tg)
{
    const struct agent_conf *c = env->c;
    char msg[1024], subj[200];
    bw_err rc = trc;

    snprintf(subj, sizeof(subj), "action %" PRId64 " %s sequence %" PRIu64, s->act.id,
             s->act.release, s->act.sequence);
    if (rc && !strncmp(s->tuf, "unavailable", 11)) {
        say(env, "action %" PRId64 " waits: TUF metadata %s", s->act.id, s->tuf);
        return BW_E_STATE;
    }
    if (rc) {
        snprintf(msg, sizeof(msg), "TUF refused: %s (%s)", s->tuf, bw_errname(rc));
        goto refused;
    }
    rc = bwh_tuf_target(t, s->act.release, tg);
    if (rc) {
        snprintf(msg, sizeof(msg), "TUF refused: %s is not a signed target: %s (%s)",
                 s->act.release, bwh_tuf_error(t), bw_errname(rc));
        goto refused;
    }
    rc = BW_E_DIGEST;
    if (tg->length != s->act.size || strcmp(tg->sha256, s->act.sha256)) {
        snprintf(msg, sizeof(msg),
                 "TUF refused: the offer (%" PRIu64 " bytes, sha256 %.16s...) is not target %s "
                 "(%" PRIu64 " bytes, sha256 %.16s...) (%s)",
                 s->act.size, s->act.sha256, s->act.release, tg->length, tg->sha256,
                 bw_errname(rc));
        goto refused;
    }
    rc = BW_E_STATE;
    if (!tg->has_custom || !tg->has_sequence || tg->sequence != s->act.sequence) {
        snprintf(msg, sizeof(msg),
                 "TUF refused: target %s names sequence %" PRIu64 ", the offer %" PRIu64 " (%s)",
                 s->act.release, tg->sequence, s->act.sequence, bw_errname(rc));
        goto refused;
    }
    rc = BW_E_CLASS;
    if (c->tuf_hardware[0] && strcmp(tg->hardware, c->tuf_hardware)) {
        snprintf(msg, sizeof(msg), "TUF refused: target %s is for hardware '%s', this is '%s' (%s)",
                 s->act.release, tg->hardware, c->tuf_hardware, bw_errname(rc));
        goto refused;
    }
    return BW_OK;
refused:
    return refuse(env, n, s, "tuf", subj, msg); /* reported: the cycle itself went well */
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
    s->waiting = s->consented = s->staged = 0;
    s->delta_refused = 0;
    s->locked_since = 0;
    s->target = -1;
}

bw_err agent_run_cycle(const struct agent_env *env, uint64_t *poll)
{
    const struct agent_conf *c = env->c;
    struct agent_state s, was;
    struct agent_checkin ci;
    struct agent_net *n = NULL;
    struct bwh_tuf *tuf = NULL;
    struct bwh_tuf_target tg;
    char *body = NULL;
    const char *why = NULL;
    long status = 0;
    int rebooted = 0;
    bw_err rc, trc = BW_OK;

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
    /* the TUF metadata, on the connection the check-in authenticated (one
     * TLS handshake per poll); how it went travels with the next check-in */
    if (env->tuf_dir)
        trc = tuf_refresh(env, n, &s, &tuf);
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
        s.waiting = s.consented = s.staged = 0;
        s.delta_refused = 0;
        s.locked_since = 0;
        s.target = -1;
        say(env, "action %" PRId64 ": %s %s (sequence %" PRIu64 ", %" PRIu64 " bytes)", s.act.id,
            s.act.type, s.act.release, s.act.sequence, s.act.size);
    }
    if (env->tuf_dir && s.phase == AGENT_PH_OFFERED) {
        rc = tuf_vet(env, n, &s, tuf, trc, &tg);
        if (rc == BW_E_STATE)
            rc = BW_OK; /* waits for metadata */
        if (rc || s.phase != AGENT_PH_OFFERED)
            goto out;
    }
    /* the gateway's word may change from one check-in to the next */
    s.act.later = ci.action.later;
    /* the delta too (not kept in the state: offered again at each check-in) */
    memcpy(s.act.delta_sha256, ci.action.delta_sha256, sizeof(s.act.delta_sha256));
    s.act.delta_size = s.delta_refused ? 0 : ci.action.delta_size;
    s.act.override = ci.action.override;
    s.act.consent = ci.action.consent;
    rc = act(env, n, &s, env->tuf_dir ? &tg : NULL, &rebooted);
    if (!rc && rebooted)
        *poll = 0; /* the device is up again: its agent's first cycle comes at once */
out:
    if (env->update_lock)
        (void)env->update_lock(env->ctx, 0);
    bwh_free(body);
    bwh_tuf_free(tuf);
    if (env->net_done)
        env->net_done(env->ctx, n);
    else
        agent_net_close(n);
    /* what changed since the last save (a report taken by the gateway,
     * bytes fetched) is kept; an unchanged state is not written again */
    if (memcmp(&s, &was, sizeof(s)))
        (void)save(env, &s);
    return rc;
}
