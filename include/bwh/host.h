/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host-only helpers shared by the bulwark CLI and daemons: capped
 * allocation with failure injection, file I/O with atomic replace, key
 * loading, UUIDs, a TTY progress bar, and the streaming package reader.
 * Not part of the device library.
 */
#ifndef BULWARK_HOST_H
#define BULWARK_HOST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "bulwark/bulwark.h"

/* Allocation through one place (host/alloc.c): a cap per call (BW_ALLOC_MAX,
 * 256 MiB) and failure injection for tests: with BW_FAIL_ALLOC=N (decimal
 * digits; 0 or empty: off) in the environment the N-th allocation of the
 * process (1-based, counted atomically across threads) and all later ones
 * fail; a value that is not a count makes every allocation fail. Thread-safe.
 * bwh_free frees what these return (NULL-safe). */
void *bwh_malloc(size_t n);
void *bwh_calloc(size_t n, size_t sz);
void *bwh_realloc(void *p, size_t n);
void bwh_free(void *p);
/* A copy of s (of at most its first n bytes for bwh_strndup), NUL-ended,
 * through bwh_malloc: NULL when s is NULL or the allocation fails. */
char *bwh_strdup(const char *s);
char *bwh_strndup(const char *s, size_t n);

/* Minimal JSON writer (host/json.c). bwh_json_esc: the n bytes of s as the
 * inside of a JSON string (no quotes): '"' and '\\' escaped, \n \r \t as
 * such, other control bytes and DEL as \u00XX, the rest as is (UTF-8 is the
 * caller's to check). Like snprintf it returns the length the whole needs
 * and writes at most cap bytes with a NUL (cut between escapes); out may be
 * NULL with cap 0. On a FILE: a string (escaped, quoted) and bytes as hex. */
size_t bwh_json_esc(char *out, size_t cap, const char *s, size_t n);
void bwh_json_str(FILE *f, const char *s, size_t n);
void bwh_json_hex(FILE *f, const uint8_t *b, size_t n);

/* Reads a whole file of at most cap bytes ("-" is stdin). BW_E_TOOBIG
 * past cap, BW_E_IO (errno kept) otherwise. *buf is bwh_malloc'd. */
BW_NODISCARD bw_err bwh_read_file(const char *path, size_t cap, uint8_t **buf, size_t *len);
/* Makes a directory's entries durable (fsync of the directory): after a
 * rename, a create or an unlink in it. bwh_fsync_parent does it for the
 * directory holding path. BW_E_IO (errno kept) if it cannot be opened or
 * synced. */
BW_NODISCARD bw_err bwh_fsync_dir(const char *dir);
BW_NODISCARD bw_err bwh_fsync_parent(const char *path);
/* Writes path atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory. mode applies to the new file. */
BW_NODISCARD bw_err bwh_write_file_atomic(const char *path, const void *buf, size_t len,
                                         mode_t mode);
/* Creates a new temporary file beside path (mkstemp: unpredictable name,
 * O_EXCL, never follows a planted link) with the given mode. tmp receives
 * its name (cap bytes). Returns the fd, or -1 with errno set. */
int bwh_tmpfile_beside(const char *path, mode_t mode, char *tmp, size_t cap);
/* One line of a "key = value" configuration file, split in place: 0 for a
 * blank line or a # comment, 1 with *key and *value trimmed of blanks (and
 * a trailing CR), -1 when the line has no '='. Shared by device.conf and
 * gateway.conf, whose option tables do the rest. */
int bwh_conf_split(char *line, char **key, char **value);
/* A configuration file described by one table of options (host/conf.c):
 * the table parses the file, fills the defaults and writes the commented
 * sample, so the three cannot drift apart. Used by device.conf,
 * gateway.conf and agent.conf. */
enum bwh_conf_type {
    BWH_CONF_STR,  /* char[cap] */
    BWH_CONF_PATH, /* char[cap], empty only when the default is empty */
    BWH_CONF_U64,  /* uint64_t, decimal */
    BWH_CONF_UUID, /* uint8_t[16] */
    BWH_CONF_BOOL  /* int: yes/true/1 or no/false/0 */
};
struct bwh_conf_row {
    const char *key;
    enum bwh_conf_type type;
    size_t off, cap; /* the field in the struct; cap: a string's bytes with its NUL */
    const char *def; /* NULL: required */
    const char *help;
    /* optional: the value's own rule; BW_E_UNSUPPORTED reads "unsupported value" */
    bw_err (*check)(const char *value);
    const char *example;   /* a required option's value in the sample, or NULL */
};
/* Loads path into conf (which the caller zeroes): unknown keys, a key given twice, a
 * bad value or a missing required option are refused with "PATH:LINE:
 * reason" on stderr (BW_E_FORMAT); an unreadable file is BW_E_IO or the
 * read's error. The caller checks what spans options. */
