/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark: the command-line tool. main() looks the subcommand up in the
 * command table, parses its options from the command's option rows and
 * runs it. Every command is a client of libbulwark like any other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "bwh/cryptomode.h"
#include "bwh/device.h"

static const struct cli_opt keygen_opts[] = {
    {"out", "KEY.pem", "private key to write (PKCS#8 PEM, mode 0600)"},
    {"pub", "PUB.pem", "public key to write (SubjectPublicKeyInfo PEM)"},
    {"force", NULL, "overwrite existing files"},
    {NULL, NULL, NULL}};

static const struct cli_opt sign_opts[] = {
    {"key", "KEY.pem", "signing key (P-256 private key, PEM or DER)"},
    {"vendor-id", "UUID", "vendor identifier the device checks (RFC 4122 UUID)"},
    {"class-id", "UUID", "class identifier the device checks (RFC 4122 UUID)"},
    {"sequence", "N", "manifest sequence number: the anti-rollback counter"},
    {"out", "PKG", "package to write (replaced atomically)"},
    {"component-id", "HEX", "component identifier (default 00)"},
    {"uri", "URI", "where devices fetch the payload (informational)"},
    {"integrated", NULL, "embed the payload in the envelope (images up to 512 KiB)"},
    {"image-a", "FILE", "A/B package: the image linked for slot A (with --image-b, no IMAGE)"},
    {"image-b", "FILE", "A/B package: the image linked for slot B; each device installs the one for its free slot"},
    {"chunk-size", "BYTES", "payload chunk size, a power of two from 4096 (default 65536): a device holds one chunk in RAM"},
    {"compress", NULL, "compress the payload with zstd, flushed at each chunk (digests stay over the uncompressed bytes)"},
    {"compress-level", "N", "zstd level for --compress, 1 to 22 (default 19)"},
    {"sync", NULL, "fsync the package before renaming it into place"},
    {"sbom", "SBOM.json", "sign this SBOM's SHA-256 into the manifest (see 'bulwark sbom')"},
    {"security-only", NULL, "mark the release as a security update only (no new features; signed)"},
    {"json", NULL, "print a JSON summary on stdout"},
    {NULL, NULL, NULL}};

static const struct cli_opt verify_opts[] = {
    {"pub", "PUB.pem", "trusted public key (PEM or DER)"},
    {"vendor-id", "UUID", "refuse unless the manifest asserts this vendor id"},
    {"class-id", "UUID", "refuse unless the manifest asserts this class id"},
    {"min-sequence", "N", "refuse a sequence number below N (anti-rollback floor)"},
    {"manifest-only", NULL, "the input is a bare SUIT envelope without payload"},
    {"json", NULL, "print the result as one JSON object"},
    {NULL, NULL, NULL}};

static const struct cli_opt inspect_opts[] = {
    {"json", NULL, "print one JSON object"},
    {"pub", "PUB.pem", "also authenticate with this key"},
    {NULL, NULL, NULL}};

static const struct cli_opt device_opts[] = {
    {"dir", "DIR", "directory of the simulated device (created)"},
    {"slot-size", "BYTES", "size of each of the two slots"},
    {"pub", "PUB.pem", "release public key the device trusts"},
    {"vendor-id", "UUID", "the device's vendor id"},
    {"class-id", "UUID", "the device's class id"},
    {"slot-a", "PATH", "slot A: a file (created) or a block device (default DIR/slot-a.img)"},
    {"slot-b", "PATH", "slot B, which must not be slot A by another name (default DIR/slot-b.img)"},
    {"force", NULL, "start over: new empty slots and boot state"},
    {"tuf-root", "ROOT.json",
     "the fleet's TUF root (bulwark repo): checked and installed as DIR/state/tuf/root.json, "
     "the trust the agent starts from (docs/trust.md)"},
    {NULL, NULL, NULL}};

