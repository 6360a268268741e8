"""The school's calendar: holiday periods and the last day of the school year.

Recurring reminders do not fire in a holiday (a mentor's "elke maandag" means every Monday the
school is open); a one-off that falls in one is allowed, and its preview says so. A schedule ends
with the school year unless its author sets another end, and on the school year's last day the
class groups are archived (`bot.usecases.sweep`): a class group belongs to one school year.

Holiday periods are whole local days, `start` to `end` inclusive; they come from the
configuration (`school.holidays`, entries `YYYY-MM-DD/YYYY-MM-DD Name`, or one day
`YYYY-MM-DD Name`) and from the calendar the school publishes (`klasbot holidays import`). All
functions are pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from bot.domain import Holiday
from bot.errors import InvalidInput
from bot.i18n import Msg

BAD_HOLIDAY = Msg(
    "Invalid holiday '{spec}': use START/END Name with dates YYYY-MM-DD, for example "
    "2026-10-17/2026-10-25 Herfstvakantie."
)
BAD_HOLIDAY_ORDER = Msg("Invalid holiday '{spec}': it ends before it starts.")
BAD_YEAR_END = Msg("Invalid end of the school year '{spec}': use MM-DD, for example 07-31.")

_PERIOD = re.compile(
    r"\s*(\d{4}-\d{2}-\d{2})\s*(?:(?:/|\.\.|\s+-\s+|\s*\u2013\s*)\s*(\d{4}-\d{2}-\d{2}))?\s*(.*?)\s*"
)
_MONTH_DAY = re.compile(r"\s*(\d{1,2})-(\d{1,2})\s*")


def parse_holiday(spec: str, *, source: str = "config") -> Holiday:
    """`2026-10-17/2026-10-25 Herfstvakantie` → Holiday(2026-10-17, 2026-10-25, …); a single
    date is a one-day holiday; `..` may stand for `/`. Raises InvalidInput otherwise."""
    match = _PERIOD.fullmatch(spec)
    if match is None:
        raise InvalidInput(BAD_HOLIDAY, spec=spec)
    try:
        start = date.fromisoformat(match[1])
        end = date.fromisoformat(match[2]) if match[2] else start
    except ValueError:
        raise InvalidInput(BAD_HOLIDAY, spec=spec) from None
    if end < start:
        raise InvalidInput(BAD_HOLIDAY_ORDER, spec=spec)
    return Holiday(start, end, match[3] or "", source)


def in_holiday(day: date, holidays: Iterable[Holiday]) -> Holiday | None:
    """The holiday period `day` falls in, or None."""
    return next((h for h in holidays if h.contains(day)), None)


def parse_year_end(spec: str) -> tuple[int, int]:
    """`07-31` → (7, 31): the school year's last day, every year. 29 February is refused."""
    match = _MONTH_DAY.fullmatch(spec)
    if match is None:
        raise InvalidInput(BAD_YEAR_END, spec=spec)
    month, day = int(match[1]), int(match[2])
    try:
        date(2025, month, day)  # a year without 29 February: the day must exist every year
    except ValueError:
        raise InvalidInput(BAD_YEAR_END, spec=spec) from None
    return month, day


def school_year_end(today: date, year_end: tuple[int, int]) -> date:
    """The last day of the school year `today` falls in: this year's `year_end` when it is
    today or later, else next year's."""
    month, day = year_end
    this_year = date(today.year, month, day)
    return this_year if this_year >= today else date(today.year + 1, month, day)
