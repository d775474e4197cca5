#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device's say (docs/agent.md, docs/gateway.md) with real agents
# (bulwark-agent --once, each device with its own storage) against the real
# bulwark-gateway on loopback (TLS, client certificates, SQLite):
#  1. the update lock: an application holds it ('bulwark-agent --lock CMD');
#     the offered update waits, seen as "locked" in the registry, until
#     the application releases it (lk-1), lock_max_hold passes on the
#     policy clock (lk-2), or the operator overrides it (lk-3)
#  2. download now, install later: an install-later campaign outside its
#     window is offered, downloaded, verified and kept, seen as
#     "install-later", and installed only on the operator's trigger (lt-1)
#     or the local --install-now (lt-2); inside its window it installs at
#     once (lt-3)
#  3. consent: the device's own (agent.conf consent = yes, cs-1) or the
#     campaign's (consent: true, cs-2) waits before the download, seen as
#     "consent", until the user's 'bulwark-agent --consent'
# Usage: device_say.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/gwlib.sh"
gw_begin
LOCKERS=
cleanup_lockers() { local d; for d in $LOCKERS; do rm -f "$T/$d/hold"; done; }
trap 'cleanup_lockers; for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; [ "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"' EXIT

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
head -c 100000 /dev/urandom > fw1.img
head -c 120000 /dev/urandom > fw2.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 1 --out fw1.bwp fw1.img >/dev/null
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw2.bwp fw2.img >/dev/null
gw_operators admin
DEVS="lk-1 lk-2 lk-3 lt-1 lt-2 lt-3 cs-1 cs-2"
group() { case $1 in lk-*) echo lock;; lt-3) echo window;; lt-*) echo later;; cs-1) echo own;; *) echo asked;; esac; }
for d in $DEVS; do
  gw_agent_device $d fw1.bwp
done
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1"
for d in $DEVS; do
  cat > $d/agent.conf <<EOF
device_config = $T/$d/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/$d/agent
attributes = group=$(group $d)
reboot_command = "$B" boot --config $T/$d/device.conf
poll_min = 1
poll_max = 1
timeout = 5
lock_max_hold = $([ $d = lk-3 ] && echo 0 || echo 100)
consent = $([ $d = cs-1 ] && echo yes || echo no)
EOF
done
check '[ "$(op $TOK_admin --data-binary @ca/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"

