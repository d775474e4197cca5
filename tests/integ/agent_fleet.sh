#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The in-memory fleet simulator (bulwark-agent --simulate N) against the real
# bulwark-gateway on loopback (TLS, client certificates, SQLite): 20 devices
# with identities minted by the simulator from its own CA and imported
# through the operator API, in one process.
#  1. a phased campaign (two batches of 10) reaches every device: each
#     downloads, verifies, installs into its in-memory slot, reboots on
#     trial, confirms and reports; the registry lists every action success
#     and every device at fw-2, sequence 2.
#  2. a blob corrupted in the gateway's blob_dir: every device refuses it
#     (announced SHA-256), reports failure and keeps fw-2, sequence 2.
#  3. five devices that trust another release key refuse a genuine
#     package at the envelope (BW_E_BADSIG) and report failure.
# fips.agent_fleet runs it with BULWARK_CRYPTO_MODE=approved: the CLI, and
# through crypto_mode in gw.conf and agent.conf the gateway and the
# simulator, run in OpenSSL's FIPS provider; the gateway must then refuse a
# TLS 1.2 suite outside the approved list and accept an approved one.
# Usage: agent_fleet.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
GPID= SPID= PIDS=
cleanup() {
  for p in $SPID $PIDS; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
. "$HERE/gwlib.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 400 body.txt 2>/dev/null)]"; fi; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test
N=20

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
"$B" keygen --out other.key --pub other.pub >/dev/null
head -c 300000 /dev/urandom > fw2.img
head -c 200000 /dev/urandom > fw3.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw2.bwp fw2.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 3 --out fw3.bwp fw3.img >/dev/null
# the device template: slot size, release key, vendor and class
"$B" device init --dir tmpl --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
"$B" device init --dir tmplx --slot-size 1048576 --pub other.pub --vendor-id $V --class-id $C >/dev/null
gw_operators admin
# an agent.conf for the simulated devices (GROUP DEVICE-DIR)
sim_conf() {
  cat <<EOF
device_config = $T/$2/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/state
attributes = group=$1,hw=sim
poll_min = 1
poll_max = 1
retry_min = 1
retry_max = 2
jitter = 20
timeout = 5
crypto_mode = ${BULWARK_CRYPTO_MODE:-default}
EOF
}

# --- identities: minted by the simulator, imported through the operator API ----------
U=https://127.0.0.1:0 # not used by --prepare
sim_conf fleet tmpl > sim.conf
"$AG" --simulate $N --config sim.conf --fleet-dir fleet --ca-dir ca --threads 4 --prepare > prep.log 2>&1
check '[ $? = 0 ] && [ "$(wc -l < fleet/registry.jsonl)" = $N ] && [ -f ca/ca.crt ]' \
  "prepare: $(tail -2 prep.log)"
"$AG" --simulate $N --config sim.conf --fleet-dir fleet --ca-dir ca --prepare > prep2.log 2>&1
check 'grep -q "(0 new identities" prep2.log && [ "$(wc -l < fleet/registry.jsonl)" = $N ]' \
  "a second prepare keeps the identities: $(tail -1 prep2.log)"
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1"
check '[ "$(op $TOK_admin --data-binary @fleet/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
if [ "${BULWARK_CRYPTO_MODE:-}" = approved ]; then
  # the client is the system's openssl (default provider): it offers what
  # it is told, the gateway's approved-only priority string decides
  hs() { openssl s_client -connect 127.0.0.1:$P -CAfile srvca.crt -tls1_2 -cipher "$1" </dev/null >hs.txt 2>&1; }
  check 'hs ECDHE-ECDSA-AES256-GCM-SHA384 && grep -q "Cipher is ECDHE-ECDSA-AES256-GCM-SHA384" hs.txt' \
    "approved suite ECDHE-ECDSA-AES256-GCM-SHA384 not accepted"
  check '! hs ECDHE-ECDSA-CHACHA20-POLY1305 && ! grep -q "Cipher is ECDHE-ECDSA-CHACHA20" hs.txt' \
    "TLS 1.2 suite outside the list (ECDHE-ECDSA-CHACHA20-POLY1305) accepted"
  check '! hs ECDHE-ECDSA-AES256-SHA' "CBC suite (ECDHE-ECDSA-AES256-SHA) accepted"
  check 'grep -q "crypto_mode = approved" gw.conf && grep -q "crypto_mode = approved" sim.conf' "conf"
fi

upload() { # NAME FILE -> release id
  op $TOK_admin --data-binary @$2 "$U/api/v1/releases?name=$1" >/dev/null
  sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt
}
campaign() { # NAME RELEASE GROUP [EXTRA-JSON] -> campaign id
  op $TOK_admin -H "Content-Type: application/json" \
    --data "{\"name\":\"$1\",\"release_id\":$2,\"filter\":{\"group\":\"$3\"}${4:-}}" $U/api/v1/campaigns >/dev/null
  sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt
}
counts() { op $TOK_admin $U/api/v1/campaigns/$1 >/dev/null; python3 -c 'import json; a=json.load(open("body.txt"))["actions"]; print(" ".join("%s=%s" % (k, a[k]) for k in sorted(a) if a[k]))'; }
# "VERSION/SEQUENCE COUNT" of the devices of a group, one line each
versions() {
  op $TOK_admin "$U/api/v1/devices?filter=%7B%22group%22:%22$1%22%7D" >/dev/null
  python3 -c 'import json, collections
d = json.load(open("body.txt")); d = d.get("devices", d) if isinstance(d, dict) else d
c = collections.Counter("%s/%s" % (x["version"], x["sequence"]) for x in d)
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))'
}
wait_counts() { # CAMPAIGN WANT SECONDS
  local i; for i in $(seq $(($3 * 5))); do [ "$(counts $1)" = "$2" ] && return 0; sleep 0.2; done; return 1
}

