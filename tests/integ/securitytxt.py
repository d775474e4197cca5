#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Checks a security.txt against the field rules of RFC 9116: Contact at
# least once (a mailto:, https: or tel: URI), Expires exactly once in RFC
# 3339 form and in the future (and, as section 2.5.5 advises, less than a
# year ahead), Preferred-Languages at most once with comma-separated
# language tags, Canonical and Policy as https URIs, well-formed field
# lines ("Name: value"), comments starting with #.
# Usage: securitytxt.py FILE; prints the problems, exit 1 if any.
import datetime
import re
import sys

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FIELD = re.compile(r"^([A-Za-z0-9-]+): (\S.*)$")
LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def check(text):
    problems, fields = [], {}
    for n, line in enumerate(text.split("\n"), 1):
        if line == "" or line.startswith("#"):
            continue
        m = FIELD.match(line.rstrip("\r"))
        if not m:
            problems.append(f"line {n}: not a field line: {line!r}")
            continue
        fields.setdefault(m.group(1).lower(), []).append(m.group(2))
    contacts = fields.get("contact", [])
    if not contacts:
        problems.append("Contact is required")
    for c in contacts:
        if not re.match(r"^(mailto:\S+@\S+|https://\S+|tel:\+?[0-9-]+)$", c):
            problems.append(f"Contact is not a mailto:, https: or tel: URI: {c}")
    exp = fields.get("expires", [])
    if len(exp) != 1:
        problems.append(f"Expires must appear exactly once (found {len(exp)})")
    elif not RFC3339.match(exp[0]):
        problems.append(f"Expires is not RFC 3339: {exp[0]}")
    else:
        when = datetime.datetime.fromisoformat(exp[0].replace("Z", "+00:00"))
        now = datetime.datetime.now(datetime.timezone.utc)
        if when <= now:
            problems.append(f"Expires is in the past: {exp[0]}")
        elif when - now > datetime.timedelta(days=366):
            problems.append(f"Expires is more than a year ahead: {exp[0]}")
    langs = fields.get("preferred-languages", [])
    if len(langs) > 1:
        problems.append("Preferred-Languages must appear at most once")
    for l in langs:
        for tag in l.split(","):
            if not LANG.match(tag.strip()):
                problems.append(f"Preferred-Languages: bad tag {tag!r}")
    for name in ("canonical", "policy", "acknowledgments", "hiring", "encryption"):
        for v in fields.get(name, []):
            if not v.startswith("https://") and not (name == "encryption" and
                                                     v.startswith(("dns:", "openpgp4fpr:"))):
                problems.append(f"{name.title()} must be an https URI: {v}")
    return problems


if __name__ == "__main__":
    probs = check(open(sys.argv[1], encoding="utf-8").read())
    for p in probs:
        print(f"{sys.argv[1]}: {p}")
    sys.exit(1 if probs else 0)
