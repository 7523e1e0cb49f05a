"""Load and validate the rules/destinations YAML into a frozen ``RuleSet``.

The file is composed with PyYAML so every node keeps its line: any problem (YAML
syntax, unknown or duplicate key, bad regex, unknown category, priority or
destination) becomes ``RulesFileError(path, "routes[2].destinations[0]: ...", line)``.
Regexes and keywords are compiled here, once, so the router only evaluates.
The format is documented by example in ``config/default_rules.yaml``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails

from config.destinations import Destination
from config.errors import RulesFileError

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


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file; raises ``RulesFileError`` with the line of the problem."""
    ruleset, problems = _parse_file(path)
    if problems:
        raise problems[0]
    assert ruleset is not None
    return ruleset


def load_rules_text(text: str, source: str = "<rules>") -> RuleSet:
    """Validate rules given as text; ``source`` names it in errors."""
    ruleset, problems = _parse(text, source)
    if problems:
        raise problems[0]
    assert ruleset is not None
    return ruleset


def rules_file_problems(path: str | Path) -> list[RulesFileError]:
    """Every problem found in a rules file, in file order; empty when it loads."""
    return _parse_file(path)[1]


@cache
def default_rules() -> RuleSet:
    """The rules shipped with omniroute (``config/default_rules.yaml``)."""
    text = resources.files("config").joinpath("default_rules.yaml").read_text(encoding="utf-8")
    return load_rules_text(text, source="config/default_rules.yaml")


def _parse_file(path: str | Path) -> tuple[RuleSet | None, list[RulesFileError]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RulesFileError(str(path), f"cannot read the rules file: {exc}")]
    return _parse(text, str(path))


