#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Validates OSCAL JSON documents against the OSCAL 1.0.6 JSON schemas with
# python3-jsonschema. The schemas' regular expressions use \p{L} and \p{N}
# (Unicode letter / digit classes) that Python's re lacks; they are rewritten
# to equivalent-enough ranges before validation (Latin letters and the rest
# of the BMP above U+00C0 for letters, ASCII digits for numbers).
# Usage: oscal_validate.py SCHEMA.json DOCUMENT.json [SCHEMA DOCUMENT ...]
import json
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


def main(args):
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
