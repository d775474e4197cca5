#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Delta updates against other tools on realistic image pairs (issue 17,
# docs/delta.md). Each image is a 256 MiB ext4 file system made with
# `mke2fs -d` (fixed UUID, hash seed and time, so a rerun on this machine
# gives the same bytes) from a tree of unpacked Debian packages: a base set
# from /var/cache/apt/archives, plus packages fetched with `apt-get download`
# in two versions (bookworm and its security/updates suite): v1 has the old
# versions and three packages v2 drops, v2 the new versions and three
# packages v1 lacks. A second, in-place pair: v1 again with a few files
# patched in the same image (same layout).
# For each pair, the same run measures: bulwark delta (bytes and Range
# requests from a real install over HTTP on 127.0.0.1, device peak RSS,
# CPU and wall time from a local install), bulwark full compressed
# (package size, local install), xdelta3, zstd -19 of the image, and when
# their Debian packages are installed bsdiff (60 s limit), zchunk
# (zck_delta_size) and casync (new chunks not in the old store).
# Usage: bench/delta.sh BUILD_DIR [WORKDIR]   (writes bench/results-delta-latest.md)
set -u
BUILD=$(realpath "$1")
B=$BUILD/bulwark
HERE=$(dirname "$(realpath "$0")")
ROOT=$(dirname "$HERE")
W=${2:-/var/tmp/bulwark-bench-delta}
DEBS=${BULWARK_BENCH_DEBS:-/var/tmp/bulwark-bench-debs}
OUT=$HERE/results-delta-latest.md
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
SIZE=256M
mkdir -p "$W" "$DEBS"
cd "$W" || exit 1
export E2FSPROGS_FAKE_TIME=1700000000 SOURCE_DATE_EPOCH=1700000000

# package old-version new-version (both in Debian 12's archive)
UPGRADES="libc6 2.36-9+deb12u7 2.36-9+deb12u14
libc-bin 2.36-9+deb12u7 2.36-9+deb12u14
libsystemd0 252.38-1~deb12u1 252.39-1~deb12u2
libudev1 252.38-1~deb12u1 252.39-1~deb12u2
systemd 252.38-1~deb12u1 252.39-1~deb12u2
libcurl4 7.88.1-10+deb12u5 7.88.1-10+deb12u15
curl 7.88.1-10+deb12u5 7.88.1-10+deb12u15
libexpat1 2.5.0-1+deb12u2 2.5.0-1+deb12u5
libxml2 2.9.14+dfsg-1.3~deb12u4 2.9.14+dfsg-1.3~deb12u6
libglib2.0-0 2.74.6-2+deb12u2 2.74.6-2+deb12u9
libnss3 2:3.87.1-1+deb12u2 2:3.87.1-1+deb12u4
libtiff6 4.5.0-6+deb12u4 4.5.0-6+deb12u5
perl-base 5.36.0-7+deb12u3 5.36.0-7+deb12u4
libperl5.36 5.36.0-7+deb12u3 5.36.0-7+deb12u4
python3.11 3.11.2-6+deb12u8 3.11.2-6+deb12u9
libpython3.11-minimal 3.11.2-6+deb12u8 3.11.2-6+deb12u9
libpython3.11-stdlib 3.11.2-6+deb12u8 3.11.2-6+deb12u9
libpq5 15.18-0+deb12u1 15.20-0+deb12u1
git 1:2.39.5-0+deb12u2 1:2.39.5-0+deb12u3
git-man 1:2.39.5-0+deb12u2 1:2.39.5-0+deb12u3
openssh-client 1:9.2p1-2+deb12u7 1:9.2p1-2+deb12u10
tzdata 2025b-0+deb12u1 2026f-0+deb12u1"

fetch() { # PKG VERSION: the .deb's path in $DEBS
  local f
  f=$(ls "$DEBS/$1_$(echo "$2" | sed 's/^[0-9]*://')_"*.deb 2>/dev/null | head -1)
  if [ -z "$f" ]; then
    (cd "$DEBS" && apt-get download "$1=$2" >/dev/null 2>&1)
    f=$(ls "$DEBS/$1_$(echo "$2" | sed 's/^[0-9]*://')_"*.deb 2>/dev/null | head -1)
  fi
  echo "$f"
}

