#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The security log through the real binary: install/confirm/boot events land
# in `bulwark log show`; `bulwark log verify` passes on the untouched log and
# fails with the documented exit status after a byte is edited, a cut before
# the last checkpoint, a deleted head, another key, unsigned records with a
# key, or a rewritten segment (which the next event must not sign over);
# rotation through seclog_max keeps it verifiable. Usage: log.sh BULWARK TEST_LOG
set -u
B=$(realpath "$1")
TL=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
code() { "$B" help exit-codes | awk -v n="$1" '$2 == n { print $1 }'; }
expect() { # expect NAME|OK CMD...
  local want=$1 w; shift
  if [ "$want" = OK ]; then w=0; else w=$(code "$want"); fi
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$w" ]; then ok; else bad "$* -> exit $got, want $want: $(cat err.txt)"; fi
}
flip() { "$(dirname "$(realpath "$0")")/flipbyte.sh" "$@"; } # flip FILE OFFSET: xor one byte with 1
# seg.py OP SEGMENT: what someone who can write the log directory (but has
# no key) can do to a segment: list, cut-after-ckpt N (keep records up to
# the N-th checkpoint), forge (drop the checkpoints, edit "v1.bwp" into
# "v0.bwp", renumber, recompute the chain), raise-last (the final record's
# length field +40)
cat > seg.py <<'PYEOF'
import hashlib, struct, sys
op, path = sys.argv[1], sys.argv[2]
b = open(path, 'rb').read()
recs, off = [], 0
while off + 4 <= len(b):
    n = b[off + 2] << 8 | b[off + 3]
    recs.append(bytearray(b[off:off + n])); off += n
if op == 'list':
    print(' '.join(chr(r[0]) for r in recs))
elif op == 'cut-after-ckpt':
    want, out = int(sys.argv[3]), b''
    for r in recs:
        out += bytes(r)
        if chr(r[0]) == 'C':
            want -= 1
            if want == 0: break
    open(path, 'wb').write(out)
elif op == 'forge':
    out, prev, seq = b'', None, 0
    for r in recs:
        if chr(r[0]) == 'C': continue
        if chr(r[0]) == 'A': prev = bytes(r[28:60])
        i = r.find(b'v1.bwp')
        if i >= 0: r[i + 1:i + 2] = b'0'
        seq += 1; r[4:12] = struct.pack('>Q', seq)
        r[-32:] = hashlib.sha256(prev + bytes(r[:-32])).digest(); prev = bytes(r[-32:])
        out += bytes(r)
    open(path, 'wb').write(out)
elif op == 'raise-last':
    i = len(b) - len(recs[-1]); n = (b[i + 2] << 8 | b[i + 3]) + 40
    open(path, 'wb').write(b[:i + 2] + bytes([n >> 8, n & 255]) + b[i + 4:])
PYEOF
seg() { $PY seg.py "$@"; }
V=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe
C=1492af14-2569-5e48-bf42-9b2d51f2ab45
"$B" keygen --out k.pem --pub p.pem >/dev/null
head -c 200000 /dev/urandom > img
for s in 1 2 3; do
  "$B" sign --key k.pem --vendor-id $V --class-id $C --sequence $s --out v$s.bwp img >/dev/null
done
expect OK "$B" device init --dir dev --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C
CONF=dev/device.conf
LOG=dev/state/seclog
SEG=$LOG/00000000000000000001.seg

# --- before provisioning: events are chained, not signed ----------------------
expect OK "$B" install --config $CONF v1.bwp
expect OK "$B" log verify --config $CONF
check 'grep -q "records 1..2 verified, 0 checkpoints" out.txt && grep -q "nothing is signed" out.txt' "unsigned log reported"

