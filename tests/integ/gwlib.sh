# SPDX-License-Identifier: Apache-2.0
# Shared steps of the gateway tests, sourced (not run) by tests/integ/*.sh
# in their own temp directory.

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
