/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tamper-evident security log: append-only records {seq, time, event,
 * subject, outcome} in a SHA-256 hash chain, with checkpoints signed by the
 * device key, kept in a bounded directory of segment files that rotate.
 * Host code (allocates, does I/O through a small table of file operations);
 * not a place for secrets: records are plain text. Format: docs/log.md.
 */
#ifndef BULWARK_LOG_H
#define BULWARK_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/crypto.h"
#include "bulwark/err.h"
#include "bwh/identity.h"

#define BWH_LOG_EVENT_MAX 32           /* event name: 1..32 of [A-Za-z0-9._-] */
#define BWH_LOG_TEXT_MAX 200           /* subject, outcome: 0..200 printable ASCII */
#define BWH_LOG_RECORD_MAX 512         /* longest encoded record */
#define BWH_LOG_CHECKPOINT_EVERY 1000  /* default: a signed checkpoint per 1000 records */
#define BWH_LOG_MAX_BYTES_DEFAULT (4u << 20)
#define BWH_LOG_SEGMENT_MIN 4096       /* smallest segment size before rotation */
#define BWH_LOG_SEGMENTS_MAX 4096      /* most segment files a log may hold */
#define BWH_LOG_SEGMENT_READ_MAX (64u << 20) /* verify reads a segment whole */
#define BWH_LOG_HEAD_LEN 141           /* the signed head file, see docs/log.md */
#define BWH_LOG_BUFFER_MAX (64u << 10) /* largest write buffer (bwh_log_opts) */

/* The event a writer appends before it first signs over records it found
 * unsigned (see bwh_log_open); event names starting "log." are reserved. */
#define BWH_LOG_ADOPT_EVENT "log.adopt"

/* Record types (the first byte of an encoded record). */
#define BWH_LOG_ANCHOR 'A'     /* first record of a segment: links to the one before */
#define BWH_LOG_EVENT 'E'      /* a security event */
#define BWH_LOG_CHECKPOINT 'C' /* signature over the chain so far */

/* One decoded record. Text fields are NUL-terminated copies. */
struct bwh_log_record {
    uint8_t type;
    uint64_t seq;  /* 1 for the first record ever written; +1 per record */
    uint64_t time; /* unix seconds, as the writer passed it */
    char event[BWH_LOG_EVENT_MAX + 1];
    char subject[BWH_LOG_TEXT_MAX + 1];
    char outcome[BWH_LOG_TEXT_MAX + 1];
    uint64_t segment;               /* anchor: number of its segment */
    uint8_t prev[BW_SHA256_LEN];    /* anchor: the chain hash before it */
    uint8_t key_fp[BW_SHA256_LEN];  /* checkpoint: SHA-256 of the signer's public point */
    uint8_t sig[BW_P256_SIG_LEN];   /* checkpoint: ECDSA P-256 r||s */
    uint8_t hash[BW_SHA256_LEN];    /* chain hash after this record (as stored) */
    size_t len;                     /* encoded length */
};

/*
 * Where the log lives: numbered segment files plus one "head" file, behind
 * a table of operations so tests can cut the power between any two of them
 * (the POSIX one below is what devices use). Every function returns BW_OK
 * or a bw_err (BW_E_IO for a failed system call).
 *   list:     segment numbers present, ascending; BW_E_TOOBIG past cap.
 *   size:     bytes in segment id.
 *   read:     exactly len bytes at off (BW_E_TRUNCATED if the file is shorter).
 *   append:   adds bytes at the end of segment id, creating it if absent.
 *   truncate: shortens segment id to len bytes.
 *   sync:     everything appended to id so far is durable (and so is its
 *             directory entry) when it returns.
 *   remove:   deletes segment id.
 *   head_get: the head file's bytes (BW_E_NOTFOUND if there is none).
 *   head_put: the first time, creates the head file atomically and
 *             durably; later, overwrites its BWH_LOG_HEAD_LEN bytes in place,
 *             durable only after head_sync. After a power cut the head holds
 *             the old or the new bytes, never a mix: this relies on a write
 *             of 141 bytes at offset 0 (inside one sector) being atomic.
 *   head_sync: the last head_put is durable when it returns.
 */
