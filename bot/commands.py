"""The chat command grammar: one chat message in, one typed request out, the same on every platform.

A command is a message whose first word is `/name` or `!name` (the two prefixes are equivalent;
Matrix clients swallow `/`). Dutch names are primary and every command has an English alias;
command names are case-insensitive. Telegram's `@botname` suffix (`/help@klasbot_bot`) is
stripped. Arguments are separated by whitespace; the free text at the end keeps its own spacing,
line breaks and casing (only its ends are stripped). A class is a raw reference (a `classCode`
such as `2B` or a `sourcedId`): resolving it is the use case's job, not the grammar's.

Every malformed command raises `InvalidInput` whose Dutch and English texts say what was wrong
and end with a working example of that command, written with the prefix the sender used.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bot.dates import DEFAULT_TIMEZONE, When, is_day_name, parse_date, parse_when_prefix
from bot.errors import InvalidInput
from bot.i18n import Msg

PREFIXES = ("/", "!")
MAX_PERIOD = 12

# The first word of a command: prefix, a name that starts with a letter, Telegram's @bot suffix.
_COMMAND_WORD = re.compile(r"[/!]([^\W\d_]\w*)(?:@(\w+))?")
_WORD = re.compile(r"\S+")
_ORDINAL = r"(?:e|de|ste|st|nd|rd|th)?"
_PERIOD = re.compile(rf"(\d{{1,2}}){_ORDINAL}(?:[-–](\d{{1,2}}){_ORDINAL})?", re.IGNORECASE)
_CANCEL_WORDS = ("annuleer", "annuleren", "cancel")


class Command:
    """Base of the typed requests. Each subclass declares its canonical Dutch `name`, its English
    alias `english` (equal to `name` when the word is the same in both languages), other accepted
    words in `aliases`, and for /help and error messages its `syntax`, `summary` and `usage` (a
    working example line)."""

    __slots__ = ()

    name: ClassVar[str]
    english: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    syntax: ClassVar[Msg]
    summary: ClassVar[Msg]
    usage: ClassVar[Msg]

    @classmethod
    def words(cls) -> tuple[str, ...]:
        """Every word that invokes this command, canonical name first."""
        return tuple(dict.fromkeys((cls.name, cls.english, *cls.aliases)))


@dataclass(frozen=True, slots=True)
class Start(Command):
    """Link this platform account to a person with a one-time code."""

    code: str

    name: ClassVar[str] = "start"
    english: ClassVar[str] = "start"
    syntax: ClassVar[Msg] = Msg("/start CODE", "/start CODE")
    summary: ClassVar[Msg] = Msg(
        "koppel je account met de code die je van school kreeg",
        "link your account with the code you got from school",
    )
    usage: ClassVar[Msg] = Msg("/start K7P2QX", "/start K7P2QX")


@dataclass(frozen=True, slots=True)
class LessonCancelled(Command):
    """A lesson does not take place. `period` is normalised to `3` or `3-4`."""

    class_ref: str
    date: dt.date
    period: str
    subject: str | None = None
    text: str | None = None

    name: ClassVar[str] = "lesuitval"
    english: ClassVar[str] = "cancelled"
    syntax: ClassVar[Msg] = Msg(
        "/lesuitval KLAS DATUM UUR [vak] [toelichting]",
        "/cancelled CLASS DATE PERIOD [subject] [explanation]",
    )
    summary: ClassVar[Msg] = Msg("meld dat een les uitvalt", "announce a cancelled lesson")
    usage: ClassVar[Msg] = Msg(
        "/lesuitval 2B morgen 3 wiskunde Docent is ziek",
        "/cancelled 2B tomorrow 3 maths The teacher is ill",
    )


@dataclass(frozen=True, slots=True)
class Homework(Command):
    """Homework for `subject`, due on `date`."""

    class_ref: str
    subject: str
    date: dt.date
    text: str

    name: ClassVar[str] = "huiswerk"
    english: ClassVar[str] = "homework"
    syntax: ClassVar[Msg] = Msg(
        "/huiswerk KLAS VAK DATUM tekst", "/homework CLASS SUBJECT DATE text"
    )
    summary: ClassVar[Msg] = Msg("geef huiswerk op", "set homework")
    usage: ClassVar[Msg] = Msg(
        "/huiswerk 2B wiskunde vrijdag Opgave 1 tot en met 12 van paragraaf 3.2",
        "/homework 2B maths friday Exercises 1 to 12 of section 3.2",
    )


@dataclass(frozen=True, slots=True)
class Reminder(Command):
    """A reminder: now (`when` is None), once, or weekly."""

    class_ref: str
    when: When | None
    text: str

    name: ClassVar[str] = "herinnering"
    english: ClassVar[str] = "reminder"
    syntax: ClassVar[Msg] = Msg("/herinnering KLAS [wanneer] tekst", "/reminder CLASS [when] text")
    summary: ClassVar[Msg] = Msg(
        "stuur een herinnering, nu, later of elke week",
        "send a reminder, now, later or every week",
    )
    usage: ClassVar[Msg] = Msg(
        "/herinnering 2B elke maandag 08:00 Neem je gymspullen mee",
        "/reminder 2B every monday 08:00 Bring your PE kit",
    )


@dataclass(frozen=True, slots=True)
class Trip(Command):
    """A school trip, camp or excursion on `date`."""

    class_ref: str
    date: dt.date
    text: str

    name: ClassVar[str] = "uitje"
    english: ClassVar[str] = "trip"
    syntax: ClassVar[Msg] = Msg("/uitje KLAS DATUM tekst", "/trip CLASS DATE text")
    summary: ClassVar[Msg] = Msg(
        "kondig een excursie, uitje of kamp aan", "announce a trip, excursion or camp"
    )
    usage: ClassVar[Msg] = Msg(
        "/uitje 2B 12-3 Excursie naar Naturalis, verzamelen om 8.30 bij school",
        "/trip 2B 12-3 Trip to Naturalis, meet at school at 8:30",
    )


@dataclass(frozen=True, slots=True)
class Schedule(Command):
    """List a class's scheduled reminders, or cancel the one numbered `cancel_id`."""

    class_ref: str
    cancel_id: int | None = None

    name: ClassVar[str] = "planning"
    english: ClassVar[str] = "schedule"
    syntax: ClassVar[Msg] = Msg(
        "/planning KLAS [annuleer NUMMER]", "/schedule CLASS [cancel NUMBER]"
    )
    summary: ClassVar[Msg] = Msg(
        "bekijk of annuleer geplande herinneringen", "list or cancel scheduled reminders"
    )
    usage: ClassVar[Msg] = Msg("/planning 2B", "/schedule 2B")


