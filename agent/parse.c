/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one parser of untrusted input in the agent: the gateway's check-in
 * answer. Everything is checked against what docs/protocol.md allows; the
 * download path is not followed but compared with the one the agent
 * builds from the digest, so a gateway (or whoever answers in its name)
 * cannot send the device elsewhere. Fuzzed by fuzz/fuzz_agent_checkin.c.
 */
#include <string.h>

#include <jansson.h>

#include "agent.h"

static int get_int(json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *v)
{
    json_t *x = json_object_get(o, k);

    if (!json_is_integer(x))
        return -1;
    *v = (int64_t)json_integer_value(x);
    return *v >= lo && *v <= hi ? 0 : -1;
}

/* A string of 1..cap-1 printable ASCII bytes. */
static int get_str(json_t *o, const char *k, char *out, size_t cap)
{
    json_t *x = json_object_get(o, k);
    const char *s;
    size_t n, i;

    if (!json_is_string(x))
        return -1;
    s = json_string_value(x);
    n = json_string_length(x);
    if (n == 0 || n >= cap)
        return -1;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

/* 64 lowercase hex digits */
static int is_sha256(const char *s)
{
    size_t i;

    for (i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[64] == 0;
}

/* The optional delta the gateway offers beside the package:
 * {"download":"/api/v1/device/delta/SHA256","sha256":..,"size":N,
 * "predicted":N}; absent leaves delta_size 0. */
static bw_err parse_delta(json_t *a, struct agent_action *out)
{
    json_t *x = json_object_get(a, "delta");
    char want[128], dl[128];
    int64_t v;

    if (!x || json_is_null(x))
        return BW_OK;
    if (!json_is_object(x) || get_str(x, "sha256", out->delta_sha256, sizeof(out->delta_sha256)) ||
        !is_sha256(out->delta_sha256))
        return BW_E_FORMAT;
    snprintf(want, sizeof(want), "/api/v1/device/delta/%s", out->delta_sha256);
    if (get_str(x, "download", dl, sizeof(dl)) || strcmp(dl, want))
        return BW_E_FORMAT;
    if (get_int(x, "size", 1, (int64_t)AGENT_PKG_MAX, &v))
        return BW_E_FORMAT;
    out->delta_size = (uint64_t)v;
    if (json_object_get(x, "predicted") && get_int(x, "predicted", 0, (int64_t)AGENT_PKG_MAX, &v))
        return BW_E_FORMAT;
    return BW_OK;
}

/* An optional word: absent (0), or one of the two values given (0 or 1
 * for the first or second); -1 for anything else. */
static int get_word(json_t *o, const char *k, const char *w0, const char *w1)
{
    json_t *x = json_object_get(o, k);

    if (!x)
        return 0;
    if (!json_is_string(x))
        return -1;
    return !strcmp(json_string_value(x), w0) ? 0 : !strcmp(json_string_value(x), w1) ? 1 : -1;
}

static bw_err parse_action(json_t *a, struct agent_action *out, const char **why)
{
    char dl[128], want[128];
    int64_t v;
    size_t i;

    *why = "action.id";
    if (get_int(a, "id", 1, INT64_MAX, &out->id))
        return BW_E_FORMAT;
    *why = "action.campaign";
    if (get_int(a, "campaign", 0, INT64_MAX, &out->campaign))
        return BW_E_FORMAT;
    *why = "action.type";
    if (get_str(a, "type", out->type, sizeof(out->type)) ||
        (strcmp(out->type, "forced") && strcmp(out->type, "soft") &&
         strcmp(out->type, "download-only")))
        return BW_E_FORMAT;
    *why = "action.state";
    if (get_str(a, "state", out->state, sizeof(out->state)))
        return BW_E_FORMAT;
    *why = "action.release";
    if (get_str(a, "release", out->release, sizeof(out->release)))
        return BW_E_FORMAT;
    *why = "action.sequence";
    if (get_int(a, "sequence", 0, INT64_MAX, &v))
        return BW_E_FORMAT;
    out->sequence = (uint64_t)v;
    *why = "action.size";
    if (get_int(a, "size", 1, (int64_t)AGENT_PKG_MAX, &v))
        return BW_E_FORMAT;
    out->size = (uint64_t)v;
    *why = "action.sha256";
    if (get_str(a, "sha256", out->sha256, sizeof(out->sha256)) || strlen(out->sha256) != 64)
        return BW_E_FORMAT;
    for (i = 0; i < 64; i++) {
        char ch = out->sha256[i];

        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return BW_E_FORMAT;
    }
    *why = "action.download";
    snprintf(want, sizeof(want), "/api/v1/device/download/%s", out->sha256);
    if (get_str(a, "download", dl, sizeof(dl)) || strcmp(dl, want))
        return BW_E_FORMAT;
    *why = "action.delta";
    if (parse_delta(a, out)) {
        out->delta_size = 0;
        return BW_E_FORMAT;
    }
    /* the device's say (docs/protocol.md): optional words */
    *why = "action.install";
    if ((out->later = get_word(a, "install", "now", "later")) < 0)
        return BW_E_FORMAT;
    *why = "action.lock";
    if ((out->override = get_word(a, "lock", "respect", "override")) < 0)
        return BW_E_FORMAT;
    *why = "action.consent";
    if ((out->consent = get_word(a, "consent", "given", "required")) < 0)
        return BW_E_FORMAT;
    *why = NULL;
    return BW_OK;
}

bw_err agent_parse_checkin(const char *buf, size_t len, struct agent_checkin *out,
                           const char **why)
{
    json_error_t err;
    json_t *o, *a;
    int64_t poll;
    bw_err rc = BW_E_FORMAT;

    memset(out, 0, sizeof(*out));
    *why = "not a JSON object";
    o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(o))
        goto out;
    *why = "poll_interval";
    if (get_int(o, "poll_interval", 1, 604800, &poll))
        goto out;
    *why = "action";
    a = json_object_get(o, "action");
    if (!a || json_is_null(a)) {
        out->poll_interval = (uint64_t)poll;
        rc = BW_OK;
        *why = NULL;
        goto out;
    }
    if (!json_is_object(a))
        goto out;
    rc = parse_action(a, &out->action, why);
    if (rc)
        goto out;
    out->poll_interval = (uint64_t)poll;
    out->has_action = 1;
    rc = BW_OK;
out:
    if (rc)
        memset(out, 0, sizeof(*out));
    json_decref(o);
    return rc;
}
