"""A person's roles round-trip through every store (memory, SQLite, PostgreSQL: see conftest)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from bot.domain import Enrollment, EnrollmentRole, Person, Role, RosterSnapshot
from bot.repositories import UnitOfWork
from storage.store import Database
from tests.contract.test_repositories import seeded

# A teacher of 2B who is also the parent of a pupil of 4C, and a principal who teaches 4C.
PARENT_TEACHER = Person(
    "t-ouder",
    Role.TEACHER,
    "Sanne",
    "Meijer",
    email="s.meijer@passie-utrecht.example",
    roles=frozenset({Role.GUARDIAN}),
)
PRINCIPAL_TEACHER = Person(
    "l-docent", Role.LEADERSHIP, "Kees", "Dekker", roles=frozenset({Role.TEACHER})
)


async def with_both(uow: UnitOfWork) -> RosterSnapshot:
    snapshot = await seeded(uow)
    pupil = next(p for p in snapshot.persons if p.id == "p-4c-01")
    persons = tuple(
        replace(p, guardian_ids=(*p.guardian_ids, PARENT_TEACHER.id)) if p.id == pupil.id else p
        for p in snapshot.persons
    )
    changed = replace(
        snapshot,
        persons=(*persons, PARENT_TEACHER, PRINCIPAL_TEACHER),
        enrollments=(
            *snapshot.enrollments,
            Enrollment("cls-2b", PARENT_TEACHER.id, EnrollmentRole.TEACHER),
            Enrollment("cls-4c", PRINCIPAL_TEACHER.id, EnrollmentRole.TEACHER),
        ),
    )
    async with uow.transaction() as r:
        await r.roster.sync(changed)
    return changed


async def test_roles_round_trip(uow: UnitOfWork) -> None:
    await with_both(uow)
    async with uow.transaction() as r:
        teacher = await r.roster.person(PARENT_TEACHER.id)
        found = await r.roster.persons([PARENT_TEACHER.id, PRINCIPAL_TEACHER.id, "p-2b-01"])
    assert teacher == PARENT_TEACHER
    assert teacher.roles == {Role.TEACHER, Role.GUARDIAN}
    assert found[PRINCIPAL_TEACHER.id].roles == {Role.LEADERSHIP, Role.TEACHER}
    assert found[PRINCIPAL_TEACHER.id].role is Role.LEADERSHIP
    assert found["p-2b-01"].roles == {Role.PUPIL}


async def test_a_teacher_who_is_a_parent_is_staff_of_one_class_and_guardian_in_another(
    uow: UnitOfWork,
) -> None:
    await with_both(uow)
    async with uow.transaction() as r:
        own_class = await r.roster.class_roster("cls-2b")
        child_class = await r.roster.class_roster("cls-4c")
    assert PARENT_TEACHER.id in {p.id for p in own_class.staff}
    assert PARENT_TEACHER in child_class.guardians.values()
    assert child_class.guardians[PARENT_TEACHER.id].has_role(Role.GUARDIAN)
    assert PRINCIPAL_TEACHER.id in {p.id for p in child_class.staff}


async def test_a_change_of_roles_is_an_update(uow: UnitOfWork) -> None:
    snapshot = await with_both(uow)
    async with uow.transaction() as r:
        assert (await r.roster.sync(snapshot)).empty
    persons = tuple(
        replace(p, roles=frozenset()) if p.id == PARENT_TEACHER.id else p for p in snapshot.persons
    )
    async with uow.transaction() as r:
        changes = await r.roster.sync(replace(snapshot, persons=persons))
    assert changes.updated["persons"] == [PARENT_TEACHER.id]
    async with uow.transaction() as r:
        assert (await r.roster.person(PARENT_TEACHER.id)).roles == {Role.TEACHER}  # type: ignore[union-attr]


async def test_a_row_from_before_roles_were_kept_has_its_main_role(uow: UnitOfWork) -> None:
    if not isinstance(uow, Database):
        pytest.skip("only a database has rows written before the roles column")
    await seeded(uow)
    async with uow.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE persons SET roles = '' WHERE id = 't-devries'"))
    async with uow.transaction() as r:
        person = await r.roster.person("t-devries")
    assert person is not None
    assert person.roles == {Role.TEACHER}
