#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The MPS2 AN386 port in QEMU (port/mps2/, docs/mcu.md), headless, with
# semihosting: every QEMU run is one power-on; the emulated NOR flash
# persists in mps2-flash.img in the run's directory. Scenarios:
#   build            keygen + cross-build (exit 77 = skipped: no toolchain,
#                    QEMU or mbedtls source)
#   install_confirm  factory install, trial boot, confirm; an update through
#                    the device's own updater, trial, confirm
#   uart             the package received over UART0, trial, confirm
#   bankflip         a bank changed after its install is refused at boot
#   fallback         an update whose application never confirms falls back
#                    after its trial boots
#   tamper           payload chunk, chunk list, envelope each tampered: the
#                    install fails and the other bank holds no byte of the
#                    bad chunk (flash file compared)
#   rollback         a lower sequence is refused; the counter never drops
#   bootsig          boot_sig.elf: each bank's envelope authenticated at
#                    boot; a changed envelope is refused
#   smallchunk       a package of 4 KiB chunks (bulwark sign --chunk-size)
#   ab               one A/B package (bulwark sign --image-a/--image-b, SUIT
#                    try-each): the device installs the image linked for its
#                    free bank, A then B, over semihosting and over UART0
#   footprint        the two bootloaders within their flash and RAM budgets
#   powercut         QEMU killed at random points of installs and confirms
#                    (BW_MCU_CUTS, default 50): every next boot boots a
#                    verified bank and the counter never goes down
# Usage: mps2.sh SCENARIO WORKDIR BULWARK MPS2-FACTORY
set -eu
scenario=$1 work=$(mkdir -p "$2" && cd "$2" && pwd) bulwark=$(realpath "$3") factory=$(realpath "$4")
root=$(cd "$(dirname "$0")/../.." && pwd)
fw=$work/fw
if [ "$scenario" = build ]; then
  for t in arm-none-eabi-gcc qemu-system-arm; do
    command -v $t >/dev/null || { echo "skipped: $t missing (scripts/setup.sh test)"; exit 77; }
  done
  "$root/scripts/mbedtls-src.sh" >/dev/null ||
    { echo "skipped: no mbedtls source package (scripts/mbedtls-src.sh)"; exit 77; }
  mkdir -p "$work"
  [ -f "$work/key.pem" ] || "$bulwark" keygen --out "$work/key.pem" --pub "$work/key.pub" >/dev/null
  "$root/scripts/mps2-build.sh" "$fw" "$work/key.pub"
  exit 0
fi
[ -f "$fw/boot.elf" ] || { echo "skipped: no firmware (the mcu.build test was skipped or not run)"; exit 77; }
if [ "$scenario" = footprint ]; then
  # the bootloaders' flash (.text + .data) and static RAM (.data + .bss,
  # without the stack) stay within the budgets bench/README.md reports
  check() { # ELF MAX_FLASH MAX_RAM
    read -r fl ram < <(arm-none-eabi-size -A "$fw/$1" |
      awk '$1 == ".text" || $1 == ".data" { f += $2 } $1 == ".data" || $1 == ".bss" { r += $2 } END { print f, r }')
    echo "$1: flash=$fl (budget $2) static_ram=$ram (budget $3)"
    [ "$fl" -le "$2" ] && [ "$ram" -le "$3" ] || { echo "FAIL: $1 over its budget"; exit 1; }
  }
  check boot.elf 9216 1536
  check boot_sig.elf 28672 6144
  echo "mcu.footprint: ok"
  exit 0
fi

dir=$(mktemp -d "$work/$scenario.XXXXXX")
log=$dir/log
[ -n "${BW_MCU_KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
cd "$dir"

[ "$scenario" = bootsig ] && MPS2_BOOT=boot_sig.elf
. "$root/tests/mcu/mps2lib.sh"

case $scenario in
install_confirm)
  fresh
  p=$(package a 2)
  boot "install $p"
  expect "install: BW_OK" "update to 2"
  boot confirm
  expect "booted=A active=B trial=A" "update to 2"
  expect "app: running image linked for bank A" "update to 2"
  expect "confirm: BW_OK" "trial of 2"
  boot stay
  expect "booted=A active=A trial=- left=0 seqA=2 seqB=1" "confirm of 2"
  expect "counter=2" "confirm of 2"
  # the bank holds exactly the signed image
  cmp <(bank_bytes $A_OFF "$(stat -c %s img_a_2.bin)") img_a_2.bin || fail "bank A differs from the image"
  ;;
