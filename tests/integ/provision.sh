#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Factory provisioning and credentials through the real binary: a batch of
# devices whose certificates verify with `openssl verify`, unique serials,
# keys and passwords, registry lines the gateway can import, refusal to
# re-provision (files unchanged), one identity one key (--force refused for
# a certified id, --rekey revokes, no key for two ids), the IDevID profile
# (openssl, pyca), --from-csv, a single device by
# its device.conf, and `bulwark passwd` (delay, factory status, change).
# Usage: provision.sh BULWARK
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
expect() { # expect NAME|OK CMD...
  local want=$1 w; shift
  if [ "$want" = OK ]; then w=0; else w=$(code "$want"); fi
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want: $(cat err.txt)"; fi
}
CHEAP="--argon2 1,1024,1"   # Argon2id cost is benchmarked, not tested
# crypto_mode = approved (fips.provision) refuses Argon2id: PBKDF2 instead
[ "${BULWARK_CRYPTO_MODE:-}" = approved ] && CHEAP=
devconf() { # devconf DIR: a simulated device's device.conf in DIR (state in DIR/state)
  mkdir -p "$1/state"
  cat > "$1/device.conf" <<EOF
slot_a = $T/$1/a.img
slot_b = $T/$1/b.img
slot_size = 65536
state_dir = $T/$1/state
release_pub = $T/$1/release.pub
vendor_id = 6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b
class_id = 0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
EOF
}
N=25

# --- a batch ---------------------------------------------------------------
expect OK "$B" provision --ca-dir ca --org "Acme Devices" --count $N --out devs $CHEAP
check '[ -f ca/ca.crt ] && [ "$(stat -c %a ca/ca.key)" = 600 ]' "CA created with a private key file"
check '[ "$(openssl verify -CAfile ca/ca.crt devs/*/device.crt | grep -c ": OK$")" = $N ]' \
  "openssl verify of every device certificate"
check 'openssl x509 -in ca/ca.crt -noout -ext basicConstraints | grep -q "CA:TRUE"' "CA basicConstraints"
c1=devs/dev-000001/device.crt
check 'openssl x509 -in $c1 -noout -subject | grep -q "CN = dev-000001"' "device id in subject"
check 'openssl x509 -in $c1 -noout -ext keyUsage | grep -q "Digital Signature"' "key usage"
check 'openssl x509 -in $c1 -noout -ext extendedKeyUsage | grep -q "Client Authentication"' "clientAuth"
check 'openssl x509 -in $c1 -noout -ext basicConstraints | grep -q "CA:FALSE"' "not a CA"
check '[ "$(for c in devs/*/device.crt; do openssl x509 -in $c -noout -serial; done | sort -u | wc -l)" = $N ]' \
  "unique serials"
check '[ "$(for c in devs/*/device.crt; do openssl x509 -in $c -noout -pubkey; done | sort -u | grep -vc -- -----)" -ge $N ]' \
  "unique keys"
check '[ "$(wc -l < devs/passwords.csv)" = $N ] && [ "$(cut -d, -f2 devs/passwords.csv | sort -u | wc -l)" = $N ]' \
  "one unique password per device"
check '[ "$(stat -c %a devs/passwords.csv)" = 600 ]' "passwords file mode 0600"
check '[ "$(stat -c %a devs/dev-000001/credentials)" = 600 ]' "credentials mode 0600"
pw1=$(grep '^dev-000001,' devs/passwords.csv | cut -d, -f2)
check '! grep -rqF "$pw1" devs/dev-000001 ca' "password stored in clear text"
check '! grep -q "dev-000001\|000001" <<<"$pw1"' "password shows the serial"
check '[ "$(grep -c "\"outcome\":\"ok\"" ca/provisioning.log)" = $N ] && [ "$(grep -c "\"event\":\"issue\"" ca/provisioning.log)" = $N ] && [ "$(wc -l < ca/provisioning.log)" = $((2 * N)) ]' \
  "provisioning log has an issue and an outcome line per device"
$PY - ca/registry.jsonl devs <<'EOF' >py.txt 2>&1 && ok || bad "registry records: $(cat py.txt)"
import json, subprocess, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 25, len(recs)
assert len({r["serial"] for r in recs}) == 25
for r in recs:
    pem = open(f'{sys.argv[2]}/{r["device_id"]}/device.crt').read()
    assert r["certificate"] == pem, "registry PEM differs from the device's"
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem,
                        capture_output=True, text=True).stdout.split("=")[1].strip()
    assert fp.replace(":", "").lower() == r["fingerprint_sha256"], "fingerprint"
    assert r["key_backend"] == "file" and r["not_after"] > r["not_before"]
