"""The repositories of `bot.repositories` over plain dicts, for fast tests of the use cases.

`InMemoryUnitOfWork().transaction()` behaves like `storage.store.Database`'s: a transaction works
on its own copies of the tables it writes and commits them when the block ends; an exception rolls
everything back. A duplicate primary or unique key raises `DuplicateKeyError` (where SQL raises
its IntegrityError). Ids come from sequences that, as in a database, a rollback does not rewind.
Imports nothing from SQLAlchemy. Announcements, the outbox, letters and the audit trail live in
`storage.memory_outbox`; the tables and transactions in `storage.memory_tables`.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from bot import log_tokens
from bot.domain import (
    Account,
    ClassRoster,
    Enrollment,
    EnrollmentRole,
    Group,
    GroupState,
    Invite,
    Membership,
    MemberState,
    Person,
    Role,
    RosterChanges,
    RosterSnapshot,
    School,
    SchoolClass,
)
from bot.repositories import (
    AccountRepository,
    AnnouncementRepository,
    AuditRepository,
    GroupRepository,
    HolidayRepository,
    InviteRepository,
    LetterRepository,
    OutboxRepository,
    PlatformStateRepository,
    PrivacyRepository,
    ReportRepository,
    RosterRepository,
    ScheduleRepository,
)
from storage.memory_outbox import (
    InMemoryAnnouncementRepository,
    InMemoryAuditRepository,
    InMemoryLetterRepository,
    InMemoryOutboxRepository,
)
from storage.memory_privacy import InMemoryPrivacyRepository
from storage.memory_reports import InMemoryReportRepository
from storage.memory_schedules import InMemoryHolidayRepository, InMemoryScheduleRepository
from storage.memory_tables import (
    ACCOUNTS,
    ANNOUNCEMENTS,
    CLASSES,
    ENROLLMENTS,
    GROUPS,
    GUARDIANSHIPS,
    INVITES,
    LINKED_AT,
    MEMBERS,
    PERSONS,
    SCHOOLS,
    STATE,
    DuplicateKeyError,
    Store,
    Table,
    Tx,
)

V = TypeVar("V")

__all__ = [
    "DuplicateKeyError",
    "InMemoryAccountRepository",
    "InMemoryAnnouncementRepository",
    "InMemoryAuditRepository",
    "InMemoryGroupRepository",
    "InMemoryInviteRepository",
    "InMemoryLetterRepository",
    "InMemoryOutboxRepository",
    "InMemoryPlatformStateRepository",
    "InMemoryRepositories",
    "InMemoryRosterRepository",
    "InMemoryUnitOfWork",
]


class InMemoryUnitOfWork:
    """`bot.repositories.UnitOfWork` over dicts; one instance is one database."""

    def __init__(self) -> None:
        self._store = Store()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InMemoryRepositories]:
        tx = Tx(self._store)
        try:
            yield InMemoryRepositories(tx)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()

    repositories = transaction  # the name `storage.store.Database` uses during the transition


class InMemoryRepositories:
    def __init__(self, tx: Tx) -> None:
        self.roster: RosterRepository = InMemoryRosterRepository(tx)
        self.groups: GroupRepository = InMemoryGroupRepository(tx)
        self.accounts: AccountRepository = InMemoryAccountRepository(tx)
        self.invites: InviteRepository = InMemoryInviteRepository(tx)
        self.announcements: AnnouncementRepository = InMemoryAnnouncementRepository(tx)
        self.outbox: OutboxRepository = InMemoryOutboxRepository(tx)
        self.letters: LetterRepository = InMemoryLetterRepository(tx)
        self.audit: AuditRepository = InMemoryAuditRepository(tx)
        self.state: PlatformStateRepository = InMemoryPlatformStateRepository(tx)
        self.schedules: ScheduleRepository = InMemoryScheduleRepository(tx)
        self.holidays: HolidayRepository = InMemoryHolidayRepository(tx)
        self.reports: ReportRepository = InMemoryReportRepository(tx)
        self.privacy: PrivacyRepository = InMemoryPrivacyRepository(tx)


def _person_row(p: Person) -> Person:
    """What the `persons` table keeps: guardians live apart, an address only when complete."""
    address = p.address
    if address is not None and not (address.street and address.postal_code and address.city):
        address = None
    return replace(p, address=address, guardian_ids=())


def _keep_own_language(p: Person, stored: dict[str, Person]) -> Person:
    """A person the roster names no language for keeps their own (`/taal`) on a re-import."""
    old = stored.get(p.id)
    if p.language is None and old is not None and old.language is not None:
        return replace(p, language=old.language)
    return p


class InMemoryRosterRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def sync(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        tx = self.tx
        delta = deleted is not None
        changes = RosterChanges()
        self._upsert(SCHOOLS, {s.id: s for s in snapshot.schools}, changes, "schools")
        stored = tx.read(PERSONS)
        persons = {p.id: _keep_own_language(_person_row(p), stored) for p in snapshot.persons}
        self._upsert(PERSONS, persons, changes, "persons")
        classes = {c.id: c for c in snapshot.classes}
        self._upsert(CLASSES, classes, changes, "classes")

        wanted_links = {(p.id, g) for p in snapshot.persons for g in p.guardian_ids}
        have_links = set(tx.read(GUARDIANSHIPS))
        for link in sorted(wanted_links - have_links):
            tx.write(GUARDIANSHIPS)[link] = None
            changes.note(changes.added, "guardianships", f"{link[0]}<-{link[1]}")
        for link in sorted(set() if delta else have_links - wanted_links):
            del tx.write(GUARDIANSHIPS)[link]
            changes.note(changes.removed, "guardianships", f"{link[0]}<-{link[1]}")

        wanted = {(e.class_id, e.person_id, e.role.value): e.primary for e in snapshot.enrollments}
        have = dict(tx.read(ENROLLMENTS))
        for key, primary in sorted(wanted.items()):
            if key not in have:
                tx.write(ENROLLMENTS)[key] = primary
                changes.note(changes.added, "enrollments", "/".join(key))
            elif have[key] != primary:
                tx.write(ENROLLMENTS)[key] = primary
                changes.note(changes.updated, "enrollments", "/".join(key))
        gone_persons = set(deleted.get("users", ())) if deleted else set()
        gone_classes = set(deleted.get("classes", ())) if deleted else set()
        for key in sorted(have):
            if (
                (key not in wanted and not delta)
                or key[0] in gone_classes
                or key[1] in gone_persons
            ):
                del tx.write(ENROLLMENTS)[key]
                changes.note(changes.removed, "enrollments", "/".join(key))
                if key[2] == EnrollmentRole.STUDENT.value:
                    changes.left_class.append((key[1], key[0]))
        all_persons, all_classes = set(tx.read(PERSONS)), set(tx.read(CLASSES))
        keep_persons = all_persons - gone_persons if delta else set(persons)
        keep_classes = all_classes - gone_classes if delta else set(classes)
        for person_id in sorted(all_persons - keep_persons):
            self._remove_person(person_id)
            changes.note(changes.removed, "persons", person_id)
        used = {a.class_id for a in tx.read(ANNOUNCEMENTS).values()}
        used |= {g.class_id for g in tx.read(GROUPS).values()}
        for class_id in sorted(all_classes - keep_classes):
            if class_id in used:
                continue  # kept for the dossier; it has no enrollments any more
            del tx.write(CLASSES)[class_id]
            for key in [k for k in tx.read(ENROLLMENTS) if k[0] == class_id]:
                del tx.write(ENROLLMENTS)[key]
            changes.note(changes.removed, "classes", class_id)
        return changes

    def _upsert(
        self, table: Table[str, V], wanted: dict[str, V], changes: RosterChanges, name: str
    ) -> None:
        rows = self.tx.read(table)
        for key, value in wanted.items():
            old = rows.get(key)
            if old is None:
                self.tx.write(table)[key] = value
                changes.note(changes.added, name, key)
            elif old != value:
                self.tx.write(table)[key] = value
                changes.note(changes.updated, name, key)

    def _remove_person(self, person_id: str) -> None:
        """The person and what refers to it (the foreign keys' ON DELETE CASCADE)."""
        tx = self.tx
        del tx.write(PERSONS)[person_id]
        for link in [k for k in tx.read(GUARDIANSHIPS) if person_id in k]:
            del tx.write(GUARDIANSHIPS)[link]
        for enrollment in [k for k in tx.read(ENROLLMENTS) if k[1] == person_id]:
            del tx.write(ENROLLMENTS)[enrollment]
        for account in [k for k, v in tx.read(ACCOUNTS).items() if v == person_id]:
            del tx.write(ACCOUNTS)[account]
        for code_hash in [k for k, v in tx.read(INVITES).items() if v.person_id == person_id]:
            del tx.write(INVITES)[code_hash]

    def _person(self, person_id: str) -> Person | None:
        row = self.tx.read(PERSONS).get(person_id)
        if row is None:
            return None
        guardians = sorted(g for p, g in self.tx.read(GUARDIANSHIPS) if p == person_id)
        return replace(row, guardian_ids=tuple(guardians))

    async def count_persons(self) -> int:
        return len(self.tx.read(PERSONS))

    async def person(self, person_id: str) -> Person | None:
        return self._person(person_id)

    async def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        wanted = set(ids)
        rows = self.tx.read(PERSONS)
        links: dict[str, list[str]] = {}
        for pupil, guardian in self.tx.read(GUARDIANSHIPS):
            if pupil in wanted:
                links.setdefault(pupil, []).append(guardian)
        return {
            i: replace(rows[i], guardian_ids=tuple(sorted(links.get(i, ()))))
            for i in wanted
            if i in rows
        }

    async def find_classes(self, ref: str) -> list[SchoolClass]:
        classes = self.tx.read(CLASSES)
        if ref in classes:
            return [classes[ref]]
        chosen = [c for c in classes.values() if c.code == ref]
        if not chosen:
            chosen = [c for c in classes.values() if c.code.lower() == ref.lower()]
        return sorted(chosen, key=lambda c: c.id)

    async def classes(self) -> list[tuple[SchoolClass, School, int, int]]:
        schools = self.tx.read(SCHOOLS)
        counts: dict[tuple[str, str], int] = {}
        for class_id, _person_id, role in self.tx.read(ENROLLMENTS):
            counts[(class_id, role)] = counts.get((class_id, role), 0) + 1
        return [
            (
                c,
                schools[c.school_id],
                counts.get((c.id, EnrollmentRole.STUDENT.value), 0),
                counts.get((c.id, EnrollmentRole.TEACHER.value), 0),
            )
            for c in sorted(self.tx.read(CLASSES).values(), key=lambda c: (c.code, c.id))
            if c.school_id in schools
        ]

    async def class_roster(self, class_id: str) -> ClassRoster:
        c = self.tx.read(CLASSES).get(class_id)
        if c is None:
            raise KeyError(class_id)
        enrollments = {k: v for k, v in self.tx.read(ENROLLMENTS).items() if k[0] == class_id}
        people = await self.persons(k[1] for k in enrollments)

        def of_role(role: EnrollmentRole) -> tuple[Person, ...]:
            ids = {k[1] for k in enrollments if k[2] == role.value}
            return tuple(people[i] for i in sorted(ids) if i in people)

        pupils = of_role(EnrollmentRole.STUDENT)
        school = self.tx.read(SCHOOLS).get(c.school_id) or School(c.school_id, "")
        return ClassRoster(
            school_class=c,
            school=school,
            pupils=pupils,
            staff=of_role(EnrollmentRole.TEACHER),
            mentor_ids=frozenset(
                k[1] for k, primary in enrollments.items() if k[2] == "teacher" and primary
            ),
            guardians=await self.persons(g for p in pupils for g in p.guardian_ids),
        )

    async def school_pupils(self, school_id: str) -> list[Person]:
        classes = {c.id for c in self.tx.read(CLASSES).values() if c.school_id == school_id}
        people = await self.persons(
            pid
            for class_id, pid, role in self.tx.read(ENROLLMENTS)
            if class_id in classes and role == EnrollmentRole.STUDENT.value
        )
        return [people[i] for i in sorted(people)]

    async def enrollments_of(self, person_id: str) -> list[Enrollment]:
        return [
            Enrollment(class_id, pid, EnrollmentRole(role), primary)
            for (class_id, pid, role), primary in sorted(self.tx.read(ENROLLMENTS).items())
            if pid == person_id
        ]

    async def find_by_account_name(self, names: Iterable[str]) -> list[Person]:
        wanted = {n.strip().lower() for n in names if n and n.strip()}
        found = sorted(
            person_id
            for person_id, p in self.tx.read(PERSONS).items()
            if (p.username and p.username.lower() in wanted)
            or (p.email and p.email.lower() in wanted)
        )
        return [p for p in (self._person(i) for i in found) if p is not None]

    async def schools(self) -> list[School]:
        return sorted(self.tx.read(SCHOOLS).values(), key=lambda s: s.id)

    async def class_schools(self) -> list[School]:
        used = {c.school_id for c in self.tx.read(CLASSES).values()}
        return [s for s in await self.schools() if s.id in used]

    async def leadership(self, school_id: str | None) -> list[Person]:
        found = [
            p
            for p in self.tx.read(PERSONS).values()
            if p.has_role(Role.LEADERSHIP) and (school_id is None or school_id in p.school_ids)
        ]
        people = await self.persons(p.id for p in found)
        return [people[i] for i in sorted(people)]

    async def wards_of(self, guardian_id: str) -> list[str]:
        return sorted(p for p, g in self.tx.read(GUARDIANSHIPS) if g == guardian_id)

    async def set_language(self, person_id: str, language: str | None) -> bool:
        row = self.tx.read(PERSONS).get(person_id)
        if row is None:
            return False
        self.tx.write(PERSONS)[person_id] = replace(row, language=language)
        return True

    async def name_tokens(self) -> set[str]:
        return log_tokens.persons_tokens(list(self.tx.read(PERSONS).values()))[0]

    async def address_tokens(self) -> set[str]:
        return log_tokens.persons_tokens(list(self.tx.read(PERSONS).values()))[1]


class InMemoryGroupRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    def _check_chat(self, platform: str, chat_id: str, group_id: int) -> None:
        for g in self.tx.read(GROUPS).values():
            if g.platform == platform and g.chat_id == chat_id and g.id != group_id:
                raise DuplicateKeyError(f"groups: ({platform!r}, {chat_id!r}) exists")

    async def add(
        self, class_id: str, platform: str, chat_id: str, state: GroupState, now: datetime
    ) -> Group:
        self._check_chat(platform, chat_id, 0)
        group = Group(self.tx.store.next_id(GROUPS), class_id, platform, chat_id, GroupState(state))
        self.tx.insert(GROUPS, group.id, group)
        return group

    async def list(self, class_id: str | None = None, platform: str | None = None) -> list[Group]:
        return [
            g
            for _, g in sorted(self.tx.read(GROUPS).items())
            if (class_id is None or g.class_id == class_id)
            and (platform is None or g.platform == platform)
        ]

    async def get(self, group_id: int) -> Group | None:
        return self.tx.read(GROUPS).get(group_id)

    async def by_chat(self, platform: str, chat_id: str) -> Group | None:
        for g in self.tx.read(GROUPS).values():
            if g.platform == platform and g.chat_id == chat_id:
                return g
        return None

    async def update(
        self, group_id: int, *, state: GroupState | None = None, chat_id: str | None = None
    ) -> None:
        group = self.tx.read(GROUPS).get(group_id)
        if group is None:
            raise KeyError(group_id)
        if chat_id is not None:
            self._check_chat(group.platform, chat_id, group_id)
            group = replace(group, chat_id=chat_id)
        if state is not None:
            group = replace(group, state=GroupState(state))
        self.tx.write(GROUPS)[group_id] = group

    async def set_member(
        self, group_id: int, person_id: str, account_id: str, state: MemberState, now: datetime
    ) -> None:
        self.tx.write(MEMBERS)[(group_id, person_id)] = Membership(account_id, MemberState(state))

    async def members(self, group_id: int) -> dict[str, Membership]:
        return {
            person_id: m
            for (gid, person_id), m in sorted(self.tx.read(MEMBERS).items())
            if gid == group_id
        }

    async def memberships_of(self, person_id: str) -> dict[int, Membership]:
        return {
            group_id: m
            for (group_id, pid), m in sorted(self.tx.read(MEMBERS).items())
            if pid == person_id
        }


class InMemoryAccountRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def link(self, platform: str, account_id: str, person_id: str, now: datetime) -> None:
        self.tx.write(ACCOUNTS)[(platform, account_id)] = person_id
        self.tx.write(LINKED_AT)[(platform, account_id)] = now

    async def person_of(self, platform: str, account_id: str) -> Person | None:
        person_id = self.tx.read(ACCOUNTS).get((platform, account_id))
        if person_id is None:
            return None
        return await InMemoryRosterRepository(self.tx).person(person_id)

    async def of_person(self, person_id: str) -> builtins.list[Account]:
        linked = self.tx.read(LINKED_AT)
        return [
            Account(platform, account_id, pid, linked.get((platform, account_id)))
            for (platform, account_id), pid in sorted(self.tx.read(ACCOUNTS).items())
            if pid == person_id
        ]

    async def linked_persons(self, platform: str) -> frozenset[str]:
        return frozenset(p for (pf, _), p in self.tx.read(ACCOUNTS).items() if pf == platform)


class InMemoryInviteRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, invite: Invite) -> None:
        self.tx.insert(INVITES, invite.code_hash, invite)

    async def get(self, code_hash: str) -> Invite | None:
        return self.tx.read(INVITES).get(code_hash)

    async def use(self, code_hash: str, now: datetime) -> bool:
        invite = self.tx.read(INVITES).get(code_hash)
        if invite is None or invite.used_at is not None:
            return False
        self.tx.write(INVITES)[code_hash] = replace(invite, used_at=now)
        return True

    async def of_person(self, person_id: str) -> list[Invite]:
        return sorted(
            (i for i in self.tx.read(INVITES).values() if i.person_id == person_id),
            key=lambda i: (i.created_at, i.code_hash),
        )

    async def revoke_unused(self, person_id: str) -> list[str]:
        unused = sorted(
            code_hash
            for code_hash, invite in self.tx.read(INVITES).items()
            if invite.person_id == person_id and invite.used_at is None
        )
        for code_hash in unused:
            del self.tx.write(INVITES)[code_hash]
        return unused


class InMemoryPlatformStateRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get(self, platform: str, key: str) -> str | None:
        return self.tx.read(STATE).get((platform, key))

    async def set(self, platform: str, key: str, value: str) -> None:
        self.tx.write(STATE)[(platform, key)] = value

    async def lock(self, platform: str, key: str) -> None:
        """Transactions in memory are serial: nothing to wait for."""
