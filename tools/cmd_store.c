/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark store get/set/list/delete/wipe: the device's encrypted key-value
 * store (include/bulwark/store.h) in the file device.conf names, keyed by
 * the device storage key. wipe is the user-data erasure of a factory reset
 * and checks its own work. Values never reach a log or an error message.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwh/identity.h"
#include "bulwark/store.h"
#include "cli.h"
#include "bwh/device.h"
#include "bwh/seclog.h"

struct sctx {
    struct bwh_device_conf conf;
    struct bwh_posix_flash pf;
    int have_file;  /* the store file exists (or was created) */
    int have_key;   /* skey loaded */
    int opened;     /* s is open */
    uint8_t skey[BWH_STORAGE_KEY_LEN];
    uint8_t *work;
    size_t work_len;
    struct bw_store s;
};

/* read: shared lock; change: exclusive; write: exclusive, creates the file
 * and the storage key; wipe: exclusive, needs neither key nor a good store */
enum mode { M_READ, M_CHANGE, M_WRITE, M_WIPE };

static void sctx_close(struct sctx *c)
{
    if (c->opened)
        bw_store_close(&c->s);
    c->opened = 0;
    if (c->work) {
        bw_wipe(c->work, c->work_len);
        bwh_free(c->work);
    }
    c->work = NULL;
    bw_wipe(c->skey, sizeof(c->skey));
    if (c->have_file)
        bwh_posix_flash_close(&c->pf); /* releases the lock */
    c->have_file = 0;
}

static void log_event(const struct sctx *c, const char *event, const char *subject, bw_err rc)
{
    (void)bwh_seclog_event(&c->conf, event, subject, rc ? bw_errname(rc) : "ok");
}

/*
 * Loads device.conf, opens (M_WRITE: creates) the store file under a lock
 * (shared for reading, exclusive otherwise), loads the storage key and
 * opens the store. A missing file is an empty store for M_READ. M_WIPE
 * goes on without the key or with a store that does not open (c->opened
 * stays 0); the caller erases the file regardless.
 */
