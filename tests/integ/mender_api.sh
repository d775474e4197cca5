#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwark-gateway's Mender device API on loopback, with auth requests
# signed by openssl exactly as mender-client signs them (the signature in
# X-MEN-Signature over the exact body; ECDSA P-256 and RSA-3072): a new
# device waits, is accepted, gets a gateway JWT, sends its inventory, is
# offered a mender release by a campaign (v2 and the v1 fallback), fetches
# it through its signed link, reports statuses; a preauthorized device is
# let in at once; refusals: bad signature, another key for a known
# identity, a JWT not issued by the gateway, alg none, a revoked device, a
# forged link, another device's deployment.
# Usage: mender_api.sh BULWARK-GATEWAY [BULWARK-GATEWAYCTL]
set -u
. "$(dirname "$0")/gwlib.sh"
GW=$(realpath "$1"); CTL=${2:+$(realpath "$2")}
T=$(mktemp -d)
GPID=
trap 'for p in ${PIDS:-}; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 300 body.txt 2>/dev/null)]"; fi; }

gw_server_cert
gw_operators admin release-manager viewer
openssl ecparam -name prime256v1 -genkey -noout -out devca.key 2>/dev/null
openssl req -new -x509 -key devca.key -subj "/CN=unused device CA" -days 2 -out devca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out rel.key 2>/dev/null
openssl ec -in rel.key -pubout -out rel.pub 2>/dev/null
gw_start "$T/devca.crt"
M=$U/api/devices
q() { sqlite3 registry.db "$1"; }

# auth KEY ID_JSON [SIGNING_KEY]: the auth request body (auth.json), its
# signature, the answer code; the JWT, if any, in body.txt
auth() {
  $PY - "$1" "$2" > auth.json <<'PY'
import json, sys
pem = open(sys.argv[1] + ".pub").read()
sys.stdout.write(json.dumps({"id_data": sys.argv[2], "tenant_token": "", "pubkey": pem}))
PY
  local sig; sig=$(openssl dgst -sha256 -sign "${3:-$1}.key" auth.json | base64 -w0)
  req -H "Content-Type: application/json" -H "X-MEN-Signature: $sig" --data-binary @auth.json \
    $M/v1/authentication/auth_requests
}
mkkey() { # mkkey NAME ec|rsa
  if [ "$2" = ec ]; then openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key 2>/dev/null
  else openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out $1.key 2>/dev/null; fi
  openssl pkey -in $1.key -pubout -out $1.pub
}
mkkey d1 ec; mkkey d2 rsa; mkkey other ec
ID1='{"mac":"02:00:00:00:00:01","serial":"SN-0001"}'
ID2='{"mac":"02:00:00:00:00:02","serial":"SN-0002"}'

# --- a new device waits; the operator accepts it ----------------------------------------
check '[ "$(auth d1 "$ID1")" = 401 ] && grep -q pending body.txt' "new device not pending"
DEV1=$(q "SELECT id FROM devices WHERE status = 0")
check '[ -n "$DEV1" ] && [ "${DEV1#mender-}" != "$DEV1" ] && [ "$(q "SELECT attrs FROM devices WHERE id = \"$DEV1\"")" = "$ID1" ]' \
  "pending device in the registry: $DEV1"
check '[ "$(auth d1 "$ID1" other)" = 401 ] && grep -q X-MEN-Signature body.txt' "signature by another key accepted"
check '[ "$(auth other "$ID1")" = 401 ] && grep -q "another key" body.txt' "a second key for a known identity"
check '[ "$(q "SELECT count(*) FROM devices")" = 1 ]' "a refused request added a device"
check '[ "$(op $TOK_viewer -H "Content-Type: application/json" --data "{\"status\":\"accepted\"}" $U/api/v1/devices/$DEV1/status)" = 403 ]' \
  "viewer accepted a device"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"accepted\"}" $U/api/v1/devices/$DEV1/status)" = 200 ]' "accept"
