/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark log verify | show | append: the device's security log from the
 * command line. verify is the trust decision (exit 0 only if every record
 * chains, every checkpoint and the head verify, and with a key nothing
 * unsigned follows the last checkpoint but what one crash leaves); show is
 * for reading, stops at the first bad record, and lists an unsigned tail
 * with a warning instead of refusing it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "bulwark/core.h"
#include "bwh/log.h"
#include "cli.h"
#include "bwh/device.h"
#include "bwh/seclog.h"

struct show_ctx {
    uint64_t since;
    int json;
    unsigned long shown;
};

/* The verification key: --pub, else the device key's public half.
 * *have is 0 when neither exists (a device not provisioned yet). */
static bw_err find_pub(struct cli_args *a, const struct bwh_device_conf *c, uint8_t pub[65],
                       int *have, const char **what)
{
    const char *path = cli_get(a, "pub");
    struct bwh_devkey *k = NULL;
    struct bw_ec_key ek;
    bw_err rc;

    *have = 0;
    if (path) {
        *what = path;
        bw_ec_key_init(&ek);
        rc = bwh_load_key(path, 0, &ek);
        if (!rc)
            memcpy(pub, ek.pub, BW_P256_PUB_LEN);
        bw_ec_key_clear(&ek);
        *have = rc == BW_OK;
        return rc;
    }
    /* not the URI itself: a PKCS#11 URI may carry a PIN */
    *what = !strncmp(c->device_key, "pkcs11:", 7) ? "device key (pkcs11)"
            : !strncmp(c->device_key, "tpm:", 4)  ? "device key (tpm)"
                                                  : "device key (file)";
    rc = bwh_devkey_open(c->device_key, &k);
    if (!rc)
        rc = bwh_devkey_public(k, pub);
    bwh_devkey_close(k);
    if (rc == BW_E_NOTFOUND)
        return BW_OK;
    *have = rc == BW_OK;
    return rc;
}

static void fmt_time(char *out, size_t cap, uint64_t t)
{
    struct tm tm;
    time_t tt = (time_t)(t > (uint64_t)INT32_MAX * 1000 ? (uint64_t)INT32_MAX * 1000 : t);

    if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, cap, "%" PRIu64, t);
}

static bw_err show_one(void *ctx, const struct bwh_log_record *r)
{
    struct show_ctx *s = ctx;
    char when[40], fp[17];

    if (r->seq < s->since)
        return BW_OK;
    s->shown++;
    fmt_time(when, sizeof(when), r->time);
    bw_hex(fp, r->key_fp, 8);
    if (s->json) {
        printf("{\"seq\":%" PRIu64 ",\"time\":%" PRIu64 ",\"type\":\"%s\"", r->seq, r->time,
               r->type == BWH_LOG_EVENT ? "event"
               : r->type == BWH_LOG_CHECKPOINT ? "checkpoint" : "anchor");
        if (r->type == BWH_LOG_EVENT) {
            printf(",\"event\":");
            bwh_json_str(stdout, r->event, strlen(r->event));
            printf(",\"subject\":");
            bwh_json_str(stdout, r->subject, strlen(r->subject));
            printf(",\"outcome\":");
            bwh_json_str(stdout, r->outcome, strlen(r->outcome));
        } else if (r->type == BWH_LOG_CHECKPOINT) {
            printf(",\"key\":\"%s\"", fp);
        } else {
            printf(",\"segment\":%" PRIu64, r->segment);
        }
        printf(",\"hash\":");
        bwh_json_hex(stdout, r->hash, BW_SHA256_LEN);
        printf("}\n");
    } else if (r->type == BWH_LOG_EVENT) {
        printf("%6" PRIu64 "  %s  %-10s %s: %s\n", r->seq, when, r->event, r->subject,
               r->outcome);
    } else if (r->type == BWH_LOG_CHECKPOINT) {
        printf("%6" PRIu64 "  %s  -- checkpoint signed by key %s\n", r->seq, when, fp);
    } else {
        printf("%6" PRIu64 "  %s  -- segment %" PRIu64 " starts\n", r->seq, when, r->segment);
    }
    return BW_OK;
}

