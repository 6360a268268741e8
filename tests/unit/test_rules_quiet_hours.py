"""Rule 8: quiet hours, on ordinary days and on the days daylight saving time starts and ends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.rules.quiet_hours import QuietHours, parse_time

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEFAULT = QuietHours()
NORMAL, URGENT = "homework", "lesson-cancelled"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM)


def test_defaults() -> None:
    assert DEFAULT.start == time(21, 0)
    assert DEFAULT.end == time(7, 0)
    assert DEFAULT.urgent_from == time(6, 30)
    assert DEFAULT.urgent_kinds == frozenset({"lesson-cancelled"})
    assert DEFAULT.enabled
    assert DEFAULT.spec == "21:00-07:00"


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("21:00-07:00", time(21), time(7)),
        (" 21:00 - 07:00 ", time(21), time(7)),
        ("21:00\u201307:00", time(21), time(7)),
        ("22:30-6:45", time(22, 30), time(6, 45)),
        ("12:00-13:00", time(12), time(13)),
        ("00:00-23:59", time(0), time(23, 59)),
    ],
)
def test_parse(spec: str, start: time, end: time) -> None:
    parsed = QuietHours.parse(spec)
    assert (parsed.start, parsed.end) == (start, end)
    assert parsed.urgent_from == time(6, 30)
    assert parsed.urgent_kinds == frozenset({"lesson-cancelled"})
    assert QuietHours.parse(parsed.spec) == parsed


def test_parse_with_urgent_settings() -> None:
    parsed = QuietHours.parse("21:00-07:00", urgent_from="06:00", urgent_kinds=["trip", "homework"])
    assert parsed == QuietHours(time(21), time(7), time(6), frozenset({"trip", "homework"}))
    assert QuietHours.parse("21:00-07:00", urgent_from=time(6, 15)).urgent_from == time(6, 15)


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_spec_means_no_quiet_hours(spec: str) -> None:
    parsed = QuietHours.parse(spec)
    assert not parsed.enabled
    assert parsed.spec == ""
    for hour in range(24):
        now = local(f"2026-01-15T{hour:02d}:00")
        assert parsed.release_at(now, AMSTERDAM, NORMAL) is None
        assert parsed.release_at(now, AMSTERDAM, URGENT) is None


@pytest.mark.parametrize(
    "spec",
    ["21:00", "21-7", "21:00-", "-07:00", "24:00-07:00", "21:60-07:00", "9pm-7am",
     "21:00-07:00-08:00", "21.00-07.00", "21:0-07:00", "tot 07:00"],
)  # fmt: skip
def test_parse_refuses_bad_specs(spec: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        QuietHours.parse(spec)
    assert str(caught.value) == (
        f"Ongeldige stille uren '{spec}': gebruik UU:MM-UU:MM, bijvoorbeeld 21:00-07:00 "
        "(leeg = geen stille uren)."
    )
    assert "for example 21:00-07:00" in caught.value.render("en")


@pytest.mark.parametrize("value", ["", "6", "06:60", "25:00", "half zeven"])
def test_parse_time_refuses_bad_times(value: str) -> None:
    with pytest.raises(InvalidInput, match="bijvoorbeeld 06:30"):
        parse_time(value)
    with pytest.raises(InvalidInput):
        QuietHours.parse("21:00-07:00", urgent_from=value)


def test_naive_times_only() -> None:
    with pytest.raises(ValueError, match="naive"):
        QuietHours(start=time(21, tzinfo=UTC))


def test_release_at_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        DEFAULT.release_at(datetime(2026, 1, 15, 22, 0), AMSTERDAM, NORMAL)


# Local wall-clock time → release instant (UTC) for a normal and an urgent kind, None = send now.
# 2026-01-15: winter (UTC+1). 2026-07-15: summer (UTC+2).
# 2026-03-29: DST starts at 02:00 CET → 03:00 CEST. 2026-10-25: DST ends at 03:00 CEST → 02:00 CET.
BOUNDARIES = [
    # an ordinary winter day
    ("2026-01-15T20:59", None, None),
    ("2026-01-15T21:00", "2026-01-16T06:00", "2026-01-16T05:30"),
    ("2026-01-15T23:59", "2026-01-16T06:00", "2026-01-16T05:30"),
    ("2026-01-16T00:00", "2026-01-16T06:00", "2026-01-16T05:30"),
    ("2026-01-16T06:29", "2026-01-16T06:00", "2026-01-16T05:30"),
    ("2026-01-16T06:30", "2026-01-16T06:00", None),
    ("2026-01-16T06:59", "2026-01-16T06:00", None),
    ("2026-01-16T07:00", None, None),
    ("2026-01-16T12:00", None, None),
    # an ordinary summer day
    ("2026-07-15T20:59", None, None),
    ("2026-07-15T21:00", "2026-07-16T05:00", "2026-07-16T04:30"),
    ("2026-07-16T06:29", "2026-07-16T05:00", "2026-07-16T04:30"),
    ("2026-07-16T06:30", "2026-07-16T05:00", None),
    ("2026-07-16T07:00", None, None),
    # the night DST starts: quiet hours begin in winter time and end in summer time
    ("2026-03-28T20:59", None, None),
    ("2026-03-28T21:00", "2026-03-29T05:00", "2026-03-29T04:30"),
    ("2026-03-29T01:59", "2026-03-29T05:00", "2026-03-29T04:30"),
    ("2026-03-29T03:00", "2026-03-29T05:00", "2026-03-29T04:30"),
    ("2026-03-29T06:29", "2026-03-29T05:00", "2026-03-29T04:30"),
    ("2026-03-29T06:30", "2026-03-29T05:00", None),
    ("2026-03-29T06:59", "2026-03-29T05:00", None),
    ("2026-03-29T07:00", None, None),
    ("2026-03-29T20:59", None, None),
    ("2026-03-29T21:00", "2026-03-30T05:00", "2026-03-30T04:30"),
    # the night DST ends: quiet hours begin in summer time and end in winter time
    ("2026-10-24T20:59", None, None),
    ("2026-10-24T21:00", "2026-10-25T06:00", "2026-10-25T05:30"),
    ("2026-10-25T02:30", "2026-10-25T06:00", "2026-10-25T05:30"),
    ("2026-10-25T06:29", "2026-10-25T06:00", "2026-10-25T05:30"),
    ("2026-10-25T06:30", "2026-10-25T06:00", None),
    ("2026-10-25T06:59", "2026-10-25T06:00", None),
    ("2026-10-25T07:00", None, None),
    ("2026-10-25T20:59", None, None),
    ("2026-10-25T21:00", "2026-10-26T06:00", "2026-10-26T05:30"),
    # the last night of the year
    ("2026-12-31T22:00", "2027-01-01T06:00", "2027-01-01T05:30"),
]


@pytest.mark.parametrize(("wall", "normal", "urgent"), BOUNDARIES)
def test_release_at_boundaries(wall: str, normal: str | None, urgent: str | None) -> None:
    now = local(wall)
    for kind, expected in ((NORMAL, normal), (URGENT, urgent)):
        released = DEFAULT.release_at(now, AMSTERDAM, kind)
        assert released == (utc(expected) if expected else None), kind
        if released is not None:
            assert released.tzinfo is UTC
            assert released > now


@pytest.mark.parametrize(("wall", "normal", "urgent"), BOUNDARIES)
def test_release_at_accepts_now_in_any_zone(
    wall: str, normal: str | None, urgent: str | None
) -> None:
    now = local(wall).astimezone(UTC)
    assert DEFAULT.release_at(now, AMSTERDAM, NORMAL) == (utc(normal) if normal else None)


@pytest.mark.parametrize("kind", ["reminder", "trip", "homework", "feest"])
def test_only_urgent_kinds_may_go_from_urgent_from(kind: str) -> None:
    assert DEFAULT.release_at(local("2026-01-16T06:45"), AMSTERDAM, kind) == utc("2026-01-16T06:00")


def test_the_school_chooses_its_urgent_kinds() -> None:
    quiet = QuietHours(urgent_kinds=frozenset({"trip"}))
    now = local("2026-01-16T06:45")
    assert quiet.release_at(now, AMSTERDAM, "trip") is None
    assert quiet.release_at(now, AMSTERDAM, "lesson-cancelled") == utc("2026-01-16T06:00")


@pytest.mark.parametrize(
    ("wall", "normal", "urgent"),
    [
        ("2026-01-15T11:59", None, None),
        ("2026-01-15T12:00", "2026-01-15T12:00", "2026-01-15T12:00"),
        ("2026-01-15T12:59", "2026-01-15T12:00", "2026-01-15T12:00"),
        ("2026-01-15T13:00", None, None),
        ("2026-01-15T21:00", None, None),
        ("2026-01-15T06:45", None, None),
        ("2026-07-15T12:30", "2026-07-15T11:00", "2026-07-15T11:00"),
    ],
)
def test_quiet_hours_that_do_not_cross_midnight(
    wall: str, normal: str | None, urgent: str | None
) -> None:
    # 06:30 lies outside 12:00-13:00, so urgent kinds wait like any other.
    quiet = QuietHours.parse("12:00-13:00")
    now = local(wall)
    assert quiet.release_at(now, AMSTERDAM, NORMAL) == (utc(normal) if normal else None)
    assert quiet.release_at(now, AMSTERDAM, URGENT) == (utc(urgent) if urgent else None)


def test_urgent_from_inside_a_daytime_window() -> None:
    quiet = QuietHours.parse("12:00-13:00", urgent_from="12:30")
    assert quiet.release_at(local("2026-01-15T12:10"), AMSTERDAM, URGENT) == utc("2026-01-15T11:30")
    assert quiet.release_at(local("2026-01-15T12:30"), AMSTERDAM, URGENT) is None
    assert quiet.release_at(local("2026-01-15T12:30"), AMSTERDAM, NORMAL) == utc("2026-01-15T12:00")


def test_urgent_from_at_the_start_means_urgent_kinds_are_never_held() -> None:
    quiet = QuietHours.parse("21:00-07:00", urgent_from="21:00")
    assert quiet.release_at(local("2026-01-15T23:00"), AMSTERDAM, URGENT) is None
    assert quiet.release_at(local("2026-01-15T23:00"), AMSTERDAM, NORMAL) is not None


@pytest.mark.parametrize(
    ("urgent_from", "expected"),
    [("07:00", "2026-01-16T06:00"), ("20:00", "2026-01-16T06:00"), ("00:00", "2026-01-15T23:00")],
)
def test_urgent_from_at_or_outside_the_window_edges(urgent_from: str, expected: str) -> None:
    quiet = QuietHours.parse("21:00-07:00", urgent_from=urgent_from)
    assert quiet.release_at(local("2026-01-15T22:00"), AMSTERDAM, URGENT) == utc(expected)


def test_end_for() -> None:
    assert DEFAULT.end_for(URGENT) == time(6, 30)
    assert DEFAULT.end_for(NORMAL) == time(7, 0)


def test_an_end_time_that_does_not_exist_that_night() -> None:
    # 02:30 is skipped when the clocks go forward: release at the jump, 03:00 CEST = 01:00Z.
    quiet = QuietHours.parse("00:00-02:30")
    assert quiet.release_at(local("2026-03-29T00:10"), AMSTERDAM, NORMAL) == utc("2026-03-29T01:00")
    assert quiet.release_at(local("2026-03-29T03:00"), AMSTERDAM, NORMAL) is None


def test_an_end_time_that_occurs_twice_that_night() -> None:
    # 02:30 occurs at 00:30Z (summer time) and again at 01:30Z (winter time).
    quiet = QuietHours.parse("00:00-02:30")
    first_pass = datetime(2026, 10, 25, 2, 10, fold=0, tzinfo=AMSTERDAM)
    second_pass = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=AMSTERDAM)
    assert first_pass.astimezone(UTC) == utc("2026-10-25T00:10")
    assert second_pass.astimezone(UTC) == utc("2026-10-25T01:10")
    assert quiet.release_at(first_pass, AMSTERDAM, NORMAL) == utc("2026-10-25T00:30")
    assert quiet.release_at(second_pass, AMSTERDAM, NORMAL) == utc("2026-10-25T01:30")
    assert quiet.release_at(utc("2026-10-25T00:30"), AMSTERDAM, NORMAL) is None


def test_other_time_zones() -> None:
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 1, 15, 22, 0, tzinfo=new_york)
    assert DEFAULT.release_at(now, new_york, NORMAL) == utc("2026-01-16T12:00")


_SPECS = st.sampled_from(
    [DEFAULT, QuietHours.parse("12:00-13:00"), QuietHours.parse("00:00-02:30"),
     QuietHours.parse("02:15-03:30", urgent_from="02:45"), QuietHours.parse("22:00-06:00")]
)  # fmt: skip


@given(
    _SPECS,
    st.one_of(
        st.datetimes(
            min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
        ),
        # The nights the clocks change, where wall-clock arithmetic goes wrong.
        st.datetimes(
            min_value=datetime(2026, 3, 28), max_value=datetime(2026, 3, 30), timezones=st.just(UTC)
        ),
        st.datetimes(
            min_value=datetime(2026, 10, 24),
            max_value=datetime(2026, 10, 26),
            timezones=st.just(UTC),
        ),
    ),
    st.sampled_from([NORMAL, URGENT]),
)
def test_release_is_the_end_of_the_quiet_period(
    quiet: QuietHours, now: datetime, kind: str
) -> None:
    released = quiet.release_at(now, AMSTERDAM, kind)
    if released is None:
        return
    assert released > now
    assert released - now <= timedelta(hours=25)
    assert quiet.release_at(released, AMSTERDAM, kind) is None  # free at the release instant
    just_before = released - timedelta(seconds=1)
    if just_before > now:
        assert quiet.release_at(just_before, AMSTERDAM, kind) == released  # quiet until then
