"""SLA targets and escalation in the rules YAML.

```yaml
sla:
  calendar: berlin               # business hours for the clock (else the team's, else 24x7)
  targets:
    - {priority: critical, first_response: 30m, resolution: 4h}
    - {priority: high, first_response: 1h, resolution: 1d}
    - {priority: high, tier: vip, first_response: 15m, resolution: 8h}
  escalation:
    bump_priority: true          # one level up per breach
    destinations: [helpdesk]     # handed `ticket.escalated`
    notify: [oncall-slack]       # told too (a Slack channel, say)
```

Durations are ``30m``, ``4h``, ``2d`` or combinations like ``1h30m``, counted in
business time: ``1d`` is 24 open hours, three working days of 09:00-17:00. The
most specific target wins: priority and tier over priority alone. ``router.sla``
computes due dates and breaches.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from config.rule_fields import Name, Strict, one_or_many

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
MAX_DURATION = timedelta(days=3650)
MAX_TARGETS = 200


def parse_duration(value: object) -> object:
    """``"1h30m"`` as a ``timedelta``; anything else is refused with the accepted forms."""
    if isinstance(value, timedelta):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    found = _DURATION.match(text.replace(" ", ""))
    if not text or found is None:
        raise ValueError(f"duration {value!r} is not like 30m, 4h, 2d or 1h30m")
    days, hours, minutes = (int(part or 0) for part in found.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < duration <= MAX_DURATION:
        raise ValueError(f"duration {value!r} must be more than 0 and at most 3650d")
    return duration


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def format_duration(duration: timedelta) -> str:
    """``timedelta(hours=1, minutes=30)`` as ``"1h30m"``, the way the YAML writes it."""
    minutes = int(duration.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = (f"{days}d" * bool(days), f"{hours}h" * bool(hours), f"{minutes}m" * bool(minutes))
    return "".join(parts) or "0m"


class SlaTarget(Strict):
    """How soon tickets of ``priority`` (and ``tier``, when given) get answered and resolved."""

    priority: str
    tier: str | None = None
    first_response: Duration | None = None
    resolution: Duration | None = None

    @model_validator(mode="after")
    def _some_target(self) -> SlaTarget:
        if self.first_response is None and self.resolution is None:
            raise ValueError("a target needs first_response:, resolution: or both")
        return self


class Escalation(Strict):
    """What a breach does, once per breach."""

    bump_priority: bool = True
    destinations: Annotated[tuple[Name, ...], BeforeValidator(one_or_many)] = ()
    notify: Annotated[tuple[Name, ...], BeforeValidator(one_or_many)] = ()


class Sla(Strict):
    """The SLA clock: no targets means no clock."""

    calendar: Name | None = None
    targets: Annotated[tuple[SlaTarget, ...], Field(max_length=MAX_TARGETS)] = ()
    escalation: Escalation = Escalation()
