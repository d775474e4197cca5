# SPDX-License-Identifier: Apache-2.0
"""A small TUF repository simulator for bulwark's TUF client tests.

Metadata is built as Python dicts, signed with securesystemslib (ECDSA
P-256, RSA-PSS) or cryptography (Ed25519) over securesystemslib's
encode_canonical, serialized with indentation (so the client must compute
the canonical form itself), and served by http.server on 127.0.0.1 with
every request path logged, the way the TUF conformance suite drives a
client. Not the conformance suite: a re-creation of its test classes."""
import copy
import datetime
import hashlib
import http.server
import json
import os
import socketserver
import subprocess
import threading
import time
import urllib.parse

from securesystemslib import keys as sslkeys
from securesystemslib.formats import encode_canonical
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

TOP = ("root", "timestamp", "snapshot", "targets")


def expiry(days=365):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Key:
    """One signing key: .public is the TUF key object, .keyid its id."""

    def __init__(self, kind="ecdsa"):
        self.kind = kind
        if kind == "ecdsa":
            self.ssl = sslkeys.generate_ecdsa_key()
            self.public = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256",
                           "keyval": {"public": self.ssl["keyval"]["public"]}}
        elif kind == "rsa":
            self.ssl = sslkeys.generate_rsa_key(bits=2048)
            self.public = {"keytype": "rsa", "scheme": "rsassa-pss-sha256",
                           "keyval": {"public": self.ssl["keyval"]["public"]}}
        elif kind == "ed25519":
            self.ed = Ed25519PrivateKey.generate()
            raw = self.ed.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
            self.public = {"keytype": "ed25519", "scheme": "ed25519",
                           "keyval": {"public": raw.hex()}}
        else:
            raise ValueError(kind)
        self.keyid = hashlib.sha256(encode_canonical(self.public).encode()).hexdigest()

    def sign(self, data):
        if self.kind == "ed25519":
            return self.ed.sign(data).hex()
        return sslkeys.create_signature(self.ssl, data)["sig"]


