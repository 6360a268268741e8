"""The contract of `RosterRepository.set_language` and of the roster sync around it, over memory,
SQLite and PostgreSQL: a person's own choice survives a re-import that names no language for them;
a language the roster names replaces it. (Apart from test_repositories.py, which is long.)"""

from __future__ import annotations

from dataclasses import replace

from adapters.oneroster.reader import read_roster
from bot.domain import RosterSnapshot
from bot.repositories import UnitOfWork
from tests.conftest import DEMO_ROSTER


async def seeded(uow: UnitOfWork) -> RosterSnapshot:
    snapshot = read_roster(DEMO_ROSTER)
    async with uow.transaction() as r:
        await r.roster.sync(snapshot)
    return snapshot


def saying(snapshot: RosterSnapshot, person_id: str, language: str | None) -> RosterSnapshot:
    persons = tuple(
        replace(p, language=language) if p.id == person_id else p for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


async def language_of(uow: UnitOfWork, person_id: str) -> str | None:
    async with uow.transaction() as r:
        found = await r.roster.person(person_id)
        assert found is not None
        return found.language


async def test_set_language_stores_and_clears(uow: UnitOfWork) -> None:
    await seeded(uow)
    assert await language_of(uow, "g-01") is None
    async with uow.transaction() as r:
        assert await r.roster.set_language("g-01", "en") is True
    assert await language_of(uow, "g-01") == "en"
    async with uow.transaction() as r:
        assert (await r.roster.persons(["g-01"]))["g-01"].language == "en"
        assert await r.roster.set_language("g-01", None) is True
    assert await language_of(uow, "g-01") is None


async def test_set_language_of_nobody_is_false(uow: UnitOfWork) -> None:
    await seeded(uow)
    async with uow.transaction() as r:
        assert await r.roster.set_language("nobody", "en") is False


async def test_a_sync_that_names_no_language_keeps_the_persons_own(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        await r.roster.set_language("p-2b-03", "en")
    async with uow.transaction() as r:
        changes = await r.roster.sync(snapshot)
    assert changes.empty  # nothing in the roster changed
    assert await language_of(uow, "p-2b-03") == "en"


async def test_a_sync_that_names_a_language_sets_it(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    async with uow.transaction() as r:
        await r.roster.set_language("g-01", "nl")
    async with uow.transaction() as r:
        changes = await r.roster.sync(saying(snapshot, "g-01", "en"))
    assert changes.updated["persons"] == ["g-01"]
    assert await language_of(uow, "g-01") == "en"
    async with uow.transaction() as r:
        again = await r.roster.sync(saying(snapshot, "g-01", "en"))
    assert again.empty


async def test_a_newcomer_without_a_language_has_none(uow: UnitOfWork) -> None:
    snapshot = await seeded(uow)
    newcomer = replace(
        next(p for p in snapshot.persons if p.id == "g-02"), id="g-99", guardian_ids=()
    )
    async with uow.transaction() as r:
        await r.roster.sync(replace(snapshot, persons=(*snapshot.persons, newcomer)))
    assert await language_of(uow, "g-99") is None
