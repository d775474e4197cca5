#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwark-gateway against nginx in the same run, on loopback, with the same
# TLS (one server certificate, TLS 1.2+1.3, client certificates from the
# device CA required) and the same client (bench_gwpoll: keep-alive TLS 1.3
# with a device certificate, pre-signed device tokens: one per connection as
# devices send them, and in a second gateway run one per request). Also the
# server CPU per check-in on a new connection, with a full mTLS handshake
# and with a resumed session (TLS 1.3 ticket; openssl s_time -new / -reuse
# polling the hawkBit DDI base resource with a device certificate).
# Measures device polls/s and poll latency with 10,000 registered devices,
# 64 MiB download throughput, and server memory per idle connection. nginx
# answers the check-in with a static JSON body of the same bytes and
# serves the release file with sendfile on; it checks no token and no
# registry, which is the point: it is the floor of the HTTP+TLS work.
# Writes bench/results-gateway-latest.md (and prints it).
# Usage: bench/gateway.sh [BUILD_DIR]   (root or not; nginx must be installed)
# Environment: DEVICES (10000) THREADS (2: gateway threads = nginx workers =
# client threads) CONNS (32 per client thread) REQS (2000 per connection and
# run: a run of 128,000 polls, about 1.3 s; at 200 the CPU tick and one
# scheduling hiccup moved a ratio by 0.1) ROUNDS (5) DL_N (20 downloads per run) DL_MIB (64) IDLE (1000)
# HS_TIME (4 seconds per handshake run) SC_CONNS (8) SC_REQS (1000: the
# syscalls part's polls per connection) PARTS ("idle polls syscalls
# downloads handshakes": the parts to run; the table leaves the others' rows
# empty)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
B=$BUILD/bulwark GW=$BUILD/bulwark-gateway LOAD=$BUILD/bench/bench_gwpoll
NGINX=${NGINX:-/usr/sbin/nginx}
DEVICES=${DEVICES:-10000} THREADS=${THREADS:-2} CONNS=${CONNS:-32} REQS=${REQS:-2000}
ROUNDS=${ROUNDS:-5} DL_N=${DL_N:-20} DL_MIB=${DL_MIB:-64} IDLE=${IDLE:-1000}
HS_TIME=${HS_TIME:-4} SC_CONNS=${SC_CONNS:-8} SC_REQS=${SC_REQS:-1000} KEYPEM=$BUILD/tests/devkey_pem
# a run of some parts only writes its own results file
[ -n "${PARTS:-}" ] && OUT=${OUT:-$ROOT/bench/results-gateway-$(echo $PARTS | tr ' ' '-')-latest.md}
PARTS=" ${PARTS:-idle polls syscalls downloads handshakes} "
part() { [ "${PARTS#* $1 }" != "$PARTS" ]; }
OUT=${OUT:-$ROOT/bench/results-gateway-latest.md}
for x in "$B" "$GW" "$LOAD" "$NGINX" "$KEYPEM"; do
  [ -x "$x" ] || { echo "gateway.sh: $x missing (build first)" >&2; exit 1; }
done
# every idle connection is a descriptor in the client and in each server:
# raise the soft limit when it is too low for IDLE (the gateway would
# lower max_connections below IDLE and the idle step could not complete)
need=$((IDLE + 512))
[ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ] &&
  { ulimit -n "$need" 2>/dev/null || echo "gateway.sh: open-file limit $(ulimit -n) is below $need (IDLE $IDLE)" >&2; }
