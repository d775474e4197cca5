#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fleet dashboard served by bulwark-gateway, opened in headless
# Chromium over the DevTools protocol (dashboard_ui.py, cdp.py). The fleet
# is set up through the real APIs: three provisioned devices, two speaking
# hawkBit DDI with TargetTokens whose attributes and feedback carry markup
# and script, a rejected one, a release and a campaign with markup in their
# names. The browser part checks that text stays text, the search and
# filters, the roles, and that pausing, resuming and cancelling a campaign
# and revoking a device change the registry. Here: the page's headers (CSP)
# and the new operator list endpoints. Exit 77 (skipped) without chromium.
# Usage: dashboard.sh BULWARK BULWARK-GATEWAY [SHOTS-DIR]
set -u
. "$(dirname "$0")/gwlib.sh"
HERE=$(realpath "$(dirname "$0")")
B=$(realpath "$1"); GW=$(realpath "$2"); SHOTS=${3:+$(realpath "$3")}
CH=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CH" ] || { echo "chromium not installed: skipped"; exit 77; }
T=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"; }
trap cleanup EXIT
cd "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2 [last answer: $(head -c 300 body.txt 2>/dev/null)]"; fi; }
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

gw_server_cert
"$B" provision --ca-dir factory --count 3 --out devs --argon2 1,1024,1 >/dev/null 2>&1 || bad "provision"
"$B" keygen --out rel.key --pub rel.pub >/dev/null
gw_operators admin release-manager viewer
gw_start "$T/factory/ca.crt" "poll_interval = 1"
check '[ "$(op $TOK_admin --data-binary @factory/registry.jsonl $U/api/v1/devices/import)" = 200 ]' "import"

# --- the page and its headers ------------------------------------------------------
check '[ "$(req -D hdr.txt $U/dashboard/)" = 200 ] && grep -q "<title>bulwark fleet</title>" body.txt' "page"
check 'grep -qi "^content-security-policy: default-src .none.; script-src .self.; style-src .self.;" hdr.txt' \
  "no CSP: $(cat hdr.txt)"
check 'grep -qi "^x-frame-options: DENY" hdr.txt && grep -qi "^content-type: text/html" hdr.txt' "frame/type headers"
check '! grep -q "<script>" body.txt && ! grep -qi " on[a-z]*=" body.txt && ! grep -q "style=" body.txt' \
  "inline script, handler or style in the page"
check '! grep -q "https\?://" body.txt' "external asset in the page"
check '[ "$(req -D hdr.txt $U/dashboard/app.js)" = 200 ] && grep -qi "^content-type: text/javascript" hdr.txt' "app.js"
check '! grep -q "innerHTML\|outerHTML\|insertAdjacentHTML\|document.write\|eval(" body.txt' "HTML sinks in app.js"
check '[ "$(req $U/dashboard/app.css)" = 200 ] && [ "$(req $U/dashboard/other.js)" = 404 ]' "assets"
check '[ "$(req -X POST $U/dashboard/)" = 405 ]' "POST to the page"

# --- the fleet: attributes and feedback with markup, through the DDI API ------------
TT=()
for i in 1 2; do
  check '[ "$(op $TOK_admin -X POST $U/api/v1/devices/dev-00000$i/target-token)" = 200 ]' "target token $i"
  TT[$i]=$(sed -n 's/.*"token":"\([A-Za-z0-9]*\)".*/\1/p' body.txt)
