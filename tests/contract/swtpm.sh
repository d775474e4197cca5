#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TPM key backend tests on a real TPM 2.0 simulator. Starts swtpm (TCP on
# free loopback ports), a private dbus session bus and tpm2-abrmd on it, all
# in a temp dir; runs the keystore contract directly on swtpm and through
# abrmd, negative cases, and interop with tpm2-tools and openssl; then the
# TPM-sealed storage key: seal/unseal, wrong objects, tpm2_unseal interop, a
# file key under it, and the store CLI end to end; stops the three daemons
# by PID on exit. Needs no systemd and no system bus.
# Usage: swtpm.sh BINDIR   (BINDIR holds test_keystore and test_tpm; the
#        bulwark CLI is $BULWARK, default BINDIR/../bulwark)
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
    tpm2_evictcontrol tpm2_getcap tpm2_sign tpm2_create tpm2_load tpm2_unseal openssl timeout \
    od cmp; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool not found (apt-get install swtpm swtpm-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon dbus-bin openssl)"
done
[ -x "$BIN/test_keystore" ] && [ -x "$BIN/test_tpm" ] || die "test_keystore/test_tpm not in $BIN"
B=${BULWARK:-$BIN/../bulwark}
[ -x "$B" ] || die "bulwark CLI not at $B (set BULWARK)"
B=$(cd "$(dirname "$B")" && pwd)/$(basename "$B") # the CLI test runs in another directory

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
say "== sealed storage key, direct swtpm TCTI"
run "$BIN/test_tpm" seal-roundtrip "tpm:tcti=$SWTPM_TCTI;handle=0x81000032" ||
    bad "seal/unseal round trip on $SWTPM_TCTI"
left=$(TPM2TOOLS_TCTI=$SWTPM_TCTI timeout 30 tpm2_getcap handles-transient)
[ -z "$left" ] || bad "transient objects left in the TPM: $left"
TPM2TOOLS_TCTI=$SWTPM_TCTI run tpm2_evictcontrol -Q -C o -c 0x81000032 ||
    bad "tpm2_evictcontrol 0x81000032"

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

# ---- the TPM-sealed device storage key ---------------------------------------
SKEY="tpm:tcti=$ABRMD_TCTI;handle=0x81000030"
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
persistent() { run tpm2_getcap handles-persistent | grep -qi "$1"; }