struct bwh_log_vfs {
    void *ctx;
    bw_err (*list)(void *ctx, uint64_t *ids, size_t cap, size_t *n);
    bw_err (*size)(void *ctx, uint64_t id, uint64_t *size);
    bw_err (*read)(void *ctx, uint64_t id, uint64_t off, void *buf, size_t len);
    bw_err (*append)(void *ctx, uint64_t id, const void *buf, size_t len);
    bw_err (*truncate)(void *ctx, uint64_t id, uint64_t len);
    bw_err (*sync)(void *ctx, uint64_t id);
    bw_err (*remove)(void *ctx, uint64_t id);
    bw_err (*head_get)(void *ctx, uint8_t *buf, size_t cap, size_t *len);
    bw_err (*head_put)(void *ctx, const uint8_t *buf, size_t len);
    bw_err (*head_sync)(void *ctx);
};

/* The POSIX backend: segments DIR/NNNNNNNNNNNNNNNNNNNN.seg (20 decimal
 * digits), DIR/head, and DIR/lock. create: make DIR (not its parents) if
 * absent. writer: hold an exclusive flock on DIR/lock until close, so two
 * processes never append at once (readers take none and may see a torn
 * final record, which they ignore). BW_E_NOTFOUND if DIR is absent and
 * !create; BW_E_IO otherwise. bwh_log_posix_close is NULL-safe. */
BW_NODISCARD bw_err bwh_log_posix_open(struct bwh_log_vfs *v, const char *dir, int create,
                                      int writer);
void bwh_log_posix_close(struct bwh_log_vfs *v);

struct bwh_log_opts {
    const struct bw_signer *signer; /* NULL: records chain, but nothing is signed */
    uint32_t checkpoint_every;      /* records between checkpoints; 0: the default */
    uint64_t max_bytes;             /* total kept; 0: BWH_LOG_MAX_BYTES_DEFAULT */
    uint64_t segment_bytes;         /* rotate past this; 0: max_bytes / 4 */
    size_t buffer_bytes;            /* 0: one vfs append per record (default);
                                     * else records gather in memory up to this
                                     * (max BWH_LOG_BUFFER_MAX) and go out in one
                                     * append when full or at a checkpoint, sync,
                                     * rotation or close: a crash of the process
                                     * then loses what a power cut would */
};

struct bwh_log; /* an open writer */

/* Opens the log for appending. Reads the newest segment (and the one
 * before when needed), checks its chain, cuts off a torn final record left
 * by a power cut, and starts the first segment of an empty log. With a
 * signer it first checks what it is about to sign over, as bwh_log_verify
 * would with signer->pub: every checkpoint's key, the last checkpoint's
 * signature (which covers everything before it), and the head (valid,
 * reached by the log, hash equal; required once a checkpoint exists).
 * Records after the last signed point that this writer did not write
 * (written without a key, left by a crash, or added by someone else) are
 * not signed silently: the writer appends a BWH_LOG_ADOPT_EVENT event
 * naming them ("seq A..B") and a checkpoint before returning. The vfs and
 * the signer must outlive the handle. Errors: BW_E_INVAL, BW_E_NOMEM,
 * BW_E_IO, the signer's error, and BW_E_TAMPER if the log is damaged other
 * than by a torn final write or (with a signer) does not verify: the writer
 * then refuses to append to it (run bwh_log_verify to see where). Not
 * thread-safe; one writer per log. */
BW_NODISCARD bw_err bwh_log_open(const struct bwh_log_vfs *vfs, const struct bwh_log_opts *o,
                                struct bwh_log **out);

/* Appends an event (BW_E_INVAL for a name starting "log."), then a
 * checkpoint if one is due (every
 * checkpoint_every records, when a signer is set), rotating segments when
 * the current one is full. Records are written with one append each (or
 * gathered, see buffer_bytes) and are durable only after the next
 * checkpoint or bwh_log_sync. seq (nullable)
 * receives the event's sequence number. Errors: BW_E_INVAL for an event
 * name outside [A-Za-z0-9._-]{1,32}, or subject/outcome longer than
 * BWH_LOG_TEXT_MAX or holding a byte outside 0x20..0x7e (nothing is
 * written); BW_E_IO; the signer's error. After BW_E_IO the handle refuses
 * further appends with BW_E_STATE: reopen it. */
