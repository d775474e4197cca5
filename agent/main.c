/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-agent: command line and the daemon loop. The loop runs a cycle,
 * then waits the gateway's poll interval with random jitter; when the
 * gateway cannot be reached it backs off exponentially (with jitter, so a
 * fleet that lost its gateway does not come back in one wave) and keeps
 * its state. SIGTERM/SIGINT stop it (a transfer under way ends at once,
 * its partial file kept), SIGUSR1 polls now.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <sys/stat.h>

#include <malloc.h>

#include "agent.h"
#include "net.h"
#include <jansson.h>

#include "bwh/host.h"
#include "bwh/tlsclient.h"

struct opt {
    const char *name, *arg, *help;
};
static const struct opt opts[] = {
    {"config", "FILE", "agent configuration (default /etc/bulwark/agent.conf)"},
    {"sample-config", NULL, "print every option, commented, and exit"},
    {"sample-secondary", NULL, "print every option of a secondary.conf (docs/mcu.md), and exit"},
    {"check-config", NULL, "check the configuration (and the device.conf it names) and exit"},
    {"once", NULL, "run one cycle and exit: 0 done, 75 gateway unreachable (state kept), 1 error"},
    {"install-now", NULL, "manual policy: install the offered update at the next cycle"},
    {"postpone", "SECONDS", "do not install before SECONDS from now (the user's postpone)"},
    {"consent", NULL, "consent to the update offered now (consent = yes, or the campaign asks for it)"},
    {"lock", "CMD", "run /bin/sh -c CMD holding the update lock: no install while it runs"},
    {"state", NULL, "print the agent's state as JSON and exit"},
    {"simulate", "N|DIR", "fleet simulator: N in-memory devices, or every DIR/*/agent.conf"},
    {"threads", "T", "--simulate: worker threads (default 8)"},
    {"fleet-dir", "DIR", "--simulate N: keys, certificates, registry.jsonl (default STATE_DIR/fleet)"},
    {"ca-dir", "DIR", "--simulate N: CA issuing the certificates (default FLEET_DIR/ca; made if absent)"},
    {"prepare", NULL, "--simulate N: make the missing identities and registry lines, then exit"},
    {"time-scale", "F", "--simulate N: divide every wait by F (60: a 60 s poll every second)"},
    {"spread", "S", "--simulate N: spread the first cycles over S seconds (default 0)"},
    {"duration", "S", "--simulate N: stop after S seconds (default: at SIGTERM/SIGINT)"},
    {"id-prefix", "P", "--simulate N: device ids P000001... (default sim-)"},
    {"factory-sequence", "Q", "--simulate N: sequence of the image devices start with (1)"},
    {"drop", "PCT", "--simulate N: drop PCT % of the requests (half before sending, half the "
                    "answer; fault injection)"},
    {"until-renewed", NULL, "--simulate N, enroll = true: stop once every device renewed its "
                            "operational certificate"},
    {"json", NULL, "--simulate N: the summary as one JSON object"},
    {"verbose", NULL, "--simulate N: print every report sent"},
    {"help", NULL, "this help"},
    {NULL, NULL, NULL}};

static volatile sig_atomic_t stop, wake;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        wake = 1;
    } else {
        stop = 1;
        agent_stopping = 1;
    }
}

static void usage(FILE *f)
{
    const struct opt *o;

    fprintf(f, "usage: bulwark-agent [--config FILE] [OPTION]...\n"
               "The bulwark device agent: polls bulwark-gateway, installs updates as its policy\n"
               "allows, health-checks and confirms or rolls back, reports every state.\n\n");
    for (o = opts; o->name; o++)
        fprintf(f, "  --%s%s%-*s %s\n", o->name, o->arg ? " " : "", o->arg ? 20 - (int)strlen(o->name) : 21 - (int)strlen(o->name),
                o->arg ? o->arg : "", o->help);
    fprintf(f, "\nBULWARK_AGENT_CLOCK=SECONDS (tests only) sets the clock the policy uses for\n"
               "maintenance windows and postponing; tokens always use the real time.\n");
}

/* Line-buffered stdout, TLS, SIGTERM/SIGINT (and, for the daemon, SIGUSR1)
 * to on_signal, SIGPIPE ignored (a write to a closed connection fails, it
 * does not kill). Nonzero when TLS cannot start. */
