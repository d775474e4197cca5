#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install benchmark: `bulwark install` against RAUC, SWUpdate and Mender
# (Debian 12 packages) installing the same signed random image into a file
# slot (loop devices for Mender), with `openssl dgst -sha256` of the image as
# the reference. Uses the peer scripts in $PEER (read-only, not changed).
#
#   bench/install.sh            # SIZES="64 256" N=5, writes bench/results-install-latest.md
#   N=3 SIZES="16" bench/install.sh
#
# Needs root (apt, loop devices, mount namespaces). Everything generated lives
# under $ROOT (default /tmp/bwbench-install); big files are removed at the end
# (KEEP=1 keeps them). For each size, each run does, in this order and with
# the packages in the page cache and a `sync` (untimed) before every timed
# command: openssl dgst, bulwark install, RAUC, SWUpdate direct=true,
# SWUpdate direct=false, Mender. Every timed command is run under
# /usr/bin/time -v (wall clock and maximum resident set). Medians of N runs.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MAIN=$(cd "$HERE/.." && pwd)
PEER=${PEER:-$(cd "$(dirname "$0")/../.." && pwd)/shared/peer-bench}
ROOT=${ROOT:-/tmp/bwbench-install}
N=${N:-5}
SIZES=${SIZES:-"64 256"}
OUT=${OUT:-$HERE/results-install-latest.md}
BUILD=${BUILD:-$MAIN/build}
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
TMO=${TMO:-900}            # seconds before one peer step is given up

[ "$(id -u)" = 0 ] || { echo "install.sh: needs root (peer installers, loop devices)" >&2; exit 2; }
mkdir -p "$ROOT"
RES=$ROOT/results.txt; : > "$RES"
NOTES=$ROOT/notes.txt; : > "$NOTES"
note() { echo "$*" | tee -a "$NOTES"; }
log() { echo "[$(date +%T)] $*" >&2; }

# ---- 1. peers installed? (00-setup.sh does the apt-get install)
need="rauc swupdate mender mender-artifact mksquashfs dbus-run-session openssl cpio losetup unshare"
missing=""; for t in $need; do command -v "$t" >/dev/null || missing="$missing $t"; done
[ -x /usr/bin/time ] || missing="$missing /usr/bin/time"
if [ -n "$missing" ]; then
  log "missing:$missing -> installing the peers with $PEER/00-setup.sh"
  if ! W=$ROOT/setup IMG_MB=1 "$PEER/00-setup.sh" > "$ROOT/setup.log" 2>&1; then
    log "00-setup.sh failed; apt-get update and retry"
    apt-get update > "$ROOT/apt-update.log" 2>&1
    W=$ROOT/setup IMG_MB=1 "$PEER/00-setup.sh" >> "$ROOT/setup.log" 2>&1 || note "00-setup.sh (apt install) failed: $(tail -1 "$ROOT/setup.log")"
  fi
  rm -rf "$ROOT/setup"
fi
[ -x /usr/bin/time ] || { echo "install.sh: /usr/bin/time (GNU time) is needed" >&2; exit 2; }

# ---- bulwark binary: a private copy, so a rebuild in the checkout during
# the run cannot change what is measured
[ -x "$BUILD/bulwark" ] || cmake --build "$BUILD" -j2 >&2 || { echo "no $BUILD/bulwark" >&2; exit 2; }
mkdir -p "$ROOT/bin"; cp "$BUILD/bulwark" "$ROOT/bin/bulwark"; B=$ROOT/bin/bulwark
BW_SHA=$(sha256sum "$B" | cut -c1-12)
BW_BUILT=$(date -u -r "$BUILD/bulwark" +%Y-%m-%dT%H:%MZ)
GIT_HEAD=$(git -C "$MAIN" rev-parse --short HEAD 2>/dev/null || echo '?')
# the commit that was HEAD when the binary was built (the tree may have had uncommitted changes)
GIT_AT_BUILD=$(git -C "$MAIN" log -1 --format=%h --until="@$(stat -c %Y "$BUILD/bulwark")" 2>/dev/null || echo '?')
GIT_DIRTY=$(git -C "$MAIN" status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | tr '\n' ' ')

ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo 'not installed'; }
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "host=$(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r), /tmp on $(df --output=source,fstype /tmp | tail -1 | tr -s ' ')"
  echo "bulwark=$("$B" --version) (binary built $BW_BUILT when HEAD was $GIT_AT_BUILD, sha256 $BW_SHA...; at the start of the run HEAD was $GIT_HEAD${GIT_DIRTY:+, uncommitted: $GIT_DIRTY})"
  echo "rauc=$(ver rauc)"; echo "swupdate=$(ver swupdate)"; echo "mender=$(ver mender-client) (mender-artifact $(ver mender-artifact))"
  echo "openssl=$(openssl version | cut -d' ' -f1-2)"
  echo "N=$N"; echo "SIZES=$SIZES"
} > "$ROOT/meta.txt"
cat "$ROOT/meta.txt" >&2

