#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Revocation that reaches every instance (docs/identity.md, "Revocation"):
# two gateways A and B on one registry (PostgreSQL when a URL is given,
# as registry_pg.sh passes it last). dev-1 opens a kept-alive connection
# to B and checks in; an admin revokes dev-1 through A; A refuses dev-1 at
# once, B refuses the next request on the connection opened before the
# revocation, within 60 s (measured); a viewer cannot revoke; the CRL at
# /crl/devices.crl lists dev-1's serial and verifies with openssl, and
# openssl verify -crl_check refuses dev-1's certificate and accepts dev-2's.
# Usage: gateway_revoke.sh BULWARK GATEWAY DEVKEY_PEM [DATABASE-URL]
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3"); GW_DB=${4:-}
gw_begin
[ -n "$GW_DB" ] || GW_DB=sqlite:$T/registry.db

gw_server_cert
gw_devices dev-1 dev-2
gw_operators admin viewer
CONF=("token_audience = $AUD" "crl_cert = $T/factory/ca.crt" "crl_key = $T/factory/ca.key"
      "crl_period = 3600")
gw_start "$T/factory/ca.crt" "${CONF[@]}"; UA=$U; GA=$GPID; mv gw.conf gwA.conf
P=0 gw_start "$T/factory/ca.crt" "${CONF[@]}"; UB=$U; GB=$GPID
dev() { local d=$1; shift; req --cert $d/state/device.crt --key $d/tls.key "$@"; }
get() { curl -s -o "$1" -w '%{http_code}' --cacert srvca.crt "$2"; }
dtok() { "$B" token --config $1/device.conf --aud "$AUD" --ttl 300; }
CHK='{"version":"1.0","sequence":1}'

check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $UA/api/v1/devices/import)" = 200 ]' "import"
for d in dev-1 dev-2; do
  check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"accepted\"}" $UA/api/v1/devices/$d/status)" = 200 ]' "accept $d"
done

# dev-1 on B: one kept-alive connection, opened and used before the
# revocation; it waits for "go" on stdin, then polls until refused
mkfifo go
cat > keepalive.py <<'PY'
import http.client, ssl, sys, time
port, ca, crt, key, tok1 = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(crt, key)
c = http.client.HTTPSConnection('127.0.0.1', int(port), context=ctx, timeout=10)
body = b'{"version":"1.0","sequence":1}'
def poll(tok):
    c.request('POST', '/api/v1/device/checkin', body, {'Authorization': 'Bearer ' + tok,
                                                       'Content-Type': 'application/json'})
    r = c.getresponse(); r.read()
    return r.status
print('before', poll(tok1), flush=True)
sock = c.sock
sys.stdin.readline()  # the revocation happened
t0 = time.time()
while True:
    try:
        st = poll(tok1)
    except (OSError, http.client.HTTPException) as e:
        st = 'closed'
    if st != 200:
        break
    if time.time() - t0 > 70:
        break
    time.sleep(0.5)
print('after', st, 'same-connection', c.sock is sock and c.sock is not None,
      'seconds', round(time.time() - t0, 2), flush=True)
PY
/usr/bin/python3 keepalive.py "${UB##*:}" srvca.crt dev-1/state/device.crt dev-1/tls.key \
  "$(dtok dev-1)" < go > keepalive.txt 2>&1 &
KPID=$!; PIDS="$PIDS $KPID"
exec 9>go
for i in $(seq 100); do grep -q before keepalive.txt && break; sleep 0.1; done
check 'grep -q "^before 200" keepalive.txt' "dev-1 served on B before the revocation: $(cat keepalive.txt)"

# a viewer cannot revoke (the existing rule)
check '[ "$(op $TOK_viewer -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $UA/api/v1/devices/dev-1/status)" = 403 ]' \
  "a viewer revoked"
check '[ "$(dev dev-1 -H "Authorization: Bearer $(dtok dev-1)" --data "$CHK" $UA/api/v1/device/checkin)" = 200 ]' \
  "dev-1 refused after a viewer's refused revocation"

check '[ "$(get crl0.der $UA/crl/devices.crl)" = 200 ]' "CRL before the revocation"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $UA/api/v1/devices/dev-1/status)" = 200 ]' "revoke on A"
echo go >&9
# A: at once
check '[ "$(dev dev-1 -H "Authorization: Bearer $(dtok dev-1)" --data "$CHK" $UA/api/v1/device/checkin)" = 403 ]' \
  "A serves dev-1 after the revocation"
# B: a new connection, and the one opened before
check '[ "$(dev dev-1 -H "Authorization: Bearer $(dtok dev-1)" --data "$CHK" $UB/api/v1/device/checkin)" = 403 ]' \
  "B serves dev-1 on a new connection"
