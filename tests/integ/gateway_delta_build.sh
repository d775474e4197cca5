#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Deltas the gateway builds itself (docs/delta.md, "Through the gateway";
# docs/gateway.md): a real gateway on loopback, real agents (file-slot
# devices, `bulwark boot` as their reboot), no delta uploaded.
#  1. the build endpoint: a viewer gets 403, an unknown release 404, the
#     release itself or a newer one as the source 409;
#  2. with building by itself off (delta_sources = 0) an operator asks for
#     fw-2's delta from fw-p, a release no device runs (202, status
#     resource); the gateway is killed (SIGKILL) while it builds: no record;
#  3. restarted with building on: the operator's request is built again
#     (its marker survived), and the campaign to fw-2 makes the gateway
#     build the delta for fw-1 by itself and fail the one for fw-x, whose
#     stored package has a bit flipped (audited
#     release.delta_build_failed); the killed build's directory is gone;
#  4. the campaign view shows fw-1's delta ready with its predicted bytes
#     and fw-x's failed; the device running fw-1 installs through the
#     delta (far fewer bytes than the package), the devices running fw-x
#     and a release the gateway does not hold get the full package; every
#     slot holds fw-2's image.
# Usage: gateway_delta_build.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
GPID= PIDS=
. "$HERE/gwlib.sh"
. "$HERE/agentlib.sh"
gw_begin

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
delta_images 3000000
# fw-p: fw-1 patched elsewhere (no device runs it); fw-x: fw-2 with a run
# inserted (its stored package is tampered with below)
$PY - <<'EOF'
p = bytearray(open('fw1.img', 'rb').read())
for off in range(50000, 2900000, 131000):
    p[off] ^= 0x33
open('fwp.img', 'wb').write(p)
x = bytearray(open('fw2.img', 'rb').read())
x[1000000:1000000] = b'fw-x ' * 30
open("fwx.img", "wb").write(x[:2500000])
EOF
head -c 700000 /dev/urandom > fwo.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 1 --out fw1.bwp fw1.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fwo.bwp fwo.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 3 --out fwx.bwp fwx.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 4 --out fwp.bwp fwp.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 5 --compress --out fw2.bwp fw2.img >/dev/null

# devices: 1 runs fw-1, 2 fw-o (a release the gateway never gets), 3 fw-x
delta_devices 8388608 fw1.bwp fwo.bwp fwx.bwp
gw_operators admin viewer
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1" "delta_sources = 0"
delta_agents 3
R1=$(gw_release fw1.bwp fw-1); RX=$(gw_release fwx.bwp fw-x); RP=$(gw_release fwp.bwp fw-p); R2=$(gw_release fw2.bwp fw-2)
FULL=$(stat -c %s fw2.bwp)
D2=$(sha256sum < fw2.bwp | cut -c1-64)
# the stored fw-x: one bit of its payload flipped (the envelope still verifies)
"$HERE/flipbyte.sh" "blobs/sha256/$(sha256sum < fwx.bwp | cut -c1-64)" $(($(stat -c %s fwx.bwp) - 100000))

# --- 1. the endpoint's refusals --------------------------------------------------------
build() { op "$1" -X POST "$U/api/v1/releases/$2/deltas/$3/build"; }
status() { op $TOK_admin "$U/api/v1/releases/$1/deltas/$2/build" >/dev/null; sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' body.txt; }
check '[ "$(build $TOK_viewer $R2 $R1)" = 403 ]' "a viewer asks for a build"
check '[ "$(build $TOK_admin 999 $R1)" = 404 ] && [ "$(build $TOK_admin $R2 999)" = 404 ]' "unknown releases"
check '[ "$(build $TOK_admin $R2 $R2)" = 409 ]' "the release as its own source"
check '[ "$(build $TOK_admin $R1 $R2)" = 409 ]' "a newer release as the source"
check '[ "$(status $R2 $R1)" = none ]' "nothing built yet: $(cat body.txt)"

# --- 2. asked for, then killed while building -----------------------------------------
op $TOK_admin -H "Content-Type: application/json" \
  --data "{\"name\":\"c2\",\"release_id\":$R2,\"filter\":{\"group\":\"delta\"}}" $U/api/v1/campaigns >/dev/null
CID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt | head -1)
st=$(build $TOK_admin $R2 $RP)
check '[ "$st" = 202 ] && grep -q "\"status\":\"\(queued\|building\)\"" body.txt' "build asked: $st $(cat body.txt)"
s=; for i in $(seq 100); do s=$(status $R2 $RP); [ "$s" = building ] && break; sleep 0.1; done
check '[ "$s" = building ]' "the build runs: $s"
kill -KILL $GPID; wait $GPID 2>/dev/null
check '! ls blobs/delta/$D2-* >/dev/null 2>&1' "no delta record after the kill: $(ls blobs/delta 2>&1)"
check '[ -f blobs/delta/build-$R2-$RP ]' "the request is kept for the restart"
check 'ls -d blobs/tmp/dbuild-* >/dev/null 2>&1' "the killed build left its directory (the restart must remove it)"

