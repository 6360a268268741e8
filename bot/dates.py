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
Moments (`wanneer`: once or repeating) are `bot.when`'s.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from zoneinfo import ZoneInfo

import babel
import babel.dates

from bot import recurrence
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


def format_date(d: dt.date, lang: str = DEFAULT_LANGUAGE) -> str:
    """`dinsdag 1 december 2026` (nl) or `Tuesday 1 December 2026` (en), by Babel in the reader's
    locale; a language without a catalogue is nl."""
    return babel.dates.format_date(d, DATE_PATTERN, locale=_locale(lang))


def format_day(d: dt.date, lang: str = DEFAULT_LANGUAGE) -> str:
    """`maandag 7 december` / `Monday 7 December`: a date of this year, without the year."""
    return babel.dates.format_date(d, "EEEE d MMMM", locale=_locale(lang))


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
