/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta builder (delta_build.h): which deltas to build (the source
 * releases a running campaign's devices run, most common first), a
 * bounded queue, one thread that builds them one at a time in a child
 * process, and the checks and storage an upload gets (delta.c). Not the
 * delta format (host/delta*.c) and not the check-in offer (api_device.c).
 *
 * Method (restart safety): a build's files live in its own directory
 * blob_dir/tmp/dbuild-<pid>-<n>; the delta becomes a blob only after it
 * passed gw_delta_check, and a record only after the blob is stored
 * (gw_delta_record writes atomically). A gateway that stops or dies in
 * a build leaves at most that directory, which the next start removes
 * (when its process is gone), and the first look at the campaigns
 * queues the build again: no half-written delta is ever a record.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bwh/delta.h"
#include "bwh/host.h"
#include "delta.h"
#include "delta_build.h"
#include "release.h"

extern char **environ;

#define SCAN_CAMPAIGNS_MAX 256 /* running campaigns looked at per scan, newest first */
#define SCAN_SEQ_MAX 1024      /* distinct sequences counted per campaign */
#define ERR_MAX 200

struct job {
    int64_t rel, src, src_seq;
    enum gw_dbuild_state state;
    int64_t when; /* queued or failed at */
    char err[ERR_MAX];
};

struct gw_dbuild {
    struct gw_state *st;
    pthread_t th;
    int th_on;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cv;
    struct job jobs[GW_DBUILD_JOBS];
    size_t n_jobs;
    int stop, kick;
    unsigned serial; /* build directories of this process */
};

const char *gw_dbuild_state_name(enum gw_dbuild_state s)
{
    static const char *const n[] = {"none", "queued", "building", "failed"};

    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "unknown";
}

/* ---- the queue (b->lock held) -------------------------------------------- */

static struct job *job_find(struct gw_dbuild *b, int64_t rel, int64_t src)
{
    size_t i;

    for (i = 0; i < b->n_jobs; i++)
        if (b->jobs[i].rel == rel && b->jobs[i].src == src)
            return &b->jobs[i];
    return NULL;
}

/* a free row: a new one, or the oldest failed one forgotten */
static struct job *job_new(struct gw_dbuild *b)
{
    struct job *old = NULL;
    size_t i;

    if (b->n_jobs < GW_DBUILD_JOBS)
        return &b->jobs[b->n_jobs++];
    for (i = 0; i < b->n_jobs; i++)
        if (b->jobs[i].state == GW_DBUILD_FAILED && (!old || b->jobs[i].when < old->when))
            old = &b->jobs[i];
    return old;
}

static void job_drop(struct gw_dbuild *b, struct job *j)
{
    *j = b->jobs[--b->n_jobs];
}

static bw_err enqueue(struct gw_dbuild *b, int64_t rel, int64_t src, int64_t src_seq, int again)
{
    struct job *j = job_find(b, rel, src);

    if (j && (j->state != GW_DBUILD_FAILED || !again))
        return BW_OK;
    if (!j && !(j = job_new(b)))
        return BW_E_QUOTA;
    memset(j, 0, sizeof(*j));
    j->rel = rel;
    j->src = src;
    j->src_seq = src_seq;
    j->state = GW_DBUILD_QUEUED;
    j->when = (int64_t)time(NULL);
    pthread_cond_signal(&b->cv);
    return BW_OK;
}

/* An operator's request, kept until its build ends so that a restart
 * queues it again: blob_dir/delta/build-<release id>-<source id> (or,
 * with rel 0, the directory). */
static bw_err marker_path(const char *blob_dir, int64_t rel, int64_t src, char *out, size_t cap)
{
    int n = rel ? snprintf(out, cap, "%s/delta/build-%" PRId64 "-%" PRId64, blob_dir, rel, src)
                : snprintf(out, cap, "%s/delta", blob_dir);

    return n < 0 || (size_t)n >= cap ? BW_E_NOMEM : BW_OK;
}

bw_err gw_dbuild_request(struct gw_state *st, int64_t rel_id, int64_t src_id, int64_t src_seq)
{
    struct gw_dbuild *b = st->dbuild;
    char path[GW_PATH_MAX + 64], line[32];
    int n;
    bw_err rc;

    if (!b)
        return BW_E_STATE;
    pthread_mutex_lock(&b->lock);
    rc = enqueue(b, rel_id, src_id, src_seq, 1);
    pthread_mutex_unlock(&b->lock);
    if (rc)
        return rc;
    n = snprintf(line, sizeof(line), "%" PRId64 "\n", src_seq);
    if (!marker_path(st->conf.blob_dir, 0, 0, path, sizeof(path)) &&
        (mkdir(path, 0750) == 0 || errno == EEXIST) &&
        !marker_path(st->conf.blob_dir, rel_id, src_id, path, sizeof(path)) &&
        bwh_write_file_atomic(path, line, (size_t)n, 0640))
        fprintf(stderr, "bulwark-gateway: %s: not kept for a restart\n", path);
    return BW_OK;
}

/* The operators' requests a restart interrupted, queued again. */
static void scan_markers(struct gw_dbuild *b)
{
    char path[GW_PATH_MAX + 64];
    uint8_t *buf;
    size_t len;
    struct dirent *e;
    DIR *d;

    if (marker_path(b->st->conf.blob_dir, 0, 0, path, sizeof(path)) || !(d = opendir(path)))
        return;
    while ((e = readdir(d))) {
        char f[3][24];
        uint64_t v[3];
        const char *p = e->d_name + 6, *dash;

        if (strncmp(e->d_name, "build-", 6) || !(dash = strchr(p, '-')) ||
            (size_t)(dash - p) >= sizeof(f[0]) || strlen(dash + 1) >= sizeof(f[1]))
            continue;
        memcpy(f[0], p, (size_t)(dash - p));
        f[0][dash - p] = 0;
        snprintf(f[1], sizeof(f[1]), "%s", dash + 1);
        if (bwh_parse_u64(f[0], &v[0]) || bwh_parse_u64(f[1], &v[1]) || v[0] > INT64_MAX ||
            v[1] > INT64_MAX || marker_path(b->st->conf.blob_dir, (int64_t)v[0], (int64_t)v[1], path,
                                            sizeof(path)))
            continue;
        buf = NULL;
        if (!bwh_read_file(path, 23, &buf, &len)) {
            snprintf(f[2], sizeof(f[2]), "%.*s", (int)len, (const char *)buf);
            f[2][strcspn(f[2], "\n")] = 0;
            if (!bwh_parse_u64(f[2], &v[2]) && v[2] <= INT64_MAX) {
                pthread_mutex_lock(&b->lock);
                if (enqueue(b, (int64_t)v[0], (int64_t)v[1], (int64_t)v[2], 0))
                    fprintf(stderr, "bulwark-gateway: delta build queue full: %s waits\n", path);
                pthread_mutex_unlock(&b->lock);
            }
        }
        bwh_free(buf);
    }
    closedir(d);
}

static void marker_drop(struct gw_dbuild *b, int64_t rel, int64_t src)
{
    char path[GW_PATH_MAX + 64];

    if (!marker_path(b->st->conf.blob_dir, rel, src, path, sizeof(path)))
        unlink(path);
}

enum gw_dbuild_state gw_dbuild_status(struct gw_state *st, int64_t rel_id, int64_t src_id,
                                      char *err, size_t cap)
{
    struct gw_dbuild *b = st->dbuild;
    enum gw_dbuild_state s = GW_DBUILD_NONE;
    struct job *j;

    if (cap)
        err[0] = 0;
    if (!b)
        return s;
    pthread_mutex_lock(&b->lock);
    if ((j = job_find(b, rel_id, src_id))) {
        s = j->state;
        if (cap)
            snprintf(err, cap, "%s", j->err);
    }
    pthread_mutex_unlock(&b->lock);
    return s;
}

void gw_dbuild_each(struct gw_state *st, int64_t rel_id,
                    void (*fn)(void *arg, int64_t src_id, int64_t src_seq,
                               enum gw_dbuild_state s, const char *err),
                    void *arg)
{
    struct gw_dbuild *b = st->dbuild;
    size_t i;

    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    for (i = 0; i < b->n_jobs; i++)
        if (b->jobs[i].rel == rel_id)
            fn(arg, b->jobs[i].src, b->jobs[i].src_seq, b->jobs[i].state, b->jobs[i].err);
    pthread_mutex_unlock(&b->lock);
}

void gw_dbuild_kick(struct gw_state *st)
{
    struct gw_dbuild *b = st->dbuild;

    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    b->kick = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->lock);
}

