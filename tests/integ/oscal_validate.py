#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Validates OSCAL JSON documents against the OSCAL 1.0.6 JSON schemas with
# python3-jsonschema. The schemas' regular expressions use \p{L} and \p{N}
# (Unicode letter / digit classes) that Python's re lacks; they are rewritten
# to equivalent-enough ranges before validation (Latin letters and the rest
# of the BMP above U+00C0 for letters, ASCII digits for numbers).
# --integrity DIR checks a set of OSCAL documents as a whole, which no
# schema does: no UUID defined twice (within or across the documents), every
# *-uuid / *-uuids reference and every "#uuid" href naming a defined object,
# every import (import-profile, profile imports, import-ssp, import-ap, a
# component's source) naming a file of the set of the right model, and every
# control-id and statement target naming a control or part of the catalog.
# Usage: oscal_validate.py SCHEMA.json DOCUMENT.json [SCHEMA DOCUMENT ...]
#        oscal_validate.py --integrity DIR
import json
import os
import sys

import jsonschema

LETTER = "a-zA-Z\\u00c0-\\uffff"
DIGIT = "0-9"


def rewrite(pattern):
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern[i + 1:i + 4] in ("p{L", "p{N") and pattern[i + 4:i + 5] == "}":
            rng = LETTER if pattern[i + 3] == "L" else DIGIT
            out.append(rng if in_class else "[" + rng + "]")
            i += 5
            continue
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def fix(node):
    if isinstance(node, dict):
        return {k: (rewrite(v) if k == "pattern" and isinstance(v, str) else fix(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [fix(v) for v in node]
    return node


MODELS = ("catalog", "profile", "component-definition", "system-security-plan",
          "assessment-plan", "assessment-results", "plan-of-action-and-milestones")
# where an href imports another document, and the model it must be
IMPORTS = {"import-profile": ("profile",), "import-ssp": ("system-security-plan",),
           "import-ap": ("assessment-plan",), "imports": ("catalog", "profile"),
           "source": ("catalog", "profile")}


def walk(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), k, v
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def integrity(folder):
    docs, problems = {}, []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            d = json.load(open(os.path.join(folder, name)))
            model = [m for m in MODELS if isinstance(d, dict) and m in d]
            if model:
                docs[name] = (model[0], d[model[0]])
    defined, controls, parts = {}, set(), set()
    for name, (model, d) in docs.items():
        for path, k, v in walk(d):
            if k == "uuid" and isinstance(v, str):
                if v in defined:
                    problems.append(f"{name}: {'/'.join(map(str, path))}: uuid {v} also defined "
                                    f"at {defined[v]}")
                defined.setdefault(v, f"{name}: {'/'.join(map(str, path))}")
        if model == "catalog":
            for path, k, v in walk(d):
                if k == "controls":
                    controls.update(c["id"] for c in v)
                if k == "parts":
                    parts.update(p["id"] for p in v if "id" in p)
    if not controls:
        problems.append("no catalog in the set")
    for name, (model, d) in docs.items():
        for path, k, v in walk(d):
            where = f"{name}: {'/'.join(map(str, path))}"
            refs = [v] if k.endswith("-uuid") and isinstance(v, str) else \
                v if k.endswith("-uuids") and isinstance(v, list) else []
            if k == "href" and isinstance(v, str) and v.startswith("#"):
                refs = [v[1:]]
            for r in refs:
                if r not in defined:
                    problems.append(f"{where}: dangling reference {r}")
            if k == "control-id" and isinstance(v, str) and v not in controls:
                problems.append(f"{where}: control {v} is not in the catalog")
            if k == "target" and isinstance(v, dict) and v.get("type") == "statement-id" and \
                    v.get("target-id") not in parts:
                problems.append(f"{where}: statement {v.get('target-id')} is not in the catalog")
            kind = path[-2] if k == "href" and len(path) > 1 and not isinstance(path[-2], int) \
                else path[-3] if k == "href" and len(path) > 2 else k if k == "source" else None
            if kind in IMPORTS and isinstance(v, str) and not v.startswith("#"):
                if v not in docs:
                    problems.append(f"{where}: imports {v}, which is not an OSCAL document of "
                                    f"the set")
                elif docs[v][0] not in IMPORTS[kind]:
                    problems.append(f"{where}: imports {v}, a {docs[v][0]}, where "
                                    f"{' or '.join(IMPORTS[kind])} is expected")
    for p in problems[:30]:
        print(p)
    print(f"{folder}: {len(docs)} documents, {len(defined)} uuids: "
          f"{'consistent' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


def main(args):
    if args[:1] == ["--integrity"]:
        return integrity(args[1])
    bad = 0
    for schema_path, doc_path in zip(args[0::2], args[1::2]):
        schema = fix(json.load(open(schema_path)))
        doc = json.load(open(doc_path))
        v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
        errs = list(v.iter_errors(doc))
        for e in errs[:10]:
            print(f"{doc_path}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
        print(f"{doc_path}: {'valid' if not errs else f'{len(errs)} errors'}")
        bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
