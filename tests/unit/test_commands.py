from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from bot.commands import (
    COMMAND_WORDS,
    COMMANDS,
    MAX_ANNOUNCEMENT_ID,
    PREFIXES,
    Bind,
    Command,
    Correct,
    Escalate,
    Help,
    Homework,
    Language,
    LessonCancelled,
    Reminder,
    Report,
    Schedule,
    Start,
    Trip,
    UnknownCommand,
    Withdraw,
    not_offered,
    parse_command,
)
from bot.errors import InvalidInput
from bot.when import When

TZ = ZoneInfo("Europe/Amsterdam")
TODAY = dt.date(2026, 11, 30)  # a Monday
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)
TOMORROW = dt.date(2026, 12, 1)
FRIDAY = dt.date(2026, 12, 4)
BOT = "klasbot_bot"


def parse(text: str, bot_username: str | None = None) -> Command | None:
    return parse_command(text, today=TODAY, now=NOW, tz=TZ, bot_username=bot_username)


def variants(text: str) -> list[str]:
    """`text` (written with `/` and no @suffix) with every prefix and with Telegram's suffix."""
    word, _, rest = text.partition(" ")
    name = word[1:]
    return [
        f"{prefix}{name}{suffix} {rest}".rstrip() if rest else f"{prefix}{name}{suffix}"
        for prefix in PREFIXES
        for suffix in ("", f"@{BOT}")
    ]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


MONDAYS = "FREQ=WEEKLY;BYDAY=MO"
WORKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
OTHER_FRIDAYS = "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"


def repeating(rule: str, year: int, month: int, day: int, hour: int, minute: int) -> When:
    """A repetition by `rule` whose first occurrence is that local wall-clock moment."""
    return When.repeating(rule, dt.datetime(year, month, day, hour, minute))


