"""A person's school account (`Person.username`) round-trips through every store, a roster
re-import changes or clears it, and `find_by_account_name` matches it or the e-mail address
without regard to case (memory, SQLite, PostgreSQL: see conftest)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import RosterSnapshot
from bot.repositories import UnitOfWork
from tests.contract.test_repositories import seeded


def with_username(snapshot: RosterSnapshot, person_id: str, username: str | None) -> RosterSnapshot:
    persons = tuple(
        replace(p, username=username) if p.id == person_id else p for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


async def username_of(uow: UnitOfWork, person_id: str) -> str | None:
    async with uow.transaction() as r:
        person = await r.roster.person(person_id)
    assert person is not None
    return person.username


async def found(uow: UnitOfWork, *names: str) -> list[str]:
    async with uow.transaction() as r:
        return [p.id for p in await r.roster.find_by_account_name(names)]


async def test_username_round_trips_and_a_reimport_changes_it(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    assert await username_of(uow, "p-2b-01") == "zoe.vandenberg"  # the demo roster's
    changed = with_username(snapshot, "p-2b-01", "Zoe.Berg@Passie.example")
    async with uow.transaction() as r:
        changes = await r.roster.sync(changed)
    assert "p-2b-01" in changes.updated["persons"]
    assert await username_of(uow, "p-2b-01") == "Zoe.Berg@Passie.example"
    async with uow.transaction() as r:
        await r.roster.sync(with_username(changed, "p-2b-01", None))
    assert await username_of(uow, "p-2b-01") is None


async def test_find_by_account_name_matches_username_or_email_in_any_case(
    uow: UnitOfWork,
) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        await r.roster.sync(with_username(snapshot, "p-2b-01", "Zoe.Berg@Passie.example"))
    assert await found(uow, "zoe.berg@passie.EXAMPLE") == ["p-2b-01"]
    assert await found(uow, "J.DEVRIES@passie-utrecht.example") == ["t-devries"]  # e-mail
    assert await found(uow, "A.Visser") == ["l-visser"]  # the demo's username
    # Both names of one member, matching two people: both are returned, ordered by id.
    assert await found(uow, "zoe.berg@passie.example", "a.visser") == ["l-visser", "p-2b-01"]
    assert await found(uow, "nobody@passie.example") == []
    assert await found(uow) == []
    assert await found(uow, "", "  ") == []
