/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of the device API: one libcurl handle per cycle, mutual
 * TLS with the device certificate, and one device token per TLS
 * connection. Method: a cycle starts with a fresh token on a fresh
 * connection; later requests of the cycle reuse both. If curl had to open
 * a new connection meanwhile (the gateway closed an idle one), the token
 * already bound to the old connection is refused there as a replay: the
 * request is then sent once more with a new token on a new connection.
 * The client key reaches libcurl as an in-memory PEM (file key backend
 * only; keys inside PKCS#11 tokens or TPMs need an OpenSSL provider, not
 * yet wired).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"
#include "bulwark/identity.h"
#include "bulwark/token.h"
#include "host.h"
#include "net.h"

struct agent_net {
    CURL *h;
    const struct agent_conf *c;
    char device_id[AGENT_STR_MAX];
    char cert[AGENT_PATH_MAX];
    struct bw_devkey *key;
    struct bw_signer signer;
    uint8_t pem[1024];
    size_t pem_len;
    char token[BW_TOKEN_MAX + 1];
    int token_used;  /* the token went out on a connection already */
    char *body;
    size_t len, cap;
    /* download */
    int fd;
    uint64_t have, limit, got;
    int first_write;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct agent_net *a = arg;
    size_t add = sz * n;

    if (a->len + add + 1 > 65536)
        return 0; /* no answer of the device API is this long */
    if (a->len + add + 1 > a->cap) {
        size_t cap = (a->len + add + 1) * 2;
        char *b = bw_realloc(a->body, cap);

        if (!b)
            return 0;
        a->body = b;
        a->cap = cap;
    }
    memcpy(a->body + a->len, p, add);
    a->len += add;
    a->body[a->len] = 0;
    return add;
}

static size_t on_file(char *p, size_t sz, size_t n, void *arg)
{
    struct agent_net *a = arg;
    size_t add = sz * n;
    long code = 0;

    curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200 && code != 206)
        return on_body(p, sz, n, arg);
    if (a->first_write) {
        a->first_write = 0;
        if (code == 200 && a->have) { /* the whole package came: start over */
            if (ftruncate(a->fd, 0) != 0 || lseek(a->fd, 0, SEEK_SET) != 0)
                return 0;
            a->have = 0;
        }
    }
    if (a->have + a->got + add > a->limit)
        return 0; /* longer than announced: refuse */
    if (bw_write_full(a->fd, p, add) != BW_OK)
        return 0;
    a->got += add;
    return add;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)arg, (void)dt, (void)dn, (void)ut, (void)un;
    return agent_stopping ? 1 : 0; /* SIGTERM: end the transfer now */
}

static bw_err new_token(struct agent_net *a)
{
    struct bw_token_claims cl;
    size_t n;

    memset(&cl, 0, sizeof(cl));
    snprintf(cl.sub, sizeof(cl.sub), "%.128s", a->device_id);
    snprintf(cl.aud, sizeof(cl.aud), "%.128s", a->c->audience);
    cl.iat = (int64_t)time(NULL);
    cl.exp = cl.iat + (int64_t)a->c->token_ttl;
    a->token_used = 0;
    return bw_token_issue(&a->signer, &cl, a->token, sizeof(a->token), &n);
}

bw_err agent_net_open(struct agent_net **out, const struct agent_conf *c, const char *device_key,
                      const char *device_cert, const char *device_id)
{
    struct agent_net *a;
    struct bw_ec_key ec;
    bw_err rc;

    *out = NULL;
    bw_ec_key_init(&ec);
    a = bw_calloc(1, sizeof(*a));
    if (!a)
        return BW_E_NOMEM;
    a->c = c;
    a->fd = -1;
    snprintf(a->device_id, sizeof(a->device_id), "%s", device_id);
    snprintf(a->cert, sizeof(a->cert), "%s", device_cert);
    rc = bw_devkey_open(device_key, &a->key);
    if (!rc)
        rc = bw_devkey_signer(a->key, &a->signer);
    if (!rc && strcmp(bw_devkey_scheme(a->key), "file")) {
        fprintf(stderr, "bulwark-agent: mTLS needs a file: device key for now (%s)\n",
                bw_devkey_scheme(a->key));
        rc = BW_E_UNSUPPORTED;
    }
    if (!rc)
        rc = bw_devkey_export_private(a->key, &ec);
    if (!rc)
        rc = bw_ec_export(&ec, 1, 1, a->pem, sizeof(a->pem), &a->pem_len);
    bw_ec_key_clear(&ec);
    if (!rc)
        rc = new_token(a);
    if (!rc && !(a->h = curl_easy_init()))
        rc = BW_E_NOMEM;
    if (rc) {
        agent_net_close(a);
        return rc;
    }
    *out = a;
    return BW_OK;
}

void agent_net_close(struct agent_net *a)
{
    if (!a)
        return;
    if (a->h)
        curl_easy_cleanup(a->h);
    bw_devkey_close(a->key);
    bw_wipe(a->pem, sizeof(a->pem));
    bw_wipe(a->token, sizeof(a->token));
    bw_free(a->body);
    bw_free(a);
}

