/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark provision: the factory step. For each device: a key generated
 * where the device keeps it (file, PKCS#11 token, TPM), a CSR signed by
 * that key, a certificate from the manufacturing CA, a unique password
 * from the CSPRNG stored as an Argon2id hash, and one JSON line for the
 * gateway's registry. Every device is also appended to the CA's
 * append-only provisioning log, which is also the CA's ledger: one
 * identity, one key. An id certified before is certified again only for
 * the same key, or with --rekey, which revokes the old certificate in the
 * log; a key certified for one id is never certified for another.
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

#include <jansson.h>

#include "bwh/cred.h"
#include "bwh/identity.h"
#include "cli.h"
#include "bwh/device.h"
#include "bwh/seclog.h"
#include "bwh/tuf.h"

/* Where one device's identity goes. */
struct target {
    char id[65];
    char key_uri[4096];
    char cert[4096];
    char creds[4096];
    struct bwh_device_conf conf; /* for the security log; seclog empty: none */
};

/* What the CA has certified: one entry per certificate that is current
 * for its id (re-keys append a new one and mark the old revoked), found by
 * id and by public key through two open-addressing indexes of entry
 * numbers. Read from the provisioning log at start, kept up to date as
 * devices are certified. */
struct lentry {
    char id[65];
    uint8_t pub[BW_SHA256_LEN]; /* SHA-256 of the public point */
    char serial[33];
    uint8_t has_pub;            /* 0: a line from before the ledger (id only) */
    uint8_t revoked;
};

#define LEDGER_NONE UINT32_MAX

struct ledger {
    struct lentry *e;
    size_t n, cap;
    uint32_t *by_id, *by_pub; /* icap slots each, LEDGER_NONE when empty */
    size_t icap;              /* a power of two, at least twice n */
};

static uint64_t fnv(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;

    while (n--)
        h = (h ^ *b++) * 1099511628211ull;
    return h;
}

/* The slot for id (holding it, or the empty one where it would go). */
static size_t id_slot(const struct ledger *l, const char *id)
{
    size_t i = (size_t)fnv(id, strlen(id)) & (l->icap - 1);

    while (l->by_id[i] != LEDGER_NONE && strcmp(l->e[l->by_id[i]].id, id))
        i = (i + 1) & (l->icap - 1);
    return i;
}

static size_t pub_slot(const struct ledger *l, const uint8_t pub[BW_SHA256_LEN])
{
    size_t i = (size_t)fnv(pub, BW_SHA256_LEN) & (l->icap - 1);

    while (l->by_pub[i] != LEDGER_NONE &&
           (!l->e[l->by_pub[i]].has_pub || memcmp(l->e[l->by_pub[i]].pub, pub, BW_SHA256_LEN)))
        i = (i + 1) & (l->icap - 1);
    return i;
}

/* Indexes entry k: the id now names it; a key keeps its first entry (a
 * key re-certified for its own id is updated in place, never appended). */
static void ledger_index(struct ledger *l, uint32_t k)
{
    size_t i = id_slot(l, l->e[k].id);

    l->by_id[i] = k;
    if (l->e[k].has_pub) {
        i = pub_slot(l, l->e[k].pub);
        if (l->by_pub[i] == LEDGER_NONE)
            l->by_pub[i] = k;
    }
}

static bw_err ledger_grow(struct ledger *l)
{
    size_t icap = l->icap ? l->icap * 2 : 1024, i;
    struct lentry *e;
    uint32_t *a, *b;

    if (l->n < l->cap && (l->n + 1) * 2 <= l->icap)
        return BW_OK;
    if (l->n >= LEDGER_NONE - 1 || icap > SIZE_MAX / sizeof(*a))
        return BW_E_TOOBIG;
    e = bwh_realloc(l->e, (icap / 2) * sizeof(*e));
    if (!e)
        return BW_E_NOMEM;
    l->e = e;
    l->cap = icap / 2;
    a = bwh_malloc(icap * sizeof(*a));
    b = bwh_malloc(icap * sizeof(*b));
    if (!a || !b) {
        bwh_free(a);
        bwh_free(b);
        return BW_E_NOMEM;
    }
    bwh_free(l->by_id);
    bwh_free(l->by_pub);
    l->by_id = a;
    l->by_pub = b;
    l->icap = icap;
    for (i = 0; i < icap; i++)
        a[i] = b[i] = LEDGER_NONE;
    for (i = 0; i < l->n; i++)
        ledger_index(l, (uint32_t)i);
    return BW_OK;
}

static struct lentry *ledger_by_id(const struct ledger *l, const char *id)
{
    uint32_t k;

    if (!l->icap)
        return NULL;
    k = l->by_id[id_slot(l, id)];
    return k == LEDGER_NONE ? NULL : &l->e[k];
}

static struct lentry *ledger_by_pub(const struct ledger *l, const uint8_t pub[BW_SHA256_LEN])
{
    uint32_t k;

    if (!l->icap)
        return NULL;
    k = l->by_pub[pub_slot(l, pub)];
    return k == LEDGER_NONE ? NULL : &l->e[k];
}

/* Records a certificate: the same id and key update its entry (a newer
 * certificate for the same key), anything else appends one. pub NULL:
 * a line from before the ledger kept keys. */
static bw_err ledger_add(struct ledger *l, const char *id, const uint8_t *pub, const char *serial)
{
    struct lentry *c = ledger_by_id(l, id);
    bw_err rc;

    if (c && pub && c->has_pub && !c->revoked && !memcmp(c->pub, pub, BW_SHA256_LEN)) {
        snprintf(c->serial, sizeof(c->serial), "%s", serial);
        return BW_OK;
    }
    if (c && !pub && !c->revoked && !strcmp(c->serial, serial))
        return BW_OK; /* the outcome line of a certificate read already */
    rc = ledger_grow(l);
    if (rc)
        return rc;
    c = &l->e[l->n];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->serial, sizeof(c->serial), "%s", serial);
    if (pub) {
        memcpy(c->pub, pub, BW_SHA256_LEN);
        c->has_pub = 1;
    }
    ledger_index(l, (uint32_t)l->n++);
    return BW_OK;
}