# GNU time -v file -> "wall user sys maxrss_kb"
parse_time() {
  awk -F': ' '/Elapsed/{n=split($2,a,":"); w=(n==3)?a[1]*3600+a[2]*60+a[3]:a[1]*60+a[2]}
              /User time/{u=$2} /System time/{s=$2} /Maximum resident/{m=$2}
              END{printf "%.3f %.2f %.2f %d\n", w,u,s,m}' "$1"
}
oneline() { tr -s '\n\t ' ' ' | tr -d '"' | cut -c1-160; }

# run one peer install script; keep its RESULT line or record why it failed
peer() { # tool pkgname script [arg]
  local tool=$1 pkg=$2 script=$3; shift 3
  local lg=$W/logs/$tool-$pkg-run$run.log rc
  if [ -n "${PEER_BROKEN[$tool-$pkg]:-}" ]; then
    echo "run=$run size_mb=$mb FAIL tool=$tool pkg=$pkg reason=\"${PEER_BROKEN[$tool-$pkg]}\"" >> "$RES"; return
  fi
  cat "$W/$pkg" > /dev/null; sync
  SWU_VERBOSE=" " timeout "$TMO" "$PEER/$script" "$pkg" "$@" > "$lg" 2>&1; rc=$?
  local r; r=$(grep -m1 '^RESULT' "$lg")
  if [ -n "$r" ]; then
    [ "$tool" = mender ] && r="$r $(grep -o 'mender install rc=[0-9]*' "$lg" | tr ' ' '_')"
    echo "run=$run size_mb=$mb $r script_rc=$rc" >> "$RES"
  else
    local why; why=$( (grep -iE 'error|fail|denied|not permitted|no such' "$lg" || tail -3 "$lg") | tail -2 | oneline)
    [ $rc = 124 ] && why="timed out after ${TMO}s; $why"
    echo "run=$run size_mb=$mb FAIL tool=$tool pkg=$pkg rc=$rc reason=\"$why\"" >> "$RES"
  fi
  tail -1 "$RES" | cut -c1-200 >&2
}

