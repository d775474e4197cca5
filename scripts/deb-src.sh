#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches the Debian source package a binary package was built from, in the
# exact version the system has (or would install), with apt-get source. Used
# for the MCU port's mbedtls (scripts/mbedtls-src.sh) and the OpenSSL FIPS
# provider (scripts/fips-provider.sh). The sources are never copied into the
# git tree. This machine's apt lists carry no deb-src entries, so a private
# apt state (deb-src for the same suite and mirror as the system's first deb
# entry) is used; the system's apt configuration is left as it is.
# Usage: scripts/deb-src.sh BINPKG DIRPREFIX CHECKFILE [DESTDIR]
#   prints the source tree's path, DESTDIR/DIRPREFIX-UPSTREAMVERSION, once
#   CHECKFILE (relative to the tree) exists in it. When the mirror lists the
#   installed version but cannot serve its files (a security update missing
#   from a partial mirror), the newest source version it can serve is fetched
#   instead, with a warning; the caller checks the version it needs.
set -eu
bin=$1 prefix=$2 check=$3
dest=${4:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark/$prefix}
ver=$(dpkg-query -W -f='${source:Version}' "$bin" 2>/dev/null || true)
[ -n "$ver" ] || ver=$(apt-cache policy "$bin" | awk '/Candidate:/ {print $2}')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "deb-src: no version of $bin known to apt" >&2; exit 1; }
src=$(dpkg-query -W -f='${source:Package}' "$bin" 2>/dev/null || true)
[ -n "$src" ] || src=$(apt-cache show "$bin" 2>/dev/null | awk '/^Source:/ {print $2; exit}')
[ -n "$src" ] || src=$bin
up=${ver%-*}; up=${up#*:}
tree="$dest/$prefix-$up"
if [ -f "$tree/$check" ]; then echo "$tree"; exit 0; fi
if [ -f "$tree.fallback" ] && [ -f "$(cat "$tree.fallback")/$check" ]; then cat "$tree.fallback"; exit 0; fi
mkdir -p "$dest/apt/lists/partial" "$dest/apt/cache/archives/partial" "$dest/apt/parts"
uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
suite=$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then # one-line style: deb [opts] URI SUITE ...
  set -- $(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) \([^ ]*\).*/\2 \3/p' /etc/apt/sources.list | head -1)
  uri=${1:-}; suite=${2:-}
fi
# a security update's source lives in the security archive: list it too
cat > "$dest/apt/parts/deb-src.sources" <<SRC
Types: deb-src
URIs: ${uri:-http://deb.debian.org/debian}
Suites: ${suite:-bookworm} ${suite:-bookworm}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: ${uri%/debian}/debian-security
Suites: ${suite:-bookworm}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
A=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$dest/apt/parts"
   -o "Dir::State::Lists=$dest/apt/lists" -o "Dir::Cache=$dest/apt/cache"
   -o APT::Sandbox::User=root)
apt-get "${A[@]}" -q update >&2
if ( cd "$dest" && apt-get "${A[@]}" -q source "$src=$ver" >&2 ) && [ -f "$tree/$check" ]; then
  echo "$tree"; exit 0
fi
for v in $(apt-cache "${A[@]}" showsrc "$src" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -u -r -V); do
  [ "$v" != "$ver" ] || continue
  u=${v%-*}; u=${u#*:}
  if ( cd "$dest" && apt-get "${A[@]}" -q source "$src=$v" >&2 ) && [ -f "$dest/$prefix-$u/$check" ]; then
    echo "deb-src: $src $ver could not be fetched from the mirror; using $v" >&2
    echo "$dest/$prefix-$u" > "$tree.fallback"
    echo "$dest/$prefix-$u"; exit 0
  fi
done
echo "deb-src: no source of $src could be fetched (wanted $ver)" >&2
exit 1
