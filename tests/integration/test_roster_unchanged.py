"""An export imported before and unchanged since is not read again (issue 14: a re-import that
changes nothing touches nothing): the import recognises it by its fingerprint and the roster
generation it left. Whatever changed the roster since (an erasure, a `/taal`, a delta import
that changed something, another export) makes the next import read the export again."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.usecases import erasure, preferences
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_ROSTER
from tests.support.processes import process_env, run_klasbot

READ = "read OneRoster"
"""What the reader logs (INFO, `-v`) once it has read an export."""


async def test_the_export_imported_last_is_recognised(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    assert not await roster_uc.unchanged(app.ctx, "export-a")

    await roster_uc.import_roster(app.ctx, snapshot, fingerprint="export-a")

    assert await roster_uc.unchanged(app.ctx, "export-a")
    assert not await roster_uc.unchanged(app.ctx, "export-b")
    await roster_uc.import_roster(app.ctx, snapshot, fingerprint="export-b")
    assert await roster_uc.unchanged(app.ctx, "export-b")
    assert not await roster_uc.unchanged(app.ctx, "export-a")


async def test_a_dry_run_or_a_delta_is_not_remembered(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    await roster_uc.import_roster(app.ctx, snapshot, dry_run=True, fingerprint="dry")
    assert not await roster_uc.unchanged(app.ctx, "dry")
    await roster_uc.import_roster(app.ctx, snapshot, deleted={}, fingerprint="delta")
    assert not await roster_uc.unchanged(app.ctx, "delta")


async def test_whatever_changes_the_roster_since_makes_it_read_again(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)

    await roster_uc.import_roster(app.ctx, snapshot, fingerprint="x")
    await preferences.set_language(app.ctx, "p-2b-01", "en")
    assert not await roster_uc.unchanged(app.ctx, "x")

    await roster_uc.import_roster(app.ctx, snapshot, fingerprint="x")
    assert await roster_uc.unchanged(app.ctx, "x")
    await erasure.erase(app.ctx, "p-2b-02", by="test")
    assert not await roster_uc.unchanged(app.ctx, "x")

    await roster_uc.import_roster(app.ctx, snapshot, fingerprint="x")
    assert await roster_uc.unchanged(app.ctx, "x")
    renamed = tuple(
        replace(p, given_name="Anders") if p.id == "p-2b-03" else p for p in snapshot.persons
    )
    changes = await roster_uc.import_roster(app.ctx, replace(snapshot, persons=renamed), deleted={})
    assert changes.updated == {"persons": ["p-2b-03"]}
    assert not await roster_uc.unchanged(app.ctx, "x")

    # A delta that changes nothing leaves the roster as the bulk export made it.
    await roster_uc.import_roster(app.ctx, snapshot, fingerprint="x")
    await roster_uc.import_roster(app.ctx, snapshot, deleted={})
    assert await roster_uc.unchanged(app.ctx, "x")


def test_the_cli_skips_an_unchanged_export_and_reads_a_changed_one(
    tmp_path: Path, database_url: str
) -> None:
    export = tmp_path / "export"
    shutil.copytree(DEMO_ROSTER, export)
    env = process_env(tmp_path, database_url)
    run_klasbot(env, "db", "upgrade", cwd=tmp_path)
    first = json.loads(
        run_klasbot(env, "roster", "import", str(export), "--json", cwd=tmp_path).stdout
    )
    assert len(first["added"]["persons"]) > 20

    again = run_klasbot(env, "-v", "roster", "import", str(export), "--json", cwd=tmp_path)
    assert READ not in again.stderr  # not read at all
    assert json.loads(again.stdout) == {
        "dry_run": False,
        "added": {},
        "updated": {},
        "removed": {},
        "left_class": [],
    }
    text = run_klasbot(env, "roster", "import", str(export), cwd=tmp_path).stdout
    assert "niets te wijzigen" in text

    # An erased pupil who is still in the export comes back: the export is read again.
    run_klasbot(env, "person", "erase", "p-2b-02", cwd=tmp_path)
    back = run_klasbot(env, "roster", "import", str(export), "--json", cwd=tmp_path)
    assert json.loads(back.stdout)["added"]["persons"] == ["p-2b-02"]

    # One changed byte in one file: read again, and the change is found.
    users = export / "users.csv"
    users.write_text(users.read_text(encoding="utf-8").replace(",Fatima,", ",Fatma,"), "utf-8")
    changed = run_klasbot(env, "-v", "roster", "import", str(export), "--json", cwd=tmp_path)
    assert READ in changed.stderr
    assert json.loads(changed.stdout)["updated"] == {"persons": ["t-bakker"]}
    same = run_klasbot(env, "roster", "import", str(export), "--json", cwd=tmp_path)
    assert json.loads(same.stdout)["updated"] == {}

    # A dry run of the export imported last has nothing to show either.
    dry = run_klasbot(env, "roster", "import", str(export), "--dry-run", cwd=tmp_path)
    assert "niets te wijzigen" in dry.stdout