def _parse(text: str, source: str) -> tuple[RuleSet | None, list[RulesFileError]]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return None, [RulesFileError(source, f"invalid YAML: {exc.problem}", line)]
    except yaml.YAMLError as exc:
        return None, [RulesFileError(source, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    if root is None or not isinstance(data, dict):
        return None, [RulesFileError(source, "the file must be a mapping with a routes: key", 1)]

    def error(loc: Loc, message: str) -> RulesFileError:
        path, line = _locate(root, loc)
        return RulesFileError(source, f"{path}: {message}" if path else message, line)

    problems = [error(loc, msg) for loc, msg in _duplicate_keys(root, ())]
    if problems:
        return None, problems
    try:
        document = RulesDocument.model_validate(data)
    except ValidationError as exc:
        return None, [error(*_explain(detail)) for detail in exc.errors(include_url=False)]
    problems = [error(loc, msg) for loc, msg in _cross_check(document)]
    if problems:
        return None, problems
    named = {name: d.model_copy(update={"name": name}) for name, d in document.destinations.items()}
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    fields = {name: getattr(document, name) for name in RulesDocument.model_fields}
    return RuleSet(**{**fields, "destinations": named}, version=digest, source=source), []


def _explain(detail: ErrorDetails) -> tuple[Loc, str]:
    loc = tuple(detail["loc"])
    if detail["type"] == "extra_forbidden":
        return loc, "unknown key"
    if detail["type"] == "missing":
        return loc, "missing required key"
    return loc, detail["msg"].removeprefix("Value error, ")


def _locate(root: yaml.Node, loc: Loc) -> tuple[str, int]:
    """The dotted path of ``loc`` and the line of the deepest node it reaches."""
    node: yaml.Node | None = root
    line, path = root.start_mark.line + 1, ""
    for item in loc:
        if item == "[key]":  # pydantic's marker for an invalid mapping key
            continue
        path += f"[{item}]" if isinstance(item, int) else (f".{item}" if path else str(item))
        if node is None:
            continue
        child: yaml.Node | None = None
        if isinstance(node, yaml.SequenceNode) and isinstance(item, int):
            child = node.value[item] if item < len(node.value) else None
            if child is not None:
                line = child.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(item):
                    child, line = value, key.start_mark.line + 1
        node = child
    return path, line


def _duplicate_keys(node: yaml.Node, loc: Loc, seen: set[int] | None = None) -> Problems:
    """PyYAML keeps the last of two equal keys silently; a rules file must not."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in keys:
                yield (*loc, name), "duplicate key"
            keys.add(name)
            yield from _duplicate_keys(value, (*loc, name), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index), seen)


def _cross_check(doc: RulesDocument) -> Problems:
    """Checks that span keys: names that must exist, be unique, or be reachable."""
    categories = set(doc.categories)
    if len(categories) != len(doc.categories):
        yield ("categories",), "categories must be unique"
    for index, category in enumerate(doc.categories):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", category):
            yield ("categories", index), f"category {category!r} must be lower_snake_case"
    for name, config in doc.destinations.items():
        if config.name not in ("", name):
            yield ("destinations", name, "name"), f"name must be {name!r} or left out"

    def known(loc: Loc, value: str, allowed: tuple[str, ...], kind: str) -> Problems:
        if value not in allowed:
            yield loc, f"unknown {kind} {value!r} (known: {', '.join(allowed)})"

    def conditions(loc: Loc, when: When, stage: str) -> Problems:
        for index, value in enumerate(when.category or ()):
            yield from known((*loc, "category", index), value, doc.categories, "category")
        for index, value in enumerate(when.priority or ()):
            yield from known((*loc, "priority", index), value, PRIORITIES, "priority")
        if stage == "categorize" and when.category is not None:
            yield (*loc, "category"), "the category is not known yet when categorizing"
        if stage != "routes" and when.priority is not None:
            yield (*loc, "priority"), f"the priority is not known yet in {stage}"

    def names(stage: Loc, rules: tuple[CategoryRule | PriorityRule | Route, ...]) -> Problems:
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            if rule.name in seen:
                yield (*stage, index, "name"), f"duplicate rule name {rule.name!r}"
            seen.add(rule.name)

    def reachable(stage: Loc, rules: tuple[CategoryRule | Route, ...]) -> Problems:
        for index, rule in enumerate(rules[:-1]):
            if rule.when.is_empty:
                after = rules[index + 1].name
                yield (
                    (*stage, index + 1),
                    f"rule {after!r} is unreachable: {rule.name!r} has no when:",
                )

    cat = doc.categorize
    yield from known(("categorize", "default"), cat.default, doc.categories, "category")
    yield from names(("categorize", "rules"), cat.rules)
    yield from reachable(("categorize", "rules"), cat.rules)
    for index, c_rule in enumerate(cat.rules):
        loc: Loc = ("categorize", "rules", index)
        yield from known((*loc, "category"), c_rule.category, doc.categories, "category")
        yield from conditions((*loc, "when"), c_rule.when, "categorize")

    pri = doc.prioritize
    yield from known(("prioritize", "default"), pri.default, PRIORITIES, "priority")
    yield from known(("prioritize", "vip", "priority"), pri.vip.priority, PRIORITIES, "priority")
    yield from names(("prioritize", "rules"), pri.rules)
    for index, p_rule in enumerate(pri.rules):
        loc = ("prioritize", "rules", index)
        yield from known((*loc, "priority"), p_rule.priority, PRIORITIES, "priority")
        yield from conditions((*loc, "when"), p_rule.when, "prioritize")

    yield from names(("routes",), doc.routes)
    yield from reachable(("routes",), doc.routes)
    for index, route in enumerate(doc.routes):
        yield from conditions(("routes", index, "when"), route.when, "routes")
        for d_index, destination in enumerate(route.destinations):
            if destination not in doc.destinations:
                yield (
                    ("routes", index, "destinations", d_index),
                    (f"unknown destination {destination!r}"),
                )
    last = doc.routes[-1]
    if last.name != "default" or not last.when.is_empty:
        yield (
            ("routes", len(doc.routes) - 1),
            "the last route must be named default and have no when:",
        )
