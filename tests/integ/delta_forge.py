#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Forges a delta package (docs/delta.md, format BWDELTA2) for
tests/integ/delta.sh: a well-formed delta that lies. The sections are
recompressed with the zstd command and the header's lengths updated.
usage: delta_forge.py MODE DELTA OLD_IMAGE OUT
  same    the plan says the source holds every chunk at its offset (the
          list a device rebuilds from its slot is then wrong)
  digests every digest in the plan is wrong (the rebuilt list fails its
          check) and the content index claims every block of the new image
          is the old image's block at the same offset"""
import hashlib
import struct
import subprocess
import sys

HDR, BLOCK, HLEN = 128, 4096, 6


def unz(b):
    return bytearray(subprocess.run(['zstd', '-d', '-c'], input=b, capture_output=True,
                                    check=True).stdout)


def z(b):
    return subprocess.run(['zstd', '-19', '-c', '--no-check', '--stream-size=%d' % len(b)],
                          input=bytes(b), capture_output=True, check=True).stdout


def main():
    mode, d, old = sys.argv[1], open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read()
    chunk_size, = struct.unpack('>I', d[8:12])
    image_size, n_chunks, env_len, list_len, pzl, pl = struct.unpack('>6Q', d[24:72])
    izl, il = struct.unpack('>2Q', d[112:128])
    p_at = HDR + env_len + list_len
    whole_total, = struct.unpack('>Q', unz(d[p_at:p_at + pzl])[:8])
    plan, wholes = unz(d[p_at:p_at + pzl]), d[len(d) - whole_total:]
    i_at = len(d) - whole_total - izl
    idx, deltas = unz(d[i_at:i_at + izl]), d[p_at + pzl:i_at]
    if mode == 'same':
        plan = plan[:8] + bytes([0]) + struct.pack('>I', n_chunks)
        idx = idx[:n_chunks * 4]  # no index entries: no chunk is not 'same'
        deltas = b''
    else:
        at, i, out, blocks = 8, 0, bytearray(plan[:8]), []
        while i < n_chunks:
            op = plan[at]
            if op == 0:
                n, = struct.unpack('>I', plan[at + 1:at + 5])
                out += plan[at:at + 5]
                at, i = at + 5, i + n
                continue
            if op == 1:
                n, = struct.unpack('>I', plan[at + 1:at + 5])
                end = at + 5 + 8 * n
            else:
                n_ext = plan[at + 5]
                end = at + 6 + 12 * n_ext + 8 + 32
            rec = bytearray(plan[at:end])
            if op == 2:
                rec[-1] ^= 1  # a digest that is not the chunk's
            out += rec
            n = min(chunk_size, image_size - i * chunk_size)
            blocks += [i * chunk_size + k * BLOCK for k in range((n + BLOCK - 1) // BLOCK)]
            at, i = end, i + 1
        plan = out
        for k, off in enumerate(blocks):
            blk = old[off:off + BLOCK]
            if len(blk) == BLOCK:
                e = n_chunks * 4 + k * HLEN
                idx[e:e + HLEN] = hashlib.sha256(blk).digest()[:HLEN]
    pz, iz = z(plan), z(idx)
    hdr = bytearray(d[:HDR])
    hdr[56:72] = struct.pack('>2Q', len(pz), len(plan))
    hdr[112:128] = struct.pack('>2Q', len(iz), len(idx))
    open(sys.argv[4], 'wb').write(bytes(hdr) + d[HDR:p_at] + pz + deltas + iz + wholes)


if __name__ == '__main__':
    main()
