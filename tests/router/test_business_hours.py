"""Specifications of business-hours arithmetic: open or closed, and adding open time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.calendars import Calendar
from router.business_hours import add_business_time, is_open, local_time, next_open

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def calendar(**fields: Any) -> Calendar:
    return Calendar.model_validate({"timezone": "Europe/Berlin", "weekly": WEEKDAYS, **fields})


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_open_inside_a_weekday_window() -> None:
    # Given a 09:00-17:00 weekday calendar
    office = calendar()
    # When a Wednesday at 10:00 and at 17:00 are asked about
    # Then 10:00 is open and 17:00, the closing instant, is not
    assert is_open(office, berlin(2026, 11, 25, 10, 0))
    assert not is_open(office, berlin(2026, 11, 25, 17, 0))


def test_closed_on_the_weekend() -> None:
    # Given a weekday calendar
    office = calendar()
    # When a Saturday at noon is asked about
    # Then it is closed, and the next opening is Monday 09:00
    saturday = berlin(2026, 11, 28, 12, 0)
    assert not is_open(office, saturday)
    assert next_open(office, saturday) == berlin(2026, 11, 30, 9, 0)


def test_closed_on_a_listed_holiday() -> None:
    # Given a calendar that lists Thursday 2026-12-24 as a holiday
    office = calendar(holidays=["2026-12-24"])
    # When that morning is asked about
    # Then it is closed
    assert not is_open(office, berlin(2026, 12, 24, 10, 0))


def test_closed_on_a_public_holiday_of_the_subdivision_only() -> None:
    # Given a Bavarian and a Berlin calendar
    bavaria = calendar(country="DE", subdivision="BY")
    berlin_office = calendar(country="DE", subdivision="BE")
    # When Epiphany (a Bavarian public holiday, not a Berlin one) is asked about
    epiphany = berlin(2026, 1, 6, 10, 0)
    # Then Bavaria is closed and Berlin is open
    assert not is_open(bavaria, epiphany)
    assert is_open(berlin_office, epiphany)


def test_adding_time_skips_the_weekend() -> None:
    # Given a weekday calendar and Friday 16:00
    office = calendar()
    # When two business hours are added
    due = add_business_time(office, berlin(2026, 11, 27, 16, 0), timedelta(hours=2))
    # Then one hour counts on Friday and one on Monday morning
    assert due == berlin(2026, 11, 30, 10, 0)
    assert due.tzinfo == UTC


def test_adding_time_skips_public_holidays() -> None:
    # Given a Bavarian calendar and Thursday 2026-12-24 16:00
    bavaria = calendar(country="DE", subdivision="BY")
    # When two business hours are added
    due = add_business_time(bavaria, berlin(2026, 12, 24, 16, 0), timedelta(hours=2))
    # Then Christmas Day (Friday) and the weekend are skipped
    assert due == berlin(2026, 12, 28, 10, 0)


def test_adding_time_from_before_opening_starts_at_opening() -> None:
    # Given a weekday calendar and Monday 07:00
    office = calendar()
    # When 30 minutes are added
    due = add_business_time(office, berlin(2026, 11, 30, 7, 0), timedelta(minutes=30))
    # Then the clock starts at 09:00
    assert due == berlin(2026, 11, 30, 9, 30)


def test_a_time_zone_elsewhere_means_the_same_instant() -> None:
    # Given a Berlin calendar and a start given in New York time (Friday 10:00 = 16:00 Berlin)
    office = calendar()
    start = datetime(2026, 11, 27, 10, 0, tzinfo=NEW_YORK)
    # When two business hours are added
    due = add_business_time(office, start, timedelta(hours=2))
    # Then the answer is Monday 10:00 in Berlin, whatever zone the start was given in
    assert due == berlin(2026, 11, 30, 10, 0)


def test_a_business_day_is_eight_real_hours_on_the_day_clocks_change() -> None:
    # Given a Sunday 09:00-17:00 calendar and the Sunday clocks go forward (2026-03-29)
    sundays = Calendar.model_validate(
        {"timezone": "Europe/Berlin", "weekly": {"sun": ["09:00-17:00"]}}
    )
    # When eight hours are added from 09:00
    due = add_business_time(sundays, berlin(2026, 3, 29, 9, 0), timedelta(hours=8))
    # Then the day's eight hours are used up exactly at 17:00 local (15:00 UTC)
    assert due == berlin(2026, 3, 29, 17, 0)
    assert due == datetime(2026, 3, 29, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("night", "real_hours"),
    [((2026, 3, 28), 7), ((2026, 10, 24), 9), ((2026, 11, 7), 8)],
    ids=["clocks-forward", "clocks-back", "ordinary"],
)
def test_an_overnight_window_is_as_long_as_the_night_really_is(
    night: tuple[int, int, int], real_hours: int
) -> None:
    # Given a Saturday 22:00-06:00 night shift
    nights = Calendar.model_validate(
        {"timezone": "Europe/Berlin", "weekly": {"sat": "22:00-06:00"}}
    )
    start = berlin(*night, 22, 0)
    # When the shift's open time is measured (the start plus the open hours of one night)
    end = add_business_time(nights, start, timedelta(hours=real_hours))
    # Then it ends at 06:00 local time the next morning, and not one minute more fits
    assert end.astimezone(BERLIN).replace(tzinfo=None) == datetime(*night, 6, 0) + timedelta(days=1)
    later = add_business_time(nights, start, timedelta(hours=real_hours, minutes=1))
    assert later.astimezone(BERLIN).date() > end.astimezone(BERLIN).date()


def test_an_overnight_window_is_open_after_midnight() -> None:
    # Given a Friday 22:00-06:00 night shift
    nights = Calendar.model_validate(
        {"timezone": "Europe/Berlin", "weekly": {"fri": "22:00-06:00"}}
    )
    # When Saturday 03:00 and Saturday 07:00 are asked about
    # Then the night shift is open at 03:00 and closed at 07:00
    assert is_open(nights, berlin(2026, 11, 28, 3, 0))
    assert not is_open(nights, berlin(2026, 11, 28, 7, 0))


def test_a_holiday_closes_the_overnight_window_that_starts_on_it() -> None:
    # Given a Friday night shift and that Friday listed as a holiday
    nights = Calendar.model_validate(
        {
            "timezone": "Europe/Berlin",
            "weekly": {"fri": "22:00-06:00"},
            "holidays": ["2026-11-27"],
        }
    )
    # When Saturday 03:00 is asked about
    # Then the shift that would have started on Friday is closed
    assert not is_open(nights, berlin(2026, 11, 28, 3, 0))


def test_touching_windows_count_as_one_stretch() -> None:
    # Given a Saturday night shift followed by a Sunday morning shift
    shifts = Calendar.model_validate(
        {"timezone": "Europe/Berlin", "weekly": {"sat": "22:00-06:00", "sun": "06:00-10:00"}}
    )
    # When ten hours are added from Saturday 22:00
    due = add_business_time(shifts, berlin(2026, 11, 28, 22, 0), timedelta(hours=10))
    # Then they run through without a gap to Sunday 08:00
    assert due == berlin(2026, 11, 29, 8, 0)


def test_a_local_time_the_clocks_skip_is_read_before_the_jump() -> None:
    # Given a Sunday window opening at 02:30, which 2026-03-29 skips in Berlin
    early = Calendar.model_validate({"timezone": "Europe/Berlin", "weekly": {"sun": "02:30-05:00"}})
    # When it is asked about at 03:15 and 03:45 that morning
    # Then it opens at 03:30 local time (02:30 read with the winter offset)
    assert not is_open(early, berlin(2026, 3, 29, 3, 15))
    assert is_open(early, berlin(2026, 3, 29, 3, 45))


def test_no_calendar_is_open_around_the_clock() -> None:
    # Given no calendar
    # When Saturday 03:00 and a 30-hour span are asked about
    start = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    # Then it is open, and the span ends 30 real hours later
    assert is_open(None, start)
    assert add_business_time(None, start, timedelta(hours=30)) == start + timedelta(hours=30)


def test_naive_datetimes_are_refused() -> None:
    # Given a calendar
    office = calendar()
    # When a time without a zone is asked about / Then it is refused
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(office, datetime(2026, 11, 25, 10, 0))


def test_local_time_names_the_calendars_zone() -> None:
    # Given a Berlin calendar and a UTC instant
    # When it is described for a reason in a trace
    # Then it reads as the calendar's people see it
    at = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert local_time(calendar(), at) == "Sat 10:00 Europe/Berlin"
