/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rows of the Statement of Applicability: one per catalogue
 * requirement, decided by the checks that looked at the device, else by
 * the maker's answer in the profile, else left unanswered. Also what
 * --strict refuses and the exit status. No I/O: the writers print rows.
 *
 * Method: a row is not applicable when the target version lacks the
 * provision, the maker says so with a reason, or a feature flag it needs
 * is off (the reason then names the flag and its declared value). Else its
 * checks decide (any error -> error, any fail -> fail, all pass -> pass);
 * a check that needs a person, or no check, hands the row to the maker's
 * answer: implemented (a claim with evidence, shown as manual),
 * not-implemented (fail, with its reason) or none (unanswered).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "bwh/host.h"

static const char *const result_names[] = {"pass", "fail", "not-applicable", "manual", "error"};

const char *audit_result_name(enum audit_result r)
{
    return (unsigned)r < AUDIT_NRESULTS ? result_names[r] : "?";
}

const struct audit_check *audit_find_check(const struct audit_model *m, const char *name)
{
    size_t i;

    for (i = 0; name && i < m->nchk; i++)
        if (!strcmp(m->chk[i].name, name))
            return &m->chk[i];
    return NULL;
}

/* The status column of the target version ("M C", "R F", "-"). */
static const char *status_of(const struct audit_profile *p, const struct audit_req *q)
{
    if (strcmp(q->std, "EN 303 645"))
        return q->status;
    return p->target == AUDIT_V3_1 ? q->v3 : q->v2;
}