# one agent cycle of device D (CLK: the policy clock, if set)
once() { env ${CLK:+BULWARK_AGENT_CLOCK=$CLK} "$AG" --config $1/agent.conf --once >> $1/agent.log 2>&1; }
version() { op $TOK_admin $U/api/v1/devices/$1 >/dev/null; sed -n 's/.*"version":"\([^"]*\)".*/\1/p' body.txt; }
# what D's newest action says it waits for ("" for nothing)
waits() {
  op $TOK_admin "$U/api/v1/devices/$1/actions?limit=1" >/dev/null
  /usr/bin/python3 -c 'import json; a=json.load(open("body.txt")); a=a.get("actions", a) if isinstance(a, dict) else a
print(a[0].get("waiting_for", "") if a else "none")'
}
# the campaign's count of devices waiting for W
waiting() {
  op $TOK_admin $U/api/v1/campaigns/$1 >/dev/null
  /usr/bin/python3 -c 'import json, sys; print(json.load(open("body.txt"))["waiting"][sys.argv[1]])' "$2"
}
state() { "$AG" --config $1/agent.conf --state | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
create() { # JSON -> campaign id
  op $TOK_admin -H "Content-Type: application/json" --data "$1" $U/api/v1/campaigns >/dev/null
  sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt
}
op $TOK_admin --data-binary @fw2.bwp "$U/api/v1/releases?name=fw-2" >/dev/null
R2=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
for d in $DEVS; do once $d; done # every device checked in, running fw1 (sequence 1)
check '[ "$(version lk-1)" = "sequence 1" ]' "lk-1 checked in: $(version lk-1)"
# the strict create body: install_later and consent are booleans
check '[ "$(op $TOK_admin --data "{\"name\":\"x\",\"release_id\":$R2,\"install_later\":1}" $U/api/v1/campaigns)" = 400 ]' \
  "install_later: 1 accepted"

# --- 1. the update lock ----------------------------------------------------------------
lock() { # D: an application takes D's update lock until D/hold is removed
  touch $1/hold; LOCKERS="$LOCKERS $1"
  "$AG" --config $1/agent.conf --lock "touch $T/$1/held; while [ -e $T/$1/hold ]; do sleep 0.05; done" &
  eval "LPID_${1//-/_}=$!"
  local i; for i in $(seq 100); do [ -e $1/held ] && break; sleep 0.05; done
}
unlock() { rm -f $1/hold; eval "wait \$LPID_${1//-/_}"; }
for d in lk-1 lk-2 lk-3; do lock $d; done
CL=$(create "{\"name\":\"locked\",\"release_id\":$R2,\"filter\":{\"group\":\"lock\"}}")
NOW=$(date +%s)
for d in lk-1 lk-2 lk-3; do CLK=$NOW once $d; CLK=$((NOW + 50)) once $d; done
check '[ "$(waiting $CL locked)" = 3 ] && [ "$(waits lk-1)" = locked ]' \
  "the lock seen: $(waiting $CL locked) locked, lk-1 $(waits lk-1)"
check '[ "$(version lk-1)$(version lk-2)$(version lk-3)" = "sequence 1sequence 1sequence 1" ]' \
  "installed while the update lock was held: $(version lk-1), $(version lk-2), $(version lk-3)"
check 'grep -q "waiting for the update lock" lk-1/agent.log' "lk-1 says why: $(tail -2 lk-1/agent.log)"
# lk-1: the application releases it
unlock lk-1
once lk-1; once lk-1
check '[ "$(version lk-1)" = fw-2 ]' "lk-1 after the release: $(version lk-1); $(tail -3 lk-1/agent.log)"
# lk-2: held past lock_max_hold (100 s on the policy clock)
CLK=$((NOW + 99)) once lk-2
check '[ "$(version lk-2)" = "sequence 1" ]' "lk-2 before lock_max_hold: $(version lk-2)"
CLK=$((NOW + 101)) once lk-2; CLK=$((NOW + 102)) once lk-2
check '[ "$(version lk-2)" = fw-2 ] && grep -q "lock_max_hold passed" lk-2/agent.log' \
  "lk-2 after lock_max_hold: $(version lk-2); $(tail -3 lk-2/agent.log)"
# lk-3: no maximum; the operator overrides
CLK=$((NOW + 100000)) once lk-3
check '[ "$(version lk-3)" = "sequence 1" ] && [ "$(waits lk-3)" = locked ]' "lk-3 waits without a maximum: $(version lk-3)"
check '[ "$(op $TOK_admin -X POST $U/api/v1/devices/lk-3/override-lock)" = 200 ]' "override-lock"
once lk-3; once lk-3
check '[ "$(version lk-3)" = fw-2 ] && grep -q "the gateway.s override" lk-3/agent.log' \
  "lk-3 after the override: $(version lk-3); $(tail -3 lk-3/agent.log)"
unlock lk-2; unlock lk-3
check 'op $TOK_admin "$U/api/v1/audit" >/dev/null && grep -q "action.override-lock" body.txt' "override audited"

# --- 2. download now, install later -----------------------------------------------------
TOD=$(( $(date -u +%s) % 86400 ))
CLATER=$(create "{\"name\":\"later\",\"release_id\":$R2,\"filter\":{\"group\":\"later\"},\"install_later\":true,
  \"window\":[$(( (TOD + 3600) % 86400 )),$(( (TOD + 7200) % 86400 ))]}")
CWIN=$(create "{\"name\":\"in-window\",\"release_id\":$R2,\"filter\":{\"group\":\"window\"},\"install_later\":true,
  \"window\":[$(( (TOD + 86400 - 600) % 86400 )),$(( (TOD + 3600) % 86400 ))]}")
check '[ -n "$CLATER" ] && [ -n "$CWIN" ]' "install-later campaigns"
for d in lt-1 lt-2; do once $d; once $d; done
check '[ "$(waiting $CLATER install-later)" = 2 ] && [ "$(waits lt-1)" = install-later ]' \
  "staged, seen: $(waiting $CLATER install-later), lt-1 $(waits lt-1)"
check '[ "$(state lt-1 staged)" = True ] && [ "$(state lt-1 fetched)" = "$(stat -c %s fw2.bwp)" ] &&
  [ "$(version lt-1)" = "sequence 1" ] && ls lt-1/agent/*.part >/dev/null 2>&1' \
  "lt-1 downloaded once and kept it, not installed: staged $(state lt-1 staged), fetched $(state lt-1 fetched)"
check 'grep -q "waiting to install" lt-1/agent.log' "lt-1 says why: $(tail -2 lt-1/agent.log)"
# waiting costs no write: a poll with nothing new leaves the state file alone
m0=$(stat -c %y lt-1/agent/state); once lt-1
check '[ "$(stat -c %y lt-1/agent/state)" = "$m0" ]' "lt-1's state rewritten by a poll that changed nothing"
# the operator's trigger
check '[ "$(op $TOK_admin -X POST $U/api/v1/devices/lt-1/install)" = 200 ]' "install trigger"
once lt-1; once lt-1
check '[ "$(version lt-1)" = fw-2 ] && [ "$(state lt-1 fetched)" = 0 ]' \
  "lt-1 after the trigger: $(version lt-1); $(tail -3 lt-1/agent.log)"
check '[ "$(version lt-2)" = "sequence 1" ]' "lt-2 installed without a trigger: $(version lt-2)"
# the local trigger
"$AG" --config lt-2/agent.conf --install-now >/dev/null
once lt-2; once lt-2
check '[ "$(version lt-2)" = fw-2 ]' "lt-2 after --install-now: $(version lt-2); $(tail -3 lt-2/agent.log)"
# inside the window: at once
once lt-3; once lt-3
check '[ "$(version lt-3)" = fw-2 ]' "lt-3 in its window: $(version lt-3); $(tail -3 lt-3/agent.log)"

# --- 3. consent --------------------------------------------------------------------------
# a consent names the update offered: none yet, so none is given
check '! "$AG" --config cs-1/agent.conf --consent >/dev/null 2>&1 && [ ! -e cs-1/agent/consent ]' \
  "consent given with no update offered"
COWN=$(create "{\"name\":\"own\",\"release_id\":$R2,\"filter\":{\"group\":\"own\"}}")
CASK=$(create "{\"name\":\"asked\",\"release_id\":$R2,\"filter\":{\"group\":\"asked\"},\"consent\":true}")
check 'op $TOK_admin $U/api/v1/campaigns/$CASK >/dev/null && grep -q "\"consent\":true" body.txt' "consent campaign"
for d in cs-1 cs-2; do once $d; once $d; done
check '[ "$(waiting $COWN consent)" = 1 ] && [ "$(waiting $CASK consent)" = 1 ] && [ "$(waits cs-2)" = consent ]' \
  "waiting for consent: $(waiting $COWN consent) + $(waiting $CASK consent)"
check '[ "$(state cs-1 fetched)" = 0 ] && [ "$(state cs-2 fetched)" = 0 ] && [ "$(version cs-1)" = "sequence 1" ]' \
  "downloaded or installed before consent: $(state cs-1 fetched) $(state cs-2 fetched) $(version cs-1)"
check 'op $TOK_admin "$U/api/v1/devices/cs-2/actions?limit=1" >/dev/null && grep -q "\"consent\":\"asked\"" body.txt' \
  "cs-2's action: consent asked"
for d in cs-1 cs-2; do
  "$AG" --config $d/agent.conf --consent >/dev/null
  once $d; once $d
  check '[ "$(version $d)" = fw-2 ]' "$d after --consent: $(version $d); $(tail -3 $d/agent.log)"
done
check '[ "$(waiting $CASK consent)" = 0 ]' "consent wait cleared"

echo "device_say: $pass passed, $fail failed"
[ $fail = 0 ]
