"""Reading the school's published calendar (iCalendar, RFC 5545) into holiday periods.

What is a holiday, and how it is read:
- An all-day event (DTSTART a date, `VALUE=DATE`) is a holiday period of whole local days. DTEND
  of a date is exclusive (RFC 5545 3.6.1), so the period ends the day before it; without DTEND
  the event lasts its DURATION (whole days or weeks), and without either it is one day. A DTEND
  equal to DTSTART (some calendars write that for one day) is one day too.
- Timed events (DTSTART a date-time: a parents' evening in the same calendar) and cancelled
  events (STATUS:CANCELLED) are no holidays; they are counted and left out, never silently.
- A recurring all-day event (RRULE, RDATE, EXDATE, and instances moved by RECURRENCE-ID) becomes
  one period per occurrence, from its DTSTART until the end of the `RECURRENCE_YEARS`th calendar
  year after today: a school calendar lists next year's holidays, so a rule without end is read
  a few years ahead, and more than `MAX_OCCURRENCES` periods (a daily series) is refused. An
  RRULE more often than daily makes no sense for whole days and is refused.
- The name is the SUMMARY on one line (whitespace collapsed), cut to `bot.limits.NAME`.
- Only the properties above are read; a broken value of any of them refuses the whole file, as
  does a file that is not iCalendar or whose BEGIN/END do not match: one `CalendarError`, one
  line naming the file, the line and the event when known. Nothing is ever half-imported.
- The text is UTF-8, with or without byte order mark; lines end in CRLF, LF or CR; folded lines
  (continued by a space or a tab) are unfolded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NoReturn

from dateutil.rrule import rrulestr
from icalendar import Calendar, Component
from icalendar.prop import vBroken, vRecur

from bot import limits
from bot.domain import Holiday
from bot.errors import InvalidInput
from bot.i18n import Localized, Msg

__all__ = ["CalendarError", "CalendarRead", "parse_calendar", "read_holidays"]

MAX_BYTES = 5 * 1024 * 1024
"""A school's calendar is a few kilobytes; anything this large is not one."""
RECURRENCE_YEARS = 3
"""Recurring all-day events are expanded until the end of this many calendar years ahead."""
MAX_OCCURRENCES = 400
"""More periods than this from one recurring event is a series, not a holiday calendar."""
_SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
_READ = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "STATUS")
"""The properties of an event that decide its period: a broken one refuses the file."""
_SINGLE = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")
"""Properties an event has at most once (RFC 5545 3.6.1)."""

# Where a problem is: the file, then its line and the event (its SUMMARY) when known.
M_IN_FILE = Msg("{file}: {problem}")
M_AT_LINE = Msg("{file}, line {line}: {problem}")
M_IN_EVENT = Msg("{file}, line {line}, event {event}: {problem}")

