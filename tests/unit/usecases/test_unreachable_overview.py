"""Pupils nobody reaches: one overview per author per school day (not one mail per announcement),
listed per announcement, due at the school's `digest_at` or the next morning; told only to whom it
can be told, and the result says exactly who that is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, time

import pytest

from bot.clock import FrozenClock
from bot.dispatch import Dispatcher
from bot.domain import AnnouncementDraft, Delivery, DeliveryStatus, Kind, RosterSnapshot
from bot.notices import UnreachableItem, UnreachableNotice, notice_from_json
from bot.outbox import NOBODY_TOLD, Told, add_unreachable_warning, digest_due
from bot.usecases import announcing
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from storage.memory_outbox import InMemoryOutboxRepository
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    LEADERSHIP,
    TODAY,
    TOMORROW,
    VISSER_MAIL,
    FakeMailer,
    homework,
    local,
    notice_rows,
)


def reminder(text: str, author: str = "t-devries", klas: str = "2B") -> AnnouncementDraft:
    return AnnouncementDraft(klas, author, Kind.REMINDER, text=text)


def overview(row: Delivery) -> UnreachableNotice:
    assert isinstance(row.notice, UnreachableNotice)
    return row.notice


def without_mail(snapshot: RosterSnapshot, person_id: str) -> RosterSnapshot:
    persons = tuple(replace(p, email=None) if p.id == person_id else p for p in snapshot.persons)
    return replace(snapshot, persons=persons)


# --- one overview a day ---------------------------------------------------------------------------


async def test_a_mornings_announcements_make_one_overview_listed_per_announcement(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    ids = [
        (await announcing.announce(ctx, reminder(f"Neem boek {n} mee."))).announcement.id
        for n in range(1, 4)
    ]
    [row] = await notice_rows(ctx, "unreachable")
    assert [(i.announcement_id, i.pupils) for i in overview(row).items] == [
        (a, ("Sophie Mulder",)) for a in ids
    ]
    assert row.due_at == local(TODAY, 16)

    # Nothing before 16:00, then one mail to the author and leadership.
    clock.at = local(TODAY, 15, 59).astimezone(UTC)
    await dispatcher.run_once()
    assert mailer.of("unreachable") == []
    clock.at = local(TODAY, 16).astimezone(UTC)
    await dispatcher.run_once()
    [mail] = mailer.of("unreachable")
    # The author, the roster's administrator of the school and the configured address.
    assert set(mail.to) == {DEVRIES_MAIL, VISSER_MAIL, LEADERSHIP}
    assert isinstance(mail.notice, UnreachableNotice)
    assert mail.notice.pupil_count == 3


async def test_after_the_overview_went_out_the_next_one_is_due_the_next_morning(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer, clock: FrozenClock
) -> None:
    await announcing.announce(ctx, reminder("Neem je gymspullen mee."))
    clock.at = local(TODAY, 16).astimezone(UTC)
    await dispatcher.run_once()
    clock.at = local(TODAY, 17).astimezone(UTC)
    late = await announcing.announce(ctx, reminder("Neem je rekenmachine mee."))
    rows = await notice_rows(ctx, "unreachable")
    assert [r.status for r in rows] == [DeliveryStatus.SENT, DeliveryStatus.PENDING]
    assert rows[1].due_at == local(TOMORROW, 7)  # when the quiet hours end
    assert rows[0].idempotency_key != rows[1].idempotency_key
    assert [i.announcement_id for i in overview(rows[1]).items] == [late.announcement.id]
    assert late.told == Told(author=True, leadership=True, at=local(TOMORROW, 7))
    clock.at = local(TOMORROW, 7).astimezone(UTC)
    await dispatcher.run_once()
    assert len(mailer.of("unreachable")) == 2


async def test_an_overview_no_dispatcher_took_yet_is_still_extended_after_its_time(
    ctx: Context, clock: FrozenClock
) -> None:
    await announcing.announce(ctx, reminder("Neem je gymspullen mee."))
    clock.at = local(TODAY, 16, 5).astimezone(UTC)  # the dispatcher has not run since 16:00
    second = await announcing.announce(ctx, reminder("Neem je rekenmachine mee."))
    [row] = await notice_rows(ctx, "unreachable")
    assert len(overview(row).items) == 2
    assert second.told.at == local(TODAY, 16, 5)  # it goes out with the next round


async def test_a_claimed_overview_is_never_changed(ctx: Context, clock: FrozenClock) -> None:
    """A dispatcher sends the notice it read when it claimed the row; changing the row then
    would record pupils as told who never were."""
    await announcing.announce(ctx, reminder("Neem je gymspullen mee."))
    clock.at = local(TODAY, 16).astimezone(UTC)
    async with ctx.db.transaction() as tx:
        rows = await tx.outbox.claim_due(clock.now(), clock.now(), 50, claim="worker-a")
    [claimed] = [r for r in rows if isinstance(r.notice, UnreachableNotice)]
    before = overview(claimed)
    await announcing.announce(ctx, reminder("Neem je rekenmachine mee."))
    first, second = await notice_rows(ctx, "unreachable")
    assert overview(first) == before  # even though its lease ran out
    assert len(overview(second).items) == 1
    assert second.due_at == local(TOMORROW, 7)


async def test_a_claim_that_lands_between_the_read_and_the_write_is_respected(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fence of `bot.outbox._extend`: the row is read again after the change; when a claim
    came in between (PostgreSQL, read committed), the claimed notice is put back and a new row
    takes the pupils."""
    await announcing.announce(ctx, reminder("Neem je gymspullen mee."))
    real = InMemoryOutboxRepository.replace_notice
    calls = {"n": 0}

    async def claim_sneaks_in(self: InMemoryOutboxRepository, row_id: int, notice: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # a dispatcher claims the row just before this write lands
            from storage.memory_tables import OUTBOX

            row = self.tx.read(OUTBOX)[row_id]
            self.tx.write(OUTBOX)[row_id] = replace(
                row, delivery=replace(row.delivery, claim="worker-b")
            )
        await real(self, row_id, notice)  # type: ignore[arg-type]

    monkeypatch.setattr(InMemoryOutboxRepository, "replace_notice", claim_sneaks_in)
    await announcing.announce(ctx, reminder("Neem je rekenmachine mee."))
    first, second = await notice_rows(ctx, "unreachable")
    assert calls["n"] == 2  # the change, then putting the claimed notice back
    assert [i.pupils for i in overview(first).items] == [("Sophie Mulder",)]
    assert len(overview(first).items) == 1
    assert len(overview(second).items) == 1


async def test_each_author_and_each_day_has_an_overview_of_its_own(
    ctx: Context, clock: FrozenClock
) -> None:
    await announcing.announce(ctx, reminder("Neem je gymspullen mee."))
    await announcing.announce(ctx, reminder("Neem je atlas mee.", author="t-bakker"))
    clock.at = local(TOMORROW, 9).astimezone(UTC)
    await announcing.announce(ctx, reminder("Neem je rekenmachine mee."))
    rows = await notice_rows(ctx, "unreachable")
    assert [(r.pupil_id, overview(r).day) for r in rows] == [
        ("t-devries", TODAY.isoformat()),
        ("t-bakker", TODAY.isoformat()),
        ("t-devries", TOMORROW.isoformat()),
    ]
    assert {r.email for r in rows[1].recipients} == {
        "f.bakker@passie-utrecht.example",
        VISSER_MAIL,
        LEADERSHIP,
    }
    assert rows[2].due_at == local(TOMORROW, 16)


async def test_the_same_pupil_of_the_same_announcement_is_listed_once() -> None:
    item = UnreachableItem(1, "2B", "Huiswerk", ("Sophie Mulder",))
    notice = UnreachableNotice(day="2026-11-23", items=(item,), school_name="X")
    twice = notice.adding(replace(item, pupils=("Sophie Mulder", "Lotte 't Hart")))
    assert twice.items == (replace(item, pupils=("Sophie Mulder", "Lotte 't Hart")),)
    assert twice.pupil_count == 2


def test_an_overview_survives_storage_and_a_warning_stored_before_overviews_still_reads() -> None:
    item = UnreachableItem(7, "2B", "Lesuitval", ("Sophie Mulder",))
    notice = UnreachableNotice(day="2026-11-23", items=(item,), school_name="X")
    assert notice_from_json(notice.to_json()) == notice
    old = {
        "type": "unreachable",
        "announcement_id": 7,
        "class_code": "2B",
        "summary": "Lesuitval",
        "pupils": ["Sophie Mulder"],
        "school_name": "X",
    }
    assert notice_from_json(old) == UnreachableNotice(day="", items=(item,), school_name="X")


def test_the_overview_is_due_at_the_schools_time_or_the_next_morning(ctx: Context) -> None:
    policy = replace(ctx.policy, digest_at=time(15, 30))
    assert digest_due(policy, local(TODAY, 8)) == local(TODAY, 15, 30)
    assert digest_due(policy, local(TODAY, 15, 30)) == local(TOMORROW, 7)
    assert digest_due(replace(policy, quiet_hours=None), local(TODAY, 23)) == local(TOMORROW, 7)


# --- told: only what is true ----------------------------------------------------------------------


async def test_without_leadership_addresses_only_the_author_is_told(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    # Leadership unknown: nothing configured, and the roster's administrator has no address.
    ctx.policy = replace(ctx.policy, leadership_emails=())
    await roster_uc.import_roster(ctx, without_mail(snapshot, "l-visser"))
    result = await announcing.announce(ctx, homework())
    [row] = await notice_rows(ctx, "unreachable")
    assert [r.email for r in row.recipients] == [DEVRIES_MAIL]
    assert result.told == Told(author=True, leadership=False, at=local(TODAY, 16))


async def test_an_author_without_an_address_leaves_only_leadership(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    await roster_uc.import_roster(ctx, without_mail(snapshot, "t-devries"))
    result = await announcing.announce(ctx, homework())
    [row] = await notice_rows(ctx, "unreachable")
    assert [r.email for r in row.recipients] == [VISSER_MAIL, LEADERSHIP]
    assert result.told == Told(author=False, leadership=True, at=local(TODAY, 16))


async def test_with_nobody_to_tell_nothing_is_queued_and_nobody_is_said_to_be_told(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    ctx.policy = replace(ctx.policy, leadership_emails=())
    leaderless = without_mail(without_mail(snapshot, "t-devries"), "l-visser")
    await roster_uc.import_roster(ctx, leaderless)
    result = await announcing.announce(ctx, homework())
    assert await notice_rows(ctx, "unreachable") == []
    assert result.told == NOBODY_TOLD
    assert result.unreachable == ("p-2b-06",)
    assert result.unreachable_names == ("Sophie Mulder",)


async def test_nobody_unreachable_tells_nobody(ctx: Context) -> None:
    result = await announcing.announce(
        ctx, AnnouncementDraft("4C", "t-jansen", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    )
    assert result.told == NOBODY_TOLD
    async with ctx.db.transaction() as tx:
        told = await add_unreachable_warning(tx, ctx.policy, result.announcement, [])
    assert told == NOBODY_TOLD
