"""Load and validate the rules/destinations YAML into a frozen ``RuleSet``.

The file is composed with PyYAML so every node keeps its line: any problem (YAML
syntax, unknown or duplicate key, bad regex, unknown category, priority or
destination) becomes ``RulesFileError(path, "routes[2].destinations[0]: ...", line)``.
The models live in ``config.rules_schema`` and are re-exported here.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.destinations import KINDS
from config.errors import RulesFileError
from config.rule_fields import (
    MAX_KEYWORD_CHARS,
    MAX_PATTERN_CHARS,
    MAX_RULES,
    Loc,
    Problems,
    keyword_pattern,
)
from config.rules_checks import cross_check
from config.rules_schema import (
    DEFAULT_CATEGORIES,
    FORMAT_VERSION,
    PRIORITIES,
    CategorizeStage,
    CategoryRule,
    PrioritizeStage,
    PriorityRule,
    Route,
    RulesDocument,
    RuleSet,
    Vip,
    When,
)

__all__ = [
    "DEFAULT_CATEGORIES",
    "FORMAT_VERSION",
    "MAX_KEYWORD_CHARS",
    "MAX_PATTERN_CHARS",
    "MAX_RULES",
    "PRIORITIES",
    "CategorizeStage",
    "CategoryRule",
    "PrioritizeStage",
    "PriorityRule",
    "Route",
    "RuleSet",
    "RulesDocument",
    "Vip",
    "When",
    "default_rules",
    "keyword_pattern",
    "load_rules",
    "load_rules_text",
    "rules_file_problems",
]


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
    problems = [error(loc, msg) for loc, msg in cross_check(document)]
    if problems:
        return None, problems
    named = {name: d.model_copy(update={"name": name}) for name, d in document.destinations.items()}
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    fields = {name: getattr(document, name) for name in RulesDocument.model_fields}
    return RuleSet(**{**fields, "destinations": named}, version=digest, source=source), []


def _explain(detail: ErrorDetails) -> tuple[Loc, str]:
    loc = _untagged(tuple(detail["loc"]))
    if detail["type"] == "unknown_destination_type":
        return (*loc, "type"), detail["msg"]
    if detail["type"] == "extra_forbidden":
        return loc, "unknown key"
    if detail["type"] == "missing":
        return loc, "missing required key"
    return loc, detail["msg"].removeprefix("Value error, ")


def _untagged(loc: Loc) -> Loc:
    """Drop the kind pydantic puts in a destination's error path (destinations.zd.zendesk.url)."""
    if len(loc) > 2 and loc[0] == "destinations" and loc[2] in KINDS:
        return (*loc[:2], *loc[3:])
    return loc


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
