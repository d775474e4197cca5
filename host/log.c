/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The security log: record encoding, the hash chain, signed checkpoints and
 * the signed head, segment rotation and the verifier, over the storage
 * interface struct bwh_log_vfs (host/log_posix.c stores it in files). Records hold no secrets; the device key only signs. Not a
 * general-purpose log: records are short, text is printable ASCII.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/core.h"
#include "bwh/log.h"
#include "bwh/host.h"

/*
 * Method: the hash chain.
 * Every record, whatever its type, is
 *   type u8 | version u8 (1) | length u16 | seq u64 | time u64 | body | hash[32]
 * (big-endian, length counts all of it) and
 *   hash = SHA-256(hash of the record before || the record without its hash).
 * Sequence numbers go up by one per record, across segments, so a deleted,
 * inserted or reordered record breaks either the numbering or the chain. A
 * segment opens with an anchor record holding its own number and the hash
 * before it: segments link to each other, and the oldest kept segment (its
 * predecessors rotated out) starts the walk from its anchor. A checkpoint's
 * body is the signer's key fingerprint and an ECDSA signature over
 * SHA-256("bulwark log checkpoint v1" || hash before || header || fingerprint),
 * which covers, through the chain, every record before it. An attacker who
 * rewrites the log must recompute every later hash and cannot re-sign.
 *
 * What a chain cannot show by itself is a cut: the log truncated before its
 * last checkpoint looks like a shorter, valid log. So each checkpoint also
 * replaces the head file with {seq, hash} signed under a different label
 * ("bulwark log head v1"), which no record carries: verify then requires
 * the log to reach the record the head names. The head is written after
 * the checkpoint is synced, so after a power cut it may lag behind the log,
 * never run ahead of it. It is overwritten in place and synced only at
 * bwh_log_sync and close (one fdatasync per checkpoint, not three): after a
 * power cut it may name an older checkpoint, which weakens the cut check to
 * that checkpoint and no further. The head is created (durably, at once)
 * before the first checkpoint is written, naming the record before it: so
 * a log holding any checkpoint and no head has lost the head to an
 * attacker, and there is no crash window in which a cut after the first
 * checkpoint could pass for a power cut. A head may therefore name any
 * record; verify only requires that record's chain hash to match.
 *
 * Method: the writer signs only over what it has checked.
 * A checkpoint signs the whole chain before it, so a writer that signed
 * over a log it had not checked would launder any edit made to it (rewrite
 * a segment, drop its checkpoints, recompute the chain: the next
 * checkpoint makes it "valid"). With a signer, bwh_log_open therefore checks
 * the newest segment (and the one before when the newest holds no
 * checkpoint or the head points there) as verify does: the chain, every
 * checkpoint's key fingerprint, the signature of the last checkpoint (it
 * covers, through the chain, every record and signature before it), and
 * the head: signed by the same key, reached by the log, hash equal. Any
 * mismatch: BW_E_TAMPER, and the writer appends nothing. Records after the
 * last signed point (checkpoint or head) are the unsigned tail: written
 * before the device had a key, left by a crash between an event and its
 * checkpoint, or appended by whoever can write the directory; nothing
 * tells these apart. The writer keeps them (a sync acknowledged them) but
 * does not sign over them silently: it first appends a "log.adopt" event
 * naming their seq range and checkpoints it, so the signed log itself says
 * which records no signature vouched for when they were found, and verify
 * counts them (bwh_log_report.adopted).
 */

#define VERSION 1
#define HDR_LEN 20
#define ANCHOR_LEN (HDR_LEN + 8 + BW_SHA256_LEN + BW_SHA256_LEN)
#define CKPT_LEN (HDR_LEN + BW_SHA256_LEN + BW_P256_SIG_LEN + BW_SHA256_LEN)
#define EVENT_MIN (HDR_LEN + 3 + 1 + BW_SHA256_LEN)
#define CKPT_LABEL "bulwark log checkpoint v1"
#define HEAD_LABEL "bulwark log head v1"
#define HEAD_MAGIC "BWLH"
#define RESERVED_PREFIX "log." /* event names the library writes itself */

/* ---- encoding ------------------------------------------------------- */

