#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TLS session resumption with ticket keys shared through the registry
# (docs/gateway.md, tls_ticket_rotate): two bulwark-gateway instances on one
# registry; a device's session begun on the first is resumed on the second
# (openssl s_client -sess_out / -sess_in, with its client certificate), and
# on the resumed session the device is still known by its certificate (a
# hawkBit DDI poll, which needs the certificate alone, answers 200). An
# instance with tls_ticket_rotate = 0 issues no tickets: a full handshake.
# A device revoked in the registry is refused on a resumed session.
# Usage: gateway_tickets.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/gwlib.sh"
gw_begin
gw_server_cert
gw_devices dev-1
gw_operators admin
CA="$T/factory/ca.crt"
gw_start "$CA" "tls_ticket_rotate = 3600"; U1=$U; P1=$P
P=; gw_start "$CA" "tls_ticket_rotate = 3600"; P2=$P
P=; gw_start "$CA" "tls_ticket_rotate = 0"; P3=$P
check '[ $P1 != $P2 ] && [ $P2 != $P3 ]' "three instances: $P1 $P2 $P3"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U1/api/v1/devices/import)" = 200 ]' "import"
# hs PORT [s_client options]: one connection with dev-1's certificate, a DDI
# base poll on it; prints the handshake kind (New or Reused) and the status
hs() {
  local p=$1; shift
  printf 'GET /DEFAULT/controller/v1/dev-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect 127.0.0.1:$p -CAfile srvca.crt -cert dev-1/state/device.crt \
      -key dev-1/tls.key -ign_eof "$@" 2>/dev/null |
    grep -o '^New, TLSv1.3\|^Reused, TLSv1.3\|HTTP/1.1 [0-9]*' | sed 's/, TLSv1.3//; s/HTTP.1.1 //' | tr '\n' ' '
}
check '[ "$(hs $P1 -sess_out s1.pem)" = "New 200 " ] && [ -s s1.pem ]' "first handshake on instance 1: $(hs $P1)"
check '[ "$(hs $P2 -sess_in s1.pem)" = "Reused 200 " ]' "instance 1's session resumed on instance 2: $(hs $P2 -sess_in s1.pem)"
check '[ "$(hs $P1 -sess_in s1.pem)" = "Reused 200 " ]' "resumed on instance 1: $(hs $P1 -sess_in s1.pem)"
check '[ "$(sqlite3 registry.db "SELECT count(*) FROM tls_ticket_keys")" = 1 ]' "one shared key"
# no tickets: a full handshake, the same answer
tickets() { # PORT: the session tickets a full handshake brings
  printf 'GET /healthz HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect 127.0.0.1:$1 -CAfile srvca.crt \
    -cert dev-1/state/device.crt -key dev-1/tls.key -ign_eof 2>/dev/null | grep -c "Post-Handshake New Session Ticket"
}
check '[ "$(hs $P3)" = "New 200 " ] && [ "$(tickets $P3)" = 0 ] && [ "$(tickets $P1)" -ge 1 ]' \
  "tickets with tls_ticket_rotate = 0: $(tickets $P3), else $(tickets $P1)"
# a resumed session without a certificate's proof is no device: the session
# of a connection that sent none resumes as anonymous
printf 'GET /healthz HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect 127.0.0.1:$P1 -CAfile srvca.crt \
  -sess_out anon.pem -ign_eof >/dev/null 2>&1
check '[ "$(printf "GET /DEFAULT/controller/v1/dev-1 HTTP/1.0\r\n\r\n" | timeout 10 openssl s_client -connect 127.0.0.1:$P2 \
  -CAfile srvca.crt -sess_in anon.pem -ign_eof 2>/dev/null | grep -o "HTTP/1.1 [0-9]*")" = "HTTP/1.1 401" ]' \
  "an anonymous session resumed as a device"
# a device revoked after its session began is refused on the resumed
# session, on both instances (the chain is not verified again on
# resumption, http.c / certcache.h; revocation in the registry applies to
# every request)
check '[ "$(hs $P1 -sess_out s2.pem)" = "New 200 " ] && [ "$(hs $P2 -sess_in s2.pem)" = "Reused 200 " ]' \
  "a session to resume: $(hs $P1)"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $U1/api/v1/devices/dev-1/status)" = 200 ]' \
  "revoke dev-1"
check '[ "$(hs $P2 -sess_in s2.pem)" = "Reused 401 " ]' "dev-1 revoked, resumed on instance 2: $(hs $P2 -sess_in s2.pem)"
check '[ "$(hs $P1 -sess_in s2.pem)" = "Reused 401 " ]' "dev-1 revoked, resumed on instance 1: $(hs $P1 -sess_in s2.pem)"
check '[ "$(hs $P1)" = "New 401 " ]' "dev-1 revoked, a full handshake: $(hs $P1)"
# the server's order (tls_prefer_aes128, on by default): AES-128-GCM and
# an X25519 key share without a HelloRetryRequest for OpenSSL's defaults;
# a client of AES-256 only or of P-256 only still gets it
tlsinfo() { echo | timeout 10 openssl s_client -connect 127.0.0.1:$P1 -CAfile srvca.crt "$@" 2>/dev/null |
  grep -o "Cipher is [A-Z0-9_]*\|Server Temp Key: [A-Za-z0-9]*" | tr '\n' ' '; }
check '[ "$(tlsinfo)" = "Server Temp Key: X25519 Cipher is TLS_AES_128_GCM_SHA256 " ]' "default client: $(tlsinfo)"
check '[ "$(tlsinfo -ciphersuites TLS_AES_256_GCM_SHA384 -groups P-256)" = "Server Temp Key: ECDH Cipher is TLS_AES_256_GCM_SHA384 " ]' \
  "AES-256 and P-256 only: $(tlsinfo -ciphersuites TLS_AES_256_GCM_SHA384 -groups P-256)"
echo "gateway_tickets: $pass passed, $fail failed"
[ $fail = 0 ]
