/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark sbom: the CycloneDX 1.6 SBOM of a release image, from the dpkg
 * database of a root file system (a directory, or an ext4 image read with
 * debugfs) and/or a maker's component list (docs/cra.md). The SBOM's
 * SHA-256 is what 'bulwark sign --sbom' puts into the manifest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "sbom.h"

static const struct cli_opt sbom_opts[] = {
    {"root", "DIR", "root file system tree: reads DIR/var/lib/dpkg/status and DIR/usr/share/doc/*/copyright"},
    {"image", "IMG", "ext4 image: the same files, read with debugfs (e2fsprogs)"},
    {"list", "FILE", "the maker's component list (paragraphs; docs/cra.md)"},
    {"debs", "DIR", "where the .deb files are: their SHA-512 is the deployable form's hash"},
    {"product", "NAME", "the product (metadata.component); required"},
    {"product-version", "V", "the product's software version; required"},
    {"creator", "NAME", "who makes the SBOM (the manufacturer); required"},
    {"creator-url", "URL", "the manufacturer's URL (this or --creator-email is required)"},
    {"creator-email", "ADDR", "the manufacturer's contact address"},
    {"distro", "NAME", "purl namespace of dpkg packages (default debian)"},
    {"timestamp", "TIME", "RFC 3339 UTC time (default: SOURCE_DATE_EPOCH, else now)"},
    {"out", "SBOM.json", "write here (atomically) instead of standard output"},
    {"json", NULL, "print a JSON summary (file, components, sha256) on stdout"},
    {NULL, NULL, NULL}};

/* SHA-512 of a file as hex (129 bytes), or BW_E_NOTFOUND if it is absent. */
static bw_err sha512_file(const char *path, char hex[129])
{
    uint8_t buf[1 << 16], md[64];
    EVP_MD_CTX *ctx = NULL;
    unsigned mdlen = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r;
    bw_err rc = errno == ENOENT ? BW_E_NOTFOUND : BW_E_IO;

    if (fd < 0)
        goto out;
    rc = BW_E_CRYPTO;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1)
        goto out;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
            goto out;
    rc = BW_E_IO;
    if (r < 0)
        goto out;
    rc = BW_E_CRYPTO;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 64)
        goto out;
    bw_hex(hex, md, 64);
    rc = BW_OK;
