#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The storage key wrapped by an AES key inside a PKCS#11 token (softhsm2 in
# a private token directory): the store round-trips, the wrapped key file
# holds no plaintext key, a wrong PIN or another token is refused with
# nothing changed on disk, and audit names the module that holds the key.
# Usage: store_pkcs11.sh BULWARK
set -u
B=$(realpath "$1")
. "$(dirname "$(realpath "$0")")/softhsmlib.sh"
token dev
token other
echo 9999 > badpin
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
"$B" keygen --out k.pem --pub p.pem >/dev/null
"$B" device init --dir dev --slot-size 65536 --pub p.pem --vendor-id $V --class-id $C >/dev/null
SK="pkcs11:module=$module;token=dev;object=storage;pin-source=$T/pin;wrapped=$T/dev/state/storage.wrapped"
conf() { # conf STORAGE_KEY_SPEC: device.conf with that storage key
    grep -v '^storage_key' dev/device.conf.orig > dev/device.conf
    echo "storage_key = $1" >> dev/device.conf
}
cp dev/device.conf dev/device.conf.orig
conf "$SK"
CF="--config dev/device.conf"

"$B" store set $CF wifi.psk Token-Wrapped-Secret-1 2>err.txt && ok || bad "set: $(cat err.txt)"
[ "$(stat -c %s dev/state/storage.wrapped 2>/dev/null)" = 68 ] && [ ! -e dev/state/storage.key ] \
    && ok || bad "wrapped key file missing or a plain storage key written"
[ "$("$B" store get $CF wifi.psk 2>err.txt)" = Token-Wrapped-Secret-1 ] && ok || bad "get: $(cat err.txt)"
! grep -qa Token-Wrapped-Secret dev/state/store && ok || bad "plaintext in the store"

sums() { sha256sum dev/state/store dev/state/storage.wrapped; }
# a wrong PIN, another token (no AES key there): refused, nothing written
for spec in "$(echo "$SK" | sed "s|pin-source=[^;]*|pin-source=$T/badpin|")" \
            "$(echo "$SK" | sed 's/token=dev/token=other/')"; do
    "$B" store set $CF wifi.psk Other >/dev/null 2>err.txt || bad "set: $(cat err.txt)"
    before=$(sums)
    conf "$spec"
    if "$B" store set $CF wifi.psk Changed >/dev/null 2>>err.txt; then bad "accepted $spec"; else ok; fi
    [ "$before" = "$(sums)" ] && ok || bad "disk changed after a refused key ($spec)"
    conf "$SK"
done
grep -q "CKR_PIN_INCORRECT\|AES key" err.txt && ok || bad "no reason given: $(cat err.txt)"
[ "$("$B" store get $CF wifi.psk 2>err.txt)" = Other ] && ok || bad "get after refusals: $(cat err.txt)"

# audit names the module that holds the storage key
"$B" audit init --out profile.conf >/dev/null
"$B" audit $CF --profile profile.conf --json > audit.json 2>err.txt
grep -q "PKCS#11 module $module, token 'dev'" audit.json && ok || bad "audit does not name the module: $(grep -o '"crypto.module[^}]*' audit.json)"
grep -q "The storage key is held by PKCS#11 module" audit.json && ok || bad "storage.protect does not name the module"

echo "store_pkcs11: $pass passed, $fail failed"
[ "$fail" = 0 ]
