#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hostile-load suite on one registry backend (tests/hostile/README.md):
# sets up a gateway under a 1024-fd limit with 200 provisioned devices (and
# one more that will misbehave), then hands it to hostile.py, which runs
# the fleet, the attackers, the measurements and the assertions. The
# gateway and everything else run on loopback in a temp dir, removed at
# the end.
# Usage: hostile.sh BULWARK BULWARK-GATEWAY GWLOAD HOSTILE RESULTS-DIR [DB-URL]
# (DB-URL: PostgreSQL, through tests/contract/registry_pg.sh; else SQLite)
# BW_HOSTILE_ONLY=attack[,attack...] runs only those attackers (README).
set -u
. "$(dirname "$0")/../integ/gwlib.sh"
B=$(realpath "$1"); GWBIN=$(realpath "$2"); LOAD=$(realpath "$3"); HOST=$(realpath "$4")
RES=$(realpath "$5"); DB=${6:-}
HERE=$(cd "$(dirname "$0")" && pwd)
N=200
BACKEND=sqlite; [ -n "$DB" ] && BACKEND=pg
T=$(mktemp -d)
GPID=''
cleanup() {
  [ -n "$GPID" ] && kill "$GPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
die() { echo "FAIL: $*" >&2; [ -f gw.err ] && tail -n 20 gw.err >&2; exit 1; }
AUD=https://gateway.test
t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# the attackers' source addresses must be usable (Linux routes all of 127/8 to lo)
for a in 2 9; do
  python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.$a', 0))" 2>/dev/null ||
    die "cannot bind 127.0.0.$a: the suite needs 127.0.0.2-9 on the loopback interface"
done

# --- server certificate, devices, operators ------------------------------------------
gw_server_cert
"$B" provision --ca-dir factory --count $N --out devs --argon2 1,1024,1 >/dev/null 2>prov.err ||
  die "provision: $(cat prov.err)"
# the device that mints tokens without end: same CA, its own directory
"$B" provision --ca-dir factory --count 1 --id-prefix dev-greedy- --out greedy \
  --argon2 1,1024,1 >/dev/null 2>prov.err || die "provision greedy: $(cat prov.err)"
"$B" keygen --out rel.key --pub rel.pub >/dev/null || die "keygen"
gw_operators admin viewer

# The 1024-fd limit applies to the gateway alone: gw_start runs this
# wrapper, whose exec makes GPID the gateway's pid.
printf '#!/bin/sh\nulimit -n 1024 && exec "%s" "$@"\n' "$GWBIN" > gw1024 && chmod +x gw1024
# shellcheck disable=SC2034 # read by gw_start
GW=$T/gw1024 GW_DB=${DB:-} GW_THREADS=4
# Small deadlines so that the suite recovers in seconds; max_anonymous
# low enough that the attackers reach it; a small replay table and
# pending cap so that exhausting them is quick.
gw_start "$T/factory/ca.crt" "token_audience = $AUD" "header_timeout = 2" "timeout = 5" \
  "max_anonymous = 256" "max_per_address = 64" "token_replay_slots = 4096" \
  "token_device_quota = 32" "pending_max = 100"

split -l 40 factory/registry.jsonl import. # each part under the default max_body
for f in import.*; do
  [ "$(op "$TOK_admin" --data-binary @$f $U/api/v1/devices/import)" = 200 ] ||
    die "import: $(cat body.txt)"
done
[ "$(op "$TOK_admin" "$U/api/v1/devices?limit=1000")" = 200 ] &&
  [ "$(grep -o '"id":' body.txt | wc -l)" = $((N + 1)) ] || die "not all $((N + 1)) devices imported"
echo "setup: $(since "$t0") s"

python3 "$HERE/hostile.py" --backend $BACKEND --gateway-pid $GPID --port $P --dir "$T" \
  --gwload "$LOAD" --hostile "$HOST" --aud $AUD --viewer "$TOK_viewer" \
  --results "$RES/hostile-$BACKEND.json" --only "${BW_HOSTILE_ONLY:-}"
rc=$?
kill -0 $GPID 2>/dev/null || { echo "FAIL: the gateway is gone"; tail -n 20 gw.err; rc=1; }
kill -TERM $GPID; wait $GPID; GPID=
[ $rc = 0 ] || { echo "--- gateway stderr (last lines)"; tail -n 20 gw.err; }
echo "hostile ($BACKEND): total $(since "$t0") s"
exit $rc
