/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device identity keys behind one table of operations. A key is named by a
 * URI whose scheme picks the backend (one file each in host/identity/):
 *
 *   file:PATH[?storage-key=KEYFILE]   P-256 key in PATH, AES-256-GCM encrypted
 *                                     under a 32-byte device storage key
 *   pkcs11:module=SO;token=LABEL;object=LABEL[;pin-value=PIN|;pin-source=FILE]
 *                                     a key generated inside a PKCS#11 token
 *   tpm:[tcti=TCTI;]handle=0x81xxxxxx a persistent key inside a TPM 2.0
 *                                     (TCTI default device:/dev/tpmrm0;
 *                                     attributes split on ';' only)
 *
 * The key never leaves a PKCS#11 token or a TPM: export of the private key
 * there is refused with BW_E_DENIED. Host code (uses malloc and I/O); the
 * signer struct at the end is what the no-malloc parts (log, token) take.
 */
#ifndef BULWARK_IDENTITY_H
#define BULWARK_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/crypto.h"
#include "bulwark/err.h"


/* A signer over an in-memory key (k must outlive s). BW_E_KEY if k has no
 * private part. */
BW_NODISCARD bw_err bwh_signer_from_ec(struct bw_signer *s, const struct bw_ec_key *k);

struct bwh_devkey; /* opaque: an open key of one backend */

/* One backend. Each function returns a bw_err; BW_E_BACKEND when the
 * token, TPM or its daemon fails (details on stderr are the caller's: the
 * backend writes nothing itself; bwh_devkey_detail gives the last message). */
struct bwh_keystore_ops {
    const char *scheme; /* "file", "pkcs11", "tpm" */
    /* Parses the URI after "scheme:" and connects; does not create a key. */
    bw_err (*open)(const char *params, void **ctx);
    /* Generates a new key in place. BW_E_EXISTS if one exists and !force. */
    bw_err (*generate)(void *ctx, int force);
    /* BW_E_NOTFOUND if there is no key yet. */
    bw_err (*public_key)(void *ctx, uint8_t pub[BW_P256_PUB_LEN]);
    bw_err (*sign)(void *ctx, const uint8_t hash[BW_SHA256_LEN], uint8_t sig[BW_P256_SIG_LEN]);
    /* Copies the private key out (file backend only); BW_E_DENIED elsewhere. */
    bw_err (*export_private)(void *ctx, struct bw_ec_key *out);
    /* Destroys the key (factory reset). BW_E_NOTFOUND if there is none. */
    bw_err (*destroy)(void *ctx);
    /* The last error message of the backend, or "" (never NULL). */
    const char *(*detail)(void *ctx);
    void (*close)(void *ctx);
};

extern const struct bwh_keystore_ops bwh_keystore_file;
extern const struct bwh_keystore_ops bwh_keystore_pkcs11;
extern const struct bwh_keystore_ops bwh_keystore_tpm;

/* Opens the key named by uri (scheme picks the backend). BW_E_INVAL for an
 * unknown scheme or malformed URI, BW_E_BACKEND if the backend cannot be
 * reached. *out is freed with bwh_devkey_close. */
BW_NODISCARD bw_err bwh_devkey_open(const char *uri, struct bwh_devkey **out);
void bwh_devkey_close(struct bwh_devkey *k); /* NULL-safe */
const char *bwh_devkey_scheme(const struct bwh_devkey *k);
const char *bwh_devkey_detail(const struct bwh_devkey *k);
BW_NODISCARD bw_err bwh_devkey_generate(struct bwh_devkey *k, int force);
BW_NODISCARD bw_err bwh_devkey_public(struct bwh_devkey *k, uint8_t pub[BW_P256_PUB_LEN]);
BW_NODISCARD bw_err bwh_devkey_sign(struct bwh_devkey *k, const uint8_t hash[BW_SHA256_LEN],
                                   uint8_t sig[BW_P256_SIG_LEN]);
BW_NODISCARD bw_err bwh_devkey_export_private(struct bwh_devkey *k, struct bw_ec_key *out);
BW_NODISCARD bw_err bwh_devkey_destroy(struct bwh_devkey *k);
/* A signer over an open device key (fills s->pub; BW_E_NOTFOUND if no key). */
BW_NODISCARD bw_err bwh_devkey_signer(struct bwh_devkey *k, struct bw_signer *s);

