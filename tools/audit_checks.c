/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device checks behind `bulwark audit`: each reads the real artefact
 * (the device's files, slots, boot state, key backend, security log,
 * socket tables, the provisioning registry of its batch, the agent's
 * configuration) and records pass or fail with what it saw, error when it
 * could not look (no device, unreadable input, tool failure), manual when
 * only the maker's declaration is there, not-applicable with the reason.
 * A check that cannot look never passes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "bwh/cred.h"
#include "bwh/cryptomode.h"
#include "bwh/identity.h"
#include "bwh/log.h"
#include "bulwark/store.h"
#include "cli.h"
#include "bwh/device.h"
#include "bwh/host.h"

static struct audit_check spare; /* past the table: written, never reported */

static struct audit_check *add(struct audit_model *m, const char *name)
{
    struct audit_check *c = &spare;

    if (m->nchk < sizeof(m->chk) / sizeof(m->chk[0]))
        c = &m->chk[m->nchk++];
    c->name = name;
    c->res = AUDIT_FAIL;
    c->evidence[0] = 0;
    return c;
}

static void say(struct audit_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct audit_check *c, const char *fmt, ...)
{
    size_t n = strlen(c->evidence);
    va_list ap;

    if (n + 2 >= sizeof(c->evidence))
        return;
    if (n)
        c->evidence[n++] = ' ', c->evidence[n] = 0;
    va_start(ap, fmt);
    vsnprintf(c->evidence + n, sizeof(c->evidence) - n, fmt, ap);
    va_end(ap);
}

/* ---- the provisioning registry of the batch (bulwark provision) ---- */

struct reg_rec {
    char id[65], pub[131], fpr[65], cred[65];
};

struct reg {
    struct reg_rec *r;
    size_t n;
    char err[300]; /* why it could not be read; "" when read or not declared */
    int loaded;
};

static void copy_field(json_t *o, const char *k, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(o, k));

    snprintf(out, cap, "%s", v ? v : "");
}

/* Reads registry.jsonl; a device provisioned twice counts by its last line. */
static void reg_load(struct reg *g, const char *path)
{
    uint8_t *buf = NULL;
    char *line, *save = NULL;
    size_t len = 0, i, lineno = 0;
    bw_err rc;

    memset(g, 0, sizeof(*g));
    if (!*path)
        return;
    rc = bwh_read_file(path, 256u << 20, &buf, &len);
    if (rc) {
        snprintf(g->err, sizeof(g->err), "provisioning registry %s: %s", path, bw_strerror(rc));
        return;
    }
    for (line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        struct reg_rec rec, *grown;

        lineno++;
        if (!json_is_object(o) || !json_is_string(json_object_get(o, "device_id"))) {
            snprintf(g->err, sizeof(g->err), "provisioning registry %.200s: line %zu is not a record",
                     path, lineno);
            json_decref(o);
            goto out;
        }
        copy_field(o, "device_id", rec.id, sizeof(rec.id));
        copy_field(o, "public_key", rec.pub, sizeof(rec.pub));
        copy_field(o, "fingerprint_sha256", rec.fpr, sizeof(rec.fpr));
        copy_field(o, "cred_sha256", rec.cred, sizeof(rec.cred));
        json_decref(o);
        for (i = 0; i < g->n && strcmp(g->r[i].id, rec.id); i++)
            ;
        if (i == g->n) {
            grown = bwh_realloc(g->r, (g->n + 1) * sizeof(*g->r));
            if (!grown) {
                snprintf(g->err, sizeof(g->err), "provisioning registry %s: out of memory", path);
                goto out;
            }
            g->r = grown;
            g->n++;
        }
        g->r[i] = rec;
    }
    g->loaded = 1;
out:
    bwh_free(buf);
}

static const struct reg_rec *reg_find(const struct reg *g, const char *id)
{
    size_t i;

    for (i = 0; i < g->n; i++)
        if (!strcmp(g->r[i].id, id))
            return &g->r[i];
    return NULL;
}

/* ---- what the device is: its certificate and its key ---- */

struct unit {
    char id[65];       /* CN of the device certificate */
    char pubhex[131];  /* the device key's public point */
    char certfpr[65];
    uint64_t not_before, not_after;
    int have_cert, have_key;
    uint8_t cert_pub[BW_P256_PUB_LEN];
};

static void unit_cert(struct unit *u, const struct bwh_device_conf *dc)
{
    struct bwh_cert_info info;
    uint8_t *pem = NULL;
    size_t len = 0;

    if (bwh_read_file(dc->device_cert, 1 << 20, &pem, &len) == BW_OK &&
        bwh_cert_info((const char *)pem, len, &info) == BW_OK) {
        snprintf(u->id, sizeof(u->id), "%s", info.device_id);
        bw_hex(u->certfpr, info.fingerprint, sizeof(info.fingerprint));
        memcpy(u->cert_pub, info.pub, sizeof(u->cert_pub));
        u->not_before = info.not_before;
        u->not_after = info.not_after;
        u->have_cert = 1;
    }
    bwh_free(pem);
}

/* ---- 5.6-1, 5.6-5: listening sockets against the declared services ---- */

/* At *s: lead (a blank in it stands for any run of blanks, the rest is
 * literal), then 1..maxdig digits (0: any number of them) in base 10 or
 * 16, stored in *v when v is not NULL. 1 and *s past them, or 0. */
static int field(const char **s, const char *lead, int base, size_t maxdig, unsigned *v)
{
    const char *p = *s;
    size_t n;
    unsigned long x;

    for (; *lead; lead++) {
        if (*lead == ' ')
            p += strspn(p, " \t");
        else if (*p++ != *lead)
            return 0;
    }
    n = strspn(p, base == 16 ? "0123456789abcdefABCDEF" : "0123456789");
    if (n == 0 || (maxdig && n > maxdig))
        return 0;
    if (v) {
        errno = 0;
        x = strtoul(p, NULL, base);
        if (errno || x > UINT_MAX)
            return 0;
        *v = (unsigned)x;
    }
    *s = p + n;
    return 1;
}

/* Adds "proto:port" for each listening socket in one /proc/net table;
 * -1 when the table cannot be read (errno kept). */
static int scan_table(const char *dir, const char *file, const char *proto, char *out, size_t cap)
{
    char path[4200], ln[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(ln, sizeof(ln), f)) {
        const char *p = ln;
        unsigned port, st;
        char item[16];

        /* "  N: LOCAL:PORT REMOTE:PORT ST ..." in hex, after one header line */
        if (!field(&p, " ", 10, 0, NULL) || !field(&p, ": ", 16, 0, NULL) ||
            !field(&p, ":", 16, 4, &port) || !field(&p, " ", 16, 0, NULL) ||
            !field(&p, ":", 16, 4, NULL) || !field(&p, " ", 16, 2, &st))
            continue; /* the header */
        if (!strcmp(proto, "tcp") ? st != 0x0A : st != 0x07)
            continue; /* tcp LISTEN; udp unconnected (bound) */
        snprintf(item, sizeof(item), "%s:%u", proto, port);
        if (!strstr(out, item) || strstr(out, item)[strlen(item)] != ',') {
            if (strlen(out) + strlen(item) + 2 < cap)
                strcat(strcat(out, item), ",");
        }
    }
    fclose(f);
    return 0;
}

static int declared(const char *services, const char *item)
{
    const char *p = services;
    size_t n = strlen(item);

    while ((p = strstr(p, item))) {
        if ((p == services || p[-1] == ' ' || p[-1] == ',') &&
            (p[n] == 0 || p[n] == ',' || p[n] == ' '))
            return 1;
        p += n;
    }
    return 0;
}

/* Method: the tables are the device's only when the audit runs on it
 * (--config given and no --proc-net: this host is the device) or when
 * --proc-net names a copy of its /proc/net. tcp and udp must be there (a
 * missing table is no proof of silence); tcp6/udp6 are absent on a kernel
 * without IPv6. seen receives "proto:port," per listener. */
static void check_listeners(struct audit_model *m, const char *proc_net, int on_device,
                            char *seen, size_t cap)
{
    struct audit_check *c = add(m, "net.listeners");
    char extra[2048] = "", copy[2048], *item, *save = NULL;
    const char *dir = proc_net ? proc_net : "/proc/net";
    struct stat st;

    *seen = 0;
    c->res = AUDIT_ERROR;
    if (!proc_net && !on_device) {
        say(c, "No device given: this workstation's sockets are not the device's. Run on the "
               "device with --config, or give a copy of its /proc/net with --proc-net DIR.");
        return;
    }
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        say(c, "cannot read the socket tables: %s is not a directory (%s).", dir,
            errno ? strerror(errno) : "not a directory");
        return;
    }
    if (scan_table(dir, "tcp", "tcp", seen, cap) || scan_table(dir, "udp", "udp", seen, cap)) {
        say(c, "cannot read the socket tables %s/tcp and %s/udp: %s.", dir, dir, strerror(errno));
        *seen = 0;
        return;
    }
    (void)scan_table(dir, "tcp6", "tcp", seen, cap); /* absent without IPv6 */
    (void)scan_table(dir, "udp6", "udp", seen, cap);
    snprintf(copy, sizeof(copy), "%s", seen);
    if (*copy)
        copy[strlen(copy) - 1] = 0; /* the last item's comma */
    c->res = AUDIT_FAIL;
    say(c, "Listening (%s): %s.", dir, *copy ? copy : "nothing");
    say(c, "Declared services: %s.", *m->prof->services ? m->prof->services : "none");
    for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
        if (!declared(m->prof->services, item) && strlen(extra) + strlen(item) + 3 < sizeof(extra))
            strcat(strcat(extra, *extra ? ", " : ""), item);
    if (*extra) {
        say(c, "Not declared in the profile: %s.", extra);
        return;
    }
    say(c, "Every listening socket is declared.");
    c->res = AUDIT_PASS;
}

/* ---- 5.5-1, 5.5-4, 5.5-7: cleartext services, declared or not ---- */

