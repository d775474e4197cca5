#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The campaign guard rails (docs/gateway.md, campaigns) with the fleet
# simulator (bulwark-agent --simulate) against the real bulwark-gateway on
# loopback (TLS, client certificates, SQLite):
#  1. one group of 10 devices: 6 trust the release key, 4 trust another and
#     refuse the package ("install refused at envelope"). A campaign that
#     aborts at 30 % install refusals once 5 were executed is ROLLED_BACK in
#     the transaction of the report that crossed it (every answer of the
#     API that shows the criterion met already shows the new state), its
#     pending actions are cancelled, and its rollback campaign offers the
#     named last-good release to the devices it updated or failed: the
#     devices that trust the key end up running it.
#  2. a dynamic campaign created before its devices exist: two devices
#     imported and started later are picked up and updated.
#  3. four real agents (the simulator's image always passes its health
#     check): two fail the health check of the campaign's image and roll
#     back; the campaign aborts at 50 % health-check failures of 4 and the
#     healthy devices are rolled back to the last good release.
# Usage: fleet_guard.sh BULWARK BULWARK-GATEWAY BULWARK-AGENT
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
GPID= PIDS=
cleanup() {
  for p in $PIDS $GPID; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1
. "$HERE/gwlib.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 400 body.txt 2>/dev/null)]"; fi; }
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
AUD=https://gateway.test

gw_server_cert
"$B" keygen --out rel.key --pub rel.pub >/dev/null
"$B" keygen --out other.key --pub other.pub >/dev/null
head -c 200000 /dev/urandom > fw2.img
head -c 150000 /dev/urandom > good.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 2 --out fw2.bwp fw2.img >/dev/null
# the last good image, signed again above the sequence the campaign installs
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 3 --out good.bwp good.img >/dev/null
"$B" device init --dir tmpl --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
"$B" device init --dir tmplx --slot-size 1048576 --pub other.pub --vendor-id $V --class-id $C >/dev/null
gw_operators admin
timing() { # every device polls each second
  printf '%s\n' "poll_min = 1" "poll_max = 1" "retry_min = 1" "retry_max = 2" "jitter = 20" "timeout = 5"
}
sim_conf() { # GROUP TEMPLATE-DIR STATE-DIR
  cat <<EOF
device_config = $T/$2/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/$3
attributes = group=$1,hw=sim
$(timing)
EOF
}
# NAME GROUP TEMPLATE N: identities minted once, under NAME/
prepare() {
  sim_conf "$2" "$3" "state-$1" > "$1.conf"
  "$AG" --simulate "$4" --config "$1.conf" --fleet-dir "$1" --ca-dir ca --id-prefix "$1-" \
    --prepare > "prep-$1.log" 2>&1 || bad "prepare $1: $(tail -2 "prep-$1.log")"
}
run_fleet() { # NAME N: in the background
  "$AG" --simulate "$2" --config "$1.conf" --fleet-dir "$1" --ca-dir ca --id-prefix "$1-" \
    --threads 2 --verbose > "sim-$1.log" 2> "sim-$1.err" &
  PIDS="$PIDS $!"
}
U=https://127.0.0.1:0 # not used by --prepare
prepare good guard tmpl 6
prepare bad guard tmplx 4
prepare late late tmpl 2
gw_start "$T/ca/ca.crt" "token_audience = $AUD" "poll_interval = 1"
for f in good bad; do
  sim_conf guard $([ $f = good ] && echo tmpl || echo tmplx) "state-$f" > "$f.conf"
  check '[ "$(op $TOK_admin --data-binary @$f/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import $f"
done
sim_conf late tmpl state-late > late.conf

upload() { # NAME FILE -> release id
  op $TOK_admin --data-binary @$2 "$U/api/v1/releases?name=$1" >/dev/null
  sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt
}
create() { # JSON -> campaign id
  op $TOK_admin -H "Content-Type: application/json" --data "$1" $U/api/v1/campaigns >/dev/null
  sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt
}
# "STATE success=N failure=N ..." of a campaign, from one answer
show() {
  op $TOK_admin $U/api/v1/campaigns/$1 >/dev/null
  /usr/bin/python3 -c 'import json; c=json.load(open("body.txt")); a=c["actions"]
print(" ".join([c["state"]] + ["%s=%s" % (k, a[k]) for k in sorted(a) if a[k]]))'
}
field() { /usr/bin/python3 -c 'import json, sys; print(json.load(open("body.txt")).get(sys.argv[1], ""))' "$1"; }
versions() { # "VERSION/SEQUENCE=COUNT ..." of a group
  op $TOK_admin "$U/api/v1/devices?filter=%7B%22group%22:%22$1%22%7D" >/dev/null
  /usr/bin/python3 -c 'import json, collections
d = json.load(open("body.txt")); d = d.get("devices", d) if isinstance(d, dict) else d
c = collections.Counter("%s/%s" % (x["version"], x["sequence"]) for x in d)
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))'
}

