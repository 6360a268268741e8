"""`klasbot dossier export` as an admin runs it, each command its own process on SQLite: the demo
school imported, an announcement to 2B, then a pupil's dossier as JSON and as a PDF (read back with
pypdf), a class's dossier, and the exports themselves in the audit trail. No other pupil of the
roster, nor any guardian, is named or addressed in any of them. (One test: each process costs
seconds.)"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

from pypdf import PdfReader

from tests.support.processes import DEMO_ROSTER, demo_school, process_env, run_klasbot

ZOE = "p-2b-01"


def roster_people() -> dict[str, dict[str, str]]:
    """The demo roster's persons with their names and addresses (users.csv and contacts.csv)."""
    with (DEMO_ROSTER / "users.csv").open(encoding="utf-8") as f:
        people = {row["sourcedId"]: row for row in csv.DictReader(f)}
    with (DEMO_ROSTER / "contacts.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["sourcedId"] in people and row["email"]:
                people[row["sourcedId"]]["contact_email"] = row["email"]
    return people


def named(text: str, subject: str) -> list[str]:
    """Names and e-mail addresses of every pupil and guardian but `subject` found in `text` (a
    family name the subject has too is theirs); staff are left out (they appear where they acted,
    with their name)."""
    people = roster_people()
    own = {people[subject]["givenName"], people[subject]["familyName"]}
    found = []
    for pid, p in people.items():
        if pid == subject or p["role"] not in ("student", "parent", "guardian", "relative"):
            continue
        for address in (p["email"], p.get("contact_email")):
            if address and address.lower() in text.lower():
                found.append(address)
        for name in (p["givenName"], p["familyName"]):
            if name not in own and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                found.append(name)
        if re.search(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", text):
            found.append(pid)
    return found


def test_dossiers_of_a_pupil_and_a_class_name_nobody_else(tmp_path: Path) -> None:
    env = {**process_env(tmp_path), "COLUMNS": "200"}
    demo_school(env, tmp_path, announce="Neem morgen je gymkleren mee.")

    dumped = run_klasbot(env, "dossier", "export", ZOE, "--json", cwd=tmp_path).stdout
    data = json.loads(dumped)
    assert data["person"]["full_name"] == "Zoë van den Berg"
    assert data["person"]["birth_date"] == "2012-03-14"
    assert {"announcement", "fallback-delivery"} <= {e["kind"] for e in data["events"]}
    [copy] = data["deliveries"]
    assert (copy["announcement"], copy["kind"], copy["channel"]) == (1, "reminder", "email")
    assert named(dumped, ZOE) == []
    # The guardian who got the e-mail is there, by pseudonym only.
    assert copy["recipients"]
    assert copy["recipients"][0].startswith("person-")

    pdf = tmp_path / "zoe.pdf"
    proc = run_klasbot(env, "dossier", "export", ZOE, "--pdf", str(pdf), cwd=tmp_path)
    assert proc.stdout == ""
    assert str(pdf) in proc.stderr
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert text.splitlines()[0] == "De Passie Utrecht"  # the letterhead
    assert "Dossier van Zoë van den Berg" in text
    assert "Logboek" in text
    assert "fallback-delivery" in text
    assert copy["recipients"][0] in text
    assert named(text, ZOE) == []

    # A pupil whose name needs the embedded font, in a school that speaks English.
    english = {**env, "KLASBOT_SCHOOL__LANGUAGE": "en"}
    pdf_emre = tmp_path / "emre.pdf"
    run_klasbot(english, "dossier", "export", "p-4c-04", "--pdf", str(pdf_emre), cwd=tmp_path)
    text = "\n".join(page.extract_text() for page in PdfReader(pdf_emre).pages)
    assert "Dossier of Emre Yılmaz" in text
    assert "Personal details" in text
    assert named(text, "p-4c-04") == []

    klass = run_klasbot(env, "dossier", "export", "2B", "--json", cwd=tmp_path).stdout
    of_class = json.loads(klass)
    assert of_class["class"]["code"] == "2B"
    assert [a["id"] for a in of_class["announcements"]] == [1]
    assert "Neem morgen je gymkleren mee." in of_class["announcements"][0]["body"]
    assert "announcement" in {e["kind"] for e in of_class["events"]}
    assert named(klass, "t-devries") == []

    table = run_klasbot(env, "dossier", "export", ZOE, cwd=tmp_path).stdout
    assert "Persoonsgegevens" in table
    assert "Zoë van den Berg" in table
    assert named(table, ZOE) == []

    # Every export is in the audit trail: who ran it and how it was handed out.
    with sqlite3.connect(tmp_path / "klasbot.db") as db:
        rows = db.execute(
            "SELECT e.details, p.person_id, c.class_id FROM audit_events e "
            "LEFT JOIN audit_persons p ON p.event_id = e.id "
            "LEFT JOIN audit_classes c ON c.event_id = e.id "
            "WHERE e.kind = 'dossier-exported' ORDER BY e.id"
        ).fetchall()
    formats = [(json.loads(d)["format"], person, klass_id) for d, person, klass_id in rows]
    assert formats == [
        ("json", ZOE, None),
        ("pdf", ZOE, None),
        ("pdf", "p-4c-04", None),
        ("json", None, "cls-2b"),
        ("table", ZOE, None),
    ]
    assert all(json.loads(d)["by"] for d, _, _ in rows)

    # Bad input is one line and no export.
    unknown = run_klasbot(env, "dossier", "export", "nobody", cwd=tmp_path, ok=False)
    assert unknown.returncode != 0
    assert unknown.stdout == ""
    assert unknown.stderr.count("\n") == 1
    assert "'nobody'" in unknown.stderr

    nowhere = tmp_path / "missing" / "zoe.pdf"
    missing = run_klasbot(
        env, "dossier", "export", ZOE, "--pdf", str(nowhere), cwd=tmp_path, ok=False
    )
    assert missing.returncode != 0
    assert missing.stderr.count("\n") == 1
    assert "bestaat niet" in missing.stderr
    assert not nowhere.parent.exists()
    with sqlite3.connect(tmp_path / "klasbot.db") as db:
        [(count,)] = db.execute(
            "SELECT count(*) FROM audit_events WHERE kind = 'dossier-exported'"
        ).fetchall()
    assert count == len(rows)
