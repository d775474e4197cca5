#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Flash and static RAM of the MPS2 images by origin: bulwark (the core in
# src/, the crypto glue crypto_mbedtls.c, the board in port/mps2/), mbed
# TLS, and newlib/libgcc. The bootloaders are linked with LTO, so objects
# no longer say where a byte came from: each symbol is attributed by the
# source file its debug line names (nm -l); a symbol without one (static
# tables after LTO) by the non-LTO object that defines the same name (the
# updater's objects in FWDIR/{core,mbedtls,board}), else to the board
# (boot.c's own tables). Functions inlined across files count for their
# caller's file. Flash is text + read-only data symbols, RAM is data + bss
# without the stack, which the firmware reports itself (painted stack,
# "stack_peak=" lines). The totals are arm-none-eabi-size's (size.txt);
# the split leaves out alignment padding. Usage: mps2-footprint.sh FWDIR
set -eu
fw=$1
root=$(cd "$(dirname "$0")/.." && pwd)
names=$(mktemp); trap 'rm -f "$names"' EXIT
for d in core mbedtls board; do
  for o in $(find "$fw/$d" -name '*.o' 2>/dev/null); do
    case $o in */crypto_mbedtls.o) who=glue ;; */core/*) who=core ;; */mbedtls/*) who=mbedtls ;; *) who=board ;; esac
    arm-none-eabi-nm --defined-only "$o" 2>/dev/null | awk -v w="$who" 'NF == 3 { print $3, w }'
  done
done > "$names"
for img in boot boot_sig app_a; do
  arm-none-eabi-nm -S -l --defined-only "$fw/$img.elf" | awk -v img="$img" -v root="$root" '
    FNR == NR { if (!($1 in by)) by[$1] = $2; else if (by[$1] != $2) by[$1] = "board"; next }
    NF < 4 || $2 !~ /^[0-9a-f]+$/ { next }
    function hex(h,   i, v) {
      v = 0; h = tolower(h)
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v
    }
    {
      n = hex($2); t = $3; name = $4; file = (NF >= 5) ? $5 : ""
      if (name ~ /^_stack_/ || n == 0) next
      sub(/\.(lto_priv|constprop|isra|part)\..*$/, "", name)
      if (file ~ /crypto_mbedtls\.c/) who = "glue"
      else if (file ~ /newlib|libgcc|gcc-arm-none-eabi/) who = "libc"
      else if (index(file, root "/src/") == 1) who = "core"
      else if (file ~ /mbedtls/) who = "mbedtls"
      else if (file ~ /port\/mps2\//) who = "board"
      else if (file != "") who = "libc"
      else if (name in by) who = by[name]
      else who = "board"
      kind = (t ~ /^[bBdD]$/) ? "ram" : "flash"
      if (t ~ /^[dD]$/) f["flash", who] += n
      f[kind, who] += n
    }
    END {
      split("core glue board mbedtls libc", w, " ")
      printf "%s:", img
      for (i = 1; i <= 5; i++) printf " %s=%d/%d", w[i], f["flash", w[i]], f["ram", w[i]]
      printf "  (flash/static RAM bytes)\n"
    }' "$names" -
done
