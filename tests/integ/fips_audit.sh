#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwark audit's evidence for the cryptographic module (issue 21): on a
# device whose device.conf sets crypto_mode = approved, the crypto.module
# check names the FIPS provider, its version, its status and its self-test
# result and the mode, and passes the 27402 5.2.5 row once the profile
# declares the certificate (manual without it); the row cross-refers to
# EN 303 645 5.4 and 5.5; it names where the device key and the storage
# key live and flags them when outside a hardware module. The same device
# in default mode: not claimed.
# Usage: fips_audit.sh BULWARK FIPSDIR   (env: BULWARK_FIPS_CONF)
set -u
B=$(realpath "$1") fdir=$2
LIB=$(dirname "$(realpath "$0")")/auditlib.sh
[ -f "$fdir/openssl-fips.cnf" ] || { echo "skipped: no FIPS provider in $fdir"; exit 77; }
export BULWARK_FIPS_CONF=$fdir/openssl-fips.cnf
unset BULWARK_CRYPTO_MODE
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$LIB"
audit_device
"$B" audit init --out profile.conf >/dev/null
audit() { "$B" audit --config $CONF --profile profile.conf --json > audit.json 2> audit.err; }
field() { $PY -c 'import json, sys
d = json.load(open("audit.json"))
if sys.argv[1] == "check":
    print(*[c["result"] + " " + c["evidence"] for c in d["checks"] if c["check"] == "crypto.module"])
else:
    r = [x for x in d["requirements"] if x["id"] == "iso27402-5.2.5"][0]
    print(r["result"])' "$1"; }

audit
check 'field check | grep -q "^not-applicable .*crypto_mode = default"' "default mode: $(field check)"

echo "crypto_mode = approved" >> $CONF
audit
check 'field check | grep -q "^manual Cryptographic module: OpenSSL FIPS Provider 3\.0\.[0-9]*, provider active, self-test passed; crypto_mode = approved\."' \
  "approved, no certificate: $(field check) $(head -c 300 audit.err)"
check 'field check | grep -q "declares no certificate"' "no certificate: $(field check)"
# which module holds each key; in approved mode a file key is flagged
check 'field check | grep -q "Device key: file .*Storage key: file .*Held outside a hardware module: the device key and the storage key"' \
  "keys outside a module not flagged: $(field check)"
sed -i '/^fips_certificate = /d' profile.conf # the template's empty line
echo "fips_certificate = CMVP #0000 (test value)" >> profile.conf
audit
check 'field check | grep -q "^pass .*Certificate declared by the maker: CMVP #0000 (test value)\."' \
  "approved with a certificate: $(field check)"
check 'field row | grep -q "^pass"' "27402 5.2.5 row: $(field row)"
check 'grep -q "en303645-5.4-1" audit.json && $PY -c "import json; d = json.load(open(\"audit.json\")); r = [x for x in d[\"requirements\"] if x[\"id\"] == \"iso27402-5.2.5\"][0]; s = json.dumps(r); assert \"en303645-5.4-1\" in s and \"en303645-5.5-1\" in s, s"' \
  "the row cross-refers to EN 303 645 5.4 and 5.5"
echo "fips_audit: $pass passed, $fail failed"
[ $fail = 0 ]
