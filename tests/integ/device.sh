#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The A/B engine through the real binary on a simulated device: lifecycle,
# anti-rollback, tampered packages (checking the slot's bytes, not only the
# exit status), refusals before the first write, and kill -9 at random
# points of an install. Usage: device.sh BULWARK [KILL_RUNS]
set -u
B=$(realpath "$1")
RUNS=${2:-50}
T=$(mktemp -d)
HTTPD_PID=
trap '[ -n "$HTTPD_PID" ] && kill $HTTPD_PID 2>/dev/null; rm -rf "$T"' EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
expect() { # expect NAME|OK CMD...
  local want=$1 w; shift
  if [ "$want" = OK ]; then w=0; else w=$(code "$want"); fi
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want: $(cat err.txt)"; fi
}
# field NAME: from `status --json`
field() { "$B" status --config dev/device.conf --json | $PY -c "import json,sys; j=json.load(sys.stdin); v=eval(sys.argv[1]); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)" "$1"; }
# zero REGION_START REGION_LEN FILE: all bytes zero?
zero() { [ "$(head -c $(($1 + $2)) "$3" | tail -c "$2" | tr -d '\0' | wc -c)" = 0 ]; }
flip() { "$(dirname "$(realpath "$0")")/flipbyte.sh" "$@"; }
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
"$B" keygen --out k.pem --pub p.pem >/dev/null
SIZE=$((1 << 20))
head -c $((300 << 10)) /dev/urandom > v1
head -c $((500 << 10)) /dev/urandom > v2
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 1 --out v1.bwp v1 >/dev/null
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 2 --out v2.bwp v2 >/dev/null
"$B" sign --key k.pem --vendor-id $C --class-id $C --sequence 5 --out wrongv.bwp v2 >/dev/null
"$B" sign --key k.pem --vendor-id $V --class-id $V --sequence 5 --out wrongc.bwp v2 >/dev/null
"$B" keygen --out k2.pem --pub p2.pem >/dev/null
"$B" sign --key k2.pem --vendor-id $V --class-id $C --sequence 5 --out forged.bwp v2 >/dev/null

# --- lifecycle ------------------------------------------------------------------
expect OK "$B" device init --dir dev --slot-size $SIZE --pub p.pem --vendor-id $V --class-id $C
check '[ "$(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"slots\"][\"a\"][\"sequence\"]")" = "a None None" ]' "fresh device state"
expect OK "$B" install --config dev/device.conf v1.bwp
check '[ "$(field "j[\"trial_slot\"], j[\"trial_boots_left\"], j[\"slots\"][\"b\"][\"sequence\"], j[\"highest_sequence\"]")" = "b 3 1 1" ]' "after install: trial b"
check 'cmp -s <(head -c $((300 << 10)) dev/slot-b.img) v1' "slot b holds v1"
expect BW_E_STATE "$B" install --config dev/device.conf v2.bwp   # trial pending
expect BW_E_STATE "$B" confirm --config dev/device.conf          # trial not booted
expect OK "$B" boot --config dev/device.conf
check 'grep -q "boot slot b (trial)" out.txt' "boot chooses the trial"
expect OK "$B" confirm --config dev/device.conf
check '[ "$(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"confirmed\"]")" = "b None True" ]' "confirmed b"
expect OK "$B" install --config dev/device.conf v2.bwp
check '[ "$(field "j[\"trial_slot\"], j[\"slots\"][\"a\"][\"sequence\"], j[\"highest_sequence\"]")" = "a 2 2" ]' "v2 into a"
# the trial is never confirmed: three boots, then back to b
for i in 1 2 3; do expect OK "$B" boot --config dev/device.conf; done
check 'grep -q "boot slot a (trial)" out.txt' "third trial boot still a"
expect OK "$B" boot --config dev/device.conf
check 'grep -q "boot slot b" out.txt && [ "$(field "j[\"active_slot\"], j[\"trial_slot\"], j[\"highest_sequence\"]")" = "b None 2" ]' "fallback to b keeps the floor at 2"
# anti-rollback: v1 is below the floor, refused before any write
sha_a=$(sha256sum < dev/slot-a.img)
expect BW_E_ROLLBACK "$B" install --config dev/device.conf v1.bwp
check '[ "$(sha256sum < dev/slot-a.img)" = "$sha_a" ]' "rollback refusal wrote to the slot"
# explicit rollback to a (holds v2) and back
expect OK "$B" rollback --config dev/device.conf
check '[ "$(field "j[\"active_slot\"]")" = a ]' "rollback makes a active"
expect OK "$B" rollback --config dev/device.conf
check '[ "$(field "j[\"active_slot\"], j[\"highest_sequence\"]")" = "b 2" ]' "floor unchanged by rollbacks"

