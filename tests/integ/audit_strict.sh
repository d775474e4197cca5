#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 14 through the real binary: the compliant reference device
# (scripts/reference-device.sh) gets a clean 'bulwark audit --strict';
# each false pass, false fail and applicability bug of the issue is one
# case here (break, audit, expect, restore); and the deliberately broken
# device of docs/compliance.md ("The broken reference device") is refused
# with the reason for every break.
# BW_AUDIT_OLD=1 strips the profile keys the code before issue 14 did not
# know, so each case can be seen failing on that code.
# Usage: audit_strict.sh BULWARK SRC_DIR
set -u
LIB=$(dirname "$(realpath "$0")")/auditlib.sh
B=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$LIB"

"$SRC/scripts/reference-device.sh" "$B" "$T/ref" > "$T/ref.log" 2>&1 ||
  { cat "$T/ref.log"; echo "FAIL: the reference device was not built"; exit 1; }
cd "$T/ref"
cp profile.conf profile.good
legacy() { [ -z "${BW_AUDIT_OLD:-}" ] || sed -i -E "/^(req\.[^ ]+|standard|updates|release_key_sha256|provisioning_registry|releases|setup_guide|owner|review|expires) = /d" profile.conf; }
legacy
A=(--config dev/device.conf --profile profile.conf --proc-net proc-net)
run() { "$B" audit "${A[@]}" --json "$@" > audit.json 2> audit.err; echo $? > audit.rc; }
strict() { "$B" audit "${A[@]}" --strict "$@" > strict.out 2> strict.err; echo $? > strict.rc; }
result() { $PY -c 'import json, sys
try: d = json.load(open("audit.json"))
except Exception: print("no-json"); sys.exit()
print(*[c["result"] for c in d["checks"] if c["check"] == sys.argv[1]] or ["absent"])' "$1"; }
row() { $PY -c 'import json, sys
try: d = json.load(open("audit.json"))
except Exception: print("no-json"); sys.exit()
r = [x for x in d["requirements"] if x["id"] == sys.argv[1]][0]
print(r["result"], r["justification"])' "$1"; }
is() { # is CHECK RESULT WHY
  local got; got=$(result "$1")
  if [ "$got" = "$2" ]; then ok; else bad "$1: $got, want $2 ($3)"; fi
}
rowis() { # rowis ID RESULT WHY
  local got; got=$(row "$1" | cut -d' ' -f1)
  if [ "$got" = "$2" ]; then ok; else bad "row $1: $got, want $2 ($3)"; fi
}
setp() { # setp KEY=VALUE...: profile.good with those keys replaced
  cp profile.good profile.conf
  local kv
  for kv in "$@"; do
    sed -i "/^${kv%%=*} = /d" profile.conf
    echo "${kv%%=*} = ${kv#*=}" >> profile.conf
  done
  legacy
}

# --- the reference device: clean --strict, IXIT skeleton ---------------------
strict --ixit ixit
check '[ "$(cat strict.rc)" = 0 ]' "reference device: --strict exit $(cat strict.rc): $(head -c 1500 strict.err)"
check '! grep -q "strict:" strict.err' "reference device: strict findings: $(head -c 600 strict.err)"
check 'grep -q "0 unanswered" strict.out && grep -q "0 error" strict.out' "reference: $(tail -2 strict.out)"
# 5.13-1: bulwark's own input checks exercised with the device's release
# key; all refused is evidence, and the row takes the maker's answer
run
is input.selftest manual "the device's parsers refused the hostile inputs"
check 'grep -q "refused all 6 hostile inputs" audit.json' "input.selftest evidence: $(grep -o "input.selftest[^}]*" audit.json | head -c 300)"
rowis en303645-5.13-1 manual "5.13-1 decided by the maker's answer with the self-test as evidence"
rel=$(sed -n 's/^release_pub *= *//p' dev/device.conf); mv "$rel" "$rel.away"
run
is input.selftest error "no release key to exercise the parser with"
rowis en303645-5.13-1 error "5.13-1 with the self-test unable to run"
mv "$rel.away" "$rel"
check '$PY -c "import json; d = json.load(open(\"ixit.json\")); e = [x for t in d[\"tables\"].values() for x in t]; assert any(x[\"to_fill\"] for x in e) and any(x[\"source\"] == \"check\" for x in e); assert {\"AuthMech\", \"UpdMech\", \"SecParam\", \"ComMech\", \"Intf\", \"SecBoot\"} <= set(d[\"tables\"])"' \
  "IXIT JSON skeleton"
check 'grep -q "^## SecBoot" ixit.md && grep -q "TO FILL (supplier)" ixit.md && grep -q "check boot.slot: pass" ixit.md' \
  "IXIT Markdown skeleton"

# --- --strict reads the risk register and the documents' keys too ------------
cp risk.json risk.good
$PY -c 'import json; r = json.load(open("risk.json")); k = r["risks"]
del k[0]["accepted_by"], k[0]["accepted_on"]; k[1]["review"] = "2020-01-01"
json.dump(r, open("risk.json", "w"), indent=1)'
strict
check '[ "$(cat strict.rc)" != 0 ]' "an unreviewed and an overdue risk pass --strict"
check 'grep -q "strict: risk: risk T1 unreviewed" strict.err && grep -q "strict: risk: risk T2 overdue: review was due 2020-01-01" strict.err' \
  "--strict does not name the unreviewed and the overdue risk: $(grep strict: strict.err | head -5)"
cp risk.good risk.json
$PY -c 'import json; r = json.load(open("risk.json")); r["risks"][0]["requirements"] = ["en303645-5.7-1"]
json.dump(r, open("risk.json", "w"), indent=1)'
cp dev/slot-b.img slot.bak; "$(dirname "$(realpath "$0")")/flipbyte.sh" dev/slot-b.img 1000
strict
check 'grep -q "strict: risk: risk T1 reopened: check boot.slot (en303645-5.7-1) is fail" strict.err' \
  "--strict does not name the risk a failing check reopens: $(grep 'strict: risk' strict.err | head -3)"
cp slot.bak dev/slot-b.img; cp risk.good risk.json
# the documents' template samples, and reserved names that can never be a
# contact (.invalid, example.com); the reference device's own .test domain passes
setp "signatory_name=Jane Example" \
  "manufacturer_address=1 Example Street, Exampletown EX1 1AA, United Kingdom" \
  "advisories_url=https://example.com/security/advisories" \
  vuln_contact=mailto:security@brs.invalid
strict
# (exit 1: the reserved contact also fails docs.contact, mandatory 5.2-1)
check '[ "$(cat strict.rc)" = 1 ]' "template document values: --strict exit $(cat strict.rc), want 1"
for k in signatory_name manufacturer_address advisories_url vuln_contact; do
  check 'grep -q "strict: profile: template or placeholder value: $k = " strict.err' \
    "--strict accepts the template's $k: $(grep strict: strict.err | head -3)"
done
setp

# --- false fail: a unit's unique random factory password ---------------------
run
rowis en303645-5.1-1 pass "unique per-device factory password (EN 303 645 allows it)"
rowis psti-s1-1 pass "unique per-device factory password (PSTI para 1 allows it)"
is cred.factory pass "unique factory password"

# --- applicability and justifications ----------------------------------------
rowis en303645-5.10-1 not-applicable "telemetry = no: 5.10-1 examines telemetry, not the local log"
check 'row en303645-6-1 | grep -q "personal_data = no"' "a feature's n/a reason names the declaration: $(row en303645-6-1)"
setp constrained=yes
run
rowis en303645-5.1-5 not-applicable "a constrained device"
setp constrained=yes network_interfaces=none services=none update_policy=automatic
run
rowis en303645-5.3-4 not-applicable "constrained, no network: no automatic updates to pass"
check '! grep -q "^jitter" agent.conf'  "agent.conf already has jitter"
cp agent.conf agent.bak; echo "jitter = 0" >> agent.conf
setp
run
rowis en303645-5.9-3 fail "no spread in reconnects"
check '[ "$(cat audit.rc)" = 3 ]' "only a recommendation fails: exit $(cat audit.rc), want 3"
cp agent.bak agent.conf

setp user_accounts=no
run
is cred.factory fail "the profile denies accounts the device has"
strict
check 'grep -q "en303645-5.1-1: declared not applicable, but its check fails" strict.err' \
  "--strict accepts a feature declared absent that the device has: $(grep 5.1-1 strict.err)"

# --- false passes ----------------------------------------------------------------
setp
slot=dev/slot-b.img
cp $slot slot.bak
"$(dirname "$(realpath "$0")")/flipbyte.sh" $slot 1000
run
rowis en303645-5.7-1 fail "the booted image was modified after install"
rowis en303645-5.3-9 fail "the booted image was modified after install"
cp slot.bak $slot

cp dev/release.pub release.bak
"$B" keygen --out attacker.key --pub attacker.pub >/dev/null
cp attacker.pub dev/release.pub
run
is update.release_key fail "release key replaced by an attacker's"
rowis en303645-5.3-10 fail "release key replaced"
cp release.bak dev/release.pub

cp dev/device.conf conf.bak
echo "device_key = pkcs11:module=/nonexistent/libsofthsm2.so;token=dev;object=dev" >> dev/device.conf
run
is storage.hwkey fail "PKCS#11 URI naming a module that does not exist"
is key.sign fail "PKCS#11 URI naming a module that does not exist"
cp conf.bak dev/device.conf

cp -a dev/state/seclog seclog.bak
rm -rf dev/state/seclog
"$B" confirm --config dev/device.conf >/dev/null 2>&1
run
is log.chain fail "log wiped and restarted after provisioning"
rm -rf dev/state/seclog; cp -a seclog.bak dev/state/seclog

cp dev/state/credentials creds.bak
sed -i 's/^admin:1:/admin:0:/' dev/state/credentials
run
is cred.factory fail "factory flag edited by hand"
other=$(ls -d batch/*/ | head -1)
sed 's/^admin:1:/admin:0:/' ${other}credentials > dev/state/credentials
run
is cred.factory fail "another unit's password hash (copied credentials, flag cleared)"
check 'grep -q "same password hash as unit" audit.json' "the shared unit is not named"
cp creds.bak dev/state/credentials

"$B" store set --config dev/device.conf wifi.psk Secret-Value-1 >/dev/null 2>&1
run
is reset.erase manual "user data in the store: erased by wipe; the rest is the maker's claim"
store=$(sed -n 's/^store = //p' dev/device.conf); store=${store:-dev/state/store}
cp $store store.bak
head -c 4096 /dev/urandom | dd of=$store conv=notrunc status=none
run
is reset.erase fail "the store file holds something the wipe does not recognise"
cp store.bak $store

"$B" audit --config dev/device.conf --profile profile.conf --proc-net "$T/nothing-here" --json \
  > audit.json 2>/dev/null
is net.listeners error "--proc-net names a missing directory"
"$B" audit --profile profile.conf --json > audit.json 2>/dev/null
is net.listeners error "no device given: the workstation's sockets are not the device's"

setp services=tcp:443,tcp:23
run
is net.cleartext fail "telnet declared"

$PY -c 'import json; r = json.load(open("releases.json")); r.append(dict(r[-1], id=7, name="fw-7", sequence=7)); json.dump(r, open("releases.json", "w"))'
run
rowis en303645-5.3-8 fail "release 2 installed, the gateway offers 7"
setp

mkdir tmpl && (cd tmpl && "$B" audit init --out profile.conf >/dev/null && "$B" risk init --out risk.json --device AT-200 >/dev/null)
"$B" audit --profile tmpl/profile.conf --json > audit.json 2>/dev/null
is docs.contact fail "the template's security@example.com"
is docs.identity fail "the template's Acme product"
check '[ "$($PY -c "import json; print(sum(c[\"result\"] == \"pass\" for c in json.load(open(\"audit.json\"))[\"checks\"]))")" -le 3 ]' \
  "untouched templates without a device pass $($PY -c "import json; print([c['check'] for c in json.load(open('audit.json'))['checks'] if c['result'] == 'pass'])")"
"$B" audit --profile tmpl/profile.conf --strict > /dev/null 2> strict.err
check 'grep -q "example.com" strict.err && grep -q "unanswered" strict.err' "--strict on the templates: $(head -c 300 strict.err)"

# --- the broken reference device: refused with the reason for every break ----
cp $slot slot.bak; cp dev/release.pub release.bak; cp dev/state/credentials creds.bak
$PY -c 'import json; r = json.load(open("risk.json")); del r["risks"][0]["accepted_by"], r["risks"][0]["accepted_on"]
json.dump(r, open("risk.json", "w"), indent=1)'                              # B11
"$(dirname "$(realpath "$0")")/flipbyte.sh" $slot 1000            # B1
cp attacker.pub dev/release.pub                                              # B2
rm -rf dev/state/seclog; "$B" confirm --config dev/device.conf >/dev/null 2>&1  # B3
sed -i 's/^admin:1:/admin:0:/' dev/state/credentials                         # B4
setp services=tcp:443,tcp:23 \
  vuln_contact=mailto:security@example.com \
  req.en303645-5.6-9.expires=2020-01-01 \
  req.en303645-5.3-11.why=n/a \
  "signatory_name=Jane Example"                                              # B5 B6 B7 B9 B12
sed -i '/^req\.en303645-5\.13-1/d' profile.conf                              # B8
$PY -c 'import json; r = json.load(open("releases.json")); assert r[-1]["sequence"] == 7'  # B10
strict
check '[ "$(cat strict.rc)" = 1 ]' "broken device: --strict exit $(cat strict.rc), want 1"
reason() { if grep -q "$2" strict.err; then ok; else bad "break $1 has no reason ('$2') in: $(grep -c strict: strict.err) lines"; fi; }
reason B1-slot "en303645-5.7-1: .*modified after it was verified"
reason B2-release-key "en303645-5.3-10: .*NOT the release key the profile pins"
reason B3-log "wiped and restarted after provisioning"
reason B4-factory-flag "the factory flag was edited"
reason B5-telnet "en303645-5.5-7: .*tcp:23 (telnet"
reason B6-expired "en303645-5.6-9: the maker's claim expired on 2020-01-01"
reason B7-placeholder "vuln_contact = mailto:security@example.com"
reason B8-unanswered "en303645-5.13-1: unanswered"
reason B9-justification "en303645-5.3-11: the justification says nothing"
reason B10-behind "en303645-5.3-8: .*the device is behind"
reason B11-risk "risk: risk T1 unreviewed"
reason B12-signatory "signatory_name = Jane Example"
cp slot.bak $slot; cp release.bak dev/release.pub; cp creds.bak dev/state/credentials
cp risk.good risk.json
rm -rf dev/state/seclog; cp -a seclog.bak dev/state/seclog

echo "$pass passed, $fail failed"
[ $fail = 0 ]
