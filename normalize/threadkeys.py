"""Thread references found in a message: ticket tags in subjects.

The tag is what we put in every subject we send (``[Ticket #10342]``); replies
come back through many clients that prepend ``Re:``, ``AW:``, ``SV:``,
``Fwd:`` and change case or spacing, so matching is tolerant of those.
"""

from __future__ import annotations

import re

# Bounded: a subject is at most a few hundred characters after normalization,
# and the pattern has no nested quantifiers.
_TAG = re.compile(r"\[\s*ticket\s*#\s*(\d{1,12})\s*\]", re.IGNORECASE)
_MAX_SUBJECT = 2000


def subject_tag(number: int) -> str:
    """The tag we put in the subject of everything we send about a ticket."""
    return f"[Ticket #{number}]"


def ticket_numbers_in_subject(subject: str) -> tuple[int, ...]:
    """Ticket numbers tagged in ``subject``, in order of appearance, without repeats."""
    seen: list[int] = []
    for match in _TAG.finditer(subject[:_MAX_SUBJECT]):
        number = int(match.group(1))
        if number not in seen:
            seen.append(number)
    return tuple(seen)
