# SPDX-License-Identifier: Apache-2.0
# Shared steps of the MPS2 QEMU tests (mps2.sh, secondary.sh), sourced in
# the run's directory with $fw (the firmware), $work (key.pem, key.pub),
# $bulwark, $factory and $log set.
VENDOR=6b8a1c3e-0d7f-4e6a-9a51-0b3f2c7d8e90
CLASS=3f0e9a2b-5c61-4d7e-8f03-2a1b4c5d6e7f
BANK=262144 CHUNK=65536
A_OFF=$((0x10000)) B_OFF=$((0x50000)) # bank offsets in the flash file (board.h)
ENV_A=$((0x4000)) # bank A's envelope sector: length, then the envelope at +16

fail() { echo "FAIL: $*" >&2; [ -n "${log:-}" ] && [ -f "$log" ] && tail -20 "$log" >&2; exit 1; }

# image BANK(a|b) SEQ [PAD]: the application for that bank, padded (by
# default to three chunks and a bit) with bytes that differ per sequence
image() {
  local out=img_$1_$2.bin pad=${3:-$((2 * CHUNK + 20000))}
  { cat "$fw/app_$1.bin"; head -c "$pad" /dev/zero | openssl enc -aes-128-ctr \
      -K 000102030405060708090a0b0c0d0e0f -iv "$(printf '%032x' "$2")" 2>/dev/null; } > "$out"
  echo "$out"
}
# package BANK SEQ [PAD]: signed with the key the firmware trusts
package() {
  local img; img=$(image "$1" "$2" "${3:-}")
  "$bulwark" sign --key "$work/key.pem" --vendor-id $VENDOR --class-id $CLASS --sequence "$2" \
    --out "pkg_$1_$2.suit" "$img" >/dev/null
  echo "pkg_$1_$2.suit"
}
# MPS2_BOOT: the bootloader (boot.elf; boot_sig.elf also checks signatures)
QEMU_BASE=(qemu-system-arm -M mps2-an386 -display none -monitor none
           -semihosting-config enable=on,target=native -no-reboot -kernel "$fw/${MPS2_BOOT:-boot.elf}")
QEMU=("${QEMU_BASE[@]}" -serial null) # UART0 unconnected
# boot COMMAND: one power-on with mps2.cmd = COMMAND; output in $out
boot() {
  echo "$1" > mps2.cmd
  out=$(timeout 90 "${QEMU[@]}" 2>&1 || true)
  printf '%s\n' "--- boot: $1" "$out" >> "$log"
}
expect() { grep -q -- "$1" <<<"$out" || fail "expected '$1' after '$2'"; }
field() { sed -n "s/^boot:.* $1=\([^ ]*\).*/\1/p" <<<"$out" | tail -1; }
other() { [ "$(field active)" = A ] && echo b || echo a; }
# factory: a fresh device with sequence 1 in bank B, trial-booted and confirmed
fresh() {
  "$factory" mps2-flash.img "$work/key.pub" "$(package b 1)" >> "$log" || fail "factory install"
  boot confirm
  expect "booted=B active=A trial=B" "factory install"
  expect "confirm: BW_OK" "first trial boot"
  boot stay
  expect "booted=B active=B trial=-" "confirm"
  expect "counter=1" "confirm"
}
# bank_bytes OFF LEN: bytes of the flash file (what semihosting wrote)
bank_bytes() { tail -c +$(($1 + 1)) mps2-flash.img | head -c "$2"; }
erased() { [ "$(bank_bytes "$1" "$2" | tr -d '\377' | wc -c)" = 0 ]; }

