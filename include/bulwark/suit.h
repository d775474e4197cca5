/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SUIT envelopes (draft-ietf-suit-manifest): build, parse, authenticate and
 * check the subset bulwark uses, plus bulwark's chunk-digest-list parameter
 * (docs/package-format.md). Parsing is allocation-free: struct bw_suit
 * points into the caller's envelope buffer, which must outlive it.
 *
 * Order of checks (fail closed): CBOR well-formedness of the whole
 * envelope, authentication wrapper digest and COSE_Sign1 signature, and
 * only then the manifest's content (version, sequences, parameters).
 */
#ifndef BULWARK_SUIT_H
#define BULWARK_SUIT_H

#include <stddef.h>
#include <stdint.h>
#include "cbor.h"
#include "cose.h"
#include "crypto.h"

#define BW_SUIT_TAG_ENVELOPE 107
#define BW_SUIT_MAX_COMPONENTS 4
#define BW_SUIT_MAX_ID_PARTS 4
#define BW_SUIT_MAX_PAYLOADS 4
#define BW_SUIT_MAX_SIGNATURES 4
#define BW_SUIT_UUID_LEN 16
#define BW_SUIT_CHUNK_SIZE 65536u         /* what bulwark sign writes */
#define BW_SUIT_CHUNK_MIN 4096u           /* smallest chunk accepted */
#define BW_SUIT_CHUNK_MAX (16u << 20)     /* largest chunk accepted */
#define BW_SUIT_ENVELOPE_MAX (1u << 20)   /* host default cap on an envelope */
#define BW_SUIT_IMAGE_MAX (1ull << 40)    /* 1 TiB: larger sizes are refused */
#define BW_SUIT_MAX_ALTERNATIVES 4        /* command sequences in one try-each */
#define BW_SUIT_MAX_TRY_DEPTH 2           /* try-each inside try-each, at most */
#define BW_SUIT_SLOT_ANY 0xff             /* no slot chosen (bw_suit_parse) */

/* Envelope and manifest keys. */
#define BW_SUIT_AUTH 2
#define BW_SUIT_MANIFEST 3
#define BW_SUIT_DEPENDENCY_RESOLUTION 15
#define BW_SUIT_PAYLOAD_FETCH 16
#define BW_SUIT_INSTALL 20
#define BW_SUIT_TEXT 23
#define BW_SUIT_MANIFEST_VERSION 1
#define BW_SUIT_MANIFEST_SEQUENCE 2
#define BW_SUIT_COMMON 3
#define BW_SUIT_REFERENCE_URI 4
#define BW_SUIT_VALIDATE 7
#define BW_SUIT_LOAD 8
#define BW_SUIT_INVOKE 9
#define BW_SUIT_COMMON_DEPENDENCIES 1
#define BW_SUIT_COMMON_COMPONENTS 2
#define BW_SUIT_COMMON_SHARED_SEQUENCE 4
/* Commands. */
#define BW_SUIT_COND_VENDOR 1
#define BW_SUIT_COND_CLASS 2
#define BW_SUIT_COND_IMAGE_MATCH 3
#define BW_SUIT_COND_COMPONENT_SLOT 5
#define BW_SUIT_COND_CHECK_CONTENT 6
#define BW_SUIT_COND_ABORT 14
#define BW_SUIT_COND_DEVICE 24
#define BW_SUIT_DIR_SET_COMPONENT_INDEX 12
#define BW_SUIT_DIR_TRY_EACH 15
#define BW_SUIT_DIR_WRITE 18
#define BW_SUIT_DIR_SET_PARAMETERS 19
#define BW_SUIT_DIR_OVERRIDE_PARAMETERS 20
#define BW_SUIT_DIR_FETCH 21
#define BW_SUIT_DIR_COPY 22
#define BW_SUIT_DIR_INVOKE 23
#define BW_SUIT_DIR_SWAP 31
#define BW_SUIT_DIR_RUN_SEQUENCE 32
/* Parameters. */
#define BW_SUIT_PARAM_VENDOR_ID 1
#define BW_SUIT_PARAM_CLASS_ID 2
#define BW_SUIT_PARAM_IMAGE_DIGEST 3
#define BW_SUIT_PARAM_COMPONENT_SLOT 5
#define BW_SUIT_PARAM_STRICT_ORDER 12
#define BW_SUIT_PARAM_SOFT_FAILURE 13
#define BW_SUIT_PARAM_IMAGE_SIZE 14
#define BW_SUIT_PARAM_CONTENT 18
#define BW_SUIT_PARAM_URI 21
#define BW_SUIT_PARAM_SOURCE_COMPONENT 22
#define BW_SUIT_PARAM_INVOKE_ARGS 23
#define BW_SUIT_PARAM_DEVICE_ID 24
/* bulwark's custom parameter (suit-parameter-custom is a negative int):
 * bstr .cbor [chunk-size: uint, chunk-list-digest: SUIT_Digest]. */
