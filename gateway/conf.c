/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway.conf: every option is one row of the table below, which parses
 * the file, fills defaults and prints the documented sample
 * (`bulwark-gateway --sample-config`), so the three cannot drift apart.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "host.h"

enum row_type { R_STR, R_U64, R_UUID };

struct row {
    const char *key;
    enum row_type type;
    size_t off, cap;
    const char *def; /* NULL: required */
    const char *help;
};

#define S(f) R_STR, offsetof(struct gw_conf, f), sizeof(((struct gw_conf *)0)->f)
#define U(f) R_U64, offsetof(struct gw_conf, f), 0
#define ID(f) R_UUID, offsetof(struct gw_conf, f), 0
static const struct row rows[] = {
    {"listen", S(listen), "127.0.0.1:8443", "address and port of the HTTPS listener"},
    {"tls_cert", S(tls_cert), NULL, "server certificate chain, PEM"},
    {"tls_key", S(tls_key), NULL, "server private key, PEM"},
    {"client_ca", S(client_ca), NULL,
     "CA that issued the device certificates (bulwark provision's ca.crt): mTLS"},
    {"database", S(database), "sqlite:/var/lib/bulwark-gateway/registry.db",
     "registry: sqlite:PATH, or postgresql://... for several gateway instances"},
    {"blob_dir", S(blob_dir), "/var/lib/bulwark-gateway/blobs",
     "release packages, stored by their SHA-256"},
    {"release_keys", S(release_keys), NULL, "public key(s) that sign releases, PEM"},
    {"vendor_id", ID(vendor_id), NULL, "vendor id releases must assert"},
    {"class_id", ID(class_id), NULL, "class id releases must assert"},
    {"operator_tokens", S(operator_tokens), NULL,
     "operator bearer tokens: lines 'ROLE NAME SHA256-OF-TOKEN', ROLE admin|release-manager|viewer"},
    {"token_audience", S(token_audience), "bulwark-gateway",
     "audience device tokens must name (bulwark token --aud)"},
    {"token_replay_slots", U(token_replay_slots), "262144",
     "device tokens remembered until they expire (40 bytes each): at least the tokens the "
     "fleet presents within a token lifetime; when full, new connections get 503 until some "
     "expire"},
    {"ddi_tenant", S(ddi_tenant), "DEFAULT",
     "hawkBit tenant in DDI paths (/TENANT/controller/v1/ID) for SWUpdate devices"},
    {"access_log", S(access_log), "-", "JSON-lines access log file, - for stderr"},
    {"poll_interval", U(poll_interval), "60", "seconds devices wait between polls"},
    {"max_body", U(max_body), "65536", "largest JSON request body in bytes"},
    {"max_upload", U(max_upload), "1073741824", "largest release upload in bytes"},
    {"timeout", U(timeout), "30", "seconds an idle connection is kept"},
    {"threads", U(threads), "4", "worker threads"},
    {"max_connections", U(max_connections), "10000", "concurrent connections"},
    {"security_contact", S(security_contact), "",
     "security.txt Contact (RFC 9116), e.g. mailto:security@example.com"},
    {"security_expires", S(security_expires), "", "security.txt Expires, RFC 3339 time"},
    {"security_policy", S(security_policy), "", "security.txt Policy URL"},
    {"security_languages", S(security_languages), "en", "security.txt Preferred-Languages"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static bw_err set(struct gw_conf *c, const struct row *r, const char *v)
{
    char *base = (char *)c + r->off;
    uint64_t n;

    switch (r->type) {
    case R_STR:
        if (strlen(v) >= r->cap)
            return BW_E_TOOBIG;
        strcpy(base, v);
        return BW_OK;
    case R_U64:
        if (bw_parse_u64(v, &n))
            return BW_E_FORMAT;
        memcpy(base, &n, sizeof(n));
        return BW_OK;
    case R_UUID:
        return bw_uuid_parse(v, (uint8_t *)base);
    }
    return BW_E_FORMAT;
}

bw_err gw_conf_load(struct gw_conf *c, const char *path)
{
    uint8_t *buf = NULL;
    size_t len, i;
    int seen[N_ROWS] = {0}, line = 0;
    char *ln, *next;
    bw_err rc;

    memset(c, 0, sizeof(*c));
    rc = bw_read_file(path, 1 << 20, &buf, &len);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, rc == BW_E_IO ? strerror(errno) : bw_strerror(rc));
        return rc;
    }
    for (ln = (char *)buf; ln; ln = next) {
        char *k, *v;
        int kind;

        next = strchr(ln, '\n');
        if (next)
            *next++ = 0;
        line++;
        kind = bw_conf_split(ln, &k, &v);
        if (kind == 0)
            continue;
        if (kind < 0) {
            fprintf(stderr, "%s:%d: expected 'key = value'\n", path, line);
            rc = BW_E_FORMAT;
            goto out;
        }
        for (i = 0; i < N_ROWS && strcmp(rows[i].key, k); i++)
            ;
        if (i == N_ROWS) {
            fprintf(stderr, "%s:%d: unknown option '%s' (see --sample-config)\n", path, line, k);
            rc = BW_E_FORMAT;
            goto out;
        }
        if (seen[i]++) {
            fprintf(stderr, "%s:%d: '%s' given twice\n", path, line, k);
            rc = BW_E_FORMAT;
            goto out;
        }
        rc = set(c, &rows[i], v);
        if (rc) {
            fprintf(stderr, "%s:%d: %s: bad value '%s' (%s)\n", path, line, k, v, rows[i].help);
            rc = BW_E_FORMAT;
            goto out;
        }
    }
    for (i = 0; i < N_ROWS; i++) {
        if (seen[i])
            continue;
        if (!rows[i].def) {
            fprintf(stderr, "%s: missing required option '%s' (%s)\n", path, rows[i].key,
                    rows[i].help);
            rc = BW_E_FORMAT;
            goto out;
        }
        rc = set(c, &rows[i], rows[i].def);
        if (rc)
            goto out;
    }
    rc = BW_E_FORMAT;
    if (c->threads < 1 || c->threads > 256)
        fprintf(stderr, "%s: threads must be 1 to 256\n", path);
    else if (c->poll_interval < 1 || c->poll_interval > 86400)
        fprintf(stderr, "%s: poll_interval must be 1 to 86400\n", path);
    else if (c->max_body < 1024 || c->max_body > (64u << 20))
        fprintf(stderr, "%s: max_body must be 1 KiB to 64 MiB\n", path);
    else if (c->timeout < 1 || c->timeout > 3600)
        fprintf(stderr, "%s: timeout must be 1 to 3600 seconds\n", path);
    else if (c->token_replay_slots < 16 || c->token_replay_slots > (1u << 26))
        fprintf(stderr, "%s: token_replay_slots must be 16 to 67108864\n", path);
    else if (!strchr(c->listen, ':'))
        fprintf(stderr, "%s: listen must be ADDRESS:PORT\n", path);
    else
        rc = BW_OK;
out:
    bw_free(buf);
    return rc;
}

void gw_conf_sample(FILE *f)
{
    size_t i;

    fprintf(f, "# bulwark-gateway configuration: key = value, # starts a comment.\n"
               "# Generated by bulwark-gateway --sample-config from its option table.\n");
    for (i = 0; i < N_ROWS; i++) {
        fprintf(f, "\n# %s%s%s%s\n", rows[i].help, rows[i].def ? " (default: " : " (required)",
                rows[i].def ? (*rows[i].def ? rows[i].def : "none") : "", rows[i].def ? ")" : "");
        fprintf(f, "%s%s = %s\n", rows[i].def ? "# " : "", rows[i].key,
                rows[i].def ? rows[i].def : "");
    }
}
