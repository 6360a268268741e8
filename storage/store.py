"""Repositories over SQLAlchemy 2 (async) that speak the core's domain types.

`Database.transaction()` yields a `SqlStore` bound to one transaction: everything done through it
commits together or not at all (the outbox: an announcement and its deliveries are one write).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.domain import (
    Account,
    Address,
    Announcement,
    AuditEvent,
    Channel,
    ClassRoster,
    ContactPreference,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentRole,
    Group,
    GroupState,
    Invite,
    LetterRecord,
    Person,
    Reason,
    Recipient,
    Role,
    RosterChanges,
    RosterSnapshot,
    Route,
    School,
    SchoolClass,
)
from bot.routing import GroupView
from storage.models import (
    AccountRow,
    AnnouncementRow,
    AuditEventRow,
    AuditPersonRow,
    ClassRow,
    DeliveryRow,
    EnrollmentRow,
    GroupMemberRow,
    GroupRow,
    GuardianshipRow,
    InviteRow,
    LetterItemRow,
    LetterRow,
    PersonRow,
    PlatformStateRow,
    SchoolRow,
)

logger = logging.getLogger(__name__)

# The PostgreSQL advisory lock that outbox claims take in turn (any constant unique in the app).
_CLAIM_LOCK = 0x6B6C6173626F74  # "klasbot"


class Database:
    """Owns the engine. One per process; pass it in, never a module-level global."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            # One writer at a time on SQLite; wait for the lock instead of failing at once.
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlStore]:
        async with self._sessions() as session, session.begin():
            yield SqlStore(session)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# ---------------------------------------------------------------------------- conversions


def _person(row: PersonRow, guardian_ids: Iterable[str] = ()) -> Person:
    address = None
    if row.street and row.postal_code and row.city:
        address = Address(row.street, row.postal_code, row.city)
    return Person(
        id=row.id,
        role=Role(row.role),
        given_name=row.given_name,
        family_name=row.family_name,
        middle_name=row.middle_name,
        birth_date=row.birth_date,
        email=row.email,
        address=address,
        preference=ContactPreference(row.preference),
        guardian_ids=tuple(sorted(guardian_ids)),
    )


def _group(row: GroupRow) -> Group:
    return Group(row.id, row.class_id, row.platform, row.chat_id, GroupState(row.state))


def _announcement(row: AnnouncementRow) -> Announcement:
    return Announcement(
        id=row.id,
        class_id=row.class_id,
        kind=row.kind,
        author_id=row.author_id,
        created_at=row.created_at,
        body=row.body,
        signature=row.signature,
        date=row.date,
        period=row.period,
        subject=row.subject,
        text=row.text,
        not_before=row.not_before,
        schedule_id=row.schedule_id,
    )


def recipient_to_json(r: Recipient) -> dict[str, Any]:
    data: dict[str, Any] = {"person": r.person_id, "name": r.name}
    if r.email:
        data["email"] = r.email
    if r.address:
        data["address"] = [r.address.street, r.address.postal_code, r.address.city]
    return data


def recipient_from_json(data: dict[str, Any]) -> Recipient:
    address = Address(*data["address"]) if data.get("address") else None
    return Recipient(data["person"], data["name"], data.get("email"), address)


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        announcement_id=row.announcement_id,
        pupil_id=row.pupil_id,
        channel=Channel(row.channel),
        reason=Reason(row.reason) if row.reason else None,
        status=DeliveryStatus(row.status),
        recipients=tuple(recipient_from_json(r) for r in row.recipients or []),
        group_id=row.group_id,
        attempts=row.attempts,
        channel_attempts=row.channel_attempts,
        last_error=row.last_error,
        idempotency_key=row.idempotency_key,
        due_at=row.due_at,
        sent_at=row.sent_at,
        external_id=row.external_id,
    )


