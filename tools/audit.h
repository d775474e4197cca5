/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compliance kit's model: the requirement catalogue (compliance/
 * catalogue.json, built into the binary), the maker's device profile, the
 * results of the device checks, and the rows every report is written from.
 * Host code: it allocates through jansson and bwh_malloc; nothing here runs
 * on the device core.
 */
#ifndef BULWARK_AUDIT_H
#define BULWARK_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "bulwark/err.h"

extern const unsigned char audit_catalogue_json[];
extern const size_t audit_catalogue_json_len;

struct audit_req {
    const char *id, *std, *ref, *v2, *v3, *status, *cond, *text, *control, *check, *feature;
    int provisional;
    /* every check that decides the row: check first, then "checks" */
    const char *checks[6];
    size_t nchecks;
    const char *xref[48]; /* other requirements sharing a topic */
    size_t nxref;
};

struct audit_threat {
    const char *id, *asset, *threat;
    int likelihood, impact;
    const char *reqs[8];
    size_t nreqs;
};

struct audit_catalogue {
    json_t *root; /* owns every string above */
    struct audit_req *req;
    size_t nreq;
    struct audit_threat *thr;
    size_t nthr;
};

/* Loads the catalogue from path, or the built-in one when path is NULL.
 * BW_E_FORMAT (reason on stderr) for JSON that is not a catalogue,
 * BW_E_IO / BW_E_NOMEM otherwise. Free with audit_catalogue_free. */
BW_NODISCARD bw_err audit_catalogue_load(struct audit_catalogue *c, const char *path);
void audit_catalogue_free(struct audit_catalogue *c);
const struct audit_req *audit_catalogue_find(const struct audit_catalogue *c, const char *id);
/* Description of a feature flag, or NULL for an unknown one. */
const char *audit_feature_help(const struct audit_catalogue *c, const char *name);

/* ---- device profile (key = value; see docs/compliance.md) ---- */
#define AUDIT_NA_MAX 128
#define AUDIT_STR 256

struct audit_na {
    char id[64];
    char why[512];
    int line;
};

/* The maker's answer for one requirement (req.ID = STATE and its fields;
 * na.ID = REASON is the short form of not-applicable). */
enum audit_answer_state {
    AUDIT_ANS_NONE = 0,
    AUDIT_ANS_IMPLEMENTED,
    AUDIT_ANS_NOT_IMPLEMENTED,
    AUDIT_ANS_NOT_APPLICABLE
};
#define AUDIT_ANSWER_MAX 160

struct audit_answer {
    char id[64];
    enum audit_answer_state state;
    char why[512];      /* required for not-implemented and not-applicable */
    char detail[512];   /* how it is implemented */
    char evidence[512]; /* files, URLs, check:NAME; required for implemented */
    char owner[128];    /* who answers for it (default: the profile's owner) */
    char review[16];    /* last reviewed, YYYY-MM-DD (default: the profile's) */
    char expires[16];   /* the claim is void after, YYYY-MM-DD (default: the profile's) */
    int line;
};

/* Target version of EN 303 645 the rows are answered against. */
enum audit_target { AUDIT_V2_1_1 = 0, AUDIT_V3_1 };

struct audit_profile {
    char product[AUDIT_STR], model[AUDIT_STR], hw_version[AUDIT_STR], sw_version[AUDIT_STR];
    char manufacturer[AUDIT_STR], support_end[AUDIT_STR], vuln_contact[AUDIT_STR];
    char policy_url[AUDIT_STR], canonical_url[AUDIT_STR], languages[AUDIT_STR];
    char sensors[AUDIT_STR], network_interfaces[AUDIT_STR], services[1024];
    char debug_interfaces[AUDIT_STR], update_policy[AUDIT_STR], risk_register[AUDIT_STR];
    char agent_config[AUDIT_STR];
    char fips_certificate[AUDIT_STR]; /* the validated module's certificate, as the maker declares it */
    unsigned ack_days, status_days;
    int user_accounts, personal_data, telemetry, constrained, debug_disabled;
    /* the regulatory documents (audit_disclose.c): PSTI Schedule 4 content,
     * support period, RFC 9116 Encryption, ISO/IEC 29147 advisories, and
     * the document control every generated document carries */
    char manufacturer_address[AUDIT_STR], batch[AUDIT_STR], support_start[AUDIT_STR];
    char signatory_name[AUDIT_STR], signatory_function[AUDIT_STR], issue_place[AUDIT_STR];
    char encryption_url[AUDIT_STR], advisories_url[AUDIT_STR], doc_author[AUDIT_STR];
    char doc_version[AUDIT_STR];
    struct audit_na na[AUDIT_NA_MAX];
    size_t nna;
    /* issue 14: answers for every row, the target version, the pins and
     * registries the device checks compare against */
    char standard[64];               /* "EN 303 645 V2.1.1" or "EN 303 645 V3.1.x" */
    enum audit_target target;
    char owner[128], review[16], expires[16]; /* defaults for every answer */
    char release_key_sha256[65];     /* pin: SHA-256 of the release key's SubjectPublicKeyInfo */
    char provisioning_registry[AUDIT_STR]; /* bulwark provision's registry.jsonl */
    char releases[AUDIT_STR];        /* the gateway's release list (GET /api/v1/releases) */
    char setup_guide[AUDIT_STR];     /* the user's guide to checking the set-up (5.12-3) */
    int updatable;                   /* +1 yes, -1 no, 0 not declared */
    struct audit_answer ans[AUDIT_ANSWER_MAX];
    size_t nans;
};

