"""Typed configuration: a TOML file overridden by `KLASBOT_<SECTION>__<KEY>` environment variables.

Loaded once by the bootstrap and passed in; adapters never read `os.environ` themselves.
Unknown keys are an error, wherever they come from, and secrets come only from the environment.
What is wrong with a configuration is said in the language it asks for (see `ConfigError`).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, core_schema
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain import Kind
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Localized, Msg, available_languages
from bot.rules.content import PublicContacts

DEFAULT_CONFIG_FILE = "klasbot.toml"
ENV_PREFIX = "KLASBOT_"
# Variables with this prefix belong to the test suite, not to the application.
TEST_ENV_PREFIX = "KLASBOT_TEST_"
CLOCK_ENV = "KLASBOT_NOW"
LANGUAGE_ENV = f"{ENV_PREFIX}SCHOOL__LANGUAGE"
ENGLISH = "en"
"""The language of `str()` of a ConfigError (logs and code are English)."""

M_UNKNOWN_KIND = Msg("unknown kind {kind!r}; kinds: {kinds}")
M_NO_CATALOGUE = Msg("no catalogue for language {value!r}; languages: {languages}")
M_UNKNOWN_ZONE = Msg("unknown time zone {value!r} (e.g. Europe/Amsterdam)")
M_UNKNOWN_VARIABLE = Msg("unknown configuration variable {name} (see the README's key list)")
M_SECRET_IN_FILE = Msg("{path}: [{section}] {key} is a secret; set it in the environment as {env}")
M_UNKNOWN_KEY = Msg("unknown key {key!r}")
# `problem` says what the key allows, in the reader's language.
M_BAD_VALUE = Msg("{key} ({env}): {problem} (got {value!r})")
# Without the value: a secret's is never repeated, not even in an error, and a missing one has none.
M_BAD_KEY = Msg("{key} ({env}): {problem}")
M_INVALID_IN_FILE = Msg("invalid configuration in {path} or the environment: {problems}")
M_INVALID_IN_ENV = Msg("invalid configuration in the environment: {problems}")
M_NO_FILE = Msg("configuration file {path} does not exist")
# `error` is the TOML parser's own (English) description, with its line and column.
M_NOT_TOML = Msg("{path}: not valid TOML: {error}")
M_CLOCK_NOT_ISO = Msg("{name}={value!r} is not an ISO 8601 instant")
M_CLOCK_NO_OFFSET = Msg("{name}={value!r} needs an offset, e.g. 2026-11-23T08:00:00+01:00")

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
M_ROOM_VERSION = Msg("must be a Matrix room version klasbot supports ({versions}), or empty")
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
_OFF = {"", "off", "none", "false"}


class ConfigError(Exception):
    """A configuration problem; the message names the key and where it came from.

    It carries a `Msg` and its parameters: `render(lang)` says it in `lang`, `str()` in English
    (for logs and code). `lang` is the language to tell it in: the one the configuration asks
    for, as far as that could be read, else Dutch (set by `load_settings`)."""

    def __init__(self, msg: Msg, /, **params: Any) -> None:
        self.msg = msg
        self.params = params
        self.lang = DEFAULT_LANGUAGE
        super().__init__(msg(ENGLISH, **params))

    def render(self, lang: str | None = None) -> str:
        """The message in `lang`, or else in the language the configuration asks for."""
        return self.msg(self.lang if lang is None else lang, **self.params)


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


def _room_version(value: Any) -> Any:
    if _empty(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value not in ROOM_VERSIONS:
        _refuse(_allowed(M_ROOM_VERSION, versions=", ".join(ROOM_VERSIONS)))
    return value


Port = Annotated[int, _whole(1, 65535)]
MinAge = Annotated[int, _whole(13, 21)]
EmailAge = Annotated[int | None, _whole(12, 21, off=True)]
InviteDays = Annotated[int, _whole(1, 365)]
BatchSize = Annotated[int, _whole(1, 10000)]
Attempts = Annotated[int, _whole(1, 100)]
Burst = Annotated[int, _whole(1, 1000)]
Timeout = Annotated[float, _positive(3600)]
LongPoll = Annotated[float, _positive(300)]
Delay = Annotated[float, _positive(86400)]
LongDelay = Annotated[float, _positive(7 * 86400)]
Rate = Annotated[float, _positive(1000, M_RATE)]
OptionalRate = Annotated[float | None, _positive(1000, M_RATE_OR_NONE, optional=True)]
MailTransport = Annotated[Literal["file", "smtp"], _choice("file", "smtp")]
SmtpSecurity = Annotated[Literal["none", "starttls", "tls"], _choice("none", "starttls", "tls")]
TelegramMode = Annotated[Literal["polling", "webhook"], _choice("polling", "webhook")]
TelegramToken = Annotated[str | None, _pattern(_TOKEN, M_TELEGRAM_TOKEN)]
WebhookSecret = Annotated[str | None, _pattern(_SECRET_TOKEN, M_WEBHOOK_SECRET)]
MatrixUser = Annotated[str | None, _pattern(_MATRIX_USER, M_MATRIX_USER)]
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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SchoolSettings(_Section):
    name: Text = ""
    timezone: Zone = "Europe/Amsterdam"
    language: Language = "nl"
    quiet_hours: Window = "21:00-07:00"
    urgent_from: ClockTime = "06:30"
    urgent_kinds: Kinds = Field(default_factory=lambda: ["lesson-cancelled"])
    allowed_kinds: SomeKinds = Field(
        default_factory=lambda: ["lesson-cancelled", "homework", "reminder", "trip"]
    )
    # The school may switch pupils' own e-mail off: "off", "none", "" or false.
    pupil_email_from_age: EmailAge = 16
    leadership_emails: Addresses = Field(default_factory=list)
    # The school's own phone numbers, addresses or @domains and IBANs: allowed in announcements.
    public_contacts: Contacts = Field(default_factory=list)
    invite_valid_days: InviteDays = 14
    reply_to: OptionalAddress = None

    @model_validator(mode="after")
    def _urgent_kinds_are_allowed(self) -> SchoolSettings:
        for kind in self.urgent_kinds:
            if kind not in self.allowed_kinds:
                raise _Invalid(
                    M_URGENT_NOT_ALLOWED,
                    key="urgent_kinds",
                    kind=kind,
                    allowed=", ".join(self.allowed_kinds),
                )
        return self


class MailSettings(_Section):
    transport: MailTransport = "file"
    outbox_dir: Directory = Path("./klasbot-data/outbox")
    smtp_host: Host = "localhost"
    smtp_port: Port = 25
    smtp_security: SmtpSecurity = "none"
    smtp_username: OptionalText = None
    smtp_password: OptionalText = None
    smtp_timeout: Timeout = 30.0
    from_: Address = Field(default="klasbot@school.example", alias="from")
    batch_size: BatchSize = 100


class PostSettings(_Section):
    letters_dir: Directory = Path("./klasbot-data/letters")
    letterhead: TextList = Field(default_factory=list)
    return_address: OptionalText = None


class TelegramSettings(_Section):
    token: TelegramToken = None
    base_url: BotApiUrl = "https://api.telegram.org/bot"
    # Where files are fetched; a local Bot API server or a test emulator serves both URLs.
    base_file_url: BotFileUrl = "https://api.telegram.org/file/bot"
    mode: TelegramMode = "polling"
    # Seconds one getUpdates long poll may wait for an update.
    poll_timeout: LongPoll = 10.0
    webhook_url: WebhookUrl = None
    webhook_listen: Host = "127.0.0.1"
    webhook_port: Port = 8443
    # Telegram echoes it in every webhook call (X-Telegram-Bot-Api-Secret-Token); a secret.
    webhook_secret: WebhookSecret = None
    min_age: MinAge = 13
    # Telegram's published limits; the adapter paces itself a little below them.
    rate_global_per_second: Rate = 30.0
    rate_group_per_minute: Rate = 20.0
    rate_private_per_second: Rate = 1.0

    @model_validator(mode="after")
    def _webhook_has_a_url(self) -> TelegramSettings:
        if self.mode == "webhook" and self.webhook_url is None:
            raise _Invalid(M_WEBHOOK_NEEDS_URL, key="webhook_url")
        return self


class MatrixSettings(_Section):
    homeserver: Homeserver = None
    user_id: MatrixUser = None
    password: OptionalText = None
    access_token: OptionalText = None
    device_id: OptionalText = None
    staff_can_post: Flag = False
    room_version: RoomVersion = None
    min_age: MinAge = 13
    # Pace the bot's own requests (posts, replies, invites, kicks) to this many per second, with
    # bursts of `rate_burst`. None: send at once and slow down only when the homeserver says so
    # (M_LIMIT_EXCEEDED and its retry_after_ms). Synapse's default `rc_message` is 0.2/s, burst 10.
    rate_per_second: OptionalRate = None
    rate_burst: Burst = 10
    # Seconds the homeserver may hold a /sync long-poll open before answering with nothing new.
    sync_timeout: LongPoll = 30.0


class DispatchSettings(_Section):
    batch_size: BatchSize = 200
    max_attempts: Attempts = 8
    base_delay: Delay = 5.0
    max_delay: LongDelay = 3600.0
    lease_seconds: Delay = 300.0
    poll_interval: Timeout = 2.0

    @model_validator(mode="after")
    def _max_delay_is_no_less_than_the_base(self) -> DispatchSettings:
        if self.max_delay < self.base_delay:
            raise _Invalid(
                M_NOT_BEFORE, key="max_delay", other="dispatch.base_delay", low=self.base_delay
            )
        return self


SECRET_KEYS = {
    ("mail", "smtp_password"),
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("matrix", "password"),
    ("matrix", "access_token"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    database_url: DatabaseUrl = "sqlite+aiosqlite:///./klasbot-data/klasbot.db"
    data_dir: Directory = Path("./klasbot-data")
    school: SchoolSettings = Field(default_factory=SchoolSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    post: PostSettings = Field(default_factory=PostSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    matrix: MatrixSettings = Field(default_factory=MatrixSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (the file's values arrive as init arguments).
        return (env_settings, init_settings)


def _known_env_names() -> set[str]:
    names = {CLOCK_ENV}
    for field_name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_name, sub_field in annotation.model_fields.items():
                names.add(f"{ENV_PREFIX}{field_name}__{sub_name}".upper())
                if sub_field.alias:
                    names.add(f"{ENV_PREFIX}{field_name}__{sub_field.alias}".upper())
        else:
            names.add(f"{ENV_PREFIX}{field_name}".upper())
    return names


def _check_env(environ: dict[str, str]) -> None:
    known = _known_env_names()
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(TEST_ENV_PREFIX):
            continue
        if upper not in known:
            raise ConfigError(M_UNKNOWN_VARIABLE, name=name)


def _check_file(data: dict[str, Any], path: Path) -> None:
    for section, key in SECRET_KEYS:
        if isinstance(data.get(section), dict) and key in data[section]:
            env = f"{ENV_PREFIX}{section}__{key}".upper()
            raise ConfigError(M_SECRET_IN_FILE, path=path, section=section, key=key, env=env)


def _section_model(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field(loc: tuple[str | int, ...]) -> FieldInfo | None:
    """The field a location names: `(section, key)` or a top-level key."""
    fields: dict[str, FieldInfo] = Settings.model_fields
    found: FieldInfo | None = None
    for part in loc:
        match = next((f for name, f in fields.items() if part in (name, f.alias)), None)
        if match is None:
            return found if isinstance(part, int) else None
        found = match
        model = _section_model(match)
        fields = model.model_fields if model is not None else {}
    return found


def _names(loc: tuple[str | int, ...]) -> tuple[str, str]:
    """The key as the file writes it (`mail.smtp_port`) and as the environment does
    (`KLASBOT_MAIL__SMTP_PORT`)."""
    parts = [str(part) for part in loc if isinstance(part, str)]
    return ".".join(parts), ENV_PREFIX + "__".join(parts).upper()


def _problem(err: ErrorDetails, lang: str) -> str:
    loc = tuple(err["loc"])
    error = err.get("ctx", {}).get("error")
    if isinstance(error, _Invalid) and error.key is not None:
        loc = (*loc, error.key)  # a check of a whole section that is about one of its keys
    key, env = _names(loc)
    if err["type"] == "extra_forbidden":
        return M_UNKNOWN_KEY(lang, key=key)
    field = _field(loc)
    if field is not None and _section_model(field) is not None:
        return M_TABLE(lang, section=key, value=err.get("input"))
    if isinstance(error, _Invalid):
        problem = error.msg(lang, **error.params)
    else:
        rule = next((m for m in (field.metadata if field else []) if isinstance(m, Rule)), None)
        # Every key has its rule; pydantic's own words are only a last resort.
        problem = rule.allowed(lang) if rule else err["msg"]
    value = err.get("input")
    if isinstance(error, _Invalid) and error.key is not None:
        value = value.get(error.key) if isinstance(value, dict) else None
    parts = tuple(part for part in loc if isinstance(part, str))
    if parts[:2] in SECRET_KEYS or value is None:
        return M_BAD_KEY(lang, key=key, env=env, problem=problem)
    return M_BAD_VALUE(lang, key=key, env=env, problem=problem, value=value)


def _invalid(exc: ValidationError, path: Path | None) -> ConfigError:
    errors = exc.errors()
    problems = Localized(lambda lang: "; ".join(_problem(err, lang) for err in errors))
    if path is not None:
        return ConfigError(M_INVALID_IN_FILE, path=path, problems=problems)
    return ConfigError(M_INVALID_IN_ENV, problems=problems)


def asked_language(path: Path | None, environ: Mapping[str, str]) -> str:
    """The language the configuration asks for, as far as it can be read: the environment's
    KLASBOT_SCHOOL__LANGUAGE, else the file's `[school] language`; Dutch when that is no
    language with a catalogue (or the configuration does not say)."""
    asked: Any = next((v for k, v in environ.items() if k.upper() == LANGUAGE_ENV), None)
    if asked is None and path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        school = data.get("school")
        asked = school.get("language") if isinstance(school, dict) else None
    if isinstance(asked, str) and asked in available_languages():
        return asked
    return DEFAULT_LANGUAGE


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (`path`, or ./klasbot.toml when present) and the environment.

    Raises ConfigError with a message that names the key and where it came from, to be said in
    the language the configuration asks for (`ConfigError.lang`)."""
    environ = dict(os.environ if environ is None else environ)
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    try:
        return _load(path, environ)
    except ConfigError as exc:
        exc.lang = asked_language(path, environ)
        raise


def _load(path: Path | None, environ: dict[str, str]) -> Settings:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(M_NO_FILE, path=path) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(M_NOT_TOML, path=path, error=str(exc)) from exc
        _check_file(data, path)
    _check_env(environ)
    saved = os.environ.copy()
    try:
        # pydantic-settings reads os.environ; make it see exactly `environ`.
        os.environ.clear()
        os.environ.update(environ)
        return Settings(**data)
    except ValidationError as exc:
        raise _invalid(exc, path) from exc
    finally:
        os.environ.clear()
        os.environ.update(saved)


def clock_start(environ: Mapping[str, str] | None = None) -> datetime | None:
    """The `KLASBOT_NOW` override (ISO 8601 instant) for tests and demos, if set."""
    raw = (os.environ if environ is None else environ).get(CLOCK_ENV)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(M_CLOCK_NOT_ISO, name=CLOCK_ENV, value=raw) from exc
    if value.tzinfo is None:
        raise ConfigError(M_CLOCK_NO_OFFSET, name=CLOCK_ENV, value=raw)
    return value
