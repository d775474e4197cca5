# SPDX-License-Identifier: Apache-2.0
# Shared steps of the agent client tests (agent_http.sh, hostile_client.sh,
# agent_keep.sh, the EST and delta tests),
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

# The delta tests' fleet (agent_delta.sh, gateway_delta_build.sh); they
# define check and TOK_admin.
# delta_images BYTES: fw1.img, BYTES of documentation and libraries (not
# random bytes: a delta has something to find), and fw2.img, fw-1 patched
# (a run inserted, then a byte changed every 97,000 up to 100,000 before
# the end)
delta_images() {
  { tar -cf - -C /usr/share/doc . 2>/dev/null; tar -cf - -C /usr/lib/x86_64-linux-gnu . 2>/dev/null; } |
    head -c "$1" > fw1.img
  "${PY:-python3}" - <<'EOF2'
b = bytearray(open('fw1.img', 'rb').read())
end = len(b) - 100000
b[300000:300000] = b'bulwark v2 ' * 20
for off in range(600000, end, 97000):
    b[off] ^= 0x5a
open('fw2.img', 'wb').write(b)
EOF2
}

# delta_devices SLOT_SIZE PKG...: device N (dev1, dev2, ...; id real-N),
# provisioned by the CA in ./ca, running the Nth package in both slots
delta_devices() {
  local size=$1 d=0 img slot; shift
  for img in "$@"; do
    d=$((d + 1))
    "$B" device init --dir dev$d --slot-size $size --pub rel.pub --vendor-id $V --class-id $C >/dev/null
    "$B" provision --ca-dir ca --config dev$d/device.conf --device-id real-$d --argon2 1,1024,1 \
      >/dev/null 2>&1 || check false "provision $d"
    for slot in b a; do
      { "$B" install --config dev$d/device.conf $img && "$B" boot --config dev$d/device.conf &&
        "$B" confirm --config dev$d/device.conf; } >/dev/null 2>&1 || check false "factory image $d $slot"
    done
  done
}

# delta_agents N: agD.conf for devices 1..N (attribute group=delta, 1-second
# polls) against the gateway at $U, each device's first check-in (its
# version and sequence), the registry imported, a second check-in
delta_agents() {
  local d
  for d in $(seq "$1"); do
    cat > ag$d.conf <<EOF2
gateway = $U
ca_cert = $T/srvca.crt
audience = $AUD
attributes = group=delta
poll_min = 1
poll_max = 1
retry_min = 1
retry_max = 2
timeout = 5
device_config = $T/dev$d/device.conf
reboot_command = "$B" boot --config $T/dev$d/device.conf
EOF2
    "$AG" --config ag$d.conf --once > ag$d.log 2>&1
  done
  check '[ "$(op $TOK_admin --data-binary @ca/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"
  for d in $(seq "$1"); do "$AG" --config ag$d.conf --once >> ag$d.log 2>&1; done
}

# gw_release PKG NAME: uploads a release, prints its id
gw_release() {
  op $TOK_admin --data-binary @$1 "$U/api/v1/releases?name=$2" >/dev/null
  sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt
}

# delta_twice D...: two agent cycles of each device (the offer and install,
# then the confirmation and its report), agD.log written anew
delta_twice() {
  local d
  for d in "$@"; do
    : > ag$d.log
    "$AG" --config ag$d.conf --once >> ag$d.log 2>&1; "$AG" --config ag$d.conf --once >> ag$d.log 2>&1
  done
}
# delta_fetched D: the bytes device D's agent fetched by delta (empty: none)
delta_fetched() { sed -n 's/.*delta: \([0-9]*\) bytes fetched.*installed.*/\1/p' ag$1.log; }
# slot_ok D: device D's slot b holds fw2.img
slot_ok() { cmp -s -n "$(stat -c %s fw2.img)" "dev$1/slot-b.img" fw2.img; }
