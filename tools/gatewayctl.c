/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-gatewayctl: the operator API from a shell. Each command is one
 * row of a table (method, path, body) that also prints --help; the answer
 * is printed as the gateway sent it (JSON), and the exit status tells
 * scripts what happened: 0 for 2xx, 3 for 401/403, 4 for 404, 5 for 409,
 * 6 for other 4xx, 7 for 5xx, 8 when the gateway could not be reached,
 * 2 for a usage error.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bwh/host.h"

struct cmd {
    const char *name;
    const char *args; /* shown in help */
    const char *method;
    const char *path;  /* %s is the first argument */
    int body; /* 1: JSON from argv, 2: a file (second arg or first), 3: a status, 4: empty,
               * 5: {"pubkey": second arg's file}, 6: {"id_data": first arg, "pubkey": second's} */
    const char *help;
};

static const struct cmd cmds[] = {
    {"devices", "[FILTER-JSON]", "GET", "/api/v1/devices", 0,
     "list devices, optionally those whose attributes match, e.g. '{\"group\":\"lab\"}'"},
    {"pending", "", "GET", "/api/v1/devices?status=pending", 0,
     "identities waiting for acceptance (dropped after pending_ttl)"},
    {"rejected", "", "GET", "/api/v1/devices?status=rejected", 0, "rejected identities"},
    {"device", "ID", "GET", "/api/v1/devices/%s", 0, "show one device"},
    {"delete", "ID", "DELETE", "/api/v1/devices/%s", 0,
     "delete a device with its actions and DDI state (admin)"},
    {"rekey", "ID PUBKEY.pem", "POST", "/api/v1/devices/%s/rekey", 5,
     "give a pending or rejected Mender identity this key; it stays pending (admin)"},
    {"preauthorize", "ID-DATA-JSON PUBKEY.pem", "POST", "/api/v1/devices/preauthorize", 6,
     "accept a Mender device before it asks; replaces a pending or rejected key (admin)"},
    {"history", "ID", "GET", "/api/v1/devices/%s/actions", 0,
     "a device's actions, newest first, with its feedback"},
    {"import", "REGISTRY.jsonl", "POST", "/api/v1/devices/import", 2,
     "import the records bulwark provision wrote (admin)"},
    {"accept", "ID", "POST", "/api/v1/devices/%s/status", 3, "accept a device (admin)"},
    {"reject", "ID", "POST", "/api/v1/devices/%s/status", 3, "reject a device (admin)"},
    {"revoke", "ID", "POST", "/api/v1/devices/%s/status", 3, "revoke a device (admin)"},
    {"upload", "NAME PACKAGE", "POST", "/api/v1/releases?name=%s", 2,
     "upload a signed package; the gateway verifies it first (release-manager)"},
    {"sbom", "ID SBOM.json", "PUT", "/api/v1/releases/%s/sbom", 2,
     "store a release's SBOM; refused unless its SHA-256 is the one the manifest signs"
     " (release-manager)"},
    {"vex", "OPENVEX.json", "PUT", "/api/v1/vex", 2,
     "store the OpenVEX statements (bulwark vex openvex) for exposure queries (release-manager)"},
    {"exposure", "VULN-ID", "GET", "/api/v1/exposure?vuln=%s", 0,
     "the releases affected by a vulnerability and the devices running them"},
    {"advisory", "CSAF.json", "PUT", "/api/v1/advisories", 2,
     "publish a TLP:WHITE CSAF 2.0 document under /.well-known/csaf/ (release-manager)"},
    {"releases", "", "GET", "/api/v1/releases", 0, "list releases, newest first"},
    {"release", "ID", "GET", "/api/v1/releases/%s", 0, "show one release"},
    {"campaign-create", "JSON", "POST", "/api/v1/campaigns", 1,
     "start a campaign, e.g. '{\"name\":\"c1\",\"release_id\":1,\"batch_size\":10}'; guard rails:"
     " abort_failure_pct, abort_min_executed, abort_on [install-refused, download-refused,"
     " health-check, other], ramp_base, ramp_factor, ramp_on notified|succeeded,"
     " rollback_release, dynamic, priority (release-manager)"},
    {"campaigns", "", "GET", "/api/v1/campaigns", 0, "list campaigns with their counts"},
    {"campaign", "ID", "GET", "/api/v1/campaigns/%s", 0, "campaign state (running, paused, cancelled, done, aborted,"
     " rolled_back, cannot_complete), why it ended, and counts"},
    {"pause", "ID", "POST", "/api/v1/campaigns/%s/pause", 4, "pause a campaign"},
    {"resume", "ID", "POST", "/api/v1/campaigns/%s/resume", 4, "resume a campaign"},
    {"cancel", "ID", "POST", "/api/v1/campaigns/%s/cancel", 4, "cancel a campaign"},
    {"audit", "[AFTER-ID]", "GET", "/api/v1/audit", 0,
     "the operator audit log: the newest 1000, newest first; from AFTER-ID on, oldest first"},
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: bulwark-gatewayctl [--url URL] [--cacert CA.pem] [--offset N] [--limit N]\n"
               "                          COMMAND [ARGS]\n\n"
               "Drives bulwark-gateway's operator API. The token comes from\n"
               "BULWARK_GATEWAY_TOKEN (never from the command line, where ps would show\n"
               "it); the URL from --url or BULWARK_GATEWAY_URL. Lists are paged:\n"
               "--offset and --limit (1..10000, default 1000) choose the page.\n\ncommands:\n");
    for (i = 0; i < N_CMDS; i++)
        fprintf(f, "  %-16s %-16s %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
    fprintf(f, "\nexit status: 0 ok, 2 usage, 3 not allowed (401/403), 4 not found, 5 conflict,\n"
               "6 other refusal (4xx), 7 gateway error (5xx), 8 gateway unreachable\n");
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    return fwrite(p, sz, n, ud);
}

