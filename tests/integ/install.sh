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
echo "$pass passed, $fail failed"
[ $fail = 0 ]