# --- refusals before the first write, and tampering ----------------------------
fresh() { "$B" device init --dir dev --slot-size $SIZE --pub p.pem --vendor-id $V --class-id $C --force >/dev/null; }
for pkg in wrongv.bwp:BW_E_VENDOR wrongc.bwp:BW_E_CLASS forged.bwp:BW_E_BADSIG; do
  fresh
  expect "${pkg#*:}" "$B" install --config dev/device.conf "${pkg%%:*}"
  check 'zero 0 $SIZE dev/slot-b.img && [ "$(field "j[\"trial_slot\"], j[\"highest_sequence\"]")" = "None 0" ]' "${pkg%%:*}: slot or state changed"
done
ENV=$("$B" inspect --json v2.bwp | $PY -c 'import json,sys; print(json.load(sys.stdin)["envelope_size"])')
NCH=$(( ((500 << 10) + 65535) / 65536 ))
LIST=$((NCH * 32))
# name offset-in-package first-chunk-that-must-stay-unwritten
for t in "envelope:100:0" "chunk-list:$((ENV + 40)):0" "payload-start:$((ENV + LIST)):0" \
         "payload-middle:$((ENV + LIST + (250 << 10))):3" "payload-end:$((ENV + LIST + (500 << 10) - 1)):7"; do
  IFS=: read -r name off k <<< "$t"
  fresh
  cp v2.bwp t.bwp; flip t.bwp "$off"
  "$B" install --config dev/device.conf t.bwp >/dev/null 2>err.txt
  check '[ $? != 0 ]' "$name: tampered package installed"
  check 'zero $((k * 65536)) $(( SIZE - k * 65536 )) dev/slot-b.img' "$name: a byte of chunk $k or later reached the slot"
  check 'cmp -s <(head -c $((k * 65536)) dev/slot-b.img) <(head -c $((k * 65536)) v2)' "$name: verified chunks before $k not written as they were"
  check '[ "$(field "j[\"trial_slot\"], j[\"slots\"][\"b\"][\"sequence\"]")" = "None None" ]' "$name: state changed"
done
fresh
head -c $((SIZE + 1)) /dev/urandom > huge
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 3 --out huge.bwp huge >/dev/null
expect BW_E_TOOBIG "$B" install --config dev/device.conf huge.bwp
expect OK "$B" install --config dev/device.conf - < v2.bwp
"$B" rollback --config dev/device.conf >/dev/null
"$B" install --config dev/device.conf --json v2.bwp > ev.json
check '$PY -c "import json; ev=[json.loads(l) for l in open(\"ev.json\")]; assert ev[-1][\"event\"]==\"result\" and ev[-1][\"ok\"] and any(e[\"event\"]==\"progress\" for e in ev)"' "install --json events"

