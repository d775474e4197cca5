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
# Every device cycle is a real one: a check-in over mutual TLS with the
# device's certificate and token; an update is downloaded, verified in
# full, installed into an in-memory slot, booted on trial, confirmed and
# reported. CONN picks the connection mode (the agent's keep_connection and
# tls_resume): kept (the script's default; the agent's options: the connection stays
# open between polls, the next check-in goes out on it; the gateway keeps
# it for its idle_timeout, poll_interval x 1.25 + 30 s), resumed (a new
# connection per cycle resuming the TLS session: no full handshake), full
# (a new connection with a full handshake per cycle). Kept connections need
# a descriptor per device in the simulator and the gateway, and per
# gateway instance more client ports than the default ephemeral range
# (28,232) for over ~27,000 devices: the script raises the open-file limit
# (where the hard limit allows: else more GATEWAYS, each with its own
# simulator process, split the descriptors) and, as root, widens
# net.ipv4.ip_local_port_range for the run (restored at the end).
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
# Scale mode (issue 19): DB=pg runs the registry on a private PostgreSQL
# server (initdb on tmpfs, Unix socket only, stopped at the end; as root
# the server runs as $BW_PG_USER, default postgres); GATEWAYS=2 starts two
# gateway instances on that one registry, the devices split in halves
# (one simulator process and one device id prefix per instance, as DNS
# round robin would split them). Measured in addition: PostgreSQL CPU (the
# postmaster and every backend, those that ended included), the database
# size (pg_database_size) and its row writes (pg_stat_database) over the
# steady window. REF=0 skips the bench_gwpoll reference; WAIT_ALL=0
# measures after WARMUP s (default POLL/4) instead of waiting for every
# device's first poll (a round of 100,000 devices takes longer than the
# run). With WAIT_ALL=0 the campaign targets only the devices that have
# checked in (the registry learns a device's attributes from its
# check-in), and they poll again one POLL later: a campaign shorter than
# POLL sees no success. The 100,000-device run of bench/README.md (a
# campaign to every device; six instances because a kept connection is a
# descriptor on each side and the hard limit here is 20,000 per process):
# DB=pg GATEWAYS=6 GW_THREADS=1 THREADS=2 DEVICES=100002 CONN=kept POLL=300
# IDLE_TIMEOUT=3600 REF=0 WAIT_ALL=1 MEASURE=0.5 CAMPAIGN_MAX=1800
# PKG_KIB=16 (about 27 minutes; minting 100,002 identities takes 2.5 and
# importing them under 1).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
B=$BUILD/bulwark GW=$BUILD/bulwark-gateway AG=$BUILD/bulwark-agent LOAD=$BUILD/bench/bench_gwpoll
DEVICES=${DEVICES:-10000} POLL=${POLL:-60} THREADS=${THREADS:-4} GW_THREADS=${GW_THREADS:-2}
MEASURE=${MEASURE:-1} PKG_KIB=${PKG_KIB:-128} CAMPAIGN_MAX=${CAMPAIGN_MAX:-420}
REF_CONNS=${REF_CONNS:-500} CONN=${CONN:-kept}
DB=${DB:-sqlite} GATEWAYS=${GATEWAYS:-1} REF=${REF:-1} WAIT_ALL=${WAIT_ALL:-1}
WARMUP=${WARMUP:-$((POLL / 4))}
TOKEN_TTL=${TOKEN_TTL:-300} # the devices' token_ttl: a kept connection reuses its token until 3/4 of it
IDLE_TIMEOUT=${IDLE_TIMEOUT:-0} # the gateways' idle_timeout (0: their default, POLL x 1.25 + 30 s)
[ "$GATEWAYS" = 1 ] || [ "$DB" = pg ] || { echo "fleet.sh: GATEWAYS=$GATEWAYS needs DB=pg" >&2; exit 1; }
case $CONN in
  kept) KEEP=true RESUME=true ;; resumed) KEEP=false RESUME=true ;; full) KEEP=false RESUME=false ;;
  *) echo "fleet.sh: CONN is kept, resumed or full" >&2; exit 1 ;;
esac
# a descriptor per kept connection on both ends, in every process started
# here: one simulator and one gateway instance per DEVICES/GATEWAYS devices
NOFILE=$((DEVICES / GATEWAYS + 512))
if [ "$CONN" = kept ] && [ "$(ulimit -n)" -lt "$NOFILE" ]; then
  ulimit -Hn "$NOFILE" 2>/dev/null; ulimit -n "$NOFILE" 2>/dev/null ||
    { echo "fleet.sh: $((DEVICES / GATEWAYS)) kept connections per process need $NOFILE descriptors; the limit is $(ulimit -Hn) here (no CAP_SYS_RESOURCE?): use more GATEWAYS" >&2; exit 1; }
