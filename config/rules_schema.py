"""The rules/destinations YAML as typed, frozen models (validated by pydantic).

The loader (``config.rules``) turns a file into a ``RuleSet``; cross-key checks live
in ``config.rules_checks``. Regexes and keywords are compiled here, once, so the
router only evaluates. The format is documented by example in
``config/default_rules.yaml``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    StringConstraints,
)

from config.destinations import Destination
from config.rule_fields import (
    MAX_RULES,
    Keywords,
    Name,
    Regexes,
    Strict,
    TextField,
    WordList,
    Words,
    keyword_pattern,
    one_or_many,
)

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


class When(Strict):
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
    fields: Annotated[tuple[TextField, ...], BeforeValidator(one_or_many), Field(min_length=1)] = (
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


class CategoryRule(Strict):
    """Set ``category`` when ``when`` holds."""

    name: Name
    description: str = ""
    when: When = When()
    category: str


class PriorityRule(Strict):
    """Propose ``priority`` when ``when`` holds."""

    name: Name
    description: str = ""
    when: When = When()
    priority: str


class Vip(Strict):
    """Senders and domains whose tickets get at least ``priority``."""

    priority: str = "high"
    senders: WordList = ()
    domains: WordList = ()


class Route(Strict):
    """Send matching tickets to ``team`` and hand them to ``destinations``."""

    name: Name
    description: str = ""
    when: When = When()
    team: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    destinations: Annotated[tuple[str, ...], BeforeValidator(one_or_many)] = ()


class CategorizeStage(Strict):
    """Ordered category rules; ``first``: the first matching rule decides."""

    match: Literal["first"] = "first"
    default: str = "general"
    rules: Annotated[tuple[CategoryRule, ...], Field(max_length=MAX_RULES)] = ()


class PrioritizeStage(Strict):
    """Priority rules; ``highest``: every rule is evaluated and the most urgent hit wins."""

    match: Literal["highest"] = "highest"
    default: str = "medium"
    vip: Vip = Vip()
    rules: Annotated[tuple[PriorityRule, ...], Field(max_length=MAX_RULES)] = ()


class RulesDocument(Strict):
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
