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
        row = await self.session.get(AnnouncementRow, announcement_id)
        return to_announcement(row) if row else None

    async def list(self, class_id: str | None = None) -> list[Announcement]:
        q = sa.select(AnnouncementRow).order_by(AnnouncementRow.id)
        if class_id is not None:
            q = q.where(AnnouncementRow.class_id == class_id)
        return [to_announcement(r) for r in (await self.session.execute(q)).scalars()]
