"""What each configuration key accepts: one rule per kind of value (a whole number in a range,
seconds, an address, a URL, a time window, kinds, …), each with the message that says what is
allowed. `config.settings` builds its models from these types; a refused value raises `_Invalid`,
which `load_settings` turns into one line naming the key."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, GetCoreSchemaHandler
from pydantic_core import core_schema
from pydantic_settings import NoDecode
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain import Kind
from bot.errors import InvalidInput
from bot.i18n import LANGUAGES, Msg, available_languages
from bot.rules.content import PublicContacts

ENGLISH = "en"
M_UNKNOWN_KIND = Msg("unknown kind {kind!r}; kinds: {kinds}")
M_NO_CATALOGUE = Msg("no catalogue for language {value!r}; languages: {languages}")
M_UNKNOWN_ZONE = Msg("unknown time zone {value!r} (e.g. Europe/Amsterdam)")

# What each kind of key allows: the `problem` of every refusal of a key of that kind.
M_WHOLE = Msg("must be a whole number from {low} to {high}")
M_WHOLE_OR_OFF = Msg("must be a whole number from {low} to {high}, or off")
M_SECONDS = Msg("must be a number of seconds greater than 0 and at most {high}")
M_RATE = Msg("must be a number greater than 0 and at most {high}")
M_RATE_OR_NONE = Msg("must be a number greater than 0 and at most {high}, or empty for none")
M_ONE_OF = Msg("must be one of: {choices}")
M_TRUE_OR_FALSE = Msg("must be true or false")
M_TEXT = Msg("must be text on one line")
M_DIRECTORY = Msg("must be a directory path")
M_CLOCK_TIME = Msg("must be a time HH:MM, e.g. 06:30")
M_WINDOW = Msg("must be HH:MM-HH:MM, e.g. 21:00-07:00, or empty for none")
M_KINDS = Msg("must be kinds from: {kinds}")
M_SOME_KINDS = Msg("must name at least one kind from: {kinds}")
M_URGENT_NOT_ALLOWED = Msg("urgent kind {kind!r} is not among school.allowed_kinds ({allowed})")
M_BOARD_ONLY = Msg("is the board's alone (one for the whole installation): set it in [school]")
M_LANGUAGES = Msg("must be a language with a catalogue: {languages}")
M_ZONE = Msg("must be an IANA time zone, e.g. Europe/Amsterdam")
M_ADDRESS = Msg("must be an e-mail address, e.g. info@school.example")
M_ADDRESS_OR_NONE = Msg("must be an e-mail address, e.g. info@school.example, or empty for none")
M_ADDRESSES = Msg("must be e-mail addresses, comma-separated; {item!r} is not one")
M_CONTACTS = Msg(
    "must be phone numbers, e-mail addresses, @domains or IBANs, comma-separated; "
    "{item!r} is none of them"
)
M_HOST = Msg("must be a host name or IP address, e.g. smtp.school.example")
M_URL = Msg("must be an http:// or https:// URL, e.g. {example}")
M_URL_OR_NONE = Msg("must be an http:// or https:// URL, e.g. {example}, or empty for none")
M_WEBHOOK_NEEDS_URL = Msg("required when telegram.mode is webhook (an http:// or https:// URL)")
M_DATABASE_URL = Msg(
    "must be an SQLAlchemy URL with a driver klasbot supports ({drivers}), "
    "e.g. sqlite+aiosqlite:///./klasbot-data/klasbot.db"
)
M_TELEGRAM_TOKEN = Msg("must be a bot token from @BotFather, like 123456:ABC-def")
M_WEBHOOK_SECRET = Msg("must be 1 to 256 characters A-Z, a-z, 0-9, _ or -")
M_MATRIX_USER = Msg("must be a Matrix user id, e.g. @klasbot:school.example")
M_TELEGRAM_USERNAME = Msg(
    "must be the bot's Telegram username: 5 to 32 characters A-Z, a-z, 0-9 or _, ending in bot, "
    "e.g. passie_klas_bot, or empty"
)
M_ROOM_VERSION = Msg("must be a Matrix room version klasbot supports ({versions}), or empty")
M_LESSON_HOURS = Msg(
    "must be HH:MM-HH:MM periods, comma-separated, e.g. 08:30-16:00, or empty for none"
)
M_HOLIDAYS = Msg(
    "must be holiday periods START/END Name (dates YYYY-MM-DD), comma-separated, "
    "e.g. 2026-10-17/2026-10-25 Herfstvakantie; {item!r} is not one"
)
M_MONTH_DAY = Msg("must be a day of the year MM-DD that exists every year, e.g. 07-31")
M_DURATION = Msg("must be a duration greater than 0 and at most {high}, e.g. 90s, 30m, 1h or 1d")
M_NOT_BEFORE = Msg("must be at least {other} ({low})")
M_TABLE = Msg("{section}: must be a table of keys ([{section}] in the file) (got {value!r})")

DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
"""The SQLAlchemy drivers klasbot's storage runs on."""
ROOM_VERSIONS = ("11", "12")
"""The Matrix room versions klasbot's rooms are built for."""