const char *agent_net_body(const struct agent_net *a)
{
    return a->body ? a->body : "";
}

size_t agent_net_body_len(const struct agent_net *a)
{
    return a->len;
}

/* One request; *status gets the HTTP status. BW_E_IO when no answer came. */
static bw_err perform(struct agent_net *a, const char *path, const char *post, int download,
                      const char *range, long *status)
{
    struct curl_blob key = {a->pem, a->pem_len, CURL_BLOB_COPY};
    struct curl_slist *hdr = NULL, *h2;
    char url[AGENT_STR_MAX + 256], auth[BW_TOKEN_MAX + 32];
    unsigned attempt;
    bw_err rc = BW_E_IO;

    snprintf(url, sizeof(url), "%s%s", a->c->gateway, path);
    for (attempt = 0; attempt < 2; attempt++) {
        CURLcode cc;
        long connects = 0;

        curl_slist_free_all(hdr);
        hdr = NULL;
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
        if (!(h2 = curl_slist_append(hdr, auth)))
            break;
        hdr = h2;
        if (!(h2 = curl_slist_append(hdr, post ? "Content-Type: application/json" : "Accept: */*")))
            break;
        hdr = h2;
        if (range && !(h2 = curl_slist_append(hdr, range)))
            break;
        hdr = range ? h2 : hdr;
        a->len = 0;
        a->got = 0;
        a->first_write = 1;
        if (a->body)
            a->body[0] = 0;
        curl_easy_reset(a->h); /* keeps the connection and TLS session caches */
        curl_easy_setopt(a->h, CURLOPT_URL, url);
        curl_easy_setopt(a->h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(a->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(a->h, CURLOPT_SSLCERT, a->cert);
        curl_easy_setopt(a->h, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(a->h, CURLOPT_SSLKEY_BLOB, &key);
        if (*a->c->ca_cert)
            curl_easy_setopt(a->h, CURLOPT_CAINFO, a->c->ca_cert);
        curl_easy_setopt(a->h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(a->h, CURLOPT_CONNECTTIMEOUT, (long)a->c->timeout);
        curl_easy_setopt(a->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(a->h, CURLOPT_LOW_SPEED_TIME, (long)a->c->timeout);
        if (!a->token_used)
            curl_easy_setopt(a->h, CURLOPT_FRESH_CONNECT, 1L);
        if (post) {
            curl_easy_setopt(a->h, CURLOPT_POSTFIELDS, post);
            curl_easy_setopt(a->h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
        }
        if (download) {
            curl_easy_setopt(a->h, CURLOPT_WRITEFUNCTION, on_file);
            if (a->c->download_rate)
                curl_easy_setopt(a->h, CURLOPT_MAX_RECV_SPEED_LARGE,
                                 (curl_off_t)a->c->download_rate);
        } else {
            curl_easy_setopt(a->h, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(a->h, CURLOPT_TIMEOUT, (long)a->c->timeout * 2);
        }
        curl_easy_setopt(a->h, CURLOPT_WRITEDATA, a);
        curl_easy_setopt(a->h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(a->h, CURLOPT_XFERINFOFUNCTION, on_progress);
        cc = curl_easy_perform(a->h);
        *status = 0;
        curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, status);
        curl_easy_getinfo(a->h, CURLINFO_NUM_CONNECTS, &connects);
        if (cc != CURLE_OK && !(download && *status >= 200 && *status < 300 && a->got)) {
            fprintf(stderr, "bulwark-agent: %s: %s\n", path, curl_easy_strerror(cc));
            rc = BW_E_IO;
            break;
        }
        if (cc != CURLE_OK) { /* a download broke off: what came is kept */
            fprintf(stderr, "bulwark-agent: %s: %s after %llu bytes\n", path,
                    curl_easy_strerror(cc), (unsigned long long)a->got);
            rc = BW_E_IO;
            break;
        }
        rc = BW_OK;
        /* a new connection with a token that an earlier one carried: the
         * gateway refuses it as a replay; once more with a fresh token */
        if (*status == 401 && connects > 0 && a->token_used && attempt == 0) {
            if (new_token(a)) {
                rc = BW_E_CRYPTO;
                break;
            }
            continue;
        }
        a->token_used = 1;
        break;
    }
    curl_slist_free_all(hdr);
    bw_wipe(auth, sizeof(auth));
    return rc;
}

bw_err agent_net_post(struct agent_net *a, const char *path, const char *json, long *status)
{
    return perform(a, path, json, 0, NULL, status);
}

bw_err agent_net_download(struct agent_net *a, const char *sha256, int fd, uint64_t have,
                          uint64_t size, uint64_t *got, long *status)
{
    char path[128], range[160];
    bw_err rc;

    snprintf(path, sizeof(path), "/api/v1/device/download/%s", sha256);
    snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)have);
    a->fd = fd;
    a->have = have;
    a->limit = size;
    /* If-Range would be the stricter choice, but the URL names the content
     * by its digest already: it cannot change under the same path */
    rc = perform(a, path, NULL, 1, have ? range : NULL, status);
    *got = a->got;
    a->fd = -1;
    return rc;
}
