"""users.csv `username` (the school account's sign-in name) is kept on the person, in 1.1 and
1.2; an empty one is None (the column is required, its value is not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_oneroster import LINE, make_roster, persons, set_cell


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_username_is_kept(tmp_path: Path, version: str) -> None:
    d = make_roster(tmp_path, version)
    set_cell(d, "users.csv", LINE["p-1"], "username", " Zoe.Berg@School.example ")
    found = persons(d)
    assert found["p-1"].username == "Zoe.Berg@School.example"
    assert found["t-1"].username == "t-1"  # make_roster's username is the sourcedId


def test_empty_username_is_none(tmp_path: Path) -> None:
    d = make_roster(tmp_path)
    set_cell(d, "users.csv", LINE["g-2"], "username", "")
    assert persons(d)["g-2"].username is None
