/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark provision: the factory step. For each device: a key generated
 * where the device keeps it (file, PKCS#11 token, TPM), a CSR signed by
 * that key, a certificate from the manufacturing CA, a unique password
 * from the CSPRNG stored as an Argon2id hash, and one JSON line for the
 * gateway's registry. Every device is also appended to the CA's
 * append-only provisioning log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bwh/cred.h"
#include "bwh/identity.h"
#include "cli.h"
#include "bwh/device.h"
#include "bwh/seclog.h"

/* Where one device's identity goes. */
struct target {
    char id[65];
    char key_uri[4096];
    char cert[4096];
    char creds[4096];
    struct bwh_device_conf conf; /* for the security log; seclog empty: none */
};

struct run {
    struct bwh_ca *ca;
    char org[129];
    unsigned days;
    struct bwh_cred_params kdf;
    int force;
    int json;
    int reg_fd, pw_fd, log_fd;
    const char *pw_path;
};

/* Appends a whole line and makes it durable before the next device. */
static bw_err append_line(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return BW_E_IO;
        s += w;
        n -= (size_t)w;
    }
    return fdatasync(fd) ? BW_E_IO : BW_OK;
}

static int open_append(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, mode);
}

static int valid_id(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

static void log_outcome(struct run *r, const struct target *t, const char *serial,
                        const char *fpr, bw_err rc)
{
    char line[512];
    int n = snprintf(line, sizeof(line),
                     "{\"time\":%lld,\"device_id\":\"%s\",\"key_backend\":\"%.*s\",\"serial\":\"%s\","
                     "\"fingerprint\":\"%s\",\"outcome\":\"%s\"}\n",
                     (long long)time(NULL), t->id, (int)strcspn(t->key_uri, ":"), t->key_uri, serial, fpr,
                     rc ? bw_errname(rc) : "ok");

    if (r->log_fd >= 0 && n > 0 && (size_t)n < sizeof(line) &&
        append_line(r->log_fd, line, (size_t)n))
        fprintf(stderr, "bulwark provision: cannot append to the provisioning log\n");
    if (*t->conf.seclog &&
        bwh_seclog_event(&t->conf, "provision", t->id, rc ? bw_errname(rc) : "ok"))
        fprintf(stderr, "bulwark provision: %s: security log not written\n", t->id);
}

static bw_err provision_one(struct run *r, const struct target *t)
{
    char pw[BWH_CRED_GEN_LEN + 1], serial[33] = "", fpr[65] = "", pubhex[131], credhex[65];
    char *csr = NULL, *cert = NULL, *rec = NULL, *pem_json = NULL;
    struct bwh_devkey *k = NULL;
    struct bwh_cert_info info;
    struct bwh_cred_db db;
    struct stat st;
    size_t cap;
    int n;
    bw_err rc;

    memset(pw, 0, sizeof(pw));
    rc = BW_E_EXISTS;
    if (!r->force && stat(t->cert, &st) == 0) {
        fprintf(stderr, "bulwark provision: %s: already provisioned (%s exists; --force to redo)\n",
                t->id, t->cert);
        goto out;
    }
    rc = bwh_devkey_open(t->key_uri, &k);
    if (rc) {
        /* the scheme only: a PKCS#11 URI may carry a PIN */
        fprintf(stderr, "bulwark provision: %s: cannot open the %.*s key: %s\n", t->id,
                (int)strcspn(t->key_uri, ":"), t->key_uri, bw_strerror(rc));
        goto out;
    }
    rc = bwh_devkey_generate(k, r->force);
    if (rc == BW_E_EXISTS) {
        /* a key but no certificate: an earlier run stopped half way.
         * Certify the key the device already has. */
        fprintf(stderr, "bulwark provision: %s: has a key but no certificate: certifying it\n",
                t->id);
        rc = BW_OK;
    }
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: key generation: %s%s%s\n", t->id,
                bw_strerror(rc), *bwh_devkey_detail(k) ? ": " : "", bwh_devkey_detail(k));
        goto out;
    }
    rc = bwh_csr_make(k, t->id, r->org, &csr);
    if (!rc)
        rc = bwh_ca_issue(r->ca, csr, t->id, r->days, &cert, &info);
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: certificate: %s\n", t->id, bw_strerror(rc));
        goto out;
    }
    bw_hex(serial, info.serial, sizeof(info.serial));
    bw_hex(fpr, info.fingerprint, sizeof(info.fingerprint));
    bw_hex(pubhex, info.pub, sizeof(info.pub));
    /* the unique factory password: hash on the device, clear text only to
     * the label printer's file */
    rc = bwh_cred_generate(pw, sizeof(pw));
    if (!rc)
        rc = bwh_cred_load(&db, t->creds);
    if (!rc)
        rc = bwh_cred_set(&db, "admin", pw, &r->kdf, 1);
    /* a digest of the stored Argon2id string (salt and hash): lets bulwark
     * audit find units that share one credential file, and reveals nothing
     * a guess could be tested against */
    if (!rc)
        rc = bwh_cred_digest(bwh_cred_find(&db, "admin")->hash, credhex);
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: credentials %s: %s\n", t->id, t->creds,
                bw_strerror(rc));
        goto out;
    }
    cap = bwh_json_esc(NULL, 0, cert, strlen(cert)) + 1;
    pem_json = bwh_malloc(cap);
    rec = bwh_malloc(cap + 1024);
    rc = BW_E_NOMEM;
    if (!pem_json || !rec)
        goto out;
    bwh_json_esc(pem_json, cap, cert, strlen(cert));
    n = snprintf(rec, cap + 1024,
                 "{\"device_id\":\"%s\",\"serial\":\"%s\",\"fingerprint_sha256\":\"%s\","
                 "\"public_key\":\"%s\",\"key_backend\":\"%s\",\"not_before\":%" PRIu64
                 ",\"not_after\":%" PRIu64 ",\"provisioned_at\":%lld,\"cred_sha256\":\"%s\","
                 "\"certificate\":\"%s\"}\n",
                 t->id, serial, fpr, pubhex, bwh_devkey_scheme(k), info.not_before, info.not_after,
                 (long long)time(NULL), credhex, pem_json);
    rc = append_line(r->reg_fd, rec, (size_t)n);
    if (!rc && r->pw_fd >= 0) {
        char line[128];

        n = snprintf(line, sizeof(line), "%s,%s\n", t->id, pw);
        rc = append_line(r->pw_fd, line, (size_t)n);
        bw_wipe(line, sizeof(line));
    }
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: cannot append the registry/password record\n",
                t->id);
        goto out;
    }
    /* The certificate is written last: its presence means "done". A crash
     * before it leaves the device to be finished by a rerun (which may add
     * a second registry and password line for it: the last one counts). */
    rc = bwh_write_file_atomic(t->cert, cert, strlen(cert), 0644);
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: cannot write %s\n", t->id, t->cert);
        goto out;
    }
    if (r->json)
        printf("{\"device_id\":\"%s\",\"serial\":\"%s\",\"fingerprint_sha256\":\"%s\","
               "\"key_backend\":\"%s\",\"certificate\":\"%s\"%s%s%s}\n",
               t->id, serial, fpr, bwh_devkey_scheme(k), t->cert,
               r->pw_fd < 0 ? ",\"password\":\"" : "", r->pw_fd < 0 ? pw : "",
               r->pw_fd < 0 ? "\"" : "");
    else if (r->pw_fd < 0)
        printf("%s: provisioned (serial %s)\nfactory password: %s\n", t->id, serial, pw);
    rc = BW_OK;
