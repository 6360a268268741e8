"""Claims that cannot overlap, on every database (rule 6: every pupil gets every announcement
exactly once, however a school runs klasbot).

- Several `klasbot dispatch --once` processes (three on one SQLite file, four on PostgreSQL)
  drain one outbox of a few thousand deliveries — e-mail to a real SMTP server on loopback, and
  letters for households with two pupils each — at the same time: no Message-ID arrives twice,
  none is missing, every household gets one letter with both pupils on it, no process fails.
- A dispatcher whose send outlasts its lease, while another dispatcher claims and delivers the
  same rows, records nothing over the other's outcome: neither a retry (which would send the
  message again) nor a move to a letter (a second copy on paper).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, Channel, DeliveryStatus
from bot.usecases import announcing, queries
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_NOW, make_settings
from tests.integration.test_delivery import draft, email_of, rows, school_app
from tests.support.processes import KLASBOT, process_env, run_klasbot, until
from tests.support.rosters import Roster, User, pupil_address
from tests.support.smtp import SmtpSink

EMAIL_PUPILS = 2000
BATCH = 40
HOUSEHOLDS = 4 * BATCH  # two pupils each, by letter


def sibling(h: int, n: int) -> str:
    """Pupil ids that sort into batches of BATCH first children, then BATCH second children of
    the same households: two dispatchers claim a household's two pupils at the same time."""
    return f"p-{h // BATCH:03d}-{n}-{h:04d}"


def crowded_school() -> Roster:
    """One class: pupils of 17 with their own e-mail address, and pairs of siblings of 17 who
    want letters (contacts.csv `fallback = post`) at their shared address."""
    r = Roster(classes=[("cls-6g", "6G")])
    r.users = [User("t-1", "teacher", "Karin", "Smit", email="k.smit@veen.example")]
    pupils = [
        User(
            f"s-{n:05d}",
            "student",
            f"Voornaam{n}",
            f"Achternaam{n}",
            birth="2009-05-01",
            email=pupil_address(n),
        )
        for n in range(EMAIL_PUPILS)
    ]
    for h in range(HOUSEHOLDS):
        address = (f"Dorpsstraat {h + 1}", f"{7900 + h % 90} AB", "Meppel")
        pupils += [
            User(
                sibling(h, n),
                "student",
                f"Kind{n}",
                f"Gezin{h}",
                birth="2009-05-01",
                address=address,
                fallback="post",
            )
            for n in (1, 2)
        ]
    r.users += pupils
    r.enrollments = [("cls-6g", "t-1", "teacher", True)]
    r.enrollments += [("cls-6g", p.id, "student", False) for p in pupils]
    return r


