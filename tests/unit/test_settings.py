from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import Kind
from config.settings import ConfigError, clock_start, load_settings


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


def test_pydantic_messages_keep_their_words_in_a_localised_frame() -> None:
    error = _error(KLASBOT_SCHOOL__INVITE_VALID_DAYS="lots")
    problem = "school.invite_valid_days: Input should be a valid integer"
    assert error.render("nl").startswith(f"ongeldige configuratie in de omgeving: {problem}")
    assert error.render("nl").endswith("(gekregen: 'lots')")
    assert error.render("en").startswith(f"invalid configuration in the environment: {problem}")
    assert error.render("en").endswith("(got 'lots')")


def test_klasbots_own_validation_messages_are_translated(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text("[school]\nallowed_kinds = ['homework', 'feest']\n", encoding="utf-8")
    error = _error(f, KLASBOT_SCHOOL__TIMEZONE="Europe/Amsterdm")
    kinds = ", ".join(kind.value for kind in Kind)
    assert error.render("nl") == (
        f"ongeldige configuratie in {f} of de omgeving: "
        "school.timezone: onbekende tijdzone 'Europe/Amsterdm' (bijvoorbeeld Europe/Amsterdam) "
        "(gekregen: 'Europe/Amsterdm'); "
        f"school.allowed_kinds: onbekende soort 'feest'; soorten: {kinds} "
        "(gekregen: ['homework', 'feest'])"
    )
    english = (
        f"invalid configuration in {f} or the environment: "
        "school.timezone: unknown time zone 'Europe/Amsterdm' (e.g. Europe/Amsterdam) "
        "(got 'Europe/Amsterdm'); "
        f"school.allowed_kinds: unknown kind 'feest'; kinds: {kinds} (got ['homework', 'feest'])"
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