out:
    log_outcome(r, t, serial, fpr, rc);
    bw_wipe(pw, sizeof(pw));
    bwh_free(csr);
    bwh_free(cert);
    bwh_free(pem_json);
    bwh_free(rec);
    bwh_devkey_close(k);
    return rc;
}

/* A device of a batch: DIR/ID/ holds its key, storage key, certificate,
 * credentials and security log. */
static bw_err batch_target(struct target *t, const char *dir, const char *id, const char *uri)
{
    char d[3980];

    memset(t, 0, sizeof(*t));
    if (!valid_id(id))
        return BW_E_INVAL;
    strcpy(t->id, id);
    if ((size_t)snprintf(d, sizeof(d), "%.3900s/%.64s", dir, id) >= sizeof(d))
        return BW_E_INVAL;
    if (mkdir(d, 0700) && errno != EEXIST)
        return BW_E_IO;
    if (uri && *uri)
        snprintf(t->key_uri, sizeof(t->key_uri), "%s", uri);
    else
        snprintf(t->key_uri, sizeof(t->key_uri), "file:%s/device.key", d);
    snprintf(t->cert, sizeof(t->cert), "%s/device.crt", d);
    snprintf(t->creds, sizeof(t->creds), "%s/credentials", d);
    snprintf(t->conf.seclog, sizeof(t->conf.seclog), "%s/seclog", d);
    snprintf(t->conf.device_key, sizeof(t->conf.device_key), "%s", t->key_uri);
    snprintf(t->conf.data_dir, sizeof(t->conf.data_dir), "%s", d);
    t->conf.seclog_max = 4u << 20;
    return BW_OK;
}

