"""The roster sync (`RosterRepository.sync`): a whole export against the stored roster, on rows,
not objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    EnrollmentRole,
    Role,
    RosterChanges,
    RosterSnapshot,
    School,
    SchoolClass,
)
from bot.person_records import PERSON_FIELDS, records_of
from storage.models import (
    AnnouncementRow,
    ClassRow,
    EnrollmentRow,
    GroupRow,
    GuardianshipRow,
    PersonRow,
    SchoolRow,
)
from storage.sql.driver import BATCH, Driver
from storage.sql.mapping import roles_value


class RosterSync:
    """One sync of the stored roster with a snapshot, in the caller's session (transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        """Sync on rows, not objects: each table's stored rows are streamed and compared with the
        snapshot's values in Python, and only what differs is written, in batches through the
        driver's `executemany`. A re-import that changes nothing writes nothing."""
        delta = deleted is not None
        changes = RosterChanges()
        gone_persons = set(deleted.get("users", ())) if deleted else set()
        gone_classes = set(deleted.get("classes", ())) if deleted else set()
        driver = await Driver.of(self.session)
        await self._sync_rows(
            driver, _SCHOOLS, {x.id: x for x in snapshot.schools}, _school_row, changes, "schools"
        )
        records = records_of(snapshot.persons)
        persons = {record[0]: record for record in records}
        have_persons = await self._sync_rows(
            driver,
            _PERSONS,
            persons,
            _person_row(driver.date),
            changes,
            "persons",
            keep=_LANGUAGE,
        )
        classes = {c.id: c for c in snapshot.classes}
        await self._sync_rows(driver, _CLASSES, classes, _class_row, changes, "classes")
        await self._sync_guardianships(driver, records, changes, delta)
        await self._sync_enrollments(driver, snapshot, changes, delta, gone_persons, gone_classes)
        # Persons and classes that are no longer in the export: remove what nothing refers to.
        if delta:
            remove_persons = (have_persons | persons.keys()) & gone_persons
            all_classes = set(await self._ids(_CLASSES))
            remove_classes = all_classes & gone_classes
        else:
            remove_persons = have_persons - persons.keys()
            remove_classes = set(await self._ids(_CLASSES)) - classes.keys()
        await self._remove(_PERSONS, remove_persons, changes, "persons")
        await self._remove(_CLASSES, remove_classes, changes, "classes")
        return changes

    async def _ids(self, table: sa.Table) -> list[str]:
        return list((await self.session.execute(sa.select(table.c.id))).scalars())

    async def _sync_rows(
        self,
        driver: Driver,
        table: sa.Table,
        wanted: dict[str, Any],
        values: Callable[[Any], tuple[Any, ...]],
        changes: RosterChanges,
        name: str,
        *,
        keep: int | None = None,
    ) -> set[str]:
        """Add and update the rows of `table` (never remove: that comes last, once nothing refers
        to a row). `values(item)` is the row of a wanted item, its id first, then the columns of
        `_COLUMNS[table]`, as the driver stores it; a None at index `keep` keeps the stored value
        (a person's language). Returns the ids the table held before."""
        columns = ("id", *_COLUMNS[table])
        have: set[str] = set()
        updated: dict[str, tuple[Any, ...]] = {}
        async for rows in driver.stream(table.name, columns):
            for stored in rows:
                key = stored[0]
                have.add(key)
                item = wanted.get(key)
                if item is None:
                    continue
                row = values(item)
                if keep is not None and row[keep] is None:
                    row = (*row[:keep], stored[keep], *row[keep + 1 :])
                if row != tuple(stored):
                    updated[key] = row
        if have:
            added = [key for key in wanted if key not in have]
            new_rows = map(values, map(wanted.__getitem__, added))
        else:  # nothing stored: every wanted item is added, in its order
            added = list(wanted)
            new_rows = map(values, wanted.values())
        await driver.execute_many(driver.insert(table.name, columns), new_rows)
        await driver.execute_many(
            driver.update(table.name, columns[1:], ("id",)),
            ((*row[1:], key) for key, row in updated.items()),
        )
        changes.note_all(changes.added, name, added)
        # In the snapshot's order, as the adds.
        if updated:
            changes.note_all(changes.updated, name, [key for key in wanted if key in updated])
        return have

    async def _sync_guardianships(
        self,
        driver: Driver,
        records: list[tuple[Any, ...]],
        changes: RosterChanges,
        delta: bool,
    ) -> None:
        table = _GUARDIANSHIPS.name
        guardians = _FIELD["guardian_ids"]
        wanted = {record[0]: record[guardians] for record in records if record[guardians]}
        stored: set[tuple[str, str]] = set()
        to_remove: list[tuple[str, str]] = []
        async for rows in driver.stream(table, ("pupil_id", "guardian_id")):
            for pupil_id, guardian_id in rows:
                if guardian_id in wanted.get(pupil_id, ()):
                    stored.add((pupil_id, guardian_id))
                elif not delta:
                    to_remove.append((pupil_id, guardian_id))
        # In (pupil, guardian) order: a pupil's guardian_ids are sorted.
        added = [
            (pupil_id, guardian_id)
            for pupil_id in sorted(wanted)
            for guardian_id in wanted[pupil_id]
            if not stored or (pupil_id, guardian_id) not in stored
        ]
        del stored, wanted
        await driver.execute_many(driver.insert(table, ("pupil_id", "guardian_id")), added)
        changes.note_all(changes.added, "guardianships", list(map("<-".join, added)))
        to_remove.sort(key=_ORDER)
        await driver.execute_many(driver.delete(table, ("pupil_id", "guardian_id")), to_remove)
        changes.note_all(changes.removed, "guardianships", list(map("<-".join, to_remove)))

    async def _sync_enrollments(
        self,
        driver: Driver,
        snapshot: RosterSnapshot,
        changes: RosterChanges,
        delta: bool,
        gone_persons: set[str],
        gone_classes: set[str],
    ) -> None:
        table = _ENROLLMENTS.name
        key_columns = ("class_id", "person_id", "role")
        # What is not stored yet is what is left of `wanted` once the stored rows are taken out.
        wanted = {(e.class_id, e.person_id, str(e.role)): e.primary for e in snapshot.enrollments}
        updated: list[tuple[tuple[str, str, str], bool]] = []
        removed: list[tuple[str, str, str]] = []
        async for rows in driver.stream(table, (*key_columns, "primary")):
            for class_id, person_id, role, primary in rows:
                key = (class_id, person_id, role)
                new = wanted.pop(key, None)
                if new is not None and new != primary:
                    updated.append((key, new))
                if (
                    (new is None and not delta)
                    or class_id in gone_classes
                    or person_id in gone_persons
                ):
                    removed.append(key)
        added = sorted(wanted, key=_ORDER)
        await driver.execute_many(
            driver.insert(table, (*key_columns, "primary")),
            [(*key, wanted[key]) for key in added],
        )
        del wanted
        changes.note_all(changes.added, "enrollments", list(map("/".join, added)))
        updated.sort(key=lambda item: _ORDER(item[0]))
        await driver.execute_many(
            driver.update(table, ("primary",), key_columns),
            [(primary, *key) for key, primary in updated],
        )
        changes.note_all(changes.updated, "enrollments", ["/".join(key) for key, _ in updated])
        removed.sort(key=_ORDER)
        await driver.execute_many(driver.delete(table, key_columns), removed)
        changes.note_all(changes.removed, "enrollments", list(map("/".join, removed)))
        student = EnrollmentRole.STUDENT.value
        changes.left_class.extend((key[1], key[0]) for key in removed if key[2] == student)

    async def _remove(
        self, table: sa.Table, ids: set[str], changes: RosterChanges, name: str
    ) -> None:
        keys = sorted(ids)
        if table is _CLASSES and keys:
            used: set[str] = set()
            for chunk in _chunks(keys):
                for model in (AnnouncementRow, GroupRow):
                    used.update(
                        (
                            await self.session.execute(
                                sa.select(model.class_id).where(model.class_id.in_(chunk))
                            )
                        ).scalars()
                    )
            # A class still used is kept for the dossier; it has no enrollments any more.
            keys = [key for key in keys if key not in used]
        for chunk in _chunks(keys):
            await self.session.execute(sa.delete(table).where(table.c.id.in_(chunk)))
        for key in keys:
            changes.note(changes.removed, name, key)


