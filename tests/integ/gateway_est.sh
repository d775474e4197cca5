#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# EST enrollment (RFC 7030, docs/identity.md "Enrollment and renewal") done
# by hand with clients that are not bulwark's: curl and openssl. cacerts is
# parsed by openssl pkcs7; dev-1 enrolls with a CSR made by openssl req,
# authenticated by its birth certificate (IDevID) over mTLS; the PKCS#7
# answer is parsed by openssl pkcs7 -print_certs and the certificate
# verified by openssl verify against cacerts; the device API takes it;
# simplereenroll renews with it. Refused, each with its own status: no
# client certificate, a CSR naming another device, a revoked device, a
# wrong media type, a malformed and an oversized CSR, a CSR whose
# signature does not verify, reenroll with the IDevID, enroll with an
# operational certificate, and (require_operational_cert = true, a second
# instance on the same registry) the IDevID on the device API. An operator
# revokes one operational certificate (POST .../certs/SERIAL/revoke): it is
# refused at once on both instances, listed in the operational CA's CRL
# (/crl/operational.crl, openssl verify -crl_check refuses it and takes
# the device's other one) and not in the device CA's, audited, the
# device's birth certificate still taken. Revoking dev-1 refuses its
# operational certificate at once on both instances and lists its
# operational serials in the operational CA's CRL, its birth serial alone
# in the device CA's.
# Usage: gateway_est.sh BULWARK GATEWAY DEVKEY_PEM [DATABASE-URL]
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3"); GW_DB=${4:-}
FLIP=$(realpath "$(dirname "$0")/flipbyte.sh")
gw_begin
[ -n "$GW_DB" ] || GW_DB=sqlite:$T/registry.db

gw_server_cert
gw_devices dev-1 dev-2 dev-3
gw_operators admin
# the operational CA: a P-256 CA made by openssl, not by bulwark
gw_est_ca
CONF=("token_audience = $AUD" "est_ca_cert = $T/opca.crt" "est_ca_key = $T/opca.key" "est_lifetime = 172800"
      "crl_cert = $T/factory/ca.crt" "crl_key = $T/factory/ca.key" "crl_period = 3600")
gw_start "$T/factory/ca.crt" "${CONF[@]}"; UA=$U; GA=$GPID; mv gw.conf gwA.conf
P=0 gw_start "$T/factory/ca.crt" "${CONF[@]}" "require_operational_cert = true"; UB=$U; GB=$GPID

dtok() { "$B" token --config $1/device.conf --aud "$AUD" --ttl 300; }
CHK='{"version":"1.0","sequence":1}'
# est CERT KEY PATH [CURL-ARGS]: a POST of csr.b64 as application/pkcs10
est() { local c=$1 k=$2 p=$3; shift 3
  req --cert $c --key $k -H "Content-Type: application/pkcs10" --data-binary @csr.b64 "$@" $UA/.well-known/est/$p; }
# csr KEY CN: csr.der and csr.b64 by openssl req
csr() { openssl req -new -key $1 -subj "/CN=$2" -outform DER -out csr.der 2>/dev/null && base64 csr.der > csr.b64; }

check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $UA/api/v1/devices/import)" = 200 ]' "import"
for d in dev-1 dev-2 dev-3; do
  check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"accepted\"}" $UA/api/v1/devices/$d/status)" = 200 ]' "accept $d"
done
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $UA/api/v1/devices/dev-3/status)" = 200 ]' "revoke dev-3"

# cacerts: no credentials, base64 certs-only PKCS#7
check '[ "$(curl -s -D cah.txt -o cacerts.b64 -w "%{http_code}" --cacert srvca.crt $UA/.well-known/est/cacerts)" = 200 ]' "cacerts"
check 'grep -qi "^content-type: application/pkcs7-mime" cah.txt && grep -qi "^content-transfer-encoding: base64" cah.txt' \
  "cacerts headers: $(tr '\r\n' '  ' < cah.txt)"