done
ddi() { local i=$1; shift; req -H "Authorization: TargetToken ${TT[$i]}" "$@"; }
C=$U/DEFAULT/controller/v1
cat > cfg1.json <<'EOF'
{"mode":"merge","data":{"serialNo":"SN-1","note":"<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">","compliance":"SoA 41/43 met"}}
EOF
check '[ "$(ddi 1 -X PUT -H "Content-Type: application/json" --data @cfg1.json $C/dev-000001/configData)" = 200 ]' "configData 1"
check '[ "$(ddi 2 -X PUT -H "Content-Type: application/json" --data "{\"data\":{\"serialNo\":\"SN-2\"}}" $C/dev-000002/configData)" = 200 ]' "configData 2"
check '[ "$(op $TOK_admin -H "Content-Type: application/json" --data "{\"status\":\"rejected\"}" $U/api/v1/devices/dev-000003/status)" = 200 ]' "reject dev-000003"
head -c 5000 /dev/urandom > app.swu
check '[ "$(op $TOK_release_manager --data-binary @app.swu "$U/api/v1/releases?name=fw%20%3Ci%3E2%3C%2Fi%3E&kind=swu")" = 201 ]' "release"
RID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' body.txt)
check '[ "$(op $TOK_release_manager -H "Content-Type: application/json" --data "{\"name\":\"<b>roll</b> out\",\"release_id\":$RID,\"filter\":{}}" $U/api/v1/campaigns)" = 201 ]' "campaign"
CID=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' body.txt)
# dev-000001 takes the action and reports progress with markup in its details
check '[ "$(ddi 1 $C/dev-000001)" = 200 ] && grep -q deploymentBase body.txt' "poll 1"
AID=$(grep -o 'deploymentBase/[0-9]*' body.txt | cut -d/ -f2)
cat > fb.json <<EOF
{"id":"$AID","status":{"execution":"proceeding","result":{"finished":"none"},"details":["<img src=x onerror=window.__pwned=3>","step 1"]}}
EOF
check '[ "$(ddi 1 -H "Content-Type: application/json" --data @fb.json $C/dev-000001/deploymentBase/$AID/feedback)" = 200 ]' "feedback"

# --- the operator list endpoints the dashboard reads ------------------------------------
check '[ "$(op $TOK_viewer $U/api/v1/whoami)" = 200 ] && [ "$(cat body.txt)" = "{\"name\":\"op-viewer\",\"role\":\"viewer\"}" ]' "whoami"
check '[ "$(op $TOK_viewer $U/api/v1/releases)" = 200 ] && $PY -c "import json,sys; r=json.load(open(\"body.txt\")); sys.exit(not (len(r)==1 and r[0][\"name\"]==\"fw <i>2</i>\" and r[0][\"kind\"]==\"swu\"))"' "release list"
check '[ "$(op $TOK_viewer $U/api/v1/campaigns)" = 200 ] && $PY -c "import json,sys; c=json.load(open(\"body.txt\"))[0]; sys.exit(not (c[\"id\"]==$CID and c[\"state\"]==\"running\" and c[\"actions\"][\"running\"]==1 and c[\"actions\"][\"scheduled\"]==1 and c[\"filter\"]=={}))"' "campaign list"
check '[ "$(op $TOK_viewer "$U/api/v1/devices/dev-000001/actions")" = 200 ] && $PY -c "import json,sys; a=json.load(open(\"body.txt\")); sys.exit(not (len(a)==1 and a[0][\"id\"]==$AID and a[0][\"state\"]==\"running\" and \"<img src=x onerror=window.__pwned=3>\" in a[0][\"feedback\"]))"' "device history"
check '[ "$(op $TOK_viewer "$U/api/v1/devices/dev-000003/actions")" = 200 ] && [ "$(cat body.txt)" = "[]" ]' "empty history"
check '[ "$(op $TOK_viewer "$U/api/v1/campaigns?limit=0")" = 400 ] && [ "$(op $TOK_viewer "$U/api/v1/releases?offset=-1")" = 400 ]' "bad paging"
check '[ "$(op $TOK_viewer "$U/api/v1/releases?offset=1")" = 200 ] && [ "$(cat body.txt)" = "[]" ]' "offset"
check '[ "$(req $U/api/v1/campaigns)" = 401 ]' "list without a token"

# --- the browser ------------------------------------------------------------------------
mkdir -p profile
timeout 240 $PY "$HERE/dashboard_ui.py" "$CH" "$T/profile" "$U" "$T/registry.db" \
  "$TOK_viewer" "$TOK_release_manager" "$TOK_admin" ${SHOTS:+"$SHOTS"} > ui.log 2>&1
rc=$?
sed 's/^/  ui: /' ui.log
if [ $rc = 0 ]; then ok; else bad "dashboard in chromium (rc $rc)"; fi
# the state the browser left, read by the operator API too
check '[ "$(op $TOK_viewer $U/api/v1/campaigns/$CID)" = 200 ] && grep -q "\"state\":\"cancelled\"" body.txt' "campaign cancelled"
check '[ "$(op $TOK_viewer $U/api/v1/devices/dev-000002)" = 200 ] && grep -q "\"status\":\"revoked\"" body.txt' "device revoked"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
