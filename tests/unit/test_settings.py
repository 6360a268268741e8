from __future__ import annotations

from pathlib import Path

import pytest

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
