#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bulwark benchmarks, each against a reference run in the same script on the
# same data: verify/sign of a 256 MiB package vs `openssl dgst -sha256`,
# envelope verifications/s vs `openssl speed ecdsap256`, peak RSS for 1 MiB
# and 256 MiB packages, and the Cortex-M4 .text size of the device core.
# Then bench/fleet.sh (10,000 simulated devices against one gateway; FLEET=0
# skips it).
# Usage: bench/run.sh BUILD_DIR   (writes bench/results-latest.md)
set -eu
BUILD=$(realpath "${1:-build}")
B=$BUILD/bulwark
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
W=$(mktemp -d "${TMPDIR:-/tmp}/bwbench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
RUNS=${RUNS:-7}

"$B" keygen --out k.pem --pub p.pem >/dev/null
head -c $((1 << 20)) /dev/urandom > img1m
head -c $((256 << 20)) /dev/urandom > img256m
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out pkg1m img1m >/dev/null
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out pkg256m img256m >/dev/null
ENV=$("$B" inspect --json pkg1m | $PY -c 'import json,sys; print(json.load(sys.stdin)["envelope_size"])')
head -c "$ENV" pkg1m > env.cbor

# best wall time of RUNS runs (after one warm-up), in seconds
# ($PRE, if set, runs untimed before each run: e.g. removing the last output)
timeit() {
  "$@" >/dev/null 2>&1
  for ((i = 0; i < RUNS; i++)); do
    [ -n "${PRE:-}" ] && eval "$PRE"
    local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | sort -n | head -1
}
# GNU time reports the child's own peak (python's would count its fork)
peak_rss_kib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

t_ref=$(timeit openssl dgst -sha256 img256m)
t_ver=$(timeit "$B" verify --pub p.pem pkg256m)
t_sign=$(PRE="rm -f pkg-s" timeit "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out pkg-s img256m)
t_sum=$(timeit sha256sum img256m)
# best of three alternating runs of each, 2 s apiece
vps=0 ossl=0
for i in 1 2 3; do
  v=$("$BUILD/bench/bench_envelope" p.pem env.cbor 2)
  o=$(openssl speed -seconds 2 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $NF}')
  vps=$(echo "if ($v > $vps) $v else $vps" | bc -l); ossl=$(echo "if ($o > $ossl) $o else $ossl" | bc -l)
done
rss1=$(peak_rss_kib "$B" verify --pub p.pem pkg1m)
rss256=$(peak_rss_kib "$B" verify --pub p.pem pkg256m)
rm -f pkg-s
rss_sign=$(peak_rss_kib "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out pkg-s img256m)
rss_ossl=$(peak_rss_kib openssl dgst -sha256 img256m)
"$ROOT/scripts/arm-build.sh" "$W/arm" > arm.txt
text=$(awk '/TOTALS/ {print $1}' arm.txt)

ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
ms() { echo "scale=1; $1 * 1000 / 1" | bc -l; }
cpu=$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
{
  echo "Run $(date -u +%Y-%m-%d) on $(nproc) cores ($cpu), $(openssl version | cut -d' ' -f1-2), best of $RUNS runs, files in page cache."
  echo
  echo "| measure | bulwark | reference | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| verify 256 MiB package (wall) | $(ms $t_ver) ms | openssl dgst -sha256: $(ms $t_ref) ms | $(ratio $t_ver $t_ref)x | <= 1.2x |"
  echo "| sign 256 MiB image to a new file (wall) | $(ms $t_sign) ms | openssl dgst -sha256: $(ms $t_ref) ms | $(ratio $t_sign $t_ref)x | <= 1.3x |"
  echo "| (for scale) sha256sum 256 MiB | | $(ms $t_sum) ms | | |"
  echo "| envelope verifications/s (1 core) | $vps | openssl speed ecdsap256 verify: $ossl | $(ratio $vps $ossl)x | >= 0.8x |"
  echo "| peak RSS, verify 1 MiB package | $rss1 KiB | | | < 8 MiB |"
  echo "| peak RSS, verify 256 MiB package | $rss256 KiB | openssl dgst 256 MiB: $rss_ossl KiB | | same as 1 MiB, < 8 MiB |"
  echo "| peak RSS, sign 256 MiB image | $rss_sign KiB | | | |"
  echo "| device core .text, Cortex-M4 -Os | $text B | | | reported |"
} | tee "$ROOT/bench/results-latest.md"

# bench/fleet: 10,000 simulated devices against one gateway (about 6 min;
# FLEET=0 skips it). Writes bench/results-fleet-latest.md.
if [ "${FLEET:-1}" != 0 ]; then
  "$ROOT/bench/fleet.sh" "$BUILD" || echo "bench/fleet.sh failed" >&2
fi