static int stopping(struct gw_dbuild *b)
{
    int s;

    pthread_mutex_lock(&b->lock);
    s = b->stop;
    pthread_mutex_unlock(&b->lock);
    return s;
}

/* ---- which deltas: the running campaigns' sources ------------------------ */

struct camp_ref {
    int64_t release_id;
    char filter[GW_ATTRS_MAX + 1];
};

struct scan {
    struct camp_ref *camps;
    size_t n_camps;
    struct gw_release *rels; /* bulwark releases, newest first */
    size_t n_rels, cap_rels;
    struct seq_count {
        int64_t seq, n;
    } seqs[SCAN_SEQ_MAX];
    size_t n_seqs;
    int64_t below; /* sequences counted: 0 <= seq < below */
    int all;       /* every running campaign, or only the dynamic ones */
    int nomem;
};

static void camp_cb(void *arg, const struct gw_campaign *c, const struct gw_counts *k)
{
    struct scan *s = arg;

    (void)k;
    if ((c->state != GW_CAMP_RUNNING && c->state != GW_CAMP_PAUSED) || (!s->all && !c->dynamic) ||
        s->n_camps >= SCAN_CAMPAIGNS_MAX)
        return;
    s->camps[s->n_camps].release_id = c->release_id;
    memcpy(s->camps[s->n_camps].filter, c->filter, sizeof(c->filter));
    s->n_camps++;
}

