#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the gateway acknowledges survives kill -9. 200 provisioned devices
# (gwload, a simulated fleet over mTLS with one device token per request)
# work through a campaign; after a random 0.3-1.5 s the gateway is killed
# with SIGKILL and restarted on the same port; gwload retries through the
# outage and finishes. Then every report gwload saw acknowledged (2xx) must
# be a success in the registry (each one checked, with sqlite3 or psql),
# and the campaign must count 200 successes. Not a load benchmark.
# Usage: gateway_durability.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM GWLOAD [DB-URL]
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3"); LOAD=$(realpath "$4"); DB=${5:-}
N=200
INSTALL_MS=${BW_LOAD_INSTALL_MS:-100} # a device's pause between offer and report
T=$(mktemp -d)
GPID='' LPID=''
cleanup() {
  [ -n "$LPID" ] && kill "$LPID" 2>/dev/null
  [ -n "$GPID" ] && kill "$GPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
die() { echo "FAIL: $*" >&2; [ -f gw.err ] && tail -n 20 gw.err >&2; exit 1; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test
t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- server certificate, devices, release, operator -----------------------------
gw_server_cert
"$B" provision --ca-dir factory --count $N --out devs --argon2 1,1024,1 >/dev/null 2>prov.err ||
  die "provision: $(cat prov.err)"
"$B" keygen --out rel.key --pub rel.pub >/dev/null
head -c 4096 /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw.bwp fw.img >/dev/null ||
  die "sign"
ADMIN=$(openssl rand -hex 24)
echo "admin op-admin $(printf %s "$ADMIN" | sha256sum | cut -c1-64)" > operators
t_setup=$(since "$t0")

conf() { # conf LISTEN
  cat <<EOF
listen = $1
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/factory/ca.crt
database = ${DB:-sqlite:$T/registry.db}
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
token_audience = $AUD
access_log = $T/access.log
EOF
}
start_gw() { # start_gw LISTEN: sets GPID and P
  rm -f port
  conf "$1" > gw.conf
  "$GW" --config gw.conf --port-file port 2>>gw.err &
  GPID=$!
  for _ in $(seq 200); do
    [ -s port ] && break
    kill -0 $GPID 2>/dev/null || break
    sleep 0.05
  done
  P=$(cat port 2>/dev/null)
  [ -n "$P" ]
}
req() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt "$@"; }
op() { req -H "Authorization: Bearer $ADMIN" "$@"; }

start_gw 127.0.0.1:0 || die "gateway did not start"
PORT=$P U=https://127.0.0.1:$PORT
split -l 40 factory/registry.jsonl import. # each part under the default max_body
for f in import.*; do
  [ "$(op --data-binary @$f $U/api/v1/devices/import)" = 200 ] || die "import: $(cat body.txt)"
done
[ "$(op "$U/api/v1/devices")" = 200 ] && [ "$(grep -o '"id":' body.txt | wc -l)" = $N ] ||
  die "not all $N devices imported"
[ "$(op --data-binary @fw.bwp "$U/api/v1/releases?name=fw-2")" = 201 ] || die "upload: $(cat body.txt)"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
[ "$(op -H "Content-Type: application/json" --data "{\"name\":\"durable\",\"release_id\":$RID}" \
  $U/api/v1/campaigns)" = 201 ] || die "campaign: $(cat body.txt)"
CID=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)

# --- the fleet, and the kill ---------------------------------------------------------
"$LOAD" cycle --devices devs --url $U --cacert srvca.crt --aud $AUD --threads 8 \
  --out acked.txt --until 120 --install-ms "$INSTALL_MS" >load.out 2>load.err &
LPID=$!
delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + 1.2 * r / 32767 }')
sleep "$delay"
kill -9 $GPID; wait $GPID 2>/dev/null; GPID=
touch acked.txt
before=$(wc -l < acked.txt)
t_kill=$(date +%s.%N)
sleep 0.3 # an outage the fleet notices
for _ in 1 2 3 4 5; do # the port may take a moment to become free
  start_gw 127.0.0.1:$PORT && break
  kill $GPID 2>/dev/null; wait $GPID 2>/dev/null; GPID=; sleep 0.2
