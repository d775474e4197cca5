/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Software bills of materials for bulwark sbom (tools/audit_sbom.c): the
 * component list read from a Debian package database (var/lib/dpkg/status)
 * or from a maker's list (docs/cra.md), and the CycloneDX 1.6 document with
 * BSI TR-03183-2 fields written from it. Not the signing of the SBOM's
 * digest (cmd_sign.c) and not the gateway's storage of it.
 */
#ifndef BULWARK_TOOLS_SBOM_H
#define BULWARK_TOOLS_SBOM_H

#include <stddef.h>
#include <jansson.h>

#include "bwh/host.h"

#define SBOM_INPUT_MAX (64u << 20) /* a status file or list larger than this is refused */
#define SBOM_MAX_COMPONENTS 100000u
#define SBOM_MAX_DEPS 1000u        /* per component */

struct sbom_comp {
    char *name, *version, *arch;
    char *creator;     /* "Name <email>" (dpkg Maintainer) or a URL */
    char *filename;    /* of the deployable form, e.g. name_1.0-1_amd64.deb */
    char *sha512;      /* hex of the deployable form, or NULL */
    char *dist_uri;    /* where the deployable form is, or NULL (filename is used) */
    char *source_uri;  /* source code, or NULL */
    char *purl, *cpe;  /* identifiers (purl is made up for dpkg entries) */
    char *licenses;    /* "A, B": licence names as found, or NULL */
    char *executable, *archive, *structured; /* BSI property values */
    char **deps;       /* names of components this one depends on */
    size_t n_deps;
    int deps_unknown;  /* a dependency could not be resolved or was not listed */
};

struct sbom {
    struct sbom_comp *c;
    size_t n, cap;
};

/* What the document says about itself and the product. */
struct sbom_meta {
    const char *product, *product_version;
    const char *creator_name, *creator_url, *creator_email; /* url or email required */
    const char *timestamp; /* RFC 3339 UTC */
    const char *distro;    /* purl namespace for dpkg entries ("debian") */
};

/*
 * Reads a dpkg status database (RFC 822-style paragraphs): every package
 * whose Status is "install ok installed" becomes a component (Package,
 * Version, Architecture, Maintainer, Depends and Pre-Depends, Homepage).
 * Appends to s. Errors: BW_E_FORMAT (a line that is neither a field nor a
 * continuation, a paragraph without Package or Version, a field over
 * 64 KiB), BW_E_TOOBIG (more than SBOM_MAX_COMPONENTS or SBOM_MAX_DEPS),
 * BW_E_NOMEM. On error s keeps what was appended; sbom_free releases it.
 */
BW_NODISCARD bw_err sbom_read_dpkg(const char *buf, size_t len, struct sbom *s);

/*
 * Reads a maker's list: paragraphs as above with the fields Name, Version,
 * Creator, Filename, SHA512, URI, Source-URI, PURL, CPE, License,
 * Depends (names, comma-separated), Dependencies (complete|incomplete),
 * Executable, Archive, Structured (yes|no). Name, Version and Creator are
 * required. Errors as sbom_read_dpkg, and BW_E_FORMAT for an unknown field
 * or a bad value.
 */
BW_NODISCARD bw_err sbom_read_list(const char *buf, size_t len, struct sbom *s);

/*
 * Licence names from a Debian copyright file in the machine-readable
 * format (DEP-5): the distinct values of its License fields, comma-joined,
 * into *out (caller frees with bwh_free). BW_E_NOTFOUND when the file is
 * not in that format or names no licence. BW_E_NOMEM.
 */
BW_NODISCARD bw_err sbom_dep5_licenses(const char *buf, size_t len, char **out);

/* Marks dependencies that name no component in s as unresolved. */
void sbom_resolve(struct sbom *s);

/* The CycloneDX 1.6 document (new reference), or NULL without memory. */
json_t *sbom_cyclonedx(const struct sbom *s, const struct sbom_meta *m);

void sbom_free(struct sbom *s);

/* The time documents are written for (RFC 3339 UTC): given, else
 * SOURCE_DATE_EPOCH (reproducible builds), else now. BW_E_FORMAT for a
 * SOURCE_DATE_EPOCH that is not a number or a given time over 31 bytes. */
BW_NODISCARD bw_err sbom_time(const char *given, char out[32]);

#endif
