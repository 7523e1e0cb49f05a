"""Decode a base64 body (RFC 2045 §6.8) as far as it goes, saying what was wrong with it.

Python's decoder stops at the first padding character, so a body made of
several encoded pieces ("...=\\n" then more lines, as some gateways glue parts)
loses everything after the first; a body cut short by one character comes back
still encoded. Here every run of base64 between padding is decoded, characters
outside the alphabet are skipped (RFC 2045 §6.8 asks decoders to ignore them),
and an incomplete last group is decoded as far as its whole bytes go. Each
repair is reported, so a damaged message carries a warning instead of silently
missing its end.
"""

from __future__ import annotations

import binascii
import re

_OUTSIDE = re.compile(rb"[^A-Za-z0-9+/=\s]")
_NOT_CODE = re.compile(rb"[^A-Za-z0-9+/=]")
# A run of alphabet characters and the padding that ends it, if any.
_RUN = re.compile(rb"([A-Za-z0-9+/]+)(=*)")


def decode_base64(data: bytes) -> tuple[bytes, list[str]]:
    """The decoded bytes and the problems found (empty for well-formed input)."""
    problems: list[str] = []
    if _OUTSIDE.search(data):
        problems.append("characters outside its alphabet skipped")
    runs = [(m.group(1), bool(m.group(2))) for m in _RUN.finditer(_NOT_CODE.sub(b"", data))]
    if len(runs) > 1:
        problems.append("padding inside the data, decoded on past it")
    out: list[bytes] = []
    for run, padded in runs:
        whole = len(run) - len(run) % 4
        rest = run[whole:]
        if whole:
            out.append(binascii.a2b_base64(run[:whole]))
        if len(rest) == 1:
            problems.append("cut short, a last character that makes no byte dropped")
        elif rest:
            out.append(binascii.a2b_base64(rest + b"=" * (4 - len(rest))))
            if not padded:
                problems.append("cut short, the last group unpadded")
    return b"".join(out), list(dict.fromkeys(problems))
