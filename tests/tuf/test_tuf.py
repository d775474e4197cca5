# SPDX-License-Identifier: Apache-2.0
"""bulwark tuf against a simulated repository on 127.0.0.1, one test per
class of the TUF conformance suite (tests/tuf/simrepo.py).
Usage: test_tuf.py BULWARK [unittest args]"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simrepo import Client, Key, Repo, Server  # noqa: E402

BULWARK = None
NO_FAKETIME = bool(os.environ.get("BW_TUF_NO_FAKETIME"))  # sanitizer builds
FRESH = ["metadata/2.root.json", "metadata/timestamp.json", "metadata/1.snapshot.json",
         "metadata/1.targets.json"]


class Base(unittest.TestCase):
    kind = "ecdsa"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bw-tuf-")
        self.repo = Repo(kind=self.kind)
        self.srv = Server(self.repo)
        self.c = Client(BULWARK, self.tmp, self.srv)
        self.assertEqual(self.c.init(self.repo.files[self.repo.prefix + "/metadata/1.root.json"]), 0)

    def tearDown(self):
        self.srv.stop()
        shutil.rmtree(self.tmp)

    def ok(self, rc):
        self.assertEqual(rc, 0, self.c.last.stderr.decode(errors="replace"))

    def bad(self, rc):
        self.assertEqual(rc, 1, self.c.last.stderr.decode(errors="replace"))

    def md_files(self):
        return sorted(os.listdir(self.c.md))

    def versions(self):
        return [self.c.version(r) for r in ("root", "timestamp", "snapshot", "targets")]


class Basic(Base):
    def test_fresh_refresh_then_no_change(self):
        self.ok(self.c.refresh())
        self.assertEqual(self.c.requests(), FRESH)
        self.assertEqual(self.md_files(), ["root.json", "snapshot.json", "targets.json",
                                           "timestamp.json"])
        self.ok(self.c.refresh())
        self.assertEqual(self.c.requests(), ["metadata/2.root.json", "metadata/timestamp.json"])

    def test_metadata_bytes_match(self):
        self.repo.tamper["timestamp"] = lambda b: b + b" "
        self.repo.tamper["snapshot"] = lambda b: b + b" "
        self.repo.publish(bump=["snapshot", "timestamp"])
        self.ok(self.c.refresh())
        m = self.repo.prefix + "/metadata/"
        self.assertEqual(self.c.md_bytes("timestamp"), self.repo.files[m + "timestamp.json"])
        self.assertEqual(self.c.md_bytes("snapshot"), self.repo.files[m + "2.snapshot.json"])
        self.assertTrue(self.c.md_bytes("snapshot").endswith(b" "))

    def test_bad_initial_root_makes_no_request(self):
        root = json.loads(self.repo.files[self.repo.prefix + "/metadata/1.root.json"])
        for how in ("no-version", "bad-sig", "unsigned"):
            r = json.loads(json.dumps(root))
            if how == "no-version":
                del r["signed"]["version"]
            elif how == "bad-sig":
                r["signatures"][0]["sig"] = "30" + r["signatures"][0]["sig"][2:][::-1]
            else:
                r["signatures"] = []
            raw = json.dumps(r).encode()
            self.bad(self.c.init(raw))
            with open(os.path.join(self.c.md, "root.json"), "wb") as f:
                f.write(raw)
            self.bad(self.c.refresh())
            self.assertEqual(self.c.requests(), [])

    def test_badly_signed_roles_are_not_stored(self):
        self.ok(self.c.refresh())
        self.c.requests()
        other = Key()
        for role in ("timestamp", "snapshot", "targets"):
            before = self.c.version(role)
            good = self.repo.signers[role]
            self.repo.signers[role] = [other]
            self.repo.publish(bump=["targets", "snapshot", "timestamp"])
            self.bad(self.c.refresh())
            self.assertEqual(self.c.version(role), before, role)
            self.repo.signers[role] = good
            self.repo.publish()
            self.ok(self.c.refresh())
        # a new root signed by a key that is not a root key
        self.repo.new_root(signers=[other])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("root"), 1)

    def test_version_mismatch(self):
        self.ok(self.c.refresh())
        m = self.repo.prefix + "/metadata/"
        # 2.root.json holding version 3
        self.repo.root["version"] = 3
        self.repo.files[m + "2.root.json"] = self.repo.sign(self.repo.root, self.repo.signers["root"], "root")
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("root"), 1)
        del self.repo.files[m + "2.root.json"]
        self.repo.root["version"] = 1
        # snapshot at URL 2 whose content says 3
        self.repo.publish(bump=["snapshot", "timestamp"])
        self.repo.snapshot["version"] = 3
        self.repo.files[m + "2.snapshot.json"] = self.repo.sign(self.repo.snapshot, self.repo.signers["snapshot"], "snapshot")
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("snapshot"), 1)

    def test_unknown_fields_and_custom_key_fields(self):
        self.repo.root["x-custom"] = {"a": [1, "b\\\"", None, True]}
        k = next(iter(self.repo.root["keys"]))
        self.repo.root["keys"][k]["x-tuf-on-ci-keyowner"] = "@someone"
        self.repo.root["keys"][k]["keyid_hash_algorithms"] = ["sha512"]
        self.repo.root["roles"]["targets"]["x-role"] = "é ü \u2603"
        self.repo.new_root()
        self.repo.targets["custom"] = {"nested": {"z": 1, "a": 2}}
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.refresh())
        self.assertEqual(self.versions(), [2, 2, 2, 2])

    def test_duplicate_signature_keyids_refused(self):
        self.ok(self.c.refresh())
        k = self.repo.signers["timestamp"][0]
        self.repo.tamper["timestamp"] = lambda b: dup_sig(b)
        self.repo.publish(bump=["timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("timestamp"), 1)
        del k

    def test_extra_bad_and_empty_signatures_ignored(self):
        self.repo.tamper["timestamp"] = lambda b: extra_sigs(b, self.repo.root)
        self.repo.publish(bump=["timestamp"])
        self.ok(self.c.refresh())

    def test_missing_timestamp_snapshot_targets(self):
        m = self.repo.prefix + "/metadata/"
        for f in ("timestamp.json", "1.snapshot.json", "1.targets.json"):
            self.srv.modes[m + f] = "404"
            self.bad(self.c.refresh())
            del self.srv.modes[m + f]
        self.ok(self.c.refresh())

    def test_wrong_type(self):
        m = self.repo.prefix + "/metadata/"
        self.repo.files[m + "timestamp.json"] = self.repo.files[m + "1.snapshot.json"]
        self.bad(self.c.refresh())
        self.assertIsNone(self.c.version("timestamp"))

    def test_snapshot_and_targets_hash_mismatch(self):
        self.repo.meta_hashes = True
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.refresh())
        m = self.repo.prefix + "/metadata/"
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.repo.files[m + "3.targets.json"] += b"\n"
        self.bad(self.c.refresh())
        self.assertEqual(self.versions(), [1, 3, 3, 2])
        self.repo.files[m + "3.snapshot.json"] += b"\n"
        self.bad(self.c.refresh())
        self.assertEqual(self.versions(), [1, 3, 3, 2])

    def test_float_and_duplicate_keys_refused(self):
        m = self.repo.prefix + "/metadata/"
        raw = self.repo.files[m + "timestamp.json"]
        for bad in (raw.replace(b'"version": 1,', b'"version": 1.0,', 1),
                    raw.replace(b'"_type": "timestamp"', b'"_type": "timestamp", "_type": "timestamp"', 1)):
            self.assertNotEqual(bad, raw)
            self.repo.files[m + "timestamp.json"] = bad
            self.bad(self.c.refresh())
            self.assertIsNone(self.c.version("timestamp"))


def dup_sig(raw):
    d = json.loads(raw)
    d["signatures"].append(dict(d["signatures"][0]))
    return json.dumps(d).encode()


def extra_sigs(raw, root):
    d = json.loads(raw)
    other = [k for k in root["roles"]["root"]["keyids"]][0]
    d["signatures"].append({"keyid": other, "sig": "00" * 70})
    d["signatures"].append({"keyid": "ab" * 32, "sig": ""})
    return json.dumps(d).encode()


class Rollback(Base):
    def setUp(self):
        super().setUp()
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.refresh())
        self.assertEqual(self.versions(), [1, 2, 2, 2])

    def test_timestamp_rollback(self):
        self.repo.timestamp["version"] = 1
        self.repo.publish()
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("timestamp"), 2)

    def test_snapshot_rollback_via_timestamp(self):
        for hashes in (False, True):
            self.repo.meta_hashes = hashes
            self.repo.snapshot["version"] = 1
            self.repo.publish(bump=["timestamp"])
            self.bad(self.c.refresh())
            self.assertEqual(self.c.version("snapshot"), 2)
            self.repo.snapshot["version"] = 2

    def test_targets_rollback_via_snapshot(self):
        self.repo.targets["version"] = 1
        self.repo.publish(bump=["snapshot", "timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.versions(), [1, 3, 2, 2])

    def test_role_removed_from_snapshot(self):
        self.repo.delegate("targets", "role1", ["*"])
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.refresh())
        self.repo.delegated.pop("role1")
        self.repo.snapshot["meta"].pop("role1.json")
        self.repo.targets.pop("delegations")
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("snapshot"), 3)

    def test_fast_forward_recovery(self):
        # timestamp keys rotate and its version restarts at 1
        self.repo.rotate("timestamp")
        self.repo.new_root()
        self.repo.timestamp["version"] = 0
        self.repo.publish(bump=["timestamp"])
        self.ok(self.c.refresh())
        self.assertEqual(self.versions(), [2, 1, 2, 2])
        # snapshot + timestamp keys rotate: snapshot restarts at 1
        self.repo.rotate("snapshot")
        self.repo.rotate("timestamp")
        self.repo.new_root()
        self.repo.snapshot["version"] = 1
        self.repo.timestamp["version"] = 1
        self.repo.publish()
        self.ok(self.c.refresh())
        self.assertEqual(self.versions(), [3, 1, 1, 2])
        # snapshot keys rotate: targets restarts at 1
        self.repo.rotate("snapshot")
        self.repo.new_root()
        self.repo.targets["version"] = 1
        self.repo.publish(bump=["snapshot", "timestamp"])
        self.ok(self.c.refresh())
        self.assertEqual(self.versions(), [4, 2, 2, 1])


class KeyRotation(Base):
    def test_root_3_of_5_rotation(self):
        old = [Key() for _ in range(5)]
        r = self.repo.root["roles"]["root"]
        for k in self.repo.signers["root"]:
            r["keyids"].remove(k.keyid)
        for k in old:
            self.repo.add_key("root", k)
        r["threshold"] = 3
        self.repo.new_root(signers=self.repo.signers["root"] + old)  # v2: old 1-of-1 + new 3
        self.repo.signers["root"] = old
        # v3: one key revoked, a new one added; 3 of the old and 3 of the new sign
        new = old[1:] + [Key()]
        r["keyids"].remove(old[0].keyid)
        del self.repo.root["keys"][old[0].keyid]
        self.repo.add_key("root", new[-1])
        self.repo.new_root(signers=old[:3] + [new[-1]])
        # v4 signed by the revoked key and one other only (2 valid of the current set)
        self.repo.new_root(signers=[old[0], old[1], new[-1]])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("root"), 3)
        self.assertIsNone(self.c.version("timestamp"))
        # the repository re-signs v4 properly
        self.repo.root["version"] = 3
        self.repo.new_root(signers=new[1:4])
        self.ok(self.c.refresh())
        self.assertEqual(self.c.version("root"), 4)
        self.assertEqual(self.c.requests()[-6:], ["metadata/4.root.json", "metadata/4.root.json",
                                                  "metadata/5.root.json", "metadata/timestamp.json",
                                                  "metadata/1.snapshot.json", "metadata/1.targets.json"])

    def test_new_root_must_meet_its_own_threshold(self):
        extra = Key()
        self.repo.add_key("root", extra)
        self.repo.root["roles"]["root"]["threshold"] = 2
        self.repo.new_root()  # signed by the old key only: 1 of the new 2
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("root"), 1)

    def test_threshold_over_distinct_keys(self):
        k = self.repo.signers["timestamp"][0]
        self.repo.root["roles"]["timestamp"]["threshold"] = 2
        self.repo.new_root()
        self.repo.tamper["timestamp"] = lambda b: dup_sig(b)
        self.repo.publish(bump=["timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("root"), 2)  # a threshold above the keys is a valid root
        self.assertIsNone(self.c.version("timestamp"))
        del k


class KeyTypes(Base):
    def check_kind(self, kind):
        k = Key(kind)
        self.repo.add_key("timestamp", k)
        self.repo.root["roles"]["timestamp"]["threshold"] = 2
        self.repo.new_root()
        self.repo.signers["timestamp"].append(k)
        self.repo.publish(bump=["timestamp"])
        self.ok(self.c.refresh())
        # a plausible bad signature by that key
        self.repo.tamper["timestamp"] = lambda b: corrupt_sig(b, k.keyid)
        self.repo.publish(bump=["timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("timestamp"), 2)

    def test_ed25519(self):
        self.check_kind("ed25519")

    def test_rsa_pss(self):
        self.check_kind("rsa")

    def test_ecdsa(self):
        self.check_kind("ecdsa")


def corrupt_sig(raw, keyid):
    d = json.loads(raw)
    for s in d["signatures"]:
        if s["keyid"] == keyid:
            b = bytearray(bytes.fromhex(s["sig"]))
            b[-1] ^= 1
            s["sig"] = b.hex()
    return json.dumps(d).encode()


class Expiry(Base):
    def test_expired_new_timestamp_not_stored(self):
        self.ok(self.c.refresh())
        self.repo.timestamp["expires"] = "2020-01-01T00:00:00Z"
        self.repo.publish(bump=["timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.c.version("timestamp"), 1)

    def test_expired_root_is_stored_then_refused(self):
        self.ok(self.c.refresh())
        self.repo.root["expires"] = "2020-01-01T00:00:00Z"
        self.repo.new_root()
        self.repo.publish(bump=["snapshot", "timestamp"])
        self.bad(self.c.refresh())
        self.assertEqual(self.versions(), [2, 1, 1, 1])

    def test_faketime(self):
        if NO_FAKETIME:
            self.skipTest("BW_TUF_NO_FAKETIME: libfaketime and ASan do not mix")
        self.ok(self.c.refresh())
        self.c.requests()
        later = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 2 * 365 * 86400))
        self.bad(self.c.refresh(faketime=later + ".123456+00:00"))
        self.assertIn("expired", self.c.last.stderr.decode())
        # the local timestamp expired; a new one replaces it (faketime 400 days on)
        later = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 400 * 86400))
        self.bad(self.c.refresh(faketime=later))
        for r in (self.repo.root, self.repo.timestamp, self.repo.snapshot, self.repo.targets):
            r["expires"] = "2099-01-01T00:00:00Z"
        self.repo.new_root()
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.refresh(faketime=later))
        self.assertEqual(self.versions(), [2, 2, 2, 2])


class Download(Base):
    def test_download_hashes_cache_and_mismatch(self):
        for i, algs in enumerate((("sha256",), ("sha512",), ("sha512", "sha256"))):
            self.repo.add_target(f"dir/sub/file{i}.txt", b"content %d" % i, algs=algs)
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.download("dir/sub/file0.txt", "dir/sub/file1.txt", "dir/sub/file2.txt"))
        reqs = self.c.requests()
        self.assertEqual(reqs[:4], ["metadata/2.root.json", "metadata/timestamp.json",
                                    "metadata/2.snapshot.json", "metadata/2.targets.json"])
        h0 = hashlib.sha256(b"content 0").hexdigest()
        h1 = hashlib.sha512(b"content 1").hexdigest()
        self.assertEqual(reqs[4:6], [f"targets/dir/sub/{h0}.file0.txt",
                                     f"targets/dir/sub/{h1}.file1.txt"])
        h2 = hashlib.sha512(b"content 2").hexdigest()
        self.assertEqual(reqs[6], f"targets/dir/sub/{h2}.file2.txt")  # the first listed hash
        local = os.path.join(self.c.td, "dir%2Fsub%2Ffile0.txt")
        with open(local, "rb") as f:
            self.assertEqual(f.read(), b"content 0")
        # cached: no artifact request
        self.ok(self.c.download("dir/sub/file0.txt"))
        self.assertEqual(self.c.requests(), ["metadata/2.root.json", "metadata/timestamp.json"])
        # new version with bad bytes served: the good file stays
        self.repo.add_target("dir/sub/file0.txt", b"content 0 v2")
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        h = hashlib.sha256(b"content 0 v2").hexdigest()
        self.repo.files[f"{self.repo.prefix}/targets/dir/sub/{h}.file0.txt"] = b"content 0 v3"
        self.bad(self.c.download("dir/sub/file0.txt"))
        with open(local, "rb") as f:
            self.assertEqual(f.read(), b"content 0")
        self.repo.files[f"{self.repo.prefix}/targets/dir/sub/{h}.file0.txt"] = b"content 0 v2"
        self.ok(self.c.download("dir/sub/file0.txt"))
        with open(local, "rb") as f:
            self.assertEqual(f.read(), b"content 0 v2")
        self.assertEqual(sorted(os.listdir(self.c.td)),
                         ["dir%2Fsub%2Ffile0.txt", "dir%2Fsub%2Ffile1.txt", "dir%2Fsub%2Ffile2.txt"])

    def test_unknown_hash_algorithm(self):
        self.repo.add_target("a.txt", b"aaa", algs=("sha256",))
        self.repo.targets["targets"]["a.txt"]["hashes"]["md4"] = "00" * 16
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.bad(self.c.download("a.txt"))
        self.assertEqual(os.listdir(self.c.td), [])

    def test_not_found_makes_no_artifact_request(self):
        self.bad(self.c.download("nonexistent artifact"))
        self.assertEqual(self.c.requests(), FRESH)

    def test_endless_data(self):
        m = self.repo.prefix + "/metadata/"
        self.srv.modes[m + "timestamp.json"] = "endless"
        t0 = time.time()
        self.bad(self.c.refresh())
        self.assertLess(time.time() - t0, 20)
        self.assertIsNone(self.c.version("timestamp"))
        del self.srv.modes[m + "timestamp.json"]
        # a target longer than its signed length
        self.repo.add_target("big.bin", b"y" * 1000, length=None)
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        h = hashlib.sha256(b"y" * 1000).hexdigest()
        self.repo.files[f"{self.repo.prefix}/targets/{h}.big.bin"] = b"y" * 100000
        self.bad(self.c.download("big.bin"))
        self.assertEqual(os.listdir(self.c.td), [])

    def test_slow_retrieval(self):
        m = self.repo.prefix + "/metadata/"
        self.srv.modes[m + "timestamp.json"] = "trickle"
        t0 = time.time()
        self.bad(self.c.run(["--metadata-url", self.c.murl, "--metadata-dir", self.c.md,
                             "--timeout", "3", "refresh"]))
        self.assertLess(time.time() - t0, 10)
        self.assertIsNone(self.c.version("timestamp"))


class Delegations(Base):
    def graph(self, edges, target_role, target):
        """edges: (parent, child, paths, terminating) in listed order."""
        for p, ch, paths, term in edges:
            self.repo.delegate(p, ch, paths, term)
        if target_role:
            self.repo.add_target(target, b"data", role=target_role)
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.refresh())
        self.c.requests()

    def roles_fetched(self):
        return [r.split(".", 1)[1][:-5] for r in self.c.requests()
                if (r.startswith("metadata/2.") or r.startswith("metadata/1."))
                and not r.endswith(".root.json")]

    def test_preorder_dfs(self):
        self.graph([("targets", "A", ["*"], False), ("targets", "B", ["*"], False),
                    ("A", "C", ["*"], False), ("A", "D", ["*"], False)], None, None)
        self.bad(self.c.download("missing"))
        self.assertEqual(self.roles_fetched(), ["A", "C", "D", "B"])

    def test_terminating(self):
        self.graph([("targets", "A", ["*"], False), ("targets", "B", ["*"], False),
                    ("A", "C", ["*"], True), ("A", "D", ["*"], False),
                    ("C", "E", ["*"], False)], None, None)
        self.bad(self.c.download("missing"))
        self.assertEqual(self.roles_fetched(), ["A", "C", "E"])

    def test_patterns_and_cycle(self):
        self.graph([("targets", "A", ["*.md"], False), ("targets", "B", ["releases/*/*"], False),
                    ("targets", "Q", ["foo-?.tgz"], False), ("B", "D", ["releases/*/*"], False),
                    ("D", "B", ["*/*/*"], False)], "D", "releases/x/x_v1")
        self.ok(self.c.download("releases/x/x_v1"))
        self.assertEqual(self.roles_fetched(), ["B", "D"])
        self.bad(self.c.download("releases/README.md"))
        self.assertEqual(self.roles_fetched(), [])  # nothing matches: nothing fetched
        self.bad(self.c.download("foo-alpha.tgz"))
        self.assertEqual(self.roles_fetched(), [])
        self.bad(self.c.download("foo-1.tgz"))
        self.assertEqual(self.roles_fetched(), ["Q"])

    def test_role_not_in_snapshot(self):
        self.repo.delegate("targets", "A", ["*"])
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.repo.snapshot["meta"].pop("A.json")
        self.repo.publish.__func__  # keep linters quiet
        m = self.repo.prefix + "/metadata/"
        raw = self.repo.sign(self.repo.snapshot, self.repo.signers["snapshot"], "snapshot")
        self.repo.files[m + "2.snapshot.json"] = raw
        self.repo.timestamp["meta"]["snapshot.json"] = {"version": 2}
        self.repo.files[m + "timestamp.json"] = self.repo.sign(
            self.repo.timestamp, self.repo.signers["timestamp"], "timestamp")
        self.bad(self.c.download("x"))
        self.assertNotIn("metadata/1.A.json", self.c.requests())

    def test_diamond_reverified_against_current_delegator(self):
        ka = self.repo.delegate("targets", "parent-a", ["team-a/*"])
        kb = self.repo.delegate("targets", "parent-b", ["team-b/*"])
        rel_a = self.repo.delegate("parent-a", "release", ["team-a/*"])
        self.repo.delegate("parent-b", "release", ["team-b/*"], key=Key())
        self.repo.deleg_signers["release"] = [rel_a]
        self.repo.add_target("team-a/a.bin", b"A", role="release")
        self.repo.add_target("team-b/b.bin", b"B", role="release")
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.bad(self.c.download("team-a/a.bin", "team-b/b.bin"))
        self.assertEqual(os.listdir(self.c.td), ["team-a%2Fa.bin"])
        del ka, kb

    def test_quoting_of_role_names(self):
        for name, enc in (("?", "%3F"), ("#", "%23"), ("/delegatedrole", "%2Fdelegatedrole"),
                          ("../delegatedrole", "..%2Fdelegatedrole")):
            with self.subTest(name=name):
                self.tearDown()
                self.setUp()
                self.graph([("targets", name, ["*"], False)], name, "t.txt")
                self.ok(self.c.download("t.txt"))
                self.assertIn(f"metadata/1.{enc}.json", self.c.requests())
                self.assertEqual(len([f for f in self.md_files() if f.endswith(".json")]), 5)
                self.assertEqual(sorted(os.listdir(self.tmp)),
                                 ["metadata", "root-init.json", "targets"])

    def test_succinct_hash_bins(self):
        key = Key()
        self.repo.targets["delegations"] = {
            "keys": {key.keyid: key.public},
            "succinct_roles": {"keyids": [key.keyid], "threshold": 1, "bit_length": 4,
                               "name_prefix": "bin"}}
        path = "some/file.bin"
        n = int.from_bytes(hashlib.sha256(path.encode()).digest()[:4], "big") >> 28
        name = f"bin-{n:x}"
        self.repo.delegated[name] = {"_type": "targets", "spec_version": "1.0.31", "version": 1,
                                     "expires": "2099-01-01T00:00:00Z", "targets": {}}
        self.repo.deleg_signers[name] = [key]
        self.repo.add_target(path, b"binned", role=name)
        self.repo.publish(bump=["targets", "snapshot", "timestamp"])
        self.ok(self.c.download(path))
        self.assertIn(f"metadata/1.{name}.json", self.c.requests())


class StaticRepository(unittest.TestCase):
    """A repository published by tuf-on-ci 0.11 (tests/tuf/vectors), served
    as is and used under faketime, as the suite's static test does."""

    def test_tuf_on_ci_0_11(self):
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors", "tuf-on-ci-0.11")
        repo = type("StaticRepo", (), {})()
        repo.prefix = "/static"
        repo.files = {}
        for sub in ("metadata", "targets"):
            for dp, _, fs in os.walk(os.path.join(here, sub)):
                for f in fs:
                    rel = os.path.relpath(os.path.join(dp, f), here)
                    with open(os.path.join(dp, f), "rb") as fh:
                        repo.files[f"/static/{rel}"] = fh.read()
        srv = Server(repo)
        tmp = tempfile.mkdtemp(prefix="bw-tuf-")
        try:
            c = Client(BULWARK, tmp, srv)
            with open(os.path.join(here, "initial_root.json"), "rb") as f:
                self.assertEqual(c.init(f.read()), 0)
            with open(os.path.join(here, "faketime")) as f:
                when = f.read().strip()
            with open(os.path.join(here, "targetpath")) as f:
                target = f.read().strip()
            rc = c.download(target, faketime=None if NO_FAKETIME else when)
            self.assertEqual(rc, 0, c.last.stderr.decode())
            self.assertEqual(c.requests(), [
                "metadata/2.root.json", "metadata/timestamp.json", "metadata/2.snapshot.json",
                "metadata/1.targets.json", "metadata/2.delegatedrole.json",
                "targets/delegatedrole/45f337ee451b4c098d121d09cc224bacc7794503ac58a47a78cfe7ebefb7fab3.artifact"])
            with open(os.path.join(c.td, "delegatedrole%2Fartifact"), "rb") as f:
                self.assertEqual(f.read(), b"artifact for tuf-on-ci repository\n")
            self.assertEqual(sorted(os.listdir(c.md)), ["delegatedrole.json", "root.json",
                                                        "snapshot.json", "targets.json",
                                                        "timestamp.json"])
        finally:
            srv.stop()
            shutil.rmtree(tmp)


if __name__ == "__main__":
    BULWARK = sys.argv.pop(1)
    unittest.main(verbosity=2)