BW_NODISCARD bw_err bwh_conf_load(void *conf, const struct bwh_conf_row *rows, size_t n,
                                 const char *path);
/* Sets one option from text: BW_E_TOOBIG, BW_E_FORMAT, or check's error. */
BW_NODISCARD bw_err bwh_conf_set(void *conf, const struct bwh_conf_row *r, const char *value);
/* One option's value as text (as a file would hold it). */
void bwh_conf_get(const void *conf, const struct bwh_conf_row *r, char *out, size_t cap);
/* The commented sample: header, then per option its help and default,
 * optional ones commented out. */
void bwh_conf_sample(FILE *f, const struct bwh_conf_row *rows, size_t n, const char *header);

/* A decimal unsigned 64-bit number, digits only (no sign, no spaces). */
BW_NODISCARD bw_err bwh_parse_u64(const char *s, uint64_t *v);
/* Exactly n such numbers, each at most UINT32_MAX, separated by sep and
 * nothing else ("2,19456,1" with ','). BW_E_FORMAT, or BW_E_TOOBIG for a
 * number past its range. The rule for parsing numbers (no sscanf, no atoi). */
BW_NODISCARD bw_err bwh_parse_u32_list(const char *s, char sep, uint32_t *v, size_t n);
/* Largest chunk list a host reads or writes: 64 MiB, i.e. images up to
 * 128 GiB with 64 KiB chunks. */
#define BWH_PKG_LIST_MAX ((uint64_t)64 << 20)

/* Reads everything from fd into buf (loops over short reads); *got < n at EOF. */
BW_NODISCARD bw_err bwh_read_full(int fd, void *buf, size_t n, size_t *got);
BW_NODISCARD bw_err bwh_write_full(int fd, const void *buf, size_t n);

/* Loads a PEM/DER P-256 key; need_priv refuses a public key (BW_E_KEY). */
BW_NODISCARD bw_err bwh_load_key(const char *path, int need_priv, struct bw_ec_key *k);

/* "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe" <-> 16 bytes. BW_E_FORMAT. */
BW_NODISCARD bw_err bwh_uuid_parse(const char *s, uint8_t out[16]);
void bwh_uuid_format(char out[37], const uint8_t in[16]);

/* Progress bar on stderr when it is a TTY and the work is large. */
struct bwh_progress {
    const char *label;
    uint64_t total;
    uint64_t done;
    double start;
    double last;
    int enabled;
    int json; /* JSON progress events on stdout instead of a bar */
    const char *unit; /* NULL: bytes (MiB); else items, e.g. "devices" */
};
void bwh_progress_start(struct bwh_progress *p, const char *label, uint64_t total);
/* Same, but one JSON object per line on stdout (for the agent):
 * {"event":"progress","stage":LABEL,"bytes":N,"total":N,"rate":B/s} */
void bwh_progress_start_json(struct bwh_progress *p, const char *label, uint64_t total);
/* A bar counting items rather than bytes (shown on a TTY from 2 items). */
void bwh_progress_start_items(struct bwh_progress *p, const char *label, const char *unit,
                             uint64_t total);
void bwh_progress_add(struct bwh_progress *p, uint64_t n);
void bwh_progress_end(struct bwh_progress *p);
double bwh_now(void);

/* A package file: SUIT envelope, then the chunk list, then the payload. */
struct bwh_pkg {
    int fd;
    int own_fd;
    uint8_t *buf; /* envelope, then bytes read past it */
    size_t env_len;
    size_t buf_len;
    size_t buf_pos; /* next unread byte of buf past the envelope */
    struct bw_suit suit;
    uint8_t *list; /* chunk list, checked against the manifest */
    size_t list_len;
    struct bw_sha256 *tap; /* bwh_pkg_install: every byte it reads from fd */
    uint64_t nread;        /* bytes read from fd past the open (tap or not) */
};