declare -A PEER_BROKEN
for mb in $SIZES; do
  export W=$ROOT/work-${mb}M IMG_MB=$mb
  rm -rf "$W"; mkdir -p "$W/logs"
  BYTES=$((mb * 1024 * 1024))
  PEER_BROKEN=()
  log "== ${mb} MiB: image, keys and packages in $W"
  # keys + random image (no apt here)
  SKIP_APT=1 "$PEER/00-setup.sh" > "$W/logs/00-setup.log" 2>&1 || { note "${mb}M: 00-setup.sh failed: $(tail -2 "$W/logs/00-setup.log" | oneline)"; continue; }
  [ "$(stat -c %s "$W/rootfs.img")" = "$BYTES" ] || { note "${mb}M: rootfs.img has the wrong size"; continue; }
  # peer packages
  timeout "$TMO" "$PEER/20-rauc-bundle.sh" > "$W/logs/20-rauc-bundle.log" 2>&1 && [ -s "$W/update-plain.raucb" ] \
    || PEER_BROKEN[rauc-update-plain.raucb]="bundle build failed: $(tail -2 "$W/logs/20-rauc-bundle.log" | oneline)"
  timeout "$TMO" "$PEER/40-swupdate-bundle.sh" > "$W/logs/40-swupdate-bundle.log" 2>&1 \
    || { PEER_BROKEN[swupdate-update-direct-true.swu]="swu build failed: $(tail -2 "$W/logs/40-swupdate-bundle.log" | oneline)"
         PEER_BROKEN[swupdate-update-direct-false.swu]=${PEER_BROKEN[swupdate-update-direct-true.swu]}; }
  timeout "$TMO" "$PEER/70-mender-artifact.sh" > "$W/logs/70-mender-artifact.log" 2>&1 && [ -s "$W/update-none.mender" ] \
    || PEER_BROKEN[mender-update-none.mender]="artifact build failed: $(tail -2 "$W/logs/70-mender-artifact.log" | oneline)"
  grep -h 'wall=' "$W"/logs/[247]0-*.log | sed "s/^/build ${mb}M: /" >&2
  # bulwark package of the same image, and a simulated device with slots of the image's size
  mkdir -p "$W/bulwark"
  "$B" keygen --out "$W/bulwark/k.pem" --pub "$W/bulwark/p.pem" > /dev/null
  /usr/bin/time -f "bulwark sign: wall=%e s maxrss=%M KB" \
    "$B" sign --key "$W/bulwark/k.pem" --vendor-id $V --class-id $C --sequence 1 \
      --out "$W/bulwark/update.bwp" "$W/rootfs.img" > "$W/logs/bulwark-sign.log" 2>&1 \
    || { note "${mb}M: bulwark sign failed: $(tail -2 "$W/logs/bulwark-sign.log" | oneline)"; continue; }
  tail -1 "$W/logs/bulwark-sign.log" | sed "s/^/build ${mb}M: /" >&2
  DEV=$W/bulwark/dev
  for run in $(seq "$N"); do
    log "-- ${mb} MiB run $run/$N"
    # reference: openssl dgst -sha256 of the image
    cat "$W/rootfs.img" > /dev/null; sync
    t0=${EPOCHREALTIME/./}
    /usr/bin/time -v -o "$W/ossl.time" openssl dgst -sha256 "$W/rootfs.img" > /dev/null 2>"$W/logs/openssl.err"; rc=$?
    t1=${EPOCHREALTIME/./}
    read -r w u s m < <(parse_time "$W/ossl.time")
    echo "run=$run size_mb=$mb RESULT tool=openssl-dgst pkg=rootfs.img size_mb=$mb rc=$rc wall=$w user=$u sys=$s maxrss_kb=$m wall_hr=$(( (t1 - t0) / 1000 ))ms load1=$(cut -d' ' -f1 /proc/loadavg) slotB_ok=na" >> "$RES"
    tail -1 "$RES" | cut -c1-200 >&2

    # second reference, the disk's floor: copy the image into a fresh file and
    # fdatasync it (what any installer must at least do), no verification
    rm -f "$W/dd-slot.img"; cat "$W/rootfs.img" > /dev/null; sync
    t0=${EPOCHREALTIME/./}
    /usr/bin/time -v -o "$W/dd.time" dd if="$W/rootfs.img" of="$W/dd-slot.img" bs=4M conv=fdatasync status=none 2>"$W/logs/dd.err"; rc=$?
    t1=${EPOCHREALTIME/./}
    read -r w u s m < <(parse_time "$W/dd.time")
    echo "run=$run size_mb=$mb RESULT tool=dd pkg=rootfs.img size_mb=$mb rc=$rc wall=$w user=$u sys=$s maxrss_kb=$m wall_hr=$(( (t1 - t0) / 1000 ))ms load1=$(cut -d' ' -f1 /proc/loadavg) slotB_ok=na" >> "$RES"
    rm -f "$W/dd-slot.img"

    # bulwark: a fresh device (new empty sparse slots, no trial) untimed, then install
    "$B" device init --dir "$DEV" --slot-size "$BYTES" --pub "$W/bulwark/p.pem" \
        --vendor-id $V --class-id $C --force > "$W/logs/bulwark-init.log" 2>&1
    cat "$W/bulwark/update.bwp" > /dev/null; sync
    t0=${EPOCHREALTIME/./}
    /usr/bin/time -v -o "$W/bw.time" "$B" install --config "$DEV/device.conf" "$W/bulwark/update.bwp" \
        > "$W/logs/bulwark-install-run$run.log" 2>&1; rc=$?
    t1=${EPOCHREALTIME/./}
    read -r w u s m < <(parse_time "$W/bw.time")
    ok=0; [ $rc = 0 ] && cmp -s -n "$BYTES" "$W/rootfs.img" "$DEV/slot-b.img" && ok=1
    if [ $rc = 0 ] || [ -s "$W/bw.time" ]; then
      echo "run=$run size_mb=$mb RESULT tool=bulwark pkg=update.bwp size_mb=$mb rc=$rc wall=$w user=$u sys=$s maxrss_kb=$m wall_hr=$(( (t1 - t0) / 1000 ))ms load1=$(cut -d' ' -f1 /proc/loadavg) slotB_ok=$ok" >> "$RES"
    fi
    [ $rc = 0 ] || note "${mb}M run $run: bulwark install rc=$rc: $(tail -2 "$W/logs/bulwark-install-run$run.log" | oneline)"
    tail -1 "$RES" | cut -c1-200 >&2

    peer rauc update-plain.raucb 30-rauc-install.sh
    peer swupdate update-direct-true.swu 50-swupdate-install.sh
    peer swupdate update-direct-false.swu 50-swupdate-install.sh
    peer mender update-none.mender 75-mender-install.sh
  done
  if [ "${KEEP:-0}" != 1 ]; then
    find "$W" -type f -size +1M -delete; rm -rf "$W"/rauc-content-* "$W"/swu-build-*
  fi
