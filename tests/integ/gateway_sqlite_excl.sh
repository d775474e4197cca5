#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sqlite_exclusive = true (docs/gateway.md): the gateway holds its SQLite
# registry for its process alone. It serves as before (devices imported and
# listed, a device's check-in over mTLS), no read transaction takes a file
# lock (no fcntl(2) on a check-in, counted with strace when it is there),
# another process opening the file is refused while the gateway runs, and
# after it stops the registry holds what it wrote.
# Usage: gateway_sqlite_excl.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/gwlib.sh"
gw_begin
gw_server_cert
gw_devices dev-1
gw_operators admin
gw_start "$T/factory/ca.crt" "sqlite_exclusive = true"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
check '[ "$(op $TOK_admin $U/api/v1/devices)" = 200 ] && grep -q "\"id\":\"dev-1\"" body.txt' "device list"
ddi() { req --cert dev-1/state/device.crt --key dev-1/tls.key $U/DEFAULT/controller/v1/dev-1; }
check '[ "$(ddi)" = 200 ]' "a device's DDI poll"
if command -v strace >/dev/null; then
  strace -f -c -e trace=fcntl -o fcntl.txt -p $GPID 2>/dev/null &
  SP=$!; sleep 0.5
  for i in 1 2 3 4 5; do ddi >/dev/null; done
  kill -INT $SP; wait $SP 2>/dev/null
  n=$(awk '$NF == "total" { print $4 }' fcntl.txt)
  check '[ "${n:-0}" = 0 ]' "fcntl calls over five polls: ${n:-0}"
fi
# another process: refused while the gateway runs
out=$(sqlite3 -cmd ".timeout 200" registry.db "SELECT count(*) FROM devices" 2>&1)
check 'echo "$out" | grep -qi "locked"' "sqlite3 opened the registry of a running exclusive gateway: $out"
kill $GPID; wait $GPID 2>/dev/null
check '[ "$(sqlite3 registry.db "SELECT count(*) FROM devices WHERE id = '"'dev-1'"'")" = 1 ]' \
  "the registry after the gateway stopped: $(sqlite3 registry.db "SELECT id FROM devices" 2>&1)"
echo "gateway_sqlite_excl: $pass passed, $fail failed"
[ $fail = 0 ]