check 'base64 -d cacerts.b64 | openssl pkcs7 -inform DER -print_certs -out cacerts.pem && cmp -s <(openssl x509 -in cacerts.pem -outform DER) <(openssl x509 -in opca.crt -outform DER)' \
  "cacerts is not the operational CA"

# simpleenroll by hand: dev-1's CSR for its own key (the operational key
# reuses the device key here, so bulwark token signs for it)
csr dev-1/tls.key dev-1
check '[ "$(est dev-1/state/device.crt dev-1/tls.key simpleenroll -D eh.txt)" = 200 ]' "simpleenroll"
cp body.txt op1.b64
check 'grep -qi "^content-type: application/pkcs7-mime; *smime-type=certs-only" eh.txt' "enroll content type"
check 'base64 -d op1.b64 | openssl pkcs7 -inform DER -print_certs -out op1.pem' "openssl cannot parse the PKCS#7"
check 'openssl verify -CAfile cacerts.pem op1.pem >/dev/null' "openssl verify refused the operational certificate"
check 'openssl x509 -in op1.pem -noout -subject | grep -q "CN *= *dev-1"' "subject is not dev-1"
nb=$(openssl x509 -in op1.pem -noout -enddate | cut -d= -f2)
check '[ $(( $(date -d "$nb" +%s) - $(date +%s) )) -gt 86400 ] && [ $(( $(date -d "$nb" +%s) - $(date +%s) )) -le 172800 ]' \
  "lifetime is not est_lifetime (notAfter $nb)"
openssl x509 -in op1.pem -out op1.crt
# the device API takes it, on both instances; B refuses the IDevID
dop() { req --cert op1.crt --key dev-1/tls.key -H "Authorization: Bearer $(dtok dev-1)" --data "$CHK" "$@"; }
check '[ "$(dop $UA/api/v1/device/checkin)" = 200 ]' "device API with the operational certificate on A"
check '[ "$(dop $UB/api/v1/device/checkin)" = 200 ]' "device API with the operational certificate on B"
check '[ "$(req --cert op1.crt --key dev-1/tls.key -H "Authorization: Bearer $(dtok dev-1)" $UB/api/v1/device/whoami)" = 200 ] && grep -q "\"certificate\":\"operational\"" body.txt' \
  "whoami does not say operational"
check '[ "$(req --cert dev-2/state/device.crt --key dev-2/tls.key -H "Authorization: Bearer $(dtok dev-2)" --data "$CHK" $UA/api/v1/device/checkin)" = 200 ]' \
  "IDevID refused on A (require_operational_cert = false)"
check '[ "$(req --cert dev-2/state/device.crt --key dev-2/tls.key -H "Authorization: Bearer $(dtok dev-2)" --data "$CHK" $UB/api/v1/device/checkin)" = 403 ] && grep -q operational_certificate body.txt' \
  "IDevID taken on B (require_operational_cert = true)"

# simplereenroll with the operational certificate, a new key this time
openssl ecparam -name prime256v1 -genkey -noout -out op2.key 2>/dev/null
csr op2.key dev-1
check '[ "$(est op1.crt dev-1/tls.key simplereenroll)" = 200 ]' "simplereenroll"
check 'base64 -d body.txt | openssl pkcs7 -inform DER -print_certs -out op2.pem && openssl verify -CAfile cacerts.pem op2.pem >/dev/null' \
  "reenrolled certificate does not verify"
check '[ "$(openssl x509 -in op2.pem -noout -pubkey | sha256sum)" = "$(openssl ec -in op2.key -pubout 2>/dev/null | sha256sum)" ]' \
  "reenrolled certificate is not for the new key"

# refusals
check '[ "$(est op1.crt dev-1/tls.key simpleenroll)" = 403 ]' "simpleenroll with an operational certificate"
check '[ "$(est dev-1/state/device.crt dev-1/tls.key simplereenroll)" = 403 ]' "simplereenroll with the IDevID"
check '[ "$(req -H "Content-Type: application/pkcs10" --data-binary @csr.b64 $UA/.well-known/est/simpleenroll)" = 401 ]' \
  "simpleenroll without a client certificate"
