"""Reports reach a person, as an operator runs klasbot: `klasbot run` against the Telegram Bot API
emulator, a pupil's `/melden` in chat, the mail on a real SMTP server, `klasbot reports
list|show|close`, and the warnings about a school whose reports would reach nobody.

The demo roster has an administrator (Anne Visser, a.visser@…) and no `school.leadership_emails`
is configured: the roster alone says who school leadership is."""

from __future__ import annotations

import asyncio
import email
import email.policy
import getpass
import json
import re
import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from storage.store import Database
from tests.conftest import DEMO_ROSTER
from tests.support.processes import KLASBOT, klasbot, process_env, start_bot, until
from tests.support.smtp import RecordingHandler, SmtpSink
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "123456:TEST-TOKEN"
PRINCIPAL = "a.visser@passie-utrecht.example"
TEXT = "In de groepsapp van 2B wordt Sem uitgescholden."
WARNING = "heeft geen schoolleiding om meldingen naar te sturen"


@dataclass
class KeepingHandler(RecordingHandler):
    """Records every accepted message whole, to read what the principal got."""

    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        reply: str = await super().handle_DATA(server, session, envelope)  # type: ignore[no-untyped-call]
        if reply.startswith("250"):
            raw = envelope.original_content or envelope.content
            self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return reply


def to(handler: KeepingHandler, address: str) -> list[Any]:
    """The messages `address` received (the pupil's code went out by mail too)."""
    return [m for m in handler.messages if address in str(m["To"])]


def body(message: Any) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as served:
        yield served


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(handler=KeepingHandler()) as running:
        yield running


def environment(tmp_path: Path, emulator: BotApiEmulator, sink: SmtpSink) -> dict[str, str]:
    return process_env(
        tmp_path,
        KLASBOT_TELEGRAM__TOKEN=emulator.token,
        KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
        KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
        KLASBOT_TELEGRAM__POLL_TIMEOUT="1",
        KLASBOT_MAIL__TRANSPORT="smtp",
        KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
        KLASBOT_MAIL__SMTP_PORT=str(sink.port),
    )


async def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """One command to its end: (exit code, stdout, stderr), whatever the exit code."""
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def code_for(env: dict[str, str], person: str) -> str:
    [row] = json.loads(await klasbot(env, "invites", "create", "--person", person, "--json"))
    return str(row["code"])


async def stop(bot: asyncio.subprocess.Process) -> str:
    bot.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()
    return err.decode()


async def link_pupil(emulator: BotApiEmulator, code: str) -> int:
    pupil = emulator.user("Zoë", "van den Berg")
    emulator.user_sends(pupil, None, f"/start {code}")
    await until(lambda: any("Gelukt" in t for t in emulator.texts(pupil)), "pupil linked")
    return pupil


async def send_report(emulator: BotApiEmulator, pupil: int, text: str) -> str:
    """The pupil sends `/melden text` in their private chat; returns the bot's answer."""
    before = len(emulator.texts(pupil))
    emulator.user_sends(pupil, None, f"/melden {text}")
    await until(lambda: len(emulator.texts(pupil)) > before, "the answer to /melden")
    return emulator.texts(pupil)[-1]


