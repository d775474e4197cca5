#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The MPS2 port's numbers for bench/README.md: flash and static RAM by
# origin (mps2-footprint.sh), peak stack (painted) and mbedtls heap of the
# bootloader and of an install, and the verification of a full 256 KiB bank
# in instructions (QEMU -icount shift=0), by the core and by mbedtls alone.
# Usage: mps2-bench.sh BUILDDIR   (after the mcu.build test: BUILDDIR/mps2)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
b=$(cd "$1" && pwd)
fw=$b/mps2/fw key=$b/mps2/key.pem
"$root/scripts/mps2-build.sh" "$fw" "$b/mps2/key.pub" >/dev/null
t=$(mktemp -d); [ -n "${BW_KEEP:-}" ] || trap 'rm -rf "$t"' EXIT; cd "$t"
pad() { { cat "$fw/app_$1.bin"; head -c $((262144)) /dev/zero; } | head -c "$2" > "img_$1.bin"; }
sign() { "$b/bulwark" sign --key "$key" --vendor-id 6b8a1c3e-0d7f-4e6a-9a51-0b3f2c7d8e90 \
  --class-id 3f0e9a2b-5c61-4d7e-8f03-2a1b4c5d6e7f --sequence "$2" --out "$1.suit" "img_$1.bin" >/dev/null; }
Q=(qemu-system-arm -M mps2-an386 -display none -monitor none -serial null
   -semihosting-config enable=on,target=native -no-reboot -icount shift=0)
pad b 262144; sign b 1
"$b/tests/mps2-factory" mps2-flash.img "$b/mps2/key.pub" b.suit >/dev/null
echo confirm > mps2.cmd
"${Q[@]}" -kernel "$fw/boot_bench.elf" 2>&1 | grep -E "^bench:|stack_peak"
pad a 200000; sign a 2
echo "install a.suit" > mps2.cmd
"${Q[@]}" -kernel "$fw/boot.elf" 2>&1 | grep -E "^install:|^app: stack_peak"
"$root/scripts/mps2-footprint.sh" "$fw"
