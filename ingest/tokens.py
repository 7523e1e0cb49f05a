"""API tokens: create, list, revoke, and check a presented bearer token.

A token reads ``omr_<key id>_<secret>``. The key id is public: it finds the row and
names the token in lists and logs. The secret is 256 random bits, shown once when
the token is created and never stored: the row keeps HMAC-SHA256 of it under a
random per-token salt, and a presented secret is compared with
:func:`hmac.compare_digest`. A random secret of that size cannot be guessed, so a
fast keyed hash is enough (a slow password hash would only slow every request).

Scopes: ``tickets:read`` (the ticket API), ``tickets:reply`` (agents' replies),
``metrics`` (``/metrics`` when it asks for a token) and ``admin``, which implies
every scope. Tokens are revoked, never deleted, so their names stay attributable.

Errors::

    TokenError (ValueError)   a bad name, scope or author list; a duplicate name
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.models import ApiToken, utcnow
from ingest.reply_author import author_problem

READ = "tickets:read"
REPLY = "tickets:reply"
METRICS = "metrics"
ADMIN = "admin"
SCOPES = (READ, REPLY, METRICS, ADMIN)
PREFIX = "omr_"
MAX_NAME_CHARS = 80
# ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)

_TOKEN = re.compile(rf"{PREFIX}([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")
_DUMMY_SALT = secrets.token_hex(16)


class TokenError(ValueError):
    """A token cannot be created as asked."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who presented a valid token: its name, scopes and the authors it may sign as."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    authors: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created; ``token`` is the only time its secret is seen."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    authors: tuple[str, ...]
    token: str


def create_token(
    session: Session, name: str, scopes: Iterable[str], authors: Iterable[str] = ()
) -> NewToken:
    """Store a new token; its full value is returned once and kept nowhere."""
    name = _checked_name(name)
    wanted = tuple(dict.fromkeys(scopes))
    if not wanted:
        raise TokenError("a token needs at least one scope")
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise TokenError(f"unknown scope {unknown[0]!r} (known: {', '.join(SCOPES)})")
    names = tuple(dict.fromkeys(a.strip() for a in authors))
    for author in names:
        problem = author_problem(author)
        if problem is not None:
            raise TokenError(f"author {author!r}: {problem}")
    if session.execute(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise TokenError(f"a token named {name!r} exists already (names are never reused)")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    session.add(
        ApiToken(
            key_id=key_id,
            name=name,
            salt=salt,
            secret_hash=_digest(salt, secret),
            scopes=list(wanted),
            authors=list(names),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        # Another process created the same name between the check and this insert.
        raise TokenError(f"a token named {name!r} exists already") from None
    return NewToken(key_id, name, wanted, names, f"{PREFIX}{key_id}_{secret}")


def authenticate(session: Session, presented: str) -> tuple[Caller | None, str]:
    """The caller a presented token stands for, or None with the reason it is refused.

    The reason says ``revoked`` only to someone who holds the right secret.
    """
    match = _TOKEN.fullmatch(presented)
    row = None
    if match is not None:
        row = session.execute(
            select(ApiToken).where(ApiToken.key_id == match.group(1))
        ).scalar_one_or_none()
    salt, expected = (row.salt, row.secret_hash) if row is not None else (_DUMMY_SALT, "")
    # Hash even when nothing matched, so a wrong key id costs what a wrong secret does.
    actual = _digest(salt, match.group(2) if match is not None else presented)
    if row is None or not hmac.compare_digest(actual, expected):
        return None, "invalid token"
    if row.revoked_at is not None:
        return None, "token revoked"
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == row.id)
            .where(
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at <= now - LAST_USED_RESOLUTION,
                )
            )
            .values(last_used_at=now)
        )
    return Caller(row.key_id, row.name, tuple(row.scopes), tuple(row.authors)), ""


def find_token(session: Session, name_or_id: str) -> ApiToken | None:
    """The token with this name, else the one with this key id."""
    for column in (ApiToken.name, ApiToken.key_id):
        row = session.execute(select(ApiToken).where(column == name_or_id)).scalar_one_or_none()
        if row is not None:
            return row
    return None


def revoke_token(session: Session, name_or_id: str) -> ApiToken | None:
    """Revoke a token by name or key id (at once, for every process); None if unknown.

    Revoking twice keeps the first time.
    """
    row = find_token(session, name_or_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_tokens(session: Session) -> list[dict[str, Any]]:
    """Every token, oldest first, as JSON-safe dicts without any secret or hash."""
    rows = session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()
    return [token_view(row) for row in rows]


def token_view(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.key_id,
        "name": row.name,
        "scopes": list(row.scopes),
        "authors": list(row.authors),
        "created_at": row.created_at.isoformat(),
        "last_used_at": _iso(row.last_used_at),
        "revoked_at": _iso(row.revoked_at),
    }


def redact(presented: str) -> str:
    """A presented token as logs may show it: the key id, never the secret."""
    match = _TOKEN.fullmatch(presented)
    return f"{PREFIX}{match.group(1)}_…" if match is not None else "(not a token)"


def _checked_name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise TokenError(f"name: must be at most {MAX_NAME_CHARS} characters")
    # The name is also the default author of the token's replies.
    problem = author_problem(name)
    if problem is not None:
        raise TokenError(f"name: {problem}")
    return name


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