EOF

# --- re-provisioning refuses, files unchanged; --force redoes ---------------
before=$(sha256sum devs/dev-000001/device.crt devs/dev-000001/device.key devs/dev-000001/credentials)
expect OK "$B" provision --ca-dir ca --count 1 --out devs $CHEAP
check 'grep -q "skipped 1 device" err.txt' "a batch rerun does not say it skipped a provisioned device"
check '[ "$before" = "$(sha256sum devs/dev-000001/device.crt devs/dev-000001/device.key devs/dev-000001/credentials)" ]' \
  "refused re-provisioning changed files"
# a batch that stopped between key and certificate is finished by a rerun
rm devs/dev-000002/device.crt
k2=$(sha256sum < devs/dev-000002/device.key)
expect OK "$B" provision --ca-dir ca --count 3 --out devs --passwords pw-rerun.csv $CHEAP
check '[ -f devs/dev-000002/device.crt ] && [ "$k2" = "$(sha256sum < devs/dev-000002/device.key)" ]' \
  "rerun did not certify the existing key"
check 'openssl verify -CAfile ca/ca.crt devs/dev-000002/device.crt >/dev/null' "rerun certificate"
check '[ "$(cut -d, -f1 pw-rerun.csv)" = dev-000002 ]' "rerun issued passwords for finished devices"
check 'grep -q "BW_E_EXISTS" ca/provisioning.log' "refusal logged"
# one identity, one key: --force would give dev-000001 a second key: refused
# before its key is touched; --rekey does it and revokes the old certificate
expect BW_E_CLAIM "$B" provision --ca-dir ca --count 1 --out devs --force --passwords pw2.csv $CHEAP
check 'grep -q "certified before" err.txt && [ "$before" = "$(sha256sum devs/dev-000001/device.crt devs/dev-000001/device.key devs/dev-000001/credentials)" ]' \
  "--force gave a certified id a second key"
old_serial=$(openssl x509 -in devs/dev-000001/device.crt -noout -serial | cut -d= -f2 | tr A-F a-f)
old_key=$(sha256sum < devs/dev-000001/device.key)
expect OK "$B" provision --ca-dir ca --count 1 --out devs --rekey --passwords pw2.csv $CHEAP
check '[ "$(sha256sum < devs/dev-000001/device.crt)" != "$(echo "$before" | head -1 | cut -d" " -f1)  -" ] && [ "$old_key" != "$(sha256sum < devs/dev-000001/device.key)" ]' \
  "--rekey issued no new key and certificate"
check 'grep "\"event\":\"revoke\"" ca/provisioning.log | grep -q "\"device_id\":\"dev-000001\",\"serial\":\"$old_serial\",\"reason\":\"rekey\""' \
  "--rekey did not revoke the old certificate in the log"
check 'tail -1 ca/registry.jsonl | grep -q "\"replaces_serial\":\"$old_serial\""' \
  "registry record does not name the certificate it replaces"
check '! grep -qF "$(cut -d, -f2 pw2.csv)" devs/passwords.csv' "--rekey reused the password"
# the finding of issue 22: a device provisioned on its own, then a batch
# that reaches the same id with a new key (the CA certified it twice)
devconf solo
expect BW_E_CLAIM "$B" provision --ca-dir ca --config solo/device.conf --device-id dev-000003 $CHEAP
check '[ ! -e solo/state/device.crt ] && [ ! -e solo/state/device.key ]' "refused id got a key or certificate"
expect BW_E_CLAIM "$B" provision --ca-dir ca --count 30 --out devs2 $CHEAP
check '[ ! -e devs2/dev-000001/device.crt ] && [ ! -e devs2/dev-000001/device.key ]' \
  "a second batch certified dev-000001 again"
# a key certified for one id is refused for another, and with --rekey the
# other device's key is not replaced either
k4=$(sha256sum < devs/dev-000004/device.key)
printf 'clone-1,file:%s/devs/dev-000004/device.key\n' "$T" > clone.csv
expect BW_E_CLAIM "$B" provision --ca-dir ca --from-csv clone.csv --out clone $CHEAP
check 'grep -q "certified for device dev-000004" err.txt && [ ! -e clone/clone-1/device.crt ]' \
  "a key certified twice"