@dataclass(frozen=True, slots=True)
class Bind(Command):
    """Bind the group this is sent in to a class."""

    class_ref: str

    name: ClassVar[str] = "koppel"
    english: ClassVar[str] = "link"
    syntax: ClassVar[Msg] = Msg("/koppel KLAS", "/link CLASS")
    summary: ClassVar[Msg] = Msg("koppel deze groep aan een klas", "bind this group to a class")
    usage: ClassVar[Msg] = Msg("/koppel 2B", "/link 2B")


@dataclass(frozen=True, slots=True)
class Report(Command):
    """Report unacceptable communication to the school's leadership."""

    text: str

    name: ClassVar[str] = "melden"
    english: ClassVar[str] = "report"
    syntax: ClassVar[Msg] = Msg("/melden tekst", "/report text")
    summary: ClassVar[Msg] = Msg(
        "meld ongepaste communicatie bij de schoolleiding",
        "report unacceptable communication to the school's leadership",
    )
    usage: ClassVar[Msg] = Msg(
        "/melden Een leerling wordt in een appgroep van 2B gepest",
        "/report A pupil is being bullied in a 2B chat group",
    )


@dataclass(frozen=True, slots=True)
class Escalate(Command):
    """Escalate communication that is getting out of hand (protocol B.3)."""

    text: str

    name: ClassVar[str] = "escaleren"
    english: ClassVar[str] = "escalate"
    syntax: ClassVar[Msg] = Msg("/escaleren tekst", "/escalate text")
    summary: ClassVar[Msg] = Msg(
        "schakel de schoolleiding in als communicatie ontspoort",
        "call in the school's leadership when communication derails",
    )
    usage: ClassVar[Msg] = Msg(
        "/escaleren De discussie over de toetscijfers loopt uit de hand",
        "/escalate The discussion about the test grades is getting out of hand",
    )


@dataclass(frozen=True, slots=True)
class Help(Command):
    """What this person may do here; `topic` is the canonical name of a command asked about
    (`/help lesuitval`), None for an overview (also when the word asked about is no command)."""

    topic: str | None = None

    name: ClassVar[str] = "help"
    english: ClassVar[str] = "help"
    aliases: ClassVar[tuple[str, ...]] = ("hulp",)
    syntax: ClassVar[Msg] = Msg("/help [commando]", "/help [command]")
    summary: ClassVar[Msg] = Msg("wat je hier kunt doen", "what you can do here")
    usage: ClassVar[Msg] = Msg("/help", "/help")