/* What bwh_pkg_install does besides the install. All optional.
 * prog: a progress bar over the payload. tap: an initialized SHA-256 that
 * every byte read from the fd after bwh_pkg_open is added to (the caller
 * adds the open's own bytes, buf[0..buf_len), first: then tap covers the
 * whole file read once, e.g. for a digest a server announced). gate: called
 * after the last byte and before the core's finish marks the trial; an
 * error refuses the install (*stage "gate"), e.g. an announced digest that
 * differs. */
struct bwh_pkg_opts {
    struct bwh_progress *prog;
    struct bw_sha256 *tap;
    bw_err (*gate)(void *ctx, const struct bwh_pkg *p);
    void *gate_ctx;
    /* each chunk after the core checked and committed it, in order, on the
     * pipe's thread (a package verified into a file: bulwark delta make) */
    bw_err (*out)(void *ctx, uint64_t off, const uint8_t *data, size_t len);
    void *out_ctx;
};

/* Called with each chunk after it has been verified, in order. */
typedef bw_err (*bwh_pkg_sink)(void *ctx, uint64_t off, const uint8_t *data, size_t len);

/* Opens path ("-" for stdin), reads the envelope (at most env_cap bytes)
 * and parses/authenticates it with key (NULL: unauthenticated, for
 * inspect). BW_E_TOOBIG if the envelope does not end within env_cap. */
BW_NODISCARD bw_err bwh_pkg_open(struct bwh_pkg *p, const char *path, const struct bw_ec_key *key,
                                size_t env_cap);
/* Verifies the rest of the package through the core's install stream
 * with no device (bw_install_begin with u NULL): the chunk list, every
 * chunk, the whole-image digest and size, nothing after the last chunk
 * (BW_E_TRAILING). The checks a device runs, nothing written. */
BW_NODISCARD bw_err bwh_pkg_verify(struct bwh_pkg *p, struct bwh_progress *prog);
/* Installs the package into u's inactive slot through the core's install
 * stream (bulwark/update.h): the device check (e, anti-rollback), the
 * chunk list and every chunk checked before its bytes reach the slot, the
 * whole-image digest computed and compared by the core, then the trial
 * marked. Reading and checking run on this thread, hashing and writing on
 * a second one. *stage names the step that failed ("device check",
 * "payload", "gate", "finish"). Errors: bw_install_begin/feed/finish's, read
 * errors, BW_E_TRUNCATED, BW_E_TRAILING; on any error the install is
 * abandoned (the target slot stays marked empty). */
BW_NODISCARD bw_err bwh_pkg_install(struct bwh_pkg *p, struct bw_update *u,
                                   const struct bw_suit_expect *e, const struct bwh_pkg_opts *o,
                                   const char **stage);
void bwh_pkg_close(struct bwh_pkg *p);

/* Compressed packages (BW_SUIT_PARAM_COMPRESSION, docs/package-format.md).
 * bwh_zchunk_bound: the largest compressed chunk accepted for chunk_size
 * (ZSTD_compressBound). bwh_zchunk_table: parses a length table of n
 * entries (BW_SUIT_CLEN_LEN bytes each, big-endian) into lens, refusing
 * a length of 0 or above the bound (BW_E_FORMAT). bwh_zchunk_decode:
 * decompresses one chunk, src[0..len) holding exactly one zstd frame, into
 * dst, which has room for `want` bytes and receives no more: BW_E_SIZE when
 * the frame declares no content size or one other than want, or produces
 * another amount; BW_E_TRUNCATED when the frame ends early; BW_E_TRAILING
 * when bytes follow it; BW_E_FORMAT for a corrupt frame; BW_E_NOMEM. dctx
 * is a ZSTD_DCtx, or NULL for a one-off context. The output is not
 * trusted: the caller checks it against the signed chunk digest. */
size_t bwh_zchunk_bound(uint32_t chunk_size);
/* BW_SUIT_COMPRESS_ZSTD_STREAM: one zstd frame over the whole image,
 * flushed at the end of every chunk, so each table entry holds exactly the
 * bytes that complete its chunk. bwh_zchunk_stream decodes chunk `want`
 * bytes from its entry src[0..len) with the decoder's history of the
 * chunks before it (dctx from bwh_zchunk_dctx: windows above 2^23 bytes
 * refused, BW_E_TOOBIG). first: the frame starts here and must declare
 * image_size as its content size (BW_E_SIZE). last: the frame must end
 * with this entry (BW_E_TRUNCATED), and not before (BW_E_SIZE). Input
 * left over once the chunk is full, or output still held after it, is
 * BW_E_SIZE; an entry that ends before the chunk is BW_E_TRUNCATED; bytes
 * after the frame's end BW_E_TRAILING; a corrupt stream BW_E_FORMAT. After
 * any error the decoder is not reused for this frame. */
