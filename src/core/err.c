/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names and one-line descriptions of bw_err codes. The table is indexed by
 * code; a code with no row (impossible unless the enum and table drift)
 * reports "unknown error".
 */
#include "bulwark/err.h"

struct row {
    const char *name;
    const char *text;
};

static const struct row rows[BW_E__COUNT] = {
    [BW_OK] = {"BW_OK", "success"},
    [BW_E_INVAL] = {"BW_E_INVAL", "invalid argument"},
    [BW_E_NOMEM] = {"BW_E_NOMEM", "out of memory or buffer too small"},
    [BW_E_IO] = {"BW_E_IO", "input/output error"},
    [BW_E_FORMAT] = {"BW_E_FORMAT", "malformed input"},
    [BW_E_TOOBIG] = {"BW_E_TOOBIG", "length exceeds the configured limit"},
    [BW_E_BADSIG] = {"BW_E_BADSIG", "signature does not verify"},
    [BW_E_ROLLBACK] = {"BW_E_ROLLBACK", "sequence number below the accepted minimum (rollback refused)"},
    [BW_E_STATE] = {"BW_E_STATE", "operation not allowed in the current state"},
    [BW_E_TRUNCATED] = {"BW_E_TRUNCATED", "input is truncated"},
    [BW_E_DEPTH] = {"BW_E_DEPTH", "nesting too deep"},
    [BW_E_NONMINIMAL] = {"BW_E_NONMINIMAL", "CBOR value not in shortest (deterministic) form"},
    [BW_E_UNSUPPORTED] = {"BW_E_UNSUPPORTED", "well-formed but unsupported element"},
    [BW_E_ALG] = {"BW_E_ALG", "algorithm not allowed"},
    [BW_E_DIGEST] = {"BW_E_DIGEST", "digest mismatch"},
    [BW_E_CRITICAL] = {"BW_E_CRITICAL", "unknown critical element"},
    [BW_E_VENDOR] = {"BW_E_VENDOR", "vendor identifier does not match"},
    [BW_E_CLASS] = {"BW_E_CLASS", "class identifier does not match"},
    [BW_E_SIZE] = {"BW_E_SIZE", "image size does not match the manifest"},
    [BW_E_CHUNK] = {"BW_E_CHUNK", "payload chunk does not match the signed chunk list"},
    [BW_E_CRYPTO] = {"BW_E_CRYPTO", "cryptographic backend failure"},
    [BW_E_KEY] = {"BW_E_KEY", "unusable key"},
    [BW_E_TRAILING] = {"BW_E_TRAILING", "unexpected trailing data"},
    [BW_E_NOTFOUND] = {"BW_E_NOTFOUND", "element not found"},
    [BW_E_AUTH] = {"BW_E_AUTH", "authentication tag does not verify"},
    [BW_E_DENIED] = {"BW_E_DENIED", "the key backend refuses this operation"},
    [BW_E_EXPIRED] = {"BW_E_EXPIRED", "outside the validity period"},
    [BW_E_REPLAY] = {"BW_E_REPLAY", "one-time value already seen"},
    [BW_E_LOCKED] = {"BW_E_LOCKED", "locked after repeated failures; wait and retry"},
    [BW_E_EXISTS] = {"BW_E_EXISTS", "already exists"},
    [BW_E_CLAIM] = {"BW_E_CLAIM", "token claim does not fit"},
    [BW_E_BACKEND] = {"BW_E_BACKEND", "key backend or its service failed"},
    [BW_E_TAMPER] = {"BW_E_TAMPER", "stored record or hash chain was altered"},
    [BW_E_QUOTA] = {"BW_E_QUOTA", "quota of this client used up; retry later"},
};

const char *bw_strerror(bw_err e)
{
    if ((unsigned)e >= BW_E__COUNT || !rows[e].text)
        return "unknown error";
    return rows[e].text;
}

const char *bw_errname(bw_err e)
{
    if ((unsigned)e >= BW_E__COUNT || !rows[e].name)
        return "BW_E_UNKNOWN";
    return rows[e].name;
}