static const struct {
    const char *item, *name;
} cleartext[] = {
    {"tcp:21", "FTP"},          {"tcp:23", "telnet"},   {"tcp:2323", "telnet"},
    {"tcp:80", "HTTP"},         {"tcp:8080", "HTTP"},   {"tcp:8000", "HTTP"},
    {"tcp:110", "POP3"},        {"tcp:143", "IMAP"},    {"tcp:512", "rexec"},
    {"tcp:513", "rlogin"},      {"tcp:514", "rsh"},     {"tcp:1883", "MQTT without TLS"},
    {"tcp:5900", "VNC"},        {"tcp:554", "RTSP"},    {"udp:69", "TFTP"},
    {"udp:161", "SNMP v1/v2c"}, {"udp:5683", "CoAP without DTLS"}, {"tcp:5683", "CoAP without TLS"},
};

static void check_cleartext(struct audit_model *m, const char *seen)
{
    struct audit_check *c = add(m, "net.cleartext");
    const struct audit_check *l = audit_find_check(m, "net.listeners");
    char found[1024] = "";
    size_t i;

    for (i = 0; i < sizeof(cleartext) / sizeof(cleartext[0]); i++) {
        int dec = declared(m->prof->services, cleartext[i].item);
        char it[20];

        snprintf(it, sizeof(it), "%s,", cleartext[i].item);
        if (!dec && !strstr(seen, it))
            continue;
        if (strlen(found) + 80 < sizeof(found))
            snprintf(found + strlen(found), sizeof(found) - strlen(found), "%s%s (%s, %s)",
                     *found ? ", " : "", cleartext[i].item, cleartext[i].name,
                     dec ? "declared" : "listening");
    }
    if (*found) {
        say(c, "Cleartext services, which carry credentials and data unprotected: %s.", found);
        return;
    }
    if (l && l->res == AUDIT_ERROR) {
        say(c, "No cleartext service is declared, but the socket tables could not be read.");
        c->res = AUDIT_ERROR;
        return;
    }
    say(c, "No known cleartext service (FTP, telnet, HTTP, MQTT or CoAP without TLS, SNMP v1/v2c, "
           "TFTP, r-commands, VNC, RTSP) is declared or listening.");
    c->res = AUDIT_PASS;
}

/* ---- 5.1-1..5.1-5: the credentials ---- */

/* Argon2id in PHC form: $argon2id$v=19$m=M,t=T,p=P$salt$hash. */
static int phc_params(const char *h, unsigned *mk, unsigned *t, unsigned *p)
{
    return field(&h, "$argon2id$v=19$m=", 10, 10, mk) && field(&h, ",t=", 10, 10, t) &&
           field(&h, ",p=", 10, 10, p) && *h == '$';
}

/* The OWASP Argon2id floor: 19 MiB with 2 passes, or more memory with
 * fewer passes / less memory with more (m x t >= 38912 KiB, m >= 7 MiB). */
static int kdf_strong(unsigned mk, unsigned t)
{
    return mk >= 7168 && (uint64_t)mk * t >= 38912;
}

static const char *const defaults[] = {
    "admin", "password", "1234", "12345", "123456", "12345678", "default", "root",
    "changeme", "admin123", "guest", "user", "support", "0000", "1111", "pass",
};

/* Method (5.1-1, PSTI para 1, 27402 5.2.6.1.4): a password passes when it
 * is the unique one provisioned for this unit (factory flag set, and its
 * hash is the one the registry recorded for this unit) or one the user
 * set (flag clear, hash no longer the provisioned one). It fails when any
 * other unit of the batch has the same hash (a copied credentials file),
 * when it is a common default, or when the flag and the hash disagree (a
 * hand-edited flag). Without the registry a factory password cannot be
 * told from a shared one: error. */
static void check_creds(struct audit_model *m, const struct bwh_device_conf *dc, const struct unit *u,
                        const struct reg *g)
{
    struct audit_check *fac = add(m, "cred.factory"), *gen = add(m, "cred.generated");
    struct audit_check *kdf = add(m, "cred.kdf"), *chg = add(m, "cred.change");
    struct audit_check *thr = add(m, "cred.throttle");
    struct audit_check *all[5];
    struct bwh_cred_db *db = bwh_calloc(1, sizeof(*db));
    const struct reg_rec *mine = NULL;
    size_t i, j, bad = 0, weak = 0, factory = 0;
    struct stat st;
    bw_err rc;

    all[0] = fac, all[1] = gen, all[2] = kdf, all[3] = chg, all[4] = thr;
    for (i = 0; i < 5; i++)
        all[i]->res = AUDIT_ERROR;
    if (!db) {
        say(fac, "out of memory");
        return;
    }
    rc = bwh_cred_load(db, dc->credentials);
    if (rc) {
        for (i = 0; i < 5; i++)
            say(all[i], "%s: %s.", dc->credentials, bw_strerror(rc));
        goto out;
    }
    if (!m->prof->user_accounts || db->n == 0) {
        /* no accounts as declared: not applicable; accounts the profile
         * denies, or none on a device that declares them: fail */
        for (i = 0; i < 5; i++) {
            all[i]->res = !m->prof->user_accounts && !db->n ? AUDIT_NA : AUDIT_FAIL;
            say(all[i], "The profile declares user_accounts = %s; %s holds %zu account%s%s.",
                m->prof->user_accounts ? "yes" : "no", dc->credentials, db->n,
                db->n == 1 ? "" : "s",
                m->prof->user_accounts ? ": the device was not provisioned" : "");
        }
        goto out;
    }
    say(fac, "%s holds %zu account%s.", dc->credentials, db->n, db->n == 1 ? "" : "s");
    if (g->loaded && u->have_cert)
        mine = reg_find(g, u->id);
    for (i = 0; i < db->n; i++) {
        const struct bwh_cred_user *a = &db->user[i];
        char hx[65];
        unsigned mk, t, p;

        if (bwh_cred_digest(a->hash, hx))
            hx[0] = 0; /* matches no unit */
        factory += (size_t)a->factory;
        if (!phc_params(a->hash, &mk, &t, &p)) {
            say(kdf, "%s: not an Argon2id v19 hash.", a->name);
            weak++;
        } else if (!kdf_strong(mk, t)) {
            say(kdf, "%s: Argon2id m=%u KiB, t=%u is below the floor (19 MiB x 2 passes or "
                     "equivalent).", a->name, mk, t);
            weak++;
        } else {
            say(kdf, "%s: Argon2id m=%u KiB, t=%u, p=%u.", a->name, mk, t, p);
        }
        for (j = 0; j < sizeof(defaults) / sizeof(defaults[0]); j++)
            if (bwh_cred_check_hash(a->hash, defaults[j]) == BW_OK) {
                say(fac, "%s accepts the common default password '%s'.", a->name, defaults[j]);
                bad++;
            }
        for (j = 0; j < g->n; j++)
            if (*g->r[j].cred && !strcmp(g->r[j].cred, hx) && (!mine || &g->r[j] != mine)) {
                say(fac, "%s has the same password hash as unit %s of the batch (a copied "
                         "credential).", a->name, g->r[j].id);
                bad++;
            }
        if (mine && *mine->cred) {
            int same = !strcmp(mine->cred, hx);

            if (a->factory && !same) {
                say(fac, "%s is marked factory but is not the password provisioned for %s.",
                    a->name, u->id);
                bad++;
            } else if (!a->factory && same) {
                say(fac, "%s is marked as set by the user, but its hash is still the one "
                         "provisioned (the factory flag was edited).", a->name);
                bad++;
            } else {
                say(fac, "%s: %s.", a->name,
                    same ? "the unique factory password provisioned for this unit"
                         : "a password the user set");
            }
        }
    }
    /* two units of the batch with one hash, whoever is audited */
    for (i = 0; i < g->n; i++)
        for (j = i + 1; j < g->n; j++)
            if (*g->r[i].cred && !strcmp(g->r[i].cred, g->r[j].cred)) {
                say(fac, "Units %s and %s of the batch share one password hash.", g->r[i].id,
                    g->r[j].id);
                bad++;
            }
    if (!g->loaded) {
        say(fac, "%s", *g->err ? g->err
                               : "No provisioning registry (provisioning_registry in the profile): "
                                 "whether the password is unique cannot be checked.");
        say(gen, "%s", *g->err ? g->err : "No provisioning registry: how the passwords were "
                                          "generated cannot be checked.");
        if (bad)
            fac->res = AUDIT_FAIL;
    } else {
        if (!u->have_cert || !mine)
            say(fac, "Unit %s is not in the provisioning registry.", u->have_cert ? u->id : "?");
        fac->res = bad || !mine ? AUDIT_FAIL : AUDIT_PASS;
        if (!bad && mine && !*mine->cred && factory) {
            say(fac, "The registry records no credential digest (cred_sha256) for %s: whether "
                     "its factory password is unique cannot be checked.", u->id);
            fac->res = AUDIT_ERROR;
        }
        if (mine && *mine->cred) {
            say(gen, "The registry records %s's factory password as generated at provisioning "
                     "(bwh_cred_generate: 20 letters from a 32-letter alphabet by the CSPRNG, "
                     "100 bits), stored as an Argon2id hash.", u->id);
            gen->res = AUDIT_PASS;
        } else {
            say(gen, "The registry holds no generated credential for unit %s.",
                u->have_cert ? u->id : "?");
            gen->res = AUDIT_FAIL;
        }
    }
    kdf->res = weak ? AUDIT_FAIL : AUDIT_PASS;
    if (stat(dc->credentials, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0200)) {
        say(chg, "%s is a file its owner can replace: 'bulwark passwd' changes a password after "
                 "checking the current one (at least %d characters).", dc->credentials,
            BWH_CRED_PW_MIN);
        say(chg, "%zu of %zu account%s still use%s the factory password.", factory, db->n,
            db->n == 1 ? "" : "s", factory == 1 ? "s" : "");
        chg->res = AUDIT_PASS;
    } else {
        say(chg, "%s cannot be rewritten by its owner: the password cannot be changed.",
            dc->credentials);
        chg->res = AUDIT_FAIL;
    }
    {
        size_t locked = 0;
        uint64_t now = (uint64_t)time(NULL);

        for (i = 0; i < db->n; i++)
            locked += db->user[i].locked_until > now;
        say(thr, "Logins go through bwh_cred_verify with %s: a growing delay after each failure "
                 "(up to %d s), a lock of %d s after %d failures, the state persisted before each "
                 "check; %zu account%s locked now.", dc->credentials, BWH_CRED_DELAY_MAX,
            BWH_CRED_LOCK_SECONDS, BWH_CRED_LOCK_AFTER, locked, locked == 1 ? "" : "s");
        thr->res = AUDIT_PASS;
    }
out:
    bw_wipe(db, sizeof(*db));
    bwh_free(db);
}

