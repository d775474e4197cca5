# SPDX-License-Identifier: Apache-2.0
"""bulwark repo (TUF repository tooling) end to end: a 3-of-5 repository
whose root holders sign separately, a SUIT package published as a target,
served by python's http.server on 127.0.0.1 and fetched by `bulwark tuf`;
root rotation, key revocation, refusals of merge and of every command's bad
input (nothing on disk changes), and securesystemslib checking what
bulwark wrote. Usage: test_repo.py BULWARK [unittest args]"""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

from securesystemslib import keys as sslkeys
from securesystemslib.formats import encode_canonical

BULWARK = None
VENDOR = "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"
CLASS = "1492af14-2569-5e48-bf42-9b2d51f2ab45"
ROOTS = ["r1", "r2", "r3", "r4", "r5"]


def run(*args, cwd=None):
    r = subprocess.run([BULWARK] + list(args), cwd=cwd, capture_output=True, timeout=60)
    # a sanitizer build reports here (a refusal must not be a crash)
    assert b"Sanitizer" not in r.stderr and b"runtime error" not in r.stderr, r.stderr
    return r


def load(p):
    with open(p) as f:
        return json.load(f)


def tree(d):
    """Every file under d with its bytes: 'nothing changed' means equal."""
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


class Repo(unittest.TestCase):
    def setUp(self):
        self.t = tempfile.mkdtemp(prefix="bw-repo-")
        self.keys = os.path.join(self.t, "keys")
        os.mkdir(self.keys)
        for k in ROOTS + ["n1", "tg", "tg2", "sn", "ts", "rel", "other"]:
            self.ok(run("keygen", "--out", self.k(k), "--pub", self.p(k)))
        self.dir = os.path.join(self.t, "repo")
        self.srv = None

    def tearDown(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
        shutil.rmtree(self.t)

    def k(self, name):
        return os.path.join(self.keys, name + ".key")

    def p(self, name):
        return os.path.join(self.keys, name + ".pub")

    def ok(self, r):
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r

    def refused(self, r, code=None):
        self.assertNotEqual(r.returncode, 0, r.stdout.decode(errors="replace"))
        if code:
            self.assertIn(code, r.stderr.decode(errors="replace"))
        return r

    def repo(self, *args):
        return run("repo", args[0], "--dir", self.dir, *args[1:])

    def holder_sign(self, who, role):
        """A key holder on their own machine: a copy of the staged file,
        their key, a signature file back."""
        home = os.path.join(self.t, "holder-" + who)
        os.makedirs(home, exist_ok=True)
        mine = os.path.join(home, role + ".json")
        shutil.copy(os.path.join(self.dir, "staged", role + ".json"), mine)
        sig = os.path.join(home, "%s-%s.sig" % (role, who))
        self.ok(run("repo", "sign", "--key", self.k(who), "--out", sig, mine, cwd=home))
        return sig

    def package(self, seq):
        img = os.path.join(self.t, "fw-%d.img" % seq)
        with open(img, "wb") as f:
            f.write(os.urandom(5000 + seq))
        pkg = os.path.join(self.t, "fw-%d.bwp" % seq)
        self.ok(run("sign", "--key", self.k("rel"), "--vendor-id", VENDOR, "--class-id", CLASS,
                    "--sequence", str(seq), "--out", pkg, img))
        return pkg

    def online(self):
        self.ok(self.repo("snapshot", "--key", self.k("sn")))
        self.ok(self.repo("timestamp", "--key", self.k("ts")))

    def create(self):
        """A published 3-of-5 repository with one package."""
        self.ok(self.repo("init", "--root-pub", ",".join(self.p(r) for r in ROOTS),
                          "--targets-pub", self.p("tg"), "--snapshot-pub", self.p("sn"),
                          "--timestamp-pub", self.p("ts")))
        sigs = [self.holder_sign(r, "root") for r in ("r1", "r3", "r5")]
        self.ok(self.repo("merge", sigs[0], sigs[1]))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "metadata", "1.root.json")))
        self.ok(self.repo("merge", sigs[2]))
        self.assertTrue(os.path.exists(os.path.join(self.dir, "metadata", "1.root.json")))
        self.ok(self.repo("merge", self.holder_sign("tg", "targets")))
        self.pkg = self.package(7)
        self.ok(self.repo("add-target", "--pub", self.p("rel"), "--hardware", "board-b>=2",
                          self.pkg))
        self.ok(self.repo("merge", self.holder_sign("tg", "targets")))
        self.online()

    def serve(self):
        d = self.dir
        h = lambda *a, **kw: Quiet(*a, directory=d, **kw)  # noqa: E731
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.base = "http://127.0.0.1:%d/" % self.srv.server_address[1]
        self.md = os.path.join(self.t, "client-md")
        self.tg = os.path.join(self.t, "client-targets")
        os.mkdir(self.md)
        os.mkdir(self.tg)
        self.ok(run("tuf", "--metadata-dir", self.md, "init",
                    os.path.join(self.dir, "metadata", "1.root.json")))

    def client(self, cmd="refresh", name=None):
        a = ["tuf", "--metadata-dir", self.md, "--metadata-url", self.base + "metadata/",
             "--timeout", "10"]
        if cmd == "download":
            a += ["--target-dir", self.tg, "--target-base-url", self.base + "targets/",
                  "--target-name", name]
        return run(*a, cmd)

    def trusted(self, role):
        with open(os.path.join(self.md, role + ".json")) as f:
            return json.load(f)["signed"]

    def rotate_root(self, signers, *args):
        self.ok(self.repo(*args))
        sigs = [self.holder_sign(s, "root") for s in signers]
        for i in range(0, len(sigs) - 3, 3):  # at most 3 per merge
            r = self.ok(self.repo("merge", *sigs[i:i + 3]))
            self.assertIn(b"not published", r.stdout)
        return self.repo("merge", *sigs[(len(sigs) - 1) // 3 * 3:])

    # --- end to end ---

    def test_end_to_end_3_of_5(self):
        self.create()
        self.serve()
        self.ok(self.client("download", "fw-7.bwp"))
        with open(self.pkg, "rb") as a, open(os.path.join(self.tg, "fw-7.bwp"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        entry = self.trusted("targets")["targets"]["fw-7.bwp"]
        self.assertEqual(entry["custom"]["bulwark"], {"vendor_id": VENDOR, "class_id": CLASS,
                                                      "sequence": 7, "hardware": "board-b>=2"})
        root = self.trusted("root")
        self.assertEqual(root["roles"]["root"]["threshold"], 3)
        self.assertEqual(len(root["roles"]["root"]["keyids"]), 5)
        self.assertTrue(root["consistent_snapshot"])
        # a target by hash prefix, versioned metadata names
        with open(self.pkg, "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        self.assertTrue(os.path.exists(os.path.join(self.dir, "targets", h + ".fw-7.bwp")))
        r = self.ok(self.repo("status", "--json"))
        st = json.loads(r.stdout)
        self.assertEqual(st["problems"], 0)
        self.assertEqual({x["role"]: x["version"] for x in st["roles"]},
                         {"root": 1, "timestamp": 1, "snapshot": 1, "targets": 2})
        # a snapshot that expires within a quarter of its 7 days: status warns
        self.ok(self.repo("snapshot", "--key", self.k("sn"), "--expires", "1"))
        r = self.repo("status", "--json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["problems"], 1)

    def test_root_rotation_revokes_a_key_and_client_follows(self):
        self.create()
        self.serve()
        self.ok(self.client())
        # r1 leaves, n1 joins: old threshold (r2, r3, r4) and new (r2, r3, n1)
        new = ",".join(self.p(r) for r in ("r2", "r3", "r4", "r5", "n1"))
        self.ok(self.rotate_root(["r2", "r3", "n1", "r4"], "rotate", "--role", "root", "--pub",
                                 new))
        self.ok(self.client())
        root = self.trusted("root")
        self.assertEqual(root["version"], 2)
        self.assertEqual(len(root["roles"]["root"]["keyids"]), 5)
        # r1 may no longer sign a root: its signature is refused by merge
        self.ok(self.repo("renew", "--role", "root"))
        self.refused(self.repo("merge", self.holder_sign("r1", "root")), "BW_E_KEY")
        # revoke by keyid: n1 leaves again, threshold 3 of the 4 left
        n1 = [k for k in root["roles"]["root"]["keyids"]
              if k not in load(os.path.join(self.dir, "metadata", "1.root.json"))
              ["signed"]["roles"]["root"]["keyids"]]
        self.assertEqual(len(n1), 1)
        self.ok(self.repo("revoke-key", "--role", "root", "--pub", n1[0]))
        staged = load(os.path.join(self.dir, "staged", "root.json"))["signed"]
        self.assertEqual(staged["version"], 3)
        self.assertNotIn(n1[0], staged["roles"]["root"]["keyids"])
        self.assertNotIn(n1[0], staged["keys"])

    def test_root_signed_by_two_old_keys_is_refused(self):
        self.create()
        self.serve()
        self.ok(self.client())
        new = ",".join(self.p(r) for r in ("n1", "other"))
        r = self.rotate_root(["r1", "r2", "n1", "other"], "rotate", "--role", "root", "--pub",
                             new, "--threshold", "2")
        self.ok(r)
        self.assertIn(b"not published", r.stdout)  # 2 of the old keys: held back
        # an attacker publishes it anyway
        shutil.copy(os.path.join(self.dir, "staged", "root.json"),
                    os.path.join(self.dir, "metadata", "2.root.json"))
        self.refused(self.client())
        self.assertEqual(self.trusted("root")["version"], 1)

    def test_compromised_targets_key_revoked(self):
        self.create()
        self.serve()
        self.ok(self.client())

        def forge():
            """The holder of tg (and of the online keys) signs targets of its own."""
            with open(os.path.join(self.dir, "metadata", "targets.json")) as f:
                doc = json.load(f)
            doc["signed"]["version"] += 1
            doc["signed"]["targets"]["evil.bwp"] = {"length": 1, "hashes": {"sha256": "00" * 32}}
            doc["signatures"] = []
            p = os.path.join(self.t, "evil.json")
            with open(p, "w") as f:
                json.dump(doc, f)
            sig = json.loads(self.ok(run("repo", "sign", "--key", self.k("tg"), p)).stdout)
            doc["signatures"] = [{"keyid": sig["keyid"], "sig": sig["sig"]}]
            for n in ("%d.targets.json" % doc["signed"]["version"], "targets.json"):
                with open(os.path.join(self.dir, "metadata", n), "w") as f:
                    json.dump(doc, f)
            self.online()

        saved = os.path.join(self.t, "saved")
        shutil.copytree(self.dir, saved)
        forge()  # before the revocation the forgery is accepted: the test can fail
        self.ok(self.client())
        self.assertIn("evil.bwp", self.trusted("targets")["targets"])
        shutil.rmtree(self.dir)
        shutil.copytree(saved, self.dir)
        shutil.rmtree(self.md)
        shutil.rmtree(self.tg)
        self.srv.shutdown()
        self.srv.server_close()
        self.serve()
        self.ok(self.client())
        # revoke tg: new root with tg2 as the targets key, targets signed again
        self.ok(self.rotate_root(["r1", "r2", "r3"], "rotate", "--role", "targets", "--pub",
                                 self.p("tg2")))
        r = self.repo("status")
        self.assertEqual(r.returncode, 1)  # targets by tg: below threshold now
        self.assertIn(b"BELOW THRESHOLD", r.stdout)
        self.ok(self.repo("renew", "--role", "targets"))
        self.refused(self.repo("merge", self.holder_sign("tg", "targets")), "BW_E_KEY")
        self.ok(self.repo("merge", self.holder_sign("tg2", "targets")))
        self.online()
        self.ok(self.repo("status"))
        self.ok(self.client("download", "fw-7.bwp"))
        self.assertEqual(self.trusted("root")["version"], 2)
        forge()
        r = self.refused(self.client())
        self.assertIn(b"targets", r.stderr)
        self.assertNotIn("evil.bwp", self.trusted("targets")["targets"])

    # --- merge refusals ---

    def test_merge_refuses_bad_and_duplicate_signatures(self):
        self.ok(self.repo("init", "--root-pub", ",".join(self.p(r) for r in ROOTS),
                          "--targets-pub", self.p("tg"), "--snapshot-pub", self.p("sn"),
                          "--timestamp-pub", self.p("ts")))
        s1 = self.holder_sign("r1", "root")
        self.ok(self.repo("merge", s1))
        before = tree(self.dir)
        with open(s1) as f:
            sig = json.load(f)
        bad = dict(sig)
        bad["sig"] = sig["sig"][:-4] + ("0000" if not sig["sig"].endswith("0000") else "1111")
        badf = os.path.join(self.t, "bad.sig")
        with open(badf, "w") as f:
            json.dump(bad, f)
        s2 = self.holder_sign("r2", "root")
        cases = [
            ([s1], "BW_E_STATE"),                       # r1 again
            ([s2, s2], "BW_E_STATE"),                   # twice in one merge
            ([s2, badf], "BW_E_BADSIG"),                # one bad: none merged
            ([self.holder_sign("other", "root")], "BW_E_KEY"),  # not a root key
            ([self.holder_sign("tg", "targets"), s2], "BW_E_INVAL"),  # two roles
        ]
        tampered = dict(sig)
        tampered["signed_sha256"] = "00" * 32
        tf = os.path.join(self.t, "tampered.sig")
        with open(tf, "w") as f:
            json.dump(tampered, f)
        cases.append(([tf], "BW_E_STATE"))
        junk = os.path.join(self.t, "junk.sig")
        with open(junk, "w") as f:
            f.write("{not json")
        cases.append(([junk], "BW_E_FORMAT"))
        cases.append(([os.path.join(self.t, "missing.sig")], "BW_E_IO"))
        for files, code in cases:
            with self.subTest(files=[os.path.basename(x) for x in files]):
                self.refused(self.repo("merge", *files), code)
                self.assertEqual(tree(self.dir), before)
        # the staged root changes after r2 signed: r2's signature is stale
        self.ok(self.repo("add-key", "--role", "targets", "--pub", self.p("tg2")))
        self.refused(self.repo("merge", s2), "BW_E_STATE")

    # --- bad input of every command: a clear error, nothing on disk changed ---

    def test_bad_input_changes_nothing(self):
        self.create()
        before = tree(self.dir)
        evil = os.path.join(self.t, "corrupt.bwp")
        with open(self.pkg, "rb") as f:
            b = bytearray(f.read())
        b[-10] ^= 1
        with open(evil, "wb") as f:
            f.write(b)
        notakey = os.path.join(self.t, "notakey")
        with open(notakey, "w") as f:
            f.write("hello\n")
        roots = ",".join(self.p(r) for r in ROOTS)
        cases = [
            (("repo",), None),
            (("repo", "frobnicate", "--dir", self.dir), None),
            (("repo", "init", "--dir", self.dir, "--root-pub", roots, "--targets-pub",
              self.p("tg"), "--snapshot-pub", self.p("sn"), "--timestamp-pub", self.p("ts")),
             "BW_E_EXISTS"),
            (("repo", "status", "--dir", self.dir, "--key", self.k("sn")), None),
            (("repo", "sign", "--key", self.k("r1"), os.path.join(self.t, "none.json")),
             "BW_E_NOTFOUND"),
            (("repo", "sign", "--key", notakey, os.path.join(self.dir, "metadata",
                                                               "root.json")), "BW_E_KEY"),
            (("repo", "sign", "--key", self.k("r1"), self.pkg), "BW_E_FORMAT"),
            (("repo", "merge", "--dir", self.dir), None),
            (("repo", "merge", "--dir", self.dir, self.p("r1")), "BW_E_FORMAT"),
            (("repo", "add-key", "--dir", self.dir, "--role", "admins", "--pub", self.p("n1")),
             "BW_E_INVAL"),
            (("repo", "add-key", "--dir", self.dir, "--role", "root", "--pub", self.p("r1")),
             "BW_E_EXISTS"),
            (("repo", "add-key", "--dir", self.dir, "--role", "root", "--pub", notakey),
             "BW_E_KEY"),
            (("repo", "add-key", "--dir", self.dir, "--role", "root", "--pub", self.p("n1"),
              "--threshold", "0"), None),
            (("repo", "revoke-key", "--dir", self.dir, "--role", "targets", "--pub",
              self.p("r1")), "BW_E_NOTFOUND"),
            (("repo", "revoke-key", "--dir", self.dir, "--role", "targets", "--pub",
              self.p("tg")), "BW_E_INVAL"),  # no targets key left
            (("repo", "revoke-key", "--dir", self.dir, "--role", "root", "--pub",
              ",".join(self.p(r) for r in ("r1", "r2", "r3"))), "BW_E_INVAL"),  # 2 left, k=3
            (("repo", "rotate", "--dir", self.dir, "--role", "root", "--pub", self.p("n1"),
              "--threshold", "2"), "BW_E_INVAL"),
            (("repo", "rotate", "--dir", self.dir, "--role", "root", "--pub",
              self.p("n1") + "," + self.p("n1")), "BW_E_EXISTS"),
            (("repo", "renew", "--dir", self.dir, "--role", "timestamp"), "BW_E_INVAL"),
            (("repo", "add-target", "--dir", self.dir, "--pub", self.p("other"), "--hardware",
              "b", self.pkg), "BW_E_BADSIG"),
            (("repo", "add-target", "--dir", self.dir, "--pub", self.p("rel"), "--hardware",
              "b", evil), None),
            (("repo", "add-target", "--dir", self.dir, "--pub", self.p("rel"), self.pkg),
             "BW_E_INVAL"),
            (("repo", "add-target", "--dir", self.dir, "--pub", self.p("rel"), "--hardware",
              "b", "--name", "../x", self.pkg), "BW_E_INVAL"),
            (("repo", "add-target", "--dir", self.dir, "--pub", self.p("rel"), "--hardware",
              "b", os.path.join(self.t, "none.bwp")), None),
            (("repo", "snapshot", "--dir", self.dir, "--key", self.k("ts")), "BW_E_KEY"),
            (("repo", "timestamp", "--dir", self.dir, "--key", self.k("sn")), "BW_E_KEY"),
            (("repo", "timestamp", "--dir", self.dir, "--key", self.k("ts"), "--expires", "0"),
             None),
            (("repo", "snapshot", "--dir", os.path.join(self.t, "nowhere"), "--key",
              self.k("sn")), "BW_E_NOTFOUND"),
            (("repo", "status", "--dir", os.path.join(self.t, "nowhere")), "BW_E_NOTFOUND"),
        ]
        for args, code in cases:
            with self.subTest(args=args[:2]):
                r = self.refused(run(*args), code)
                self.assertTrue(r.stderr.startswith(b"bulwark"), r.stderr)
                self.assertEqual(tree(self.dir), before)

    def test_init_refuses_bad_thresholds(self):
        for extra, code in ((["--threshold", "6"], "BW_E_INVAL"), ([], "BW_E_INVAL")):
            r = run("repo", "init", "--dir", self.dir, "--root-pub",
                    ",".join(self.p(r) for r in ROOTS[:2]), "--targets-pub", self.p("tg"),
                    "--snapshot-pub", self.p("sn"), "--timestamp-pub", self.p("ts"), *extra)
            self.refused(r, code)  # 3 of 2 by default; 6 of 2
            self.assertFalse(os.path.exists(self.dir))
        self.refused(run("repo", "init", "--dir", self.dir, "--root-pub", self.p("r1"),
                         "--threshold", "1", "--targets-pub", self.p("tg"), "--snapshot-pub",
                         self.p("sn"), "--timestamp-pub", os.path.join(self.t, "nope.pub")),
                     "BW_E_NOTFOUND")
        self.assertFalse(os.path.exists(self.dir))

    # --- a root key held in a PKCS#11 token (softhsm2) ---

    @unittest.skipUnless(shutil.which("softhsm2-util") and shutil.which("pkcs11-tool"),
                         "softhsm2 and opensc are needed")
    def test_root_holder_with_pkcs11_token(self):
        import glob
        module = (glob.glob("/usr/lib/softhsm/libsofthsm2.so") +
                  glob.glob("/usr/lib/*/softhsm/libsofthsm2.so"))[0]
        tok = os.path.join(self.t, "tokens")
        os.mkdir(tok)
        conf = os.path.join(self.t, "softhsm2.conf")
        with open(conf, "w") as f:
            f.write("directories.tokendir = %s\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n" % tok)
        env = dict(os.environ, SOFTHSM2_CONF=conf)
        sh = lambda *a: subprocess.run(a, env=env, check=True, capture_output=True)  # noqa
        sh("softhsm2-util", "--init-token", "--free", "--label", "holders", "--pin", "1234",
           "--so-pin", "5678")
        sh("pkcs11-tool", "--module", module, "--token-label", "holders", "--login", "--pin",
           "1234", "--keypairgen", "--key-type", "EC:prime256v1", "--label", "r5")
        der = os.path.join(self.t, "r5-token.der")
        sh("pkcs11-tool", "--module", module, "--token-label", "holders", "--read-object",
           "--type", "pubkey", "--label", "r5", "-o", der)
        sh("openssl", "pkey", "-pubin", "-inform", "DER", "-in", der, "-out", self.p("r5"))
        os.environ["SOFTHSM2_CONF"] = conf
        try:
            self.ok(self.repo("init", "--root-pub", ",".join(self.p(r) for r in ROOTS),
                              "--targets-pub", self.p("tg"), "--snapshot-pub", self.p("sn"),
                              "--timestamp-pub", self.p("ts")))
            staged = os.path.join(self.dir, "staged", "root.json")
            sig = os.path.join(self.t, "r5.sig")
            uri = "pkcs11:module=%s;token=holders;object=r5;pin-value=1234" % module
            self.ok(run("repo", "sign", "--key", uri, "--out", sig, staged))
            r = self.ok(self.repo("merge", self.holder_sign("r1", "root"),
                                  self.holder_sign("r2", "root"), sig))
            self.assertIn(b"published", r.stdout)
            self.assertNotIn(b"not published", r.stdout)
            bad = "pkcs11:module=%s;token=holders;object=r5;pin-value=0000" % module
            self.refused(run("repo", "sign", "--key", bad, staged))
        finally:
            del os.environ["SOFTHSM2_CONF"]

    # --- another implementation checks what bulwark wrote ---

    def test_securesystemslib_verifies_metadata(self):
        self.create()
        self.ok(self.rotate_root(["r1", "r2", "r3"], "add-key", "--role", "root", "--pub",
                                 self.p("n1")))
        md = os.path.join(self.dir, "metadata")
        checked = 0
        root1 = load(os.path.join(md, "1.root.json"))["signed"]
        for name in sorted(os.listdir(md)):
            doc = load(os.path.join(md, name))
            root = load(os.path.join(md, "root.json"))["signed"]
            data = encode_canonical(doc["signed"]).encode()
            for s in doc["signatures"]:
                keys = dict(root1["keys"], **root["keys"])
                key = keys[s["keyid"]]
                self.assertEqual(hashlib.sha256(encode_canonical(key).encode()).hexdigest(),
                                 s["keyid"])
                kd = dict(key, keyid=s["keyid"])
                self.assertTrue(sslkeys.verify_signature(kd, s, data), name)
                checked += 1
                bad = data.replace(b'"version":', b'"version": ', 1)
                self.assertFalse(sslkeys.verify_signature(kd, s, bad))
        self.assertGreaterEqual(checked, 3 + 4 + 1 + 1 + 1 + 1)


if __name__ == "__main__":
    BULWARK = os.path.abspath(sys.argv.pop(1))
    unittest.main()
