# SPDX-License-Identifier: Apache-2.0
# Sourced by the PKCS#11 integration tests: finds softhsm2's module
# ($module), makes a new temporary directory $T with a private token
# directory (SOFTHSM2_CONF exported), cd's there and removes it at exit
# (after running $CLEANUP, which a test may set, e.g. to stop a daemon).
# Defines the ok/bad counters, the user PIN 1234 in $T/pin, and
# token LABEL, which initializes a token with that PIN.
module=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
    if [ -f "$m" ]; then module=$m; break; fi
done
[ -n "$module" ] || { echo "FAIL: libsofthsm2.so not found (apt-get install softhsm2)" >&2; exit 1; }
T=$(mktemp -d)
CLEANUP=:
trap 'eval "$CLEANUP"; rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$T" > softhsm2.conf
SOFTHSM2_CONF=$T/softhsm2.conf
export SOFTHSM2_CONF
echo 1234 > pin
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
token() { softhsm2-util --init-token --free --label "$1" --pin 1234 --so-pin 5678 >/dev/null; }