static int sctx_open(struct cli_args *a, struct sctx *c, enum mode m, int create_key)
{
    const char *conf = cli_get(a, "config");
    struct stat st;
    bw_err rc;

    memset(c, 0, sizeof(*c));
    memset(&st, 0, sizeof(st));
    c->pf.fd = -1;
    if (!conf)
        return cli_usage(a, "--config is required");
    errno = 0;
    if ((rc = bwh_device_conf_load(&c->conf, conf)))
        return cli_fail(a, conf, rc);
    /* 'bulwark device init' writes store_max = 0 today: read it as the
     * documented default */
    if (c->conf.store_max == 0)
        c->conf.store_max = 1048576;
    if (c->conf.store_max < 8192 || c->conf.store_max > ((uint64_t)64 << 20)) {
        fprintf(stderr, "bulwark store: store_max must be 8192 bytes to 64 MiB (is %" PRIu64 ")\n",
                c->conf.store_max);
        return cli_exit_code(BW_E_FORMAT);
    }
    if (stat(c->conf.store, &st) != 0) {
        if (errno != ENOENT)
            return cli_fail(a, c->conf.store, BW_E_IO);
        if (m != M_WRITE)
            return 0; /* no store yet: empty */
    } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != c->conf.store_max) {
        fprintf(stderr,
                "bulwark store: %s is %lld bytes but store_max is %" PRIu64 ": %s\n",
                c->conf.store, (long long)st.st_size, c->conf.store_max,
                (uint64_t)st.st_size < c->conf.store_max
                    ? "the file was truncated"
                    : "store_max was lowered (it is fixed once the store exists)");
        if (m != M_WIPE)
            return cli_exit_code((uint64_t)st.st_size < c->conf.store_max ? BW_E_TRUNCATED
                                                                           : BW_E_FORMAT);
    }
    errno = 0;
    if ((rc = bwh_posix_flash_open(&c->pf, c->conf.store, c->conf.store_max, m == M_WRITE, 0)))
        return cli_fail(a, c->conf.store, rc);
    c->have_file = 1;
    if (m == M_WIPE && S_ISREG(st.st_mode) && (uint64_t)st.st_size > c->conf.store_max &&
        ftruncate(c->pf.fd, (off_t)c->conf.store_max) != 0)
        return cli_fail(a, c->conf.store, BW_E_IO); /* nothing may survive past store_max */
    if (flock(c->pf.fd, m == M_READ ? LOCK_SH : LOCK_EX) != 0)
        return cli_fail(a, c->conf.store, BW_E_IO);
    errno = 0;
    rc = bwh_storage_key_load(c->conf.storage_key, create_key, c->skey);
    if (rc) {
        if (m == M_WIPE)
            return 0;
        if (rc == BW_E_NOTFOUND)
            fprintf(stderr, "bulwark store: no storage key at %s: the store cannot be decrypted\n",
                    c->conf.storage_key);
        return cli_fail(a, c->conf.storage_key, rc);
    }
    c->have_key = 1;
    c->work_len = (size_t)bw_store_work_size(&c->pf.f);
    c->work = bwh_malloc(c->work_len);
    if (!c->work)
        return cli_fail(a, "work buffer", BW_E_NOMEM);
    rc = bw_store_open(&c->s, &c->pf.f, c->skey, c->work, c->work_len);
    if (rc) {
        if (rc == BW_E_AUTH || rc == BW_E_TAMPER || rc == BW_E_FORMAT)
            log_event(c, "store.tamper", c->conf.store, rc);
        if (rc == BW_E_AUTH)
            fprintf(stderr, "bulwark store: %s was written with another storage key\n",
                    c->conf.store);
        else if (rc == BW_E_TAMPER || rc == BW_E_FORMAT)
            fprintf(stderr, "bulwark store: no copy of %s authenticates: it was damaged or "
                            "tampered with ('bulwark store wipe' erases it)\n",
                    c->conf.store);
        if (m == M_WIPE)
            return 0;
        return cli_fail(a, c->conf.store, rc);
    }
    c->opened = 1;
    if (c->s.bad_copies) {
        fprintf(stderr, "bulwark store: warning: one copy of %s did not authenticate (an "
                        "interrupted write, or tampering); the other copy is used and the "
                        "next change rewrites it\n",
                c->conf.store);
        log_event(c, "store.tamper", c->conf.store, BW_E_TAMPER);
    }
    return 0;
}

static int key_arg(struct cli_args *a, const char **name)
{
    size_t i, n;

    if (a->npos < 2)
        return cli_usage(a, "%s needs KEY", a->pos[0]);
    *name = a->pos[1];
    n = strlen(*name);
    if (n == 0 || n > BW_STORE_NAME_MAX)
        return cli_usage(a, "KEY must be 1 to %d bytes", BW_STORE_NAME_MAX);
    for (i = 0; i < n; i++)
        if ((unsigned char)(*name)[i] < 0x21 || (unsigned char)(*name)[i] > 0x7e)
            return cli_usage(a, "KEY may hold printable ASCII only, no spaces");
    return 0;
}