if [ ! -f v2.img ]; then
  rm -rf t1 t2 && mkdir t1 t2
  upg=$(echo "$UPGRADES" | awk '{print $1}' | sort)
  # the base: cached .debs of one version only, not upgraded, by name, up to ~12 MiB of .debs
  ls /var/cache/apt/archives/*.deb | sort | awk -F/ '{print $NF}' |
    awk -F_ '{n[$1]++; f[$1]=$0} END {for (k in n) if (n[k] == 1) print f[k]}' | sort > base.all
  : > base.list
  total=0
  while read -r f; do
    p=${f%%_*}
    echo "$upg" | grep -q -x -F "$p" && continue
    case "$p" in linux-*|*-dbg|*-dbgsym|firmware-*|*-doc) continue ;; esac
    s=$(stat -c %s "/var/cache/apt/archives/$f")
    [ "$s" -gt $((8 << 20)) ] && continue
    total=$((total + s))
    [ $total -gt $((12 << 20)) ] && break
    echo "$f" >> base.list
  done < base.all
  n=$(wc -l < base.list)
  head -n $((n - 6)) base.list > common.list
  sed -n "$((n - 5)),$((n - 3))p" base.list > removed.list
  tail -n 3 base.list > added.list
  for f in $(cat common.list removed.list); do dpkg-deb -x "/var/cache/apt/archives/$f" t1; done
  for f in $(cat common.list added.list); do dpkg-deb -x "/var/cache/apt/archives/$f" t2; done
  : > upgraded.list
  echo "$UPGRADES" | while read -r p o nv; do
    fo=$(fetch "$p" "$o"); fn=$(fetch "$p" "$nv")
    if [ -n "$fo" ] && [ -n "$fn" ]; then
      dpkg-deb -x "$fo" t1 && dpkg-deb -x "$fn" t2 && echo "$p $o $nv" >> upgraded.list
    fi
  done
  mk() { mke2fs -q -F -t ext4 -b 4096 -U 6b1d5f3e-0a31-4c55-9d2e-0c4f8e6a1b21 \
           -E hash_seed=0f3c4b5a-1e2d-4c6b-8a9f-112233445566,root_owner=0:0 -d "$1" "$2" $SIZE; }
  mk t1 v1.img && mk t2 v2.img
  # in place: four files of v1 patched without changing their size or the layout
  cp -r t1 t3
  for f in $(cd t3 && find . -type f -size +200k | sort | head -4); do
    $PY -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); \
[b.__setitem__(i, b[i] ^ 0x11) for i in range(1000, len(b), 9973)]; open(p,'wb').write(b)" "t3/$f"
  done
  mk t3 v3.img
  rm -rf t1 t2 t3
fi

V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe C=1492af14-2569-5e48-bf42-9b2d51f2ab45
[ -f k.pem ] || "$B" keygen --out k.pem --pub p.pem >/dev/null
S="--key k.pem --vendor-id $V --class-id $C"
tm() { /usr/bin/time -f "%e %U %S %M" -o time.txt "$@" >/dev/null 2>run.err; } # wall user sys maxrss_kib
tmrow() { awk '{printf "%.2f s | %.2f s | %.1f MiB", $1, $2 + $3, $4 / 1024}' time.txt; }
device() { # DIR: a device running v1 in slot b
  rm -rf "$1"
  "$B" device init --dir "$1" --slot-size $((256 << 20)) --pub p.pem --vendor-id $V --class-id $C >/dev/null
  "$B" install --config "$1/device.conf" v1.bwp >/dev/null &&
    "$B" boot --config "$1/device.conf" >/dev/null && "$B" confirm --config "$1/device.conf" >/dev/null
}
[ -f v1.bwp ] || "$B" sign $S --sequence 1 --out v1.bwp v1.img >/dev/null
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

{
  echo "# bench/delta.sh: delta updates on 256 MiB ext4 images"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores (load $(cut -d' ' -f1-3 /proc/loadavg) at the start), $(wc -l < "$W/common.list") common packages,"
  echo "$(wc -l < "$W/upgraded.list") upgraded ($(awk '{printf "%s ", $1}' "$W/upgraded.list")),"
  echo "3 removed ($(sed 's/_.*//' "$W/removed.list" | tr '\n' ' ')), 3 added ($(sed 's/_.*//' "$W/added.list" | tr '\n' ' '))."
  echo "Device side: bytes fetched, HTTP requests, peak RSS, CPU (user+sys) and wall of the apply/install."
} > "$OUT"

