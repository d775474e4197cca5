#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds OpenSSL's FIPS provider (providers/fips.so) from Debian's openssl
# source package (fetched with scripts/deb-src.sh: Debian does not ship the
# provider) and installs it into OUTDIR only, never into the system:
#   OUTDIR/fips.so            the provider
#   OUTDIR/fipsmodule.cnf     written by `openssl fipsinstall` (the module's
#                             integrity MAC and the self-test record)
#   OUTDIR/openssl-fips.cnf   an OpenSSL config that includes it and makes
#                             "fips" the only provider of algorithms ("base"
#                             adds key encoders and decoders, no algorithm):
#                             crypto_mode = approved loads it (docs/fips.md)
#   OUTDIR/VERSION            the provider's version
# Only the provider is built (Configure enable-fips, then the fips.so
# target), not libcrypto, libssl or the apps; the objects are kept beside
# the source in the user's cache, so a second build tree only installs and
# runs fipsinstall (well under a second). The system's openssl runs
# fipsinstall, so the provider must be of the same 3.0 series as libssl3
# (providers are loaded through the 3.x provider ABI: a 3.0.20 provider
# loads into libcrypto 3.0.22).
# Usage: scripts/fips-provider.sh OUTDIR    (cached: returns at once when
# OUTDIR/fipsmodule.cnf exists and is newer than fips.so)
set -eu
out=$(mkdir -p "$1" && cd "$1" && pwd)
jobs=${BW_FIPS_JOBS:-2}
if [ -f "$out/fipsmodule.cnf" ] && [ "$out/fipsmodule.cnf" -nt "$out/fips.so" ] &&
   [ -f "$out/openssl-fips.cnf" ]; then
  exit 0
fi
src=$("$(dirname "$0")/deb-src.sh" libssl3 openssl providers/fips/self_test.c)
sysver=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null || openssl version | awk '{print $2}')
srcver=$(basename "$src"); srcver=${srcver#openssl-}
case "$sysver" in
  3.0.*) case "$srcver" in 3.0.*) ;; *) echo "fips-provider: source $srcver is not of libssl3's 3.0 series ($sysver)" >&2; exit 1 ;; esac ;;
  *) echo "fips-provider: libssl3 $sysver is not OpenSSL 3.0" >&2; exit 1 ;;
esac
obj=${BW_FIPS_OBJ:-$(dirname "$src")/fips-obj-$srcver}
mkdir -p "$obj"
exec 9>"$obj.lock"
flock 9 # two build trees set up at once share one object tree
start=$(date +%s)
if [ ! -f "$obj/Makefile" ]; then
  # out-of-source build beside the cached source tree
  ( cd "$obj" && "$src/Configure" enable-fips no-tests linux-x86_64 >"$obj/configure.log" 2>&1 ) ||
    { tail -20 "$obj/configure.log" >&2; exit 1; }
fi
( cd "$obj" && make -j"$jobs" build_generated >"$obj/make.log" 2>&1 &&
  make -j"$jobs" providers/fips.so >>"$obj/make.log" 2>&1 ) ||
  { tail -30 "$obj/make.log" >&2; exit 1; }
echo "fips-provider: built providers/fips.so from openssl $srcver in $(( $(date +%s) - start ))s (-j$jobs)" >&2
install -m 0755 "$obj/providers/fips.so" "$out/fips.so.tmp"
mv "$out/fips.so.tmp" "$out/fips.so"
echo "$srcver" > "$out/VERSION"
# fipsinstall loads the module, runs its self-tests and records their MAC
openssl fipsinstall -module "$out/fips.so" -out "$out/fipsmodule.cnf.tmp" -provider_name fips >"$out/fipsinstall.log" 2>&1 ||
  { cat "$out/fipsinstall.log" >&2; exit 1; }
# the module's path, so no MODULESDIR search is needed to find it
sed -i "s|^\[fips_sect\]\$|[fips_sect]\nmodule = $out/fips.so|" "$out/fipsmodule.cnf.tmp"
grep -q "^module = " "$out/fipsmodule.cnf.tmp" || { echo "fips-provider: unexpected fipsmodule.cnf" >&2; exit 1; }
cat > "$out/openssl-fips.cnf" <<CNF
# written by scripts/fips-provider.sh: the FIPS provider as the only provider
config_diagnostics = 1
openssl_conf = openssl_init
.include $out/fipsmodule.cnf
[openssl_init]
providers = provider_sect
alg_section = algorithm_sect
[provider_sect]
fips = fips_sect
base = base_sect
[base_sect]
activate = 1
[algorithm_sect]
default_properties = fips=yes
CNF
mv "$out/fipsmodule.cnf.tmp" "$out/fipsmodule.cnf"
echo "$out"
