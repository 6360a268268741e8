"""Protocol A.1, lesson hours: pupils may not be active on social media during lessons.

klasbot cannot stop a pupil from opening their phone, but it can keep from making it buzz: a
group post that goes out while lessons run (the school's lesson hours, on weekdays, local time) is
sent silently (Telegram `disable_notification`, Matrix `m.notice`). Urgent kinds (default
`lesson-cancelled`: a cancellation for later today must be seen) still notify. The decision is
made when the post actually goes out (a post held by quiet hours is judged when it is released),
and the preview says when a post will be silent.

The lesson hours are one or more periods `HH:MM-HH:MM` (comma-separated), each including its start
and excluding its end, on Monday to Friday; empty: no lesson hours. A period does not cross
midnight. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.domain import Kind
from bot.errors import InvalidInput
from bot.i18n import Msg

BAD_LESSON_HOURS = Msg(
    "Invalid lesson hours '{spec}': use HH:MM-HH:MM, several separated by commas, for example "
    "08:30-16:00 (empty = none)."
)

_PERIOD = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*")
SCHOOL_DAYS = frozenset(range(5))
"""Monday to Friday (Monday = 0)."""


@dataclass(frozen=True)
class LessonHours:
    periods: tuple[tuple[time, time], ...]
    urgent_kinds: frozenset[Kind] = frozenset({Kind.LESSON_CANCELLED})
    days: frozenset[int] = SCHOOL_DAYS

    @classmethod
    def parse(
        cls, spec: str, *, urgent_kinds: Iterable[str] = (Kind.LESSON_CANCELLED,)
    ) -> LessonHours | None:
        """`"08:30-16:00"` → LessonHours(((08:30, 16:00),)); `""` → None (no lesson hours).
        Raises InvalidInput for anything else (a period that ends before it starts too)."""
        if not spec.strip():
            return None
        periods: list[tuple[time, time]] = []
        for part in spec.split(","):
            match = _PERIOD.fullmatch(part)
            if match is None:
                raise InvalidInput(BAD_LESSON_HOURS, spec=spec)
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if max(h1, h2) > 23 or max(m1, m2) > 59 or (h2, m2) <= (h1, m1):
                raise InvalidInput(BAD_LESSON_HOURS, spec=spec)
            periods.append((time(h1, m1), time(h2, m2)))
        return cls(tuple(sorted(periods)), frozenset(Kind(k) for k in urgent_kinds))

    def in_lessons(self, instant: datetime, tz: ZoneInfo) -> bool:
        """Whether lessons run at the aware `instant`: its wall-clock time in `tz` (the school's)
        is in a period on a school day, so on the days daylight saving time starts or ends a
        period keeps its clock times. Raises ValueError for a naive `instant`."""
        if instant.tzinfo is None:
            # A naive instant would be read in the server's zone, not the school's.
            raise ValueError("in_lessons needs an aware instant")
        local = instant.astimezone(tz)
        if local.weekday() not in self.days:
            return False
        wall = local.time().replace(tzinfo=None)
        return any(start <= wall < end for start, end in self.periods)

    def silent(self, instant: datetime, tz: ZoneInfo, kind: Kind | str | None) -> bool:
        """Whether a group post of `kind` going out at `instant` is sent silently (A.1): in
        lesson hours, unless its kind is urgent. A notice that is no announcement (kind None)
        is silent in lesson hours too."""
        if kind is not None and kind in self.urgent_kinds:  # Kind is a StrEnum: "x" matches
            return False
        return self.in_lessons(instant, tz)


def silent(
    hours: LessonHours | None, instant: datetime, tz: ZoneInfo, kind: Kind | str | None
) -> bool:
    """`LessonHours.silent`; never silent when the school has no lesson hours (None)."""
    return hours is not None and hours.silent(instant, tz, kind)
