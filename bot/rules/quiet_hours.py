"""Rule 8, quiet hours: announcements are held at night and released when the quiet hours end.

The protocol's starting points (Uitgangspunten 2, 5) ask for a safe school climate and protection
from the negative effects of social media; B.1 limits a group app to functional messages, and a
functional message can wait until morning. So nothing is posted or mailed in the school's quiet
hours (default 21:00-07:00, local wall-clock time); urgent kinds (default `lesson-cancelled`, which
pupils need before they leave home) may go from 06:30.

Times are the school's wall-clock times in its time zone: on the days daylight saving time starts
or ends (the last Sundays of March and October in Europe/Amsterdam), 07:00 local is 05:00Z in
summer and 06:00Z in winter. A window may cross midnight (21:00-07:00) or not (12:00-13:00); it
includes its start and excludes its end. `urgent_from` counts only when it lies inside the window;
otherwise urgent kinds wait like any other. A window whose start equals its end is empty: no quiet
hours (what an empty specification gives).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import Kind
from bot.errors import InvalidInput
from bot.i18n import Msg

BAD_QUIET_HOURS = Msg(
    "Invalid quiet hours '{spec}': use HH:MM-HH:MM, for example 21:00-07:00 "
    "(empty = no quiet hours)."
)
BAD_TIME = Msg("Invalid time '{value}': use HH:MM, for example 06:30.")

_TIME = r"(\d{1,2}):(\d{2})"
_SPEC = re.compile(rf"\s*{_TIME}\s*[-\u2013]\s*{_TIME}\s*")


def _make_time(hour: str, minute: str) -> time | None:
    h, m = int(hour), int(minute)
    return time(h, m) if h < 24 and m < 60 else None


def parse_time(value: str) -> time:
    """`06:30` → time(6, 30); raises InvalidInput for anything that is not HH:MM."""
    match = re.fullmatch(rf"\s*{_TIME}\s*", value)
    parsed = _make_time(*match.groups()) if match else None
    if parsed is None:
        raise InvalidInput(BAD_TIME, value=value)
    return parsed


@dataclass(frozen=True)
class QuietHours:
    """The school's quiet hours, as local wall-clock times. Immutable; see the module docstring."""

    start: time = time(21, 0)
    end: time = time(7, 0)
    urgent_from: time = time(6, 30)
    urgent_kinds: frozenset[Kind] = frozenset({Kind.LESSON_CANCELLED})

    def __post_init__(self) -> None:
        for moment in (self.start, self.end, self.urgent_from):
            if moment.tzinfo is not None:
                raise ValueError("quiet hours are local wall-clock times; give naive times")

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        urgent_from: time | str = time(6, 30),
        urgent_kinds: Iterable[str] = (Kind.LESSON_CANCELLED,),
    ) -> QuietHours:
        """`"21:00-07:00"` → QuietHours(21:00, 07:00, …); `""` → no quiet hours.

        Raises InvalidInput, whose message shows the expected form, for anything else."""
        if isinstance(urgent_from, str):
            urgent_from = parse_time(urgent_from)
        kinds = frozenset(Kind(k) for k in urgent_kinds)
        if not spec.strip():
            return cls(time(0, 0), time(0, 0), urgent_from, kinds)
        match = _SPEC.fullmatch(spec)
        start = _make_time(*match.groups()[:2]) if match else None
        end = _make_time(*match.groups()[2:]) if match else None
        if start is None or end is None:
            raise InvalidInput(BAD_QUIET_HOURS, spec=spec)
        return cls(start, end, urgent_from, kinds)

    @property
    def enabled(self) -> bool:
        """False for an empty window (start equals end): nothing is ever held."""
        return self.start != self.end

    @property
    def spec(self) -> str:
        """The form `parse` reads: `21:00-07:00`, or `""` for no quiet hours."""
        if not self.enabled:
            return ""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def end_for(self, kind: Kind) -> time:
        """When the window ends for `kind`: `urgent_from` for an urgent kind when it lies in the
        window, else `end`."""
        if kind in self.urgent_kinds and self.enabled and self._reaches(self.urgent_from):
            return self.urgent_from
        return self.end

    def _reaches(self, moment: time) -> bool:
        """Whether `moment` lies in [start, end] (a closed interval, crossing midnight or not)."""
        if self.start < self.end:
            return self.start <= moment <= self.end
        return moment >= self.start or moment <= self.end

    def release_at(self, now: datetime, tz: ZoneInfo, kind: Kind) -> datetime | None:
        """None when an announcement of `kind` may go out at the aware instant `now`; else the
        aware UTC instant at which the quiet hours end for it (always later than `now`).

        Raises ValueError for a naive `now`."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"release_at needs an aware datetime, got naive {now.isoformat()}")
        start, end = self.start, self.end_for(kind)
        local = now.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        if start == end:
            return None
        if start < end:
            if not start <= wall < end:
                return None
            release_day = local.date()
        else:
            if end <= wall < start:
                return None
            # Between start and midnight the window ends tomorrow, after midnight today.
            release_day = local.date() + timedelta(days=1) if wall >= start else local.date()
        return _first_instant_at(datetime.combine(release_day, end), tz, after=now)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _first_instant_at(local: datetime, tz: ZoneInfo, *, after: datetime) -> datetime:
    """The first UTC instant later than `after` at which the wall clock in `tz` reads `local` or
    later. Handles the two DST cases: a wall time that occurs twice (autumn; the occurrence after
    `after` is taken) and one that never occurs (spring; the clock jumps past it, so the moment
    of the jump is taken)."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if _wall(first, tz) == local:
        # The wall time exists: once (first == second) or twice (first < second).
        return first if first > after else second
    # Skipped wall time: bisect, to the second, for the jump between the two readings.
    lo, hi = min(first, second), max(first, second)
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo) // timedelta(seconds=2))
        if _wall(mid, tz) >= local:
            hi = mid
        else:
            lo = mid
    return hi
