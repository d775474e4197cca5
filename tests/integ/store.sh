#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The secure store through the real binary on a simulated device: round
# trips (argument, stdin, file, binary), no plaintext in the file or the
# security log, caps, wrong key, every byte of both copies tampered,
# truncation, and wipe / factory reset confirmed from the file itself.
# Usage: store.sh BULWARK
set -u
B=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
expect() { # expect NAME|OK|USAGE CMD...
  local want=$1 w; shift
  case $want in OK) w=0 ;; USAGE) w=2 ;; *) w=$(code "$want") ;; esac
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want: $(cat err.txt)"; fi
}
flip() { "$(dirname "$(realpath "$0")")/flipbyte.sh" "$@"; } # flip FILE OFFSET
allzero() { [ "$(tr -d '\0' < "$1" | wc -c)" = 0 ]; }
# has FILE STRING: the bytes of STRING occur in FILE
has() { grep -qaF -- "$2" "$1"; }
# hasbytes FILE VALFILE: the first 64 bytes of VALFILE occur in FILE (an exact
# byte search: grep -F would split random bytes at each newline into short
# patterns, one of which can match by chance)
hasbytes() { $PY -c 'import sys; sys.exit(open(sys.argv[2],"rb").read()[:64] not in open(sys.argv[1],"rb").read())' "$1" "$2"; }
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
"$B" keygen --out k.pem --pub p.pem >/dev/null
"$B" device init --dir dev --slot-size 65536 --pub p.pem --vendor-id $V --class-id $C >/dev/null
CF="--config dev/device.conf"
S=dev/state/store
SK=dev/state/storage.key
MAX=1048576
COPY=$((MAX / 2))

# --- round trips -----------------------------------------------------------------
expect OK "$B" store list $CF
check '[ ! -s out.txt ] && [ ! -e $S ]' "list of no store: not empty, or it created the file"
expect BW_E_NOTFOUND "$B" store get $CF wifi.psk
expect OK "$B" store set $CF wifi.psk Plaintext-WiFi-Secret-1
check '[ -f $S ] && [ "$(stat -c %s $S)" = $MAX ] && [ "$(stat -c %a $S)" = 600 ] && [ -s $SK ]' "store file or storage key not created as expected"
expect OK "$B" store get $CF wifi.psk
check '[ "$(cat out.txt)" = Plaintext-WiFi-Secret-1 ]' "get returned $(cat out.txt)"
printf 'Stdin-Token-Value-2' | "$B" store set $CF api.token - >/dev/null
head -c 5000 /dev/urandom > bin.val
expect OK "$B" store set $CF blob --file bin.val
"$B" store get $CF blob > bin.out
check 'cmp -s bin.val bin.out' "binary value did not round-trip"
check '[ "$("$B" store get $CF api.token)" = Stdin-Token-Value-2 ]' "stdin value"
expect OK "$B" store list $CF
check '[ "$(tr "\n" " " < out.txt)" = "api.token blob wifi.psk " ]' "list: $(cat out.txt)"
"$B" store list $CF --json > l.json
check '$PY -c "import json; j=json.load(open(\"l.json\")); assert j[\"count\"]==3 and [k[\"size\"] for k in j[\"keys\"]]==[19,5000,23] and j[\"damaged_copies\"]==0"' "list --json: $(cat l.json)"
"$B" store get --json $CF wifi.psk > g.json
check '$PY -c "import json; j=json.load(open(\"g.json\")); assert j[\"value\"]==\"Plaintext-WiFi-Secret-1\" and bytes.fromhex(j[\"value_hex\"])==b\"Plaintext-WiFi-Secret-1\""' "get --json"
expect OK "$B" store set $CF wifi.psk Overwritten-Secret-3
check '[ "$("$B" store get $CF wifi.psk)" = Overwritten-Secret-3 ]' "overwrite"
# no plaintext anywhere: the store file (old and new values) and the log
for v in Plaintext-WiFi-Secret-1 Stdin-Token-Value-2 Overwritten-Secret-3; do
  check '! has $S $v' "store file holds the plaintext $v"
  check '! grep -rqaF -- $v dev/state/seclog dev/device.conf 2>/dev/null' "a log holds the plaintext $v"
done
check '! hasbytes $S bin.val' "store file holds the binary value"
expect OK "$B" store delete $CF api.token
expect BW_E_NOTFOUND "$B" store get $CF api.token
expect BW_E_NOTFOUND "$B" store delete $CF api.token

