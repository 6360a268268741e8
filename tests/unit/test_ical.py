"""Reading the school's published calendar (iCalendar): the Dutch school holidays as a school
publishes them, how an all-day event becomes a holiday period, recurring events, the text's
encodings and line endings, and every kind of broken file with its one-line reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters.ical import (
    MAX_OCCURRENCES,
    CalendarError,
    CalendarRead,
    parse_calendar,
    read_holidays,
)
from bot import limits
from bot.domain import Holiday

TODAY = date(2026, 11, 23)
FILE = "rooster-2026-2027.ics"

# -- the calendar a school publishes --------------------------------------------------------------

SCHOOL_YEAR = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Veenlanden College//Jaarplanning//NL
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Vakanties en vrije dagen 2026-2027
X-WR-TIMEZONE:Europe/Amsterdam
BEGIN:VTIMEZONE
TZID:Europe/Amsterdam
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:herfstvakantie-2026@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20261017
DTEND;VALUE=DATE:20261026
SUMMARY:Herfstvakantie
DESCRIPTION:Regio midden. De school is gesloten.
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:ouderavond-2026@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;TZID=Europe/Amsterdam:20261110T193000
DTEND;TZID=Europe/Amsterdam:20261110T213000
SUMMARY:Ouderavond klas 1 en 2
LOCATION:Aula
END:VEVENT
BEGIN:VEVENT
UID:kerstvakantie-2026@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20261219
DTEND;VALUE=DATE:20270104
SUMMARY:Kerstvakantie
END:VEVENT
BEGIN:VEVENT
UID:voorjaarsvakantie-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270213
DTEND;VALUE=DATE:20270222
SUMMARY:Voorjaarsvakantie
END:VEVENT
BEGIN:VEVENT
UID:goede-vrijdag-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270326
SUMMARY:Goede Vrijdag
END:VEVENT
BEGIN:VEVENT
UID:pasen-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270329
DTEND;VALUE=DATE:20270330
SUMMARY:Tweede Paasdag
END:VEVENT
BEGIN:VEVENT
UID:rapportvergadering-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART:20270407T120000Z
DTEND:20270407T160000Z
SUMMARY:Rapportvergadering (lesvrije middag)
END:VEVENT
BEGIN:VEVENT
UID:meivakantie-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270424
DTEND;VALUE=DATE:20270503
SUMMARY:Meivakantie (met Koningsdag)
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Meivakantie
TRIGGER:-P1D
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:hemelvaart-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270506
DURATION:P2D
SUMMARY:Hemelvaart
END:VEVENT
BEGIN:VEVENT
UID:pinksteren-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270517
SUMMARY:Tweede Pinksterdag
END:VEVENT
BEGIN:VEVENT
UID:zomervakantie-2027@veenlanden.example
DTSTAMP:20260601T080000Z
DTSTART;VALUE=DATE:20270717
DTEND;VALUE=DATE:20270830
SUMMARY:Zomervakantie
END:VEVENT
END:VCALENDAR
"""

SCHOOL_HOLIDAYS = [
    (date(2026, 10, 17), date(2026, 10, 25), "Herfstvakantie"),
    (date(2026, 12, 19), date(2027, 1, 3), "Kerstvakantie"),
    (date(2027, 2, 13), date(2027, 2, 21), "Voorjaarsvakantie"),
    (date(2027, 3, 26), date(2027, 3, 26), "Goede Vrijdag"),
    (date(2027, 3, 29), date(2027, 3, 29), "Tweede Paasdag"),
    (date(2027, 4, 24), date(2027, 5, 2), "Meivakantie (met Koningsdag)"),
    (date(2027, 5, 6), date(2027, 5, 7), "Hemelvaart"),
    (date(2027, 5, 17), date(2027, 5, 17), "Tweede Pinksterdag"),
    (date(2027, 7, 17), date(2027, 8, 29), "Zomervakantie"),
]


def parse(text: str | bytes, *, today: date = TODAY) -> CalendarRead:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_calendar(data, file=FILE, source=FILE, today=today)


def periods(text: str | bytes, *, today: date = TODAY) -> list[tuple[date, date, str]]:
    return [(h.start, h.end, h.name) for h in parse(text, today=today).holidays]


def calendar(*lines: str) -> str:
    """A calendar around `lines` (LF line endings; see the tests of CRLF and CR)."""
    return "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//NL", *lines]) + (
        "\nEND:VCALENDAR\n"
    )


def event(*lines: str) -> list[str]:
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


