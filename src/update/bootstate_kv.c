/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot state as text variables, for bootloader environments (U-Boot,
 * GRUB) whose scripts read and write them: bw_active, bw_trial,
 * bw_trial_left, bw_booted, bw_confirmed, bw_highest and, per slot,
 * bw_a_seq / bw_a_size / bw_a_sha256 (and b). Slots are "a", "b" or
 * "none"; an empty slot's sequence is "empty". No stdio: portable core.
 */
#include <string.h>
#include "bulwark/update.h"

static const char *slot_text(uint8_t s)
{
    return s == BW_SLOT_A ? "a" : s == BW_SLOT_B ? "b" : "none";
}

static int slot_parse(const char *v, uint8_t *s, int none_ok)
{
    if (!strcmp(v, "a"))
        *s = BW_SLOT_A;
    else if (!strcmp(v, "b"))
        *s = BW_SLOT_B;
    else if (none_ok && !strcmp(v, "none"))
        *s = BW_SLOT_NONE;
    else
        return -1;
    return 0;
}

static void u64_text(char out[21], uint64_t v)
{
    char tmp[21];
    int n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

static int u64_parse(const char *s, uint64_t *v)
{
    uint64_t x = 0;

    if (!*s || strlen(s) > 20)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return 0;
}

bw_err bw_bootstate_to_kv(const struct bw_bootstate *st, bw_kv_set set, void *ctx)
{
    static const char *names[2][3] = {{"bw_a_seq", "bw_a_size", "bw_a_sha256"},
                                      {"bw_b_seq", "bw_b_size", "bw_b_sha256"}};
    char num[21], hex[2 * BW_SHA256_LEN + 1];
    bw_err rc;
    int i;

    if ((rc = set(ctx, "bw_active", slot_text(st->active))) ||
        (rc = set(ctx, "bw_trial", slot_text(st->trial))))
        return rc;
    u64_text(num, st->trial_boots_left);
    if ((rc = set(ctx, "bw_trial_left", num)) ||
        (rc = set(ctx, "bw_booted", slot_text(st->booted))) ||
        (rc = set(ctx, "bw_confirmed", st->confirmed ? "1" : "0")))
        return rc;
    u64_text(num, st->highest_sequence);
    if ((rc = set(ctx, "bw_highest", num)))
        return rc;
    for (i = 0; i < 2; i++) {
        if (st->slot_sequence[i] == BW_SEQ_EMPTY)
            strcpy(num, "empty");
        else
            u64_text(num, st->slot_sequence[i]);
        if ((rc = set(ctx, names[i][0], num)))
            return rc;
        u64_text(num, st->slot_size[i]);
        bw_hex(hex, st->slot_digest[i], BW_SHA256_LEN);
        if ((rc = set(ctx, names[i][1], num)) || (rc = set(ctx, names[i][2], hex)))
            return rc;
    }
    return BW_OK;
}

/* A value that must be there once bw_active is: missing is BW_E_FORMAT. */
static bw_err get_req(bw_kv_get get, void *ctx, const char *key, char *v, size_t cap)
{
    bw_err rc = get(ctx, key, v, cap);

    return rc == BW_E_NOTFOUND ? BW_E_FORMAT : rc;
}

bw_err bw_bootstate_from_kv(struct bw_bootstate *st, bw_kv_get get, void *ctx)
{
    static const char *names[2][3] = {{"bw_a_seq", "bw_a_size", "bw_a_sha256"},
                                      {"bw_b_seq", "bw_b_size", "bw_b_sha256"}};
    struct bw_bootstate t;
    char v[2 * BW_SHA256_LEN + 2];
    uint64_t n;
    bw_err rc;
    int i;

    bw_bootstate_init(&t);
    rc = get(ctx, "bw_active", v, sizeof(v));
    if (rc)
        return rc; /* BW_E_NOTFOUND: never saved */
    if (slot_parse(v, &t.active, 0))
        return BW_E_FORMAT;
    rc = get_req(get, ctx, "bw_trial", v, sizeof(v));
    if (rc)
        return rc;
    if (slot_parse(v, &t.trial, 1))
        return BW_E_FORMAT;
    rc = get_req(get, ctx, "bw_trial_left", v, sizeof(v));
    if (rc)
        return rc;
    if (u64_parse(v, &n) || n > 255)
        return BW_E_FORMAT;
    t.trial_boots_left = (uint8_t)n;
    rc = get_req(get, ctx, "bw_booted", v, sizeof(v));
    if (rc)
        return rc;
    if (slot_parse(v, &t.booted, 1))
        return BW_E_FORMAT;
    rc = get_req(get, ctx, "bw_confirmed", v, sizeof(v));
    if (rc)
        return rc;
    if (strcmp(v, "0") && strcmp(v, "1"))
        return BW_E_FORMAT;
    t.confirmed = v[0] == '1';
    rc = get_req(get, ctx, "bw_highest", v, sizeof(v));
    if (rc)
        return rc;
    if (u64_parse(v, &t.highest_sequence))
        return BW_E_FORMAT;
    for (i = 0; i < 2; i++) {
        rc = get_req(get, ctx, names[i][0], v, sizeof(v));
        if (rc)
            return rc;
        if (!strcmp(v, "empty"))
            t.slot_sequence[i] = BW_SEQ_EMPTY;
        else if (u64_parse(v, &t.slot_sequence[i]) || t.slot_sequence[i] == BW_SEQ_EMPTY)
            return BW_E_FORMAT;
        rc = get_req(get, ctx, names[i][1], v, sizeof(v));
        if (rc)
            return rc;
        if (u64_parse(v, &t.slot_size[i]))
            return BW_E_FORMAT;
        rc = get_req(get, ctx, names[i][2], v, sizeof(v));
        if (rc)
            return rc;
        if (bw_unhex(t.slot_digest[i], BW_SHA256_LEN, v))
            return BW_E_FORMAT;
    }
    if (t.trial == t.active)
        return BW_E_FORMAT;
    *st = t;
    return BW_OK;
}
