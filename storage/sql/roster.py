"""The roster (schools, persons, guardianships, classes, enrollments) over SQLAlchemy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot import log_tokens
from bot.domain import (
    ClassRoster,
    Enrollment,
    EnrollmentRole,
    Person,
    Role,
    RosterChanges,
    RosterSnapshot,
    School,
    SchoolClass,
)
from storage.models import (
    AnnouncementRow,
    ClassRow,
    EnrollmentRow,
    GroupRow,
    GuardianshipRow,
    PersonRow,
    SchoolRow,
)
from storage.sql.mapping import roles_value, to_class, to_person


class SqlRosterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Every leadership person of every school (id, schools), read once per transaction: a
        # board's twenty schools are asked about one after the other (`leadership`).
        self._leaders: list[tuple[str, str | None]] | None = None

    async def sync(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        """Sync on rows, not objects: each table's stored rows are streamed and compared with the
        snapshot's values in Python, and only what differs is written, in batches through the
        driver's `executemany`. A re-import that changes nothing writes nothing."""
        delta = deleted is not None
        changes = RosterChanges()
        self._leaders = None
        gone_persons = set(deleted.get("users", ())) if deleted else set()
        gone_classes = set(deleted.get("classes", ())) if deleted else set()
        driver = await _Driver.of(self.session)
        await self._sync_rows(
            driver, _SCHOOLS, {x.id: x for x in snapshot.schools}, _school_row, changes, "schools"
        )
        persons = {p.id: p for p in snapshot.persons}
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
        await self._sync_guardianships(driver, snapshot.persons, changes, delta)
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
        driver: _Driver,
        table: sa.Table,
        wanted: dict[str, Any],
        values: Callable[[Any], tuple[Any, ...]],
        changes: RosterChanges,
        name: str,
        *,
        keep: int | None = None,
    ) -> set[str]:
        """Add and update the rows of `table` (never remove: that comes last, once nothing refers
        to a row). `values(item)` is the row of a wanted item without its id, in the order of
        `_COLUMNS[table]`, as the driver stores it; a None at index `keep` keeps the stored value
        (a person's language). Returns the ids the table held before."""
        columns = _COLUMNS[table]
        have: set[str] = set()
        updated: dict[str, tuple[Any, ...]] = {}
        async for rows in driver.stream(table.name, ("id", *columns)):
            for stored in rows:
                key = stored[0]
                have.add(key)
                item = wanted.get(key)
                if item is None:
                    continue
                row = values(item)
                if keep is not None and row[keep] is None:
                    row = (*row[:keep], stored[keep + 1], *row[keep + 1 :])
                if row != tuple(stored[1:]):
                    updated[key] = row
        added = [key for key in wanted if key not in have]
        await driver.execute_many(
            driver.insert(table.name, ("id", *columns)),
            ((key, *values(wanted[key])) for key in added),
        )
        await driver.execute_many(
            driver.update(table.name, columns, ("id",)),
            ((*row, key) for key, row in updated.items()),
        )
        for key in added:
            changes.note(changes.added, name, key)
        # In the snapshot's order, as the adds.
        for key in wanted:
            if key in updated:
                changes.note(changes.updated, name, key)
        return have

    async def _sync_guardianships(
        self, driver: _Driver, persons: Iterable[Person], changes: RosterChanges, delta: bool
    ) -> None:
        table = _GUARDIANSHIPS.name
        to_add = {(p.id, g) for p in persons for g in p.guardian_ids}
        to_remove: list[tuple[str, str]] = []
        async for rows in driver.stream(table, ("pupil_id", "guardian_id")):
            for pupil_id, guardian_id in rows:
                link = (pupil_id, guardian_id)
                if link in to_add:
                    to_add.remove(link)
                elif not delta:
                    to_remove.append(link)
        added = sorted(to_add)
        del to_add
        await driver.execute_many(driver.insert(table, ("pupil_id", "guardian_id")), added)
        for pupil_id, guardian_id in added:
            changes.note(changes.added, "guardianships", f"{pupil_id}<-{guardian_id}")
        to_remove.sort()
        await driver.execute_many(driver.delete(table, ("pupil_id", "guardian_id")), to_remove)
        for pupil_id, guardian_id in to_remove:
            changes.note(changes.removed, "guardianships", f"{pupil_id}<-{guardian_id}")

    async def _sync_enrollments(
        self,
        driver: _Driver,
        snapshot: RosterSnapshot,
        changes: RosterChanges,
        delta: bool,
        gone_persons: set[str],
        gone_classes: set[str],
    ) -> None:
        table = _ENROLLMENTS.name
        key_columns = ("class_id", "person_id", "role")
        # What is not stored yet is what is left of `wanted` once the stored rows are taken out.
        wanted = {(e.class_id, e.person_id, e.role.value): e.primary for e in snapshot.enrollments}
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
        added = sorted(wanted.items())
        del wanted
        await driver.execute_many(
            driver.insert(table, (*key_columns, "primary")),
            ((*key, primary) for key, primary in added),
        )
        for key, _primary in added:
            changes.note(changes.added, "enrollments", "/".join(key))
        updated.sort()
        await driver.execute_many(
            driver.update(table, ("primary",), key_columns),
            ((primary, *key) for key, primary in updated),
        )
        for key, _primary in updated:
            changes.note(changes.updated, "enrollments", "/".join(key))
        removed.sort()
        await driver.execute_many(driver.delete(table, key_columns), removed)
        for key in removed:
            changes.note(changes.removed, "enrollments", "/".join(key))
            if key[2] == EnrollmentRole.STUDENT.value:
                changes.left_class.append((key[1], key[0]))

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

    async def count_persons(self) -> int:
        return int(
            await self.session.scalar(sa.select(sa.func.count()).select_from(PersonRow)) or 0
        )

    async def person(self, person_id: str) -> Person | None:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            return None
        guardians = (
            await self.session.execute(
                sa.select(GuardianshipRow.guardian_id).where(GuardianshipRow.pupil_id == person_id)
            )
        ).scalars()
        return to_person(row, guardians)

    async def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(sa.select(PersonRow).where(PersonRow.id.in_(wanted)))
        ).scalars()
        links: dict[str, list[str]] = {}
        for pupil_id, guardian_id in await self.session.execute(
            sa.select(GuardianshipRow.pupil_id, GuardianshipRow.guardian_id).where(
                GuardianshipRow.pupil_id.in_(wanted)
            )
        ):
            links.setdefault(pupil_id, []).append(guardian_id)
        return {r.id: to_person(r, links.get(r.id, ())) for r in rows}

    async def find_classes(self, ref: str) -> list[SchoolClass]:
        by_ref = sa.select(ClassRow).where(sa.or_(ClassRow.id == ref, ClassRow.code == ref))
        rows = (await self.session.execute(by_ref.order_by(ClassRow.id))).scalars().all()
        exact = [r for r in rows if r.id == ref]
        chosen = exact or rows
        if not chosen:
            # Class codes are written as people say them: "2b" is 2B.
            by_code = sa.select(ClassRow).where(sa.func.lower(ClassRow.code) == ref.lower())
            chosen = (await self.session.execute(by_code.order_by(ClassRow.id))).scalars().all()
        return [to_class(r) for r in chosen]

    async def classes(self) -> list[tuple[SchoolClass, School, int, int]]:
        rows = await self.session.execute(
            sa.select(ClassRow, SchoolRow).join(SchoolRow).order_by(ClassRow.code, ClassRow.id)
        )
        counts: dict[tuple[str, str], int] = {}
        for class_id, role, n in await self.session.execute(
            sa.select(EnrollmentRow.class_id, EnrollmentRow.role, sa.func.count()).group_by(
                EnrollmentRow.class_id, EnrollmentRow.role
            )
        ):
            counts[(class_id, role)] = n
        return [
            (
                to_class(c),
                School(school.id, school.name, school.identifier),
                counts.get((c.id, EnrollmentRole.STUDENT.value), 0),
                counts.get((c.id, EnrollmentRole.TEACHER.value), 0),
            )
            for c, school in rows
        ]

    async def class_roster(self, class_id: str) -> ClassRoster:
        c = await self.session.get(ClassRow, class_id)
        if c is None:
            raise KeyError(class_id)
        school = await self.session.get(SchoolRow, c.school_id)
        enrollments = (
            (
                await self.session.execute(
                    sa.select(EnrollmentRow).where(EnrollmentRow.class_id == class_id)
                )
            )
            .scalars()
            .all()
        )
        people = await self.persons(e.person_id for e in enrollments)

        def of_role(role: EnrollmentRole) -> tuple[Person, ...]:
            ids = {e.person_id for e in enrollments if e.role == role.value}
            return tuple(people[i] for i in sorted(ids) if i in people)

        pupils = of_role(EnrollmentRole.STUDENT)
        mentors = frozenset(
            e.person_id for e in enrollments if e.role == EnrollmentRole.TEACHER.value and e.primary
        )
        guardians = await self.persons(g for p in pupils for g in p.guardian_ids)
        return ClassRoster(
            school_class=to_class(c),
            school=School(school.id, school.name, school.identifier)
            if school
            else School(c.school_id, ""),
            pupils=pupils,
            staff=of_role(EnrollmentRole.TEACHER),
            mentor_ids=mentors,
            guardians=guardians,
        )

    async def school_pupils(self, school_id: str) -> list[Person]:
        ids = (
            await self.session.execute(
                sa.select(EnrollmentRow.person_id)
                .join(ClassRow, ClassRow.id == EnrollmentRow.class_id)
                .where(
                    ClassRow.school_id == school_id,
                    EnrollmentRow.role == EnrollmentRole.STUDENT.value,
                )
                .distinct()
            )
        ).scalars()
        people = await self.persons(ids)
        return [people[i] for i in sorted(people)]

    async def enrollments_of(self, person_id: str) -> list[Enrollment]:
        rows = (
            await self.session.execute(
                sa.select(EnrollmentRow)
                .where(EnrollmentRow.person_id == person_id)
                .order_by(EnrollmentRow.class_id, EnrollmentRow.role)
            )
        ).scalars()
        return [
            Enrollment(r.class_id, r.person_id, EnrollmentRole(r.role), r.primary) for r in rows
        ]

    async def find_by_account_name(self, names: Iterable[str]) -> list[Person]:
        wanted = sorted({n.strip().lower() for n in names if n and n.strip()})
        if not wanted:
            return []
        ids = (
            await self.session.execute(
                sa.select(PersonRow.id).where(
                    sa.or_(
                        sa.func.lower(PersonRow.username).in_(wanted),
                        sa.func.lower(PersonRow.email).in_(wanted),
                    )
                )
            )
        ).scalars()
        people = await self.persons(ids)
        return [people[i] for i in sorted(people)]

    async def schools(self) -> list[School]:
        rows = (await self.session.execute(sa.select(SchoolRow).order_by(SchoolRow.id))).scalars()
        return [School(r.id, r.name, r.identifier) for r in rows]

    async def leadership(self, school_id: str | None) -> list[Person]:
        if self._leaders is None:
            leading = Role.LEADERSHIP.value
            rows = await self.session.execute(
                sa.select(PersonRow.id, PersonRow.school_ids).where(
                    sa.or_(PersonRow.role == leading, PersonRow.roles.contains(leading))
                )
            )
            self._leaders = [(pid, schools) for pid, schools in rows]
        wanted = [
            pid
            for pid, schools in self._leaders
            if school_id is None or school_id in (schools or "").split(",")
        ]
        people = await self.persons(wanted)
        return [people[i] for i in sorted(people) if people[i].has_role(Role.LEADERSHIP)]

    async def set_language(self, person_id: str, language: str | None) -> bool:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            return False
        self._leaders = None
        row.language = language
        await self.session.flush()
        return True

    async def name_tokens(self) -> set[str]:
        # Distinct names only (the database removes the repeats): a school board's 255,000
        # persons have far fewer different names.
        names = sa.union(
            *(
                sa.select(column)
                for column in (
                    PersonRow.given_name,
                    PersonRow.preferred_given_name,
                    PersonRow.middle_name,
                    PersonRow.family_name,
                )
            )
        )
        return log_tokens.name_tokens((await self.session.execute(names)).scalars())

    async def address_tokens(self) -> set[str]:
        rows = await self.session.execute(
            sa.select(PersonRow.street, PersonRow.postal_code)
            .where(PersonRow.street.is_not(None))
            .distinct()
        )
        return log_tokens.address_tokens((street, code) for street, code in rows)

    async def wards_of(self, guardian_id: str) -> list[str]:
        """The pupils `guardian_id` is a guardian of (not in the port yet; used by `SqlStore`)."""
        return list(
            (
                await self.session.execute(
                    sa.select(GuardianshipRow.pupil_id)
                    .where(GuardianshipRow.guardian_id == guardian_id)
                    .order_by(GuardianshipRow.pupil_id)
                )
            ).scalars()
        )


