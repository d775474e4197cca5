#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's mender-client 3.4 (the daemon, unchanged) against bulwark-gateway
# on loopback, over TLS with a device certificate from `bulwark provision`
# (its key signs the auth requests, as mender does when HttpsClient.Key is
# set). The client runs in a private mount namespace: its fixed paths
# (/etc/mender, the identity script directory) are covered there by the
# test's own files, so nothing outside the test directory is touched.
#   - dev-1 is preauthorized; it authenticates and sends its inventory; a
#     campaign of a signed single-file artifact reaches it; in the middle
#     of the deployment the gateway restarts (its JWT key with it), so the
#     client's token is refused and it authenticates again; the install
#     into a file target completes and success is reported;
#   - dev-2 is rejected by the operator: it never gets a token or an action.
# The registry must then hold exactly those states.
# Usage: mender_client.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
T=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 300 body.txt 2>/dev/null)]"; fi; }
wait_for() { local i; for i in $(seq $(($1 * 4))); do eval "$2" && return 0; sleep 0.25; done; return 1; }
for x in mender mender-artifact unshare; do command -v $x >/dev/null || { echo "$x not installed"; exit 1; }; done
unshare -m true 2>/dev/null || { echo "FAIL: this test needs mount namespaces (run it as root)"; exit 1; }

gw_server_cert
gw_operators admin release-manager viewer
"$B" provision --ca-dir factory --count 2 --out devs --argon2 1,1024,1 >/dev/null 2>&1 || bad "provision"
for i in 1 2; do
  d=devs/dev-00000$i
  "$EXPORT" "file:$T/$d/device.key?storage-key=$T/$d/storage.key" d$i.key || bad "export key $i"
  cp $d/device.crt d$i.crt
  openssl pkey -in d$i.key -pubout -out d$i.pub
done
openssl ecparam -name prime256v1 -genkey -noout -out rel.key 2>/dev/null
openssl ec -in rel.key -pubout -out rel.pub 2>/dev/null
start_gw() { gw_start "$T/factory/ca.crt"; }
start_gw
q() { sqlite3 registry.db "$1"; }

# --- the artifact: a signed single-file update of target/app.conf ---------------------------
# (mender-artifact reads SEC1 "EC PRIVATE KEY" files, not PKCS#8)
openssl ecparam -name prime256v1 -genkey -noout -out art.key 2>/dev/null
openssl ec -in art.key -pubout -out art.pub 2>/dev/null
mkdir art && head -c 3000 /dev/urandom | base64 > art/app.conf
echo "$T/target-1" > art/dest_dir; echo app.conf > art/filename
# a state script holds the install for a few seconds: the window in which
# the test restarts the gateway, so the token dies mid-deployment
printf '#!/bin/sh\nsleep 4\n' > art/ArtifactInstall_Enter_00_wait
(cd art && mender-artifact write module-image -T single-file -n demo-1.1 -t demo-x86 \
  -o ../demo-1.1.mender -f dest_dir -f filename -f app.conf -s ArtifactInstall_Enter_00_wait \
  -k ../art.key >/dev/null 2>&1) || bad "mender-artifact"
check '[ "$(op $TOK_release_manager --data-binary @demo-1.1.mender "$U/api/v1/releases?name=demo-1.1&kind=mender")" = 201 ]' "upload"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)