VALID: list[tuple[str, Command]] = [
    ("/start K7P2QX", Start("K7P2QX")),
    ("/start k7p2 qx", Start("k7p2 qx")),  # a code typed in groups (normalised when looked up)
    ("/start   abc-123  ", Start("abc-123")),
    ("/Start K7P2QX", Start("K7P2QX")),
    (
        "/lesuitval 2B morgen 3 wiskunde Docent is ziek",
        LessonCancelled("2B", TOMORROW, "3", "wiskunde", "Docent is ziek"),
    ),
    (
        "/cancelled 2B tomorrow 3 maths The teacher is ill",
        LessonCancelled("2B", TOMORROW, "3", "maths", "The teacher is ill"),
    ),
    ("/lesuitval 2B 2026-12-01 3e-4e", LessonCancelled("2B", TOMORROW, "3-4")),
    ("/lesuitval 2b vrijdag 3-4 Engels", LessonCancelled("2b", FRIDAY, "3-4", "Engels")),
    ("/lesuitval H4A 1-12 12", LessonCancelled("H4A", TOMORROW, "12")),
    ("/lesuitval 2B di 1e", LessonCancelled("2B", TOMORROW, "1")),
    ("/lesuitval 2B morgen 3de", LessonCancelled("2B", TOMORROW, "3")),
    ("/lesuitval 2B morgen 8ste", LessonCancelled("2B", TOMORROW, "8")),
    ("/cancelled 2B tomorrow 3rd-4th", LessonCancelled("2B", TOMORROW, "3-4")),
    ("/lesuitval 2B morgen 3E", LessonCancelled("2B", TOMORROW, "3")),
    ("/lesuitval 2B morgen 3-3", LessonCancelled("2B", TOMORROW, "3")),
    ("/lesuitval 2B morgen 1e-12e", LessonCancelled("2B", TOMORROW, "1-12")),
    ("/lesuitval 2B morgen 03", LessonCancelled("2B", TOMORROW, "3")),
    ("/lesuitval 2B morgen 3–4", LessonCancelled("2B", TOMORROW, "3-4")),
    ("/LESUITVAL 2B MORGEN 3", LessonCancelled("2B", TOMORROW, "3")),
    (
        "/lesuitval 2B morgen 3 wiskunde   Docent  is\nziek  ",
        LessonCancelled("2B", TOMORROW, "3", "wiskunde", "Docent  is\nziek"),
    ),
    ("/lesuitval 2B vandaag 5 ne", LessonCancelled("2B", TODAY, "5", "ne")),
    (
        "/huiswerk 2B wiskunde vrijdag Opgave 1 t/m 12",
        Homework("2B", "wiskunde", FRIDAY, "Opgave 1 t/m 12"),
    ),
    (
        "/homework 2B maths friday Exercises 1-12",
        Homework("2B", "maths", FRIDAY, "Exercises 1-12"),
    ),
    (
        "/huiswerk 2B Engels 1-12 Lees H3.\n\nLeer de woordjes!",
        Homework("2B", "Engels", TOMORROW, "Lees H3.\n\nLeer de woordjes!"),
    ),
    (
        "/herinnering 2B elke maandag 08:00 Gymspullen meenemen",
        Reminder("2B", repeating(MONDAYS, 2026, 12, 7, 8, 0), "Gymspullen meenemen"),
    ),
    (
        "/reminder 2B every friday 15:00 Hand in your essay",
        Reminder("2B", repeating("FREQ=WEEKLY;BYDAY=FR", 2026, 12, 4, 15, 0), "Hand in your essay"),
    ),
    (
        "/herinnering 2B elke maandag om 8.30 Gym",
        Reminder("2B", repeating(MONDAYS, 2026, 12, 7, 8, 30), "Gym"),
    ),
    (
        "/herinnering 2B elke zondag 02:30 Nachtwandeling",
        Reminder("2B", repeating("FREQ=WEEKLY;BYDAY=SU", 2026, 12, 6, 2, 30), "Nachtwandeling"),
    ),
    (
        "/herinnering 2B 2026-12-01 08:00 Toets",
        Reminder("2B", When.once(at(2026, 12, 1, 8, 0)), "Toets"),
    ),
    (
        "/herinnering 2B morgen 08:00 Toets",
        Reminder("2B", When.once(at(2026, 12, 1, 8, 0)), "Toets"),
    ),
    (
        "/reminder 2B tomorrow at 8:30 Test",
        Reminder("2B", When.once(at(2026, 12, 1, 8, 30)), "Test"),
    ),
    (
        "/herinnering 2B maandag 08:00 Toets",  # said on Monday at 10:00: next Monday
        Reminder("2B", When.once(at(2026, 12, 7, 8, 0)), "Toets"),
    ),
    (
        "/herinnering 2B 08:00 Toets",  # 08:00 has passed today: tomorrow
        Reminder("2B", When.once(at(2026, 12, 1, 8, 0)), "Toets"),
    ),
    ("/herinnering 2B 11:00 Toets", Reminder("2B", When.once(at(2026, 11, 30, 11, 0)), "Toets")),
    (
        "/herinnering 2B elke werkdag 07:45 Op tijd komen",
        Reminder("2B", repeating(WORKDAYS, 2026, 12, 1, 7, 45), "Op tijd komen"),
    ),
    (
        "/reminder 2B every weekday at 7:45 Be on time",
        Reminder("2B", repeating(WORKDAYS, 2026, 12, 1, 7, 45), "Be on time"),
    ),
    (
        "/herinnering 2B om de week op vrijdag 15:00 Leesboek mee",
        Reminder("2B", repeating(OTHER_FRIDAYS, 2026, 12, 4, 15, 0), "Leesboek mee"),
    ),
    (
        "/reminder 2B every other friday 15:00 Reading book",
        Reminder("2B", repeating(OTHER_FRIDAYS, 2026, 12, 4, 15, 0), "Reading book"),
    ),
    (
        "/herinnering 2B elke dag 20:00 Lezen",
        Reminder("2B", repeating("FREQ=DAILY", 2026, 11, 30, 20, 0), "Lezen"),
    ),
    (
        "/herinnering 2B op 1-12 08:00 Toets",
        Reminder("2B", When.once(at(2026, 12, 1, 8, 0)), "Toets"),
    ),
    # A written-out day without a time is at 08:00; the rest is the text.
    (
        "/herinnering 2B maandag Neem je gymkleren mee",
        Reminder("2B", When.once(at(2026, 12, 7, 8, 0)), "Neem je gymkleren mee"),
    ),
    ("/herinnering 2B Morgen toets!", Reminder("2B", When.once(at(2026, 12, 1, 8, 0)), "toets!")),
    ("/herinnering 2B 1-12 Toets", Reminder("2B", When.once(at(2026, 12, 1, 8, 0)), "Toets")),
    (
        "/herinnering 2B elke maandag gym",
        Reminder("2B", repeating(MONDAYS, 2026, 12, 7, 8, 0), "gym"),
    ),
    # Abbreviations without a time, `vandaag` and `elke dag` without one stay text.
    (
        "/herinnering 2B zo snel mogelijk inleveren",
        Reminder("2B", None, "zo snel mogelijk inleveren"),
    ),
    ("/herinnering 2B do je best!", Reminder("2B", None, "do je best!")),
    ("/herinnering 2B vandaag geen gym", Reminder("2B", None, "vandaag geen gym")),
    ("/herinnering 2B elke dag lezen", Reminder("2B", None, "elke dag lezen")),
    ("/herinnering 2B om 08:00 begint de toets", Reminder("2B", None, "om 08:00 begint de toets")),
    ("/reminder 2B Bring   your\nPE kit ", Reminder("2B", None, "Bring   your\nPE kit")),
    (
        "/uitje 2B 12-3 Excursie naar Naturalis",
        Trip("2B", dt.date(2027, 3, 12), "Excursie naar Naturalis"),
    ),
    ("/trip 2B 2027-03-12 Museum visit", Trip("2B", dt.date(2027, 3, 12), "Museum visit")),
    ("/uitje 3C overmorgen Kamp  Ameland", Trip("3C", dt.date(2026, 12, 2), "Kamp  Ameland")),
    ("/planning 2B", Schedule("2B")),
    ("/schedule 2B", Schedule("2B")),
    ("/planning 2B annuleer 12", Schedule("2B", 12)),
    ("/schedule 2B cancel 12", Schedule("2B", 12)),
    ("/planning 2B cancel #7", Schedule("2B", 7)),
    ("/schedule 2B Annuleer 3", Schedule("2B", 3)),
    ("/planning 2B annuleren 3", Schedule("2B", 3)),
    ("/koppel 2B", Bind("2B")),
    ("/link 2B", Bind("2B")),
    ("/koppel school-2025-2B", Bind("school-2025-2B")),
    ("/melden Er wordt  gepest in 2B", Report("Er wordt  gepest in 2B")),
    ("/report Bullying in 2B", Report("Bullying in 2B")),
    ("/escaleren Het loopt\nuit de hand", Escalate("Het loopt\nuit de hand")),
    ("/escalate It derails", Escalate("It derails")),
    ("/help", Help()),
    ("/hulp", Help()),
    ("/HELP", Help()),
    ("/help lesuitval", Help("lesuitval")),
    ("/help cancelled", Help("lesuitval")),
    ("/help /huiswerk", Help("huiswerk")),
    ("/hulp !Reminder", Help("herinnering")),
    ("/help blabla", Help()),
    ("/help intrekken", Help("intrekken")),
    ("/help withdraw", Help("intrekken")),
    ("/help correct", Help("correctie")),
    ("/help language", Help("taal")),
    ("/intrekken 12", Withdraw(12)),
    ("/withdraw 12", Withdraw(12)),
    ("/intrekken #12", Withdraw(12)),
    ("/INTREKKEN 12", Withdraw(12)),
    ("/intrekken 12 De toets  is\nverplaatst ", Withdraw(12, "De toets  is\nverplaatst")),
    ("/withdraw 7 Sent to the wrong class", Withdraw(7, "Sent to the wrong class")),
    (f"/intrekken {MAX_ANNOUNCEMENT_ID}", Withdraw(MAX_ANNOUNCEMENT_ID)),
    ("/correctie 12 Opgave 1 t/m 15", Correct(12, "Opgave 1 t/m 15")),
    ("/correct 12 Exercises 1 to 15", Correct(12, "Exercises 1 to 15")),
    ("/correctie #3 Lokaal  B2\nniet B3", Correct(3, "Lokaal  B2\nniet B3")),
    ("/taal", Language()),
    ("/language", Language()),
    ("/taal en", Language("en")),
    ("/taal EN", Language("en")),
    ("/language nl", Language("nl")),
    ("/taal Engels", Language("en")),
    ("/language english", Language("en")),
    ("/language Dutch", Language("nl")),
    ("/taal nederlands", Language("nl")),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(variant, expected, id=variant)
        for text, expected in VALID
        for variant in variants(text)
    ],
)
def test_parse_command(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parse_command_of_our_own_bot(text: str, expected: Command) -> None:
    word, _, rest = text.partition(" ")
    addressed = f"{word}@KlasBot_Bot {rest}"
    assert parse(addressed, bot_username=BOT) == expected
    assert parse(addressed, bot_username=f"@{BOT}") == expected


@pytest.mark.parametrize("text", ["/help@other_bot", "!koppel@other_bot 2B", "/start@x_bot CODE"])
def test_command_for_another_bot_is_ignored(text: str) -> None:
    assert parse(text, bot_username=BOT) is None
    assert parse(text) is not None  # without knowing our name, it is taken as ours


@pytest.mark.parametrize("text", ["  /help", "\n!help", "\t/help  "])
def test_leading_and_trailing_whitespace(text: str) -> None:
    assert parse(text) == Help()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hallo",
        "Hallo /help",
        "help",
        "! help",
        "/ help",
        "!!!",
        "!",
        "/",
        "/123",
        "/3e uur valt uit",
        "/home/user",
        "http://example.org/help",
        "@klasbot_bot /help",
        "?help",
        "#help",
        "/_help",
        "!?",
        "/help@",
        "/help@@bot",
    ],
)
def test_non_commands_give_none(text: str) -> None:
    assert parse(text) is None


