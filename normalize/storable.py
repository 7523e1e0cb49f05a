"""Text as the store can keep it.

PostgreSQL's text columns refuse NUL, and no sender means one: a NUL typed into a form,
relayed by a gateway or escaped in JSON would otherwise fail the ingest at its first
``INSERT`` as a bug. The raw input is stored as it came, so removing it loses nothing.
"""

from __future__ import annotations


def storable(text: str) -> str:
    """``text`` without NUL characters."""
    return text.replace("\x00", "") if "\x00" in text else text