# --- the same lifecycle with the U-Boot and GRUB environment adapters ---------
for bl in uboot grub; do
  fresh
  if [ $bl = uboot ]; then
    head -c 16384 /dev/zero > dev/uboot.env; head -c 16384 /dev/zero > dev/uboot2.env
    printf '%s 0x0 0x4000\n%s 0x0 0x4000\n' "$PWD/dev/uboot.env" "$PWD/dev/uboot2.env" > dev/fw_env.config
    printf 'bootstate = uboot\nuboot_config = %s\n' "$PWD/dev/fw_env.config" >> dev/device.conf
    sed -i '/^bootstate = file$/d' dev/device.conf
    # an environment with no valid copy is refused, never overwritten
    expect BW_E_FORMAT "$B" install --config dev/device.conf v2.bwp
    check 'zero 0 $SIZE dev/slot-b.img' "install onto an uninitialised U-Boot env wrote the slot"
    printf 'bootcmd=run bw_boot\n' > dev/defenv
    fw_setenv -c dev/fw_env.config -f dev/defenv bootdelay 0 2>/dev/null
  else
    printf 'bootstate = grub\ngrubenv = %s\n' "$PWD/dev/grubenv" >> dev/device.conf
  fi
  sed -i '/^bootstate = file$/d' dev/device.conf
  expect OK "$B" install --config dev/device.conf v2.bwp
  expect OK "$B" boot --config dev/device.conf
  expect OK "$B" confirm --config dev/device.conf
  check '[ "$(field "j[\"active_slot\"], j[\"highest_sequence\"]")" = "b 2" ]' "$bl adapter lifecycle"
  if [ $bl = uboot ]; then
    check 'fw_printenv -c dev/fw_env.config bw_active | grep -qx "bw_active=b"' "U-Boot env holds bw_active=b"
  else
    check 'grub-editenv dev/grubenv list | grep -qx "bw_highest=2"' "GRUB env holds bw_highest=2"
  fi
  expect BW_E_ROLLBACK "$B" install --config dev/device.conf v1.bwp
done

# --- install from a URL, with broken transfers resumed by Range --------------
mkdir www; cp v2.bwp www/; cp v2.bwp www/bad.bwp; flip www/bad.bwp $((ENV + LIST + 1000))
serve() { # serve ARGS...: (re)start the test server on a fresh port
  [ -n "$HTTPD_PID" ] && kill $HTTPD_PID 2>/dev/null && wait $HTTPD_PID 2>/dev/null
  rm -f port; $PY "$HERE/httpd.py" www port "$@" 2>http.log & HTTPD_PID=$!
  for i in $(seq 50); do [ -s port ] && break; sleep 0.1; done
  URL=http://127.0.0.1:$(cat port)
}
serve --drop-after 100000 --drops 3
fresh
expect OK "$B" install --config dev/device.conf $URL/v2.bwp
check '[ "$(grep -c "GET /v2.bwp" http.log)" = 4 ] && [ "$(grep -c "bytes=" http.log)" = 3 ]' "download not resumed with Range: $(cat http.log)"
check 'cmp -s <(head -c $((500 << 10)) dev/slot-b.img) v2' "slot holds the downloaded image"
serve --drop-after 150000 --drops 1 --no-range
fresh
expect OK "$B" install --config dev/device.conf $URL/v2.bwp
check 'cmp -s <(head -c $((500 << 10)) dev/slot-b.img) v2' "server without Range: image not intact"
serve
fresh
expect BW_E_IO "$B" install --config dev/device.conf $URL/missing.bwp
# the download is the host library's own client (host/http.c): no libcurl
# is loaded (LD_DEBUG lists every object the loader maps, dlopen included)
LD_DEBUG=files "$B" install --config dev/device.conf $URL/missing.bwp 2> ld.txt
check 'grep -q "file=libc.so" ld.txt && ! grep -q "libcurl" ld.txt' "install URL loaded libcurl: $(grep -m1 libcurl ld.txt)"
expect BW_E_CHUNK "$B" install --config dev/device.conf $URL/bad.bwp
check 'zero 0 $SIZE dev/slot-b.img && [ "$(field "j[\"trial_slot\"]")" = None ]' "tampered download reached the slot"
kill $HTTPD_PID; wait $HTTPD_PID 2>/dev/null; HTTPD_PID=
expect BW_E_IO "$B" install --config dev/device.conf $URL/v2.bwp

