"""Dates, times and moments as people write them in chat and on the command line.

Nothing here reads the system clock: every function that needs "today" or "now" takes it as a
parameter. Words are accepted in Dutch and in English, case-insensitively, whatever language the
rest of the message is in.

Dates (`parse_date`):
    `2026-12-01` (YYYY-MM-DD), `1-12-2026` (DD-MM-YYYY), `1-12` / `01-12` (D-M: the next such date
    on or after today), `vandaag`/`today`, `morgen`/`tomorrow`, `overmorgen`, and weekday names
    (`maandag`…`zondag`, `ma`…`zo`, `monday`…`sunday`, `mon`…`sun`: the next such day on or after
    today, so `maandag` said on a Monday means that same Monday).
Times (`parse_time`):
    `08:00`, `8:00`, `8.30` (the Dutch way of writing times); hours 0–23, minutes 00–59. Four bare
    digits (`0800`) are refused: at the start of a reminder they are too easily a number or a year.
Moments (`parse_when`, the `wanneer` of a reminder or schedule), wall-clock time in the school's
time zone, `om`/`at` optionally before the time, a day without a time at `DEFAULT_TIME` (08:00):
    once: `morgen 07:30`, `tomorrow 7:30`, `overmorgen 8:00`, `vandaag 16:00`, `maandag 08:00`,
    `op 1-12 08:00` / `on 1-12 08:00`, `2026-12-01 08:00`, `1-12-2026 8.30`, a bare `08:00`;
    repeating (an iCalendar RRULE, `bot.recurrence`): `elke dag`/`every day`/`dagelijks`/`daily`,
    `elke werkdag`/`every weekday`, `elke maandag`/`every monday`, and every other week:
    `om de week (op) vrijdag`, `elke twee weken op vrijdag`, `every other friday`,
    `every 2 weeks on friday`. Nothing else repeats (no months, hours or minutes).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import babel
import babel.dates

from bot import recurrence
from bot.domain import Holiday
from bot.errors import InvalidInput
from bot.i18n import DEFAULT_LANGUAGE, Localized, Msg, available_languages

DEFAULT_TIMEZONE = ZoneInfo("Europe/Amsterdam")
DATE_PATTERN = "EEEE d MMMM y"
"""How `format_date` writes a date (a CLDR pattern): weekday, day, month name, year."""
DEFAULT_TIME = dt.time(8, 0)
"""When a moment names a day but no time, it is at the start of the school day."""

WEEKDAY_NAMES_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
WEEKDAY_NAMES_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES_NL = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
MONTH_NAMES_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_WEEKDAY_ABBREVIATIONS: tuple[tuple[str, ...], ...] = (
    ("ma", "mon"),
    ("di", "tue", "tues"),
    ("wo", "wed"),
    ("do", "thu", "thur", "thurs"),
    ("vr", "fri"),
    ("za", "sat"),
    ("zo", "sun"),
)
WEEKDAYS: dict[str, int] = {
    word: number
    for number in range(7)
    for word in (
        WEEKDAY_NAMES_NL[number],
        WEEKDAY_NAMES_EN[number].lower(),
        *_WEEKDAY_ABBREVIATIONS[number],
    )
}
"""Every accepted spelling of a weekday (lower case) → its number, Monday = 0."""
FULL_WEEKDAY_NAMES = frozenset((*WEEKDAY_NAMES_NL, *(name.lower() for name in WEEKDAY_NAMES_EN)))
"""The written-out weekday names (lower case), without the abbreviations (`ma`, `do`, `zo`, …)
that are also ordinary words."""

RELATIVE_DAYS: dict[str, int] = {
    "vandaag": 0,
    "today": 0,
    "morgen": 1,
    "tomorrow": 1,
    "overmorgen": 2,
}
"""Words for a day counted from today → the number of days after today."""
PAST_DAYS = ("gisteren", "eergisteren", "yesterday")
"""Words for a day before today: a moment there is refused, never read as text."""

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

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DUTCH_DATE = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
_DAY_MONTH = re.compile(r"(\d{1,2})-(\d{1,2})")
_DATE_SHAPE = re.compile(r"\d{1,4}-\d{1,2}(?:-\d{1,4})?")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")

MSG_DATE_UNKNOWN = Msg(
    "I don't understand '{text}' as a date. Use for example 2026-12-01, 1-12, tomorrow or monday."
)
MSG_DATE_MISSING = Msg("The date is missing. Use for example 2026-12-01, 1-12, tomorrow or monday.")
MSG_NO_SUCH_MONTH = Msg(
    "{text} does not exist: there is no month {month}. "
    "Use for example 2026-12-01, 1-12, tomorrow or monday."
)
MSG_NO_SUCH_DAY = Msg(
    "{text} does not exist: {month_name} {year} has days 1 to {days}. "
    "Use for example 2026-12-01, 1-12, tomorrow or monday."
)
MSG_TIME_UNKNOWN = Msg("I don't understand '{text}' as a time. Use for example 08:00 or 8:30.")
MSG_NO_SUCH_TIME = Msg(
    "{text} does not exist: hours go from 0 to 23 and minutes from 00 to 59. "
    "Use for example 08:00 or 8:30."
)
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


def format_date(d: dt.date, lang: str = DEFAULT_LANGUAGE) -> str:
    """`dinsdag 1 december 2026` (nl) or `Tuesday 1 December 2026` (en), by Babel in the reader's
    locale; a language without a catalogue is nl."""
    return babel.dates.format_date(d, DATE_PATTERN, locale=_locale(lang))


def _locale(lang: str) -> babel.Locale:
    """The Babel locale of a language klasbot speaks (one with a catalogue), else Dutch."""
    if lang in available_languages():
        try:
            return babel.Locale.parse(lang)
        except (ValueError, babel.UnknownLocaleError):
            pass
    return babel.Locale.parse(DEFAULT_LANGUAGE)


def _month_name(month: int) -> Localized:
    """The name of `month` (1-12) in the reader's language: `december` / `December`."""
    return Localized(lambda lang: babel.dates.get_month_names("wide", locale=_locale(lang))[month])


