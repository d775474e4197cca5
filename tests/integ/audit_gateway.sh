#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 14, EN 303 645 5.3-8: `bulwark audit --gateway URL` asks the real
# gateway (on loopback, TLS, operator token) for the releases it offers and
# compares the newest one of the device's class with the installed one:
# behind -> fail naming both sequences; current -> pass; a wrong token, a
# gateway that is down, a CA that does not sign the gateway's certificate,
# an answer that is not the release list -> error, never pass.
# Usage: audit_gateway.sh BULWARK BULWARK-GATEWAY
set -u
LIB=$(dirname "$(realpath "$0")")
. "$LIB/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2")
T=$(mktemp -d)
GPID= HPID=
trap '[ -n "$GPID" ] && kill $GPID 2>/dev/null; [ -n "$HPID" ] && kill $HPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
. "$LIB/auditlib.sh"
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c

gw_server_cert
gw_operators release-manager viewer
"$B" keygen --out rel.key --pub rel.pub >/dev/null
"$B" device init --dir dev --slot-size 262144 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
for s in 2 3; do
  head -c 50000 /dev/urandom > fw-$s.img
  "$B" sign --key rel.key --vendor-id $V --class-id $C --sequence $s --out fw-$s.bwp fw-$s.img >/dev/null
done
{ "$B" install --config dev/device.conf fw-2.bwp && "$B" boot --config dev/device.conf &&
  "$B" confirm --config dev/device.conf; } >/dev/null || bad "install fw-2"
"$B" audit init --out profile.conf >/dev/null || bad "audit init"
gw_start "$T/srvca.crt"
printf '%s\n' "$TOK_viewer" > viewer.tok
printf 'not-a-token-the-gateway-knows\n' > wrong.tok

# audit TOKENFILE CA [URL]: the audit's JSON in audit.json, its stderr in audit.err
audit() {
  "$B" audit --config dev/device.conf --profile profile.conf --proc-net "$T" --json \
    --gateway "${3:-$U}" --gateway-token-file "$1" --cacert "$2" > audit.json 2> audit.err
}
newest() { $PY -c 'import json, sys
try: d = json.load(open("audit.json"))
except Exception: print("no-json"); sys.exit()
c = [c for c in d["checks"] if c["check"] == "update.newest"]
print(c[0]["result"] if c else "absent", c[0]["evidence"] if c else "")'; }
is() { # is RESULT WHY [GREP]: update.newest has RESULT (and its evidence GREP)
  local got; got=$(newest)
  if [ "${got%% *}" = "$1" ] && { [ -z "${3:-}" ] || grep -q -- "$3" <<<"$got"; }; then ok
  else bad "$2: update.newest $got, want $1 ${3:-} [$(head -c 300 audit.err)]"; fi
}

for s in 2 3; do
  check '[ "$(op $TOK_release_manager --data-binary @fw-$s.bwp "$U/api/v1/releases?name=fw-$s")" = 201 ]' \
    "upload fw-$s"
done

audit viewer.tok srvca.crt
is fail "device behind (2 installed, gateway offers 3)" "Installed sequence 2; the gateway offers sequence 3 (fw-3)"
audit viewer.tok srvca.crt "$U/"
is fail "the same with a trailing / in the URL" "sequence 3"

{ "$B" install --config dev/device.conf fw-3.bwp && "$B" boot --config dev/device.conf &&
  "$B" confirm --config dev/device.conf; } >/dev/null || bad "install fw-3"
audit viewer.tok srvca.crt
is pass "device current (3 installed, gateway offers 3)" "Installed sequence 3 is the newest"

audit wrong.tok srvca.crt
is error "a token the gateway refuses" "401"

openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null
openssl req -new -x509 -key other.key -subj "/CN=another CA" -days 2 -out other.crt 2>/dev/null
audit viewer.tok other.crt
is error "a CA that did not sign the gateway's certificate"

# an https server that answers something else than the release list
printf '{"releases": "none"}' > notalist.json
$PY - "$T" > http.port 2> http.err <<'EOF' &
import http.server, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(d + "/notalist.json", "rb").read()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(d + "/srv.crt", d + "/srv.key")
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
HPID=$!
for i in $(seq 100); do [ -s http.port ] && break; sleep 0.05; done
audit viewer.tok srvca.crt "https://127.0.0.1:$(cat http.port)"
is error "an answer that is not a JSON array" "not the gateway's release list"
head -c 5000000 /dev/zero | tr '\0' ' ' > notalist.json
audit viewer.tok srvca.crt "https://127.0.0.1:$(cat http.port)"
is error "an answer over the size limit" "size limit"
kill $HPID 2>/dev/null; wait $HPID 2>/dev/null; HPID=

kill $GPID; wait $GPID 2>/dev/null; GPID=
audit viewer.tok srvca.crt
is error "the gateway is down"

# usage: --gateway without a token file, with --releases, --cacert alone, http://
"$B" audit --config dev/device.conf --profile profile.conf --gateway "$U" >/dev/null 2>&1
check '[ $? = 2 ]' "--gateway without --gateway-token-file accepted"
"$B" audit --config dev/device.conf --profile profile.conf --gateway "$U" \
  --gateway-token-file viewer.tok --releases x.json >/dev/null 2>&1
check '[ $? = 2 ]' "--gateway with --releases accepted"
"$B" audit --config dev/device.conf --profile profile.conf --cacert srvca.crt >/dev/null 2>&1
check '[ $? = 2 ]' "--cacert without --gateway accepted"
"$B" audit --config dev/device.conf --profile profile.conf --gateway "http://127.0.0.1:$P" \
  --gateway-token-file viewer.tok >/dev/null 2>&1
check '[ $? = 2 ]' "--gateway over plain http accepted (the token would go in the clear)"

echo "audit_gateway: $pass passed, $fail failed"
[ "$fail" = 0 ]
