"""The example configuration a school starts from is valid and means what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import bootstrap
from bot.domain import Kind
from config.settings import ConfigError, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "klasbot.example.toml"


def test_the_example_configuration_loads_and_reaches_the_policy() -> None:
    settings = load_settings(EXAMPLE)
    policy = bootstrap.make_policy(settings)
    assert policy.language == "nl"
    assert policy.school_name == "De Passie Utrecht"
    assert policy.allowed_kinds == tuple(Kind)
    # Every platform klasbot knows is declared, with the school's minimum age for it.
    assert set(policy.platforms) == {"console", "telegram", "matrix", "teams"}
    assert policy.min_age("telegram") == 13
    assert policy.min_age("matrix") == 13
    assert policy.min_age("teams") == 13


def test_a_platform_minimum_from_the_configuration_is_every_commands_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KLASBOT_TELEGRAM__MIN_AGE", "16")
    policy = bootstrap.make_policy(load_settings(EXAMPLE))
    assert policy.min_age("telegram") == 16
    assert policy.min_age("matrix") == 13
    assert policy.min_age("console") == 13
    # Never below the protocol's 13 (B.1): a lower minimum is refused at start-up.
    monkeypatch.setenv("KLASBOT_MATRIX__MIN_AGE", "9")
    with pytest.raises(ConfigError, match="KLASBOT_MATRIX__MIN_AGE"):
        load_settings(EXAMPLE)


def test_the_example_school_table_is_valid_when_uncommented(tmp_path: Path) -> None:
    """The commented `[schools."…"]` example is what a board copies: it must load as it is."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [schools."))
    uncommented = [line.removeprefix("# ") for line in lines[start:]]
    path = tmp_path / "klasbot.toml"
    path.write_text("\n".join([*lines[:start], *uncommented]) + "\n", encoding="utf-8")
    settings = load_settings(path)
    key = uncommented[0].removeprefix('[schools."').removesuffix('"]')
    policy = bootstrap.make_policy(settings)
    assert set(policy.own) == {key}
    own = policy.own[key]
    assert own.school_name
    assert own.letterhead
    assert own.return_address
    assert own.leadership_emails
    assert own.letterhead != policy.letterhead
