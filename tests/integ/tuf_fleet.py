# SPDX-License-Identifier: Apache-2.0
"""TUF in the fleet (docs/trust.md), end to end on 127.0.0.1: a 3-of-5
repository kept with `bulwark repo`, hosted by the real bulwark-gateway
(tuf_dir, online keys only), a device provisioned with the first root
(`bulwark device init --tuf-root`) and the real bulwark-agent.

The attacker holds the gateway: its registry, its TLS key, its online
snapshot and timestamp keys and its repository files. It runs the gateway
its own way (no TUF check on offers; release_keys its own) and serves the
metadata it likes from an HTTPS mirror of its own (the agent's tuf_url).
One step per TUF attack class; each must be refused with its error, named
in the agent's log and its failure report, and the device's slots and boot
state must stay byte for byte what they were. Then a root rotation: 3-of-5
rotated with a key revoked, the compromised targets key and timestamp key
replaced (a fast-forwarded timestamp recovered from), the device follows
without reflashing; a root signed by 2 of the keys is refused.
Usage: tuf_fleet.py BULWARK BULWARK-GATEWAY BULWARK-AGENT"""
import datetime
import glob
import hashlib
import http.server
import json
import os
import shutil
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.formats import encode_canonical

B, GW, AG = (os.path.realpath(a) for a in sys.argv[1:4])
V = "6a1b0f5e-3c2d-4e8f-9a7b-1c2d3e4f5a6b"
C = "0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c"
AUD = "https://gateway.test"
T = tempfile.mkdtemp(prefix="bw-tuf-fleet-")
PROCS = []
fails = []
passes = 0


def check(cond, what):
    global passes
    if cond:
        passes += 1
    else:
        fails.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, ok=True, env=None, timeout=60):
    r = subprocess.run([str(a) for a in args], cwd=T, capture_output=True, timeout=timeout,
                       env=env)
    if ok and r.returncode != 0:
        raise SystemExit("%s: %s" % (" ".join(map(str, args)), r.stderr.decode(errors="replace")))
    return r


def p(*parts):
    return os.path.join(T, *parts)


def load(path):
    with open(path) as f:
        return json.load(f)


# ---- signing as an attacker does (keys it holds), securesystemslib's form ----