# --- one command at a time; configuration mistakes ----------------------------
fresh
cp dev/device.conf good.conf
echo "slot_size = 5" >> dev/device.conf
expect BW_E_FORMAT "$B" status --config dev/device.conf
check 'grep -q "given twice" err.txt' "duplicate option not named"
cp good.conf dev/device.conf; sed -i "s|^slot_b = .*|slot_b = $PWD/dev/slot-a.img|" dev/device.conf
expect BW_E_FORMAT "$B" status --config dev/device.conf
cp good.conf dev/device.conf; echo "trial_boots = 4" >> dev/device.conf
sed -i 's/^bootstate = file$/bootstate = grub/' dev/device.conf; echo "grubenv = $PWD/dev/grubenv" >> dev/device.conf
expect BW_E_FORMAT "$B" status --config dev/device.conf
cp good.conf dev/device.conf; echo "colour = blue" >> dev/device.conf
expect BW_E_FORMAT "$B" status --config dev/device.conf
check 'grep -q "unknown option" err.txt' "unknown option not named"
cp good.conf dev/device.conf

# --- slots that are one object under two names ----------------------------------
# refused on every load (status, install: nothing written) and at device init
alias_conf() { # alias_conf KEY PATH: good.conf with KEY replaced
  sed "s|^$1 = .*|$1 = $2|" good.conf > alias.conf
}
refused_alias() { # refused_alias WHAT [OTHER]: status and install refuse alias.conf,
  # naming slot_b and OTHER (default: slot_a's path)
  local a b
  a=${2:-$(sed -n 's/^slot_a = //p' alias.conf)} b=$(sed -n 's/^slot_b = //p' alias.conf)
  expect BW_E_FORMAT "$B" status --config alias.conf
  check 'grep -qF "$a" err.txt && grep -qF "$b" err.txt && grep -q "same" err.txt' "$1: both paths not named: $(cat err.txt)"
  expect BW_E_FORMAT "$B" install --config alias.conf v1.bwp
}
ln -s "$PWD/dev/slot-a.img" link-a.img
alias_conf slot_b "$PWD/link-a.img"; refused_alias "symlink"
alias_conf slot_b "$PWD/dev/./slot-a.img"; refused_alias "./ spelling"
alias_conf slot_b "$PWD/dev/../dev/slot-a.img"; refused_alias "../ spelling"
ln dev/slot-a.img hard-a.img
alias_conf slot_b "$PWD/hard-a.img"; refused_alias "hard link"
"$B" install --config good.conf v1.bwp >/dev/null 2>&1   # the boot state files exist now
alias_conf slot_b "$PWD/dev/state/bootstate.0"; refused_alias "slot on the boot state" "state_dir/bootstate.0"
sed "s|^slot_b = .*|slot_b = $PWD/dev/slot-b.img|; s|^# lock_file = .*|lock_file = $PWD/dev/slot-b.img|" good.conf > alias.conf
expect BW_E_FORMAT "$B" status --config alias.conf
check 'grep -q "lock_file" err.txt' "slot as lock file not refused: $(cat err.txt)"
# two nodes of one block device (mknod needs root: skipped without it; the
# check only stats the nodes, so no loop device is needed)
if mknod blk1 b 7 250 2>/dev/null && mknod blk2 b 7 250 2>/dev/null; then
  sed "s|^slot_a = .*|slot_a = $PWD/blk1|; s|^slot_b = .*|slot_b = $PWD/blk2|" good.conf > alias.conf
  expect BW_E_FORMAT "$B" status --config alias.conf
  check 'grep -q "same storage (block device 7:250)" err.txt' "block device alias: $(cat err.txt)"
else
  echo "note: block-device alias case skipped (mknod needs root)"
fi
# device init: --slot-a/--slot-b that are one file are refused
mkdir own
for spec in "own/a.img own/./a.img" "link-a.img dev/slot-a.img" "dev/slot-a.img hard-a.img"; do
  set -- $spec
  "$B" device init --dir dev2 --slot-size $SIZE --pub p.pem --vendor-id $V --class-id $C \
    --slot-a "$PWD/$1" --slot-b "$PWD/$2" > out.txt 2> err.txt
  st=$?
  check '[ $st = 2 ] && grep -q "same file" err.txt && [ ! -e dev2/device.conf ]' "device init $spec: $(cat err.txt)"