def test_matrix_start() -> None:
    assert parse("!start K7P2QX") == Start("K7P2QX")


def test_commands_are_frozen() -> None:
    command = parse("/koppel 2B")
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.class_ref = "3C"  # type: ignore[union-attr]


# --- malformed commands --------------------------------------------------------------------------

MALFORMED: list[tuple[str, type[Command], str, str]] = [
    ("/start", Start, "Zet de persoonlijke code achter", "Put your personal code after"),
    (
        "/start K7P2QX is mijn code",
        Start,
        "'is mijn code' hoort er niet bij",
        "'is mijn code' is not part of it",
    ),
    ("/lesuitval", LessonCancelled, "De klas ontbreekt", "The class is missing"),
    ("/lesuitval 2B", LessonCancelled, "De datum ontbreekt", "The date is missing"),
    ("/lesuitval 2B morgen", LessonCancelled, "Het lesuur ontbreekt", "The period"),
    ("/lesuitval morgen 3", LessonCancelled, "'morgen' is een dag, geen klas", "not a class"),
    ("/lesuitval Vrijdag 3 wi", LessonCancelled, "'Vrijdag' is een dag", "is a day"),
    ("/lesuitval 2B 31-02 3", LessonCancelled, "31-02 bestaat niet", "31-02 does not exist"),
    ("/lesuitval 2B 2026-02-29 3", LessonCancelled, "februari 2026", "February 2026"),
    ("/lesuitval 2B gisteren 3", LessonCancelled, "'gisteren' is geen datum", "as a date"),
    ("/lesuitval 2B morgen 0", LessonCancelled, "'0' is geen lesuur", "'0' is not a period"),
    ("/lesuitval 2B morgen 13", LessonCancelled, "'13' is geen lesuur", "'13' is not a period"),
    ("/lesuitval 2B morgen 3-13", LessonCancelled, "van 1 tot en met 12", "from 1 to 12"),
    ("/lesuitval 2B morgen 4-3", LessonCancelled, "'4-3' loopt achteruit", "runs backwards"),
    ("/lesuitval 2B morgen derde", LessonCancelled, "'derde' is geen lesuur", "not a period"),
    ("/lesuitval 2B morgen 3e-", LessonCancelled, "'3e-' is geen lesuur", "not a period"),
    ("/lesuitval 2B morgen wiskunde", LessonCancelled, "'wiskunde' is geen lesuur", "period"),
    ("/huiswerk", Homework, "De klas ontbreekt", "The class is missing"),
    ("/huiswerk 2B", Homework, "Het vak ontbreekt", "The subject is missing"),
    ("/huiswerk 2B wiskunde", Homework, "De datum ontbreekt", "The date is missing"),
    ("/huiswerk 2B wiskunde morgen", Homework, "De tekst van het bericht ontbreekt", "text is"),
    ("/huiswerk 2B wiskunde morgen   ", Homework, "tekst van het bericht ontbreekt", "missing"),
    ("/huiswerk 2B morgen wiskunde Opgave 3", Homework, "Eerst het vak, dan de datum", "First"),
    ("/huiswerk 2B wiskunde 30-02 Opgave 3", Homework, "30-02 bestaat niet", "does not exist"),
    ("/huiswerk 2B wiskunde opgave 3", Homework, "'opgave' is geen datum", "as a date"),
    ("/huiswerk maandag wiskunde morgen x", Homework, "'maandag' is een dag", "is a day"),
    ("/herinnering", Reminder, "De klas ontbreekt", "The class is missing"),
    ("/herinnering 2B", Reminder, "De tekst van het bericht ontbreekt", "text is missing"),
    ("/herinnering 2B morgen 08:00", Reminder, "tekst van het bericht ontbreekt", "missing"),
    ("/herinnering 2B elke maandag 08:00", Reminder, "tekst van het bericht", "text is missing"),
    ("/herinnering 2B 25:00 Toets", Reminder, "25:00 bestaat niet", "25:00 does not exist"),
    ("/herinnering 2B 31-02 08:00 Toets", Reminder, "31-02 bestaat niet", "does not exist"),
    ("/herinnering 2B maandag", Reminder, "tekst van het bericht ontbreekt", "text is missing"),
    ("/herinnering 2B elke maandag", Reminder, "tekst van het bericht", "text is missing"),
    ("/herinnering 2B elke maand 08:00 Toets", Reminder, "kan ik niet herhalen", "every weekday"),
    ("/herinnering 2B gisteren 08:00 Toets", Reminder, "ligt in het verleden", "in the past"),
    ("/herinnering 2B gisteren was leuk", Reminder, "ligt in het verleden", "in the past"),
    ("/herinnering 2B 31-02 Toets", Reminder, "31-02 bestaat niet", "does not exist"),
    ("/herinnering 2B vandaag 07:00 Toets", Reminder, "is al voorbij", "has already passed"),
    ("/herinnering morgen 08:00 Toets", Reminder, "'morgen' is een dag", "not a class"),
    ("/uitje", Trip, "De klas ontbreekt", "The class is missing"),
    ("/uitje 2B", Trip, "De datum ontbreekt", "The date is missing"),
    ("/uitje 2B 12-3", Trip, "De tekst van het bericht ontbreekt", "The message text is"),
    ("/uitje 2B volgende-week Excursie", Trip, "'volgende-week' is geen datum", "as a date"),
    ("/uitje 2B 12-13 Excursie", Trip, "er is geen maand 13", "there is no month 13"),
    ("/uitje morgen Excursie", Trip, "'morgen' is een dag, geen klas", "not a class"),
    ("/planning", Schedule, "De klas ontbreekt", "The class is missing"),
    ("/planning 2B verwijder 3", Schedule, "'verwijder' begrijp ik niet", "'verwijder'"),
    ("/planning 2B annuleer", Schedule, "Het nummer ontbreekt", "The number is missing"),
    ("/planning 2B annuleer drie", Schedule, "'drie' is geen nummer", "'drie' is not a number"),
    ("/planning 2B annuleer 0", Schedule, "'0' is geen nummer", "'0' is not a number"),
    ("/planning 2B annuleer -3", Schedule, "'-3' is geen nummer", "not a number"),
    ("/planning 2B annuleer #", Schedule, "'#' is geen nummer", "not a number"),
    ("/planning 2B annuleer ３", Schedule, "'３' is geen nummer", "not a number"),
    (
        "/planning 2B annuleer 3 4",
        Schedule,
        "achter het commando dan het gebruikt: '4'",
        "takes: '4'",
    ),
    ("/koppel", Bind, "De klas ontbreekt", "The class is missing"),
    ("/koppel 2B 3C", Bind, "Er staat meer achter het commando", "more after the command"),
    ("/koppel morgen", Bind, "'morgen' is een dag, geen klas", "not a class"),
    ("/melden", Report, "Schrijf erbij wat er aan de hand is", "Write down what is going on"),
    ("/melden    ", Report, "Schrijf erbij wat er aan de hand is", "Write down what"),
    ("/escaleren", Escalate, "Schrijf erbij wat er aan de hand is", "Write down what"),
    ("/intrekken", Withdraw, "Het berichtnummer ontbreekt", "The message number is missing"),
    ("/intrekken    ", Withdraw, "Het berichtnummer ontbreekt", "message number is missing"),
    ("/intrekken twaalf", Withdraw, "'twaalf' is geen berichtnummer", "not a message number"),
    ("/intrekken 0", Withdraw, "'0' is geen berichtnummer", "'0' is not a message number"),
    ("/intrekken -3", Withdraw, "'-3' is geen berichtnummer", "not a message number"),
    ("/intrekken 1.5", Withdraw, "'1.5' is geen berichtnummer", "not a message number"),
    ("/intrekken #", Withdraw, "'#' is geen berichtnummer", "not a message number"),
    ("/intrekken １２", Withdraw, "'１２' is geen berichtnummer", "not a message number"),
    ("/intrekken 2B Verkeerde klas", Withdraw, "'2B' is geen berichtnummer", "not a message"),
    (
        f"/intrekken {MAX_ANNOUNCEMENT_ID + 1}",
        Withdraw,
        f"'{MAX_ANNOUNCEMENT_ID + 1}' is geen berichtnummer",
        "not a message number",
    ),
    ("/correctie", Correct, "Het berichtnummer ontbreekt", "The message number is missing"),
    ("/correctie 12", Correct, "De verbeterde tekst ontbreekt", "corrected text is missing"),
    ("/correctie 12    ", Correct, "De verbeterde tekst ontbreekt", "text is missing"),
    ("/correctie twaalf Opgave 3", Correct, "'twaalf' is geen berichtnummer", "not a message"),
    ("/correctie Opgave 3", Correct, "'Opgave' is geen berichtnummer", "not a message number"),
    (
        "/taal fr",
        Language,
        "'fr' is geen taal die ik spreek; kies uit: nl (Nederlands), en (Engels)",
        "'fr' is not a language I speak; choose from: nl (Dutch), en (English)",
    ),
    ("/taal en nl", Language, "Er staat meer achter het commando", "more after the command"),
]


