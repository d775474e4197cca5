/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table-driven configuration loader (host/conf.c) behind
 * device.conf, gateway.conf and agent.conf: every type, the defaults, each
 * refusal with its message naming the line, and the sample read back.
 */
#define _DEFAULT_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bwh/host.h"
#include "t.h"

struct cfg {
    char name[8];
    char path[32];
    char word[8];
    uint64_t n;
    uint8_t id[16];
    int flag;
};

static bw_err even_length(const char *v)
{
    return strlen(v) % 2 ? BW_E_UNSUPPORTED : BW_OK;
}

#define F(t, f) .type = t, .off = offsetof(struct cfg, f), .cap = sizeof(((struct cfg *)0)->f)
static const struct bwh_conf_row rows[] = {
    {"name", F(BWH_CONF_STR, name), NULL, "a required string", .example = "box"},
    {"path", F(BWH_CONF_PATH, path), "/var/x", "a path with a default"},
    {"word", F(BWH_CONF_STR, word), "ab", "even length", even_length},
    {"n", F(BWH_CONF_U64, n), "7", "a number"},
    {"id", F(BWH_CONF_UUID, id), "6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b", "a uuid"},
    {"flag", F(BWH_CONF_BOOL, flag), "no", "a switch"},
};
#define N (sizeof(rows) / sizeof(rows[0]))

static char dir[] = "/tmp/bw-conf-XXXXXX";
static char file[64], errfile[64];

/* Loads text; *msg gets what was printed on stderr. */
static bw_err load(const char *text, struct cfg *c, char *msg, size_t cap)
{
    FILE *f = fopen(file, "w");
    int saved = dup(2), fd;
    size_t n;
    bw_err rc;

    fputs(text, f);
    fclose(f);
    fflush(stderr);
    fd = fileno(fopen(errfile, "w"));
    dup2(fd, 2);
    memset(c, 0, sizeof(*c));
    rc = bwh_conf_load(c, rows, N, file);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    f = fopen(errfile, "r");
    n = fread(msg, 1, cap - 1, f);
    msg[n] = 0;
    fclose(f);
    return rc;
}

#define REFUSED(text, want)                                                                        \
    do {                                                                                           \
        CHECK_RC(load(text, &c, msg, sizeof(msg)), BW_E_FORMAT);                                  \
        if (!strstr(msg, want))                                                                    \
            fprintf(stderr, "message '%s' lacks '%s'\n", msg, want);                               \
        CHECK(strstr(msg, want) != NULL);                                                          \
    } while (0)

int main(void)
{
    struct cfg c;
    char msg[512], v[64];
    FILE *f;

    if (!mkdtemp(dir))
        return 1;
    snprintf(file, sizeof(file), "%s/x.conf", dir);
    snprintf(errfile, sizeof(errfile), "%s/err", dir);

    /* defaults fill what is not given */
    CHECK_RC(load("# comment\n\nname = box\n", &c, msg, sizeof(msg)), BW_OK);
    CHECK(!strcmp(c.name, "box") && !strcmp(c.path, "/var/x") && !strcmp(c.word, "ab") &&
          c.n == 7 && c.id[0] == 0x6a && c.id[15] == 0x6b && c.flag == 0);
    /* every type set, blanks and a CR trimmed */
    CHECK_RC(load("name=b\n  path =  /p \nword = abcd\r\nn = 18446744073709551615\n"
                  "id = 00000000-0000-0000-0000-0000000000ff\nflag = yes\n",
                  &c, msg, sizeof(msg)),
             BW_OK);
    CHECK(!strcmp(c.name, "b") && !strcmp(c.path, "/p") && !strcmp(c.word, "abcd") &&
          c.n == UINT64_MAX && c.id[15] == 0xff && c.flag == 1);
    bwh_conf_get(&c, &rows[3], v, sizeof(v));
    CHECK(!strcmp(v, "18446744073709551615"));
    bwh_conf_get(&c, &rows[4], v, sizeof(v));
    CHECK(!strcmp(v, "00000000-0000-0000-0000-0000000000ff"));
    bwh_conf_get(&c, &rows[5], v, sizeof(v));
    CHECK(!strcmp(v, "yes"));

    /* refusals, each naming the line */
    REFUSED("name = a\nbogus = 1\n", ":2: unknown option 'bogus'");
    REFUSED("name = a\nname = b\n", ":2: 'name' given twice");
    REFUSED("path = /x\n", "required option 'name' missing (a required string)");
    REFUSED("name = a\nn = -1\n", ":2: n: bad value '-1' (a number)");
    REFUSED("name = a\nn = 1x\n", "bad value '1x'");
    REFUSED("name = a\nflag = maybe\n", "bad value 'maybe'");
    REFUSED("name = a\nid = 6a1b0f5e\n", "bad value '6a1b0f5e'");
    REFUSED("name = 123456789\n", "value too long '123456789'");
    REFUSED("name = a\nword = abc\n", ":2: word: unsupported value 'abc'");
    REFUSED("name = a\npath =\n", ":2: path: bad value ''"); /* a path with a default */
    REFUSED("name = a\njust words\n", ":2: expected 'key = value'");
    CHECK_RC(load("name =\n", &c, msg, sizeof(msg)), BW_OK); /* a string may be empty */
    {
        char missing[80];

        snprintf(missing, sizeof(missing), "%s/none.conf", dir);
        CHECK(bwh_conf_load(&c, rows, N, missing) != BW_OK);
    }

    /* the sample, written from the table, loads back to the defaults */
    f = fopen(file, "w");
    bwh_conf_sample(f, rows, N, "# test sample\n");
    fclose(f);
    memset(&c, 0, sizeof(c));
    CHECK_RC(bwh_conf_load(&c, rows, N, file), BW_OK);
    CHECK(!strcmp(c.name, "box") && !strcmp(c.path, "/var/x") && c.n == 7);

    unlink(file);
    unlink(errfile);
    rmdir(dir);
    T_DONE();
}
