/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A/B update engine: slots behind a flash interface, the boot state behind
 * a store interface, and the rules that move between them (install into
 * the inactive slot, trial boot, confirm, fall back, roll back, and an
 * anti-rollback counter that never decreases). The engine does no I/O of
 * its own and never allocates: flash and store come in as function tables.
 * Payload bytes reach a slot only through the install stream below
 * (bw_install_*), which checks every chunk before it is written and the
 * whole image before the slot is marked; there is no public way around it.
 */
#ifndef BULWARK_UPDATE_H
#define BULWARK_UPDATE_H

#include <stddef.h>
#include <stdint.h>
#include "suit.h"

/*
 * A flash area (a slot, or the region holding the boot state).
 * write: offset and length are multiples of write_align except for the
 * final write of an image, which the backend pads. sync: everything
 * written before it is durable when it returns (fsync/fdatasync, or a
 * flash controller's flush). Errors: BW_E_IO, BW_E_INVAL (out of range).
 */
struct bw_flash {
    void *ctx;
    uint64_t size;
    uint32_t write_align;
    bw_err (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    bw_err (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
    bw_err (*sync)(void *ctx);
};

#define BW_SLOT_A 0
#define BW_SLOT_B 1
#define BW_SLOT_NONE 0xff
#define BW_SEQ_EMPTY UINT64_MAX /* a slot holding no verified image */
#define BW_TRIAL_BOOTS_DEFAULT 3

/* What the bootloader and the device agree on. */
struct bw_bootstate {
    uint8_t active;            /* BW_SLOT_A or BW_SLOT_B: the confirmed slot */
    uint8_t trial;             /* slot on trial, or BW_SLOT_NONE */
    uint8_t trial_boots_left;  /* boots the trial slot may still take */
    uint8_t booted;            /* slot the last boot step chose */
    uint8_t confirmed;         /* the booted slot has been confirmed good */
    uint64_t highest_sequence; /* anti-rollback floor: never decreases */
    uint64_t slot_sequence[2]; /* installed sequence, or BW_SEQ_EMPTY */
    uint64_t slot_size[2];     /* installed image size */
    uint8_t slot_digest[2][BW_SHA256_LEN];
    uint64_t generation;       /* bumped on every save (stores use it) */
};

/*
 * Where the boot state lives: one adapter per file (a bulwark state file,
 * the U-Boot environment, the GRUB environment block, or a flash region).
 * load: BW_E_NOTFOUND when nothing was ever saved (the engine then starts
 * from slot A with no image), BW_E_FORMAT when every copy is damaged.
 * save: atomic; after a power cut, load returns the old or the new state.
 */
struct bw_bootstore {
    void *ctx;
    bw_err (*load)(void *ctx, struct bw_bootstate *st);
    bw_err (*save)(void *ctx, const struct bw_bootstate *st);
};

/* Serialized boot state (the record both copies of a store hold). */
#define BW_BOOTSTATE_RECORD_LEN 128
void bw_bootstate_init(struct bw_bootstate *st);
void bw_bootstate_encode(const struct bw_bootstate *st, uint8_t out[BW_BOOTSTATE_RECORD_LEN]);
/* BW_E_FORMAT on a bad magic, version or CRC, or inconsistent fields. */
BW_NODISCARD bw_err bw_bootstate_decode(struct bw_bootstate *st,
                                        const uint8_t in[BW_BOOTSTATE_RECORD_LEN]);
/* The boot state as bootloader-environment variables (bw_active, bw_trial,
 * bw_trial_left, bw_booted, bw_confirmed, bw_highest, bw_a_seq, bw_a_size,
 * bw_a_sha256, and the same for b); see docs/update.md. get returns
 * BW_E_NOTFOUND for a missing variable; from_kv returns BW_E_NOTFOUND when
 * nothing was ever saved, BW_E_FORMAT for a missing or invalid value. */
typedef bw_err (*bw_kv_get)(void *ctx, const char *key, char *val, size_t cap);
typedef bw_err (*bw_kv_set)(void *ctx, const char *key, const char *val);
BW_NODISCARD bw_err bw_bootstate_to_kv(const struct bw_bootstate *st, bw_kv_set set, void *ctx);
BW_NODISCARD bw_err bw_bootstate_from_kv(struct bw_bootstate *st, bw_kv_get get, void *ctx);

/* CRC-32 (IEEE 802.3, as zlib), used by the record and the U-Boot env. */
uint32_t bw_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * Two copies of the record, for adapters that store raw records (a flash
 * region, two files). read fills rec with copy i (0 or 1) and sets *exists
 * when the copy is there at all (not erased, not missing), whether valid or
 * not; write replaces copy i durably. load takes the valid copy with the
 * higher generation; save writes the other one with generation + 1, so a
 * torn or lost save leaves the previous state readable.
 */
struct bw_twocopy {
    void *ctx;
    bw_err (*read)(void *ctx, int i, uint8_t rec[BW_BOOTSTATE_RECORD_LEN], int *exists);
    bw_err (*write)(void *ctx, int i, const uint8_t rec[BW_BOOTSTATE_RECORD_LEN]);
};
BW_NODISCARD bw_err bw_twocopy_load(const struct bw_twocopy *t, struct bw_bootstate *st);
BW_NODISCARD bw_err bw_twocopy_save(const struct bw_twocopy *t, const struct bw_bootstate *st);

/* A boot-state store over a flash area: two copies in two halves, each a
 * record; save writes the older copy and syncs. (Raw flash partitions, and
 * the power-cut simulation.) The area must hold 2 x write_align-rounded
 * records. */
struct bw_bootstore_flash {
    const struct bw_flash *flash;
    uint64_t copy_size;
    struct bw_twocopy copies;
};
void bw_bootstore_flash_init(struct bw_bootstore *bs, struct bw_bootstore_flash *ctx,
                             const struct bw_flash *flash);

enum bw_update_phase { BW_UPD_IDLE = 0, BW_UPD_WRITING, BW_UPD_DONE };

/* An update session; caller-allocated, no pointers into freed memory. */
struct bw_update {
    const struct bw_flash *slot[2];
    const struct bw_bootstore *store;
    struct bw_bootstate st;
    uint8_t trial_boots;
    /* install in progress */
    enum bw_update_phase phase;
    uint8_t target;
    uint64_t sequence;
    uint64_t size;
    uint64_t written;
    uint8_t digest[BW_SHA256_LEN];
};

/* Loads the boot state (a fresh device starts with slot A active and both
 * slots empty). Errors: the store's, BW_E_INVAL on missing flash. */
BW_NODISCARD bw_err bw_update_open(struct bw_update *u, const struct bw_flash *a,
                                   const struct bw_flash *b, const struct bw_bootstore *store);

/*
 * Starts installing an authenticated manifest into the slot that is not
 * active. Refuses before anything is written: BW_E_STATE (s not
 * authenticated, a trial is pending: confirm or roll back first, or the
 * device still runs the inactive slot after a rollback: reboot first),
 * BW_E_UNSUPPORTED (more than one component),
 * BW_E_ROLLBACK (sequence below the persisted floor, or below e's),
 * BW_E_VENDOR/BW_E_CLASS (e's identifiers), BW_E_TOOBIG (larger than the
 * slot), BW_E_NOTFOUND (no image digest or size), BW_E_STATE also when
 * the manifest's image depends on the slot (try-each, component-slot) and
 * s was not selected for the target (bw_update_target, then
 * bw_suit_select), or was selected for the other slot. Then marks the target
 * slot empty in the saved state, so that a power cut from here on can never
 * leave a half-written slot looking installed.
 */
BW_NODISCARD bw_err bw_update_begin(struct bw_update *u, const struct bw_suit *s,
                                    const struct bw_suit_expect *e);
/* The slot the next install writes (the one not active): what a caller
 * passes to bw_suit_select before bw_install_begin for an A/B manifest.
 * BW_E_STATE when no install may start now (bw_update_begin's reasons). */
BW_NODISCARD bw_err bw_update_target(const struct bw_update *u, uint8_t *slot);
/* Abandons an install: the target stays marked empty. */
void bw_update_abort(struct bw_update *u);

/*
 * The boot step (what the bootloader does at power-on): a pending trial
 * slot is booted while it has boots left (each boot uses one); when none
 * are left the trial is abandoned and the active slot boots. A slot with
 * no image is never chosen; if the active slot is empty and the other is
 * not, the other becomes active. *slot receives the slot to boot.
 * BW_E_NOTFOUND when neither slot holds an image.
 */
BW_NODISCARD bw_err bw_update_boot(struct bw_update *u, uint8_t *slot);
/* Reads slot `slot`'s recorded image through its flash (buf is scratch,
 * any size from 64 bytes) and compares size and SHA-256 with what the boot
 * state recorded at install. BW_E_NOTFOUND when the slot holds no image,
 * BW_E_DIGEST when its bytes changed since, BW_E_INVAL for a bad slot or
 * buffer, flash errors. */
BW_NODISCARD bw_err bw_update_verify_slot(const struct bw_update *u, uint8_t slot, uint8_t *buf,
                                          size_t buf_len);
/*
 * The boot step with the images checked first: each slot holding an image
 * is verified (bw_update_verify_slot); one whose bytes changed since its
 * install is recorded as empty (saved), so a pending trial of it is
 * abandoned and an active one is replaced by the other slot if that one
 * verifies; then the boot step runs as bw_update_boot. *rejected gets a
 * bit per slot found modified (1 << slot). BW_E_NOTFOUND when no slot
 * holds an image that verifies: nothing is booted. Flash errors while
 * verifying are returned before anything is saved.
 */
BW_NODISCARD bw_err bw_update_boot_verified(struct bw_update *u, uint8_t *buf, size_t buf_len,
                                            uint8_t *slot, uint8_t *rejected);
/* Confirms the booted trial slot: it becomes the active slot. BW_E_STATE
 * when the booted slot is not on trial (nothing to confirm). */
BW_NODISCARD bw_err bw_update_confirm(struct bw_update *u);
/* Cancels a pending trial, or, with none pending, makes the other slot
 * active if it holds an image (BW_E_NOTFOUND otherwise). The anti-rollback
 * floor stays where it is. */
BW_NODISCARD bw_err bw_update_rollback(struct bw_update *u);

/*
 * The install stream: the one way verified bytes reach a slot. It takes
 * the package's bytes after the envelope (the chunk list, then the
 * payload) in any split, checks the list against its signed digest and
 * each chunk against its list entry before the flash sees a byte of it,
 * computes the whole-image digest itself over exactly what it wrote, and
 * at the end compares digest and size with the manifest before the slot
 * is marked for a trial boot. Nothing here takes a digest from its caller.
 * No malloc, no threads: the caller lends the two buffers.
 *
 * One thread: bw_install_begin, bw_install_feed as bytes arrive,
 * bw_install_finish. Two threads (a host overlapping the two SHA-256
 * passes): bw_install_feed for the chunk list, then per chunk, in order,
 * bw_install_check (first thread) and bw_install_commit (second thread),
 * each commit handed over after its check through the caller's own
 * synchronisation (a mutex or queue), and the buffer left unchanged
 * between the two calls.
 */
enum bw_install_phase { BW_INS_IDLE = 0, BW_INS_LIST, BW_INS_PAYLOAD, BW_INS_DONE, BW_INS_FAILED };

/* Fields are the stream's. The two stages share only `checked`, written by
 * stage 1 alone and read by stage 2 (an atomic: a commit can never run
 * ahead of the checks, whatever the threads do); every other field is
 * touched by one stage, or by begin, feed and finish while no stage runs. */
struct bw_install {
    struct bw_update *u;
    const struct bw_suit *s;
    uint8_t *list;      /* the chunk list, lent by the caller */
    size_t list_len;    /* its length: 32 bytes per chunk */
    uint8_t *chunk;     /* one chunk, lent by the caller (feed only) */
    size_t chunk_cap;
    uint32_t n_chunks;
    size_t have;        /* bytes of the list or of the current chunk held */
    uint64_t skip;      /* A/B package: other sections' bytes still to pass before the list */
    uint64_t tail;      /* ... and after the last chunk (never hashed nor written) */
    enum bw_install_phase phase;
    bw_err err;         /* begin/feed/finish: the first failure, sticky */
    /* stage 1 */
    uint32_t n_checked;
    bw_err check_err;
    _Atomic uint32_t checked; /* published count of checked chunks */
    /* stage 2 */
    uint32_t committed;
    uint64_t off;       /* payload bytes written */
    bw_err commit_err;
    struct bw_sha256 image;
};

/*
 * Starts installing the authenticated package s (bw_update_begin: identity,
 * anti-rollback, slot size, target marked empty). list must hold the chunk
 * list (bw_suit_chunk_layout's list length); chunk must hold one chunk
 * (the manifest's chunk size) when bw_install_feed is used for the
 * payload, and may be NULL when bw_install_check/commit are. A payload
 * integrated in the envelope has no list: it is checked and written here,
 * and the stream expects no bytes. Errors: bw_update_begin's, BW_E_TOOBIG
 * (a buffer too small), BW_E_UNSUPPORTED (neither a chunk list nor an
 * integrated payload), BW_E_DIGEST/BW_E_SIZE (integrated payload),
 * BW_E_FORMAT (an A/B section that does not fit its package). On
 * error nothing of the package was written.
 * A/B package (s selected for the target slot, bw_suit_select): the stream
 * takes every byte after the envelope and passes over the other slot's
 * section (BW_SUIT_PARAM_SECTION) unread: it is neither checked, hashed nor
 * written; in->skip and in->tail say how many such bytes come before and
 * after this slot's list and payload.
 * u NULL: verify only. The same stream, checks and errors, with e (if not
 * NULL) checked by bw_suit_check instead of bw_update_begin, and nothing
 * written anywhere (a gateway checking an upload, `bulwark verify`).
 */
BW_NODISCARD bw_err bw_install_begin(struct bw_install *in, struct bw_update *u,
                                     const struct bw_suit *s, const struct bw_suit_expect *e,
                                     uint8_t *list, size_t list_cap, uint8_t *chunk,
                                     size_t chunk_cap);
/* The next len bytes of the package after the envelope. A chunk is written
 * once it is complete and checked. Errors: BW_E_CHUNK (list or chunk not
 * the signed one; the chunk is not written), BW_E_TRAILING (bytes after the
 * last chunk), BW_E_STATE (no chunk buffer for the payload), flash errors.
 * After an error the install is abandoned and every call returns it. */
BW_NODISCARD bw_err bw_install_feed(struct bw_install *in, const uint8_t *data, size_t len);
/* Stage 1: checks the next chunk, len bytes at buf, against the list.
 * BW_E_STATE before the list is complete or after the last chunk,
 * BW_E_CHUNK / BW_E_SIZE as bw_suit_chunk_check; sticky for stage 1. */
BW_NODISCARD bw_err bw_install_check(struct bw_install *in, const uint8_t *buf, size_t len);
/* Stage 2: hashes the next chunk into the image digest and writes it to
 * the slot. BW_E_STATE when that chunk has not been checked (nothing is
 * written), flash errors; sticky for stage 2. */
BW_NODISCARD bw_err bw_install_commit(struct bw_install *in, const uint8_t *buf, size_t len);
/* After the last chunk (and after both stages stopped): either stage's
 * error, else the image digest and size against the manifest (BW_E_DIGEST,
 * BW_E_SIZE; BW_E_TRUNCATED when chunks are missing), then
 * the slot synced, the image recorded, the trial pending. */
BW_NODISCARD bw_err bw_install_finish(struct bw_install *in);
/* Abandons the install (the target stays marked empty). NULL-safe. */
void bw_install_abort(struct bw_install *in);

#endif
