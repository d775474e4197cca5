#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TPM key backend tests on a real TPM 2.0 simulator. Starts swtpm (TCP on
# free loopback ports), a private dbus session bus and tpm2-abrmd on it, all
# in a temp dir; runs the keystore contract directly on swtpm and through
# abrmd, negative cases, and interop with tpm2-tools and openssl; stops the
# three daemons by PID on exit. Needs no systemd and no system bus.
# Usage: swtpm.sh BINDIR   (BINDIR holds test_keystore and test_tpm)
set -u

BIN=${1:?usage: swtpm.sh BINDIR}
fails=0
SWTPM_PID= DBUS_PID= ABRMD_PID=

say() { printf '%s\n' "$*"; }
bad() { say "FAIL: $*" >&2; fails=$((fails + 1)); }
die() { say "FAIL: $*" >&2; exit 1; }

alive() { # a zombie (daemonized swtpm, reparented to a pid 1 that never reaps) counts as gone
    kill -0 "$1" 2>/dev/null || return 1
    [ "$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

stop() { # stop PID: TERM, wait up to 5 s, then KILL
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || return 0
    i=0
    while alive "$1" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    alive "$1" && kill -9 "$1" 2>/dev/null
    return 0
}

cleanup() {
    stop "$ABRMD_PID"
    stop "$DBUS_PID"
    stop "$SWTPM_PID"
    rm -rf "$T"
}

for tool in swtpm dbus-daemon dbus-send tpm2-abrmd tpm2_readpublic tpm2_createprimary \
    tpm2_evictcontrol tpm2_getcap tpm2_sign openssl timeout od cmp; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool not found (apt-get install swtpm swtpm-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon dbus-bin openssl)"
done
[ -x "$BIN/test_keystore" ] && [ -x "$BIN/test_tpm" ] || die "test_keystore/test_tpm not in $BIN"

T=$(mktemp -d) || die "mktemp"
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# every step gets a time limit, so a hung daemon fails the test instead of
# leaving ctest to kill the script without running the trap
run() { timeout 30 "$@"; }

# ---- swtpm: random port pair, retried if taken --------------------------------
mkdir "$T/state"
n=0
while :; do
    n=$((n + 1))
    [ $n -le 20 ] || die "no free port pair for swtpm after 20 tries"
    P=$((20000 + ($(od -An -N2 -tu2 /dev/urandom) % 20000) * 2))
    swtpm socket --tpm2 --tpmstate dir="$T/state" \
        --server type=tcp,port=$P,bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((P + 1)),bindaddr=127.0.0.1 \
        --flags not-need-init,startup-clear --daemon --pid file="$T/swtpm.pid" \
        --log file="$T/swtpm.log" 2>>"$T/swtpm.err" && break
done
SWTPM_PID=$(cat "$T/swtpm.pid")
SWTPM_TCTI="swtpm:host=127.0.0.1,port=$P"
say "swtpm pid $SWTPM_PID on 127.0.0.1:$P"

# ---- negative cases that need no TPM or an unreachable one ----------------------
run "$BIN/test_tpm" uri-errors || bad "malformed URIs and handles out of range"
run "$BIN/test_tpm" expect-open "tpm:tcti=swtpm:host=127.0.0.1,port=1;handle=0x81000010" \
    BW_E_BACKEND || bad "unreachable swtpm TCTI"
run "$BIN/test_tpm" expect-open "tpm:tcti=device:$T/no-such-tpmrm0;handle=0x81000010" \
    BW_E_BACKEND || bad "missing TPM device"
run "$BIN/test_tpm" expect-open "tpm:tcti=no-such-tcti;handle=0x81000010" \
    BW_E_BACKEND || bad "unknown TCTI module"
run "$BIN/test_tpm" expect-open "tpm:tcti=$SWTPM_TCTI;handle=0x81800000" \
    BW_E_INVAL || bad "platform handle accepted"

# ---- phase 1: straight on swtpm, no resource manager ----------------------------
# Works only if the backend flushes every transient object it creates.
say "== contract, direct swtpm TCTI"
run "$BIN/test_keystore" "tpm:tcti=$SWTPM_TCTI;handle=0x81000020" 0 || bad "contract on $SWTPM_TCTI"
left=$(TPM2TOOLS_TCTI=$SWTPM_TCTI timeout 30 tpm2_getcap handles-transient)
[ -z "$left" ] || bad "transient objects left in the TPM: $left"

# ---- phase 2: private session bus + tpm2-abrmd ----------------------------------
DBUS_PID=$(dbus-daemon --session --fork --nopidfile --print-pid \
    --address="unix:path=$T/bus") || die "dbus-daemon did not start"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$T/bus"
tpm2-abrmd --session --allow-root --tcti="$SWTPM_TCTI" >"$T/abrmd.log" 2>&1 &
ABRMD_PID=$!
say "dbus-daemon pid $DBUS_PID, tpm2-abrmd pid $ABRMD_PID"
n=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:com.intel.tss2.Tabrmd 2>/dev/null |
    grep -q 'boolean true'; do
    n=$((n + 1))
    kill -0 "$ABRMD_PID" 2>/dev/null || { cat "$T/abrmd.log" >&2; die "tpm2-abrmd exited"; }
    [ $n -le 100 ] || { cat "$T/abrmd.log" >&2; die "tpm2-abrmd not on the bus after 10 s"; }
    sleep 0.1
done

ABRMD_TCTI="tabrmd:bus_type=session"
export TPM2TOOLS_TCTI=$ABRMD_TCTI
URI="tpm:tcti=$ABRMD_TCTI;handle=0x81000010"

say "== contract, $ABRMD_TCTI"
run "$BIN/test_keystore" "$URI" 0 || bad "contract on $ABRMD_TCTI"

say "== a foreign object at the handle"
if run tpm2_createprimary -Q -C o -G rsa2048 -c "$T/rsa.ctx" &&
    run tpm2_evictcontrol -Q -C o -c "$T/rsa.ctx" 0x81000011; then
    run "$BIN/test_tpm" wrong-key "tpm:tcti=$ABRMD_TCTI;handle=0x81000011" ||
        bad "RSA key at the handle not refused"
    run tpm2_evictcontrol -Q -C o -c 0x81000011 || bad "tpm2_evictcontrol 0x81000011"
else
    bad "could not place an RSA key with tpm2-tools"
fi

say "== interop with tpm2-tools and openssl"
printf 'bulwark tpm interop %s\n' "$P" >"$T/msg"
if run "$BIN/test_tpm" gen "$URI"; then
    run "$BIN/test_tpm" pub "$URI" "$T/bw.pem" || bad "bulwark public key"
    run tpm2_readpublic -c 0x81000010 -f pem -o "$T/tpm.pem" >"$T/readpublic.txt" ||
        bad "tpm2_readpublic"
    openssl pkey -pubin -in "$T/bw.pem" -outform DER -out "$T/bw.der" &&
        openssl pkey -pubin -in "$T/tpm.pem" -outform DER -out "$T/tpm.der" &&
        cmp -s "$T/bw.der" "$T/tpm.der" || bad "bulwark's public key differs from tpm2_readpublic's"
    grep -A1 '^attributes:' "$T/readpublic.txt" |
        grep -q 'value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign$' ||
        bad "key attributes are not fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
    grep -A1 '^curve-id:' "$T/readpublic.txt" | grep -q 'NIST p256' &&
        grep -A1 '^scheme-halg:' "$T/readpublic.txt" | grep -q 'sha256' ||
        bad "tpm2_readpublic does not show a P-256 ECDSA/SHA-256 key"

    run "$BIN/test_tpm" sign "$URI" "$T/msg" "$T/bw.sig" || bad "bulwark sign"
    openssl dgst -sha256 -verify "$T/tpm.pem" -signature "$T/bw.sig" "$T/msg" |
        grep -q '^Verified OK' || bad "openssl does not verify bulwark's signature"
    printf 'tampered\n' >>"$T/msg2"
    cat "$T/msg" >>"$T/msg2"
    openssl dgst -sha256 -verify "$T/tpm.pem" -signature "$T/bw.sig" "$T/msg2" >/dev/null 2>&1 &&
        bad "openssl verified bulwark's signature over another message"

    # and the other way round: tpm2-tools signs with the key bulwark made
    run tpm2_sign -c 0x81000010 -g sha256 -s ecdsa -f plain -o "$T/t.sig" "$T/msg" &&
        openssl dgst -sha256 -verify "$T/bw.pem" -signature "$T/t.sig" "$T/msg" |
        grep -q '^Verified OK' || bad "tpm2_sign with bulwark's key does not verify"

    run "$BIN/test_tpm" destroy "$URI" || bad "destroy"
    run tpm2_getcap handles-persistent | grep -qi 0x81000010 && bad "handle still occupied"
else
    bad "bulwark could not generate a key at 0x81000010"
fi

if [ $fails -ne 0 ]; then
    say "--- abrmd log" >&2
    cat "$T/abrmd.log" >&2
    say "FAILED: $fails TPM check(s)"
    exit 1
fi
say "ok: TPM key backend (direct swtpm and tpm2-abrmd)"