static const struct cli_opt install_opts[] = {
    {"config", "DEVICE.conf", "the device (see 'bulwark device init')"},
    {"cacert", "CA.pem", "CA bundle for an https:// package URL (default: the system's)"},
    {"timeout", "SECONDS", "a URL download, retries included, ends after this (default 3600)"},
    {"connect-timeout", "SECONDS", "each connection attempt to a URL's server (default 15)"},
    {"low-speed", "BYTES/SECONDS",
     "a URL download slower than BYTES/s over SECONDS is cut and resumed (default 100/60; 0: off)"},
    {"delta", "DELTA|URL",
     "install from this delta package (bulwark delta make) and the running slot; PKG is the "
     "fallback when the delta cannot be used"},
    {"delta-only", NULL, "with --delta: refuse rather than fall back to PKG"},
    {"json", NULL, "progress and result as JSON lines on stdout"},
    {NULL, NULL, NULL}};

static const struct cli_opt state_opts[] = {
    {"config", "DEVICE.conf", "the device (see 'bulwark device init')"},
    {"json", NULL, "print the boot state as one JSON object"},
    {NULL, NULL, NULL}};

static const struct cli_opt boot_opts[] = {
    {"config", "DEVICE.conf", "the device (see 'bulwark device init')"},
    {"json", NULL, "print the boot state as one JSON object"},
    {"no-verify", NULL, "skip hashing the slots (a bootloader that verifies them itself)"},
    {NULL, NULL, NULL}};

static const struct cli_cmd commands[] = {
    {"keygen", "create a P-256 signing key pair", "--out KEY.pem --pub PUB.pem",
     "Generates an ECDSA P-256 key pair from the system CSPRNG. The private key\n"
     "is written with mode 0600; keep it offline or in a token. The public key is\n"
     "what devices and the gateway are configured with.",
     keygen_opts, 0, 0, cmd_keygen},
    {"sign", "sign an image into an update package",
     "--key KEY.pem --vendor-id UUID --class-id UUID --sequence N --out PKG "
     "(IMAGE | --image-a FILE --image-b FILE)",
     "Writes a package: a SUIT envelope signed with COSE_Sign1 ES256, the list of\n"
     "SHA-256 digests of each 64 KiB chunk, then the image. The image is streamed,\n"
     "never loaded whole. Devices refuse packages whose sequence number is below the\n"
     "highest they accepted, so increase it with every release. With --image-a and\n"
     "--image-b the package carries one image per slot (SUIT try-each on the\n"
     "component slot) and a device installs the one linked for its free slot.\n"
     "With --compress the payload is one zstd stream flushed at every chunk; the\n"
     "signed digests stay those of the uncompressed chunks.",
     sign_opts, 0, 1, cmd_sign},
    {"verify", "check a package's signature, manifest and every payload byte",
     "--pub PUB.pem [--vendor-id UUID] [--class-id UUID] [--min-sequence N] PKG",
     "Checks, in order: CBOR encoding, manifest digest and signature, manifest\n"
     "content, vendor/class/sequence when given, the chunk list, every chunk and\n"
     "the whole-image digest and size. PKG may be - for stdin. Exit status 0 means\n"
     "every check passed; see 'bulwark help exit-codes' for the others.",
     verify_opts, 1, 1, cmd_verify},
    {"inspect", "show what a package or envelope contains", "[--json] PKG|ENVELOPE",
     "Decodes the envelope without trusting it (unless --pub is given) and prints\n"
     "sequence number, components, vendor/class ids, image digest and size, chunk\n"
     "list and signatures. The payload is not read.",
     inspect_opts, 1, 1, cmd_inspect},
    {"device", "create a simulated device (two file slots, file boot state)",
     "init --dir DIR --slot-size BYTES --pub PUB.pem --vendor-id UUID --class-id UUID\n"
     "             [--slot-a PATH --slot-b PATH] [--tuf-root ROOT.json]",
     "Creates DIR/device.conf, DIR/slot-a.img, DIR/slot-b.img, DIR/state/ and a copy of\n"
     "the release key. A real device's device.conf names its block devices instead\n"
     "(--slot-a, --slot-b). Slots that are one object under two names (a symlink, a\n"
     "./ spelling, a hard link, two nodes of one block device) are refused, here and\n"
     "by every command that loads device.conf. --tuf-root installs the fleet's first\n"
     "TUF root: the agent then installs only what the repository's targets role signed.",
     device_opts, 1, 1, cmd_device},
    {"install", "install a package into the inactive slot for a trial boot",
     "--config DEVICE.conf PKG|URL|-",
     "Authenticates the package and checks vendor, class and the anti-rollback floor\n"
     "before writing anything; writes each chunk only after it verified; checks the\n"
     "whole image, syncs the slot, and only then marks it for a trial boot. A URL\n"
     "(http:// or https://) is streamed; a broken download resumes with a Range request,\n"
     "within limits (--timeout, --connect-timeout, --low-speed, at most 3 redirects, never\n"
     "from https to http, the answer no longer than a package for this slot size).\n"
     "With --delta, the chunks are assembled from the running slot and the frames\n"
     "of a delta package (fetched with Range requests from a URL); each is checked\n"
     "against the signed list before it is written (docs/delta.md).",
     install_opts, 1, 1, cmd_install},
    {"status", "show the boot state: slots, trial, anti-rollback floor",
     "--config DEVICE.conf [--json]",
     "Prints the active and trial slots, trial boots left, the highest accepted\n"
     "sequence number and what each slot holds.",
     state_opts, 0, 0, cmd_status},
    {"confirm", "keep the running trial slot (after its health check passed)",
     "--config DEVICE.conf", "Makes the booted trial slot the active slot.", state_opts, 0, 0,
     cmd_confirm},
    {"rollback", "cancel a trial, or switch back to the other slot",
     "--config DEVICE.conf",
     "With a trial pending, cancels it; otherwise makes the other slot active if it\n"
     "holds an image. The anti-rollback floor does not go down.",
     state_opts, 0, 0, cmd_rollback},
    {"boot", "apply the boot rule (what the bootloader does at power-on)",
     "--config DEVICE.conf",
     "Chooses the slot to boot: a trial slot while it has boots left (using one),\n"
     "otherwise the active slot. First each slot's image is hashed and compared\n"
     "with the digest recorded at its install: a slot modified since is forgotten\n"
     "(never booted; logged as tamper), so a modified trial falls back and a\n"
     "modified active slot gives way to the other. Nothing verifies: exit 14.\n"
     "Run by a bootloader hook or an init script.",
     boot_opts, 0, 0, cmd_boot},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Commands whose row lives in their own cmd_<name>.c beside the code. */
static const struct cli_cmd *const more_commands[] = {
    &cli_cmd_provision, &cli_cmd_passwd, &cli_cmd_store, &cli_cmd_log, &cli_cmd_token,
    &cli_cmd_audit, &cli_cmd_risk, &cli_cmd_tuf, &cli_cmd_repo, &cli_cmd_sbom, &cli_cmd_vex,
    &cli_cmd_delta, &cli_cmd_delta_plan,
};
#define N_MORE (sizeof(more_commands) / sizeof(more_commands[0]))

static const struct cli_cmd *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    for (i = 0; i < N_MORE; i++)
        if (!strcmp(more_commands[i]->name, name))
            return more_commands[i];
    return NULL;
}

