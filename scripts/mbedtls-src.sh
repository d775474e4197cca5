#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches Debian's mbedtls source package (the one libmbedtls-dev is built
# from) with apt-get source, for port/mps2/ to cross-build for the Cortex-M.
# The sources are never copied into the git tree. This machine's apt lists
# carry no deb-src entries, so a private apt state (deb-src for the same
# suite and mirror as the system's first deb entry) is used; the system's
# apt configuration is left as it is.
# Usage: scripts/mbedtls-src.sh [DESTDIR]   prints the source tree's path.
set -eu
dest=${1:-${BW_MBEDTLS_SRC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark/mbedtls}}
ver=$(dpkg-query -W -f='${source:Version}' libmbedtls-dev 2>/dev/null || true)
[ -n "$ver" ] || ver=$(apt-cache policy libmbedtls-dev | awk '/Candidate:/ {print $2}')
up=${ver%-*}; up=${up#*:}
tree="$dest/mbedtls-$up"
if [ -f "$tree/library/ecdsa.c" ]; then echo "$tree"; exit 0; fi
mkdir -p "$dest/apt/lists/partial" "$dest/apt/cache/archives/partial" "$dest/apt/parts"
uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
suite=$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then # one-line style: deb [opts] URI SUITE ...
  set -- $(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) \([^ ]*\).*/\2 \3/p' /etc/apt/sources.list | head -1)
  uri=${1:-}; suite=${2:-}
fi
cat > "$dest/apt/parts/deb-src.sources" <<SRC
Types: deb-src
URIs: ${uri:-http://deb.debian.org/debian}
Suites: ${suite:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
A=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$dest/apt/parts"
   -o "Dir::State::Lists=$dest/apt/lists" -o "Dir::Cache=$dest/apt/cache"
   -o APT::Sandbox::User=root)
apt-get "${A[@]}" -q update >&2
( cd "$dest" && apt-get "${A[@]}" -q source "mbedtls=$ver" >&2 )
[ -f "$tree/library/ecdsa.c" ] || { echo "mbedtls-src: no $tree after apt-get source" >&2; exit 1; }
echo "$tree"
