"""The typed requests of the chat grammar (see `bot.commands`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bot.i18n import Msg
from bot.when import When

PREFIXES = ("/", "!")
MAX_PERIOD = 12
MAX_ANNOUNCEMENT_ID = 2**63 - 1
"""The largest announcement number (the databases' 64-bit integers)."""

WHO_ANYONE = Msg("Who: anyone, also before the account is linked.")
WHO_LINKED = Msg("Who: anyone whose account is linked.")
WHO_CLASS_STAFF = Msg("Who: teachers of the class.")
WHO_STAFF = Msg("Who: staff (teachers and school leadership).")
WHO_AUTHOR_OR_STAFF = Msg("Who: the author of the message, or a teacher of its class.")
WHO_IN_GROUP = Msg("Who: teachers of the class, in the group itself (Telegram, Teams).")


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
    who: ClassVar[Msg]
    """Who may use it, for `/help COMMAND` (rule 7 decides; this says it in words)."""
    details: ClassVar[Msg | None] = None
    """More for `/help COMMAND`: the values it accepts, what happens."""
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
    who: ClassVar[Msg] = WHO_ANYONE
    details: ClassVar[Msg | None] = Msg(
        "The code is in the letter or e-mail you got from school; each code works once."
    )


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
    who: ClassVar[Msg] = WHO_CLASS_STAFF
    details: ClassVar[Msg | None] = Msg(
        "DATE: 2026-12-01, 1-12, today, tomorrow or a weekday. PERIOD: a lesson hour (3) or a "
        "block (3-4)."
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
    syntax: ClassVar[Msg] = Msg("/homework CLASS SUBJECT DATE text")
    summary: ClassVar[Msg] = Msg("set homework")
    usage: ClassVar[Msg] = Msg("/homework 2B maths friday Exercises 1 to 12 of section 3.2")
    who: ClassVar[Msg] = WHO_CLASS_STAFF
    details: ClassVar[Msg | None] = Msg(
        "DATE is the day it is due: 2026-12-01, 1-12, tomorrow or a weekday."
    )


@dataclass(frozen=True, slots=True)
class Reminder(Command):
    """A reminder: now (`when` is None), or scheduled once or repeating (`bot.when.When`)."""

    class_ref: str
    when: When | None
    text: str

    name: ClassVar[str] = "herinnering"
    english: ClassVar[str] = "reminder"
    syntax: ClassVar[Msg] = Msg("/reminder CLASS [when] text")
    summary: ClassVar[Msg] = Msg("send a reminder now, or schedule it once or repeating")
    usage: ClassVar[Msg] = Msg("/reminder 2B tomorrow 07:30 Bring your PE kit")
    who: ClassVar[Msg] = WHO_CLASS_STAFF
    details: ClassVar[Msg | None] = Msg(
        "Without a moment it goes out now. With a moment it is scheduled: once (tomorrow 07:30, "
        "monday 08:00) or repeating (every monday 08:00, every weekday 07:45, every other friday "
        "15:00). Before it is saved you see it in words with its next dates."
    )


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
    who: ClassVar[Msg] = WHO_CLASS_STAFF


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
    who: ClassVar[Msg] = WHO_CLASS_STAFF
    details: ClassVar[Msg | None] = Msg(
        "Shows each scheduled message of the class with its number and next dates; "
        "/schedule 2B cancel 3 cancels number 3 (its author or a teacher of the class may)."
    )


@dataclass(frozen=True, slots=True)
class Bind(Command):
    """Bind the group this is sent in to a class."""

    class_ref: str

    name: ClassVar[str] = "koppel"
    english: ClassVar[str] = "link"
    syntax: ClassVar[Msg] = Msg("/link CLASS")
    summary: ClassVar[Msg] = Msg("bind this group to a class")
    usage: ClassVar[Msg] = Msg("/link 2B")
    who: ClassVar[Msg] = WHO_IN_GROUP
    details: ClassVar[Msg | None] = Msg(
        "First make the bot an administrator of the group; from then on only the bot posts there."
    )


@dataclass(frozen=True, slots=True)
class Report(Command):
    """Report unacceptable communication to the school's leadership."""

    text: str

    name: ClassVar[str] = "melden"
    english: ClassVar[str] = "report"
    syntax: ClassVar[Msg] = Msg("/report text")
    summary: ClassVar[Msg] = Msg("report unacceptable communication to the school's leadership")
    usage: ClassVar[Msg] = Msg("/report A pupil is being bullied in a 2B chat group")
    who: ClassVar[Msg] = WHO_LINKED
    details: ClassVar[Msg | None] = Msg(
        "Your report goes to the school's leadership and is kept in the dossier."
    )


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
    who: ClassVar[Msg] = WHO_STAFF


@dataclass(frozen=True, slots=True)
class Withdraw(Command):
    """Withdraw announcement `announcement_id`, with an optional reason for its readers."""

    announcement_id: int
    reason: str | None = None

    name: ClassVar[str] = "intrekken"
    english: ClassVar[str] = "withdraw"
    syntax: ClassVar[Msg] = Msg("/withdraw NUMBER [reason]")
    summary: ClassVar[Msg] = Msg("withdraw a message that was sent by mistake")
    usage: ClassVar[Msg] = Msg("/withdraw 12 The test has been moved to next week")
    who: ClassVar[Msg] = WHO_AUTHOR_OR_STAFF
    details: ClassVar[Msg | None] = Msg(
        "NUMBER is in the confirmation you got when the message went out. What has not gone out "
        "yet is cancelled; the group post is edited and everyone who got it by e-mail or letter "
        "hears it is withdrawn."
    )


@dataclass(frozen=True, slots=True)
class Correct(Command):
    """Replace announcement `announcement_id`'s text by `text`."""

    announcement_id: int
    text: str

    name: ClassVar[str] = "correctie"
    english: ClassVar[str] = "correct"
    syntax: ClassVar[Msg] = Msg("/correct NUMBER text")
    summary: ClassVar[Msg] = Msg("replace a message's text by a correction")
    usage: ClassVar[Msg] = Msg("/correct 12 Exercises 1 to 15 of section 3.2")
    who: ClassVar[Msg] = WHO_AUTHOR_OR_STAFF
    details: ClassVar[Msg | None] = Msg(
        "NUMBER is in the confirmation you got when the message went out. The new text replaces "
        "the old one in the group; everyone who got it by e-mail or letter gets the correction."
    )


@dataclass(frozen=True, slots=True)
class Language(Command):
    """The language the bot uses with this person; `language` None asks which it is now."""

    language: str | None = None

    name: ClassVar[str] = "taal"
    english: ClassVar[str] = "language"
    syntax: ClassVar[Msg] = Msg("/language [LANGUAGE]")
    summary: ClassVar[Msg] = Msg("choose the language I use with you")
    usage: ClassVar[Msg] = Msg("/language en")
    who: ClassVar[Msg] = WHO_LINKED
    details: ClassVar[Msg | None] = Msg(
        "Replies, e-mails and letters to you follow it. Without LANGUAGE: the one you have now."
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
    who: ClassVar[Msg] = WHO_ANYONE
    details: ClassVar[Msg | None] = Msg("With a command, e.g. /help report: how to use it.")


COMMANDS: Mapping[str, type[Command]] = {
    cls.name: cls
    for cls in (
        Start,
        LessonCancelled,
        Homework,
        Reminder,
        Trip,
        Schedule,
        Withdraw,
        Correct,
        Language,
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