#define BW_SUIT_PARAM_CHUNK_DIGESTS (-257)
/* bulwark's A/B section parameter: [offset: uint, total: uint], where this
 * alternative's chunk list starts, counted from the end of the envelope,
 * and how many bytes follow the envelope in all (docs/package-format.md). */
#define BW_SUIT_PARAM_SECTION (-258)
/* bulwark's chunk compression parameter: bstr .cbor [algorithm: uint,
 * length-table-digest: SUIT_Digest]. The payload is compressed chunk by
 * chunk; a table of each chunk's compressed length (4 bytes each,
 * big-endian) follows the chunk list and its SHA-256 is signed here. The
 * chunk list still holds the digests of the uncompressed chunks
 * (docs/package-format.md). */
#define BW_SUIT_PARAM_COMPRESSION (-259)
#define BW_SUIT_COMPRESS_ZSTD 1        /* one zstd frame per chunk */
#define BW_SUIT_COMPRESS_ZSTD_STREAM 2 /* one zstd frame, flushed at every chunk's end */
#define BW_SUIT_CLEN_LEN 4      /* bytes per entry of the length table */
#define BW_SUIT_ALG_SHA256 (-16)
/* bulwark's suit-text extension ($$suit-text-key-extensions, a negative
 * int key in the text map): the SHA-256 of the release's software bill of
 * materials, as a SUIT_Digest ([alg, bstr]). The text member is embedded in
 * the manifest, so the signature covers it (docs/package-format.md). */
#define BW_SUIT_TEXT_SBOM_DIGEST (-257)
/* bulwark's suit-text extension: true when the release only fixes security
 * problems (CRA Annex I Part II (8): security updates apart from feature
 * updates). Absent means false. */
#define BW_SUIT_TEXT_SECURITY_ONLY (-258)

struct bw_suit_bytes {
    const uint8_t *p;
    size_t len;
};

/* Sequences in which a condition or directive appeared (bit per sequence). */
enum bw_suit_seq {
    BW_SUIT_SEQ_SHARED = 1 << 0,
    BW_SUIT_SEQ_VALIDATE = 1 << 1,
    BW_SUIT_SEQ_INSTALL = 1 << 2,
    BW_SUIT_SEQ_INVOKE = 1 << 3,
    BW_SUIT_SEQ_LOAD = 1 << 4,
    BW_SUIT_SEQ_FETCH = 1 << 5
};

struct bw_suit_component {
    struct bw_suit_bytes id[BW_SUIT_MAX_ID_PARTS];
    unsigned id_parts;
    uint8_t vendor_id[BW_SUIT_UUID_LEN];
    uint8_t class_id[BW_SUIT_UUID_LEN];
    uint8_t image_digest[BW_SHA256_LEN];
    uint8_t chunk_list_digest[BW_SHA256_LEN];
    uint64_t image_size;
    uint32_t chunk_size;
    struct bw_suit_bytes uri;
    uint64_t slot;           /* suit-parameter-component-slot */
    uint64_t section_off;    /* bulwark A/B section (BW_SUIT_PARAM_SECTION) */
    uint64_t section_total;
    uint8_t clen_digest[BW_SHA256_LEN]; /* BW_SUIT_PARAM_COMPRESSION: length table's SHA-256 */
    uint8_t compress_alg;               /* BW_SUIT_COMPRESS_* when has_compress */
    unsigned has_vendor : 1, has_class : 1, has_digest : 1, has_size : 1, has_uri : 1,
        has_chunks : 1, has_slot : 1, has_section : 1, has_compress : 1;
    /* The vendor/class values that conditions actually compared (the
     * parameter as it stood when the condition ran), and whether two
     * conditions compared different values. */
    uint8_t checked_vendor[BW_SUIT_UUID_LEN];
    uint8_t checked_class[BW_SUIT_UUID_LEN];
    unsigned vendor_conflict : 1, class_conflict : 1;
    /* where each command appeared, as enum bw_suit_seq bits */
    uint8_t cond_vendor, cond_class, cond_image_match, dir_write, dir_fetch, dir_copy,
        dir_invoke, dir_swap;
};

