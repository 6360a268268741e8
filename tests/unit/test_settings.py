from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.domain import Kind
from config.settings import ConfigError, SchoolOverrides, Settings, clock_start, load_settings
from config.values import Rule


def test_defaults_are_the_embedded_setup() -> None:
    s = load_settings(environ={})
    assert s.database_url == "sqlite+aiosqlite:///./klasbot-data/klasbot.db"
    assert s.mail.transport == "file"
    assert s.mail.outbox_dir == Path("klasbot-data/outbox")
    assert s.post.letters_dir == Path("klasbot-data/letters")
    assert s.school.timezone == "Europe/Amsterdam"
    assert s.school.quiet_hours == "21:00-07:00"
    assert s.telegram.base_url == "https://api.telegram.org/bot"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text(
        '[mail]\ntransport = "smtp"\nsmtp_port = 587\n[school]\nleadership_emails = ["a@x.org"]\n',
        encoding="utf-8",
    )
    s = load_settings(
        f,
        environ={
            "KLASBOT_MAIL__SMTP_PORT": "2525",
            "KLASBOT_SCHOOL__LEADERSHIP_EMAILS": "b@x.org, c@x.org",
        },
    )
    assert s.mail.transport == "smtp"
    assert s.mail.smtp_port == 2525
    assert s.school.leadership_emails == ["b@x.org", "c@x.org"]


