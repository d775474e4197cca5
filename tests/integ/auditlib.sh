# SPDX-License-Identifier: Apache-2.0
# Shared steps of the compliance kit's tests (audit.sh, audit_docs.sh,
# audit_render.sh, audit_strict.sh), sourced (not run) after B (the bulwark
# binary) is set.

PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
# code NAME: the exit status bulwark documents for error NAME
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
# expect NAME|OK|USAGE|1 CMD...: CMD exits so; its output in out.txt, err.txt
expect() {
  local want=$1 w; shift
  case $want in OK) w=0 ;; USAGE) w=2 ;; 1) w=1 ;; *) w=$(code "$want") ;; esac
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want: $(head -c 600 err.txt)"; fi
}

# audit_device: a test device in ./dev (release key k.pem / p.pem), provisioned
# as unit-7 with cheap Argon2 parameters; sets V, C, CHEAP, CONF and pw (the
# factory password)
audit_device() {
  V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
  C=1492af14-2569-5e48-bf42-9b2d51f2ab45
  CHEAP="--argon2 1,1024,1"
  "$B" keygen --out k.pem --pub p.pem >/dev/null
  "$B" device init --dir dev --slot-size 65536 --pub p.pem --vendor-id $V --class-id $C >/dev/null
  CONF=dev/device.conf
  expect OK "$B" provision --ca-dir ca --config $CONF --device-id unit-7 $CHEAP
  pw=$(sed -n 's/^factory password: //p' out.txt)
}
