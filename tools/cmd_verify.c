/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark verify: authenticate a package or bare envelope and check every
 * payload byte against the signed chunk list and image digest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int report(struct cli_args *a, const char *path, const struct bw_suit *s, bw_err rc,
                  const char *stage)
{
    if (cli_flag(a, "json")) {
        printf("{\"ok\":%s,\"package\":", rc ? "false" : "true");
        bwh_json_str(stdout, path, strlen(path));
        if (rc) {
            printf(",\"stage\":\"%s\",\"error\":\"%s\",\"message\":", stage, bw_errname(rc));
            bwh_json_str(stdout, bw_strerror(rc), strlen(bw_strerror(rc)));
        } else {
            printf(",\"sequence\":%" PRIu64 ",\"image_size\":%" PRIu64 ",\"image_digest\":",
                   s->sequence, s->comp[0].image_size);
            bwh_json_hex(stdout, s->comp[0].image_digest, BW_SHA256_LEN);
        }
        printf("}\n");
    }
    if (rc) {
        char what[4200];

        snprintf(what, sizeof(what), "%s: %s", path, stage);
        return cli_fail(a, what, rc);
    }
    if (!cli_flag(a, "json"))
        printf("%s: OK (sequence %" PRIu64 ", %u component%s, %" PRIu64 " bytes verified)\n",
               path, s->sequence, s->n_components, s->n_components == 1 ? "" : "s",
               s->comp[0].image_size);
    return 0;
}

int cmd_verify(struct cli_args *a)
{
    const char *path = a->pos[0], *pubf = cli_get(a, "pub");
    uint8_t vendor[16], klass[16];
    struct bw_suit_expect e;
    struct bwh_progress prog;
    struct bw_ec_key key;
    struct bwh_pkg p;
    int status;
    bw_err rc;

    memset(&e, 0, sizeof(e));
    memset(&p, 0, sizeof(p));
    p.fd = -1;
    if (!pubf)
        return cli_usage(a, "--pub is required: a package is only as good as the key it is checked with");
    if (cli_get(a, "vendor-id")) {
        if (bwh_uuid_parse(cli_get(a, "vendor-id"), vendor))
            return cli_usage(a, "--vendor-id: not a UUID");
        e.vendor_id = vendor;
    }
    if (cli_get(a, "class-id")) {
        if (bwh_uuid_parse(cli_get(a, "class-id"), klass))
            return cli_usage(a, "--class-id: not a UUID");
        e.class_id = klass;
    }
    if (cli_get(a, "min-sequence") && bwh_parse_u64(cli_get(a, "min-sequence"), &e.min_sequence))
        return cli_usage(a, "--min-sequence: not a non-negative integer");
    errno = 0;
    rc = bwh_load_key(pubf, 0, &key);
    if (rc)
        return cli_fail(a, pubf, rc);

    errno = 0;
    if (cli_flag(a, "manifest-only")) {
        uint8_t *buf = NULL;
        size_t len = 0;

        rc = bwh_read_file(path, BW_SUIT_ENVELOPE_MAX, &buf, &len);
        if (rc) {
            status = report(a, path, &p.suit, rc, "reading");
        } else if ((rc = bw_suit_parse(buf, len, &key, &p.suit))) {
            status = report(a, path, &p.suit, rc, "envelope");
        } else if ((rc = bw_suit_check(&p.suit, &e))) {
            status = report(a, path, &p.suit, rc, "manifest");
        } else {
            /* (bw_suit_parse has checked an integrated payload's digest) */
            status = report(a, path, &p.suit, BW_OK, "");
        }
        bwh_free(buf);
        bw_ec_key_clear(&key);
        return status;
    }
    rc = bwh_pkg_open(&p, path, &key, BW_SUIT_ENVELOPE_MAX);
    if (rc) {
        status = report(a, path, &p.suit, rc, rc == BW_E_IO ? "reading" : "envelope");
        goto out;
    }
    rc = bw_suit_check(&p.suit, &e);
    if (rc) {
        status = report(a, path, &p.suit, rc, "manifest");
        goto out;
    }
    bwh_progress_start(&prog, "verifying", p.suit.comp[0].image_size);
    rc = bwh_pkg_verify(&p, &prog);
    bwh_progress_end(&prog);
    status = report(a, path, &p.suit, rc, "payload");
out:
    bwh_pkg_close(&p);
    bw_ec_key_clear(&key);
    return status;
}
