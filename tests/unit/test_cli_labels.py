"""The codes in the CLI's tables (channel, reason, status, group state, kind) are labels in the
school's language; `--json` keeps the codes (tests/integration/test_cli_language.py)."""

from __future__ import annotations

import enum

import pytest

from bot.cli.texts import label
from bot.domain import Channel, DeliveryStatus, GroupState, Kind, Reason

SAME_IN_BOTH = {"e-mail"}


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("channel", Channel),
        ("status", DeliveryStatus),
        ("reason", Reason),
        ("group state", GroupState),
        ("kind", Kind),
    ],
)
def test_every_code_has_a_label_in_each_language(kind: str, codes: type[enum.StrEnum]) -> None:
    for code in codes:
        dutch, english = label(kind, code.value, "nl"), label(kind, code.value, "en")
        assert dutch != code.value, code  # a label, not the code shown as it is
        assert english
        assert dutch != english or dutch in SAME_IN_BOTH, code


@pytest.mark.parametrize(
    ("kind", "code", "nl", "en"),
    [
        ("channel", "post", "brief", "letter"),
        ("status", "withdrawn", "ingetrokken", "withdrawn"),
        ("reason", "under-13", "jonger dan 13", "under 13"),
        ("group state", "lost", "kwijt (de bot is verwijderd)", "lost (the bot was removed)"),
        ("kind", "lesson-cancelled", "Lesuitval", "Lesson cancelled"),
        ("table", "persons", "personen", "persons"),
        ("table", "guardianships", "koppelingen ouder–leerling", "guardian links"),
    ],
)
def test_labels(kind: str, code: str, nl: str, en: str) -> None:
    assert label(kind, code, "nl") == nl
    assert label(kind, code, "en") == en


def test_an_unknown_code_is_shown_as_it_is_and_none_as_empty() -> None:
    assert label("reason", "some-new-reason", "nl") == "some-new-reason"
    assert label("reason", None, "nl") == ""