R2=$(upload fw-2 fw2.bwp)
RG=$(upload fw-good good.bwp)
# strict options: an unknown member, and a rollback without an abort criterion, are refused
check '[ "$(op $TOK_admin --data "{\"name\":\"x\",\"release_id\":$R2,\"abort_pct\":5}" $U/api/v1/campaigns)" = 400 ]' \
  "unknown member accepted"
check '[ "$(op $TOK_admin --data "{\"name\":\"x\",\"release_id\":$R2,\"rollback_release\":$RG}" $U/api/v1/campaigns)" = 400 ]' \
  "rollback_release without abort_failure_pct accepted"
refused() { # JSON-MEMBERS: a create body with these members is refused (400)
  [ "$(op $TOK_admin --data "{\"name\":\"x\",\"release_id\":$R2,\"filter\":{\"group\":\"none\"},$1}" \
    $U/api/v1/campaigns)" = 400 ]
}
for m in '"abort_failure_pct":0' '"abort_failure_pct":101' '"abort_min_executed":3' \
  '"abort_failure_pct":5,"abort_on":["bogus"]' '"abort_failure_pct":5,"abort_on":[]' \
  '"abort_failure_pct":5,"abort_on":["other","other"]' '"ramp_base":0' '"ramp_factor":2' \
  '"ramp_base":2,"ramp_factor":1.05' '"ramp_base":2,"ramp_factor":5.1' '"ramp_base":2,"ramp_on":"soon"' \
  "\"abort_failure_pct\":5,\"rollback_release\":$R2" '"dynamic":"yes"' '"priority":1001' \
  '"priority":-1'; do
  check 'refused "$m"' "refused: $m"
done
check '[ "$(op $TOK_admin --data "{\"name\":\"rollback of #1\",\"release_id\":$R2}" $U/api/v1/campaigns)" = 400 ] &&
  grep -q "\"error\"" body.txt' "the registry's rollback name accepted"
check '[ "$(op $TOK_admin --data "{\"name\":\"ramped\",\"release_id\":$R2,\"filter\":{\"group\":\"none\"},
  \"ramp_base\":3,\"ramp_factor\":1.5,\"ramp_on\":\"notified\",\"priority\":1000}" $U/api/v1/campaigns)" = 201 ] &&
  grep -q "\"ramp_base\":3,\"ramp_factor\":1.5,\"ramp_on\":\"notified\"" body.txt && grep -q "\"priority\":1000" body.txt' \
  "a ramp of 1.5 from 3 on notified devices"

# --- 1. abort and fleet rollback ------------------------------------------------------
run_fleet good 6
run_fleet bad 4
for i in $(seq 100); do [ "$(versions guard)" = "sequence 1/1=10" ] && break; sleep 0.2; done
check '[ "$(versions guard)" = "sequence 1/1=10" ]' "every device checked in: $(versions guard)"
CA=$(create "{\"name\":\"spring\",\"release_id\":$R2,\"filter\":{\"group\":\"guard\"},\"batch_size\":100,
  \"abort_failure_pct\":30,\"abort_min_executed\":5,\"abort_on\":[\"install-refused\"],\"rollback_release\":$RG}")
