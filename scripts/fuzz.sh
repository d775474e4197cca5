#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libFuzzer campaigns with ASan+UBSan on every parser target, two at a time
# (one per core). New inputs that add coverage are merged into the committed
# corpus (fuzz/corpus/TARGET), which `make test` replays. Execution counts
# land in build-fuzz/fuzz-report.txt for docs/fuzzing.md.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-600}; shift || true
targets=("$@"); [ ${#targets[@]} = 0 ] && targets=(cbor suit cose pkg)
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBW_SANITIZE=ON -DBW_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
report=build-fuzz/fuzz-report.txt
: > "$report"
campaign() {
  local t=$1 work=build-fuzz/work-$1
  rm -rf "$work"; mkdir -p "$work"
  ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/crash-$t-" "$work" "fuzz/corpus/$t" \
    > "build-fuzz/fuzz-$t.log" 2>&1
  local rc=$?
  local runs; runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/fuzz-$t.log" | grep -o '[0-9]*$')
  echo "$t: exit $rc, ${runs:-?} executions in ${secs}s" >> "$report"
  # keep only inputs that add coverage
  mkdir -p "build-fuzz/merged-$t"
  build-fuzz/fuzz/fuzz_$t -merge=1 "build-fuzz/merged-$t" "fuzz/corpus/$t" "$work" >/dev/null 2>&1 || true
  return $rc
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  campaign "${targets[i]}" & a=$!
  b=
  if [ $((i + 1)) -lt ${#targets[@]} ]; then campaign "${targets[i + 1]}" & b=$!; fi
  wait $a || status=1
  [ -n "$b" ] && { wait $b || status=1; }
done
for t in "${targets[@]}"; do
  if [ -d "build-fuzz/merged-$t" ] && [ -n "$(ls -A "build-fuzz/merged-$t")" ]; then
    # add what raised coverage; the named seeds stay (they document cases)
    cp -n "build-fuzz/merged-$t"/* "fuzz/corpus/$t/"; rm -rf "build-fuzz/merged-$t"
  fi
done
cat "$report"
exit $status