static void rel_cb(void *arg, const struct gw_release *r)
{
    struct scan *s = arg;
    struct gw_release *n;

    if (strcmp(r->kind, "bulwark") || s->nomem)
        return;
    if (s->n_rels == s->cap_rels) {
        n = bwh_realloc(s->rels, (s->cap_rels ? s->cap_rels * 2 : 16) * sizeof(*n));
        if (!n) {
            s->nomem = 1;
            return;
        }
        s->rels = n;
        s->cap_rels = s->cap_rels ? s->cap_rels * 2 : 16;
    }
    s->rels[s->n_rels++] = *r;
}

static void dev_cb(void *arg, const struct gw_device *d)
{
    struct scan *s = arg;
    size_t i;

    if (d->sequence < 0 || d->sequence >= s->below)
        return;
    for (i = 0; i < s->n_seqs; i++)
        if (s->seqs[i].seq == d->sequence) {
            s->seqs[i].n++;
            return;
        }
    if (s->n_seqs < SCAN_SEQ_MAX)
        s->seqs[s->n_seqs++] = (struct seq_count){d->sequence, 1};
}

/* the newest bulwark release with sequence seq, or NULL */
static const struct gw_release *rel_by_seq(const struct scan *s, int64_t seq)
{
    size_t i;

    for (i = 0; i < s->n_rels; i++)
        if (s->rels[i].sequence == seq)
            return &s->rels[i];
    return NULL;
}

static const struct gw_release *rel_by_id(const struct scan *s, int64_t id)
{
    size_t i;

    for (i = 0; i < s->n_rels; i++)
        if (s->rels[i].id == id)
            return &s->rels[i];
    return NULL;
}

/* Queues, for one campaign, the deltas of its release for the most
 * common sources its accepted target devices report (a release the
 * gateway holds, older than the target) that are neither built nor
 * known to the queue. */
static void scan_campaign(struct gw_dbuild *b, const struct gw_db_ops *ops, void *h,
                          struct scan *s, const struct camp_ref *c)
{
    const struct gw_conf *conf = &b->st->conf;
    const struct gw_release *rel = rel_by_id(s, c->release_id), *src;
    struct gw_delta_info info;
    uint64_t taken = 0;
    size_t i, best;

    if (!rel)
        return;
    s->n_seqs = 0;
    s->below = rel->sequence;
    if (ops->device_list(h, c->filter, GW_DEV_ACCEPTED, 0, -1, dev_cb, s))
        return;
    while (taken < conf->delta_sources && s->n_seqs) {
        for (best = 0, i = 1; i < s->n_seqs; i++)
            if (s->seqs[i].n > s->seqs[best].n ||
                (s->seqs[i].n == s->seqs[best].n && s->seqs[i].seq > s->seqs[best].seq))
                best = i;
        src = rel_by_seq(s, s->seqs[best].seq);
        s->seqs[best] = s->seqs[--s->n_seqs];
        if (!src)
            continue; /* a sequence the gateway holds no release of */
        taken++;
        if (!gw_delta_find(conf->blob_dir, rel, (uint64_t)src->sequence, &info))
            continue;
        pthread_mutex_lock(&b->lock);
        if (enqueue(b, rel->id, src->id, src->sequence, 0))
            fprintf(stderr, "bulwark-gateway: delta build queue full: %s from %s not queued\n",
                    rel->name, src->name);
        pthread_mutex_unlock(&b->lock);
    }
}

