"""Route: the first matching route sets team and destinations; ``default`` is last."""

from __future__ import annotations

from dataclasses import dataclass

from config.rules import Route
from router.match import entry, evaluate, skipped
from router.rules import Context, Hit
from router.types import TraceEntry

STAGE = "route"


@dataclass(frozen=True, slots=True)
class RouteResult:
    """The route taken and every route considered."""

    route: Route
    trace: tuple[TraceEntry, ...]


def choose_route(routes: tuple[Route, ...], ctx: Context) -> RouteResult:
    """The first route whose ``when:`` holds; the loader guarantees a last, unconditional one."""
    trace: list[TraceEntry] = []
    chosen: Route | None = None
    for route in routes:
        if chosen is not None:
            trace.append(skipped(STAGE, route.name, chosen.name))
            continue
        verdict = evaluate(route.when, ctx)
        trace.append(entry(STAGE, route.name, verdict))
        if isinstance(verdict, Hit):
            chosen = route
    if chosen is None:  # only reachable with a RuleSet built around the loader
        raise ValueError("no route matched and the rule set has no default route")
    return RouteResult(chosen, tuple(trace))
