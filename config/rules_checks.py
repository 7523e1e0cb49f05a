"""Checks that span keys of a rules file: names that must exist, be unique, or be reachable.

Each check yields ``(location, message)``; the loader turns the location into a
line of the file.
"""

from __future__ import annotations

import re

from config.rule_fields import Loc, Problems
from config.rules_schema import (
    PRIORITIES,
    CategoryRule,
    PriorityRule,
    Route,
    RulesDocument,
    When,
)


def cross_check(doc: RulesDocument) -> Problems:
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
