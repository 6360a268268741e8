"""`bot.recurrence`: occurrences of an RRULE over Amsterdam wall-clock time, across the daylight
saving switches of 2026 and 2027, holidays, ends and exceptions, and the spacing a flood limit
compares."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.domain import Holiday
from bot.recurrence import (
    Occurrence,
    first_start,
    localize,
    next_occurrence,
    occurrences,
    shortest_gap,
)

TZ = ZoneInfo("Europe/Amsterdam")
WINTER = dt.timedelta(hours=1)
SUMMER = dt.timedelta(hours=2)
MONDAYS = "FREQ=WEEKLY;BYDAY=MO"
SUNDAYS = "FREQ=WEEKLY;BYDAY=SU"
WORKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
OTHER_FRIDAYS = "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"
DAILY = "FREQ=DAILY"

SPRING_FORWARD = {2026: dt.date(2026, 3, 29), 2027: dt.date(2027, 3, 28)}
FALL_BACK = {2026: dt.date(2026, 10, 25), 2027: dt.date(2027, 10, 31)}
"""The last Sundays of March and October: 02:00 → 03:00 and 03:00 → 02:00 local time."""


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def wall(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


# --- localize ------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2026, 2027])
@pytest.mark.parametrize(
    ("hour", "minute", "expected", "offset"),
    [
        (1, 59, dt.time(1, 59), WINTER),
        (2, 0, dt.time(3, 0), SUMMER),  # in the gap: the end of the gap
        (2, 30, dt.time(3, 0), SUMMER),
        (2, 59, dt.time(3, 0), SUMMER),
        (3, 0, dt.time(3, 0), SUMMER),
    ],
)
def test_localize_in_spring_moves_to_the_end_of_the_gap(
    year: int, hour: int, minute: int, expected: dt.time, offset: dt.timedelta
) -> None:
    day = SPRING_FORWARD[year]
    result = localize(wall(day, hour, minute), TZ)
    assert result.tzinfo is TZ
    assert result.date() == day
    assert result.time() == expected
    assert result.utcoffset() == offset


@pytest.mark.parametrize("year", [2026, 2027])
def test_localize_in_autumn_takes_the_first_of_the_repeated_hour(year: int) -> None:
    day = FALL_BACK[year]
    result = localize(wall(day, 2, 30), TZ)
    assert result.utcoffset() == SUMMER
    assert result.astimezone(dt.UTC) == utc(day.year, day.month, day.day, 0, 30)
    assert localize(wall(day, 3, 0), TZ).utcoffset() == WINTER


# --- daylight saving time ------------------------------------------------------------------------


@pytest.mark.parametrize("switch", [*SPRING_FORWARD.values(), *FALL_BACK.values()])
def test_weekly_monday_0800_stays_0800_local_around_each_switch(switch: dt.date) -> None:
    monday_before = switch - dt.timedelta(days=6)
    found = occurrences(MONDAYS, wall(monday_before, 8), TZ, after=at(2026, 1, 1), limit=2)
    assert [o.wall for o in found] == [
        wall(monday_before, 8),
        wall(monday_before + dt.timedelta(days=7), 8),
    ]
    assert [o.at.time() for o in found] == [dt.time(8, 0), dt.time(8, 0)]
    before, after = (o.at.utcoffset() for o in found)
    assert (before, after) == ((WINTER, SUMMER) if switch.month == 3 else (SUMMER, WINTER))
    assert not any(o.moved for o in found)


@pytest.mark.parametrize("year", [2026, 2027])
def test_sunday_0230_on_the_spring_forward_night_fires_once_at_0300(year: int) -> None:
    night = SPRING_FORWARD[year]
    week_before = night - dt.timedelta(days=7)
    found = occurrences(SUNDAYS, wall(week_before, 2, 30), TZ, after=at(year, 1, 1), limit=3)
    assert [o.wall for o in found] == [
        wall(week_before, 2, 30),
        wall(night, 2, 30),
        wall(night + dt.timedelta(days=7), 2, 30),
    ]
    moved = found[1]
    assert moved.at == dt.datetime.combine(night, dt.time(3, 0), tzinfo=TZ)
    assert moved.at.astimezone(dt.UTC) == utc(year, 3, night.day, 1, 0)
    assert moved.moved is True
    assert found[0].moved is False
    assert found[2].moved is False
    # Once: right after it fired, the next one is a week later.
    following = next_occurrence(SUNDAYS, wall(week_before, 2, 30), TZ, after=moved.at)
    assert following is not None
    assert following.wall == wall(night + dt.timedelta(days=7), 2, 30)


@pytest.mark.parametrize("year", [2026, 2027])
def test_sunday_0230_on_the_autumn_night_fires_once(year: int) -> None:
    night = FALL_BACK[year]
    first = next_occurrence(SUNDAYS, wall(night, 2, 30), TZ, after=at(year, 10, 1))
    assert first is not None
    assert first.at.astimezone(dt.UTC) == utc(year, 10, night.day, 0, 30)  # summer time
    assert first.moved is False
    # The second 02:30 (winter time, an hour later in UTC) is not another firing.
    for after in (first.at, first.at + dt.timedelta(minutes=59), first.at + dt.timedelta(hours=1)):
        again = next_occurrence(SUNDAYS, wall(night, 2, 30), TZ, after=after)
        assert again is not None
        assert again.wall == wall(night + dt.timedelta(days=7), 2, 30)


def test_a_one_off_in_the_spring_gap_fires_at_0300() -> None:
    found = occurrences(None, wall(SPRING_FORWARD[2026], 2, 30), TZ, after=at(2026, 3, 1))
    assert found == [
        Occurrence(at(2026, 3, 29, 3, 0), wall(SPRING_FORWARD[2026], 2, 30)),
    ]
    assert found[0].moved


def test_daily_across_spring_forward_keeps_its_wall_clock() -> None:
    found = occurrences(DAILY, wall(dt.date(2026, 3, 28), 8), TZ, after=at(2026, 3, 1))
    assert [o.at for o in found] == [at(2026, 3, 28, 8), at(2026, 3, 29, 8), at(2026, 3, 30, 8)]
    assert found[1].at - found[0].at == dt.timedelta(days=1)
    assert found[1].at.astimezone(dt.UTC) - found[0].at.astimezone(dt.UTC) == dt.timedelta(hours=23)


# --- holidays, end, exceptions -------------------------------------------------------------------

CHRISTMAS = Holiday(dt.date(2026, 12, 19), dt.date(2027, 1, 3), "Kerstvakantie")


def test_a_recurring_rule_skips_holidays() -> None:
    found = occurrences(
        MONDAYS, wall(dt.date(2026, 12, 14), 8), TZ, after=at(2026, 12, 1), holidays=[CHRISTMAS]
    )
    assert [o.wall.date() for o in found] == [
        dt.date(2026, 12, 14),
        dt.date(2027, 1, 4),  # 21 and 28 December are in the holiday
        dt.date(2027, 1, 11),
    ]
    assert all(o.holiday is None for o in found)


def test_a_one_off_in_a_holiday_fires_and_names_it() -> None:
    found = occurrences(
        None, wall(dt.date(2026, 12, 21), 8), TZ, after=at(2026, 12, 1), holidays=[CHRISTMAS]
    )
    assert [o.at for o in found] == [at(2026, 12, 21, 8)]
    assert found[0].holiday == CHRISTMAS


def test_a_one_off_outside_holidays_names_none() -> None:
    found = occurrences(
        None, wall(dt.date(2026, 12, 18), 8), TZ, after=at(2026, 12, 1), holidays=[CHRISTMAS]
    )
    assert found[0].holiday is None


def test_until_is_the_last_day_inclusive() -> None:
    start = wall(dt.date(2026, 11, 30), 8)
    found = occurrences(
        MONDAYS, start, TZ, after=at(2026, 11, 1), until=dt.date(2026, 12, 14), limit=10
    )
    assert [o.wall.date() for o in found] == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 14),
    ]
    assert (
        next_occurrence(MONDAYS, start, TZ, after=at(2026, 12, 14, 8), until=dt.date(2026, 12, 20))
        is None
    )


def test_exceptions_are_skipped() -> None:
    found = occurrences(
        WORKDAYS,
        wall(dt.date(2026, 11, 30), 7, 45),
        TZ,
        after=at(2026, 11, 1),
        exceptions=[dt.date(2026, 12, 1), dt.date(2026, 12, 3)],
        limit=3,
    )
    assert [o.wall.date() for o in found] == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 2),
        dt.date(2026, 12, 4),
    ]


def test_an_exception_on_a_one_off_leaves_nothing() -> None:
    start = wall(dt.date(2026, 12, 1), 8)
    assert occurrences(None, start, TZ, after=at(2026, 11, 1), exceptions=[start.date()]) == []


def test_only_occurrences_strictly_after() -> None:
    start = wall(dt.date(2026, 11, 30), 8)
    found = occurrences(MONDAYS, start, TZ, after=at(2026, 11, 30, 8), limit=1)
    assert [o.at for o in found] == [at(2026, 12, 7, 8)]
    assert occurrences(None, start, TZ, after=at(2026, 11, 30, 8)) == []


def test_every_other_week_counts_from_its_start() -> None:
    found = occurrences(OTHER_FRIDAYS, wall(dt.date(2026, 12, 4), 15), TZ, after=at(2026, 12, 1))
    assert [o.wall.date() for o in found] == [
        dt.date(2026, 12, 4),
        dt.date(2026, 12, 18),
        dt.date(2027, 1, 1),
    ]


def test_a_rule_that_only_falls_in_holidays_gives_nothing() -> None:
    always = Holiday(dt.date(2026, 1, 1), dt.date(2099, 12, 31), "Forever")
    assert (
        occurrences(
            DAILY, wall(dt.date(2026, 11, 30), 8), TZ, after=at(2026, 1, 1), holidays=[always]
        )
        == []
    )


def test_occurrences_need_an_aware_after() -> None:
    with pytest.raises(ValueError, match="aware"):
        occurrences(DAILY, wall(dt.date(2026, 11, 30), 8), TZ, after=dt.datetime(2026, 11, 1))


# --- first_start ---------------------------------------------------------------------------------

NOW = at(2026, 11, 30, 10, 0)  # a Monday morning


@pytest.mark.parametrize(
    ("rule", "time", "now", "expected"),
    [
        (MONDAYS, dt.time(8, 0), NOW, wall(dt.date(2026, 12, 7), 8)),  # passed today: next week
        (MONDAYS, dt.time(11, 0), NOW, wall(dt.date(2026, 11, 30), 11)),  # still ahead today
        (MONDAYS, dt.time(10, 0), NOW, wall(dt.date(2026, 11, 30), 10)),  # exactly now
        (WORKDAYS, dt.time(7, 45), NOW, wall(dt.date(2026, 12, 1), 7, 45)),
        (WORKDAYS, dt.time(7, 45), at(2026, 12, 4, 9), wall(dt.date(2026, 12, 7), 7, 45)),
        (DAILY, dt.time(8, 0), NOW, wall(dt.date(2026, 12, 1), 8)),
        (DAILY, dt.time(23, 0), NOW, wall(dt.date(2026, 11, 30), 23)),
        # Every other week starts on the first such day, not two weeks on.
        (OTHER_FRIDAYS, dt.time(15, 0), NOW, wall(dt.date(2026, 12, 4), 15)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", dt.time(8, 0), NOW, wall(dt.date(2026, 12, 7), 8)),
        (SUNDAYS, dt.time(2, 30), at(2026, 3, 28, 12), wall(dt.date(2026, 3, 29), 2, 30)),
    ],
)
def test_first_start(rule: str, time: dt.time, now: dt.datetime, expected: dt.datetime) -> None:
    start = first_start(rule, time, TZ, now=now)
    assert start == expected
    assert start.tzinfo is None


def test_first_start_reads_now_in_the_schools_time_zone() -> None:
    # 23:30 UTC on Monday 30 November is already Tuesday in Amsterdam.
    start = first_start(MONDAYS, dt.time(8, 0), TZ, now=utc(2026, 11, 30, 23, 30))
    assert start == wall(dt.date(2026, 12, 7), 8)


def test_first_start_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        first_start(MONDAYS, dt.time(8, 0), TZ, now=dt.datetime(2026, 11, 30, 10))


# --- shortest_gap --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        (MONDAYS, wall(dt.date(2026, 11, 30), 8), dt.timedelta(days=7)),
        (OTHER_FRIDAYS, wall(dt.date(2026, 12, 4), 15), dt.timedelta(days=14)),
        (WORKDAYS, wall(dt.date(2026, 11, 30), 7, 45), dt.timedelta(days=1)),
        (DAILY, wall(dt.date(2026, 11, 30), 8), dt.timedelta(days=1)),
        ("FREQ=HOURLY;INTERVAL=2", wall(dt.date(2026, 11, 30), 8), dt.timedelta(hours=2)),
        ("FREQ=WEEKLY;BYDAY=MO,TU", wall(dt.date(2026, 11, 30), 8), dt.timedelta(days=1)),
        # Across the spring-forward night a daily 02:30 is still a day apart (one firing at
        # 03:00 that night), not 23.5 hours.
        (DAILY, wall(dt.date(2026, 3, 20), 2, 30), dt.timedelta(days=1)),
        (DAILY, wall(dt.date(2027, 3, 20), 2, 30), dt.timedelta(days=1)),
        (DAILY, wall(dt.date(2026, 10, 20), 2, 30), dt.timedelta(days=1)),
    ],
)
def test_shortest_gap(rule: str, start: dt.datetime, expected: dt.timedelta) -> None:
    assert shortest_gap(rule, start, TZ) == expected


def test_shortest_gap_of_a_rule_with_one_occurrence_is_unbounded() -> None:
    assert shortest_gap("FREQ=DAILY;COUNT=1", wall(dt.date(2026, 11, 30), 8), TZ) == (
        dt.timedelta.max
    )