M_NOT_A_FILE = Msg("not a file")
M_UNREADABLE = Msg("cannot be read: {error}")
M_TOO_LARGE = Msg("too large for a calendar ({size} bytes; at most {max})")
M_EMPTY = Msg("the file is empty")
M_NOT_ICALENDAR = Msg("not an iCalendar file: it does not begin with BEGIN:VCALENDAR")
M_NOT_UTF8 = Msg("not UTF-8 text (an iCalendar file is UTF-8)")
M_BAD_LINE = Msg("not an iCalendar line (NAME:value expected): {text!r}")
M_OUTSIDE = Msg("{text!r} is outside BEGIN:VCALENDAR … END:VCALENDAR")
M_END_WITHOUT_BEGIN = Msg("END:{name} without BEGIN:{name}")
M_END_MISMATCH = Msg("END:{name} where END:{open} was expected (BEGIN:{open} is on line {begin})")
M_NOT_CLOSED = Msg("BEGIN:{name} on line {begin} is never closed: END:{name} is missing")
M_NOT_ICALENDAR_TEXT = Msg("not valid iCalendar: {error}")
M_BAD_VALUE = Msg("{property} has an invalid value: {value!r}")
M_TWICE = Msg("{property} is given more than once")
M_NO_START = Msg("the event has no DTSTART")
M_DATE_TIME_VALUE = Msg("{property} says VALUE=DATE but holds a date-time: {value!r}")
M_END_IS_DATE_TIME = Msg(
    "DTEND is a date-time while DTSTART is a date: an all-day event ends on a date"
)
M_END_AND_DURATION = Msg("the event has both DTEND and DURATION; it may have only one")
M_PARTIAL_DAYS = Msg("DURATION {value!r} of an all-day event is not a whole number of days")
M_NEGATIVE_DURATION = Msg("DURATION {value!r} is negative: the event would end before it starts")
M_ENDS_BEFORE = Msg("the event ends before it starts (DTSTART {start}, DTEND {end})")
M_BAD_RRULE = Msg("RRULE {value!r} cannot be read")
M_SUB_DAILY = Msg("RRULE {value!r} repeats more often than daily, which an all-day event cannot")
M_TOO_MANY = Msg(
    "the event recurs more than {max} times until {until}: a holiday calendar lists periods, "
    "not a series"
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# RFC 5545 3.1: name *(";" param) ":" value; a parameter value may be quoted (and then hold
# ";", ":" and ","). Names are letters, digits and "-" (x-names included); "_" is tolerated.
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_PARAM = rf"[A-Za-z0-9_-]+={_PARAM_VALUE}(?:,{_PARAM_VALUE})*"
_CONTENT_LINE = re.compile(rf"(?P<name>[A-Za-z0-9_-]+)(?:;{_PARAM})*:(?P<value>.*)", re.DOTALL)
_SHOWN = 40
"""How much of a line or a value an error quotes."""
_SOURCE_SIZE = 255
"""How long a holiday's stored `source` (the file's name) may be."""


class CalendarError(InvalidInput):
    """The calendar cannot be imported; the message names the file and, when known, the line and
    the event (one line, in the reader's language through `render(lang)`)."""


@dataclass(frozen=True)
class CalendarRead:
    """What a calendar holds: its holiday periods (in the file's order, occurrences of a
    recurring event in date order) and how many events were left out."""

    holidays: tuple[Holiday, ...]
    timed: int = 0
    """Events with a time of day (no holidays)."""
    cancelled: int = 0
    """All-day events with STATUS:CANCELLED."""


def read_holidays(path: Path, *, today: date) -> CalendarRead:
    """The holiday periods of the iCalendar file `path` (their `source` is the file's name);
    `today` bounds the expansion of recurring events. Raises CalendarError."""
    shown = str(path)
    if not path.is_file():
        _fail(shown, None, None, M_NOT_A_FILE)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            _fail(shown, None, None, M_TOO_LARGE, size=size, max=MAX_BYTES)
        data = path.read_bytes()
    except OSError as exc:
        _fail(shown, None, None, M_UNREADABLE, error=exc.strerror or type(exc).__name__)
    return parse_calendar(data, file=shown, source=path.name, today=today)


def parse_calendar(data: bytes, *, file: str, source: str, today: date) -> CalendarRead:
    """The holiday periods of the iCalendar text `data`; `file` names it in errors, `source`
    is the holidays' source. Raises CalendarError."""
    if len(data) > MAX_BYTES:
        _fail(file, None, None, M_TOO_LARGE, size=len(data), max=MAX_BYTES)
    text = _decode(data, file)
    lines = _logical_lines(text)
    events = _check_structure(lines, file)
    normalised = "".join(f"{line}\r\n" for _, line in lines)
    try:
        calendars = Calendar.from_ical(normalised, multiple=True)
    except Exception as exc:  # the library's own refusals are ValueError, KeyError, …
        _fail(file, None, None, M_NOT_ICALENDAR_TEXT, error=_first_line(exc))
    found = [e for c in calendars for e in c.walk("VEVENT")]
    located = (
        [_Event(e, file, where) for e, where in zip(found, events, strict=True)]
        if len(found) == len(events)
        else [_Event(e, file, None) for e in found]
    )
    horizon = date(today.year + RECURRENCE_YEARS, 12, 31)
    return _Reader(located, _clip(source, _SOURCE_SIZE), horizon).read()


# --- The text and its structure ---------------------------------------------------------------


def _decode(data: bytes, file: str) -> str:
    body = data.removeprefix(b"\xef\xbb\xbf")
    if not body.strip():
        _fail(file, None, None, M_EMPTY)
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        _fail(file, None, None, M_NOT_UTF8)  # saved as "Unicode" (UTF-16) by a Windows editor
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not body.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
            _fail(file, None, None, M_NOT_ICALENDAR)  # a PDF, a spreadsheet, …
        line = len(_LINE_BREAK.findall(body[: exc.start].decode("utf-8"))) + 1
        _fail(file, line, None, M_NOT_UTF8)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(physical line number, unfolded line) of every non-blank content line."""
    lines: list[tuple[int, str]] = []
    for number, physical in enumerate(_LINE_BREAK.split(text), 1):
        if physical[:1] in (" ", "\t") and lines:
            first, previous = lines[-1]
            lines[-1] = (first, previous + physical[1:])
        elif physical.strip():
            lines.append((number, physical))
    return lines


@dataclass
class _EventLines:
    """Where an event is in the file: its BEGIN line and its own properties' first lines."""

    begin: int
    properties: dict[str, int] = field(default_factory=dict)


def _check_structure(lines: list[tuple[int, str]], file: str) -> list[_EventLines]:
    """Every line a content line, BEGIN and END matched, nothing outside a VCALENDAR; returns
    the VEVENTs in the order of the file (the order `Component.walk` gives them)."""
    if not lines:
        _fail(file, None, None, M_EMPTY)
    if not _is_begin_vcalendar(lines[0][1]):
        _fail(file, None, None, M_NOT_ICALENDAR)
    stack: list[tuple[str, int, _EventLines | None]] = []
    events: list[_EventLines] = []
    for number, line in lines:
        match = _CONTENT_LINE.fullmatch(line)
        if match is None:
            _fail(file, number, None, M_BAD_LINE, text=_clip(line, _SHOWN))
        name, value = match["name"].upper(), match["value"].strip().upper()
        if name == "BEGIN":
            if not stack and value != "VCALENDAR":
                _fail(file, number, None, M_OUTSIDE, text=_clip(line, _SHOWN))
            event = _EventLines(number) if value == "VEVENT" else None
            if event is not None:
                events.append(event)
            stack.append((value, number, event))
        elif name == "END":
            if not stack or all(open_name != value for open_name, _, _ in stack):
                _fail(file, number, None, M_END_WITHOUT_BEGIN, name=value)
            open_name, begin, _ = stack[-1]
            if open_name != value:
                _fail(file, number, None, M_END_MISMATCH, name=value, open=open_name, begin=begin)
            stack.pop()
        elif not stack:
            _fail(file, number, None, M_OUTSIDE, text=_clip(line, _SHOWN))
        elif (current := stack[-1][2]) is not None:
            current.properties.setdefault(name, number)
    if stack:
        open_name, begin, _ = stack[-1]
        _fail(file, None, None, M_NOT_CLOSED, name=open_name, begin=begin)
    return events


def _is_begin_vcalendar(line: str) -> bool:
    name, _, value = line.partition(":")
    return name.strip().upper() == "BEGIN" and value.strip().upper() == "VCALENDAR"


# --- Events into periods ------------------------------------------------------------------------


@dataclass
class _Event:
    """A VEVENT with what locates it in the file (None when the file could not be mapped)."""

    component: Component
    file: str
    lines: _EventLines | None

    def get(self, name: str) -> Any:
        """The property `name` (a list when it is given more than once, which `_SINGLE` ones
        may not be)."""
        value = self.component.get(name)
        if isinstance(value, list) and name in _SINGLE:
            self.fail(name, M_TWICE, property=name)
        return value

    def all(self, name: str) -> list[Any]:
        value = self.component.get(name)
        return [] if value is None else value if isinstance(value, list) else [value]

    @property
    def label(self) -> str | None:
        summary = self.component.get("SUMMARY")
        if isinstance(summary, list):
            summary = summary[0]
        text = _one_line(str(summary)) if summary is not None else ""
        return repr(_clip(text, _SHOWN)) if text else None

    def fail(self, prop: str | None, msg: Msg, /, **params: Any) -> NoReturn:
        line = None
        if self.lines is not None:
            line = self.lines.properties.get(prop or "", self.lines.begin)
        _fail(self.file, line, self.label if line is not None else None, msg, **params)


class _Reader:
    def __init__(self, events: list[_Event], source: str, horizon: date) -> None:
        self.events = events
        self.source = source
        self.horizon = horizon
        self.timed = 0
        self.cancelled = 0

    def read(self) -> CalendarRead:
        for event in self.events:
            self._check_values(event)
        moved = self._moved_instances()
        holidays: list[Holiday] = []
        for event in self.events:
            holidays += self._periods(event, moved)
        return CalendarRead(tuple(holidays), self.timed, self.cancelled)

    @staticmethod
    def _check_values(event: _Event) -> None:
        for prop, _detail in event.component.errors:
            if prop in _READ:
                broken = next((v for v in event.all(prop) if isinstance(v, vBroken)), None)
                raw = str(broken) if broken is not None else ""
                event.fail(prop, M_BAD_VALUE, property=prop, value=_clip(raw, _SHOWN))

    def _moved_instances(self) -> dict[str, set[date]]:
        """Per UID, the occurrences that an instance with RECURRENCE-ID replaces."""
        moved: dict[str, set[date]] = {}
        for event in self.events:
            recurrence_id, uid = event.get("RECURRENCE-ID"), event.component.get("UID")
            if recurrence_id is not None and uid is not None:
                moved.setdefault(str(uid), set()).add(_day(event, "RECURRENCE-ID", recurrence_id))
        return moved

    def _periods(self, event: _Event, moved: dict[str, set[date]]) -> list[Holiday]:
        start_prop = event.get("DTSTART")
        if start_prop is None:
            event.fail(None, M_NO_START)
        start = start_prop.dt
        if isinstance(start, datetime):
            if _says_date(start_prop):
                event.fail("DTSTART", M_DATE_TIME_VALUE, property="DTSTART", value=_raw(start_prop))
            self.timed += 1
            return []
        if not isinstance(start, date):  # a bare time, a duration, a period
            event.fail("DTSTART", M_BAD_VALUE, property="DTSTART", value=_raw(start_prop))
        length = _length(event, start)
        if str(event.component.get("STATUS", "")).strip().upper() == "CANCELLED":
            self.cancelled += 1
            return []
        name = _clip(_one_line(str(event.component.get("SUMMARY", ""))), limits.NAME)
        starts = [start]
        if event.get("RECURRENCE-ID") is None:
            uid = event.component.get("UID")
            skipped = moved.get(str(uid), set()) if uid is not None else set()
            starts = self._occurrences(event, start, skipped)
        return [Holiday(day, day + length, name, self.source) for day in starts]

    def _occurrences(self, event: _Event, start: date, skipped: set[date]) -> list[date]:
        """DTSTART, the RRULEs' occurrences until the horizon and the RDATEs, less EXDATEs and
        instances moved elsewhere (RFC 5545 3.8.5)."""
        rules, extra = event.all("RRULE"), event.all("RDATE")
        if not rules and not extra:
            return [start]
        days = {start}
        for rule in rules:
            days |= self._expand(event, rule, start)
        days |= {d for value in extra for d in _days(event, "RDATE", value)}
        days -= {d for value in event.all("EXDATE") for d in _days(event, "EXDATE", value)}
        days -= skipped
        if len(days) > MAX_OCCURRENCES:
            event.fail("RRULE", M_TOO_MANY, max=MAX_OCCURRENCES, until=self.horizon.isoformat())
        return sorted(days)

    def _expand(self, event: _Event, rule: vRecur, start: date) -> set[date]:
        shown = _clip(rule.to_ical().decode(errors="replace"), _SHOWN)
        parts = {key: list(values) for key, values in rule.items()}
        if any(str(f).upper() in _SUB_DAILY for f in parts.get("FREQ", [])):
            event.fail("RRULE", M_SUB_DAILY, value=shown)
        if "COUNT" not in parts:
            # An RRULE of an all-day event ends on a date (RFC 5545 3.3.10); a date-time UNTIL
            # (written by some calendars) counts by its date. Never past the horizon.
            until = [u.date() if isinstance(u, datetime) else u for u in parts.get("UNTIL", [])]
            parts["UNTIL"] = [min([*until, self.horizon])]
        try:
            text = vRecur(parts).to_ical().decode()
            occurrences = rrulestr(text, dtstart=datetime.combine(start, time()))
            days: set[date] = set()
            for moment in occurrences:
                if moment.date() > self.horizon:
                    break
                days.add(moment.date())
                if len(days) > MAX_OCCURRENCES:
                    break
        except (ValueError, TypeError, KeyError, OverflowError):
            event.fail("RRULE", M_BAD_RRULE, value=shown)
        return days


def _length(event: _Event, start: date) -> timedelta:
    """How many days after `start` the period's last day is."""
    end_prop, duration_prop = event.get("DTEND"), event.get("DURATION")
    if end_prop is not None and duration_prop is not None:
        event.fail("DURATION", M_END_AND_DURATION)
    if end_prop is not None:
        end = end_prop.dt
        if isinstance(end, datetime):
            event.fail("DTEND", M_END_IS_DATE_TIME)
        if not isinstance(end, date):
            event.fail("DTEND", M_BAD_VALUE, property="DTEND", value=_raw(end_prop))
        if end < start:
            event.fail("DTEND", M_ENDS_BEFORE, start=start.isoformat(), end=end.isoformat())
        # DTEND is the first day after the event; equal to DTSTART it is taken as one day.
        return timedelta(days=max((end - start).days, 1) - 1)
    if duration_prop is not None:
        duration = duration_prop.dt
        if not isinstance(duration, timedelta):
            event.fail("DURATION", M_BAD_VALUE, property="DURATION", value=_raw(duration_prop))
        if duration < timedelta(0):
            event.fail("DURATION", M_NEGATIVE_DURATION, value=_raw(duration_prop))
        if duration % timedelta(days=1):
            event.fail("DURATION", M_PARTIAL_DAYS, value=_raw(duration_prop))
        return timedelta(days=max(duration.days, 1) - 1)
    return timedelta(0)


def _days(event: _Event, prop: str, value: Any) -> list[date]:
    """The days of an RDATE or EXDATE line (a list of dates; a date-time counts by its date)."""
    return [_day(event, prop, item) for item in getattr(value, "dts", [])]


def _day(event: _Event, prop: str, value: Any) -> date:
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        return moment.date()
    if isinstance(moment, date):
        return moment
    event.fail(prop, M_BAD_VALUE, property=prop, value=_raw(value))


def _says_date(prop: Any) -> bool:
    return str(getattr(prop, "params", {}).get("VALUE", "")).upper() == "DATE"


def _raw(prop: Any) -> str:
    try:
        text = prop.to_ical()
    except Exception:  # a value the library cannot write back: show what Python has
        text = str(prop)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return _clip(text, _SHOWN)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return _clip(lines[0], 120) if lines else type(exc).__name__


def _fail(file: str, line: int | None, event: str | None, msg: Msg, /, **params: Any) -> NoReturn:
    problem = Localized(lambda lang: msg(lang, **params))
    if line is None:
        raise CalendarError(M_IN_FILE, file=file, problem=problem)
    if event is None:
        raise CalendarError(M_AT_LINE, file=file, line=line, problem=problem)
    raise CalendarError(M_IN_EVENT, file=file, line=line, event=event, problem=problem)
