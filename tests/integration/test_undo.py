"""Withdrawing an announcement while it goes out, with real processes (rule 6, exactly once, for
the withdrawal too): three `klasbot dispatch --once` processes mail a class of 600 pupils and
print letters for 40 households through a slow SMTP server on loopback; halfway, `klasbot
withdraw` runs as a fourth process. Afterwards every address that got the announcement got
exactly one withdrawal, no address that did not get it got one, nothing arrived twice, every
household with a letter has the withdrawal on paper, and every pupil's copy is either sent or
withdrawn. On SQLite and PostgreSQL.

Also the CLI contract of `withdraw` and `correct` on the demo school (one-line errors, counts)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, Channel, DeliveryStatus
from bot.usecases import announcing, queries
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_NOW, make_settings
from tests.support.processes import (
    KLASBOT,
    demo_school,
    process_env,
    run_klasbot,
    until,
)
from tests.support.rosters import Roster, User, pupil_address
from tests.support.smtp import SmtpSink

EMAIL_PUPILS = 600
HOUSEHOLDS = 40
COPY_ID = re.compile(r"^<[0-9a-f]{32}@klasbot>$")


def school() -> Roster:
    r = Roster(classes=[("cls-5h", "5H")])
    r.users = [User("t-1", "teacher", "Karin", "Smit", email="k.smit@veen.example")]
    pupils = [
        User(
            f"s-{n:04d}",
            "student",
            f"Voornaam{n}",
            f"Achternaam{n}",
            birth="2009-05-01",
            email=pupil_address(n),
        )
        for n in range(EMAIL_PUPILS)
    ]
    pupils += [
        User(
            f"h-{h:03d}",
            "student",
            f"Kind{h}",
            f"Gezin{h}",
            birth="2009-05-01",
            address=(f"Kerkstraat {h + 1}", "7941 AB", "Meppel"),
            fallback="post",
        )
        for h in range(HOUSEHOLDS)
    ]
    r.users += pupils
    r.enrollments = [("cls-5h", "t-1", "teacher", True)]
    r.enrollments += [("cls-5h", p.id, "student", False) for p in pupils]
    return r


async def test_a_withdrawal_during_dispatch_reaches_exactly_who_got_it(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url)
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as app:
        await roster_uc.import_roster(app.ctx, read_roster(school().write(tmp_path / "export")))
        draft = AnnouncementDraft("5H", "t-1", "reminder", text="Morgen gymkleren mee.")
        aid = (await announcing.announce(app.ctx, draft)).announcement.id

    with SmtpSink() as sink:
        # 40 ms a mail: the 600 take 3 workers about 8 s, time enough for `withdraw` to start
        # and land in the middle however busy the machine is (10 ms was not always).
        sink.handler.delay = 0.04
        env = process_env(
            tmp_path,
            database_url,
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(sink.port),
            KLASBOT_DISPATCH__BATCH_SIZE="25",
            # One connection per worker: over several, the 600 are out before `withdraw` starts.
            KLASBOT_MAIL__CONNECTIONS="1",
            KLASBOT_NOW=DEMO_NOW.isoformat(),
        )

        async def spawn(*args: str) -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                *KLASBOT,
                *args,
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )

        workers = [await spawn("dispatch", "--once") for _ in range(3)]
        await until(
            lambda: len(sink.receipts()) >= 60 or all(p.returncode is not None for p in workers),
            "the first e-mails",
            timeout=120,
        )
        withdrawing = await spawn("withdraw", str(aid), "--reason", "gaat niet door", "--json")
        async with asyncio.timeout(600):
            results = [await p.communicate() for p in [*workers, withdrawing]]
        for p, (_, err) in zip([*workers, withdrawing], results, strict=True):
            assert p.returncode == 0, err.decode()
            assert "Traceback" not in err.decode()
        outcome = json.loads(results[-1][0])
        # What the withdrawal owed and the workers did not add themselves goes out now.
        run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
        receipts = sink.receipts()

    assert outcome["withdrawn"] is True
    got_it = Counter(r.recipients for r in receipts if COPY_ID.match(r.message_id or ""))
    withdrawn = Counter(
        r.recipients for r in receipts if (r.message_id or "").startswith("<withdrawal-")
    )
    assert set(got_it.values()) <= {1}, "an announcement copy arrived twice"
    assert 60 <= len(got_it) < EMAIL_PUPILS, "the withdrawal did not land mid-dispatch"
    assert withdrawn == got_it, (
        f"{len(set(got_it) - set(withdrawn))} recipients without their withdrawal, "
        f"{len(set(withdrawn) - set(got_it))} withdrawals to recipients who never got it, "
        f"{sum(n - 1 for n in withdrawn.values())} duplicates"
    )

    async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as app:
        copies = await queries.deliveries(app.ctx, aid)
    statuses = Counter(d.status for d in copies if d.channel == Channel.EMAIL)
    assert statuses[DeliveryStatus.SENT] == len(got_it)
    assert statuses[DeliveryStatus.SENT] + statuses[DeliveryStatus.WITHDRAWN] == EMAIL_PUPILS

    letters = json.loads(
        run_klasbot(env, "letters", "list", "--all", "--json", cwd=tmp_path).stdout
    )
    on_paper = {p for x in letters for p in x["pupils"]}
    printed = {d.pupil_id for d in copies if d.channel == Channel.POST and d.letter_key}
    assert printed <= on_paper
    withdrawal_letters = {
        p for x in letters if "withdrawal" in x.get("notices", []) for p in x["pupils"]
    }
    assert withdrawal_letters == printed
    print(
        f"\n{database_url.split(':')[0]}: withdrawn after {len(got_it)} of {EMAIL_PUPILS} "
        f"e-mails and {len(printed)} of {HOUSEHOLDS} letters; {sum(withdrawn.values())} "
        "withdrawals, each once"
    )


def _mails(outbox: Path) -> list[tuple[str, str, str]]:
    """(To, Subject, plain text) of every e-mail in the file outbox."""
    out = []
    for path in sorted(outbox.glob("*.eml")):
        message: Any = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        out.append((str(message["To"]), str(message["Subject"]), body.get_content()))
    return out


def test_withdraw_and_correct_through_the_cli(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    demo_school(env, tmp_path, announce="Neem je gymkleren mee.")
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    outbox = tmp_path / "outbox"
    copies = sorted(to for to, subject, _ in _mails(outbox) if subject.startswith("Herinnering"))
    assert copies

    corrected = run_klasbot(env, "correct", "1", "--text", "Neem je zwemspullen mee.", cwd=tmp_path)
    assert corrected.stderr.startswith("Bericht 1 gecorrigeerd"), corrected.stderr
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    listing = json.loads(run_klasbot(env, "announcements", "--json", cwd=tmp_path).stdout)
    assert "zwemspullen" in listing[0]["text"]

    withdrawn = json.loads(
        run_klasbot(
            env, "withdraw", "1", "--reason", "gaat niet door", "--json", cwd=tmp_path
        ).stdout
    )
    assert withdrawn["withdrawn"] is True
    assert withdrawn["revision"] == 1
    [listed] = json.loads(run_klasbot(env, "announcements", "--json", cwd=tmp_path).stdout)
    assert (listed["withdrawn"], listed["withdraw_reason"], listed["revision"]) == (
        True,
        "gaat niet door",
        1,
    )
    assert "(ingetrokken)" in run_klasbot(env, "announcements", cwd=tmp_path).stdout
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    mails = _mails(outbox)
    corrections = sorted(to for to, subject, _ in mails if subject.startswith("Correctie"))
    withdrawals = [(to, text) for to, subject, text in mails if subject.startswith("Ingetrokken")]
    assert corrections == copies  # every recipient once, nobody else
    assert sorted(to for to, _ in withdrawals) == copies
    assert all("Reden: gaat niet door" in text for _, text in withdrawals)
    assert all("zwemspullen" in text for _, text in withdrawals)

    again = run_klasbot(env, "withdraw", "1", cwd=tmp_path, ok=False)
    assert again.returncode != 0
    assert len(again.stderr.strip().splitlines()) == 1
    assert "al ingetrokken" in again.stderr
    unknown = run_klasbot(env, "withdraw", "99", cwd=tmp_path, ok=False)
    assert unknown.returncode != 0
    assert unknown.stderr.strip().endswith("Er is geen bericht #99.")
    empty = run_klasbot(env, "correct", "1", "--text", " ", cwd=tmp_path, ok=False)
    assert empty.returncode != 0
    assert len(empty.stderr.strip().splitlines()) == 1
    assert "Traceback" not in empty.stderr
