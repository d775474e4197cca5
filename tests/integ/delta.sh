#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Delta packages (docs/delta.md): bulwark delta make / delta-plan, and
# bulwark install --delta from a file and from a URL (tests/integ/httpd.py,
# 127.0.0.1) into a file-slot device running the old image. Then the
# tampering cases, each ending with the new image in the free slot or a
# refused install, checked on the slot's bytes: every 64 KiB of the slot is
# either a chunk of the new image or what the slot held before (random
# bytes), never anything else: a forged plan, forged digests and index, a
# damaged running slot, a
# flipped frame, a server that ignores Range, one returning wrong ranges,
# one truncating them, one cutting connections mid-range; and a resume that
# does not fetch chunks the free slot already holds.
# Usage: delta.sh BULWARK
set -u
B=$(realpath "$1"); HERE=$(dirname "$(realpath "$0")")
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
T=$(mktemp -d)
HTTPD_PID=
trap '[ -n "$HTTPD_PID" ] && kill $HTTPD_PID 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
run() { "$@" >out.txt 2>err.txt; echo $?; }
same() { cmp -s -n "$(stat -c %s "$2")" "$1" "$2"; } # SLOT IMAGE: the slot starts with the image
# SLOT: each 64 KiB chunk is the new image's or the fill's (no unverified byte)
clean() {
  $PY - "$1" new.img fill <<'EOF'
import sys
s, n, f = (open(p, 'rb').read() for p in sys.argv[1:4])
C = 65536
bad = [i for i in range(0, len(s), C)
       if s[i:i + C] != f[i:i + C] and not (n[i:i + C] and s[i:i + len(n[i:i + C])] == n[i:i + C])]
if bad:
    print('chunks neither new nor untouched:', bad[:5], file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}
json() { grep '"event":"delta"' out.txt | sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p"; }
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe C=1492af14-2569-5e48-bf42-9b2d51f2ab45
S="--key k.pem --vendor-id $V --class-id $C"
"$B" keygen --out k.pem --pub p.pem >/dev/null
# realistic images: documentation and shared libraries, not random bytes;
# v2 has bytes inserted, patched here and there, and removed
{ tar -cf - -C /usr/share/doc . 2>/dev/null; tar -cf - -C /usr/lib/x86_64-linux-gnu . 2>/dev/null; } |
  head -c 3000000 > old.img
$PY - <<'EOF'
b = bytearray(open('old.img', 'rb').read())
b[400000:400000] = b'bulwark v2 ' * 20
for off in range(900000, 1800000, 97000):
    b[off] ^= 0x5a
del b[2200000:2200333]
open('new.img', 'wb').write(b)
EOF
"$B" sign $S --sequence 1 --out old.bwp old.img >/dev/null
"$B" sign $S --sequence 2 --compress --out new.bwp new.img >/dev/null
rc=$(run "$B" delta make old.img new.bwp --out new.bwd --json)
check '[ $rc = 0 ] && grep -q "\"delta\":[1-9]" out.txt' "delta make: $rc $(cat out.txt err.txt)"
rc=$(run "$B" delta-plan --json old.img new.bwd)
check '[ $rc = 0 ] && grep -q "\"source_match\":true" out.txt' "delta-plan: $rc $(cat out.txt err.txt)"
planned=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' out.txt)
full=$(stat -c %s new.bwp)
check '[ "$planned" -gt 0 ] && [ $((planned * 4)) -lt "$full" ]' "planned $planned bytes for a $full-byte package"
rc=$(run "$B" delta plan new.img new.bwd)
check '[ $rc = 0 ] && grep -q "NOT the one" out.txt' "plan against another image: $rc $(cat out.txt)"
rc=$(run "$B" delta make old.img new.bwd --out x.bwd)
check '[ $rc != 0 ]' "delta make from a delta, not a package: $rc"

head -c $((8 << 20)) /dev/urandom > fill
fresh() { # a device running old.img in slot b, slot a holding random bytes
  rm -rf dev
  "$B" device init --dir dev --slot-size $((8 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null
  "$B" install --config dev/device.conf old.bwp >/dev/null &&
    "$B" boot --config dev/device.conf >/dev/null && "$B" confirm --config dev/device.conf >/dev/null
  cp fill dev/slot-a.img
}

# a local delta file
fresh
rc=$(run "$B" install --config dev/device.conf --json --delta new.bwd --delta-only new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "install --delta (file): $rc $(cat err.txt)"
check '[ "$(json fetched)" = "$planned" ] && [ "$(json source_match)" = true ]' \
  "fetched $(json fetched), planned $planned: $(grep delta out.txt)"
check '[ "$(json reused)" -gt 0 ] && [ "$(json delta)" -gt 0 ] && [ "$(json refetched)" = 0 ]' \
  "chunk sources: $(grep delta out.txt)"
# running the source: the chunk list is rebuilt from the slot, not fetched
check '[ "$(json rebuilt)" = true ] && [ "$planned" -lt $(( $(stat -c %s new.img) / 65536 * 32 + 4096 )) ]' \
  "rebuilt list: $(grep delta out.txt)"
check '"$B" status --config dev/device.conf | grep -q "trial slot *a"' "slot a not on trial"

# forgeries (tests/integ/delta_forge.py): "same", a plan that claims the
# source holds every chunk at its offset; "digests", wrong digests that
# would rebuild a wrong list, and an index that claims every block is on
# the device at the same offset. The rebuilt list fails the signed digest,
# the delta's own list is fetched and each chunk the slot does not hold is
# fetched whole.
for mode in same digests; do
  $PY "$HERE/delta_forge.py" $mode new.bwd old.img forged.bwd
  fresh
  rc=$(run "$B" install --config dev/device.conf --json --delta forged.bwd --delta-only new.bwp)
  check '[ $rc = 0 ] && same dev/slot-a.img new.img' "forged $mode: $rc $(cat err.txt)"
  check '[ "$(json rebuilt)" = false ] && [ "$(json refetched)" -gt 0 ]' \
    "forged $mode: not rebuilt, chunks fetched whole: $(grep delta out.txt)"
done

# a damaged running slot: bits flipped in three places
fresh
for off in 100000 1000000 2500000; do "$HERE/flipbyte.sh" dev/slot-b.img $off; done
rc=$(run "$B" install --config dev/device.conf --json --delta new.bwd --delta-only new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "damaged running slot: $rc $(cat err.txt)"
check '[ "$(json rebuilt)" = false ] && [ "$(json source_match)" = false ] &&
       [ $(( $(json whole) + $(json refetched) )) -gt 0 ]' "damaged slot: $(grep delta out.txt)"

# a flipped byte in a frame (the last 64 KiB of the delta frames region
# precedes the whole frames; flip well inside the file)
cp new.bwd flipped.bwd
dz=$(stat -c %s new.bwd)
for off in $((dz / 5)) $((dz / 3)); do "$HERE/flipbyte.sh" flipped.bwd $off; done
fresh
rc=$(run "$B" install --config dev/device.conf --json --delta flipped.bwd --delta-only new.bwp)
check '([ $rc = 0 ] && same dev/slot-a.img new.img) || ([ $rc != 0 ] && clean dev/slot-a.img)' \
  "flipped frame bytes: $rc $(cat err.txt)"
# a bit flipped in the first delta frame: the list still rebuilds, that
# chunk does not pre-check and is decoded from its whole frame (the index
# section fetched for its offset)
cp new.bwd flipped.bwd
"$HERE/flipbyte.sh" flipped.bwd $($PY -c "import struct, sys
d = open('new.bwd', 'rb').read(128)
env, lst, pz = struct.unpack('>3Q', d[40:64])
print(128 + env + lst + pz + 20)")
fresh
rc=$(run "$B" install --config dev/device.conf --json --delta flipped.bwd --delta-only new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "flipped delta frame: $rc $(cat err.txt)"
check '[ "$(json rebuilt)" = true ] && [ "$(json refetched)" = 1 ]' \
  "flipped delta frame: $(grep delta out.txt)"
# the header's magic flipped: the delta is refused, the full package installs
cp new.bwd badhdr.bwd && "$HERE/flipbyte.sh" badhdr.bwd 3
fresh
rc=$(run "$B" install --config dev/device.conf --delta badhdr.bwd new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img && grep -q "installing new.bwp whole" err.txt' \
  "a broken delta falls back: $rc $(cat err.txt)"
fresh
rc=$(run "$B" install --config dev/device.conf --delta badhdr.bwd --delta-only new.bwp)
check '[ $rc = $(code BW_E_FORMAT) ] && cmp -s fill dev/slot-a.img' "--delta-only refuses: $rc $(cat err.txt)"

# resume: the free slot already holds the first half of the new image
fresh
dd if=new.img of=dev/slot-a.img bs=65536 count=20 conv=notrunc status=none
rc=$(run "$B" install --config dev/device.conf --json --delta new.bwd --delta-only new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "resume: $rc $(cat err.txt)"
check '[ "$(json resumed)" -gt 0 ] && [ "$(json fetched)" -lt "$planned" ]' "resume: $(grep delta out.txt)"

# from a URL: Range requests, a few of them
mkdir www && cp new.bwd new.bwp www/
serve() {
  [ -n "$HTTPD_PID" ] && kill $HTTPD_PID 2>/dev/null && wait $HTTPD_PID 2>/dev/null
  rm -f port
  $PY "$HERE/httpd.py" www port "$@" 2>http.log & HTTPD_PID=$!
  for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
  U=http://127.0.0.1:$(cat port)
}
serve
fresh
rc=$(run "$B" install --config dev/device.conf --json --delta $U/new.bwd --delta-only $U/new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "install --delta URL: $rc $(cat err.txt)"
reqs=$(grep -c "new.bwd" http.log)
check '[ "$reqs" -le 8 ] && [ "$(json fetched)" = "$planned" ] && ! grep -q "new.bwp" http.log' \
  "URL: $reqs requests, $(grep delta out.txt)"

# a server that ignores Range: the full package instead
serve --no-range
fresh
rc=$(run "$B" install --config dev/device.conf --delta $U/new.bwd $U/new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img && grep -q "BW_E_UNSUPPORTED" err.txt' \
  "no Range: falls back to the full package: $rc $(cat err.txt)"
fresh
rc=$(run "$B" install --config dev/device.conf --delta $U/new.bwd --delta-only $U/new.bwp)
check '[ $rc = $(code BW_E_UNSUPPORTED) ] && cmp -s fill dev/slot-a.img' "no Range, --delta-only: $rc $(cat err.txt)"

# wrong ranges: refused with --delta-only; the slot holds only verified chunks
serve --range-lie
fresh
rc=$(run "$B" install --config dev/device.conf --delta $U/new.bwd --delta-only $U/new.bwp)
check '[ $rc != 0 ] && clean dev/slot-a.img' "wrong ranges: $rc $(cat err.txt)"
check '! "$B" status --config dev/device.conf | grep -q "trial slot *a"' "wrong ranges: slot a on trial"
fresh
rc=$(run "$B" install --config dev/device.conf --delta $U/new.bwd $U/new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "wrong ranges, fallback: $rc $(cat err.txt)"

# connections cut in the middle of a range (twice for the same range): the
# rest of that range is asked for again, the install completes through the
# delta, and chunks already written are not fetched again
serve --drop-skip 3 --drop-after 300 --drops 2
fresh
rc=$(run "$B" install --config dev/device.conf --json --delta $U/new.bwd --delta-only $U/new.bwp)
check '[ $rc = 0 ] && same dev/slot-a.img new.img' "cut ranges: $rc $(cat err.txt)"
check '[ "$(json fetched)" = "$planned" ] && [ "$(awk '"'"'$4 == 206 && $5 == 300'"'"' http.log | wc -l)" = 2 ] &&
       [ "$(awk '"'"'{s += $5} END {print s}'"'"' http.log)" -lt "$full" ]' \
  "cut ranges: $(grep delta out.txt) $(cat http.log)"

# truncated ranges
serve --range-short 100
fresh
rc=$(run "$B" install --config dev/device.conf --delta $U/new.bwd --delta-only $U/new.bwp)
check '([ $rc = 0 ] && same dev/slot-a.img new.img) || ([ $rc != 0 ] && clean dev/slot-a.img)' \
  "truncated ranges: $rc $(cat err.txt)"
check '[ $rc = $(code BW_E_TRUNCATED) ]' "truncated ranges: $rc, want BW_E_TRUNCATED"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
