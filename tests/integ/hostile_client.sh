#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device side against hostile or dead servers (hostile_http.py): `bulwark
# install URL` and the agent's HTTP client (agent_net_probe) must give up
# within their configured limits, say which limit was hit, release the
# device lock, and leave the device as it was (state files and the inactive
# slot byte for byte). Cases: a 1 byte/s trickle of the body and of the
# header block, header fields without end, one huge header field, "100
# Continue" answers without end, a body without end (with and
# without an announced length), a redirect loop, a redirect from https to
# http, a server that reads the request and never answers, one that never
# completes the TLS handshake, one whose TCP connections never complete;
# SIGTERM and SIGINT during a download.
# Every client run is bounded by `timeout`, so a hang fails the test.
# Usage: hostile_client.sh BULWARK AGENT_NET_PROBE
set -u
B=$(realpath "$1"); PROBE=$(realpath "$2"); HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
. "$HERE/gwlib.sh"
. "$HERE/agentlib.sh"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
EIO=$(code BW_E_IO)
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c

agent_device
mkdir www blobs
head -c 300000 /dev/urandom > img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 1 --out www/v1.bwp img >/dev/null

# start NAME CMD...: a server in the background writing its port to NAME.port
start() {
  local n=$1; shift
  "$@" 2>"$n.log" & PIDS="$PIDS $!"
  for i in $(seq 100); do [ -s "$n.port" ] && break; sleep 0.05; done
  [ -s "$n.port" ] || { echo "server $n did not start"; exit 1; }
}
start plain $PY "$HERE/httpd.py" www plain.port
start tls $PY "$HERE/httpd.py" www tls.port --tls srv.crt srv.key
start agent $PY "$HERE/agent_httpd.py" srv.crt srv.key factory/ca.crt blobs agent.port
# accepts TCP connections (the kernel does, from the backlog) and never reads
start mute $PY -c 'import socket, time, os
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open("mute.port.tmp", "w").write(str(s.getsockname()[1])); os.rename("mute.port.tmp", "mute.port")
time.sleep(120)'
# a full accept queue: further connections never complete (SYNs dropped)
start full $PY -c 'import socket, time, os
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
fill = [socket.socket() for i in range(2)]
for c in fill:
    c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
time.sleep(0.2)
open("full.port.tmp", "w").write(str(s.getsockname()[1])); os.rename("full.port.tmp", "full.port")
time.sleep(120)'
HTTP=http://127.0.0.1:$(cat plain.port) HTTPS=https://127.0.0.1:$(cat tls.port)
MUTE=http://127.0.0.1:$(cat mute.port) FULL=http://127.0.0.1:$(cat full.port)

# the device as it is: boot state copies and the inactive slot
snapshot() { cat dev/state/bootstate.* 2>/dev/null | sha256sum; sha256sum < dev/slot-b.img; }
snapshot > before
# lock_free: no process holds the device lock (what the next command
# needs), looking from outside (/proc/locks), so the look never holds it
lock_free() {
  [ ! -e dev/state/lock ] || awk -v i="$(stat -c %i dev/state/lock)" \
    '$2 == "FLOCK" { split($6, a, ":"); if (a[3] == i) f = 1 } END { exit f }' /proc/locks
}

# --- bulwark install URL ------------------------------------------------------
# inst NAME URL WANT_RE: fails within the limits (5 s in all, 100 bytes/s over
# 1 s, 2 s to connect) with a message matching WANT_RE, and leaves the device
inst() {
  local name=$1 url=$2 want=$3 st t0 t1 ms
  t0=$(date +%s%N)
  timeout 30 "$B" install --config dev/device.conf --cacert srvca.crt --timeout 5 \
    --low-speed 100/1 --connect-timeout 2 "$url" > "i-$name.out" 2> "i-$name.err"
  st=$?; t1=$(date +%s%N); ms=$(((t1 - t0) / 1000000))
  check '[ $st = $EIO ] && [ $ms -lt 7500 ]' "install $name: exit $st (want $EIO) after $ms ms: $(tail -2 "i-$name.err")"
  check 'grep -Eq "$want" "i-$name.err"' "install $name: no '$want' in: $(cat "i-$name.err")"
  check 'lock_free && snapshot | cmp -s - before' "install $name: lock held or device changed"
}
inst trickle "$HTTP/hostile-trickle" "too slow|total limit"
inst trickle-head "$HTTP/hostile-trickle-head" "too slow|total limit"
inst headers "$HTTP/hostile-headers" "more than 100 header fields \(header limit\)"
inst bighead "$HTTP/hostile-bighead" "header block over 16384 bytes \(header limit\)"
inst continue "$HTTP/hostile-continue" "header limit"
inst biglen "$HTTP/hostile-biglen" "size limit"
inst loop "$HTTP/hostile-loop" "redirect limit"
inst tohttp "$HTTPS/hostile-tohttp" "from https to another scheme"
inst silent "$HTTP/hostile-silent" "too slow|total limit"
inst mute "$MUTE/v1.bwp" "too slow|total limit"
inst connect "$FULL/v1.bwp" "connect limit|total limit"
# --json says which limit; the security log records it
timeout 30 "$B" install --config dev/device.conf --json --timeout 5 "$HTTP/hostile-loop" > j.out 2>/dev/null
check '$PY -c "import json,sys; r=json.loads(open(\"j.out\").read().splitlines()[-1]); assert r[\"stage\"]==\"download\" and \"redirect limit\" in r[\"reason\"], r"' "install --json reason: $(cat j.out)"
check '"$B" log show --config dev/device.conf 2>/dev/null | grep -q "refused BW_E_IO at download: more than 3 redirects"' "security log: see log"
# a body without end: the package reader refuses it (not a SUIT envelope)
timeout 30 "$B" install --config dev/device.conf --timeout 5 "$HTTP/hostile-body" > i-body.out 2> i-body.err
st=$?
check '[ $st != 0 ] && [ $st != 124 ] && lock_free && snapshot | cmp -s - before' "install body: exit $st: $(cat i-body.err)"
# a signal during a download: the refusal path, the lock released at once
for sig in TERM INT; do
  timeout 30 "$B" install --config dev/device.conf --timeout 60 --low-speed 0 "$HTTP/hostile-trickle" \
    > s.out 2> s.err &
  ipid=$!
  for i in $(seq 100); do lock_free || break; sleep 0.05; done
  sleep 0.5
  t0=$(date +%s%N); kill -$sig $ipid; wait $ipid; st=$?; t1=$(date +%s%N); ms=$(((t1 - t0) / 1000000))
  check '[ $st = $EIO ] && [ $ms -lt 3000 ] && grep -q "stopped by a signal" s.err' "SIG$sig: exit $st after $ms ms: $(cat s.err)"
  check 'lock_free && snapshot | cmp -s - before' "SIG$sig: lock held or device changed"