fi
PORTS0=''
if [ "$CONN" = kept ]; then
  read -r plo phi < /proc/sys/net/ipv4/ip_local_port_range
  if [ $((phi - plo)) -lt $((DEVICES / GATEWAYS + 2000)) ]; then
    [ "$(id -u)" -eq 0 ] && PORTS0="$plo $phi" &&
      sysctl -qw net.ipv4.ip_local_port_range="10000 65000" ||
      { echo "fleet.sh: $((DEVICES / GATEWAYS)) kept connections per gateway need a wider net.ipv4.ip_local_port_range" >&2; exit 1; }
  fi
fi
OUT=${OUT:-$ROOT/bench/results-fleet-latest.md}
for x in "$B" "$GW" "$AG" "$LOAD"; do
  [ -x "$x" ] || { echo "fleet.sh: $x missing (build first)" >&2; exit 1; }
done
# tmpfs: 10,000 devices' key files and the registry are written with fsync;
# this benchmark is about the gateway, not the disk
T=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
GPIDS='' SPIDS='' MPID='' PGBIN='' AS=''
stop() { [ -n "$1" ] || return 0; kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
stop_all() { local p; for p in "$@"; do stop "$p"; done; }
pg_stop() {
  [ -n "$PGBIN" ] && [ -f "$T/pg/postmaster.pid" ] || return 0
  $AS "$PGBIN/pg_ctl" -D "$T/pg" -m fast -w -t 20 stop >/dev/null 2>&1
}
cleanup() {
  stop "$MPID"; stop_all $SPIDS; stop_all $GPIDS; pg_stop; rm -rf "$T"
  [ -z "$PORTS0" ] || sysctl -qw net.ipv4.ip_local_port_range="$PORTS0"
}
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
cpu_ms() { # PID...: user+system CPU of the processes, ms
  local p; for p in "$@"; do cat "/proc/$p/stat"; done |
    awk -v t="$TCK" '{ s += $14 + $15 } END { print int(s * 1000 / t) }'
}
pg_cpu_ms() { # the postmaster, its live children, and the children it reaped
  [ -n "$PGBIN" ] || { echo 0; return; }
  local m; m=$(head -n 1 "$T/pg/postmaster.pid")
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$m/stat"
    for p in $(ps -o pid= --ppid "$m"); do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null; done
  } | awk -v t="$TCK" '{ s += $1 } END { print int(s * 1000 / t) }'
}
pg_q() { "$PGBIN/psql" -h "$T/pgsock" -p 5432 -U bw -d bwfleet -Atq -c "$1"; }
pg_writes() { [ -n "$PGBIN" ] && pg_q "select tup_inserted + tup_updated + tup_deleted || ' ' || xact_commit from pg_stat_database where datname = 'bwfleet'" || echo "0 0"; }
pg_size() { [ -n "$PGBIN" ] && pg_q "select pg_database_size('bwfleet')" || echo 0; }
rss_sum() { local p s=0; for p in "$@"; do s=$((s + $(kib "$p" VmRSS))); done; echo $s; }
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
keep_connection = $KEEP
tls_resume = $RESUME
token_ttl = $TOKEN_TTL
EOF
}
sim_conf https://127.0.0.1:1 > sim.conf
log "minting $DEVICES device identities (key, CSR, certificate from the simulator's CA)"
tp=$(now)
PER=$((DEVICES / GATEWAYS))
DEVICES=$((PER * GATEWAYS)) # a whole number per instance: the checks count these
for g in $(seq "$GATEWAYS"); do # fleet1 (ids dev-...), fleet2 (dev2-...): one per gateway
  pfx=dev-; [ "$g" = 1 ] || pfx=dev$g-
  "$AG" --simulate "$PER" --config sim.conf --fleet-dir fleet$g --ca-dir ca --id-prefix $pfx \
    --threads 2 --prepare > prep.log 2>&1 || die "prepare: $(tail -3 prep.log)"
done
t_mint=$(since "$tp")