class Repo:
    """Roles as dicts; publish() writes every current file into .files."""

    def __init__(self, prefix="/test_x%5Bbar%5D", kind="ecdsa"):
        self.prefix = prefix
        self.signers = {r: [Key(kind)] for r in TOP}
        self.root = {"_type": "root", "spec_version": "1.0.31", "version": 1,
                     "expires": expiry(), "consistent_snapshot": True, "keys": {},
                     "roles": {r: {"keyids": [], "threshold": 1} for r in TOP}}
        for r in TOP:
            self.add_key(r, self.signers[r][0])
        self.timestamp = {"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
                          "expires": expiry(), "meta": {"snapshot.json": {"version": 1}}}
        self.snapshot = {"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
                         "expires": expiry(), "meta": {"targets.json": {"version": 1}}}
        self.targets = {"_type": "targets", "spec_version": "1.0.31", "version": 1,
                        "expires": expiry(), "targets": {}}
        self.delegated = {}        # name -> signed dict
        self.deleg_signers = {}    # name -> [Key]
        self.files = {}            # request path -> bytes
        self.meta_hashes = False   # lengths and hashes in timestamp/snapshot meta
        self.root_signers = None   # override: keys that sign the next root
        self.tamper = {}           # role -> function(bytes) -> bytes
        self.publish_root()
        self.publish()

    # -- keys and roles --
    def add_key(self, role, key, signed=None):
        signed = signed or self.root
        signed["keys"][key.keyid] = copy.deepcopy(key.public)
        if key.keyid not in signed["roles"][role]["keyids"]:
            signed["roles"][role]["keyids"].append(key.keyid)

    def rotate(self, role, kind="ecdsa"):
        """Replaces role's keys with one new key (in the next root)."""
        old = self.signers[role]
        for k in old:
            self.root["roles"][role]["keyids"].remove(k.keyid)
        self.signers[role] = [Key(kind)]
        self.add_key(role, self.signers[role][0])

    def delegate(self, parent, name, paths, terminating=False, key=None):
        key = key or Key()
        par = self.targets if parent == "targets" else self.delegated[parent]
        d = par.setdefault("delegations", {"keys": {}, "roles": []})
        d["keys"][key.keyid] = copy.deepcopy(key.public)
        d["roles"].append({"name": name, "keyids": [key.keyid], "threshold": 1,
                           "terminating": terminating, "paths": paths})
        if name not in self.delegated:
            self.delegated[name] = {"_type": "targets", "spec_version": "1.0.31", "version": 1,
                                    "expires": expiry(), "targets": {}}
            self.deleg_signers[name] = [key]
        return key

    def add_target(self, path, data, role="targets", algs=("sha256",), length=None):
        t = self.targets if role == "targets" else self.delegated[role]
        hashes = {a: hashlib.new(a, data).hexdigest() for a in algs}
        t["targets"][path] = {"length": len(data) if length is None else length,
                              "hashes": hashes}
        d, _, base = path.rpartition("/")
        pre = d + "/" if d else ""
        for a in algs:
            if a in ("sha256", "sha512"):
                self.files[f"{self.prefix}/targets/{pre}{hashes[a]}.{base}"] = data

    # -- signing and publishing --
    def sign(self, signed, keys, role):
        data = encode_canonical(signed).encode()
        sigs = [{"keyid": k.keyid, "sig": k.sign(data)} for k in keys]
        raw = json.dumps({"signatures": sigs, "signed": signed}, indent=1).encode()
        if role in self.tamper:
            raw = self.tamper.pop(role)(raw)
        return raw

    def publish_root(self, signers=None):
        keys = signers if signers is not None else self.signers["root"]
        raw = self.sign(self.root, keys, "root")
        self.files[f"{self.prefix}/metadata/{self.root['version']}.root.json"] = raw
        return raw

    def new_root(self, signers=None):
        """Publishes the next root version, signed by signers (default: the
        current root keys and, after a rotation, whoever is passed)."""
        self.root["version"] += 1
        return self.publish_root(signers)

    def meta_entry(self, raw, version):
        e = {"version": version}
        if self.meta_hashes:
            e["length"] = len(raw)
            e["hashes"] = {"sha256": hashlib.sha256(raw).hexdigest()}
        return e

    def publish(self, bump=()):
        """Bumps the versions of the roles named, then re-signs everything
        below root: delegated roles, targets, snapshot, timestamp."""
        for r in bump:
            d = {"targets": self.targets, "snapshot": self.snapshot,
                 "timestamp": self.timestamp}.get(r) or self.delegated[r]
            d["version"] += 1
        m = self.prefix + "/metadata/"
        for name, d in self.delegated.items():
            raw = self.sign(d, self.deleg_signers[name], name)
            self.files[m + f"{d['version']}.{urllib.parse.quote(name, '')}.json"] = raw
            self.snapshot["meta"][f"{name}.json"] = self.meta_entry(raw, d["version"])
        raw = self.sign(self.targets, self.signers["targets"], "targets")
        self.files[m + f"{self.targets['version']}.targets.json"] = raw
        self.snapshot["meta"]["targets.json"] = self.meta_entry(raw, self.targets["version"])
        raw = self.sign(self.snapshot, self.signers["snapshot"], "snapshot")
        self.files[m + f"{self.snapshot['version']}.snapshot.json"] = raw
        self.timestamp["meta"]["snapshot.json"] = self.meta_entry(raw, self.snapshot["version"])
        raw = self.sign(self.timestamp, self.signers["timestamp"], "timestamp")
        self.files[m + "timestamp.json"] = raw


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append(self.path)
        repo = srv.repo
        mode = srv.modes.get(self.path)
        if mode == "endless":
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x" * 65536)
            except OSError:
                return
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        body = repo.files.get(self.path)
        if body is None or mode == "404":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, repo):
        super().__init__(("127.0.0.1", 0), Handler)
        self.repo = repo
        self.requests = []
        self.modes = {}
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class Client:
    """Runs `bulwark tuf` as the conformance suite does."""

    def __init__(self, bulwark, tmp, server, faketime=None):
        self.bulwark = bulwark
        self.md = os.path.join(tmp, "metadata")
        self.td = os.path.join(tmp, "targets")
        os.makedirs(self.md)
        os.makedirs(self.td)
        self.server = server
        port = server.server_address[1]
        self.murl = f"http://127.0.0.1:{port}{server.repo.prefix}/metadata/"
        self.turl = f"http://127.0.0.1:{port}{server.repo.prefix}/targets/"
        self.last = None

    def run(self, args, faketime=None, timeout=60):
        cmd = [self.bulwark, "tuf"] + args
        if faketime:
            cmd = ["faketime", faketime] + cmd
        # own process group: a timeout ends faketime's child too
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.communicate()
            raise
        self.last = subprocess.CompletedProcess(cmd, p.returncode, out, err)
        return self.last.returncode

    def init(self, root_bytes):
        path = os.path.join(os.path.dirname(self.md), "root-init.json")
        with open(path, "wb") as f:
            f.write(root_bytes)
        return self.run(["--metadata-dir", self.md, "init", path])

    def refresh(self, **kw):
        return self.run(["--metadata-url", self.murl, "--metadata-dir", self.md, "refresh"], **kw)

    def download(self, *names, extra=(), **kw):
        a = ["--metadata-url", self.murl, "--metadata-dir", self.md]
        for n in names:
            a += ["--target-name", n]
        a += ["--target-dir", self.td, "--target-base-url", self.turl] + list(extra)
        return self.run(a + ["download"], **kw)

    def requests(self):
        """Request paths since the last call, relative to the repository."""
        r = [p[len(self.server.repo.prefix) + 1:] for p in self.server.requests]
        self.server.requests.clear()
        return r

    def version(self, role):
        p = os.path.join(self.md, urllib.parse.quote(role, "") + ".json")
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            return json.loads(f.read())["signed"]["version"]

    def md_bytes(self, role):
        with open(os.path.join(self.md, urllib.parse.quote(role, "") + ".json"), "rb") as f:
            return f.read()