def error(text: str | bytes, lang: str = "en") -> str:
    with pytest.raises(CalendarError) as caught:
        parse(text)
    return caught.value.render(lang)


# -- the school's year ----------------------------------------------------------------------------


def test_the_dutch_school_holidays_as_a_school_publishes_them() -> None:
    read = parse(SCHOOL_YEAR.replace("\n", "\r\n"))
    assert [(h.start, h.end, h.name) for h in read.holidays] == SCHOOL_HOLIDAYS
    assert {h.source for h in read.holidays} == {FILE}
    # The parents' evening and the report meeting have a time of day: no holidays.
    assert read.timed == 2
    assert read.cancelled == 0


def test_every_period_is_whole_days_inclusive() -> None:
    kerst = parse(SCHOOL_YEAR).holidays[1]
    assert kerst == Holiday(date(2026, 12, 19), date(2027, 1, 3), "Kerstvakantie", FILE)
    assert kerst.contains(date(2027, 1, 3))
    assert not kerst.contains(date(2027, 1, 4))  # DTEND: school starts again


# -- how long an all-day event lasts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "end"),
    [
        pytest.param(["DTEND;VALUE=DATE:20261026"], date(2026, 10, 25), id="dtend-exclusive"),
        pytest.param(["DTEND;VALUE=DATE:20261018"], date(2026, 10, 17), id="dtend-next-day"),
        pytest.param(["DTEND;VALUE=DATE:20261017"], date(2026, 10, 17), id="dtend-same-day"),
        pytest.param([], date(2026, 10, 17), id="no-dtend-one-day"),
        pytest.param(["DURATION:P1D"], date(2026, 10, 17), id="duration-one-day"),
        pytest.param(["DURATION:P9D"], date(2026, 10, 25), id="duration-nine-days"),
        pytest.param(["DURATION:P1W"], date(2026, 10, 23), id="duration-a-week"),
        pytest.param(["DURATION:P0D"], date(2026, 10, 17), id="duration-zero"),
        pytest.param(["DTEND:20261026"], date(2026, 10, 25), id="date-without-value-param"),
    ],
)
def test_the_last_day_of_an_all_day_event(lines: list[str], end: date) -> None:
    text = calendar(*event("DTSTART;VALUE=DATE:20261017", *lines, "SUMMARY:Herfstvakantie"))
    assert periods(text) == [(date(2026, 10, 17), end, "Herfstvakantie")]


def test_timed_events_are_counted_and_left_out() -> None:
    text = calendar(
        *event("DTSTART:20261110T193000Z", "DTEND:20261110T213000Z", "SUMMARY:Ouderavond"),
        *event("DTSTART;TZID=Europe/Amsterdam:20261111T080000", "SUMMARY:Toetsweek"),
        *event("DTSTART;VALUE=DATE:20261017", "SUMMARY:Herfstvakantie"),
        *event("DTSTART:20261201T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=50"),
    )
    read = parse(text)
    assert [h.name for h in read.holidays] == ["Herfstvakantie"]
    assert read.timed == 3


def test_cancelled_all_day_events_are_counted_and_left_out() -> None:
    text = calendar(
        *event("DTSTART;VALUE=DATE:20261017", "STATUS:CANCELLED", "SUMMARY:Studiedag"),
        *event("DTSTART;VALUE=DATE:20261018", "STATUS:CONFIRMED", "SUMMARY:Studiedag"),
    )
    read = parse(text)
    assert [(h.start, h.name) for h in read.holidays] == [(date(2026, 10, 18), "Studiedag")]
    assert read.cancelled == 1


def test_a_calendar_without_events_has_no_holidays() -> None:
    assert parse(calendar()) == CalendarRead(())


# -- the name -------------------------------------------------------------------------------------


def test_the_name_is_the_summary_on_one_line() -> None:
    text = calendar(
        *event(
            "DTSTART;VALUE=DATE:20261219",
            "SUMMARY:  Kerstvakantie\\nen oud\\, nieuw  ",
        ),
        *event("DTSTART;VALUE=DATE:20261220"),
    )
    assert [h.name for h in parse(text).holidays] == ["Kerstvakantie en oud, nieuw", ""]


def test_a_long_name_is_cut_to_what_is_kept() -> None:
    text = calendar(*event("DTSTART;VALUE=DATE:20261219", "SUMMARY:" + "Vakantie " * 60))
    (holiday,) = parse(text).holidays
    assert len(holiday.name) == limits.NAME
    assert holiday.name.startswith("Vakantie Vakantie")
    assert holiday.name.endswith("…")


