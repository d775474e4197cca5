/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark token: issue a short-lived JWT (ES256) signed with the device key,
 * or check one ('token verify') the way the gateway does. The CLI keeps no
 * replay cache between runs: each verify only sees its own token.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bwh/identity.h"
#include "bulwark/token.h"
#include "cli.h"
#include "bwh/seclog.h"

#define TTL_DEFAULT 300

/* The device certificate's subject CN: the device id when --sub is absent.
 * The certificate must be for the device key (pub), or the CN names some
 * other key. BW_E_NOTFOUND without a certificate or a CN, BW_E_KEY for a
 * certificate of another key, BW_E_FORMAT for one that does not parse. */
static bw_err cert_cn(const char *path, const uint8_t pub[BW_P256_PUB_LEN], char *out, size_t cap)
{
    uint8_t want[200], *got = NULL;
    struct bw_ec_key k;
    size_t want_len = 0;
    X509 *x = NULL;
    FILE *f;
    bw_err rc;
    int n;

    f = fopen(path, "r");
    if (!f)
        return BW_E_NOTFOUND;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return BW_E_FORMAT;
    bw_ec_key_init(&k);
    rc = bw_ec_set_pub(&k, pub, BW_P256_PUB_LEN);
    if (!rc)
        rc = bw_ec_export(&k, 0, 0, want, sizeof(want), &want_len);
    bw_ec_key_clear(&k);
    if (rc)
        goto out;
    rc = BW_E_KEY;
    n = i2d_PUBKEY(X509_get0_pubkey(x), &got);
    if (n <= 0 || (size_t)n != want_len || memcmp(got, want, want_len))
        goto out;
    rc = BW_E_NOTFOUND;
    n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    if (n <= 0)
        goto out;
    rc = BW_E_FORMAT; /* too long, or a NUL inside */
    if ((size_t)n >= cap - 1 || strlen(out) != (size_t)n)
        goto out;
    rc = BW_OK;
out:
    OPENSSL_free(got);
    X509_free(x);
    if (rc)
        out[0] = 0;
    return rc;
}

/* A seconds option: 1..max. */
static int seconds(const char *s, uint64_t max, uint64_t *v)
{
    return bwh_parse_u64(s, v) == BW_OK && *v >= 1 && *v <= max;
}

static void json_kv(const char *k, const char *v, int comma)
{
    printf("%s\"%s\":", comma ? "," : "", k);
    bwh_json_str(stdout, v, strlen(v));
}

