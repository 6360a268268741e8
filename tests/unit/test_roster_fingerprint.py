"""The fingerprint an unchanged export is recognised by: every CSV file, by name and content."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.cli.roster import _fingerprint
from tests.conftest import DEMO_ROSTER


def _export(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(DEMO_ROSTER, tmp_path / name))


def test_the_same_files_give_the_same_fingerprint(tmp_path: Path) -> None:
    a, b = _export(tmp_path, "a"), _export(tmp_path, "b")
    assert _fingerprint(a) == _fingerprint(b)
    (b / "README.txt").write_text("not a roster file", encoding="utf-8")
    assert _fingerprint(a) == _fingerprint(b)


def test_any_byte_of_any_csv_file_changes_it(tmp_path: Path) -> None:
    a = _export(tmp_path, "a")
    before = _fingerprint(a)
    seen = {before}
    for path in sorted(a.glob("*.csv")):
        data = path.read_bytes()
        path.write_bytes(data + b"\n")
        seen.add(_fingerprint(a))
        path.write_bytes(data)
        assert _fingerprint(a) == before
    assert len(seen) == len(list(a.glob("*.csv"))) + 1


def test_a_renamed_or_added_csv_file_changes_it(tmp_path: Path) -> None:
    a = _export(tmp_path, "a")
    before = _fingerprint(a)
    (a / "extra.csv").write_text("sourcedId\n", encoding="utf-8")
    added = _fingerprint(a)
    (a / "extra.csv").rename(a / "other.csv")
    assert len({before, added, _fingerprint(a)}) == 3