/* ---- 5.11-1, CRA (2)(m): user data where the reset erases it ---- */

/* 1 when the copy header at off is a bulwark store's or blank (erased),
 * 0 when it is something else, -1 when it cannot be read. */
static int store_copy(const struct bw_flash *f, uint64_t off)
{
    uint8_t h[BW_STORE_HDR_LEN];
    size_t i;
    int blank = 1;

    if (f->read(f->ctx, off, h, sizeof(h)))
        return -1;
    for (i = 0; i < sizeof(h); i++)
        blank &= h[i] == 0x00 || h[i] == 0xff;
    return blank || !memcmp(h, "BWKV", 4);
}

/* Method: the user data bulwark keeps is the encrypted store; 'bulwark
 * store wipe --factory-reset' zeroes both of its copies. The check fails
 * when the store file holds something the wipe would not recognise, and
 * otherwise hands the row to the maker: data the product keeps elsewhere
 * is the maker's to show erasable (manual, never a blind pass). */
static void check_erase(struct audit_model *m, const struct bwh_device_conf *dc)
{
    struct audit_check *c = add(m, "reset.erase");
    struct bwh_posix_flash pf;
    struct stat st;
    int a, b;

    if (stat(dc->store, &st)) {
        say(c, "No store %s yet: the device keeps no user data in bulwark's store.", dc->store);
        c->res = errno == ENOENT ? AUDIT_MANUAL : AUDIT_ERROR;
        return;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 2 * BW_STORE_HDR_LEN ||
        bwh_posix_flash_open(&pf, dc->store, (uint64_t)st.st_size, 0, 0)) {
        say(c, "The store %s cannot be read.", dc->store);
        c->res = AUDIT_ERROR;
        return;
    }
    a = store_copy(&pf.f, 0);
    b = store_copy(&pf.f, bw_store_copy_size(&pf.f));
    bwh_posix_flash_close(&pf);
    if (a < 0 || b < 0) {
        say(c, "The store %s cannot be read.", dc->store);
        c->res = AUDIT_ERROR;
    } else if (!a || !b) {
        say(c, "The store %s holds data that is not a bulwark store: 'bulwark store wipe' "
               "would not erase it as user data.", dc->store);
    } else {
        say(c, "User data in %s (encrypted under the storage key) is erased by 'bulwark store "
               "wipe --factory-reset'; data the product keeps elsewhere is the maker's claim.",
            dc->store);
        c->res = AUDIT_MANUAL;
    }
}

/* ---- 5.4-1: key and store files ---- */

/* A secret file: 1 when private to its owner, 0 when not, -1 if absent. */
static int private_file(struct audit_check *c, const char *what, const char *path)
{
    struct stat st;

    if (stat(path, &st)) {
        say(c, "%s %s: %s.", what, path, strerror(errno));
        return -1;
    }
    say(c, "%s %s mode %03o%s.", what, path, (unsigned)(st.st_mode & 0777),
        st.st_mode & 077 ? " (readable or writable by others)" : "");
    return !(st.st_mode & 077);
}

static void key_path(const char *uri, char *out, size_t cap)
{
    snprintf(out, cap, "%.4000s", uri + 5);
    out[strcspn(out, "?")] = 0;
}

static int key_encrypted(struct audit_check *c, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int ok;

    if (bwh_read_file(path, 1 << 16, &buf, &len))
        return 0;
    ok = len > 8 && !memcmp(buf, "BWKEYv1\n", 8);
    say(c, "The device key is %s.", ok ? "sealed under the storage key (AES-256-GCM)"
                                       : "NOT encrypted at rest");
    bw_wipe(buf, len);
    bwh_free(buf);
    return ok;
}

static void check_storage(struct audit_model *m, const struct bwh_device_conf *dc)
{
    struct audit_check *c = add(m, "storage.protect");
    char kp[4096];
    int ok = 1, r;

    if (!strncmp(dc->device_key, "file:", 5)) {
        key_path(dc->device_key, kp, sizeof(kp));
        ok &= private_file(c, "device key", kp) == 1 && key_encrypted(c, kp);
        if (bwh_key_module(dc->storage_key, kp, sizeof(kp)) == 1)
            say(c, "The storage key is held by %s.", kp);
        else
            ok &= private_file(c, "storage key", dc->storage_key) == 1;
    } else {
        say(c, "The device key is held by its %.*s backend.", (int)strcspn(dc->device_key, ":"),
            dc->device_key);
    }
    ok &= private_file(c, "credentials", dc->credentials) == 1;
    r = private_file(c, "store", dc->store);
    if (r == -1)
        say(c, "(no store yet: nothing stored).");
    ok &= r != 0;
    if (ok)
        c->res = AUDIT_PASS;
}

/* ---- 5.4-2, 5.4-4: the device key signs through its backend ---- */

/* Method: open the key named by device_key through its backend (file,
 * PKCS#11 module, TPM), sign a fresh random challenge with it and verify
 * the signature with the public key the backend reports; that key must be
 * the one in the device certificate. A URI whose module, token or handle
 * is not there fails here, whatever its scheme promises. */
static void check_key(struct audit_model *m, const struct bwh_device_conf *dc, struct unit *u)
{
    struct audit_check *c = add(m, "key.sign"), *hw = add(m, "storage.hwkey");
    int scheme = (int)strcspn(dc->device_key, ":");
    uint8_t pub[BW_P256_PUB_LEN], chal[32], h[BW_SHA256_LEN], sig[BW_P256_SIG_LEN];
    struct bwh_devkey *k = NULL;
    struct bw_ec_key ek;
    bw_err rc;

    bw_ec_key_init(&ek);
    rc = bwh_devkey_open(dc->device_key, &k);
    if (!rc)
        rc = bwh_devkey_public(k, pub);
    if (rc) {
        say(c, "The %.*s device key cannot be opened: %s%s%s.", scheme, dc->device_key,
            bw_strerror(rc), k && *bwh_devkey_detail(k) ? ": " : "", k ? bwh_devkey_detail(k) : "");
        goto out;
    }
    if ((rc = bw_random(chal, sizeof(chal))) || (rc = bw_sha256(chal, sizeof(chal), h))) {
        say(c, "no random challenge: %s.", bw_strerror(rc));
        c->res = AUDIT_ERROR;
        goto out;
    }
    rc = bwh_devkey_sign(k, h, sig);
    if (!rc)
        rc = bw_ec_set_pub(&ek, pub, sizeof(pub));
    if (!rc)
        rc = bw_ec_verify(&ek, h, sig, sizeof(sig));
    if (rc) {
        say(c, "The %.*s device key does not sign a challenge that its public key verifies: %s%s%s.",
            scheme, dc->device_key, bw_strerror(rc), *bwh_devkey_detail(k) ? ": " : "",
            bwh_devkey_detail(k));
        goto out;
    }
    bw_hex(u->pubhex, pub, sizeof(pub));
    u->have_key = 1;
    say(c, "The %.*s device key signed a random challenge; the signature verifies.", scheme,
        dc->device_key);
    if (!u->have_cert) {
        say(c, "The device certificate %s cannot be read.", dc->device_cert);
        goto out;
    }
    if (memcmp(pub, u->cert_pub, sizeof(pub))) {
        say(c, "It is NOT the key of the device certificate %s.", dc->device_cert);
        goto out;
    }
    say(c, "It is the key of the device certificate (%s).", u->id);
    c->res = AUDIT_PASS;
out:
    if (c->res != AUDIT_PASS) {
        say(hw, "The device key did not sign through its backend (key.sign).");
        hw->res = c->res;
    } else if (!strncmp(dc->device_key, "tpm:", 4) || !strncmp(dc->device_key, "pkcs11:", 7)) {
        say(hw, "The device key lives in a %s and signed through it.",
            dc->device_key[0] == 't' ? "TPM 2.0" : "PKCS#11 token");
        hw->res = AUDIT_PASS;
    } else {
        say(hw, "The device key is a file sealed under the storage key; whether a hardware "
                "root of trust protects that key is the maker's claim.");
        hw->res = AUDIT_MANUAL;
    }
    bw_ec_key_clear(&ek);
    bwh_devkey_close(k);
}

/* ---- 27402 5.2.5 (FIPS 140 acceptance indicator), 5.4, 5.5: the module ---- */

/* Method: the mode this run is in (device.conf's crypto_mode, or
 * BULWARK_CRYPTO_MODE), which has already loaded the module and run its
 * self-tests, as bwh_crypto_module_info reports it; the certificate is the
 * maker's declaration (fips_certificate). Pass needs approved mode, the
 * provider active, its self-test passed and a declared certificate;
 * without a certificate it is the maker's to show (manual); default mode
 * is not applicable (the indicator is not claimed). */
