#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device's cost of TUF (docs/trust.md): CPU, bytes and heap of one
# refresh, in one process (bench/bench_tuf.c), over
#  1. plain HTTP from a static server (python's http.server): the client's
#     own work and the metadata's size;
#  2. HTTPS from bulwark-gateway hosting the repository (tuf_dir), as the
#     agent polls it: one TLS connection per refresh, full handshake.
# A TCP proxy between them counts the bytes on the wire each way (HTTP
# headers, TLS records and handshake included); the client's own count is
# body bytes. A 3-of-5 root, one target. Then an update: one more target
# published (snapshot and timestamp signed again), the first refresh after it.
# Usage: bench/tuf.sh BUILD_DIR [RUNS]   (writes bench/results-tuf-latest.md)
set -eu
BUILD=$(realpath "$1"); RUNS=${2:-200}
B=$BUILD/bulwark; GW=$BUILD/bulwark-gateway; BT=$BUILD/bench/bench_tuf
SRC=$(dirname "$(realpath "$0")")
T=$(mktemp -d); PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
PY=/usr/bin/python3

# ---- the repository ----
mkdir keys
for k in r1 r2 r3 r4 r5 tg sn ts rel; do "$B" keygen --out keys/$k.key --pub keys/$k.pub >/dev/null; done
V=6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b C=0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c
head -c 100000 /dev/urandom > fw.img; head -c 100000 /dev/urandom > fw2.img
"$B" sign --key keys/rel.key --vendor-id $V --class-id $C --sequence 2 --out fw-2.bwp fw.img >/dev/null
"$B" sign --key keys/rel.key --vendor-id $V --class-id $C --sequence 3 --out fw-3.bwp fw2.img >/dev/null
"$B" repo init --dir repo --root-pub keys/r1.pub,keys/r2.pub,keys/r3.pub,keys/r4.pub,keys/r5.pub \
  --targets-pub keys/tg.pub --snapshot-pub keys/sn.pub --timestamp-pub keys/ts.pub >/dev/null
publish() { # ROLE KEY...
  local role=$1 k s=; shift
  for k in "$@"; do
    "$B" repo sign --key keys/$k.key --out sig-$role-$k.json repo/staged/$role.json 2>/dev/null
    s="$s sig-$role-$k.json"
  done
  "$B" repo merge --dir repo $s >/dev/null
}
publish root r1 r2 r3
"$B" repo add-target --dir repo --pub keys/rel.pub --hardware rev-b --name fw-2 fw-2.bwp >/dev/null
publish targets tg
"$B" repo snapshot --dir repo --key keys/sn.key >/dev/null
"$B" repo timestamp --dir repo --key keys/ts.key >/dev/null

# ---- a byte-counting TCP proxy: PORTFILE LISTEN-> TARGET-PORT, totals in COUNTFILE ----
cat > proxy.py <<'EOF'
import socket, sys, threading
target, portfile, countfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock(); tot = [0, 0, 0]  # connections, up, down
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(64)
open(portfile, "w").write(str(ls.getsockname()[1]))
def pump(a, b, i):
    while True:
        try:
            d = a.recv(65536)
        except OSError:
            d = b""
        if not d:
            break
        with lock:
            tot[i] += len(d)
        try:
            b.sendall(d)
        except OSError:
            break
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def conn(c):
    s = socket.create_connection(("127.0.0.1", target))
    t = threading.Thread(target=pump, args=(s, c, 2)); t.start()
    pump(c, s, 1); t.join(); c.close(); s.close()
    with lock:
        tot[0] += 1
        open(countfile, "w").write("%d %d %d\n" % tuple(tot))
while True:
    c, _ = ls.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
