/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers and request details for the handlers (respond.h): JSON and error
 * bodies through the capped allocator, bw_err -> HTTP status in one
 * function, blobs with ranges and entity tags. It reads libmicrohttpd's
 * request values but never sends: http.c does.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bwh/host.h"
#include "release.h"
#include "respond.h"

int gw_http_status(bw_err rc)
{
    switch (rc) {
    case BW_OK:
        return 200;
    case BW_E_FORMAT:
    case BW_E_INVAL:
    case BW_E_TRUNCATED:
    case BW_E_DEPTH:
    case BW_E_NONMINIMAL:
    case BW_E_TRAILING:
    case BW_E_UNSUPPORTED:
        return 400;
    case BW_E_BADSIG:
    case BW_E_KEY:
    case BW_E_AUTH:
    case BW_E_CLAIM:
    case BW_E_EXPIRED:
    case BW_E_REPLAY:
        return 401;
    case BW_E_DENIED:
        return 403;
    case BW_E_NOTFOUND:
        return 404;
    case BW_E_EXISTS:
    case BW_E_STATE:
        return 409;
    case BW_E_TOOBIG:
        return 413;
    case BW_E_QUOTA:
    case BW_E_LOCKED:
        return 429;
    default:
        return 503;
    }
}

void gw_json(struct gw_resp *r, int status, char *json)
{
    bwh_free(r->body);
    r->status = status;
    r->body = json;
    r->body_len = json ? strlen(json) : 0;
    r->content_type = "application/json";
}

void gw_json_lit(struct gw_resp *r, int status, const char *lit)
{
    gw_json(r, status, bwh_strdup(lit));
}

void gw_text(struct gw_resp *r, int status, const char *content_type, char *body, size_t len)
{
    bwh_free(r->body);
    r->status = status;
    r->body = body;
    r->body_len = body ? len : 0;
    r->content_type = content_type;
}

void gw_error(struct gw_resp *r, int status, const char *code, const char *msg)
{
    size_t n = strlen(msg) * 6 + strlen(code) * 6 + 40, o;
    char *b = bwh_malloc(n);

    if (!b) {
        gw_json(r, status, NULL);
        return;
    }
    o = (size_t)snprintf(b, n, "{\"error\":\"");
    o += bwh_json_esc(b + o, n - o, code, strlen(code));
    o += (size_t)snprintf(b + o, n - o, "\",\"message\":\"");
    o += bwh_json_esc(b + o, n - o, msg, strlen(msg));
    snprintf(b + o, n - o, "\"}");
    gw_json(r, status, b);
}

void gw_error_rc(struct gw_resp *r, bw_err rc, const char *code, const char *msg)
{
    gw_error(r, gw_http_status(rc), code, msg);
}

int gw_registry(struct gw_req *q, struct gw_resp *r, const struct gw_db_ops **ops, void **h)
{
    if (gw_db(q->st, ops, h) == BW_OK)
        return 1;
    gw_error(r, 503, "registry", "registry unavailable");
    return 0;
}

const char *gw_header(const struct gw_req *q, const char *name)
{
    return q->conn ? MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *gw_query_arg(const struct gw_req *q, const char *name)
{
    return q->conn ? MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

int gw_link_base(const struct gw_req *q, char *out, size_t cap)
{
    const struct gw_conf *c = &q->st->conf;
    const char *colon = strrchr(c->listen, ':');
    int n;

    if (c->public_url[0]) {
        n = snprintf(out, cap, "%s", c->public_url);
    } else if (colon && !strcmp(colon, ":0")) { /* any port (tests): the one bound */
        const union MHD_ConnectionInfo *ci =
            q->conn ? MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_DAEMON) : NULL;
        const union MHD_DaemonInfo *di =
            ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;

        if (!di)
            return -1;
        n = snprintf(out, cap, "https://%.*s:%u", (int)(colon - c->listen), c->listen,
                     (unsigned)di->port);
    } else {
        n = snprintf(out, cap, "https://%s", c->listen);
    }
    if (n < 0 || (size_t)n >= cap)
        return -1;
    while (n > 8 && out[n - 1] == '/')
        out[--n] = 0;
    return 0;
}

void gw_send_blob(struct gw_req *q, struct gw_resp *r, const char *digest)
{
    const struct gw_conf *c = &q->st->conf;
    char path[GW_PATH_MAX + 128], etag[80];
    uint64_t first, last;
    struct stat st;
    int fd;
    bw_err rc;

    if (gw_blob_path(c->blob_dir, digest, path, sizeof(path))) {
        gw_error(r, 400, "bad_path", "not a SHA-256 digest");
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        gw_error(r, 404, "not_found", "release blob missing");
        return;
    }
    snprintf(etag, sizeof(etag), "\"sha256-%s\"", digest);
    snprintf(r->etag, sizeof(r->etag), "%s", etag);
    if (q->if_none_match && gw_etag_if_none_match(q->if_none_match, etag)) {
        close(fd);
        r->status = 304;
        return;
    }
    r->fd = fd;
    r->fd_total = (uint64_t)st.st_size;
    r->fd_off = 0;
    r->fd_len = (uint64_t)st.st_size;
    r->status = 200;
    r->content_type = "application/octet-stream";
    snprintf(r->extra_header, sizeof(r->extra_header), "Accept-Ranges: bytes");
    if (q->range && (!q->if_range || gw_etag_if_range(q->if_range, etag))) {
        rc = gw_range_parse(q->range, (uint64_t)st.st_size, &first, &last);
        if (rc == BW_OK) {
            r->fd_off = first;
            r->fd_len = last - first + 1;
            r->status = 206;
            snprintf(r->extra_header, sizeof(r->extra_header),
                     "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
                     (uint64_t)st.st_size);
        } else if (rc == BW_E_SIZE) {
            close(fd);
            r->fd = -1;
            gw_error(r, 416, "range", "range not satisfiable");
            snprintf(r->extra_header, sizeof(r->extra_header), "Content-Range: bytes */%" PRIu64,
                     (uint64_t)st.st_size);
        } /* anything else: the Range header is ignored, full body */
    }
}