static int process_setup(int usr1)
{
    struct sigaction sa;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (bwh_tls_init())
        return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (usr1)
        sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Sleeps secs, or until a signal: one ppoll per wait (no timer ticks while
 * idle); the signals are blocked outside it, so none is lost in between. */
static void pause_for(double secs)
{
    double end = bwh_now() + secs;
    sigset_t block, old;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!stop && !wake) {
        double left = end - bwh_now();
        struct timespec ts;

        if (left <= 0)
            break;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        (void)ppoll(NULL, 0, &ts, &old);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    wake = 0;
}

/*
 * The fleet simulator: one process runs the agents of many devices, each
 * with its own device.conf (identity, file-backed slots, boot state) and
 * agent.conf, in T threads (agent/sched.c), with the same poll, jitter
 * and backoff as the daemon. For tests and load runs against a real
 * gateway.
 */
struct sim_dev {
    struct agent_conf c;
    struct agent_slot at;
    struct agent_net *net; /* kept between its cycles */
};

static struct agent_slot *dir_slot(void *ctx, size_t i)
{
    return &((struct sim_dev *)ctx)[i].at;
}

static const struct agent_conf *dir_conf(void *ctx, size_t i)
{
    return &((struct sim_dev *)ctx)[i].c;
}

static bw_err dir_cycle(void *ctx, void *tctx, size_t i, uint64_t *poll)
{
    (void)tctx;
    struct sim_dev *d = &((struct sim_dev *)ctx)[i];

    return agent_cycle(&d->c, &d->net, poll);
}

static int simulate(const char *dir, unsigned threads, int once)
{
    struct agent_sched sc;
    struct dirent **names = NULL;
    struct sim_dev *dev;
    size_t n = 0;
    int k, m, bad = 0;

    m = scandir(dir, &names, NULL, alphasort);
    if (m < 0) {
        fprintf(stderr, "bulwark-agent: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    dev = bwh_calloc((size_t)m + 1, sizeof(*dev));
    for (k = 0; k < m; k++) {
        char path[AGENT_PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%.3000s/%.200s/agent.conf", dir, names[k]->d_name);
        if (names[k]->d_name[0] != '.' && dev && (f = fopen(path, "r"))) {
            fclose(f);
            if (agent_conf_load(&dev[n].c, path))
                bad = 1;
            else
                n++;
        }
        free(names[k]);
    }
    free(names);
    if (!dev || bad || !n) {
        fprintf(stderr, "bulwark-agent: --simulate %s: %s\n", dir,
                bad ? "a device's configuration is bad" : "no DIR/*/agent.conf found");
        bwh_free(dev);
        return 1;
    }
    memset(&sc, 0, sizeof(sc));
    sc.n = n;
    sc.threads = threads;
    sc.once = once;
    sc.ctx = dev;
    sc.slot = dir_slot;
    sc.conf = dir_conf;
    sc.cycle = dir_cycle;
    threads = agent_sched_run(&sc);
    printf("simulated %zu devices in %u threads: %lu cycles, %lu unreachable, %lu errors\n", n,
           threads, sc.cycles, sc.unreachable, sc.errors);
    for (k = 0; (size_t)k < n; k++)
        agent_net_close(dev[k].net);
    bwh_free(dev);
    return sc.errors ? 1 : sc.unreachable ? 75 : 0;
}

/*
 * Waits between polls as bulwark-agent-wait (agent/wait.c), the small
 * program beside this one: the process execs it with the wait, and it
 * execs this program again with the same arguments and the backoff so
 * far. Method: the agent's process holds libcrypto, libssl and the rest
 * (about 8 MiB resident) for the whole cycle, and nothing of it is needed
 * while it waits; an exec is the one way to unmap them (libcrypto pins
 * itself against dlclose). The signals are blocked across both execs and
 * stay pending, so a SIGTERM or SIGUSR1 in between is not lost. Returns
 * only if the exec failed (no waiter beside the agent: the caller waits
 * in this process).
 */
static void wait_elsewhere(double secs, unsigned fails, int argc, char **argv)
{
    static char self[4096], waiter[4096 + 32];
    char secs_s[32], fails_s[16], *slash;
    char **av;
    sigset_t block, old;
    ssize_t n;
    int i, k = 0;

    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0 || (size_t)n >= sizeof(self) - 1)
        return;
    self[n] = 0;
    if (n > 10 && !strcmp(self + n - 10, " (deleted)"))
        self[n - 10] = 0; /* replaced on disk: run the new one */
    if (!(slash = strrchr(self, '/')))
        return;
    snprintf(waiter, sizeof(waiter), "%.*s/bulwark-agent-wait", (int)(slash - self), self);
    if (access(waiter, X_OK) != 0)
        return;
    if (!(av = bwh_calloc((size_t)argc + 8, sizeof(*av))))
        return;
    snprintf(secs_s, sizeof(secs_s), "%.3f", secs);
    snprintf(fails_s, sizeof(fails_s), "%u", fails);
    av[k++] = waiter;
    av[k++] = secs_s;
    av[k++] = self;
    av[k++] = argv[0];
    av[k++] = (char *)"--fails";
    av[k++] = fails_s;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--fails") && i + 1 < argc) {
            i++;
            continue;
        }
        av[k++] = argv[i];
    }
    av[k] = NULL;
    fflush(stdout);
    fflush(stderr);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (!stop && !wake)
        execv(waiter, av);
    sigprocmask(SIG_SETMASK, &old, NULL);
    bwh_free(av);
}

int main(int argc, char **argv)
{
    const char *conf_path = "/etc/bulwark/agent.conf", *postpone = NULL, *sim_dir = NULL;
    const char *lock_cmd = NULL;
    char fleet_dir[AGENT_PATH_MAX + 8], ca_dir[AGENT_PATH_MAX + 16];
    struct agent_sim_opts so = {.time_scale = 1, .factory_sequence = 1, .id_prefix = "sim-"};
    uint64_t threads = 8;
    int once = 0, check = 0, install_now = 0, state = 0, consent = 0, i;
    unsigned fails = 0;
    struct agent_net *net = NULL; /* kept between cycles: session, connection */
    struct agent_conf c;
    bw_err rc;

    /* jansson's documents count against the capped allocator too */
    json_set_alloc_funcs(bwh_malloc, bwh_free);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--config") && i + 1 < argc) {
            conf_path = argv[++i];
        } else if (!strcmp(a, "--simulate") && i + 1 < argc) {
            sim_dir = argv[++i];
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (bwh_parse_u64(argv[++i], &threads)) {
                fprintf(stderr, "bulwark-agent: --threads: a number expected\n");
                return 2;
            }
        } else if (!strcmp(a, "--fails") && i + 1 < argc) {
            uint64_t f; /* from bulwark-agent-wait: the backoff so far */

            if (bwh_parse_u64(argv[++i], &f))
                return 2;
            fails = f > 64 ? 64 : (unsigned)f;
        } else if ((!strcmp(a, "--time-scale") || !strcmp(a, "--spread") ||
                    !strcmp(a, "--duration")) && i + 1 < argc) {
            char *end = NULL;
            double v = strtod(argv[++i], &end);

            if (!end || *end || end == argv[i] || !(v >= 0) || v > 1e7 ||
                (a[2] == 't' && v < 0.001)) {
                fprintf(stderr, "bulwark-agent: %s: a number expected\n", a);
                return 2;
            }
            *(a[2] == 't' ? &so.time_scale : a[2] == 's' ? &so.spread : &so.duration) = v;
        } else if (!strcmp(a, "--factory-sequence") && i + 1 < argc) {
            if (bwh_parse_u64(argv[++i], &so.factory_sequence) ||
                so.factory_sequence == BW_SEQ_EMPTY) {
                fprintf(stderr, "bulwark-agent: --factory-sequence: a number expected\n");
                return 2;
            }
        } else if (!strcmp(a, "--drop") && i + 1 < argc) {
            uint64_t pct;

            if (bwh_parse_u64(argv[++i], &pct) || pct > 90) {
                fprintf(stderr, "bulwark-agent: --drop: a percentage 0 to 90 expected\n");
                return 2;
            }
            agent_net_drop_pct = (unsigned)pct;
        } else if (!strcmp(a, "--fleet-dir") && i + 1 < argc) {
            so.fleet_dir = argv[++i];
        } else if (!strcmp(a, "--ca-dir") && i + 1 < argc) {
            so.ca_dir = argv[++i];
        } else if (!strcmp(a, "--id-prefix") && i + 1 < argc) {
            so.id_prefix = argv[++i];
            if (strlen(so.id_prefix) > 40 || strchr(so.id_prefix, '/')) {
                fprintf(stderr, "bulwark-agent: --id-prefix: at most 40 bytes, no '/'\n");
                return 2;
            }
        } else if (!strcmp(a, "--prepare")) {
            so.prepare = 1;
        } else if (!strcmp(a, "--until-renewed")) {
            so.until_renewed = 1;
        } else if (!strcmp(a, "--json")) {
            so.json = 1;
        } else if (!strcmp(a, "--verbose")) {
            so.verbose = 1;
        } else if (!strcmp(a, "--postpone") && i + 1 < argc) {
            postpone = argv[++i];
        } else if (!strcmp(a, "--sample-secondary")) {
            agent_secondary_sample(stdout);
            return 0;
        } else if (!strcmp(a, "--sample-config")) {
            agent_conf_sample(stdout);
            return 0;
        } else if (!strcmp(a, "--check-config")) {
            check = 1;
        } else if (!strcmp(a, "--once")) {
            once = 1;
        } else if (!strcmp(a, "--install-now")) {
            install_now = 1;
        } else if (!strcmp(a, "--consent")) {
            consent = 1;
        } else if (!strcmp(a, "--lock") && i + 1 < argc) {
            lock_cmd = argv[++i];
        } else if (!strcmp(a, "--state")) {
            state = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bulwark-agent: unknown option or missing value: %s\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (sim_dir && sim_dir[0] && strspn(sim_dir, "0123456789") == strlen(sim_dir)) {
        int st;

        if (bwh_parse_u64(sim_dir, &so.n) || so.n < 1 || so.n > 1000000) {
            fprintf(stderr, "bulwark-agent: --simulate N: 1 to 1000000 devices\n");
            return 2;
        }
        if (agent_conf_load(&c, conf_path))
            return 1;
        if (!so.fleet_dir) {
            snprintf(fleet_dir, sizeof(fleet_dir), "%s/fleet", c.state_dir);
            so.fleet_dir = fleet_dir;
        }
        if (!so.ca_dir) {
            snprintf(ca_dir, sizeof(ca_dir), "%s/ca", so.fleet_dir);
            so.ca_dir = ca_dir;
        }
        so.threads = (unsigned)(threads > 256 ? 256 : threads);
        so.once = once;
        if (process_setup(0))
            return 1;
        (void)mkdir(c.state_dir, 0700); /* for the default fleet directory */
        st = agent_simulate_n(&c, &so);
        return st;
    }
    if (sim_dir) {
        int st;

        if (process_setup(0))
            return 1;
        st = simulate(sim_dir, (unsigned)(threads > 256 ? 256 : threads), once);
        return st;
    }
    if (agent_conf_load(&c, conf_path))
        return 1;
    if (check) {
        printf("%s: configuration OK (policy %s, state in %s)\n", conf_path, c.policy_name,
               c.state_dir);
        return 0;
    }
    if (state)
        return agent_print_state(&c) ? 1 : 0;
    if (lock_cmd)
        return agent_lock_run(&c, lock_cmd);
    if (consent) {
        if (agent_request_consent(&c))
            return 1;
        printf("consent given: the offered update goes ahead at the next cycle\n");
        if (!once && !install_now)
            return 0;
    }
    if (postpone) {
        uint64_t s;

        if (bwh_parse_u64(postpone, &s)) {
            fprintf(stderr, "bulwark-agent: --postpone: seconds expected\n");
            return 2;
        }
        if (agent_request_postpone(&c, s))
            return 1;
        printf("updates postponed for %llu s\n", (unsigned long long)s);
        if (!once && !install_now)
            return 0;
    }
    if (install_now) {
        if (agent_request_install(&c))
            return 1;
        printf("install requested: the offered update installs at the next cycle\n");
        if (!once)
            return 0;
    }
    if (process_setup(1))
        return 1;
    {
        /* blocked when bulwark-agent-wait started this image: pending
         * signals arrive now that the handlers are in place */
        sigset_t sigs;

        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGUSR1);
        sigprocmask(SIG_UNBLOCK, &sigs, NULL);
    }
    for (;;) {
        uint64_t poll = c.poll_max;
        double wait;

        rc = agent_cycle(&c, &net, &poll);
        if (once || stop)
            break;
        wait = agent_next_wait(&c, rc, poll, &fails);
        if (rc == BW_E_IO)
            printf("gateway unreachable (attempt %u): next try in %.1f s\n", fails, wait);
        else if (rc)
            fprintf(stderr, "bulwark-agent: cycle: %s [%s]\n", bw_strerror(rc), bw_errname(rc));
        /* what the cycle freed goes back before the long wait instead of
         * staying in the heap for the next cycle */
        (void)malloc_trim(0);
        /* the process itself waits while it keeps a TLS session or a
         * connection for the next poll (they live in its memory); with
         * neither it becomes the small waiter */
        if (!stop && !wake && !c.keep_connection && !c.tls_resume)
            wait_elsewhere(wait, fails, argc, argv);
        pause_for(wait);
        if (stop)
            break;
    }
    agent_net_close(net);
    if (once)
        return rc == BW_OK ? 0 : rc == BW_E_IO ? 75 : 1;
    return 0;
}