static int event_ok(const char *s, size_t n)
{
    size_t i;

    if (n < 1 || n > BWH_LOG_EVENT_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int text_ok(const char *s, size_t n)
{
    size_t i;

    if (n > BWH_LOG_TEXT_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static void put_hdr(struct bw_wr *w, uint8_t type, size_t len, uint64_t seq, uint64_t time)
{
    bw_wr_u8(w, type);
    bw_wr_u8(w, VERSION);
    bw_wr_be16(w, (uint16_t)len);
    bw_wr_be64(w, seq);
    bw_wr_be64(w, time);
}

static bw_err take_text(struct bw_cur *c, char *out, size_t max, int is_event)
{
    const uint8_t *p;
    uint8_t n;

    if (bw_cur_u8(c, &n) || bw_cur_take(c, n, &p))
        return BW_E_FORMAT;
    if (n > max || !(is_event ? event_ok((const char *)p, n) : text_ok((const char *)p, n)))
        return BW_E_FORMAT;
    memcpy(out, p, n);
    out[n] = 0;
    return BW_OK;
}

bw_err bwh_log_decode(const uint8_t *buf, size_t len, struct bwh_log_record *r)
{
    struct bw_cur c;
    const uint8_t *p;
    uint8_t ver;
    uint16_t n;
    bw_err rc;

    if (!buf || !r)
        return BW_E_INVAL;
    memset(r, 0, sizeof(*r));
    if (len < 4)
        return BW_E_TRUNCATED;
    r->type = buf[0];
    ver = buf[1];
    n = (uint16_t)(buf[2] << 8 | buf[3]);
    if (ver != VERSION || n > BWH_LOG_RECORD_MAX)
        return BW_E_FORMAT;
    switch (r->type) {
    case BWH_LOG_ANCHOR:
        if (n != ANCHOR_LEN)
            return BW_E_FORMAT;
        break;
    case BWH_LOG_CHECKPOINT:
        if (n != CKPT_LEN)
            return BW_E_FORMAT;
        break;
    case BWH_LOG_EVENT:
        if (n < EVENT_MIN)
            return BW_E_FORMAT;
        break;
    default:
        return BW_E_FORMAT;
    }
    if (len < n)
        return BW_E_TRUNCATED;
    bw_cur_init(&c, buf, n - BW_SHA256_LEN);
    c.off = 4;
    if (bw_cur_be64(&c, &r->seq) || bw_cur_be64(&c, &r->time) || r->seq == 0)
        return BW_E_FORMAT;
    rc = BW_E_FORMAT;
    switch (r->type) {
    case BWH_LOG_ANCHOR:
        if (bw_cur_be64(&c, &r->segment) || bw_cur_take(&c, BW_SHA256_LEN, &p) || r->segment == 0)
            return rc;
        memcpy(r->prev, p, BW_SHA256_LEN);
        break;
    case BWH_LOG_CHECKPOINT:
        if (bw_cur_take(&c, BW_SHA256_LEN, &p))
            return rc;
        memcpy(r->key_fp, p, BW_SHA256_LEN);
        if (bw_cur_take(&c, BW_P256_SIG_LEN, &p))
            return rc;
        memcpy(r->sig, p, BW_P256_SIG_LEN);
        break;
    default:
        if (take_text(&c, r->event, BWH_LOG_EVENT_MAX, 1) ||
            take_text(&c, r->subject, BWH_LOG_TEXT_MAX, 0) ||
            take_text(&c, r->outcome, BWH_LOG_TEXT_MAX, 0))
            return rc;
        break;
    }
    if (bw_cur_left(&c) != 0)
        return BW_E_FORMAT; /* the length field and the body disagree */
    memcpy(r->hash, buf + n - BW_SHA256_LEN, BW_SHA256_LEN);
    r->len = n;
    return BW_OK;
}

/* hash = SHA-256(prev || rec without its trailing hash) */
static bw_err chain_hash(const uint8_t prev[BW_SHA256_LEN], const uint8_t *rec, size_t len,
                         uint8_t out[BW_SHA256_LEN])
{
    uint8_t buf[BW_SHA256_LEN + BWH_LOG_RECORD_MAX];

    if (len < BW_SHA256_LEN || len > BWH_LOG_RECORD_MAX)
        return BW_E_INVAL;
    memcpy(buf, prev, BW_SHA256_LEN);
    memcpy(buf + BW_SHA256_LEN, rec, len - BW_SHA256_LEN);
    return bw_sha256(buf, len, out);
}

/* What a checkpoint signs: the label, the chain before it, its header and
 * key fingerprint (rec holds at least HDR_LEN + 32 bytes). */
static bw_err ckpt_digest(const uint8_t prev[BW_SHA256_LEN], const uint8_t *rec,
                          uint8_t out[BW_SHA256_LEN])
{
    uint8_t buf[sizeof(CKPT_LABEL) - 1 + BW_SHA256_LEN + HDR_LEN + BW_SHA256_LEN];

    memcpy(buf, CKPT_LABEL, sizeof(CKPT_LABEL) - 1);
    memcpy(buf + sizeof(CKPT_LABEL) - 1, prev, BW_SHA256_LEN);
    memcpy(buf + sizeof(CKPT_LABEL) - 1 + BW_SHA256_LEN, rec, HDR_LEN + BW_SHA256_LEN);
    return bw_sha256(buf, sizeof(buf), out);
}

/* Head file: "BWLH" | version u8 | seq u64 | hash[32] | fp[32] | sig[64]. */
struct head {
    uint64_t seq;
    uint8_t hash[BW_SHA256_LEN];
    uint8_t fp[BW_SHA256_LEN];
    uint8_t sig[BW_P256_SIG_LEN];
};

static bw_err head_digest(const struct head *hd, uint8_t out[BW_SHA256_LEN])
{
    uint8_t buf[sizeof(HEAD_LABEL) - 1 + 8 + 2 * BW_SHA256_LEN];
    struct bw_wr w;

    bw_wr_init(&w, buf, sizeof(buf));
    bw_wr_bytes(&w, HEAD_LABEL, sizeof(HEAD_LABEL) - 1);
    bw_wr_be64(&w, hd->seq);
    bw_wr_bytes(&w, hd->hash, BW_SHA256_LEN);
    bw_wr_bytes(&w, hd->fp, BW_SHA256_LEN);
    if (w.err || w.len != sizeof(buf))
        return BW_E_INVAL;
    return bw_sha256(buf, sizeof(buf), out);
}

static bw_err head_decode(const uint8_t *b, size_t len, struct head *hd)
{
    struct bw_cur c;
    const uint8_t *p;
    uint8_t ver;

    bw_cur_init(&c, b, len);
    if (len != BWH_LOG_HEAD_LEN || bw_cur_take(&c, 4, &p) || memcmp(p, HEAD_MAGIC, 4) ||
        bw_cur_u8(&c, &ver) || ver != VERSION || bw_cur_be64(&c, &hd->seq) || hd->seq == 0)
        return BW_E_FORMAT;
    if (bw_cur_take(&c, BW_SHA256_LEN, &p))
        return BW_E_FORMAT;
    memcpy(hd->hash, p, BW_SHA256_LEN);
    if (bw_cur_take(&c, BW_SHA256_LEN, &p))
        return BW_E_FORMAT;
    memcpy(hd->fp, p, BW_SHA256_LEN);
    if (bw_cur_take(&c, BW_P256_SIG_LEN, &p))
        return BW_E_FORMAT;
    memcpy(hd->sig, p, BW_P256_SIG_LEN);
    return BW_OK;
}

static bw_err check_sig(const uint8_t *pub, const uint8_t want_fp[BW_SHA256_LEN],
                        const uint8_t fp[BW_SHA256_LEN], const uint8_t digest[BW_SHA256_LEN],
                        const uint8_t sig[BW_P256_SIG_LEN])
{
    struct bw_ec_key k;
    bw_err rc = BW_E_BADSIG;

    if (!bw_ct_equal(want_fp, fp, BW_SHA256_LEN))
        return rc;
    bw_ec_key_init(&k);
    if (bw_ec_set_pub(&k, pub, BW_P256_PUB_LEN) != BW_OK) {
        rc = BW_E_KEY;
        goto out;
    }
    if (bw_ec_verify(&k, digest, sig, BW_P256_SIG_LEN) != BW_OK)
        goto out;
    rc = BW_OK;
out:
    bw_ec_key_clear(&k);
    return rc;
}

/* ---- walking segments (verify, and the writer's open) ---------------- */

struct walk {
    const uint8_t *pub;
    uint8_t fp[BW_SHA256_LEN];
    unsigned flags;
    bwh_log_visit visit;
    void *ctx;
    struct bwh_log_report *rep;
    /* chain state: the last good record */
    int started;
    uint64_t seq;
    uint8_t h[BW_SHA256_LEN];
    uint64_t last_time;
    int last_is_ckpt;
    uint64_t since_ckpt; /* records after the last checkpoint seen */
    uint8_t type_prev, type_last; /* of the last two good records */
    uint64_t signed_pt;  /* seq of the last checkpoint, or of the head's record if later */
    uint64_t adopt_pt;   /* adoption counted up to this seq */
    /* the signed head, if any */
    int have_head, head_matched;
    struct head head;
    /* the writer's open: check each checkpoint's key, but only the last one's
     * signature (it covers everything before it through the chain) */
    int last_sig_only, ck_have;
    uint64_t ck_seq, ck_seg, ck_off;
    uint8_t ck_d[BW_SHA256_LEN], ck_sig[BW_P256_SIG_LEN];
};

static bw_err fail(struct walk *w, bw_err rc, uint64_t seg, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static bw_err fail(struct walk *w, bw_err rc, uint64_t seg, uint64_t off, const char *fmt, ...)
{
    va_list ap;

    w->rep->bad_seq = w->seq + 1;
    w->rep->bad_segment = seg;
    w->rep->bad_offset = off;
    va_start(ap, fmt);
    vsnprintf(w->rep->detail, sizeof(w->rep->detail), fmt, ap);
    va_end(ap);
    return rc;
}

static uint64_t be64_at(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A power cut tears at most the final write, which leaves the start of the
 * record being written: fewer than 4 bytes of it, a run of zeros (a
 * filesystem that extended the file before the data landed; at most one
 * write, BWH_LOG_BUFFER_MAX), or a prefix of the record that can come next:
 * its type (an anchor first in a segment, never later), the version, a
 * length right for the type and past the end, the next sequence number,
 * an anchor's own segment number and the chain hash before it, and for an
 * event field lengths that fit and add up to the header's length. A
 * complete record is never such a prefix (a raised length field disagrees
 * with the fields it covers), so it is reported as damage, not ignored.
 * Anything else at the end is damage too. */
static int torn_tail(const struct walk *w, uint64_t seg, int first, const uint8_t *p, size_t rem)
{
    size_t i, n, at, sum, k, m;

    for (i = 0; i < rem && p[i] == 0; i++)
        ;
    if (i == rem)
        return rem <= BWH_LOG_BUFFER_MAX;
    if (first ? p[0] != BWH_LOG_ANCHOR : (p[0] != BWH_LOG_EVENT && p[0] != BWH_LOG_CHECKPOINT))
        return 0;
    if (rem >= 2 && p[1] != VERSION)
        return 0;
    if (rem < 4)
        return 1;
    n = (size_t)(p[2] << 8 | p[3]);
    if (n <= rem || n > BWH_LOG_RECORD_MAX)
        return 0; /* all of it is there: a damaged record, not a torn one */
    if ((p[0] == BWH_LOG_ANCHOR && n != ANCHOR_LEN) ||
        (p[0] == BWH_LOG_CHECKPOINT && n != CKPT_LEN) || (p[0] == BWH_LOG_EVENT && n < EVENT_MIN))
        return 0;
    if (rem >= 12 && w->started && be64_at(p + 4) != w->seq + 1)
        return 0;
    if (p[0] == BWH_LOG_ANCHOR) {
        if (rem >= 28 && be64_at(p + HDR_LEN) != seg)
            return 0;
        if (rem > 28 && w->started) {
            m = rem - 28 < BW_SHA256_LEN ? rem - 28 : BW_SHA256_LEN;
            if (memcmp(p + 28, w->h, m) != 0)
                return 0;
        }
        return 1;
    }
    if (p[0] != BWH_LOG_EVENT)
        return 1;
    /* event: three u8-prefixed fields, then the hash */
    at = HDR_LEN;
    sum = HDR_LEN + 3 + BW_SHA256_LEN;
    for (k = 0; k < 3; k++) {
        if (at >= rem)
            return 1;
        m = p[at];
        if (k == 0 ? (m < 1 || m > BWH_LOG_EVENT_MAX) : m > BWH_LOG_TEXT_MAX)
            return 0;
        for (i = at + 1; i < at + 1 + m && i < rem; i++) {
            if (k == 0 ? !event_ok((const char *)p + i, 1)
                       : !text_ok((const char *)p + i, 1))
                return 0;
        }
        sum += m;
        at += 1 + m;
        if (sum > n)
            return 0;
    }
    return sum == n;
}

/* Checks one segment's records against the chain state in w. newest: a
 * torn final record is tolerated (*valid is where the good records end). */
static bw_err scan_segment(struct walk *w, uint64_t seg, const uint8_t *buf, size_t len,
                           int newest, size_t *valid)
{
    struct bwh_log_record r;
    uint8_t h[BW_SHA256_LEN], d[BW_SHA256_LEN];
    size_t off = 0;
    bw_err rc;

    *valid = 0;
    while (off < len) {
        rc = bwh_log_decode(buf + off, len - off, &r);
        if (rc) {
            if (newest && torn_tail(w, seg, off == 0, buf + off, len - off)) {
                w->rep->torn = 1;
                break;
            }
            if (newest && len - off >= 4 && (size_t)(buf[off + 2] << 8 | buf[off + 3]) > len - off)
                return fail(w, BW_E_FORMAT, seg, off,
                            "final record runs past the end but is not a torn write");
            return fail(w, rc == BW_E_TRUNCATED && !newest ? BW_E_TRUNCATED : BW_E_FORMAT, seg,
                        off, "malformed record");
        }
        if (off == 0) {
            if (r.type != BWH_LOG_ANCHOR)
                return fail(w, BW_E_FORMAT, seg, off, "segment does not start with an anchor");
            if (r.segment != seg)
                return fail(w, BW_E_TAMPER, seg, off, "anchor names segment %" PRIu64,
                            r.segment);
            if (!w->started) {
                w->started = 1;
                w->seq = r.seq - 1;
                memcpy(w->h, r.prev, BW_SHA256_LEN);
                w->rep->first_seq = r.seq;
                w->rep->first_segment = seg;
            } else if (!bw_ct_equal(r.prev, w->h, BW_SHA256_LEN)) {
                return fail(w, BW_E_TAMPER, seg, off,
                            "anchor does not continue the chain of the segment before");
            }
        } else if (r.type == BWH_LOG_ANCHOR) {
            return fail(w, BW_E_FORMAT, seg, off, "anchor inside a segment");
        }
        if (r.seq != w->seq + 1)
            return fail(w, BW_E_TAMPER, seg, off,
                        "sequence number %" PRIu64 " (a record was deleted, inserted or moved)",
                        r.seq);
        if ((rc = chain_hash(w->h, buf + off, r.len, h)))
            return rc;
        if (!bw_ct_equal(h, r.hash, BW_SHA256_LEN))
            return fail(w, BW_E_TAMPER, seg, off, "chain hash does not match the record");
        if (r.type == BWH_LOG_CHECKPOINT && !(w->flags & BWH_LOG_NO_SIGS)) {
            if (!w->pub)
                return fail(w, BW_E_KEY, seg, off, "a signed checkpoint, but no key to check it");
            if ((rc = ckpt_digest(w->h, buf + off, d)))
                return rc;
            if (w->last_sig_only && bw_ct_equal(w->fp, r.key_fp, BW_SHA256_LEN)) {
                /* checked after the walk, if no later checkpoint covers it */
                w->ck_have = 1;
                w->ck_seq = r.seq;
                w->ck_seg = seg;
                w->ck_off = off;
                memcpy(w->ck_d, d, BW_SHA256_LEN);
                memcpy(w->ck_sig, r.sig, BW_P256_SIG_LEN);
                rc = BW_OK;
            } else {
                rc = check_sig(w->pub, w->fp, r.key_fp, d, r.sig);
            }
            if (rc)
                return fail(w, rc, seg, off, "%s",
                            bw_ct_equal(w->fp, r.key_fp, BW_SHA256_LEN)
                                ? "checkpoint signature does not verify"
                                : "checkpoint signed by another key");
        }
        if (r.type == BWH_LOG_EVENT && !strcmp(r.event, BWH_LOG_ADOPT_EVENT)) {
            /* a writer found the records since the last signed point unsigned */
            uint64_t from = w->signed_pt > w->adopt_pt ? w->signed_pt : w->adopt_pt;

            if (from < w->rep->first_seq - 1)
                from = w->rep->first_seq - 1;
            if (r.seq - 1 > from)
                w->rep->adopted += r.seq - 1 - from;
            w->adopt_pt = r.seq;
        }
        if (w->have_head && r.seq == w->head.seq) {
            /* the head names a checkpoint, or (before the first one was
             * written) the record before it: its hash is what it signs */
            if (!bw_ct_equal(r.hash, w->head.hash, BW_SHA256_LEN))
                return fail(w, BW_E_TAMPER, seg, off, "record differs from the signed head");
            w->head_matched = 1;
            if (r.seq > w->signed_pt)
                w->signed_pt = r.seq;
        }
        w->seq = r.seq;
        w->type_prev = w->type_last;
        w->type_last = r.type;
        memcpy(w->h, h, BW_SHA256_LEN);
        w->last_time = r.time;
        w->last_is_ckpt = r.type == BWH_LOG_CHECKPOINT;
        if (r.type == BWH_LOG_CHECKPOINT) {
            w->rep->last_checkpoint = r.seq;
            w->rep->checkpoints++;
            w->since_ckpt = 0;
            w->signed_pt = r.seq;
        } else {
            w->since_ckpt++;
        }
        w->rep->records++;
        w->rep->last_seq = r.seq;
        w->rep->last_segment = seg;
        if (w->visit && (rc = w->visit(w->ctx, &r)))
            return rc;
        off += r.len;
        *valid = off;
    }
    return BW_OK;
}

static bw_err read_segment(const struct bwh_log_vfs *v, uint64_t id, uint8_t **buf, size_t *len)
{
    uint64_t size;
    bw_err rc;

    *buf = NULL;
    *len = 0;
    if ((rc = v->size(v->ctx, id, &size)))
        return rc;
    if (size > BWH_LOG_SEGMENT_READ_MAX)
        return BW_E_TOOBIG;
    *buf = bwh_malloc(size ? (size_t)size : 1);
    if (!*buf)
        return BW_E_NOMEM;
    if (size && (rc = v->read(v->ctx, id, 0, *buf, (size_t)size))) {
        bwh_free(*buf);
        *buf = NULL;
        return rc;
    }
    *len = (size_t)size;
    return BW_OK;
}

static bw_err list_segments(const struct bwh_log_vfs *v, uint64_t **ids, size_t *n)
{
    bw_err rc;

    *ids = bwh_malloc(BWH_LOG_SEGMENTS_MAX * sizeof(**ids));
    if (!*ids)
        return BW_E_NOMEM;
    rc = v->list(v->ctx, *ids, BWH_LOG_SEGMENTS_MAX, n);
    if (rc) {
        bwh_free(*ids);
        *ids = NULL;
    }
    return rc;
}

static bw_err load_head(const struct bwh_log_vfs *v, struct walk *w)
{
    uint8_t b[BWH_LOG_HEAD_LEN + 1], d[BW_SHA256_LEN];
    size_t n = 0;
    bw_err rc;

    rc = v->head_get(v->ctx, b, sizeof(b), &n);
    if (rc == BW_E_NOTFOUND)
        return BW_OK;
    if (rc == BW_E_TOOBIG)
        rc = BW_E_FORMAT;
    if (!rc)
        rc = head_decode(b, n, &w->head);
    if (rc)
        return fail(w, rc, 0, 0, "head file is damaged");
    w->have_head = 1;
    w->rep->head_seq = w->head.seq;
    if (w->flags & BWH_LOG_NO_SIGS)
        return BW_OK;
    if (!w->pub)
        return fail(w, BW_E_KEY, 0, 0, "a signed head, but no key to check it");
    if ((rc = head_digest(&w->head, d)))
        return rc;
    rc = check_sig(w->pub, w->fp, w->head.fp, d, w->head.sig);
    if (rc)
        return fail(w, rc, 0, 0, "%s",
                    bw_ct_equal(w->fp, w->head.fp, BW_SHA256_LEN)
                        ? "head signature does not verify"
                        : "head signed by another key");
    return BW_OK;
}

/* What holds for the whole walk: the log reaches the head, a log with a
 * checkpoint has a head (it is created before the first checkpoint), and,
 * with a key and unless BWH_LOG_UNSIGNED_OK, nothing follows the last
 * signed point but what one crash of a checkpoint_every = 1 writer leaves:
 * at most one event, or an anchor and one event (a new segment's). */
static bw_err final_checks(struct walk *w, unsigned flags)
{
    struct bwh_log_report *rep = w->rep;
    uint64_t tail;
    int window;

    if (w->have_head) {
        if (!w->started || w->head.seq > w->seq)
            return fail(w, BW_E_TRUNCATED, rep->last_segment, 0,
                        "log ends at seq %" PRIu64 ", but the signed head names seq %" PRIu64
                        ": records were cut",
                        w->seq, w->head.seq);
    } else if (rep->checkpoints >= 1) {
        return fail(w, BW_E_TAMPER, rep->last_segment, 0,
                    "head file is missing, but the log holds checkpoints");
    }
    rep->signed_seq = w->signed_pt;
    tail = rep->records == 0                  ? 0
           : w->signed_pt >= rep->first_seq ? rep->last_seq - w->signed_pt
                                             : rep->records;
    rep->unsigned_tail = tail;
    if ((flags & (BWH_LOG_NO_SIGS | BWH_LOG_UNSIGNED_OK)) || tail == 0)
        return BW_OK;
    window = tail == 1 ||
             (tail == 2 && w->type_prev == BWH_LOG_ANCHOR && w->type_last == BWH_LOG_EVENT);
    if (window)
        return BW_OK;
    fail(w, BW_E_AUTH, rep->last_segment, 0,
         "records %" PRIu64 "..%" PRIu64 " follow the last signed point (seq %" PRIu64
         ") and nothing signs them: more than a crash leaves",
         rep->last_seq - tail + 1, rep->last_seq, w->signed_pt);
    rep->bad_seq = rep->last_seq - tail + 1;
    return BW_E_AUTH;
}

bw_err bwh_log_verify(const struct bwh_log_vfs *vfs, const uint8_t *pub, unsigned flags,
                     bwh_log_visit visit, void *ctx, struct bwh_log_report *rep)
{
    struct bwh_log_report dummy;
    struct walk w;
    uint64_t *ids = NULL;
    uint8_t *buf = NULL;
    size_t n = 0, i, blen, valid;
    bw_err rc;

    if (!rep)
        rep = &dummy;
    memset(rep, 0, sizeof(*rep));
    if (!vfs || (!pub && !(flags & BWH_LOG_NO_SIGS)))
        return BW_E_INVAL;
    memset(&w, 0, sizeof(w));
    w.pub = pub;
    w.flags = flags;
    w.visit = visit;
    w.ctx = ctx;
    w.rep = rep;
    if (pub && (rc = bw_sha256(pub, BW_P256_PUB_LEN, w.fp)))
        return rc;
    if ((rc = load_head(vfs, &w)))
        goto out;
    if ((rc = list_segments(vfs, &ids, &n)))
        goto out;
    for (i = 0; i < n; i++) {
        if (i > 0 && ids[i] != ids[i - 1] + 1) {
            rc = fail(&w, BW_E_TAMPER, ids[i - 1] + 1, 0, "segment %" PRIu64 " is missing",
                      ids[i - 1] + 1);
            goto out;
        }
        if ((rc = read_segment(vfs, ids[i], &buf, &blen))) {
            fail(&w, rc, ids[i], 0, "cannot read segment");
            goto out;
        }
        rc = scan_segment(&w, ids[i], buf, blen, i + 1 == n, &valid);
        bwh_free(buf);
        buf = NULL;
        if (rc)
            goto out;
        if (valid == 0 && i + 1 < n) {
            rc = fail(&w, BW_E_TAMPER, ids[i], 0, "segment is empty");
            goto out;
        }
    }
    if ((rc = final_checks(&w, flags)))
        goto out;
    rc = BW_OK;
out:
    bwh_free(buf);
    bwh_free(ids);
    return rc;
}

/* ---- the writer ----------------------------------------------------- */

struct bwh_log {
    const struct bwh_log_vfs *v;
    const struct bw_signer *signer;
    uint32_t every;
    uint64_t max_bytes, seg_bytes;
    uint8_t fp[BW_SHA256_LEN];
    uint64_t seg, seg_size;
    uint64_t seq;
    uint8_t h[BW_SHA256_LEN];
    uint64_t since_ckpt, last_time;
    int last_is_ckpt, dirty, broken, head_dirty;
    int have_head; /* a head file exists (so the next head_put overwrites it) */
    uint8_t *buf; /* records not yet handed to the vfs (buffer_bytes > 0) */
    size_t buf_len, buf_cap;
};

static bw_err flush(struct bwh_log *l)
{
    bw_err rc;

    if (!l->buf_len)
        return BW_OK;
    rc = l->v->append(l->v->ctx, l->seg, l->buf, l->buf_len);
    l->buf_len = 0;
    if (rc)
        l->broken = 1; /* part of it may have landed: reopen to cut it */
    return rc;
}

/* Fills in seq and the chain hash of an encoded record and appends it. */
static bw_err write_record(struct bwh_log *l, uint8_t *rec, size_t len)
{
    uint8_t h[BW_SHA256_LEN];
    bw_err rc;

    if ((rc = chain_hash(l->h, rec, len, h)))
        return rc;
    memcpy(rec + len - BW_SHA256_LEN, h, BW_SHA256_LEN);
    if (l->buf_cap) {
        if (l->buf_len + len > l->buf_cap && (rc = flush(l)))
            return rc;
        memcpy(l->buf + l->buf_len, rec, len);
        l->buf_len += len;
    } else if ((rc = l->v->append(l->v->ctx, l->seg, rec, len))) {
        l->broken = 1; /* part of it may have landed: reopen to cut it */
        return rc;
    }
    l->seq++;
    memcpy(l->h, h, BW_SHA256_LEN);
    l->seg_size += len;
    l->dirty = 1;
    l->last_is_ckpt = rec[0] == BWH_LOG_CHECKPOINT;
    l->since_ckpt = l->last_is_ckpt ? 0 : l->since_ckpt + 1;
    return BW_OK;
}

static bw_err write_anchor(struct bwh_log *l, uint64_t time)
{
    uint8_t rec[ANCHOR_LEN];
    struct bw_wr w;

    bw_wr_init(&w, rec, sizeof(rec));
    put_hdr(&w, BWH_LOG_ANCHOR, ANCHOR_LEN, l->seq + 1, time);
    bw_wr_be64(&w, l->seg);
    bw_wr_bytes(&w, l->h, BW_SHA256_LEN);
    bw_wr_bytes(&w, l->h, BW_SHA256_LEN); /* placeholder for the chain hash */
    if (w.err || w.len != sizeof(rec))
        return BW_E_INVAL;
    return write_record(l, rec, sizeof(rec));
}

static bw_err sync_now(struct bwh_log *l)
{
    bw_err rc;

    if ((rc = flush(l)))
        return rc;
    if (!l->dirty)
        return BW_OK;
    if ((rc = l->v->sync(l->v->ctx, l->seg))) {
        l->broken = 1;
        return rc;
    }
    l->dirty = 0;
    return BW_OK;
}

/* Signs and writes a head naming seq and its chain hash: the records it
 * names must be durable already (the head never runs ahead of the log). */
static bw_err put_head(struct bwh_log *l, uint64_t seq, const uint8_t hash[BW_SHA256_LEN])
{
    uint8_t d[BW_SHA256_LEN], hb[BWH_LOG_HEAD_LEN];
    struct head hd;
    struct bw_wr w;
    bw_err rc;

    hd.seq = seq;
    memcpy(hd.hash, hash, BW_SHA256_LEN);
    memcpy(hd.fp, l->fp, BW_SHA256_LEN);
    if ((rc = head_digest(&hd, d)))
        return rc;
    if ((rc = l->signer->sign(l->signer->ctx, d, hd.sig)))
        return rc;
    bw_wr_init(&w, hb, sizeof(hb));
    bw_wr_bytes(&w, HEAD_MAGIC, 4);
    bw_wr_u8(&w, VERSION);
    bw_wr_be64(&w, hd.seq);
    bw_wr_bytes(&w, hd.hash, BW_SHA256_LEN);
    bw_wr_bytes(&w, hd.fp, BW_SHA256_LEN);
    bw_wr_bytes(&w, hd.sig, BW_P256_SIG_LEN);
    if (w.err || w.len != sizeof(hb))
        return BW_E_INVAL;
    if ((rc = l->v->head_put(l->v->ctx, hb, sizeof(hb))))
        return rc;
    l->have_head = 1;
    l->head_dirty = 1;
    return BW_OK;
}

static bw_err checkpoint_now(struct bwh_log *l, uint64_t time)
{
    uint8_t rec[CKPT_LEN], d[BW_SHA256_LEN];
    struct bw_wr w;
    bw_err rc;

    if (l->seg_size == 0 && (rc = write_anchor(l, time)))
        return rc;
    if (!l->have_head) {
        /* the first checkpoint: the head exists, durably, before it does, so
         * a log with a checkpoint and no head is never a power cut's work */
        if ((rc = sync_now(l)))
            return rc;
        if ((rc = put_head(l, l->seq, l->h)))
            return rc;
    }
    bw_wr_init(&w, rec, sizeof(rec));
    put_hdr(&w, BWH_LOG_CHECKPOINT, CKPT_LEN, l->seq + 1, time);
    bw_wr_bytes(&w, l->fp, BW_SHA256_LEN);
    if ((rc = ckpt_digest(l->h, rec, d)))
        return rc;
    if ((rc = l->signer->sign(l->signer->ctx, d, rec + HDR_LEN + BW_SHA256_LEN)))
        return rc;
    if ((rc = write_record(l, rec, sizeof(rec))))
        return rc;
    /* the checkpoint is durable before the head may name it */
    if ((rc = sync_now(l)))
        return rc;
    return put_head(l, l->seq, l->h);
}

/* Deletes the oldest segments while the log is over max_bytes, keeping
 * the newest two (the current one and the one its anchor links to). */
static bw_err prune(struct bwh_log *l)
{
    uint64_t *ids = NULL, *sizes = NULL, total = 0;
    size_t n = 0, i;
    bw_err rc;

    if ((rc = list_segments(l->v, &ids, &n)))
        return rc;
    rc = BW_E_NOMEM;
    sizes = bwh_malloc((n ? n : 1) * sizeof(*sizes));
    if (!sizes)
        goto out;
    for (i = 0; i < n; i++) {
        if ((rc = l->v->size(l->v->ctx, ids[i], &sizes[i])))
            goto out;
        total += sizes[i];
    }
    for (i = 0; i + 2 < n && total > l->max_bytes; i++) {
        if ((rc = l->v->remove(l->v->ctx, ids[i])))
            goto out;
        total -= sizes[i];
    }
    rc = BW_OK;
out:
    bwh_free(sizes);
    bwh_free(ids);
    return rc;
}

static bw_err rotate(struct bwh_log *l, uint64_t time)
{
    bw_err rc;

    /* seal the full segment: with a signer, everything in it is signed */
    if (l->signer && !l->last_is_ckpt)
        rc = checkpoint_now(l, time);
    else
        rc = sync_now(l);
    if (rc)
        return rc;
    l->seg++;
    l->seg_size = 0;
    if ((rc = write_anchor(l, time)))
        return rc;
    return prune(l);
}

static bw_err sync_head(struct bwh_log *l);

static void walk_init(struct walk *w, struct bwh_log_report *rep, const struct bwh_log *l)
{
    memset(w, 0, sizeof(*w));
    memset(rep, 0, sizeof(*rep));
    w->rep = rep;
    if (l->signer) {
        w->pub = l->signer->pub;
        memcpy(w->fp, l->fp, BW_SHA256_LEN);
        w->last_sig_only = 1;
    } else {
        w->flags = BWH_LOG_NO_SIGS;
    }
}

/* Scans segments ids[from..n-1] as verify would (the newest may end in a
 * torn record: *valid is where its good records end). */
static bw_err open_scan(const struct bwh_log_vfs *vfs, const uint64_t *ids, size_t n, size_t from,
                        struct walk *w, size_t *valid, size_t *blen)
{
    uint8_t *buf = NULL;
    size_t i;
    bw_err rc = BW_OK;

    for (i = from; i < n; i++) {
        if (i > from && ids[i] != ids[i - 1] + 1)
            return fail(w, BW_E_TAMPER, ids[i - 1] + 1, 0, "segment is missing");
        if ((rc = read_segment(vfs, ids[i], &buf, blen)))
            return rc;
        rc = scan_segment(w, ids[i], buf, *blen, i + 1 == n, valid);
        bwh_free(buf);
        buf = NULL;
        if (rc)
            return rc;
        if (*valid == 0 && i + 1 < n)
            return fail(w, BW_E_TAMPER, ids[i], 0, "segment is empty");
    }
    return rc;
}

/* With a signer: what open_scan found must be the log this key signed. */
static bw_err open_check(struct walk *w)
{
    bw_err rc;

    if (w->have_head && w->head.seq > w->seq)
        return BW_E_TAMPER; /* cut before the head's record */
    if (!w->have_head && w->rep->checkpoints)
        return BW_E_TAMPER; /* the head was deleted */
    if (w->ck_have) {
        rc = check_sig(w->pub, w->fp, w->fp, w->ck_d, w->ck_sig);
        if (rc)
            return rc == BW_E_BADSIG ? BW_E_TAMPER : rc;
    }
    return BW_OK;
}

static bw_err append_event(struct bwh_log *l, uint64_t time, const char *event,
                           const char *subject, const char *outcome, uint64_t *seq);

bw_err bwh_log_open(const struct bwh_log_vfs *vfs, const struct bwh_log_opts *o,
                   struct bwh_log **out)
{
    struct bwh_log_report rep;
    struct bwh_log *l = NULL;
    struct walk w;
    uint64_t *ids = NULL, first_unsigned = 0;
    size_t n = 0, blen = 0, valid = 0, from;
    uint8_t probe[BWH_LOG_HEAD_LEN + 1];
    bw_err rc;

    if (!vfs || !o || !out)
        return BW_E_INVAL;
    *out = NULL;
    rc = BW_E_NOMEM;
    l = bwh_calloc(1, sizeof(*l));
    if (!l)
        return rc;
    l->v = vfs;
    l->signer = o->signer;
    l->every = o->checkpoint_every ? o->checkpoint_every : BWH_LOG_CHECKPOINT_EVERY;
    l->max_bytes = o->max_bytes ? o->max_bytes : BWH_LOG_MAX_BYTES_DEFAULT;
    l->seg_bytes = o->segment_bytes ? o->segment_bytes : l->max_bytes / 4;
    if (l->seg_bytes < BWH_LOG_SEGMENT_MIN)
        l->seg_bytes = BWH_LOG_SEGMENT_MIN;
    if (o->buffer_bytes) {
        l->buf_cap = o->buffer_bytes < BWH_LOG_RECORD_MAX ? BWH_LOG_RECORD_MAX
                     : o->buffer_bytes > BWH_LOG_BUFFER_MAX ? BWH_LOG_BUFFER_MAX
                                                           : o->buffer_bytes;
        l->buf = bwh_malloc(l->buf_cap);
        if (!l->buf)
            goto out;
    }
    if (l->signer && (rc = bw_sha256(l->signer->pub, BW_P256_PUB_LEN, l->fp)))
        goto out;
    if ((rc = list_segments(vfs, &ids, &n)))
        goto out;
    walk_init(&w, &rep, l);
    if (n == 0) {
        l->seg = 1;
        if (l->signer) {
            /* no segments: a head left over means the log was removed */
            size_t hn = 0;

            rc = vfs->head_get(vfs->ctx, probe, sizeof(probe), &hn);
            if (rc == BW_OK || rc == BW_E_TOOBIG)
                rc = BW_E_TAMPER;
            if (rc != BW_E_NOTFOUND)
                goto out;
        }
        rc = BW_OK;
        goto done;
    }
    /* The newest segment; the one before too when the newest lost its
     * anchor, or (with a signer) holds no checkpoint or starts after the
     * head's record; all of them when there is no head and no checkpoint
     * in those two (before adopting records as unsigned, make sure no
     * checkpoint anywhere says the head was deleted). */
    for (from = n - 1;; from--) {
        walk_init(&w, &rep, l);
        if (l->signer && (rc = load_head(vfs, &w)))
            goto out;
        if ((rc = open_scan(vfs, ids, n, from, &w, &valid, &blen)))
            goto out;
        if (from == 0)
            break;
        if (l->signer && !w.have_head && !rep.checkpoints && from + 2 == n) {
            from = 1; /* the whole log, once */
            continue;
        }
        if (from + 2 <= n)
            break;
        if (rep.records && (!l->signer || (rep.checkpoints &&
                                           !(w.have_head && w.head.seq < rep.first_seq))))
            break;
    }
    if (l->signer && (rc = open_check(&w)))
        goto out;
    l->seg = ids[n - 1];
    if (valid < blen && (rc = vfs->truncate(vfs->ctx, l->seg, valid)))
        goto out; /* a torn final record: cut it before appending */
    l->seg_size = valid;
    if (l->signer && rep.records) {
        first_unsigned = w.signed_pt >= rep.first_seq ? w.signed_pt + 1 : rep.first_seq;
        if (first_unsigned > w.seq)
            first_unsigned = 0;
    }
done:
    l->seq = w.seq;
    memcpy(l->h, w.h, BW_SHA256_LEN);
    l->last_time = w.last_time;
    l->last_is_ckpt = w.last_is_ckpt;
    l->since_ckpt = w.since_ckpt;
    l->have_head = w.have_head;
    if (first_unsigned) {
        /* an unsigned tail this writer did not write: say so in the log
         * before any signature covers it (see Method) */
        char subj[64];

        snprintf(subj, sizeof(subj), "seq %" PRIu64 "..%" PRIu64, first_unsigned, l->seq);
        rc = append_event(l, l->last_time, BWH_LOG_ADOPT_EVENT, subj,
                          "not signed when the writer opened the log", NULL);
        if (!rc && !l->last_is_ckpt)
            rc = checkpoint_now(l, l->last_time);
        if (!rc)
            rc = sync_head(l);
        if (rc)
            goto out;
    }
    *out = l; /* the anchor of a new segment waits for the first record's time */
    l = NULL;
    rc = BW_OK;
out:
    if (rc == BW_E_BADSIG || rc == BW_E_FORMAT || rc == BW_E_TRUNCATED)
        rc = BW_E_TAMPER; /* the writer refuses a log it cannot vouch for */
    bwh_free(ids);
    if (l)
        bwh_free(l->buf);
    bwh_free(l);
    return rc;
}

static bw_err append_event(struct bwh_log *l, uint64_t time, const char *event,
                           const char *subject, const char *outcome, uint64_t *seq)
{
    uint8_t rec[BWH_LOG_RECORD_MAX];
    size_t el, sl, ol, len;
    struct bw_wr w;
    bw_err rc;

    el = strlen(event);
    sl = strlen(subject);
    ol = strlen(outcome);
    if (!event_ok(event, el) || !text_ok(subject, sl) || !text_ok(outcome, ol))
        return BW_E_INVAL;
    len = HDR_LEN + 3 + el + sl + ol + BW_SHA256_LEN;
    if (l->seg_size == 0)
        rc = write_anchor(l, time);
    else if (l->seg_size + len > l->seg_bytes && l->seg_size > ANCHOR_LEN)
        rc = rotate(l, time);
    else
        rc = BW_OK;
    if (rc)
        return rc;
    bw_wr_init(&w, rec, sizeof(rec));
    put_hdr(&w, BWH_LOG_EVENT, len, l->seq + 1, time);
    bw_wr_u8(&w, (uint8_t)el);
    bw_wr_bytes(&w, event, el);
    bw_wr_u8(&w, (uint8_t)sl);
    bw_wr_bytes(&w, subject, sl);
    bw_wr_u8(&w, (uint8_t)ol);
    bw_wr_bytes(&w, outcome, ol);
    bw_wr_bytes(&w, l->h, BW_SHA256_LEN); /* placeholder for the chain hash */
    if (w.err || w.len != len)
        return BW_E_INVAL;
    if ((rc = write_record(l, rec, len)))
        return rc;
    l->last_time = time;
    if (seq)
        *seq = l->seq;
    if (l->signer && l->since_ckpt >= l->every)
        return checkpoint_now(l, time);
    return BW_OK;
}

bw_err bwh_log_append(struct bwh_log *l, uint64_t time, const char *event, const char *subject,
                     const char *outcome, uint64_t *seq)
{
    size_t rl = sizeof(RESERVED_PREFIX) - 1;

    if (!l || !event)
        return BW_E_INVAL;
    if (l->broken)
        return BW_E_STATE;
    if (!strncmp(event, RESERVED_PREFIX, rl))
        return BW_E_INVAL; /* only the library writes log.* events */
    return append_event(l, time, event, subject ? subject : "", outcome ? outcome : "", seq);
}

bw_err bwh_log_checkpoint(struct bwh_log *l, uint64_t time)
{
    if (!l)
        return BW_E_INVAL;
    if (l->broken || !l->signer)
        return BW_E_STATE;
    if (l->last_is_ckpt || l->seq == 0)
        return sync_now(l);
    return checkpoint_now(l, time);
}

static bw_err sync_head(struct bwh_log *l)
{
    bw_err rc;

    if (!l->head_dirty)
        return BW_OK;
    if ((rc = l->v->head_sync(l->v->ctx)))
        return rc;
    l->head_dirty = 0;
    return BW_OK;
}

bw_err bwh_log_sync(struct bwh_log *l)
{
    bw_err rc;

    if (!l)
        return BW_E_INVAL;
    if (l->broken)
        return BW_E_STATE;
    if ((rc = sync_now(l)))
        return rc;
    return sync_head(l);
}

bw_err bwh_log_close(struct bwh_log *l)
{
    bw_err rc = BW_E_STATE; /* a failed write left a torn record: not sealed */

    if (!l)
        return BW_OK;
    if (!l->broken) {
        if (l->signer && !l->last_is_ckpt && l->seq > 0)
            rc = checkpoint_now(l, l->last_time);
        else
            rc = sync_now(l);
        if (!rc)
            rc = sync_head(l);
    }
    bwh_free(l->buf);
    bwh_free(l);
    return rc;
}
