#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The manufacturing CA with its key in a PKCS#11 token (softhsm2 in a
# private token directory): bulwark provision makes the key inside the
# token, writes the CA certificate, and issues IDevIDs through the token;
# openssl verifies them, and the CA key never appears as a file.
# Usage: provision_pkcs11.sh BULWARK
set -u
B=$(realpath "$1")
. "$(dirname "$(realpath "$0")")/softhsmlib.sh"
token factory-ca
URI="pkcs11:module=$module;token=factory-ca;object=ca;pin-source=$T/pin"

"$B" provision --ca-dir ca --ca-key "$URI" --count 3 --out devs --profile idevid \
    --not-after never --argon2 1,1024,1 >out.txt 2>err.txt && ok || bad "provision: $(cat err.txt)"
[ -f ca/ca.crt ] && [ ! -e ca/ca.key ] && ok || bad "CA certificate missing, or a CA key file written"
[ "$(openssl verify -x509_strict -CAfile ca/ca.crt devs/*/device.crt 2>&1 | grep -c ': OK$')" = 3 ] \
    && ok || bad "openssl verify: $(openssl verify -CAfile ca/ca.crt devs/*/device.crt 2>&1)"
openssl x509 -in ca/ca.crt -noout -ext basicConstraints,keyUsage | grep -q "CA:TRUE" && ok || bad "CA:TRUE"
# the same token key is used again (not replaced) on a second run
before=$(sha256sum < ca/ca.crt)
"$B" provision --ca-dir ca --ca-key "$URI" --count 4 --out devs --argon2 1,1024,1 >/dev/null 2>err.txt \
    && ok || bad "second run: $(cat err.txt)"
[ "$before" = "$(sha256sum < ca/ca.crt)" ] && openssl verify -CAfile ca/ca.crt devs/dev-000004/device.crt >/dev/null \
    && ok || bad "second run changed the CA or issued a certificate that does not verify"
# a CA certificate for another key is refused
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -subj /CN=x \
    -addext basicConstraints=critical,CA:TRUE -out other.crt -days 1 2>/dev/null
"$B" provision --ca-dir ca --ca-cert other.crt --ca-key "$URI" --count 5 --out devs --argon2 1,1024,1 \
    >/dev/null 2>&1
[ $? != 0 ] && [ ! -e devs/dev-000005 ] && ok || bad "a CA certificate for another key was used"
echo "provision_pkcs11: $pass passed, $fail failed"
[ $fail = 0 ]