/* The device storage key (encrypts file-backend keys and the secure store)
 * into key; key is written only on BW_OK. path is either
 *   a file name: 32 random bytes in a file of mode 0600, created from the
 *     CSPRNG when absent and create != 0 (published with link(2): two
 *     creators agree on one key); BW_E_IO for a file that cannot be read;
 *   tpm:[tcti=TCTI;]handle=0x81xxxxxx (attributes as for the TPM backend):
 *     32 bytes sealed in a keyedhash data object (fixedTPM|fixedParent|
 *     userWithAuth, empty auth) persisted at the handle and unsealed; when
 *     the handle is empty and create != 0, 32 bytes from bw_random are
 *     sealed under the SRK and persisted there first (never over an object
 *     that is there already); BW_E_INVAL for a malformed URI, BW_E_BACKEND
 *     when the TCTI or TPM fails (tss2 logs why on stderr).
 * BW_E_NOTFOUND: no key and !create. BW_E_FORMAT: a file that is not 32
 * bytes, or a handle holding anything but a sealed 32-byte data object (a
 * signing key too: the handle is never reused for something else).
 *   pkcs11:module=SO;token=LABEL;object=LABEL;[pin-...;]wrapped=FILE:
 *     32 bytes AES-256-GCM encrypted inside the token by its AES-256 key
 *     labelled object (sensitive, never extractable), kept wrapped in FILE;
 *     when FILE is absent and create != 0, the AES key is generated unless
 *     present and a new wrapped key is published (never over an existing
 *     FILE); BW_E_KEY when the token lacks the AES key or does not open
 *     FILE; BW_E_BACKEND / BW_E_DENIED when module, token or PIN refuse
 *     (the PKCS#11 detail goes to stderr); nothing is written then.
 * Thread-safe (no shared state beyond the TCTI's). */
#define BWH_STORAGE_KEY_LEN 32
BW_NODISCARD bw_err bwh_storage_key_load(const char *path, int create,
                                        uint8_t key[BWH_STORAGE_KEY_LEN]);

/* Which module holds the key named by spec (a device-key URI, a storage
 * key spec, or a plain file name), in words for reports: "file PATH",
 * "PKCS#11 module SO, token 'T', object 'O'", "TPM 2.0 ...". Returns 1 when
 * the key is inside a module (PKCS#11 or TPM), 0 when it is a file, -1 for
 * a spec that does not parse (out says why). Opens nothing. */
int bwh_key_module(const char *spec, char *out, size_t cap);
/* The PKCS#11 half of bwh_key_module (key_pkcs11.c): parses the URI only. */
BW_NODISCARD bw_err bwh_pkcs11_describe(const char *uri, char *out, size_t cap);

/*
 * Certificates (host, OpenSSL). A manufacturing CA on the factory station
 * issues each device an X.509 certificate for the key its backend holds:
 * the CSR is signed through the device key (so it works for keys that
 * never leave a token or TPM) and checked by the CA before issuing.
 */
struct bwh_ca; /* opaque: a CA certificate with its private key */

/* Creates DIR/ca.key (P-256, PKCS#8 PEM, mode 0600) and DIR/ca.crt
 * (self-signed, CA:TRUE pathlen 0, keyCertSign|cRLSign) with subject
 * "O=org, CN=org Manufacturing CA". BW_E_EXISTS if ca.key exists. */
BW_NODISCARD bw_err bwh_ca_create(const char *dir, const char *org, unsigned days);
/* The same CA with its key in a backend: key_uri is a pkcs11: or tpm: URI
 * (as for device keys); a key is generated there unless one exists (an
 * existing key is used, never replaced), and the self-signed certificate
 * is written to cert_path. BW_E_EXISTS if cert_path exists, BW_E_INVAL for
 * another scheme, or the backend's error. */
BW_NODISCARD bw_err bwh_ca_create_in(const char *cert_path, const char *key_uri, const char *org,
                                    unsigned days);
/* Loads a CA from its certificate (PEM) and key: a PEM file, or a pkcs11:
 * or tpm: URI (the key stays in the token or TPM; certificates are signed
 * through it). BW_E_KEY if they do not belong together or the
 * certificate is not a CA. */
BW_NODISCARD bw_err bwh_ca_open(const char *cert_pem_path, const char *key_pem_path,
                               struct bwh_ca **out);
void bwh_ca_free(struct bwh_ca *ca); /* NULL-safe */

/* A PKCS#10 request for the device key, subject "O=org, CN=device_id",
 * signed by the key itself. *pem is bwh_malloc'd (bwh_free) and NUL-terminated. */
BW_NODISCARD bw_err bwh_csr_make(struct bwh_devkey *k, const char *device_id, const char *org,
                                char **pem);

/* What an issued certificate says about itself. */
struct bwh_cert_info {
    uint8_t serial[16];              /* 128 random bits, big-endian: the DER
                                      * INTEGER is positive (a 0x00 byte
                                      * leads when the top bit is set) */
    uint8_t fingerprint[BW_SHA256_LEN]; /* SHA-256 of the DER certificate */
    uint8_t pub[BW_P256_PUB_LEN];
    char device_id[65];
    uint64_t not_before, not_after;  /* unix time */
};