COMMANDS: Mapping[str, type[Command]] = {
    cls.name: cls
    for cls in (
        Start,
        LessonCancelled,
        Homework,
        Reminder,
        Trip,
        Schedule,
        Bind,
        Report,
        Escalate,
        Help,
    )
}
"""Canonical (Dutch) name → command class, in the order /help lists them."""

COMMAND_WORDS: Mapping[str, type[Command]] = {
    word: cls for cls in COMMANDS.values() for word in cls.words()
}
"""Every word that invokes a command (canonical names and aliases) → command class."""

ENGLISH_WORDS = frozenset(cls.english for cls in COMMANDS.values() if cls.english != cls.name)


MSG_UNKNOWN_COMMAND = Msg(
    "{command} ken ik niet. Dit kan ik: {commands_nl}. Stuur {prefix}help voor uitleg.",
    "I don't know {command}. I understand: {commands_en}. Send {prefix}help for more.",
)
MSG_UNKNOWN_COMMAND_SUGGEST = Msg(
    "{command} ken ik niet. Bedoelde je {suggestion}? Dit kan ik: {commands_nl}.",
    "I don't know {command}. Did you mean {suggestion}? I understand: {commands_en}.",
)
MSG_START_MISSING_CODE = Msg(
    "Zet je persoonlijke code achter {command}. Die code heb je van school gekregen, per e-mail of "
    "per brief.",
    "Put your personal code after {command}. You got that code from school, by e-mail or by "
    "letter.",
)
MSG_START_ONE_WORD = Msg(
    "Een code is één woord zonder spaties; '{extra}' hoort er niet bij.",
    "A code is one word without spaces; '{extra}' is not part of it.",
)
MSG_MISSING_CLASS = Msg("De klas ontbreekt.", "The class is missing.")
MSG_CLASS_IS_A_DAY = Msg(
    "'{word}' is een dag, geen klas: de klas komt eerst.",
    "'{word}' is a day, not a class: the class comes first.",
)
MSG_MISSING_DATE = Msg("De datum ontbreekt.", "The date is missing.")
MSG_MISSING_PERIOD = Msg("Het lesuur ontbreekt.", "The period (lesson hour) is missing.")
MSG_BAD_PERIOD = Msg(
    "'{word}' is geen lesuur: gebruik een uur van 1 tot en met {max} (3 of 3e) of een blok (3-4).",
    "'{word}' is not a period: use a lesson hour from 1 to {max} (3 or 3rd) or a block (3-4).",
)
MSG_PERIOD_ORDER = Msg(
    "'{word}' loopt achteruit: het eerste uur komt vóór het laatste, zoals 3-4.",
    "'{word}' runs backwards: the first period comes before the last, as in 3-4.",
)
MSG_MISSING_SUBJECT = Msg("Het vak ontbreekt.", "The subject is missing.")
MSG_SUBJECT_BEFORE_DATE = Msg(
    "Eerst het vak, dan de datum: '{date}' staat op de plaats van het vak.",
    "First the subject, then the date: '{date}' is where the subject belongs.",
)
MSG_MISSING_TEXT = Msg("De tekst van het bericht ontbreekt.", "The message text is missing.")
MSG_MISSING_REPORT = Msg("Schrijf erbij wat er aan de hand is.", "Write down what is going on.")
MSG_TOO_MANY_WORDS = Msg(
    "Er staat meer achter het commando dan het gebruikt: '{extra}'.",
    "There is more after the command than it takes: '{extra}'.",
)
MSG_SCHEDULE_BAD_ACTION = Msg(
    "'{word}' begrijp ik niet: gebruik 'annuleer' met het nummer uit de planning.",
    "I don't understand '{word}': use 'cancel' with the number from the schedule.",
)
MSG_SCHEDULE_MISSING_ID = Msg(
    "Het nummer ontbreekt: zet het nummer uit de planning achter '{word}'.",
    "The number is missing: put the number from the schedule after '{word}'.",
)
MSG_SCHEDULE_BAD_ID = Msg(
    "'{word}' is geen nummer uit de planning.", "'{word}' is not a number from the schedule."
)


