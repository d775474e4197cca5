#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Checks a security.txt against the field rules of RFC 9116: Contact at
# least once (a mailto:, https: or tel: URI), Expires exactly once in RFC
# 3339 form and in the future (and, as section 2.5.5 advises, less than a
# year ahead), Preferred-Languages at most once with comma-separated
# language tags, Canonical and Policy as https URIs, well-formed field
# lines ("Name: value"), comments starting with #.
# --signed: the file must be an OpenPGP cleartext-signed message (RFC 9116
# 2.3, RFC 4880 7): the armor header, Hash lines, a blank line, the
# dash-escaped text, one signature block and nothing after it; the text is
# then checked, and must carry Canonical (3.3: a signed file says where it
# belongs). The signature itself is checked by gpg --verify, not here.
# --strict: also Encryption and Policy present (what bulwark's documents
# promise), no line past 2,000 bytes, no byte outside UTF-8.
# Usage: securitytxt.py [--strict] [--signed] FILE; prints the problems,
# exit 1 if any.
import datetime
import re
import sys

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FIELD = re.compile(r"^([A-Za-z0-9-]+): (\S.*)$")
LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def unwrap(text, problems):
    """The signed text of a cleartext-signed message, dash-unescaped."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "-----BEGIN PGP SIGNED MESSAGE-----":
        problems.append("not an OpenPGP cleartext-signed message")
        return text
    i = 1
    while i < len(lines) and lines[i].startswith("Hash: "):
        i += 1
    if i == 1 or i >= len(lines) or lines[i].strip() != "":
        problems.append("the armor header lacks its Hash line or the blank line after it")
        return text
    body, i = [], i + 1
    while i < len(lines) and lines[i].rstrip("\r") != "-----BEGIN PGP SIGNATURE-----":
        l = lines[i]
        if l.startswith("- "):
            l = l[2:]
        elif l.startswith("-"):
            problems.append(f"line {i + 1}: a line starting with '-' is not dash-escaped")
        body.append(l)
        i += 1
    end = [j for j in range(i, len(lines)) if lines[j].rstrip("\r") == "-----END PGP SIGNATURE-----"]
    if i >= len(lines) or not end:
        problems.append("no complete signature block")
    elif any(l.strip() for l in lines[end[0] + 1:]):
        problems.append("text after the signature block is not signed")
    return "\n".join(body)


def check(text, strict=False, signed=False):
    problems, fields = [], {}
    if signed:
        text = unwrap(text, problems)
    elif "-----BEGIN PGP" in text:
        problems.append("a signature block in a file checked as unsigned")
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
    if signed and not fields.get("canonical"):
        problems.append("a signed security.txt must say where it belongs (Canonical)")
    if strict:
        for name in ("encryption", "policy"):
            if not fields.get(name):
                problems.append(f"{name.title()} is missing")
        for n, line in enumerate(text.split("\n"), 1):
            if len(line.encode()) > 2000:
                problems.append(f"line {n}: longer than 2000 bytes")
    return problems


if __name__ == "__main__":
    args = sys.argv[1:]
    strict, signed = "--strict" in args, "--signed" in args
    path = [a for a in args if not a.startswith("--")][0]
    try:
        text = open(path, encoding="utf-8").read()
        probs = check(text, strict, signed)
    except UnicodeDecodeError:
        probs = ["not UTF-8"]
    for p in probs:
        print(f"{path}: {p}")
    sys.exit(1 if probs else 0)
