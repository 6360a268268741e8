"""Protocol A.1, lesson hours: a group post that goes out while lessons run is silent, urgent
kinds excepted; on weekdays only, each period including its start and excluding its end, in the
school's wall-clock time also on the days daylight saving time starts and ends."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.bootstrap import make_policy
from bot.domain import Kind
from bot.errors import InvalidInput
from bot.policy import SchoolPolicy
from bot.rules import lesson_hours
from bot.rules.lesson_hours import LessonHours
from config.settings import load_settings
from tests.support.environ import local_environ

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEFAULT = LessonHours.parse("08:30-16:00")
EVERY_DAY = frozenset(range(7))
HOMEWORK, CANCELLED = Kind.HOMEWORK, Kind.LESSON_CANCELLED


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "periods"),
    [
        ("08:30-16:00", ((time(8, 30), time(16)),)),
        (" 08:30 - 16:00 ", ((time(8, 30), time(16)),)),
        ("08:30\u201316:00", ((time(8, 30), time(16)),)),
        ("8:30-12:00,12:30-16:00", ((time(8, 30), time(12)), (time(12, 30), time(16)))),
        ("12:30-16:00, 08:30-12:00", ((time(8, 30), time(12)), (time(12, 30), time(16)))),
        ("00:00-23:59", ((time(0), time(23, 59)),)),
    ],
)
def test_parse(spec: str, periods: tuple[tuple[time, time], ...]) -> None:
    parsed = LessonHours.parse(spec)
    assert parsed is not None
    assert parsed.periods == periods
    assert parsed.urgent_kinds == frozenset({CANCELLED})
    assert parsed.days == frozenset({0, 1, 2, 3, 4})


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_means_no_lesson_hours(spec: str) -> None:
    assert LessonHours.parse(spec) is None
    # Without lesson hours nothing is ever silent, at any hour of a school day.
    for hour in range(24):
        at = local(f"2026-11-23T{hour:02d}:00")
        assert not lesson_hours.silent(None, at, AMSTERDAM, HOMEWORK)
        assert not lesson_hours.silent(None, at, AMSTERDAM, None)


@pytest.mark.parametrize(
    "spec",
    ["08:30", "8-16", "08:30-", "-16:00", "16:00-08:30", "08:30-08:30", "24:00-25:00",
     "08:60-16:00", "08:30-16:00,", "08:30-16:00;12:00-13:00", "08.30-16.00", "lesuren",
     "08:30-12:00,,12:30-16:00", "22:00-02:00"],
)  # fmt: skip
def test_parse_refuses_bad_specs_in_one_line(spec: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        LessonHours.parse(spec)
    assert str(caught.value) == (
        f"Ongeldige lesuren '{spec}': gebruik UU:MM-UU:MM, meerdere gescheiden door komma's, "
        "bijvoorbeeld 08:30-16:00 (leeg = geen)."
    )
    assert caught.value.render("en") == (
        f"Invalid lesson hours '{spec}': use HH:MM-HH:MM, several separated by commas, for "
        "example 08:30-16:00 (empty = none)."
    )
    assert "\n" not in str(caught.value)


def test_parse_with_urgent_kinds() -> None:
    parsed = LessonHours.parse("08:30-16:00", urgent_kinds=["trip", "lesson-cancelled"])
    assert parsed is not None
    assert parsed.urgent_kinds == frozenset({Kind.TRIP, CANCELLED})
    none_urgent = LessonHours.parse("08:30-16:00", urgent_kinds=[])
    assert none_urgent is not None
    assert none_urgent.silent(local("2026-11-23T10:00"), AMSTERDAM, CANCELLED)


# --- when lessons run -------------------------------------------------------------------------

# Monday 2026-11-23 to Sunday 2026-11-29 (winter time, UTC+1).
WEEK = [
    ("2026-11-23T08:29", False),  # Monday, before the first lesson
    ("2026-11-23T08:30", True),  # the start belongs to the period
    ("2026-11-23T10:00", True),
    ("2026-11-23T15:59", True),
    ("2026-11-23T16:00", False),  # the end does not
    ("2026-11-23T17:00", False),
    ("2026-11-27T10:00", True),  # Friday
    ("2026-11-28T10:00", False),  # Saturday
    ("2026-11-29T10:00", False),  # Sunday
]


@pytest.mark.parametrize(("at", "running"), WEEK)
def test_lessons_run_on_weekdays_from_start_to_end(at: str, running: bool) -> None:
    assert DEFAULT is not None
    assert DEFAULT.in_lessons(local(at), AMSTERDAM) is running
    assert DEFAULT.silent(local(at), AMSTERDAM, HOMEWORK) is running
    assert DEFAULT.silent(local(at), AMSTERDAM, "reminder") is running


def test_the_instant_is_read_in_the_school_s_zone() -> None:
    assert DEFAULT is not None
    # 07:45 UTC is 08:45 in Amsterdam in winter: lessons run, though it is before 08:30 in UTC.
    assert DEFAULT.in_lessons(utc("2026-11-23T07:45"), AMSTERDAM)
    # 15:30 UTC is 16:30 in Amsterdam: school is out.
    assert not DEFAULT.in_lessons(utc("2026-11-23T15:30"), AMSTERDAM)
    # Friday 23:30 UTC is Saturday in Amsterdam (no lessons) and Friday 18:30 in New York.
    evening = LessonHours.parse("18:00-19:00")
    assert evening is not None
    assert not evening.in_lessons(utc("2026-11-27T23:30"), AMSTERDAM)
    assert evening.in_lessons(utc("2026-11-27T23:30"), ZoneInfo("America/New_York"))


def test_a_naive_instant_is_refused() -> None:
    assert DEFAULT is not None
    with pytest.raises(ValueError, match="aware"):
        DEFAULT.in_lessons(datetime(2026, 11, 23, 10, 0), AMSTERDAM)


@pytest.mark.parametrize(
    ("at", "running"),
    [
        ("08:29", False),
        ("08:30", True),
        ("11:59", True),
        ("12:00", False),  # the break between the two periods
        ("12:29", False),
        ("12:30", True),
        ("15:59", True),
        ("16:00", False),
    ],
)
def test_several_periods(at: str, running: bool) -> None:
    hours = LessonHours.parse("08:30-12:00, 12:30-16:00")
    assert hours is not None
    assert hours.silent(local(f"2026-11-24T{at}"), AMSTERDAM, HOMEWORK) is running


@pytest.mark.parametrize("at", ["2026-11-23T08:30", "2026-11-23T10:00", "2026-11-23T15:59"])
def test_urgent_kinds_are_never_silent(at: str) -> None:
    assert DEFAULT is not None
    assert not DEFAULT.silent(local(at), AMSTERDAM, CANCELLED)
    assert not DEFAULT.silent(local(at), AMSTERDAM, "lesson-cancelled")
    assert DEFAULT.silent(local(at), AMSTERDAM, HOMEWORK)


def test_a_notice_that_is_no_announcement_is_silent_in_lessons() -> None:
    assert DEFAULT is not None
    assert DEFAULT.silent(local("2026-11-23T10:00"), AMSTERDAM, None)
    assert not DEFAULT.silent(local("2026-11-23T17:00"), AMSTERDAM, None)


# --- daylight saving time ---------------------------------------------------------------------
# In Europe the clocks change on a Sunday (no lessons), so the weekdays around it show the wall
# clock: 07:45 UTC is 08:45 on the Friday before summer time starts and 09:45 on the Monday after.


@pytest.mark.parametrize(
    ("at", "running"),
    [
        ("2026-03-27T07:29", False),  # Friday 08:29 CET
        ("2026-03-27T07:30", True),  # Friday 08:30 CET
        ("2026-03-27T14:59", True),  # Friday 15:59 CET
        ("2026-03-27T15:00", False),  # Friday 16:00 CET
        ("2026-03-29T08:00", False),  # Sunday, the day summer time starts: no school
        ("2026-03-30T06:29", False),  # Monday 08:29 CEST
        ("2026-03-30T06:30", True),  # Monday 08:30 CEST
        ("2026-03-30T13:59", True),  # Monday 15:59 CEST
        ("2026-03-30T14:00", False),  # Monday 16:00 CEST
        ("2026-10-23T06:30", True),  # Friday 08:30 CEST
        ("2026-10-23T14:00", False),  # Friday 16:00 CEST
        ("2026-10-26T07:29", False),  # Monday 08:29 CET
        ("2026-10-26T07:30", True),  # Monday 08:30 CET
        ("2026-10-26T14:59", True),  # Monday 15:59 CET
        ("2026-10-26T15:00", False),  # Monday 16:00 CET
    ],
)
def test_weekdays_around_a_change_of_clocks(at: str, running: bool) -> None:
    assert DEFAULT is not None
    assert DEFAULT.silent(utc(at), AMSTERDAM, HOMEWORK) is running


def test_a_period_in_the_hour_that_is_skipped_keeps_its_clock_times() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC. A period 01:30-03:30 then lasts
    # one real hour: 01:30 CET (00:30 UTC) to 03:30 CEST (01:30 UTC).
    hours = LessonHours(((time(1, 30), time(3, 30)),), days=EVERY_DAY)
    assert not hours.in_lessons(utc("2026-03-29T00:29"), AMSTERDAM)
    assert hours.in_lessons(utc("2026-03-29T00:30"), AMSTERDAM)
    assert hours.in_lessons(utc("2026-03-29T00:59"), AMSTERDAM)  # 01:59 CET
    assert hours.in_lessons(utc("2026-03-29T01:00"), AMSTERDAM)  # 03:00 CEST
    assert hours.in_lessons(utc("2026-03-29T01:29"), AMSTERDAM)
    assert not hours.in_lessons(utc("2026-03-29T01:30"), AMSTERDAM)


def test_a_period_in_the_hour_that_is_repeated_runs_both_times() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00-03:00 happens twice.
    hours = LessonHours(((time(2), time(3)),), days=EVERY_DAY)
    assert not hours.in_lessons(utc("2026-10-24T23:59"), AMSTERDAM)  # 01:59 CEST
    assert hours.in_lessons(utc("2026-10-25T00:00"), AMSTERDAM)  # 02:00 CEST
    assert hours.in_lessons(utc("2026-10-25T00:59"), AMSTERDAM)  # 02:59 CEST
    assert hours.in_lessons(utc("2026-10-25T01:00"), AMSTERDAM)  # 02:00 CET
    assert hours.in_lessons(utc("2026-10-25T01:59"), AMSTERDAM)  # 02:59 CET
    assert not hours.in_lessons(utc("2026-10-25T02:00"), AMSTERDAM)  # 03:00 CET


# --- the school's policy ----------------------------------------------------------------------


def test_the_policy_decides_with_the_school_s_zone_and_defaults() -> None:
    policy = SchoolPolicy()
    assert policy.lesson_hours == DEFAULT
    assert policy.silent(utc("2026-11-23T09:00"), HOMEWORK)  # 10:00 in Amsterdam
    assert not policy.silent(utc("2026-11-23T09:00"), CANCELLED)
    assert not policy.silent(utc("2026-11-23T16:00"), HOMEWORK)  # 17:00
    assert not SchoolPolicy(lesson_hours=None).silent(utc("2026-11-23T09:00"), HOMEWORK)


def test_the_configuration_reaches_the_policy(tmp_path: Path) -> None:
    def policy(**env: str) -> SchoolPolicy:
        return make_policy(load_settings(environ=local_environ(tmp_path, **env)))

    ten = utc("2026-11-23T09:00")  # Monday 10:00 in Amsterdam
    assert policy().silent(ten, HOMEWORK)
    assert not policy(KLASBOT_SCHOOL__LESSON_HOURS="").silent(ten, HOMEWORK)
    mornings = policy(KLASBOT_SCHOOL__LESSON_HOURS="08:00-09:30")
    assert not mornings.silent(ten, HOMEWORK)
    assert mornings.silent(utc("2026-11-23T08:00"), HOMEWORK)
    trips = policy(KLASBOT_SCHOOL__URGENT_KINDS="trip")
    assert not trips.silent(ten, Kind.TRIP)
    assert trips.silent(ten, CANCELLED)
