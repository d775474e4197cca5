/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure store: a small encrypted key-value store for secrets and
 * settings on a flash area (a raw partition, or a file through the POSIX
 * port). Values are sealed with AES-256-GCM, the whole image is
 * authenticated, and two copies make every change atomic across power
 * loss. No malloc and no I/O of its own: the caller supplies the flash
 * area, the 32-byte root key and a work buffer. Format: docs/store.md.
 */
#ifndef BULWARK_STORE_H
#define BULWARK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "bulwark/err.h"
#include "bulwark/update.h"

#define BW_STORE_KEY_LEN 32           /* root key: device storage key or TPM-sealed key */
#define BW_STORE_NAME_MAX 64          /* longest key name, bytes */
#define BW_STORE_VALUE_MAX (64u << 10) /* largest value, bytes */
#define BW_STORE_ID_LEN 16
#define BW_STORE_HDR_LEN 56           /* image header */
#define BW_STORE_MAC_LEN 32           /* HMAC-SHA256 closing each image */
#define BW_STORE_REC_OVERHEAD (1 + 4 + 12 + 16) /* per record, besides name and value */
/* Smallest flash area a store fits in (two copies of an empty image). */
#define BW_STORE_MIN_SIZE (2u * 256u)

/*
 * An open store. Caller-allocated; the fields are read-only for callers
 * (count, generation, len and bad_copies are useful to show). Not
 * thread-safe: one user at a time (the CLI holds a file lock around it).
 */
struct bw_store {
    const struct bw_flash *flash;
    uint64_t copy_size;   /* bytes of each of the two copies */
    uint8_t *img[2];      /* halves of the work buffer: current image, scratch */
    int cur;              /* index into img of the current image */
    size_t len;           /* current image length, 0 while the store is blank */
    uint64_t generation;  /* of the current image; 0 while blank */
    uint32_t count;       /* records */
    uint8_t id[BW_STORE_ID_LEN];
    int newest;           /* copy (0/1) holding the current image, -1 if none */
    uint64_t used[2];     /* bytes of each copy that may hold old data */
    int bad_copies;       /* copies that did not authenticate when opened */
    int broken;           /* a write failed: reopen before anything else */
    uint8_t enc_key[32];
    uint8_t mac_key[32];
};

/* Iterates over the names, in ascending byte order. Zero it to start; the
 * first bw_store_next binds it to the store's current image. */
struct bw_store_iter {
    size_t off;
    uint32_t i;
    uint64_t generation;        /* of the image it walks */
    uint8_t id[BW_STORE_ID_LEN]; /* of the store it walks */
};

/* Bytes of each copy for a flash area (half of it, rounded down to the
 * write alignment), and the work buffer bw_store_open needs (two copies). */
uint64_t bw_store_copy_size(const struct bw_flash *f);
uint64_t bw_store_work_size(const struct bw_flash *f);

/*
 * Opens the store on flash f with the 32-byte root key (HKDF-SHA256 with
 * info "bulwark store v1" derives the value and image keys from it).
 * work: at least bw_store_work_size(f) bytes, owned by the caller, used
 * until bw_store_close. Loads the newest copy that authenticates; a blank
 * area is an empty store. When one copy is damaged and the other is good
 * it opens and sets s->bad_copies (an interrupted write, or tampering: the
 * next change rewrites both copies).
 * Errors: BW_E_INVAL (NULL, area smaller than BW_STORE_MIN_SIZE),
 * BW_E_NOMEM (work too small), BW_E_IO, BW_E_AUTH (wrong key: the images
 * were made with another key), BW_E_TAMPER (no copy authenticates),
 * BW_E_FORMAT (no copy is a store image of this layout), BW_E_CRYPTO.
 */
BW_NODISCARD bw_err bw_store_open(struct bw_store *s, const struct bw_flash *f,
                                  const uint8_t key[BW_STORE_KEY_LEN], void *work,
                                  size_t work_len);
/* Wipes the keys and the work buffer. NULL-safe; the flash is untouched. */
void bw_store_close(struct bw_store *s);

/*
 * Copies the value of name into out (cap bytes); *len receives its size
 * (also when cap is too small). Errors: BW_E_INVAL (bad name),
 * BW_E_NOTFOUND, BW_E_NOMEM (cap too small), BW_E_AUTH (the record does
 * not decrypt; out is wiped), BW_E_STATE (after a failed write).
 */
BW_NODISCARD bw_err bw_store_get(struct bw_store *s, const char *name, uint8_t *out, size_t cap,
                                 size_t *len);

/*
 * Sets name (1..BW_STORE_NAME_MAX printable ASCII bytes, no space) to
 * value, durably: when it returns BW_OK both copies hold the new image.
 * After a power cut at any point the store opens with the old or the new
 * value. Errors: BW_E_INVAL (bad name), BW_E_TOOBIG (value over
 * BW_STORE_VALUE_MAX, or the store would not fit its copy size; nothing
 * written), BW_E_IO (then BW_E_STATE until reopened), BW_E_CRYPTO.
 */
BW_NODISCARD bw_err bw_store_set(struct bw_store *s, const char *name, const uint8_t *value,
                                 size_t len);

/* Removes name, durably and atomically as bw_store_set; the record's
 * bytes are overwritten with zeros on the medium. BW_E_NOTFOUND (nothing
 * written), BW_E_INVAL, BW_E_IO, BW_E_STATE. */
BW_NODISCARD bw_err bw_store_delete(struct bw_store *s, const char *name);

/* Next name (NUL-terminated, name[BW_STORE_NAME_MAX + 1]) and its value
 * size; BW_E_NOTFOUND after the last. Values are not decrypted. A change
 * (set, delete, wipe) invalidates every iterator begun before it: their
 * next call returns BW_E_STATE; zero the iterator to start again. */
BW_NODISCARD bw_err bw_store_next(const struct bw_store *s, struct bw_store_iter *it,
                                  char name[BW_STORE_NAME_MAX + 1], size_t *value_len);

/*
 * Erases the store: every byte of the flash area becomes zero (copy 0,
 * then copy 1, each synced, then any bytes past the two copies), so no
 * ciphertext is left and the area is blank; s is then an open, empty
 * store. When copy 1 does not hold the current image (damaged, or a change
 * behind), the image is first written there, so that a power cut at any
 * point leaves the old store or an empty one. BW_E_IO (then BW_E_STATE
 * until reopened).
 */
BW_NODISCARD bw_err bw_store_wipe(struct bw_store *s);
/* The same without an open store and without the key, for a store that
 * does not open (damaged, key lost): zeroes all of f, copy 0 first. A
 * power cut may leave the area as unopenable as it was: run it again.
 * BW_E_INVAL (write alignment above 4096), BW_E_IO. */
BW_NODISCARD bw_err bw_store_wipe_area(const struct bw_flash *f);

#endif