/* Parses profile text (no I/O, no allocation: the fuzz target calls it).
 * BW_E_FORMAT for an unknown key, a repeated key, a malformed value, or a
 * not-applicable entry without a justification; BW_E_TOOBIG for a value or
 * a list past its buffer. err receives "LINE: reason". */
BW_NODISCARD bw_err audit_profile_parse(struct audit_profile *p, const char *text, size_t len,
                                        char *err, size_t errcap);
/* Checks the not-applicable ids against the catalogue: BW_E_NOTFOUND for
 * an id it does not hold (err names it and its line). */
BW_NODISCARD bw_err audit_profile_validate(const struct audit_profile *p,
                                           const struct audit_catalogue *c, char *err,
                                           size_t errcap);
/* Whether the profile turns a feature flag on ("!name" negates). */
int audit_profile_feature(const struct audit_profile *p, const char *feature);
const struct audit_na *audit_profile_na(const struct audit_profile *p, const char *id);
/* The maker's answer for a requirement id, or NULL. */
const struct audit_answer *audit_profile_answer(const struct audit_profile *p, const char *id);
const char *audit_answer_name(enum audit_answer_state s);
/* Values copied from the template or sample data (example.com contacts,
 * placeholder names, TODO): one "key: value" line per finding into out,
 * their number as the result. */
size_t audit_profile_samples(const struct audit_profile *p, char *out, size_t cap);
/* What marks value of profile key as a placeholder, or NULL. */
const char *audit_profile_placeholder(const char *key, const char *value);
/* Why a justification says nothing (too few words to give a reason), or
 * NULL when it says something. */
const char *audit_weak_reason(const char *why);
/* Writes the commented template. */
void audit_profile_template(FILE *f, const struct audit_catalogue *c);
/* Number of days from today to a YYYY-MM-DD date (negative when past);
 * BW_E_FORMAT for anything else. */
BW_NODISCARD bw_err audit_days_until(const char *date, long *days);

/* ---- checks and rows ---- */
/* pass and fail: a check looked at the device or document; error: it could
 * not look (unreadable input, no device, tool failure); manual: the maker's
 * claim with its evidence; not applicable, with a reason. Only appended. */
enum audit_result { AUDIT_PASS, AUDIT_FAIL, AUDIT_NA, AUDIT_MANUAL, AUDIT_ERROR };
#define AUDIT_NRESULTS 5

struct audit_check {
    const char *name;
    enum audit_result res;
    char evidence[1024];
};

struct audit_row {
    const struct audit_req *req;
    enum audit_result res;
    char why[600];      /* justification when not applicable or not implemented */
    const char *check;  /* NULL when assessed by hand */
    const char *evidence;
    /* issue 14 */
    const struct audit_answer *ans; /* the maker's answer, or NULL */
    int mandatory;                  /* M in the target version (else a recommendation) */
    int unanswered;                 /* neither a check nor the maker answers it */
    char evid[1600];                /* evidence points here */
};

/* One reason --strict refuses the report. */
struct audit_issue {
    char id[64]; /* requirement, check or profile key */
    char why[700];
};
#define AUDIT_ISSUES_MAX 200

struct audit_register;

