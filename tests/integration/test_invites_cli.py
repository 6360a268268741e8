"""`klasbot invites create` as an admin runs it on a default installation (no configuration file,
nothing but the demo school's roster): every pupil is listed, with the reason where no code was
made; the e-mails and letters name the school as the roster does and carry the Telegram link and
its QR code; running it again makes the first codes unknown."""

from __future__ import annotations

import email
import json
import os
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

import zxingcpp
from pypdf import PdfReader

from tests.support.processes import demo_school, run_klasbot

BOT = "passie_klas_bot"


def default_installation(**settings: str) -> dict[str, str]:
    """No configuration file and no KLASBOT_* setting but the clock (Monday 23 November 2026,
    10:00 in Amsterdam) and `settings`: everything in ./klasbot-data. A wide terminal, so that
    table cells are not wrapped."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLASBOT_")},
        "KLASBOT_NOW": "2026-11-23T10:00:00+01:00",
        "COLUMNS": "250",
        **settings,
    }


def mails(directory: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((directory / "klasbot-data" / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_a_default_installation_invites_in_the_schools_name(tmp_path: Path) -> None:
    env = default_installation(KLASBOT_TELEGRAM__USERNAME=BOT)
    demo_school(env, tmp_path)

    proc = run_klasbot(env, "invites", "create", "--class", "2B", cwd=tmp_path)

    rows = {line.split()[1]: line for line in proc.stdout.splitlines() if "p-2b-0" in line}
    assert sorted(rows) == [f"p-2b-0{n}" for n in range(1, 8)]  # every pupil of 2B
    assert "Milan Çelik" in rows["p-2b-05"]
    assert "geen code: pas 13 op vrijdag 15 januari 2027" in rows["p-2b-05"]
    assert "geen code: geen e-mailadres en geen postadres" in rows["p-2b-06"]
    assert "klasbot invites create --person" in proc.stderr
    codes = {p: m[0] for p, line in rows.items() if (m := re.findall(r"\b[A-Z2-9]{10}\b", line))}
    assert set(codes) == {"p-2b-01", "p-2b-02", "p-2b-03", "p-2b-04", "p-2b-07"}

    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)

    # Zoë's mother gets the e-mail, from the school the roster names.
    [zoe] = [m for m in mails(tmp_path) if codes["p-2b-01"] in plain(m)]
    assert zoe["From"].addresses[0].display_name == "De Passie Utrecht"
    assert zoe["Subject"].endswith("– De Passie Utrecht")
    text = plain(zoe).replace("\r\n", "\n")
    assert "Met vriendelijke groet,\nDe Passie Utrecht" in text
    assert f"https://t.me/{BOT}?start={codes['p-2b-01']}" in text
    assert "geldig tot en met maandag 7 december 2026" in text
    # Daan's father has only a postal address: a letter, with the link as a QR code.
    letters = list((tmp_path / "klasbot-data" / "letters").glob("*.pdf"))
    [daan] = [r for r in map(PdfReader, letters) if codes["p-2b-02"] in r.pages[0].extract_text()]
    page = daan.pages[0]
    assert page.extract_text().splitlines()[0] == "De Passie Utrecht"
    link = f"https://t.me/{BOT}?start={codes['p-2b-02']}"
    assert link in page.extract_text()
    [image] = page.images
    assert [b.text for b in zxingcpp.read_barcodes(image.image)] == [link]


def test_making_codes_again_makes_the_first_ones_unknown(tmp_path: Path) -> None:
    env = default_installation()
    demo_school(env, tmp_path)

    first = run_klasbot(env, "invites", "create", "--class", "2B", "--json", cwd=tmp_path)
    second = run_klasbot(env, "invites", "create", "--class", "2B", "--json", cwd=tmp_path)

    old = {i["person"]: i["code"] for i in json.loads(first.stdout)}
    new = {i["person"]: i["code"] for i in json.loads(second.stdout)}
    assert all({"person", "pupil", "code"} <= set(i) for i in json.loads(second.stdout))
    assert set(old) == set(new) == {"p-2b-01", "p-2b-02", "p-2b-03", "p-2b-04", "p-2b-07"}
    left_out = [json.loads(line) for line in second.stderr.splitlines() if line.startswith("{")]
    assert [(x["person"], x["reason"]) for x in left_out] == [
        ("p-2b-05", "under-13"),
        ("p-2b-06", "unreachable"),
    ]
    script = tmp_path / "start.txt"
    script.write_text(
        f"p-2b-01: /start {old['p-2b-01']}\np-2b-01: /start {new['p-2b-01']}\n", encoding="utf-8"
    )
    transcript = run_klasbot(env, "demo", "--script", str(script), cwd=tmp_path).stdout
    refused, linked = transcript.split(f"/start {new['p-2b-01']}", 1)
    assert "Deze code kennen we niet." in refused
    assert "Gelukt, Zoë!" in linked

    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    # Only the new codes went out: the first ones' e-mails were withdrawn before they left.
    sent = "\n".join(plain(m) for m in mails(tmp_path))
    assert all(code not in sent for code in old.values())
    assert new["p-2b-03"] in sent
