"""GDPR erasure and the retention period over SQLAlchemy (`bot.repositories.PrivacyRepository`).

The erasure scrubs every text and JSON column of every table the models declare (but `persons`,
whose other rows are other people's current data), so a table added later is scrubbed too. Its
statements are Core statements on the tables; the session's ORM objects are flushed before and
expired after, so that the rest of the transaction reads what the database now holds."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import DeliveryStatus, Person, ReportState
from bot.outbox import DUE_AT_ONCE
from bot.repositories import Erased, Purged
from storage.models import (
    AccountRow,
    AnnouncementRow,
    AuditClassRow,
    AuditEventRow,
    AuditPersonRow,
    Base,
    DeliveryRow,
    EnrollmentRow,
    FiringRow,
    GroupMemberRow,
    GuardianshipRow,
    InviteRow,
    LetterItemRow,
    LetterRow,
    PersonRow,
    PlatformStateRow,
    ReportRow,
    ScheduleRow,
)
from storage.scrub import Scrubber
from storage.sql.mapping import to_person

T = TypeVar("T")

_UNSENT = (DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value)
_DONE = (DeliveryStatus.SENT.value, DeliveryStatus.FAILED.value, DeliveryStatus.WITHDRAWN.value)
_CHUNK = 500
"""Ids per IN list (far below SQLite's and asyncpg's limits on parameters)."""
_TERMS = 300
"""Conditions per statement of the scrub (SQLite's expression depth is 1000)."""
_ESCAPE = "\\"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _chunks(items: Iterable[T]) -> Iterator[builtins.list[T]]:
    batch: builtins.list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _recipient_ids(recipients: Any) -> set[str]:
    return {str(r.get("person")) for r in recipients or () if isinstance(r, dict)}


class SqlPrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- erasure ----------------------------------------------------------------------------------

    async def namesakes(
        self,
        person_id: str,
        *,
        family_names: Sequence[str],
        given_names: Sequence[str] = (),
        emails: Sequence[str],
        streets: Sequence[str],
        postal_codes: Sequence[str],
    ) -> builtins.list[Person]:
        def any_of(column: Any, values: Sequence[str], *, compact: bool = False) -> Any:
            def norm(v: str) -> str:
                return "".join(v.split()).lower() if compact else v.strip().lower()

            wanted = sorted({norm(v) for v in values if v and v.strip()})
            if not wanted:
                return sa.false()
            seen = sa.func.lower(sa.func.replace(column, " ", "") if compact else column)
            return seen.in_(wanted)

        rows = await self.session.execute(
            sa.select(PersonRow)
            .where(
                PersonRow.id != person_id,
                sa.or_(
                    any_of(PersonRow.family_name, family_names),
                    any_of(PersonRow.given_name, given_names),
                    any_of(PersonRow.preferred_given_name, given_names),
                    any_of(PersonRow.email, emails),
                    any_of(PersonRow.street, streets),
                    any_of(PersonRow.postal_code, postal_codes, compact=True),
                ),
            )
            .order_by(PersonRow.id)
        )
        return [to_person(r) for r in rows.scalars()]

    async def erase(
        self,
        person_id: str,
        pseudonym: str,
        *,
        everywhere: Sequence[str],
        tied: Sequence[str],
        keep: Sequence[str] = (),
    ) -> Erased:
        s = self.session
        await s.flush()
        counts: dict[str, int] = {}
        scrub = Scrubber(person_id, pseudonym, everywhere, tied, keep)

        # Copies for or to the person, found by the id they still carry.
        d = _t(DeliveryRow)
        found = await s.execute(
            sa.select(
                d.c.id,
                d.c.announcement_id,
                d.c.pupil_id,
                d.c.status,
                d.c.recipients,
                d.c.notice,
            ).where(
                sa.or_(
                    d.c.pupil_id == person_id,
                    sa.cast(d.c.recipients, sa.Text).like(
                        f"%{_like(json.dumps(person_id))}%", escape=_ESCAPE
                    ),
                )
            )
        )
        theirs = [
            row
            for row in found
            if row.pupil_id == person_id or person_id in _recipient_ids(row.recipients)
        ]
        touched = sorted(row.id for row in theirs)
        counts["cancelled"] = await self._cancel_unsent(person_id, theirs)
        letter_files, removed = await self._letters(touched)
        counts["letters_removed"] = removed

        counts["platform_state"] = await self._forget_accounts(person_id)
        counts["accounts"] = await self._delete(AccountRow, AccountRow.person_id == person_id)
        counts["invites"] = await self._delete(InviteRow, InviteRow.person_id == person_id)
        counts["memberships"] = await self._delete(
            GroupMemberRow, GroupMemberRow.person_id == person_id
        )
        await self._delete(
            GuardianshipRow,
            sa.or_(GuardianshipRow.pupil_id == person_id, GuardianshipRow.guardian_id == person_id),
        )
        await self._delete(EnrollmentRow, EnrollmentRow.person_id == person_id)
        counts["persons"] = await self._delete(PersonRow, PersonRow.id == person_id)

        events = sa.union(
            sa.select(AuditPersonRow.event_id).where(AuditPersonRow.person_id == person_id),
            sa.select(AuditEventRow.id).where(AuditEventRow.actor_id == person_id),
        ).subquery()
        counts["audit_events"] = int(
            await s.scalar(sa.select(sa.func.count()).select_from(events)) or 0
        )
        await self._replace(AuditPersonRow.person_id, person_id, pseudonym)
        await self._replace(AuditEventRow.actor_id, person_id, pseudonym)
        counts["deliveries"] = len(touched)
        await self._replace(DeliveryRow.pupil_id, person_id, pseudonym)
        counts["announcements"] = await self._count(
            AnnouncementRow,
            sa.or_(
                AnnouncementRow.author_id == person_id, AnnouncementRow.withdrawn_by == person_id
            ),
        )
        await self._replace(AnnouncementRow.author_id, person_id, pseudonym)
        await self._replace(AnnouncementRow.withdrawn_by, person_id, pseudonym)
        counts["schedules"] = await self._count(
            ScheduleRow,
            sa.or_(ScheduleRow.author_id == person_id, ScheduleRow.cancelled_by == person_id),
        )
        await self._replace(ScheduleRow.author_id, person_id, pseudonym)
        await self._replace(ScheduleRow.cancelled_by, person_id, pseudonym)
        reports = list(
            (
                await s.execute(sa.select(ReportRow.id).where(ReportRow.reporter_id == person_id))
            ).scalars()
        )
        counts["reports"] = len(reports)
        await s.execute(
            sa.update(_t(ReportRow))
            .where(ReportRow.reporter_id == person_id)
            .values(reporter_id=None)
        )

        carrying = sa.select(LetterItemRow.letter_key)
        tied_rows: dict[str, list[Any]] = {
            "audit_events": [
                AuditEventRow.id.in_(
                    sa.select(AuditPersonRow.event_id).where(AuditPersonRow.person_id == pseudonym)
                ),
                AuditEventRow.actor_id == pseudonym,
            ],
            "deliveries": [DeliveryRow.id.in_(chunk) for chunk in _chunks(touched)],
            "announcements": [
                sa.or_(
                    AnnouncementRow.author_id == pseudonym,
                    AnnouncementRow.withdrawn_by == pseudonym,
                )
            ],
            "schedules": [
                sa.or_(ScheduleRow.author_id == pseudonym, ScheduleRow.cancelled_by == pseudonym)
            ],
            "schedule_firings": [
                FiringRow.schedule_id.in_(
                    sa.select(ScheduleRow.id).where(
                        sa.or_(
                            ScheduleRow.author_id == pseudonym,
                            ScheduleRow.cancelled_by == pseudonym,
                        )
                    )
                )
            ],
            "reports": [ReportRow.id.in_(chunk) for chunk in _chunks(reports)],
            "letters": [
                LetterRow.key.in_(carrying.where(LetterItemRow.delivery_id.in_(chunk)))
                for chunk in _chunks(touched)
            ],
        }
        counts["scrubbed"] = await self._scrub(scrub, tied_rows)
        await s.flush()
        s.expire_all()
        return Erased(counts, tuple(sorted(set(letter_files))))

    async def _cancel_unsent(self, person_id: str, theirs: Sequence[Any]) -> int:
        """Withdraw what is not sent yet for the person; take them off other rows' recipients."""
        d = _t(DeliveryRow)
        cancelled = 0
        for row in theirs:
            if row.status not in _UNSENT:
                continue
            recipients = list(row.recipients or [])
            left = [r for r in recipients if str(r.get("person")) != person_id]
            notice = row.notice if isinstance(row.notice, dict) else {}
            own = row.pupil_id == person_id and (
                row.announcement_id is not None or notice.get("type") == "invite"
            )
            if own or (recipients and not left):
                await self.session.execute(
                    sa.update(d)
                    .where(d.c.id == row.id)
                    .values(status=DeliveryStatus.WITHDRAWN.value)
                )
                cancelled += 1
            elif len(left) != len(recipients):
                await self.session.execute(
                    sa.update(d).where(d.c.id == row.id).values(recipients=left)
                )
        return cancelled

    async def _letters(self, touched: Sequence[int]) -> tuple[builtins.list[str], int]:
        """The files of the letters carrying `touched`; the unposted ones among them (and any
        unposted letter sharing a copy with them) taken apart and removed."""
        s = self.session
        keys: set[str] = set()
        for chunk in _chunks(touched):
            keys |= set(
                (
                    await s.execute(
                        sa.select(LetterItemRow.letter_key).where(
                            LetterItemRow.delivery_id.in_(chunk)
                        )
                    )
                ).scalars()
            )
        if not keys:
            return [], 0
        letters = {
            row.key: row
            for chunk in _chunks(sorted(keys))
            for row in (
                await s.execute(
                    sa.select(LetterRow.key, LetterRow.path, LetterRow.posted_at).where(
                        LetterRow.key.in_(chunk)
                    )
                )
            )
        }
        files = [row.path for row in letters.values() if row.path]
        unposted = {k for k, row in letters.items() if row.posted_at is None}
        # An unposted letter that shares a copy with one taken apart goes too: the copy is
        # printed again, once, for every household it is for.
        frontier = set(unposted)
        while frontier:
            carried = set()
            for chunk in _chunks(sorted(frontier)):
                carried |= set(
                    (
                        await s.execute(
                            sa.select(LetterItemRow.delivery_id).where(
                                LetterItemRow.letter_key.in_(chunk)
                            )
                        )
                    ).scalars()
                )
            more: set[str] = set()
            for chunk in _chunks(sorted(carried)):
                rows = await s.execute(
                    sa.select(LetterRow.key, LetterRow.path)
                    .join(LetterItemRow, LetterItemRow.letter_key == LetterRow.key)
                    .where(LetterItemRow.delivery_id.in_(chunk), LetterRow.posted_at.is_(None))
                )
                for row in rows:
                    if row.key not in unposted:
                        more.add(row.key)
                        if row.path:
                            files.append(row.path)
            unposted |= more
            frontier = more
        d = _t(DeliveryRow)
        for chunk in _chunks(sorted(unposted)):
            await s.execute(sa.delete(_t(LetterItemRow)).where(LetterItemRow.letter_key.in_(chunk)))
            await s.execute(
                sa.update(d)
                .where(d.c.letter_key.in_(chunk))
                .values(letter_key=None, claimed_until=None)
            )
            await s.execute(sa.delete(_t(LetterRow)).where(LetterRow.key.in_(chunk)))
        return files, len(unposted)

    async def _forget_accounts(self, person_id: str) -> int:
        """Delete the platform state of the person's accounts (their drafts and pointers)."""
        s = self.session
        accounts = (
            await s.execute(
                sa.select(AccountRow.platform, AccountRow.account_id).where(
                    AccountRow.person_id == person_id
                )
            )
        ).all()
        st = _t(PlatformStateRow)
        deleted = 0
        for platform, account_id in accounts:
            rows = await s.execute(
                sa.select(st.c.platform, st.c.key, st.c.value).where(
                    st.c.platform == platform,
                    sa.or_(
                        st.c.key.like(f"%:{_like(account_id)}", escape=_ESCAPE),
                        st.c.value.like(f"%{_like(json.dumps(account_id))}%", escape=_ESCAPE),
                    ),
                )
            )
            for row in rows:
                mine = row.key.endswith(f":{account_id}") or _names_account(row.value, account_id)
                if not mine:
                    continue
                await s.execute(
                    sa.delete(st).where(st.c.platform == row.platform, st.c.key == row.key)
                )
                deleted += 1
        return deleted

    async def _delete(self, model: type[Base], where: Any) -> int:
        result = await self.session.execute(sa.delete(_t(model)).where(where))
        return int(getattr(result, "rowcount", 0) or 0)

    async def _delete_in(self, column: Any, values: Sequence[Any]) -> None:
        for chunk in _chunks(values):
            await self.session.execute(sa.delete(column.table).where(column.in_(chunk)))

    async def _count(self, model: type[Base], where: Any) -> int:
        found = await self.session.scalar(
            sa.select(sa.func.count()).select_from(_t(model)).where(where)
        )
        return int(found or 0)

    async def _replace(self, column: Any, old: str, new: str) -> None:
        await self.session.execute(
            sa.update(column.table).where(column == old).values({column.key: new})
        )

    async def _scrub(self, scrub: Scrubber, tied_rows: dict[str, list[Any]]) -> int:
        """Scrub every text and JSON column of every table but `persons`; returns how many rows
        changed."""
        s = self.session
        patterns = sorted({p.translate(_ASCII_LOWER): p for p in scrub.like_patterns()}.values())
        changed_rows = 0
        for table in Base.metadata.sorted_tables:
            if table.name == PersonRow.__tablename__:
                continue
            pk = list(table.primary_key.columns)
            texts = [
                c for c in table.columns if not c.primary_key and isinstance(c.type, sa.String)
            ]
            blobs = [c for c in table.columns if not c.primary_key and isinstance(c.type, sa.JSON)]
            if not texts and not blobs:
                continue
            rows: dict[tuple[Any, ...], Any] = {}
            tied: set[tuple[Any, ...]] = set()
            for clause in tied_rows.get(table.name, []):
                for row in await s.execute(sa.select(table).where(clause)):
                    key = tuple(row._mapping[c] for c in pk)
                    rows[key] = row
                    tied.add(key)
            match: list[Any] = []
            for column in [*texts, *blobs]:
                seen = sa.cast(column, sa.Text) if column in blobs else column
                match += [seen.ilike(p, escape=_ESCAPE) for p in patterns]
                if column in texts:
                    match.append(column == scrub.person_id)
            # A few hundred terms per statement: SQLite parses `a OR b OR …` that deep.
            for start in range(0, len(match), _TERMS):
                terms = match[start : start + _TERMS]
                for row in await s.execute(sa.select(table).where(sa.or_(*terms))):
                    rows.setdefault(tuple(row._mapping[c] for c in pk), row)
            for key, row in rows.items():
                values: dict[str, Any] = {}
                for column in [*texts, *blobs]:
                    old = row._mapping[column]
                    if old is None:
                        continue
                    if column in blobs:
                        new = scrub.json(old, tied=key in tied)
                    elif isinstance(old, str):
                        new = scrub.text(old, tied=key in tied)
                    else:
                        continue
                    if new != old:
                        values[column.key] = new
                if values:
                    await s.execute(
                        sa.update(table)
                        .where(*(c == v for c, v in zip(pk, key, strict=True)))
                        .values(values)
                    )
                    changed_rows += 1
        return changed_rows

    # --- retention --------------------------------------------------------------------------------

    async def purge(self, before: datetime, *, dry_run: bool) -> Purged:
        s = self.session
        await s.flush()
        d = _t(DeliveryRow)
        busy = sa.select(d.c.announcement_id).where(
            d.c.announcement_id.is_not(None), d.c.status.in_(_UNSENT)
        )
        announcements = list(
            (
                await s.execute(
                    sa.select(AnnouncementRow.id).where(
                        AnnouncementRow.created_at < before, AnnouncementRow.id.not_in(busy)
                    )
                )
            ).scalars()
        )
        copies: list[int] = []
        for chunk in _chunks(announcements):
            copies += (
                await s.execute(sa.select(d.c.id).where(d.c.announcement_id.in_(chunk)))
            ).scalars()
        notices = list(
            (
                await s.execute(
                    sa.select(d.c.id).where(
                        d.c.announcement_id.is_(None),
                        d.c.status.in_(_DONE),
                        sa.func.coalesce(d.c.sent_at, d.c.due_at) < before,
                        # Withdrawn before it went out, due "at once": when it was made is not
                        # known, so it is kept (never purged too early).
                        sa.or_(d.c.sent_at.is_not(None), d.c.due_at > DUE_AT_ONCE),
                    )
                )
            ).scalars()
        )
        gone = set(copies) | set(notices)
        candidates = (
            await s.execute(
                sa.select(LetterRow.key, LetterRow.path).where(
                    LetterRow.posted_at.is_not(None), LetterRow.created_at < before
                )
            )
        ).all()
        carried: dict[str, set[int]] = {}
        for chunk in _chunks(sorted(row.key for row in candidates)):
            for key, delivery_id in await s.execute(
                sa.select(LetterItemRow.letter_key, LetterItemRow.delivery_id).where(
                    LetterItemRow.letter_key.in_(chunk)
                )
            ):
                carried.setdefault(key, set()).add(delivery_id)
        letters = [row for row in candidates if carried.get(row.key, set()) <= gone]
        events = list(
            (
                await s.execute(sa.select(AuditEventRow.id).where(AuditEventRow.at < before))
            ).scalars()
        )
        reports = list(
            (
                await s.execute(
                    sa.select(ReportRow.id).where(
                        ReportRow.state == ReportState.CLOSED.value, ReportRow.closed_at < before
                    )
                )
            ).scalars()
        )
        invites = list(
            (
                await s.execute(
                    sa.select(InviteRow.code_hash).where(
                        sa.func.coalesce(InviteRow.used_at, InviteRow.expires_at) < before
                    )
                )
            ).scalars()
        )
        last_fired = dict(
            (
                await s.execute(
                    sa.select(FiringRow.schedule_id, sa.func.max(FiringRow.recorded_at)).group_by(
                        FiringRow.schedule_id
                    )
                )
            ).all()
        )
        schedules = [
            row.id
            for row in await s.execute(
                sa.select(ScheduleRow.id, ScheduleRow.created_at, ScheduleRow.cancelled_at).where(
                    sa.or_(ScheduleRow.cancelled_at.is_not(None), ScheduleRow.next_run.is_(None)),
                    ScheduleRow.created_at < before,
                )
            )
            if max(t for t in (row.created_at, row.cancelled_at, last_fired.get(row.id)) if t)
            < before
        ]
        old_firings = sa.or_(
            FiringRow.recorded_at < before,
            *(FiringRow.schedule_id.in_(chunk) for chunk in _chunks(schedules)),
        )
        firings = await self._count(FiringRow, old_firings)
        counts = {
            "announcements": len(announcements),
            "deliveries": len(copies),
            "notices": len(notices),
            "letters": len(letters),
            "audit_events": len(events),
            "reports": len(reports),
            "invites": len(invites),
            "schedules": len(schedules),
            "firings": firings,
        }
        files = tuple(sorted(row.path for row in letters if row.path))
        if dry_run:
            return Purged(counts, files)
        letter_keys = [row.key for row in letters]
        await self._delete_in(LetterItemRow.letter_key, letter_keys)
        await self._delete_in(LetterRow.key, letter_keys)
        await self._delete_in(LetterItemRow.delivery_id, sorted(gone))
        await self._delete_in(DeliveryRow.id, sorted(gone))
        await self._delete_in(AnnouncementRow.id, announcements)
        await self._delete_in(AuditPersonRow.event_id, events)
        await self._delete_in(AuditClassRow.event_id, events)
        await self._delete_in(AuditEventRow.id, events)
        await self._delete_in(ReportRow.id, reports)
        await self._delete_in(InviteRow.code_hash, invites)
        await s.execute(sa.delete(_t(FiringRow)).where(old_firings))
        await self._delete_in(ScheduleRow.id, schedules)
        await s.flush()
        s.expire_all()
        return Purged(counts, files)


def _t(model: type[Base]) -> sa.Table:
    """A model's table, for Core statements (they bypass the session's objects)."""
    return cast(sa.Table, model.__table__)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _names_account(value: str, account_id: str) -> bool:
    """Whether a stored value is a JSON object made for this account (a chat draft)."""
    try:
        data = json.loads(value)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("account") == account_id
