# SPDX-License-Identifier: Apache-2.0
# Shared steps of the agent client tests (agent_http.sh, hostile_client.sh,
# agent_keep.sh, the EST tests),
# sourced after gwlib.sh, in the test's temp directory with $B the bulwark CLI.

# agent_device: srvca.crt/srv.crt/srv.key (gw_server_cert), a release key
# rel.key/rel.pub, a simulated device dev/ with vendor $V and class $C, and
# its identity dev-1 issued by a factory CA in factory/; exits the test if
# provisioning fails
agent_device() {
  gw_server_cert
  "$B" keygen --out rel.key --pub rel.pub >/dev/null
  "$B" device init --dir dev --slot-size 1048576 --pub rel.pub --vendor-id $V --class-id $C >/dev/null
  "$B" provision --ca-dir factory --config dev/device.conf --device-id dev-1 --argon2 1,1024,1 \
    >/dev/null 2>&1 || { echo "provision failed"; exit 1; }
}

# agent_accept: dev-1 (agent_device) imported into the gateway at $U and
# accepted, checked with check
agent_accept() {
  check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
  check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"accepted\"}" $U/api/v1/devices/dev-1/status)" = 200 ]' "accept"
}

# agent_conf [LINE...]: agent.conf for dev-1 against the gateway at $U
# (audience $AUD, state in $T/state, short retries and timeout), then the
# extra lines
agent_conf() {
  local line
  {
    printf '%s\n' "device_config = $T/dev/device.conf" "gateway = $U" "ca_cert = $T/srvca.crt" \
      "audience = $AUD" "state_dir = $T/state" "retry_min = 1" "retry_max = 2" "timeout = 5"
    for line in "$@"; do echo "$line"; done
  } > agent.conf
}

# agent_est_setup OP_KEY: the EST tests' start (agent_est.sh,
# agent_est_keys.sh): dev-1 (agent_device) imported and accepted by a gateway
# that enrolls over EST (gw_est_ca, 60-second certificates) and takes only
# operational certificates; agent.conf with enroll = true and op_key =
# OP_KEY; CONF (the gateway options, for a restart); run (one agent cycle
# into agent.out), serial (of state/op.crt) and seen (dev-1's last_seen)
# for the checks
agent_est_setup() {
  agent_device
  gw_operators admin
  gw_est_ca
  CONF=("token_audience = $AUD" "est_ca_cert = $T/opca.crt" "est_ca_key = $T/opca.key"
        "est_lifetime = 60" "require_operational_cert = true" "poll_interval = 1")
  gw_start "$T/factory/ca.crt" "${CONF[@]}"
  agent_accept
  agent_conf "enroll = true" "op_key = $1"
  run() { "$AG" --config agent.conf --once >> agent.out 2>&1; }
  serial() { openssl x509 -in state/op.crt -noout -serial 2>/dev/null | cut -d= -f2; }
  seen() { op $TOK_admin $U/api/v1/devices/dev-1 >/dev/null; sed -n 's/.*"last_seen":\([0-9]*\).*/\1/p' body.txt; }
}