uart)
  # the package over UART0 (QEMU's serial port on stdin), then the trial
  fresh
  p=$(package a 2 4096)
  echo "install uart" > mps2.cmd
  out=$(timeout 120 "${QEMU_BASE[@]}" -serial stdio < "$p" 2>&1 || true)
  printf '%s\n' "--- boot: install uart" "$out" >> "$log"
  expect "install: BW_OK" "a package over the UART"
  boot confirm
  expect "booted=A active=B trial=A" "the UART install"
  expect "confirm: BW_OK" "the UART install's trial"
  cmp <(bank_bytes $A_OFF "$(stat -c %s img_a_2.bin)") img_a_2.bin || fail "bank A differs from the image"
  ;;
bankflip)
  # a bank changed after its verified install (a flash fault, or a write
  # that went around the updater) is refused by the bootloader
  fresh
  boot "install $(package a 2)"
  expect "install: BW_OK" "update to 2"
  python3 - "$((A_OFF + 1000))" <<'EOF2'
import sys
with open("mps2-flash.img", "r+b") as f:
    f.seek(int(sys.argv[1])); b = f.read(1); f.seek(int(sys.argv[1])); f.write(bytes([b[0] ^ 1]))
EOF2
  boot confirm
  expect "bank A does not match its install record: refused" "a changed trial bank"
  expect "booted=B active=B trial=- left=0 seqA=- seqB=1" "a changed trial bank"
  expect "app: running image linked for bank B" "a changed trial bank"
  ;;
fallback)
  fresh
  boot "install $(package a 2)"
  expect "install: BW_OK" "update to 2"
  for i in 1 2 3 4; do
    boot stay
    grep -q "booted=A" <<<"$out" || break
    expect "trial not confirmed" "trial boot $i"
  done
  expect "booted=B active=B trial=-" "the trial's last boot"
  expect "app: running image linked for bank B" "fallback"
  expect "counter=1" "fallback" # a trial that never confirmed does not raise the counter
  boot confirm
  expect "confirm: BW_E_STATE" "confirm after fallback" # nothing on trial
  ;;
tamper)
  fresh
  p=$(package a 2)
  img=img_a_2.bin size=$(stat -c %s "$img") total=$(stat -c %s "$p")
  n=$(((size + CHUNK - 1) / CHUNK))
  env=$((total - size - 32 * n))
  for what in payload list envelope; do
    cp "$p" bad.suit
    case $what in
    payload)  at=$((env + 32 * n + 2 * CHUNK + 777)) ;; # inside chunk 2
    list)     at=$((env + 32 + 5)) ;;                    # entry of chunk 1
    envelope) at=$((env - 20)) ;;                        # the signature
    esac
    python3 -c 'import sys
with open("bad.suit", "r+b") as f:
    f.seek(int(sys.argv[1])); b = f.read(1); f.seek(int(sys.argv[1])); f.write(bytes([b[0] ^ 0x5a]))' $at
    cmp -s bad.suit "$p" && fail "tampering $what changed nothing"
    boot "install bad.suit"
    grep -q "install: BW_OK" <<<"$out" && fail "tampered $what installed"
    expect "install: BW_E_" "tampered $what"
    case $what in
    payload)
      # chunks 0 and 1 verified and were written; chunk 2 was not: its
      # range of bank A is still erased and shares no byte with it
      cmp <(bank_bytes $A_OFF $((2 * CHUNK))) <(head -c $((2 * CHUNK)) "$img") || fail "chunks 0-1"
      erased $((A_OFF + 2 * CHUNK)) $((BANK - 2 * CHUNK)) || fail "bank A holds bytes of the bad chunk"
      ;;
    *) erased $A_OFF $BANK || fail "bank A written after a tampered $what" ;;
    esac
    boot stay
    expect "booted=B active=B trial=- left=0 seqA=- seqB=1" "tampered $what"
    # leave bank A erased again for the next case (a real device would
    # simply overwrite it: the next install erases before it programs)
    python3 - "$A_OFF" "$BANK" <<'EOF'