pair() { # NAME NEW_IMAGE
  local name=$1 new=$2 seq=$3 full fz xd zs dbytes dreq
  echo "== $name" >&2
  [ -f "$name.bwp" ] || "$B" sign $S --sequence "$seq" --compress --out "$name.bwp" "$new" >/dev/null
  full=$(stat -c %s "$name.bwp")
  tm "$B" delta make v1.img "$name.bwp" --out "$name.bwd"
  make_t=$(awk '{print $1}' time.txt)
  "$B" delta-plan --json v1.img "$name.bwd" > plan.json
  {
    echo
    echo "## $name"
    echo
    echo "| method | bytes transferred | requests | wall | device CPU | device peak RSS |"
    echo "|---|---|---|---|---|---|"
  } >> "$OUT"
  # bulwark full, compressed, and bulwark delta, both from a local file:
  # twice each, alternating (the machine is shared: each run's load is noted)
  full_walls= delta_walls= dloc= delta_rss=0
  for run in 1 2; do
    device devF
    load=$(cut -d' ' -f1 /proc/loadavg)
    tm "$B" install --config devF/device.conf "$name.bwp"
    echo "| bulwark full (zstd, local file), run $run, load $load | $full ($(mib "$full") MiB) | 1 | $(tmrow) |" >> "$OUT"
    full_walls="$full_walls $(awk '{print $1}' time.txt)"
    device devD
    load=$(cut -d' ' -f1 /proc/loadavg)
    tm "$B" install --config devD/device.conf --delta "$name.bwd" --delta-only "$name.bwp"
    cmp -s -n "$(stat -c %s "$new")" devD/slot-a.img "$new" || echo "DELTA INSTALL WRONG" >&2
    dloc="$dloc| bulwark delta (local file), run $run, load $load | same | - | $(tmrow) |
"
    delta_walls="$delta_walls $(awk '{print $1}' time.txt)"
    r=$(awk '{print $4}' time.txt); [ "$r" -gt "$delta_rss" ] && delta_rss=$r
  done
  # the ratio of the best runs: the least disturbed by other work
  full_wall=$(echo $full_walls | tr ' ' '\n' | sort -n | head -1)
  delta_wall=$(echo $delta_walls | tr ' ' '\n' | sort -n | head -1)
  # bulwark delta over HTTP (127.0.0.1): bytes and requests as the server saw them
  mkdir -p www && cp "$name.bwd" "$name.bwp" www/
  # nginx when installed (a real static server), else tests/integ/httpd.py;
  # both log one line per request with the body bytes in field 5
  rm -f port http.log
  if command -v nginx >/dev/null; then
    mkdir -p ngx && echo 18481 > port
    cat > ngx/nginx.conf <<EOF
daemon off; worker_processes 1; pid $W/ngx/pid; error_log $W/ngx/err.log;
events { worker_connections 64; }
http { log_format bw '\$request_method \$uri \$status \$http_range \$body_bytes_sent';
  access_log $W/http.log bw; sendfile on; client_body_temp_path $W/ngx;
  proxy_temp_path $W/ngx; fastcgi_temp_path $W/ngx; uwsgi_temp_path $W/ngx; scgi_temp_path $W/ngx;
  server { listen 127.0.0.1:18481; root $W/www; } }
EOF
    nginx -c "$W/ngx/nginx.conf" -p "$W/ngx" & hp=$!
    server=nginx
  else
    $PY "$ROOT/tests/integ/httpd.py" www port 2>http.log & hp=$!
    server=httpd.py
  fi
  for _ in $(seq 50); do [ -s port ] && (exec 3<>/dev/tcp/127.0.0.1/"$(cat port)") 2>/dev/null && break; sleep 0.1; done
  : > http.log
  device devD
  tm "$B" install --config devD/device.conf --delta "http://127.0.0.1:$(cat port)/$name.bwd" --delta-only \
    "http://127.0.0.1:$(cat port)/$name.bwp"
  kill $hp; wait $hp 2>/dev/null
  dbytes=$(awk '{s += $5} END {print s}' http.log); dreq=$(wc -l < http.log)
  echo "| **bulwark delta** (HTTP Range, $server) | $dbytes ($(mib "$dbytes") MiB) | $dreq | $(tmrow) |" >> "$OUT"
  printf '%s' "$dloc" >> "$OUT"
  # xdelta3
  xd=-
  if command -v xdelta3 >/dev/null; then
    xdelta3 -e -9 -S djw -f -s v1.img "$new" x.vcdiff
    xd=$(stat -c %s x.vcdiff)
    tm xdelta3 -d -f -s v1.img x.vcdiff x.out
    echo "| xdelta3 -9 -S djw | $xd ($(mib "$xd") MiB) | 1 | $(tmrow) |" >> "$OUT"
  fi
  zs=$(zstd -19 -T1 -c "$new" | wc -c)
  zstd -19 -T1 -c "$new" > z.zst
  tm zstd -d -f -o z.out z.zst
  echo "| zstd -19 of the image | $zs ($(mib "$zs") MiB) | 1 | $(tmrow) (decompress) |" >> "$OUT"
  if command -v bsdiff >/dev/null; then
    if timeout 60 bsdiff v1.img "$new" b.patch 2>/dev/null; then
      bs=$(stat -c %s b.patch); tm bspatch v1.img b.out b.patch
      echo "| bsdiff | $bs ($(mib "$bs") MiB) | 1 | $(tmrow) |" >> "$OUT"
    else
      echo "| bsdiff | (did not finish in 60 s) | | | | |" >> "$OUT"
    fi
  fi
  if command -v zck >/dev/null && command -v zck_delta_size >/dev/null; then
    zck -o old.zck v1.img >/dev/null 2>&1; zck -o new.zck "$new" >/dev/null 2>&1
    zb=$(zck_delta_size old.zck new.zck 2>/dev/null | sed -n 's/.*Would download \([0-9]*\).*/\1/p')
    echo "| zchunk (zck_delta_size) | ${zb:-?} ($(mib "${zb:-0}") MiB) | - | - | - | - |" >> "$OUT"
  fi
  if command -v casync >/dev/null; then
    rm -rf so sn && casync make --store=so old.caibx v1.img >/dev/null 2>&1 &&
      casync make --store=sn new.caibx "$new" >/dev/null 2>&1
    cb=$( (cd sn && find . -name '*.cacnk' | sort) > n.l; (cd so && find . -name '*.cacnk' | sort) > o.l
          comm -23 n.l o.l | (cd sn && xargs -r stat -c %s) | awk '{s += $1} END {print s + 0}')
    cb=$((cb + $(stat -c %s new.caibx)))
    echo "| casync (new chunks + index) | $cb ($(mib "$cb") MiB) | - | - | - | - |" >> "$OUT"
  fi
  {
    echo
    echo "delta-plan predicted $(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' plan.json) bytes in" \
         "$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' plan.json) requests" \
         "($(sed -n 's/.*"reused":\([0-9]*\),"delta":\([0-9]*\),"whole":\([0-9]*\).*/\1 chunks reused, \2 coded, \3 whole/p' plan.json));" \
         "delta make took $make_t s. Targets: delta bytes / xdelta3 = $(awk -v a="$dbytes" -v b="$xd" 'BEGIN {if (b + 0) printf "%.2f", a / b; else print "-"}') (<= 1.2);" \
         "RSS $(mib $((delta_rss * 1024))) MiB (< 16); requests $dreq (<= 64);" \
         "delta wall / full local wall = $(awk -v a="$delta_wall" -v b="$full_wall" 'BEGIN {printf "%.2f", a / b}') (<= 1.5; best of two runs each: delta$delta_walls s, full$full_walls s);" \
         "full compressed / zstd -19 = $(awk -v a="$full" -v b="$zs" 'BEGIN {printf "%.3f", a / b}') (<= 1.1)."
  } >> "$OUT"
}
pair upgrade v2.img 2
pair inplace v3.img 3
cat "$OUT"
