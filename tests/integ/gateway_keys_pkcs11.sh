#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The gateway's online keys inside a PKCS#11 token (softhsm2 in a private
# token directory): tuf_snapshot_key, tuf_timestamp_key and crl_key are
# pkcs11: URIs; the gateway signs snapshot and timestamp through the token
# at start, and the revocation list on request; the signatures verify
# under the token's public keys (openssl), and the start log names the
# module of each key.
# Usage: gateway_keys_pkcs11.sh BULWARK BULWARK-GATEWAY
set -u
B=$(realpath "$1") GW=$(realpath "$2")
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
. "$(dirname "$(realpath "$0")")/softhsmlib.sh"
token online
gw=
CLEANUP='[ -n "$gw" ] && kill "$gw" 2>/dev/null'
uri() { echo "pkcs11:module=$module;token=online;object=$1;pin-source=$T/pin"; }
for r in sn ts; do
    pkcs11-tool --module "$module" --token-label online --login --pin 1234 --keypairgen \
        --key-type EC:prime256v1 --label $r --id 0$(test $r = sn && echo 1 || echo 2) >/dev/null 2>&1 \
        || bad "pkcs11-tool keypairgen $r"
    pkcs11-tool --module "$module" --token-label online --read-object --type pubkey --label $r \
        -o $r.der >/dev/null 2>&1 && openssl pkey -pubin -inform DER -in $r.der -out $r.pub 2>/dev/null \
        || bad "public key of $r"
done
for k in r1 tg rel; do "$B" keygen --out $k.key --pub $k.pub >/dev/null; done
"$B" repo init --dir repo --root-pub r1.pub --threshold 1 --targets-pub tg.pub \
    --snapshot-pub sn.pub --timestamp-pub ts.pub >/dev/null 2>err.txt || bad "repo init: $(cat err.txt)"
for role in root:r1 targets:tg; do
    "$B" repo sign --key ${role#*:}.key --out ${role%:*}.sig repo/staged/${role%:*}.json >/dev/null 2>err.txt &&
        "$B" repo merge --dir repo ${role%:*}.sig >/dev/null 2>>err.txt || bad "publish ${role%:*}: $(cat err.txt)"
done
# the device CA with its key in the token (crl_cert/crl_key)
"$B" provision --ca-dir ca --ca-key "$(uri ca)" --count 1 --out devs --argon2 1,1024,1 \
    >/dev/null 2>err.txt || bad "CA in the token: $(cat err.txt)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
    -out srv.crt -subj /CN=127.0.0.1 -days 1 2>/dev/null
echo "admin op $(printf x | sha256sum | cut -c1-64)" > operators
cat > gw.conf <<CONF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/ca/ca.crt
crl_cert = $T/ca/ca.crt
crl_key = $(uri ca)
database = sqlite:$T/registry.db
blob_dir = $T/blobs
release_keys = $T/rel.pub
vendor_id = fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
class_id = 1492af14-2569-5e48-bf42-9b2d51f2ab45
operator_tokens = $T/operators
token_audience = test
tuf_dir = $T/repo
tuf_snapshot_key = $(uri sn)
tuf_timestamp_key = $(uri ts)
CONF
"$GW" --config gw.conf --port-file port 2>gw.err &
gw=$!
i=0
while [ $i -lt 100 ] && [ ! -s repo/metadata/timestamp.json ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat port 2>/dev/null)
curl -sfk "https://127.0.0.1:$port/crl/devices.pem" -o crl.pem 2>err.txt || bad "GET /crl/devices.pem: $(cat err.txt)"
openssl crl -in crl.pem -CAfile ca/ca.crt -noout 2>&1 | grep -q "verify OK" \
    && ok || bad "the CRL does not verify under the token's CA key: $(openssl crl -in crl.pem -CAfile ca/ca.crt -noout 2>&1 | head -3)"
kill "$gw" 2>/dev/null; wait "$gw" 2>/dev/null; gw=
[ -s repo/metadata/timestamp.json ] && ok || bad "no timestamp signed: $(cat gw.err)"
# each online role's signature verifies under the token's public key
for r in timestamp:ts snapshot:sn; do
    f=repo/metadata/${r%:*}.json
    [ -f $f ] || f=$(ls repo/metadata/*.${r%:*}.json 2>/dev/null | tail -1)
    $PY - "$f" "${r%:*}" <<'PYEOF' || bad "cannot split ${r%:*}"
import json, sys
d = json.load(open(sys.argv[1]))
open(sys.argv[2] + ".msg", "wb").write(
    json.dumps(d["signed"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
open(sys.argv[2] + ".sig", "wb").write(bytes.fromhex(d["signatures"][0]["sig"]))
PYEOF
    openssl dgst -sha256 -verify ${r#*:}.pub -signature ${r%:*}.sig ${r%:*}.msg >/dev/null 2>&1 \
        && ok || bad "${r%:*} signature does not verify under the token's ${r#*:} key"
done
grep -q "crl_key: PKCS#11 module $module, token 'online', object 'ca'" gw.err \
    && ok || bad "start log does not name the CRL key's module"
grep -q "tuf_timestamp_key: PKCS#11 module $module, token 'online', object 'ts'" gw.err \
    && ok || bad "start log does not name the module: $(cat gw.err)"
! grep -q "Sanitizer" gw.err && ok || bad "sanitizer report: $(grep -A5 Sanitizer gw.err | head -20)"
echo "gateway_keys_pkcs11: $pass passed, $fail failed"
[ "$fail" = 0 ]
