/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway's release keys: every PEM public key in the release_keys
 * file may sign releases (a key rotation keeps the old one listed until
 * its releases are gone). Loaded for each upload, so a changed file takes
 * effect without a restart.
 */
#define _DEFAULT_SOURCE
#include <string.h>

#include "gw.h"
#include "bwh/host.h"
#include "release.h"

bw_err gw_release_keys_load(const char *path, struct bw_ec_key keys[GW_RELEASE_KEYS_MAX],
                            const struct bw_ec_key *kp[GW_RELEASE_KEYS_MAX], size_t *n_out)
{
    static const char begin[] = "-----BEGIN PUBLIC KEY-----";
    uint8_t *buf = NULL;
    size_t len, n = 0;
    char *p;
    bw_err rc;

    *n_out = 0;
    rc = bwh_read_file(path, 1 << 20, &buf, &len);
    if (rc)
        return rc;
    /* bwh_read_file leaves room for nothing after the data: copy to a string */
    p = memchr(buf, 0, len) ? NULL : (char *)buf;
    if (!p) {
        bwh_free(buf);
        return BW_E_KEY;
    }
    {
        char *text = bwh_malloc(len + 1), *at, *next;

        if (!text) {
            bwh_free(buf);
            return BW_E_NOMEM;
        }
        memcpy(text, buf, len);
        text[len] = 0;
        bwh_free(buf);
        for (at = strstr(text, begin); at && n < GW_RELEASE_KEYS_MAX; at = next) {
            next = strstr(at + sizeof(begin) - 1, begin);
            bw_ec_key_init(&keys[n]);
            if (bw_ec_import(&keys[n], (const uint8_t *)at,
                             next ? (size_t)(next - at) : strlen(at)) == BW_OK) {
                kp[n] = &keys[n];
                n++;
            }
        }
        bwh_free(text);
    }
    *n_out = n;
    return n ? BW_OK : BW_E_KEY;
}

bw_err gw_release_ingest_conf(const struct gw_conf *c, const char *upload_path, const char *name,
                              const char *uploaded_by, struct gw_release *out)
{
    struct bw_ec_key keys[GW_RELEASE_KEYS_MAX];
    const struct bw_ec_key *kp[GW_RELEASE_KEYS_MAX];
    size_t n = 0, i;
    bw_err rc;

    rc = gw_release_keys_load(c->release_keys, keys, kp, &n);
    if (rc)
        return rc;
    rc = gw_release_ingest(upload_path, kp, n, c->vendor_id, c->class_id, c->blob_dir, name,
                           uploaded_by, out);
    for (i = 0; i < n; i++)
        bw_ec_key_clear(&keys[i]);
    return rc;
}