static int do_set(struct cli_args *a)
{
    const char *name = NULL, *file = cli_get(a, "file");
    uint8_t *buf = NULL;
    size_t len = 0;
    struct sctx c;
    int st;
    bw_err rc;

    if ((st = key_arg(a, &name)))
        return st;
    if ((a->npos == 3) == (file != NULL))
        return cli_usage(a, "set needs exactly one of VALUE, - (stdin) or --file FILE");
    if (a->npos == 3 && strcmp(a->pos[2], "-") != 0) {
        len = strlen(a->pos[2]);
        if (len > BW_STORE_VALUE_MAX) {
            fprintf(stderr, "bulwark store: the value is %zu bytes; a value may have at most %u\n",
                    len, BW_STORE_VALUE_MAX);
            return cli_exit_code(BW_E_TOOBIG);
        }
    } else {
        const char *src = file ? file : "-";

        errno = 0;
        rc = bwh_read_file(src, BW_STORE_VALUE_MAX, &buf, &len);
        if (rc == BW_E_TOOBIG) {
            fprintf(stderr, "bulwark store: %s: a value may have at most %u bytes\n",
                    strcmp(src, "-") ? src : "stdin", BW_STORE_VALUE_MAX);
            return cli_exit_code(rc);
        }
        if (rc)
            return cli_fail(a, strcmp(src, "-") ? src : "stdin", rc);
    }
    if ((st = sctx_open(a, &c, M_WRITE, 1)))
        goto out;
    rc = bw_store_set(&c.s, name, buf ? buf : (const uint8_t *)a->pos[2], len);
    log_event(&c, "store.set", name, rc);
    if (rc == BW_E_TOOBIG) {
        fprintf(stderr,
                "bulwark store: the store is full: %zu of %" PRIu64 " bytes used, the new value "
                "needs %zu more; delete keys or raise store_max (on a new store)\n",
                c.s.len, c.s.copy_size, len + BW_STORE_REC_OVERHEAD + strlen(name));
        st = cli_exit_code(rc);
    } else if (rc) {
        st = cli_fail(a, name, rc);
    } else if (cli_flag(a, "json")) {
        printf("{\"key\":");
        bwh_json_str(stdout, name, strlen(name));
        printf(",\"size\":%zu,\"generation\":%" PRIu64 ",\"bytes_used\":%zu,\"capacity\":%" PRIu64
               "}\n",
               len, c.s.generation, c.s.len, c.s.copy_size);
    } else {
        printf("stored %s (%zu bytes; store %zu of %" PRIu64 " bytes used)\n", name, len, c.s.len,
               c.s.copy_size);
    }
out:
    sctx_close(&c);
    if (buf) {
        bw_wipe(buf, len);
        bwh_free(buf);
    }
    return st;
}

static int printable(const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((b[i] < 0x20 && b[i] != '\n' && b[i] != '\t') || b[i] > 0x7e)
            return 0;
    return 1;
}

static int do_get(struct cli_args *a)
{
    const char *name = NULL;
    uint8_t *v = NULL;
    size_t len = 0;
    struct sctx c;
    int st;
    bw_err rc = BW_E_NOTFOUND;

    if ((st = key_arg(a, &name)))
        return st;
    if (a->npos > 2)
        return cli_usage(a, "get takes one KEY");
    if ((st = sctx_open(a, &c, M_READ, 0)))
        goto out;
    if (c.opened) {
        v = bwh_malloc(BW_STORE_VALUE_MAX);
        rc = v ? bw_store_get(&c.s, name, v, BW_STORE_VALUE_MAX, &len) : BW_E_NOMEM;
    }
    if (rc == BW_E_NOTFOUND) {
        fprintf(stderr, "bulwark store: %s: not in the store [BW_E_NOTFOUND]\n", name);
        st = cli_exit_code(rc);
    } else if (rc) {
        if (rc == BW_E_AUTH)
            log_event(&c, "store.tamper", name, rc);
        st = cli_fail(a, name, rc);
    } else if (cli_flag(a, "json")) {
        printf("{\"key\":");
        bwh_json_str(stdout, name, strlen(name));
        printf(",\"size\":%zu,\"value_hex\":", len);
        bwh_json_hex(stdout, v, len);
        if (printable(v, len)) {
            printf(",\"value\":");
            bwh_json_str(stdout, (const char *)v, len);
        }
        printf("}\n");
    } else if (len && fwrite(v, 1, len, stdout) != len) {
        st = cli_fail(a, "stdout", BW_E_IO);
    }
    fflush(stdout);
out:
    if (v) {
        bw_wipe(v, BW_STORE_VALUE_MAX);
        bwh_free(v);
    }
    sctx_close(&c);
    return st;
}

static int do_list(struct cli_args *a)
{
    struct bw_store_iter it;
    char name[BW_STORE_NAME_MAX + 1];
    size_t vlen;
    struct sctx c;
    int st, json = cli_flag(a, "json"), first = 1;

    if (a->npos > 1)
        return cli_usage(a, "list takes no KEY");
    if ((st = sctx_open(a, &c, M_READ, 0)))
        goto out;
    memset(&it, 0, sizeof(it));
    if (json)
        printf("{\"keys\":[");
    while (c.opened && bw_store_next(&c.s, &it, name, &vlen) == BW_OK) {
        if (json) {
            printf("%s{\"name\":", first ? "" : ",");
            bwh_json_str(stdout, name, strlen(name));
            printf(",\"size\":%zu}", vlen);
        } else {
            printf("%s\n", name);
        }
        first = 0;
    }
    if (json)
        printf("],\"count\":%" PRIu32 ",\"generation\":%" PRIu64 ",\"bytes_used\":%zu,"
               "\"capacity\":%" PRIu64 ",\"damaged_copies\":%d}\n",
               c.opened ? c.s.count : 0, c.opened ? c.s.generation : 0, c.opened ? c.s.len : 0,
               c.opened ? c.s.copy_size : 0, c.opened ? c.s.bad_copies : 0);
out:
    sctx_close(&c);
    return st;
}

