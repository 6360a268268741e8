"""The outbox sends e-mail over several SMTP connections at once (`mail.connections`) and
records what the server accepted in small batches: a batch of e-mails to a real SMTP server
(aiosmtpd on loopback) arrives exactly once, each with its own stable Message-ID, over more than
one connection."""

from __future__ import annotations

from pathlib import Path

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, DeliveryStatus
from bot.usecases import announcing, queries
from bot.usecases import roster as roster_uc
from tests.conftest import DEMO_NOW, make_settings
from tests.support.rosters import big_class, pupil_address
from tests.support.smtp import SmtpSink

PUPILS = 200


async def test_four_connections_deliver_every_message_once(
    tmp_path: Path, database_url: str
) -> None:
    with SmtpSink() as sink:
        settings = make_settings(
            tmp_path,
            database_url,
            KLASBOT_MAIL__TRANSPORT="smtp",
            KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
            KLASBOT_MAIL__SMTP_PORT=str(sink.port),
            KLASBOT_MAIL__CONNECTIONS="4",
            # One connection could carry the whole batch: more client ports mean more connections.
            KLASBOT_MAIL__BATCH_SIZE=str(PUPILS),
        )
        await bootstrap.migrate(settings)
        async with bootstrap.build(settings, clock=FrozenClock(DEMO_NOW)) as app:
            await roster_uc.import_roster(
                app.ctx, read_roster(big_class(PUPILS).write(tmp_path / "export"))
            )
            result = await announcing.announce(
                app.ctx,
                AnnouncementDraft("6G", "t-1", "reminder", text="Neem morgen je gymspullen mee."),
            )
            stats = await app.dispatcher.run_once()
            deliveries = await queries.deliveries(app.ctx, result.announcement.id)
        receipts = sink.receipts()

    assert stats.sent == PUPILS
    assert len(deliveries) == PUPILS
    assert all(d.status == DeliveryStatus.SENT for d in deliveries)
    # Each pupil: exactly one message, with the Message-ID of its delivery row.
    assert len(receipts) == PUPILS
    assert {r.recipients: r.message_id for r in receipts} == {
        (pupil_address(int(d.pupil_id[2:])),): f"<{d.idempotency_key}@klasbot>" for d in deliveries
    }
    assert len({r.message_id for r in receipts}) == PUPILS
    # Over more than one connection (each its own client port), never more than four.
    ports = {r.peer[1] for r in receipts}
    assert 1 < len(ports) <= 4
