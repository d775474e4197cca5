/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway.conf: every option is one row of the table below, which
 * host/conf.c's loader uses to parse the file, fill defaults and print
 * the documented sample (`bulwark-gateway --sample-config`).
 */
#define _DEFAULT_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "bwh/cryptomode.h"
#include "bwh/host.h"

/* designated, so that the rows may leave check and example out */
#define S(f) .type = BWH_CONF_STR, .off = offsetof(struct gw_conf, f), .cap = sizeof(((struct gw_conf *)0)->f)
#define U(f) .type = BWH_CONF_U64, .off = offsetof(struct gw_conf, f), .cap = 8
#define BOOL(f) .type = BWH_CONF_BOOL, .off = offsetof(struct gw_conf, f), .cap = sizeof(int)
#define ID(f) .type = BWH_CONF_UUID, .off = offsetof(struct gw_conf, f), .cap = 16
static const struct bwh_conf_row rows[] = {
    {"listen", S(listen), "127.0.0.1:8443", "address and port of the HTTPS listener"},
    {"crypto_mode", S(crypto_mode), "default",
     "default, or approved: OpenSSL's FIPS provider only, approved TLS suites and groups "
     "only (docs/fips.md)", .check = bwh_crypto_mode_check},
    {"tls_cert", S(tls_cert), NULL, "server certificate chain, PEM"},
    {"tls_key", S(tls_key), NULL, "server private key, PEM"},
    {"client_ca", S(client_ca), NULL,
     "CA that issued the device certificates (bulwark provision's ca.crt): mTLS"},
    {"database", S(database), "sqlite:/var/lib/bulwark-gateway/registry.db",
     "registry: sqlite:PATH, or postgresql://... for several gateway instances"},
    {"sqlite_exclusive", BOOL(sqlite_exclusive), "false",
     "true: this gateway is the only program that opens its sqlite: registry; SQLite then "
     "locks the file once for the process and keeps the WAL index in memory, which saves two "
     "file-lock calls per registry read (per device poll), and any other process opening the "
     "file (sqlite3, a second gateway) gets 'database is locked' while it runs"},
    {"blob_dir", S(blob_dir), "/var/lib/bulwark-gateway/blobs",
     "release packages, stored by their SHA-256"},
    {"release_keys", S(release_keys), NULL, "public key(s) that sign releases, PEM"},
    {"vendor_id", ID(vendor_id), NULL, "vendor id releases must assert"},
    {"class_id", ID(class_id), NULL, "class id releases must assert"},
    {"operator_tokens", S(operator_tokens), NULL,
     "operator bearer tokens: lines 'ROLE NAME SHA256-OF-TOKEN', ROLE admin|release-manager|viewer"},
    {"token_audience", S(token_audience), "bulwark-gateway",
     "audience device tokens must name (bulwark token --aud)"},
    {"token_replay_slots", U(token_replay_slots), "262144",
     "device tokens remembered until they expire (60 bytes each): at least the tokens the "
     "fleet presents within a token lifetime; when full, new connections get 503 until some "
     "expire"},
    {"token_device_quota", U(token_device_quota), "32",
     "device tokens one device may have in the replay table at once; beyond it that "
     "device's new tokens get 429 until some expire, other devices are unaffected"},
    {"ddi_tenant", S(ddi_tenant), "DEFAULT",
     "hawkBit tenant in DDI paths (/TENANT/controller/v1/ID) for SWUpdate devices"},
    {"mender_key", S(mender_key), "",
     "P-256 private key (PEM) that signs Mender device JWTs and artifact links; give every "
     "gateway instance of one registry the same file. Empty: a new key per process, so a "
     "restart sends Mender clients to authenticate again"},
    {"mender_jwt_ttl", U(mender_jwt_ttl), "900", "seconds a Mender device JWT is valid (60 to 86400)"},
    {"pending_max", U(pending_max), "10000",
     "Mender identities waiting for acceptance; beyond it new auth requests get 429"},
    {"pending_ttl", U(pending_ttl), "604800",
     "seconds a pending Mender identity is kept before it is dropped"},
    {"public_url", S(public_url), "",
     "https://HOST[:PORT] devices reach this gateway at, used to build download links "
     "(never the request's Host header); empty: https:// and the listen address"},
    {"client_crl", S(client_crl), "",
     "certificate revocation list of client_ca (PEM); reloaded with SIGHUP"},
    {"crl_cert", S(crl_cert), "",
     "the certificate that signs the published CRL (/crl/devices.crl): client_ca's certificate, "
     "so verifiers find the CRL's issuer; empty: no CRL is published"},
    {"crl_key", S(crl_key), "",
     "the private key of crl_cert: a PEM file, or a pkcs11: or tpm: key URI (docs/identity.md); "
     "client_ca's key"},
    {"crl_period", U(crl_period), "86400",
     "seconds from a CRL's thisUpdate to its nextUpdate (60 to 31622400); it is signed again "
     "after half of it, and at once after a revocation"},
    {"tuf_dir", S(tuf_dir), "",
     "the fleet's TUF repository (bulwark repo): served without credentials at "
     "/tuf/metadata/, and a release is offered only when it is a target of its signed "
     "targets metadata with the same name, length and SHA-256 (docs/trust.md). Empty: TUF off"},
    {"tuf_snapshot_key", S(tuf_snapshot_key), "",
     "the online snapshot key (P-256 PEM, or a device-key URI) the repository's root lists. "
     "Empty (with tuf_timestamp_key): this instance serves the repository and checks offers "
     "but signs nothing; of several instances sharing tuf_dir give the keys to one"},
    {"tuf_timestamp_key", S(tuf_timestamp_key), "",
     "the online timestamp key the repository's root lists; root and targets keys never "
     "belong on the gateway"},
    {"tuf_timestamp_expiry", U(tuf_timestamp_expiry), "86400",
     "seconds a timestamp the gateway signs is valid (2 to 604800; seconds are for tests); signed again when half "
     "of it is left or the snapshot changed: the longest a device can be frozen unnoticed"},
    {"tuf_snapshot_expiry", U(tuf_snapshot_expiry), "604800",
     "seconds a snapshot the gateway signs is valid (2 to 31622400); signed again when "
     "half of it is left or the targets changed"},
    {"est_ca_cert", S(est_ca_cert), "",
     "EST enrollment (RFC 7030, /.well-known/est/): the operational CA's certificate (PEM) "
     "that issues devices their operational certificates; empty: no EST. Add it to the "
     "client_ca file too, so that devices can authenticate with what it issues"},
    {"est_ca_key", S(est_ca_key), "",
     "the operational CA's key: a PEM file, or a pkcs11: or tpm: URI (docs/identity.md)"},
    {"est_lifetime", U(est_lifetime), "2592000",
     "seconds an operational certificate is valid (60 to 315360000; default 30 days); "
     "devices renew at two thirds of it"},
    {"require_operational_cert", BOOL(require_operational_cert), "false",
     "true: the device API accepts only operational certificates issued over EST, the birth "
     "certificate (IDevID) only enrolls; false: both are accepted (transition)"},
    {"access_log", S(access_log), "-", "JSON-lines access log file, - for stderr"},
    {"poll_interval", U(poll_interval), "60", "seconds devices wait between polls"},
    {"max_body", U(max_body), "65536", "largest JSON request body in bytes"},
    {"max_upload", U(max_upload), "1073741824", "largest release upload in bytes"},
    {"timeout", U(timeout), "30",
     "seconds a request body may stall (and the idle limit of a connection that has not "
     "authenticated yet: see header_timeout)"},
    {"idle_timeout", U(idle_timeout), "0",
     "seconds an authenticated connection is kept open between requests, for devices that "
     "keep their connection between polls (keep_connection); each costs a descriptor and "
     "its TLS state meanwhile (docs/gateway.md \"Sizing\"). 0: poll_interval x 1.25 + 30, "
     "just over the longest wait a device is told; below poll_interval devices reconnect "
     "(resumed) at each poll"},
    {"header_timeout", U(header_timeout), "10",
     "seconds a connection has to finish the TLS handshake and send the complete headers "
     "of each request (counted from connect or the previous answer); then it is closed"},
    {"max_anonymous", U(max_anonymous), "0",
     "connections that have not yet authenticated (client certificate or an accepted "
     "request); past it the oldest is closed. 0: three quarters of max_connections"},
    {"max_per_address", U(max_per_address), "128",
     "unauthenticated connections from one IP address; more are refused at accept"},
    {"tls_prefer_aes128", BOOL(tls_prefer_aes128), "true",
     "true: the gateway picks the TLS cipher suite in its own order, AES-128-GCM (TLS 1.3: "
     "TLS_AES_128_GCM_SHA256) first, which halves the CPU of a resumed handshake against "
     "AES-256-GCM-SHA384 (GnuTLS's SHA-384 is the cost); false: the client's order"},
    {"tls_ticket_rotate", U(tls_ticket_rotate), "86400",
     "TLS session resumption: seconds each session ticket key is used (300 to 2592000); the "
     "key is random, kept in the registry and shared by every gateway instance of it, so a "
     "device that reconnects to any of them skips the full handshake. 0: no tickets"},
    {"max_upload_inflight", U(max_upload_inflight), "2147483648",
     "bytes of release uploads received at once (by declared Content-Length); more get 503"},
    {"threads", U(threads), "4", "worker threads"},
    {"max_connections", U(max_connections), "10000", "concurrent connections"},
    {"security_contact", S(security_contact), "",
     "security.txt Contact (RFC 9116), e.g. mailto:security@example.com"},
    {"security_expires", S(security_expires), "", "security.txt Expires, RFC 3339 time"},
    {"security_policy", S(security_policy), "", "security.txt Policy URL"},
    {"security_languages", S(security_languages), "en", "security.txt Preferred-Languages"},
    {"csaf_publisher", S(csaf_publisher), "",
     "CSAF provider: the publisher's name; with csaf_namespace, /.well-known/csaf/ is served"},
    {"csaf_namespace", S(csaf_namespace), "", "CSAF provider: the publisher's URL (https://...)"},
    {"delta_sources", U(delta_sources), "3",
     "deltas the gateway builds by itself for each running campaign of a bulwark release: "
     "one per source release its target devices run, for this many of the most common "
     "sources (0 to 64); 0: none by itself, only on request (POST .../deltas/SOURCE/build). "
     "Built one at a time in the background (docs/delta.md)"},
    {"delta_level", U(delta_level), "19", "zstd level of the deltas the gateway builds (1 to 22)"},
    {"delta_max_image", U(delta_max_image), "1073741824",
     "largest image, in bytes, of a source or target release the gateway builds a delta for "
     "(the build needs the source image's size in blob_dir/tmp and maps both images)"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

uint64_t gw_idle_timeout(const struct gw_conf *c)
{
    return c->idle_timeout ? c->idle_timeout : c->poll_interval + c->poll_interval / 4 + 30;
}

bw_err gw_conf_load(struct gw_conf *c, const char *path)
{
    bw_err rc;

    memset(c, 0, sizeof(*c));
    rc = bwh_conf_load(c, rows, N_ROWS, path);
    if (rc)
        return rc;
    rc = BW_E_FORMAT;
    if (c->threads < 1 || c->threads > 256)
        fprintf(stderr, "%s: threads must be 1 to 256\n", path);
    else if (c->poll_interval < 1 || c->poll_interval > 86400)
        fprintf(stderr, "%s: poll_interval must be 1 to 86400\n", path);
    else if (c->max_body < 1024 || c->max_body > (64u << 20))
        fprintf(stderr, "%s: max_body must be 1 KiB to 64 MiB\n", path);
    else if (c->timeout < 1 || c->timeout > 3600)
        fprintf(stderr, "%s: timeout must be 1 to 3600 seconds\n", path);
    else if (c->idle_timeout > 172800)
        fprintf(stderr, "%s: idle_timeout must be 0 to 172800 seconds\n", path);
    else if (c->token_replay_slots < 16 || c->token_replay_slots > (1u << 26))
        fprintf(stderr, "%s: token_replay_slots must be 16 to 67108864\n", path);
    else if (c->token_device_quota < 1)
        fprintf(stderr, "%s: token_device_quota must be at least 1\n", path);
    else if (c->header_timeout < 1 || c->header_timeout > 600)
        fprintf(stderr, "%s: header_timeout must be 1 to 600 seconds\n", path);
    else if (c->max_per_address < 1)
        fprintf(stderr, "%s: max_per_address must be at least 1\n", path);
    else if (c->mender_jwt_ttl < 60 || c->mender_jwt_ttl > 86400)
        fprintf(stderr, "%s: mender_jwt_ttl must be 60 to 86400 seconds\n", path);
    else if (c->pending_ttl < 60)
        fprintf(stderr, "%s: pending_ttl must be at least 60 seconds\n", path);
    else if (c->crl_period < 60 || c->crl_period > 366 * 86400)
        fprintf(stderr, "%s: crl_period must be 60 seconds to 366 days\n", path);
    else if (c->tls_ticket_rotate && (c->tls_ticket_rotate < 300 || c->tls_ticket_rotate > 2592000))
        fprintf(stderr, "%s: tls_ticket_rotate must be 0 or 300 to 2592000 seconds\n", path);
    else if (!c->crl_cert[0] != !c->crl_key[0])
        fprintf(stderr, "%s: crl_cert and crl_key go together\n", path);
    else if (!c->tuf_snapshot_key[0] != !c->tuf_timestamp_key[0])
        fprintf(stderr, "%s: tuf_snapshot_key and tuf_timestamp_key go together\n", path);
    else if (c->tuf_snapshot_key[0] && !c->tuf_dir[0])
        fprintf(stderr, "%s: the TUF keys need tuf_dir\n", path);
    else if (c->tuf_timestamp_expiry < 2 || c->tuf_timestamp_expiry > 7 * 86400)
        fprintf(stderr, "%s: tuf_timestamp_expiry must be 2 seconds to 7 days\n", path);
    else if (c->tuf_snapshot_expiry < 2 || c->tuf_snapshot_expiry > 366 * 86400)
        fprintf(stderr, "%s: tuf_snapshot_expiry must be 2 seconds to 366 days\n", path);
    else if (!c->est_ca_cert[0] != !c->est_ca_key[0])
        fprintf(stderr, "%s: est_ca_cert and est_ca_key go together\n", path);
    else if (c->est_lifetime < 60 || c->est_lifetime > 315360000)
        fprintf(stderr, "%s: est_lifetime must be 60 to 315360000 seconds\n", path);
    else if (c->public_url[0] && strncmp(c->public_url, "https://", 8))
        fprintf(stderr, "%s: public_url must start with https://\n", path);
    else if (c->delta_sources > 64)
        fprintf(stderr, "%s: delta_sources must be 0 to 64\n", path);
    else if (c->delta_level < 1 || c->delta_level > 22)
        fprintf(stderr, "%s: delta_level must be 1 to 22\n", path);
    else if (!strchr(c->listen, ':'))
        fprintf(stderr, "%s: listen must be ADDRESS:PORT\n", path);
    else /* before the TLS keys, the registry and the release keys are read */
        rc = bwh_crypto_mode_conf(c->crypto_mode, path);
    return rc;
}

void gw_conf_sample(FILE *f)
{
    bwh_conf_sample(f, rows, N_ROWS,
                   "# bulwark-gateway configuration: key = value, # starts a comment.\n"
                   "# Generated by bulwark-gateway --sample-config from its option table.\n");
}
