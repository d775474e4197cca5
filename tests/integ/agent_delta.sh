#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Delta updates through the fleet (docs/delta.md, docs/gateway.md): real
# agents (file-slot devices, `bulwark boot` as their reboot) on a real
# gateway on loopback.
#  1. a delta of fw-2 made offline against fw-1 is uploaded; one made
#     against another release than it names, or carrying another
#     release's envelope, is refused;
#  2. a campaign to fw-2: the device running fw-1 is offered the delta,
#     installs through it (bytes fetched well below the full package) and
#     confirms; its slot holds fw-2's image. The device running fw-o is
#     offered no delta and installs the full package;
#  3. the stored delta tampered: a bit of a delta frame flipped, a third
#     device running fw-1 fetches that chunk whole (or falls back to the
#     full package); a bit of its envelope flipped, a fourth device falls
#     back to the full package; both slots hold fw-2's image.
# Usage: agent_delta.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
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
. "$HERE/agentlib.sh"
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
# not random bytes: documentation and libraries; fw-2 is fw-1 patched
delta_images 1500000
head -c 700000 /dev/urandom > fwo.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 1 --out fw1.bwp fw1.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fwo.bwp fwo.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 3 --compress --out fw2.bwp fw2.img >/dev/null
"$B" delta make fw1.img fw2.bwp --out fw2.bwd >/dev/null 2>&1 || check false "delta make"
"$B" delta make fwo.img fw2.bwp --out fw2o.bwd >/dev/null 2>&1 || check false "delta make (fw-o)"
"$B" delta make fw2.img fw1.bwp --out fw1.bwd >/dev/null 2>&1 || check false "delta make (fw-1)"

# four devices: 1, 3 and 4 run fw-1, 2 runs fw-o (factory image in both slots)
delta_devices 4194304 fw1.bwp fwo.bwp fw1.bwp fw1.bwp
gw_operators admin
# uploads only: the gateway builds none itself (gateway_delta_build.sh tests that)
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1" "delta_sources = 0"
delta_agents 4
R1=$(gw_release fw1.bwp fw-1); RO=$(gw_release fwo.bwp fw-o); R2=$(gw_release fw2.bwp fw-2)

# --- 1. uploads --------------------------------------------------------------------------
put() { op $TOK_admin -X PUT --data-binary @$1 "$U/api/v1/releases/$2/deltas/$3"; }
st=$(put fw2.bwd $R2 $RO)
check '[ "$st" = 422 ] && grep -q "source release" body.txt' "a delta naming another source: $st $(cat body.txt)"
st=$(put fw1.bwd $R2 $R1)
check '[ "$st" = 422 ] && grep -q "envelope" body.txt' "another release's delta: $st $(cat body.txt)"
st=$(put fw2.bwd $R2 $R1)
check '[ "$st" = 201 ] && grep -q "\"source_sequence\":1" body.txt' "delta upload: $st $(cat body.txt)"
PRED=$(sed -n 's/.*"predicted":\([0-9]*\).*/\1/p' body.txt)
FULL=$(stat -c %s fw2.bwp)
check '[ -n "$PRED" ] && [ $((PRED * 3)) -lt $FULL ]' "predicted $PRED bytes of $FULL"

# --- 2. a campaign: a delta for fw-1, the full package for fw-o ---------------------------
op $TOK_admin -H "Content-Type: application/json" \
  --data "{\"name\":\"c2\",\"release_id\":$R2,\"filter\":{\"group\":\"delta\"}}" $U/api/v1/campaigns >/dev/null
CID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt | head -1)
op $TOK_admin "$U/api/v1/campaigns/$CID" >/dev/null
check 'grep -q "\"transfer\":{\"full\":$FULL,\"by_source\":\[{\"source_release\":$R1,\"source_sequence\":1,.*\"predicted\":$PRED}\]}" body.txt' \
  "the campaign view's transfer: $(cat body.txt)"
op $TOK_admin "$U/api/v1/campaigns" >/dev/null
check 'grep -q "\"predicted\":$PRED}\]" body.txt' "the campaign list's transfer: $(cat body.txt)"
delta_twice 1 2
GOT=$(delta_fetched 1)
check '[ -n "$GOT" ] && [ $((GOT * 3)) -lt $FULL ]' "device 1 fetched ${GOT:-?} bytes by delta of $FULL: $(tail -5 ag1.log)"
check 'slot_ok 1' "device 1's slot b holds fw-2"
check 'grep -q "confirmed: fw-2" ag1.log' "device 1 confirmed: $(tail -3 ag1.log)"
check '! grep -q "^delta\|delta refused" ag2.log && slot_ok 2 && grep -q "confirmed: fw-2" ag2.log' \
  "device 2 (fw-o) got the full package: $(tail -5 ag2.log)"

# --- 3. the stored delta tampered: the chunk fetched whole, or the full package ----------
SHA=$(sha256sum < fw2.bwd | cut -c1-64)
# the delta frames end at PRED plus the chunk list (header bytes 48-55), which
# a device on the source rebuilds instead of fetching
LIST=$((16#$(od -An -tx1 -j48 -N8 "blobs/sha256/$SHA" | tr -d ' \n')))
"$HERE/flipbyte.sh" "blobs/sha256/$SHA" $((PRED + LIST - 50))
delta_twice 3
check 'grep -q "[1-9][0-9]* fetched whole after not verifying (installed)\|delta refused at" ag3.log &&
  slot_ok 3 && grep -q "confirmed: fw-2" ag3.log' "device 3 (a delta frame flipped): $(grep -a "delta" ag3.log | tail -3)"
"$HERE/flipbyte.sh" "blobs/sha256/$SHA" 200
delta_twice 4
check 'grep -q "delta refused at" ag4.log && slot_ok 4 && grep -q "confirmed: fw-2" ag4.log' \
  "device 4 (the envelope flipped) fell back to the full package: $(tail -5 ag4.log)"

check '! grep -q "Sanitizer\|runtime error" ag1.log ag2.log ag3.log ag4.log gw.err' "sanitizer report"
echo "agent_delta: $pass passed, $fail failed"
[ $fail = 0 ]
