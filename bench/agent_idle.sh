#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device agent's footprint while it waits between polls: a real
# bulwark-gateway on loopback, one provisioned device, one bulwark-agent
# daemon that has checked in and sleeps until its next poll. Reported from
# /proc: VmRSS (with the anonymous part and Pss from smaps_rollup) and the
# CPU time (schedstat) it spent over S seconds of idling, next to two references
# measured the same way in this script: `sleep` (the floor of any process
# on this libc) and `openssl s_client` holding an idle mTLS connection to
# the same gateway (a plain OpenSSL client). Also the price of the exec
# between polls: peak RSS and CPU of one whole cycle (`--once`, GNU time).
# Not a test: no threshold.
#
#   bench/agent_idle.sh               # S=10 seconds of idle
#
# Writes bench/results-agent-idle-latest.md (and, with SMAPS=1, the agent's
# largest mappings by Rss). BUILD names the build directory.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MAIN=$(cd "$HERE/.." && pwd)
BUILD=$(realpath "${BUILD:-$MAIN/build}")
B=$(realpath "$BUILD/bulwark") GW=$(realpath "$BUILD/bulwark-gateway") AG=$(realpath "$BUILD/bulwark-agent")
S=${S:-10}
OUT=$(realpath -m "${OUT:-$HERE/results-agent-idle-latest.md}")
T=$(mktemp -d)
PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
. "$MAIN/tests/integ/gwlib.sh"
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
"$B" device init --dir dev --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
"$B" provision --ca-dir factory --config dev/device.conf --device-id dev-1 --argon2 1,1024,1 >/dev/null 2>&1 \
  || { echo "provision failed" >&2; exit 1; }
gw_operators admin
gw_start "$T/factory/ca.crt" "token_audience = $AUD" "poll_interval = 3600"
[ "$(op "$TOK_admin" --data-binary @factory/registry.jsonl "$U/api/v1/devices/import")" = 200 ] \
  || { echo "import failed" >&2; exit 1; }
cat > agent.conf <<EOF
device_config = $T/dev/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
poll_min = 3600
poll_max = 3600
jitter = 0
EOF
# agent-kept.conf: the connection and the TLS session kept for the next
# poll (the agent waits in its own process); agent.conf: neither (the
# default), so the agent becomes bulwark-agent-wait between polls
cp agent.conf agent-kept.conf
printf 'keep_connection = true\ntls_resume = true\n' >> agent-kept.conf
printf 'keep_connection = false\ntls_resume = false\n' >> agent.conf

# mappings PID: Rss per mapped file (and [heap], [stack], [anon]), largest first
mappings() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {m=$NF; if (NF < 6) m="[anon]"} /^Rss:/ {r[m]+=$2}
       END {for (k in r) if (r[k] > 0) printf "%6d KiB  %s\n", r[k], k}' "/proc/$1/smaps" |
    sort -rn | head -15
}
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/${3:-status}"; }
# measure NAME PID: one table row after S seconds of idle
measure() {
  local t0 t1
  t0=$(cpu_ns "$2"); sleep "$S"; t1=$(cpu_ns "$2")
  printf '| %s | %s KiB | %s KiB | %s KiB | %s µs |\n' "$1" "$(kib "$2" VmRSS)" \
    "$(kib "$2" Anonymous smaps_rollup)" "$(kib "$2" Pss smaps_rollup)" \
    "$(( (t1 - t0) / 1000 ))" >> rows.md
}

: > rows.md
sleep 3600 & SPID=$!; PIDS="$PIDS $SPID"
sleep 1; measure "sleep (reference)" $SPID

# an idle mTLS connection of the openssl command line to the same gateway
"$BUILD/tests/devkey_pem" "file:$T/dev/state/device.key?storage-key=$T/dev/state/storage.key" dev.pem \
  || { echo "devkey_pem failed" >&2; exit 1; }
mkfifo sin
( sleep 3600 > sin ) & FPID=$!; PIDS="$PIDS $FPID"
openssl s_client -quiet -connect "127.0.0.1:$P" -CAfile srvca.crt -verify_return_error \
  -cert dev/state/device.crt -key dev.pem < sin > sc.out 2>&1 & OPID=$!; PIDS="$PIDS $OPID"
sleep 1
if kill -0 $OPID 2>/dev/null; then measure "openssl s_client, idle mTLS connection (reference)" $OPID
else echo "| openssl s_client (reference) | did not connect: $(head -c 100 sc.out) | | | | |" >> rows.md; fi

"$AG" --config agent.conf > agent.log 2>&1 & APID=$!; PIDS="$PIDS $APID"
for i in $(seq 200); do grep -q "next poll" agent.log && break; sleep 0.05; done
grep -q "next poll" agent.log || { cat agent.log >&2; echo "agent did not check in" >&2; exit 1; }
sleep 1
measure "bulwark-agent, idle between polls (the default: keep_connection = false, tls_resume = false: bulwark-agent-wait)" $APID
[ "${SMAPS:-}" ] && mappings $APID > smaps.txt
# both on: it waits in its own process, with everything of the cycle
# still mapped and its TLS connection and session kept
"$AG" --config agent-kept.conf > solo.log 2>&1 & SOLO=$!; PIDS="$PIDS $SOLO"
for i in $(seq 200); do grep -q "next poll" solo.log && break; sleep 0.05; done
sleep 1
measure "bulwark-agent keeping its connection and TLS session (both on), in its own process" $SOLO
[ "${SMAPS:-}" ] && mappings $SOLO > smaps-solo.txt
kill $SOLO 2>/dev/null; wait $SOLO 2>/dev/null
libs=$(ldd "$AG" | grep -c '=>')
kill $APID 2>/dev/null; wait $APID 2>/dev/null
# one whole cycle, as each poll now runs it: exec, TLS handshake, check-in
/usr/bin/time -f "%M %U %S" -o cycle.time "$AG" --config agent.conf --once > /dev/null 2>&1
read -r c_rss c_user c_sys < cycle.time

{
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $(openssl version | cut -d' ' -f1-2)," \
       "$S s of idle per process; agent binary links $libs shared libraries"
  echo
  echo "| process | VmRSS | of which anonymous | Pss | CPU time in ${S} s |"
  echo "|---|---|---|---|---|"
  cat rows.md
  echo
  echo "One cycle (\`bulwark-agent --once\`: start, TLS handshake, check-in, exit):" \
       "peak RSS $c_rss KiB, CPU ${c_user} s user + ${c_sys} s system."
  if [ -s smaps.txt ]; then
    echo
    echo "Largest mappings (Rss) of the idle agent (bulwark-agent-wait), then of the agent keeping its connection:"
    echo
    echo '```'
    cat smaps.txt
    echo '```'
    echo
    echo '```'
    cat smaps-solo.txt
    echo '```'
  fi
} > "$OUT"
cat "$OUT"
