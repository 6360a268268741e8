"""Logging for the command line: the level the admin asks for, and no secret or personal data in
any line.

Libraries log what they send (the HTTP client logs every request URL, and a Telegram bot's URL
holds its token), so redaction happens on the handler, for every logger and every level:
- the configured secrets by value, and anything shaped like a bot token or a `/start CODE`;
- e-mail addresses by their shape → `[e-mail]`;
- link codes by their shape (ten characters of the code alphabet, `bot.usecases.invites.new_code`,
  in upper case as klasbot writes them, optionally as two groups of five joined by a dash) →
  `[redacted]`. In lower case a code cannot be told from an ordinary word (`statements` could
  be one), so a lower-case code is caught only after `/start`;
- Dutch postal codes (`1234 AB`) and the roster's postal codes and street names → `[address]`;
- the roster's names (given, preferred, middle and family names without their tussenvoegsels,
  words of three letters or more: `bot.log_tokens`) as whole words in any case → `[name]`.
  The registry is loaded from the database when the app is built (`bot.bootstrap.build`) and
  after a roster import; it is a set of lower-case words, and a line is cut into words by one
  regular expression, so its cost does not grow with the roster. A name that is also an English
  word (`Post`, `Will`) is redacted wherever it stands: a log line may lose a word, never a name.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.domain import Person
from bot.log_tokens import MIN_LETTERS, persons_tokens, postal_token

REDACTED = "[redacted]"
EMAIL = "[e-mail]"
ADDRESS = "[address]"
NAME = "[name]"
# A Telegram bot token: the bot's numeric id, a colon, and a secret of letters, digits, _ and -.
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{20,}")
# A link code after `/start`, `!start` or a deep link's `start=`: the chat libraries log incoming
# updates at DEBUG, and a code is never logged (it links whoever reads it).
_LINK_CODE = re.compile(
    r"(?i)((?:[/!]start(?:@\w+)?[ \t]+|[?&/]start=))[A-Za-z0-9][A-Za-z0-9 \t-]*"
)
_CODE_CHAR = "[ABCDEFGHJKMNPQRSTUVWXYZ23456789]"
# One pass over the line: every e-mail address, code-shaped string, postal code and word. An
# address's local part is at most 64 characters (RFC 5321) of those in use (`o'brien+school`),
# and no part gives characters back: a long run of symbols costs a bounded look at each place.
# `KEY@klasbot.eml` is the file of a message in the mail outbox (its Message-ID), no address. A
# code has a letter (ten digits are a platform's user id; a code without one is one in a million).
_TOKENS = re.compile(
    r"(?P<email>[\w.%+'-]{1,64}+@(?!klasbot\.eml(?![\w.-]))[\w-]++(?:\.[\w-]++)++)"
    r"|(?P<code>(?<![A-Za-z0-9])(?=[2-9-]*[A-Z])"
    rf"{_CODE_CHAR}{{5}}-?{_CODE_CHAR}{{5}}(?![A-Za-z0-9]))"
    r"|(?P<postal>(?<![A-Za-z0-9])[1-9][0-9]{3}[ \t]?[A-Za-z]{2}(?![A-Za-z0-9]))"
    rf"|(?P<word>[^\W\d_]{{{MIN_LETTERS},}})"
)


class RedactingFilter(logging.Filter):
    """Replaces every known secret (and every token-shaped string), every e-mail address, link
    code, postal address and roster name in a record's text."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._names: frozenset[str] = frozenset()
        self._addresses: frozenset[str] = frozenset()
        # Persons whose tokens are made when a line is first redacted (`add_persons`); the
        # lock keeps a line logged by another thread meanwhile from passing without them.
        self._pending: list[Sequence[Person]] = []
        self._settling = threading.Lock()

    def add(self, secrets: Iterable[str | None]) -> None:
        # Very short values would redact ordinary words; no real secret is that short.
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def set_roster(self, names: Iterable[str], addresses: Iterable[str]) -> None:
        """The roster's name and address tokens (`bot.log_tokens`), replacing the earlier ones."""
        self._names = frozenset(names)
        self._addresses = frozenset(addresses)
        self._pending = []

    def add_roster(self, names: Iterable[str], addresses: Iterable[str]) -> None:
        """More name and address tokens (a roster about to be imported), besides the known ones."""
        self._names = self._names | frozenset(names)
        self._addresses = self._addresses | frozenset(addresses)

    def add_persons(self, persons: Sequence[Person]) -> None:
        """The names and addresses of `persons` (a roster read from its files), besides the
        known ones. Their tokens are made when the next line is redacted: a big roster's take a
        fifth of a second, and an import that logs nothing needs none."""
        with self._settling:
            self._pending.append(persons)

    def _settle(self) -> None:
        """The tokens of the persons `add_persons` was given, added."""
        with self._settling:
            for persons in self._pending:
                self.add_roster(*persons_tokens(persons))
            self._pending = []

    def _replace(self, match: re.Match[str]) -> str:
        kind = match.lastgroup
        text = match.group()
        if kind == "word":
            word = text.casefold()
            if word in self._names:
                return NAME
            return ADDRESS if word in self._addresses else text
        if kind == "email":
            return EMAIL
        if kind == "code":
            return REDACTED
        # A postal code: any in the `1234 AB` shape, and the roster's own in any case.
        letters = text[-2:]
        if letters.isupper() or postal_token(text) in self._addresses:
            return ADDRESS
        return text

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = _LINK_CODE.sub(r"\1" + REDACTED, _BOT_TOKEN.sub(REDACTED, text))
        if self._pending:
            self._settle()
        if not text.isascii():
            # `Zoë` typed as `Zoe` and a combining diaeresis is the same word as the roster's.
            text = unicodedata.normalize("NFC", text)
        return _TOKENS.sub(self._replace, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


redactor = RedactingFilter()


TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`log.format = "json"`, for a log collector): `time` (ISO 8601,
    UTC), `level`, `logger`, `message`, and `exc_info` / `stack_info` when the record has them.
    It formats what the handler's `redactor` left: the message and the exception's text are
    redacted before they get here (`configure` puts the filter on every handler)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = redactor.redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def use_format(log_format: str) -> None:
    """Write every log line as `log_format` ("text" or "json") from now on: the formatter of
    every root handler that redacts (`configure`)."""
    for handler in logging.getLogger().handlers:
        if redactor not in handler.filters:
            continue
        if log_format == "json" and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
        elif log_format != "json" and isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(logging.Formatter(TEXT_FORMAT))


# klasbot's own packages; every other logger belongs to a library.
OWN_LOGGERS = ("bot", "adapters", "storage", "config", "migrations")


def configure(verbosity: int) -> None:
    """`-v`: what happens (INFO, klasbot's and the libraries'); `-vv`: klasbot's own DEBUG lines
    too. Libraries stay at INFO even then: their DEBUG output holds what they carry — message
    texts, SQL parameters, e-mail addresses — and no log line may hold personal data. Without
    either, warnings only."""
    level = logging.INFO if verbosity >= 1 else logging.WARNING
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    own = logging.DEBUG if verbosity >= 2 else level
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for handler in logging.getLogger().handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