static void check_crypto_module(struct audit_model *m, const struct bwh_device_conf *dc)
{
    struct audit_check *c = add(m, "crypto.module");
    struct bwh_crypto_module mod;
    char where[600];
    const char *outside = "";

    bwh_crypto_module_info(&mod);
    say(c, "Cryptographic module: %s %s, provider %s, self-test %s; crypto_mode = %s.", mod.name,
        mod.version, mod.status, mod.selftest, mod.mode);
    if (dc) {
        /* which module holds each key (the URIs are parsed, not opened:
         * key.sign opens the device key) */
        int dk = bwh_key_module(dc->device_key, where, sizeof(where));

        say(c, "Device key: %s.", where);
        int sk = bwh_key_module(dc->storage_key, where, sizeof(where));

        say(c, "Storage key: %s.", where);
        outside = dk != 1 && sk != 1 ? "the device key and the storage key"
                  : dk != 1          ? "the device key"
                  : sk != 1          ? "the storage key"
                                     : "";
    }
    if (strcmp(mod.mode, "approved")) {
        /* not applicable rather than failed: the indicator is one way to
         * meet 27402's data protection, taken only when the maker sets the
         * mode; the storage and transit rows are checked either way */
        say(c, "Not claimed: in default mode every algorithm of OpenSSL's default provider is "
               "reachable, which is not a validated module (crypto_mode = approved claims it, "
               "docs/fips.md).");
        c->res = AUDIT_NA;
        return;
    }
    say(c, "Only approved algorithms are reachable (ECDSA P-256/SHA-256, SHA-2, AES-256-GCM "
           "with 96-bit IVs, HKDF, PBKDF2-HMAC-SHA256, the provider's DRBG) for storage "
           "(EN 303 645 5.4) and communication (5.5).");
    if (*outside)
        say(c, "Held outside a hardware module: %s (FIPS 140 Level 3 keeps keys in one: "
               "a pkcs11: or tpm: URI, docs/fips.md).", outside);
    if (strcmp(mod.status, "active") || strcmp(mod.selftest, "passed")) {
        say(c, "The provider is not active with a passed self-test.");
        return;
    }
    if (!m->prof->fips_certificate[0]) {
        say(c, "The profile declares no certificate for this module (fips_certificate): "
               "approved mode without a validated module is not the 27402 5.2.5 indicator.");
        c->res = AUDIT_MANUAL;
        return;
    }
    say(c, "Certificate declared by the maker: %s.", m->prof->fips_certificate);
    c->res = AUDIT_PASS;
}

/* ---- 27402 5.2.6.1.4 (default keys), 5.4-4: the device certificate ---- */

static void check_cert(struct audit_model *m, const struct bwh_device_conf *dc, const struct unit *u,
                       const struct reg *g)
{
    struct audit_check *c = add(m, "identity.cert");
    const struct reg_rec *mine;
    uint64_t now = (uint64_t)time(NULL);
    size_t i, shared = 0;

    if (!u->have_cert) {
        say(c, "The device certificate %s cannot be read.", dc->device_cert);
        return;
    }
    say(c, "Certificate %s for %s, sha256:%.16s..., valid until %" PRIu64 ".", dc->device_cert,
        u->id, u->certfpr, u->not_after);
    if (now < u->not_before || now > u->not_after) {
        say(c, "It is not valid now.");
        return;
    }
    if (!g->loaded) {
        say(c, "%s", *g->err ? g->err
                             : "No provisioning registry (provisioning_registry): whether the key is "
                               "unique to this unit cannot be checked.");
        c->res = AUDIT_ERROR;
        return;
    }
    mine = reg_find(g, u->id);
    if (!mine || strcmp(mine->fpr, u->certfpr)) {
        say(c, "The registry holds %s for %s.", mine ? "another certificate" : "no record",
            u->id);
        return;
    }
    for (i = 0; i < g->n; i++)
        if (&g->r[i] != mine && *g->r[i].pub && !strcmp(g->r[i].pub, mine->pub)) {
            say(c, "Unit %s has the same key (a default key shared across units).", g->r[i].id);
            shared++;
        }
    if (shared)
        return;
    say(c, "The registry of %zu unit%s holds this certificate for %s and no other unit shares "
           "its key: the key was made for this unit at provisioning.", g->n, g->n == 1 ? "" : "s",
        u->id);
    c->res = AUDIT_PASS;
}

/* ---- 5.3-7, 5.3-10: the release key, pinned ---- */

static void check_release_key(struct audit_model *m, const struct bwh_device_conf *dc)
{
    struct audit_check *c = add(m, "update.release_key");
    uint8_t der[200], d[BW_SHA256_LEN];
    char fp[65];
    size_t dlen = 0;
    struct bw_ec_key k;
    struct stat st;
    bw_err rc;

    bw_ec_key_init(&k);
    rc = bwh_load_key(dc->release_pub, 0, &k);
    if (rc) {
        say(c, "release_pub %s: %s.", dc->release_pub, bw_strerror(rc));
        goto out;
    }
    say(c, "release_pub %s is a P-256 public key (ES256 signatures).", dc->release_pub);
    if (k.has_priv) {
        say(c, "It holds a PRIVATE key: the signing key must not be on the device.");
        goto out;
    }
    if (stat(dc->release_pub, &st) || (st.st_mode & 022)) {
        say(c, "It can be replaced by other users (mode %03o).", (unsigned)(st.st_mode & 0777));
        goto out;
    }
    if (bw_ec_export(&k, 0, 0, der, sizeof(der), &dlen) || bw_sha256(der, dlen, d)) {
        say(c, "Its fingerprint cannot be computed.");
        c->res = AUDIT_ERROR;
        goto out;
    }
    bw_hex(fp, d, sizeof(d));
    say(c, "Its fingerprint is sha256:%s.", fp);
    if (!*m->prof->release_key_sha256) {
        say(c, "The profile pins no release key (release_key_sha256): which key the maker signs "
               "with cannot be checked.");
        c->res = AUDIT_ERROR;
        goto out;
    }
    if (strcmp(fp, m->prof->release_key_sha256)) {
        say(c, "It is NOT the release key the profile pins (sha256:%s): it was replaced.",
            m->prof->release_key_sha256);
        goto out;
    }
    say(c, "It is the key the profile pins.");
    c->res = AUDIT_PASS;
out:
    bw_ec_key_clear(&k);
}

/* ---- 5.3-2, 5.3-9, 5.7-1: the installed image, its counter, its bytes ---- */

/* SHA-256 of the first size bytes of a slot. */
static bw_err hash_slot(const struct bw_flash *f, uint64_t size, uint8_t out[BW_SHA256_LEN])
{
    struct bw_sha256 h;
    uint8_t *buf = bwh_malloc(65536);
    uint64_t off;
    bw_err rc = BW_E_NOMEM;

    if (!buf)
        return rc;
    rc = size > f->size ? BW_E_SIZE : bw_sha256_init(&h);
    for (off = 0; !rc && off < size; off += 65536) {
        size_t n = size - off < 65536 ? (size_t)(size - off) : 65536;

        rc = f->read(f->ctx, off, buf, n);
        if (!rc)
            rc = bw_sha256_update(&h, buf, n);
    }
    if (!rc)
        rc = bw_sha256_final(&h, out);
    else if (size <= f->size)
        bw_sha256_abort(&h);
    bwh_free(buf);
    return rc;
}

/* Method (5.7-1): the slot that boots next (the trial slot when one is
 * pending, else the active one) is read back in full and hashed; the
 * digest must be the image digest of the manifest it was installed from,
 * which the boot state kept. A byte changed after install fails here. */
static void check_slot(struct audit_model *m, struct bwh_device *d)
{
    struct audit_check *c = add(m, "boot.slot");
    const struct bw_bootstate *st = &d->u.st;
    uint8_t s = st->trial != BW_SLOT_NONE ? st->trial : st->active, got[BW_SHA256_LEN];
    char hx[65], want[65];
    bw_err rc;

    if (s > 1 || st->slot_sequence[s] == BW_SEQ_EMPTY) {
        say(c, "No verified image in the slot that boots next.");
        return;
    }
    rc = hash_slot(s ? &d->b.f : &d->a.f, st->slot_size[s], got);
    if (rc) {
        say(c, "slot %c cannot be read: %s.", 'a' + s, bw_strerror(rc));
        c->res = AUDIT_ERROR;
        return;
    }
    bw_hex(hx, got, sizeof(got));
    bw_hex(want, st->slot_digest[s], BW_SHA256_LEN);
    if (memcmp(got, st->slot_digest[s], BW_SHA256_LEN)) {
        say(c, "Slot %c, which boots next, was modified after it was verified and installed: its "
               "%" PRIu64 " bytes re-hash to sha256:%.16s..., its installed manifest says "
               "sha256:%.16s....", 'a' + s, st->slot_size[s], hx, want);
        return;
    }
    say(c, "Slot %c, which boots next, re-hashes (%" PRIu64 " bytes) to the image digest of its "
           "installed manifest, sha256:%.16s....", 'a' + s, st->slot_size[s], want);
    c->res = AUDIT_PASS;
}

/* Limits of the gateway's answers to the audit: a page of releases is at
 * most 1,000 objects of a few hundred bytes. */
#define GW_PAGE 1000
#define GW_PAGE_BYTES ((uint64_t)4 << 20)
#define GW_PAGES_MAX 100
#define GW_TOKEN_MAX 1024

/* The operator token in path: one line, printable, without whitespace. */
static bw_err read_token(const char *path, char *tok, size_t cap, const char **why)
{
    FILE *f = fopen(path, "r");
    size_t n;
    bw_err rc = BW_E_IO;

    *why = "cannot be read";
    if (!f)
        return rc;
    n = fread(tok, 1, cap - 1, f);
    rc = BW_E_FORMAT;
    if (ferror(f) || (n == cap - 1 && fgetc(f) != EOF)) {
        *why = ferror(f) ? "cannot be read" : "is longer than a token";
        goto out;
    }
    tok[n] = 0;
    while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
        tok[--n] = 0;
    *why = "holds no token (one line of printable characters)";
    if (!n)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (tok[i] <= ' ' || tok[i] > '~')
            goto out;
    rc = BW_OK;
out:
    fclose(f);
    return rc;
}

/* GET URL/api/v1/releases through the operator API, paged with offset and
 * limit until a short page, into one array (*out). Every way it cannot be
 * read is said in c and returns non-zero: the check is then an error. */
