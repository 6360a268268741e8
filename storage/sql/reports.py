"""Reports and escalations over SQLAlchemy."""

from __future__ import annotations

import builtins
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Report, ReportKind, ReportState
from storage.models import ReportRow


def _report(row: ReportRow) -> Report:
    return Report(
        id=row.id,
        kind=ReportKind(row.kind),
        reporter_id=row.reporter_id,
        created_at=row.created_at,
        text=row.text,
        school_id=row.school_id,
        class_ids=tuple(row.class_ids or ()),
        group_id=row.group_id,
        platform=row.platform,
        forwarded_to=tuple(row.forwarded_to or ()),
        state=ReportState(row.state),
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        close_note=row.close_note,
    )


class SqlReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: Report) -> int:
        row = ReportRow(
            kind=report.kind.value,
            reporter_id=report.reporter_id,
            created_at=report.created_at,
            text=report.text,
            school_id=report.school_id,
            class_ids=list(report.class_ids),
            group_id=report.group_id,
            platform=report.platform,
            forwarded_to=list(report.forwarded_to),
            state=report.state.value,
            closed_at=report.closed_at,
            closed_by=report.closed_by,
            close_note=report.close_note,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, report_id: int) -> Report | None:
        row = await self.session.get(ReportRow, report_id)
        return _report(row) if row is not None else None

    async def list(self, *, open_only: bool = False) -> builtins.list[Report]:
        q = sa.select(ReportRow).order_by(ReportRow.id)
        if open_only:
            q = q.where(ReportRow.state == ReportState.OPEN.value)
        return [_report(r) for r in (await self.session.execute(q)).scalars()]

    async def close(self, report_id: int, by: str, note: str, now: datetime) -> bool:
        done = await self.session.execute(
            sa.update(ReportRow)
            .where(ReportRow.id == report_id, ReportRow.state == ReportState.OPEN.value)
            .values(state=ReportState.CLOSED.value, closed_at=now, closed_by=by, close_note=note)
        )
        return bool(getattr(done, "rowcount", 0))
