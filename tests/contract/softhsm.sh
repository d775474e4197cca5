#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The PKCS#11 key backend against a real token: softhsm2 in a private token
# directory. Runs the shared key-backend contract, the backend's own checks
# (URI refusals, PINs, errors, object attributes), and interop with OpenSC's
# pkcs11-tool and openssl. Usage: softhsm.sh BUILD_DIR (where test_keystore
# and test_pkcs11 are built).
set -eu

build=${1:?usage: softhsm.sh BUILD_DIR}
module=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
    if [ -f "$m" ]; then module=$m; break; fi
done
for tool in softhsm2-util pkcs11-tool openssl; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (apt-get install softhsm2 opensc openssl)" >&2; exit 1; }
done
[ -n "$module" ] || { echo "FAIL: libsofthsm2.so not found (apt-get install softhsm2)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/tokens" "$tmp/out"
cat >"$tmp/softhsm2.conf" <<CONF
directories.tokendir = $tmp/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
SOFTHSM2_CONF=$tmp/softhsm2.conf
export SOFTHSM2_CONF

token=bulwark-test
pin=1234
softhsm2-util --init-token --free --label "$token" --pin "$pin" --so-pin 5678 >/dev/null
uri="pkcs11:module=$module;token=$token;object=device;pin-value=$pin"
p11() { pkcs11-tool --module "$module" --token-label "$token" "$@"; }

echo "== contract"
"$build/test_keystore" "$uri" 0

echo "== backend checks"
"$build/test_pkcs11" check "$module" "$token" "$pin" "$tmp"

echo "== interop: bulwark signs, pkcs11-tool reads the key, openssl verifies"
"$build/test_pkcs11" sign "$uri" "$tmp/out"
p11 --read-object --type pubkey --label device -o "$tmp/out/p11pub.der" >/dev/null
openssl pkey -pubin -inform DER -in "$tmp/out/p11pub.der" -outform DER -out "$tmp/out/p11pub.norm.der"
if ! cmp "$tmp/out/p11pub.norm.der" "$tmp/out/pub.der"; then
    echo "FAIL: public key from bulwark differs from pkcs11-tool's" >&2
    exit 1
fi
openssl dgst -sha256 -verify "$tmp/out/p11pub.norm.der" -keyform DER \
    -signature "$tmp/out/sig.der" "$tmp/out/msg"
printf 'x' >>"$tmp/out/msg"
if openssl dgst -sha256 -verify "$tmp/out/p11pub.norm.der" -keyform DER \
    -signature "$tmp/out/sig.der" "$tmp/out/msg" >/dev/null 2>&1; then
    echo "FAIL: openssl accepted the signature over another message" >&2
    exit 1
fi

echo "== interop: pkcs11-tool signs with the key, bulwark verifies"
p11 --login --pin "$pin" --sign --mechanism ECDSA --label device \
    -i "$tmp/out/hash" -o "$tmp/out/p11sig.raw" >/dev/null
"$build/test_pkcs11" verify "$uri" "$tmp/out/hash" "$tmp/out/p11sig.raw"

echo "== interop: pkcs11-tool lists the private key as sensitive, never extractable, sign only"
p11 --login --pin "$pin" --list-objects --type privkey >"$tmp/out/list" 2>&1
grep -q "sensitive, always sensitive, never extractable" "$tmp/out/list" &&
    grep -q "Usage: *sign$" "$tmp/out/list" ||
    { cat "$tmp/out/list" >&2; echo "FAIL: private key attributes as pkcs11-tool lists them" >&2; exit 1; }
echo "ok: pkcs11 backend on softhsm2 ($module)"