static int issue(struct cli_args *a)
{
    const char *conf_path = cli_get(a, "config"), *aud = cli_get(a, "aud");
    char uri[8300], subject[600], out[BW_TOKEN_MAX + 1];
    struct bwh_device_conf conf;
    struct bwh_devkey *dk = NULL;
    struct bw_token_claims c;
    struct bw_signer s;
    uint64_t ttl = TTL_DEFAULT;
    size_t len = 0;
    int status;
    bw_err rc;

    if (!conf_path)
        return cli_usage(a, "--config is required: the device whose key signs");
    if (!aud || !*aud)
        return cli_usage(a, "--aud is required: the service the token is for");
    if (cli_get(a, "pub") || cli_get(a, "at") || cli_get(a, "leeway") || cli_get(a, "iss"))
        return cli_usage(a, "--pub, --iss, --at and --leeway belong to 'token verify'");
    if (cli_get(a, "ttl") && !seconds(cli_get(a, "ttl"), BW_TOKEN_LIFETIME_MAX, &ttl))
        return cli_usage(a, "--ttl: seconds from 1 to %d", BW_TOKEN_LIFETIME_MAX);
    memset(&c, 0, sizeof(c));
    if (strlen(aud) > BW_TOKEN_STR_MAX)
        return cli_usage(a, "--aud: at most %d bytes", BW_TOKEN_STR_MAX);
    strcpy(c.aud, aud);
    if (cli_get(a, "kid")) {
        if (strlen(cli_get(a, "kid")) > BW_TOKEN_JTI_MAX)
            return cli_usage(a, "--kid: at most %d bytes", BW_TOKEN_JTI_MAX);
        strcpy(c.kid, cli_get(a, "kid"));
    }
    if (cli_get(a, "sub") && (!*cli_get(a, "sub") || strlen(cli_get(a, "sub")) > BW_TOKEN_STR_MAX))
        return cli_usage(a, "--sub: 1 to %d bytes", BW_TOKEN_STR_MAX);
    errno = 0;
    rc = bwh_device_conf_load(&conf, conf_path);
    if (rc)
        return cli_exit_code(rc);
    /* the file backend finds its storage key where device.conf says */
    if (!strncmp(conf.device_key, "file:", 5) && !strchr(conf.device_key, '?'))
        snprintf(uri, sizeof(uri), "%s?storage-key=%s", conf.device_key, conf.storage_key);
    else
        snprintf(uri, sizeof(uri), "%s", conf.device_key);
    rc = bwh_devkey_open(uri, &dk);
    if (!rc)
        rc = bwh_devkey_signer(dk, &s);
    if (rc) {
        char what[400];

        snprintf(what, sizeof(what), "device key%s%s%s", *bwh_devkey_detail(dk) ? " (" : "",
                 bwh_devkey_detail(dk), *bwh_devkey_detail(dk) ? ")" : "");
        if (rc == BW_E_NOTFOUND)
            snprintf(what, sizeof(what), "device key (run 'bulwark provision')");
        status = cli_fail(a, what, rc);
        bwh_devkey_close(dk);
        return status;
    }
    if (cli_get(a, "sub")) {
        strcpy(c.sub, cli_get(a, "sub")); /* length checked above */
    } else {
        rc = cert_cn(conf.device_cert, s.pub, c.sub, sizeof(c.sub));
        if (rc) {
            bwh_devkey_close(dk);
            if (rc == BW_E_NOTFOUND)
                return cli_usage(a, "no device id: give --sub, or provision a device "
                                    "certificate with a CN (%s)", conf.device_cert);
            return cli_fail(a, rc == BW_E_KEY ? "device certificate is not for the device key"
                                              : conf.device_cert, rc);
        }
    }
    c.iat = (int64_t)time(NULL);
    c.exp = c.iat + (int64_t)ttl;
    rc = bw_token_issue(&s, &c, out, sizeof(out), &len);
    bwh_devkey_close(dk);

    /* the log names the token (jti), never holds it: it is a bearer credential */
    snprintf(subject, sizeof(subject), "sub=%s aud=%s jti=%s exp=%" PRId64, c.sub, c.aud,
             rc ? "-" : c.jti, c.exp);
    if (bwh_seclog_event(&conf, "token.issue", subject, rc ? bw_errname(rc) : "ok") && !rc)
        fprintf(stderr, "bulwark token: warning: the security log did not record this token\n");
    if (rc) {
        bw_wipe(out, sizeof(out));
        return cli_fail(a, "issuing", rc);
    }
    if (cli_flag(a, "json")) {
        printf("{");
        json_kv("token", out, 0);
        json_kv("iss", c.iss, 1);
        json_kv("sub", c.sub, 1);
        json_kv("aud", c.aud, 1);
        json_kv("jti", c.jti, 1);
        if (c.kid[0])
            json_kv("kid", c.kid, 1);
        printf(",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}\n", c.iat, c.exp);
    } else {
        printf("%s\n", out);
    }
    bw_wipe(out, sizeof(out));
    return 0;
}

static int verify_report(struct cli_args *a, bw_err rc, const struct bw_token_claims *c)
{
    if (cli_flag(a, "json")) {
        printf("{\"ok\":%s", rc ? "false" : "true");
        if (rc) {
            printf(",\"error\":\"%s\",", bw_errname(rc));
            json_kv("message", bw_strerror(rc), 0);
        } else {
            json_kv("iss", c->iss, 1);
            json_kv("sub", c->sub, 1);
            json_kv("aud", c->aud, 1);
            json_kv("jti", c->jti, 1);
            if (c->kid[0])
                json_kv("kid", c->kid, 1);
            printf(",\"iat\":%" PRId64 ",\"exp\":%" PRId64, c->iat, c->exp);
            if (c->has_nbf)
                printf(",\"nbf\":%" PRId64, c->nbf);
        }
        printf("}\n");
    }
    if (rc)
        return cli_fail(a, "token", rc);
    if (!cli_flag(a, "json"))
        printf("OK: sub=%s aud=%s jti=%s expires %" PRId64 "\n", c->sub, c->aud, c->jti,
               c->exp);
    return 0;
}

