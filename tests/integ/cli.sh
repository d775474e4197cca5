#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The bulwark CLI as a user meets it: keygen, sign, verify, inspect on real
# files, round trips at chunk boundaries, and every refusal with its own
# exit status. Usage: cli.sh BULWARK VECTORS_DIR
set -u
B=$(realpath "$1")
VEC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
# expect NAME CMD...: runs CMD, wants the exit status of error NAME (or 0 for OK)
expect() {
  local want=$1; shift
  local w; if [ "$want" = OK ]; then w=0; elif [ "$want" = USAGE ]; then w=2; else w=$(code "$want"); fi
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want ($w): $(cat err.txt)"; fi
  if [ "$got" != 0 ] && [ "$got" != 2 ] && ! grep -q "\[$want\]" err.txt; then bad "$*: message lacks [$want]"; fi
  if [ "$got" != 0 ] && [ "$(wc -l < err.txt)" != 1 ] && [ "$got" != 2 ]; then bad "$*: stderr not one line"; fi
}
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
OTHER=00000000-0000-0000-0000-000000000001
# flip FILE OFFSET: xor one bit of the byte at OFFSET, in place
flip() { "$(dirname "$(realpath "$0")")/flipbyte.sh" "$@"; }
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# --- keygen -----------------------------------------------------------------
expect OK "$B" keygen --out k.pem --pub p.pem
check '[ "$(stat -c %a k.pem)" = 600 ]' "private key mode is not 0600"
check 'grep -q "BEGIN PRIVATE KEY" k.pem && grep -q "BEGIN PUBLIC KEY" p.pem' "PEM headers"
expect USAGE "$B" keygen --out k.pem --pub p.pem
cp k.pem k.old
expect OK "$B" keygen --out k2.pem --pub p2.pem
check 'cmp -s k.pem k.old' "keygen without --force changed an existing key"
check '! cmp -s k.pem k2.pem' "two keygens gave the same key"
expect USAGE "$B" keygen --out k.pem
expect USAGE "$B" nosuchcommand
expect USAGE "$B" sign --bogus
check '"$B" --help | grep -q keygen && "$B" verify --help | grep -q -- --min-sequence' "--help lists commands and options"

# --- round trips at chunk boundaries ---------------------------------------
for n in 0 1 65535 65536 65537 200000; do
  head -c "$n" /dev/urandom > img$n
  expect OK "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 7 --out p$n img$n
  expect OK "$B" verify --pub p.pem --vendor-id $V --class-id $C --min-sequence 7 p$n
  check 'cmp -s <(tail -c "$n" p$n) img$n || [ "$n" = 0 ]' "payload of $n bytes not carried verbatim"
  "$B" inspect --json p$n > i.json
  check '$PY -c "import json,sys; j=json.load(open(\"i.json\")); c=j[\"components\"][0]; sys.exit(not (j[\"sequence\"]==7 and j[\"signed\"] and c[\"image_size\"]==$n and c[\"vendor_id\"]==\"$V\" and c[\"class_id\"]==\"$C\" and c[\"image_digest\"]==\"$(sha256sum img$n | cut -c1-64)\"))"' "inspect --json fields for $n bytes"
done
expect OK "$B" verify --pub p.pem - < p200000
expect USAGE "$B" sign --key k.pem --vendor-id nope --class-id $C --sequence 1 --out x img1
expect USAGE "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence -1 --out x img1
expect USAGE "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence " -1" --out x img1
expect USAGE "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 18446744073709551616 --out x img1
expect USAGE "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --uri '#x' --out x img1
expect USAGE "$B" verify --pub p.pem --min-sequence +1 p1
expect USAGE "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out x /dev/null
check '[ ! -e x ] && [ -z "$(ls x.tmp.* 2>/dev/null)" ]' "refused sign left files behind"
expect BW_E_KEY "$B" sign --key p.pem --vendor-id $V --class-id $C --sequence 1 --out x img1

# --- refusals -----------------------------------------------------------------
P=p200000
ENV=$("$B" inspect --json $P | $PY -c 'import json,sys; print(json.load(sys.stdin)["envelope_size"])')
LIST=$(( (200000 + 65535) / 65536 * 32 ))
expect BW_E_BADSIG "$B" verify --pub p2.pem $P
expect BW_E_VENDOR "$B" verify --pub p.pem --vendor-id $OTHER $P
expect BW_E_CLASS "$B" verify --pub p.pem --class-id $OTHER $P
expect BW_E_ROLLBACK "$B" verify --pub p.pem --min-sequence 8 $P
# one flipped bit in every byte of the envelope: each refused
# (on the 1-byte package, whose envelope has the same fields)
ENV1=$("$B" inspect --json p1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["envelope_size"])')
accepted=0
for ((o = 0; o < ENV1; o++)); do
  cp p1 f; flip f $o
  "$B" verify --pub p.pem f >/dev/null 2>&1 && accepted=$((accepted + 1))
