/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bulwark-gateway: the fleet daemon. Reads gateway.conf, opens the
 * registry, serves the device and operator APIs over HTTPS with client
 * certificates until SIGTERM or SIGINT, then stops accepting, lets
 * requests in flight finish and closes the registry.
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bwh/host.h"
#include "bwh/identity.h"
#include "delta_build.h"
#include "gw.h"
#include "http.h"

static volatile sig_atomic_t stop, hup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        hup = 1;
    else
        stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bulwark-gateway --config GATEWAY.conf [--check-config]\n"
            "       bulwark-gateway --sample-config\n\n"
            "Serves the bulwark device API and the operator API over HTTPS (TLS 1.2/1.3,\n"
            "device client certificates checked against client_ca), with the registry in\n"
            "SQLite or PostgreSQL. SIGTERM stops it gracefully; SIGHUP reads the server\n"
            "certificate and key, client_ca/client_crl and operator_tokens again (fail\n"
            "closed: see docs/gateway.md, \"Deployment and limits\").\n\n"
            "  --config FILE      the configuration (see --sample-config)\n"
            "  --check-config     load and check the configuration and its files, then exit\n"
            "  --sample-config    print a commented configuration with every option\n"
            "  --port-file FILE   write the bound port there once listening (for tests)\n");
}

/* Which module holds each online key (docs/fips.md): named at start so the
 * log says where the gateway's signing keys live; in approved mode a key
 * outside a module is flagged. */
static void log_key_modules(const struct gw_conf *c)
{
    const struct {
        const char *name, *spec;
    } keys[] = {{"tuf_snapshot_key", c->tuf_snapshot_key},
                {"tuf_timestamp_key", c->tuf_timestamp_key},
                {"crl_key", c->crl_key}};
    int approved = !strcmp(c->crypto_mode, "approved");
    char where[600];
    size_t i;
    int r;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!keys[i].spec[0])
            continue;
        r = bwh_key_module(keys[i].spec, where, sizeof(where));
        fprintf(stderr, "bulwark-gateway: %s: %s%s\n", keys[i].name, where,
                approved && r != 1 ? " (NOT in a module: approved mode wants it in one)" : "");
    }
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL, *port_file = NULL;
    struct gw_server *srv = NULL;
    struct sigaction sa;
    sigset_t block, old;
    struct gw_conf conf;
    int check = 0, i;
    bw_err rc;

    /* a delta build the gateway started (delta_build.c): not for operators */
    if (argc >= 2 && !strcmp(argv[1], "--build-delta"))
        return gw_dbuild_child(argc - 2, argv + 2);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            conf_path = argv[++i];
        } else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) {
            port_file = argv[++i];
        } else if (!strcmp(argv[i], "--check-config")) {
            check = 1;
        } else if (!strcmp(argv[i], "--sample-config")) {
            gw_conf_sample(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bulwark-gateway: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!conf_path) {
        usage(stderr);
        return 2;
    }
    /* the registry, the access log and uploads are the gateway's own:
     * their modes do not depend on the umask it was started with */
    umask(077);
    rc = gw_conf_load(&conf, conf_path);
    if (rc)
        return 10 + (int)rc;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    if (check) /* everything but the real port: files, TLS setup, registry */
        snprintf(conf.listen, sizeof(conf.listen), "127.0.0.1:0");
    /* the three signals are blocked in every thread (the server's threads
     * inherit the mask) and taken only in sigsuspend below, so none can
     * land between the check of a flag and the wait */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* the JSON library's allocations (request bodies parsed, answers
     * written) go through the capped allocator too */
    json_set_alloc_funcs(bwh_malloc, bwh_free);
    rc = gw_server_start(&srv, &conf);
    if (rc)
        return 10 + (int)rc;
    if (check) {
        gw_server_stop(srv);
        printf("%s: configuration OK\n", conf_path);
        return 0;
    }
    rc = gw_server_background(srv);
    if (rc) {
        gw_server_stop(srv);
        return 10 + (int)rc;
    }
    if (port_file) {
        FILE *f = fopen(port_file, "w");

        if (f) {
            fprintf(f, "%u\n", gw_server_port(srv));
            fclose(f);
        }
    }
    fprintf(stderr, "bulwark-gateway: listening on %s (port %u), registry %s\n", conf.listen,
            gw_server_port(srv), conf.database);
    log_key_modules(&conf);
    while (!stop) {
        sigsuspend(&old);
        if (hup && !stop) {
            hup = 0;
            fprintf(stderr, "bulwark-gateway: SIGHUP: reloading\n");
            if (gw_server_reload(srv) == BW_OK)
                fprintf(stderr, "bulwark-gateway: reloaded\n");
        }
    }
    fprintf(stderr, "bulwark-gateway: stopping\n");
    gw_server_stop(srv);
    return 0;
}
