/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: an OSV or CSAF file given to bulwark vex import, then
 * matched against a release and written out as OpenVEX, CSAF and an
 * Art. 14 draft (the same bytes also read as security-log lines). */
#include <stdio.h>

#include "vex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct vex_pub p = {"p", "https://p.example", "P", "2026-01-01T00:00:00Z", NULL};
    json_t *db = json_pack("{s:i,s:{},s:{},s:{}}", "bulwark_vex_db", 1, "vulnerabilities",
                           "releases", "status");
    json_t *sbom = json_pack("{s:{s:{s:s},s:{s:s}},s:[{s:s,s:s},{s:s,s:s}]}", "metadata",
                             "component", "name", "prod", "manufacturer", "name", "m",
                             "components", "name", "libfoo", "version", "1.0-1", "name", "zlib1g",
                             "version", "1:1.2.13.dfsg-1");
    char err[200], fname[300];
    size_t n = 0;
    const char *id;
    json_t *v, *doc;
    static FILE *null;

    if (!null)
        null = fopen("/dev/null", "w");

    if (!db || !sbom || vex_add_release(db, "r1", "00", 1, sbom, "00", 0, "2026-01-01T00:00:00Z"))
        goto out;
    if (vex_import(db, (const char *)data, size, &n, err, sizeof(err)) == BW_OK &&
        vex_match(db, "2026-01-01T00:00:00Z") == BW_OK) {
        json_decref(vex_openvex(db, &p));
        json_object_foreach(json_object_get(db, "vulnerabilities"), id, v) {
            if (vex_csaf(db, id, 0, &p, &doc, fname, sizeof(fname)) == BW_OK)
                json_decref(doc);
            if (vex_csaf(db, id, 1, &p, &doc, fname, sizeof(fname)) == BW_OK)
                json_decref(doc);
            json_object_set_new(v, "aware", json_string("2026-01-01T00:00:00Z"));
            if (null && vex_report(null, db, id, VEX_FINAL, NULL, (const char *)data, size,
                                   "2026-01-02T00:00:00Z") == BW_E_NOTFOUND)
                __builtin_trap(); /* the record is there */
        }
    }
out:
    json_decref(sbom);
    json_decref(db);
    return 0;
}