def priv(name):
    with open(p("keys", name + ".key"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def keyid_of(root, key):
    """The keyid the root gives key (a private key), by its public half."""
    mine = key.public_key().public_numbers()
    for kid, k in root["signed"]["keys"].items():
        pub = serialization.load_pem_public_key(k["keyval"]["public"].encode())
        if pub.public_numbers() == mine:
            return kid
    return hashlib.sha256(name_bytes(key)).hexdigest()  # a key the root does not list


def name_bytes(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_md(signed, names, root):
    msg = encode_canonical(signed).encode()
    sigs = []
    for n in names:
        k = priv(n)
        sigs.append({"keyid": keyid_of(root, k),
                     "sig": k.sign(msg, ec.ECDSA(hashes.SHA256())).hex()})
    return json.dumps({"signed": signed, "signatures": sigs}, indent=1).encode()


def expires(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta_entry(raw, version):
    return {"version": version, "length": len(raw),
            "hashes": {"sha256": hashlib.sha256(raw).hexdigest()}}


# ---- the attacker's HTTPS mirror: its own view of /tuf/metadata/ ----

class Mirror(http.server.BaseHTTPRequestHandler):
    files = {}    # name -> bytes
    mode = "serve"  # serve | slow | endless | notfound

    def log_message(self, *a):
        pass

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        if Mirror.mode == "notfound" or name not in Mirror.files:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = Mirror.files[name]
        if Mirror.mode == "endless" and name == "timestamp.json":
            self.send_response(200)
            self.end_headers()  # no length: a body that never ends
            try:
                while True:
                    self.wfile.write(b" " * 65536)
            except OSError:
                return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if Mirror.mode == "slow" and name == "timestamp.json":
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(1)
            else:
                self.wfile.write(body)
        except OSError:
            return


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def mirror_from(d):
    Mirror.files = {os.path.basename(f): open(f, "rb").read()
                    for f in glob.glob(os.path.join(d, "*.json"))}


# ---- the device ----

def slots():
    """The device's slots and boot state, as bytes digests."""
    out = {}
    for f in sorted(glob.glob(p("dev", "slot-*.img")) + glob.glob(p("dev", "state", "bootstate*"))):
        with open(f, "rb") as fh:
            out[os.path.basename(f)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def agent_once():
    r = run(AG, "--config", p("dev", "agent.conf"), "--once", ok=False, timeout=60)
    text = (r.stdout + r.stderr).decode(errors="replace")
    with open(p("dev", "agent.log"), "a") as f:
        f.write(text)
    return text


def agent_conf(gateway, tuf_url=""):
    with open(p("dev", "agent.conf"), "w") as f:
        f.write(f"""device_config = {p("dev", "device.conf")}
gateway = {gateway}
ca_cert = {p("srvca.crt")}
audience = {AUD}
attributes = group=fleet
reboot_command = "{B}" boot --config {p("dev", "device.conf")}
health_command = true
poll_min = 1
poll_max = 1
retry_min = 1
retry_max = 1
timeout = 3
request_timeout = 3
tuf_hardware = rev-b
tuf_url = {tuf_url}
""")


def seclog():
    return run(B, "log", "show", "--config", p("dev", "device.conf"), ok=False).stdout.decode(
        errors="replace")


# ---- the gateway ----

GPORT = 0
TOK = os.urandom(24).hex()


def gw_start(tuf=True, release_pub="rel.pub", expiry=86400, online=("sn", "ts")):
    global GPORT
    lines = [f"listen = 127.0.0.1:{GPORT}", f"tls_cert = {p('srv.crt')}",
             f"tls_key = {p('srv.key')}", f"client_ca = {p('factory', 'ca.crt')}",
             f"database = sqlite:{p('registry.db')}", f"blob_dir = {p('blobs')}",
             f"release_keys = {p(release_pub)}", f"vendor_id = {V}", f"class_id = {C}",
             f"operator_tokens = {p('operators')}", f"token_audience = {AUD}",
             f"access_log = {p('access.log')}", "poll_interval = 1", "threads = 2"]
    if tuf:
        lines += [f"tuf_dir = {p('repo')}", f"tuf_snapshot_key = {p('keys', online[0] + '.key')}",
                  f"tuf_timestamp_key = {p('keys', online[1] + '.key')}",
                  f"tuf_timestamp_expiry = {expiry}"]
    with open(p("gw.conf"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if os.path.exists(p("port")):
        os.unlink(p("port"))
    g = subprocess.Popen([GW, "--config", p("gw.conf"), "--port-file", p("port")], cwd=T,
                         stdout=subprocess.DEVNULL, stderr=open(p("gw.err"), "a"))
    PROCS.append(g)
    for _ in range(200):
        if os.path.exists(p("port")) and os.path.getsize(p("port")):
            break
        time.sleep(0.05)
    GPORT = int(open(p("port")).read())
    return g


def gw_stop(g):
    g.terminate()
    g.wait()


def op(path, data=None, ctype=None):
    args = ["curl", "-s", "-o", p("body.txt"), "-w", "%{http_code}", "--cacert", p("srvca.crt"),
            "-H", "Authorization: Bearer " + TOK]
    if ctype:
        args += ["-H", "Content-Type: " + ctype]
    if data is not None:
        args += ["--data-binary", data]
    r = run(*args, f"https://127.0.0.1:{GPORT}{path}", ok=False)
    body = open(p("body.txt")).read() if os.path.exists(p("body.txt")) else ""
    return r.stdout.decode(), body


def upload(name, pkg):
    st, body = op(f"/api/v1/releases?name={name}", "@" + p(pkg))
    assert st in ("200", "201"), (st, body)
    return json.loads(body)["id"]


def campaign(name, rid):
    return op("/api/v1/campaigns", json.dumps({"name": name, "release_id": rid,
                                               "filter": {"group": "fleet"}}),
              "application/json")


def repo(*args):
    return run(B, "repo", *args)


def publish(role, holders):
    """Each holder signs staged/ROLE.json on their own; the signatures are merged."""
    sigs = []
    for h in holders:
        out = p("sig-%s-%s.json" % (role, h))
        repo("sign", "--key", p("keys", h + ".key"), "--out", out, p("repo", "staged", role + ".json"))
        sigs.append(out)
    repo("merge", "--dir", p("repo"), *sigs)


def main():
    os.makedirs(p("keys"))
    for k in ["r1", "r2", "r3", "r4", "r5", "n1", "tg", "tg2", "sn", "ts", "sn2", "ts2", "rel",
              "evil"]:
        run(B, "keygen", "--out", p("keys", k + ".key"), "--pub", p("keys", k + ".pub"))
    shutil.copy(p("keys", "rel.pub"), p("rel.pub"))
    shutil.copy(p("keys", "evil.pub"), p("evil.pub"))
    # server certificate
    o = ["openssl"]
    run(*o, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("srvca.key"))
    run(*o, "req", "-new", "-x509", "-key", p("srvca.key"), "-subj", "/CN=test CA", "-days", "2",
        "-out", p("srvca.crt"))
    run(*o, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("srv.key"))
    run(*o, "req", "-new", "-key", p("srv.key"), "-subj", "/CN=127.0.0.1", "-out", p("srv.csr"))
    with open(p("san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run(*o, "x509", "-req", "-in", p("srv.csr"), "-CA", p("srvca.crt"), "-CAkey", p("srvca.key"),
        "-CAcreateserial", "-days", "2", "-extfile", p("san.ext"), "-out", p("srv.crt"))
    # images and packages
    for name, seq, size, key in [("fw1", 1, 100000, "rel"), ("fw2", 2, 120000, "rel"),
                                 ("fw3", 3, 130000, "rel"), ("fwhw", 4, 110000, "rel"),
                                 ("fwdep", 5, 50000, "rel"), ("fwevil", 9, 90000, "evil")]:
        with open(p(name + ".img"), "wb") as f:
            f.write(os.urandom(size))
        run(B, "sign", "--key", p("keys", key + ".key"), "--vendor-id", V, "--class-id", C,
            "--sequence", seq, "--out", p(name + ".bwp"), p(name + ".img"))
    # the repository: 3 of 5 root holders, a targets key, online keys
    roots = ",".join(p("keys", r + ".pub") for r in ["r1", "r2", "r3", "r4", "r5"])
    repo("init", "--dir", p("repo"), "--root-pub", roots, "--threshold", "3",
         "--targets-pub", p("keys", "tg.pub"), "--snapshot-pub", p("keys", "sn.pub"),
         "--timestamp-pub", p("keys", "ts.pub"))
    publish("root", ["r1", "r3", "r5"])
    for name, hw in [("fw-1", "rev-b"), ("fw-2", "rev-b"), ("fw-3", "rev-b"), ("fw-hw", "rev-x")]:
        repo("add-target", "--dir", p("repo"), "--pub", p("keys", "rel.pub"), "--hardware", hw,
             "--name", name, p(name.replace("-", "") + ".bwp"))
    publish("targets", ["tg"])
    # the device: provisioned with the first root
    run(B, "device", "init", "--dir", p("dev"), "--slot-size", 1048576, "--pub", p("rel.pub"),
        "--vendor-id", V, "--class-id", C, "--tuf-root", p("repo", "metadata", "1.root.json"))
    check(os.path.exists(p("dev", "state", "tuf", "root.json")), "provisioning installs root.json")
    bad = run(B, "device", "init", "--dir", p("dev-x"), "--slot-size", 1048576, "--pub",
              p("rel.pub"), "--vendor-id", V, "--class-id", C, "--tuf-root",
              p("repo", "staged", "targets.json"), ok=False)
    check(bad.returncode != 0 and not os.path.exists(p("dev-x", "device.conf")),
          "device init takes a root that is not a signed root")
    run(B, "provision", "--ca-dir", p("factory"), "--config", p("dev", "device.conf"),
        "--device-id", "dev-1", "--argon2", "1,1024,1")
    # the factory step can install it too (a device made without it)
    run(B, "device", "init", "--dir", p("dev-p"), "--slot-size", 4096, "--pub", p("rel.pub"),
        "--vendor-id", V, "--class-id", C)
    run(B, "provision", "--ca-dir", p("factory"), "--config", p("dev-p", "device.conf"),
        "--device-id", "dev-p", "--argon2", "1,1024,1", "--tuf-root",
        p("repo", "metadata", "1.root.json"))
    check(open(p("dev-p", "state", "tuf", "root.json"), "rb").read() ==
          open(p("repo", "metadata", "1.root.json"), "rb").read(),
          "bulwark provision --tuf-root installs the root")
    for step in (["install", "--config", p("dev", "device.conf"), p("fw1.bwp")],
                 ["boot", "--config", p("dev", "device.conf")],
                 ["confirm", "--config", p("dev", "device.conf")]):
        run(B, *step)
    with open(p("operators"), "w") as f:
        f.write("admin op-admin %s\n" % hashlib.sha256(TOK.encode()).hexdigest())

    # gateway.conf: the online keys go together, and need the repository
    for extra, why in [(f"tuf_dir = {p('repo')}\ntuf_snapshot_key = {p('keys', 'sn.key')}\n",
                        "a snapshot key without a timestamp key"),
                       (f"tuf_snapshot_key = {p('keys', 'sn.key')}\n"
                        f"tuf_timestamp_key = {p('keys', 'ts.key')}\n", "keys without tuf_dir")]:
        with open(p("bad.conf"), "w") as f:
            f.write(f"listen = 127.0.0.1:0\ntls_cert = {p('srv.crt')}\ntls_key = {p('srv.key')}\n"
                    f"client_ca = {p('factory', 'ca.crt')}\nrelease_keys = {p('rel.pub')}\n"
                    f"vendor_id = {V}\nclass_id = {C}\n" + extra)
        r = run(GW, "--config", p("bad.conf"), "--check-config", ok=False)
        check(r.returncode != 0 and b"tuf" in r.stderr, "gateway.conf refuses " + why)
    # === the honest fleet: the gateway hosts the repository ===
    g = gw_start(expiry=4)
    U = f"https://127.0.0.1:{GPORT}"
    for _ in range(60):  # signed on the gateway's own schedule, before anyone asks
        if os.path.exists(p("repo", "metadata", "timestamp.json")):
            break
        time.sleep(0.05)
    check(os.path.exists(p("repo", "metadata", "timestamp.json")) and
          "/tuf/" not in open(p("access.log")).read(),
          "the gateway signs snapshot and timestamp at start, unasked")
    st, _ = op("/api/v1/devices/import", "@" + p("factory", "registry.jsonl"))
    check(st == "200", "import")
    r2 = upload("fw-2", "fw2.bwp")
    rdep = upload("fw-dep", "fwdep.bwp")  # signed by the release key, never a target
    st, body = campaign("dep", rdep)
    check(st == "409" and "not_a_signed_target" in body,
          "the gateway refuses a campaign of a release that is no target: %s %s" % (st, body))
    agent_conf(U)
    out = agent_once()
    check("no update" in out and "TUF" not in out and os.path.exists(p("dev", "state", "tuf",
                                                                      "timestamp.json")),
          "first poll: metadata from the gateway: " + out[-300:])
    ts1 = open(p("repo", "metadata", "timestamp.json"), "rb").read()
    st, _ = campaign("fw-2", r2)
    check(st == "201", "campaign fw-2")
    agent_once()
    agent_once()
    s = run(B, "status", "--config", p("dev", "device.conf"), "--json").stdout
    check(json.loads(s)["highest_sequence"] == 2, "fw-2 (a signed target) installed: %s" % s)
    # timestamp signed again by the gateway once half its life passed
    time.sleep(2.6)
    agent_once()
    ts2 = load(p("repo", "metadata", "timestamp.json"))
    check(ts2["signed"]["version"] > json.loads(ts1)["signed"]["version"],
          "the gateway signs the timestamp again on its schedule")
    # a freeze: the gateway stops signing (the attacker keeps serving the
    # last timestamp); detected at the first poll after the expiry
    gw_stop(g)
    mirror_from(p("repo", "metadata"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(p("srv.crt"), p("srv.key"))
    srv = TLSServer(("127.0.0.1", 0), Mirror)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    M = f"https://127.0.0.1:{srv.server_address[1]}/tuf/metadata/"
    # === the attacker's gateway: no TUF check on offers, its own release key ===
    g = gw_start(tuf=False, release_pub="evil.pub")
    agent_conf(U, M)
    agent_once()  # trusts the current state of the repository
    expiry = ts2["signed"]["expires"]
    left = (datetime.datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    time.sleep(max(0, left) + 1.1)
    before = slots()
    revil = upload("fw-3", "fwevil.bwp")  # the attacker's image under a target's name
    campaign("evil", revil)
    out = agent_once()
    check("freeze: " in out and "BW_E_EXPIRED" in out, "freeze detected: " + out[-400:])
    check(slots() == before, "freeze: slots unchanged")
    agent_once()  # the next check-in carries it
    op("/api/v1/devices/dev-1")
    check("freeze" in open(p("body.txt")).read(), "freeze reported to the gateway (attribute tuf)")
    check("freeze" in seclog(), "freeze in the security log")

    # from here the attacker serves metadata it signs with the online keys
    # it holds, always with versions above what it served before
    ver = {"sn": 0, "ts": 0}

    def bump(name):
        m = json.loads(Mirror.files[name])["signed"]["version"]
        return max(m, ver[{"snapshot.json": "sn", "timestamp.json": "ts"}[name]]) + 1

    def attacker_publish(targets_raw=None, snap_targets_version=None, ts_version=None,
                         keys=("sn", "ts")):
        md = p("repo", "metadata")
        root = load(os.path.join(md, "root.json"))
        tg_raw = targets_raw if targets_raw is not None else open(
            os.path.join(md, "targets.json"), "rb").read()
        tg_ver = json.loads(tg_raw)["signed"]["version"]
        files = dict(Mirror.files)
        files["%d.targets.json" % tg_ver] = tg_raw
        ver["sn"] = bump("snapshot.json")
        snap = {"_type": "snapshot", "spec_version": "1.0.31", "version": ver["sn"],
                "expires": expires(3600),
                "meta": {"targets.json": {"version": snap_targets_version or tg_ver}}}
        sn_raw = sign_md(snap, [keys[0]], root)
        files["%d.snapshot.json" % ver["sn"]] = files["snapshot.json"] = sn_raw
        ver["ts"] = ts_version or bump("timestamp.json")
        ts = {"_type": "timestamp", "spec_version": "1.0.31", "version": ver["ts"],
              "expires": expires(3600),
              "meta": {"snapshot.json": meta_entry(sn_raw, ver["sn"])}}
        files["timestamp.json"] = sign_md(ts, [keys[1]], root)
        Mirror.files = files

    def refused(label, err, out, before):
        check(err in out and "TUF" in out, "%s: refused with %s: %s" % (label, err, out[-500:]))
        check(slots() == before, "%s: slots unchanged" % label)

    def attacker_gateway(release_pub):
        nonlocal g
        gw_stop(g)
        g = gw_start(tuf=False, release_pub=release_pub)

    def sql(q):
        run("sqlite3", p("registry.db"), q)

    # arbitrary installation: the attacker's image named as a target (the
    # offer names fw-3; its bytes are not the target's)
    attacker_publish()
    campaign("evil-b", revil)
    before = slots()
    out = agent_once()
    refused("arbitrary installation", "BW_E_DIGEST", out, before)
    # extraneous dependencies: a package the release key signed, that no
    # targets role ever listed
    attacker_gateway("rel.pub")
    campaign("dep2", rdep)
    before = slots()
    out = agent_once()
    refused("extraneous dependencies", "BW_E_NOTFOUND", out, before)
    check("not a signed target" in out, "extraneous dependencies: says why")
    # wrong software installation: a signed target for other hardware
    campaign("hw", upload("fw-hw", "fwhw.bwp"))
    before = slots()
    out = agent_once()
    refused("wrong software installation", "BW_E_CLASS", out, before)
    # mix-and-match: the attacker's registry offers fw-2's package as fw-3
    sql("UPDATE releases SET name='evil-1' WHERE name='fw-3';"
        "UPDATE releases SET name='fw-3' WHERE id=%d;" % r2)
    campaign("mix", r2)
    before = slots()
    out = agent_once()
    refused("mix-and-match (an offer)", "BW_E_DIGEST", out, before)
    sql("UPDATE releases SET name='fw-2' WHERE id=%d;" % r2)
    # rollback of the release: fw-1, a signed target older than what runs
    attacker_publish()
    attacker_gateway("rel.pub")
    campaign("rb2", upload("fw-1", "fw1.bwp"))
    before = slots()
    out = agent_once()
    check("ROLLBACK" in out, "release rollback refused: " + out[-300:])
    check(slots() == before, "release rollback: slots unchanged")
    # mix-and-match, metadata of two states: the first targets file under the name
    # of a newer version, named by a snapshot signed with the online key
    tv = load(p("repo", "metadata", "targets.json"))["signed"]["version"]
    old_tg = open(p("repo", "metadata", "1.targets.json"), "rb").read()
    attacker_publish(snap_targets_version=tv + 1)
    Mirror.files["%d.targets.json" % (tv + 1)] = old_tg
    r3 = upload("fw-3b", "fw3.bwp")
    campaign("mm", r3)
    before = slots()
    out = agent_once()
    refused("mix-and-match (metadata)", "BW_E_ROLLBACK", out, before)
    # arbitrary installation with the online keys: the attacker lists its
    # image in a targets file it signs with the keys it has
    root = load(p("repo", "metadata", "root.json"))
    tg = load(p("repo", "metadata", "targets.json"))["signed"]
    tg["version"] = tv + 2
    evil_raw = open(p("fwevil.bwp"), "rb").read()
    tg["targets"]["fw-9"] = {"length": len(evil_raw),
                             "hashes": {"sha256": hashlib.sha256(evil_raw).hexdigest()},
                             "custom": {"bulwark": {"vendor_id": V, "class_id": C, "sequence": 9,
                                                    "hardware": "rev-b"}}}
    attacker_publish(targets_raw=sign_md(tg, ["sn", "ts"], root))
    sql("UPDATE releases SET name='fw-9' WHERE id=%d;" % revil)
    campaign("evil2", revil)
    before = slots()
    out = agent_once()
    refused("arbitrary installation (targets signed with the online keys)", "BW_E_BADSIG", out,
            before)
    # rollback: the timestamp the device saw first, replayed
    attacker_publish()
    Mirror.files["timestamp.json"] = ts1
    campaign("rb", r3)
    before = slots()
    out = agent_once()
    refused("rollback (metadata)", "BW_E_ROLLBACK", out, before)
    check("rollback" in seclog(), "rollback in the security log")
    # endless data: a timestamp that never ends
    attacker_publish()
    Mirror.mode = "endless"
    campaign("endless", r3)
    before = slots()
    out = agent_once()
    refused("endless data", "BW_E_TOOBIG", out, before)
    # slow retrieval: the timestamp a byte a second; the agent's request
    # timeout (3 s) ends it; nothing is installed, the device says so
    Mirror.mode = "slow"
    before = slots()
    t0 = time.time()
    out = agent_once()
    check("unavailable" in out and time.time() - t0 < 15, "slow retrieval cut: " + out[-300:])
    check(slots() == before, "slow retrieval: slots unchanged")
    # malicious mirror preventing updates: nothing served
    Mirror.mode = "notfound"
    before = slots()
    out = agent_once()
    check("unavailable" in out and "BW_E_NOTFOUND" in out, "mirror withholding: " + out[-300:])
    check(slots() == before, "mirror withholding: slots unchanged")
    agent_once()
    op("/api/v1/devices/dev-1")
    check("unavailable" in open(p("body.txt")).read(), "withholding reported to the gateway")
    Mirror.mode = "serve"
    # key compromise below threshold: 2 of the 5 root keys (and the
    # attacker's) sign a root v2 that hands every role to the attacker
    root = load(p("repo", "metadata", "root.json"))
    evil_root = json.loads(json.dumps(root["signed"]))
    evil_root["version"] += 1
    ekid = hashlib.sha256(b"evil").hexdigest()
    evil_root["keys"][ekid] = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
                               "keyval": {"public": open(p("keys", "evil.pub")).read()}}
    for rname in evil_root["roles"]:
        evil_root["roles"][rname] = {"keyids": [ekid], "threshold": 1}
    attacker_publish()
    Mirror.files["%d.root.json" % evil_root["version"]] = sign_md(evil_root, ["r1", "r2"], root)
    before = slots()
    out = agent_once()
    refused("key compromise below threshold (2 of 5 root keys)", "BW_E_BADSIG", out, before)
    del Mirror.files["%d.root.json" % evil_root["version"]]

    # === rotation: the owners take the fleet back, without reflashing ===
    # fast-forward: the attacker's timestamp key signed version 100000
    attacker_publish(ts_version=100000)
    out = agent_once()
    check("TUF refused" not in out, "the fast-forwarded timestamp is taken: " + out[-300:])
    gw_stop(g)
    srv.shutdown()
    # root v2: r1 revoked, n1 added (3 of 5), the compromised targets key
    # and both online keys replaced; signed by 3 keys of v1 and 3 of v2
    repo("revoke-key", "--dir", p("repo"), "--role", "root", "--pub", p("keys", "r1.pub"))
    repo("add-key", "--dir", p("repo"), "--role", "root", "--pub", p("keys", "n1.pub"))
    repo("rotate", "--dir", p("repo"), "--role", "targets", "--pub", p("keys", "tg2.pub"))
    repo("rotate", "--dir", p("repo"), "--role", "snapshot", "--pub", p("keys", "sn2.pub"))
    repo("rotate", "--dir", p("repo"), "--role", "timestamp", "--pub", p("keys", "ts2.pub"))
    publish("root", ["r2", "r3", "r4"])
    check(load(p("repo", "metadata", "root.json"))["signed"]["version"] == 2, "root v2 published")
    repo("add-target", "--dir", p("repo"), "--pub", p("keys", "rel.pub"), "--hardware", "rev-b",
         "--name", "fw-3b", p("fw3.bwp"))
    publish("targets", ["tg2"])
    g = gw_start(online=("sn2", "ts2"))
    agent_conf(U)
    st, body = campaign("fw-3b", r3)
    check(st == "201", "a campaign of the new target: %s %s" % (st, body))
    out = agent_once()
    check("root rotated from v1 to v2" in out, "the device follows the rotation: " + out[-400:])
    check("rotated" in seclog(), "rotation in the security log")
    agent_once()
    agent_once()
    op("/api/v1/devices/dev-1")
    check("ok root 2" in open(p("body.txt")).read(), "the rotation reported to the gateway")
    s = json.loads(run(B, "status", "--config", p("dev", "device.conf"), "--json").stdout)
    check(s["highest_sequence"] == 3, "after the rotation fw-3b (targets signed by the new key) "
          "installs: %s" % s)
    # the revoked targets key: a targets file signed by it alone is refused
    srv2 = TLSServer(("127.0.0.1", 0), Mirror)
    srv2.socket = ctx.wrap_socket(srv2.socket, server_side=True)
    threading.Thread(target=srv2.serve_forever, daemon=True).start()
    mirror_from(p("repo", "metadata"))
    ver["sn"] = ver["ts"] = 0
    root2 = load(p("repo", "metadata", "root.json"))
    tg = load(p("repo", "metadata", "targets.json"))["signed"]
    tg["version"] += 1
    tg["targets"]["fw-9"] = {"length": len(evil_raw),
                             "hashes": {"sha256": hashlib.sha256(evil_raw).hexdigest()},
                             "custom": {"bulwark": {"vendor_id": V, "class_id": C, "sequence": 9,
                                                    "hardware": "rev-b"}}}
    attacker_publish(targets_raw=sign_md(tg, ["tg"], root2), keys=("sn2", "ts2"))
    attacker_gateway("evil.pub")
    agent_conf(U, f"https://127.0.0.1:{srv2.server_address[1]}/tuf/metadata/")
    campaign("evil3", revil)
    before = slots()
    out = agent_once()
    refused("a targets file signed by the revoked targets key", "BW_E_BADSIG", out, before)
    # a root v3 signed by only 2 keys of v2
    r3md = json.loads(json.dumps(root2["signed"]))
    r3md["version"] = 3
    mirror_from(p("repo", "metadata"))
    Mirror.files["3.root.json"] = sign_md(r3md, ["r2", "n1"], root2)
    campaign("evil4", revil)
    before = slots()
    out = agent_once()
    check("BW_E_BADSIG" in out and "root" in out, "root v3 signed by 2 keys refused: " + out[-400:])
    check(slots() == before, "root v3 by 2 keys: slots unchanged")
    srv2.shutdown()
    gw_stop(g)


try:
    main()
finally:
    for pr in PROCS:
        if pr.poll() is None:
            pr.terminate()
            pr.wait()
    if os.environ.get("KEEP"):
        print("kept", T)
    else:
        shutil.rmtree(T, ignore_errors=True)
print("tuf_fleet: %d passed, %d failed" % (passes, len(fails)))
sys.exit(1 if fails else 0)
