#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The agent's operational key in a token or a TPM (agent/est.c, TLS through
# host/tlskey.c): with op_key in softhsm2 (pkcs11) or in swtpm (tpm), the
# agent generates the key there, enrolls (CSR signed in the backend), then
# confirms and checks in over mTLS whose handshake the backend signs, and
# renews with simplereenroll authenticated by that key. pkcs11 only: a
# wrong PIN fails the cycle with the old certificate kept, and the right
# PIN back, the device renews.
# First, test_tlskey (tests/unit/test_tlskey.c) on a second key of the same
# backend: OpenSSL signatures through it verify.
# Usage: agent_est_keys.sh pkcs11|tpm BULWARK GATEWAY AGENT TEST_TLSKEY
set -u
KIND=$1
D=$(dirname "$(realpath "$0")")
B=$(realpath "$2"); GW=$(realpath "$3"); AG=$(realpath "$4"); TK=$(realpath "$5")
case $KIND in
pkcs11)
  . "$D/softhsmlib.sh" # its own temp dir H, for the token
  H=$T
  token op
  ;;
tpm) H= ;;
*) echo "usage: agent_est_keys.sh pkcs11|tpm BULWARK GATEWAY AGENT TEST_TLSKEY"; exit 2 ;;
esac
. "$D/gwlib.sh"
. "$D/agentlib.sh"
. "$D/swtpmlib.sh"
gw_begin
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T" ${H:+"$H"}' EXIT
if [ "$KIND" = pkcs11 ]; then
  OPKEY="pkcs11:module=$module;token=op;object=op;pin-source=$T/pin"
  TLSKEY="pkcs11:module=$module;token=op;object=tlskey;pin-source=$T/pin"
  echo 1234 > pin
else
  swtpm_start
  OPKEY="tpm:tcti=$TPM_TCTI;handle=0x81000030"
  TLSKEY="tpm:tcti=$TPM_TCTI;handle=0x81000031"
fi
check '"$TK" "$TLSKEY" > tlskey.out 2>&1' "test_tlskey on $KIND: $(cat tlskey.out)"
agent_est_setup "$OPKEY"

# 1. the key generated in the backend, enrolled, confirmed, checked in with
run; rc=$?
check '[ $rc = 0 ] && [ -s state/op.crt ] && [ ! -e state/op.crt.new ]' \
  "$KIND: first cycle: exit $rc: $(tail -3 agent.out)"
check 'openssl verify -CAfile opca.crt state/op.crt >/dev/null' "op.crt does not verify"
check '! cmp -s <(openssl x509 -in state/op.crt -noout -pubkey) <(openssl x509 -in dev/state/device.crt -noout -pubkey)' \
  "the operational key is the device key"
check 'grep -q "enrollment: new certificate confirmed" agent.out' "no confirmation said"
S1=$(serial); K1=$(openssl x509 -in state/op.crt -noout -pubkey)
before=$(seen)
sleep 1
run; rc=$?
check '[ $rc = 0 ] && [ "$(serial)" = "$S1" ] && [ "$(seen)" -gt "$before" ]' \
  "$KIND: check-in with the operational certificate: exit $rc, seen $(seen) > $before"

# 2. past two thirds: simplereenroll over mTLS with the backend's key, same key
BULWARK_AGENT_CLOCK=$(( $(date +%s) + 45 )) run; rc=$?
S2=$(serial)
check '[ $rc = 0 ] && [ -n "$S2" ] && [ "$S2" != "$S1" ]' "$KIND: not renewed (exit $rc): $(tail -3 agent.out)"
check '[ "$(openssl x509 -in state/op.crt -noout -pubkey)" = "$K1" ]' "renewal changed the key"

# 3. pkcs11: a wrong PIN is refused, the old certificate kept; the right
# PIN back, the next due renewal goes through
if [ "$KIND" = pkcs11 ]; then
  echo 9999 > pin
  F=$(( $(date +%s) + 45 ))
  BULWARK_AGENT_CLOCK=$F run; rc=$?
  check '[ $rc != 0 ] && [ "$(serial)" = "$S2" ] && [ ! -e state/op.crt.new ]' \
    "wrong PIN: exit $rc, serial $(serial) (want $S2 kept)"
  echo 1234 > pin
  rm -f state/op.retry
  BULWARK_AGENT_CLOCK=$F run; rc=$?
  check '[ $rc = 0 ] && [ "$(serial)" != "$S2" ]' "right PIN back: exit $rc: $(tail -3 agent.out)"
fi

kill $GPID; wait $GPID 2>/dev/null
check '! grep -q "runtime error\|Sanitizer" gw.err agent.out' "sanitizer reports"
echo "agent_est_keys $KIND: $pass passed, $fail failed"
[ "$fail" = 0 ]
