#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwark-gateway as a user meets it: the real daemon on loopback over TLS
# with client certificates, devices provisioned by `bulwark provision`, a
# release signed by `bulwark sign`, curl as the client. Checks the operator
# API and its roles, release verification, a campaign, the device API end
# to end (check-in, download with Range, report), and the refusals: no
# certificate, no token, replayed, expired-audience or foreign token,
# another device's action, revoked device, oversized and malformed bodies,
# path tricks, bad Range. Then SIGTERM.
# Usage: gateway.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM GATEWAYCTL [DB-URL]
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3"); CTL=$(realpath "$4"); DB=${5:-}
# check: on failure, the answer to the request the condition made (a
# "$(cat body.txt)" in a message is expanded before that request, so it
# shows the previous one)
gw_begin
GPID=
trap '[ -n "$GPID" ] && kill $GPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

# --- a server CA and certificate for 127.0.0.1 ---------------------------------
gw_server_cert

# --- devices: each a simulated device provisioned by the factory step -----------
gw_devices dev-1 dev-2 dev-3

# --- operators -----------------------------------------------------------------------
gw_operators admin release-manager viewer

cat > gw.conf <<EOF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/factory/ca.crt
database = ${DB:-sqlite:$T/registry.db}
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
token_audience = $AUD
access_log = $T/access.log
max_body = 4096
threads = 2
security_contact = mailto:security@example.com
security_expires = 2030-01-01T00:00:00Z
EOF
"$GW" --config gw.conf --check-config >out.txt 2>&1
check 'grep -q "configuration OK" out.txt' "--check-config: $(cat out.txt)"
echo "listen = 127.0.0.1" > bad.conf
"$GW" --config bad.conf --check-config >/dev/null 2>&1; check '[ $? != 0 ]' "bad config accepted"

"$GW" --config gw.conf --port-file port 2>gw.err &
GPID=$!
for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done
P=$(cat port 2>/dev/null)
[ -n "$P" ] || { cat gw.err; echo "gateway did not start"; exit 1; }
U=https://127.0.0.1:$P
# curl: status code only, body in body.txt
req() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt "$@"; }
op() { local t=$1; shift; req -H "Authorization: Bearer $t" "$@"; }
dev() { local d=$1; shift; req --cert $d/state/device.crt --key $d/tls.key "$@"; }
dtok() { "$B" token --config $1/device.conf --aud "${2:-$AUD}" --ttl 300; }

# --- public ------------------------------------------------------------------------------
check '[ "$(req $U/.well-known/security.txt)" = 200 ] && grep -q "^Contact: mailto:security@example.com" body.txt && grep -q "^Expires: " body.txt' \
  "security.txt"
check '[ "$(req $U/healthz)" = 200 ]' "healthz"

# --- operator API and roles ---------------------------------------------------------------
check '[ "$(req $U/api/v1/devices)" = 401 ]' "devices without a token"
check '[ "$(op wrongtoken $U/api/v1/devices)" = 401 ]' "wrong operator token"
cat factory/registry.jsonl > import.jsonl
check '[ "$(op $TOK_viewer --data-binary @import.jsonl $U/api/v1/devices/import)" = 403 ]' "viewer imported"
check '[ "$(op $TOK_admin --data-binary @import.jsonl $U/api/v1/devices/import)" = 200 ] && grep -q "\"added\":3" body.txt' \
  "import"
check '[ "$(op $TOK_admin --data-binary @import.jsonl $U/api/v1/devices/import)" = 200 ] && grep -q "\"existing\":3" body.txt' \
  "re-import"
# one identity, one key: the same id with another certificate, and another
# id for a registered public key, are refused and add nothing
/usr/bin/python3 - import.jsonl <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
a = dict(r, fingerprint_sha256="ab" * 32)
b = dict(r, device_id="dev-clone", fingerprint_sha256="cd" * 32, serial="0102")
open("dup_id.jsonl", "w").write(json.dumps(a) + "\n")
open("dup_key.jsonl", "w").write(json.dumps(b) + "\n")
PY
check '[ "$(op $TOK_admin --data-binary @dup_id.jsonl $U/api/v1/devices/import)" = 409 ] && grep -q "registered with another certificate" body.txt' \
  "second certificate for a registered id"
check '[ "$(op $TOK_admin --data-binary @dup_key.jsonl $U/api/v1/devices/import)" = 409 ] && grep -q "public key is registered" body.txt' \
  "registered key under another id"
check '[ "$(op $TOK_viewer $U/api/v1/devices)" = 200 ] && [ "$(grep -o "\"id\"" body.txt | wc -l)" = 3 ]' "viewer lists devices"