#define BWH_ZSTD_WINDOW_LOG 23
void *bwh_zchunk_dctx(void);
void bwh_zchunk_dctx_free(void *dctx);
BW_NODISCARD bw_err bwh_zchunk_stream(void *dctx, uint8_t *dst, size_t want, const uint8_t *src,
                                     size_t len, uint64_t image_size, int first, int last);
BW_NODISCARD bw_err bwh_zchunk_table(const uint8_t *table, size_t n, uint32_t chunk_size,
                                    uint32_t *lens);
BW_NODISCARD bw_err bwh_zchunk_decode(void *dctx, uint8_t *dst, size_t want, const uint8_t *src,
                                     size_t len);

/* Opens a package already open as fd (a pipe, a socket); the fd is closed
 * by bwh_pkg_close. */
BW_NODISCARD bw_err bwh_pkg_open_fd(struct bwh_pkg *p, int fd, const struct bw_ec_key *key,
                                   size_t env_cap);

/* The limits of an HTTP client transfer (host/netlimit.c), held by the
 * host library's HTTP client (host/http.c) for `bulwark install URL`
 * (fetch.c) and the agent (agent/net.c) alike, so that a hostile or dead server cannot hold a device (and
 * its lock) for ever: every wait is bounded in time, every answer in size. */
struct bwh_net_limits {
    unsigned connect_s;         /* TCP connect and TLS handshake */
    uint64_t low_speed_bytes;   /* abort when fewer than this many bytes/s ... */
    unsigned low_speed_s;       /* ... arrived on average over this window (0: off) */
    unsigned total_s;           /* one request or download, retries included */
    size_t header_max;          /* bytes of one answer's status line and fields */
    unsigned header_fields_max; /* header fields of one answer */
    unsigned redirects_max;     /* redirects followed (never to http from https) */
    uint64_t body_max;          /* bytes of an answer's body; 0: no cap */
};
#define BWH_NET_CONNECT_S 15
#define BWH_NET_LOW_SPEED_BYTES 100 /* 100 bytes/s over 60 s: a dead link, not a slow one */
#define BWH_NET_LOW_SPEED_S 60
#define BWH_NET_TOTAL_S 3600
#define BWH_NET_HEADER_MAX 16384
#define BWH_NET_HEADER_FIELDS_MAX 100
#define BWH_NET_REDIRECTS_MAX 3
/* The defaults above; body_max 0. */
void bwh_net_limits_default(struct bwh_net_limits *l);
/* "BYTES/SECONDS" (or "0": no low-speed limit) as a --low-speed value.
 * BW_E_FORMAT unless both are numbers, SECONDS 1..86400. */
BW_NODISCARD bw_err bwh_net_low_speed_parse(const char *s, uint64_t *bytes, unsigned *secs);

/* One transfer measured against its limits. Method: the low-speed limit
 * looks at consecutive windows of low_speed_s seconds; a window that
 * ends with fewer than low_speed_bytes * low_speed_s new bytes fails the
 * transfer (a trickle of 1 byte/s never stalls, so a stall timer alone does
 * not catch it). Not thread-safe; one per transfer. */
struct bwh_net_meter {
    const struct bwh_net_limits *l;
    int64_t deadline_ms; /* start + total_s */
    int64_t win_t0_ms;
    uint64_t win_bytes0;
    size_t head;         /* header bytes of the answer being read */
    unsigned fields;
};
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t bwh_now_ms(void);
/* Starts the clocks of a transfer at now_ms (total deadline, first window). */
void bwh_net_meter_start(struct bwh_net_meter *m, const struct bwh_net_limits *l, int64_t now_ms);
/* Checks the transfer at now_ms, bytes received so far in all: BW_OK, or
 * BW_E_IO with err (cap bytes) naming the limit hit (total deadline or
 * low speed). Call it at least once a second while waiting and after
 * each read. */
BW_NODISCARD bw_err bwh_net_meter_check(struct bwh_net_meter *m, int64_t now_ms, uint64_t bytes,
                                       char *err, size_t cap);
