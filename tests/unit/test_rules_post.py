"""When a letter arrives (`bot.rules.post`): posted the working day it is made (Monday if made in a
weekend), delivered the given number of working days later, in time only before the date."""

from __future__ import annotations

from datetime import date

import pytest

from bot.rules.post import arrives_on, in_time, next_working_day

MONDAY = date(2026, 11, 23)
FRIDAY = date(2026, 11, 27)
SATURDAY = date(2026, 11, 28)
SUNDAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("made", "days", "arrives"),
    [
        (MONDAY, 2, date(2026, 11, 25)),
        (MONDAY, 1, date(2026, 11, 24)),
        (MONDAY, 0, MONDAY),
        (FRIDAY, 1, date(2026, 11, 30)),
        (FRIDAY, 2, date(2026, 12, 1)),
        (SATURDAY, 2, date(2026, 12, 2)),  # posted Monday
        (SUNDAY, 1, date(2026, 12, 1)),
        (MONDAY, 5, date(2026, 11, 30)),
        (date(2026, 12, 31), 2, date(2027, 1, 4)),  # Thursday: Friday, then Monday
    ],
)
def test_working_days_are_counted(made: date, days: int, arrives: date) -> None:
    assert arrives_on(made, days) == arrives


def test_next_working_day() -> None:
    assert next_working_day(MONDAY) == MONDAY
    assert next_working_day(SATURDAY) == next_working_day(SUNDAY) == date(2026, 11, 30)


def test_in_time_means_before_the_day() -> None:
    assert in_time(MONDAY, date(2026, 11, 26), 2)
    assert not in_time(MONDAY, date(2026, 11, 25), 2)  # arrives on the day itself
    assert not in_time(MONDAY, date(2026, 11, 24), 2)


def test_a_negative_number_of_days_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        arrives_on(MONDAY, -1)
