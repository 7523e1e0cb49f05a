"""Assignment: which team works a ticket, and which of its members.

In order: a ticket of a VIP tier goes to ``assignment.vip_team`` instead of its
routed team; a current assignee who is still a member of the team the ticket is on
(the start team or one down its overflow chain) keeps it, so triage running again
changes nothing; otherwise the team's strategy (or the route's ``assign:``) picks
among the available members: inside the team's business hours and under capacity.
When nobody is, the ticket overflows down the ``overflow`` chain; when nobody is
available anywhere it stays queued, unassigned, on the start team. A team without
members, or without a ``teams:`` entry, is a queue: the ticket waits there.

Pure: the shell passes the loads, cursors and current assignee as a ``RoutingState``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from config.rules import RulesDocument
from config.teams import Member, Team
from router.business_hours import is_open, local_time
from router.rules.base import listed
from router.types import Assignment, RoutingState, TraceEntry

STAGE = "assign"


@dataclass(frozen=True, slots=True)
class Pick:
    """A strategy's choice: the member (None when nobody is available), the new
    round-robin position, and why."""

    member: str | None
    cursor: int | None
    why: str


def assign(
    rules: RulesDocument,
    team: str,
    *,
    category: str,
    language: str | None,
    tier: str | None,
    at: datetime | None,
    state: RoutingState,
    strategy: str | None = None,
) -> Assignment:
    """Assign a ticket routed to ``team``; ``strategy`` is a route's override.

    ``at`` is when availability is judged; None skips business hours. Without any
    ``teams:`` there is nothing to decide and nothing to trace: the ticket waits on
    ``team`` (with its current assignee, if it has one there).
    """
    if not rules.teams:  # and so no vip_team either: it must name a teams: entry
        keep = state.assignee if state.team == team else None
        return Assignment(team, keep, "kept" if keep else "queue", None, ())
    trace: list[TraceEntry] = []
    start, override = team, strategy
    policy = rules.assignment
    if policy.vip_team is not None:
        if tier is not None and tier in policy.vip_tiers:
            why = f"tier {tier}: team {policy.vip_team} instead of {team}"
            trace.append(TraceEntry(STAGE, "vip-team", True, why))
            start, override = policy.vip_team, None
        else:
            why = f"tier {tier or 'none'} not in {listed(policy.vip_tiers)}"
            trace.append(TraceEntry(STAGE, "vip-team", False, why))
    chain = overflow_chain(rules.teams, start)

    if state.assignee is not None:
        kept = _keep(rules.teams, chain, state, state.assignee)
        trace.append(kept)
        if kept.matched:
            return Assignment(state.team or start, state.assignee, "kept", None, tuple(trace))

    for index, name in enumerate(chain):
        config = rules.teams.get(name)
        if config is None or not config.members:
            why = "has no teams: entry" if config is None else "has no members"
            trace.append(TraceEntry(STAGE, name, True, f"team {name} {why}: queued, unassigned"))
            return Assignment(name, None, "queue", None, tuple(trace))
        then = f"; overflow to {chain[index + 1]}" if index + 1 < len(chain) else ""
        calendar = rules.calendars.get(config.calendar) if config.calendar else None
        if at is not None and not is_open(calendar, at):
            why = f"team {name} is closed at {local_time(calendar, at)}{then}"
            trace.append(TraceEntry(STAGE, name, False, why))
            continue
        how = override if override is not None and name == start else config.strategy
        pick = PICKERS[how](config, name, category, language, state)
        if pick.member is None:
            trace.append(TraceEntry(STAGE, name, False, f"{how}: {pick.why}{then}"))
            continue
        why = f"{how}: {pick.member} in team {name}, {pick.why}"
        trace.append(TraceEntry(STAGE, name, True, why))
        return Assignment(name, pick.member, how, pick.cursor, tuple(trace))

    why = f"nobody available in {', '.join(chain)}: queued on {start}, unassigned"
    trace.append(TraceEntry(STAGE, start, False, why))
    return Assignment(start, None, "unavailable", None, tuple(trace))


def overflow_chain(teams: Mapping[str, Team], start: str) -> tuple[str, ...]:
    """``start`` and the teams its overflow leads to, each once (the loader refuses cycles)."""
    chain = [start]
    while (config := teams.get(chain[-1])) is not None and config.overflow is not None:
        if config.overflow in chain:
            break
        chain.append(config.overflow)
    return tuple(chain)


def _keep(
    teams: Mapping[str, Team], chain: tuple[str, ...], state: RoutingState, assignee: str
) -> TraceEntry:
    """Matched when the current assignee stays: still on a team of ``chain`` and a member."""
    current = state.team
    if current is None or current not in chain:
        why = f"{assignee} was on team {current}, the ticket now goes to {chain[0]}"
        return TraceEntry(STAGE, "current-assignee", False, why)
    config = teams.get(current)
    if config is not None and config.member(assignee) is None:
        why = f"{assignee} is no longer a member of team {current}"
        return TraceEntry(STAGE, "current-assignee", False, why)
    why = f"kept: {assignee} already works this ticket in team {current}"
    return TraceEntry(STAGE, "current-assignee", True, why)


def _load(state: RoutingState, member: Member) -> int:
    return state.loads.get(member.name, 0)


def _available(state: RoutingState, members: tuple[Member, ...]) -> list[Member]:
    return [m for m in members if _load(state, m) < m.capacity]


def _full(state: RoutingState, members: tuple[Member, ...]) -> str:
    return f"{listed(m.name for m in members)} at capacity"


def round_robin(
    team: Team, name: str, category: str, language: str | None, state: RoutingState
) -> Pick:
    """The next member in turn after the team's cursor who is under capacity."""
    members = team.members
    position = state.cursors.get(name, 0) % len(members)
    for step in range(len(members)):
        index = (position + step) % len(members)
        member = members[index]
        if _load(state, member) < member.capacity:
            skipped = (members + members)[position : position + step]
            passed = f"; {_full(state, skipped)}" if step else ""
            why = f"next in turn, {_load(state, member)}/{member.capacity} open{passed}"
            return Pick(member.name, (index + 1) % len(members), why)
    return Pick(None, None, _full(state, members))


