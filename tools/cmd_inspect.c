/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark inspect: decode an envelope (and package framing) for people and
 * scripts. Without --pub nothing here is authenticated: the output says so.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char *seq_names[] = {"shared", "validate", "install", "invoke", "load", "payload-fetch"};

static void seq_list_json(FILE *f, uint8_t bits)
{
    int i, first = 1;

    fputc('[', f);
    for (i = 0; i < 6; i++)
        if (bits & (1u << i)) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", seq_names[i]);
            first = 0;
        }
    fputc(']', f);
}

static void seq_list_text(FILE *f, uint8_t bits)
{
    int i, first = 1;

    for (i = 0; i < 6; i++)
        if (bits & (1u << i)) {
            fprintf(f, "%s%s", first ? "" : ",", seq_names[i]);
            first = 0;
        }
    if (first)
        fputs("-", f);
}

static void component_json(const struct bw_suit_component *k)
{
    unsigned j;
    char u[37];

    printf("{\"id\":[");
    for (j = 0; j < k->id_parts; j++) {
        printf("%s", j ? "," : "");
        bwh_json_hex(stdout, k->id[j].p, k->id[j].len);
    }
    printf("]");
    if (k->has_vendor) {
        bwh_uuid_format(u, k->cond_vendor ? k->checked_vendor : k->vendor_id);
        printf(",\"vendor_id\":\"%s\"", u);
    }
    if (k->has_class) {
        bwh_uuid_format(u, k->cond_class ? k->checked_class : k->class_id);
        printf(",\"class_id\":\"%s\"", u);
    }
    if (k->has_size)
        printf(",\"image_size\":%" PRIu64, k->image_size);
    if (k->has_digest) {
        printf(",\"image_digest\":");
        bwh_json_hex(stdout, k->image_digest, BW_SHA256_LEN);
    }
    if (k->has_uri) {
        printf(",\"uri\":");
        bwh_json_str(stdout, (const char *)k->uri.p, k->uri.len);
    }
    if (k->has_chunks) {
        printf(",\"chunk_size\":%" PRIu32 ",\"chunk_list_digest\":", k->chunk_size);
        bwh_json_hex(stdout, k->chunk_list_digest, BW_SHA256_LEN);
    }
    if (k->has_compress) {
        printf(",\"compression\":{\"algorithm\":\"zstd\",\"form\":\"%s\",\"length_table_digest\":",
               k->compress_alg == BW_SUIT_COMPRESS_ZSTD_STREAM ? "stream" : "frames");
        bwh_json_hex(stdout, k->clen_digest, BW_SHA256_LEN);
        printf("}");
    }
    if (k->has_section)
        printf(",\"section\":{\"offset\":%" PRIu64 ",\"total\":%" PRIu64 "}", k->section_off,
               k->section_total);
    printf(",\"conditions\":{\"vendor\":");
    seq_list_json(stdout, k->cond_vendor);
    printf(",\"class\":");
    seq_list_json(stdout, k->cond_class);
    printf(",\"image_match\":");
    seq_list_json(stdout, k->cond_image_match);
    printf("}}");
}

static void print_json(const struct bw_suit *s, const char *path, int have_key)
{
    unsigned c;

    printf("{\"file\":");
    bwh_json_str(stdout, path, strlen(path));
    printf(",\"envelope_size\":%zu,\"tagged\":%s,\"manifest_version\":%" PRIu64
           ",\"sequence\":%" PRIu64 ",\"signed\":%s,\"signatures\":%u,\"authenticated\":%s",
           s->envelope.len, s->tagged ? "true" : "false", s->version, s->sequence,
           s->n_sigs ? "true" : "false", s->n_sigs,
           have_key ? (s->authenticated ? "true" : "false") : "null");
    printf(",\"manifest_digest\":");
    bwh_json_hex(stdout, s->manifest_digest, BW_SHA256_LEN);
    if (s->reference_uri.p) {
        printf(",\"reference_uri\":");
        bwh_json_str(stdout, (const char *)s->reference_uri.p, s->reference_uri.len);
    }
    if (s->has_sbom) {
        printf(",\"sbom_sha256\":");
        bwh_json_hex(stdout, s->sbom_digest, BW_SHA256_LEN);
    }
    printf(",\"security_only\":%s", s->security_only ? "true" : "false");
    printf(",\"sequences\":");
    seq_list_json(stdout, s->seqs_present);
    printf(",\"severed\":");
    seq_list_json(stdout, s->seqs_severed);
    printf(",\"components\":[");
    for (c = 0; c < s->n_components; c++) {
        printf("%s", c ? "," : "");
        component_json(&s->comp[c]);
    }
    if (s->try_each || s->slot_cond) {
        /* component 0 as each slot's alternative sets it */
        printf("],\"try_each\":true,\"slots\":[");
        for (c = 0; c < 2; c++) {
            struct bw_suit one = *s;

            printf("%s", c ? "," : "");
            if (bw_suit_select(&one, (uint8_t)c) == BW_OK)
                component_json(&one.comp[0]);
            else
                printf("null");
        }
    }
    printf("],\"integrated_payloads\":[");
    for (c = 0; c < s->n_payloads; c++) {
        printf("%s{\"name\":", c ? "," : "");
        bwh_json_str(stdout, (const char *)s->payload_key[c].p, s->payload_key[c].len);
        printf(",\"size\":%zu}", s->payload[c].len);
    }
    printf("]}\n");
}