head -c 300000 /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 5 --out fw.bwp fw.img >/dev/null
cp fw.bwp bad.bwp; "$(dirname "$(realpath "$0")")/flipbyte.sh" bad.bwp 200000
check '[ "$(op $TOK_viewer --data-binary @fw.bwp "$U/api/v1/releases?name=r5")" = 403 ]' "viewer uploaded"
check '[ "$(op $TOK_release_manager --data-binary @bad.bwp "$U/api/v1/releases?name=bad")" = 422 ]' "tampered release accepted"
check '[ "$(find blobs/sha256 -type f 2>/dev/null | wc -l)" = 0 ]' "refused upload left a blob"
check '[ "$(op $TOK_release_manager --data-binary @fw.bwp "$U/api/v1/releases?name=r5")" = 201 ]' "upload"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
SHA=$(sha256sum < fw.bwp | cut -c1-64)
check 'grep -q "\"sha256\":\"$SHA\"" body.txt' "release digest"
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"c1\",\"release_id\":$RID}" $U/api/v1/campaigns)" = 201 ]' \
  "campaign"
CID=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_viewer -X POST $U/api/v1/campaigns/$CID/pause)" = 403 ]' "viewer paused"

# --- device API -------------------------------------------------------------------------------
CHK='{"version":"4","sequence":4,"attributes":{"group":"lab"}}'
check '[ "$(req --data "$CHK" $U/api/v1/device/checkin)" = 401 ]' "check-in without a certificate"
check '[ "$(dev dev-1 --data "$CHK" $U/api/v1/device/checkin)" = 401 ]' "check-in without a token"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 200 ]' "check-in"
check 'grep -q "\"sha256\":\"$SHA\"" body.txt && grep -q "\"poll_interval\":60" body.txt' "action offered"
AID=$(sed -n 's/.*"action":{"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 401 ] && grep -q REPLAY body.txt' \
  "replayed token"
# a token is good for its own TLS connection: two polls on one kept-alive
# connection with one token both succeed (curl reuses the connection for
# the second URL: no new connect), and the same token on a new connection
# is a replay
t=$(dtok dev-1)
curl -s -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' --cacert srvca.crt --cert dev-1/state/device.crt \
  --key dev-1/tls.key -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin \
  $U/api/v1/device/checkin > two.txt
check '[ "$(tr "\n" " " < two.txt)" = "200 1 200 0 " ]' "one token, two polls on one connection: $(cat two.txt)"
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 401 ] && grep -q REPLAY body.txt' \
  "a connection's token on another connection"
t2=$(dtok dev-1 https://other.test)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t2" --data "$CHK" $U/api/v1/device/checkin)" = 401 ]' "token for another audience"
t3=$(dtok dev-2)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t3" --data "$CHK" $U/api/v1/device/checkin)" = 401 ]' "another device's token"
alg_none="$(printf '{"alg":"none","typ":"JWT"}' | base64 -w0 | tr '+/' '-_' | tr -d =).$(printf '{"sub":"dev-1","aud":"%s","exp":9999999999,"iat":1,"jti":"x"}' $AUD | base64 -w0 | tr '+/' '-_' | tr -d =)."
check '[ "$(dev dev-1 -H "Authorization: Bearer $alg_none" --data "$CHK" $U/api/v1/device/checkin)" = 401 ]' "alg none token"

# download with Range, resume, If-None-Match
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" -r 0-99999 $U/api/v1/device/download/$SHA)" = 206 ] && [ "$(stat -c %s body.txt)" = 100000 ]' \
  "range download"
cp body.txt part1
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" -r 100000- $U/api/v1/device/download/$SHA)" = 206 ]' "resume"
cat part1 body.txt > got.bwp
check 'cmp -s got.bwp fw.bwp' "resumed download differs"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" -r 99999999- $U/api/v1/device/download/$SHA)" = 416 ]' "unsatisfiable range"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" -H "If-None-Match: \"sha256-$SHA\"" $U/api/v1/device/download/$SHA)" = 304 ]' "If-None-Match"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" $U/api/v1/device/download/../../etc/passwd)" != 200 ]' "path trick"

# another device cannot report on dev-1's action
t=$(dtok dev-2)
check '[ "$(dev dev-2 -H "Authorization: Bearer $t" --data "{\"state\":\"success\"}" $U/api/v1/device/actions/$AID/report)" = 404 ]' \
  "dev-2 reported on dev-1's action"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "{\"state\":\"bogus\"}" $U/api/v1/device/actions/$AID/report)" = 400 ]' "bad state"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "{not json" $U/api/v1/device/actions/$AID/report)" = 400 ]' "malformed JSON"
big=$(head -c 6000 /dev/zero | tr '\0' a)
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "{\"state\":\"running\",\"feedback\":\"$big\"}" $U/api/v1/device/actions/$AID/report)" = 413 ]' \
  "oversized body"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "{\"state\":\"success\",\"feedback\":\"<script>alert(1)</script> installed\"}" $U/api/v1/device/actions/$AID/report)" = 200 ]' \
  "success report"
t=$(dtok dev-1)
check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "{\"state\":\"failure\"}" $U/api/v1/device/actions/$AID/report)" = 409 ]' "report after the end"
check '[ "$(op $TOK_viewer $U/api/v1/campaigns/$CID)" = 200 ] && grep -q "\"success\":1" body.txt' "campaign counts"

