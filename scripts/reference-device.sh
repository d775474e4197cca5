#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A compliant reference device for the compliance kit: a simulated device
# provisioned in a batch of three (unique key, certificate and password,
# default Argon2id cost), release sequence 2 installed and booted, an agent
# configuration (https, a CA certificate, automatic updates), a copy of its
# socket tables with one TLS service, the gateway's release list, a device
# profile that pins the release key, answers every requirement no check
# decides (compliance/reference-answers.conf) and fills what the regulatory
# documents state (address, batch, support period, signatory), and a risk
# register seeded from that profile whose risks a named person accepted.
# Its contacts are under its own domain reference-sensors.test (RFC 2606
# keeps .test for test rigs; no template suggests it). 'bulwark audit
# --strict' on it exits 0 and 'bulwark audit disclose' writes a PSTI
# statement of compliance; docs/compliance.md shows how.
# Usage: reference-device.sh BULWARK DIR   (DIR is created; it must not exist)
set -eu
B=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir "$2"
D=$(realpath "$2")
cd "$D"
V=6a1f4c2e-93b7-4d05-8e2a-5c0b7d9e1f34
C=b27e9d40-1c6a-4f8b-a3d5-0e9f2c7b6a18
"$B" keygen --out release.key --pub release.pub >/dev/null
"$B" device init --dir dev --slot-size 262144 --pub release.pub --vendor-id $V --class-id $C >/dev/null
"$B" provision --ca-dir ca --org "Reference Sensors" --config dev/device.conf \
  --device-id ref-0001 > provision.txt
"$B" provision --ca-dir ca --org "Reference Sensors" --count 2 --id-prefix ref-10 --out batch \
  >/dev/null
for s in 1 2; do
  head -c 100000 /dev/urandom > fw-$s.img
  "$B" sign --key release.key --vendor-id $V --class-id $C --sequence $s --out fw-$s.bwp \
    fw-$s.img >/dev/null
done
"$B" install --config dev/device.conf fw-2.bwp >/dev/null
"$B" boot --config dev/device.conf >/dev/null
"$B" confirm --config dev/device.conf >/dev/null
# the gateway's release list for the device's class (GET /api/v1/releases)
printf '[{"id":1,"name":"fw-1","sequence":1,"vendor_id":"%s","class_id":"%s"},
{"id":2,"name":"fw-2","sequence":2,"vendor_id":"%s","class_id":"%s"}]\n' $V $C $V $C > releases.json
# the device's socket tables: one TLS service on 443
mkdir proc-net
hdr='  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
{ echo "$hdr"; echo '   0: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0'; } > proc-net/tcp
echo "$hdr" > proc-net/udp
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout gwca.key \
  -out gwca.crt -days 30 -subj "/CN=Reference gateway CA" 2>/dev/null
printf 'device_config = %s/dev/device.conf\ngateway = https://gateway.reference-sensors.test:8443\nca_cert = %s/gwca.crt\npolicy = automatic\n' \
  "$D" "$D" > agent.conf
cat > setup-guide.md <<'EOF'
# Setting up the reference sensor
Change the factory password with 'bulwark passwd' on first use; keep updates automatic.
Check the set-up at any time with 'bulwark audit --config /etc/bulwark/device.conf --profile profile.conf'.
EOF
pin=$(openssl pkey -pubin -in release.pub -outform DER | sha256sum | cut -d' ' -f1)
today=$(date -u +%F)
expires=$(date -u -d '+1 year' +%F)
WHO="Robin Keller, reference device maintainer, bulwark project"
DOM=reference-sensors.test
cat > profile.conf <<EOF
# The reference device's profile (scripts/reference-device.sh).
standard = EN 303 645 V2.1.1
product = bulwark reference sensor
model = BRS-1
hw_version = 1
sw_version = 2
manufacturer = bulwark project (reference device, not a product)
manufacturer_address = 1 Test Rig Lane, Testford TF1 1TT, United Kingdom
batch = BRS-1 reference batch 1: ref-0001 and the two units in batch/ (ca/registry.jsonl)
support_start = $today
support_end = $(date -u -d '+5 years' +%F)
signatory_name = Robin Keller
signatory_function = Maintainer of the reference device
issue_place = Testford
doc_author = $WHO
doc_version = 1.0
vuln_contact = mailto:security@$DOM
policy_url = https://$DOM/security/policy
canonical_url = https://$DOM/.well-known/security.txt
encryption_url = https://$DOM/.well-known/openpgp-key.asc
advisories_url = https://$DOM/security/advisories
languages = en
ack_days = 5
status_days = 30
user_accounts = yes
personal_data = no
telemetry = no
constrained = no
sensors = temperature
network_interfaces = eth0
services = tcp:443
debug_interfaces = none
debug_disabled = yes
update_policy = automatic
updates = yes
risk_register = risk.json
agent_config = agent.conf
release_key_sha256 = $pin
provisioning_registry = ca/registry.jsonl
releases = releases.json
setup_guide = setup-guide.md
owner = $WHO
review = $today
expires = $expires
EOF
cat "$SRC/compliance/reference-answers.conf" >> profile.conf
# the risks the profile leaves applicable, each evaluated and accepted by
# the person who answers for the device (residual likelihood 1, impact 2
# once the controls the audit checks are in place; reviewed again in a year)
"$B" risk init --out risk.json --device ref-0001 --profile profile.conf >/dev/null
# the maker confirms each seeded vulnerability: what the unit would be
# exposed to without the control the audit checks
sed -i 's/"To confirm: the device fails to meet /"Confirmed for BRS-1: exposed unless the unit meets /' \
  risk.json
"$B" risk accept all --register risk.json --by "$WHO" --residual 1,2 --review "$expires" \
  >/dev/null
echo "reference device in $D: bulwark audit --config $D/dev/device.conf --profile $D/profile.conf --proc-net $D/proc-net --strict"
