"""API tokens for tests: made in the store the way ``omniroute tokens create`` makes them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from ingest.tokens import READ, REPLY, create_token, revoke_token


def issue(
    sessions: sessionmaker[Session],
    name: str = "alice",
    scopes: Iterable[str] = (READ, REPLY),
    authors: Iterable[str] = (),
) -> str:
    """A new token's full value."""
    with sessions.begin() as session:
        return create_token(session, name, scopes, authors).token


def revoke(sessions: sessionmaker[Session], name: str) -> None:
    with sessions.begin() as session:
        revoke_token(session, name)


def bearer(token: str) -> dict[str, str]:
    """The request header that carries ``token``."""
    return {"Authorization": f"Bearer {token}"}
