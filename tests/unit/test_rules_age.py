"""Rule 1 (B.1, footnote 4): the age rule on its boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.age import (
    MINIMUM_AGE,
    age_on,
    birthday_in,
    date_turning,
    effective_minimum,
    is_old_enough,
    local_today,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
BIRTH = date(2013, 11, 23)  # turns 13 on 2026-11-23

births = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


def test_minimum_age_is_thirteen() -> None:
    assert MINIMUM_AGE == 13


@pytest.mark.parametrize(
    ("birth", "year", "expected"),
    [
        (date(2013, 11, 23), 2026, date(2026, 11, 23)),
        (date(2013, 1, 1), 2026, date(2026, 1, 1)),
        (date(2013, 12, 31), 2026, date(2026, 12, 31)),
        (date(2013, 2, 28), 2026, date(2026, 2, 28)),
        (date(2013, 3, 1), 2028, date(2028, 3, 1)),
        # Leap-day birthdays: 29 February in leap years, 1 March otherwise.
        (date(2012, 2, 29), 2024, date(2024, 2, 29)),
        (date(2012, 2, 29), 2025, date(2025, 3, 1)),
        (date(2012, 2, 29), 2026, date(2026, 3, 1)),
        (date(2012, 2, 29), 2028, date(2028, 2, 29)),
        (date(2012, 2, 29), 2100, date(2100, 3, 1)),  # divisible by 100: no leap year
        (date(2012, 2, 29), 2000, date(2000, 2, 29)),  # divisible by 400: a leap year
    ],
)
def test_birthday_in(birth: date, year: int, expected: date) -> None:
    assert birthday_in(birth, year) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 22), 12),  # the day before the 13th birthday
        (date(2026, 11, 23), 13),  # the birthday itself
        (date(2026, 11, 24), 13),
        (date(2027, 11, 22), 13),
        (date(2027, 11, 23), 14),
        (date(2013, 11, 23), 0),
        (date(2026, 1, 1), 12),
        (date(2026, 12, 31), 13),
    ],
)
def test_age_on(day: date, expected: int) -> None:
    assert age_on(BIRTH, day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 2, 28), 12),  # 2025 has no 29 February: not yet 13
        (date(2025, 3, 1), 13),
        (date(2027, 2, 28), 14),
        (date(2027, 3, 1), 15),
        (date(2028, 2, 28), 15),  # 2028 is a leap year: the birthday is 29 February
        (date(2028, 2, 29), 16),
        (date(2028, 3, 1), 16),
    ],
)
def test_age_on_leap_day_birth(day: date, expected: int) -> None:
    assert age_on(date(2012, 2, 29), day) == expected


@pytest.mark.parametrize(
    ("birth", "years", "expected"),
    [
        (BIRTH, 13, date(2026, 11, 23)),
        (BIRTH, 16, date(2029, 11, 23)),
        (BIRTH, 0, BIRTH),
        (date(2012, 2, 29), 13, date(2025, 3, 1)),  # non-leap year: 1 March, never a day early
        (date(2012, 2, 29), 16, date(2028, 2, 29)),  # leap year: 29 February
        (date(2015, 2, 28), 13, date(2028, 2, 28)),
        (date(2015, 3, 1), 13, date(2028, 3, 1)),
    ],
)
def test_date_turning(birth: date, years: int, expected: date) -> None:
    assert date_turning(birth, years) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Winter (UTC+1): 23:00Z is already the next day in Amsterdam.
        (datetime(2026, 11, 22, 22, 59, tzinfo=UTC), date(2026, 11, 22)),
        (datetime(2026, 11, 22, 23, 0, tzinfo=UTC), date(2026, 11, 23)),
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), date(2026, 11, 23)),
        # Summer (UTC+2): 22:00Z is already the next day.
        (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), date(2026, 6, 30)),
        (datetime(2026, 6, 30, 22, 0, tzinfo=UTC), date(2026, 7, 1)),
        # New Year's Eve: the school year turns over at local midnight too.
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),
        # Any aware datetime is converted, not just UTC ones.
        (datetime(2026, 11, 23, 1, 0, tzinfo=timezone(timedelta(hours=5))), date(2026, 11, 22)),
        (datetime(2026, 11, 23, 0, 30, tzinfo=AMSTERDAM), date(2026, 11, 23)),
    ],
)
def test_local_today(now: datetime, expected: date) -> None:
    assert local_today(now, AMSTERDAM) == expected


def test_local_today_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_today(datetime(2026, 11, 22, 23, 30), AMSTERDAM)


@pytest.mark.parametrize(
    ("platform_min_age", "expected"),
    [(None, 13), (0, 13), (12, 13), (13, 13), (16, 16), (18, 18)],
)
def test_effective_minimum(platform_min_age: int | None, expected: int) -> None:
    assert effective_minimum(platform_min_age) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 22), False),  # 13th birthday tomorrow
        (date(2026, 11, 23), True),  # 13th birthday today
        (date(2026, 11, 24), True),  # 13th birthday yesterday
        (date(2020, 1, 1), False),
        (date(2040, 1, 1), True),
    ],
)
def test_is_old_enough_around_the_13th_birthday(day: date, expected: bool) -> None:
    assert is_old_enough(BIRTH, day) is expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 2, 28), False),
        (date(2025, 3, 1), True),
        (date(2024, 2, 29), False),  # 12 years old on its real birthday
    ],
)
def test_is_old_enough_leap_day_birth(day: date, expected: bool) -> None:
    assert is_old_enough(date(2012, 2, 29), day) is expected


@pytest.mark.parametrize(
    ("day", "minimum", "expected"),
    [
        (date(2029, 11, 22), 16, False),
        (date(2029, 11, 23), 16, True),
        (date(2026, 11, 23), 16, False),
        (date(2026, 11, 23), effective_minimum(None), True),
        (date(2026, 11, 23), effective_minimum(16), False),
    ],
)
def test_is_old_enough_with_a_platform_minimum(day: date, minimum: int, expected: bool) -> None:
    assert is_old_enough(BIRTH, day, minimum) is expected


@pytest.mark.parametrize("day", [date(2000, 1, 1), date(2026, 11, 23), date(2090, 1, 1)])
def test_unknown_birth_date_is_never_old_enough(day: date) -> None:
    assert is_old_enough(None, day) is False
    assert is_old_enough(None, day, 0) is False


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 22, 22, 59, tzinfo=UTC), False),  # 23:59 in Amsterdam
        (datetime(2026, 11, 22, 23, 0, tzinfo=UTC), True),  # local midnight of the birthday
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), True),  # the UTC date is still the 22nd
    ],
)
def test_birthday_starts_at_local_midnight(now: datetime, expected: bool) -> None:
    assert is_old_enough(BIRTH, local_today(now, AMSTERDAM)) is expected
    # The UTC date would get it wrong in the hour after local midnight.
    assert is_old_enough(BIRTH, now.date()) is False


@given(births, st.integers(min_value=0, max_value=30))
def test_date_turning_is_the_first_day_of_that_age(birth: date, years: int) -> None:
    turning = date_turning(birth, years)
    assert age_on(birth, turning) == years
    assert age_on(birth, turning - timedelta(days=1)) == years - 1


@given(births, days)
def test_old_enough_exactly_from_the_13th_birthday(birth: date, day: date) -> None:
    assert is_old_enough(birth, day) == (day >= date_turning(birth, MINIMUM_AGE))


@given(births, days)
def test_age_never_decreases(birth: date, day: date) -> None:
    if day < date.max:
        assert age_on(birth, day + timedelta(days=1)) >= age_on(birth, day)