static int gateway_releases(struct audit_check *c, const char *url, const char *token_path,
                            const char *cacert, json_t **out)
{
    struct bwh_net_limits lim;
    char tok[GW_TOKEN_MAX + 1], err[400], full[2048];
    const char *why;
    json_t *all = json_array();
    size_t ulen = strlen(url);
    int bad = 1;

    *out = NULL;
    while (ulen && url[ulen - 1] == '/')
        ulen--; /* https://HOST:PORT/ and https://HOST:PORT name the same API */
    bwh_net_limits_default(&lim);
    lim.connect_s = 10;
    lim.total_s = 60;
    lim.body_max = GW_PAGE_BYTES;
    lim.redirects_max = 0; /* the operator API does not redirect */
    if (!all) {
        say(c, "out of memory");
        return 1;
    }
    if (!token_path) {
        say(c, "--gateway needs --gateway-token-file (an operator token, viewer role).");
        goto out;
    }
    if (read_token(token_path, tok, sizeof(tok), &why)) {
        say(c, "The gateway token file %s %s.", token_path, why);
        goto out;
    }
    for (unsigned page = 0;; page++) {
        char *body = NULL;
        size_t len, n;
        json_t *arr;
        json_error_t je;
        bw_err rc;

        if (page == GW_PAGES_MAX) {
            say(c, "The gateway lists more than %u pages of %u releases.", GW_PAGES_MAX, GW_PAGE);
            goto out;
        }
        if ((size_t)snprintf(full, sizeof(full), "%.*s/api/v1/releases?offset=%u&limit=%u",
                             (int)ulen, url, page * GW_PAGE, GW_PAGE) >= sizeof(full)) {
            say(c, "--gateway: the URL is too long.");
            goto out;
        }
        rc = bwh_fetch_get(full, cacert, tok, &lim, &body, &len, err, sizeof(err));
        if (rc) {
            say(c, "Could not ask the gateway for its releases (%s): %s.", full, err);
            goto out;
        }
        arr = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        bwh_free(body);
        if (!json_is_array(arr)) {
            say(c, "%s: not the gateway's release list (a JSON array): %s.", full,
                arr ? "another JSON value" : je.text);
            json_decref(arr);
            goto out;
        }
        n = json_array_size(arr);
        if (json_array_extend(all, arr)) {
            json_decref(arr);
            say(c, "out of memory");
            goto out;
        }
        json_decref(arr);
        if (n < GW_PAGE)
            break;
    }
    *out = all;
    all = NULL;
    bad = 0;
out:
    bw_wipe(tok, sizeof(tok));
    json_decref(all);
    return bad;
}

/* 5.3-8: the newest release the gateway offers for this device's class,
 * from the gateway's operator API (m->gateway_url) or a saved list (path). */
static void check_newest(struct audit_model *m, const struct bwh_device_conf *dc, uint64_t installed,
                         const char *path)
{
    struct audit_check *c = add(m, "update.newest");
    json_t *root = NULL;
    json_error_t je;
    char vid[37], cid[37], name[65];
    const char *from = m->gateway_url ? m->gateway_url : path;
    uint64_t newest = 0;

    je.text[0] = 0;
    bwh_uuid_format(vid, dc->vendor_id);
    bwh_uuid_format(cid, dc->class_id);
    if (m->gateway_url) {
        if (gateway_releases(c, m->gateway_url, m->gateway_token, m->gateway_cacert, &root)) {
            c->res = AUDIT_ERROR;
            return;
        }
    } else {
        root = json_load_file(path, 0, &je);
    }
    if (audit_releases_newest(root, vid, cid, &newest, name, sizeof(name))) {
        say(c, "%s: not the gateway's release list: %s.", from, root ? "no releases" : je.text);
        c->res = AUDIT_ERROR;
        json_decref(root);
        return;
    }
    if (!newest) {
        say(c, "%s lists no release for this device's vendor and class.", from);
        c->res = AUDIT_ERROR;
    } else if (installed < newest) {
        say(c, "Installed sequence %" PRIu64 "; the gateway offers sequence %" PRIu64 " (%s): the "
               "device is behind.", installed, newest, name);
    } else {
        say(c, "Installed sequence %" PRIu64 " is the newest the gateway offers (%s).", installed,
            from);
        c->res = AUDIT_PASS;
    }
    json_decref(root);
}

static void check_installed(struct audit_model *m, const struct bwh_device_conf *dc,
                            const char *conf_path)
{
    struct audit_check *c = add(m, "update.installed");
    struct bwh_device *d = bwh_calloc(1, sizeof(*d));
    const char *what = NULL, *rel = m->releases_path ? m->releases_path : m->prof->releases;
    const struct bw_bootstate *st;
    uint8_t s;
    char hex[17];
    bw_err rc;

    if (!d) {
        say(c, "out of memory");
        c->res = AUDIT_ERROR;
        return;
    }
    rc = bwh_device_open(d, conf_path, 0, 0, &what);
    if (rc) {
        say(c, "cannot open the device (%s): %s.", what ? what : conf_path, bw_strerror(rc));
        say(add(m, "boot.slot"), "cannot open the device: %s.", bw_strerror(rc));
        bwh_free(d);
        return;
    }
    st = &d->u.st;
    s = st->trial != BW_SLOT_NONE ? st->trial : st->active;
    say(c, "Anti-rollback counter (highest accepted sequence): %" PRIu64 ".",
        st->highest_sequence);
    if (s > 1 || st->slot_sequence[s] == BW_SEQ_EMPTY) {
        say(c, "No verified package is installed (slot %c is empty).", 'a' + (s & 1));
    } else {
        bw_hex(hex, st->slot_digest[s], 8);
        say(c, "Slot %c holds sequence %" PRIu64 ", %" PRIu64 " bytes, sha256:%s..., written only "
               "after its signature and every chunk verified%s.",
            'a' + s, st->slot_sequence[s], st->slot_size[s], hex,
            st->trial == s ? " (trial boot pending)" : "");
        if (st->highest_sequence < st->slot_sequence[s] || st->highest_sequence == 0)
            say(c, "The counter is below the installed sequence.");
        else
            c->res = AUDIT_PASS;
    }
    check_slot(m, d);
    if (s <= 1 && st->slot_sequence[s] != BW_SEQ_EMPTY) {
        m->installed = st->slot_sequence[s];
        m->has_installed = 1;
    }
    if (*rel || m->gateway_url)
        check_newest(m, dc, s <= 1 && st->slot_sequence[s] != BW_SEQ_EMPTY ? st->slot_sequence[s] : 0,
                     rel);
    bwh_device_close(d);
    bwh_free(d);
}

/* ---- 8259A state awareness, CRA (2)(l): the security log ---- */

struct log_walk {
    uint64_t seq;
    char subject[BWH_LOG_TEXT_MAX + 1], outcome[BWH_LOG_TEXT_MAX + 1];
    struct bwh_log_record first; /* the first event kept */
    int have_first;
    const char *unit;           /* this unit's id */
    uint64_t provisioned;       /* seq of its successful provisioning, 0: none */
};

/* Remembers the first event, this unit's provisioning and the last
 * successful install. */
static bw_err note_record(void *ctx, const struct bwh_log_record *r)
{
    struct log_walk *w = ctx;

    if (r->type != BWH_LOG_EVENT)
        return BW_OK;
    if (!w->have_first) {
        w->first = *r;
        w->have_first = 1;
    }
    if (!w->provisioned && !strcmp(r->event, "provision") && !strcmp(r->outcome, "ok") &&
        w->unit && !strcmp(r->subject, w->unit))
        w->provisioned = r->seq;
    if (!strcmp(r->event, "install") && !strncmp(r->outcome, "ok ", 3)) {
        w->seq = r->seq;
        memcpy(w->subject, r->subject, sizeof(w->subject));
        memcpy(w->outcome, r->outcome, sizeof(w->outcome));
    }
    return BW_OK;
}

/* The verified log's record of the last install, as evidence beside the
 * boot state (a rotated-out record is no failure: the boot state decides). */
static void install_evidence(struct audit_model *m, const struct log_walk *w)
{
    struct audit_check *c = (struct audit_check *)audit_find_check(m, "update.installed");

    if (!c)
        return;
    if (w->seq)
        say(c, "The verified security log records it at seq %" PRIu64 ": install %s: %s.",
            w->seq, w->subject, w->outcome);
    else
        say(c, "The security log holds no successful install record.");
}

/* Method: the chain and its signed checkpoints verify under the device
 * key, and the log is anchored to provisioning: while its first segment
 * is kept, its first event is this unit's provisioning (a wiped and
 * restarted log begins with something else). */
static void check_log(struct audit_model *m, const struct bwh_device_conf *dc, const struct unit *u)
{
    struct audit_check *c = add(m, "log.chain");
    struct bwh_devkey *k = NULL;
    struct bwh_log_vfs v;
    struct bwh_log_report rep;
    struct log_walk *w = bwh_calloc(1, sizeof(*w));
    uint8_t pub[BW_P256_PUB_LEN];
    int have;
    bw_err rc;

    if (!w) {
        say(c, "out of memory");
        c->res = AUDIT_ERROR;
        return;
    }
    have = bwh_devkey_open(dc->device_key, &k) == BW_OK && bwh_devkey_public(k, pub) == BW_OK;
    bwh_devkey_close(k);
    rc = bwh_log_posix_open(&v, dc->seclog, 0, 0);
    if (rc) {
        say(c, "security log %s: %s: the log is not enabled.", dc->seclog, bw_strerror(rc));
        goto out;
    }
    memset(&rep, 0, sizeof(rep));
    w->unit = u->have_cert ? u->id : NULL;
    rc = bwh_log_verify(&v, have ? pub : NULL, have ? 0 : BWH_LOG_NO_SIGS, note_record, w, &rep);
    bwh_log_posix_close(&v);
    if (rc) {
        say(c, "security log %s does not verify: %s%s%s.", dc->seclog, bw_strerror(rc),
            rep.detail[0] ? ": " : "", rep.detail);
        goto out;
    }
    say(c, "security log %s: records %" PRIu64 "..%" PRIu64 " chain, %" PRIu64
           " checkpoints %s.", dc->seclog, rep.first_seq, rep.last_seq, rep.checkpoints,
        have ? "signed by the device key verify" : "(no device key: signatures not checked)");
    install_evidence(m, w);
    if (!rep.records || !have) {
        say(c, "%s", !rep.records ? "The log is empty." : "Nothing is signed yet.");
        goto out;
    }
    if (rep.first_segment <= 1) { /* segments count from 1 */
        if (!w->provisioned) {
            say(c, "Its first segment holds no provisioning of unit %s (the first event is seq "
                   "%" PRIu64 ", %s %s: %s): the log was wiped and restarted after provisioning.",
                u->have_cert ? u->id : "?", w->have_first ? w->first.seq : 0,
                w->have_first ? w->first.event : "-", w->have_first ? w->first.subject : "-",
                w->have_first ? w->first.outcome : "-");
            goto out;
        }
        say(c, "It is anchored to the provisioning of %s (seq %" PRIu64 ").", u->id,
            w->provisioned);
    } else {
        say(c, "Segments before %" PRIu64 " were rotated out; the kept ones link to them.",
            rep.first_segment);
    }
    c->res = AUDIT_PASS;
out:
    bwh_free(w);
}