/* Checks the CSR's signature and that its CN is device_id, then issues a
 * certificate: random 128-bit serial, validity now-1h .. now+days,
 * digitalSignature (critical), clientAuth, CA:FALSE, key identifiers.
 * BW_E_BADSIG for a CSR that does not verify, BW_E_CLAIM for another CN,
 * BW_E_KEY for a key that is not P-256. *cert_pem is bwh_malloc'd (bwh_free). */
BW_NODISCARD bw_err bwh_ca_issue(struct bwh_ca *ca, const char *csr_pem, const char *device_id,
                                unsigned days, char **cert_pem, struct bwh_cert_info *info);

/* How a certificate is cut beyond the default device profile (NULL: the
 * default). IEEE 802.1AR IDevID ("birth certificate", docs/identity.md):
 * the subject adds a serialNumber attribute (PrintableString), an
 * optional subjectAltName otherName hardwareModuleName (RFC 4108: hwType
 * OID, hwSerialNum), and notAfter may be 99991231235959Z, "no
 * well-defined expiration" (802.1AR 8.5). Key usage, clientAuth,
 * CA:FALSE and both key identifiers are as in the default profile. */
#define BWH_NOT_AFTER_NEVER "99991231235959Z"
struct bwh_cert_profile {
    int idevid;                /* 1: an IDevID (serialNumber required) */
    const char *serial_number; /* subject serialNumber; NULL: the device id
                                * for an IDevID, none otherwise */
    const char *hw_type;       /* hardwareModuleName hwType, a dotted OID;
                                * NULL: no subjectAltName */
    const uint8_t *hw_serial;  /* hwSerialNum, 1..64 bytes (with hw_type) */
    size_t hw_serial_len;
    const char *not_after;     /* YYYYMMDDHHMMSSZ (UTCTime before 2050,
                                * GeneralizedTime from then on, as RFC 5280
                                * says); NULL: now + days */
};

/* bwh_ca_issue with a profile. BW_E_INVAL also for a serial number that
 * is not a PrintableString of 1..64 characters, a hw_type without a
 * serial, a malformed OID or notAfter. */
BW_NODISCARD bw_err bwh_ca_issue_profile(struct bwh_ca *ca, const char *csr_pem,
                                        const char *device_id, unsigned days,
                                        const struct bwh_cert_profile *profile, char **cert_pem,
                                        struct bwh_cert_info *info);

/* Parses a PEM certificate into info (no chain check). BW_E_FORMAT. */
BW_NODISCARD bw_err bwh_cert_info(const char *cert_pem, size_t len, struct bwh_cert_info *info);

/*
 * Enrollment over Secure Transport (RFC 7030) for operational
 * certificates: bodies are base64 (RFC 4648; CR, LF, space and tab
 * between characters are skipped), requests PKCS#10 DER, answers a
 * certs-only PKCS#7 SignedData DER (RFC 5652, no signers). Untrusted
 * input stops at these caps (BW_E_TOOBIG).
 */
#define BWH_EST_CSR_MAX 8192   /* base64 characters of one request */
#define BWH_EST_P7_MAX 65536   /* base64 characters of one answer */

/* /cacerts: the CA's certificate as base64 certs-only PKCS#7 (bwh_free). */
BW_NODISCARD bw_err bwh_est_cacerts(const struct bwh_ca *ca, char **b64);
/* /simpleenroll and /simplereenroll: the base64 PKCS#10 request in
 * csr_b64[0..len) is checked and issued as bwh_ca_issue does (default
 * profile, notAfter now + seconds, at least 60), answered as base64
 * certs-only PKCS#7 in
 * *p7_b64 (bwh_free), and described in info. BW_E_FORMAT for bad base64,
 * DER or trailing bytes; BW_E_BADSIG, BW_E_CLAIM, BW_E_KEY as bwh_ca_issue.
 * Not thread-safe for one ca (a PKCS#11 or TPM key is one session). */
BW_NODISCARD bw_err bwh_est_issue(struct bwh_ca *ca, const char *csr_b64, size_t len,
                                 const char *device_id, unsigned seconds, char **p7_b64,
                                 struct bwh_cert_info *info);
/* The certificates of a base64 certs-only PKCS#7 as PEM, in order
 * (bwh_free). BW_E_FORMAT for anything else or no certificate. No chain
 * check: the caller verifies what it takes. */
BW_NODISCARD bw_err bwh_est_certs_pem(const char *p7_b64, size_t len, char **pem);

#endif
