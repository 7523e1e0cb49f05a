"""First-pass removal of quoted replies and signatures from a plain-text body.

Recognized, in order: an English attribution line ("On ... wrote:", possibly
wrapped onto a second line, as Gmail and Apple Mail write it), an Outlook
"-----Original Message-----" separator, a trailing run of ">"-quoted lines,
and the RFC 3676 §4.3 signature separator "-- ". Line checks are plain string
tests, so the work is linear in the length of the body.
"""

from __future__ import annotations

_ORIGINAL_MESSAGE = "-----original message-----"
_MAX_ATTRIBUTION_CHARS = 400


def strip_quotes(text: str) -> str:
    """What the sender just wrote; the whole ``text`` when stripping would leave nothing."""
    lines = text.split("\n")
    lines = lines[: _quote_header_index(lines)]
    lines = _drop_trailing_quote(lines)
    lines = lines[: _signature_index(lines)]
    stripped = "\n".join(lines).strip("\n")
    # A message that is all quote (a bare forward) keeps its text rather than becoming empty.
    return stripped if stripped.strip() else text


def _quote_header_index(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        current = line.strip()
        if current.lower() == _ORIGINAL_MESSAGE:
            return index
        if not current.startswith("On "):
            continue
        if _is_attribution(current):
            return index
        if index + 1 < len(lines) and _is_attribution(current + " " + lines[index + 1].strip()):
            return index
    return len(lines)


def _is_attribution(line: str) -> bool:
    return len(line) <= _MAX_ATTRIBUTION_CHARS and line.endswith("wrote:")


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (lines[start - 1].lstrip().startswith(">") or not lines[start - 1].strip()):
        start -= 1
    if start == end:
        return lines[:end]
    return lines[:start]


def _signature_index(lines: list[str]) -> int:
    # The separator is "-- "; many clients strip the trailing space, so "--" counts too.
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] in ("-- ", "--"):
            return index
    return len(lines)
