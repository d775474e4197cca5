#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 'bulwark token' as a user meets it: a simulated device with a file-backend
# device key issues tokens (id from --sub or the device certificate's CN) and
# 'token verify' accepts or refuses them with the documented exit statuses.
# Usage: token.sh BULWARK TEST_TOKEN (test_token makes the device key)
set -u
B=$(realpath "$1")
MK=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
# expect NAME CMD...: runs CMD, wants the exit status of error NAME (OK, USAGE)
expect() {
  local want=$1; shift
  local w; if [ "$want" = OK ]; then w=0; elif [ "$want" = USAGE ]; then w=2; else w=$(code "$want"); fi
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want ($w): $(cat err.txt)"; fi
  if [ "$got" != 0 ] && [ "$got" != 2 ] && ! grep -q "\[$want\]" err.txt; then bad "$*: message lacks [$want]"; fi
}
b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

"$B" keygen --out rel.key --pub rel.pub >/dev/null || exit 1
"$B" device init --dir dev --slot-size 65536 --pub rel.pub \
  --vendor-id fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe --class-id 1492af14-2569-5e48-bf42-9b2d51f2ab45 >/dev/null || exit 1
CONF=dev/device.conf
S=dev/state

expect BW_E_NOTFOUND "$B" token --config $CONF --aud gw --sub d1   # no device key yet
"$MK" --mkkey "file:$S/device.key?storage-key=$S/storage.key" dev.pub dev.pem || { echo "mkkey failed"; exit 1; }
expect USAGE "$B" token --config $CONF --aud gw                      # no id, no certificate
expect USAGE "$B" token --config $CONF --sub d1                      # no audience
expect USAGE "$B" token --config $CONF --aud gw --sub d1 --ttl 3601
expect USAGE "$B" token --config $CONF --aud gw --sub d1 --ttl 0
expect USAGE "$B" token --config $CONF --aud gw --sub d1 --pub dev.pub

# issue with --sub, check with the device's public key
expect OK "$B" token --config $CONF --aud https://gw --sub dev-17 --ttl 600
TOK=$(cat out.txt)
expect OK "$B" token verify --pub dev.pub --aud https://gw "$TOK"
grep -q "sub=dev-17 aud=https://gw" out.txt && ok || bad "verify output: $(cat out.txt)"
printf '%s\n' "$TOK" > tok.txt
expect OK "$B" token verify --pub dev.pub --aud https://gw - < tok.txt
expect OK "$B" token verify --pub dev.pub --aud https://gw --iss dev-17 --json "$TOK"
grep -q '"ok":true' out.txt && grep -q '"sub":"dev-17"' out.txt && ok || bad "json: $(cat out.txt)"
expect BW_E_CLAIM "$B" token verify --pub dev.pub --aud https://other "$TOK"
expect BW_E_CLAIM "$B" token verify --pub dev.pub --aud https://gw --iss someone "$TOK"
expect BW_E_BADSIG "$B" token verify --pub rel.pub --aud https://gw "$TOK"
NOW=$(date +%s)
expect BW_E_EXPIRED "$B" token verify --pub dev.pub --aud https://gw --at $((NOW + 600 + 120)) "$TOK"
expect BW_E_EXPIRED "$B" token verify --pub dev.pub --aud https://gw --at $((NOW - 300)) "$TOK"
expect BW_E_FORMAT "$B" token verify --pub dev.pub --aud https://gw "${TOK}=="
expect BW_E_FORMAT "$B" token verify --pub dev.pub --aud https://gw "not a token"
expect USAGE "$B" token verify --aud https://gw "$TOK"
"$B" token verify --pub dev.pub --aud https://gw --json "${TOK%?}" >out.txt 2>/dev/null
grep -q '"ok":false,"error":"BW_E_FORMAT"' out.txt && ok || bad "json refusal: $(cat out.txt)"

# the header and payload are what RFC 7519 says, read by another decoder
H=$(printf '%s' "$TOK" | cut -d. -f1); P=$(printf '%s' "$TOK" | cut -d. -f2)
pad() { local s=$1; while [ $(( ${#s} % 4 )) != 0 ]; do s="$s="; done; printf '%s' "$s" | tr -- '-_' '+/'; }
[ "$(pad "$H" | openssl base64 -d -A)" = '{"alg":"ES256","typ":"bulwark-device+jwt"}' ] && ok || bad "header"
PAY=$(pad "$P" | openssl base64 -d -A)
echo "$PAY" | grep -q '"iss":"dev-17","sub":"dev-17","aud":"https://gw","iat":' && ok || bad "payload: $PAY"
IAT=$(echo "$PAY" | sed 's/.*"iat":\([0-9]*\).*/\1/'); EXP=$(echo "$PAY" | sed 's/.*"exp":\([0-9]*\).*/\1/')
[ $((EXP - IAT)) = 600 ] && ok || bad "ttl: $IAT $EXP"
# the signature checks out with openssl too (r||s -> DER)
S64=$(printf '%s' "$TOK" | cut -d. -f3)
pad "$S64" | openssl base64 -d -A > sig.raw
R=$(head -c 32 sig.raw | od -An -tx1 | tr -d ' \n'); SS=$(tail -c 32 sig.raw | od -An -tx1 | tr -d ' \n')
printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$R" "$SS" > sig.cnf
openssl asn1parse -genconf sig.cnf -out sig.der >/dev/null
printf '%s.%s' "$H" "$P" > signed.txt
openssl dgst -sha256 -verify dev.pub -signature sig.der signed.txt >/dev/null && ok || bad "openssl verify"

# a token the gateway must refuse: alg none
NONE="$(printf '{"alg":"none"}' | b64u).$P."
expect BW_E_ALG "$B" token verify --pub dev.pub --aud https://gw "$NONE"

# the device id from the certificate, which must be for the device key
openssl req -new -x509 -key dev.pem -subj /CN=dev-cert-9 -days 2 -out $S/device.crt 2>/dev/null
expect OK "$B" token --config $CONF --aud gw --json --kid k7
grep -q '"sub":"dev-cert-9"' out.txt && grep -q '"kid":"k7"' out.txt && ok || bad "cn: $(cat out.txt)"
openssl req -new -x509 -key rel.key -subj /CN=intruder -days 2 -out $S/device.crt 2>/dev/null
expect BW_E_KEY "$B" token --config $CONF --aud gw

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
