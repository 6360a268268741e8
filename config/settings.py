"""Typed configuration: a TOML file overridden by `KLASBOT_<SECTION>__<KEY>` environment variables.

Loaded once by the bootstrap and passed in; adapters never read `os.environ` themselves.
Unknown keys are an error, wherever they come from, and secrets come only from the environment.
What is wrong with a configuration is said in the language it asks for (see `ConfigError`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.i18n import DEFAULT_LANGUAGE, Localized, Msg, available_languages
from config.values import (
    ENGLISH,
    M_BOARD_ONLY,
    M_NOT_BEFORE,
    M_TABLE,
    M_URGENT_NOT_ALLOWED,
    M_WEBHOOK_NEEDS_URL,
    Address,
    Addresses,
    Attempts,
    BatchSize,
    BotApiUrl,
    BotFileUrl,
    Burst,
    ClockTime,
    Connections,
    Contacts,
    DatabaseUrl,
    Delay,
    DeliveryDays,
    Directory,
    EmailAge,
    Flag,
    Grace,
    Holidays,
    Homeserver,
    Host,
    Interval,
    InviteDays,
    Kinds,
    Language,
    LessonHoursSpec,
    LogFormat,
    LongDelay,
    LongPoll,
    MailTransport,
    MatrixUser,
    MaxSchedules,
    MinAge,
    MonthDay,
    OptionalAddress,
    OptionalPort,
    OptionalRate,
    OptionalText,
    Port,
    Rate,
    RetentionYears,
    RoomVersion,
    Rule,
    SmtpSecurity,
    SomeKinds,
    TelegramMode,
    TelegramToken,
    TelegramUsername,
    Text,
    TextList,
    Timeout,
    WebhookSecret,
    WebhookUrl,
    Window,
    Zone,
    _Invalid,
)

DEFAULT_CONFIG_FILE = "klasbot.toml"
ENV_PREFIX = "KLASBOT_"
# Variables with this prefix belong to the test suite, not to the application.
TEST_ENV_PREFIX = "KLASBOT_TEST_"
CLOCK_ENV = "KLASBOT_NOW"
LANGUAGE_ENV = f"{ENV_PREFIX}SCHOOL__LANGUAGE"
"""The language of `str()` of a ConfigError (logs and code are English)."""

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
    # When the day's overview of pupils nobody reached goes to each author (and leadership);
    # what is reported after it goes the next morning.
    digest_at: ClockTime = "16:00"
    # The school year's last day (MM-DD): class groups are archived and schedules end.
    year_end: MonthDay = "07-31"
    # How many school years after the end of the school year a record is kept (`klasbot purge`):
    # 1 keeps what happened in 2026-2027 until the end of July 2028.
    retention_years: RetentionYears = 1
    # Protocol A.1: group posts in these periods (weekdays) are sent silently, urgent kinds
    # excepted; empty = none.
    lesson_hours: LessonHoursSpec = "08:30-16:00"
    # Holiday periods `YYYY-MM-DD/YYYY-MM-DD Name`: recurring reminders do not fire in them
    # (`klasbot holidays import FILE.ics` adds the school's published calendar).
    holidays: Holidays = Field(default_factory=list)
    # When the daily sweep runs (13th-birthday codes, expired codes, the end of the school year).
    sweep_at: ClockTime = "07:00"

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


class SchoolOverrides(SchoolSettings):
    """One school's own settings in a board's installation: a `[schools."<sourcedId or
    identifier>"]` table. Only the keys it sets count (`model_fields_set`); every other key is the
    board's `[school]` (and `[post]`) value."""

    # The school's letterhead and return address on letters (default: the board's `[post]`).
    letterhead: TextList = Field(default_factory=list)
    return_address: OptionalText = None

    @model_validator(mode="after")
    def _urgent_kinds_are_allowed(self) -> SchoolOverrides:
        # Checked on the merged settings (`Settings.school_settings`); here only that no key is
        # the board's alone.
        for key in SCHOOL_ONLY_KEYS:
            if key in self.model_fields_set:
                raise _Invalid(M_BOARD_ONLY, key=key)
        return self


SCHOOL_ONLY_KEYS = ("sweep_at", "retention_years", "year_end", "invite_valid_days")
"""`[school]` keys that are the board's alone: one daily sweep, one retention period, one school
year, one invitation validity for the whole installation."""


class LogSettings(_Section):
    # "text" (one readable line per record) or "json" (one JSON object per line, for a log
    # collector). Neither holds personal data.
    format: LogFormat = "text"


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
    # How many SMTP connections the outbox sends over at once (each reused for a batch).
    connections: Connections = 4