def parse_command(
    text: str,
    *,
    today: dt.date,
    now: dt.datetime,
    tz: ZoneInfo = DEFAULT_TIMEZONE,
    bot_username: str | None = None,
) -> Command | None:
    """The command in chat message `text`, or None when `text` is not a command.

    A command starts (after leading whitespace) with `/` or `!` followed directly by a letter;
    anything else (`hallo`, `!!!`, `/ ok`, `/home/x`) is not one and gives None. When
    `bot_username` is given, a command addressed to another bot (`/help@otherbot`) gives None too.
    `today` resolves dates (`morgen`, `maandag`) and the aware `now` with `tz` resolves reminder
    moments (see `bot.dates`).

    Raises `InvalidInput` for an unknown command (listing the commands) and for every malformed
    one (saying what was wrong and giving a working example of that command)."""
    parsed = _split_command_word(text)
    if parsed is None:
        return None
    prefix, word, addressee, args = parsed
    if addressee is not None and bot_username is not None:
        if addressee.lower() != bot_username.lstrip("@").lower():
            return None
    cls = COMMAND_WORDS.get(word)
    if cls is None:
        raise _unknown_command(prefix, word)
    return _PARSERS[cls](args, _Context(cls, prefix, today, now, tz))


def command_language(text: str) -> str:
    """`en` when `text` is a command invoked by its English alias (`/homework`), else `nl`: the
    language to reply in."""
    parsed = _split_command_word(text)
    return "en" if parsed is not None and parsed[1] in ENGLISH_WORDS else "nl"


class _Args:
    """The words after the command word, with their places in the original message."""

    def __init__(self, text: str, matches: Sequence[re.Match[str]]) -> None:
        self._text = text
        self._matches = matches
        self.words = [m.group() for m in matches]

    def __len__(self) -> int:
        return len(self.words)

    def rest(self, index: int) -> str:
        """The original text from word `index` to the end (ends stripped), `""` if there is none."""
        if index >= len(self._matches):
            return ""
        return self._text[self._matches[index].start() :].strip()


@dataclass(frozen=True, slots=True)
class _Context:
    command: type[Command]
    prefix: str
    today: dt.date
    now: dt.datetime
    tz: ZoneInfo

    def invalid(self, problem: Msg, /, **params: Any) -> InvalidInput:
        """`problem` followed by a working example of this command, written with the sender's
        prefix."""
        nl = self.prefix + self.command.usage.nl[1:]
        en = self.prefix + self.command.usage.en[1:]
        return InvalidInput(
            Msg(f"{problem.nl} Zo werkt het: {nl}", f"{problem.en} This works: {en}"), **params
        )


def _split_command_word(text: str) -> tuple[str, str, str | None, _Args] | None:
    matches = list(_WORD.finditer(text))
    if not matches:
        return None
    first = _COMMAND_WORD.fullmatch(matches[0].group())
    if first is None:
        return None
    prefix = matches[0].group()[0]
    return prefix, first[1].lower(), first[2], _Args(text, matches[1:])


def _unknown_command(prefix: str, word: str) -> InvalidInput:
    names_nl = ", ".join(prefix + cls.name for cls in COMMANDS.values())
    names_en = ", ".join(prefix + cls.english for cls in COMMANDS.values())
    params: dict[str, Any] = {
        "command": prefix + word,
        "prefix": prefix,
        "commands_nl": names_nl,
        "commands_en": names_en,
    }
    close = difflib.get_close_matches(word, list(COMMAND_WORDS), n=1, cutoff=0.7)
    if close:
        return InvalidInput(MSG_UNKNOWN_COMMAND_SUGGEST, suggestion=prefix + close[0], **params)
    return InvalidInput(MSG_UNKNOWN_COMMAND, **params)


def _class_ref(args: _Args, ctx: _Context) -> str:
    if not args.words:
        raise ctx.invalid(MSG_MISSING_CLASS)
    word = args.words[0]
    if is_day_name(word):
        raise ctx.invalid(MSG_CLASS_IS_A_DAY, word=word)
    return word


def _date(args: _Args, index: int, ctx: _Context) -> dt.date:
    if index >= len(args):
        raise ctx.invalid(MSG_MISSING_DATE)
    try:
        return parse_date(args.words[index], today=ctx.today)
    except InvalidInput as error:
        raise ctx.invalid(error.msg, **error.params) from error


def _period(word: str, ctx: _Context) -> str:
    match = _PERIOD.fullmatch(word)
    if match is None:
        raise ctx.invalid(MSG_BAD_PERIOD, word=word, max=MAX_PERIOD)
    first = int(match[1])
    last = int(match[2]) if match[2] is not None else first
    if not (1 <= first <= MAX_PERIOD and 1 <= last <= MAX_PERIOD):
        raise ctx.invalid(MSG_BAD_PERIOD, word=word, max=MAX_PERIOD)
    if last < first:
        raise ctx.invalid(MSG_PERIOD_ORDER, word=word)
    return str(first) if first == last else f"{first}-{last}"


