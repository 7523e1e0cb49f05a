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

from config.calendars import Calendar
from config.classifier import ClassifierConfig
from config.destinations import Destination
from config.forms import FormSpec
from config.rule_fields import (
    MAX_RULES,
    Keywords,
    Name,
    Regexes,
    Strict,
    TextField,
    WordList,
    Words,
    keyword_heads,
    keyword_pattern,
    one_or_many,
)
from config.scoring import Scoring
from config.sla import Sla
from config.teams import AssignmentPolicy, Strategy, Team, TeamName
from config.tiers import Tier

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
    tier: Words | None = None
    language: Words | None = None
    mailbox: Words | None = None
    tags: Words | None = None  # tags the channel gave the message (a web form's tags:)
    contacts_at_least: Annotated[int, Field(ge=1, le=10_000)] | None = None
    business_hours: Name | None = None  # a calendar: the message came in while it was open
    after_hours: Name | None = None  # a calendar: the message came in while it was closed
    keywords: Keywords | None = None
    regexes: Regexes | None = None
    fields: Annotated[tuple[TextField, ...], BeforeValidator(one_or_many), Field(min_length=1)] = (
        "subject",
        "body",
    )
    _keywords: re.Pattern[str] | None = PrivateAttr(default=None)
    _keyword_heads: frozenset[str] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        if self.keywords:
            self._keywords = keyword_pattern(self.keywords)
            self._keyword_heads = keyword_heads(self.keywords)

    @property
    def keyword_regex(self) -> re.Pattern[str] | None:
        """The compiled alternation of ``keywords``, or None when no keywords are set."""
        # Read the private slot directly: attribute access to a private attribute goes
        # through pydantic's __getattr__, which costs more than the match in hot loops.
        private = self.__pydantic_private__
        return None if private is None else private["_keywords"]

    @property
    def keyword_heads(self) -> frozenset[str] | None:
        """The lowercased first word of every keyword, when all are ASCII (else None).

        A keyword can only match where its first word stands in the text as a whole
        word, so a text without any of them needs no regex search at all.
        """
        private = self.__pydantic_private__
        return None if private is None else private["_keyword_heads"]

    @property
    def is_empty(self) -> bool:
        """True when the rule has no conditions, so it always matches."""
        return all(getattr(self, key) is None for key in type(self).model_fields if key != "fields")


class Actions(Strict):
    """What any matching rule may do besides its stage's own value.

    ``tags`` are added to the ticket; ``stop`` ends the stage after this rule (in
    ``match: all`` stages; a ``first`` stage always stops at its first match).
    """

    tags: WordList = ()
    stop: bool = False


class CategoryRule(Actions):
    """Set ``category`` (and tags) when ``when`` holds."""

    name: Name
    description: str = ""
    when: When = When()
    category: str | None = None


class PriorityRule(Actions):
    """When ``when`` holds: propose ``priority`` (a floor in score mode) and/or add ``score``."""

    name: Name
    description: str = ""
    when: When = When()
    priority: str | None = None
    score: Annotated[float, Field(ge=-1000, le=1000)] | None = None

    def model_post_init(self, context: Any, /) -> None:
        if self.priority is None and self.score is None and not self.tags:
            raise ValueError("a priority rule needs priority:, score: or tags:")


class Vip(Strict):
    """Senders and domains whose tickets get at least ``priority``."""

    priority: str = "high"
    senders: WordList = ()
    domains: WordList = ()


class Route(Actions):
    """Send matching tickets to ``team`` and hand them to ``destinations``."""

    name: Name
    description: str = ""
    when: When = When()
    team: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    destinations: Annotated[tuple[str, ...], BeforeValidator(one_or_many)] = ()
    assign: Strategy | None = None  # overrides the team's strategy (config.teams)


class CategorizeStage(Strict):
    """Ordered category rules. ``first``: the first matching rule decides; ``all``: every
    matching rule applies in order (a later category replaces an earlier one, tags add up)
    until one says ``stop``."""

    match: Literal["first", "all"] = "first"
    default: str = "general"
    rules: Annotated[tuple[CategoryRule, ...], Field(max_length=MAX_RULES)] = ()
    classifier: ClassifierConfig | None = None  # decides when no rule matched (config.classifier)


class PrioritizeStage(Strict):
    """Priority rules. ``highest``: every rule is evaluated and the most urgent hit wins.
    ``score``: the signals weighted by ``scoring`` plus each rule's ``score:`` give a
    number that ``scoring.levels`` maps to a priority; a rule's ``priority:`` is a floor."""

    match: Literal["highest", "score"] = "highest"
    default: str = "medium"
    vip: Vip = Vip()
    scoring: Scoring = Scoring()
    rules: Annotated[tuple[PriorityRule, ...], Field(max_length=MAX_RULES)] = ()


class RulesDocument(Strict):
    """The YAML file as written."""

    format: Literal[1] = FORMAT_VERSION
    categories: Annotated[tuple[str, ...], Field(min_length=1)] = DEFAULT_CATEGORIES
    tiers: dict[Name, Tier] = {}
    destinations: dict[Name, Destination] = {}
    categorize: CategorizeStage = CategorizeStage()
    prioritize: PrioritizeStage = PrioritizeStage()
    # ``first``: the first matching route decides, and the last is ``default``;
    # ``all``: ``default`` comes first and every matching route applies in order.
    route_match: Literal["first", "all"] = "first"
    routes: Annotated[tuple[Route, ...], Field(min_length=1, max_length=MAX_RULES)]
    calendars: dict[Name, Calendar] = {}
    teams: dict[TeamName, Team] = {}
    assignment: AssignmentPolicy = AssignmentPolicy()
    sla: Sla = Sla()
    # Hosted web forms by name (config.forms); none declared: the default contact form.
    forms: dict[Name, FormSpec] = {}


class RuleSet(RulesDocument):
    """A validated rules file; ``version`` is a short sha256 of its text."""

    version: str
    source: str = "<rules>"