done
check '[ $accepted = 0 ] && [ $ENV1 -gt 200 ]' "$accepted of $ENV1 envelope bit flips accepted"
cp $P f; flip f $((ENV + 5)); expect BW_E_CHUNK "$B" verify --pub p.pem f
cp $P f; flip f $((ENV + LIST - 1)); expect BW_E_CHUNK "$B" verify --pub p.pem f
cp $P f; flip f $((ENV + LIST)); expect BW_E_CHUNK "$B" verify --pub p.pem f
cp $P f; flip f $((ENV + LIST + 199999)); expect BW_E_CHUNK "$B" verify --pub p.pem f
# truncation at every boundary, and a trailing byte
for cut in 0 1 $((ENV - 1)) $ENV $((ENV + 31)) $((ENV + LIST)) $((ENV + LIST + 65536)) $((ENV + LIST + 199999)); do
  head -c $cut $P > f
  expect BW_E_TRUNCATED "$B" verify --pub p.pem f
done
cp $P f; printf x >> f; expect BW_E_TRAILING "$B" verify --pub p.pem f
# bare envelope
head -c $ENV $P > env.cbor
expect OK "$B" verify --pub p.pem --manifest-only env.cbor
expect BW_E_TRAILING "$B" verify --pub p.pem --manifest-only $P
expect OK "$B" inspect env.cbor
# oversized: a byte string claiming 4 GiB, and an envelope over the 1 MiB cap
printf '\xd8\x6b\xa1\x02\x5a\xff\xff\xff\xff' > big; head -c 2000000 /dev/zero >> big
expect BW_E_TOOBIG "$B" verify --pub p.pem big
expect BW_E_TOOBIG "$B" verify --pub p.pem --manifest-only big
# deep nesting
$PY -c 'import sys; sys.stdout.buffer.write(b"\xd8\x6b\xa1\x02" + b"\x81"*40 + b"\x00")' > deep
expect BW_E_DEPTH "$B" verify --pub p.pem deep
# not CBOR at all, and a missing file
head -c 100 /dev/urandom | tr '\000-\377' '\377' > junk
expect BW_E_FORMAT "$B" verify --pub p.pem junk
expect BW_E_IO "$B" verify --pub p.pem /nonexistent/pkg

# --- integrated payload -------------------------------------------------------
head -c 1000 /dev/urandom > small
expect OK "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 9 --integrated --out int.cbor small
expect OK "$B" verify --pub p.pem --manifest-only int.cbor
expect OK "$B" verify --pub p.pem int.cbor
cp int.cbor f; flip f $(( $(stat -c %s int.cbor) - 10 ))
expect BW_E_DIGEST "$B" verify --pub p.pem --manifest-only f
head -c 600000 /dev/urandom > medium
expect USAGE "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 9 --integrated --out x medium

# --- envelopes written by other SUIT implementations --------------------------
for ex in draft-suit-ex0 draft-suit-ex1 draft-suit-ex2 libcsuit-ex5-es256; do
  xxd -r -p "$VEC/$ex.hex" > $ex.cbor
  expect OK "$B" verify --pub "$VEC/draft-pub.pem" --vendor-id $V --class-id $C --manifest-only $ex.cbor
  expect BW_E_BADSIG "$B" verify --pub p.pem --manifest-only $ex.cbor
done
"$B" inspect --json draft-suit-ex1.cbor > i.json
check 'grep -q "http://example.com/file.bin" i.json && grep -q "\"sequence\":1" i.json' "inspect of draft example 1"
xxd -r -p "$VEC/libcsuit-ex0-esp256.hex" > esp.cbor
expect BW_E_ALG "$B" verify --pub "$VEC/draft-pub.pem" --manifest-only esp.cbor

# --- allocation failures: every one ends in a clean refusal, never a crash ----
nomem=$(code BW_E_NOMEM)
for ((n = 1; n <= 12; n++)); do
  BW_FAIL_ALLOC=$n "$B" verify --pub p.pem p200000 >/dev/null 2>err.txt; rc=$?
  check '[ $rc = 0 ] || [ $rc = $nomem ]' "BW_FAIL_ALLOC=$n verify: exit $rc ($(cat err.txt))"
  BW_FAIL_ALLOC=$n "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out fa img65537 >/dev/null 2>err.txt; rc=$?
  check '[ $rc = 0 ] || [ $rc = $nomem ]' "BW_FAIL_ALLOC=$n sign: exit $rc ($(cat err.txt))"
done

echo "$pass passed, $fail failed"
[ $fail = 0 ]
