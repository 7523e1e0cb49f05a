"""Teams and assignment in the rules YAML: who works a team's tickets, when, and how many.

```yaml
teams:
  support:
    calendar: berlin                 # business hours (none: around the clock)
    strategy: round-robin            # or least-loaded, skills
    overflow: support-us             # when nobody here is available
    members:
      - {name: alice, email: alice@example.com, skills: [billing], languages: [en, de]}
      - {name: bob, capacity: 10}
assignment:
  vip_team: vip-desk                 # tickets of these tiers go to this team instead
  vip_tiers: [vip]
```

A member is available while the team's calendar is open and they hold fewer open
tickets than ``capacity``. A team without members is a queue: tickets routed to it
stay unassigned, and so do tickets routed to a team with no entry here. A route's
``assign:`` overrides its team's strategy. ``router.assign`` decides.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from config.rule_fields import Name, Strict, WordList

Strategy = Literal["round-robin", "least-loaded", "skills"]
STRATEGIES: tuple[Strategy, ...] = ("round-robin", "least-loaded", "skills")
TeamName = Annotated[str, StringConstraints(min_length=1, max_length=80)]
MemberName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
MAX_MEMBERS = 500


class Member(Strict):
    """One agent: ``name`` is what a ticket's assignee is set to."""

    name: MemberName
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    skills: WordList = ()  # categories this agent handles best
    languages: WordList = ()  # ISO 639-1 codes this agent answers in
    capacity: Annotated[int, Field(ge=0, le=10_000)] = 20  # open tickets at most


class Team(Strict):
    """Members, their business hours, how tickets are spread, and where overflow goes."""

    members: Annotated[tuple[Member, ...], Field(max_length=MAX_MEMBERS)] = ()
    calendar: Name | None = None
    strategy: Strategy = "round-robin"
    overflow: TeamName | None = None

    def member(self, name: str) -> Member | None:
        """The member called ``name``, if any."""
        return next((m for m in self.members if m.name == name), None)


class AssignmentPolicy(Strict):
    """Rules that apply before any team's strategy."""

    vip_team: TeamName | None = None
    vip_tiers: WordList = ("vip",)
