#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# flipbyte.sh FILE OFFSET: changes one bit of the byte at OFFSET, in place.
# Tests use it to tamper with a file: writing a fixed byte instead would
# leave the file unchanged whenever it already held that byte (1 run in 256
# on random data), and the test would then fail for no fault of the code.
set -eu
b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
[ -n "$b" ] || { echo "flipbyte.sh: $1 has no byte at offset $2" >&2; exit 1; }
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
