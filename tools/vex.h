/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Vulnerability status for bulwark vex (tools/audit_vex.c): Debian version
 * comparison, the maker's vulnerability records imported from OSV or CSAF
 * files, release SBOMs matched against them, and the documents written
 * from the result (OpenVEX, CSAF 2.0 VEX and security advisories, the
 * CRA Art. 14 report drafts). The state is one JSON file the maker keeps
 * (the "VEX database", docs/cra.md). No network lookups.
 */
#ifndef BULWARK_TOOLS_VEX_H
#define BULWARK_TOOLS_VEX_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "bwh/host.h"

#define VEX_VERSION_MAX 256 /* longer Debian versions are refused */

/*
 * Compares two Debian versions ([epoch:]upstream[-revision]) the way dpkg
 * does (deb-version(7)): epochs numerically, then upstream and revision
 * alternating non-digit runs (letters before other characters, '~' before
 * everything, even the end) and digit runs (numerically). *cmp gets <0, 0
 * or >0. BW_E_FORMAT for an empty version, one over VEX_VERSION_MAX, an
 * epoch that is not a number, or control characters.
 */
BW_NODISCARD bw_err vex_deb_vercmp(const char *a, const char *b, int *cmp);

/*
 * Adds the vulnerabilities of an OSV JSON file (one record, an array, or
 * {"vulns": [...]}) or a CSAF 2.0 document to db (replacing records with
 * the same id, keeping the maker's own fields: awareness, exploitation).
 * A record is keyed by its CVE id when it has one (id or alias).
 * *added gets the number of records. err gets the reason on BW_E_FORMAT
 * (not OSV or CSAF, a record without id or affected packages). BW_E_NOMEM.
 */
BW_NODISCARD bw_err vex_import(json_t *db, const char *buf, size_t len, size_t *added, char *err,
                               size_t errcap);

/*
 * Records a release: name, the package's SHA-256 (hex), sequence, its
 * SBOM (a parsed CycloneDX document: components' names and versions are
 * kept) and the SBOM's SHA-256. BW_E_FORMAT for an SBOM without components
 * or metadata.component. BW_E_NOMEM.
 */
BW_NODISCARD bw_err vex_add_release(json_t *db, const char *name, const char *pkg_sha256,
                                    uint64_t sequence, const json_t *sbom,
                                    const char *sbom_sha256, int security_only, const char *date);

/* Recomputes the status of every vulnerability in every release from the
 * records (statuses the maker set by hand are kept); now is RFC 3339. */
BW_NODISCARD bw_err vex_match(json_t *db, const char *now);

/* Validates a status and justification as the maker gives them:
 * BW_E_INVAL (unknown status or justification; not_affected needs one). */
BW_NODISCARD bw_err vex_status_valid(const char *status, const char *justification);

/* Who publishes the documents. */
struct vex_pub {
    const char *name, *namespace_url; /* CSAF publisher; namespace is a URL */
    const char *prefix;               /* tracking id prefix, e.g. "ACME-SA" */
    const char *now;                  /* RFC 3339 */
    const char *advisory_base;        /* URL of the CSAF directory, or NULL */
};

/* The OpenVEX document of every status (NULL without memory or when the
 * database holds no status). */
json_t *vex_openvex(const json_t *db, const struct vex_pub *p);

/*
 * A CSAF 2.0 document for vulnerability id: category "csaf_vex" (every
 * release's status) or "csaf_security_advisory" (needs a release that
 * fixes it: BW_E_STATE otherwise; BW_E_STATE too when no release has a
 * status for it). BW_E_NOTFOUND: no such vulnerability.
 * *out is a new reference; *filename (at most cap) the CSAF file name.
 */
BW_NODISCARD bw_err vex_csaf(const json_t *db, const char *id, int advisory,
                             const struct vex_pub *p, json_t **out, char *filename, size_t cap);

/* CSAF 5.1 file name of a tracking id: lower case, [+-a-z0-9] kept, every
 * other character '_', ".json" appended. */
void vex_csaf_filename(const char *tracking_id, char *out, size_t cap);

/* Art. 14 stages and their deadlines from the time of awareness. */
enum vex_stage { VEX_EARLY_WARNING, VEX_NOTIFICATION, VEX_FINAL };

/*
 * Writes the Markdown draft of an Art. 14 report for vulnerability id at
 * stage, with its deadline computed from the record's time of awareness
 * (24 h, 72 h; the final report 14 days after a fixing release was
 * recorded, or from awareness while none is). exposure: the gateway's
 * answer to GET /api/v1/exposure (or NULL). events, events_len: security
 * log records as `bulwark log show --json` prints them (one JSON object a
 * line; NULL for none): the events from 14 days before awareness on are
 * listed (at most 100; lines that are not such records are skipped).
 * BW_E_NOTFOUND (no such vulnerability), BW_E_STATE (no time of awareness
 * recorded).
 */
BW_NODISCARD bw_err vex_report(FILE *f, const json_t *db, const char *id, enum vex_stage stage,
                               const json_t *exposure, const char *events, size_t events_len,
                               const char *now);

/* Adds seconds to an RFC 3339 UTC time ("YYYY-MM-DDTHH:MM:SSZ"). */
BW_NODISCARD bw_err vex_time_add(const char *t, long long secs, char out[32]);

#endif
