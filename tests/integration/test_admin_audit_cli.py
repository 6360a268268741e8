"""Rule 10 on the command line: every command that changes something is an `admin-command` audit
event — who ran it (the operating-system user), which command with which options, tied to the
persons it names and to the class — while listings, `--dry-run` and `doctor` record nothing, and
free text (`--text`, `--reason`) is recorded as given, never its words. Real processes on SQLite."""

from __future__ import annotations

import getpass
from pathlib import Path

from bot.domain import AuditEvent
from storage.store import Database
from tests.support.processes import DEMO_ROSTER, demo_school, process_env, run_klasbot

TEXT = "Neem je gymspullen mee"


async def admin_commands(database_url: str) -> list[AuditEvent]:
    db = Database(database_url)
    try:
        async with db.transaction() as tx:
            return await tx.audit.events(kind="admin-command")
    finally:
        await db.dispose()


async def test_commands_that_change_something_are_audited(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    demo_school(env, tmp_path, announce=TEXT)  # db upgrade, roster import, announce (id 1)
    run_klasbot(env, "withdraw", "1", "--reason", "verkeerde klas", cwd=tmp_path)
    run_klasbot(env, "invites", "create", "--person", "g-03", cwd=tmp_path)
    run_klasbot(env, "roster", "import", "--dry-run", str(DEMO_ROSTER), cwd=tmp_path)
    run_klasbot(env, "deliveries", "1", cwd=tmp_path)
    run_klasbot(env, "doctor", cwd=tmp_path)
    refused = run_klasbot(
        env,
        *("announce", "--class", "2B", "--as", "Jan Jansen", "--kind", "reminder"),
        *("--text", "x"),
        cwd=tmp_path,
        ok=False,
    )
    assert refused.returncode == 1

    events = await admin_commands(env["KLASBOT_DATABASE_URL"])
    assert [e.details["command"] for e in events] == [
        "roster import",
        "announce",
        "withdraw",
        "invites create",
        "announce",
    ]
    assert {e.details["by"] for e in events} == {getpass.getuser()}
    roster_import, announce, withdraw, invites, unknown = events

    assert roster_import.details["options"] == {"directory": True}  # a path: given, not kept
    assert announce.details["options"] == {
        "--class": "2B",
        "--as": "t-devries",
        "--kind": "reminder",
        "--text": True,
    }
    assert announce.person_ids == ("t-devries",)
    assert announce.class_ids == ("cls-2b",)
    assert withdraw.details["options"] == {"announcement_id": 1, "--reason": True}
    assert withdraw.class_ids == ("cls-2b",)  # the announcement's class
    assert invites.person_ids == ("g-03",)
    # A name typed where an id belongs is not kept, nor tied to anyone.
    assert unknown.details["options"]["--as"] == "?"
    assert unknown.person_ids == ()
    for event in events:
        assert TEXT not in repr(event.details)
        assert "verkeerde klas" not in repr(event.details)
        assert "Jan Jansen" not in repr(event.details)