csr dev-1/tls.key dev-2
check '[ "$(est dev-1/state/device.crt dev-1/tls.key simpleenroll)" = 403 ]' "dev-1 enrolled a CSR naming dev-2"
csr dev-3/tls.key dev-3
check '[ "$(est dev-3/state/device.crt dev-3/tls.key simpleenroll)" = 403 ]' "revoked dev-3 enrolled"
csr dev-2/tls.key dev-2
check '[ "$(req --cert dev-2/state/device.crt --key dev-2/tls.key -H "Content-Type: application/json" --data-binary @csr.b64 $UA/.well-known/est/simpleenroll)" = 415 ]' \
  "a CSR as application/json"
printf 'MIIB*not base64*\n' > csr.b64
check '[ "$(est dev-2/state/device.crt dev-2/tls.key simpleenroll)" = 400 ]' "malformed base64"
head -c 600 /dev/urandom | base64 > csr.b64
check '[ "$(est dev-2/state/device.crt dev-2/tls.key simpleenroll)" = 400 ]' "random DER"
head -c 9000 /dev/zero | base64 > csr.b64
check '[ "$(est dev-2/state/device.crt dev-2/tls.key simpleenroll)" = 413 ]' "oversized CSR"
# a CSR whose signature does not verify: one bit of the signature flipped
csr dev-2/tls.key dev-2
"$FLIP" csr.der $(( $(stat -c %s csr.der) - 3 )); base64 csr.der > csr.b64
check '[ "$(est dev-2/state/device.crt dev-2/tls.key simpleenroll)" = 400 ]' "CSR with a broken signature"
# an unknown EST path
check '[ "$(req $UA/.well-known/est/serverkeygen)" = 404 ]' "serverkeygen"

# one operational certificate revoked on its own (serial as openssl prints
# it, upper case): refused at once on both instances, in the CRL, audited;
# the device and its birth certificate untouched (a CSR that verifies)
csr dev-1/tls.key dev-1
SEROP=$(openssl x509 -in op1.pem -noout -serial | cut -d= -f2)
check '[ "$(op $TOK_admin -X POST $UA/api/v1/devices/dev-1/certs/$SEROP/revoke)" = 200 ]' \
  "revoke dev-1's operational certificate $SEROP"
check '[ "$(dop $UA/api/v1/device/checkin)" = 403 ]' "revoked operational certificate taken on A"
check '[ "$(dop $UB/api/v1/device/checkin)" = 403 ]' "revoked operational certificate taken on B"
check '[ "$(req --cert op1.crt --key dev-1/tls.key -H "Content-Type: application/pkcs10" --data-binary @csr.b64 $UA/.well-known/est/simplereenroll)" = 403 ]' \
  "revoked operational certificate renewed"
check '[ "$(req --cert dev-1/state/device.crt --key dev-1/tls.key -H "Authorization: Bearer $(dtok dev-1)" --data "$CHK" $UA/api/v1/device/checkin)" = 200 ]' \
  "dev-1's birth certificate refused after revoking one operational certificate"
# the operational CA's CRL lists it, signed by that CA: openssl verify
# -crl_check refuses it and takes dev-1's other operational certificate;
# the device CA's CRL does not list it
opcrl() { curl -s -o operational.pem -w "%{http_code}" --cacert srvca.crt $UA/crl/operational.pem; }
check '[ "$(curl -s -o opcrl.der -w "%{http_code}" --cacert srvca.crt $UA/crl/operational.crl)" = 200 ] && openssl crl -inform DER -in opcrl.der -noout -text | tr -d ":" | grep -qi "Serial Number $SEROP"' \
  "operational CRL lacks the revoked operational serial $SEROP"