# --- the registry: SQLite file, or a private PostgreSQL server -----------------------
DBURL=sqlite:$T/registry.db
if [ "$DB" = pg ]; then
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PGBIN=$d; done
  [ -n "$PGBIN" ] || die "PostgreSQL server binaries not found"
  chmod 755 "$T"; mkdir pg pgsock
  if [ "$(id -u)" -eq 0 ]; then
    AS="runuser -u ${BW_PG_USER:-postgres} --"; chown "${BW_PG_USER:-postgres}" pg pgsock
  fi
  $AS "$PGBIN/initdb" -D "$T/pg" -U bw --auth=trust -E UTF8 --locale=C.UTF-8 > initdb.log 2>&1 ||
    die "initdb: $(tail -3 initdb.log)"
  $AS "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pgsock/server.log" -w -t 30 \
    -o "-k $T/pgsock -c listen_addresses='' -p 5432" start > /dev/null || die "pg_ctl start"
  "$PGBIN/createdb" -h "$T/pgsock" -p 5432 -U bw bwfleet || die createdb
  DBURL="postgresql://bw@/bwfleet?host=$T/pgsock&port=5432"
fi

# --- the gateway ---------------------------------------------------------------------
gw_conf() { # N
cat <<EOF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/ca/ca.crt
database = $DBURL
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
token_audience = $AUD
access_log = $T/access$1.log
poll_interval = $POLL
threads = $GW_THREADS
max_connections = $((DEVICES / GATEWAYS + 512))
max_body = 4194304
EOF
[ "$IDLE_TIMEOUT" = 0 ] || echo "idle_timeout = $IDLE_TIMEOUT"
}
for g in $(seq "$GATEWAYS"); do
  gw_conf "$g" > gw$g.conf
  "$GW" --config gw$g.conf --port-file port$g 2>>gw.err &
  GPIDS="$GPIDS $!"
  for _ in $(seq 200); do [ -s port$g ] && break; sleep 0.05; done
  [ -s port$g ] || die "gateway $g did not start"
done
GPID=${GPIDS# }; GPID=${GPID%% *}
GPORT=$(cat port1) U=https://127.0.0.1:$(cat port1)
op() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt -H "Authorization: Bearer $ADMIN" "$@"; }
log "importing $DEVICES registry lines"
cat fleet*/registry.jsonl | split -l 1000 - import.
for f in import.*; do
  [ "$(op --data-binary @"$f" "$U/api/v1/devices/import")" = 200 ] || die "import: $(cat body.txt)"
done
rm -f import.*

# --- reference: fresh-connection polls from bench_gwpoll, simulator not running ------
ref_rps='not run (REF=0)' ref_cpu='not run'
field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p" | head -1; }
: > ref.txt
if [ "$REF" = 1 ]; then
log "reference: bench_gwpoll, one fresh mTLS connection and token per check-in"
"$LOAD" --port "$GPORT" --cacert srvca.crt --devices fleet1 --aud "$AUD" --threads 2 \
  --conns 2 --requests 1 --label warm >/dev/null || die "bench_gwpoll warm-up"
"$LOAD" --port "$GPORT" --cacert srvca.crt --devices fleet1 --aud "$AUD" --threads 2 \
  --conns "$REF_CONNS" --requests 1 --pids "$GPID" --label ref > ref.txt || die "bench_gwpoll"
ref_rps=$(field ref.txt rps) ref_cpu=$(field ref.txt server_cpu_us_per_req)
fi

# --- the fleet, steady state -----------------------------------------------------------
rss0=$(rss_sum $GPIDS)
db0=$(pg_size)
# the gateways' own background work with no device connected (sweeper,
# access log flush, ticket keys, delta builder), so the steady figure can
# be read per check-in with and without it
IDLE_S=${IDLE_S:-20}
i0=$(cpu_ms $GPIDS); sleep "$IDLE_S"; i1=$(cpu_ms $GPIDS)
idle_ms_s=$(awk -v c="$((i1 - i0))" -v s="$IDLE_S" 'BEGIN { printf "%.2f", c / s }')
log "gateways idle: $idle_ms_s ms CPU per second over $IDLE_S s"
log "starting $DEVICES simulated devices ($THREADS threads per $GATEWAYS simulator), first polls spread over $POLL s"
tstart=$(now)
for g in $(seq "$GATEWAYS"); do
  pfx=dev-; [ "$g" = 1 ] || pfx=dev$g-
  sim_conf "https://127.0.0.1:$(cat port$g)" > sim$g.conf
  "$AG" --simulate "$PER" --config sim$g.conf --fleet-dir fleet$g --ca-dir ca --id-prefix $pfx \
    --threads "$THREADS" --spread "$POLL" --json > sim$g.json 2>> sim.err &
  SPIDS="$SPIDS $!"
