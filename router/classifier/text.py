"""What the model reads: a ticket's subject and first message, bounded and masked.

Training and prediction go through the same ``prepare`` so the model sees text the
same way in both. Numbers, addresses and links are masked: an order number or a
customer's address says nothing about the category, and would only be memorized.
"""

from __future__ import annotations

import re

# The model reads at most this much of a ticket; categories show early, and it bounds
# the cost of a hostile 25 MB body.
MAX_TEXT_CHARS = 8 * 1024

_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")


def ticket_text(subject: str, body: str) -> str:
    """The text of a ticket as the model sees it: subject, a line break, then the body."""
    return f"{subject}\n{body}" if subject else body


def prepare(text: str) -> str:
    """Bound, mask links, addresses and digits, and collapse whitespace."""
    text = text[:MAX_TEXT_CHARS]
    text = _URL.sub(" link ", text)
    text = _EMAIL.sub(" address ", text)
    text = _DIGIT.sub("0", text)
    return _SPACE.sub(" ", text).strip()