/* A path argument goes into the URL: only characters that need no
 * escaping, so nothing can change the path's shape. */
static int safe_arg(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 128)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return !strstr(s, "..");
}

/* digits only, 1..9 of them */
static int number_arg(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n >= 1 && n <= 9 && !s[n];
}

/* A JSON body {"id_data":ID-DATA,"pubkey":"PEM"} (id_data NULL: without
 * it) from a PEM file; malloc'd, NULL when the file cannot be read or is
 * not a PEM text. */
static char *pubkey_body(const char *id_data, const char *file)
{
    FILE *f = fopen(file, "rb");
    char pem[16384], *out;
    size_t n, i, k = 0, cap, o;

    if (!f)
        return NULL;
    n = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    pem[n] = 0;
    if (n == 0 || n == sizeof(pem) - 1 || !strstr(pem, "-----BEGIN "))
        return NULL;
    for (i = 0; i < n; i++) { /* PEM is text: printable ASCII and newlines; CRs dropped */
        unsigned char ch = (unsigned char)pem[i];

        if (ch == '\r')
            continue;
        if (ch != '\n' && (ch < 0x20 || ch >= 0x7f))
            return NULL;
        pem[k++] = (char)ch;
    }
    cap = bwh_json_esc(NULL, 0, pem, k) + (id_data ? strlen(id_data) : 0) + 64;
    out = bwh_malloc(cap);
    if (!out)
        return NULL;
    o = (size_t)snprintf(out, cap, "{%s%s%s\"pubkey\":\"", id_data ? "\"id_data\":" : "",
                         id_data ? id_data : "", id_data ? "," : "");
    o += bwh_json_esc(out + o, cap - o, pem, k);
    snprintf(out + o, cap - o, "\"}");
    return out;
}