check '[ -n "$CA" ]' "guarded campaign"
# every answer that shows the criterion met must show the campaign ended
seen= late=0
for i in $(seq 150); do
  s=$(show "$CA")
  set -- $s
  st=$1; sc=0; fc=0
  for kv in "$@"; do case $kv in success=*) sc=${kv#*=};; failure=*) fc=${kv#*=};; esac; done
  ex=$((sc + fc))
  if [ $ex -ge 5 ] && [ $((fc * 100)) -ge $((30 * ex)) ] && [ "$st" = running ]; then
    late=$((late + 1))
  fi
  seen="$s"
  [ "$st" = running ] || break
  sleep 0.1
done
check '[ "${seen%% *}" = rolled_back ] && [ $late = 0 ]' \
  "criterion met while running in $late answers; last: $seen"
show "$CA" >/dev/null
RB=$(field rollback_campaign)
check '[ -n "$RB" ] && field reason | grep -Eq "^aborted: [0-9]+ of [0-9]+ executed actions failed \(abort at 30 %\)"' \
  "rollback campaign $RB, reason: $(field reason)"
check 'grep -q "\"rollback_of\":$CA" <(op $TOK_admin $U/api/v1/campaigns/$RB >/dev/null; cat body.txt) &&
  grep -q "\"release_id\":$RG" body.txt' "rollback campaign to the last good release"
# every device the campaign reached is offered the last good release: those
# that trust the key run it, the others refuse it as well; a device it never
# reached (its action cancelled while SCHEDULED) keeps sequence 1
for i in $(seq 150); do show "$RB" | grep -Eq "^done( |$)" && break; sleep 0.2; done
RS=$(show "$RB")
check '[ "${RS%% *}" = done ]' "rollback campaign finished: $RS"
ng=$(echo "$RS" | sed -n "s/.*success=\([0-9]*\).*/\1/p")
for i in $(seq 25); do versions guard | grep -q "fw-good/3=${ng:-x}" && break; sleep 0.2; done
check '[ "${ng:-0}" -ge 1 ] && versions guard | grep -q "fw-good/3=$ng" && ! versions guard | grep -q fw-2' \
  "rolled back: $(versions guard), rollback campaign $RS"
check 'grep -q "failure: install refused at envelope" sim-bad.log' "refusals: $(grep -c failure sim-bad.log)"

# --- 2. a dynamic campaign picks up devices imported later ---------------------------
CD=$(create "{\"name\":\"late\",\"release_id\":$R2,\"filter\":{\"group\":\"late\"},\"dynamic\":true}")
check '[ "$(show "$CD")" = running ]' "empty dynamic campaign: $(show "$CD")"
check '[ "$(op $TOK_admin --data-binary @late/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import late"
run_fleet late 2
for i in $(seq 100); do [ "$(show "$CD")" = "running success=2" ] && break; sleep 0.2; done
check '[ "$(show "$CD")" = "running success=2" ] && [ "$(versions late)" = "fw-2/2=2" ]' \
  "late devices picked up: $(show "$CD"), $(versions late)"

# --- 3. a failing health check aborts: real agents -----------------------------------
# four devices with the agent and their own storage (the simulator's image
# always passes its health check): two pass it, two fail it and roll back
HDEVS="hp-1 hp-2 hf-1 hf-2"
head -c 100000 /dev/urandom > fw1.img
"$B" sign --key rel.key --vendor-id $V --class-id $C --sequence 1 --out fw1.bwp fw1.img >/dev/null
for d in $HDEVS; do
  gw_agent_device $d fw1.bwp
  case $d in hp-*) h=true;; *) h="echo 'service did not come up' >&2; false";; esac
  cat > $d/agent.conf <<EOF
device_config = $T/$d/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
attributes = group=health
reboot_command = "$B" boot --config $T/$d/device.conf
health_command = $h
$(timing)
EOF
done
check '[ "$(op $TOK_admin --data-binary @ca/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import health"
for d in $HDEVS; do "$AG" --config $d/agent.conf > $d/agent.log 2>&1 & PIDS="$PIDS $!"; done
for i in $(seq 100); do [ "$(versions health)" = "sequence 1/1=4" ] && break; sleep 0.2; done
check '[ "$(versions health)" = "sequence 1/1=4" ]' "health devices checked in: $(versions health)"
CH=$(create "{\"name\":\"health\",\"release_id\":$R2,\"filter\":{\"group\":\"health\"},
  \"abort_failure_pct\":50,\"abort_min_executed\":4,\"abort_on\":[\"health-check\"],\"rollback_release\":$RG}")
check '[ -n "$CH" ]' "health campaign"
for i in $(seq 150); do [ "$(show "$CH" | cut -d' ' -f1)" = running ] || break; sleep 0.2; done
show "$CH" >/dev/null
check '[ "$(field state)" = rolled_back ] && [ "$(field reason)" = "aborted: 2 of 4 executed actions failed (abort at 50 %)" ]' \
  "health-check abort: $(show "$CH"), $(field reason)"
RH=$(field rollback_campaign)
check 'grep -q "health check failed" hf-1/agent.log' "hf-1 says why: $(tail -2 hf-1/agent.log)"
for i in $(seq 100); do show "$RH" | grep -q "success=2" && break; sleep 0.2; done
check 'show "$RH" | grep -q "success=2" && [ "$(versions health | grep -o "fw-good/3=[0-9]*")" = fw-good/3=2 ]' \
  "healthy devices rolled back to the last good release: $(show "$RH"), $(versions health)"

check '! grep -q "Sanitizer\|runtime error" sim-*.err' "sanitizer report"
echo "fleet_guard: $pass passed, $fail failed"
[ $fail = 0 ]
