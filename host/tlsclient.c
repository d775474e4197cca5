/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A verifying TLS client over OpenSSL's libssl (include/bwh/tlsclient.h), for
 * the device agent and the gateway load generators: context, client
 * certificate, bounded connect and handshake, hostname or IP check.
 * Not an HTTP client: host/http.c speaks HTTP/1.1 over it (and over the
 * plain TCP connect here).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bwh/cryptomode.h"
#include "bwh/tlsclient.h"

/* OpenSSL's last error as text, or what when it has none. */
static void ssl_reason(char *err, size_t cap, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    if (!e) {
        snprintf(err, cap, "%s", what);
        return;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, cap, "%s: %s", what, buf);
    ERR_clear_error();
}

bw_err bwh_tls_init(void)
{
    return OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) == 1 ? BW_OK : BW_E_CRYPTO;
}

bw_err bwh_tls_key_pem(const uint8_t *pem, size_t len, EVP_PKEY **key)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);

    *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return *key ? BW_OK : BW_E_KEY;
}

bw_err bwh_tls_ctx_new(SSL_CTX **out, const char *ca_file, const char *cert_file,
                      const uint8_t *key_pem, size_t key_len, char *err, size_t cap)
{
    SSL_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    bw_err rc = BW_E_NOMEM;

    *out = NULL;
    if (bwh_tls_init() ||
        !(ctx = SSL_CTX_new(TLS_client_method()))) {
        ssl_reason(err, cap, "TLS context");
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* crypto_mode = approved: approved suites and groups only (the FIPS
     * provider would refuse the others' primitives during the handshake;
     * offering them would only fail later and less clearly) */
    if (bwh_crypto_mode() == BWH_CRYPTO_APPROVED &&
        (SSL_CTX_set_cipher_list(ctx, BWH_FIPS_OSSL_CIPHERS) != 1 ||
         SSL_CTX_set_ciphersuites(ctx, BWH_FIPS_OSSL_SUITES) != 1 ||
         SSL_CTX_set1_groups_list(ctx, BWH_FIPS_OSSL_GROUPS) != 1)) {
        ssl_reason(err, cap, "approved TLS suites");
        rc = BW_E_CRYPTO;
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* the per-connection read and write buffers are released while a
     * connection waits, instead of 2 x 17 KiB held for its whole life */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    rc = BW_E_IO;
    if (ca_file && *ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            ssl_reason(err, cap, "CA certificates");
            goto out;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        ssl_reason(err, cap, "system CA certificates");
        goto out;
    }
    rc = BW_E_KEY;
    if (cert_file && SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        ssl_reason(err, cap, "client certificate");
        goto out;
    }
    if (key_pem) {
        if (bwh_tls_key_pem(key_pem, key_len, &key)) {
            ssl_reason(err, cap, "client key");
            goto out;
        }
        rc = bwh_tls_ctx_key(ctx, key, err, cap);
        if (rc)
            goto out;
    }
    rc = BW_OK;
out:
    EVP_PKEY_free(key);
    if (rc)
        SSL_CTX_free(ctx);
    else
        *out = ctx;
    return rc;
}

bw_err bwh_tls_ctx_key(SSL_CTX *ctx, EVP_PKEY *key, char *err, size_t cap)
{
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_reason(err, cap, "client key");
        return BW_E_KEY;
    }
    return BW_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bwh_tls_wait(int fd, int want, int ms)
{
    struct pollfd p = {.fd = fd, .events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
    int n = poll(&p, 1, ms);

    return n < 0 ? -1 : n > 0;
}

/* Waits for fd until deadline, in slices of at most a second so that stop
 * is seen. 1 ready, 0 timed out, -1 stopped or failed. */
static int wait_until(int fd, int want, int64_t deadline, volatile const sig_atomic_t *stop)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        int r;

        if (stop && *stop)
            return -1;
        if (left <= 0)
            return 0;
        r = bwh_tls_wait(fd, want, left > 1000 ? 1000 : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* A non-blocking TCP connection to one of host's addresses. */
static bw_err tcp_connect(const char *host, const char *port, int64_t deadline,
                          volatile const sig_atomic_t *stop, int *out, char *err, size_t cap)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, g, one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    g = getaddrinfo(host, port, &hints, &res);
    if (g) {
        snprintf(err, cap, "cannot resolve %s: %s", host, gai_strerror(g));
        return BW_E_IO;
    }
    snprintf(err, cap, "cannot connect to %s port %s", host, port);
    for (ai = res; ai; ai = ai->ai_next) {
        int soerr = 0, w;
        socklen_t sl = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            w = wait_until(fd, SSL_ERROR_WANT_WRITE, deadline, stop);
            if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && !soerr)
                break;
            if (w == 0)
                snprintf(err, cap, "connecting to %s port %s: timed out (connect limit)", host,
                         port);
            else if (soerr)
                snprintf(err, cap, "connecting to %s port %s: %s", host, port, strerror(soerr));
        } else {
            snprintf(err, cap, "connecting to %s port %s: %s", host, port, strerror(errno));
        }
        close(fd);
        fd = -1;
        if (stop && *stop)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return BW_E_IO;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = fd;
    return BW_OK;
}

bw_err bwh_tcp_connect(const char *host, const char *port, unsigned timeout_ms,
                       volatile const sig_atomic_t *stop, int *fd, char *err, size_t cap)
{
    *fd = -1;
    return tcp_connect(host, port, now_ms() + timeout_ms, stop, fd, err, cap);
}

bw_err bwh_tls_connect(SSL_CTX *ctx, const char *host, const char *port, unsigned timeout_ms,
                      X509 *crt, EVP_PKEY *key, SSL_SESSION *resume,
                      volatile const sig_atomic_t *stop, int *fd_out, SSL **ssl_out, char *err,
                      size_t cap)
{
    int64_t deadline = now_ms() + timeout_ms;
    unsigned char ip[16];
    int fd = -1, is_ip;
    SSL *ssl = NULL;
    bw_err rc;

    *fd_out = -1;
    *ssl_out = NULL;
    is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if ((rc = tcp_connect(host, port, deadline, stop, &fd, err, cap)))
        return rc;
    rc = BW_E_NOMEM;
    if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1) {
        ssl_reason(err, cap, "TLS connection");
        goto out;
    }
    if ((crt && SSL_use_certificate(ssl, crt) != 1) || (key && SSL_use_PrivateKey(ssl, key) != 1)) {
        ssl_reason(err, cap, "client certificate");
        rc = BW_E_KEY;
        goto out;
    }
    /* the name to check: an IP literal must be an IP address entry of the
     * certificate, a DNS name a DNS entry (and goes out as SNI) */
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
              : SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1) {
        ssl_reason(err, cap, "TLS server name");
        goto out;
    }
    /* a session from an earlier connection to this server: offered; the
     * server may still insist on a full handshake (an unknown ticket key) */
    if (resume && SSL_set_session(ssl, resume) != 1)
        ERR_clear_error(); /* not resumable here: a full handshake then */
    rc = BW_E_IO;
    for (;;) {
        int r = SSL_connect(ssl), e, w;
        long v;

        if (r == 1)
            break;
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            w = wait_until(fd, e, deadline, stop);
            if (w > 0)
                continue;
            snprintf(err, cap, "TLS handshake with %s: %s", host,
                     w ? "stopped" : "timed out (connect limit)");
            goto out;
        }
        v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK) {
            snprintf(err, cap, "TLS: the certificate of %s is refused: %s", host,
                     X509_verify_cert_error_string(v));
            ERR_clear_error();
            rc = BW_E_AUTH;
            goto out;
        }
        if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
            snprintf(err, cap, "TLS handshake with %s: %s", host,
                     errno ? strerror(errno) : "connection closed");
        else
            ssl_reason(err, cap, "TLS handshake");
        goto out;
    }
    *fd_out = fd;
    *ssl_out = ssl;
    return BW_OK;
out:
    SSL_free(ssl);
    close(fd);
    return rc;
}
