#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's swupdate (suricatta, hawkBit mode) against bulwark-gateway's
# DDI subset on loopback, over mTLS with certificates from `bulwark
# provision`: a campaign of a CMS-signed .swu for two devices. dev-000001
# polls, sends its attributes (configData), downloads, installs into a
# file target, and after a simulated reboot (-c 2) reports success;
# dev-000002 trusts another signer, refuses the image and reports failure,
# its target untouched. The registry must then hold exactly those states.
# Also: a TargetToken device, the MD5SUM side file, and the refusals
# (no credentials, wrong token, another controller's certificate, another
# device's action). The device's say: an install-later campaign (update
# skip until the operator's trigger) with swupdate, and consent through
# confirmationBase (which swupdate 2022.12 does not speak: curl as the
# device). Nothing is written outside the test's directory.
# Usage: ddi_swupdate.sh BULWARK BULWARK-GATEWAY DEVKEY_PEM
set -u
. "$(dirname "$0")/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); EXPORT=$(realpath "$3")
T=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 300 body.txt 2>/dev/null)]"; fi; }
command -v swupdate >/dev/null || { echo "swupdate not installed"; exit 1; }
command -v cpio >/dev/null || { echo "cpio not installed"; exit 1; }
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# --- server certificate, devices, operators ----------------------------------------
gw_server_cert
"$B" provision --ca-dir factory --count 3 --out devs --argon2 1,1024,1 >/dev/null 2>&1 || bad "provision"
for i in 1 2 3; do
  d=devs/dev-00000$i
  "$EXPORT" "file:$T/$d/device.key?storage-key=$T/$d/storage.key" d$i.key || bad "export key $i"
  cp $d/device.crt d$i.crt
done
"$B" keygen --out rel.key --pub rel.pub >/dev/null
gw_operators admin release-manager viewer
gw_start "$T/factory/ca.crt" "poll_interval = 1"
ddi() { local i=$1; shift; req --cert d$i.crt --key d$i.key "$@"; }
C1=$U/DEFAULT/controller/v1/dev-000001
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"

# --- the maker's signed .swu: a CMS signer (emailProtection, as Debian's swupdate
# wants) under its own CA, and a second, rogue CA the second device trusts ----------
mkca() { # mkca NAME: NAME-ca.crt and a signer NAME.crt/NAME.key under it
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1-ca.key \
    -out $1-ca.crt -days 2 -subj "/CN=$1 update CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key -out $1.csr \
    -subj "/CN=$1 signer" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n' > $1.ext
  openssl x509 -req -in $1.csr -CA $1-ca.crt -CAkey $1-ca.key -CAcreateserial -days 2 \
    -extfile $1.ext -out $1.crt 2>/dev/null
}
mkca maker; mkca rogue
mkdir swu && head -c 200000 /dev/urandom > swu/app.img
SHA=$(sha256sum < swu/app.img | cut -c1-64)
cat > swu/sw-description <<EOF
software =
{
	version = "2.0.0";
	hardware-compatibility = [ "1.0" ];
	images: (
		{
			filename = "app.img";
			device = "@TARGET@";
			type = "raw";
			sha256 = "$SHA";
		}
	);
}
EOF
# the target path is the device's: one file per device, both under $T
sed -i "s#@TARGET@#$T/target#" swu/sw-description
openssl cms -sign -in swu/sw-description -out swu/sw-description.sig -signer maker.crt \
  -inkey maker.key -outform DER -nosmimecap -binary || bad "cms sign"
