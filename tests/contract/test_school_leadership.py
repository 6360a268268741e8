"""A person's schools round-trip through every store, a roster re-import moves them, and
`leadership(school)` follows (memory, SQLite, PostgreSQL: see conftest)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import Person, Role, RosterSnapshot, School
from bot.repositories import UnitOfWork
from tests.contract.test_repositories import seeded

UTRECHT = "org-passie-utrecht"
ZEIST = School("org-passie-zeist", "De Passie Zeist")
BOS = Person(
    "l-bos", Role.LEADERSHIP, "Bram", "Bos", email="b.bos@passie.example", school_ids=(ZEIST.id,)
)
# Leads in Zeist and teaches in Utrecht: leadership of both schools it belongs to.
BOTH = Person(
    "l-beide",
    Role.TEACHER,
    "Kim",
    "Smit",
    roles=frozenset({Role.LEADERSHIP}),
    school_ids=(UTRECHT, ZEIST.id),
)


def moved(snapshot: RosterSnapshot, person_id: str, school_ids: tuple[str, ...]) -> RosterSnapshot:
    persons = tuple(
        replace(p, school_ids=school_ids) if p.id == person_id else p for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


async def with_two_schools(uow: UnitOfWork) -> RosterSnapshot:
    snapshot = await seeded(uow)
    two = replace(
        snapshot, schools=(*snapshot.schools, ZEIST), persons=(*snapshot.persons, BOS, BOTH)
    )
    async with uow.transaction() as r:
        await r.roster.sync(two)
    return two


async def leaders(uow: UnitOfWork, school_id: str | None) -> list[str]:
    async with uow.transaction() as r:
        return [p.id for p in await r.roster.leadership(school_id)]


async def test_school_ids_round_trip_and_name_the_leadership_of_each_school(
    uow: UnitOfWork,
) -> None:
    await with_two_schools(uow)
    async with uow.transaction() as r:
        found = await r.roster.persons(["l-bos", "l-beide", "l-visser", "p-2b-01"])
    assert found["l-bos"] == BOS
    assert found["l-beide"].school_ids == (UTRECHT, ZEIST.id)
    assert found["l-visser"].school_ids == (UTRECHT,)
    assert found["p-2b-01"].school_ids == (UTRECHT,)
    assert await leaders(uow, UTRECHT) == ["l-beide", "l-visser"]
    assert await leaders(uow, ZEIST.id) == ["l-beide", "l-bos"]
    assert await leaders(uow, None) == ["l-beide", "l-bos", "l-visser"]
    assert await leaders(uow, "org-elders") == []


async def test_a_reimport_moves_a_principal_to_another_school(uow: UnitOfWork) -> None:
    two = await with_two_schools(uow)
    async with uow.transaction() as r:
        changes = await r.roster.sync(moved(two, "l-visser", (ZEIST.id,)))
    assert "l-visser" in changes.updated["persons"]
    assert await leaders(uow, UTRECHT) == ["l-beide"]
    assert await leaders(uow, ZEIST.id) == ["l-beide", "l-bos", "l-visser"]
    async with uow.transaction() as r:
        visser = await r.roster.person("l-visser")
    assert visser is not None
    assert visser.school_ids == (ZEIST.id,)
