"""When a letter arrives, and whether it arrives in time for the date an announcement is about.

Protocol B.1: pupils who cannot be in the group app are informed "per e-mail, per post of op een
andere wijze". A letter is the last channel of rule 6, and the slowest: a lesson cancellation for
tomorrow that a letter brings the day after tomorrow informs nobody. Such letters are still printed
(they are the record that the school informed the household), but the author is told to reach
those households another way (`bot.usecases.announcing`).

The count: a letter is made on the day its announcement goes out (after quiet hours or `--at`),
posted that working day (the next one when it is made in a weekend) and delivered `delivery_days`
working days (Monday to Friday) later. It is in time when it is delivered *before* the date it is
about: the lesson, the deadline or the trip is on that day, so arriving on it is too late. The
school's holidays are not counted (klasbot does not know them yet): a letter made just before a
holiday is taken to arrive sooner than it will. All functions are pure.
"""

from __future__ import annotations

from datetime import date, timedelta

WORKING_DAYS = frozenset(range(5))
"""Monday (0) to Friday (4): the days the post delivers a letter sent as ordinary mail."""


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while day.weekday() not in WORKING_DAYS:
        day += timedelta(days=1)
    return day


def arrives_on(made_on: date, delivery_days: int) -> date:
    """The day a letter made on `made_on` is delivered: `delivery_days` working days after the
    working day it is posted (`delivery_days` ≥ 0)."""
    if delivery_days < 0:
        raise ValueError("delivery_days must not be negative")
    day = next_working_day(made_on)
    for _ in range(delivery_days):
        day = next_working_day(day + timedelta(days=1))
    return day


def in_time(made_on: date, about: date, delivery_days: int) -> bool:
    """Whether a letter made on `made_on` is delivered before `about`, the date it is about."""
    return arrives_on(made_on, delivery_days) < about