done
# https verifies the server: without --cacert the test CA is unknown
timeout 30 "$B" install --config dev/device.conf "$HTTPS/v1.bwp" > tls.out 2> tls.err
st=$?
check '[ $st = $EIO ] && grep -q "certificate of 127.0.0.1 is refused" tls.err && lock_free && snapshot | cmp -s - before' \
  "install over https without its CA: exit $st: $(cat tls.err)"
# after all that, an install takes the lock and works (https, --cacert)
timeout 30 "$B" install --config dev/device.conf --cacert srvca.crt "$HTTPS/v1.bwp" > ok.out 2> ok.err
st=$?
check '[ $st = 0 ] && grep -q "installed sequence 1 into slot b" ok.out' "install after the hostile servers: $(cat ok.err)"

# --- the agent's client -------------------------------------------------------
P=$(cat agent.port)
conf() { # FILE GATEWAY_PORT
  printf '%s\n' "device_config = $T/dev/device.conf" "gateway = https://127.0.0.1:$2/" \
    "ca_cert = $T/srvca.crt" "audience = test" "timeout = 2" "low_speed_limit = 100" \
    "low_speed_time = 1" "request_timeout = 4" "download_timeout = 5" > "$1"
}
conf agent.conf $P
conf mute.conf $(cat mute.port)
conf full.conf $(cat full.port)
# probe NAME CONF WANT_OUT_RE WANT_ERR_RE|- ARGS...: within 7 s
probe() {
  local name=$1 cf=$2 wo=$3 we=$4 t0 t1 ms; shift 4
  t0=$(date +%s%N)
  timeout 30 "$PROBE" "$cf" dev-1 "$@" > "p-$name.out" 2> "p-$name.err"
  t1=$(date +%s%N); ms=$(((t1 - t0) / 1000000))
  check '[ $ms -lt 7000 ] && grep -Eq "$wo" "p-$name.out"' "agent $name: after $ms ms: $(cat "p-$name.out") $(cat "p-$name.err")"
  [ "$we" = - ] || check 'grep -Eq "$we" "p-$name.err"' "agent $name: no '$we' in: $(cat "p-$name.err")"
}
probe post-trickle agent.conf "rc=BW_E_IO" "too slow|total limit" post /hostile-trickle
probe get-trickle agent.conf "rc=BW_E_IO" "too slow|total limit" get hostile-trickle 0 1000000 f1
probe trickle-head agent.conf "rc=BW_E_IO" "too slow|total limit" post /hostile-trickle-head
probe headers agent.conf "rc=BW_E_IO" "more than 100 header fields \(header limit\)" post /hostile-headers
probe bighead agent.conf "rc=BW_E_IO" "header block over 16384 bytes \(header limit\)" post /hostile-bighead
probe continue agent.conf "rc=BW_E_IO" "header limit" post /hostile-continue
probe post-body agent.conf "rc=BW_E_IO" "longer than 65536 bytes" post /hostile-body
# an announced length over the cap is refused before the first body byte
probe post-biglen agent.conf "rc=BW_E_IO" "answer longer than 65536 bytes \(size limit\)" post /hostile-biglen
probe get-body agent.conf "rc=BW_E_IO" "longer than (the announced )?100000 bytes" get hostile-body 0 100000 f2
probe get-biglen agent.conf "rc=BW_E_IO" "longer than (the announced )?100000 bytes" get hostile-biglen 0 100000 f3
probe silent agent.conf "rc=BW_E_IO" "too slow|stall limit|total limit" post /hostile-silent
probe handshake mute.conf "rc=BW_E_IO" "connect limit" post /api/v1/device/checkin
probe connect full.conf "rc=BW_E_IO" "timed out \(connect limit\)" post /api/v1/device/checkin
# a redirect is an answer, not followed: one request, at once
n=$(grep -c "hostile-loop" agent.log)
probe loop agent.conf "post /hostile-loop 302 .* rc=BW_OK" - post /hostile-loop
check '[ $(grep -c "hostile-loop" agent.log) = $((n + 1)) ]' "agent followed a redirect: $(grep hostile-loop agent.log)"
check '! grep -q "Sanitizer\|runtime error" p-*.err i-*.err' "sanitizer: $(grep -m1 'Sanitizer\|runtime error' p-*.err i-*.err)"
echo "hostile_client: $pass passed, $fail failed"
[ $fail = 0 ]