static void ledger_free(struct ledger *l)
{
    bwh_free(l->e);
    bwh_free(l->by_id);
    bwh_free(l->by_pub);
    memset(l, 0, sizeof(*l));
}

/* Reads the provisioning log: "issue" lines (id, serial, public key),
 * "revoke" lines, and the "ok" outcome lines of logs written before the
 * ledger (id and serial only). A line that is not JSON is refused: the
 * ledger decides who may be certified, so it is read whole or not at all. */
static bw_err ledger_load(struct ledger *l, const char *path)
{
    char line[2048];
    FILE *f = fopen(path, "r");
    unsigned long no = 0;
    bw_err rc = BW_OK;

    if (!f)
        return errno == ENOENT ? BW_OK : BW_E_IO;
    while (!rc && fgets(line, sizeof(line), f)) {
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        const char *ev = json_string_value(json_object_get(o, "event"));
        const char *id = json_string_value(json_object_get(o, "device_id"));
        const char *serial = json_string_value(json_object_get(o, "serial"));
        const char *pubhex = json_string_value(json_object_get(o, "public_key"));
        const char *outcome = json_string_value(json_object_get(o, "outcome"));
        uint8_t pub[BW_P256_PUB_LEN], h[BW_SHA256_LEN];
        struct lentry *c;

        no++;
        if (!o || !id || !serial || strlen(id) > 64 || strlen(serial) > 32) {
            fprintf(stderr, "bulwark provision: %s line %lu: not a provisioning record\n", path,
                    no);
            rc = BW_E_FORMAT;
        } else if (ev && !strcmp(ev, "issue")) {
            if (!pubhex || strlen(pubhex) != 2 * sizeof(pub) ||
                bw_unhex(pub, sizeof(pub), pubhex) || bw_sha256(pub, sizeof(pub), h))
                rc = BW_E_FORMAT;
            else
                rc = ledger_add(l, id, h, serial);
        } else if (ev && !strcmp(ev, "revoke")) {
            c = ledger_by_id(l, id);
            if (c && !strcmp(c->serial, serial))
                c->revoked = 1;
        } else if (!ev && outcome && !strcmp(outcome, "ok") && *serial) {
            rc = ledger_add(l, id, NULL, serial);
        }
        json_decref(o);
    }
    fclose(f);
    return rc;
}

