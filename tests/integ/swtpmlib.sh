# SPDX-License-Identifier: Apache-2.0
# Sourced by tests and benches that need a TPM 2.0: swtpm_start starts swtpm
# with its state in $T/tpmstate on a free loopback port pair (TCP, no
# resource manager), adds its PID to $PIDS (the caller's exit trap stops
# it) and sets TPM_TCTI (swtpm:host=127.0.0.1,port=N) for tpm: key URIs.
swtpm_start() {
  local n tp
  command -v swtpm >/dev/null || { echo "FAIL: swtpm not found (apt-get install swtpm)"; exit 1; }
  mkdir -p "$T/tpmstate"
  for n in $(seq 20); do
    tp=$((20000 + ($(od -An -N2 -tu2 /dev/urandom) % 20000) * 2))
    swtpm socket --tpm2 --tpmstate dir="$T/tpmstate" \
      --server type=tcp,port=$tp,bindaddr=127.0.0.1 --ctrl type=tcp,port=$((tp + 1)),bindaddr=127.0.0.1 \
      --flags not-need-init,startup-clear --daemon --pid file="$T/swtpm.pid" 2>>"$T/swtpm.err" && break
  done
  [ -s "$T/swtpm.pid" ] || { cat "$T/swtpm.err"; echo "FAIL: swtpm did not start"; exit 1; }
  PIDS="${PIDS:-} $(cat "$T/swtpm.pid")"
  TPM_TCTI="swtpm:host=127.0.0.1,port=$tp"
}