def _required_text(args: _Args, index: int, ctx: _Context, problem: Msg = MSG_MISSING_TEXT) -> str:
    text = args.rest(index)
    if not text:
        raise ctx.invalid(problem)
    return text


def _no_more(args: _Args, index: int, ctx: _Context) -> None:
    if index < len(args):
        raise ctx.invalid(MSG_TOO_MANY_WORDS, extra=args.rest(index))


def _parse_start(args: _Args, ctx: _Context) -> Start:
    if not args.words:
        raise ctx.invalid(MSG_START_MISSING_CODE, command=ctx.prefix + Start.name)
    if len(args) > 1:
        raise ctx.invalid(MSG_START_ONE_WORD, extra=args.rest(1))
    return Start(code=args.words[0])


def _parse_lesson_cancelled(args: _Args, ctx: _Context) -> LessonCancelled:
    class_ref = _class_ref(args, ctx)
    day = _date(args, 1, ctx)
    if len(args) < 3:
        raise ctx.invalid(MSG_MISSING_PERIOD)
    period = _period(args.words[2], ctx)
    subject = args.words[3] if len(args) > 3 else None
    return LessonCancelled(class_ref, day, period, subject, args.rest(4) or None)


def _parse_homework(args: _Args, ctx: _Context) -> Homework:
    class_ref = _class_ref(args, ctx)
    if len(args) < 2:
        raise ctx.invalid(MSG_MISSING_SUBJECT)
    subject = args.words[1]
    try:
        day = _date(args, 2, ctx)
    except InvalidInput:
        if _is_date(subject, ctx):
            raise ctx.invalid(MSG_SUBJECT_BEFORE_DATE, date=subject) from None
        raise
    return Homework(class_ref, subject, day, _required_text(args, 3, ctx))


def _is_date(word: str, ctx: _Context) -> bool:
    try:
        parse_date(word, today=ctx.today)
    except InvalidInput:
        return False
    return True


def _parse_reminder(args: _Args, ctx: _Context) -> Reminder:
    class_ref = _class_ref(args, ctx)
    try:
        when, length = parse_when_prefix(args.words[1:], now=ctx.now, tz=ctx.tz)
    except InvalidInput as error:
        raise ctx.invalid(error.msg, **error.params) from error
    return Reminder(class_ref, when, _required_text(args, 1 + length, ctx))


def _parse_trip(args: _Args, ctx: _Context) -> Trip:
    class_ref = _class_ref(args, ctx)
    day = _date(args, 1, ctx)
    return Trip(class_ref, day, _required_text(args, 2, ctx))


def _parse_schedule(args: _Args, ctx: _Context) -> Schedule:
    class_ref = _class_ref(args, ctx)
    if len(args) == 1:
        return Schedule(class_ref)
    action = args.words[1]
    if action.lower() not in _CANCEL_WORDS:
        raise ctx.invalid(MSG_SCHEDULE_BAD_ACTION, word=action)
    if len(args) < 3:
        raise ctx.invalid(MSG_SCHEDULE_MISSING_ID, word=action)
    number = args.words[2].removeprefix("#")
    if not (number.isascii() and number.isdigit()) or int(number) == 0:
        raise ctx.invalid(MSG_SCHEDULE_BAD_ID, word=args.words[2])
    _no_more(args, 3, ctx)
    return Schedule(class_ref, int(number))


def _parse_bind(args: _Args, ctx: _Context) -> Bind:
    class_ref = _class_ref(args, ctx)
    _no_more(args, 1, ctx)
    return Bind(class_ref)


def _parse_report(args: _Args, ctx: _Context) -> Report:
    return Report(_required_text(args, 0, ctx, MSG_MISSING_REPORT))


def _parse_escalate(args: _Args, ctx: _Context) -> Escalate:
    return Escalate(_required_text(args, 0, ctx, MSG_MISSING_REPORT))


def _parse_help(args: _Args, ctx: _Context) -> Help:
    if not args.words:
        return Help()
    asked = COMMAND_WORDS.get(args.words[0].lstrip("/!").lower())
    return Help(asked.name if asked is not None else None)


_PARSERS: Mapping[type[Command], Callable[[_Args, _Context], Command]] = {
    Start: _parse_start,
    LessonCancelled: _parse_lesson_cancelled,
    Homework: _parse_homework,
    Reminder: _parse_reminder,
    Trip: _parse_trip,
    Schedule: _parse_schedule,
    Bind: _parse_bind,
    Report: _parse_report,
    Escalate: _parse_escalate,
    Help: _parse_help,
}
