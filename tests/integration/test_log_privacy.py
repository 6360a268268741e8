"""No personal data in logs (issue 12, done-when): a scan of the logs of a whole end-to-end
journey at klasbot's debug level (`-vv`) finds no roster name, e-mail address, street, postal
code or link code.

Every step is a process, as an operator runs it: the demo school's roster import; link codes for
class 2B and its staff, written as `.eml` files by the file mail transport (the codes are read
back from them) and as letters; `klasbot run` against the Telegram Bot API emulator, where the
mentor links and binds the class group, a pupil links (typed code) and joins, and sends a
`/melden` report naming classmates; then, over a real SMTP server, an announcement, `dispatch
--once` (e-mail, letters and the group post), a withdrawal and its follow-ups. Every line each
process logged is scanned for every name, e-mail address, street and postal code of the roster
and every link code made."""

from __future__ import annotations

import asyncio
import csv
import email
import json
import re
import signal
from email import policy
from pathlib import Path

import pytest

from bot.cli.logs import EMAIL, NAME
from bot.log_tokens import MIN_LETTERS
from bot.rules.names import TUSSENVOEGSELS
from tests.conftest import DEMO_ROSTER
from tests.integration.telegram.conftest import TOKEN
from tests.integration.telegram.test_run import SIGNATURE, teacher_binds_a_group, telegram_env
from tests.support.processes import KLASBOT, until
from tests.support.smtp import SmtpSink
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LEADERSHIP = "directie@passie-utrecht.example"
NOORS_PARENTS = {
    "khadija.elamrani@mail.example": "Khadija El Amrani",
    "y.elamrani@mail.example": "Youssef El Amrani",
}
REPORT = "/melden Daan de Jong en Noor El Amrani worden uitgescholden door Sem Bakker"


@pytest.fixture
async def emulator() -> object:
    async with BotApiEmulator(TOKEN) as served:
        yield served