async def test_a_report_in_chat_reaches_the_principal_and_is_handled_with_the_cli(
    tmp_path: Path, emulator: BotApiEmulator, sink: SmtpSink
) -> None:
    env = environment(tmp_path, emulator, sink)
    await klasbot(env, "db", "upgrade")
    _, _, imported = await run(env, "roster", "import", str(DEMO_ROSTER))
    assert WARNING not in imported  # the roster names the school's administrator
    code = await code_for(env, "p-2b-01")
    bot = await start_bot(env)
    try:
        pupil = await link_pupil(emulator, code)
        answer = await send_report(emulator, pupil, TEXT)
        assert "(nummer 1) is doorgestuurd naar de schoolleiding" in answer
        # `klasbot run` delivers the outbox itself: the mail reaches the principal's mailbox.
        handler: KeepingHandler = sink.handler  # type: ignore[assignment]
        await until(lambda: bool(to(handler, PRINCIPAL)), "the report mailed")
    finally:
        started = await stop(bot)
    assert WARNING not in started

    await klasbot(env, "dispatch", "--once")  # nothing left over, nothing sent twice
    [message] = to(handler, PRINCIPAL)
    assert [r.recipients for r in sink.receipts() if PRINCIPAL in r.recipients] == [(PRINCIPAL,)]
    assert str(message["To"]) == PRINCIPAL
    text = body(message)
    assert TEXT in text
    assert "Klas: 2B" in text
    assert "Nummer: 1" in text
    assert "Zoë van den Berg (leerling, p-2b-01)" in text
    assert "privéchat met de klassenbot op telegram" in text
    assert "klasbot reports close 1 --note" in text

    [listed] = json.loads(await klasbot(env, "reports", "list", "--json"))
    assert set(listed) == {
        "id", "kind", "from", "school", "class", "created_at", "state", "forwarded_to",
    }  # fmt: skip
    assert listed["id"] == 1
    assert (listed["kind"], listed["from"], listed["class"]) == ("report", "p-2b-01", "2B")
    assert (listed["school"], listed["state"]) == ("org-passie-utrecht", "open")
    assert listed["forwarded_to"] == [PRINCIPAL]
    assert listed["created_at"].startswith("2026-11-23T10:")
    assert listed["created_at"].endswith("+01:00")

    shown = json.loads(await klasbot(env, "reports", "show", "1", "--json"))
    assert (shown["text"], shown["platform"], shown["group"]) == (TEXT, "telegram", None)
    assert shown["from_name"] == "Zoë van den Berg"
    assert shown["closed_at"] is None
    table = await klasbot(env, "reports", "show", "1")
    assert TEXT in table
    assert "klas: 2B" in table.splitlines()
    assert "gemaakt: 2026-11-23 10:00+01:00" in table.splitlines()

    closed, _, said = await run(env, "reports", "close", "1", "--note", "Besproken met de mentor.")
    assert (closed, said.strip()) == (0, "melding 1 gesloten")
    again, _, refused = await run(env, "reports", "close", "1", "--note", "Nog eens.")
    assert again != 0
    assert len(refused.strip().splitlines()) == 1
    assert "al gesloten" in refused
    unknown, _, refused = await run(env, "reports", "close", "99", "--note", "?")
    assert unknown != 0
    assert refused.strip().splitlines() == ["klasbot: melding 99 bestaat niet"]

    assert json.loads(await klasbot(env, "reports", "list", "--open", "--json")) == []
    shown = json.loads(await klasbot(env, "reports", "show", "1", "--json"))
    assert (shown["state"], shown["close_note"]) == ("closed", "Besproken met de mentor.")
    assert shown["closed_by"] == getpass.getuser()

    # In the dossier of the reporter and of the class, read through the storage layer.
    db = Database(env["KLASBOT_DATABASE_URL"])
    try:
        async with db.transaction() as tx:
            of_pupil = await tx.audit.events(person_id="p-2b-01")
            of_class = await tx.audit.events(class_id="cls-2b")
    finally:
        await db.dispose()
    [reported] = [e for e in of_pupil if e.kind == "report"]
    assert (reported.details["text"], reported.details["report"]) == (TEXT, 1)
    assert reported in of_class
    assert [e.details["note"] for e in of_class if e.kind == "report-closed"] == [
        "Besproken met de mentor."
    ]
    assert [e.kind for e in of_pupil if e.kind == "report-closed"] == ["report-closed"]

    # … and in the dossier the admin exports for the reporter and for the class, where Sem, the
    # pupil the report names, appears under his pseudonym.
    named = re.compile(re.escape(TEXT).replace("Sem", r"person-[0-9a-f]{10}"))
    for ref in ("p-2b-01", "2B"):
        dossier = json.loads(await klasbot(env, "dossier", "export", ref, "--json"))
        [event] = [e for e in dossier["events"] if e["kind"] == "report"]
        [report] = dossier["reports"]
        assert named.fullmatch(event["details"]["text"]), event
        assert (report["id"], report["state"]) == (1, "closed")
        assert named.fullmatch(report["text"]), report


