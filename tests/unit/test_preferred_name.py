"""OneRoster 1.2 `preferredGivenName`: read from users.csv, kept on the person, and a name rule 5
recognises (A.2: the name a pupil is actually called by is as personal as the legal one), while
mail and signatures keep the legal name."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.oneroster.reader import read_roster
from bot.errors import RuleViolation
from bot.rules import content
from tests.support.rosters import Roster, User


def roster(tmp_path: Path) -> list:
    r = Roster(classes=[("cls-1", "1A")])
    r.users = [
        User("t-1", "teacher", "Karin", "Smit"),
        User("s-1", "student", "Johannes", "Visser", birth="2012-01-01", preferred="Hannes"),
        User("s-2", "student", "Maria", "Jansen", birth="2012-01-01", preferred="Maria"),
        User("s-3", "student", "Pieter", "Kok", birth="2012-01-01"),
    ]
    r.enrollments = [("cls-1", "t-1", "teacher", True)] + [
        ("cls-1", f"s-{n}", "student", False) for n in (1, 2, 3)
    ]
    snapshot = read_roster(r.write(tmp_path / "export"))
    return [p for p in snapshot.persons if p.id.startswith("s-")]


def test_the_preferred_name_is_read_only_where_it_differs(tmp_path: Path) -> None:
    pupils = {p.id: p for p in roster(tmp_path)}
    assert pupils["s-1"].preferred_given_name == "Hannes"
    assert pupils["s-1"].given_name == "Johannes"
    assert pupils["s-2"].preferred_given_name == ""  # the same as the given name
    assert pupils["s-3"].preferred_given_name == ""


@pytest.mark.parametrize(
    "text", ["Hannes is morgen jarig.", "Neem de tas van Hannes mee.", "Groetjes aan hannes_v"]
)
def test_rule_5_refuses_the_preferred_name(tmp_path: Path, text: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        content.check_content(text, roster(tmp_path))
    assert refused.value.rule == "A.2"


def test_an_announcement_without_names_passes(tmp_path: Path) -> None:
    content.check_content("Morgen is de gymles in de grote zaal.", roster(tmp_path))