/* ---- declarations in the profile and the agent's configuration ---- */

/* The keys of bulwark-agent's configuration the checks read; "" when a
 * key is absent. BW_OK, or the error reading the file. */
struct agent_view {
    char policy[32], gateway[AUDIT_STR], ca_cert[AUDIT_STR];
    char poll_max[24], retry_min[24], retry_max[24], jitter[24];
};

static bw_err agent_view(const char *path, struct agent_view *v)
{
    static const struct {
        const char *key;
        size_t off, cap;
    } keys[] = {
#define K(f) offsetof(struct agent_view, f), sizeof(((struct agent_view *)0)->f)
        {"policy", K(policy)},       {"gateway", K(gateway)},     {"ca_cert", K(ca_cert)},
        {"poll_max", K(poll_max)},   {"retry_min", K(retry_min)}, {"retry_max", K(retry_max)},
        {"jitter", K(jitter)},
#undef K
    };
    uint8_t *buf = NULL;
    char *line, *save = NULL, *k, *val;
    size_t len = 0, i;
    bw_err rc;

    memset(v, 0, sizeof(*v));
    rc = bwh_read_file(path, 1 << 20, &buf, &len);
    if (rc)
        return rc;
    for (line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (bwh_conf_split(line, &k, &val) != 1)
            continue;
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (!strcmp(k, keys[i].key))
                snprintf((char *)v + keys[i].off, keys[i].cap, "%s", val);
    }
    bwh_free(buf);
    return BW_OK;
}

/* An agent setting, or its default when absent; -1 when not a number. */
static long setting(const char *v, long def)
{
    char *end;
    long n;

    if (!*v)
        return def;
    n = strtol(v, &end, 10);
    return *end || n < 0 ? -1 : n;
}

/* 5.3-5 and 5.9-3 from the agent's own configuration. */
static void check_agent_timing(struct audit_model *m, const struct agent_view *v)
{
    struct audit_check *poll = add(m, "update.poll"), *bo = add(m, "agent.backoff");
    long pmax = setting(v->poll_max, 86400), rmin = setting(v->retry_min, 5);
    long rmax = setting(v->retry_max, 900), jit = setting(v->jitter, 10);

    say(poll, "%s: the agent checks in when it starts and then at the gateway's interval, at "
              "most every %ld s (poll_max).", m->prof->agent_config, pmax);
    poll->res = pmax > 0 && pmax <= 7 * 86400 ? AUDIT_PASS : AUDIT_FAIL;
    if (poll->res == AUDIT_FAIL)
        say(poll, "poll_max is not a period of at most a week.");
    say(bo, "%s: retries wait %ld s doubling up to %ld s, each wait spread by %ld%%.",
        m->prof->agent_config, rmin, rmax, jit);
    bo->res = rmin >= 1 && rmax >= rmin && jit >= 1 ? AUDIT_PASS : AUDIT_FAIL;
    if (bo->res == AUDIT_FAIL)
        say(bo, "Without a growing, spread-out retry a fleet reconnects in step and overloads "
                "the network.");
}

/* Method: with the agent's own configuration (agent_config in the
 * profile), the update policy it really follows (5.3-4, 5.3-6: automatic
 * or notify pass, manual fails; a profile that declares another policy
 * fails) and how it reaches the gateway (5.5-1: https, a CA that is a
 * certificate file when one is named; the agent always adds its device
 * certificate, mTLS). Without it, both are the maker's declaration. A
 * device without a network interface is not updated by the agent. */
static void check_agent(struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    struct audit_check *pol = add(m, "update.policy"), *tls = add(m, "comms.agent_tls");
    struct agent_view v;
    const char *policy;
    uint8_t *ca = NULL;
    size_t calen = 0;
    bw_err rc;

    if (!audit_profile_feature(p, "network")) {
        say(pol, "No network interface: the agent does not update this device.");
        say(tls, "No network interface.");
        pol->res = tls->res = AUDIT_NA;
        return;
    }
    if (!*p->agent_config) {
        say(tls, "No agent_config in the profile: the agent's transport is the maker's claim.");
        tls->res = AUDIT_MANUAL;
        say(pol, "No agent_config in the profile: the update policy%s%s is the maker's claim.",
            *p->update_policy ? " declared, " : "", p->update_policy);
        pol->res = !strcmp(p->update_policy, "manual") ? AUDIT_FAIL : AUDIT_MANUAL;
        return;
    }
    rc = agent_view(p->agent_config, &v);
    if (rc) {
        say(pol, "%s: %s.", p->agent_config, bw_strerror(rc));
        say(tls, "%s: %s.", p->agent_config, bw_strerror(rc));
        pol->res = tls->res = AUDIT_ERROR;
        return;
    }
    check_agent_timing(m, &v);
    policy = *v.policy ? v.policy : "automatic"; /* the agent's default */
    say(pol, "%s: policy %s%s.", p->agent_config, policy, *v.policy ? "" : " (the default)");
    if (*p->update_policy && strcmp(p->update_policy, policy)) {
        say(pol, " The profile declares %s.", p->update_policy);
        pol->res = AUDIT_FAIL;
    } else {
        pol->res = strcmp(policy, "manual") ? AUDIT_PASS : AUDIT_FAIL;
    }
    if (strncmp(v.gateway, "https://", 8) || !v.gateway[8]) {
        say(tls, "%s: gateway '%s' is not an https:// URL.", p->agent_config, v.gateway);
        tls->res = AUDIT_FAIL;
        return;
    }
    if (*v.ca_cert) {
        rc = bwh_read_file(v.ca_cert, 1 << 20, &ca, &calen);
        if (rc || !calen || !memmem(ca, calen, "-----BEGIN CERTIFICATE-----", 27)) {
            say(tls, "%s: ca_cert %s is not a readable PEM certificate.", p->agent_config,
                v.ca_cert);
            bwh_free(ca);
            tls->res = AUDIT_FAIL;
            return;
        }
        bwh_free(ca);
    }
    say(tls, "%s: TLS to %s, server checked against %s, device certificate presented (mTLS), "
             "one short-lived device token per connection.",
        p->agent_config, v.gateway, *v.ca_cert ? v.ca_cert : "the system CAs");
    tls->res = AUDIT_PASS;
}

/* A profile value with sample or placeholder text in it. */
static int placeholder(const char *key, const char *v)
{
    return audit_profile_placeholder(key, v) != NULL;
}

static void check_profile(struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    struct audit_check *c;
    long days = 0;
    size_t i, weak = 0;

    c = add(m, "profile.justified");
    for (i = 0; i < p->nans; i++) {
        const char *w;

        if (p->ans[i].state == AUDIT_ANS_IMPLEMENTED || !(w = audit_weak_reason(p->ans[i].why)))
            continue;
        say(c, "%s: '%.80s': %s.", p->ans[i].id, p->ans[i].why, w);
        weak++;
    }
    say(c, "%zu requirement%s answered not applicable or not implemented; %zu without a reason "
           "that says something.", p->nna, p->nna == 1 ? "" : "s", weak);
    c->res = weak ? AUDIT_FAIL : AUDIT_PASS;

    c = add(m, "docs.support");
    if (!*p->support_end || audit_days_until(p->support_end, &days)) {
        say(c, "The profile declares no support period (support_end).");
    } else if (days < 0) {
        say(c, "Security updates ended on %s.", p->support_end);
    } else {
        say(c, "Security updates until %s (%ld days from now).", p->support_end, days);
        c->res = AUDIT_PASS;
    }

    c = add(m, "docs.contact");
    if (strncmp(p->vuln_contact, "mailto:", 7) && strncmp(p->vuln_contact, "https://", 8) &&
        strncmp(p->vuln_contact, "tel:", 4))
        say(c, "vuln_contact is missing or not a mailto:, https: or tel: URI.");
    else if (strncmp(p->policy_url, "https://", 8))
        say(c, "policy_url is missing or not https.");
    else if (placeholder("vuln_contact", p->vuln_contact) ||
             placeholder("policy_url", p->policy_url))
        say(c, "vuln_contact %s / policy_url %s is the template's sample, not the maker's.",
            p->vuln_contact, p->policy_url);
    else if (!p->ack_days || !p->status_days)
        say(c, "ack_days and status_days (disclosure timescales) are not declared.");
    else {
        say(c, "Reports to %s; policy %s; acknowledged within %u working days, status every %u "
               "days.", p->vuln_contact, p->policy_url, p->ack_days, p->status_days);
        c->res = AUDIT_PASS;
    }

    c = add(m, "docs.identity");
    if (!*p->product || !*p->model || !*p->manufacturer) {
        say(c, "product, model and manufacturer must all be declared.");
    } else if (placeholder("product", p->product) || placeholder("model", p->model) ||
               placeholder("manufacturer", p->manufacturer)) {
        say(c, "%s %s by %s is the template's sample product, not the maker's.", p->product,
            p->model, p->manufacturer);
    } else {
        say(c, "%s %s by %s, hardware %s, software %s.", p->product, p->model, p->manufacturer,
            *p->hw_version ? p->hw_version : "?", *p->sw_version ? p->sw_version : "?");
        c->res = AUDIT_PASS;
    }

    c = add(m, "docs.sensors");
    say(c, "Declared sensing capabilities: %s; that the user documentation lists them is the "
           "maker's claim.", *p->sensors ? p->sensors : "none");
    c->res = AUDIT_MANUAL;

    c = add(m, "debug.declared");
    say(c, "Debug interfaces: %s; disabled in software: %s (the maker's declaration).",
        *p->debug_interfaces ? p->debug_interfaces : "none", p->debug_disabled ? "yes" : "no");
    c->res = p->debug_disabled ? AUDIT_MANUAL : AUDIT_FAIL;

    if (*p->setup_guide) {
        c = add(m, "docs.guidance");
        if (!strncmp(p->setup_guide, "https://", 8)) {
            say(c, "The set-up guide is published at %s (not fetched: the maker's claim).",
                p->setup_guide);
            c->res = AUDIT_MANUAL;
        } else {
            uint8_t *buf = NULL;
            size_t len = 0;

            if (bwh_read_file(p->setup_guide, 16u << 20, &buf, &len) || !len) {
                say(c, "The set-up guide %s cannot be read.", p->setup_guide);
                c->res = AUDIT_ERROR;
            } else if (!memmem(buf, len, "bulwark audit", 13)) {
                say(c, "The set-up guide %s does not tell the user how to check the set-up "
                       "(bulwark audit).", p->setup_guide);
            } else {
                say(c, "The set-up guide %s (%zu bytes) tells the user how to check the set-up "
                       "with bulwark audit.", p->setup_guide, len);
                c->res = AUDIT_PASS;
            }
            bwh_free(buf);
        }
    }
    check_agent(m);
}