static int do_delete(struct cli_args *a)
{
    const char *name = NULL;
    struct sctx c;
    int st;
    bw_err rc = BW_E_NOTFOUND;

    if ((st = key_arg(a, &name)))
        return st;
    if (a->npos > 2)
        return cli_usage(a, "delete takes one KEY");
    if ((st = sctx_open(a, &c, M_CHANGE, 0)))
        goto out;
    if (c.opened)
        rc = bw_store_delete(&c.s, name);
    if (c.have_key)
        log_event(&c, "store.delete", name, rc);
    if (rc == BW_E_NOTFOUND) {
        fprintf(stderr, "bulwark store: %s: not in the store [BW_E_NOTFOUND]\n", name);
        st = cli_exit_code(rc);
    } else if (rc) {
        st = cli_fail(a, name, rc);
    } else {
        printf("deleted %s\n", name);
    }
out:
    sctx_close(&c);
    return st;
}

/* Reads the whole store file back: 1 when every byte is zero. */
static int all_zero(struct sctx *c, uint64_t *checked)
{
    uint8_t buf[65536];
    uint64_t off;
    size_t i;

    *checked = 0;
    for (off = 0; off < c->pf.f.size; off += sizeof(buf)) {
        size_t n = c->pf.f.size - off < sizeof(buf) ? (size_t)(c->pf.f.size - off) : sizeof(buf);

        if (c->pf.f.read(c->pf.f.ctx, off, buf, n) != BW_OK)
            return 0;
        for (i = 0; i < n; i++)
            if (buf[i])
                return 0;
        *checked += n;
    }
    return 1;
}

/*
 * Method (wipe): list what the store holds (when it opens), zero every
 * byte of the file through the store's own erase (copy by copy, synced),
 * then confirm from the medium: read the whole file back and require
 * zeros (no ciphertext, no header is left), and reopen it with the key and
 * require an empty store. The storage key and the device key stay: they
 * are the device's identity, not user data, and the device key file is
 * encrypted under the storage key.
 */