# -- encodings and line endings -------------------------------------------------------------------

FOLDED = calendar(
    *event(
        "DTSTART;VALUE=DATE:20270424",
        "DTEND;VALUE=DATE:20270503",
        "SUMMARY:Meivakantie – met Koningsdag en Bevrijdi",
        " ngsdag (één week",
        "\t)",
    )
)
FOLDED_NAME = "Meivakantie – met Koningsdag en Bevrijdingsdag (één week)"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(FOLDED.encode(), id="lf"),
        pytest.param(FOLDED.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(FOLDED.replace("\n", "\r").encode(), id="cr"),
        pytest.param(b"\xef\xbb\xbf" + FOLDED.replace("\n", "\r\n").encode(), id="bom-crlf"),
        pytest.param(b"\xef\xbb\xbf" + FOLDED.encode(), id="bom-lf"),
    ],
)
def test_line_endings_byte_order_mark_and_folded_lines(data: bytes) -> None:
    assert periods(data) == [(date(2027, 4, 24), date(2027, 5, 2), FOLDED_NAME)]


def test_blank_lines_and_lower_case_names_are_tolerated() -> None:
    text = (
        "begin:vcalendar\n\nBEGIN:VEVENT\ndtstart;value=date:20261017\n\nEND:VEVENT\nEND:VCALENDAR"
    )
    assert periods(text) == [(date(2026, 10, 17), date(2026, 10, 17), "")]


def test_several_calendars_in_one_file() -> None:
    text = calendar(*event("DTSTART;VALUE=DATE:20261017", "SUMMARY:A")) + calendar(
        *event("DTSTART;VALUE=DATE:20261219", "SUMMARY:B")
    )
    assert [name for _, _, name in periods(text)] == ["A", "B"]


def test_read_from_a_file_names_it_as_the_source(tmp_path: Path) -> None:
    path = tmp_path / "vakanties.ics"
    path.write_bytes(SCHOOL_YEAR.replace("\n", "\r\n").encode())
    read = read_holidays(path, today=TODAY)
    assert [(h.start, h.end, h.name) for h in read.holidays] == SCHOOL_HOLIDAYS
    assert {h.source for h in read.holidays} == {"vakanties.ics"}


def test_a_directory_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CalendarError) as caught:
        read_holidays(tmp_path, today=TODAY)
    assert caught.value.render("en") == f"{tmp_path}: not a file"
    with pytest.raises(CalendarError) as caught:
        read_holidays(tmp_path / "nope.ics", today=TODAY)
    assert caught.value.render("nl") == f"{tmp_path / 'nope.ics'}: geen bestand"


# -- recurring all-day events ---------------------------------------------------------------------


def test_a_yearly_event_is_expanded_a_few_years_ahead() -> None:
    text = calendar(
        *event(
            "UID:koningsdag@school.example",
            "DTSTART;VALUE=DATE:20260427",
            "RRULE:FREQ=YEARLY",
            "SUMMARY:Koningsdag",
        )
    )
    # Until the end of the third calendar year after today.
    assert periods(text) == [
        (date(y, 4, 27), date(y, 4, 27), "Koningsdag") for y in range(2026, 2030)
    ]
    later = [start.year for start, _, _ in periods(text, today=date(2028, 1, 1))]
    assert later == list(range(2026, 2032))


def test_exdate_rdate_and_a_moved_instance() -> None:
    text = calendar(
        *event(
            "UID:koningsdag@school.example",
            "DTSTART;VALUE=DATE:20260427",
            "RRULE:FREQ=YEARLY;UNTIL=20290427",
            # A year the day moves: left out by EXDATE, given by RDATE.
            "EXDATE;VALUE=DATE:20270427",
            "RDATE;VALUE=DATE:20270426",
            "SUMMARY:Koningsdag",
        ),
        *event(
            "UID:koningsdag@school.example",
            "RECURRENCE-ID;VALUE=DATE:20280427",
            "DTSTART;VALUE=DATE:20280428",
            "SUMMARY:Koningsdag (verschoven)",
        ),
    )
    assert sorted(periods(text)) == [
        (date(2026, 4, 27), date(2026, 4, 27), "Koningsdag"),
        (date(2027, 4, 26), date(2027, 4, 26), "Koningsdag"),
        (date(2028, 4, 28), date(2028, 4, 28), "Koningsdag (verschoven)"),
        (date(2029, 4, 27), date(2029, 4, 27), "Koningsdag"),
    ]