static void check_risk(struct audit_model *m)
{
    struct audit_check *c = add(m, "risk.register");
    struct audit_register r = {0};
    char err[300];
    uint8_t *buf = NULL;
    size_t len = 0;
    bw_err rc;

    if (!*m->prof->risk_register) {
        say(c, "The profile names no risk register (risk_register).");
        return;
    }
    rc = bwh_read_file(m->prof->risk_register, 4 << 20, &buf, &len);
    if (rc) {
        say(c, "%s: %s.", m->prof->risk_register, bw_strerror(rc));
        c->res = AUDIT_ERROR;
        return;
    }
    rc = audit_register_parse(&r, (const char *)buf, len, err, sizeof(err));
    if (!rc)
        rc = audit_register_validate(&r, m->cat, err, sizeof(err));
    bwh_free(buf);
    if (rc) {
        say(c, "%s: %s.", m->prof->risk_register, err);
    } else {
        say(c, "%s: %zu risks assessed (likelihood x impact, treatment, owner, review date).",
            m->prof->risk_register, r.n);
        c->res = r.n ? AUDIT_PASS : AUDIT_FAIL;
        if (!m->reg && (m->reg = bwh_malloc(sizeof(*m->reg))) != NULL) {
            *m->reg = r; /* the OSCAL assessment results carry the risks */
            return;
        }
    }
    audit_register_free(&r);
}

/* The device checks that could not look: error, never a pass. */
static void device_unchecked(struct audit_model *m, const char *why)
{
    static const char *const names[] = {
        "cred.factory",  "cred.generated", "cred.kdf",           "cred.change",
        "cred.throttle", "storage.protect", "key.sign",          "storage.hwkey",
        "identity.cert", "update.release_key", "update.installed", "boot.slot",
        "log.chain",     "reset.erase",    "input.selftest"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct audit_check *c = add(m, names[i]);

        say(c, "%s", why);
        c->res = AUDIT_ERROR;
    }
}

/* ---- 5.13-1: the device's own input checks, exercised ---- */

/* Method (5.13-1): bulwark's parsers on this device, with this device's
 * release key, are given inputs an attacker would send to the update
 * interface, each with the refusal it must get: a package signed by
 * another key, the same envelope cut short and with a byte appended, a
 * length in a non-shortest CBOR head, nesting past the decoder's limit, a
 * chunk whose bytes are not the signed ones. Any accepted input fails the
 * row; all refused is evidence, not a pass: the product's own interfaces
 * are the maker's to answer (the row then takes the maker's answer). */
static void check_input(struct audit_model *m, const struct bwh_device_conf *dc)
{
    struct audit_check *c = add(m, "input.selftest");
    static const uint8_t v[16] = {1}, k16[16] = {2};
    uint8_t env[1024], chunk[4096], list[32], deep[40], nonmin[4] = {0x58, 0x01, 0x00, 0};
    struct bw_suit_build b;
    struct bw_ec_key dev, other;
    struct bw_suit s;
    struct bw_wr w;
    size_t n, i, used;
    int refused = 0, tried = 0;
    bw_err rc;

    bw_ec_key_init(&dev);
    bw_ec_key_init(&other);
    rc = bwh_load_key(dc->release_pub, 0, &dev);
    if (rc) {
        say(c, "The release key %s cannot be read (%s): the package parser cannot be "
               "exercised with it.", dc->release_pub, bw_strerror(rc));
        c->res = AUDIT_ERROR;
        goto out;
    }
    memset(chunk, 0x5a, sizeof(chunk));
    memset(&b, 0, sizeof(b));
    b.sequence = 1;
    b.vendor_id = v;
    b.class_id = k16;
    b.image_size = sizeof(chunk);
    b.with_chunks = 1;
    b.chunk_size = sizeof(chunk);
    bw_wr_init(&w, env, sizeof(env));
    if (bw_ec_generate(&other) || bw_sha256(chunk, sizeof(chunk), b.image_digest) ||
        bw_sha256(chunk, sizeof(chunk), list) ||
        bw_sha256(list, sizeof(list), b.chunk_list_digest) || bw_suit_build(&w, &b, &other) ||
        w.len >= sizeof(env)) {
        say(c, "The test package could not be built.");
        c->res = AUDIT_ERROR;
        goto out;
    }
    n = w.len;
#define REFUSE(what, expr, want)                                                          \
    do {                                                                                \
        bw_err r_ = (expr);                                                             \
        tried++;                                                                        \
        if (r_ == (want))                                                               \
            refused++;                                                                  \
        else                                                                            \
            say(c, "%s was not refused as it must be (%s, want %s).", what, bw_errname(r_), \
                bw_errname(want));                                                      \
    } while (0)
    REFUSE("A package signed by another key", bw_suit_parse(env, n, &dev, &s), BW_E_BADSIG);
    REFUSE("The envelope cut short", bw_cbor_wellformed(env, n - 1, 1, &used), BW_E_TRUNCATED);
    env[n] = 0;
    REFUSE("The envelope with a byte appended", bw_suit_parse(env, n + 1, &other, &s),
           BW_E_TRAILING);
    REFUSE("A length in a non-shortest CBOR head", bw_cbor_wellformed(nonmin, 3, 1, &used),
           BW_E_NONMINIMAL);
    for (i = 0; i < sizeof(deep); i++)
        deep[i] = 0x81; /* [[[[... */
    REFUSE("Nesting past the decoder's limit", bw_cbor_wellformed(deep, sizeof(deep), 1, &used),
           BW_E_DEPTH);
    if (bw_suit_parse(env, n, &other, &s) == BW_OK) {
        chunk[100] ^= 1;
        REFUSE("A chunk whose bytes are not the signed ones",
               bw_suit_chunk_check(&s, 0, list, 0, chunk, sizeof(chunk)), BW_E_CHUNK);
    } else {
        tried++;
        say(c, "The test package did not parse with its own key.");
    }
#undef REFUSE
    if (refused < tried) {
        say(c, "bulwark's input checks on this device accepted %d of %d hostile inputs.",
            tried - refused, tried);
        goto out;
    }
    say(c, "bulwark's parsers on this device, with its release key %s, refused all %d hostile "
           "inputs (another signer, truncated, trailing byte, non-shortest CBOR, deep nesting, "
           "a tampered chunk); the fuzz targets and their corpora are in CI. The product's own "
           "interfaces are the maker's to answer.", dc->release_pub, tried);
    c->res = AUDIT_MANUAL;
out:
    bw_ec_key_clear(&dev);
    bw_ec_key_clear(&other);
}

/* ---- CRA (issue 20): SBOMs, vulnerability status, advisories ---------- */

/* GET m->gateway_url + path with the operator token into *body (bwh_free);
 * non-zero, said in c, when it cannot be read or answers other than 200. */
static int gw_get(struct audit_check *c, const struct audit_model *m, const char *path,
                  size_t cap, char **body, size_t *len)
{
    struct bwh_net_limits lim;
    char tok[GW_TOKEN_MAX + 1], err[400], full[2048];
    const char *why, *url = m->gateway_url;
    size_t ulen = strlen(url);
    int bad = 1;

    *body = NULL;
    while (ulen && url[ulen - 1] == '/')
        ulen--;
    bwh_net_limits_default(&lim);
    lim.connect_s = 10;
    lim.total_s = 60;
    lim.body_max = cap;
    lim.redirects_max = 0;
    if (!m->gateway_token || read_token(m->gateway_token, tok, sizeof(tok), &why)) {
        say(c, "The gateway token file is missing or unusable.");
        goto out;
    }
    if ((size_t)snprintf(full, sizeof(full), "%.*s%s", (int)ulen, url, path) >= sizeof(full)) {
        say(c, "--gateway: the URL is too long.");
        goto out;
    }
    if (bwh_fetch_get(full, m->gateway_cacert, tok, &lim, body, len, err, sizeof(err))) {
        say(c, "Could not read %s: %s.", full, err);
        goto out;
    }
    bad = 0;
out:
    bw_wipe(tok, sizeof(tok));
    return bad;
}