# --- 1. the fleet, running in the background in one process --------------------------
sim_conf fleet tmpl > sim.conf
"$AG" --simulate $N --config sim.conf --fleet-dir fleet --ca-dir ca --threads 4 --verbose \
  > sim.log 2> sim.err &
SPID=$!
for i in $(seq 100); do [ "$(versions fleet)" = "sequence 1/1=$N" ] && break; sleep 0.2; done
check '[ "$(versions fleet)" = "sequence 1/1=$N" ]' "every device checked in at sequence 1: $(versions fleet)"
R2=$(upload fw-2 fw2.bwp)
CF=$(campaign fleet "$R2" fleet ',"batch_size":10,"success_threshold":100,"error_threshold":10')
check '[ -n "$CF" ]' "phased campaign"
wait_counts "$CF" "success=$N" 40
check '[ "$(counts $CF)" = "success=$N" ]' "campaign reached every device: $(counts $CF)"
for i in $(seq 20); do [ "$(versions fleet)" = "fw-2/2=$N" ] && break; sleep 0.2; done
check '[ "$(versions fleet)" = "fw-2/2=$N" ]' "every device reports fw-2 sequence 2: $(versions fleet)"

# --- 2. a tampered blob: refused, reported, old version kept ------------------------
R3=$(upload fw-3 fw3.bwp)
SHA3=$(sha256sum < fw3.bwp | cut -c1-64)
"$(dirname "$(realpath "$0")")/flipbyte.sh" "blobs/sha256/$SHA3" 150000
CT=$(campaign tamper "$R3" fleet ',"error_threshold":100')
wait_counts "$CT" "failure=$N" 40
check '[ "$(counts $CT)" = "failure=$N" ]' "tampered blob refused by every device: $(counts $CT)"
check '[ "$(grep -c "failure: download refused: SHA-256 differs" sim.log)" = $N ]' \
  "the failure reports name the digest: $(grep failure sim.log | head -1)"
sleep 2
check '[ "$(versions fleet)" = "fw-2/2=$N" ]' "every device still runs fw-2 sequence 2: $(versions fleet)"
kill -TERM $SPID; wait $SPID; rc=$?; SPID=
check '[ $rc = 0 ] && grep -q "simulated $N devices in 4 threads.* 0 errors, $N updates installed, $N confirmed, $N failures reported" sim.log' \
  "summary (exit $rc): $(tail -1 sim.log)"

# --- 3. devices that trust another release key refuse a genuine package -------------
sim_conf badkey tmplx > simx.conf
X=(--simulate 5 --config simx.conf --fleet-dir fleetx --ca-dir ca --id-prefix key- --once --json --verbose)
"$AG" "${X[@]}" --prepare > prepx.log 2>&1 || bad "prepare badkey: $(tail -2 prepx.log)"
check '[ "$(op $TOK_admin --data-binary @fleetx/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import badkey"
"$AG" "${X[@]}" > simx1.log 2>&1
check 'grep -q "\"devices\":5,.*\"cycles\":5,\"unreachable\":0,\"errors\":0" simx1.log' "first check-in: $(tail -1 simx1.log)"
CX=$(campaign badkey "$R2" badkey)
"$AG" "${X[@]}" > simx2.log 2>&1
check '[ "$(counts $CX)" = "failure=5" ]' "foreign release key: $(counts $CX)"
check '[ "$(grep -c "failure: install refused at envelope: .*BW_E_BADSIG" simx2.log)" = 5 ] &&
  grep -q "\"installed\":0,\"confirmed\":0,\"failure_reports\":5" simx2.log' \
  "refused at the signature: $(grep failure simx2.log | head -1) $(tail -1 simx2.log)"
check '[ "$(versions badkey)" = "sequence 1/1=5" ]' "badkey devices keep sequence 1: $(versions badkey)"

check '! grep -q "Sanitizer\|runtime error" sim.log sim.err simx1.log simx2.log' "sanitizer report"
kill -TERM $GPID; wait $GPID; rc=$?; GPID=
check '[ $rc = 0 ]' "gateway SIGTERM exit status $rc"
echo "agent_fleet: $pass passed, $fail failed"
[ $fail = 0 ]
