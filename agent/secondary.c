/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secondaries: microcontrollers attached to this host by a serial link,
 * for which the agent checks in, downloads and verifies (the Uptane
 * "secondary" pattern, docs/mcu.md "Through a gateway"). Here: the
 * secondary's configuration file, the serial link (a unix socket such as
 * QEMU's -chardev socket, or a tty in raw mode) and its line protocol
 * ("status", "install N" + N bytes). Not here: the cycle (agent/cycle.c)
 * and the environment that joins the two (agent/agent.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "bwh/device.h"
#include "bwh/host.h"
#include "bwh/identity.h"

/* --- secondary.conf ------------------------------------------------------------- */

#define S(f)                                                                                       \
    .type = BWH_CONF_STR, .off = offsetof(struct agent_secondary, f),                               \
    .cap = sizeof(((struct agent_secondary *)0)->f)
#define U(f) .type = BWH_CONF_U64, .off = offsetof(struct agent_secondary, f), .cap = 8
static const struct bwh_conf_row rows[] = {
    {"device_config", S(c.device_config), NULL,
     "the secondary's device.conf on this host: its identity (device key and certificate "
     "issued for its own device id), the release key, vendor and class its packages name, "
     "data_dir; its slots are not used",
     .example = "/etc/bulwark/mcu-1/device.conf"},
    {"serial", S(serial), NULL,
     "the serial link: unix:PATH (a stream socket, e.g. QEMU's -chardev socket) or a tty "
     "device (raw, 115200 baud)",
     .example = "/dev/ttyUSB0"},
    {"device_id", S(c.device_id), "", "device id (default: the CN of its certificate)"},
    {"state_dir", S(c.state_dir), "", "its agent state and partial downloads (default: data_dir/agent)"},
    {"attributes", S(c.attributes), "", "attributes sent at its check-in: name=value,name=value"},
    {"version", S(c.version), "", "version reported at check-in (default: the release installed)"},
    {"serial_timeout", U(serial_timeout), "60",
     "seconds the device may take to answer a request, or to take and check a package"},
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

bw_err agent_secondary_load(struct agent_secondary *s, const struct agent_conf *primary,
                            const char *path)
{
    struct bwh_device_conf dc;
    bw_err rc;

    memset(s, 0, sizeof(*s));
    rc = bwh_conf_load(s, rows, N_ROWS, path);
    if (rc)
        return rc;
    if (s->serial_timeout < 1 || s->serial_timeout > 3600) {
        fprintf(stderr, "%s: serial_timeout: 1 to 3600 seconds\n", path);
        return BW_E_FORMAT;
    }
    if (strlen(s->c.device_id) > 128) {
        fprintf(stderr, "%s: device_id: at most 128 bytes (token claims)\n", path);
        return BW_E_FORMAT;
    }
    if (bwh_device_conf_load(&dc, s->c.device_config)) /* says why itself */
        return BW_E_FORMAT;
    if (!*s->c.state_dir)
        snprintf(s->c.state_dir, sizeof(s->c.state_dir), "%.4000s/agent", dc.data_dir);
    /* the rest (gateway, policy, poll and transfer settings) is the
     * primary's: one agent, one gateway */
    {
        struct agent_conf own = s->c;

        s->c = *primary;
        memcpy(s->c.device_config, own.device_config, sizeof(own.device_config));
        memcpy(s->c.device_id, own.device_id, sizeof(own.device_id));
        memcpy(s->c.state_dir, own.state_dir, sizeof(own.state_dir));
        memcpy(s->c.attributes, own.attributes, sizeof(own.attributes));
        memcpy(s->c.version, own.version, sizeof(own.version));
        s->c.secondaries[0] = 0;
    }
    if (!*s->c.device_id) { /* the CN of its certificate, as the gateway will see it */
        struct bwh_cert_info info;
        uint8_t *pem = NULL;
        size_t len;

        rc = bwh_read_file(dc.device_cert, 65536, &pem, &len);
        if (!rc)
            rc = bwh_cert_info((const char *)pem, len, &info);
        bwh_free(pem);
        if (rc) {
            fprintf(stderr, "%s: device certificate %s: %s\n", path, dc.device_cert,
                    bw_strerror(rc));
            return rc;
        }
        snprintf(s->c.device_id, sizeof(s->c.device_id), "%s", info.device_id);
    }
    snprintf(s->tag, sizeof(s->tag), "%.128s: ", s->c.device_id);
    return BW_OK;
}

void agent_secondary_sample(FILE *f)
{
    bwh_conf_sample(f, rows, N_ROWS,
                    "# a secondary of bulwark-agent (agent.conf: secondaries = PATH,...)\n"
                    "# key = value; lines starting with # are comments.\n");
}

/* --- the serial link -------------------------------------------------------------- */

/* Opens the link; *fd is non-blocking. BW_E_IO (said on stderr). */
static bw_err link_open(const struct agent_secondary *s, int *fd)
{
    const char *p = s->serial;

    *fd = -1;
    if (!strncmp(p, "unix:", 5)) {
        struct sockaddr_un a;

        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        if (strlen(p + 5) >= sizeof(a.sun_path)) {
            fprintf(stderr, "bulwark-agent: %s: socket path too long\n", p);
            return BW_E_IO;
        }
        memcpy(a.sun_path, p + 5, strlen(p + 5));
        *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (*fd >= 0 && connect(*fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(*fd);
            *fd = -1;
        }
    } else {
        struct termios t;

        *fd = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (*fd >= 0 && isatty(*fd)) {
            if (tcgetattr(*fd, &t) == 0) {
                cfmakeraw(&t);
                (void)cfsetspeed(&t, B115200);
                (void)tcsetattr(*fd, TCSANOW, &t);
            }
            (void)tcflush(*fd, TCIFLUSH); /* nothing said before this request */
        }
    }
    if (*fd < 0 || fcntl(*fd, F_SETFL, O_NONBLOCK) != 0) {
        fprintf(stderr, "bulwark-agent: serial link %s: %s\n", p, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return BW_E_IO;
    }
    return BW_OK;
}

/* Waits for ev on fd until the deadline (bwh_now() time). BW_E_IO on a
 * timeout or an error. */
static bw_err link_wait(int fd, short ev, double deadline)
{
    struct pollfd pf = {fd, ev, 0};
    double left;
    int r;

    for (;;) {
        left = deadline - bwh_now();
        if (left <= 0 || agent_stopping)
            return BW_E_IO;
        r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r > 0)
            return BW_OK;
        if (r < 0 && errno != EINTR)
            return BW_E_IO;
    }
}

static bw_err link_write(int fd, const void *buf, size_t len, double deadline)
{
    const uint8_t *p = buf;
    ssize_t w;
    bw_err rc;

    while (len) {
        if ((rc = link_wait(fd, POLLOUT, deadline)))
            return rc;
        w = write(fd, p, len);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return BW_E_IO;
        p += w;
        len -= (size_t)w;
    }
    return BW_OK;
}

/* The next line from the device that starts with prefix (others are
 * skipped: console noise, a late answer to an earlier request), without
 * prefix and line end. BW_E_IO on a timeout or a closed link. */
static bw_err link_line(int fd, const char *prefix, char *out, size_t cap, double deadline)
{
    char line[256];
    size_t n = 0, plen = strlen(prefix);
    int over = 0; /* the line is longer than line[]: dropped whole */
    ssize_t r;
    char ch;
    bw_err rc;

    for (;;) {
        if ((rc = link_wait(fd, POLLIN, deadline)))
            return rc;
        r = read(fd, &ch, 1);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            return BW_E_IO;
        if (ch == '\r')
            continue;
        if (ch != '\n') {
            if (n < sizeof(line) - 1)
                line[n++] = ch;
            else
                over = 1;
            continue;
        }
        line[n] = 0;
        n = 0;
        if (over) {
            over = 0;
            continue;
        }
        if (!strncmp(line, prefix, plen)) {
            snprintf(out, cap, "%s", line + plen);
            return BW_OK;
        }
    }
}

/* "A", "B" or "-" */
static int slot_of(const char *v, uint8_t *slot)
{
    if (!strcmp(v, "A"))
        *slot = BW_SLOT_A;
    else if (!strcmp(v, "B"))
        *slot = BW_SLOT_B;
    else if (!strcmp(v, "-"))
        *slot = BW_SLOT_NONE;
    else
        return -1;
    return 0;
}

bw_err agent_secondary_parse_state(const char *line, struct bw_bootstate *st, uint64_t *counter)
{
    char buf[256], *tok, *save = NULL;
    unsigned seen = 0;
    uint64_t floor = 0;
    bw_err rc = BW_E_FORMAT;

    memset(st, 0, sizeof(*st));
    st->slot_sequence[0] = st->slot_sequence[1] = BW_SEQ_EMPTY;
    *counter = 0;
    if (strlen(line) >= sizeof(buf))
        return rc;
    snprintf(buf, sizeof(buf), "%s", line);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        static const char *const keys[] = {"booted", "active", "trial", "left", "seqA",
                                           "seqB", "floor", "counter", "confirmed"};
        char *v = strchr(tok, '=');
        uint64_t n = 0;
        unsigned i;
        int bad = 0;

        if (!v)
            return rc;
        *v++ = 0;
        for (i = 0; i < 9 && strcmp(tok, keys[i]); i++)
            ;
        if (i == 9 || (seen & (1u << i)))
            return rc; /* unknown or twice */
        seen |= 1u << i;
        if (i < 3) {
            uint8_t sl = BW_SLOT_NONE;

            bad = slot_of(v, &sl);
            if (i == 0)
                st->booted = sl;
            else if (i == 1)
                st->active = sl;
            else
                st->trial = sl;
        } else if ((i == 4 || i == 5) && !strcmp(v, "-")) {
            st->slot_sequence[i - 4] = BW_SEQ_EMPTY;
        } else {
            bad = bwh_parse_u64(v, &n) != BW_OK || n == BW_SEQ_EMPTY;
            if ((i == 3 && n > 255) || (i == 8 && n > 1))
                bad = 1;
            if (i == 3)
                st->trial_boots_left = (uint8_t)n;
            else if (i == 4 || i == 5)
                st->slot_sequence[i - 4] = n;
            else if (i == 6)
                floor = n;
            else if (i == 7)
                *counter = n;
            else
                st->confirmed = (uint8_t)n;
        }
        if (bad)
            return rc;
    }
    /* every field, and a confirmed slot to run */
    if (seen != 0x1ffu || st->active == BW_SLOT_NONE || st->booted == BW_SLOT_NONE)
        return rc;
    st->highest_sequence = floor > *counter ? floor : *counter;
    return BW_OK;
}

bw_err agent_secondary_status(const struct agent_secondary *s, struct bw_bootstate *st,
                              uint64_t *counter)
{
    char line[256];
    double deadline = bwh_now() + (double)s->serial_timeout;
    int fd;
    bw_err rc;

    if ((rc = link_open(s, &fd)))
        return rc;
    rc = link_write(fd, "status\n", 7, deadline);
    if (!rc)
        rc = link_line(fd, "bw state ", line, sizeof(line), deadline);
    close(fd);
    if (rc) {
        fprintf(stderr, "bulwark-agent: %s: no state from the device within %" PRIu64 " s\n",
                s->serial, s->serial_timeout);
        return rc;
    }
    rc = agent_secondary_parse_state(line, st, counter);
    if (rc)
        fprintf(stderr, "bulwark-agent: %s: malformed state refused: %.200s\n", s->serial, line);
    return rc;
}

/*
 * Method: "install N", then the N bytes of the package from byte 0 (the
 * file the cycle verified: the same bytes, read again here), then the
 * device's verdict. The device checks everything itself; a write blocks
 * while it checks and writes a chunk, so the deadline covers the whole
 * transfer. The verdict is the device's error name, mapped back to its
 * code.
 */
bw_err agent_secondary_install(const struct agent_secondary *s, int pkg, uint64_t size,
                               char *verdict, size_t cap)
{
    char line[96], hdr[48];
    uint8_t buf[16384];
    double deadline = bwh_now() + (double)s->serial_timeout;
    uint64_t sent = 0;
    size_t got;
    int fd, i, n;
    bw_err rc;

    snprintf(verdict, cap, "no answer");
    if (lseek(pkg, 0, SEEK_SET) != 0)
        return BW_E_IO;
    if ((rc = link_open(s, &fd)))
        return rc;
    n = snprintf(hdr, sizeof(hdr), "install %" PRIu64 "\n", size);
    rc = link_write(fd, hdr, (size_t)n, deadline);
    while (!rc && sent < size) {
        if ((rc = bwh_read_full(pkg, buf, size - sent < sizeof(buf) ? (size_t)(size - sent) : sizeof(buf),
                                &got)))
            break;
        if (!got) {
            rc = BW_E_IO; /* the file is shorter than it was */
            break;
        }
        rc = link_write(fd, buf, got, deadline);
        sent += got;
    }
    if (!rc)
        rc = link_line(fd, "bw install ", line, sizeof(line), deadline);
    close(fd);
    if (rc) {
        snprintf(verdict, cap, "serial link %s: %s after %" PRIu64 " of %" PRIu64 " bytes",
                 s->serial, bw_strerror(rc), sent, size);
        return BW_E_IO;
    }
    snprintf(verdict, cap, "%s", line);
    for (i = 0; i < BW_E__COUNT; i++)
        if (!strcmp(line, bw_errname((bw_err)i)))
            return (bw_err)i;
    return BW_E_FORMAT; /* not an answer the protocol knows */
}
