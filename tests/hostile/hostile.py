#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The hostile-load suite's driver (tests/hostile/README.md): given a running
gateway (hostile.sh sets it up), it runs the simulated fleet (gwload poll)
through a quiet phase, an attack phase (tests/tools/hostile.c and gwload
tokens from 127.0.0.2-9) and a recovery phase, samples the gateway's memory,
file descriptors, connections and blob directory throughout, checks every
bound, prints a summary and writes the results as JSON. Exit status 1 if any
check failed. Standard library only; Linux (/proc)."""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

# The bounds (README.md says why each is what it is)
QUIET_S = 10.0          # quiet phase; the first WARMUP_S of it is the fleet connecting
WARMUP_S = 3.0
ATTACK_MAX_S = 16.0     # every attacker stops by itself within this
HEADER_TIMEOUT = 2      # as in hostile.sh's gw.conf
TIMEOUT = 5
RECOVERY_MARGIN = 5.0
RECOVERY_S = HEADER_TIMEOUT + TIMEOUT + RECOVERY_MARGIN
MIN_SUCCESS = 0.999     # legitimate requests answered 200
P99_FACTOR = 10.0       # attack p99 <= P99_FACTOR * max(quiet p99, P99_FLOOR_MS)
P99_FLOOR_MS = 20.0
RSS_BOUND_MIB = 128     # measured 30-38 MiB (README)
CLOSE_MARGIN_S = 1.5    # a stalled connection must be gone by header_timeout + this
FLEET_INTERVAL_MS = 2000
TOKEN_QUOTA = 32        # token_device_quota in gw.conf
PENDING_MAX = 100       # pending_max in gw.conf
SAMPLE_S = 0.075
CLOSE_WAIT_BOUND = 64   # measured peak 0-5 with the guard; 1,480 without it

ATTACKS = ("silent", "hello", "slowloris", "upload", "tokens", "mender", "framing")


def tcp_states(port):
    """(established, close_wait) of the gateway's sockets: local address
    127.0.0.1:port (what `ss -tn state close-wait sport = :PORT` counts)."""
    est = cw = 0
    want = "0100007F:%04X" % port
    for path in ("/proc/net/tcp",):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[1] != want:
                        continue
                    if p[3] == "01":
                        est += 1
                    elif p[3] == "08":
                        cw += 1
        except OSError:
            pass
    return est, cw


def dir_bytes(root):
    total = 0
    for d, _, files in os.walk(root):
        for n in files:
            try:
                total += os.lstat(os.path.join(d, n)).st_size
            except OSError:
                pass
    return total


class Sampler(threading.Thread):
    """Every SAMPLE_S: (t, VmRSS KiB, open fds, established, close-wait,
    bytes under blob_dir) of the gateway."""

    def __init__(self, pid, port, blobs):
        super().__init__(daemon=True)
        self.pid, self.port, self.blobs = pid, port, blobs
        self.samples = []
        self.stop = threading.Event()

    def one(self):
        rss = fds = -1
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
            fds = len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            pass
        est, cw = tcp_states(self.port)
        return (time.monotonic(), rss, fds, est, cw, dir_bytes(self.blobs))

    def run(self):
        while not self.stop.is_set():
            self.samples.append(self.one())
            self.stop.wait(SAMPLE_S)

    def between(self, a, b):
        return [s for s in self.samples if a <= s[0] <= b]


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def median(xs):
    return pct(xs, 0.5)


def fleet_stats(sel, t0):
    """Counts, success rate, p50/p99 ms of the requests sel, and the first
    failures (start from the fleet's start, kind, status, ms, connections
    opened, curl code, device)."""
    ok = [r for r in sel if r[2] == 200]
    lat = [r[3] for r in sel]
    codes = {}
    for r in sel:
        codes[str(r[2])] = codes.get(str(r[2]), 0) + 1
    return {
        "requests": len(sel),
        "polls": sum(1 for r in sel if r[1] == "poll"),
        "reports": sum(1 for r in sel if r[1] == "report"),
        "ok": len(ok),
        "success": (len(ok) / len(sel)) if sel else 0.0,
        "p50_ms": round(pct(lat, 0.50), 2),
        "p99_ms": round(pct(lat, 0.99), 2),
        "max_ms": round(max(lat), 2) if lat else 0.0,
        "connects": sum(r[4] for r in sel),
        "statuses": codes,
        "first_failures": [[round(r[0] - t0, 3), r[1], r[2], r[3], r[4], r[5], r[6]]
                           for r in sel if r[2] != 200][:20],
    }


class Run:
    def __init__(self, a):
        self.a = a
        self.checks = []
        self.attacks = {}
        self.procs = []

    def check(self, name, ok, measured, bound):
        self.checks.append({"check": name, "pass": bool(ok), "measured": measured, "bound": bound})

    def spawn(self, name, argv):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append((name, p))
        return p

    def collect(self, name, p, limit):
        try:
            out, err = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            err += "\n(killed after %.0f s)" % limit
        res = None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    res = json.loads(line)
                except ValueError:
                    pass
            elif line.startswith("gwload tokens:"):
                res = {"attack": "tokens", "line": line}
                for k, v in re.findall(r"(2xx|429|other 4xx|5xx|no answer) (\d+)", line):
                    res[k.replace(" ", "_")] = int(v)
        if res is None:
            res = {"attack": name, "error": "no result", "exit": p.returncode,
                   "stderr": err[-400:]}
        res["exit"] = p.returncode
        self.attacks.setdefault(name, []).append(res)
        return res


def main():
    ap = argparse.ArgumentParser()
    for k in ("backend", "dir", "gwload", "hostile", "aud", "viewer", "results", "only"):
        ap.add_argument("--" + k, default="")
    ap.add_argument("--gateway-pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    only = set(x for x in a.only.split(",") if x) or set(ATTACKS)
    unknown = only - set(ATTACKS)
    if unknown:
        print("unknown attack(s): %s (have %s)" % (",".join(sorted(unknown)), ",".join(ATTACKS)))
        return 2
    run = Run(a)
    d, port = a.dir, str(a.port)
    fd_limit = None
    with open("/proc/%d/limits" % a.gateway_pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                fd_limit = int(line.split()[3])
    run.check("gateway fd limit (soft)", fd_limit == 1024, fd_limit, 1024)
    url = "https://127.0.0.1:%d" % a.port
    H = [a.hostile]
    common = ["--port", port]

    samp = Sampler(a.gateway_pid, a.port, os.path.join(d, "blobs"))
    blob0 = dir_bytes(os.path.join(d, "blobs"))
    samp.start()

    # --- the fleet, all the way through ----------------------------------------
    lat_path = os.path.join(d, "fleet.tsv")
    duration = QUIET_S + ATTACK_MAX_S + RECOVERY_S + 2
    t_fleet = time.monotonic()
    fleet = subprocess.Popen(
        [a.gwload, "poll", "--devices", os.path.join(d, "devs"), "--url", url,
         "--cacert", os.path.join(d, "srvca.crt"), "--aud", a.aud,
         "--duration", str(int(duration)), "--interval-ms", str(FLEET_INTERVAL_MS),
         "--report-every", "5", "--fresh-every", "5", "--out", lat_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(QUIET_S)
    t_attack = time.monotonic()
    quiet_samples = samp.between(t_attack - 2.0, t_attack)
    base = {
        "fds": median([s[2] for s in quiet_samples]),
        "established": median([s[3] for s in quiet_samples]),
        "close_wait": median([s[4] for s in quiet_samples]),
        "rss_kib": median([s[1] for s in quiet_samples]),
    }

    # --- the attackers ---------------------------------------------------------------
    late = []  # (name, argv): started a few seconds into the attack
    if "silent" in only:
        run.spawn("silent", H + ["silent", "--src", "127.0.0.2-127.0.0.4", "--count", "1100",
                                 "--hold", str(HEADER_TIMEOUT + 4)] + common)
    if "hello" in only:
        run.spawn("hello", H + ["hello", "--src", "127.0.0.5", "--count", "150",
                                "--hold", str(HEADER_TIMEOUT + 4)] + common)
    if "slowloris" in only:
        run.spawn("slowloris", H + ["slowloris", "--src", "127.0.0.6-127.0.0.7", "--count", "150",
                                    "--hold", "12"] + common)
    if "tokens" in only:
        run.spawn("tokens", [a.gwload, "tokens", "--devices", os.path.join(d, "greedy"),
                             "--url", url, "--cacert", os.path.join(d, "srvca.crt"),
                             "--aud", a.aud, "--count", "4096", "--src", "127.0.0.9",
                             "--until", "12"])
    if "mender" in only:
        run.spawn("mender", H + ["mender", "--src", "127.0.0.9", "--count", "400",
                                 "--max-s", "12"] + common)
    if "upload" in only:
        for auth in ("none", "bad", a.viewer):
            late.append(("upload", H + ["upload", "--src", "127.0.0.8", "--count", "2",
                                        "--auth", auth, "--size", str(200 << 20),
                                        "--max-s", "8"] + common))
    if "framing" in only:
        late.append(("framing", H + ["framing", "--src", "127.0.0.8"] + common))
    if late:
        time.sleep(3.0)  # into the thick of the connection attacks
        for name, argv in late:
            run.spawn(name, argv)
    for name, p in run.procs:
        run.collect(name, p, max(1.0, t_attack + ATTACK_MAX_S + 10 - time.monotonic()))
    t_end = time.monotonic()

    # --- recovery ----------------------------------------------------------------------
    slack_fds = max(16, int(0.1 * base["fds"]))
    slack_est = max(16, int(0.1 * base["established"]))
    slack_cw = 8
    recovered_at = None
    while time.monotonic() - t_end < RECOVERY_S:
        s = samp.one()
        if (s[2] <= base["fds"] + slack_fds and s[3] <= base["established"] + slack_est
                and s[4] <= base["close_wait"] + slack_cw):
            recovered_at = s[0] - t_end
            break
        time.sleep(0.1)
    last = samp.one()
    try:
        fout, ferr = fleet.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        fleet.kill()
        fout, ferr = fleet.communicate()
    samp.stop.set()
    samp.join()

    # --- the fleet's numbers ----------------------------------------------------------
    rows = []
    with open(lat_path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 7:
                rows.append((float(p[0]), p[1], int(p[2]), float(p[3]), int(p[4]), int(p[5]),
                             p[6]))
    # a request belongs to the attack if any part of it overlapped the attack
    def end(r):
        return r[0] + r[3] / 1000.0
    quiet = fleet_stats([r for r in rows if r[0] >= t_fleet + WARMUP_S and end(r) < t_attack],
                        t_fleet)
    attack = fleet_stats([r for r in rows if r[0] < t_end and end(r) >= t_attack], t_fleet)
    recov = fleet_stats([r for r in rows if r[0] >= t_end], t_fleet)
    floor_p99 = max(quiet["p99_ms"], P99_FLOOR_MS)
    # the fleet second by second: [s from the fleet's start, requests, not 200, p50 ms, max ms]
    per_second = []
    for sec in range(int(duration) + 1):
        sel = [r for r in rows if sec <= r[0] - t_fleet < sec + 1]
        if sel:
            lat = [r[3] for r in sel]
            per_second.append([sec, len(sel), sum(1 for r in sel if r[2] != 200),
                               round(pct(lat, 0.5), 1), round(max(lat), 1)])

    # --- checks ------------------------------------------------------------------------
    run.check("fleet quiet: requests answered 200", quiet["requests"] > 0 and
              quiet["success"] >= MIN_SUCCESS, "%d/%d" % (quiet["ok"], quiet["requests"]),
              ">= %.1f%%" % (100 * MIN_SUCCESS))
    run.check("fleet under attack: requests answered 200", attack["requests"] > 0 and
              attack["success"] >= MIN_SUCCESS,
              "%d/%d (%.3f%%) %s" % (attack["ok"], attack["requests"], 100 * attack["success"],
                                     attack["statuses"]),
              ">= %.1f%%" % (100 * MIN_SUCCESS))
    run.check("fleet under attack: p99 latency", attack["requests"] > 0 and
              attack["p99_ms"] <= P99_FACTOR * floor_p99,
              "%.1f ms (quiet p99 %.1f ms)" % (attack["p99_ms"], quiet["p99_ms"]),
              "<= %.0fx max(quiet p99, %.0f ms) = %.0f ms" % (P99_FACTOR, P99_FLOOR_MS,
                                                             P99_FACTOR * floor_p99))
    run.check("fleet after the attack: requests answered 200", recov["requests"] > 0 and
              recov["success"] >= MIN_SUCCESS,
              "%d/%d %s" % (recov["ok"], recov["requests"], recov["statuses"]),
              ">= %.1f%%" % (100 * MIN_SUCCESS))
    rss_max = max((s[1] for s in samp.samples), default=-1)
    run.check("gateway RSS (VmRSS, sampled every %d ms)" % (SAMPLE_S * 1000),
              0 < rss_max <= RSS_BOUND_MIB * 1024, "max %.1f MiB" % (rss_max / 1024),
              "<= %d MiB" % RSS_BOUND_MIB)
    disk = max((s[5] for s in samp.samples), default=blob0) - blob0
    if "upload" in only:
        run.check("upload: bytes under blob_dir from unauthenticated uploads", disk == 0,
                  "%d bytes" % disk, "0")
    close_bound = HEADER_TIMEOUT + CLOSE_MARGIN_S
    for name in ("silent", "hello"):
        for r in run.attacks.get(name, []):
            run.check("%s: every connection closed by the gateway" % name,
                      "error" not in r and r["max_open_s"] <= close_bound and
                      r["open_at_end"] == 0,
                      "%d connected, %d closed by the gateway, longest open %.2f s, %d still open"
                      " after %d s" % (r.get("connected", 0), r.get("closed_by_server", 0),
                                       r.get("max_open_s", -1), r.get("open_at_end", -1),
                                       r.get("hold_s", 0)) if "error" not in r else r,
                      "longest <= header_timeout + %.1f s = %.1f s" % (CLOSE_MARGIN_S,
                                                                        close_bound))
    for r in run.attacks.get("slowloris", []):
        run.check("slowloris: no connection outlives the header deadline",
                  "error" not in r and r["max_open_s"] <= close_bound and r["tls_up"] > 0,
                  "%d TLS up, %d refused, %d closed by the gateway, longest open %.2f s" %
                  (r.get("tls_up", 0), r.get("refused", 0), r.get("closed_by_server", 0),
                   r.get("max_open_s", -1)) if "error" not in r else r,
                  "longest <= %.1f s" % close_bound)
    for r in run.attacks.get("upload", []):
        want = 403 if r.get("auth") == "token" else 401
        label = {"none": "no token", "bad": "a bad token", "token": "a viewer token"}.get(
            r.get("auth"), "?")
        conns = r.get("conns", [])
        run.check("upload with %s: %d before the body" % (label, want),
                  conns and all(c["status"] == want and c["answered_before_body"] and
                                c["body_sent"] == 0 for c in conns),
                  "; ".join("%d after %.2f s, %d body bytes sent" %
                            (c["status"], c["answer_s"], c["body_sent"]) for c in conns) or r,
                  "%d, answered on the headers, no body byte sent" % want)
    for r in run.attacks.get("tokens", []):
        run.check("tokens: one device's new tokens capped (429), not the fleet's",
                  "error" not in r and r.get("2xx", 99999) <= TOKEN_QUOTA and
                  r.get("429", 0) > 0 and r.get("5xx", 1) == 0,
                  r.get("line", r), "<= %d accepted, then 429, no 5xx" % TOKEN_QUOTA)
    for r in run.attacks.get("mender", []):
        pending = r.get("s4xx", 0) - r.get("s429", 0)
        run.check("mender: new pending identities capped (429)",
                  "error" not in r and pending <= PENDING_MAX and r.get("s429", 0) > 0 and
                  r.get("s5xx", 1) == 0,
                  "%d identities: %d accepted as pending, %d x 429, %d x 5xx; %d tries without"
                  " an answer (connection shed), sent again" %
                  (r.get("identities", 0), pending, r.get("s429", 0), r.get("s5xx", 0),
                   r.get("unanswered_tries", 0)) if "error" not in r else r,
                  "<= %d pending, then 429, no 5xx" % PENDING_MAX)
    for r in run.attacks.get("framing", []):
        for case, st in sorted(r.get("cases", {"(no result)": 0}).items()):
            run.check("framing: %s refused" % case.replace("_", " "), st == 400, st, 400)
    during = samp.between(t_attack, t_end)
    peak_cw = max((s[4] for s in during), default=0)
    run.check("close-wait connections during the attack (sampled)", peak_cw <= CLOSE_WAIT_BOUND,
              "at most %d" % peak_cw, "<= %d" % CLOSE_WAIT_BOUND)
    run.check("recovery: fds and connections back to the baseline",
              recovered_at is not None,
              ("after %.1f s" % recovered_at if recovered_at is not None else "not within %.0f s"
               % RECOVERY_S) + " (now %d fds, %d established, %d close-wait)" % last[2:5],
              "baseline %d fds (+%d), %d established (+%d), %d close-wait (+%d) within "
              "header_timeout + timeout + %.0f s = %.0f s" %
              (base["fds"], slack_fds, base["established"], slack_est, base["close_wait"],
               slack_cw, RECOVERY_MARGIN, RECOVERY_S))
    peak = max(during, key=lambda s: s[2], default=None)

    # --- report -------------------------------------------------------------------------
    failed = [c for c in run.checks if not c["pass"]]
    print("hostile-load suite, %s backend: %d checks, %d failed" %
          (a.backend, len(run.checks), len(failed)))
    print("fleet: 200 devices, a check-in every %.1f s, a report every 5th" %
          (FLEET_INTERVAL_MS / 1000))
    for name, st in (("quiet", quiet), ("attack", attack), ("recovery", recov)):
        print("  %-8s %5d requests, %.3f%% answered 200, p50 %.1f ms, p99 %.1f ms, max %.0f ms,"
              " %d connections" % (name, st["requests"], 100 * st["success"], st["p50_ms"],
                                   st["p99_ms"], st["max_ms"], st["connects"]))
        for f in st["first_failures"][:3]:
            print("           failed: at %.2f s %s answered %d after %.1f ms (%d new connections,"
                  " curl code %d) %s" % tuple(f))
    if peak:
        print("gateway at the attack's peak: %d fds, %d established, %d close-wait, "
              "RSS %.0f MiB (baseline %d fds, %d established)" %
              (peak[2], peak[3], peak[4], peak[1] / 1024, base["fds"], base["established"]))
        print("most close-wait connections at once during the attack: %d" % peak_cw)
    for c in run.checks:
        print("%s  %s: %s  [bound: %s]" % ("PASS" if c["pass"] else "FAIL", c["check"],
                                          c["measured"], c["bound"]))
    print(fout.strip())
    if fleet.returncode:
        print("gwload poll exit %d: %s" % (fleet.returncode, ferr.strip()[-300:]))
    results = {
        "backend": a.backend,
        "passed": not failed,
        "bounds": {
            "close_wait": CLOSE_WAIT_BOUND, "min_success": MIN_SUCCESS, "p99_factor": P99_FACTOR,
            "p99_floor_ms": P99_FLOOR_MS,
            "rss_bound_mib": RSS_BOUND_MIB, "header_timeout": HEADER_TIMEOUT,
            "timeout": TIMEOUT, "recovery_s": RECOVERY_S, "close_margin_s": CLOSE_MARGIN_S,
        },
        "phases_s": {"quiet": round(t_attack - t_fleet, 2),
                     "attack": round(t_end - t_attack, 2)},
        "baseline": base,
        "fd_limit": fd_limit,
        "fleet": {"quiet": quiet, "attack": attack, "recovery": recov,
                  "per_second": per_second},
        "attacks": run.attacks,
        "checks": run.checks,
        "recovered_after_s": recovered_at,
        "attack_peak": {"fds": peak[2] if peak else None, "established": peak[3] if peak else None,
                        "close_wait": peak_cw,
                        "rss_kib": max((x[1] for x in during), default=None)},
        # every 4th sample: (t, rss KiB, fds, established, close-wait, blob bytes)
        "samples": [list(s) for s in samp.samples[::4]],
    }
    if a.results:
        with open(a.results, "w") as f:
            json.dump(results, f, indent=1)
        print("results: %s" % a.results)
    for c in failed:
        print("FAIL: %s: %s (bound %s)" % (c["check"], c["measured"], c["bound"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
