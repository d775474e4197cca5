#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# crypto_mode = approved next to default mode, in the same run (issue 21):
#  - bulwark verify and bulwark install of one signed package (SIZE_MIB),
#    the CLI in each mode (BULWARK_CRYPTO_MODE), alternating, N runs each,
#    median wall time; install into a fresh device each run (device init
#    untimed), files on tmpfs;
#  - gateway polls: one bulwark-gateway per mode (crypto_mode in
#    gateway.conf) on the same registry and certificates, bench_gwpoll with
#    keep-alive TLS and device tokens, ROUNDS alternating runs, median
#    polls/s and p99 latency; the negotiated cipher is printed.
# The FIPS provider is the one scripts/fips-provider.sh builds into
# BUILD_DIR/fips. Writes bench/results-fips-latest.md (and prints it).
# Usage: bench/fips.sh [BUILD_DIR]
# Environment: SIZE_MIB (64) N (5) DEVICES (200) THREADS (2) CONNS (8)
# REQS (300 per connection and run) ROUNDS (3)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
B=$BUILD/bulwark GW=$BUILD/bulwark-gateway LOAD=$BUILD/bench/bench_gwpoll
SIZE_MIB=${SIZE_MIB:-64} N=${N:-5} DEVICES=${DEVICES:-200} THREADS=${THREADS:-2}
CONNS=${CONNS:-8} REQS=${REQS:-300} ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$ROOT/bench/results-fips-latest.md}
for x in "$B" "$GW" "$LOAD"; do [ -x "$x" ] || { echo "fips.sh: $x missing (build first)" >&2; exit 1; }; done
FD=$BUILD/fips
"$ROOT/scripts/fips-provider.sh" "$FD" >/dev/null || { echo "fips.sh: no FIPS provider" >&2; exit 1; }
export BULWARK_FIPS_CONF=$FD/openssl-fips.cnf
T=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
GPID= PIDS=
stop() { [ -n "$GPID" ] && { kill -TERM "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null; }; GPID=; }
trap 'stop; rm -rf "$T"' EXIT
cd "$T" || exit 1
die() { echo "fips.sh: $*" >&2; tail -n 5 gw.err 2>/dev/null >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.bench
# mode M: the CLI's environment for mode M
mode() { if [ "$1" = approved ]; then echo BULWARK_CRYPTO_MODE=approved; else echo BULWARK_CRYPTO_MODE=; fi; }

# --- verify and install ----------------------------------------------------------
"$B" keygen --out rel.key --pub rel.pub >/dev/null || die keygen
head -c $((SIZE_MIB * 1048576)) /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw.bwp fw.img >/dev/null || die sign
rm -f fw.img
: > times.txt
for i in $(seq "$N"); do
  for m in default approved; do
    t0=$(now); env $(mode $m) "$B" verify --pub rel.pub fw.bwp >/dev/null 2>err.txt || die "verify $m: $(cat err.txt)"
    echo "verify $m $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" >> times.txt
    rm -rf dev
    "$B" device init --dir dev --slot-size $(((SIZE_MIB + 1) * 1048576)) --pub rel.pub --vendor-id $V \
      --class-id $C >/dev/null || die "device init"
    sync
    t0=$(now); env $(mode $m) "$B" install --config dev/device.conf fw.bwp >/dev/null 2>err.txt ||
      die "install $m: $(cat err.txt)"
    echo "install $m $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" >> times.txt
  done
  log "verify/install round $i of $N"
done
rm -rf dev fw.bwp
med() { awk -v k="$1" -v m="$2" '$1 == k && $2 == m { print $3 }' times.txt | median | awk '{ printf "%.3f", $1 }'; }

# --- gateway polls ---------------------------------------------------------------
# the tests' gateway steps: server certificate (gw_server_cert) and gw.conf
# plus start (gw_start, which writes crypto_mode from BULWARK_CRYPTO_MODE)
. "$ROOT/tests/integ/gwlib.sh"
gw_server_cert
"$B" provision --ca-dir factory --count "$DEVICES" --out devs --argon2 1,8,1 >/dev/null 2>prov.err ||
  die "provision: $(tail -n 3 prov.err)"
ADMIN=$(openssl rand -hex 24)
echo "admin op-admin $(printf %s "$ADMIN" | sha256sum | cut -c1-64)" > operators
start() { # start MODE: the gateway on the shared registry, in MODE
  local m=; [ "$1" = approved ] && m=approved
  P=
  GW_THREADS=$THREADS BULWARK_CRYPTO_MODE=$m gw_start "$T/factory/ca.crt" \
    "token_audience = $AUD" "max_per_address = 1000" "token_device_quota = 65536"
  GPORT=$P
}
start default
split -l 40 factory/registry.jsonl import. # each part under the default max_body
for f in import.*; do
  [ "$(curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt -H "Authorization: Bearer $ADMIN" \
    --data-binary @"$f" "https://127.0.0.1:$GPORT/api/v1/devices/import")" = 200 ] ||
    die "import: $(cat body.txt)"
done
stop
L=(--cacert srvca.crt --devices devs --aud "$AUD" --threads "$THREADS")
: > results.txt
for r in $(seq "$ROUNDS"); do
  for m in default approved; do
    start $m
    "$LOAD" "${L[@]}" --port "$GPORT" --conns 2 --requests 5 --label warm >/dev/null 2>&1 || die "warm-up $m"
    "$LOAD" "${L[@]}" --port "$GPORT" --conns "$CONNS" --requests "$REQS" --pids "$GPID" --label "$m" \
      > run.out 2>run.err || { cat run.out run.err >&2; die "run $m"; }
    grep '^result ' run.out >> results.txt
    stop
  done
  log "gateway round $r of $ROUNDS"
done
field() { sed -n "s/^result label=$1 .*[ ]$2=\([^ ]*\).*/\1/p" results.txt; }
cipher() { field "$1" cipher | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

vd=$(med verify default) va=$(med verify approved) id=$(med install default) ia=$(med install approved)
pd=$(field default rps | median) pa=$(field approved rps | median)
ld=$(field default p99_ms | median) la=$(field approved p99_ms | median)
mbps() { awk -v s="$SIZE_MIB" -v t="$1" 'BEGIN { printf "%.0f", (t > 0 ? s / t : 0) }'; }
mod=$(cat "$FD/VERSION")
{
  echo "# crypto_mode = approved against default mode"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)),"
  echo "OpenSSL $(openssl version | cut -d' ' -f2) default provider against the OpenSSL FIPS provider $mod"
  echo "built by scripts/fips-provider.sh; bench/fips.sh, same run, modes alternating."
  echo
  echo "| measurement | default | approved | approved / default |"
  echo "|---|---|---|---|"
  echo "| bulwark verify, ${SIZE_MIB} MiB package (s, median of $N) | $vd ($(mbps "$vd") MiB/s) | $va ($(mbps "$va") MiB/s) | $(ratio "$va" "$vd")x time |"
  echo "| bulwark install, ${SIZE_MIB} MiB into a file slot (s, median of $N) | $id ($(mbps "$id") MiB/s) | $ia ($(mbps "$ia") MiB/s) | $(ratio "$ia" "$id")x time |"
  echo "| gateway polls/s ($DEVICES devices, $THREADS threads x $CONNS keep-alive conns, median of $ROUNDS) | $pd | $pa | $(ratio "$pa" "$pd")x |"
  echo "| gateway poll p99 latency (ms) | $ld | $la | $(ratio "$la" "$ld")x |"
  echo "| negotiated TLS | $(cipher default) | $(cipher approved) | |"
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine)."
} > "$OUT"
cat "$OUT"
