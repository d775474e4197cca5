#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A/B packages (bulwark sign --image-a/--image-b, SUIT try-each on the
# component slot): a fresh device (slot a active) installs the image linked
# for b, then, after confirming b, the image linked for a. The install
# passes over the other slot's section without checking it, so a byte
# flipped there does not stop this install, while `bulwark verify` (both
# slots) refuses the package; a byte flipped in the slot's own section is
# refused before it is written.
# Usage: ab_package.sh BULWARK
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
same() { cmp -s -n "$(stat -c %s "$2")" "$1" "$2"; } # SLOT IMAGE: the slot starts with the image
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe C=1492af14-2569-5e48-bf42-9b2d51f2ab45
S="--key k.pem --vendor-id $V --class-id $C"
"$B" keygen --out k.pem --pub p.pem >/dev/null
head -c $((300 << 10)) /dev/urandom > a1; head -c $((200 << 10)) /dev/urandom > b1
head -c $((150 << 10)) /dev/urandom > a2; head -c $((250 << 10)) /dev/urandom > b2
rc=$(run "$B" sign $S --sequence 1 --out ab1.bwp --image-a a1 --image-b b1)
check '[ $rc = 0 ] && grep -q "for slot A" out.txt && grep -q "for slot B" out.txt' "sign A/B: $rc $(cat out.txt err.txt)"
"$B" sign $S --sequence 2 --out ab2.bwp --image-a a2 --image-b b2 >/dev/null
rc=$(run "$B" sign $S --sequence 2 --out x.bwp --image-a a2)
check '[ $rc = $(code usage) ] || [ $rc = 2 ]' "--image-a alone must be a usage error: $rc"
rc=$(run "$B" verify --pub p.pem ab1.bwp)
check '[ $rc = 0 ]' "verify A/B: $rc $(cat out.txt err.txt)"
rc=$(run "$B" inspect ab1.bwp)
check '[ $rc = 0 ] && grep -q "try-each" out.txt' "inspect shows the alternatives: $rc $(cat out.txt err.txt)"
"$B" device init --dir dev --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null

# fresh device: a active, b free: b's image goes into b
rc=$(run "$B" install --config dev/device.conf ab1.bwp)
check '[ $rc = 0 ]' "install into b: $rc $(cat out.txt err.txt)"
check '[ "$(field "j[\"trial_slot\"], j[\"slots\"][\"b\"][\"size\"]")" = "b $((200 << 10))" ]' \
  "b on trial with b's image size: $(field "j[\"trial_slot\"], j[\"slots\"][\"b\"][\"size\"]")"
check 'same dev/slot-b.img b1' "slot b does not hold image b1"
"$B" boot --config dev/device.conf >/dev/null && "$B" confirm --config dev/device.conf >/dev/null

# a byte of the slot's own section (a2's payload, after a2's list of 3
# entries): refused, nothing of it lands in a
ENV=$(( $(stat -c %s ab2.bwp) - 3 * 32 - (150 << 10) - 4 * 32 - (250 << 10) ))
cp ab2.bwp bad-own.bwp; flip bad-own.bwp $((ENV + 3 * 32 + 70000))
rc=$(run "$B" install --config dev/device.conf bad-own.bwp)
check '[ $rc = $(code BW_E_CHUNK) ]' "a flipped byte in a's own section: $rc $(cat err.txt)"
# a byte of the other slot's section (b2's payload): passed over unread
cp ab2.bwp bad-other.bwp; flip bad-other.bwp $((ENV + 3 * 32 + (150 << 10) + 4 * 32 + 1000))
rc=$(run "$B" verify --pub p.pem bad-other.bwp)
check '[ $rc = $(code BW_E_CHUNK) ]' "verify must check both slots' sections: $rc $(cat err.txt)"
rc=$(run "$B" install --config dev/device.conf bad-other.bwp)
check '[ $rc = 0 ]' "install into a with b's section damaged: $rc $(cat out.txt err.txt)"
check '[ "$(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"slots\"][\"a\"][\"size\"]")" = "b a $((150 << 10))" ]' \
  "a on trial with a's image size: $(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"slots\"][\"a\"][\"size\"]")"
check 'same dev/slot-a.img a2' "slot a does not hold image a2"
rc=$(run "$B" boot --config dev/device.conf)
check '[ $rc = 0 ] && grep -q "boot slot a" out.txt' "boot the trial a (its digest checked): $rc $(cat out.txt err.txt)"
# a package cut inside the other slot's section is refused: the manifest
# signs the package's length
"$B" confirm --config dev/device.conf >/dev/null
"$B" sign $S --sequence 3 --out ab3.bwp --image-a a1 --image-b b1 >/dev/null
head -c $(( $(stat -c %s ab3.bwp) - 10 )) ab3.bwp > cut3.bwp
rc=$(run "$B" install --config dev/device.conf cut3.bwp)
check '[ $rc = $(code BW_E_TRUNCATED) ]' "a cut A/B package (installing b, the last section): $rc $(cat err.txt)"
echo "ab_package: $pass passed, $fail failed"
[ $fail = 0 ]
