"""The roster (schools, persons, guardianships, classes, enrollments) over SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable
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
from storage.sql.mapping import person_values, to_class, to_person


class SqlRosterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sync(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        s = self.session
        delta = deleted is not None
        changes = RosterChanges()
        await self._sync_table(
            SchoolRow,
            {x.id: {"name": x.name, "identifier": x.identifier} for x in snapshot.schools},
            changes,
            "schools",
        )
        persons = {p.id: _roster_values(p) for p in snapshot.persons}
        await self._sync_table(PersonRow, persons, changes, "persons")
        classes = {
            c.id: {"code": c.code, "title": c.title, "school_id": c.school_id}
            for c in snapshot.classes
        }
        await self._sync_table(ClassRow, classes, changes, "classes")

        wanted_links = {(p.id, g) for p in snapshot.persons for g in p.guardian_ids}
        have_links: set[tuple[str, str]] = {
            (pupil, guardian)
            for pupil, guardian in await s.execute(
                sa.select(GuardianshipRow.pupil_id, GuardianshipRow.guardian_id)
            )
        }
        for pupil_id, guardian_id in sorted(wanted_links - have_links):
            s.add(GuardianshipRow(pupil_id=pupil_id, guardian_id=guardian_id))
            changes.note(changes.added, "guardianships", f"{pupil_id}<-{guardian_id}")
        for pupil_id, guardian_id in sorted(set() if delta else have_links - wanted_links):
            await s.execute(
                sa.delete(GuardianshipRow).where(
                    GuardianshipRow.pupil_id == pupil_id, GuardianshipRow.guardian_id == guardian_id
                )
            )
            changes.note(changes.removed, "guardianships", f"{pupil_id}<-{guardian_id}")

        wanted = {(e.class_id, e.person_id, e.role.value): e.primary for e in snapshot.enrollments}
        rows = (await s.execute(sa.select(EnrollmentRow))).scalars().all()
        have = {(r.class_id, r.person_id, r.role): r for r in rows}
        for key, primary in sorted(wanted.items()):
            if key not in have:
                s.add(
                    EnrollmentRow(class_id=key[0], person_id=key[1], role=key[2], primary=primary)
                )
                changes.note(changes.added, "enrollments", "/".join(key))
            elif have[key].primary != primary:
                have[key].primary = primary
                changes.note(changes.updated, "enrollments", "/".join(key))
        gone_persons = set(deleted.get("users", ())) if deleted else set()
        gone_classes = set(deleted.get("classes", ())) if deleted else set()
        for key, row in sorted(have.items()):
            if (
                (key not in wanted and not delta)
                or key[0] in gone_classes
                or key[1] in gone_persons
            ):
                await s.delete(row)
                changes.note(changes.removed, "enrollments", "/".join(key))
                if key[2] == EnrollmentRole.STUDENT.value:
                    changes.left_class.append((key[1], key[0]))
        await s.flush()
        # Persons and classes that are no longer in the export: remove what nothing refers to.
        all_persons = set((await s.execute(sa.select(PersonRow.id))).scalars())
        all_classes = set((await s.execute(sa.select(ClassRow.id))).scalars())
        keep_persons = all_persons - gone_persons if delta else set(persons)
        keep_classes = all_classes - gone_classes if delta else set(classes)
        await self._remove_missing(PersonRow, keep_persons, changes, "persons")
        await self._remove_missing(ClassRow, keep_classes, changes, "classes")
        await s.flush()
        return changes

    async def _sync_table(
        self, model: Any, wanted: dict[str, dict[str, Any]], changes: RosterChanges, name: str
    ) -> None:
        """Add and update (never remove: that comes last, once nothing refers to a row)."""
        rows = {r.id: r for r in (await self.session.execute(sa.select(model))).scalars()}
        for key, values in wanted.items():
            row = rows.get(key)
            if row is None:
                self.session.add(model(id=key, **values))
                changes.note(changes.added, name, key)
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                changes.note(changes.updated, name, key)
        await self.session.flush()

    async def _remove_missing(
        self, model: Any, keep: set[str], changes: RosterChanges, name: str
    ) -> None:
        ids = set((await self.session.execute(sa.select(model.id))).scalars())
        for key in sorted(ids - keep):
            if model is ClassRow:
                used = await self.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(AnnouncementRow)
                    .where(AnnouncementRow.class_id == key)
                )
                used = used or await self.session.scalar(
                    sa.select(sa.func.count()).select_from(GroupRow).where(GroupRow.class_id == key)
                )
                if used:
                    # Kept for the dossier; it has no enrollments any more.
                    continue
            await self.session.execute(sa.delete(model).where(model.id == key))
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

    async def leadership(self, school_id: str | None) -> list[Person]:
        leading = Role.LEADERSHIP.value
        ids = (
            await self.session.execute(
                sa.select(PersonRow.id, PersonRow.school_ids).where(
                    sa.or_(PersonRow.role == leading, PersonRow.roles.contains(leading))
                )
            )
        ).all()
        wanted = [
            pid
            for pid, schools in ids
            if school_id is None or school_id in (schools or "").split(",")
        ]
        people = await self.persons(wanted)
        return [people[i] for i in sorted(people) if people[i].has_role(Role.LEADERSHIP)]

    async def set_language(self, person_id: str, language: str | None) -> bool:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            return False
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


def _roster_values(person: Person) -> dict[str, Any]:
    """What a roster sync writes: a person the roster names no language for keeps their own
    (`/taal`), so a re-import never resets it."""
    values = person_values(person)
    if values.get("language") is None:
        values.pop("language", None)
    return values
