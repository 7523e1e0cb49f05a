"""Business-hours calendars in the rules YAML: a time zone, weekly hours and holidays.

```yaml
calendars:
  berlin:
    timezone: Europe/Berlin
    weekly: {mon: ["09:00-17:00"], tue: ["09:00-12:00", "13:00-17:00"], sat: []}
    holidays: [2026-12-24, 2026-12-31]   # closed all day, besides the public ones
    country: DE                          # public holidays from the `holidays` package
    subdivision: BY
```

A window belongs to the day it starts on: ``fri: ["22:00-06:00"]`` runs from Friday
22:00 to Saturday 06:00, and a holiday on Friday closes all of it. ``24:00`` ends a
day. Days left out are closed. Teams, the SLA clock and the ``business_hours``
condition refer to a calendar by name; ``router.business_hours`` does the arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationInfo, field_validator

from config.rule_fields import Strict, one_or_many

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # by date.weekday()
MINUTES_PER_DAY = 24 * 60
MAX_HOLIDAYS = 1000

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """Open from ``start`` to ``end``, in minutes after local midnight of the window's day.

    ``end`` is past ``MINUTES_PER_DAY`` for a window that runs into the next day.
    """

    start: int
    end: int

    def __str__(self) -> str:
        end = self.end if self.end == MINUTES_PER_DAY else self.end % MINUTES_PER_DAY
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def parse_window(value: object) -> object:
    """``"09:00-17:00"`` as a ``Window``; ``"22:00-06:00"`` runs overnight."""
    if isinstance(value, Window):
        return value
    if not isinstance(value, str):
        raise ValueError("a window is a string like '09:00-17:00'")
    found = _WINDOW.match(value)
    if found is None:
        raise ValueError(f"window {value!r} is not like '09:00-17:00'")
    start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ValueError(f"window {value!r} has a time that does not exist")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError(f"window {value!r} is empty (a whole day is '00:00-24:00')")
    if end < start:  # overnight: ends on the next day
        end += MINUTES_PER_DAY
    return Window(start, end)


Windows = Annotated[
    tuple[Annotated[Window, BeforeValidator(parse_window)], ...],
    BeforeValidator(one_or_many),
    Field(max_length=48),
]


def _tables() -> Any:
    """The ``holidays`` package, imported by the first calendar that names a country:
    every process loads the rules, few need the public holiday tables."""
    import holidays

    return holidays


@lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """The public holidays of ``country`` (and ``subdivision``) in ``year``, by date."""
    table = _tables().country_holidays(country, subdiv=subdivision, years=year)
    return dict(table.items())


class Calendar(Strict):
    """Opening hours in one time zone, with closed days."""

    timezone: str = "UTC"
    weekly: Annotated[dict[Day, Windows], Field(min_length=1)]
    holidays: Annotated[tuple[date, ...], Field(max_length=MAX_HOLIDAYS)] = ()
    country: Annotated[str, Field(min_length=2, max_length=3)] | None = None
    subdivision: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    _zone: ZoneInfo = PrivateAttr()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name like Europe/Berlin)"
            ) from None
        return value

    @field_validator("weekly")
    @classmethod
    def _some_hours(cls, value: dict[str, tuple[Window, ...]]) -> dict[str, tuple[Window, ...]]:
        if not any(value.values()):
            raise ValueError("a calendar needs at least one open window a week")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _tables().country_holidays(value)
            except NotImplementedError as exc:
                raise ValueError(f"no public holidays known: {exc}") from None
        return value

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        country = info.data.get("country")
        if country is None:
            raise ValueError("subdivision needs a country")
        try:
            _tables().country_holidays(country, subdiv=value)
        except NotImplementedError as exc:
            raise ValueError(f"no public holidays known: {exc}") from None
        return value

    def model_post_init(self, context: Any, /) -> None:
        self._zone = ZoneInfo(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def holiday(self, day: date) -> str | None:
        """Why ``day`` is closed all day ("holiday", or the public holiday's name), else None."""
        if day in self.holidays:
            return "holiday"
        if self.country is not None:
            return public_holidays(self.country, self.subdivision, day.year).get(day)
        return None

    def windows(self, day: date) -> tuple[Window, ...]:
        """The windows that start on ``day`` (local date): none on a holiday."""
        if self.holiday(day) is not None:
            return ()
        return self.weekly.get(DAYS[day.weekday()], ())
