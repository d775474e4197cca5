#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/fleet: 10,000 simulated devices (bulwark-agent --simulate N, one
# process) polling one bulwark-gateway (SQLite) on loopback, then a campaign
# that must reach all of them.
# Time may be compressed: the gateway tells the devices to poll every POLL
# seconds (default 60: real time, what 2 shared cores sustain with the
# simulator on them); POLL=20 brings the load 60/20 = 3 times as many
# devices would at 60 s. The gateway's own per-poll work (one registry write
# per device per half interval) follows POLL, as for a real fleet.
# Every device cycle is a real one: a fresh TLS connection with its client
# certificate, a fresh device token, a check-in; an update is downloaded,
# verified in full, installed into an in-memory slot, booted on trial,
# confirmed and reported.
# Measured: gateway CPU (utime+stime of /proc/PID/stat) and memory (VmRSS
# sampled each second, VmHWM), polls served (check-in lines of the access
# log), and the time from creating a campaign until the registry lists every
# action success (operator API, polled each second).
# Reference, same script, same gateway: bench_gwpoll with one fresh mTLS
# connection and one token per check-in (what a device cycle costs the
# gateway, without the simulator sharing the cores): its polls/s is the
# ceiling, its CPU per poll the floor.
# Writes bench/results-fleet-latest.md (and prints it).
# Usage: bench/fleet.sh [BUILD_DIR]
# Environment: DEVICES (10000) POLL (60 s) THREADS (4 simulator threads)
# GW_THREADS (2) MEASURE (1 poll interval of steady state) PKG_KIB (128)
# CAMPAIGN_MAX (420 s) REF_CONNS (500 per client thread). About 9 minutes
# with the defaults on 2 cores.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
B=$BUILD/bulwark GW=$BUILD/bulwark-gateway AG=$BUILD/bulwark-agent LOAD=$BUILD/bench/bench_gwpoll
DEVICES=${DEVICES:-10000} POLL=${POLL:-60} THREADS=${THREADS:-4} GW_THREADS=${GW_THREADS:-2}
MEASURE=${MEASURE:-1} PKG_KIB=${PKG_KIB:-128} CAMPAIGN_MAX=${CAMPAIGN_MAX:-420}
REF_CONNS=${REF_CONNS:-500}
OUT=${OUT:-$ROOT/bench/results-fleet-latest.md}
for x in "$B" "$GW" "$AG" "$LOAD"; do
  [ -x "$x" ] || { echo "fleet.sh: $x missing (build first)" >&2; exit 1; }