check '[ "$(opcrl)" = 200 ] && openssl verify -crl_check -CAfile opca.crt -CRLfile operational.pem op1.pem 2>&1 | grep -q "certificate revoked"' \
  "openssl accepted the revoked operational certificate $SEROP"
check 'openssl verify -crl_check -CAfile opca.crt -CRLfile operational.pem op2.pem >/dev/null' \
  "openssl refused dev-1's valid operational certificate"
check '[ "$(curl -s -o crl.der -w "%{http_code}" --cacert srvca.crt $UA/crl/devices.crl)" = 200 ] && openssl crl -inform DER -in crl.der -noout -CAfile factory/ca.crt -verify 2>&1 | grep -q "verify OK"' \
  "device CRL not signed by the device CA"
check '! openssl crl -inform DER -in crl.der -noout -text | tr -d ":" | grep -qi "Serial Number $SEROP"' \
  "device CRL lists the operational serial $SEROP"
check 'op $TOK_admin "$UA/api/v1/audit" >/dev/null && grep -q "cert.revoke" body.txt' "certificate revocation not audited"
check '[ "$(op $TOK_admin -X POST $UA/api/v1/devices/dev-1/certs/$SEROP/revoke)" = 200 ]' "revoking again"
check '[ "$(op $TOK_admin -X POST $UA/api/v1/devices/dev-2/certs/$SEROP/revoke)" = 404 ]' \
  "dev-1's certificate revoked through dev-2"
check '[ "$(op $TOK_admin -X POST $UA/api/v1/devices/dev-1/certs/00zz/revoke)" = 404 ]' "a serial that is not hex"
check '[ "$(req -X POST $UA/api/v1/devices/dev-1/certs/$SEROP/revoke)" = 401 ]' "revocation without an operator token"

# revocation of the device reaches operational certificates: refused at once, in the CRL
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $UA/api/v1/devices/dev-1/status)" = 200 ]' "revoke dev-1"
check '[ "$(dop $UA/api/v1/device/checkin)" = 403 ]' "revoked dev-1's operational certificate taken"
check '[ "$(dop $UB/api/v1/device/checkin)" = 403 ]' "revoked dev-1's operational certificate taken on B"
check '[ "$(req --cert op1.crt --key dev-1/tls.key -H "Content-Type: application/pkcs10" --data-binary @csr.b64 $UA/.well-known/est/simplereenroll)" = 403 ]' \
  "revoked dev-1 renewed"
SEROP2=$(openssl x509 -in op2.pem -noout -serial | cut -d= -f2)
check '[ "$(opcrl)" = 200 ] && openssl crl -in operational.pem -noout -text | tr -d ":" | grep -qi "Serial Number $SEROP2"' \
  "operational CRL lacks revoked dev-1's operational serial $SEROP2"
check 'openssl verify -crl_check -CAfile opca.crt -CRLfile operational.pem op2.pem 2>&1 | grep -q "certificate revoked"' \
  "openssl accepted revoked dev-1's operational certificate"
check '[ "$(curl -s -o crl.der -w "%{http_code}" --cacert srvca.crt $UA/crl/devices.crl)" = 200 ]' "CRL"
check 'openssl x509 -in dev-1/state/device.crt -noout -serial | cut -d= -f2 | { read s; openssl crl -inform DER -in crl.der -noout -text | tr -d ":" | grep -qi "Serial Number $s"; }' \
  "device CRL lacks dev-1's birth serial"
check '! openssl crl -inform DER -in crl.der -noout -text | tr -d ":" | grep -qi "Serial Number \($SEROP\|$SEROP2\)"' \
  "device CRL lists dev-1's operational serials"

kill $GA $GB; wait $GA $GB 2>/dev/null
check '! grep -q "runtime error\|Sanitizer" gw.err' "gateway reports: $(grep -m3 "runtime error\|Sanitizer" gw.err)"

echo "gateway_est: $pass passed, $fail failed"
[ "$fail" = 0 ]
