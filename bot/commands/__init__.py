"""The chat command grammar: one chat message in, one typed request out, the same on every platform.

A command is a message whose first word is `/name` or `!name` (the two prefixes are equivalent;
Matrix clients swallow `/`). Dutch names are primary and every command has an English alias;
command names are case-insensitive. Telegram's `@botname` suffix (`/help@klasbot_bot`) is
stripped. Arguments are separated by whitespace; the free text at the end keeps its own spacing,
line breaks and casing (only its ends are stripped). A class is a raw reference (a `classCode`
such as `2B` or a `sourcedId`): resolving it is the use case's job, not the grammar's.

Every malformed command raises `InvalidInput` whose Dutch and English texts say what was wrong
and end with a working example of that command, written with the prefix the sender used; an
unknown command raises its subclass `UnknownCommand`. The words of a command never choose the
language of the answer: that is the person's (`bot.languages`).
"""

from bot.commands.grammar import UnknownCommand, not_offered, parse_command
from bot.commands.types import (
    COMMAND_WORDS,
    COMMANDS,
    MAX_ANNOUNCEMENT_ID,
    MAX_PERIOD,
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
    Withdraw,
)

__all__ = [
    "COMMANDS",
    "COMMAND_WORDS",
    "MAX_ANNOUNCEMENT_ID",
    "MAX_PERIOD",
    "PREFIXES",
    "Bind",
    "Command",
    "Correct",
    "Escalate",
    "Help",
    "Homework",
    "Language",
    "LessonCancelled",
    "Reminder",
    "Report",
    "Schedule",
    "Start",
    "Trip",
    "UnknownCommand",
    "Withdraw",
    "not_offered",
    "parse_command",
]