class SqlStore:
    """All reads and writes of one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------------ roster

    async def sync_roster(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        """Make the stored roster equal to `snapshot`: add, update and remove.

        With `deleted` (a OneRoster *delta* export) the snapshot holds only changed records: they
        are added or updated, and only the persons and classes the export marked `tobedeleted`
        are removed; nothing is removed for being absent."""
        s = self.session
        delta = deleted is not None
        changes = RosterChanges()
        await self._sync_table(
            SchoolRow,
            {x.id: {"name": x.name} for x in snapshot.schools},
            changes,
            "schools",
            delete=False,
        )
        persons = {
            p.id: {
                "role": p.role.value,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "middle_name": p.middle_name,
                "birth_date": p.birth_date,
                "email": p.email,
                "street": p.address.street if p.address else None,
                "postal_code": p.address.postal_code if p.address else None,
                "city": p.address.city if p.address else None,
                "preference": p.preference.value,
            }
            for p in snapshot.persons
        }
        await self._sync_table(PersonRow, persons, changes, "persons", delete=False)
        classes = {
            c.id: {"code": c.code, "title": c.title, "school_id": c.school_id}
            for c in snapshot.classes
        }
        await self._sync_table(ClassRow, classes, changes, "classes", delete=False)

        wanted_links = {(p.id, g) for p in snapshot.persons for g in p.guardian_ids}
        have_links = set(
            await s.execute(sa.select(GuardianshipRow.pupil_id, GuardianshipRow.guardian_id))
        )
        for pupil_id, guardian_id in sorted(wanted_links - have_links):
            s.add(GuardianshipRow(pupil_id=pupil_id, guardian_id=guardian_id))
            changes.note(changes.added, "guardianships", f"{pupil_id}<-{guardian_id}")
        for pupil_id, guardian_id in sorted(() if delta else have_links - wanted_links):
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
        self,
        model: Any,
        wanted: dict[str, dict[str, Any]],
        changes: RosterChanges,
        name: str,
        *,
        delete: bool,
    ) -> None:
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

    async def get_person(self, person_id: str) -> Person | None:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            return None
        guardians = (
            await self.session.execute(
                sa.select(GuardianshipRow.guardian_id).where(GuardianshipRow.pupil_id == person_id)
            )
        ).scalars()
        return _person(row, guardians)

    async def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        ids = list(set(ids))
        if not ids:
            return {}
        rows = (
            await self.session.execute(sa.select(PersonRow).where(PersonRow.id.in_(ids)))
        ).scalars()
        links: dict[str, list[str]] = {}
        for pupil_id, guardian_id in await self.session.execute(
            sa.select(GuardianshipRow.pupil_id, GuardianshipRow.guardian_id).where(
                GuardianshipRow.pupil_id.in_(ids)
            )
        ):
            links.setdefault(pupil_id, []).append(guardian_id)
        return {r.id: _person(r, links.get(r.id, ())) for r in rows}

    async def find_classes(self, ref: str) -> list[SchoolClass]:
        rows = (
            (
                await self.session.execute(
                    sa.select(ClassRow).where(sa.or_(ClassRow.id == ref, ClassRow.code == ref))
                )
            )
            .scalars()
            .all()
        )
        exact = [r for r in rows if r.id == ref]
        chosen = exact or rows
        if not chosen:
            # Class codes are written as people say them: "2b" is 2B.
            chosen = (
                (
                    await self.session.execute(
                        sa.select(ClassRow).where(sa.func.lower(ClassRow.code) == ref.lower())
                    )
                )
                .scalars()
                .all()
            )
        return [SchoolClass(r.id, r.code, r.title, r.school_id) for r in chosen]

    async def list_classes(self) -> list[tuple[SchoolClass, School, int, int]]:
        """(class, school, number of pupils, number of staff) for every class."""
        result = []
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
        for c, school in rows:
            result.append(
                (
                    SchoolClass(c.id, c.code, c.title, c.school_id),
                    School(school.id, school.name),
                    counts.get((c.id, "student"), 0),
                    counts.get((c.id, "teacher"), 0),
                )
            )
        return result

    async def class_roster(self, class_id: str) -> ClassRoster:
        c = await self.session.get(ClassRow, class_id)
        if c is None:
            raise LookupError(class_id)
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
        pupils = tuple(
            sorted(
                {
                    people[e.person_id]
                    for e in enrollments
                    if e.role == "student" and e.person_id in people
                },
                key=lambda p: p.id,
            )
        )
        staff = tuple(
            sorted(
                {
                    people[e.person_id]
                    for e in enrollments
                    if e.role == "teacher" and e.person_id in people
                },
                key=lambda p: p.id,
            )
        )
        mentors = frozenset(e.person_id for e in enrollments if e.role == "teacher" and e.primary)
        guardians = await self.persons(g for p in pupils for g in p.guardian_ids)
        return ClassRoster(
            school_class=SchoolClass(c.id, c.code, c.title, c.school_id),
            school=School(school.id, school.name) if school else School(c.school_id, ""),
            pupils=pupils,
            staff=staff,
            mentor_ids=mentors,
            guardians=guardians,
        )

    async def enrollments_of(self, person_id: str) -> list[Enrollment]:
        rows = (
            await self.session.execute(
                sa.select(EnrollmentRow).where(EnrollmentRow.person_id == person_id)
            )
        ).scalars()
        return [
            Enrollment(r.class_id, r.person_id, EnrollmentRole(r.role), r.primary) for r in rows
        ]

    async def wards_of(self, guardian_id: str) -> list[str]:
        return list(
            (
                await self.session.execute(
                    sa.select(GuardianshipRow.pupil_id).where(
                        GuardianshipRow.guardian_id == guardian_id
                    )
                )
            ).scalars()
        )

    # ------------------------------------------------------------------------ groups

    async def add_group(
        self, class_id: str, platform: str, chat_id: str, state: GroupState, now: datetime
    ) -> Group:
        row = GroupRow(
            class_id=class_id, platform=platform, chat_id=chat_id, state=state.value, created_at=now
        )
        self.session.add(row)
        await self.session.flush()
        return _group(row)

    async def groups(self, class_id: str | None = None, platform: str | None = None) -> list[Group]:
        q = sa.select(GroupRow).order_by(GroupRow.id)
        if class_id is not None:
            q = q.where(GroupRow.class_id == class_id)
        if platform is not None:
            q = q.where(GroupRow.platform == platform)
        return [_group(r) for r in (await self.session.execute(q)).scalars()]

    async def group(self, group_id: int) -> Group | None:
        row = await self.session.get(GroupRow, group_id)
        return _group(row) if row else None

    async def group_by_chat(self, platform: str, chat_id: str) -> Group | None:
        row = await self.session.scalar(
            sa.select(GroupRow).where(GroupRow.platform == platform, GroupRow.chat_id == chat_id)
        )
        return _group(row) if row else None

    async def update_group(
        self, group_id: int, *, state: GroupState | None = None, chat_id: str | None = None
    ) -> None:
        row = await self.session.get(GroupRow, group_id)
        if row is None:
            raise LookupError(group_id)
        if state is not None:
            row.state = state.value
        if chat_id is not None:
            row.chat_id = chat_id
        await self.session.flush()

    async def set_member(
        self, group_id: int, person_id: str, account_id: str, state: str, now: datetime
    ) -> None:
        row = await self.session.get(GroupMemberRow, (group_id, person_id))
        if row is None:
            self.session.add(
                GroupMemberRow(
                    group_id=group_id,
                    person_id=person_id,
                    account_id=account_id,
                    state=state,
                    updated_at=now,
                )
            )
        else:
            row.account_id, row.state, row.updated_at = account_id, state, now
        await self.session.flush()

    async def members(self, group_id: int) -> dict[str, tuple[str, str]]:
        """person id → (account id, state) for everyone the group has had."""
        rows = (
            await self.session.execute(
                sa.select(GroupMemberRow).where(GroupMemberRow.group_id == group_id)
            )
        ).scalars()
        return {r.person_id: (r.account_id, r.state) for r in rows}

    async def group_views(self, class_id: str, min_ages: dict[str, int]) -> list[GroupView]:
        views = []
        for group in await self.groups(class_id):
            members = await self.members(group.id)
            linked = set(
                (
                    await self.session.execute(
                        sa.select(AccountRow.person_id).where(AccountRow.platform == group.platform)
                    )
                ).scalars()
            )
            views.append(
                GroupView(
                    group=group,
                    min_age=min_ages.get(group.platform, 13),
                    members=frozenset(p for p, (_, st) in members.items() if st == "member"),
                    departed=frozenset(
                        p for p, (_, st) in members.items() if st in ("left", "removed")
                    ),
                    linked=frozenset(linked),
                )
            )
        return views

    # ------------------------------------------------------------------------ accounts

    async def link_account(
        self, platform: str, account_id: str, person_id: str, now: datetime
    ) -> None:
        row = await self.session.get(AccountRow, (platform, account_id))
        if row is None:
            self.session.add(
                AccountRow(
                    platform=platform, account_id=account_id, person_id=person_id, linked_at=now
                )
            )
        else:
            row.person_id, row.linked_at = person_id, now
        await self.session.flush()

    async def person_by_account(self, platform: str, account_id: str) -> Person | None:
        row = await self.session.get(AccountRow, (platform, account_id))
        return await self.get_person(row.person_id) if row else None

    async def accounts_of(self, person_id: str) -> list[Account]:
        rows = (
            await self.session.execute(
                sa.select(AccountRow).where(AccountRow.person_id == person_id)
            )
        ).scalars()
        return [Account(r.platform, r.account_id, r.person_id) for r in rows]

    # ------------------------------------------------------------------------ invites

    async def add_invite(self, invite: Invite) -> None:
        self.session.add(
            InviteRow(
                code=invite.code,
                person_id=invite.person_id,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
                used_at=invite.used_at,
            )
        )
        await self.session.flush()

    async def invite(self, code: str, *, for_update: bool = False) -> Invite | None:
        q = sa.select(InviteRow).where(InviteRow.code == code)
        if for_update:
            q = q.with_for_update()
        row = await self.session.scalar(q)
        if row is None:
            return None
        return Invite(row.code, row.person_id, row.created_at, row.expires_at, row.used_at)

    async def use_invite(self, code: str, now: datetime) -> bool:
        """Mark used; False when someone else used it first (single use under concurrency)."""
        result = await self.session.execute(
            sa.update(InviteRow)
            .where(InviteRow.code == code, InviteRow.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------------------ announcements

    async def add_announcement(self, a: Announcement) -> int:
        row = AnnouncementRow(
            class_id=a.class_id,
            kind=a.kind,
            author_id=a.author_id,
            created_at=a.created_at,
            body=a.body,
            signature=a.signature,
            date=a.date,
            period=a.period,
            subject=a.subject,
            text=a.text,
            not_before=a.not_before,
            schedule_id=a.schedule_id,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def add_deliveries(
        self,
        announcement_id: int,
        routes: Sequence[tuple[Route, str]],
        *,
        due_at: datetime,
        status: DeliveryStatus,
    ) -> None:
        """One outbox row per (route, idempotency key); same transaction as the announcement."""
        rows = [
            {
                "announcement_id": announcement_id,
                "pupil_id": route.pupil_id,
                "channel": route.channel.value,
                "reason": route.reason.value if route.reason else None,
                "status": (
                    DeliveryStatus.FAILED if route.channel == Channel.UNREACHABLE else status
                ).value,
                "recipients": [recipient_to_json(r) for r in route.recipients],
                "group_id": route.group_id,
                "attempts": 0,
                "channel_attempts": 0,
                "idempotency_key": key,
                "due_at": due_at,
            }
            for route, key in routes
        ]
        if rows:
            await self.session.execute(sa.insert(DeliveryRow), rows)

    async def announcement(self, announcement_id: int) -> Announcement | None:
        row = await self.session.get(AnnouncementRow, announcement_id)
        return _announcement(row) if row else None

    async def announcements(self, class_id: str | None = None) -> list[Announcement]:
        q = sa.select(AnnouncementRow).order_by(AnnouncementRow.id)
        if class_id is not None:
            q = q.where(AnnouncementRow.class_id == class_id)
        return [_announcement(r) for r in (await self.session.execute(q)).scalars()]

    async def deliveries(self, announcement_id: int) -> list[Delivery]:
        rows = (
            await self.session.execute(
                sa.select(DeliveryRow)
                .where(DeliveryRow.announcement_id == announcement_id)
                .order_by(DeliveryRow.pupil_id)
            )
        ).scalars()
        return [_delivery(r) for r in rows]

    async def delivery_rows(self, ids: Sequence[int]) -> list[Delivery]:
        rows = (
            await self.session.execute(sa.select(DeliveryRow).where(DeliveryRow.id.in_(ids)))
        ).scalars()
        return [_delivery(r) for r in rows]

    # ------------------------------------------------------------------------ outbox

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, *, exclude: Iterable[int] = ()
    ) -> list[Delivery]:
        """Claim up to `limit` due deliveries for this worker until `lease_until`, plus the rest
        of every group post among them (so a batch may hold a few more than `limit`).

        On PostgreSQL concurrent dispatchers skip each other's rows (FOR UPDATE SKIP LOCKED);
        SQLite serialises writers, so one process dispatches there."""
        postgres = self.session.get_bind().dialect.name == "postgresql"
        if postgres:
            # Claims (not the sending) take turns: two claims running at once could each take
            # part of one group post, and both would post it.
            await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_CLAIM_LOCK)))
        exclude = list(exclude)
        claimable = [
            DeliveryRow.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value]),
            DeliveryRow.channel != Channel.UNREACHABLE.value,
            DeliveryRow.letter_key.is_(None),
            sa.or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until <= now),
        ]
        if exclude:
            claimable.append(DeliveryRow.id.not_in(exclude))
        q = (
            sa.select(DeliveryRow)
            .where(DeliveryRow.due_at <= now, *claimable)
            .order_by(DeliveryRow.due_at, DeliveryRow.id)
            .limit(limit)
        )
        if postgres:
            q = q.with_for_update(skip_locked=True)
        rows = list((await self.session.execute(q)).scalars().all())
        # One post reaches every member of a group: its rows are claimed together, whatever
        # their due times (retries are jittered per row), or a batch boundary or a retry would
        # post the same announcement in the group once per part.
        units = {
            (r.announcement_id, r.group_id)
            for r in rows
            if r.channel == Channel.GROUP.value and r.group_id is not None
        }
        if units:
            have = {r.id for r in rows}
            siblings = sa.select(DeliveryRow).where(
                DeliveryRow.channel == Channel.GROUP.value,
                sa.or_(
                    *(
                        sa.and_(DeliveryRow.announcement_id == a, DeliveryRow.group_id == g)
                        for a, g in sorted(units)
                    )
                ),
                *claimable,
            )
            if postgres:
                siblings = siblings.with_for_update(skip_locked=True)
            more = (await self.session.execute(siblings)).scalars()
            rows += [r for r in more if r.id not in have]
        for row in rows:
            row.claimed_until = lease_until
            if row.status == DeliveryStatus.HELD.value:
                row.status = DeliveryStatus.PENDING.value
        await self.session.flush()
        return [_delivery(r) for r in rows]

    async def hold(self, ids: Sequence[int], until: datetime) -> None:
        if ids:
            await self.session.execute(
                sa.update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids))
                .values(status=DeliveryStatus.HELD.value, due_at=until, claimed_until=None)
            )

    async def mark_sent(self, ids: Sequence[int], now: datetime, external_id: str | None) -> None:
        if ids:
            await self.session.execute(
                sa.update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids))
                .values(
                    status=DeliveryStatus.SENT.value,
                    sent_at=now,
                    external_id=external_id,
                    claimed_until=None,
                    attempts=DeliveryRow.attempts + 1,
                    last_error=None,
                )
            )

    async def mark_retry(self, delivery_id: int, error: str, due_at: datetime) -> None:
        await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING.value,
                due_at=due_at,
                claimed_until=None,
                attempts=DeliveryRow.attempts + 1,
                channel_attempts=DeliveryRow.channel_attempts + 1,
                last_error=error,
            )
        )

    async def reroute(
        self,
        delivery_id: int,
        *,
        channel: Channel,
        reason: Reason | None,
        recipients: Sequence[Recipient],
        error: str,
        now: datetime,
    ) -> None:
        """A permanent failure: the pupil moves to the next channel (still one row per pupil)."""
        status = DeliveryStatus.FAILED if channel == Channel.UNREACHABLE else DeliveryStatus.PENDING
        await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(
                channel=channel.value,
                reason=reason.value if reason else None,
                recipients=[recipient_to_json(r) for r in recipients],
                status=status.value,
                group_id=None,
                due_at=now,
                claimed_until=None,
                attempts=DeliveryRow.attempts + 1,
                # The new channel gets its own retries (a greylisting 451 after a lost group).
                channel_attempts=0,
                last_error=error,
            )
        )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(
                status=DeliveryStatus.FAILED.value,
                claimed_until=None,
                last_error=error,
                attempts=DeliveryRow.attempts + 1,
            )
        )

    # ------------------------------------------------------------------------ letters

    async def open_letter_key(self, base_key: str) -> str:
        """The household's letter for the day that the office has not posted yet (a new one, with
        a suffix, once the earlier one went out)."""
        n = 1
        key = base_key
        while True:
            row = await self.session.get(LetterRow, key)
            if row is None or row.posted_at is None:
                return key
            n += 1
            key = f"{base_key}-{n}"

    async def add_letter(
        self,
        key: str,
        recipient_name: str,
        address: str,
        path: str,
        now: datetime,
        delivery_ids: Sequence[int],
    ) -> None:
        row = await self.session.get(LetterRow, key)
        if row is None:
            self.session.add(
                LetterRow(
                    key=key,
                    recipient_name=recipient_name,
                    address=address,
                    path=path,
                    created_at=now,
                )
            )
        else:
            row.path = path
        await self.session.flush()
        have = set(
            (
                await self.session.execute(
                    sa.select(LetterItemRow.delivery_id).where(LetterItemRow.letter_key == key)
                )
            ).scalars()
        )
        for delivery_id in delivery_ids:
            if delivery_id not in have:
                self.session.add(LetterItemRow(letter_key=key, delivery_id=delivery_id))
        if delivery_ids:
            await self.session.execute(
                sa.update(DeliveryRow)
                .where(DeliveryRow.id.in_(delivery_ids), DeliveryRow.letter_key.is_(None))
                .values(letter_key=key, claimed_until=None, attempts=DeliveryRow.attempts + 1)
            )
        await self.session.flush()

    async def letter_deliveries(self, key: str) -> list[Delivery]:
        rows = (
            await self.session.execute(
                sa.select(DeliveryRow)
                .join(LetterItemRow, LetterItemRow.delivery_id == DeliveryRow.id)
                .where(LetterItemRow.letter_key == key)
            )
        ).scalars()
        return [_delivery(r) for r in rows]

    async def letters(self, *, unposted_only: bool = False) -> list[LetterRecord]:
        q = sa.select(LetterRow).order_by(LetterRow.created_at, LetterRow.key)
        if unposted_only:
            q = q.where(LetterRow.posted_at.is_(None))
        out = []
        for row in (await self.session.execute(q)).scalars():
            ds = await self.letter_deliveries(row.key)
            out.append(
                LetterRecord(
                    row.key,
                    row.recipient_name,
                    row.address,
                    row.path,
                    row.created_at,
                    row.posted_at,
                    tuple(sorted({d.pupil_id for d in ds})),
                    tuple(sorted({d.announcement_id for d in ds})),
                )
            )
        return out

    async def mark_posted(self, keys: Sequence[str], now: datetime) -> list[str]:
        """Record letters as posted; a delivery is `sent` once every letter carrying it is."""
        done = []
        for key in keys:
            row = await self.session.get(LetterRow, key)
            if row is None or row.posted_at is not None:
                continue
            row.posted_at = now
            done.append(key)
        await self.session.flush()
        for key in done:
            for d in await self.letter_deliveries(key):
                pending = await self.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(LetterItemRow)
                    .join(LetterRow, LetterRow.key == LetterItemRow.letter_key)
                    .where(LetterItemRow.delivery_id == d.id, LetterRow.posted_at.is_(None))
                )
                if not pending:
                    await self.session.execute(
                        sa.update(DeliveryRow)
                        .where(DeliveryRow.id == d.id)
                        .values(status=DeliveryStatus.SENT.value, sent_at=now)
                    )
        await self.session.flush()
        return done

    async def release(self, ids: Sequence[int]) -> None:
        """Give claimed rows back without an attempt (this process cannot deliver them)."""
        if ids:
            await self.session.execute(
                sa.update(DeliveryRow).where(DeliveryRow.id.in_(ids)).values(claimed_until=None)
            )

    # ------------------------------------------------------------------------ audit

    async def audit(self, event: AuditEvent) -> None:
        await self.audit_many([event])

    async def audit_many(self, events: Sequence[AuditEvent]) -> None:
        """Append audit events (in bulk: an announcement to a big class writes one per pupil)."""
        if not events:
            return
        ids = (
            await self.session.scalars(
                sa.insert(AuditEventRow).returning(AuditEventRow.id, sort_by_parameter_order=True),
                [
                    {"at": e.at, "kind": e.kind, "actor_id": e.actor_id, "details": dict(e.details)}
                    for e in events
                ],
            )
        ).all()
        links = [
            {"event_id": event_id, "person_id": person_id}
            for event_id, e in zip(ids, events, strict=True)
            for person_id in sorted(set(e.person_ids) | ({e.actor_id} if e.actor_id else set()))
        ]
        if links:
            await self.session.execute(sa.insert(AuditPersonRow), links)

    async def audit_event(
        self,
        kind: str,
        at: datetime,
        actor_id: str | None,
        persons: Sequence[str],
        details: dict[str, Any],
    ) -> None:
        await self.audit(AuditEvent(kind, at, actor_id, tuple(persons), details))

    async def audit_events(
        self, person_id: str | None = None, kind: str | None = None
    ) -> list[AuditEvent]:
        q = sa.select(AuditEventRow).order_by(AuditEventRow.id)
        if person_id is not None:
            q = q.join(AuditPersonRow, AuditPersonRow.event_id == AuditEventRow.id).where(
                AuditPersonRow.person_id == person_id
            )
        if kind is not None:
            q = q.where(AuditEventRow.kind == kind)
        out = []
        for row in (await self.session.execute(q)).scalars():
            persons = (
                await self.session.execute(
                    sa.select(AuditPersonRow.person_id).where(AuditPersonRow.event_id == row.id)
                )
            ).scalars()
            out.append(
                AuditEvent(row.kind, row.at, row.actor_id, tuple(persons), dict(row.details))
            )
        return out

    # ------------------------------------------------------------------------ platform state

    async def get_state(self, platform: str, key: str) -> str | None:
        row = await self.session.get(PlatformStateRow, (platform, key))
        return row.value if row else None

    async def set_state(self, platform: str, key: str, value: str) -> None:
        row = await self.session.get(PlatformStateRow, (platform, key))
        if row is None:
            self.session.add(PlatformStateRow(platform=platform, key=key, value=value))
        else:
            row.value = value
        await self.session.flush()
