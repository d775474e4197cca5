#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 20, the Cyber Resilience Act end to end: two releases of an image
# built from a tree of unpacked Debian packages (tiny .debs made here with
# dpkg-deb -b, so the test needs no mirror), their CycloneDX SBOMs checked
# against the CycloneDX 1.6 schema and every BSI TR-03183-2 field, the same
# SBOM from an ext4 image (debugfs), signed into the releases with
# `bulwark sign --sbom`, stored and served by the gateway, a tampered SBOM
# refused. Usage: cra.sh BULWARK BULWARK-GATEWAY SOURCE-DIR
set -u
LIB=$(dirname "$(realpath "$0")")
. "$LIB/gwlib.sh"
B=$(realpath "$1"); GW=$(realpath "$2"); SRC=$(realpath "$3")
PY=/usr/bin/python3
CHECK="$PY $SRC/tests/integ/cra_check.py $SRC/tests/schemas"
gw_begin
export SOURCE_DATE_EPOCH=1767225600

# deb NAME VERSION DEPENDS LICENCE: debs/NAME_VERSION_amd64.deb with a DEP-5
# copyright file and one library file
deb() {
  local d=pkg-$1-$2
  mkdir -p $d/DEBIAN $d/usr/share/doc/$1 $d/usr/lib
  { echo "Package: $1"; echo "Version: $2"; echo "Architecture: amd64"
    echo "Maintainer: $1 maintainers <$1@example.org>"
    [ -n "$3" ] && echo "Depends: $3"
    echo "Description: test package $1"; echo " for the CRA test"; } > $d/DEBIAN/control
  printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2026 %s\nLicense: %s\n\nFiles: debian/*\nLicense: Expat\n' \
    "$1" "$4" > $d/usr/share/doc/$1/copyright
  echo "$1 $2" > $d/usr/lib/$1.so
  mkdir -p debs; dpkg-deb -b --root-owner-group $d debs/${1}_${2}_amd64.deb >/dev/null || bad "dpkg-deb $1"
}
# rootfs DIR DEB...: the packages unpacked into DIR with their dpkg status
rootfs() {
  local r=$1 f; shift
  mkdir -p $r/var/lib/dpkg
  for f in "$@"; do
    dpkg-deb -x debs/$f $r
    { dpkg-deb -f debs/$f; echo "Status: install ok installed"; echo; } >> $r/var/lib/dpkg/status
  done
}
deb libc6 2.36-9 "" LGPL-2.1+
deb zlib1g 1:1.2.13.dfsg-1 "libc6 (>= 2.14)" Zlib
deb libfoo 1.0-1 "libc6 (>= 2.34), zlib1g (>= 1:1.2.0)" GPL-2+
deb libfoo 1.0-2 "libc6 (>= 2.34), zlib1g (>= 1:1.2.0)" GPL-2+
deb fooctl 3.1 "libfoo, default-mta | mail-transport-agent" Apache-2.0
mv debs/zlib1g_1:1.2.13.dfsg-1_amd64.deb "debs/zlib1g_1%3a1.2.13.dfsg-1_amd64.deb"
rootfs root1 libc6_2.36-9_amd64.deb "zlib1g_1%3a1.2.13.dfsg-1_amd64.deb" libfoo_1.0-1_amd64.deb fooctl_3.1_amd64.deb
rootfs root2 libc6_2.36-9_amd64.deb "zlib1g_1%3a1.2.13.dfsg-1_amd64.deb" libfoo_1.0-2_amd64.deb fooctl_3.1_amd64.deb
# a package removed but not purged stays in the database: not a component
printf 'Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n\n' >> root1/var/lib/dpkg/status
echo 'gizmo app' > gizmo-app.bin
cat > maker.list <<EOF
Name: gizmo-firmware-app
Version: 1.4.0
Creator: https://acme.example
Filename: gizmo-app.bin
SHA512: $(sha512sum < gizmo-app.bin | cut -c1-128)
PURL: pkg:generic/acme/gizmo-firmware-app@1.4.0
License: Apache-2.0
Depends: libfoo
Executable: yes
Archive: no
Structured: no
EOF

sbom() { # sbom OUT ROOT [more args]
  local out=$1 root=$2; shift 2
  "$B" sbom --root $root --debs debs --product Gizmo --product-version ${out%.json} \
    --creator "ACME GmbH" --creator-url https://acme.example --out $out --json "$@" > $out.sum
}
check 'sbom r1.json root1 --list maker.list' "bulwark sbom release 1"
check 'sbom r2.json root2 --list maker.list' "bulwark sbom release 2"
check '$CHECK sbom r1.json r2.json' "SBOMs valid (CycloneDX 1.6 schema, BSI TR-03183-2 fields)"
# what the SBOM says, component by component
check '$PY - r1.json <<EOF
import json, sys
b = json.load(open(sys.argv[1]))
c = {x["name"]: x for x in b["components"]}
assert set(c) == {"libc6", "zlib1g", "libfoo", "fooctl", "gizmo-firmware-app"}, set(c)
z = c["zlib1g"]
assert z["purl"] == "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64", z["purl"]
p = {x["name"]: x["value"] for x in z["properties"]}
assert p["bsi:component:filename"] == "zlib1g_1.2.13.dfsg-1_amd64.deb", p
h = z["externalReferences"][0]["hashes"][0]
import hashlib
assert h["content"] == hashlib.sha512(open("debs/zlib1g_1%3a1.2.13.dfsg-1_amd64.deb", "rb").read()).hexdigest()
assert {l["license"]["id"] for l in z["licenses"]} == {"Zlib", "MIT"}, z["licenses"]
assert c["libfoo"]["manufacturer"]["contact"][0]["email"] == "libfoo@example.org"
d = {x["ref"]: x["dependsOn"] for x in b["dependencies"]}
assert sorted(d[c["libfoo"]["bom-ref"]]) == sorted([c["libc6"]["bom-ref"], z["bom-ref"]])
comp = {r: x["aggregate"] for x in b["compositions"] for r in x["dependencies"]}
assert comp[c["fooctl"]["bom-ref"]] == "incomplete"  # an alternative: not determined
assert comp[c["libfoo"]["bom-ref"]] == "complete"
assert c["gizmo-firmware-app"]["manufacturer"]["url"] == ["https://acme.example"]
assert "vulnerabilities" not in b
EOF' "SBOM content (purl, filename, SHA-512 of the .deb, licences, dependencies, completeness)"
# the checker itself fails a broken SBOM (a component without a creator)
$PY -c 'import json; b = json.load(open("r1.json")); del b["components"][0]["manufacturer"]
b["components"][1]["type"] = "gadget"; json.dump(b, open("broken.json", "w"))'
$CHECK sbom broken.json 2> broken.err
check '[ $? = 1 ] && grep -q "creator" broken.err && grep -q "gadget" broken.err' \
  "a broken SBOM passes the checker"
# reproducible: the same tree gives the same bytes
sbom again.json root1 --list maker.list
check 'sed "s/again/r1/" again.json | cmp -s - r1.json' "SBOM not reproducible"
# the same SBOM from an ext4 image of the tree (debugfs)
if command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null; then
  mkfs.ext4 -q -F -d root1 root1.ext4 8M >/dev/null 2>&1 || bad "mkfs.ext4 -d"
  "$B" sbom --image root1.ext4 --debs debs --product Gizmo --product-version r1 \
    --creator "ACME GmbH" --creator-url https://acme.example --list maker.list --out img.json >/dev/null
  check 'cmp -s img.json r1.json' "SBOM from the ext4 image differs from the tree's"
else
  bad "mkfs.ext4/debugfs (e2fsprogs) not installed"
fi
# usage and malformed input
"$B" sbom --root root1 --product G --product-version 1 --creator A >/dev/null 2>&1
check '[ $? = 2 ]' "no --creator-url/--creator-email accepted"
printf 'Name: x\nVersion: 1\nCreator: a@b\nColour: red\n' > typo.list
"$B" sbom --list typo.list --product G --product-version 1 --creator A --creator-email a@b >/dev/null 2>&1
check '[ $? = 14 ]' "a maker list with an unknown field accepted (want BW_E_FORMAT, 14)"

# ---- releases signed with their SBOMs, stored by the gateway ----
gw_server_cert
gw_operators release-manager viewer
"$B" keygen --out rel.key --pub rel.pub >/dev/null
for r in 1 2; do
  tar -C root$r --sort=name --mtime=@$SOURCE_DATE_EPOCH --owner=0 --group=0 -cf r$r.img .
  "$B" sign --key rel.key --vendor-id $V --class-id $C --sequence $r --out r$r.bwp \
    --sbom r$r.json --json r$r.img > r$r.sign || bad "sign r$r"
  check '[ "$($PY -c "import json; print(json.load(open(\"r$r.sign\"))[\"sbom_sha256\"])")" = "$(sha256sum < r$r.json | cut -c1-64)" ]' \
    "sign --json shows the SBOM digest of r$r"
  "$B" inspect --json r$r.bwp > r$r.insp
  check 'grep -q "\"sbom_sha256\":\"$(sha256sum < r$r.json | cut -c1-64)\"" r$r.insp' "inspect shows the SBOM of r$r"
done
"$B" verify --pub rel.pub r1.bwp >/dev/null || bad "verify r1 with an SBOM digest"
gw_start "$T/srvca.crt"
RM=$TOK_release_manager VW=$TOK_viewer
for r in 1 2; do
  check '[ "$(op $RM --data-binary @r$r.bwp "$U/api/v1/releases?name=r$r")" = 201 ]' "upload r$r"
done
id1=1 id2=2
check '[ "$(op $VW "$U/api/v1/releases/$id1/sbom")" = 404 ]' "an SBOM served before it was uploaded"
cp r1.json tampered.json
"$LIB/flipbyte.sh" tampered.json 300
check '[ "$(op $RM -X PUT --data-binary @tampered.json "$U/api/v1/releases/$id1/sbom")" = 422 ] && grep -q "manifest signs" body.txt' \
  "a tampered SBOM stored for r1"
check '[ "$(op $RM -X PUT --data-binary @r2.json "$U/api/v1/releases/$id1/sbom")" = 422 ]' \
  "release 2's SBOM stored for release 1"
check '[ "$(op $VW -X PUT --data-binary @r1.json "$U/api/v1/releases/$id1/sbom")" = 403 ]' \
  "a viewer stored an SBOM"
check '[ "$(op $RM -X PUT --data-binary @r1.json "$U/api/v1/releases/$id1/sbom")" = 201 ]' "store r1's SBOM"
check '[ "$(op $VW "$U/api/v1/releases/$id1/sbom")" = 200 ] && cmp -s body.txt r1.json' "serve r1's SBOM"
check '[ "$(op $VW "$U/api/v1/releases/$id1")" = 200 ] && grep -q "\"sbom_stored\": *true" body.txt' \
  "release 1 shows its stored SBOM"
check '[ "$(op $VW "$U/api/v1/releases/$id2")" = 200 ] && grep -q "\"sbom_stored\": *false" body.txt' \
  "release 2 shows no stored SBOM"
check '[ "$(req "$U/api/v1/releases/$id1/sbom")" = 401 ]' "the SBOM served without a token"
check '[ "$(op $RM -X PUT --data-binary @r2.json "$U/api/v1/releases/$id2/sbom")" = 201 ]' "store r2's SBOM"

echo "cra: $pass passed, $fail failed"
[ "$fail" = 0 ]