check '[ "$(auth d1 "$ID1")" = 200 ]' "accepted device refused"
JWT=$(cat body.txt)
check '[ "$(printf %s "$JWT" | tr -cd . | wc -c)" = 2 ]' "answer is not a JWT: $JWT"
dev() { local t=$1; shift; req -H "Authorization: Bearer $t" "$@"; }

# --- preauthorized (RSA) -------------------------------------------------------------------
$PY -c 'import json,sys; print(json.dumps({"id_data": json.loads(sys.argv[1]), "pubkey": open("d2.pub").read()}))' "$ID2" > pre.json
check '[ "$(op $TOK_viewer -H "Content-Type: application/json" --data-binary @pre.json $U/api/v1/devices/preauthorize)" = 403 ]' "viewer preauthorized"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @pre.json $U/api/v1/devices/preauthorize)" = 201 ]' "preauthorize"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @pre.json $U/api/v1/devices/preauthorize)" = 409 ]' "preauthorized twice"
check '[ "$(auth d2 "$ID2")" = 200 ]' "preauthorized RSA device refused"
JWT2=$(cat body.txt)
DEV2=$(q "SELECT id FROM devices WHERE id != \"$DEV1\"")

# --- inventory, a campaign, next, the artifact, statuses -------------------------------------
check '[ "$(dev $JWT -X PUT -H "Content-Type: application/json" --data "[{\"name\":\"device_type\",\"value\":\"demo-x86\"},{\"name\":\"artifact_name\",\"value\":\"demo-1.0\"}]" $M/v1/inventory/device/attributes)" = 200 ]' \
  "inventory"
check '[ "$(q "SELECT json_extract(attrs, \"$.device_type\") || \" \" || json_extract(attrs, \"$.serial\") FROM devices WHERE id = \"$DEV1\"")" = "demo-x86 SN-0001" ]' \
  "inventory merged into the attributes: $(q "SELECT attrs FROM devices WHERE id = '$DEV1'")"
NEXT='{"device_provides":{"artifact_name":"demo-1.0","device_type":"demo-x86"},"update_control_map":true}'
check '[ "$(dev $JWT -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 204 ]' "nothing to do: not 204"
: > empty.mender
check '[ "$(op $TOK_release_manager --data-binary @empty.mender "$U/api/v1/releases?name=empty&kind=mender")" = 422 ]' "empty artifact accepted"
head -c 50000 /dev/urandom > demo-1.1.mender
check '[ "$(op $TOK_release_manager --data-binary @demo-1.1.mender "$U/api/v1/releases?name=demo-1.1&kind=mender")" = 201 ]' "mender release upload"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"m1\",\"release_id\":$RID,\"filter\":{\"device_type\":\"demo-x86\"}}" $U/api/v1/campaigns)" = 201 ]' \
  "campaign"
check '[ "$(dev $JWT -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 200 ] && grep -q "\"artifact_name\":\"demo-1.1\"" body.txt && grep -q "\"device_types_compatible\":\[\"demo-x86\"\]" body.txt' \
  "deployments/next v2"
DID=$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' body.txt)
URI=$(sed -n 's/.*"uri":"\([^"]*\)".*/\1/p' body.txt)
check '[ "$(dev $JWT "$M/v1/deployments/device/deployments/next?artifact_name=demo-1.0&device_type=demo-x86")" = 200 ] && grep -q "\"id\":\"$DID\"" body.txt' \
  "deployments/next v1 fallback"
check '[ "$(req "$URI")" = 200 ] && cmp -s body.txt demo-1.1.mender' "artifact through its link"
check '[ "$(req "${URI%?}0")" = 403 ] || [ "$(req "${URI%?}1")" = 403 ]' "forged link served"
check '[ "$(req "${URI/d=$DEV1/d=$DEV2}")" = 403 ]' "link for another device served"
check '[ "$(dev $JWT2 -X PUT -H "Content-Type: application/json" --data "{\"status\":\"success\"}" $M/v1/deployments/device/deployments/$DID/status)" = 404 ]' \
  "another device's deployment"
