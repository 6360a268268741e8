from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.dates import (
    DEFAULT_TIME,
    DEFAULT_TIMEZONE,
    MONTH_NAMES_EN,
    MONTH_NAMES_NL,
    WEEKDAY_NAMES_EN,
    WEEKDAY_NAMES_NL,
    WEEKDAYS,
    format_date,
    format_time,
    is_day_name,
    localize,
    next_weekday,
    parse_date,
    parse_time,
)
from bot.domain import Holiday
from bot.errors import InvalidInput
from bot.when import When, parse_when, parse_when_prefix

TZ = ZoneInfo("Europe/Amsterdam")
MONDAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)  # a Monday morning
DATE_EXAMPLE_NL = "Gebruik bijvoorbeeld 2026-12-01, 1-12, morgen of maandag."
DATE_EXAMPLE_EN = "Use for example 2026-12-01, 1-12, tomorrow or monday."
WINTER = dt.timedelta(hours=1)
SUMMER = dt.timedelta(hours=2)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


# --- parse_date ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("2026-12-01", MONDAY, dt.date(2026, 12, 1)),
        ("2026-2-3", MONDAY, dt.date(2026, 2, 3)),
        ("2025-01-01", MONDAY, dt.date(2025, 1, 1)),  # explicit year: past dates are returned
        ("2028-02-29", MONDAY, dt.date(2028, 2, 29)),
        ("2000-02-29", MONDAY, dt.date(2000, 2, 29)),
        ("01-12-2026", MONDAY, dt.date(2026, 12, 1)),
        ("1-12-2026", MONDAY, dt.date(2026, 12, 1)),
        ("29-02-2028", MONDAY, dt.date(2028, 2, 29)),
        ("31-12-2026", MONDAY, dt.date(2026, 12, 31)),
    ],
)
def test_parse_date_with_year(text: str, today: dt.date, expected: dt.date) -> None:
    assert parse_date(text, today=today) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("1-12", MONDAY, dt.date(2026, 12, 1)),
        ("01-12", MONDAY, dt.date(2026, 12, 1)),
        ("30-11", MONDAY, dt.date(2026, 11, 30)),  # today itself
        ("29-11", MONDAY, dt.date(2027, 11, 29)),  # yesterday → next year
        ("1-1", MONDAY, dt.date(2027, 1, 1)),
        ("31-12", dt.date(2026, 12, 31), dt.date(2026, 12, 31)),
        ("1-1", dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
        ("30-12", dt.date(2026, 12, 31), dt.date(2027, 12, 30)),
        ("1-1", dt.date(2027, 1, 1), dt.date(2027, 1, 1)),
        ("31-12", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
        ("29-02", dt.date(2028, 1, 10), dt.date(2028, 2, 29)),  # leap year, still ahead
        ("29-02", dt.date(2028, 2, 29), dt.date(2028, 2, 29)),  # on the day itself
        ("29-02", dt.date(2027, 3, 1), dt.date(2028, 2, 29)),  # passed in 2027 → leap 2028
        ("28-02", dt.date(2028, 2, 29), dt.date(2029, 2, 28)),
        ("1-3", dt.date(2028, 2, 29), dt.date(2028, 3, 1)),
    ],
)
def test_parse_day_month_is_next_such_date(text: str, today: dt.date, expected: dt.date) -> None:
    assert parse_date(text, today=today) == expected


@pytest.mark.parametrize(
    ("text", "today", "year"),
    [
        ("29-02", dt.date(2026, 1, 10), 2026),  # still ahead, but 2026 has no 29 February
        ("29-02", dt.date(2028, 3, 1), 2029),  # passed in 2028 → 2029, not a leap year
        ("29-2", dt.date(2027, 2, 1), 2027),
    ],
)
def test_parse_29_february_outside_leap_years_is_refused(
    text: str, today: dt.date, year: int
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_date(text, today=today)
    assert f"februari {year} heeft dag 1 tot en met 28" in caught.value.render("nl")
    assert f"February {year} has days 1 to 28" in caught.value.render("en")


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("vandaag", MONDAY, MONDAY),
        ("today", MONDAY, MONDAY),
        ("morgen", MONDAY, dt.date(2026, 12, 1)),
        ("tomorrow", MONDAY, dt.date(2026, 12, 1)),
        ("overmorgen", MONDAY, dt.date(2026, 12, 2)),
        ("morgen", dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
        ("overmorgen", dt.date(2028, 2, 28), dt.date(2028, 3, 1)),
        ("morgen", dt.date(2027, 2, 28), dt.date(2027, 3, 1)),
        ("MORGEN", MONDAY, dt.date(2026, 12, 1)),
        ("  Vandaag ", MONDAY, MONDAY),
        ("ToMoRrOw", MONDAY, dt.date(2026, 12, 1)),
    ],
)
def test_parse_relative_days(text: str, today: dt.date, expected: dt.date) -> None:
    assert parse_date(text, today=today) == expected


ALL_WEEKDAY_SPELLINGS = sorted(WEEKDAYS.items())


@pytest.mark.parametrize(("word", "weekday"), ALL_WEEKDAY_SPELLINGS)
def test_parse_every_weekday_spelling_from_a_monday(word: str, weekday: int) -> None:
    expected = MONDAY + dt.timedelta(days=weekday)
    assert parse_date(word, today=MONDAY) == expected
    assert parse_date(word.upper(), today=MONDAY) == expected
    assert parse_date(word.capitalize(), today=MONDAY) == expected