# --- 3. restarted: built by itself for the campaign's devices -------------------------
sleep 0.5 # the build process follows the gateway (PR_SET_PDEATHSIG)
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1"
s=; for i in $(seq 600); do s=$(status $R2 $R1); [ "$s" = ready ] && break; sleep 0.1; done
check '[ "$s" = ready ]' "fw-1's delta built by the gateway: $s $(cat body.txt)"
PRED=$(sed -n 's/.*"predicted":\([0-9]*\).*/\1/p' body.txt)
check '[ -n "$PRED" ] && [ $((PRED * 3)) -lt $FULL ]' "predicted ${PRED:-?} bytes of $FULL"
s=; for i in $(seq 600); do s=$(status $R2 $RP); [ "$s" = ready ] && break; sleep 0.1; done
check '[ "$s" = ready ] && [ ! -f blobs/delta/build-$R2-$RP ]' "the operator's request built after the restart: $s"
s=; for i in $(seq 300); do s=$(status $R2 $RX); [ "$s" = failed ] && break; sleep 0.1; done
check '[ "$s" = failed ] && grep -q "BW_E_CHUNK" body.txt' "fw-x's build failed on its tampered package: $s $(cat body.txt)"
check '! ls -d blobs/tmp/dbuild-* >/dev/null 2>&1' "the killed gateway's build directory removed: $(ls blobs/tmp)"
op $TOK_admin "$U/api/v1/audit" >/dev/null
check 'grep -q "\"release.delta_built\".*source fw-1" body.txt' "the built delta audited"
check 'grep -q "\"release.delta_build_failed\".*source fw-x.*BW_E_CHUNK" body.txt' "the failed build audited: $(grep -o "release.delta[a-z_]*" body.txt | sort | uniq -c)"
check 'grep -q "delta of fw-2 failed: source fw-x" gw.err' "the failed build in the gateway log"
st=$(build $TOK_admin $R2 $R1)
check '[ "$st" = 200 ] && grep -q "\"status\":\"ready\"" body.txt' "asking again for a ready delta: $st"

# --- 4. the campaign view and the devices ---------------------------------------------
op $TOK_admin "$U/api/v1/campaigns/$CID" >/dev/null
check 'grep -q "\"source_release\":$R1,\"source_sequence\":1,\"status\":\"ready\",.*\"predicted\":$PRED}" body.txt' \
  "the campaign view: fw-1 ready: $(cat body.txt)"
check 'grep -q "\"source_release\":$RX,\"source_sequence\":3,\"status\":\"failed\",\"error\":\"[^\"]*BW_E_CHUNK" body.txt' \
  "the campaign view: fw-x failed"
delta_twice 1 2 3
GOT=$(delta_fetched 1)
check '[ -n "$GOT" ] && [ $((GOT * 3)) -lt $FULL ]' "device 1 fetched ${GOT:-?} bytes by delta of $FULL: $(tail -5 ag1.log)"
check 'slot_ok 1 && grep -q "confirmed: fw-2" ag1.log' "device 1's slot holds fw-2: $(tail -3 ag1.log)"
for d in 2 3; do
  check '! grep -q "^delta\|delta refused" ag$d.log && slot_ok $d && grep -q "confirmed: fw-2" ag$d.log' \
    "device $d got the full package: $(tail -5 ag$d.log)"
done

check '! grep -q "Sanitizer\|runtime error" ag1.log ag2.log ag3.log gw.err' "sanitizer report"
echo "gateway_delta_build: $pass passed, $fail failed"
[ $fail = 0 ]