# --- refusals: usage, caps ----------------------------------------------------------
sum() { sha256sum < $S; }
s0=$(sum)
expect USAGE "$B" store set $CF "a b" v
expect USAGE "$B" store set $CF k
expect USAGE "$B" store set $CF k v --file bin.val
expect USAGE "$B" store get $CF "$(printf 'x%.0s' $(seq 65))"
expect USAGE "$B" store frob $CF
head -c 65537 /dev/zero > huge.val
expect BW_E_TOOBIG "$B" store set $CF huge --file huge.val
check 'grep -q "at most 65536 bytes" err.txt' "value cap message: $(cat err.txt)"
check '[ "$(sum)" = "$s0" ]' "refused set changed the store"
# a small store fills up: refused with a clear message, nothing changed
mkdir small; sed "s|^store_max = .*|store_max = 8192|; s|^# store = .*|store = $T/small/store|" dev/device.conf > small/device.conf
head -c 1000 /dev/urandom > k.val
n=0
while "$B" store set --config small/device.conf "k$n" --file k.val >/dev/null 2>err.txt; do n=$((n + 1)); [ $n -gt 10 ] && break; done
check '[ $n = 3 ] && grep -q "the store is full" err.txt' "small store: $n values fit; $(cat err.txt)"
cp small/store small.before
expect BW_E_TOOBIG "$B" store set --config small/device.conf more --file k.val
check 'cmp -s small/store small.before' "full store changed by a refused set"
expect OK "$B" store get --config small/device.conf k2

# --- wrong key, tampering, truncation ---------------------------------------------
cp $SK sk.good
head -c 32 /dev/urandom > $SK
expect BW_E_AUTH "$B" store get $CF wifi.psk
check 'grep -q "another storage key" err.txt && [ ! -s out.txt ]' "wrong key: $(cat err.txt)"
expect BW_E_AUTH "$B" store set $CF x y
check '[ "$(sum)" = "$s0" ]' "wrong key changed the store"
cp sk.good $SK
used=$(( 56 + $(od -An -tu4 --endian=big -j52 -N4 $S | tr -d ' ') + 32 ))
check '[ $used -gt 5000 ] && [ $used -lt 6000 ]' "image length $used"
cp $S good.store
# one copy damaged: the other gives the data, the damage is reported
flip $S 200
expect OK "$B" store get $CF wifi.psk
check '[ "$(cat out.txt)" = Overwritten-Secret-3 ] && grep -q "did not authenticate" err.txt' "one copy damaged: $(cat err.txt)"
cp good.store $S
flip $S $((COPY + used - 1))
expect OK "$B" store list $CF --json
check 'grep -q "\"damaged_copies\":1" out.txt' "damage in copy 1 not reported"
# bytes of the image flipped in both copies (every header byte, then a
# sample of records and MAC; tests/unit/test_store.c flips every byte):
# refused, no value printed
refused=0
offs="$(seq 0 55) $(seq 56 97 $((used - 33))) $(seq $((used - 32)) 4 $((used - 1)))"
for off in $offs; do
  cp good.store $S; flip $S $off; flip $S $((COPY + off))
  "$B" store get $CF wifi.psk >out.txt 2>err.txt; rc=$?
  if [ $rc -ne 0 ] && [ ! -s out.txt ]; then refused=$((refused + 1)); else bad "flip at $off: exit $rc, $(cat out.txt)"; fi
done
echo "tampered offsets refused: $refused"
check '[ $refused -gt 100 ]' "too few offsets tried ($refused)"
cp good.store $S
truncate -s $((MAX - 4096)) $S
expect BW_E_TRUNCATED "$B" store get $CF wifi.psk
check 'grep -q truncated err.txt && [ "$(stat -c %s $S)" = $((MAX - 4096)) ]' "truncated store: $(cat err.txt)"
cp good.store $S
expect OK "$B" store get $CF wifi.psk

# --- wipe and factory reset -------------------------------------------------------
expect OK "$B" store wipe $CF
check 'grep -q "erased 2 keys" out.txt && grep -q "blob, wifi.psk" out.txt && grep -q "read back as zero" out.txt' "wipe report: $(cat out.txt)"
check 'allzero $S && [ "$(stat -c %s $S)" = $MAX ]' "store file not all zero after wipe"
check '! hasbytes $S bin.val' "ciphertext-free: value bytes found"
expect OK "$B" store list $CF
check '[ ! -s out.txt ]' "store not empty after wipe"
check 'cmp -s $SK sk.good' "wipe touched the storage key"
"$B" store set $CF after.wipe works >/dev/null
check '[ "$("$B" store get $CF after.wipe)" = works ]' "store unusable after wipe"
expect OK "$B" store wipe $CF --factory-reset --json
check '$PY -c "import json; j=json.load(open(\"out.txt\")); assert j[\"erased_keys\"]==1 and j[\"names\"]==[\"after.wipe\"] and j[\"verified\"] and j[\"factory_reset\"] and j[\"bytes_zeroed\"]=='$MAX'"' "wipe --json: $(cat out.txt)"
# a store that does not open (tampered, key lost) is still erased
cp good.store $S; flip $S 100; flip $S $((COPY + 100))
expect OK "$B" store wipe $CF --factory-reset
check 'allzero $S && grep -q "did not open" out.txt && grep -q "factory reset" out.txt' "wipe of a damaged store: $(cat out.txt)"
cp good.store $S; rm $SK
expect OK "$B" store wipe $CF
check 'allzero $S' "wipe without the storage key"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