@pytest.mark.parametrize(
    ("word", "today", "expected"),
    [
        ("maandag", MONDAY, MONDAY),  # said on a Monday: today, not next week
        ("monday", MONDAY, MONDAY),
        ("ma", MONDAY, MONDAY),
        ("dinsdag", MONDAY, dt.date(2026, 12, 1)),  # tomorrow
        ("zondag", MONDAY, dt.date(2026, 12, 6)),
        ("maandag", dt.date(2026, 12, 1), dt.date(2026, 12, 7)),  # said on Tuesday: 6 days on
        ("di", dt.date(2026, 12, 1), dt.date(2026, 12, 1)),
        ("vrijdag", dt.date(2026, 12, 31), dt.date(2027, 1, 1)),  # over the year's end
        ("woensdag", dt.date(2026, 12, 31), dt.date(2027, 1, 6)),
        ("do", dt.date(2026, 12, 31), dt.date(2026, 12, 31)),  # 31 Dec 2026 is a Thursday
        ("zo", dt.date(2028, 2, 27), dt.date(2028, 2, 27)),
        ("ma", dt.date(2028, 2, 27), dt.date(2028, 2, 28)),
        ("di", dt.date(2028, 2, 27), dt.date(2028, 2, 29)),
    ],
)
def test_parse_weekday_is_next_such_day_on_or_after_today(
    word: str, today: dt.date, expected: dt.date
) -> None:
    assert parse_date(word, today=today) == expected


@pytest.mark.parametrize(
    ("text", "today", "nl", "en"),
    [
        ("31-02", MONDAY, "februari 2027 heeft dag 1 tot en met 28", "February 2027 has days 1 to"),
        ("30-02-2028", MONDAY, "februari 2028 heeft dag 1 tot en met 29", "February 2028 has"),
        ("2026-02-29", MONDAY, "februari 2026 heeft dag 1 tot en met 28", "February 2026 has"),
        ("2100-02-29", MONDAY, "februari 2100 heeft dag 1 tot en met 28", "February 2100 has"),
        (
            "2026-04-31",
            MONDAY,
            "april 2026 heeft dag 1 tot en met 30",
            "April 2026 has days 1 to 30",
        ),
        ("31-11", MONDAY, "november 2026 heeft dag 1 tot en met 30", "November 2026 has days"),
        ("32-1", MONDAY, "januari 2027 heeft dag 1 tot en met 31", "January 2027 has days 1 to 31"),
        ("0-12", MONDAY, "december 2026 heeft dag 1 tot en met 31", "December 2026 has days"),
        ("2026-13-01", MONDAY, "er is geen maand 13", "there is no month 13"),
        ("1-13", MONDAY, "er is geen maand 13", "there is no month 13"),
        ("1-0", MONDAY, "er is geen maand 0", "there is no month 0"),
        ("15-00-2026", MONDAY, "er is geen maand 0", "there is no month 0"),
    ],
)
def test_parse_date_refuses_dates_that_do_not_exist(
    text: str, today: dt.date, nl: str, en: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_date(text, today=today)
    assert caught.value.render("nl").startswith(f"{text} bestaat niet")
    assert nl in caught.value.render("nl")
    assert en in caught.value.render("en")
    assert DATE_EXAMPLE_NL in caught.value.render("nl")
    assert DATE_EXAMPLE_EN in caught.value.render("en")
    assert str(caught.value) == caught.value.render("nl")


@pytest.mark.parametrize(
    "text",
    [
        "gisteren",
        "morgenn",
        "1/12",
        "1.12",
        "1-12-26",
        "2026-12",
        "12",
        "1 december",
        "0000-01-01",
        "2026-12-01T08:00",
        "next monday",
        "maandag morgen",
        "-1-12",
    ],
)
def test_parse_date_refuses_what_it_does_not_understand(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_date(text, today=MONDAY)
    assert f"'{text}' is geen datum die ik begrijp" in caught.value.render("nl")
    assert f"I don't understand '{text}' as a date" in caught.value.render("en")
    assert DATE_EXAMPLE_NL in caught.value.render("nl")
    assert DATE_EXAMPLE_EN in caught.value.render("en")


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_date_refuses_nothing(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_date(text, today=MONDAY)
    assert "De datum ontbreekt" in caught.value.render("nl")
    assert DATE_EXAMPLE_EN in caught.value.render("en")


# --- parse_time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00", dt.time(8, 0)),
        ("8:00", dt.time(8, 0)),
        ("8.00", dt.time(8, 0)),
        ("08.00", dt.time(8, 0)),
        ("8.30", dt.time(8, 30)),
        ("7:05", dt.time(7, 5)),
        ("0:00", dt.time(0, 0)),
        ("00:00", dt.time(0, 0)),
        ("23:59", dt.time(23, 59)),
        ("12:00", dt.time(12, 0)),
        (" 15:45 ", dt.time(15, 45)),
    ],
)
def test_parse_time(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "8", "0800", "800", "8:5", "8:000", "8am", "08:00:00", "8u", "8u30", "-1:00", "a:bc"],
)
def test_parse_time_refuses_other_shapes(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_time(text)
    assert "geen tijd die ik begrijp. Gebruik bijvoorbeeld 08:00 of 8.30." in caught.value.render()
    assert "as a time. Use for example 08:00 or 8:30." in caught.value.render("en")


@pytest.mark.parametrize("text", ["24:00", "8:60", "99:99", "25.00", "23:60"])
def test_parse_time_refuses_times_that_do_not_exist(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_time(text)
    assert caught.value.render("nl").startswith(f"{text} bestaat niet")
    assert "08:00" in caught.value.render("nl")
    assert caught.value.render("en").startswith(f"{text} does not exist")
    assert "08:00" in caught.value.render("en")


# --- formatting and helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "nl", "en"),
    [
        (dt.date(2026, 12, 1), "dinsdag 1 december 2026", "Tuesday 1 December 2026"),
        (dt.date(2026, 11, 30), "maandag 30 november 2026", "Monday 30 November 2026"),
        (dt.date(2028, 2, 29), "dinsdag 29 februari 2028", "Tuesday 29 February 2028"),
        (dt.date(2027, 1, 3), "zondag 3 januari 2027", "Sunday 3 January 2027"),
    ],
)
def test_format_date(day: dt.date, nl: str, en: str) -> None:
    assert format_date(day) == nl
    assert format_date(day, "nl") == nl
    assert format_date(day, "en") == en
    assert format_date(day, "fr") == nl


@pytest.mark.parametrize("month", range(1, 13))
def test_format_date_names_every_month(month: int) -> None:
    day = dt.date(2026, month, 15)
    assert MONTH_NAMES_NL[month - 1] in format_date(day, "nl")
    assert MONTH_NAMES_EN[month - 1] in format_date(day, "en")


@pytest.mark.parametrize("offset", range(7))
def test_format_date_names_every_weekday(offset: int) -> None:
    day = MONDAY + dt.timedelta(days=offset)
    assert format_date(day, "nl").startswith(WEEKDAY_NAMES_NL[offset] + " ")
    assert format_date(day, "en").startswith(WEEKDAY_NAMES_EN[offset] + " ")


@pytest.mark.parametrize(
    ("t", "text"), [(dt.time(8, 0), "08:00"), (dt.time(23, 5), "23:05"), (dt.time(0, 0), "00:00")]
)
def test_format_time(t: dt.time, text: str) -> None:
    assert format_time(t) == text


@pytest.mark.parametrize("start", range(7))
@pytest.mark.parametrize("weekday", range(7))
def test_next_weekday(start: int, weekday: int) -> None:
    today = MONDAY + dt.timedelta(days=start)
    result = next_weekday(today, weekday)
    assert result.weekday() == weekday
    assert today <= result <= today + dt.timedelta(days=6)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("morgen", True),
        ("Vandaag", True),
        ("tomorrow", True),
        ("overmorgen", True),
        ("maandag", True),
        ("Friday", True),
        ("ma", False),
        ("do", False),
        ("1-12", False),
        ("2B", False),
        ("H4A", False),
    ],
)
def test_is_day_name(word: str, expected: bool) -> None:
    assert is_day_name(word) is expected


