"""A board with two schools in one roster and one installation (issue 14): each school's mails,
letters, signatures and leadership are its own, from `[schools."…"]` tables keyed by the
roster's sourcedId or by the school's identifier (orgs.csv `identifier`). As processes.

The demo roster, split: class 2B stays at De Passie Utrecht (sourcedId `org-passie-utrecht`),
class 4C moves to a second school, `org-passie-zeist` (identifier `77XX`), with a principal of
its own; Sara (4C) can be reached by nobody, as some pupils of 2B cannot. The board's `[school]`
table names no school: each name comes from the school's table or the roster.
"""

from __future__ import annotations

import csv
import email
import json
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path

from pypdf import PdfReader

from tests.support.processes import DEMO_ROSTER, process_env, run_klasbot

UTRECHT_HEAD = ("Oudegracht 1", "3511 AA Utrecht")
ZEIST_NAME = "Het Passie College Zeist"
ZEIST_HEAD = ("Slotlaan 2", "3701 GA Zeist")
ZEIST_REPLY = "info@passie-zeist.example"
ZEIST_PRINCIPAL = "k.dekker@passie-zeist.example"
ZEIST_CONRECTOR = "conrector@passie-zeist.example"
UTRECHT_PRINCIPAL = "a.visser@passie-utrecht.example"
BOARD_REPLY = "secretariaat@stichting-passie.example"

CONFIG = f"""
[school]
leadership_emails = ["bestuur@stichting-passie.example"]
reply_to = "{BOARD_REPLY}"

[schools."org-passie-utrecht"]
letterhead = {list(UTRECHT_HEAD)!r}
return_address = "De Passie Utrecht, Oudegracht 1, 3511 AA Utrecht"

[schools."77XX"]
name = "{ZEIST_NAME}"
letterhead = {list(ZEIST_HEAD)!r}
return_address = "Passie College Zeist, Slotlaan 2, 3701 GA Zeist"
reply_to = "{ZEIST_REPLY}"
leadership_emails = ["{ZEIST_CONRECTOR}"]
""".replace("'", '"')


