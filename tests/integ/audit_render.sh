#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Statement of Applicability and the risk report opened in headless
# Chromium: the DOM Chromium builds holds one table row per requirement (so
# the escaped maker text did not break the markup) and the heat map's 25
# cells, and a screenshot is a non-trivial PNG. The SoA opens with its
# findings (verdict, failed and unanswered rows, product and batch) before
# the full table, and printed to PDF (chromium --print-to-pdf, read back
# with poppler's pdfinfo / pdftotext) every page after the first repeats
# the table header. Exit 77 (skipped) without chromium.
# Usage: audit_render.sh BULWARK
set -u
LIB=$(dirname "$(realpath "$0")")/auditlib.sh
B=$(realpath "$1")
CH=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CH" ] || { echo "chromium not installed: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
. "$LIB"
chrome() { timeout 120 "$CH" --headless --no-sandbox --disable-gpu --hide-scrollbars \
             --user-data-dir="$T/profile" "$@" 2>/dev/null; }

"$B" audit init --out profile.conf >/dev/null
sed -i 's|^product = .*|product = Thermo <b>"bold"</b> \& <script>x()</script>|; s|^risk_register = .*|risk_register = risk.json|; s|^batch = .*|batch = Batch-4711|' profile.conf
"$B" risk init --out risk.json --device 'AT-200 <i>' >/dev/null
"$B" audit --profile profile.conf --out rep >/dev/null
"$B" risk report --register risk.json --out risk.html
nreq=$("$B" audit list | wc -l)

chrome --dump-dom "file://$T/rep/soa.html" > soa.dom
sed -n '/<h2>All requirements/,$p' soa.dom > all.dom
check '[ "$(grep -o "<tr class=" all.dom | wc -l)" = "$nreq" ]' \
  "rendered SoA has $(grep -o '<tr class=' all.dom | wc -l) requirement rows, want $nreq"
# findings first: verdict, then the failed and unanswered rows, then the table
pos() { grep -b -o "$1" soa.dom | head -1 | cut -d: -f1; }
check '[ -n "$(pos "<h2>Verdict")" ] && [ "$(pos "<h2>Verdict")" -lt "$(pos "<h2>All requirements")" ]' \
  "the SoA does not open with its verdict"
check '[ -n "$(pos "<h2>Failed requirements")" ] && [ "$(pos "<h2>Failed requirements")" -lt "$(pos "<h2>All requirements")" ]' \
  "failed rows are not listed before the full table"
check '[ -n "$(pos "<h2>Unanswered requirements")" ] && [ "$(pos "Batch-4711")" -lt "$(pos "<h2>All requirements")" ]' \
  "unanswered rows or the batch are not listed before the full table"
check 'grep -q "NOT MET: " soa.dom' "verdict does not say NOT MET for a failing audit"
check '! grep -q "<script>" soa.dom && ! grep -q "<b>" soa.dom' "maker text became markup"
chrome --dump-dom "file://$T/risk.html" > risk.dom
check '[ "$(grep -o "<rect " risk.dom | wc -l)" = 25 ]' "heat map has $(grep -o '<rect ' risk.dom | wc -l) cells"
for f in soa risk; do
  src=rep/soa.html; [ $f = risk ] && src=risk.html
  chrome --window-size=1280,1400 --screenshot="$T/$f.png" "file://$T/$src" >/dev/null
  check '[ "$(head -c 8 $f.png | od -An -tx1 | tr -d " ")" = 89504e470d0a1a0a ]' "$f screenshot is not a PNG"
  check '[ "$(stat -c %s $f.png)" -gt 20000 ]' "$f screenshot is nearly empty"
done

# printed: A4 landscape, the table header on every page
chrome --no-pdf-header-footer --print-to-pdf="$T/soa.pdf" "file://$T/rep/soa.html" >/dev/null
if command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null; then
  pages=$(pdfinfo soa.pdf | awk '/^Pages:/ { print $2 }')
  check '[ "${pages:-0}" -ge 3 ]' "SoA PDF has ${pages:-no} pages"
  missing=
  for p in $(seq 2 "${pages:-1}"); do
    pdftotext -f $p -l $p -layout soa.pdf page.txt
    # (the requirements' header, or the --strict reasons' header above them)
    grep -Eq "Justification.*Control.*Evidence|Reason --strict gives" page.txt ||
      missing="$missing $p"
  done
  check '[ -z "$missing" ]' "table header not repeated on PDF page(s)$missing"
  pdftotext -f 1 -l 1 soa.pdf first.txt
  check 'grep -q "Verdict" first.txt && grep -q "Batch-4711" first.txt' "PDF page 1 lacks the verdict or the batch"
else
  echo "poppler-utils not installed: PDF pages not read"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
