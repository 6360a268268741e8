"""Rule 1, the age rule: a pupil may join a class group only from the day they turn 13.

Protocol B.1: "Voor leerlingen vanaf 13 jaar kan een medewerker een functionele groepsapp
aanmaken", and footnote 4 (a platform such as WhatsApp may demand an older age). The effective
minimum is therefore the larger of 13 and the platform's own minimum.

Ages are counted in whole years on a *local* date: the school's calendar day in its time zone
(default Europe/Amsterdam), never the UTC date, because a pupil's birthday starts at local midnight.

Leap-day birthdays: someone born on 29 February has their birthday on 1 March in a year without
29 February. This is the conservative choice for child protection: a pupil is never admitted a
day early (28 February would be), at the cost of being admitted one day "late" in three years out
of four. Dutch civil law gives no general rule for this, so the project chooses and tests it.

All functions are pure.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

MINIMUM_AGE = 13
ADULT_AGE = 18
"""Rule 6: from this age a pupil is an adult (Dutch civil law, BW 1:233): their guardians receive
nothing about them unless the pupil consented (contacts.csv `share_with_guardians`)."""


def birthday_in(birth: date, year: int) -> date:
    """The date in `year` on which the person born on `birth` has their birthday.

    29 February maps to 1 March in non-leap years (see the module docstring)."""
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return birth.replace(year=year)


def age_on(birth: date, day: date) -> int:
    """Completed years of life on `day` (the birthday itself counts as completed).

    Negative when `day` lies before the year's birthday of a person not yet born on `day`;
    callers treat any age below the minimum alike."""
    years = day.year - birth.year
    if day < birthday_in(birth, day.year):
        years -= 1
    return years


def date_turning(birth: date, years: int) -> date:
    """The first day on which the person is `years` old, e.g. their 13th birthday."""
    return birthday_in(birth, birth.year + years)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """The school's calendar date at the aware instant `now`.

    Raises ValueError for a naive datetime: its date would be ambiguous by up to a day."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"local_today needs an aware datetime, got naive {now.isoformat()}")
    return now.astimezone(tz).date()


def effective_minimum(platform_min_age: int | None) -> int:
    """The age from which a pupil may be in a group on a platform: 13 (B.1) or, when the
    platform demands more (footnote 4), the platform's minimum. `None`: no platform minimum."""
    if platform_min_age is None:
        return MINIMUM_AGE
    return max(MINIMUM_AGE, platform_min_age)


def is_old_enough(birth: date | None, day: date, minimum: int = MINIMUM_AGE) -> bool:
    """Whether a person born on `birth` is at least `minimum` years old on the local date `day`.

    An unknown birth date is never old enough: B.1 admits only pupils known to be 13 or older."""
    if birth is None:
        return False
    return age_on(birth, day) >= minimum


def is_adult(birth: date | None, day: date) -> bool:
    """Whether a person born on `birth` is of age (`ADULT_AGE`) on the local date `day`, from
    their 18th birthday on (29 February: 1 March, as every birthday here). An unknown birth date
    is not adult: the school then treats the pupil as the minor it most likely is."""
    return is_old_enough(birth, day, ADULT_AGE)