(cd swu && printf '%s\n' sw-description sw-description.sig app.img | cpio -o -H crc --quiet > ../app-2.swu)
check '[ "$(op $TOK_viewer --data-binary @app-2.swu "$U/api/v1/releases?name=app-2.swu&kind=swu")" = 403 ]' "viewer uploaded"
check '[ "$(op $TOK_release_manager --data-binary @app-2.swu "$U/api/v1/releases?name=app-2.swu&kind=rpm")" = 400 ]' "unknown kind accepted"
check '[ "$(op $TOK_release_manager --data-binary @app-2.swu "$U/api/v1/releases?name=app-2.swu&kind=swu")" = 201 ]' "swu upload"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
MD5=$(md5sum < app-2.swu | cut -c1-32)
check 'grep -q "\"kind\":\"swu\"" body.txt && grep -q "\"md5\":\"$MD5\"" body.txt && grep -q "\"sha1\":\"$(sha1sum < app-2.swu | cut -c1-40)\"" body.txt' \
  "swu release record"

# --- before any campaign: polls, attributes, refusals ------------------------------------
check '[ "$(ddi 1 $C1)" = 200 ] && grep -q "\"sleep\":\"00:00:01\"" body.txt && grep -q "/configData\"" body.txt && ! grep -q deploymentBase body.txt' \
  "first poll: configData wanted, nothing to deploy"
check '[ "$(req $C1)" = 401 ]' "poll without certificate or token"
check '[ "$(ddi 2 $C1)" = 401 ]' "dev-000002's certificate polled as dev-000001"
check '[ "$(req -H "Authorization: TargetToken wrong" $C1)" = 401 ]' "wrong target token"
check '[ "$(ddi 1 $U/OTHER/controller/v1/dev-000001)" = 404 ]' "other tenant served"
check '[ "$(ddi 1 -X PUT -H "Content-Type: application/json" --data "{\"data\":[1]}" $C1/configData)" = 400 ]' "bad configData"
# a TargetToken device (dev-000003): the token is shown once, its hash kept
check '[ "$(op $TOK_viewer -X POST $U/api/v1/devices/dev-000003/target-token)" = 403 ]' "viewer set a token"
check '[ "$(op $TOK_admin -X POST $U/api/v1/devices/dev-000003/target-token)" = 200 ]' "target token"
TT=$(sed -n 's/.*"token":"\([A-Za-z0-9]*\)".*/\1/p' body.txt)
check '[ ${#TT} = 32 ] && ! grep -q "$TT" registry.db' "token stored in clear or malformed: $TT"
check '[ "$(req -H "Authorization: TargetToken $TT" $U/DEFAULT/controller/v1/dev-000003)" = 200 ]' "TargetToken poll"
check '[ "$(req -H "Authorization: TargetToken $TT" $C1)" = 401 ]' "dev-000003's token polled as dev-000001"

# --- the campaign -------------------------------------------------------------------------
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"swu\",\"release_id\":$RID,\"filter\":{}}" $U/api/v1/campaigns)" = 201 ]' \
  "campaign"
CID=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)

swcfg() { # swcfg I: suricatta over mTLS for dev-00000I
  cat <<EOF
globals : { verbose = true; loglevel = 6; };
identify : ( { name = "serialNo"; value = "SN-$1"; }, { name = "hwRevision"; value = "revA"; } );
suricatta : { tenant = "DEFAULT"; id = "dev-00000$1"; url = "$U"; polldelay = 1; retry = 3;
              retrywait = 1; cafile = "$T/srvca.crt"; sslcert = "$T/d$1.crt"; sslkey = "$T/d$1.key"; };
EOF
}
# run_sw I CA [CONFIRM]: swupdate for dev-00000I trusting CA's signer in its own TMPDIR
run_sw() {
  mkdir -p sw$1; swcfg $1 > sw$1.cfg
  TMPDIR=$T/sw$1 swupdate -f sw$1.cfg -v -k $2 -H board:1.0 -u "${3:-}" > sw$1.log 2>&1 &
  echo $!
}
wait_for() { # wait_for SECONDS CONDITION
  local i; for i in $(seq $(($1 * 4))); do eval "$2" && return 0; sleep 0.25; done; return 1
}

