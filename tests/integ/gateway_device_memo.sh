#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A kept connection's device row (gateway/api_device.c, "device memo"): on
# SQLite the gateway skips the registry read of a poll while the registry's
# generation has not moved since the connection read the row. Every change
# must still be seen on the next poll of that same connection:
# - another process (Python's sqlite3, not the gateway) revokes the device
#   in the registry file: the next poll on the kept connection is refused
#   403, and accepted again once the other process restores it;
# - the operator API revokes it (another thread's registry handle, or the
#   same one): refused on the next poll of the kept connection;
# - a campaign created through the operator API is offered on the next poll
#   of a connection that polled with nothing to do.
# With EXCL=1 the gateway runs with sqlite_exclusive (no other process may
# open the file: that part is left out; the others must hold there too).
# Usage: gateway_device_memo.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
. "$HERE/gwlib.sh"
gw_begin
gw_server_cert
gw_devices dev-1 dev-2
gw_operators admin
EXCL=${EXCL:-0}
gw_start "$T/factory/ca.crt" "token_audience = $AUD" "sqlite_exclusive = $([ "$EXCL" = 1 ] && echo true || echo false)"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
dtok() { "$B" token --config $1/device.conf --aud "$AUD" --ttl 300; }

# kept DEV STEPS: one TLS connection of DEV; each step is "poll" (a check-in,
# its status and whether an action came, printed) or a shell command run
# between polls on the same connection; prints "conn=1" at the end when
# every poll went over the one connection
kept() {
  local dev=$1; shift
  "$PY" - "$P" srvca.crt "$dev/state/device.crt" "$dev/tls.key" "$(dtok "$dev")" "$@" <<'PYEOF'
import socket, ssl, subprocess, sys, json
port, ca, crt, key, tok = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(crt, key)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))), server_hostname="127.0.0.1")
f = s.makefile("rb")
peer = s.getsockname()
body = b'{"version":"1.0.0","sequence":1}'
for step in sys.argv[6:]:
    if step != "poll":
        subprocess.run(step, shell=True, check=True)
        continue
    s.sendall(b"POST /api/v1/device/checkin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
              tok.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    status = int(f.readline().split()[1])
    n = 0
    while True:
        h = f.readline().strip()
        if not h:
            break
        k, _, v = h.partition(b":")
        if k.lower() == b"content-length":
            n = int(v)
    ans = f.read(n)
    act = "none"
    if status == 200:
        a = json.loads(ans).get("action")
        act = "action" if a else "none"
    print(status, act, flush=True)
print("conn=%d" % (s.getsockname() == peer))
PYEOF
}
DB=$T/registry.db
# SQL on the registry file from another process than the gateway's
cat > sq.py <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
c.execute(sys.argv[2])
c.commit()
PYEOF
sq() { echo "$PY $T/sq.py $DB \"$1\""; }

# --- another process writes the registry --------------------------------------------------
[ "$EXCL" = 1 ] || {
kept dev-1 poll poll "$(sq "UPDATE devices SET status = 3 WHERE id = 'dev-1'")" poll \
  "$(sq "UPDATE devices SET status = 1 WHERE id = 'dev-1'")" poll > other.txt
check '[ "$(sed -n 1,2p other.txt | xargs)" = "200 none 200 none" ]' "polls before: $(xargs < other.txt)"
check '[ "$(sed -n 3p other.txt)" = "403 none" ]' \
  "a revocation written by another process was not seen on the kept connection: $(xargs < other.txt)"
check '[ "$(sed -n 4p other.txt)" = "200 none" ] && [ "$(tail -n1 other.txt)" = conn=1 ]' \
  "accepted again once restored, on one connection: $(xargs < other.txt)"
}

# --- the operator API revokes ---------------------------------------------------------------
kept dev-2 poll poll \
  "curl -s -o /dev/null --cacert srvca.crt -H 'Authorization: Bearer $TOK_admin' --data '{\"status\":\"revoked\"}' $U/api/v1/devices/dev-2/status" \
  poll > api.txt
check '[ "$(xargs < api.txt)" = "200 none 200 none 403 none conn=1" ]' \
  "a revocation through the operator API was not seen on the kept connection: $(xargs < api.txt)"

# --- a campaign appears ---------------------------------------------------------------------
head -c 4096 /dev/urandom > fw.img # signed with the release key the gateway trusts (gwlib)
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw.bwp fw.img >/dev/null
check '[ "$(op $TOK_admin --data-binary @fw.bwp "$U/api/v1/releases?name=fw-2")" = 201 ]' "upload"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
kept dev-1 poll poll \
  "curl -s -o /dev/null --cacert srvca.crt -H 'Authorization: Bearer $TOK_admin' -H 'Content-Type: application/json' --data '{\"name\":\"memo\",\"release_id\":$RID,\"type\":\"forced\"}' $U/api/v1/campaigns" \
  poll > camp.txt
check '[ "$(xargs < camp.txt)" = "200 none 200 none 200 action conn=1" ]' \
  "a new campaign was not offered on the kept connection's next poll: $(xargs < camp.txt)"

echo "gateway_device_memo: $pass passed, $fail failed"
[ "$fail" = 0 ]