struct bw_suit {
    struct bw_suit_bytes envelope;     /* the whole envelope item */
    struct bw_suit_bytes manifest;     /* bstr content of suit-manifest */
    struct bw_suit_bytes manifest_bstr; /* the same with its bstr head: what is digested */
    struct bw_suit_bytes auth_digest;  /* bstr content: encoded SUIT_Digest */
    uint8_t manifest_digest[BW_SHA256_LEN];
    struct bw_suit_bytes sigs[BW_SUIT_MAX_SIGNATURES];
    unsigned n_sigs;
    uint64_t version;
    uint64_t sequence;
    struct bw_suit_bytes reference_uri;
    struct bw_suit_component comp[BW_SUIT_MAX_COMPONENTS];
    unsigned n_components;
    /* integrated payloads: envelope members with text keys */
    struct bw_suit_bytes payload_key[BW_SUIT_MAX_PAYLOADS];
    struct bw_suit_bytes payload[BW_SUIT_MAX_PAYLOADS];
    unsigned n_payloads;
    /* the command sequences, kept so bw_suit_select can run them again:
     * shared, validate, load, payload-fetch, install, invoke */
    struct bw_suit_bytes seq[6];
    uint8_t slot;          /* the slot conditions were evaluated for, or BW_SUIT_SLOT_ANY */
    unsigned try_each : 1; /* the manifest holds a try-each: its parameters depend on the slot */
    unsigned slot_cond : 1; /* it holds a component-slot condition */
    uint8_t seqs_present;  /* enum bw_suit_seq bits */
    uint8_t seqs_severed;  /* held as a digest in the manifest, member absent */
    uint8_t sbom_digest[BW_SHA256_LEN]; /* BW_SUIT_TEXT_SBOM_DIGEST, when has_sbom */
    unsigned has_sbom : 1; /* the manifest's text member names an SBOM digest */
    unsigned security_only : 1; /* BW_SUIT_TEXT_SECURITY_ONLY was true */
    unsigned tagged : 1;   /* envelope carried tag 107 */
    unsigned authenticated : 1; /* a signature verified with the given key */
};

/* What a device expects; zero/NULL fields are not checked. */
struct bw_suit_expect {
    const uint8_t *vendor_id; /* 16 bytes */
    const uint8_t *class_id;  /* 16 bytes */
    uint64_t min_sequence;    /* refuse anything lower */
};

/*
 * Parses and authenticates an envelope that fills buf exactly.
 * key: the trusted public key; NULL parses without authenticating (for
 * inspection only; s->authenticated stays 0 and nothing should be trusted).
 * Errors: CBOR decoder errors (BW_E_FORMAT, BW_E_TRUNCATED, BW_E_NONMINIMAL,
 * BW_E_UNSUPPORTED, BW_E_DEPTH, BW_E_TRAILING), BW_E_ALG (not ES256 or not
 * SHA-256), BW_E_DIGEST (manifest or severable member digest), BW_E_BADSIG,
 * BW_E_CRITICAL (unknown element), BW_E_TOOBIG (more components, id parts,
 * signatures or payloads than supported, or an image above 1 TiB),
 * BW_E_UNSUPPORTED (manifest version other than 1, dependencies, abort),
 * BW_E_DEPTH (try-each nested deeper than BW_SUIT_MAX_TRY_DEPTH). The caller
 * owns buf; s points into it. On any error *s is cleared, so nothing of a
 * refused envelope can be used by mistake.
 *
 * try-each: no slot is known here (s->slot is BW_SUIT_SLOT_ANY). Every
 * alternative is run to check it (well-formed, known commands, at most
 * BW_SUIT_MAX_ALTERNATIVES) and none is applied: a component whose image
 * parameters come from a try-each has none until bw_suit_select.
 */
BW_NODISCARD bw_err bw_suit_parse(const uint8_t *buf, size_t len, const struct bw_ec_key *key,
                                  struct bw_suit *s);

/*
 * Runs the manifest's command sequences again for slot `slot` (0 for A,
 * 1 for B): suit-condition-component-slot compares the component-slot
 * parameter with it, and each try-each keeps the first alternative whose
 * conditions hold (draft-ietf-suit-manifest, "A/B Image Template"). The
 * components' parameters are then those of the chosen alternatives; the
 * authentication state stays what bw_suit_parse found. buf (bw_suit_parse's)
 * must be unchanged. Errors: BW_E_NOTFOUND (no alternative of a try-each
 * holds for this slot, or a slot condition outside try-each fails),
 * BW_E_INVAL (slot above 1, or s not parsed), bw_suit_parse's manifest
 * errors. On error *s is cleared. Selecting for a manifest with no
 * try-each only records the slot.
 */