# the same log with a key given: one unsigned event after the anchor is what
# the first event's crash leaves, so it passes, reported
"$B" keygen --out other.pem --pub other.pub >/dev/null
expect OK "$B" log verify --config $CONF --pub other.pub
check 'grep -q "2 records after the last checkpoint are not signed" out.txt' "unsigned pair reported"
# more than that, unsigned, is refused when a key is given (a forged log
# with no checkpoint at all looks exactly like this)
expect OK "$B" device init --dir dev2 --slot-size $((1 << 20)) --pub p.pem --vendor-id $V --class-id $C
expect OK "$B" log append --config dev2/device.conf login admin ok
expect OK "$B" log append --config dev2/device.conf login admin ok
expect OK "$B" log verify --config dev2/device.conf
expect BW_E_AUTH "$B" log verify --config dev2/device.conf --pub other.pub
check 'grep -q "records 1..3 follow the last signed point (seq 0) and nothing signs them" err.txt' "unsigned log refused with a key"
expect OK "$B" log show --config dev2/device.conf --pub other.pub
check 'grep -q "records 1..3 are not signed" err.txt' "show warns about unsigned records"

# --- a device key: every later event is followed by a signed checkpoint -------
"$TL" genkey "file:$T/dev/state/device.key" dev.pub || bad "genkey"
expect OK "$B" boot --config $CONF
expect OK "$B" confirm --config $CONF
expect OK "$B" install --config $CONF v3.bwp
for i in 1 2 3; do expect OK "$B" boot --config $CONF; done
expect OK "$B" boot --config $CONF   # trial of v3 used up: falls back
expect BW_E_ROLLBACK "$B" install --config $CONF v2.bwp
expect OK "$B" log show --config $CONF
cp out.txt show.txt
check 'grep -q "install    v1.bwp: ok sequence 1 into slot b" show.txt' "install of v1 shown"
check 'grep -q "install    v3.bwp: ok sequence 3 into slot a" show.txt' "install of v3 shown"
check 'grep -q "install    v2.bwp: refused BW_E_ROLLBACK at device check, sequence 2" show.txt' "refused install shown"
check 'grep -q "confirm    slot b: ok" show.txt' "confirm shown"
check 'grep -q "boot       boot slot b: fallback: trial of slot a not confirmed" show.txt' "boot fallback shown"
check 'grep -q "checkpoint signed by key" show.txt' "checkpoints shown"
expect OK "$B" log show --config $CONF --json
check '$PY -c "
import json, sys
r = [json.loads(l) for l in open(\"out.txt\")]
ev = [x for x in r if x[\"type\"] == \"event\"]
assert [x[\"event\"] for x in ev] == [\"install\", \"log.adopt\", \"confirm\", \"install\", \"boot\", \"install\"], ev
assert ev[1][\"subject\"] == \"seq 1..2\", ev[1]
assert [x[\"seq\"] for x in r] == list(range(1, len(r) + 1))
"' "show --json lists the events in order"
expect OK "$B" log show --config $CONF --since 5
check '! grep -q "v1.bwp" out.txt && grep -q "v3.bwp" out.txt' "show --since"
expect OK "$B" log verify --config $CONF --json
check '$PY -c "
import json; j = json.load(open(\"out.txt\"))
assert j[\"ok\"] and j[\"unsigned_tail\"] == 0 and j[\"last_checkpoint\"] == j[\"last_seq\"] and j[\"checkpoints\"] == 5, j
assert j[\"adopted\"] == 2 and j[\"signed_seq\"] == j[\"last_seq\"], j
"' "verify --json: all signed, the two unsigned events adopted"
expect OK "$B" log verify --config $CONF
check 'grep -Eq "^records 1\.\.[0-9]+ verified, 5 checkpoints, last checkpoint at seq [0-9]+" out.txt' "verify summary line"
check 'grep -q "2 records had no signature when a writer found them" out.txt' "adoption reported"
expect OK "$B" log verify --config $CONF --pub dev.pub
expect BW_E_BADSIG "$B" log verify --config $CONF --pub p.pem
check 'grep -q "another key" err.txt' "wrong key named"

# --- append from scripts; bad fields refused ------------------------------------
expect OK "$B" log append --config $CONF login admin "ok from 10.0.0.7"
expect BW_E_INVAL "$B" log append --config $CONF "bad event" admin ok
expect OK "$B" log append --config $CONF login "$(printf 'evil\nname')" "ok"
expect OK "$B" log show --config $CONF
check 'grep -q "login      evil\\\\x0aname: ok" out.txt' "control characters escaped by the CLI"
expect OK "$B" log verify --config $CONF

# --- tampering ------------------------------------------------------------------
cp -a $LOG saved
off=$(grep -abo "v1.bwp" $SEG | head -1 | cut -d: -f1)
flip $SEG $((off + 1))                      # v1.bwp -> v0.bwp
expect BW_E_TAMPER "$B" log verify --config $CONF
check 'grep -q "record seq 2 (segment 1, offset [0-9]*): chain hash does not match" err.txt' "edited record named"
expect BW_E_TAMPER "$B" log show --config $CONF
rm -rf $LOG; cp -a saved $LOG
# every byte of the segment, one at a time (a sample of 40 offsets for speed)
size=$(stat -c %s $SEG); missed=0
for off in $(seq 0 $((size / 40)) $((size - 1))); do
  flip $SEG $off
  "$B" log verify --config $CONF >/dev/null 2>&1; rc=$?
  case $rc in $(code BW_E_TAMPER)|$(code BW_E_BADSIG)|$(code BW_E_FORMAT)|$(code BW_E_TRUNCATED)) ;; *) missed=$((missed + 1)); echo "offset $off: exit $rc" >&2;; esac
  flip $SEG $off
done
check '[ $missed = 0 ]' "byte flips detected"
# a cut before the last checkpoint
truncate -s $((size / 2)) $SEG
expect BW_E_TRUNCATED "$B" log verify --config $CONF
check 'grep -q "records were cut" err.txt' "cut reported"
rm -rf $LOG; cp -a saved $LOG
# the head deleted
rm $LOG/head
expect BW_E_TAMPER "$B" log verify --config $CONF
# ... and the log cut right after its first checkpoint (this used to pass)
seg cut-after-ckpt $SEG 1
expect BW_E_TAMPER "$B" log verify --config $CONF
check 'grep -q "head file is missing" err.txt' "missing head named"
rm -rf $LOG; cp -a saved $LOG
# the segment rewritten without the key (checkpoints dropped, an install
# edited, the chain recomputed): verify sees the cut, and the next event is
# refused instead of signing over the forgery
seg forge $SEG
expect BW_E_TRUNCATED "$B" log verify --config $CONF
cp $SEG forged.seg
expect BW_E_TAMPER "$B" log append --config $CONF login admin ok
check 'cmp -s $SEG forged.seg' "forged segment left as it was"
expect BW_E_TRUNCATED "$B" log verify --config $CONF
# with the head deleted too, nothing signed is left: refused with the key
rm $LOG/head
expect BW_E_AUTH "$B" log verify --config $CONF
check 'grep -q "nothing signs them" err.txt' "unsigned records named"
rm -rf $LOG; cp -a saved $LOG
# a complete final record with its length raised is damage, not a torn write
seg raise-last $SEG
expect BW_E_FORMAT "$B" log verify --config $CONF
check 'grep -q "not a torn write" err.txt' "raised length named"
expect BW_E_TAMPER "$B" log append --config $CONF login admin ok
rm -rf $LOG; cp -a saved $LOG
expect OK "$B" log verify --config $CONF
# a writer does not append after damage; the command itself still works
flip $SEG 30
expect BW_E_TAMPER "$B" log append --config $CONF test "never logged" x
expect OK "$B" install --config $CONF v3.bwp
check 'grep -q "security log.*not logged.*BW_E_TAMPER" err.txt' "damage reported by install"
rm -rf $LOG; cp -a saved $LOG

# --- rotation within seclog_max ---------------------------------------------
sed -i 's/^seclog_max = .*/seclog_max = 8192/' $CONF
grep -q '^seclog_max = 8192' $CONF || echo "seclog_max = 8192" >> $CONF
for i in $(seq 1 60); do "$B" log append --config $CONF test "event $i" "ok" || bad "append $i"; done
expect OK "$B" log verify --config $CONF
check 'grep -q "rotated out" out.txt' "old segments rotated out"
check '[ $(cat $LOG/*.seg | wc -c) -le $((8192 + 4096)) ]' "log stays within seclog_max"
expect OK "$B" log show --config $CONF
check 'grep -q "test       event 60: ok" out.txt' "newest event kept"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
