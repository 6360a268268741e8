"""The day's overview of pupils nobody reached, on a real database (SQLite, and PostgreSQL when
KLASBOT_TEST_POSTGRES_URL is set), with two processes' worth of klasbot on it: announcements made
through both at once, and both dispatching while more announcements come in. Each announcement is
reported exactly once, in exactly one mail that the SMTP server got exactly once; the morning's
announcements share one mail; what a dispatcher sent is what its row says it sent."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, DeliveryStatus, Kind
from bot.notices import UnreachableNotice
from bot.ports import Mailer, MailMessage
from bot.usecases import announcing
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_NOW, DEMO_ROSTER, make_settings
from tests.support.smtp import SmtpSink

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LEADERSHIP = "directie@passie-utrecht.example"
PRINCIPAL = "a.visser@passie-utrecht.example"
"""The demo roster's administrator of the school: leadership without being configured."""
AUTHOR = "j.devries@passie-utrecht.example"


class Recording:
    """The process's real mailer (SMTP), noting each overview it hands over and what it said."""

    def __init__(self, inner: Mailer, sent: list[MailMessage]) -> None:
        self.inner = inner
        self.sent = sent

    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        results = await self.inner.send(messages, on_sent)
        for message, result in zip(messages, results, strict=True):
            if result is None and isinstance(message.notice, UnreachableNotice):
                self.sent.append(message)
        return results


@asynccontextmanager
async def process(
    tmp_path: Path, database_url: str, clock: FrozenClock, sink: SmtpSink, sent: list[MailMessage]
) -> AsyncIterator[bootstrap.App]:
    settings = make_settings(
        tmp_path,
        database_url,
        KLASBOT_MAIL__TRANSPORT="smtp",
        KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
        KLASBOT_MAIL__SMTP_PORT=str(sink.port),
        KLASBOT_SCHOOL__LEADERSHIP_EMAILS=LEADERSHIP,
    )
    async with bootstrap.build(settings, clock=clock) as app:
        app.dispatcher.mailer = Recording(app.dispatcher.mailer, sent)  # type: ignore[arg-type]
        yield app


def at(day_offset: int, hour: int) -> datetime:
    local = DEMO_NOW.astimezone(AMSTERDAM) + timedelta(days=day_offset)
    return local.replace(hour=hour, minute=0).astimezone(UTC)


def reminder(n: int) -> AnnouncementDraft:
    # Sophie Mulder (p-2b-06) has no e-mail address and no postal address: nobody reaches her.
    return AnnouncementDraft("2B", "t-devries", Kind.REMINDER, text=f"Neem boek {n} mee.")


async def test_two_dispatchers_and_many_announcements_make_one_overview_a_day(
    tmp_path: Path, database_url: str
) -> None:
    clock = FrozenClock(DEMO_NOW)  # Monday 10:00 in Amsterdam
    sent: list[MailMessage] = []
    settings = make_settings(tmp_path, database_url)
    await bootstrap.migrate(settings)
    with SmtpSink() as sink:
        async with (
            process(tmp_path, database_url, clock, sink, sent) as one,
            process(tmp_path, database_url, clock, sink, sent) as two,
        ):
            await roster_uc.import_roster(one.ctx, read_roster(DEMO_ROSTER))
            morning = await asyncio.gather(
                *(announcing.announce((one, two)[n % 2].ctx, reminder(n)) for n in range(6))
            )
            assert all(r.told.at == at(0, 16) for r in morning)

            # 16:00: both dispatch while four more announcements come in.
            clock.at = at(0, 16)
            busy = await asyncio.gather(
                one.dispatcher.run_once(),
                two.dispatcher.run_once(),
                *(announcing.announce((one, two)[n % 2].ctx, reminder(n)) for n in range(6, 10)),
            )
            later = busy[2:]
            # The next morning the rest goes out; a second round finds nothing.
            clock.at = at(1, 7)
            await asyncio.gather(one.dispatcher.run_once(), two.dispatcher.run_once())
            clock.at = at(1, 9)
            await asyncio.gather(one.dispatcher.run_once(), two.dispatcher.run_once())
            async with one.db.transaction() as tx:
                rows = [
                    d
                    for d in await tx.outbox.get(range(1, 1000))
                    if isinstance(d.notice, UnreachableNotice)
                ]

    ids = [r.announcement.id for r in (*morning, *later)]  # type: ignore[union-attr]
    # Every announcement reported once, in one mail; the server got each mail once.
    reported = Counter(item.announcement_id for m in sent for item in m.notice.items)  # type: ignore[attr-defined]
    assert reported == Counter(ids)
    receipts = [r for r in sink.receipts() if (r.message_id or "").startswith("<unreachable-")]
    assert Counter(r.message_id for r in receipts) == Counter(m.message_id for m in sent)
    assert all(n == 1 for n in Counter(r.message_id for r in receipts).values())
    assert all(set(r.recipients) == {AUTHOR, PRINCIPAL, LEADERSHIP} for r in receipts)
    # The morning's six share the 16:00 mail; whatever came after it was claimed went on one
    # more overview, the next morning's: never more than two for the day.
    [first] = [m for m in sent if {i.announcement_id for i in m.notice.items} >= set(ids[:6])]  # type: ignore[attr-defined]
    assert len(sent) == len(rows) <= 2
    # What went out is what the rows say went out, and every row went out.
    by_id = {m.message_id: m.notice for m in sent}
    for row in rows:
        assert row.status == DeliveryStatus.SENT
        assert by_id[f"<{row.idempotency_key}@klasbot>"] == row.notice
    assert first.notice.day == "2026-11-23"  # type: ignore[attr-defined]
