"""Building blocks shared by every part of the rules YAML: strict models and field types.

A single string may stand for a one-item list (``channel: email``); names are
kebab-case; regexes and keywords are bounded and compiled once, at load time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

# Bounds on what a rules file may ask the engine to do; the engine also bounds the
# text it matches (router.rules.base.MAX_TEXT_CHARS), so a pattern runs over at
# most 64 KiB and is compiled exactly once, here.
MAX_PATTERN_CHARS = 500
MAX_KEYWORD_CHARS = 200
MAX_RULES = 1000

Loc = tuple[str | int, ...]
Problems = Iterator[tuple[Loc, str]]


def one_or_many(value: object) -> object:
    """Let a single string stand for a one-item list: ``channel: email``."""
    return (value,) if isinstance(value, str) else value


def _lowered(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower().lstrip("@") for v in values)


def _compile_regex(value: object) -> object:
    if not isinstance(value, str):
        return value  # pydantic reports the wrong type
    if len(value) > MAX_PATTERN_CHARS:
        raise ValueError(f"regex longer than {MAX_PATTERN_CHARS} characters")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regex {value!r}: {exc}") from None


def _check_keyword(value: str) -> str:
    if not re.search(r"\w", value):
        raise ValueError(f"keyword {value!r} has no letters or digits")
    return value


Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEYWORD_CHARS)]
Keyword = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_KEYWORD_CHARS),
    AfterValidator(_check_keyword),
]
Regex = Annotated[re.Pattern[str], BeforeValidator(_compile_regex)]
WordList = Annotated[tuple[Word, ...], BeforeValidator(one_or_many), AfterValidator(_lowered)]
Words = Annotated[WordList, Field(min_length=1)]
Keywords = Annotated[tuple[Keyword, ...], BeforeValidator(one_or_many), Field(min_length=1)]
Regexes = Annotated[tuple[Regex, ...], BeforeValidator(one_or_many), Field(min_length=1)]
TextField = Literal["subject", "body"]


WORD = re.compile(r"\w+")


def keyword_heads(keywords: tuple[str, ...]) -> frozenset[str] | None:
    r"""The lowercased first ``\w+`` run of each keyword; None if any is not ASCII, since
    case-insensitive matching of other scripts is not plain lowercasing."""
    heads = set()
    for keyword in keywords:
        found = WORD.search(keyword)
        if found is None or not found.group().isascii():
            return None
        heads.add(found.group().lower())
    return frozenset(heads)


def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any keyword as a whole word or phrase."""
    phrases = (r"\s+".join(re.escape(word) for word in kw.split()) for kw in keywords)
    return re.compile(r"(?<!\w)(?:" + "|".join(phrases) + r")(?!\w)", re.IGNORECASE)


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
