/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers of untrusted request bodies, apart from the handlers so that
 * each has a fuzz target (fuzz/fuzz_gw_*.c). Each returns BW_OK with out
 * filled, or BW_E_FORMAT (not the promised JSON shape), BW_E_TOOBIG (a
 * field over its cap) or BW_E_INVAL (a value out of range), and a short
 * reason in *why (static text) for the 4xx answer.
 */
#ifndef BULWARK_GATEWAY_PARSE_H
#define BULWARK_GATEWAY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"

/* A JSON object of device attributes (names of 1..64 bytes, string values)
 * as canonical text (sorted keys) of at most GW_ATTRS_MAX bytes. */
/* 1 if s is exactly n lowercase hex digits (then its end), 0 otherwise:
 * the one check for digests, fingerprints and keys the gateway stores in
 * hex. Reads no further than the first character that is not one. */
int gw_is_hex(const char *s, size_t n);

BW_NODISCARD bw_err gw_attrs_text(json_t *obj, char out[GW_ATTRS_MAX + 1], const char **why);

/* POST /api/v1/device/checkin: {"version":S,"sequence":N,"attributes":{S:S}} */
struct gw_checkin {
    char version[GW_ID_MAX + 1];
    int64_t sequence;          /* -1 when absent */
    int has_attrs;
    char attrs[GW_ATTRS_MAX + 1]; /* canonical JSON (sorted keys) */
};
BW_NODISCARD bw_err gw_parse_checkin(const uint8_t *b, size_t n, struct gw_checkin *out,
                                     const char **why);

/* POST /api/v1/device/actions/ID/report: {"state":"running|success|failure","feedback":S} */
struct gw_report {
    enum gw_action_state state;
    char feedback[GW_FEEDBACK_MAX + 1];
};
BW_NODISCARD bw_err gw_parse_report(const uint8_t *b, size_t n, struct gw_report *out,
                                    const char **why);

/* One line of `bulwark provision`'s registry file. */
BW_NODISCARD bw_err gw_parse_provision_record(const char *line, size_t n, struct gw_device *out,
                                              const char **why);

/* POST /api/v1/campaigns */
BW_NODISCARD bw_err gw_parse_campaign(const uint8_t *b, size_t n, struct gw_campaign *out,
                                      const char **why);

#endif
