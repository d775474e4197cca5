#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The keep-alive poll path of the gateway (docs/gateway.md, "Performance"),
# as a device meets it: polls on one kept connection with one token.
# - a TLS record of a poll is received in one read: no recv(2) of a bare
#   5-byte record header (counted with strace when it is there);
# - the token a connection proved is compared byte for byte: a token of
#   the same length with one bit changed, on that same connection, is
#   refused (401), and the proved one still serves after it;
# - a check-in body repeated on a connection is parsed once, and a new
#   body on it is seen: the registry has the version of the last poll;
# - the nothing-to-do answer (one shared response) is the same bytes on
#   every poll;
# - every access log line is JSON with the fields and escapes as before,
#   the polls of one connection with one port.
# Usage: gateway_poll_path.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
. "$HERE/gwlib.sh"
gw_begin
gw_server_cert
gw_devices dev-1
gw_operators admin
gw_start "$T/factory/ca.crt" "token_audience = $AUD"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
dtok() { "$B" token --config $1/device.conf --aud "$AUD" --ttl 300; }
CHK='{"version":"1.0.0","sequence":1}'
IDLE='{"poll_interval":60,"action":null}'
# N polls of the check-in URL on one connection, each answer's status and
# connect count on a line; extra curl options before the URLs
polls() {
  local n=$1 urls=() i; shift
  for i in $(seq "$n"); do urls+=(-o /dev/null "$U/api/v1/device/checkin"); done
  curl -s -w '%{http_code} %{num_connects}\n' --cacert srvca.crt --cert dev-1/state/device.crt \
    --key dev-1/tls.key "$@" "${urls[@]}"
}

# --- one record, one read ------------------------------------------------------------------
t=$(dtok dev-1)
polls 1 -H "Authorization: Bearer $t" --data "$CHK" > warm.txt # the connection's first request
check '[ "$(cut -d" " -f1 warm.txt)" = 200 ]' "first check-in: $(cat warm.txt)"
if command -v strace >/dev/null; then
  t=$(dtok dev-1)
  strace -f -e trace=recvfrom,read,recvmsg -o recv.txt -p $GPID 2>/dev/null &
  SP=$!; sleep 0.5
  polls 20 -H "Authorization: Bearer $t" --data "$CHK" > twenty.txt
  kill -INT $SP; wait $SP 2>/dev/null
  check '[ "$(grep -c "^200" twenty.txt)" = 20 ] && [ "$(grep -c " 1$" twenty.txt)" = 1 ]' \
    "twenty polls on one connection: $(sort twenty.txt | uniq -c | xargs)"
  # the record headers GnuTLS asked for on their own (5 bytes each): the
  # handshake's records and the connection's first request are read so
  # (about 6); before, every poll's record was too (26 here)
  n5=$(grep -cE '^[0-9]+ +(recvfrom|read)\([0-9]+, .*, 5(, 0, NULL, NULL)?\) += 5$' recv.txt)
  nr=$(grep -cE '^[0-9]+ +recvfrom\(' recv.txt)
  check '[ "$n5" -lt 12 ]' "5-byte record-header reads over a handshake and twenty polls: $n5 (of $nr receives)"
fi

# --- the connection's token, byte for byte ---------------------------------------------------
t=$(dtok dev-1)
printf %s "$t" > tok.bad
"$HERE/flipbyte.sh" tok.bad $(( ${#t} - 10 )) # a bit of the signature
tb=$(cat tok.bad)
check '[ "$tb" != "$t" ] && [ ${#tb} = ${#t} ]' "the changed token"
D=(-s -w '%{http_code} %{num_connects}\n' --cacert srvca.crt --cert dev-1/state/device.crt --key dev-1/tls.key)
curl "${D[@]}" -o /dev/null --data "$CHK" -H "Authorization: Bearer $t" $U/api/v1/device/checkin \
  --next "${D[@]}" -o /dev/null --data "$CHK" -H "Authorization: Bearer $tb" $U/api/v1/device/checkin \
  --next "${D[@]}" -o body.txt --data "$CHK" -H "Authorization: Bearer $t" $U/api/v1/device/checkin > tamper.txt
check '[ "$(tr "\n" " " < tamper.txt)" = "200 1 401 0 200 0 " ]' \
  "proved token, a one-bit change of it, the proved one again, on one connection: $(cat tamper.txt)"
check '[ "$(cat body.txt)" = "$IDLE" ]' "the nothing-to-do answer"

# --- a repeated body parsed once, a new one seen ----------------------------------------------
t=$(dtok dev-1)
curl "${D[@]}" -H "Authorization: Bearer $t" --data "$CHK" -o /dev/null $U/api/v1/device/checkin \
  -o /dev/null $U/api/v1/device/checkin \
  --next "${D[@]}" -H "Authorization: Bearer $t" --data '{"version":"2.0.0","sequence":2}' -o body.txt \
  $U/api/v1/device/checkin > bodies.txt
check '[ "$(tr "\n" " " < bodies.txt)" = "200 1 200 0 200 0 " ] && [ "$(cat body.txt)" = "$IDLE" ]' \
  "two polls with one body, a third with another, on one connection: $(cat bodies.txt)"
check '[ "$(op $TOK_admin $U/api/v1/devices/dev-1)" = 200 ] && grep -q "\"version\":\"2.0.0\"" body.txt' \
  "the registry has the last poll's version"

# --- the access log ----------------------------------------------------------------------------
check '[ "$(req "$U/no%22such%0Apath%5C")" = 404 ]' "a path to escape"
kill -TERM $GPID; wait $GPID 2>/dev/null # the log is flushed at stop
out=$("$PY" - access.log <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = [json.loads(l) for l in lines]
keys = ["time", "remote", "port", "tls", "method", "path", "status", "bytes_in", "ms", "client"]
for l, r in zip(lines, recs):
    assert list(r)[:10] == keys, l
    assert l.split('"time":')[1].split(",")[0].split(".")[1].isdigit(), l
    assert len(l.split('"time":')[1].split(",")[0].split(".")[1]) == 3, l
    assert l.split('"ms":')[1].split(",")[0].count(".") == 1, l
polls = [r for r in recs if r["path"] == "/api/v1/device/checkin" and r["status"] == 200]
twenty = [r for r in polls if r["bytes_in"] == len('{"version":"1.0.0","sequence":1}')]
assert all(r["client"] == "dev-1" and r["method"] == "POST" and r["remote"] == "127.0.0.1" for r in polls)
esc = [r for r in recs if r["status"] == 404 and r["path"] == '/no"such\npath\\']
assert len(esc) == 1, [r["path"] for r in recs if r["status"] == 404]
assert '"path":"/no\\"such\\npath\\\\"' in open(sys.argv[1]).read()
ports = {}
for r in polls:
    ports.setdefault(r["port"], 0)
    ports[r["port"]] += 1
print(len(recs), len(polls), max(ports.values()))
EOF
)
check '[ -n "$out" ] && [ "$(echo $out | cut -d" " -f3)" -ge 20 ]' \
  "access log: lines, polls, most polls of one port: ${out:-not JSON as expected}"
echo "gateway_poll_path: $pass passed, $fail failed"
[ $fail = 0 ]
