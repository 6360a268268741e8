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


def test_the_code_that_reads_and_stores_a_roster_is_fingerprinted() -> None:
    """Each module the reader and the sync import (of those that decide what an export becomes
    in the database) is in the fingerprint: a change to it makes the same export be read again."""
    import ast
    from importlib.util import find_spec

    from bot.cli.roster import _ROSTER_CODE

    deciding = ("adapters.oneroster", "storage.sql.", "storage.models", "bot.domain", "bot.limits")
    deciding += ("bot.person_records",)
    seen: set[str] = set()
    todo = ["adapters.oneroster.reader", "storage.sql.roster", "storage.sql.roster_sync"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        spec = find_spec(module)
        assert spec is not None
        assert spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            todo += [name for name in names if name.startswith(deciding)]
    packages = {"adapters.oneroster"}
    assert sorted(seen - packages - set(_ROSTER_CODE)) == []
    assert {"adapters.oneroster.reader", "storage.sql.roster_sync", "bot.person_records"} <= seen
