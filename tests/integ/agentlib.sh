# SPDX-License-Identifier: Apache-2.0
# Shared steps of the agent client tests (agent_http.sh, hostile_client.sh),
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