def test_a_recurring_period_keeps_its_length() -> None:
    text = calendar(
        *event(
            "DTSTART;VALUE=DATE:20261017",
            "DTEND;VALUE=DATE:20261026",
            "RRULE:FREQ=YEARLY;COUNT=2",
            "SUMMARY:Herfstvakantie",
        )
    )
    assert periods(text) == [
        (date(2026, 10, 17), date(2026, 10, 25), "Herfstvakantie"),
        (date(2027, 10, 17), date(2027, 10, 25), "Herfstvakantie"),
    ]


def test_an_until_with_a_time_counts_by_its_date() -> None:
    text = calendar(
        *event(
            "DTSTART;VALUE=DATE:20270301",
            "RRULE:FREQ=WEEKLY;UNTIL=20270315T230000Z",
            "SUMMARY:Studiedag",
        )
    )
    assert [start for start, _, _ in periods(text)] == [
        date(2027, 3, 1),
        date(2027, 3, 8),
        date(2027, 3, 15),
    ]


def test_a_daily_series_without_end_is_refused() -> None:
    text = calendar(
        *event("DTSTART;VALUE=DATE:20261017", "RRULE:FREQ=DAILY", "SUMMARY:Elke dag vrij")
    )
    assert error(text) == (
        f"{FILE}, line 6, event 'Elke dag vrij': the event recurs more than {MAX_OCCURRENCES} "
        "times until 2029-12-31: a holiday calendar lists periods, not a series"
    )