expect BW_E_CLAIM "$B" provision --ca-dir ca --from-csv clone.csv --out clone --rekey $CHEAP
check '[ ! -e clone/clone-1/device.crt ] && [ "$k4" = "$(sha256sum < devs/dev-000004/device.key)" ]' \
  "--rekey through another device's key URI replaced that key"
# a log written before the ledger (outcome lines only) still bars its ids
mkdir legacy && cp ca/ca.crt ca/ca.key legacy/
grep -v '"event"' ca/provisioning.log > legacy/provisioning.log
expect BW_E_CLAIM "$B" provision --ca-dir legacy --count 1 --out devs3 $CHEAP
echo 'not json' >> legacy/provisioning.log
expect BW_E_FORMAT "$B" provision --ca-dir legacy --count 1 --id-prefix new- --out devs3 $CHEAP

# --- IEEE 802.1AR IDevID profile ---------------------------------------------------
HWT=1.3.6.1.4.1.59999.1.2
expect OK "$B" provision --ca-dir ca --count 2 --id-prefix idev- --out idev --profile idevid \
  --hw-type $HWT --not-after never $CHEAP
ic=idev/idev-000001/device.crt
check '[ "$(openssl verify -x509_strict -CAfile ca/ca.crt idev/*/device.crt | grep -c ": OK$")" = 2 ]' \
  "openssl verify -x509_strict of the IDevIDs"
openssl x509 -in $ic -noout -text > idev.txt
check 'grep -q "Subject: O = Acme Devices, CN = idev-000001, serialNumber = idev-000001" idev.txt' \
  "IDevID subject serialNumber: $(grep Subject: idev.txt)"
check 'grep -q "Not After : Dec 31 23:59:59 9999 GMT" idev.txt && openssl asn1parse -in $ic | grep -q "GENERALIZEDTIME *:99991231235959Z"' \
  "IDevID notAfter 99991231235959Z as GeneralizedTime"
check 'grep -A1 "Key Usage: critical" idev.txt | grep -q "Digital Signature"' "IDevID keyUsage critical"
check 'grep -q "Authority Key Identifier" idev.txt && grep -q "othername: 1.3.6.1.5.5.7.8.4" idev.txt' \
  "IDevID AKI and hardwareModuleName"
$PY - $ic $HWT <<'EOF' >py.txt 2>&1 && ok || bad "IDevID by pyca/cryptography: $(cat py.txt)"
import sys
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID, ObjectIdentifier
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
assert c.serial_number > 0 and c.serial_number < 2 ** 128
assert c.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "idev-000001"
na = getattr(c, "not_valid_after_utc", None) or c.not_valid_after
assert (na.year, na.month, na.day, na.hour, na.minute, na.second) == (9999, 12, 31, 23, 59, 59)
ku = c.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
san = c.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
assert not san.critical
on = san.value.get_values_for_type(x509.OtherName)
assert len(on) == 1 and on[0].type_id == ObjectIdentifier("1.3.6.1.5.5.7.8.4")
# HardwareModuleName ::= SEQUENCE { hwType OID, hwSerialNum OCTET STRING }, by hand
d = on[0].value
assert d[0] == 0x30 and d[1] == len(d) - 2, d.hex()
o = d[2:]
assert o[0] == 0x06
oid, rest = o[2:2 + o[1]], o[2 + o[1]:]
want = sys.argv[2]
def oid_der(s):
    a = [int(x) for x in s.split(".")]
    out = bytes([40 * a[0] + a[1]])
    for v in a[2:]:
        b = [v & 0x7f]
        v >>= 7
        while v:
            b.insert(0, 0x80 | (v & 0x7f))
            v >>= 7
        out += bytes(b)
    return out
assert oid == oid_der(want), oid.hex()
assert rest[0] == 0x04 and rest[2:2 + rest[1]] == b"idev-000001" and len(rest) == 2 + rest[1]
EOF
# one device: its own serial number and a notAfter of its own
devconf one
expect OK "$B" provision --ca-dir ca --config one/device.conf --device-id unit-77 --profile idevid \
  --serial-number "SN 0042-A" --not-after 20451231235959Z $CHEAP
check 'openssl x509 -in one/state/device.crt -noout -subject | grep -q "serialNumber = SN 0042-A" && openssl x509 -in one/state/device.crt -noout -enddate | grep -q "Dec 31 23:59:59 2045 GMT"' \
  "IDevID --serial-number and --not-after"