import sys
off, n = int(sys.argv[1]), int(sys.argv[2])
with open("mps2-flash.img", "r+b") as f:
    f.seek(off); f.write(b"\xff" * n)
EOF
  done
  ;;
bootsig)
  # the bootloader that also authenticates each bank's envelope at boot
  # (MPS2_VERIFY_SIGNATURE=1): the factory bank and an update boot; an
  # update whose stored envelope changed in flash is refused
  fresh
  boot "install $(package a 2)"
  expect "install: BW_OK" "update to 2"
  cp mps2-flash.img good.img
  len=$(od -An -tu4 -j$ENV_A -N4 mps2-flash.img | tr -d ' ')
  [ "$len" -gt 100 ] && [ "$len" -lt 4080 ] || fail "no envelope beside bank A (length $len)"
  "$root/tests/integ/flipbyte.sh" mps2-flash.img $((ENV_A + 16 + len - 10)) # in the manifest
  boot confirm
  grep -q "boot: bank A signature: BW_E_[A-Z]*: refused" <<<"$out" || fail "a changed envelope booted"
  expect "booted=B active=B trial=- " "a changed envelope"
  expect "seqA=- seqB=1" "a changed envelope"
  expect "app: running image linked for bank B" "a changed envelope"
  cp good.img mps2-flash.img
  boot confirm
  expect "booted=A active=B trial=A" "the signed update"
  expect "confirm: BW_OK" "the signed update"
  boot stay
  expect "booted=A active=A trial=- left=0 seqA=2 seqB=1" "the signed update confirmed"
  ;;
smallchunk)
  # a package with 4 KiB chunks (bulwark sign --chunk-size), the size an
  # updater built with CHUNK_MAX=4096 takes: installs, boots, confirms
  fresh
  img=$(image a 2)
  "$bulwark" sign --key "$work/key.pem" --vendor-id $VENDOR --class-id $CLASS --sequence 2 \
    --chunk-size 4096 --out small.suit "$img" >/dev/null || fail "sign --chunk-size 4096"
  "$bulwark" inspect small.suit | grep -q "4096" || fail "not 4 KiB chunks: $("$bulwark" inspect small.suit)"
  boot "install small.suit"
  expect "install: BW_OK" "a package of 4 KiB chunks"
  boot confirm
  expect "booted=A active=B trial=A" "a package of 4 KiB chunks"
  expect "confirm: BW_OK" "a package of 4 KiB chunks"
  cmp <(bank_bytes $A_OFF "$(stat -c %s "$img")") "$img" || fail "bank A differs from the image"
  ;;
ab)
  # factory: B active, so A is free; then A active, so B is free
  fresh
  image a 2 >/dev/null; image b 2 >/dev/null
  "$bulwark" sign --key "$work/key.pem" --vendor-id $VENDOR --class-id $CLASS --sequence 2 \
    --out ab2.suit --image-a img_a_2.bin --image-b img_b_2.bin >/dev/null
  boot "install ab2.suit"
  expect "install: BW_OK" "A/B package into the free bank A"
  boot confirm
  expect "booted=A active=B trial=A" "A/B package 2"
  expect "app: running image linked for bank A" "A/B package 2"
  expect "confirm: BW_OK" "A/B package 2"
  cmp <(bank_bytes $A_OFF "$(stat -c %s img_a_2.bin)") img_a_2.bin || fail "bank A differs from image A"
  image a 3 4096 >/dev/null; image b 3 4096 >/dev/null
  "$bulwark" sign --key "$work/key.pem" --vendor-id $VENDOR --class-id $CLASS --sequence 3 \
    --out ab3.suit --image-a img_a_3.bin --image-b img_b_3.bin >/dev/null
  echo "install uart" > mps2.cmd
  out=$(timeout 120 "${QEMU_BASE[@]}" -serial stdio < ab3.suit 2>&1 || true)
  printf '%s\n' "--- boot: install uart" "$out" >> "$log"
  expect "install: BW_OK" "A/B package over the UART into the free bank B"
  boot confirm
  expect "booted=B active=A trial=B" "A/B package 3"
  expect "app: running image linked for bank B" "A/B package 3"
  expect "confirm: BW_OK" "A/B package 3"
  cmp <(bank_bytes $B_OFF "$(stat -c %s img_b_3.bin)") img_b_3.bin || fail "bank B differs from image B"
  ;;