# tmpfs: the registry and 10,000 devices' files are written with fsync;
# this benchmark is about the servers, not the disk
T=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
GPID='' NPID=''
stop() { # stop one server by its pid and wait for it
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
cleanup() { stop "$GPID"; stop "$NPID"; rm -rf "$T"; }
trap cleanup EXIT
cd "$T" || exit 1
die() { echo "gateway.sh: $*" >&2; tail -n 5 gw.err ngx/error.log 2>/dev/null >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
t0=$(date +%s.%N) load0=$(cut -d' ' -f1-3 /proc/loadavg)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.bench
BODY='{"poll_interval":60,"action":null}' # the gateway's answer to a device with nothing to do

# --- server certificate (both servers), devices, release, operator ----------------
openssl ecparam -name prime256v1 -genkey -noout -out srvca.key 2>/dev/null
openssl req -new -x509 -key srvca.key -subj "/CN=bench server CA" -days 2 -out srvca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out srv.key 2>/dev/null
openssl req -new -key srv.key -subj "/CN=127.0.0.1" -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in srv.csr -CA srvca.crt -CAkey srvca.key -CAcreateserial -days 2 \
  -extfile san.ext -out srv.crt 2>/dev/null || die "server certificate"
log "provisioning $DEVICES devices (Argon2id at its minimum cost: not measured here)"
tp=$(date +%s.%N)
"$B" provision --ca-dir factory --count "$DEVICES" --out devs --argon2 1,8,1 >/dev/null 2>prov.err ||
  die "provision: $(tail -n 3 prov.err)"
t_prov=$(since "$tp")
"$B" keygen --out rel.key --pub rel.pub >/dev/null || die keygen
head -c $((DL_MIB * 1048576)) /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw.bwp fw.img >/dev/null ||
  die sign
rm -f fw.img
SHA=$(sha256sum < fw.bwp | cut -c1-64)
ADMIN=$(openssl rand -hex 24)
echo "admin op-admin $(printf %s "$ADMIN" | sha256sum | cut -c1-64)" > operators

# --- bulwark-gateway ------------------------------------------------------------------
# access_log to /dev/null: the line is still formatted and written, but
# nginx below logs nothing (access_log off); timeout 120 s keeps idle
# connections open through the memory measurement; every client of this
# benchmark comes from 127.0.0.1 and opens up to 100 connections per thread
# at once, so the per-address cap for connections not yet authenticated is
# raised above that; the idle step opens IDLE / THREADS connections per
# client thread one after another before any sends its request, which on
# a loaded machine took longer than the default 10 s header deadline (the
# guard then closed the first ones and the step failed), so the deadline
# is 120 s here; sqlite_exclusive: the benchmark's gateway is the
# registry's only user
cat > gw.conf <<EOF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/factory/ca.crt
database = sqlite:$T/registry.db
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
token_audience = $AUD
access_log = /dev/null
threads = $THREADS
timeout = 120
header_timeout = 120
sqlite_exclusive = true
max_per_address = $((IDLE + 100))
# the per-request token row has each device present REQS x ROUNDS fresh tokens
# within their lifetime, far past the default share of the replay table (32),
# and all of them, live for 5 minutes, past its default size (262,144)
token_device_quota = $((REQS * ROUNDS + 64))
token_replay_slots = $((REQS * ROUNDS * THREADS * CONNS * 2))
EOF
"$GW" --config gw.conf --port-file port 2>gw.err &
GPID=$!
for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || die "the gateway did not start"
GPORT=$(cat port) U=https://127.0.0.1:$(cat port)
op() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt -H "Authorization: Bearer $ADMIN" "$@"; }
log "importing $DEVICES registry lines"
split -l 40 factory/registry.jsonl import. # each part under the default max_body
for f in import.*; do
  [ "$(op --data-binary @"$f" "$U/api/v1/devices/import")" = 200 ] || die "import: $(cat body.txt)"
done
rm -f import.*
# the list is paged (at most 10,000 a page): count page by page
n=0 off=0
while :; do
  op "$U/api/v1/devices?offset=$off&limit=10000" >/dev/null || die "device list: $(head -c 200 body.txt)"
  k=$(grep -o '"id":"dev-' body.txt | wc -l)
  n=$((n + k)) off=$((off + 10000))
  [ "$k" -lt 10000 ] && break
done
[ "$n" = "$DEVICES" ] || die "the registry lists $n devices, not $DEVICES"
[ "$(op --data-binary @fw.bwp "$U/api/v1/releases?name=bench")" = 201 ] || die "upload: $(cat body.txt)"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)