/* all: every running campaign (at the start, after a campaign was
 * created); else the dynamic ones, whose devices change (the others'
 * were fixed when they were created) */
static void scan(struct gw_dbuild *b, int all)
{
    const struct gw_db_ops *ops;
    struct scan *s;
    void *h;
    size_t i;

    scan_markers(b);
    if (!b->st->conf.delta_sources || gw_db(b->st, &ops, &h))
        return;
    s = bwh_calloc(1, sizeof(*s));
    if (s) {
        s->all = all;
        s->camps = bwh_calloc(SCAN_CAMPAIGNS_MAX, sizeof(*s->camps));
    }
    if (s && s->camps && !ops->campaign_list(h, 0, -1, camp_cb, s) && s->n_camps &&
        !ops->release_list(h, 0, -1, rel_cb, s) && !s->nomem)
        for (i = 0; i < s->n_camps && !stopping(b); i++)
            scan_campaign(b, ops, h, s, &s->camps[i]);
    if (s) {
        bwh_free(s->camps);
        bwh_free(s->rels);
    }
    bwh_free(s);
}

/* ---- one build ------------------------------------------------------------ */

/* Removes dir's files (one level) and dir. */
static void remove_dir(const char *dir)
{
    char path[GW_PATH_MAX + 300];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
            unlink(path);
    closedir(d);
    rmdir(dir);
}

/* The build directories of gateway processes that are gone. */
static void remove_stale(const char *blob_dir)
{
    char tmp[GW_PATH_MAX + 8], path[GW_PATH_MAX + 300];
    struct dirent *e;
    uint64_t pid;
    char *dash;
    DIR *d;

    snprintf(tmp, sizeof(tmp), "%s/tmp", blob_dir);
    if (!(d = opendir(tmp)))
        return;
    while ((e = readdir(d))) {
        char num[32];

        if (strncmp(e->d_name, "dbuild-", 7) || !(dash = strchr(e->d_name + 7, '-')) ||
            (size_t)(dash - (e->d_name + 7)) >= sizeof(num))
            continue;
        memcpy(num, e->d_name + 7, (size_t)(dash - (e->d_name + 7)));
        num[dash - (e->d_name + 7)] = 0;
        /* a live process's (this one's, another instance's on this
         * host) is left alone */
        if (bwh_parse_u64(num, &pid) || pid < 1 || pid > INT32_MAX ||
            (pid_t)pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name) < (int)sizeof(path))
            remove_dir(path);
    }
    closedir(d);
}

/* The signed image size of stored package digest (its envelope). */
static bw_err image_size(const char *blob_dir, const char *digest, uint64_t *size)
{
    uint8_t *env = NULL;
    size_t env_len = 0;
    struct bw_suit s;
    bw_err rc;

    rc = gw_release_envelope(blob_dir, digest, &env, &env_len);
    if (!rc)
        rc = bw_suit_parse(env, env_len, NULL, &s);
    if (!rc && s.n_components != 1)
        rc = BW_E_UNSUPPORTED;
    if (!rc)
        *size = s.comp[0].image_size;
    bwh_free(env);
    return rc;
}

/* Runs the child for one build and waits for it; on stop it is killed.
 * err: the child's reason (its stderr's first line). */
