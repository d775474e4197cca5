/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IXIT skeleton: the supplier's implementation tables that an ETSI
 * TS 103 701 assessment starts from (authentication mechanisms, update
 * mechanism, security parameters, communication mechanisms, interfaces,
 * secure boot, ...). Entries the checks saw are filled with what they
 * saw; the rest are marked for the supplier to fill. Written as Markdown
 * and JSON from one table; the names follow TS 103 701's IXIT short names.
 */
#define _GNU_SOURCE
#include <string.h>

#include "audit.h"

#define TO_FILL "TO FILL (supplier)"

struct ixit_entry {
    const char *table, *name, *check; /* check: whose evidence fills it; NULL: the supplier */
    const char *ask;                  /* what the supplier describes when nothing fills it */
};

static const struct ixit_entry entries[] = {
    {"AuthMech", "Password login (local accounts)", "cred.kdf",
     "each mechanism: what it protects, factor, how the secret is stored"},
    {"AuthMech", "Factory password uniqueness", "cred.factory", "how each unit gets its password"},
    {"AuthMech", "Brute-force protection", "cred.throttle", "delay and lockout rules"},
    {"AuthMech", "Device to gateway (mTLS, device token)", "comms.agent_tls",
     "how the device authenticates to its services"},
    {"AuthMech", "Other mechanisms (apps, cloud accounts, pairing)", NULL,
     "every further authentication mechanism and what it protects"},
    {"UserInfo", "Password change and set-up guidance", "docs.guidance",
     "where the user learns to set up and check the device"},
    {"UpdMech", "Signed update packages (SUIT, COSE_Sign1 ES256)", "update.release_key",
     "signature scheme and the key that is trusted"},
    {"UpdMech", "Installed release and anti-rollback", "update.installed",
     "how an older release is refused"},
    {"UpdMech", "Update policy and schedule", "update.policy",
     "automatic or notified updates, how the user switches them"},
    {"UpdMech", "Polling", "update.poll", "when the device looks for updates"},
    {"UpdProc", "Release process and timeliness", NULL,
     "how fixes are built, tested, signed and published, and how fast"},
    {"SecParam", "Device identity key", "key.sign", "key type, where it is generated and held"},
    {"SecParam", "Device certificate", "identity.cert", "issuer, validity, uniqueness"},
    {"SecParam", "Key, credential and store files", "storage.protect",
     "how each critical security parameter is stored"},
    {"SecParam", "Hardware protection of keys", "storage.hwkey", "TPM, secure element, none"},
    {"SecParam", "Cryptographic module", "crypto.module",
     "module name and version, crypto_mode, self-test result, certificate"},
    {"SecParam", "Release public key (pinned)", "update.release_key", "fingerprint"},
    {"ComMech", "Device to gateway", "comms.agent_tls", "protocol, cipher suites, peer check"},
    {"ComMech", "Cleartext services", "net.cleartext", "every unencrypted protocol and why"},
    {"ComMech", "Other communication (local, cloud, apps)", NULL,
     "every further communication mechanism and its protection"},
    {"Intf", "Listening network services", "net.listeners",
     "each service: purpose, authentication, exposure"},
    {"Intf", "Physical debug interfaces", "debug.declared",
     "each interface and how it is disabled"},
    {"Intf", "Other physical interfaces (USB, buttons, radios)", NULL,
     "each interface and why it is needed"},
    {"SecBoot", "Boot image verification", "boot.slot",
     "what the bootloader verifies before it runs the image"},
    {"SecBoot", "Hardware root of trust for boot", NULL,
     "ROM, fused keys, measured boot; or why there is none"},
    {"ResMech", "Network reconnection and back-off", "agent.backoff",
     "how the device reconnects without overloading networks"},
    {"ResMech", "Power and network outage", NULL, "what keeps working and how it recovers"},
    {"SecMon", "Security log", "log.chain", "what is recorded and who examines it"},
    {"DelFunc", "User data erasure", NULL, "how the user erases data and is told it is done"},
    {"InpVal", "Input validation", NULL, "how each input (UI, API, network) is validated"},
    {"SoftComp", "Software components and their update", NULL,
     "each component, its version and how it is updated"},
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

/* What the tables say about one entry: the check's evidence when it could
 * look, else NULL (the supplier fills it). */
static const char *filled(const struct audit_model *m, const struct ixit_entry *e,
                          const char **res)
{
    const struct audit_check *c = audit_find_check(m, e->check);

    *res = c ? audit_result_name(c->res) : NULL;
    if (!c || c->res == AUDIT_ERROR || !*c->evidence)
        return NULL;
    return c->evidence;
}

static void md_text(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
}

void audit_write_ixit_md(FILE *f, const struct audit_model *m)
{
    const char *table = "";
    size_t i, n = 0;

    fprintf(f, "# IXIT skeleton: ");
    md_text(f, m->prof->product);
    fprintf(f, " ");
    md_text(f, m->prof->model);
    fprintf(f, " %s\n\nImplementation information for an ETSI TS 103 701 assessment, generated "
               "by bulwark audit on %s against %s. Rows marked \"%s\" are the supplier's to "
               "describe; the others carry what the device checks saw (re-check them before "
               "submission).\n",
            m->prof->sw_version, m->when, *m->prof->standard ? m->prof->standard : "EN 303 645",
            TO_FILL);
    for (i = 0; i < N_ENTRIES; i++) {
        const struct ixit_entry *e = &entries[i];
        const char *res, *v = filled(m, e, &res);

        if (strcmp(table, e->table)) {
            table = e->table;
            n = 0;
            fprintf(f, "\n## %s\n\n| Id | Entry | Description | Source |\n|---|---|---|---|\n",
                    table);
        }
        fprintf(f, "| %s-%zu | ", e->table, ++n);
        md_text(f, e->name);
        fprintf(f, " | ");
        if (v)
            md_text(f, v);
        else
            fprintf(f, "%s: %s", TO_FILL, e->ask);
        fprintf(f, " | %s%s%s%s |\n", v ? "check " : "supplier", v ? e->check : "",
                v ? ": " : "", v ? res : "");
    }
}

void audit_write_ixit_json(FILE *f, const struct audit_model *m)
{
    json_t *root = json_object(), *tables = json_object();
    size_t i, n = 0;
    const char *table = "";
    char id[48];

    for (i = 0; i < N_ENTRIES; i++) {
        const struct ixit_entry *e = &entries[i];
        const char *res, *v = filled(m, e, &res);
        json_t *arr = json_object_get(tables, e->table);

        if (!arr) {
            arr = json_array();
            json_object_set_new(tables, e->table, arr);
        }
        n = strcmp(table, e->table) ? 1 : n + 1;
        table = e->table;
        snprintf(id, sizeof(id), "%s-%zu", e->table, n);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s?,s:s?}", "id", id, "entry",
                                             e->name, "description", v ? v : e->ask, "source",
                                             v ? "check" : "supplier", "to_fill", !v, "check",
                                             v ? e->check : NULL, "result", v ? res : NULL));
    }
    json_object_set_new(root, "product", json_string(m->prof->product));
    json_object_set_new(root, "model", json_string(m->prof->model));
    json_object_set_new(root, "sw_version", json_string(m->prof->sw_version));
    json_object_set_new(root, "standard",
                        json_string(*m->prof->standard ? m->prof->standard : "EN 303 645"));
    json_object_set_new(root, "generated", json_string(m->when));
    json_object_set_new(root, "tables", tables);
    json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(root);
}