# common client options; device 0 (dev-000001) is the one that downloads
L=(--cacert srvca.crt --devices devs --aud "$AUD" --threads "$THREADS")
# one check-in sets its attributes, a campaign for those attributes offers it the release
"$LOAD" "${L[@]}" --port "$GPORT" --threads 1 --conns 1 --requests 1 \
  --body '{"version":"1.0.0","sequence":1,"attributes":{"bench":"download"}}' >/dev/null ||
  die "first check-in"
[ "$(op -H "Content-Type: application/json" \
  --data "{\"name\":\"bench\",\"release_id\":$RID,\"filter\":{\"bench\":\"download\"},\"type\":\"download-only\"}" \
  "$U/api/v1/campaigns")" = 201 ] || die "campaign: $(cat body.txt)"
"$LOAD" "${L[@]}" --port "$GPORT" --threads 1 --conns 1 --requests 1 --show > offer.txt ||
  die "check-in for the offer"
grep -q "\"sha256\":\"$SHA\"" offer.txt || die "no action offered: $(cat offer.txt)"
[ -f "blobs/sha256/$SHA" ] || die "no blob at blobs/sha256/$SHA"

# --- nginx: same certificate, protocols and client CA; static answers ------------------
# a port free when picked can be taken by another program before nginx
# binds it (the machine is shared): then another port, up to 5 times
mkdir -p ngx/logs
for attempt in 1 2 3 4 5; do
NPORT=
for p in $(shuf -i 20000-60000 -n 50); do
  [ -z "$(ss -Htln "sport = :$p")" ] && [ "$p" != "$GPORT" ] && { NPORT=$p; break; }
done
[ -n "$NPORT" ] || die "no free port for nginx"
cat > ngx/nginx.conf <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes $THREADS;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/ngx/body;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $T/srv.crt;
    ssl_certificate_key $T/srv.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate $T/factory/ca.crt;
    ssl_verify_client on;
    # the gateway's order (tls_prefer_aes128): AES-128-GCM first, the server decides
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    location = /api/v1/device/checkin {
      default_type application/json;
      return 200 '$BODY';
    }
    # the hawkBit DDI base poll of the handshake runs: the same static answer
    location /DEFAULT/controller/v1/ {
      default_type application/json;
      return 200 '$BODY';
    }
    location /api/v1/device/download/ {
      alias $T/blobs/sha256/;
      sendfile on;
      default_type application/octet-stream;
    }
  }
}
EOF
"$NGINX" -p "$T/ngx" -c "$T/ngx/nginx.conf" -g 'daemon off;' 2>ngx/stderr &
NPID=$!
for _ in $(seq 100); do
  kill -0 "$NPID" 2>/dev/null || break
  [ -n "$(ss -Htln "sport = :$NPORT")" ] && break
  sleep 0.05
done
kill -0 "$NPID" 2>/dev/null && [ -n "$(ss -Htln "sport = :$NPORT")" ] && break
stop "$NPID"; NPID=
log "nginx did not start on port $NPORT (attempt $attempt): $(tail -n 1 ngx/stderr)"
done
[ -n "$NPID" ] || die "nginx did not start: $(cat ngx/stderr)"
ngx_pids() { echo "$NPID $(cat /proc/$NPID/task/*/children 2>/dev/null)" | xargs | tr ' ' ','; }
"$LOAD" "${L[@]}" --port "$NPORT" --threads 1 --conns 1 --requests 1 --show > ngx-answer.txt ||
  die "nginx answer: $(cat ngx-answer.txt)"
"$LOAD" "${L[@]}" --port "$GPORT" --threads 1 --conns 1 --requests 1 --first 1 --show > gw-answer.txt ||
  die "gateway answer: $(cat gw-answer.txt)"
