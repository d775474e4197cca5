/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TLS client setup the HTTP client (host/http.c) and the gateway load
 * generators share (host/tlsclient.c): a verifying OpenSSL context, the
 * device's certificate and in-memory key, and a TCP connect plus handshake
 * bounded in time. Host-only (links libssl); no HTTP here.
 */
#ifndef BULWARK_TLSCLIENT_H
#define BULWARK_TLSCLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "bulwark/bulwark.h"

/* Initialises OpenSSL without reading openssl.cnf: nothing in it is needed
 * here, and reading it loads whatever modules and providers the system
 * lists, in every process. Call it before anything else uses OpenSSL (any
 * later use finds the library initialised); BW_E_CRYPTO if it fails. */
BW_NODISCARD bw_err bwh_tls_init(void);

/* A client context that verifies the server: certificates from ca_file (a
 * PEM bundle), or the system's default store when ca_file is NULL or "";
 * TLS 1.2 at least. With cert_file (PEM, chain allowed) and key_pem (a PEM
 * private key, key_len bytes, copied) the context presents them (mTLS).
 * Calls bwh_tls_init.
 * err (cap bytes) gets a one-line reason on failure. BW_E_IO for a file
 * that cannot be read, BW_E_KEY for a key or certificate OpenSSL refuses,
 * BW_E_NOMEM. The caller frees *ctx with SSL_CTX_free. Thread-safe. */
BW_NODISCARD bw_err bwh_tls_ctx_new(SSL_CTX **ctx, const char *ca_file, const char *cert_file,
                                   const uint8_t *key_pem, size_t key_len, char *err,
                                   size_t cap);
/* Presents key (a private key, e.g. from bwh_tls_devkey) with the
 * context's client certificate, which it must match. BW_E_KEY with err. */
BW_NODISCARD bw_err bwh_tls_ctx_key(SSL_CTX *ctx, EVP_PKEY *key, char *err, size_t cap);

struct bwh_devkey;
/* An OpenSSL key whose signatures are made by the open device key k
 * (any backend: file, pkcs11:, tpm:) through bwh_devkey_sign: the
 * private key stays in its token or TPM. ECDSA P-256 only; k must stay
 * open as long as *key or a context holding it lives (each signature is
 * one bwh_devkey_sign call, not thread-safe for one k). *key is freed
 * with EVP_PKEY_free. BW_E_NOTFOUND if k has no key, BW_E_CRYPTO. */
BW_NODISCARD bw_err bwh_tls_devkey(struct bwh_devkey *k, EVP_PKEY **key);

/* Parses a PEM private key (for per-connection keys). BW_E_KEY. */
BW_NODISCARD bw_err bwh_tls_key_pem(const uint8_t *pem, size_t len, EVP_PKEY **key);

/* Connects to host:port (a DNS name or an IP literal, IPv6 without
 * brackets) and completes the handshake within timeout_ms in all; the
 * server's certificate must chain to the context's CAs and name host (DNS
 * name or IP address, as the host is). crt/key, when not NULL, are this
 * connection's client certificate and key (else the context's). resume,
 * when not NULL, is a session of an earlier connection to the same server
 * (SSL_get1_session), offered for resumption (SSL_session_reused on *ssl
 * tells whether the server took it). On success
 * *fd is a non-blocking socket and *ssl the connection (the caller closes
 * both). stop, when not NULL, is polled at least once a second: non-zero
 * ends the attempt. err (cap bytes) says why it failed: name resolution,
 * connect, timeout, or the certificate check with OpenSSL's reason.
 * BW_E_IO for the network, BW_E_AUTH when the server's certificate was
 * refused, BW_E_NOMEM. Thread-safe. */
BW_NODISCARD bw_err bwh_tls_connect(SSL_CTX *ctx, const char *host, const char *port,
                                   unsigned timeout_ms, X509 *crt, EVP_PKEY *key,
                                   SSL_SESSION *resume, volatile const sig_atomic_t *stop, int *fd,
                                   SSL **ssl, char *err, size_t cap);

/* The TCP part of bwh_tls_connect alone (plain http): connects to one of
 * host's addresses within timeout_ms; *fd is a non-blocking socket the
 * caller closes. BW_E_IO with err saying why (resolution, refused, "timed
 * out (connect limit)", stopped). Thread-safe. */
BW_NODISCARD bw_err bwh_tcp_connect(const char *host, const char *port, unsigned timeout_ms,
                                   volatile const sig_atomic_t *stop, int *fd, char *err,
                                   size_t cap);

/* Waits until fd is ready for what the last SSL call on it asked (want
 * from SSL_get_error: SSL_ERROR_WANT_READ or _WRITE), at most ms. 1 ready,
 * 0 timed out, -1 error or interrupted by a signal. */
int bwh_tls_wait(int fd, int want, int ms);

#endif