rollback)
  fresh
  boot "install $(package a 3)"
  expect "install: BW_OK" "update to 3"
  boot confirm
  expect "confirm: BW_OK" "trial of 3"
  boot stay
  expect "counter=3" "confirm of 3"
  before=$(bank_bytes $B_OFF $BANK | sha256sum)
  boot "install $(package b 2)"
  expect "install: BW_E_ROLLBACK" "sequence 2 after 3"
  [ "$(bank_bytes $B_OFF $BANK | sha256sum)" = "$before" ] || fail "bank B changed by a refused install"
  boot stay
  expect "booted=A active=A trial=- left=0 seqA=3" "refused rollback"
  expect "counter=3" "refused rollback"
  # the same sequence again is not a rollback of the floor, but a newer
  # one is what moves the device on
  boot "install $(package b 4)"
  expect "install: BW_OK" "update to 4"
  ;;
powercut)
  cuts=${BW_MCU_CUTS:-50}
  fresh
  seq=1 counter=1 done=0 tries=0
  # how long one install run takes here: cut points spread over it
  t0=$(date +%s%N); boot "install $(package a 2)"; t1=$(date +%s%N)
  expect "install: BW_OK" "update to 2"
  t2=$(date +%s%N); boot confirm; t3=$(date +%s%N); boot stay
  seq=2 counter=$(field counter)
  # a span per kind of run; a run that ends before its cut tells how long
  # that kind takes now (load changes), so the next cut falls inside it
  span_install=$(((t1 - t0) / 1000000)) span_confirm=$(((t3 - t2) / 1000000))
  while [ $done -lt "$cuts" ]; do
    tries=$((tries + 1))
    [ $tries -le $((cuts * 4)) ] || fail "only $done of $tries runs were cut"
    seq=$((seq + 1))
    p=$(package "$(other)" $seq)
    echo "install $p" > mps2.cmd
    if [ $((tries % 2)) = 1 ]; then
      what=install
    else
      # a complete install, then the cut falls in the trial boot's confirm
      boot "install $p"
      expect "install: BW_OK" "install before a confirm cut"
      echo confirm > mps2.cmd
      what=confirm
    fi
    span=$((span_$what > 1 ? span_$what : 1))
    ms=$((RANDOM % span))
    # the status of a run killed at ms milliseconds (137), from a shell of
    # its own so that no "Killed" notice reaches the test's output
    t0=$(date +%s%N)
    rc=$( (timeout -s KILL "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" "${QEMU[@]}" \
             >> "$log" 2>&1; echo $?) 2>/dev/null)
    t1=$(date +%s%N)
    if [ $rc = 137 ]; then
      done=$((done + 1))
      echo "--- cut $done after ${ms} ms of a $what run (sequence $seq)" >> "$log"
    else
      eval "span_$what=$(((t1 - t0) / 1000000))"
      echo "--- the $what run ended before ${ms} ms: not a cut (span now ${span}->$(((t1 - t0) / 1000000)) ms)" >> "$log"
    fi
    # power back on: a verified bank boots, the counter has not gone down
    boot confirm
    expect "jump=" "a cut during $what at ${ms} ms"
    expect "app: running image linked for bank $(field booted)" "a cut during $what at ${ms} ms"
    c=$(field counter)
    [ "$c" -ge "$counter" ] || fail "counter went down from $counter to $c"
    counter=$c
    boot stay # settle any trial: the next round installs into the free bank
    expect "jump=" "the boot after a cut"
  done
  echo "$done cut points in $tries runs; counter $counter; sequence $seq"
  ;;
*) fail "unknown scenario $scenario" ;;
esac
echo "mcu.$scenario: ok"
