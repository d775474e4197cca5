#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the device core (core, cbor, cose, suit, update; crypto only through its
# interface) for Cortex-M4 with arm-none-eabi-gcc -Os, the way an RTOS
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
for f in src/core/core.c src/core/err.c src/cbor/cbor.c src/cose/cose.c src/suit/suit.c src/suit/suit_build.c \
         src/update/update.c src/update/install.c src/update/bootstate.c src/update/bootstate_kv.c; do
  o="$out/$(basename "${f%.c}").o"
  $CC $FLAGS -c "$f" -o "$o"
  objs+=("$o")
done
arm-none-eabi-size -t "${objs[@]}" | tee "$out/size.txt"
# Undefined symbols must be only the crypto interface and libc basics.
$CC -mcpu=cortex-m4 -mthumb -r -nostdlib -o "$out/bulwark-core.o" "${objs[@]}"
undef=$(arm-none-eabi-nm -u "$out/bulwark-core.o" | awk '{print $2}' | sort -u | grep -v -E '^(bw_(sha256|ec_|random|aes256gcm|hkdf)|memcpy|memset|memcmp|strlen|strcmp|strcpy|__aeabi_.*)' || true)
if [ -n "$undef" ]; then echo "unexpected external symbols: $undef" >&2; exit 1; fi
echo "device core: external symbols are the crypto interface and libc only"