check '[ "$(dev $JWT -X PUT -H "Content-Type: application/json" --data "{\"status\":\"exploded\"}" $M/v1/deployments/device/deployments/$DID/status)" = 400 ]' \
  "bad status"
for s in downloading installing rebooting; do
  check '[ "$(dev $JWT -X PUT -H "Content-Type: application/json" --data "{\"status\":\"$s\"}" $M/v1/deployments/device/deployments/$DID/status)" = 204 ]' "status $s"
done
check '[ "$(q "SELECT state FROM actions WHERE id = $DID")" = 2 ]' "running after downloading"
# the client re-authenticates mid-deployment: a new JWT works on
check '[ "$(auth d1 "$ID1")" = 200 ]' "re-authentication"
JWT=$(cat body.txt)
check '[ "$(dev $JWT -X PUT -H "Content-Type: application/json" --data "{\"status\":\"success\"}" $M/v1/deployments/device/deployments/$DID/status)" = 204 ]' "status success"
check '[ "$(q "SELECT state FROM actions WHERE id = $DID")" = 3 ]' "success not recorded"
check '[ "$(dev $JWT -X PUT -H "Content-Type: application/json" --data "{\"status\":\"success\"}" $M/v1/deployments/device/deployments/$DID/status)" = 204 ]' "success sent twice"
check '[ "$(dev $JWT -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 204 ]' "offered again after success"

# --- tokens the gateway did not issue, and revocation ------------------------------------------
b64u() { base64 -w0 | tr '+/' '-_' | tr -d =; }
NOW=$(date +%s)
none="$(printf '{"alg":"none","typ":"JWT"}' | b64u).$(printf '{"sub":"%s","aud":"bulwark-gateway/mender","iat":%s,"exp":%s,"jti":"x"}' $DEV1 $NOW $((NOW + 600)) | b64u)."
check '[ "$(dev "$none" -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 401 ]' "alg none token accepted"
hdr=$(printf '{"alg":"ES256","typ":"JWT"}' | b64u)
pay=$(printf '{"sub":"%s","aud":"bulwark-gateway/mender","iat":%s,"exp":%s,"jti":"y"}' $DEV1 $NOW $((NOW + 600)) | b64u)
sig=$(printf '%s.%s' "$hdr" "$pay" | openssl dgst -sha256 -sign d1.key | $PY -c '
import sys, base64
d = sys.stdin.buffer.read()
# DER ECDSA-Sig-Value -> r || s, 32 bytes each
i = 2 + (d[1] & 0x80 and (d[1] & 0x7f))
def take(i):
    n = d[i + 1]; v = d[i + 2:i + 2 + n]; return v[-32:].rjust(32, b"\0"), i + 2 + n
r, i = take(i); s, i = take(i)
print(base64.urlsafe_b64encode(r + s).decode().rstrip("="))')
check '[ "$(dev "$hdr.$pay.$sig" -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 401 ]' \
  "a JWT signed by the device itself accepted"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $U/api/v1/devices/$DEV1/status)" = 200 ]' "revoke"
check '[ "$(dev $JWT -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 401 ]' "revoked device's JWT still accepted"
check '[ "$(auth d1 "$ID1")" = 401 ]' "revoked device authenticated"
check '[ "$(req -H "Content-Type: application/json" --data "{" $M/v1/authentication/auth_requests)" = 400 ]' "malformed auth request"
check '[ "$(req $U/healthz)" = 200 ]' "server still serving"

