"""Who signs an agent's reply: a display name that is safe in a ``From`` header.

The author of a reply becomes the display name of the mail the customer gets
(``"alice (Support)" <support@...>``), so it is checked before it is stored, never
repaired: line breaks and other control or format characters (header injection,
right-to-left overrides), angle brackets, double quotes, backslashes and ``@``
(something that reads as an address) are refused, and so is anything longer than
:data:`MAX_AUTHOR_CHARS`. Surrounding spaces are dropped. An API token may sign only
with the names it lists, or with its own name when it lists none.

Errors::

    AuthorError (ValueError)
    ├── UnsafeAuthor        the name itself is unusable (HTTP 422)
    └── AuthorNotAllowed    the token may not sign with it (HTTP 403)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

MAX_AUTHOR_CHARS = 120
_REFUSED = {"<": "angle brackets", ">": "angle brackets", '"': "quotes", "\\": "backslashes"}
_CONTROL = {"Cc", "Cf", "Zl", "Zp"}


class AuthorError(ValueError):
    """The reply cannot be signed with this name; ``problem`` says why."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"author: {problem}")
        self.problem = problem


class UnsafeAuthor(AuthorError):
    """The name is missing or cannot go into a mail header."""


class AuthorNotAllowed(AuthorError):
    """The token is not allowed to sign with this name."""


def author_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a display name, or None when it is fine."""
    name = name.strip()
    if not name:
        return "must not be empty"
    if len(name) > MAX_AUTHOR_CHARS:
        return f"must be at most {MAX_AUTHOR_CHARS} characters"
    for ch in name:
        if unicodedata.category(ch) in _CONTROL:
            return "must not contain control characters or line breaks"
        if ch in _REFUSED:
            return f"must not contain {_REFUSED[ch]}"
        if ch == "@":
            return "must be a name, not an address"
    return None


def checked_author(name: str | None) -> str:
    """``name`` without surrounding spaces; ``UnsafeAuthor`` when it is unusable."""
    if name is None:
        raise UnsafeAuthor("a reply needs an author")
    problem = author_problem(name)
    if problem is not None:
        raise UnsafeAuthor(problem)
    return name.strip()


def token_author(requested: str | None, token_name: str, allowed: Sequence[str]) -> str:
    """The name a token signs a reply with: the one requested, if the token may use it.

    A token that lists names may sign with any of them and must say which; one that
    lists none signs with its own name, which is also the default.
    """
    permitted = list(allowed) or [token_name]
    if requested is None:
        if allowed:
            raise UnsafeAuthor(f"required for this token, one of {_names(permitted)}")
        return checked_author(token_name)
    author = checked_author(requested)
    if author not in permitted:
        raise AuthorNotAllowed(
            f"this token may not sign as {author!r} (it may: {_names(permitted)})"
        )
    return author


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)
