"""The audit trail over SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import AuditEvent
from storage.models import AuditClassRow, AuditEventRow, AuditPersonRow
from storage.sql.inserts import insert_ids


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, events: Sequence[AuditEvent]) -> None:
        """`events()` gives an event back with its persons and its actor, sorted by id."""
        if not events:
            return
        ids = await insert_ids(
            self.session,
            AuditEventRow,
            [
                {"at": e.at, "kind": e.kind, "actor_id": e.actor_id, "details": dict(e.details)}
                for e in events
            ],
        )
        links = [
            {"event_id": event_id, "person_id": person_id}
            for event_id, e in zip(ids, events, strict=True)
            for person_id in sorted(set(e.person_ids) | ({e.actor_id} if e.actor_id else set()))
        ]
        if links:
            await self.session.execute(sa.insert(AuditPersonRow.__table__), links)
        classes = [
            {"event_id": event_id, "class_id": class_id}
            for event_id, e in zip(ids, events, strict=True)
            for class_id in sorted(set(e.class_ids))
        ]
        if classes:
            await self.session.execute(sa.insert(AuditClassRow.__table__), classes)

    async def events(
        self,
        person_id: str | None = None,
        kind: str | None = None,
        *,
        class_id: str | None = None,
    ) -> list[AuditEvent]:
        q = sa.select(AuditEventRow).order_by(AuditEventRow.id)
        if person_id is not None:
            q = q.join(AuditPersonRow, AuditPersonRow.event_id == AuditEventRow.id).where(
                AuditPersonRow.person_id == person_id
            )
        if class_id is not None:
            q = q.join(AuditClassRow, AuditClassRow.event_id == AuditEventRow.id).where(
                AuditClassRow.class_id == class_id
            )
        if kind is not None:
            q = q.where(AuditEventRow.kind == kind)
        rows = list((await self.session.execute(q)).scalars())
        if not rows:
            return []
        persons: dict[int, list[str]] = {}
        links = await self.session.execute(
            sa.select(AuditPersonRow.event_id, AuditPersonRow.person_id)
            .where(
                AuditPersonRow.event_id.in_(q.with_only_columns(AuditEventRow.id).order_by(None))
            )
            .order_by(AuditPersonRow.event_id, AuditPersonRow.person_id)
        )
        for event_id, linked in links:
            persons.setdefault(event_id, []).append(linked)
        classes: dict[int, list[str]] = {}
        tied = await self.session.execute(
            sa.select(AuditClassRow.event_id, AuditClassRow.class_id)
            .where(AuditClassRow.event_id.in_(q.with_only_columns(AuditEventRow.id).order_by(None)))
            .order_by(AuditClassRow.event_id, AuditClassRow.class_id)
        )
        for event_id, class_id in tied:
            classes.setdefault(event_id, []).append(class_id)
        return [
            AuditEvent(
                row.kind,
                row.at,
                row.actor_id,
                tuple(persons.get(row.id, ())),
                dict(row.details),
                tuple(classes.get(row.id, ())),
            )
            for row in rows
        ]