# --- mender_key: two instances on one registry accept each other's JWTs; an
# instance with its own key does not, and a key that is not P-256 stops the start --
kill $GPID; wait $GPID 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out mk.pem 2>/dev/null
P=0; gw_start "$T/devca.crt" "mender_key = $T/mk.pem"; UA=$U; M=$U/api/devices
check '[ "$(auth d2 "$ID2")" = 200 ]' "auth on instance A"
JWTA=$(cat body.txt)
P=0; gw_start "$T/devca.crt" "mender_key = $T/mk.pem"; UB=$U
check '[ "$(dev $JWTA -H "Content-Type: application/json" --data "$NEXT" $UB/api/devices/v2/deployments/device/deployments/next)" = 204 ]' \
  "instance B refused instance A's JWT (same mender_key)"
P=0; gw_start "$T/devca.crt"; UC=$U
check '[ "$(dev $JWTA -H "Content-Type: application/json" --data "$NEXT" $UC/api/devices/v2/deployments/device/deployments/next)" = 401 ]' \
  "an instance with its own key accepted A's JWT"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
sed -i "s|^mender_key = .*||" gw.conf; echo "mender_key = $T/rsa.pem" >> gw.conf
check '! "$GW" --config gw.conf --check-config >/dev/null 2>err.txt && grep -q "mender_key" err.txt' \
  "an RSA mender_key accepted"

# --- identity squatting, pending cap, JWT lifetime, links, RSA bounds: a gateway with
# pending_max = 4, mender_jwt_ttl = 120 and a public_url -----------------------------------
for p in ${PIDS:-}; do kill $p 2>/dev/null; done; wait 2>/dev/null; PIDS=
rm -f registry.db*
P=0; gw_start "$T/devca.crt" "pending_max = 4" "mender_jwt_ttl = 120" \
  "public_url = https://updates.example.test:8443/"; M=$U/api/devices
mkkey sq ec; mkkey real ec; mkkey sq2 ec; mkkey real2 ec
ID3='{"mac":"02:00:00:00:00:03","serial":"SN-0003"}'
ID4='{"mac":"02:00:00:00:00:04","serial":"SN-0004"}'
# a squatter asks first with the real device's identity
check '[ "$(auth sq "$ID3")" = 401 ] && grep -q pending body.txt' "squatter pending"
DEV3=$(q "SELECT id FROM devices WHERE attrs = '$ID3'")
check '[ "$(auth real "$ID3")" = 401 ] && grep -q "another key" body.txt' "real device while squatted"
check '[ "$(op $TOK_viewer "$U/api/v1/devices?status=pending")" = 200 ] && grep -q "\"$DEV3\"" body.txt && ! grep -q accepted body.txt' \
  "pending list"
check '[ "$(op $TOK_viewer "$U/api/v1/devices?status=bogus")" = 400 ]' "bad status filter"
# preauthorizing the real key wins over the pending squatter
$PY -c 'import json,sys; print(json.dumps({"id_data": json.loads(sys.argv[1]), "pubkey": open("real.pub").read()}))' "$ID3" > pre3.json
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @pre3.json $U/api/v1/devices/preauthorize)" = 201 ]' \
  "preauthorize over a pending squatter"
check '[ "$(auth real "$ID3")" = 200 ]' "real device after preauthorization"
JWT3=$(cat body.txt)
check '[ "$(auth sq "$ID3")" = 401 ] && ! grep -q pending body.txt' "squatter still let in or pending"
check '[ "$(q "SELECT count(*) FROM audit WHERE action = \"device.preauthorize\" AND detail LIKE \"%replaces pending%\"")" = 1 ]' \
  "replacement not audited"