_BATCH = 2000
"""Rows per executemany batch and per fetched partition of a streamed table. An `IN (…)` holds at
most this many ids: well under PostgreSQL's 32,767 parameters of one statement."""

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
_LANGUAGE = _PERSON_COLUMNS.index("language")
# The columns a roster sync writes besides `id`, in the order of the `_…_row` functions.
_COLUMNS: dict[sa.Table, tuple[str, ...]] = {
    _SCHOOLS: ("name", "identifier"),
    _PERSONS: _PERSON_COLUMNS,
    _CLASSES: ("code", "title", "school_id"),
}


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _BATCH):
        yield keys[start : start + _BATCH]


def _school_row(school: School) -> tuple[Any, ...]:
    return (school.name, school.identifier)


def _class_row(c: SchoolClass) -> tuple[Any, ...]:
    return (c.code, c.title, c.school_id)


def _person_row(date_value: Callable[[date | None], Any]) -> Callable[[Person], tuple[Any, ...]]:
    """A person's `persons` row without its id, in the order of `_PERSON_COLUMNS` (as
    `mapping.person_values`), with the birth date as the driver stores it. A None language keeps
    the stored one: a person the roster names no language for keeps their own (`/taal`), so a
    re-import never resets it."""
    # A big roster's persons share a few sets of roles and of schools: each is written out once.
    roles: dict[frozenset[Role], str] = {}
    schools: dict[tuple[str, ...], str] = {}

    def row(p: Person) -> tuple[Any, ...]:
        address = p.address
        if (roles_text := roles.get(p.roles)) is None:
            roles_text = roles[p.roles] = roles_value(p.roles)
        if (schools_text := schools.get(p.school_ids)) is None:
            schools_text = schools[p.school_ids] = ",".join(sorted(set(p.school_ids)))
        return (
            p.role.value,
            roles_text,
            p.given_name,
            p.family_name,
            p.middle_name,
            date_value(p.birth_date),
            p.email,
            address.street if address else None,
            address.postal_code if address else None,
            address.city if address else None,
            p.preference.value,
            p.language,
            p.preferred_given_name,
            schools_text,
            p.share_with_guardians,
            p.username,
        )

    return row


