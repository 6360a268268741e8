"""The roster (schools, persons, guardianships, classes, enrollments) over SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable

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
    ClassRow,
    EnrollmentRow,
    GuardianshipRow,
    PersonRow,
    SchoolRow,
)
from storage.sql.mapping import to_class, to_person
from storage.sql.roster_sync import RosterSync


class SqlRosterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Every leadership person of every school (id, schools), read once per transaction: a
        # board's twenty schools are asked about one after the other (`leadership`).
        self._leaders: list[tuple[str, str | None]] | None = None

    async def sync(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        """Sync on rows, not objects (`storage.sql.roster_sync`): only what differs is written; a
        re-import that changes nothing writes nothing."""
        self._leaders = None
        return await RosterSync(self.session).run(snapshot, deleted=deleted)

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

    async def class_schools(self) -> list[School]:
        used = sa.select(ClassRow.school_id).distinct()
        rows = await self.session.execute(
            sa.select(SchoolRow).where(SchoolRow.id.in_(used)).order_by(SchoolRow.id)
        )
        return [School(r.id, r.name, r.identifier) for r in rows.scalars()]

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