struct audit_model {
    struct audit_catalogue *cat;
    struct audit_register *reg; /* the risk register, when risk.register passed */
    struct audit_profile *prof;
    struct audit_check chk[48];
    size_t nchk;
    struct audit_row *row;
    size_t nrow;
    size_t count[AUDIT_NRESULTS];
    char when[32];   /* RFC 3339 time of the run */
    char device[64]; /* stable name for UUIDs */
    /* issue 14: failed rows by kind, and the --strict findings */
    size_t fail_mandatory, fail_recommended, unanswered;
    struct audit_issue *issue; /* filled by audit_strict */
    size_t nissue;
    const char *releases_path;  /* --releases */
    const char *gateway_url;    /* --gateway: ask the gateway itself (overrides the list) */
    const char *gateway_token;  /* --gateway-token-file: an operator token (viewer suffices) */
    const char *gateway_cacert; /* --cacert: CA bundle of the gateway's https (NULL: system's) */
    const char *sign_key; /* disclose: OpenPGP key that signs security.txt, or NULL */
    char unit[128];       /* the unit audited: its device certificate's CN, or empty */
    /* issue 20 (CRA): the maker's VEX database (bulwark vex), and the
     * sequence installed on the audited device (set by the checks) */
    const char *vex_path;
    uint64_t installed;
    int has_installed;
};

const char *audit_result_name(enum audit_result r);
/* The check called name in m, or NULL when it did not run. */
const struct audit_check *audit_find_check(const struct audit_model *m, const char *name);
/* The checks (audit_checks.c). conf_path may be NULL: the device checks
 * are then errors, as they are when the device.conf does not load. The
 * socket tables are read from proc_net, else from /proc/net only with a
 * conf_path (the audit runs on the device). m->releases_path, when set,
 * overrides the profile's release list; m->gateway_url, when set, has the
 * list read from the gateway's operator API instead (paged). */
void audit_run_checks(struct audit_model *m, const char *conf_path, const char *proc_net);
/* The newest sequence the gateway's release list root (a JSON array, or an
 * object with "releases") offers for vendor_id and class_id (textual UUIDs,
 * compared without case): *newest (0: none for this class) and its name
 * (at most cap bytes, "?" when unnamed). BW_E_FORMAT: not a release list
 * (audit_releases.c). */
BW_NODISCARD bw_err audit_releases_newest(const json_t *root, const char *vendor_id,
                                          const char *class_id, uint64_t *newest, char *name,
                                          size_t cap);
/* Fills m->row from the catalogue, profile and check results (audit_rows.c). */
BW_NODISCARD bw_err audit_build_rows(struct audit_model *m);
/* What --strict refuses: unanswered rows, checks that could not look,
 * expired or unowned claims, empty justifications, template values, a
 * failure no answer justifies. Fills m->issue; returns their number. */
size_t audit_strict(struct audit_model *m);
/* Exit status of an audit: 0 clean, 1 a mandatory provision fails or a check
 * could not look, 3 only recommendations fail, 4 --strict refuses. */
#define AUDIT_EXIT_MANDATORY 1
#define AUDIT_EXIT_RECOMMENDED 3
#define AUDIT_EXIT_STRICT 4
int audit_exit_status(const struct audit_model *m, int strict);
/* The IXIT skeleton (ETSI TS 103 701 implementation tables) from what the
 * checks saw, the rest marked for the supplier. */
void audit_write_ixit_md(FILE *f, const struct audit_model *m);
void audit_write_ixit_json(FILE *f, const struct audit_model *m);
void audit_model_free(struct audit_model *m);
/* The issue-14 fields of the JSON report: per row mandatory, unanswered
 * and the maker's answer; per report the target standard, the error and
 * unanswered counts, failures by kind and the --strict findings. */
void audit_json_row(json_t *row, const struct audit_row *r);
void audit_json_model(json_t *o, const struct audit_model *m);

/* ---- writers (audit_report.c) ---- */
void audit_html_escape(FILE *f, const char *s);
void audit_write_json(FILE *f, const struct audit_model *m);
void audit_write_html(FILE *f, const struct audit_model *m);
void audit_write_markdown(FILE *f, const struct audit_model *m);
void audit_write_ics(FILE *f, const struct audit_model *m);
BW_NODISCARD bw_err audit_write_oscal_ssp(FILE *f, const struct audit_model *m);
BW_NODISCARD bw_err audit_write_oscal_ar(FILE *f, const struct audit_model *m);
/* bulwark itself as an OSCAL component definition: which catalogue
 * requirements its technical and documentary parts implement. */
