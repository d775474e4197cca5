# SPDX-License-Identifier: Apache-2.0
# Shared steps of the gateway tests, sourced (not run) by tests/integ/*.sh
# in their own temp directory.

# gw_begin: a temp dir $T, the current directory until the test ends, then
# removed with every process in PIDS ended; the pass/fail tally (ok, bad,
# check COND MESSAGE: on failure with the answer to the request COND made);
# the test ids V and C, the token audience AUD
gw_begin() {
  T=$(mktemp -d) || exit 1
  PIDS=${PIDS:-}
  trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
  cd "$T" || exit 1
  pass=0 fail=0
  V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
  AUD=https://gateway.test
}
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 300 body.txt 2>/dev/null)]"; fi; }

# gw_server_cert: srvca.crt, a test server CA, and srv.crt/srv.key for
# 127.0.0.1 issued by it (P-256), in the current directory
gw_server_cert() {
  openssl ecparam -name prime256v1 -genkey -noout -out srvca.key 2>/dev/null
  openssl req -new -x509 -key srvca.key -subj "/CN=test server CA" -days 2 -out srvca.crt 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out srv.key 2>/dev/null
  openssl req -new -key srv.key -subj "/CN=127.0.0.1" -out srv.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl x509 -req -in srv.csr -CA srvca.crt -CAkey srvca.key -CAcreateserial -days 2 \
    -extfile san.ext -out srv.crt 2>/dev/null
}

# gw_est_ca: opca.key/opca.crt, an operational CA for EST (est_ca_cert,
# est_ca_key), in the current directory
gw_est_ca() {
  openssl ecparam -name prime256v1 -genkey -noout -out opca.key 2>/dev/null
  openssl req -new -x509 -key opca.key -subj "/O=test/CN=test Operational CA" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out opca.crt 2>/dev/null
}

# gw_devices ID...: a release key rel.key/rel.pub and, for each ID, a simulated
# device in ./ID provisioned by the factory step (CA in ./factory, its registry
# lines in factory/registry.jsonl) with its TLS key exported to ID/tls.key;
# needs $B, $EXPORT, $T, $V, $C and a bad function
gw_devices() {
  local d
  "$B" keygen --out rel.key --pub rel.pub >/dev/null
  for d in "$@"; do
    "$B" device init --dir $d --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
    "$B" provision --ca-dir factory --config $d/device.conf --device-id $d --argon2 1,1024,1 >/dev/null 2>&1 \
      || bad "provision $d"
    "$EXPORT" "file:$T/$d/state/device.key?storage-key=$T/$d/state/storage.key" $d/tls.key || bad "export $d"
  done
}

# gw_agent_device D IMAGE: a device in ./D for bulwark-agent, trusting
# rel.pub, provisioned by the CA in ./ca, running the signed IMAGE (installed,
# booted and confirmed as in the factory); needs $B, $V, $C and bad
gw_agent_device() {
  "$B" device init --dir $1 --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
  "$B" provision --ca-dir ca --config $1/device.conf --device-id $1 --argon2 1,1024,1 >/dev/null 2>&1 \
    || bad "provision $1"
  { "$B" install --config $1/device.conf $2 && "$B" boot --config $1/device.conf &&
    "$B" confirm --config $1/device.conf; } >/dev/null || bad "factory image on $1"
}

# gw_operators ROLE...: one bearer token per role in TOK_<role> (dashes become
# underscores), their hashes in ./operators as the gateway reads them
gw_operators() {
  local r tok
  : > operators
  for r in "$@"; do
    tok=$(openssl rand -hex 24); eval "TOK_${r//-/_}=$tok"
    echo "$r op-$r $(printf %s "$tok" | sha256sum | cut -c1-64)" >> operators
  done
}

# gw_start CLIENT_CA [EXTRA-LINE...]: writes gw.conf for a gateway in $T
# (registry $GW_DB or SQLite, blobs, release key rel.pub, vendor and class
# $GW_VENDOR/$GW_CLASS or the test ids, ./operators,
# access.log, $GW_THREADS or 2 threads) and starts $GW on $P (0 at first:
# any port), appending its pid to PIDS; sets GPID, P and U, and exits the
# test if it does not start. With BULWARK_CRYPTO_MODE set (the fips.*
# tests), gw.conf carries it as crypto_mode.
gw_start() {
  local ca=$1 line; shift
  {
    echo "listen = 127.0.0.1:${P:-0}"
    echo "tls_cert = $T/srv.crt"
    echo "tls_key = $T/srv.key"
    echo "client_ca = $ca"
    echo "database = ${GW_DB:-sqlite:$T/registry.db}"
    echo "blob_dir = $T/blobs"
    echo "release_keys = $T/rel.pub"
    echo "vendor_id = ${GW_VENDOR:-6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b}"
    echo "class_id = ${GW_CLASS:-0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c}"
    echo "operator_tokens = $T/operators"
    echo "access_log = $T/access.log"
    echo "threads = ${GW_THREADS:-2}"
    [ -z "${BULWARK_CRYPTO_MODE:-}" ] || echo "crypto_mode = $BULWARK_CRYPTO_MODE"
    for line in "$@"; do echo "$line"; done
  } > gw.conf
  rm -f port
  "$GW" --config gw.conf --port-file port 2>>gw.err &
  GPID=$!; PIDS="${PIDS:-} $GPID"
  local i; for i in $(seq 200); do [ -s port ] && break; sleep 0.05; done
  [ -s port ] || { cat gw.err; echo "gateway did not start"; exit 1; }
  P=$(cat port); U=https://127.0.0.1:$P
}

# curl helpers: req ARGS (status code out, body in body.txt), op TOKEN ARGS
req() { curl -s -o body.txt -w '%{http_code}' --cacert srvca.crt "$@"; }
op() { local t=$1; shift; req -H "Authorization: Bearer $t" "$@"; }
