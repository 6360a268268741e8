"""No link code at rest: after `invites create`, `dispatch --once` and the office posting the
letters, a dump of the whole SQLite database holds none of the codes (only their hashes) — not in
`invites`, not in the outbox rows that carried them. Before the letters are posted their codes
are still in the outbox (a letter of the day is re-rendered when more is added to it)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support.processes import demo_school, process_env, run_klasbot


def dump(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


def test_the_database_keeps_no_code_once_the_codes_went_out(tmp_path: Path) -> None:
    db = tmp_path / "klasbot.db"
    env = process_env(tmp_path, f"sqlite+aiosqlite:///{db}")
    demo_school(env, tmp_path)
    issued = json.loads(
        run_klasbot(env, "invites", "create", "--class", "2B", "--json", cwd=tmp_path).stdout
    )
    codes = [row["code"] for row in issued]
    assert codes
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    letters = json.loads(run_klasbot(env, "letters", "list", "--json", cwd=tmp_path).stdout)
    assert letters, "the demo school has households without e-mail: their codes go by letter"
    waiting = dump(db)
    assert any(c in waiting for c in codes)  # the letters' codes, until the office posts them
    run_klasbot(env, "letters", "mark-posted", "--all", cwd=tmp_path)
    at_rest = dump(db)
    assert [c for c in codes if c in at_rest] == []
    assert [c for c in codes if c.lower() in at_rest.lower()] == []
