"""The storage contract of undoing an announcement (`bot.usecases.undo`), over memory, SQLite and
PostgreSQL: `cancel` takes only what has not gone out and is not going out; a cancelled row is
never retried, held, re-routed or put on a letter, but a worker whose lease ran out while sending
it may still record that it was sent; `revise` stores a withdrawal or correction; `lock` reads
the latest; `existing_keys` says which follow-ups exist."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain import Channel, DeliveryStatus
from bot.repositories import UnitOfWork
from tests.contract.test_repositories import LEASE, T0, announcement, row, seeded


async def _announced(uow: UnitOfWork, pupils: int = 4) -> tuple[int, list[int]]:
    await seeded(uow)
    async with uow.transaction() as r:
        aid = await r.announcements.add(announcement())
        ids = await r.outbox.add(
            [row(f"k{n}", f"p-2b-0{n + 1}", announcement_id=aid) for n in range(pupils)]
        )
    return aid, ids


async def test_cancel_takes_what_has_not_gone_out(uow: UnitOfWork) -> None:
    aid, (sent, claimed, held, waiting) = await _announced(uow)
    async with uow.transaction() as r:
        await r.outbox.claim_due(T0, LEASE, 2, claim="c1")  # `sent` and `claimed`
        await r.outbox.mark_sent([sent], T0, None, claim="c1")
        await r.outbox.hold([held], T0 + timedelta(hours=8))
    async with uow.transaction() as r:
        cancelled = await r.outbox.cancel(aid, T0)
        rows = {d.id: d for d in await r.outbox.for_announcement(aid)}
    assert cancelled == sorted([held, waiting])
    assert rows[sent].status == DeliveryStatus.SENT
    assert rows[claimed].status == DeliveryStatus.PENDING  # in flight: left to its worker
    assert rows[held].status == rows[waiting].status == DeliveryStatus.WITHDRAWN
    async with uow.transaction() as r:
        later = await r.outbox.claim_due(T0 + timedelta(days=1), LEASE + timedelta(days=1), 10)
    # Only the row whose worker never finished comes back (its lease is over); the withdrawn
    # ones never do.
    assert [d.id for d in later] == [claimed]


async def test_a_cancelled_row_whose_lease_ran_out_is_recorded_only_as_sent(
    uow: UnitOfWork,
) -> None:
    aid, (first, second, *_) = await _announced(uow)
    async with uow.transaction() as r:
        await r.outbox.claim_due(T0, LEASE, 2, claim="slow")
    async with uow.transaction() as r:
        # The slow worker's lease is over: its rows count as not going out.
        assert first in await r.outbox.cancel(aid, LEASE + timedelta(seconds=1))
    async with uow.transaction() as r:
        assert await r.outbox.mark_retry(first, "busy", LEASE, claim="slow") is False
        assert await r.outbox.hold([first], LEASE, claim="slow") == []
        moved = await r.outbox.reroute(
            first,
            channel="post",
            reason=None,
            recipients=(),
            error="bounced",
            now=LEASE,
            claim="slow",
        )
        assert moved is False
        assert (
            await r.letters.add("L1", "Ouder", "Straat 1", "/x.pdf", T0, [first], claim="slow")
            == []
        )
        assert await r.outbox.mark_sent([second], LEASE, "m-1", claim="slow") == [second]
        assert await r.outbox.mark_sent([first], LEASE, "m-1", claim="slow") == [first]
        rows = {d.id: d for d in await r.outbox.for_announcement(aid)}
    assert rows[first].status == DeliveryStatus.SENT  # it did go out: its withdrawal is owed


async def test_a_row_on_a_letter_is_not_cancelled(uow: UnitOfWork) -> None:
    aid, (on_letter, *_) = await _announced(uow, 2)
    async with uow.transaction() as r:
        await r.outbox.claim_due(T0, LEASE, 1, claim="c")
        await r.letters.add("L1", "Ouder", "Straat 1", "/x.pdf", T0, [on_letter], claim="c")
    async with uow.transaction() as r:
        cancelled = await r.outbox.cancel(aid, T0)
        [carried] = await r.outbox.get([on_letter])
    assert on_letter not in cancelled
    assert carried.letter_key == "L1"


async def test_revise_and_lock(uow: UnitOfWork) -> None:
    aid, _ = await _announced(uow, 1)
    async with uow.transaction() as r:
        stored = await r.announcements.lock(aid)
        assert stored is not None
        assert (stored.withdrawn, stored.revision) == (False, 0)
        await r.announcements.revise(
            replace(stored, body="Lees hoofdstuk 4.", text="4", corrected_at=T0, revision=1)
        )
        assert (await r.announcements.lock(aid, shared=True)).body == "Lees hoofdstuk 4."  # type: ignore[union-attr]
    async with uow.transaction() as r:
        current = await r.announcements.get(aid)
        assert current is not None
        await r.announcements.revise(
            replace(current, withdrawn_at=LEASE, withdrawn_by="t-devries", withdraw_reason="x")
        )
    async with uow.transaction() as r:
        final = await r.announcements.get(aid)
        assert await r.announcements.lock(999) is None
    assert final is not None
    assert final.withdrawn
    assert (final.withdrawn_at, final.withdrawn_by, final.withdraw_reason) == (
        LEASE,
        "t-devries",
        "x",
    )
    assert (final.body, final.revision, final.corrected_at) == ("Lees hoofdstuk 4.", 1, T0)


async def test_existing_keys(uow: UnitOfWork) -> None:
    await _announced(uow, 2)
    async with uow.transaction() as r:
        await r.outbox.add([row("withdrawal-1", channel=Channel.EMAIL)])
        assert await r.outbox.existing_keys(["k0", "withdrawal-1", "nope"]) == {
            "k0",
            "withdrawal-1",
        }
        assert await r.outbox.existing_keys([]) == set()
