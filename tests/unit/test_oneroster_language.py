"""contacts.csv's optional `language` column: the language klasbot uses with that person (SPEC,
roster import). Empty leaves the person's own choice (`/taal`) alone; a language without a
catalogue is an issue of the import, with its file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.oneroster import RosterError, read_roster
from tests.unit.test_oneroster import add_row, make_roster, read_csv, write_csv


def with_language_column(d: Path) -> None:
    rows = read_csv(d / "contacts.csv")
    write_csv(d / "contacts.csv", [[*rows[0], "language"], *([*r, ""] for r in rows[1:])])


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_the_language_column_is_read(tmp_path: Path, version: str) -> None:
    d = make_roster(tmp_path, version)
    with_language_column(d)
    add_row(d, "contacts.csv", sourcedId="p-1", language="en")
    add_row(d, "contacts.csv", sourcedId="t-1", language="NL")
    people = {p.id: p for p in read_roster(d).persons}
    assert people["p-1"].language == "en"
    assert people["t-1"].language == "nl"
    assert people["g-2"].language is None  # in contacts.csv, language empty
    assert people["p-2"].language is None  # not in contacts.csv at all


def test_a_roster_without_the_column_sets_no_language(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    assert all(p.language is None for p in read_roster(d).persons)


@pytest.mark.parametrize("value", ["fr", "english", "nl-BE", " en"])
def test_a_language_without_a_catalogue_is_an_issue(tmp_path: Path, value: str) -> None:
    d = make_roster(tmp_path)
    with_language_column(d)
    line = add_row(d, "contacts.csv", sourcedId="p-1", language=value)
    with pytest.raises(RosterError) as caught:
        read_roster(d)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.column) == ("contacts.csv", line, "language")
    assert issue.render("en").endswith(
        f"unknown language '{value}' (expected empty for the school's language, or one of: nl, en)"
    )
    assert "onbekende taal" in issue.render("nl")