# --- localize (daylight saving time) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "wall", "expected_wall", "offset"),
    [
        (dt.date(2026, 1, 15), dt.time(8, 0), dt.time(8, 0), WINTER),
        (dt.date(2026, 7, 15), dt.time(8, 0), dt.time(8, 0), SUMMER),
        (dt.date(2026, 3, 29), dt.time(1, 59), dt.time(1, 59), WINTER),
        (dt.date(2026, 3, 29), dt.time(2, 0), dt.time(3, 0), SUMMER),  # gap: its end
        (dt.date(2026, 3, 29), dt.time(2, 30), dt.time(3, 0), SUMMER),  # gap: its end
        (dt.date(2026, 3, 29), dt.time(2, 59), dt.time(3, 0), SUMMER),  # gap: its end
        (dt.date(2026, 3, 29), dt.time(3, 0), dt.time(3, 0), SUMMER),
        (dt.date(2027, 3, 28), dt.time(2, 30), dt.time(3, 0), SUMMER),  # gap: its end
        (dt.date(2026, 10, 25), dt.time(1, 59), dt.time(1, 59), SUMMER),
        (dt.date(2026, 10, 25), dt.time(2, 30), dt.time(2, 30), SUMMER),  # twice: the first
        (dt.date(2026, 10, 25), dt.time(3, 0), dt.time(3, 0), WINTER),
        (dt.date(2027, 10, 31), dt.time(2, 30), dt.time(2, 30), SUMMER),  # twice: the first
    ],
)
def test_localize_across_daylight_saving_time(
    day: dt.date, wall: dt.time, expected_wall: dt.time, offset: dt.timedelta
) -> None:
    result = localize(day, wall, TZ)
    assert result.tzinfo is TZ
    assert result.date() == day
    assert result.time() == expected_wall
    assert result.utcoffset() == offset


def test_localize_defaults_to_amsterdam() -> None:
    assert DEFAULT_TIMEZONE == TZ
    assert localize(dt.date(2026, 12, 1), dt.time(8, 0)) == at(2026, 12, 1, 8, 0)


# --- parse_when: repeating -----------------------------------------------------------------------

MONDAYS = "FREQ=WEEKLY;BYDAY=MO"
WORKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
OTHER_FRIDAYS = "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute)