struct run {
    struct bwh_ca *ca;
    char org[129];
    unsigned days;
    struct bwh_cred_params kdf;
    struct bwh_cert_profile profile; /* idevid, hw_type, not_after */
    int use_profile;
    const char *serial_number;       /* --serial-number (with --config) */
    int force, rekey;
    int json;
    int reg_fd, pw_fd, log_fd;
    const char *pw_path;
    struct ledger ledger;
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

/* Appends the ledger's lines for a certificate just issued: "issue", and
 * "revoke" for the one it replaces (re-key). Durable before the device
 * gets its certificate: a crash after this leaves an id the CA knows. */
static bw_err ledger_record(struct run *r, const struct target *t, const char *serial,
                            const char *fpr, const char *pubhex, const char *old_serial)
{
    char line[768];
    int n;
    bw_err rc;

    n = snprintf(line, sizeof(line),
                 "{\"time\":%lld,\"event\":\"issue\",\"device_id\":\"%s\",\"serial\":\"%s\","
                 "\"fingerprint\":\"%s\",\"public_key\":\"%s\",\"profile\":\"%s\"}\n",
                 (long long)time(NULL), t->id, serial, fpr, pubhex,
                 r->profile.idevid ? "idevid" : "device");
    if (n <= 0 || (size_t)n >= sizeof(line))
        return BW_E_TOOBIG;
    rc = append_line(r->log_fd, line, (size_t)n);
    if (rc || !old_serial)
        return rc;
    n = snprintf(line, sizeof(line),
                 "{\"time\":%lld,\"event\":\"revoke\",\"device_id\":\"%s\",\"serial\":\"%s\","
                 "\"reason\":\"rekey\",\"replaced_by\":\"%s\"}\n",
                 (long long)time(NULL), t->id, old_serial, serial);
    if (n <= 0 || (size_t)n >= sizeof(line))
        return BW_E_TOOBIG;
    return append_line(r->log_fd, line, (size_t)n);
}

/* One identity, one key, decided before anything is issued. prior: the
 * id's current certificate (NULL: none); h: the key's digest. BW_E_CLAIM
 * (and why, on stderr) when the key is certified for another id, was
 * revoked for this one, or the id has a certificate for another key and
 * there is no --rekey. *replace: the prior certificate the new one
 * revokes. */
static bw_err identity_check(struct run *r, const struct target *t, const struct lentry *prior,
                             const uint8_t h[BW_SHA256_LEN], int *replace)
{
    const struct lentry *owner = ledger_by_pub(&r->ledger, h);

    *replace = 0;
    if (owner && strcmp(owner->id, t->id)) {
        fprintf(stderr, "bulwark provision: %s: its key is certified for device %s (serial %s): "
                "one key, one identity\n", t->id, owner->id, owner->serial);
        return BW_E_CLAIM;
    }
    if (owner && owner->revoked) {
        fprintf(stderr, "bulwark provision: %s: the certificate for this key was revoked (serial "
                "%s): a re-key needs a new key\n", t->id, owner->serial);
        return BW_E_CLAIM;
    }
    if (prior && (!prior->has_pub || memcmp(prior->pub, h, BW_SHA256_LEN))) {
        if (!r->rekey) {
            fprintf(stderr, "bulwark provision: %s: certified before for another key (serial "
                    "%s); --rekey revokes that certificate and certifies the new key\n",
                    t->id, prior->serial);
            return BW_E_CLAIM;
        }
        *replace = 1;
    }
    return BW_OK;
}

static bw_err provision_one(struct run *r, const struct target *t)
{
    char pw[BWH_CRED_GEN_LEN + 1], serial[33] = "", fpr[65] = "", pubhex[131], credhex[65];
    char old_serial[33] = "", replaces[64] = "";
    char *csr = NULL, *cert = NULL, *rec = NULL, *pem_json = NULL;
    uint8_t pub[BW_P256_PUB_LEN], h[BW_SHA256_LEN];
    struct bwh_devkey *k = NULL;
    struct bwh_cert_profile prof;
    struct bwh_cert_info info;
    struct bwh_cred_db db;
    struct lentry *prior;
    struct stat st;
    size_t cap;
    int n, replace = 0, has_key;
    bw_err rc;

    memset(pw, 0, sizeof(pw));
    rc = BW_E_EXISTS;
    if (!r->force && !r->rekey && stat(t->cert, &st) == 0) {
        fprintf(stderr, "bulwark provision: %s: already provisioned (%s exists; --rekey for a "
                "new key)\n", t->id, t->cert);
        goto out;
    }
    rc = bwh_devkey_open(t->key_uri, &k);
    if (rc) {
        /* the scheme only: a PKCS#11 URI may carry a PIN */
        fprintf(stderr, "bulwark provision: %s: cannot open the %.*s key: %s\n", t->id,
                (int)strcspn(t->key_uri, ":"), t->key_uri, bw_strerror(rc));
        goto out;
    }
    prior = ledger_by_id(&r->ledger, t->id);
    if (prior && prior->revoked)
        prior = NULL;
    has_key = bwh_devkey_public(k, pub) == BW_OK;
    /* before a key is made or replaced: an id certified before gets
     * another key only by --rekey (so a refusal leaves the key alone) */
    rc = BW_E_CLAIM;
    if (prior && !r->rekey && (r->force || !has_key)) {
        fprintf(stderr, "bulwark provision: %s: certified before (serial %s)%s; --rekey revokes "
                "that certificate and certifies a new key\n", t->id, prior->serial,
                r->force ? ": --force alone would give it a second key" : " for another key");
        goto out;
    }
    /* and a key that is there already is checked before it could be
     * replaced: a key URI naming another device's key must not cost that
     * device its key */
    if (has_key) {
        const struct lentry *owner;

        rc = bw_sha256(pub, sizeof(pub), h);
        if (rc)
            goto out;
        owner = ledger_by_pub(&r->ledger, h);
        rc = BW_E_CLAIM;
        if (owner && strcmp(owner->id, t->id)) {
            fprintf(stderr, "bulwark provision: %s: its key is certified for device %s (serial "
                    "%s): one key, one identity\n", t->id, owner->id, owner->serial);
            goto out;
        }
    }
    rc = bwh_devkey_generate(k, r->force || r->rekey);
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
    rc = bwh_devkey_public(k, pub);
    if (!rc)
        rc = bw_sha256(pub, sizeof(pub), h);
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: public key: %s\n", t->id, bw_strerror(rc));
        goto out;
    }
    rc = identity_check(r, t, prior, h, &replace);
    if (rc)
        goto out;
    if (replace)
        snprintf(old_serial, sizeof(old_serial), "%s", prior->serial);
    prof = r->profile;
    if (r->serial_number)
        prof.serial_number = r->serial_number;
    if (prof.hw_type) { /* hwSerialNum: the device's serial number */
        const char *hs = prof.serial_number ? prof.serial_number : t->id;

        prof.hw_serial = (const uint8_t *)hs;
        prof.hw_serial_len = strlen(hs);
    }
    rc = bwh_csr_make(k, t->id, r->org, &csr);
    if (!rc)
        rc = bwh_ca_issue_profile(r->ca, csr, t->id, r->days, r->use_profile ? &prof : NULL,
                                  &cert, &info);
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: certificate: %s\n", t->id, bw_strerror(rc));
        goto out;
    }
    bw_hex(serial, info.serial, sizeof(info.serial));
    bw_hex(fpr, info.fingerprint, sizeof(info.fingerprint));
    bw_hex(pubhex, info.pub, sizeof(info.pub));
    rc = ledger_record(r, t, serial, fpr, pubhex, replace ? old_serial : NULL);
    if (!rc && replace)
        prior->revoked = 1; /* before ledger_add: it may move the entries */
    if (!rc)
        rc = ledger_add(&r->ledger, t->id, h, serial);
    if (rc) {
        fprintf(stderr, "bulwark provision: %s: cannot record the certificate in the "
                "provisioning log: %s\n", t->id, bw_strerror(rc));
        goto out;
    }
    if (replace) {
        snprintf(replaces, sizeof(replaces), ",\"replaces_serial\":\"%s\"", old_serial);
        fprintf(stderr, "bulwark provision: %s: re-keyed; certificate %s revoked\n", t->id,
                old_serial);
    }
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
    rec = bwh_malloc(cap + 1100);
    rc = BW_E_NOMEM;
    if (!pem_json || !rec)
        goto out;
    bwh_json_esc(pem_json, cap, cert, strlen(cert));
    n = snprintf(rec, cap + 1100,
                 "{\"device_id\":\"%s\",\"serial\":\"%s\",\"fingerprint_sha256\":\"%s\","
                 "\"public_key\":\"%s\",\"key_backend\":\"%s\",\"not_before\":%" PRIu64
                 ",\"not_after\":%" PRIu64 ",\"provisioned_at\":%lld,\"cred_sha256\":\"%s\","
                 "\"certificate\":\"%s\"%s}\n",
                 t->id, serial, fpr, pubhex, bwh_devkey_scheme(k), info.not_before, info.not_after,
                 (long long)time(NULL), credhex, pem_json, replaces);
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
    if (cli_get(a, "tuf-root") && !conf_path)
        return cli_usage(a, "--tuf-root is for one device (--config)");
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
    if ((v = cli_get(a, "profile")) && strcmp(v, "device") && strcmp(v, "idevid"))
        return cli_usage(a, "--profile is device or idevid");
    r.profile.idevid = v && !strcmp(v, "idevid");
    r.serial_number = cli_get(a, "serial-number");
    r.profile.hw_type = cli_get(a, "hw-type");
    if ((v = cli_get(a, "not-after")))
        r.profile.not_after = !strcmp(v, "never") ? BWH_NOT_AFTER_NEVER : v;
    if (!r.profile.idevid && (r.serial_number || r.profile.hw_type || r.profile.not_after))
        return cli_usage(a, "--serial-number, --hw-type and --not-after need --profile idevid");
    if (r.serial_number && !conf_path)
        return cli_usage(a, "--serial-number is for one device (--config); batches use the id");
    if (r.profile.not_after && cli_get(a, "days"))
        return cli_usage(a, "give --days or --not-after, not both");
    r.use_profile = r.profile.idevid;
    r.force = cli_flag(a, "force");
    r.rekey = cli_flag(a, "rekey");
    r.json = cli_flag(a, "json");

    if (conf_path) {
        /* device.conf first: its crypto_mode must be entered before the
         * CA's first cryptographic operation (docs/fips.md) */
        struct bwh_device_conf *early = bwh_calloc(1, sizeof(*early));

        rc = early ? bwh_device_conf_load(early, conf_path) : BW_E_NOMEM;
        bwh_free(early);
        if (rc)
            return cli_exit_code(rc);
    }

    /* the CA: given, found in --ca-dir, or created there */
    snprintf(ca_cert, sizeof(ca_cert), "%s", (v = cli_get(a, "ca-cert")) ? v : "");
    snprintf(ca_key, sizeof(ca_key), "%s", (v = cli_get(a, "ca-key")) ? v : "");
    if (!*ca_cert)
        snprintf(ca_cert, sizeof(ca_cert), "%.4000s/ca.crt", ca_dir);
    if (!*ca_key)
        snprintf(ca_key, sizeof(ca_key), "%.4000s/ca.key", ca_dir);
    rc = bwh_ca_open(ca_cert, ca_key, &r.ca);
    if (rc == BW_E_NOTFOUND && (!strncmp(ca_key, "pkcs11:", 7) || !strncmp(ca_key, "tpm:", 4))) {
        /* a CA key in a token or TPM: made there (or the one there used),
         * its certificate written to CA.crt; the URI is not printed (it
         * may carry a PIN) */
        if (mkdir(ca_dir, 0700) && errno != EEXIST)
            return cli_fail(a, ca_dir, BW_E_IO);
        rc = bwh_ca_create_in(ca_cert, ca_key, r.org, 36500);
        if (rc)
            return cli_fail(a, "creating the manufacturing CA in its backend", rc);
        fprintf(stderr, "bulwark provision: created manufacturing CA %s (key in its %.*s backend)\n",
                ca_cert, (int)strcspn(ca_key, ":"), ca_key);
        rc = bwh_ca_open(ca_cert, ca_key, &r.ca);
    } else if (rc == BW_E_NOTFOUND && !cli_get(a, "ca-cert")) {
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
    rc = ledger_load(&r.ledger, plog);
    if (rc) {
        status = cli_fail(a, plog, rc);
        goto out;
    }
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
        if ((v = cli_get(a, "tuf-root"))) { /* the fleet's first root, checked, then kept */
            char tuf[sizeof(t->conf.data_dir) + 8];

            snprintf(tuf, sizeof(tuf), "%s/tuf", t->conf.data_dir);
            rc = bwh_tuf_init_file(tuf, v, NULL);
            if (rc) {
                status = cli_fail(a, v, rc);
                goto out;
            }
        }
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
    ledger_free(&r.ledger);
    return status;
}

