#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The agent enrolls and renews its operational certificate over EST
# (agent/est.c) against the real gateway, with a 60 s lifetime and
# require_operational_cert = true (the birth certificate only enrolls):
#  1. the first cycle enrolls (simpleenroll with the IDevID) for a key it
#     generates in its file backend, confirms the certificate with an
#     authenticated request, then checks in with it;
#  2. not yet at two thirds: nothing is renewed;
#  3. past two thirds (the policy clock moved 45 s on): renewed with
#     simplereenroll, for the same operational key, and used;
#  4. the gateway down at renewal time: the cycle fails, the old
#     certificate stays, a back-off is recorded; the gateway back, the
#     device is served with the old certificate during the back-off, and
#     renews once it is over;
#  5. a candidate that the gateway does not take as operational (here
#     the birth certificate left as op.crt.new) is dropped, never promoted.
# Usage: agent_est.sh BULWARK GATEWAY AGENT
set -u
. "$(dirname "$0")/gwlib.sh"
. "$(dirname "$0")/agentlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); AG=$(realpath "$3")
gw_begin
agent_est_setup "file:$T/op.key?storage-key=$T/dev/state/storage.key"

# 1. enroll, confirm, check in with it
run; rc=$?
check '[ $rc = 0 ]' "first cycle: exit $rc: $(tail -3 agent.out)"
check '[ -s state/op.crt ] && [ ! -e state/op.crt.new ]' "no operational certificate after the first cycle"
check 'openssl verify -CAfile opca.crt state/op.crt >/dev/null' "op.crt does not verify against the operational CA"
check 'openssl x509 -in state/op.crt -noout -subject | grep -q "CN *= *dev-1"' "op.crt is not dev-1's"
check '[ -s op.key ]' "the operational key was not generated"
check '! cmp -s <(openssl x509 -in state/op.crt -noout -pubkey) <(openssl x509 -in dev/state/device.crt -noout -pubkey)' \
  "the operational key is the device key"
check '[ -n "$(seen)" ] && [ "$(seen)" != 0 ]' "dev-1 never checked in"
check 'grep -q "enrollment: new certificate confirmed" agent.out' "no confirmation said"
S1=$(serial)

# 2. not due
run; rc=$?
check '[ $rc = 0 ] && [ "$(serial)" = "$S1" ]' "renewed before two thirds (exit $rc)"

# 3. past two thirds: renewed, same key
K1=$(openssl x509 -in state/op.crt -noout -pubkey)
BULWARK_AGENT_CLOCK=$(( $(date +%s) + 45 )) run; rc=$?
S2=$(serial)
check '[ $rc = 0 ] && [ -n "$S2" ] && [ "$S2" != "$S1" ]' "not renewed at two thirds (exit $rc): $(tail -3 agent.out)"
check 'grep -q "enrollment: renewed certificate confirmed" agent.out' "renewal not said"
check '[ "$(openssl x509 -in state/op.crt -noout -pubkey)" = "$K1" ]' "renewal changed the key"

# 4. gateway down at renewal time: old certificate kept, back-off (the
# same policy time F for both cycles: the second falls in the back-off of
# at most 3 s; F + 5 is past it)
kill $GPID; wait $GPID 2>/dev/null
F=$(( $(date +%s) + 45 ))
BULWARK_AGENT_CLOCK=$F run; rc=$?
check '[ $rc = 75 ] && [ "$(serial)" = "$S2" ] && [ ! -e state/op.crt.new ]' \
  "gateway down: exit $rc, serial $(serial) (want 75, $S2)"
check '[ -s state/op.retry ]' "no back-off recorded"
gw_start "$T/factory/ca.crt" "${CONF[@]}"
before=$(seen)
sleep 1
BULWARK_AGENT_CLOCK=$F run; rc=$?
check '[ $rc = 0 ] && [ "$(serial)" = "$S2" ] && [ "$(seen)" -gt "$before" ]' \
  "during the back-off: exit $rc, serial $(serial), served $(seen) > $before"
BULWARK_AGENT_CLOCK=$(( F + 5 )) run; rc=$?
check '[ $rc = 0 ] && [ "$(serial)" != "$S2" ] && [ ! -e state/op.retry ]' \
  "after the back-off: exit $rc, serial $(serial)"
S3=$(serial)

# 5. a candidate the gateway does not take as operational is dropped
cp dev/state/device.crt state/op.crt.new
run; rc=$?
check '[ $rc = 0 ] && [ ! -e state/op.crt.new ] && [ "$(serial)" = "$S3" ]' \
  "birth certificate promoted as operational (exit $rc, serial $(serial)): $(tail -12 agent.out)"

kill $GPID; wait $GPID 2>/dev/null
check '! grep -q "runtime error\|Sanitizer" gw.err agent.out' "sanitizer reports"
echo "agent_est: $pass passed, $fail failed"
[ "$fail" = 0 ]