static int do_wipe(struct cli_args *a)
{
    int json = cli_flag(a, "json"), reset = cli_flag(a, "factory-reset"), st, zero = 0, first = 1;
    int listed;
    char names[4096] = "", name[BW_STORE_NAME_MAX + 1];
    size_t nlen = 0, vlen;
    uint32_t erased = 0;
    uint64_t checked = 0;
    struct bw_store_iter it;
    struct sctx c;
    bw_err rc = BW_OK, open_rc = BW_OK;

    if (a->npos > 1)
        return cli_usage(a, "wipe takes no KEY");
    if ((st = sctx_open(a, &c, M_WIPE, 0)))
        goto out;
    listed = c.opened;
    if (c.opened) {
        erased = c.s.count;
        memset(&it, 0, sizeof(it));
        while (bw_store_next(&c.s, &it, name, &vlen) == BW_OK && nlen + strlen(name) + 3 < sizeof(names))
            nlen += (size_t)snprintf(names + nlen, sizeof(names) - nlen, "%s%s", nlen ? ", " : "", name);
        rc = bw_store_wipe(&c.s);
    } else if (c.have_file) {
        rc = bw_store_wipe_area(&c.pf.f);
    }
    if (!rc && c.have_file) {
        zero = all_zero(&c, &checked);
        if (!zero)
            rc = BW_E_IO;
    }
    if (!rc && c.have_key && c.have_file) {
        struct bw_store s2;

        if (c.opened) {
            bw_store_close(&c.s);
            c.opened = 0;
        }
        open_rc = bw_store_open(&s2, &c.pf.f, c.skey, c.work, c.work_len);
        if (open_rc || s2.count != 0)
            rc = open_rc ? open_rc : BW_E_STATE;
        bw_store_close(&s2);
    }
    log_event(&c, "store.wipe", c.conf.store, rc);
    if (reset)
        log_event(&c, "factory-reset", "user data", rc);
    if (rc) {
        st = cli_fail(a, "erasing the store (run wipe again)", rc);
        goto out;
    }
    if (json) {
        printf("{\"store\":");
        bwh_json_str(stdout, c.conf.store, strlen(c.conf.store));
        printf(",\"erased_keys\":%" PRIu32 ",\"names\":[", erased);
        if (listed) {
            /* names again, as JSON strings */
            const char *p = names;

            while (*p) {
                const char *e = strstr(p, ", ");
                size_t n = e ? (size_t)(e - p) : strlen(p);

                printf("%s", first ? "" : ",");
                bwh_json_str(stdout, p, n);
                first = 0;
                p += n + (e ? 2 : 0);
            }
        }
        printf("],\"bytes_zeroed\":%" PRIu64 ",\"verified\":true,\"factory_reset\":%s}\n",
               checked, reset ? "true" : "false");
    } else if (!c.have_file) {
        printf("no store at %s: nothing to erase\n", c.conf.store);
    } else {
        if (listed && erased == 0)
            printf("erased %s: it held no keys\n", c.conf.store);
        else if (listed)
            printf("erased %" PRIu32 " key%s from %s: %s\n", erased, erased == 1 ? "" : "s",
                   c.conf.store, names);
        else
            printf("erased %s (it did not open, so its keys could not be listed)\n", c.conf.store);
        printf("confirmed: all %" PRIu64 " bytes of the store file read back as zero%s\n", checked,
               c.have_key ? "; it reopens as an empty store" : "");
    }
    if (reset && !json)
        printf("factory reset: user data erased; the device identity (storage key, device key, "
               "certificate) is kept\n");
out:
    sctx_close(&c);
    return st;
}

static int run(struct cli_args *a)
{
    const char *sub = a->pos[0];

    if (cli_flag(a, "factory-reset") && strcmp(sub, "wipe"))
        return cli_usage(a, "--factory-reset goes with wipe");
    if (cli_get(a, "file") && strcmp(sub, "set"))
        return cli_usage(a, "--file goes with set");
    if (!strcmp(sub, "set"))
        return do_set(a);
    if (!strcmp(sub, "get"))
        return do_get(a);
    if (!strcmp(sub, "list"))
        return do_list(a);
    if (!strcmp(sub, "delete"))
        return do_delete(a);
    if (!strcmp(sub, "wipe"))
        return do_wipe(a);
    return cli_usage(a, "unknown store command '%s' (get, set, list, delete, wipe)", sub);
}

static const struct cli_opt opts[] = {
    {"config", "DEVICE.conf", "the device (see 'bulwark device init')"},
    {"file", "FILE", "set: read the value from FILE ('-': standard input)"},
    {"json", NULL, "print one JSON object"},
    {"factory-reset", NULL, "wipe: as part of a factory reset (logged as such)"},
    {NULL, NULL, NULL}};

const struct cli_cmd cli_cmd_store = {
    "store", "encrypted key-value store for secrets and settings",
    "get|set|list|delete|wipe --config DEVICE.conf [KEY [VALUE|-]] [--file FILE] [--json]",
    "set KEY VALUE|-|--file F  stores a value (at most 64 KiB; '-' reads stdin)\n"
    "get KEY                   writes the value to stdout as it is (--json: hex too)\n"
    "list                      names, one per line (--json: with sizes and usage)\n"
    "delete KEY                removes a key; its bytes are overwritten on the medium\n"
    "wipe [--factory-reset]    erases the whole store (user data erasure, EN 303 645\n"
    "                          5.11-1), then reads the file back to confirm it is zero\n"
    "Values are sealed with AES-256-GCM under a key derived from the device storage\n"
    "key; each change is atomic across power loss. KEY: 1-64 printable ASCII bytes,\n"
    "no spaces. A value given on the command line is visible to other local users\n"
    "(ps): prefer --file or stdin for secrets. See docs/store.md.",
    opts, 1, 3, run};