static int opt_index(const struct cli_cmd *c, const char *name)
{
    int i;

    for (i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            return i;
    return -1;
}

const char *cli_get(const struct cli_args *a, const char *name)
{
    int i = opt_index(a->cmd, name);

    return i >= 0 && a->set[i] ? a->val[i] : NULL;
}

int cli_flag(const struct cli_args *a, const char *name)
{
    int i = opt_index(a->cmd, name);

    return i >= 0 && a->set[i];
}

int cli_exit_code(bw_err rc)
{
    return rc == BW_OK ? 0 : 10 + (int)rc;
}

int cli_fail(const struct cli_args *a, const char *what, bw_err rc)
{
    int e = errno;

    if (rc == BW_E_IO && e)
        fprintf(stderr, "bulwark %s: %s: %s: %s [%s]\n", a->cmd->name, what, bw_strerror(rc),
                strerror(e), bw_errname(rc));
    else
        fprintf(stderr, "bulwark %s: %s: %s [%s]\n", a->cmd->name, what, bw_strerror(rc),
                bw_errname(rc));
    return cli_exit_code(rc);
}

int cli_usage(const struct cli_args *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bulwark %s: ", a->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: bulwark %s %s\n(see 'bulwark %s --help')\n", a->cmd->name,
            a->cmd->usage, a->cmd->name);
    return 2;
}