static int report_failure(struct cli_args *a, const struct bwh_log_report *rep, bw_err rc)
{
    char what[400];

    if (cli_flag(a, "json")) {
        printf("{\"ok\":false,\"error\":\"%s\",\"seq\":%" PRIu64 ",\"segment\":%" PRIu64
               ",\"offset\":%" PRIu64 ",\"detail\":",
               bw_errname(rc), rep->bad_seq, rep->bad_segment, rep->bad_offset);
        bwh_json_str(stdout, rep->detail, strlen(rep->detail));
        printf("}\n");
    }
    if (rep->detail[0] && rep->bad_segment)
        snprintf(what, sizeof(what), "record seq %" PRIu64 " (segment %" PRIu64 ", offset %" PRIu64
                                     "): %s",
                 rep->bad_seq, rep->bad_segment, rep->bad_offset, rep->detail);
    else if (rep->detail[0])
        snprintf(what, sizeof(what), "%s", rep->detail);
    else
        snprintf(what, sizeof(what), "security log");
    errno = 0;
    return cli_fail(a, what, rc);
}

static int do_verify(struct cli_args *a, struct bwh_log_vfs *v, const uint8_t *pub, int show)
{
    struct show_ctx sc = {0, cli_flag(a, "json"), 0};
    struct bwh_log_report rep;
    const char *since = cli_get(a, "since");
    unsigned flags = !pub ? BWH_LOG_NO_SIGS : show ? BWH_LOG_UNSIGNED_OK : 0;
    bw_err rc;

    if (since && bwh_parse_u64(since, &sc.since))
        return cli_usage(a, "--since needs a sequence number");
    rc = bwh_log_verify(v, pub, flags, show ? show_one : NULL, &sc, &rep);
    if (!rc && !pub && rep.checkpoints && !show) {
        rc = BW_E_KEY;
        snprintf(rep.detail, sizeof(rep.detail),
                 "the log holds %" PRIu64 " signed checkpoints but there is no device key to "
                 "check them (give --pub)",
                 rep.checkpoints);
        rep.bad_segment = 0;
    }
    if (rc)
        return report_failure(a, &rep, rc);
    if (show) {
        if (!pub)
            fprintf(stderr, "bulwark log: no device key: signatures not checked\n");
        else if (rep.unsigned_tail)
            fprintf(stderr, "bulwark log: records %" PRIu64 "..%" PRIu64 " are not signed\n",
                    rep.last_seq - rep.unsigned_tail + 1, rep.last_seq);
        return 0;
    }
    if (cli_flag(a, "json")) {
        printf("{\"ok\":true,\"records\":%" PRIu64 ",\"first_seq\":%" PRIu64
               ",\"last_seq\":%" PRIu64 ",\"checkpoints\":%" PRIu64
               ",\"last_checkpoint\":%" PRIu64 ",\"unsigned_tail\":%" PRIu64
               ",\"torn\":%s,\"first_segment\":%" PRIu64 ",\"last_segment\":%" PRIu64
               ",\"head_seq\":%" PRIu64 ",\"signed_seq\":%" PRIu64 ",\"adopted\":%" PRIu64
               ",\"signed\":%s}\n",
               rep.records, rep.first_seq, rep.last_seq, rep.checkpoints, rep.last_checkpoint,
               rep.unsigned_tail, rep.torn ? "true" : "false", rep.first_segment,
               rep.last_segment, rep.head_seq, rep.signed_seq, rep.adopted,
               pub ? "true" : "false");
        return 0;
    }
    if (!rep.records) {
        printf("security log is empty\n");
        return 0;
    }
    printf("records %" PRIu64 "..%" PRIu64 " verified, %" PRIu64 " checkpoints", rep.first_seq,
           rep.last_seq, rep.checkpoints);
    if (rep.checkpoints)
        printf(", last checkpoint at seq %" PRIu64, rep.last_checkpoint);
    printf(" (segments %" PRIu64 "..%" PRIu64 ")\n", rep.first_segment, rep.last_segment);
    if (rep.first_seq > 1)
        printf("records before %" PRIu64 " were rotated out (seclog_max)\n", rep.first_seq);
    if (!pub)
        printf("no device key yet: records are chained but nothing is signed\n");
    if (rep.unsigned_tail)
        printf("%" PRIu64 " record%s after the last checkpoint %s not signed: a cut there "
               "would leave no trace%s\n",
               rep.unsigned_tail, rep.unsigned_tail == 1 ? "" : "s",
               rep.unsigned_tail == 1 ? "is" : "are",
               pub ? " (a power cut between an event and its checkpoint leaves this)" : "");
    if (rep.adopted)
        printf("%" PRIu64 " record%s had no signature when a writer found %s (events before the "
               "device key, a crash, or records added by someone who could write the log "
               "directory): see the " BWH_LOG_ADOPT_EVENT " events\n",
               rep.adopted, rep.adopted == 1 ? "" : "s", rep.adopted == 1 ? "it" : "them");
    if (rep.torn)
        printf("a torn final record (power cut during a write) was ignored\n");
    return 0;
}

