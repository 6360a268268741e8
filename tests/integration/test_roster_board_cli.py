"""`klasbot roster import` of a board's export big enough for a second process to read
demographics.csv and contacts.csv (`adapters.oneroster.side`): the database holds what one
process reads from the same files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from adapters.oneroster.reader import read_roster
from bench.roster_import import write_board
from tests.support.processes import process_env, run_klasbot

PUPILS = 15_000


def test_a_board_read_by_two_processes_is_stored_as_one_reads_it(tmp_path: Path) -> None:
    board = write_board(tmp_path / "board", PUPILS)
    database = tmp_path / "klasbot.db"
    env = process_env(tmp_path, f"sqlite+aiosqlite:///{database}")
    run_klasbot(env, "db", "upgrade", cwd=tmp_path)

    done = run_klasbot(env, "-vv", "roster", "import", str(board), "--json", cwd=tmp_path)

    assert "roster file(s) read by a child process" in done.stderr
    persons = read_roster(board).persons
    assert len(json.loads(done.stdout)["added"]["persons"]) == len(persons)
    with sqlite3.connect(database) as db:
        stored = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT id, birth_date, email, street, postal_code, city, preference, language "
                "FROM persons"
            )
        }
    expected = {
        p.id: (
            p.birth_date.isoformat() if p.birth_date else None,
            p.email,
            p.address.street if p.address else None,
            p.address.postal_code if p.address else None,
            p.address.city if p.address else None,
            str(p.preference),
            p.language,
        )
        for p in persons
    }
    assert stored == expected
    # What the child read is there: every pupil's birth date, the guardians' addresses.
    assert all(row[0] for key, row in stored.items() if key.startswith("s-"))
    assert sum(1 for row in stored.values() if row[2]) >= PUPILS
