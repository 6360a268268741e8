"""The typed requests of the chat grammar (see `bot.commands`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bot.dates import When
from bot.i18n import Msg

PREFIXES = ("/", "!")
MAX_PERIOD = 12


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
    offered: ClassVar[bool] = True
    """Listed in /help and the platforms' menus (False while a command is not built yet)."""

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
    syntax: ClassVar[Msg] = Msg("/start CODE")
    summary: ClassVar[Msg] = Msg("link your account with the code you got from school")
    usage: ClassVar[Msg] = Msg("/start K7P2QX")


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
    syntax: ClassVar[Msg] = Msg("/cancelled CLASS DATE PERIOD [subject] [explanation]")
    summary: ClassVar[Msg] = Msg("announce a cancelled lesson")
    usage: ClassVar[Msg] = Msg("/cancelled 2B tomorrow 3 maths The teacher is ill")


@dataclass(frozen=True, slots=True)
class Homework(Command):
    """Homework for `subject`, due on `date`."""

    class_ref: str
    subject: str
    date: dt.date
    text: str

    name: ClassVar[str] = "huiswerk"
    english: ClassVar[str] = "homework"
    syntax: ClassVar[Msg] = Msg("/homework CLASS SUBJECT DATE text")
    summary: ClassVar[Msg] = Msg("set homework")
    usage: ClassVar[Msg] = Msg("/homework 2B maths friday Exercises 1 to 12 of section 3.2")


@dataclass(frozen=True, slots=True)
class Reminder(Command):
    """A reminder: now (`when` is None), once, or weekly."""

    class_ref: str
    when: When | None
    text: str

    name: ClassVar[str] = "herinnering"
    english: ClassVar[str] = "reminder"
    syntax: ClassVar[Msg] = Msg("/reminder CLASS [when] text")
    summary: ClassVar[Msg] = Msg("send a reminder, now or at a later moment")
    usage: ClassVar[Msg] = Msg("/reminder 2B tomorrow 07:30 Bring your PE kit")


@dataclass(frozen=True, slots=True)
class Trip(Command):
    """A school trip, camp or excursion on `date`."""

    class_ref: str
    date: dt.date
    text: str

    name: ClassVar[str] = "uitje"
    english: ClassVar[str] = "trip"
    syntax: ClassVar[Msg] = Msg("/trip CLASS DATE text")
    summary: ClassVar[Msg] = Msg("announce a trip, excursion or camp")
    usage: ClassVar[Msg] = Msg("/trip 2B 12-3 Trip to Naturalis, meet at school at 8:30")


@dataclass(frozen=True, slots=True)
class Schedule(Command):
    """List a class's scheduled reminders, or cancel the one numbered `cancel_id`."""

    class_ref: str
    cancel_id: int | None = None

    name: ClassVar[str] = "planning"
    english: ClassVar[str] = "schedule"
    syntax: ClassVar[Msg] = Msg("/schedule CLASS [cancel NUMBER]")
    summary: ClassVar[Msg] = Msg("list or cancel scheduled reminders")
    usage: ClassVar[Msg] = Msg("/schedule 2B")
    offered: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Bind(Command):
    """Bind the group this is sent in to a class."""

    class_ref: str

    name: ClassVar[str] = "koppel"
    english: ClassVar[str] = "link"
    syntax: ClassVar[Msg] = Msg("/link CLASS")
    summary: ClassVar[Msg] = Msg("bind this group to a class")
    usage: ClassVar[Msg] = Msg("/link 2B")


@dataclass(frozen=True, slots=True)
class Report(Command):
    """Report unacceptable communication to the school's leadership."""

    text: str

    name: ClassVar[str] = "melden"
    english: ClassVar[str] = "report"
    syntax: ClassVar[Msg] = Msg("/report text")
    summary: ClassVar[Msg] = Msg("report unacceptable communication to the school's leadership")
    usage: ClassVar[Msg] = Msg("/report A pupil is being bullied in a 2B chat group")


@dataclass(frozen=True, slots=True)
class Escalate(Command):
    """Escalate communication that is getting out of hand (protocol B.3)."""

    text: str

    name: ClassVar[str] = "escaleren"
    english: ClassVar[str] = "escalate"
    syntax: ClassVar[Msg] = Msg("/escalate text")
    summary: ClassVar[Msg] = Msg("call in the school's leadership when communication derails")
    usage: ClassVar[Msg] = Msg(
        "/escalate The discussion about the test grades is getting out of hand"
    )


@dataclass(frozen=True, slots=True)
class Help(Command):
    """What this person may do here; `topic` is the canonical name of a command asked about
    (`/help lesuitval`), None for an overview (also when the word asked about is no command)."""

    topic: str | None = None

    name: ClassVar[str] = "help"
    english: ClassVar[str] = "help"
    aliases: ClassVar[tuple[str, ...]] = ("hulp",)
    syntax: ClassVar[Msg] = Msg("/help [command]")
    summary: ClassVar[Msg] = Msg("what you can do here")
    usage: ClassVar[Msg] = Msg("/help")


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
