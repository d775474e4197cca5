/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's one door to the security log. CLI events are rare (an install,
 * a confirm), so each is followed by a signed checkpoint: every event a
 * command reports is protected as soon as the command returns. Text from
 * the command line is escaped here, not refused: a package path with a
 * newline in it must still leave a trace.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "bwh/log.h"
#include "bwh/seclog.h"

/* Printable ASCII is kept; any other byte becomes \xNN; an overlong text
 * is cut and ends in "...". */
static void escape(char *out, size_t cap, const char *in)
{
    size_t n = 0;

    for (; in && *in; in++) {
        unsigned char ch = (unsigned char)*in;
        size_t need = ch >= 0x20 && ch <= 0x7e ? 1 : 4;

        if (n + need + 3 >= cap) { /* n + 3 < cap holds from the round before */
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (need == 1) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '\\';
            out[n++] = 'x';
            bw_hex(out + n, &ch, 1); /* its NUL is overwritten or ends the text */
            n += 2;
        }
    }
    out[n] = 0;
}

bw_err bwh_seclog_event(const struct bwh_device_conf *c, const char *event, const char *subject,
                    const char *outcome)
{
    char subj[BWH_LOG_TEXT_MAX + 1], out[BWH_LOG_TEXT_MAX + 1];
    struct bwh_log_opts o = {NULL, 1, 0, 0, 0};
    struct bwh_devkey *k = NULL;
    struct bwh_log *l = NULL;
    struct bwh_log_vfs v;
    struct bw_signer s;
    bw_err rc, krc;
    time_t now = time(NULL);

    memset(&v, 0, sizeof(v));
    escape(subj, sizeof(subj), subject);
    escape(out, sizeof(out), outcome);
    o.max_bytes = c->seclog_max;
    rc = bwh_log_posix_open(&v, c->seclog, 1, 1);
    if (rc)
        goto out;
    /* no device key yet (before provisioning): the event is chained but not
     * signed; 'bulwark log verify' reports it as unsigned */
    krc = bwh_devkey_open(c->device_key, &k);
    if (!krc)
        krc = bwh_devkey_signer(k, &s);
    if (!krc)
        o.signer = &s;
    else if (krc != BW_E_NOTFOUND)
        fprintf(stderr, "bulwark: security log: device key: %s%s%s [%s]; event kept unsigned\n",
                bw_strerror(krc), *bwh_devkey_detail(k) ? ": " : "", bwh_devkey_detail(k),
                bw_errname(krc));
    rc = bwh_log_open(&v, &o, &l);
    if (!rc)
        rc = bwh_log_append(l, now < 0 ? 0 : (uint64_t)now, event, subj, out, NULL);
    if (l) {
        bw_err crc = bwh_log_close(l);

        if (!rc)
            rc = crc;
    }
out:
    if (rc)
        fprintf(stderr, "bulwark: security log %s: event '%s' not logged: %s [%s]\n", c->seclog,
                event, bw_strerror(rc), bw_errname(rc));
    bwh_devkey_close(k);
    bwh_log_posix_close(&v);
    return rc;
}