BW_NODISCARD bw_err audit_write_oscal_component(FILE *f, const struct audit_model *m);
/* A stable UUID (version 5 layout) from SHA-256 of the two names. */
void audit_uuid(char out[37], const char *a, const char *b);
/* Disclosure documents into dir: security.txt (signed with gpg when
 * m->sign_key is set), disclosure-policy.md, support-period.md and
 * psti-statement.md. Refused with BW_E_FORMAT (err lists every missing or
 * sample value) when the profile lacks what they must state, and with
 * BW_E_STATE when the support period has ended. While a PSTI requirement
 * is not met, psti-gap-report.md is written instead of the statement and
 * BW_E_STATE returned (err names the unmet rows). */
BW_NODISCARD bw_err audit_write_disclosure(const struct audit_model *m, const char *dir,
                                           char *err, size_t errcap);
/* The OSCAL documents the others import: the catalogue as an OSCAL
 * catalog, a profile selecting all of it, and the assessment plan. */
BW_NODISCARD bw_err audit_write_oscal_catalog(FILE *f, const struct audit_model *m);
BW_NODISCARD bw_err audit_write_oscal_profile(FILE *f, const struct audit_model *m);
BW_NODISCARD bw_err audit_write_oscal_ap(FILE *f, const struct audit_model *m);

/* ---- risk register (audit_risk.c) ---- */
struct audit_risk {
    char id[32], asset[AUDIT_STR], threat[AUDIT_STR], vulnerability[AUDIT_STR];
    char option[16]; /* ISO/IEC 27005 treatment option: reduce, retain, avoid, share */
    char treatment[512], owner[128], review[16];
    int likelihood, impact;
    int has_residual, res_likelihood, res_impact; /* evaluated by a person, never seeded */
    char accepted_by[128], accepted_on[16];      /* empty: not yet reviewed */
    char controls[AUDIT_STR];
    char reqs[8][64];
    size_t nreqs;
};

struct audit_register {
    char device[AUDIT_STR];
    struct audit_risk *risk;
    size_t n;
};

/* Parses a risk register (JSON). BW_E_FORMAT with err for a missing field,
 * a score outside 1..5, or a bad review date. Free with audit_register_free. */
BW_NODISCARD bw_err audit_register_parse(struct audit_register *r, const char *text, size_t len,
                                         char *err, size_t errcap);
/* Every requirement id a risk names must be in the catalogue (BW_E_NOTFOUND). */
BW_NODISCARD bw_err audit_register_validate(const struct audit_register *r,
                                            const struct audit_catalogue *c, char *err,
                                            size_t errcap);
void audit_register_free(struct audit_register *r);
/* Seeds a register from the catalogue's threats, unreviewed: no residual
 * risk, no acceptance. With a profile (may be NULL), a threat every one of
 * whose requirements the profile makes not applicable is left out. */
void audit_register_template(FILE *f, const struct audit_catalogue *c, const char *device,
                             const struct audit_profile *p);
/* The report; m (may be NULL) supplies the check results that reopen risks. */
void audit_register_html(FILE *f, const struct audit_register *r, const struct audit_model *m);
/* Whether a risk is reopened: a check of a requirement it relies on did not
 * pass (m->chk). why (may be NULL) receives the failing check. */
int audit_risk_reopened(const struct audit_risk *k, const struct audit_model *m, char *why,
                        size_t cap);
/* The problems that keep the register from being an assessment: risks not
 * reviewed and accepted by a person, without an evaluated residual risk,
 * past their review date, or reopened by a failing check; no register at
 * all counts as one. Returns their number; out (cap bytes, may be NULL)
 * receives them as "; "-separated text. The audit's --strict gate and the
 * risk.register check call it after the checks ran. */
size_t audit_risk_strict_problems(const struct audit_model *m, char *out, size_t cap);
#define AUDIT_RISK_PROBLEMS_MAX 16384 /* room for every problem of a full register */
/* Called by audit_build_rows: a risk.register check that passed becomes a
 * fail naming the problems above. */
void audit_risk_review_check(struct audit_model *m);
/* Records a person's acceptance in the register text (bulwark risk accept):
 * id ("all" for every risk), who, today's date; residual "L,I" (NULL keeps
 * the file's) and review date (NULL keeps it). BW_E_NOTFOUND for an unknown
 * id, BW_E_STATE for a risk without a residual risk or with a past review
 * date, BW_E_FORMAT for bad arguments. *out is bwh_malloc'd JSON. */
BW_NODISCARD bw_err audit_register_accept(const char *text, size_t len, const char *id,
                                          const char *who, const char *residual,
                                          const char *review, char **out, char *err,
                                          size_t errcap);

#endif