# the JWT lives mender_jwt_ttl seconds
PAY=$(printf %s "$JWT3" | cut -d. -f2 | tr '_-' '/+'); while [ $((${#PAY} % 4)) != 0 ]; do PAY="$PAY="; done
check '[ "$(printf %s "$PAY" | base64 -d | $PY -c "import json,sys; c=json.load(sys.stdin); print(c[\"exp\"] - c[\"iat\"])")" = 120 ]' \
  "JWT lifetime is not mender_jwt_ttl"
# links from public_url, never from the Host header
check '[ "$(op $TOK_release_manager --data-binary @demo-1.1.mender "$U/api/v1/releases?name=demo-1.1&kind=mender")" = 201 ]' "release again"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"m3\",\"release_id\":$RID,\"filter\":{\"serial\":\"SN-0003\"}}" $U/api/v1/campaigns)" = 201 ]' \
  "campaign for the real device"
check '[ "$(dev $JWT3 -H "Host: evil.example" -H "Content-Type: application/json" --data "$NEXT" $M/v2/deployments/device/deployments/next)" = 200 ] && grep -qF "\"uri\":\"https://updates.example.test:8443/api/devices/v1/deployments/artifacts/" body.txt && ! grep -q evil body.txt' \
  "artifact link not from public_url"
# reject, re-key, delete a squatted identity; a viewer cannot, and is audited
check '[ "$(auth sq2 "$ID4")" = 401 ] && grep -q pending body.txt' "second squatter pending"
DEV4=$(q "SELECT id FROM devices WHERE attrs = '$ID4'")
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"rejected\"}" $U/api/v1/devices/$DEV4/status)" = 200 ]' "reject"
check '[ "$(op $TOK_viewer "$U/api/v1/devices?status=rejected")" = 200 ] && grep -q "\"$DEV4\"" body.txt' "rejected list"
$PY -c 'import json; print(json.dumps({"pubkey": open("real2.pub").read()}))' > rekey.json
check '[ "$(op $TOK_viewer -H "Content-Type: application/json" --data-binary @rekey.json $U/api/v1/devices/$DEV4/rekey)" = 403 ]' "viewer re-keyed"
check '[ "$(q "SELECT actor || \" \" || action || \" \" || object FROM audit WHERE action = \"refused\" ORDER BY id DESC LIMIT 1")" = "op-viewer refused POST /api/v1/devices/$DEV4/rekey" ]' \
  "refused re-key not audited: $(q "SELECT * FROM audit ORDER BY id DESC LIMIT 1")"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @rekey.json $U/api/v1/devices/$DEV4/rekey)" = 200 ] && grep -q "\"status\":\"pending\"" body.txt' "re-key"
check '[ "$(auth real2 "$ID4")" = 401 ] && grep -q pending body.txt' "re-keyed device not pending"
check '[ "$(auth sq2 "$ID4")" = 401 ] && grep -q "another key" body.txt' "squatter after re-key"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @rekey.json $U/api/v1/devices/$DEV3/rekey)" = 409 ]' "accepted device re-keyed"
check '[ "$(op $TOK_viewer -X DELETE $U/api/v1/devices/$DEV4)" = 403 ]' "viewer deleted"
check '[ "$(op $TOK_admin -X DELETE $U/api/v1/devices/$DEV4)" = 200 ] && [ "$(op $TOK_admin $U/api/v1/devices/$DEV4)" = 404 ]' "delete"
check '[ "$(q "SELECT count(*) FROM audit WHERE action = \"device.delete\" AND object = \"$DEV4\" AND actor = \"op-admin\"")" = 1 ]' "delete not audited"
# the same through bulwark-gatewayctl: list the waiting, preauthorize over a squatter,
# re-key another
if [ -n "$CTL" ]; then
  ctl() { BULWARK_GATEWAY_URL=$U BULWARK_GATEWAY_TOKEN=$1 "$CTL" --cacert srvca.crt "${@:2}" > ctl.txt 2>&1; }
  mkkey sq5 ec; mkkey real5 ec; mkkey sq6 ec; mkkey real6 ec
  ID5='{"mac":"02:00:00:00:00:05"}' ID6='{"mac":"02:00:00:00:00:06"}'
  auth sq5 "$ID5" >/dev/null; auth sq6 "$ID6" >/dev/null
  DEV6=$(q "SELECT id FROM devices WHERE attrs = '$ID6'")
  ctl $TOK_viewer pending; check '[ $? = 0 ] && grep -q "\"$DEV6\"" ctl.txt' "gatewayctl pending: $(head -c 200 ctl.txt)"
  ctl $TOK_admin preauthorize "$ID5" real5.pub; check '[ $? = 0 ] && grep -q replaced ctl.txt' "gatewayctl preauthorize: $(cat ctl.txt)"
  check '[ "$(auth real5 "$ID5")" = 200 ]' "preauthorized through gatewayctl refused"
  ctl $TOK_admin reject $DEV6; check '[ $? = 0 ]' "gatewayctl reject"
  ctl $TOK_viewer rejected; check '[ $? = 0 ] && grep -q "\"$DEV6\"" ctl.txt' "gatewayctl rejected"
  ctl $TOK_admin rekey $DEV6 real6.pub; check '[ $? = 0 ] && grep -q "\"status\":\"pending\"" ctl.txt' "gatewayctl rekey: $(cat ctl.txt)"
  check '[ "$(auth real6 "$ID6")" = 401 ] && grep -q pending body.txt' "re-keyed through gatewayctl"
  ctl $TOK_admin delete $DEV6; check '[ $? = 0 ]' "gatewayctl delete"
  ctl $TOK_admin rekey $DEV6 nonexistent.pem; check '[ $? = 2 ]' "gatewayctl rekey without a key file"
