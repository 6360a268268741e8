"""Moments as people write them for a reminder or a schedule (`wanneer`), on top of the dates
and times of `bot.dates`: `When`, `parse_when` and `parse_when_prefix`.

Wall-clock time in the school's time zone, `om`/`at` optionally before the time, a day without a
time at `DEFAULT_TIME` (08:00):
    once: `morgen 07:30`, `tomorrow 7:30`, `overmorgen 8:00`, `vandaag 16:00`, `maandag 08:00`,
    `op 1-12 08:00` / `on 1-12 08:00`, `2026-12-01 08:00`, `1-12-2026 8.30`, a bare `08:00`;
    repeating (an iCalendar RRULE, `bot.recurrence`): `elke dag`/`every day`/`dagelijks`/`daily`,
    `elke werkdag`/`every weekday`, `elke maandag`/`every monday`, and every other week:
    `om de week (op) vrijdag`, `elke twee weken op vrijdag`, `every other friday`,
    `every 2 weeks on friday`. Nothing else repeats (no months, hours or minutes).
Nothing here reads the system clock: "now" is always a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import recurrence
from bot.dates import (
    _DATE_SHAPE,
    _TIME,
    DEFAULT_TIME,
    DEFAULT_TIMEZONE,
    FULL_WEEKDAY_NAMES,
    PAST_DAYS,
    RELATIVE_DAYS,
    WEEKDAY_NAMES_NL,
    WEEKDAYS,
    _weekday_name,
    format_date,
    format_time,
    localize,
    parse_date,
    parse_time,
)
from bot.domain import Holiday
from bot.errors import InvalidInput
from bot.i18n import DEFAULT_LANGUAGE, Msg

EVERY_WORDS = ("elke", "elk", "iedere", "ieder", "every", "each")
DAILY_WORDS = ("dagelijks", "daily")
AT_WORDS = ("om", "at")
ON_WORDS = ("op", "on")
_DAY_WORDS = ("dag", "day")
_WORKDAY_WORDS = ("werkdag", "weekday", "workday")
_OTHER_WORDS = ("other",)  # `every other friday`
_TWO_WORDS = ("2", "twee", "two")
_WEEKS_WORDS = ("weken", "weeks")
# What else people try to repeat by; `elke maand 08:00` at the start of a reminder is refused
# with what is possible rather than sent as text (`Elke leerling om 8.30 …` stays text).
_PERIOD_WORDS = frozenset(
    "seconde seconden second seconds minuut minuten minute minutes kwartier uur uren hour hours "
    "dagen days week weeks weken weekend weekends maand maanden month months jaar jaren year "
    "years ochtend morning middag afternoon avond evening nacht night".split()
)

RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
"""The iCalendar (RFC 5545) BYDAY codes, Monday = 0."""
DAILY_RULE = "FREQ=DAILY"
WORKDAYS_RULE = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def weekly_rule(weekday: int, interval: int = 1) -> str:
    """The RRULE of every (`interval` = 1) or every other (2) week on `weekday` (Monday = 0)."""
    every = "" if interval == 1 else f"INTERVAL={interval};"
    return f"FREQ=WEEKLY;{every}BYDAY={RRULE_DAYS[weekday]}"


@dataclass(frozen=True, slots=True)
class _Repeat:
    """A rule `When` can say in words: `kind` which words say it (`daily`, `workdays`, `weekly`,
    `other` for every other week) and `days` the weekdays (Monday = 0) it falls on."""

    kind: str
    days: frozenset[int]


_REPEATS: dict[str, _Repeat] = {
    DAILY_RULE: _Repeat("daily", frozenset(range(7))),
    WORKDAYS_RULE: _Repeat("workdays", frozenset(range(5))),
    **{weekly_rule(d): _Repeat("weekly", frozenset({d})) for d in range(7)},
    **{weekly_rule(d, 2): _Repeat("other", frozenset({d})) for d in range(7)},
}
"""Every recurrence klasbot understands, by its RRULE."""

MSG_WHEN_MISSING = Msg(
    "The moment is missing. "
    "Use for example every monday 08:00, 2026-12-01 08:00, tomorrow 08:00 or 08:00."
)
MSG_WHEN_UNKNOWN = Msg(
    "I don't understand '{text}' as a moment. "
    "Use for example every monday 08:00, 2026-12-01 08:00, tomorrow 08:00 or 08:00."
)
MSG_REPEAT_UNKNOWN = Msg(
    "I cannot repeat '{text}': only every day, every weekday, every monday (or another day) "
    "or every other friday, for example every weekday 07:45."
)
MSG_DAY_PAST = Msg(
    "'{text}' lies in the past. Choose a moment in the future, for example tomorrow 08:00."
)
MSG_EVERY_WEEKDAY_AT = Msg("every {weekday} at {time}")
"""A weekly moment for people: `every Monday at 08:00`."""
MSG_EVERY_OTHER_WEEKDAY_AT = Msg("every other {weekday} at {time}")
"""An every-other-week moment for people: `every other Friday at 15:00`."""
MSG_EVERY_WORKDAY_AT = Msg("every weekday at {time}")
"""Monday to Friday: `every weekday at 07:45`."""
MSG_EVERY_DAY_AT = Msg("every day at {time}")
"""A daily moment for people: `every day at 08:00`."""
MSG_DATE_AT = Msg("{date} at {time}")
"""A one-off moment for people: `Tuesday 1 December 2026 at 08:00`."""
MSG_WHEN_PASSED = Msg(
    "{when} has already passed. Choose a moment in the future, for example tomorrow 08:00."
)


def _wall(time: dt.time) -> dt.time:
    return time.replace(second=0, microsecond=0, tzinfo=None)


@dataclass(frozen=True, slots=True)
class When:
    """When a reminder or schedule fires: once, or repeating by an iCalendar RRULE, in the
    school's local wall-clock time.

    `text` is the normalised form, which `parse_when` (with the same `now`) reads back to an equal
    value: `2026-12-01 08:00`, `elke maandag 08:00`, `elke werkdag 07:45`,
    `om de week op vrijdag 15:00`, `elke dag 08:00`. `time` is the local wall-clock time and
    `start` (naive, local) the first occurrence.

    One-off: `recurring` False, `rule` None, `at` the aware instant (its `tzinfo` the school's
    time zone) and `start` its wall-clock moment. Repeating: `recurring` True, `at` None, `rule`
    one of the RRULEs without DTSTART that `parse_when` makes (`FREQ=WEEKLY;BYDAY=MO`,
    `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR`, `FREQ=WEEKLY;INTERVAL=2;BYDAY=FR`, `FREQ=DAILY`), and
    `start` the first day the rule falls on at `time` (it anchors every-other-week rules)."""

    text: str
    recurring: bool
    time: dt.time
    at: dt.datetime | None
    rule: str | None
    start: dt.datetime

    def __post_init__(self) -> None:
        ok = (
            self.start.tzinfo is None
            and self.time.tzinfo is None
            and self.start.time() == self.time
        )
        if self.recurring:
            repeat = _REPEATS.get(self.rule) if self.rule is not None else None
            ok = (
                ok
                and self.at is None
                and repeat is not None
                and self.start.weekday() in repeat.days
            )
        else:
            ok = (
                ok
                and self.rule is None
                and self.at is not None
                and self.at.tzinfo is not None
                and self.at.replace(tzinfo=None) == self.start
            )
        if not ok:
            raise ValueError(f"inconsistent When: {self!r}")

    @classmethod
    def repeating(cls, rule: str, start: dt.datetime) -> When:
        """By `rule` (one of `When`'s RRULEs), first at the naive local `start`."""
        repeat = _REPEATS.get(rule)
        if repeat is None:
            raise ValueError(f"When cannot say the rule {rule!r}")
        first = start.replace(second=0, microsecond=0)
        wall = first.time()
        clock = format_time(wall)
        if repeat.kind == "daily":
            text = f"elke dag {clock}"
        elif repeat.kind == "workdays":
            text = f"elke werkdag {clock}"
        elif repeat.kind == "weekly":
            text = f"elke {WEEKDAY_NAMES_NL[first.weekday()]} {clock}"
        else:
            text = f"om de week op {WEEKDAY_NAMES_NL[first.weekday()]} {clock}"
        return cls(text=text, recurring=True, time=wall, at=None, rule=rule, start=first)

    @classmethod
    def once(cls, at: dt.datetime) -> When:
        """Once, at the aware instant `at` (its wall clock read in `at`'s own time zone)."""
        if at.tzinfo is None:
            raise ValueError("When.once needs an aware datetime")
        at = at.replace(second=0, microsecond=0)
        wall = at.time().replace(tzinfo=None)
        return cls(
            text=f"{at.date().isoformat()} {format_time(wall)}",
            recurring=False,
            time=wall,
            at=at,
            rule=None,
            start=at.replace(tzinfo=None),
        )

    def occurrences(
        self,
        after: dt.datetime,
        tz: ZoneInfo = DEFAULT_TIMEZONE,
        holidays: Sequence[Holiday] = (),
        limit: int = 3,
    ) -> list[recurrence.Occurrence]:
        """The first `limit` occurrences strictly after the aware instant `after`, in the school's
        time zone `tz` (the one `parse_when` was given): a repeating moment skips `holidays`, a
        one-off names the holiday it falls in (`bot.recurrence.occurrences`, without an end)."""
        return recurrence.occurrences(
            self.rule, self.start, tz, after=after, holidays=holidays, limit=limit
        )

    def next_run(self, after: dt.datetime, tz: ZoneInfo = DEFAULT_TIMEZONE) -> dt.datetime | None:
        """The first firing strictly after the aware instant `after`, in `tz`, holidays not
        skipped; None when a one-off has already fired. Repeating firings follow the wall clock
        across daylight saving time (see `localize`)."""
        if self.at is not None:
            return self.at if self.at > after else None
        found = recurrence.next_occurrence(self.rule, self.start, tz, after=after)
        return found.at if found is not None else None

    def describe(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """For people: `elke maandag om 08:00` / `every Monday at 08:00`, `elke werkdag om 07:45`
        / `every weekday at 07:45`, `om de week op vrijdag om 15:00` / `every other Friday at
        15:00`, `elke dag om 08:00` / `every day at 08:00`, or `dinsdag 1 december 2026 om 08:00`
        / `Tuesday 1 December 2026 at 08:00`."""
        clock = format_time(self.time)
        if self.at is not None:
            return MSG_DATE_AT(lang, date=format_date(self.start.date(), lang), time=clock)
        assert self.rule is not None
        repeat = _REPEATS[self.rule]
        if repeat.kind == "daily":
            return MSG_EVERY_DAY_AT(lang, time=clock)
        if repeat.kind == "workdays":
            return MSG_EVERY_WORKDAY_AT(lang, time=clock)
        day = _weekday_name(self.start.weekday())
        if repeat.kind == "weekly":
            return MSG_EVERY_WEEKDAY_AT(lang, weekday=day, time=clock)
        return MSG_EVERY_OTHER_WEEKDAY_AT(lang, weekday=day, time=clock)


def parse_when(text: str, *, now: dt.datetime, tz: ZoneInfo = DEFAULT_TIMEZONE) -> When:
    """The moment `text` names, as wall-clock time in `tz`, relative to the aware instant `now`.

    Repeating (the first occurrence is the first such moment not before `now`; `elke maandag
    08:00` said on a Monday at 09:00 starts next Monday):
    - `elke dag`, `every day`, `dagelijks`, `daily`: `FREQ=DAILY`;
    - `elke werkdag`, `every weekday`: Monday to Friday;
    - `elke maandag`, `every friday` (any weekday spelling of `parse_date`): weekly;
    - `om de week (op) vrijdag`, `om de twee weken op vrijdag`, `elke twee weken op vrijdag`,
      `every other friday`, `every 2 weeks on friday`: every other week, from the first such day.
    Once (`op`/`on` may stand before the day):
    - `DAY TIME` (any form of `parse_date`): on that day at that time. With a weekday name it
      is the next such moment: `maandag 08:00` said on a Monday at 09:00 means next Monday.
      With any other date the moment must not have passed (`vandaag 07:00` at 09:00 is refused).
    - `TIME` alone: today at that time, or tomorrow if it is already past.
    A day without a time is at `DEFAULT_TIME` (08:00); `om`/`at` may precede the time. A time in
    a daylight-saving gap happens at the end of the gap (`localize`).

    Raises `InvalidInput`, saying what is wrong, for a day in the past (`gisteren`), a one-off
    moment that has passed, a date or time that does not exist, a repetition other than the
    ones above (`elke maand`), and anything else. Raises `ValueError` if `now` is naive (a
    programming error)."""
    words = text.split()
    if not words:
        raise InvalidInput(MSG_WHEN_MISSING)
    if now.tzinfo is None:
        raise ValueError("parse_when needs an aware `now`")
    lower = [w.lower() for w in words]
    raw = " ".join(words)

    repeat = _repeat_head(lower)
    if repeat is not None:
        rule, end, _ = repeat
        wall = _time_after_day(words[end:], raw) or DEFAULT_TIME
        return When.repeating(rule, recurrence.first_start(rule, wall, tz, now=now))
    if _looks_repeating(lower):
        raise InvalidInput(MSG_REPEAT_UNKNOWN, text=raw)

    local_now = now.astimezone(tz)
    if lower[0] in AT_WORDS or _TIME.fullmatch(lower[0]):
        clock = _time_after_day(words, raw)
        assert clock is not None  # `words` is not empty
        at = localize(local_now.date(), clock, tz)
        if at < now:
            at = localize(local_now.date() + dt.timedelta(days=1), clock, tz)
        return When.once(at)

    first = 1 if lower[0] in ON_WORDS and len(lower) > 1 and _is_day_word(lower[1]) else 0
    word = lower[first]
    if word in PAST_DAYS:
        raise InvalidInput(MSG_DAY_PAST, text=words[first])
    if not _is_day_word(word):
        raise InvalidInput(MSG_WHEN_UNKNOWN, text=raw)
    day = parse_date(words[first], today=local_now.date())
    wall = _time_after_day(words[first + 1 :], raw) or DEFAULT_TIME
    at = localize(day, wall, tz)
    if at < now:
        if word not in WEEKDAYS:
            raise InvalidInput(MSG_WHEN_PASSED, when=When.once(at).text)
        at = localize(day + dt.timedelta(days=7), wall, tz)
    return When.once(at)


def _is_day_word(word: str) -> bool:
    """Whether the lower-case `word` has the shape of a day (it may not exist: `31-02`)."""
    return bool(
        _DATE_SHAPE.fullmatch(word)
        or word in RELATIVE_DAYS
        or word in WEEKDAYS
        or word in PAST_DAYS
    )


def _looks_repeating(lower: Sequence[str]) -> bool:
    """Whether the words start the way a repetition does (`elke`, `daily`, `om de`)."""
    return (
        lower[0] in EVERY_WORDS
        or lower[0] in DAILY_WORDS
        or (len(lower) > 1 and lower[0] == "om" and lower[1] == "de")
    )


def _repeat_head(lower: Sequence[str]) -> tuple[str, int, bool] | None:
    """The repetition at the start of the lower-case `words`: its RRULE, the number of words it
    takes, and whether it names its weekday in full (`elke maandag`, not `elke ma`); None when
    the words do not start with a repetition `When` can make."""

    def at(i: int) -> str:
        return lower[i] if i < len(lower) else ""

    def weekday_from(i: int, interval: int) -> tuple[str, int, bool] | None:
        i += at(i) in ON_WORDS
        if at(i) not in WEEKDAYS:
            return None
        return weekly_rule(WEEKDAYS[at(i)], interval), i + 1, at(i) in FULL_WEEKDAY_NAMES

    if at(0) in DAILY_WORDS:
        return DAILY_RULE, 1, False
    if at(0) in EVERY_WORDS:
        if at(1) in _DAY_WORDS:
            return DAILY_RULE, 2, False
        if at(1) in _WORKDAY_WORDS:
            return WORKDAYS_RULE, 2, False
        if at(1) in WEEKDAYS:
            return weekday_from(1, 1)
        if at(1) in _OTHER_WORDS:  # every other (week on) friday
            return weekday_from(3 if at(2) == "week" else 2, 2)
        if at(1) in _TWO_WORDS and at(2) in _WEEKS_WORDS:  # elke twee weken op vrijdag
            return weekday_from(3, 2)
        return None
    if at(0) == "om" and at(1) == "de":
        if at(2) == "week":  # om de week (op) vrijdag
            return weekday_from(3, 2)
        if at(2) in _TWO_WORDS and at(3) in _WEEKS_WORDS:  # om de twee weken (op) vrijdag
            return weekday_from(4, 2)
    return None


def _time_after_day(words: Sequence[str], whole: str) -> dt.time | None:
    """The `[om|at] TIME` after a day, None when nothing follows the day."""
    if not words:
        return None
    if len(words) == 1:
        return parse_time(words[0])
    if len(words) == 2 and words[0].lower() in AT_WORDS:
        return parse_time(words[1])
    raise InvalidInput(MSG_WHEN_UNKNOWN, text=whole)


def parse_when_prefix(
    words: Sequence[str], *, now: dt.datetime, tz: ZoneInfo = DEFAULT_TIMEZONE
) -> tuple[When | None, int]:
    """The moment at the start of `words` and how many words it takes, or `(None, 0)`.

    This is how a chat reminder separates its moment from its text. The longest prefix that is
    a moment counts: a day or repetition followed by `[om|at] TIME` (`elke werkdag 07:45`,
    `om de week op vrijdag 15:00`, `op 1-12 om 8.30`, `ma 08:00`), or a bare `TIME`. Without a
    time, a day counts (at `DEFAULT_TIME`) only when it cannot be ordinary text: a written-out
    weekday (`maandag`, `elke maandag`, `every other friday`), `morgen`/`tomorrow`/`overmorgen`,
    or a date (`1-12`). Abbreviations (`zo snel mogelijk`, `do je best`), `vandaag` (a reminder
    without a moment goes out today anyway), `elke dag`/`elke werkdag` and `om 08:00` without a
    day stay text.

    A prefix with the shape of a moment but impossible content (`31-02 08:00`, `25:00`,
    `vandaag 07:00` at noon), a day in the past at the start (`gisteren …`), or a repetition by
    something else before a time (`elke maand 08:00`) raises the `InvalidInput` of `parse_when`
    rather than being sent as text."""
    lower = [w.lower() for w in words]
    length = _when_prefix_length(words, lower)
    if length == 0:
        return None, 0
    return parse_when(" ".join(words[:length]), now=now, tz=tz), length


def _when_prefix_length(words: Sequence[str], lower: Sequence[str]) -> int:
    def time_ends(i: int) -> int:
        if i < len(lower) and _TIME.fullmatch(lower[i]):
            return i + 1
        if i + 1 < len(lower) and lower[i] in AT_WORDS and _TIME.fullmatch(lower[i + 1]):
            return i + 2
        return 0

    if not lower:
        return 0
    repeat = _repeat_head(lower)
    if repeat is not None:
        _, end, named = repeat
        return time_ends(end) or (end if named else 0)
    if _looks_repeating(lower):
        for i in range(1, min(len(lower), 5)):
            if end := time_ends(i):
                if _PERIOD_WORDS.intersection(lower[1:i]):
                    raise InvalidInput(MSG_REPEAT_UNKNOWN, text=" ".join(words[:end]))
                break
        return 0
    first = 1 if lower[0] in ON_WORDS and len(lower) > 1 and _is_day_word(lower[1]) else 0
    word = lower[first]
    if word in PAST_DAYS:
        raise InvalidInput(MSG_DAY_PAST, text=words[first])
    if _is_day_word(word):
        if end := time_ends(first + 1):
            return end
        written_out = word in FULL_WEEKDAY_NAMES or RELATIVE_DAYS.get(word, 0) > 0
        return first + 1 if written_out or _DATE_SHAPE.fullmatch(word) else 0
    return 1 if first == 0 and _TIME.fullmatch(word) else 0
