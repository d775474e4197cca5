#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real agent and the fleet simulator run one cycle (agent/cycle.c): given
# the same agent.conf options and the same state, they must say the same to
# the gateway. One file-backed device (bulwark-agent --once, real slots,
# `bulwark boot` as its reboot) and one simulated device (--simulate 1
# --once), both with `version = pinned-1`, on the real gateway on loopback:
#  1. first check-in: both recorded as pinned-1, sequence 1, same attributes;
#  2. a campaign to fw-2: both download, install, reboot, confirm; both
#     send the same reports, and both are then recorded as pinned-1,
#     sequence 2 (agent.conf's version wins over the release installed;
#     the simulator's own copy of the cycle reported fw-2);
#  3. a blob corrupted in the gateway's blob_dir: both refuse it with the
#     same report; the real agent read its package file once.
# Usage: agent_same.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
GPID= PIDS=
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
. "$HERE/gwlib.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
head -c 150000 /dev/urandom > fw1.img
head -c 300000 /dev/urandom > fw2.img
head -c 200000 /dev/urandom > fw3.img
for s in 1 2 3; do
  "$B" sign --key rel.key --vendor-id $V --class-id $C --sequence $s --out fw$s.bwp fw$s.img >/dev/null
done
# the real device: factory image 1 installed and confirmed in slot a (as the
# simulator's devices start), its identity from CA ca/
"$B" device init --dir dev --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
"$B" provision --ca-dir ca --config dev/device.conf --device-id real-1 --argon2 1,1024,1 \
  >/dev/null 2>&1 || bad "provision"
for slot in b a; do
  { "$B" install --config dev/device.conf fw1.bwp && "$B" boot --config dev/device.conf &&
    "$B" confirm --config dev/device.conf; } >/dev/null || bad "factory image in slot $slot"
done
# the simulated device's template: the same slot size, release key, vendor, class
"$B" device init --dir tmpl --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
gw_operators admin

common() { # the options both share
  cat <<EOF
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
attributes = group=same,hw=x1
version = pinned-1
poll_min = 1
poll_max = 1
retry_min = 1
retry_max = 2
timeout = 5
EOF
}
confs() {
  { common; echo "device_config = $T/dev/device.conf"
    echo "reboot_command = \"$B\" boot --config $T/dev/device.conf"; } > real.conf
  { common; echo "device_config = $T/tmpl/device.conf"; echo "state_dir = $T/simstate"; } > sim.conf
}
U=https://127.0.0.1:0; confs
# a simulated device lives as long as its process: each run starts it
# from its factory image, sequence $FS
FS=1
SIM=(--simulate 1 --config sim.conf --fleet-dir fleet --ca-dir ca --id-prefix sim- --threads 1 --once --verbose)
"$AG" "${SIM[@]}" --prepare > prep.log 2>&1 || bad "prepare: $(tail -2 prep.log)"
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1"
confs
cat ca/registry.jsonl fleet/registry.jsonl > all.jsonl 2>/dev/null
check '[ "$(op $TOK_admin --data-binary @all.jsonl $U/api/v1/devices/import)" = 200 ]' "import"

# "ID VERSION/SEQUENCE ATTRIBUTES" of every device, sorted
devices() {
  op $TOK_admin "$U/api/v1/devices" >/dev/null
  python3 -c 'import json
d = json.load(open("body.txt")); d = d.get("devices", d) if isinstance(d, dict) else d
for x in sorted(d, key=lambda x: x["id"]):
    print("%s %s/%s %s" % (x["id"], x["version"], x["sequence"], json.dumps(x.get("attributes"), sort_keys=True)))'
}
# the reports a log shows, without device tag, action id and HTTP status
reports() { sed -n 's/^\(sim-000001: \)\{0,1\}report action [0-9]* \(.*\) (HTTP [0-9]*)$/\2/p' "$1"; }
both() { # the real agent's cycles, then the simulated device's
  local i
  for i in $(seq "$1"); do "$AG" --config real.conf --once >> real.log 2>&1; done
  "$AG" "${SIM[@]}" --factory-sequence $FS >> sim.log 2>&1
}

# --- 1. first check-in ------------------------------------------------------------------
both 1
R='{"group": "same", "hw": "x1"}'
check '[ "$(devices)" = "real-1 pinned-1/1 $R
sim-000001 pinned-1/1 $R" ]' "first check-in: $(devices)"

# --- 2. an update: the same reports, the same version at check-in ------------------------
op $TOK_admin --data-binary @fw2.bwp "$U/api/v1/releases?name=fw-2" >/dev/null
R2=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
op $TOK_admin -H "Content-Type: application/json" \
  --data "{\"name\":\"c2\",\"release_id\":$R2,\"filter\":{\"group\":\"same\"}}" $U/api/v1/campaigns >/dev/null
: > real.log; : > sim.log
both 2 # the real agent: install and reboot, then confirm; the simulator does both in one run
check '[ "$(devices)" = "real-1 pinned-1/2 $R
sim-000001 pinned-1/2 $R" ]' "after the update both report pinned-1, sequence 2: $(devices)"
check '[ "$(reports real.log)" = "$(reports sim.log)" ] && [ "$(reports real.log | wc -l)" = 3 ]' \
  "the same reports: real [$(reports real.log | tr '\n' '|')] sim [$(reports sim.log | tr '\n' '|')]"
check 'reports real.log | tail -1 | grep -q "^success: confirmed: fw-2 (sequence 2) runs from slot b$"' \
  "confirmed: $(reports real.log | tail -1)"
check '"$B" status --config dev/device.conf --json | grep -q "\"active_slot\":\"b\""' \
  "the real device runs slot b: $("$B" status --config dev/device.conf --json | head -c 300)"

# --- 3. a corrupted blob: the same refusal; the package read once -----------------------
FS=2 # the simulated device starts at sequence 2, as the real one runs now
op $TOK_admin --data-binary @fw3.bwp "$U/api/v1/releases?name=fw-3" >/dev/null
R3=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
SHA3=$(sha256sum < fw3.bwp | cut -c1-64)
"$(dirname "$(realpath "$0")")/flipbyte.sh" "blobs/sha256/$SHA3" 100000
op $TOK_admin -H "Content-Type: application/json" \
  --data "{\"name\":\"c3\",\"release_id\":$R3,\"filter\":{\"group\":\"same\"}}" $U/api/v1/campaigns >/dev/null
: > real.log; : > sim.log
both 1
check '[ "$(reports real.log)" = "$(reports sim.log)" ] &&
  reports real.log | tail -1 | grep -q "^failure: download refused: SHA-256 differs"' \
  "the same refusal: real [$(reports real.log | tr '\n' '|')] sim [$(reports sim.log | tr '\n' '|')]"
SIZE3=$(stat -c %s fw3.bwp)
check 'grep -q "^downloaded $SIZE3 bytes (.*; $SIZE3 read once)$" real.log' \
  "one read of $SIZE3 bytes: $(grep downloaded real.log)"
check '[ "$(devices)" = "real-1 pinned-1/2 $R
sim-000001 pinned-1/2 $R" ]' "both keep sequence 2: $(devices)"

check '! grep -q "Sanitizer\|runtime error" real.log sim.log' "sanitizer report"
echo "agent_same: $pass passed, $fail failed"
[ $fail = 0 ]