def _rewrite(path: Path, change: object) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    rows = [r for r in (change(r) for r in rows) if r is not None]  # type: ignore[operator]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def two_schools(directory: Path) -> Path:
    roster = directory / "roster"
    shutil.copytree(DEMO_ROSTER, roster)
    with (roster / "orgs.csv").open("a", encoding="utf-8") as f:
        f.write("org-passie-zeist,,,De Passie Zeist,school,77XX,org-stichting-passie\n")

    def classes(row: dict[str, str]) -> dict[str, str]:
        if row["sourcedId"] == "cls-4c":
            row["schoolSourcedId"] = "org-passie-zeist"
        return row

    def enrollments(row: dict[str, str]) -> dict[str, str]:
        if row["classSourcedId"] == "cls-4c":
            row["schoolSourcedId"] = "org-passie-zeist"
        return row

    teachers_4c = set()
    with (roster / "enrollments.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["classSourcedId"] == "cls-4c" and row["role"] == "teacher":
                teachers_4c.add(row["userSourcedId"])

    def users(row: dict[str, str]) -> dict[str, str]:
        if row["sourcedId"] in teachers_4c:
            row["orgSourcedIds"] = "org-passie-zeist"
        if row["sourcedId"] == "p-4c-05":  # Sara: no e-mail and no guardian, unreachable
            row["email"] = row["agentSourcedIds"] = ""
        return row

    _rewrite(roster / "classes.csv", classes)
    _rewrite(roster / "enrollments.csv", enrollments)
    _rewrite(roster / "users.csv", users)
    with (roster / "users.csv").open("a", encoding="utf-8") as f:
        f.write(
            "l-dekker,,,true,org-passie-zeist,administrator,k.dekker,,Karin,Dekker,,,"
            f"{ZEIST_PRINCIPAL},,,,,\n"
        )
    return roster


def mails(directory: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((directory / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def to(message: EmailMessage) -> set[str]:
    return {a.addr_spec for a in message["To"].addresses}


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_two_schools_get_their_own_names_letterheads_and_leadership(tmp_path: Path) -> None:
    (tmp_path / "klasbot.toml").write_text(CONFIG, encoding="utf-8")
    env = process_env(tmp_path)
    run_klasbot(env, "db", "upgrade", cwd=tmp_path)
    run_klasbot(env, "roster", "import", str(two_schools(tmp_path)), cwd=tmp_path)
    ids = {}
    for klas, author in (("2B", "t-devries"), ("4C", "t-jansen")):
        out = run_klasbot(
            env,
            *("announce", "--class", klas, "--as", author, "--kind", "reminder"),
            *("--text", "Denk aan je gymkleren."),
            cwd=tmp_path,
        ).stdout
        ids[klas] = out.split()[-1]
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)

    copies = {klas: [] for klas in ids}  # type: dict[str, list[EmailMessage]]
    for message in mails(tmp_path):
        text = text_of(message)
        for klas in ids:
            if f"Klas {klas}" in text or f" {klas}," in text:
                copies[klas].append(message)
    assert copies["2B"]
    assert copies["4C"]
    for message in copies["2B"]:
        text = text_of(message)
        assert "De Passie Utrecht" in text
        assert ZEIST_NAME not in text
        assert str(message["Reply-To"]) == BOARD_REPLY  # Utrecht has none of its own
    for message in copies["4C"]:
        text = text_of(message)
        assert f"mentor 4C, {ZEIST_NAME}" in text, text
        assert "De Passie Utrecht" not in text
        assert str(message["Reply-To"]) == ZEIST_REPLY

    letters = json.loads(run_klasbot(env, "letters", "list", "--json", cwd=tmp_path).stdout)
    by_class: dict[str, list[str]] = {"2B": [], "4C": []}
    for letter in letters:
        klas = "2B" if any(p.startswith("p-2b") for p in letter["pupils"]) else "4C"
        by_class[klas].append(pdf_text(Path(letter["path"])))
    assert by_class["2B"], letters
    assert by_class["4C"], letters
    for text in by_class["2B"]:
        assert all(line in text for line in UTRECHT_HEAD)
        assert "De Passie Utrecht" in text
        assert not any(line in text for line in ZEIST_HEAD)
        assert ZEIST_NAME not in text
    for text in by_class["4C"]:
        assert all(line in text for line in ZEIST_HEAD)
        assert ZEIST_NAME in text
        assert not any(line in text for line in UTRECHT_HEAD)

    # The day's overview of pupils nobody could reach goes to each school's own leadership.
    before = len(mails(tmp_path))
    late = {**env, "KLASBOT_NOW": "2026-11-23T16:30:00+01:00"}
    run_klasbot(late, "dispatch", "--once", cwd=tmp_path)
    overviews = mails(tmp_path)[before:]
    leadership = {
        UTRECHT_PRINCIPAL,
        ZEIST_PRINCIPAL,
        ZEIST_CONRECTOR,
        "bestuur@stichting-passie.example",
    }
    told = [m for m in overviews if to(m) & leadership]
    assert {frozenset(to(m) & leadership) for m in told} == {
        frozenset({ZEIST_PRINCIPAL, ZEIST_CONRECTOR}),
        frozenset({UTRECHT_PRINCIPAL, "bestuur@stichting-passie.example"}),
    }, [sorted(to(m)) for m in overviews]
    for message in told:
        text = text_of(message)
        if to(message) & {ZEIST_PRINCIPAL, ZEIST_CONRECTOR}:
            assert to(message) & leadership == {ZEIST_PRINCIPAL, ZEIST_CONRECTOR}
            assert "4C" in text
            assert "2B" not in text
            assert ZEIST_NAME in text
        else:
            assert to(message) & leadership == {
                UTRECHT_PRINCIPAL,
                "bestuur@stichting-passie.example",
            }
            assert "2B" in text
            assert "4C" not in text
            assert "De Passie Utrecht" in text
