#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make install` as a packager uses it: install into a staging prefix, then
# build an outside program against the installed headers with pkg-config,
# linked shared and static, and run both on a SUIT example envelope.
# Usage: install.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$(realpath "$1"); SRC=$(realpath "$2")
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/usr" >/dev/null
pc=$(find "$T/usr" -name bulwark.pc)
sed -i "s|^prefix=.*|prefix=$T/usr|" "$pc"
export PKG_CONFIG_PATH=$(dirname "$pc")
pass=0 fail=0
t() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2" >&2; fi; }
t '[ -x "$T/usr/bin/bulwark" ] && [ -f "$T/usr/include/bulwark/suit.h" ]' "binary and headers installed"
t 'ls "$T"/usr/lib*/libbulwark.a "$T"/usr/lib*/libbulwark.so.0 >/dev/null 2>&1 || ls "$T"/usr/lib/*/libbulwark.a >/dev/null' "static and shared libraries installed"
t '[ -n "$(find "$T/usr" -name bulwark.1)" ]' "man page installed"
PUB=048496811aae0baaabd26157189eecda26beaa8bf11b6f3fe6e2b5659c85dbc0ad3b1f2a4b6c098131c0a36dacd1d78bd381dcdfb09c052db33991db7338b4a896
ENV=$(cat "$SRC/tests/vectors/suit/draft-suit-ex1.hex")
cc -o "$T/shared" "$SRC/tests/integ/consumer.c" $(pkg-config --cflags --libs bulwark)
t 'LD_LIBRARY_PATH=$(dirname "$(find "$T/usr" -name libbulwark.so.0)") "$T/shared" $PUB $ENV | grep -q "success, sequence 1"' "shared consumer"
cc -o "$T/static" "$SRC/tests/integ/consumer.c" $(pkg-config --cflags bulwark) \
  "$(find "$T/usr" -name libbulwark.a)" $(pkg-config --libs-only-l --static libcrypto) -pthread
t '"$T/static" $PUB $ENV | grep -q "success, sequence 1"' "static consumer"
t '! "$T/static" $PUB ${ENV%??}00 >/dev/null' "static consumer refuses a changed envelope"
# Installed headers match installed libraries: every function a header
# under include/bulwark/ declares is defined in libbulwark, every one under
# include/bwh/ in libbulwark-host, and neither library defines the other's.
decls() { grep -hv 'static inline' "$@" | grep -oE '^(BW_NODISCARD )?[a-z_ ]+\**\b(bw|bwh)_[a-z0-9_]+\(' | grep -oE '(bw|bwh)_[a-z0-9_]+\(' | tr -d '(' | sort -u; }
defs() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF==3 && $2 ~ /[TDRB]/ {print $3}' | sort -u; }
core_a=$(find "$T/usr" -name libbulwark.a); host_a=$(find "$T/usr" -name libbulwark-host.a)
t '[ -f "$host_a" ] && [ -f "$T/usr/include/bwh/host.h" ] && [ -n "$(find "$T/usr" -name bulwark-host.pc)" ]' "host library, headers and pkg-config file installed"
t '[ "$(decls "$T"/usr/include/bulwark/*.h | wc -l)" -gt 50 ] && [ -z "$(comm -23 <(decls "$T"/usr/include/bulwark/*.h) <(defs "$core_a"))" ]' "every core header function is in libbulwark"
t '[ -z "$(comm -23 <(decls "$T"/usr/include/bwh/*.h) <(defs "$host_a"))" ]' "every host header function is in libbulwark-host"
t '[ -z "$(defs "$host_a" | grep -E "^bw_")" ] && [ -z "$(defs "$core_a" | grep -E "^bwh_")" ]' "each library keeps its own prefix"
t '! grep -l "bwh/" "$T"/usr/include/bulwark/*.h' "core headers never include host headers"
sed -i "s|^prefix=.*|prefix=$T/usr|" "$(find "$T/usr" -name bulwark-host.pc)"
cc -o "$T/hostc" "$SRC/tests/integ/consumer_host.c" $(pkg-config --cflags bulwark-host) \
  "$host_a" "$core_a" $(pkg-config --libs-only-l --static libssl libubootenv libargon2 tss2-esys tss2-tctildr tss2-rc tss2-mu libzstd) -pthread -ldl
"$BUILD/bulwark" keygen --out "$T/k.pem" --pub "$T/p.pem" >/dev/null
head -c 200000 /dev/urandom > "$T/img"
"$BUILD/bulwark" sign --key "$T/k.pem" --vendor-id fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe \
  --class-id 1492af14-2569-5e48-bf42-9b2d51f2ab45 --sequence 1 --out "$T/pkg" "$T/img" >/dev/null
t '"$T/hostc" "$T/p.pem" "$T/pkg" | grep -q "libbulwark-host: success"' "host consumer verifies a package"
printf x >> "$T/pkg"
t '! "$T/hostc" "$T/p.pem" "$T/pkg" >/dev/null' "host consumer refuses a package with trailing bytes"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