say "== sealed storage key: create, reload, tpm2-tools"
run "$BIN/test_tpm" expect-skey "$SKEY" 0 BW_E_NOTFOUND || bad "load from an empty handle"
persistent 0x81000030 && bad "a load without create left an object at 0x81000030"
k1=$(run "$BIN/test_tpm" skey "$SKEY" 1) || bad "seal-create at 0x81000030"
k2=$(run "$BIN/test_tpm" skey "$SKEY" 0) || bad "unseal at 0x81000030"
k3=$(run "$BIN/test_tpm" skey "$SKEY" 1) || bad "create on a sealed handle"
[ ${#k1} -eq 64 ] && [ "$k1" = "$k2" ] && [ "$k1" = "$k3" ] ||
    bad "storage key differs across processes: '$k1' '$k2' '$k3'"
run tpm2_readpublic -c 0x81000030 >"$T/sealed.txt" || bad "tpm2_readpublic 0x81000030"
grep -A1 '^type:' "$T/sealed.txt" | grep -q 'keyedhash' ||
    bad "the sealed object is not a keyedhash: $(grep -A1 '^type:' "$T/sealed.txt")"
grep -A1 '^attributes:' "$T/sealed.txt" | grep -q 'value: fixedtpm|fixedparent|userwithauth$' ||
    bad "sealed object attributes are not fixedtpm|fixedparent|userwithauth"
grep -A1 '^algorithm:' "$T/sealed.txt" | grep -q 'null' ||
    bad "sealed object has a scheme: $(grep -A1 '^algorithm:' "$T/sealed.txt")"
run tpm2_sign -c 0x81000030 -g sha256 -o "$T/s.sig" "$T/msg" 2>/dev/null &&
    bad "the sealed object signs"
run tpm2_unseal -c 0x81000030 -o "$T/unsealed" || bad "tpm2_unseal 0x81000030"
[ "$(hex "$T/unsealed")" = "$k1" ] || bad "tpm2_unseal returns other bytes than bulwark"
rm -f "$T/unsealed"

say "== sealed storage key: concurrent creators agree"
SKEY2="tpm:tcti=$ABRMD_TCTI;handle=0x81000033"
pids=
for i in 1 2 3 4; do
    run "$BIN/test_tpm" skey "$SKEY2" 1 >"$T/race.$i" &
    pids="$pids $!"
done
for p in $pids; do wait "$p" || bad "concurrent creator $p failed"; done
[ "$(cat "$T"/race.* | sort -u | wc -l)" = 1 ] && [ "$(wc -c <"$T/race.1")" = 65 ] ||
    bad "four concurrent creators got different keys: $(cat "$T"/race.*)"
run tpm2_evictcontrol -Q -C o -c 0x81000033 || bad "tpm2_evictcontrol 0x81000033"

say "== sealed storage key: other objects at the handle"
H=0x81000034
HU="tpm:tcti=$ABRMD_TCTI;handle=$H"
if run "$BIN/test_tpm" gen "$HU"; then
    run "$BIN/test_tpm" expect-skey "$HU" 1 BW_E_FORMAT || bad "signing key taken for a storage key"
    run "$BIN/test_tpm" pub "$HU" "$T/still.pem" || bad "the signing key was replaced"
    run tpm2_evictcontrol -Q -C o -c $H || bad "tpm2_evictcontrol $H"
else
    bad "bulwark could not generate a key at $H"
fi
run tpm2_createprimary -Q -C o -g sha256 -G ecc -c "$T/prim.ctx" || bad "tpm2_createprimary"
# place OBJECT-ARGS...: tpm2_create under the primary, persist at $H
place() {
    rm -f "$T/o.pub" "$T/o.priv" "$T/o.ctx"
    run tpm2_create -Q -C "$T/prim.ctx" -u "$T/o.pub" -r "$T/o.priv" "$@" &&
        run tpm2_load -Q -C "$T/prim.ctx" -u "$T/o.pub" -r "$T/o.priv" -c "$T/o.ctx" &&
        run tpm2_evictcontrol -Q -C o -c "$T/o.ctx" $H
}
head -c 16 /dev/urandom >"$T/d16"
head -c 32 /dev/urandom >"$T/d32"
if place -G hmac; then
    run "$BIN/test_tpm" expect-skey "$HU" 1 BW_E_FORMAT || bad "HMAC key taken for a storage key"
    run tpm2_evictcontrol -Q -C o -c $H || bad "tpm2_evictcontrol $H"
else
    bad "could not place an HMAC key with tpm2-tools"
fi
if place -i "$T/d16"; then
    run "$BIN/test_tpm" expect-skey "$HU" 1 BW_E_FORMAT || bad "16 sealed bytes taken as a key"
    run tpm2_evictcontrol -Q -C o -c $H || bad "tpm2_evictcontrol $H"
else
    bad "could not seal 16 bytes with tpm2-tools"
fi
if place -i "$T/d32"; then # and the other way round: tpm2-tools seals, bulwark unseals
    [ "$(run "$BIN/test_tpm" skey "$HU" 0)" = "$(hex "$T/d32")" ] ||
        bad "bulwark does not unseal 32 bytes sealed by tpm2_create"
    run tpm2_evictcontrol -Q -C o -c $H || bad "tpm2_evictcontrol $H"
else
    bad "could not seal 32 bytes with tpm2-tools"
fi

say "== a file device key under the TPM storage key"
mkdir "$T/dk"
FURI="file:$T/dk/device.key?storage-key=$SKEY"
run "$BIN/test_keystore" "$FURI" 1 || bad "contract on $FURI"
[ -e "$T/dk/storage.key" ] && bad "a storage key file was created beside the device key"
if run "$BIN/test_tpm" gen "$FURI"; then
    run "$BIN/test_tpm" pub "$FURI" "$T/fk.pem" || bad "file key under the TPM storage key"
    # the key file opens under a file storage key holding the unsealed bytes,
    # and not under another one: the sealed key is the one in use
    run tpm2_unseal -c 0x81000030 -o "$T/dk/same.key" || bad "tpm2_unseal 0x81000030"
    run "$BIN/test_tpm" pub "file:$T/dk/device.key?storage-key=$T/dk/same.key" "$T/fk2.pem" &&
        cmp -s "$T/fk.pem" "$T/fk2.pem" || bad "file key not sealed under the unsealed bytes"
    head -c 32 /dev/urandom >"$T/dk/other.key"
    run "$BIN/test_tpm" pub "file:$T/dk/device.key?storage-key=$T/dk/other.key" "$T/fk3.pem" \
        2>/dev/null && bad "file key opens under an unrelated storage key"
fi
run tpm2_evictcontrol -Q -C o -c 0x81000030 || bad "tpm2_evictcontrol 0x81000030"

say "== the store CLI with storage_key = tpm:..."
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
SECRET=Plaintext-Sealed-Store-Secret-7
mkdir "$T/cli"
if (cd "$T/cli" && "$B" keygen --out k.pem --pub p.pem >/dev/null &&
    "$B" device init --dir dev --slot-size 65536 --pub p.pem \
        --vendor-id fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe \
        --class-id 1492af14-2569-5e48-bf42-9b2d51f2ab45 >/dev/null); then
    CONF="$T/cli/dev/device.conf"
    printf 'storage_key = tpm:tcti=%s;handle=0x81000031\n' "$ABRMD_TCTI" >>"$CONF"
    run "$B" store set --config "$CONF" wifi.psk "$SECRET" >/dev/null || bad "store set"
    persistent 0x81000031 || bad "store set did not seal a storage key at 0x81000031"
    [ "$(run "$B" store get --config "$CONF" wifi.psk)" = "$SECRET" ] || bad "store get"
    st="$T/cli/dev/state/store"
    [ -s "$st" ] || bad "no store file at $st"
    grep -qaF -- "$SECRET" "$st" && bad "the store file holds the plaintext"
    [ -e "$T/cli/dev/state/storage.key" ] && bad "a storage key file was written"
    run tpm2_evictcontrol -Q -C o -c 0x81000031 || bad "tpm2_evictcontrol 0x81000031"
    run "$B" store get --config "$CONF" wifi.psk >"$T/cli/out" 2>"$T/cli/err"
    got=$?
    [ "$got" = "$(code BW_E_NOTFOUND)" ] ||
        bad "get without the sealed key: exit $got, want $(code BW_E_NOTFOUND): $(cat "$T/cli/err")"
    grep -q 'no storage key at tpm:' "$T/cli/err" || bad "unclear error: $(cat "$T/cli/err")"
    [ -s "$T/cli/out" ] && bad "store get printed something without the key"
    say "store get after eviction: $(head -n1 "$T/cli/err")"
    # set may seal a new key, but the store was written under the old one
    run "$B" store set --config "$CONF" other value >/dev/null 2>"$T/cli/err"
    got=$?
    [ "$got" = "$(code BW_E_AUTH)" ] ||
        bad "store set after eviction: exit $got, want $(code BW_E_AUTH): $(cat "$T/cli/err")"
    if persistent 0x81000031; then
        run tpm2_evictcontrol -Q -C o -c 0x81000031 || bad "tpm2_evictcontrol 0x81000031"
    fi
else
    bad "bulwark device init"
fi

if [ $fails -ne 0 ]; then
    say "--- abrmd log" >&2
    cat "$T/abrmd.log" >&2
    say "FAILED: $fails TPM check(s)"
    exit 1
fi
say "ok: TPM key backend and sealed storage key (direct swtpm and tpm2-abrmd)"
