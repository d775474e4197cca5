/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-agent-wait: what the agent's process becomes between polls. The
 * agent execs it with the wait in seconds, its own path and arguments; it
 * sleeps in one ppoll (no timer ticks, no CPU) and execs the agent again,
 * in the same process (systemd's main PID, the tests' $!). It links only
 * libc, so the idle process holds no TLS, crypto or TPM library pages:
 * see docs/agent.md "Footprint". Not run by hand.
 *
 * Usage: bulwark-agent-wait SECONDS AGENT-PATH AGENT-ARGV0 [AGENT-ARG]...
 * SIGTERM or SIGINT: exit 0 (the agent was asked to stop); SIGUSR1: stop
 * waiting and poll now. The agent blocks these signals before the exec and
 * the blocked mask and pending signals survive it, so none is lost between
 * the two images; both unblock them only once their handlers are in place.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

static volatile sig_atomic_t stop, wake;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        wake = 1;
    else
        stop = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct timespec end, now;
    sigset_t sigs, open_mask;
    char *e;
    double secs;

    if (argc < 4) {
        fprintf(stderr, "bulwark-agent-wait: started by bulwark-agent only\n");
        return 2;
    }
    secs = strtod(argv[1], &e);
    if (*e || !(secs >= 0) || secs > 1e9) {
        fprintf(stderr, "bulwark-agent-wait: bad wait %s\n", argv[1]);
        return 2;
    }
    /* what the agent's cycle left open is not carried through the wait */
    (void)close_range(3, ~0u, 0);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    sigprocmask(SIG_BLOCK, &sigs, &open_mask);
    for (int i = 0; i < 3; i++) /* the agent's signals, unblocked only inside ppoll */
        sigdelset(&open_mask, i == 0 ? SIGTERM : i == 1 ? SIGINT : SIGUSR1);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)secs;
    end.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    while (!stop && !wake) {
        struct timespec left;

        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = end.tv_sec - now.tv_sec;
        left.tv_nsec = end.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            break;
        (void)ppoll(NULL, 0, &left, &open_mask);
    }
    if (stop)
        return 0;
    /* signals stay blocked through the exec: the agent unblocks them */
    execv(argv[2], argv + 3);
    fprintf(stderr, "bulwark-agent-wait: cannot run %s: %s\n", argv[2], strerror(errno));
    return 1;
}
