"""Over memory, SQLite and PostgreSQL: an adult pupil's consent (`Person.share_with_guardians`,
rule 6) is kept and updated by a roster sync, and `RosterRepository.name_tokens` /
`address_tokens` give the log filter the same words of the same roster."""

from __future__ import annotations

from dataclasses import replace

from adapters.oneroster.reader import read_roster
from bot.domain import RosterSnapshot
from bot.log_tokens import persons_tokens
from bot.repositories import UnitOfWork
from tests.conftest import DEMO_ROSTER


def consenting(snapshot: RosterSnapshot, person_id: str, consent: bool) -> RosterSnapshot:
    persons = tuple(
        replace(p, share_with_guardians=consent) if p.id == person_id else p
        for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


async def consent_of(uow: UnitOfWork, person_id: str) -> tuple[bool, bool]:
    async with uow.transaction() as r:
        one = await r.roster.person(person_id)
        many = (await r.roster.persons([person_id]))[person_id]
        assert one is not None
        return one.share_with_guardians, many.share_with_guardians


async def test_a_consent_is_stored_and_a_reimport_updates_it(uow: UnitOfWork) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    async with uow.transaction() as r:
        await r.roster.sync(consenting(snapshot, "p-4c-03", True))
    assert await consent_of(uow, "p-4c-03") == (True, True)
    assert await consent_of(uow, "p-4c-01") == (False, False)
    async with uow.transaction() as r:
        changes = await r.roster.sync(snapshot)
        roster = await r.roster.class_roster("cls-4c")
    assert "p-4c-03" in changes.updated["persons"]
    assert await consent_of(uow, "p-4c-03") == (False, False)
    assert not any(p.share_with_guardians for p in roster.pupils)


async def test_the_log_tokens_are_the_rosters_words(uow: UnitOfWork) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    async with uow.transaction() as r:
        await r.roster.sync(snapshot)
        names, addresses = await r.roster.name_tokens(), await r.roster.address_tokens()
    assert (names, addresses) == persons_tokens(snapshot.persons)
    assert {"zoë", "zoe", "berg", "amrani", "yılmaz", "yilmaz", "çelik", "celik", "hart"} <= names
    assert not {"van", "den", "de", "el", "t"} & names  # tussenvoegsels and short words
    assert {"oudegracht", "nieuwstraat", "lange", "3511ax", "3512pe"} <= addresses
