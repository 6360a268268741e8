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
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from bot.domain import Kind
from bot.i18n import DEFAULT_LANGUAGE, Localized, Msg, available_languages

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
# `problem` is the validator's own text: klasbot's in the reader's language, pydantic's in English.
M_BAD_VALUE = Msg("{key}: {problem} (got {value!r})")
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


class _Invalid(ValueError):
    """A value a validator refuses, with klasbot's own message (pydantic keeps the exception in
    the error's context, so that the message can be said in the reader's language)."""

    def __init__(self, msg: Msg, /, **params: Any) -> None:
        self.msg = msg
        self.params = params
        super().__init__(msg(ENGLISH, **params))


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SchoolSettings(_Section):
    name: str = ""
    timezone: str = "Europe/Amsterdam"
    language: str = "nl"
    quiet_hours: str = "21:00-07:00"
    urgent_from: str = "06:30"
    urgent_kinds: CommaList = Field(default_factory=lambda: ["lesson-cancelled"])
    allowed_kinds: CommaList = Field(
        default_factory=lambda: ["lesson-cancelled", "homework", "reminder", "trip"]
    )
    pupil_email_from_age: int | None = 16
    leadership_emails: CommaList = Field(default_factory=list)
    invite_valid_days: int = 14
    reply_to: str | None = None

    _split = field_validator("urgent_kinds", "allowed_kinds", "leadership_emails", mode="before")(
        _split_commas
    )

    @field_validator("urgent_kinds", "allowed_kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        known = [k.value for k in Kind]
        for kind in value:
            if kind not in known:
                raise _Invalid(M_UNKNOWN_KIND, kind=kind, kinds=", ".join(known))
        return value

    @field_validator("language")
    @classmethod
    def _has_catalogue(cls, value: str) -> str:
        # Adding a language is adding a catalogue (bot/locale/<lang>/LC_MESSAGES/klasbot.po).
        languages = available_languages()
        if value not in languages:
            raise _Invalid(M_NO_CATALOGUE, value=value, languages=", ".join(languages))
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _Invalid(M_UNKNOWN_ZONE, value=value) from exc
        return value

    @field_validator("pupil_email_from_age", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        # The school may switch pupils' own e-mail off: "off", "none", "" or false.
        if isinstance(value, str) and value.strip().lower() in {"", "off", "none", "false"}:
            return None
        if value is False:
            return None
        return value


class MailSettings(_Section):
    transport: Literal["file", "smtp"] = "file"
    outbox_dir: Path = Path("./klasbot-data/outbox")
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 30.0
    from_: str = Field(default="klasbot@school.example", alias="from")
    batch_size: int = 100


class PostSettings(_Section):
    letters_dir: Path = Path("./klasbot-data/letters")
    letterhead: CommaList = Field(default_factory=list)
    return_address: str | None = None

    _split = field_validator("letterhead", mode="before")(_split_commas)


class TelegramSettings(_Section):
    token: str | None = None
    base_url: str = "https://api.telegram.org/bot"
    # Where files are fetched; a local Bot API server or a test emulator serves both URLs.
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    # Seconds one getUpdates long poll may wait for an update.
    poll_timeout: float = 10.0
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Telegram echoes it in every webhook call (X-Telegram-Bot-Api-Secret-Token); a secret.
    webhook_secret: str | None = None
    min_age: int = 13
    # Telegram's published limits; the adapter paces itself a little below them.
    rate_global_per_second: float = 30.0
    rate_group_per_minute: float = 20.0
    rate_private_per_second: float = 1.0


class MatrixSettings(_Section):
    homeserver: str | None = None
    user_id: str | None = None
    password: str | None = None
    access_token: str | None = None
    device_id: str | None = None
    staff_can_post: bool = False
    room_version: str | None = None
    min_age: int = 13
    # Pace the bot's own requests (posts, replies, invites, kicks) to this many per second, with
    # bursts of `rate_burst`. None: send at once and slow down only when the homeserver says so
    # (M_LIMIT_EXCEEDED and its retry_after_ms). Synapse's default `rc_message` is 0.2/s, burst 10.
    rate_per_second: float | None = None
    rate_burst: int = 10
    # Seconds the homeserver may hold a /sync long-poll open before answering with nothing new.
    sync_timeout: float = 30.0


class DispatchSettings(_Section):
    batch_size: int = 200
    max_attempts: int = 8
    base_delay: float = 5.0
    max_delay: float = 3600.0
    lease_seconds: float = 300.0
    poll_interval: float = 2.0


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

    database_url: str = "sqlite+aiosqlite:///./klasbot-data/klasbot.db"
    data_dir: Path = Path("./klasbot-data")
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


def _problem(err: ErrorDetails, lang: str) -> str:
    loc = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        return M_UNKNOWN_KEY(lang, key=loc)
    error = err.get("ctx", {}).get("error")
    if isinstance(error, _Invalid):
        problem = error.msg(lang, **error.params)
    else:
        problem = err["msg"]  # pydantic's own words, e.g. "Input should be a valid integer"
    return M_BAD_VALUE(lang, key=loc, problem=problem, value=err.get("input"))


def _invalid(exc: ValidationError, path: Path | None) -> ConfigError:
    errors = exc.errors()
    problems = Localized(lambda lang: "; ".join(_problem(err, lang) for err in errors))
    if path is not None:
        return ConfigError(M_INVALID_IN_FILE, path=path, problems=problems)
    return ConfigError(M_INVALID_IN_ENV, problems=problems)


def _asked_language(path: Path | None, environ: Mapping[str, str]) -> str:
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
        exc.lang = _asked_language(path, environ)
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