# dev-000001 trusts the maker: polls, PUTs its attributes, installs into $T/target
# (the raw handler writes into an existing file, as into a partition)
: > target
SW1=$(run_sw 1 maker-ca.crt); PIDS="$PIDS $SW1"
wait_for 20 'cmp -s swu/app.img target 2>/dev/null' || bad "dev-000001 did not install: $(tail -n 5 sw1.log)"
wait_for 30 'sqlite3 registry.db "SELECT feedback FROM actions WHERE device_id = \"dev-000001\"" 2>/dev/null | grep -q "Installed"' ||
  bad "no install feedback from dev-000001"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null
check '[ "$(sqlite3 registry.db "SELECT attrs FROM devices WHERE id = \"dev-000001\"")" = "{\"hwRevision\":\"revA\",\"serialNo\":\"SN-1\"}" ]' \
  "configData attributes: $(sqlite3 registry.db "SELECT attrs FROM devices WHERE id = 'dev-000001'")"
check '[ "$(sqlite3 registry.db "SELECT state FROM actions WHERE device_id = \"dev-000001\"")" = 2 ]' \
  "dev-000001 running before its reboot: $(sqlite3 registry.db "SELECT state FROM actions WHERE device_id = 'dev-000001'")"
# the "reboot": swupdate starts again and confirms (-c 2)
SW1=$(run_sw 1 maker-ca.crt "-c 2"); PIDS="$PIDS $SW1"
wait_for 30 '[ "$(sqlite3 registry.db "SELECT state FROM actions WHERE device_id = \"dev-000001\"")" = 3 ]' ||
  bad "dev-000001 not success after -c 2: $(tail -n 5 sw1.log)"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null

# dev-000002 trusts the rogue CA only: the image is refused, failure reported
: > target
SW2=$(run_sw 2 rogue-ca.crt); PIDS="$PIDS $SW2"
wait_for 60 '[ "$(sqlite3 registry.db "SELECT state FROM actions WHERE device_id = \"dev-000002\"")" = 4 ]' ||
  bad "dev-000002 did not report failure: $(tail -n 5 sw2.log)"
kill $SW2 2>/dev/null; wait $SW2 2>/dev/null
check '[ ! -s target ]' "a refused image was written"
check 'sqlite3 registry.db "SELECT feedback FROM actions WHERE device_id = \"dev-000002\"" | grep -qi "signature\|image\|swu"' \
  "failure feedback: $(sqlite3 registry.db "SELECT feedback FROM actions WHERE device_id = 'dev-000002'" | head -c 200)"

# --- a cancel: dev-000001 is offered release 3, the operator cancels the campaign, and
# swupdate, started again, fetches cancelAction and acknowledges it; nothing installed --------
# new_swu FILE BYTES: another image of BYTES random bytes in swu/, its
# sw-description naming its digest, signed by the maker, packed into FILE
new_swu() {
  head -c $2 /dev/urandom > swu/app.img
  sed -i "s/sha256 = \"[0-9a-f]*\"/sha256 = \"$(sha256sum < swu/app.img | cut -c1-64)\"/" swu/sw-description
  openssl cms -sign -in swu/sw-description -out swu/sw-description.sig -signer maker.crt \
    -inkey maker.key -outform DER -nosmimecap -binary || bad "cms sign $1"
  (cd swu && printf '%s\n' sw-description sw-description.sig app.img | cpio -o -H crc --quiet > ../$1)
}
new_swu app-3.swu 1000
check '[ "$(op $TOK_release_manager --data-binary @app-3.swu "$U/api/v1/releases?name=app-3.swu&kind=swu")" = 201 ]' "swu 3 upload"
RID3=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"swu-3\",\"release_id\":$RID3,\"filter\":{\"serialNo\":\"SN-1\"}}" $U/api/v1/campaigns)" = 201 ]' \
  "campaign 3 (by the attributes configData sent)"
