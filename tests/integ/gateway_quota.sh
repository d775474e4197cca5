#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The gateway's per-device share of the token replay table and the operator
# guard rails, on loopback with the real daemon: one device presenting many
# fresh tokens gets 429 past token_device_quota while another device is
# still served (a 64-slot table, so without the quota it would fill);
# refused operator requests are in the audit log; DELETE of a device
# deletes it (admin only, audited) and its certificate is refused after.
# Usage: gateway_quota.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
gw_begin

gw_server_cert
gw_devices dev-1 dev-2
gw_operators admin viewer
gw_start "$T/factory/ca.crt" "token_audience = $AUD" "token_replay_slots = 64" "token_device_quota = 4"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
dev() { local d=$1; shift; req --cert $d/state/device.crt --key $d/tls.key "$@"; }
dtok() { "$B" token --config $1/device.conf --aud $AUD --ttl 300; }
CHK='{"version":"1","sequence":1}'

# --- dev-1 presents fresh tokens, each on a new connection: 4 fit, then 429 ------------------
codes=""
for i in 1 2 3 4 5 6; do
  t=$(dtok dev-1)
  codes="$codes$(curl -s -o body.txt -D hdr.txt -w '%{http_code}' --cacert srvca.crt --cert dev-1/state/device.crt \
    --key dev-1/tls.key -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin) "
done
check '[ "$codes" = "200 200 200 200 429 429 " ]' "dev-1's fresh tokens past its quota: $codes"
check 'grep -qi "^Retry-After: [0-9]" hdr.txt && grep -q token_quota body.txt' "429 without Retry-After"
# dev-2 is served, and keeps being served for more tokens than the table has room
# left for if dev-1 had not been held to its share
for i in 1 2 3 4; do
  t=$(dtok dev-2)
  check '[ "$(dev dev-2 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 200 ]' \
    "dev-2 refused while dev-1 is at its quota (token $i)"
done
# a token naming another device is refused before it takes room in the table
t=$("$B" token --config dev-1/device.conf --aud $AUD --ttl 300 --sub dev-2 2>/dev/null)
if [ -n "$t" ]; then
  check '[ "$(dev dev-1 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 401 ]' \
    "a token for another subject"
fi

# --- refused operator requests are audited --------------------------------------------------------
check '[ "$(req -H "Authorization: Bearer not-a-token" $U/api/v1/devices)" = 401 ]' "unknown token"
check '[ "$(op $TOK_viewer -X DELETE $U/api/v1/devices/dev-2)" = 403 ]' "viewer deleted"
check '[ "$(op $TOK_admin "$U/api/v1/audit?limit=5")" = 200 ]' "audit"
check 'grep -q "\"actor\":\"-\",\"action\":\"refused\",\"object\":\"GET /api/v1/devices\",\"detail\":\"401 unknown operator token\"" body.txt' \
  "401 not audited"
check 'grep -q "\"actor\":\"op-viewer\",\"action\":\"refused\",\"object\":\"DELETE /api/v1/devices/dev-2\",\"detail\":\"403 admin role required\"" body.txt' \
  "403 not audited"

# --- DELETE deletes -----------------------------------------------------------------------------
check '[ "$(op $TOK_admin -X DELETE $U/api/v1/devices/dev-2)" = 200 ]' "delete"
check '[ "$(op $TOK_admin $U/api/v1/devices/dev-2)" = 404 ]' "deleted device still listed"
check '[ "$(op $TOK_admin -X DELETE $U/api/v1/devices/dev-2)" = 404 ]' "deleted twice"
t=$(dtok dev-2)
check '[ "$(dev dev-2 -H "Authorization: Bearer $t" --data "$CHK" $U/api/v1/device/checkin)" = 403 ]' "a deleted device served"
check '[ "$(op $TOK_admin -X PUT $U/api/v1/devices/dev-1)" = 405 ]' "PUT on a device"
check '[ "$(op $TOK_admin "$U/api/v1/audit?limit=1")" = 200 ] && grep -q "\"actor\":\"op-admin\",\"action\":\"device.delete\",\"object\":\"dev-2\"" body.txt' \
  "delete not audited"

echo "gateway_quota: $pass passed, $fail failed"
[ $fail = 0 ]
