#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The registry contract on a real, private PostgreSQL server: initdb into a
# temp dir, a postmaster listening only on a unix socket in that dir (no
# TCP), one database, the contract, then pg_ctl stop and the dir removed.
# As root the server runs as an unprivileged user (initdb refuses root):
# BW_PG_USER, default nobody. Usage: registry_pg.sh COMMAND [ARGS...]
# runs COMMAND ARGS... DATABASE-URL (the contract, or the gateway test).
set -u

TEST=${1:?usage: registry_pg.sh COMMAND [ARGS...]}
shift
RUNAS=${BW_PG_USER:-nobody}
T= PGPID=

say() { printf '%s\n' "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

[ -x "$TEST" ] || die "$TEST is not an executable"
PGBIN=
for d in /usr/lib/postgresql/*/bin; do # the newest installed server
    [ -x "$d/initdb" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || PGBIN=$(dirname "$(command -v initdb 2>/dev/null || echo /x/x)")
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
    die "PostgreSQL server binaries not found (apt-get install postgresql)"
command -v createdb >/dev/null 2>&1 || [ -x "$PGBIN/createdb" ] || die "createdb not found"

AS= # command prefix that runs the server's tools as $RUNAS (word-split on purpose)
if [ "$(id -u)" -eq 0 ]; then
    id "$RUNAS" >/dev/null 2>&1 || die "user $RUNAS does not exist (set BW_PG_USER)"
    AS="runuser -u $RUNAS --"
fi

cleanup() {
    if [ -n "$T" ] && [ -f "$T/data/postmaster.pid" ]; then
        $AS "$PGBIN/pg_ctl" -D "$T/data" -m fast -w -t 20 stop >/dev/null 2>&1
        PGPID=$(head -n 1 "$T/data/postmaster.pid" 2>/dev/null)
        if [ -n "$PGPID" ] && kill -0 "$PGPID" 2>/dev/null; then # stop did not stop it
            kill -9 "$PGPID" 2>/dev/null
        fi
    fi
    [ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# /tmp rather than $TMPDIR: the server's user must reach the dir, and the
# socket path must stay under 107 bytes
T=$(mktemp -d /tmp/bw-pg.XXXXXX) || die "mktemp"
chmod 755 "$T"
mkdir "$T/data" "$T/sock" "$T/log"
if [ "$(id -u)" -eq 0 ]; then
    chown "$RUNAS" "$T/data" "$T/sock" "$T/log" || die "chown to $RUNAS"
fi
chmod 700 "$T/data"

run() { timeout 120 "$@"; }
start=$(date +%s)
run $AS "$PGBIN/initdb" -D "$T/data" -U bw --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$T/initdb.log" 2>&1 || { cat "$T/initdb.log" >&2; die "initdb"; }
# no TCP at all; the socket lives in the private dir
run $AS "$PGBIN/pg_ctl" -D "$T/data" -l "$T/log/server.log" -w -t 30 \
    -o "-k $T/sock -c listen_addresses='' -p 5432" start >/dev/null ||
    { cat "$T/log/server.log" >&2; die "pg_ctl start"; }
PGPID=$(head -n 1 "$T/data/postmaster.pid")
say "postgres pid $PGPID on $T/sock"
CREATEDB=createdb
[ -x "$PGBIN/createdb" ] && CREATEDB=$PGBIN/createdb
run "$CREATEDB" -h "$T/sock" -p 5432 -U bw bwtest || die "createdb"
# a second, empty database for the contract's upgrade test
run "$CREATEDB" -h "$T/sock" -p 5432 -U bw bwempty || die "createdb bwempty"
export BW_REGISTRY_EMPTY_URL="postgresql://bw@/bwempty?host=$T/sock&port=5432"

rc=0
timeout "${BW_PG_TEST_TIMEOUT:-240}" "$TEST" "$@" "postgresql://bw@/bwtest?host=$T/sock&port=5432" || rc=$?
[ $rc -eq 124 ] && say "FAIL: $TEST killed after ${BW_PG_TEST_TIMEOUT:-240} s" >&2
[ $rc -ne 0 ] && rc=1
if [ $rc -ne 0 ]; then
    say "--- server log" >&2
    tail -n 40 "$T/log/server.log" >&2
fi
say "registry_pg: $(($(date +%s) - start)) s"
exit $rc