grep -qxF "$BODY" gw-answer.txt || die "the gateway's idle answer is not $BODY: $(cat gw-answer.txt)"
grep -qxF "$BODY" ngx-answer.txt || die "nginx's answer is not $BODY"

# run LABEL ARGS...: one bench_gwpoll run against the gateway, or nginx for a
# LABEL starting with ngx; its result line is kept in results.txt
run() {
  local port=$GPORT pids=$GPID lbl=$1; shift
  [ "$lbl" != "${lbl#ngx}" ] && port=$NPORT pids=$(ngx_pids)
  "$LOAD" "${L[@]}" --port "$port" --pids "$pids" --label "$lbl" "$@" > run.out 2>run.err ||
    { cat run.out run.err >&2; die "run $lbl failed"; }
  grep '^result ' run.out | tee -a results.txt >&2
}
field() { # field LABEL KEY: the value of KEY in the result line of LABEL
  sed -n "s/^result label=$1 .*[ ]$2=\([^ ]*\).*/\1/p" results.txt | tail -n 1
}
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- memory per idle connection, first, on servers that have not run the load yet --------
# (a few warm-up requests first so both have their TLS state set up); connections
# use devices from dev-000101 on, one request each, then stay open and idle
if part idle; then
run gw-warm --threads 1 --conns 2 --requests 5 --first 100
run ngx-warm --threads 1 --conns 2 --requests 5 --first 100
log "memory: $IDLE idle connections to each server"
per=$((IDLE / THREADS))
run gw-idle --conns $per --requests 1 --first 100 --settle 2
sleep 1
run ngx-idle --conns $per --requests 1 --first 100 --settle 2
fi

# --- polls: ROUNDS alternating runs, THREADS x CONNS connections, one device each -------
log "polls: $ROUNDS rounds of $((THREADS * CONNS)) connections x $REQS requests per server"
for r in $(seq "$ROUNDS"); do
  part polls || break
  run gw-poll-$r --conns "$CONNS" --requests "$REQS" --first 1
  run gw-polltok-$r --conns "$CONNS" --requests "$REQS" --first 1 --token-per request
  run gw-ddi-$r --conns "$CONNS" --requests "$REQS" --first 1 --ddi-prefix /DEFAULT/controller/v1/
  run ngx-poll-$r --conns "$CONNS" --requests "$REQS" --first 1
done