async def verbose(env: dict[str, str], *args: str) -> tuple[str, str]:
    """`klasbot -vv ARGS`: (stdout, stderr — its log); fails the test on a non-zero exit."""
    proc = await asyncio.create_subprocess_exec(
        *KLASBOT,
        "-vv",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"klasbot {' '.join(args)}: {err.decode()}"
    return out.decode(), err.decode()


def roster_data() -> tuple[set[str], set[str], set[str]]:
    """(names, e-mail addresses, address parts) of every person on the demo roster."""
    names: set[str] = set()
    emails: set[str] = set()
    addresses: set[str] = set()
    with (DEMO_ROSTER / "users.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for column in ("givenName", "familyName", "middleName"):
                names.update(re.findall(r"[^\W\d_]+", row[column]))
            if row["email"]:
                emails.add(row["email"])
    with (DEMO_ROSTER / "contacts.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["email"]:
                emails.add(row["email"])
            if row["street"]:
                addresses.add(row["street"])
                addresses.update(re.findall(r"[^\W\d_]{3,}", row["street"]))
                addresses.update({row["postalCode"], row["postalCode"].replace(" ", "")})
    names = {n for n in names if len(n) >= MIN_LETTERS and n.casefold() not in TUSSENVOEGSELS}
    return names, emails, addresses


def codes_in_outbox(outbox: Path) -> set[str]:
    """The link codes the invitations carry, read from the mail outbox (`/start CODE`)."""
    found: set[str] = set()
    for path in outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain",))  # type: ignore[attr-defined]
        found.update(re.findall(r"/start ([A-Z2-9]{10})\b", str(body.get_content())))
    return found


async def test_a_whole_day_at_debug_level_logs_no_personal_data(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    logs: list[str] = []
    with SmtpSink() as sink:
        by_file = telegram_env(tmp_path, emulator, KLASBOT_SCHOOL__LEADERSHIP_EMAILS=LEADERSHIP)
        by_smtp = {
            **by_file,
            "KLASBOT_MAIL__TRANSPORT": "smtp",
            "KLASBOT_MAIL__SMTP_HOST": "127.0.0.1",
            "KLASBOT_MAIL__SMTP_PORT": str(sink.port),
        }
        for args in (("db", "upgrade"), ("roster", "import", str(DEMO_ROSTER))):
            logs.append((await verbose(by_file, *args))[1])
        out, err = await verbose(by_file, "invites", "create", "--class", "2B", "--with-staff")
        logs.append(err)
        logs.append((await verbose(by_file, "dispatch", "--once"))[1])
        codes = codes_in_outbox(tmp_path / "outbox")
        assert len(codes) >= 5  # the staff's and the guardians' e-mails
        assert list((tmp_path / "letters").glob("*.pdf"))  # Sem's code goes by letter

        def code_of(recipient: str) -> str:
            for path in (tmp_path / "outbox").glob("*.eml"):
                message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                if recipient in str(message["To"]):
                    body = message.get_body(("plain",))  # type: ignore[attr-defined]
                    return re.findall(r"/start ([A-Z2-9]{10})\b", str(body.get_content()))[0]
            raise AssertionError(f"no invitation to {recipient}")

        # At debug level the log outgrows a pipe's buffer: `run` logs to a file.
        run_log = tmp_path / "run.log"
        with run_log.open("wb") as log_file:
            bot = await asyncio.create_subprocess_exec(
                *KLASBOT,
                "-vv",
                "run",
                env=by_smtp,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
            )
        try:
            teacher, group = await teacher_binds_a_group(
                emulator, code_of("j.devries@passie-utrecht.example")
            )
            pupil = emulator.user("Zoë", "van den Berg")
            emulator.user_sends(pupil, None, f"/start {code_of('marieke@vandenberg.example')}")
            await until(lambda: any("Gelukt" in t for t in emulator.texts(pupil)), "pupil linked")
            emulator.join_request(pupil, group)
            await until(lambda: (group, pupil) in emulator.approved, "join request approved")
            answers = len(emulator.texts(pupil))
            emulator.user_sends(pupil, None, REPORT)
            await until(lambda: len(emulator.texts(pupil)) > answers, "report answered")
        finally:
            bot.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await bot.wait()
        assert bot.returncode == 0, run_log.read_text()
        logs.append(run_log.read_text())

        # A canary: the mail server refuses Noor's parents for now, in a reply that names them;
        # the dispatcher logs why it retries, and the filter must catch it.
        for parent, name in NOORS_PARENTS.items():
            sink.refuse[parent] = f"450 4.2.1 <{parent}>: mailbox of {name} is full"
        out, err = await verbose(
            by_smtp,
            *("announce", "--class", "2B", "--as", "t-devries", "--kind", "reminder"),
            *("--text", "Neem morgen je gymspullen mee."),
        )
        logs.append(err)
        announcement = out.split()[-1]
        logs.append((await verbose(by_smtp, "dispatch", "--once"))[1])
        assert any(SIGNATURE in t for t in emulator.texts(group))  # Zoë's copy: in the group
        mailed = sink.count()
        assert mailed > 0  # the guardians' copies (and the report) over SMTP
        out, err = await verbose(by_smtp, "deliveries", announcement, "--json")
        logs.append(err)
        assert "post" in {row["channel"] for row in json.loads(out)}  # Sem's: a letter
        logs.append((await verbose(by_smtp, "withdraw", announcement, "--reason", "Vergissing"))[1])
        logs.append((await verbose(by_smtp, "dispatch", "--once"))[1])
        assert sink.count() > mailed  # the withdrawals went out too

    log = "\n".join(logs)
    # The scan can fail: the processes logged, at debug level, what they did.
    assert "DEBUG bot." in log
    assert len(log.splitlines()) > 50
    assert f"<{EMAIL}>: mailbox of {NAME} El {NAME} is full" in log
    names, emails, addresses = roster_data()
    assert {"Zoë", "Berg", "Amrani", "Yılmaz", "Çelik"} <= names
    found = [
        f"name {n!r}"
        for n in sorted(names)
        if re.search(rf"(?<![^\W\d_]){re.escape(n)}(?![^\W\d_])", log, re.IGNORECASE)
    ]
    found += [f"e-mail {e!r}" for e in sorted(emails | {LEADERSHIP}) if e.lower() in log.lower()]
    found += [f"address {a!r}" for a in sorted(addresses) if a.lower() in log.lower()]
    found += [f"code {c!r}" for c in sorted(codes) if c in log or c.lower() in log]
    assert found == [], found