done
[ -n "$GPID" ] || die "gateway did not restart on port $PORT"
t_down=$(since "$t_kill")
wait $LPID; lrc=$?; LPID=
cat load.out
check '[ $lrc = 0 ]' "gwload exit $lrc: $(tail -n 5 load.err)"
check '[ "$before" -lt $N ]' "all $N reports were acked before the kill after ${delay}s: raise BW_LOAD_INSTALL_MS"
check 'grep -q "errors retried" load.out && ! grep -q " 0 errors retried" load.out' \
  "gwload saw no outage"

# --- the registry ---------------------------------------------------------------------
code=$(op $U/api/v1/campaigns/$CID)
check '[ "$code" = 200 ] && grep -q "\"success\":$N" body.txt' "campaign counts: $code $(cat body.txt)"
"$EXPORT" "file:$T/devs/dev-000001/device.key?storage-key=$T/devs/dev-000001/storage.key" d1.pem ||
  bad "export dev-000001"
# the real CLI as a second, independent client: dev-000001 has nothing left
"$B" device init --dir d1 --slot-size 65536 --pub rel.pub --vendor-id $V --class-id $C >/dev/null &&
  echo "data_dir = $T/devs/dev-000001" >> d1/device.conf || bad "device init"
tok=$("$B" token --config d1/device.conf --aud $AUD --ttl 300 2>/dev/null)
code=$(req --cert devs/dev-000001/device.crt --key d1.pem -H "Authorization: Bearer $tok" \
  --data "{}" $U/api/v1/device/checkin)
check '[ "$code" = 200 ] && grep -q "\"action\":null" body.txt' \
  "dev-000001 after the run: $code $(cat body.txt)"
kill -TERM $GPID; wait $GPID; grc=$?; GPID=
check '[ $grc = 0 ]' "gateway exit status $grc after SIGTERM"

SQL="SELECT device_id || ' ' || id FROM actions WHERE campaign_id = $CID AND state = 3"
if [ -n "$DB" ]; then
  q() { psql "$DB" -XAtq -c "$1"; }
else
  q() { sqlite3 "$T/registry.db" "$1"; }
fi
q "$SQL" | sort > registry.txt
awk '{ print $1 " " $2 }' acked.txt | sort > acked_pairs.txt
check '[ "$(awk "\$3 != \"success\"" acked.txt | wc -l)" = 0 ]' "gwload acked a state other than success"
check '[ "$(sort -u acked_pairs.txt | wc -l)" = "$(wc -l < acked_pairs.txt)" ]' "a report acked twice"
missing=$(comm -23 acked_pairs.txt registry.txt | wc -l)
check '[ "$missing" = 0 ]' "$missing acked reports are not successes in the registry: $(comm -23 acked_pairs.txt registry.txt | head -5 | tr '\n' ' ')"
check '[ "$(wc -l < registry.txt)" = $N ]' "$(wc -l < registry.txt) successes in the registry, want $N"
check '[ "$(q "SELECT count(*) FROM actions WHERE campaign_id = $CID")" = $N ]' "action count"
total=$(wc -l < acked.txt)
conflicts=$(sed -n 's/.* \([0-9]*\) conflicts.*/\1/p' load.out)
check '[ $((total + ${conflicts:-0})) = $N ]' "acked $total + conflicts $conflicts != $N"

echo "timings: setup ${t_setup}s, kill after ${delay}s, down ${t_down}s, total $(since "$t0")s"
if [ $fail = 0 ]; then
  echo "acked $before before the kill, $total total; all in the registry"
fi
echo "gateway_durability: $pass passed, $fail failed"
[ $fail = 0 ]
