"""Schedules, their firings, and the school's holidays over SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Firing, FiringOutcome, Holiday, Kind, Schedule
from storage.models import FiringRow, HolidayRow, ScheduleRow


def _to_schedule(row: ScheduleRow) -> Schedule:
    return Schedule(
        id=row.id,
        class_id=row.class_id,
        author_id=row.author_id,
        kind=Kind(row.kind),
        text=row.text,
        when=row.when,
        rule=row.rule,
        start=datetime.fromisoformat(row.start),
        timezone=row.timezone,
        created_at=row.created_at,
        until=row.until,
        exceptions=tuple(date.fromisoformat(d) for d in row.exceptions or ()),
        next_run=row.next_run,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
    )


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class SqlScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, schedule: Schedule) -> int:
        row = ScheduleRow(
            class_id=schedule.class_id,
            author_id=schedule.author_id,
            kind=Kind(schedule.kind).value,
            text=schedule.text,
            when=schedule.when,
            rule=schedule.rule,
            start=schedule.start.replace(tzinfo=None).isoformat(timespec="minutes"),
            timezone=schedule.timezone,
            until=schedule.until,
            exceptions=[d.isoformat() for d in schedule.exceptions],
            created_at=schedule.created_at,
            next_run=schedule.next_run,
            active=schedule.cancelled_at is None and schedule.next_run is not None,
            cancelled_at=schedule.cancelled_at,
            cancelled_by=schedule.cancelled_by,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, schedule_id: int) -> Schedule | None:
        row = await self.session.get(ScheduleRow, schedule_id, populate_existing=True)
        return _to_schedule(row) if row else None

    async def lock(self, schedule_id: int) -> Schedule | None:
        q = sa.select(ScheduleRow).where(ScheduleRow.id == schedule_id)
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        row = (
            await self.session.execute(q.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return _to_schedule(row) if row else None

    async def list(
        self, class_id: str | None = None, *, active_only: bool = False
    ) -> list[Schedule]:
        q = sa.select(ScheduleRow).order_by(ScheduleRow.id)
        if class_id is not None:
            q = q.where(ScheduleRow.class_id == class_id)
        if active_only:
            q = q.where(ScheduleRow.active.is_(True))
        rows = await self.session.execute(q.execution_options(populate_existing=True))
        return [_to_schedule(r) for r in rows.scalars()]

    async def count_active(self, class_id: str) -> int:
        q = sa.select(sa.func.count()).where(
            ScheduleRow.class_id == class_id, ScheduleRow.active.is_(True)
        )
        return int((await self.session.execute(q)).scalar_one())

    async def due(self, now: datetime, limit: int) -> list[Schedule]:
        q = (
            sa.select(ScheduleRow)
            .where(ScheduleRow.active.is_(True), ScheduleRow.next_run <= now)
            .order_by(ScheduleRow.next_run, ScheduleRow.id)
            .limit(limit)
        )
        rows = await self.session.execute(q.execution_options(populate_existing=True))
        return [_to_schedule(r) for r in rows.scalars()]

    async def next_due(self) -> datetime | None:
        q = sa.select(sa.func.min(ScheduleRow.next_run)).where(ScheduleRow.active.is_(True))
        value = (await self.session.execute(q)).scalar_one_or_none()
        if value is None:
            return None
        # An aggregate bypasses the column type: read it back the way UTCDateTime does.
        return ScheduleRow.__table__.c.next_run.type.process_result_value(
            value, self.session.get_bind().dialect
        )

    async def set_next_run(self, schedule_id: int, next_run: datetime | None) -> None:
        await self.session.execute(
            sa.update(ScheduleRow)
            .where(ScheduleRow.id == schedule_id)
            .values(
                next_run=next_run,
                active=ScheduleRow.cancelled_at.is_(None) if next_run is not None else False,
            )
            .execution_options(synchronize_session=False)
        )

    async def cancel(self, schedule_id: int, by: str | None, now: datetime) -> bool:
        result = await self.session.execute(
            sa.update(ScheduleRow)
            .where(ScheduleRow.id == schedule_id, ScheduleRow.cancelled_at.is_(None))
            .values(cancelled_at=now, cancelled_by=by, active=False)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record_firing(self, firing: Firing) -> bool:
        stmt = (
            _insert(self.session, FiringRow)
            .values(
                schedule_id=firing.schedule_id,
                occurrence=firing.occurrence,
                outcome=FiringOutcome(firing.outcome).value,
                recorded_at=firing.recorded_at,
                announcement_id=firing.announcement_id,
                detail=firing.detail,
            )
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def firings(self, schedule_id: int) -> list[Firing]:
        q = (
            sa.select(FiringRow)
            .where(FiringRow.schedule_id == schedule_id)
            .order_by(FiringRow.occurrence)
        )
        return [
            Firing(
                schedule_id=r.schedule_id,
                occurrence=r.occurrence,
                outcome=FiringOutcome(r.outcome),
                recorded_at=r.recorded_at,
                announcement_id=r.announcement_id,
                detail=r.detail,
            )
            for r in (await self.session.execute(q)).scalars()
        ]


class SqlHolidayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, holidays: Sequence[Holiday]) -> int:
        added = 0
        for h in holidays:
            stmt = (
                _insert(self.session, HolidayRow)
                .values(start=h.start, end=h.end, name=h.name, source=h.source)
                .on_conflict_do_nothing()
            )
            result = await self.session.execute(stmt)
            added += int(bool(result.rowcount))  # type: ignore[attr-defined]
        return added

    async def list(self) -> list[Holiday]:
        q = sa.select(HolidayRow).order_by(HolidayRow.start, HolidayRow.end, HolidayRow.name)
        return [
            Holiday(start=r.start, end=r.end, name=r.name, source=r.source)
            for r in (await self.session.execute(q)).scalars()
        ]
