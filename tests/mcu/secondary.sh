#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 18, deliverable 5: an MCU updated through an IoT gateway. The real
# bulwark-gateway on loopback, a real bulwark-agent on the "gateway host"
# acting for the QEMU MPS2 board as a secondary (agent.conf secondaries,
# its own device id mcu-1 and certificate), the board's UART0 on a unix
# socket. Checked through the operator API and the board's flash file:
#  1. check-in: the registry knows mcu-1 with the sequence the board runs
#  2. a campaign to mcu-1: the agent downloads and verifies the A/B
#     package, forwards it over the UART, the board installs it (its own
#     checks), boots the trial; the registry shows the trial, then the
#     board's own confirm (success, sequence 2, bank A = the image)
#  3. an image that never confirms: the board falls back after its trial
#     boots; the campaign shows the failure, the registry sequence 2
#  4. a package damaged in the gateway's blob store: refused by the agent,
#     never sent to the board (no install on its console, bank unchanged)
#  5. a package signed by another key sent straight to the board's UART
#     (what a compromised host could do): the board refuses it
# Usage: secondary.sh WORKDIR BULWARK MPS2-FACTORY BULWARK-GATEWAY BULWARK-AGENT
set -u
work=$(cd "$1" && pwd) bulwark=$(realpath "$2") factory=$(realpath "$3")
GW=$(realpath "$4") AG=$(realpath "$5")
here=$(cd "$(dirname "$0")" && pwd)
fw=$work/fw
[ -f "$fw/boot.elf" ] || { echo "skipped: no firmware (the mcu.build test was skipped or not run)"; exit 77; }
. "$here/../integ/gwlib.sh"
gw_begin
B=$bulwark
log=$T/log
. "$here/mps2lib.sh"
[ "${BW_MCU_KEEP:-}" ] && trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; echo "kept $T"' EXIT

# --- the board: factory image (sequence 1, bank B) confirmed, then running
# with UART0 on a socket; resets reboot it (no -no-reboot) ----------------------------
fresh
echo "serve hold" > mps2.cmd
qemu-system-arm -M mps2-an386 -display none -monitor none \
  -semihosting-config enable=on,target=native -kernel "$fw/boot.elf" \
  -chardev socket,id=u0,path="$T/uart.sock",server=on,wait=off -serial chardev:u0 \
  > mcu.log 2>&1 &
PIDS="$PIDS $!"

# --- identities: this host (gw-host) and the board (mcu-1), one factory CA ---------
gw_server_cert
cp "$work/key.pub" rel.pub
for d in gw-host mcu-1; do
  "$B" device init --dir $d --slot-size 262144 --pub rel.pub --vendor-id $VENDOR --class-id $CLASS \
    >/dev/null || fail "device init $d"
  "$B" provision --ca-dir factory --config $d/device.conf --device-id $d --argon2 1,1024,1 \
    >/dev/null 2>&1 || fail "provision $d"
done
gw_operators admin
GW_VENDOR=$VENDOR GW_CLASS=$CLASS gw_start "$T/factory/ca.crt" "token_audience = $AUD" "poll_interval = 1"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"

cat > mcu-1.conf <<EOF
device_config = $T/mcu-1/device.conf
serial = unix:$T/uart.sock
attributes = group=mcu
serial_timeout = 20
EOF
cat > agent.conf <<EOF
device_config = $T/gw-host/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
attributes = group=gateways
reboot_command = true
poll_min = 1
poll_max = 1
retry_min = 1
retry_max = 2
timeout = 5
secondaries = $T/mcu-1.conf
EOF
"$AG" --config agent.conf --check-config > out.txt 2>&1 || fail "check-config: $(cat out.txt)"
once() { "$AG" --config agent.conf --once >> agent.log 2>&1; }
dev() { op $TOK_admin $U/api/v1/devices/$1 >/dev/null; cat body.txt; }
# the newest action of mcu-1: "STATE FEEDBACK"
last_action() {
  op $TOK_admin "$U/api/v1/devices/mcu-1/actions" >/dev/null
  /usr/bin/python3 -c 'import json; a=json.load(open("body.txt")); a=max(a, key=lambda x: x["id"]); print(a["state"], a["feedback"])'
}
counts() { op $TOK_admin $U/api/v1/campaigns/$1 >/dev/null; /usr/bin/python3 -c 'import json; a=json.load(open("body.txt"))["actions"]; print(" ".join("%s=%s" % (k, a[k]) for k in sorted(a) if a[k]))'; }
upload() { # NAME FILE -> release id
  op $TOK_admin --data-binary @$2 "$U/api/v1/releases?name=$1" >/dev/null
  sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt
}
campaign() { # NAME RELEASE -> campaign id
  op $TOK_admin -H "Content-Type: application/json" \
    --data "{\"name\":\"$1\",\"release_id\":$2,\"filter\":{\"group\":\"mcu\"}}" $U/api/v1/campaigns >/dev/null
  sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt
}
# ab SEQ: an A/B package (an image linked for each bank) of sequence SEQ
ab() {
  image a $1 4096 >/dev/null; image b $1 4096 >/dev/null
  "$B" sign --key "$work/key.pem" --vendor-id $VENDOR --class-id $CLASS --sequence $1 \
    --out ab$1.suit --image-a img_a_$1.bin --image-b img_b_$1.bin >/dev/null
}

