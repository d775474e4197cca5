# SPDX-License-Identifier: Apache-2.0
"""Differential test of the canonical JSON writer: every file of a corpus
is encoded by bulwark (test_tuf_kat --canon) and by securesystemslib's
encode_canonical; the bytes must match. bulwark may refuse what Python
reads only for the reasons its strict reader documents (duplicate keys,
floats, NUL, deep nesting, invalid UTF-8).
Usage: canon_check.py TEST_TUF_KAT CORPUS_DIR"""
import json
import os
import subprocess
import sys

from securesystemslib.formats import encode_canonical


def ints_fit(v):
    """jansson holds integers as int64: others are refused."""
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return -2**63 <= v < 2**63
    if isinstance(v, dict):
        return all(ints_fit(x) for x in v.values())
    if isinstance(v, list):
        return all(ints_fit(x) for x in v)
    return True


def python_canon(raw):
    """The canonical bytes, or None when a strict reader must refuse."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    dup = []

    def pairs(kv):
        keys = [k for k, _ in kv]
        if len(set(keys)) != len(keys):
            dup.append(1)
        return dict(kv)
    try:
        v = json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None
    if not isinstance(v, (dict, list)):
        return None  # a document is an object or an array
    if dup or "\x00" in text or "\\u0000" in text or not ints_fit(v):
        return None
    try:
        return encode_canonical(v).encode()
    except Exception:  # floats and the like
        return None


def main():
    kat, corpus = sys.argv[1], sys.argv[2]
    n = bad = 0
    for name in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, name)
        raw = open(path, "rb").read()
        want = python_canon(raw)
        p = subprocess.run([kat, "--canon", path], capture_output=True)
        n += 1
        if want is None:
            ok = p.returncode == 3
        elif p.returncode == 3:
            ok = raw.count(b"[") + raw.count(b"{") > 64  # deeper than the reader allows
        else:
            ok = p.returncode == 0 and p.stdout == want
        if not ok:
            bad += 1
            print(f"{name}: bulwark rc {p.returncode} {p.stdout[:80]!r}, securesystemslib {want!r:.80}")
    print(f"canon_check: {n} files, {bad} differ")
    return 1 if bad or not n else 0


if __name__ == "__main__":
    sys.exit(main())
