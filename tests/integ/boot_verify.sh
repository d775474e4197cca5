#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `bulwark boot` checks each slot's image against the digest recorded at
# its install before choosing it: a trial slot modified after the install
# is forgotten and the device falls back; a modified active slot gives way
# to the other slot; with both modified nothing boots (exit BW_E_NOTFOUND);
# each rejection is in the security log. --no-verify keeps the old rule.
# Usage: boot_verify.sh BULWARK
set -u
B=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
run() { "$@" >out.txt 2>err.txt; echo $?; }
field() { "$B" status --config dev/device.conf --json | $PY -c "import json,sys; j=json.load(sys.stdin); v=eval(sys.argv[1]); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)" "$1"; }
flip() { "$(dirname "$(realpath "$0")")/flipbyte.sh" "$@"; } # FILE OFFSET: one bit of one byte
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe C=1492af14-2569-5e48-bf42-9b2d51f2ab45
"$B" keygen --out k.pem --pub p.pem >/dev/null
head -c $((300 << 10)) /dev/urandom > v1; head -c $((200 << 10)) /dev/urandom > v2
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out v1.bwp v1 >/dev/null
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 2 --out v2.bwp v2 >/dev/null
"$B" device init --dir dev --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null

# v1 into b, confirmed; v2 into a as a trial, then a's bytes modified
"$B" install --config dev/device.conf v1.bwp >/dev/null && "$B" boot --config dev/device.conf >/dev/null &&
  "$B" confirm --config dev/device.conf >/dev/null && "$B" install --config dev/device.conf v2.bwp >/dev/null
check '[ "$(field "j[\"active_slot\"], j[\"trial_slot\"]")" = "b a" ]' "setup: b active, a on trial"
flip dev/slot-a.img 150000
rc=$(run "$B" boot --config dev/device.conf)
check '[ $rc = 0 ] && grep -q "boot slot b" out.txt && grep -q "slot a modified since its install" err.txt' \
  "a modified trial slot was booted: $rc $(cat out.txt err.txt)"
check '[ "$(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"slots\"][\"a\"][\"sequence\"], j[\"highest_sequence\"]")" = "b None None 2" ]' \
  "after the rejected trial: $(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"slots\"][\"a\"][\"sequence\"], j[\"highest_sequence\"]")"
"$B" log verify --config dev/device.conf > lv.txt 2>&1; "$B" log show --config dev/device.conf > ls.txt 2>&1
check 'grep -q "tamper" ls.txt' "no tamper event in the security log: $(tail -3 ls.txt)"

# the active slot modified: nothing else verifies, so nothing boots
flip dev/slot-b.img 1000
rc=$(run "$B" boot --config dev/device.conf)
check '[ $rc = $(code BW_E_NOTFOUND) ] && grep -q "no slot holds an image that verifies" err.txt' \
  "a modified active slot was booted: $rc $(cat out.txt err.txt)"
# --no-verify: the rule without hashing (a bootloader that verifies itself)
flip dev/slot-b.img 1000
rc=$(run "$B" boot --config dev/device.conf --no-verify)
check '[ $rc = $(code BW_E_NOTFOUND) ]' "b was forgotten, --no-verify must not bring it back: $rc"

# an active slot modified while the other holds a good older image: the
# other boots (a fresh device: v1 in b confirmed, v2 in a confirmed)
rm -rf dev; "$B" device init --dir dev --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null
for p in v1.bwp v2.bwp; do
  "$B" install --config dev/device.conf $p >/dev/null && "$B" boot --config dev/device.conf >/dev/null &&
    "$B" confirm --config dev/device.conf >/dev/null
done
check '[ "$(field "j[\"active_slot\"]")" = a ]' "setup 2: a active"
flip dev/slot-a.img 10
rc=$(run "$B" boot --config dev/device.conf)
check '[ $rc = 0 ] && grep -q "boot slot b" out.txt && grep -q "slot a modified" err.txt' "fallback to the good slot: $rc $(cat out.txt err.txt)"
rc=$(run "$B" boot --config dev/device.conf)
check '[ $rc = 0 ] && grep -q "boot slot b" out.txt && ! grep -q modified err.txt' "second boot: $rc $(cat out.txt err.txt)"
echo "boot_verify: $pass passed, $fail failed"
[ $fail = 0 ]
