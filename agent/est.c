/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's operational certificate over EST (RFC 7030; agent.h,
 * docs/identity.md "Enrollment and renewal"): enroll with the birth
 * certificate, renew with the current certificate at two thirds of its
 * lifetime, and never lose the way to the gateway. Method: the new
 * certificate is written to op.crt.new (atomically) and becomes op.crt
 * (rename, then the directory is synced) only after a request
 * authenticated with it was answered 200; until then op.crt, and the
 * birth certificate behind it, stay what the device presents. A crash at
 * any point leaves either the old pair, or the old pair and a candidate
 * that the next step confirms or drops. The renewal time counts from when
 * the certificate was confirmed (op.crt's mtime), not from its notBefore,
 * which the gateway backdates for clock skew.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "bwh/host.h"
#include "bwh/identity.h"
#include "net.h"

__attribute__((format(printf, 3, 4))) static void say(FILE *out, const char *tag,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (!out)
        return;
    fprintf(out, "%s", tag);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

/* The certificate in path: its notAfter and when the file was written.
 * BW_E_NOTFOUND when there is none. */
static bw_err cert_times(const char *path, struct bwh_cert_info *info, int64_t *written)
{
    struct stat st;
    uint8_t *pem = NULL;
    size_t len = 0;
    bw_err rc;

    if (stat(path, &st) != 0)
        return errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;
    rc = bwh_read_file(path, 65536, &pem, &len);
    if (!rc)
        rc = bwh_cert_info((const char *)pem, len, info);
    bwh_free(pem);
    *written = (int64_t)st.st_mtime;
    return rc;
}

static void paths(const char *dir, char *crt, char *fresh, size_t cap)
{
    snprintf(crt, cap, "%.4000s/%s", dir, AGENT_EST_CRT);
    snprintf(fresh, cap, "%.4000s/%s", dir, AGENT_EST_NEW);
}

static const char *op_key_of(const struct agent_conf *c, const char *dev_key)
{
    return c->op_key[0] ? c->op_key : dev_key;
}

void agent_est_ident(const struct agent_conf *c, const char *dir, const char *dev_key,
                     const char *dev_cert, int64_t now, struct agent_ident *out)
{
    char crt[AGENT_PATH_MAX + 16], fresh[AGENT_PATH_MAX + 16];
    struct bwh_cert_info info;
    int64_t written;

    memset(out, 0, sizeof(*out));
    snprintf(out->key, sizeof(out->key), "%s", dev_key);
    snprintf(out->cert, sizeof(out->cert), "%s", dev_cert);
    if (!c->enroll)
        return;
    paths(dir, crt, fresh, sizeof(crt));
    if (cert_times(crt, &info, &written) || (int64_t)info.not_after <= now)
        return; /* none, unreadable or expired: the birth certificate */
    snprintf(out->key, sizeof(out->key), "%s", op_key_of(c, dev_key));
    snprintf(out->cert, sizeof(out->cert), "%s", crt);
    out->operational = 1;
}

/* A request authenticated with key and cert: whoami answered 200 with
 * an operational certificate. BW_OK; BW_E_AUTH when refused (401, 403,
 * or the birth certificate answered); BW_E_IO when no answer came; the
 * TLS setup's error when cert and key do not belong together. */
static bw_err confirm(const struct agent_conf *c, const char *key, const char *cert,
                      const char *device_id)
{
    struct agent_net *n = NULL;
    long status = 0;
    bw_err rc;

    rc = agent_net_open(&n, c, key, cert, device_id);
    if (!rc)
        rc = agent_net_get(n, "/api/v1/device/whoami", &status);
    if (!rc && status >= 500)
        rc = BW_E_IO;
    else if (!rc && (status != 200 || !strstr(agent_net_body(n), "\"operational\"")))
        rc = BW_E_AUTH;
    agent_net_close(n);
    return rc;
}

/* op.crt.new becomes op.crt: rename, then the directory entry is made
 * durable. */
static bw_err promote(const char *crt, const char *fresh)
{
    if (rename(fresh, crt) != 0)
        return BW_E_IO;
    return bwh_fsync_parent(crt);
}

/* The request body: the CSR's PEM without its armour lines (base64 of
 * the DER, in lines, as RFC 7030 sends it). */
static bw_err csr_body(const char *pem, char **out)
{
    const char *b = strstr(pem, "-----\n"), *e = strstr(pem, "\n-----END");
    size_t n;

    *out = NULL;
    if (!b || !e || e < b + 6)
        return BW_E_FORMAT;
    b += 6;
    n = (size_t)(e - b) + 1;
    *out = bwh_malloc(n + 1);
    if (!*out)
        return BW_E_NOMEM;
    memcpy(*out, b, n);
    (*out)[n] = 0;
    return BW_OK;
}

/* One EST request: a CSR for the operational key, authenticated by
 * auth_key/auth_cert at path; the answer checked (one certificate, this
 * device, this key, not expired) and written to fresh. BW_E_AUTH when the
 * gateway refused (4xx), BW_E_IO when no answer came or a 5xx. */
static bw_err enroll_once(const struct agent_conf *c, const char *path, const char *auth_key,
                          const char *auth_cert, struct bwh_devkey *op, const char *device_id,
                          int64_t now, const char *fresh, FILE *out, const char *tag)
{
    struct agent_net *n = NULL;
    struct bwh_cert_info info;
    uint8_t pub[BW_P256_PUB_LEN];
    char *pem = NULL, *body = NULL, *certs = NULL;
    long status = 0;
    bw_err rc;

    rc = bwh_csr_make(op, device_id, "bulwark", &pem);
    if (!rc)
        rc = csr_body(pem, &body);
    if (!rc)
        rc = bwh_devkey_public(op, pub);
    if (!rc)
        rc = agent_net_open(&n, c, auth_key, auth_cert, device_id);
    if (!rc)
        rc = agent_net_est(n, path, body, &status);
    if (rc)
        goto out;
    if (status != 200) {
        say(out, tag, "enrollment: %s refused: %s", path, agent_net_body(n));
        rc = status >= 500 ? BW_E_IO : BW_E_AUTH;
        goto out;
    }
    rc = bwh_est_certs_pem(agent_net_body(n), agent_net_body_len(n), &certs);
    if (!rc)
        rc = bwh_cert_info(certs, strlen(certs), &info);
    if (rc)
        goto out;
    rc = BW_E_CLAIM;
    if (strcmp(info.device_id, device_id) || memcmp(info.pub, pub, sizeof(pub)) ||
        (int64_t)info.not_after <= now)
        goto out;
    rc = bwh_write_file_atomic(fresh, certs, strlen(certs), 0600);
out:
    agent_net_close(n);
    bwh_free(certs);
    bwh_free(body);
    bwh_free(pem);
    return rc;
}

/* The operational key, generated in its backend when it has none. */
static bw_err op_key_open(const struct agent_conf *c, const char *dev_key, struct bwh_devkey **k)
{
    uint8_t pub[BW_P256_PUB_LEN];
    bw_err rc;

    rc = bwh_devkey_open(op_key_of(c, dev_key), k);
    if (rc)
        return rc;
    rc = bwh_devkey_public(*k, pub);
    if (rc == BW_E_NOTFOUND && c->op_key[0])
        rc = bwh_devkey_generate(*k, 0);
    if (rc) {
        bwh_devkey_close(*k);
        *k = NULL;
    }
    return rc;
}

/* notAfter of the certificate in crt, 0 if unreadable (for the log) */
static uint64_t confirmed_until(const char *crt)
{
    struct bwh_cert_info info;
    int64_t w;

    return cert_times(crt, &info, &w) ? 0 : info.not_after;
}

/* When the certificate confirmed at written is renewed: two thirds of
 * the way to its notAfter, earlier by up to a tenth of its lifetime. The
 * spread comes from the certificate's fingerprint: random across a fleet
 * (so devices enrolled together do not renew together), the same at
 * every look at one certificate, with nothing to keep. */
static int64_t renew_at(int64_t written, const struct bwh_cert_info *info)
{
    int64_t life = (int64_t)info->not_after - written;
    uint32_t r = (uint32_t)info->fingerprint[0] << 24 | (uint32_t)info->fingerprint[1] << 16 |
                 (uint32_t)info->fingerprint[2] << 8 | info->fingerprint[3];

    if (life <= 0)
        return written;
    return written + life * 2 / 3 - (int64_t)((double)r / 4294967296.0 * (double)life / 10.0);
}

/* The daemon's back-off, kept in dir/op.retry ("NEXT_TRY FAILS") so that
 * a restart does not hammer the gateway; none or unreadable: try now. */
static void retry_load(const char *dir, struct agent_est *e)
{
    char path[AGENT_PATH_MAX + 16], *sp;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t next = 0, fails = 0;

    snprintf(path, sizeof(path), "%.4000s/op.retry", dir);
    if (bwh_read_file(path, 64, &buf, &len) || len == 0 || buf[len - 1] != '\n') {
        bwh_free(buf);
        return;
    }
    buf[len - 1] = 0;
    sp = strchr((char *)buf, ' ');
    if (sp) {
        *sp = 0;
        if (!bwh_parse_u64((char *)buf, &next) && !bwh_parse_u64(sp + 1, &fails) && fails < 64) {
            e->next_try = (int64_t)next;
            e->fails = (unsigned)fails;
        }
    }
    bwh_free(buf);
}

static void retry_save(const char *dir, const struct agent_est *e)
{
    char path[AGENT_PATH_MAX + 16], v[48];
    int n = snprintf(v, sizeof(v), "%lld %u\n", (long long)e->next_try, e->fails);

    snprintf(path, sizeof(path), "%.4000s/op.retry", dir);
    if (!e->fails) {
        (void)unlink(path);
        return;
    }
    if (bwh_write_file_atomic(path, v, (size_t)n, 0600))
        fprintf(stderr, "bulwark-agent: %s: cannot write\n", path);
}

static bw_err step(const struct agent_conf *c, struct agent_est *e, const char *dir,
                   const char *dev_key, const char *dev_cert, const char *device_id, int64_t now,
                   FILE *out, const char *tag);

bw_err agent_est_step(const struct agent_conf *c, struct agent_est *e, const char *dir,
                      const char *dev_key, const char *dev_cert, const char *device_id,
                      int64_t now, FILE *out, const char *tag)
{
    struct agent_est mine;
    bw_err rc;

    if (!c->enroll)
        return BW_OK;
    if (e)
        return step(c, e, dir, dev_key, dev_cert, device_id, now, out, tag);
    memset(&mine, 0, sizeof(mine));
    retry_load(dir, &mine);
    rc = step(c, &mine, dir, dev_key, dev_cert, device_id, now, out, tag);
    retry_save(dir, &mine);
    return rc;
}

static bw_err step(const struct agent_conf *c, struct agent_est *e, const char *dir,
                   const char *dev_key, const char *dev_cert, const char *device_id, int64_t now,
                   FILE *out, const char *tag)
{
    char crt[AGENT_PATH_MAX + 16], fresh[AGENT_PATH_MAX + 16];
    struct bwh_cert_info info;
    struct bwh_devkey *op = NULL;
    const char *okey = op_key_of(c, dev_key);
    int64_t written = 0;
    int have;
    bw_err rc;

    if (e->next_try > now)
        return BW_OK; /* backing off */
    paths(dir, crt, fresh, sizeof(crt));
    /* a candidate an earlier step left: confirm it, or drop it if refused */
    if (access(fresh, F_OK) == 0) {
        rc = confirm(c, okey, fresh, device_id);
        if (!rc) {
            rc = promote(crt, fresh);
            if (!rc)
                say(out, tag, "enrollment: new certificate confirmed");
            goto done;
        }
        if (rc == BW_E_IO)
            goto done; /* no answer: confirm it next time */
        (void)unlink(fresh); /* refused, or not usable with the key: never used */
    }
    rc = cert_times(crt, &info, &written);
    have = rc == BW_OK && (int64_t)info.not_after > now;
    if (have && now < renew_at(written, &info))
        return BW_OK; /* not due */
    rc = op_key_open(c, dev_key, &op);
    if (rc)
        goto done;
    rc = BW_E_AUTH;
    if (have) /* renewal, authenticated by the certificate it renews */
        rc = enroll_once(c, "/.well-known/est/simplereenroll", okey, crt, op, device_id, now,
                         fresh, out, tag);
    if (rc == BW_E_AUTH) /* none yet, expired, or refused: the birth certificate */
        rc = enroll_once(c, "/.well-known/est/simpleenroll", dev_key, dev_cert, op, device_id,
                         now, fresh, out, tag);
    if (rc)
        goto done;
    rc = confirm(c, okey, fresh, device_id);
    if (!rc)
        rc = promote(crt, fresh);
    if (!rc)
        say(out, tag, "enrollment: %s certificate confirmed, valid until %lld",
            have ? "renewed" : "new", (long long)confirmed_until(crt));
    else if (rc != BW_E_IO)
        (void)unlink(fresh); /* issued but not taken: never used */
done:
    bwh_devkey_close(op);
    if (rc) {
        double w = agent_next_wait(c, BW_E_IO, 0, &e->fails);

        e->next_try = now + (int64_t)w + 1;
        say(out, tag, "enrollment: %s; next try in %.0f s", bw_strerror(rc), w);
        return rc == BW_E_AUTH ? BW_E_IO : rc;
    }
    e->fails = 0;
    e->next_try = 0;
    return BW_OK;
}

int64_t agent_est_due(const struct agent_conf *c, const struct agent_est *e, const char *dir)
{
    char crt[AGENT_PATH_MAX + 16], fresh[AGENT_PATH_MAX + 16];
    struct bwh_cert_info info;
    int64_t written, at;

    if (!c->enroll)
        return INT64_MAX;
    if (e->next_try)
        return e->next_try;
    paths(dir, crt, fresh, sizeof(crt));
    if (access(fresh, F_OK) == 0 || cert_times(crt, &info, &written))
        return 0;
    at = renew_at(written, &info);
    return at;
}

uint64_t agent_est_clamp(const struct agent_conf *c, const struct agent_est *e, const char *dir,
                         int64_t now, uint64_t poll)
{
    struct agent_est mine;
    int64_t due;

    if (!c->enroll || !poll)
        return poll;
    if (!e) {
        memset(&mine, 0, sizeof(mine));
        retry_load(dir, &mine);
        e = &mine;
    }
    due = agent_est_due(c, e, dir);
    if (due >= now + (int64_t)poll)
        return poll;
    return due > now ? (uint64_t)(due - now) : 1;
}