_WHOLE = re.compile(r"\s*[+-]?\d{1,30}\s*")
_TIME = re.compile(r"\s*\d{1,2}:\d{2}\s*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,200}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MATRIX_USER = re.compile(r"@[a-z0-9._=/+-]+:[^\s:]+(?::\d{1,5})?", re.IGNORECASE)
# Telegram's rule for a bot's username: 5-32 characters of A-Z, a-z, 0-9 and _, ending in "bot".
_TELEGRAM_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,28}bot", re.IGNORECASE)
_OFF = {"", "off", "none", "false"}


class _Invalid(ValueError):
    """A value a validator refuses, with klasbot's own message (pydantic keeps the exception in
    the error's context, so that the message can be said in the reader's language). `key`
    names the key it is about when a check of a whole section refuses it."""

    def __init__(self, msg: Msg, /, key: str | None = None, **params: Any) -> None:
        self.msg = msg
        self.key = key
        self.params = params
        super().__init__(msg(ENGLISH, **params))


@dataclass(frozen=True)
class Allowed:
    """What a key accepts, said in the reader's language."""

    msg: Msg
    params: tuple[tuple[str, Any], ...] = ()

    def __call__(self, lang: str) -> str:
        return self.msg(lang, **dict(self.params))


@dataclass(frozen=True)
class Rule:
    """A key's rule: what it accepts (`allowed`, the `problem` of any refusal of the key that has
    no message of its own, such as a wrong type in the TOML file) and the check that holds a
    value to it before pydantic converts it (raising `_Invalid`)."""

    allowed: Allowed
    check: Callable[[Any], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return BeforeValidator(self.check).__get_pydantic_core_schema__(source, handler)


def _allowed(msg: Msg, /, **params: Any) -> Allowed:
    return Allowed(msg, tuple(params.items()))


def _refuse(allowed: Allowed) -> NoReturn:
    raise _Invalid(allowed.msg, **dict(allowed.params))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _whole(low: int, high: int, *, off: bool = False) -> Rule:
    """A whole number from `low` to `high` (with `off`: or None, written off/none/false/empty)."""
    allowed = _allowed(M_WHOLE_OR_OFF if off else M_WHOLE, low=low, high=high)

    def check(value: Any) -> int | None:
        if off and (value is False or _empty(value)):
            return None
        if off and isinstance(value, str) and value.strip().lower() in _OFF:
            return None
        if isinstance(value, str) and _WHOLE.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            _refuse(allowed)
        return value

    return Rule(allowed, check)


def _positive(high: float, msg: Msg = M_SECONDS, *, optional: bool = False) -> Rule:
    """A number greater than 0 and at most `high` (with `optional`: or None, written empty)."""
    allowed = _allowed(msg, high=high)

    def check(value: Any) -> float | None:
        if optional and _empty(value):
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                _refuse(allowed)
        if isinstance(value, bool) or not isinstance(value, int | float):
            _refuse(allowed)
        if not (math.isfinite(value) and 0 < value <= high):
            _refuse(allowed)
        return float(value)

    return Rule(allowed, check)


def _choice(*choices: str) -> Rule:
    allowed = _allowed(M_ONE_OF, choices=", ".join(choices))

    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in choices:
            _refuse(allowed)
        return value.strip().lower()

    return Rule(allowed, check)


def _pattern(regex: re.Pattern[str], msg: Msg) -> Rule:
    """Text of the form `regex`, or None (written empty)."""
    allowed = _allowed(msg)

    def check(value: Any) -> str | None:
        if _empty(value):
            return None
        if not isinstance(value, str) or not regex.fullmatch(value):
            _refuse(allowed)
        return value

    return Rule(allowed, check)


def _url(example: str, *, optional: bool = False) -> Rule:
    """An http:// or https:// URL with a host (with `optional`: or None, written empty)."""
    allowed = _allowed(M_URL_OR_NONE if optional else M_URL, example=example)

    def check(value: Any) -> str | None:
        if optional and _empty(value):
            return None
        if not isinstance(value, str) or any(c.isspace() for c in value):
            _refuse(allowed)
        try:
            parts = urlsplit(value)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            _refuse(allowed)
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            _refuse(allowed)
        return value

    return Rule(allowed, check)


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _one_line(value: Any) -> bool:
    return isinstance(value, str) and not any(ord(c) < 32 or ord(c) == 127 for c in value)


def _text(value: Any) -> Any:
    if isinstance(value, str) and not _one_line(value):
        _refuse(_allowed(M_TEXT))
    return value


def _optional_text(value: Any) -> Any:
    return None if _empty(value) else _text(value)


def _text_lines(value: Any) -> Any:
    value = _split_commas(value)
    if isinstance(value, list):
        for line in value:
            _text(line)
    return value


def _directory(value: Any) -> Any:
    if isinstance(value, Path):
        value = str(value)
    if _empty(value) or not _one_line(value):
        _refuse(_allowed(M_DIRECTORY))
    return value


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "on", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "no", "off", "0"}:
        return False
    _refuse(_allowed(M_TRUE_OR_FALSE))


