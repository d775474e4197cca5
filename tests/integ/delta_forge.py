#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Forges a delta package's content index (docs/delta.md) for
tests/integ/delta.sh: every block's entry becomes the hash of the OLD
image's block at the same offset, so the index claims the whole new image
is already on the device. The metadata is recompressed with the zstd
command and the header's length fields updated: a well-formed delta that
lies. usage: delta_forge.py DELTA OLD_IMAGE OUT"""
import hashlib
import struct
import subprocess
import sys

HDR, BLOCK, HLEN = 112, 4096, 6


def main():
    d = open(sys.argv[1], 'rb').read()
    old = open(sys.argv[2], 'rb').read()
    image_size, = struct.unpack('>Q', d[24:32])
    env_len, list_len, zlen, mlen = struct.unpack('>4Q', d[40:72])
    at = HDR + env_len + list_len
    meta = bytearray(subprocess.run(['zstd', '-d', '-c'], input=d[at:at + zlen],
                                    capture_output=True, check=True).stdout)
    assert len(meta) == mlen
    chunk_size, = struct.unpack('>I', d[8:12])
    n_chunks, = struct.unpack('>Q', d[32:40])
    at_idx = n_chunks * 20  # records first, then the index of chunks not 'same'
    for i in range(n_chunks):
        n_ext, = struct.unpack('>I', meta[i * 20 + 8:i * 20 + 12])
        if n_ext == 0x80000000:
            continue
        n = min(chunk_size, image_size - i * chunk_size)
        for k in range((n + BLOCK - 1) // BLOCK):
            off = i * chunk_size + k * BLOCK
            blk = old[off:off + BLOCK]
            if len(blk) == BLOCK:
                meta[at_idx:at_idx + HLEN] = hashlib.sha256(blk).digest()[:HLEN]
            at_idx += HLEN
    z = subprocess.run(['zstd', '-19', '-c', '--no-check', '--stream-size=%d' % len(meta)],
                       input=bytes(meta),
                       capture_output=True, check=True).stdout
    hdr = bytearray(d[:HDR])
    hdr[56:64] = struct.pack('>Q', len(z))
    open(sys.argv[3], 'wb').write(bytes(hdr) + d[HDR:at] + z + d[at + zlen:])


if __name__ == '__main__':
    main()