BW_NODISCARD bw_err bwh_log_append(struct bwh_log *l, uint64_t time, const char *event,
                                  const char *subject, const char *outcome, uint64_t *seq);
/* Writes a checkpoint now (BW_E_STATE without a signer), syncs it and
 * updates the head. A no-op if the last record is a checkpoint. */
BW_NODISCARD bw_err bwh_log_checkpoint(struct bwh_log *l, uint64_t time);
/* Makes every appended record and the head durable (fdatasync). */
BW_NODISCARD bw_err bwh_log_sync(struct bwh_log *l);
/* Seals the log with a checkpoint (if a signer is set and records follow
 * the last one), syncs, and frees l. NULL-safe. Returns the first error
 * (BW_E_STATE if an earlier write failed); l is freed either way. */
bw_err bwh_log_close(struct bwh_log *l);

/* Decodes the record at the start of buf and checks its framing and text
 * fields (not its chain hash). r->len is its length. BW_E_TRUNCATED if buf
 * ends inside it, BW_E_FORMAT otherwise. */
BW_NODISCARD bw_err bwh_log_decode(const uint8_t *buf, size_t len, struct bwh_log_record *r);

/* What bwh_log_verify found. On success: records first_seq..last_seq
 * verified, everything up to signed_seq signed (the last checkpoint, or
 * the head's record if later); the unsigned_tail records after it could
 * have been added or cut without a trace. adopted: records that a writer
 * found unsigned and marked with a BWH_LOG_ADOPT_EVENT before it signed
 * over them. On failure, seq, segment and offset name the record where it
 * failed, detail says why. */
struct bwh_log_report {
    uint64_t first_seq, last_seq, records;
    uint64_t checkpoints, last_checkpoint, unsigned_tail;
    uint64_t signed_seq, adopted;
    uint64_t first_segment, last_segment;
    uint64_t head_seq; /* the checkpoint the signed head names (0: no head) */
    int torn;          /* a torn final record (power cut) was ignored */
    uint64_t bad_seq, bad_segment, bad_offset;
    char detail[200];
};

#define BWH_LOG_NO_SIGS 1u     /* check the chain only: for display, not for trust */
#define BWH_LOG_UNSIGNED_OK 2u /* accept any unsigned tail (reported in unsigned_tail) */

/* Called for each record in order, after it has been checked. A non-BW_OK
 * return stops the walk and is returned. */
typedef bw_err (*bwh_log_visit)(void *ctx, const struct bwh_log_record *r);

/*
 * Verifies the whole kept log: every segment links to the one before,
 * every record hashes into the chain and is numbered one past the last,
 * every checkpoint and the head are signed by pub (65-byte point), the log
 * reaches the record the head names, and a log holding a checkpoint has a
 * head. With pub, records after the last signed point (the unsigned tail)
 * fail with BW_E_AUTH unless they are what one power cut leaves a writer
 * that checkpoints every event (the CLI): one record, or an anchor and one
 * event; BWH_LOG_UNSIGNED_OK accepts any tail (a writer with a larger
 * checkpoint_every, or one still running). pub may be NULL only with
 * BWH_LOG_NO_SIGS. visit (nullable) sees each good record. Errors:
 * BW_E_TAMPER (chain, numbering, linking or a missing head), BW_E_BADSIG
 * (a signature, or another key's fingerprint), BW_E_FORMAT (a malformed
 * record or head), BW_E_TRUNCATED (the log ends before the record the head
 * names), BW_E_AUTH (an unsigned tail, above), BW_E_KEY (a checkpoint but
 * no pub), BW_E_IO, BW_E_NOMEM, BW_E_TOOBIG. An empty log verifies
 * (records = 0). Thread-safe if the vfs is.
 */
BW_NODISCARD bw_err bwh_log_verify(const struct bwh_log_vfs *vfs, const uint8_t *pub,
                                  unsigned flags, bwh_log_visit visit, void *ctx,
                                  struct bwh_log_report *rep);

#endif
