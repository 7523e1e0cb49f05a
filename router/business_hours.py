"""Business-hours arithmetic over a ``config.calendars.Calendar``: open or not, and when.

Pure: times in, times out. Every datetime given must be timezone-aware; results are
in UTC. Local opening times become instants through ``zoneinfo``: a 09:00-17:00 day
is eight real hours on the day of a DST change too, an overnight window on the night
of the change is an hour longer or shorter, and a local time that the spring jump
skips is read with the offset before the jump (02:30 opens at 03:30). No calendar
(``None``) means open around the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from config.calendars import DAYS, MINUTES_PER_DAY, Calendar

# A calendar has at least one weekly window and finitely many holidays a year, so an
# opening always comes; this bounds the search anyway (ten years without one).
MAX_CLOSED_DAYS = 3660

Interval = tuple[datetime, datetime]


class NeverOpen(ValueError):
    """The calendar has no opening within ``MAX_CLOSED_DAYS`` of the time asked about."""


def is_open(calendar: Calendar | None, at: datetime) -> bool:
    """True when ``at`` falls inside one of the calendar's open windows."""
    at = _utc(at)
    if calendar is None:
        return True
    for start, _ in open_intervals(calendar, at):
        return start <= at
    raise AssertionError("open_intervals never ends")  # pragma: no cover


def add_business_time(calendar: Calendar | None, start: datetime, duration: timedelta) -> datetime:
    """The instant ``duration`` of open time after ``start`` (UTC).

    Closed time does not count: 2 h from Friday 16:00 on a 09:00-17:00 weekday calendar
    is Monday 10:00, or Tuesday 10:00 when Monday is a holiday.
    """
    start = _utc(start)
    if duration <= timedelta(0):
        return start
    if calendar is None:
        return start + duration
    remaining = duration
    for opens, closes in open_intervals(calendar, start):
        counted_from = max(opens, start)
        if counted_from + remaining <= closes:
            return counted_from + remaining
        remaining -= closes - counted_from
    raise AssertionError("open_intervals never ends")  # pragma: no cover


def next_open(calendar: Calendar | None, at: datetime) -> datetime:
    """``at`` itself when open, else the instant the calendar next opens (UTC)."""
    at = _utc(at)
    if calendar is None:
        return at
    for start, _ in open_intervals(calendar, at):
        return max(start, at)
    raise AssertionError("open_intervals never ends")  # pragma: no cover


def open_intervals(calendar: Calendar, since: datetime) -> Iterator[Interval]:
    """The calendar's open intervals ``[opens, closes)`` in UTC that end after ``since``.

    Overlapping or touching windows (an overnight window running into the next day's
    morning) are merged, so each yielded interval is followed by closed time.
    Raises ``NeverOpen`` after ``MAX_CLOSED_DAYS`` days without an opening.
    """
    since = _utc(since)
    # Start a day early: yesterday's overnight window may still be open.
    day = since.astimezone(calendar.zone).date() - timedelta(days=1)
    pending: Interval | None = None
    closed_days = 0
    while closed_days < MAX_CLOSED_DAYS:
        intervals = _day_intervals(calendar, day)
        closed_days = closed_days + 1 if not intervals else 0
        for opens, closes in intervals:
            if pending is not None and opens <= pending[1]:
                pending = (pending[0], max(pending[1], closes))
                continue
            if pending is not None and pending[1] > since:
                yield pending
            pending = (opens, closes)
        day += timedelta(days=1)
    raise NeverOpen(f"no open hours within {MAX_CLOSED_DAYS} days after {since.isoformat()}")


def local_time(calendar: Calendar | None, at: datetime) -> str:
    """``at`` as the calendar's people read it, for reasons: ``"Sat 10:00 Europe/Berlin"``."""
    at = _utc(at)
    if calendar is None:
        return f"{DAYS[at.weekday()].capitalize()} {at:%H:%M} UTC"
    local = at.astimezone(calendar.zone)
    return f"{DAYS[local.weekday()].capitalize()} {local:%H:%M} {calendar.timezone}"


def _day_intervals(calendar: Calendar, day: date) -> list[Interval]:
    """The windows that start on local ``day``, as UTC intervals in start order."""
    intervals = []
    for window in calendar.windows(day):
        opens = _instant(calendar, day, window.start)
        closes = _instant(calendar, day, window.end)
        if closes > opens:  # a window inside a skipped DST hour has no real time
            intervals.append((opens, closes))
    return sorted(intervals)


def _instant(calendar: Calendar, day: date, minutes: int) -> datetime:
    """Local ``day`` plus ``minutes`` (past midnight, possibly into the next day) in UTC."""
    days, minute_of_day = divmod(minutes, MINUTES_PER_DAY)
    clock = time(minute_of_day // 60, minute_of_day % 60)
    local = datetime.combine(day + timedelta(days=days), clock, tzinfo=calendar.zone)
    return local.astimezone(UTC)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business-hours arithmetic needs timezone-aware datetimes")
    return at.astimezone(UTC)
