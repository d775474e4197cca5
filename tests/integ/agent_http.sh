#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent's HTTP/1.1 client (agent/net.c over host/http.c) against a scripted HTTPS server
# (agent_httpd.py) that answers as the gateway never does: keep-alive reuse
# of one connection and its token; after the server dropped a kept
# connection, a fresh token on the new one (no replay refused on the way);
# chunked and close-delimited answers; Range answered 206 chunked, or 200
# by a server that ignores it (the file starts over); an answer longer than
# announced refused; download_rate holding a download back.
# Usage: agent_http.sh BULWARK AGENT_NET_PROBE
set -u
B=$(realpath "$1"); PROBE=$(realpath "$2"); HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
SPID=
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
. "$HERE/gwlib.sh"
. "$HERE/agentlib.sh"
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c

agent_device
mkdir blobs
head -c 400000 /dev/urandom > blobs/pkg; SHA=$(sha256sum < blobs/pkg | cut -c1-64); mv blobs/pkg blobs/$SHA
head -c 300000 /dev/urandom > blobs/pkg; SHA2=$(sha256sum < blobs/pkg | cut -c1-64); mv blobs/pkg blobs/$SHA2
touch blobs/$SHA2.norange
python3 "$HERE/agent_httpd.py" srv.crt srv.key factory/ca.crt blobs port 2> srv.log &
SPID=$!
for i in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || { echo "server did not start"; exit 1; }
P=$(cat port)
conf() { # FILE [EXTRA]
  printf '%s\n' "device_config = $T/dev/device.conf" "gateway = https://127.0.0.1:$P/" \
    "ca_cert = $T/srvca.crt" "audience = test" "timeout = 5" "${2:-}" > "$1"
}
conf agent.conf
probe() { "$PROBE" agent.conf dev-1 "$@" 2>>probe.err; }
since() { tail -n +$(($1 + 1)) srv.log; }

# keep-alive: three requests, one connection, one token; a chunked answer
probe post /api/v1/device/checkin post /api/v1/device/checkin post /chunked > out1
check '[ "$(cut -d" " -f3- out1 | tr "\n" "|")" = "200 {\"conn\":1,\"token\":1} rc=BW_OK|200 {\"conn\":1,\"token\":1} rc=BW_OK|200 {\"chunked\":\"hello, chunked world\"} rc=BW_OK|" ]' \
  "keep-alive and chunked: $(cat out1)"
# the server drops the kept connection after an answer: the agent sees it
# closed before the next request, which goes out on a new connection with a
# fresh token at once (the token bound to the old connection would be
# refused there as a replay: no such spurious 401)
n=$(wc -l < srv.log)
probe post /drop post /api/v1/device/checkin > out2
check '[ "$(sed -n 2p out2)" = "post /api/v1/device/checkin 200 {\"conn\":3,\"token\":3} rc=BW_OK" ]' "dropped connection: $(cat out2)"
check '[ "$(since $n | tr "\n" "|")" = "conn=2 POST /drop token=2 200|conn=3 POST /api/v1/device/checkin token=3 200|" ]' \
  "dropped connection, server side: $(since $n | tr '\n' '|')"
# a close-delimited answer, then the same on a new connection
probe post /close post /api/v1/device/checkin > out3
check '[ "$(cut -d" " -f3- out3 | tr "\n" "|")" = "200 {\"until\":\"close\"} rc=BW_OK|200 {\"conn\":5,\"token\":5} rc=BW_OK|" ]' \
  "close-delimited: $(cat out3)"

# downloads: whole (Content-Length), resumed (206, chunked), resumed from a
# server that ignores Range (200: the file starts over)
probe get $SHA 0 400000 f1 > out4
check '[ "$(cat out4)" = "get 200 400000 rc=BW_OK" ] && cmp -s f1 blobs/$SHA' "whole download: $(cat out4)"
head -c 123456 blobs/$SHA > f2
probe get $SHA 123456 400000 f2 > out5
check '[ "$(cat out5)" = "get 206 276544 rc=BW_OK" ] && cmp -s f2 blobs/$SHA' "resumed, 206 chunked: $(cat out5)"
head -c 5000 /dev/zero > f3
probe get $SHA2 5000 300000 f3 > out6
check '[ "$(cat out6)" = "get 200 300000 rc=BW_OK" ] && cmp -s f3 blobs/$SHA2' "Range ignored, file starts over: $(cat out6)"
probe get $SHA 0 399999 f4 > out7
check 'grep -q "rc=BW_E_IO" out7 && grep -Eq "longer than (the announced )?399999 bytes" probe.err' "longer than announced: $(cat out7)"
# download_rate: 400000 bytes at 200000 bytes/s cannot take under 1.5 s
conf agent.conf "download_rate = 200000"
t0=$(date +%s%N); probe get $SHA 0 400000 f5 > out8; t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check '[ "$(cat out8)" = "get 200 400000 rc=BW_OK" ] && [ $ms -ge 1500 ]' "rate limit: $(cat out8) in $ms ms"
check '! grep -q "Sanitizer\|runtime error" probe.err' "sanitizer: $(grep -m1 'Sanitizer\|runtime error' probe.err)"
echo "agent_http: $pass passed, $fail failed"
[ $fail = 0 ]