@pytest.mark.parametrize(
    ("toml", "env", "needle"),
    [
        ("", {"KLASBOT_MAIL__TRANSPROT": "smtp"}, "KLASBOT_MAIL__TRANSPROT"),
        ("", {"KLASBOT_MAIL__SMTP_PORT": "lots"}, "mail.smtp_port"),
        ("", {"KLASBOT_MAIL__TRANSPORT": "pigeon"}, "mail.transport"),
        ("", {"KLASBOT_SCHOOL__TIMEZONE": "Europe/Amsterdm"}, "Europe/Amsterdm"),
        ("[mail]\ntransprot = 'smtp'\n", {}, "transprot"),
        ("[schol]\nname = 'x'\n", {}, "schol"),
        ("[telegram]\ntoken = '1:a'\n", {}, "KLASBOT_TELEGRAM__TOKEN"),
        ("[mail]\nsmtp_password = 'x'\n", {}, "KLASBOT_MAIL__SMTP_PASSWORD"),
        ("[mail\n", {}, "not valid TOML"),
    ],
)
def test_bad_configuration_names_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], needle: str
) -> None:
    f = tmp_path / "k.toml"
    f.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.").replace("[", r"\[")):
        load_settings(f, environ=env)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(Path("/nonexistent/klasbot.toml"), environ={})


def test_secrets_from_environment_and_test_variables_ignored() -> None:
    s = load_settings(
        environ={
            "KLASBOT_TELEGRAM__TOKEN": "1:abc",
            "KLASBOT_TEST_POSTGRES_URL": "x",
            "KLASBOT_NOW": "2026-01-01T00:00:00Z",
        }
    )
    assert s.telegram.token == "1:abc"


def test_pupil_email_can_be_switched_off() -> None:
    assert (
        load_settings(
            environ={"KLASBOT_SCHOOL__PUPIL_EMAIL_FROM_AGE": "off"}
        ).school.pupil_email_from_age
        is None
    )
    assert (
        load_settings(
            environ={"KLASBOT_SCHOOL__PUPIL_EMAIL_FROM_AGE": "18"}
        ).school.pupil_email_from_age
        == 18
    )


def test_clock_override() -> None:
    assert clock_start({}) is None
    assert (
        clock_start({"KLASBOT_NOW": "2026-11-23T10:00:00+01:00"}).isoformat()
        == "2026-11-23T10:00:00+01:00"
    )
    with pytest.raises(ConfigError, match="offset"):
        clock_start({"KLASBOT_NOW": "2026-11-23T10:00:00"})
    with pytest.raises(ConfigError, match="ISO 8601"):
        clock_start({"KLASBOT_NOW": "tomorrow"})


def _error(path: Path | None = None, **env: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=env)
    return info.value


def test_config_error_in_dutch_and_english() -> None:
    error = _error(KLASBOT_MAIL__TRANSPROT="smtp")
    english = "unknown configuration variable KLASBOT_MAIL__TRANSPROT (see the README's key list)"
    assert str(error) == error.render("en") == english  # str() is English, like the logs
    assert error.render("nl") == (
        "onbekende configuratievariabele KLASBOT_MAIL__TRANSPROT (zie de lijst met sleutels in de "
        "README)"
    )
    assert error.lang == "nl"
    assert error.render() == error.render("nl")


def test_a_wrong_type_is_told_with_what_the_key_allows() -> None:
    error = _error(KLASBOT_SCHOOL__INVITE_VALID_DAYS="lots")
    key = "school.invite_valid_days (KLASBOT_SCHOOL__INVITE_VALID_DAYS)"
    assert error.render("nl") == (
        f"ongeldige configuratie in de omgeving: {key}: moet een geheel getal van 1 tot en met "
        "365 zijn (gekregen: 'lots')"
    )
    assert error.render("en") == (
        f"invalid configuration in the environment: {key}: must be a whole number from 1 to 365 "
        "(got 'lots')"
    )


def test_klasbots_own_validation_messages_are_translated(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text("[school]\nallowed_kinds = ['homework', 'feest']\n", encoding="utf-8")
    error = _error(f, KLASBOT_SCHOOL__TIMEZONE="Europe/Amsterdm")
    kinds = ", ".join(kind.value for kind in Kind)
    assert error.render("nl") == (
        f"ongeldige configuratie in {f} of de omgeving: "
        "school.timezone (KLASBOT_SCHOOL__TIMEZONE): onbekende tijdzone 'Europe/Amsterdm' "
        "(bijvoorbeeld Europe/Amsterdam) (gekregen: 'Europe/Amsterdm'); "
        "school.allowed_kinds (KLASBOT_SCHOOL__ALLOWED_KINDS): "
        f"onbekende soort 'feest'; soorten: {kinds} (gekregen: ['homework', 'feest'])"
    )
    english = (
        f"invalid configuration in {f} or the environment: "
        "school.timezone (KLASBOT_SCHOOL__TIMEZONE): unknown time zone 'Europe/Amsterdm' "
        "(e.g. Europe/Amsterdam) (got 'Europe/Amsterdm'); "
        "school.allowed_kinds (KLASBOT_SCHOOL__ALLOWED_KINDS): "
        f"unknown kind 'feest'; kinds: {kinds} (got ['homework', 'feest'])"
    )
    assert str(error) == error.render("en") == english


@pytest.mark.parametrize(
    ("toml", "env", "lang"),
    [
        ("", {"KLASBOT_MAIL__TRANSPROT": "smtp"}, "nl"),
        ("", {"KLASBOT_SCHOOL__LANGUAGE": "en", "KLASBOT_MAIL__TRANSPROT": "smtp"}, "en"),
        ("", {"klasbot_school__language": "en", "KLASBOT_MAIL__SMTP_PORT": "x"}, "en"),
        ("[school]\nlanguage = 'en'\n", {"KLASBOT_MAIL__SMTP_PORT": "x"}, "en"),
        ("[school]\nlanguage = 'en'\n[telegram]\ntoken = '1:a'\n", {}, "en"),
        ("[school]\nlanguage = 'en'\n", {"KLASBOT_SCHOOL__LANGUAGE": "nl", "KLASBOT_X": "1"}, "nl"),
        ("[mail\n", {"KLASBOT_SCHOOL__LANGUAGE": "en"}, "en"),
        ("[mail\n", {}, "nl"),
        ("", {"KLASBOT_SCHOOL__LANGUAGE": "fr"}, "nl"),  # no catalogue: the error is in Dutch
        ("[school]\nlanguage = 'de'\n", {}, "nl"),
    ],
)
def test_config_error_speaks_the_language_the_configuration_asks_for(
    tmp_path: Path, toml: str, env: dict[str, str], lang: str
) -> None:
    f = tmp_path / "k.toml"
    f.write_text(toml, encoding="utf-8")
    error = _error(f, **env)
    assert error.lang == lang
    assert error.render() == error.render(lang)


def test_missing_file_and_clock_in_dutch() -> None:
    error = _error(Path("/nonexistent/klasbot.toml"))
    assert error.render() == "configuratiebestand /nonexistent/klasbot.toml bestaat niet"
    with pytest.raises(ConfigError) as info:
        clock_start({"KLASBOT_NOW": "2026-11-23T10:00:00"})
    assert info.value.render("nl") == (
        "KLASBOT_NOW='2026-11-23T10:00:00' heeft een UTC-afwijking nodig, bijvoorbeeld "
        "2026-11-23T08:00:00+01:00"
    )


# Every key of the configuration with values it must refuse: (section, key) → bad values, as the
# environment gives them (strings). `test_every_key_has_bad_values` keeps this list complete.
BAD_VALUES: dict[tuple[str, ...], list[str]] = {
    ("database_url",): ["mysql://db/klasbot", "garbage", "sqlite:///x.db", ""],
    ("data_dir",): ["", " "],
    ("school", "name"): ["De Passie\nUtrecht"],
    ("school", "timezone"): ["Europe/Amsterdm", "", "+01:00"],
    ("school", "language"): ["fr", ""],
    ("school", "quiet_hours"): ["21-07", "25:00-07:00", "21:00-07:60", "21:00", "night"],
    ("school", "urgent_from"): ["25:00", "6.30", "", "06:30-07:00"],
    ("school", "urgent_kinds"): ["feest", "lesson-cancelled,feest"],
    ("school", "allowed_kinds"): ["", "feest", "homework,party"],
    ("school", "pupil_email_from_age"): ["11", "22", "-16", "sixteen", "16.5"],
    ("school", "leadership_emails"): ["nobody", "a@x.org, nope", "a@b", "a b@x.org"],
    ("school", "public_contacts"): ["De Passie", "030 123 4567, nope", "12", "NL92ABNA0417164300"],
    ("school", "invite_valid_days"): ["0", "-14", "366", "two weeks", "9223372036854775808"],
    ("school", "reply_to"): ["info", "info@", "@school.example"],
    ("school", "digest_at"): ["16", "24:00", "4 pm", "", "16:00-17:00"],
    ("school", "lesson_hours"): [
        "8-16",
        "08:30",
        "16:00-08:30",
        "08:30-16:00,lunch",
        "25:00-26:00",
    ],
    ("school", "holidays"): [
        "herfst",
        "2026-10-25/2026-10-17 Herfst",
        "2026-02-30 x",
        "17-10-2026",
    ],
    ("school", "retention_years"): ["-1", "31", "one", "1.5", ""],
    ("school", "year_end"): ["31-07", "02-29", "13-01", "07-32", "", "juli"],
    ("school", "sweep_at"): ["7", "24:00", "", "07:00-08:00"],
    ("mail", "transport"): ["pigeon", ""],
    ("mail", "outbox_dir"): [""],
    ("mail", "smtp_host"): ["smtp host", "http://smtp.example", ""],
    ("mail", "smtp_port"): ["0", "-25", "65536", "lots", "25.5"],
    ("mail", "smtp_security"): ["ssl", ""],
    ("mail", "smtp_username"): ["a\tb"],
    ("mail", "smtp_password"): ["a\nb"],
    ("mail", "smtp_timeout"): ["0", "-1", "nan", "inf", "3601", "soon"],
    ("mail", "from"): ["klasbot", "klasbot@", "", "<klasbot@x.org>"],
    ("mail", "batch_size"): ["0", "-1", "10001", "many"],
    ("mail", "connections"): ["0", "-1", "33", "many", "1.5"],
    ("post", "letters_dir"): [""],
    ("post", "letterhead"): ["line\x07bell"],
    ("post", "return_address"): ["a\nb"],
    ("post", "delivery_days"): ["0", "-2", "11", "two", "1.5", ""],
    ("telegram", "token"): ["not a token", "9876", ":abc"],
    ("telegram", "username"): ["klasbode", "@kb", "klas bot", "x" * 30 + "bot", "klas-bot", "9bot"],
    ("telegram", "base_url"): ["api.telegram.org/bot", "ftp://x/bot", "", "http://"],
    ("telegram", "base_file_url"): ["file/bot", "ws://x/file"],
    ("telegram", "mode"): ["push", ""],
    ("telegram", "poll_timeout"): ["0", "-10", "301"],
    ("telegram", "webhook_url"): ["bot.school.example/telegram", "http://x:99999/t"],
    ("telegram", "webhook_listen"): ["every where", "http://0.0.0.0"],
    ("telegram", "webhook_port"): ["0", "65536", "-1", "https"],
    ("telegram", "webhook_secret"): ["has spaces", "x" * 257, "ümlaut"],
    ("telegram", "min_age"): ["9", "12", "22", "-13", "thirteen"],
    ("telegram", "rate_global_per_second"): ["0", "-30", "1001", "fast"],
    ("telegram", "rate_group_per_minute"): ["0", "-20"],
    ("telegram", "rate_private_per_second"): ["0", "nan"],
    ("matrix", "homeserver"): ["matrix.school.example", "ftp://matrix.school.example"],
    ("matrix", "user_id"): ["klasbot", "@klasbot", "klasbot:school.example"],
    ("matrix", "password"): ["a\nb"],
    ("matrix", "access_token"): ["a\nb"],
    ("matrix", "device_id"): ["a\nb"],
    ("matrix", "staff_can_post"): ["maybe", "2"],
    ("matrix", "room_version"): ["10", "13", "v12"],
    ("matrix", "min_age"): ["9", "22"],
    ("matrix", "rate_per_second"): ["0", "-0.2", "slow"],
    ("matrix", "rate_burst"): ["0", "-10", "1001"],
    ("matrix", "sync_timeout"): ["0", "-30", "301"],
    ("teams", "app_id"): ["a\nb"],
    ("teams", "app_password"): ["a\nb"],
    ("teams", "tenant_id"): ["a\nb"],
    ("teams", "min_age"): ["9", "12", "22", "thirteen"],
    ("teams", "allow_unauthenticated"): ["maybe", "2"],
    ("http", "port"): ["0", "-1", "65536", "http", "80.5"],
    ("dispatch", "batch_size"): ["0", "-200", "10001", "9223372036854775808", "1.5"],
    ("dispatch", "max_attempts"): ["0", "-8", "101"],
    ("dispatch", "base_delay"): ["0", "-5", "86401"],
    ("dispatch", "max_delay"): ["0", "-1", "4"],  # 4 < the base delay of 5
    ("dispatch", "lease_seconds"): ["0", "-300", "86401", "nan"],
    ("dispatch", "poll_interval"): ["0", "-2", "3601"],
    ("schedule", "grace"): ["0", "-1h", "8d", "soon", "1x", "", "nan"],
    ("schedule", "min_interval"): ["0", "367d", "daily", "-1d"],
    ("schedule", "max_per_class"): ["0", "-1", "1001", "many", "2.5"],
    ("log", "format"): ["xml", "", "JSON lines"],
}
SECRETS = {("mail", "smtp_password"), ("telegram", "token"), ("telegram", "webhook_secret"),
           ("matrix", "password"), ("matrix", "access_token"), ("teams", "app_id"),
           ("teams", "app_password"), ("teams", "tenant_id")}  # fmt: skip


def _keys() -> set[tuple[str, ...]]:
    keys: set[tuple[str, ...]] = set()
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if name == "schools":
            continue  # TOML tables of `[school]` keys: `test_school_settings.py`
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= {
                (name, sub.alias or sub_name) for sub_name, sub in annotation.model_fields.items()
            }
        else:
            keys.add((name,))
    return keys


def test_every_key_has_bad_values() -> None:
    assert set(BAD_VALUES) == _keys()


@pytest.mark.parametrize(
    ("key", "value"),
    [(key, value) for key, values in BAD_VALUES.items() for value in values],
    ids=lambda x: "/".join(x) if isinstance(x, tuple) else repr(x)[:20],
)
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_bad_value_is_one_line_naming_the_key(
    key: tuple[str, ...], value: str, lang: str
) -> None:
    env_name = "KLASBOT_" + "__".join(key).upper()
    env = {env_name: value}
    if key != ("school", "language"):
        env["KLASBOT_SCHOOL__LANGUAGE"] = lang
    else:
        lang = "nl"  # a language without a catalogue: the error is in Dutch
    error = _error(**env)
    text = error.render()
    assert error.lang == lang
    assert "\n" not in text
    assert ".".join(key) in text, text
    assert env_name in text, text
    assert "Input should" not in text, text  # pydantic's words, not what the key allows
    if key in SECRETS:
        assert value not in text  # a secret is never repeated


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("mail = 3\n", "mail: must be a table"),
        (
            "[mail]\nsmtp_port = '25'\nbatch_size = 0\n",
            "mail.batch_size (KLASBOT_MAIL__BATCH_SIZE)",
        ),
        ("[dispatch]\nbatch_size = 1.5\n", "must be a whole number from 1 to 10000 (got 1.5)"),
        ("[telegram]\nmin_age = true\n", "must be a whole number from 13 to 21 (got True)"),
        ("[school]\nallowed_kinds = 3\n", "school.allowed_kinds"),
        ("[school]\nname = 5\n", "school.name"),
        ("[post]\nletterhead = [1]\n", "post.letterhead"),
        ("[mail]\nfrom = ['a@x.org']\n", "mail.from (KLASBOT_MAIL__FROM)"),
        (
            "[telegram]\nmode = 'webhook'\n",
            "telegram.webhook_url (KLASBOT_TELEGRAM__WEBHOOK_URL): required",
        ),
        ("[school]\nallowed_kinds = ['homework']\n", "urgent kind 'lesson-cancelled' is not among"),
    ],
)
def test_wrong_types_and_combinations_in_the_file(tmp_path: Path, toml: str, needle: str) -> None:
    f = tmp_path / "k.toml"
    f.write_text(toml, encoding="utf-8")
    text = _error(f).render("en")
    assert needle in text, text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("env", "check"),
    [
        ({"KLASBOT_SCHOOL__QUIET_HOURS": ""}, lambda s: s.school.quiet_hours == ""),
        (
            {"KLASBOT_SCHOOL__QUIET_HOURS": "9:00 - 7:30"},
            lambda s: s.school.quiet_hours == "09:00-07:30",
        ),
        ({"KLASBOT_SCHOOL__URGENT_FROM": "6:30"}, lambda s: s.school.urgent_from == "06:30"),
        (
            {"KLASBOT_SCHOOL__PUPIL_EMAIL_FROM_AGE": "12"},
            lambda s: s.school.pupil_email_from_age == 12,
        ),
        (
            {"KLASBOT_SCHOOL__PUPIL_EMAIL_FROM_AGE": ""},
            lambda s: s.school.pupil_email_from_age is None,
        ),
        ({"KLASBOT_SCHOOL__REPLY_TO": ""}, lambda s: s.school.reply_to is None),
        ({"KLASBOT_SCHOOL__URGENT_KINDS": ""}, lambda s: s.school.urgent_kinds == []),
        ({"KLASBOT_MAIL__TRANSPORT": "SMTP"}, lambda s: s.mail.transport == "smtp"),
        ({"KLASBOT_MAIL__SMTP_HOST": "::1"}, lambda s: s.mail.smtp_host == "::1"),
        (
            {"KLASBOT_MAIL__FROM": "klasbot@école.example"},
            lambda s: s.mail.from_ == "klasbot@école.example",
        ),
        ({"KLASBOT_TELEGRAM__MIN_AGE": "21"}, lambda s: s.telegram.min_age == 21),
        (
            {"KLASBOT_TELEGRAM__USERNAME": "@Passie_Klas_Bot"},
            lambda s: s.telegram.username == "Passie_Klas_Bot",
        ),
        ({"KLASBOT_TELEGRAM__USERNAME": "a_bot"}, lambda s: s.telegram.username == "a_bot"),
        ({"KLASBOT_TELEGRAM__USERNAME": ""}, lambda s: s.telegram.username is None),
        ({"KLASBOT_MATRIX__ROOM_VERSION": "12"}, lambda s: s.matrix.room_version == "12"),
        ({"KLASBOT_MATRIX__RATE_PER_SECOND": ""}, lambda s: s.matrix.rate_per_second is None),
        ({"KLASBOT_MATRIX__STAFF_CAN_POST": "yes"}, lambda s: s.matrix.staff_can_post is True),
        (
            {"KLASBOT_DATABASE_URL": "postgresql+asyncpg://k@db:5432/k"},
            lambda s: s.database_url.startswith("postgresql"),
        ),
        ({"KLASBOT_DISPATCH__LEASE_SECONDS": "0.5"}, lambda s: s.dispatch.lease_seconds == 0.5),
        ({"KLASBOT_POST__DELIVERY_DAYS": "1"}, lambda s: s.post.delivery_days == 1),
        ({"KLASBOT_POST__DELIVERY_DAYS": "10"}, lambda s: s.post.delivery_days == 10),
        ({"KLASBOT_SCHOOL__DIGEST_AT": "7:30"}, lambda s: s.school.digest_at == "07:30"),
    ],
)
def test_good_values_at_the_edges_are_accepted(env: dict[str, str], check: Any) -> None:
    assert check(load_settings(environ=env))


def test_every_key_has_a_rule_that_says_what_it_allows() -> None:
    """A key added without a rule would be refused in pydantic's words, or not at all."""
    missing = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if name == "schools":
            annotation = SchoolOverrides  # keyed by school; each holds `[school]` keys
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = [(f"{name}.{sub}", f) for sub, f in annotation.model_fields.items()]
        else:
            fields = [(name, field)]
        missing += [key for key, f in fields if not any(isinstance(m, Rule) for m in f.metadata)]
    assert not missing