wait $KPID
echo "keep-alive connection on B: $(cat keepalive.txt | tr '\n' ' ')"
check 'grep -q "^after \(403\|closed\) " keepalive.txt' "B served dev-1 on the open connection: $(cat keepalive.txt)"
check '[ "$(awk "/^after/ {print (\$NF <= 60)}" keepalive.txt)" = 1 ]' "B took more than 60 s"
check '[ "$(dev dev-2 -H "Authorization: Bearer $(dtok dev-2)" --data "$CHK" $UB/api/v1/device/checkin)" = 200 ]' \
  "dev-2 refused on B"

# the CRL, from either instance, without credentials
SER1=$(openssl x509 -in dev-1/state/device.crt -noout -serial | cut -d= -f2)
for u in $UA $UB; do
  check '[ "$(get crl.der $u/crl/devices.crl)" = 200 ]' "CRL from $u"
  check 'openssl crl -inform DER -in crl.der -noout -CAfile factory/ca.crt -verify 2>&1 | grep -q "verify OK"' \
    "CRL from $u does not verify"
  check 'openssl crl -inform DER -in crl.der -noout -text | tr -d ":" | grep -qi "Serial Number $SER1"' \
    "CRL from $u lacks dev-1's serial $SER1"
done
check '[ "$(get crl.pem $UA/crl/devices.pem)" = 200 ] && grep -q "BEGIN X509 CRL" crl.pem' "CRL in PEM"
check '! openssl verify -crl_check -CAfile factory/ca.crt -CRLfile crl.pem dev-1/state/device.crt >/dev/null 2>&1' \
  "openssl accepted dev-1's revoked certificate"
check 'openssl verify -crl_check -CAfile factory/ca.crt -CRLfile crl.pem dev-2/state/device.crt >/dev/null 2>&1' \
  "openssl refused dev-2's certificate"
check 'openssl crl -inform DER -in crl.der -noout -text | grep -q "Version 2"' "CRL is not version 2"
check 'openssl crl -inform DER -in crl.der -noout -text | grep -q "Next Update"' "CRL without nextUpdate"
check '! openssl crl -inform DER -in crl0.der -noout -text | tr -d ":" | grep -qi "$SER1"' \
  "the CRL before the revocation lists dev-1"

# a download in progress on B ends when the device is revoked through A:
# dev-2 fetches a 24 MB release at 2 MB/s and is revoked after 2 s
head -c 24000000 /dev/urandom > fw.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 5 --out fw.bwp fw.img >/dev/null
check '[ "$(op $TOK_admin --data-binary @fw.bwp "$UA/api/v1/releases?name=r5")" = 201 ]' "upload"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt); SHA=$(sha256sum < fw.bwp | cut -c1-64)
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"name\":\"c1\",\"release_id\":$RID}" $UA/api/v1/campaigns)" = 201 ]' "campaign"
t=$(dtok dev-2)
check '[ "$(dev dev-2 -H "Authorization: Bearer $t" --data "$CHK" $UB/api/v1/device/checkin)" = 200 ] && grep -q "$SHA" body.txt' \
  "dev-2 offered the release"
t=$(dtok dev-2)
start=$(date +%s.%N)
curl -s -o dl.bin --limit-rate 2M --cacert srvca.crt --cert dev-2/state/device.crt --key dev-2/tls.key \
  -H "Authorization: Bearer $t" $UB/api/v1/device/download/$SHA &
CPID=$!; PIDS="$PIDS $CPID"
sleep 2
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $UA/api/v1/devices/dev-2/status)" = 200 ]' "revoke dev-2 on A"
wait $CPID
took=$(echo "$(date +%s.%N) - $start" | bc)
got=$(stat -c %s dl.bin 2>/dev/null || echo 0)
echo "download in progress: $got of $(stat -c %s fw.bwp) bytes, ended after $took s (revoked at 2 s)"
check '[ "$got" -lt "$(stat -c %s fw.bwp)" ]' "a revoked device's download ran to its end"
check '[ "$(echo "$took < 10" | bc)" = 1 ]' "a revoked device's download went on for $took s"

# both stop cleanly (SIGTERM), with no sanitizer report in a sanitizer build
kill $GA $GB; wait $GA $GB 2>/dev/null
check '! grep -q "runtime error\|Sanitizer" gw.err' "gateway reports: $(grep -m3 "runtime error\|Sanitizer" gw.err)"

echo "gateway_revoke: $pass passed, $fail failed"
[ "$fail" = 0 ]
