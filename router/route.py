"""Route: ``first`` matching route decides (``default`` last), or ``all`` apply in order.

With ``route_match: all`` the ``default`` route comes first and sets the baseline;
every later matching route replaces the team if it names one and adds its
destinations and tags, until one says ``stop``.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.rules import Route
from router.match import add_tags, entry, evaluate, skipped
from router.rules import Context, Hit
from router.types import TraceEntry

STAGE = "route"


@dataclass(frozen=True, slots=True)
class RouteResult:
    """The team, destinations and tags the matching routes set, and every route considered."""

    team: str
    destinations: tuple[str, ...]
    tags: tuple[str, ...]
    routes: tuple[str, ...]  # the names of the routes that applied, in order
    trace: tuple[TraceEntry, ...]
    assign: str | None = None  # the strategy a route asked for, if any


def choose_route(routes: tuple[Route, ...], ctx: Context, match: str = "first") -> RouteResult:
    """Apply the matching routes; the loader guarantees an unconditional ``default``."""
    trace: list[TraceEntry] = []
    team: str | None = None
    assign: str | None = None
    destinations: list[str] = []
    tags: list[str] = []
    applied: list[str] = []
    stopped_by: str | None = None
    for route in routes:
        if stopped_by is not None:
            trace.append(skipped(STAGE, route.name, stopped_by, stop=match == "all"))
            continue
        verdict = evaluate(route.when, ctx)
        trace.append(entry(STAGE, route.name, verdict))
        if not isinstance(verdict, Hit):
            continue
        applied.append(route.name)
        if route.team is not None:
            team = route.team
        route_assign = getattr(route, "assign", None)
        if route_assign is not None:
            assign = route_assign
        add_tags(destinations, route.destinations)
        add_tags(tags, route.tags)
        if match == "first" or route.stop:
            stopped_by = route.name
    if team is None:  # only reachable with a RuleSet built around the loader
        raise ValueError("no route set a team and the rule set has no default route")
    return RouteResult(team, tuple(destinations), tuple(tags), tuple(applied), tuple(trace), assign)