static json_t *gw_get_json(struct audit_check *c, const struct audit_model *m, const char *path)
{
    char *body = NULL;
    size_t len = 0;
    json_t *o;

    if (gw_get(c, m, path, GW_PAGE_BYTES, &body, &len))
        return NULL;
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    bwh_free(body);
    if (!o)
        say(c, "%s: not JSON.", path);
    return o;
}

/*
 * Annex I Part II (1): every signed release the gateway offers names an
 * SBOM in its manifest, the gateway holds it, and what it serves has the
 * signed SHA-256 (a changed SBOM file on the gateway is caught here).
 */
static void check_cra_sbom(struct audit_model *m, const json_t *rels)
{
    struct audit_check *c = add(m, "cra.sbom");
    size_t i, bad = 0, n = 0;
    const json_t *r;

    json_array_foreach(rels, i, r) {
        const char *kind = json_string_value(json_object_get(r, "kind"));
        json_int_t id = json_integer_value(json_object_get(r, "id"));
        const char *name = json_string_value(json_object_get(r, "name"));
        char path[96], *body = NULL, hex[65];
        const char *want;
        uint8_t d[BW_SHA256_LEN];
        size_t len = 0;
        json_t *det;

        if (kind && strcmp(kind, "bulwark"))
            continue;
        n++;
        snprintf(path, sizeof(path), "/api/v1/releases/%" JSON_INTEGER_FORMAT, id);
        det = gw_get_json(c, m, path);
        if (!det) {
            c->res = AUDIT_ERROR;
            return;
        }
        want = json_string_value(json_object_get(det, "sbom_sha256"));
        if (!want) {
            say(c, "Release %s: its manifest names no SBOM.", name ? name : "?");
            bad++;
        } else if (!json_is_true(json_object_get(det, "sbom_stored"))) {
            say(c, "Release %s: the gateway holds no SBOM for it.", name ? name : "?");
            bad++;
        } else {
            snprintf(path, sizeof(path), "/api/v1/releases/%" JSON_INTEGER_FORMAT "/sbom", id);
            if (gw_get(c, m, path, 64u << 20, &body, &len)) {
                json_decref(det);
                c->res = AUDIT_ERROR;
                return;
            }
            if (bw_sha256((const uint8_t *)body, len, d) == BW_OK)
                bw_hex(hex, d, sizeof(d));
            else
                hex[0] = 0;
            bwh_free(body);
            if (strcmp(hex, want)) {
                say(c, "Release %s: the SBOM the gateway serves is not the one its manifest "
                       "signs (SHA-256 %s, signed %s).", name ? name : "?", hex, want);
                bad++;
            }
        }
        json_decref(det);
    }
    if (!n) {
        say(c, "The gateway offers no signed release.");
        c->res = AUDIT_ERROR;
    } else if (!bad) {
        say(c, "All %zu releases carry a signed SBOM digest and the gateway serves that SBOM.", n);
        c->res = AUDIT_PASS;
    }
}

/*
 * Annex I Part I (2)(a) and Part II (2): no known vulnerability left
 * exploitable. The audited device's release (its installed sequence) is
 * affected by none in the maker's VEX database, and the gateway counts no
 * device on an affected release.
 */
static void check_cra_vulns(struct audit_model *m, const json_t *db)
{
    struct audit_check *c = add(m, "cra.vulns");
    const json_t *status = json_object_get(db, "status"), *rels = json_object_get(db, "releases");
    const json_t *per, *s;
    const char *vid, *rn;
    size_t bad = 0, nv = 0;

    json_object_foreach((json_t *)status, vid, per) {
        int affects = 0;

        nv++;
        json_object_foreach((json_t *)per, rn, s) {
            const char *st = json_string_value(json_object_get(s, "status"));
            json_int_t q = json_integer_value(json_object_get(json_object_get(rels, rn),
                                                              "sequence"));

            if (!st || strcmp(st, "affected"))
                continue;
            affects = 1;
            if (m->has_installed && (uint64_t)q == m->installed) {
                say(c, "The device runs release %s (sequence %" PRIu64 "), affected by %s.", rn,
                    m->installed, vid);
                bad++;
            }
        }
        if (affects && m->gateway_url) {
            char path[200], *body = NULL;
            size_t len = 0;
            json_t *e;

            snprintf(path, sizeof(path), "/api/v1/exposure?vuln=%.128s", vid);
            if (gw_get(c, m, path, GW_PAGE_BYTES, &body, &len)) {
                c->res = AUDIT_ERROR;
                return;
            }
            e = json_loadb(body, len, 0, NULL);
            bwh_free(body);
            if (json_array_size(json_object_get(e, "devices"))) {
                say(c, "%zu device(s) of the fleet run a release affected by %s.",
                    json_array_size(json_object_get(e, "devices")), vid);
                bad++;
            }
            json_decref(e);
        }
    }
    if (!bad) {
        say(c, "%zu known vulnerabilit%s in the VEX database; %s.", nv, nv == 1 ? "y" : "ies",
            m->gateway_url ? "no device of the fleet and not this device runs an affected release"
                           : "this device does not run an affected release");
        c->res = m->has_installed || m->gateway_url ? AUDIT_PASS : AUDIT_ERROR;
        if (c->res == AUDIT_ERROR)
            say(c, "Neither the device's release nor the fleet could be looked at.");
    }
}

/* Annex I Part II (4): each vulnerability a release fixes has a published
 * advisory in the gateway's CSAF directory (index.txt names its id). */
static void check_cra_advisories(struct audit_model *m, const json_t *db)
{
    struct audit_check *c = add(m, "cra.advisories");
    const json_t *per, *s;
    const char *vid, *rn;
    char *idx = NULL;
    size_t len = 0, bad = 0, nf = 0;

    if (gw_get(c, m, "/.well-known/csaf/white/index.txt", 4u << 20, &idx, &len)) {
        say(c, "No CSAF directory on the gateway.");
        json_object_foreach(json_object_get(db, "status"), vid, per)
            json_object_foreach((json_t *)per, rn, s)
                if (json_string_value(json_object_get(s, "status")) &&
                    !strcmp(json_string_value(json_object_get(s, "status")), "fixed")) {
                    say(c, "%s is fixed in %s but no advisory is published.", vid, rn);
                    return; /* a fixed vulnerability without any directory: fail */
                }
        c->res = AUDIT_ERROR;
        return;
    }
    json_object_foreach(json_object_get(db, "status"), vid, per) {
        int fixed = 0;
        char low[160];
        size_t i;

        json_object_foreach((json_t *)per, rn, s)
            fixed |= json_string_value(json_object_get(s, "status")) &&
                     !strcmp(json_string_value(json_object_get(s, "status")), "fixed");
        if (!fixed)
            continue;
        nf++;
        for (i = 0; vid[i] && i + 1 < sizeof(low); i++)
            low[i] = (char)(vid[i] >= 'A' && vid[i] <= 'Z' ? vid[i] + 32 : vid[i]);
        low[i] = 0;
        if (!memmem(idx, len, low, strlen(low))) {
            say(c, "%s is fixed in a release but the gateway publishes no advisory for it.", vid);
            bad++;
        }
    }
    bwh_free(idx);
    if (!bad) {
        say(c, "Every fixed vulnerability (%zu) has a published CSAF advisory.", nf);
        c->res = AUDIT_PASS;
    }
}

static void check_cra(struct audit_model *m)
{
    json_t *db = NULL, *rels = NULL;
    json_error_t je;

    if (m->vex_path) {
        db = json_load_file(m->vex_path, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(db) || !json_is_object(json_object_get(db, "status"))) {
            struct audit_check *c = add(m, "cra.vulns");

            say(c, "%s: not a bulwark VEX database: %s.", m->vex_path, db ? "no status" : je.text);
            c->res = AUDIT_ERROR;
            json_decref(db);
            db = NULL;
        } else {
            check_cra_vulns(m, db);
        }
    }
    if (m->gateway_url) {
        struct audit_check tmp;

        memset(&tmp, 0, sizeof(tmp));
        if (!gateway_releases(&tmp, m->gateway_url, m->gateway_token, m->gateway_cacert,
                              &rels)) {
            check_cra_sbom(m, rels);
            json_decref(rels);
        } else {
            struct audit_check *c = add(m, "cra.sbom");

            snprintf(c->evidence, sizeof(c->evidence), "%s", tmp.evidence);
            c->res = AUDIT_ERROR;
        }
        if (db)
            check_cra_advisories(m, db);
    }
    json_decref(db);
}

void audit_run_checks(struct audit_model *m, const char *conf_path, const char *proc_net)
{
    struct bwh_device_conf *dc = bwh_calloc(1, sizeof(*dc));
    const struct bwh_device_conf *loaded = NULL;
    struct unit u;
    struct reg g;
    char seen[2048];

    m->nchk = 0;
    memset(&u, 0, sizeof(u));
    reg_load(&g, m->prof->provisioning_registry);
    check_listeners(m, proc_net, conf_path != NULL, seen, sizeof(seen));
    check_cleartext(m, seen);
    if (!dc)
        device_unchecked(m, "out of memory");
    else if (!conf_path)
        device_unchecked(m, "No device given (--config DEVICE.conf): not checked.");
    else if (bwh_device_conf_load(dc, conf_path))
        device_unchecked(m, "The device.conf could not be read.");
    else {
        loaded = dc;
        unit_cert(&u, dc);
        check_creds(m, dc, &u, &g);
        check_storage(m, dc);
        check_erase(m, dc);
        check_key(m, dc, &u);
        check_cert(m, dc, &u, &g);
        check_release_key(m, dc);
        check_input(m, dc);
        check_installed(m, dc, conf_path);
        check_log(m, dc, &u);
    }
    /* after device.conf, which may enter approved mode */
    check_crypto_module(m, loaded);
    check_profile(m);
    check_risk(m);
    check_cra(m);
    bwh_free(g.r);
    bwh_free(dc);
}
