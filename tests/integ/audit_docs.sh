#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The compliance kit's documents, risk assessment and OSCAL set through the
# real binary, each case a false pass or false fail of issue 14:
# - the untouched audit init + risk init templates: the register is no
#   assessment and no document is issued for security@example.com;
# - a register untouched since 2019 with treatment "none" does not pass;
# - risk accept records who and when, a risk reopens when a check of a
#   control it relies on fails, risk check --strict refuses unreviewed ones;
# - the PSTI statement of compliance carries the Schedule 4 content and is
#   refused (a gap report instead) while a PSTI row is not met;
# - no document for a support period that has ended;
# - security.txt with Encryption, signed with a throwaway OpenPGP key, and
#   its strict validator; the disclosure policy's ISO/IEC 29147 elements;
#   document control in every document;
# - OSCAL: the set resolves (import-profile, import-ap, component source,
#   every uuid reference) and has no duplicate UUID.
# Usage: audit_docs.sh BULWARK SRC_DIR
set -u
LIB=$(dirname "$(realpath "$0")")/auditlib.sh
B=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
. "$LIB"
result() { $PY -c 'import json, sys
d = json.load(open(sys.argv[2]))
print(*[c["result"] for c in d["checks"] if c["check"] == sys.argv[1]])' "$1" "${2:-audit.json}"; }
evidence() { $PY -c 'import json, sys
d = json.load(open("audit.json"))
print(*[c["evidence"] for c in d["checks"] if c["check"] == sys.argv[1]])' "$1"; }

# --- the untouched templates -------------------------------------------------
mkdir tpl
"$B" audit init --out tpl/template.conf >/dev/null
"$B" risk init --out tpl/risk.json --device AT-200 >/dev/null
cp tpl/template.conf template.conf; cp tpl/risk.json template-risk.json
"$B" audit --profile tpl/template.conf --json > audit.json 2>/dev/null
check '[ "$(result risk.register)" != pass ]' "untouched risk init register passes risk.register"
check 'evidence risk.register | grep -q "risk T1 unreviewed"' "evidence does not name the unreviewed risks: $(evidence risk.register | head -c 300)"
check '! grep -q residual_likelihood\"\ *:\ *[0-9] template-risk.json' "risk init invents a residual risk"
expect BW_E_FORMAT "$B" audit disclose --profile tpl/template.conf --out tpub
check 'grep -q "vuln_contact mailto:security@example.com uses a reserved example domain" err.txt' \
  "template disclosure not refused for security@example.com: $(head -c 300 err.txt)"
check '[ ! -e tpub/psti-statement.md ] && [ ! -e tpub/security.txt ]' "documents written from the template"

# --- a register untouched since 2019 with treatment "none" -------------------
$PY - <<'EOF'
import json
reg = json.load(open("template-risk.json"))
for r in reg["risks"]:
    r.update(treatment="none", option="retain", residual_likelihood=r["likelihood"],
             residual_impact=r["impact"], review="2019-09-01", accepted_by="J. Smith",
             accepted_on="2019-03-01")
json.dump(reg, open("old-none.json", "w"), indent=1)
for r in reg["risks"]:
    r.update(treatment="accepted as is: the product is obsolete")
json.dump(reg, open("old-overdue.json", "w"), indent=1)
EOF
sed "s|^risk_register = .*|risk_register = $T/old-none.json|" template.conf > p2019.conf
"$B" audit --profile p2019.conf --json > audit.json 2>/dev/null
check '[ "$(result risk.register)" != pass ]' "2019 register with treatment none passes risk.register"
check 'evidence risk.register | grep -q "treatment says none"' "why: $(evidence risk.register | head -c 300)"
sed "s|^risk_register = .*|risk_register = $T/old-overdue.json|" template.conf > p2019.conf
"$B" audit --profile p2019.conf --json > audit.json 2>/dev/null
check '[ "$(result risk.register)" != pass ]' "register overdue since 2019 passes risk.register"
check 'evidence risk.register | grep -q "risk T1 overdue: review was due 2019-09-01"' "why: $(evidence risk.register | head -c 300)"
expect 1 "$B" risk check --register old-overdue.json --strict

# --- a device, a compliant profile, an accepted register --------------------
audit_device
# a signed release installed, and socket tables with no listener (the
# device's, not this host's)
head -c 40000 /dev/urandom > img
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 3 --out v3.bwp img >/dev/null
"$B" install --config $CONF v3.bwp >/dev/null
mkdir procnet
for t in tcp tcp6 udp udp6; do
  echo "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode" > procnet/$t
done
AUD="--config $CONF --proc-net $T/procnet"
D=acme-devices.co.uk
cat > profile.conf <<EOF
product = Acme Thermostat
model = AT-200
hw_version = rev C
sw_version = 1.4.2
manufacturer = Acme Devices Ltd
manufacturer_address = 4 Mill Lane, Cambridge CB2 1RX, United Kingdom
batch = AT-200 batch 2026-11 (serials AT2-100000 to AT2-104999)
support_start = 2026-01-01
support_end = 2031-12-31
signatory_name = Priya Raman
signatory_function = Director of Product Security
issue_place = Cambridge
doc_author = Priya Raman, Product Security
doc_version = 2.1
vuln_contact = mailto:security@$D
policy_url = https://$D/security/policy
canonical_url = https://$D/.well-known/security.txt
encryption_url = https://$D/.well-known/openpgp-key.asc
advisories_url = https://$D/security/advisories
languages = en, de
ack_days = 5
status_days = 30
user_accounts = yes
personal_data = no
telemetry = no
constrained = no
sensors = temperature
network_interfaces = eth0
services = none
debug_interfaces = none
debug_disabled = yes
update_policy = automatic
risk_register = risk.json
release_key_sha256 = $(openssl pkey -pubin -in p.pem -outform DER | sha256sum | cut -d' ' -f1)
EOF
"$B" risk init --out risk.json --device AT-200 >/dev/null
# seeded from the profile: no accounts, no password threat
sed 's/^user_accounts = yes/user_accounts = no/' profile.conf > noacct.conf
expect OK "$B" risk init --profile noacct.conf --out noacct-risk.json
check '! grep -q "\"T1\"" noacct-risk.json && grep -q "\"device\": \"AT-200\"" noacct-risk.json' \
  "risk init --profile keeps a threat the profile makes not applicable"
expect BW_E_STATE "$B" risk accept T1 --register risk.json --by "Priya Raman"
check 'grep -q "evaluate its residual risk first" err.txt' "accept without residual: $(cat err.txt)"
expect BW_E_NOTFOUND "$B" risk accept T99 --register risk.json --by "Priya Raman" --residual 1,1
expect OK "$B" risk accept all --register risk.json --by "Priya Raman" --residual 1,2
check 'grep -q "\"accepted_on\": \"$(date -u +%F)\"" risk.json' "acceptance date not recorded"
expect OK "$B" risk check --register risk.json --strict
expect BW_E_FORMAT "$B" risk accept T1 --register risk.json --by "Priya Raman" --residual 7,1

# the factory password is in use and the profile names no provisioning
# registry: nobody can tell it from a password shared across the batch, so
# cred.factory could not look (error), risk T1 (which relies on 5.1-1)
# reopens, and the PSTI statement is refused
"$B" audit $AUD --profile profile.conf --json > audit.json 2>/dev/null
check '[ "$(result cred.factory)" = error ]' "factory credential: $(result cred.factory)"
check 'evidence risk.register | grep -q "risk T1 reopened: check cred.factory (en303645-5.1-1) is error"' \
  "risk relying on a control that could not be checked not reopened: $(evidence risk.register | head -c 300)"
check 'evidence risk.register | grep -q "risk T2 reopened: check cred.kdf (en303645-5.1-3) is fail"' \
  "risk relying on a failing control (cheap Argon2) not reopened: $(evidence risk.register | head -c 300)"
check '[ "$(result risk.register)" = fail ]' "reopened register passes"
expect BW_E_STATE "$B" audit disclose $AUD --profile profile.conf --out gap
check '[ ! -e gap/psti-statement.md ] && [ -s gap/psti-gap-report.md ]' "PSTI statement issued with a row NOT MET"
check 'grep -q "PSTI statement of compliance refused: not met: psti-s1-1" err.txt' "refusal: $(cat err.txt)"
check 'grep -q "^# PSTI gap report: NOT a statement of compliance" gap/psti-gap-report.md' "gap report title"
check 'grep -q "| NOT MET:" gap/psti-gap-report.md' "gap report does not name the unmet row"
# no device at all: PSTI paragraph 1 is not checked, so no statement either
expect BW_E_STATE "$B" audit disclose --profile profile.conf --out gap2
check '[ ! -e gap2/psti-statement.md ]' "PSTI statement issued without a device check"

# --- the batch's registry named, the password at the default Argon2id cost:
# the statement, in form ---------------------------------------------------------
echo "provisioning_registry = ca/registry.jsonl" >> profile.conf
printf '%s\nanother-good-pass\nanother-good-pass\n' "$pw" | "$B" passwd --config $CONF >/dev/null 2>&1
"$B" audit $AUD --profile profile.conf --json > audit.json 2>/dev/null
check '[ "$(result risk.register)" = pass ]' "accepted register: $(evidence risk.register | head -c 300)"
expect OK "$B" audit disclose $AUD --profile profile.conf --out pub
S=pub/psti-statement.md
check '[ -s $S ] && [ ! -e pub/psti-gap-report.md ]' "no PSTI statement with every row met: $(cat err.txt)"
for want in "Product type: Acme Thermostat, model AT-200" \
    "Batch: AT-200 batch 2026-11 (serials AT2-100000 to AT2-104999). This statement covers every unit of this batch" \
    "Acme Devices Ltd, 4 Mill Lane, Cambridge CB2 1RX, United Kingdom" \
    "(a) This statement of compliance is prepared by or on behalf of the manufacturer" \
    "(b) In the opinion of the manufacturer, the manufacturer has complied with the relevant security" \
    "Security updates are provided from 2026-01-01 to 2031-12-31" \
    "Name: Priya Raman" "Function: Director of Product Security" "Place of issue: Cambridge" \
    "Date of issue: $(date -u +%F)"; do
  check 'grep -qF "$want" $S' "PSTI statement lacks: $want"
done
check '! grep -q "NOT MET" $S' "statement with NOT MET rows"
check 'grep -q "sample unit of the batch (unit-7)" $S' "the statement does not name the unit audited"
for f in psti-statement.md support-period.md disclosure-policy.md; do
  for row in "Document id | BW-" "Version | 2.1" "Date | $(date -u +%F)" "Product | Acme Thermostat" \
      "Batch | AT-200 batch 2026-11" "Author | Priya Raman, Product Security"; do
    check 'grep -qF "| $row" pub/$f' "$f: document control lacks '$row'"
  done
done
check 'grep -q "^# Document BW-SECTXT-[0-9a-f]\{8\} version 2.1, $(date -u +%F); batch AT-200 batch 2026-11" pub/security.txt' \
  "security.txt lacks document control"
check 'grep -q "from 2026-01-01 to 2031-12-31 inclusive" pub/support-period.md' "support period start and end"
for h in "## Scope" "## How to report" "## Secure channel" "## Timelines" "## Coordination and advisories" "## Safe harbour"; do
  check 'grep -qx "$h" pub/disclosure-policy.md' "disclosure policy lacks $h"
done
check 'grep -q "openpgp-key.asc" pub/disclosure-policy.md && grep -q "security/advisories" pub/disclosure-policy.md' \
  "policy does not name the key or where advisories are published"
check 'grep -q "^Encryption: https://$D/.well-known/openpgp-key.asc$" pub/security.txt' "security.txt has no Encryption"
expect OK $PY $SRC/tests/integ/securitytxt.py --strict pub/security.txt

# --- security.txt signed with a throwaway OpenPGP key ------------------------
if command -v gpg >/dev/null; then
  export GNUPGHOME=$T/gnupg
  mkdir -m 700 "$GNUPGHOME"
  gpg --batch --quiet --passphrase '' --quick-gen-key "Acme PSIRT <security@$D>" ed25519 sign 1d 2>/dev/null
  expect OK "$B" audit disclose $AUD --profile profile.conf --out signed --sign-key "security@$D"
  check 'head -1 signed/security.txt | grep -qx -- "-----BEGIN PGP SIGNED MESSAGE-----"' "security.txt not clearsigned"
  check 'gpg --batch --verify signed/security.txt 2>/dev/null' "signature does not verify"
  expect OK $PY $SRC/tests/integ/securitytxt.py --strict --signed signed/security.txt
  sed 's/^Contact: mailto:/Contact: mailto:x/' signed/security.txt > tampered.txt
  check '! gpg --batch --verify tampered.txt 2>/dev/null' "tampered security.txt verifies"
  expect 1 $PY $SRC/tests/integ/securitytxt.py --signed pub/security.txt
  expect BW_E_IO "$B" audit disclose $AUD --profile profile.conf --out nokey --sign-key "nobody@$D"
  unset GNUPGHOME
else
  echo "gpg not installed: signature cases skipped"
fi
# the strict validator refuses what RFC 9116 forbids
printf 'Contact: mailto:a@b.c\nExpires: 2099-01-01T00:00:00Z\n' > far.txt
expect 1 $PY $SRC/tests/integ/securitytxt.py --strict far.txt
sed 's/^Encryption: .*/Encryption: http:\/\/plain.example.org\/key/' pub/security.txt > plain.txt
expect 1 $PY $SRC/tests/integ/securitytxt.py --strict plain.txt
grep -v '^Expires' pub/security.txt > noexp.txt
expect 1 $PY $SRC/tests/integ/securitytxt.py --strict noexp.txt

# --- a support period that has ended ------------------------------------------
sed 's/^support_start = .*/support_start = 2015-01-01/; s/^support_end = .*/support_end = 2020-06-30/' profile.conf > ended.conf
expect BW_E_STATE "$B" audit disclose $AUD --profile ended.conf --out ended
check 'grep -q "the support period ended on 2020-06-30" err.txt' "refusal: $(cat err.txt)"
check '[ ! -e ended/support-period.md ] && [ ! -e ended/security.txt ]' "documents written for an ended support period"
sed 's/^support_start = .*/support_start = 2032-01-01/' profile.conf > backwards.conf
expect BW_E_FORMAT "$B" audit disclose $AUD --profile backwards.conf --out backwards

# --- OSCAL: one set that resolves ---------------------------------------------
"$B" audit $AUD --profile profile.conf --out rep >/dev/null 2>&1
check 'grep -q "Unit audited</th><td>unit-7</td>" rep/soa.html' "the SoA does not identify the unit audited"
for f in bulwark-catalog.json bulwark-profile.json oscal-ap.json; do
  check '[ -s rep/$f ]' "OSCAL $f not written"
done
expect OK $PY $SRC/tests/integ/oscal_validate.py --integrity rep
check 'grep -q consistent out.txt' "integrity: $(head -c 600 out.txt)"
O=$SRC/tests/vectors/oscal
expect OK $PY $SRC/tests/integ/oscal_validate.py $O/oscal_ssp_schema.json rep/oscal-ssp.json \
  $O/oscal_assessment-results_schema.json rep/oscal-ar.json \
  $O/oscal_component_schema.json rep/oscal-component.json
# OSCAL 1.1.x: the catalog, profile and component definition against NIST's
# per-model 1.1.3 schemas, profile, SSP, AP and AR against the 1.1.2 "complete" schema
# (whose merged definitions are right for them: tests/vectors/oscal/SOURCE)
S112=$O/1.1.2/oscal_complete_schema.json S113=$O/1.1.3
args=($S113/oscal_catalog_schema.json rep/bulwark-catalog.json
      $S113/oscal_profile_schema.json rep/bulwark-profile.json
      $S113/oscal_component_schema.json rep/oscal-component.json)
for f in bulwark-profile oscal-ssp oscal-ap oscal-ar; do args+=($S112 rep/$f.json); done
expect OK $PY $SRC/tests/integ/oscal_validate.py "${args[@]}"
check '[ "$(grep -c ": valid$" out.txt)" = 7 ]' "1.1.x: $(cat out.txt | head -c 400)"
# the catalog keeps its standards as OSCAL groups (the merged 1.1.2 schema
# refused them, so they had been flattened into a prop)
check "$PY -c 'import json, sys; c = json.load(open(\"rep/bulwark-catalog.json\"))[\"catalog\"]
sys.exit(\"controls\" in c or [g[\"id\"] for g in c.get(\"groups\", [])][:1] != [\"en303645\"])'" \
  "the OSCAL catalog has no group per standard"
# the per-model schemas refuse what they must: a component's requirement
# without its description, a catalog control without its title
$PY -c 'import json
d = json.load(open("rep/oscal-component.json"))
del d["component-definition"]["components"][0]["control-implementations"][0]["implemented-requirements"][0]["description"]
json.dump(d, open("bad-comp.json", "w"))
c = json.load(open("rep/bulwark-catalog.json")); cat = c["catalog"]
ctl = (cat.get("controls") or cat["groups"][0]["controls"])[0]; del ctl["title"]
json.dump(c, open("bad-cat.json", "w"))'
expect 1 $PY $SRC/tests/integ/oscal_validate.py $S113/oscal_component_schema.json bad-comp.json
expect 1 $PY $SRC/tests/integ/oscal_validate.py $S113/oscal_catalog_schema.json bad-cat.json
$PY -c 'import json; d = json.load(open("rep/oscal-ar.json")); del d["assessment-results"]["import-ap"]
json.dump(d, open("bad-ar.json", "w"))'
expect 1 $PY $SRC/tests/integ/oscal_validate.py $S112 bad-ar.json
# the checker itself: a duplicate and a dangling uuid are found
$PY - <<'EOF'
import json, shutil
shutil.copytree("rep", "rep2")
ssp = json.load(open("rep2/oscal-ssp.json"))
irs = ssp["system-security-plan"]["control-implementation"]["implemented-requirements"]
irs[1]["uuid"] = irs[0]["uuid"]
irs[2]["by-components"][0]["component-uuid"] = "00000000-0000-5000-8000-000000000000"
ssp["system-security-plan"]["import-profile"]["href"] = "bulwark-catalog.json"
json.dump(ssp, open("rep2/oscal-ssp.json", "w"))
EOF
expect 1 $PY $SRC/tests/integ/oscal_validate.py --integrity rep2
check 'grep -q "also defined" out.txt && grep -q "dangling reference 00000000" out.txt && grep -q "a catalog, where profile is expected" out.txt' \
  "integrity checker missed a planted fault: $(head -c 600 out.txt)"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