int main(int argc, char **argv)
{
    const char *url = getenv("BULWARK_GATEWAY_URL"), *ca = NULL;
    const char *tok = getenv("BULWARK_GATEWAY_TOKEN");
    const char *offset = NULL, *limit = NULL;
    char *json = NULL;
    const struct cmd *c = NULL;
    char full[2048], path[512], auth[700], body[256];
    struct curl_slist *hdr = NULL;
    FILE *upload = NULL;
    long status = 0;
    CURL *h;
    CURLcode cc;
    int i = 1, n;
    size_t k;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--cacert") && i + 1 < argc)
            ca = argv[++i];
        else if (!strcmp(argv[i], "--offset") && i + 1 < argc && number_arg(argv[i + 1]))
            offset = argv[++i];
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc && number_arg(argv[i + 1]))
            limit = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    for (k = 0; k < N_CMDS; k++)
        if (!strcmp(cmds[k].name, argv[i]))
            c = &cmds[k];
    if (!c) {
        fprintf(stderr, "bulwark-gatewayctl: unknown command '%s'\n", argv[i]);
        return 2;
    }
    i++;
    n = argc - i;
    if (!url || !tok) {
        fprintf(stderr, "bulwark-gatewayctl: set %s\n",
                !url ? "--url or BULWARK_GATEWAY_URL" : "BULWARK_GATEWAY_TOKEN");
        return 2;
    }
    if (strchr(c->path, '%')) {
        if (n < 1 || !safe_arg(argv[i])) {
            fprintf(stderr, "bulwark-gatewayctl %s: needs %s (letters, digits, - _ .)\n", c->name,
                    c->args);
            return 2;
        }
        {
            const char *pct = strstr(c->path, "%s");

            snprintf(path, sizeof(path), "%.*s%s%s", (int)(pct - c->path), c->path, argv[i],
                     pct + 2);
        }
    } else if (!strcmp(c->name, "audit") && n >= 1) {
        if (!safe_arg(argv[i]))
            return 2;
        snprintf(path, sizeof(path), "%s?after=%s", c->path, argv[i]);
    } else {
        snprintf(path, sizeof(path), "%s", c->path);
    }
    h = curl_easy_init();
    if (!h)
        return 8;
    if (!strcmp(c->name, "devices") && n >= 1) {
        char *e = curl_easy_escape(h, argv[i], 0);

        snprintf(path, sizeof(path), "%s?filter=%s", c->path, e ? e : "");
        curl_free(e);
    }
    if (offset || limit) {
        size_t pl = strlen(path);

        snprintf(path + pl, sizeof(path) - pl, "%c%s%s%s%s%s", strchr(path, '?') ? '&' : '?',
                 offset ? "offset=" : "", offset ? offset : "", offset && limit ? "&" : "",
                 limit ? "limit=" : "", limit ? limit : "");
    }
    snprintf(full, sizeof(full), "%s%s", url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %.600s", tok);
    hdr = curl_slist_append(hdr, auth);
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, stdout);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    if (ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    if (c->body == 1) {
        if (n < 1) {
            fprintf(stderr, "bulwark-gatewayctl %s: needs %s\n", c->name, c->args);
            return 2;
        }
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, argv[i]);
    } else if (c->body == 2) {
        const char *file = n >= 2 ? argv[i + 1] : n == 1 && !strchr(c->path, '%') ? argv[i] : NULL;
        long size;

        if (!file || !(upload = fopen(file, "rb"))) {
            fprintf(stderr, "bulwark-gatewayctl %s: needs %s (a readable file)\n", c->name,
                    c->args);
            return 2;
        }
        fseek(upload, 0, SEEK_END);
        size = ftell(upload);
        rewind(upload);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READDATA, upload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
    } else if (c->body == 3) {
        snprintf(body, sizeof(body), "{\"status\":\"%s\"}",
                 !strcmp(c->name, "accept") ? "accepted"
                 : !strcmp(c->name, "reject") ? "rejected"
                                              : "revoked");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else if (c->body == 4) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else if (c->body == 5 || c->body == 6) {
        json = n >= 2 ? pubkey_body(c->body == 6 ? argv[i] : NULL, argv[i + 1]) : NULL;
        if (!json) {
            fprintf(stderr, "bulwark-gatewayctl %s: needs %s (a readable PEM file)\n", c->name,
                    c->args);
            curl_slist_free_all(hdr);
            curl_easy_cleanup(h);
            return 2;
        }
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    }
    if (!strcmp(c->method, "DELETE") || !strcmp(c->method, "PUT"))
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "bulwark-gatewayctl: %s: %s\n", full, curl_easy_strerror(cc));
    fputc('\n', stdout);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (upload)
        fclose(upload);
    bwh_free(json);
    if (cc != CURLE_OK)
        return 8;
    if (status >= 200 && status < 300)
        return 0;
    return status == 401 || status == 403 ? 3
           : status == 404               ? 4
           : status == 409               ? 5
           : status < 500                ? 6
                                         : 7;
}