static int verify(struct cli_args *a)
{
    const char *pubf = cli_get(a, "pub"), *aud = cli_get(a, "aud"), *arg = a->pos[1];
    struct bw_token_seen one[1];
    struct bw_token_replay cache;
    struct bw_token_policy p;
    struct bw_token_claims c;
    struct bw_ec_key key;
    uint8_t *buf = NULL;
    uint64_t v;
    size_t len;
    int status;
    bw_err rc;

    if (a->npos != 2)
        return cli_usage(a, "'token verify' takes one TOKEN (or - for stdin)");
    if (!pubf)
        return cli_usage(a, "--pub is required: a token is only as good as the key it is checked with");
    if (!aud || !*aud)
        return cli_usage(a, "--aud is required: the audience this service answers to");
    if (cli_get(a, "config") || cli_get(a, "ttl") || cli_get(a, "sub") || cli_get(a, "kid"))
        return cli_usage(a, "--config, --ttl, --sub and --kid belong to issuing");
    bw_token_policy_init(&p, aud, (int64_t)time(NULL));
    p.iss = cli_get(a, "iss");
    if (cli_get(a, "leeway")) {
        if (bwh_parse_u64(cli_get(a, "leeway"), &v) || v > 600)
            return cli_usage(a, "--leeway: seconds from 0 to 600");
        p.leeway = (uint32_t)v;
    }
    if (cli_get(a, "at")) {
        if (bwh_parse_u64(cli_get(a, "at"), &v) || v > (uint64_t)INT64_MAX / 2)
            return cli_usage(a, "--at: seconds since the epoch");
        p.now = (int64_t)v;
    }
    errno = 0;
    rc = bwh_load_key(pubf, 0, &key);
    if (rc)
        return cli_fail(a, pubf, rc);
    if (!strcmp(arg, "-")) {
        /* stdin keeps the token out of the process list; one newline may end it */
        errno = 0;
        rc = bwh_read_file("-", BW_TOKEN_MAX + 2, &buf, &len);
        if (rc) {
            bw_ec_key_clear(&key);
            return cli_fail(a, "reading the token", rc);
        }
        if (len && buf[len - 1] == '\n')
            len--;
        if (len && buf[len - 1] == '\r')
            len--;
        arg = (const char *)buf;
    } else {
        len = strlen(arg);
    }
    bw_token_replay_init(&cache, one, 1);
    rc = bw_token_verify(arg, len, &key, &p, &cache, &c);
    status = verify_report(a, rc, &c);
    bwh_free(buf);
    bw_ec_key_clear(&key);
    return status;
}

static int run(struct cli_args *a)
{
    if (a->npos >= 1 && !strcmp(a->pos[0], "verify"))
        return verify(a);
    if (a->npos)
        return cli_usage(a, "unexpected argument '%s'", a->pos[0]);
    return issue(a);
}

static const struct cli_opt opts[] = {
    {"config", "DEVICE.conf", "issue: the device whose key signs"},
    {"aud", "AUDIENCE", "the service the token is for (issue: written, verify: required)"},
    {"ttl", "SECONDS", "issue: lifetime, 1 to 3600 (default 300)"},
    {"sub", "ID", "issue: device id (default: CN of the device certificate)"},
    {"kid", "KID", "issue: key id for the token header (optional)"},
    {"pub", "PUB.pem", "verify: the device's public key (PEM or DER)"},
    {"iss", "ID", "verify: also require this issuer"},
    {"leeway", "SECONDS", "verify: clock skew allowed on exp/nbf/iat (default 60)"},
    {"at", "EPOCH", "verify: check as of this time instead of now"},
    {"json", NULL, "print one JSON object"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_token = {
    "token", "issue or check a short-lived device token (JWT, ES256)",
    "--config DEVICE.conf --aud AUDIENCE [--ttl SECONDS] [--sub ID] [--json]\n"
    "       bulwark token verify --pub PUB.pem --aud AUDIENCE [--iss ID] TOKEN|-",
    "Issues a JWT (RFC 7519) signed ES256 with the device key (device_key in\n"
    "device.conf): iss and sub are the device id, aud the service, iat now, exp\n"
    "now + ttl (at most one hour) and jti 16 random bytes. The token is printed on\n"
    "stdout and its jti, never the token, goes to the security log.\n"
    "'token verify' checks a token as the gateway does: ES256 only, signature\n"
    "first, then exp/nbf/iat with leeway, lifetime, audience and jti. It keeps no\n"
    "replay cache between runs; the gateway's library call does. Give - to read\n"
    "the token from stdin (keeps it out of the process list).",
    opts, 0, 2, run};
