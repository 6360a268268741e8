"""Logging for the command line: the level the admin asks for, and no secret in any line.

Libraries log what they send (the HTTP client logs every request URL, and a Telegram bot's URL
holds its token), so redaction happens on the handler, for every logger and every level: the
configured secrets by value, and anything shaped like a bot token or a `/start CODE` by pattern."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# A Telegram bot token: the bot's numeric id, a colon, and a secret of letters, digits, _ and -.
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{20,}")
# A link code after `/start`, `!start` or a deep link's `start=`: the chat libraries log incoming
# updates at DEBUG, and a code is never logged (it links whoever reads it).
_LINK_CODE = re.compile(
    r"(?i)((?:[/!]start(?:@\w+)?[ \t]+|[?&/]start=))[A-Za-z0-9][A-Za-z0-9 \t-]*"
)


class RedactingFilter(logging.Filter):
    """Replaces every known secret (and every token-shaped string) in a record's text."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secrets: Iterable[str | None]) -> None:
        # Very short values would redact ordinary words; no real secret is that short.
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _LINK_CODE.sub(r"\1" + REDACTED, _BOT_TOKEN.sub(REDACTED, text))

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


# klasbot's own packages; every other logger belongs to a library.
OWN_LOGGERS = ("bot", "adapters", "storage", "config", "migrations")


def configure(verbosity: int) -> None:
    """`-v`: what happens (INFO, klasbot's and the libraries'); `-vv`: klasbot's own DEBUG lines
    too. Libraries stay at INFO even then: their DEBUG output holds what they carry — message
    texts, SQL parameters, e-mail addresses — and no log line may hold personal data. Without
    either, warnings only."""
    level = logging.INFO if verbosity >= 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    own = logging.DEBUG if verbosity >= 2 else level
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for handler in logging.getLogger().handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
