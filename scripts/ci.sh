#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Everything CI checks, runnable locally: gcc and clang builds with
# -Wall -Wextra -Werror and all tests, an ASan+UBSan build with all tests
# (which replays the fuzz corpora), the Cortex-M4 build of the device core.
# The 256 MiB round trip (label "slow") and the hostile-load suite (label
# "hostile", tests/hostile/) and the Cortex-M emulator runs (label
# "emulator", tests/mcu/) and the TUF client suite (label "heavy",
# tests/tuf/) run once, in the gcc build.
set -eu
cd "$(dirname "$0")/.."
JOBS=$(nproc)
summary=()
total=0
set -o pipefail
run() { # run NAME CC CMAKE_ARGS... ; builds in build-NAME and runs ctest
  local name=$1 cc=$2; shift 2
  echo "=== $name: configure and build"
  CC=$cc cmake -S . -B "build-$name" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBW_WERROR=ON "$@" >/dev/null
  cmake --build "build-$name" -j"$JOBS"
  echo "=== $name: test"
  (cd "build-$name" && ctest --output-on-failure -j"$JOBS" ${CTEST_ARGS:-}) | tee "build-$name/ctest.log"
  local n; n=$(grep -o 'tests failed out of [0-9]*' "build-$name/ctest.log" | grep -o '[0-9]*$')
  total=$((total + n))
  summary+=("$name: $n tests passed")
}
CTEST_ARGS= run gcc gcc
CTEST_ARGS="-LE slow|hostile|emulator|heavy" run clang clang
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  CTEST_ARGS="-LE slow|hostile|emulator|heavy" run asan clang -DBW_SANITIZE=ON -DBW_FUZZ=ON
echo "=== cortex-m4: device core with arm-none-eabi-gcc -Os"
scripts/arm-build.sh build-arm
summary+=("cortex-m4: device core built")
total=$((total + 1))
printf '%s\n' "${summary[@]}"
echo "$total passed, 0 failed"
