#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages bulwark needs to build, test, fuzz and
# benchmark, but only those missing, so repeated runs cost nothing.
# Usage: scripts/setup.sh [build|test|bench]
set -eu
need=(cmake make gcc pkg-config libssl-dev openssl libjansson-dev xxd python3 libubootenv-dev
      libubootenv-tool grub-common libcurl4-openssl-dev libargon2-dev libtss2-dev libp11-kit-dev
      libtss2-tcti-tabrmd0 libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libpq-dev libmbedtls-dev
      libzstd-dev)
case "${1:-test}" in
  test|bench) need+=(clang libclang-rt-14-dev gcc-arm-none-eabi libnewlib-arm-none-eabi
                     softhsm2 opensc swtpm swtpm-tools tpm2-tools tpm2-abrmd dbus-daemon
                     postgresql sqlite3 swupdate cpio mender-client mender-artifact python3-jsonschema chromium
                     poppler-utils gnupg qemu-system-arm dpkg-dev python3-securesystemslib faketime
                     e2fsprogs zstd strace) ;;
esac
[ "${1:-}" = bench ] && need+=(bc time nginx-light xdelta3 bsdiff zchunk casync e2fsprogs)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} != 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# the MCU port cross-builds Debian's mbedtls source package (port/mps2/)
case "${1:-test}" in
  test|bench) "$(dirname "$0")/mbedtls-src.sh" >/dev/null ||
    echo "setup: the mbedtls source package could not be fetched; the Cortex-M emulator tests (mcu.*) will be skipped" >&2 ;;
esac
# crypto_mode = approved is tested against OpenSSL's FIPS provider, built
# from Debian's openssl source package (Debian does not ship it): about a
# minute with -j2, once; each build tree then installs its own copy
# (ctest's fips.provider, tests/fips.cmake)
case "${1:-test}" in
  test|bench) "$(dirname "$0")/fips-provider.sh" "${XDG_CACHE_HOME:-$HOME/.cache}/bulwark/fips" >/dev/null ||
    echo "setup: the OpenSSL FIPS provider could not be built; the approved-mode tests (fips.*) will be skipped" >&2 ;;
esac