static const struct cli_opt opts[] = {
    {"ca-dir", "DIR", "manufacturing CA directory (ca.crt, ca.key; created when empty)"},
    {"ca-cert", "CA.crt", "use this CA certificate instead of DIR/ca.crt"},
    {"ca-key", "CA.key|URI", "CA private key: a PEM file, or a pkcs11:/tpm: URI (key stays there)"},
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
    {"profile", "device|idevid", "certificate profile (idevid: IEEE 802.1AR birth certificate)"},
    {"serial-number", "SN", "idevid: subject serialNumber with --config (default the device id)"},
    {"hw-type", "OID", "idevid: add hardwareModuleName (RFC 4108) with this hwType"},
    {"not-after", "TIME|never", "idevid: notAfter YYYYMMDDHHMMSSZ (never: 99991231235959Z)"},
    {"force", NULL, "redo a device that has a certificate (refused for an id certified before)"},
    {"rekey", NULL, "new key for a certified device; revokes its old certificate in the log"},
    {"json", NULL, "one JSON object per device on stdout"},
    {"tuf-root", "ROOT.json",
     "with --config: install the fleet's TUF root (checked) as DATA_DIR/tuf/root.json"},
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
    "records every attempt and is the CA's ledger: one identity, one key. An id\n"
    "certified before is refused for another key unless --rekey (which revokes\n"
    "the old certificate in the log); a key certified for one id is refused for\n"
    "any other. A device that has a certificate is skipped (a batch goes on, so a\n"
    "rerun finishes a broken batch). --profile idevid writes an IEEE 802.1AR\n"
    "IDevID: serialNumber in the subject, optional hardwareModuleName, notAfter\n"
    "by --days or --not-after (never = 99991231235959Z).\n"
    "With --config the password is printed once; batches write it to\n"
    "--passwords (default OUT/passwords.csv, mode 0600) for the label printer.",
    opts, 0, 0, run};
