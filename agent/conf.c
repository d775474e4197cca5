/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.conf: every option is one row of the table below, which
 * host/conf.c's loader uses to parse the file, fill defaults and print
 * the commented sample (`bulwark-agent --sample-config`). The
 * device itself (key, certificate, slots, boot state) comes from the
 * device.conf this file names.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "bwh/cryptomode.h"
#include "bwh/device.h"
#include "bwh/host.h"

/* designated, so that the rows may leave check and example out */
#define S(f)                                                                                       \
    .type = BWH_CONF_STR, .off = offsetof(struct agent_conf, f),                                    \
    .cap = sizeof(((struct agent_conf *)0)->f)
#define U(f) .type = BWH_CONF_U64, .off = offsetof(struct agent_conf, f), .cap = 8
#define BOOL(f) .type = BWH_CONF_BOOL, .off = offsetof(struct agent_conf, f), .cap = sizeof(int)
static const struct bwh_conf_row rows[] = {
    {"device_config", S(device_config), "/etc/bulwark/device.conf",
     "the device's device.conf: key, certificate, slots, boot state, security log"},
    {"crypto_mode", S(crypto_mode), "default",
     "default, or approved: OpenSSL's FIPS provider only, approved TLS suites and groups "
     "only (docs/fips.md); device.conf's crypto_mode = approved also turns it on",
     .check = bwh_crypto_mode_check},
    {"gateway", S(gateway), NULL, "gateway base URL, https://HOST:PORT",
     .example = "https://gateway.example:8443"},
    {"ca_cert", S(ca_cert), "", "CA bundle that signs the gateway's certificate; none: the system's"},
    {"audience", S(audience), "bulwark-gateway", "aud of the device tokens (gateway's token_audience)"},
    {"device_id", S(device_id), "", "device id (default: the CN of the device certificate)"},
    {"state_dir", S(state_dir), "", "agent state and partial downloads (default: data_dir/agent)"},
    {"policy", S(policy_name), "automatic",
     "automatic: install when offered; notify: only report and log that an update is "
     "available; manual: install after 'bulwark-agent --install-now'"},
    {"window", S(window), "",
     "maintenance window HH:MM-HH:MM in local time (may wrap midnight); empty: any time. "
     "Forced actions ignore it"},
    {"reboot_command", S(reboot_command), "systemctl reboot",
     "run after an install; the new image boots on trial"},
    {"health_command", S(health_command), "",
     "run after booting a trial image; exit 0 confirms it, anything else rolls back "
     "(empty: the agent running is the health check)"},
    {"health_timeout", U(health_timeout), "300", "seconds the health check may take"},
    {"attributes", S(attributes), "", "attributes sent at check-in: name=value,name=value"},
    {"version", S(version), "", "version reported at check-in (default: the release installed)"},
    {"enroll", BOOL(enroll), "false",
     "true: enroll over EST (the gateway's /.well-known/est/) for an operational "
     "certificate, use it for the device API and renew it at two thirds of its lifetime; "
     "the birth certificate then only enrolls (docs/identity.md)"},
    {"op_key", S(op_key), "",
     "the operational key, a key URI as device_key (generated there when absent); "
     "empty: the device key"},
    {"poll_min", U(poll_min), "10", "shortest poll interval accepted from the gateway (s)"},
    {"poll_max", U(poll_max), "86400", "longest poll interval accepted from the gateway (s)"},
    {"jitter", U(jitter), "10", "random spread added to each wait, percent"},
    {"retry_min", U(retry_min), "5", "first wait after the gateway could not be reached (s)"},
    {"retry_max", U(retry_max), "900", "longest wait between retries (s); doubles up to it"},
    {"download_rate", U(download_rate), "0", "download speed limit, bytes/s (0: none)"},
    {"timeout", U(timeout), "30", "connect timeout, and seconds a transfer may stall (s)"},
    {"low_speed_limit", U(low_speed_limit), "100",
     "a transfer slower than this many bytes/s over low_speed_time is cut (0: no limit)"},
    {"low_speed_time", U(low_speed_time), "60", "window of the low-speed limit (s)"},
    {"request_timeout", U(request_timeout), "60",
     "longest a check-in or report may take in all, a new connection included (s)"},
    {"download_timeout", U(download_timeout), "3600",
     "longest one download request may take (s); a cut download resumes next cycle"},
    {"token_ttl", U(token_ttl), "300", "lifetime of each device token (s, at most 3600)"},
    {"keep_connection", BOOL(keep_connection), "false",
     "true: the TLS connection to the gateway stays open between polls and the next check-in "
     "goes out on it (no handshake; the gateway's idle_timeout must exceed the poll interval); "
     "false: one connection per cycle"},
    {"tls_resume", BOOL(tls_resume), "false",
     "true: the TLS session (ticket) is kept between connections and offered on the next one "
     "(a resumed handshake instead of a full one); dropped with a new certificate, key, CA or "
     "gateway URL"},
    {"tuf_metadata", S(tuf_metadata), "",
     "directory of the device's trusted TUF metadata (docs/trust.md); empty: DATA_DIR/tuf "
     "when `bulwark device init --tuf-root` put a root.json there, else no TUF (the release "
     "key alone decides); off: no TUF"},
    {"tuf_url", S(tuf_url), "", "the TUF repository's metadata URL; empty: GATEWAY/tuf/metadata/"},
    {"tuf_hardware", S(tuf_hardware), "",
     "this device's hardware as the repository's targets name it (bulwark repo add-target "
     "--hardware); a target for other hardware is refused. Empty: not checked"},
    {"secondaries", S(secondaries), "",
     "microcontrollers this agent acts for over a serial link: their secondary.conf files, "
     "comma-separated (bulwark-agent --sample-secondary; docs/mcu.md)"},
    {"consent", S(consent_name), "no",
     "yes: a consumer device; every update waits for the user's 'bulwark-agent --consent' "
     "before it downloads (the gateway may also ask for it per campaign)"},
    {"update_lock", S(update_lock), "",
     "the update lock file: an application holding a shared flock on it (flock -s FILE CMD, or "
     "'bulwark-agent --lock CMD') keeps the agent from installing (default: STATE_DIR/update.lock)"},
    {"lock_max_hold", U(lock_max_hold), "3600",
     "seconds the update lock may keep an offered update waiting; then it installs anyway "
     "(0: wait as long as the lock is held)"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* Two decimal digits at s, at most max. -1 otherwise. */
static int two_digits(const char *s, int max)
{
    int v;

    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    v = (s[0] - '0') * 10 + (s[1] - '0');
    return v <= max ? v : -1;
}

bw_err agent_window_parse(const char *s, int *start, int *end)
{
    int h1, m1, h2, m2;

    *start = *end = -1;
    if (!*s)
        return BW_OK;
    /* exactly HH:MM-HH:MM */
    if (strlen(s) != 11 || s[2] != ':' || s[5] != '-' || s[8] != ':')
        return BW_E_FORMAT;
    h1 = two_digits(s, 23);
    m1 = two_digits(s + 3, 59);
    h2 = two_digits(s + 6, 23);
    m2 = two_digits(s + 9, 59);
    if (h1 < 0 || m1 < 0 || h2 < 0 || m2 < 0 || (h1 == h2 && m1 == m2))
        return BW_E_FORMAT;
    *start = h1 * 60 + m1;
    *end = h2 * 60 + m2;
    return BW_OK;
}

int agent_window_open(int start, int end, int m)
{
    if (start < 0)
        return 1;
    if (start < end)
        return m >= start && m < end;
    return m >= start || m < end; /* wraps midnight */
}

/* Each secondary.conf loads (says why on stderr otherwise), and no two
 * share a state directory with each other or with the agent. */
static bw_err check_secondaries(const struct agent_conf *c)
{
    char list[AGENT_PATH_MAX], *p, *save = NULL;
    struct agent_secondary *s = bwh_malloc(sizeof(*s));
    char (*dirs)[AGENT_PATH_MAX] = bwh_malloc(AGENT_SECONDARY_MAX * AGENT_PATH_MAX);
    size_t n = 0, i;
    bw_err rc = BW_E_NOMEM;

    if (!s || !dirs)
        goto out;
    snprintf(list, sizeof(list), "%s", c->secondaries);
    rc = BW_OK;
    for (p = strtok_r(list, ",", &save); p && !rc; p = strtok_r(NULL, ",", &save)) {
        if (n == AGENT_SECONDARY_MAX) {
            fprintf(stderr, "secondaries: at most %d\n", AGENT_SECONDARY_MAX);
            rc = BW_E_FORMAT;
            break;
        }
        if ((rc = agent_secondary_load(s, c, p)))
            break;
        snprintf(dirs[n++], AGENT_PATH_MAX, "%s", s->c.state_dir);
    }
    for (i = 0; i < n && !rc; i++) {
        size_t j;

        for (j = 0; j <= i && !rc; j++) {
            if (!strcmp(dirs[i], j == i ? c->state_dir : dirs[j])) {
                fprintf(stderr, "secondaries: state_dir %s is used twice\n", dirs[i]);
                rc = BW_E_FORMAT;
            }
        }
    }
out:
    bwh_free(s);
    bwh_free(dirs);
    return rc;
}

static bw_err finish(struct agent_conf *c, const char *path)
{
    struct bwh_device_conf dc;
    const char *why = NULL;

    if (!strcmp(c->policy_name, "automatic"))
        c->policy = POLICY_AUTOMATIC;
    else if (!strcmp(c->policy_name, "notify"))
        c->policy = POLICY_NOTIFY;
    else if (!strcmp(c->policy_name, "manual"))
        c->policy = POLICY_MANUAL;
    else
        why = "policy: automatic, notify or manual";
    if (!strcmp(c->consent_name, "yes"))
        c->consent = 1;
    else if (strcmp(c->consent_name, "no"))
        why = "consent: yes or no";
    if (!why && agent_window_parse(c->window, &c->window_start, &c->window_end))
        why = "window: HH:MM-HH:MM";
    if (!why && strncmp(c->gateway, "https://", 8))
        why = "gateway: an https:// URL";
    if (!why && (c->poll_min < 1 || c->poll_max < c->poll_min))
        why = "poll_min: at least 1 and not above poll_max";
    if (!why && (c->retry_min < 1 || c->retry_max < c->retry_min))
        why = "retry_min: at least 1 and not above retry_max";
    if (!why && c->jitter > 100)
        why = "jitter: 0 to 100 percent";
    if (!why && (c->token_ttl < 30 || c->token_ttl > 3600))
        why = "token_ttl: 30 to 3600 seconds";
    if (!why && (strlen(c->audience) > 128 || strlen(c->device_id) > 128))
        why = "audience, device_id: at most 128 bytes (token claims)";
    if (!why && (c->timeout < 1 || c->health_timeout < 1))
        why = "timeout, health_timeout: at least 1";
    if (!why && (c->timeout > 3600 || c->request_timeout < 1 || c->request_timeout > 86400 ||
                 c->download_timeout < 1 || c->download_timeout > 7 * 86400))
        why = "timeout: 1 to 3600, request_timeout: 1 to 86400, download_timeout: 1 to 604800";
    if (!why && (c->low_speed_time < 1 || c->low_speed_time > 86400))
        why = "low_speed_time: 1 to 86400 seconds";
    if (!why && c->download_rate && c->download_rate < c->low_speed_limit)
        why = "download_rate: not below low_speed_limit (the agent would cut its own downloads)";
    if (why) {
        fprintf(stderr, "%s: %s\n", path, why);
        return BW_E_FORMAT;
    }
    if (bwh_device_conf_load(&dc, c->device_config)) /* says why itself */
        return BW_E_FORMAT;
    if (!*c->state_dir)
        snprintf(c->state_dir, sizeof(c->state_dir), "%.4000s/agent", dc.data_dir);
    if (!*c->update_lock)
        snprintf(c->update_lock, sizeof(c->update_lock), "%.4000s/update.lock", c->state_dir);
    return check_secondaries(c);
}

bw_err agent_conf_load(struct agent_conf *c, const char *path)
{
    bw_err rc;

    memset(c, 0, sizeof(*c));
    rc = bwh_conf_load(c, rows, N_ROWS, path);
    if (!rc) /* before finish() reads device.conf (which may turn it on too) */
        rc = bwh_crypto_mode_conf(c->crypto_mode, path);
    return rc ? rc : finish(c, path);
}

void agent_conf_sample(FILE *f)
{
    bwh_conf_sample(f, rows, N_ROWS,
                   "# bulwark-agent configuration (bulwark-agent --sample-config)\n"
                   "# key = value; lines starting with # are comments.\n");
}