done
# tmpfs: 10,000 devices' key files and the registry are written with fsync;
# this benchmark is about the gateway, not the disk
T=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
GPID='' SPID='' MPID=''
stop() { [ -n "$1" ] || return 0; kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
cleanup() { stop "$MPID"; stop "$SPID"; stop "$GPID"; rm -rf "$T"; }
trap cleanup EXIT
cd "$T" || exit 1
die() { echo "fleet.sh: $*" >&2; tail -n 5 gw.err sim.err 2>/dev/null >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.bench
load0=$(cut -d' ' -f1-3 /proc/loadavg)
TCK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TCK" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

# --- server certificate, release, operator, device template -------------------------
openssl ecparam -name prime256v1 -genkey -noout -out srvca.key 2>/dev/null
openssl req -new -x509 -key srvca.key -subj "/CN=bench server CA" -days 2 -out srvca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out srv.key 2>/dev/null
openssl req -new -key srv.key -subj "/CN=127.0.0.1" -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in srv.csr -CA srvca.crt -CAkey srvca.key -CAcreateserial -days 2 \
  -extfile san.ext -out srv.crt 2>/dev/null || die "server certificate"
"$B" keygen --out rel.key --pub rel.pub >/dev/null || die keygen
head -c $((PKG_KIB * 1024)) /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw.bwp fw.img >/dev/null ||
  die sign
PKG_BYTES=$(stat -c %s fw.bwp)
"$B" device init --dir tmpl --slot-size $((PKG_KIB * 1024 * 2)) --pub rel.pub --vendor-id $V \
  --class-id $C >/dev/null || die "device template"
ADMIN=$(openssl rand -hex 24)
echo "admin op-admin $(printf %s "$ADMIN" | sha256sum | cut -c1-64)" > operators

# --- identities: minted by the simulator ---------------------------------------------
sim_conf() { # GATEWAY-URL
  cat <<EOF
device_config = $T/tmpl/device.conf
gateway = $1
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/state
attributes = fleet=bench
poll_min = 1
poll_max = 3600
jitter = 10
retry_min = 5
retry_max = 60
timeout = 30
EOF
}
sim_conf https://127.0.0.1:1 > sim.conf
log "minting $DEVICES device identities (key, CSR, certificate from the simulator's CA)"
tp=$(now)
"$AG" --simulate "$DEVICES" --config sim.conf --fleet-dir fleet --ca-dir ca --id-prefix dev- \
  --threads 2 --prepare > prep.log 2>&1 || die "prepare: $(tail -3 prep.log)"
t_mint=$(since "$tp")

# --- the gateway ---------------------------------------------------------------------
cat > gw.conf <<EOF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/ca/ca.crt
database = sqlite:$T/registry.db
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
token_audience = $AUD
access_log = $T/access.log
poll_interval = $POLL
threads = $GW_THREADS
max_body = 4194304
EOF
"$GW" --config gw.conf --port-file port 2>gw.err &
GPID=$!
for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || die "the gateway did not start"
GPORT=$(cat port) U=https://127.0.0.1:$(cat port)
op() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt -H "Authorization: Bearer $ADMIN" "$@"; }
log "importing $DEVICES registry lines"
split -l 1000 fleet/registry.jsonl import.
for f in import.*; do
  [ "$(op --data-binary @"$f" "$U/api/v1/devices/import")" = 200 ] || die "import: $(cat body.txt)"
done
rm -f import.*

# --- reference: fresh-connection polls from bench_gwpoll, simulator not running ------
log "reference: bench_gwpoll, one fresh mTLS connection and token per check-in"
"$LOAD" --port "$GPORT" --cacert srvca.crt --devices fleet --aud "$AUD" --threads 2 \
  --conns 2 --requests 1 --label warm >/dev/null || die "bench_gwpoll warm-up"
"$LOAD" --port "$GPORT" --cacert srvca.crt --devices fleet --aud "$AUD" --threads 2 \
  --conns "$REF_CONNS" --requests 1 --pids "$GPID" --label ref > ref.txt || die "bench_gwpoll"
field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p" | head -1; }
ref_rps=$(field ref.txt rps) ref_cpu=$(field ref.txt server_cpu_us_per_req)

# --- the fleet, steady state -----------------------------------------------------------
sim_conf "$U" > sim.conf
rss0=$(kib "$GPID" VmRSS)
log "starting $DEVICES simulated devices ($THREADS threads), first polls spread over $POLL s"
tstart=$(now)
"$AG" --simulate "$DEVICES" --config sim.conf --fleet-dir fleet --ca-dir ca --id-prefix dev- \
  --threads "$THREADS" --spread "$POLL" --json > sim.json 2> sim.err &
SPID=$!
( while sleep 1; do echo "$(date +%s) $(kib "$GPID" VmRSS)"; done ) > rss.txt &
MPID=$!
polls() { grep -c '"/api/v1/device/checkin"\|/api/v1/device/checkin' access.log; }
devlist() { # the list is paged (at most 10,000 a page): read every page
  local off=0 k
  : > devs.jsonl
  while :; do
    op "$U/api/v1/devices?filter=%7B%22fleet%22:%22bench%22%7D&offset=$off&limit=10000" >/dev/null
    k=$(python3 -c 'import json
d = json.load(open("body.txt")); d = d.get("devices", d) if isinstance(d, dict) else d
with open("devs.jsonl", "a") as f:
    for x in d: f.write(json.dumps(x) + "\n")
print(len(d))')
    off=$((off + 10000))
    [ "$k" -lt 10000 ] && break
  done
  python3 -c 'import json, collections
c = collections.Counter("%s/%s" % (x["version"], x["sequence"]) for x in map(json.loads, open("devs.jsonl")))
print(", ".join("%s: %d" % kv for kv in sorted(c.items())))'
}
# every device polls once (the campaign targets the devices whose
# attributes the registry knows)
sleep "$POLL"
for _ in $(seq $((POLL * 3 / 5))); do
  [ "$(devlist)" = "sequence 1/1: $DEVICES" ] && break
  kill -0 "$SPID" 2>/dev/null || die "the simulator stopped: $(tail -3 sim.err)"
  sleep 5
done
first=$(devlist) t_first=$(since "$tstart")
win=$((POLL * MEASURE))
log "steady state: measuring for $win s"
c0=$(cpu_ms "$GPID") p0=$(polls) q0=$(cpu_ms "$SPID") t0=$(now)
sleep "$win"
c1=$(cpu_ms "$GPID") p1=$(polls) q1=$(cpu_ms "$SPID") t1=$(now)
st_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
st_polls=$((p1 - p0))
st_rps=$(awk -v n="$st_polls" -v s="$st_secs" 'BEGIN { printf "%.1f", n / s }')
st_cpu_pct=$(awk -v c="$((c1 - c0))" -v s="$st_secs" 'BEGIN { printf "%.1f", c / 10 / s }')
st_cpu_us=$(awk -v c="$((c1 - c0))" -v n="$st_polls" 'BEGIN { printf "%.1f", n ? c * 1000 / n : 0 }')
st_sim_us=$(awk -v c="$((q1 - q0))" -v n="$st_polls" 'BEGIN { printf "%.1f", n ? c * 1000 / n : 0 }')
st_rss=$(kib "$GPID" VmRSS)
sim_rss=$(kib "$SPID" VmRSS)
before=$(devlist)
want_rps=$(awk -v d="$DEVICES" -v p="$POLL" 'BEGIN { printf "%.1f", d / p }')

# --- the campaign ------------------------------------------------------------------------
[ "$(op --data-binary @fw.bwp "$U/api/v1/releases?name=fw-2")" = 201 ] || die "upload: $(cat body.txt)"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
c2=$(cpu_ms "$GPID") p2=$(polls) tc=$(now)
[ "$(op -H "Content-Type: application/json" \
  --data "{\"name\":\"fleet\",\"release_id\":$RID,\"filter\":{\"fleet\":\"bench\"},\"type\":\"forced\"}" \
  "$U/api/v1/campaigns")" = 201 ] || die "campaign: $(cat body.txt)"
CID=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
log "campaign $CID created for $DEVICES devices; waiting for every action to be success"
t50='' t90='' t100='' progress=''
while :; do
  sleep 1
  op "$U/api/v1/campaigns/$CID" >/dev/null
  read -r ok nfail < <(python3 -c 'import json; a=json.load(open("body.txt"))["actions"]; print(a.get("success",0), a.get("failure",0))')
  e=$(since "$tc")
  progress="$progress $e:$ok"
  [ -z "$t50" ] && [ "$ok" -ge $((DEVICES / 2)) ] && t50=$e
  [ -z "$t90" ] && [ "$ok" -ge $((DEVICES * 9 / 10)) ] && t90=$e
  [ "$ok" -ge "$DEVICES" ] && { t100=$e; break; }
  [ "$nfail" -gt 0 ] && die "campaign: $nfail failures"
  awk -v e="$e" -v m="$CAMPAIGN_MAX" 'BEGIN { exit !(e > m) }' && { log "campaign: $ok of $DEVICES after $e s: giving up"; break; }
done
c3=$(cpu_ms "$GPID") p3=$(polls)
cp_cpu_s=$(awk -v c="$((c3 - c2))" 'BEGIN { printf "%.1f", c / 1000 }')
downloads=$(grep -c '/api/v1/device/download/' access.log)
versions=$(devlist)
stop "$MPID"; MPID=
stop "$SPID"; SPID=
hwm=$(kib "$GPID" VmHWM) rss_end=$(kib "$GPID" VmRSS)
rss_peak=$(awk '$2 > m { m = $2 } END { print m + 0 }' rss.txt)
sim=$(tail -1 sim.json)
total_polls=$(polls)
stop "$GPID"; GPID=

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
{
  echo "# bench/fleet: $DEVICES simulated devices against one bulwark-gateway"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores ($cpu), HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)."
  echo "Load average before / after: $load0 / $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Gateway: SQLite on tmpfs, $GW_THREADS threads, access log to a file. Simulator: one"
  if [ "$POLL" = 60 ]; then
    echo "process, $THREADS threads, on the same 2 cores. Real time: poll interval 60 s, no compression."
  else
    echo "process, $THREADS threads, on the same 2 cores. Time compressed: poll interval"
    echo "$POLL s instead of 60 s (x$(awk -v p="$POLL" 'BEGIN { printf "%g", 60 / p }')): the poll load of $(awk -v d="$DEVICES" -v p="$POLL" 'BEGIN { printf "%d", d * 60 / p }') devices at 60 s."
  fi
  echo "Identities minted by the simulator in $t_mint s; package $PKG_BYTES bytes (sequence 2)."
  echo
  echo "| measure | fleet | reference | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| check-ins/s served, steady state ($st_secs s) | $st_rps (offered $want_rps) | bench_gwpoll fresh-connection ceiling: $ref_rps | $(ratio "$st_rps" "$ref_rps")x |"
  echo "| gateway CPU per check-in (us, user+system) | $st_cpu_us | bench_gwpoll: $ref_cpu | $(ratio "$st_cpu_us" "$ref_cpu")x |"
  echo "| gateway CPU, steady state (% of one core) | $st_cpu_pct | | |"
  echo "| simulator CPU per device cycle (us; TLS client, token, check-in) | $st_sim_us | | |"
  echo "| gateway RSS: before the fleet / steady / peak sampled / VmHWM (MiB) | $(mib "$rss0") / $(mib "$st_rss") / $(mib "$rss_peak") / $(mib "$hwm") | | |"
  echo "| campaign to all $DEVICES devices: 50% / 90% / 100% success (s) | $t50 / $t90 / ${t100:-not reached} | one poll interval: $POLL | $(ratio "${t100:-0}" "$POLL")x |"
  echo "| gateway CPU during the campaign (s) | $cp_cpu_s | | |"
  echo
  echo "- polls served: $st_polls in the steady window; $((p3 - p2)) during the campaign; $total_polls in all; downloads $downloads"
  echo "- registry after the first round ($t_first s after the start): $first; before the campaign: $before; after: $versions"
  echo "- simulator RSS, steady state: $(mib "$sim_rss") MiB for $DEVICES devices"
  echo "- simulator: $sim"
  echo "- campaign progress (s:success):$progress"
  echo "- reference: $(cat ref.txt)"
} | tee "$OUT"