CID3=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(ddi 1 $C1)" = 200 ] && grep -q "deploymentBase" body.txt' "release 3 offered"
AC=$(sqlite3 registry.db "SELECT id FROM actions WHERE campaign_id = $CID3")
check '[ "$(op $TOK_release_manager -X POST $U/api/v1/campaigns/$CID3/cancel)" = 200 ]' "cancel"
check '[ "$(ddi 1 $C1)" = 200 ] && grep -q "cancelAction/$AC\"" body.txt && ! grep -q deploymentBase body.txt' "cancelAction link"
SW1=$(run_sw 1 maker-ca.crt); PIDS="$PIDS $SW1"
wait_for 30 '[ "$(sqlite3 registry.db "SELECT cancel_ack FROM ddi_targets WHERE device_id = \"dev-000001\"")" = "$AC" ]' ||
  bad "swupdate did not acknowledge the cancel: $(grep -v TRACE sw1.log | tail -n 3)"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null
# (the access log is flushed every half second)
fetched_cancel() {
  grep -qF -- "\"GET\",\"path\":\"/DEFAULT/controller/v1/dev-000001/cancelAction/$AC\",\"status\":200" access.log
}
check 'wait_for 5 fetched_cancel' "swupdate never fetched cancelAction/$AC"
check '! cmp -s swu/app.img target' "the cancelled release was installed"
check '[ "$(ddi 1 $C1)" = 200 ] && ! grep -q cancelAction body.txt' "cancelAction still offered after the acknowledgement"

# --- the registry afterwards: exactly these states ------------------------------------------
check '[ "$(sqlite3 registry.db "SELECT device_id || \":\" || state FROM actions WHERE campaign_id = $CID ORDER BY device_id" | tr "\n" " ")" = "dev-000001:3 dev-000002:4 dev-000003:0 " ]' \
  "action states: $(sqlite3 registry.db "SELECT device_id || ':' || state FROM actions ORDER BY device_id" | tr '\n' ' ')"

# --- artifact, MD5SUM and another device's action ----------------------------------------------
C3=$U/DEFAULT/controller/v1/dev-000003
check '[ "$(req -H "Authorization: TargetToken $TT" $C3)" = 200 ] && grep -q "deploymentBase" body.txt' "dev-000003 offered"
AID3=$(sqlite3 registry.db "SELECT id FROM actions WHERE device_id = 'dev-000003'")
AID1=$(sqlite3 registry.db "SELECT id FROM actions WHERE device_id = 'dev-000001' AND campaign_id = $CID")
check '[ "$(req -H "Authorization: TargetToken $TT" $C3/deploymentBase/$AID3)" = 200 ] && grep -q "\"md5\":\"$MD5\"" body.txt && grep -q "app-2.swu.MD5SUM" body.txt' \
  "deploymentBase"
check '[ "$(req -H "Authorization: TargetToken $TT" $C3/softwaremodules/$RID/artifacts/app-2.swu.MD5SUM)" = 200 ] && [ "$(cat body.txt)" = "$MD5  app-2.swu" ]' \
  "MD5SUM file"
check '[ "$(req -H "Authorization: TargetToken $TT" -r 0-99 $C3/softwaremodules/$RID/artifacts/app-2.swu)" = 206 ] && cmp -s body.txt <(head -c 100 app-2.swu)' \
  "artifact range"
check '[ "$(req -H "Authorization: TargetToken $TT" $C3/deploymentBase/$AID1)" = 404 ]' "another device's deployment"
# installedBase: dev-000001's successful action (release 2), not the cancelled one after it
check '[ "$(ddi 1 $C1)" = 200 ] && grep -q "installedBase/$AID1\"" body.txt' "installedBase link"
check '[ "$(ddi 1 $C1/installedBase/$AID1)" = 200 ] && grep -q "\"id\":\"$AID1\"" body.txt && grep -q "\"status\":\"FINISHED\"" body.txt && grep -q "app-2.swu" body.txt' \
  "installedBase"
check '[ "$(ddi 1 $C1/installedBase/$AC)" = 404 ] && [ "$(req -H "Authorization: TargetToken $TT" $C3/installedBase/$AID1)" = 404 ]' \
  "installedBase of a cancelled or another device's action"
