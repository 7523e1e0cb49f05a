"""Access to the raw messages under tests/fixtures/email/."""

from __future__ import annotations

from pathlib import Path

from normalize.email import parse_email
from normalize.types import InboundMessage, ParsedInput

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, **kwargs: object) -> ParsedInput:
    return parse_email(raw(name), **kwargs)  # type: ignore[arg-type]


def message(name: str, **kwargs: object) -> InboundMessage:
    return parse(name, **kwargs).message


def all_fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.eml"))