done

# ---- 4. tables
"$PY" - "$RES" "$ROOT/meta.txt" "$NOTES" > "$OUT" <<'PY'
import re, sys, statistics as st, collections as C
res, meta, notes = sys.argv[1:4]
M = dict(l.rstrip('\n').split('=', 1) for l in open(meta) if '=' in l)
rows = C.defaultdict(list)   # (size, tool) -> list of dict
fails = C.defaultdict(list)
LABEL = {('openssl-dgst', 'rootfs.img'): 'openssl dgst -sha256 (reference)',
         ('bulwark', 'update.bwp'): 'bulwark install',
         ('rauc', 'update-plain.raucb'): 'RAUC, plain bundle',
         ('swupdate', 'update-direct-true.swu'): 'SWUpdate, installed-directly=true',
         ('swupdate', 'update-direct-false.swu'): 'SWUpdate, installed-directly=false',
         ('mender', 'update-none.mender'): 'Mender, rootfs-image (uncompressed)',
         ('dd', 'rootfs.img'): 'dd conv=fdatasync (disk floor: copy + sync, no checks)'}
ORDER = list(LABEL.values())
raw = []
for l in open(res):
    l = l.rstrip('\n'); raw.append(l)
    kv = dict(re.findall(r'(\w+)=("[^"]*"|[^\s\]]+)', l))
    size = int(kv['size_mb']); tool = kv['tool']
    pkg = kv.get('pkg') or kv.get('bundle') or kv.get('swu') or kv.get('artifact')
    lab = LABEL.get((tool, pkg), f'{tool} {pkg}')
    if ' FAIL ' in l:
        fails[(size, lab)].append(kv.get('reason', '').strip('"')); continue
    if tool == 'rauc':
        wall = float(kv['client_wall'])
        m = re.search(r'service\[[^\]]*maxrss=(\d+)', l); rss = int(m.group(1)) if m else None
        ok = kv.get('slotB_ok') == '1'
    else:
        wall = float(kv['wall']); rss = int(kv['maxrss_kb'])
        ok = kv.get('slotB_ok') in ('1', 'na') and kv.get('rc', '0') == '0' \
             and kv.get('mender_install_rc', '0') == '0'
    hr = kv.get('wall_hr'); hr = float(hr[:-2]) / 1000 if hr else None
    rows[(size, lab)].append(dict(wall=wall, rss=rss, ok=ok, hr=hr,
                                  verified=kv.get('slotB_ok') != 'na'))
sizes = sorted({k[0] for k in list(rows) + list(fails)})
med = lambda xs: st.median(xs) if xs else None
P = print
P('# Install benchmark: bulwark against RAUC, SWUpdate and Mender\n')
P(f"Generated by `bench/install.sh` on {M.get('date')}.\n")
P(f"- host: {M.get('host')}")
P(f"- {M.get('bulwark')}")
P(f"- RAUC {M.get('rauc')}, SWUpdate {M.get('swupdate')}, Mender client {M.get('mender')}, {M.get('openssl')} (Debian 12 packages)")
P(f"- {M.get('N')} runs per tool and size, interleaved; medians; packages in the page cache; `sync` before every timed command")
P('- wall and peak RSS from GNU `/usr/bin/time -v` around the install command (RAUC: wall of the `rauc install` client, '
  'peak RSS of the `rauc service` process that does the work, started fresh for each install)')