static int run(struct cli_args *a)
{
    const char *ca_dir = cli_get(a, "ca-dir"), *conf_path = cli_get(a, "config");
    const char *out_dir = cli_get(a, "out"), *csv = cli_get(a, "from-csv");
    const char *count_s = cli_get(a, "count"), *id = cli_get(a, "device-id");
    const char *v;
    char ca_cert[4200], ca_key[4200], reg[4200], plog[4200];
    struct run r;
    struct target *t = NULL;
    struct bwh_progress prog;
    uint64_t count = 0, i, done = 0, skipped = 0;
    int modes = !!conf_path + !!count_s + !!csv, status = 0;
    FILE *cf = NULL;
    bw_err rc;

    memset(&r, 0, sizeof(r));
    r.reg_fd = r.pw_fd = r.log_fd = -1;
    if (!ca_dir)
        return cli_usage(a, "--ca-dir is required (the manufacturing CA lives there)");
    if (modes != 1)
        return cli_usage(a, "give exactly one of --config, --count or --from-csv");
    if (conf_path && !id)
        return cli_usage(a, "--config needs --device-id");
    if ((count_s || csv) && !out_dir)
        return cli_usage(a, "--count and --from-csv need --out DIR");
    if (count_s && (bwh_parse_u64(count_s, &count) || count == 0 || count > 1000000))
        return cli_usage(a, "--count must be 1 to 1000000");
    snprintf(r.org, sizeof(r.org), "%s", (v = cli_get(a, "org")) ? v : "bulwark");
    r.days = 7300;
    if ((v = cli_get(a, "days"))) {
        uint64_t d;

        if (bwh_parse_u64(v, &d) || d == 0 || d > 36500)
            return cli_usage(a, "--days must be 1 to 36500");
        r.days = (unsigned)d;
    }
    if ((v = cli_get(a, "argon2")) && bwh_cred_params_parse(v, &r.kdf))
        return cli_usage(a, "--argon2 wants T,M_KIB,LANES, e.g. 2,19456,1");
    r.force = cli_flag(a, "force");
    r.json = cli_flag(a, "json");

    /* the CA: given, found in --ca-dir, or created there */
    snprintf(ca_cert, sizeof(ca_cert), "%s", (v = cli_get(a, "ca-cert")) ? v : "");
    snprintf(ca_key, sizeof(ca_key), "%s", (v = cli_get(a, "ca-key")) ? v : "");
    if (!*ca_cert)
        snprintf(ca_cert, sizeof(ca_cert), "%.4000s/ca.crt", ca_dir);
    if (!*ca_key)
        snprintf(ca_key, sizeof(ca_key), "%.4000s/ca.key", ca_dir);
    rc = bwh_ca_open(ca_cert, ca_key, &r.ca);
    if (rc == BW_E_NOTFOUND && !cli_get(a, "ca-cert")) {
        rc = bwh_ca_create(ca_dir, r.org, 36500);
        if (rc)
            return cli_fail(a, "creating the manufacturing CA", rc);
        fprintf(stderr, "bulwark provision: created manufacturing CA %s (key %s, keep it offline)\n",
                ca_cert, ca_key);
        rc = bwh_ca_open(ca_cert, ca_key, &r.ca);
    }
    if (rc)
        return cli_fail(a, ca_cert, rc);
    snprintf(reg, sizeof(reg), "%s", (v = cli_get(a, "registry")) ? v : "");
    if (!*reg)
        snprintf(reg, sizeof(reg), "%.4000s/registry.jsonl", ca_dir);
    snprintf(plog, sizeof(plog), "%.4000s/provisioning.log", ca_dir);
    r.reg_fd = open_append(reg, 0644);
    r.log_fd = open_append(plog, 0600);
    if (r.reg_fd < 0 || r.log_fd < 0) {
        status = cli_fail(a, r.reg_fd < 0 ? reg : plog, BW_E_IO);
        goto out;
    }
    r.pw_path = cli_get(a, "passwords");
    if (!r.pw_path && out_dir) {
        static char def[4200];

        snprintf(def, sizeof(def), "%.4000s/passwords.csv", out_dir);
        r.pw_path = def;
    }
    if (out_dir && mkdir(out_dir, 0700) && errno != EEXIST) {
        status = cli_fail(a, out_dir, BW_E_IO);
        goto out;
    }
    if (r.pw_path) {
        r.pw_fd = open_append(r.pw_path, 0600);
        if (r.pw_fd < 0) {
            status = cli_fail(a, r.pw_path, BW_E_IO);
            goto out;
        }
    }
    t = bwh_calloc(1, sizeof(*t));
    if (!t) {
        status = cli_fail(a, "provision", BW_E_NOMEM);
        goto out;
    }

    if (conf_path) {
        if (!valid_id(id)) {
            status = cli_usage(a, "--device-id: 1-64 letters, digits, '-', '_' or '.'");
            goto out;
        }
        rc = bwh_device_conf_load(&t->conf, conf_path);
        if (rc) {
            status = cli_exit_code(rc);
            goto out;
        }
        strcpy(t->id, id);
        snprintf(t->key_uri, sizeof(t->key_uri), "%s", t->conf.device_key);
        snprintf(t->cert, sizeof(t->cert), "%s", t->conf.device_cert);
        snprintf(t->creds, sizeof(t->creds), "%s", t->conf.credentials);
        rc = provision_one(&r, t);
        status = rc ? cli_exit_code(rc) : 0;
        goto out;
    }

    if (csv) {
        char line[8192];

        cf = fopen(csv, "r");
        if (!cf) {
            status = cli_fail(a, csv, BW_E_IO);
            goto out;
        }
        while (fgets(line, sizeof(line), cf))
            if (line[0] != '#' && line[0] != '\n' && strncmp(line, "device_id", 9))
                count++;
        rewind(cf);
    }
    bwh_progress_start_items(&prog, "provisioning", "devices", count);
    for (i = 0; i < count; i++) {
        char idbuf[80], line[8192], *uri = NULL;

        if (cf) {
            char *nl;

            do {
                if (!fgets(line, sizeof(line), cf)) {
                    rc = BW_E_TRUNCATED;
                    goto batch_fail;
                }
            } while (line[0] == '#' || line[0] == '\n' || !strncmp(line, "device_id", 9));
            nl = strpbrk(line, "\r\n");
            if (nl)
                *nl = 0;
            uri = strchr(line, ',');
            if (uri)
                *uri++ = 0;
            snprintf(idbuf, sizeof(idbuf), "%.64s", line);
        } else {
            snprintf(idbuf, sizeof(idbuf), "%.40s%06" PRIu64,
                     (v = cli_get(a, "id-prefix")) ? v : "dev-", i + 1);
        }
        rc = batch_target(t, out_dir, idbuf, uri);
        if (rc) {
            fprintf(stderr, "bulwark provision: line %" PRIu64 ": bad device id '%s'\n", i + 1,
                    idbuf);
            goto batch_fail;
        }
        rc = provision_one(&r, t);
        if (rc == BW_E_EXISTS) { /* provisioned by an earlier run: keep it */
            skipped++;
            bwh_progress_add(&prog, 1);
            continue;
        }
        if (rc)
            goto batch_fail;
        done++;
        bwh_progress_add(&prog, 1);
    }
    bwh_progress_end(&prog);
    if (!r.json)
        printf("provisioned %" PRIu64 " devices into %s; registry %s; passwords %s\n", done,
               out_dir, reg, r.pw_path);
    if (skipped)
        fprintf(stderr, "bulwark provision: skipped %" PRIu64 " device%s provisioned before "
                "(--force redoes them)\n", skipped, skipped == 1 ? "" : "s");
    goto out;
batch_fail:
    bwh_progress_end(&prog);
    fprintf(stderr, "bulwark provision: stopped after %" PRIu64 " of %" PRIu64 " devices\n", done,
            count);
    status = cli_exit_code(rc);
out:
    if (cf)
        fclose(cf);
    bwh_free(t);
    if (r.reg_fd >= 0)
        close(r.reg_fd);
    if (r.pw_fd >= 0)
        close(r.pw_fd);
    if (r.log_fd >= 0)
        close(r.log_fd);
    bwh_ca_free(r.ca);
    return status;
}