# --- the two clients' files ---------------------------------------------------------------------
mkclient() { # mkclient I: config, data dir and identity script of dev-I
  mkdir -p m$1/data m$1/identity m$1/inventory
  echo "device_type=demo-x86" > m$1/data/device_type
  printf '#!/bin/sh\necho mac=02:00:00:00:00:0%s\necho serial=SN-000%s\n' $1 $1 > m$1/identity/mender-device-identity
  chmod +x m$1/identity/mender-device-identity
  cat > m$1/mender.conf <<EOF
{
  "ServerURL": "$U",
  "ServerCertificate": "$T/srvca.crt",
  "DeviceTypeFile": "$T/m$1/data/device_type",
  "ArtifactVerifyKey": "$T/art.pub",
  "UpdatePollIntervalSeconds": 1,
  "InventoryPollIntervalSeconds": 1,
  "RetryPollIntervalSeconds": 1,
  "HttpsClient": { "Certificate": "$T/d$1.crt", "Key": "$T/d$1.key" }
}
EOF
}
# run_client I: the daemon in its own mount namespace, in the background
run_client() {
  MI=$1 T=$T unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=1m bwtest /etc/mender || exit 1
    echo artifact_name=demo-1.0 > /etc/mender/artifact_info
    mount --bind "$T/m$MI/identity" /usr/share/mender/identity || exit 1
    mount --bind "$T/m$MI/inventory" /usr/share/mender/inventory || exit 1
    exec mender --config "$T/m$MI/mender.conf" --data "$T/m$MI/data" --no-syslog --log-level debug daemon
  ' > m$1/client.log 2>&1 &
  echo $!
}
mkclient 1; mkclient 2

# dev-1 preauthorized by its identity and key; a campaign by its identity's serial
$PY -c 'import json; print(json.dumps({"id_data": {"mac": "02:00:00:00:00:01", "serial": "SN-0001"}, "pubkey": open("d1.pub").read()}))' > pre.json
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data-binary @pre.json $U/api/v1/devices/preauthorize)" = 201 ]' "preauthorize"
DEV1=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' body.txt)
C1=$(run_client 1); PIDS="$PIDS $C1"
C2=$(run_client 2); PIDS="$PIDS $C2"
# dev-2 asks, is pending, and the operator rejects it
wait_for 30 '[ "$(q "SELECT count(*) FROM devices WHERE status = 0")" = 1 ]' || bad "dev-2 never asked: $(tail -n 3 m2/client.log)"
DEV2=$(q "SELECT id FROM devices WHERE status = 0")
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"rejected\"}" $U/api/v1/devices/$DEV2/status)" = 200 ]' "reject"
# dev-1 authenticates and sends its inventory
wait_for 30 '[ "$(q "SELECT json_extract(attrs, \"$.device_type\") FROM devices WHERE id = \"$DEV1\"")" = demo-x86 ]' ||
  bad "no inventory from dev-1: $(grep -i error m1/client.log | tail -n 3)"
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"m1\",\"release_id\":$RID,\"filter\":{\"device_type\":\"demo-x86\"}}" $U/api/v1/campaigns)" = 201 ]' \
  "campaign"
# mid-deployment (the client has reported downloading or installing), the
# gateway restarts: its JWT key is new, so dev-1's token is refused and the
# client must authenticate again to report the rest
wait_for 60 '[ "$(q "SELECT state FROM actions WHERE device_id = \"$DEV1\"")" = 2 ]' ||
  bad "dev-1 never started the deployment: $(grep -i error m1/client.log | tail -n 3)"
kill $GPID; wait $GPID 2>/dev/null
start_gw
check '[ "$(q "SELECT state FROM actions WHERE device_id = \"$DEV1\"")" = 2 ]' "the deployment was over before the restart"
wait_for 90 '[ "$(q "SELECT state FROM actions WHERE device_id = \"$DEV1\"")" = 3 ]' ||
  bad "dev-1 did not report success: $(grep -i "error\|fail" m1/client.log | tail -n 5)"
check 'cmp -s art/app.conf target-1/app.conf' "the artifact's file was not installed"
check 'wait_for 3 "grep -q \"deployments/[0-9]*/status.,.status.:401\" access.log"' \
  "no status report was refused with the old token (the restart did not fall mid-deployment)"
check 'wait_for 3 "[ \$(grep -c auth_requests.,.status.:200 access.log) -ge 2 ]"' \
  "dev-1 did not authenticate again after the restart"
check '[ "$(q "SELECT status FROM devices WHERE id = \"$DEV2\"")" = 2 ] && [ -z "$(q "SELECT id FROM actions WHERE device_id = \"$DEV2\"")" ]' \
  "rejected dev-2 got an action"

echo "mender_client: $pass passed, $fail failed"
[ $fail = 0 ]