@pytest.mark.parametrize(
    ("text", "rule", "start", "normalised"),
    [
        # Said on Monday 30 November 2026 at 10:00: Monday 08:00 has passed, so next Monday.
        ("elke maandag 08:00", MONDAYS, local(2026, 12, 7, 8), "elke maandag 08:00"),
        ("elke maandag 11:00", MONDAYS, local(2026, 11, 30, 11), "elke maandag 11:00"),
        ("every monday 08:00", MONDAYS, local(2026, 12, 7, 8), "elke maandag 08:00"),
        ("Elke Maandag om 8.30", MONDAYS, local(2026, 12, 7, 8, 30), "elke maandag 08:30"),
        ("every Monday at 8:30", MONDAYS, local(2026, 12, 7, 8, 30), "elke maandag 08:30"),
        (
            "every friday 15:00",
            "FREQ=WEEKLY;BYDAY=FR",
            local(2026, 12, 4, 15),
            "elke vrijdag 15:00",
        ),
        (
            "elke wo 12:15",
            "FREQ=WEEKLY;BYDAY=WE",
            local(2026, 12, 2, 12, 15),
            "elke woensdag 12:15",
        ),
        ("every sun 02:30", "FREQ=WEEKLY;BYDAY=SU", local(2026, 12, 6, 2, 30), "elke zondag 02:30"),
        (
            "elke donderdag",
            "FREQ=WEEKLY;BYDAY=TH",
            dt.datetime.combine(dt.date(2026, 12, 3), DEFAULT_TIME),
            "elke donderdag 08:00",
        ),
        (
            "  elke   dinsdag   08:00  ",
            "FREQ=WEEKLY;BYDAY=TU",
            local(2026, 12, 1, 8),
            "elke dinsdag 08:00",
        ),
        ("elke werkdag 07:45", WORKDAYS, local(2026, 12, 1, 7, 45), "elke werkdag 07:45"),
        ("every weekday 7:45", WORKDAYS, local(2026, 12, 1, 7, 45), "elke werkdag 07:45"),
        ("elke werkdag 16:00", WORKDAYS, local(2026, 11, 30, 16), "elke werkdag 16:00"),
        ("elke dag 08:00", "FREQ=DAILY", local(2026, 12, 1, 8), "elke dag 08:00"),
        ("dagelijks 20:00", "FREQ=DAILY", local(2026, 11, 30, 20), "elke dag 20:00"),
        ("daily at 8:00", "FREQ=DAILY", local(2026, 12, 1, 8), "elke dag 08:00"),
        (
            "om de week op vrijdag 15:00",
            OTHER_FRIDAYS,
            local(2026, 12, 4, 15),
            "om de week op vrijdag 15:00",
        ),
        (
            "every other friday 15:00",
            OTHER_FRIDAYS,
            local(2026, 12, 4, 15),
            "om de week op vrijdag 15:00",
        ),
        (
            "elke twee weken op vrijdag 15:00",
            OTHER_FRIDAYS,
            local(2026, 12, 4, 15),
            "om de week op vrijdag 15:00",
        ),
        (
            "om de week op maandag 8:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            local(2026, 12, 7, 8),
            "om de week op maandag 08:00",
        ),
    ],
)
def test_parse_when_repeating(text: str, rule: str, start: dt.datetime, normalised: str) -> None:
    when = parse_when(text, now=NOW, tz=TZ)
    assert when == When(
        text=normalised, recurring=True, time=start.time(), at=None, rule=rule, start=start
    )
    assert parse_when(when.text, now=NOW, tz=TZ) == when


def test_every_other_week_starts_on_the_first_such_day_then_skips_a_week() -> None:
    wednesday = at(2026, 12, 2, 12, 0)
    when = parse_when("om de week op vrijdag 15:00", now=wednesday, tz=TZ)
    assert when.start == local(2026, 12, 4, 15)
    assert [o.at for o in when.occurrences(wednesday, TZ)] == [
        at(2026, 12, 4, 15),
        at(2026, 12, 18, 15),
        at(2027, 1, 1, 15),
    ]


def test_a_repetition_said_just_before_its_time_starts_that_day() -> None:
    assert parse_when("elke maandag 10:00", now=NOW, tz=TZ).start == local(2026, 11, 30, 10)
    later = NOW + dt.timedelta(minutes=1)
    assert parse_when("elke maandag 10:00", now=later, tz=TZ).start == local(2026, 12, 7, 10)


# --- parse_when: once ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 08:00", at(2026, 12, 1, 8, 0)),
        ("1-12-2026 8.15", at(2026, 12, 1, 8, 15)),
        ("1-12 08:00", at(2026, 12, 1, 8, 0)),
        ("op 1-12 08:00", at(2026, 12, 1, 8, 0)),
        ("on 2026-12-01 at 8:00", at(2026, 12, 1, 8, 0)),
        ("morgen 08:00", at(2026, 12, 1, 8, 0)),
        ("tomorrow at 8:00", at(2026, 12, 1, 8, 0)),
        ("morgen om 14.15", at(2026, 12, 1, 14, 15)),
        ("overmorgen 07:45", at(2026, 12, 2, 7, 45)),
        ("vandaag 11:00", at(2026, 11, 30, 11, 0)),
        ("today 10:00", at(2026, 11, 30, 10, 0)),  # exactly now: not passed
        ("dinsdag 08:00", at(2026, 12, 1, 8, 0)),
        ("op dinsdag 08:00", at(2026, 12, 1, 8, 0)),
        ("maandag 11:00", at(2026, 11, 30, 11, 0)),  # Monday, still ahead today
        ("maandag 08:00", at(2026, 12, 7, 8, 0)),  # Monday, passed today: next Monday
        ("ma 10:00", at(2026, 11, 30, 10, 0)),
        ("zondag 23:59", at(2026, 12, 6, 23, 59)),
        ("11:00", at(2026, 11, 30, 11, 0)),  # bare time, still ahead today
        ("10:00", at(2026, 11, 30, 10, 0)),
        ("08:00", at(2026, 12, 1, 8, 0)),  # bare time, passed: tomorrow
        ("om 08:00", at(2026, 12, 1, 8, 0)),
        ("at 11:00", at(2026, 11, 30, 11, 0)),
        ("9.59", at(2026, 12, 1, 9, 59)),
        ("morgen", at(2026, 12, 1, 8, 0)),  # a day alone: at 08:00
        ("2026-12-24", at(2026, 12, 24, 8, 0)),
        ("maandag", at(2026, 12, 7, 8, 0)),  # Monday 08:00 has passed today
        ("vrijdag", at(2026, 12, 4, 8, 0)),
    ],
)
def test_parse_when_once(text: str, expected: dt.datetime) -> None:
    when = parse_when(text, now=NOW, tz=TZ)
    assert when.at == expected
    assert when.at is not None
    assert when.at.tzinfo is TZ
    assert when.recurring is False
    assert when.rule is None
    assert when.start == expected.replace(tzinfo=None)
    assert when.time == expected.time().replace(tzinfo=None)
    assert when.text == f"{expected.date().isoformat()} {expected:%H:%M}"
    assert parse_when(when.text, now=NOW, tz=TZ) == when


