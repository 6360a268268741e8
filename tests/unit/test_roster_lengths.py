"""Over-long roster values are roster issues naming file, line and column, on every database:
checked by the reader against the same limits that size the database's columns (`bot.limits`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.oneroster import read_roster
from adapters.oneroster.columns import MAX_LENGTHS
from adapters.oneroster.state import M_TOO_LONG
from storage.models import Base
from tests.unit.test_oneroster import LINE, add_row, issues_of, make_roster, set_cell

# Where each length-limited roster column is kept: its database column must be as long.
STORED_IN: dict[tuple[str, str], tuple[str, str]] = {
    ("orgs", "sourcedId"): ("schools", "id"),
    ("orgs", "name"): ("schools", "name"),
    ("users", "sourcedId"): ("persons", "id"),
    ("users", "givenName"): ("persons", "given_name"),
    ("users", "familyName"): ("persons", "family_name"),
    ("users", "middleName"): ("persons", "middle_name"),
    ("users", "preferredGivenName"): ("persons", "preferred_given_name"),
    ("users", "email"): ("persons", "email"),
    ("users", "username"): ("persons", "username"),
    ("classes", "sourcedId"): ("classes", "id"),
    ("classes", "title"): ("classes", "title"),
    ("classes", "classCode"): ("classes", "code"),
    ("contacts", "sourcedId"): ("persons", "id"),
    ("contacts", "email"): ("persons", "email"),
    ("contacts", "street"): ("persons", "street"),
    ("contacts", "postalCode"): ("persons", "postal_code"),
    ("contacts", "city"): ("persons", "city"),
}
FIELDS = [
    (stem, column, limit) for stem, cols in MAX_LENGTHS.items() for column, limit in cols.items()
]
ONLY_12 = {("users", "preferredGivenName")}
"""Columns that OneRoster 1.2 added: checked on a 1.2 export."""


def version_of(stem: str, column: str) -> str:
    return "1.2" if (stem, column) in ONLY_12 else "1.1"


def value(column: str, length: int) -> str:
    if column == "email":
        return "a" * (length - len("@x.nl")) + "@x.nl"
    if column == "sourcedId":
        return "i" * length  # a GUID's characters
    return "é" * length  # characters, not bytes, count


def put(d: Path, stem: str, column: str, text: str) -> int:
    """Write `text` into `column` of a row of `stem`; returns that row's line."""
    if column == "sourcedId":  # a new record, so that nothing refers to a changed id
        if stem == "orgs":
            return add_row(d, "orgs.csv", sourcedId=text, name="Stichting 2", type="district")
        if stem == "classes":
            return add_row(d, "classes.csv", sourcedId=text, title="Klas 9Z",
                           courseSourcedId="crs-1", classType="homeroom",
                           schoolSourcedId="org-1", termSourcedIds="term-1")  # fmt: skip
        if stem == "users":
            return add_row(d, "users.csv", sourcedId=text, enabledUser="true",
                           orgSourcedIds="org-1", role="guardian", username="x",
                           givenName="Kim", familyName="Kok")  # fmt: skip
        return add_row(d, "contacts.csv", sourcedId=text, fallback="post")
    line = {"orgs": 2, "classes": 2, "users": LINE["g-2"], "contacts": 2}[stem]
    set_cell(d, f"{stem}.csv", line, column, text)
    return line


def test_every_stored_roster_column_is_checked() -> None:
    assert {(stem, column) for stem, column, _ in FIELDS} == set(STORED_IN)


@pytest.mark.parametrize(("stem", "column", "limit"), FIELDS)
def test_limits_are_the_schemas(stem: str, column: str, limit: int) -> None:
    table, stored = STORED_IN[(stem, column)]
    assert Base.metadata.tables[table].c[stored].type.length == limit  # type: ignore[attr-defined]


@pytest.mark.parametrize(("stem", "column", "limit"), FIELDS)
def test_an_over_long_value_names_file_line_and_column(
    tmp_path: Path, stem: str, column: str, limit: int
) -> None:
    d = make_roster(tmp_path, version_of(stem, column))
    line = put(d, stem, column, value(column, limit + 1))
    issues = issues_of(d)
    too_long = [i for i in issues if i.msg is M_TOO_LONG]
    assert [(i.file, i.line, i.column) for i in too_long] == [(f"{stem}.csv", line, column)]
    assert too_long[0].params == {"length": limit + 1, "limit": limit}
    if (stem, column) != ("contacts", "sourcedId"):  # that one is also an unknown user
        assert issues == too_long
    rendered = too_long[0].render("nl")
    assert rendered == (
        f"{stem}.csv, regel {line}, kolom {column}: te lang: {limit + 1} tekens (hoogstens {limit})"
    )


@pytest.mark.parametrize(("stem", "column", "limit"), FIELDS)
def test_a_value_of_the_limit_is_accepted(
    tmp_path: Path, stem: str, column: str, limit: int
) -> None:
    d = make_roster(tmp_path, version_of(stem, column))
    text = value(column, limit)
    put(d, stem, column, text)
    if (stem, column) == ("contacts", "sourcedId"):
        pytest.skip("a contacts.csv row must name a user")
    read_roster(d)


def test_12_users_are_checked_too(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    set_cell(d, "users.csv", LINE["p-1"], "givenName", "x" * 300)
    [issue] = issues_of(d)
    assert (issue.file, issue.line, issue.column, issue.msg) == (
        "users.csv",
        LINE["p-1"],
        "givenName",
        M_TOO_LONG,
    )