check '[ "$(ddi 2 $U/DEFAULT/controller/v1/dev-000002)" = 200 ] && ! grep -q installedBase body.txt' "installedBase for a failed install"
check '[ "$(ddi 1 -X PUT --data "{}" $C1/installedBase/$AID1)" = 405 ]' "PUT installedBase"
check '[ "$(req -H "Authorization: TargetToken $TT" -H "Content-Type: application/json" --data "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"}}}" $C3/deploymentBase/$AID1/feedback)" = 404 ]' \
  "feedback on another device's action"
check '[ "$(sqlite3 registry.db "SELECT state FROM actions WHERE id = $AID1")" = 3 ]' "another device changed dev-000001's action"
check '[ "$(req -H "Authorization: TargetToken $TT" -H "Content-Type: application/json" --data "{\"status\":{\"execution\":\"exploded\"}}" $C3/deploymentBase/$AID3/feedback)" = 400 ]' \
  "malformed feedback"
# a whole install log as feedback: kept up to the cap, and the server keeps serving
$PY -c 'import json; print(json.dumps({"id": '"$AID3"', "status": {"execution": "proceeding", "result": {"finished": "none"}, "details": ["x" * 60000]}}))' > log.json
check '[ "$(req -H "Authorization: TargetToken $TT" -H "Content-Type: application/json" --data-binary @log.json $C3/deploymentBase/$AID3/feedback)" = 200 ]' \
  "long feedback"
check '[ "$(sqlite3 registry.db "SELECT length(feedback) <= 16384 AND feedback LIKE \"%[cut: feedback over its cap]\" FROM actions WHERE id = $AID3")" = 1 ]' \
  "long feedback not capped"
check '[ "$(req $U/healthz)" = 200 ]' "server still serving"

# --- links come from the configuration, never from the Host header ---------------------------
check '[ "$(req -H "Host: evil.example" -H "Authorization: TargetToken $TT" $C3/deploymentBase/$AID3)" = 200 ] && grep -qF "\"$U/DEFAULT/controller/v1/dev-000003/softwaremodules/" body.txt && ! grep -q evil body.txt' \
  "deployment links from the Host header"

# --- only swu releases are offered over DDI: a Mender artifact campaign for dev-000002 ------
head -c 3000 /dev/urandom > other.mender
check '[ "$(op $TOK_release_manager --data-binary @other.mender "$U/api/v1/releases?name=other.mender&kind=mender")" = 201 ]' "mender upload"
RIDM=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"not-ddi\",\"release_id\":$RIDM,\"filter\":{\"serialNo\":\"SN-2\"}}" $U/api/v1/campaigns)" = 201 ] && grep -q "\"offered\":0" body.txt' \
  "mender campaign for dev-000002"
C2=$U/DEFAULT/controller/v1/dev-000002
check '[ "$(ddi 2 $C2)" = 200 ] && ! grep -q deploymentBase body.txt' "a Mender release offered over DDI"
check '[ "$(ddi 2 $C2/softwaremodules/$RIDM/artifacts)" = 404 ]' "a Mender release served over DDI"

# --- one answer for every authentication failure: which ids exist or are revoked is not told --
ans() { local s; s=$(req "$@"); printf '%s %s' "$s" "$(cat body.txt)"; }
A_NONE=$(ans $C1)
A_UNKNOWN=$(ans -H "Authorization: TargetToken $TT" $U/DEFAULT/controller/v1/no-such-device)
A_UNKNOWN_CERT=$(ans --cert d1.crt --key d1.key $U/DEFAULT/controller/v1/no-such-device)
A_OTHER=$(ans --cert d2.crt --key d2.key $C1)
A_WRONG=$(ans -H "Authorization: TargetToken wrong" $C1)
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"revoked\"}" $U/api/v1/devices/dev-000003/status)" = 200 ]' "revoke dev-000003"
A_REVOKED=$(ans -H "Authorization: TargetToken $TT" $C3)
check '[ "${A_NONE%% *}" = 401 ]' "no credentials: $A_NONE"
for a in "$A_UNKNOWN" "$A_UNKNOWN_CERT" "$A_OTHER" "$A_WRONG" "$A_REVOKED"; do
  check '[ "$a" = "$A_NONE" ]' "authentication failures answered differently: '$a' vs '$A_NONE'"