def is_address(value: str) -> bool:
    """A plain e-mail address (`name@school.example`): strict, but no more than that."""
    return len(value) <= 254 and _ADDRESS.fullmatch(value) is not None


def _address(value: Any) -> Any:
    if not isinstance(value, str) or not is_address(value.strip()):
        _refuse(_allowed(M_ADDRESS))
    return value.strip()


def _optional_address(value: Any) -> Any:
    if _empty(value):
        return None
    if not isinstance(value, str) or not is_address(value.strip()):
        _refuse(_allowed(M_ADDRESS_OR_NONE))
    return value.strip()


def _addresses(value: Any) -> Any:
    value = _split_commas(value)
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str) or not is_address(item.strip()):
                raise _Invalid(M_ADDRESSES, item=item)
        return [item.strip() for item in value]
    return value


def _contacts(value: Any) -> Any:
    value = _split_commas(value)
    if isinstance(value, list):
        for item in value:
            try:
                PublicContacts.parse([item])
            except (ValueError, AttributeError):
                raise _Invalid(M_CONTACTS, item=item) from None
        return [item.strip() for item in value]
    return value


def _host(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value.strip("[]"))
            return value
        except ValueError:
            if len(value) <= 253 and _HOST.fullmatch(value):
                return value
    _refuse(_allowed(M_HOST))


def _clock_time(value: Any) -> Any:
    if isinstance(value, str) and _TIME.fullmatch(value):
        hour, minute = (int(part) for part in value.strip().split(":"))
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    _refuse(_allowed(M_CLOCK_TIME))