# -- broken files: one line each, naming the file, the line and the event -------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"", f"{FILE}: the file is empty", id="empty"),
        pytest.param(b"\xef\xbb\xbf \r\n\r\n", f"{FILE}: the file is empty", id="only-blank"),
        pytest.param(
            b"Datum;Omschrijving\n2026-10-17;Herfstvakantie\n",
            f"{FILE}: not an iCalendar file: it does not begin with BEGIN:VCALENDAR",
            id="csv",
        ),
        pytest.param(
            b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n",
            f"{FILE}: not an iCalendar file: it does not begin with BEGIN:VCALENDAR",
            id="pdf",
        ),
        pytest.param(
            "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".encode("utf-16"),
            f"{FILE}: not UTF-8 text (an iCalendar file is UTF-8)",
            id="utf-16",
        ),
        pytest.param(
            b"BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261017\nEND:VEVENT\n",
            f"{FILE}: not an iCalendar file: it does not begin with BEGIN:VCALENDAR",
            id="no-vcalendar",
        ),
        pytest.param(
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Kerst\xe9vakantie\nEND:VEVENT\nEND:VCALENDAR\n",
            f"{FILE}, line 3: not UTF-8 text (an iCalendar file is UTF-8)",
            id="latin-1",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "Herfstvakantie")).encode(),
            f"{FILE}, line 6: not an iCalendar line (NAME:value expected): 'Herfstvakantie'",
            id="not-a-content-line",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE 20261017")).encode(),
            f"{FILE}, line 5: not an iCalendar line (NAME:value expected): "
            "'DTSTART;VALUE=DATE 20261017'",
            id="no-colon",
        ),
        pytest.param(
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261017\nEND:VEVENT\n",
            f"{FILE}: BEGIN:VCALENDAR on line 1 is never closed: END:VCALENDAR is missing",
            id="vcalendar-not-closed",
        ),
        pytest.param(
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261017\nEND:VCALENDAR\n",
            f"{FILE}, line 4: END:VCALENDAR where END:VEVENT was expected "
            "(BEGIN:VEVENT is on line 2)",
            id="vevent-not-closed",
        ),
        pytest.param(
            b"BEGIN:VCALENDAR\nEND:VEVENT\nEND:VCALENDAR\n",
            f"{FILE}, line 2: END:VEVENT without BEGIN:VEVENT",
            id="end-without-begin",
        ),
        pytest.param(
            b"BEGIN:VCALENDAR\nEND:VCALENDAR\nBEGIN:VEVENT\nEND:VEVENT\n",
            f"{FILE}, line 3: 'BEGIN:VEVENT' is outside BEGIN:VCALENDAR … END:VCALENDAR",
            id="event-after-the-calendar",
        ),
        pytest.param(
            b"BEGIN:VCALENDAR\nEND:VCALENDAR\nSUMMARY:x\n",
            f"{FILE}, line 3: 'SUMMARY:x' is outside BEGIN:VCALENDAR … END:VCALENDAR",
            id="property-after-the-calendar",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261317", "SUMMARY:Herfstvakantie")).encode(),
            f"{FILE}, line 5, event 'Herfstvakantie': DTSTART has an invalid value: '20261317'",
            id="month-13",
        ),
        pytest.param(
            calendar(
                *event("SUMMARY:Kerst", "DTSTART;VALUE=DATE:20261219", "DTEND;VALUE=DATE:2027014")
            ).encode(),
            f"{FILE}, line 7, event 'Kerst': DTEND has an invalid value: '2027014'",
            id="short-dtend",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "DURATION:nine days")).encode(),
            f"{FILE}, line 6: DURATION has an invalid value: 'nine days'",
            id="bad-duration",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20270427", "RRULE:FREQ=SOMETIMES")).encode(),
            f"{FILE}, line 6: RRULE has an invalid value: 'FREQ=SOMETIMES'",
            id="bad-rrule",
        ),
        pytest.param(
            calendar(*event("SUMMARY:Studiedag", "DTEND;VALUE=DATE:20261018")).encode(),
            f"{FILE}, line 4, event 'Studiedag': the event has no DTSTART",
            id="no-dtstart",
        ),
        pytest.param(
            calendar(
                *event(
                    "SUMMARY:Herfstvakantie",
                    "DTSTART;VALUE=DATE:20261017",
                    "DTEND;VALUE=DATE:20261010",
                )
            ).encode(),
            f"{FILE}, line 7, event 'Herfstvakantie': the event ends before it starts "
            "(DTSTART 2026-10-17, DTEND 2026-10-10)",
            id="ends-before-it-starts",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "DURATION:-P2D")).encode(),
            f"{FILE}, line 6: DURATION '-P2D' is negative: the event would end before it starts",
            id="negative-duration",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "DURATION:P1DT12H")).encode(),
            f"{FILE}, line 6: DURATION 'P1DT12H' of an all-day event is not a whole number of days",
            id="half-a-day",
        ),
        pytest.param(
            calendar(
                *event(
                    "DTSTART;VALUE=DATE:20261017",
                    "DTEND;VALUE=DATE:20261026",
                    "DURATION:P9D",
                )
            ).encode(),
            f"{FILE}, line 7: the event has both DTEND and DURATION; it may have only one",
            id="dtend-and-duration",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "DTEND:20261018T120000")).encode(),
            f"{FILE}, line 6: DTEND is a date-time while DTSTART is a date: "
            "an all-day event ends on a date",
            id="ends-at-a-time",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017T090000")).encode(),
            f"{FILE}, line 5: DTSTART says VALUE=DATE but holds a date-time: '20261017T090000'",
            id="value-date-with-a-time",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "DTSTART;VALUE=DATE:20261018")).encode(),
            f"{FILE}, line 5: DTSTART is given more than once",
            id="two-starts",
        ),
        pytest.param(
            calendar(*event("DTSTART;VALUE=DATE:20261017", "RRULE:FREQ=HOURLY")).encode(),
            f"{FILE}, line 6: RRULE 'FREQ=HOURLY' repeats more often than daily, "
            "which an all-day event cannot",
            id="hourly",
        ),
    ],
)
def test_a_broken_file_is_refused_with_one_line(data: bytes, reason: str) -> None:
    assert error(data) == reason
    assert "\n" not in error(data, "nl")


def test_the_reason_is_said_in_the_schools_language() -> None:
    text = calendar(
        *event("SUMMARY:Herfstvakantie", "DTSTART;VALUE=DATE:20261017", "DTEND;VALUE=DATE:20261010")
    )
    assert error(text, "nl") == (
        f"{FILE}, regel 7, afspraak 'Herfstvakantie': de afspraak eindigt voordat hij begint "
        "(DTSTART 2026-10-17, DTEND 2026-10-10)"
    )


def test_nothing_of_a_broken_file_is_read() -> None:
    """One broken event refuses the whole calendar: a half-imported holiday list would let
    reminders fire in a holiday that is missing."""
    broken = SCHOOL_YEAR.replace("DTEND;VALUE=DATE:20270830", "DTEND;VALUE=DATE:20270230")
    line = SCHOOL_YEAR.splitlines().index("DTEND;VALUE=DATE:20270830") + 1
    assert error(broken) == (
        f"{FILE}, line {line}, event 'Zomervakantie': DTEND has an invalid value: '20270230'"
    )


def test_a_file_too_large_for_a_calendar_is_refused() -> None:
    data = calendar(*event("DTSTART;VALUE=DATE:20261017", "DESCRIPTION:" + "x" * 6_000_000))
    assert error(data.encode()).startswith(f"{FILE}: too large for a calendar (")
