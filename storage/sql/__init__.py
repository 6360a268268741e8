"""The repositories of `bot.repositories` over SQLAlchemy 2 (async), one module per kind of record.

Each repository takes the `AsyncSession` of one transaction (`storage.store.Database`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

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
from storage.sql.announcements import SqlAnnouncementRepository
from storage.sql.audit import SqlAuditRepository
from storage.sql.groups import (
    SqlAccountRepository,
    SqlGroupRepository,
    SqlInviteRepository,
    SqlPlatformStateRepository,
)
from storage.sql.letters import SqlLetterRepository
from storage.sql.outbox import SqlOutboxRepository
from storage.sql.privacy import SqlPrivacyRepository
from storage.sql.reports import SqlReportRepository
from storage.sql.roster import SqlRosterRepository
from storage.sql.schedules import SqlHolidayRepository, SqlScheduleRepository

__all__ = [
    "SqlAccountRepository",
    "SqlAnnouncementRepository",
    "SqlAuditRepository",
    "SqlGroupRepository",
    "SqlHolidayRepository",
    "SqlInviteRepository",
    "SqlLetterRepository",
    "SqlOutboxRepository",
    "SqlPlatformStateRepository",
    "SqlPrivacyRepository",
    "SqlReportRepository",
    "SqlRepositories",
    "SqlRosterRepository",
    "SqlScheduleRepository",
]


class SqlRepositories:
    """Every repository, bound to one transaction (`bot.repositories.Repositories`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.roster: RosterRepository = SqlRosterRepository(session)
        self.groups: GroupRepository = SqlGroupRepository(session)
        self.accounts: AccountRepository = SqlAccountRepository(session)
        self.invites: InviteRepository = SqlInviteRepository(session)
        self.announcements: AnnouncementRepository = SqlAnnouncementRepository(session)
        self.outbox: OutboxRepository = SqlOutboxRepository(session)
        self.letters: LetterRepository = SqlLetterRepository(session)
        self.audit: AuditRepository = SqlAuditRepository(session)
        self.state: PlatformStateRepository = SqlPlatformStateRepository(session)
        self.schedules: ScheduleRepository = SqlScheduleRepository(session)
        self.holidays: HolidayRepository = SqlHolidayRepository(session)
        self.reports: ReportRepository = SqlReportRepository(session)
        self.privacy: PrivacyRepository = SqlPrivacyRepository(session)
