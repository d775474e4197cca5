#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the device core (everything in src/ but the crypto backends, which
# it reaches only through crypto.h) for Cortex-M4 with arm-none-eabi-gcc -Os, the way an RTOS
# project would: a plain compiler line per file, no CMake. Prints the
# .text/.data/.bss of each object and the total. Usage: arm-build.sh OUTDIR
set -eu
cd "$(dirname "$0")/.."
out=${1:-build-arm}
mkdir -p "$out"
CC=arm-none-eabi-gcc
FLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -std=c11 -ffunction-sections -fdata-sections
       -Wall -Wextra -Werror -Iinclude"
objs=()
for f in $(ls src/*/*.c | grep -v '^src/crypto/'); do
  o="$out/$(basename "${f%.c}").o"
  $CC $FLAGS -c "$f" -o "$o"
  objs+=("$o")
done
arm-none-eabi-size -t "${objs[@]}" | tee "$out/size.txt"
# Undefined symbols must be only the crypto interface and libc basics.
$CC -mcpu=cortex-m4 -mthumb -r -nostdlib -o "$out/bulwark-core.o" "${objs[@]}"
undef=$(arm-none-eabi-nm -u "$out/bulwark-core.o" | awk '{print $2}' | sort -u | grep -v -E '^(bw_(sha256|ec_|random|aes256gcm|hkdf)|memcpy|memset|memcmp|memchr|strlen|strcmp|strcpy|__aeabi_.*)' || true)
if [ -n "$undef" ]; then echo "unexpected external symbols: $undef" >&2; exit 1; fi
echo "device core: external symbols are the crypto interface and libc only"
