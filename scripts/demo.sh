#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo of what bulwark does today: a release key, a signed update
# package for a generated firmware image, its verification as a device would
# do it, inspection, the refusals that protect a device (tampered payload,
# wrong key, other hardware, rollback), and a simulated A/B device that
# installs, boots the new image on trial and confirms it. Before that, the
# factory step: devices provisioned with unique keys, certificates and
# passwords. Files stay in
# demo-out/.
set -u
B=$(realpath "$1")
cd "$(dirname "$0")/.."
OUT=$PWD/demo-out
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
VENDOR=3f1e8c2a-6d47-4b1e-9a55-0c7d2e4f8b10
CLASS=8d0b5e71-2c9a-4f3d-b6e8-91a4c7d2e053
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s|$B|bulwark|g"; "$@"; }
refuse() { # the command must fail; show its one-line reason
  printf '$ %s\n' "$*" | sed "s|$B|bulwark|g"
  if "$@" 2>err.txt; then echo "UNEXPECTED: accepted"; exit 1; fi
  sed 's/^/  refused: /' err.txt
}

step "0. Factory: every device gets its own key, certificate and password"
show "$B" provision --ca-dir factory-ca --org "Demo Devices" --count 3 --out fleet
echo "  certificates checked by openssl against the manufacturing CA:"
openssl verify -CAfile factory-ca/ca.crt fleet/*/device.crt | sed 's/^/    /'
echo "  unique factory passwords (for the label printer; devices keep only Argon2id hashes):"
sed 's/^/    /' fleet/passwords.csv
echo "  registry records for the gateway: $(wc -l < factory-ca/registry.jsonl) lines in factory-ca/registry.jsonl"

step "1. Release key (keep the private half offline)"
show "$B" keygen --out release.key --pub release.pub
ls -l release.key release.pub | awk '{print "  " $1, $NF}'

step "2. A 3 MiB firmware image"
head -c $((3 << 20)) /dev/urandom > firmware-2.img
echo "  firmware-2.img sha256 $(sha256sum firmware-2.img | cut -c1-64)"

step "3. Sign it: SUIT envelope (COSE ES256) + chunk digests + payload"
show "$B" sign --key release.key --vendor-id $VENDOR --class-id $CLASS --sequence 2 \
  --out firmware-2.bwp firmware-2.img

step "4. Verify as the device will: signature, manifest, every chunk, whole image"
show "$B" verify --pub release.pub --vendor-id $VENDOR --class-id $CLASS --min-sequence 2 firmware-2.bwp

step "5. Inspect"
show "$B" inspect firmware-2.bwp

step "6. What a device refuses"
cp firmware-2.bwp tampered.bwp
printf '\x00' | dd of=tampered.bwp bs=1 seek=$((2 << 20)) conv=notrunc status=none
echo "  (one byte changed at 2 MiB into the package)"
refuse "$B" verify --pub release.pub tampered.bwp
"$B" keygen --out attacker.key --pub attacker.pub >/dev/null
"$B" sign --key attacker.key --vendor-id $VENDOR --class-id $CLASS --sequence 9 \
  --out forged.bwp firmware-2.img >/dev/null
refuse "$B" verify --pub release.pub forged.bwp
refuse "$B" verify --pub release.pub --vendor-id 00000000-0000-4000-8000-000000000001 firmware-2.bwp
refuse "$B" verify --pub release.pub --min-sequence 3 firmware-2.bwp

step "7. A device: two slots, a trial boot, confirm"
show "$B" device init --dir device --slot-size $((4 << 20)) --pub release.pub \
  --vendor-id $VENDOR --class-id $CLASS
show "$B" provision --ca-dir factory-ca --config device/device.conf --device-id demo-0004
refuse "$B" provision --ca-dir factory-ca --config device/device.conf --device-id demo-0004
show "$B" install --config device/device.conf firmware-2.bwp
show "$B" boot --config device/device.conf
echo "  (the new image runs; its health check passes)"
show "$B" confirm --config device/device.conf
show "$B" status --config device/device.conf

step "8. The device refuses going back"
head -c $((1 << 20)) /dev/urandom > firmware-1.img
"$B" sign --key release.key --vendor-id $VENDOR --class-id $CLASS --sequence 1 \
  --out firmware-1.bwp firmware-1.img >/dev/null
refuse "$B" install --config device/device.conf firmware-1.bwp

step "9. Identity at work: a device token, the encrypted store, the security log"
show "$B" passwd --config device/device.conf --status
TOKEN=$("$B" token --config device/device.conf --aud https://gateway.example --ttl 300)
echo "  token (ES256, 5 minutes): ${TOKEN:0:60}..."
openssl x509 -in device/state/device.crt -noout -pubkey > device-cert.pub
show "$B" token verify --pub device-cert.pub --aud https://gateway.example "$TOKEN"
refuse "$B" token verify --pub device-cert.pub --aud https://other.example "$TOKEN"
printf 'wifi-passphrase-of-the-user' | "$B" store set --config device/device.conf wifi/psk - >/dev/null
show "$B" store list --config device/device.conf
if grep -q 'wifi-passphrase' device/state/store; then echo "UNEXPECTED: plaintext in the store"; exit 1; fi
echo "  (the store file holds no plaintext)"
show "$B" log show --config device/device.conf
show "$B" log verify --config device/device.conf
cp -r device/state/seclog seclog.orig
f=$(ls device/state/seclog/*.seg | head -1)
printf 'X' | dd of="$f" bs=1 seek=60 conv=notrunc status=none
echo "  (one byte of the security log changed)"
refuse "$B" log verify --config device/device.conf
rm -rf device/state/seclog && mv seclog.orig device/state/seclog
show "$B" store wipe --config device/device.conf --factory-reset

step "Done"
echo "  files are in $OUT"
