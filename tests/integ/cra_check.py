#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Validates what bulwark writes for the Cyber Resilience Act, offline.

  cra_check.py SCHEMAS sbom FILE...   CycloneDX 1.6 schema + BSI TR-03183-2 fields
  cra_check.py SCHEMAS csaf FILE...   CSAF 2.0 schema + mandatory tests (below)
  cra_check.py SCHEMAS openvex FILE... OpenVEX 0.2.0 rules (below; no schema file is
                                       committed, so the spec's rules are written here)

SCHEMAS is tests/schemas (committed copies of the published schemas; see
its README). Uses Debian's python3-jsonschema only. Exit 0 valid, 1 not
(each problem on stderr), 2 usage.
"""
import json
import os
import re
import sys

import jsonschema
import jsonschema._utils
import jsonschema._validators

# python3-jsonschema 4.10 sorts the extra items of an additionalItems error
# to word its message, which raises TypeError when they are objects (the
# CycloneDX licence choice's one-expression branch): word it unsorted.
def _extras_msg(extras):
    extras = list(extras)
    return ", ".join(repr(e) for e in extras), "was" if len(extras) == 1 else "were"


jsonschema._utils.extras_msg = jsonschema._validators.extras_msg = _extras_msg


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(schema_path, others, cls):
    schema = load(schema_path)
    store = {}
    base = os.path.dirname(schema_path)
    for name in others:
        s = load(os.path.join(base, name))
        store[s.get("$id", name)] = s
        store[name] = s
        # relative references resolve against the main schema's $id
        store[schema["$id"].rsplit("/", 1)[0] + "/" + name] = s
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    return cls(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())


def schema_errors(v, doc):
    return ["schema: %s at /%s" % (e.message[:200], "/".join(map(str, e.absolute_path)))
            for e in v.iter_errors(doc)]


# ---- CycloneDX + BSI TR-03183-2 (v2.1 mapping to CycloneDX 1.6) ----

def bsi_errors(bom):
    errs = []
    md = bom.get("metadata", {})
    man = md.get("manufacturer", {})
    if not (man.get("url") or any(c.get("email") for c in man.get("contact", []))):
        errs.append("5.2.1 creator: metadata.manufacturer has neither url nor contact email")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", md.get("timestamp", "")):
        errs.append("5.2.1 timestamp: metadata.timestamp missing or not RFC 3339 UTC")
    if not str(bom.get("serialNumber", "")).startswith("urn:uuid:"):
        errs.append("5.2.1 SBOM-URI: serialNumber missing")
    if bom.get("specVersion") != "1.6":
        errs.append("4: specVersion is not 1.6")
    if "vulnerabilities" in bom:
        errs.append("3.1: the SBOM carries vulnerability data")
    refs = {c.get("bom-ref") for c in bom.get("components", [])}
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom.get("dependencies", [])}
    composed = set()
    for comp in bom.get("compositions", []):
        if comp.get("aggregate") in ("complete", "incomplete", "unknown"):
            composed.update(comp.get("dependencies", []))
    for c in bom.get("components", []):
        who = "component %s" % c.get("bom-ref")
        m = c.get("manufacturer", {})
        if not (m.get("url") or any(x.get("email") for x in m.get("contact", []))):
            errs.append("%s: 5.2.2 creator (manufacturer url or email) missing" % who)
        for f in ("name", "version"):
            if not c.get(f):
                errs.append("%s: 5.2.2 %s missing" % (who, f))
        props = {}
        for p in c.get("properties", []):
            props.setdefault(p["name"], []).append(p.get("value"))
        for p, allowed in (("bsi:component:executable", ("executable", "non-executable")),
                           ("bsi:component:archive", ("archive", "no archive")),
                           ("bsi:component:structured", ("structured", "unstructured"))):
            if len(props.get(p, [])) != 1 or props[p][0] not in allowed:
                errs.append("%s: 5.2.2 %s must occur once with an allowed value" % (who, p))
        if len(props.get("bsi:component:filename", [])) != 1:
            errs.append("%s: 5.2.2 filename (bsi:component:filename) missing" % who)
        if c.get("bom-ref") not in deps:
            errs.append("%s: 5.2.2 dependencies: no dependencies entry" % who)
        elif any(d not in refs for d in deps[c["bom-ref"]]):
            errs.append("%s: 5.2.2 dependencies name a component not in the SBOM" % who)
        if c.get("bom-ref") not in composed:
            errs.append("%s: 5.2.2 completeness of dependencies not stated (compositions)" % who)
        acks = {l.get("license", l).get("acknowledgement") for l in c.get("licenses", [])}
        if c.get("licenses") and not {"declared", "concluded"} <= acks:
            errs.append("%s: 5.2.2 licences lack declared and concluded" % who)
        dist = [r for r in c.get("externalReferences", []) if r.get("type") == "distribution"]
        for r in dist:
            for h in r.get("hashes", []):
                if h.get("alg") != "SHA-512" or not re.match(r"^[0-9a-f]{128}$", h["content"]):
                    errs.append("%s: 5.2.2 hash of the deployable form is not SHA-512" % who)
        if not (c.get("purl") or c.get("cpe") or c.get("swid")):
            errs.append("%s: 5.2.2 no other unique identifier (purl, CPE, SWID)" % who)
    return errs


def main(argv):
    if len(argv) < 4 or argv[2] not in ("sbom", "csaf", "openvex"):
        print(__doc__, file=sys.stderr)
        return 2
    schemas, kind, files = argv[1], argv[2], argv[3:]
    if kind == "sbom":
        v = validator(os.path.join(schemas, "cyclonedx", "bom-1.6.SNAPSHOT.schema.json"),
                      ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"],
                      jsonschema.Draft7Validator)
        extra = bsi_errors
    elif kind == "openvex":
        v = None
        extra = openvex_errors
    else:
        v = validator(os.path.join(schemas, "csaf", "csaf_json_schema.json"),
                      ["cvss-v2.0.json", "cvss-v3.0.json", "cvss-v3.1.json"],
                      jsonschema.Draft202012Validator)
        extra = csaf_mandatory
    bad = 0
    for f in files:
        try:
            doc = load(f)
        except (OSError, ValueError) as e:
            print("%s: %s" % (f, e), file=sys.stderr)
            bad += 1
            continue
        errs = (schema_errors(v, doc) if v else []) + extra(doc)
        for e in errs:
            print("%s: %s" % (f, e), file=sys.stderr)
        bad += bool(errs)
    return 1 if bad else 0


# ---- OpenVEX 0.2.0 (the specification's document and statement rules) ----

OV_STATUS = {"not_affected", "affected", "fixed", "under_investigation"}
OV_JUST = {"component_not_present", "vulnerable_code_not_present",
           "vulnerable_code_not_in_execute_path",
           "vulnerable_code_cannot_be_controlled_by_adversary",
           "inline_mitigations_already_exist"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def openvex_errors(doc):
    errs = []
    allowed = {"@context", "@id", "author", "role", "timestamp", "last_updated", "version",
               "tooling", "statements"}
    for k in ("@context", "@id", "author", "timestamp", "version", "statements"):
        if k not in doc:
            errs.append("document: %s required" % k)
    errs += ["document: unknown member %s" % k for k in doc if k not in allowed]
    if not str(doc.get("@context", "")).startswith("https://openvex.dev/ns/v0.2.0"):
        errs.append("document: @context is not OpenVEX 0.2.0")
    if not IRI.match(str(doc.get("@id", ""))):
        errs.append("document: @id is not an IRI")
    if not isinstance(doc.get("version"), int) or doc.get("version", 0) < 1:
        errs.append("document: version must be an integer >= 1")
    if not RFC3339.match(str(doc.get("timestamp", ""))):
        errs.append("document: timestamp not RFC 3339")
    st = doc.get("statements", [])
    if not isinstance(st, list) or not st:
        errs.append("document: statements must be a non-empty array")
        st = []
    sallowed = {"@id", "version", "vulnerability", "timestamp", "last_updated", "products",
                "status", "supplier", "status_notes", "justification", "impact_statement",
                "action_statement", "action_statement_timestamp"}
    for i, s in enumerate(st):
        w = "statement %d" % i
        errs += ["%s: unknown member %s" % (w, k) for k in s if k not in sallowed]
        v = s.get("vulnerability", {})
        if not isinstance(v, dict) or not v.get("name"):
            errs.append("%s: vulnerability.name required" % w)
        elif set(v) - {"@id", "name", "description", "aliases"}:
            errs.append("%s: unknown member in vulnerability" % w)
        if s.get("status") not in OV_STATUS:
            errs.append("%s: status %r not allowed" % (w, s.get("status")))
        if "timestamp" in s and not RFC3339.match(str(s["timestamp"])):
            errs.append("%s: timestamp not RFC 3339" % w)
        if s.get("status") == "not_affected" and \
           ("justification" in s) == ("impact_statement" in s):
            errs.append("%s: not_affected needs a justification or an impact statement" % w)
        if "justification" in s and s["justification"] not in OV_JUST:
            errs.append("%s: justification %r not allowed" % (w, s["justification"]))
        if s.get("status") == "affected" and not s.get("action_statement"):
            errs.append("%s: affected needs an action_statement" % w)
        for p in s.get("products", []):
            if set(p) - {"@id", "identifiers", "hashes", "subcomponents"}:
                errs.append("%s: unknown member in a product" % w)
            if "@id" in p and not IRI.match(p["@id"]):
                errs.append("%s: product @id is not an IRI" % w)
            for sc in p.get("subcomponents", []):
                if "@id" in sc and not IRI.match(sc["@id"]):
                    errs.append("%s: subcomponent @id is not an IRI" % w)
    return errs


# ---- CSAF 2.0 mandatory tests (section 6.1) --------------------------------
# The ones that apply to what bulwark writes; each cites its number.

def csaf_products(doc):
    ids = []

    def walk(b):
        for x in b.get("branches", []):
            walk(x)
        if "product" in b:
            ids.append(b["product"]["product_id"])
    for b in doc.get("product_tree", {}).get("branches", []):
        walk(b)
    for p in doc.get("product_tree", {}).get("full_product_names", []):
        ids.append(p["product_id"])
    for r in doc.get("product_tree", {}).get("relationships", []):
        ids.append(r["full_product_name"]["product_id"])
    return ids


RANGE_WORDS = {"after", "all", "before", "earlier", "later", "prior", "versions"}
PURL = re.compile(r"^pkg:[A-Za-z.+-][A-Za-z0-9.+-]*/[A-Za-z0-9.+\-_~%/:@?=&#]+$")


def csaf_branches(doc):
    out = []

    def walk(b, path):
        out.append((b, path))
        for i, x in enumerate(b.get("branches", [])):
            walk(x, "%s/branches/%d" % (path, i))
    for i, b in enumerate(doc.get("product_tree", {}).get("branches", [])):
        walk(b, "/product_tree/branches/%d" % i)
    return out


def csaf_mandatory(doc):
    errs = []
    for b, path in csaf_branches(doc):
        name = b.get("name", "")
        if b.get("category") == "product_version" and (
                "<" in name or ">" in name or RANGE_WORDS & set(name.lower().split())):
            errs.append("6.1.31 version range in product version at %s" % path)   # 6.1.31
        purl = b.get("product", {}).get("product_identification_helper", {}).get("purl")
        if purl is not None and not PURL.match(purl):                            # 6.1.13
            errs.append("6.1.13 invalid purl %r at %s" % (purl, path))
    ids = csaf_products(doc)
    defined = set(ids)
    if len(ids) != len(defined):                                            # 6.1.2
        errs.append("6.1.2 multiple definition of a product id")
    used = []
    for v in doc.get("vulnerabilities", []):
        for k, lst in v.get("product_status", {}).items():
            used += [(k, p) for p in lst]
        for r in v.get("remediations", []):
            used += [("remediation", p) for p in r.get("product_ids", [])]
        for f in v.get("flags", []):
            used += [("flag", p) for p in f.get("product_ids", [])]
        for t in v.get("threats", []):
            used += [("threat", p) for p in t.get("product_ids", [])]
    for _, p in used:
        if p not in defined:                                                # 6.1.1
            errs.append("6.1.1 product id %s used but not defined" % p)
    for v in doc.get("vulnerabilities", []):
        st = v.get("product_status", {})
        groups = {"affected": {"first_affected", "known_affected", "last_affected"},
                  "not_affected": {"known_not_affected"},
                  "fixed": {"first_fixed", "fixed"},
                  "under_investigation": {"under_investigation"}}
        seen = {}
        for g, keys in groups.items():
            for k in keys:
                for p in st.get(k, []):
                    if p in seen and seen[p] != g:                          # 6.1.6
                        errs.append("6.1.6 contradicting product status for %s" % p)
                    seen[p] = g
        for k in ("known_affected", "first_affected", "last_affected"):     # 6.1.27.9 kin
            for p in st.get(k, []):
                if not any(p in r.get("product_ids", []) for r in v.get("remediations", [])):
                    errs.append("6.1.27.9 affected product %s without remediation" % p)
        if doc["document"]["category"] == "csaf_vex":                       # 6.1.27.6-7
            for p in st.get("known_not_affected", []):
                if not any(p in f.get("product_ids", []) for f in v.get("flags", [])) and \
                   not any(t.get("category") == "impact" and p in t.get("product_ids", [])
                           for t in v.get("threats", [])):
                    errs.append("6.1.27.9 not-affected product %s without justification" % p)
        ids_cve = v.get("cve")
        if ids_cve and not re.match(r"^CVE-[0-9]{4}-[0-9]{4,}$", ids_cve):  # schema pattern
            errs.append("cve id malformed")
    tr = doc["document"].get("tracking", {})
    hist = tr.get("revision_history", [])
    nums = [h["number"] for h in hist]
    if len(nums) != len(set(nums)):                                         # 6.1.22
        errs.append("6.1.22 multiple definition in revision history")
    if hist and sorted(hist, key=lambda h: h["date"])[-1]["number"] != tr.get("version") \
       and tr.get("status") != "draft":                                     # 6.1.16
        errs.append("6.1.16 latest revision number is not the document version")
    if tr.get("status") in ("final", "interim") and re.match(r"^0\.|.*-", tr.get("version", "")):
        errs.append("6.1.17 released document with a pre-release version")  # 6.1.17/18
    if tr.get("version") == "0" and tr.get("status") != "draft":
        errs.append("6.1.18 version 0 is only for drafts")
    cat = doc["document"].get("category")
    if cat == "csaf_security_advisory" and not doc.get("vulnerabilities"):  # 6.1.27.2
        errs.append("6.1.27.2 a security advisory without vulnerabilities")
    if cat in ("csaf_security_advisory", "csaf_vex") and not any(
            n.get("category") in ("description", "details", "general", "summary")
            for n in doc["document"].get("notes", [])):                     # 6.1.27.1
        errs.append("6.1.27.1 document notes lack a description/details/general/summary")
    if cat in ("csaf_security_advisory", "csaf_vex") and not doc["document"].get("references"):
        errs.append("6.1.27.3 (strict profile) no document references")
    if cat == "csaf_vex":
        for v in doc.get("vulnerabilities", []):
            if not (v.get("cve") or v.get("ids")):                          # 6.1.27.5
                errs.append("6.1.27.5 VEX vulnerability without cve or ids")
            if not v.get("product_status"):                                 # 6.1.27.4
                errs.append("6.1.27.4 VEX vulnerability without product_status")
    if cat == "csaf_security_advisory":
        for v in doc.get("vulnerabilities", []):
            if not v.get("product_status"):                                 # 6.1.27.8 kin
                errs.append("6.1.27 advisory vulnerability without product_status")
    return errs


if __name__ == "__main__":
    sys.exit(main(sys.argv))