def _malformed_variants() -> list[object]:
    params: list[object] = []
    for text, cls, nl, en in MALFORMED:
        word, _, rest = text.partition(" ")
        for prefix, name, suffix in itertools.product(
            PREFIXES, dict.fromkeys((cls.name, cls.english)), ("", f"@{BOT}")
        ):
            variant = f"{prefix}{name}{suffix} {rest}" if rest else f"{prefix}{name}{suffix}"
            params.append(pytest.param(variant, cls, prefix, nl, en, id=variant))
    return params


@pytest.mark.parametrize(("text", "cls", "prefix", "nl", "en"), _malformed_variants())
def test_malformed_command_says_what_and_gives_an_example(
    text: str, cls: type[Command], prefix: str, nl: str, en: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    rendered_nl, rendered_en = caught.value.render("nl"), caught.value.render("en")
    assert nl in rendered_nl
    assert en in rendered_en
    assert rendered_nl.endswith(f" Zo werkt het: {prefix}{cls.usage.nl[1:]}")
    assert rendered_en.endswith(f" This works: {prefix}{cls.usage.en[1:]}")
    assert str(caught.value) == rendered_nl


def test_start_without_code_names_the_prefix_used() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("!start")
    assert caught.value.render("nl").startswith("Zet de persoonlijke code achter !start.")
    assert caught.value.render("en").startswith("Put your personal code after !start.")


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("word", ["foo", "lesuitvl", "homwork", "Starten", "x"])
def test_unknown_command_lists_the_commands(prefix: str, word: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(f"{prefix}{word} 2B morgen")
    rendered_nl, rendered_en = caught.value.render("nl"), caught.value.render("en")
    assert f"{prefix}{word.lower()}" in rendered_nl
    for cls in COMMANDS.values():
        # Every command that is offered, and nothing that is not built yet.
        assert (f"{prefix}{cls.name}" in rendered_nl) == cls.offered
        assert (f"{prefix}{cls.english}" in rendered_en) == cls.offered


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("/lesuitvl 2B", "/lesuitval"), ("!homwork", "!homework"), ("/herinering", "/herinnering")],
)
def test_unknown_command_suggests_a_close_one(text: str, suggestion: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert f"Misschien {suggestion}?" in caught.value.render("nl")
    assert f"Did you mean {suggestion}?" in caught.value.render("en")


def test_unknown_command_without_a_close_one_points_to_help() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("!xyzzy")
    assert "Stuur !help voor uitleg." in caught.value.render("nl")
    assert "Send !help for more." in caught.value.render("en")


# --- registry, usage and language ----------------------------------------------------------------


def test_registry_lists_every_command_once_in_help_order() -> None:
    assert list(COMMANDS) == [
        "start",
        "lesuitval",
        "huiswerk",
        "herinnering",
        "uitje",
        "planning",
        "intrekken",
        "correctie",
        "taal",
        "koppel",
        "melden",
        "escaleren",
        "help",
    ]
    for name, cls in COMMANDS.items():
        assert cls.name == name


@pytest.mark.parametrize(
    ("word", "cls"),
    [
        ("start", Start),
        ("lesuitval", LessonCancelled),
        ("cancelled", LessonCancelled),
        ("huiswerk", Homework),
        ("homework", Homework),
        ("herinnering", Reminder),
        ("reminder", Reminder),
        ("uitje", Trip),
        ("trip", Trip),
        ("planning", Schedule),
        ("schedule", Schedule),
        ("koppel", Bind),
        ("link", Bind),
        ("melden", Report),
        ("report", Report),
        ("escaleren", Escalate),
        ("escalate", Escalate),
        ("help", Help),
        ("hulp", Help),
        ("intrekken", Withdraw),
        ("withdraw", Withdraw),
        ("correctie", Correct),
        ("correct", Correct),
        ("taal", Language),
        ("language", Language),
    ],
)
def test_command_words(word: str, cls: type[Command]) -> None:
    assert COMMAND_WORDS[word] is cls
    assert word in cls.words()


def test_command_words_are_all_known_and_unique() -> None:
    all_words = [word for cls in COMMANDS.values() for word in cls.words()]
    assert len(all_words) == len(set(all_words)) == len(COMMAND_WORDS) == 25


@pytest.mark.parametrize("cls", list(COMMANDS.values()))
@pytest.mark.parametrize("prefix", PREFIXES)
def test_usage_examples_work(cls: type[Command], prefix: str) -> None:
    for example in (cls.usage.nl, cls.usage.en):
        assert example.startswith("/")
        assert "{" not in example
        assert "}" not in example
        assert isinstance(parse(prefix + example[1:]), cls)
    assert cls.usage.nl.split()[0] == f"/{cls.name}"
    assert cls.usage.en.split()[0] == f"/{cls.english}"
    assert cls.syntax.nl.split()[0] == f"/{cls.name}"
    assert cls.syntax.en.split()[0] == f"/{cls.english}"
    assert cls.summary.nl
    assert cls.summary.en


@pytest.mark.parametrize("cls", list(COMMANDS.values()))
def test_every_command_says_who_may_use_it(cls: type[Command]) -> None:
    """`/help COMMAND` needs each command's audience, in every language."""
    assert cls.who.nl.startswith("Wie: ")
    assert cls.who.en.startswith("Who: ")
    if cls.details is not None:
        assert cls.details.nl
        assert cls.details.en != cls.details.nl


@pytest.mark.parametrize(("text", "meant"), [("/foo", None), ("!lesuitvl 2B", "lesuitval")])
def test_an_unknown_command_is_its_own_error_type(text: str, meant: str | None) -> None:
    """The chat front end answers it with what the sender may use (`UnknownCommand.word`)."""
    with pytest.raises(UnknownCommand) as caught:
        parse(text)
    assert caught.value.word == text.split()[0][1:].lower()
    assert caught.value.meant == meant


def test_a_command_not_offered_yet_is_answered_as_unknown() -> None:
    error = not_offered("/planning 2B")
    assert isinstance(error, UnknownCommand)
    assert error.word == "planning"


def test_parse_command_defaults_to_amsterdam() -> None:
    text = "/herinnering 2B morgen 08:00 Toets"
    assert parse_command(text, today=TODAY, now=NOW) == parse(text)