def test_parse_when_reads_now_in_the_schools_time_zone() -> None:
    # 23:30 UTC on 30 November is already 1 December in Amsterdam.
    now = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    assert parse_when("vandaag 08:00", now=now, tz=TZ).at == at(2026, 12, 1, 8, 0)
    assert parse_when("morgen 08:00", now=now, tz=TZ).at == at(2026, 12, 2, 8, 0)
    assert parse_when("09:00", now=now, tz=TZ).at == at(2026, 12, 1, 9, 0)
    assert parse_when("elke dinsdag 08:00", now=now, tz=TZ).start == local(2026, 12, 1, 8)


def test_parse_when_defaults_to_amsterdam() -> None:
    assert parse_when("morgen 08:00", now=NOW) == parse_when("morgen 08:00", now=NOW, tz=TZ)


def test_parse_when_in_another_time_zone() -> None:
    london = ZoneInfo("Europe/London")
    when = parse_when("morgen 08:00", now=NOW, tz=london)
    assert when.at == dt.datetime(2026, 12, 1, 8, 0, tzinfo=london)
    assert when.at is not None
    assert when.at.tzinfo is london


# --- parse_when: refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("vandaag 07:00", "2026-11-30 07:00"),
        ("today 9.59", "2026-11-30 09:59"),
        ("vandaag", "2026-11-30 08:00"),
        ("30-11 08:00", "2026-11-30 08:00"),  # today as D-M: passed, not next year
        ("2026-01-01 08:00", "2026-01-01 08:00"),
        ("30-11-2026 09:00", "2026-11-30 09:00"),
        ("op 30-11 08:00", "2026-11-30 08:00"),
    ],
)
def test_parse_when_refuses_a_moment_that_has_passed(text: str, normalised: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    assert f"{normalised} is al voorbij" in caught.value.render("nl")
    assert "bijvoorbeeld morgen 08:00" in caught.value.render("nl")
    assert f"{normalised} has already passed" in caught.value.render("en")
    assert "for example tomorrow 08:00" in caught.value.render("en")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("gisteren", "gisteren"),
        ("gisteren 08:00", "gisteren"),
        ("Gisteren om 8.30", "Gisteren"),
        ("eergisteren 12:00", "eergisteren"),
        ("yesterday at 7:30", "yesterday"),
        ("op gisteren 08:00", "gisteren"),
    ],
)
def test_parse_when_refuses_a_day_in_the_past(text: str, word: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    assert caught.value.render("nl") == (
        f"'{word}' ligt in het verleden. Kies een moment in de toekomst, bijvoorbeeld morgen 08:00."
    )
    assert caught.value.render("en") == (
        f"'{word}' lies in the past. Choose a moment in the future, for example tomorrow 08:00."
    )


WHEN_EXAMPLE_NL = (
    "Gebruik bijvoorbeeld elke maandag 08:00, 2026-12-01 08:00, morgen 08:00 of 08:00."
)
WHEN_EXAMPLE_EN = "Use for example every monday 08:00, 2026-12-01 08:00, tomorrow 08:00 or 08:00."


@pytest.mark.parametrize(
    "text",
    [
        "morgen middag",
        "08:00 morgen",
        "morgen 08:00 extra",
        "morgen om",
        "morgen at 08:00 x",
        "om acht uur",
        "volgende week",
        "straks",
        "08:00 08:00",
        "elke maandag 08:00 extra",
        "elke maandag om",
        "elke maandag en woensdag",
        "op tijd",
    ],
)
def test_parse_when_refuses_what_it_does_not_understand(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    nl, en = caught.value.render("nl"), caught.value.render("en")
    assert "Gebruik bijvoorbeeld" in nl
    assert "08:00" in nl
    assert "Use for example" in en
    assert "08:00" in en


@pytest.mark.parametrize(
    "text", ["volgende week", "straks", "08:00 morgen", "morgen 08:00 x", "op tijd"]
)
def test_parse_when_unknown_gives_all_examples(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    assert f"'{text}' is geen tijdstip dat ik begrijp. {WHEN_EXAMPLE_NL}" == caught.value.render()
    assert f"I don't understand '{text}' as a moment. {WHEN_EXAMPLE_EN}" == caught.value.render(
        "en"
    )


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_when_refuses_nothing(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    assert caught.value.render("nl") == f"Het tijdstip ontbreekt. {WHEN_EXAMPLE_NL}"
    assert caught.value.render("en") == f"The moment is missing. {WHEN_EXAMPLE_EN}"


@pytest.mark.parametrize(
    "text",
    [
        "elke",
        "every",
        "elke maand",
        "elke maand 08:00",
        "every hour",
        "every month at 9:00",
        "elke 5 minuten",
        "elke 08:00",
        "elke morgen 8:00",
        "elke week",
        "om de week",
        "om de maand 08:00",
        "every other week",
        "every 3 weeks on friday",
        "elke twee maandagen",
        "dagelijkse",
    ],
)
def test_parse_when_says_what_can_repeat(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    nl, en = caught.value.render("nl"), caught.value.render("en")
    if text == "dagelijkse":  # not a repetition word: not understood at all
        assert "geen tijdstip dat ik begrijp" in nl
        return
    assert nl == (
        f"'{text}' kan ik niet herhalen: alleen elke dag, elke werkdag, elke maandag (of een "
        "andere dag) of om de week op vrijdag, bijvoorbeeld elke werkdag 07:45."
    )
    assert en == (
        f"I cannot repeat '{text}': only every day, every weekday, every monday (or another day) "
        "or every other friday, for example every weekday 07:45."
    )


@pytest.mark.parametrize(
    ("text", "nl"),
    [
        ("31-02 08:00", "31-02 bestaat niet"),
        ("op 31-02 08:00", "31-02 bestaat niet"),
        ("2026-02-29 08:00", "2026-02-29 bestaat niet"),
        ("1-13 08:00", "er is geen maand 13"),
        ("morgen 25:00", "25:00 bestaat niet"),
        ("elke maandag 8:60", "8:60 bestaat niet"),
        ("elke werkdag 24:00", "24:00 bestaat niet"),
        ("om de week op vrijdag 15:75", "15:75 bestaat niet"),
        ("24:00", "24:00 bestaat niet"),
        ("om 25:00", "25:00 bestaat niet"),
        ("morgen 8", "'8' is geen tijd"),
        ("2026-12 08:00", "'2026-12' is geen datum"),
    ],
)
def test_parse_when_says_which_part_is_wrong(text: str, nl: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    assert nl in caught.value.render("nl")


def test_parse_when_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("morgen 08:00", now=dt.datetime(2026, 11, 30, 10, 0), tz=TZ)
    with pytest.raises(ValueError, match="aware"):
        parse_when("elke maandag 08:00", now=dt.datetime(2026, 11, 30, 10, 0), tz=TZ)


# --- daylight saving time: last Sunday of March and of October 2026 ------------------------------


def test_weekly_at_0230_in_the_spring_forward_gap_fires_at_the_end_of_the_gap() -> None:
    when = parse_when("elke zondag 02:30", now=at(2026, 3, 20, 12, 0), tz=TZ)
    assert when.rule == "FREQ=WEEKLY;BYDAY=SU"
    assert when.start == local(2026, 3, 22, 2, 30)
    before = when.next_run(at(2026, 3, 20, 12, 0), TZ)
    assert before == at(2026, 3, 22, 2, 30)
    assert before is not None
    assert before.utcoffset() == WINTER
    gap = when.next_run(before, TZ)
    assert gap == at(2026, 3, 29, 3, 0)  # 02:30 does not exist that night
    assert gap is not None
    assert gap.utcoffset() == SUMMER
    assert gap.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
    after = when.next_run(gap, TZ)
    assert after == at(2026, 4, 5, 2, 30)
    assert after is not None
    assert after.utcoffset() == SUMMER
    moved = when.occurrences(at(2026, 3, 28), TZ, limit=1)
    assert moved[0].moved


def test_weekly_at_0230_in_the_autumn_repeated_hour_fires_once() -> None:
    when = parse_when("every sunday 02:30", now=at(2026, 10, 20, 12, 0), tz=TZ)
    first = when.next_run(at(2026, 10, 20, 12, 0), TZ)
    assert first is not None
    assert first.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert first.utcoffset() == SUMMER  # the first of the two 02:30s
    # Half an hour later (the second 02:30, winter time) is not another firing.
    second = when.next_run(first, TZ)
    assert second == at(2026, 11, 1, 2, 30)
    assert second is not None
    assert second.utcoffset() == WINTER
    assert when.next_run(first + dt.timedelta(hours=1), TZ) == second


@pytest.mark.parametrize(
    ("text", "now", "expected_utc"),
    [
        ("zondag 02:30", at(2026, 3, 28, 12, 0), dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)),
        ("2026-03-29 02:30", at(2026, 3, 1, 12), dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)),
        ("02:30", at(2026, 3, 29, 1, 0), dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)),
        ("morgen 08:00", at(2026, 3, 28, 10), dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)),
        ("zondag 02:30", at(2026, 10, 24, 12), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
        ("2026-10-25 02:30", at(2026, 10, 1), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
        ("morgen 08:00", at(2026, 10, 24, 10), dt.datetime(2026, 10, 25, 7, 0, tzinfo=dt.UTC)),
        ("2027-03-28 02:30", at(2027, 3, 1), dt.datetime(2027, 3, 28, 1, 0, tzinfo=dt.UTC)),
        ("2027-10-31 02:30", at(2027, 10, 1), dt.datetime(2027, 10, 31, 0, 30, tzinfo=dt.UTC)),
    ],
)
def test_once_across_daylight_saving_time(
    text: str, now: dt.datetime, expected_utc: dt.datetime
) -> None:
    when = parse_when(text, now=now, tz=TZ)
    assert when.at is not None
    assert when.at.astimezone(dt.UTC) == expected_utc
    assert when.at.tzinfo is TZ
    # The text says when it really happens, and reads back to the same moment.
    assert when.text.endswith(when.at.strftime("%H:%M"))
    assert parse_when(when.text, now=now, tz=TZ) == when


def test_weekly_follows_the_wall_clock_across_daylight_saving_time() -> None:
    when = parse_when("elke maandag 08:00", now=at(2026, 3, 1), tz=TZ)
    spring = when.next_run(at(2026, 3, 27, 12, 0), TZ)
    autumn = when.next_run(at(2026, 10, 24, 12, 0), TZ)
    assert spring == at(2026, 3, 30, 8, 0)
    assert spring is not None
    assert spring.utcoffset() == SUMMER
    assert autumn == at(2026, 10, 26, 8, 0)
    assert autumn is not None
    assert autumn.utcoffset() == WINTER


# --- When ----------------------------------------------------------------------------------------

WEEKLY_MONDAY = When.repeating(MONDAYS, local(2026, 11, 30, 8))


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (at(2026, 11, 30, 7, 59), at(2026, 11, 30, 8, 0)),  # its first Monday, just before
        (at(2026, 11, 30, 8, 0), at(2026, 12, 7, 8, 0)),  # exactly then: strictly after
        (at(2026, 11, 30, 10, 0), at(2026, 12, 7, 8, 0)),
        (at(2026, 12, 6, 23, 0), at(2026, 12, 7, 8, 0)),
        (dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC), at(2026, 12, 7, 8, 0)),
        (at(2026, 1, 1), at(2026, 11, 30, 8, 0)),  # nothing before its start
    ],
)
def test_weekly_next_run(after: dt.datetime, expected: dt.datetime) -> None:
    assert WEEKLY_MONDAY.next_run(after, TZ) == expected


def test_once_next_run() -> None:
    when = When.once(at(2026, 12, 1, 8, 0))
    assert when.next_run(at(2026, 11, 30, 10, 0), TZ) == at(2026, 12, 1, 8, 0)
    assert when.next_run(at(2026, 12, 1, 8, 0), TZ) is None
    assert when.next_run(at(2026, 12, 2, 8, 0), TZ) is None


CHRISTMAS = Holiday(dt.date(2026, 12, 19), dt.date(2027, 1, 3), "Kerstvakantie")


def test_occurrences_of_a_repetition_skip_holidays() -> None:
    when = parse_when("elke maandag 08:00", now=at(2026, 12, 10), tz=TZ)
    found = when.occurrences(at(2026, 12, 10), TZ, holidays=[CHRISTMAS])
    assert [o.at for o in found] == [at(2026, 12, 14, 8), at(2027, 1, 4, 8), at(2027, 1, 11, 8)]
    assert [o.at for o in when.occurrences(at(2026, 12, 10), TZ, limit=2)] == [
        at(2026, 12, 14, 8),
        at(2026, 12, 21, 8),
    ]


def test_occurrences_of_a_one_off_in_a_holiday_name_it() -> None:
    when = parse_when("2026-12-21 09:00", now=NOW, tz=TZ)
    found = when.occurrences(NOW, TZ, holidays=[CHRISTMAS])
    assert [(o.at, o.holiday) for o in found] == [(at(2026, 12, 21, 9), CHRISTMAS)]
    assert when.occurrences(at(2026, 12, 21, 9), TZ) == []


@pytest.mark.parametrize(
    ("text", "nl", "en"),
    [
        ("elke maandag 08:00", "elke maandag om 08:00", "every Monday at 08:00"),
        ("elke zondag 02:30", "elke zondag om 02:30", "every Sunday at 02:30"),
        ("elke werkdag 07:45", "elke werkdag om 07:45", "every weekday at 07:45"),
        (
            "om de week op vrijdag 15:00",
            "om de week op vrijdag om 15:00",
            "every other Friday at 15:00",
        ),
        ("elke dag 08:00", "elke dag om 08:00", "every day at 08:00"),
        (
            "2026-12-01 08:00",
            "dinsdag 1 december 2026 om 08:00",
            "Tuesday 1 December 2026 at 08:00",
        ),
    ],
)
def test_when_describe(text: str, nl: str, en: str) -> None:
    when = parse_when(text, now=NOW, tz=TZ)
    assert when.describe() == nl
    assert when.describe("nl") == nl
    assert when.describe("en") == en


GOOD = {
    "text": "elke maandag 08:00",
    "recurring": True,
    "time": dt.time(8),
    "at": None,
    "rule": MONDAYS,
    "start": local(2026, 12, 7, 8),
}
GOOD_ONCE = {
    "text": "2026-12-01 08:00",
    "recurring": False,
    "time": dt.time(8),
    "at": at(2026, 12, 1, 8),
    "rule": None,
    "start": local(2026, 12, 1, 8),
}


@pytest.mark.parametrize(
    "fields",
    [
        {**GOOD, "rule": None},
        {**GOOD, "rule": "FREQ=MONTHLY"},
        {**GOOD, "at": at(2026, 12, 7, 8)},
        {**GOOD, "start": local(2026, 12, 8, 8)},  # a Tuesday is no Monday
        {**GOOD, "time": dt.time(9)},
        {**GOOD, "start": at(2026, 12, 7, 8)},  # aware
        {**GOOD_ONCE, "at": None},
        {**GOOD_ONCE, "at": dt.datetime(2026, 12, 1, 8)},  # naive
        {**GOOD_ONCE, "rule": MONDAYS},
        {**GOOD_ONCE, "start": local(2026, 12, 2, 8)},
        {**GOOD_ONCE, "recurring": True},
    ],
)
def test_when_refuses_inconsistent_fields(fields: dict[str, object]) -> None:
    When(**GOOD)  # type: ignore[arg-type]
    When(**GOOD_ONCE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inconsistent"):
        When(**fields)  # type: ignore[arg-type]


def test_when_once_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        When.once(dt.datetime(2026, 12, 1, 8, 0))


def test_when_repeating_needs_a_rule_it_can_say() -> None:
    with pytest.raises(ValueError, match="rule"):
        When.repeating("FREQ=MONTHLY;BYMONTHDAY=1", local(2026, 12, 1, 8))


def test_when_is_frozen() -> None:
    with pytest.raises(AttributeError):
        WEEKLY_MONDAY.text = "x"  # type: ignore[misc]


# --- parse_when_prefix (a reminder's moment before its text) -------------------------------------


@pytest.mark.parametrize(
    ("text", "length", "normalised"),
    [
        ("elke maandag 08:00 Gymspullen meenemen", 3, "elke maandag 08:00"),
        ("every friday at 15:00 Hand in", 4, "elke vrijdag 15:00"),
        ("elke ma om 8.30 x", 4, "elke maandag 08:30"),
        ("elke werkdag 07:45 Op tijd!", 3, "elke werkdag 07:45"),
        ("every weekday at 7:45 Be on time", 4, "elke werkdag 07:45"),
        ("elke dag 08:00 Lezen", 3, "elke dag 08:00"),
        ("om de week op vrijdag 15:00 Inleveren", 6, "om de week op vrijdag 15:00"),
        ("every other friday 15:00 Essay", 4, "om de week op vrijdag 15:00"),
        ("elke maandag Gym", 2, "elke maandag 08:00"),  # a written-out weekday: 08:00
        ("every other Friday Essay", 3, "om de week op vrijdag 08:00"),
        ("2026-12-01 08:00 Toets", 2, "2026-12-01 08:00"),
        ("morgen 08:00 Toets", 2, "2026-12-01 08:00"),
        ("morgen om 8.30 Toets", 3, "2026-12-01 08:30"),
        ("Tomorrow at 8:30 Test", 3, "2026-12-01 08:30"),
        ("1-12 08:00 Toets", 2, "2026-12-01 08:00"),
        ("op 1-12 08:00 tekst", 3, "2026-12-01 08:00"),
        ("on 1-12 at 8:00 text", 4, "2026-12-01 08:00"),
        ("1-12 tekst", 1, "2026-12-01 08:00"),  # a date without a time: 08:00
        ("dinsdag 08:00 Toets", 2, "2026-12-01 08:00"),
        ("di 08:00 Toets", 2, "2026-12-01 08:00"),  # an abbreviation with a time
        ("maandag Neem je gymkleren mee", 1, "2026-12-07 08:00"),
        ("op maandag gym", 2, "2026-12-07 08:00"),
        ("morgen toets", 1, "2026-12-01 08:00"),
        ("Morgen", 1, "2026-12-01 08:00"),
        ("overmorgen Excursie", 1, "2026-12-02 08:00"),
        ("08:00 Toets", 1, "2026-12-01 08:00"),
        ("11:00", 1, "2026-11-30 11:00"),
        ("12.50 euro meenemen", 1, "2026-11-30 12:50"),  # documented: 12.50 reads as a time
        ("morgen 08:00", 2, "2026-12-01 08:00"),
    ],
)
def test_parse_when_prefix_takes_the_longest_moment(
    text: str, length: int, normalised: str
) -> None:
    when, taken = parse_when_prefix(text.split(), now=NOW, tz=TZ)
    assert taken == length
    assert when is not None
    assert when.text == normalised


@pytest.mark.parametrize(
    "text",
    [
        "",
        "zo snel mogelijk inleveren",  # abbreviations without a time stay text
        "do je best",
        "ma is jarig",
        "di en wo geen les",
        "vr bal",
        "za en zo vrij",
        "sun is shining",
        "mon ami",
        "elke ma gym",
        "vandaag geen gym",  # without a moment a reminder goes out today anyway
        "Today no PE",
        "elke dag 20 minuten lezen",
        "elke werkdag op tijd",
        "elke leerling om 8.30 in de aula",
        "Elk kind om 8.30 naar de aula",
        "Each pupil at 8:30 in the hall",
        "Elke maand betalen",
        "om de week wisselen we",
        "om 08:00 begint de toets",
        "op tijd komen",
        "Toets 08:00",
        "3.5 kilo",
        "do your homework",
        "1200 euro",
    ],
)
def test_parse_when_prefix_leaves_text_alone(text: str) -> None:
    assert parse_when_prefix(text.split(), now=NOW, tz=TZ) == (None, 0)


@pytest.mark.parametrize(
    ("text", "nl"),
    [
        ("31-02 08:00 Toets", "31-02 bestaat niet"),
        ("31-02 Toets", "31-02 bestaat niet"),
        ("op 31-02 08:00 Toets", "31-02 bestaat niet"),
        ("25:00 Toets", "25:00 bestaat niet"),
        ("morgen 8:75 Toets", "8:75 bestaat niet"),
        ("elke werkdag 24:00 Toets", "24:00 bestaat niet"),
        ("elke maand 08:00 Toets", "'elke maand 08:00' kan ik niet herhalen"),
        ("every hour at 08:00 Test", "'every hour at 08:00' kan ik niet herhalen"),
        ("elke 5 minuten 08:00 Drinken", "'elke 5 minuten 08:00' kan ik niet herhalen"),
        ("vandaag 07:00 Toets", "2026-11-30 07:00 is al voorbij"),
        ("gisteren 08:00 Toets", "'gisteren' ligt in het verleden"),
        ("gisteren hadden we toets", "'gisteren' ligt in het verleden"),
        ("Yesterday was fun", "'Yesterday' ligt in het verleden"),
    ],
)
def test_parse_when_prefix_refuses_a_wrong_moment(text: str, nl: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when_prefix(text.split(), now=NOW, tz=TZ)
    assert nl in caught.value.render("nl")
