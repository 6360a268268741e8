"""Parsing one chat message into a typed request (see `bot.commands`)."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.codes import normalize_code
from bot.commands.types import (
    COMMAND_WORDS,
    COMMANDS,
    MAX_ANNOUNCEMENT_ID,
    MAX_PERIOD,
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
from bot.dates import DEFAULT_TIMEZONE, is_day_name, parse_date
from bot.errors import InvalidInput
from bot.i18n import Localized, Msg
from bot.languages import choices, language_from_word
from bot.when import parse_when_prefix

# The first word of a command: prefix, a name that starts with a letter, Telegram's @bot suffix.
_COMMAND_WORD = re.compile(r"[/!]([^\W\d_]\w*)(?:@(\w+))?")
_WORD = re.compile(r"\S+")
_CODE_MAX = 12  # link codes have 10 characters (`bot.usecases.invites.new_code`)
_ORDINAL = r"(?:e|de|ste|st|nd|rd|th)?"
_PERIOD = re.compile(rf"(\d{{1,2}}){_ORDINAL}(?:[-–](\d{{1,2}}){_ORDINAL})?", re.IGNORECASE)
_CANCEL_WORDS = ("annuleer", "annuleren", "cancel")

MSG_UNKNOWN_COMMAND = Msg(
    "I don't know {command}. I understand: {commands}. Send {prefix}help for more."
)
MSG_UNKNOWN_COMMAND_SUGGEST = Msg(
    "I don't know {command}. Did you mean {suggestion}? I understand: {commands}."
)
MSG_THIS_WORKS = Msg("{problem} This works: {usage}")
"""A problem with a command, followed by a working example of it."""
MSG_START_MISSING_CODE = Msg(
    "Put your personal code after {command}. You got that code from school, by e-mail or by letter."
)
MSG_START_ONE_WORD = Msg("A code is one word without spaces; '{extra}' is not part of it.")
MSG_MISSING_CLASS = Msg("The class is missing.")
MSG_CLASS_IS_A_DAY = Msg("'{word}' is a day, not a class: the class comes first.")
MSG_MISSING_DATE = Msg("The date is missing.")
MSG_MISSING_PERIOD = Msg("The period (lesson hour) is missing.")
MSG_BAD_PERIOD = Msg(
    "'{word}' is not a period: use a lesson hour from 1 to {max} (3 or 3rd) or a block (3-4)."
)
MSG_PERIOD_ORDER = Msg(
    "'{word}' runs backwards: the first period comes before the last, as in 3-4."
)
MSG_MISSING_SUBJECT = Msg("The subject is missing.")
MSG_SUBJECT_BEFORE_DATE = Msg(
    "First the subject, then the date: '{date}' is where the subject belongs."
)
MSG_MISSING_TEXT = Msg("The message text is missing.")
MSG_MISSING_REPORT = Msg("Write down what is going on.")
MSG_TOO_MANY_WORDS = Msg("There is more after the command than it takes: '{extra}'.")
MSG_SCHEDULE_BAD_ACTION = Msg(
    "I don't understand '{word}': use 'cancel' with the number from the schedule."
)
MSG_SCHEDULE_MISSING_ID = Msg(
    "The number is missing: put the number from the schedule after '{word}'."
)
MSG_SCHEDULE_BAD_ID = Msg("'{word}' is not a number from the schedule.")
MSG_MISSING_NUMBER = Msg(
    "The message number is missing: it is in the confirmation you got when the message went out."
)
MSG_BAD_NUMBER = Msg(
    "'{word}' is not a message number: use the number from the confirmation you got when the "
    "message went out."
)
MSG_MISSING_CORRECTION = Msg("The corrected text is missing.")
MSG_UNKNOWN_LANGUAGE = Msg("'{word}' is not a language I speak; choose from: {choices}.")


class UnknownCommand(InvalidInput):
    """A message that starts like a command with a word that is no (offered) command. Its own
    text lists every offered command; the chat front end answers with what the sender may use.
    `word` is the word without its prefix, `meant` a close command word (or None)."""

    def __init__(self, msg: Msg, /, *, word: str, meant: str | None, **params: Any) -> None:
        super().__init__(msg, **params)
        self.word = word
        self.meant = meant


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


def not_offered(text: str) -> InvalidInput:
    """The answer to a command the grammar knows but klasbot does not offer yet: the same as to
    an unknown command (nothing is advertised, or answered as if it were, that is not built)."""
    parsed = _split_command_word(text)
    assert parsed is not None
    prefix, word, _, _ = parsed
    return _unknown_command(prefix, word)


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
        usage, prefix = self.command.usage, self.prefix
        return InvalidInput(
            MSG_THIS_WORKS,
            problem=Localized(lambda lang: problem(lang, **params)),
            usage=Localized(lambda lang: prefix + usage(lang)[1:]),
            **params,
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


def _unknown_command(prefix: str, word: str) -> UnknownCommand:
    offered = [cls for cls in COMMANDS.values() if cls.offered]
    names_nl = ", ".join(prefix + cls.name for cls in offered)
    names_en = ", ".join(prefix + cls.english for cls in offered)
    params: dict[str, Any] = {
        "command": prefix + word,
        "prefix": prefix,
        # The command words themselves: the parser knows a Dutch and an English word for each.
        "commands": Localized(lambda lang: names_en if lang == "en" else names_nl),
    }
    words = [w for w, cls in COMMAND_WORDS.items() if cls.offered]
    close = difflib.get_close_matches(word, words, n=1, cutoff=0.7)
    if close:
        params["suggestion"] = prefix + close[0]
        return UnknownCommand(MSG_UNKNOWN_COMMAND_SUGGEST, word=word, meant=close[0], **params)
    return UnknownCommand(MSG_UNKNOWN_COMMAND, word=word, meant=None, **params)


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
    # A code may be typed in groups ("abcd efgh jk"); more than a code's length is other text.
    if len(args) > 1 and len(normalize_code("".join(args.words))) > _CODE_MAX:
        raise ctx.invalid(MSG_START_ONE_WORD, extra=args.rest(1))
    return Start(code=" ".join(args.words))


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


def _announcement_id(args: _Args, ctx: _Context) -> int:
    if not args.words:
        raise ctx.invalid(MSG_MISSING_NUMBER)
    word = args.words[0]
    number = word.removeprefix("#")
    if not (number.isascii() and number.isdigit()) or not 0 < int(number) <= MAX_ANNOUNCEMENT_ID:
        raise ctx.invalid(MSG_BAD_NUMBER, word=word)
    return int(number)


def _parse_withdraw(args: _Args, ctx: _Context) -> Withdraw:
    number = _announcement_id(args, ctx)
    return Withdraw(number, args.rest(1) or None)


def _parse_correct(args: _Args, ctx: _Context) -> Correct:
    number = _announcement_id(args, ctx)
    return Correct(number, _required_text(args, 1, ctx, MSG_MISSING_CORRECTION))


def _parse_language(args: _Args, ctx: _Context) -> Language:
    if not args.words:
        return Language()
    language = language_from_word(args.words[0])
    if language is None:
        raise ctx.invalid(MSG_UNKNOWN_LANGUAGE, word=args.words[0], choices=Localized(choices))
    _no_more(args, 1, ctx)
    return Language(language)


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
    Withdraw: _parse_withdraw,
    Correct: _parse_correct,
    Language: _parse_language,
    Bind: _parse_bind,
    Report: _parse_report,
    Escalate: _parse_escalate,
    Help: _parse_help,
}
