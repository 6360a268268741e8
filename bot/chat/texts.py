"""What the chat front end says that only a chat says: help, the answer to a message it does not
understand, the language choice, withdrawals and corrections, and the chat's wording of errors
whose usual text sends the reader to the command line.

Dutch texts that can reach anyone (a stranger, a parent, a pupil) avoid "je" and "u"; texts only
staff or pupils receive say "je" (see "Languages" in README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from babel import UnknownLocaleError
from babel.lists import format_list

from bot.errors import KlasbotError
from bot.i18n import Msg
from bot.messages import (
    M_ANNOUNCEMENT_NOT_FOUND,
    M_CHAT_BOUND_ELSEWHERE,
    M_CLASS_AMBIGUOUS,
    M_CLASS_NOT_FOUND,
)
from bot.rules import kinds

M_HELP_FOOTER = Msg("Send {help} COMMAND for how a command works, with an example.")
M_HELP_EXAMPLE = Msg("Example: {usage}")
M_HELP_NOT_YOURS = Msg("This command is not available to you. You can use: {commands}.")
M_NOT_UNDERSTOOD = Msg(
    "I only understand commands. You can use: {commands}. Send {help} for more, or {help} "
    "COMMAND for one command."
)
M_NOT_UNDERSTOOD_STRANGER = Msg(
    "Hello! I pass on the messages of the class's teachers. First link this account with "
    "/start CODE (the code is in the letter or e-mail from school). Send /help for more."
)
M_UNKNOWN_COMMAND = Msg("I don't know {command}. You can use: {commands}. Send {help} for more.")
M_UNKNOWN_COMMAND_SUGGEST = Msg(
    "I don't know {command}. Did you mean {suggestion}? You can use: {commands}."
)

M_LANGUAGE_SET = Msg("From now on I use {language} in my replies, e-mails and letters to you.")
M_LANGUAGE_IS = Msg(
    "I use {language} with you. Another language: {command} LANGUAGE, with one of: {choices}."
)

M_WITHDRAWN = Msg("Message #{id} has been withdrawn: {what}.")
M_WITHDRAWN_PLAIN = Msg("Message #{id} has been withdrawn.")
M_CORRECTED = Msg("Message #{id} has been corrected: {what}.")
M_CORRECTED_PLAIN = Msg("Message #{id} has been corrected.")
M_UNDO_CANCELLED_ONE = Msg("1 copy that had not gone out yet was cancelled")
M_UNDO_CANCELLED = Msg("{count} copies that had not gone out yet were cancelled")
M_UNDO_GROUP_EDIT_ONE = Msg("the group post is being edited")
M_UNDO_GROUP_EDITS = Msg("{count} group posts are being edited")
M_UNDO_WITHDRAWAL_ONE = Msg("1 e-mail/letter carries the withdrawal")
M_UNDO_WITHDRAWALS = Msg("{count} e-mails/letters carry the withdrawal")
M_UNDO_CORRECTION_ONE = Msg("1 e-mail/letter carries the correction")
M_UNDO_CORRECTIONS = Msg("{count} e-mails/letters carry the correction")

# The chat's wording of errors whose usual text names a `klasbot` command or a command-line
# option: a teacher in a chat cannot run those.
M_CHAT_CLASS_NOT_FOUND = Msg("There is no class {ref!r}. Use the class code, e.g. 2B.")
M_CHAT_CLASS_AMBIGUOUS = Msg(
    "Class code {ref!r} exists at more than one school; use one of these instead: {candidates}."
)
M_CHAT_ANNOUNCEMENT_NOT_FOUND = Msg(
    "There is no message #{ref}. The number is in the confirmation you got when the message "
    "went out."
)
M_CHAT_BOUND_ELSEWHERE_CHAT = Msg(
    "This chat is already the group of a class. If that is wrong, ask the bot's administrator at "
    "school."
)
M_CHAT_MISSING_FIELD = Msg("{title}: '{field_label}' is missing.")
M_CHAT_UNEXPECTED_FIELD = Msg("{title} has no '{field_label}'; leave it out.")
M_CHAT_EMPTY_FIELD = Msg("'{field_label}' is empty.")
M_CHAT_FIELD_TOO_LONG = Msg("'{field_label}' is too long: {length} characters, at most {maximum}.")
M_CHAT_BAD_PERIOD = Msg("Period '{value}' is invalid: give a period like 3 or a range like 3-4.")
M_CHAT_DATE_IN_PAST = Msg("{title}: {date} has already passed; give today or a later date.")

CHAT_WORDING: Mapping[Msg, Msg] = {
    M_CLASS_NOT_FOUND: M_CHAT_CLASS_NOT_FOUND,
    M_CLASS_AMBIGUOUS: M_CHAT_CLASS_AMBIGUOUS,
    M_ANNOUNCEMENT_NOT_FOUND: M_CHAT_ANNOUNCEMENT_NOT_FOUND,
    M_CHAT_BOUND_ELSEWHERE: M_CHAT_BOUND_ELSEWHERE_CHAT,
    kinds.MISSING_FIELD: M_CHAT_MISSING_FIELD,
    kinds.UNEXPECTED_FIELD: M_CHAT_UNEXPECTED_FIELD,
    kinds.EMPTY_FIELD: M_CHAT_EMPTY_FIELD,
    kinds.FIELD_TOO_LONG: M_CHAT_FIELD_TOO_LONG,
    kinds.BAD_PERIOD: M_CHAT_BAD_PERIOD,
    kinds.DATE_IN_PAST: M_CHAT_DATE_IN_PAST,
}
"""An error's usual message → what a chat says instead (same parameters)."""


def error_text(error: KlasbotError, lang: str) -> str:
    """An error as a chat says it, in `lang`."""
    return CHAT_WORDING.get(error.msg, error.msg)(lang, **error.params)


class UndoCounts(Protocol):
    """What a withdrawal or a correction did (`bot.usecases.undo.UndoResult`)."""

    @property
    def cancelled(self) -> int: ...

    @property
    def group_edits(self) -> int: ...

    @property
    def follow_ups(self) -> int: ...


def undo_text(announcement_id: int, result: UndoCounts, lang: str, *, withdrawn: bool) -> str:
    """The answer to `/intrekken` or `/correctie`, with the counts of what happens."""
    parts = []
    if result.cancelled:
        one, many = M_UNDO_CANCELLED_ONE, M_UNDO_CANCELLED
        parts.append(one(lang) if result.cancelled == 1 else many(lang, count=result.cancelled))
    if result.group_edits:
        one, many = M_UNDO_GROUP_EDIT_ONE, M_UNDO_GROUP_EDITS
        parts.append(one(lang) if result.group_edits == 1 else many(lang, count=result.group_edits))
    if result.follow_ups:
        if withdrawn:
            one, many = M_UNDO_WITHDRAWAL_ONE, M_UNDO_WITHDRAWALS
        else:
            one, many = M_UNDO_CORRECTION_ONE, M_UNDO_CORRECTIONS
        parts.append(one(lang) if result.follow_ups == 1 else many(lang, count=result.follow_ups))
    if not parts:
        plain = M_WITHDRAWN_PLAIN if withdrawn else M_CORRECTED_PLAIN
        return plain(lang, id=announcement_id)
    full = M_WITHDRAWN if withdrawn else M_CORRECTED
    return full(lang, id=announcement_id, what=_listed(parts, lang))


def _listed(parts: list[str], lang: str) -> str:
    """`a, b and c` in the reader's language."""
    try:
        return format_list(parts, locale=lang)
    except (UnknownLocaleError, ValueError):  # a language babel does not know
        return ", ".join(parts)