/* Text from an unauthenticated envelope: printable ASCII as is, anything
 * else (control bytes, escape sequences, non-ASCII) as \xNN. */
static void print_safe(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            putchar(p[i]);
        else
            printf("\\x%02x", p[i]);
    }
}

static void component_text(const struct bw_suit_component *k)
{
    char hex[65], u[37];

    if (k->has_vendor) {
        bwh_uuid_format(u, k->cond_vendor ? k->checked_vendor : k->vendor_id);
        printf("    vendor-id        %s%s\n", u,
               !k->cond_vendor ? " (not checked)" : k->vendor_conflict ? " (CONFLICTING checks)" : "");
    }
    if (k->has_class) {
        bwh_uuid_format(u, k->cond_class ? k->checked_class : k->class_id);
        printf("    class-id         %s%s\n", u,
               !k->cond_class ? " (not checked)" : k->class_conflict ? " (CONFLICTING checks)" : "");
    }
    if (k->has_size)
        printf("    image size       %" PRIu64 " bytes\n", k->image_size);
    if (k->has_digest) {
        bw_hex(hex, k->image_digest, BW_SHA256_LEN);
        printf("    image digest     sha256:%s\n", hex);
    }
    if (k->has_uri) {
        printf("    uri              ");
        print_safe(k->uri.p, k->uri.len);
        printf("\n");
    }
    if (k->has_chunks)
        printf("    chunk list       %" PRIu64 " chunks of %" PRIu32 " bytes\n",
               (k->image_size + k->chunk_size - 1) / k->chunk_size, k->chunk_size);
    if (k->has_compress)
        printf("    compression      zstd, %s (length table signed)\n",
               k->compress_alg == BW_SUIT_COMPRESS_ZSTD_STREAM ? "one stream flushed at each chunk"
                                                               : "one frame per chunk");
    if (k->has_section)
        printf("    package section  at %" PRIu64 " of %" PRIu64 " bytes after the envelope\n",
               k->section_off, k->section_total);
}

static void print_text(const struct bw_suit *s, const char *path, int have_key)
{
    unsigned c;
    char hex[65];

    printf("%s: SUIT envelope, %zu bytes%s\n", path, s->envelope.len,
           s->tagged ? " (tag 107)" : "");
    printf("  manifest version   %" PRIu64 "\n  sequence number    %" PRIu64 "\n", s->version,
           s->sequence);
    bw_hex(hex, s->manifest_digest, BW_SHA256_LEN);
    printf("  manifest digest    %s\n", hex);
    if (s->has_sbom) {
        bw_hex(hex, s->sbom_digest, BW_SHA256_LEN);
        printf("  SBOM sha256        %s\n", hex);
    }
    if (s->security_only)
        printf("  security only      yes (no feature changes)\n");
    printf("  signatures         %u (%s)\n", s->n_sigs,
           !have_key ? "not checked: no --pub"
                     : s->authenticated ? "verified with the given key" : "NOT verified");
    printf("  sequences          ");
    seq_list_text(stdout, s->seqs_present);
    printf("\n");
    if (s->seqs_severed) {
        printf("  severed            ");
        seq_list_text(stdout, s->seqs_severed);
        printf("\n");
    }
    for (c = 0; c < s->n_components; c++) {
        printf("  component %u\n", c);
        component_text(&s->comp[c]);
    }
    if (s->try_each || s->slot_cond) {
        printf("  try-each           the image depends on the slot it is installed into\n");
        for (c = 0; c < 2; c++) {
            struct bw_suit one = *s;
            bw_err rc = bw_suit_select(&one, (uint8_t)c);

            printf("  slot %c, component 0%s%s\n", 'a' + c, rc ? ": no alternative, " : "",
                   rc ? bw_errname(rc) : "");
            if (!rc)
                component_text(&one.comp[0]);
        }
    }
    for (c = 0; c < s->n_payloads; c++) {
        printf("  integrated payload \"");
        print_safe(s->payload_key[c].p, s->payload_key[c].len);
        printf("\", %zu bytes\n", s->payload[c].len);
    }
}

int cmd_inspect(struct cli_args *a)
{
    const char *path = a->pos[0], *pubf = cli_get(a, "pub");
    struct bw_ec_key key;
    struct bwh_pkg p;
    int status = 0;
    bw_err rc;

    bw_ec_key_init(&key);
    errno = 0;
    if (pubf && (rc = bwh_load_key(pubf, 0, &key)))
        return cli_fail(a, pubf, rc);
    errno = 0;
    rc = bwh_pkg_open(&p, path, pubf ? &key : NULL, BW_SUIT_ENVELOPE_MAX);
    if (rc) {
        status = cli_fail(a, path, rc);
        goto out;
    }
    if (cli_flag(a, "json"))
        print_json(&p.suit, path, pubf != NULL);
    else
        print_text(&p.suit, path, pubf != NULL);
out:
    bwh_pkg_close(&p);
    bw_ec_key_clear(&key);
    return status;
}
