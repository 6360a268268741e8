"""When a schedule's occurrences fall: an iCalendar RRULE (python-dateutil) over the school's
local wall-clock time.

An occurrence is a local wall-clock moment (`elke maandag 08:00` is 08:00 in Amsterdam, summer
and winter). Turning it into an instant follows the daylight-saving rule of `localize`: a moment
in the spring-forward gap (02:30 on the last Sunday of March) happens at the end of the gap
(03:00), once; a moment that exists twice (02:30 on the last Sunday of October) happens the first
time. Recurring schedules skip the school's holidays (`bot.rules.school_calendar`) and the
schedule's own exceptions; a one-off is never skipped (its preview says when it falls in a
holiday). Pure functions; "now" is always a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from bot.domain import Holiday
from bot.rules.school_calendar import in_holiday

SEARCH_LIMIT = 2000
"""How many candidate dates are looked at before giving up (a rule whose every date falls in a
holiday or an exception, or past its end)."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    at: dt.datetime
    """The instant it fires (aware, in the school's time zone)."""
    wall: dt.datetime
    """The local wall-clock moment it stands for (naive); differs from `at`'s wall clock only
    in the spring-forward gap."""
    holiday: Holiday | None = None
    """For a one-off: the holiday it falls in (it fires all the same)."""

    @property
    def moved(self) -> bool:
        """Whether the wall-clock moment does not exist that day (daylight saving time starts)
        and the occurrence happens at the end of the gap instead."""
        return self.at.replace(tzinfo=None) != self.wall


def localize(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The aware instant of the naive local `wall` in `tz`: a moment in a spring-forward gap
    becomes the end of the gap; an ambiguous one (autumn) the first of the two."""
    first = wall.replace(tzinfo=tz, fold=0)
    real = first.astimezone(dt.UTC).astimezone(tz)
    if real.replace(tzinfo=None) == wall:
        return real
    # `wall` does not exist (the clocks jump over it): the first wall-clock minute after it
    # that does is the end of the gap (a gap is at most a few hours anywhere).
    minute = wall.replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        minute += dt.timedelta(minutes=1)
        candidate = minute.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz)
        if candidate.replace(tzinfo=None) == minute:
            return candidate
    return real


def _rrule(rule: str, start: dt.datetime) -> rrule:
    stamp = start.replace(tzinfo=None, second=0, microsecond=0).strftime("%Y%m%dT%H%M%S")
    parsed = rrulestr(f"DTSTART:{stamp}\nRRULE:{rule}", cache=False)
    if not isinstance(parsed, rrule):
        raise ValueError(f"not a single RRULE: {rule!r}")
    return parsed


def _candidates(rule: str | None, start: dt.datetime) -> Iterator[dt.datetime]:
    if rule is None:
        yield start
        return
    yield from _rrule(rule, start)


def first_start(rule: str, wall: dt.time, tz: ZoneInfo, *, now: dt.datetime) -> dt.datetime:
    """The first occurrence (naive local DTSTART) of `rule` at wall-clock `wall` for a schedule
    made at the aware instant `now`: the first day, from `now`'s local day on, that the rule's
    days include, whose moment is not before `now`. The rule's INTERVAL is not counted here:
    it counts from that first day (`om de week op vrijdag` said on a Wednesday starts that
    Friday, then every other week), so an every-other-week rule starts as early as a weekly
    one. Holidays are not skipped (the start anchors the rule; `occurrences` skips them).

    Raises `ValueError` if `now` is naive or the rule has no day within `SEARCH_LIMIT`."""
    if now.tzinfo is None:
        raise ValueError("first_start needs an aware `now`")
    today = now.astimezone(tz).date()
    anchor = dt.datetime.combine(today, wall.replace(second=0, microsecond=0, tzinfo=None))
    without_interval = _rrule(rule, anchor).replace(interval=1)
    for looked, candidate in enumerate(without_interval):
        if looked >= SEARCH_LIMIT:
            break
        if localize(candidate, tz) >= now:
            return candidate  # type: ignore[no-any-return]
    raise ValueError(f"no occurrence of {rule!r} after {now.isoformat()}")


def occurrences(
    rule: str | None,
    start: dt.datetime,
    tz: ZoneInfo,
    *,
    after: dt.datetime,
    until: dt.date | None = None,
    exceptions: Iterable[dt.date] = (),
    holidays: Sequence[Holiday] = (),
    limit: int = 3,
) -> list[Occurrence]:
    """The first `limit` occurrences strictly after the aware instant `after`.

    `rule` is an RRULE without DTSTART (None: once, at `start`); `start` the first occurrence as
    naive local time; `until` the last local day an occurrence may fall on (inclusive);
    `exceptions` local days that are skipped; `holidays` periods that recurring rules skip."""
    if after.tzinfo is None:
        raise ValueError("occurrences needs an aware `after`")
    skip = frozenset(exceptions)
    found: list[Occurrence] = []
    looked = 0
    for wall in _candidates(rule, start):
        looked += 1
        if looked > SEARCH_LIMIT or len(found) >= limit:
            break
        if until is not None and wall.date() > until:
            break
        if wall.date() in skip:
            continue
        holiday = in_holiday(wall.date(), holidays)
        if rule is not None and holiday is not None:
            continue
        at = localize(wall, tz)
        if at <= after:
            continue
        found.append(Occurrence(at, wall, holiday if rule is None else None))
    return found


def next_occurrence(
    rule: str | None,
    start: dt.datetime,
    tz: ZoneInfo,
    *,
    after: dt.datetime,
    until: dt.date | None = None,
    exceptions: Iterable[dt.date] = (),
    holidays: Sequence[Holiday] = (),
) -> Occurrence | None:
    """The first occurrence strictly after `after`, or None when nothing is left."""
    found = occurrences(
        rule,
        start,
        tz,
        after=after,
        until=until,
        exceptions=exceptions,
        holidays=holidays,
        limit=1,
    )
    return found[0] if found else None


def shortest_gap(rule: str, start: dt.datetime, tz: ZoneInfo, sample: int = 30) -> dt.timedelta:
    """The shortest time between two consecutive occurrences of `rule` among its first
    `sample` (holidays not skipped): what the limit against flooding compares.

    Measured on the wall clock of `tz`, as the rule is written: `elke dag 02:30` is a day apart
    also across the spring-forward night, when the instants are 23.5 and 24.5 hours apart (the
    moved occurrence is one firing, not a second one that day)."""
    walls = []
    for wall in _candidates(rule, start):
        walls.append(wall.replace(tzinfo=None))
        if len(walls) >= sample:
            break
    gaps = [b - a for a, b in zip(walls, walls[1:], strict=False)]
    return min(gaps) if gaps else dt.timedelta.max
