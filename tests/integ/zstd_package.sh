#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compressed packages (bulwark sign --compress, docs/package-format.md):
# a round trip (sign, inspect, verify, install from a file, a pipe and a URL
# into a file-slot device, the slot equals the image), then packages signed
# with one flaw each (tests/tools/zpkg_craft.c), in both compressed forms
# (one frame per chunk; one frame flushed at each chunk, what sign writes):
# an entry whose bytes are not the signed chunk, one that expands past the
# chunk size, a truncated one, a length table changed after signing. Each is refused
# by verify and install with its own error, and the slot keeps every byte.
# Usage: zstd_package.sh BULWARK ZPKG_CRAFT
set -u
B=$(realpath "$1"); CRAFT=$(realpath "$2"); HERE=$(dirname "$(realpath "$0")")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
run() { "$@" >out.txt 2>err.txt; echo $?; }
same() { cmp -s -n "$(stat -c %s "$2")" "$1" "$2"; } # SLOT IMAGE: the slot starts with the image
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe C=1492af14-2569-5e48-bf42-9b2d51f2ab45
S="--key k.pem --vendor-id $V --class-id $C"
"$B" keygen --out k.pem --pub p.pem >/dev/null
# a realistic image: documentation text and binaries, not random bytes
{ tar -cf - -C /usr/share/doc . 2>/dev/null; tar -cf - -C /usr/share/common-licenses . 2>/dev/null; } |
  head -c 600000 > img
check '[ "$(stat -c %s img)" = 600000 ]' "image: $(stat -c %s img) bytes"

rc=$(run "$B" sign $S --sequence 1 --compress --out z.bwp img)
check '[ $rc = 0 ] && grep -q "compressed with zstd level 19" out.txt' "sign --compress: $rc $(cat out.txt err.txt)"
check '[ "$(stat -c %s z.bwp)" -lt 500000 ]' "compressed package $(stat -c %s z.bwp) bytes for 600000"
rc=$(run "$B" inspect z.bwp)
check '[ $rc = 0 ] && grep -q "compression *zstd" out.txt' "inspect shows compression: $rc $(cat out.txt)"
rc=$(run "$B" inspect --json z.bwp)
check '[ $rc = 0 ] && grep -q "\"compression\":{\"algorithm\":\"zstd\"" out.txt' "inspect --json: $(cat out.txt)"
rc=$(run "$B" verify --pub p.pem z.bwp)
check '[ $rc = 0 ]' "verify compressed: $rc $(cat out.txt err.txt)"
rc=$(run "$B" sign $S --sequence 1 --compress-level 3 --out x.bwp img)
check '[ $rc = $(code usage) ] || [ $rc = 2 ]' "--compress-level without --compress: $rc"
rc=$(run "$B" sign $S --sequence 1 --compress --compress-level 23 --out x.bwp img)
check '[ $rc = $(code usage) ] || [ $rc = 2 ]' "--compress-level 23: $rc"
rc=$(run "$B" sign $S --sequence 1 --compress --out x.bwp --image-a img --image-b img)
check '[ $rc = $(code usage) ] || [ $rc = 2 ]' "--compress with A/B: $rc"
rc=$(run "$B" sign $S --sequence 1 --compress --compress-level 1 --out z1.bwp img)
check '[ $rc = 0 ] && "$B" verify --pub p.pem z1.bwp >/dev/null' "level 1: $rc $(cat err.txt)"

"$B" device init --dir dev --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null
rc=$(run "$B" install --config dev/device.conf z.bwp)
check '[ $rc = 0 ]' "install compressed: $rc $(cat out.txt err.txt)"
check 'same dev/slot-b.img img' "slot b does not hold the image"
"$B" boot --config dev/device.conf >/dev/null && "$B" confirm --config dev/device.conf >/dev/null
"$B" sign $S --sequence 2 --compress --out z2.bwp img >/dev/null
rc=$(run sh -c "'$B' install --config dev/device.conf - < z2.bwp")
check '[ $rc = 0 ] && same dev/slot-a.img img' "install compressed from a pipe into a: $rc $(cat err.txt)"

# from a URL (127.0.0.1, tests/integ/httpd.py): the same reader
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$B" boot --config dev/device.conf >/dev/null && "$B" confirm --config dev/device.conf >/dev/null
mkdir www && "$B" sign $S --sequence 3 --compress --out www/z3.bwp img >/dev/null
$PY "$HERE/httpd.py" www port 2>http.log & HTTPD_PID=$!
trap 'kill $HTTPD_PID 2>/dev/null; wait $HTTPD_PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
rc=$(run "$B" install --config dev/device.conf "http://127.0.0.1:$(cat port)/z3.bwp")
check '[ $rc = 0 ] && same dev/slot-b.img img' "install compressed from a URL: $rc $(cat err.txt)"
kill $HTTPD_PID; wait $HTTPD_PID 2>/dev/null

# signed, one flaw each: refused, and the free slot keeps every byte
mkdir crafted
check '"$CRAFT" k.pem img crafted' "zpkg_craft"
"$B" device init --dir dev2 --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null
head -c $((1 << 20)) /dev/urandom > fill
cp fill dev2/slot-b.img
for c in digest:BW_E_CHUNK expand:BW_E_SIZE trunc:BW_E_TRUNCATED table:BW_E_CHUNK \
         s-digest:BW_E_CHUNK s-expand:BW_E_SIZE s-trunc:BW_E_TRUNCATED s-table:BW_E_CHUNK; do
  f=${c%%:*} e=${c#*:}
  rc=$(run "$B" verify --pub p.pem crafted/$f.bwp)
  check '[ $rc = $(code $e) ]' "verify $f.bwp: $rc, want $e ($(code $e)): $(cat err.txt)"
  rc=$(run "$B" install --config dev2/device.conf crafted/$f.bwp)
  check '[ $rc = $(code $e) ]' "install $f.bwp: $rc, want $e: $(cat err.txt)"
  check 'cmp -s fill dev2/slot-b.img' "$f.bwp changed slot b"
done
rc=$(run "$B" verify --pub p.pem crafted/good.bwp)
check '[ $rc = 0 ]' "the crafter's honest frame-per-chunk package verifies: $rc $(cat err.txt)"
rc=$(run "$B" install --config dev2/device.conf crafted/s-good.bwp)
check '[ $rc = 0 ] && same dev2/slot-b.img img' "the crafter's honest stream package installs: $rc $(cat err.txt)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