/* Milliseconds the next wait may last before the total deadline (0 when
 * it has passed), at most max_ms. */
int bwh_net_meter_wait_ms(const struct bwh_net_meter *m, int64_t now_ms, int max_ms);
/* Starts counting the header block of a new answer (a 1xx or a redirect
 * starts another). */
void bwh_net_meter_head(struct bwh_net_meter *m);
/* Counts one header line of len bytes (without CRLF; a status line is a
 * line too): BW_OK, or BW_E_TOOBIG with err naming the header limit hit. */
BW_NODISCARD bw_err bwh_net_meter_line(struct bwh_net_meter *m, size_t len, char *err,
                                      size_t cap);

/* HTTP(S) download into a pipe, over the HTTP client (include/bwh/http.h,
 * bwh_http_download) on a thread: *read_fd gives the bytes in order; a
 * broken transfer resumes with a Range request (up to 6 attempts, growing
 * pauses), all of it within the limits lim (NULL: the defaults): connect
 * timeout, low speed, total deadline across the attempts, header block,
 * body bytes (body_max), redirects (never from https to another scheme).
 * url: http:// or https://. cacert: CA bundle for https (NULL: the
 * system's). stop, when not NULL, is polled at least once a second:
 * non-zero ends the download (a signal handler sets it). start ignores
 * SIGPIPE for the process. finish waits for the download and reports it:
 * BW_E_IO (HTTP error, network gave up, TLS, a limit hit, stopped: the
 * error text says which), BW_E_STATE (the reader closed its end first).
 * start: BW_E_NOMEM. */
struct bwh_fetch;
struct bwh_fetch_stats {
    uint64_t bytes;
    unsigned attempts;
    char error[320];
};
BW_NODISCARD bw_err bwh_fetch_start(struct bwh_fetch **f, const char *url, const char *cacert,
                                   const struct bwh_net_limits *lim,
                                   volatile const sig_atomic_t *stop, int *read_fd);
bw_err bwh_fetch_finish(struct bwh_fetch *f, struct bwh_fetch_stats *st);
/* One GET read into memory through the same client (2 attempts): *body is
 * bwh_malloc'd (bwh_free), NUL-terminated, *len bytes, at most lim->body_max (1 MiB when
 * lim is NULL or has no cap; a longer answer is an error). bearer, when not
 * NULL, is sent as "Authorization: Bearer ..." (wiped after use; never to
 * another origin after a redirect). Ignores SIGPIPE for the process.
 * BW_E_IO (an HTTP status other than 2xx, connection, TLS, a limit: err
 * says which), BW_E_NOMEM. */
BW_NODISCARD bw_err bwh_fetch_get(const char *url, const char *cacert, const char *bearer,
                                 const struct bwh_net_limits *lim, char **body, size_t *len,
                                 char *err, size_t cap);

/* Hashes in a second thread: lets the main thread check chunk digests
 * while the whole-image SHA-256 runs beside it (2 cores, 1x wall time). */
struct bwh_hash_pipe;
BW_NODISCARD bw_err bwh_hash_pipe_new(struct bwh_hash_pipe **hp, size_t slot_size);
/* A slot to fill; blocks until one is free. */
uint8_t *bwh_hash_pipe_slot(struct bwh_hash_pipe *hp);
/* Has the thread also pass each slot, after hashing it, to sink (with its
 * offset in the stream); the first sink error stops further calls and is
 * returned by bwh_hash_pipe_error and bwh_hash_pipe_finish. */
void bwh_hash_pipe_set_sink(struct bwh_hash_pipe *hp, bwh_pkg_sink sink, void *ctx);
BW_NODISCARD bw_err bwh_hash_pipe_error(struct bwh_hash_pipe *hp);
/* The pipe as the core install stream's second stage: its thread only
 * runs sink (bw_install_commit, which hashes and writes); no digest of
 * its own (finish's out is then meaningless). */
void bwh_hash_pipe_commit_only(struct bwh_hash_pipe *hp, bwh_pkg_sink sink, void *ctx);
/* Hands the current slot's first n bytes to the hashing thread. */
void bwh_hash_pipe_push(struct bwh_hash_pipe *hp, size_t n);
/* Waits for the thread and writes the digest; frees hp. */
BW_NODISCARD bw_err bwh_hash_pipe_finish(struct bwh_hash_pipe *hp, uint8_t out[BW_SHA256_LEN]);

#endif