static void append(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;

    if (n + 1 >= cap)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

/* What the profile declares when a flag a provision needs is off. */
static const struct {
    const char *flag, *declared;
} off_reasons[] = {
    {"user_accounts", "user_accounts = no (no accounts log in with a secret)"},
    {"personal_data", "personal_data = no (no personal data is processed)"},
    {"telemetry", "telemetry = no (no usage or diagnostic telemetry is sent)"},
    {"!constrained", "constrained = yes (a constrained device that cannot be updated or cannot "
                     "run some controls)"},
    {"constrained", "constrained = no (not a constrained device)"},
    {"sensors", "sensors = none (no sensing capability)"},
    {"network", "network_interfaces = none (no network interface)"},
    {"debug", "debug_interfaces = none (no physically reachable debug interface)"},
};

/* "Not applicable: the provision applies only when COND; the profile
 * declares FLAG = VALUE (meaning)." for each flag that is off. */
static void feature_reason(const struct audit_model *m, const struct audit_req *q, char *why,
                           size_t cap)
{
    const struct audit_profile *p = m->prof;
    const char *f = q->feature;
    char one[64];
    size_t i;

    snprintf(why, cap, "Not applicable: the provision applies only %s%s; the profile declares",
             *q->cond ? "when " : "to a device with the feature it concerns", q->cond);
    while (*f) {
        size_t n = strcspn(f, ",");

        snprintf(one, sizeof(one), "%.*s", (int)(n < 60 ? n : 60), f);
        f += n + (f[n] == ',');
        if (audit_profile_feature(p, one))
            continue;
        for (i = 0; i < sizeof(off_reasons) / sizeof(off_reasons[0]); i++)
            if (!strcmp(one, off_reasons[i].flag))
                break;
        if (i < sizeof(off_reasons) / sizeof(off_reasons[0]))
            append(why, cap, " %s", off_reasons[i].declared);
        else if (!strcmp(one, "updatable"))
            append(why, cap, " %s", p->updatable < 0 ? "updates = no (its software cannot be updated)"
                                                     : "constrained = yes and network_interfaces = "
                                                       "none (its software cannot be updated)");
        else
            append(why, cap, " %s off", one);
    }
    append(why, cap, ".");
}

/* The checks of a row combined: error beats fail beats manual beats pass;
 * all not-applicable is not applicable. -1 when none of them ran. */
static int combine(const struct audit_model *m, const struct audit_req *q, char *ev, size_t cap)
{
    int res = -1, ran = 0, na = 0, manual = 0, fail = 0, err = 0;
    size_t i;

    for (i = 0; i < q->nchecks; i++) {
        const struct audit_check *c = audit_find_check(m, q->checks[i]);

        if (!c)
            continue;
        ran++;
        append(ev, cap, "%s[%s] %s", *ev ? " " : "", c->name, c->evidence);
        na += c->res == AUDIT_NA;
        manual += c->res == AUDIT_MANUAL;
        fail += c->res == AUDIT_FAIL;
        err += c->res == AUDIT_ERROR;
    }
    if (!ran)
        return -1;
    if (err)
        res = AUDIT_ERROR;
    else if (fail)
        res = AUDIT_FAIL;
    else if (na == ran)
        res = AUDIT_NA;
    else if (manual)
        res = AUDIT_MANUAL;
    else
        res = AUDIT_PASS;
    return res;
}

static void claim_evidence(const struct audit_profile *p, const struct audit_answer *a, char *ev,
                           size_t cap)
{
    append(ev, cap, "%sMaker's answer: %s.", *ev ? " " : "", audit_answer_name(a->state));
    if (*a->detail)
        append(ev, cap, " %s", a->detail);
    if (*a->evidence)
        append(ev, cap, " Evidence: %s.", a->evidence);
    append(ev, cap, " Owner: %s, reviewed %s, expires %s.",
           *a->owner ? a->owner : *p->owner ? p->owner : "none",
           *a->review ? a->review : *p->review ? p->review : "never",
           *a->expires ? a->expires : *p->expires ? p->expires : "never");
}

static void build_row(struct audit_model *m, struct audit_row *r, const struct audit_req *q)
{
    const struct audit_profile *p = m->prof;
    const struct audit_answer *a = audit_profile_answer(p, q->id);
    const char *st = status_of(p, q);
    char ev[sizeof(r->evid)] = "";
    int res = combine(m, q, ev, sizeof(ev));

    r->req = q;
    r->ans = a;
    r->check = q->check && audit_find_check(m, q->check) ? q->check : NULL;
    r->mandatory = st[0] == 'M' || st[0] == '?';
    r->evidence = r->evid;
    if (!strcmp(q->std, "EN 303 645") && !strcmp(st, "-")) {
        r->res = AUDIT_NA;
        snprintf(r->why, sizeof(r->why), "Not applicable: %s, the target version, has no "
                 "provision %s.", *p->standard ? p->standard : "EN 303 645 V2.1.1", q->ref);
        r->mandatory = 0;
    } else if (a && a->state == AUDIT_ANS_NOT_APPLICABLE) {
        r->res = AUDIT_NA;
        snprintf(r->why, sizeof(r->why), "%s", a->why);
    } else if (q->feature && !audit_profile_feature(p, q->feature)) {
        r->res = AUDIT_NA;
        feature_reason(m, q, r->why, sizeof(r->why));
    } else if (res >= 0 && res != AUDIT_MANUAL) {
        r->res = (enum audit_result)res;
        if (res == AUDIT_NA)
            snprintf(r->why, sizeof(r->why), "%.590s", ev);
        else if (res == AUDIT_FAIL && a && a->state == AUDIT_ANS_NOT_IMPLEMENTED)
            snprintf(r->why, sizeof(r->why), "%s", a->why);
    } else if (a && a->state == AUDIT_ANS_IMPLEMENTED) {
        r->res = AUDIT_MANUAL;
        claim_evidence(p, a, ev, sizeof(ev));
    } else if (a && a->state == AUDIT_ANS_NOT_IMPLEMENTED) {
        r->res = AUDIT_FAIL;
        snprintf(r->why, sizeof(r->why), "%s", a->why);
        claim_evidence(p, a, ev, sizeof(ev));
    } else {
        r->res = AUDIT_MANUAL;
        r->unanswered = 1;
        append(ev, sizeof(ev), "%s%s", *ev ? " " : "",
               "Unanswered: no automated check decides it and the profile has no answer "
               "(req.ID = implemented, not-implemented or not-applicable).");
    }
    snprintf(r->evid, sizeof(r->evid), "%s", ev);
    m->count[r->res]++;
    /* a recommendation the maker chose not to implement, with a reason that
     * says something, is an answer (EN 303 645 allows it), not a failure */
    if (r->res == AUDIT_ERROR || (r->res == AUDIT_FAIL && r->mandatory))
        m->fail_mandatory += r->mandatory;
    if (r->res == AUDIT_ERROR && !r->mandatory)
        m->fail_recommended++;
    if (r->res == AUDIT_FAIL && !r->mandatory &&
        !(a && a->state == AUDIT_ANS_NOT_IMPLEMENTED && !audit_weak_reason(a->why)))
        m->fail_recommended++;
    m->unanswered += (size_t)r->unanswered;
}

bw_err audit_build_rows(struct audit_model *m)
{
    time_t now = time(NULL);
    struct tm tm;
    size_t i;

    m->row = bwh_calloc(m->cat->nreq + 1, sizeof(*m->row));
    if (!m->row)
        return BW_E_NOMEM;
    memset(m->count, 0, sizeof(m->count));
    m->fail_mandatory = m->fail_recommended = m->unanswered = 0;
    audit_risk_review_check(m); /* an unreviewed or reopened register is no pass */
    for (i = 0; i < m->cat->nreq; i++)
        build_row(m, &m->row[i], &m->cat->req[i]);
    m->nrow = m->cat->nreq;
    gmtime_r(&now, &tm);
    strftime(m->when, sizeof(m->when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(m->device, sizeof(m->device), "%.30s/%.30s", m->prof->model, m->prof->sw_version);
    return BW_OK;
}

/* ---- --strict ---- */

static void issue(struct audit_model *m, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void issue(struct audit_model *m, const char *id, const char *fmt, ...)
{
    struct audit_issue *x;
    va_list ap;

    if (!m->issue || m->nissue == AUDIT_ISSUES_MAX)
        return;
    x = &m->issue[m->nissue++];
    snprintf(x->id, sizeof(x->id), "%s", id);
    va_start(ap, fmt);
    vsnprintf(x->why, sizeof(x->why), fmt, ap);
    va_end(ap);
}

/* A claim's owner, review and expiry, each from the answer or the profile. */
static void check_claim(struct audit_model *m, const struct audit_answer *a)
{
    const struct audit_profile *p = m->prof;
    const char *owner = *a->owner ? a->owner : p->owner;
    const char *review = *a->review ? a->review : p->review;
    const char *expires = *a->expires ? a->expires : p->expires;
    long days;

    if (!*owner)
        issue(m, a->id, "%s answer has no owner (req.ID.owner or owner)",
              audit_answer_name(a->state));
    if (!*review)
        issue(m, a->id, "%s answer was never reviewed (req.ID.review or review)",
              audit_answer_name(a->state));
    if (!*expires)
        issue(m, a->id, "%s answer has no expiry (req.ID.expires or expires)",
              audit_answer_name(a->state));
    else if (audit_days_until(expires, &days) == BW_OK && days < 0)
        issue(m, a->id, "the maker's claim expired on %s", expires);
}

/* "[check] evidence" of the first check that failed or could not look,
 * else the row's evidence. */
static const char *failing(const struct audit_model *m, const struct audit_row *r, char *buf,
                           size_t cap)
{
    size_t i;

    for (i = 0; i < r->req->nchecks; i++) {
        const struct audit_check *c = audit_find_check(m, r->req->checks[i]);

        if (c && (c->res == AUDIT_FAIL || c->res == AUDIT_ERROR) && r->res == c->res) {
            snprintf(buf, cap, "[%s] %s", c->name, c->evidence);
            return buf;
        }
    }
    return r->evid;
}

/* The risk register as an assessment: every unreviewed, overdue or
 * reopened risk is a reason of its own (audit_risk_strict_problems gives
 * them "; "-separated). */
static void strict_risks(struct audit_model *m)
{
    char *probs = bwh_malloc(AUDIT_RISK_PROBLEMS_MAX), *one, *next;

    if (!probs) {
        issue(m, "risk", "%s", "the risk register could not be reviewed: out of memory");
        return;
    }
    if (audit_risk_strict_problems(m, probs, AUDIT_RISK_PROBLEMS_MAX))
        for (one = probs; one; one = next) {
            next = strstr(one, "; ");
            if (next) {
                *next = 0;
                next += 2;
            }
            issue(m, "risk", "%s", one);
        }
    bwh_free(probs);
}

size_t audit_strict(struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    char samples[2048], buf[1100], *line, *save = NULL;
    const char *weak;
    size_t i;

    bwh_free(m->issue);
    m->nissue = 0;
    m->issue = bwh_calloc(AUDIT_ISSUES_MAX, sizeof(*m->issue));
    if (!m->issue)
        return 1; /* refuse: nothing could be checked */
    if (!*p->standard)
        issue(m, "standard", "%s", "no target version declared (standard = EN 303 645 V2.1.1 or "
                                   "EN 303 645 V3.1.x)");
    if (audit_profile_samples(p, samples, sizeof(samples)))
        for (line = strtok_r(samples, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            issue(m, "profile", "template or placeholder value: %s", line);
    strict_risks(m);
    for (i = 0; i < m->nrow; i++) {
        const struct audit_row *r = &m->row[i];
        const char *id = r->req->id;

        if (r->unanswered)
            issue(m, id, "%s", "unanswered: no check decides it and the profile has no answer");
        else if (r->res == AUDIT_ERROR)
            issue(m, id, "could not be checked: %.600s", failing(m, r, buf, sizeof(buf)));
        else if (r->res == AUDIT_FAIL && !(r->ans && r->ans->state == AUDIT_ANS_NOT_IMPLEMENTED))
            issue(m, id, "%s fails: %.600s", r->mandatory ? "mandatory provision" : "recommendation",
                  failing(m, r, buf, sizeof(buf)));
        else if (r->res == AUDIT_FAIL && r->mandatory)
            issue(m, id, "mandatory provision not implemented: %.600s", r->why);
        if (r->res == AUDIT_NA && r->check) { /* by the maker or a feature flag */
            int c = combine(m, r->req, (char[2]){0}, 1);

            if (c == AUDIT_FAIL || c == AUDIT_ERROR)
                issue(m, id, "declared not applicable, but its check %s on the device",
                      c == AUDIT_FAIL ? "fails" : "could not look");
        }
        if (r->ans)
            check_claim(m, r->ans);
        if ((r->res == AUDIT_NA || r->res == AUDIT_FAIL) && r->ans &&
            r->ans->state != AUDIT_ANS_IMPLEMENTED && (weak = audit_weak_reason(r->ans->why)))
            issue(m, id, "the justification says nothing: %s", weak);
    }
    return m->nissue;
}

int audit_exit_status(const struct audit_model *m, int strict)
{
    if (m->fail_mandatory)
        return AUDIT_EXIT_MANDATORY;
    if (strict && m->nissue)
        return AUDIT_EXIT_STRICT;
    if (m->fail_recommended)
        return AUDIT_EXIT_RECOMMENDED;
    return 0;
}

void audit_model_free(struct audit_model *m)
{
    bwh_free(m->row);
    m->row = NULL;
    bwh_free(m->issue);
    m->issue = NULL;
    m->nissue = 0;
    if (m->reg)
        audit_register_free(m->reg);
    bwh_free(m->reg);
    m->reg = NULL;
}

/* ---- the JSON report's fields for the above ---- */

void audit_json_row(json_t *row, const struct audit_row *r)
{
    const struct audit_answer *a = r->ans;

    json_object_set_new(row, "mandatory", json_boolean(r->mandatory));
    json_object_set_new(row, "unanswered", json_boolean(r->unanswered));
    if (a)
        json_object_set_new(row, "answer",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "state",
                                      audit_answer_name(a->state), "why", a->why, "detail",
                                      a->detail, "evidence", a->evidence, "owner", a->owner,
                                      "review", a->review, "expires", a->expires));
}

void audit_json_model(json_t *o, const struct audit_model *m)
{
    json_t *summary = json_object_get(o, "summary"), *issues = json_array();
    size_t i;

    json_object_set_new(o, "standard", json_string(*m->prof->standard ? m->prof->standard : ""));
    if (summary) {
        json_object_set_new(summary, "error", json_integer((json_int_t)m->count[AUDIT_ERROR]));
        json_object_set_new(summary, "unanswered", json_integer((json_int_t)m->unanswered));
        json_object_set_new(summary, "fail_mandatory", json_integer((json_int_t)m->fail_mandatory));
        json_object_set_new(summary, "fail_recommended",
                            json_integer((json_int_t)m->fail_recommended));
    }
    for (i = 0; i < m->nissue; i++)
        json_array_append_new(issues, json_pack("{s:s,s:s}", "id", m->issue[i].id, "why",
                                                m->issue[i].why));
    json_object_set_new(o, "strict", issues);
}