# --- system calls per poll: strace -c -f over a fixed number of polls per server --------
# (SC_CONNS connections x SC_REQS polls; the connections' handshakes are in
# the count too, a few dozen calls each, under 0.1 per poll at these sizes)
sc() { # sc LABEL: strace the server's processes over one poll run, calls per poll
  local pids=$GPID lbl=$1 sp n tot
  [ "$lbl" != "${lbl#ngx}" ] && pids=$(ngx_pids)
  strace -c -f -o "sc-$lbl.txt" $(printf -- '-p %s ' ${pids//,/ }) 2>/dev/null &
  sp=$!
  sleep 1 # strace attached to every thread
  run "$lbl" --threads 1 --conns "$SC_CONNS" --requests "$SC_REQS" --first 1
  kill -INT "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
  n=$((SC_CONNS * SC_REQS))
  tot=$(awk '$NF == "total" { print $4 }' "sc-$lbl.txt")
  { echo "syscalls label=$lbl polls=$n calls=${tot:-0} per_poll=$(awk -v a="${tot:-0}" -v n="$n" 'BEGIN { printf "%.2f", a / n }')"
    awk -v n="$n" 'NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF != "total" { printf "  %s %.2f\n", $NF, $4 / n }' "sc-$lbl.txt" | sort -k2 -gr | head -n 8
  } | tee -a syscalls.txt >&2
}
if part syscalls; then
  command -v strace >/dev/null || die "strace missing (the syscalls part needs it)"
  log "system calls: $SC_CONNS connections x $SC_REQS polls per server, under strace -c -f"
  sc gw-sc; sc ngx-sc
fi
# --- downloads: DL_N sequential full downloads over one keep-alive connection -----------
log "downloads: $ROUNDS rounds of $DL_N x $DL_MIB MiB per server"
for r in $(seq "$ROUNDS"); do
  part downloads || break
  run gw-dl-$r --threads 1 --conns 1 --requests "$DL_N" --method GET --path "/api/v1/device/download/$SHA"
  run ngx-dl-$r --threads 1 --conns 1 --requests "$DL_N" --method GET --path "/api/v1/device/download/$SHA"
done
for s in gw ngx; do
  part downloads || break
  b=$(field $s-dl-1 bytes)
  [ "$b" = $((DL_N * $(stat -c %s fw.bwp))) ] || die "$s downloaded $b bytes"
done
# --- handshakes: a check-in on a new connection, full mTLS handshake or resumed ----------
# openssl s_time: one HTTP/1.0 GET of dev-000001's DDI base resource per
# connection (the gateway looks the certificate up in the registry and
# answers its links; nginx answers $BODY), -new: every connection a full
# handshake with the client certificate, -reuse: every one after the first
# resumes the session with its ticket. Server CPU (every process) per
# connection from /proc/PID/stat.
d1=devs/dev-000001
"$KEYPEM" "file:$T/$d1/device.key?storage-key=$T/$d1/storage.key" d1.pem || die "device key as PEM"
ticks() { # the summed user + system CPU ticks of the comma-separated pids
  for p in ${1//,/ }; do cut -d' ' -f14,15 /proc/$p/stat 2>/dev/null; done | awk '{ s += $1 + $2 } END { print s + 0 }'
}
hs() { # hs LABEL MODE: one s_time run against the gateway (gw-*) or nginx (ngx-*)
  local port=$GPORT pids=$GPID c0 c1 out n r
  [ "$1" != "${1#ngx}" ] && port=$NPORT pids=$(ngx_pids)
  c0=$(ticks "$pids")
  out=$(openssl s_time -connect 127.0.0.1:$port -CAfile srvca.crt -cert $d1/device.crt -key d1.pem \
    "$2" -time "$HS_TIME" -www /DEFAULT/controller/v1/dev-000001 2>&1)
  c1=$(ticks "$pids")
  n=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' | tail -n 1)
  # s_time prints a character per connection: r for a resumed session
  r=$(printf '%s\n' "$out" | grep -E '^[r*]+$' | tr -cd r | wc -c)
  [ "${n:-0}" -gt 0 ] || die "s_time $1: $(printf '%s\n' "$out" | tail -n 3)"
  awk -v l="$1" -v n="$n" -v r="$r" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t="$HS_TIME" \
    'BEGIN { printf "result label=%s kind=new-connection conns=%d resumed=%d conns_per_s=%.1f server_cpu_us_per_conn=%.0f\n",
             l, n, r, n / t, c * 1e6 / hz / n }' | tee -a results.txt >&2
}
log "handshakes: $ROUNDS rounds of $HS_TIME s per server and kind"
for r in $(seq "$ROUNDS"); do
  part handshakes || break
  hs gw-full-$r -new; hs ngx-full-$r -new
  hs gw-resume-$r -reuse; hs ngx-resume-$r -reuse
done
gw_rss=$(grep -m1 VmRSS /proc/$GPID/status | awk '{ print $2 }')
stop "$GPID"; GPID=
stop "$NPID"; NPID=

# --- the table ------------------------------------------------------------------------------
med() { for r in $(seq "$ROUNDS"); do field "$1-$r" "$2"; done | median; }
all() { for r in $(seq "$ROUNDS"); do field "$1-$r" "$2"; done | xargs | tr ' ' '/'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
met() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { print ((b > 0 && a / b >= t) ? "yes" : "**no**") }'; }
scf() { sed -n "s/^syscalls label=$1 .* per_poll=\([^ ]*\).*/\1/p" syscalls.txt 2>/dev/null | tail -n 1; }
gp=$(med gw-poll rps) np=$(med ngx-poll rps)
g50=$(med gw-poll p50_ms) n50=$(med ngx-poll p50_ms)
g99=$(med gw-poll p99_ms) n99=$(med ngx-poll p99_ms)
gd=$(med gw-dl MBps) nd=$(med ngx-dl MBps)
gm=$(field gw-idle kib_per_conn) nm=$(field ngx-idle kib_per_conn)
gf=$(med gw-full server_cpu_us_per_conn) nf=$(med ngx-full server_cpu_us_per_conn)
gr=$(med gw-resume server_cpu_us_per_conn) nr=$(med ngx-resume server_cpu_us_per_conn)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
head=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
{
  echo "# bulwark-gateway against nginx"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores ($cpu), gateway binary sha256"
  echo "$(sha256sum "$GW" | cut -c1-12)… (HEAD $head, working tree may differ), nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'),"
  echo "$(dpkg-query -W -f '${Package} ${Version}, ' libmicrohttpd12 libgnutls30 libssl3 2>/dev/null | sed 's/, $//')."
  echo "Load average before / after the run: $load0 / $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Client and both servers share the cores: $THREADS gateway threads, $THREADS nginx"
  echo "workers, $THREADS client threads. Parts run:$PARTS. $DEVICES devices registered (provisioned for real in ${t_prov} s,"
  echo "imported through the operator API). TLS: gateway $(field gw-poll-1 tls) $(field gw-poll-1 cipher),"
  echo "nginx $(field ngx-poll-1 tls) $(field ngx-poll-1 cipher); ECDSA P-256 server and device certificates."
  echo
  echo "| measure | gateway | nginx | ratio | target | met |"
  echo "|---|---:|---:|---:|---|---|"
  echo "| device polls/s, $((THREADS * CONNS)) keep-alive connections (median of $ROUNDS) | $gp | $np | $(ratio "$gp" "$np") | >= 0.7x | $(met "$gp" "$np" 0.7) |"
  echo "| device polls/s, a new token (ECDSA verify) on every request | $(med gw-polltok rps) | $np | $(ratio "$(med gw-polltok rps)" "$np") | reported | |"
  echo "| hawkBit DDI base polls/s (SWUpdate's poll, mTLS, no token) | $(med gw-ddi rps) | $np | $(ratio "$(med gw-ddi rps)" "$np") | reported | |"
  echo "| poll latency p50 (ms) | $g50 | $n50 | $(ratio "$g50" "$n50") | | |"
  echo "| poll latency p99 (ms) | $g99 | $n99 | $(ratio "$g99" "$n99") | reported | |"
  echo "| download $DL_MIB MiB, one connection (MB/s, median of $ROUNDS) | $gd | $nd | $(ratio "$gd" "$nd") | >= 0.8x | $(met "$gd" "$nd" 0.8) |"
  echo "| server CPU per poll (us, user + system) | $(med gw-poll server_cpu_us_per_req) | $(med ngx-poll server_cpu_us_per_req) | $(ratio "$(med gw-poll server_cpu_us_per_req)" "$(med ngx-poll server_cpu_us_per_req)") | | |"
  echo "| system calls per poll (strace -c -f, $((SC_CONNS * SC_REQS)) polls) | $(scf gw-sc) | $(scf ngx-sc) | $(ratio "$(scf gw-sc)" "$(scf ngx-sc)") | reported | |"
  echo "| memory per idle keep-alive TLS connection (KiB, $IDLE connections) | $gm | $nm | $(ratio "$gm" "$nm") | <= 2x | $(awk -v a="$gm" -v b="$nm" 'BEGIN { print ((b > 0 && a / b <= 2) ? "yes" : "**no**") }') |"
  echo "| server CPU per check-in on a new connection, full mTLS handshake (us, median of $ROUNDS) | $gf | $nf | $(ratio "$gf" "$nf") | reported | |"
  echo "| server CPU per check-in on a new connection, resumed session (us) | $gr | $nr | $(ratio "$gr" "$nr") | <= 1.5x | $(awk -v a="$gr" -v b="$nr" 'BEGIN { print ((b > 0 && a / b <= 1.5) ? "yes" : "**no**") }') |"
  echo
  echo "All runs (polls/s, p99 ms, MB/s per round):"
  echo
  echo "- gateway polls/s $(all gw-poll rps), p99 $(all gw-poll p99_ms); nginx $(all ngx-poll rps), p99 $(all ngx-poll p99_ms)"
  echo "- gateway MB/s $(all gw-dl MBps); nginx $(all ngx-dl MBps)"
  echo "- new connections (s_time, $HS_TIME s each): gateway full $(all gw-full server_cpu_us_per_conn) us,"
  echo "  resumed $(all gw-resume server_cpu_us_per_conn) us ($(all gw-resume resumed) of $(all gw-resume conns) resumed);"
  echo "  nginx full $(all ngx-full server_cpu_us_per_conn) us, resumed $(all ngx-resume server_cpu_us_per_conn) us"
  echo "  ($(all ngx-resume resumed) of $(all ngx-resume conns) resumed); connections/s gateway"
  echo "  $(all gw-full conns_per_s) full, $(all gw-resume conns_per_s) resumed; nginx $(all ngx-full conns_per_s), $(all ngx-resume conns_per_s)"
  echo "- idle RSS: gateway $(field gw-idle rss_before_kib) -> $(field gw-idle rss_after_kib) KiB,"
  echo "  nginx (master + workers) $(field ngx-idle rss_before_kib) -> $(field ngx-idle rss_after_kib) KiB;"
  echo "  gateway RSS at the end $gw_rss KiB"
  echo "- hawkBit DDI base polls/s $(all gw-ddi rps), p99 $(all gw-ddi p99_ms), CPU $(all gw-ddi server_cpu_us_per_req) us/poll"
  echo "- gateway with a token per request: polls/s $(all gw-polltok rps), p99 $(all gw-polltok p99_ms), CPU $(all gw-polltok server_cpu_us_per_req) us/poll"
  [ -s syscalls.txt ] && for s in gw ngx; do
    echo "- system calls per poll, $s, the most frequent (strace -c -f over every server thread):"
    sed -n "/^syscalls label=$s-sc /,/^syscalls/p" syscalls.txt | awk '/^  / { printf "%s%s %s", n++ ? ", " : "  ", $1, $2 } END { print "" }'
  done
  echo "- each poll: POST /api/v1/device/checkin with an ES256 token, one per connection"
  echo "  (signed before the timed phase), $REQS requests per connection per run; every answer 200"
  echo
  echo "What differs: nginx answers from its config (no token check, no registry), the"
  echo "gateway looks up the certificate's registration, checks the token (once per"
  echo "connection, or on every request in the per-request row: ECDSA verify and replay"
  echo "table) and reads the device's next action from SQLite (WAL, on tmpfs). Answer headers differ:"
  echo "gateway $(sed -n 's/.* hdr_bytes=\([0-9]*\).*/\1/p' gw-answer.txt) bytes, nginx $(sed -n 's/.* hdr_bytes=\([0-9]*\).*/\1/p' ngx-answer.txt) bytes."
  echo "nginx access_log off; the gateway formats its access log line and writes it to"
  echo "/dev/null. Over TLS without kernel TLS, nginx's sendfile does not apply (it reads"
  echo "the file and encrypts in user space), as libmicrohttpd over GnuTLS does."
  echo "Full log of this run: every result line below."
  echo
  echo '```'
  cat results.txt
  echo '```'
} > table.md
cp table.md "$OUT"
cat table.md
log "done in $(since "$t0") s; table in $OUT"
