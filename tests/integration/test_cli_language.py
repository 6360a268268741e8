"""The CLI's tables and the demo speak the school's language (`school.language`): Dutch by default,
English with KLASBOT_SCHOOL__LANGUAGE=en; `--json` keeps the SPEC's field names and codes. Real
processes over one database (the admin's way in)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support.processes import KLASBOT, demo_school, process_env, run_klasbot

WIDE = {"COLUMNS": "250"}  # a table cell is never folded over two lines here


def test_tables_and_labels_follow_the_schools_language(tmp_path: Path) -> None:
    env = {**process_env(tmp_path), **WIDE}
    demo_school(env, tmp_path, announce="Gymspullen mee")
    english = {**env, "KLASBOT_SCHOOL__LANGUAGE": "en"}

    dutch = run_klasbot(env, "deliveries", "1", cwd=tmp_path).stdout
    for text in ("leerling", "kanaal", "reden", "klas heeft geen groep", "jonger dan 13", "wacht"):
        assert text in dutch, dutch
    assert "no-group" not in dutch

    table = run_klasbot(english, "deliveries", "1", cwd=tmp_path).stdout
    for text in ("pupil", "channel", "reason", "class has no group", "under 13", "pending"):
        assert text in table, table
    assert "klas heeft geen groep" not in table

    rows = json.loads(run_klasbot(english, "deliveries", "1", "--json", cwd=tmp_path).stdout)
    assert {r["reason"] for r in rows} == {"no-group", "under-13"}
    assert {r["channel"] for r in rows} <= {"email", "post", "unreachable"}
    assert "pending" in {r["status"] for r in rows}

    kind_cell = r"│ {}\s+│"  # the kind's column (the text itself is the school's Dutch)
    assert re.search(
        kind_cell.format("Herinnering"), run_klasbot(env, "announcements", cwd=tmp_path).stdout
    )
    listed = run_klasbot(english, "announcements", cwd=tmp_path).stdout
    assert re.search(kind_cell.format("Reminder"), listed), listed
    assert not re.search(kind_cell.format("Herinnering"), listed)


def _demo(tmp: Path, env: dict[str, str], lines: list[str]) -> str:
    proc = subprocess.run(
        [*KLASBOT, "demo"],
        input="\n".join(lines) + "\n",
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stdout


def test_the_demo_follows_the_schools_language_and_the_bot_each_persons(tmp_path: Path) -> None:
    env = {**process_env(tmp_path), **WIDE}
    script = [":wie 2B", ":help", "p-2b-01: hallo?", ":onzin"]

    dutch = _demo(tmp_path, env, script)
    for text in (
        "klas 2B",
        "leerling",
        ":als PERSOON       word PERSOON",
        "Hallo! Ik geef de berichten van de docenten van de klas door.",
        "onbekend demo-commando :onzin",
    ):
        assert text in dutch, dutch

    english = _demo(tmp_path, {**env, "KLASBOT_SCHOOL__LANGUAGE": "en"}, script)
    for text in (
        "class 2B",
        "pupil",
        ":as PERSON         become PERSON",
        "Hello! I pass on the messages of the class's teachers.",
        "unknown demo command :onzin",
    ):
        assert text in english, english
    assert "leerling" not in english
