"""The roster sync works on rows (issue 14): a re-import that changes nothing writes nothing, and
every kind of change is found and written, across more rows than one batch, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.domain import Enrollment, EnrollmentRole, Person, Role, RosterSnapshot
from bot.person_records import person_record
from storage.models import EnrollmentRow, GuardianshipRow, PersonRow
from storage.sql.driver import BATCH as _BATCH
from storage.sql.mapping import person_values
from storage.sql.roster_sync import _PERSON_COLUMNS, _person_row
from tests.conftest import DEMO_ROSTER


@contextmanager
def writes(app: bootstrap.App) -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements sent to the database inside the block."""
    seen: list[str] = []
    engine = app.db.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


async def sync(
    app: bootstrap.App, snapshot: RosterSnapshot, deleted: dict[str, frozenset[str]] | None = None
) -> Any:
    async with app.db.transaction() as tx:
        return await tx.roster.sync(snapshot, deleted=deleted)


def test_a_person_row_is_the_mapping_s_person_values() -> None:
    person = read_roster(DEMO_ROSTER).persons[4]
    person = replace(person, language="en", email="x@y.example", birth_date=date(2012, 1, 2))
    person_id, *row = _person_row(lambda value: value)(person_record(person))
    assert person_id == person.id
    assert dict(zip(_PERSON_COLUMNS, row, strict=True)) == person_values(person)
    # On SQLite the driver stores the date as its ISO text.
    iso = _person_row(lambda value: value.isoformat() if value else None)(person_record(person))
    assert iso[1 + _PERSON_COLUMNS.index("birth_date")] == "2012-01-02"


async def test_a_reimport_that_changes_nothing_writes_nothing(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    with writes(app) as seen:
        changes = await sync(app, snapshot)
    assert changes.empty
    assert seen == []


async def test_every_change_is_found_across_batches(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    async with app.db.transaction() as tx:
        assert await tx.roster.set_language("p-2b-01", "en")
    many = [
        Person(f"p-x-{n:05d}", Role.PUPIL, f"Naam{n}", "Kok", guardian_ids=("g-01",))
        for n in range(_BATCH + 10)
    ]
    await sync(
        app,
        replace(
            snapshot,
            persons=(*snapshot.persons, *many),
            enrollments=snapshot.enrollments
            + tuple(Enrollment("cls-2b", p.id, EnrollmentRole.STUDENT) for p in many),
        ),
    )
    persons = {p.id: p for p in snapshot.persons}
    people = [p for p in snapshot.persons if p.id != "p-2b-04"]
    people = (
        [replace(p, email="nieuw@veen.example") if p.id == "p-2b-02" else p for p in people]
        + [replace(p, given_name="Anders") for p in many[:5]]
        + many[5:-3]
    )
    # p-2b-03 loses g-04 and gains g-05; the primary teacher of 2B is no longer primary.
    people = [replace(p, guardian_ids=("g-03", "g-05")) if p.id == "p-2b-03" else p for p in people]
    enrollments = [
        replace(e, primary=False) if (e.class_id, e.person_id) == ("cls-2b", "t-devries") else e
        for e in snapshot.enrollments
        if e.person_id != "p-2b-04"
    ] + [Enrollment("cls-2b", p.id, EnrollmentRole.STUDENT) for p in many[:-3]]
    school = replace(snapshot.schools[0], identifier="11AA")

    changes = await sync(
        app,
        replace(snapshot, schools=(school,), persons=tuple(people), enrollments=tuple(enrollments)),
    )

    assert changes.updated["schools"] == [school.id]
    assert changes.updated["persons"] == ["p-2b-02"] + [p.id for p in many[:5]]
    assert changes.removed["persons"] == ["p-2b-04"] + [p.id for p in many[-3:]]
    assert "persons" not in changes.added
    assert changes.added["guardianships"] == ["p-2b-03<-g-05"]
    assert changes.removed["guardianships"] == ["p-2b-03<-g-04", "p-2b-04<-g-05"] + [
        f"{p.id}<-g-01" for p in many[-3:]
    ]
    assert changes.updated["enrollments"] == ["cls-2b/t-devries/teacher"]
    assert changes.removed["enrollments"] == sorted(
        f"cls-2b/{i}/student" for i in ["p-2b-04"] + [p.id for p in many[-3:]]
    )
    assert sorted(changes.left_class) == sorted(
        (i, "cls-2b") for i in ["p-2b-04"] + [p.id for p in many[-3:]]
    )
    async with app.db.transaction() as tx:
        assert (await tx.roster.person("p-2b-02")).email == "nieuw@veen.example"  # type: ignore[union-attr]
        # The roster names no language for p-2b-01: the one chosen with /taal stays.
        assert (await tx.roster.person("p-2b-01")).language == "en"  # type: ignore[union-attr]
        assert (await tx.roster.person(many[0].id)).given_name == "Anders"  # type: ignore[union-attr]
        assert await tx.roster.person("p-2b-04") is None
        assert await tx.roster.count_persons() == len(persons) - 1 + len(many) - 3
        primary = await tx.session.scalar(
            sa.select(EnrollmentRow.primary).where(
                EnrollmentRow.class_id == "cls-2b", EnrollmentRow.person_id == "t-devries"
            )
        )
        assert primary is False
        links = set(
            await tx.session.execute(
                sa.select(GuardianshipRow.pupil_id, GuardianshipRow.guardian_id).where(
                    GuardianshipRow.pupil_id == "p-2b-03"
                )
            )
        )
        assert links == {("p-2b-03", "g-03"), ("p-2b-03", "g-05")}

    with writes(app) as seen:
        again = await sync(
            app,
            replace(
                snapshot,
                schools=(school,),
                persons=tuple(people),
                enrollments=tuple(enrollments),
            ),
        )
    assert again.empty
    assert seen == []


async def test_a_delta_removes_only_what_it_marks_tobedeleted(app: bootstrap.App) -> None:
    snapshot = read_roster(DEMO_ROSTER)
    only = tuple(p for p in snapshot.persons if p.id == "p-2b-02")
    changes = await sync(
        app,
        RosterSnapshot(schools=(), classes=(), persons=only, enrollments=()),
        deleted={"users": frozenset({"p-2b-04"})},
    )
    assert changes.removed["persons"] == ["p-2b-04"]
    assert changes.removed["enrollments"] == ["cls-2b/p-2b-04/student"]
    assert changes.left_class == [("p-2b-04", "cls-2b")]
    assert "guardianships" not in changes.removed
    async with app.db.transaction() as tx:
        total = await tx.session.scalar(sa.select(sa.func.count()).select_from(PersonRow))
    assert total == len(snapshot.persons) - 1
