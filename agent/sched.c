/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet simulators' scheduler (agent.h, struct agent_sched): many
 * devices' cycles in T threads, each due when the daemon's own wait
 * (agent_next_wait: poll, jitter, backoff) has passed. Used by both
 * `--simulate DIR` (agent/main.c) and `--simulate N` (agent/sim.c); what a
 * cycle is comes from the caller. Not the daemon's loop: the daemon waits
 * in bulwark-agent-wait.
 * Method: device i belongs to thread i % T; a thread runs each of its
 * devices that is due, sleeps until the soonest is due, and stops when
 * none is left (--once) or agent_stopping is set (a signal, --duration).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "bwh/host.h"

static void sleep_until(double when)
{
    double s = when - bwh_now();
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

struct run {
    struct agent_sched *s;
    unsigned t;
};

static void tally(struct agent_sched *s, bw_err rc)
{
    pthread_mutex_lock(&s->lock);
    s->cycles++;
    s->unreachable += rc == BW_E_IO;
    s->errors += rc && rc != BW_E_IO;
    pthread_mutex_unlock(&s->lock);
}

static void *run_thread(void *arg)
{
    struct run *r = arg;
    struct agent_sched *s = r->s;
    void *tctx = NULL;
    size_t i, left;

    if (s->thread_init && s->thread_init(s->ctx, &tctx)) {
        tally(s, BW_E_STATE); /* counts as an error */
        return NULL;
    }
    do {
        double now = bwh_now(), soonest = now + 1.0;

        left = 0;
        for (i = r->t; i < s->n && !agent_stopping; i += s->threads) {
            struct agent_slot *d = s->slot(s->ctx, i);
            uint64_t poll = 0;
            bw_err rc;

            if (d->done)
                continue;
            if (d->next <= now) {
                /* after a simulated reboot (poll 0) the device's agent
                 * runs again at once, in this turn, not after a pass over
                 * the thread's other devices */
                for (;;) {
                    rc = s->cycle(s->ctx, tctx, i, &poll);
                    tally(s, rc);
                    if (rc || poll || agent_stopping || s->once)
                        break;
                }
                d->next = bwh_now() +
                          agent_next_wait(s->conf(s->ctx, i), rc, poll, &d->fails) / s->time_scale;
                /* --once: one cycle, and the one after a simulated reboot
                 * (poll is 0 only then: poll_min is at least 1) */
                if (s->once && !(rc == BW_OK && poll == 0))
                    d->done = 1;
                now = bwh_now();
                if (s->stop_at > 0 && now >= s->stop_at)
                    agent_stopping = 1;
            }
            if (!d->done) {
                left++;
                soonest = d->next < soonest ? d->next : soonest;
            }
        }
        if (s->stop_at > 0 && soonest > s->stop_at)
            soonest = s->stop_at;
        if (left && !agent_stopping)
            sleep_until(soonest);
        if (s->stop_at > 0 && bwh_now() >= s->stop_at)
            agent_stopping = 1;
    } while (left && !agent_stopping);
    if (s->thread_fini)
        s->thread_fini(tctx);
    return NULL;
}

unsigned agent_sched_run(struct agent_sched *s)
{
    pthread_t tid[256];
    struct run r[256];
    unsigned t, started;

    s->threads = s->threads < 1 ? 1 : s->threads > 256 ? 256 : s->threads;
    if (s->threads > s->n)
        s->threads = (unsigned)s->n;
    if (s->time_scale <= 0)
        s->time_scale = 1;
    pthread_mutex_init(&s->lock, NULL);
    for (started = 0; started < s->threads; started++) {
        r[started].s = s;
        r[started].t = started;
        if (pthread_create(&tid[started], NULL, run_thread, &r[started]) != 0)
            break;
    }
    for (t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&s->lock);
    return started;
}