check '! openssl x509 -in one/state/device.crt -noout -text | grep -q "Subject Alternative Name"' \
  "hardwareModuleName without --hw-type"
"$B" provision --ca-dir ca --count 1 --out idev2 --not-after never $CHEAP >/dev/null 2>&1
check '[ $? = 2 ]' "--not-after without --profile idevid"
"$B" provision --ca-dir ca --count 1 --out idev2 --profile idevid --serial-number X $CHEAP >/dev/null 2>&1
check '[ $? = 2 ]' "--serial-number for a batch"
expect BW_E_INVAL "$B" provision --ca-dir ca --count 1 --id-prefix idx- --out idev2 --profile idevid --not-after 2045-12-31 $CHEAP
expect BW_E_INVAL "$B" provision --ca-dir ca --count 1 --id-prefix idy- --out idev2 --profile idevid --hw-type not.an.oid $CHEAP
expect BW_E_INVAL "$B" provision --ca-dir ca --count 1 --id-prefix id_z- --out idev2 --profile idevid $CHEAP

# --- from a CSV, bad ids refused ---------------------------------------------
printf 'device_id,key\nline-7,\nline-8,\n' > line.csv
expect OK "$B" provision --ca-dir ca --from-csv line.csv --out line $CHEAP
check '[ -f line/line-7/device.crt ] && [ -f line/line-8/device.crt ]' "CSV devices"
printf 'ok-1\n../evil\n' > evil.csv
expect BW_E_INVAL "$B" provision --ca-dir ca --from-csv evil.csv --out line2 $CHEAP
check '[ ! -e evil ] && [ ! -e line2/../evil ]' "path in a device id"

# --- usage errors ---------------------------------------------------------------
"$B" provision --count 1 --out x >/dev/null 2>&1; check '[ $? = 2 ]' "missing --ca-dir is a usage error"
"$B" provision --ca-dir ca --count 1 >/dev/null 2>&1; check '[ $? = 2 ]' "--count without --out"

# --- one device by its device.conf, then passwd ------------------------------------
devconf dev
expect OK "$B" provision --ca-dir ca --config dev/device.conf --device-id unit-42 $CHEAP
pw=$(sed -n 's/^factory password: //p' out.txt)
check '[ ${#pw} = 23 ]' "factory password printed once"
check 'openssl verify -CAfile ca/ca.crt dev/state/device.crt >/dev/null' "single device cert"
expect BW_E_EXISTS "$B" provision --ca-dir ca --config dev/device.conf --device-id unit-42 $CHEAP
expect OK "$B" passwd --config dev/device.conf --status --json
check 'grep -q "\"factory_credential_in_use\":true" out.txt' "factory credential reported"
# Three failures in a row, each after the previous delay: the third asks
# for at least 4 s, a margin no slow (ASan, loaded) process start eats up.
for wait in 2.1 3.1 0; do
  echo "not-the-password" | "$B" passwd --config dev/device.conf --check >/dev/null 2>&1
  check '[ $? = $(code BW_E_AUTH) ]' "wrong password"
  sleep $wait
done
echo "$pw" | "$B" passwd --config dev/device.conf --check >/dev/null 2>&1
check '[ $? = $(code BW_E_LOCKED) ]' "right password accepted during the delay"
sleep 5.1
echo "$pw" | "$B" passwd --config dev/device.conf --check >/dev/null 2>&1
check '[ $? = 0 ]' "right password after the delay"
printf '%s\nshort\nshort\n' "$pw" | "$B" passwd --config dev/device.conf $CHEAP >/dev/null 2>&1
check '[ $? = $(code BW_E_INVAL) ]' "short new password accepted"
printf '%s\nanother-good-pass\nanother-good-pasz\n' "$pw" | "$B" passwd --config dev/device.conf $CHEAP >/dev/null 2>&1
check '[ $? = $(code BW_E_INVAL) ]' "mismatched new passwords accepted"
printf '%s\nanother-good-pass\nanother-good-pass\n' "$pw" | "$B" passwd --config dev/device.conf $CHEAP >/dev/null 2>&1
check '[ $? = 0 ]' "password change"
expect OK "$B" passwd --config dev/device.conf --status --json
check 'grep -q "\"factory_credential_in_use\":false" out.txt' "factory flag cleared"
echo "$pw" | "$B" passwd --config dev/device.conf --check >/dev/null 2>&1
check '[ $? = $(code BW_E_AUTH) ]' "old factory password still works"

echo "provision: $pass passed, $fail failed"
[ $fail = 0 ]