done

# --- the device's say over DDI: download now, install later ------------------------------------
# an install-later campaign for dev-000001 is served with update skip and
# maintenanceWindow unavailable: swupdate does not install it and the action
# waits (install-later); the operator's trigger makes it forced, and
# swupdate installs and confirms
new_swu app-4.swu 3000
check '[ "$(op $TOK_release_manager --data-binary @app-4.swu "$U/api/v1/releases?name=app-4.swu&kind=swu")" = 201 ]' "swu 4 upload"
RID4=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"later\",\"release_id\":$RID4,\"filter\":{\"serialNo\":\"SN-1\"},\"install_later\":true}" $U/api/v1/campaigns)" = 201 ]' \
  "install-later campaign"
CID4=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(ddi 1 $C1)" = 200 ] && grep -q "deploymentBase" body.txt' "install-later offered"
A4=$(sqlite3 registry.db "SELECT id FROM actions WHERE campaign_id = $CID4")
check '[ "$(ddi 1 $C1/deploymentBase/$A4)" = 200 ] && grep -q "\"update\":\"skip\"" body.txt && grep -q "\"maintenanceWindow\":\"unavailable\"" body.txt' \
  "install later: update skip, window unavailable"
cp target target.before
# SWUpdate 2022.12 does not download on update skip: it closes the action
# ("Skipped Update."), which the gateway keeps open, waiting to install
SW1=$(run_sw 1 maker-ca.crt); PIDS="$PIDS $SW1"
wait_for 30 '[ "$(sqlite3 registry.db "SELECT state || \"|\" || hold FROM actions WHERE id = $A4")" = "2|1" ]' ||
  bad "the skipped update is not waiting to install: $(sqlite3 registry.db "SELECT state, hold, feedback FROM actions WHERE id = $A4")"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null
check 'cmp -s target target.before' "installed while the update was skipped"
check 'op $TOK_viewer $U/api/v1/campaigns/$CID4 >/dev/null && grep -q "\"waiting\":{\"install-later\":1," body.txt' \
  "the campaign shows the wait"
check '[ "$(op $TOK_viewer -X POST $U/api/v1/campaigns/$CID4/install)" = 403 ]' "a viewer triggered the install"
check '[ "$(op $TOK_release_manager -X POST $U/api/v1/campaigns/$CID4/install)" = 200 ]' "install trigger"
check '[ "$(ddi 1 $C1/deploymentBase/$A4)" = 200 ] && grep -q "\"update\":\"forced\"" body.txt && grep -q "\"maintenanceWindow\":\"available\"" body.txt' \
  "triggered: update forced, window available"
SW1=$(run_sw 1 maker-ca.crt); PIDS="$PIDS $SW1"
wait_for 30 'cmp -s swu/app.img target 2>/dev/null' || bad "dev-000001 did not install on the trigger: $(grep -v TRACE sw1.log | tail -n 5)"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null
SW1=$(run_sw 1 maker-ca.crt "-c 2"); PIDS="$PIDS $SW1"
wait_for 30 '[ "$(sqlite3 registry.db "SELECT state || \"|\" || hold FROM actions WHERE id = $A4")" = "3|0" ]' ||
  bad "install-later not success after -c 2: $(sqlite3 registry.db "SELECT state, hold FROM actions WHERE id = $A4")"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null

