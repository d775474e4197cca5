/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry under allocation failure: every allocation it makes goes
 * through the capped allocator, so BW_FAIL_ALLOC=N fails it, and a failed
 * allocation is BW_E_NOMEM, never a crash or another error. Each N runs in
 * a child of its own (the allocator reads BW_FAIL_ALLOC once per process).
 * Usage: test_registry_nomem URL   ("sqlite:" alone: a temp file)
 */
#define _DEFAULT_SOURCE /* mkdtemp, setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/err.h"
#include "db.h"

#define MAX_N 16

static void dev_fn(void *arg, const struct gw_device *d)
{
    (void)arg;
    (void)d;
}

static void camp_fn(void *arg, const struct gw_campaign *c, const struct gw_counts *k)
{
    (void)arg;
    (void)c;
    (void)k;
}

/* exit status of one child: bit 0 a call answered other than BW_OK or
 * BW_E_NOMEM, bit 1 some call answered BW_E_NOMEM, bit 2 open did */
static int scenario(const struct gw_db_ops *ops, const char *conninfo)
{
    bw_err rc[4];
    void *db = NULL;
    int i, st = 0;

    rc[0] = ops->open(conninfo, &db);
    if (rc[0])
        return rc[0] == BW_E_NOMEM ? 6 : 1;
    rc[1] = ops->migrate(db);
    rc[2] = ops->device_list(db, NULL, -1, 0, -1, dev_fn, NULL);
    rc[3] = ops->campaign_list(db, 0, -1, camp_fn, NULL);
    for (i = 1; i < 4; i++) {
        if (rc[i] == BW_E_NOMEM)
            st |= 2;
        else if (rc[i] != BW_OK) {
            fprintf(stderr, "call %d: %s (%s)\n", i, bw_errname(rc[i]), ops->error(db));
            st |= 1;
        }
    }
    ops->close(db);
    return st;
}

int main(int argc, char **argv)
{
    const struct gw_db_ops *ops;
    const char *conninfo;
    char dir[] = "/tmp/bw-regnomem.XXXXXX", url[256];
    int n, st, fails = 0, open_nomem = 0, call_nomem = 0, clean = 0, tmp = 0;
    pid_t pid;

    if (argc != 2) {
        fprintf(stderr, "usage: test_registry_nomem URL\n");
        return 2;
    }
    snprintf(url, sizeof(url), "%s", argv[1]);
    if (!strcmp(url, "sqlite:")) {
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(url, sizeof(url), "sqlite:%s/r.db", dir);
        tmp = 1;
    }
    if (gw_db_pick(url, &ops, &conninfo)) {
        fprintf(stderr, "FAIL: bad URL %s\n", url);
        return 1;
    }
    /* N = 0: no failure, the schema made; then the N-th allocation fails */
    for (n = 0; n <= MAX_N && !clean; n++) {
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            char v[16];

            snprintf(v, sizeof(v), "%d", n);
            setenv("BW_FAIL_ALLOC", v, 1);
            _exit(scenario(ops, conninfo));
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || (WEXITSTATUS(st) & 1)) {
            fprintf(stderr, "FAIL: BW_FAIL_ALLOC=%d: %s %d\n", n,
                    WIFEXITED(st) ? "exit" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            fails++;
            continue;
        }
        if (n == 0 && WEXITSTATUS(st) != 0) {
            fprintf(stderr, "FAIL: without failures: status %d\n", WEXITSTATUS(st));
            fails++;
        }
        open_nomem += n > 0 && (WEXITSTATUS(st) & 4);
        call_nomem += n > 0 && (WEXITSTATUS(st) & 6) == 2;
        clean = n > 0 && WEXITSTATUS(st) == 0;
    }
    if (!open_nomem) {
        fprintf(stderr, "FAIL: open never saw a failed allocation\n");
        fails++;
    }
    if (!call_nomem) {
        fprintf(stderr, "FAIL: no list call saw a failed allocation\n");
        fails++;
    }
    if (!clean) {
        fprintf(stderr, "FAIL: still failing at BW_FAIL_ALLOC=%d\n", MAX_N);
        fails++;
    }
    if (tmp) {
        char path[300];

        snprintf(path, sizeof(path), "%s/r.db", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/r.db-wal", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/r.db-shm", dir);
        unlink(path);
        rmdir(dir);
    }
    if (fails)
        return 1;
    printf("ok: registry under failing allocation on %s (clean from N=%d)\n", ops->name, n - 1);
    return 0;
}
