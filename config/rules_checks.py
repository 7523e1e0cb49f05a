"""Checks that span keys of a rules file: names that must exist, be unique, or be reachable.

Each check yields ``(location, message)``; the loader turns the location into a
line of the file. ``CHECKS`` lists them; a new part of the file adds its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from config.rule_fields import Loc, Problems
from config.rules_schema import (
    PRIORITIES,
    CategoryRule,
    PriorityRule,
    Route,
    RulesDocument,
    When,
)


def known(loc: Loc, value: str, allowed: tuple[str, ...], kind: str) -> Problems:
    """A problem when ``value`` is not one of ``allowed``."""
    if value not in allowed:
        names = ", ".join(allowed) if allowed else "none declared"
        yield loc, f"unknown {kind} {value!r} (known: {names})"


def tier_names(doc: RulesDocument) -> tuple[str, ...]:
    """Declared tiers; "vip" is always one: ``prioritize.vip`` defines it when tiers: does not."""
    return (*doc.tiers, *(() if "vip" in doc.tiers else ("vip",)))


def _conditions(doc: RulesDocument, loc: Loc, when: When, stage: str) -> Problems:
    for index, value in enumerate(when.category or ()):
        yield from known((*loc, "category", index), value, doc.categories, "category")
    for index, value in enumerate(when.priority or ()):
        yield from known((*loc, "priority", index), value, PRIORITIES, "priority")
    if stage == "categorize" and when.category is not None:
        yield (*loc, "category"), "the category is not known yet when categorizing"
    if stage != "routes" and when.priority is not None:
        yield (*loc, "priority"), f"the priority is not known yet in {stage}"
    for index, value in enumerate(when.tier or ()):
        yield from known((*loc, "tier", index), value, tier_names(doc), "tier")
    for key in ("business_hours", "after_hours"):
        calendar = getattr(when, key, None)
        if calendar is not None:
            yield from known((*loc, key), calendar, tuple(doc.calendars), "calendar")


def _names(stage: Loc, rules: tuple[CategoryRule | PriorityRule | Route, ...]) -> Problems:
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.name in seen:
            yield (*stage, index, "name"), f"duplicate rule name {rule.name!r}"
        seen.add(rule.name)


def _reachable(stage: Loc, rules: tuple[CategoryRule | Route, ...]) -> Problems:
    for index, rule in enumerate(rules[:-1]):
        if rule.when.is_empty:
            after = rules[index + 1].name
            yield (*stage, index + 1), f"rule {after!r} is unreachable: {rule.name!r} has no when:"


def check_categories(doc: RulesDocument) -> Problems:
    if len(set(doc.categories)) != len(doc.categories):
        yield ("categories",), "categories must be unique"
    for index, category in enumerate(doc.categories):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", category):
            yield ("categories", index), f"category {category!r} must be lower_snake_case"
    for name, config in doc.destinations.items():
        if config.name not in ("", name):
            yield ("destinations", name, "name"), f"name must be {name!r} or left out"


def check_categorize(doc: RulesDocument) -> Problems:
    cat = doc.categorize
    yield from known(("categorize", "default"), cat.default, doc.categories, "category")
    if cat.classifier is not None and cat.classifier.fallback is not None:
        loc_fallback: Loc = ("categorize", "classifier", "fallback")
        yield from known(loc_fallback, cat.classifier.fallback, doc.categories, "category")
    yield from _names(("categorize", "rules"), cat.rules)
    if cat.match == "first":
        yield from _reachable(("categorize", "rules"), cat.rules)
    for index, rule in enumerate(cat.rules):
        loc: Loc = ("categorize", "rules", index)
        if rule.category is not None:
            yield from known((*loc, "category"), rule.category, doc.categories, "category")
        elif cat.match == "first":
            yield loc, "missing required key category (every rule sets one in match: first)"
        yield from _conditions(doc, (*loc, "when"), rule.when, "categorize")


def check_prioritize(doc: RulesDocument) -> Problems:
    pri = doc.prioritize
    yield from known(("prioritize", "default"), pri.default, PRIORITIES, "priority")
    yield from known(("prioritize", "vip", "priority"), pri.vip.priority, PRIORITIES, "priority")
    yield from _names(("prioritize", "rules"), pri.rules)
    for index, rule in enumerate(pri.rules):
        loc: Loc = ("prioritize", "rules", index)
        if rule.priority is not None:
            yield from known((*loc, "priority"), rule.priority, PRIORITIES, "priority")
        if rule.score is not None and pri.match != "score":
            yield (*loc, "score"), "score: needs prioritize.match: score"
        yield from _conditions(doc, (*loc, "when"), rule.when, "prioritize")
    for name in pri.scoring.tiers:
        yield from known(("prioritize", "scoring", "tiers", name), name, tier_names(doc), "tier")


def check_routes(doc: RulesDocument) -> Problems:
    yield from _names(("routes",), doc.routes)
    if doc.route_match == "first":
        yield from _reachable(("routes",), doc.routes)
    for index, route in enumerate(doc.routes):
        yield from _conditions(doc, ("routes", index, "when"), route.when, "routes")
        if route.team is None and doc.route_match == "first":
            yield ("routes", index), "missing required key team (every route sets one in first)"
        for d_index, destination in enumerate(route.destinations):
            if destination not in doc.destinations:
                loc: Loc = ("routes", index, "destinations", d_index)
                yield loc, f"unknown destination {destination!r}"
    if doc.route_match == "all":
        first = doc.routes[0]
        if first.name != "default" or not first.when.is_empty or first.team is None:
            yield (
                ("routes", 0),
                "with route_match: all the first route must be named default, "
                "set a team and have no when:",
            )
        return
    last = doc.routes[-1]
    if last.name != "default" or not last.when.is_empty:
        yield (
            ("routes", len(doc.routes) - 1),
            "the last route must be named default and have no when:",
        )


def check_teams(doc: RulesDocument) -> Problems:
    """Teams name known calendars and overflow teams, without cycles; members are unique."""
    calendars, teams = tuple(doc.calendars), tuple(doc.teams)
    for name, team in doc.teams.items():
        loc: Loc = ("teams", name)
        if team.calendar is not None:
            yield from known((*loc, "calendar"), team.calendar, calendars, "calendar")
        seen: set[str] = set()
        for index, member in enumerate(team.members):
            if member.name in seen:
                yield (*loc, "members", index, "name"), f"duplicate member {member.name!r}"
            seen.add(member.name)
        if team.overflow is None:
            continue
        if team.overflow not in doc.teams:
            yield from known((*loc, "overflow"), team.overflow, teams, "team")
            continue
        chain = [name]
        while (after := doc.teams[chain[-1]].overflow) in doc.teams and after not in chain:
            chain.append(after)
        # A cycle is reported once, at the first of its teams in the file.
        if after == name and min(chain, key=teams.index) == name:
            yield (*loc, "overflow"), f"overflow cycle: {' -> '.join((*chain, name))}"
    policy = doc.assignment
    if policy.vip_team is not None:
        yield from known(("assignment", "vip_team"), policy.vip_team, teams, "team")
    for index, tier in enumerate(policy.vip_tiers):
        yield from known(("assignment", "vip_tiers", index), tier, tier_names(doc), "tier")
    for index, route in enumerate(doc.routes):
        if route.assign is not None and route.team is not None and route.team not in doc.teams:
            yield (
                ("routes", index, "assign"),
                f"team {route.team!r} has no teams: entry, so nobody to assign to",
            )


def check_sla(doc: RulesDocument) -> Problems:
    """SLA targets name known priorities and tiers, once each; escalation names destinations."""
    sla = doc.sla
    if sla.calendar is not None:
        yield from known(("sla", "calendar"), sla.calendar, tuple(doc.calendars), "calendar")
    seen: set[tuple[str, str | None]] = set()
    for index, target in enumerate(sla.targets):
        loc: Loc = ("sla", "targets", index)
        yield from known((*loc, "priority"), target.priority, PRIORITIES, "priority")
        if target.tier is not None:
            yield from known((*loc, "tier"), target.tier, tier_names(doc), "tier")
        if (target.priority, target.tier) in seen:
            tier = f"tier {target.tier}" if target.tier else "no tier"
            yield loc, f"priority {target.priority} with {tier} has a target already"
        seen.add((target.priority, target.tier))
    destinations = tuple(doc.destinations)
    for key in ("destinations", "notify"):
        for index, name in enumerate(getattr(sla.escalation, key)):
            loc = ("sla", "escalation", key, index)
            yield from known(loc, name, destinations, "destination")


CHECKS: tuple[Callable[[RulesDocument], Problems], ...] = (
    check_categories,
    check_categorize,
    check_prioritize,
    check_routes,
    check_teams,
    check_sla,
)


def cross_check(doc: RulesDocument) -> Problems:
    """Every cross-key problem in ``doc``, in file order of the parts."""
    for check in CHECKS:
        yield from check(doc)