done
SPID=${SPIDS# }; SPID=${SPID%% *}
( while sleep 1; do echo "$(date +%s) $(rss_sum $GPIDS)"; done ) > rss.txt &
MPID=$!
polls() { cat access*.log | grep -c '"/api/v1/device/checkin"\|/api/v1/device/checkin'; }
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
if [ "$WAIT_ALL" = 1 ]; then
sleep "$POLL"
for _ in $(seq $((POLL * 3 / 5))); do
  [ "$(devlist)" = "sequence 1/1: $DEVICES" ] && break
  kill -0 "$SPID" 2>/dev/null || die "the simulator stopped: $(tail -3 sim.err)"
  sleep 5
done
first=$(devlist) t_first=$(since "$tstart")
else
  sleep "$WARMUP"; first="not waited for (WAIT_ALL=0, $WARMUP s warm-up)" t_first=$(since "$tstart")
fi
win=$(awk -v p="$POLL" -v m="$MEASURE" 'BEGIN { printf "%d", p * m }')
log "steady state: measuring for $win s"
read -r w0 x0 < <(pg_writes)
c0=$(cpu_ms $GPIDS) p0=$(polls) q0=$(cpu_ms $SPIDS) g0=$(pg_cpu_ms) t0=$(now)
sleep "$win"
c1=$(cpu_ms $GPIDS) p1=$(polls) q1=$(cpu_ms $SPIDS) g1=$(pg_cpu_ms) t1=$(now)
read -r w1 x1 < <(pg_writes)
st_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
st_polls=$((p1 - p0))
st_rps=$(awk -v n="$st_polls" -v s="$st_secs" 'BEGIN { printf "%.1f", n / s }')
st_cpu_pct=$(awk -v c="$((c1 - c0))" -v s="$st_secs" 'BEGIN { printf "%.1f", c / 10 / s }')
st_cpu_us=$(awk -v c="$((c1 - c0))" -v n="$st_polls" 'BEGIN { printf "%.1f", n ? c * 1000 / n : 0 }')
st_cpu_net_us=$(awk -v c="$((c1 - c0))" -v i="$idle_ms_s" -v s="$st_secs" -v n="$st_polls" \
  'BEGIN { x = c - i * s; if (x < 0) x = 0; printf "%.1f", n ? x * 1000 / n : 0 }')
st_sim_us=$(awk -v c="$((q1 - q0))" -v n="$st_polls" 'BEGIN { printf "%.1f", n ? c * 1000 / n : 0 }')
st_pg_us=$(awk -v c="$((g1 - g0))" -v n="$st_polls" 'BEGIN { printf "%.1f", n ? c * 1000 / n : 0 }')
st_rows=$(awk -v w="$((w1 - w0))" -v s="$st_secs" 'BEGIN { printf "%.1f", w / s }')
st_rows_per=$(awk -v w="$((w1 - w0))" -v n="$st_polls" 'BEGIN { printf "%.2f", n ? w / n : 0 }')
st_xact=$(awk -v w="$((x1 - x0))" -v s="$st_secs" 'BEGIN { printf "%.1f", w / s }')
st_rss=$(rss_sum $GPIDS)
sim_rss=$(rss_sum $SPIDS)
db1=$(pg_size)
before=$(devlist)
want_rps=$(awk -v d="$DEVICES" -v p="$POLL" 'BEGIN { printf "%.1f", d / p }')

# --- the campaign ------------------------------------------------------------------------
[ "$(op --data-binary @fw.bwp "$U/api/v1/releases?name=fw-2")" = 201 ] || die "upload: $(cat body.txt)"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
c2=$(cpu_ms $GPIDS) g2=$(pg_cpu_ms) p2=$(polls) tc=$(now)
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
c3=$(cpu_ms $GPIDS) g3=$(pg_cpu_ms) p3=$(polls) db2=$(pg_size)
cp_cpu_s=$(awk -v c="$((c3 - c2))" 'BEGIN { printf "%.1f", c / 1000 }')
downloads=$(cat access*.log | grep -c '/api/v1/device/download/')
versions=$(devlist)
stop "$MPID"; MPID=
stop_all $SPIDS; SPIDS=
hwm=0; for p in $GPIDS; do hwm=$((hwm + $(kib "$p" VmHWM))); done
rss_end=$(rss_sum $GPIDS)
rss_peak=$(awk '$2 > m { m = $2 } END { print m + 0 }' rss.txt)
sim=$(tail -qn1 sim*.json | tr '\n' ' ')
total_polls=$(polls)
stop_all $GPIDS; GPIDS=
# the mode as measured: the simulators' own count of the TLS connections
# their devices opened (and resumed), and the gateways' access logs
# (check-ins per client port, the handshake each connection began with)
conn_line=$(tail -qn1 sim*.json | /usr/bin/python3 -c '
import json, sys, collections
c = r = y = 0
for l in sys.stdin:
    try: d = json.loads(l)
    except ValueError: continue
    c += d.get("connections", 0); r += d.get("resumed", 0); y += d.get("cycles", 0)
print("%d device cycles opened %d TLS connections (%.3f per cycle), %d of them resumed (%.0f%%)" %
      (y, c, c / y if y else 0, r, 100.0 * r / c if c else 0))')
conn_line="$conn_line; gateway access logs: $(cat access*.log | /usr/bin/python3 -c '
import json, sys, collections
k = collections.Counter()
for l in sys.stdin:
    if "/api/v1/device/checkin" not in l: continue
    try: k[json.loads(l).get("tls", "?")] += 1
    except ValueError: pass
print(", ".join("%d check-ins on a %s-handshake connection" % (n, t) for t, n in sorted(k.items())))')"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { b += 0; printf "%.2f", b ? a / b : 0 }'; }
pg_campaign=''
[ "$DB" = pg ] && pg_campaign="PostgreSQL: $(awk -v c="$((g3 - g2))" 'BEGIN { printf "%.1f", c / 1000 }')"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
{
  echo "# bench/fleet: $DEVICES simulated devices against $GATEWAYS bulwark-gateway instance(s), registry $DB"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores ($cpu), HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)."
  echo "Load average before / after: $load0 / $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Gateway: $GATEWAYS instance(s), registry $DB on tmpfs, $GW_THREADS threads each, access log to a file."
  case $CONN in
    kept) echo "Connection mode: **kept** (keep_connection = true, tls_resume = true): each device keeps its" ;
          echo "mutual-TLS connection between polls and sends the next check-in on it; a connection the" ;
          echo "gateway closed is replaced with a resumed handshake. Simulator: one" ;;
    resumed) echo "Connection mode: **resumed** (keep_connection = false, tls_resume = true): a new connection" ;
          echo "per device cycle, resuming the device's TLS session (no full handshake). Simulator: one" ;;
    full) echo "Connection mode: **full** (keep_connection = false, tls_resume = false): a new connection" ;
          echo "with a full handshake per device cycle. Simulator: one" ;;
  esac
  if [ "$POLL" = 60 ]; then
    echo "process, $THREADS threads, on the same 2 cores. Real time: poll interval 60 s, no compression."
  elif [ "$POLL" -gt 60 ]; then
    echo "process per instance, $THREADS threads each, on the same 2 cores. Poll interval $POLL s:"
    echo "$(awk -v d="$DEVICES" -v p="$POLL" 'BEGIN { printf "%.1f", d / p }') check-ins/s offered, what $(awk -v d="$DEVICES" -v p="$POLL" 'BEGIN { printf "%d", d * 60 / p }') devices polling every 60 s would send."
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
  echo "| gateway CPU per check-in without the gateways' idle background ($idle_ms_s ms/s measured before the fleet) (us) | $st_cpu_net_us | | |"
  echo "| gateway CPU, steady state (% of one core) | $st_cpu_pct | | |"
  [ "$DB" = pg ] && echo "| PostgreSQL CPU per check-in (us, every server process) | $st_pg_us | | |"
  [ "$DB" = pg ] && echo "| registry row writes: per second / per check-in; commits per second | $st_rows / $st_rows_per; $st_xact | | |"
  [ "$DB" = pg ] && echo "| database size: before the fleet / after the steady window / after the campaign (MiB) | $(mib $((db0 / 1024))) / $(mib $((db1 / 1024))) / $(mib $((db2 / 1024))) | | |"
  echo "| simulator CPU per device cycle (us; TLS client, token, check-in) | $st_sim_us | | |"
  echo "| gateway RSS: before the fleet / steady / peak sampled / VmHWM (MiB) | $(mib "$rss0") / $(mib "$st_rss") / $(mib "$rss_peak") / $(mib "$hwm") | | |"
  echo "| campaign to all $DEVICES devices: 50% / 90% / 100% success (s) | $t50 / $t90 / ${t100:-not reached} | one poll interval: $POLL | $(ratio "${t100:-0}" "$POLL")x |"
  echo "| gateway CPU during the campaign (s) | $cp_cpu_s | $pg_campaign | |"
  echo
  echo "- polls served: $st_polls in the steady window; $((p3 - p2)) during the campaign; $total_polls in all; downloads $downloads"
  echo "- registry after the first round ($t_first s after the start): $first; before the campaign: $before; after: $versions"
  echo "- simulator RSS, steady state: $(mib "$sim_rss") MiB for $DEVICES devices"
  echo "- simulator: $sim"
  echo "- connections: $conn_line"
  echo "- campaign progress (s:success):$progress"
  echo "- reference: $(cat ref.txt)"
} | tee "$OUT"
