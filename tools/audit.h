/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compliance kit's model: the requirement catalogue (compliance/
 * catalogue.json, built into the binary), the maker's device profile, the
 * results of the device checks, and the rows every report is written from.
 * Host code: it allocates through jansson and bw_malloc; nothing here runs
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

struct audit_profile {
    char product[AUDIT_STR], model[AUDIT_STR], hw_version[AUDIT_STR], sw_version[AUDIT_STR];
    char manufacturer[AUDIT_STR], support_end[AUDIT_STR], vuln_contact[AUDIT_STR];
    char policy_url[AUDIT_STR], canonical_url[AUDIT_STR], languages[AUDIT_STR];
    char sensors[AUDIT_STR], network_interfaces[AUDIT_STR], services[1024];
    char debug_interfaces[AUDIT_STR], update_policy[AUDIT_STR], risk_register[AUDIT_STR];
    char agent_config[AUDIT_STR];
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
/* Writes the commented template. */
void audit_profile_template(FILE *f, const struct audit_catalogue *c);
/* Number of days from today to a YYYY-MM-DD date (negative when past);
 * BW_E_FORMAT for anything else. */
BW_NODISCARD bw_err audit_days_until(const char *date, long *days);

/* ---- checks and rows ---- */
enum audit_result { AUDIT_PASS, AUDIT_FAIL, AUDIT_NA, AUDIT_MANUAL };

struct audit_check {
    const char *name;
    enum audit_result res;
    char evidence[1024];
};

struct audit_row {
    const struct audit_req *req;
    enum audit_result res;
    char why[600];      /* justification when not applicable */
    const char *check;  /* NULL when assessed by hand */
    const char *evidence;
};

struct audit_register;

struct audit_model {
    struct audit_catalogue *cat;
    struct audit_register *reg; /* the risk register, when risk.register passed */
    struct audit_profile *prof;
    struct audit_check chk[24];
    size_t nchk;
    struct audit_row *row;
    size_t nrow;
    size_t count[4];
    char when[32];   /* RFC 3339 time of the run */
    char device[64]; /* stable name for UUIDs */
    const char *sign_key; /* disclose: OpenPGP key that signs security.txt, or NULL */
    char unit[128];       /* the unit audited: its device certificate's CN, or empty */
};

const char *audit_result_name(enum audit_result r);
/* The checks (audit_checks.c). conf_path may be NULL: device checks are
 * then manual; a device.conf that does not load fails them. */
void audit_run_checks(struct audit_model *m, const char *conf_path, const char *proc_net);
/* Fills m->row from the catalogue, profile and check results. */
BW_NODISCARD bw_err audit_build_rows(struct audit_model *m);
void audit_model_free(struct audit_model *m);

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
/* Called by audit_build_rows: a risk.register check that passed becomes a
 * fail naming the problems above. */
void audit_risk_review_check(struct audit_model *m);
/* Records a person's acceptance in the register text (bulwark risk accept):
 * id ("all" for every risk), who, today's date; residual "L,I" (NULL keeps
 * the file's) and review date (NULL keeps it). BW_E_NOTFOUND for an unknown
 * id, BW_E_STATE for a risk without a residual risk or with a past review
 * date, BW_E_FORMAT for bad arguments. *out is bw_malloc'd JSON. */
BW_NODISCARD bw_err audit_register_accept(const char *text, size_t len, const char *id,
                                          const char *who, const char *residual,
                                          const char *review, char **out, char *err,
                                          size_t errcap);

#endif