_SCHOOLS: sa.Table = SchoolRow.__table__  # type: ignore[assignment]
_PERSONS: sa.Table = PersonRow.__table__  # type: ignore[assignment]
_CLASSES: sa.Table = ClassRow.__table__  # type: ignore[assignment]
_GUARDIANSHIPS: sa.Table = GuardianshipRow.__table__  # type: ignore[assignment]
_ENROLLMENTS: sa.Table = EnrollmentRow.__table__  # type: ignore[assignment]

_PERSON_COLUMNS = (
    "role",
    "roles",
    "given_name",
    "family_name",
    "middle_name",
    "birth_date",
    "email",
    "street",
    "postal_code",
    "city",
    "preference",
    "language",
    "preferred_given_name",
    "school_ids",
    "share_with_guardians",
    "username",
)
_LANGUAGE = 1 + _PERSON_COLUMNS.index("language")  # in a row, after the id
# The columns a roster sync writes besides `id`, in the order of the `_…_row` functions.
_COLUMNS: dict[sa.Table, tuple[str, ...]] = {
    _SCHOOLS: ("name", "identifier"),
    _PERSONS: _PERSON_COLUMNS,
    _CLASSES: ("code", "title", "school_id"),
}


_ORDER = "\0".join
"""The sort key of a key of several ids: the order of their tuples, compared as one string."""


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), BATCH):
        yield keys[start : start + BATCH]


