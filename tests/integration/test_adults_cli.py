"""Adults (rule 6, issue 12): an 18-year-old pupil's announcements and link code never go to a
guardian without recorded consent (`contacts.csv` `share_with_guardians`). As processes: a
roster import with adults with and without consent, `announce`, `deliveries --json`, the mail
outbox and the letters after `dispatch --once`, then `invites create` for the class.

Class 4C of the demo school on Monday 23 November 2026, with `school.pupil_email_from_age` off
(so that a minor's copy goes to the guardians and an adult's own e-mail is the adult rule's):
- Lucas (p-4c-01) turns 18 tomorrow: his mother Marieke gets it;
- Fleur (p-4c-02) is 19 and consents: her father Hans gets it, as for a minor;
- Thijs (p-4c-03) turns 18 today: his own e-mail, not his mother Mirjam's;
- Emre (p-4c-04) is 20, consent `nee`, has his own address: a letter to him, not to Elif;
- Sara (p-4c-05) is 16 and nobody can be reached: unreachable, `no-group`;
- Mees (p-4c-06), born 29 February 2008, is 18 since 1 March; no contact of his own: unreachable
  with `adult-no-contact`, and Petra (who has an address) gets nothing.
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

BIRTHS = {
    "p-4c-01": "2008-11-24",
    "p-4c-02": "2007-05-01",
    "p-4c-03": "2008-11-23",
    "p-4c-04": "2006-02-10",
    "p-4c-06": "2008-02-29",
}
CONSENT = {"p-4c-02": "Yes", "p-4c-03": "", "p-4c-04": "nee", "p-4c-06": "no"}
EMRE_STREET = "Biltstraat 30"
GUARDIANS_WITHOUT_CONSENT = {
    "mirjam.hoekstra@mail.example",  # Thijs's mother
    "elif.yilmaz@mail.example",  # Emre's mother
}


def adults_roster(directory: Path) -> Path:
    roster = directory / "roster"
    shutil.copytree(DEMO_ROSTER, roster)
    path = roster / "demographics.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["birthDate"] = BIRTHS.get(row["sourcedId"], row["birthDate"])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    path = roster / "contacts.csv"
    with path.open(newline="", encoding="utf-8") as f:
        contacts = list(csv.DictReader(f))
    contacts += [
        {"sourcedId": "p-4c-02"},
        {"sourcedId": "p-4c-03"},
        {"sourcedId": "p-4c-04", "street": EMRE_STREET, "postalCode": "3572 BC", "city": "Utrecht"},
        {"sourcedId": "p-4c-06"},
    ]
    for row in contacts:
        row["share_with_guardians"] = CONSENT.get(row["sourcedId"], "")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*contacts[0]], restval="")
        writer.writeheader()
        writer.writerows(contacts)
    return roster


def mails(directory: Path) -> dict[str, EmailMessage]:
    found = {}
    for path in sorted((directory / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found[path.name] = message
    return found


def recipients(message: EmailMessage) -> set[str]:
    return {a.addr_spec for a in message["To"].addresses}


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_an_adults_announcements_and_code_reach_a_guardian_only_with_consent(
    tmp_path: Path,
) -> None:
    env = process_env(tmp_path, KLASBOT_SCHOOL__PUPIL_EMAIL_FROM_AGE="off")
    run_klasbot(env, "db", "upgrade", cwd=tmp_path)
    run_klasbot(env, "roster", "import", str(adults_roster(tmp_path)), cwd=tmp_path)
    announced = run_klasbot(
        env,
        *("announce", "--class", "4C", "--as", "t-jansen", "--kind", "reminder"),
        *("--text", "Neem morgen je rekenmachine mee."),
        cwd=tmp_path,
    )
    announcement = announced.stdout.split()[-1]

    rows = json.loads(run_klasbot(env, "deliveries", announcement, "--json", cwd=tmp_path).stdout)
    routes = {r["pupil"]: (r["channel"], r["reason"], r["recipients"]) for r in rows}
    assert routes == {
        "p-4c-01": ("email", "no-group", ["marieke@vandenberg.example"]),
        "p-4c-02": ("email", "no-group", ["hans@dewit.example"]),
        "p-4c-03": ("email", "no-group", ["thijs.hoekstra@leerling.passie-utrecht.example"]),
        "p-4c-04": ("post", "no-group", ["Emre Yılmaz"]),
        "p-4c-05": ("unreachable", "no-group", []),
        "p-4c-06": ("unreachable", "adult-no-contact", []),
    }
    wide = {**env, "COLUMNS": "250"}  # table cells unwrapped
    table = run_klasbot(wide, "deliveries", announcement, cwd=tmp_path).stdout
    assert "meerderjarig, zonder eigen e-mail of adres" in table

    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    sent = mails(tmp_path)
    addressed = set().union(*(recipients(m) for m in sent.values()))
    assert {
        "marieke@vandenberg.example",
        "hans@dewit.example",
        "thijs.hoekstra@leerling.passie-utrecht.example",
    } <= addressed
    assert not addressed & GUARDIANS_WITHOUT_CONSENT
    letters = json.loads(run_klasbot(env, "letters", "list", "--json", cwd=tmp_path).stdout)
    assert [(x["recipient"], x["pupils"]) for x in letters] == [("Emre Yılmaz", ["p-4c-04"])]
    assert EMRE_STREET in letters[0]["address"]

    made = run_klasbot(env, "invites", "create", "--class", "4C", "--json", cwd=tmp_path)
    codes = {row["pupil"]: row["code"] for row in json.loads(made.stdout)}
    assert sorted(codes) == ["p-4c-01", "p-4c-02", "p-4c-03", "p-4c-04"]
    skipped = {row["pupil"]: row["reason"] for row in map(json.loads, made.stderr.splitlines())}
    assert skipped == {"p-4c-05": "unreachable", "p-4c-06": "adult-no-contact"}

    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    new_mails = {name: m for name, m in mails(tmp_path).items() if name not in sent}
    code_to: dict[str, set[str]] = {}
    for message in new_mails.values():
        for pupil, code in codes.items():
            if code in text_of(message):
                code_to.setdefault(pupil, set()).update(recipients(message))
    assert code_to == {
        "p-4c-01": {"marieke@vandenberg.example"},  # 17: his mother
        "p-4c-02": {"hans@dewit.example"},  # 19, consents: her father
        "p-4c-03": {"thijs.hoekstra@leerling.passie-utrecht.example"},  # 18 today: himself
    }
    # The day's letter to Emre's household now holds his code too: still the only letter.
    letters = json.loads(run_klasbot(env, "letters", "list", "--json", cwd=tmp_path).stdout)
    assert [(x["recipient"], x["pupils"], x["notices"]) for x in letters] == [
        ("Emre Yılmaz", ["p-4c-04"], ["invite"])
    ]
    pdf = "".join(page.extract_text() for page in PdfReader(letters[0]["path"]).pages)
    assert codes["p-4c-04"] in pdf
    # Nobody else got a code of an adult who did not consent, nor any mail or letter for Mees.
    everything = "".join(text_of(m) for m in new_mails.values())
    assert codes["p-4c-04"] not in everything
    assert not set().union(*(recipients(m) for m in new_mails.values())) & (
        GUARDIANS_WITHOUT_CONSENT | {"johan@vanderlinden.example"}
    )
    assert not [x for x in letters if "Petra" in x["recipient"] or "Elif" in x["recipient"]]
