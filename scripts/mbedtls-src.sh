#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches Debian's mbedtls source package (the one libmbedtls-dev is built
# from) with apt-get source (scripts/deb-src.sh), for port/mps2/ to
# cross-build for the Cortex-M.
# Usage: scripts/mbedtls-src.sh [DESTDIR]   prints the source tree's path.
set -eu
exec "$(dirname "$0")/deb-src.sh" libmbedtls-dev mbedtls library/ecdsa.c \
  "${1:-${BW_MBEDTLS_SRC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark/mbedtls}}"
