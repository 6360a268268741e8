"""Announcements over SQLAlchemy."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Announcement
from storage.models import AnnouncementRow
from storage.sql.mapping import announcement_row, to_announcement


class SqlAnnouncementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, announcement: Announcement) -> int:
        row = announcement_row(announcement)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.session.get(AnnouncementRow, announcement_id, populate_existing=True)
        return to_announcement(row) if row else None

    async def lock(self, announcement_id: int, *, shared: bool = False) -> Announcement | None:
        q = sa.select(AnnouncementRow).where(AnnouncementRow.id == announcement_id)
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(read=shared)
        row = (
            await self.session.execute(q.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return to_announcement(row) if row else None

    async def revise(self, announcement: Announcement) -> None:
        await self.session.execute(
            sa.update(AnnouncementRow)
            .where(AnnouncementRow.id == announcement.id)
            .values(
                body=announcement.body,
                text=announcement.text,
                subject=announcement.subject,
                withdrawn_at=announcement.withdrawn_at,
                withdrawn_by=announcement.withdrawn_by,
                withdraw_reason=announcement.withdraw_reason,
                corrected_at=announcement.corrected_at,
                revision=announcement.revision,
            )
            .execution_options(synchronize_session="fetch")
        )

    async def list(self, class_id: str | None = None) -> list[Announcement]:
        q = sa.select(AnnouncementRow).order_by(AnnouncementRow.id)
        if class_id is not None:
            q = q.where(AnnouncementRow.class_id == class_id)
        return [to_announcement(r) for r in (await self.session.execute(q)).scalars()]