# --- consent over DDI (confirmationBase; SWUpdate 2022.12 does not speak it,
# so the device's side is curl): WAITING_FOR_CONFIRMATION until confirmed ----------------------
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"consent\",\"release_id\":$RID,\"filter\":{\"serialNo\":\"SN-1\"},\"consent\":true}" $U/api/v1/campaigns)" = 201 ]' \
  "consent campaign"
CID5=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(ddi 1 $C1)" = 200 ] && grep -q "/confirmationBase/" body.txt && ! grep -q deploymentBase body.txt' \
  "confirmationBase instead of deploymentBase"
A5=$(sqlite3 registry.db "SELECT id FROM actions WHERE campaign_id = $CID5")
check '[ "$(sqlite3 registry.db "SELECT state || \"|\" || hold FROM actions WHERE id = $A5")" = "2|3" ] &&
  op $TOK_viewer $U/api/v1/campaigns/$CID5 >/dev/null && grep -q "\"consent\":1}" body.txt' "waiting for consent recorded"
check '[ "$(ddi 1 $C1/confirmationBase)" = 200 ] && grep -q "\"autoConfirm\":{\"active\":false}" body.txt && grep -q "confirmationBase/$A5\"" body.txt' \
  "confirmationBase"
check '[ "$(ddi 1 $C1/confirmationBase/$A5)" = 200 ] && grep -q "\"confirmation\":{" body.txt && grep -q "WAITING_FOR_CONFIRMATION" body.txt' \
  "confirmationBase/$A5"
check '[ "$(ddi 1 $C1/deploymentBase/$A5)" = 200 ]' "deploymentBase while waiting"
fb() { ddi 1 -H "Content-Type: application/json" --data "$1" $C1/confirmationBase/$A5/feedback; }
check '[ "$(fb "{\"confirmation\":\"maybe\"}")" = 400 ]' "a bad confirmation"
check '[ "$(fb "{\"confirmation\":\"denied\",\"details\":[\"not now\"]}")" = 200 ] && [ "$(ddi 1 $C1)" = 200 ] && grep -q confirmationBase body.txt' \
  "denied: still waiting"
check '[ "$(sqlite3 registry.db "SELECT hold || \"|\" || feedback FROM actions WHERE id = $A5")" = "3|waiting for consent: denied (DDI): not now" ]' \
  "the denial recorded: $(sqlite3 registry.db "SELECT hold, feedback FROM actions WHERE id = $A5")"
check '[ "$(ddi 2 -H "Content-Type: application/json" --data "{\"confirmation\":\"confirmed\"}" $U/DEFAULT/controller/v1/dev-000002/confirmationBase/$A5/feedback)" = 404 ]' \
  "another device confirmed"
check '[ "$(fb "{\"confirmation\":\"confirmed\",\"code\":200,\"details\":[\"ok\"]}")" = 200 ] && [ "$(ddi 1 $C1)" = 200 ] && grep -q "deploymentBase/$A5" body.txt && ! grep -q confirmationBase body.txt' \
  "confirmed: deploymentBase"
check '[ "$(sqlite3 registry.db "SELECT hold || \"|\" || (go & 4) FROM actions WHERE id = $A5")" = "0|4" ] &&
  op $TOK_viewer "$U/api/v1/devices/dev-000001/actions?limit=1" >/dev/null && grep -q "\"consent\":\"given\"" body.txt' \
  "consent recorded: $(head -c 300 body.txt)"
check '[ "$(fb "{\"confirmation\":\"confirmed\"}")" = 404 ]' "confirmed twice"
# and swupdate takes the deployment as any other
SW1=$(run_sw 1 maker-ca.crt); PIDS="$PIDS $SW1"
wait_for 30 'sqlite3 registry.db "SELECT feedback FROM actions WHERE id = $A5" | grep -q "Installed"' ||
  bad "swupdate did not install after consent: $(grep -v TRACE sw1.log | tail -n 3)"
kill $SW1 2>/dev/null; wait $SW1 2>/dev/null

echo "ddi_swupdate: $pass passed, $fail failed"
[ $fail = 0 ]