def _window(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return ""
        start, dash, end = value.replace("\u2013", "-").partition("-")
        if dash and _TIME.fullmatch(start) and _TIME.fullmatch(end):
            try:
                return f"{_clock_time(start)}-{_clock_time(end)}"
            except _Invalid:
                pass
    _refuse(_allowed(M_WINDOW))


def _kinds(at_least_one: bool) -> Rule:
    known = [k.value for k in Kind]
    allowed = _allowed(M_SOME_KINDS if at_least_one else M_KINDS, kinds=", ".join(known))

    def check(value: Any) -> Any:
        value = _split_commas(value)
        if not isinstance(value, list):
            _refuse(allowed)
        for kind in value:
            if kind not in known:
                raise _Invalid(M_UNKNOWN_KIND, kind=kind, kinds=", ".join(known))
        if at_least_one and not value:
            _refuse(allowed)
        return value

    return Rule(allowed, check)


def _language(value: Any) -> Any:
    # Adding a language is adding a catalogue (bot/locale/<lang>/LC_MESSAGES/klasbot.po).
    languages = available_languages()
    if value not in languages:
        raise _Invalid(M_NO_CATALOGUE, value=value, languages=", ".join(languages))
    return value


def _zone(value: Any) -> Any:
    if not isinstance(value, str):
        _refuse(_allowed(M_ZONE))
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise _Invalid(M_UNKNOWN_ZONE, value=value) from exc
    return value


def _database_url(value: Any) -> Any:
    allowed = _allowed(M_DATABASE_URL, drivers=", ".join(DRIVERS))
    if not isinstance(value, str):
        _refuse(allowed)
    try:
        url = make_url(value)
        port_ok = url.port is None or 0 < url.port < 65536
    except (ArgumentError, ValueError):
        _refuse(allowed)
    if url.drivername not in DRIVERS or not port_ok:
        _refuse(allowed)
    return value


def _telegram_username(value: Any) -> Any:
    """A bot's username as Telegram shows it, with or without the `@` (kept without)."""
    if _empty(value):
        return None
    name = value.strip().removeprefix("@") if isinstance(value, str) else None
    if name is None or not _TELEGRAM_USERNAME.fullmatch(name):
        _refuse(_allowed(M_TELEGRAM_USERNAME))
    return name


def _room_version(value: Any) -> Any:
    if _empty(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value not in ROOM_VERSIONS:
        _refuse(_allowed(M_ROOM_VERSION, versions=", ".join(ROOM_VERSIONS)))
    return value


def _lesson_hours(value: Any) -> Any:
    from bot.rules.lesson_hours import LessonHours

    if isinstance(value, str):
        try:
            LessonHours.parse(value)
            return value.strip()
        except InvalidInput:
            pass
    _refuse(_allowed(M_LESSON_HOURS))


def _holidays(value: Any) -> Any:
    from bot.rules.school_calendar import parse_holiday

    value = _split_commas(value)
    if not isinstance(value, list):
        _refuse(_allowed(M_HOLIDAYS, item=value))
    for item in value:
        try:
            if not isinstance(item, str):
                raise InvalidInput(M_TEXT)
            parse_holiday(item)
        except InvalidInput:
            _refuse(_allowed(M_HOLIDAYS, item=item))
    return value


def _month_day(value: Any) -> Any:
    from bot.rules.school_calendar import parse_year_end

    if isinstance(value, str):
        try:
            month, day = parse_year_end(value)
            return f"{month:02d}-{day:02d}"
        except InvalidInput:
            pass
    _refuse(_allowed(M_MONTH_DAY))


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: Any) -> float | None:
    """`90s`, `30m`, `1h`, `1d`, `1h30m` or a plain number of seconds → seconds; None if not."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace(" ", "")
    if _WHOLE.fullmatch(text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def _duration(high: float, label: str) -> Rule:
    allowed = _allowed(M_DURATION, high=label)

    def check(value: Any) -> float:
        seconds = parse_duration(value)
        if seconds is None or not 0 < seconds <= high or math.isnan(seconds):
            _refuse(allowed)
        return seconds

    return Rule(allowed, check)


Port = Annotated[int, _whole(1, 65535)]
OptionalPort = Annotated[int | None, _whole(1, 65535, off=True)]
MinAge = Annotated[int, _whole(13, 21)]
EmailAge = Annotated[int | None, _whole(12, 21, off=True)]
InviteDays = Annotated[int, _whole(1, 365)]
RetentionYears = Annotated[int, _whole(0, 30)]
DeliveryDays = Annotated[int, _whole(1, 10)]
"""Working days a letter takes from the office to the letterbox."""
BatchSize = Annotated[int, _whole(1, 10000)]
Attempts = Annotated[int, _whole(1, 100)]
Burst = Annotated[int, _whole(1, 1000)]
Timeout = Annotated[float, _positive(3600)]
LongPoll = Annotated[float, _positive(300)]
Delay = Annotated[float, _positive(86400)]
LongDelay = Annotated[float, _positive(7 * 86400)]
Rate = Annotated[float, _positive(1000, M_RATE)]
OptionalRate = Annotated[float | None, _positive(1000, M_RATE_OR_NONE, optional=True)]
Connections = Annotated[int, _whole(1, 32)]
LogFormat = Annotated[Literal["text", "json"], _choice("text", "json")]
MailTransport = Annotated[Literal["file", "smtp"], _choice("file", "smtp")]
SmtpSecurity = Annotated[Literal["none", "starttls", "tls"], _choice("none", "starttls", "tls")]
TelegramMode = Annotated[Literal["polling", "webhook"], _choice("polling", "webhook")]
TelegramToken = Annotated[str | None, _pattern(_TOKEN, M_TELEGRAM_TOKEN)]
WebhookSecret = Annotated[str | None, _pattern(_SECRET_TOKEN, M_WEBHOOK_SECRET)]
MatrixUser = Annotated[str | None, _pattern(_MATRIX_USER, M_MATRIX_USER)]
TelegramUsername = Annotated[str | None, Rule(_allowed(M_TELEGRAM_USERNAME), _telegram_username)]
BotApiUrl = Annotated[str, _url("https://api.telegram.org/bot")]
BotFileUrl = Annotated[str, _url("https://api.telegram.org/file/bot")]
WebhookUrl = Annotated[str | None, _url("https://bot.school.example/telegram", optional=True)]
Homeserver = Annotated[str | None, _url("https://matrix.school.example", optional=True)]
RoomVersion = Annotated[
    str | None, Rule(_allowed(M_ROOM_VERSION, versions=", ".join(ROOM_VERSIONS)), _room_version)
]
Zone = Annotated[str, Rule(_allowed(M_ZONE), _zone)]
Language = Annotated[str, Rule(_allowed(M_LANGUAGES, languages=", ".join(LANGUAGES)), _language)]
Window = Annotated[str, Rule(_allowed(M_WINDOW), _window)]
ClockTime = Annotated[str, Rule(_allowed(M_CLOCK_TIME), _clock_time)]
DatabaseUrl = Annotated[
    str, Rule(_allowed(M_DATABASE_URL, drivers=", ".join(DRIVERS)), _database_url)
]
Flag = Annotated[bool, Rule(_allowed(M_TRUE_OR_FALSE), _bool)]
Text = Annotated[str, Rule(_allowed(M_TEXT), _text)]
OptionalText = Annotated[str | None, Rule(_allowed(M_TEXT), _optional_text)]
Directory = Annotated[Path, Rule(_allowed(M_DIRECTORY), _directory)]
TextList = Annotated[list[str], NoDecode, Rule(_allowed(M_TEXT), _text_lines)]
Address = Annotated[str, Rule(_allowed(M_ADDRESS), _address)]
OptionalAddress = Annotated[str | None, Rule(_allowed(M_ADDRESS_OR_NONE), _optional_address)]
Addresses = Annotated[list[str], NoDecode, Rule(_allowed(M_ADDRESS), _addresses)]
Contacts = Annotated[list[str], NoDecode, Rule(_allowed(M_CONTACTS, item=""), _contacts)]
Host = Annotated[str, Rule(_allowed(M_HOST), _host)]
Kinds = Annotated[list[str], NoDecode, _kinds(at_least_one=False)]
SomeKinds = Annotated[list[str], NoDecode, _kinds(at_least_one=True)]
LessonHoursSpec = Annotated[str, Rule(_allowed(M_LESSON_HOURS), _lesson_hours)]
Holidays = Annotated[list[str], NoDecode, Rule(_allowed(M_HOLIDAYS, item=""), _holidays)]
MonthDay = Annotated[str, Rule(_allowed(M_MONTH_DAY), _month_day)]
Grace = Annotated[float, _duration(7 * 86400, "7d")]
Interval = Annotated[float, _duration(366 * 86400, "366d")]
MaxSchedules = Annotated[int, _whole(1, 1000)]