static bw_err run_child(struct gw_dbuild *b, const char *src_pkg, const char *dst_pkg,
                        const char *dir, char *err, size_t cap, int *stopped)
{
    const struct gw_conf *c = &b->st->conf;
    char ppid[24], level[24], max[24], self[] = "/proc/self/exe";
    char *argv[] = {"bulwark-gateway", "--build-delta", ppid, (char *)c->release_keys,
                    (char *)src_pkg, (char *)dst_pkg, (char *)dir, level, max, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    size_t got = 0;
    int p[2], status = 0, killed = 0, late = 0;
    int64_t deadline = bwh_now_ms() + (int64_t)GW_DBUILD_MAX_S * 1000;
    pid_t pid;
    ssize_t n;
    char *nl;

    err[0] = 0;
    snprintf(ppid, sizeof(ppid), "%ld", (long)getpid());
    snprintf(level, sizeof(level), "%" PRIu64, c->delta_level);
    snprintf(max, sizeof(max), "%" PRIu64, c->delta_max_image);
    if (pipe2(p, O_CLOEXEC))
        return BW_E_IO;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* none of the gateway's connections */
    posix_spawnattr_init(&at);
    /* the gateway's threads block its signals (main.c): the child must not */
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGHUP);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    n = posix_spawn(&pid, self, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (n) {
        close(p[0]);
        snprintf(err, cap, "cannot start the build: %s", strerror((int)n));
        return BW_E_IO;
    }
    for (;;) {
        struct pollfd pf = {p[0], POLLIN, 0};
        char buf[256];

        if (!killed && (stopping(b) || (late = bwh_now_ms() > deadline))) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        if (poll(&pf, 1, 200) <= 0)
            continue;
        n = read(p[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got + 1 < cap) {
            size_t take = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;

            memcpy(err + got, buf, take);
            got += take;
            err[got] = 0;
        }
    }
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if ((nl = strchr(err, '\n')))
        *nl = 0;
    if (killed && late) {
        snprintf(err, cap, "the build took longer than %d seconds", GW_DBUILD_MAX_S);
        return BW_E_IO;
    }
    if (killed) {
        snprintf(err, cap, "stopped with the gateway");
        *stopped = 1;
        return BW_E_STATE;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return BW_OK;
    if (!err[0])
        snprintf(err, cap, "the build process ended with status %d", status);
    return BW_E_IO;
}

static void audit_write(struct gw_dbuild *b, const char *action, const char *object,
                        const char *detail)
{
    const struct gw_db_ops *ops;
    void *h;

    if (gw_db(b->st, &ops, &h) ||
        ops->audit_add(h, (int64_t)time(NULL), "gateway", action, object, detail))
        fprintf(stderr, "bulwark-gateway: audit log write failed (%s %s)\n", action, object);
}

/* Builds job j's delta (no lock held; j is a copy). BW_OK with nothing
 * done when it exists already. *stopped: the gateway stopped it (no
 * record, nothing audited; the marker of a request stays). */
static bw_err build(struct gw_dbuild *b, const struct job *j, char *err, size_t cap, int *stopped)
{
    const struct gw_conf *c = &b->st->conf;
    const struct gw_db_ops *ops;
    struct gw_release rel, src, blob;
    struct gw_delta_info info, now;
    char dir[GW_PATH_MAX], out[GW_PATH_MAX + 16], sp[GW_PATH_MAX + 80], dp[GW_PATH_MAX + 80];
    char detail[GW_DETAIL_MAX];
    uint64_t ssize = 0, dsize = 0;
    unsigned n;
    void *h;
    bw_err rc;

    err[0] = 0;
    dir[0] = 0;
    *stopped = 0;
    if ((rc = gw_db(b->st, &ops, &h)) || (rc = ops->release_get(h, j->rel, &rel)) ||
        (rc = ops->release_get(h, j->src, &src))) {
        snprintf(err, cap, "release %" PRId64 " or %" PRId64 ": %s", j->rel, j->src, bw_strerror(rc));
        return rc;
    }
    if (!gw_delta_find(c->blob_dir, &rel, (uint64_t)src.sequence, &info))
        return BW_OK; /* built or uploaded meanwhile */
    if ((rc = image_size(c->blob_dir, src.digest, &ssize)) ||
        (rc = image_size(c->blob_dir, rel.digest, &dsize))) {
        snprintf(err, cap, "reading the stored envelopes: %s (%s)", bw_strerror(rc), bw_errname(rc));
        goto failed;
    }
    if (ssize > c->delta_max_image || dsize > c->delta_max_image) {
        rc = BW_E_TOOBIG;
        snprintf(err, cap, "an image of %" PRIu64 " bytes, over delta_max_image (%" PRIu64 ")",
                 ssize > dsize ? ssize : dsize, c->delta_max_image);
        goto failed;
    }
    pthread_mutex_lock(&b->lock);
    n = b->serial++;
    pthread_mutex_unlock(&b->lock);
    snprintf(dir, sizeof(dir), "%.4000s/tmp/dbuild-%ld-%u", c->blob_dir, (long)getpid(), n);
    if (mkdir(dir, 0700)) {
        rc = BW_E_IO;
        snprintf(err, cap, "%s: %s", dir, strerror(errno));
        goto failed;
    }
    if ((rc = gw_blob_path(c->blob_dir, src.digest, sp, sizeof(sp))) ||
        (rc = gw_blob_path(c->blob_dir, rel.digest, dp, sizeof(dp)))) {
        snprintf(err, cap, "the packages' paths: %s", bw_strerror(rc));
        goto failed;
    }
    fprintf(stderr, "bulwark-gateway: building the delta of %s for devices running %s\n",
            rel.name, src.name);
    rc = run_child(b, sp, dp, dir, err, cap, stopped);
    if (*stopped)
        goto out; /* no record, no audit; queued again at the next start */
    if (rc)
        goto failed;
    snprintf(out, sizeof(out), "%s/delta.bwd", dir);
    rc = gw_delta_check(c->blob_dir, out, &rel, &src, &info);
    if (rc) {
        snprintf(err, cap, "the built delta does not check: %s (%s)", bw_strerror(rc),
                 bw_errname(rc));
        goto failed;
    }
    if (!gw_delta_find(c->blob_dir, &rel, (uint64_t)src.sequence, &now)) {
        rc = BW_OK; /* an operator uploaded one meanwhile: it stays */
        goto out;
    }
    rc = gw_release_store_artifact(out, c->blob_dir, "delta", rel.name, "gateway", &blob);
    if (!rc) {
        memcpy(info.digest, blob.digest, sizeof(info.digest));
        rc = gw_delta_record(c->blob_dir, &rel, &info);
    }
    if (rc) {
        snprintf(err, cap, "storing the delta: %s (%s)", bw_strerror(rc), bw_errname(rc));
        goto failed;
    }
    snprintf(detail, sizeof(detail),
             "source %s (sequence %" PRId64 "): sha256 %s, %" PRIu64 " bytes, %" PRIu64
             " predicted",
             src.name, src.sequence, info.digest, info.size, info.predicted);
    fprintf(stderr, "bulwark-gateway: delta of %s built: %s\n", rel.name, detail);
    audit_write(b, "release.delta_built", rel.name, detail);
    goto out;
failed:
    snprintf(detail, sizeof(detail), "source %s (sequence %" PRId64 "): %s", src.name,
             src.sequence, err);
    fprintf(stderr, "bulwark-gateway: delta of %s failed: %s\n", rel.name, detail);
    audit_write(b, "release.delta_build_failed", rel.name, detail);
out:
    if (dir[0])
        remove_dir(dir);
    return rc;
}

static void *builder(void *arg)
{
    struct gw_dbuild *b = arg;
    struct timespec until;
    struct job copy, *j;
    char err[ERR_MAX];
    time_t next = 0;
    int stopped;
    size_t i;
    bw_err rc;

    pthread_mutex_lock(&b->lock);
    while (!b->stop) {
        for (j = NULL, i = 0; i < b->n_jobs && !j; i++)
            if (b->jobs[i].state == GW_DBUILD_QUEUED)
                j = &b->jobs[i];
        if (j) {
            j->state = GW_DBUILD_BUILDING;
            copy = *j;
            pthread_mutex_unlock(&b->lock);
            rc = build(b, &copy, err, sizeof(err), &stopped);
            if (!stopped) /* the request is answered */
                marker_drop(b, copy.rel, copy.src);
            pthread_mutex_lock(&b->lock);
            if ((j = job_find(b, copy.rel, copy.src))) {
                if (!rc || stopped) {
                    job_drop(b, j);
                } else {
                    j->state = GW_DBUILD_FAILED;
                    j->when = (int64_t)time(NULL);
                    snprintf(j->err, sizeof(j->err), "%s", err);
                }
            }
            continue;
        }
        if (b->kick || time(NULL) >= next) {
            int all = b->kick || !next;

            b->kick = 0;
            pthread_mutex_unlock(&b->lock);
            scan(b, all);
            next = time(NULL) + GW_DBUILD_RESCAN_S;
            pthread_mutex_lock(&b->lock);
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec = next;
        pthread_cond_timedwait(&b->cv, &b->lock, &until);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

bw_err gw_dbuild_start(struct gw_state *st)
{
    struct gw_dbuild *b = bwh_calloc(1, sizeof(*b));

    if (!b)
        return BW_E_NOMEM;
    b->st = st;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cv, NULL);
    remove_stale(st->conf.blob_dir);
    st->dbuild = b;
    if (pthread_create(&b->th, NULL, builder, b)) {
        gw_dbuild_stop(st);
        return BW_E_NOMEM;
    }
    b->th_on = 1;
    return BW_OK;
}

void gw_dbuild_stop(struct gw_state *st)
{
    struct gw_dbuild *b = st->dbuild;

    if (!b)
        return;
    if (b->th_on) {
        pthread_mutex_lock(&b->lock);
        b->stop = 1;
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->th, NULL);
    }
    st->dbuild = NULL;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->lock);
    bwh_free(b);
}

/* ---- the child ------------------------------------------------------------ */

static bw_err to_fd(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    (void)off; /* the checked chunks come in order */
    return bwh_write_full(*(int *)ctx, data, len);
}

/* The source package's image, every byte verified, into img. */
static bw_err extract(const char *keys_path, const char *pkg, const char *img, uint64_t max,
                      const char **what)
{
    struct bw_ec_key keys[GW_RELEASE_KEYS_MAX];
    const struct bw_ec_key *kp[GW_RELEASE_KEYS_MAX];
    struct bwh_pkg p;
    struct bwh_pkg_opts o;
    const char *stage = "";
    size_t n = 0, i;
    int fd = -1, open_ = 0;
    bw_err rc;

    memset(&p, 0, sizeof(p));
    p.fd = -1;
    *what = "release_keys";
    if ((rc = gw_release_keys_load(keys_path, keys, kp, &n)))
        goto out;
    /* the stored envelope authenticated again: the blob is trusted no
     * more than an upload */
    *what = "source package (envelope)";
    rc = BW_E_BADSIG;
    for (i = 0; i < n && !open_; i++) {
        rc = bwh_pkg_open(&p, pkg, kp[i], BW_SUIT_ENVELOPE_MAX);
        if (!rc && p.suit.authenticated)
            open_ = 1;
        else
            bwh_pkg_close(&p);
    }
    if (!open_)
        goto out;
    rc = BW_E_UNSUPPORTED;
    if (p.suit.n_components != 1)
        goto out;
    rc = BW_E_TOOBIG;
    if (p.suit.comp[0].image_size > max)
        goto out;
    *what = "source image";
    rc = BW_E_IO;
    fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        goto out;
    memset(&o, 0, sizeof(o));
    o.out = to_fd;
    o.out_ctx = &fd;
    /* the core's install stream with no device: each chunk checked
     * against the signed list before `out` sees it, the whole image
     * against its signed digest at the end */
    *what = "source package (payload)";
    rc = bwh_pkg_install(&p, NULL, NULL, &o, &stage);
out:
    if (fd >= 0 && close(fd) && !rc)
        rc = BW_E_IO;
    if (open_)
        bwh_pkg_close(&p);
    for (i = 0; i < n; i++)
        bw_ec_key_clear(&keys[i]);
    return rc;
}

int gw_dbuild_child(int argc, char **argv)
{
    struct bwh_delta_make_stats ms;
    char img[GW_PATH_MAX + 16], out[GW_PATH_MAX + 16];
    const char *what = "";
    uint64_t ppid, level, max;
    bw_err rc;

    if (argc != 7 || bwh_parse_u64(argv[0], &ppid) || bwh_parse_u64(argv[5], &level) ||
        bwh_parse_u64(argv[6], &max) || level < 1 || level > 22 || strlen(argv[4]) > GW_PATH_MAX) {
        fprintf(stderr, "bulwark-gateway --build-delta: internal use only\n");
        return 2;
    }
    /* ends with the thread that started it (the gateway's builder) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if ((uint64_t)getppid() != ppid)
        return 1;
    snprintf(img, sizeof(img), "%s/source.img", argv[4]);
    snprintf(out, sizeof(out), "%s/delta.bwd", argv[4]);
    rc = extract(argv[1], argv[2], img, max, &what);
    if (!rc) {
        memset(&ms, 0, sizeof(ms));
        rc = bwh_delta_make(img, argv[3], out, (int)level, &ms, &what);
        if (rc && what == argv[3])
            what = "target package";
        else if (rc && what == img)
            what = "source image";
    }
    unlink(img);
    if (rc) {
        fprintf(stderr, "%s: %s (%s)\n", what && what[0] ? what : "build", bw_strerror(rc),
                bw_errname(rc));
        return 1;
    }
    return 0;
}
