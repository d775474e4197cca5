#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Statement of Applicability and the risk report opened in headless
# Chromium: the DOM Chromium builds holds one table row per requirement (so
# the escaped maker text did not break the markup) and the heat map's 25
# cells, and a screenshot is a non-trivial PNG. Exit 77 (skipped) without
# chromium. Usage: audit_render.sh BULWARK
set -u
B=$(realpath "$1")
CH=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CH" ] || { echo "chromium not installed: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
chrome() { timeout 120 "$CH" --headless --no-sandbox --disable-gpu --hide-scrollbars \
             --user-data-dir="$T/profile" "$@" 2>/dev/null; }

"$B" audit init --out profile.conf >/dev/null
sed -i 's|^product = .*|product = Thermo <b>"bold"</b> \& <script>x()</script>|; s|^risk_register = .*|risk_register = risk.json|' profile.conf
"$B" risk init --out risk.json --device 'AT-200 <i>' >/dev/null
"$B" audit --profile profile.conf --out rep >/dev/null
"$B" risk report --register risk.json --out risk.html
nreq=$("$B" audit list | wc -l)

chrome --dump-dom "file://$T/rep/soa.html" > soa.dom
check '[ "$(grep -o "<tr class=" soa.dom | wc -l)" = "$nreq" ]' \
  "rendered SoA has $(grep -o '<tr class=' soa.dom | wc -l) requirement rows, want $nreq"
check '! grep -q "<script>" soa.dom && ! grep -q "<b>" soa.dom' "maker text became markup"
chrome --dump-dom "file://$T/risk.html" > risk.dom
check '[ "$(grep -o "<rect " risk.dom | wc -l)" = 25 ]' "heat map has $(grep -o '<rect ' risk.dom | wc -l) cells"
for f in soa risk; do
  src=rep/soa.html; [ $f = risk ] && src=risk.html
  chrome --window-size=1280,1400 --screenshot="$T/$f.png" "file://$T/$src" >/dev/null
  check '[ "$(head -c 8 $f.png | od -An -tx1 | tr -d " ")" = 89504e470d0a1a0a ]' "$f screenshot is not a PNG"
  check '[ "$(stat -c %s $f.png)" -gt 20000 ]' "$f screenshot is nearly empty"
done

echo "$pass passed, $fail failed"
[ $fail = 0 ]