async def test_several_dispatcher_processes_drain_one_outbox_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    workers = 4 if database_url.startswith("postgresql") else 3
    settings = make_settings(tmp_path, database_url)
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as app:
        await roster_uc.import_roster(
            app.ctx, read_roster(crowded_school().write(tmp_path / "export"))
        )
        result = await announcing.announce(
            app.ctx,
            AnnouncementDraft("6G", "t-1", "reminder", text="Neem morgen je gymspullen mee."),
        )
        aid = result.announcement.id
        assert result.counts == {
            "group": 0,
            "email": EMAIL_PUPILS,
            "post": 2 * HOUSEHOLDS,
            "unreachable": 0,
        }

    with SmtpSink() as sink:
        env = process_env(
            tmp_path,
            database_url,
            KLASBOT_SCHOOL__NAME="Veenlanden College",
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(sink.port),
            KLASBOT_DISPATCH__BATCH_SIZE=str(BATCH),
            KLASBOT_NOW=DEMO_NOW.isoformat(),
        )
        started = time.monotonic()
        procs = [
            await asyncio.create_subprocess_exec(
                *KLASBOT,
                "dispatch",
                "--once",
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(workers)
        ]
        async with asyncio.timeout(600):
            outputs = [
                (out.decode(), err.decode())
                for out, err in await asyncio.gather(*(p.communicate() for p in procs))
            ]
        elapsed = time.monotonic() - started
        receipts = sink.receipts()

    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err, err

    # E-mail: every pupil's Message-ID exactly once, to that pupil.
    async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as app:
        deliveries = await queries.deliveries(app.ctx, aid)
    emails = {d.pupil_id: d for d in deliveries if d.channel == Channel.EMAIL}
    assert len(emails) == EMAIL_PUPILS
    assert all(d.status == DeliveryStatus.SENT for d in emails.values())
    by_id: dict[str | None, list[tuple[str, ...]]] = {}
    for r in receipts:
        by_id.setdefault(r.message_id, []).append(r.recipients)
    expected = {
        f"<{d.idempotency_key}@klasbot>": [(pupil_address(int(d.pupil_id[2:])),)]
        for d in emails.values()
    }
    assert by_id == expected, (
        f"{sum(len(v) - 1 for v in by_id.values())} Message-IDs received more than once, "
        f"{len(set(expected) - set(by_id))} missing"
    )

    # Letters: one per household, carrying both siblings, each PDF on disk.
    listing = json.loads(run_klasbot(env, "letters", "list", "--json", cwd=tmp_path).stdout)
    assert len(listing) == HOUSEHOLDS, [x["key"] for x in listing]
    for letter in listing:
        h = int(letter["pupils"][0][-4:])
        assert sorted(letter["pupils"]) == [sibling(h, 1), sibling(h, 2)], letter
        assert letter["announcements"] == [aid], letter
        assert Path(letter["path"]).is_file()
    on_letters = sorted(p for letter in listing for p in letter["pupils"])
    assert on_letters == sorted(sibling(h, n) for h in range(HOUSEHOLDS) for n in (1, 2))
    print(
        f"\n{database_url.split(':')[0]}: {workers} dispatcher processes, "
        f"{EMAIL_PUPILS} e-mails + {HOUSEHOLDS} letters for {2 * HOUSEHOLDS} pupils in "
        f"{elapsed:.1f} s; {len(receipts)} messages received, "
        f"{sum(1 for p, _ in zip(procs, outputs, strict=True) if p.returncode == 0)} exited 0"
    )


@pytest.mark.parametrize(
    "reply", ["450 4.2.1 Mailbox busy", "550 5.1.1 No such user"], ids=["transient", "permanent"]
)
async def test_a_send_that_outlasts_its_lease_records_nothing_over_the_next_claim(
    tmp_path: Path, database_url: str, clock: FrozenClock, reply: str
) -> None:
    """Dispatcher A claims the batch and stalls at the server on Anouk's message; its lease runs
    out, dispatcher B claims the rows and delivers them all. Then the server answers A with
    `reply`: A's retry or re-route must not touch rows B holds, or Anouk would get her message
    again (transient) or a letter too (permanent)."""
    target = email_of("s-01")
    gate = threading.Event()
    with SmtpSink() as sink:
        sink.handler.stall_once[target] = (gate, reply)
        # One SMTP connection: A stalls on Anouk's message with the rest of its batch unsent
        # (over several, its other connections would deliver the rest meanwhile).
        lease = {"KLASBOT_DISPATCH__LEASE_SECONDS": "1", "KLASBOT_MAIL__CONNECTIONS": "1"}
        async with school_app(tmp_path, database_url, clock, sink, **lease) as a:
            aid = (await announcing.announce(a.ctx, draft())).announcement.id
            async with school_app(tmp_path, database_url, clock, sink, **lease) as b:
                first = asyncio.create_task(a.dispatcher.run_once())
                await until(lambda: target in sink.handler.stalled, "A to reach Anouk")
                clock.advance(seconds=2)  # A's lease is over
                second = await b.dispatcher.run_once()
                assert second.sent == len(await rows(a, aid))
                gate.set()
                await first
                after_b = {p: (d.status, d.channel) for p, d in (await rows(a, aid)).items()}
                # Later rounds find nothing to send again.
                clock.advance(hours=2)
                await a.dispatcher.run_once()
                await b.dispatcher.run_once()
                done = await rows(a, aid)
                letters = await queries.letters(a.ctx)

    assert after_b == {p: (DeliveryStatus.SENT, Channel.EMAIL) for p in done}
    assert {p: (d.status, d.channel) for p, d in done.items()} == after_b
    anouk = f"<{done['s-01'].idempotency_key}@klasbot>"
    assert sink.message_ids()[anouk] == 1
    assert letters == []
    # The refusal reached A, after B had delivered.
    assert (target, reply) in sink.handler.refused


async def test_claims_on_sqlite_take_the_write_lock_before_reading(tmp_path: Path) -> None:
    """Two processes that begin a transaction at once on one SQLite file: the second waits for
    the first (BEGIN IMMEDIATE) instead of reading rows the first is about to claim."""
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}")
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as one:
        async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as two:
            order: list[str] = []

            async def hold() -> None:
                async with one.db.transaction() as tx:
                    await tx.outbox.get([1])  # only reads
                    order.append("one-read")
                    await asyncio.sleep(0.5)
                    order.append("one-done")

            async def read_after() -> None:
                await asyncio.sleep(0.1)
                async with two.db.transaction() as tx:
                    await tx.outbox.get([1])
                    order.append("two-read")

            await asyncio.gather(hold(), read_after())
    assert order == ["one-read", "one-done", "two-read"]
