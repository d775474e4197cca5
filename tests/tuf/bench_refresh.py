# SPDX-License-Identifier: Apache-2.0
"""Measures a no-change `bulwark tuf refresh` (root check, 404 for the next
root, timestamp unchanged, local snapshot and targets re-verified): CPU of
the whole process (exec and dynamic linking included) and bytes received.
Usage: bench_refresh.py BULWARK [RUNS]"""
import os
import re
import resource
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simrepo import Client, Repo, Server  # noqa: E402


def main():
    bulwark = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    repo = Repo()
    srv = Server(repo)
    tmp = tempfile.mkdtemp(prefix="bw-tuf-bench-")
    try:
        c = Client(bulwark, tmp, srv)
        assert c.init(repo.files[repo.prefix + "/metadata/1.root.json"]) == 0
        assert c.refresh() == 0
        c.requests()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(runs):
            assert c.refresh() == 0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / runs
        m = re.search(rb"(\d+) requests, (\d+) bytes, (\d+) signatures", c.last.stderr)
        print(f"no-change refresh: {cpu * 1000:.2f} ms CPU per process (mean of {runs}), "
              f"{m.group(1).decode()} requests, {m.group(2).decode()} body bytes, "
              f"{m.group(3).decode()} signatures checked")
        print("requests of the last run:", c.requests()[-2:])
    finally:
        srv.stop()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