BW_NODISCARD bw_err bw_suit_select(struct bw_suit *s, uint8_t slot);

/* Checks a parsed manifest against what the device expects: BW_E_ROLLBACK,
 * BW_E_VENDOR, BW_E_CLASS (mismatch, or the manifest asserts no such
 * condition for a component), BW_E_STATE if s is not authenticated. */
BW_NODISCARD bw_err bw_suit_check(const struct bw_suit *s, const struct bw_suit_expect *e);

/* Compares a computed image digest and size with component c's
 * image-digest/image-size parameters: BW_E_SIZE, BW_E_DIGEST,
 * BW_E_NOTFOUND when the manifest gives no digest. */
BW_NODISCARD bw_err bw_suit_image_match(const struct bw_suit *s, unsigned c,
                                        const uint8_t digest[BW_SHA256_LEN], uint64_t size);

/* Integrated payload named by component c's uri ("#name"), if any:
 * BW_E_NOTFOUND when the component has no such payload. */
BW_NODISCARD bw_err bw_suit_integrated(const struct bw_suit *s, unsigned c,
                                       struct bw_suit_bytes *out);

/* Chunk list of component c: number of chunks and list length in bytes
 * (32 per chunk). BW_E_NOTFOUND if the component carries no chunk list. */
BW_NODISCARD bw_err bw_suit_chunk_layout(const struct bw_suit *s, unsigned c, uint64_t *n_chunks,
                                         uint64_t *list_len);
/* Checks a chunk list against the signed digest (BW_E_CHUNK). */
BW_NODISCARD bw_err bw_suit_chunk_list_check(const struct bw_suit *s, unsigned c,
                                             const uint8_t *list, size_t list_len);
/* Checks chunk `idx` of data against entry idx of a checked list: BW_E_CHUNK
 * on mismatch, BW_E_SIZE if the chunk length is not what the layout says. */
BW_NODISCARD bw_err bw_suit_chunk_check(const struct bw_suit *s, unsigned c, const uint8_t *list,
                                        uint64_t idx, const uint8_t *data, size_t len);

/* What bw_suit_build writes: one component. */
struct bw_suit_build {
    uint64_t sequence;
    const uint8_t *vendor_id; /* 16 bytes, required */
    const uint8_t *class_id;  /* 16 bytes, required */
    const uint8_t *component_id; /* one id part; NULL means h'00' */
    size_t component_id_len;
    uint8_t image_digest[BW_SHA256_LEN];
    uint64_t image_size;
    const char *uri; /* NULL: none; "#name" refers to an integrated payload */
    int with_chunks;
    uint32_t chunk_size;
    uint8_t chunk_list_digest[BW_SHA256_LEN];
    /* compress: 0, or the BW_SUIT_COMPRESS_* algorithm of the payload
     * (BW_SUIT_PARAM_COMPRESSION); requires with_chunks and one image. */
    int compress;
    uint8_t clen_digest[BW_SHA256_LEN];
    const uint8_t *integrated; /* payload embedded under uri's "#name" */
    size_t integrated_len;
    /* A/B (n_alt 2): one image per slot, chosen on the device by try-each
     * on suit-condition-component-slot (alt[0] for slot A, alt[1] for B);
     * image_digest, image_size and chunk_list_digest above are unused,
     * with_chunks is required, uri and integrated must be NULL. Each
     * alternative names its section of the package (chunk list, then
     * payload) by offset after the envelope; section_total is every byte
     * after the envelope. */
    unsigned n_alt; /* 0: one image; 2: A/B */
    struct bw_suit_build_alt {
        uint8_t image_digest[BW_SHA256_LEN];
        uint64_t image_size;
        uint8_t chunk_list_digest[BW_SHA256_LEN];
        uint64_t section_off;
    } alt[2];
    uint64_t section_total;
    /* sbom_digest: NULL, or the SHA-256 of the release's SBOM, written as
     * BW_SUIT_TEXT_SBOM_DIGEST in a text member embedded in the manifest. */
    const uint8_t *sbom_digest;
    int security_only; /* write BW_SUIT_TEXT_SECURITY_ONLY: true */
};

/* Builds and signs (ES256) a tagged envelope into w (n_alt 2: the A/B
 * template, docs/package-format.md). Use a writer with
 * p == NULL to learn the size first. Errors: BW_E_INVAL, BW_E_KEY,
 * BW_E_CRYPTO, the writer's BW_E_NOMEM. */
BW_NODISCARD bw_err bw_suit_build(struct bw_wr *w, const struct bw_suit_build *b,
                                  const struct bw_ec_key *key);

#endif