class _Driver:
    """The roster sync's statements as the database driver takes them: plain SQL in the driver's
    parameter style, rows as tuples, `executemany` in batches, stored rows streamed as the driver
    returns them. (SQLAlchemy's own per-row parameter and result handling was a fifth of a big
    import.) Values are compared and written in the driver's form: on SQLite a date is its ISO
    text and a boolean 0 or 1."""

    def __init__(self, session: AsyncSession, connection: Any) -> None:
        self.session = session
        self.connection = connection
        dialect = connection.dialect
        self.quote = dialect.identifier_preparer.quote
        self.paramstyle = dialect.paramstyle
        self.date: Callable[[date | None], Any] = _iso_date if dialect.name == "sqlite" else _same

    @classmethod
    async def of(cls, session: AsyncSession) -> _Driver:
        return cls(session, await session.connection())

    def _params(self, count: int, start: int = 1) -> list[str]:
        style = self.paramstyle
        if style == "qmark":
            return ["?"] * count
        if style == "numeric_dollar":
            return [f"${n}" for n in range(start, start + count)]
        if style == "numeric":
            return [f":{n}" for n in range(start, start + count)]
        if style in ("format", "pyformat"):
            return ["%s"] * count
        raise NotImplementedError(f"parameter style {style}")

    def _names(self, columns: Sequence[str]) -> list[str]:
        return [self.quote(c) for c in columns]

    def insert(self, table: str, columns: Sequence[str]) -> str:
        return (
            f"INSERT INTO {self.quote(table)} ({', '.join(self._names(columns))}) "
            f"VALUES ({', '.join(self._params(len(columns)))})"
        )

    def update(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        values = self._params(len(columns))
        where = self._params(len(keys), len(columns) + 1)
        return (
            f"UPDATE {self.quote(table)} SET "
            + ", ".join(f"{c} = {v}" for c, v in zip(self._names(columns), values, strict=True))
            + " WHERE "
            + " AND ".join(f"{c} = {v}" for c, v in zip(self._names(keys), where, strict=True))
        )

    def delete(self, table: str, keys: Sequence[str]) -> str:
        where = self._params(len(keys))
        return f"DELETE FROM {self.quote(table)} WHERE " + " AND ".join(
            f"{c} = {v}" for c, v in zip(self._names(keys), where, strict=True)
        )

    async def stream(self, table: str, columns: Sequence[str]) -> AsyncIterator[Sequence[Any]]:
        """The stored rows of `table`, `_BATCH` at a time (a whole table is never held)."""
        sql = f"SELECT {', '.join(self._names(columns))} FROM {self.quote(table)}"
        result = await self.session.stream(sa.text(sql))
        async for rows in result.partitions(_BATCH):
            yield rows

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """`sql` once per row of `rows`, as the driver's executemany in batches."""
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                await self.connection.exec_driver_sql(sql, batch)
                batch = []
        if batch:
            await self.connection.exec_driver_sql(sql, batch)


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _same(value: date | None) -> date | None:
    return value
