"""The `wanneer` of a reminder or schedule (`bot.when.parse_when`): every spelling that is
accepted, in Dutch and English, upper and lower case, `8.30` and `8:30`, with and without
`om`/`at` and `op`/`on`, with the recurrence and first occurrence it means; every malformed
`wanneer` with the reason it is refused; and generated moments that read back to themselves."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import WEEKDAY_NAMES_EN, WEEKDAY_NAMES_NL, localize
from bot.errors import InvalidInput
from bot.when import DAILY_RULE, WORKDAYS_RULE, When, parse_when, parse_when_prefix, weekly_rule

TZ = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)  # a Monday morning


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute)


MONDAYS = weekly_rule(0)
FRIDAYS = weekly_rule(4)
OTHER_FRIDAYS = weekly_rule(4, 2)

# (spelling, rule, first occurrence as local wall-clock time), said on Monday 30 November 2026
# at 10:00. `None` as rule: once.
CORPUS: list[tuple[str, str | None, dt.datetime]] = [
    # weekly
    ("elke maandag 08:00", MONDAYS, local(12, 7, 8)),
    ("elke maandag om 08:00", MONDAYS, local(12, 7, 8)),
    ("every monday 08:00", MONDAYS, local(12, 7, 8)),
    ("every monday at 8:00", MONDAYS, local(12, 7, 8)),
    ("elke ma 08:00", MONDAYS, local(12, 7, 8)),
    ("every mon 08:00", MONDAYS, local(12, 7, 8)),
    ("iedere maandag 08:00", MONDAYS, local(12, 7, 8)),
    ("elke maandag 11:00", MONDAYS, local(11, 30, 11)),  # still ahead today
    ("elke maandag", MONDAYS, local(12, 7, 8)),  # no time: 08:00
    ("elke vrijdag 15:00", FRIDAYS, local(12, 4, 15)),
    ("every friday 15:00", FRIDAYS, local(12, 4, 15)),
    ("every fri at 15:00", FRIDAYS, local(12, 4, 15)),
    ("each friday 15:00", FRIDAYS, local(12, 4, 15)),
    ("elke zondag 02:30", weekly_rule(6), local(12, 6, 2, 30)),
    ("every saturday 9:15", weekly_rule(5), local(12, 5, 9, 15)),
    ("elke do 12:00", weekly_rule(3), local(12, 3, 12)),
    ("every thurs 12:00", weekly_rule(3), local(12, 3, 12)),
    # weekdays
    ("elke werkdag 07:45", WORKDAYS_RULE, local(12, 1, 7, 45)),
    ("elke werkdag om 7:45", WORKDAYS_RULE, local(12, 1, 7, 45)),
    ("every weekday 7:45", WORKDAYS_RULE, local(12, 1, 7, 45)),
    ("every weekday at 07:45", WORKDAYS_RULE, local(12, 1, 7, 45)),
    ("every workday 07:45", WORKDAYS_RULE, local(12, 1, 7, 45)),
    ("elke werkdag 12:00", WORKDAYS_RULE, local(11, 30, 12)),
    ("elke werkdag", WORKDAYS_RULE, local(12, 1, 8)),
    # daily
    ("elke dag 08:00", DAILY_RULE, local(12, 1, 8)),
    ("every day 8:00", DAILY_RULE, local(12, 1, 8)),
    ("dagelijks 08:00", DAILY_RULE, local(12, 1, 8)),
    ("dagelijks om 08:00", DAILY_RULE, local(12, 1, 8)),
    ("daily 08:00", DAILY_RULE, local(12, 1, 8)),
    ("daily at 8:00", DAILY_RULE, local(12, 1, 8)),
    ("elke dag 20:00", DAILY_RULE, local(11, 30, 20)),
    ("daily", DAILY_RULE, local(12, 1, 8)),
    # every other week
    ("om de week op vrijdag 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("om de week vrijdag 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("om de week op vrijdag om 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("om de twee weken op vrijdag 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("om de 2 weken op vrijdag 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("elke twee weken op vrijdag 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("elke 2 weken op vrijdag 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("every other friday 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("every other friday at 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("every other week on friday 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("every 2 weeks on friday 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("every two weeks on friday 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("every other fri 15:00", OTHER_FRIDAYS, local(12, 4, 15)),
    ("om de week op maandag 08:00", weekly_rule(0, 2), local(12, 7, 8)),
    # once
    ("morgen 07:30", None, local(12, 1, 7, 30)),
    ("morgen om 07:30", None, local(12, 1, 7, 30)),
    ("tomorrow 7:30", None, local(12, 1, 7, 30)),
    ("tomorrow at 7:30", None, local(12, 1, 7, 30)),
    ("overmorgen 8:00", None, local(12, 2, 8)),
    ("vandaag 16:00", None, local(11, 30, 16)),
    ("today at 16:00", None, local(11, 30, 16)),
    ("op 1-12 08:00", None, local(12, 1, 8)),
    ("on 1-12 at 08:00", None, local(12, 1, 8)),
    ("1-12 08:00", None, local(12, 1, 8)),
    ("01-12 08:00", None, local(12, 1, 8)),
    ("maandag 08:00", None, local(12, 7, 8)),  # this Monday's 08:00 has passed
    ("op maandag 08:00", None, local(12, 7, 8)),
    ("on monday at 8:00", None, local(12, 7, 8)),
    ("maandag 11:00", None, local(11, 30, 11)),
    ("vr 15:00", None, local(12, 4, 15)),
    ("2026-12-01 08:00", None, local(12, 1, 8)),
    ("op 2026-12-01 om 08:00", None, local(12, 1, 8)),
    ("1-12-2026 8.30", None, local(12, 1, 8, 30)),
    ("01-12-2026 08:30", None, local(12, 1, 8, 30)),
    ("08:00", None, local(12, 1, 8)),  # passed today: tomorrow
    ("om 08:00", None, local(12, 1, 8)),
    ("at 8:00", None, local(12, 1, 8)),
    ("16:00", None, local(11, 30, 16)),
    ("morgen", None, local(12, 1, 8)),  # a day alone: 08:00
    ("tomorrow", None, local(12, 1, 8)),
    ("op 1-12", None, local(12, 1, 8)),
    ("2027-01-04", None, local(1, 4, 8, year=2027)),
    ("vrijdag", None, local(12, 4, 8)),
]

_CLOCK = re.compile(r"\b(\d{1,2})[:.](\d{2})\b")


def variants(spelling: str) -> Iterator[str]:
    """The spelling as written, upper case, title case, and with its time written the other
    way (`8.30` for `8:30` and back)."""
    forms = {spelling}
    if _CLOCK.search(spelling):
        forms.add(_CLOCK.sub(r"\1.\2", spelling))
        forms.add(_CLOCK.sub(r"\1:\2", spelling))
    for form in sorted(forms):
        yield form
        yield form.upper()
        yield form.title()
        yield f"  {form}  "


@pytest.mark.parametrize(
    ("text", "rule", "start"),
    [(text, rule, start) for spelling, rule, start in CORPUS for text in variants(spelling)],
)
def test_every_accepted_spelling(text: str, rule: str | None, start: dt.datetime) -> None:
    when = parse_when(text, now=NOW, tz=TZ)
    assert when.rule == rule
    assert when.recurring is (rule is not None)
    assert when.start == start
    assert when.time == start.time()
    if rule is None:
        assert when.at == start.replace(tzinfo=TZ)
    else:
        assert when.at is None
    assert parse_when(when.text, now=NOW, tz=TZ) == when


@pytest.mark.parametrize(
    ("text", "nl", "en"),
    [
        # a day in the past
        ("gisteren", "'gisteren' ligt in het verleden", "'gisteren' lies in the past"),
        ("gisteren 08:00", "'gisteren' ligt in het verleden", "lies in the past"),
        ("eergisteren om 9.00", "'eergisteren' ligt in het verleden", "lies in the past"),
        ("yesterday at 8:00", "'yesterday' ligt in het verleden", "'yesterday' lies in the past"),
        ("op gisteren 08:00", "'gisteren' ligt in het verleden", "lies in the past"),
        # a moment that has passed
        ("vandaag 07:00", "2026-11-30 07:00 is al voorbij", "2026-11-30 07:00 has already passed"),
        ("vandaag", "2026-11-30 08:00 is al voorbij", "has already passed"),
        ("2026-11-01 08:00", "2026-11-01 08:00 is al voorbij", "has already passed"),
        ("1-1-2026 08:00", "2026-01-01 08:00 is al voorbij", "has already passed"),
        # a date or time that does not exist
        ("31-02 08:00", "31-02 bestaat niet", "31-02 does not exist"),
        ("op 31-02 08:00", "31-02 bestaat niet", "31-02 does not exist"),
        ("2026-02-29 08:00", "2026-02-29 bestaat niet: februari 2026", "February 2026"),
        ("31-11-2026 08:00", "31-11-2026 bestaat niet", "has days 1 to 30"),
        ("1-13 08:00", "er is geen maand 13", "there is no month 13"),
        ("morgen 25:00", "25:00 bestaat niet", "25:00 does not exist"),
        ("25:00", "25:00 bestaat niet", "hours go from 0 to 23"),
        ("morgen 8:60", "8:60 bestaat niet", "minutes from 00 to 59"),
        ("elke maandag 24:00", "24:00 bestaat niet", "24:00 does not exist"),
        ("elke werkdag om 7.75", "7.75 bestaat niet", "7.75 does not exist"),
        # a time written another way
        ("morgen 8", "'8' is geen tijd", "I don't understand '8' as a time"),
        ("morgen 0800", "'0800' is geen tijd", "'0800' as a time"),
        ("morgen 8am", "'8am' is geen tijd", "'8am' as a time"),
        ("2026-12 08:00", "'2026-12' is geen datum", "'2026-12' as a date"),
        # repetitions klasbot does not do
        ("elke maand", "'elke maand' kan ik niet herhalen", "I cannot repeat 'elke maand'"),
        ("every month 08:00", "kan ik niet herhalen", "I cannot repeat 'every month 08:00'"),
        ("every hour", "'every hour' kan ik niet herhalen", "I cannot repeat 'every hour'"),
        ("elke 5 minuten", "'elke 5 minuten' kan ik niet herhalen", "cannot repeat"),
        ("elk uur", "'elk uur' kan ik niet herhalen", "I cannot repeat 'elk uur'"),
        ("elke", "'elke' kan ik niet herhalen", "I cannot repeat 'elke'"),
        ("elke 08:00", "'elke 08:00' kan ik niet herhalen", "cannot repeat"),
        ("elke morgen 08:00", "kan ik niet herhalen", "cannot repeat"),
        ("om de maand", "'om de maand' kan ik niet herhalen", "cannot repeat"),
        ("om de week 15:00", "'om de week 15:00' kan ik niet herhalen", "cannot repeat"),
        ("every other week", "kan ik niet herhalen", "only every day, every weekday"),
        ("every 3 weeks on friday", "kan ik niet herhalen", "or every other friday"),
        # nothing, or more than a moment
        ("", "Het tijdstip ontbreekt", "The moment is missing"),
        ("volgende week", "'volgende week' is geen tijdstip", "'volgende week' as a moment"),
        ("08:00 morgen", "'08:00 morgen' is geen tijdstip", "as a moment"),
        ("morgen 08:00 toets", "'morgen 08:00 toets' is geen tijdstip", "as a moment"),
        ("elke maandag 08:00 gym", "is geen tijdstip", "as a moment"),
        ("elke maandag en woensdag", "is geen tijdstip", "as a moment"),
        ("op tijd", "'op tijd' is geen tijdstip", "'op tijd' as a moment"),
    ],
)
def test_every_malformed_wanneer_says_why(text: str, nl: str, en: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, now=NOW, tz=TZ)
    said_nl, said_en = caught.value.render("nl"), caught.value.render("en")
    assert nl in said_nl
    assert en in said_en
    assert "\n" not in said_nl
    assert "\n" not in said_en


# --- generated moments read back to themselves ---------------------------------------------------

nows = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2028, 12, 31), timezones=st.just(TZ)
).map(lambda d: d.replace(second=0, microsecond=0))
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
weekdays = st.integers(0, 6)


@st.composite
def repetitions(draw: st.DrawFn) -> tuple[str, str]:
    """A repetition in one of its spellings, and its RRULE."""
    clock = draw(times)
    hh_mm = draw(
        st.sampled_from([f"{clock:%H:%M}", f"{clock.hour}:{clock:%M}", f"{clock.hour}.{clock:%M}"])
    )
    at_word = draw(st.sampled_from(["", "om ", "at "]))
    day = draw(weekdays)
    nl_day, en_day = WEEKDAY_NAMES_NL[day], WEEKDAY_NAMES_EN[day]
    spelling, rule = draw(
        st.sampled_from(
            [
                (f"elke {nl_day}", weekly_rule(day)),
                (f"every {en_day}", weekly_rule(day)),
                ("elke werkdag", WORKDAYS_RULE),
                ("every weekday", WORKDAYS_RULE),
                ("elke dag", DAILY_RULE),
                ("dagelijks", DAILY_RULE),
                ("daily", DAILY_RULE),
                (f"om de week op {nl_day}", weekly_rule(day, 2)),
                (f"elke twee weken op {nl_day}", weekly_rule(day, 2)),
                (f"every other {en_day}", weekly_rule(day, 2)),
                (f"every 2 weeks on {en_day}", weekly_rule(day, 2)),
            ]
        )
    )
    case = draw(st.sampled_from([str.lower, str.upper, str.title]))
    return case(f"{spelling} {at_word}{hh_mm}"), rule


@settings(max_examples=300, deadline=None)
@given(now=nows, drawn=repetitions())
def test_a_repetition_reads_back_and_starts_at_its_first_moment(
    now: dt.datetime, drawn: tuple[str, str]
) -> None:
    text, rule = drawn
    when = parse_when(text, now=now, tz=TZ)
    assert when.rule == rule
    assert parse_when(when.text, now=now, tz=TZ) == when
    assert When.repeating(rule, when.start) == when
    # The first occurrence is not before now, and no earlier day of the rule would do.
    assert localize(when.start.date(), when.time, TZ) >= now
    days = _days(rule)
    assert when.start.weekday() in days
    today = now.astimezone(TZ).date()
    day = today
    while day < when.start.date():
        assert day.weekday() not in days or (day == today and localize(day, when.time, TZ) < now)
        day += dt.timedelta(days=1)
    assert when.start.date() - today < dt.timedelta(days=8)


@settings(max_examples=300, deadline=None)
@given(
    now=nows,
    ahead=st.integers(0, 500),
    clock=times,
    spelling=st.sampled_from(["iso", "dutch", "op", "on"]),
)
def test_a_one_off_reads_back(now: dt.datetime, ahead: int, clock: dt.time, spelling: str) -> None:
    day = now.astimezone(TZ).date() + dt.timedelta(days=ahead)
    moment = localize(day, clock, TZ)
    written = {
        "iso": f"{day.isoformat()} {clock:%H:%M}",
        "dutch": f"{day.day}-{day.month}-{day.year} {clock.hour}.{clock:%M}",
        "op": f"op {day.isoformat()} om {clock:%H:%M}",
        "on": f"on {day.day:02d}-{day.month:02d}-{day.year} at {clock:%H:%M}",
    }[spelling]
    if moment < now:
        with pytest.raises(InvalidInput):
            parse_when(written, now=now, tz=TZ)
        return
    when = parse_when(written, now=now, tz=TZ)
    assert when.at == moment
    assert when.rule is None
    assert when.start == moment.replace(tzinfo=None)
    assert parse_when(when.text, now=now, tz=TZ) == when
    assert When.once(moment) == when


@settings(max_examples=200, deadline=None)
@given(now=nows, ahead=st.integers(0, 400), clock=times)
def test_a_constructed_one_off_reads_back(now: dt.datetime, ahead: int, clock: dt.time) -> None:
    moment = localize(now.astimezone(TZ).date() + dt.timedelta(days=ahead), clock, TZ)
    if moment < now:
        return
    when = When.once(moment)
    assert parse_when(when.text, now=now, tz=TZ) == when


@settings(max_examples=200, deadline=None)
@given(
    now=nows,
    clock=times,
    day=weekdays,
    kind=st.sampled_from(["weekly", "other", "workdays", "daily"]),
)
def test_a_constructed_repetition_reads_back(
    now: dt.datetime, clock: dt.time, day: int, kind: str
) -> None:
    rule = {
        "weekly": weekly_rule(day),
        "other": weekly_rule(day, 2),
        "workdays": WORKDAYS_RULE,
        "daily": DAILY_RULE,
    }[kind]
    # The first day from today on that the rule falls on, at a moment not before now.
    first = now.astimezone(TZ).date()
    while first.weekday() not in _days(rule) or localize(first, clock, TZ) < now:
        first += dt.timedelta(days=1)
    when = When.repeating(rule, dt.datetime.combine(first, clock))
    assert parse_when(when.text, now=now, tz=TZ) == when


def _days(rule: str) -> set[int]:
    """The weekdays (Monday = 0) `rule` falls on."""
    if rule == DAILY_RULE:
        return set(range(7))
    if rule == WORKDAYS_RULE:
        return {0, 1, 2, 3, 4}
    return {["MO", "TU", "WE", "TH", "FR", "SA", "SU"].index(rule[-2:])}


@settings(max_examples=200, deadline=None)
@given(
    now=nows,
    drawn=repetitions(),
    text=st.lists(st.sampled_from(["Gym", "toets", "Neem", "je", "boek", "mee!"]), min_size=1),
)
def test_a_reminder_takes_its_moment_and_leaves_the_text(
    now: dt.datetime, drawn: tuple[str, str], text: list[str]
) -> None:
    """`/herinnering KLAS wanneer tekst`: the moment is the prefix, the rest is the text."""
    moment, _ = drawn
    words = [*moment.split(), *text]
    when, taken = parse_when_prefix(words, now=now, tz=TZ)
    assert taken == len(moment.split())
    assert when == parse_when(moment, now=now, tz=TZ)