def least_loaded(
    team: Team, name: str, category: str, language: str | None, state: RoutingState
) -> Pick:
    """The available member with the fewest open tickets (the first listed on a tie)."""
    available = _available(state, team.members)
    if not available:
        return Pick(None, None, _full(state, team.members))
    return _fewest(state, available, "fewest open tickets")


def skills(team: Team, name: str, category: str, language: str | None, state: RoutingState) -> Pick:
    """An available member with the ticket's category as a skill and its language.

    Preferred in order: both, the category alone, the language alone, anyone; the
    least loaded of the best group wins.
    """
    available = _available(state, team.members)
    if not available:
        return Pick(None, None, _full(state, team.members))
    groups: tuple[tuple[Callable[[Member], bool], str], ...] = (
        (
            lambda m: category in m.skills and language in m.languages,
            f"skill {category} and language {language}",
        ),
        (lambda m: category in m.skills, f"skill {category}"),
        (lambda m: language in m.languages, f"language {language}"),
    )
    for fits, what in groups:
        group = [m for m in available if fits(m)]
        if group:
            return _fewest(state, group, what)
    return _fewest(state, available, f"nobody available has skill {category}")


def _fewest(state: RoutingState, members: list[Member], what: str) -> Pick:
    best = min(members, key=lambda m: _load(state, m))  # min keeps the first on a tie
    return Pick(best.name, None, f"{what}, {_load(state, best)}/{best.capacity} open")


PICKERS: Mapping[str, Callable[[Team, str, str, str | None, RoutingState], Pick]] = {
    "round-robin": round_robin,
    "least-loaded": least_loaded,
    "skills": skills,
}
