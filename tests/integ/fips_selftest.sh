#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# crypto_mode = approved and the FIPS provider's self-test (issue 21): the
# CLI loads the provider built into the build tree, its self-test passes
# and bulwark keygen works; then two induced failures, each in a copy of
# the provider: a fips.so with one bit flipped (the integrity test fails)
# and a fipsmodule.cnf whose module-mac is wrong. Each must stop the
# program with a clear error, write no key, and exit non-zero. An unknown
# BULWARK_CRYPTO_MODE is refused too.
# Usage: fips_selftest.sh BULWARK FIPSDIR
set -u
bw=$1 fdir=$2
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$fdir/openssl-fips.cnf" ] || { echo "skipped: no FIPS provider in $fdir (scripts/fips-provider.sh could not build it)"; exit 77; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# a copy of the installed provider whose config names the copy
copy() { # DIR
  mkdir -p "$1"
  cp "$fdir/fips.so" "$1/fips.so"
  sed "s|^module = .*|module = $1/fips.so|" "$fdir/fipsmodule.cnf" > "$1/fipsmodule.cnf"
  sed "s|^\.include .*|.include $1/fipsmodule.cnf|" "$fdir/openssl-fips.cnf" > "$1/openssl-fips.cnf"
}
run() { # DIR NAME: keygen in approved mode with DIR's provider
  BULWARK_CRYPTO_MODE=approved BULWARK_FIPS_CONF=$1/openssl-fips.cnf \
    "$bw" keygen --out "$t/$2.key" --pub "$t/$2.pub" >"$t/$2.out" 2>"$t/$2.err"
}

copy "$t/good"
if run "$t/good" good && [ -s "$t/good.pub" ]; then echo "ok: keygen in approved mode (self-test passed)"
else bad "keygen in approved mode: $(cat "$t/good.err")"; fi

# one bit flipped in the middle of the module: its HMAC no longer matches
copy "$t/flip"
size=$(stat -c %s "$t/flip/fips.so")
"$here/flipbyte.sh" "$t/flip/fips.so" $((size / 2))
if run "$t/flip" flip; then bad "a corrupted fips.so was accepted"
elif [ -e "$t/flip.key" ]; then bad "a key was written after the self-test failed"
elif grep -q "crypto_mode = approved: the FIPS provider's self-test Module_Integrity (HMAC) failed" "$t/flip.err"; then
  echo "ok: corrupted fips.so stops the program: $(head -c 300 "$t/flip.err")"
else bad "corrupted fips.so: unclear error: $(cat "$t/flip.err")"; fi

# the module's recorded checksum changed in fipsmodule.cnf
copy "$t/mac"
off=$(grep -b -o "^module-mac = " "$t/mac/fipsmodule.cnf" | cut -d: -f1)
# the first hex digit after "module-mac = ": flipping bit 0 keeps it a hex digit
"$here/flipbyte.sh" "$t/mac/fipsmodule.cnf" $((off + 14))
if cmp -s "$t/mac/fipsmodule.cnf" "$t/good/fipsmodule.cnf"; then bad "fipsmodule.cnf unchanged"; fi
if run "$t/mac" mac; then bad "a wrong module-mac was accepted"
elif [ -e "$t/mac.key" ]; then bad "a key was written after the self-test failed"
elif grep -q "crypto_mode = approved: the FIPS provider's self-test Module_Integrity (HMAC) failed" "$t/mac.err"; then
  echo "ok: wrong module-mac stops the program: $(head -c 300 "$t/mac.err")"
else bad "wrong module-mac: unclear error: $(cat "$t/mac.err")"; fi

# device.conf alone turns the mode on, before provisioning's first
# operation (the CA): the credential is PBKDF2; with a corrupted provider
# the same command stops
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe C=1492af14-2569-5e48-bf42-9b2d51f2ab45
"$bw" keygen --out "$t/rel.key" --pub "$t/rel.pub" >/dev/null
"$bw" device init --dir "$t/dev" --slot-size 65536 --pub "$t/rel.pub" --vendor-id $V --class-id $C >/dev/null
echo "crypto_mode = approved" >> "$t/dev/device.conf"
if env -u BULWARK_CRYPTO_MODE BULWARK_FIPS_CONF=$t/good/openssl-fips.cnf "$bw" provision --ca-dir "$t/ca" --config "$t/dev/device.conf" \
     --device-id unit-1 >"$t/prov.out" 2>"$t/prov.err" &&
   grep -q ':\$pbkdf2-sha256\$i=600000\$' "$t/dev/state/credentials"; then
  echo "ok: provision with device.conf's crypto_mode = approved: PBKDF2 credential"
else bad "provision in approved mode (device.conf): $(cat "$t/prov.err")"; fi
if env -u BULWARK_CRYPTO_MODE BULWARK_FIPS_CONF=$t/flip/openssl-fips.cnf "$bw" status --config "$t/dev/device.conf" >/dev/null 2>"$t/st.err"; then
  bad "status with a corrupted provider succeeded"
elif grep -q "dev/device.conf: crypto_mode = approved: the FIPS provider's self-test Module_Integrity" "$t/st.err"; then
  echo "ok: device.conf's approved mode with a corrupted provider stops the command"
else bad "device.conf + corrupted provider: $(cat "$t/st.err")"; fi

# an unknown mode name, in device.conf
sed -i 's/^crypto_mode = approved$/crypto_mode = fips/' "$t/dev/device.conf"
if env -u BULWARK_CRYPTO_MODE "$bw" status --config "$t/dev/device.conf" >/dev/null 2>"$t/st2.err"; then
  bad "crypto_mode = fips in device.conf accepted"
else echo "ok: crypto_mode = fips in device.conf refused: $(head -c 200 "$t/st2.err")"; fi

# an unknown mode name
if BULWARK_CRYPTO_MODE=fips "$bw" keygen --out "$t/x.key" --pub "$t/x.pub" 2>"$t/x.err"; then
  bad "BULWARK_CRYPTO_MODE=fips accepted"
elif grep -q "neither default nor approved" "$t/x.err"; then echo "ok: unknown mode refused"
else bad "unknown mode: $(cat "$t/x.err")"; fi
exit $fail
