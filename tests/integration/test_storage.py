"""Storage on SQLite and PostgreSQL: migrations, roster sync and the outbox's guarantees."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.domain import AnnouncementDraft, Channel, DeliveryStatus, NewDelivery, Person, Role
from bot.usecases import announcing
from bot.usecases import roster as roster_uc
from config.settings import Settings
from storage.migrate import current_revision
from storage.models import Base
from storage.store import Database
from tests.conftest import DEMO_ROSTER


async def test_upgrade_head_leaves_no_drift(settings: Settings) -> None:
    await bootstrap.migrate(settings)
    await bootstrap.migrate(settings)  # idempotent
    db = Database(settings.database_url)
    try:
        assert await current_revision(db.engine) is not None
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await db.dispose()


async def test_without_upgrade_there_is_no_schema(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        with pytest.raises(sa.exc.DBAPIError):
            async with db.transaction() as store:
                await store.roster.count_persons()
    finally:
        await db.dispose()


async def test_roster_resync_adds_updates_removes(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    again = await roster_uc.import_roster(app.ctx, snapshot)
    assert again.empty
    persons = {p.id: p for p in snapshot.persons}
    changed = replace(persons["p-2b-02"], given_name="Daniël")
    newcomer = Person("p-2b-99", Role.PUPIL, "Ilse", "Kok", birth_date=date(2012, 1, 1))
    people = tuple(p for p in snapshot.persons if p.id not in ("p-2b-02", "p-2b-04")) + (
        changed,
        newcomer,
    )
    enrollments = tuple(e for e in snapshot.enrollments if e.person_id != "p-2b-04") + (
        replace(snapshot.enrollments[0], person_id="p-2b-99", role=snapshot.enrollments[0].role),
    )
    dry = await roster_uc.import_roster(
        app.ctx, replace(snapshot, persons=people, enrollments=enrollments), dry_run=True
    )
    assert "p-2b-99" in dry.added["persons"]
    assert "p-2b-04" in dry.removed["persons"]
    async with app.db.transaction() as store:
        assert (
            await store.roster.person("p-2b-02")
        ).given_name == "Daan"  # dry run changed nothing
        assert await store.roster.person("p-2b-99") is None
    changes = await roster_uc.import_roster(
        app.ctx, replace(snapshot, persons=people, enrollments=enrollments)
    )
    assert changes.updated["persons"] == ["p-2b-02"]
    async with app.db.transaction() as store:
        assert (await store.roster.person("p-2b-02")).given_name == "Daniël"
        assert await store.roster.person("p-2b-04") is None
        assert await store.roster.person("p-2b-99") is not None


async def test_one_delivery_per_pupil_is_enforced_by_the_database(app: bootstrap.App) -> None:
    result = await announcing.announce(
        app.ctx, AnnouncementDraft("2B", "t-devries", "reminder", text="Neem je gymspullen mee.")
    )
    with pytest.raises(IntegrityError):
        async with app.db.transaction() as store:
            await store.outbox.add(
                [
                    NewDelivery(
                        person_id="p-2b-01",
                        channel=Channel.EMAIL,
                        reason=None,
                        status=DeliveryStatus.PENDING,
                        due_at=app.clock.now(),
                        idempotency_key="another-key",
                        announcement_id=result.announcement.id,
                    )
                ]
            )


async def test_concurrent_claims_never_share_a_delivery(app: bootstrap.App) -> None:
    for _ in range(5):
        await announcing.announce(
            app.ctx,
            AnnouncementDraft("4C", "t-jansen", "reminder", text="Neem je gymspullen mee."),
            again=True,
        )
    now = app.clock.now()
    db2 = Database(app.settings.database_url)
    try:

        async def claim(db: Database) -> set[int]:
            async with db.transaction() as store:
                got = await store.outbox.claim_due(now, now + timedelta(minutes=5), 10)
                await asyncio.sleep(0.2)  # hold the rows while the other worker claims
                return {d.id for d in got}

        # At the same time: PostgreSQL skips the other's locked rows; on SQLite the second
        # claim's transaction waits for the first's write lock, then reads what is left.
        first, second = await asyncio.gather(claim(app.db), claim(db2))
        assert first
        assert second
        assert not first & second
        assert len(first | second) == 20
    finally:
        await db2.dispose()


async def test_a_locked_platform_value_is_counted_by_two_processes_without_a_lost_update(
    app: bootstrap.App,
) -> None:
    """The throttle counter's read-modify-write (`PlatformStateRepository.lock`), by two
    connections at once: both increments survive, on SQLite and PostgreSQL."""
    db2 = Database(app.settings.database_url)
    try:

        async def increment(db: Database) -> None:
            async with db.transaction() as tx:
                await tx.state.lock("telegram", "attempts:acct-1")
                count = int(await tx.state.get("telegram", "attempts:acct-1") or "0")
                await asyncio.sleep(0.2)  # the other connection tries meanwhile
                await tx.state.set("telegram", "attempts:acct-1", str(count + 1))

        await asyncio.gather(increment(app.db), increment(db2))
        async with app.db.transaction() as tx:
            assert await tx.state.get("telegram", "attempts:acct-1") == "2"
    finally:
        await db2.dispose()
