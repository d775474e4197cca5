/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark error codes: one enum for the whole library, its tools and daemons.
 * Codes are only ever appended; their numeric values are part of the ABI and
 * of the CLI's documented exit statuses (docs/cli.md).
 */
#ifndef BULWARK_ERR_H
#define BULWARK_ERR_H

#if defined(__GNUC__) || defined(__clang__)
#define BW_NODISCARD __attribute__((warn_unused_result))
#else
#define BW_NODISCARD
#endif

typedef enum {
    BW_OK = 0,
    BW_E_INVAL,       /* a caller passed an argument that cannot be right */
    BW_E_NOMEM,       /* an allocation or a caller-supplied buffer was too small */
    BW_E_IO,          /* reading or writing failed */
    BW_E_FORMAT,      /* malformed input: not the encoding that was promised */
    BW_E_TOOBIG,      /* a length exceeds a configured cap */
    BW_E_BADSIG,      /* a signature did not verify */
    BW_E_ROLLBACK,    /* sequence number below the accepted floor */
    BW_E_STATE,       /* operation not allowed in the current state */
    BW_E_TRUNCATED,   /* input ended before the encoding did */
    BW_E_DEPTH,       /* nesting deeper than the decoder's limit */
    BW_E_NONMINIMAL,  /* CBOR integer or length not in its shortest form */
    BW_E_UNSUPPORTED, /* well formed, but outside what bulwark implements */
    BW_E_ALG,         /* algorithm not the one configured */
    BW_E_DIGEST,      /* a digest did not match its content */
    BW_E_CRITICAL,    /* an unknown element that must be understood */
    BW_E_VENDOR,      /* vendor identifier does not match this device */
    BW_E_CLASS,       /* class identifier does not match this device */
    BW_E_SIZE,        /* image size does not match the manifest */
    BW_E_CHUNK,       /* a payload chunk does not match the signed chunk list */
    BW_E_CRYPTO,      /* the crypto backend failed internally */
    BW_E_KEY,         /* a key could not be parsed or is of the wrong type */
    BW_E_TRAILING,    /* bytes follow where the encoding should end */
    BW_E_NOTFOUND,    /* a requested element is absent */
    BW_E_AUTH,        /* an authentication tag (AEAD) did not verify */
    BW_E_DENIED,      /* the backend holding a key refuses this operation */
    BW_E_EXPIRED,     /* outside a validity period (expired or not yet valid) */
    BW_E_REPLAY,      /* a one-time value was seen before */
    BW_E_LOCKED,      /* too many failed attempts: wait, then retry */
    BW_E_EXISTS,      /* the thing to create exists already */
    BW_E_CLAIM,       /* a token claim (audience, issuer, type) does not fit */
    BW_E_BACKEND,     /* a key backend or its service (TPM, PKCS#11) failed */
    BW_E_TAMPER,      /* a hash chain or record does not match what was stored */
    BW_E_QUOTA,       /* one client's share of a shared resource is used up: retry later */
    BW_E__COUNT
} bw_err;

/* A static, one-line English description of @e; never NULL. Thread-safe. */
const char *bw_strerror(bw_err e);

/* A short stable identifier such as "BW_E_BADSIG", for --json output. */
const char *bw_errname(bw_err e);

#endif
