"""The contract of what a dossier reads (`bot.usecases.dossier`), over memory, SQLite and
PostgreSQL: `OutboxRepository.for_person` (a pupil's own rows and those a guardian is a recipient
of, also for an id with characters a JSON text escapes), `AccountRepository.of_person` with when
each account was linked (a re-link moves it and sets the time anew) and
`RosterRepository.wards_of`. (Apart from test_repositories.py, which is long.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.oneroster.reader import read_roster
from bot.domain import Channel, DeliveryStatus, NewDelivery, Reason, Recipient
from bot.notices import ReportNotice
from bot.repositories import UnitOfWork
from tests.conftest import DEMO_ROSTER

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def row(key: str, person_id: str, *recipients: str) -> NewDelivery:
    return NewDelivery(
        person_id=person_id,
        channel=Channel.EMAIL,
        reason=Reason.NOT_LINKED,
        status=DeliveryStatus.PENDING,
        due_at=T0,
        idempotency_key=key,
        recipients=tuple(Recipient(r, "Ouder", email=f"{key}@example.org") for r in recipients),
        notice=ReportNotice(
            kind="report",
            reporter="x",
            text="t",
            created_at="2026-11-23 10:00",
            school_name="De Passie",
        ),
    )


async def test_for_person_finds_own_rows_and_rows_to_them(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        await r.roster.sync(read_roster(DEMO_ROSTER))
        ids = await r.outbox.add(
            [
                row("a", "p-2b-01", "g-01"),  # Zoë's copy, to her mother
                row("b", "p-2b-03", "g-03", "g-04"),  # Noor's, to both parents
                row("c", "g-01"),  # a notice about the mother herself
                row("d", "p-2b-04", "g-010"),  # an id that merely begins like hers
                row("e", 'p-ö"1', "g-ü\\2"),  # ids a JSON text escapes
            ]
        )

    async with uow.transaction() as r:
        assert [d.id for d in await r.outbox.for_person("g-01")] == [ids[0], ids[2]]
        assert [d.id for d in await r.outbox.for_person("p-2b-01")] == [ids[0]]
        assert [d.id for d in await r.outbox.for_person("g-04")] == [ids[1]]
        assert [d.id for d in await r.outbox.for_person("g-ü\\2")] == [ids[4]]
        assert [d.id for d in await r.outbox.for_person('p-ö"1')] == [ids[4]]
        assert await r.outbox.for_person("g-0") == []
        assert await r.outbox.for_person("%") == []


async def test_accounts_say_when_they_were_linked(uow: UnitOfWork) -> None:
    later = T0 + timedelta(days=2)
    async with uow.transaction() as r:
        await r.roster.sync(read_roster(DEMO_ROSTER))
        await r.accounts.link("console", "acc-1", "p-2b-01", T0)
        await r.accounts.link("matrix", "@zoe:x", "p-2b-01", T0)
    async with uow.transaction() as r:
        await r.accounts.link("console", "acc-1", "p-2b-02", later)  # moved to Daan

    async with uow.transaction() as r:
        zoe = await r.accounts.of_person("p-2b-01")
        daan = await r.accounts.of_person("p-2b-02")
    assert [(a.platform, a.account_id, a.linked_at) for a in zoe] == [("matrix", "@zoe:x", T0)]
    assert [(a.account_id, a.linked_at) for a in daan] == [("acc-1", later)]


async def test_wards_of_a_guardian(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        await r.roster.sync(read_roster(DEMO_ROSTER))
        assert await r.roster.wards_of("g-07") == ["p-2b-06", "p-4c-05"]
        assert await r.roster.wards_of("g-01") == ["p-2b-01", "p-4c-01"]
        assert await r.roster.wards_of("p-2b-01") == []
