"""An over-long roster value fails `klasbot roster import` with a roster problem naming file, line
and column, the same on SQLite (which would keep it) and PostgreSQL (which would refuse it with a
bare database error), and nothing is imported."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import process_env, run_klasbot
from tests.support.rosters import Roster, User


def test_an_over_long_given_name_is_a_roster_problem(tmp_path: Path, database_url: str) -> None:
    r = Roster(classes=[("cls-h3a", "H3A")])
    r.users = [
        User("tch-1", "teacher", "Karin", "Smit", email="k.smit@veen.example"),
        User("s-1", "student", "G" * 300, "Visser", birth="2012-03-04"),
    ]
    r.enrollments = [("cls-h3a", "tch-1", "teacher", True), ("cls-h3a", "s-1", "student", False)]
    roster = r.write(tmp_path / "export", "1.2")
    env = process_env(tmp_path, database_url)
    run_klasbot(env, "db", "upgrade", cwd=tmp_path)

    proc = run_klasbot(env, "roster", "import", str(roster), cwd=tmp_path, ok=False)

    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    named = [line for line in proc.stderr.splitlines() if "users.csv" in line]
    # s-1 is the second user: line 3 (the header is line 1).
    assert named == ["users.csv, regel 3, kolom givenName: te lang: 300 tekens (hoogstens 255)"]
    classes = run_klasbot(env, "classes", "--json", cwd=tmp_path).stdout
    assert json.loads(classes) == []  # all or nothing
