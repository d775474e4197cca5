#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo of what bulwark does today: a release key, a signed update
# package for a generated firmware image, its verification as a device would
# do it, inspection, the refusals that protect a device (tampered payload,
# wrong key, other hardware, rollback), and a simulated A/B device that
# installs, boots the new image on trial and confirms it. Before that, the
# factory step: devices provisioned with unique keys, certificates and
# passwords. Last, the fleet: bulwark-gateway on loopback (SQLite), four
# devices running bulwark-agent, release 2 rolled out in a phased campaign;
# three confirm it, the fourth fails its health check and rolls back. Every
# process the demo starts is stopped at the end. Files stay in demo-out/.
set -u
B=$(realpath "$1")
GW=$(dirname "$B")/bulwark-gateway AG=$(dirname "$B")/bulwark-agent
PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null' EXIT
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

step "10. The fleet: bulwark-gateway on loopback, four devices with bulwark-agent"
mkdir -p fleet-demo && cd fleet-demo
openssl ecparam -name prime256v1 -genkey -noout -out server-ca.key 2>/dev/null
openssl req -new -x509 -key server-ca.key -subj "/CN=demo server CA" -days 2 -out server-ca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA server-ca.crt -CAkey server-ca.key -CAcreateserial -days 2 \
  -extfile san.ext -out server.crt 2>/dev/null
OPTOK=$(openssl rand -hex 24)
echo "admin demo-admin $(printf %s "$OPTOK" | sha256sum | cut -c1-64)" > operators
F=$OUT/fleet-demo
{
  echo "listen = 127.0.0.1:0"
  echo "tls_cert = $F/server.crt"
  echo "tls_key = $F/server.key"
  echo "client_ca = $OUT/factory-ca/ca.crt"
  echo "database = sqlite:$F/registry.db"
  echo "blob_dir = $F/blobs"
  echo "release_keys = $OUT/release.pub"
  echo "vendor_id = $VENDOR"
  echo "class_id = $CLASS"
  echo "operator_tokens = $F/operators"
  echo "token_audience = https://gateway.demo"
  echo "access_log = $F/access.log"
  echo "poll_interval = 2"
} > gateway.conf
"$GW" --config gateway.conf --port-file port 2> gateway.log &
PIDS="$PIDS $!"
for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || { cat gateway.log; echo "gateway did not start"; exit 1; }
U=https://127.0.0.1:$(cat port)
echo "  gateway: $U (registry: fleet-demo/registry.db, SQLite)"
api() { curl -s --cacert server-ca.crt -H "Authorization: Bearer $OPTOK" "$@"; }
FLEET="sensor-01 sensor-02 sensor-03 sensor-04"
for d in $FLEET; do
  "$B" device init --dir $d --slot-size $((4 << 20)) --pub ../release.pub \
    --vendor-id $VENDOR --class-id $CLASS >/dev/null
  "$B" provision --ca-dir ../factory-ca --config $d/device.conf --device-id $d >/dev/null 2>&1
  { "$B" install --config $d/device.conf ../firmware-1.bwp && "$B" boot --config $d/device.conf &&
    "$B" confirm --config $d/device.conf; } >/dev/null
  health=true
  [ $d = sensor-04 ] && health="echo 'sensor-04: the new image does not see its sensor' >&2; false"
  {
    echo "device_config = $F/$d/device.conf"
    echo "gateway = $U"
    echo "ca_cert = $F/server-ca.crt"
    echo "audience = https://gateway.demo"
    echo "attributes = site=demo"
    echo "reboot_command = \"$B\" boot --config $F/$d/device.conf"
    echo "health_command = $health"
    echo "poll_min = 1"
    echo "poll_max = 2"
    echo "retry_min = 1"
    echo "retry_max = 4"
  } > $d/agent.conf
