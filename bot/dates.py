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
Moments (`parse_when`), wall-clock time in the school's time zone:
    `elke maandag 08:00` / `every monday 08:00` (weekly), `2026-12-01 08:00`, `morgen 08:00`,
    `maandag 08:00`, a bare `08:00`, and a bare date (at `DEFAULT_TIME`, 08:00). `om`/`at` may stand
    before the time (`elke maandag om 08:00`).
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

RELATIVE_DAYS: dict[str, int] = {
    "vandaag": 0,
    "today": 0,
    "morgen": 1,
    "tomorrow": 1,
    "overmorgen": 2,
}
"""Words for a day counted from today → the number of days after today."""

EVERY_WORDS = ("elke", "every")
AT_WORDS = ("om", "at")
# `elke dag 08:00` looks like a moment, so a reminder must refuse it, not send it now as text.
_NOT_WEEKLY_WORDS = ("dag", "day", "werkdag", "weekday", "week", "ochtend", "morning")

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
MSG_EVERY_NEEDS_WEEKDAY = Msg(
    "After '{every}' I expect a day of the week (only weekly repetition is possible). "
    "Use for example every monday 08:00."
)
MSG_EVERY_WEEKDAY_AT = Msg("every {weekday} at {time}")
"""A weekly moment for people: `every Monday at 08:00`."""
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
    return (
        word in RELATIVE_DAYS
        or word in WEEKDAY_NAMES_NL
        or word in (name.lower() for name in WEEKDAY_NAMES_EN)
    )


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
    """The aware instant at wall-clock `wall` on `day` in `tz`.

    Daylight saving time: a wall-clock time that does not exist (in the spring-forward gap, e.g.
    02:30 on the last Sunday of March in Europe/Amsterdam) moves forward by the length of the gap
    (to 03:30 summer time); a time that exists twice (02:30 on the last Sunday of October) is the
    first of the two (summer time), so it happens once. The result's `tzinfo` is `tz`."""
    # fold=0 reads a time in the gap with the offset from before the change (PEP 495); the round
    # trip through UTC turns that into the real local time after the change.
    first = dt.datetime.combine(day, wall, tzinfo=tz)
    return first.astimezone(dt.UTC).astimezone(tz)


