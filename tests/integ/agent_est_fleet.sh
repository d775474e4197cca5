#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A fleet renews its operational certificates through the gateway while a
# fifth of the requests are lost (docs/identity.md, "Enrollment and
# renewal"): N simulated devices (bulwark-agent --simulate N, default
# 10000) with identities minted by the simulator, enroll = true, the
# gateway issuing LIFETIME-second certificates (compressed from 30 days)
# and taking only operational certificates on the device API. --drop 20
# loses 20 % of all requests, half before the gateway sees them and half
# after it answered (certificates issued and never received). Each device
# enrolls, then renews at two thirds of the lifetime with its spread and
# back-off. Passes when at least 99.9 % of the devices renewed before
# their certificate expired and none is left without a valid one.
# Usage: agent_est_fleet.sh BULWARK GATEWAY AGENT [N [LIFETIME [SPREAD]]]
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
N=${4:-10000}; L=${5:-900}; S=${6:-450}
# keys, certificates and the registry in memory when it can: the disk's
# fsyncs are not what this measures
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
gw_begin; [ -n "${KEEP:-}" ] && trap "" EXIT
gw_server_cert
gw_operators admin
"$B" keygen --out rel.key --pub rel.pub >/dev/null
"$B" device init --dir tmpl --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
gw_est_ca
sim_conf() {
  cat <<EOF2
device_config = $T/tmpl/device.conf
gateway = ${U:-https://127.0.0.1:0}
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/state
enroll = true
poll_min = 3600
poll_max = 3600
retry_min = 1
retry_max = 8
jitter = 20
timeout = 10
request_timeout = 30
EOF2
}
sim_conf > sim.conf
t0=$(date +%s)
"$AG" --simulate $N --config sim.conf --fleet-dir fleet --ca-dir ca --threads 4 --prepare > prep.log 2>&1
check '[ $? = 0 ] && [ "$(wc -l < fleet/registry.jsonl)" = $N ]' "prepare: $(tail -2 prep.log)"
echo "identities: $(( $(date +%s) - t0 )) s"
GW_THREADS=${GW_THREADS:-1} gw_start "$T/ca/ca.crt" "token_audience = $AUD" "est_ca_cert = $T/opca.crt" \
  "est_ca_key = $T/opca.key" "est_lifetime = $L" "require_operational_cert = true" \
  "poll_interval = 3600" "max_per_address = 100000" "max_body = 33554432"
check '[ "$(op $TOK_admin --data-binary @fleet/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
sim_conf > sim.conf
# enrollments spread over S s; each renews from 0.57 L to 0.67 L after;
# the run ends once every device renewed (--until-renewed), at the latest
# when the last one enrolled on time would have lapsed
D=$(( S + L + 30 ))
t0=$(date +%s)
"$AG" --simulate $N --config sim.conf --fleet-dir fleet --ca-dir ca --threads ${SIM_THREADS:-16} --drop 20 \
  --spread $S --duration $D --until-renewed --json > sim.out 2> sim.err
echo "simulation: $(( $(date +%s) - t0 )) s: $(cat sim.out | tr '\n' ' ')"
R=$(sed -n 's/.*"renewed_in_time":\([0-9]*\).*/\1/p' sim.out)
LO=$(sed -n 's/.*"locked_out":\([0-9]*\).*/\1/p' sim.out)
check '[ -n "$R" ] && [ $(( R * 1000 )) -ge $(( N * 999 )) ]' "renewed in time: $R of $N (want 99.9 %)"
check '[ "$LO" = 0 ]' "locked out: $LO"
kill $GPID; wait $GPID 2>/dev/null
check '! grep -q "runtime error\|Sanitizer" gw.err sim.err' "sanitizer reports"
echo "agent_est_fleet: $pass passed, $fail failed"
[ "$fail" = 0 ]
