"""Help in a chat: what this person may do here (`/help`), how one command works (`/help
COMMAND`), and the short help that answers a message or a command the bot does not understand.

Only what the person may use is offered (rule 7 decides, `bot.rules.authorization`); the command
words are the reader's language's (`/huiswerk` in Dutch, `/homework` in English), taken from each
command's catalogue syntax.
"""

from __future__ import annotations

from bot import commands as cmd
from bot.chat.texts import (
    M_HELP_EXAMPLE,
    M_HELP_FOOTER,
    M_HELP_NOT_YOURS,
    M_NOT_UNDERSTOOD,
    M_NOT_UNDERSTOOD_STRANGER,
    M_UNKNOWN_COMMAND,
    M_UNKNOWN_COMMAND_SUGGEST,
)
from bot.domain import Person
from bot.messages import M_HELP_HEADER
from bot.rules import authorization


def command_word(command: type[cmd.Command], lang: str, prefix: str = "/") -> str:
    """The command as a reader of `lang` types it: `/huiswerk`, `/homework` (`!` on Matrix)."""
    return prefix + command.syntax(lang).split()[0][1:]


def usable(person: Person | None, staff_anywhere: bool) -> list[type[cmd.Command]]:
    """The commands this person may use, in /help's order (nothing that is not offered yet)."""
    return [cmd.COMMANDS[n] for n in authorization.visible_commands(person, staff_anywhere)]


def command_list(person: Person | None, staff_anywhere: bool, lang: str, prefix: str = "/") -> str:
    return ", ".join(command_word(c, lang, prefix) for c in usable(person, staff_anywhere))


def overview(person: Person | None, staff_anywhere: bool, lang: str) -> str:
    lines = [M_HELP_HEADER(lang)]
    for command in usable(person, staff_anywhere):
        lines.append(f"  {command.syntax(lang)} — {command.summary(lang)}")
    lines.append(M_HELP_FOOTER(lang, help=command_word(cmd.Help, lang)))
    return "\n".join(lines)


def topic(name: str, person: Person | None, staff_anywhere: bool, lang: str) -> str:
    """`/help COMMAND`: its syntax and purpose, what it accepts, who may use it, an example; and,
    for a command this person may not use, what they can use instead."""
    command = cmd.COMMANDS[name]
    if not command.offered:
        return overview(person, staff_anywhere, lang)
    lines = [f"{command.syntax(lang)} — {command.summary(lang)}"]
    if command.details is not None:
        lines.append(command.details(lang))
    lines.append(command.who(lang))
    lines.append(M_HELP_EXAMPLE(lang, usage=command.usage(lang)))
    if name not in authorization.allowed_commands(person, staff_anywhere):
        lines.append(M_HELP_NOT_YOURS(lang, commands=command_list(person, staff_anywhere, lang)))
    return "\n".join(lines)


def not_understood(person: Person | None, staff_anywhere: bool, lang: str) -> str:
    """The answer to a message that is no command ("hallo?")."""
    if person is None:
        return M_NOT_UNDERSTOOD_STRANGER(lang)
    return M_NOT_UNDERSTOOD(
        lang,
        commands=command_list(person, staff_anywhere, lang),
        help=command_word(cmd.Help, lang),
    )


def unknown_command(
    error: cmd.UnknownCommand, person: Person | None, staff_anywhere: bool, lang: str
) -> str:
    """The answer to an unknown command: what this person can use, and the command they may
    have meant when they may use it."""
    prefix = str(error.params.get("prefix", "/"))
    params = {
        "command": error.params.get("command", prefix + error.word),
        "commands": command_list(person, staff_anywhere, lang, prefix),
        "help": command_word(cmd.Help, lang, prefix),
    }
    meant = cmd.COMMAND_WORDS.get(error.meant or "")
    if meant is not None and meant in usable(person, staff_anywhere):
        suggestion = command_word(meant, lang, prefix)
        return M_UNKNOWN_COMMAND_SUGGEST(lang, suggestion=suggestion, **params)
    return M_UNKNOWN_COMMAND(lang, **params)
