/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Mender device API wire format, the subset Debian's mender-client
 * 3.4.0 speaks: the authentication request and its X-MEN-Signature, the
 * inventory, deployments/next (v2 body, v1 query) and status bodies. No
 * registry and no HTTP here, so that each parser has a fuzz target
 * (fuzz/fuzz_gw_mender.c) and a unit test.
 */
#ifndef BULWARK_GATEWAY_MENDER_H
#define BULWARK_GATEWAY_MENDER_H

#include <stddef.h>
#include <stdint.h>
#include "db.h"

#define GW_MENDER_PUBKEY_MAX 4096 /* PEM text: RSA-4096 fits */

enum gw_mender_key { GW_MENDER_RSA = 1, GW_MENDER_EC_P256 };

/* RSA keys accepted from devices: the modulus in bits (2048..4096) */
#define GW_MENDER_RSA_MIN_BITS 2048
#define GW_MENDER_RSA_MAX_BITS 4096

/* POST /api/devices/v1/authentication/auth_requests:
 * {"id_data":"<JSON object as a string>","pubkey":"<PEM>","tenant_token":""} */
struct gw_mender_auth {
    char id_data[GW_ATTRS_MAX + 1];       /* canonical JSON (sorted keys), strings only */
    char pubkey[GW_MENDER_PUBKEY_MAX + 1]; /* as sent */
    char device_id[GW_ID_MAX + 1];        /* "mender-" + 16 hex of SHA-256(id_data) */
    enum gw_mender_key key_type;
};

/*
 * Parses an auth request and verifies its signature: sig_b64 (the
 * X-MEN-Signature header, standard base64) over exactly the n body bytes,
 * with the public key the body carries: RSA (2048 to 4096 bits, public
 * exponent odd and 3..2^32-1, checked before the signature) PKCS#1 v1.5
 * with SHA-256, or ECDSA P-256 with SHA-256 (DER). The device id is
 * derived from the identity, so the same identity always names the same
 * device; whether this key may speak for it is the registry's question.
 * Errors: BW_E_FORMAT (not that JSON, id_data not an object of strings,
 * pubkey not a PEM public key of those kinds), BW_E_TOOBIG (over a cap),
 * BW_E_BADSIG (missing, malformed or wrong signature), BW_E_KEY (weak
 * key); *why says which for the 4xx answer.
 */
BW_NODISCARD bw_err gw_mender_parse_auth(const uint8_t *b, size_t n, const char *sig_b64,
                                         struct gw_mender_auth *out, const char **why);

/* An identity (id_data: a non-empty JSON object of string values, n
 * bytes) as canonical text, and the device id derived from it:
 * "mender-" + the first 16 hex digits of its SHA-256. */
BW_NODISCARD bw_err gw_mender_identity(const char *id_json, size_t n,
                                       char id_data[GW_ATTRS_MAX + 1],
                                       char device_id[GW_ID_MAX + 1], const char **why);

/* The SHA-256 of a PEM public key's DER form (SubjectPublicKeyInfo), hex:
 * one key, one fingerprint, however the PEM was wrapped. BW_E_FORMAT if
 * it is not a public key, BW_E_KEY if it is one an auth request would be
 * refused with (the RSA bounds above, or another kind). */
BW_NODISCARD bw_err gw_mender_key_fingerprint(const char *pem, char out[65]);

/* PUT /api/devices/v1/inventory/device/attributes: [{"name":S,"value":V}]
 * with V a string, a number or an array of those; as canonical JSON of
 * string values (numbers in decimal, arrays joined with ","). Names 1..64
 * bytes; at most GW_ATTRS_MAX bytes in all. */
BW_NODISCARD bw_err gw_mender_parse_inventory(const uint8_t *b, size_t n,
                                              char out[GW_ATTRS_MAX + 1], const char **why);

/* POST /api/devices/v2/deployments/device/deployments/next:
 * {"device_provides":{"artifact_name":S,"device_type":S,...},...} */
struct gw_mender_provides {
    char artifact_name[GW_ID_MAX + 1];
    char device_type[GW_ID_MAX + 1];
};
BW_NODISCARD bw_err gw_mender_parse_next(const uint8_t *b, size_t n,
                                         struct gw_mender_provides *out, const char **why);

/* PUT .../deployments/{id}/status: {"status":S[,"substate":S]} */
enum gw_mender_status {
    GW_MENDER_DOWNLOADING = 0,
    GW_MENDER_PAUSE_BEFORE_INSTALLING,
    GW_MENDER_INSTALLING,
    GW_MENDER_PAUSE_BEFORE_REBOOTING,
    GW_MENDER_REBOOTING,
    GW_MENDER_PAUSE_BEFORE_COMMITTING,
    GW_MENDER_SUCCESS,
    GW_MENDER_FAILURE,
    GW_MENDER_ALREADY_INSTALLED
};
struct gw_mender_status_body {
    enum gw_mender_status status;
    char substate[GW_FEEDBACK_MAX + 1];
};
BW_NODISCARD bw_err gw_mender_parse_status(const uint8_t *b, size_t n,
                                           struct gw_mender_status_body *out, const char **why);

/* The registry state a status means: success and already-installed:
 * SUCCESS; failure: FAILURE; the others: RUNNING. */
enum gw_action_state gw_mender_state(enum gw_mender_status s);

#endif