P('- slot check: after every install the slot is compared with the image (`cmp`); "OK n/N" = runs whose install succeeded and whose slot held exactly the image\n')
summary = {}
for s in sizes:
    ref = med([r['wall'] for r in rows.get((s, ORDER[0]), [])])
    rauc = med([r['wall'] for r in rows.get((s, ORDER[2]), []) if r['ok']])
    P(f'## {s} MiB image\n')
    P('| tool | median wall (s) | min-max (s) | x openssl dgst | x RAUC | peak RSS (max of runs) | slot content |')
    P('|---|---:|---:|---:|---:|---:|---|')
    labs = ORDER + sorted({k[1] for k in list(rows) + list(fails) if k[0] == s and k[1] not in ORDER})
    for lab in labs:
        rs = rows.get((s, lab), []); fl = fails.get((s, lab), [])
        if not rs and not fl: continue
        good = [r for r in rs if r['ok']]
        if not good:
            why = '; '.join(sorted(set(fl)))[:200] or 'no successful run'
            P(f'| {lab} | not run | | | | | {why} |'); continue
        w = med([r['wall'] for r in good]); rss = max(r['rss'] for r in good if r['rss'] is not None)
        xr = f'{w/ref:.2f}x' if ref else ''
        xa = f'{w/rauc:.2f}x' if rauc and lab != ORDER[0] else ''
        if lab == ORDER[0]: xr = '1.00x'
        chk = 'n/a (reads only)' if lab == ORDER[0] else f'OK {sum(r["ok"] for r in rs)}/{len(rs) + len(fl)}'
        if fl: chk += f' ({len(fl)} failed: {fl[0][:80]})'
        ws = [r['wall'] for r in good]
        P(f'| {lab} | {w:.3f} | {min(ws):.2f}-{max(ws):.2f} | {xr} | {xa} | {rss/1024:.1f} MiB | {chk} |')
        summary[(s, lab)] = dict(wall=w, rss=rss, n=len(good))
    bw = [r for r in rows.get((s, ORDER[1]), []) if r['ok']]
    rf = rows.get((s, ORDER[0]), [])
    if bw and rf:
        hb, hr_ = med([r['hr'] for r in bw]), med([r['hr'] for r in rf])
        P(f'\nFiner clock (bash `$EPOCHREALTIME` around the same commands, GNU time rounds to 10 ms): '
          f'bulwark {hb:.3f} s, openssl dgst {hr_:.3f} s, ratio {hb/hr_:.2f}x.')
    P()
P('## Targets (from the issue)\n')
P('| size | target | measured | met |')
P('|---|---|---|---|')
peers = [l for l in ORDER[2:6]]
DD = ORDER[6]
for s in sizes:
    b = summary.get((s, ORDER[1])); o = summary.get((s, ORDER[0])); r = summary.get((s, ORDER[2]))
    if not b:
        P(f'| {s} MiB | all | bulwark install did not succeed | no |'); continue
    yn = lambda c: 'yes' if c else '**no**'
    if r: P(f"| {s} MiB | <= 0.5x RAUC | {b['wall']/r['wall']:.2f}x ({b['wall']:.3f} s vs {r['wall']:.3f} s) | {yn(b['wall'] <= 0.5*r['wall'])} |")
    else: P(f'| {s} MiB | <= 0.5x RAUC | RAUC did not run | not checked |')
    ps = [(l, summary[(s, l)]['wall']) for l in peers if (s, l) in summary]
    if ps:
        fastest = min(ps, key=lambda x: x[1])
        miss = [l for l in peers if (s, l) not in summary]
        P(f"| {s} MiB | below every peer | {b['wall']:.3f} s vs fastest peer {fastest[0]} {fastest[1]:.3f} s"
          f"{'; not run: ' + ', '.join(miss) if miss else ''} | {yn(b['wall'] < fastest[1])}{' (of the peers that ran)' if miss else ''} |")
    if o: P(f"| {s} MiB | <= 1.5x openssl dgst -sha256 | {b['wall']/o['wall']:.2f}x ({b['wall']:.3f} s vs {o['wall']:.3f} s) | {yn(b['wall'] <= 1.5*o['wall'])} |")
    d = summary.get((s, DD))
    if d and o: P(f"| {s} MiB | (context) the disk floor: max(dgst, dd copy+fdatasync) | bulwark {b['wall']/max(d['wall'], o['wall']):.2f}x of {max(d['wall'], o['wall']):.3f} s (dd {d['wall']:.3f} s) | n/a |")
    P(f"| {s} MiB | peak RSS < 16 MiB | {b['rss']/1024:.1f} MiB | {yn(b['rss'] < 16*1024)} |")
rss = [summary[(s, ORDER[1])]['rss'] for s in sizes if (s, ORDER[1]) in summary]
if len(rss) > 1:
    P(f"| all | peak RSS independent of image size | {' / '.join(f'{x/1024:.1f}' for x in rss)} MiB for {' / '.join(f'{s}' for s in sizes)} MiB | {'yes' if max(rss) - min(rss) < 1024 else '**no**'} |")
nl = [l.strip() for l in open(notes) if l.strip()]
if nl:
    P('\n## Problems during the run\n'); [P(f'- {l}') for l in nl]
P('\n## Raw results\n\n```'); [P(l) for l in raw]; P('```')
PY
cat "$OUT"
echo "raw: $RES  logs: $ROOT/work-*M/logs  table: $OUT" >&2