EOF
waitfile() { local i; for i in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1"; return 1; }
proxy() { # TARGET-PORT NAME -> sets PX (port)
  rm -f $2.port $2.count
  $PY proxy.py $1 $2.port $2.count & PIDS="$PIDS $!"
  waitfile $2.port; PX=$(cat $2.port)
}
counts() { cat $1.count 2>/dev/null || echo "0 0 0"; }
per() { # NAME RUNS BEFORE -> "up down" bytes per refresh since BEFORE
  read -r c1 u1 d1 < <(counts $1); read -r c0 u0 d0 <<< "$3"
  echo "$(( (u1 - u0) / $2 )) $(( (d1 - d0) / $2 ))"
}
settle() { sleep 0.3; }

# ---- 1. plain HTTP, a static server ----
cd repo/metadata
$PY -m http.server 0 --bind 127.0.0.1 > ../../http.log 2>&1 & PIDS="$PIDS $!"
cd "$T"
for i in $(seq 100); do grep -q "port" http.log 2>/dev/null && break; sleep 0.05; done
HP=$(sed -n 's/.*port \([0-9]*\).*/\1/p' http.log | head -1)
proxy $HP plain
mkdir dev-plain
"$B" tuf --metadata-dir dev-plain init repo/metadata/1.root.json 2>/dev/null
URL=http://127.0.0.1:$PX/
c0=$(counts plain)
"$BT" dev-plain $URL 2 > first.txt   # the first refresh fetches everything, then one poll
settle; first_wire=$(per plain 1 "$c0")
c0=$(counts plain)
"$BT" dev-plain $URL $((RUNS + 1)) > plain.txt
settle; plain_wire=$(per plain $((RUNS + 1)) "$c0")
# one request's headers as the static server sends them
hdr_plain=$(curl -s -D - -o /dev/null http://127.0.0.1:$HP/timestamp.json | wc -c)
ts_len=$(stat -c %s repo/metadata/timestamp.json)

# an update: a second target, snapshot and timestamp signed again
"$B" repo add-target --dir repo --pub keys/rel.pub --hardware rev-b --name fw-3 fw-3.bwp >/dev/null
publish targets tg
"$B" repo snapshot --dir repo --key keys/sn.key >/dev/null
"$B" repo timestamp --dir repo --key keys/ts.key >/dev/null
c0=$(counts plain)
"$BT" dev-plain $URL 2 > update.txt
settle; upd_wire=$(per plain 2 "$c0")

# ---- 2. HTTPS from bulwark-gateway hosting the repository ----
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -new -x509 -key ca.key -subj "/CN=bench CA" -days 2 -out ca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out srv.key 2>/dev/null
openssl req -new -key srv.key -subj "/CN=127.0.0.1" -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext \
  -out srv.crt 2>/dev/null
: > operators
cat > gw.conf <<EOF
listen = 127.0.0.1:0
tls_cert = $T/srv.crt
tls_key = $T/srv.key
client_ca = $T/ca.crt
database = sqlite:$T/registry.db
blob_dir = $T/blobs
release_keys = $T/keys/rel.pub
vendor_id = $V
class_id = $C
operator_tokens = $T/operators
access_log = /dev/null
threads = 2
tuf_dir = $T/repo
tuf_snapshot_key = $T/keys/sn.key
tuf_timestamp_key = $T/keys/ts.key
EOF
"$GW" --config gw.conf --port-file gw.port 2>gw.err & PIDS="$PIDS $!"
waitfile gw.port || { cat gw.err; exit 1; }
proxy $(cat gw.port) tls
mkdir dev-tls
"$B" tuf --metadata-dir dev-tls init repo/metadata/1.root.json 2>/dev/null
URL=https://127.0.0.1:$PX/tuf/metadata/
"$BT" dev-tls $URL 2 ca.crt > /dev/null
c0=$(counts tls)
"$BT" dev-tls $URL $((RUNS + 1)) ca.crt > tls.txt
settle; tls_wire=$(per tls $((RUNS + 1)) "$c0")
c0=$(counts tls)
"$BT" dev-tls $URL $((RUNS + 1)) ca.crt keep > keep.txt
settle; keep_wire=$(per tls $((RUNS + 1)) "$c0")
hdr_gw=$(curl -s -D - -o /dev/null --cacert ca.crt https://127.0.0.1:$(cat gw.port)/tuf/metadata/timestamp.json | wc -c)

num() { sed -n "s/.*$1.*/\\1/p" "$2" | head -1; }
field() { # FILE REGEX
  sed -n "s/$2/\\1/p" "$1" | head -1
}
cpu_mean() { field $1 '.*: \([0-9.]*\) ms CPU mean.*'; }
cpu_best() { field $1 '.* \([0-9.]*\) ms best.*'; }
reqs() { field $1 '.*, \([0-9.]*\) requests.*'; }
body() { field $1 '.* \([0-9]*\) body bytes.*'; }
heap() { field $1 '.*(least \([0-9]*\)).*'; }
f_cpu() { field $1 '.*: \([0-9.]*\) ms CPU,.*'; }
f_body() { field $1 '.* \([0-9]*\) body bytes.*'; }
read -r pu pd <<< "$plain_wire"; read -r tu td <<< "$tls_wire"; read -r ku kd <<< "$keep_wire"
read -r fu fd <<< "$first_wire"; read -r uu ud <<< "$upd_wire"
fu=$((fu - pu)); fd=$((fd - pd))             # the poll after the first refresh, taken off
uu=$((uu * 2 - pu)); ud=$((ud * 2 - pd))     # likewise for the update
{
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $RUNS refreshes each, in one process (bench/bench_tuf.c)"
  echo
  echo "| refresh | CPU per refresh | requests | body bytes | wire bytes up / down | heap held (steady) |"
  echo "|---|---|---|---|---|---|"
  echo "| no change, plain HTTP (static server) | $(cpu_mean plain.txt) ms mean, $(cpu_best plain.txt) ms best | $(reqs plain.txt) | $(body plain.txt) | $pu / $pd | $(heap plain.txt) B |"
  echo "| no change, HTTPS from bulwark-gateway (new TLS connection) | $(cpu_mean tls.txt) ms mean, $(cpu_best tls.txt) ms best | $(reqs tls.txt) | $(body tls.txt) | $tu / $td | $(heap tls.txt) B |"
  echo "| no change, HTTPS from bulwark-gateway, kept connection (as the agent: after its check-in) | $(cpu_mean keep.txt) ms mean, $(cpu_best keep.txt) ms best | $(reqs keep.txt) | $(body keep.txt) | $ku / $kd | $(heap keep.txt) B |"
  echo "| first refresh (root, timestamp, snapshot, targets), plain HTTP | $(f_cpu first.txt) ms | | $(f_body first.txt) | $fu / $fd | |"
  echo "| update: one new target, plain HTTP | $(f_cpu update.txt) ms | | $(f_body update.txt) | $uu / $ud | |"
  echo
  echo "Where the no-change bytes go: timestamp.json is $ts_len bytes (one ECDSA P-256"
  echo "signature, compact JSON); the request for the next root (N+1.root.json) answers"
  echo "404 (an HTML page from python's http.server, no body from bulwark-gateway). HTTP"
  echo "response headers: $hdr_plain bytes per answer from python's http.server, $hdr_gw bytes"
  echo "from bulwark-gateway. Over a new TLS connection the rest is the handshake; over a"
  echo "kept one, TLS record overhead."
} > "$SRC/results-tuf-latest.md"
cat "$SRC/results-tuf-latest.md"