static int run(struct cli_args *a)
{
    const char *conf_path = cli_get(a, "config"), *sub = a->pos[0], *what = NULL;
    struct bwh_device_conf c;
    struct bwh_log_vfs v;
    uint8_t pub[BW_P256_PUB_LEN];
    int have = 0, status;
    bw_err rc;

    if (!conf_path)
        return cli_usage(a, "--config is required");
    if (strcmp(sub, "verify") && strcmp(sub, "show") && strcmp(sub, "append"))
        return cli_usage(a, "unknown subcommand '%s'", sub);
    if (!strcmp(sub, "append") ? a->npos != 4 : a->npos != 1)
        return cli_usage(a, "wrong number of arguments for '%s'", sub);
    errno = 0;
    rc = bwh_device_conf_load(&c, conf_path);
    if (rc)
        return cli_fail(a, conf_path, rc);
    if (!strcmp(sub, "append"))
        return cli_exit_code(bwh_seclog_event(&c, a->pos[1], a->pos[2], a->pos[3]));
    rc = find_pub(a, &c, pub, &have, &what);
    if (rc)
        return cli_fail(a, what, rc);
    errno = 0;
    rc = bwh_log_posix_open(&v, c.seclog, 0, 0);
    if (rc)
        return cli_fail(a, c.seclog, rc);
    status = do_verify(a, &v, have ? pub : NULL, !strcmp(sub, "show"));
    bwh_log_posix_close(&v);
    return status;
}

static const struct cli_opt opts[] = {
    {"config", "DEVICE.conf", "the device (its seclog, seclog_max and device_key)"},
    {"pub", "DEVICE_PUB.pem", "verify with this public key instead of the device key's"},
    {"since", "SEQ", "show: start at this sequence number"},
    {"json", NULL, "verify: one JSON object; show: one JSON object per record"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_log = {
    "log", "verify, show or append to the tamper-evident security log",
    "verify|show|append --config DEVICE.conf [--pub PUB.pem] [--json] [EVENT SUBJECT OUTCOME]",
    "Records {seq, time, event, subject, outcome} in a SHA-256 hash chain with\n"
    "checkpoints signed by the device key (after every CLI event). 'verify' checks\n"
    "every record, checkpoint and the signed head and prints 'records N..M verified';\n"
    "any edit, deletion, reordering, or cut before the last checkpoint fails it\n"
    "(BW_E_TAMPER, BW_E_BADSIG, BW_E_FORMAT, BW_E_TRUNCATED). With a key, unsigned\n"
    "records after the last checkpoint fail it (BW_E_AUTH) unless they are what one\n"
    "power cut leaves (one event, or a new segment's anchor and one event), which is\n"
    "reported. 'show' prints the records; 'append' logs one event (for scripts; names\n"
    "starting 'log.' are reserved). See docs/log.md.",
    opts, 1, 4, run};