def _school_row(school: School) -> tuple[Any, ...]:
    return (school.id, school.name, school.identifier)


def _class_row(c: SchoolClass) -> tuple[Any, ...]:
    return (c.id, c.code, c.title, c.school_id)


def _person_row(
    date_value: Callable[[date | None], Any],
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A person's `persons` row from their record (`PERSON_FIELDS`): the id first, then the
    columns of `_PERSON_COLUMNS` (as `mapping.person_values`), with the birth date as the driver
    stores it. A None language keeps the stored one: a person the roster names no language for
    keeps their own (`/taal`), so a re-import never resets it."""
    # A big roster's persons share a few sets of roles and of schools: each is written out once.
    roles: dict[frozenset[Role], str] = {}
    schools: dict[tuple[str, ...], str] = {}
    # And a few thousand birth dates: each is written out once.
    birth_dates: dict[date, Any] = {}
    (
        role_at,
        given_at,
        family_at,
        middle_at,
        birth_at,
        email_at,
        address_at,
        preference_at,
        roles_at,
        preferred_at,
        language_at,
        schools_at,
        share_at,
        username_at,
    ) = (
        _FIELD[name]
        for name in (
            "role",
            "given_name",
            "family_name",
            "middle_name",
            "birth_date",
            "email",
            "address",
            "preference",
            "roles",
            "preferred_given_name",
            "language",
            "school_ids",
            "share_with_guardians",
            "username",
        )
    )

    def row(p: tuple[Any, ...]) -> tuple[Any, ...]:
        address = p[address_at]
        person_roles, school_ids, birth_date = p[roles_at], p[schools_at], p[birth_at]
        if (roles_text := roles.get(person_roles)) is None:
            roles_text = roles[person_roles] = roles_value(person_roles)
        if (schools_text := schools.get(school_ids)) is None:
            schools_text = schools[school_ids] = ",".join(sorted(set(school_ids)))
        if birth_date is not None and (birth := birth_dates.get(birth_date)) is None:
            birth = birth_dates[birth_date] = date_value(birth_date)
        return (
            p[0],
            str(p[role_at]),  # a StrEnum: its value
            roles_text,
            p[given_at],
            p[family_at],
            p[middle_at],
            None if birth_date is None else birth,
            p[email_at],
            address.street if address else None,
            address.postal_code if address else None,
            address.city if address else None,
            str(p[preference_at]),
            p[language_at],
            p[preferred_at],
            schools_text,
            p[share_at],
            p[username_at],
        )

    return row


_FIELD = {name: at for at, name in enumerate(PERSON_FIELDS)}
"""The position of each of a Person's fields in their record."""