done
"$B" device init --dir dev2 --slot-size $SIZE --pub p.pem --vendor-id $V --class-id $C \
  --slot-a "$PWD/own/a.img" --slot-b "$PWD/own/b.img" > out.txt 2> err.txt
st=$?
check '[ $st = 0 ] && [ -s own/b.img ] && grep -q "^slot_b = $PWD/own/b.img" dev2/device.conf' "device init --slot-a/--slot-b: $(cat err.txt)"
fresh

# --- kill -9 at random points of an install --------------------------------------
head -c $((24 << 20)) /dev/urandom > big1
head -c $((24 << 20)) /dev/urandom > big2
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 10 --out big1.bwp big1 >/dev/null
"$B" sign --key k.pem --vendor-id $V --class-id $C --sequence 11 --out big2.bwp big2 >/dev/null
"$B" device init --dir dev --slot-size $((32 << 20)) --pub p.pem --vendor-id $V --class-id $C --force >/dev/null
"$B" install --config dev/device.conf big1.bwp >/dev/null && "$B" boot --config dev/device.conf >/dev/null && "$B" confirm --config dev/device.conf >/dev/null
d1=$(sha256sum < big1 | cut -c1-64)
# how long an install takes here (the fastest of three): kill points are
# drawn from that window
window=1000000
for i in 1 2 3; do
  t0=$(date +%s%N); "$B" install --config dev/device.conf big2.bwp >/dev/null; t1=$(date +%s%N)
  "$B" rollback --config dev/device.conf >/dev/null
  t=$(( (t1 - t0) / 1000000 )); [ $t -lt $window ] && window=$t
done
[ $window -lt 20 ] && window=20
completed=0
# while an install runs, other changes are refused, reading is not: the
# install reads its package from a FIFO that is fed only after the checks
mkfifo feed
"$B" install --config dev/device.conf - < feed > inst.out 2>&1 &
ipid=$!
exec 3> feed
# (wait until the install holds its lock, looking from outside: /proc/locks)
for i in $(seq 300); do awk -v p=$ipid '$2 == "FLOCK" && $5 == p { f = 1 } END { exit !f }' /proc/locks && break; sleep 0.01; done
expect BW_E_STATE "$B" boot --config dev/device.conf
check 'grep -q "another bulwark command" err.txt' "lock refusal says why"
expect BW_E_STATE "$B" install --config dev/device.conf big2.bwp
expect OK "$B" status --config dev/device.conf
cat big2.bwp >&3
exec 3>&-
wait $ipid
st=$?
check '[ $st = 0 ] && [ "$(field "j[\"trial_slot\"]")" = a ]' "install under contention did not complete: $(cat inst.out)"
"$B" rollback --config dev/device.conf >/dev/null
for ((r = 0; r < RUNS; r++)); do
  "$B" install --config dev/device.conf big2.bwp >/dev/null 2>&1 &
  pid=$!
  ms=$((RANDOM % window))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  st=$(field 'j["active_slot"], j["trial_slot"], j["slots"]["b"]["sequence"], j["highest_sequence"] >= 10')
  case "$st" in
    "b None 10 True") ;;                                     # cut short: b untouched, no trial
    "b a 10 True") completed=$((completed + 1)); "$B" rollback --config dev/device.conf >/dev/null ;;
    *) bad "kill run $r: state after kill: $st" ;;
  esac
  check '[ "$(head -c $((24 << 20)) dev/slot-b.img | sha256sum | cut -c1-64)" = "$d1" ]' "kill run $r: previous slot damaged"
  expect OK "$B" boot --config dev/device.conf
  check 'grep -q "boot slot b" out.txt' "kill run $r: previous slot not chosen"
  expect OK "$B" install --config dev/device.conf big2.bwp
  check 'cmp -s <(head -c $((24 << 20)) dev/slot-a.img) big2' "kill run $r: rerun did not install"
  "$B" rollback --config dev/device.conf >/dev/null
done
killed=$((RUNS - completed))
echo "kill -9: $RUNS runs over a ${window} ms install, $killed cut short, $completed had finished first"
check '[ $killed -ge $((RUNS / 4)) ]' "too few installs were actually interrupted ($killed)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