# === 1. check-in for the board ========================================================
once || bad "first cycle: $(tail -5 agent.log)"
check 'dev mcu-1 | grep -q "\"sequence\":1" && dev mcu-1 | grep -q "\"group\":\"mcu\""' \
  "registry: mcu-1 checked in with sequence 1: $(dev mcu-1)"
check 'dev gw-host | grep -q "\"group\":\"gateways\""' "registry: the gateway host checked in too"

# === 2. a campaign to the board: forwarded, trial, the board's own confirm ==========
ab 2
C2=$(campaign mcu-2 "$(upload mcu-2 ab2.suit)")
check '[ -n "$C2" ]' "campaign 2"
once
check 'grep -q "mcu-1: verified, forwarded and installed by the device into slot a" agent.log' \
  "forwarded: $(tail -4 agent.log)"
check 'grep -q "install: BW_OK" mcu.log' "the board installed it: $(tail -3 mcu.log)"
once
check '[[ "$(last_action)" == "running on trial: slot a booted"* ]]' "registry shows the trial: $(last_action)"
check '[ "$(counts $C2)" = "running=1" ]' "campaign while on trial: $(counts $C2)"
echo "serve confirm" > mps2.cmd # the board's self-check passes
for i in 1 2 3; do once; [ "$(counts $C2)" = "success=1" ] && break; done
check '[ "$(counts $C2)" = "success=1" ]' "campaign 2 succeeded: $(counts $C2)"
check '[[ "$(last_action)" == "success confirmed by the device: mcu-2 (sequence 2) runs from slot a" ]]' \
  "confirm reported: $(last_action)"
once
check 'dev mcu-1 | grep -q "\"sequence\":2" && dev mcu-1 | grep -q "\"version\":\"mcu-2\""' \
  "registry: mcu-1 runs mcu-2: $(dev mcu-1)"
check 'cmp -s <(bank_bytes $A_OFF "$(stat -c %s img_a_2.bin)") img_a_2.bin' "bank A holds image A of sequence 2"

# === 3. an image that never confirms: the board falls back ===========================
ab 3
echo "serve crash" > mps2.cmd
C3=$(campaign mcu-3 "$(upload mcu-3 ab3.suit)")
once
check 'grep -q "installed by the device into slot b" agent.log' "sequence 3 forwarded: $(tail -3 agent.log)"
for i in 1 2 3 4; do once; [ "$(counts $C3)" = "failure=1" ] && break; done
check '[ "$(counts $C3)" = "failure=1" ]' "campaign 3 failed: $(counts $C3)"
check '[[ "$(last_action)" == "failure rolled back: the trial of slot b ended without a confirm; slot a runs" ]]' \
  "fallback reported: $(last_action)"
check '[ "$(grep -c "trial not confirmed, resetting" mcu.log)" -ge 3 ]' "the board's trial boots: $(grep -c "trial not confirmed" mcu.log)"
once
check 'dev mcu-1 | grep -q "\"sequence\":2"' "registry: mcu-1 back on sequence 2: $(dev mcu-1)"

# === 4. a damaged package never reaches the board ====================================
ab 4
R4=$(upload mcu-4 ab4.suit)
"$here/../integ/flipbyte.sh" blobs/sha256/"$(sha256sum < ab4.suit | cut -c1-64)" 3000
before=$(bank_bytes $B_OFF $BANK | sha256sum) installs=$(grep -c "^install:" mcu.log)
C4=$(campaign mcu-4 "$R4")
once
check '[ "$(counts $C4)" = "failure=1" ]' "damaged package refused: $(counts $C4)"
check '[[ "$(last_action)" == "failure download refused"* ]]' "refused by the agent: $(last_action)"
check '[ "$(grep -c "^install:" mcu.log)" = "$installs" ]' "the board was sent a damaged package"
check '[ "$(bank_bytes $B_OFF $BANK | sha256sum)" = "$before" ]' "bank B changed"

# === 5. the board does not trust the agent ==========================================
# a host that sends it a package signed by another key (what a compromised
# agent could do) gets a refusal; the bank is not written
"$B" keygen --out other.pem --pub other.pub >/dev/null
image b 5 4096 >/dev/null
"$B" sign --key other.pem --vendor-id $VENDOR --class-id $CLASS --sequence 5 --out rogue.suit \
  img_b_5.bin >/dev/null
before=$(bank_bytes $B_OFF $BANK | sha256sum)
verdict=$(/usr/bin/python3 - "$T/uart.sock" rogue.suit <<'EOF2'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])
pkg = open(sys.argv[2], "rb").read()
s.sendall(b"install %d\n" % len(pkg) + pkg)
buf = b""
while b"bw install " not in buf or not buf.split(b"bw install ", 1)[1].count(b"\n"):
    d = s.recv(256)
    if not d:
        break
    buf += d
print(buf.split(b"bw install ", 1)[1].split(b"\n")[0].decode() if b"bw install " in buf else "none")
EOF2
)
check '[ "$verdict" = BW_E_BADSIG ]' "the board's verdict on a package signed by another key: $verdict"
check '[ "$(bank_bytes $B_OFF $BANK | sha256sum)" = "$before" ]' "bank B written by a refused package"
once
check 'dev mcu-1 | grep -q "\"sequence\":2"' "registry after the rogue package: $(dev mcu-1)"

echo "mcu.secondary: $pass passed, $fail failed"
[ $fail = 0 ] || { tail -30 agent.log; tail -20 mcu.log; exit 1; }
