#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two bulwark-gateway instances on one PostgreSQL registry hand out one
# campaign to 1000 devices at once. Every device (gwload, a simulated fleet
# over mTLS) sends its first check-in to both instances at the same moment
# (--race: both answers must name the same action), then alternates between
# them for each request, so offers and reports cross instances. Checks: all
# 1000 devices finished; each has exactly one action, a success, the one
# gwload saw acknowledged; no device was ever offered two different
# actions; both instances served; the audit log shows the campaign.
# Usage: gateway_scale.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM GWLOAD DB-URL
# (DB-URL: PostgreSQL; run it through tests/contract/registry_pg.sh)
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); LOAD=$(realpath "$4"); DB=${5:?PostgreSQL URL}
N=${BW_SCALE_DEVICES:-1000}
# tmpfs when there is one: 1000 devices' files are written with fsync, and
# this test is about concurrency, not the disk (gateway_durability.sh is)
T=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
GPIDS='' LPID=''
cleanup() {
  local p
  [ -n "$LPID" ] && kill "$LPID" 2>/dev/null
  for p in $GPIDS; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
die() { echo "FAIL: $*" >&2; tail -n 20 gw-*.err >&2 2>/dev/null; exit 1; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test
t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
q() { psql "$DB" -XAtq -c "$1"; }

# --- server certificate, devices, release, operator -----------------------------
gw_server_cert
tp=$(date +%s.%N)
"$B" provision --ca-dir factory --count $N --out devs --argon2 1,1024,1 >/dev/null 2>prov.err ||
  die "provision: $(cat prov.err)"
t_prov=$(since "$tp")
"$B" keygen --out rel.key --pub rel.pub >/dev/null
head -c 4096 /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 3 --out fw.bwp fw.img >/dev/null ||
  die "sign"
ADMIN=$(openssl rand -hex 24)
echo "admin op-admin $(printf %s "$ADMIN" | sha256sum | cut -c1-64)" > operators

# --- two instances, started together (concurrent schema migration) -------------------
# one blob_dir: instances behind one name must serve the same packages
for g in a b; do
  cat > gw-$g.conf <<EOF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/factory/ca.crt
database = $DB
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
token_audience = $AUD
access_log = $T/access-$g.log
EOF
  "$GW" --config gw-$g.conf --port-file port-$g 2>gw-$g.err &
  GPIDS="$GPIDS $!"
done
for _ in $(seq 200); do [ -s port-a ] && [ -s port-b ] && break; sleep 0.05; done
[ -s port-a ] && [ -s port-b ] || die "the gateways did not start"
UA=https://127.0.0.1:$(cat port-a) UB=https://127.0.0.1:$(cat port-b)
req() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt "$@"; }
op() { req -H "Authorization: Bearer $ADMIN" "$@"; }

split -l 40 factory/registry.jsonl import. # each part under the default max_body
for f in import.*; do
  [ "$(op --data-binary @$f $UA/api/v1/devices/import)" = 200 ] || die "import: $(cat body.txt)"
done
check '[ "$(q "SELECT count(*) FROM devices WHERE status = 1")" = $N ]' "devices imported"
[ "$(op --data-binary @fw.bwp "$UB/api/v1/releases?name=fw-3")" = 201 ] || die "upload: $(cat body.txt)"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
[ "$(op -H "Content-Type: application/json" --data "{\"name\":\"scale\",\"release_id\":$RID}" \
  $UA/api/v1/campaigns)" = 201 ] || die "campaign: $(cat body.txt)"
CID=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
t_setup=$(since "$t0")

# --- the fleet on both instances ------------------------------------------------------
tl=$(date +%s.%N)
"$LOAD" cycle --devices devs --url "$UA,$UB" --race --cacert srvca.crt --aud $AUD --threads 16 \
  --out acked.txt --until 150 >load.out 2>load.err &
LPID=$!
wait $LPID; lrc=$?; LPID=
t_load=$(since "$tl")
cat load.out
check '[ $lrc = 0 ]' "gwload exit $lrc: $(tail -n 5 load.err)"
check 'grep -q "$N/$N devices done" load.out' "not every device finished"
check 'grep -q " 0 duplicate offers" load.out' "a device saw two different actions"

# --- what the registry says ----------------------------------------------------------
code=$(op $UB/api/v1/campaigns/$CID)
camp=$(cat body.txt)
check '[ "$code" = 200 ] && grep -q "\"success\":$N" body.txt' "campaign counts: $code $camp"
code=$(op $UB/api/v1/audit)
check '[ "$code" = 200 ] && grep -q "\"action\":\"campaign.create\",\"object\":\"scale\"" body.txt' \
  "audit has no campaign.create for scale: $code $(head -c 400 body.txt)"
# the access logs are complete once the gateways have stopped (SIGTERM flushes them)
for p in $GPIDS; do
  kill -TERM "$p"; wait "$p"; grc=$?
  check '[ $grc = 0 ]' "gateway exit status $grc after SIGTERM"
done
GPIDS=
served=
for g in a b; do
  c=$(grep -c '"path":"/api/v1/device/checkin"' access-$g.log)
  r=$(grep -c '/report"' access-$g.log)
  served="$served instance $g: $c check-ins, $r reports;"
  check '[ "$c" -ge $N ] && [ "$r" -ge $((N / 4)) ]' "instance $g served $c check-ins, $r reports"
done
check '[ "$(q "SELECT count(*) FROM actions")" = $N ]' "actions in the registry: $(q "SELECT count(*) FROM actions")"
check '[ "$(q "SELECT count(DISTINCT device_id) FROM actions WHERE campaign_id = $CID AND state = 3")" = $N ]' \
  "devices with a successful action"
check '[ -z "$(q "SELECT device_id FROM actions GROUP BY device_id HAVING count(*) > 1")" ]' \
  "a device has more than one action"
q "SELECT device_id || ' ' || id || ' success' FROM actions WHERE state = 3" | sort > registry.txt
sort acked.txt > acked_sorted.txt
check 'cmp -s registry.txt acked_sorted.txt' \
  "acked reports differ from the registry: $(diff registry.txt acked_sorted.txt | head -5 | tr '\n' ' ')"
check '[ "$(cut -d" " -f1 acked.txt | sort -u | wc -l)" = $N ]' "one acked report per device"

mean_ms() { # mean server-side time of requests whose path matches $1, both instances
  awk -F'"ms":' -v pat="$1" '$0 ~ pat { split($2, a, ","); s += a[1]; n++ }
    END { if (n) printf "%.1f", s / n; else printf "-" }' access-a.log access-b.log
}
echo "server time per request (mean): check-in $(mean_ms '/checkin"') ms, report $(mean_ms '/report"') ms"
echo "timings: provision $N devices ${t_prov}s, setup ${t_setup}s, fleet ${t_load}s, total $(since "$t0")s"
echo "served:$served"
echo "campaign: $camp"
echo "gateway_scale: $pass passed, $fail failed"
[ $fail = 0 ]