fi

# pending_max: new identities get 429 past it, waiting ones are still answered
i=0; code=401
while [ $i -lt 8 ] && [ "$code" = 401 ]; do
  i=$((i + 1)); mkkey p$i ec; code=$(auth p$i "{\"mac\":\"02:00:00:00:01:0$i\"}")
done
check '[ "$code" = 429 ] && [ "$(q "SELECT count(*) FROM devices WHERE status = 0")" = 4 ]' \
  "pending cap: answer $code after $i identities, $(q "SELECT count(*) FROM devices WHERE status = 0") pending"
check '[ "$(auth p1 "{\"mac\":\"02:00:00:00:01:01\"}")" = 401 ] && grep -q pending body.txt' "a waiting identity refused at the cap"
# RSA keys that cost too much to check are refused before any signature check
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:18446744073709551617 -out hugee.key 2>/dev/null
openssl pkey -in hugee.key -pubout -out hugee.pub
check '[ "$(auth hugee "{\"mac\":\"02:00:00:00:02:01\"}")" = 401 ] && grep -q "odd exponent" body.txt' "RSA key with a huge exponent"
$PY -c 'import json,sys; print(json.dumps({"id_data": {"mac": "02:00:00:00:02:02"}, "pubkey": open("hugee.pub").read()}))' > pre5.json
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @pre5.json $U/api/v1/devices/preauthorize)" = 400 ]' \
  "preauthorized a key with a huge exponent"
# the device list pages past any count
check '[ "$(op $TOK_viewer "$U/api/v1/devices?limit=2")" = 200 ] && [ "$(grep -o "\"id\":" body.txt | wc -l)" = 2 ]' "limit ignored"
ALL=$(op $TOK_viewer "$U/api/v1/devices?limit=100" >/dev/null; grep -o "\"id\":\"[^\"]*\"" body.txt | tr "\n" " ")
PAGED=""; for o in 0 2 4 6; do op $TOK_viewer "$U/api/v1/devices?offset=$o&limit=2" >/dev/null; PAGED="$PAGED$(grep -o "\"id\":\"[^\"]*\"" body.txt | tr "\n" " ")"; done
check '[ -n "$ALL" ] && [ "$ALL" = "$PAGED" ]' "pages differ from the whole list: '$ALL' vs '$PAGED'"
check '[ "$(op $TOK_viewer "$U/api/v1/devices?offset=-1")" = 400 ]' "negative offset"

echo "mender_api: $pass passed, $fail failed"
[ $fail = 0 ]