static void cmd_help(const struct cli_cmd *c)
{
    int i;

    printf("usage: bulwark %s %s\n\n%s\n\n%s\n\noptions:\n", c->name, c->usage, c->summary,
           c->details);
    for (i = 0; c->opts[i].name; i++) {
        char left[40];

        snprintf(left, sizeof(left), "--%s%s%s", c->opts[i].name, c->opts[i].arg ? " " : "",
                 c->opts[i].arg ? c->opts[i].arg : "");
        printf("  %-26s %s\n", left, c->opts[i].help);
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static void main_help(void)
{
    size_t i;

    printf("usage: bulwark COMMAND [OPTIONS] [ARGS]\n\n"
           "bulwark signs and verifies SUIT update packages (COSE ES256) whose\n"
           "payload is checked chunk by chunk before any byte is used.\n\ncommands:\n");
    for (i = 0; i < N_COMMANDS; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    for (i = 0; i < N_MORE; i++)
        printf("  %-10s %s\n", more_commands[i]->name, more_commands[i]->summary);
    printf("\n'bulwark COMMAND --help' explains a command; 'bulwark help exit-codes' lists\n"
           "exit statuses; 'bulwark --version' prints the version.\n\n"
           "A typical release:\n"
           "  bulwark keygen --out release.key --pub release.pub\n"
           "  bulwark sign --key release.key --vendor-id $VENDOR --class-id $CLASS \\\n"
           "               --sequence 2 --out fw-2.bwp fw-2.img\n"
           "  bulwark verify --pub release.pub --vendor-id $VENDOR --min-sequence 2 fw-2.bwp\n");
}

static void exit_codes(void)
{
    int e;

    printf("exit status  meaning\n"
           "  0          success\n"
           "  1          audit: a requirement failed (the reports are still written)\n"
           "  2          usage error (unknown option, missing argument)\n");
    for (e = 1; e < BW_E__COUNT; e++)
        printf("  %-3d        %-17s %s\n", cli_exit_code((bw_err)e), bw_errname((bw_err)e),
               bw_strerror((bw_err)e));
}

int main(int argc, char **argv)
{
    struct cli_args a;
    const struct cli_cmd *c = NULL;
    int k;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        main_help();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bulwark %s\n", BULWARK_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "help")) {
        if (!strcmp(argv[2], "exit-codes")) {
            exit_codes();
            return 0;
        }
        c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "bulwark: no help on '%s'\n", argv[2]);
            return 2;
        }
        cmd_help(c);
        return 0;
    }
    c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "bulwark: unknown command '%s' (see 'bulwark --help')\n", argv[1]);
        return 2;
    }
    {
        /* BULWARK_CRYPTO_MODE=approved: before any command's first
         * cryptographic operation (device.conf's crypto_mode, read later by
         * the commands that open a device, can turn it on as well) */
        bw_err mrc = bwh_crypto_mode_from_env("bulwark");

        if (mrc)
            return cli_exit_code(mrc);
    }
    if (c == &cli_cmd_tuf) {
        if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            cmd_help(c);
            return 0;
        }
        return cmd_tuf_argv(argc - 2, argv + 2);
    }
    memset(&a, 0, sizeof(a));
    a.cmd = c;
    for (k = 2; k < argc; k++) {
        const char *s = argv[k];
        int o;

        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            cmd_help(c);
            return 0;
        }
        if (s[0] == '-' && s[1] == '-' && s[2]) {
            const char *eq = strchr(s + 2, '=');
            char name[64];

            snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - s - 2) : (int)strlen(s + 2),
                     s + 2);
            o = opt_index(c, name);
            if (o < 0)
                return cli_usage(&a, "unknown option --%s", name);
            if (a.set[o])
                return cli_usage(&a, "--%s given twice", name);
            a.set[o] = 1;
            if (c->opts[o].arg) {
                if (eq) {
                    a.val[o] = eq + 1;
                } else {
                    if (k + 1 >= argc)
                        return cli_usage(&a, "--%s needs %s", name, c->opts[o].arg);
                    a.val[o] = argv[++k];
                }
            } else if (eq) {
                return cli_usage(&a, "--%s takes no value", name);
            }
            continue;
        }
        if (a.npos == CLI_MAX_POS || a.npos >= c->max_pos)
            return cli_usage(&a, "unexpected argument '%s'", s);
        a.pos[a.npos++] = s;
    }
    if (a.npos < c->min_pos)
        return cli_usage(&a, "missing argument");
    return c->run(&a);
}
