/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device checks behind `bulwark audit`: each looks at the real device
 * (its files, boot state, security log, listening sockets) or at what the
 * profile declares, and records pass / fail / not-applicable / manual with
 * the evidence it saw. A check that cannot look (no device.conf, a file it
 * cannot read) never passes: it fails or asks for a person.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "bulwark/cred.h"
#include "bulwark/identity.h"
#include "bulwark/log.h"
#include "device.h"
#include "host.h"

static struct audit_check *add(struct audit_model *m, const char *name)
{
    struct audit_check *c = &m->chk[m->nchk++];

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

/* ---- 5.6-1: listening sockets against the declared services ---- */

/* Adds "proto:port" for each listening socket in one /proc/net table. */
static int scan_table(const char *dir, const char *file, const char *proto, char *out, size_t cap)
{
    char path[4200], ln[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1; /* no IPv6: no table */
    while (fgets(ln, sizeof(ln), f)) {
        unsigned port, st;
        char item[16];

        if (sscanf(ln, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port, &st) != 2)
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

static void check_listeners(struct audit_model *m, const char *proc_net)
{
    struct audit_check *c = add(m, "net.listeners");
    char seen[2048] = "", extra[2048] = "", *item, *save = NULL;
    const char *dir = proc_net ? proc_net : "/proc/net";

    if (scan_table(dir, "tcp", "tcp", seen, sizeof(seen)) ||
        scan_table(dir, "tcp6", "tcp", seen, sizeof(seen)) ||
        scan_table(dir, "udp", "udp", seen, sizeof(seen)) ||
        scan_table(dir, "udp6", "udp", seen, sizeof(seen))) {
        say(c, "cannot read the socket tables in %s: %s.", dir, strerror(errno));
        return;
    }
    if (*seen)
        seen[strlen(seen) - 1] = 0; /* the last item's comma */
    say(c, "Listening (%s): %s.", dir, *seen ? seen : "nothing");
    say(c, "Declared services: %s.", *m->prof->services ? m->prof->services : "none");
    for (item = strtok_r(seen, ",", &save); item; item = strtok_r(NULL, ",", &save))
        if (!declared(m->prof->services, item) && strlen(extra) + strlen(item) + 3 < sizeof(extra))
            strcat(strcat(extra, *extra ? ", " : ""), item);
    if (*extra) {
        say(c, "Not declared in the profile: %s.", extra);
        return;
    }
    say(c, "Every listening socket is declared.");
    c->res = AUDIT_PASS;
}

/* ---- 5.1-1: factory credentials ---- */

static void check_creds(struct audit_model *m, const struct device_conf *dc)
{
    struct audit_check *c = add(m, "cred.factory");
    struct bw_cred_db *db = bw_calloc(1, sizeof(*db));
    size_t i, factory = 0;
    bw_err rc;

    if (!db) {
        say(c, "out of memory");
        return;
    }
    rc = bw_cred_load(db, dc->credentials);
    if (rc) {
        say(c, "%s: %s.", dc->credentials, bw_strerror(rc));
        goto out;
    }
    say(c, "%s holds %zu account%s.", dc->credentials, db->n, db->n == 1 ? "" : "s");
    if (db->n == 0) {
        say(c, "The device was not provisioned: no unique password was set.");
        goto out;
    }
    for (i = 0; i < db->n; i++)
        if (db->user[i].factory) {
            say(c, "%s still uses its factory credential.", db->user[i].name);
            factory++;
        }
    if (!factory) {
        say(c, "Every password was set by the user.");
        c->res = AUDIT_PASS;
    }
out:
    bw_wipe(db, sizeof(*db));
    bw_free(db);
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

    if (bw_read_file(path, 1 << 16, &buf, &len))
        return 0;
    ok = len > 8 && !memcmp(buf, "BWKEYv1\n", 8);
    say(c, "The device key is %s.", ok ? "sealed under the storage key (AES-256-GCM)"
                                       : "NOT encrypted at rest");
    bw_wipe(buf, len);
    bw_free(buf);
    return ok;
}

static void check_storage(struct audit_model *m, const struct device_conf *dc)
{
    struct audit_check *c = add(m, "storage.protect");
    char kp[4096];
    int ok = 1, r;

    if (!strncmp(dc->device_key, "file:", 5)) {
        key_path(dc->device_key, kp, sizeof(kp));
        ok &= private_file(c, "device key", kp) == 1 && key_encrypted(c, kp);
        ok &= private_file(c, "storage key", dc->storage_key) == 1;
    } else {
        say(c, "The device key is held by its backend (%.8s...).", dc->device_key);
    }
    ok &= private_file(c, "credentials", dc->credentials) == 1;
    r = private_file(c, "store", dc->store);
    if (r == -1)
        say(c, "(no store yet: nothing stored).");
    ok &= r != 0;
    if (ok)
        c->res = AUDIT_PASS;

    c = add(m, "storage.hwkey");
    if (!strncmp(dc->device_key, "tpm:", 4) || !strncmp(dc->device_key, "pkcs11:", 7)) {
        say(c, "The device key lives in a %s.",
            dc->device_key[0] == 't' ? "TPM 2.0" : "PKCS#11 token");
        c->res = AUDIT_PASS;
    } else {
        say(c, "The device key is a file sealed under the storage key; whether a hardware "
               "root of trust protects that key is for a person to judge.");
        c->res = AUDIT_MANUAL;
    }
}

/* ---- 5.3-x, 27402 5.2.7.1.1: release key, installed package, counter ---- */

static void check_release_key(struct audit_model *m, const struct device_conf *dc)
{
    struct audit_check *c = add(m, "update.release_key");
    struct bw_ec_key k;
    struct stat st;
    bw_err rc;

    bw_ec_key_init(&k);
    rc = bw_load_key(dc->release_pub, 0, &k);
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
    c->res = AUDIT_PASS;
out:
    bw_ec_key_clear(&k);
}

static void check_installed(struct audit_model *m, const char *conf_path)
{
    struct audit_check *c = add(m, "update.installed");
    struct device *d = bw_calloc(1, sizeof(*d));
    const char *what = NULL;
    const struct bw_bootstate *st;
    uint8_t s;
    char hex[17];
    bw_err rc;

    if (!d) {
        say(c, "out of memory");
        return;
    }
    rc = device_open(d, conf_path, 0, 0, &what);
    if (rc) {
        say(c, "cannot open the device (%s): %s.", what ? what : conf_path, bw_strerror(rc));
        goto out;
    }
    st = &d->u.st;
    s = st->trial != BW_SLOT_NONE ? st->trial : st->active;
    say(c, "Anti-rollback counter (highest accepted sequence): %" PRIu64 ".",
        st->highest_sequence);
    if (s > 1 || st->slot_sequence[s] == BW_SEQ_EMPTY) {
        say(c, "No verified package is installed (slot %c is empty).", 'a' + (s & 1));
        goto out;
    }
    bw_hex(hex, st->slot_digest[s], 8);
    say(c, "Slot %c holds sequence %" PRIu64 ", %" PRIu64 " bytes, sha256:%s..., written only "
           "after its signature and every chunk verified%s.",
        'a' + s, st->slot_sequence[s], st->slot_size[s], hex,
        st->trial == s ? " (trial boot pending)" : "");
    if (st->highest_sequence < st->slot_sequence[s] || st->highest_sequence == 0) {
        say(c, "The counter is below the installed sequence.");
        goto out;
    }
    c->res = AUDIT_PASS;
out:
    device_close(d);
    bw_free(d);
}

/* ---- 5.10-1, 8259A state awareness: the security log ---- */

struct last_install {
    uint64_t seq;
    char subject[BW_LOG_TEXT_MAX + 1], outcome[BW_LOG_TEXT_MAX + 1];
};

/* Remembers the last successful install the log records. */
static bw_err note_install(void *ctx, const struct bw_log_record *r)
{
    struct last_install *li = ctx;

    if (r->type == BW_LOG_EVENT && !strcmp(r->event, "install") && !strncmp(r->outcome, "ok ", 3)) {
        li->seq = r->seq;
        memcpy(li->subject, r->subject, sizeof(li->subject));
        memcpy(li->outcome, r->outcome, sizeof(li->outcome));
    }
    return BW_OK;
}

/* The verified log's record of the last install, as evidence beside the
 * boot state (a rotated-out record is no failure: the boot state decides). */
static void install_evidence(struct audit_model *m, const struct last_install *li)
{
    size_t i;

    for (i = 0; i < m->nchk && strcmp(m->chk[i].name, "update.installed"); i++)
        ;
    if (i == m->nchk)
        return;
    if (li->seq)
        say(&m->chk[i], "The verified security log records it at seq %" PRIu64 ": install %s: %s.",
            li->seq, li->subject, li->outcome);
    else
        say(&m->chk[i], "The security log holds no successful install record.");
}

static void check_log(struct audit_model *m, const struct device_conf *dc)
{
    struct audit_check *c = add(m, "log.chain");
    struct bw_devkey *k = NULL;
    struct bw_log_vfs v;
    struct bw_log_report rep;
    struct last_install li;
    uint8_t pub[BW_P256_PUB_LEN];
    int have;
    bw_err rc;

    have = bw_devkey_open(dc->device_key, &k) == BW_OK && bw_devkey_public(k, pub) == BW_OK;
    bw_devkey_close(k);
    rc = bw_log_posix_open(&v, dc->seclog, 0, 0);
    if (rc) {
        say(c, "security log %s: %s: the log is not enabled.", dc->seclog, bw_strerror(rc));
        return;
    }
    memset(&rep, 0, sizeof(rep));
    memset(&li, 0, sizeof(li));
    rc = bw_log_verify(&v, have ? pub : NULL, have ? 0 : BW_LOG_NO_SIGS, note_install, &li, &rep);
    bw_log_posix_close(&v);
    if (rc) {
        say(c, "security log %s does not verify: %s%s%s.", dc->seclog, bw_strerror(rc),
            rep.detail[0] ? ": " : "", rep.detail);
        return;
    }
    say(c, "security log %s: records %" PRIu64 "..%" PRIu64 " chain, %" PRIu64
           " checkpoints %s.", dc->seclog, rep.first_seq, rep.last_seq, rep.checkpoints,
        have ? "signed by the device key verify" : "(no device key: signatures not checked)");
    install_evidence(m, &li);
    if (!rep.records || !have) {
        say(c, "%s", !rep.records ? "The log is empty." : "Nothing is signed yet.");
        return;
    }
    c->res = AUDIT_PASS;
}

/* ---- declarations in the profile ---- */

/* The keys of bulwark-agent's configuration the checks read; "" when a
 * key is absent. BW_OK, or the error reading the file. */
struct agent_view {
    char policy[32], gateway[AUDIT_STR], ca_cert[AUDIT_STR];
};

static bw_err agent_view(const char *path, struct agent_view *v)
{
    uint8_t *buf = NULL;
    char *line, *save = NULL, *k, *val;
    size_t len = 0;
    bw_err rc;

    memset(v, 0, sizeof(*v));
    rc = bw_read_file(path, 1 << 20, &buf, &len);
    if (rc)
        return rc;
    for (line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (bw_conf_split(line, &k, &val) != 1)
            continue;
        if (!strcmp(k, "policy"))
            snprintf(v->policy, sizeof(v->policy), "%s", val);
        else if (!strcmp(k, "gateway"))
            snprintf(v->gateway, sizeof(v->gateway), "%s", val);
        else if (!strcmp(k, "ca_cert"))
            snprintf(v->ca_cert, sizeof(v->ca_cert), "%s", val);
    }
    bw_free(buf);
    return BW_OK;
}

/* Method: with the agent's own configuration (agent_config in the
 * profile), the update policy it really follows (5.3-4, 5.3-6: automatic
 * or notify pass, manual fails; a profile that declares another policy
 * fails) and how it reaches the gateway (5.5-1: https, a CA that is a
 * certificate file when one is named; the agent always adds its device
 * certificate, mTLS). Without it, the policy is the profile's declaration
 * and the transport needs a person. */
static void check_agent(struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    struct audit_check *pol = add(m, "update.policy"), *tls = add(m, "comms.agent_tls");
    struct agent_view v;
    const char *policy;
    uint8_t *ca = NULL;
    size_t calen = 0;
    bw_err rc;

    if (!*p->agent_config) {
        say(tls, "No agent_config in the profile: the agent's transport needs a person.");
        tls->res = AUDIT_MANUAL;
        if (!*p->update_policy) {
            say(pol, "No update policy declared; the agent's configuration needs a person.");
            pol->res = AUDIT_MANUAL;
        } else {
            say(pol, "Agent update policy (declared in the profile): %s.", p->update_policy);
            pol->res = strcmp(p->update_policy, "manual") ? AUDIT_PASS : AUDIT_FAIL;
        }
        return;
    }
    rc = agent_view(p->agent_config, &v);
    if (rc) {
        say(pol, "%s: %s.", p->agent_config, bw_strerror(rc));
        say(tls, "%s: %s.", p->agent_config, bw_strerror(rc));
        pol->res = tls->res = AUDIT_FAIL;
        return;
    }
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
        rc = bw_read_file(v.ca_cert, 1 << 20, &ca, &calen);
        if (rc || !calen || !memmem(ca, calen, "-----BEGIN CERTIFICATE-----", 27)) {
            say(tls, "%s: ca_cert %s is not a readable PEM certificate.", p->agent_config,
                v.ca_cert);
            bw_free(ca);
            tls->res = AUDIT_FAIL;
            return;
        }
        bw_free(ca);
    }
    say(tls, "%s: TLS to %s, server checked against %s, device certificate presented (mTLS), "
             "one short-lived device token per connection.",
        p->agent_config, v.gateway, *v.ca_cert ? v.ca_cert : "the system CAs");
    tls->res = AUDIT_PASS;
}

static void check_profile(struct audit_model *m)
{
    const struct audit_profile *p = m->prof;
    struct audit_check *c;
    long days = 0;

    c = add(m, "profile.justified");
    say(c, "%zu requirement%s declared not applicable, each with a justification and an id the "
           "catalogue knows.", p->nna, p->nna == 1 ? "" : "s");
    c->res = AUDIT_PASS;

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
    } else {
        say(c, "%s %s by %s, hardware %s, software %s.", p->product, p->model, p->manufacturer,
            *p->hw_version ? p->hw_version : "?", *p->sw_version ? p->sw_version : "?");
        c->res = AUDIT_PASS;
    }

    c = add(m, "docs.sensors");
    say(c, "Declared sensing capabilities: %s.", *p->sensors ? p->sensors : "none");
    c->res = AUDIT_PASS;

    c = add(m, "debug.declared");
    say(c, "Debug interfaces: %s; disabled in software: %s.",
        *p->debug_interfaces ? p->debug_interfaces : "none", p->debug_disabled ? "yes" : "no");
    c->res = p->debug_disabled ? AUDIT_PASS : AUDIT_FAIL;

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
    rc = bw_read_file(m->prof->risk_register, 4 << 20, &buf, &len);
    if (rc) {
        say(c, "%s: %s.", m->prof->risk_register, bw_strerror(rc));
        return;
    }
    rc = audit_register_parse(&r, (const char *)buf, len, err, sizeof(err));
    if (!rc)
        rc = audit_register_validate(&r, m->cat, err, sizeof(err));
    bw_free(buf);
    if (rc) {
        say(c, "%s: %s.", m->prof->risk_register, err);
    } else {
        say(c, "%s: %zu risks assessed (likelihood x impact, treatment, owner, review date).",
            m->prof->risk_register, r.n);
        c->res = r.n ? AUDIT_PASS : AUDIT_FAIL;
        if (!m->reg && (m->reg = bw_malloc(sizeof(*m->reg))) != NULL) {
            *m->reg = r; /* the OSCAL assessment results carry the risks */
            return;
        }
    }
    audit_register_free(&r);
}

/* The device checks that could not look: manual without a device.conf,
 * failed when the one given cannot be read (fail closed). */
static void device_unchecked(struct audit_model *m, const char *why, enum audit_result res)
{
    static const char *const names[] = {"cred.factory", "storage.protect", "storage.hwkey",
                                        "update.release_key", "update.installed", "log.chain"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct audit_check *c = add(m, names[i]);

        say(c, "%s", why);
        c->res = res;
    }
}

void audit_run_checks(struct audit_model *m, const char *conf_path, const char *proc_net)
{
    struct device_conf dc;

    m->nchk = 0;
    check_listeners(m, proc_net);
    if (!conf_path)
        device_unchecked(m, "No device.conf given (--config): not checked on a device.",
                         AUDIT_MANUAL);
    else if (device_conf_load(&dc, conf_path))
        device_unchecked(m, "The device.conf could not be read.", AUDIT_FAIL);
    else {
        check_creds(m, &dc);
        check_storage(m, &dc);
        check_release_key(m, &dc);
        check_installed(m, conf_path);
        check_log(m, &dc);
    }
    check_profile(m);
    check_risk(m);
}