done
echo "  provisioned $FLEET (file keys, unique passwords); each runs release 1 (sequence 1)"
api --data-binary @../factory-ca/registry.jsonl $U/api/v1/devices/import >/dev/null
for d in $FLEET; do "$AG" --config $d/agent.conf --once >/dev/null 2>&1; done
REL=$(api --data-binary @../firmware-2.bwp "$U/api/v1/releases?name=fw-2" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
echo "  release 2 uploaded; the gateway verified its signature: release id $REL"
CAMP=$(api -H "Content-Type: application/json" \
  --data "{\"name\":\"spring\",\"release_id\":$REL,\"filter\":{\"site\":\"demo\"},\"batch_size\":2,\"success_threshold\":50,\"error_threshold\":50}" \
  $U/api/v1/campaigns | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
echo "  phased campaign $CAMP: batches of 2; a batch starts when half of the one before succeeded"
for d in $FLEET; do
  "$AG" --config $d/agent.conf > $d/agent.log 2>&1 &
  PIDS="$PIDS $!"
done
echo "  agents started (they poll every 1-2 s); campaign progress:"
last=
for i in $(seq 240); do
  c=$(api $U/api/v1/campaigns/$CAMP | sed -n 's/.*"actions":{\(.*\)}}/\1/p')
  [ "$c" != "$last" ] && echo "    $(date +%T) $c" && last=$c
  echo "$c" | grep -q '"success":3,"failure":1' && break
  sleep 0.5
done
echo
printf '  %-10s %-11s %-9s %-5s %-10s %s\n' DEVICE VERSION SEQUENCE SLOT CONFIRMED "LAST REPORT"
for d in $FLEET; do
  j=$(api $U/api/v1/devices/$d); s=$("$B" status --config $d/device.conf --json)
  printf '  %-10s %-11s %-9s %-5s %-10s %s\n' $d "$(echo "$j" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')" \
    "$(echo "$j" | sed -n 's/.*"sequence":\([0-9]*\).*/\1/p')" \
    "$(echo "$s" | sed -n 's/.*"active_slot":"\([ab]\)".*/\1/p')" \
    "$(echo "$s" | sed -n 's/.*"confirmed":\([a-z]*\).*/\1/p')" \
    "$(grep '^report' $d/agent.log | tail -1 | cut -d' ' -f4- | cut -c1-90)"
done
echo
printf '%s\n' "$OPTOK" > operator-token
echo "  dashboard: $U/dashboard/ (sign in with the admin token in fleet-demo/operator-token;"
echo "  the demo's server certificate is from its own CA, fleet-demo/server-ca.crt)"
echo "  operator API: $U/api/v1/devices, /releases, /campaigns, /audit (docs/gateway.md)"
# BULWARK_DEMO_HOLD=SECONDS: keep the fleet running that long to look at it
# (on a terminal, Enter stops it sooner)
if [ "${BULWARK_DEMO_HOLD:-0}" -gt 0 ] 2>/dev/null; then
  echo "  the gateway and agents keep running for $BULWARK_DEMO_HOLD s (BULWARK_DEMO_HOLD)"
  if [ -t 0 ]; then read -r -t "$BULWARK_DEMO_HOLD" -p "  press Enter to stop them " _ || true
  else sleep "$BULWARK_DEMO_HOLD"; fi
fi
for p in $PIDS; do kill $p 2>/dev/null; done
wait 2>/dev/null
PIDS=
echo "  gateway and agents stopped; logs in fleet-demo/*/agent.log and fleet-demo/gateway.log"
cd "$OUT"

step "11. Compliance: a reference device answers every row; a broken one is refused"
# scripts/reference-device.sh: a device provisioned in a batch, release 2
# installed and booted, its agent's configuration, and a profile that pins
# the release key and answers every requirement no check decides
"$(dirname "$OUT")/scripts/reference-device.sh" "$B" reference >/dev/null 2>&1 ||
  { echo "  the reference device could not be built"; exit 1; }
R=reference
printf '$ bulwark audit --config %s/dev/device.conf --profile %s/profile.conf --proc-net %s/proc-net --strict --out soa --ixit soa/ixit\n' $R $R $R
"$B" audit --config $R/dev/device.conf --profile $R/profile.conf --proc-net $R/proc-net \
  --strict --out soa --ixit soa/ixit > audit.txt
rc=$?
[ $rc = 0 ] || { echo "  bulwark audit --strict refused the reference device (exit $rc)"; exit 1; }
tail -2 audit.txt | sed 's/^/  /'
echo "  Statement of Applicability: $OUT/soa/soa.html (also soa.md, ics.md, OSCAL JSON)"
echo "  IXIT skeleton for the test lab: $OUT/soa/ixit.md and ixit.json"
printf '$ bulwark audit disclose --config %s/dev/device.conf --profile %s/profile.conf --proc-net %s/proc-net --out psti\n' $R $R $R
"$B" audit disclose --config $R/dev/device.conf --profile $R/profile.conf --proc-net $R/proc-net \
  --out psti > disclose.txt 2> disclose.err ||
  { echo "  audit disclose refused the reference device: $(cat disclose.err)"; exit 1; }
[ -s psti/psti-statement.md ] && [ ! -e psti/psti-gap-report.md ] ||
  { echo "  UNEXPECTED: no PSTI statement of compliance for the reference device"; exit 1; }
grep -m1 '^# ' psti/psti-statement.md | sed 's/^# /  /'
echo "  PSTI statement of compliance: $OUT/psti/psti-statement.md (also security.txt,"
echo "  disclosure-policy.md and support-period.md in $OUT/psti)"
echo "  the same device with its booted image modified and telnet declared:"
printf 'X' | dd of=$R/dev/slot-b.img bs=1 seek=1000 conv=notrunc status=none
sed -i 's/^services = tcp:443$/services = tcp:443, tcp:23/' $R/profile.conf
printf '$ bulwark audit --config %s/dev/device.conf --profile %s/profile.conf --proc-net %s/proc-net --strict\n' $R $R $R
if "$B" audit --config $R/dev/device.conf --profile $R/profile.conf --proc-net $R/proc-net --strict \
  > /dev/null 2> err.txt; then echo "  UNEXPECTED: accepted"; exit 1; fi
grep 'strict: ' err.txt | sed 's/^bulwark audit: strict: /  refused: /' | cut -c1-150
grep 'refused the report' err.txt | sed 's/^bulwark audit: /  /'
grep -q "strict: en303645-5.7-1" err.txt || { echo "  UNEXPECTED: the modified image is not named"; exit 1; }

step "Done"
echo "  files are in $OUT"