# the same API through bulwark-gatewayctl
export BULWARK_GATEWAY_URL=$U
ctl() { BULWARK_GATEWAY_TOKEN=$1 "$CTL" --cacert srvca.crt "${@:2}" > ctl.txt 2>&1; }
ctl $TOK_release_manager pause $CID; check '[ $? = 0 ] && grep -q "\"state\":\"paused\"" ctl.txt' "gatewayctl pause: $(cat ctl.txt)"
ctl $TOK_viewer resume $CID; check '[ $? = 3 ]' "gatewayctl: viewer resumed"
ctl $TOK_release_manager resume $CID; check '[ $? = 0 ] && grep -q "\"state\"" ctl.txt' "gatewayctl resume"
ctl $TOK_viewer devices '{"group":"lab"}'; check '[ $? = 0 ] && grep -q "dev-1" ctl.txt && ! grep -q "dev-2" ctl.txt' \
  "gatewayctl devices with a filter: $(cat ctl.txt)"
ctl $TOK_viewer device ../../etc; check '[ $? = 2 ]' "gatewayctl passed a path trick"
ctl $TOK_viewer release 999; check '[ $? = 4 ]' "gatewayctl: missing release"
ctl $TOK_viewer campaigns; check '[ $? = 0 ] && grep -q "\"id\":$CID" ctl.txt && grep -q "\"actions\"" ctl.txt' "gatewayctl campaigns: $(head -c 200 ctl.txt)"
ctl $TOK_viewer releases; check '[ $? = 0 ] && grep -q "\"sha256\"" ctl.txt' "gatewayctl releases"
ctl $TOK_viewer audit; check '[ $? = 0 ] && grep -q "campaign.resume" ctl.txt' "gatewayctl audit (newest first)"

# revocation
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $U/api/v1/devices/dev-3/status)" = 200 ]' "revoke"
t=$(dtok dev-3)
check '[ "$(dev dev-3 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 403 ]' "revoked device served"
check '[ "$(op $TOK_viewer $U/api/v1/audit)" = 200 ] && grep -q "device.status" body.txt && grep -q "release.add" body.txt && grep -q "op-admin" body.txt' \
  "audit log"
# gatewayctl: paged lists, delete (admin), the deleted device is gone
ctl $TOK_viewer --limit 1 devices; check '[ $? = 0 ] && [ "$(grep -o "\"status\":" ctl.txt | wc -l)" = 1 ]' "gatewayctl --limit 1: $(cat ctl.txt)"
ctl $TOK_viewer --offset 1 --limit 1 devices; check '[ $? = 0 ] && grep -q "\"id\":\"dev-2\"" ctl.txt' "gatewayctl --offset 1: $(cat ctl.txt)"
ctl $TOK_viewer delete dev-3; check '[ $? = 3 ]' "gatewayctl: viewer deleted"
ctl $TOK_admin delete dev-3; check '[ $? = 0 ]' "gatewayctl delete: $(cat ctl.txt)"
ctl $TOK_viewer device dev-3; check '[ $? = 4 ]' "gatewayctl: deleted device still there"
ctl $TOK_admin delete dev-3; check '[ $? = 4 ]' "gatewayctl: deleted twice"
check '[ "$(dev dev-3 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 403 ]' "deleted device served"
check '[ "$(req $U/api/v1/device/../../../etc/passwd)" != 200 ]' "path trick 2"
check '[ "$(req $U/healthz)" = 200 ]' "server still serving"
# the access log is flushed every half second
for i in $(seq 30); do grep -q '"client":"dev-1"' access.log && break; sleep 0.1; done
check 'grep -q "\"path\":\"/api/v1/device/checkin\"" access.log && grep -q "\"client\":\"dev-1\"" access.log' "access log"

kill -TERM $GPID; wait $GPID; rc=$?; GPID=
check '[ $rc = 0 ]' "SIGTERM exit status $rc"

# a small replay table (16) with a quota of 4 tokens a device: dev-1's fifth
# live token gets 429 with Retry-After (its own doing), dev-2 is still served
# (a table full of live tokens, 503, is the unit test's: unit.token)
grep -v '^token_replay_slots' gw.conf > gw16.conf
printf 'token_replay_slots = 16\ntoken_device_quota = 4\n' >> gw16.conf
rm -f port; "$GW" --config gw16.conf --port-file port 2>gw16.err &
GPID=$!
for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done
U=https://127.0.0.1:$(cat port)
n200=0
for i in $(seq 4); do
  t=$(dtok dev-1); [ "$(dev dev-1 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 200 ] && n200=$((n200 + 1))
done
t=$(dtok dev-1)
code=$(curl -s -D hdr.txt -o body.txt -w '%{http_code}' --cacert srvca.crt --cert dev-1/state/device.crt \
  --key dev-1/tls.key -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)
check '[ $n200 = 4 ] && [ "$code" = 429 ] && grep -qi "^Retry-After: 60" hdr.txt && grep -q token_quota body.txt' \
  "device quota: $n200 of 4 accepted, then $code $(cat body.txt)"
t=$(dtok dev-2)
check '[ "$(dev dev-2 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 200 ]' "another device refused"
check '[ "$(req $U/healthz)" = 200 ]' "server serving with a device at its quota"
kill -TERM $GPID; wait $GPID; GPID=

echo "gateway: $pass passed, $fail failed"
[ $fail = 0 ]
