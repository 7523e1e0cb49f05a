"""The rules/destinations YAML as typed, frozen models (validated by pydantic).

The loader (``config.rules``) turns a file into a ``RuleSet``; cross-key checks live
in ``config.rules_checks``. Regexes and keywords are compiled here, once, so the
router only evaluates. The format is documented by example in
``config/default_rules.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
)

from config.destinations import Destination

FORMAT_VERSION: Literal[1] = 1
DEFAULT_CATEGORIES = (
    "technical",
    "billing",
    "account",
    "general",
    "feature_request",
    "complaint",
    "system",
)
PRIORITIES = ("low", "medium", "high", "critical")  # ordered: later is more urgent
# Bounds on what a rules file may ask the engine to do; the engine also bounds the
# text it matches (router.rules.base.MAX_TEXT_CHARS), so a pattern runs over at
# most 64 KiB and is compiled exactly once, here.
MAX_PATTERN_CHARS = 500
MAX_KEYWORD_CHARS = 200
MAX_RULES = 1000

Loc = tuple[str | int, ...]
Problems = Iterator[tuple[Loc, str]]


def _one_or_many(value: object) -> object:
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
WordList = Annotated[tuple[Word, ...], BeforeValidator(_one_or_many), AfterValidator(_lowered)]
Words = Annotated[WordList, Field(min_length=1)]
Keywords = Annotated[tuple[Keyword, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
Regexes = Annotated[tuple[Regex, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
TextField = Literal["subject", "body"]


def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any keyword as a whole word or phrase."""
    phrases = (r"\s+".join(re.escape(word) for word in kw.split()) for kw in keywords)
    return re.compile(r"(?<!\w)(?:" + "|".join(phrases) + r")(?!\w)", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class When(_Strict):
    """Conditions of one rule: every key given must hold; a list holds when any item does."""

    channel: Words | None = None
    recipient: Words | None = None
    sender: Words | None = None
    sender_domain: Words | None = None
    has_attachments: bool | None = None
    is_automated: bool | None = None
    category: Words | None = None
    priority: Words | None = None
    keywords: Keywords | None = None
    regexes: Regexes | None = None
    fields: Annotated[tuple[TextField, ...], BeforeValidator(_one_or_many), Field(min_length=1)] = (
        "subject",
        "body",
    )
    _keywords: re.Pattern[str] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        if self.keywords:
            self._keywords = keyword_pattern(self.keywords)

    @property
    def keyword_regex(self) -> re.Pattern[str] | None:
        """The compiled alternation of ``keywords``, or None when no keywords are set."""
        return self._keywords

    @property
    def is_empty(self) -> bool:
        """True when the rule has no conditions, so it always matches."""
        return all(getattr(self, key) is None for key in type(self).model_fields if key != "fields")


class CategoryRule(_Strict):
    """Set ``category`` when ``when`` holds."""

    name: Name
    description: str = ""
    when: When = When()
    category: str


class PriorityRule(_Strict):
    """Propose ``priority`` when ``when`` holds."""

    name: Name
    description: str = ""
    when: When = When()
    priority: str


class Vip(_Strict):
    """Senders and domains whose tickets get at least ``priority``."""

    priority: str = "high"
    senders: WordList = ()
    domains: WordList = ()


class Route(_Strict):
    """Send matching tickets to ``team`` and hand them to ``destinations``."""

    name: Name
    description: str = ""
    when: When = When()
    team: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    destinations: Annotated[tuple[str, ...], BeforeValidator(_one_or_many)] = ()


class CategorizeStage(_Strict):
    """Ordered category rules; ``first``: the first matching rule decides."""

    match: Literal["first"] = "first"
    default: str = "general"
    rules: Annotated[tuple[CategoryRule, ...], Field(max_length=MAX_RULES)] = ()


class PrioritizeStage(_Strict):
    """Priority rules; ``highest``: every rule is evaluated and the most urgent hit wins."""

    match: Literal["highest"] = "highest"
    default: str = "medium"
    vip: Vip = Vip()
    rules: Annotated[tuple[PriorityRule, ...], Field(max_length=MAX_RULES)] = ()


class RulesDocument(_Strict):
    """The YAML file as written."""

    format: Literal[1] = FORMAT_VERSION
    categories: Annotated[tuple[str, ...], Field(min_length=1)] = DEFAULT_CATEGORIES
    destinations: dict[Name, Destination] = {}
    categorize: CategorizeStage = CategorizeStage()
    prioritize: PrioritizeStage = PrioritizeStage()
    routes: Annotated[tuple[Route, ...], Field(min_length=1, max_length=MAX_RULES)]


class RuleSet(RulesDocument):
    """A validated rules file; ``version`` is a short sha256 of its text."""

    version: str
    source: str = "<rules>"