static const struct cli_opt opts[] = {
    {"ca-dir", "DIR", "manufacturing CA directory (ca.crt, ca.key; created when empty)"},
    {"ca-cert", "CA.crt", "use this CA certificate instead of DIR/ca.crt"},
    {"ca-key", "CA.key", "and this CA private key instead of DIR/ca.key"},
    {"org", "NAME", "organization in the CA and device subjects (default bulwark)"},
    {"days", "N", "device certificate validity in days (default 7300)"},
    {"config", "DEVICE.conf", "provision this one device (key, cert, credentials from its conf)"},
    {"device-id", "ID", "the device's identifier (certificate CN) with --config"},
    {"count", "N", "batch: N new devices with file keys under --out"},
    {"id-prefix", "PREFIX", "batch ids PREFIX000001.. (default dev-)"},
    {"from-csv", "FILE", "batch: one device per line: device_id[,key-uri]"},
    {"out", "DIR", "batch: one directory per device is made here"},
    {"registry", "FILE", "JSON-lines records for the gateway (default CA_DIR/registry.jsonl)"},
    {"passwords", "FILE", "device_id,password lines for the label printer (mode 0600)"},
    {"argon2", "T,M,P", "Argon2id cost: passes, memory KiB, lanes (default 2,19456,1)"},
    {"force", NULL, "re-provision a device that has a certificate (new key, cert, password)"},
    {"json", NULL, "one JSON object per device on stdout"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_provision = {
    "provision", "give devices a key, certificate and unique password (factory)",
    "--ca-dir DIR (--config DEVICE.conf --device-id ID | --count N --out DIR | "
    "--from-csv FILE --out DIR)",
    "For each device: generates its key where the device keeps it (device_key URI:\n"
    "file, pkcs11 or tpm), makes a CSR signed by that key, issues an X.509\n"
    "certificate from the manufacturing CA (random 128-bit serial, CN = device id,\n"
    "clientAuth), sets a unique password from the CSPRNG stored as an Argon2id hash,\n"
    "and appends a JSON line for the gateway registry. The CA's provisioning.log\n"
    "records every attempt. A device that has a certificate is refused unless\n"
    "--force (a batch skips it and goes on, so a rerun finishes a broken batch).\n"
    "With --config the password is printed once; batches write it to\n"
    "--passwords (default OUT/passwords.csv, mode 0600) for the label printer.",
    opts, 0, 0, run};
