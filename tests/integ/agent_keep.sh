#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent keeps its TLS connection and session between polls
# (keep_connection, tls_resume: agent/net.c), seen from the gateway's side:
# its access log names each request's client port (the connection) and the
# handshake the connection began with (full or resumed).
#  1. A real bulwark-agent polling every second (gateway idle_timeout 30):
#     its first check-in on a full handshake, polls 2..5 on that same
#     connection (same port: no handshake at all).
#  2. The gateway closes idle connections after 1 s while the devices are
#     told to poll every 3 s: each poll after the first comes on a new
#     connection that resumed the session (no full handshake), with a fresh
#     token (no 401: the token bound to the closed connection is not sent
#     as a replay).
#  3. The gateway's token rule the agent relies on, on one kept connection
#     (curl): a fresh token after the first one is accepted there (and
#     bound in its place); a token already used on another connection is
#     refused there as a replay.
# Usage: agent_keep.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT DEVKEY_PEM
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3"); EXPORT=$(realpath "$4")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
PIDS= APID=
cleanup() {
  for p in $APID $PIDS; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
. "$HERE/gwlib.sh"
. "$HERE/agentlib.sh"
pass=0 fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then pass=$((pass + 1)); else bad "$2"; fi; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test

agent_device
"$EXPORT" "file:$T/dev/state/device.key?storage-key=$T/dev/state/storage.key" tls.key ||
  bad "export the device key"
gw_operators admin
gw_start "$T/factory/ca.crt" "token_audience = $AUD" "poll_interval = 1" "idle_timeout = 30"
agent_accept
agent_conf "poll_min = 1" "poll_max = 10" "jitter = 0" "keep_connection = true" "tls_resume = true"
# checkins: "PORT TLS STATUS" of dev-1's check-ins in the access log
checkins() {
  /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("path") == "/api/v1/device/checkin" and r.get("client") == "dev-1":
        print(r.get("port"), r.get("tls"), r.get("status"))' access.log
}
# agent_until N: runs the agent until the access log holds N of its check-ins
agent_until() {
  "$AG" --config agent.conf >> agent.out 2>&1 &
  APID=$!
  for _ in $(seq 200); do [ "$(checkins | wc -l)" -ge "$1" ] && break; sleep 0.1; done
  kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null; APID=
}

# 1. kept: five polls, one connection, one handshake
agent_until 5
checkins > kept.txt
check '[ "$(wc -l < kept.txt)" -ge 5 ]' "five check-ins: $(tr '\n' '|' < kept.txt) $(tail -3 agent.out)"
check '[ "$(head -n 5 kept.txt | cut -d" " -f1 | sort -u | wc -l)" = 1 ]' \
  "polls 2..5 on the first poll's connection: $(tr '\n' '|' < kept.txt)"
check '[ "$(head -n 5 kept.txt | cut -d" " -f2,3 | sort -u | tr "\n" "|")" = "full 200|" ]' \
  "one full handshake, every check-in 200: $(tr '\n' '|' < kept.txt)"

# 2. the gateway closes the idle connection before each poll: resumed
kill "$GPID"; wait "$GPID" 2>/dev/null
: > access.log
gw_start "$T/factory/ca.crt" "token_audience = $AUD" "poll_interval = 3" "idle_timeout = 1"
agent_until 4
checkins > resumed.txt
check '[ "$(wc -l < resumed.txt)" -ge 4 ]' "four check-ins: $(tr '\n' '|' < resumed.txt)"
check '[ "$(head -n 4 resumed.txt | cut -d" " -f1 | sort -u | wc -l)" = 4 ]' \
  "a new connection for each poll: $(tr '\n' '|' < resumed.txt)"
check '[ "$(sed -n 2,4p resumed.txt | cut -d" " -f2,3 | sort -u | tr "\n" "|")" = "resumed 200|" ]' \
  "polls 2..4 resumed, no replay refused: $(tr '\n' '|' < resumed.txt)"
check '! grep -q "\"status\":401" access.log' "a 401 in the access log: $(grep '"status":401' access.log | head -2)"

# 3. the token rule on one kept connection (curl reuses it across --next)
CHK='{"version":"1","sequence":1}'
tok() { "$B" token --config dev/device.conf --aud "$AUD" --ttl 300; }
two() { # TOKEN1 TOKEN2: "STATUS CONNECTS" of two check-ins on one connection
  local k=(--cacert srvca.crt --cert dev/state/device.crt --key tls.key --data "$CHK")
  curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' "${k[@]}" \
    -H "Authorization: Bearer $1" $U/api/v1/device/checkin --next -o /dev/null \
    -w '%{http_code} %{num_connects}\n' "${k[@]}" -H "Authorization: Bearer $2" \
    $U/api/v1/device/checkin | tr '\n' ' '
}
t1=$(tok) t2=$(tok)
check '[ "$(two "$t1" "$t2")" = "200 1 200 0 " ]' "a fresh token on a bound connection: $(two "$(tok)" "$(tok)")"
t3=$(tok)
check '[ "$(two "$t3" "$t1")" = "200 1 401 0 " ]' "a replayed token on a bound connection: $(two "$(tok)" "$t1")"
check '! grep -q "Sanitizer\|runtime error" agent.out gw.err' "sanitizer: $(grep -m1 'Sanitizer\|runtime error' agent.out gw.err)"
echo "agent_keep: $pass passed, $fail failed"
[ $fail = 0 ]