@dataclass(frozen=True, slots=True)
class When:
    """When a reminder or schedule fires.

    One-off: `recurring` is False, `at` is the aware instant (its `tzinfo` is the school's time
    zone), `time` its local wall-clock time and `weekday` None. Weekly: `recurring` is True, `at`
    is None, `weekday` (Monday = 0) and `time` the wall-clock moment each week. `text` is the
    normalised form, which `parse_when` reads back to the same value: `elke maandag 08:00` or
    `2026-12-01 08:00`."""

    at: dt.datetime | None
    weekday: int | None
    time: dt.time | None
    recurring: bool
    text: str

    def __post_init__(self) -> None:
        if self.recurring:
            ok = self.at is None and self.weekday in range(7) and self.time is not None
        else:
            ok = (
                self.at is not None
                and self.at.tzinfo is not None
                and self.weekday is None
                and self.time is not None
            )
        if not ok:
            raise ValueError(f"inconsistent When: {self!r}")

    @classmethod
    def weekly(cls, weekday: int, time: dt.time) -> When:
        """Every week on `weekday` (Monday = 0) at wall-clock `time`."""
        wall = time.replace(second=0, microsecond=0, tzinfo=None)
        return cls(
            at=None,
            weekday=weekday,
            time=wall,
            recurring=True,
            text=f"elke {WEEKDAY_NAMES_NL[weekday]} {format_time(wall)}",
        )

    @classmethod
    def once(cls, at: dt.datetime) -> When:
        """Once, at the aware instant `at` (described in `at`'s own time zone)."""
        if at.tzinfo is None:
            raise ValueError("When.once needs an aware datetime")
        wall = at.time().replace(second=0, microsecond=0)
        return cls(
            at=at,
            weekday=None,
            time=wall,
            recurring=False,
            text=f"{at.date().isoformat()} {format_time(wall)}",
        )

    def next_run(self, after: dt.datetime, tz: ZoneInfo = DEFAULT_TIMEZONE) -> dt.datetime | None:
        """The first firing strictly after the aware instant `after`, in `tz`; None when a one-off
        has already fired. Weekly firings follow the wall clock across daylight saving time (see
        `localize`)."""
        if self.at is not None:
            return self.at if self.at > after else None
        assert self.weekday is not None
        assert self.time is not None
        day = next_weekday(after.astimezone(tz).date(), self.weekday)
        candidate = localize(day, self.time, tz)
        if candidate <= after:
            candidate = localize(day + dt.timedelta(days=7), self.time, tz)
        return candidate

    def describe(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """For people: `elke maandag om 08:00` / `every Monday at 08:00`, or
        `dinsdag 1 december 2026 om 08:00` / `Tuesday 1 December 2026 at 08:00`."""
        assert self.time is not None
        clock = format_time(self.time)
        if self.weekday is not None:
            return MSG_EVERY_WEEKDAY_AT(lang, weekday=_weekday_name(self.weekday), time=clock)
        assert self.at is not None
        return MSG_DATE_AT(lang, date=format_date(self.at.date(), lang), time=clock)


def parse_when(text: str, *, now: dt.datetime, tz: ZoneInfo = DEFAULT_TIMEZONE) -> When:
    """The moment `text` names, as wall-clock time in `tz`, relative to the aware instant `now`.

    - `elke maandag 08:00`, `every friday 15:00`: weekly (any weekday spelling of `parse_date`).
    - `DATE TIME` (any form of `parse_date`): once, on that day at that time. With a weekday name
      it is the next such moment: `maandag 08:00` said on a Monday at 09:00 means next Monday.
      With any other date the moment must not have passed (`vandaag 07:00` at 09:00 is refused).
    - `TIME` alone: today at that time, or tomorrow if it is already past.
    - A day without a time (`morgen`, `elke maandag`) is at `DEFAULT_TIME` (08:00).
    `om`/`at` may precede the time. A time in a daylight-saving gap moves forward (`localize`).

    Raises `InvalidInput` for anything else, or for a one-off moment that has passed, with
    examples that work. Raises `ValueError` if `now` is naive (a programming error)."""
    words = text.split()
    if not words:
        raise InvalidInput(MSG_WHEN_MISSING)
    if now.tzinfo is None:
        raise ValueError("parse_when needs an aware `now`")
    local_now = now.astimezone(tz)
    lower = [w.lower() for w in words]
    raw = " ".join(words)

    if lower[0] in EVERY_WORDS:
        if len(words) < 2 or lower[1] not in WEEKDAYS:
            raise InvalidInput(MSG_EVERY_NEEDS_WEEKDAY, every=words[0])
        wall = _time_after_day(words[2:], raw) or DEFAULT_TIME
        return When.weekly(WEEKDAYS[lower[1]], wall)

    if _TIME.fullmatch(lower[0]):
        if len(words) > 1:
            raise InvalidInput(MSG_WHEN_UNKNOWN, text=raw)
        wall = parse_time(words[0])
        at = localize(local_now.date(), wall, tz)
        if at < now:
            at = localize(local_now.date() + dt.timedelta(days=1), wall, tz)
        return When.once(at)

    if not (_DATE_SHAPE.fullmatch(lower[0]) or lower[0] in RELATIVE_DAYS or lower[0] in WEEKDAYS):
        raise InvalidInput(MSG_WHEN_UNKNOWN, text=raw)
    day = parse_date(words[0], today=local_now.date())
    wall = _time_after_day(words[1:], raw) or DEFAULT_TIME
    at = localize(day, wall, tz)
    if at < now:
        if lower[0] not in WEEKDAYS:
            raise InvalidInput(MSG_WHEN_PASSED, when=When.once(at).text)
        at = localize(day + dt.timedelta(days=7), wall, tz)
    return When.once(at)


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

    This is how a chat reminder separates its moment from its text, so only the longest prefix
    that ends in a time counts (`elke maandag 08:00`, `morgen om 08:00`, `08:00`): a day alone stays
    part of the text (`morgen toets` is a message, not a moment). A prefix with the shape of a
    moment but impossible content (`31-02 08:00`, `25:00`, `elke dag 08:00`) raises the
    `InvalidInput` of `parse_when` rather than being sent as text."""
    length = _when_prefix_length([w.lower() for w in words])
    if length == 0:
        return None, 0
    return parse_when(" ".join(words[:length]), now=now, tz=tz), length


def _when_prefix_length(lower: Sequence[str]) -> int:
    def time_ends(i: int) -> int:
        if i < len(lower) and _TIME.fullmatch(lower[i]):
            return i + 1
        if i + 1 < len(lower) and lower[i] in AT_WORDS and _TIME.fullmatch(lower[i + 1]):
            return i + 2
        return 0

    if not lower:
        return 0
    if lower[0] in EVERY_WORDS and len(lower) > 1:
        if lower[1] in WEEKDAYS or lower[1] in _NOT_WEEKLY_WORDS:
            return time_ends(2)
        return 0
    if _DATE_SHAPE.fullmatch(lower[0]) or lower[0] in RELATIVE_DAYS or lower[0] in WEEKDAYS:
        return time_ends(1)
    return time_ends(0) if _TIME.fullmatch(lower[0]) else 0
