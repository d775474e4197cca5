#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Flash and static RAM of the MPS2 images by origin, from the linker maps
# scripts/mps2-build.sh leaves: bulwark (the core in src/, the crypto glue
# crypto_mbedtls.c, the board in port/mps2/), mbed TLS, and newlib/libgcc.
# Flash is .text + .rodata (+ .data's initial values); RAM is .data + .bss
# without the stack, which is reported by the firmware itself (painted
# stack, "stack_peak=" lines). Usage: mps2-footprint.sh FWDIR
set -eu
fw=$1
for img in boot boot_sig app_a; do
  awk -v img="$img" '
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^ \.(vectors|text|rodata|data|bss|ARM\.exidx)/ {
      sec = $1; if (NF >= 4) { addr = $2; size = $3; file = $4 } else { pend = 1; next }
      take(); next }
    pend && NF >= 3 && $1 ~ /^0x/ { addr = $1; size = $2; file = $3; pend = 0; take(); next }
    { pend = 0 }
    function hex(h,   i, v) {
      v = 0; h = tolower(substr(h, 3))
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v
    }
    function take(   n, who, kind) {
      n = hex(size); if (n == 0) return
      if (file ~ /libmbedcrypto\.a/) who = "mbedtls"
      else if (file ~ /crypto_mbedtls\.o/) who = "glue"
      else if (file ~ /libbulwark\.a/) who = "core"
      else if (file ~ /\/board\//) who = "board"
      else who = "libc"
      kind = (sec ~ /^\.(bss|data)/) ? "ram" : "flash"
      if (sec ~ /^\.data/) t["flash", who] += n
      t[kind, who] += n
    }
    END {
      split("core glue board mbedtls libc", w, " ")
      printf "%s:", img
      for (i = 1; i <= 5; i++) printf " %s=%d/%d", w[i], t["flash", w[i]], t["ram", w[i]]
      printf "  (flash/static RAM bytes)\n"
    }' "$fw/$img.map"
done