class PostSettings(_Section):
    letters_dir: Directory = Path("./klasbot-data/letters")
    letterhead: TextList = Field(default_factory=list)
    return_address: OptionalText = None
    # Working days a letter takes from the office to the letterbox: a letter that cannot arrive
    # before the date an announcement is about is warned about (call the household instead).
    delivery_days: DeliveryDays = 2


class TelegramSettings(_Section):
    token: TelegramToken = None
    # The bot's username (without @), for the t.me links in invitations; when empty, the one
    # `klasbot run` read from Telegram (getMe) and stored is used.
    username: TelegramUsername = None
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


class TeamsSettings(_Section):
    # The bot's Microsoft Entra app registration (secrets, from the environment only).
    app_id: OptionalText = None
    app_password: OptionalText = None
    tenant_id: OptionalText = None
    min_age: MinAge = 13
    # Local testing only: the SDK's authentication off (the bot then accepts any serviceUrl).
    allow_unauthenticated: Flag = False


class HttpSettings(_Section):
    # `klasbot run` serves /healthz, /readyz, /metrics and the Teams endpoint on this port
    # (default: none, or 3978 when Teams is configured).
    port: OptionalPort = None


class ScheduleSettings(_Section):
    # How late an occurrence missed while klasbot was down may still fire (90s, 30m, 1h, 1d).
    grace: Grace = 3600.0
    # Against flooding: the shortest time between two occurrences of a recurring reminder …
    min_interval: Interval = 86400.0
    # … and the most active schedules a class may have.
    max_per_class: MaxSchedules = 20


SECRET_KEYS = {
    ("mail", "smtp_password"),
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("matrix", "password"),
    ("matrix", "access_token"),
    ("teams", "app_id"),
    ("teams", "app_password"),
    ("teams", "tenant_id"),
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
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    # A board's schools, each with its own settings, keyed by the roster's sourcedId or the
    # school's identifier (orgs.csv); TOML only: `[schools."BRIN01"]`.
    schools: dict[str, SchoolOverrides] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _each_school_is_consistent(self) -> Settings:
        for key in self.schools:
            try:
                self.school_settings(key)._urgent_kinds_are_allowed()
            except _Invalid as exc:
                exc.key = f"schools/{key}/{exc.key}"
                raise
        return self

    def school_settings(self, key: str | None) -> SchoolSettings:
        """The `[school]` settings as they are for the school `key` names (its sourcedId or
        identifier): the board's, with that school's `[schools."key"]` table on top."""
        overrides = self.schools.get(key) if key is not None else None
        if overrides is None:
            return self.school
        own = {
            k: getattr(overrides, k)
            for k in overrides.model_fields_set
            if k in SchoolSettings.model_fields and k not in SCHOOL_ONLY_KEYS
        }
        return self.school.model_copy(update=own)

    def school_post(self, key: str | None) -> tuple[list[str], str | None]:
        """The letterhead lines and return address of the school `key` names: its own when its
        `[schools."key"]` table sets them, else the board's `[post]` ones."""
        overrides = self.schools.get(key) if key is not None else None
        letterhead, return_address = self.post.letterhead, self.post.return_address
        if overrides is not None and "letterhead" in overrides.model_fields_set:
            letterhead = overrides.letterhead
        if overrides is not None and "return_address" in overrides.model_fields_set:
            return_address = overrides.return_address
        return letterhead, return_address

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
        if field_name == "schools":
            continue  # a school's own settings are tables of the TOML file only
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
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        match = next((f for name, f in fields.items() if part in (name, f.alias)), None)
        if match is None:
            return found if isinstance(part, int) else None
        found = match
        if match is Settings.model_fields["schools"] and parts:
            parts.pop(0)  # a school's key: its keys are the `[school]` ones
            fields = dict(SchoolOverrides.model_fields)
            continue
        model = _section_model(match)
        fields = model.model_fields if model is not None else {}
    return found


def _names(loc: tuple[str | int, ...]) -> tuple[str, str]:
    """The key as the file writes it (`mail.smtp_port`) and as the environment does
    (`KLASBOT_MAIL__SMTP_PORT`)."""
    parts = [str(part) for part in loc if isinstance(part, str)]
    if len(parts) >= 2 and parts[0] == "schools":  # a TOML table only, no variable
        table = f'[schools."{parts[1]}"]'
        return ".".join([f'schools."{parts[1]}"', *parts[2:]]), table
    return ".".join(parts), ENV_PREFIX + "__".join(parts).upper()


def _problem(err: ErrorDetails, lang: str) -> str:
    loc = tuple(err["loc"])
    error = err.get("ctx", {}).get("error")
    if isinstance(error, _Invalid) and error.key is not None:
        # A check of a whole section that is about one of its keys ("a/b/c": a nested one).
        loc = (*loc, *error.key.split("/"))
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
        for part in error.key.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
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