out:
    EVP_MD_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* name_version_arch.deb, the epoch left out (Debian's pool) or written
 * as %3a (apt's cache). */
static bw_err deb_file(struct sbom_comp *c, const char *debs)
{
    const char *colon = strchr(c->version, ':'), *arch = c->arch ? c->arch : "all";
    char path[4096], hex[129];
    size_t n = strlen(c->name) + strlen(c->version) + strlen(arch) + 16;
    bw_err rc;

    c->filename = bwh_malloc(n);
    if (!c->filename)
        return BW_E_NOMEM;
    snprintf(c->filename, n, "%s_%s_%s.deb", c->name, colon ? colon + 1 : c->version, arch);
    if (!debs)
        return BW_OK;
    snprintf(path, sizeof(path), "%s/%s", debs, c->filename);
    rc = sha512_file(path, hex);
    if (rc == BW_E_NOTFOUND && colon) {
        snprintf(path, sizeof(path), "%s/%s_%.*s%%3a%s_%s.deb", debs, c->name,
                 (int)(colon - c->version), c->version, colon + 1, arch);
        rc = sha512_file(path, hex);
    }
    if (rc == BW_E_NOTFOUND)
        return BW_OK; /* not known: the field is left out */
    if (rc)
        return rc;
    c->sha512 = bwh_strdup(hex);
    return c->sha512 ? BW_OK : BW_E_NOMEM;
}

/* debugfs -R "CMD" IMG, output discarded; no shell. */
static bw_err debugfs(const char *img, const char *cmd)
{
    const char *argv[] = {"debugfs", "-R", cmd, img, NULL};
    int st = 0, null;
    pid_t pid = fork();

    if (pid < 0)
        return BW_E_IO;
    if (pid == 0) {
        null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? BW_OK : BW_E_IO;
}

/* The image's status file and doc directory, copied into tmp. */
static bw_err from_image(const char *img, const char *tmp)
{
    char cmd[4200];
    struct stat st;
    bw_err rc;

    char p[4200];

    snprintf(cmd, sizeof(cmd), "dump /var/lib/dpkg/status %s/status", tmp);
    rc = debugfs(img, cmd);
    snprintf(p, sizeof(p), "%s/status", tmp);
    /* debugfs exits 0 when the file is missing: look for the copy */
    if (!rc && (stat(p, &st) != 0 || !S_ISREG(st.st_mode)))
        rc = BW_E_NOTFOUND;
    if (rc)
        return rc;
    snprintf(cmd, sizeof(cmd), "rdump /usr/share/doc %s", tmp);
    (void)debugfs(img, cmd); /* without docs the licences are unknown */
    return BW_OK;
}

static bw_err read_dpkg(const char *status, const char *docs, const char *debs, struct sbom *s)
{
    uint8_t *buf = NULL;
    size_t len = 0, i, first = s->n;
    bw_err rc;

    rc = bwh_read_file(status, SBOM_INPUT_MAX, &buf, &len);
    if (!rc)
        rc = sbom_read_dpkg((const char *)buf, len, s);
    bwh_free(buf);
    for (i = first; !rc && i < s->n; i++) {
        struct sbom_comp *c = &s->c[i];
        char path[4096];

        rc = deb_file(c, debs);
        snprintf(path, sizeof(path), "%s/%s/copyright", docs, c->name);
        if (!rc && bwh_read_file(path, 1u << 20, &buf, &len) == BW_OK) {
            rc = sbom_dep5_licenses((const char *)buf, len, &c->licenses);
            if (rc == BW_E_NOTFOUND)
                rc = BW_OK;
            bwh_free(buf);
        }
        buf = NULL;
    }
    return rc;
}

static void rm_tree(const char *dir)
{
    const char *argv[] = {"rm", "-rf", "--", dir, NULL};
    int st;
    pid_t pid = fork();

    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
}

static int cmd_sbom(struct cli_args *a)
{
    const char *root = cli_get(a, "root"), *img = cli_get(a, "image"), *list = cli_get(a, "list");
    const char *out = cli_get(a, "out"), *what = "sbom";
    struct sbom_meta m;
    struct sbom s;
    char ts[32], tmp[] = "/tmp/bulwark-sbom.XXXXXX", path[4200], *txt = NULL;
    int status = 1, made_tmp = 0;
    json_t *bom = NULL;
    size_t n = 0;
    bw_err rc = BW_OK;

    memset(&s, 0, sizeof(s));
    memset(&m, 0, sizeof(m));
    m.product = cli_get(a, "product");
    m.product_version = cli_get(a, "product-version");
    m.creator_name = cli_get(a, "creator");
    m.creator_url = cli_get(a, "creator-url");
    m.creator_email = cli_get(a, "creator-email");
    m.distro = cli_get(a, "distro") ? cli_get(a, "distro") : "debian";
    m.timestamp = cli_get(a, "timestamp");
    if (!root && !img && !list)
        return cli_usage(a, "one of --root, --image or --list is required");
    if (root && img)
        return cli_usage(a, "--root and --image exclude each other");
    if (!m.product || !m.product_version || !m.creator_name)
        return cli_usage(a, "--product, --product-version and --creator are required");
    if (!m.creator_url && !m.creator_email)
        return cli_usage(a, "--creator-url or --creator-email is required (BSI TR-03183-2 5.2.1)");
    if (sbom_time(m.timestamp, ts))
        return cli_usage(a, "SOURCE_DATE_EPOCH: not a whole number, or --timestamp too long");
    m.timestamp = ts;
    if (root) {
        char docs[4200];

        snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", root);
        snprintf(docs, sizeof(docs), "%s/usr/share/doc", root);
        what = path;
        rc = read_dpkg(path, docs, cli_get(a, "debs"), &s);
    } else if (img) {
        what = img;
        rc = mkdtemp(tmp) ? BW_OK : BW_E_IO;
        made_tmp = !rc;
        if (!rc)
            rc = from_image(img, tmp);
        snprintf(path, sizeof(path), "%s/status", tmp);
        if (!rc) {
            char docs[4200];

            snprintf(docs, sizeof(docs), "%s/doc", tmp); /* rdump keeps the name */
            rc = read_dpkg(path, docs, cli_get(a, "debs"), &s);
        }
    }
    if (!rc && list) {
        uint8_t *buf = NULL;
        size_t len = 0;

        what = list;
        rc = bwh_read_file(list, SBOM_INPUT_MAX, &buf, &len);
        if (!rc)
            rc = sbom_read_list((const char *)buf, len, &s);
        bwh_free(buf);
    }
    if (rc) {
        status = cli_fail(a, what, rc);
        goto out;
    }
    sbom_resolve(&s);
    bom = sbom_cyclonedx(&s, &m);
    n = bom ? json_dumpb(bom, NULL, 0, JSON_INDENT(2)) : 0;
    txt = n ? bwh_malloc(n + 1) : NULL;
    if (!txt || json_dumpb(bom, txt, n, JSON_INDENT(2)) != n) {
        status = cli_fail(a, "sbom", BW_E_NOMEM);
        goto out;
    }
    txt[n++] = '\n';
    if (out) {
        rc = bwh_write_file_atomic(out, txt, n, 0644);
        if (rc) {
            status = cli_fail(a, out, rc);
            goto out;
        }
    } else if (fwrite(txt, 1, n, stdout) != n) {
        status = cli_fail(a, "stdout", BW_E_IO);
        goto out;
    }
    if (cli_flag(a, "json") && out) {
        uint8_t d[BW_SHA256_LEN];

        if (bw_sha256((const uint8_t *)txt, n, d) == BW_OK) {
            printf("{\"sbom\":");
            bwh_json_str(stdout, out, strlen(out));
            printf(",\"components\":%zu,\"sha256\":", s.n);
            bwh_json_hex(stdout, d, sizeof(d));
            printf("}\n");
        }
    } else if (out) {
        printf("wrote %s: %zu components\n", out, s.n);
    }
    status = 0;
out:
    if (made_tmp)
        rm_tree(tmp);
    json_decref(bom);
    bwh_free(txt);
    sbom_free(&s);
    return status;
}

const struct cli_cmd cli_cmd_sbom = {
    "sbom", "write the CycloneDX 1.6 SBOM of a release image (BSI TR-03183-2 fields)",
    "--product NAME --product-version V --creator NAME (--creator-url URL|--creator-email ADDR)\n"
    "       (--root DIR|--image IMG) [--list FILE] [--debs DIR] [--out SBOM.json]",
    "Every installed package of the image's dpkg database becomes a component with\n"
    "its creator (Maintainer), name, version, filename of the .deb, dependencies\n"
    "(Depends, Pre-Depends; 'compositions' says per component whether they are\n"
    "complete), licences from its DEP-5 copyright file (declared and concluded),\n"
    "the SHA-512 of the .deb when --debs holds it, and a purl. --list adds the\n"
    "maker's own components (format in docs/cra.md). No vulnerability data goes\n"
    "into the SBOM. The output is deterministic for a fixed --timestamp or\n"
    "SOURCE_DATE_EPOCH. Sign its digest into the release with 'bulwark sign --sbom'.",
    sbom_opts, 0, 0, cmd_sbom};
