#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# EST enrollment rate (RFC 7030, docs/identity.md "Enrollment and
# renewal"): operational certificates issued by bulwark-gateway per
# second, against the openssl command line issuing the same certificates
# (openssl x509 -req in a loop, same CSR, same run).
#  - curl, one at a time: a device (file-backed IDevID) POSTs its CSR to
#    /.well-known/est/simpleenroll with curl, a new TLS connection each
#    (what a field device does), N times;
#  - the fleet simulator: M devices (file-backed keys) enroll at once over
#    8 threads (bulwark-agent --simulate M --once, enroll = true: CSR,
#    simpleenroll, confirmation with the new certificate, one check-in);
#  - bulwark-agent --once, one device, one enrollment a run, K runs each
#    with its operational key file-backed and in swtpm (TPM-backed: the
#    TPM signs the CSR and the TLS handshakes of the confirmation and the
#    check-in): op.crt removed before each run, so each is a
#    simpleenroll with the IDevID, the confirmation and one check-in over
#    mTLS with the new certificate (three TLS connections, a process start);
#  - openssl x509 -req -CA of the same CSR, N times.
# The gateway runs on SQLite with 2 threads on loopback.
#
#   bench/est.sh            # N=200, M=500, K=30
#
# Writes bench/results-est-latest.md. BUILD names the build directory.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MAIN=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$MAIN/build}
B=$(realpath "$BUILD/bulwark"); GW=$(realpath "$BUILD/bulwark-gateway")
AG=$(realpath "$BUILD/bulwark-agent"); EXPORT=$(realpath "$BUILD/tests/devkey_pem")
N=${N:-200}
M=${M:-500}
K=${K:-30}
OUT=${OUT:-$HERE/results-est-latest.md}
. "$MAIN/tests/integ/gwlib.sh"
. "$MAIN/tests/integ/swtpmlib.sh"
gw_begin
swtpm_start
now() { date +%s.%N; }
rate() { echo "scale=1; $1 / ($3 - $2)" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }

gw_server_cert
gw_devices dev-1 dev-a
gw_operators admin
gw_est_ca
"$B" device init --dir tmpl --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
# the simulator's identities first: the gateway trusts their CA too
cat > sim.conf <<EOF2
device_config = $T/tmpl/device.conf
gateway = https://127.0.0.1:1
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/state
EOF2
"$AG" --simulate "$M" --config sim.conf --fleet-dir fleet --ca-dir simca --threads 2 --prepare >/dev/null 2>&1
cat factory/ca.crt simca/ca.crt > clientca.pem
gw_start "$T/clientca.pem" "token_audience = $AUD" "est_ca_cert = $T/opca.crt" "est_ca_key = $T/opca.key" \
  "max_body = 33554432" "max_per_address = 100000" "token_device_quota = 100000"
op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import >/dev/null
op $TOK_admin --data-binary @fleet/registry.jsonl $U/api/v1/devices/import >/dev/null
op $TOK_admin -H "Content-Type: application/json" --data '{"status":"accepted"}' \
  $U/api/v1/devices/dev-a/status >/dev/null
openssl req -new -key dev-1/tls.key -subj "/CN=dev-1" -outform DER 2>/dev/null | base64 > csr.b64
openssl req -new -key dev-1/tls.key -subj "/CN=dev-1" -out csr.pem 2>/dev/null

# ---- curl, one at a time
t0=$(now); okc=0
for i in $(seq 1 "$N"); do
  [ "$(req --cert dev-1/state/device.crt --key dev-1/tls.key -H "Content-Type: application/pkcs10" \
       --data-binary @csr.b64 $U/.well-known/est/simpleenroll)" = 200 ] && okc=$((okc + 1))
done
t1=$(now)
curl_rate=$(rate "$okc" "$t0" "$t1")

# ---- the fleet simulator, M devices at once
sed -i "s|^gateway = .*|gateway = $U|" sim.conf
printf 'enroll = true\npoll_min = 3600\npoll_max = 3600\n' >> sim.conf
t0=$(now)
"$AG" --simulate "$M" --config sim.conf --fleet-dir fleet --ca-dir simca --threads 8 --once > sim.out 2>&1
t1=$(now)
sim_enrolled=$(sed -n 's/.*"enrolled":\([0-9]*\).*/\1/p' sim.out)
sim_rate=$(rate "${sim_enrolled:-0}" "$t0" "$t1")

# ---- bulwark-agent --once, K enrollments one at a time, per key backend
agent_rate() { # OP_KEY: enrollments per second over K runs (one.out: the log)
  local i ok=0 t0 t1
  cat > one.conf <<EOF2
device_config = $T/dev-a/device.conf
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
state_dir = $T/one
enroll = true
op_key = $1
EOF2
  rm -rf one
  t0=$(now)
  for i in $(seq 1 "$K"); do
    rm -f one/op.crt one/op.retry
    "$AG" --config one.conf --once >> one.out 2>&1 && [ -s one/op.crt ] && ok=$((ok + 1))
  done
  t1=$(now)
  rate "$ok" "$t0" "$t1"
}
file_rate=$(agent_rate "file:$T/opfile.key?storage-key=$T/dev-a/state/storage.key")
file_ok=$(grep -c "new certificate confirmed" one.out)
: > one.out
tpm_rate=$(agent_rate "tpm:tcti=$TPM_TCTI;handle=0x81000040")
tpm_ok=$(grep -c "new certificate confirmed" one.out)

# ---- the openssl command line: the same CSR, N certificates
t0=$(now)
for i in $(seq 1 "$N"); do
  openssl x509 -req -in csr.pem -CA opca.crt -CAkey opca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days 30 -out o.crt 2>/dev/null
done
t1=$(now)
ossl_rate=$(rate "$N" "$t0" "$t1")
kill $GPID; wait $GPID 2>/dev/null; [ -z "${KEEP_LOG:-}" ] || cp one.out gw.err "$KEEP_LOG"/

{
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores, $(openssl version | cut -d' ' -f1-2), gateway on SQLite with 2 threads"
  echo
  echo "| measure | rate | ratio to openssl x509 -req |"
  echo "|---|---|---|"
  echo "| EST simpleenroll with curl, one at a time, new TLS connection each ($okc of $N, file-backed IDevID) | $curl_rate /s | $(ratio "$curl_rate" "$ossl_rate")x |"
  echo "| EST with the fleet simulator, $M devices at once over 8 threads (${sim_enrolled:-0} enrolled, file-backed keys; CSR, enroll, confirm, one check-in each) | $sim_rate /s | $(ratio "$sim_rate" "$ossl_rate")x |"
  echo "| bulwark-agent --once, one enrollment a run (simpleenroll, confirm, one check-in), file-backed operational key ($file_ok of $K) | $file_rate /s | $(ratio "$file_rate" "$ossl_rate")x |"
  echo "| the same, operational key in a TPM (swtpm; CSR and mTLS handshakes signed by the TPM) ($tpm_ok of $K) | $tpm_rate /s | $(ratio "$tpm_rate" "$ossl_rate")x |"
  echo "| openssl x509 -req -CA, the same CSR, $N times (reference) | $ossl_rate /s | 1x |"
} > "$OUT"
cat "$OUT"
