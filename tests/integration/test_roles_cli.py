"""A teacher who is also a parent (OneRoster 1.2 roles.csv: primary teacher, secondary parent)
still reaches their own child, through the command line as an admin uses it."""

from __future__ import annotations

import csv
import email
import json
from email import policy
from pathlib import Path

from tests.support.processes import process_env, run_klasbot
from tests.support.rosters import Roster, User


def school() -> Roster:
    r = Roster(classes=[("cls-h3a", "H3A"), ("cls-v5b", "V5B")])
    r.users = [
        User("tch-1", "teacher", "Karin", "Smit", email="k.smit@veen.example"),
        # Teaches V5B and is the mother of Bram in H3A.
        User("tch-2", "teacher", "Ellen", "Visser", email="e.visser@veen.example"),
        User("s-bram", "student", "Bram", "Visser", birth="2012-03-04", agents=["tch-2"]),
    ]
    r.enrollments = [
        ("cls-h3a", "tch-1", "teacher", True),
        ("cls-v5b", "tch-2", "teacher", True),
        ("cls-h3a", "s-bram", "student", False),
    ]
    return r


def add_secondary_role(directory: Path, user: str, role: str) -> None:
    with (directory / "roles.csv").open("a", newline="", encoding="utf-8") as f:
        # sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,
        # orgSourcedId,userProfileSourcedId
        csv.writer(f).writerow(
            [f"r-{user}-{role}", "", "", user, "secondary", role, "", "", "org-veen", ""]
        )


def test_a_teacher_who_is_a_parent_gets_their_childs_announcement(
    tmp_path: Path, database_url: str
) -> None:
    roster = school().write(tmp_path / "export", "1.2")
    add_secondary_role(roster, "tch-2", "parent")
    env = process_env(tmp_path, database_url, KLASBOT_SCHOOL__NAME="Veenlanden College")

    def cli(*args: str) -> str:
        return run_klasbot(env, *args, cwd=tmp_path).stdout

    cli("db", "upgrade")
    cli("roster", "import", str(roster))
    announcement_id = cli(
        "announce", "--class", "H3A", "--as", "tch-1", "--kind", "reminder", "--text",
        "Denk aan je gymkleren.",
    ).strip()  # fmt: skip
    cli("dispatch", "--once")

    [row] = json.loads(cli("deliveries", announcement_id, "--json"))
    assert row["pupil"] == "s-bram"
    assert row["channel"] == "email"  # not "unreachable": the guardianship survived the import
    assert row["status"] == "sent"
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in (tmp_path / "outbox").glob("*.eml")
    ]
    to = {a.addr_spec for m in mails if "gymkleren" in str(m.get_body(("plain",)).get_content())
          for a in m["To"].addresses}  # fmt: skip
    assert to == {"e.visser@veen.example"}