def _weekday_name(weekday: int) -> Localized:
    """The name of `weekday` (Monday = 0) in the reader's language: `maandag` / `Monday`."""
    return Localized(lambda lang: babel.dates.get_day_names("wide", locale=_locale(lang))[weekday])


def local_iso(instant: dt.datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the school's local time with its offset: `2026-12-07T08:00:00+01:00` (how
    every time is shown to a person: chat, tables, `--json`)."""
    return instant.astimezone(tz).isoformat() if instant is not None else None


def format_time(t: dt.time) -> str:
    """`08:00`: 24-hour clock, two digits each, in every language."""
    return f"{t.hour:02d}:{t.minute:02d}"


def next_weekday(today: dt.date, weekday: int) -> dt.date:
    """The first day on or after `today` that falls on `weekday` (Monday = 0): today itself if it
    is that weekday."""
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)


def is_day_name(text: str) -> bool:
    """True for a written-out day (`morgen`, `tomorrow`, `maandag`, `friday`, …), the words that are
    never a class code. Abbreviations (`ma`, `do`) and numeric dates do not count."""
    word = text.strip().lower()
    return word in RELATIVE_DAYS or word in FULL_WEEKDAY_NAMES


def parse_date(text: str, *, today: dt.date) -> dt.date:
    """The date `text` names, relative to `today`.

    Accepts `YYYY-MM-DD`, `DD-MM-YYYY` (one- or two-digit day and month), `DD-MM`/`D-M` (the next
    such date on or after today: this year if it has not passed yet, otherwise next year),
    `vandaag`/`today`, `morgen`/`tomorrow`, `overmorgen`, and weekday names in Dutch and English,
    full or abbreviated (the next such day on or after today: `maandag` said on a Monday is that
    same day, not a week later). Case and surrounding whitespace are ignored. A date with an
    explicit year is returned even when it lies in the past; whether that is allowed is the
    caller's rule.

    Raises `InvalidInput` for anything else, and for dates that do not exist in the calendar
    (`31-02`, `2026-02-29`, and `29-02` when the next 29 February it would fall on is not in a
    leap year), saying what was wrong and giving examples that work.
    """
    raw = text.strip()
    word = raw.lower()
    if not word:
        raise InvalidInput(MSG_DATE_MISSING)
    if word in RELATIVE_DAYS:
        return today + dt.timedelta(days=RELATIVE_DAYS[word])
    if word in WEEKDAYS:
        return next_weekday(today, WEEKDAYS[word])
    if match := _ISO_DATE.fullmatch(word):
        year, month, day = (int(g) for g in match.groups())
        return _calendar_date(raw, year, month, day)
    if match := _DUTCH_DATE.fullmatch(word):
        day, month, year = (int(g) for g in match.groups())
        return _calendar_date(raw, year, month, day)
    if match := _DAY_MONTH.fullmatch(word):
        day, month = (int(g) for g in match.groups())
        _check_month(raw, month)
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
        return _calendar_date(raw, year, month, day)
    raise InvalidInput(MSG_DATE_UNKNOWN, text=raw)


def _check_month(text: str, month: int) -> None:
    if not 1 <= month <= 12:
        raise InvalidInput(MSG_NO_SUCH_MONTH, text=text, month=month)


def _calendar_date(text: str, year: int, month: int, day: int) -> dt.date:
    if year < dt.MINYEAR:
        raise InvalidInput(MSG_DATE_UNKNOWN, text=text)
    _check_month(text, month)
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise InvalidInput(
            MSG_NO_SUCH_DAY,
            text=text,
            year=year,
            days=days,
            month_name=_month_name(month),
        )
    return dt.date(year, month, day)


def parse_time(text: str) -> dt.time:
    """The wall-clock time `text` names: `H:MM`, `HH:MM`, `H.MM` or `HH.MM` (24-hour clock).

    Raises `InvalidInput` for other shapes (`8`, `8:5`, `0800`, `8am`) and for times that do not
    exist (`24:00`, `8:60`), giving an example that works."""
    raw = text.strip()
    match = _TIME.fullmatch(raw)
    if match is None:
        raise InvalidInput(MSG_TIME_UNKNOWN, text=raw)
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise InvalidInput(MSG_NO_SUCH_TIME, text=raw)
    return dt.time(hour, minute)


def localize(day: dt.date, wall: dt.time, tz: ZoneInfo = DEFAULT_TIMEZONE) -> dt.datetime:
    """The aware instant at wall-clock `wall` on `day` in `tz` (`bot.recurrence.localize`).

    Daylight saving time: a wall-clock time that does not exist (in the spring-forward gap, e.g.
    02:30 on the last Sunday of March in Europe/Amsterdam) happens at the end of the gap (03:00
    summer time); a time that exists twice (02:30 on the last Sunday of October) is the first of
    the two (summer time), so it happens once. The result's `tzinfo` is `tz`."""
    return recurrence.localize(dt.datetime.combine(day, wall.replace(tzinfo=None)), tz)


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