def roster_with_principal_at(tmp_path: Path, name: str, org: str) -> Path:
    """The demo roster with a second school, De Passie Zeist, and Anne Visser at `org`."""
    target = tmp_path / name
    shutil.copytree(DEMO_ROSTER, target)
    orgs = target / "orgs.csv"
    orgs.write_text(
        orgs.read_text(encoding="utf-8").rstrip("\n")
        + "\norg-passie-zeist,,,De Passie Zeist,school,99ZY,org-stichting-passie\n",
        encoding="utf-8",
    )
    users = target / "users.csv"
    lines = users.read_text(encoding="utf-8").splitlines()
    lines = [
        line.replace("org-passie-utrecht", org, 1) if line.startswith("l-visser,") else line
        for line in lines
    ]
    users.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


async def test_a_school_without_leadership_is_warned_and_a_reimport_changes_who_gets_reports(
    tmp_path: Path, emulator: BotApiEmulator, sink: SmtpSink
) -> None:
    elsewhere = roster_with_principal_at(tmp_path, "elsewhere", "org-passie-zeist")
    back = roster_with_principal_at(tmp_path, "back", "org-passie-utrecht")
    env = environment(tmp_path, emulator, sink)
    await klasbot(env, "db", "upgrade")
    # The principal leads the other school: De Passie Utrecht's reports would reach nobody.
    _, summary, imported = await run(env, "roster", "import", str(elsewhere))
    assert "persons" in summary or "personen" in summary
    [line] = [x for x in imported.splitlines() if WARNING in x]
    assert "De Passie Utrecht (org-passie-utrecht)" in line
    assert "school.leadership_emails" in line
    # Said once, to the admin: a command that ends at once does not repeat it in its log ...
    assert "org-passie-utrecht has no leadership" not in imported
    # ... unless asked to be verbose.
    _, _, verbose = await run(env, "-v", "reports", "list")
    assert "INFO bot.cli.reports: school org-passie-utrecht has no leadership" in verbose
    code = await code_for(env, "p-2b-01")

    bot = await start_bot(env)
    try:
        pupil = await link_pupil(emulator, code)
        kept = await send_report(emulator, pupil, "eerste melding")
        assert "(nummer 1) is bewaard in het dossier" in kept
        assert "niet worden doorgestuurd" in kept
        status, listed, warned = await run(env, "reports", "list", "--json")
        assert status == 0
        assert json.loads(listed)[0]["forwarded_to"] == []
        assert WARNING in warned

        # The next import moves the principal back to De Passie Utrecht.
        _, _, imported = await run(env, "roster", "import", str(back))
        assert WARNING not in imported
        forwarded = await send_report(emulator, pupil, "tweede melding")
        assert "(nummer 2) is doorgestuurd" in forwarded
        handler: KeepingHandler = sink.handler  # type: ignore[assignment]
        await until(lambda: bool(to(handler, PRINCIPAL)), "the second report mailed")
    finally:
        started = await stop(bot)
    # `klasbot run` said it at start: a line for the admin and a WARNING in the log.
    assert WARNING in started
    assert "WARNING" in started
    assert "org-passie-utrecht has no leadership" in started

    [message] = to(handler, PRINCIPAL)
    assert "tweede melding" in body(message)
    assert "eerste melding" not in body(message)
    reports = json.loads(await klasbot(env, "reports", "list", "--json"))
    assert [r["forwarded_to"] for r in reports] == [[], [PRINCIPAL]]
