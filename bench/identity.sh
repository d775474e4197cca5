#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Identity benchmarks: provisioning rate (devices/s) with the file and the
# TPM backend (swtpm, started here on loopback), against openssl doing the
# same per-device work in this script (key, CSR, CA-signed certificate);
# the cost of one Argon2id password check; security-log appends/s.
#
#   bench/identity.sh           # N=100 file devices, NT=20 TPM devices
#
# Writes bench/results-identity-latest.md. BUILD names the build directory.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MAIN=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$MAIN/build}
B=$BUILD/bulwark
N=${N:-100}
NT=${NT:-20}
OUT=${OUT:-$HERE/results-identity-latest.md}
W=$(mktemp -d)
SWTPM_PID=
trap '[ -n "$SWTPM_PID" ] && kill $SWTPM_PID 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
now() { date +%s.%N; }
rate() { echo "scale=1; $1 / ($3 - $2)" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }

# ---- reference: the same per-device work with the openssl command line
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -new -x509 -key ca.key -subj "/O=ref/CN=ref CA" -days 3650 -out ca.crt 2>/dev/null
t0=$(now)
for i in $(seq 1 "$N"); do
  openssl ecparam -name prime256v1 -genkey -noout -out d.key 2>/dev/null
  openssl req -new -key d.key -subj "/O=ref/CN=dev-$i" -out d.csr 2>/dev/null
  openssl x509 -req -in d.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days 7300 -out d.crt 2>/dev/null
done
t1=$(now)
ref_rate=$(rate "$N" "$t0" "$t1")

# ---- bulwark, file backend: default Argon2id cost, then the key/cert part alone
t0=$(now); "$B" provision --ca-dir ca1 --count "$N" --out f1 >/dev/null 2>&1 || exit 1; t1=$(now)
file_rate=$(rate "$N" "$t0" "$t1")
t0=$(now); "$B" provision --ca-dir ca2 --count "$N" --out f2 --argon2 1,8,1 >/dev/null 2>&1 || exit 1; t1=$(now)
file_rate_nokdf=$(rate "$N" "$t0" "$t1")

# ---- bulwark, TPM backend on swtpm (one TPM, a persistent handle per device:
# the CA certifies a key for one id only, so one handle cannot serve them all)
tpm_row="| provision, TPM backend (swtpm) | not run: swtpm missing | | | |"
if command -v swtpm >/dev/null; then
  mkdir tpm
  for try in $(seq 1 20); do  # a random free port pair
    P=$((20000 + ($(od -An -N2 -tu2 /dev/urandom) % 20000) * 2))
    swtpm socket --tpm2 --tpmstate dir="$W/tpm" --server type=tcp,port=$P,bindaddr=127.0.0.1 \
      --ctrl type=tcp,port=$((P + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
      --daemon --pid file="$W/swtpm.pid" 2>/dev/null && break
  done
  SWTPM_PID=$(cat swtpm.pid)
  for i in $(seq 1 "$NT"); do
    printf 'tpm-%s,tpm:tcti=swtpm:host=127.0.0.1,port=%s;handle=0x%x\n' "$i" "$P" $((0x81000010 + i))
  done > tpm.csv
  t0=$(now); "$B" provision --ca-dir ca3 --from-csv tpm.csv --out t1 --force >/dev/null 2>err.txt || { cat err.txt; exit 1; }; t1=$(now)
  tpm_rate=$(rate "$NT" "$t0" "$t1")
  tpm_row="| provision, TPM backend (swtpm, $NT devices) | $tpm_rate devices/s | $ref_rate devices/s | $(ratio "$tpm_rate" "$ref_rate")x | |"
fi

{
  echo "Identity benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, $(openssl version | cut -d' ' -f1-2)."
  echo
  echo "| measure | bulwark | reference (openssl CLI: key + CSR + cert per device) | ratio | note |"
  echo "|---|---|---|---|---|"
  echo "| provision, file backend ($N devices, Argon2id 2/19 MiB) | $file_rate devices/s | $ref_rate devices/s | $(ratio "$file_rate" "$ref_rate")x | includes one password hash per device |"
  echo "| provision, file backend, key + cert only ($N devices) | $file_rate_nokdf devices/s | $ref_rate devices/s | $(ratio "$file_rate_nokdf" "$ref_rate")x | Argon2id at its minimum cost |"
  echo "$tpm_row"
  echo
  echo "| measure | bulwark (bwh_cred_check_hash) | direct libargon2 call | ratio |"
  echo "|---|---|---|---|"
  "$BUILD/bench/bench_cred" 9
  "$BUILD/bench/bench_cred" 5 3 65536 1
  if [ -x "$BUILD/bench/bench_log" ]; then
    echo
    "$BUILD/bench/bench_log"
  fi
} | tee "$OUT"
