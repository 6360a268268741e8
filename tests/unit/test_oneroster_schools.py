"""The schools of each person, read from a OneRoster export: 1.1 `orgSourcedIds` on users.csv;
1.2 `primaryOrgSourcedId` plus the `orgSourcedId` of each of the user's roles.csv rows."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_oneroster import (
    LINE,
    add_row,
    header,
    make_roster,
    persons,
    read_csv,
    row,
    set_cell,
    write_csv,
)


def add_school(d: Path, version: str, sid: str = "org-2", name: str = "Tweede school") -> None:
    rows = read_csv(d / "orgs.csv")
    rows.append(row(header(version, "orgs"), sourcedId=sid, name=name, type="school"))
    write_csv(d / "orgs.csv", rows)


def test_11_every_org_of_a_user_is_a_school_of_the_person(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.1")
    add_school(d, "1.1")
    set_cell(d, "users.csv", LINE["a-1"], "orgSourcedIds", "org-2,org-1")
    found = persons(d)
    assert found["a-1"].school_ids == ("org-1", "org-2")
    assert found["p-1"].school_ids == ("org-1",)
    assert found["g-1"].school_ids == ("org-1",)


def test_12_the_primary_org_and_the_org_of_every_role(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    add_school(d, "1.2")
    set_cell(d, "users.csv", LINE["a-1"], "primaryOrgSourcedId", "org-1")
    # Anne Visser is principal of the first school and also of the second.
    add_row(
        d, "roles.csv", sourcedId="r-extra", userSourcedId="a-1", roleType="secondary",
        role="principal", orgSourcedId="org-2",
    )  # fmt: skip
    found = persons(d)
    assert found["a-1"].school_ids == ("org-1", "org-2")
    # No primaryOrgSourcedId: the orgs of the roles alone.
    assert found["t-1"].school_ids == ("org-1",)
